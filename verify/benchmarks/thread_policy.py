"""BLAS thread cases: each hot path timed at one thread and at all cores.

These are the measurements behind the default of :mod:`verify.threads`. Each case runs
one hot path inside ``blas_threads(n)`` for n = 1 and n = all cores (the hot path's own
``blas_threads()`` inherits n), alternating the two counts ``REPEATS`` times after a
warm-up and keeping the best time of each, so that both see the same machine load.

The row's ``ours_s`` is the time at the thread count the policy in force picks,
``baseline_s`` the time at the other count, so ``ratio`` = other / policy; the target
``ratio >= 0.9`` says the policy is within 10 % of the faster choice (it fails when the
other count is clearly faster, i.e. when the default should change). The notes give
the 1-thread / all-cores time ratio (> 1: all cores faster). On a 1-core machine both
counts are 1 and the case only records that.

Hot paths: an engine pass of the checks (the ``descent`` check, quick, on paper-fig4:
batched forward/reverse passes, Jacobians, Newton steps), the general-path inversion
(DCGAN-like 32^2, float32 Adam, backend ``batch-last``) and the arc-table inversion
(paper-fig4, Adam, backend ``arcs``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..bench import BenchContext, bench_case, ratio_row
from ..threads import all_cores, blas_threads, policy_threads

#: Alternating timings per thread count (best kept).
REPEATS = 2
CHECK_CASE = "BLAS threads: engine pass of the checks (descent, quick, paper-fig4)"
GENERAL_CASE = "BLAS threads: general-path inversion (DCGAN-like 32x32, float32 Adam)"
ARCS_CASE = "BLAS threads: arc-table inversion (paper-fig4, Adam)"


def time_at_counts(fn, counts, repeats: int = REPEATS) -> dict[int, float]:
    """Best wall time of ``fn()`` inside ``blas_threads(n)`` for each n of ``counts``,
    alternating the counts ``repeats`` times after one warm-up call at each."""
    best = {n: float("inf") for n in counts}
    for n in counts:
        with blas_threads(n):
            fn()
    for _ in range(repeats):
        for n in counts:
            with blas_threads(n):
                t0 = time.perf_counter()
                fn()
                best[n] = min(best[n], time.perf_counter() - t0)
    return best


def threads_row(case: str, fn, what: str) -> object:
    """The row of a hot path (module docstring)."""
    policy, cores = policy_threads(), all_cores()
    other = cores if policy != cores else 1
    counts = sorted({1, cores, policy})
    times = time_at_counts(fn, counts)
    ours, base = times[policy], times[other]
    notes = (f"{what}; best of {REPEATS} alternating runs per count after a warm-up; "
             + ", ".join(f"{n} thread{'s' if n > 1 else ''}: {times[n]:.3g} s" for n in counts)
             + f"; 1 thread / all {cores} cores = {times[1] / times[cores]:.2f} "
             f"(> 1: all cores faster); the policy in force: {policy} "
             f"thread{'s' if policy > 1 else ''}")
    label = f"{other} thread{'s' if other > 1 else ''} (the other choice)"
    return ratio_row(case, ours, label, base, target_ratio=0.9, notes=notes)


@bench_case(CHECK_CASE, order=70)
def check_threads(ctx: BenchContext):
    """The descent check (quick) on paper-fig4 at 1 thread and at all cores."""
    from ..presets import get_preset
    from ..registry import run_check

    config = get_preset("paper-fig4")

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_check("descent", config, seed=0, quick=True, draws=1)

    return threads_row(CHECK_CASE, run, "run_check('descent', paper-fig4, quick=True)")


@bench_case(GENERAL_CASE, order=71)
def general_threads(ctx: BenchContext):
    """Batched float32 Adam on the DCGAN-like 32^2 network (general path)."""
    from ..inversion import invert
    from ..weights import draw_network
    from .torch_peer import _problem, dcgan_like

    net = draw_network(dcgan_like(32), rng=np.random.default_rng(0))
    trials, iterations = (32, 10) if ctx.quick else (128, 20)
    masks, _, init, y = _problem(net, trials)

    def run():
        invert(net, y, masks, init=init, method="adam", lr=0.01, iterations=iterations,
               tol=0.0, dtype="float32", backend="batch-last")

    return threads_row(GENERAL_CASE, run, f"{trials} trials x {iterations} Adam iterations, "
                       f"{net.spec.describe()}")


@bench_case(ARCS_CASE, order=72)
def arcs_threads(ctx: BenchContext):
    """Batched Adam on paper-fig4 through the exact arc tables."""
    from ..inversion import invert
    from ..presets import get_preset
    from .torch_peer import _problem

    net = get_preset("paper-fig4").instantiate(0).network
    trials, iterations = (200, 200) if ctx.quick else (1000, 500)
    masks, _, init, y = _problem(net, trials)

    def run():
        invert(net, y, masks, init=init, method="adam", lr=0.01, iterations=iterations,
               tol=0.0, backend="arcs")

    return threads_row(ARCS_CASE, run, f"{trials} trials x {iterations} Adam iterations, "
                       "float64, backend 'arcs'")
