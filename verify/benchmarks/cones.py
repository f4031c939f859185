"""Exact cones of a 2-D latent (:mod:`verify.geometry.cones`): the chunked, sign-prefiltered split
of each layer's arcs against the direct split it replaced.

The direct split (:func:`direct_arcs`) computes every unit's zero angles in every arc of a
layer at once: a cones x units x 2 table of pre-activations, the two candidate angles of
each entry, and the test of each against its arc. The chunked split computes the same
numbers through the same operations, chunk by chunk, and passes to the angle test only
the units whose sign changes across an arc (or is within rounding of 0 at a boundary).
The two give the same arcs and matrices bit for bit (``property_tests/test_cones.py``);
these cases measure what the chunks and the prefilter buy in time, one row per network.
"""

from __future__ import annotations

import numpy as np

from ..bench import BenchContext, best_time, bench_case, ratio_row
from ..geometry.cones import _factor, enumerate_cones
from ..spec import block_spec
from ..weights import draw_network


def direct_arcs(network) -> tuple[np.ndarray, np.ndarray]:
    """(edges, matrices) of the arcs of a 2-D latent, as :mod:`verify.geometry.cones` computed
    them before the chunked split: every unit's zero angles of every cone at once, no
    sign prefilter, no chunks. The baseline of the cases below, and the reference the
    chunked split is tested against."""
    edges = np.array([-np.pi, -np.pi / 2, 0.0, np.pi / 2, np.pi])
    P = np.broadcast_to(np.eye(2), (4, 2, 2)).copy()
    for i, layer in enumerate(network.spec.layers):
        W = network.layer_matrix(i)
        K, n_prev = P.shape[0], P.shape[1]
        flat = np.ascontiguousarray(P.transpose(1, 0, 2)).reshape(n_prev, 2 * K)
        pre = np.asarray(W @ flat).reshape(W.shape[0], K, 2).transpose(1, 0, 2)
        if layer.activation != "identity":
            t = np.arctan2(pre[..., 0], -pre[..., 1])
            nz = (pre[..., 0] != 0) | (pre[..., 1] != 0)
            cand = np.stack([t, np.where(t > 0, t - np.pi, t + np.pi)])
            inside = (cand > edges[:-1, None]) & (cand < edges[1:, None]) & nz
            edges_new = np.unique(np.concatenate([edges, cand[inside]]))
        else:
            edges_new = edges
        mid = 0.5 * (edges_new[:-1] + edges_new[1:])
        parent = np.clip(np.searchsorted(edges, mid, side="right") - 1, 0, K - 1)
        pp = pre[parent]
        on = np.einsum("knj,kj->kn", pp, np.stack([np.cos(mid), np.sin(mid)], axis=1)) > 0
        P = pp * _factor(layer.activation, layer.slope, on)[..., None]
        edges = edges_new
    return edges, P


def _peak_bytes(fn) -> int:
    """Peak bytes numpy allocated during ``fn()`` (tracemalloc traces numpy's buffers)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _cones_row(case: str, network, ctx: BenchContext, what: str, target: float):
    repeats = 2 if ctx.quick else 5
    ours = best_time(lambda: enumerate_cones(network), repeats=repeats)
    base = best_time(lambda: direct_arcs(network), repeats=repeats)
    cones = enumerate_cones(network)
    edges, _ = direct_arcs(network)
    same = bool(np.array_equal(cones.edges, edges))
    mem_ours, mem_base = _peak_bytes(lambda: enumerate_cones(network)), \
        _peak_bytes(lambda: direct_arcs(network))
    notes = (f"{what}: {network.spec.describe()}, {cones.count:,} cones; best of {repeats} "
             f"after a warm-up; the same arcs from both: {same}; peak memory allocated "
             f"(tracemalloc): ours {mem_ours / 1e6:.0f} MB, direct {mem_base / 1e6:.0f} MB "
             f"({mem_ours / mem_base:.2f})")
    return ratio_row(case, ours, "direct split (every unit in every arc at once, "
                     "no prefilter, no chunks)", base, target_ratio=target, notes=notes)


PRESET_CASE = "exact cones of theory-3layer: chunked split vs the direct split"
WIDE_CASE = "exact cones, 3 layers to 2,048 outputs: chunked split vs the direct split"


@bench_case(PRESET_CASE, order=30)
def cones_preset(ctx: BenchContext):
    """One draw of the preset ``landscape`` runs on over 40 draws. Target: not slower
    (measured 1.2-1.4x faster, at 0.6 of the direct split's peak memory)."""
    from ..presets import get_preset

    net = get_preset("theory-3layer").instantiate(0).network
    return _cones_row(PRESET_CASE, net, ctx, "theory-3layer, seed 0", 1.0)


@bench_case(WIDE_CASE, order=31)
def cones_wide(ctx: BenchContext):
    """A wider 3-layer network of the same shape (2 -> 64 -> 32 -> 16 channels, kernels
    4, 4, 8: 2,048 outputs). Here the chunks buy memory, not time: the last layer's
    children's matrices, cones x outputs x 2, are built by both sides alike and dominate
    (measured 0.96-1.43x the direct split's speed at 0.63 of its peak memory; on 2 -> 128
    -> 64 channels, kernels 4, 8: 0.96x at 0.65). Target: at most 10% slower, ratio >= 0.9."""
    net = draw_network(block_spec(1, (2, 64, 32, 16), (4, 4, 8)), rng=np.random.default_rng(0))
    return _cones_row(WIDE_CASE, net, ctx, "Gaussian weights, seed 0", 0.9)
