"""Every stationary point of J(z) = 1/2 ||y - A G(z)||^2, exactly, for a bias-free
piecewise-linear network with a 2-D or 3-D latent (lemmas/README.md).

On each cone C of :func:`verify.cones.enumerate_cones`, G(z) = M_C z, so
J(z) = 1/2 z^T H_C z - b_C^T z + J(0) with H_C = M_C^T A M_C (positive semidefinite)
and b_C = M_C^T A y. The candidates are, face by face of the cone complex:

- **interior**: the solution of H_C z = b_C, kept when it lies in the open cone. A
  convex quadratic has no saddle, so an interior stationary point is a local minimum
  (strict when H_C is positive definite). A singular H_C with b_C in its range gives a
  non-isolated set (``flat``): a valley, or with M_C A = 0 a whole region mapped to one
  output (the U[0, 1] counter-example of Fig. 4(d)).
- **boundary** (a ray for k = 2; a facet or a ray for k = 3): the minimiser of J on the
  face's span, kept when it lies in the face's relative interior. There every adjacent
  piece has the same J, so their gradients agree along the face; the one-sided
  derivatives D_v J (lemmas/README.md, section 0) across it decide. ``local minimum`` when J rises
  into every adjacent cone (each piece is convex, so it is then a local minimum of J);
  ``saddle`` (non-differentiable critical point) when 0 is in the convex hull of the
  adjacent pieces' gradients (Clarke) but some direction descends; otherwise it is not
  stationary and is dropped.
- **the origin**: D_w J(0) = -b_C . w on cone C, linear on each cone, so its sign over
  every direction is read at the cones' rays: ``local maximum`` when every direction
  descends (Theorem 1's D_w J(0) < 0), ``local minimum`` when none does, else ``saddle``.

For k = 3 the facet and ray candidates of all cells are found at once, merged, and
judged at once: the cells whose closures hold a candidate come from
:meth:`verify.geometry.cones.Cones.holders`, the local-minimum test is a closed-form
projection onto the cone of one or two facet normals per (point, cell) pair, and only the
candidates that no adjacent gradient separates from 0 go to an NNLS on their hull.

Decisions use a relative tolerance ``tol`` on derivatives (scaled by ||A y|| ||A G(u)||),
stated in the result. Nothing here knows a lemma.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cones import Cones, enumerate_cones
from ..network import Network

#: Relative tolerance on derivatives and positions (rounding of the cone boundaries).
TOL = 1e-9
COLUMNS = ("kind", "cone", "z", "norm", "J", "classification", "d_min", "d_max")


@dataclass(frozen=True)
class Landscape:
    """The exact stationary set of J: one row per stationary point (``points``), the cone
    count, and the tolerance used."""

    points: pd.DataFrame
    n_cones: int
    k: int
    tol: float

    def minima(self) -> pd.DataFrame:
        return self.points[self.points["classification"] == "local minimum"]

    def relative_to(self, z_star: np.ndarray, rho: float) -> pd.DataFrame:
        """The points with their distances to z* and -rho z*, in units of ||z*||."""
        zs = np.asarray(z_star, float)
        nz = float(np.linalg.norm(zs))
        Z = np.stack(self.points["z"].to_list()) if len(self.points) else np.zeros((0, self.k))
        out = self.points.copy()
        out["dist_zstar"] = np.linalg.norm(Z - zs, axis=1) / nz if len(Z) else []
        out["dist_neg_rho"] = np.linalg.norm(Z + rho * zs, axis=1) / nz if len(Z) else []
        if self.k == 2:
            # coordinates in the frame of z* (units of ||z*||): z* at (1, 0), -rho z* at
            # (-rho, 0), so that points of different draws can be drawn together
            u = zs / nz
            out["along_zstar"] = Z @ u / nz if len(Z) else []
            out["across_zstar"] = (Z[:, 1] * u[0] - Z[:, 0] * u[1]) / nz if len(Z) else []
        return out


def _J(network: Network, Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    if len(Z) == 0:
        return np.zeros(0)
    r = network.forward(np.atleast_2d(Z)) - y
    return 0.5 * np.einsum("bn,bn->b", r * w, r)


def stationary_points(network: Network, y: np.ndarray, w: np.ndarray | None = None, *,
                      cones: Cones | None = None, tol: float = TOL,
                      max_cones: int | None = None) -> Landscape:
    """The exact stationary set of J for observations ``y`` (n_out,) through the diagonal
    mask ``w`` (n_out,) of 0/1 weights (None: every pixel observed)."""
    y = np.asarray(y, float).ravel()
    w = np.ones_like(y) if w is None else np.asarray(w, float).ravel()
    cones = enumerate_cones(network, max_cones=max_cones) if cones is None else cones
    # M_C^T diag(w) M_C per cone as one batched product (an einsum over three operands
    # does not use BLAS and took ~2x as long); the same sums up to rounding
    H = np.matmul((cones.M * w[None, :, None]).transpose(0, 2, 1), cones.M)
    b = np.einsum("cnk,n->ck", cones.M, w * y)
    scale = float(np.linalg.norm(w * y)) or 1.0
    rows = _interior(cones, H, b, tol)
    if cones.k == 2:
        rows += _rays_2d(cones, H, b, w, tol, scale)
    else:
        rows += _faces_3d(cones, H, b, w, tol, scale)
    rows.append(_origin(cones, b, tol, scale))
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    if len(df):
        Z = np.stack(df["z"].to_list())
        df["J"] = _J(network, Z, y, w)
    return Landscape(df.reset_index(drop=True), cones.count, cones.k, tol)


def _interior(cones: Cones, H: np.ndarray, b: np.ndarray, tol: float) -> list[dict]:
    """Solutions of H_C z = b_C inside the open cone; singular H_C: flat sets."""
    k = cones.k
    normals = np.nan_to_num(cones.normals())
    real = ~np.isnan(cones.normals()[..., 0])
    ev = np.linalg.eigvalsh(H)                                  # (K, k) ascending
    top = np.maximum(ev[:, -1], 1e-300)
    regular = ev[:, 0] > 1e-10 * top
    rows = []
    idx = np.flatnonzero(regular)
    if idx.size:
        Z = np.linalg.solve(H[idx], b[idx][..., None])[..., 0]
        nz = np.linalg.norm(Z, axis=1)
        s = np.einsum("crk,ck->cr", normals[idx], Z)
        inside = np.where(real[idx], s > tol * nz[:, None], True).all(axis=1) & (nz > 0)
        for c, z in zip(idx[inside], Z[inside]):
            rows.append({"kind": "interior", "cone": int(c), "z": z, "norm": float(
                np.linalg.norm(z)), "classification": "local minimum", "d_min": 0.0,
                "d_max": 0.0})
    for c in np.flatnonzero(~regular):
        # singular: stationary points exist in the span iff b is in the range of H
        vals, vecs = np.linalg.eigh(H[c])
        keep = vals > 1e-10 * max(vals[-1], 1e-300)
        proj = vecs[:, keep] @ (vecs[:, keep].T @ b[c])
        if np.linalg.norm(b[c] - proj) > 1e-9 * max(np.linalg.norm(b[c]), 1e-300) and \
                np.linalg.norm(b[c]) > 0:
            continue
        # the minimum-norm solution plus any null-space vector: is some of it inside?
        z0 = vecs[:, keep] @ ((vecs[:, keep].T @ b[c]) / vals[keep]) if keep.any() \
            else np.zeros(k)
        z = _inside(normals[c][real[c]], z0, vecs[:, ~keep], tol)
        if z is None:            # the stationary set of the span misses the open cone
            continue
        rows.append({"kind": "flat", "cone": int(c), "z": z, "norm": float(np.linalg.norm(z)),
                     "classification": "flat", "d_min": 0.0, "d_max": 0.0})
    return rows


def _inside(normals: np.ndarray, z0: np.ndarray, null: np.ndarray, tol: float):
    """A point of the affine set z0 + span(null) inside the open cone {n . z > 0 for the
    inward facet normals n}, or None: the linear program max s subject to n . (z0 +
    null c) >= s, s <= 1, |c_i| <= 10 (1 + ||z0||); inside when s > tol ||box||."""
    from scipy.optimize import linprog

    d = null.shape[1]
    box = 10.0 * (1.0 + float(np.linalg.norm(z0)))
    A = np.hstack([-(normals @ null), np.ones((len(normals), 1))])
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=A, b_ub=normals @ z0,
                  bounds=[(-box, box)] * d + [(None, 1.0)], method="highs")
    if res.status != 0 or -res.fun <= tol * box:
        return None
    z = z0 + null @ res.x[:d]
    # through the origin (b = 0) the set is a cone: its representative has unit norm
    return z / np.linalg.norm(z) if not z0.any() else z


def _classify(d_lo: float, d_hi: float, tol: float) -> str | None:
    """From the one-sided derivatives into the two sides of a boundary point."""
    if min(d_lo, d_hi) >= -tol:
        return "local minimum"
    if max(d_lo, d_hi) <= tol:
        return "saddle"
    return None


def _rays_2d(cones: Cones, H, b, w, tol: float, scale: float) -> list[dict]:
    """Boundary rays between consecutive arcs (and the wrap-around at +-pi)."""
    K = cones.count
    phi = cones.edges[:-1]                                      # ray e: start of arc e
    lo = (np.arange(K) - 1) % K                                 # arc before the ray
    hi = np.arange(K)
    u = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    t = np.stack([-u[:, 1], u[:, 0]], axis=1)
    # M[lo[e]] u[e] and M[e] u[e] without copying M by fancy indexing (it is the
    # largest array here): M[j] u[j + 1] for every j, then picked at j = lo[e]; the
    # same products, bit for bit
    Mu_next = np.matmul(cones.M, u[(hi + 1) % K][:, :, None])[..., 0]
    Gu = 0.5 * (Mu_next[lo] + np.matmul(cones.M, u[:, :, None])[..., 0])
    a = np.einsum("cn,n,cn->c", Gu, w, Gu)
    c = np.einsum("ck,ck->c", b[hi], u)
    # a ray the mask sees only at rounding level (A G(u) ~ 0 while G(u) is not) has no
    # meaningful minimiser along it: it would sit at t = c / a ~ 1e17
    full = np.einsum("cn,cn->c", Gu, Gu)
    ok = (a > 1e-20 * full) & (a > 0) & (c > 0)
    rows = []
    for e in np.flatnonzero(ok):
        z = (c[e] / a[e]) * u[e]
        g_lo = H[lo[e]] @ z - b[lo[e]]
        g_hi = H[hi[e]] @ z - b[hi[e]]
        d_plus, d_minus = float(t[e] @ g_hi), float(-t[e] @ g_lo)
        unit = tol * scale * np.sqrt(a[e])
        cls = _classify(d_minus, d_plus, unit)
        if cls is None:
            continue
        rows.append({"kind": "ray", "cone": int(hi[e]), "z": z, "norm": float(np.linalg.norm(z)),
                     "classification": cls, "d_min": min(d_minus, d_plus),
                     "d_max": max(d_minus, d_plus)})
    return rows


def _origin(cones: Cones, b: np.ndarray, tol: float, scale: float) -> dict:
    """D_w J(0) = -b_C . w, read at every cone's rays."""
    rays = np.nan_to_num(cones.rays)
    real = ~np.isnan(cones.rays[..., 0])
    d = -np.einsum("crk,ck->cr", rays, b)
    d = d[real]
    unit = tol * scale * max(1.0, float(np.abs(d).max()) if d.size else 1.0)
    if d.size and d.max() < -unit:
        cls = "local maximum"
    elif d.size and d.min() >= -unit:
        cls = "local minimum"
    else:
        cls = "saddle"
    return {"kind": "origin", "cone": -1, "z": np.zeros(cones.k), "norm": 0.0,
            "classification": cls, "d_min": float(d.min()) if d.size else 0.0,
            "d_max": float(d.max()) if d.size else 0.0}


