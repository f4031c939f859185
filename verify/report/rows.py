"""The one row model both pages are rendered from.

:func:`page` turns the entries, the provenance and the sweeps into a :class:`Page`:
every table as :class:`Table` rows of formatted text (a :class:`Cell` where a cell is
a verdict, an in-page link or code), and every section as plain data. The HTML and
Markdown renderers (:mod:`~verify.report.html`, :mod:`~verify.report.markdown`) only
decide how each piece looks; what is said, and every number's formatting, is decided
once, here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Sequence, Union

import numpy as np
import pandas as pd

from .. import findings
from ..results import CheckResult, jsonable
from .checks import one_line
from .model import Entry, FigureOut, slug, status, table_file
from .provenance import provenance_rows
from .sweeps import SweepSection

#: Rows of each per-sample table shown in the HTML and Markdown pages.
HEAD_ROWS = 8
#: Rows of each further table (``result.tables``) shown.
HEAD_ROWS_EXTRA = 5

SUMMARY_COLUMNS = ("lemma", "statement", "reference", "preset", "verdict", "expected",
                   "statistic", "sense", "bound", "margin", "n", "draws",
                   "failure rate [95% CI] / tau", "time (s)", "failing criteria / error")
POWER_COLUMNS = ("lemma", "known-bad case", "configuration", "why it must be rejected",
                 "verdict", "rejected", "draws", "failure rate [95% CI]", "time (s)")
CRITERIA_COLUMNS = ("criterion", "statistic", "sense", "bound", "margin", "holds", "note")
TIMING_COLUMNS = ("lemma", "preset", "draws used", "elapsed (s)", "share", "CPU (s)",
                  "figures (s)", "cached", "peak RSS after (MB)")
#: The sentence above the cost table (HTML and Markdown).
TIMING_INTRO = ('Each check\'s cost in this run, slowest first: the network draws its verdict needed (the sequential rule stops a multi-draw check at its first decisive look, so "4 of 40" means decided after 4), wall and CPU seconds, and whether the result came from the result cache (a cached row cost nothing this run).')
#: Columns whose cells are numbers (right-aligned in HTML).
NUMERIC = {"statistic", "bound", "margin", "n", "draws", "draws used", "time (s)", "elapsed (s)", "share", "CPU (s)",
           "figures (s)", "peak RSS after (MB)"}

POWER_INTRO = (
    "Each check registers configurations that provably violate its statement's "
    "hypotheses (a ReLU layer with fewer than 2k rows, no expansion, non-zero-mean "
    "weights, too few observed pixels...). A check that passed one of them would be "
    "saying nothing; each must be rejected (its verdict \"fails\", or \"uninformative\" "
    "where the lemma states why that is the honest answer). A case that is not rejected "
    "sets the exit code to 1.")

FINDINGS_INTRO = (
    "Mismatches that have been examined are registered with their lemma (what differs, why, "
    "the evidence and a command that replays it). The run exits 0 when every verdict "
    "matches its expectation or differs only as one of these; a registered finding that "
    "no longer reproduces where it is registered to (its seeds and run kind) exits 1, like "
    "a new mismatch.")


# ----------------------------------------------------------------- the model
@dataclass(frozen=True)
class Cell:
    """A cell that is more than text: a verdict (``status``: its CSS class), a link to
    an in-page anchor (``href``), or code."""

    text: str
    status: str | None = None
    href: str | None = None
    code: bool = False


CellLike = Union[str, Cell]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[CellLike, ...], ...]


@dataclass(frozen=True)
class Head:
    """The first rows of a DataFrame, and where the whole of it is."""

    name: str | None  # None: the per-sample table
    shown: int
    total: int
    file: str
    table: Table


@dataclass(frozen=True)
class ResultView:
    """One (lemma, preset): everything its section shows."""

    lemma: str
    preset: str
    label: str
    cls: str
    summary: str
    error: str | None
    traceback: str | None
    criteria: Table | None
    details: Table | None
    settings: str | None
    warnings: tuple[str, ...]
    figures: tuple[FigureOut, ...]
    heads: tuple[Head, ...]
    config_json: str
    degraded: str = ""  # CheckResult.degraded: the check ran without something it needs


@dataclass(frozen=True)
class LemmaView:
    lemma: str
    anchor: str
    reference: str
    statement: str
    results: tuple[ResultView, ...]


@dataclass(frozen=True)
class Mismatch:
    lemma: str
    anchor: str
    preset: str
    label: str
    cls: str
    why: str


@dataclass(frozen=True)
class FindingView:
    lemma: str
    anchor: str
    preset: str
    outcome: str
    cls: str
    fields: Table  # (field, text) rows; the replay command is a code cell


@dataclass(frozen=True)
class SweepView:
    name: str
    intro: str
    figure: FigureOut
    table: Table


@dataclass(frozen=True)
class Page:
    version: str
    command: str
    quick: bool
    overall: str
    all_accepted: bool
    summary: Table
    mismatches: tuple[Mismatch, ...]
    findings: tuple[FindingView, ...]
    lemmas: tuple[LemmaView, ...]
    sweeps: tuple[SweepView, ...]
    timing: Table
    provenance: Table
    configs_json: str
    power: Table | None = None
    power_line: str = ""
    #: The paper's statements, each judged as written (:mod:`verify.report.statements`):
    #: the table the report opens with, and its one-line count.
    statements: Table | None = None
    statements_line: str = ""


# ---------------------------------------------------------------- formatting
def fmt(x: Any) -> str:
    """A cell: floats to 4 significant digits, NaN/None as an empty mark."""
    if x is None:
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if math.isnan(f):
            return "–"
        if math.isinf(f):
            return "∞" if f > 0 else "−∞"
        return f"{f + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0
    if isinstance(x, (dict, list, tuple, np.ndarray)):
        text = json.dumps(jsonable(x), default=str, allow_nan=False)
        return text if len(text) <= 160 else text[:157] + "..."
    text = str(x)
    return text if len(text) <= 160 else text[:157] + "..."


def anchor(lemma: str) -> str:
    return f"lemma-{slug(lemma)}"


def why(r: CheckResult) -> str:
    """What decided a failing or uninformative verdict: the criteria that do not hold,
    the reasons nothing was tested, or the error."""
    if r.error is not None:
        return r.error if len(r.error) <= 100 else r.error[:97] + "..."
    if r.verdict == "not applicable":
        return "not applicable: " + one_line(r.not_applicable)
    failing = [c.name for c in r.criteria if c.verdict == "fails"]
    out = ("does not hold: " + ", ".join(failing)) if failing else ""
    if not failing and r.verdict == "uninformative":
        out = "uninformative: " + one_line(r.why_uninformative)
    return out


def _table(columns: Sequence[str], rows: Sequence[Sequence[CellLike]]) -> Table:
    return Table(tuple(columns), tuple(tuple(r) for r in rows))


def frame_table(df: pd.DataFrame, n: int) -> Table:
    head = df.head(n)
    return _table([str(c) for c in head.columns],
                  [[fmt(v) for v in row] for row in head.itertuples(index=False, name=None)])


# ----------------------------------------------------------------- counting
def counts(entries: Sequence[Entry]) -> dict[str, int]:
    """``mismatched`` counts every verdict that differs from its expectation (known
    findings included); ``new_mismatches`` only those that no finding explains."""
    rs = [e.result for e in entries]
    return {"results": len(rs), "matched": sum(r.matches_expectation for r in rs),
            "mismatched": sum(not r.matches_expectation and r.error is None for r in rs),
            "errors": sum(r.error is not None for r in rs),
            "expected_failures": sum(r.expected == "fail" and r.matches_expectation for r in rs),
            **findings.counts(rs)}


def overall(entries: Sequence[Entry]) -> str:
    c = counts(entries)
    st = [v for e in entries for v in e.result.statements]
    if st:
        bad_st = sum(not v.accepted for v in st)
        bad_chk = sum(not e.result.accepted for e in entries if not e.result.statements)
        bad = bad_st + bad_chk + c["errors"]
        known = sum(v.status == findings.KNOWN for v in st)
        head = ("VERDICTS THAT DO NOT MATCH THEIR EXPECTATION OR A REGISTERED FINDING: "
                f"{bad}" if bad else
                "EVERY STATEMENT VERDICT MATCHES ITS EXPECTATION OR A REGISTERED FINDING"
                if known else "ALL STATEMENT VERDICTS MATCH THEIR EXPECTATIONS")
        return (f"{head}. {len(st)} statement verdicts: "
                f"{sum(v.verdict == 'holds' for v in st)} hold, "
                f"{sum(v.verdict == 'fails' for v in st)} fail, "
                f"{sum(v.verdict == 'uninformative' for v in st)} uninformative, "
                f"{sum(v.verdict == 'not applicable' for v in st)} not applicable; "
                f"{known} registered finding(s), {bad_st} new or stale; {c['errors']} "
                f"check error(s).")
    bad = c["new_mismatches"] + c["findings_not_reproduced"] + c["errors"]
    if bad:
        head = f"{bad} RESULT(S) DO NOT MATCH THEIR EXPECTATION OR A REGISTERED FINDING"
    elif c["known_findings"]:
        head = "EVERY VERDICT MATCHES ITS EXPECTATION OR A REGISTERED KNOWN FINDING"
    else:
        head = "ALL VERDICTS MATCH THEIR EXPECTATIONS"
    return (f"{head}: {c['matched']}/{c['results']} match ({c['expected_failures']} of them "
            f"expected failures on counter-examples), {c['known_findings']} registered known "
            f"finding(s), {c['new_mismatches']} new mismatch(es), "
            f"{c['findings_not_reproduced']} registered finding(s) no longer reproduced, "
            f"{c['errors']} error(s).")


def findings_items(entries: Sequence[Entry], prov: dict[str, Any]) -> list[dict[str, Any]]:
    """The registered findings of the checks that ran, with what this run made of them."""
    checks = list({id(e.check): e.check for e in entries}.values())
    return findings.section_items(checks, [e.result for e in entries],
                                  bool(prov.get("quick")), int(prov.get("seed") or 0))


# ------------------------------------------------------------------- tables
def draws_cells(r: CheckResult) -> tuple[str, str]:
    """The "draws" and "failure rate [95% CI] / tau" cells of a result."""
    d = r.draw_summary
    if r.error is not None or not d:
        return "1", "–"
    if "failure_rate" not in d:
        return "1 (single draw)", "–"
    conf = 100 * (1 - float(d["alpha"]))
    return (str(d["draws"]), f"{d['draws_failed']}/{d['draws_tested']} = "
            f"{fmt(d['failure_rate'])} [{d['failure_ci_low']:.3f}, "
            f"{d['failure_ci_high']:.3f}] ({conf:g}%) vs {fmt(d['tolerance'])}")


def summary_table(entries: Sequence[Entry]) -> Table:
    """One row per result; the statement and reference only on a lemma's first row.

    The statistic, bound and margin are the deciding criterion's
    (:attr:`~verify.results.CheckResult.deciding`), so the margin's sign agrees with the
    verdict. A check that judges the paper's statements shows its combined verdict as
    plain words: the statements' own verdicts (the table above it) decide."""
    rows = []
    prev = None
    for e in entries:
        r = e.result
        label, cls = status(r)
        if r.statements and r.error is None:
            label, cls = f"criteria combined: {r.verdict}", ""
        first = r.lemma != prev
        prev = r.lemma
        d = r.deciding
        stat, sense, bound, margin = ((r.statistic, r.sense, r.bound, r.margin) if d is None
                                      else (d.statistic, d.sense, d.bound, d.margin))
        rows.append([Cell(r.lemma, href=anchor(r.lemma)), one_line(r.statement) if first else "",
                     r.reference if first else "", r.preset,
                     Cell(label, status=cls) if cls else label,
                     r.expected, fmt(stat), sense if r.error is None else "–",
                     fmt(bound), fmt(margin), fmt(r.n_samples) if r.error is None else "–",
                     *draws_cells(r), f"{r.elapsed_s:.2f}", why(r)])
    return _table(SUMMARY_COLUMNS, rows)


