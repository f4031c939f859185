"""PyTorch generators as the toolkit's :class:`~verify.network.Network` (optional extra
``[torch]``: ``pip install -e ".[torch]"``; the CPU build: ``pip install torch==2.13.0
--index-url https://download.pytorch.org/whl/cpu``). The engine never imports torch;
this module imports it only inside its functions.

:func:`from_module` reads a module tree and rebuilds it with its weights:

- ``nn.ConvTranspose1d`` / ``nn.ConvTranspose2d`` with stride, padding and output
  padding (square kernels and strides, ``groups = 1``, ``dilation = 1``, zero padding
  mode, ``1 <= stride <= kernel``), with or without bias;
- ``nn.BatchNorm1d`` / ``nn.BatchNorm2d`` right after a layer, folded with its running
  statistics (evaluation mode): ``scale = gamma / sqrt(running_var + eps)``, ``bias =
  beta + scale (b - running_mean)``;
- ``nn.Linear`` on a flat input: a transposed convolution on a one-position latent
  (kernel 1), and, followed by ``nn.Unflatten(1, (C, k[, k]))``, one with kernel and
  stride ``k`` (``W[(c k + i) k + j, :]`` is the filter ``f[:, c, i, j]``). A bias that
  varies within a channel (a per-position bias) is held as the first layer's
  position-dependent bias (:class:`verify.trained.ClassConditionedNetwork` with one
  constant input channel); on a later layer it is refused;
- the engine's activations ``nn.ReLU``, ``nn.LeakyReLU``, ``nn.Sigmoid``, ``nn.Tanh``
  (``nn.Identity`` anywhere, ``nn.Flatten`` last);
- ``nn.Sequential`` (nested), and a module whose only child holds the layers (the
  DCGAN tutorial's ``self.main = nn.Sequential(...)``);
- a conditional generator fed ``cat(z, one_hot(y))`` along the channels (``digits-gan``'s
  form): ``condition=(K, y)`` fixes the class; the network is one of ``z`` alone.

Anything else is refused (:class:`~verify.errors.VerifyError`) naming the module and
its type. The conversion is checked on the spot (:func:`check_forward`): the module's
own forward (a float64 copy in ``eval()``; the module itself is not touched) and the
toolkit's agree to :data:`TOLERANCE` on random latents, or the call fails saying by how
much (a custom ``forward`` doing more than its module tree shows is caught here).

:func:`load_object` reads ``FILE.py:OBJECT`` (a module, or a function or class called
with no arguments that returns one; the file is the user's own code and is run) or a
TorchScript file. Pickled checkpoints are never unpickled: any other file is opened
with ``torch.jit.load`` only when it is a TorchScript archive, decided from the zip's
member names before torch reads it (:func:`verify.weightfiles.torchscript_layout`): a
TorchScript archive holds ``<root>/constants.pkl`` and ``<root>/code/...`` (compiled
TorchScript, run by TorchScript's interpreter; its pickles hold tensors and constants,
read by TorchScript's restricted unpickler), while ``torch.save`` writes
``<root>/data.pkl`` with neither (a Python pickle: arbitrary code).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import VerifyError

#: Largest |module forward - toolkit forward| / max(1, max |output|) accepted.
TOLERANCE = 1e-10
#: Random latents of the on-the-spot check.
CHECK_LATENTS = 8
#: Install hint of the optional extra.
INSTALL = ("pip install 'verify-invertibility[torch]' (CPU build: pip install "
           "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu)")

_ACT = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
_SUPPORTED = ("ConvTranspose1d, ConvTranspose2d, Linear, BatchNorm1d, BatchNorm2d, "
              "Unflatten, ReLU, LeakyReLU, Sigmoid, Tanh, Identity, Flatten (last), "
              "nested nn.Sequential")


def require_torch():
    """``torch``, or VerifyError (exit 2) with the install command."""
    try:
        import torch
    except ImportError:
        raise VerifyError(f"PyTorch is not installed: {INSTALL}") from None
    return torch


def _kind(m) -> str:
    """The module's type name: TorchScript's ``original_name``, else the class name of
    an exact ``torch.nn`` class (a subclass is its own, unsupported, type)."""
    import torch

    if isinstance(m, torch.jit.ScriptModule):
        return str(getattr(m, "original_name", type(m).__name__))
    cls = type(m)
    return cls.__name__ if cls.__module__.startswith("torch.nn.modules") else cls.__qualname__


def _leaves(module, name: str = "") -> list[tuple[str, Any]]:
    """The modules in forward order: Sequential children in turn, a single-child
    wrapper's child, else the module itself."""
    kind = _kind(module)
    children = list(module.named_children())
    own = list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False))
    if kind == "Sequential" or (children and len(children) == 1 and not own):
        out = []
        for child_name, child in children:
            out += _leaves(child, f"{name}.{child_name}" if name else child_name)
        return out
    if children:
        raise VerifyError(f"module {name or '(top)'!r} ({kind}) has {len(children)} children "
                          "and a forward of its own; wrap the layers in one nn.Sequential")
    return [(name or "(top)", module)]


