"""The engine: explicit matrices, fast and general passes, exact derivatives.

Tolerances are named with their reason. Identities that hold exactly in floating
point (same products summed in the same order) are compared with ``==``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify import (LayerSpec, LayerWeights, Network, NetworkSpec, Objective, VerifyError,
                    block_spec, draw_network)
from verify.strategies import conv_architectures, seeds

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics

EPS = np.finfo(np.float64).eps
#: Two summation orders of the same n-term dot products differ by at most ~n eps |terms|;
#: 64 n eps relative to the scale of the terms is a safe rounding bound for n <= 10^4.
def rounding_tol(n_terms: int, scale: float) -> float:
    return 64 * n_terms * EPS * max(scale, 1.0)


def direct_sum(net: Network, z: np.ndarray) -> np.ndarray:
    """An independent implementation by explicit sums over every index (tiny sizes)."""
    spec = net.spec
    x = z.reshape(spec.shape(0))
    for i, layer in enumerate(spec.layers):
        f = net.weights[i].filters
        cin, cout = spec.channels[i], spec.channels[i + 1]
        din, dout = spec.sizes[i], spec.sizes[i + 1]
        l, s, p = layer.kernel, layer.stride, layer.padding
        y = np.zeros(spec.shape(i + 1))
        if spec.dims == 1:
            for c, co, pp, k in itertools.product(range(cin), range(cout), range(din), range(l)):
                q = pp * s + k - p
                if 0 <= q < dout:
                    y[co, q] += x[c, pp] * f[c, co, k]
        else:
            for c, co, ph, pw, kh, kw in itertools.product(range(cin), range(cout), range(din),
                                                           range(din), range(l), range(l)):
                qh, qw = ph * s + kh - p, pw * s + kw - p
                if 0 <= qh < dout and 0 <= qw < dout:
                    y[co, qh, qw] += x[c, ph, pw] * f[c, co, kh, kw]
        w = net.weights[i]
        if w.scale is not None:
            y = y * w.scale.reshape((-1,) + (1,) * spec.dims) + w.bias.reshape((-1,) + (1,) * spec.dims)
        from verify import activations
        x = activations.apply(layer.activation, y, layer.slope)
    return x.reshape(-1)


ANY_ARCH = conv_architectures(max_layers=3, max_channels=4, max_kernel=4, padding=True,
                              max_latent_size=3, activations=("relu", "leaky_relu", "tanh",
                                                              "sigmoid", "identity"),
                              max_output=3000)


@given(spec=ANY_ARCH, seed=seeds())
def test_explicit_matrix_equals_general_pass(spec, seed):
    rng = np.random.default_rng(seed)
    net = draw_network(spec, rng=rng)
    z = rng.normal(size=(3, spec.latent_dim))
    general = net.forward(z, path="general")
    explicit = net.explicit_forward(z)
    fan_in = max(l.kernel**spec.dims * c for l, c in zip(spec.layers, spec.channels))
    assert np.max(np.abs(general - explicit)) <= rounding_tol(fan_in, np.max(np.abs(general)))
    # Each layer: W_i @ x == the layer's linear pass (the matrix is the layer).
    x = z
    for i in range(spec.depth):
        lin = net.to_flat(net.conv(i, net.to_internal(x, i), "general"))
        mat = (net.layer_matrix(i) @ x.T).T
        assert np.max(np.abs(lin - mat)) <= rounding_tol(fan_in, np.max(np.abs(lin)))
        x = net.layer_outputs(z)[i]


@given(spec=conv_architectures(strides="kernel", max_layers=3, max_channels=5, max_kernel=4,
                               max_latent_size=2), seed=seeds())
def test_fast_path_equals_general_path_exactly(spec, seed):
    """For s = l, p = 0 the fast reshape and the general scatter add the same single
    product per output entry: bit-identical."""
    rng = np.random.default_rng(seed)
    net = draw_network(spec, rng=rng)
    z = rng.normal(size=(4, spec.latent_dim))
    assert np.array_equal(net.forward(z, path="fast"), net.forward(z, path="general"))
    g = rng.normal(size=(4, spec.output_dim))
    cache = net.forward_with_cache(z, path="fast")
    assert np.array_equal(net.vjp(cache, g, path="fast"), net.vjp(cache, g, path="general"))


@given(spec=conv_architectures(max_layers=2, max_channels=3, max_kernel=3, padding=True,
                               max_latent_size=2, max_output=200,
                               activations=("relu", "tanh")), seed=seeds())
@settings(max_examples=10)
def test_general_path_matches_direct_sum(spec, seed):
    rng = np.random.default_rng(seed)
    net = draw_network(spec, rng=rng)
    z = rng.normal(size=spec.latent_dim)
    ref = direct_sum(net, z)
    out = net.forward(z, path="general")
    assert np.allclose(out, ref, rtol=0, atol=rounding_tol(50, np.max(np.abs(ref))))


def test_fast_path_refused_on_overlapping_stride():
    spec = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(3, 3, 2),))
    net = draw_network(spec, rng=0)
    with pytest.raises(VerifyError, match="fast"):
        net.forward(np.zeros(2), path="fast")


def test_dense_block_is_the_layer_at_one_position():
    """Fig. 2(b): for a latent vector (D_0 = 1) layer 1's matrix is the block B itself."""
    spec = block_spec(2, (3, 4, 2), (2, 3))
    net = draw_network(spec, rng=1)
    assert np.array_equal(net.layer_matrix(0).toarray(), net.dense_block(0))


