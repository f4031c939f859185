"""What a report is made of: one :class:`Entry` per (lemma, preset) with its frozen
:class:`~verify.results.CheckResult` and the figures drawn from it, the finished
:class:`Report`, and the verdict label of a result (:func:`status`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import findings
from ..registry import LemmaCheck
from ..results import CheckResult


@dataclass
class FigureOut:
    """One rendered figure (or the note saying why it is missing)."""

    name: str              # figures/<lemma>-<preset>-<n>.png
    caption: str
    png: bytes | None
    note: str | None = None


@dataclass
class Entry:
    """One (lemma, preset) row of the report: its result and rendered figures."""

    check: LemmaCheck
    result: CheckResult
    figures: list[FigureOut] = field(default_factory=list)
    figures_s: float = 0.0  # time spent drawing this entry's figures
    peak_rss_mb: float | None = None  # the process's peak resident memory after this check
    cpu_s: float = 0.0  # CPU time of the check (all threads): robust to a loaded machine
    warnings: list[str] = field(default_factory=list)  # warnings the check raised
    figures_done: bool = False  # figures already drawn
    known_bad: Any = None  # the KnownBad case this entry ran (the power table), or None
    cached: bool = False  # the result came from the result cache (verify.cache)
    figures_cached: bool = False  # the figures came from the cache
    digest: str | None = None  # sha256 of the result's cache entry (keys its figures)

    @property
    def rejected(self) -> bool:
        """For a known-bad entry: the check rejected it (no error, an allowed verdict)."""
        return (self.known_bad is not None and self.result.error is None
                and self.known_bad.rejected_by(self.result.verdict))


@dataclass(frozen=True)
class Report:
    """What :func:`~verify.report.build_report` wrote."""

    out: Path
    entries: tuple[Entry, ...]
    provenance: dict[str, Any]
    #: Why the report is not in the folder asked for (``out`` is then the temporary
    #: folder it was written to instead); None when it is.
    fallback_reason: str | None = None
    #: The known-bad configurations' entries (the power table).
    power: tuple[Entry, ...] = ()

    @property
    def results(self) -> list[CheckResult]:
        return [e.result for e in self.entries]

    @property
    def exit_code(self) -> int:
        """0 when every verdict matches its expectation or differs only as a registered
        known finding, and every known-bad configuration is rejected; 1 otherwise
        (errors and findings that no longer reproduce included)."""
        return exit_code(self.entries, self.power)


def exit_code(entries, power=()) -> int:
    """The report's exit code (:attr:`Report.exit_code`)."""
    ok = findings.exit_code(e.result for e in entries) == 0
    return 0 if ok and all(e.rejected for e in power) else 1


def status(result: CheckResult) -> tuple[str, str]:
    """The verdict label and its CSS class.

    ``pass`` / ``fail (expected)`` match the expectation; ``FAIL (known finding)``
    differs as a registered finding (exit 0); ``FAIL`` (expected to pass), ``PASS
    (expected fail)``, ``... (finding no longer reproduces)`` and ``ERROR`` do not;
    ``uninformative`` (a bound at or past its statistic's trivial ceiling: nothing was
    tested) matches no expectation; ``not applicable`` (the statement's hypotheses are not
    met by the configuration) is neither a pass nor a mismatch.
    """
    if result.error is not None:
        return "ERROR", "error"
    st = result.status
    v = result.verdict
    if v == "not applicable":
        return "not applicable", "uninformative"
    if v == "uninformative":  # nothing was tested: matches neither expectation
        label, cls = (("uninformative", "uninformative") if result.expected == "pass"
                      else ("uninformative (expected fail)", "uninformative"))
    elif result.expected == "pass":
        label, cls = ("pass", "ok") if v == "holds" else ("FAIL", "bad")
    else:
        label, cls = (("PASS (expected fail)", "bad") if v == "holds"
                      else ("fail (expected)", "xfail"))
    if st == findings.KNOWN:
        return f"{label.split(' (')[0]} (known finding)", "known"
    if st == findings.STALE:
        return f"{label} (finding no longer reproduces)", "bad"
    return label, cls


def slug(text: str) -> str:
    """``text`` safe as a file name or an HTML id."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(text))


def table_file(lemma: str, name: str) -> str:
    """The file (in the report folder) of a further table ``name`` of ``lemma``."""
    return f"tables/{slug(lemma)}-{slug(name)}.csv.gz"


__all__ = ["FigureOut", "Entry", "Report", "status", "slug", "table_file", "exit_code"]