def _arr(t) -> np.ndarray:
    return t.detach().to("cpu").double().numpy().copy()


def _square(name: str, kind: str, field: str, value, dims: int) -> int:
    v = tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
    if len(set(v)) != 1 or not isinstance(v[0], int):
        raise VerifyError(f"module {name!r} ({kind}): {field} {v}: expected the same integer "
                          "on every axis")
    return int(v[0])


@dataclass
class _Layer:
    """One layer being read: ``pre = scale * (W x + b) + shift`` per feature (linear) or
    per channel (conv), then the activation."""

    name: str
    kind: str
    W: np.ndarray                 # conv: filters (Cin, Cout, l[, l]); linear: (F, Cin)
    b: np.ndarray | None
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    output_padding: int = 0
    scale: np.ndarray | None = None
    shift: np.ndarray | None = None
    activation: str = "identity"
    slope: float = 0.2
    post: bool = False            # the activation (or nothing more) has been seen
    unflatten: tuple | None = None


def _batchnorm(name: str, kind: str, m, n: int, layer: _Layer, repeat: int = 1) -> None:
    """Fold an evaluation-mode batch norm of ``n`` features into ``layer``'s per-feature
    ``scale`` and ``shift`` (each value repeated ``repeat`` times: a Linear's positions
    after nn.Unflatten)."""
    if layer.post:
        raise VerifyError(f"module {name!r} ({kind}) comes after the activation of the "
                          f"layer {layer.name!r}: it cannot be folded into that layer")
    if not getattr(m, "track_running_stats", True) or getattr(m, "running_mean", None) is None:
        raise VerifyError(f"module {name!r} ({kind}) keeps no running statistics "
                          "(track_running_stats=False): it normalises by the batch")
    mean, var = _arr(m.running_mean), _arr(m.running_var)
    if mean.shape != (n,):
        raise VerifyError(f"module {name!r} ({kind}) has {mean.shape[0]} features; the layer "
                          f"{layer.name!r} gives {n}")
    gamma = _arr(m.weight) if getattr(m, "weight", None) is not None else np.ones(n)
    beta = _arr(m.bias) if getattr(m, "bias", None) is not None else np.zeros(n)
    s = np.repeat(gamma / np.sqrt(var + float(m.eps)), repeat)
    t = np.repeat(beta, repeat) - s * np.repeat(mean, repeat)
    if layer.scale is None:
        layer.scale, layer.shift = s, t
    else:  # a second normalisation: compose
        layer.scale, layer.shift = layer.scale * s, layer.shift * s + t


