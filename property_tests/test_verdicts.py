"""Three-state verdicts: a criterion whose bound is at or past the
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


# ------------------------------------------------ verdicts over network draws (item 3)
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from verify import registry  # noqa: E402
from verify.errors import VerifyError  # noqa: E402
from verify.findings import KnownFinding  # noqa: E402
from verify.presets import get_preset  # noqa: E402
from verify.rng import Streams  # noqa: E402
from verify.verdicts import DrawRule, KnownBad, draws_count, judge_draws  # noqa: E402

RULE = DrawRule(0.1, "a-priori tolerance of the test", draws=40)


def _cp(k, n, alpha=0.05):
    """Clopper-Pearson from the Beta quantiles of lemmas/README.md, section 12, independently
    of SciPy's binomtest."""
    lo = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
    return lo, hi


@pytest.mark.parametrize("fails, n, verdict", [
    (0, 40, "holds"),            # upper 0.088 < 0.1
    (1, 40, "uninformative"),    # [0.0006, 0.132] contains 0.1
    (0, 20, "uninformative"),    # too few draws: even no failure only gives 0.168
    (12, 40, "fails"),           # lower 0.166 > 0.1
    (40, 40, "fails"),
    (2, 100, "holds"),           # upper 0.070
])
def test_failure_rate_is_judged_by_its_exact_interval(fails, n, verdict):
    crit, fields = judge_draws(["fails"] * fails + ["holds"] * (n - fails), RULE)
    assert crit.verdict == verdict
    lo, hi = _cp(fails, n)
    assert fields["failure_ci_low"] == pytest.approx(lo, abs=1e-9)
    assert fields["failure_ci_high"] == pytest.approx(hi, abs=1e-9)
    assert fields["draws"] == n and fields["failure_rate"] == fails / n
    assert (verdict == "holds") == (hi <= 0.1) and (verdict == "fails") == (lo > 0.1)
    if verdict == "uninformative":
        assert "too few draws" in crit.why_uninformative


def test_uninformative_draws_are_left_out_and_counted():
    crit, fields = judge_draws(["holds"] * 40 + ["uninformative"] * 5, RULE)
    assert fields["draws"] == 45 and fields["draws_tested"] == 40
    assert fields["draws_uninformative"] == 5 and crit.verdict == "holds"
    crit, _ = judge_draws(["uninformative"] * 3, RULE)
    assert crit.verdict == "uninformative" and "no draw tested" in crit.why_uninformative


def test_zero_failure_bound_matches_the_rule_of_three():
    # 1 - (alpha/2)^(1/N): the exact upper end after N clean draws (about 3.7/N here)
    for n in (10, 40, 100):
        assert RULE.best_upper(n) == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-9)
    assert RULE.draws_needed() == 36


@pytest.mark.parametrize("kwargs, match", [
    ({"tolerance": 0.0, "reason": "r"}, "tolerance"),
    ({"tolerance": 1.0, "reason": "r"}, "tolerance"),
    ({"tolerance": 0.1, "reason": " "}, "reason"),
    ({"tolerance": 0.1, "reason": "r", "draws": 10}, "zero failures bound"),
    ({"tolerance": 0.1, "reason": "r", "draws": 1}, "draws"),
])
def test_draw_rules_that_cannot_decide_are_refused(kwargs, match):
    with pytest.raises(VerifyError, match=match):
        DrawRule(**kwargs)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "x", "3.0", True, None])
def test_draws_must_be_a_positive_integer(bad):
    with pytest.raises(VerifyError, match="--draws"):
        draws_count(bad)


@pytest.mark.parametrize("argv", [["check", "descent", "--draws", "0"],
                                  ["check", "descent", "--draws", "-3"],
                                  ["check", "descent", "--draws", "1.5"],
                                  ["report", "--draws", "zero", "--out", "unused"]])
def test_cli_refuses_bad_draws_with_exit_2(argv, capsys, tmp_path):
    from verify.cli import main

    with pytest.raises(SystemExit) as exc:  # argparse's own exit, one line on stderr
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--draws" in err and len(err.strip().splitlines()) == 1


def test_draw_streams_are_the_seed_then_independent_children():
    s = Streams(7)
    assert s.draw(0) is s and str(s.draw(3)) == "7/4.3"
    assert s.draw(3) != s.task(3)
    a = s.draw(1).weights().standard_normal(4)
    b = s.draw(2).weights().standard_normal(4)
    c = s.weights().standard_normal(4)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)


def _noisy_check(instance, *, rng, quick):
    """A fake probabilistic check: its statistic is the first weight of the network (so it
    depends on the draw), failing when it is above 1."""
    w0 = np.ravel(instance.network.weights[0].filters)
    w = float(w0[0] / np.std(w0))  # about N(0, 1) across draws
    return Outcome(Criterion("first weight <= 1", w, 1.0, ceiling=10.0))


@pytest.fixture
def sandbox():
    with registry.use(registry.Registry()) as reg:
        yield reg


def _register(reg, **kw):
    return reg.register("fake-draws", statement="s", reference="r",
                        presets={"theory-2layer": "pass"}, check=_noisy_check,
                        draws=kw.pop("draws", RULE), **kw)


