"""Exact linear regions of a bias-free piecewise-linear network with a 2-D or 3-D latent.

lemmas/README.md. With ReLU, leaky ReLU or identity activations and no biases, G is
positively homogeneous, G(tz) = t G(z) for t > 0, so its activation pattern depends only
on the direction of z. The directions with one pattern form a polyhedral cone C, on which
G(z) = M_C z with M_C = D_L W_L ... D_1 W_1 (D_i the diagonal matrices of the pattern:
1 for an active unit, 0 or the leaky slope for an inactive one). This module finds every
cone exactly (to floating-point rounding of the boundaries) by splitting, layer by
layer, each cone of the previous layers at the zeros of the units' pre-activations,
which are linear on it:

- latent dimension 2: a cone is an arc of angles [phi_lo, phi_hi] (its boundary rays);
- latent dimension 3: a cone is a convex spherical polygon, stored as its extreme rays
  in cyclic order; a unit's zero set is a great circle, and splitting a polygon by it is
  polygon clipping on the sphere, done for every polygon a unit cuts at once (padded
  arrays; :func:`_clip_all`). :meth:`Cones.holders` finds the cells whose closures hold
  given points through a KD-tree of spherical caps.

Splitting starts from the quadrants (octants) of the latent space, so every cone is
pointed and spans less than a half-space; the coordinate boundaries this adds are not
kinks (the two sides have the same M) and are harmless to everything built on the
cones. A unit whose pre-activation vanishes on a whole cone is inactive there (the
engine's convention ReLU'(0) = 0).

Nothing here knows a lemma. The stationary points of J built on these cones are in
:mod:`verify.geometry.stationary`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import budget
from ..errors import VerifyError
from ..network import Network

#: Activations whose networks are positively homogeneous and piecewise linear.
PIECEWISE_LINEAR = ("relu", "leaky_relu", "identity")
#: Latent dimensions the exact method handles.
LATENT_DIMS = (2, 3)
#: Copies of a layer's (cones, units, k) table alive while it is split.
TABLE_COPIES = 3


def not_applicable(network: Network) -> str | None:
    """Why the exact method does not apply to ``network`` (None when it does)."""
    spec = network.spec
    if spec.latent_dim not in LATENT_DIMS:
        return (f"the latent dimension is {spec.latent_dim}: the exact cone enumeration "
                f"handles {' and '.join(map(str, LATENT_DIMS))} only")
    for i, layer in enumerate(spec.layers):
        if layer.activation not in PIECEWISE_LINEAR:
            return (f"layer {i} has a {layer.activation} activation: G is not piecewise "
                    "linear on cones (only relu, leaky_relu and identity are)")
        if layer.affine:
            return (f"layer {i} has a bias (affine): G is not positively homogeneous, so "
                    "its linear regions are not cones")
    return None


@dataclass(frozen=True)
class Cones:
    """The linear regions of G: ``rays[c]`` are cone c's extreme rays (unit vectors; for
    k = 3 in cyclic order, padded with NaN rows to the longest polygon; for k = 2 the
    two boundary rays lo, hi), ``M[c]`` the (n_out, k) matrix with G(z) = M[c] z on it.
    For k = 2 ``edges`` are the boundary angles (K + 1,) from -pi to pi, cone c being
    [edges[c], edges[c + 1]]."""

    k: int
    rays: np.ndarray           # (K, r, k)
    n_rays: np.ndarray         # (K,) rays of each cone
    M: np.ndarray              # (K, n_out, k)
    edges: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(self.M.shape[0])

    def interior_point(self) -> np.ndarray:
        """A unit direction inside each cone (the normalised mean of its rays): (K, k)."""
        r = np.where(np.isnan(self.rays), 0.0, self.rays).sum(axis=1)
        return r / np.linalg.norm(r, axis=1, keepdims=True)

    def locate(self, z: np.ndarray) -> np.ndarray:
        """The cone index of each row of ``z`` (b, k) (k = 2: by angle; k = 3: the first
        cone whose boundary half-spaces hold it to 1e-12 of its norm, :meth:`holders`;
        -1 if none)."""
        z = np.atleast_2d(np.asarray(z, float))
        if self.k == 2:
            phi = np.arctan2(z[:, 1], z[:, 0])
            return np.clip(np.searchsorted(self.edges, phi, side="right") - 1, 0,
                           self.count - 1)
        pt, cell = self.holders(z, slack=1e-12)
        out = np.full(len(z), -1)
        first, at = np.unique(pt, return_index=True)
        out[first] = cell[at]
        return out

    def holders(self, z: np.ndarray, slack: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """For k = 3, the (point, cell) pairs of the cells whose closures hold the rows of
        ``z`` (b, 3): n . z >= -slack ||z|| for the inward normal n of each facet of the
        cell; sorted by point, then cell. A random direction has exactly one holder; a
        point on a facet two, on a ray every cell around it.

        Only the cells whose spherical cap holds the point's direction are tested: the
        cap around the cell's centre direction c (:meth:`interior_point`) through its
        farthest ray. Every ray of a cell lies in the cell's octant with c, so its angle
        to c is below 90 degrees, where caps are convex: the cap holds the rays, hence
        the polygon. A KD-tree of the points' directions is queried with each cell's cap
        (its chord, plus 1e-6 of room for ``slack`` and rounding)."""
        from scipy.spatial import cKDTree

        if self.k != 3:
            raise VerifyError("Cones.holders is for a 3-D latent (k = 2: locate by angle)")
        z = np.atleast_2d(np.asarray(z, float))
        nz = np.linalg.norm(z, axis=1)
        real = ~np.isnan(self.rays[..., 0])
        centre = self.interior_point()
        cosang = np.where(real, np.einsum("krj,kj->kr", np.nan_to_num(self.rays), centre), 1.0)
        chord = np.sqrt(np.maximum(2.0 - 2.0 * cosang.min(axis=1), 0.0)) + 1e-6 + 2 * slack
        hits = cKDTree(z / np.where(nz > 0, nz, 1.0)[:, None]).query_ball_point(centre, chord)
        counts = np.fromiter((len(h) for h in hits), int, len(hits))
        cell = np.repeat(np.arange(len(hits)), counts)
        pt = np.fromiter((i for h in hits for i in h), int, int(counts.sum()))
        s = np.einsum("prk,pk->pr", np.nan_to_num(self.normals()[cell]), z[pt])
        inside = ((s >= -slack * nz[pt, None]) | ~real[cell]).all(axis=1)
        pt, cell = pt[inside], cell[inside]
        o = np.lexsort((cell, pt))
        return pt[o], cell[o]

    def normals(self) -> np.ndarray:
        """Inward unit normals of each cone's facets, (K, r, k): for k = 2 the two boundary
        rays' normals; for k = 3, facet j joins rays j and j + 1 (NaN on padding)."""
        if self.k == 2:
            lo, hi = self.rays[:, 0], self.rays[:, 1]
            n_lo = np.stack([-lo[:, 1], lo[:, 0]], axis=1)    # rotate lo by +90 deg: inward
            n_hi = np.stack([hi[:, 1], -hi[:, 0]], axis=1)    # rotate hi by -90 deg
            return np.stack([n_lo, n_hi], axis=1)
        K, r, _ = self.rays.shape
        nxt = np.roll(self.rays, -1, axis=1)
        # the last real ray joins the first: fix the padded polygons' wrap-around
        idx = np.arange(r)[None, :]
        last = (self.n_rays - 1)[:, None]
        nxt = np.where((idx == last)[..., None], self.rays[:, :1], nxt)
        nrm = np.cross(self.rays, nxt)
        nrm /= np.linalg.norm(nrm, axis=2, keepdims=True)
        inner = self.interior_point()
        flip = np.einsum("krj,kj->kr", nrm, inner) < 0
        return np.where(flip[..., None], -nrm, nrm)


