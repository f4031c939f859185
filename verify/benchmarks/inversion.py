"""Inversion cases: the batched solver against one-trial-at-a-time numpy, and its
arithmetic rate at a DCGAN-like size."""

from __future__ import annotations

import time

import numpy as np

from ..bench import BenchContext, bench_case, flop_row, ratio_row
from ..inversion import (ADAM_BETA1, ADAM_BETA2, ADAM_EPS, BatchLastLoss, blas_limit, invert,
                         measure, relative_errors)
from ..measurements import sample_masks
from ..presets import get_preset
from ..spec import LayerSpec, NetworkSpec
from ..weights import draw_network

FIG4_CASE = "paper-fig4 recovery, 1,000 trials x 1,000 Adam iterations, 50% mask"
PHASE_CASE = "DCGAN-like 64x64 J and grad J, float32: phase path vs column path"
DCGAN_CASE = "DCGAN-like recovery (latent 10, 32x32, k4 s2 p1), Adam, batched"
LR = 0.01
SUCCESS_TOL = 1e-3


def _single_adam(W1, AW2, y, z, iterations):
    """The baseline: one trial, plain numpy, the network as explicit dense matrices
    (W_1 and the observed rows A W_2), the same Adam (lr 0.01, betas 0.9/0.999)."""
    m = np.zeros_like(z)
    v = np.zeros_like(z)
    for t in range(1, iterations + 1):
        h = W1 @ z
        a = np.maximum(h, 0.0)
        o = AW2 @ a
        r = np.maximum(o, 0.0) - y
        g = W1.T @ ((AW2.T @ (r * (o > 0))) * (h > 0))
        m = ADAM_BETA1 * m + (1 - ADAM_BETA1) * g
        v = ADAM_BETA2 * v + (1 - ADAM_BETA2) * g * g
        z = z - ((LR / (1 - ADAM_BETA1 ** t)) * m
                 / (np.sqrt(v / (1 - ADAM_BETA2 ** t)) + ADAM_EPS))
    return z


@bench_case(FIG4_CASE, order=50)
def fig4_recovery(ctx: BenchContext):
    """Batched Adam on every trial at once vs the same Adam one trial at a time.

    ``invert`` picks the arc tables here (2-D latent, ReLU, no bias: G(z) = P_a z on each
    arc of the circle, so J is a 2 x 2 quadratic form per arc); the notes also give the
    general layer-by-layer path on a subset, so both numbers are on record.

    Both run a fixed number of iterations (tol = 0, no negation safeguard) from the same
    starts on the same masks; the baseline is timed on a subset of trials and scaled per
    trial, and its answers are compared with the batched answers on that subset.
    """
    config = get_preset("paper-fig4")
    net = config.instantiate(0).network
    spec = net.spec
    trials, iterations, subset = (200, 300, 10) if ctx.quick else (1000, 1000, 40)
    rng = np.random.default_rng(12345)
    masks = sample_masks("random", spec.output_shape, 0.5, trials, rng=rng)
    z_star = rng.normal(size=(trials, spec.latent_dim))
    init = rng.normal(size=(trials, spec.latent_dim))
    y = measure(net, z_star, masks)

    t0 = time.perf_counter()
    res = invert(net, y, masks, method="adam", lr=LR, iterations=iterations, tol=0.0,
                 init=init)
    ours = time.perf_counter() - t0
    err = relative_errors(res.z_hat, z_star)
    # the general layer-by-layer path (what a network without the arc tables runs),
    # on a subset, for reference
    gsub = 50 if ctx.quick else 200
    t0 = time.perf_counter()
    gen = invert(net, y[:gsub], masks[:gsub], method="adam", lr=LR, iterations=iterations,
                 tol=0.0, init=init[:gsub], backend="batch-last")
    general = (time.perf_counter() - t0) / gsub * trials
    ok_gen = relative_errors(gen.z_hat, z_star[:gsub]) <= SUCCESS_TOL

    W1 = net.layer_matrix(0).toarray()
    W2 = net.layer_matrix(1).toarray()
    t0 = time.perf_counter()
    z_base = np.empty((subset, spec.latent_dim))
    with blas_limit() as threads:  # the policy in force, as for the batched side
        for t in range(subset):
            rows = masks[t]
            z_base[t] = _single_adam(W1, W2[rows], y[t, rows], init[t].copy(), iterations)
    base = (time.perf_counter() - t0) / subset * trials
    err_base = relative_errors(z_base, z_star[:subset])
    ok, ok_base = err <= SUCCESS_TOL, err_base <= SUCCESS_TOL
    same = np.array_equal(ok[:subset], ok_base)
    agree = float(np.max(np.abs(res.z_hat[:subset] - z_base)))
    notes = (f"{trials} trials x {iterations} Adam iterations (lr {LR}, tol 0, no negation), "
             f"random 50% masks, one network (seed 0); success (rel. error <= {SUCCESS_TOL}): "
             f"batched {ok.mean():.3f} on {trials} trials, {ok[:subset].mean():.3f} on the first "
             f"{subset}; baseline {ok_base.mean():.3f} on those {subset} "
             f"({'same verdicts' if same else 'VERDICTS DIFFER'}, max |z diff| {agree:.2g}). "
             f"Baseline: one trial at a time, dense W_1 and A W_2, plain numpy, {threads} BLAS "
             f"thread{'s' if threads > 1 else ''} (as ours), "
             f"timed on {subset} trials and scaled to {trials} "
             f"({base / trials * 1e3:.1f} ms per trial); ours {ours / trials * 1e3:.2f} ms per trial "
             f"(backend {res.settings['backend']!r}, setup included). The general layer-by-layer "
             f"path (backend 'batch-last') on the first {gsub} trials: "
             f"{general / trials * 1e3:.2f} ms per trial, ratio {base / general:.1f}, "
             f"{'same' if np.array_equal(ok_gen, ok[:gsub]) else 'DIFFERENT'} verdicts")
    return ratio_row(FIG4_CASE, ours, "one trial at a time, dense numpy (scaled from a subset)",
                     base, target_ratio=20.0, notes=notes)