def test_multi_draw_result_replays_each_draw_and_keeps_draw_0(sandbox):
    _register(sandbox)
    many = registry.run_check("fake-draws", seed=5, draws=None)
    one = registry.run_check("fake-draws", seed=5, draws=1)
    assert many.draws == 40 and one.draws == 1
    t = many.tables["draws"]
    assert len(t) == 40 and t["draw"].tolist() == list(range(40))
    assert t.loc[0, "statistic"] == one.statistic  # draw 0 is the seed's own network
    assert many.details["draw0"]["verdict"] == one.verdict
    # every row replays alone from its seed
    for i in (1, 17):
        seed = t.loc[i, "seed"]
        base, _, key = seed.partition("/")
        replay = registry.run_check("fake-draws", seed=Streams(int(base), tuple(
            int(k) for k in key.split("."))), draws=1)
        assert replay.statistic == t.loc[i, "statistic"]
    js = many.to_json()
    for key in ("draws", "failure_rate", "failure_ci_low", "failure_ci_high", "alpha"):
        assert key in js
    fails = int(t["failed"].sum())
    assert js["failure_rate"] == fails / 40
    # N(0, 1) draws: about 16% exceed 1, so over 40 draws the rate is judged above 0.1
    # or undecided, never "holds"
    assert many.verdict in ("fails", "uninformative") and not many.passed
    assert "single draw" in one.summary() and "draw_note" in one.to_json()


def _check_with_points(instance, *, rng, quick):
    """The fake check, plus a per-draw scalar and a per-draw table of that draw's
    weights above 1 (their count varies across draws)."""
    out = _noisy_check(instance, rng=rng, quick=quick)
    w0 = np.ravel(instance.network.weights[0].filters)
    big = w0[w0 / np.std(w0) > 1.0]
    import pandas as pd

    return Outcome(out.headline, details={"per_draw": {"n_big": int(big.size)}},
                   tables={"big": pd.DataFrame({"w": big})})


def test_per_draw_tables_and_summaries_are_collected(sandbox):
    seen = {}

    def summarise(draws, by_draw):
        seen["args"] = (draws.copy(), {k: v.copy() for k, v in by_draw.items()})
        return {"total_big": int(draws["n_big"].sum())}

    rule = DrawRule(0.1, "a-priori tolerance of the test", draws=40, per_draw=("big",),
                    summarise=summarise)
    sandbox.register("fake-draws", statement="s", reference="r",
                     presets={"theory-2layer": "pass"}, check=_check_with_points, draws=rule)
    r = registry.run_check("fake-draws", seed=3, draws=12)
    t, big = r.tables["draws"], r.tables["big_by_draw"]
    assert t["n_big"].tolist() == big.groupby("draw").size().reindex(range(12), fill_value=0).tolist()
    assert r.details["over_draws"] == {"total_big": len(big)}
    assert sorted(big["draw"].unique()) == sorted(t.loc[t["n_big"] > 0, "draw"])
    assert len(set(t["n_big"])) > 1   # the draws differ: rows are not copies of draw 0
    # each draw's rows are that draw's own: draw 5 alone gives the same table
    seed = t.loc[5, "seed"]
    base, _, key = seed.partition("/")
    alone = registry.run_check("fake-draws", seed=Streams(int(base), tuple(
        int(k) for k in key.split("."))), draws=1)
    assert np.array_equal(alone.tables["big"]["w"], big.loc[big["draw"] == 5, "w"])


def test_checks_without_a_rule_ignore_draws(sandbox):
    _register(sandbox, draws=None)
    r = registry.run_check("fake-draws", draws=25)
    assert r.draws == 1 and "failure_rate" not in r.to_json()


def test_single_draw_findings_cover_only_single_draw_runs(sandbox):
    f = KnownFinding(preset="theory-2layer", differs="d", why="w", evidence="e",
                     replay="verify check fake-draws --draws 1", single_draw=True)
    _register(sandbox, findings=(f,))
    assert registry.run_check("fake-draws", seed=0, draws=1).finding is not None
    assert registry.run_check("fake-draws", seed=0, draws=40).finding is None
    assert "single-draw runs" in f.scope()


def test_known_bad_cases_are_validated_at_registration(sandbox):
    cfg = get_preset("paper-fig4-uniform01")
    with pytest.raises(VerifyError, match="verdicts"):
        KnownBad("x", cfg, "r", verdicts=("holds",))
    with pytest.raises(VerifyError, match="Config"):
        KnownBad("x", "paper-fig4", "r")
    with pytest.raises(VerifyError, match="unique"):
        _register(sandbox, known_bad=(KnownBad("x", cfg, "r"), KnownBad("x", cfg, "r")))
    broken = cfg.with_weights("gaussian")
    object.__setattr__(broken, "loader", lambda: (_ for _ in ()).throw(OSError("gone")))
    with pytest.raises(VerifyError, match="can be drawn"):
        _register(sandbox, known_bad=(KnownBad("y", broken, "r"),))
