"""The paper's statements as the unit of judgment.

A *check* (:mod:`verify.registry`) is a computation: it draws networks, computes
statistics and returns an :class:`~verify.results.Outcome` with named criteria. A
*statement* is a sentence of the paper, quoted exactly, with the criteria that judge
exactly that sentence. One check's draws serve every statement it judges (the draws are
shared), but each statement gets its own verdict, failure count and interval over them.

:class:`Statement`
    id (``thm1``, ``fig4-caption``, ...), the paper's label, the section, the exact
    quote, the hypotheses it is stated under, and its :class:`Judge` records (which
    check's outcome judges it, on which presets, by which criteria). A statement with
    no judge is listed as ``not judged`` with its reason.
:class:`Judge`
    ``criteria`` is a tuple of criterion names of the check's outcome, or a function
    ``criteria(outcome) -> iterable of Criterion`` computing the statement's own
    criteria from the outcome's details and tables (so a statement module owns its
    criteria while the check's computation is shared).
:class:`Beyond`
    A criterion that asks *more* than the quote (e.g. "no local minimum other than z*"
    where the paper says "a unique global minimum"). It is judged and reported beside
    the statement with its own verdict and never becomes the statement's verdict.
:class:`StatementVerdict`
    One statement judged on one check result: the verdict (``holds``, ``fails``,
    ``uninformative``, ``not applicable``, or ``error``), over draws its failure count
    and exact interval, the criteria of the seed's network, the beyond-the-paper
    verdicts, the expectation and, when the verdict differs, the registered finding.

The rule that no statement module can bypass: a criterion a statement names that the
outcome does not carry (it was not evaluated) makes that draw's verdict
``uninformative``, never ``holds`` (:func:`judge_outcome`).

Nothing here knows a statement by name: the statements are registered by the modules of
the ``lemmas`` package (``register_statement`` at the end of each module).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Sequence

from .errors import invalid
from .results import Criterion, Outcome, combined_verdict, jsonable

if TYPE_CHECKING:  # pragma: no cover
    from .findings import StatementFinding
    from .presets import Config

StatementVerdictWord = Literal["holds", "fails", "uninformative", "not applicable", "error"]

#: The ids the paper's statements take: lower-case words joined by hyphens.
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")

CriteriaSpec = "tuple[str, ...] | Callable[[Outcome], Iterable[Criterion]]"


def _criteria_spec(where: str, criteria: Any) -> Any:
    if callable(criteria):
        return criteria
    names = (criteria,) if isinstance(criteria, str) else tuple(criteria)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise invalid(where, "a non-empty tuple of criterion names, or a function "
                             "criteria(outcome) -> Criterion records", criteria)
    return names


def _presets(where: str, presets: Any) -> tuple[str, ...] | None:
    if presets is None:
        return None
    ps = (presets,) if isinstance(presets, str) else tuple(presets)
    if not ps or not all(isinstance(p, str) and p for p in ps):
        raise invalid(where, "None or a non-empty tuple of preset names", presets)
    return ps


@dataclass(frozen=True)
class Judge:
    """How one check's outcome judges a statement.

    Parameters
    ----------
    check : str
        The lemma id of the check whose draws (and outcome) are used.
    criteria : tuple of str, or callable
        The criteria that judge exactly the quote: names of the outcome's criteria, or
        ``criteria(outcome) -> iterable of Criterion``. Called on every draw's outcome
        (the draw rule's lighter check too), so it may read only what every draw's
        ``details`` carries.
    presets : tuple of str or None
        The check's presets on which this statement is judged in the default report
        (None: all of them). A configuration that is not one of the check's presets is
        judged when ``applies`` accepts it.
    applies : callable or None
        ``applies(config) -> reason or None``: why the statement's hypotheses are not
        met by this network (its verdict is then ``not applicable``, with the reason).
    expect : dict or None
        Preset -> "holds" or "fails", overriding the expectation derived from the
        check's ("pass" -> "holds", "fail" -> "fails").
    what : str
        What the criteria compute, in one line.
    """

    check: str
    criteria: Any
    presets: tuple[str, ...] | None = None
    applies: Callable[["Config"], str | None] | None = field(default=None, compare=False)
    expect: dict[str, str] | None = None
    what: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.check, str) or not self.check:
            raise invalid("Judge.check", "a lemma id", self.check)
        object.__setattr__(self, "criteria",
                           _criteria_spec(f"Judge({self.check!r}).criteria", self.criteria))
        object.__setattr__(self, "presets",
                           _presets(f"Judge({self.check!r}).presets", self.presets))
        for p, v in (self.expect or {}).items():
            if v not in ("holds", "fails"):
                raise invalid(f"Judge({self.check!r}).expect[{p!r}]", "'holds' or 'fails'", v)

    def covers(self, check: str, preset: str, check_presets: Iterable[str]) -> bool:
        """Whether a run of ``check`` on ``preset`` judges the statement: on one of the
        check's own presets only where listed; on any other configuration always (its
        hypotheses are then asked of ``applies``)."""
        if check != self.check:
            return False
        if preset in set(check_presets):
            return self.presets is None or preset in self.presets
        return True


@dataclass(frozen=True)
class Beyond:
    """A criterion that asks more than the quote: reported beside, never the verdict.

    ``asks`` says in one line what it asks beyond the sentence.
    """

    check: str
    criteria: Any
    asks: str
    presets: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.asks, str) or not self.asks.strip():
            raise invalid("Beyond.asks", "a non-empty string (what it asks beyond the quote)",
                          self.asks)
        object.__setattr__(self, "criteria",
                           _criteria_spec(f"Beyond({self.check!r}).criteria", self.criteria))
        object.__setattr__(self, "presets",
                           _presets(f"Beyond({self.check!r}).presets", self.presets))

    def covers(self, check: str, preset: str, check_presets: Iterable[str]) -> bool:
        return Judge.covers(self, check, preset, check_presets)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Statement:
    """One sentence (or tight family of sentences) of the paper, judged as written.

    Parameters
    ----------
    id : str
        Short id (``thm1``, ``fig4-caption``); accepted wherever a lemma id is.
    label : str
        The paper's label ("Theorem 1", "Fig. 4 (caption)").
    section : str
        Where it stands ("Sec. 3", "Sec. 4.2").
    quote : str
        The exact words of the paper (math in Unicode).
    hypotheses : str
        What it is stated under, in one line.
    judges : tuple of Judge
        The checks whose outcomes judge it (empty: not judged, see ``not_judged``).
    beyond : tuple of Beyond
        Criteria that ask more than the quote.
    not_judged : str
        Why no check judges it (required when ``judges`` is empty).
    module : str
        The module that registered it (set by the registry).
    order : tuple
        Position in the proof's order (set by the registry).
    """

    id: str
    label: str
    section: str
    quote: str
    hypotheses: str = ""
    judges: tuple[Judge, ...] = ()
    beyond: tuple[Beyond, ...] = ()
    not_judged: str = ""
    module: str = ""
    order: tuple = (10**6, 0)
    findings: tuple["StatementFinding", ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or not set(self.id) <= _ID_CHARS \
                or self.id[0] == "-" or self.id[-1] == "-":
            raise invalid("Statement.id", "lower-case letters, digits and hyphens "
                                          "(e.g. 'fig4-caption')", self.id)
        for name in ("label", "section", "quote"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v.strip():
                raise invalid(f"statement {self.id!r}: {name}", "a non-empty string", v)
        judges = (self.judges,) if isinstance(self.judges, Judge) else tuple(self.judges)
        if not all(isinstance(j, Judge) for j in judges):
            raise invalid(f"statement {self.id!r}: judges", "Judge records", self.judges)
        beyond = (self.beyond,) if isinstance(self.beyond, Beyond) else tuple(self.beyond)
        if not all(isinstance(b, Beyond) for b in beyond):
            raise invalid(f"statement {self.id!r}: beyond", "Beyond records", self.beyond)
        if not judges and not self.not_judged.strip():
            raise invalid(f"statement {self.id!r}: not_judged",
                          "the reason no check judges it (it has no judge)", self.not_judged)
        object.__setattr__(self, "judges", judges)
        object.__setattr__(self, "beyond", beyond)

    @property
    def checks(self) -> tuple[str, ...]:
        """The lemma ids whose draws judge it, in the order of its judges."""
        return tuple(dict.fromkeys(j.check for j in self.judges))

    def judge_for(self, check: str, preset: str, check_presets: Iterable[str]) -> Judge | None:
        ps = tuple(check_presets)
        return next((j for j in self.judges if j.covers(check, preset, ps)), None)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "section": self.section,
                "quote": self.quote, "hypotheses": self.hypotheses,
                "checks": list(self.checks), "not_judged": self.not_judged or None,
                "judges": [{"check": j.check, "presets": None if j.presets is None
                            else list(j.presets), "what": j.what,
                            "criteria": list(j.criteria) if not callable(j.criteria)
                            else getattr(j.criteria, "__name__", "criteria")}
                           for j in self.judges],
                "beyond": [{"check": b.check, "asks": b.asks,
                            "criteria": list(b.criteria) if not callable(b.criteria)
                            else getattr(b.criteria, "__name__", "criteria")}
                           for b in self.beyond]}


def criteria_matching(*patterns: str, exclude: Sequence[str] = ()):
    """A criteria function selecting the outcome's criteria whose names match any of
    the shell-style ``patterns`` (``"layer*_eps_hat"``, ``"*"``) and none of
    ``exclude``. A pattern that matches nothing counts as not evaluated."""
    from fnmatch import fnmatchcase

    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise invalid("criteria_matching", "one or more name patterns", patterns)

    def select(outcome: Outcome):
        allc = (outcome.headline,) + tuple(outcome.criteria)
        got = [c for c in allc if any(fnmatchcase(c.name, p) for p in patterns)
               and not any(fnmatchcase(c.name, x) for x in exclude)]
        missing = [p for p in patterns if not any(fnmatchcase(c.name, p) for c in allc)]
        if missing:
            got.append(Criterion(f"matching {missing[0]!r}", float("nan"), 0.0,
                                 untested=f"no criterion named like {missing[0]!r} "
                                          "was evaluated"))
        return got

    select.__name__ = "matching " + ", ".join(patterns)
    return select


# ---------------------------------------------------------------- judging one outcome
def criteria_of(spec: Any, outcome: Outcome) -> tuple[tuple[Criterion, ...], list[str]]:
    """The statement's criteria on one outcome, and the names it asked for that the
    outcome did not carry (not evaluated)."""
    if callable(spec):
        got = tuple(spec(outcome))
        if not all(isinstance(c, Criterion) for c in got):
            raise invalid("statement criteria function", "an iterable of Criterion", got)
        return got, ([] if got else ["(the criteria function returned none)"])
    have = {c.name: c for c in (outcome.headline,) + tuple(outcome.criteria)}
    return tuple(have[n] for n in spec if n in have), [n for n in spec if n not in have]


def judge_outcome(spec: Any, outcome: Outcome) -> tuple[str, tuple[Criterion, ...], str]:
    """One draw's verdict of a statement: ``(verdict, criteria, why)``. A criterion
    that was not evaluated makes it ``uninformative`` (never ``holds``)."""
    crits, missing = criteria_of(spec, outcome)
    v = combined_verdict(crits) if crits else "uninformative"
    why = ""
    if missing:
        why = "not evaluated: " + ", ".join(missing)
        if v == "holds":
            v = "uninformative"
    elif v == "uninformative":
        why = "; ".join(f"{c.name}: {c.why_uninformative}" for c in crits
                        if c.verdict == "uninformative")
    return v, crits, why


# ---------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class BeyondVerdict:
    """A beyond-the-paper criterion's own verdict (never the statement's)."""

    asks: str
    verdict: str
    criteria: tuple[Criterion, ...] = ()
    draws: dict[str, Any] = field(default_factory=dict)
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        return jsonable({"asks": self.asks, "verdict": self.verdict,
                         "criteria": [c.to_dict() for c in self.criteria],
                         **self.draws, **({"why": self.why} if self.why else {})})


@dataclass(frozen=True, eq=False)
class StatementVerdict:
    """One statement judged on one check result.

    ``criteria`` are the seed's network's (draw 0); over several draws ``over_draws``
    is the criterion "failure rate <= tau" and ``draws`` its fields (verify/cli/README.md's
    ``draws``, ``failure_rate``, ``failure_ci_low``, ``failure_ci_high``, ``alpha``,
    ``tolerance``, counts). The headline of a multi-draw verdict is the over-draws
    criterion, never draw 0's.
    """

    statement: str
    label: str
    quote: str
    check: str
    preset: str
    verdict: str
    expected: str = "holds"
    criteria: tuple[Criterion, ...] = ()
    over_draws: Criterion | None = None
    draws: dict[str, Any] = field(default_factory=dict)
    why: str = ""
    beyond: tuple[BeyondVerdict, ...] = ()
    what: str = ""
    seed: int | str = 0
    quick: bool = False
    finding: "StatementFinding | None" = None
    evidence: tuple[dict[str, Any], ...] = ()

    @property
    def headline(self) -> Criterion | None:
        """The criterion the verdict is read from: over draws, the failure rate against
        tau; on one draw, the first criterion that does not hold (else the first)."""
        if self.over_draws is not None:
            return self.over_draws
        for want in (("fails",) if self.verdict == "fails" else ("fails", "uninformative")):
            for c in self.criteria:
                if c.verdict == want:
                    return c
        return self.criteria[0] if self.criteria else None

    @property
    def margin(self) -> float:
        """The headline's margin, signed to agree with the verdict: a ``fails`` never
        shows a non-negative margin, a ``holds`` never a negative one."""
        h = self.headline
        if h is None:
            return float("nan")
        m = float(h.margin)
        if self.verdict == "fails" and not m < 0:
            return -abs(m) if m != 0 else -0.0
        return m

    @property
    def matches_expectation(self) -> bool:
        return self.verdict == "not applicable" or self.verdict == self.expected

    @property
    def status(self) -> str:
        from .findings import statement_status

        return statement_status(self)

    @property
    def accepted(self) -> bool:
        from .findings import ACCEPTED

        return self.status in ACCEPTED

    def with_finding(self, finding, evidence=()) -> "StatementVerdict":
        return replace(self, finding=finding, evidence=tuple(evidence))

    def failing(self) -> list[Criterion]:
        """The seed network's criteria that do not hold."""
        return [c for c in self.criteria if not c.holds]

    def to_json(self) -> dict[str, Any]:
        h = self.headline
        out = {"statement": self.statement, "label": self.label, "quote": self.quote,
               "check": self.check, "preset": self.preset, "verdict": self.verdict,
               "expected": self.expected, "status": self.status, "what": self.what,
               "statistic": None if h is None else h.statistic,
               "bound": None if h is None else h.bound,
               "sense": None if h is None else h.sense, "margin": self.margin,
               "criteria": [c.to_dict() for c in self.criteria],
               "failing_criteria": [c.name for c in self.failing()],
               "beyond_the_paper": [b.to_json() for b in self.beyond],
               **self.draws}
        if self.why:
            out["why"] = self.why
        if self.finding is not None:
            f = self.finding
            out["known_finding"] = {**f.to_json(), "evidence_now": list(self.evidence),
                                    "differs": f.render(f.differs, self.evidence, out),
                                    "why": f.render(f.why, self.evidence, out)}
        return jsonable(out)

    def summary(self) -> str:
        """One line: ``fig4-caption [paper-fig4] holds: 0/40 draws fail [0.000, 0.088]``."""
        d = self.draws
        word = self.verdict.upper() if self.verdict != self.expected else self.verdict
        exp = "" if self.expected == "holds" else " (expected to fail)"
        st = self.status
        if st not in ("match", "new mismatch"):
            exp += f" ({st})"
        if self.verdict == "not applicable":
            return f"{self.statement} [{self.preset}] not applicable: {self.why}"
        if "failure_rate" in d and d.get("draws_tested"):
            return (f"{self.statement} [{self.preset}] {word}{exp}: {d['draws_failed']}/"
                    f"{d['draws_tested']} network draws fail, rate {d['failure_rate']:.3g} "
                    f"[{d['failure_ci_low']:.3f}, {d['failure_ci_high']:.3f}] vs tolerance "
                    f"{d['tolerance']:g}")
        h = self.headline
        if h is None:
            return f"{self.statement} [{self.preset}] {word}{exp}: {self.why}"
        one = " (single draw)" if d.get("draws") == 1 else ""
        return (f"{self.statement} [{self.preset}] {word}{exp}{one}: {h.name} "
                f"{h.statistic:.4g} {h.sense} {h.bound:.4g}, margin {self.margin:.4g}")


