"""``verify bench``: the performance benchmark, each case against its baseline."""

from __future__ import annotations

import sys

from ..bench import run_bench
from ._common import add_json, add_threads, apply_threads, print_json



def configure(p) -> None:
    p.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    p.add_argument("--case", action="append", metavar="NAME", help="run only this case (repeatable)")
    add_threads(p)
    add_json(p)


def run(args) -> int:
    from ..threads import describe_policy

    apply_threads(args)
    policy = describe_policy()
    started = []

    def progress(name: str) -> None:
        if not started:  # after run_bench validated --case: bad input stays one line
            started.append(True)
            print(f"bench: {policy}", file=sys.stderr)
        print(f"bench: {name} ...", file=sys.stderr)

    rows = run_bench(quick=args.quick, only=args.case, progress=progress)
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
