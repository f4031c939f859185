"""What the verdicts say, in sentences generated from ``results.json``.

Every number in the narrative is read from a named field of the results (a statement
verdict's ``draws_failed``, ``failure_ci_low``, ..., a finding's evidence compared with
this run) and formatted by :func:`number`; nothing is typed by hand, so the text cannot
drift from the numbers. The report writes it as ``NARRATIVE.md`` beside ``REPORT.md``
and as a section of both pages; ``python -m verify.report.narrative RESULTS_JSON``
prints it.

One paragraph per statement whose verdict on some preset is not a plain ``holds``, or
that has a beyond-the-paper criterion: the sentence, the verdict per preset with its
draws and interval, and, where a registered finding covers it, the exact sentence that
does not reproduce, what it was measured on, what differs and the evidence as it stands
in this run.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from .statements import draws_text, items_from_json, label


def number(x: Any) -> str:
    """The one formatter of the narrative's numbers: integers as they are, other numbers
    to 3 significant figures, missing values as "–"."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f):
        return "–"
    if f.is_integer() and abs(f) < 1e15:
        return f"{int(f):,}"
    return f"{f:.3g}"


def _verdict_phrase(v: dict[str, Any]) -> str:
    word, _ = label(v)
    d = draws_text(v)
    where = f"`{v['preset']}`"
    if v.get("verdict") in ("not applicable", "uninformative", "error") and \
            "[" not in d:
        return f"{word} on {where}: {v.get('why', '')}"
    if "[" in d:
        return (f"{word} on {where}: {v['draws_failed']} of {v['draws_tested']} network "
                f"draws fail, failure rate in [{number(v['failure_ci_low'])}, "
                f"{number(v['failure_ci_high'])}] (95%) against τ = {number(v['tolerance'])}")
    h = f"{v.get('statistic')}"
    if v.get("statistic") is not None:
        h = (f"statistic {number(v['statistic'])} {v.get('sense', '')} bound "
             f"{number(v['bound'])}, margin {number(v['margin'])}")
    return f"{word} on {where} (one draw: {h})"


def _strict(f: dict[str, Any], prov: dict[str, Any]) -> bool:
    """Whether this run lies in the finding's strict scope (its seeds and run kind): only
    there does evidence out of tolerance count as drift."""
    seeds, quick = f.get("seeds"), f.get("quick")
    return ((seeds is None or prov.get("seed") in seeds)
            and (quick is None or bool(prov.get("quick")) == bool(quick)))


def _finding_lines(v: dict[str, Any], prov: dict[str, Any] | None = None) -> list[str]:
    f = v.get("known_finding")
    if not f or v.get("status") == "match":  # the finding is not what this verdict shows
        return []
    strict = _strict(f, prov or {})
    lines = []
    sentence = f.get("sentence") or v.get("quote", "")
    lines.append(f"  - The sentence that does not reproduce on `{v['preset']}`: "
                 f"“{sentence}”" + (f" Measured on {f['measured_on']}." if f.get(
                     "measured_on") else ""))
    lines.append(f"  - What differs: {f['differs']} Why: {f['why']}")
    ev = f.get("evidence_now") or []
    if ev:
        parts = [f"{e['label']} = {number(e['now'])}"
                 + ("" if e.get("within") else
                    f" (recorded {number(e['recorded'])}: DRIFTED)" if strict else
                    f" (recorded {number(e['recorded'])} in the record's own scope, "
                    f"{f.get('scope', '')})") for e in ev]
        lines.append("  - Evidence in this run: " + "; ".join(parts) + ".")
    lines.append(f"  - Replay: `{f['replay']}`")
    return lines


def _beyond_lines(v: dict[str, Any]) -> list[str]:
    out = []
    for b in v.get("beyond_the_paper", []):
        d = b.get("draws_tested")
        rate = (f": {b['draws_failed']} of {d} draws fail" if d else "")
        out.append(f"  - Beyond the paper on `{v['preset']}` ({b['asks']}): "
                   f"{b['verdict']}{rate}. This asks more than the sentence and does not "
                   "decide its verdict.")
    return out


def paragraphs(statements: Sequence[dict[str, Any]],
               results: Sequence[dict[str, Any]],
               prov: dict[str, Any] | None = None) -> list[str]:
    """The narrative's lines (Markdown) from the statement index and the results."""
    lines: list[str] = []
    for it in items_from_json(statements, results):
        vs = it["verdicts"]
        notable = [v for v in vs if v.get("verdict") != "holds" or v.get("beyond_the_paper")]
        if not vs:
            if it.get("not_judged"):
                lines += [f"- **{it['label']}** [{it['id']}]: not judged: {it['not_judged']}"]
            continue
        if not notable:
            presets = ", ".join(f"`{v['preset']}`" for v in vs)
            lines.append(f"- **{it['label']}** [{it['id']}] holds on {presets}.")
            continue
        lines.append(f"- **{it['label']}** [{it['id']}], “{it['quote']}”")
        for v in vs:
            lines.append(f"  - {_verdict_phrase(v)}.")
            lines += _finding_lines(v, prov)
            lines += _beyond_lines(v)
    return lines


def render(payload: dict[str, Any]) -> str:
    """``NARRATIVE.md`` from a ``results.json`` payload."""
    prov = payload.get("provenance", {})
    head = ["# What the verdicts say", "",
            "Generated from `results.json` by `verify report` (every number below is a "
            "field of the results); seed "
            f"{prov.get('seed')}, commit {str(prov.get('git_commit') or '')[:10] or '–'}"
            + (", quick run" if prov.get("quick") else "") + ".", ""]
    return "\n".join(head + paragraphs(payload.get("statements", []),
                                       payload.get("results", []), prov)) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    import json
    import sys
    from pathlib import Path

    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0] if args else "reports/reference/results.json")
    print(render(json.loads(path.read_text(encoding="utf-8"))), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["number", "paragraphs", "render", "main"]
