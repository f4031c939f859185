"""The statement engine (verify/statements.py, verify/registry.py): each statement gets
its own verdict from its own criteria over the shared draws; a criterion that asks more
than the quote (beyond the paper) never changes the statement's verdict; a criterion
that was not evaluated never lets a statement hold; statement findings are data whose
evidence is compared with the run."""

from __future__ import annotations

import textwrap

import pytest

from verify.errors import VerifyError
from verify.findings import load_statement_findings
from verify.registry import Registry, use
from verify.results import Criterion, Outcome
from verify.statements import Beyond, Judge, StatementVerdict, criteria_matching
from verify.verdicts import DrawRule


def _two_claims(instance, *, rng, quick):
    """'small' holds on every draw; 'none_other' fails on every draw; 'odd' fails on
    about half of them (draws differ through the weights)."""
    w = float(instance.network.weights[0].filters.ravel()[0])
    return Outcome(headline=Criterion("small", 0.0, 1.0, "<="),
                   criteria=(Criterion("none_other", 2.0, 1.0, "<="),
                             Criterion("odd", float(w > 0), 0.5, "<=")),
                   n_samples=1)


def _registry(findings=()):
    reg = Registry()
    reg.register("two-claims", statement="fixture", reference="fixture",
                 presets={"theory-2layer": "pass"}, check=_two_claims,
                 draws=DrawRule(tolerance=0.1, reason="fixture", draws=40))
    reg.register_statement(
        "unique", label="Fixture (caption)", section="Sec. 0", quote="There is one.",
        judges=Judge("two-claims", ("small",)),
        beyond=Beyond("two-claims", ("none_other",), asks="no other local minimum"))
    reg.register_statement(
        "missing", label="Fixture (missing)", section="Sec. 0", quote="It is judged.",
        judges=Judge("two-claims", ("small", "never_computed")))
    reg.register_statement(
        "half", label="Fixture (half)", section="Sec. 0", quote="Half of them.",
        judges=Judge("two-claims", criteria_matching("od*")))
    reg.register_statement("unjudged", label="Fixture (none)", section="Sec. 0",
                           quote="Not judged.", not_judged="no data offline")
    return reg


def _by_id(result) -> dict[str, StatementVerdict]:
    return {v.statement: v for v in result.statements}


def test_each_statement_has_its_own_verdict_over_shared_draws():
    reg = _registry()
    res = reg.run_check("two-claims", "theory-2layer", seed=0, draws=40)
    v = _by_id(res)
    assert v["unique"].verdict == "holds"
    assert v["unique"].draws["draws_failed"] == 0 and v["unique"].draws["draws"] == 40
    assert v["half"].verdict == "fails"          # about half the draws fail: rate > 0.1
    assert 5 <= v["half"].draws["draws_failed"] <= 35
    # the check's own combined verdict fails (none_other fails everywhere) ...
    assert res.verdict == "fails"
    # ... but the statement that holds is shown as holding, with a non-negative margin
    assert v["unique"].margin >= 0 and v["half"].margin < 0


def test_beyond_the_paper_never_changes_the_statement_verdict():
    reg = _registry()
    res = reg.run_check("two-claims", "theory-2layer", seed=0, draws=40)
    u = _by_id(res)["unique"]
    assert [b.verdict for b in u.beyond] == ["fails"]
    assert u.verdict == "holds"
    js = u.to_json()
    assert js["beyond_the_paper"][0]["asks"] == "no other local minimum"
    assert js["verdict"] == "holds" and js["failing_criteria"] == []


def test_a_criterion_not_evaluated_never_holds():
    reg = _registry()
    for draws in (1, 40):
        v = _by_id(reg.run_check("two-claims", "theory-2layer", seed=0, draws=draws))
        assert v["missing"].verdict == "uninformative"
        assert "never_computed" in v["missing"].why


def test_statements_are_listed_and_unjudged_ones_say_why():
    reg = _registry()
    sts = reg.statements()
    assert list(sts) == ["unique", "missing", "half", "unjudged"]
    assert sts["unjudged"].not_judged == "no data offline"
    with pytest.raises(VerifyError):
        reg.statement("nope")
    with pytest.raises(VerifyError):
        reg.register_statement("Bad Id", label="x", section="x", quote="x",
                               not_judged="x")
    with pytest.raises(VerifyError):  # neither judged nor a reason
        reg.register_statement("no-reason", label="x", section="x", quote="x")


