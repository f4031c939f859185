"""``verify sweep FILE.toml --out DIR``: a grid of checks or recoveries, serially, on
local processes (``--workers N``) or on a Dask cluster (``--scheduler ADDRESS``; a
local cluster when ADDRESS is ``local``), all through :func:`verify.runner.run`. The
sweep-file schema, the streams of each task and the folder's format are in the
:mod:`verify.sweep` package docstring."""

from __future__ import annotations

from ..sweep import run_sweep
from ._common import add_cache, add_max_memory, add_max_time, add_threads, apply_threads, \
    cache_from_args, print_json, workers_arg

DESCRIPTION = ("Results are appended per task to DIR/results.jsonl (one atomic "
               "write per record); --resume checks the folder and skips finished tasks. "
               "One sweep at a time per folder (DIR/.lock). Exit 0 when every task of the "
               "folder ran and matched its expectation (counted over all its records, so "
               "a --resume exits as the first run did), 1 otherwise, 2 on bad input (the "
               "sweep file, --out, a damaged folder, a folder in use, a grid over "
               "--max-memory).")


def configure(p) -> None:
    p.add_argument("file", metavar="FILE.toml", help="the sweep file ([sweep] table)")
    p.add_argument("--out", metavar="DIR", required=True, help="output directory")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", metavar="N", type=workers_arg,
                       help="run on N local processes (default: serially)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler address, or 'local' for a local cluster")
    p.add_argument("--resume", action="store_true",
                   help="check DIR (exit 2 if damaged, written by another sweep, or in an "
                        "older format with other random streams) and run only the tasks "
                        "without a record")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress display on stderr (otherwise a bar on a terminal, one "
                        "line per finished task elsewhere)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_max_memory(p)
    add_max_time(p)
    add_threads(p)
    add_cache(p)


def run(args) -> int:
    apply_threads(args)  # inherited by the sweep's worker processes
    summary = run_sweep(args.file, args.out, workers=args.workers, scheduler=args.scheduler,
                        resume=args.resume, progress=not args.no_progress,
                        cache=cache_from_args(args))
    if args.json:
        print_json(summary.to_json())
    else:
        print(summary.line())
    return summary.exit_code
