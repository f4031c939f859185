"""A check that runs degraded says so beside its verdict (``verify check`` text and the
report), not only in its JSON; an uninformative verdict always says why in one line."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from verify import registry
from verify.cli import main
from verify.presets import get_preset
from verify.report.html import render_html
from verify.report.markdown import render_markdown
from verify.report.model import Entry
from verify.results import Criterion, Outcome

NOTE = "judged without the optional thing: the second half was skipped (not installed)"


@pytest.fixture
def sandbox():
    with registry.use(registry.Registry()) as reg:
        yield reg


def _register(reg, *, degraded: str | None, bound: float = 1.0, ceiling=None):
    def run(instance, *, rng, quick):
        details = {"degraded": degraded} if degraded else {}
        return Outcome(Criterion("statistic", 0.5, bound, "<=", ceiling=ceiling),
                       n_samples=3, details=details)

    return reg.register("fake-degraded", statement="a fake statement", reference="T.1",
                        presets={"theory-2layer": "pass"}, check=run)


@pytest.mark.parametrize("degraded", [NOTE, None])
def test_check_text_and_report_show_a_degraded_run(sandbox, capsys, degraded):
    check = _register(sandbox, degraded=degraded)
    assert main(["check", "fake-degraded"]) == 0
    out = capsys.readouterr().out
    assert ("DEGRADED: " + NOTE in out) is bool(degraded)
    result = registry.run_check("fake-degraded", draws=1)
    assert result.degraded == (degraded or "")
    prov = {"version": "test", "command": "test", "quick": True}
    html = render_html([Entry(check, result)], prov)
    md = render_markdown([Entry(check, result)], prov)
    assert ("<b>Degraded</b>: " + NOTE in html) is bool(degraded)
    assert ("**Degraded**: " + NOTE in md) is bool(degraded)


def test_uninformative_says_why_in_one_line(sandbox, capsys):
    _register(sandbox, degraded=None, bound=3.0, ceiling=2.0)  # bound above the ceiling
    assert main(["check", "fake-degraded"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "UNINFORMATIVE" in lines[0]
    why = [ln for ln in lines if "uninformative:" in ln]
    assert len(why) == 1 and "trivial ceiling 2" in why[0]


def test_uninformative_over_draws_names_draw_zeros_reason(capsys):
    """The README's old example: every draw uninformative; the line says why each was."""
    from verify.presets import Config
    from verify.spec import NetworkSpec, LayerSpec

    spec = NetworkSpec(1, 2, (LayerSpec(8, 4, 4),))  # 16 rows per column: bound > ceiling
    cfg = Config("narrow", spec)
    res = registry.run_check("concentration", cfg, quick=True, draws=2)
    assert res.verdict == "uninformative"
    from verify.cli.check import _headline_why

    line = _headline_why(res)
    assert "\n" not in line and "draw 0:" in line and "trivial ceiling" in line


def test_trained_recovery_without_scikit_learn_is_degraded(monkeypatch):
    """Without scikit-learn the digits cannot be loaded: no training codes, and the
    check's details say so in one line (what ``verify check`` and the report show)."""
    from lemmas.trained_recovery import degraded, training_codes

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    net = get_preset("digits-glo").instantiate(0).network
    codes, info = training_codes(net, 2, np.random.default_rng(0))
    assert codes is None and info["available"] is False
    note = degraded(net.spec, info)
    assert "fresh N(0, I) codes only" in note and "scikit-learn" in note and "\n" not in note
    # a network that is not digit-shaped has no training digits by design: not degraded
    other = get_preset("paper-fig4").instantiate(0).network
    assert degraded(other.spec, training_codes(other, 2, np.random.default_rng(0))[1]) == ""
