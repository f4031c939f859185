"""Exact linear regions and the exact stationary set of J (lemmas/README.md, sections 6 and 10).

The cones are checked against the network itself (G(z) = M_C z at sampled points, to
rounding), the stationary set against what is known (z* is a global minimum, J = 0;
the origin's one-sided derivatives) and against a sampled method (gradient descent from
many starts ends at one of the exact stationary points)."""

from __future__ import annotations

import numpy as np
import pytest

from verify.benchmarks.cones import direct_arcs
from verify.geometry.cones import enumerate_cones, not_applicable
from verify.errors import VerifyError
from verify.inversion import invert
from verify.presets import get_preset
from verify.spec import LayerSpec, NetworkSpec
from verify.geometry.stationary import stationary_points
from verify.weights import WeightLaw, draw_network

pytestmark = pytest.mark.numerics


def _net(k, widths=(6, 3), act="relu", seed=0, dims=1, kernel=2):
    layers = tuple(LayerSpec(channels=c, kernel=kernel, stride=kernel, activation=act)
                   for c in widths)
    spec = NetworkSpec(dims=dims, latent_channels=k, layers=layers)
    return draw_network(spec, WeightLaw("gaussian"), rng=np.random.default_rng(seed))


@pytest.mark.parametrize("k, act", [(2, "relu"), (2, "leaky_relu"), (3, "relu"),
                                    (3, "leaky_relu")])
@pytest.mark.parametrize("seed", [0, 1])
def test_G_is_linear_on_every_cone(k, act, seed):
    net = _net(k, act=act, seed=seed)
    cones = enumerate_cones(net)
    rng = np.random.default_rng(seed + 10)
    z = rng.normal(size=(400, k)) * rng.uniform(0.1, 10, size=(400, 1))
    idx = cones.locate(z)
    assert (idx >= 0).all()
    G = net.forward(z)
    lin = np.einsum("bnk,bk->bn", cones.M[idx], z)
    assert np.abs(lin - G).max() <= 1e-12 * max(1.0, np.abs(G).max())
    # every cone is visited by its own interior point, and is where it says it is
    inner = cones.interior_point()
    assert (cones.locate(inner) == np.arange(cones.count)).all()


def test_cone_count_of_a_single_relu_layer_is_the_arrangement_count():
    """One ReLU layer of m units in general position on a 2-D latent: m lines through the
    origin cut the circle into 2m arcs (plus the 4 quadrant boundaries, unless a unit's
    line is an axis)."""
    net = _net(2, widths=(5,), kernel=1)
    cones = enumerate_cones(net)
    assert cones.count == 2 * 5 + 4
    net3 = _net(3, widths=(4,), kernel=1)
    # 4 great circles in general position: 4*3 + 2 = 14 cells; the octant planes split
    # them further, so at least 14
    assert enumerate_cones(net3).count >= 14


@pytest.mark.parametrize("what, spec_kw, match", [
    ("sigmoid", {"act": "sigmoid"}, "not piecewise linear"),
    ("latent 4", {"k": 4}, "latent dimension is 4"),
])
def test_the_exact_method_says_why_it_does_not_apply(what, spec_kw, match):
    net = _net(spec_kw.get("k", 2), act=spec_kw.get("act", "relu"))
    assert match in not_applicable(net)
    with pytest.raises(VerifyError, match=match):
        enumerate_cones(net)


def test_a_cone_budget_is_refused_with_the_count():
    net = get_preset("paper-fig4").instantiate(0).network
    with pytest.raises(VerifyError, match="linear regions"):
        enumerate_cones(net, max_cones=50)


def _fig4(seed):
    inst = get_preset("paper-fig4").instantiate(seed)
    z_star = np.random.default_rng(100 + seed).normal(size=2)
    y = inst.network.forward(z_star)
    w = inst.measurement.mask.ravel().astype(float)
    return inst.network, z_star, y, w


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_z_star_is_a_global_minimum_and_the_origin_a_local_maximum(seed):
    net, z_star, y, w = _fig4(seed)
    land = stationary_points(net, y, w)
    pts = land.relative_to(z_star, 1 / np.pi)
    at_z = pts[pts["dist_zstar"] < 1e-9]
    assert len(at_z) == 1 and at_z["classification"].iloc[0] == "local minimum"
    assert at_z["J"].iloc[0] <= 1e-20 * float(y @ y)
    origin = pts[pts["kind"] == "origin"].iloc[0]
    # Theorem 1 / 4: D_w J(0) < 0 in every direction
    assert origin["classification"] == "local maximum" and origin["d_max"] < 0
    # every stationary point other than z* has J > 0 (z* is the unique zero here)
    assert (pts.loc[pts["dist_zstar"] >= 1e-9, "J"] > 0).all()


