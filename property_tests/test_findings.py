"""Known findings (verify.findings): a registered, examined mismatch exits 0; a new one,
or a registered one that no longer reproduces where it is registered to, exits 1.

The mechanism is tested on fake checks registered in an empty registry whose verdict the
test sets; the real registry is only read (its findings are well-formed and replayable),
except for ``trained-weights`` on the shipped generator, which is cheap and fixed.
"""

from __future__ import annotations

import json
import shlex

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from verify import registry  # noqa: E402
from verify.cli import build_parser, main  # noqa: E402
from verify.errors import VerifyError  # noqa: E402
from verify.findings import KnownFinding  # noqa: E402
from verify.presets import Config, get_preset  # noqa: E402
from verify.report import build_report  # noqa: E402
from verify.results import Criterion, Outcome  # noqa: E402

HEADLINE = "drift"
OTHER = "sanity"


@pytest.fixture
def sandbox():
    """An empty registry in use for the test: only the checks the test registers."""
    with registry.use(registry.Registry()) as reg:
        yield reg


def finding(preset="theory-2layer", **kw) -> KnownFinding:
    return KnownFinding(preset=preset, differs="the drift is above its bound",
                        why="the <fake> network drifts | by construction",
                        evidence="seed 0: drift 5 > 1", replay=f"verify check drifting "
                        f"--preset {preset} --seed 0", **kw)


def register_drifting(state: dict, *, lemma="drifting", findings=(), presets=None):
    """A check whose headline (``drift``) and second criterion (``sanity``) hold or fail
    as ``state`` says: ``state["drift"] > 1`` fails the headline, ``state["sane"]``
    False fails the other criterion."""
    def run(instance, *, rng, quick):
        return Outcome(Criterion(HEADLINE, state["drift"], 1.0, "<="),
                       criteria=(Criterion(OTHER, 1.0 if state.get("sane", True) else 0.0,
                                           1.0, ">="),),
                       n_samples=1)

    return registry.register(lemma, statement=f"{lemma}: drift at most 1 (test fixture)",
                             reference="Lemma F.1", presets=presets or {"theory-2layer": "pass"},
                             findings=findings, check=run)


