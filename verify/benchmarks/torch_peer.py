"""Recovery against the peer a user would reach for: batched PyTorch.

Each case inverts the same network, from the same masks and the same starting points,
for the same number of Adam iterations (lr 0.01, betas 0.9/0.999, eps 1e-8, no
stopping, no negation safeguard), once with :func:`verify.inversion.invert` and once
with PyTorch: ``conv_transpose2d`` layers, the masked loss summed over the batch,
``backward()`` and ``torch.optim.Adam`` on the (trials, latent) tensor, which is the
same per-coordinate update. Both run on the same number of threads: the BLAS thread
policy in force (:mod:`verify.threads`, default 1) for ours, ``torch.set_num_threads``
of the same count for PyTorch. The ratio is PyTorch's time over ours per
trial-iteration, each side's slope of time against iterations (:func:`steady_state`:
two runs of different lengths, so a call's fixed costs count on neither side; they are
given in the notes with the ratio of the whole runs); the notes give both success rates.

The DCGAN-like cases also give the peak memory per trial of both sides, measured in
child processes (:mod:`verify.benchmarks.peakmem`: peak resident set from ``wait4``,
the slope between two batch sizes), with ``memory_ratio`` = ours / PyTorch and the
target ``memory_ratio <= 2``.

PyTorch is optional (the training extra): it is imported only inside the case
functions, and a case reports itself skipped, with the reason, when it cannot be
imported. The engine and the checks never import it.
"""

from __future__ import annotations

import time

import numpy as np

from ..bench import BenchContext, BenchRow, bench_case, ratio_row
from ..inversion import invert, measure, relative_errors, trial_bytes
from ..measurements import sample_masks
from ..presets import get_preset
from ..spec import LayerSpec, NetworkSpec
from ..threads import policy_threads
from ..weights import draw_network

LR = 0.01
SUCCESS_TOL = 1e-3


def dcgan_like(size: int) -> NetworkSpec:
    """latent 64 -> 256 x 4^2 (k4 s1) -> ... -> 3 x size^2, k4 s2 p1, halving the
    channels at every doubling; ReLU, tanh output (DCGAN's generator, random weights)."""
    layers = [LayerSpec(256, 4, 1, 0, "relu")]
    ch, side = 256, 4
    while side * 2 < size:
        ch, side = ch // 2, side * 2
        layers.append(LayerSpec(ch, 4, 2, 1, "relu"))
    layers.append(LayerSpec(3, 4, 2, 1, "tanh"))
    return NetworkSpec(dims=2, latent_channels=64, layers=tuple(layers))


def _skipped(case: str, why: str) -> BenchRow:
    return BenchRow(case, float("nan"), "batched PyTorch", float("nan"), float("nan"),
                    target="ratio >= 1 (skipped)", met=None, notes=f"skipped: {why}")


def _torch():
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return None, f"PyTorch cannot be imported ({type(exc).__name__}: {exc}); " \
                     "pip install -e '.[train]'"
    return torch, ""


def _torch_adam(torch, net, y, masks, init, iterations, dtype, threads=1):
    """Batched Adam in PyTorch on ``threads`` threads on the same problem; returns
    (z_hat, seconds)."""
    import torch.nn.functional as F

    spec = net.spec
    tdt = torch.float32 if dtype == "float32" else torch.float64
    W = [torch.tensor(w.filters, dtype=tdt) for w in net.weights]
    yt = torch.tensor(np.where(masks, y, 0.0), dtype=tdt)
    mt = torch.tensor(masks, dtype=tdt)
    z = torch.tensor(init, dtype=tdt).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=LR, betas=(0.9, 0.999), eps=1e-8)
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
            "identity": lambda x: x}

    def G(zz):
        x = zz.view(zz.shape[0], spec.latent_channels, *(spec.latent_size,) * spec.dims)
        for w, layer in zip(W, spec.layers):
            x = F.conv_transpose2d(x, w, stride=layer.stride, padding=layer.padding)
            x = F.leaky_relu(x, layer.slope) if layer.activation == "leaky_relu" \
                else acts[layer.activation](x)
        return x.reshape(zz.shape[0], -1)

    saved = torch.get_num_threads()  # restored after (not ``threads``: that is the request)
    torch.set_num_threads(int(threads))
    try:
        t0 = time.perf_counter()
        for _ in range(iterations):
            opt.zero_grad(set_to_none=True)
            r = (G(z) - yt) * mt
            loss = 0.5 * (r * r).sum()
            loss.backward()
            opt.step()
        elapsed = time.perf_counter() - t0
    finally:
        torch.set_num_threads(saved)
    return z.detach().double().numpy(), elapsed