# ----------------------------------------------------------------- derivatives
GENERIC = conv_architectures(max_layers=3, max_channels=4, max_kernel=4, padding=True,
                             max_latent_size=2, max_output=1500, affine=True,
                             activations=("relu", "leaky_relu", "tanh", "sigmoid"))


def _objective(spec, rng, rate=0.6):
    from verify.measurements import MaskSpec
    net = draw_network(spec, rng=rng)
    A = MaskSpec("random", rate).build(spec.output_shape, rng=rng)
    return Objective.from_truth(net, A, rng.normal(size=spec.latent_dim))


@given(spec=GENERIC, seed=seeds())
def test_gradient_matches_central_differences(spec, seed):
    rng = np.random.default_rng(seed)
    obj = _objective(spec, rng)
    z = rng.normal(size=(2, spec.latent_dim))
    g = obj.gradient(z)
    h = 1e-6
    E = np.eye(spec.latent_dim)
    fd = np.stack([(obj.value(z + h * e) - obj.value(z - h * e)) / (2 * h) for e in E], axis=1)
    # Central differences: O(h^2) truncation where smooth, O(eps/h) rounding; a kink
    # inside [z - h, z + h] has probability ~0 at a random point.
    scale = max(1.0, np.max(np.abs(fd)))
    assert np.max(np.abs(g - fd)) <= 1e-5 * scale


@given(spec=GENERIC, seed=seeds())
def test_directional_derivative_equals_gradient_at_generic_points(spec, seed):
    rng = np.random.default_rng(seed)
    obj = _objective(spec, rng)
    z = rng.normal(size=(3, spec.latent_dim))
    v = rng.normal(size=z.shape)
    dd = obj.directional_derivative(z, v)
    gv = np.sum(obj.gradient(z) * v, axis=1)
    assert np.allclose(dd, gv, rtol=1e-10, atol=1e-12 * max(1.0, np.max(np.abs(gv))))
    # ... and against one-sided differences, extrapolated (Richardson) to t -> 0+.
    t = 1e-5
    q1 = (obj.value(z + t * v) - obj.value(z)) / t
    q2 = (obj.value(z + 2 * t * v) - obj.value(z)) / (2 * t)
    assert np.allclose(2 * q1 - q2, dd, rtol=1e-4, atol=1e-6 * max(1.0, np.max(np.abs(dd))))


def _kink_network():
    """A 2-layer ReLU network with a unit whose pre-activation is exactly 0 at z0.

    Integer weights and codes make every product exact in float64: the kink is
    hit exactly, not to rounding.
    """
    spec = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(3, 2, 2), LayerSpec(2, 2, 2)))
    f1 = np.array([[[1.0, 2.0], [1.0, -1.0], [2.0, 1.0]],
                   [[-1.0, 1.0], [1.0, 1.0], [1.0, -2.0]]])   # (C0=2, C1=3, l=2)
    f2 = np.array([[[1.0, -1.0], [2.0, 1.0]], [[1.0, 1.0], [-1.0, 2.0]],
                   [[2.0, 1.0], [1.0, 1.0]]])                  # (C1=3, C2=2, l=2)
    net = Network(spec, [LayerWeights(f1), LayerWeights(f2)])
    z0 = np.array([1.0, 1.0])  # channel 0, offset 0 of layer 1: 1*1 + 1*(-1) = 0
    return net, z0


