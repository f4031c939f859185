"""The group-sequential draw rule (verify/verdicts.py, verify/registry.py): draws stop at
fixed looks only when every statement is already decided to fail; its error rates are
those of the fixed-N test or better, computed exactly; holding statements cost what
they did."""

from __future__ import annotations

import pytest

from verify.registry import Registry
from verify.results import Criterion, Outcome
from verify.statements import Judge
from verify.verdicts import DrawRule, operating_characteristics

RULE = DrawRule(tolerance=0.1, reason="test", draws=40)


@pytest.mark.parametrize("p", [0.05, 0.1])
def test_saying_fails_when_the_rate_is_at_most_tau_is_rare(p):
    oc = operating_characteristics(RULE, p)
    assert oc["fails"] <= RULE.alpha  # alpha / 2 early + alpha / 2 at the end


@pytest.mark.parametrize("p", [0.15, 0.2])
def test_saying_holds_when_the_rate_is_above_tau_is_as_rare_as_with_fixed_n(p):
    seq = operating_characteristics(RULE, p)
    fixed = operating_characteristics(DrawRule(tolerance=0.1, reason="test", draws=40,
                                               looks=()), p)
    assert seq["holds"] <= fixed["holds"] + 1e-12
    assert seq["holds"] <= RULE.alpha / 2


def test_a_statement_failing_on_every_draw_stops_at_the_first_look():
    oc = operating_characteristics(RULE, 1.0)
    assert oc["fails"] == pytest.approx(1.0) and oc["expected_draws"] == pytest.approx(4)
    clean = operating_characteristics(RULE, 0.0)  # holds: every draw runs
    assert clean["holds"] == pytest.approx(1.0) and clean["expected_draws"] == 40


def test_the_probabilities_add_up():
    for p in (0.0, 0.03, 0.1, 0.3, 1.0):
        oc = operating_characteristics(RULE, p)
        assert oc["fails"] + oc["holds"] + oc["uninformative"] == pytest.approx(1.0)


def _always_fails(instance, *, rng, quick):
    return Outcome(headline=Criterion("bad", 1.0, 0.0, "<="),
                   criteria=(Criterion("good", 0.0, 1.0, "<="),), n_samples=1)


def _registry(judged_good: bool):
    reg = Registry()
    reg.register("always", statement="fixture", reference="fixture",
                 presets={"theory-2layer": "fail"}, check=_always_fails,
                 draws=DrawRule(tolerance=0.1, reason="fixture", draws=40))
    reg.register_statement("bad-one", label="x", section="x", quote="x",
                           judges=Judge("always", ("bad",)))
    if judged_good:
        reg.register_statement("good-one", label="y", section="y", quote="y",
                               judges=Judge("always", ("good",),
                                            expect={"theory-2layer": "holds"}))
    return reg


def test_the_runner_stops_when_every_statement_has_failed():
    res = _registry(False).run_check("always", "theory-2layer", seed=0, draws=40)
    assert res.draws == 4 and res.draw_summary["draws_max"] == 40
    assert "stopped after 4 of at most 40" in res.draw_summary["sequential"]
    (v,) = res.statements
    assert v.verdict == "fails" and v.draws["draws_tested"] == 4


def test_a_statement_that_holds_keeps_every_draw():
    res = _registry(True).run_check("always", "theory-2layer", seed=0, draws=40)
    assert res.draws == 40
    by = {v.statement: v.verdict for v in res.statements}
    assert by == {"bad-one": "fails", "good-one": "holds"}


def test_quick_runs_the_fewest_draws_that_can_still_hold():
    """--quick without --draws: the maximum is the fewest draws whose zero-failure
    interval clears tau (36 at tau = 0.1, alpha = 0.05), and holds is still reached."""
    rule = DrawRule(tolerance=0.1, reason="fixture", draws=40)
    n = rule.quick_draws()
    assert n == rule.draws_needed() < 40
    assert rule.best_upper(n) < 0.1 <= rule.best_upper(n - 1)
    res = _registry(True).run_check("always", "theory-2layer", seed=0, quick=True)
    assert res.draws == n and res.draw_summary["draws_max"] == n
    by = {v.statement: v.verdict for v in res.statements}
    assert by == {"bad-one": "fails", "good-one": "holds"}
    assert _registry(True).run_check("always", "theory-2layer", seed=0).draws == 40
    assert DrawRule(tolerance=0.5, reason="fixture", draws=6).quick_draws() <= 6
