"""Every sentence of the paper is judged as it is written, or says why not; the README and
the reference report show the statement verdicts as the results give them.

``lemmas/sentences.toml`` is the committed list of the paper's sentences that make a
claim (numbered statements, the proof outline's lemmas, Sec. 3's and Sec. 4's empirical
claims, the figure captions). These tests hold it to the registry of statements (every
registered statement is named there, with its exact quote; every sentence is judged or
has its reason), hold the reference report to its verdicts (every judged statement has a
verdict in it; a margin's sign agrees with its verdict), and hold README.md's generated
table to the reference report's ``results.json``.

Regenerate the README's table after the reference report changed::

    python -m verify.report.statements
"""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest

from verify import registry
from verify.report.statements import BEGIN, END, readme_block

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "reports" / "README.md"  # the generated statements table
RESULTS = ROOT / "reports" / "reference" / "results.json"
REPORT_MD = ROOT / "reports" / "reference" / "REPORT.md"
SENTENCES = ROOT / "lemmas" / "sentences.toml"


def _norm(text: str) -> str:
    return " ".join(text.split())


def _sentences() -> list[dict]:
    return tomllib.loads(SENTENCES.read_text(encoding="utf-8"))["sentence"]


def _statements() -> dict:
    # the lemmas package's statements (other test modules may register fakes elsewhere)
    return {k: v for k, v in registry.DEFAULT.statements().items()
            if v.module.startswith("lemmas.")}


def _payload() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_every_sentence_is_judged_or_says_why_not():
    sts = _statements()
    for s in _sentences():
        assert _norm(s["text"]), s
        if "statement" in s:
            assert s["statement"] in sts, f"{s['where']}: {s['statement']!r} is not registered"
            assert "not_judged" not in s
        else:
            assert _norm(s.get("not_judged", "")), f"{s['where']}: no statement, no reason"


def test_every_registered_statement_quotes_a_listed_sentence():
    named: dict[str, list[str]] = {}
    for s in _sentences():
        if "statement" in s:
            named.setdefault(s["statement"], []).append(_norm(s["text"]))
    for sid, st in _statements().items():
        if sid == "closed-forms":  # the proof's formulas (Hand & Voroninski), not a sentence
            continue
        assert sid in named, f"statement {sid!r} quotes no sentence of sentences.toml"
        assert _norm(st.quote) in named[sid], (
            f"{sid}: its quote is not one of the sentences listed for it")


def test_the_papers_numbered_statements_and_figures_are_all_listed():
    where = " | ".join(s["where"] for s in _sentences() if "statement" in s)
    for name in ("Theorem 1", "Corollary 2", "Conjecture 3", "Theorem 4", "Fig. 3",
                 "Fig. 4 (caption)", "Fig. 5", "Fig. 6", "proof outline", "Sec. 4.2"):
        assert name in where, name
    # Fig. 6 (CelebA) is registered, and not judged, with its reason
    fig6 = _statements()["fig6"]
    assert not fig6.judges and "CelebA" in fig6.not_judged


def test_caption_and_convergence_sentence_get_separate_verdicts_on_paper_fig4():
    sts = _statements()
    cap, gd = sts["fig4-caption"], sts["fig4a-gd"]
    assert cap.quote != gd.quote
    on_fig4 = {v["statement"]: v for r in _payload()["results"]
               if r["preset"] == "paper-fig4" for v in r.get("statements", [])}
    assert {"fig4-caption", "fig4a-gd"} <= set(on_fig4)
    # the caption's verdict is its own: not the "no other local minimum" criterion's
    assert on_fig4["fig4-caption"]["verdict"] == "holds"
    assert any("local minimum" in b["asks"] for b in on_fig4["fig4-caption"]["beyond_the_paper"])


def test_every_judged_statement_has_a_verdict_in_the_reference_report():
    judged = {v["statement"] for r in _payload()["results"] for v in r.get("statements", [])}
    missing = [sid for sid, st in _statements().items() if st.judges and sid not in judged]
    assert missing == [], f"regenerate reports/reference (no verdict for {missing})"


def test_margin_sign_agrees_with_the_verdict_over_the_reference_report():
    bad = []
    for r in _payload()["results"]:
        for v in r.get("statements", []):
            m = v.get("margin")
            if v["verdict"] == "fails" and m is not None and m >= 0:
                bad.append((v["statement"], r["preset"], m))
            if v["verdict"] == "holds" and m is not None and m < 0:
                bad.append((v["statement"], r["preset"], m))
    assert bad == []


def test_readmestatement_table_is_generated_from_the_reference_results():
    text = README.read_text(encoding="utf-8")
    a, b = text.find(BEGIN), text.find(END)
    assert 0 <= a < b, "reports/README.md has no generated statements block"
    assert text[a:b + len(END)] == readme_block(_payload()), (
        "reports/README.md's statements table is stale: python -m verify.report.statements")


def test_reference_report_opens_with_thestatement_table():
    md = REPORT_MD.read_text(encoding="utf-8")
    first = md.index("## ")
    assert md[first:].startswith("## The paper's statements, each judged as written")


def _private_lemma_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                (node.module == "lemmas" or node.module.startswith("lemmas.")):
            if any(part.startswith("_") for part in node.module.split(".")):
                out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("lemmas.")
                    and any(p.startswith("_") for p in a.name.split("."))]
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "property_tests").glob("*.py")),
                         ids=lambda p: p.name)
def test_no_test_imports_a_private_lemma_name(path):
    assert _private_lemma_imports(path) == []


def test_no_lemma_imports_another_lemma():
    pkg = ROOT / "lemmas"
    public = {p.stem for p in pkg.glob("*.py") if not p.stem.startswith("_")}
    bad = []
    for p in pkg.glob("*.py"):
        if p.stem.startswith("_"):
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for m in mods:
                    parts = m.split(".")
                    if parts[0] == "lemmas" and len(parts) > 1 and parts[1] in public \
                            and parts[1] != p.stem:
                        bad.append(f"{p.name} imports {m}")
    assert bad == []


def test_reportstatement_table_and_narrative_are_generated_from_the_results():
    from verify.report.markdown import statement_table
    from verify.report.narrative import render as narrative
    from verify.report.rows import Table
    from verify.report.statements import COLUMNS, items_from_json, table_rows

    payload = _payload()
    items = items_from_json(payload["statements"], payload["results"])
    md = REPORT_MD.read_text(encoding="utf-8")
    assert statement_table(Table(COLUMNS, tuple(tuple(r) for r in table_rows(items)))) in md
    assert (RESULTS.parent / "NARRATIVE.md").read_text(encoding="utf-8") == narrative(payload)


def test_check_level_margins_agree_with_verdicts_over_the_reference_report():
    for r in _payload()["results"]:
        if r.get("error") or r["verdict"] not in ("fails", "holds"):
            continue
        crit = r["criteria"]
        if r["verdict"] == "fails":
            deciding = next(c for c in crit if c["verdict"] == "fails")
            assert deciding["margin"] is None or deciding["margin"] < 0, (r["lemma"], r["preset"])
        else:
            assert all(c["margin"] is None or c["margin"] >= 0 or c["sense"] == "=="
                       for c in crit if c["verdict"] == "holds"), (r["lemma"], r["preset"])
