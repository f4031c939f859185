"""Batched inversion (lemmas/README.md, section 9): gradients, recovery, negation safeguards,
the LP solver, Wilson intervals, the logistic fit of phase transitions, bad input, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.cli import main
from verify.errors import VerifyError
from verify.inversion import (ArcLoss, BatchLastLoss, EngineLoss, InvertOptions, Loss, invert,
                              invert_lp, measure, recover, relative_errors, run_recovery,
                              select_loss)
from verify.objective import Objective
from verify.measurements import Subsampling, sample_masks
from verify.phase import fit_logistic, monotonicity, noise_sweep
from verify.presets import get_preset
from verify.spec import LayerSpec, NetworkSpec, block_spec
from verify.stats import exact_interval, mean_interval, wilson_interval, zero_failure_bound
from verify.strategies import conv_architectures, seeds
from verify.weights import draw_network

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics

EPS = np.finfo(float).eps
#: The two backends sum the same products in a different order: a few hundred ulps of
#: the largest term is rounding, not a difference of formula.
ROUNDING = 256 * EPS


def _small_theory(seed=1):
    """1-D, latent 4, stride = kernel, C_i l >= 4 C_{i-1} log C_{i-1} in both layers."""
    return draw_network(block_spec(1, (4, 32, 64), (2, 2)), rng=seed)


# ----------------------------------------------------------------- gradients
@settings(max_examples=8)
@given(spec=conv_architectures(min_layers=1, max_layers=3, max_channels=5, padding=True,
                               activations=("relu", "leaky_relu", "tanh", "sigmoid"),
                               max_latent_size=2, max_output=600),
       affine=st.booleans(), seed=seeds())
def test_batch_last_loss_equals_engine(spec, affine, seed):
    """J and grad J of the batch-last loop equal the engine's forward_with_cache + vjp."""
    if affine:
        spec = NetworkSpec(spec.dims, spec.latent_channels,
                           tuple(LayerSpec(l.channels, l.kernel, l.stride, l.padding,
                                           l.activation, l.slope, True) for l in spec.layers),
                           spec.latent_size)
    net = draw_network(spec, rng=seed)
    rng = np.random.default_rng(seed)
    b = 3
    z = rng.normal(size=(spec.latent_dim, b))
    y = rng.normal(size=(spec.output_dim, b))
    w = (rng.random(y.shape) < 0.6).astype(float)
    batch_last, engine = select_loss(net, "batch-last"), select_loss(net, "engine")
    l1, g1 = batch_last.value_and_grad(z, y, w)
    g1 = g1.copy()
    l2, g2 = engine.value_and_grad(z, y, w)
    scale_l = max(1.0, float(np.max(np.abs(l2))))
    scale_g = max(1.0, float(np.max(np.abs(g2))))
    assert np.max(np.abs(l1 - l2)) <= ROUNDING * scale_l * spec.output_dim
    assert np.max(np.abs(g1 - g2)) <= ROUNDING * scale_g * spec.output_dim
    # forward and value agree too (the protocol's other two methods)
    f1, f2 = batch_last.forward(z), engine.forward(z)
    assert np.max(np.abs(f1 - f2)) <= ROUNDING * max(1.0, float(np.max(np.abs(f2)))) * spec.output_dim
    assert np.max(np.abs(batch_last.value(z, y, w) - l2)) <= ROUNDING * scale_l * spec.output_dim
    assert np.max(np.abs(engine.value(z, y, w) - l2)) <= ROUNDING * scale_l * spec.output_dim


def test_select_loss_picks_each_backend_through_the_public_protocol():
    fig4 = get_preset("paper-fig4").instantiate(0).network
    chosen = {
        ("auto", "adam", None): ArcLoss, ("auto", "adam", "restart"): ArcLoss,
        ("auto", "adam", "flip"): BatchLastLoss, ("auto", "gd", None): BatchLastLoss,
        ("arcs", "adam", None): ArcLoss, ("batch-last", "adam", None): BatchLastLoss,
        ("engine", "adam", None): EngineLoss, ("engine", "gd", "flip"): EngineLoss,
    }
    for (backend, method, negation), cls in chosen.items():
        loss = select_loss(fig4, backend, method, negation)
        assert type(loss) is cls and isinstance(loss, Loss)
        assert loss.name == {ArcLoss: "arcs", BatchLastLoss: "batch-last", EngineLoss: "engine"}[cls]
    assert type(select_loss(_small_theory())) is BatchLastLoss  # latent 4: no arc tables
    for bad in (dict(backend="arcs", method="gd"), dict(backend="arcs", negation="flip"),
                dict(backend="numpy")):
        with pytest.raises(VerifyError, match="backend"):
            select_loss(fig4, **bad)


