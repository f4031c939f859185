"""``REPORT.md``: the :class:`~verify.report.rows.Page` in Markdown; figures are the PNG
files in ``figures/`` beside it."""

from __future__ import annotations

import re
from typing import Any, Sequence

from .checks import one_line
from .model import Entry, FigureOut
from .rows import FINDINGS_INTRO, POWER_INTRO, STATEMENT_INTRO, TIMING_INTRO, Cell, CellLike, Page, \
    ResultView, Table, page
from .sweeps import SweepSection

LEGEND = (
    "Verdicts: ✅ pass; ☑️ *fail (expected)*: a counter-example preset that is meant "
    "to fail; 🔶 *FAIL (known finding)*: differs as a registered, examined finding "
    "(listed below); ❌ **FAIL** / **PASS (expected fail)**: does not match its "
    "expectation (a new mismatch, or a registered finding that no longer "
    "reproduces); ⚪ *uninformative*: a bound at or past its statistic's trivial "
    "ceiling, met by any network (nothing was tested; never a pass); ⚪ *not applicable*: "
    "the statement's hypotheses are not met by the configuration (with the reason; "
    "never a pass, never a mismatch); "
    "⚠️ **ERROR**: the check crashed. Margin is signed: positive means "
    "the statement holds with room to spare.")

_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def text(s: Any) -> str:
    """Text safe in Markdown prose: no accidental HTML tags (``<b>`` is shown, not applied)."""
    return _TAG.sub("&lt;", one_line(str(s)))


def _cell_text(s: Any) -> str:
    return text(s).replace("|", "\\|")


def code(s: Any) -> str:
    """Inline code that survives backticks inside the text."""
    s = one_line(str(s))
    return f"`` {s} ``" if "`" in s else f"`{s}`"


def label(s: str) -> str:
    if s == "pass":
        return "✅ pass"
    if s == "fail (expected)":
        return "☑️ *fail (expected)*"
    if s == "ERROR":
        return "⚠️ **ERROR**"
    if s.startswith("uninformative") or s == "not applicable":
        return f"⚪ *{s}*"
    if s.endswith("(known finding)"):
        return f"🔶 *{s}*"
    return f"❌ **{s}**"


def _cell(cell: CellLike) -> str:
    if not isinstance(cell, Cell):
        return _cell_text(cell)
    s = label(cell.text) if cell.status else cell.text
    if cell.href:
        s = f"[{s}](#{cell.href})"
    return _cell_text(code(s) if cell.code else s)


