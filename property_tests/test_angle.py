"""Angle contraction (Lemma Sup.4): the angle map g, the conv prediction theta_bar, the
patch generalisation, the a-priori constants and the check's verdicts."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lemmas import angle as A
from verify.formulas import angle, angle_map, theta_bar
from verify.geometry import angles as AG
from verify.presets import get_preset
from verify.registry import get_check, run_check
from verify.spec import LayerSpec, NetworkSpec
from verify.strategies import conv_architectures, seeds
from verify.weights import draw_network

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics

#: arccos near 0 turns rounding ~eps of a cosine into ~sqrt(eps) of an angle.
SQRT_TOL = 16 * math.sqrt(np.finfo(float).eps)

thetas = st.floats(0.0, math.pi, allow_nan=False)
finite = st.floats(-10, 10, allow_nan=False, allow_subnormal=False)


# ------------------------------------------------------------------- golden values
def test_golden_angle_map():
    assert angle_map(0.0) == 0.0
    assert abs(angle_map(math.pi) - math.pi / 2) <= 4 * np.finfo(float).eps
    # g(pi/2) = arccos(1/pi): c(pi/2) = 1/pi exactly
    assert abs(angle_map(math.pi / 2) - math.acos(1 / math.pi)) <= 4 * np.finfo(float).eps


# ---------------------------------------------------------- properties of g(theta)
@given(thetas, thetas)
def test_g_properties(t1, t2):
    g1, g2 = float(angle_map(t1)), float(angle_map(t2))
    assert 0.0 <= g1 <= t1 + SQRT_TOL
    assert g1 <= math.pi / 2 + 1e-15
    if t1 > 0:
        assert g1 <= 1 / (1 / (3 * math.pi) + 1 / t1) + SQRT_TOL     # H&V upper bound
        assert g1 >= t1 / (1 + t1 / math.pi) - SQRT_TOL              # hence g >= t/2
    lo, hi = sorted((t1, t2))
    glo, ghi = float(angle_map(lo)), float(angle_map(hi))
    assert glo <= ghi + SQRT_TOL                                      # g' >= 0
    assert ghi - glo <= hi - lo + SQRT_TOL                            # g' <= 1


def test_sigma_angle_matches_monte_carlo():
    """The a-priori constant: the quadrature of the per-row influence std against a
    Monte Carlo estimate (2e5 rows, 3 angles); MC standard error ~ 0.5%, tolerance 3%."""
    rng = np.random.default_rng(7)
    g = rng.standard_normal((200_000, 2))
    for th in (0.5, 1.0, 2.0):
        x, y = np.array([1.0, 0.0]), np.array([math.cos(th), math.sin(th)])
        a, b = np.maximum(g @ x, 0), np.maximum(g @ y, 0)
        c = math.cos(float(angle_map(th)))
        psi = (2 * a * b - c * (a * a + b * b)) / math.sin(float(angle_map(th)))
        assert abs(psi.std() / AG.angle_influence_std(th)[0] - 1) < 0.03
    assert 0.85 < AG.sigma_angle() < 1.0


def test_bounds_shrink_with_width_and_wdc_bound():
    assert AG.gap_bound(8, 512) < AG.gap_bound(8, 128)
    assert math.isclose(AG.gap_bound(8, 512) / AG.gap_bound(8, 128), 0.5)
    assert AG.wdc_angle_bound(0.0) == 0.0
    assert AG.wdc_angle_bound(0.3) == math.pi or AG.wdc_angle_bound(0.3) > 1.5
    assert AG.gap_bound(3, AG.required_rows(3)) <= AG.INFORMATIVE < AG.gap_bound(3, AG.required_rows(3) - 1)


# ------------------------------------------------- theta_bar (conv prediction)
@st.composite
def position_pairs(draw):
    p = draw(st.integers(1, 6))
    c = draw(st.integers(1, 5))
    x = draw(arrays(np.float64, (p, c), elements=finite))
    y = draw(arrays(np.float64, (p, c), elements=finite))
    return x, y


@given(position_pairs())
def test_theta_bar_below_input_angle_and_above_half(pair):
    x, y = pair
    if not (np.linalg.norm(x) > 1e-3 and np.linalg.norm(y) > 1e-3):
        return
    th = float(angle(x.ravel(), y.ravel()))
    tb = theta_bar(x, y)
    assert tb <= th + SQRT_TOL            # lemmas/README.md, section 3
    assert tb >= th / 2 - SQRT_TOL        # the non-vanishing floor (lemmas.angle.RATIO_FLOOR)


@settings(max_examples=10)
@given(conv_architectures(strides="kernel", max_layers=1, max_channels=4, max_kernel=3,
                          max_latent_size=3), seeds())
def test_patch_prediction_is_theta_bar_for_stride_equal_kernel(spec, seed):
    rng = np.random.default_rng(seed)
    net = draw_network(spec, rng=rng)
    op = AG.LayerOperator(net, 0, 1.0)
    x, y = rng.standard_normal((2, 4, spec.widths[0]))
    pred, th_in = op.predict(x, y)[:2]
    for b in range(4):
        xp, yp = op.per_position(x[b:b + 1])[0], op.per_position(y[b:b + 1])[0]
        assert abs(pred[b] - theta_bar(xp, yp)) <= SQRT_TOL
        assert abs(th_in[b] - float(angle(x[b], y[b]))) <= SQRT_TOL


@settings(max_examples=10)
@given(conv_architectures(strides="any", padding=True, max_layers=1, max_channels=3,
                          max_kernel=4, max_latent_size=4), seeds())
def test_patch_prediction_matches_explicit_rows(spec, seed):
    """Any stride and padding: the ones-kernel patch sums equal the sums over each row's
    support in the explicit matrix W (rows of one pixel share the patch)."""
    rng = np.random.default_rng(seed)
    net = draw_network(spec, rng=rng)
    op = AG.LayerOperator(net, 0, 1.0)
    x, y = rng.standard_normal((2, 3, spec.widths[0]))
    pred, _, nx, _ = op.predict(x, y)
    S = (abs(net.layer_matrix(0)) > 0).astype(float)
    S.data[:] = 1.0
    rowsum = lambda v: S @ v  # noqa: E731
    XX, YY, XY = rowsum((x * x).T).T, rowsum((y * y).T).T, rowsum((x * y).T).T
    nn = np.sqrt(XX * YY)
    with np.errstate(invalid="ignore", divide="ignore"):
        th = np.arccos(np.clip(XY / nn, -1, 1))
        terms = np.where(nn > 0, (np.sin(th) * nn + (np.pi - th) * XY) / np.pi, 0.0)
    ref = np.arccos(np.clip(terms.sum(1) / np.sqrt(XX.sum(1) * YY.sum(1)), -1, 1))
    assert np.allclose(pred, ref, atol=SQRT_TOL, rtol=0)
    assert np.allclose(nx, XX.sum(1) / 2, rtol=1e-12)


# --------------------------------------------------------------- check machinery
def test_degenerate_pairs_give_nan_and_are_counted():
    B = np.random.default_rng(0).standard_normal((64, 3)) / 8
    op = AG.BlockOperator(B, 1 / 64)
    x = np.array([[0.0, 0, 0], [1.0, 2, 3], [1.0, 0, 0]])
    y = np.array([[1.0, 0, 0], [2.0, 4, 6], [-1.0, 0, 0]])
    r = AG.evaluate_pairs(op, x, y)
    assert np.isnan(r["gap"][0]) and r["zero_in"][0]
    assert r["theta_in"][1] <= SQRT_TOL and r["theta_out"][1] <= SQRT_TOL  # parallel
    assert abs(r["theta_out"][2] - math.pi / 2) <= SQRT_TOL                # antipodal -> pi/2


def test_adversarial_search_improves():
    rng = np.random.default_rng(1)
    target = rng.standard_normal(5)
    obj = lambda x, y: -np.linalg.norm(x - target, axis=1) - np.linalg.norm(y, axis=1)  # noqa
    x0, y0 = rng.standard_normal((2, 6, 5))
    x, y, best = AG.adversarial_search(obj, x0, y0, rng, steps=20, cands=6)
    assert np.all(best >= obj(x0, y0))
    assert np.all(best == obj(x, y))
    assert np.mean(best) > np.mean(obj(x0, y0))


def test_make_pairs_one_dimensional_and_one_channel():
    rng = np.random.default_rng(2)
    for n, pos, ch in ((1, 1, 1), (4, 4, 1), (6, 2, 3)):
        x, y, kinds = AG.make_pairs(n, pos, ch, rng, 16)
        assert x.shape == y.shape and x.shape[1] == n and len(kinds) == len(x)
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(y))


# ------------------------------------------------------------------- verdicts
def test_theory_preset_quick_passes_and_is_deterministic():
    r1 = run_check("angle", "theory-2layer", seed=3, quick=True, draws=1)
    r2 = run_check("angle", "theory-2layer", seed=3, quick=True, draws=1)
    assert r1.passed and r1.expected == "pass", [c.to_dict() for c in r1.criteria if not c.holds]
    assert r1.statistic == r2.statistic and r1.table.equals(r2.table)
    assert r1.details["sweep_slope"] < A.SLOPE_MAX
    assert {"random", "near0", "near_pi", "adversarial", "degenerate"} <= set(r1.table["kind"])


def test_uniform01_weights_fail_on_an_expansive_architecture():
    """Non-zero-mean weights on the theory architecture: the check detects them (not only
    the paper's non-expansive fig4 network)."""
    cfg = get_preset("theory-2layer").with_weights("uniform01")
    r = run_check("angle", cfg, seed=0, quick=True, draws=1)
    assert not r.passed
    failing = {c.name for c in r.criteria if not c.holds}
    assert any("|angle" in n for n in failing)   # the angle gap itself, not just the norm


@settings(max_examples=3)
@given(A.configs(), seeds())
def test_check_passes_on_expansive_stride_kernel_configs(config, seed):
    r = run_check("angle", config, seed=seed % 1000, quick=True, draws=1)
    assert r.passed, [c.to_dict() for c in r.criteria if not c.holds]


@settings(max_examples=3)
@given(A.counter_configs(), seeds())
def test_check_fails_on_counter_configs(config, seed):
    r = run_check("angle", config, seed=seed % 1000, quick=True, draws=1)
    assert not r.passed


def test_requires_relu():
    assert get_check("angle").requires(get_preset("paper-fig4-tanh")) is not None
    assert get_check("angle").requires(get_preset("paper-fig4-uniform01")) is None
    with pytest.raises(ValueError):
        run_check("angle", "paper-fig4-sigmoid", quick=True, draws=1)


def test_figures_draw_from_tables():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(24, 2, 2),))
    from verify.presets import Config
    r = run_check("angle", Config("tiny", spec), seed=0, quick=True, draws=1)
    for fig_fn in get_check("angle").figures:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = fig_fn(r)
        assert len(fig.axes) >= 1
        plt.close(fig)


