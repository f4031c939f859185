"""Concentration case: the batched masked Gram product of the ``concentration`` check,
against GEMM and against the explicit sparse layer, from the engine's
:mod:`verify.gram` (no lemma is imported)."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..bench import BenchContext, best_time, bench_case, flop_row, ratio_row
from ..gram import masked_gram, masked_gram_chunks, row_outer_products
from ..spec import LayerSpec, NetworkSpec
from ..weights import draw_network

WDC_CASE = "WDC deviation, m = 4096, k = 64, 10,000 pairs"
WDC_LAYER_CASE = "WDC block path vs whole sparse layer W_{+,x}^T W_{+,y}"


@bench_case(WDC_CASE, order=20)
def bench_wdc(ctx: BenchContext):
    """The batched masked Gram product of the concentration check.

    Row 1: B_{+,u}^T B_{+,v} for P pairs of an m x k block, streamed in chunks of one
    GEMM each; FLOPs 2 P m k(k+1)/2 (the product) + 4 P m k (the two sign masks),
    against the same-run GEMM rate (target 0.3). Row 2: for a 1-D stride = kernel layer
    with D input positions, the same blocks for pairs (x, y) of the whole layer through
    the block path against forming W_{+,x}^T W_{+,y} = W^T diag(s) W from the explicit
    sparse W (scipy.sparse, prebuilt), both single-threaded; target: a speed-up of at
    least D.
    Quick mode: m = 1024, k = 32, 2,000 pairs, D = 4.
    """
    m, k, P, D = (1024, 32, 2000, 4) if ctx.quick else (4096, 64, 10000, 8)
    rng = np.random.default_rng(0)
    B = rng.normal(size=(m, k)) / math.sqrt(m)
    U, V = rng.normal(size=(P, k)), rng.normal(size=(P, k))
    R = row_outer_products(B)

    def run():
        acc = 0.0
        for _, tri in masked_gram_chunks(B, U, V, R=R):
            acc += float(tri[:, 0].sum())
        return acc

    t = best_time(run, repeats=1 if not ctx.quick else 2)
    flops = 2.0 * P * m * (k * (k + 1) // 2) + 4.0 * P * m * k
    name = WDC_CASE if not ctx.quick else WDC_CASE + " (quick: m = 1024, k = 32, 2,000 pairs)"
    row1 = flop_row(name, flops, t, ctx, target_fraction=0.3,
                    notes=f"m = {m}, k = {k}, {P} pairs, upper triangles only")

    # whole layer: C_1 l = m rows per block, l = 4, k input channels, D positions
    spec = NetworkSpec(dims=1, latent_channels=k, latent_size=D,
                       layers=(LayerSpec(channels=m // 4, kernel=4, stride=4),))
    net = draw_network(spec, rng=rng)
    W = net.layer_matrix(0).tocsr()
    Wt = W.T.tocsr()
    Bl = net.dense_block(0)
    Rl = row_outer_products(Bl)
    # stride = kernel: column (c, p) of the channel-major W goes to block p (Fig. 2(b))
    cp = np.arange(k * D).reshape(k, D).T.ravel()
    n_pairs = 1 if ctx.quick else 2
    X = rng.normal(size=(n_pairs, spec.latent_dim))
    Y = rng.normal(size=(n_pairs, spec.latent_dim))

    def blocks():
        Xp, Yp = X[:, cp].reshape(-1, k), Y[:, cp].reshape(-1, k)
        return masked_gram(Bl, Xp, Yp, R=Rl)

    def whole():
        WX, WY = W @ X.T, W @ Y.T
        return [Wt @ sp.diags(((WX[:, p] > 0) & (WY[:, p] > 0)).astype(float)) @ W
                for p in range(n_pairs)]

    from ..threads import blas_threads

    # both sides single-threaded: scipy.sparse products are, and small GEMMs on a shared
    # machine are slower threaded (see check's note)
    with blas_threads(1):
        ours = best_time(blocks, repeats=5)
        base = best_time(whole, repeats=1)
    row2 = ratio_row(WDC_LAYER_CASE + f" (D = {D})", ours,
                     "scipy.sparse W^T diag(s) W on the whole layer (W prebuilt)", base,
                     target_ratio=float(D),
                     notes=f"{spec.describe()}, {n_pairs} layer pairs, block m = {m}, k = {k}")
    return [row1, row2]
