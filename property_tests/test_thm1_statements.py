"""The statements judged by the descent, expansion and symbolic checks (lemmas/
thm1_descent.py, sec42_depth.py, thm1_expansion.py, closed_forms.py): each verdict is
computed from the statement's own criteria, a beyond-the-paper criterion never changes
it, the hypotheses decide applicability, and the quotes are registered as written."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lemmas import descent as D
from verify import formulas as F
from verify.geometry.descent import EPS_BALL
from verify.presets import get_preset
from verify.registry import get_statement, run_check
from verify.results import Criterion, Outcome
from verify.statements import judge_outcome

NAMES = ("eps_hat", "min_rate_outside_balls", "worst_kink_dd", "min_kappa_w",
         "gradient_self_check", "kink_fd_discrepancy", "dwj0_identity_gap")


def _descent_outcome(full_eps: float, mask_eps: float, *, exact: bool = True) -> Outcome:
    """A descent outcome whose criteria (over both measurements) carry the worse of
    the two eps_hat, and whose details carry each measurement's own."""
    rows = [{"measurement": m, "eps_hat": e, "min_rate_outside_balls": 0.05,
             "worst_kink_dd": -0.1, "min_kappa_w": 0.2,
             **({"origin_not_local_maximum": 0.0} if exact else {})}
            for m, e in (("full", full_eps), ("random r=0.5", mask_eps))]
    crit = [Criterion("min_rate_outside_balls", 0.05, 1e-3, ">=", ceiling=0.0),
            Criterion("worst_kink_dd", -0.1, -1e-3, "<=", ceiling=math.inf),
            Criterion("min_kappa_w", 0.2, 1e-12, ">=", ceiling=0.0),
            Criterion("gradient_self_check", 1e-15, 1e-9, "<="),
            Criterion("kink_fd_discrepancy", 1e-8, 1e-4, "<="),
            Criterion("dwj0_identity_gap", 0.0, 0.0, "==")]
    if exact:
        crit.append(Criterion("origin_not_local_maximum", 0.0, 0.0, "<=", ceiling=1.0))
    return Outcome(headline=Criterion("eps_hat", max(full_eps, mask_eps), EPS_BALL, "<=",
                                      ceiling=math.inf),
                   criteria=tuple(crit), details={"by_measurement": rows})


def _judge(statement_id: str, check: str):
    return next(j for j in get_statement(statement_id).judges if j.check == check)


# ------------------------------------------------------------------ quotes
def test_statements_register_the_exact_quotes():
    assert get_statement("thm1").quote == (
        "For all nonzero z and z*, there exists v_{z,z*} ∈ ℝ^{n₀} such that "
        "D_{v_{z,z*}} J(z) < 0, ∀z ∉ B(z*, ε‖z*‖₂) ∪ B(−ρz*, ε‖z*‖₂) ∪ {0}, "
        "D_z J(0) < 0, ∀z ≠ 0")
    assert get_statement("thm1-probability").quote == (
        "If C₁ℓ ≳ C₀ log C₀ and C₂ℓ ≳ C₁ log C₁ then with probability at least "
        "1 − κ(D₁C₁e^{−γC₀} + D₂C₂e^{−γC₁}) we have the following.")
    assert get_statement("sec42-depth").quote == (
        "the same conclusion empirically extends to networks with more layers and "
        "different kernel sizes and strides.")
    closed = get_statement("closed-forms")
    assert closed.quote == "where ρ is a positive constant."
    assert closed.hypotheses.startswith("not a sentence of the paper")
    assert closed.label == "Proof formulas (Hand & Voroninski)"


def test_statements_name_their_checks():
    assert get_statement("thm1").checks == ("descent",)
    assert get_statement("thm1-probability").checks == ("expansion",)
    assert get_statement("closed-forms").checks == ("symbolic",)
    assert get_statement("sec42-depth").checks == ("descent", "landscape")