# ---------------------------------------------------------- ceilings, draws, power
@settings(max_examples=10, deadline=None)
@given(conv_architectures(strides="any", padding=True, max_layers=1, max_channels=3,
                          max_kernel=4, max_latent_size=4), seeds())
def test_norm_ceiling_is_never_exceeded(spec, seed):
    """The relative norm error's trivial ceiling max(1, lam - 1) holds on every pair,
    also on the pair that attains lam (the top generalised eigenvector) and its negation."""
    rng = np.random.default_rng(seed)
    net = draw_network(spec, rng=rng)
    op = AG.LayerOperator(net, 0, 1.0 / (spec.layers[0].channels * spec.layers[0].kernel ** spec.dims))
    ceiling = op.norm_ceiling()
    x = rng.standard_normal((64, spec.widths[0]))
    r = AG.evaluate_pairs(op, x, rng.standard_normal(x.shape))
    assert np.nanmax(r["norm_err"]) <= ceiling * (1 + 1e-9)
    B = net.dense_block(0)
    blk = AG.BlockOperator(B, op.m2)
    rb = AG.evaluate_pairs(blk, rng.standard_normal((64, B.shape[1])), rng.standard_normal((64, B.shape[1])))
    assert np.nanmax(rb["norm_err"]) <= blk.norm_ceiling() * (1 + 1e-9)


