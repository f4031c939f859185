"""The one runner: tasks in, results out, serially, on local processes or on Dask.

``verify report`` and ``verify sweep`` both hand their work to :func:`run`. A task is
any picklable value; ``job(task)`` turns it into a result in whichever process runs
it and must not raise for a problem of the task itself (it returns an error result
instead: :meth:`verify.results.CheckResult.from_error`). The runner owns what is
left:

* **Backends** (:class:`Backend`): ``serial`` in this process; ``processes`` on N
  forked local workers (at most 2 N tasks in flight); ``dask`` on a
  ``dask.distributed`` cluster (an address, ``"local"`` or a ``Client``).
* **One retry policy.** A task whose worker dies (or whose result cannot come back)
  is run once more, alone, so a crash that takes innocent tasks in flight with it
  does not count against them; a second failure becomes ``failed(task, reason)``. A
  task whose result the caller calls an error (``retry(result)``) is run once more
  alone too, and ``merge(first, second)`` keeps what both attempts said.
* **Ordering.** Tasks start in the order of ``cost`` (largest first, ties in the
  given order): the runner knows no lemma, callers pass measured or registered
  costs. Results come back as they finish; :func:`run` yields ``(task, result)``.
* **Progress** (:class:`Progress`): a tqdm bar on a terminal, one line per task
  otherwise, or nothing.
* **Workers die with their parent.** A forked worker asks the kernel for SIGTERM
  when its parent exits (``PR_SET_PDEATHSIG`` on Linux; elsewhere it polls
  ``getppid``), so a killed report or sweep leaves no stray processes.

Results never depend on the backend: every task carries its own random streams.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import VerifyError, invalid

Job = Callable[[Any], Any]
Failed = Callable[[Any, str], Any]


# ------------------------------------------------------------------ backends
#: Most local worker processes (``--workers``, ``--jobs``): a process pool forks all of
#: them at its first task, so a larger count is refused as a typo rather than tried.
MAX_WORKERS = 256


@dataclass(frozen=True)
class Backend:
    """Where tasks run: ``serial``, ``processes`` (``workers``) or ``dask``
    (``scheduler``: an address, ``"local"`` or a ``distributed.Client``)."""

    kind: str = "serial"
    workers: int = 1
    scheduler: Any = None

    def __post_init__(self) -> None:
        if self.kind not in ("serial", "processes", "dask"):
            raise invalid("backend", "serial, processes or dask", self.kind)
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) \
                or not 1 <= self.workers <= MAX_WORKERS:
            raise invalid("workers", f"an integer from 1 to {MAX_WORKERS}", self.workers)

    @classmethod
    def choose(cls, workers: int | None = None, scheduler: Any = None) -> "Backend":
        """``scheduler`` -> dask; ``workers`` > 1 -> processes (where ``fork`` exists);
        else serial."""
        if scheduler is not None:
            return cls("dask", workers or 1, scheduler)
        if workers and workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            return cls("processes", workers)
        return cls("serial")

    def describe(self) -> str:
        if self.kind == "processes":
            return f"{self.workers} local processes"
        if self.kind == "dask":
            return "dask" if not isinstance(self.scheduler, str) else f"dask ({self.scheduler})"
        return "serial"


def default_workers() -> int:
    """Tasks run at once by default: 2 where ``fork`` exists and 2+ CPUs, else 1."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(2, os.cpu_count() or 1))


