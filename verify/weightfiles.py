"""Weight files: ``.npz`` and ``.safetensors`` in, a :class:`~verify.network.Network` out.

``.npz``
    Written by :func:`verify.weights.save_network` (keys ``spec``, ``layer{i}.weight``,
    ``layer{i}.scale``, ``layer{i}.bias``); ``--arch FILE.toml`` overrides the spec.
``.safetensors``
    Read with ``safetensors.numpy`` (no torch, no pickle). The naming convention is
    PyTorch's ``state_dict`` of an ``nn.Sequential`` (optionally inside a submodule,
    e.g. DCGAN's ``main.``)::

        nn.Sequential(
            nn.ConvTranspose2d(C0, C1, l1, s1, p1, bias=False),  # 0.weight  (C0, C1, l1, l1)
            nn.BatchNorm2d(C1),    # 1.weight, 1.bias, 1.running_mean, 1.running_var  (C1,)
            nn.LeakyReLU(0.2),     # (no tensors)
            nn.ConvTranspose2d(C1, C2, l2, s2, p2),              # 3.weight, 3.bias (C2,)
            nn.Tanh())

    Keys are ``<prefix><index>.<name>``; modules are taken in index order; a tensor
    ``.weight`` with ``dims + 2`` axes is a transposed convolution (layout
    ``(C_in, C_out, l[, l])``, PyTorch's), a module with ``running_mean`` is a
    batch-norm belonging to the convolution before it (``num_batches_tracked`` is
    ignored). Evaluation-mode batch-norm and a convolution bias ``b`` are folded into
    the per-channel affine of :class:`~verify.network.LayerWeights`::

        scale = gamma / sqrt(running_var + eps),  bias = beta + scale (b - running_mean)

    with PyTorch's default ``eps = 1e-5`` (metadata key ``bn_eps`` overrides it). Strides,
    paddings and activations are not in a state dict: give them with ``--arch FILE.toml``
    (a ``[network]`` table as in ``verify check --config``), or store the TOML text under
    the metadata key ``verify.spec`` (as :func:`save_safetensors` does). Export your
    generator with::

        from safetensors.torch import save_file
        save_file(model.state_dict(), "generator.safetensors")

Conditional generators (a class enters as one-hot input channels, as in a conditional
DCGAN whose input is ``cat(z, one_hot(y))``): the metadata key ``verify.condition`` =
``"onehot:K"`` says the last ``K`` of the latent channels are the class.
:func:`load_conditional` returns the network over all channels and ``K``;
:func:`verify.trained.ClassConditionedNetwork` fixes a class and leaves the code free.

Refused (``VerifyError``, exit code 2): a tensor whose shape disagrees with the
architecture, a missing tensor, NaN or infinite values, and pickles (``.pt``, ``.pth``,
``.pkl`` and zip archives holding ``data.pkl``: never unpickled).
"""

from __future__ import annotations

import math
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from .errors import VerifyError
from .network import LayerWeights, Network
from .spec import NetworkSpec
from .weights import READ_ERRORS, load_network

#: PyTorch's BatchNorm default epsilon.
BN_EPS = 1e-5

_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")


def _is_pickle(path: Path, head: bytes) -> str | None:
    """Why the file is a pickle (or a torch checkpoint), or None."""
    if head[:1] == b"\x80" and len(head) > 1 and head[1:2] in bytes(range(2, 6)):
        return "a Python pickle (protocol header 0x80)"
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except READ_ERRORS:
            return None
        if any(n.endswith(".pkl") for n in names):
            return "a zip archive holding a pickle (a torch.save checkpoint)"
    if path.suffix.lower() in _PICKLE_SUFFIXES and not head.startswith(b"PK"):
        return f"a {path.suffix} file (a torch/pickle format)"
    return None


