"""Corollary 2 (injectivity) and the Puthawala et al. layer-wise criterion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lemmas import injectivity as inj
from verify.geometry import injectivity as IG
from verify.registry import get_check, run_check

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics


def _spans(W, x):
    """Reference: do the rows with <w, x> >= 0 span R^k? (numpy's matrix_rank)."""
    S = W[W @ x >= 0]
    return S.shape[0] > 0 and np.linalg.matrix_rank(S) == W.shape[1]


# ----------------------------------------------------------- exhaustive enumeration
def test_half_plane_rows_fail_exhaustively():
    # every row in the open right half-plane: x = (-1, 0) makes all of them negative
    W = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [2.0, 0.5], [0.5, -2.0]])
    res = IG.layer_criterion(W, rng=np.random.default_rng(0))
    assert res["method"] == "exhaustive"
    assert not res["injective"]
    assert not _spans(W, np.asarray(res["witness"]))


def test_evenly_spread_rows_hold_exhaustively():
    # 8 unit rows at angles 2 pi j / 8: every closed half-plane holds >= 4 of them
    th = 2 * math.pi * np.arange(8) / 8
    W = np.stack([np.cos(th), np.sin(th)], axis=1)
    res = IG.layer_criterion(W, rng=np.random.default_rng(0))
    assert res["method"] == "exhaustive" and res["injective"]
    assert res["min_active"] >= 4


def test_three_dimensional_cases():
    rng = np.random.default_rng(0)
    # +-e_i: m = 2k, the necessary minimum, and injective
    W = np.concatenate([np.eye(3), -np.eye(3)])
    assert IG.layer_criterion(W, rng=rng)["injective"]
    # drop one row: fewer than 2k rows can never be injective
    assert not IG.layer_criterion(W[:-1], rng=rng)["injective"]
    # all rows in the positive orthant: x = -(1, 1, 1) kills them all
    W = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0], [2.0, 1.0, 0.5]])
    res = IG.layer_criterion(W, rng=rng)
    assert not res["injective"] and not _spans(W, np.asarray(res["witness"]))


def test_degenerate_vertices_are_enumerated():
    # coplanar normals (e1, e2, e1+e2, -e1-e2 all in the plane x3 = 0) and repeated rows
    W = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0], [-1.0, -1.0, 0], [0, 0, 1.0],
                  [0, 0, -1.0], [-1.0, 0, 0], [-1.0, 0, 0]])
    X, S = IG.arrangement_patterns(W)
    # every reported pattern is the pattern of its representative point
    assert np.array_equal(S, (X @ W.T) >= 0)
    res = IG.layer_criterion(W, rng=np.random.default_rng(1))
    # dense random search agrees with the enumeration
    Xs = np.random.default_rng(2).standard_normal((20000, 3))
    found = any(not _spans(W, x) for x in Xs[:3000])
    assert res["injective"] == (not found)