def power_line(power: Sequence[Entry]) -> str:
    """"k of k known-bad configurations rejected" (with the ones that were not)."""
    if not power:
        return ""
    ok = sum(e.rejected for e in power)
    out = f"{ok} of {len(power)} known-bad configurations rejected"
    missed = [f"{e.result.lemma}: {e.known_bad.name} ({e.result.verdict})"
              for e in power if not e.rejected]
    return out + ("; NOT rejected: " + "; ".join(missed) if missed else "")


def power_table(power: Sequence[Entry]) -> Table:
    """One row per known-bad configuration: its reason and the check's verdict on it."""
    rows = []
    for e in power:
        r, kb = e.result, e.known_bad
        verdict = r.verdict if r.error is None else "ERROR: " + one_line(r.error)[:80]
        cls = "xfail" if e.rejected else "bad"
        rows.append([Cell(r.lemma, href=anchor(r.lemma)), kb.name, Cell(r.preset, code=True),
                     one_line(kb.reason), Cell(verdict, status=cls),
                     "yes" if e.rejected else "NO", *draws_cells(r)[:1],
                     draws_cells(r)[1], f"{r.elapsed_s:.2f}"])
    return _table(POWER_COLUMNS, rows)


def timing_table(entries: Sequence[Entry]) -> Table:
    """Slowest checks first, with the process's peak memory after each (in run order,
    the check after which the peak grows is the one that set it)."""
    total = sum(e.result.elapsed_s for e in entries) or 1.0
    ordered = sorted(entries, key=lambda e: -e.result.elapsed_s)
    return _table(TIMING_COLUMNS,
                  [[e.result.lemma, e.result.preset, draws_used(e.result),
                    f"{e.result.elapsed_s:.3f}",
                    f"{100 * e.result.elapsed_s / total:.0f}%", f"{e.cpu_s:.3f}",
                    f"{e.figures_s:.3f}",
                    ("yes" if e.cached else "no") + (", figures too" if e.cached
                                                     and e.figures_cached else ""),
                    "–" if e.peak_rss_mb is None else f"{e.peak_rss_mb:.0f}"]
                   for e in ordered])


