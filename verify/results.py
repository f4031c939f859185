"""Result objects: one frozen record per check (scipy's result classes).

A lemma's check returns an :class:`Outcome` (its statistic, bound and criteria, its
tables); the runner adds what it knows (lemma id, preset, seed, timing, version,
expectation) and freezes it into a :class:`CheckResult`. Reports and the command
line read these objects and never recompute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .findings import KnownFinding

Sense = Literal["<=", ">=", "=="]
Verdict = Literal["holds", "fails", "uninformative", "not applicable"]
#: The verdict of a result whose statement's hypotheses this configuration does not meet
#: (:attr:`Outcome.not_applicable` gives the reason): never a pass, never a mismatch.
NOT_APPLICABLE = "not applicable"
#: The reason given to a criterion a check declared (``register(criteria=...)``) but did
#: not evaluate on a configuration (:func:`with_declared`).
NOT_EVALUATED = "declared by the check but not evaluated on this configuration"


def _finite_or_none(x: Any) -> Any:
    if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
        return None if math.isnan(float(x)) else ("inf" if x > 0 else "-inf")
    return x


#: Longest repr of a result object (a notebook cell, a pytest assertion line).
REPR_MAX = 300


def short(text: str, limit: int = REPR_MAX) -> str:
    """``text`` on one line, cut to ``limit`` characters (an ellipsis marks the cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _num(x: Any) -> str:
    try:
        return f"{float(x):.4g}"
    except (TypeError, ValueError):
        return str(x)


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, DataFrames and tuples into JSON-ready values
    (NaN becomes null, infinities the strings "inf"/"-inf")."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return _finite_or_none(float(obj))
    return obj


@dataclass(frozen=True)
class Criterion:
    """One comparison ``statistic <sense> bound`` (``==`` means exact equality).

    ``margin`` is signed so that positive means "holds with room to spare":
    ``bound - statistic`` for ``<=``, ``statistic - bound`` for ``>=``.

    ``ceiling`` is the statistic's trivial ceiling (for ``<=``: the largest value it can
    take on any network of this shape; for ``>=``: the smallest, a floor), or None when
    not stated. A bound at or past it is met by every network: the criterion is then
    ``uninformative`` (:attr:`why_uninformative` says why), never holding. ``untested``
    marks a criterion uninformative for a reason of the check's own (e.g. every run it
    summarises tested nothing).
    """

    name: str
    statistic: float
    bound: float
    sense: Sense = "<="
    note: str = ""
    ceiling: float | None = None
    untested: str = ""

    @property
    def why_uninformative(self) -> str:
        """Why nothing was tested ("" when the criterion is informative)."""
        if self.untested:
            return self.untested
        if self.ceiling is None:
            return ""
        c, b = float(self.ceiling), float(self.bound)
        if math.isnan(c) or math.isnan(b):
            return ""
        if self.sense == "<=" and b >= c:
            return (f"bound {b:.4g} is at or above the trivial ceiling {c:.4g} (the largest "
                    "value the statistic can take): every network meets it")
        if self.sense == ">=" and b <= c:
            return (f"bound {b:.4g} is at or below the trivial floor {c:.4g} (the smallest "
                    "value the statistic can take): every network meets it")
        return ""

    @property
    def satisfied(self) -> bool:
        """The bare comparison ``statistic <sense> bound`` (NaN: False), whatever the
        ceiling."""
        s, b = float(self.statistic), float(self.bound)
        if math.isnan(s) or math.isnan(b):
            return False
        if self.sense == "<=":
            return s <= b
        if self.sense == ">=":
            return s >= b
        return s == b

    @property
    def verdict(self) -> Verdict:
        """"uninformative" when the bound is at or past the ceiling (or ``untested``),
        else "holds" or "fails"."""
        if self.why_uninformative:
            return "uninformative"
        return "holds" if self.satisfied else "fails"

    @property
    def holds(self) -> bool:
        """The criterion holds and is informative (an uninformative one never holds)."""
        return self.verdict == "holds"

    @property
    def margin(self) -> float:
        s, b = float(self.statistic), float(self.bound)
        if self.sense == "<=":
            return b - s
        if self.sense == ">=":
            return s - b
        return -abs(s - b)

    def __repr__(self) -> str:
        return short(f"Criterion({self.name!r}: {_num(self.statistic)} {self.sense} "
                     f"{_num(self.bound)}, {self.verdict}, margin {_num(self.margin)})")

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"name": self.name, "statistic": self.statistic, "bound": self.bound,
                         "sense": self.sense, "holds": self.holds, "margin": self.margin,
                         "note": self.note, "ceiling": self.ceiling, "verdict": self.verdict,
                         "why_uninformative": self.why_uninformative})


