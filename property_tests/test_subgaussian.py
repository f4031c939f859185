"""Tests of the Conjecture 3 check (rerun checks per weight law, received from the registry)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lemmas import subgaussian as SG
from verify.measurements import MaskSpec
from verify.presets import Config, get_preset
from verify.registry import Reruns, default, discover, run_check
from verify.rng import Streams
from verify.spec import block_spec
from verify.weights import WeightLaw

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics

#: A small expansive stride = kernel network so the 3 x 4 reruns stay cheap.
SMALL = Config("small-expansive", block_spec(1, (3, 32, 256), (2, 2)), WeightLaw("gaussian"),
               MaskSpec("full", 1.0), "small expansive network for the subgaussian tests")


def _available():
    reg = discover()
    return tuple(c for c in SG.RERUNS if c in reg)


def _reruns(seed: int) -> Reruns:
    """What the registry hands the check on streams ``seed`` (quick)."""
    return Reruns(default(), SG.RERUNS, Streams(seed), quick=True)


def test_descent_rerun_separates_zero_mean_laws_from_uniform01():
    # theory-2layer (C0 = 4): with C0 = 2 or 3 Rademacher layer-1 rows take only 4 or 8
    # values and genuine spurious minima appear, outside Conjecture 3's (expansive) regime.
    table = SG.rerun_table(get_preset("theory-2layer"), _reruns(1), checks=("descent",))
    assert set(table["law"]) == {"gaussian", "rademacher", "uniform", "uniform01"}
    ran = table.set_index("law")
    assert (ran["status"] == "ran").all()
    for law in SG.ZERO_MEAN:
        assert bool(ran.loc[law, "conclusion_passed"]), ran.loc[law, "criteria_failed"]
    assert not bool(ran.loc["uniform01", "conclusion_passed"])
    assert "min_kappa_w" in ran.loc["uniform01", "criteria_failed"]


def test_unregistered_check_is_listed_not_run():
    table = SG.rerun_table(SMALL, _reruns(0), checks=("no-such-lemma",))
    assert (table["status"] == "not registered").all() and len(table) == 4


def test_reruns_use_the_registry_with_each_law():
    """The descent cell of a law equals a direct registry run on with_weights(law), on
    the child streams the cell records (task j of the check's streams)."""
    table = SG.rerun_table(SMALL, _reruns(2), checks=("descent",)).set_index("law")
    seed = Streams(2).task(SG.RERUNS.index("descent"))
    assert (table["seed"] == str(seed)).all()
    direct = run_check("descent", SMALL.with_weights("rademacher"), seed=seed, quick=True)
    assert table.loc["rademacher", "statistic"] == direct.statistic
    assert table.loc["rademacher", "passed"] == direct.passed


def test_gaussian_only_criteria_do_not_count_for_zero_mean_laws():
    """A concentration cell that fails only a Gaussian-only criterion still passes the
    conclusion rule; the control must fail on other criteria (its headline)."""
    if "concentration" not in discover():
        pytest.skip("concentration is not registered yet")
    table = SG.rerun_table(SMALL, _reruns(0), checks=("concentration",))
    for _, r in table.iterrows():
        failed = [n for n in r["criteria_failed"].split(", ") if n]
        gonly = [n for n in r["gaussian_only_failed"].split(", ") if n]
        assert set(gonly) <= set(failed)
        uninf = [n for n in r["criteria_uninformative"].split(", ") if n]
        # an uninformative criterion (bound at or past its trivial ceiling) never counts
        # as holding
        assert r["conclusion_passed"] == (len(failed) == len(gonly) and not uninf)
        assert r["verdict"] in ("holds", "fails", "uninformative", "error")
        assert r["conclusion"] == ("fails" if len(failed) > len(gonly) else
                                   "uninformative" if uninf else "holds")
    ctl = table.set_index("law").loc["uniform01"]
    assert not ctl["conclusion_passed"]


def test_subgaussian_check_verdict_on_small_network():
    if len(_available()) < len(SG.RERUNS):
        pytest.skip("not every rerun check is registered yet: "
                    + ", ".join(sorted(set(SG.RERUNS) - set(_available()))))
    task = Streams(0).task(1)  # a sweep task's streams: no integer seed to re-seed from
    res = run_check("subgaussian", SMALL, seed=task, quick=True)
    assert res.details["rerun_seeds"]["descent"] == str(task.task(2))
    assert isinstance(res.table, pd.DataFrame) and len(res.table) == 12
    assert res.details["control_failures"] >= 1
    zm = res.table[res.table["zero_mean"]]
    assert res.passed == bool(zm["conclusion_passed"].all())
    assert set(res.table["verdict"].dropna()) <= {"holds", "fails", "uninformative", "error"}
    if (zm["conclusion"] == "uninformative").any() and not zm["conclusion"].isin(
            ["fails", "error"]).any():
        assert res.verdict == "uninformative" and not res.passed
    assert np.isfinite(res.statistic)


@pytest.mark.parametrize("case", SG.KNOWN_BAD, ids=lambda kb: kb.name)
def test_known_bad_configurations_are_rejected(case):
    """Outside Conjecture 3's hypotheses (a contracting network) the zero-mean laws must
    not pass: the verdict is a rejecting one, never "holds" (single draw: no DrawRule)."""
    if len(_available()) < len(SG.RERUNS):
        pytest.skip("not every rerun check is registered")
    res = run_check("subgaussian", case.config, seed=case.seed, quick=True, draws=None)
    assert res.error is None and res.draws == 1
    assert case.rejected_by(res.verdict), res.summary()
    assert res.details["zero_mean_failures"] >= 1
