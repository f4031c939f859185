"""Peak memory per trial of a batched inversion, ours and PyTorch's, measured the same way.

Each side runs in a child process (``python -m verify.benchmarks.peakmem``) that loads
one problem (measurements, masks, starts: written by the parent, so the forward pass
that made them is not in the child), draws the network, and runs a few Adam iterations
of the batched inversion: :func:`verify.inversion.invert` (backend ``batch-last``) or
the PyTorch loop of :mod:`verify.benchmarks.torch_peer`. Peak memory is the operating
system's high-water mark of the child's resident set, which counts numpy's and
PyTorch's allocations alike: on Linux the child resets it after a 2-trial warm-up
(``5`` to /proc/self/clear_refs) and prints ``VmHWM`` after the run, so the transient
peak of importing the libraries does not hide the run's; elsewhere the parent reads
the child's lifetime ``ru_maxrss`` from ``os.wait4``.

Per trial is the slope between two batch sizes, ``(peak(t2) - peak(t1)) / (t2 - t1)``:
the interpreter, the libraries and the network cancel, and what remains is what each
extra trial costs, its inputs included (float64 measurements, boolean mask, float64
start: ~0.11 MB at 64^2 on both sides). Buffers are allocated in the first iteration
and reused (ours) or cached (PyTorch's allocator), so a few iterations reach the peak.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Adam iterations a child runs (the peak is reached in the first).
ITERATIONS = 3


def _status_bytes(field: str) -> int | None:
    """``VmHWM`` / ``VmRSS`` of this process from /proc/self/status (bytes), or None."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset this process's resident high-water mark (Linux: ``5`` to
    /proc/self/clear_refs, so that VmHWM restarts from the current RSS)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return _status_bytes("VmHWM") is not None


def _child(side: str, problem: str, size: int, dtype: str, threads: int) -> None:
    """What the child process runs (``side`` "ours" or "torch"): a 2-trial, 1-iteration
    warm-up (lazy initialisation of the libraries), then -- the high-water mark reset
    where Linux allows -- the run; prints ``VmHWM`` bytes (or nothing without /proc)."""
    from verify.threads import blas_threads
    from verify.weights import draw_network

    from .torch_peer import LR, _torch_adam, dcgan_like

    data = np.load(problem)
    y, masks, init = data["y"], data["masks"], data["init"]
    net = draw_network(dcgan_like(size), rng=np.random.default_rng(0))
    if side == "ours":
        from verify.inversion import invert

        def run(rows, iterations):
            with blas_threads(threads):
                invert(net, y[rows], masks[rows], init=init[rows], method="adam", lr=LR,
                       iterations=iterations, tol=0.0, dtype=dtype, backend="batch-last")
    else:
        import torch

        def run(rows, iterations):
            _torch_adam(torch, net, y[rows], masks[rows], init[rows], iterations, dtype,
                        threads=threads)
    run(slice(0, 2), 1)
    reset = _reset_peak()
    run(slice(None), ITERATIONS)
    if reset:
        print(_status_bytes("VmHWM"))


def _run_child(cmd: list[str], timeout: float) -> tuple[int, int, str, str]:
    """Run ``cmd``; return (exit code, peak RSS bytes from wait4, stderr tail, stdout)."""
    import time

    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip()[-400:]
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux kB
    return proc.returncode, int(usage.ru_maxrss) * scale, tail, text


def child_peak(side: str, problem: Path, size: int, dtype: str, threads: int = 1,
               timeout: float = 600.0) -> tuple[int, str]:
    """(peak resident set in bytes, how it was read) of a child process that inverts
    ``problem``: the child's VmHWM over the run (high-water mark reset after the
    warm-up, Linux), else its lifetime ``ru_maxrss`` from ``wait4``."""
    cmd = [sys.executable, "-m", "verify.benchmarks.peakmem", side, str(problem), str(size),
           dtype, str(threads)]
    code, peak, tail, out = _run_child(cmd, timeout)
    if code != 0:
        last = tail.splitlines()[-1] if tail else f"exit code {code}"
        raise RuntimeError(f"peak-memory child ({side}) failed: {last}")
    if out.strip().isdigit():
        return int(out.strip()), "VmHWM over the run (reset after a warm-up)"
    return peak, "wait4 ru_maxrss of the child's lifetime"


def write_problem(folder: Path, net, trials: int, seed: int = 1) -> Path:
    """The problem of :func:`verify.benchmarks.torch_peer._problem` for ``trials``
    trials, saved as ``.npz`` in ``folder`` (y, masks, init)."""
    from .torch_peer import _problem

    masks, _, init, y = _problem(net, trials, seed=seed)
    path = folder / f"problem-{trials}.npz"
    np.savez(path, y=y, masks=masks, init=init)
    return path


def per_trial_bytes(side: str, size: int, dtype: str, trials: tuple[int, int], *,
                    threads: int = 1) -> tuple[float, tuple[int, int], str]:
    """(peak bytes per trial, (peak at t1, peak at t2), how the peaks were read) of
    ``side`` on the DCGAN-like ``size``^2 network: the slope between
    ``trials = (t1, t2)`` (module docstring)."""
    from verify.weights import draw_network

    from .torch_peer import dcgan_like

    t1, t2 = trials
    if not 0 < t1 < t2:
        raise ValueError(f"trials: expected 0 < t1 < t2, got {trials}")
    net = draw_network(dcgan_like(size), rng=np.random.default_rng(0))
    with tempfile.TemporaryDirectory(prefix="verify-peakmem-") as tmp:
        got = [child_peak(side, write_problem(Path(tmp), net, t), size, dtype, threads)
               for t in (t1, t2)]
    peaks = (got[0][0], got[1][0])
    how = got[0][1] if got[0][1] == got[1][1] else f"{got[0][1]} / {got[1][1]}"
    return (peaks[1] - peaks[0]) / (t2 - t1), peaks, how


if __name__ == "__main__":  # the child
    _side, _problem_file, _size, _dtype, _threads = sys.argv[1:6]
    _child(_side, _problem_file, int(_size), _dtype, int(_threads))
