"""Three-state verdicts (issue 13, item 1): a criterion whose bound is at or past the
statistic's trivial ceiling is uninformative, never a pass."""

from __future__ import annotations

import math

import pytest

from verify.results import Criterion, Outcome, combined_verdict


@pytest.mark.parametrize("crit, verdict", [
    (Criterion("a", 0.5, 1.0), "holds"),
    (Criterion("a", 1.5, 1.0), "fails"),
    (Criterion("a", 0.5, 1.0, ceiling=2.0), "holds"),             # bound below the ceiling
    (Criterion("a", 0.5, 1.0, ceiling=1.0), "uninformative"),     # bound at the ceiling
    (Criterion("a", 0.5, 1.5, ceiling=1.0), "uninformative"),     # past it: any network meets it
    (Criterion("a", 1.5, 1.0, ceiling=0.9), "uninformative"),     # an impossible statistic tells nothing either
    (Criterion("a", 0.8, 0.5, ">=", ceiling=0.1), "holds"),       # '>=' with a floor below the bound
    (Criterion("a", 0.8, 0.5, ">=", ceiling=0.5), "uninformative"),
    (Criterion("a", 0.2, 0.5, ">=", ceiling=0.1), "fails"),
    (Criterion("a", 0.0, 0.0, "=="), "holds"),
    (Criterion("a", float("nan"), 1.0), "fails"),
    (Criterion("a", 0.5, 1.0, untested="every run was censored"), "uninformative"),
])
def test_criterion_verdict(crit, verdict):
    assert crit.verdict == verdict
    assert crit.holds == (verdict == "holds")
    assert bool(crit.why_uninformative) == (verdict == "uninformative")
    d = crit.to_dict()
    assert d["verdict"] == verdict and d["holds"] == crit.holds


def test_an_uninformative_criterion_makes_the_outcome_uninformative_not_a_pass():
    ok, idle = Criterion("ok", 0.1, 1.0), Criterion("idle", 0.1, 1.0, ceiling=0.5)
    out = Outcome(headline=ok, criteria=(idle,))
    assert out.verdict == "uninformative" and not out.passed
    bad = Criterion("bad", 2.0, 1.0)
    assert Outcome(headline=ok, criteria=(idle, bad)).verdict == "fails"  # a failure wins
    assert Outcome(headline=ok, criteria=(ok,)).verdict == "holds"
    assert combined_verdict((ok, idle)) == "uninformative"


def test_margin_is_unchanged_by_the_ceiling():
    c = Criterion("a", 0.25, 1.0, ceiling=0.5)
    assert c.margin == 0.75 and not math.isnan(c.margin)