def test_gradient_matches_objective_on_one_mask():
    net = get_preset("paper-fig4").instantiate(0).network
    rng = np.random.default_rng(0)
    mask = sample_masks("random", net.spec.output_shape, 0.4, 1, rng=rng)[0]
    z_star, z = rng.normal(size=2), rng.normal(size=2)
    obj = Objective.from_truth(net, Subsampling(mask), z_star)
    y = np.where(mask, net.forward(z_star), 0.0)
    val, g = BatchLastLoss(net).value_and_grad(z[:, None], y[:, None], mask[:, None] * 1.0)
    v_ref, g_ref = obj.value_and_gradient(z)
    assert abs(val[0] - v_ref) <= ROUNDING * abs(v_ref)
    assert np.max(np.abs(g[:, 0] - g_ref)) <= ROUNDING * np.max(np.abs(g_ref))


@settings(max_examples=8)
@given(spec=conv_architectures(min_layers=1, max_layers=3, max_channels=5, padding=True,
                               min_latent_channels=2, max_latent_channels=2,
                               max_output=600),
       seed=seeds())
def test_arc_loss_equals_batch_last(spec, seed):
    """The piecewise-linear tables of a 2-D-latent ReLU network give the same J and
    grad J as the layer-by-layer passes, at z = 0 too (ReLU'(0) = 0: gradient 0)."""
    net = draw_network(spec, rng=seed)
    arcs = ArcLoss.build(net)
    assert arcs is not None and arcs.n_arcs >= 1
    rng = np.random.default_rng(seed)
    b = 7
    z = rng.normal(size=(2, b))
    z[:, -1] = 0.0
    y = rng.normal(size=(spec.output_dim, b))
    w = (rng.random(y.shape) < 0.6).astype(float)
    y *= w
    l1, g1 = BatchLastLoss(net).value_and_grad(z, y, w)
    g1 = g1.copy()
    l2, g2 = arcs.value_and_grad(z, y, w)
    # the quadratic form J = 1/2 z^T Q z - c^T z + k sums O(n_d) terms of size ||y||^2
    scale_l = max(1.0, float(np.max(l1)), float(np.max(np.sum(y * y, axis=0))))
    scale_g = max(1.0, float(np.max(np.abs(g1))))
    assert np.max(np.abs(l1 - l2)) <= ROUNDING * scale_l * spec.output_dim
    assert np.max(np.abs(g1 - g2)) <= ROUNDING * scale_g * spec.output_dim
    assert np.all(g2[:, -1] == 0.0)
    # a second call at new points re-reads the arcs (the per-trial cache follows z)
    z2 = -z[:, ::-1].copy()
    l1, g1 = BatchLastLoss(net).value_and_grad(z2, y, w)
    g1 = g1.copy()
    l2, g2 = arcs.value_and_grad(z2, y, w)
    assert np.max(np.abs(g1 - g2)) <= ROUNDING * max(1.0, float(np.max(np.abs(g1)))) * spec.output_dim


def test_gauss_newton_step_lands_on_the_region_minimiser():
    """Inside z*'s linear region J is the quadratic 1/2 ||A (M z - M z*)||^2 with Hessian
    exactly J_G^T A^T A J_G, so one full Gauss-Newton step from a nearby point reaches
    z*; the damped search gets there too and stops (J = 0 to rounding)."""
    from verify.inversion import damped_newton, gauss_newton_direction
    from verify.measurements import MaskBatch

    net = _small_theory()
    rng = np.random.default_rng(5)
    b = 4
    z_star = rng.normal(size=(b, 4))
    z = z_star + 1e-6 * rng.normal(size=z_star.shape)  # same activation pattern
    masks = sample_masks("random", net.spec.output_shape, 0.5, b, rng=rng)
    y = measure(net, z_star, masks)

    def objective(rows):
        return Objective(net, MaskBatch(masks[rows]), y[rows])

    rows = np.arange(b)
    val, g, d, g_jac = gauss_newton_direction(objective(rows), z, masks.astype(float))
    assert np.max(np.abs(g - g_jac)) <= ROUNDING * net.spec.output_dim * np.max(np.abs(g))
    assert np.max(relative_errors(z - d, z_star)) <= 1e-8
    y2 = np.sum(y * y, axis=1)
    end, evals = damped_newton(
        z, lambda r, zr: gauss_newton_direction(objective(r), zr, masks[r].astype(float))[::2],
        lambda r, zc: objective(r).value(zc), iters=5,
        at_rounding=lambda r, cur: cur <= 1e-26 * y2[r], min_step=np.zeros(b))
    assert np.max(relative_errors(end, z_star)) <= 1e-8 and b <= evals <= 5 * b


