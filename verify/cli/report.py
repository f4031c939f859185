"""``verify report``: the main job, every lemma on its default presets, as a report."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
import time

from ._common import add_cache, add_draws, add_max_memory, add_max_time, add_scheduler, \
    add_seed, add_threads, add_user_network, apply_threads, cache_flags, cache_from_args, \
    scheduler_from_args, user_network, user_network_argv, workers_arg

DESCRIPTION = (
    "Runs every registered lemma check on each of its default presets and writes, "
    "atomically, index.html (self-contained), REPORT.md with figures/, results.json "
    "(every result + provenance) and results.csv into DIR. Exit code 0 when every "
    "verdict matches its expectation (counter-example presets are expected to fail) or "
    "differs only as a registered known finding, 1 on a new mismatch or a registered "
    "finding that no longer reproduces, 2 for bad input (also when DIR cannot be written "
    "after the checks ran: the report then goes to a temporary folder named on stderr).")


def configure(p) -> None:
    from ..report import DEFAULT_OUT

    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                   help=f"the report folder, replaced atomically (default {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true",
                   help="smaller sample counts and the fewest draws that can still give holds, "
                        "for a fast look; same verdict rules")
    add_seed(p)
    add_draws(p)
    p.add_argument("--jobs", type=workers_arg, default=None, metavar="N",
                   help="checks run at once, each in its own process (default: 2 on a "
                        "machine with 2+ CPUs, else 1); results do not depend on it")
    p.add_argument("--sweep", action="append", default=[], metavar="SWEEP_DIR",
                   help="include a finished `verify sweep` folder as a phase diagram "
                        "(verdict over expansion x sampling rate); repeatable")
    add_user_network(p)
    add_max_memory(p)
    add_max_time(p)
    add_threads(p)
    add_cache(p)
    add_scheduler(p, "the checks (one task per check and preset; --jobs N: the local "
                     "cluster's workers)")


def _cache_note(record) -> str:
    """What the cache gave, for the summary line."""
    if not record or record.get("folder") is None:
        return ""
    return (f"; {record['checks_cached']} of {record['checks']} check results and "
            f"{record['figures_cached']} of {record['figure_sets']} figure sets from the "
            f"cache {record['folder']}")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args) -> int:
    from ..report import build_report, status, validate_out

    validate_out(args.out)  # bad output path: exit 2 before any work
    apply_threads(args)  # inherited by the report's worker processes
    # a user's network (--config / --weights / --torch): every check on it alone, in the
    # report's shape with one preset column; read and checked before any work
    user = user_network(args, preset_flag=False)
    cache = cache_from_args(args)  # an unwritable --cache: exit 2 before any work
    scheduler = scheduler_from_args(args, "--jobs")
    command = "verify report " + shlex.join(
        ["--out", args.out, "--seed", str(args.seed)] + (["--quick"] if args.quick else [])
        + ([] if args.draws is None else ["--draws", str(args.draws)])
        + ([] if args.jobs is None else ["--jobs", str(args.jobs)])
        + ([] if args.threads is None else ["--threads", str(args.threads)])
        + [a for d in args.sweep for a in ("--sweep", d)] + user_network_argv(args)
        + cache_flags(args) + ([] if scheduler is None else ["--scheduler", scheduler]))
    t0 = time.perf_counter()
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM cleans up like Ctrl-C: the temporary folder is removed and the previous
        # report stays in place (the CLI exits 130).
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        extra = {} if user is None else {"configs": [user.config], "network": user.record,
                                         "power": False}
        report = build_report(args.out, quick=args.quick, seed=args.seed, command=command,
                              jobs=args.jobs, sweeps=args.sweep, draws=args.draws,
                              cache=cache, scheduler=scheduler, **extra)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    wall = time.perf_counter() - t0
    for r in report.results:
        label, _ = status(r)
        if r.statements and r.error is None:
            for v in r.statements:
                print(f"{'statement':<20} {v.summary()}")
        else:
            print(f"{label:<20} {r.summary()}")
    if not report.results:
        print("verify report: no lemma checks are registered", file=sys.stderr)
    for e in report.power:
        mark = "rejected" if e.rejected else "NOT REJECTED"
        print(f"{'known-bad ' + mark:<20} {e.result.lemma} [{e.known_bad.name}: "
              f"{e.result.preset}] verdict {e.result.verdict}")
    verdicts = [v for r in report.results for v in r.statements]
    plain = [r for r in report.results if not r.statements or r.error is not None]
    print(f"{len(verdicts)} statement verdicts: "
          f"{sum(v.status == 'match' for v in verdicts)} match their expectation, "
          f"{sum(v.status == 'known finding' for v in verdicts)} differ as registered "
          f"findings, {sum(not v.accepted for v in verdicts)} do not"
          + (f"; {len(plain)} check results judged on their own: "
             f"{sum(not r.accepted for r in plain)} not accepted" if plain else "")
          + f"; {sum(e.rejected for e in report.power)} of {len(report.power)} known-bad "
          f"configurations rejected; report written to {report.out} (index.html, REPORT.md, "
          f"NARRATIVE.md, results.json, statements.csv) in {wall:.1f} s"
          + _cache_note(report.provenance.get("cache")))
    if user is not None and user.fixed:
        print(f"{user.config.name}: {user.record['judged']}")
    if report.fallback_reason is not None:
        print(f"verify report: error: {report.fallback_reason}; the report was written to "
              f"{report.out} instead", file=sys.stderr)
        return 2
    return report.exit_code
