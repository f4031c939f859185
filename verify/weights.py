"""Weight laws and weight files (lemmas/README.md, section 0, paper Theorem 1 and Conjecture 3).

Laws
----
``gaussian``    N(0, sigma^2) with sigma^2 = 1/(C_i l^dims) by default: one over the
                rows of the dense block B (Theorem 1's N(0, 1/(C_i l))).
``rademacher``  +-sigma with equal probability (Conjecture 3).
``uniform``     U[-sqrt(3) sigma, sqrt(3) sigma]: zero mean, the same variance.
``uniform01``   U[0, 1]: the paper's Fig. 4(d) counter-example (not zero-mean).
``triangular``  the symmetric triangular law on [-sqrt(6) sigma, sqrt(6) sigma]: a
                symmetric bounded law other than the uniform (Conjecture 3: "any bounded
                distribution").
``truncated_gaussian``
                N(0, 1) conditioned on |x| <= TRUNCATION (2), rescaled to variance
                sigma^2 (Conjecture 3's examples; bounded).
``centred_exponential``
                sigma (E - 1) with E ~ Exp(1): zero mean, variance sigma^2; the
                "exponential distribution" Conjecture 3 lists as subgaussian, whose
                tail P(|x| > t) = exp(-1 - t/sigma) (t >= sigma) is not
                (``lemmas/subgaussian.py`` checks the definition).
A given ``std`` replaces the default sigma (the paper's Sec. 4.2 uses N(0, 1)).
Every law's variance is sigma^2 except ``uniform01`` (lemmas/README.md, section 0).
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import budget
from .errors import VerifyError, invalid
from .fsio import atomic_write
from .network import LayerWeights, Network
from .rng import as_generator
from .spec import NetworkSpec

LAWS = ("gaussian", "rademacher", "uniform", "uniform01", "triangular", "truncated_gaussian",
        "centred_exponential")
#: Where ``truncated_gaussian`` cuts N(0, 1) (in its standard deviations), and the
#: variance of N(0, 1) conditioned on |x| <= a: 1 - 2 a phi(a) / (2 Phi(a) - 1).
TRUNCATION = 2.0
_TRUNC_VAR = 1.0 - 2.0 * TRUNCATION * math.exp(-TRUNCATION ** 2 / 2) / math.sqrt(2 * math.pi) \
    / math.erf(TRUNCATION / math.sqrt(2))


@dataclass(frozen=True)
class WeightLaw:
    """A distribution for the filter entries; ``std=None`` means 1/sqrt(C_i l^dims).

    ``stream`` picks the weights stream (:meth:`verify.rng.Streams.weights`): 0, the
    default, is the seed's weights stream; another value an independent one. Two
    configurations whose weight arrays have the same number of entries would otherwise
    be drawn from the same normals (the same seed, the same stream), merely laid out in
    other shapes; a preset meant as an independent draw sets its own stream.
    """

    name: str = "gaussian"
    std: float | None = None
    stream: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in LAWS:
            raise invalid("weights.law", "one of " + ", ".join(LAWS), self.name)
        if self.std is not None and (isinstance(self.std, bool) or not (
                isinstance(self.std, (int, float)) and math.isfinite(self.std) and self.std > 0)):
            raise invalid("weights.std", "a finite number > 0", self.std)
        if isinstance(self.stream, bool) or not isinstance(self.stream, int) or self.stream < 0:
            raise invalid("weights.stream", "an integer >= 0", self.stream)

    @property
    def zero_mean(self) -> bool:
        return self.name != "uniform01"

    def layer_std(self, spec: NetworkSpec, i: int) -> float:
        """sigma for layer i: the given std, or 1/sqrt(C_i l^dims)."""
        if self.std is not None:
            return float(self.std)
        layer = spec.layers[i]
        return 1.0 / math.sqrt(layer.channels * layer.kernel**spec.dims)

    def sample(self, shape: tuple[int, ...], std: float, rng: np.random.Generator) -> np.ndarray:
        if self.name == "gaussian":
            return rng.normal(0.0, std, size=shape)
        if self.name == "rademacher":
            return std * (2.0 * rng.integers(0, 2, size=shape) - 1.0)
        if self.name == "uniform":
            a = math.sqrt(3.0) * std
            return rng.uniform(-a, a, size=shape)
        if self.name == "triangular":
            a = math.sqrt(6.0) * std  # variance a^2 / 6
            return rng.triangular(-a, 0.0, a, size=shape)
        if self.name == "truncated_gaussian":
            # inverse CDF on [Phi(-a), Phi(a)]: exact, one uniform per entry
            from scipy.special import ndtr, ndtri

            lo = float(ndtr(-TRUNCATION))
            u = rng.uniform(lo, 1.0 - lo, size=shape)
            return (std / math.sqrt(_TRUNC_VAR)) * ndtri(u)
        if self.name == "centred_exponential":
            return std * (rng.exponential(1.0, size=shape) - 1.0)
        return rng.uniform(0.0, 1.0, size=shape)

    def to_dict(self) -> dict[str, Any]:
        return ({"law": self.name} | ({} if self.std is None else {"std": self.std})
                | ({"stream": self.stream} if self.stream else {}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "WeightLaw":
        if not isinstance(data, Mapping):
            raise invalid("weights", "a [weights] table (law, std, stream)",
                          type(data).__name__)
        unknown = set(data) - {"law", "std", "stream"}
        if unknown:
            raise invalid(f"weights.{sorted(unknown)[0]}", "one of law, std, stream",
                          "unknown key")
        return cls(name=data.get("law", "gaussian"), std=data.get("std"),
                   stream=data.get("stream", 0))


def draw_network(spec: NetworkSpec, law: WeightLaw | str = "gaussian", *, rng=None) -> Network:
    """Draw every filter i.i.d. from ``law``; affine layers start at scale 1, bias 0.

    The spec is checked against the memory budget (:func:`verify.budget.require_network`)
    before anything is allocated: an architecture too large for the machine is refused
    (``VerifyError`` naming the field and the estimate), never drawn until killed."""
    budget.require_network(spec)
    law = WeightLaw(law) if isinstance(law, str) else law
    rng = as_generator(rng)
    layers = []
    ch = spec.channels
    for i, layer in enumerate(spec.layers):
        shape = (ch[i], ch[i + 1]) + (layer.kernel,) * spec.dims
        f = law.sample(shape, law.layer_std(spec, i), rng)
        if layer.affine:
            layers.append(LayerWeights(f, np.ones(ch[i + 1]), np.zeros(ch[i + 1])))
        else:
            layers.append(LayerWeights(f))
    return Network(spec, layers)


# ------------------------------------------------------------- tensor checks
#: Exceptions that reading a damaged file can raise (zip structure, deflate stream,
#: CRC, truncated .npy data, header parsing).
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError,
               EOFError, NotImplementedError, RuntimeError, struct.error, KeyError,
               IndexError, SyntaxError, UnicodeError)

_KIND = {"b": "booleans", "c": "complex numbers", "U": "text", "S": "bytes", "O": "Python objects",
         "V": "raw or structured records", "M": "dates", "m": "time spans"}
#: Largest magnitude of a weight read from a file: squares (variances, norms) of larger
#: entries overflow float64.
MAX_ABS_WEIGHT = 1e150
ALLOWED_DTYPES = ("a real float dtype (float16, float32, float64); integer tensors are accepted "
                  "and cast to float64")


def check_dtype(dtype: np.dtype, where: str, key: str) -> None:
    """Refuse a tensor that does not hold real numbers (bool, complex, text, objects...).

    Float dtypes are read as float64; integer dtypes are accepted and cast (quantised
    exports), since every integer of up to 53 bits is exact in float64."""
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.kind not in "fiu":
        what = _KIND.get(dtype.kind, dtype.kind)
        raise VerifyError(f"{where}: tensor {key!r} has dtype {dtype} ({what}); expected "
                          f"{ALLOWED_DTYPES}")


def check_tensor(arr, where: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor read from a file: real dtype, the expected shape, finite entries.
    Returns a float64 copy; errors are one line naming ``where`` (the file) and ``key``."""
    arr = np.asarray(arr)
    check_dtype(arr.dtype, where, key)
    if arr.shape != tuple(shape):
        raise VerifyError(f"{where}: tensor {key!r} has shape {arr.shape}, expected "
                          f"{tuple(shape)}")
    with np.errstate(over="ignore"):  # float128 beyond float64's range becomes inf: refused
        out = arr.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise VerifyError(f"{where}: tensor {key!r} (shape {tuple(shape)}) has NaN or infinite "
                          "entries; expected finite values")
    big = float(np.max(np.abs(out))) if out.size else 0.0
    if big > MAX_ABS_WEIGHT:
        raise VerifyError(f"{where}: tensor {key!r} has an entry of magnitude {big:.3g}; "
                          f"expected magnitudes up to {MAX_ABS_WEIGHT:g} (squares of larger "
                          "ones overflow float64)")
    return out