def _read(leaves, latent_shape: tuple[int, ...]) -> tuple[int, list[_Layer]]:
    """The layers of the module list, and the spatial dimensionality."""
    dims = len(latent_shape) - 1 if len(latent_shape) > 1 else None
    flat = len(latent_shape) == 1  # the current features are a flat vector
    layers: list[_Layer] = []
    done = False
    for name, m in leaves:
        kind = _kind(m)
        if done:
            raise VerifyError(f"module {name!r} ({kind}) follows nn.Flatten (read last only)")
        cur = layers[-1] if layers else None
        if kind in ("ConvTranspose1d", "ConvTranspose2d"):
            d = int(kind[-2])
            if flat:
                raise VerifyError(f"module {name!r} ({kind}) on a flat vector (a 1-axis "
                                  "latent, or a Linear without nn.Unflatten)")
            if dims is not None and d != dims:
                raise VerifyError(f"module {name!r} ({kind}) is {d}-D in a {dims}-D network")
            dims = d
            if m.groups != 1 or _square(name, kind, "dilation", m.dilation, d) != 1 \
                    or getattr(m, "padding_mode", "zeros") != "zeros":
                raise VerifyError(f"module {name!r} ({kind}): groups {m.groups}, dilation "
                                  f"{m.dilation}, padding_mode {m.padding_mode!r}: expected "
                                  "groups 1, dilation 1, padding_mode 'zeros'")
            l, s = (_square(name, kind, f, getattr(m, f), d) for f in ("kernel_size", "stride"))
            p = _square(name, kind, "padding", m.padding, d)
            op = _square(name, kind, "output_padding", m.output_padding, d)
            if s > l:
                raise VerifyError(f"module {name!r} ({kind}): stride {s} > kernel {l} (gaps "
                                  "in the output); the engine needs 1 <= stride <= kernel")
            layers.append(_Layer(name, kind, _arr(m.weight), None if m.bias is None
                                 else _arr(m.bias), l, s, p, op))
        elif kind == "Linear":
            if not flat:
                raise VerifyError(f"module {name!r} (Linear) on a feature map: a Linear is "
                                  "read only on a flat vector")
            layers.append(_Layer(name, kind, _arr(m.weight), None if m.bias is None
                                 else _arr(m.bias)))
        elif kind in ("BatchNorm1d", "BatchNorm2d"):
            if cur is None:
                raise VerifyError(f"module {name!r} ({kind}) comes before any layer")
            if (kind == "BatchNorm2d") != (not flat and dims == 2):
                raise VerifyError(f"module {name!r} ({kind}) on "
                                  f"{'flat' if flat else f'{dims}-D'} features")
            if cur.kind == "Linear" and cur.unflatten is not None:  # per channel, repeated
                _batchnorm(name, kind, m, cur.unflatten[0], cur,
                           int(np.prod(cur.unflatten[1:])))
            else:
                _batchnorm(name, kind, m, cur.W.shape[0 if cur.kind == "Linear" else 1], cur)
        elif kind == "Unflatten":
            shape = tuple(int(v) for v in m.unflattened_size)
            if cur is None or cur.kind != "Linear" or not flat or int(m.dim) not in (1, -1) \
                    or len(shape) not in (2, 3) or int(np.prod(shape)) != cur.W.shape[0] \
                    or len(set(shape[1:])) != 1:
                raise VerifyError(f"module {name!r} (Unflatten): expected Unflatten(1, (C, k"
                                  "[, k])) right after a Linear with C k^dims outputs, got dim "
                                  f"{m.dim}, size {shape}")
            d = len(shape) - 1
            if dims is not None and d != dims:
                raise VerifyError(f"module {name!r} (Unflatten) gives {d}-D features in a "
                                  f"{dims}-D network")
            dims, flat = d, False
            cur.unflatten = shape
        elif kind in _ACT:
            if cur is None or cur.post:
                raise VerifyError(f"module {name!r} ({kind}) "
                                  + ("acts on the latent" if cur is None else
                                     f"follows the activation of layer {cur.name!r}")
                                  + ": one activation per layer, after it")
            cur.activation, cur.post = _ACT[kind], True
            if kind == "LeakyReLU":
                cur.slope = float(m.negative_slope)
                if not 0.0 <= cur.slope < 1.0:
                    raise VerifyError(f"module {name!r} (LeakyReLU): negative_slope "
                                      f"{cur.slope}: expected a number in [0, 1)")
        elif kind == "Identity":
            continue
        elif kind == "Flatten":
            done = True
        else:
            raise VerifyError(f"module {name!r} ({kind}) is not supported; supported: "
                              f"{_SUPPORTED}")
    if not layers:
        raise VerifyError("the module has no layer (ConvTranspose1d/2d or Linear)")
    return int(dims or 1), layers


def _per_channel(v: np.ndarray, c: int) -> np.ndarray | None:
    """A per-feature vector (C * positions) as one value per channel, if it is one."""
    v = v.reshape(c, -1)
    return v[:, 0].copy() if np.array_equal(v, np.broadcast_to(v[:, :1], v.shape)) else None