def torchscript_layout(path: Path) -> str | None:
    """Why ``path`` is not a TorchScript archive, or None when it is (zip member names
    only; nothing is unpickled): ``<root>/constants.pkl`` and ``<root>/code/`` present."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except READ_ERRORS:
        return "not a zip archive: a legacy torch.save pickle or another format"
    roots = {n.split("/", 1)[0] for n in names if "/" in n}
    for root in roots:
        if f"{root}/constants.pkl" in names and any(n.startswith(f"{root}/code/")
                                                     for n in names):
            return None
    if any(n.endswith("data.pkl") for n in names):
        return "a torch.save checkpoint (a pickle: state dict or pickled module)"
    return "a zip archive without TorchScript's constants.pkl and code/"


def _sniff(head: bytes) -> str | None:
    """The format the first bytes announce: ``npz``, ``npy``, ``safetensors`` or None."""
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if _looks_safetensors(head):
        return "safetensors"
    return None


_FORMAT_NAMES = {"npz": "a zip archive (.npz)", "npy": "a bare .npy array (np.save)",
                 "safetensors": "a safetensors file"}
#: Reading a weight file holds about this many times its size (file bytes, arrays, float64).
FILE_COPIES = 3


def load_any(path: str | Path, arch: str | Path | None = None) -> Network:
    """Load a ``.npz`` or ``.safetensors`` weight file (module docstring); ``arch`` is a
    TOML file with a ``[network]`` table overriding/supplying the architecture.

    The format is decided by the contents and must agree with the suffix (``.npz``,
    ``.safetensors``; any other suffix: the contents decide). An empty file, another
    format under the suffix, a file larger than the memory budget allows and a pickle
    are refused with one line naming the file."""
    import os
    import stat

    from . import budget

    path = Path(path)
    where = f"weights file {str(path)!r}"
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        raise VerifyError(f"{where}: not found") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise VerifyError(f"{where}: {kind}; expected a .npz or .safetensors file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise VerifyError(f"{where}: cannot be read ({exc.strerror})") from None
    if not head:
        raise VerifyError(f"{where}: the file is empty; expected a .npz or .safetensors file")
    why = _is_pickle(path, head)
    if why is not None:
        raise VerifyError(f"{where}: {why}; refusing to unpickle (arbitrary "
                          "code). Export it with safetensors.torch.save_file(model.state_dict(), "
                          "'model.safetensors') or as .npz")
    budget.require(FILE_COPIES * st.st_size, where,
                   hint=f"the file holds {budget.human(st.st_size)}")
    spec = NetworkSpec.load(arch, "--arch file") if arch is not None else None
    found = _sniff(head)
    suffix = path.suffix.lower()
    want = {".npz": "npz", ".safetensors": "safetensors"}.get(suffix)
    if want is not None and found != want:
        what = _FORMAT_NAMES.get(found, f"an unknown format (first bytes {head[:8]!r})")
        raise VerifyError(f"{where}: the contents are {what}, not what the suffix {suffix} "
                          f"says; expected {_FORMAT_NAMES[want]}")
    if found == "safetensors":
        return load_safetensors(path, spec)
    if found == "npz":
        return load_network(path, spec)
    what = _FORMAT_NAMES.get(found, f"an unknown format (first bytes {head[:8]!r})")
    raise VerifyError(f"{where}: the contents are {what}; expected a .npz archive "
                      "(verify's save_network) or a .safetensors file")


def _looks_safetensors(head: bytes) -> bool:
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 0 < n < 100_000_000 and head[8:9] == b"{"


_KEY = re.compile(r"^(?P<prefix>(?:.*\D)?)(?P<index>\d{1,9})\.(?P<name>[A-Za-z_]+)$")


def _bn_eps(meta: dict[str, str], where: str) -> float:
    """The metadata's ``bn_eps`` (default PyTorch's 1e-5): a finite number >= 0."""
    raw = meta.get("bn_eps")
    if raw is None:
        return BN_EPS
    try:
        eps = float(raw)
    except (TypeError, ValueError):
        eps = math.nan
    if not (math.isfinite(eps) and eps >= 0):
        raise VerifyError(f"{where}: metadata 'bn_eps': expected a finite number >= 0 "
                          f"(PyTorch's default {BN_EPS:g}), got {raw!r}")
    return eps


def load_safetensors(path: str | Path, spec: NetworkSpec | None = None) -> Network:
    """Load an ``nn.Sequential`` state dict saved with safetensors (module docstring).

    Every tensor must hold real numbers (float dtypes; integer tensors are cast to
    float64), have the architecture's shape and finite entries; batch-norm variances
    must be >= 0 and ``running_var + bn_eps > 0``."""
    from .weights import check_tensor, require_spec

    path = Path(path)
    where = f"weights file {str(path)!r}"
    try:
        from safetensors import safe_open
        from safetensors.numpy import load_file
    except ImportError:  # pragma: no cover - a core dependency
        raise VerifyError("reading .safetensors needs the safetensors package: "
                          "pip install safetensors") from None
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:  # noqa: BLE001 - the library raises several types
        text = " ".join(str(exc).split())[:200]
        raise VerifyError(f"{where}: cannot be read as safetensors "
                          f"({type(exc).__name__}: {text})") from None
    if spec is None:
        if "verify.spec" not in meta:
            raise VerifyError(f"{where}: a state dict holds no strides, "
                              "paddings or activations; pass the architecture with --arch "
                              "FILE.toml")
        spec = NetworkSpec.from_toml(meta["verify.spec"], f"{where}: metadata 'verify.spec'")
    require_spec(spec, where)
    eps = _bn_eps(meta, where)
    # group tensors by module index
    modules: dict[int, dict[str, str]] = {}
    for key in tensors:
        m = _KEY.match(key)
        if m is None:
            shown = repr(key) if len(key) <= 80 else repr(key[:40] + "..." + key[-20:])
            raise VerifyError(f"{where}: tensor {shown} does not follow the "
                              "nn.Sequential naming '<index>.<name>' (e.g. '0.weight')")
        names = modules.setdefault(int(m["index"]), {})
        if m["name"] in names:
            raise VerifyError(f"{where}: tensors {names[m['name']]!r} and {key!r} are both "
                              f"'{m['name']}' of module {int(m['index'])}; expected one "
                              "nn.Sequential")
        names[m["name"]] = key
    dims, ch = spec.dims, spec.channels
    convs: list[tuple[int, dict[str, str]]] = []
    bns: dict[int, dict[str, str]] = {}
    for idx in sorted(modules):
        names = modules[idx]
        is_norm = "running_mean" in names or "running_var" in names or (
            "weight" in names and tensors[names["weight"]].ndim == 1)
        if is_norm:
            if not convs:
                raise VerifyError(f"{where}: batch-norm module {idx} comes "
                                  "before any transposed convolution")
            bns[len(convs) - 1] = names
        elif "weight" in names and tensors[names["weight"]].ndim == dims + 2:
            convs.append((idx, names))
        elif "weight" in names:
            raise VerifyError(f"{where}: tensor {names['weight']!r} has "
                              f"{tensors[names['weight']].ndim} axes; expected a "
                              f"{dims + 2}-axis ConvTranspose weight or a BatchNorm module")
        else:
            key = names[sorted(names)[0]]
            raise VerifyError(f"{where}: tensor {key!r} belongs to module {idx}, which has no "
                              "'weight' or 'running_mean'; expected ConvTranspose (weight, bias) "
                              "or BatchNorm (weight, bias, running_mean, running_var) modules")
    if len(convs) < spec.depth:
        i = len(convs)
        shape = (ch[i], ch[i + 1]) + (spec.layers[i].kernel,) * dims
        raise VerifyError(f"{where}: missing tensor for layer {i} "
                          f"(a ConvTranspose '<index>.weight' of shape {shape}); found "
                          f"{len(convs)} of {spec.depth}")
    if len(convs) > spec.depth:
        raise VerifyError(f"{where}: {len(convs)} transposed convolutions, "
                          f"the architecture has {spec.depth} layers")

    def get(key: str, shape: tuple[int, ...]) -> np.ndarray:
        return check_tensor(tensors[key], where, key, shape)

    layers = []
    for i, (idx, names) in enumerate(convs):
        layer = spec.layers[i]
        c_out = ch[i + 1]
        f = get(names["weight"], (ch[i], c_out) + (layer.kernel,) * dims)
        extra = set(names) - {"weight", "bias"}
        if extra:
            raise VerifyError(f"{where}: unexpected tensor "
                              f"{names[sorted(extra)[0]]!r} in a ConvTranspose module")
        conv_bias = get(names["bias"], (c_out,)) if "bias" in names else None
        bn = bns.get(i)
        if bn is None and conv_bias is None:
            if layer.affine:
                layers.append(LayerWeights(f, np.ones(c_out), np.zeros(c_out)))
            else:
                layers.append(LayerWeights(f))
            continue
        if not layer.affine:
            what = "batch-norm" if bn is not None else f"a bias {names['bias']!r}"
            raise VerifyError(f"{where}: network.layers[{i}].affine: expected true (the file "
                              f"has {what} on layer {i}), got false")
        scale, bias = np.ones(c_out), np.zeros(c_out) if conv_bias is None else conv_bias.copy()
        if bn is not None:
            bn_idx = _KEY.match(next(iter(bn.values())))
            stem = f"{bn_idx['prefix']}{bn_idx['index']}."
            for need in ("running_mean", "running_var"):
                if need not in bn:
                    raise VerifyError(f"{where}: missing tensor "
                                      f"{stem + need!r} (expected shape ({c_out},))")
            extra = set(bn) - {"weight", "bias", "running_mean", "running_var",
                               "num_batches_tracked"}
            if extra:
                raise VerifyError(f"{where}: unexpected tensor {bn[sorted(extra)[0]]!r} in a "
                                  "BatchNorm module (weight, bias, running_mean, running_var, "
                                  "num_batches_tracked)")
            mean = get(bn["running_mean"], (c_out,))
            var = get(bn["running_var"], (c_out,))
            if np.any(var < 0):
                raise VerifyError(f"{where}: tensor {bn['running_var']!r} has negative "
                                  f"variances (smallest {var.min():.4g}); expected >= 0")
            if np.any(var + eps <= 0):
                raise VerifyError(f"{where}: tensor {bn['running_var']!r} has a zero variance "
                                  f"and bn_eps = {eps:g}: the folded scale would be infinite; "
                                  "expected running_var + bn_eps > 0")
            gamma = get(bn["weight"], (c_out,)) if "weight" in bn else np.ones(c_out)
            beta = get(bn["bias"], (c_out,)) if "bias" in bn else np.zeros(c_out)
            with np.errstate(over="ignore", invalid="ignore"):
                scale = gamma / np.sqrt(var + eps)
                bias = beta + scale * (bias - mean)
            if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(bias))):
                raise VerifyError(f"{where}: batch-norm module {stem[:-1]!r} folds to a "
                                  "non-finite scale or bias (running_var + bn_eps too close "
                                  "to 0 for its weight); expected finite values")
        layers.append(LayerWeights(f, scale, bias))
    try:
        return Network(spec, layers)
    except VerifyError as exc:
        raise VerifyError(f"{where}: {exc}") from None


def _condition(meta: dict[str, str], spec: NetworkSpec, where: str) -> int | None:
    """The metadata's ``verify.condition`` (``"onehot:K"``) as K, or None."""
    raw = meta.get("verify.condition")
    if raw is None:
        return None
    kind, _, count = str(raw).partition(":")
    try:
        k = int(count)
    except ValueError:
        k = -1
    if kind != "onehot" or not 1 <= k < spec.latent_channels or spec.latent_size != 1:
        raise VerifyError(f"{where}: metadata 'verify.condition': expected 'onehot:K' with "
                          f"1 <= K < {spec.latent_channels} (the latent channels; the last K "
                          f"are the one-hot class) and a one-position latent, got {raw!r}")
    return k