def _factor(activation: str, slope: float, on: np.ndarray) -> np.ndarray:
    if activation == "relu":
        return on.astype(float)
    if activation == "leaky_relu":
        return np.where(on, 1.0, slope)
    return np.ones_like(on, dtype=float)


def _require(count: int, units: int, k: int, what: str) -> None:
    budget.require(TABLE_COPIES * 8.0 * count * units * k, what,
                   hint=f"{count:,} linear regions (cones) x {units:,} units x {k} before "
                        "this layer's split; the exact method needs the table in memory")


def enumerate_cones(network: Network, *, max_cones: int | None = None) -> Cones:
    """Every linear region of G (module docstring), or VerifyError when the exact method
    does not apply (:func:`not_applicable`) or the tables would exceed the memory budget
    or ``max_cones``."""
    reason = not_applicable(network)
    if reason is not None:
        raise VerifyError(f"exact cone enumeration does not apply: {reason}")
    k = network.spec.latent_dim
    if k == 2:
        return _arcs(network, max_cones)
    return _cells(network, max_cones)


# ----------------------------------------------------------------- k = 2: arcs
#: Cone x unit entries of one chunk of a layer's split (:func:`_arcs`): the tables of a
#: chunk (pre-activations, boundary signs, zero angles) stay a few MB whatever the
#: network, instead of several copies of cones x units x 2 at once.
ARC_CHUNK = 1 << 19
#: A unit whose pre-activation at an arc's boundary ray is within this fraction of its
#: norm (|p| sin of the angle to the ray) of 0 is passed to the exact angle test even
#: without a sign change (the sign test only prefilters, so the arcs are the same).
_SIGN_MARGIN = 1e-7