@settings(max_examples=25)
@given(k=st.sampled_from([2, 3]), m=st.integers(2, 9), seed=st.integers(0, 2**32 - 1))
def test_exhaustive_agrees_with_dense_search(k, m, seed):
    """Soundness both ways: a witness of failure is real, and no x found by a dense
    random search violates a criterion the enumeration certified."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, k))
    res = IG.layer_criterion(W, rng=rng)
    if not res["injective"]:
        assert not _spans(W, np.asarray(res["witness"]))
    else:
        X = rng.standard_normal((4000, k))
        S = (X @ W.T) >= 0
        assert np.all(S.sum(axis=1) >= k)  # generic rows: spanning <=> >= k rows


def test_batched_sweep_matches_single_enumeration():
    rng = np.random.default_rng(3)
    for k, m in ((2, 5), (2, 8), (3, 9), (3, 12)):
        W = rng.standard_normal((30, m, k))
        _, bad = IG.gram_deficiency(W, IG.batched_patterns(W))
        batched = ~np.any(bad, axis=1)
        single = [IG.layer_criterion(w, rng=rng)["injective"] for w in W]
        assert np.array_equal(batched, single)


def test_sweep_is_monotone_in_the_limits():
    df = IG.expansion_sweep(rng=np.random.default_rng(0), draws=60, expansions=(1.5, 12.0))
    low, high = df[df["expansion"] < 2], df[df["expansion"] > 10]
    assert np.all(low["injective"] == 0)          # m < 2k: never injective
    assert np.all(high["fraction"] >= 0.9)
    # verify.stats.wilson_interval is exactly 0 at 0/n and 1 at n/n: no slack
    assert np.all(df["ci_low"] <= df["fraction"])
    assert np.all(df["fraction"] <= df["ci_high"])


# ----------------------------------------------------------- the registered check
@settings(max_examples=5)
@given(data=st.data())
def test_no_collision_on_expansive_architectures(data):
    config = data.draw(get_check("injectivity").configs())
    seed = data.draw(st.integers(0, 2**16))
    r = run_check("injectivity", config, seed=seed, quick=True, draws=1)
    assert r.passed, r.details
    assert r.details["collisions_found"] == 0 and r.details["collapse"]["count"] == 0


@settings(max_examples=3)
@given(data=st.data())
def test_uniform01_counterexamples_collide(data):
    config = data.draw(get_check("injectivity").counter_configs())
    r = run_check("injectivity", config, seed=0, quick=True, draws=1)
    assert not r.passed and r.expected == "fail"
    assert r.details["collapse"]["fraction"] > 0


def test_fig4_uniform01_mode_collapse_detected():
    r = run_check("injectivity", "paper-fig4-uniform01", seed=0, quick=True, draws=1)
    assert not r.passed and r.matches_expectation
    col = r.details["collapse"]
    # the collapsed latents all map to one output, the zero image
    assert col["count"] > 0 and col["distinct_outputs"] == 1 and col["output_norm"] == 0.0
    assert r.statistic == 0.0
    # layer 1 has non-negative rows only: the exhaustive criterion fails there
    assert r.details["layerwise"][0]["method"] == "exhaustive"
    assert not r.details["layerwise"][0]["injective"]


def test_same_seed_same_result():
    a = run_check("injectivity", "paper-fig4", seed=5, quick=True, draws=1)
    b = run_check("injectivity", "paper-fig4", seed=5, quick=True, draws=1)
    assert a.statistic == b.statistic and a.details == b.details


def test_bad_matrix_refused():
    from verify.errors import VerifyError

    with pytest.raises(VerifyError, match="W"):
        IG.arrangement_patterns(np.zeros((4, 5)))


# ---------------------------------------------------------------------- layer-wise verdict
def _m_below_2k_config():
    """``1-D 8 -> 12 (k1) -> 128 (k4 s4)``: the first ReLU block has m = 12 < 2k = 16."""
    from verify.measurements import MaskSpec
    from verify.presets import Config
    from verify.spec import LayerSpec, NetworkSpec
    from verify.weights import WeightLaw

    spec = NetworkSpec(dims=1, latent_channels=8,
                       layers=(LayerSpec(12, 1, 1), LayerSpec(128, 4, 4)))
    return Config("m-below-2k", spec, WeightLaw("gaussian"), MaskSpec("full", 1.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_first_layer_below_2k_fails_with_certified_witness(seed):
    r = run_check("injectivity", _m_below_2k_config(), seed=seed, quick=True, draws=1)
    assert not r.passed
    l1 = r.details["layerwise"][0]
    assert l1["rows_below_2k"] and l1["injective"] is False
    assert r.details["layers_below_2k"] == [1] and r.details["layerwise_refutes_G"]
    crit = {c.name: c for c in r.criteria}["first_layer_certified_non_injective"]
    assert not crit.holds and "layer 1" in crit.note and "witness" in crit.note
    # the witness is checked here independently: G(z1) = G(z2) for z1 != z2
    cert = r.details["first_layer_certificate"]
    assert cert["certified"]
    net = _m_below_2k_config().instantiate(seed).network
    z1, z2 = np.asarray(cert["z1"]), np.asarray(cert["z2"])
    g1, g2 = net.forward(z1), net.forward(z2)
    assert np.linalg.norm(z1 - z2) >= IG.CERT_MIN_SEPARATION * np.linalg.norm(z1)
    assert np.linalg.norm(g1 - g2) <= IG.CERT_RTOL * (np.linalg.norm(g1) + np.linalg.norm(g2) + 1)
    # the first layer's output agrees: the collision happens there
    W = net.dense_block(0)
    assert np.allclose(np.maximum(W @ z1, 0), np.maximum(W @ z2, 0), rtol=0,
                       atol=IG.CERT_RTOL * np.linalg.norm(W) * np.linalg.norm(z2))


def test_two_k_witness_is_exact():
    rng = np.random.default_rng(4)
    for m, k in ((12, 8), (5, 3), (3, 2), (6, 6)):
        W = rng.standard_normal((m, k))
        x = IG.two_k_witness(W, rng=rng)
        assert x is not None and np.sum(W @ x >= 0) < k
        pair = IG.collision_from_witness(W, x)
        assert pair["exact"] and np.linalg.norm(pair["x2"] - pair["x"]) > 0
        assert np.allclose(np.maximum(W @ pair["x"], 0), np.maximum(W @ pair["x2"], 0),
                           rtol=0, atol=1e-12)
    assert IG.two_k_witness(rng.standard_normal((8, 4)), rng=rng) is None


def test_all_negative_witness_doubles():
    W = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [2.0, 0.5], [0.5, -2.0]])
    pair = IG.collision_from_witness(W, [-1.0, 0.0])
    assert pair["exact"] and np.allclose(pair["x2"], 2 * pair["x"])
    assert pair["active_rows"] == 0


@pytest.mark.parametrize("preset", [pytest.param("theory-2layer", marks=pytest.mark.slow),
                                    "paper-fig4"])  # one whole quick check each
def test_presets_state_search_power_and_keep_passing(preset):
    r = run_check("injectivity", preset, seed=0, quick=True, draws=1)
    assert r.passed and not r.details["layerwise_refutes_G"]
    p = r.details["collision_search_power"]
    assert p["detects_normalised_ratio_at_most"] == IG.COLLISION_RTOL
    assert 0 < p["collision_start_rate_upper_95"] < 1
    assert "normalised ratio <=" in p["note"]


# ---------------------------------------------------------- ceilings, draws, power
@pytest.mark.parametrize("preset", ["theory-2layer", "paper-fig4"])
def test_bounds_below_their_ceilings_on_passing_presets(preset):
    """Every criterion states its trivial ceiling (floor 0 for the headline: a collision;
    1 for the collapse fraction and the 0/1 certificate) and sits inside it."""
    r = run_check("injectivity", preset, seed=0, quick=True, draws=1)
    assert r.verdict == "holds"
    assert [c.ceiling for c in r.criteria] == [0.0, 1.0, 1.0]
    assert not any(c.why_uninformative for c in r.criteria)


def test_draw_check_gives_the_full_checks_verdict():
    """check_draw (kept for a future DrawRule) computes the judged evidence on the same
    streams, so the same criteria (the sweep and the later layers' criterion are
    reported, not judged)."""
    from verify.presets import get_preset
    from verify.rng import Streams

    for preset in ("paper-fig4", "paper-fig4-uniform01"):
        s = Streams.of(3).draw(2)
        inst = get_preset(preset).instantiate(s)
        full = inj.check(inst, rng=s.check(), quick=True)
        lean = inj.check_draw(inst, rng=s.check(), quick=True)
        assert [c.to_dict() for c in (full.headline,) + full.criteria] == \
            [c.to_dict() for c in (lean.headline,) + lean.criteria]
    assert get_check("injectivity").draw_rule is None  # see lemmas.injectivity.DRAWS


@pytest.mark.parametrize("case", inj.KNOWN_BAD, ids=lambda kb: kb.name)
def test_known_bad_rejected_on_one_draw(case):
    """Each known-bad configuration fails on its seed's draw with a certified
    first-layer witness."""
    r = run_check("injectivity", case.config, seed=case.seed, quick=True, draws=1)
    assert r.verdict == "fails", r.summary()
    assert r.details["layerwise_refutes_G"]


# ------------------------------------------------------------ the statement (cor2)
def test_cor2_registers_the_exact_quote_and_the_criteria_fig4d_reads():
    from lemmas import STATEMENTS
    from verify.registry import get_statement

    st_ = get_statement("cor2")
    assert st_.quote == next(q for lab, _, q, _ in STATEMENTS if lab == "Corollary 2")
    assert st_.judges[0].criteria == ("min_normalised_collision_ratio", "collapsed_fraction",
                                      "first_layer_certified_non_injective")


def test_cor2_is_judged_by_its_criteria_and_only_under_theorem_1s_assumptions():
    from verify.presets import Config
    from verify.spec import LayerSpec, NetworkSpec
    from verify.weights import WeightLaw

    res = run_check("injectivity", "theory-2layer", seed=0, quick=True, draws=1)
    (v,) = [v for v in res.statements if v.statement == "cor2"]
    assert v.verdict == "holds" and len(v.criteria) == 3
    collapsed = next(c for c in res.criteria if c.name == "collapsed_fraction")
    assert collapsed.bound == 0.0 and collapsed.sense == "<="  # any collapse fails it
    u01 = Config("cor2-u01", NetworkSpec(dims=1, latent_channels=2, layers=(
        LayerSpec(8, 4, 4),)), WeightLaw("uniform01"))
    (v,) = [v for v in run_check("injectivity", u01, seed=0, quick=True, draws=1).statements
            if v.statement == "cor2"]
    assert v.verdict == "not applicable" and "Gaussian" in v.why
