"""The one runner: same results on every backend, one retry policy,
workers that die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from verify.runner import Backend, Progress, run


def square(t):
    return t * t


def crash_on_three(t):
    if t == 3:
        os._exit(7)  # a worker death, as an out-of-memory kill would be
    return t * t


def failed(t, reason):
    return ("failed", t, reason)


def _collect(job, tasks, backend, **kw):
    return dict(run(job, tasks, failed=failed, backend=backend, **kw))


def test_serial_and_processes_give_the_same_results():
    tasks = list(range(12))
    serial = _collect(square, tasks, Backend("serial"))
    procs = _collect(square, tasks, Backend("processes", 2))
    assert serial == procs == {t: t * t for t in tasks}


def test_a_worker_death_costs_only_the_task_that_causes_it():
    out = _collect(crash_on_three, list(range(8)), Backend("processes", 2))
    assert out[3][0] == "failed" and "died twice" in out[3][2]
    assert all(out[t] == t * t for t in range(8) if t != 3)


def test_cost_orders_the_start():
    seen = [t for t, _ in run(square, [1, 5, 3], failed=failed, backend=Backend("serial"),
                              cost=lambda t: t)]
    assert seen == [5, 3, 1]


def test_progress_counts_every_task(capsys):
    bar = Progress(3, True, name="demo", label=lambda t, r: f"task {t}")
    list(run(square, [1, 2, 3], failed=failed, progress=bar))
    err = capsys.readouterr().err
    assert "demo [3/3] task 3" in err


def test_bad_backend_is_refused():
    from verify.errors import VerifyError

    with pytest.raises(VerifyError, match="workers"):
        Backend("processes", 0)
    with pytest.raises(VerifyError, match="backend"):
        Backend("threads")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_exit_when_their_parent_is_killed(tmp_path):
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import os, time
        from verify.runner import Backend, run
        def job(t):
            with open({str(pids)!r}, "a") as fh:
                fh.write(f"{{os.getpid()}}\\n")
            time.sleep(60)
        list(run(job, [0, 1], failed=lambda t, r: None, backend=Backend("processes", 2)))
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if pids.exists() and len(pids.read_text().split()) == 2:
            break
        time.sleep(0.1)
    workers = [int(p) for p in pids.read_text().split()]
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.1)
    assert not alive, f"workers {alive} outlived their parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow  # starts a dask cluster
def test_dask_backend_matches_serial():
    pytest.importorskip("distributed")
    tasks = list(range(6))
    out = _collect(square, tasks, Backend("dask", 1, "local"))
    assert out == {t: t * t for t in tasks}


@pytest.mark.parametrize("backend", [Backend("serial"), Backend("processes", 2)])
def test_tasks_are_drawn_lazily(backend):
    import itertools

    drawn = []

    def endless():
        for i in itertools.count():
            drawn.append(i)
            yield i

    stream = run(square, endless(), failed=failed, backend=backend)
    first = list(itertools.islice(stream, 5))
    stream.close()
    assert all(r == t * t for t, r in first)
    assert len(first) == 5 and len(drawn) <= 5 + 2 * backend.workers  # never the whole plan


def flaky_result(t):
    """An error result (the job caught an exception) on its first run in a process."""
    import os as _os

    marker = f"/tmp/verify-runner-flaky-{_os.getppid()}-{t}"
    if t == 2 and not _os.path.exists(marker):
        open(marker, "w").close()
        return ("error", t)
    return ("ok", t)


@pytest.mark.parametrize("backend", [Backend("serial"), Backend("processes", 2)])
def test_an_erring_task_is_run_once_more_and_both_attempts_are_kept(backend):
    seen = []

    def job(t):
        seen.append(t)
        return ("error", t) if t == 2 and seen.count(2) == 1 else ("ok", t)

    if backend.kind == "serial":
        out = dict(run(job, range(4), failed=failed, backend=backend,
                       retry=lambda r: r[0] == "error", merge=lambda a, b: (b[0], a[0])))
        assert out[2] == ("ok", "error") and seen.count(2) == 2
    else:
        import os

        out = dict(run(flaky_result, range(4), failed=failed, backend=backend,
                       retry=lambda r: r[0] == "error", merge=lambda a, b: (b[0], a[0])))
        for t in range(4):
            marker = f"/tmp/verify-runner-flaky-{os.getpid()}-{t}"
            if os.path.exists(marker):
                os.unlink(marker)
        assert out[2] == ("ok", "error")
        assert all(out[t] == ("ok", t) for t in (0, 1, 3))