def test_backend_choice():
    fig4 = get_preset("paper-fig4").instantiate(0).network
    y = measure(fig4, np.ones((1, 2)))
    assert invert(fig4, y, iterations=2).settings["backend"] == "arcs"
    assert invert(fig4, y, iterations=2, negation="flip").settings["backend"] == "batch-last"
    assert invert(fig4, y, iterations=2, method="gd").settings["backend"] == "batch-last"
    theory = _small_theory()  # latent 4: no arc tables
    y4 = measure(theory, np.ones((1, 4)))
    assert invert(theory, y4, iterations=2).settings["backend"] == "batch-last"
    with pytest.raises(VerifyError, match="backend"):
        invert(fig4, y, iterations=2, method="gd", backend="arcs")


def test_arc_backend_gives_the_batch_last_answers():
    """Same Adam, same starts: the same verdicts, and the answers agree far below the
    success threshold (the gradients differ by rounding, which Adam's normalised steps
    can amplify near a minimum; 1e-6 is 1/1000 of SUCCESS_TOL)."""
    net = get_preset("paper-fig4").instantiate(0).network
    rng = np.random.default_rng(7)
    masks = sample_masks("random", net.spec.output_shape, 0.5, 24, rng=rng)
    z_star, init = rng.normal(size=(24, 2)), rng.normal(size=(24, 2))
    y = measure(net, z_star, masks)
    kw = dict(method="adam", lr=0.01, iterations=400, tol=0.0, init=init)
    a = invert(net, y, masks, backend="arcs", **kw)
    b = invert(net, y, masks, backend="batch-last", **kw)
    ea, eb = relative_errors(a.z_hat, z_star), relative_errors(b.z_hat, z_star)
    assert np.array_equal(ea <= 1e-3, eb <= 1e-3) and (ea <= 1e-3).any()
    assert np.max(np.abs(a.z_hat - b.z_hat)) <= 1e-6
    assert np.max(np.abs(a.loss - b.loss)) <= 1e-6 * max(1.0, float(np.max(b.loss)))


# ----------------------------------------------------------------- recovery
def test_recovery_succeeds_at_high_rate_and_fails_at_very_low_rate():
    net = _small_theory()
    rng = np.random.default_rng(2)
    z_star = rng.normal(size=(30, net.spec.latent_dim))
    hi = recover(net, z_star, sample_masks("random", net.spec.output_shape, 0.5, 30, rng=rng),
                 rng=rng, method="gd", negation="flip", iterations=400)
    # 2 observed entries for 4 unknowns: the answer is not determined
    lo = recover(net, z_star, sample_masks("random", net.spec.output_shape, 2 / 256, 30, rng=rng),
                 rng=rng, method="gd", negation="flip", iterations=400)
    assert hi.recovered == 30 and hi.ci_low > 0.88
    assert lo.success_rate <= 0.1 and lo.ci_high < 0.3
    assert hi.median_rel_error < 1e-6 < lo.median_rel_error


def test_negation_safeguard_rescues_runs_started_at_minus_rho_z():
    """From z0 = -rho z* (rho = 0.32, near H&V's negative critical point) plain descent
    is trapped on some trials; restart and flip recover every one."""
    net = get_preset("paper-fig4").instantiate(0).network
    z_star = np.random.default_rng(3).normal(size=(20, 2))
    y = measure(net, z_star)
    errs = {}
    for neg in (None, "restart", "flip"):
        r = invert(net, y, None, init=-0.32 * z_star, negation=neg, method="gd", iterations=500)
        errs[neg] = relative_errors(r.z_hat, z_star)
    assert np.sum(errs[None] > 0.1) >= 1
    assert np.all(errs["restart"] < 1e-6)
    assert np.all(errs["flip"] < 1e-6)