def _build(dims: int, layers: list[_Layer], latent_shape, condition):
    """The spec and weights; the first layer's constant input (class, per-position bias)."""
    from .network import LayerWeights
    from .spec import LayerSpec

    specs, weights, const = [], [], None
    c_in = latent_shape[0]
    for i, L in enumerate(layers):
        scale, shift = L.scale, L.shift
        if L.kind == "Linear":
            F = L.W.shape[0]
            c, k = (F, 1) if L.unflatten is None else (L.unflatten[0], L.unflatten[1])
            s = np.ones(F) if scale is None else scale
            total = s * (0.0 if L.b is None else L.b) + (0.0 if shift is None else shift)
            total = total * np.ones(F)
            s_c, bias_c = _per_channel(s, c), _per_channel(total, c)
            W = L.W
            if s_c is None or bias_c is None:  # per position: folded into the filters
                W, s_c = s[:, None] * L.W, np.ones(c)
            if bias_c is None:  # a per-position bias: the first layer's constant input
                if i != 0:
                    raise VerifyError(f"module {L.name!r} (Linear): its bias varies within an "
                                      "output channel after nn.Unflatten (a per-position "
                                      "bias); the engine holds one only on the first layer")
                const, bias_c = total.reshape((c,) + (k,) * dims), np.zeros(c)
            filters = np.moveaxis(W.reshape((c,) + (k,) * dims + (W.shape[1],)), -1, 0)
            affine = L.b is not None or scale is not None
            spec = LayerSpec(c, k, k, 0, L.activation, L.slope, affine)
            w = LayerWeights(filters, s_c, bias_c) if affine else LayerWeights(filters)
        else:
            c, affine = L.W.shape[1], L.b is not None or scale is not None
            s = np.ones(c) if scale is None else scale
            bias = s * (0.0 if L.b is None else L.b) + (0.0 if shift is None else shift)
            spec = LayerSpec(c, L.kernel, L.stride, L.padding, L.activation, L.slope, affine,
                             output_padding=L.output_padding)
            w = LayerWeights(L.W, s, bias * np.ones(c)) if affine else LayerWeights(L.W)
        if w.filters.shape[0] != c_in:
            raise VerifyError(f"module {L.name!r} ({L.kind}) takes {w.filters.shape[0]} "
                              f"channels; it is given {c_in}")
        specs.append(spec)
        weights.append(w)
        c_in = c
    return specs, weights, const


def from_module(module, latent_shape=None, *, condition: tuple[int, int] | None = None,
                check: bool = True, seed: int = 0):
    """The toolkit's :class:`~verify.network.Network` of a PyTorch module (module
    docstring: what is read, and the on-the-spot check); :func:`convert`'s network.

    Parameters
    ----------
    module : torch.nn.Module
        The generator (a TorchScript module too).
    latent_shape : tuple of int, optional
        The module's input shape without the batch axis: ``(C,)`` for a Linear first,
        ``(C, L)`` (1-D) or ``(C, H, H)`` (2-D). Default: the first layer's input
        channels at one position.
    condition : (K, y), optional
        The last ``K`` input channels are a one-hot class, fixed to class ``y``; the
        network takes the other channels (a
        :class:`~verify.trained.ClassConditionedNetwork`, as for a per-position bias).
    check : bool
        Compare the two forwards (:func:`check_forward`); VerifyError if they differ.
    seed : int
        Seed of the check's random latents.
    """
    return convert(module, latent_shape, condition=condition, check=check, seed=seed).network


@dataclass(frozen=True)
class Conversion:
    """:func:`convert`'s answer: the network, the module's input shape, the fixed
    class, and the on-the-spot check's largest relative difference (None: not run)."""

    network: Any
    latent_shape: tuple[int, ...]
    condition: tuple[int, int] | None
    max_rel_diff: float | None


