"""The angle numerics of Lemma Sup.4 (lemmas/README.md, section 3), for the ``angle`` check and
the tests: the a-priori bounds (:func:`gap_bound`, :func:`norm_bound`, calibrated by
:func:`sigma_angle`), the layer and block operators with their predictions
(:class:`LayerOperator`: relu(W_i x) against theta_bar; :class:`BlockOperator`:
relu(B u) against g(theta)), :func:`evaluate_pairs`, the pair families
(:func:`make_pairs`) and the adversarial search.

:func:`angle_map` (g) and :func:`pair_angle` are twins of the closed forms
``verify.formulas.angle_map`` and ``angle`` (the symbolic check certifies those; the
tests check the twins against them).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import eigsh

from verify.network import LayerWeights, Network
from verify.spec import LayerSpec, NetworkSpec
from verify.weights import WeightLaw


def angle_map(theta):
    """g(theta) = arccos(((pi - theta) cos(theta) + sin(theta)) / pi) (Lemma Sup.4)."""
    theta = np.asarray(theta, float)
    c = ((np.pi - theta) * np.cos(theta) + np.sin(theta)) / np.pi
    return np.arccos(np.clip(c, -1.0, 1.0))


def pair_angle(u, v):
    """Angle between the rows of u and v in [0, pi]; NaN (quietly) for a zero vector.
    2 atan2(|a - b|, |a + b|) of the unit vectors keeps full precision near 0 and pi."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
    zero = (nu == 0) | (nv == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = u / nu[..., None], v / nv[..., None]
        th = 2.0 * np.arctan2(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))
    return np.where(zero, np.nan, th)


#: Failure probability the a-priori bounds are stated at (per layer and quantity).
DELTA = 0.01
#: Per-row relative std of ||relu(B u)||^2: sqrt(Var relu(g)^2) / E relu(g)^2 = sqrt(5/4)/(1/2).
SIGMA_NORM = math.sqrt(5.0)
#: arccos turns a rounding error ~eps in a cosine into up to sqrt(2 eps) in the angle;
#: 64 eps of accumulated rounding in the cosine gives sqrt(128 eps) ~ 1.7e-7 rad.
ANGLE_TOL = math.sqrt(128 * np.finfo(float).eps)
#: The a-priori gap bound must resolve the prediction to better than half of its range
#: [0, pi/2]; a wider bound means the layer is too narrow for the check to confirm anything.
INFORMATIVE = math.pi / 4


