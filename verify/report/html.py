"""``index.html``: the :class:`~verify.report.rows.Page` as one self-contained page
(inline CSS, figures as base64 PNG, no script, no network)."""

from __future__ import annotations

import base64
import html
from typing import Any, Sequence

from .model import Entry, FigureOut
from .rows import FINDINGS_INTRO, NUMERIC, POWER_INTRO, STATEMENT_INTRO, TIMING_INTRO, Cell, \
    CellLike, Page, \
    ResultView, Table, page
from .sweeps import SweepSection

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em}table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{background:#e3f5e1;color:#17631a;font-weight:600}
.xfail{background:#eef0ff;color:#3a3f9e;font-style:italic;font-weight:600}
.known{background:#fff1dc;color:#8a4500;font-style:italic;font-weight:600}
.bad{background:#fde2e1;color:#a0110c;font-weight:700}
.uninformative{background:#f0f0f0;color:#555;font-style:italic;font-weight:600}
.error{background:#fff0c2;color:#7a4b00;font-weight:700}
.banner{padding:.6em 1em;border-radius:4px;margin:1em 0}
.note{color:#7a4b00;background:#fff8e0;padding:.4em .7em;border-left:3px solid #e0a800}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.8em}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.legend span{padding:.1em .5em;margin-right:.6em;border-radius:3px}
details summary{cursor:pointer}
.scroll{overflow-x:auto;max-width:100%;margin:.6em 0}.scroll>table{margin:0}
figure{max-width:100%}p,li,h2,h3,h4,figcaption,summary{overflow-wrap:anywhere}
nav.toc{background:#fafafa;border:1px solid #e4e4e4;padding:.3em 1em;margin:1em 0}
nav.toc ul{margin:.3em 0;padding-left:1.2em;columns:3 16em;font-size:.88em}nav.toc li{margin:.1em 0}
details.data{margin:.5em 0}details.data>summary{font-weight:600}
"""

LEGEND = (
    '<p class="legend">Verdicts: <span class="ok">pass</span>: holds where it is '
    'expected to, <span class="xfail">fail (expected)</span>: a counter-example preset that '
    'is meant to fail, <span class="known">FAIL (known finding)</span>: differs as a '
    'registered, examined finding (listed below), <span class="bad">FAIL</span> / '
    '<span class="bad">PASS (expected fail)</span>: does not match its expectation '
    '(a new mismatch, or a registered finding that no longer reproduces), '
    '<span class="uninformative">uninformative</span>: a bound at or past its statistic\'s '
    'trivial ceiling, met by any network (nothing was tested; never a pass), '
    '<span class="uninformative">not applicable</span>: the statement\'s hypotheses are not '
    'met by the configuration (with the reason; never a pass, never a mismatch), '
    '<span class="error">ERROR</span>: the check crashed. Margin is signed: positive means '
    'the statement holds with room to spare.</p>')


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _cell(column: str, cell: CellLike) -> str:
    if not isinstance(cell, Cell):
        cell = Cell(cell)
    text = _h(cell.text)
    if cell.href:
        text = f'<a href="#{cell.href}">{text}</a>'
    if cell.code:
        text = f"<code>{text}</code>"
    cls = cell.status or ("num" if column in NUMERIC else "")
    return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"


def table(t: Table) -> str:
    """The table in a container that scrolls sideways on its own when it is wider than
    the page (the page itself never does)."""
    out = ['<div class="scroll"><table>',
           "<thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in t.columns)
           + "</tr></thead>", "<tbody>"]
    out += ["<tr>" + "".join(_cell(c, v) for c, v in zip(t.columns, row)) + "</tr>"
            for row in t.rows]
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _fold(summary: str, body: str) -> str:
    """Raw material (settings, key details, data tables) folded under a summary line."""
    return f'<details class="data"><summary>{summary}</summary>\n{body}\n</details>'


def _toc(p: Page) -> str:
    """The table of contents: every section of the page, each lemma by name."""
    items = ([("statements", "The paper's statements")] if p.statements is not None
             else []) + [("summary", "Checks")]
    if p.mismatches:
        items.append(("mismatches", "New mismatches"))
    if p.findings:
        items.append(("known-findings", "Registered known findings"))
    if p.power is not None:
        items.append(("power", "Power: known-bad configurations"))
    items += [(lv.anchor, f"{lv.lemma}: {lv.reference}") for lv in p.lemmas]
    if p.sweeps:
        items.append(("sweeps", "Parameter sweeps"))
    items += [("timing", "Cost per check"), ("provenance", "Provenance")]
    return ('<nav class="toc" aria-label="Contents"><b>Contents</b><ul>'
            + "".join(f'<li><a href="#{_h(a)}">{_h(t)}</a></li>' for a, t in items)
            + "</ul></nav>")


def _figure(f: FigureOut) -> str:
    if f.png is None:
        return f'<p class="note">{_h(f.note)}</p>'
    b64 = base64.b64encode(f.png).decode("ascii")
    return (f'<figure><img alt="{_h(f.caption)}" src="data:image/png;base64,{b64}" />'
            f"<figcaption>{_h(f.caption)}</figcaption></figure>")


def _details(summary: str, text: str) -> str:
    return f"<details><summary>{summary}</summary><pre>{_h(text)}</pre></details>"


def _result(lemma: str, v: ResultView) -> list[str]:
    parts = [f'<h3>{_h(lemma)} on <code>{_h(v.preset)}</code>: '
             f'<span class="{v.cls}">{_h(v.label)}</span></h3>', f"<p>{_h(v.summary)}</p>"]
    if v.degraded:
        parts.append(f'<p class="note degraded"><b>Degraded</b>: {_h(v.degraded)}</p>')
    if v.error is not None:
        parts.append(f'<p class="note">The check crashed: {_h(v.error)}</p>')
        if v.traceback:
            parts.append(_details("traceback", v.traceback))
        return parts
    if v.criteria:
        parts += ["<h4>Criteria</h4>", table(v.criteria)]
    if v.details:
        parts.append(_fold(f"Key details ({len(v.details.rows)})", table(v.details)))
    if v.settings:
        parts.append(_fold("Settings", f"<pre>{_h(v.settings)}</pre>"))
    if v.warnings:
        parts.append('<p class="note">Warnings raised by the check:</p><ul>'
                     + "".join(f"<li>{_h(w)}</li>" for w in v.warnings) + "</ul>")
    if v.figures:
        parts += ["<h4>Figures</h4><div>", *(_figure(f) for f in v.figures), "</div>"]
    for hd in v.heads:
        what = ("Per-sample table" if hd.name is None
                else f"Table <code>{_h(hd.name)}</code>")
        parts.append(_fold(f"{what} (first {hd.shown} of {hd.total} rows; all in "
                           f"{_h(hd.file)})", table(hd.table)))
    parts.append(_details("full configuration", v.config_json))
    return parts


def _findings(p: Page) -> list[str]:
    """The "new mismatches" list and the "registered known findings" section."""
    parts = []
    if p.mismatches:
        parts.append('<h2 id="mismatches">New mismatches</h2><p>Not explained by a '
                     "registered finding: "
                     "these set the exit code to 1.</p><ul>")
        parts += [f'<li><a href="#{m.anchor}">{_h(m.lemma)}</a> on <code>{_h(m.preset)}</code>: '
                  f'<span class="{m.cls}">{_h(m.label)}</span>'
                  f"{(' (' + _h(m.why) + ')') if m.why else ''}</li>" for m in p.mismatches]
        parts.append("</ul>")
    if p.findings:
        parts += ['<h2 id="known-findings">Registered known findings</h2>',
                  f"<p>{_h(FINDINGS_INTRO)}</p>"]
        for f in p.findings:
            parts += [f'<h3><a href="#{f.anchor}">{_h(f.lemma)}</a> on '
                      f'<code>{_h(f.preset)}</code>: <span class="{f.cls}">'
                      f'{_h(f.outcome)}</span></h3>', table(f.fields)]
    return parts


def render(p: Page) -> str:
    """The page of a :class:`Page`."""
    parts = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8" />',
             '<meta name="viewport" content="width=device-width, initial-scale=1" />',
             f"<title>verify report: {_h(p.version)}</title>",
             f"<style>{CSS}</style>", "</head>", "<body>",
             "<h1>Invertibility of convolutional generative networks: the paper's "
             "statements, judged</h1>",
             "<p>Numerical checks of every step of the proof of Ma, Ayaz &amp; Karaman "
             f"(NeurIPS 2018), generated by <code>verify</code> {_h(p.version)} with "
             f"<code>{_h(p.command)}</code>"
             + (" (<b>quick run</b>: smaller sample counts, same verdict rules)" if p.quick
                else "") + ".</p>",
             f'<p class="banner {"ok" if p.all_accepted else "bad"}">{_h(p.overall)}</p>',
             _toc(p)]
    if p.statements is not None:
        parts += ['<h2 id="statements">The paper\'s statements, each judged as written</h2>',
                  f"<p><b>{_h(p.statements_line)}</b></p>", f"<p>{_h(STATEMENT_INTRO)}</p>",
                  table(p.statements)]
    parts += [LEGEND, '<h2 id="summary">Checks: the computations behind the verdicts</h2>',
             table(p.summary) if p.summary.rows else "<p>No lemma checks are registered.</p>"]
    parts += _findings(p)
    if p.power is not None:
        parts += ['<h2 id="power">Power: known-bad configurations</h2>',
                  f"<p>{_h(POWER_INTRO)}</p>", f"<p><b>{_h(p.power_line)}.</b></p>",
                  table(p.power)]
    for lv in p.lemmas:
        parts += [f'<h2 id="{lv.anchor}">{_h(lv.lemma)}: {_h(lv.reference)}</h2>',
                  f"<p><i>{_h(lv.statement)}</i></p>"]
        for v in lv.results:
            parts += _result(lv.lemma, v)
    if p.sweeps:
        parts.append('<h2 id="sweeps">Parameter sweeps</h2>')
        for sw in p.sweeps:
            parts += [f"<h3>{_h(sw.name)}</h3><p>{_h(sw.intro)}</p>", _figure(sw.figure),
                      _fold(f"Grid table ({len(sw.table.rows)} rows)", table(sw.table))]
    parts += ['<h2 id="timing">Cost per check: slowest first</h2>', f"<p>{_h(TIMING_INTRO)}</p>",
              table(p.timing),
              '<h2 id="provenance">Provenance</h2>', table(p.provenance),
              _details("configurations (full)", p.configs_json), "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def render_html(entries: Sequence[Entry], prov: dict[str, Any],
                sweeps: Sequence[SweepSection] = (), power: Sequence[Entry] = ()) -> str:
    """The self-contained page (inline CSS, base64 figures, no script, no network)."""
    return render(page(entries, prov, sweeps, power))


__all__ = ["render_html", "render", "table", "CSS"]
