"""lemmas/expansion.py: Theorem 1's failure rate against the expansion factor.

Fast: small grid networks and few draws, fixed seeds. The full verdict on the preset
and the known-bad configurations' verdicts run in test_common (KNOWN_BAD)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lemmas import expansion as E
from verify.measurements import MaskSpec
from verify.presets import get_preset
from verify.spec import LayerSpec, NetworkSpec
from verify.weights import WeightLaw, draw_network


def _spec(c1, k1, c2, k2, **kw):
    return NetworkSpec(dims=1, latent_channels=2, layers=(
        LayerSpec(c1, k1, k1, **kw), LayerSpec(c2, k2, k2, **kw)))


def test_grid_spec_is_the_smallest_meeting_the_target():
    template = _spec(4, 16, 45, 4)
    for target in (0.5, 1.0, 3.0, 8.0, 20.0):
        spec = E.grid_spec(template, target)
        assert spec.channels[:2] == (2, 4)
        assert spec.expansivity()[1] >= target
        c2 = spec.channels[2]
        if c2 > 1:  # one channel fewer falls below the target
            assert (c2 - 1) * 4 / (4 * math.log(4)) < target
    steps = E.grid(template)
    assert steps[0][2] == template
    assert [s[2].channels[2] for s in steps] == [45, 23, 12, 6, 3, 2, 1]


def test_rate_is_one_on_a_contracting_family_and_falls_on_an_expanding_one():
    rng = np.random.default_rng(3)
    law = WeightLaw("gaussian")
    contracting = E.rates(E.run_grid(_spec(8, 1, 1, 1), law, (0,), 10, rng))
    assert contracting["rate"].tolist() == [1.0]
    expanding = E.rates(E.run_grid(_spec(4, 16, 12, 4), law, (1, 4), 24, rng))
    low, high = expanding.iloc[0], expanding.iloc[-1]
    assert low["expansion"] < 1 < 4 < high["expansion"]
    assert high["rate"] < low["rate"] - 0.2, expanding[["expansion", "failures", "draws"]]


def test_eps_hat_is_scale_invariant():
    rng = np.random.default_rng(5)
    net = draw_network(_spec(4, 8, 6, 4), "gaussian", rng=rng)
    z = rng.standard_normal(2)
    a, b = E.conclusion(net, z), E.conclusion(net, 7.3 * z)
    assert a["eps_hat"] > 0
    assert b["eps_hat"] == pytest.approx(a["eps_hat"], rel=1e-8)
    assert (a["origin_max"], a["failed"], a["n_stationary"]) == \
        (b["origin_max"], b["failed"], b["n_stationary"])


def test_uniform01_draw_fails_by_a_flat_cone_and_the_origin():
    """The U[0, 1] known-bad's mechanism: G = 0 on the negative quadrant, so a whole cone
    of stationary points (eps_hat = inf) and an origin that is not a local maximum."""
    rng = np.random.default_rng(0)
    net = draw_network(_spec(4, 4, 8, 4), "uniform01", rng=rng)
    out = E.conclusion(net, np.array([0.6, 0.8]))
    assert math.isinf(out["eps_hat"]) and not out["origin_max"] and out["failed"]
    assert out["n_flat"] >= 1


def test_known_bad_contracting_template_is_rejected():
    from verify.registry import run_check

    case = next(kb for kb in E.KNOWN_BAD if kb.name == "contracting template")
    result = run_check("expansion", case.config, seed=case.seed, quick=True, draws=None)
    assert result.error is None
    assert result.verdict == "fails", result.summary()


def _table(rates, n=40):
    rows = []
    for e, f in zip((0.7, 1.4, 2.9, 5.8, 11.5), rates):
        from verify.stats import exact_interval
        lo, hi = exact_interval(f, n, 0.95)
        rows.append({"step": int(e * 10), "expansion": e, "rate": f / n, "ci_low": lo,
                     "ci_high": hi})
    return pd.DataFrame(rows[::-1])  # unsorted on purpose


def test_threshold_on_a_hand_made_table():
    t = _table([30, 12, 3, 0, 0])
    thr = E.measured_threshold(t)
    assert thr["expansion"] == 5.8 and thr["rate"] == 0 and thr["ci_high"] <= E.TAU
    assert E.measured_threshold(t, by="point")["expansion"] == 2.9   # 3/40 < 0.1
    assert E.measured_threshold(_table([30, 20, 10, 5, 2])) is None  # 2/40: upper 0.17
    assert E.measured_threshold(_table([30, 20, 10, 5, 5]), by="point") is None
    with pytest.raises(ValueError):
        E.measured_threshold(t, by="median")


def test_fit_eps_recovers_a_slope():
    rng = np.random.default_rng(1)
    rows = [{"step": j, "width": w, "eps_hat": 2.0 * w ** -0.5 * math.exp(0.05 * rng.normal())}
            for j, w in enumerate((64, 256, 1024)) for _ in range(20)]
    rows.append({"step": 0, "width": 64, "eps_hat": math.inf})
    fit = E.fit_eps(pd.DataFrame(rows), rng, n_boot=200)
    assert fit["b_low"] < -0.5 < fit["b_high"] and fit["b"] == pytest.approx(-0.5, abs=0.02)
    assert fit["draws_left_out"] == 1


@pytest.mark.parametrize("change, word", [
    (lambda c: replace(c, spec=replace(c.spec, latent_channels=3)), "C_0 = 2"),
    (lambda c: replace(c, spec=_spec(4, 16, 45, 4, affine=True)), "bias"),
    (lambda c: replace(c, spec=_spec(4, 16, 45, 4, activation="sigmoid")), "sigmoid"),
    (lambda c: replace(c, spec=NetworkSpec(dims=1, latent_channels=2, layers=(
        LayerSpec(4, 5, 3), LayerSpec(8, 4, 4)))), "stride = kernel"),
    (lambda c: replace(c, mask=MaskSpec("random", 0.5)), "A = I"),
])
def test_not_applicable_with_the_reason(change, word):
    config = get_preset("theory-2layer-latent2")
    assert E._requires(config) is None
    assert word in E._requires(change(config))


def test_verify_list_says_how_the_grid_is_judged(capsys):
    """expansion runs its own draws (no DrawRule): `verify list` must not call it a
    one-draw verdict."""
    from verify.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("  expansion"):out.index("  injectivity")]
    assert "one draw decides" not in block
    assert "40 per expansion factor" in block and "--draws does not apply" in block
