"""Shared argument helpers of the command modules."""

from __future__ import annotations

import argparse
import json
import sys

from .. import budget
from ..errors import VerifyError
from ..results import jsonable


def int_at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, with the allowed range in its error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


seed_type = int_at_least(0)
positive_int = int_at_least(1)


def add_seed(parser: argparse.ArgumentParser, default: int = 0) -> None:
    parser.add_argument("--seed", type=seed_type, default=default,
                        help=f"random seed, stored in every result (default {default})")


def _size(text: str) -> int:
    try:
        return budget.parse_size(text)
    except VerifyError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def add_max_memory(parser: argparse.ArgumentParser) -> None:
    """``--max-memory SIZE``: the memory budget every estimate is checked against
    (:mod:`verify.budget`); applied by :func:`verify.cli.main` before the command runs."""
    parser.add_argument("--max-memory", metavar="SIZE", type=_size, default=None,
                        help="refuse work whose estimated memory exceeds SIZE (4G, 512M, "
                             "bytes; default half of this machine's RAM)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def print_json(obj) -> None:
    json.dump(jsonable(obj), sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")