# ---------------------------------------------------------------- a-priori constants
def angle_influence_std(theta, n_phi: int = 4096) -> np.ndarray:
    """sigma(theta): asymptotic std of sqrt(m) (theta_out - g(theta)) for a dense block.

    sigma^2 = E[psi^2], psi = (2 P - c (A + B)) / sin g(theta) (E psi = 0). In polar
    coordinates g = r (cos phi, sin phi), E r^4 = 8 and phi is uniform, so
    sigma^2 = 8 mean_phi[(2 p - c (a + b))^2] / sin^2 g(theta) with
    a = relu(cos phi)^2, b = relu(cos(phi - theta))^2, p = relu(cos phi) relu(cos(phi - theta)).
    The periodic midpoint rule on ``n_phi`` nodes.
    """
    theta = np.atleast_1d(np.asarray(theta, float))
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    cx = np.maximum(np.cos(phi), 0.0)[None, :]
    cy = np.maximum(np.cos(phi[None, :] - theta[:, None]), 0.0)
    gth = angle_map(theta)
    c = np.cos(gth)[:, None]
    val = 8 * np.mean((2 * cx * cy - c * (cx**2 + cy**2)) ** 2, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(val) / np.sin(gth)


@lru_cache(maxsize=1)
def sigma_angle() -> float:
    """SIGMA_ANGLE = max over theta in (0, pi) of :func:`angle_influence_std`."""
    th = np.linspace(1e-3, math.pi - 1e-3, 2001)
    return float(np.nanmax(angle_influence_std(th)))


def gap_bound(k: int, m: int, delta: float = DELTA) -> float:
    """A-priori bound on the largest angle gap: SIGMA_ANGLE (sqrt(4k) + sqrt(2 log 1/delta))/sqrt(m)."""
    return sigma_angle() * (math.sqrt(4 * k) + math.sqrt(2 * math.log(1 / delta))) / math.sqrt(m)


def norm_bound(k: int, m: int, delta: float = DELTA) -> float:
    """A-priori bound on the relative norm error: sqrt(5) (sqrt(2k) + sqrt(2 log 1/delta))/sqrt(m)."""
    return SIGMA_NORM * (math.sqrt(2 * k) + math.sqrt(2 * math.log(1 / delta))) / math.sqrt(m)


def wdc_angle_bound(eps: float) -> float:
    """Rigorous gap bound under the WDC with constant eps (lemmas/README.md, section 2).

    For unit x, y the WDC gives |<a, b> - cos g(theta)/2| <= eps and |||a||^2 - 1/2| <= eps,
    so |cos_out - cos g| <= 4 eps/(1 - 2 eps) =: delta_c, and since
    |arccos s - arccos t| <= arccos(1 - |s - t|) = 2 arcsin sqrt(|s - t|/2), the gap is
    at most 2 arcsin(sqrt(min(1, delta_c/2))) (pi when eps >= 1/2: vacuous).
    """
    if eps >= 0.5:
        return math.pi
    dc = 4 * eps / (1 - 2 * eps)
    return 2 * math.asin(math.sqrt(min(1.0, dc / 2)))


def required_rows(k: int) -> int:
    """The smallest block height m for which :func:`gap_bound` is below INFORMATIVE."""
    s = sigma_angle() * (math.sqrt(4 * k) + math.sqrt(2 * math.log(1 / DELTA))) / INFORMATIVE
    return int(math.floor(s * s)) + 1


def informative_rows(k: int) -> int:
    """The smallest block height m at which every a-priori bound is informative on any
    draw: :func:`required_rows` (gap bound <= pi/4, half the gap's ceiling pi/2) and
    :func:`norm_bound` < 1, the least value of the norm error's trivial ceiling
    max(1, lam - 1) (:func:`norm_error_ceiling`). Below it the norm bound can sit at or
    above the ceiling of a draw with a small ||B||, and that draw is uninformative."""
    m = required_rows(k)
    while norm_bound(k, m) >= 1.0:
        m += 1
    return m


# ------------------------------------------------------------------ layer geometry
def filter_second_moment(law: WeightLaw, spec: NetworkSpec, i: int) -> float:
    """E w^2 of one filter entry: sigma^2 for the zero-mean laws, 1/3 for U[0, 1]."""
    if law.name == "uniform01":
        return 1.0 / 3.0
    return law.layer_std(spec, i) ** 2


def patch_dims(spec: NetworkSpec, i: int) -> tuple[int, int]:
    """(k, m) of the layer's block: (C_{i-1}, C_i l^d) for s = l; per-patch sizes otherwise."""
    layer, d = spec.layers[i], spec.dims
    if layer.is_block:
        return spec.channels[i], spec.channels[i + 1] * layer.kernel**d
    per = min(math.ceil(layer.kernel / layer.stride), spec.sizes[i]) ** d
    rows = spec.widths[i + 1] / spec.sizes[i] ** d  # output rows per input position
    return spec.channels[i] * per, max(1, int(rows))


class LayerOperator:
    """One ReLU layer of a network: forward pass and the (patch) prediction, batched."""

    def __init__(self, net: Network, i: int, m2: float):
        self.net, self.i, self.m2 = net, i, m2
        spec = net.spec
        layer = spec.layers[i]
        self.cin, self.cout = spec.channels[i], spec.channels[i + 1]
        self.n_in = spec.widths[i]
        self.positions = spec.sizes[i] ** spec.dims
        ones = np.ones((1, 1) + (layer.kernel,) * spec.dims)
        pspec = NetworkSpec(dims=spec.dims, latent_channels=1, latent_size=spec.sizes[i],
                            layers=(LayerSpec(1, layer.kernel, layer.stride, layer.padding,
                                              "identity",
                                              output_padding=layer.output_padding),))
        self._patch = Network(pspec, [LayerWeights(ones)])  # sums a field over each patch

    def forward(self, x: np.ndarray) -> np.ndarray:
        """relu(W_i x) for rows of x, flat in the conv's channel-last order (not the
        channel-major order of lemmas/README.md: angles and norms, all the check takes of it, do
        not depend on the order of the coordinates, and this skips a copy)."""
        xi = self.net.to_internal(x, self.i)
        return np.maximum(self.net.conv(self.i, xi).reshape(x.shape[0], -1), 0.0)

    def per_position(self, x: np.ndarray) -> np.ndarray:
        """(b, positions, C) channel vectors x_p."""
        return self.net.to_internal(x, self.i).reshape(x.shape[0], self.positions, self.cin)

    def _patch_sum(self, field: np.ndarray) -> np.ndarray:
        b = field.shape[0]
        shape = (b,) + (self.net.spec.sizes[self.i],) * self.net.spec.dims + (1,)
        return self._patch.conv(0, field.reshape(shape)).reshape(b, -1)

    def predict(self, x: np.ndarray, y: np.ndarray):
        """(predicted output angle, patch input angle, predicted ||relu(W x)||^2,
        predicted ||relu(W y)||^2)."""
        xp, yp = self.per_position(x), self.per_position(y)
        XX = self._patch_sum(np.sum(xp * xp, -1))
        YY = self._patch_sum(np.sum(yp * yp, -1))
        XY = self._patch_sum(np.sum(xp * yp, -1))
        nn = np.sqrt(XX * YY)
        with np.errstate(invalid="ignore", divide="ignore"):
            th = np.arccos(np.clip(XY / nn, -1.0, 1.0))
            terms = np.where(nn > 0, (np.sin(th) * nn + (np.pi - th) * XY) / np.pi, 0.0)
            den = np.sqrt(XX.sum(1) * YY.sum(1))
            pred = np.arccos(np.clip(terms.sum(1) / den, -1.0, 1.0))
            th_in = np.arccos(np.clip(XY.sum(1) / den, -1.0, 1.0))
        bad = den == 0
        pred[bad], th_in[bad] = np.nan, np.nan
        half = self.m2 * self.cout / 2
        return pred, th_in, half * XX.sum(1), half * YY.sum(1)

    def norm_ceiling(self) -> float:
        """Trivial ceiling of the relative norm error (:func:`norm_error_ceiling`) for
        this layer: lam = max_x ||W x||^2 / pred(x), pred(x) = x^T D x with D the
        diagonal of m2 C_i (patches containing the position) / 2. For s = l it is the
        block's (W = P (I (x) B) Q, every position in l^dims patches)."""
        layer = self.net.spec.layers[self.i]
        if layer.is_block:
            return BlockOperator(self.net.dense_block(self.i), self.m2).norm_ceiling()
        W = self.net.layer_matrix(self.i).tocsc()
        count = np.asarray(self._patch.layer_matrix(0).sum(axis=0)).ravel()
        d = np.tile(count, self.cin) * self.m2 * self.cout / 2  # channel-major columns
        scale = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
        M = W @ sparse.diags(scale)
        G = (M.T @ M).tocsr()
        if G.shape[0] <= 2000:
            lam = float(np.linalg.eigvalsh(G.toarray())[-1])
        else:  # pragma: no cover - wider layers than the presets'
            lam = float(eigsh(G, k=1, which="LA", return_eigenvectors=False)[0])
        return norm_error_ceiling(lam)


class BlockOperator:
    """The dense block B: u -> relu(B u), predicted angle g(angle(u, v))."""

    def __init__(self, B: np.ndarray, m2: float):
        self.B, self.m2 = B, m2
        self.n_in = B.shape[1]

    def forward(self, u):
        return np.maximum(u @ self.B.T, 0.0)

    def predict(self, u, v):
        th = pair_angle(u, v)
        half = self.m2 * self.B.shape[0] / 2
        return angle_map(th), th, half * np.sum(u * u, 1), half * np.sum(v * v, 1)

    def norm_ceiling(self) -> float:
        """Trivial ceiling of the relative norm error: lam = ||B||^2 / (m2 rows / 2)."""
        top = float(np.linalg.norm(self.B, 2)) ** 2 if self.B.size else 0.0
        return norm_error_ceiling(top / (self.m2 * self.B.shape[0] / 2))


def norm_error_ceiling(lam: float) -> float:
    """The largest value |||relu(W x)||^2 / pred(x) - 1| can take for any x when
    ``lam = max_x ||W x||^2 / pred(x)``: 0 <= ||relu(W x)||^2 <= ||W x||^2 <= lam pred(x), so
    the ratio lies in [0, lam] and the error is at most max(1, lam - 1). A norm bound at
    or above it tests nothing (e.g. a too narrow block, whose bound grows like m^-1/2)."""
    return max(1.0, float(lam) - 1.0)




def evaluate_pairs(op, x, y):
    """Measured output angle, prediction, input angle, norm relative errors, zero outputs."""
    fx, fy = op.forward(x), op.forward(y)
    out = pair_angle(fx, fy)
    pred, th_in, nx_pred, ny_pred = op.predict(x, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        ex = np.abs(np.sum(fx * fx, 1) / nx_pred - 1)
        ey = np.abs(np.sum(fy * fy, 1) / ny_pred - 1)
    zero_in = (np.linalg.norm(x, axis=1) == 0) | (np.linalg.norm(y, axis=1) == 0)
    zero_out = ((np.linalg.norm(fx, axis=1) == 0) | (np.linalg.norm(fy, axis=1) == 0)) & ~zero_in
    return dict(theta_out=out, theta_pred=pred, theta_in=th_in, gap=np.abs(out - pred),
                norm_err=np.fmax(ex, ey), zero_in=zero_in, zero_out=zero_out)


#: Where |cos| of a pair is above this, :func:`_search_angle` recomputes the angle by
#: :func:`verify.formulas.angle` (arccos of a rounded cosine loses half the digits
#: near 0 and pi; below it the error is < 1e-15 / sqrt(1 - 0.99^2) ~ 1e-14 rad).
SEARCH_COS_EXACT = 0.99


def _search_angle(u, v):
    """The angle between rows of u and v for the searches: arccos of the cosine from
    three row dot products (no temporaries), the careful :func:`verify.formulas.angle` near 0
    and pi and for zero rows (NaN)."""
    uu, vv = np.einsum("ij,ij->i", u, u), np.einsum("ij,ij->i", v, v)
    uv = np.einsum("ij,ij->i", u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = uv / np.sqrt(uu * vv)
    th = np.arccos(np.clip(c, -1.0, 1.0))
    near = ~(np.abs(c) < SEARCH_COS_EXACT)  # NaN (a zero row) included
    if np.any(near):
        th[near] = pair_angle(u[near], v[near])
    return th


def _angles(op, x, y):
    """(measured output angle, prediction, input angle): what the searches maximise over,
    without the norms and zero flags of :func:`evaluate_pairs` (the pairs they end on are
    evaluated in full)."""
    out = _search_angle(op.forward(x), op.forward(y))
    pred, th_in = op.predict(x, y)[:2]
    return out, pred, th_in


def gap_objective(op):
    """|measured - predicted| (to maximise)."""
    def f(x, y):
        out, pred, _ = _angles(op, x, y)
        gap = np.abs(out - pred)
        return np.where(np.isnan(gap), -np.inf, gap)
    return f


def ratio_objective(op):
    """-(output angle / input angle) (to maximise: searches for a vanishing angle)."""
    def f(x, y):
        out, _, th_in = _angles(op, x, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = out / th_in
        ok = (th_in > ANGLE_TOL) & np.isfinite(ratio)
        return np.where(ok, -ratio, -np.inf)
    return f


def adversarial_search(objective, x, y, rng, *, steps: int, cands: int, step0: float = 0.3,
                       step_end: float = 0.005):
    """Batched hill climbing maximising ``objective(x, y)`` from each starting pair.

    Every step proposes ``cands`` Gaussian perturbations of both vectors of every pair
    (relative size decaying geometrically from ``step0`` to ``step_end``) and keeps the
    best if it improves. Returns the final pairs and their objective values.
    """
    x, y = x.copy(), y.copy()
    P, n = x.shape
    best = objective(x, y)
    decay = (step_end / step0) ** (1 / max(1, steps - 1))
    scale = step0
    idx = np.arange(P)
    for _ in range(steps):  # a loop over search steps; each step is one batched evaluation
        sx = scale * np.linalg.norm(x, axis=1)[:, None, None] / math.sqrt(n)
        sy = scale * np.linalg.norm(y, axis=1)[:, None, None] / math.sqrt(n)
        X = x[:, None, :] + sx * rng.standard_normal((P, cands, n))
        Y = y[:, None, :] + sy * rng.standard_normal((P, cands, n))
        vals = objective(X.reshape(-1, n), Y.reshape(-1, n)).reshape(P, cands)
        j = np.argmax(vals, axis=1)
        v = vals[idx, j]
        better = v > best
        x[better], y[better], best[better] = X[idx, j][better], Y[idx, j][better], v[better]
        scale *= decay
    return x, y, best


# ---------------------------------------------------------------------- pair families
def _rotate(x, z, alpha):
    """y = cos(alpha) x + sin(alpha) z_perp ||x||: a vector at angle alpha from x."""
    nx = np.linalg.norm(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        xn = np.where(nx > 0, x / nx, 0.0)
        zp = z - np.sum(z * xn, -1, keepdims=True) * xn
        nz = np.linalg.norm(zp, axis=-1, keepdims=True)
        flat = nz <= 1e-12 * np.maximum(1.0, np.linalg.norm(z, axis=-1, keepdims=True))
        zp = np.where(flat, 0.0, zp / np.where(flat, 1.0, nz))
    y = nx * (np.cos(alpha)[..., None] * xn + np.sin(alpha)[..., None] * zp)
    # in one dimension (or x = 0) only the angles 0 and pi exist: keep the nearer one
    return np.where(flat, np.where(np.cos(alpha)[..., None] >= 0, x, -x), y)


def make_pairs(n: int, positions: int, channels: int, rng, n_random: int):
    """Random, structured, per-position and degenerate pairs in R^n (n = positions * C).

    Returns (x, y, kind) with kinds ``random`` (independent and at uniform angles),
    ``near0`` / ``near_pi2`` / ``near_pi`` (input angle 1e-3..0.1 from 0, pi/2, pi),
    ``per_position`` (each position rotated by its own angle, norms varying by position,
    and one-position pairs), ``degenerate`` (zero vectors, parallel pairs).
    Vectors are flat channel-major (index c * positions + p).
    """
    xs, ys, kinds = [], [], []

    def add(x, y, kind):
        xs.append(x), ys.append(y), kinds.extend([kind] * len(x))

    h = n_random // 2
    add(rng.standard_normal((h, n)), rng.standard_normal((h, n)), "random")
    x = rng.standard_normal((n_random - h, n))
    add(x, _rotate(x, rng.standard_normal(x.shape), rng.uniform(0, np.pi, len(x))), "random")
    offs = np.array([1e-3, 3e-3, 1e-2, 3e-2, 0.1])
    for kind, base in (("near0", 0.0), ("near_pi2", np.pi / 2), ("near_pi", np.pi)):
        al = np.clip(np.concatenate([base + offs, base - offs]), 0, np.pi)
        al = np.repeat(al, 2)
        x = rng.standard_normal((len(al), n))
        add(x, _rotate(x, rng.standard_normal(x.shape), al), kind)
    if positions > 1:
        b = max(8, n_random // 4)
        xp = rng.standard_normal((b, positions, channels))
        xp *= np.exp(rng.normal(0, 1, (b, positions, 1)))  # norms differing by position
        al = rng.uniform(0, np.pi, (b, positions))
        yp = _rotate(xp, rng.standard_normal(xp.shape), al)
        yp *= np.exp(rng.normal(0, 1, (b, positions, 1)))
        flat = lambda a: np.moveaxis(a, 1, 2).reshape(b, n)  # noqa: E731
        add(flat(xp), flat(yp), "per_position")
        one = np.zeros((b, positions, channels))
        pos = rng.integers(0, positions, b)
        one[np.arange(b), pos] = rng.standard_normal((b, channels))
        two = np.zeros_like(one)
        two[np.arange(b), pos] = rng.standard_normal((b, channels))
        add(flat(one), flat(two), "per_position")
    x = rng.standard_normal((4, n))
    add(np.concatenate([np.zeros((1, n)), x[:1], 2 * x[1:2]]),
        np.concatenate([x[2:3], np.zeros((1, n)), 3 * x[1:2]]), "degenerate")  # zero, zero, parallel
    add(x[3:4], x[3:4].copy(), "degenerate")  # identical
    return np.concatenate(xs), np.concatenate(ys), np.array(kinds)


# ---------------------------------------------------------------------------- check


__all__ = ["DELTA", "SIGMA_NORM", "ANGLE_TOL", "INFORMATIVE", "SEARCH_COS_EXACT", "angle_map",
           "pair_angle", "angle_influence_std", "sigma_angle", "gap_bound", "norm_bound",
           "wdc_angle_bound", "required_rows", "informative_rows", "filter_second_moment",
           "patch_dims", "LayerOperator", "BlockOperator", "norm_error_ceiling",
           "evaluate_pairs", "gap_objective", "ratio_objective", "adversarial_search",
           "make_pairs"]
