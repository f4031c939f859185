"""``verify check LEMMA``: run one lemma's check and print its verdict."""

from __future__ import annotations

import argparse
import sys

from ..errors import VerifyError
from ..presets import get_preset
from ..registry import discover, get_check, get_statement, require_memory, run_check, \
    statements, validate_settings
from ._common import add_cache, add_draws, add_json, add_max_memory, add_max_time, \
    add_scheduler, add_seed, add_threads, add_user_network, apply_threads, cache_from_args, \
    print_json, scheduler_from_args, user_network

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
    p.add_argument("lemma", metavar="LEMMA|STATEMENT", action=_Lemma,
                   help="a lemma id (runs the check and judges every statement it covers) "
                        "or a statement id (judges that statement alone); `verify list` "
                        "lists both")
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
    add_user_network(p, config=False)
    add_seed(p, streams=True)
    add_draws(p)
    p.add_argument("--quick", action="store_true", help="smaller sample counts and the fewest draws that can still "
                   "give holds; same verdict rule")
    add_max_memory(p)
    add_max_time(p)
    add_json(p)
    add_threads(p)
    add_cache(p)
    add_scheduler(p, "the check (as one task on a worker; its draws are not split)")


def _run_check(args, lemma: str, config, *, from_file: bool, progress=None):
    """The check's result through :func:`verify.report.checks.run_one`: from the result
    cache when stored (a note on stderr says so), else run here or on ``--scheduler``."""
    from ..report.checks import CheckTask, run_one

    cache = cache_from_args(args)
    task = CheckTask(lemma, config.name, args.seed, bool(args.quick), args.draws,
                     config if from_file else None)
    run = run_one(task, cache=cache, scheduler=scheduler_from_args(args, None),
                  progress=progress)
    if run.cached:
        print(f"verify check: {lemma} [{config.name}]: result from the cache "
              f"{cache.folder} (--no-cache recomputes it)", file=sys.stderr)
    return run.result


def _statement_target(name: str):
    """``(statement, lemma)`` when ``name`` is a statement id and not a lemma id."""
    if name in discover():
        return None, name
    sts = statements()
    if name not in sts:
        raise VerifyError(f"lemma: expected a lemma id ({', '.join(discover())}) or "
                          f"a statement id ({', '.join(sts)}), got {name!r}")
    st = get_statement(name)
    return st, (st.checks[0] if st.checks else None)


def _print_statement(v, indent: str = "  ") -> None:
    """A statement verdict's lines: the verdict, its failing criteria, beyond-the-paper
    verdicts, and the finding that covers it."""
    print(indent + v.summary())
    if v.verdict == "uninformative" and v.why:
        print(f"{indent}  uninformative: {v.why}")
    for c in v.failing():
        print(f"{indent}  [{'FAIL' if c.verdict == 'fails' else '⚪  '}] {c.name}: "
              f"{c.statistic:.4g} {c.sense} {c.bound:.4g}"
              + (f"  ({c.why_uninformative})" if c.verdict == "uninformative" else ""))
    for b in v.beyond:
        d = b.draws
        rate = (f": {d['draws_failed']}/{d['draws_tested']} draws fail"
                if d.get("draws_tested") else "")
        print(f"{indent}  beyond the paper ({b.asks}): {b.verdict}{rate}")
    f = v.finding
    if f is not None and v.status != "match":
        js = v.to_json()
        print(f"{indent}  {v.status}: {js['known_finding']['differs']}")
        if f.sentence:
            print(f"{indent}    sentence: \"{f.sentence}\"")
        if f.measured_on:
            print(f"{indent}    measured on: {f.measured_on}")
        print(f"{indent}    why: {js['known_finding']['why']}")
        for e in v.evidence:
            print(f"{indent}    evidence {e['label']}: now {e['now']}, recorded {e['recorded']} "
                  f"± {e['tolerance']:g} ({'ok' if e['within'] else 'DRIFTED'})")
        print(f"{indent}    replay: {f.replay}")


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "no reason recorded"


def _headline_why(result) -> str:
    """Why the headline tested nothing, in one line: its own reason and, for a verdict
    over network draws, the reasons of draw 0's uninformative criteria (what each draw
    ran into, e.g. a bound above the statistic's trivial ceiling)."""
    why = _one_line(result.criteria[0].why_uninformative)
    draw0 = [c for c in result.details.get("draw0", {}).get("criteria", [])
             if c.get("verdict") == "uninformative" and c.get("why_uninformative")]
    if draw0:
        why += "; draw 0: " + "; ".join(f"{c['name']}: {_one_line(c['why_uninformative'])}"
                                        for c in draw0)
    return why


def run(args) -> int:
    apply_threads(args)  # a bad --threads or VERIFY_BLAS_THREADS: exit 2 before any work
    statement, lemma = _statement_target(args.lemma)
    if statement is not None:
        return _run_statement(args, statement, lemma)
    return _run_lemma(args)


