"""Known findings: mismatches that have been examined, registered as data.

A check's verdict can differ from its expectation for a reason that has been looked
into: the paper's claim does not hold on that network, or the shipped generator is not
what the paper describes. Such a finding is a record (scikit-learn's
``expected_failed_checks``), registered with the lemma it is about
(``register(..., findings=(KnownFinding(...),))``), never a special case in code. The
engine matches results against the records; it knows no finding by name.

The rule is that of a *strict* expected failure, within the scope where the finding was
examined. By what a result shows and whether a finding covers it, its status is:

* matches its expectation, no finding covers it: ``match`` (exit 0);
* differs, no finding covers it: ``new mismatch`` (exit 1);
* differs as a covering finding says (only its criteria fail): ``known finding`` (exit 0);
* differs, but criteria the finding is not about fail too: ``new mismatch`` (exit 1);
* matches its expectation inside a covering finding's strict scope: ``finding no longer
  reproduces`` (exit 1);
* matches its expectation outside that scope: ``match`` (exit 0);
* crashed: ``error`` (exit 1);
* the statement's hypotheses are not met by the configuration (the check said so, with
  the reason): ``not applicable`` (exit 0; never a mismatch, never a pass).

A finding covers the results of its lemma on its preset (or on a configuration of that
name, for a TOML file; ``network`` pins the architecture too). ``seeds`` and ``quick``
give its *strict scope*, where it was seen to reproduce and must keep doing so: a finding
that shows on some seeds or only with the full sample counts is tolerated elsewhere but
not required there. ``criteria`` names the criteria the finding is about: a result is the
known finding only when every criterion that fails is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .errors import invalid

if TYPE_CHECKING:  # pragma: no cover
    from .results import CheckResult

#: The statuses of a result (``CheckResult.status``); the first two exit 0.
MATCH = "match"
KNOWN = "known finding"
STALE = "finding no longer reproduces"
NEW = "new mismatch"
ERROR = "error"
#: The statement's hypotheses are not met by the configuration (verdict "not
#: applicable", with the reason): exit 0, never a mismatch.
NOT_APPLICABLE = "not applicable"
ACCEPTED = (MATCH, KNOWN, NOT_APPLICABLE)


def scope_text(seeds, quick, single_draw) -> str:
    """A finding's strict scope in words: its seeds, its run kind, its draws."""
    where = ("every seed" if seeds is None else
             ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds)))
    runs = {None: "full and --quick runs", True: "--quick runs", False: "full runs"}
    draws = {None: "", True: "; single-draw runs (--draws 1)",
             False: "; verdicts over many network draws"}
    return f"{where}; {runs[quick]}{draws[single_draw]}"


