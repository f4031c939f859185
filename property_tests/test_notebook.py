"""Results read in a notebook or a test: short reprs, ``_repr_html_``, ``to_frame()``,
``verify.assert_holds``, and ``run_check``'s default number of draws (the lemma's own)."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import pytest

import verify
from verify import Objective, assert_holds, get_preset, registry
from verify.measurements import GaussianMeasurement, MaskBatch
from verify.results import REPR_MAX, CheckResult, Criterion, Outcome
from verify.verdicts import DrawRule


@pytest.fixture
def sandbox():
    with registry.use(registry.Registry()) as reg:
        yield reg


def _register(reg, statistic=0.5, bound=1.0, ceiling=None, draws=None):
    """A fake check: ``statistic <= bound`` plus one criterion that always holds."""
    def run(instance, *, rng, quick):
        return Outcome(Criterion("headline stat", statistic, bound, "<=", ceiling=ceiling),
                       criteria=(Criterion("count", 20, 10, ">="),), n_samples=20)

    rule = None if draws is None else DrawRule(0.1, "test tolerance", draws=draws)
    return reg.register("fake-nb", statement="a fake statement", reference="T.1",
                        presets={"theory-2layer": "pass"}, check=run, draws=rule)


def test_reprs_are_short_and_say_what_the_object_is():
    cfg = get_preset("paper-fig4")
    inst = cfg.instantiate(0)
    net, A = inst.network, inst.measurement
    J = Objective.from_truth(net, A, np.ones(net.spec.latent_dim))
    expect = {
        net: "Network(2-D 2x1 -> 16x5 (k5 s3 relu) -> 1x17 (k5 s3 relu); latent dim 2 -> "
             "output dim 289)",
        A: "Subsampling(random, rate 0.5: 145 of 289 entries observed)",
        cfg: "Config('paper-fig4': 2-D 2x1 -> 16x5 (k5 s3 relu) -> 1x17 (k5 s3 relu); "
             "weights gaussian std 1; mask random 0.5)",
        GaussianMeasurement(10, 0.5, rng=0): "GaussianMeasurement(Gaussian N(0, 1/m) "
                                             "entries, m = 5, n = 10)",
        MaskBatch(np.eye(4, dtype=bool)): "MaskBatch(4 masks over n = 4, 1 to 1 entries "
                                          "observed)",
    }
    for obj, text in expect.items():
        assert repr(obj) == text
    assert repr(J).startswith("Objective(J(z) = 1/2 ||y - A G(z)||^2; A = Subsampling(")
    assert "145 measurements" in repr(J)
    # a long architecture is cut, never longer than REPR_MAX
    deep = get_preset("digits-gan")
    for obj in (deep, deep.instantiate(0).network, J, A.with_noise(0.1)):
        assert len(repr(obj)) <= REPR_MAX and "\n" not in repr(obj)


def test_result_reprs_name_the_verdict(sandbox):
    _register(sandbox)
    r = registry.run_check("fake-nb")
    assert repr(r) == ("CheckResult(fake-nb [theory-2layer] holds: statistic 0.5 <= bound 1, "
                       "margin 0.5, seed 0)")
    c = Criterion("x" * 400, 2.0, 1.0, "<=")
    assert repr(Criterion("m", 2.0, 1.0, "<=")) == "Criterion('m': 2 <= 1, fails, margin -1)"
    assert len(repr(c)) == REPR_MAX and repr(c).endswith("…")
    o = Outcome(Criterion("h", 0.5, 1.0), criteria=(Criterion("k", 3, 1, ">="),), n_samples=7)
    assert repr(o) == "Outcome(holds: 'h' 0.5 <= 1, 2 criteria, n = 7)"
    big = CheckResult("l" * 500, "p", 0, True, "pass", 0.5, 1.0, 0.5, {}, {}, 0.0, "0",
                      table=pd.DataFrame({"x": np.arange(10_000)}))
    assert len(repr(big)) <= REPR_MAX


def test_to_frame_and_repr_html(sandbox):
    _register(sandbox, statistic=3.0, bound=2.0, ceiling=2.5)  # fails: 3 > 2
    r = registry.run_check("fake-nb")
    df = r.to_frame()
    assert list(df.columns) == ["name", "statistic", "sense", "bound", "margin", "verdict",
                                "ceiling", "note", "why_uninformative"]
    assert df["name"].tolist() == ["headline stat", "count"]
    assert df["verdict"].tolist() == ["fails", "holds"]
    assert df["margin"].tolist() == [-1.0, 10.0]
    html = r._repr_html_()
    assert "<table" in html and "headline stat" in html and ">fails<" in html
    assert "fake-nb" in html and escape(r.summary()) in html


def test_assert_holds_passes_on_holds_and_names_what_did_not(sandbox):
    _register(sandbox)
    assert_holds(registry.run_check("fake-nb"))  # holds: no exception
    _register(sandbox, statistic=3.0, bound=2.0)
    with pytest.raises(AssertionError) as err:
        assert_holds(registry.run_check("fake-nb"))
    text = str(err.value)
    assert text.splitlines()[0] == "fake-nb [theory-2layer]: verdict fails, expected holds"
    assert "fails: headline stat: statistic 3 <= bound 2, margin -1" in text
    assert "count" not in text  # a criterion that holds is not listed
    _register(sandbox, statistic=0.5, bound=3.0, ceiling=2.0)  # bound above the ceiling
    with pytest.raises(AssertionError) as err:
        assert_holds(registry.run_check("fake-nb"), "my context")
    text = str(err.value)
    assert text.startswith("my context\nfake-nb [theory-2layer]: verdict uninformative")
    assert ("uninformative: headline stat: statistic 0.5 <= bound 3, margin 2.5 "
            "(uninformative: bound 3 is at or above the trivial ceiling 2") in text
    with pytest.raises(TypeError):
        assert_holds(0.5)
    assert "assert_holds" in verify.__all__


def test_run_check_defaults_to_the_lemmas_own_draws(sandbox):
    _register(sandbox, draws=40)
    assert registry.run_check("fake-nb").draws == 40
    assert registry.default().run_check("fake-nb").draws == 40
    assert registry.run_check("fake-nb", draws=1).draws == 1
    assert registry.run_check("fake-nb", draws=None).draws == 40
