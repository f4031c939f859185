"""The statements judged by the partial check (thm4, sec3-rate, sec3-phase,
sec43-iterations): each verdict comes from its own criteria, a beyond-the-paper
criterion never changes it, the hypotheses say not applicable where they fail, and the
quotes are the paper's (as lemmas.STATEMENTS gives them)."""

from __future__ import annotations

import math

from lemmas import STATEMENTS
from verify.presets import get_preset
from verify.registry import get_statement
from verify.results import Criterion, Outcome
from verify.statements import judge_outcome

SUCCESS = "success lower bound [{}]"
HEAD = "min success lower bound over patterns"
DISPERSED = ("dispersed sampling needs a lower r: max over contiguous of r50_low(random) - "
             "r50_high(kind)")
MONOTONE = "monotone rise: largest significant drop of success with r"
ITERATIONS = "Adam lr 0.1 reaches z* within 500 iterations (share)"
BLOCK = "rows per observed block of A W_d >= 2 C_{d-1} [random masks]"


def _fit(kind, censored=""):
    return {"kind": kind, "r50": 0.03, "r50_low": 0.02, "r50_high": 0.04,
            "censored": censored}


def outcome(*, top=0.9, dispersed=-0.1, drop=-0.1, block=2.0, iterations=0.9,
            censored="", adversarial=(0.9, 1.0)):
    """A partial outcome with the check's criterion names and chosen statistics."""
    crit = [Criterion(SUCCESS.format("random"), 0.9, 0.75, ">=", ceiling=0.0),
            Criterion(SUCCESS.format("top"), top, 0.75, ">=", ceiling=0.0),
            Criterion(MONOTONE, drop, 0.0, "<="),
            Criterion(DISPERSED, dispersed, 0.0, "<="),
            Criterion(BLOCK, block, 1.0, ">=", ceiling=0.0),
            Criterion(ITERATIONS, iterations, 0.5, ">=", ceiling=0.0)]
    details = {"phase": {"rates": [0.01, 0.1, 0.5],
                         "fits": [_fit("random"), _fit("top", censored)]},
               "adversarial": {"ci_adversarial": list(adversarial), "rate": 0.75,
                               "trials": 8, "recovered_adversarial": 8,
                               "recovered_random": 8}}
    return Outcome(headline=Criterion(HEAD, min(0.9, top), 0.75, ">=", ceiling=0.0),
                   criteria=tuple(crit), n_samples=1, details=details)


def verdict(statement, out, judge=0):
    return judge_outcome(get_statement(statement).judges[judge].criteria, out)[0]


def beyond(statement, out):
    return [judge_outcome(b.criteria, out)[0] for b in get_statement(statement).beyond]


def test_quotes_are_the_papers():
    quotes = {label: q for label, _w, q, _c in STATEMENTS}
    assert get_statement("thm4").quote == quotes["Theorem 4"]
    assert get_statement("sec43-iterations").quote == quotes["Sec. 4.3, iterations"]
    both = get_statement("sec3-rate").quote + " " + get_statement("sec3-phase").quote
    assert both == quotes["Sec. 3, observations on r"]


def test_thm4_is_judged_by_recovery_on_every_pattern():
    assert verdict("thm4", outcome()) == "holds"
    assert verdict("thm4", outcome(top=0.5)) == "fails"
    # Sec. 3's observations and Sec. 4.3's iterations are other statements' criteria
    assert verdict("thm4", outcome(dispersed=0.3, drop=0.3, iterations=0.1)) == "holds"


def test_thm4_beyond_never_changes_its_verdict():
    out = outcome(block=0.5, adversarial=(0.1, 0.3))
    assert beyond("thm4", out) == ["fails", "fails"]
    assert verdict("thm4", out) == "holds"


def test_thm4_hypotheses():
    from lemmas.thm4_partial import masked_theorem1, outside_theorem1

    assert outside_theorem1(get_preset("theory-2layer")) is None
    assert "stride 3 != kernel 5" in outside_theorem1(get_preset("paper-fig4"))
    assert outside_theorem1(get_preset("paper-fig4-uniform01")) is None  # counter-example
    assert "not a subsampling" in masked_theorem1(get_preset("theory-2layer"))
    assert "stride" in masked_theorem1(get_preset("paper-fig4"))
    assert get_statement("thm4").checks == ("partial", "descent")


def test_sec3_rate_reads_only_the_dispersed_criterion():
    assert verdict("sec3-rate", outcome()) == "holds"
    assert verdict("sec3-rate", outcome(dispersed=0.007)) == "fails"
    assert verdict("sec3-rate", outcome(drop=0.3, top=0.1)) == "holds"


def test_sec3_phase_needs_a_located_transition_and_no_drop():
    assert verdict("sec3-phase", outcome()) == "holds"
    assert verdict("sec3-phase", outcome(drop=0.2)) == "fails"
    # a pattern whose switch lies below the grid: nothing to see, never holds
    assert verdict("sec3-phase", outcome(censored="below")) == "uninformative"
    assert verdict("sec3-phase", outcome(dispersed=0.3)) == "holds"


def test_sec43_iterations_reads_its_criterion_and_not_evaluated_is_uninformative():
    from lemmas.sec43_iterations import small_output

    assert verdict("sec43-iterations", outcome()) == "holds"
    assert verdict("sec43-iterations", outcome(iterations=0.2)) == "fails"
    missing = Outcome(headline=Criterion(HEAD, 0.9, 0.75, ">="), criteria=(),
                      n_samples=1)
    assert verdict("sec43-iterations", missing) == "uninformative"
    assert small_output(get_preset("paper-fig4")) is None
    assert "10240" in small_output(get_preset("theory-2layer"))


def test_every_criterion_can_fail():
    crits = judge_outcome(get_statement("sec3-phase").judges[0].criteria, outcome())[1]
    for c in crits:
        assert not (c.ceiling is not None and math.isfinite(c.ceiling)
                    and ((c.sense == ">=" and c.bound <= c.ceiling)
                         or (c.sense == "<=" and c.bound >= c.ceiling)))
