"""The exact WDC supremum of one block with k = 2 or 3 columns, certified to a tolerance
(lemmas/README.md, section 2).

H&V's weight distribution condition asks sup over u, v != 0 of
||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 <= eps. The statistic depends on u and v only through
their directions, so the supremum is over pairs of points of the sphere S^{k-1}. The
first term depends only on the activation patterns: it is the constant
C = B^T diag(s_u s_v) B on each pair of cells of the arrangement of the great circles
{x : b_r . x = 0} of B's rows, while Q_{u,v} is Lipschitz in the directions.

Method (branch and bound over pairs of spherical patches, cell pair by cell pair)
-------------------------------------------------------------------------------
The sphere is covered by the cube sphere: 2k faces, each a (k-1)-cube [-1, 1]^{k-1}
mapped to S^{k-1} by normalisation, cut into N^{k-1} squares (arcs for k = 2). A patch P
is covered by the cap of centre c = its centre's direction and angular radius rho = the
largest angle from c to a corner (the cap's gnomonic image is convex, so it holds the
square's convex hull). On the cap row r is
  * surely on  (b_r . u > 0 for every u in the cap) when b_r . c > ||b_r|| sin(rho),
  * surely off (b_r . u <= 0 for every u)            when b_r . c <= -||b_r|| sin(rho),
  * undecided otherwise (its great circle may cross the patch).
For a pair of patches (P_u, P_v) with centres (c_u, c_v) let C_on be the Gram matrix of
the rows surely on for both and C_poss that of the rows not surely off for either. Every
(u, v) in the pair has C_on <= C(u, v) <= C_poss in the PSD order (adding a row adds
b_r b_r^T >= 0), and ||Q(u, v) - Q(c_u, c_v)|| <= L (rho_u + rho_v). Hence, with
D_on = C_on - Q(c_u, c_v) and D_poss = C_poss - Q(c_u, c_v),

    sup_{P_u x P_v} ||C(u, v) - Q(u, v)|| <= max(lambda_max(D_poss), -lambda_min(D_on))
                                              + L (rho_u + rho_v),

and the value at the centres (with their actual patterns) is a lower bound of the
supremum. When the pair of patches lies inside one pair of cells, C_on = C_poss is that
cell pair's constant matrix and the bound is the plain Lipschitz bound; when a great
circle crosses a patch, the bound covers every pattern the patch pair can realise (and
is exactly the larger of the two sides' values when one circle crosses). Pairs whose
upper bound is at most the best lower bound so far cannot hold the supremum and are
dropped; those within ``tol`` of it are settled; the rest are split (both patches, into
2^(k-1) children each) and evaluated again. The result is a bracket
lower <= sup <= upper with upper - lower <= tol: a certificate of the supremum, against
which a sampled eps_hat (a lower estimate) is compared. The cells are never listed: the
subdivision follows the arrangement where it matters (near the supremum) and bounds
whole groups of cell pairs at once elsewhere. f(u, v) = f(v, u) (C and Q are symmetric
in the pair), so only pairs of patches (i, j) with i <= j are visited.

Lipschitz constant of Q (unit u moving at unit angular speed, v fixed)
---------------------------------------------------------------------
Q = (pi - theta)/(2 pi) I + S/(2 pi), S = sin(theta) M_{u<->v}. In the plane of (v, u),
with f the unit vector of that plane orthogonal to v, S = sin(theta) [c (v v^T - f f^T)
+ s (v f^T + f v^T)] (c, s = cos, sin theta). Split the velocity into an in-plane part
alpha and an out-of-plane part beta (alpha^2 + beta^2 = 1). In plane, theta changes at
rate |alpha|, the first term at |alpha| / (2 pi), and d S / d theta = cos(2 theta)(v v^T -
f f^T) + sin(2 theta)(v f^T + f v^T), of norm 1. Out of plane, theta is stationary and
f turns towards the unit normal n at rate 1 / sin(theta), so d S = -c (n f^T + f n^T) +
s (v n^T + n v^T) = n x^T + x n^T with x = s v - c f a unit vector orthogonal to n, of
norm 1. So ||dQ|| <= (2 |alpha| + |beta|) / (2 pi) <= sqrt(5) / (2 pi) for k >= 3, and
<= 1 / pi for k = 2 (beta = 0). Q is continuous at theta = 0 and pi (S -> 0), so the
bound on the derivative, valid off those points, bounds ||Q(u, v) - Q(u', v)|| by L times
the angle between u and u' (property_tests/test_wdc_exact.py checks it on random and
near-(anti)parallel pairs).

Cost and budget
---------------
Each level costs (pairs) x (m + PAIR_OVERHEAD) units of work (three masked Gram
products of m rows and up to three small eigenvalue problems per pair). The work is
adaptive and not known in advance: ``max_work`` bounds it, and a run
that would pass it stops before the level that would, refusing (VerifyError naming the
bracket reached and the work the next level needs) or, with ``on_budget="partial"``,
returning the wider bracket reached so far (``complete`` False), still a certificate.
Measured (one BLAS thread, tol 1e-3): k = 2, m = 400 (paper-fig4's first block): a few
thousand pairs, 0.1 to 0.3 s; k = 3 splits a pair into 16 children instead of 4: m = 8,
30, 100 took 6e4, 1.3e5, 3e5 pairs, about 1, 3, 8 s (the eigenvalues of 3 x 3 matrices
dominate), so wide k = 3 blocks need a larger budget or come back partial. The worst
case is a supremum taken on a whole curve (a plateau: the zero block, where
||Q_{u,v}|| = 1/2 - O(theta^3) near the diagonal, or a single row): every patch pair
along the curve must be refined, which for k = 3 exceeds the default budget; random
blocks have isolated maximisers.
k >= 4 (64 children per split) is refused: the adaptive refinement would not finish.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from verify.errors import VerifyError
from verify.gram import row_outer_products, unpack_upper

#: Lipschitz constant of Q (spectral norm per radian of one argument): 1/pi in the plane
#: (k = 2), sqrt(5)/(2 pi) in general (module docstring).
LIPSCHITZ = {2: 1.0 / math.pi, 3: math.sqrt(5.0) / (2.0 * math.pi)}
#: Column counts the exact supremum handles.
SUPPORTED_K = (2, 3)
#: Default certified tolerance: upper - lower <= TOL.
TOL = 1e-3
#: Cost of one pair of patches beyond its m rows (eigenvalues, bookkeeping), in rows:
#: measured, one BLAS thread, k = 2 and 3 alike, about 1e-7 s per unit of work.
PAIR_OVERHEAD = 200
#: Default budget of work, pairs x (m + PAIR_OVERHEAD) (about 10 s).
MAX_WORK = 1e8
#: Patches per face side at the first level (caps of radius < pi/4).
N0 = 2
#: Hill climb from the best pairs of each level (lower bounds only; :func:`_climb`).
LOCAL_STARTS, LOCAL_ITERS, LOCAL_CANDIDATES = 16, 12, 8
#: Levels with fewer pairs than this skip the climb (it costs more than it prunes).
LOCAL_MIN_PAIRS = 2000
#: Memory cap (float64 elements) of one chunk of pair evaluations.
CHUNK = 1 << 21
_EPS = np.finfo(float).eps


def lipschitz(k: int) -> float:
    """L with ||Q(u, v) - Q(u', v)||_2 <= L angle(u, u') (module docstring)."""
    return LIPSCHITZ[2] if k == 2 else LIPSCHITZ[3]


@dataclass(frozen=True)
class ExactSup:
    """sup_{u,v} ||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 in [lower, upper].

    ``complete``: the bracket meets the tolerance (upper - lower <= tol); False only
    when the work budget stopped the refinement (``on_budget="partial"``).
    """

    lower: float
    upper: float
    tol: float
    complete: bool
    at: tuple[tuple[float, ...], tuple[float, ...]]   # unit u, v of the lower value
    k: int
    m: int
    lipschitz: float
    levels: int
    pairs_evaluated: int
    work: float
    seconds: float

    @property
    def width(self) -> float:
        return self.upper - self.lower

    def to_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "width": self.width,
                "tol": self.tol, "complete": self.complete,
                "at": [list(self.at[0]), list(self.at[1])], "k": self.k, "m": self.m,
                "lipschitz": self.lipschitz, "levels": self.levels,
                "pairs_evaluated": self.pairs_evaluated, "work": self.work,
                "seconds": self.seconds}


def Q_unit(A: np.ndarray, Bv: np.ndarray) -> np.ndarray:
    """Q_{a,b} for stacked UNIT vectors (P, k) -> (P, k, k) (lemmas/README.md, section 2), with
    theta = 2 atan2(||a - b||, ||a + b||) (full precision near 0 and pi)."""
    P, k = A.shape
    dm, dp = np.linalg.norm(A - Bv, axis=1), np.linalg.norm(A + Bv, axis=1)
    th = 2.0 * np.arctan2(dm, dp)
    s = dm * dp / 2.0
    c = (dp**2 - dm**2) / 4.0
    e = Bv - c[:, None] * A
    ne = np.linalg.norm(e, axis=1)
    e = e / np.where(ne > 0, ne, 1)[:, None]
    aa = np.einsum("pi,pj->pij", A, A)
    ee = np.einsum("pi,pj->pij", e, e)
    ae = np.einsum("pi,pj->pij", A, e)
    sinM = (s * c)[:, None, None] * (aa - ee) + (s * s)[:, None, None] * (ae + ae.transpose(0, 2, 1))
    return ((np.pi - th) / (2 * np.pi))[:, None, None] * np.eye(k) + sinM / (2 * np.pi)


def _extreme_eigs(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lambda_min, lambda_max) of stacked symmetric (P, k, k); closed form for k = 2."""
    if D.shape[1] == 2:
        mean = 0.5 * (D[:, 0, 0] + D[:, 1, 1])
        rad = np.hypot(0.5 * (D[:, 0, 0] - D[:, 1, 1]), D[:, 0, 1])
        return mean - rad, mean + rad
    w = np.linalg.eigvalsh(D)
    return w[:, 0], w[:, -1]