def combined_verdict(criteria, declared: tuple[str, ...] = ()) -> Verdict:
    """"fails" if any criterion fails, else "uninformative" if any is (or if a
    ``declared`` criterion name is missing: it was not evaluated), else "holds"."""
    criteria = tuple(criteria)
    vs = [c.verdict for c in criteria]
    if "fails" in vs:
        return "fails"
    names = {c.name for c in criteria}
    if "uninformative" in vs or any(n not in names for n in declared):
        return "uninformative"
    return "holds"


def with_declared(criteria, declared) -> tuple["Criterion", ...]:
    """``criteria`` plus an untested (uninformative) criterion for every ``declared``
    name missing from them (:data:`NOT_EVALUATED`): what a check said it would evaluate
    and did not can never leave a verdict "holds" (the registry applies it to every
    outcome of a check that declares criteria)."""
    criteria = tuple(criteria)
    names = {c.name for c in criteria}
    return criteria + tuple(Criterion(n, float("nan"), float("nan"), "==",
                                      untested=NOT_EVALUATED)
                            for n in dict.fromkeys(declared) if n not in names)


@dataclass(frozen=True)
class Outcome:
    """What a lemma's check computes.

    Parameters
    ----------
    headline : Criterion
        The statistic, bound and margin shown in one line.
    criteria : tuple of Criterion
        Further conditions; the check passes when the headline and all of these hold.
    n_samples : int
        How many samples (pairs, points, trials...) the headline statistic is over.
    details : dict
        Lemma-specific figures (JSON-able), including failure probabilities and
        confidence intervals where the statement is probabilistic.
    table : DataFrame
        Tidy per-sample details.
    tables : dict of DataFrame
        Further plot-ready tables (e.g. a scaling sweep).
    settings : dict
        The check's own settings (sample counts, tolerances), stored in ``config``.
    not_applicable : str
        Non-empty: the statement's hypotheses are not met by this configuration, and
        why. The verdict is then "not applicable" (never "holds", never a mismatch),
        whatever the criteria say.
    """

    headline: Criterion
    criteria: tuple[Criterion, ...] = ()
    n_samples: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    not_applicable: str = ""

    @property
    def verdict(self) -> Verdict:
        if self.not_applicable:
            return NOT_APPLICABLE
        return combined_verdict((self.headline,) + tuple(self.criteria))

    @property
    def passed(self) -> bool:
        """True only for the verdict "holds"."""
        return self.verdict == "holds"

    def __repr__(self) -> str:
        h = self.headline
        return short(f"Outcome({self.verdict}: {h.name!r} {_num(h.statistic)} {h.sense} "
                     f"{_num(h.bound)}, {1 + len(self.criteria)} criteria, "
                     f"n = {self.n_samples})")