@pytest.mark.slow  # long Adam runs from 64 starts, then the exact stationary set
@pytest.mark.parametrize("seed", [3])
def test_gradient_descent_ends_at_an_exact_stationary_point(seed):
    """The sampled method's end points (Adam, many starts, run to a tight tolerance) lie
    at exact local minima (or at z*): the exact set contains what sampling finds."""
    net, z_star, y, w = _fig4(seed)
    land = stationary_points(net, y, w)
    minima = np.stack(land.minima()["z"].to_list())
    rng = np.random.default_rng(seed)
    b = 64
    res = invert(net, np.tile(y, (b, 1)), np.tile(w > 0, (b, 1)), method="adam",
                 lr=0.01, iterations=6000, tol=1e-12, rng=rng, backend="batch-last")
    ends = res.z_hat
    d = np.linalg.norm(ends[:, None, :] - minima[None], axis=2).min(axis=1)
    scale = np.linalg.norm(z_star)
    # Adam ends within its step-size noise of a minimum; a kink minimum is approached
    # along the kink, so allow 1% of ||z*||
    assert np.quantile(d / scale, 0.9) < 1e-2, np.sort(d / scale)[-8:]


def test_three_dimensional_latent_minima_include_z_star():
    net = _net(3, widths=(8, 4), seed=2)
    z_star = np.array([0.3, -1.0, 0.7])
    y = net.forward(z_star)
    land = stationary_points(net, y)
    pts = land.relative_to(z_star, 1 / np.pi)
    assert ((pts["dist_zstar"] < 1e-9) & (pts["classification"] == "local minimum")).sum() == 1
    assert pts[pts["kind"] == "origin"]["classification"].iloc[0] == "local maximum"