@pytest.mark.parametrize("preset", ["theory-2layer", "theory-2layer-2d"])
def test_bounds_below_their_ceilings_on_passing_presets(preset):
    """Every criterion that states a trivial ceiling has its bound below it (the check
    can fail) on the presets where it is expected to pass; the headline states one."""
    r = run_check("angle", preset, seed=0, quick=True, draws=1)
    with_ceiling = [c for c in r.criteria if c.ceiling is not None]
    assert r.criteria[0].ceiling == A.GAP_CEILING  # the headline: pi/2
    assert len(with_ceiling) >= 7 * get_preset(preset).spec.depth
    vacuous = [(c.name, c.bound, c.ceiling) for c in with_ceiling if c.why_uninformative]
    assert not vacuous, vacuous


def test_draw_check_gives_the_full_checks_verdict():
    """Draws 1..N-1 run check_draw: the same settings and criteria on the same streams."""
    from verify.rng import Streams

    s = Streams.of(5).draw(3)
    inst = get_preset("theory-2layer").instantiate(s)
    full = A.check(inst, rng=s.check(), quick=True)
    lean = A.check_draw(inst, rng=s.check(), quick=True)
    assert [c.to_dict() for c in (full.headline,) + full.criteria] == \
        [c.to_dict() for c in (lean.headline,) + lean.criteria]
    assert lean.table.empty and not lean.tables