def check_json(capsys, *argv) -> tuple[int, dict]:
    code = main(["check", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


# ------------------------------------------------------------- verify check
def test_registered_finding_that_reproduces_exits_0(sandbox, capsys):
    state = {"drift": 5.0}
    register_drifting(state, findings=(finding(criteria=(HEADLINE,)),))
    code, out = check_json(capsys, "drifting", "--preset", "theory-2layer")
    assert code == 0
    assert out["passed"] is False and out["matches_expectation"] is False  # kept as before
    assert out["status"] == "known finding"
    kf = out["known_finding"]
    assert kf["reproduced"] is True and kf["required_here"] is True
    assert kf["why"].startswith("the <fake> network") and kf["replay"].startswith("verify check")
    # text mode says so, with the why, the evidence and the replay command
    assert main(["check", "drifting", "--preset", "theory-2layer"]) == 0
    text = capsys.readouterr().out
    assert "FAIL (known finding)" in text and "registered known finding" in text
    assert "evidence: seed 0: drift 5 > 1" in text and "replay: verify check drifting" in text


def test_registered_finding_that_no_longer_reproduces_exits_1(sandbox, capsys):
    state = {"drift": 0.5}  # the check now holds: the finding is gone
    register_drifting(state, findings=(finding(),))
    code, out = check_json(capsys, "drifting", "--preset", "theory-2layer")
    assert code == 1
    assert out["passed"] is True and out["matches_expectation"] is True
    assert out["status"] == "finding no longer reproduces"
    assert out["known_finding"]["reproduced"] is False
    assert main(["check", "drifting"]) == 1
    assert "NO LONGER REPRODUCES" in capsys.readouterr().out


def test_unregistered_mismatch_exits_1_and_plain_results_have_no_finding(sandbox, capsys):
    state = {"drift": 5.0}
    register_drifting(state)
    code, out = check_json(capsys, "drifting")
    assert code == 1 and out["status"] == "new mismatch" and out["known_finding"] is None
    state["drift"] = 0.5
    code, out = check_json(capsys, "drifting")
    assert code == 0 and out["status"] == "match" and out["known_finding"] is None


def test_a_mismatch_on_criteria_the_finding_is_not_about_is_new(sandbox, capsys):
    state = {"drift": 5.0, "sane": False}  # the registered criterion AND another one fail
    register_drifting(state, findings=(finding(criteria=(HEADLINE,)),))
    code, out = check_json(capsys, "drifting")
    assert code == 1 and out["status"] == "new mismatch"
    state.update(drift=0.5)  # only the unregistered criterion fails
    code, out = check_json(capsys, "drifting")
    assert code == 1 and out["status"] == "new mismatch"
    state.update(drift=5.0, sane=True)  # only the registered one: the known finding
    code, out = check_json(capsys, "drifting")
    assert code == 0 and out["status"] == "known finding"


@pytest.mark.parametrize("seed, quick, drift, status, code", [
    (0, False, 5.0, "known finding", 0),                  # in scope, reproduces
    (0, False, 0.5, "finding no longer reproduces", 1),   # in scope, gone
    (1, False, 0.5, "match", 0),                          # other seed: not required
    (1, False, 5.0, "known finding", 0),                  # ... but still explained
    (0, True, 0.5, "match", 0),                           # quick run: not required
    (0, True, 5.0, "known finding", 0),
])
def test_strict_scope_is_where_it_must_reproduce(sandbox, capsys, seed, quick, drift, status,
                                                 code):
    state = {"drift": drift}
    register_drifting(state, findings=(finding(seeds=(0,), quick=False),))
    argv = ["drifting", "--seed", str(seed)] + (["--quick"] if quick else [])
    got, out = check_json(capsys, *argv)
    assert (got, out["status"]) == (code, status)
    assert out["known_finding"]["required_here"] is (seed == 0 and not quick)


def test_a_configuration_that_is_not_a_preset_is_keyed_by_name_and_network(sandbox):
    base = get_preset("theory-2layer").to_dict()
    mine = Config.from_dict({**base, "name": "my-net", "counterexample": False})
    state = {"drift": 5.0}
    register_drifting(state, findings=(finding("my-net", network=mine.to_dict()["network"]),))
    r = registry.run_check("drifting", mine, seed=0, draws=1)
    assert r.status == "known finding" and r.accepted
    # another architecture under the same name is not what was examined
    net = dict(base["network"], latent_channels=base["network"]["latent_channels"] + 1)
    other = Config.from_dict({**base, "network": net, "name": "my-net",
                              "counterexample": False})
    r = registry.run_check("drifting", other, seed=0, draws=1)
    assert r.finding is None and r.status == "new mismatch" and not r.accepted


@pytest.mark.parametrize("bad, match", [
    (dict(why=""), "why"),
    (dict(replay=3), "replay"),
    (dict(seeds=(-1,)), "seeds"),
    (dict(seeds=()), "seeds"),
    (dict(quick="yes"), "quick"),
])
def test_malformed_finding_records_are_refused(bad, match):
    kw = dict(preset="p", differs="d", why="w", evidence="e", replay="r")
    with pytest.raises(VerifyError, match=match):
        KnownFinding(**{**kw, **bad})


def test_duplicate_or_foreign_findings_are_refused_at_registration(sandbox):
    with pytest.raises(VerifyError, match="one finding per"):
        register_drifting({"drift": 0}, findings=(finding(), finding()))
    with pytest.raises(VerifyError, match="about 'drifting'"):
        register_drifting({"drift": 0}, findings=(
            KnownFinding(preset="p", differs="d", why="w", evidence="e", replay="r",
                         lemma="elsewhere"),))


# ------------------------------------------------------------------ report
def _report(tmp_path, name="rep"):
    out = tmp_path / name
    code = main(["report", "--out", str(out), "--quick", "--jobs", "1"])
    return code, json.loads((out / "results.json").read_text()), out


def test_report_exits_0_when_every_mismatch_is_registered(sandbox, tmp_path, capsys):
    register_drifting({"drift": 5.0}, findings=(finding(criteria=(HEADLINE,)),))
    register_drifting({"drift": 0.5}, lemma="steady")
    code, data, out = _report(tmp_path)
    assert code == 0 and data["summary"]["exit_code"] == 0
    s = data["summary"]
    assert (s["known_findings"], s["new_mismatches"], s["findings_not_reproduced"]) == (1, 0, 0)
    assert s["mismatched"] == 1  # the verdict still differs from the expectation
    by = {r["lemma"]: r for r in data["results"]}
    assert by["drifting"]["status"] == "known finding" and by["steady"]["status"] == "match"
    [item] = data["findings"]
    assert item["outcome"] == "reproduced" and item["lemma"] == "drifting"
    html = (out / "index.html").read_text()
    md = (out / "REPORT.md").read_text()
    # the summary row marks it apart from a new FAIL; the section gives why, evidence, replay
    assert '<td class="known">FAIL (known finding)</td>' in html
    assert '<td class="bad">' not in html and "New mismatches" not in html
    assert "Registered known findings" in html and "the &lt;fake&gt; network" in html
    assert "<code>verify check drifting --preset theory-2layer --seed 0</code>" in html
    assert "| 🔶 *FAIL (known finding)* |" in md and "| ❌" not in md
    assert "**Replay**: `verify check drifting --preset theory-2layer --seed 0`" in md
    assert "known finding" in capsys.readouterr().out


def test_report_exits_1_on_a_new_mismatch_beside_a_known_finding(sandbox, tmp_path):
    register_drifting({"drift": 5.0}, findings=(finding(),))
    register_drifting({"drift": 5.0}, lemma="broken")  # nobody examined this one
    code, data, out = _report(tmp_path)
    assert code == 1 and data["summary"]["exit_code"] == 1
    assert (data["summary"]["known_findings"], data["summary"]["new_mismatches"]) == (1, 1)
    html = (out / "index.html").read_text()
    new = html[html.index('<h2 id="mismatches">New mismatches</h2>'):
               html.index('<h2 id="known-findings">')]
    assert "broken" in new and "drifting" not in new  # listed apart from the known one
    assert '<td class="bad">FAIL</td>' in html and '<td class="known">' in html


def test_report_exits_1_when_a_registered_finding_no_longer_reproduces(sandbox, tmp_path):
    register_drifting({"drift": 0.5}, findings=(finding(),))
    code, data, out = _report(tmp_path)
    assert code == 1 and data["summary"]["findings_not_reproduced"] == 1
    assert data["findings"][0]["outcome"] == "NO LONGER REPRODUCES"
    assert "pass (finding no longer reproduces)" in (out / "index.html").read_text()
    assert "❌ NO LONGER REPRODUCES" in (out / "REPORT.md").read_text()


def test_report_lists_a_finding_not_required_in_a_quick_run(sandbox, tmp_path):
    register_drifting({"drift": 0.5}, findings=(finding(quick=False),))
    code, data, _ = _report(tmp_path)
    assert code == 0 and data["findings"][0]["outcome"] == "not required here"
    assert data["findings"][0]["strict_here"] is False


# ------------------------------------------------------------ real registry
def test_registered_findings_are_replayable_and_about_expected_passes():
    """Every statement finding (lemmas/findings/*.toml) names a registered statement and
    a replay command the CLI accepts, on its preset (or a configuration file), with a
    seed of its strict scope."""
    sts = {k: v for k, v in registry.statements().items() if v.module.startswith("lemmas.")}
    real = [(st, f) for st in sts.values() for f in st.findings]
    assert real, "the statements register their examined findings as data"
    parser = build_parser()
    for st, f in real:
        assert f.statement == st.id and f.source == f"{st.id}.toml"
        argv = shlex.split(f.replay.split("&&")[-1])
        assert argv[0] == "verify"
        args = parser.parse_args(argv[1:])  # a command the CLI accepts
        assert args.command == "check" and args.lemma in (st.id, *st.checks), (st.id, argv)
        presets = {p for j in st.judges for p in (j.presets or registry.get_check(j.check).presets)}
        if f.preset in presets:
            assert args.preset in (f.preset, None) and args.config is None, (st.id, argv)
        else:  # a configuration's finding: replayed from its TOML
            assert args.config is not None, (st.id, f.preset)
        if f.seeds is not None:
            assert args.seed in f.seeds  # it replays where it must reproduce
        assert not args.quick or f.quick is not False


def test_trained_weights_finding_reproduces_on_the_shipped_generator():
    r = registry.run_check("trained-weights", "digits-glo", seed=0, draws=1)
    (v,) = [v for v in r.statements if v.statement == "fig3"]
    assert v.verdict == "fails"  # the examined mismatch is still there ...
    assert v.status == "known finding" and r.accepted  # ... and explained (fig3.toml)
    assert all(e["within"] for e in v.evidence)
