"""``verify check LEMMA``: run one lemma's check and print its verdict."""

from __future__ import annotations

import sys

from ..presets import Config, get_preset
from ..registry import get_check, require_memory, run_check
from ._common import add_draws, add_json, add_max_memory, add_seed, print_json



def configure(p) -> None:
    p.add_argument("lemma", metavar="LEMMA", help="a lemma id (see `verify list`)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="P", help="a preset name (default: the lemma's first)")
    src.add_argument("--config", metavar="FILE.toml", help="a configuration file")
    add_seed(p, streams=True)
    add_draws(p)
    p.add_argument("--quick", action="store_true", help="smaller sample counts, same verdict rule")
    add_max_memory(p)
    add_json(p)


def run(args) -> int:
    # A configuration file is read and sized before the lemmas are imported, so that a
    # network too large for this machine is refused at once, before any work.
    config = Config.load(args.config) if args.config else None
    if config is not None:
        require_memory(config)
    check = get_check(args.lemma)
    if config is None:
        config = get_preset(args.preset or next(iter(check.presets)))
        require_memory(config)
    progress = None
    if not args.json and sys.stderr.isatty() and check.draw_rule is not None:
        def progress(done: int, total: int) -> None:
            print(f"\r{args.lemma}: network draw {done}/{total}", end="" if done < total
                  else "\n", file=sys.stderr, flush=True)
    result = run_check(args.lemma, config, seed=args.seed, quick=args.quick,
                       draws=args.draws, progress=progress)
    if args.json:
        print_json(result.to_json())
    else:
        print(result.summary())
        d = result.draw_summary
        if "failure_rate" in d:
            print(f"  tolerance {d['tolerance']:g}: {d['tolerance_reason']}")
            r0 = result.details.get("draw0", {})
            print(f"  draw 0 (seed {r0.get('seed')}, the network of the tables and "
                  f"figures): {r0.get('verdict')}; per-draw verdicts in the 'draws' table; "
                  f"replay a draw with --seed <its seed> --draws 1")
        elif d.get("draw_note"):
            print(f"  {d['draw_note']}")
        for c in result.criteria[1:]:
            mark = {"holds": "ok  ", "fails": "FAIL"}.get(c.verdict, "⚪ ")
            print(f"  [{mark}] {c.name}: {c.statistic:.4g} {c.sense} {c.bound:.4g}"
                  + (f"  ({c.note})" if c.note else ""))
            if c.verdict == "uninformative":
                print(f"         uninformative: {c.why_uninformative}")
        h = result.criteria[0] if result.criteria and result.error is None else None
        if h is not None and h.verdict == "uninformative":
            print(f"  headline uninformative: {h.why_uninformative}")
        f = result.finding
        status = result.status
        if f is not None and status in ("known finding", "finding no longer reproduces"):
            head = ("registered known finding" if status == "known finding" else
                    "REGISTERED FINDING NO LONGER REPRODUCES (required on "
                    f"{f.scope()})")
            print(f"  {head}: {f.differs}")
            print(f"    why: {f.why}")
            print(f"    evidence: {f.evidence}")
            print(f"    replay: {f.replay}")
        elif f is not None and status == "new mismatch":
            print(f"  a finding is registered for {f.preset!r} ({f.differs}), but this "
                  f"result differs in another way: criteria other than "
                  f"{', '.join(f.criteria) or 'its own'} fail")
    return 0 if result.accepted else 1