def draws_used(r: CheckResult) -> str:
    """How many network draws the verdict needed, of the most the sequential rule allows
    ("4 of 40": decided at the look after 4 draws); "1" for a single-draw check."""
    d = r.draw_summary
    if r.error is None and d and "failure_rate" in d:
        return f"{d['draws_tested']} of {r.draws}"
    return "1"


def _result_view(e: Entry) -> ResultView:
    r = e.result
    label, cls = status(r)
    criteria = details = settings = None
    heads: list[Head] = []
    if r.error is None:
        if r.criteria:
            criteria = _table(CRITERIA_COLUMNS, [
                [("headline: " if i == 0 else "") + c.name, fmt(c.statistic), c.sense,
                 fmt(c.bound), fmt(c.margin),
                 {"holds": "yes", "fails": "NO"}.get(c.verdict, "uninformative"),
                 one_line("; ".join(x for x in (c.note, c.why_uninformative) if x))]
                for i, c in enumerate(r.criteria)])
        drows = [[str(k), fmt(v)] for k, v in r.details.items() if k != "traceback"]
        details = _table(("detail", "value"), drows) if drows else None
        if r.config.get("check"):
            settings = json.dumps(jsonable(r.config.get("check", {})), default=str,
                                  allow_nan=False)
        if not r.table.empty:
            t = frame_table(r.table, HEAD_ROWS)
            heads.append(Head(None, len(t.rows), len(r.table), "results.csv", t))
        for name, df in r.tables.items():
            if df is not None and not df.empty:
                t = frame_table(df, HEAD_ROWS_EXTRA)
                heads.append(Head(name, len(t.rows), len(df), table_file(r.lemma, name), t))
    tb = r.details.get("traceback") if r.error is not None else None
    summary = r.summary()
    if r.error is None and r.draws > 1:
        summary += (f". Over the draws first (above); the criteria, figures and tables below "
                    f"are the seed's network (draw 0, seed {r.seed})")
    if r.statements and r.error is None:
        from .statements import label as st_label

        summary += ". Statements judged on these draws: " + "; ".join(
            f"{v.statement} {st_label(v.to_json())[0]}" for v in r.statements)
    return ResultView(r.lemma, r.preset, label, cls, summary, r.error,
                      str(tb) if tb else None, criteria, details, settings,
                      tuple(e.warnings), tuple(e.figures), tuple(heads),
                      json.dumps(jsonable(r.config), indent=1, default=str),
                      r.degraded if r.error is None else "")


