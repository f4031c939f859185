"""``verify.assert_holds(result)``: a check's verdict as a test assertion.

For a user's own test suite: ``assert_holds(run_check(...))`` passes when the verdict is
"holds", and otherwise raises :class:`AssertionError` whose message names the lemma and
preset and, for each criterion that fails or is uninformative, its statistic, sense,
bound and margin (and why it is uninformative): what pytest shows on a failure, without
opening the result. Imports nothing heavy.
"""

from __future__ import annotations

from typing import Any


def _num(x: Any) -> str:
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError):
        return str(x)


def _criteria(result: Any) -> tuple:
    crit = getattr(result, "criteria", ())
    headline = getattr(result, "headline", None)  # an Outcome keeps its headline apart
    return ((headline,) if headline is not None else ()) + tuple(crit)


def failure_lines(result: Any) -> list[str]:
    """One line per criterion of ``result`` that fails or is uninformative."""
    lines = []
    for c in _criteria(result):
        if c.verdict == "holds":
            continue
        line = (f"{c.verdict}: {c.name}: statistic {_num(c.statistic)} {c.sense} bound "
                f"{_num(c.bound)}, margin {_num(c.margin)}")
        if c.verdict == "uninformative":
            line += f" (uninformative: {' '.join(str(c.why_uninformative).split())})"
        lines.append(line)
    return lines


def assert_holds(result: Any, msg: str | None = None) -> None:
    """Raise AssertionError unless ``result`` (a :class:`~verify.results.CheckResult` or
    an :class:`~verify.results.Outcome`) has the verdict "holds".

    The message names the lemma and preset, the verdict, and each failing or
    uninformative criterion with its statistic, sense, bound and margin (and why it is
    uninformative); ``msg`` is put in front of it.
    """
    verdict = getattr(result, "verdict", None)
    if verdict is None:
        raise TypeError(f"assert_holds: expected a CheckResult or an Outcome, got "
                        f"{type(result).__name__}")
    if verdict == "holds":
        return
    lemma, preset = getattr(result, "lemma", None), getattr(result, "preset", None)
    where = f"{lemma} [{preset}]" if lemma is not None else "outcome"
    head = f"{where}: verdict {verdict}, expected holds"
    draws = getattr(result, "draws", 1)
    if draws and draws > 1:
        head += f" (judged over {draws} network draws)"
    lines = [head]
    error = getattr(result, "error", None)
    if error is not None:
        lines.append(f"error: {error}")
    else:
        lines += [f"  {line}" for line in failure_lines(result)]
        if len(lines) == 1 and getattr(result, "passed", True) is False:
            lines.append("  every criterion holds, but the check did not pass")
        degraded = getattr(result, "degraded", "")
        if degraded:
            lines.append(f"  degraded: {degraded}")
    text = "\n".join(lines)
    raise AssertionError(f"{msg}\n{text}" if msg else text)


__all__ = ["assert_holds", "failure_lines"]
