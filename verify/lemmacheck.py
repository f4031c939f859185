"""A registered check: :class:`LemmaCheck`, the record :mod:`verify.registry` keeps for
each lemma id (its check function, presets and expectations, draw rule, known-bad
configurations, settings, hypotheses and declared criteria). Kept apart from the
registry's running code; ``verify.registry.LemmaCheck`` is the same class."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from . import findings as _findings
from . import settings as _settings
from .errors import invalid
from .findings import KnownFinding
from .presets import Config
from .results import CheckResult, Outcome
from .settings import Setting
from .verdicts import DrawRule, KnownBad

CheckFn = Callable[..., Outcome]  # fn(instance, *, rng, quick[, reruns]) -> Outcome


@dataclass(frozen=True)
class LemmaCheck:
    """A registered check of one statement of the proof.

    Parameters
    ----------
    id : str
        The lemma id of verify/cli/README.md (``permutation``, ``concentration``, ...).
    statement : str
        The statement in one line.
    reference : str
        Where it stands in the paper ("Lemma Sup.2", "Theorem 1", "Fig. 2").
    run : callable
        The module's ``check(instance, *, rng, quick) -> Outcome`` (with ``reruns=`` too
        when the check declares ``reruns``).
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
        Position in the proof's outline (reports list checks in this order): the index
        of the module in ``lemmas.PROOF``, after them the other modules in registration
        order. Set by the registry.
    configs : callable or None
        ``configs() -> SearchStrategy[Config]``: configurations that satisfy the
        lemma's hypotheses, on which its check must pass (the common property test).
    counter_configs : callable or None
        ``counter_configs() -> SearchStrategy[Config]``: configurations that break a
        hypothesis far enough that the check must fail.
    expect : callable or None
        ``expect(config) -> "pass" | "fail"``: the expectation, stated from the lemma's
        hypotheses, for configurations outside ``presets`` (default: "fail" exactly on
        counter-example configurations when ``detects_counterexample``).
    findings : tuple of KnownFinding
        Mismatches of this check that have been examined (:mod:`verify.findings`):
        the report and ``verify check`` exit 0 on them, and 1 when one no longer
        reproduces where it is registered to.
    cost : float
        CPU seconds of one run on the check's costliest default preset: one network draw
        for a check with a ``draw_rule``, the whole check otherwise (calibrated from the
        reference report's times). A scheduling hint (longest first) and the base of the
        time estimate (:mod:`verify.work`), not a limit.
    module : str
        The module that registered the check (``lemmas.angle``).
    reruns : tuple of str
        Other checks whose results this check receives (:class:`Reruns`).
    draw_rule : DrawRule or None
        For a statement that holds with high probability over the weights: how it is
        judged over independent network draws (:mod:`verify.verdicts`). None: one draw
        decides (exact identities, fixed trained weights).
    known_bad : tuple of KnownBad
        Configurations that violate the statement's hypotheses, which the check must
        reject (the power table).
    settings : dict
        The parameters a config file may set in its ``[checks.<id>]`` table, name ->
        :class:`~verify.settings.Setting` (validator, default, description). A check
        that declares any receives their values as ``settings=`` (a dict, defaults
        filled in); the result's ``config`` lists them under ``settings``.
    judged : str
        How the verdict is reached, when the check runs its own network draws instead of
        a ``draw_rule`` (``verify list`` shows it; empty: from ``draw_rule``).
    hypotheses : callable or None
        ``hypotheses(config) -> reason or None``: why ``config`` lies outside the
        statement's hypotheses (e.g. a weight law the lemma does not assume), None when
        inside. The check still runs there; ``verify explore`` counts a failure as a
        counterexample only inside them (None: every configuration is inside).
    criteria : tuple of str
        The names of the criteria the check evaluates on every configuration (its
        statement's parts). A declared criterion missing from an outcome, or marked
        untested, was not evaluated: the registry adds it as an untested criterion
        (:func:`verify.results.with_declared`), so the verdict is "uninformative", never
        "holds" (a "fails" elsewhere still fails).
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
    configs: Callable[[], Any] | None = field(default=None, compare=False)
    counter_configs: Callable[[], Any] | None = field(default=None, compare=False)
    expect: Callable[[Config], str] | None = field(default=None, compare=False)
    findings: tuple[KnownFinding, ...] = field(default=(), compare=False)
    cost: float = field(default=1.0, compare=False)
    module: str = ""
    reruns: tuple[str, ...] = ()
    draw_rule: DrawRule | None = field(default=None, compare=False)
    known_bad: tuple[KnownBad, ...] = field(default=(), compare=False)
    settings: dict[str, Setting] = field(default_factory=dict, compare=False)
    judged: str = ""
    hypotheses: Callable[[Config], str | None] | None = field(default=None, compare=False)
    criteria: tuple[str, ...] = ()

    def outside_hypotheses(self, config: Config) -> str:
        """Why ``config`` lies outside the statement's hypotheses ("" when inside)."""
        return "" if self.hypotheses is None else str(self.hypotheses(config) or "")

    def resolve_settings(self, config: Config) -> dict[str, Any]:
        """This check's settings on ``config``: its ``[checks.<id>]`` table validated,
        defaults filled in (VerifyError naming ``checks.<id>.<key>``)."""
        return _settings.resolve(self.id, self.settings, config.checks.get(self.id))

    def finding_on(self, preset: str, network: dict | None, seed: int,
                   quick: bool, draws: int = 1) -> KnownFinding | None:
        """The registered finding covering a run on ``preset`` (None if there is none)."""
        return _findings.finding_for(self.findings, self.id, preset, network, seed, quick,
                                     draws)

    def default_draws(self, quick: bool = False) -> int:
        """The most network draws a verdict rests on by default (1 without a rule); with
        ``quick`` the sequential rule's smaller maximum, :meth:`DrawRule.quick_draws`."""
        if self.draw_rule is None:
            return 1
        return self.draw_rule.quick_draws() if quick else self.draw_rule.draws

    def expected_on(self, config: Config) -> Literal["pass", "fail"]:
        if config.name in self.presets:
            return self.presets[config.name]  # type: ignore[return-value]
        if self.expect is not None:
            verdict = self.expect(config)
            if verdict not in ("pass", "fail"):
                raise invalid(f"{self.id}.expect(config)", "'pass' or 'fail'", verdict)
            return verdict  # type: ignore[return-value]
        return "fail" if (config.counterexample and self.detects_counterexample) else "pass"


__all__ = ["LemmaCheck", "CheckFn"]
