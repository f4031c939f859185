"""``verify bench``: each case timed against its baseline in the same run.

These machines are noisy, so a case reports a ratio (baseline_s / ours_s) measured
back to back, and compute-bound cases report their GFLOP/s as a fraction of the
machine's own float64 matrix-multiply rate, measured in the same run. Cases register
with :func:`bench_case` in a module of ``verify.benchmarks`` (every module there is
imported), so a new case joins by registering. A case that times a lemma's check lives
there too and imports the lemma, as the report does; no lemma registers cases.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class BenchRow:
    """One benchmark row (CLI.md: ``verify bench --json``)."""

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

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class BenchContext:
    quick: bool
    gemm_gflops: float


_CASES: dict[str, tuple[int, Callable[[BenchContext], BenchRow | list[BenchRow]]]] = {}


def bench_case(name: str, order: int = 100):
    """Decorator: register ``fn(ctx: BenchContext) -> BenchRow`` as a benchmark case."""
    def deco(fn):
        _CASES[name] = (order, fn)
        return fn
    return deco


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
             target_fraction: float | None = None, notes: str = "") -> BenchRow:
    """A compute-bound case: GFLOP/s against the same-run GEMM rate. The baseline is a
    dense GEMM of the same flop count at that rate, so ``ratio = fraction_of_gemm``."""
    gf = flops / ours_s / 1e9
    frac = gf / ctx.gemm_gflops
    base = flops / (ctx.gemm_gflops * 1e9)
    target = "" if target_fraction is None else f"fraction_of_gemm >= {target_fraction}"
    met = None if target_fraction is None else frac >= target_fraction
    return BenchRow(case, ours_s, "same-flop GEMM at the measured rate", base, base / ours_s,
                    gf, ctx.gemm_gflops, frac, target, met, notes)


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
    ctx = BenchContext(quick, gemm_gflops(512 if quick else 1024))
    rows: list[BenchRow] = []
    for name, fn in cases:
        if progress is not None:
            progress(name)
        out = fn(ctx)
        rows.extend(out if isinstance(out, list) else [out])
    return rows


__all__ = ["BenchRow", "BenchContext", "bench_case", "best_time", "gemm_gflops", "flop_row",
           "ratio_row", "run_bench"]
