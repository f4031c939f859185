"""The main job's budget: ``verify report`` wall time and peak memory.

The report runs in a child process (``python -m verify report``) so that its peak
resident memory is measured cleanly: ``os.wait4`` gives that child's own rusage, whose
``ru_maxrss`` is the largest of the report process and the workers it waited for.
The baseline is the budget: 120 s for the default run, 20 s for ``--quick``, both
on 2 cores; ``ratio = budget_s / ours_s`` and the target is ``ratio >= 1`` with the
peak resident set under 2 GB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..bench import BenchContext, BenchRow, bench_case

#: Wall-time budgets (s) of the main job, on 2 cores.
BUDGET_S = {"quick": 20.0, "default": 120.0}
#: Peak resident memory budget (MB) of the main job.
BUDGET_MB = 2048.0
CASE = "verify report end to end vs its budget"


def _tree_rss_mb(pid: int) -> float | None:
    """Resident memory (MB) of ``pid`` and all its descendants, from /proc (Linux)."""
    total, stack, seen = 0.0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += float(line.split()[1]) / 1024.0
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            if p == pid:
                return None
    return total


def run_report_child(out: Path, *, quick: bool, seed: int = 0,
                     timeout: float = 1800.0) -> tuple[float, float, int, str, float | None]:
    """Run ``python -m verify report`` in a child; return (wall s, peak MB, exit code,
    stderr tail, peak MB of the whole process tree). Peak memory is the child's own
    ``ru_maxrss`` (kB on Linux); the tree peak sums the report and its workers,
    sampled every 50 ms from /proc (None where /proc is missing)."""
    cmd = [sys.executable, "-m", "verify", "report", "--out", str(out), "--seed", str(seed)]
    if quick:
        cmd.append("--quick")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = t0 + timeout
        tree_peak: float | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = _tree_rss_mb(proc.pid)
            if rss is not None:
                tree_peak = rss if tree_peak is None else max(tree_peak, rss)
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-400:]
    scale = 1024.0 if sys.platform == "darwin" else 1.0  # macOS reports bytes, Linux kB
    return wall, usage.ru_maxrss / scale / 1024.0, proc.returncode, tail, tree_peak


@bench_case(CASE, order=90)
def report_budget(ctx: BenchContext) -> BenchRow:
    """``verify report`` (``--quick`` when the bench is quick) against its budget."""
    mode = "quick" if ctx.quick else "default"
    budget = BUDGET_S[mode]
    with tempfile.TemporaryDirectory(prefix="verify-bench-report-") as tmp:
        out = Path(tmp) / "report"
        wall, peak_mb, code, tail, tree_mb = run_report_child(out, quick=ctx.quick)
        slowest = ""
        try:
            data = json.loads((out / "results.json").read_text())
            timing = data["provenance"]["timing"][:3]
            slowest = "; slowest: " + ", ".join(
                f"{t['lemma']}[{t['preset']}] {t['elapsed_s']:.1f} s" for t in timing)
            n = len(data["results"])
        except (OSError, ValueError, KeyError):
            n = 0
    memory = max(peak_mb, tree_mb or 0.0)
    met = wall <= budget and memory <= BUDGET_MB and code in (0, 1)
    tree = "" if tree_mb is None else f", {tree_mb:.0f} MB summed over the report and its workers"
    notes = (f"{mode} run, {n} results, exit code {code}, peak RSS {peak_mb:.0f} MB of the "
             f"largest process{tree} (budget {BUDGET_MB:.0f} MB){slowest}")
    if code not in (0, 1):
        notes += f"; report failed: {tail.strip().splitlines()[-1] if tail.strip() else '?'}"
    return BenchRow(f"{CASE} ({mode})", wall, f"budget {budget:.0f} s on 2 cores",
                    budget, budget / wall,
                    target=f"ratio >= 1 and peak memory <= {BUDGET_MB:.0f} MB",
                    met=met, notes=notes)
