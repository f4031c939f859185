"""``verify report``: the main job, every lemma on its default presets, as a report."""

from __future__ import annotations

import shlex
import sys
import time

from ._common import add_seed

NAME = "report"
HELP = ("the main job: every lemma on its default presets, written as a report "
        "(HTML, Markdown, JSON, figures)")
DESCRIPTION = (
    "Runs every registered lemma check on each of its default presets and writes, "
    "atomically, index.html (self-contained), REPORT.md with figures/, results.json "
    "(every result + provenance) and results.csv into DIR. Exit code 0 when every "
    "verdict matches its expectation (counter-example presets are expected to fail), "
    "1 otherwise, 2 for bad input.")


def configure(p) -> None:
    from ..report import DEFAULT_OUT

    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                   help=f"the report folder, replaced atomically (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help="smaller sample counts for a fast look, same verdict rules")
    add_seed(p)


def run(args) -> int:
    from ..report import build_report, status, validate_out

    validate_out(args.out)  # bad output path: exit 2 before any work
    command = "verify report " + shlex.join(
        ["--out", args.out, "--seed", str(args.seed)] + (["--quick"] if args.quick else []))
    t0 = time.perf_counter()
    report = build_report(args.out, quick=args.quick, seed=args.seed, command=command)
    wall = time.perf_counter() - t0
    for r in report.results:
        label, _ = status(r)
        print(f"{label:<20} {r.summary()}")
    bad = [r for r in report.results if not r.matches_expectation]
    if not report.results:
        print("verify report: no lemma checks are registered", file=sys.stderr)
    print(f"{len(report.results) - len(bad)}/{len(report.results)} results match their "
          f"expectation; report written to {report.out} (index.html, REPORT.md, "
          f"results.json, results.csv) in {wall:.1f} s")
    return report.exit_code
