"""``verify report``: files exist and parse, verdicts and exit codes, atomic writing.

Fake lemmas are registered into a sandboxed registry (the real lemma modules are not
imported, so these tests do not depend on them); one test runs ``verify report
--quick`` on the real registry through the command line.
"""

from __future__ import annotations

import re

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import verify.report as report_mod  # noqa: E402
import verify.report.markdown as report_markdown  # noqa: E402
import verify.report.write as report_write  # noqa: E402
from verify import registry  # noqa: E402
from verify.cli import main  # noqa: E402
from verify.errors import VerifyError  # noqa: E402
from verify.plotting import PNG_SIGNATURE  # noqa: E402
from verify.report import build_report  # noqa: E402
from verify.results import Criterion, Outcome  # noqa: E402

#: The keys of ``verify check --json`` (verify/cli/README.md), which every result must carry.
CLI_KEYS = {"lemma", "preset", "seed", "passed", "expected", "statistic", "bound", "margin",
            "config", "details", "elapsed_s", "version"}
PRESETS = {"theory-2layer": "pass", "paper-fig4-uniform01": "fail"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# ----------------------------------------------------------------- helpers
@pytest.fixture
def sandbox():
    """An empty registry in use for the test: only the checks the test registers."""
    with registry.use(registry.Registry()) as reg:
        yield reg


def _outcome(stat: float, rng) -> Outcome:
    x = rng.normal(size=20)
    return Outcome(Criterion("mean |x| + shift", stat, 1.0, "<="),
                   criteria=(Criterion("samples", 20, 10, ">=", note="at least 10"),),
                   n_samples=20, details={"ci": [0.1, 0.2], "failure_probability": 0.05},
                   table=pd.DataFrame({"i": np.arange(20), "x": x}),
                   tables={"scaling": pd.DataFrame({"n": [1, 2], "dev": [0.5, 0.25]})},
                   settings={"samples": 20})


def hist_figure(result):
    """Histogram of the per-sample x."""
    fig, ax = plt.subplots()
    ax.hist(result.table["x"], bins=8)
    return fig


def broken_figure(result):
    """A figure function that raises."""
    raise RuntimeError("figure exploded")


def register_fake(lemma="fake", *, presets=PRESETS, figures=(hist_figure,), statistic=0.5,
                  calls=None, warn=None):
    """A tiny check: passes on ordinary presets, fails on the counter-example (listed in
    registration order)."""
    def run(instance, *, rng, quick):
        if calls is not None:
            calls.append(instance.config.name)
        if warn is not None:
            warnings.warn(warn, RuntimeWarning, stacklevel=2)
            warnings.warn(warn, RuntimeWarning, stacklevel=2)  # kept once
        shift = 10.0 if instance.config.counterexample else 0.0
        return _outcome(statistic + shift, rng)

    return registry.register(lemma, statement=f"{lemma}: a <fake> statement | for tests",
                             reference="Lemma T.1", presets=presets, figures=figures, check=run)


class _Balance(HTMLParser):
    """Tag-balance check (well-formedness) and a list of embedded resources."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.imgs, self.external = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag in ("script", "link", "iframe"):
            self.external.append(tag)
        for key in ("src", "href"):
            if (a.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(a[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            self.errors.append(f"self-closed non-void <{tag}/>")
            return
        self.handle_starttag(tag, attrs)  # void: never pushed

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def check_html(path: Path) -> _Balance:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    p = _Balance()
    p.feed(text)
    p.close()
    assert p.errors == [], p.errors[:5]
    assert p.stack == [], f"unclosed tags: {p.stack}"
    assert p.external == [], f"not self-contained: {p.external}"
    return p


def is_png(data: bytes) -> bool:
    return len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE)


def load(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize("parallel", [False, True], ids=["figures-here", "figures-forked"])
def test_report_files_exist_and_parse(sandbox, tmp_path, capsys, parallel):
    check = register_fake(figures=(hist_figure, broken_figure))
    out = tmp_path / "rep"
    open_before = set(plt.get_fignums())  # figures other tests may have left open
    rep = build_report(out, quick=True, seed=3, checks=[check], parallel_figures=parallel,
                       jobs=1)
    assert rep.exit_code == 0  # the counter-example fails, as expected
    for name in ("index.html", "REPORT.md", "results.json", "results.csv",
                 "tables/fake-scaling.csv.gz"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name

    # results.json: every verify/cli/README.md key, provenance, and the expected failure marked
    data = load(out)
    assert data["schema"] == report_mod.SCHEMA
    assert [(r["lemma"], r["preset"]) for r in data["results"]] == [
        ("fake", "theory-2layer"), ("fake", "paper-fig4-uniform01")]
    for r in data["results"]:
        assert CLI_KEYS <= set(r), CLI_KEYS - set(r)
        assert r["seed"] == 3 and r["quick"] is True and r["matches_expectation"] is True
    ok, xfail = data["results"]
    assert ok["passed"] is True and ok["expected"] == "pass"
    assert xfail["passed"] is False and xfail["expected"] == "fail"
    assert ok["config"]["network"]["layers"] and ok["config"]["check"] == {"samples": 20}
    prov = data["provenance"]
    assert prov["seed"] == 3 and prov["quick"] is True and prov["version"]
    assert "--seed 3" in prov["command"] and "--quick" in prov["command"]
    assert {"numpy", "scipy", "sympy", "pandas", "matplotlib", "seaborn",
            "hypothesis"} <= set(prov["libraries"])
    assert prov["machine"]["cpu_count"] >= 1 and prov["wall_time_s"] >= 0
    assert set(prov["configs"]) == set(PRESETS)
    assert data["summary"] == {"results": 2, "matched": 2, "mismatched": 0, "errors": 0,
                               "expected_failures": 1, "exit_code": 0, "new_mismatches": 0,
                               "known_findings": 0, "findings_not_reproduced": 0,
                               "known_bad": 0, "known_bad_rejected": 0}
    assert data["findings"] == []  # no finding registered, none listed

    # figures: one PNG per (preset, working figure function); the broken one is a note
    files = sorted((out / "figures").iterdir())
    assert [f.name for f in files] == ["fake-paper-fig4-uniform01-1.png",
                                      "fake-theory-2layer-1.png"]
    assert all(is_png(f.read_bytes()) for f in files)
    assert set(plt.get_fignums()) <= open_before  # every report figure closed after saving

    # index.html: well formed, self-contained, figures embedded as PNG
    page = check_html(out / "index.html")
    assert len(page.imgs) == 2
    prefix = "data:image/png;base64,"
    assert all(s.startswith(prefix) and is_png(base64.b64decode(s[len(prefix):]))
               for s in page.imgs)
    text = (out / "index.html").read_text()
    assert 'class="xfail">fail (expected)<' in text and 'class="ok">pass<' in text
    assert "figure exploded" in text  # the failing figure is a visible note
    assert "&lt;fake&gt;" in text  # statement escaped, not injected

    # REPORT.md links the figure files that exist
    md = (out / "REPORT.md").read_text()
    for f in files:
        assert f"](figures/{f.name})" in md
    assert "fail (expected)" in md and "figure exploded" in md
    # the cost table: draws used, CPU, cached per check (single-draw fake: "1", fresh: "no")
    assert "| lemma | preset | draws used | elapsed (s) | share | CPU (s) | figures (s) | cached |" in md
    assert re.search(r"\| fake \| theory-2layer \| 1 \| [0-9.]+ \| \d+% \| [0-9.]+ \| [0-9.]+ \| no \|", md)

    # results.csv: the per-sample tables stacked with lemma/preset/seed columns
    csv = pd.read_csv(out / "results.csv")
    assert list(csv.columns[:3]) == ["lemma", "preset", "seed"]
    assert len(csv) == 40 and set(csv["preset"]) == set(PRESETS) and set(csv["seed"]) == {3}
    tables = pd.read_csv(out / "tables" / "fake-scaling.csv.gz")
    assert set(tables["table"]) == {"scaling"} and len(tables) == 4

    # progress: one line per check when stderr is not a terminal
    err = capsys.readouterr().err
    assert sum(line.startswith("report [") for line in err.splitlines()) == 2


@pytest.mark.slow  # two reports (test_report_files_exist_and_parse[figures-forked] stays fast)
def test_forked_figures_are_drawn_in_a_helper_process(sandbox, tmp_path):
    pids = tmp_path / "pids.txt"

    def pid_figure(result):
        """Records the process that draws it."""
        with open(pids, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        return hist_figure(result)

    register_fake(figures=(pid_figure,))
    build_report(tmp_path / "a", quick=True, progress=False, parallel_figures=True, jobs=1)
    forked = pids.read_text().split()
    pids.unlink()
    build_report(tmp_path / "b", quick=True, progress=False, parallel_figures=False, jobs=1)
    here = pids.read_text().split()
    assert len(forked) == len(here) == 2
    assert str(os.getpid()) not in forked and set(here) == {str(os.getpid())}
    for name in ("fake-theory-2layer-1.png", "fake-paper-fig4-uniform01-1.png"):
        assert ((tmp_path / "a" / "figures" / name).read_bytes()
                == (tmp_path / "b" / "figures" / name).read_bytes())  # same figures


def test_parallel_checks_give_the_same_report(sandbox, tmp_path):
    register_fake(figures=(hist_figure, broken_figure))
    register_fake("second", presets={"theory-2layer-2d": "pass"}, figures=(hist_figure,),
                  warn="a warning from a worker")

    def crash(instance, *, rng, quick):
        raise ZeroDivisionError("crash in a worker")

    registry.register("crashes", statement="crashes", reference="Lemma T.2",
                      presets={"theory-2layer": "pass"}, check=crash)
    one = build_report(tmp_path / "one", quick=True, progress=False, jobs=1)
    two = build_report(tmp_path / "two", quick=True, progress=False, jobs=2)
    assert two.provenance["jobs"] == 2 and one.provenance["jobs"] == 1
    assert one.exit_code == two.exit_code == 1  # the crash
    assert ((tmp_path / "one" / "results.csv").read_bytes()
            == (tmp_path / "two" / "results.csv").read_bytes())
    a, b = load(tmp_path / "one"), load(tmp_path / "two")
    keep = ("lemma", "preset", "passed", "statistic", "bound", "error", "warnings")
    assert ([{k: r.get(k) for k in keep} for r in a["results"]]
            == [{k: r.get(k) for k in keep} for r in b["results"]])
    assert b["results"][2]["warnings"] == ["RuntimeWarning: a warning from a worker"]
    assert b["results"][3]["error"] == "ZeroDivisionError: crash in a worker"
    figs = sorted(p.name for p in (tmp_path / "two" / "figures").iterdir())
    assert figs == sorted(p.name for p in (tmp_path / "one" / "figures").iterdir())
    assert len(figs) == 3 and "figure exploded" in (tmp_path / "two" / "index.html").read_text()
    check_html(tmp_path / "two" / "index.html")


def test_forced_failure_sets_exit_1(sandbox, tmp_path):
    register_fake("holds", presets={"theory-2layer": "pass"}, figures=())
    register_fake("broken-bound", presets={"theory-2layer": "pass"}, figures=(),
                  statistic=5.0,  # statistic 5 > bound 1: fails where a pass is expected
                  warn="3 degenerate <pairs> excluded")
    out = tmp_path / "rep"
    assert main(["report", "--out", str(out), "--quick"]) == 1
    data = load(out)
    by = {r["lemma"]: r for r in data["results"]}
    assert by["holds"]["passed"] and by["holds"]["matches_expectation"]
    assert by["broken-bound"]["passed"] is False
    assert by["broken-bound"]["matches_expectation"] is False
    assert data["summary"]["exit_code"] == 1 and data["summary"]["mismatched"] == 1
    text = (out / "index.html").read_text()
    assert 'class="bad">FAIL<' in text
    assert "does not hold: mean |x| + shift" in text  # which criterion decided it
    # warnings raised by a check are kept in the report (once each), not only printed
    assert by["broken-bound"]["warnings"] == ["RuntimeWarning: 3 degenerate <pairs> excluded"]
    assert by["holds"]["warnings"] == []
    assert "3 degenerate &lt;pairs&gt; excluded" in text
    assert "3 degenerate &lt;pairs> excluded" in (out / "REPORT.md").read_text()
    check_html(out / "index.html")


def test_unexpected_pass_on_counterexample_is_a_mismatch(sandbox, tmp_path):
    # expected to fail on the counter-example, but this check passes everywhere
    register_fake("blind", presets={"paper-fig4": "fail"}, figures=())
    rep = build_report(tmp_path / "rep", quick=True, progress=False)
    assert rep.exit_code == 1
    assert "PASS (expected fail)" in (tmp_path / "rep" / "index.html").read_text()


def test_crashing_check_is_an_error_row_and_others_still_run(sandbox, tmp_path):
    calls: list[str] = []
    register_fake("before", presets={"theory-2layer": "pass"}, figures=(), calls=calls)

    def crash(instance, *, rng, quick):
        raise ZeroDivisionError("the check divided by zero")

    def refuses(instance, *, rng, quick):
        raise VerifyError("tolerance: expected > 0, got -1")

    registry.register("crashes", statement="crashes", reference="Lemma T.2",
                      presets={"theory-2layer": "pass"}, check=crash)
    registry.register("refuses", statement="raises VerifyError", reference="Lemma T.3",
                      presets={"theory-2layer": "pass", "no-such-preset": "pass"}, check=refuses)
    register_fake("after", presets={"theory-2layer": "pass"}, figures=(), calls=calls)
    out = tmp_path / "rep"
    rep = build_report(out, quick=True, progress=False, jobs=1)  # calls seen in-process
    assert rep.exit_code == 1
    assert calls == ["theory-2layer", "theory-2layer"]  # both neighbours ran
    data = load(out)
    rows = {(r["lemma"], r["preset"]): r for r in data["results"]}
    assert len(rows) == 5
    err = rows[("crashes", "theory-2layer")]
    assert err["error"] == "ZeroDivisionError: the check divided by zero"
    assert err["passed"] is False and err["statistic"] is None
    assert "ZeroDivisionError" in err["details"]["traceback"]
    assert "tolerance" in rows[("refuses", "theory-2layer")]["error"]
    assert "preset" in rows[("refuses", "no-such-preset")]["error"]
    assert rows[("after", "theory-2layer")]["passed"] is True
    assert data["summary"]["errors"] == 3
    text = (out / "index.html").read_text()
    assert text.count('<td class="error">ERROR</td>') == 3 and "divided by zero" in text
    check_html(out / "index.html")


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_interrupted_run_leaves_previous_report_intact(sandbox, tmp_path, monkeypatch, exc):
    register_fake(figures=())
    out = tmp_path / "rep"
    build_report(out, quick=True, seed=0, progress=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    written = []
    real_md = report_markdown.render

    def interrupted(*args, **kwargs):  # results.json and the CSVs are already written
        written.extend(p.name for p in tmp_path.glob(".rep.tmp-*/*"))
        real_md(*args, **kwargs)
        raise exc

    monkeypatch.setattr(report_markdown, "render", interrupted)
    with pytest.raises(type(exc)):
        build_report(out, quick=True, seed=1, progress=False)
    assert "results.json" in written  # the failure really was mid-write
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert load(out)["provenance"]["seed"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # temporary folder removed


def test_rerun_replaces_previous_report_and_same_seed_same_tables(sandbox, tmp_path):
    register_fake(figures=())
    out = tmp_path / "rep"
    build_report(out, quick=True, seed=0, progress=False)
    first = (out / "results.csv").read_bytes()
    first_gz = (out / "tables" / "fake-scaling.csv.gz").read_bytes()
    build_report(out, quick=True, seed=0, progress=False)
    assert (out / "results.csv").read_bytes() == first  # same seed, same bits
    assert (out / "tables" / "fake-scaling.csv.gz").read_bytes() == first_gz
    build_report(out, quick=True, seed=1, progress=False)
    assert load(out)["provenance"]["seed"] == 1
    assert (out / "results.csv").read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no leftovers


def test_output_path_that_is_a_file_exits_2_before_any_work(sandbox, tmp_path, capsys):
    calls: list[str] = []
    register_fake(figures=(), calls=calls)
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert main(["report", "--out", str(target), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "a-file" in err and len(err.strip().splitlines()) == 1
    assert calls == [] and target.read_text() == "keep me"
    # a path below a file, and a non-empty folder that is not a report, likewise
    assert main(["report", "--out", str(target / "sub"), "--quick"]) == 2
    other = tmp_path / "someone-elses"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    assert main(["report", "--out", str(other), "--quick"]) == 2
    assert calls == [] and (other / "thesis.tex").read_text() == "precious"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permissions are not enforced for root")
def test_unwritable_output_exits_2(sandbox, tmp_path):
    calls: list[str] = []
    register_fake(figures=(), calls=calls)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["report", "--out", str(locked / "rep"), "--quick"]) == 2
    finally:
        locked.chmod(0o700)
    assert calls == []


def test_validate_out_rules(tmp_path):
    assert report_mod.validate_out(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert report_mod.validate_out(tmp_path / "empty") == tmp_path / "empty"
    with pytest.raises(VerifyError, match="--out"):
        report_mod.validate_out("")


@pytest.mark.slow  # every real lemma with --quick: budget 20 s, measured far more (see report)
def test_cli_quick_on_the_real_registry(tmp_path):
    """``verify report --quick`` end to end, on every registered lemma and known-bad
    configuration (CI). With ``--draws 2`` every verdict over network draws runs the
    multi-draw path (and comes out uninformative: two draws decide nothing) at a fraction
    of the default's cost; the default draws are judged in the lemmas' own tests."""
    out = tmp_path / "latest"
    proc = subprocess.run([sys.executable, "-m", "verify", "report", "--quick", "--draws", "2",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    data = load(out)
    assert proc.returncode == data["summary"]["exit_code"]
    # The subprocess sees only the lemmas package (fakes registered by other test
    # modules in this process are not part of it).
    expected = [(c.id, p) for c in registry.discover().values() for p in c.presets
                if c.run.__module__.startswith("lemmas.")]
    assert [(r["lemma"], r["preset"]) for r in data["results"]] == expected
    for r in data["results"]:
        assert CLI_KEYS <= set(r) and r["quick"] is True
    multi = [r for r in data["results"] if r["draws"] == 2]
    assert multi and all("failure_rate" in r and r["verdict"] != "holds" for r in multi)
    assert data["summary"]["known_bad"] == len(data["power"]) > 0
    check_html(out / "index.html")
    assert all(is_png(f.read_bytes()) for f in (out / "figures").iterdir())
    errors = [f"{r['lemma']}[{r['preset']}]: {r['error']}" for r in data["results"]
              if "error" in r]
    assert errors == [], errors


# ------------------------------------------------------------------ speed-ups
def _log_figure(lo: float, hi: float):
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.geomspace(lo, hi, 10)
    ax.plot(x, x, "o-")
    ax.set_xscale("log")
    ax.set_yscale("log")
    return fig


def test_pruned_minor_ticks_change_no_pixel():
    from PIL import Image

    from verify import plotting

    def pixels(prune: bool, lo: float, hi: float) -> np.ndarray:
        with plotting.style():
            fig = _log_figure(lo, hi)
            n = plotting.prune_minor_ticks(fig) if prune else 0
            fig.tight_layout()
            return n, np.asarray(Image.open(io.BytesIO(plotting.png_bytes(fig))))

    n_wide, wide = pixels(True, 1e-4, 1e2)  # 6 decades: minor ticks carry no label
    assert n_wide == 2 and np.array_equal(wide, pixels(False, 1e-4, 1e2)[1])
    n_short, short = pixels(True, 2.0, 7.0)  # under a decade: minor ticks are labelled
    assert n_short == 0 and np.array_equal(short, pixels(False, 2.0, 7.0)[1])


def test_previous_costs_come_from_a_report_of_the_same_kind(tmp_path):
    prov = {"quick": True, "timing": [{"lemma": "a", "preset": "p", "elapsed_s": 9.0,
                                       "cpu_s": 2.0, "figures_s": 0.5}]}
    (tmp_path / "results.json").write_text(json.dumps({"provenance": prov}))
    assert report_mod.previous_costs(tmp_path, True) == {("a", "p"): 2.5}
    assert report_mod.previous_costs(tmp_path, False) == {}  # a default run's costs differ
    assert report_mod.previous_costs(tmp_path / "missing", True) == {}
    (tmp_path / "results.json").write_text("{not json")
    assert report_mod.previous_costs(tmp_path, True) == {}


def test_cost_is_measured_history_else_the_registration_hint():
    """The engine knows no lemma: a (lemma, preset) costs what the previous report
    measured, else its registration's ``cost``, else the default."""
    from types import SimpleNamespace

    from verify.report.checks import DEFAULT_COST, task_cost

    hinted, plain = SimpleNamespace(id="a", cost=7.0), SimpleNamespace(id="b")
    assert task_cost(hinted, "p", {}) == 7.0
    assert task_cost(hinted, "p", {("a", "p"): 2.5}) == 2.5
    assert task_cost(plain, "p", {}) == DEFAULT_COST


def test_report_sweep_and_run_check_give_the_same_result_for_the_same_task():
    """One check, one task, one result. The report's job run by the runner's
    processes backend, ``run_check`` called directly and the sweep's record of the same
    task (lemma, preset, streams) agree on statistic, bound, verdict and seed."""
    from verify import runner
    from verify.registry import run_check
    from verify.report.checks import CheckTask, failed_task, run_task
    from verify.sweep import parse_sweep
    from verify.sweep import run_task as sweep_task

    tasks = list(parse_sweep({"sweep": {"lemmas": ["permutation"], "quick": True,
                                        "presets": ["theory-2layer", "paper-fig4"],
                                        "base_seed": 4}}))
    jobs = [CheckTask(t.lemma, t.config["name"], t.streams, True) for t in tasks]
    jobs.append(CheckTask("permutation", "paper-fig4", 3, True))  # a report's integer seed
    got = dict(runner.run(run_task, jobs, failed=failed_task,
                          backend=runner.Backend("processes", 2)))
    assert set(got) == set(jobs)

    def key(r):
        return r.statistic, r.bound, r.verdict, r.passed, str(r.seed)

    for job in jobs:
        direct = run_check(job.lemma, job.preset, seed=job.seed, quick=True, draws=1)
        assert direct.error is None and got[job].result.error is None
        assert key(got[job].result) == key(direct)
        assert got[job].cpu_s >= 0 and got[job].warnings == ()
    for t, job in zip(tasks, jobs):
        rec = sweep_task(t)
        assert (rec["statistic"], rec["bound"], rec["verdict"], rec["passed"], rec["seed"]) \
            == key(got[job].result)
    assert {got[j].result.passed for j in jobs} == {True, False}  # both verdicts covered


@pytest.mark.skipif(os.name != "posix", reason="fork")
def test_a_check_that_kills_its_worker_twice_is_an_error_row(sandbox, tmp_path):
    """The runner reruns a check whose worker died alone once; a second death is an
    error row (``CheckResult.from_error``) and the other checks are reported as usual."""
    register_fake("holds", presets={"theory-2layer": "pass"}, figures=())

    def die(instance, *, rng, quick):
        os._exit(3)  # no exception, no result: the worker is gone

    registry.register("dies", statement="kills its worker", reference="Lemma T.9",
                      presets={"theory-2layer": "pass"}, check=die)
    rep = build_report(tmp_path / "rep", quick=True, progress=False, jobs=2)
    assert rep.exit_code == 1
    rows = {r["lemma"]: r for r in load(tmp_path / "rep")["results"]}
    assert rows["holds"]["passed"] is True
    assert rows["dies"]["error"].startswith("WorkerDied: worker process died twice")
    assert rows["dies"]["statistic"] is None and rows["dies"]["expected"] == "pass"


def test_tables_are_written_here_when_the_writer_child_fails(sandbox, tmp_path, monkeypatch):
    register_fake(figures=())
    build_report(tmp_path / "a", quick=True, progress=False, jobs=1)

    class Failed:
        exitcode = 1

        def join(self):
            pass

        def is_alive(self):
            return False

    monkeypatch.setattr(report_write, "_table_writer_child", lambda *a: Failed())
    build_report(tmp_path / "b", quick=True, progress=False, jobs=1)
    for name in ("results.csv", "tables/fake-scaling.csv.gz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_report_includes_a_sweep_as_a_phase_diagram(tmp_path):
    """``verify report --sweep DIR``: the sweep's phase table and heat map appear in
    index.html and REPORT.md, read from the sweep's records."""
    from verify.sweep import run_sweep

    sweep_dir = tmp_path / "sw"
    run_sweep({"sweep": {"lemmas": ["permutation"], "presets": ["theory-2layer", "paper-fig4"],
                         "masks": ["full"], "quick": True}}, sweep_dir)
    with registry.use(registry.Registry()):
        check = register_fake("fake-with-sweep", presets={"theory-2layer": "pass"})
        out = tmp_path / "rep"
        rep = build_report(out, quick=True, seed=0, checks=[check], jobs=1,
                           parallel_figures=False, sweeps=[sweep_dir], progress=False)
    assert rep.exit_code == 0
    phase = pd.read_csv(out / "sweeps" / "sw-phase.csv")
    # theory-2layer (stride = kernel) passes permutation, paper-fig4 (overlapping) fails:
    assert sorted(phase["fraction"].tolist()) == [0.0, 1.0]
    assert is_png((out / "figures" / "sweep-sw.png").read_bytes())
    html = (out / "index.html").read_text()
    assert "Parameter sweeps" in html and "sw-phase.csv" in html
    check_html(out / "index.html")
    assert "## Parameter sweeps" in (out / "REPORT.md").read_text()
    assert load(out)["provenance"]["sweeps"][0]["tasks"] == 2


def test_report_refuses_a_folder_that_is_not_a_sweep(tmp_path, sandbox):
    check = register_fake()
    with pytest.raises(VerifyError, match="--sweep"):
        build_report(tmp_path / "rep", quick=True, checks=[check], sweeps=[tmp_path])
    assert not (tmp_path / "rep").exists()


# ------------------------------------------------------------------ faults
TESTS_DIR = Path(__file__).resolve().parent

#: A report run in a child process that kills itself (SIGKILL: no cleanup at all)
#: right after the first rename of the swap: the previous report moved aside, the new
#: one not yet in place.
KILLED_MID_SWAP = """
import os, signal, sys
import _fake_lemmas
from verify import registry
from verify.report import build_report
check = registry.get_check("fake-always")
out = sys.argv[1]
build_report(out, checks=[check], quick=True, seed=0, progress=False, jobs=1,
             parallel_figures=False)
real = os.rename
def rename(src, dst):
    real(src, dst)
    if ".old-" in os.path.basename(str(dst)):
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = rename
build_report(out, checks=[check], quick=True, seed=1, progress=False, jobs=1,
             parallel_figures=False)
"""


def _child_env(**extra) -> dict:
    path = os.pathsep.join(p for p in (str(TESTS_DIR), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "MPLBACKEND": "Agg", **extra}


@pytest.mark.slow  # a report in another interpreter, killed, then three reports
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_report_killed_between_its_two_renames_is_restored_on_the_next_run(
        sandbox, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    proc = subprocess.run([sys.executable, "-c", KILLED_MID_SWAP, str(out)], env=_child_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not out.exists()  # killed in the window: no report where it should be
    left = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert left == [".rep.old", ".rep.tmp"]
    # the next run puts the previous report back before anything else; here it is then
    # interrupted itself, and the restored report stays
    register_fake(figures=())
    real_md = report_markdown.render

    def interrupted(*args, **kwargs):
        real_md(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(report_markdown, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_report(out, quick=True, seed=2, progress=False, jobs=1)
    assert load(out)["provenance"]["seed"] == 0
    assert [r["lemma"] for r in load(out)["results"]] == ["fake-always"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # leftovers removed
    monkeypatch.setattr(report_markdown, "render", real_md)
    build_report(out, quick=True, seed=3, progress=False, jobs=1)
    assert load(out)["provenance"]["seed"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_leftovers_of_dead_runs_are_removed_and_live_runs_left_alone(sandbox, tmp_path):
    register_fake(figures=())
    out = tmp_path / "rep"
    build_report(out, quick=True, seed=0, progress=False, jobs=1)
    dead = 2**22 + 1  # above Linux's pid_max: never a live process
    for name in (f".rep.tmp-{dead}-abc", f".rep.old-{dead}-def", ".rep.tmp-k3y_8x",
                 f".rep.tmp-{os.getpid()}-live", ".other.tmp-1-x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text("{}")
    notes = report_mod.recover_interrupted(out)
    assert len(notes) == 3 and all("removed" in n for n in notes)
    assert load(out)["provenance"]["seed"] == 0  # the report in place is untouched
    # a run still going (this process) and another report's folder are not ours to remove
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.tmp-1-x", f".rep.tmp-{os.getpid()}-live", "rep"]


#: A parallel report whose workers run ``fake-sleeper`` (they record their process ids
#: and sleep); the test kills this process with SIGKILL while they sleep.
PARALLEL_REPORT = """
import sys
import _fake_lemmas
from verify import registry
from verify.report import build_report
checks = [registry.get_check(c) for c in ("fake-sleeper", "fake-always")]
build_report(sys.argv[1], checks=checks, quick=True, progress=False, jobs=2)
"""


def _wait_for(predicate, seconds: float) -> bool:
    """Poll ``predicate`` until it holds or ``seconds`` pass (a deadline for a liveness
    condition, not a timing assertion)."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


@pytest.mark.slow  # a report in another interpreter, killed
@pytest.mark.skipif(os.name != "posix", reason="fork and SIGKILL")
def test_forked_workers_exit_when_the_report_process_dies(tmp_path):
    import signal

    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", PARALLEL_REPORT, str(tmp_path / "rep")],
                            env=_child_env(FAKE_PID_DIR=str(pids), FAKE_SLOW_S="600"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        assert _wait_for(lambda: any(pids.glob("*.pid")), 300), "the worker never started"
        worker = int(next(pids.glob("*.pid")).read_text())
        assert worker != proc.pid and report_write._alive(worker)
        proc.kill()  # SIGKILL: the parent can clean nothing up
        proc.wait()
        assert _wait_for(lambda: not report_write._alive(worker), 60), "the worker lingers"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if worker is not None and report_write._alive(worker):
            os.kill(worker, signal.SIGKILL)
    assert not (tmp_path / "rep").exists()


def _sabotage(box: Path, how: str):
    """A check that makes the report's folder unusable while the checks run."""
    def run(instance, *, rng, quick):
        if how == "file":  # the parent folder replaced by a file
            shutil.rmtree(box)
            box.write_text("not a folder any more")
        else:  # the parent folder made read-only
            box.chmod(0o500)
        return _outcome(0.5, rng)
    return run


@pytest.mark.parametrize("how", [
    "file",
    pytest.param("read-only", marks=pytest.mark.skipif(
        os.name != "posix" or os.geteuid() == 0, reason="permissions are not enforced for root")),
])
def test_out_unusable_after_the_checks_writes_the_report_elsewhere_and_exits_2(
        sandbox, tmp_path, capsys, how):
    box = tmp_path / "box"
    box.mkdir()
    out = box / "rep"
    registry.register("saboteur", statement="breaks the output folder", reference="T",
                      presets={"theory-2layer": "pass"}, check=_sabotage(box, how))
    try:
        code = main(["report", "--out", str(out), "--quick", "--jobs", "1"])
    finally:
        if box.is_dir():
            box.chmod(0o700)
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    line = [e for e in err if e.startswith("verify report: error:")]
    assert len(line) == 1 and str(out) in line[0]
    where = Path(line[0].rsplit(" was written to ", 1)[1].split(" instead")[0])
    assert where != out and load(where)["results"][0]["lemma"] == "saboteur"
    check_html(where / "index.html")
    shutil.rmtree(where.parent)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_out_under_proc_exits_2_before_any_work(sandbox, capsys):
    calls: list[str] = []
    register_fake(figures=(), calls=calls)
    assert main(["report", "--out", "/proc/verify-report-test", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and len(err.strip().splitlines()) == 1
    assert calls == []


# ----------------------------------------------------------- resource guards
@pytest.fixture
def budget_restored():
    """``--max-memory`` sets a process-wide budget: put it back afterwards."""
    from verify import budget

    saved = (budget._override, os.environ.get("VERIFY_MAX_MEMORY"))
    yield budget
    budget._override = saved[0]
    if saved[1] is None:
        os.environ.pop("VERIFY_MAX_MEMORY", None)
    else:
        os.environ["VERIFY_MAX_MEMORY"] = saved[1]


HUGE = {"kernel": ("latent_channels = 4", "kernel = 1000000000", "network.layers[0].kernel"),
        "latent": ("latent_channels = 1000000", "kernel = 3", "network.latent_channels")}


@pytest.mark.parametrize("which", sorted(HUGE))
def test_check_refuses_a_network_too_large_for_memory(sandbox, budget_restored, tmp_path,
                                                      capsys, which):
    latent, kernel, field_name = HUGE[which]
    calls: list[str] = []
    register_fake(figures=(), calls=calls)
    cfg = tmp_path / "huge.toml"
    cfg.write_text(f'name = "huge"\n[network]\ndims = 2\n{latent}\nlatent_size = 1\n'
                   f'[[network.layers]]\nchannels = 32\n{kernel}\nstride = 3\n'
                   'activation = "relu"\n')
    assert main(["check", "fake", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field_name in err
    assert calls == []
    if which == "latent":  # refused by the memory estimate, which it states
        assert "GB of memory" in err and "--max-memory" in err


def test_report_refuses_presets_over_the_memory_budget_before_any_check(
        sandbox, budget_restored, tmp_path, capsys):
    calls: list[str] = []
    register_fake(figures=(), calls=calls)
    out = tmp_path / "rep"
    assert main(["report", "--out", str(out), "--quick", "--max-memory", "1k"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "theory-2layer" in err and "network." in err and "over the budget of 1 kB" in err
    assert calls == [] and not out.exists()


# ---------------------------------------------------------------- power and draws
def _register_with_power(reg, bad_config):
    from verify.verdicts import DrawRule, KnownBad

    def run(instance, *, rng, quick):
        shift = 10.0 if instance.config.counterexample else 0.0
        return Outcome(Criterion("stat", 0.5 + shift, 1.0, ceiling=100.0))

    reg.register("fake-power", statement="s", reference="r", presets={"theory-2layer": "pass"},
                 check=run, draws=DrawRule(0.1, "tests", draws=40),
                 known_bad=(KnownBad("non-zero mean", bad_config, "U[0,1] weights"),))


@pytest.mark.slow  # three reports, two of them over 40 draws
def test_power_table_counts_rejections_and_an_unrejected_case_exits_1(sandbox, tmp_path):
    from verify.presets import get_preset

    bad = get_preset("paper-fig4-uniform01")
    _register_with_power(sandbox, bad)
    rep = build_report(tmp_path / "a", quick=True, progress=False, jobs=1)
    assert rep.exit_code == 0 and len(rep.power) == 1 and rep.power[0].rejected
    data = load(tmp_path / "a")
    assert data["summary"]["known_bad"] == 1 and data["summary"]["known_bad_rejected"] == 1
    assert data["power"][0]["name"] == "non-zero mean" and data["power"][0]["rejected"]
    from verify.verdicts import DrawRule

    rule = DrawRule(0.1, "tests", draws=40)
    n = rule.quick_draws()  # --quick's maximum: the fewest draws that can give holds
    assert data["results"][0]["draws"] == n and data["results"][0]["verdict"] == "holds"
    md = (tmp_path / "a" / "REPORT.md").read_text()
    assert "1 of 1 known-bad configurations rejected" in md and "## Power" in md
    assert f"0/{n} = 0 [0.000, {rule.best_upper(n):.3f}]" in md
    figs = sorted(p.name for p in (tmp_path / "a" / "figures").iterdir())
    assert figs == ["fake-power-theory-2layer-1.png"]  # the per-draw margins
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert summary["verdict"].tolist() == ["holds", "fails"]
    assert summary["known_bad"].fillna("").tolist() == ["", "non-zero mean"]
    assert summary.loc[0, "draws"] == n and summary.loc[1, "status"] == "rejected"
    # a "known-bad" case the check passes: the power table says NOT rejected, exit 1
    good = bad.with_weights("gaussian")
    _register_with_power(sandbox, good)
    rep = build_report(tmp_path / "b", quick=True, progress=False, jobs=1)
    assert rep.exit_code == 1 and not rep.power[0].rejected
    md = (tmp_path / "b" / "REPORT.md").read_text()
    assert "0 of 1 known-bad configurations rejected; NOT rejected" in md
    check_html(tmp_path / "b" / "index.html")
    # --draws 1: single-draw verdicts, labelled
    rep = build_report(tmp_path / "c", quick=True, progress=False, jobs=1, draws=1)
    r = load(tmp_path / "c")["results"][0]
    assert r["draws"] == 1 and "single network draw" in r["draw_note"]


def test_the_cost_table_says_how_many_draws_a_verdict_needed():
    """"4 of 40": the sequential rule decided at its look after 4 draws; a single-draw
    check or an error row reads "1"."""
    from types import SimpleNamespace

    from verify.report.rows import draws_used

    seq = SimpleNamespace(error=None, draws=40, draw_summary={
        "failure_rate": 1.0, "draws_tested": 4, "draws_failed": 4})
    assert draws_used(seq) == "4 of 40"
    assert draws_used(SimpleNamespace(error=None, draws=1, draw_summary={"draws": 1})) == "1"
    assert draws_used(SimpleNamespace(error="boom", draws=40, draw_summary=seq.draw_summary)) == "1"
