"""Certified landscapes beyond two dimensions: the exact 3-D cells
(:func:`verify.geometry.cones.enumerate_cones`, split all cells a unit cuts at once)
against the polygon-by-polygon split they replaced (:func:`direct_cells`, kept here as
the reference the vectorised split is tested against), and the MILP certificate
(:mod:`verify.geometry.milp`) per draw against the sampled search of the ``descent``
check.
"""

from __future__ import annotations

import numpy as np

from ..bench import BenchContext, best_time, bench_case, ratio_row
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


# ------------------------------------------------------------ the cases
CELLS_CASE = "3-D cells of theory-2layer-latent3: the split of every cell a unit cuts at once vs polygon by polygon"
MILP_CASE = "MILP certificate of one paper-fig4 draw (A = I, one target) vs the descent check's sampled draw"


@bench_case(CELLS_CASE, order=32)
def cells_3d(ctx: BenchContext):
    """One draw of the 3-D preset: :func:`verify.geometry.cones.enumerate_cones` against
    :func:`direct_cells` (the same cells; ``property_tests/test_cells3d.py``). Target: not
    slower."""
    from ..geometry.cones import enumerate_cones
    from ..presets import get_preset

    net = get_preset("theory-2layer-latent3").instantiate(0).network
    ours = best_time(lambda: enumerate_cones(net), repeats=1 if ctx.quick else 3)
    base = best_time(lambda: direct_cells(net), repeats=1 if ctx.quick else 3)
    n = enumerate_cones(net).count
    return ratio_row(CELLS_CASE, ours, "polygon-by-polygon split (direct_cells)", base,
                     target_ratio=1.0, notes=f"{n:,} cells, seed 0")


@bench_case(MILP_CASE, order=33)
def milp_draw(ctx: BenchContext):
    """Time per certified draw: :func:`verify.geometry.milp.certify` on draw 0 of
    ``paper-fig4`` (A = I, the target z* ~ N(0, I) of seed 100, balls of radius 0.25
    ||z*|| around z* and -rho z*) against one sampled draw of the ``descent`` check on the
    same preset (its search, two measurements and three targets: the baseline, not the
    same question). A ratio above 1 means the certificate is cheaper than the sample.
    No target: a cost, stated."""
    from ..formulas import rho
    from ..geometry.milp import certify
    from ..presets import get_preset
    from ..registry import run_check

    inst = get_preset("paper-fig4").instantiate(0)
    net = inst.network
    z_star = np.random.default_rng(100).normal(size=net.spec.latent_dim)
    r = rho(net.spec.depth)
    out = {}

    def run():
        out["cert"] = certify(net, net.forward(z_star), None, [z_star, -r * z_star],
                              0.25 * float(np.linalg.norm(z_star)))
    ours = best_time(run, repeats=1)
    base = best_time(lambda: run_check("descent", "paper-fig4", seed=0, quick=ctx.quick,
                                       draws=1), repeats=1)
    c = out["cert"]
    return ratio_row(MILP_CASE, ours, f"descent check, one draw (quick={ctx.quick})", base,
                     notes=f"certificate: {c.status}, {c.pieces} cone pieces, {c.nodes} "
                           f"branch-and-bound nodes, node limit {c.solver['node_limit']}")