@dataclass(frozen=True)
class KnownFinding:
    """One examined mismatch of a lemma's check on one preset or configuration.

    Parameters
    ----------
    preset : str
        The preset (or a TOML configuration's ``name``) it is about.
    differs : str
        What differs from the paper, in one sentence.
    why : str
        Why it differs (the examination's conclusion).
    evidence : str
        The numbers that show it (counts, statistics, which seeds).
    replay : str
        The command that reproduces it (``verify check LEMMA --preset P --seed N``).
    seeds : tuple of int or None
        The seeds on which it must reproduce (None: every seed).
    quick : bool or None
        True: it must reproduce in ``--quick`` runs only; False: in full runs only;
        None: in both.
    criteria : tuple of str
        The criteria it is about (empty: any). A result whose failing criteria are not
        all among these is a new mismatch.
    network : dict or None
        For a configuration that is not a preset: its ``[network]`` table, which the
        result's must equal (so another architecture of the same name is not covered).
    single_draw : bool or None
        For a check judged over network draws (:mod:`verify.verdicts`): True, the
        finding is about single-draw runs (``--draws 1``, e.g. one network draw that
        breaks the statement) and covers only those; False, it is about the verdict
        over many draws and covers only those; None: both.
    lemma : str
        Filled in by :func:`verify.registry.register`.
    """

    preset: str
    differs: str
    why: str
    evidence: str
    replay: str
    seeds: tuple[int, ...] | None = None
    quick: bool | None = None
    criteria: tuple[str, ...] = ()
    network: dict[str, Any] | None = field(default=None, compare=False)
    single_draw: bool | None = None
    lemma: str = ""

    def __post_init__(self) -> None:
        for name in ("preset", "differs", "why", "evidence", "replay"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise invalid(f"KnownFinding.{name}", "a non-empty string", value)
        if self.seeds is not None:
            seeds = tuple(self.seeds)
            if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                    for s in seeds):
                raise invalid("KnownFinding.seeds", "None or a non-empty tuple of integers >= 0",
                              self.seeds)
            object.__setattr__(self, "seeds", seeds)
        if self.quick is not None and not isinstance(self.quick, bool):
            raise invalid("KnownFinding.quick", "True, False or None", self.quick)
        crit = (self.criteria,) if isinstance(self.criteria, str) else tuple(self.criteria)
        if not all(isinstance(c, str) and c for c in crit):
            raise invalid("KnownFinding.criteria", "a tuple of criterion names", self.criteria)
        object.__setattr__(self, "criteria", crit)
        if self.single_draw is not None and not isinstance(self.single_draw, bool):
            raise invalid("KnownFinding.single_draw", "True, False or None", self.single_draw)
        if self.network is not None and not isinstance(self.network, dict):
            raise invalid("KnownFinding.network", "a dict (a [network] table) or None",
                        self.network)

    # ------------------------------------------------------------ matching
    @property
    def key(self) -> tuple:
        return (self.lemma, self.preset, self.seeds, self.quick, self.single_draw)

    def covers(self, lemma: str, preset: str, network: dict[str, Any] | None = None,
               draws: int = 1) -> bool:
        """Whether results of ``lemma`` on ``preset`` (with that network, judged over
        ``draws`` network draws) are about it."""
        if lemma != self.lemma or preset != self.preset:
            return False
        if self.single_draw is not None and self.single_draw != (int(draws) == 1):
            return False
        return self.network is None or network == self.network

    def strict_on(self, seed: int, quick: bool) -> bool:
        """Whether the finding must reproduce on this seed and sample-count mode."""
        return ((self.seeds is None or (isinstance(seed, int) and seed in self.seeds))
                and (self.quick is None or bool(quick) == self.quick))

    def reproduced_by(self, result: "CheckResult") -> bool:
        """The result differs from its expectation, and only as registered."""
        if result.error is not None or result.matches_expectation:
            return False
        if not self.criteria:
            return True
        # the criteria that do not hold: failing, or uninformative (nothing tested)
        failing = {c.name for c in result.criteria if not c.holds}
        return failing <= set(self.criteria)

    def scope(self) -> str:
        """Where it must reproduce, in words."""
        return scope_text(self.seeds, self.quick, self.single_draw)

    def to_json(self) -> dict[str, Any]:
        return {"lemma": self.lemma, "preset": self.preset, "differs": self.differs,
                "why": self.why, "evidence": self.evidence, "replay": self.replay,
                "seeds": None if self.seeds is None else list(self.seeds),
                "quick": self.quick, "criteria": list(self.criteria),
                "single_draw": self.single_draw,
                "scope": self.scope()}


def validate(lemma: str, findings: Iterable[KnownFinding]) -> tuple[KnownFinding, ...]:
    """The findings of a registration, stamped with its lemma id; duplicates refused."""
    from dataclasses import replace

    if isinstance(findings, KnownFinding):
        findings = (findings,)
    out: list[KnownFinding] = []
    for f in findings:
        if not isinstance(f, KnownFinding):
            raise invalid(f"{lemma}.findings", "KnownFinding records", f)
        if f.lemma and f.lemma != lemma:
            raise invalid(f"{lemma}.findings", f"findings about {lemma!r}", f.lemma)
        f = replace(f, lemma=lemma)
        if any(g.key == f.key for g in out):
            raise invalid(f"{lemma}.findings", "one finding per (preset, seeds, quick)",
                          f"two for {f.preset!r}")
        out.append(f)
    return tuple(out)


