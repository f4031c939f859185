"""``verify check LEMMA``: run one lemma's check and print its verdict."""

from __future__ import annotations

from ..presets import Config
from ..registry import get_check, run_check
from ._common import add_json, add_seed, print_json

NAME = "check"
HELP = "run one lemma's check and print its verdict, statistic, bound and margin"


def configure(p) -> None:
    p.add_argument("lemma", metavar="LEMMA", help="a lemma id (see `verify list`)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="P", help="a preset name (default: the lemma's first)")
    src.add_argument("--config", metavar="FILE.toml", help="a configuration file")
    add_seed(p)
    p.add_argument("--quick", action="store_true", help="smaller sample counts, same verdict rule")
    add_json(p)


def run(args) -> int:
    check = get_check(args.lemma)
    config = Config.load(args.config) if args.config else (args.preset or next(iter(check.presets)))
    result = run_check(args.lemma, config, seed=args.seed, quick=args.quick)
    if args.json:
        print_json(result.to_json())
    else:
        print(result.summary())
        for c in result.criteria[1:]:
            mark = "ok  " if c.holds else "FAIL"
            print(f"  [{mark}] {c.name}: {c.statistic:.4g} {c.sense} {c.bound:.4g}"
                  + (f"  ({c.note})" if c.note else ""))
    return 0 if result.matches_expectation else 1
