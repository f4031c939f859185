"""The report read at a glance: a table of contents, raw material folded, complete
captions, and, in a real browser (headless Chromium) at a 1,400 px window, a page that
never scrolls sideways (wide tables scroll in their own box) with every image loaded.

The report is small: three cheap checks run once each (``draws=1``, ``quick``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from verify.registry import get_check, run_check
from verify.report.figures import caption_of, math_text, render_figures
from verify.report.html import render_html
from verify.report.model import Entry
from verify.report.screenshot import find_browser, main as screenshot_main, measure

RUNS = (("permutation", "paper-fig4"), ("injectivity", "paper-fig4"),
        ("concentration", "paper-fig4-uniform01"))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A small report's index.html, from real results and figures."""
    entries = []
    for lemma, preset in RUNS:
        check = get_check(lemma)
        result = run_check(lemma, preset, seed=0, quick=True, draws=1)
        entries.append(Entry(check, result, render_figures(check, result)))
    html = render_html(entries, {"version": "test", "command": "test", "quick": True})
    folder = tmp_path_factory.mktemp("report")
    (folder / "index.html").write_text(html, encoding="utf-8")
    return folder


class _Outline(HTMLParser):
    """Ids, TOC links, figure captions, and whether each table sits in a scroll box and
    whether each "Key details" / "Settings" summary opens a <details>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.toc, self.captions, self.summaries = set(), [], [], []
        self.stack, self.tables_outside_scroll, self._text = [], 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and any(t == "nav" for t, _ in self.stack):
            self.toc.append(a.get("href", ""))
        if tag == "table" and not (self.stack and self.stack[-1] == ("div", "scroll")):
            self.tables_outside_scroll += 1
        if tag in ("figcaption", "summary"):
            self._text = [tag, ""]
        if tag not in ("img", "meta", "br"):
            self.stack.append((tag, a.get("class", "")))

    def handle_endtag(self, tag):
        if self._text and tag == self._text[0]:
            (self.captions if tag == "figcaption" else self.summaries).append(self._text[1])
            self._text = None
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if self._text:
            self._text[1] += data


def _outline(page) -> _Outline:
    p = _Outline()
    p.feed((page / "index.html").read_text(encoding="utf-8"))
    return p


@pytest.mark.slow  # its page fixture runs three whole quick checks and draws their figures
def test_contents_fold_and_captions(page):
    p = _outline(page)
    # the table of contents links every section, and every link has its target
    assert {"#summary", "#lemma-permutation", "#lemma-injectivity", "#lemma-concentration",
            "#timing", "#provenance"} <= set(p.toc)
    assert all(href[1:] in p.ids for href in p.toc)
    # every table in a box of its own that scrolls sideways
    assert p.tables_outside_scroll == 0
    # raw material folded: key details, settings and data tables are <details> summaries
    assert any(s.startswith("Key details (") for s in p.summaries)
    assert any(s == "Settings" for s in p.summaries)
    assert any(s.startswith("Per-sample table (first ") for s in p.summaries)
    # captions: complete sentences, Unicode math, no function names
    assert p.captions
    for c in p.captions:
        assert c[0].isupper() or not c[0].isascii(), c
        assert c.endswith("."), c
        assert "||" not in c and "``" not in c and "figure_" not in c, c
        assert "drawn from" not in c.lower(), c


def test_caption_rules():
    def f():
        """The gap ||grad J|| against eps_hat and rho_d, drawn from ``result.tables["x"]``
        only; the a-priori bound dotted. Drawn from ``result.table``.

        More text that is not part of the caption."""

    def figure_bare_name(result):
        pass

    assert caption_of(f) == "The gap ‖∇J‖ against ε̂ and ρ_d; the a-priori bound dotted."
    assert caption_of(figure_bare_name, 3) == "Figure 3: bare name."
    assert math_text("||z*|| <= rho_d, theta_bar") == "‖z*‖ ≤ ρ_d, θ̄"


needs_browser = pytest.mark.skipif(
    find_browser() is None,
    reason="no headless Chromium (apt-get install chromium-headless-shell)")


@pytest.mark.slow  # headless Chromium
@needs_browser
def test_page_never_scrolls_sideways_and_every_image_loads(page):
    m = measure(page / "index.html", width=1400, height=900, open_details=True)
    assert m["inner_width"] == 1400
    assert m["body_scroll_width"] <= m["inner_width"]  # the body fits the window
    assert m["body_scroll_width"] <= m["body_client_width"]  # nothing sticks out of it
    assert m["document_scroll_width"] <= m["inner_width"]  # no sideways page scroll
    assert m["images"] == len(_outline(page).captions) > 0
    assert m["images_not_loaded"] == []


@needs_browser
def test_the_probe_sees_a_page_that_overflows(tmp_path):
    """The measurement can fail: a page with a 3,000 px wide element overflows."""
    (tmp_path / "wide.html").write_text(
        '<!DOCTYPE html><html><body><div style="width:3000px">wide</div>'
        '<img alt="missing" src="data:image/png;base64,AAAA" /></body></html>')
    m = measure(tmp_path / "wide.html", width=1400)
    assert m["document_scroll_width"] > 1400 and m["images_not_loaded"] == ["missing"]


@pytest.mark.slow  # headless Chromium
@needs_browser
def test_screenshot_command_writes_the_first_screen(page, tmp_path, capsys):
    out = tmp_path / "first-screen.png"
    assert screenshot_main([str(page), str(out), "--height", "600"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 600)
    assert capsys.readouterr().out.strip() == str(out)


def test_screenshot_command_refuses_a_folder_without_a_report(tmp_path, capsys):
    assert screenshot_main([str(tmp_path), str(tmp_path / "x.png")]) == 2
    assert "index.html" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
