"""The numerics of Theorem 1, Eq. (4)-(5) (the ``descent`` and ``expansion`` checks): J on a batch
of targets z*_k and masks A_s (:class:`Problem`), its gradient and exact one-sided
directional derivatives D_v J, the Newton search for stationary points and the
steepest-descent rate s(z), the kinks of the first layer and the one-sided derivatives
across them (finite differences only as a cross-check, on steps that stay in one linear
region), the search for the worst direction w of D_w J(0), and H&V's surrogate h_{z,z*}.

The check's module (``lemmas/descent.py``) keeps its steps, criteria and verdict; this
public module the mathematics they call and the constants the checks share (the ball
radius :data:`EPS_BALL`, the tolerances), named here with their reasons, so that no lemma
imports another and tests import them directly.

Search (every run of every target and every measurement advances as one array)
-----------------------------------------------------------------------------
For a ReLU network without bias, G is piecewise linear and positively homogeneous, so
inside a linear region J is the convex quadratic 1/2 ||A M z - y||^2 and its Hessian is
exactly the Gauss-Newton matrix H = J_G^T A^T A J_G. Two searches use the step
d = H^+ grad J (the critical point of the region's quadratic):

* descent: damped Gauss-Newton on J (line search on J) from initialisations on shells
  of several radii around 0, in random and structured directions;
* critical points of any kind: Newton on 1/2 ||grad J||^2 (line search on ||grad J||^2)
  from the same kind of initialisations and from points near -t z*. Within a region a
  critical point is a minimum of that region's quadratic, so saddles and maxima of J
  can only sit on kinks; there the measure below, not ||grad J||, decides.

Stationarity measure
--------------------
The steepest descent rate found at z, from the engine's exact one-sided
D_v J(z) (:meth:`verify.objective.Objective.directional_derivative`)::

    s(z) = max(0, max_v -D_v J(z) / ||v||) / (L ||z*||),   L = ||A G(z*)||^2 / ||z*||^2,

over v = -grad J(z), -grad J(z + delta u_i) (gradients of the neighbouring regions)
and minus the minimum-norm element of their convex hull (gradient sampling). At a
differentiable point s(z) = ||grad J(z)|| / (L ||z*||). The normalisation by L makes s
invariant to the weights' scale and to ||z*|| (G is positively homogeneous), so the
same tolerance serves N(0, 1/(C_i l)) and N(0, 1) weights. A point is stationary when
s(z) <= STAT_TOL.

Scaling of H&V's surrogate
--------------------------
H&V's h_{z,x0} is the limit of grad J for weights N(0, 1/n_i) per layer. Writing the
layer's filters with second moment m2_i, grad J scales by c^2 = prod_i m2_i C_i l^dims
(= 1 for the theory's N(0, 1/(C_i l^dims)), each dense block B then has E[B^T B] = I),
and a subsampling of rate r multiplies E[W_{+}^T W_{+}] by r. The gap reported is
||grad J - c^2 r h|| / (c^2 r ||z*||).

"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from verify.formulas import hv_surrogate, rho
from verify.geometry.descent_newton import gauss_newton_shared
from verify.inversion.optimisers import GN_RCOND, damped_newton
from verify.geometry.rowmasks import MaskSet
from verify.network import Network
from verify.objective import Objective
from verify.weights import WeightLaw

#: Ball radius eps (relative to ||z*||) of Theorem 1's B(z*, eps ||z*||) and
#: B(-rho z*, eps ||z*||). Theorem 1 holds for any fixed eps > 0 given enough expansion;
#: 0.25 is the largest quarter-step below rho_2 = 1/pi, so that B(-rho_2 z*, eps ||z*||)
#: excludes the origin and the two balls are disjoint. The ``descent`` and ``expansion``
#: checks judge at this eps (statement verdicts and findings name it).
EPS_BALL = 0.25
#: Cross-check tolerance on |FD - D_v J| / max(L ||z*||, |D_v J|) (unit v): the O(t)
#: curvature term t ||H|| / 2 plus cancellation eps J / t (both ~1e-7 at t = 1e-7
#: relative), with a factor 1000 of room.
FD_TOL = 1e-4
#: Self-check tolerance, reverse-mode gradient against J_G^T A^T r (normalised):
#: two summation orders of n_d terms, far below any rate the check compares.
SELF_TOL = 1e6 * np.finfo(float).eps
#: Strictly positive: above the rounding error of an n_d-term dot product.
POS_TOL_PER_TERM = 4 * np.finfo(float).eps
# Trivial ceilings (a bound at or past one of these is met by every network, and the
# criterion is then uninformative).
#: eps_hat has no finite ceiling: on a ray z = t u, J's stationary point sits at
#: t = <A G(u), y> / ||A G(u)||^2, unbounded over networks as ||A G(u)|| -> 0, so no
#: ball radius is met by every network.
EPS_HAT_CEILING = float("inf")
#: s(z) = max(0, ...) / (L ||z*||) is never negative: "s >= 0" is met by every network.
RATE_FLOOR = 0.0
#: min_v D_v J(z0) at a kink has no finite ceiling (both one-sided derivatives can be
#: positive: a kink can be a local minimum of J).
KINK_DD_CEILING = float("inf")

#: Stationarity tolerance on the normalised steepest descent rate s(z): a thousandth
#: of the rate the surrogate predicts at unit relative distance from z*
#: (||h(z)|| ~ 2^-d ||z - z*|| near z*, and L ~ 2^-d).
STAT_TOL = 1e-3
#: Relative offset delta for sampling the gradients of neighbouring regions.
DELTA = 1e-7
#: One-sided finite-difference step (relative to ||z*||) for the cross-check; the
#: quotient differs from D_v J by t ||H|| ||v||^2 / 2 inside one region.
FD_STEP = 1e-7
#: Where along the finite-difference step the activation pattern is first read: a kink
#: crossed before t * ISOLATION_START moves the quotient by at most that fraction of
#: the jump in slope, far below FD_TOL.
ISOLATION_START = 1e-6
#: J(z) <= GLOBAL_MIN_TOL ||y||^2 counts as J = 0 (a global minimiser): rounding of a
#: squared residual whose entries are ~eps ||y|| (eps^2 ~ 5e-32, with room).
GLOBAL_MIN_TOL = 1e-26
#: ||grad J|| <= ROUNDING_GRAD L ||z*|| is zero to rounding (n_d-term sums, ~1e3 eps).
ROUNDING_GRAD = 1e-13
#: A nonzero pre-activation below NEAR_ZERO times its layer's largest is a rounding
#: residue of an exact zero (sums of ~1e3 terms: ~1e3 eps relative, with room).
NEAR_ZERO = 1e-11
#: Rows per chunk are chosen so that no (rows, widest layer) array exceeds this many
#: floats (16 MB): the check's memory stays bounded at 65,536 outputs.
CHUNK_FLOATS = 1 << 21
#: Pseudo-inverse cut-off of H (relative to its largest eigenvalue): rounding.
RCOND = GN_RCOND


def weight_scale(network: Network, law: WeightLaw | None) -> float:
    """c^2 = prod_i m2_i C_i l^dims, m2_i the filters' second moment (nominal for a law,
    measured for loaded weights): grad J is c^2 times its theory-normalised value."""
    spec = network.spec
    c2 = 1.0
    for i, layer in enumerate(spec.layers):
        rows = layer.channels * layer.kernel**spec.dims
        if law is None:
            m2 = float(np.mean(network.weights[i].filters ** 2))
        elif law.name == "uniform01":
            m2 = 1.0 / 3.0
        else:
            m2 = law.layer_std(spec, i) ** 2
        c2 *= m2 * rows
    return c2


def unit(v: np.ndarray) -> np.ndarray:
    """The rows of ``v`` scaled to unit norm."""
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@dataclass
class Problem:
    """Targets z*_k and measurements A_s, with a row layout for batched runs.

    ``masks`` (S, n) are the observed-entry masks (full first); ``ys`` (S, K, n) are
    A_s G(z*_k) in the full-length representation of MaskBatch (rows' measurements:
    :class:`~verify.geometry.rowmasks.RowMasks`), both fixed once built."""

    network: Network
    masks: np.ndarray
    mask_names: tuple[str, ...]
    zstar: np.ndarray
    ys: np.ndarray
    d: int

    @classmethod
    def build(cls, network: Network, masks, mask_names, zstar) -> "Problem":
        masks = np.asarray(masks, bool)
        g = network.forward(zstar)                       # (K, n)
        ys = masks[:, None, :] * g[None, :, :]
        return cls(network, masks, tuple(mask_names), zstar, ys, network.spec.depth)

    @cached_property
    def y_norm2(self) -> np.ndarray:
        """(S, K): ||A_s G(z*_k)||^2."""
        return np.sum(self.ys**2, axis=-1)

    @cached_property
    def mask_set(self) -> MaskSet:
        """The masks as rows' measurements (:class:`~verify.geometry.rowmasks.MaskSet`)."""
        return MaskSet(self.masks)

    @cached_property
    def L(self) -> np.ndarray:
        """(S, K): ||A_s G(z*_k)||^2 / ||z*_k||^2, the scale of J's curvature."""
        return self.y_norm2 / np.sum(self.zstar**2, axis=-1)[None, :]

    def objective(self, s: np.ndarray, k: np.ndarray) -> Objective:
        """The engine's Objective for rows with measurement s[i] and target k[i]."""
        return Objective(self.network, self.mask_set.rows(s), self.ys[s, k])

    def chunks(self, n: int, per_row: int = 1) -> list[slice]:
        """Row slices so that no (rows * per_row, widest layer) array exceeds
        CHUNK_FLOATS."""
        step = max(1, CHUNK_FLOATS // (per_row * max(self.network.spec.widths)))
        return [slice(lo, lo + step) for lo in range(0, n, step)]

    def value(self, z, s, k) -> np.ndarray:
        """J per row (the engine's Objective.value, chunked)."""
        return np.concatenate([self.objective(s[c], k[c]).value(z[c])
                               for c in self.chunks(len(z))] or [np.zeros(0)])

    def gradient(self, z, s, k) -> np.ndarray:
        """grad J per row (the engine's reverse mode, chunked)."""
        return self.value_and_gradient(z, s, k)[1]

    def value_and_gradient(self, z, s, k) -> tuple[np.ndarray, np.ndarray]:
        """(J, grad J) per row from one forward pass (chunked as :meth:`value`)."""
        p = [self.objective(s[c], k[c]).value_and_gradient(z[c]) for c in self.chunks(len(z))]
        return tuple(np.concatenate(a) for a in zip(*p)) if p else (np.zeros(0), 0 * z)

    def dd(self, z, v, s, k) -> np.ndarray:
        """Exact one-sided D_v J(z) per row (the engine's forward mode, chunked)."""
        return np.concatenate([self.objective(s[c], k[c]).directional_derivative(z[c], v[c])
                               for c in self.chunks(len(z))] or [np.zeros(0)])

    def scale(self, s, k) -> np.ndarray:
        """L ||z*|| per row: the normaliser of gradients and descent rates."""
        return self.L[s, k] * np.linalg.norm(self.zstar[k], axis=-1)

    def distances(self, z, k) -> tuple[np.ndarray, np.ndarray]:
        """Relative distances to z* and to -rho_d z*."""
        zs = self.zstar[k]
        nz = np.linalg.norm(zs, axis=-1)
        r = rho(self.d)
        return (np.linalg.norm(z - zs, axis=-1) / nz,
                np.linalg.norm(z + r * zs, axis=-1) / nz)

    def ray_minimisers(self) -> np.ndarray:
        """(S, K) the minimiser t of J(-t z*) per (measurement, target):
        <A G(z*), A G(-z*)> / ||A G(-z*)||^2 (G positively homogeneous), the network's own
        rho in place of the infinite-width rho_d (NaN where A G(-z*) = 0)."""
        gp, gm = self.network.forward(self.zstar), self.network.forward(-self.zstar)
        num = np.maximum(np.einsum("sn,kn->sk", self.masks.astype(float), gp * gm), 0.0)
        den = np.einsum("sn,kn->sk", self.masks.astype(float), gm * gm)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    def distances_fitted(self, z, s, k) -> np.ndarray:
        """Relative distance to the nearer of z* and -t z*, t the pair's ray minimiser
        (:meth:`ray_minimisers`): eps_hat with rho fitted per case."""
        zs = self.zstar[k]
        nz = np.linalg.norm(zs, axis=-1)
        t = self.ray_minimisers()[s, k]
        neg = np.linalg.norm(z + np.nan_to_num(t, nan=rho(self.d))[:, None] * zs, axis=-1)
        return np.minimum(np.linalg.norm(z - zs, axis=-1), neg) / nz


def newton_direction(problem: Problem, z, s, k):
    """(J, grad J, d = H^+ grad J, self-check) per row, H = J_G^T A^T A J_G (the exact
    Hessian inside a region for ReLU without bias; :mod:`verify.geometry.descent_newton`).
    The self-check is the largest ||grad J - J_G^T A^T (A G - y)|| / (L ||z*||): the
    engine's reverse-mode gradient against the tangent Jacobian. Rows are processed in
    chunks of bounded memory."""
    n0 = z.shape[1]
    val, g, d = np.empty(len(z)), np.empty_like(z), np.empty_like(z)
    check = 0.0
    for c in problem.chunks(len(z), per_row=n0):
        sc, kc = s[c], k[c]
        val[c], g[c], d[c], g_jac = gauss_newton_shared(
            problem.objective(sc, kc), z[c], problem.mask_set.weights_of(sc), rcond=RCOND)
        check = max(check, float(np.max(np.linalg.norm(g[c] - g_jac, axis=-1)
                                        / problem.scale(sc, kc))))
    return val, g, d, check


def newton_search(problem: Problem, z, s, k, *, iters: int, merit: str):
    """Damped (Gauss-)Newton steps z <- z - alpha H^+ grad J, alpha the largest of
    1, 1/2, ..., 1/128 that lowers the merit (J for ``merit='value'``, ||grad J||^2
    for ``merit='gradnorm'``): the engine's
    :func:`~verify.inversion.optimisers.damped_newton`. All active rows advance together;
    a row stops when no step lowers its merit or its step is below rounding. Returns the
    end points, the number of Newton evaluations and the worst gradient self-check."""
    worst = [0.0]

    def direction(rows, zr):
        val, g, d, chk = newton_direction(problem, zr, s[rows], k[rows])
        worst[0] = max(worst[0], chk)
        return (val if merit == "value" else np.sum(g * g, axis=-1)), d

    def merit_at(rows, cand):
        if merit == "value":
            return problem.value(cand, s[rows], k[rows])
        gc = problem.gradient(cand, s[rows], k[rows])
        return np.sum(gc * gc, axis=-1)

    def at_rounding(rows, cur):
        # rows already at rounding level (J = 0, or grad J = 0) stop without a search
        if merit == "value":
            return cur <= GLOBAL_MIN_TOL * problem.y_norm2[s[rows], k[rows]]
        return np.sqrt(cur) <= ROUNDING_GRAD * problem.scale(s[rows], k[rows])

    min_step = 1e-13 * np.linalg.norm(problem.zstar[k], axis=-1)
    z, evals = damped_newton(z, direction, merit_at, iters=iters, at_rounding=at_rounding,
                             min_step=min_step)
    return z, evals, worst[0]


def min_norm_hull(G: np.ndarray, iters: int = 50) -> np.ndarray:
    """Minimum-norm point of conv{G[b, j, :]} per b (Frank-Wolfe with exact line search)."""
    b, q, n = G.shape
    x = G.mean(axis=1)
    for _ in range(iters):
        scores = np.einsum("bqn,bn->bq", G, x)
        j = np.argmin(scores, axis=1)
        vtx = G[np.arange(b), j]
        dvec = vtx - x
        den = np.sum(dvec * dvec, axis=-1)
        gam = np.clip(-np.sum(x * dvec, axis=-1) / np.where(den > 0, den, 1.0), 0.0, 1.0)
        x = x + gam[:, None] * dvec
    return x


def descent_rates(problem: Problem, z, s, k, rng, *, neighbours: int):
    """The normalised steepest descent rate s(z) found by the exact D_v J over the
    candidate directions of the module docstring; also ||grad J(z)|| / ||z*||.

    v = -grad J(z) is tried everywhere; the neighbouring regions' gradients and their
    minimum-norm convex combination only where that rate is below 100 STAT_TOL (a
    rate above it already certifies a strict descent direction) and J(z) > 0 (J = 0
    is the global minimum)."""
    b, n0 = z.shape
    nz = np.linalg.norm(problem.zstar[k], axis=-1)
    scale = problem.scale(s, k)
    val, g = problem.value_and_gradient(z, s, k)
    gn = np.linalg.norm(g, axis=-1)
    v0 = -g / np.where(gn > 0, gn, 1.0)[:, None]
    rate = np.maximum(0.0, -np.where(gn > 0, problem.dd(z, v0, s, k), 0.0)) / scale + 0.0
    # J(z) = 0 to rounding: a global minimiser, stationary without further evidence
    zero = val <= GLOBAL_MIN_TOL * problem.y_norm2[s, k]
    low = np.flatnonzero((rate < 100 * STAT_TOL) & ~zero)
    if low.size:
        zl, sl, kl = z[low], s[low], k[low]
        u = unit(rng.normal(size=(low.size, neighbours, n0)))
        pts = zl[:, None, :] + DELTA * nz[low, None, None] * u
        gq = problem.gradient(pts.reshape(-1, n0), np.repeat(sl, neighbours),
                              np.repeat(kl, neighbours))
        grads = np.concatenate([g[low, None, :], gq.reshape(low.size, neighbours, n0)], axis=1)
        cands = -np.concatenate([grads[:, 1:], min_norm_hull(grads)[:, None, :]], axis=1)
        c = cands.shape[1]
        norms = np.linalg.norm(cands, axis=-1)
        vs = cands / np.where(norms > 0, norms, 1.0)[..., None]
        dd = problem.dd(np.repeat(zl, c, axis=0), vs.reshape(-1, n0), np.repeat(sl, c),
                        np.repeat(kl, c)).reshape(low.size, c)
        dd = np.where(norms > 0, dd, 0.0)
        rate[low] = np.maximum(rate[low], np.max(-dd, axis=1) / scale[low])
    return rate + 0.0, gn / nz  # + 0.0 turns -0.0 into 0.0


# ------------------------------------------------------------------- kinks
def layer1_pre(network: Network, z: np.ndarray) -> np.ndarray:
    """The first layer's flat pre-activations, by the same call the engine's passes
    make (``Network.conv`` on the internal layout), so exact zeros agree with them."""
    pre = network.conv(0, network.to_internal(z, 0))
    w = network.weights[0]
    if w.scale is not None:
        pre = pre * w.scale + w.bias
    return network.to_flat(pre)


def kink_points(network: Network, z: np.ndarray, units: np.ndarray, *, ulps: int = 16):
    """Move each z[i] onto the hyperplane of first-layer unit ``units[i]`` so that the
    engine computes that pre-activation as exactly 0.0 (a kink of J).

    A projection leaves a rounding residue, and the engine's dot products use fused
    multiply-adds in index order, so exactness is constructed: the last coordinate is
    rounded to a signed power of two (its product with the weight is then exact) and
    the one before it is solved for and stepped by up to ``ulps`` units in the last
    place (all candidates in one batch) until the engine's own pre-activation is
    exactly zero. Rows where no candidate hits are flagged in ``ok``. Returns
    ``(z0, ok, normals)``, the unit normals oriented towards the active side.
    """
    W1 = network.layer_matrix(0).toarray()
    w = W1[units]                                                    # (b, n0)
    b, n0 = z.shape
    if n0 < 2:
        return z.copy(), np.zeros(b, bool), unit(w)
    ia, ib = n0 - 2, n0 - 1
    z = z.copy()
    zb = z[:, ib]
    z[:, ib] = np.where(zb < 0, -1.0, 1.0) * np.exp2(np.round(np.log2(np.abs(zb) + 1e-300)))
    rest = np.sum(w[:, :ia] * z[:, :ia], axis=-1) + w[:, ib] * z[:, ib]
    wa = w[:, ia]
    za = -rest / np.where(wa != 0, wa, 1.0)
    offs = np.concatenate([[0], np.repeat(np.arange(1, ulps + 1), 2) * np.tile([1, -1], ulps)])
    cand = np.repeat(z[:, None, :], offs.size, axis=1)
    cand[:, :, ia] = za[:, None] + offs[None, :] * np.spacing(za)[:, None]
    pre = layer1_pre(network, cand.reshape(-1, n0)).reshape(b, offs.size, -1)
    hit = (pre[np.arange(b)[:, None], np.arange(offs.size)[None, :], units[:, None]] == 0.0) \
        & (wa != 0)[:, None]
    ok = hit.any(axis=1)
    z0 = cand[np.arange(b), np.argmax(hit, axis=1)]
    return z0, ok, unit(w)


def kink_derivatives(problem: Problem, z0, normals, s, k, units):
    """At kink points z0 (first-layer unit ``units`` exactly at 0): the exact one-sided
    D_v J(z0) along v_in = -grad J(z0) (the engine's gradient takes the unit as
    inactive) and v_act = -grad J(z0 + delta n) (the active side's gradient, n the
    normal), each cross-checked by a one-sided finite difference. Rows whose exact
    zero does not survive in the evaluation batch are flagged ``verified = False``;
    ``simple`` is False where another pre-activation is a rounding residue."""
    b, n0 = z0.shape
    nz = np.linalg.norm(problem.zstar[k], axis=-1)
    g_in = problem.gradient(z0, s, k)
    g_act = problem.gradient(z0 + DELTA * nz[:, None] * normals, s, k)
    V = np.stack([-g_in, -g_act], axis=1)                           # (b, 2, n0)
    vn = np.linalg.norm(V, axis=-1)
    V = V / np.where(vn > 0, vn, 1.0)[..., None]
    Z = np.repeat(z0, 2, axis=0)
    # verified on the very row chunks the forward-mode pass below receives
    u2 = np.repeat(units, 2)
    verified = np.concatenate([
        layer1_pre(problem.network, Z[c])[np.arange(len(Z[c])), u2[c]] == 0.0
        for c in problem.chunks(2 * b)] or [np.zeros(0, bool)]).reshape(b, 2).all(axis=1)
    # Degenerate kinks: some other pre-activation is within rounding of 0 without being
    # 0 (exact cancellations, e.g. duplicate rows of Rademacher weights): there the
    # computed sign is a rounding residue and neither the forward-mode tie rule nor a
    # finite difference sees the exact-arithmetic kink.
    simple = np.ones(b, bool)
    for c in problem.chunks(b):
        for pre in problem.network.layer_outputs(z0[c]):
            big = np.max(np.abs(pre), axis=1, keepdims=True)
            simple[c] &= ~np.any((pre != 0) & (np.abs(pre) <= NEAR_ZERO * big), axis=1)
    s2, k2, V2 = np.repeat(s, 2), np.repeat(k, 2), V.reshape(-1, n0)
    dd = problem.dd(Z, V2, s2, k2).reshape(b, 2)
    t = (FD_STEP * nz)[:, None]
    t2 = np.repeat(t, 2, axis=0)
    fd = ((problem.value(Z + t2 * V2, s2, k2) - problem.value(Z, s2, k2)).reshape(b, 2) / t)
    # The quotient is a one-sided derivative only if the segment (0, t] along v stays in
    # one linear region: the activation pattern at t * ISOLATION_START equals the one at
    # t (then, layer by layer, every pre-activation is linear on the segment and keeps
    # its sign). Where another kink lies within the step, the quotient averages two
    # regions' slopes and says nothing about D_v J.
    isolated = np.concatenate([segment_in_one_region(problem.network, Z[c], V2[c], t2[c])
                               for c in problem.chunks(2 * b)] or [np.zeros(0, bool)])
    scale = problem.scale(s, k)[:, None]
    return dd / scale, fd / scale, verified, simple, isolated.reshape(b, 2)


def segment_in_one_region(network: Network, z, v, t) -> np.ndarray:
    """Per row, whether the segment z + (t * ISOLATION_START, t] v lies in one linear
    region of G: the activation pattern (every layer) at its two ends is the same. Then
    the first layer's pre-activations are linear on the segment and keep their signs,
    hence so do the second layer's, and so on: no kink lies in between."""
    t = np.asarray(t, float).reshape(-1, 1)
    same = np.ones(len(z), bool)
    near = network.layer_outputs(z + ISOLATION_START * t * v)
    far = network.layer_outputs(z + t * v)
    for p0, p1 in zip(near, far):
        same &= np.all((p0 > 0) == (p1 > 0), axis=1)
    return same


# ---------------------------------------------------------- D_w J(0) < 0
def worst_w(problem: Problem, s, k, rng, *, n_random: int, n_adv: int, steps: int):
    """kappa(w) = <A G(z*), A G(w)> ||z*|| / ||A G(z*)||^2 over unit w: random w and
    a projected-gradient local search on the sphere (adversarial w). Returns per
    (s, k) pair the minimum found, and the largest |D_w J(0) + <A G(z*), A G(w)>|
    over the random w (exactly 0 for ReLU without bias)."""
    net, n0 = problem.network, problem.network.spec.latent_dim
    pairs = len(s)
    nz = np.linalg.norm(problem.zstar[k], axis=-1)
    ny2 = problem.y_norm2[s, k]
    norm = nz / ny2
    # random w, and the identity D_w J(0) = -<A G(z*), A G(w)>
    W = unit(rng.normal(size=(pairs, n_random, n0)))
    ss, kk = np.repeat(s, n_random), np.repeat(k, n_random)
    Wf = W.reshape(-1, n0)
    dd0 = problem.dd(np.zeros_like(Wf), Wf, ss, kk)
    inner = np.concatenate([
        np.sum(problem.ys[ss[c], kk[c]] * problem.masks[ss[c]] * net.forward(Wf[c]), axis=-1)
        for c in problem.chunks(len(Wf))])
    identity_gap = float(np.max(np.abs(dd0 + inner)))
    kap_rand = (inner.reshape(pairs, n_random) * norm[:, None]).min(axis=1)
    # adversarial: start at the worst random ones and at -z*
    order = np.argsort(inner.reshape(pairs, n_random), axis=1)[:, :max(n_adv - 1, 0)]
    starts = np.concatenate([W[np.arange(pairs)[:, None], order],
                             -unit(problem.zstar[k])[:, None, :]], axis=1)
    na = starts.shape[1]
    w = starts.reshape(-1, n0)
    sa, ka = np.repeat(s, na), np.repeat(k, na)
    nn = np.repeat(norm, na)
    best = np.full(w.shape[0], np.inf)
    g = np.empty_like(w)
    chunks = problem.chunks(len(w))
    ys = [problem.ys[sa[c], ka[c]] * problem.masks[sa[c]] for c in chunks]  # once, not per step
    for j in range(steps):
        for c, yc in zip(chunks, ys):
            cache = net.forward_with_cache(w[c])
            best[c] = np.minimum(best[c], np.sum(yc * cache.output, axis=-1) * nn[c])
            g[c] = net.vjp(cache, yc)
        tg = g - np.sum(g * w, axis=-1, keepdims=True) * w
        tn = np.linalg.norm(tg, axis=-1, keepdims=True)
        eta = 0.5 * 0.93**j
        w = unit(w - eta * tg / np.where(tn > 0, tn, 1.0))
    kap_adv = best.reshape(pairs, na).min(axis=1)
    return np.minimum(kap_rand, kap_adv), kap_rand, kap_adv, identity_gap


# ------------------------------------------------------------ surrogate gap
def surrogate_gap(network: Network, law, masks, zstar, z, s, k) -> np.ndarray:
    """||grad J - c^2 r h_{z,z*}|| / (c^2 r ||z*||) per row (module docstring)."""
    problem = Problem.build(network, masks, [""] * len(masks), zstar)
    g = problem.gradient(z, s, k)
    r = problem.masks.mean(axis=1)[s]
    c2 = weight_scale(network, law)
    hs = _hv_batched(z, zstar[k], network.spec.depth)
    return np.linalg.norm(g - (c2 * r)[:, None] * hs, axis=-1) / (
        c2 * r * np.linalg.norm(zstar[k], axis=-1))


def _hv_batched(z, x0, d):
    """hv_surrogate (verify/formulas.py) with one x0 per row."""
    out = np.empty_like(z)
    targets, inverse = np.unique(x0, axis=0, return_inverse=True)
    for j, t in enumerate(targets):  # a loop over the few targets, not over samples
        sel = inverse.reshape(-1) == j
        out[sel] = hv_surrogate(z[sel], t, d)
    return out