def test_batched_equals_one_at_a_time_and_frozen_trials_stop():
    net = get_preset("paper-fig4").instantiate(0).network
    rng = np.random.default_rng(4)
    masks = sample_masks("random", net.spec.output_shape, 0.5, 6, rng=rng)
    z_star, init = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    y = measure(net, z_star, masks)
    kw = dict(method="adam", lr=0.01, iterations=300, tol=1e-7)
    batch = invert(net, y, masks, init=init, **kw)
    for t in range(6):
        one = invert(net, y[t:t + 1], masks[t:t + 1], init=init[t:t + 1], **kw)
        assert one.iterations[0] == batch.iterations[t]
        assert np.allclose(one.z_hat[0], batch.z_hat[t], rtol=1e-9, atol=1e-12)
    assert batch.converged.any() and np.all(batch.iterations[batch.converged] < 300)


def test_same_seed_same_bits():
    opts = InvertOptions(trials=8, method="gd", iterations=100)
    a = run_recovery("paper-fig4", opts, 5).stats
    b = run_recovery("paper-fig4", opts, 5).stats
    assert np.array_equal(a.result.z_hat, b.result.z_hat)
    assert np.array_equal(a.rel_error, b.rel_error)


def test_cli_and_api_run_the_same_experiment(capsys):
    """``verify invert`` is run_recovery: same preset, options and seed, same numbers."""
    code = main(["invert", "--preset", "paper-fig4", "--trials", "12", "--iterations", "200",
                 "--mask", "top", "--seed", "7", "--json"])
    out = json.loads(capsys.readouterr().out)
    api = run_recovery("paper-fig4", InvertOptions(kind="top", trials=12, iterations=200), 7)
    assert code == 0
    assert out["recovered"] == api.stats.recovered
    assert out["median_rel_error"] == api.stats.median_rel_error
    assert out["iterations"] == float(np.median(api.stats.iterations))


def test_experiment_draws_masks_then_truths_from_the_check_stream():
    """The documented order: masks, then z*, from the check stream (rng.Streams)."""
    from verify.rng import Streams

    r = run_recovery("paper-fig4", InvertOptions(trials=5, iterations=5), 3)
    gen = Streams(3).check()
    masks = sample_masks("random", r.config.spec.output_shape, 0.5, 5, rng=gen)
    assert np.array_equal(gen.normal(size=(5, 2)), r.stats.z_star)
    assert r.observed == masks.mean()


@pytest.mark.parametrize("kwargs, name", [
    (dict(trials=0), "--trials"), (dict(kind="spiral"), "--mask"), (dict(rate=0.0), "--rate"),
    (dict(method="sgd"), "--method"), (dict(negation="maybe"), "--negation"),
    (dict(success_tol=0.0), "--success-tol"), (dict(noise=-1.0), "--noise"),
    (dict(lr=float("inf")), "--lr")])
def test_invert_options_are_validated_once_with_the_callers_names(kwargs, name):
    with pytest.raises(VerifyError, match=f"^{name}:"):
        InvertOptions(**kwargs, where="--")
    with pytest.raises(VerifyError, match="sweep.invert.nope"):
        InvertOptions.from_mapping({"nope": 1}, where="sweep.invert.")


def test_non_convergence_is_reported_not_raised():
    net = _small_theory()
    r = recover(net, np.ones((3, net.spec.latent_dim)), rng=0, method="adam", iterations=2)
    assert not r.result.converged.any() and r.recovered == 0


# ----------------------------------------------------------------- LP solver
def test_lp_inversion_is_exact_on_an_expansive_relu_layer():
    net = draw_network(NetworkSpec(1, 5, (LayerSpec(40, 1, 1),)), rng=0)
    z_star = np.random.default_rng(0).normal(size=(4, 5))
    res = invert_lp(net, measure(net, z_star))
    assert np.all(res.status == 0) and np.all(res.slack <= 1e-9)
    assert np.all(relative_errors(res.z_hat, z_star) < 1e-10)


def test_lp_inversion_two_layers_partial_observation():
    net = _small_theory()
    rng = np.random.default_rng(1)
    masks = sample_masks("random", net.spec.output_shape, 0.5, 3, rng=rng)
    z_star = rng.normal(size=(3, net.spec.latent_dim))
    res = invert_lp(net, measure(net, z_star, masks), masks)
    assert np.all(relative_errors(res.z_hat, z_star) < 1e-8)


def test_lp_refuses_non_relu():
    net = get_preset("paper-fig4-tanh").instantiate(0).network
    with pytest.raises(VerifyError, match="network"):
        invert_lp(net, np.zeros(net.spec.output_dim))


