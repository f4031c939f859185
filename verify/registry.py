"""The registry of lemma checks and the runner that turns an Outcome into a result.

A lemma module registers its check with :func:`register`; :func:`discover` imports
every module of the ``lemmas`` package, so a new lemma joins the command line, the
report and the common property test by registering (scikit-learn's
``parametrize_with_checks`` is the model). The engine knows no lemma by name.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np

from . import __version__, budget, findings as _findings
from .errors import VerifyError, invalid
from .findings import KnownFinding
from .presets import Config, Instance, get_preset
from .results import CheckResult, Outcome
from .rng import Streams

CheckFn = Callable[..., Outcome]  # fn(instance, *, rng, quick) -> Outcome


@dataclass(frozen=True)
class LemmaCheck:
    """A registered check of one statement of the proof.

    Parameters
    ----------
    id : str
        The lemma id of CLI.md (``permutation``, ``concentration``, ...).
    statement : str
        The statement in one line.
    reference : str
        Where it stands in the paper ("Lemma Sup.2", "Theorem 1", "Fig. 2").
    run : callable
        ``run(instance, *, rng, quick) -> Outcome``.
    presets : dict
        Default presets -> expected verdict ("pass" or "fail").
    detects_counterexample : bool
        Whether this check is expected to fail on counter-example configurations
        (non-zero-mean weights) outside its default presets.
    requires : callable or None
        ``requires(config) -> reason or None``: why the check does not apply.
    figures : tuple of callables
        ``figure(result) -> matplotlib Figure``, drawn from the result's tables.
    order : int
        Position in the proof's outline (reports list checks in this order).
    strategy : callable or None
        ``strategy() -> SearchStrategy[Config]``: configurations that satisfy the
        lemma's conditions, on which its check must pass (the common property test).
    counter_strategy : callable or None
        ``counter_strategy() -> SearchStrategy[Config]``: configurations that break a
        condition far enough that the check must fail.
    expect : callable or None
        ``expect(config) -> "pass" | "fail"``: the expectation, stated from the lemma's
        hypotheses, for configurations outside ``presets`` (default: "fail" exactly on
        counter-example configurations when ``detects_counterexample``).
    findings : tuple of KnownFinding
        Mismatches of this check that have been examined (:mod:`verify.findings`):
        the report and ``verify check`` exit 0 on them, and 1 when one no longer
        reproduces where it is registered to.
    """

    id: str
    statement: str
    reference: str
    run: CheckFn
    presets: dict[str, str]
    detects_counterexample: bool = True
    requires: Callable[[Config], str | None] | None = None
    figures: tuple[Callable[[CheckResult], Any], ...] = ()
    order: int = 100
    strategy: Callable[[], Any] | None = field(default=None, compare=False)
    counter_strategy: Callable[[], Any] | None = field(default=None, compare=False)
    expect: Callable[[Config], str] | None = field(default=None, compare=False)
    findings: tuple[KnownFinding, ...] = field(default=(), compare=False)

    def finding_on(self, preset: str, network: dict | None, seed: int,
                   quick: bool) -> KnownFinding | None:
        """The registered finding covering a run on ``preset`` (None if there is none)."""
        return _findings.finding_for(self.findings, self.id, preset, network, seed, quick)

    def expected_on(self, config: Config) -> Literal["pass", "fail"]:
        if config.name in self.presets:
            return self.presets[config.name]  # type: ignore[return-value]
        if self.expect is not None:
            verdict = self.expect(config)
            if verdict not in ("pass", "fail"):
                raise invalid(f"{self.id}.expect(config)", "'pass' or 'fail'", verdict)
            return verdict  # type: ignore[return-value]
        return "fail" if (config.counterexample and self.detects_counterexample) else "pass"


_REGISTRY: dict[str, LemmaCheck] = {}


def register(id: str, *, statement: str, reference: str, presets: dict[str, str],
             detects_counterexample: bool = True, requires=None, figures=(), order: int = 100,
             strategy=None, counter_strategy=None, expect=None, findings=()):
    """Decorator: register ``fn(instance, *, rng, quick) -> Outcome`` as lemma ``id``.

    ``findings``: the :class:`~verify.findings.KnownFinding` records of this check."""
    for name, exp in presets.items():
        if exp not in ("pass", "fail"):
            raise invalid(f"presets[{name!r}]", "'pass' or 'fail'", exp)
    records = _findings.validate(id, findings)

    def deco(fn: CheckFn) -> CheckFn:
        _REGISTRY[id] = LemmaCheck(id, statement, reference, fn, dict(presets),
                                   detects_counterexample, requires, tuple(figures), order,
                                   strategy, counter_strategy, expect, records)
        return fn

    return deco


_DISCOVERED = False


def discover() -> dict[str, LemmaCheck]:
    """Import every module of the ``lemmas`` package; return the registry in proof order."""
    global _DISCOVERED
    if not _DISCOVERED:
        import lemmas

        for info in sorted(pkgutil.iter_modules(lemmas.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"lemmas.{info.name}")
        _DISCOVERED = True
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def get_check(lemma: str) -> LemmaCheck:
    checks = discover()
    if lemma not in checks:
        raise invalid("lemma", "one of " + ", ".join(checks) if checks else "a registered lemma",
                      lemma)
    return checks[lemma]


#: Samples a check pushes through its network at once, for the memory estimate made
#: before it runs (:func:`require_memory`): the checks batch a few hundred to a few
#: thousand samples (pairs, starts, grid points in chunks). Coarse on purpose: it decides
#: "would this fit at all", not how fast it runs.
CHECK_BATCH = 1024


def require_memory(config: Config, batch: int = CHECK_BATCH) -> None:
    """Refuse (VerifyError, exit 2) a configuration whose network would not fit in the
    memory budget (:mod:`verify.budget`), naming the field responsible and the estimate;
    from the spec's integers alone, before anything is allocated."""
    budget.require(budget.network_bytes(config.spec, batch), budget.blame(config.spec),
                   hint=f"estimated from the spec for a batch of {batch} samples")