def finding_for(findings: Sequence[KnownFinding], lemma: str, preset: str,
                network: dict[str, Any] | None, seed: int, quick: bool,
                draws: int = 1) -> KnownFinding | None:
    """The finding that covers this run: one whose strict scope includes it first,
    else any that covers its (lemma, preset, number of draws)."""
    covering = [f for f in findings if f.covers(lemma, preset, network, draws)]
    strict = [f for f in covering if f.strict_on(seed, quick)]
    return (strict or covering or [None])[0]


def network_of(result: "CheckResult") -> dict[str, Any] | None:
    """The ``[network]`` table a result was computed on (from its stored config)."""
    net = result.config.get("network") if isinstance(result.config, dict) else None
    return net if isinstance(net, dict) else None


#: What a run made of a finding that covers one of its results, by the result's status.
OUTCOMES = {KNOWN: "reproduced", STALE: "NO LONGER REPRODUCES", MATCH: "not required here",
            NEW: "differs in another way", ERROR: "the check crashed"}


def status(result: "CheckResult") -> str:
    """``match``, ``known finding``, ``finding no longer reproduces``, ``new mismatch``
    or ``error`` (the rule of the module docstring)."""
    if result.error is not None:
        return ERROR
    if getattr(result, "not_applicable", ""):
        return NOT_APPLICABLE
    f = result.finding
    if f is None:
        return MATCH if result.matches_expectation else NEW
    if result.matches_expectation:
        return STALE if f.strict_on(result.seed, result.quick) else MATCH
    return KNOWN if f.reproduced_by(result) else NEW


def accepted(result: "CheckResult") -> bool:
    """Exit-0 material: it matches its expectation, or differs only as registered
    (:attr:`verify.results.CheckResult.accepted`: statement by statement where the run
    judges statements)."""
    return bool(result.accepted)


def exit_code(results: Iterable["CheckResult"]) -> int:
    """0 when every result is accepted, else 1 (verify/cli/README.md)."""
    return 0 if all(accepted(r) for r in results) else 1


def counts(results: Sequence["CheckResult"]) -> dict[str, int]:
    """How many results have each status (keys as in ``results.json``'s summary)."""
    st = [status(r) for r in results]
    return {"new_mismatches": st.count(NEW), "known_findings": st.count(KNOWN),
            "findings_not_reproduced": st.count(STALE)}


# ---------------------------------------------------------------- the section
def section_items(checks: Sequence[Any], results: Sequence["CheckResult"],
                  quick: bool, seed: int) -> list[dict[str, Any]]:
    """Every finding registered with the checks that ran, with what this run made of
    it: ``reproduced``, ``NO LONGER REPRODUCES``, ``not required here`` (outside its
    strict scope, and it did not show) or ``not run`` (its preset is not a default).

    Plain dicts (JSON-ready), in proof order; the report renders them.
    """
    by_key = {(r.lemma, r.preset): r for r in results}
    items = []
    seen = set()
    for chk in checks:
        for f in getattr(chk, "findings", ()):
            if f.key in seen:
                continue
            seen.add(f.key)
            r = by_key.get((f.lemma, f.preset))
            if r is None or not f.covers(r.lemma, r.preset, network_of(r),
                                         getattr(r, "draws", 1)):
                outcome = "not run"
            elif r.finding is None or r.finding.key != f.key:
                outcome = "not required here"  # another record of the same preset applies
            else:
                outcome = OUTCOMES[status(r)]
            items.append({**f.to_json(), "outcome": outcome,
                          "strict_here": f.strict_on(seed, quick)})
    return items



# ---------------------------------------------------------------- statement findings
#: A finding's evidence that drifted from the current run (strict scope): exit 1.
DRIFTED = "finding evidence drifted"


