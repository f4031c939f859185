"""``verify bench``: the performance benchmark, each case against its baseline."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..bench import BenchRow, run_bench
from ._common import add_json, add_threads, apply_threads, print_json



def configure(p) -> None:
    p.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    p.add_argument("--case", action="append", metavar="NAME", help="run only this case (repeatable)")
    p.add_argument("--out", metavar="DIR",
                   help="also write the run to DIR: bench.json (every row, the machine, the "
                        "library versions, the commit, the thread policy, the date) and "
                        "BENCH.md (the same as a table); timings live in such files, "
                        "never in the README")
    add_threads(p)
    add_json(p)


def run(args) -> int:
    from ..threads import describe_policy

    apply_threads(args)
    policy = describe_policy()
    if args.out is not None:  # a folder that cannot be written: refused before any case
        from ..fsio import check_writable_dir

        check_writable_dir(args.out)
    started = []

    def progress(name: str) -> None:
        if not started:  # after run_bench validated --case: bad input stays one line
            started.append(True)
            print(f"bench: {policy}", file=sys.stderr)
        print(f"bench: {name} ...", file=sys.stderr)

    started = time.time()
    rows = run_bench(quick=args.quick, only=args.case, progress=progress)
    if args.out is not None:
        written = write_bench(args.out, rows, quick=args.quick, policy=policy, started=started)
        print(f"bench: written to {written}", file=sys.stderr)
    if args.json:
        print_json([r.to_json() for r in rows])
        return 0
    print(policy)
    for r in rows:
        extra = ""
        if r.gflops is not None:
            extra = (f"  {r.gflops:.1f} GFLOP/s = {100 * r.fraction_of_gemm:.0f}% of GEMM "
                     f"({r.gemm_gflops:.1f})")
        met = "" if r.met is None else ("  [target met]" if r.met else f"  [target missed: {r.target}]")
        print(f"{r.case}\n  ours {r.ours_s:.4g} s, baseline {r.baseline_s:.4g} s "
              f"({r.baseline}), ratio {r.ratio:.2f}{extra}{met}")
        if r.memory_ratio is not None:
            mmet = "" if r.memory_met is None else (
                "  [memory target met]" if r.memory_met
                else f"  [memory target missed: {r.memory_target}]")
            print(f"  peak memory per trial: ours {r.ours_bytes_per_trial / 1e6:.3g} MB, "
                  f"baseline {r.baseline_bytes_per_trial / 1e6:.3g} MB, ours/baseline "
                  f"{r.memory_ratio:.2f}{mmet}")
        if r.notes:
            print(f"  {r.notes}")
    return 0


def bench_record(rows: "list[BenchRow]", *, quick: bool, policy: str, started: float) -> dict:
    """``bench.json``: the rows and where they were measured."""
    import os
    import platform
    from datetime import datetime, timezone

    from .. import __version__
    from ..report.provenance import _git, _library_versions

    return {"toolkit": "verify", "version": __version__, "git_commit": _git("rev-parse", "HEAD"),
            "command": "verify " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"]
            else "verify bench", "quick": bool(quick), "blas_threads": policy,
            "started_utc": datetime.fromtimestamp(started, timezone.utc)
            .isoformat(timespec="seconds"),
            "machine": {"platform": platform.platform(), "machine": platform.machine(),
                        "cpu_count": os.cpu_count()},
            "libraries": _library_versions(), "rows": [r.to_json() for r in rows]}


def bench_markdown(record: dict) -> str:
    """``BENCH.md``: one row per case, ours against its baseline."""
    lines = [f"# verify bench ({'--quick, ' if record['quick'] else ''}"
             f"{record['started_utc']})", "",
             f"Commit {record['git_commit'] or 'unknown'}, {record['machine']['platform']}, "
             f"{record['machine']['cpu_count']} CPUs; {record['blas_threads']}", "",
             "| case | ours (s) | baseline | baseline (s) | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in record["rows"]:
        met = {True: "yes", False: "no"}.get(r.get("met"), "–")
        lines.append(f"| {r['case']} | {r['ours_s']:.4g} | {r['baseline']} | "
                     f"{r['baseline_s']:.4g} | {r['ratio']:.2f} | {r.get('target') or '–'} "
                     f"| {met} |")
    return "\n".join(lines) + "\n"


def write_bench(out, rows, *, quick: bool, policy: str, started: float) -> Path:
    """Write ``bench.json`` and ``BENCH.md`` into ``out`` (each file atomically)."""
    import json

    from ..fsio import write_text
    from ..results import jsonable

    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    record = jsonable(bench_record(rows, quick=quick, policy=policy, started=started))
    write_text(path / "bench.json", json.dumps(record, indent=2) + "\n")
    write_text(path / "BENCH.md", bench_markdown(record))
    return path