def _pre(W, P: np.ndarray) -> np.ndarray:
    """The pre-activations W M_c of the cones ``P`` (K, n_prev, 2): (K, n_i, 2)."""
    K, n_prev = P.shape[0], P.shape[1]
    flat = np.ascontiguousarray(P.transpose(1, 0, 2)).reshape(n_prev, 2 * K)
    return np.asarray(W @ flat).reshape(W.shape[0], K, 2).transpose(1, 0, 2)


def _cuts(pre: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The zeros of the units' pre-activations strictly inside each arc [lo_c, hi_c]
    (arcs narrower than pi): the angles t with pre[c, u] . (cos t, sin t) = 0.

    A linear function of the direction changes sign inside an arc narrower than pi iff
    it has a zero there, so the units whose values at the two boundary rays have
    opposite signs (or either within :data:`_SIGN_MARGIN` |p| of 0, rounding) are the
    only candidates; for them the zero's angle is computed and kept when strictly inside
    the arc, the same test on the same numbers as for every unit, so the arcs are the
    same as without the prefilter."""
    p0, p1 = pre[..., 0], pre[..., 1]
    s_lo = p0 * np.cos(lo)[:, None] + p1 * np.sin(lo)[:, None]
    s_hi = p0 * np.cos(hi)[:, None] + p1 * np.sin(hi)[:, None]
    margin = _SIGN_MARGIN * (np.abs(p0) + np.abs(p1))
    maybe = ((s_lo <= 0) != (s_hi <= 0)) | (np.abs(s_lo) <= margin) | (np.abs(s_hi) <= margin)
    c, u = np.nonzero(maybe)
    q0, q1 = p0[c, u], p1[c, u]
    # zeros of p . (cos t, sin t): t = atan2(p0, -p1) and that -/+ pi
    t = np.arctan2(q0, -q1)
    nz = (q0 != 0) | (q1 != 0)
    cand = np.stack([t, np.where(t > 0, t - np.pi, t + np.pi)])
    inside = (cand > lo[c]) & (cand < hi[c]) & nz
    return cand[inside]


def _arcs(network: Network, max_cones: int | None) -> Cones:
    """The arcs of a 2-D latent, layer by layer, each layer in chunks of parent cones
    (:data:`ARC_CHUNK` cone x unit entries): a chunk's pre-activations are computed once,
    split at the zeros inside its arcs (:func:`_cuts`), and give its children's matrices;
    nothing of the size cones x units x 2 is built but the children's matrices
    themselves. A chunk's boundaries are those a split of all arcs at once would give
    (a unit's zero lies strictly inside one parent arc), so the arcs do not depend on
    the chunking."""
    spec = network.spec
    edges = np.array([-np.pi, -np.pi / 2, 0.0, np.pi / 2, np.pi])
    P = np.broadcast_to(np.eye(2), (4, 2, 2)).copy()           # (arcs, n_i, 2)
    for i, layer in enumerate(spec.layers):
        W = network.layer_matrix(i).tocsr()
        K, n = P.shape[0], W.shape[0]
        _require(K, n, 4, f"network.layers[{i}]")
        step = max(1, ARC_CHUNK // max(n, 1))
        edge_parts, mats, count = [edges[:1]], [], 0
        for a in range(0, K, step):
            b = min(a + step, K)
            pre = _pre(W, P[a:b])
            if layer.activation != "identity":
                sub = np.unique(np.concatenate([edges[a:b + 1],
                                                _cuts(pre, edges[a:b], edges[a + 1:b + 1])]))
            else:
                sub = edges[a:b + 1]
            count += sub.size - 1
            if max_cones is not None and count > max_cones:
                raise VerifyError(f"network.layers[{i}]: at least {count:,} linear regions "
                                  f"(arcs) after this layer, over the limit of {max_cones:,}")
            _require(count, n, 2, f"network.layers[{i}]")
            mid = 0.5 * (sub[:-1] + sub[1:])
            parent = np.clip(np.searchsorted(edges, mid, side="right") - 1, a, b - 1)
            pp = pre[parent - a]
            on = np.einsum("knj,kj->kn", pp, np.stack([np.cos(mid), np.sin(mid)], axis=1)) > 0
            pp *= _factor(layer.activation, layer.slope, on)[..., None]
            edge_parts.append(sub[1:])
            mats.append(pp)
        edges = np.concatenate(edge_parts)
        P = mats[0] if len(mats) == 1 else np.concatenate(mats)
    rays = np.stack([np.stack([np.cos(edges[:-1]), np.sin(edges[:-1])], axis=1),
                     np.stack([np.cos(edges[1:]), np.sin(edges[1:])], axis=1)], axis=1)
    return Cones(2, rays, np.full(rays.shape[0], 2), np.ascontiguousarray(P), edges)


# ------------------------------------------------------- k = 3: spherical polygons
#: Pieces x units entries of one chunk of a layer's (pieces, units, 3) pre-activation
#: table in :func:`_cells` (the table is read, not copied, unit by unit).
CELL_CHUNK = 1 << 20


def _octants() -> np.ndarray:
    """The 8 octants as spherical triangles (8, 3, 3): rays e1, e2, e3 with signs."""
    signs = np.array([[sx, sy, sz] for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)],
                     float)
    return signs[:, :, None] * np.eye(3)[None]


def _clip_all(V: np.ndarray, nv: np.ndarray, p: np.ndarray, tol: float):
    """Split each convex spherical polygon ``V[q]`` (Q, R, 3; its first ``nv[q]`` rows
    real, in cyclic order) by the plane p[q] . z = 0, all at once.

    A vertex with p . v > tol ||p|| is positive, < -tol ||p|| negative, otherwise on the
    plane (kept on both sides). Walking the polygon, the part p . z >= 0 keeps every
    vertex that is not negative and, on each edge whose ends are strictly of opposite
    signs, the edge's point on the plane; the part <= 0 likewise. Returns
    ``(cut, A, nA, B, nB)``: which polygons are cut (a strictly positive and a strictly
    negative vertex), and for those the two parts, padded with NaN."""
    Q, R, _ = V.shape
    real = np.arange(R)[None, :] < nv[:, None]
    d = np.einsum("qrk,qk->qr", np.nan_to_num(V), p)
    scale = tol * np.linalg.norm(p, axis=1)[:, None]
    pos, neg = real & (d > scale), real & (d < -scale)
    cut = pos.any(axis=1) & neg.any(axis=1)
    if not cut.any():
        return cut, None, None, None, None
    V, d, pos, neg, real, nv = V[cut], d[cut], pos[cut], neg[cut], real[cut], nv[cut]
    q = np.arange(len(V))[:, None]
    nxt = np.where(np.arange(R)[None, :] + 1 < nv[:, None], np.arange(R)[None, :] + 1, 0)
    V1, d1 = V[q, nxt], d[q, nxt]
    pos1, neg1 = pos[q, nxt], neg[q, nxt]
    cross = (pos & neg1) | (neg & pos1)
    # the point on the plane between u and v: sign(du) (du v - dv u), a positive
    # combination of u and v with p . w = 0
    w = np.sign(d)[..., None] * (d[..., None] * V1 - d1[..., None] * V)
    w /= np.where(cross, np.linalg.norm(w, axis=2), 1.0)[..., None]
    slots = np.stack([V, w], axis=2).reshape(len(V), 2 * R, 3)
    out = []
    for keep_v in (real & ~neg, real & ~pos):
        keep = np.stack([keep_v, cross], axis=2).reshape(len(V), 2 * R)
        n = keep.sum(axis=1)
        order = np.argsort(~keep, axis=1, kind="stable")[:, :int(n.max())]
        P = slots[q, order]
        P[np.arange(P.shape[1])[None, :] >= n[:, None]] = np.nan
        out += [P, n]
    return cut, out[0], out[1], out[2], out[3]


def _cells(network: Network, max_cones: int | None, tol: float = 1e-13) -> Cones:
    """The cells of a 3-D latent, layer by layer: every cell of the previous layers is
    split by each unit's plane in turn, all the cells a unit cuts at once
    (:func:`_clip_all`); a unit's pre-activation on a piece is its parent cell's
    (linear there). The pieces are the same as a polygon-by-polygon split with the same
    tolerance (property_tests/test_cells3d.py compares them with
    :func:`verify.benchmarks.certify.direct_cells`)."""
    spec = network.spec
    V = _octants()
    nv = np.full(8, 3)
    mats = np.broadcast_to(np.eye(3), (8, 3, 3)).copy()      # (cells, n_i, 3)
    for i, layer in enumerate(spec.layers):
        W = network.layer_matrix(i).tocsr()
        K, n_prev = mats.shape[0], mats.shape[1]
        n = W.shape[0]
        _require(K, n, 3, f"network.layers[{i}]")
        flat = np.ascontiguousarray(mats.transpose(1, 0, 2)).reshape(n_prev, 3 * K)
        pre = np.asarray(W @ flat).reshape(n, K, 3)           # (units, cells, 3)
        parent = np.arange(K)
        if layer.activation != "identity":
            for u in range(n):
                p = pre[u, parent]
                live = np.flatnonzero(np.any(p != 0, axis=1))
                if not live.size:
                    continue
                cut, A, nA, B, nB = _clip_all(V[live], nv[live], p[live], tol)
                if A is None:
                    continue
                idx = live[cut]
                keep = np.ones(len(V), bool)
                keep[idx] = False
                R = max(V.shape[1], A.shape[1], B.shape[1])
                V = np.concatenate([_pad(V[keep], R), _pad(A, R), _pad(B, R)])
                nv = np.concatenate([nv[keep], nA, nB])
                parent = np.concatenate([parent[keep], parent[idx], parent[idx]])
                if max_cones is not None and len(V) > max_cones:
                    raise VerifyError(f"network.layers[{i}]: more than {max_cones:,} linear "
                                      "regions (cones) after this layer")
                R = int(nv.max())
                V = V[:, :R]
        _require(len(V), n, 3, f"network.layers[{i}]")
        c = np.nanmean(V, axis=1)                              # (pieces, 3)
        P = pre[:, parent].transpose(1, 0, 2)                  # (pieces, units, 3)
        on = np.einsum("knj,kj->kn", P, c) > 0
        mats = P * _factor(layer.activation, layer.slope, on)[..., None]
    return Cones(3, V, nv.copy(), np.ascontiguousarray(mats))


def _pad(V: np.ndarray, R: int) -> np.ndarray:
    if V.shape[1] == R:
        return V
    out = np.full((V.shape[0], R, 3), np.nan)
    out[:, :V.shape[1]] = V
    return out


__all__ = ["Cones", "enumerate_cones", "not_applicable", "PIECEWISE_LINEAR", "LATENT_DIMS"]