def test_draw_rule_is_registered_with_a_reason():
    rule = get_check("angle").draw_rule
    assert rule.tolerance == 0.1 and rule.draws >= rule.draws_needed()
    assert "delta" in rule.reason and rule.check is A.check_draw


@pytest.mark.parametrize("case", A.KNOWN_BAD, ids=lambda kb: kb.name)
def test_known_bad_rejected_on_one_draw(case):
    """Each known-bad configuration fails already on its seed's own draw (the common
    test runs the rule's default draws)."""
    r = run_check("angle", case.config, seed=case.seed, quick=True, draws=1)
    assert r.verdict == "fails", r.summary()


def test_the_angle_numerics_use_twins_of_the_closed_forms():
    """verify.geometry.angles keeps its own g(theta) and pair angle (no engine module
    imports a lemma): they agree with verify.formulas to rounding, zero vectors NaN."""
    rng = np.random.default_rng(3)
    th = np.linspace(0.0, math.pi, 257)
    assert np.max(np.abs(AG.angle_map(th) - angle_map(th))) <= 4 * np.finfo(float).eps
    u, v = rng.normal(size=(64, 5)), rng.normal(size=(64, 5))
    v[:4] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = angle(u, v)
    got = AG.pair_angle(u, v)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and np.isnan(got[:4]).all()
    assert np.nanmax(np.abs(got - want)) == 0.0


# ------------------------------------------------------ the statement (sup4-angle)
def test_sup4_angle_registers_the_exact_quote():
    from lemmas import STATEMENTS
    from verify.registry import get_statement

    st_ = get_statement("sup4-angle")
    assert st_.quote == next(q for lab, _, q, _ in STATEMENTS
                             if lab == "Lemma Sup.4 (proof outline)")


def test_sup4_angle_asks_only_that_the_angle_does_not_vanish():
    """The angle's distance to g(theta) / theta_bar and the halved norms are beyond the
    sentence: failing them leaves "does not vanish" holding; a zero output fails it."""
    from verify.registry import get_statement
    from verify.results import Criterion, Outcome
    from verify.statements import judge_outcome

    st_ = get_statement("sup4-angle")
    judge = st_.judges[0].criteria

    def outcome(ratio, zeros):
        return Outcome(
            headline=Criterion("layer 1 conv: largest |angle - theta_bar|", 1.0, 0.3, "<=",
                               ceiling=math.pi / 2),
            criteria=(Criterion("layer 1 block: largest |angle - g(theta)|", 1.0, 0.3, "<="),
                      Criterion("layer 1 conv: largest relative error of x", 2.0, 0.5, "<="),
                      Criterion("layer 1 conv: smallest output/input angle ratio", ratio,
                                0.25, ">=", ceiling=0.0),
                      Criterion("layer 1 block: smallest output/input angle ratio", 0.5,
                                0.25, ">=", ceiling=0.0),
                      Criterion("layer 1: zero outputs of non-zero inputs", zeros, 0, "=="),
                      Criterion("layer 1: max(theta_bar - angle(x, y))", 1.0, 1e-7, "<="),
                      Criterion("layer 1: a-priori gap bound informative", 2.0, 0.78, "<="),
                      Criterion("width sweep: log-log slope of largest gap in m", 0.0, -0.25,
                                "<=")))

    out = outcome(0.5, 0)
    verdict, crits, _ = judge_outcome(judge, out)
    assert verdict == "holds" and len(crits) == 3
    assert [judge_outcome(b.criteria, out)[0] for b in st_.beyond] == ["fails"] * 3
    assert judge_outcome(judge, outcome(0.1, 0))[0] == "fails"
    assert judge_outcome(judge, outcome(0.5, 2))[0] == "fails"


def test_sup4_angle_on_one_quick_draw_reads_its_criteria():
    res = run_check("angle", "theory-2layer", seed=0, quick=True, draws=1)
    (v,) = [v for v in res.statements if v.statement == "sup4-angle"]
    assert v.verdict == "holds" and v.criteria
    assert all("angle ratio" in c.name or "zero outputs" in c.name for c in v.criteria)
    assert len(v.beyond) == 3
