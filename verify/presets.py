"""Named configurations (verify/cli/README.md): a network, its weight law and its mask.

A :class:`Config` is what every check and recovery runs on. ``Config.instantiate(seed)``
draws the weights and the mask from independent child streams of ``seed``
(``SeedSequence.spawn``), so two lemmas run with the same seed see the same network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import tomli_w

from .errors import VerifyError, invalid
from .measurements import Measurement, MaskSpec
from .network import Network
from .rng import Streams
from .spec import LayerSpec, NetworkSpec, read_toml, wrong
from .weights import WeightLaw, draw_network


@dataclass(frozen=True)
class Instance:
    """A drawn configuration: the network, the measurement operator and the seed."""

    config: "Config"
    seed: int                 # the integer seed, or -1 for a sweep task's streams
    network: Network
    measurement: Measurement
    streams: Streams = field(default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class Config:
    """A network specification with its weight law and measurement.

    ``counterexample`` marks configurations that violate the theorems' assumptions
    on purpose (the paper's Fig. 4(d)): checks that detect the violation are
    expected to fail on them. ``loader``, when set, supplies fixed (e.g. trained)
    weights instead of drawing them from ``weights``. ``checks``: per-check settings,
    lemma id -> {setting: value}, the config file's ``[checks.<lemma>]`` tables
    (:mod:`verify.settings`; validated against each check's declarations by the
    registry before it runs).
    """

    name: str
    spec: NetworkSpec
    weights: WeightLaw = WeightLaw()
    mask: MaskSpec = MaskSpec()
    description: str = ""
    counterexample: bool = False
    loader: Callable[[], Network] | None = field(default=None, compare=False, repr=False)
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def __repr__(self) -> str:
        from .results import short  # (lazy: results imports pandas)

        law = self.weights.name + (f" std {self.weights.std:g}" if self.weights.std else "")
        extra = "; fixed weights" if self.loader is not None else ""
        extra += "; counter-example" if self.counterexample else ""
        extra += f"; settings for {', '.join(self.checks)}" if self.checks else ""
        return short(f"Config({self.name!r}: {self.spec.describe()}; weights {law}; mask "
                     f"{self.mask.kind} {self.mask.rate:g}{extra})")

    def instantiate(self, seed: "int | Streams" = 0) -> Instance:
        """Draw the weights (the ``weights`` stream) and the measurement (the ``mask``
        stream) from ``seed``: an integer seed or :class:`~verify.rng.Streams`."""
        streams = Streams.of(seed)
        if self.loader is not None:
            network = self.loader()
        else:
            network = draw_network(self.spec, self.weights,
                                   rng=streams.weights(self.weights.stream))
        measurement = self.mask.build(self.spec.output_shape, rng=streams.mask())
        return Instance(self, streams.seed if streams.seed is not None else -1, network,
                        measurement, streams)

    def with_mask(self, kind: str, rate: float | None = None) -> "Config":
        return replace(self, mask=MaskSpec(kind, self.mask.rate if rate is None else rate))

    def with_weights(self, law: str, std: float | None = None) -> "Config":
        """The same network with weights drawn from ``law`` (fixed weights are dropped)."""
        return replace(self, weights=WeightLaw(law, std if std is not None else self.weights.std),
                       counterexample=(law == "uniform01"), loader=None)

    def with_spec(self, spec: NetworkSpec) -> "Config":
        """Another architecture with this weight law and mask (fixed weights are dropped)."""
        return replace(self, spec=spec, loader=None)

    # ---------------------------------------------------------------- TOML
    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "description": self.description,
               "counterexample": self.counterexample,
               "network": self.spec.to_dict(), "weights": self.weights.to_dict(),
               "mask": self.mask.to_dict()}
        if self.checks:  # only when set: the configs of before are unchanged
            out["checks"] = {k: {n: list(v) if isinstance(v, tuple) else v
                                 for n, v in t.items()} for k, t in self.checks.items()}
        return out

    def with_checks(self, checks: Mapping[str, Mapping[str, Any]]) -> "Config":
        """The same configuration with per-check settings ``checks`` (lemma id ->
        {setting: value}; :mod:`verify.settings`), structure-checked here."""
        from .settings import check_tables

        return replace(self, checks=check_tables(checks))

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str = "custom") -> "Config":
        """Build from a config table (``name``, ``description``, ``counterexample``,
        ``[network]``, ``[weights]``, ``[mask]``, optional ``[checks.<lemma>]`` tables of
        per-check settings); every error names the field path. The settings' keys and
        values are validated against the checks' declarations when a check runs
        (:func:`verify.settings.resolve`), here only their structure."""
        from .settings import check_tables

        if not isinstance(data, Mapping):
            raise wrong("config", "a table", data)
        allowed = {"name", "description", "counterexample", "network", "weights", "mask",
                   "checks"}
        unknown = set(data) - allowed
        if unknown:
            raise invalid(sorted(unknown)[0], "one of " + ", ".join(sorted(allowed)), "unknown key")
        if "network" not in data:
            raise invalid("network", "a [network] table (missing)", None)
        for key in ("name", "description"):
            if key in data and not isinstance(data[key], str):
                raise wrong(key, "a string", data[key])
        if "name" in data and not data["name"].strip():
            raise wrong("name", "a non-empty string", data["name"])
        if "counterexample" in data and not isinstance(data["counterexample"], bool):
            raise wrong("counterexample", "true or false", data["counterexample"])
        for key, fields in (("weights", "law, std"), ("mask", "kind, rate")):
            if key in data and not isinstance(data[key], Mapping):
                raise wrong(key, f"a [{key}] table ({fields})", data[key])
        mask = data.get("mask", {})
        if "kind" in mask and not isinstance(mask["kind"], str):
            raise wrong("mask.kind", "a string", mask["kind"])
        law = WeightLaw.from_dict(data.get("weights", {}))
        checks = check_tables(data["checks"]) if "checks" in data else {}
        return cls(name=data.get("name", name), spec=NetworkSpec.from_dict(data["network"]),
                   weights=law, mask=MaskSpec.from_dict(mask),
                   description=data.get("description", ""),
                   counterexample=data.get("counterexample", not law.zero_mean),
                   checks=checks)

    @classmethod
    def load(cls, path: str | Path, what: str = "config file") -> "Config":
        """Read a config TOML file; errors name the file and the field path."""
        data = read_toml(path, what)
        try:
            return cls.from_dict(data, name=Path(path).stem)
        except VerifyError as exc:
            raise VerifyError(f"{what} {str(path)!r}: {exc}") from None


# --------------------------------------------------------------------- presets
def _fig4(activation: str, law: str = "gaussian") -> NetworkSpec:
    return NetworkSpec(dims=2, latent_channels=2, layers=(
        LayerSpec(channels=16, kernel=5, stride=3, activation=activation),
        LayerSpec(channels=1, kernel=5, stride=3, activation=activation)))


# The theory presets: latent one position, two stride = kernel layers, ReLU,
# N(0, 1/(C_i l^dims)). Layer i's dense block B_i has m = C_i l^dims rows and k = C_{i-1}
# columns. The WDC check (lemmas/concentration.py) is informative only when its a-priori
# eps(m, k) = sqrt(6 k log m / m) lies below the trivial ceiling max(||B||^2, 1/2) ~
# (1 + sqrt(k/m))^2 (lemmas/README.md, section 2): at m/k = 16 it does not (the former presets,
# 8 -> 32 -> 128 ch, had eps 1.35 / 1.53 against ceilings 1.23 / 1.45). So every layer
# here has m/k >= 40, far above the paper's C_i l^dims >= 4 C_{i-1} log C_{i-1}; the
# angle check's norm bound sqrt(5) (sqrt(2k) + sqrt(2 log 1/delta)) / sqrt(m) needs
# m >~ 250 rows on the first layer as well. The output size is at least
# n_2 = m_2 l_1^dims = (m_2/k_2) C_1 l_1^dims = C_0 (m_1/k_1)(m_2/k_2), so the latent
# is small: C_0 = 4 (with 2 or 3 latent channels, Rademacher first-layer rows take only
# 4 or 8 values and Conjecture 3's descent rerun meets genuine spurious minima).
#
#: theory-2layer: C0 = 4; layer 1: C1 = 16, l = 16: m = 256, k = 4, m/k = 64
#: (256 >= 4 C0 log C0 = 22.2); layer 2: C2 = 40, l = 16: m = 640, k = 16, m/k = 40
#: (640 >= 4 C1 log C1 = 177.4). Widths n = 4 -> 256 -> 10240 (40 ch x 256 positions).
THEORY_1D = NetworkSpec(dims=1, latent_channels=4, layers=(
    LayerSpec(channels=16, kernel=16, stride=16), LayerSpec(channels=40, kernel=16, stride=16)))
#: theory-2layer-2d: its own shapes, not the 1-D blocks again: C0 = 4;
#: layer 1: C1 = 10, 5x5: m = 250, k = 4, m/k = 62.5 (250 >= 22.2); layer 2: C2 = 45,
#: 3x3: m = 405, k = 10, m/k = 40.5 (405 >= 4 C1 log C1 = 92.1). Widths
#: n = 4 -> 250 -> 10125 (45 ch x 15 x 15). Its weights come from weights stream 1
#: (``WeightLaw(stream=1)``), independent of the 1-D preset's stream 0: with one stream
#: both would be the same normals laid out in blocks of other shapes.
THEORY_2D = NetworkSpec(dims=2, latent_channels=4, layers=(
    LayerSpec(channels=10, kernel=5, stride=5), LayerSpec(channels=45, kernel=3, stride=3)))
#: Deeper networks (Sec. 4.2: "the same conclusion empirically
#: extends"): Theorem 1 is stated for d layers, with rho_d moving out with depth
#: (rho_3 ~ 0.494, rho_4 ~ 0.605). A 2-D latent (one position) so that descent's
#: stationary set is exact (verify/geometry/cones.py). theory-3layer: 2 -> 8 ch k8 -> 8 ch k4 ->
#: 8 ch k4: blocks 64x2, 32x8, 32x8; each C_i l >= C_{i-1} log C_{i-1} (64 >= 1.4,
#: 32 >= 16.6), output 8 ch x 128 = 1,024. theory-4layer: 2 -> 8 k4 -> 8 k4 -> 8 k2 ->
#: 8 k2: blocks 32x2, 32x8, 16x8, 16x8 (the last two below 8 log 8 = 16.6 by a hair:
#: the expansion condition holds up to its constant only), output 8 ch x 64 = 512.
THEORY_3LAYER = NetworkSpec(dims=1, latent_channels=2, layers=(
    LayerSpec(channels=8, kernel=8, stride=8), LayerSpec(channels=8, kernel=4, stride=4),
    LayerSpec(channels=8, kernel=4, stride=4)))
THEORY_4LAYER = NetworkSpec(dims=1, latent_channels=2, layers=(
    LayerSpec(channels=8, kernel=4, stride=4), LayerSpec(channels=8, kernel=4, stride=4),
    LayerSpec(channels=8, kernel=2, stride=2), LayerSpec(channels=8, kernel=2, stride=2)))

_PRESETS: dict[str, Config] = {}


def register_preset(config: Config) -> Config:
    """Add a named preset (later modules add theirs, e.g. trained weights)."""
    _PRESETS[config.name] = config
    return config


register_preset(Config(
    "theory-2layer", THEORY_1D, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 4 (one position), two stride=kernel ReLU layers (4->16 ch k16 -> 40 ch k16; "
    "blocks 256x4 and 640x16, m/k 64 and 40), N(0, 1/(C_i l)), each layer C_i l >= "
    "4 C_{i-1} log C_{i-1}; full observation"))
register_preset(Config(
    "theory-2layer-2d", THEORY_2D, WeightLaw("gaussian", stream=1), MaskSpec("full", 1.0),
    "2-D, latent 4 (one position), two stride=kernel ReLU layers (4->10 ch 5x5 -> 45 ch "
    "3x3; blocks 250x4 and 405x10, m/k 62.5 and 40.5), N(0, 1/(C_i l^2)), each layer C_i l^2 >= "
    "4 C_{i-1} log C_{i-1}; full observation"))
register_preset(Config(
    "theory-3layer", THEORY_3LAYER, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 2 (one position), three stride=kernel ReLU layers (2->8 ch k8 -> 8 ch k4 "
    "-> 8 ch k4; blocks 64x2, 32x8, 32x8), N(0, 1/(C_i l)); full observation; rho_3 ~ 0.494"))
register_preset(Config(
    "theory-4layer", THEORY_4LAYER, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 2 (one position), four stride=kernel ReLU layers (2->8 ch k4 -> 8 ch k4 "
    "-> 8 ch k2 -> 8 ch k2; blocks 32x2, 32x8, 16x8, 16x8), N(0, 1/(C_i l)); full "
    "observation; rho_4 ~ 0.605"))
register_preset(Config(
    "paper-fig4", _fig4("relu"), WeightLaw("gaussian", 1.0), MaskSpec("random", 0.5),
    "paper Sec. 4.2: 2-D latent 2 -> 16 ch -> 1 ch, k5 s3, ReLU, N(0, 1), 50% random pixels"))
for _act, _name in (("sigmoid", "sigmoid"), ("tanh", "tanh"), ("leaky_relu", "leaky")):
    register_preset(Config(
        f"paper-fig4-{_name}", _fig4(_act), WeightLaw("gaussian", 1.0), MaskSpec("random", 0.5),
        f"paper-fig4 with {_act} activations (Fig. 4(b,c))"))
register_preset(Config(
    "paper-fig4-uniform01", _fig4("relu"), WeightLaw("uniform01"), MaskSpec("random", 0.5),
    "paper-fig4 with U[0, 1] weights: the Fig. 4(d) counter-example (expected to fail)",
    counterexample=True))


def presets() -> dict[str, Config]:
    """All presets by name (importing the trained-network module adds its own)."""
    _load_plugins()
    return dict(_PRESETS)


#: Old preset names still accepted (not listed): the GLO digits generator was
#: ``digits-dcgan`` before the adversarially trained ``digits-gan`` existed.
ALIASES = {"digits-dcgan": "digits-glo"}


def get_preset(name: str) -> Config:
    table = presets()
    if name not in table and isinstance(name, str) and ALIASES.get(name) in table:
        return table[ALIASES[name]]
    if name not in table:
        raise invalid("preset", "one of " + ", ".join(table), name)
    return table[name]


def _load_plugins() -> None:
    """Presets defined outside this module (e.g. the shipped trained generator)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("verify.trained") is not None:
        importlib.import_module("verify.trained")  # registers digits-glo, digits-gan


__all__ = ["Config", "Instance", "register_preset", "presets", "get_preset",
           "THEORY_1D", "THEORY_2D"]


# -------------------------------------------------------- stride < kernel, 3 layers
#: theory-3layer-overlap ("stride < kernel"): theory-3layer's depth and
#: sizes with overlapping filters, kernel = 2 x stride on every layer (k8 s4; no
#: padding, output (n - 1) s + k positions): 2 -> 8 ch x 8 -> 8 ch x 36 -> 8 ch x 148, widths
#: 2 -> 64 -> 288 -> 1,184 (expansion 32, 4.5, 4.1 per layer; theory-3layer's 32, 4, 4).
#: Outside Theorem 1's block form (Fig. 2(b) needs stride = kernel), like paper-fig4: the
#: paper's Sec. 4.2 says its conclusion "empirically extends" to other kernels and strides.
#: Latent 2 (one position), so the stationary set is exact (verify/geometry/cones.py).
THEORY_3LAYER_OVERLAP = NetworkSpec(dims=1, latent_channels=2, layers=(
    LayerSpec(channels=8, kernel=8, stride=4), LayerSpec(channels=8, kernel=8, stride=4),
    LayerSpec(channels=8, kernel=8, stride=4)))
register_preset(Config(
    "theory-3layer-overlap", THEORY_3LAYER_OVERLAP, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 2 (one position), three ReLU layers with kernel 8 = 2 x stride 4 "
    "(overlapping filters; 2 -> 8 ch x 8 -> 8 ch x 36 -> 8 ch x 148 positions, widths 64, "
    "288, 1184), N(0, 1/(C_i l)); full observation; rho_3 ~ 0.494"))


#: theory-2layer-latent2 (lemmas/expansion.py): the template of Theorem
#: 1's expansion sweep. 1-D, latent C0 = 2 at one position (so the stationary set of J is
#: exact, verify/geometry/stationary.py), two stride = kernel ReLU layers, N(0, 1/(C_i l)):
#: 2 -> 4 ch k16 -> 45 ch k4; blocks 64x2 and 180x4; expansion factors
#: C_i l / (C_{i-1} log C_{i-1}) = 46.2 and 32.5; output 45 ch x 64 = 2,880. The
#: expansion check scales the last layer down from here (C_2 = 23, 12, 6, 3, 2, 1:
#: factors 16.6 ... 0.72); this top point costs ~2 CPU-s per draw (measured), the
#: affordable end of a 40-draw grid.
THEORY_2LAYER_LATENT2 = NetworkSpec(dims=1, latent_channels=2, layers=(
    LayerSpec(channels=4, kernel=16, stride=16), LayerSpec(channels=45, kernel=4, stride=4)))
register_preset(Config(
    "theory-2layer-latent2", THEORY_2LAYER_LATENT2, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 2 (one position), two stride=kernel ReLU layers (2->4 ch k16 -> 45 ch k4; "
    "blocks 64x2 and 180x4; expansion factors 46.2 and 32.5), N(0, 1/(C_i l)); full "
    "observation; the template of Theorem 1's expansion sweep"))


#: theory-2layer-latent3 and theory-2layer-latent4 (lemmas/README.md, section 5): Theorem
#: 1's conclusion beyond 2-D latents, at the smallest widths that meet its expansion
#: condition as the theory presets read it, E_i = C_i l / (C_{i-1} log C_{i-1}) >= 4 on
#: both layers (1-D, one latent position, stride = kernel, ReLU, N(0, 1/(C_i l))), with
#: C_1 = C_0 (no fewer first-layer channels than latent ones: with C_1 < C_0 each
#: position sees z through a C_1-dimensional projection, and Theorem 1's failure term
#: D_2 C_2 e^{-gamma C_1} is larger than the latent's) and the second kernel 2. The
#: constant 1 (thm1's reading) would allow 3 -> 2 ch k2 -> 1 ch k2, four outputs.
#: latent3: 3 -> 3 ch k5 -> 7 ch k2: blocks 15x3 and 14x3, E = 4.55 and 4.25, widths
#: 3 -> 15 -> 70; its J is certified exactly on the 3-D cells (verify/geometry/cones.py).
#: latent4: 4 -> 4 ch k6 -> 12 ch k2: blocks 24x4 and 24x4, E = 4.33 and 4.33, widths
#: 4 -> 24 -> 144; no enumeration: the MILP certificate (verify/geometry/milp.py), whose
#: cone pieces here take seconds to minutes each at HiGHS's root node, so no check
#: certifies it per draw yet (``descent`` samples it).
THEORY_2LAYER_LATENT3 = NetworkSpec(dims=1, latent_channels=3, layers=(
    LayerSpec(channels=3, kernel=5, stride=5), LayerSpec(channels=7, kernel=2, stride=2)))
THEORY_2LAYER_LATENT4 = NetworkSpec(dims=1, latent_channels=4, layers=(
    LayerSpec(channels=4, kernel=6, stride=6), LayerSpec(channels=12, kernel=2, stride=2)))
register_preset(Config(
    "theory-2layer-latent3", THEORY_2LAYER_LATENT3, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 3 (one position), two stride=kernel ReLU layers (3->3 ch k5 -> 7 ch k2; "
    "blocks 15x3 and 14x3; expansion factors 4.55 and 4.25, the smallest widths with both "
    ">= 4), N(0, 1/(C_i l)); full observation; J's stationary set exact on the 3-D cells"))
register_preset(Config(
    "theory-2layer-latent4", THEORY_2LAYER_LATENT4, WeightLaw("gaussian"), MaskSpec("full", 1.0),
    "1-D, latent 4 (one position), two stride=kernel ReLU layers (4->4 ch k6 -> 12 ch k2; "
    "blocks 24x4 and 24x4; expansion factors 4.33 and 4.33, the smallest widths with both "
    ">= 4), N(0, 1/(C_i l)); full observation; for the MILP certificate "
    "(verify.geometry.milp.certify), on request: the descent check samples it"))