def _problem(net, trials, seed=1):
    rng = np.random.default_rng(seed)
    spec = net.spec
    masks = sample_masks("random", spec.output_shape, 0.5, trials, rng=rng)
    z_star = rng.normal(size=(trials, spec.latent_dim))
    init = rng.normal(size=(trials, spec.latent_dim))
    return masks, z_star, init, measure(net, z_star, masks)


def steady_state(lo: int, hi: int, t_lo: float, t_hi: float) -> tuple[float, float] | None:
    """(seconds per iteration, fixed seconds) of a side timed at ``lo`` and ``hi``
    iterations: the slope and intercept of time against iterations. None when the two
    times do not rise with the iterations by at least a tenth of the longer run (timing
    noise larger than the difference measured)."""
    if hi <= lo or t_hi - t_lo < 0.1 * t_hi:
        return None
    per = (t_hi - t_lo) / (hi - lo)
    return per, t_lo - lo * per


def _compare(case, net, trials, iterations, dtype, *, target, backend="auto", extra="",
             torch_dtype=None, rounds=2):
    """Both sides timed at ``lo = iterations // 2`` and ``hi = lo + iterations`` Adam
    iterations, alternating (best of ``rounds`` per side and count). The ratio is per
    trial-iteration, as the target states: each side's time for the ``iterations`` it
    ran more, i.e. the slope of its time against iterations, so that what a side pays
    once per call (ours: building the loss, the float32 copies of the inputs, J at the
    last iterate; PyTorch: nothing inside its timed loop) counts on neither side. Those
    fixed costs (the intercepts) and the ratio of the whole ``hi`` runs are in the notes.
    Success rates are those of the ``hi`` runs."""
    torch_dtype = torch_dtype or dtype
    torch, why = _torch()
    if torch is None:
        return _skipped(case, why)
    masks, z_star, init, y = _problem(net, trials)
    lo, hi = iterations // 2, iterations // 2 + iterations
    kw = dict(method="adam", lr=LR, tol=0.0, dtype=dtype, backend=backend)
    threads = policy_threads()
    invert(net, y[:8], masks[:8], init=init[:8], iterations=2, **kw)  # warm-up
    _torch_adam(torch, net, y[:8], masks[:8], init[:8], 2, torch_dtype, threads)  # warm-up
    best = {(side, n): float("inf") for side in ("ours", "torch") for n in (lo, hi)}
    for _ in range(rounds):  # alternating, best of each: both sides see the same load
        for n in (lo, hi):
            t0 = time.perf_counter()
            ours = invert(net, y, masks, init=init, iterations=n, **kw)
            best["ours", n] = min(best["ours", n], time.perf_counter() - t0)
            z_t, t = _torch_adam(torch, net, y, masks, init, n, torch_dtype, threads)
            best["torch", n] = min(best["torch", n], t)
    fit = {side: steady_state(lo, hi, best[side, lo], best[side, hi]) for side in ("ours", "torch")}
    steady = all(fit.values())
    if steady:
        ours_s = fit["ours"][0] * iterations
        torch_s = fit["torch"][0] * iterations
        per = trials * iterations
        how = (f"per trial-iteration from the slope between {lo} and {hi} iterations "
               f"(fixed cost per call: ours {fit['ours'][1]:.2f} s, PyTorch "
               f"{fit['torch'][1]:.2f} s; whole {hi}-iteration runs: ours "
               f"{best['ours', hi]:.2f} s, PyTorch {best['torch', hi]:.2f} s, ratio "
               f"{best['torch', hi] / best['ours', hi]:.2f})")
    else:  # noise larger than the difference: the whole runs, fixed costs included
        ours_s, torch_s, per = best["ours", hi], best["torch", hi], trials * hi
        how = (f"timing noise exceeded the difference between {lo} and {hi} iterations, so "
               f"the whole {hi}-iteration runs are compared, fixed costs included")
    ok = relative_errors(ours.z_hat, z_star) <= SUCCESS_TOL
    ok_t = relative_errors(z_t, z_star) <= SUCCESS_TOL
    notes = (f"{net.spec.describe()}; {trials} trials, Adam (lr {LR}, tol 0, no negation), "
             f"random 50% masks, same starts; ours {dtype}, PyTorch {torch_dtype}, "
             f"{threads} thread{'s' if threads > 1 else ''} each, best of {rounds} "
             f"alternating run{'s' if rounds > 1 else ''} per side and count; {how}; "
             f"ours {ours_s / per * 1e6:.1f} us per trial-iteration (backend "
             f"{ours.settings['backend']!r}), PyTorch {torch.__version__} "
             f"{torch_s / per * 1e6:.1f} us; success after {hi} iterations (rel. error <= "
             f"{SUCCESS_TOL}): ours {ok.mean():.3f}, PyTorch {ok_t.mean():.3f} "
             f"({int(np.sum(ok != ok_t))} trials differ); the memory model "
             f"(verify.inversion.trial_bytes, what --max-memory chunks by; the measuring "
             f"forward pass is a fixed cost) counts "
             f"{trial_bytes(net.spec, dtype) / 1e6:.2f} MB per trial{extra}")
    return ratio_row(case, ours_s, f"batched PyTorch {torch_dtype} (conv_transpose2d + "
                     "torch.optim.Adam)", torch_s, target_ratio=target, notes=notes)


