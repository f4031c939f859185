"""The statements judged by the trained-generator checks (fig3 by trained-weights, fig5
by trained-recovery; fig6 not judged): each verdict comes from its own criteria, a
beyond-the-paper criterion never changes it, the hypotheses name the shipped
generators, and the quotes are the paper's (as lemmas.STATEMENTS gives them)."""

from __future__ import annotations

from lemmas import STATEMENTS
from verify.registry import get_statement, run_check
from verify.results import Criterion, Outcome
from verify.statements import judge_outcome

ZERO_MEAN = "max |mean| / max(4 SE, 0.1 sd) over layers"
KURTOSIS = "max |excess kurtosis| over layers"
SKEWNESS = "max |skewness| over layers"
HEADLINE = "min over masks of the Wilson lower bound of success with restarts"


def _quotes():
    return {label: q for label, _w, q, _c in STATEMENTS}


def test_quotes_are_the_papers_and_hypotheses_name_the_generators():
    q = _quotes()
    assert get_statement("fig3").quote == q["Fig. 3"]
    assert get_statement("fig5").quote == q["Fig. 5"] == get_statement("fig6").quote
    for sid in ("fig3", "fig5"):
        h = get_statement(sid).hypotheses
        assert "digits-glo" in h and "digits-gan" in h and "not the paper's MNIST" in h
        assert "scikit-learn's 8x8 digits upsampled to 32x32" in h
    assert get_statement("fig6").judges == () and "CelebA" in get_statement("fig6").not_judged


def weights_outcome(mean=0.5, kurt=0.5, skew=0.1, ad_p=0.5):
    return Outcome(headline=Criterion(KURTOSIS, kurt, 1.0, "<=", ceiling=1e4),
                   criteria=(Criterion(SKEWNESS, skew, 0.5, "<=", ceiling=100.0),
                             Criterion(ZERO_MEAN, mean, 1.0, "<=")),
                   n_samples=1, details={"ad_min_pvalue": ad_p, "weights_total": 1000})


def test_fig3_is_judged_by_mean_and_shape_and_exact_normality_is_beyond():
    crit = get_statement("fig3").judges[0].criteria
    (beyond,) = get_statement("fig3").beyond
    assert judge_outcome(crit, weights_outcome())[0] == "holds"
    for bad in ({"mean": 5.2}, {"kurt": 1.8}, {"skew": 0.7}):
        assert judge_outcome(crit, weights_outcome(**bad))[0] == "fails"
    out = weights_outcome(ad_p=1e-20)  # exact normality rejected: the statement still holds
    assert judge_outcome(beyond.criteria, out)[0] == "fails"
    assert judge_outcome(crit, out)[0] == "holds"


def test_fig3_on_digits_glo_reads_its_headline_from_the_deciding_criterion():
    r = run_check("trained-weights", "digits-glo", seed=0, draws=1)
    (v,) = [v for v in r.statements if v.statement == "fig3"]
    assert v.verdict == "fails" and v.headline.name == ZERO_MEAN and v.margin < 0
    assert v.status == "known finding"  # lemmas/findings/fig3.toml, evidence within
    r = run_check("trained-weights", "paper-fig4", seed=0, draws=1)
    (v,) = [v for v in r.statements if v.statement == "fig3"]
    assert v.verdict == "holds" and v.expected == "holds"


def recovery_outcome(restarts=(9, 10), per_start=(1, 10)):
    """A trained-recovery outcome for one mask with the check's names."""
    from verify.stats import wilson_interval

    k, n = restarts
    lo, hi = wilson_interval(k, n)
    ks, ns = per_start
    slo, shi = wilson_interval(ks, ns)
    c = Criterion("success with restarts, top 0.5", lo if hi >= 0.5 else hi, 0.5, ">=",
                  ceiling=0.0, untested="" if lo >= 0.5 or hi < 0.5 else "straddles")
    row = {"mask": "top", "rate": 0.5, "judged": True, "trials": ns,
           "per_start_recovered": ks, "per_start_ci_low": slo, "per_start_ci_high": shi}
    return Outcome(headline=Criterion(HEADLINE, c.statistic, 0.5, ">=", ceiling=0.0,
                                      untested=c.untested),
                   criteria=(c,), n_samples=n, details={"per_mask": [row]})


def test_fig5_is_judged_with_restarts_and_per_start_is_beyond():
    crit = get_statement("fig5").judges[0].criteria
    (beyond,) = get_statement("fig5").beyond
    out = recovery_outcome((20, 20), (0, 20))
    assert judge_outcome(crit, out)[0] == "holds"
    assert judge_outcome(beyond.criteria, out)[0] == "fails"  # never the verdict
    assert judge_outcome(crit, recovery_outcome((1, 10), (0, 10)))[0] == "fails"
    assert judge_outcome(crit, recovery_outcome((6, 10), (0, 10)))[0] == "uninformative"