def require_spec(spec: NetworkSpec, where: str, batch: int = 1) -> None:
    """The memory guard of :mod:`verify.budget` for a network read from ``where``."""
    try:
        budget.require_network(spec, batch)
    except VerifyError as exc:
        raise VerifyError(f"{where}: {exc}") from None


# ----------------------------------------------------------------- .npz files
def save_network(network: Network, path: str | Path) -> None:
    """Save spec (as TOML text) and weights to ``.npz``: keys ``spec``,
    ``layer{i}.weight`` and, for affine layers, ``layer{i}.scale``, ``layer{i}.bias``.
    Written atomically (:func:`verify.fsio.atomic_write`: never half-written)."""
    arrays: dict[str, np.ndarray] = {"spec": np.array(network.spec.to_toml())}
    for i, w in enumerate(network.weights):
        arrays[f"layer{i}.weight"] = w.filters
        if w.scale is not None:
            arrays[f"layer{i}.scale"] = w.scale
            arrays[f"layer{i}.bias"] = w.bias
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)


#: Largest ``spec`` entry (TOML text) read from a .npz file, in characters.
MAX_SPEC_CHARS = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"


def _npz_member_header(zf: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a member's .npy header, without reading its data."""
    from numpy.lib import format as npformat

    with zf.open(name) as fh:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npformat.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = npformat.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape), np.dtype(dtype)


