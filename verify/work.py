"""Work estimates: refuse, before anything runs, work over the time budget (``--max-time``).

Every count a user can give (network draws, trials, iterations, epochs, examples, grid
points and replicates, layers, per-check settings) multiplies the work of a command.
As :mod:`verify.budget` does for memory, each command estimates its work from the
plan's size alone -- the spec's integers and the counts, before anything is built or
drawn -- and calls :func:`require`, which refuses (:class:`~verify.errors.VerifyError`,
exit 2) an estimate over the budget, naming the input responsible and the estimate. It
is an up-front refusal, not a watchdog: nothing is timed, and the model below is a
fixed formula of the input, so the same input is refused on every machine.

Work units
----------
Work is counted in *work units* (wu): one wu is one float64 multiply-add of a
transposed-convolution layer applied to one sample, the inner loop of every command.
From the spec (:func:`macs`, :func:`pass_wu`)::

    macs(spec)          = sum_i C_{i-1} D_{i-1}^dims C_i l_i^dims   (one sample, forward)
    pass_wu(spec, n)    = n macs(spec) + LAYER_WU depth               (a pass of n samples)

and per command (``draws`` is the ``--draws`` maximum the run can reach: the value
given, else each check's :class:`~verify.verdicts.DrawRule` default; 1 without a rule)::

    check LEMMA     draws x cost x WU_PER_SECOND x size(spec) x settings [x QUICK_SHARE]
                    size(spec) = max(1, macs / REF_MACS, depth / REF_DEPTH)
                    settings   = product over the [checks.LEMMA] integers and lists of
                                 value / default (len for lists), where above 1
    report          the sum of ``check`` over every check's default presets and its
                    known-bad configurations
    sweep           the sum of ``check`` (1 draw) or ``invert`` over the grid's tasks
    invert          passes x iterations x 3 pass_wu(spec, trials)   (forward + reverse;
                    passes = 2 with --negation restart; --method lp counts as 1000
                    iterations)
    train-digits    epochs x images x TRAIN_PASSES[method] x macs(generator)
    explore LEMMA   max_examples x cost x WU_PER_SECOND x QUICK_SHARE

``cost`` is the check's registered cost (:class:`verify.registry.LemmaCheck`): CPU
seconds of one network draw of the check on its costliest default preset (of the whole
check when it has no draw rule).

Calibration (measured once, on the reference machine of the reference report: a
shared 2-core x86-64, one BLAS thread, numpy float64, 6 Dec 2026)
-----------------------------------------------------------------------------
* ``WU_PER_SECOND = 1.5e9``: a forward pass of theory-2layer (164,864 MACs per sample)
  on 1024 samples ran at 1.56e9 multiply-adds per second.
* ``LAYER_WU = 5e4``: a 1000-layer, 2-channel network's forward pass cost 31 us per
  layer (batch 1) and 37 us (batch 1024): 31e-6 s x 1.5e9 wu/s = 4.7e4 wu.
* ``cost`` per check: the reference report's (reports/reference/REPORT.md) time per
  preset over its draws, e.g. descent 132 s / 40 draws = 3.3 s on theory-2layer (cost
  4), landscape 304 s / 40 = 7.6 s on paper-fig4-tanh (cost 8).
* ``QUICK_SHARE = 0.5``: descent's ``--quick`` draw on theory-2layer took 1.8 s against
  3.3 s for a full one (the largest share measured; expansion's is 0.04).
* ``TRAIN_PASSES``: glo 3 (forward and reverse of the generator: 90 epochs estimate
  364 s, measured about 100 s); gan 10 (generator and discriminator with their Adam
  steps: 60 epochs estimate 808 s, measured 676 s of wall time on a loaded machine).
* ``invert``: paper-fig4, 100 trials, 1000 iterations, restart: estimate 4.7 s,
  measured 1.8 CPU-s (the arc-table path).

The estimate is a coarse upper bound, like the memory estimate: it decides "would this
finish in a reasonable time at all", not how fast it runs. The reference report's
estimate under this model is 9,266 s with its known-bad runs (``verify report --quick``:
4,633 s); it took 1,520 s of wall time on 2 jobs, about 3,000 CPU-s.

The budget
----------
Process-wide, in seconds of estimated work on the reference machine (one core):
``DEFAULT_MAX_TIME`` (8 hours: about 9 times the reference report's 3,000 CPU-s, 3 times
its estimate; ``verify report --draws 120`` fits, ``--draws 200`` asks for more) unless ``--max-time DURATION`` (``90s``, ``30m``, ``12h``, ``2d`` or
seconds) or the environment variable ``VERIFY_MAX_TIME`` (which worker processes
inherit) changes it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from typing import Any, Iterator, Mapping

from .errors import VerifyError

#: Work units per second of the reference machine (module docstring, Calibration).
WU_PER_SECOND = 1.5e9
#: Fixed work of one layer in one batched pass (interpreter, allocation), in wu.
LAYER_WU = 5e4
#: The network size a check's registered cost is stated for: at most this many
#: multiply-adds per sample (every preset's network is below it) ...
REF_MACS = 2**21
#: ... and this many layers (the two-layer theory presets).
REF_DEPTH = 2
#: A --quick run, as a share of a full one.
QUICK_SHARE = 0.5
#: Passes over the generator per training image and epoch, by ``train-digits --method``.
TRAIN_PASSES = {"glo": 3, "gan": 10}
#: Images of scikit-learn's digits (the default training set) and of MNIST's training
#: files (``--data``; the estimate assumes the full set).
DIGITS_IMAGES = 1797
MNIST_IMAGES = 60000
#: Iterations a layer-wise LP solve (``invert --method lp``) is counted as.
LP_ITERATIONS = 1000
#: The reference report's CPU seconds (1,520 s of wall time on 2 jobs; README.md).
REFERENCE_REPORT_S = 3040.0
#: The default budget in seconds of estimated work: a generous multiple of the
#: reference report.
DEFAULT_MAX_TIME = 8 * 3600.0

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0,
          "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$",
                       re.IGNORECASE)

_override: float | None = None


# ------------------------------------------------------------------ the budget
def parse_duration(text: Any, flag: str = "--max-time") -> float:
    """``90s``, ``30m``, ``12h``, ``2d`` or seconds, > 0 and finite; VerifyError naming
    ``flag`` otherwise."""
    allowed = "a duration such as 90s, 30m, 12h, 2d or a number of seconds"
    if isinstance(text, bool):
        raise VerifyError(f"{flag}: expected {allowed}, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _DURATION.match(str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise VerifyError(f"{flag}: expected {allowed}, got {text!r}")
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise VerifyError(f"{flag}: expected a positive duration, got {text!r}")
    return value


def human_time(seconds: float) -> str:
    """``3.2 h``-style text for a duration in seconds; any size, however large."""
    try:
        seconds = float(seconds)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        return "more than 1e300 years"
    for unit, scale in (("years", 365.25 * 86400), ("days", 86400.0), ("h", 3600.0),
                        ("min", 60.0)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds:.3g} s"


def set_max_time(seconds: float | str | None) -> None:
    """Set the process-wide budget (None: back to the default); exported as
    ``VERIFY_MAX_TIME`` so that worker processes inherit it."""
    global _override
    if seconds is None:
        _override = None
        os.environ.pop("VERIFY_MAX_TIME", None)
        return
    _override = parse_duration(seconds)
    os.environ["VERIFY_MAX_TIME"] = repr(_override)


@contextlib.contextmanager
def scoped(seconds: float | str | None) -> Iterator[None]:
    """Set the budget for a block (None: leave it as it is), then restore it and
    ``VERIFY_MAX_TIME``."""
    global _override
    if seconds is None:
        yield
        return
    saved, saved_env = _override, os.environ.get("VERIFY_MAX_TIME")
    set_max_time(seconds)
    try:
        yield
    finally:
        _override = saved
        if saved_env is None:
            os.environ.pop("VERIFY_MAX_TIME", None)
        else:
            os.environ["VERIFY_MAX_TIME"] = saved_env


def max_time() -> float:
    """The budget in force, in seconds of estimated work: ``set_max_time``'s, else
    ``VERIFY_MAX_TIME``, else :data:`DEFAULT_MAX_TIME`."""
    if _override is not None:
        return _override
    env = os.environ.get("VERIFY_MAX_TIME")
    if env:
        return parse_duration(env, "VERIFY_MAX_TIME")
    return DEFAULT_MAX_TIME


def _float(x: Any) -> float:
    try:
        return float(x)
    except OverflowError:  # an integer beyond float range (2**2000 draws)
        return math.inf


def seconds(wu: float) -> float:
    """Estimated seconds on the reference machine of ``wu`` work units."""
    return _float(wu) / WU_PER_SECOND


def require(wu: float, what: str, *, hint: str = "") -> None:
    """Refuse (VerifyError, exit 2) work of ``wu`` units over the time budget.

    ``what`` names the input responsible (``--draws``, ``sweep.replicates``,
    ``network.layers``)."""
    limit = max_time()
    s = seconds(wu)
    if not s <= limit:  # NaN refused too
        extra = f"; {hint}" if hint else ""
        raise VerifyError(
            f"{what}: estimated work {_float(wu):.3g} work units, about {human_time(s)} on "
            f"the reference machine, over the time budget of {human_time(limit)} "
            f"(--max-time DURATION to change it; verify/work.py states the model){extra}")


# ------------------------------------------------------------------ the model
def macs(spec) -> int:
    """Multiply-adds of one sample's forward pass, from the spec's integers (exact)."""
    ch, sz = spec.channels, spec.sizes
    return sum(ch[i] * sz[i] ** spec.dims * ch[i + 1] * layer.kernel ** spec.dims
               for i, layer in enumerate(spec.layers))


def pass_wu(spec, n: int = 1) -> float:
    """Work of one forward pass of ``n`` samples: n macs + LAYER_WU per layer."""
    return _float(n) * macs(spec) + LAYER_WU * spec.depth


def size_factor(spec) -> tuple[float, str]:
    """How many times a check's reference size the network is (>= 1), and the field
    that makes it so (``network.layers`` for depth, else the spec's largest field)."""
    from .budget import blame

    by_macs, by_depth = macs(spec) / REF_MACS, spec.depth / REF_DEPTH
    if by_depth >= by_macs:
        return max(1.0, by_depth), f"network.layers ({spec.depth:,} layers)"
    return max(1.0, by_macs), blame(spec)


def settings_factor(lemma: str, declared: Mapping[str, Any],
                    values: Mapping[str, Any]) -> tuple[float, str | None]:
    """The product of value / default over the check's integer and list settings set
    above their defaults (``checks.<lemma>.<key>``), and the largest one's field."""
    factor, worst, worst_f = 1.0, None, 1.0
    for key, setting in declared.items():
        v, d = values.get(key, setting.default), setting.default
        if isinstance(v, bool) or isinstance(d, bool):
            continue
        if isinstance(v, int) and isinstance(d, int) and d > 0:
            f = _float(v) / d
        elif isinstance(v, (list, tuple)) and isinstance(d, (list, tuple)) and d:
            f = len(v) / len(d)
        else:
            continue
        if f > 1:
            factor *= f
            if f > worst_f:
                worst, worst_f = f"checks.{lemma}.{key}", f
    return factor, worst


def check_wu(check, spec, *, draws: int = 1, quick: bool = False,
             values: Mapping[str, Any] | None = None) -> tuple[float, str]:
    """Work of ``check`` on a network ``spec`` over ``draws`` draws, and the field to
    name if it is too much (the largest factor: draws, the network, a setting)."""
    size, net_field = size_factor(spec)
    sfac, s_field = settings_factor(check.id, check.settings, values or {})
    base_draws = check.default_draws(quick)
    n = _float(draws)
    wu = n * float(check.cost) * WU_PER_SECOND * size * sfac * (QUICK_SHARE if quick else 1)
    factors = {"--draws": n / base_draws, net_field: size}
    if s_field is not None:
        factors[s_field] = sfac
    return wu, _largest(factors, f"{check.id} (at its default sizes)")


def require_check(check, config, *, draws: int = 1, quick: bool = False,
                  values: Mapping[str, Any] | None = None) -> None:
    """Refuse a run of ``check`` on ``config`` over ``draws`` draws above the budget."""
    wu, what = check_wu(check, config.spec, draws=draws, quick=quick, values=values)
    require(wu, what, hint=f"{check.id} on {config.name!r}, {draws:,} draw(s)"
            if isinstance(draws, int) and draws < 10**12 else f"{check.id} on "
            f"{config.name!r}")


def invert_wu(spec, options) -> tuple[float, str]:
    """Work of a recovery (:class:`verify.inversion.InvertOptions`), and the field to
    name (the count furthest above its default)."""
    passes = 2 if options.negation == "restart" else 1
    its = LP_ITERATIONS if options.method == "lp" else options.iterations
    wu = passes * _float(its) * 3 * pass_wu(spec, options.trials)
    where = options.where or ""
    factors = {f"{where}trials": options.trials / 100,
               f"{where}iterations": its / 1000}
    size, net_field = size_factor(spec)
    factors[net_field] = size
    return wu, _largest(factors, "the recovery (at its default counts)")


def _largest(factors: Mapping[str, float], default: str) -> str:
    """The input with the largest factor over its default, or ``default`` when none is
    above its default (the work is the command's own, at its defaults)."""
    name = max(factors, key=factors.__getitem__)
    return name if factors[name] > 1 else default


def require_invert(spec, options) -> None:
    wu, what = invert_wu(spec, options)
    require(wu, what, hint=f"{options.trials:,} trials x {options.iterations:,} "
                           f"iterations on {spec.describe()[:60]}")


def train_wu(generator, method: str, epochs: int, images: int) -> float:
    """Work of ``train-digits``: epochs x images x passes x macs(generator)."""
    return _float(epochs) * images * TRAIN_PASSES[method] * macs(generator)


def explore_wu(check, max_examples: int) -> float:
    """Work of ``explore``: each example is one --quick run of the check."""
    return _float(max_examples) * float(check.cost) * WU_PER_SECOND * QUICK_SHARE


def report_wu(checks, presets, *, draws: int | None, quick: bool,
              power: bool = True) -> float:
    """Work of a report: every check on each of its default presets (``presets(name)``
    gives the Config) and, with ``power``, on its known-bad configurations."""
    total = 0.0
    for c in checks:
        n = c.default_draws(quick) if draws is None or c.draw_rule is None else draws
        configs = [presets(p) for p in c.presets]
        if power:
            configs += [kb.config for kb in c.known_bad]
        for config in configs:
            if config is None:  # a preset that does not resolve: its check's error row
                continue
            total += check_wu(c, config.spec, draws=n, quick=quick,
                              values=_values(c, config))[0]
    return total


def _values(check, config) -> dict[str, Any]:
    try:
        return check.resolve_settings(config)
    except VerifyError:
        return {}


__all__ = ["WU_PER_SECOND", "LAYER_WU", "REF_MACS", "REF_DEPTH", "QUICK_SHARE",
           "TRAIN_PASSES", "DEFAULT_MAX_TIME", "parse_duration", "human_time",
           "set_max_time", "scoped", "max_time", "seconds", "require", "macs", "pass_wu",
           "size_factor", "settings_factor", "check_wu", "require_check", "invert_wu",
           "require_invert", "train_wu", "explore_wu", "report_wu"]