# ------------------------------------------------------------------ progress
class Progress:
    """tqdm on a terminal, one line per finished task otherwise, or nothing
    (``mode=False``). ``label(task, result)`` is the text shown for a finished task."""

    def __init__(self, total: int, mode: bool | None, *, name: str, unit: str = "task",
                 label: Callable[[Any, Any], str] | None = None):
        self.total, self.done, self.bar, self.name = total, 0, None, name
        self.label = label
        self.enabled = mode is not False and total > 0
        if self.enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=sys.stderr, unit=unit, dynamic_ncols=True,
                            desc=name)

    def finish(self, task: Any, result: Any) -> None:
        self.done += 1
        text = self.label(task, result) if self.label else ""
        if self.bar is not None:
            if text:
                self.bar.set_postfix_str(text[:60], refresh=False)
            self.bar.update(1)
        elif self.enabled:
            print(f"{self.name} [{self.done}/{self.total}] {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------ workers
def die_with_parent() -> None:
    """In a forked worker: be sent SIGTERM when the parent process exits, and let SIGTERM
    kill (a parent that turned it into KeyboardInterrupt would otherwise hand the worker
    a handler that ``concurrent.futures`` catches)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):  # pragma: no cover - no prctl: poll instead
            pass

    def watch() -> None:  # pragma: no cover - non-Linux fallback
        import time

        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, daemon=True).start()


def _pool(workers: int):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("fork"),
                               initializer=die_with_parent)


def _kill(pool) -> None:
    """Stop a pool now (an interrupted run): cancel what waits, terminate our workers."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()


def _serial(job: Job, tasks: Sequence[Any], failed: Failed) -> Iterator[tuple[Any, Any]]:
    for t in tasks:
        yield t, job(t)


def _processes(job: Job, tasks: Iterable[Any], failed: Failed,
               workers: int) -> Iterator[tuple[Any, Any]]:
    """At most 2 x workers tasks in flight, drawn from ``tasks`` as slots free up (never
    all at once: a plan of 10^6 tasks is never materialised). When a worker dies
    (BrokenProcessPool) the tasks then in flight are the suspects: each is rerun alone
    in a fresh one-worker pool, so only the task that kills its worker twice fails. A
    result that cannot be pickled back is retried the same way."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pending = iter(tasks)
    more = True
    while more:
        suspects: list[Any] = []
        pool = _pool(workers)
        try:
            inflight: dict[Any, Any] = {}
            broken = False
            while True:
                while more and not broken and len(inflight) < 2 * workers:
                    t = next(pending, _END)
                    if t is _END:
                        more = False
                        break
                    try:
                        inflight[pool.submit(job, t)] = t
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(t)
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    t = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(t)
                        continue
                    except Exception:  # noqa: BLE001 - e.g. a result that does not pickle
                        suspects.append(t)
                        continue
                    yield t, result
                if broken:
                    for fut, t in inflight.items():
                        if fut.done() and not fut.cancelled() and fut.exception() is None:
                            yield t, fut.result()  # finished before the crash: keep it
                        else:
                            suspects.append(t)
                    inflight.clear()
                    break
        except BaseException:
            _kill(pool)
            raise
        pool.shutdown(wait=True)
        for t in suspects:
            yield t, _alone(job, t, failed)


#: End of a task iterator (tasks may be None).
_END = object()


def _alone(job: Job, task: Any, failed: Failed) -> Any:
    """The second attempt: the task alone in a fresh one-worker pool."""
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(1)
    try:
        return pool.submit(job, task).result()
    except BrokenProcessPool as exc:
        return failed(task, f"worker process died twice ({exc or 'killed'})")
    except Exception as exc:  # noqa: BLE001 - the result cannot come back: recorded
        return failed(task, f"second attempt failed: {type(exc).__name__}: {exc}")
    finally:
        pool.shutdown(wait=True)


def connect(scheduler: Any, workers: int | None = None):
    """A Dask client for ``scheduler`` (an address, ``"local"`` or a Client) and the
    function that releases what was created here; VerifyError when unreachable."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise VerifyError("--scheduler: dask.distributed is not installed "
                          "(pip install 'verify-invertibility[dask]')") from None
    import dask

    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if scheduler == "local":
        # A worker death fails its task at once (the runner's retry gives it one more go).
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 2,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()

        return client, close
    if not isinstance(scheduler, str) or not scheduler:
        raise invalid("--scheduler", "a scheduler address or 'local'", scheduler)
    try:
        client = Client(scheduler, timeout="10s")
    except Exception as exc:  # noqa: BLE001
        raise VerifyError(f"--scheduler: cannot connect to {scheduler!r} "
                          f"({type(exc).__name__}: {exc})") from None
    return client, client.close