# ----------------------------------------------------------------- statistics
@pytest.mark.parametrize("k, n, low, high", [
    # Newcombe (1998), Stat. Med. 17:857, Table I, method 3 (Wilson score, no correction)
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718)])
def test_wilson_interval_matches_reference_table(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert abs(lo - low) < 5e-5 and abs(hi - high) < 5e-5  # the table's 4 decimals


@pytest.mark.parametrize("k, n, low, high", [
    # Newcombe (1998), Stat. Med. 17:857, Table I, method 5 (Clopper-Pearson "exact");
    # 0/20 is also the closed form 1 - 0.025^(1/20)
    (81, 263, 0.2527, 0.3676), (15, 148, 0.0578, 0.1617), (0, 20, 0.0, 0.1684),
    (1, 29, 0.0009, 0.1776)])
def test_exact_interval_matches_reference_values(k, n, low, high):
    lo, hi = exact_interval(k, n)
    assert abs(lo - low) < 5e-5 and abs(hi - high) < 5e-5


@given(n=st.integers(1, 400), data=st.data())
@settings(max_examples=30)
def test_binomial_intervals_at_the_edges(n, data):
    """Both intervals contain k/n and touch 0 exactly at k = 0 and 1 exactly at k = n
    (no rounding residue for callers to allow for); no trial gives (0, 1)."""
    k = data.draw(st.integers(0, n), label="k")
    for lo, hi in (wilson_interval(k, n), exact_interval(k, n)):
        assert type(lo) is float and type(hi) is float
        assert 0.0 <= lo <= k / n <= hi <= 1.0
        assert (lo == 0.0) == (k == 0) and (hi == 1.0) == (k == n)
    assert wilson_interval(0, 0) == exact_interval(0, 0) == (0.0, 1.0)


def test_interval_arguments_are_checked():
    for bad in ((3, 2), (-1, 2), (1, -1), (0.5, 2)):
        with pytest.raises(VerifyError):
            wilson_interval(*bad)
        with pytest.raises(VerifyError):
            exact_interval(*bad)
    with pytest.raises(VerifyError):
        wilson_interval(1, 2, confidence=1.0)


def test_zero_failure_bound_is_the_one_sided_exact_limit():
    from scipy import stats

    for n in (1, 3, 10, 402):
        ref = stats.binomtest(0, n, alternative="less").proportion_ci(0.95, "exact").high
        assert abs(zero_failure_bound(n) - ref) <= 1e-10  # scipy's root finder: ~1e-12
    assert abs(zero_failure_bound(100) - 3 / 100) < 0.001  # the rule of three
    assert zero_failure_bound(0) == 1.0


def test_mean_interval_is_students_t():
    from scipy import stats

    x = np.array([1.0, 2.0, 3.0, 4.5])
    m, lo, hi = mean_interval(x)
    ci = stats.ttest_1samp(x, 0.0).confidence_interval(0.95)
    assert m == 2.625 and abs(lo - ci.low) <= 1e-12 and abs(hi - ci.high) <= 1e-12
    # golden: 2.625 -+ t_{0.975, 3} * s / 2 with t_{0.975, 3} = 3.18245
    assert abs(hi - m - 3.18245 * np.std(x, ddof=1) / 2) < 1e-4
    assert mean_interval(np.full(5, 0.3)) == (0.3, 0.3, 0.3)
    assert np.isnan(mean_interval(np.array([1.0]))[1])


def test_logistic_fit_recovers_a_synthetic_transition():
    rng = np.random.default_rng(7)
    rates = np.linspace(0.05, 0.95, 10)
    n = np.full(10, 200)
    true_r50, true_k = 0.42, 25.0
    s = rng.binomial(n, 1 / (1 + np.exp(-true_k * (rates - true_r50))))
    fit = fit_logistic(rates, s, n)
    assert fit.r50_low <= true_r50 <= fit.r50_high
    assert abs(fit.r50 - true_r50) < 0.02 and fit.r50_high - fit.r50_low < 0.05
    assert 0.5 * true_k < fit.slope < 2 * true_k and fit.censored == ""
    allgood = fit_logistic(rates, n, n)
    assert allgood.censored == "below" and allgood.r50_high <= rates[0]


def test_monotonicity_flags_only_significant_drops():
    rates = [0.1, 0.2, 0.3]
    assert monotonicity(rates, [0.0, 0.3, 0.8], [0.2, 0.7, 1.0]) < 0
    assert monotonicity(rates, [0.0, 0.8, 0.1], [0.2, 1.0, 0.5]) > 0


def test_noise_error_grows_linearly():
    net = _small_theory()
    res = noise_sweep(net, sigma_rel=(1e-4, 1e-3, 1e-2), trials=6, rng=0, method="gd",
                      negation="flip", iterations=400)
    assert 0.9 < res.slope < 1.1
    assert np.all(np.diff(res.table.median_rel_error) > 0)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, name", [
    (dict(y=np.full((2, 289), np.nan)), "y"),
    (dict(y=np.zeros((2, 10))), "y"),
    (dict(masks=np.zeros((2, 289), bool)), "masks"),
    (dict(method="newton"), "method"),
    (dict(negation="always"), "negation"),
    (dict(iterations=0), "iterations"),
    (dict(lr=-1.0), "lr"),
    (dict(init=np.zeros((2, 3))), "init"),
])
def test_invert_refuses_bad_input_by_name(kwargs, name):
    net = get_preset("paper-fig4").instantiate(0).network
    args = dict(y=np.zeros((2, 289)), masks=None)
    args.update(kwargs)
    y, masks = args.pop("y"), args.pop("masks")
    with pytest.raises(VerifyError, match=f"^{name}:"):
        invert(net, y, masks, **args)