def load_conditional(path: str | Path, arch: str | Path | None = None
                     ) -> tuple[Network, int | None]:
    """:func:`load_any` plus the conditional input of a ``.safetensors`` file: the number
    of one-hot class channels at the end of the latent (metadata ``verify.condition``),
    or None for an unconditional network (and for ``.npz`` files)."""
    net = load_any(path, arch)
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        return net, None
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fh:
        meta = fh.metadata() or {}
    return net, _condition(meta, net.spec, f"weights file {str(path)!r}")


def save_safetensors(network: Network, path: str | Path) -> None:
    """Export in the ``nn.Sequential`` convention (module docstring): layer i is module
    ``3i`` (ConvTranspose weight), ``3i+1`` (BatchNorm holding the affine as
    ``weight``/``bias`` with ``running_mean = 0``, ``running_var = 1 - eps``) and the
    activation ``3i+2``; the spec TOML is stored as metadata ``verify.spec`` and
    ``bn_eps``. Written atomically (:func:`verify.fsio.write_bytes`). The affine
    round-trips to rounding (``sqrt((1 - eps) + eps)`` is 1 up to one ulp)."""
    from safetensors.numpy import save

    from .fsio import write_bytes

    arrays: dict[str, np.ndarray] = {}
    for i, w in enumerate(network.weights):
        arrays[f"{3 * i}.weight"] = np.ascontiguousarray(w.filters)
        if w.scale is not None:
            c = w.scale.shape[0]
            arrays[f"{3 * i + 1}.weight"] = np.ascontiguousarray(w.scale)
            arrays[f"{3 * i + 1}.bias"] = np.ascontiguousarray(w.bias)
            arrays[f"{3 * i + 1}.running_mean"] = np.zeros(c)
            arrays[f"{3 * i + 1}.running_var"] = np.full(c, 1.0 - BN_EPS)
    write_bytes(path, save(arrays, metadata={"verify.spec": network.spec.to_toml(),
                                             "bn_eps": repr(BN_EPS)}))


__all__ = ["BN_EPS", "load_any", "load_conditional", "load_safetensors", "save_safetensors",
           "torchscript_layout"]