# ------------------------------------------------------------------ thm1
def test_thm1_is_judged_on_a_equal_identity_alone():
    """Theorem 1 is for A = I: a stationary point outside the balls under the check's
    subsampling alone does not make it fail; one under A = I does."""
    j = _judge("thm1", "descent")
    v, crits, _ = judge_outcome(j.criteria, _descent_outcome(0.1, 0.4))
    assert v == "holds" and {c.name for c in crits} >= set(NAMES)
    assert {c.name: c.statistic for c in crits}["eps_hat"] == 0.1
    v, crits, _ = judge_outcome(j.criteria, _descent_outcome(0.3, 0.1))
    assert v == "fails" and [c.name for c in crits if c.verdict == "fails"] == ["eps_hat"]
    # sec42-depth extends Theorem 1 and Theorem 4 together: every measurement counts
    s = _judge("sec42-depth", "descent")
    assert judge_outcome(s.criteria, _descent_outcome(0.1, 0.4))[0] == "fails"


def test_missing_criterion_never_holds():
    """A criterion of Theorem 1's conclusion the outcome does not carry makes the draw
    uninformative; origin_not_local_maximum is required only where it is computed."""
    j = _judge("thm1", "descent")
    out = _descent_outcome(0.1, 0.1, exact=False)
    assert judge_outcome(j.criteria, out)[0] == "holds"
    lean = Outcome(headline=out.headline, criteria=out.criteria[1:], details=out.details)
    v, _, _ = judge_outcome(j.criteria, lean)  # worst_kink_dd ... minus the first
    assert v == "uninformative"
    no_rows = Outcome(headline=out.headline, criteria=out.criteria, details={})
    assert judge_outcome(j.criteria, no_rows)[0] == "uninformative"


@pytest.mark.parametrize("preset, why", [
    ("theory-2layer", None), ("theory-2layer-2d", None),
    ("paper-fig4", "stride"), ("theory-3layer", "3 layers"), ("theory-4layer", "4 layers"),
    ("theory-3layer-overlap", "stride"), ("paper-fig4-uniform01", "uniform01")])
def test_thm1_hypotheses(preset, why):
    reason = _judge("thm1", "descent").applies(get_preset(preset))
    assert (reason is None) if why is None else (why in reason), reason


@pytest.mark.parametrize("preset, applies", [
    ("theory-2layer", False), ("paper-fig4", True), ("theory-3layer", True),
    ("theory-4layer", True), ("theory-3layer-overlap", True),
    ("paper-fig4-uniform01", False)])
def test_sec42_hypotheses(preset, applies):
    assert (_judge("sec42-depth", "descent").applies(get_preset(preset)) is None) == applies


@pytest.mark.slow  # two draws of the whole quick check
def test_thm1_run_on_theory_2layer():
    """A real quick run over two draws: thm1's criteria are the A = I row of the
    check's details on draw 0, and its verdict is its own (sec42-depth does not judge
    this preset: it is Theorem 1's own case)."""
    r = run_check("descent", "theory-2layer", seed=0, quick=True, draws=2)
    v = {x.statement: x for x in r.statements}
    assert "sec42-depth" not in v
    t = v["thm1"]
    assert t.draws["draws"] == 2 and t.draws["draws_failed"] == 0
    full = r.details["by_measurement"][0]
    assert full["measurement"] == "full"
    crit = {c.name: c for c in t.criteria}
    assert set(NAMES) <= set(crit)
    for name in ("eps_hat", "min_kappa_w", "worst_kink_dd"):
        assert crit[name].statistic == pytest.approx(full[name], nan_ok=True)
    od = r.details["over_draws"]
    assert od["eps_ball"] == EPS_BALL and len(od["eps_hat_per_draw"]) == 2
    assert od["eps_hat_draws_above_eps"] == 0


# ------------------------------------------------------------------ sec42-depth
def test_over_draws_summary_carries_eps():
    draws = pd.DataFrame({"eps_hat": [0.1, 0.3, 0.5, np.nan],
                          "eps_hat_rho_fitted": [0.1, 0.2, 0.4, 0.2]})
    od = D.DRAWS.summarise(draws, {})
    assert od["eps_ball"] == EPS_BALL
    assert od["eps_hat_median"] == pytest.approx(0.3)
    assert od["eps_hat_draws_above_eps"] == 2
    assert od["eps_hat_rho_fitted_draws_above_eps"] == 1