FIG4_CASE = "paper-fig4 recovery vs batched PyTorch float32"
DCGAN32_CASES = {d: f"DCGAN-like 32x32 recovery vs batched PyTorch {d}"
                 for d in ("float32", "float64")}
DCGAN64_CASE = "DCGAN-like 64x64 recovery vs batched PyTorch float32"


@bench_case(FIG4_CASE, order=60)
def fig4_vs_torch(ctx: BenchContext):
    """The paper's network: ours picks the exact arc tables (float64); PyTorch float32.
    Target: at least 5x (the tables make an iteration a 2 x 2 product per trial)."""
    net = get_preset("paper-fig4").instantiate(0).network
    trials, iterations = (200, 200) if ctx.quick else (1000, 600)  # runs of 300 and 900
    return _compare(FIG4_CASE, net, trials, iterations, "float64", target=5.0,
                    torch_dtype="float32", rounds=1)  # PyTorch takes ~30 s here


#: Target: peak memory per trial at most this multiple of PyTorch's.
MEMORY_TARGET = 2.0


def _dcgan_case(case, size, dtype, ctx, trials, iterations, memory_trials):
    net = draw_network(dcgan_like(size), rng=np.random.default_rng(0))
    row = _compare(case, net, trials, iterations, dtype, target=1.0, backend="batch-last",
                   rounds=3)
    if row.met is None:  # skipped
        return row
    return with_measured_memory(row, size, dtype, memory_trials)


def with_measured_memory(row, size, dtype, trials):
    """``row`` with the measured peak memory per trial of ours and of PyTorch
    (:func:`verify.benchmarks.peakmem.per_trial_bytes` at ``trials = (t1, t2)``)."""
    from .peakmem import ITERATIONS, per_trial_bytes

    threads = policy_threads()
    ours, ours_peaks, how = per_trial_bytes("ours", size, dtype, trials, threads=threads)
    base, base_peaks, how_t = per_trial_bytes("torch", size, dtype, trials, threads=threads)
    how = how if how == how_t else f"ours: {how}, PyTorch: {how_t}"
    note = (f"peak memory per trial: slope of each side's peak RSS in a child process "
            f"({how}) between {trials[0]} and {trials[1]} trials, {ITERATIONS} Adam "
            f"iterations, inputs included (ours {ours_peaks[0] / 1e6:.0f} -> "
            f"{ours_peaks[1] / 1e6:.0f} MB, PyTorch {base_peaks[0] / 1e6:.0f} -> "
            f"{base_peaks[1] / 1e6:.0f} MB)")
    return row.with_memory(ours, base, max_ratio=MEMORY_TARGET, notes=note)


@bench_case(DCGAN32_CASES["float32"], order=61)
def dcgan32_vs_torch_f32(ctx: BenchContext):
    """DCGAN-like 32^2, the general path in float32 against PyTorch float32.
    Target: parity (ratio >= 1) per trial-iteration on the same core."""
    trials, iterations = (32, 10) if ctx.quick else (128, 40)
    return _dcgan_case(DCGAN32_CASES["float32"], 32, "float32", ctx, trials, iterations,
                       (16, 64) if ctx.quick else (32, 160))


@bench_case(DCGAN32_CASES["float64"], order=62)
def dcgan32_vs_torch_f64(ctx: BenchContext):
    """The same in float64 against PyTorch float64. Target: parity."""
    trials, iterations = (32, 10) if ctx.quick else (128, 40)
    return _dcgan_case(DCGAN32_CASES["float64"], 32, "float64", ctx, trials, iterations,
                       (16, 64) if ctx.quick else (32, 160))


@bench_case(DCGAN64_CASE, order=63)
def dcgan64_vs_torch_f32(ctx: BenchContext):
    """DCGAN-like 64^2 in float32 against PyTorch float32 (the goal: parity)."""
    trials, iterations = (16, 5) if ctx.quick else (64, 20)
    return _dcgan_case(DCGAN64_CASE, 64, "float32", ctx, trials, iterations,
                       (8, 32) if ctx.quick else (16, 80))
