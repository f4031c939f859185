"""Counterexample search: the smallest configuration on which a lemma's check fails.

:func:`explore` draws configurations (architecture from
:func:`verify.strategies.conv_architectures`, a zero-mean weight law, a mask) that
satisfy the lemma's conditions (its ``requires``), runs the check (``quick=True``) on
each, and lets Hypothesis shrink the first failure to a minimal one: fewest layers,
1-D before 2-D, stride = kernel before overlapping, fewest channels, smallest kernels,
the full mask before partial ones. A final *edge* pass then moves the minimal failure to
the threshold it sits behind: each layer's channel count and the sampling rate are raised
(by bisection) as far as the check still fails, so the result reads "fails at expansion
e, while e + one channel passes" (for a check that is monotone in them). A layer whose
check still fails at ``EDGE_MAX_CHANNELS`` (or 8 times its channels) has no threshold in
range and keeps its minimal channel count; a partial mask that still fails at rate 1
becomes the full mask (the mask plays no part). The search is
deterministic for a seed: Hypothesis runs with ``random = Random(seed)`` and no example
database, every check runs with ``seed``, and evaluations are bounded by count.

A counterexample lies inside the lemma's hypotheses (its registered ``hypotheses``, e.g.
Gaussian weights for Lemma Sup.2): the generic space is restricted to them, and in any
space a failing configuration outside them is not a counterexample. The statements the
check judges carry their own hypotheses too: a failing check result on which none of
them fails (each ``not applicable``, say a 3-layer network for Theorem 1) is outside as
well, with the statements' reasons. It is kept apart
(``ExploreResult.outside``, the smallest one seen, with the reason) and reported as such,
with a status that does not fail: the statement claims nothing there.

The counterexample prints as TOML that ``verify check LEMMA --config FILE.toml --seed S
--quick --draws 1`` accepts and reproduces.

Use in your own test suite
--------------------------
The strategies and the checks are importable, so a six-line pytest file checks a lemma
on your own architecture family (here: stride = kernel, every layer expanding at least
8-fold, at most two layers)::

    from hypothesis import given
    from verify import Config, registry, strategies
    @given(strategies.conv_architectures(strides="kernel", min_expansion=8, max_layers=2))
    def test_concentration_on_my_family(spec):
        assert registry.run_check("concentration", Config("mine", spec), seed=0, quick=True,
                                  draws=1).passed

Run it with ``pytest``; Hypothesis shrinks any failure to a minimal architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from random import Random
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

from .errors import VerifyError, invalid
from .measurements import MaskSpec
from .presets import Config
from .registry import LemmaCheck, get_check, run_check
from .results import CheckResult, jsonable
from .spec import NetworkSpec
from .strategies import conv_architectures, masks, weight_laws

#: Shrinking may evaluate up to this many times ``max_examples`` further configurations.
SHRINK_FACTOR = 4
#: Bisection steps of the edge pass per quantity (channels of one layer, the rate).
EDGE_STEPS = 8
#: The edge pass does not raise a layer's channels beyond this (examples stay cheap).
EDGE_MAX_CHANNELS = 64
#: Resolution of the sampling-rate edge.
RATE_RESOLUTION = 1 / 64
#: Largest ``max_examples``: every example runs a check (a second or so each), so more
#: would run for weeks; larger requests are refused as bad input.
MAX_EXAMPLES = 1_000_000


def search_space(check: LemmaCheck, *, max_layers: int = 3, max_channels: int = 8,
                 max_kernel: int = 4, dims: tuple[int, ...] = (1, 2), max_output: int = 512,
                 zero_mean: bool | None = True, min_expansion: float | None = None
                 ) -> st.SearchStrategy[Config]:
    """Configurations the check applies to: ``conv_architectures`` (theory strides
    first, then any; every layer expanding at least ``min_expansion`` when given),
    weight laws (zero-mean by default, the theorems' assumption), masks; those the
    lemma's ``requires`` rejects, or that lie outside its ``hypotheses``, are filtered
    out."""
    archs = st.sampled_from(("kernel", "any")).flatmap(
        lambda s: conv_architectures(min_layers=1, max_layers=max_layers, max_channels=max_channels,
                                     max_kernel=max_kernel, strides=s, dims=dims,
                                     max_output=max_output, min_expansion=min_expansion))
    configs = st.builds(lambda spec, law, mask: Config("explore", spec, law, mask,
                                                        counterexample=not law.zero_mean),
                        archs, weight_laws(zero_mean=zero_mean), masks())
    if check.requires is not None:
        configs = configs.filter(lambda c: not check.requires(c))
    if check.hypotheses is not None:
        configs = configs.filter(lambda c: not check.outside_hypotheses(c))
    return configs


@dataclass
class ExploreResult:
    """The outcome of a search: the counterexample (if any) and its check result."""

    lemma: str
    seed: int
    found: bool
    counterexample: Config | None
    check: CheckResult | None
    examples_tried: int
    minimal: Config | None = None
    edge_steps: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    #: The smallest failing configuration seen outside the lemma's hypotheses (not a
    #: counterexample), its check result and why it is outside; None when there was none.
    outside: Config | None = None
    outside_check: CheckResult | None = None
    outside_reason: str = ""

    @property
    def status(self) -> str:
        """``counterexample`` (exit 1), ``outside hypotheses only`` (a failure was seen,
        but only where the statement claims nothing: exit 0) or ``none found`` (exit 0)."""
        if self.found:
            return "counterexample"
        return "outside hypotheses only" if self.outside is not None else "none found"

    def toml(self) -> str | None:
        return None if self.counterexample is None else self.counterexample.to_toml()

    def to_json(self) -> dict[str, Any]:
        return jsonable({
            "lemma": self.lemma, "found": self.found, "seed": self.seed,
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
            "toml": self.toml(),
            "check": None if self.check is None else self.check.to_json(),
            "examples_tried": self.examples_tried,
            "minimal": None if self.minimal is None else self.minimal.to_dict(),
            "edge_steps": self.edge_steps,
            "architecture": None if self.counterexample is None
            else self.counterexample.spec.describe(),
            "expansions": None if self.counterexample is None
            else list(self.counterexample.spec.expansions()),
            "status": self.status,
            "failing_criteria": [] if self.check is None else failing_criteria(self.check),
            "outside_hypotheses": None if self.outside is None else {
                "reason": self.outside_reason, "counterexample": False,
                "config": self.outside.to_dict(), "toml": self.outside.to_toml(),
                "architecture": self.outside.spec.describe(),
                "check": None if self.outside_check is None else self.outside_check.to_json(),
                "failing_criteria": [] if self.outside_check is None
                else failing_criteria(self.outside_check)},
        })


def failing_criteria(result: CheckResult) -> list[str]:
    """``name: statistic sense bound`` of each criterion that fails: what made the
    verdict "fails" (the headline's own margin may be positive)."""
    return [f"{c.name}: {c.statistic:.4g} {c.sense} {c.bound:.4g}" for c in result.criteria
            if c.verdict == "fails"]


def _size(config: Config) -> tuple:
    """Smaller first: fewer layers, fewer dimensions, fewer outputs (Hypothesis' order)."""
    s = config.spec
    return (s.depth, s.dims, s.output_dim, sum(s.channels), json.dumps(config.to_dict(),
                                                                       sort_keys=True))


class _Evaluator:
    """Runs the check on a configuration, once per distinct configuration, within a
    budget (beyond it every configuration counts as passing, which ends the shrink)."""

    def __init__(self, lemma: str, seed: int, budget: int, progress):
        self.lemma, self.seed, self.budget, self.progress = lemma, seed, budget, progress
        self.cache: dict[str, CheckResult | None] = {}
        self.runs = 0
        self.check = get_check(lemma)
        #: the smallest failing configuration outside the hypotheses: (config, result, why)
        self.outside: tuple[Config, CheckResult, str] | None = None

    def result(self, config: Config) -> CheckResult | None:
        key = json.dumps(config.to_dict(), sort_keys=True)
        if key in self.cache:
            return self.cache[key]
        if self.runs >= self.budget:
            return None
        self.runs += 1
        try:
            res = run_check(self.lemma, config, seed=self.seed, quick=True, catch=True,
                            draws=1)
        except VerifyError:
            res = None  # the check does not apply (its requires)
        self.cache[key] = res
        if self.progress is not None and res is not None:
            self.progress(f"[{self.runs}] {res.verdict:13s} {config.spec.describe()}, "
                          f"{config.weights.name}, mask {config.mask.kind}@{config.mask.rate:g}")
        return res

    def fails(self, config: Config) -> bool:
        res = self.result(config)
        # a counterexample is a "fails" verdict ("uninformative" tested nothing) inside the
        # lemma's hypotheses: outside them the statement claims nothing
        if res is None or res.verdict != "fails":
            return False
        why = self.check.outside_hypotheses(config) or _statements_outside(res)
        if why:
            if self.outside is None or _size(config) < _size(self.outside[0]):
                self.outside = (config, res, why)
            return False
        return True


def _statements_outside(res: CheckResult) -> str:
    """Why a failing result is no counterexample to any statement the check judges: each
    of them is ``not applicable`` on it (its hypotheses are not met) or does not fail;
    "" when one of them fails."""
    verdicts = getattr(res, "statements", ()) or ()
    if not verdicts or any(v.verdict == "fails" for v in verdicts):
        return ""
    na = [f"{v.statement}: {v.why}" for v in verdicts if v.verdict == "not applicable"]
    return "; ".join(na) if na else "no statement the check judges fails on it"


def explore(lemma: str, *, max_examples: int = 100, seed: int = 0,
            space: st.SearchStrategy[Config] | None = None, edge: bool = True,
            progress: Callable[[str], None] | None = None) -> ExploreResult:
    """Search for the smallest configuration on which ``lemma``'s check fails.

    Parameters
    ----------
    lemma : str
        A registered lemma id.
    max_examples : int
        Configurations generated before giving up (shrinking and the edge pass add
        at most ``SHRINK_FACTOR * max_examples`` and ``EDGE_STEPS`` per quantity).
    seed : int
        Seeds Hypothesis' search and every check run.
    space : strategy of Config, ``"generic"`` or ``"lemma"``, optional
        The search space: ``"generic"`` (default) is :func:`search_space` of the lemma;
        ``"lemma"`` is the lemma's own ``configs()`` (configurations on which it claims
        to pass: a failure there contradicts the check's own claim).
    edge : bool
        Move the minimal failure to its threshold (see the module docstring).
    """
    check = get_check(lemma)
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) \
            or not 1 <= max_examples <= MAX_EXAMPLES:
        raise invalid("max_examples", f"an integer from 1 to {MAX_EXAMPLES:,}", max_examples)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise invalid("seed", "an integer >= 0", seed)
    if space is None or space == "generic":
        space = search_space(check)
    elif space == "lemma":
        if check.configs is None:
            raise invalid("space", f"'generic' (lemma {lemma!r} registers no configs)", space)
        space = check.configs()
    elif isinstance(space, str):
        raise invalid("space", "'generic', 'lemma' or a Hypothesis strategy of Config", space)
    ev = _Evaluator(lemma, seed, max_examples * (1 + SHRINK_FACTOR), progress)

    def condition(config: Config) -> bool:
        return ev.fails(config)

    opts = settings(database=None, max_examples=max_examples, deadline=None,
                    phases=[Phase.generate, Phase.shrink], derandomize=False,
                    suppress_health_check=list(HealthCheck))
    try:
        minimal = find(space, condition, settings=opts, random=Random(seed))
    except NoSuchExample:
        out = ExploreResult(lemma, seed, False, None, None, ev.runs)
        if ev.outside is not None:
            cfg, res, why = ev.outside
            out.outside = replace(cfg, name=f"{lemma}-outside-hypotheses",
                                  description=f"a failure of {lemma!r} OUTSIDE its "
                                              f"hypotheses ({why}): not a counterexample")
            out.outside_check, out.outside_reason = res, why
        return out
    except Unsatisfiable:
        raise VerifyError(f"space: expected a search space holding configurations that "
                          f"lemma {lemma!r} applies to; none generated did (with "
                          "--min-expansion, use a smaller value)") from None
    best, steps = (minimal, 0)
    if edge:
        ev.budget = ev.runs + (EDGE_STEPS + 2) * (minimal.spec.depth + 1)
        best, steps = _edge(minimal, ev)
    result = ev.result(best)
    return ExploreResult(lemma, seed, True, replace(best, name=f"{lemma}-counterexample",
                                                    description=_describe(lemma, best, seed)),
                         result, ev.runs, minimal, steps)


def _describe(lemma: str, config: Config, seed: int) -> str:
    exps = ", ".join(f"{e:.3g}" for e in config.spec.expansions())
    return (f"counterexample to {lemma!r} found by `verify explore` (seed {seed}, quick): "
            f"{config.spec.describe()}; expansions {exps}")


def _with_channels(config: Config, i: int, channels: int) -> Config | None:
    layers = list(config.spec.layers)
    layers[i] = replace(layers[i], channels=channels)
    try:
        spec = NetworkSpec(config.spec.dims, config.spec.latent_channels, tuple(layers),
                           config.spec.latent_size)
    except VerifyError:
        return None
    return config.with_spec(spec)


def _bisect_up(lo: float, hi: float, fails_at: Callable[[float], bool], *, integer: bool,
               resolution: float = 1.0) -> tuple[float, int]:
    """Largest value in [lo, hi] at which ``fails_at`` holds, given it holds at lo
    (bisection: assumes one threshold in between)."""
    steps = 0
    if fails_at(hi):
        return hi, 1
    steps += 1
    while hi - lo > resolution and steps < EDGE_STEPS + 1:
        mid = (lo + hi) // 2 if integer else round((lo + hi) / 2, 6)
        if mid in (lo, hi):
            break
        steps += 1
        if fails_at(mid):
            lo = mid
        else:
            hi = mid
    return lo, steps


def _edge(config: Config, ev: _Evaluator) -> tuple[Config, int]:
    """Raise each layer's channels, then the sampling rate, as far as the check still
    fails (the counterexample's threshold)."""
    steps = 0
    for i in range(config.spec.depth):
        c0 = config.spec.layers[i].channels
        cap = max(c0, min(EDGE_MAX_CHANNELS, 8 * c0))

        def fails_at(c, i=i, base=config):
            cand = _with_channels(base, i, int(c))
            return cand is not None and ev.fails(cand)

        c, n = _bisect_up(c0, cap, fails_at, integer=True)
        steps += n
        if c < cap:  # a threshold lies in range: move to it; otherwise stay minimal
            config = _with_channels(config, i, int(c)) or config
    if config.mask.kind not in ("full",):
        def fails_rate(r, base=config):
            return ev.fails(replace(base, mask=MaskSpec(base.mask.kind, float(r))))

        r, n = _bisect_up(config.mask.rate, 1.0, fails_rate, integer=False,
                          resolution=RATE_RESOLUTION)
        steps += n
        config = replace(config, mask=MaskSpec(config.mask.kind, float(r)))
        if r == 1.0 and ev.fails(replace(config, mask=MaskSpec("full", 1.0))):
            config = replace(config, mask=MaskSpec("full", 1.0))  # the mask plays no part
    return config, steps


__all__ = ["explore", "search_space", "ExploreResult", "MAX_EXAMPLES", "failing_criteria"]