def _landscape_outcome(eps: float | None, local_minima: float) -> Outcome:
    details = {} if eps is None else {"per_draw": {"certified_eps_hat": eps}}
    return Outcome(headline=Criterion("local_minima", local_minima, 1.0, "<=", ceiling=99.0),
                   criteria=(Criterion("gd_only_to_z_star", 0.5, 0.0, "<=", ceiling=1.0),),
                   details=details)


def test_sec42_landscape_judge_and_beyond():
    """The landscape judge reads the certified eps_hat against eps; the beyond criteria
    (another local minimum, descent not ending at z*) have their own verdicts and never
    change the statement's."""
    st = get_statement("sec42-depth")
    j = _judge("sec42-depth", "landscape")
    assert judge_outcome(j.criteria, _landscape_outcome(0.2, 5.0))[0] == "holds"
    assert judge_outcome(j.criteria, _landscape_outcome(0.3, 1.0))[0] == "fails"
    assert judge_outcome(j.criteria, _landscape_outcome(None, 1.0))[0] == "uninformative"
    beyond = [b for b in st.beyond if b.check == "landscape"]
    assert {tuple(b.criteria) for b in beyond} == {("local_minima",), ("gd_only_to_z_star",)}
    for b in beyond:
        assert judge_outcome(b.criteria, _landscape_outcome(0.2, 5.0))[0] == "fails"


def test_sec42_single_draw_is_a_known_finding():
    r = run_check("descent", "theory-3layer", seed=1, quick=True, draws=1)
    v = {x.statement: x for x in r.statements}["sec42-depth"]
    assert v.verdict == "fails" and v.status == "known finding" and r.accepted
    assert v.headline.statistic > EPS_BALL and "eps = 0.25" in v.criteria[0].note


# ------------------------------------------------------------------ thm1-probability
def test_thm1_probability_from_its_criteria():
    j = _judge("thm1-probability", "expansion")
    assert tuple(j.criteria) == ("top_failure_rate", "rate_does_not_rise")
    ok = Outcome(headline=Criterion("top_failure_rate", 0.01, 0.1, "<="),
                 criteria=(Criterion("rate_does_not_rise", 0.01, 0.5, "<="),))
    rises = Outcome(headline=ok.headline,
                    criteria=(Criterion("rate_does_not_rise", 0.6, 0.5, "<="),))
    assert judge_outcome(j.criteria, ok)[0] == "holds"
    assert judge_outcome(j.criteria, rises)[0] == "fails"
    assert j.applies(get_preset("theory-2layer-latent2")) is None
    assert "uniform01" in j.applies(get_preset("paper-fig4-uniform01"))


@pytest.mark.slow  # a whole quick check of a heavy statement
def test_thm1_probability_quick_run_is_its_finding():
    r = run_check("expansion", "theory-2layer-latent2", seed=0, quick=True)
    v = {x.statement: x for x in r.statements}["thm1-probability"]
    assert v.verdict == "fails" and v.status == "known finding" and r.accepted
    assert [c.name for c in v.criteria] == ["top_failure_rate", "rate_does_not_rise"]


# ------------------------------------------------------------------ closed-forms
def test_closed_forms_hold_and_fail_with_a_wrong_rho(monkeypatch):
    r = run_check("symbolic", "theory-2layer", seed=0, quick=True, draws=1)
    v = {x.statement: x for x in r.statements}["closed-forms"]
    assert v.verdict == "holds" and [c.name for c in v.criteria] == ["identities that failed"]
    original = F.rho
    monkeypatch.setattr(F, "rho", lambda d: 1.01 * original(d))
    r = run_check("symbolic", "theory-2layer", seed=0, quick=True, draws=1)
    v = {x.statement: x for x in r.statements}["closed-forms"]
    assert v.verdict == "fails"