@pytest.mark.parametrize("kwargs, name", [
    (dict(noise=float("nan")), "noise"), (dict(noise=-1.0), "noise"),
    (dict(z_star=np.zeros((3, 5))), "z_star"), (dict(success_tol=0.0), "success_tol")])
def test_recover_refuses_bad_input_by_name(kwargs, name):
    net = get_preset("paper-fig4").instantiate(0).network
    z_star = kwargs.pop("z_star", np.ones((3, 2)))
    with pytest.raises(VerifyError, match=f"^{name}:"):
        recover(net, z_star, **kwargs)


@pytest.mark.parametrize("kind, rate, trials, name", [
    ("random", 0.0, 3, "rate"), ("random", 1.5, 3, "rate"), ("spiral", 0.5, 3, "mask"),
    ("random", 0.5, 0, "trials")])
def test_sample_masks_refuse_bad_input(kind, rate, trials, name):
    with pytest.raises(VerifyError, match=f"^{name}:"):
        sample_masks(kind, (1, 17, 17), rate, trials)


# ----------------------------------------------------------------- CLI
def test_cli_invert_json_keys(capsys):
    code = main(["invert", "--preset", "paper-fig4", "--mask", "top", "--rate", "0.5",
                 "--trials", "5", "--iterations", "60", "--method", "gd", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("trials", "recovered", "success_rate", "ci_low", "ci_high",
                "median_rel_error", "iterations", "elapsed_s", "config", "seed"):
        assert key in out
    assert out["trials"] == 5 and out["ci_low"] <= out["success_rate"] <= out["ci_high"]
    assert out["config"]["invert"]["mask"] == "top"


@pytest.mark.parametrize("argv, name", [
    (["--rate", "0"], "--rate"), (["--rate", "2"], "--rate"), (["--mask", "spiral"], "--mask"),
    (["--noise", "nan"], "--noise"), (["--noise", "inf"], "--noise"), (["--trials", "0"], "--trials")])
def test_cli_invert_bad_input_exits_2(argv, name, capsys):
    assert main(["invert", *argv]) == 2
    err = capsys.readouterr().err
    assert name in err and err.count("\n") == 1


def test_batch_last_loss_takes_a_position_dependent_bias():
    """A conditional generator with its class fixed (digits-gan) has a bias per output
    position on its first layer; the batch-last loss broadcasts it and agrees with the
    engine's loss (value and gradient, to rounding), so recovery on it runs the fast path."""
    net = get_preset("digits-gan").instantiate(0).network
    assert np.size(net.weights[0].bias) > net.spec.channels[1]   # not one per channel
    rng = np.random.default_rng(5)
    b = 5
    z = rng.normal(size=(net.spec.latent_dim, b))
    y = rng.normal(size=(net.spec.output_dim, b))
    w = (rng.random(y.shape) < 0.5).astype(float)
    l1, g1 = BatchLastLoss(net).value_and_grad(z, y, w)
    g1 = g1.copy()
    l2, g2 = EngineLoss(net).value_and_grad(z, y, w)
    assert np.max(np.abs(l1 - l2)) <= 1e-10 * max(1.0, float(np.max(np.abs(l2))))
    assert np.max(np.abs(g1 - g2)) <= 1e-10 * max(1.0, float(np.max(np.abs(g2))))