def test_directional_derivative_at_a_kink_is_the_right_hand_limit():
    net, z0 = _kink_network()
    pre = net.layer_outputs(z0)[0][0]
    assert np.any(pre == 0.0), "the construction must hit the kink exactly"
    z_star = np.array([0.5, -2.0])
    obj = Objective.from_truth(net, None, z_star)
    for v in (np.array([1.0, 0.0]), np.array([-1.0, 0.0]), np.array([0.3, -0.7]),
              np.array([-0.3, 0.7])):
        d = float(obj.directional_derivative(z0, v))
        # J is piecewise quadratic along the ray: (J(z+tv)-J(z))/t = d + c t for small
        # t > 0, so two quotients extrapolate to d exactly up to rounding.
        t = 1e-4
        q1 = (obj.value(z0 + t * v) - obj.value(z0)) / t
        q2 = (obj.value(z0 + 2 * t * v) - obj.value(z0)) / (2 * t)
        assert abs((2 * q1 - q2) - d) <= 1e-7 * max(1.0, abs(d))
    # At the kink the one-sided derivatives along v and -v are not negatives of each
    # other (J is not differentiable there), which a gradient would claim.
    v = np.array([1.0, 0.0])
    dp, dm = obj.directional_derivative(z0, v), obj.directional_derivative(z0, -v)
    assert abs(dp + dm) > 1e-3


def test_jvp_tie_rule_counts_a_zero_unit_as_active_for_positive_direction():
    net, z0 = _kink_network()
    _, d_plus = net.jvp(z0, np.array([1.0, 0.0]))
    _, d_minus = net.jvp(z0, np.array([-1.0, 0.0]))
    # Exact right-hand limits, compared with difference quotients at tiny t (the
    # network is piecewise linear: exact up to rounding for t below the next kink).
    t = 1e-6
    for v, d in ((np.array([1.0, 0.0]), d_plus), (np.array([-1.0, 0.0]), d_minus)):
        q = (net.forward(z0 + t * v) - net.forward(z0)) / t
        assert np.allclose(q, d, atol=1e-8)


def test_weight_gradients_match_finite_differences():
    spec = NetworkSpec(dims=2, latent_channels=2, latent_size=2,
                       layers=(LayerSpec(3, 3, 2, 1, "leaky_relu", affine=True),
                               LayerSpec(1, 2, 2, 0, "tanh")))
    rng = np.random.default_rng(5)
    net = draw_network(spec, rng=rng)
    net = Network(spec, [LayerWeights(net.weights[0].filters, rng.normal(size=3), rng.normal(size=3)),
                         net.weights[1]])
    z = rng.normal(size=(4, spec.latent_dim))
    target = rng.normal(size=(4, spec.output_dim))

    def loss(n):
        return 0.5 * np.sum((n.forward(z) - target) ** 2)

    cache = net.forward_with_cache(z)
    _, grads = net.vjp(cache, cache.output - target, weights=True)
    h = 1e-6
    for layer, attr in ((0, "filters"), (0, "scale"), (0, "bias"), (1, "filters")):
        arr = getattr(net.weights[layer], attr)
        g = getattr(grads[layer], attr)
        for idx in list(np.ndindex(arr.shape))[:6]:
            def shifted(delta):
                ws = [LayerWeights(w.filters.copy(), None if w.scale is None else w.scale.copy(),
                                   None if w.bias is None else w.bias.copy()) for w in net.weights]
                getattr(ws[layer], attr)[idx] += delta
                return Network(spec, ws)
            fd = (loss(shifted(h)) - loss(shifted(-h))) / (2 * h)
            assert abs(fd - g[idx]) <= 1e-5 * max(1.0, abs(fd))


# ------------------------------------------------------------- reproducibility
@given(spec=ANY_ARCH, seed=seeds())
@settings(max_examples=5)
def test_same_seed_same_bits(spec, seed):
    a = draw_network(spec, rng=seed)
    b = draw_network(spec, rng=seed)
    z = np.random.default_rng(seed).normal(size=(2, spec.latent_dim))
    assert np.array_equal(a.forward(z).view(np.uint64), b.forward(z).view(np.uint64))


def test_preset_instances_are_reproducible():
    from verify import get_preset
    cfg = get_preset("paper-fig4")
    i1, i2 = cfg.instantiate(7), cfg.instantiate(7)
    for w1, w2 in zip(i1.network.weights, i2.network.weights):
        assert np.array_equal(w1.filters, w2.filters)
    assert np.array_equal(i1.measurement.mask, i2.measurement.mask)
    i3 = cfg.instantiate(8)
    assert not np.array_equal(i1.network.weights[0].filters, i3.network.weights[0].filters)


def test_tie_tolerance_treats_a_rounding_residue_as_the_kink():
    """A unit that is on its kink in exact arithmetic but computes to +1e-18: the exact
    rule follows the computed sign; ``tie_tol`` recovers the right-hand limit."""
    from verify import activations
    a = np.array([1e-18, -1e-18, 0.0, 2.0, -2.0])
    da = np.array([-1.0, 1.0, -1.0, -1.0, 1.0])
    assert np.array_equal(activations.directional("relu", a, da), [-1.0, 0.0, 0.0, -1.0, 0.0])
    assert np.array_equal(activations.directional("relu", a, da, tie_tol=1e-15),
                          [0.0, 1.0, 0.0, -1.0, 0.0])
    leaky = activations.directional("leaky_relu", a, da, 0.2, tie_tol=1e-15)
    assert np.allclose(leaky, [-0.2, 1.0, -0.2, -1.0, 0.2])