def table(t: Table) -> str:
    out = ["| " + " | ".join(_cell_text(c) for c in t.columns) + " |",
           "|" + "|".join(" --- " for _ in t.columns) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(out)


def _figure(f: FigureOut, *, caption: bool) -> list[str]:
    if f.png is None:
        return ["", f"> {f.note}"]
    return ["", f"![{_cell_text(f.caption)}]({f.name})"] + (
        ["", f"*{_cell_text(f.caption)}*"] if caption else [])


def _result(lemma: str, v: ResultView) -> list[str]:
    lines = ["", f"### {lemma} on `{v.preset}`: {label(v.label)}", "", text(v.summary)]
    if v.degraded:
        lines += ["", f"> **Degraded**: {text(v.degraded)}"]
    if v.error is not None:
        lines += ["", f"> The check crashed: {code(v.error)}"]
        if v.traceback:
            lines += ["", "```", v.traceback.rstrip(), "```"]
        return lines
    if v.criteria:
        lines += ["", "**Criteria**", "", table(v.criteria)]
    if v.details:
        lines += ["", "**Key details**", "", table(v.details)]
    if v.settings:
        lines += ["", f"**Settings**: {code(v.settings)}"]
    if v.warnings:
        lines += ["", "**Warnings raised by the check**", ""]
        lines += [f"- {text(w)}" for w in v.warnings]
    for f in v.figures:
        lines += _figure(f, caption=True)
    for hd in v.heads:
        what = ("**Per-sample table**" if hd.name is None else f"**Table `{hd.name}`**")
        lines += ["", f"{what} (first {hd.shown} of {hd.total} rows; all in `{hd.file}`)", "",
                  table(hd.table)]
    return lines


def statement_table(t: Table) -> str:
    """The statements table: verdict cells carry their own words (not the checks'
    pass/fail legend)."""
    marks = {"ok": "✅", "xfail": "☑️", "known": "🔶", "bad": "❌", "uninformative": "⚪",
             "error": "⚠️"}
    out = ["| " + " | ".join(_cell_text(c) for c in t.columns) + " |",
           "|" + "|".join(" --- " for _ in t.columns) + "|"]
    for row in t.rows:
        cells = []
        for c in row:
            if isinstance(c, Cell) and c.status:
                cells.append(_cell_text(f"{marks.get(c.status, '')} {c.text}".strip()))
            else:
                cells.append(_cell(c))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _findings(p: Page) -> list[str]:
    lines: list[str] = []
    if p.mismatches:
        lines += ["", "## New mismatches", "",
                  "Not explained by a registered finding: these set the exit code to 1.", ""]
        lines += [f"- [{m.lemma}](#{m.anchor}) on `{m.preset}`: {label(m.label)}"
                  + (f" ({text(m.why)})" if m.why else "") for m in p.mismatches]
    if p.findings:
        lines += ["", '<a id="known-findings"></a>', "", "## Registered known findings", "",
                  text(FINDINGS_INTRO)]
        for f in p.findings:
            mark = {"reproduced": "🔶", "NO LONGER REPRODUCES": "❌"}.get(f.outcome, "▫️")
            lines += ["", f"### {text(f.lemma)} on `{f.preset}`: {mark} {f.outcome}", ""]
            for name, value in f.fields.rows:
                shown = code(value.text) if isinstance(value, Cell) and value.code \
                    else text(value.text if isinstance(value, Cell) else value)
                lines.append(f"- **{name[0].upper() + name[1:]}**: {shown}")
    return lines


def render(p: Page) -> str:
    """The Markdown of a :class:`Page`."""
    lines = ["# Invertibility of convolutional generative networks: the paper's statements, "
             "judged", "",
             "Numerical checks of every step of the proof of Ma, Ayaz & Karaman (NeurIPS "
             f"2018), generated by `verify` {p.version} with `{p.command}`"
             + (" (**quick run**: smaller sample counts, same verdict rules)" if p.quick
                else "") + ".", "",
             f"**{p.overall}**", ""]
    if p.statements is not None:
        lines += ['<a id="statements"></a>', "", "## The paper's statements, each judged as "
                  "written", "", f"*{text(p.statements_line)}*", "", text(STATEMENT_INTRO),
                  "", statement_table(p.statements), ""]
    lines += [LEGEND, "", "## Checks: the computations behind the verdicts", "",
              table(p.summary) if p.summary.rows else "No lemma checks are registered."]
    lines += _findings(p)
    if p.power is not None:
        lines += ["", '<a id="power"></a>', "", "## Power: known-bad configurations", "",
                  text(POWER_INTRO), "", f"**{text(p.power_line)}.**", "", table(p.power)]
    for lv in p.lemmas:
        lines += ["", f'<a id="{lv.anchor}"></a>', "",
                  f"## {text(lv.lemma)}: {text(lv.reference)}", "", f"*{text(lv.statement)}*"]
        for v in lv.results:
            lines += _result(lv.lemma, v)
    if p.sweeps:
        lines += ["", "## Parameter sweeps"]
        for sw in p.sweeps:
            lines += ["", f"### {sw.name}", "", text(sw.intro)]
            lines += _figure(sw.figure, caption=False)
            lines += ["", table(sw.table)]
    lines += ["", "## Cost per check: slowest first", "", TIMING_INTRO, "", table(p.timing),
              "", "## Provenance", "", table(p.provenance),
              "", "<details><summary>configurations (full)</summary>", "", "```json",
              p.configs_json, "```", "", "</details>", "",
              "Every result's configuration and settings, and the library versions, are in "
              "`results.json`.", ""]
    return "\n".join(lines)


def render_markdown(entries: Sequence[Entry], prov: dict[str, Any],
                    sweeps: Sequence[SweepSection] = (), power: Sequence[Entry] = ()) -> str:
    """The same report in Markdown; figures are the PNG files in ``figures/``."""
    return render(page(entries, prov, sweeps, power))


__all__ = ["render_markdown", "render", "table"]
