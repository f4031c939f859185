"""Sweep cases: a 200-task sweep on 2 local processes against the same sweep run
serially, and the per-task overhead of a Dask local cluster (same run, same tasks)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..bench import BenchContext, bench_case, ratio_row

PROCESS_CASE = "sweep: 2 local processes vs serial"
DASK_CASE = "sweep: Dask local cluster (2 workers) vs 2 local processes"
#: The cheap check swept (about 0.1 s per quick run on theory-2layer).
LEMMA = "permutation"


def _sweep(n_tasks: int):
    from ..registry import discover
    from ..sweep import parse_sweep

    checks = discover()
    lemma = LEMMA if LEMMA in checks else next(iter(checks), None)
    if lemma is None:
        return None, None
    preset = "theory-2layer" if "theory-2layer" in checks[lemma].presets else next(iter(checks[lemma].presets))
    return lemma, parse_sweep({"sweep": {"lemmas": [lemma], "presets": [preset],
                                         "replicates": n_tasks, "quick": True}})


def _load() -> str:
    """The 1-minute load average: on a shared machine a parallel speed-up is bounded by
    the cores the others leave free, so the rows say what the load was."""
    import os

    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def _timed(sweep, **kw) -> float:
    from ..sweep import load_results, run_sweep

    with tempfile.TemporaryDirectory(prefix="verify-bench-sweep-") as out:
        t0 = time.perf_counter()
        summary = run_sweep(sweep, Path(out) / "r", progress=False, **kw)
        dt = time.perf_counter() - t0
        df = load_results(Path(out) / "r")
    if summary.n_failed or len(df) != len(sweep):
        raise RuntimeError(f"bench sweep incomplete: {summary.line()}")
    return dt


@bench_case(PROCESS_CASE, order=80)
def processes_vs_serial(ctx: BenchContext):
    n = 40 if ctx.quick else 200
    lemma, sweep = _sweep(n)
    if sweep is None:
        return ratio_row(PROCESS_CASE, float("nan"), "serial", float("nan"),
                         notes="no lemma registered")
    serial = _timed(sweep)
    procs = _timed(sweep, workers=2)
    return ratio_row(PROCESS_CASE, procs, f"the same {n} tasks serially", serial,
                     target_ratio=1.7,
                     notes=f"{n} quick `{lemma}` checks on theory-2layer, "
                           f"{serial / n * 1e3:.1f} ms/task serial; includes pool start-up and "
                           "writing results.jsonl; " + _load())


@bench_case(DASK_CASE, order=81)
def dask_overhead(ctx: BenchContext):
    n = 40 if ctx.quick else 200
    lemma, sweep = _sweep(n)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return ratio_row(DASK_CASE, float("nan"), "2 local processes", float("nan"),
                         notes="dask.distributed not installed")
    if sweep is None:
        return ratio_row(DASK_CASE, float("nan"), "2 local processes", float("nan"),
                         notes="no lemma registered")
    procs = _timed(sweep, workers=2)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        startup = time.perf_counter() - t0
        _, warm = _sweep(4)
        _timed(warm, scheduler=client)  # workers import the toolkit once, outside the timing
        dask_s = _timed(sweep, scheduler=client)
    per_task = (dask_s - procs) / n
    return ratio_row(DASK_CASE, dask_s, "the same tasks on 2 local processes", procs,
                     target_ratio=0.8,
                     notes=f"target: Dask within 25% of local processes; overhead {per_task * 1e3:+.1f} ms/task over processes "
                           f"({dask_s / n * 1e3:.1f} vs {procs / n * 1e3:.1f} ms/task); "
                           f"cluster start-up {startup:.1f} s not included; " + _load())
