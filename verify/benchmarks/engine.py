"""Engine cases: the fast block path against GEMM, the general path against W_i @ x."""

from __future__ import annotations

import numpy as np

from ..bench import BenchContext, best_time, bench_case, flop_row, ratio_row
from ..spec import LayerSpec, NetworkSpec, block_spec
from ..weights import draw_network


FAST_CASE = "fast path forward+backward (stride = kernel, batch 512)"


@bench_case(FAST_CASE, order=10)
def fast_path(ctx: BenchContext):
    """Forward + reverse pass of a 1-D stride = kernel ReLU network, 128 -> 256 -> 256
    channels, kernel 4. FLOPs: per layer 2 b D_{i-1} C_{i-1} (l C_i) forward and the
    same for the input gradient."""
    spec = block_spec(1, (128, 256, 256), (4, 4))
    b = 128 if ctx.quick else 512
    rng = np.random.default_rng(0)
    net = draw_network(spec, rng=rng)
    z = rng.normal(size=(b, spec.latent_dim))
    g = rng.normal(size=(b, spec.output_dim))

    def step():
        cache = net.forward_with_cache(z)
        net.vjp(cache, g)

    t = best_time(step, repeats=3 if ctx.quick else 5)
    ch, sz = spec.channels, spec.sizes
    flops = sum(2 * 2 * b * sz[i] * ch[i] * layer.kernel * ch[i + 1]
                for i, layer in enumerate(spec.layers))
    return flop_row(FAST_CASE, flops, t, ctx, target_fraction=0.3,
                    notes=f"{spec.describe()}, batch {b}")


@bench_case("general path vs explicit sparse W_i @ x", order=11)
def general_vs_sparse(ctx: BenchContext):
    """The general (any stride) forward pass against the explicit scipy.sparse product
    on the same overlapping network (the paper's k5 s3, widened)."""
    spec = NetworkSpec(dims=2, latent_channels=8, latent_size=4, layers=(
        LayerSpec(32, 5, 3), LayerSpec(8, 5, 3)))
    b = 64 if ctx.quick else 256
    rng = np.random.default_rng(0)
    net = draw_network(spec, rng=rng)
    z = rng.normal(size=(b, spec.latent_dim))
    mats = [net.layer_matrix(i) for i in range(spec.depth)]

    def explicit():
        x = z.T
        for W in mats:
            x = np.maximum(W @ x, 0.0)
        return x

    ours = best_time(lambda: net.forward(z, path="general"), repeats=3 if ctx.quick else 5)
    base = best_time(explicit, repeats=3 if ctx.quick else 5)
    return ratio_row("general path vs explicit sparse W_i @ x", ours,
                     "scipy.sparse W_i @ x (CSR, matrices prebuilt)", base, target_ratio=1.0,
                     notes=f"{spec.describe()}, batch {b}; target: at least the explicit "
                           "sparse product's speed")
