"""The main job's budget: ``verify report`` wall time and peak memory (issue 7).

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

#: Wall-time budgets (s) of issue 7, on 2 cores.
BUDGET_S = {"quick": 20.0, "default": 120.0}
#: Peak resident memory budget (MB) of issue 7.
BUDGET_MB = 2048.0
CASE = "verify report end to end vs its budget"


def run_report_child(out: Path, *, quick: bool, seed: int = 0,
                     timeout: float = 1800.0) -> tuple[float, float, int, str]:
    """Run ``python -m verify report`` in a child; return (wall s, peak MB, exit code,
    stderr tail). Peak memory is the child's own ``ru_maxrss`` (kB on Linux)."""
    cmd = [sys.executable, "-m", "verify", "report", "--out", str(out), "--seed", str(seed)]
    if quick:
        cmd.append("--quick")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
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
    return wall, usage.ru_maxrss / scale / 1024.0, proc.returncode, tail


@bench_case(CASE, order=90)
def report_budget(ctx: BenchContext) -> BenchRow:
    """``verify report`` (``--quick`` when the bench is quick) against its budget."""
    mode = "quick" if ctx.quick else "default"
    budget = BUDGET_S[mode]
    with tempfile.TemporaryDirectory(prefix="verify-bench-report-") as tmp:
        out = Path(tmp) / "report"
        wall, peak_mb, code, tail = run_report_child(out, quick=ctx.quick)
        slowest = ""
        try:
            data = json.loads((out / "results.json").read_text())
            timing = data["provenance"]["timing"][:3]
            slowest = "; slowest: " + ", ".join(
                f"{t['lemma']}[{t['preset']}] {t['elapsed_s']:.1f} s" for t in timing)
            n = len(data["results"])
        except (OSError, ValueError, KeyError):
            n = 0
    met = wall <= budget and peak_mb <= BUDGET_MB and code in (0, 1)
    notes = (f"{mode} run, {n} results, exit code {code}, peak RSS {peak_mb:.0f} MB of the "
             f"largest process (report or one of its workers; budget {BUDGET_MB:.0f} MB)"
             f"{slowest}")
    if code not in (0, 1):
        notes += f"; report failed: {tail.strip().splitlines()[-1] if tail.strip() else '?'}"
    return BenchRow(f"{CASE} ({mode})", wall, f"budget {budget:.0f} s on 2 cores (issue 7)",
                    budget, budget / wall, target=f"ratio >= 1 and peak RSS <= {BUDGET_MB:.0f} MB",
                    met=met, notes=notes)
