"""``verify explore LEMMA``: property-based search (Hypothesis, with shrinking) for the
smallest configuration on which the lemma's check fails; prints it as TOML that
``verify check LEMMA --config FILE.toml`` accepts. See :mod:`verify.explore`."""

from __future__ import annotations

import math
import sys

from ..errors import VerifyError
from ..explore import MAX_EXAMPLES, explore, failing_criteria
from ._common import (add_json, add_max_time, add_seed, check_out_file, positive_int,
                      print_json, write_out_file)

DESCRIPTION = ("A counterexample is a configuration inside the lemma's hypotheses on which "
               "its check fails; a failure outside them is reported as such and is not "
               "one. Exit 0 when no counterexample is found (also when only failures "
               "outside the hypotheses were), 1 when one is, 2 on bad input. Progress "
               "goes to stderr.")


def configure(p) -> None:
    p.add_argument("lemma", metavar="LEMMA", help="a lemma id (see `verify list`)")
    p.add_argument("--max-examples", metavar="N", type=positive_int, default=100,
                   help=f"configurations generated before giving up (default 100, at most "
                        f"{MAX_EXAMPLES:,})")
    add_seed(p)
    p.add_argument("--space", choices=("generic", "lemma"), default="generic",
                   help="generic: architectures from conv_architectures (default); lemma: the "
                        "lemma's own strategy (where its check claims to pass)")
    p.add_argument("--min-expansion", metavar="E", type=float, default=None,
                   help="generic space only: every layer expands at least E-fold")
    p.add_argument("--save", metavar="FILE.toml",
                   help="also write the counterexample to this file (atomically)")
    p.add_argument("--no-edge", action="store_true",
                   help="keep Hypothesis' minimal failure; do not move it to the threshold")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_max_time(p)
    add_json(p)


def run(args) -> int:
    progress = None if args.quiet else (lambda msg: print(f"explore {msg}", file=sys.stderr,
                                                          flush=True))
    space = args.space
    save = check_out_file(args.save, "--save") if args.save else None
    if args.max_examples > MAX_EXAMPLES:
        raise VerifyError(f"--max-examples: expected an integer from 1 to {MAX_EXAMPLES:,} "
                          f"(each example runs a check), got {args.max_examples}")
    from .. import work
    from ..registry import get_check

    work.require(work.explore_wu(get_check(args.lemma), args.max_examples),
                 "--max-examples", hint=f"{args.max_examples:,} --quick runs of {args.lemma}")
    if args.min_expansion is not None:
        if args.space != "generic" or not (math.isfinite(args.min_expansion)
                                           and args.min_expansion > 0):
            raise VerifyError(f"--min-expansion: expected a finite number > 0 with --space "
                              f"generic, got {args.min_expansion!r}")
        from ..explore import search_space

        space = search_space(get_check(args.lemma), min_expansion=args.min_expansion)
    res = explore(args.lemma, max_examples=args.max_examples, seed=args.seed, space=space,
                  edge=not args.no_edge, progress=progress)
    if res.found and save is not None:
        write_out_file(save, res.toml(), "--save")
    if args.json:
        print_json(res.to_json())
    elif not res.found:
        print(f"explore {args.lemma}: no counterexample in {res.examples_tried} checks "
              f"(max examples {args.max_examples}, seed {args.seed})")
        if res.outside is not None:
            o = res.outside
            print(f"# outside the hypotheses (not a counterexample: the statement claims "
                  f"nothing there): {res.outside_reason}")
            print(f"# {o.spec.describe()}; verdict: {res.outside_check.summary()}")
            for line in failing_criteria(res.outside_check):
                print(f"#   fails: {line}")
            print("\n".join(f"# {ln}" if ln else "#" for ln in o.to_toml().splitlines()))
    else:
        c = res.counterexample
        print(f"# explore {args.lemma}: counterexample after {res.examples_tried} checks "
              f"(seed {args.seed})")
        print(f"# {c.spec.describe()}; expansions "
              + ", ".join(f"{e:.3g}" for e in c.spec.expansions()))
        print(f"# verdict: {res.check.summary()}")
        for line in failing_criteria(res.check):
            print(f"#   fails: {line}")
        print(f"# reproduce: save this as FILE.toml, then verify check {args.lemma} "
              f"--config FILE.toml --seed {args.seed} --quick --draws 1")
        print(res.toml(), end="")
    return 1 if res.found else 0
