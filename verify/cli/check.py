"""``verify check LEMMA``: run one lemma's check and print its verdict."""

from __future__ import annotations

import argparse
import sys

from ..errors import VerifyError
from ..presets import Config, get_preset
from ..registry import get_check, require_memory, run_check, validate_settings
from ._common import add_draws, add_json, add_max_memory, add_max_time, add_seed, \
    add_threads, apply_threads, print_json

DESCRIPTION = ("A --config file may set the check's own parameters in a [checks.LEMMA] "
               "table; `verify check LEMMA --help` lists them for LEMMA, `verify list` for "
               "every check.")


class _Lemma(argparse.Action):
    """Stores LEMMA and remembers it for ``--help`` (which then lists its settings)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        parser._lemma_for_help = values


def _settings_help(lemma: str) -> str:
    """The lines ``verify check LEMMA --help`` adds: LEMMA's settings, or why none."""
    from ..settings import describe

    try:
        check = get_check(lemma)
    except VerifyError as exc:
        return f"\n{exc}\n"
    lines = describe(lemma, check.settings) or [
        f"settings: check {lemma!r} declares none ([checks.{lemma}] must stay absent)"]
    return "\n" + "\n".join(lines) + "\n"


def configure(p) -> None:
    p.add_argument("lemma", metavar="LEMMA", action=_Lemma,
                   help="a lemma id (see `verify list`)")
    plain = p.format_help

    def format_help() -> str:  # with LEMMA before --help: its settings too
        lemma = getattr(p, "_lemma_for_help", None)
        return plain() + (_settings_help(lemma) if lemma else "")
    p.format_help = format_help
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="P", help="a preset name (default: the lemma's first)")
    src.add_argument("--config", metavar="FILE.toml",
                     help="a configuration file (network, weights, mask, and optional "
                          "[checks.LEMMA] tables of per-check settings)")
    add_seed(p, streams=True)
    add_draws(p)
    p.add_argument("--quick", action="store_true", help="smaller sample counts, same verdict rule")
    add_max_memory(p)
    add_max_time(p)
    add_json(p)
    add_threads(p)


def run(args) -> int:
    apply_threads(args)  # a bad --threads or VERIFY_BLAS_THREADS: exit 2 before any work
    # A configuration file is read and sized before the lemmas are imported, so that a
    # network too large for this machine is refused at once, before any work.
    config = Config.load(args.config) if args.config else None
    if config is not None:
        require_memory(config)
    check = get_check(args.lemma)
    if config is None:
        config = get_preset(args.preset or next(iter(check.presets)))
        require_memory(config)
    else:  # every [checks.*] table of the file, before anything runs
        try:
            validate_settings(config)
        except VerifyError as exc:
            raise VerifyError(f"config file {args.config!r}: {exc}") from None
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
