"""The ``verify`` command line (``README.md`` beside this module is the contract, shipped
with the package; ``verify --help`` ends with its path).

Each command is a module of this package defining ``NAME``, ``HELP``,
``configure(parser)`` and ``run(args) -> int``; modules are discovered, so a command
joins by adding its module. Bad input (:class:`verify.VerifyError`) prints one line on
stderr and exits 2; a check that ran and did not match its expectation exits 1.
"""

from __future__ import annotations

import argparse
import os
import importlib
import sys

from .. import __version__, budget, work
from ..errors import VerifyError
from ._common import one_line_errors

#: The command-line contract, installed with the package (``verify --help`` names it).
CONTRACT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")

#: The commands, in README.md's order: name -> (module of this package, one-line help).
#: A module defines ``configure(parser)`` and ``run(args) -> int`` (and, optionally,
#: ``DESCRIPTION``: more text for its ``--help``). Only the invoked command's module is
#: imported, so a bad input is refused without loading what other commands need.
COMMANDS = {
    "list": ("list", "the lemma ids and the presets, one line each"),
    "check": ("check", "run one lemma's check and print its verdict, statistic, bound and margin"),
    "invert": ("invert", "recover latent codes from partial measurements and print recovery "
                         "statistics"),
    "report": ("report", "the main job: every lemma on its default presets, written as a "
                         "report (HTML, Markdown, JSON, figures)"),
    "audit": ("audit", "checks a trained network's weights against the theorems' assumptions"),
    "explore": ("explore", "property-based search over architectures for the smallest one "
                           "where the lemma's check fails"),
    "sweep": ("sweep", "run a grid of checks or recoveries, serially, on local processes, or "
                       "on a Dask cluster"),
    "bench": ("bench", "the performance benchmark, each case against its baseline in the same "
                       "run"),
    "train-digits": ("train_digits", "retrains the shipped digits generator from scratch"),
    "examples": ("examples", "copies the example configurations, sweep file and exporter "
                             "into a folder"),
}


def _invoked(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not an option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``command``'s module is imported and configured (None: every command's,
    e.g. for documentation tools)."""
    parser = argparse.ArgumentParser(
        prog="verify",
        description="Numerical, reproducible checks of the invertibility proof for "
                    "convolutional generative networks (Ma, Ayaz, Karaman, NeurIPS 2018).",
        epilog=f"The command-line contract (commands, exit codes, verdict words, JSON "
               f"keys): {CONTRACT}")
    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    one_line_errors(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_, add_help=False)
            continue
        mod = importlib.import_module(f"{__name__}.{module}")
        more = getattr(mod, "DESCRIPTION", "")
        p = sub.add_parser(name, help=help_, description=f"{help_}. {more}".strip())
        one_line_errors(p)
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    # (not list(argv): the package attribute `list` is the `verify list` command module)
    argv = sys.argv[1:] if argv is None else [a for a in argv]
    command = _invoked(argv)
    parser = build_parser(command or "")  # "": no command module is needed
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        print("verify: error: a command is required (`verify --help` lists them)",
              file=sys.stderr)
        return 2
    try:
        with budget.scoped(getattr(args, "max_memory", None)), \
                work.scoped(getattr(args, "max_time", None)):
            return int(args._run(args))
    except VerifyError as exc:
        print(f"verify {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`verify ... | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"verify {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