def _npz_member(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    from numpy.lib import format as npformat

    with zf.open(name) as fh:
        return npformat.read_array(fh, allow_pickle=False)


def _describe_head(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head.startswith(_NPY_MAGIC):
        return "it is a bare .npy array (np.save), not a .npz archive (np.savez)"
    if len(head) >= 9 and head[8:9] == b"{":
        return "it looks like a .safetensors file; name it .safetensors"
    return f"it does not start like a zip archive (first bytes {head[:8]!r})"


def load_network(path: str | Path, spec: NetworkSpec | None = None) -> Network:
    """Load a network saved by :func:`save_network` (never unpickles).

    ``spec`` overrides the file's own spec. Every tensor's header is checked (dtype:
    real numbers; shape: the architecture's) before its data is read, and the
    architecture against the memory budget before anything is read, so a damaged or
    hostile file is refused by name, never half-read or allocated blindly. Refused
    with one line naming the file and the entry: not a zip archive (empty, a bare
    .npy, another format), a corrupt archive (CRC, truncated), object/text/complex/bool
    arrays, a missing or unexpected entry, a wrong shape, NaN or infinite values.
    """
    path = Path(path)
    where = f"weights file {str(path)!r}"
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise VerifyError(f"{where}: not found") from None
    except OSError as exc:
        raise VerifyError(f"{where}: cannot be read ({exc.strerror})") from None
    if not head.startswith(b"PK"):
        raise VerifyError(f"{where}: cannot be read as .npz ({_describe_head(head)})")
    member = "(archive)"
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            entries = {n[:-4]: n for n in names if n.endswith(".npy")}
            other = [n for n in names if not n.endswith(".npy")]
            if other:
                raise VerifyError(f"{where}: entry {other[0]!r} is not a .npy array; a .npz "
                                  "from save_network holds only spec and layer<i>.<tensor>")
            if spec is None:
                member = "spec"
                if "spec" not in entries:
                    raise VerifyError(f"{where}: no 'spec' entry; pass the architecture "
                                      "(--arch FILE.toml)")
                shape, dtype = _npz_member_header(zf, entries["spec"])
                if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_SPEC_CHARS:
                    raise VerifyError(f"{where}: entry 'spec' has dtype {dtype} and shape "
                                      f"{shape}; expected the network's TOML text (a 0-d "
                                      f"string of at most {MAX_SPEC_CHARS:,} characters)")
                spec = NetworkSpec.from_toml(str(_npz_member(zf, entries["spec"]).item()),
                                             f"{where}: entry 'spec'")
            require_spec(spec, where)
            ch = spec.channels
            expected: dict[str, tuple[int, ...]] = {}
            for i, layer in enumerate(spec.layers):
                expected[f"layer{i}.weight"] = (ch[i], ch[i + 1]) + (layer.kernel,) * spec.dims
                expected[f"layer{i}.scale"] = expected[f"layer{i}.bias"] = (ch[i + 1],)
            for key in entries:
                if key != "spec" and key not in expected:
                    raise VerifyError(f"{where}: unexpected entry {key!r}; an architecture "
                                      f"of {spec.depth} layers has spec, layer0..layer"
                                      f"{spec.depth - 1} .weight (.scale, .bias if affine)")
            tensors: dict[str, np.ndarray] = {}
            for key, shape in expected.items():
                if key not in entries:
                    if key.endswith(".weight"):
                        raise VerifyError(f"{where}: missing tensor {key!r} (expected shape "
                                          f"{shape})")
                    continue
                member = key
                got_shape, dtype = _npz_member_header(zf, entries[key])
                check_dtype(dtype, where, key)
                if got_shape != shape:
                    raise VerifyError(f"{where}: tensor {key!r} has shape {got_shape}, "
                                      f"expected {shape}")
                tensors[key] = check_tensor(_npz_member(zf, entries[key]), where, key, shape)
    except VerifyError:
        raise
    except READ_ERRORS as exc:
        at = "" if member == "(archive)" else f" (entry {member!r})"
        text = " ".join(str(exc).split())[:200]
        raise VerifyError(f"{where}: cannot be read as .npz{at}: {type(exc).__name__}: "
                          f"{text}") from None
    layers = [LayerWeights(tensors[f"layer{i}.weight"], tensors.get(f"layer{i}.scale"),
                           tensors.get(f"layer{i}.bias")) for i in range(spec.depth)]
    try:
        return Network(spec, layers)
    except VerifyError as exc:
        raise VerifyError(f"{where}: {exc}") from None


__all__ = ["LAWS", "TRUNCATION", "WeightLaw", "draw_network", "save_network", "load_network",
           "check_dtype", "check_tensor", "require_spec", "READ_ERRORS", "ALLOWED_DTYPES",
           "MAX_ABS_WEIGHT"]