def convert(module, latent_shape=None, *, condition=None, check: bool = True,
            seed: int = 0) -> Conversion:
    """:func:`from_module` with what the conversion found (:class:`Conversion`)."""
    torch = require_torch()
    if not isinstance(module, torch.nn.Module):
        raise VerifyError(f"expected a torch.nn.Module, got {type(module).__name__}")
    leaves = _leaves(module)
    if not leaves:
        raise VerifyError(f"module ({_kind(module)}) holds no layer")
    if condition is not None:
        try:
            K, y = (int(v) for v in condition)
        except (TypeError, ValueError):
            raise VerifyError(f"condition: expected (K, y), got {condition!r}") from None
        condition = (K, y)
    if latent_shape is None:
        name, first = leaves[0]
        kind = _kind(first)
        if kind == "Linear":
            latent_shape = (int(first.in_features),)
        elif kind.startswith("ConvTranspose"):
            latent_shape = (int(first.in_channels),) + (1,) * int(kind[-2])
        else:
            raise VerifyError(f"module {name!r} ({kind}) is first: give latent_shape")
    latent_shape = tuple(int(v) for v in latent_shape)
    if not 1 <= len(latent_shape) <= 3 or min(latent_shape) < 1 or \
            len(set(latent_shape[1:])) > 1:
        raise VerifyError(f"latent_shape {latent_shape}: expected (C,), (C, L) or (C, H, H) "
                          "with positive sizes")
    dims, layers = _read(leaves, latent_shape)
    specs, weights, const = _build(dims, layers, latent_shape, condition)
    network = _assemble(dims, latent_shape, specs, weights, const, condition)
    diff = check_forward(module, network, latent_shape, condition, seed=seed) if check \
        else None
    return Conversion(network, latent_shape, condition, diff)


def _assemble(dims, latent_shape, specs, weights, const, condition):
    from .network import LayerWeights, Network
    from .spec import NetworkSpec
    from .trained import ClassConditionedNetwork

    c0 = latent_shape[0]
    size = latent_shape[1] if len(latent_shape) > 1 else 1
    if condition is None and const is None:
        return Network(NetworkSpec(dims, c0, tuple(specs), size), weights)
    K, label = (0, 0) if condition is None else tuple(condition)
    if condition is not None and not (1 <= K < c0 and 0 <= label < K and size == 1):
        raise VerifyError(f"condition ({K}, {label}): expected 1 <= K < {c0} input channels, "
                          "0 <= y < K, and a one-position latent")
    f0, nz = weights[0].filters, c0 - K
    # one constant input channel: the fixed class's filter plus a per-position bias
    extra = np.zeros((1,) + f0.shape[1:]) + (0.0 if const is None else const)
    if K:
        extra[0] += f0[nz + label]
    full0 = LayerWeights(np.concatenate([f0[:nz], extra]), weights[0].scale, weights[0].bias)
    full = Network(NetworkSpec(dims, nz + 1, tuple(specs), size), [full0] + list(weights[1:]))
    return ClassConditionedNetwork(full, 1, 0)


def module_input(torch, z: np.ndarray, latent_shape, condition):
    """The module's input for codes ``z`` (b, n0) of the converted network."""
    if condition is not None:  # cat(z, one_hot(y)) on a one-position latent
        onehot = np.zeros((len(z), condition[0]))
        onehot[:, condition[1]] = 1.0
        z = np.concatenate([z, onehot], axis=1)
    return torch.tensor(z, dtype=torch.float64).reshape((len(z),) + tuple(latent_shape))