@dataclass(frozen=True)
class Evidence:
    """One named quantity of a finding: the value it had when the finding was examined,
    and how far the current run may be from it.

    ``field`` is a path into the statement verdict's JSON (``failure_rate``,
    ``draws_failed``, ``criteria.<name>.statistic``) or, with the prefix ``details.``,
    into the check result's details (``details.over_draws.<key>``).
    """

    field: str
    value: float
    tolerance: float
    label: str = ""

    def current(self, verdict_json: dict[str, Any], details: dict[str, Any]) -> Any:
        path = self.field.split(".")
        if path[0] == "details":
            node: Any = details
            path = path[1:]
        elif path[0] == "criteria" and len(path) >= 3:
            node = {c["name"]: c for c in verdict_json.get("criteria", [])}
            path = path[1:]
        else:
            node = verdict_json
        for key in path:
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def compare(self, verdict_json: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
        now = self.current(verdict_json, details)
        try:
            x = float(now)
            ok = abs(x - float(self.value)) <= float(self.tolerance)
        except (TypeError, ValueError):
            x, ok = None, False
        return {"field": self.field, "label": self.label or self.field,
                "recorded": self.value, "tolerance": self.tolerance, "now": x,
                "within": bool(ok)}


@dataclass(frozen=True)
class StatementFinding:
    """An examined mismatch of one statement on one preset, loaded from a data file
    (``lemmas/findings/<statement id>.toml``, :func:`load_statement_findings`).

    ``sentence`` is the exact sentence that does not reproduce (default: the whole
    quote); ``measured_on`` names the epsilon, widths and generator it was measured on.
    The rest is as :class:`KnownFinding`: ``differs``, ``why``, ``replay``, ``seeds``,
    ``quick``, ``single_draw`` give what differs and the strict scope. ``evidence``:
    named quantities compared with each run that reproduces the finding.
    """

    statement: str
    preset: str
    differs: str
    why: str
    replay: str
    sentence: str = ""
    measured_on: str = ""
    seeds: tuple[int, ...] | None = None
    quick: bool | None = None
    single_draw: bool | None = None
    evidence: tuple[Evidence, ...] = ()
    source: str = ""
    check: str = ""

    def strict_on(self, seed: Any, quick: bool) -> bool:
        return ((self.seeds is None or (isinstance(seed, int) and seed in self.seeds))
                and (self.quick is None or bool(quick) == self.quick))

    def covers(self, statement: str, preset: str, draws: int, check: str = "") -> bool:
        """About this statement on this preset (and, when the record names one, judged by
        this check: a statement two checks judge can differ on one of them only)."""
        if statement != self.statement or preset != self.preset:
            return False
        if self.check and check and check != self.check:
            return False
        return self.single_draw is None or self.single_draw == (int(draws) <= 1)

    def render(self, text: str, evidence_now: Sequence[dict[str, Any]] = (),
               fields: dict[str, Any] | None = None) -> str:
        """``text`` with ``{name}`` replaced by evidence ``name``'s value in this run
        (its recorded value when the run did not compare it), or by the statement
        verdict's own field ``name`` (``draws_failed``, ``draws_tested``,
        ``failure_ci_low``, ...): the numbers of a finding's prose come from the
        results, formatted once."""
        now = {e["label"]: e.get("now") for e in evidence_now}
        values = {k: v for k, v in (fields or {}).items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)}
        values.update({e.label: now.get(e.label, e.value) for e in self.evidence})

        def fmt(x: Any) -> str:
            if x is None:
                return "–"
            f = float(x)
            return f"{int(f):,}" if f.is_integer() else f"{f:.3g}"

        out = text
        for name, value in values.items():
            out = out.replace("{" + name + "}", fmt(value))
        return out

    def scope(self) -> str:
        """Where it must reproduce, in words."""
        return scope_text(self.seeds, self.quick, self.single_draw)

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement, "preset": self.preset,
                "sentence": self.sentence, "measured_on": self.measured_on,
                "differs": self.differs, "why": self.why, "replay": self.replay,
                "seeds": None if self.seeds is None else list(self.seeds),
                "quick": self.quick, "single_draw": self.single_draw,
                "scope": self.scope(), "source": self.source, "check": self.check or None,
                "evidence": [{"field": e.field, "label": e.label, "value": e.value,
                              "tolerance": e.tolerance} for e in self.evidence]}