def _dask(job: Job, tasks: Iterable[Any], failed: Failed,
          client: Any) -> Iterator[tuple[Any, Any]]:
    """Tasks submitted as slots free up, at most 4 per worker thread (at least 16) in
    flight; a future that raises (a dead worker: KilledWorker) is resubmitted once, then
    recorded with ``failed``."""
    import uuid
    from itertools import islice

    from distributed import as_completed

    run_id = uuid.uuid4().hex[:8]  # keys unique to this run: never a stale cached result
    futures: dict[Any, tuple[int, Any, int]] = {}
    pending = enumerate(tasks)
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - a window is a tuning knob, not a requirement
        threads = 4
    ac = as_completed()

    def submit(i: int, t: Any, attempt: int) -> None:
        fut = client.submit(job, t, pure=False, key=f"verify-{run_id}-{i}-{attempt}")
        futures[fut] = (i, t, attempt)
        ac.add(fut)

    for i, t in islice(pending, max(16, 4 * threads)):
        submit(i, t, 1)
    for fut in ac:
        i, t, attempt = futures.pop(fut)
        try:
            result = fut.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker (KilledWorker) or similar
            if attempt == 1:
                submit(i, t, 2)
                continue
            result = failed(t, f"{type(exc).__name__}: {exc}")
        nxt = next(pending, None)
        if nxt is not None:
            submit(*nxt, 1)
        yield t, result


# ------------------------------------------------------------------ the entry point
def run(job: Job, tasks: Iterable[Any], *, failed: Failed, backend: Backend | None = None,
        cost: Callable[[Any], float] | None = None, progress: Progress | None = None,
        retry: Callable[[Any], bool] | None = None,
        merge: Callable[[Any, Any], Any] | None = None) -> Iterator[tuple[Any, Any]]:
    """Run ``job`` on every task; yield ``(task, result)`` as results arrive.

    The one retry policy: a task whose worker dies (or whose result cannot come back)
    is run once more alone, and ``failed(task, reason)`` builds its result if that
    fails too; a task whose result ``retry(result)`` calls an error (an exception the
    job caught) is run once more alone as well, and ``merge(first, second)`` (default:
    the second) is its result. ``cost(task)`` orders the start (largest first; ties
    keep the given order; this materialises ``tasks``, which otherwise are drawn lazily
    as workers free up).
    """
    backend = backend or Backend()
    todo: Iterable[Any] = tasks
    if cost is not None:  # ordering needs the whole list; without it tasks stay lazy
        todo = list(tasks)
        order = sorted(range(len(todo)), key=lambda i: (-float(cost(todo[i])), i))
        todo = [todo[i] for i in order]
    close: Callable[[], None] = lambda: None  # noqa: E731
    if backend.kind == "processes":
        stream = _processes(job, todo, failed, backend.workers)
        again = lambda t: _alone(job, t, failed)  # noqa: E731
    elif backend.kind == "dask":
        client, close = connect(backend.scheduler, backend.workers)
        stream = _dask(job, todo, failed, client)
        again = lambda t: _dask_once(job, t, failed, client)  # noqa: E731
    else:
        stream = _serial(job, todo, failed)
        again = job
    try:
        for t, result in stream:
            if retry is not None and retry(result):
                second = again(t)
                result = merge(result, second) if merge is not None else second
            if progress is not None:
                progress.finish(t, result)
            yield t, result
    finally:
        stream.close()
        close()
        if progress is not None:
            progress.close()


def _dask_once(job: Job, task: Any, failed: Failed, client: Any) -> Any:
    """The second attempt of an erring task on the cluster."""
    try:
        return client.submit(job, task, pure=False).result()
    except Exception as exc:  # noqa: BLE001 - a dead worker: recorded
        return failed(task, f"second attempt failed: {type(exc).__name__}: {exc}")


__all__ = ["Backend", "Progress", "run", "connect", "default_workers", "die_with_parent",
           "MAX_WORKERS"]
