"""Peak memory per trial of a batched inversion, ours and PyTorch's, measured the same way.

Each side runs in a child process (``python -m verify.benchmarks.peakmem``) that loads
one problem (measurements, masks, starts: written by the parent, so the forward pass
that made them is not in the child), draws the network, and runs a few Adam iterations
of the batched inversion: :func:`verify.inversion.invert` (backend ``batch-last``) or
the PyTorch loop of :mod:`verify.benchmarks.torch_peer`. The parent reads the child's
peak resident set from ``os.wait4`` (``ru_maxrss``: the operating system's high-water
mark of resident memory, which counts numpy's and PyTorch's allocations alike).

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


def _child(side: str, problem: str, size: int, dtype: str, threads: int) -> None:
    """What the child process runs (``side`` "ours" or "torch")."""
    from verify.threads import blas_threads
    from verify.weights import draw_network

    from .torch_peer import LR, _torch_adam, dcgan_like

    data = np.load(problem)
    y, masks, init = data["y"], data["masks"], data["init"]
    net = draw_network(dcgan_like(size), rng=np.random.default_rng(0))
    if side == "ours":
        from verify.inversion import invert

        with blas_threads(threads):
            invert(net, y, masks, init=init, method="adam", lr=LR, iterations=ITERATIONS,
                   tol=0.0, dtype=dtype, backend="batch-last")
    else:
        import torch

        _torch_adam(torch, net, y, masks, init, ITERATIONS, dtype, threads=threads)


def _run_child(cmd: list[str], timeout: float) -> tuple[int, int, str]:
    """Run ``cmd``; return (exit code, peak RSS bytes from wait4, stderr tail)."""
    import time

    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
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
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux kB
    return proc.returncode, int(usage.ru_maxrss) * scale, tail


def child_peak(side: str, problem: Path, size: int, dtype: str, threads: int = 1,
               timeout: float = 600.0) -> int:
    """Peak resident set (bytes) of a child process that inverts ``problem``."""
    cmd = [sys.executable, "-m", "verify.benchmarks.peakmem", side, str(problem), str(size),
           dtype, str(threads)]
    code, peak, tail = _run_child(cmd, timeout)
    if code != 0:
        last = tail.splitlines()[-1] if tail else f"exit code {code}"
        raise RuntimeError(f"peak-memory child ({side}) failed: {last}")
    return peak


def write_problem(folder: Path, net, trials: int, seed: int = 1) -> Path:
    """The problem of :func:`verify.benchmarks.torch_peer._problem` for ``trials``
    trials, saved as ``.npz`` in ``folder`` (y, masks, init)."""
    from .torch_peer import _problem

    masks, _, init, y = _problem(net, trials, seed=seed)
    path = folder / f"problem-{trials}.npz"
    np.savez(path, y=y, masks=masks, init=init)
    return path


def per_trial_bytes(side: str, size: int, dtype: str, trials: tuple[int, int], *,
                    threads: int = 1) -> tuple[float, tuple[int, int]]:
    """(peak bytes per trial, (peak at t1, peak at t2)) of ``side`` on the DCGAN-like
    ``size``^2 network, the slope between ``trials = (t1, t2)`` (module docstring)."""
    from verify.weights import draw_network

    from .torch_peer import dcgan_like

    t1, t2 = trials
    if not 0 < t1 < t2:
        raise ValueError(f"trials: expected 0 < t1 < t2, got {trials}")
    net = draw_network(dcgan_like(size), rng=np.random.default_rng(0))
    with tempfile.TemporaryDirectory(prefix="verify-peakmem-") as tmp:
        peaks = tuple(child_peak(side, write_problem(Path(tmp), net, t), size, dtype, threads)
                      for t in (t1, t2))
    return (peaks[1] - peaks[0]) / (t2 - t1), peaks


if __name__ == "__main__":  # the child
    _side, _problem_file, _size, _dtype, _threads = sys.argv[1:6]
    _child(_side, _problem_file, int(_size), _dtype, int(_threads))
