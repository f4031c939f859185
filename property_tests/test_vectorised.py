"""The vectorised hot steps give the numbers of the paths they replaced (kept as the
baselines of ``verify bench`` in verify/benchmarks/), on small inputs."""

from __future__ import annotations

import numpy as np
import pytest

from verify.benchmarks import landscape as bench_landscape
from verify.geometry import grid as vg
from verify.geometry.explicit import ExplicitJ
from verify.measurements import GaussianMeasurement
from verify.objective import Objective
from verify.presets import get_preset

pytestmark = pytest.mark.numerics


@pytest.mark.parametrize("preset", ["paper-fig4-sigmoid", "paper-fig4-tanh", "paper-fig4"])
def test_observed_rows_J_is_the_full_outputs_J_bit_for_bit(preset):
    """J from the observed rows only equals, bit for bit, J from every output with the
    observed columns picked (the replaced path), and the engine's J to rounding."""
    inst = get_preset(preset).instantiate(0)
    net, A = inst.network, inst.measurement
    rng = np.random.default_rng(0)
    z_star = rng.standard_normal(2)
    obj = Objective.from_truth(net, A, z_star)
    Z = z_star + rng.uniform(-3, 3, (300, 2))
    ours = ExplicitJ(obj)(Z)
    assert np.array_equal(ours, bench_landscape.full_output_J(obj)(Z))
    engine = obj.value(Z)
    assert np.max(np.abs(ours - engine)) <= 1e-12 * np.max(engine)
    # a batch's J is each code's own: the same in any chunk
    assert np.array_equal(ours[:7], ExplicitJ(obj)(Z[:7]))


def test_dense_measurement_takes_the_full_outputs():
    inst = get_preset("paper-fig4-sigmoid").instantiate(0)
    net = inst.network
    A = GaussianMeasurement(net.spec.output_dim, 0.2, rng=np.random.default_rng(1))
    z_star = np.array([0.4, -1.1])
    obj = Objective.from_truth(net, A, z_star)
    Z = np.random.default_rng(2).normal(size=(50, 2))
    ours = ExplicitJ(obj)(Z)
    assert np.max(np.abs(ours - obj.value(Z))) <= 1e-12 * np.max(obj.value(Z))


def test_given_ends_are_the_evaluated_ends():
    """quasiconvexity_violation with the ends' values given (read from the grid) equals
    the one that evaluates them, and the replaced segment step."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-2, 2, (200, 2)), rng.uniform(-2, 2, (200, 2))

    def f(Z):
        return np.sin(3 * Z[:, 0]) * np.cos(2 * Z[:, 1]) + 0.1 * np.sum(Z * Z, axis=1)

    ours = vg.quasiconvexity_violation(f, a, b, n_t=9, ends=(f(a), f(b)))
    assert np.array_equal(ours, vg.quasiconvexity_violation(f, a, b, n_t=9))
    assert np.array_equal(ours, bench_landscape.violation_reevaluating_ends(f, a, b, n_t=9))


def test_a_draws_window_work_is_the_replaced_paths():
    """The bench case's two sides (grid J, the criterion's segments, the sweep) agree bit
    for bit at the --quick draw sizes, shrunk."""
    from lemmas.landscape import sample_sizes

    inst = get_preset("paper-fig4-tanh").instantiate(0)
    st = {**sample_sizes(True, None, draw=True), "grid": 41, "segments": 60}
    ours = bench_landscape.window_work(inst.network, inst.measurement, st, 2, baseline=False)
    base = bench_landscape.window_work(inst.network, inst.measurement, st, 2, baseline=True)
    for x, y in zip(ours, base):
        assert x.shape == y.shape and np.array_equal(x, y)


# ------------------------------------------------------------------ descent's search
@pytest.mark.parametrize("preset", ["theory-2layer-2d", "theory-3layer-overlap", "digits-glo"])
def test_shared_forward_direction_is_the_engines_bit_for_bit(preset):
    """One forward pass for grad J and J_G (and the rows' measurement RowMasks) gives
    the engine's gauss_newton_direction through MaskBatch, bit for bit: strided and
    block layers, affine layers, rows of one mask and of both."""
    from verify.benchmarks.descent import direction_rows, engine_direction, shared_direction

    problem, z, s, k = direction_rows(preset, rows=10, seed=1)
    for rows_s in (s, np.zeros_like(s), np.ones_like(s)):
        ours = shared_direction(problem, z, rows_s, k)
        base = engine_direction(problem, z, rows_s, k)
        assert all(np.array_equal(a, b) for a, b in zip(ours, base))


def test_row_masks_are_mask_batch():
    from verify.geometry.rowmasks import MaskSet
    from verify.measurements import MaskBatch

    rng = np.random.default_rng(0)
    masks = np.stack([np.ones(50, bool), rng.random(50) < 0.5, rng.random(50) < 0.2])
    x = rng.normal(size=(7, 50))
    x[0, :3] = -0.0
    for s in (np.array([0, 0, 1, 1, 2, 2, 2]), np.zeros(7, int), np.full(7, 2),
              rng.integers(0, 3, 7)):
        ours = MaskSet(masks).rows(s)
        base = MaskBatch(masks[s])
        for f in ("forward", "adjoint"):
            a, b = getattr(ours, f)(x), getattr(base, f)(x)
            assert np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))
        assert np.array_equal(ours.observed, base.observed)


def test_problem_value_and_gradient_are_value_and_gradient():
    from verify.benchmarks.descent import direction_rows

    problem, z, s, k = direction_rows("theory-2layer-2d", rows=12, seed=2)
    val, g = problem.value_and_gradient(z, s, k)
    assert np.array_equal(val, problem.value(z, s, k))
    assert np.array_equal(g, problem.gradient(z, s, k))


# ------------------------------------------------------- trained-recovery's restarts
def test_a_restart_round_batched_is_each_trial_alone():
    """The round's batch (any masks, one invert) gives each trial the code it gets
    alone (the bench case's two sides)."""
    from verify.benchmarks import trained_recovery as tr

    net, y, masks, init = tr.round_inputs(5, seed=3)
    assert np.array_equal(tr.batched(net, y, masks, init, 6), tr.per_trial(net, y, masks, init, 6))