def _opt_bool(where: str, v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    raise invalid(where, "true or false (or absent)", v)


def load_statement_findings(path) -> tuple[StatementFinding, ...]:
    """The findings of one data file: ``[[finding]]`` tables, each with ``preset``,
    ``differs``, ``why``, ``replay`` and optional ``sentence``, ``measured_on``,
    ``seeds``, ``quick``, ``single_draw`` and ``[finding.evidence]`` (name =
    ``{field, value, tolerance}``); the statement id is the file's stem."""
    import tomllib
    from pathlib import Path

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise invalid(f"findings file {path.name}", "a readable TOML file",
                      f"{type(exc).__name__}: {exc}") from None
    out = []
    for i, rec in enumerate(data.get("finding", [])):
        where = f"{path.name}: finding {i + 1}"
        for key in ("preset", "differs", "why", "replay"):
            if not isinstance(rec.get(key), str) or not rec[key].strip():
                raise invalid(f"{where}: {key}", "a non-empty string", rec.get(key))
        seeds = rec.get("seeds")
        if seeds is not None and (not isinstance(seeds, list) or not seeds or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
            raise invalid(f"{where}: seeds", "a non-empty list of integers >= 0", seeds)
        ev = []
        for name, e in (rec.get("evidence") or {}).items():
            if not isinstance(e, dict) or not isinstance(e.get("value"), (int, float)) \
                    or not isinstance(e.get("tolerance"), (int, float)) \
                    or isinstance(e.get("value"), bool) or e["tolerance"] < 0:
                raise invalid(f"{where}: evidence.{name}",
                              "{ field = 'path', value = number, tolerance = number >= 0 }", e)
            ev.append(Evidence(str(e.get("field", name)), float(e["value"]),
                               float(e["tolerance"]), str(e.get("label", name))))
        out.append(StatementFinding(
            statement=path.stem, preset=rec["preset"], differs=rec["differs"].strip(),
            why=rec["why"].strip(), replay=rec["replay"].strip(),
            sentence=str(rec.get("sentence", "")).strip(),
            measured_on=str(rec.get("measured_on", "")).strip(),
            seeds=None if seeds is None else tuple(seeds),
            quick=_opt_bool(f"{where}: quick", rec.get("quick")),
            single_draw=_opt_bool(f"{where}: single_draw", rec.get("single_draw")),
            evidence=tuple(ev), source=path.name, check=str(rec.get("check", "")).strip()))
    return tuple(out)


def statement_finding_for(findings, statement: str, preset: str, seed, quick: bool,
                          draws: int, check: str = ""):
    covering = [f for f in findings if f.covers(statement, preset, draws, check)]
    strict = [f for f in covering if f.strict_on(seed, quick)]
    return (strict or covering or [None])[0]


def statement_status(v) -> str:
    """A statement verdict's status: ``match`` (including ``not applicable``), ``known
    finding``, ``finding no longer reproduces``, ``finding evidence drifted``, ``new
    mismatch`` or ``error``."""
    if v.verdict == "error":
        return ERROR
    f = v.finding
    strict = f is not None and f.strict_on(v.seed, v.quick)
    if v.matches_expectation:
        return STALE if strict and v.verdict != "not applicable" else MATCH
    if f is None:
        return NEW
    if strict and v.evidence and not all(e["within"] for e in v.evidence):
        return DRIFTED
    return KNOWN


__all__ = ["KnownFinding", "MATCH", "KNOWN", "STALE", "NEW", "ERROR", "NOT_APPLICABLE", "ACCEPTED",
           "validate", "finding_for", "network_of", "status", "accepted", "exit_code", "counts",
           "section_items", "Evidence", "StatementFinding", "DRIFTED",
           "load_statement_findings", "statement_finding_for", "statement_status"]