def _run_statement(args, statement, lemma) -> int:
    """``verify check STATEMENT``: run the check whose draws judge it, on the statement's
    first judged preset (or the one given), and print that statement's verdict alone."""
    if lemma is None:
        if args.json:
            print_json({"statement": statement.id, "label": statement.label,
                        "quote": statement.quote, "verdict": "not judged",
                        "why": statement.not_judged})
        else:
            print(f"{statement.id}: not judged: {statement.not_judged}")
        return 0
    user = user_network(args)
    config = None if user is None else user.config
    if config is not None:
        require_memory(config)
        try:
            validate_settings(config)
        except VerifyError as exc:
            raise VerifyError(f"config file {args.config!r}: {exc}") from None
        judge = next((j for j in statement.judges), None)
    else:
        preset = args.preset
        judge = None
        for j in statement.judges:
            ps = j.presets or tuple(get_check(j.check).presets)
            if preset is None or preset in ps:
                judge, preset = j, preset or ps[0]
                break
        if judge is None:
            allowed = sorted({p for j in statement.judges
                              for p in (j.presets or get_check(j.check).presets)})
            raise VerifyError(f"--preset: statement {statement.id!r} is judged on "
                              f"{', '.join(allowed)}, got {preset!r}")
        config = get_preset(preset)
        require_memory(config)
    lemma = judge.check
    result = _run(lemma, config, args, user)
    mine = [v for v in result.statements if v.statement == statement.id]
    if args.json:
        print_json({"statement": statement.id, "label": statement.label,
                    "quote": statement.quote,
                    "verdicts": [v.to_json() for v in mine], "check": result.to_json(),
                    **({} if user is None else {"network": user.record})})
    else:
        print(f"{statement.label} ({statement.section}): \"{statement.quote}\"")
        if result.error is not None:
            print(f"  {lemma} [{config.name}] ERROR {result.error}")
        if user is not None and user.fixed:
            print(f"  {user.config.name}: {user.record['judged']}")
        for v in mine:
            _print_statement(v)
    if result.error is not None:
        return 1
    return 0 if all(v.accepted for v in mine) else 1


def _run(lemma: str, config, args, user, progress=None):
    """``run_check``; on a user's fixed network one draw, its statements judged as one
    network's (:func:`verify.report.user.judge_fixed`); a check that reruns others on
    other laws is not run there (its statements say why)."""
    if user is None or not user.fixed:  # a preset or a family: through the result cache
        return _run_check(args, lemma, config, from_file=user is not None, progress=progress)
    from ..report.user import judge_fixed, not_run, not_run_result

    check = get_check(lemma)
    why = not_run(check, config, seed=args.seed, quick=args.quick, fixed=True)
    if why and not why.startswith("does not apply"):
        return not_run_result(check, config, why, seed=args.seed, quick=args.quick)
    return judge_fixed(run_check(lemma, config, seed=args.seed, quick=args.quick, draws=1,
                                 progress=progress), check)


def _run_lemma(args) -> int:
    # A configuration file is read and sized before the lemmas are imported, so that a
    # network too large for this machine is refused at once, before any work.
    user = user_network(args)
    config = None if user is None else user.config
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
    result = _run(args.lemma, config, args, user, progress)
    if args.json:
        print_json({**result.to_json(), **({} if user is None else {"network": user.record})})
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
        if result.degraded:
            print(f"  DEGRADED: {result.degraded}")
        for c in result.criteria[1:]:
            mark = {"holds": "ok  ", "fails": "FAIL"}.get(c.verdict, "⚪ ")
            print(f"  [{mark}] {c.name}: {c.statistic:.4g} {c.sense} {c.bound:.4g}"
                  + (f"  ({c.note})" if c.note else ""))
            if c.verdict == "uninformative":
                print(f"         uninformative: {_one_line(c.why_uninformative)}")
        h = result.criteria[0] if result.criteria and result.error is None else None
        if h is not None and h.verdict == "uninformative":
            print(f"  headline uninformative: {_headline_why(result)}")
        f = result.finding
        status = result.status
        if f is not None and not result.statements and status in ("known finding", "finding no longer reproduces"):
            head = ("registered known finding" if status == "known finding" else
                    "REGISTERED FINDING NO LONGER REPRODUCES (required on "
                    f"{f.scope()})")
            print(f"  {head}: {f.differs}")
            print(f"    why: {f.why}")
            print(f"    evidence: {f.evidence}")
            print(f"    replay: {f.replay}")
        elif f is not None and status == "new mismatch" and not result.statements:
            print(f"  a finding is registered for {f.preset!r} ({f.differs}), but this "
                  f"result differs in another way: criteria other than "
                  f"{', '.join(f.criteria) or 'its own'} fail")
        if result.statements:
            print("  the paper's statements judged on these draws (each its own verdict; "
                  "these decide the exit code):")
            for v in result.statements:
                _print_statement(v, indent="    ")
    return 0 if result.accepted else 1