#: A point within this fraction of its norm of a cell's facet plane is on that facet
#: (rounding of the cells' rays); the same slack decides which cells' closures hold it.
ON_FACET = 1e-7


def _faces_3d(cones: Cones, H, b, w, tol: float, scale: float) -> list[dict]:
    """Facets (2-D faces between two cells) and rays (edges of the spherical polygons)
    of a 3-D latent: candidates from each cell (vectorised over cells and edges),
    merged, then judged across every cell whose closure holds them (:func:`_judge`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    normals = cones.normals()
    real = ~np.isnan(normals[..., 0])                           # (K, r)
    U = np.nan_to_num(cones.rays)                               # (K, r, 3)
    idx = np.arange(U.shape[1])[None, :]
    nxt = np.roll(U, -1, axis=1)
    V = np.where((idx == (cones.n_rays - 1)[:, None])[..., None], U[:, :1], nxt)
    HU = np.einsum("ckl,crl->crk", H, U)
    HV = np.einsum("ckl,crl->crk", H, V)
    uu = np.einsum("crk,crk->cr", U, HU)
    uv = np.einsum("crk,crk->cr", V, HU)
    vv = np.einsum("crk,crk->cr", V, HV)
    bu = np.einsum("ck,crk->cr", b, U)
    bv = np.einsum("ck,crk->cr", b, V)
    det = uu * vv - uv * uv
    ok = real & (det > 1e-10 * np.maximum((uu + vv) ** 2, 1e-300))
    with np.errstate(divide="ignore", invalid="ignore"):
        a0 = (vv * bu - uv * bv) / det
        a1 = (uu * bv - uv * bu) / det
        r_ray = bu / uu
        face = ok & (a0 > tol * (np.abs(a0) + np.abs(a1))) \
            & (a1 > tol * (np.abs(a0) + np.abs(a1)))
        # a ray's minimiser t = b.u / u.H.u: b.u within rounding of 0 is the origin
        ray = real & (uu > 0) & (bu > tol * np.linalg.norm(b, axis=1)[:, None])
        Zf = a0[face][:, None] * U[face] + a1[face][:, None] * V[face]
        Zr = r_ray[ray][:, None] * U[ray]
    Z = np.concatenate([Zf, Zr])
    kinds = np.array(["facet"] * len(Zf) + ["ray"] * len(Zr))
    if not len(Z):
        return []
    # merge the copies of one point found from several cells
    nz = np.linalg.norm(Z, axis=1)
    pairs = cKDTree(Z).query_pairs(1e-7 * float(nz.max()), output_type="ndarray")
    n = len(Z)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) \
        if len(pairs) else coo_matrix((n, n))
    _, label = connected_components(graph, directed=False)
    first = np.unique(label, return_index=True)[1]
    Z, kinds, nz = Z[first], kinds[first], nz[first]
    pt, cell = cones.holders(Z, slack=ON_FACET)
    S = np.einsum("prk,pk->pr", np.nan_to_num(normals[cell]), Z[pt])
    cls, worst = _judge(Z, nz, pt, cell, S, H, b, normals, real, tol, scale)
    rows: list[dict] = []
    first_cell = np.full(len(Z), -1)
    seen, at = np.unique(pt, return_index=True)
    first_cell[seen] = cell[at]
    for q in np.flatnonzero(cls != ""):
        rows.append({"kind": str(kinds[q]), "cone": int(first_cell[q]), "z": Z[q],
                     "norm": float(nz[q]), "classification": str(cls[q]),
                     "d_min": float(worst[q]), "d_max": 0.0})
    return rows


def _judge(Z, nz, pt, cell, S, H, b, normals, real, tol: float, scale: float):
    """Classify boundary candidates from the (point, cell) pairs of the cells whose
    closures hold them (``S``: the pair's facet values n . z).

    Local minimum: for every adjacent cell c, g_c = H_c z - b_c lies in the cone of the
    inward normals of c's facets through z (then J's piece on c, a convex quadratic,
    rises into c; the residual of g_c against that cone is the worst descent rate into
    c). With one or two such facets (a facet point, a ray of a cell) the residual is
    computed in closed form for all pairs at once; more (a ray shared by near-duplicate
    facets) by NNLS. Saddle (Clarke): 0 is in the convex hull of the adjacent
    gradients; the points some gradient g_j separates (g_i . g_j > 0 for every i) are
    not, the others are decided by an NNLS on the hull (few)."""
    from scipy.optimize import nnls

    n = len(Z)
    g = np.einsum("pkl,pl->pk", H[cell], Z[pt]) - b[cell]          # (pairs, 3)
    gmax = np.zeros(n)
    np.maximum.at(gmax, pt, np.abs(g).max(axis=1))
    unit = tol * scale * np.maximum(1.0, gmax)                     # per point
    act = real[cell] & (np.abs(S) <= ON_FACET * nz[pt, None])      # (pairs, r)
    na = act.sum(axis=1)
    N = np.nan_to_num(normals[cell])                               # (pairs, r, 3)
    res = np.linalg.norm(g, axis=1)                                # no facet: ||g||
    # the active normals in front: slots 0 and 1
    order = np.argsort(~act, axis=1, kind="stable")[:, :2]
    p = np.arange(len(cell))[:, None]
    n1, n2 = N[p[:, 0], order[:, 0]], N[p[:, 0], order[:, 1]]
    one = na >= 1
    l1 = np.maximum(0.0, np.einsum("pk,pk->p", g, n1))
    r1 = np.linalg.norm(g - l1[:, None] * n1, axis=1)
    res = np.where(one, np.minimum(res, r1), res)
    two = na == 2
    if two.any():
        l2 = np.maximum(0.0, np.einsum("pk,pk->p", g, n2))
        r2 = np.linalg.norm(g - l2[:, None] * n2, axis=1)
        G11, G22 = np.ones(len(g)), np.ones(len(g))
        G12 = np.einsum("pk,pk->p", n1, n2)
        c1, c2 = np.einsum("pk,pk->p", g, n1), np.einsum("pk,pk->p", g, n2)
        det = G11 * G22 - G12 ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            m1 = (G22 * c1 - G12 * c2) / det
            m2 = (G11 * c2 - G12 * c1) / det
        both = (det > 1e-12) & (m1 >= 0) & (m2 >= 0)
        rb = np.linalg.norm(g - m1[:, None] * n1 - m2[:, None] * n2, axis=1)
        res = np.where(two, np.minimum(res, np.minimum(r2, np.where(both, rb, np.inf))),
                       res)
    for j in np.flatnonzero(na > 2):          # degenerate: near-duplicate facets
        res[j] = nnls(normals[cell[j]][act[j]].T, g[j])[1]
    is_min = np.ones(n, bool)
    np.logical_and.at(is_min, pt, res <= unit[pt])
    worst = np.zeros(n)
    np.minimum.at(worst, pt, -res)
    # Clarke for the rest: is 0 separated from the hull by one of the gradients?
    cls = np.where(is_min, "local minimum", "").astype(object)
    starts = np.searchsorted(pt, np.arange(n + 1))               # pt is sorted
    m = np.diff(starts)
    slot = np.arange(len(pt)) - starts[pt]
    Gp = np.zeros((n, int(m.max()) if n else 0, 3))
    Gp[pt, slot] = g
    have = np.zeros(Gp.shape[:2], bool)
    have[pt, slot] = True
    P = np.einsum("qik,qjk->qij", Gp, Gp)
    P = np.where(have[:, :, None], P, np.inf).min(axis=1)       # min_i g_i . g_j
    sep = (have & (P > unit[:, None] * np.linalg.norm(Gp, axis=2))).any(axis=1)
    for q in np.flatnonzero(~is_min & ~sep & (m > 0)):
        G = g[starts[q]:starts[q + 1]]
        big = 1e3 * max(1.0, float(np.abs(G).max()))   # sum(lambda) = 1, softly
        lam, _ = nnls(np.vstack([G.T, np.full((1, len(G)), big)]), np.r_[np.zeros(3), big])
        if np.linalg.norm(G.T @ lam) <= unit[q] * max(1.0, lam.sum()):
            cls[q] = "saddle"
    return cls.astype(str), worst


__all__ = ["Landscape", "stationary_points", "TOL"]