def run_check(lemma: str, config: Config | str | None = None, *, seed: "int | Streams" = 0,
              quick: bool = False, catch: bool = False) -> CheckResult:
    """Run one lemma's check on a configuration and freeze its result.

    ``config`` is a Config, a preset name, or None for the lemma's first default
    preset. ``seed`` is an integer seed or :class:`~verify.rng.Streams` (a sweep's
    task): the network and mask come from its ``weights`` and ``mask`` streams, the
    check draws from its ``check`` stream. With ``catch=True`` a check that raises
    gives an error result (the report's error row) instead of propagating.
    """
    check = get_check(lemma)
    if config is None:
        config = next(iter(check.presets))
    if isinstance(config, str):
        config = get_preset(config)
    if check.requires is not None:
        reason = check.requires(config)
        if reason:
            raise VerifyError(f"lemma {lemma!r} does not apply to {config.name!r}: {reason}")
    streams = Streams.of(seed)
    seed_id = streams.seed if streams.seed is not None else str(streams)
    expected = check.expected_on(config)
    base_config = {"preset": config.name, **config.to_dict()}
    finding = check.finding_on(config.name, base_config.get("network"), seed_id, quick)
    start = time.perf_counter()
    try:
        instance: Instance = config.instantiate(streams)
        outcome = check.run(instance, rng=streams.check(), quick=quick)
    except VerifyError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported, not hidden
        if not catch:
            raise
        return CheckResult.from_error(check, config.name, seed_id, quick, exc,
                                      time.perf_counter() - start, config=base_config,
                                      expected=expected, finding=finding)
    elapsed = time.perf_counter() - start
    h = outcome.headline
    criteria = (h,) + tuple(outcome.criteria)
    return CheckResult(
        lemma=lemma, preset=config.name, seed=seed_id, passed=outcome.passed,
        expected=expected, statistic=float(h.statistic), bound=float(h.bound),
        margin=float(h.margin), config={**base_config, "check": outcome.settings, "quick": quick},
        details=outcome.details, elapsed_s=elapsed, version=__version__,
        statement=check.statement, reference=check.reference, sense=h.sense,
        n_samples=int(outcome.n_samples), criteria=criteria, table=outcome.table,
        tables=dict(outcome.tables), quick=quick, finding=finding)


__all__ = ["LemmaCheck", "KnownFinding", "register", "discover", "get_check", "run_check",
           "require_memory", "CHECK_BATCH"]
