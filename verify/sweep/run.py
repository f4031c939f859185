"""The coordinator: :func:`run_sweep` checks the input and the folder, takes the lock,
hands the tasks without a record to :func:`verify.runner.run` (serial, local processes
or Dask; its retry policy and its progress display), appends each record as it comes
back, and recounts the folder's records for the summary and the exit code.

With a result cache (:mod:`verify.cache`) each worker looks its task up first and
stores what it computed (:func:`verify.sweep.task.cached_job`); every record this run
writes has ``cached`` (true: taken from the cache), and the summary counts them."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import invalid
from ..fsio import check_writable_dir
from .. import runner
from .folder import MANIFEST, FolderLock, read_manifest, write_manifest
from .plan import Sweep, load_sweep, parse_sweep
from .records import (FAILED, MATCH, MISMATCH, NONE, RESULTS, ResultsWriter, State, scan,
                      write_table)
from .. import cache as result_cache
from .task import CACHE_KIND, cached_job, erred, failed_record, merge_attempts, run_task


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep run did (``n_run``, ``n_skipped``, ``elapsed_s``) and what the
    folder now holds, counted over all its records, old and new: ``n_failed``,
    ``n_mismatched``, ``n_matched`` and ``n_missing`` (tasks without a record)."""

    out: str
    n_tasks: int
    n_run: int
    n_skipped: int
    n_failed: int
    n_mismatched: int
    elapsed_s: float
    backend: str
    n_matched: int = 0
    n_missing: int = 0
    n_cached: int = 0  # records of this run taken from the result cache

    @property
    def exit_code(self) -> int:
        """0 when every task has a record that matched its expectation, else 1."""
        return 0 if self.n_failed == 0 and self.n_mismatched == 0 and self.n_missing == 0 else 1

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def line(self) -> str:
        missing = f", {self.n_missing} without a record" if self.n_missing else ""
        cached = f" ({self.n_cached} from the cache)" if self.n_cached else ""
        return (f"sweep: {self.n_tasks} tasks, {self.n_run} run{cached}, {self.n_skipped} "
                f"skipped (already done); over all records: {self.n_matched} matched, "
                f"{self.n_mismatched} did not match their expectation, {self.n_failed} "
                f"failed{missing}; {self.elapsed_s:.1f} s on {self.backend}; results in "
                f"{self.out}/{RESULTS}")


def run_sweep(sweep: Sweep | str | Path | Mapping[str, Any], out: str | Path, *,
              workers: int | None = None, scheduler: Any = None, resume: bool = False,
              progress: bool | None = True, cache: Any = None) -> SweepSummary:
    """Run a sweep, writing each task's record as it finishes.

    Parameters
    ----------
    sweep : Sweep, path of a sweep file, or the parsed TOML mapping
    out : directory
        Gets ``results.jsonl`` (append-only), ``results.csv``, ``sweep.json`` and
        ``.lock``; checked writable before anything runs.
    workers : int, optional
        Local processes; None or 1 runs serially (with a ``scheduler``: the number of
        workers of a ``local`` cluster, default one per CPU).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address, ``"local"`` for a ``LocalCluster``, or a Client.
    resume : bool
        Skip the tasks already recorded in ``out`` (after checking the folder: see
        the package docstring); without it, a directory that already holds results is
        refused.
    progress : bool or None
        The runner's display (:class:`verify.runner.Progress`): a bar on a terminal, a
        line per task otherwise; False shows nothing.
    cache : folder, verify.cache.Cache, True or None
        The result cache (:func:`verify.cache.resolve`; None, the default here: none).
        A task whose record is stored there is not run again; its record says
        ``cached``. On Dask the workers read and write it: a folder they share.

    Raises
    ------
    VerifyError
        Bad input (the sweep, the options, the folder, its state, an unreachable
        scheduler, or another sweep running on it); nothing has been written then.
    """
    source = str(sweep) if isinstance(sweep, (str, Path)) else None
    out = check_writable_dir(out, "--out")  # an unwritable folder: refused before anything
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep) if isinstance(sweep, (str, Path)) else parse_sweep(sweep)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= runner.MAX_WORKERS):
        raise invalid("--workers", f"an integer from 1 to {runner.MAX_WORKERS}", workers)
    if scheduler is not None and workers is not None and scheduler != "local":
        raise invalid("--workers", "not together with a remote --scheduler", workers)
    release = lambda: None  # noqa: E731
    if scheduler is not None:
        # connected before anything is written: an unreachable scheduler is bad input
        client, release = runner.connect(scheduler, workers or os.cpu_count() or 2)
        name = f"dask ({scheduler})" if isinstance(scheduler, str) else "dask (client)"
        backend = runner.Backend("dask", 1, client)
    else:
        backend = runner.Backend.choose(workers)
        name = backend.describe()
    try:
        lock = FolderLock(out)
        try:
            state = _resume_state(out, sweep, resume)
        except BaseException:
            lock.abandon()
            raise
        try:
            return _run(sweep, out, state, source, backend, name, progress,
                        result_cache.resolve(cache))
        finally:
            lock.release()
    finally:
        release()


def _resume_state(out: Path, sweep: Sweep, resume: bool) -> State:
    """The folder's records checked against the plan (under the lock)."""
    results = out / RESULTS
    has_results = results.exists() and results.stat().st_size > 0
    if has_results and not resume:
        raise invalid("--out", "an empty or new directory (or pass --resume)",
                      f"{out} already holds results")
    if resume and (has_results or (out / MANIFEST).exists()):
        read_manifest(out, sweep)
    return scan(out, sweep)


def _label(task, record) -> str:
    return f"{task.task_id} {record.get('status')}"


def _run(sweep: Sweep, out: Path, state: State, source: str | None,
         backend: runner.Backend, name: str, progress: bool | None,
         store: result_cache.Cache | None = None) -> SweepSummary:
    write_manifest(out, sweep, source)
    n_done = len(sweep) - state.count(NONE)
    todo = (sweep.task(i) for i in range(len(sweep)) if state.status[i] == NONE)
    display = runner.Progress(len(sweep) - n_done, None if progress else False,
                              name="sweep", label=_label)
    writer = ResultsWriter(out / RESULTS)
    start = time.perf_counter()
    n_run = n_cached = 0
    job = run_task if store is None else cached_job(store)
    if store is not None:  # hashed once here, before workers are forked from this process
        result_cache.key(CACHE_KIND, {})
    try:
        for _task, record in runner.run(job, todo, failed=failed_record,
                                        backend=backend, progress=display,
                                        retry=erred, merge=merge_attempts):
            record.setdefault("cached", False)
            writer.write(record)
            n_run += 1
            n_cached += bool(record["cached"])
    finally:
        writer.close()
    elapsed = time.perf_counter() - start
    # The truth: every record in the folder, old and new (the old ones were checked
    # against the plan before the run, the new ones are this run's, under the lock).
    final = scan(out, sweep, check_plan=False)
    write_table(out, final)
    return SweepSummary(str(out), len(sweep), n_run, n_done, final.count(FAILED),
                        final.count(MISMATCH), elapsed, name,
                        n_matched=final.count(MATCH), n_missing=final.count(NONE),
                        n_cached=n_cached)


__all__ = ["SweepSummary", "run_sweep"]
