"""The numbers of a finding's prose come from the results.

A statement finding (``lemmas/findings/<statement>.toml``) says what differs and why in
``differs`` and ``why``; :meth:`verify.findings.StatementFinding.render` replaces each
``{name}`` there by the value of evidence ``name`` in the run (or by the statement
verdict's own field ``name``: ``draws_failed``, ``failure_ci_low``, ...). These tests
hold the records to that:

* the raw text never spells out, as a number of its own, the recorded value of one of
  its evidence entries (formatted as ``render`` formats it): that number belongs in a
  placeholder, or it would stay the same when the run's value moves;
* every ``{name}`` resolves, to an evidence label or to a field the statement verdict
  carries for the record's kind of run (over draws, single draw, or both);
* every evidence field resolves (is a number) on the committed reference run of the
  same statement and preset: a wrong path would make every run report the finding as
  drifted. The reference run is seed 0, full sample counts, the default draws; a record
  scoped to ``--quick`` or to single-draw runs is checked there for its field's path
  only (the sample counts change values, not the structure of the results).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from verify import registry
from verify.results import Criterion
from verify.statements import StatementVerdict
from verify.verdicts import DrawRule, judge_draws

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "reports" / "reference" / "results.json"

#: A placeholder: ``{name}`` with an ASCII identifier (``e^{−γC₀}`` is not one).
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: A number standing as a token of its own: not glued to a letter, digit, point or
#: hyphen before it ("1e-3", "k16" hold none), nor to a letter, a decimal part or a
#: hyphenated word after it ("8x8", "2-D", "4-layer" hold none); thousands separated by
#: commas, an optional minus sign.
NUMBER = re.compile(r"(?<![\w.\-])-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
                    r"(?![\w]|\.[0-9]|-[A-Za-z])")


def _records():
    sts = {k: v for k, v in registry.statements().items() if v.module.startswith("lemmas.")}
    recs = [f for st in sts.values() for f in st.findings]
    assert len({f.source for f in recs}) >= 13, "the statements' findings files load"
    return recs


RECORDS = _records()


def _rid(f) -> str:
    return (f"{f.source}:{f.preset}:{f.check or '-'}:seeds={f.seeds}:quick={f.quick}"
            f":single={f.single_draw}")


def fmt(x: float) -> str:
    """A number as :meth:`StatementFinding.render` writes it."""
    f = float(x)
    return f"{int(f):,}" if f.is_integer() else f"{f:.3g}"


def numbers(text: str) -> list[str]:
    """The standalone number tokens of ``text`` (a Unicode minus read as '-')."""
    return NUMBER.findall(text.replace("\u2212", "-"))


def _numeric_keys(d: dict) -> set[str]:
    return {k for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def verdict_fields() -> dict[bool, set[str]]:
    """The numeric fields of a statement verdict's JSON, which ``render`` may use: over
    draws (True) and on a single draw (False)."""
    crit = Criterion("c", 0.5, 0.1, "<=")
    over, draws = judge_draws(["fails", "holds", "fails"],
                              DrawRule(tolerance=0.1, reason="fields", draws=40))
    multi = StatementVerdict("s", "l", "q", "c", "p", "fails", criteria=(crit,),
                             over_draws=over, draws=draws).to_json()
    single = StatementVerdict("s", "l", "q", "c", "p", "fails", criteria=(crit,)).to_json()
    return {True: _numeric_keys(multi), False: _numeric_keys(single)}


FIELDS = verdict_fields()


def _fields_for(f) -> set[str]:
    if f.single_draw is None:  # it covers both kinds of run: only what both carry
        return FIELDS[True] & FIELDS[False]
    return FIELDS[not f.single_draw]


# ---------------------------------------------------------------- the helpers
def test_number_tokens_are_standalone_numbers():
    assert numbers("fails on 40 of 40 draws, [0.0905, 1], 10,240 starts, n_d^-0.096") == [
        "40", "40", "0.0905", "1", "10,240", "-0.096"]
    assert numbers("8x8 digits, k16, 2-D, 1e-3, ρ₃, B(z*, 0.25‖z*‖), at 1.5.") == [
        "0.25", "1.5"]
    assert numbers("{draws_failed} of {draws_tested}") == []
    assert (fmt(10240.0), fmt(0.0905224), fmt(1.0), fmt(-0.0963)) == (
        "10,240", "0.0905", "1", "-0.0963")


def test_verdict_fields_are_the_ones_render_is_given():
    assert {"draws_failed", "draws_tested", "failure_ci_low", "failure_ci_high",
            "statistic"} <= FIELDS[True]
    assert "statistic" in FIELDS[False] and "draws_failed" not in FIELDS[False]


# ---------------------------------------------------------------- the records
@pytest.mark.parametrize("f", RECORDS, ids=_rid)
def test_prose_does_not_spell_out_recorded_evidence(f):
    """A number of ``differs``/``why`` that is the recorded value of one of the record's
    own evidence entries must be that entry's placeholder (0 and 1 are too common as
    words of the prose to tell)."""
    bad = []
    for part in ("differs", "why"):
        tokens = set(numbers(getattr(f, part)))
        for e in f.evidence:
            if e.value in (0, 1):
                continue
            if fmt(e.value) in tokens:
                bad.append(f"{part} spells {fmt(e.value)} (evidence {e.label}: write "
                           f"{{{e.label}}})")
    assert bad == [], _rid(f)


@pytest.mark.parametrize("f", RECORDS, ids=_rid)
def test_every_placeholder_resolves(f):
    labels = {e.label for e in f.evidence}
    known = labels | _fields_for(f)
    for part in ("differs", "why"):
        text = getattr(f, part)
        unknown = set(PLACEHOLDER.findall(text)) - known
        assert unknown == set(), (_rid(f), part, sorted(unknown))
        # rendered with the recorded values and such a verdict's fields, none is left
        fields = {k: 0.5 for k in _fields_for(f)}
        assert PLACEHOLDER.findall(f.render(text, (), fields)) == [], (_rid(f), part)


def test_a_placeholder_that_never_resolves_is_refused():
    from dataclasses import replace

    f = next(r for r in RECORDS if r.evidence and r.single_draw is False)
    bad = replace(f, differs=f.differs + " ({no_such_field})")
    with pytest.raises(AssertionError):
        test_every_placeholder_resolves(bad)
    single = next(r for r in RECORDS if r.single_draw is True)
    with pytest.raises(AssertionError):  # a single-draw verdict has no draws_failed
        test_every_placeholder_resolves(replace(single, why="{draws_failed} of them"))
    # a recorded value written out instead of its placeholder
    g, e = next((r, e) for r in RECORDS for e in r.evidence if e.value not in (0, 1))
    test_prose_does_not_spell_out_recorded_evidence(g)
    with pytest.raises(AssertionError):
        test_prose_does_not_spell_out_recorded_evidence(
            replace(g, why=g.why + f" ({fmt(e.value)} of them)"))


# ---------------------------------------------------------------- the reference run
def _reference_verdicts() -> list[tuple[dict, dict, dict]]:
    payload = json.loads(RESULTS.read_text(encoding="utf-8"))
    return [(r, v, r.get("details") or {}) for r in payload["results"]
            for v in (r.get("statements") or [])]


REFERENCE = _reference_verdicts()


def _reference_for(f) -> list[tuple[dict, dict, dict]]:
    return [(r, v, d) for r, v, d in REFERENCE
            if v["statement"] == f.statement and v["preset"] == f.preset
            and (not f.check or v["check"] == f.check)]


#: Records with no run of their statement and preset in the reference report: a
#: configuration that is not a preset (replayed from its own TOML by its own test), or a
#: preset judged on request only, not in the default report (mnist-gan: replayed by
#: property_tests/test_mnist.py).
NO_REFERENCE = {"sup2-wdc.toml:finding-concentration-2-8", "sec3-rate.toml:mnist-gan", "sec3-phase.toml:mnist-gan"}


@pytest.mark.parametrize("f", RECORDS, ids=_rid)
def test_evidence_fields_resolve_on_the_reference_run(f):
    runs = _reference_for(f)
    if f"{f.source}:{f.preset}" in NO_REFERENCE:
        assert runs == []  # else it belongs here
        return
    assert runs, f"no reference verdict of {f.statement} on {f.preset}"
    for r, v, details in runs:
        for e in f.evidence:
            now = e.current(v, details)
            assert isinstance(now, (int, float)) and not isinstance(now, bool) \
                and math.isfinite(now), (_rid(f), e.label, e.field, now)
        covered = f.covers(v["statement"], v["preset"], v.get("draws") or 1, v["check"])
        if covered and f.strict_on(r["seed"], r["quick"]):
            # the reference rendered this record: its prose fields resolve there too
            fields = {k: x for k, x in v.items() if k in _fields_for(f)}
            assert set(fields) == _fields_for(f), (_rid(f), sorted(fields))
            for part in ("differs", "why"):
                out = f.render(getattr(f, part), (), v)
                assert PLACEHOLDER.findall(out) == [], (_rid(f), out)


def test_a_wrong_evidence_path_is_refused():
    from dataclasses import replace

    from verify.findings import Evidence

    f = next(r for r in RECORDS if r.evidence and r.single_draw is False
             and f"{r.source}:{r.preset}" not in NO_REFERENCE)
    test_evidence_fields_resolve_on_the_reference_run(f)
    e = f.evidence[-1]
    typo = Evidence(e.field.replace(".", ".no_such_key.", 1) if "." in e.field
                    else "no_such_field", e.value, e.tolerance, e.label)
    with pytest.raises(AssertionError):
        test_evidence_fields_resolve_on_the_reference_run(
            replace(f, evidence=f.evidence[:-1] + (typo,)))