# ----------------------------------------------------------------- known answers
def _hand_built():
    """A two-layer bias-free ReLU network with a spurious local minimum by construction.

    Layer 1 splits the latent into its signed parts, h = (z1+, z1-, z2+, z2-); layer 2
    has non-negative weights, so G(z) = V h with columns V0 = (1, 1, 1), V1 = (2, 0, 0),
    V2 = (0, 2, 0), V3 = (1, 0, 0). With z* = (1, 0), y = V0. In the quadrant z1 < 0 <
    z2, G(z) = -z1 V1 + z2 V2 and J is the quadratic 1/2 ||a V1 + b V2 - V0||^2 in
    (a, b) = (-z1, z2): its minimiser a = b = 1/2 lies inside the quadrant, so
    z = (-1/2, 1/2) is a strict local minimum with J = 1/2 (the residual (0, 0, 1)).
    """
    from verify.network import Network
    from verify.weights import LayerWeights

    layers = (LayerSpec(channels=4, kernel=1, stride=1, activation="relu"),
              LayerSpec(channels=3, kernel=1, stride=1, activation="relu"))
    spec = NetworkSpec(dims=1, latent_channels=2, layers=layers)
    W = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])     # (4, 2)
    V = np.array([[1.0, 2.0, 0.0, 1.0], [1.0, 0.0, 2.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    net = Network(spec, [LayerWeights(W.T[:, :, None].copy()),
                         LayerWeights(V.T[:, :, None].copy())])
    return net, np.array([1.0, 0.0])


def test_a_hand_built_spurious_minimum_is_found_and_classified():
    net, z_star = _hand_built()
    y = net.forward(z_star)
    assert np.array_equal(y, [1.0, 1.0, 1.0])
    pts = stationary_points(net, y).relative_to(z_star, 1 / np.pi)
    minima = pts[pts["classification"] == "local minimum"]
    Z = np.stack(minima["z"].to_list())
    spurious = np.linalg.norm(Z - [-0.5, 0.5], axis=1) < 1e-12
    assert spurious.sum() == 1
    row = minima[spurious].iloc[0]
    assert row["kind"] == "interior" and abs(row["J"] - 0.5) < 1e-12
    # and z* itself, the only other local minimum
    assert len(minima) == 2 and (minima["dist_zstar"] < 1e-12).sum() == 1
    # the spurious point is a minimum of J on a ring around it (independent of the cones)
    ang = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    for r in (1e-3, 1e-1):
        ring = np.array([-0.5, 0.5]) + r * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        J = 0.5 * np.sum((net.forward(ring) - y) ** 2, axis=1)
        assert J.min() > 0.5


@pytest.mark.parametrize("seed", [0, 4])
def test_the_stationary_set_scales_with_z_star(seed):
    """Positive homogeneity: y = G(c z*) has the stationary set of y = G(z*) scaled by c,
    with the same classes, and J scaled by c^2."""
    net, z_star, y, w = _fig4(seed)
    c = 3.75
    a = stationary_points(net, y, w).points
    b = stationary_points(net, net.forward(c * z_star), w).points
    assert len(a) == len(b)
    key = lambda p: np.lexsort(np.stack(p["z"].to_list()).T)  # noqa: E731
    a, b = a.iloc[key(a)], b.iloc[key(b)]
    Za, Zb = np.stack(a["z"].to_list()), np.stack(b["z"].to_list())
    scale = np.linalg.norm(z_star)
    assert np.abs(c * Za - Zb).max() <= 1e-9 * c * scale
    assert list(a["classification"]) == list(b["classification"])
    assert np.allclose(c ** 2 * a["J"].to_numpy(), b["J"].to_numpy(), rtol=1e-9,
                       atol=1e-12 * c ** 2 * float(y @ y))


def test_cones_agree_with_sign_patterns_on_a_fine_circle():
    """Brute force: the activation pattern of every layer at 20,000 angles is constant
    inside each enumerated cone, and every change of pattern between neighbouring
    angles crosses a cone edge."""
    net = get_preset("paper-fig4").instantiate(0).network
    cones = enumerate_cones(net)
    n = 20_000
    th = (np.arange(n) + 0.5) * 2 * np.pi / n
    z = np.stack([np.cos(th), np.sin(th)], axis=1)
    pats = np.concatenate([p > 0 for p in net.layer_outputs(z)], axis=1)
    idx = cones.locate(z)
    assert (idx >= 0).all()
    # constant inside each cone: every angle's pattern is its cone's first angle's
    cones_seen, first = np.unique(idx, return_index=True)
    rep = np.empty(cones.count, int)
    rep[cones_seen] = first
    assert (pats == pats[rep[idx]]).all()
    # a change of pattern between neighbours happens across a cone boundary
    change = np.any(pats != np.roll(pats, -1, axis=0), axis=1)
    assert (idx[change] != np.roll(idx, -1)[change]).all()
    # and the enumeration is not trivially fine: most cones show a distinct pattern
    assert len(np.unique(pats[first], axis=0)) >= 0.5 * cones.count


@pytest.mark.parametrize("chunk", [1 << 19, 7])
@pytest.mark.parametrize("case", range(6))
def test_chunked_arcs_are_the_arcs_of_the_direct_split(monkeypatch, case, chunk):
    """The chunked, sign-prefiltered split gives exactly (bit for bit: the same numbers
    through the same operations) the arcs and matrices of the direct split, whether a
    layer is one chunk or many (chunk = 7 entries: a cone or two per chunk); ReLU, leaky
    ReLU, identity layers, Rademacher weights (ties) and a 3-layer network."""
    import verify.geometry.cones as C

    monkeypatch.setattr(C, "ARC_CHUNK", chunk)
    nets = [_net(2, act="relu", seed=0), _net(2, act="leaky_relu", seed=1),
            draw_network(NetworkSpec(dims=1, latent_channels=2, layers=(
                LayerSpec(channels=4, kernel=2, stride=2, activation="identity"),
                LayerSpec(channels=3, kernel=2, stride=2))),
                WeightLaw("gaussian"), rng=np.random.default_rng(2)),
            draw_network(NetworkSpec(dims=1, latent_channels=2, layers=(
                LayerSpec(channels=4, kernel=2, stride=2),
                LayerSpec(channels=3, kernel=2, stride=2))),
                WeightLaw("rademacher"), rng=np.random.default_rng(3)),
            _net(2, widths=(6, 4, 3), seed=4),
            _net(2, widths=(5, 4), act="leaky_relu", seed=5, kernel=3)]
    net = nets[case]
    edges, M = direct_arcs(net)
    cones = enumerate_cones(net)
    assert np.array_equal(cones.edges, edges)
    assert np.array_equal(cones.M, M)
    assert cones.count == len(edges) - 1 > 4
