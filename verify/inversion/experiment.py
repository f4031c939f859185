"""The one recovery experiment (lemmas/README.md, section 9; Theorem 4): :func:`run_recovery`.

``verify invert``, a sweep's invert task, and the checks that recover latents all run
this function, so the same configuration, options and streams give the same bits on
every path. The experiment, for a :class:`~verify.presets.Config`, an
:class:`InvertOptions` and :class:`~verify.rng.Streams`:

1. the network from the ``weights`` stream (or the config's fixed weights);
2. from the ``check`` stream, in this order: ``trials`` masks of the options' kind and
   rate (:meth:`MaskSpec.sample <verify.measurements.MaskSpec.sample>`, one per trial),
   then ``trials`` ground truths z* ~ N(0, I), then the noise and the starting points
   (:func:`~verify.inversion.recovery.recover`);
3. each trial scored: success iff ||z_hat - z*|| / ||z*|| <= ``success_tol``.

:class:`InvertOptions` is validated once, when it is built, with the field names of the
place it came from (``--trials`` on the command line, ``sweep.invert.trials`` in a sweep
file).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from ..errors import invalid
from ..measurements import RATE_KINDS, MaskSpec, check_rate
from ..rng import Streams
from .losses import DTYPES
from .recovery import SUCCESS_TOL, SUCCESS_TOL32_MIN, RecoveryStats, recover

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("adam", "gd", "lp")
NEGATIONS = ("restart", "flip", "none")
#: Upper bound on trials and iterations (a typo guard; memory is checked by the budget,
#: their work by the time budget, verify/work.py).
MAX_COUNT = 10**9
#: Largest noise sigma: the outputs' entries are O(1) (N(0, 1/(C l)) weights, N(0, I)
#: codes), so a larger sigma leaves only noise to recover from, and its square summed
#: over the observed entries overflows float32's range (3.4e38) from sigma ~ 1e17 on.
MAX_NOISE = 1e6


@dataclass(frozen=True)
class InvertOptions:
    """What a recovery does (validated on construction; ``where`` prefixes error names).

    ``kind`` / ``rate``: the sampling pattern (None: the config's own mask);
    ``trials``: independent (z*, mask, start) triples; ``noise``: sigma of additive
    Gaussian noise on the observed entries; ``method``: ``adam``, ``gd`` or ``lp``
    (Lei et al.'s layer-wise LP, ReLU networks); ``iterations`` per pass; ``lr``: step
    size (None: the method's default); ``negation``: ``restart`` (the paper's script),
    ``flip`` (Huang et al.) or ``none``; ``success_tol`` on the relative error.
    """

    kind: str | None = None
    rate: float | None = None
    trials: int = 100
    noise: float = 0.0
    method: str = "adam"
    iterations: int = 1000
    lr: float | None = None
    negation: str = "restart"
    success_tol: float = SUCCESS_TOL
    dtype: str = "float64"
    where: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        name = (lambda f: f"{self.where}{f}") if self.where else (lambda f: f)
        if self.kind is not None and self.kind not in RATE_KINDS:
            raise invalid(name("mask" if self.where.startswith("--") else "kind"),
                          "one of " + ", ".join(RATE_KINDS), self.kind)
        if self.rate is not None:
            object.__setattr__(self, "rate", check_rate(self.rate, name("rate")))
        for key in ("trials", "iterations"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) \
                    or not 1 <= v <= MAX_COUNT:
                raise invalid(name(key), f"an integer >= 1 (at most {MAX_COUNT:,})", v)
            object.__setattr__(self, key, int(v))
        for key, low_ok in (("noise", True), ("success_tol", False), ("lr", False)):
            v = getattr(self, key)
            if key == "lr" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) \
                    or not math.isfinite(v) or v < 0 or (v == 0 and not low_ok) \
                    or (key == "noise" and v > MAX_NOISE):
                allowed = (f"a finite number >= 0 and <= {MAX_NOISE:g}" if key == "noise"
                           else "a finite number >= 0" if low_ok else "a finite number > 0")
                raise invalid(name(key.replace("_", "-") if self.where.startswith("--")
                                   else key), allowed, v)
            object.__setattr__(self, key, float(v))
        if self.method not in METHODS:
            raise invalid(name("method"), "one of " + ", ".join(METHODS), self.method)
        if self.negation not in NEGATIONS:
            raise invalid(name("negation"), "one of " + ", ".join(NEGATIONS), self.negation)
        if not isinstance(self.dtype, str) or self.dtype not in DTYPES:
            raise invalid(name("dtype"), "float64 or float32", self.dtype)
        if self.dtype == "float32" and self.method == "lp":
            raise invalid(name("dtype"), "float64 with method lp (the LP solver computes in "
                          "float64)", self.dtype)
        if self.dtype == "float32" and self.success_tol < SUCCESS_TOL32_MIN:
            raise invalid(name("success-tol" if self.where.startswith("--") else "success_tol"),
                          f"a tolerance >= {SUCCESS_TOL32_MIN:g} with float32 (its answers "
                          "carry ~1e-5 relative rounding), or dtype float64", self.success_tol)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "") -> "InvertOptions":
        """From a table (a sweep file's ``[sweep.invert]``); unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise invalid(where.rstrip(".") or "options", "a table", data)
        known = [f.name for f in fields(cls) if f.name != "where"]
        for key in data:
            if key not in known:
                raise invalid(f"{where}{key}", "one of " + ", ".join(known), "unknown key")
        return cls(**dict(data), where=where)

    def to_dict(self) -> dict[str, Any]:
        """The fields; ``dtype`` only when it is not the default float64, so that a
        sweep's plan hash and task ids stay what they were before the field existed."""
        out = asdict(self)
        out.pop("where")
        if out["dtype"] == "float64":
            out.pop("dtype")
        return out

    def pattern(self, config) -> MaskSpec:
        """The mask spec of this recovery on ``config`` (``full`` observes at rate 1)."""
        kind = config.mask.kind if self.kind is None else self.kind
        if kind not in RATE_KINDS:
            raise invalid(f"{self.where}mask" if self.where else "mask",
                          "a subsampling kind (" + ", ".join(RATE_KINDS) + ")", kind)
        rate = config.mask.rate if self.rate is None else self.rate
        return MaskSpec(kind, 1.0 if kind == "full" else rate)

    def solver(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~verify.inversion.recovery.recover`'s solver."""
        if self.method == "lp":
            return {"method": "lp"}
        return {"method": self.method, "iterations": self.iterations, "lr": self.lr,
                "negation": None if self.negation == "none" else self.negation,
                "dtype": self.dtype}


@dataclass(frozen=True, eq=False)
class RecoveryResult:
    """A finished recovery: what ran (config, options, streams, mask) and how it went
    (:class:`~verify.inversion.recovery.RecoveryStats`), with a per-trial table."""

    config: Any
    options: InvertOptions
    streams: Streams
    mask: MaskSpec
    stats: RecoveryStats
    masks: np.ndarray          # (trials, n) boolean: the observed entries of each trial

    @property
    def observed(self) -> float:
        """The share of output entries observed, over all trials."""
        return float(self.masks.mean())

    @property
    def table(self) -> "pd.DataFrame":
        """One row per trial: relative error, success, iterations, convergence."""
        import pandas as pd

        res = self.stats.result
        return pd.DataFrame({"trial": np.arange(self.stats.trials),
                             "rel_error": self.stats.rel_error,
                             "success": self.stats.success,
                             "iterations": np.asarray(res.iterations),
                             "converged": np.asarray(res.converged)})

    def to_json(self) -> dict[str, Any]:
        """verify/cli/README.md's ``verify invert --json`` keys (``elapsed_s`` is the caller's)."""
        seed = self.streams.seed
        return {**self.stats.to_dict(), "mask": self.mask.kind, "rate": self.mask.rate,
                "observed": self.observed,
                "options": self.options.to_dict(),
                "config": {"preset": self.config.name, **self.config.to_dict()},
                "seed": seed if seed is not None else str(self.streams),
                "streams": self.streams.record()}


def run_recovery(config, options: InvertOptions | None = None,
                 streams: Streams | int = 0, *, instance=None, callback=None,
                 chunk: int | None = None) -> RecoveryResult:
    """Run the recovery experiment (module docstring) and return its result.

    ``config``: a Config or a preset name; ``streams``: a :class:`Streams` or an integer
    seed; ``instance``: an already instantiated network for these streams (saves the
    draw; it must come from the same config and streams); ``callback`` is passed to the
    descent loop (progress display). ``chunk``: trials measured and inverted at a time
    (default: as many as the memory budget allows, :func:`~verify.inversion.memory.
    chunk_size`, which refuses a budget below one trial's need naming ``--max-memory``);
    the answers are the same for every chunk size.
    """
    from ..presets import Config, get_preset

    if isinstance(config, str):
        config = get_preset(config)
    if not isinstance(config, Config):
        raise invalid("config", "a preset name or a Config", type(config).__name__)
    options = options or InvertOptions()
    streams = Streams.of(streams)
    pattern = options.pattern(config)
    if instance is None:
        instance = config.instantiate(streams)
    net = instance.network
    spec = net.spec
    gen = streams.check()
    masks = pattern.sample(spec.output_shape, options.trials, rng=gen)
    z_star = gen.normal(size=(options.trials, spec.latent_dim))
    solver = options.solver()
    if callback is not None and options.method != "lp":
        solver["callback"] = callback
    if options.method != "lp":
        from .memory import chunk_size

        solver["chunk"] = chunk if chunk is not None else \
            chunk_size(spec, options.trials, options.dtype)
    stats = recover(net, z_star, masks, noise=options.noise,
                    success_tol=options.success_tol, rng=gen, **solver)
    return RecoveryResult(config, options, streams, pattern, stats, masks)


__all__ = ["InvertOptions", "RecoveryResult", "run_recovery", "METHODS", "NEGATIONS"]