def not_applicable(statement: Statement, check: str, preset: str, why: str, *,
                   seed: int | str = 0, quick: bool = False) -> StatementVerdict:
    return StatementVerdict(statement.id, statement.label, statement.quote, check, preset,
                            "not applicable", "holds", why=why, seed=seed, quick=quick)


class StatementJudging:
    """Collects one check run's per-draw outcomes and turns them into the verdicts of
    every statement the run judges (the registry's runner drives it)."""

    def __init__(self, statements: Sequence[Statement], check: str, check_presets,
                 config, expected: str, seed, quick: bool):
        self.check, self.preset, self.seed, self.quick = check, config.name, seed, quick
        ps = tuple(check_presets)
        self.items: list[tuple[Statement, Judge, list[Beyond]]] = []
        self.na: list[StatementVerdict] = []
        for st in statements:
            j = st.judge_for(check, config.name, ps)
            if j is None:
                continue
            reason = j.applies(config) if j.applies is not None else None
            if reason:
                self.na.append(not_applicable(st, check, config.name, str(reason),
                                              seed=seed, quick=quick))
                continue
            bs = [b for b in st.beyond if b.covers(check, config.name, ps)]
            self.items.append((st, j, bs))
        default = "holds" if expected == "pass" else "fails"
        self.expected = {st.id: (j.expect or {}).get(config.name, default)
                         for st, j, _ in self.items}
        self.rows: list[list[str]] = [[] for _ in self.items]       # per statement
        self.beyond_rows: list[list[list[str]]] = [[[] for _ in bs] for _, _, bs in self.items]
        self.first: list[tuple[str, tuple[Criterion, ...], str]] = []
        self.first_beyond: list[list[tuple[str, tuple[Criterion, ...], str]]] = []

    def __bool__(self) -> bool:
        return bool(self.items or self.na)

    def add(self, outcome: Outcome) -> None:
        """One draw's outcome (draw 0 first)."""
        first = not self.first and not any(self.rows[i] for i in range(len(self.items)))
        for i, (st, j, bs) in enumerate(self.items):
            v, crits, why = judge_outcome(j.criteria, outcome)
            self.rows[i].append(v)
            if first:
                self.first.append((v, crits, why))
            fb = []
            for k, b in enumerate(bs):
                bv, bcrits, bwhy = judge_outcome(b.criteria, outcome)
                self.beyond_rows[i][k].append(bv)
                fb.append((bv, bcrits, bwhy))
            if first:
                self.first_beyond.append(fb)

    def all_fail_early(self, rule, n_max: int) -> bool:
        """Every statement this run judges is decided ``fails`` at an early look
        (beyond-the-paper criteria never hold a run back: they are judged on the draws
        that ran)."""
        return bool(self.items) and all(rule.early_fail(rows, n_max) for rows in self.rows)

    def verdicts(self, rule=None, *, error: str | None = None) -> tuple[StatementVerdict, ...]:
        """Every statement's verdict: over the draws with ``rule`` (a
        :class:`~verify.verdicts.DrawRule`) when more than one draw ran, else draw 0's."""
        from .verdicts import judge_draws

        out = list(self.na)
        for i, (st, j, bs) in enumerate(self.items):
            base = dict(statement=st.id, label=st.label, quote=st.quote, check=self.check,
                        preset=self.preset, expected=self.expected[st.id], what=j.what,
                        seed=self.seed, quick=self.quick)
            if error is not None or not self.first:
                out.append(StatementVerdict(verdict="error", why=error or "no outcome",
                                            **base))
                continue
            v0, crits0, why0 = self.first[i]
            n = len(self.rows[i])
            over, fields = None, {"draws": n}
            verdict, why = v0, why0
            if rule is not None and n > 1:
                over, fields = judge_draws(self.rows[i], rule)
                verdict = over.verdict
                why = over.why_uninformative if verdict == "uninformative" else ""
                if verdict != "holds" and why0 and "not evaluated" in why0:
                    why = (why + "; " if why else "") + why0
            beyond = []
            for k, b in enumerate(bs):
                bv, bcrits, bwhy = self.first_beyond[i][k]
                bdraws: dict[str, Any] = {"draws": n}
                if rule is not None and n > 1:
                    bover, bdraws = judge_draws(self.beyond_rows[i][k], rule)
                    bv = bover.verdict
                    bwhy = bover.why_uninformative if bv == "uninformative" else ""
                beyond.append(BeyondVerdict(b.asks, bv, bcrits, bdraws, bwhy))
            out.append(StatementVerdict(verdict=verdict, criteria=crits0, over_draws=over,
                                        draws=fields, why=why, beyond=tuple(beyond),
                                        **base))
        return tuple(out)


def verdict_is_consistent(v: StatementVerdict) -> bool:
    """The margin's sign agrees with the verdict (the report's invariant)."""
    m = v.margin
    if v.verdict == "fails":
        return not (m >= 0)
    if v.verdict == "holds":
        return math.isnan(m) or m >= 0
    return True


__all__ = ["Statement", "Judge", "Beyond", "StatementVerdict", "BeyondVerdict",
           "StatementJudging", "judge_outcome", "criteria_of", "not_applicable",
           "criteria_matching",
           "verdict_is_consistent"]
