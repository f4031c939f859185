"""Network specifications: frozen, validated values (lemmas/README.md, section 0).

A transposed-convolution layer i maps C_{i-1} channels of spatial size D_{i-1}
(1-D length or 2-D side) to C_i channels of size
``D_i = (D_{i-1} - 1) s_i + l_i - 2 p_i``. The theory case (paper Sec. 2.1) is
``s_i = l_i, p_i = 0`` so that ``D_i = D_{i-1} l_i``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from .errors import VerifyError, invalid

ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "identity")
#: Activations that are piecewise linear and positively homogeneous: their
#: one-sided directional derivative at a kink is the activation of the direction.
PIECEWISE_LINEAR = ("relu", "leaky_relu", "identity")


#: Largest value of any integer field (channels, kernel, stride, padding, latent sizes):
#: far beyond any network that fits in memory (the budget refuses those, naming the
#: estimate), small enough that no derived size needs more than a few hundred bits.
MAX_FIELD = 2**31 - 1
#: Largest element count of one array (a layer's features or weights): numpy indexes
#: with signed 64-bit integers.
MAX_ELEMENTS = 2**63 - 1
#: Largest TOML file read (a network or config file is a few hundred bytes).
MAX_TOML_BYTES = 16 * 2**20


def _int_field(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (minimum <= value <= MAX_FIELD):
        shown = value if isinstance(value, int) and not isinstance(value, bool) \
            else _shown(value)
        raise VerifyError(f"{name}: expected an integer >= {minimum} (at most {MAX_FIELD:,}), "
                          f"got {shown}")
    return int(value)


def _positive_int(name: str, value: Any) -> int:
    return _int_field(name, value, 1)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@dataclass(frozen=True)
class LayerSpec:
    """One transposed-convolution layer followed by an activation.

    Parameters
    ----------
    channels : int
        Output channels C_i (>= 1).
    kernel, stride : int
        Kernel size l_i and stride s_i per axis; ``1 <= stride <= kernel`` (a stride
        larger than the kernel leaves gaps in the output).
    padding : int
        Cropped from each side of the full output; the output must stay non-empty.
    activation : str
        One of ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``identity``.
    slope : float
        Negative-side slope of ``leaky_relu`` (ignored otherwise), in [0, 1).
    affine : bool
        Per-channel scale and bias before the activation (bias, folded batch-norm).
    output_padding : int
        Positions added at the end of each axis after the crop (PyTorch's
        ``output_padding``): they receive no filter term, only the bias;
        ``0 <= output_padding < stride``. Omitted from :meth:`NetworkSpec.to_dict` when 0.
    """

    channels: int
    kernel: int
    stride: int
    padding: int = 0
    activation: str = "relu"
    slope: float = 0.2
    affine: bool = False
    output_padding: int = 0

    def validate(self, where: str) -> None:
        _positive_int(f"{where}.channels", self.channels)
        _positive_int(f"{where}.kernel", self.kernel)
        _positive_int(f"{where}.stride", self.stride)
        if self.stride > self.kernel:
            raise invalid(f"{where}.stride", f"1 <= stride <= kernel = {self.kernel} "
                          "(a larger stride leaves gaps in the output)", self.stride)
        _int_field(f"{where}.padding", self.padding, 0)
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            raise invalid(f"{where}.activation", "one of " + ", ".join(ACTIVATIONS), self.activation)
        if isinstance(self.slope, bool) or not (isinstance(self.slope, (int, float))
                                                 and 0.0 <= float(self.slope) < 1.0):
            raise invalid(f"{where}.slope", "a number in [0, 1)", self.slope)
        if not isinstance(self.affine, bool):
            raise invalid(f"{where}.affine", "true or false", self.affine)
        op = self.output_padding
        if isinstance(op, bool) or not isinstance(op, int) or not 0 <= op < self.stride:
            raise invalid(f"{where}.output_padding",
                          f"an integer in [0, stride) = [0, {self.stride}) (PyTorch's rule)",
                          op)

    def output_size(self, size: int) -> int:
        """D_i = (D_{i-1} - 1) s + l - 2 p + output_padding."""
        return (size - 1) * self.stride + self.kernel - 2 * self.padding + self.output_padding

    @property
    def is_block(self) -> bool:
        """True in the theory case s = l, p = 0 (paper Fig. 2(b): block-diagonal)."""
        return self.stride == self.kernel and self.padding == 0 and self.output_padding == 0

    def to_dict(self) -> dict[str, Any]:
        """The layer's fields (``output_padding`` only when it is not 0, so the
        configurations of before read and print as they did)."""
        out = asdict(self)
        if not self.output_padding:
            del out["output_padding"]
        return out


@dataclass(frozen=True)
class NetworkSpec:
    """A transposed-convolution generator G(z) = sigma_d(W_d ... sigma_1(W_1 z)).

    Parameters
    ----------
    dims : int
        Spatial dimensionality, 1 or 2.
    latent_channels, latent_size : int
        The latent code has C_0 channels of size D_0 (per axis); a plain latent
        vector is ``latent_size = 1``.
    layers : tuple of LayerSpec
    """

    dims: int
    latent_channels: int
    layers: tuple[LayerSpec, ...]
    latent_size: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self, where: str = "") -> None:
        """Check every field; error names are prefixed with ``where`` (``network``)."""
        if isinstance(self.dims, bool) or not isinstance(self.dims, int) or self.dims not in (1, 2):
            raise invalid(_join(where, "dims"), "1 or 2", self.dims)
        _positive_int(_join(where, "latent_channels"), self.latent_channels)
        _positive_int(_join(where, "latent_size"), self.latent_size)
        if len(self.layers) == 0:
            raise invalid(_join(where, "layers"), "at least one layer", 0)
        size, channels = self.latent_size, self.latent_channels
        if channels * size**self.dims > MAX_ELEMENTS:
            raise VerifyError(f"{_join(where, 'latent_size')}: the latent has "
                              f"{channels * size**self.dims:.3g} entries, more than an array "
                              f"can index ({MAX_ELEMENTS:.3g})")
        for i, layer in enumerate(self.layers):
            at = _join(where, f"layers[{i}]")
            if not isinstance(layer, LayerSpec):
                raise invalid(at, "a LayerSpec", type(layer).__name__)
            layer.validate(at)
            out = layer.output_size(size)
            if out < 1:
                full = layer.output_size(size) + 2 * layer.padding - layer.output_padding
                raise invalid(f"{at}.padding",
                              f"0 <= padding <= {(full + layer.output_padding - 1) // 2} "
                              "(padding empties the output)",
                              layer.padding)
            weights = channels * layer.channels * layer.kernel**self.dims
            if weights > MAX_ELEMENTS:
                raise VerifyError(f"{at}.kernel: {channels} x {layer.channels} x "
                                  f"{layer.kernel}^{self.dims} = {weights:.3g} weights, more "
                                  f"than an array can index ({MAX_ELEMENTS:.3g})")
            features = layer.channels * out**self.dims
            if features > MAX_ELEMENTS:
                raise VerifyError(f"{at}: output {layer.channels} x {out}^{self.dims} = "
                                  f"{features:.3g} features, more than an array can index "
                                  f"({MAX_ELEMENTS:.3g}); lower its stride, kernel or channels")
            size, channels = out, layer.channels

    # ------------------------------------------------------------ derived sizes
    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def channels(self) -> tuple[int, ...]:
        """(C_0, C_1, ..., C_d)."""
        return (self.latent_channels,) + tuple(l.channels for l in self.layers)

    @property
    def sizes(self) -> tuple[int, ...]:
        """(D_0, D_1, ..., D_d): spatial size per axis."""
        out = [self.latent_size]
        for layer in self.layers:
            out.append(layer.output_size(out[-1]))
        return tuple(out)

    @property
    def widths(self) -> tuple[int, ...]:
        """(n_0, ..., n_d) with n_i = C_i D_i^dims."""
        return tuple(c * d**self.dims for c, d in zip(self.channels, self.sizes))

    @property
    def latent_dim(self) -> int:
        return self.widths[0]

    @property
    def output_dim(self) -> int:
        return self.widths[-1]

    def shape(self, i: int) -> tuple[int, ...]:
        """Channel-major array shape of layer i's features: (C_i, D_i[, D_i])."""
        return (self.channels[i],) + (self.sizes[i],) * self.dims

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shape(self.depth)

    @property
    def is_block(self) -> bool:
        """Every layer has stride = kernel and no padding (the theory's case)."""
        return all(l.is_block for l in self.layers)

    def expansions(self) -> tuple[float, ...]:
        """Per layer, rows over columns of the dense block B: C_i l^dims / C_{i-1}."""
        ch = self.channels
        return tuple(ch[i + 1] * l.kernel**self.dims / ch[i] for i, l in enumerate(self.layers))

    def expansivity(self) -> tuple[float, ...]:
        """Per layer, C_i l^dims / (C_{i-1} log C_{i-1}) (the paper's condition
        C_i l >~ C_{i-1} log C_{i-1}); ``inf`` when C_{i-1} = 1 (log 1 = 0)."""
        ch = self.channels
        out = []
        for i, l in enumerate(self.layers):
            denom = ch[i] * math.log(ch[i])
            out.append(math.inf if denom == 0 else ch[i + 1] * l.kernel**self.dims / denom)
        return tuple(out)

    # ------------------------------------------------------------------ TOML
    def to_dict(self) -> dict[str, Any]:
        return {
            "dims": self.dims,
            "latent_channels": self.latent_channels,
            "latent_size": self.latent_size,
            "layers": [l.to_dict() for l in self.layers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "network") -> "NetworkSpec":
        """Build from a ``[network]`` table; every error names the field path
        (``network.layers[1].kernel``)."""
        if not isinstance(data, Mapping):
            raise wrong(where, "a table (dims, latent_channels, latent_size, layers)", data)
        allowed = {"dims", "latent_channels", "latent_size", "layers"}
        unknown = set(data) - allowed
        if unknown:
            raise invalid(f"{where}.{sorted(unknown)[0]}", "one of " + ", ".join(sorted(allowed)),
                          "unknown key")
        for key in ("dims", "latent_channels", "layers"):
            if key not in data:
                raise invalid(f"{where}.{key}", "a value (missing)", None)
        layer_keys = set(LayerSpec.__dataclass_fields__)
        layers = []
        if not isinstance(data["layers"], list):
            raise wrong(f"{where}.layers", "an array of tables ([[network.layers]])",
                        data["layers"])
        for i, raw in enumerate(data["layers"]):
            if not isinstance(raw, Mapping):
                raise wrong(f"{where}.layers[{i}]", "a table (channels, kernel, stride, ...)",
                            raw)
            bad = set(raw) - layer_keys
            if bad:
                raise invalid(f"{where}.layers[{i}].{sorted(bad)[0]}",
                              "one of " + ", ".join(sorted(layer_keys)), "unknown key")
            for key in ("channels", "kernel", "stride"):
                if key not in raw:
                    raise invalid(f"{where}.layers[{i}].{key}", "a value (missing)", None)
            layer = LayerSpec(**raw)
            layer.validate(f"{where}.layers[{i}]")
            layers.append(layer)
        fields = dict(dims=data["dims"], latent_channels=data["latent_channels"],
                      latent_size=data.get("latent_size", 1), layers=tuple(layers))
        # Validate with the field path first; the constructor's own check then passes.
        probe = object.__new__(cls)
        for key, value in fields.items():
            object.__setattr__(probe, key, value)
        probe.validate(where)
        return cls(**fields)

    def to_toml(self) -> str:
        return tomli_w.dumps({"network": self.to_dict()})

    @classmethod
    def from_toml(cls, text: str, what: str = "network TOML") -> "NetworkSpec":
        """Parse TOML text holding a ``[network]`` table (or its fields at top level);
        errors are prefixed with ``what`` (e.g. the file the text came from)."""
        if not isinstance(text, str):
            raise wrong(what, "TOML text", text)
        data = parse_toml(text, what)
        try:
            return cls.from_dict(data.get("network", data))
        except VerifyError as exc:
            raise VerifyError(f"{what}: {exc}") from None

    def save(self, path: str | Path) -> None:
        from .fsio import write_text

        write_text(path, self.to_toml())

    @classmethod
    def load(cls, path: str | Path, what: str = "network file") -> "NetworkSpec":
        data = read_toml(path, what)
        try:
            return cls.from_dict(data.get("network", data))
        except VerifyError as exc:
            raise VerifyError(f"{what} {str(path)!r}: {exc}") from None

    def describe(self) -> str:
        """A one-line description: ``2-D 2x1 -> 16x5 (k5 s3 relu) -> ...``."""
        parts = [f"{self.dims}-D {self.latent_channels}x{self.latent_size}"]
        for l, c, d in zip(self.layers, self.channels[1:], self.sizes[1:]):
            pad = f" p{l.padding}" if l.padding else ""
            pad += f" op{l.output_padding}" if l.output_padding else ""
            parts.append(f"{c}x{d} (k{l.kernel} s{l.stride}{pad} {l.activation})")
        return " -> ".join(parts)


def wrong(name: str, allowed: str, value: Any) -> VerifyError:
    """Like :func:`verify.errors.invalid`, with the wrong value's type shown:
    ``name: expected a table, got 5 (int)``."""
    return VerifyError(f"{name}: expected {allowed}, got {_shown(value)}")


def _shown(value: Any) -> str:
    """A short description of a wrong value: ``5 (int)``, ``'abc' (str)``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def parse_toml(text: str, what: str) -> dict[str, Any]:
    """``tomllib.loads`` with every failure as one VerifyError naming ``what``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VerifyError(f"{what}: not valid TOML ({_one_line(exc)})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        # integers past Python's 4300-digit limit, arrays nested thousands deep
        raise VerifyError(f"{what}: not valid TOML ({type(exc).__name__}: "
                          f"{_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Read a TOML file; an unreadable or invalid file is a VerifyError naming ``what``
    (``"config file"``, ``"sweep file"``, ...), the path and the reason: missing, a
    folder or device rather than a regular file, larger than ``MAX_TOML_BYTES``, not
    UTF-8 text, or not valid TOML."""
    import os
    import stat

    name = f"{what} {str(path)!r}"
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or _one_line(exc)
        raise VerifyError(f"{name}: cannot be read ({reason})") from None
    if stat.S_ISDIR(st.st_mode):
        raise VerifyError(f"{name}: cannot be read (a folder; expected a .toml file)")
    if not stat.S_ISREG(st.st_mode):
        raise VerifyError(f"{name}: cannot be read (not a regular file; expected a .toml file)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise VerifyError(f"{name}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_TOML_BYTES:
        raise VerifyError(f"{name}: larger than {MAX_TOML_BYTES // 2**20} MiB; expected a "
                          "small TOML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerifyError(f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                          f"{exc.start}); TOML files are UTF-8") from None
    return parse_toml(text, name)


def block_spec(dims: int, channels: tuple[int, ...], kernels: tuple[int, ...],
               activation: str = "relu") -> NetworkSpec:
    """Convenience constructor for the theory case (stride = kernel, no padding)."""
    if len(channels) != len(kernels) + 1:
        raise invalid("channels", f"{len(kernels) + 1} entries (one more than kernels)", channels)
    layers = tuple(LayerSpec(channels=c, kernel=k, stride=k, activation=activation)
                   for c, k in zip(channels[1:], kernels))
    return NetworkSpec(dims=dims, latent_channels=channels[0], layers=layers)


__all__ = ["ACTIVATIONS", "PIECEWISE_LINEAR", "LayerSpec", "NetworkSpec", "block_spec",
           "read_toml", "parse_toml", "MAX_FIELD", "MAX_ELEMENTS", "MAX_TOML_BYTES"]
