"""Certified landscapes beyond two dimensions: the exact 3-D cells
(:func:`verify.geometry.cones.enumerate_cones`, split all cells a unit cuts at once)
against the polygon-by-polygon split they replaced (:func:`direct_cells`, kept here as
the reference the vectorised split is tested against), and the MILP certificate
(:mod:`verify.geometry.milp`) per draw against the sampled search of the ``descent``
check.
"""

from __future__ import annotations

import numpy as np

from ..geometry.cones import Cones, _factor


# ------------------------------------------------------------ the reference split
def _clip(poly: np.ndarray, p: np.ndarray, tol: float):
    """Split the convex spherical polygon ``poly`` (r, 3) by the plane p . z = 0 into the
    parts with p . z >= 0 and <= 0 (None for an empty part), one polygon at a time."""
    d = poly @ p
    scale = np.linalg.norm(p)
    pos, neg = d > tol * scale, d < -tol * scale
    if not neg.any():
        return poly, None
    if not pos.any():
        return None, poly
    a_out, b_out = [], []
    r = len(poly)
    for j in range(r):
        u, v = poly[j], poly[(j + 1) % r]
        du, dv = d[j], d[(j + 1) % r]
        if not neg[j]:
            a_out.append(u)
        if not pos[j]:
            b_out.append(u)
        if (pos[j] and neg[(j + 1) % r]) or (neg[j] and pos[(j + 1) % r]):
            w = np.sign(du) * (du * v - dv * u)
            w = w / np.linalg.norm(w)
            a_out.append(w)
            b_out.append(w)
    A = np.array(a_out) if len(a_out) >= 3 else None
    B = np.array(b_out) if len(b_out) >= 3 else None
    return A, B


def direct_cells(network, tol: float = 1e-13) -> Cones:
    """The cells of a 3-D latent as :mod:`verify.geometry.cones` computed them before
    the vectorised split: each polygon clipped by each unit's plane in a Python loop.
    The baseline of :func:`bench_cells` and the reference of the vectorised split."""
    signs = [(sx, sy, sz) for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)]
    polys = [np.diag(s).astype(float) for s in signs]
    mats = [np.eye(3) for _ in polys]
    for i, layer in enumerate(network.spec.layers):
        W = network.layer_matrix(i)
        new_polys, new_mats = [], []
        for poly, Mp in zip(polys, mats):
            pre = np.asarray(W @ Mp)
            pieces = [poly]
            if layer.activation != "identity":
                for p in pre:
                    if not p.any():
                        continue
                    nxt = []
                    for q in pieces:
                        a, b = _clip(q, p, tol)
                        nxt += [x for x in (a, b) if x is not None]
                    pieces = nxt
            for q in pieces:
                on = pre @ q.mean(axis=0) > 0
                new_polys.append(q)
                new_mats.append(pre * _factor(layer.activation, layer.slope, on)[:, None])
        polys, mats = new_polys, new_mats
    r = max(len(p) for p in polys)
    rays = np.full((len(polys), r, 3), np.nan)
    for c, p in enumerate(polys):
        rays[c, :len(p)] = p
    return Cones(3, rays, np.array([len(p) for p in polys]), np.stack(mats))