# ------------------------------------------------------------------ the Jacobian
@given(spec=GENERIC, seed=seeds())
@settings(max_examples=10)
def test_jacobian_columns_are_jvp_and_its_transpose_is_vjp(spec, seed):
    """Network.jacobian against the engine's two modes at generic points (no kinks with
    probability 1): column j is D_{e_j} G(z), and J^T g is the reverse-mode product."""
    net = draw_network(spec, rng=seed)
    rng = np.random.default_rng(seed)
    b, n0, nd = 3, spec.latent_dim, spec.output_dim
    z = rng.normal(size=(b, n0))
    out, jac = net.jacobian(z)
    assert out.shape == (b, nd) and jac.shape == (b, nd, n0)
    fwd = net.forward(z)
    assert np.max(np.abs(out - fwd)) <= rounding_tol(max(spec.widths), float(np.max(np.abs(fwd))))
    scale = max(1.0, float(np.max(np.abs(jac))))
    for j, e in enumerate(np.eye(n0)):
        _, col = net.jvp(z, np.broadcast_to(e, z.shape))
        assert np.max(np.abs(jac[:, :, j] - col)) <= rounding_tol(spec.widths[-2] * 16, scale)
    g = rng.normal(size=(b, nd))
    ref = net.vjp(net.forward_with_cache(z), g)
    jtg = np.einsum("bnk,bn->bk", jac, g)
    assert np.max(np.abs(jtg - ref)) <= rounding_tol(nd * 16, scale * np.max(np.abs(g)))


@given(spec=GENERIC, seed=seeds())
@settings(max_examples=10)
def test_jacobian_matches_central_differences(spec, seed):
    net = draw_network(spec, rng=seed)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(2, spec.latent_dim))
    _, jac = net.jacobian(z)
    h = 1e-6
    for j, e in enumerate(np.eye(spec.latent_dim)):
        fd = (net.forward(z + h * e) - net.forward(z - h * e)) / (2 * h)
        # O(h^2) truncation where smooth, O(eps/h) rounding; a kink inside
        # [z - h, z + h] has probability ~0 at a random point.
        assert np.max(np.abs(jac[:, :, j] - fd)) <= 1e-5 * max(1.0, float(np.max(np.abs(fd))))


def test_jacobian_chunks_and_single_codes():
    """Memory-bounded chunks (down to one row at a time) give the same Jacobian; one code
    gives one (n_d, n_0) matrix; the rows of J^T are contiguous."""
    spec = block_spec(2, (3, 8, 4), (2, 2))
    net = draw_network(spec, rng=3)
    z = np.random.default_rng(3).normal(size=(7, spec.latent_dim))
    out, jac = net.jacobian(z)
    assert jac.transpose(0, 2, 1).flags.c_contiguous
    scale = float(np.max(np.abs(jac)))
    for max_floats in (1, spec.latent_dim * max(spec.widths) * 2, 1 << 30):
        o2, j2 = net.jacobian(z, max_floats=max_floats)
        assert np.max(np.abs(o2 - out)) <= rounding_tol(max(spec.widths), float(np.max(out)))
        assert np.max(np.abs(j2 - jac)) <= rounding_tol(max(spec.widths), scale)
    o1, j1 = net.jacobian(z[4])
    assert np.max(np.abs(o1 - out[4])) <= rounding_tol(max(spec.widths), float(np.max(out)))
    assert o1.shape == (spec.output_dim,) and j1.shape == (spec.output_dim, spec.latent_dim)
    assert np.max(np.abs(j1 - jac[4])) <= rounding_tol(max(spec.widths), scale)
    with pytest.raises(VerifyError):
        net.jacobian(np.zeros((2, spec.latent_dim + 1)))


def test_jacobian_at_a_kink_uses_the_reverse_mode_slope():
    """At a unit exactly on its kink the Jacobian takes ReLU'(0) = 0, as vjp does: with
    integer weights and codes every product is exact, so J^T g equals vjp exactly."""
    net, z0 = _kink_network()
    _, jac = net.jacobian(z0)
    g = np.array([1.0, -2.0, 3.0, 1.0, -1.0, 2.0, 0.5, 1.5])
    assert np.array_equal(jac.T @ g, net.vjp(net.forward_with_cache(z0), g[None])[0])