def _one(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


def check_forward(module, network, latent_shape, condition=None, *, seed: int = 0) -> float:
    """Largest ``|module(z) - network(z)| / max(1, max |module(z)|)`` over
    :data:`CHECK_LATENTS` random codes, in float64 on a copy of the module in
    evaluation mode; VerifyError when it exceeds :data:`TOLERANCE`."""
    import warnings

    torch = require_torch()
    try:
        with warnings.catch_warnings():  # (TorchScript's copy warns about .grad)
            warnings.simplefilter("ignore")
            m64 = copy.deepcopy(module).double().eval()
    except Exception as exc:  # noqa: BLE001 - any failure to copy is the module's
        raise VerifyError(f"module ({_kind(module)}) cannot be copied to run in float64 "
                          f"({_one(exc)})") from None
    z = np.random.default_rng(seed).normal(size=(CHECK_LATENTS, network.spec.latent_dim))
    try:
        with torch.no_grad():
            ref = m64(module_input(torch, z, latent_shape, condition))
    except Exception as exc:  # noqa: BLE001 - the module's own forward failed
        raise VerifyError(f"module ({_kind(module)}) forward on inputs of shape "
                          f"{(CHECK_LATENTS,) + tuple(latent_shape)} failed ({_one(exc)})"
                          ) from None
    if not isinstance(ref, torch.Tensor):
        raise VerifyError(f"module ({_kind(module)}) forward returned "
                          f"{type(ref).__name__}, not a tensor")
    ref = ref.detach().double().reshape(CHECK_LATENTS, -1).numpy()
    out = network.forward(z)
    if ref.shape != out.shape:
        raise VerifyError(f"module ({_kind(module)}) forward gives {ref.shape[1]} outputs per "
                          f"code; the converted network {network.spec.describe()} gives "
                          f"{out.shape[1]}: its forward does more than its module tree shows")
    diff = float(np.max(np.abs(ref - out)) / max(1.0, float(np.max(np.abs(ref)))))
    if not diff <= TOLERANCE:
        raise VerifyError(f"module ({_kind(module)}) forward and the converted network differ "
                          f"by {diff:.3g} (largest |difference| / max(1, largest |output|) "
                          f"over {CHECK_LATENTS} random latents, float64; tolerance "
                          f"{TOLERANCE:g}): its forward does more than its module tree shows")
    return diff


# ---------------------------------------------------------------- loading from files
def load_object(target: str, *, where: str = "--torch"):
    """The module named by ``FILE.py:OBJECT`` (an ``nn.Module``, or a callable returning
    one when called with no arguments) or a TorchScript file (``FILE.pt``). Every
    failure is one VerifyError naming ``where``, the file and what failed."""
    import importlib.util
    import sys

    path_text, sep, obj = str(target).rpartition(":")
    if not sep or not obj.isidentifier():
        path_text, obj = str(target), ""
    path = Path(path_text)
    if not path.is_file():
        raise VerifyError(f"{where}: {path_text!r} "
                          + ("is not a file" if path.exists() else "does not exist"))
    if path.suffix != ".py":
        if obj:
            raise VerifyError(f"{where}: {path_text!r} is not a .py file; ':{obj}' names an "
                              "object of a Python file (a TorchScript file holds one module)")
        from .weightfiles import torchscript_layout

        why = torchscript_layout(path)
        if why is not None:
            raise VerifyError(f"{where}: {path_text!r} is {why}; refusing to unpickle "
                              "(arbitrary code). Give the Python file that builds the module "
                              "(FILE.py:OBJECT) or a TorchScript file (torch.jit.script(model)"
                              ".save(FILE))")
        torch = require_torch()
        try:
            return torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - the library raises several types
            raise VerifyError(f"{where}: {path_text!r} cannot be read as TorchScript "
                              f"({_one(exc)})") from None
    if not obj:
        raise VerifyError(f"{where}: expected FILE.py:OBJECT (the module or the function "
                          f"that builds it), got {str(target)!r}")
    torch = require_torch()
    name = f"verify_user_module_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:  # noqa: BLE001 - the user's file raised
        sys.modules.pop(name, None)
        raise VerifyError(f"{where}: importing {path_text!r} raised {_one(exc)}") from None
    if not hasattr(mod, obj):
        names = sorted(n for n, v in vars(mod).items() if not n.startswith("_")
                       and (isinstance(v, torch.nn.Module) or callable(v)))
        raise VerifyError(f"{where}: {path_text!r} has no object {obj!r} (modules and "
                          f"callables it defines: {', '.join(names[:12]) or 'none'})")
    value = getattr(mod, obj)
    if not isinstance(value, torch.nn.Module) and callable(value):
        try:
            value = value()
        except Exception as exc:  # noqa: BLE001 - the user's factory raised
            raise VerifyError(f"{where}: {path_text}:{obj}() raised {_one(exc)}") from None
    if not isinstance(value, torch.nn.Module):
        raise VerifyError(f"{where}: {path_text}:{obj} is {type(value).__name__}; expected a "
                          "torch.nn.Module or a function returning one")
    return value


__all__ = ["TOLERANCE", "CHECK_LATENTS", "Conversion", "convert", "from_module",
           "check_forward", "load_object", "require_torch", "module_input"]