def dcgan_spec() -> NetworkSpec:
    """latent 10 -> 64 x 4 (k4 s1) -> 32 x 8 -> 16 x 16 -> 1 x 32 (k4 s2 p1), leaky ReLU,
    tanh output (the shape of the paper's Sec. 4.3 generator; random weights)."""
    return NetworkSpec(dims=2, latent_channels=10, layers=(
        LayerSpec(64, 4, 1, 0, "leaky_relu"), LayerSpec(32, 4, 2, 1, "leaky_relu"),
        LayerSpec(16, 4, 2, 1, "leaky_relu"), LayerSpec(1, 4, 2, 1, "tanh")))


@bench_case(DCGAN_CASE, order=51)
def dcgan_recovery(ctx: BenchContext):
    """Trials per second and GFLOP/s of batched Adam at a DCGAN-like size. FLOPs per
    trial-iteration: forward products 2 D_{i-1}^2 C_{i-1} l^2 C_i per layer, and the same
    again for the input gradient (elementwise work not counted)."""
    spec = dcgan_spec()
    net = draw_network(spec, rng=np.random.default_rng(0))
    trials, iterations = (64, 30) if ctx.quick else (256, 100)
    rng = np.random.default_rng(1)
    masks = sample_masks("random", spec.output_shape, 0.5, trials, rng=rng)
    z_star = rng.normal(size=(trials, spec.latent_dim))
    y = measure(net, z_star, masks)
    init = rng.normal(size=z_star.shape)
    invert(net, y[:4], masks[:4], lr=LR, iterations=2, tol=0.0, init=init[:4])  # warm-up
    t0 = time.perf_counter()
    res = invert(net, y, masks, method="adam", lr=LR, iterations=iterations, tol=0.0, init=init)
    ours = time.perf_counter() - t0
    ch, sz = spec.channels, spec.sizes
    per = sum(2 * 2 * sz[i] ** 2 * ch[i] * l.kernel ** 2 * ch[i + 1] for i, l in enumerate(spec.layers))
    flops = per * trials * iterations
    tps = trials * iterations / ours
    notes = (f"{spec.describe()}; {trials} trials x {iterations} Adam iterations, random 50% "
             f"masks; {tps:,.0f} trial-iterations/s = {trials / ours:.1f} trials/s at "
             f"{iterations} iterations; {per / 1e6:.2f} MFLOP per trial-iteration; "
             f"final median loss {np.median(res.loss):.3g}")
    return flop_row(DCGAN_CASE, flops, ours, ctx, target_fraction=0.1, notes=notes)


@bench_case(PHASE_CASE, order=52)
def phase_vs_columns(ctx: BenchContext):
    """One evaluation of J and grad J on the DCGAN-like 64x64 network (float32), with
    its 16x16 -> 32x32 layer on the sub-pixel phase path (verify.inversion.phases)
    against every layer on the column path; the two alternate, and each side's time is
    its median (single evaluations move by ~20% on a shared machine). Target: not
    slower (the phase path is taken only where it measured faster)."""
    from .torch_peer import dcgan_like

    net = draw_network(dcgan_like(64), rng=np.random.default_rng(0))
    spec = net.spec
    b, reps = (16, 5) if ctx.quick else (64, 15)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(spec.latent_dim, b)).astype(np.float32)
    w = (rng.random((spec.output_dim, b)) < 0.5).astype(np.float32)
    y = (w * rng.normal(size=w.shape)).astype(np.float32)
    phase, cols = BatchLastLoss(net, "float32"), BatchLastLoss(net, "float32", phase_path=False)
    taken = [i + 1 for i, pl in enumerate(phase.plans) if pl is not None]
    times = {"phase": [], "cols": []}
    gaps = []
    for loss in (phase, cols):  # warm-up: buffers allocated outside the timing
        loss.value_and_grad(z, y, w)
    for _ in range(reps):
        for key, loss in (("phase", phase), ("cols", cols)):
            t0 = time.perf_counter()
            _, g = loss.value_and_grad(z, y, w)
            times[key].append(time.perf_counter() - t0)
            gaps.append(g.copy())
    gap = float(np.max(np.abs(gaps[-2] - gaps[-1])) / np.max(np.abs(gaps[-1])))
    ours, base = (float(np.median(times[k])) for k in ("phase", "cols"))
    paired = np.array(times["cols"]) / np.array(times["phase"])
    q1, q3 = np.percentile(paired, [25, 75])
    notes = (f"{spec.describe()}; {b} trials, {reps} alternating evaluations per side, "
             f"medians; phase path on layer{'s' if len(taken) > 1 else ''} "
             f"{', '.join(map(str, taken))}; paired ratios median "
             f"{np.median(paired):.3f} (quartiles {q1:.3f}-{q3:.3f}); "
             f"grad J agrees to {gap:.1e} relative (float32 rounding)")
    return ratio_row(PHASE_CASE, ours, "the same loss, every layer on the column path",
                     base, target_ratio=1.0, notes=notes)
