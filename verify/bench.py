"""``verify bench``: each case timed against its baseline in the same run.

These machines are noisy, so a case reports a ratio (baseline_s / ours_s) measured
back to back, and compute-bound cases report their GFLOP/s as a fraction of the
machine's own float64 matrix-multiply rate, measured in the same run at the BLAS thread
count the case runs with. Every case runs inside the toolkit's BLAS thread policy
(:func:`verify.threads.blas_threads`: ``--threads`` / ``VERIFY_BLAS_THREADS`` /
default); a case timed at another count passes that count to :func:`flop_row`. Cases register
with :func:`bench_case` in a module of ``verify.benchmarks`` (every module there is
imported), so a new case joins by registering. A case that times a lemma's check lives
there too and imports the lemma, as the report does; no lemma registers cases.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class BenchRow:
    """One benchmark row (verify/cli/README.md: ``verify bench --json``)."""

    case: str
    ours_s: float
    baseline: str
    baseline_s: float
    ratio: float
    gflops: float | None = None
    gemm_gflops: float | None = None
    fraction_of_gemm: float | None = None
    target: str = ""
    met: bool | None = None
    notes: str = ""
    threads: int | None = None
    ours_bytes_per_trial: float | None = None
    baseline_bytes_per_trial: float | None = None
    memory_ratio: float | None = None
    memory_target: str | None = None
    memory_met: bool | None = None

    def with_memory(self, ours_bytes: float, baseline_bytes: float, *,
                    max_ratio: float | None = None, notes: str = "") -> "BenchRow":
        """This row with peak memory per trial for ours and the baseline (bytes, both
        measured), ``memory_ratio = ours / baseline`` (lower is better) and, with
        ``max_ratio``, the target ``memory_ratio <= max_ratio``."""
        from dataclasses import replace

        ratio = float(ours_bytes) / float(baseline_bytes)
        target = None if max_ratio is None else f"memory_ratio <= {max_ratio:g}"
        met = None if max_ratio is None else bool(ratio <= max_ratio)
        return replace(self, ours_bytes_per_trial=float(ours_bytes),
                       baseline_bytes_per_trial=float(baseline_bytes), memory_ratio=ratio,
                       memory_target=target, memory_met=met,
                       notes=self.notes + (f"; {notes}" if notes else ""))

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class BenchContext:
    """What a case gets: ``quick``, the GEMM rate (GFLOP/s) at ``threads`` BLAS threads
    (the policy in force for the run), and :meth:`gemm_at` for other counts."""

    quick: bool
    gemm_gflops: float
    threads: int | None = None
    _rates: dict = field(default_factory=dict, compare=False, repr=False)

    def gemm_at(self, threads: int | None) -> float:
        """The float64 GEMM rate at ``threads`` BLAS threads, measured once per count
        in this run (``threads`` None or equal to :attr:`threads`: :attr:`gemm_gflops`)."""
        if threads is None or threads == self.threads:
            return self.gemm_gflops
        if threads not in self._rates:
            from .threads import blas_threads

            with blas_threads(threads):
                self._rates[threads] = gemm_gflops(512 if self.quick else 1024)
        return self._rates[threads]


_CASES: dict[str, tuple[int, Callable[[BenchContext], BenchRow | list[BenchRow]]]] = {}


def bench_case(name: str, order: int = 100):
    """Decorator: register ``fn(ctx: BenchContext) -> BenchRow`` as a benchmark case."""
    def deco(fn):
        _CASES[name] = (order, fn)
        return fn
    return deco


def unregister_case(name: str) -> None:
    """Remove a case registered with :func:`bench_case` (a test's own case)."""
    _CASES.pop(name, None)


def best_time(fn: Callable[[], object], *, repeats: int = 5, min_time: float = 0.0) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    spent = 0.0
    n = 0
    while n < repeats or spent < min_time:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
        if n >= 50 * max(repeats, 1):
            break
    return best


def gemm_gflops(n: int = 1024, repeats: int = 5) -> float:
    """This machine's float64 matrix-multiply rate (GFLOP/s), square n x n."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, n)), rng.normal(size=(n, n))
    return 2.0 * n**3 / best_time(lambda: a @ b, repeats=repeats) / 1e9


def flop_row(case: str, flops: float, ours_s: float, ctx: BenchContext, *,
             target_fraction: float | None = None, notes: str = "",
             threads: int | None = None) -> BenchRow:
    """A compute-bound case: GFLOP/s against the same-run GEMM rate at the thread count
    the case ran with (``threads``; None: the run's policy, ``ctx.threads``). The
    baseline is a dense GEMM of the same flop count at that rate, so
    ``ratio = fraction_of_gemm``."""
    rate = ctx.gemm_at(threads)
    gf = flops / ours_s / 1e9
    frac = gf / rate
    base = flops / (rate * 1e9)
    target = "" if target_fraction is None else f"fraction_of_gemm >= {target_fraction}"
    met = None if target_fraction is None else frac >= target_fraction
    return BenchRow(case, ours_s, "same-flop GEMM at the measured rate", base, base / ours_s,
                    gf, rate, frac, target, met, notes,
                    threads=ctx.threads if threads is None else threads)


def ratio_row(case: str, ours_s: float, baseline: str, baseline_s: float, *,
              target_ratio: float | None = None, notes: str = "") -> BenchRow:
    ratio = baseline_s / ours_s
    target = "" if target_ratio is None else f"ratio >= {target_ratio}"
    met = None if target_ratio is None else ratio >= target_ratio
    return BenchRow(case, ours_s, baseline, baseline_s, ratio, target=target, met=met, notes=notes)


def discover_cases() -> list[tuple[str, Callable]]:
    import verify.benchmarks as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"verify.benchmarks.{info.name}")
    return [(name, fn) for name, (order, fn) in sorted(_CASES.items(), key=lambda kv: (kv[1][0], kv[0]))]


def run_bench(*, quick: bool = False, only: list[str] | None = None, progress=None) -> list[BenchRow]:
    cases = discover_cases()
    if only:
        unknown = set(only) - {n for n, _ in cases}
        if unknown:
            from .errors import invalid
            raise invalid("--case", "one of " + ", ".join(n for n, _ in cases), sorted(unknown)[0])
        cases = [(n, f) for n, f in cases if n in only]
    from .threads import blas_threads

    rows: list[BenchRow] = []
    with blas_threads() as threads:
        ctx = BenchContext(quick, gemm_gflops(512 if quick else 1024), threads)
        for name, fn in cases:
            if progress is not None:
                progress(name)
            with blas_threads(threads):  # a case that changed the limits cannot leak them
                out = fn(ctx)
            rows.extend(out if isinstance(out, list) else [out])
    return rows


__all__ = ["BenchRow", "BenchContext", "bench_case", "unregister_case", "best_time", "gemm_gflops", "flop_row",
           "ratio_row", "run_bench"]