def test_statement_findings_are_data_with_evidence_compared(tmp_path):
    path = tmp_path / "half.toml"
    path.write_text(textwrap.dedent("""
        [[finding]]
        preset = "theory-2layer"
        sentence = "Half of them."
        differs = "about half the draws fail"
        why = "the fixture's criterion depends on the sign of one weight"
        replay = "verify check half --seed 0"
        seeds = [0]
        single_draw = false
        [finding.evidence]
        failed = { field = "draws_failed", value = 15, tolerance = 10 }
        """))
    recs = load_statement_findings(path)
    reg = _registry()
    reg.add_statement_findings("half", recs)
    res = reg.run_check("two-claims", "theory-2layer", seed=0, draws=40)
    half = _by_id(res)["half"]
    assert half.status == "known finding" and half.accepted
    assert half.evidence[0]["within"] and half.evidence[0]["now"] == half.draws["draws_failed"]
    # the same record with evidence that no longer matches: drifted, not accepted
    bad = tmp_path / "b" / "half.toml"
    bad.parent.mkdir()
    bad.write_text(path.read_text().replace("value = 15, tolerance = 10",
                                            "value = 0, tolerance = 0.5"))
    reg2 = _registry()
    reg2.add_statement_findings("half", load_statement_findings(bad))
    half2 = _by_id(reg2.run_check("two-claims", "theory-2layer", seed=0, draws=40))["half"]
    assert half2.status == "finding evidence drifted" and not half2.accepted


def test_bad_findings_files_are_refused(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text('[[finding]]\npreset = "p"\ndiffers = ""\nwhy = "w"\nreplay = "r"\n')
    with pytest.raises(VerifyError, match="differs"):
        load_statement_findings(p)
    p.write_text("[[finding]\n")
    with pytest.raises(VerifyError, match="TOML"):
        load_statement_findings(p)


def test_run_accepted_follows_statements_not_the_combined_check():
    reg = _registry()
    with use(reg):
        res = reg.run_check("two-claims", "theory-2layer", seed=0, draws=40)
    # 'half' fails with no finding: a new mismatch, so the run is not accepted even
    # though 'unique' holds
    assert not res.accepted
    assert {v.statement: v.status for v in res.statements}["unique"] == "match"


def test_cli_checks_a_statement_by_its_id(capsys):
    from verify.cli import main

    reg = _registry()
    with use(reg):
        code = main(["check", "unique", "--draws", "40"])
        out = capsys.readouterr().out
        assert code == 0
        assert 'Fixture (caption) (Sec. 0): "There is one."' in out
        assert "unique [theory-2layer] holds: 0/40 network draws fail" in out
        assert "beyond the paper (no other local minimum): fails" in out
        code = main(["check", "half", "--draws", "40"])  # fails, no finding: exit 1
        assert code == 1 and "half [theory-2layer] FAILS" in capsys.readouterr().out
        assert main(["check", "unjudged"]) == 0
        assert "not judged: no data offline" in capsys.readouterr().out
        # the lemma id still works, and lists every statement it judges
        code = main(["check", "two-claims", "--draws", "40"])
        out = capsys.readouterr().out
        assert "unique [theory-2layer] holds" in out and "half [theory-2layer] FAILS" in out
        assert code == 1
        assert main(["check", "nothing-of-that-name"]) == 2
        assert "lemma: expected a lemma id" in capsys.readouterr().err
        assert main(["check", "unique", "--preset", "paper-fig4"]) == 2
        assert "is judged on theory-2layer" in capsys.readouterr().err


def test_verify_list_shows_statements_in_order(capsys):
    from verify.cli import main

    with use(_registry()):
        assert main(["list"]) == 0
    out = capsys.readouterr().out
    lines = [l.split()[0] for l in out.splitlines() if l.startswith("  ") and l.split()
             and l.split()[0] in ("unique", "missing", "half", "unjudged")]
    assert lines == ["unique", "missing", "half", "unjudged"]
    assert "not judged: no data offline" in out