@dataclass(frozen=True, eq=False)
class CheckResult:
    """The frozen record of one check run (the JSON of verify/cli/README.md, plus tables)."""

    lemma: str
    preset: str
    seed: int | str          # an integer seed, or a sweep task's streams ("0/3.17")
    passed: bool
    expected: Literal["pass", "fail"]
    statistic: float
    bound: float
    margin: float
    config: dict[str, Any]
    details: dict[str, Any]
    elapsed_s: float
    version: str
    statement: str = ""
    reference: str = ""
    sense: str = "<="
    n_samples: int = 0
    criteria: tuple[Criterion, ...] = ()
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    quick: bool = False
    error: str | None = None
    finding: "KnownFinding | None" = None
    draws: int = 1
    draw_summary: dict[str, Any] = field(default_factory=dict)
    #: The verdicts of the paper's statements this run judges
    #: (:class:`verify.statements.StatementVerdict`, one per statement).
    statements: tuple[Any, ...] = ()
    not_applicable: str = ""  # why the statement's hypotheses are not met (verdict N/A)

    @classmethod
    def from_error(cls, check, preset: str, seed: int | str, quick: bool, exc: BaseException,
                   elapsed: float, *, config: dict[str, Any] | None = None,
                   expected: str | None = None, finding=None,
                   statements: tuple = ()) -> "CheckResult":
        """The result of a check that raised (or that the runner refused): an error row
        with the exception and its traceback, never a verdict. ``check`` is the
        registration (:class:`~verify.registry.LemmaCheck`)."""
        import traceback

        from . import __version__

        return cls(check.id, preset, seed, False,
                   expected or check.presets.get(preset, "pass"), float("nan"), float("nan"),
                   float("nan"), config or {"preset": preset},
                   {"traceback": "".join(traceback.format_exception(exc, limit=6))},
                   elapsed, __version__, check.statement, check.reference, quick=quick,
                   error=f"{type(exc).__name__}: {exc}", finding=finding,
                   statements=tuple(statements))

    @property
    def matches_expectation(self) -> bool:
        """The verdict agrees with what the preset is expected to give."""
        return self.error is None and self.verdict == ("holds" if self.expected == "pass"
                                                       else "fails")

    @property
    def status(self) -> str:
        """``match``, ``known finding``, ``finding no longer reproduces``, ``new
        mismatch`` or ``error`` (:mod:`verify.findings`)."""
        from .findings import status

        return status(self)

    @property
    def accepted(self) -> bool:
        """Exit 0 material (verify/cli/README.md). A run that judges statements is accepted
        when every statement verdict matches its expectation or differs only as a registered
        finding (the check's own combined verdict is then not what is judged); a check
        no statement names falls back to its own status."""
        from .findings import ACCEPTED

        if self.statements and self.error is None:
            return all(v.accepted for v in self.statements)
        return self.status in ACCEPTED

    @property
    def verdict(self) -> str:
        """"holds", "fails", "uninformative", "not applicable" or "error" (module
        docstring). From the criteria when there are any (the headline first);
        ``passed`` False never gives "holds"."""
        if self.error is not None:
            return "error"
        if self.not_applicable:
            return NOT_APPLICABLE
        if not self.criteria:
            return "holds" if self.passed else "fails"
        v = combined_verdict(self.criteria)
        return "fails" if v == "holds" and not self.passed else v

    @property
    def deciding(self) -> "Criterion | None":
        """The criterion the verdict is read from: the first that fails for ``fails``,
        the first uninformative one for ``uninformative``, else the headline. The
        summary shows its statistic, bound and margin, so a FAIL never shows a
        non-negative margin."""
        if self.error is not None or not self.criteria:
            return None
        want = {"fails": "fails", "uninformative": "uninformative"}.get(self.verdict)
        for c in self.criteria:
            if want is not None and c.verdict == want:
                return c
        return self.criteria[0]

    @property
    def why_uninformative(self) -> str:
        """The reasons of the uninformative criteria ("" when there are none)."""
        return "; ".join(f"{c.name}: {c.why_uninformative}" for c in self.criteria
                         if c.verdict == "uninformative")

    @property
    def degraded(self) -> str:
        """One line when the check ran without something it is meant to have (an
        optional dependency missing, a data set unavailable): a check says so as
        ``details["degraded"]``, which ``verify check`` and the report show beside the
        verdict; "" when it ran in full."""
        return " ".join(str(self.details.get("degraded") or "").split())

    def __repr__(self) -> str:
        head = f"CheckResult({self.lemma} [{self.preset}] {self.verdict}"
        if self.error is not None:
            return short(f"{head}: {self.error})")
        draws = f", {self.draws} draws" if self.draws != 1 else ""
        return short(f"{head}: statistic {_num(self.statistic)} {self.sense} bound "
                     f"{_num(self.bound)}, margin {_num(self.margin)}, seed {self.seed}"
                     f"{draws}{', quick' if self.quick else ''})")

    def to_frame(self) -> pd.DataFrame:
        """The criteria as a DataFrame, one row each, the headline first: name, statistic,
        sense, bound, margin, verdict, ceiling, note, why_uninformative."""
        cols = ["name", "statistic", "sense", "bound", "margin", "verdict", "ceiling", "note",
                "why_uninformative"]
        return pd.DataFrame([{k: getattr(c, k) for k in cols} for c in self.criteria],
                            columns=cols)

    def _repr_html_(self) -> str:
        """A notebook's view: the one-line summary, then the criteria table."""
        import html

        cls = {"holds": "#17631a", "fails": "#a0110c"}.get(self.verdict, "#555")
        head = (f'<p><b>{html.escape(self.lemma)}</b> on <code>{html.escape(self.preset)}'
                f'</code>: <b style="color:{cls}">{html.escape(self.verdict)}</b></p>'
                f"<p>{html.escape(self.summary())}</p>")
        if self.degraded:
            head += f"<p><b>Degraded</b>: {html.escape(self.degraded)}</p>"
        if self.error is not None or not self.criteria:
            return head
        return head + self.to_frame().to_html(index=False, na_rep="", escape=True)

    def to_json(self) -> dict[str, Any]:
        """The object of ``verify check --json`` (verify/cli/README.md), with a few additions."""
        out = {
            "lemma": self.lemma, "preset": self.preset, "seed": self.seed,
            "passed": self.passed, "verdict": self.verdict, "expected": self.expected,
            "statistic": self.statistic, "bound": self.bound, "margin": self.margin,
            "config": self.config, "details": self.details,
            "elapsed_s": round(self.elapsed_s, 4), "version": self.version,
            "statement": self.statement, "reference": self.reference, "sense": self.sense,
            "n_samples": self.n_samples, "quick": self.quick,
            "criteria": [c.to_dict() for c in self.criteria],
            "matches_expectation": self.matches_expectation,
            "status": self.status,
            "known_finding": None if self.finding is None else {
                **self.finding.to_json(),
                "reproduced": self.finding.reproduced_by(self),
                "required_here": self.finding.strict_on(self.seed, self.quick)},
        }
        out["draws"] = self.draws
        out.update(self.draw_summary)
        out["statements"] = [v.to_json() for v in self.statements]
        if self.error is not None:
            out["error"] = self.error
        if self.verdict == "uninformative":
            out["why_uninformative"] = self.why_uninformative
        if self.not_applicable:
            out["not_applicable"] = self.not_applicable
        return jsonable(out)

    def summary(self) -> str:
        """One line: ``concentration [theory-2layer] PASS statistic 0.081 <= bound 0.25 ...``."""
        if self.error is not None:
            return f"{self.lemma} [{self.preset}] ERROR {self.error}"
        if self.not_applicable:
            return (f"{self.lemma} [{self.preset}] NOT APPLICABLE: {self.not_applicable} "
                    f"(seed {self.seed}, {self.elapsed_s:.2f} s)")
        exp = "" if self.expected == "pass" else " (expected to fail)"
        st = self.status
        if st not in ("match", "new mismatch"):
            exp += f" ({st})"
        label = {"holds": "PASS", "fails": "FAIL"}.get(self.verdict, self.verdict.upper())
        d = self.draw_summary
        if "failure_rate" in d:
            return (f"{self.lemma} [{self.preset}] {label}{exp}: {d['draws_failed']}/"
                    f"{d['draws_tested']} network draws fail, rate {d['failure_rate']:.3g} "
                    f"[{d['failure_ci_low']:.3f}, {d['failure_ci_high']:.3f}] vs tolerance "
                    f"{d['tolerance']:g}, base seed {self.seed}, {self.elapsed_s:.2f} s")
        one = " (single draw)" if d.get("draws") == 1 else ""
        return (f"{self.lemma} [{self.preset}] {label}{exp}{one}: statistic "
                f"{self.statistic:.4g} {self.sense} bound {self.bound:.4g}, margin "
                f"{self.margin:.4g}, n = {self.n_samples}, seed {self.seed}, "
                f"{self.elapsed_s:.2f} s")


__all__ = ["Criterion", "Outcome", "CheckResult", "combined_verdict", "with_declared",
           "jsonable", "short", "NOT_APPLICABLE", "NOT_EVALUATED"]