def _finding_view(it: dict[str, Any]) -> FindingView:
    cls = {"reproduced": "known", "NO LONGER REPRODUCES": "bad"}.get(it["outcome"], "")
    fields = _table(("field", "text"), [
        ["what differs", it["differs"]], ["why", it["why"]], ["evidence", it["evidence"]],
        ["required to reproduce on", it["scope"]],
        ["criteria it is about", ", ".join(it["criteria"]) or "any"],
        ["replay", Cell(str(it["replay"]), code=True)]])
    return FindingView(it["lemma"], anchor(it["lemma"]), it["preset"], it["outcome"], cls,
                       fields)


STATEMENT_INTRO = (
    "Each row is one sentence of the paper, quoted, judged on one preset by the criteria "
    "that test exactly what it says. Statements that hold \"with high probability\" "
    "are judged over network draws: the number of draws that fail, with the exact 95% "
    "interval of the failure rate, against the tolerance τ. Criteria that ask more than "
    "the sentence are shown beside it as \"beyond the paper\", with their own verdict; "
    "they never decide the statement's verdict. The checks below are the computations "
    "these verdicts are read from.")


def statement_items(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """The statement table's items (:mod:`verify.report.statements`) of these results."""
    from ..registry import statements as registered
    from .statements import items_from_results

    return items_from_results(list(registered().values()), [e.result for e in entries])


def statements_table(entries: Sequence[Entry]) -> tuple[Table | None, str]:
    from .statements import COLUMNS, overall as st_overall, table_rows

    items = statement_items(entries)
    if not items:
        return None, ""
    return _table(COLUMNS, table_rows(items)), st_overall(items)


def page(entries: Sequence[Entry], prov: dict[str, Any],
         sweeps: Sequence[SweepSection] = (), power: Sequence[Entry] = ()) -> Page:
    """Everything both pages show, decided once."""
    lemmas: dict[str, list[Entry]] = {}
    for e in entries:
        lemmas.setdefault(e.result.lemma, []).append(e)
    mismatches = []
    for e in entries:
        if e.result.statements and e.result.error is None:
            from .statements import decided_text, label as st_label

            for v in e.result.statements:
                if not v.accepted:  # what sets exit code 1
                    js = v.to_json()
                    word, cls = st_label(js)
                    mismatches.append(Mismatch(f"{v.statement} ({v.label})",
                                               anchor(e.result.lemma), v.preset, word, cls,
                                               decided_text(js)))
        elif not e.result.accepted:  # what sets exit code 1
            label, cls = status(e.result)
            mismatches.append(Mismatch(e.result.lemma, anchor(e.result.lemma), e.result.preset,
                                       label, cls, why(e.result)))
    for e in power:
        if not e.rejected:
            mismatches.append(Mismatch(e.result.lemma, "power", e.result.preset,
                                       "known-bad configuration NOT rejected", "bad",
                                       f"{e.known_bad.name}: verdict {e.result.verdict}"))
    return Page(
        version=str(prov.get("version")), command=str(prov.get("command")),
        quick=bool(prov.get("quick")), overall=overall(entries),
        all_accepted=not mismatches, summary=summary_table(entries),
        mismatches=tuple(mismatches),
        findings=tuple(_finding_view(it) for it in findings_items(entries, prov)),
        lemmas=tuple(LemmaView(lemma, anchor(lemma), group[0].check.reference,
                               one_line(group[0].check.statement),
                               tuple(_result_view(e) for e in group))
                     for lemma, group in lemmas.items()),
        sweeps=tuple(SweepView(sw.name, sw.intro(), sw.figure,
                               frame_table(sw.table, HEAD_ROWS_EXTRA)) for sw in sweeps),
        timing=timing_table(entries),
        provenance=_table(("item", "value"), provenance_rows(prov)),
        configs_json=json.dumps(prov.get("configs", {}), indent=1, default=str),
        power=power_table(power) if power else None, power_line=power_line(power),
        **dict(zip(("statements", "statements_line"), statements_table(entries))))


__all__ = ["Page", "Table", "Cell", "Head", "ResultView", "LemmaView", "Mismatch",
           "FindingView", "SweepView", "page", "fmt", "counts", "overall", "findings_items",
           "why", "anchor", "summary_table", "timing_table", "draws_used", "TIMING_INTRO", "HEAD_ROWS", "HEAD_ROWS_EXTRA",
           "NUMERIC", "FINDINGS_INTRO", "POWER_INTRO", "power_table", "power_line",
           "draws_cells", "statement_items", "statements_table", "STATEMENT_INTRO"]
