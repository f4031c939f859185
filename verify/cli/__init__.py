"""The ``verify`` command line (CLI.md is the contract).

Each command is a module of this package defining ``NAME``, ``HELP``,
``configure(parser)`` and ``run(args) -> int``; modules are discovered, so a command
joins by adding its module. Bad input (:class:`verify.VerifyError`) prints one line on
stderr and exits 2; a check that ran and did not match its expectation exits 1.
"""

from __future__ import annotations

import argparse
import os
import importlib
import pkgutil
import sys

from .. import __version__, budget
from ..errors import VerifyError
from ._common import one_line_errors

#: The order commands are listed in ``verify --help`` (CLI.md's order).
ORDER = ["list", "check", "invert", "report", "audit", "explore", "sweep", "bench", "train_digits"]


def _modules():
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [importlib.import_module(f"{__name__}.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify",
        description="Numerical, reproducible checks of the invertibility proof for "
                    "convolutional generative networks (Ma, Ayaz, Karaman, NeurIPS 2018).")
    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    one_line_errors(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        one_line_errors(p)
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        print("verify: error: a command is required (`verify --help` lists them)",
              file=sys.stderr)
        return 2
    try:
        with budget.scoped(getattr(args, "max_memory", None)):
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