class _Sphere:
    """The cube-sphere patches of S^{k-1}: face f = (axis f // 2, sign +-1 by f % 2),
    integer index i in [0, N)^{k-1} at N = N0 2^level squares per side."""

    def __init__(self, k: int):
        self.k = k
        self.others = [np.array([j for j in range(k) if j != a]) for a in range(k)]
        self.corners = np.array(list(itertools.product((0.0, 1.0), repeat=k - 1)))

    def _points(self, face: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Face coordinates t (P, k-1) of faces ``face`` (P,) -> directions (P, k)."""
        P, k = len(face), self.k
        x = np.empty((P, k))
        axis, sign = face // 2, np.where(face % 2 == 0, 1.0, -1.0)
        for a in range(k):
            sel = axis == a
            if sel.any():
                x[np.ix_(sel, [a])] = sign[sel, None]
                x[np.ix_(sel, self.others[a])] = t[sel]
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def patches(self, face: np.ndarray, idx: np.ndarray, N: int):
        """Centres (P, k) and cap radii (P,) of patches (face, idx) at N per side."""
        lo = -1.0 + 2.0 * idx / N
        c = self._points(face, lo + 1.0 / N)
        rho = np.zeros(len(face))
        for corner in self.corners:
            x = self._points(face, lo + 2.0 * corner / N)
            rho = np.maximum(rho, 2.0 * np.arcsin(np.minimum(1.0, 0.5 * np.linalg.norm(x - c, axis=1))))
        return c, rho * (1 + 1e-9) + 1e-12  # rounding of the angle itself

    def initial(self) -> tuple[np.ndarray, np.ndarray]:
        faces = np.repeat(np.arange(2 * self.k), N0 ** (self.k - 1))
        idx = np.array(list(itertools.product(range(N0), repeat=self.k - 1)) * (2 * self.k))
        return faces, idx.reshape(len(faces), self.k - 1)


def _evaluate(B, R, tri, Bn, marg, cu, ru, cv, rv, L, safety):
    """(lower, upper) per pair of caps (module docstring)."""
    k = B.shape[1]
    bu, bv = cu @ B.T, cv @ B.T
    su, sv = np.sin(ru)[:, None] * Bn + marg, np.sin(rv)[:, None] * Bn + marg
    on = (bu > su) & (bv > sv)
    poss = (bu > -su) & (bv > -sv)
    cen = (bu > 0) & (bv > 0)
    Qc = Q_unit(cu, cv)
    D = lambda mask: unpack_upper(mask.astype(np.float64) @ R, tri, k) - Qc  # noqa: E731
    lo_c, hi_c = _extreme_eigs(D(cen))
    lower = np.maximum(hi_c, -lo_c) - safety
    # inside one pair of cells (on == poss) the three matrices are one: no more eigenvalues
    lo_on, hi_poss = lo_c.copy(), hi_c.copy()
    mixed = np.any(on != poss, axis=1)
    if mixed.any():
        Qc = Qc[mixed]
        lo_on[mixed] = _extreme_eigs(D(on[mixed]))[0]
        hi_poss[mixed] = _extreme_eigs(D(poss[mixed]))[1]
    upper = np.maximum(hi_poss, -lo_on) + L * (ru + rv) + safety
    return lower, upper


def unit_deviation(B, R, tri, U, V):
    """||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 at unit pairs (P, k) (the masks at the points)."""
    k = B.shape[1]
    mask = ((U @ B.T) > 0) & ((V @ B.T) > 0)
    lo, hi = _extreme_eigs(unpack_upper(mask.astype(np.float64) @ R, tri, k) - Q_unit(U, V))
    return np.maximum(hi, -lo)


def _climb(B, R, tri, U, V, f, sigma, rng, *, iters=LOCAL_ITERS, cands=LOCAL_CANDIDATES):
    """A (1 + C) hill climb from the pairs (U, V) with values f, steps of size ~ sigma on
    the sphere: better lower bounds early prune more pairs of patches. Any point's value
    is a valid lower bound, so this only speeds the search up."""
    S, k = U.shape
    sig = np.full(S, float(sigma))
    for _ in range(iters):
        du = rng.normal(size=(S, cands, k)) * sig[:, None, None]
        dv = rng.normal(size=(S, cands, k)) * sig[:, None, None]
        Uc = U[:, None] + du
        Vc = V[:, None] + dv
        Uc /= np.linalg.norm(Uc, axis=2, keepdims=True)
        Vc /= np.linalg.norm(Vc, axis=2, keepdims=True)
        d = unit_deviation(B, R, tri, Uc.reshape(-1, k), Vc.reshape(-1, k)).reshape(S, cands)
        j = np.argmax(d, axis=1)
        top = d[np.arange(S), j]
        up = top > f
        U[up], V[up], f[up] = Uc[up, j[up]], Vc[up, j[up]], top[up]
        sig = np.where(up, sig * 1.5, sig * 0.5)
    return U, V, f


def exact_sup(B: np.ndarray, *, tol: float = TOL, max_work: float = MAX_WORK,
              on_budget: str = "raise") -> ExactSup:
    """The certified WDC supremum of the block ``B`` (m, k), k = 2 or 3 (module docstring).

    Parameters
    ----------
    B : array (m, k)
        The block, already scaled (entries of second moment 1/m for the WDC).
    tol : float
        The bracket's width to reach: upper - lower <= tol.
    max_work : float
        Budget in units of work, pairs evaluated x (m + PAIR_OVERHEAD) (about 1e-7 s
        each).
    on_budget : {"raise", "partial"}
        Above the budget: refuse (VerifyError with the bracket reached and the work the
        next level needs) or return the bracket reached (``complete`` False).
    """
    t0 = time.perf_counter()
    B = np.asarray(B, float)
    if B.ndim != 2 or B.shape[1] not in SUPPORTED_K or B.shape[0] < 1:
        k_txt = B.shape[1] if B.ndim == 2 else "?"
        raise VerifyError(
            f"the exact WDC supremum handles blocks with k = 2 or 3 columns; this block has "
            f"shape {B.shape} (k = {k_txt}: the branch and bound splits a pair of patches "
            f"into 2^(2(k-1)) children, 64 or more for k >= 4, and would not finish)")
    if not np.all(np.isfinite(B)):
        raise VerifyError("B: expected finite entries")
    if not (isinstance(tol, (int, float)) and tol > 0 and math.isfinite(tol)):
        raise VerifyError(f"tol: expected a tolerance > 0, got {tol!r}")
    if on_budget not in ("raise", "partial"):
        raise VerifyError(f"on_budget: expected 'raise' or 'partial', got {on_budget!r}")
    m, k = B.shape
    L = lipschitz(k)
    R, tri = row_outer_products(B)
    Bn = np.linalg.norm(B, axis=1)
    marg = 4.0 * k * _EPS * Bn[None, :]          # rounding of a length-k dot product
    # rounding of a length-m sum of b_r b_r^T plus the closed form and eigenvalues
    safety = 4.0 * (m + 16) * _EPS * (float(np.sum(Bn**2)) + 1.0)
    sphere = _Sphere(k)
    f0, i0 = sphere.initial()
    a, b = np.triu_indices(len(f0))
    fu, iu_, fv, iv = f0[a], i0[a], f0[b], i0[b]
    N, level = N0, 0
    best, at = -np.inf, (np.zeros(k), np.zeros(k))
    settled, work, evaluated = -np.inf, 0.0, 0
    pending = np.inf                            # nothing evaluated yet: no upper bound
    rng = np.random.default_rng(0)              # the climb's steps: any point is valid
    kids = sphere.corners.astype(int)           # child offsets per side
    nk = len(kids)
    while True:
        P = len(fu)
        if work + P * (m + PAIR_OVERHEAD) > max_work:
            upper = max(best, settled, pending)
            msg = (f"the exact WDC supremum (k = {k}, m = {m}, tol {tol:g}) needs at least "
                   f"{work + P * (m + PAIR_OVERHEAD):.3g} units of work (level {level}: {P} "
                   f"pairs of patches x ({m} rows + {PAIR_OVERHEAD})), over the budget of "
                   f"{max_work:.3g} (about 1e-7 s a unit); bracket reached: "
                   f"[{best:.6g}, {upper:.6g}]")
            if on_budget == "raise":
                raise VerifyError(msg)
            return ExactSup(float(best), float(upper), tol, False,
                            (tuple(map(float, at[0])), tuple(map(float, at[1]))), k, m, L,
                            level, evaluated, work, time.perf_counter() - t0)
        cu, ru = sphere.patches(fu, iu_, N)
        cv, rv = sphere.patches(fv, iv, N)
        lower = np.empty(P)
        upper = np.empty(P)
        step = max(1, CHUNK // m)
        for s in range(0, P, step):
            sl = slice(s, s + step)
            lower[sl], upper[sl] = _evaluate(B, R, tri, Bn, marg, cu[sl], ru[sl], cv[sl],
                                             rv[sl], L, safety)
        work += P * (m + PAIR_OVERHEAD)
        evaluated += P
        top = np.argsort(lower)[::-1][:LOCAL_STARTS]
        Uc, Vc, fc = cu[top], cv[top], lower[top] + safety
        if P >= LOCAL_MIN_PAIRS:  # worth a climb only when many pairs are left to prune
            Uc, Vc, fc = _climb(B, R, tri, Uc.copy(), Vc.copy(), fc, ru[top].max(), rng)
            work += len(top) * LOCAL_ITERS * LOCAL_CANDIDATES * (m + PAIR_OVERHEAD)
        j = int(np.argmax(fc))
        if fc[j] - safety > best:
            best, at = float(fc[j] - safety), (Uc[j], Vc[j])
        split = upper > best + tol
        if (~split).any():
            settled = max(settled, float(upper[~split].max()))
        if not split.any():
            return ExactSup(float(best), float(max(best, settled)), tol, True,
                            (tuple(map(float, at[0])), tuple(map(float, at[1]))), k, m, L,
                            level + 1, evaluated, work, time.perf_counter() - t0)
        pending = float(upper[split].max())
        fu, iu_, fv, iv = fu[split], iu_[split], fv[split], iv[split]
        diag = (fu == fv) & np.all(iu_ == iv, axis=1)
        # children: every (child of u) x (child of v); on the diagonal only ca <= cb
        ca, cb = np.meshgrid(np.arange(nk), np.arange(nk), indexing="ij")
        ca, cb = ca.ravel(), cb.ravel()
        keep_d = ca <= cb
        parts = []
        for sel, (xa, xb) in ((~diag, (ca, cb)), (diag, (ca[keep_d], cb[keep_d]))):
            n = int(sel.sum())
            if n == 0:
                continue
            rep = len(xa)
            parts.append((np.repeat(fu[sel], rep), np.repeat(2 * iu_[sel], rep, axis=0)
                          + np.tile(kids[xa], (n, 1)),
                          np.repeat(fv[sel], rep), np.repeat(2 * iv[sel], rep, axis=0)
                          + np.tile(kids[xb], (n, 1))))
        fu, iu_, fv, iv = (np.concatenate(x) for x in zip(*parts))
        N *= 2
        level += 1


__all__ = ["ExactSup", "exact_sup", "lipschitz", "Q_unit", "LIPSCHITZ", "SUPPORTED_K", "TOL",
           "MAX_WORK"]
