"""Verdicts that could have gone the other way: draws, tolerances and known-bad cases.

Two registrations a lemma makes besides its check (lemmas/README.md, section 12):

:class:`DrawRule`
    The statement holds *with high probability over the weights* (Theorem 1, Theorem 4,
    the WDC, the angle lemmas). Its verdict then comes from N independent network
    draws: F of them fail, the failure rate F/N gets its exact (Clopper-Pearson)
    interval at confidence 1 - alpha, and the statement is judged against an a-priori
    tolerance tau written in the lemma's module with its reason:

    - ``holds``         the interval's upper end is <= tau (a one-sided test of
                        "rate > tau" rejected at level alpha/2);
    - ``fails``         the interval's lower end is > tau (the rate exceeds tau, same
                        level);
    - ``uninformative`` the interval contains tau: too few draws to decide.

    Draw 0 is the seed's own network (so ``--draws 1`` is the single-draw check of
    before, labelled as such); draw i >= 1 runs on :meth:`verify.rng.Streams.draw`,
    replayable alone with ``verify check LEMMA --seed N/4.i --draws 1``.

:class:`KnownBad`
    A configuration that provably violates the statement's hypotheses, with the reason.
    The check must not pass it (its verdict must be one of ``verdicts``, "fails" unless
    the lemma states otherwise). The common property test runs every one, and the
    report's power table shows them with their verdicts ("k of k rejected").

Nothing here knows a lemma: the registry runs the draws (:func:`judge_draws` turns the
per-draw verdicts into one criterion) and the lemma modules declare the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .errors import invalid
from .results import Criterion
from .stats import exact_interval

#: The names of the per-draw table's columns (``tables["draws"]``).
DRAW_COLUMNS = ("draw", "seed", "verdict", "statistic", "bound", "margin", "failed")


@dataclass(frozen=True)
class DrawRule:
    """How a probabilistic statement is judged over independent network draws.

    Parameters
    ----------
    tolerance : float
        tau, the largest failure rate over network draws at which the statement is
        still said to hold at the preset's widths; in (0, 1).
    reason : str
        Why this tau (written before the check was run on many draws).
    draws : int
        The default number of draws: enough for zero failures to show rate <= tau
        (checked at registration).
    alpha : float
        The interval's error level: the reported interval is the exact 1 - alpha
        interval, each side a one-sided test at level alpha / 2.
    check : callable or None
        ``check(instance, *, rng, quick) -> Outcome`` for draws 1..N-1, when a lighter
        function than the full check gives the same verdict (it skips tables made only
        for figures); None: the full check.
    per_draw : tuple of str
        Names of tables that every draw's outcome carries (draw 0's full check and the
        lighter ``check`` alike); the runner stacks them over the draws, with a
        ``draw`` column, as ``tables[name + "_by_draw"]``.
    summarise : callable or None
        ``summarise(draws, by_draw) -> dict``: statistics over the draws beyond the
        failure rate (the per-draw table with each outcome's ``details["per_draw"]``
        scalars as columns, and the stacked ``per_draw`` tables by name). Stored as
        ``details["over_draws"]``.
    looks : tuple of int
        The early looks of the group-sequential rule (:meth:`early_fail`): after this
        many draws the run may stop, *only* for ``fails``, when every statement the
        check judges is already decided to fail. Looks at or past the number of draws
        are not taken; ``()`` runs every draw.

    Notes
    -----
    The sequential rule spends alpha / 2 on the early looks (Bonferroni: alpha / (2 L)
    at each of the L looks, one-sided) and keeps the final look as the fixed-N test
    (holds when the upper end of the exact 1 - alpha interval is <= tau, fails when its
    lower end is > tau). Stopping early only for ``fails`` cannot raise the error of
    saying ``holds`` (at most alpha / 2, as with a fixed N); the error of saying
    ``fails`` when the rate is <= tau is at most alpha / 2 + alpha / 2 = alpha. Draws
    run in order and stop at fixed look boundaries, so every backend stops at the same
    draw.
    """

    tolerance: float
    reason: str
    draws: int = 30
    alpha: float = 0.05
    check: Callable[..., Any] | None = field(default=None, compare=False)
    per_draw: tuple[str, ...] = ()
    summarise: Callable[..., dict] | None = field(default=None, compare=False)
    looks: tuple[int, ...] = (4, 8, 16)

    def __post_init__(self) -> None:
        looks = tuple(self.looks)
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in looks) or \
                list(looks) != sorted(set(looks)):
            raise invalid("DrawRule.looks", "increasing integers >= 1", self.looks)
        object.__setattr__(self, "looks", looks)
        if not isinstance(self.tolerance, (int, float)) or not 0 < self.tolerance < 1:
            raise invalid("DrawRule.tolerance", "a failure rate in (0, 1)", self.tolerance)
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise invalid("DrawRule.reason", "a non-empty string (why this tolerance)",
                          self.reason)
        if not 0 < self.alpha < 0.5:
            raise invalid("DrawRule.alpha", "a level in (0, 0.5)", self.alpha)
        if isinstance(self.draws, bool) or not isinstance(self.draws, int) or self.draws < 2:
            raise invalid("DrawRule.draws", "an integer >= 2", self.draws)
        best = self.best_upper(self.draws)
        if best >= self.tolerance:
            raise invalid("DrawRule.draws",
                          f"enough draws that zero failures bound the rate below "
                          f"tau = {self.tolerance:g} (at {self.draws} draws the bound is "
                          f"{best:.3f}; need {self.draws_needed()})", self.draws)

    def best_upper(self, n: int) -> float:
        """The smallest upper end the interval can have after ``n`` draws (no failure)."""
        return exact_interval(0, n, 1 - self.alpha)[1] if n > 0 else 1.0

    def draws_needed(self) -> int:
        """The fewest draws whose zero-failure interval lies below tau."""
        n = 1
        while self.best_upper(n) >= self.tolerance:
            n += 1
        return n

    def quick_draws(self) -> int:
        """The maximum under ``--quick``: the fewest draws at which zero failures still
        give ``holds`` (:meth:`draws_needed`), at most :attr:`draws`. Every verdict stays
        reachable; what ``--quick`` gives up is ``holds`` with a failure among the draws
        (at the default maximum such a rate can still clear tau)."""
        return min(self.draws, self.draws_needed())

    def looks_for(self, n_max: int) -> tuple[int, ...]:
        """The early looks taken when at most ``n_max`` draws run."""
        return tuple(k for k in self.looks if k < n_max)

    def look_level(self, n_max: int) -> float:
        """The one-sided level of each early look: alpha / (2 L)."""
        L = len(self.looks_for(n_max))
        return self.alpha / (2 * L) if L else 0.0

    def early_fail(self, verdicts: Sequence[str], n_max: int) -> bool:
        """At an early look: the failure rate is above tau at the look's level (the
        one-sided lower end of the exact interval, over the draws that tested
        something, exceeds tau)."""
        n_fail = sum(v == "fails" for v in verdicts)
        n = n_fail + sum(v == "holds" for v in verdicts)
        level = self.look_level(n_max)
        if n == 0 or level <= 0:
            return False
        low = exact_interval(n_fail, n, 1 - 2 * level)[0]
        return low > self.tolerance

    def to_dict(self) -> dict[str, Any]:
        return {"tolerance": self.tolerance, "reason": self.reason, "draws": self.draws,
                "alpha": self.alpha, "looks": list(self.looks)}


def operating_characteristics(rule: DrawRule, p: float, n_max: int | None = None
                              ) -> dict[str, float]:
    """The exact probabilities of each verdict of the sequential rule when every draw
    fails independently with probability ``p`` (every draw tests something), and the
    expected number of draws: ``{"fails", "holds", "uninformative", "expected_draws"}``.

    Computed by dynamic programming over the failure count, look by look (no
    simulation), with the same decisions as the runner: :meth:`DrawRule.early_fail` at
    the early looks, the fixed-N test of :func:`judge_draws` at the last draw.
    """
    from scipy import stats

    if not 0 <= p <= 1:
        raise invalid("p", "a probability in [0, 1]", p)
    n_max = rule.draws if n_max is None else int(n_max)
    looks = list(rule.looks_for(n_max)) + [n_max]
    # alive[k]: probability of k failures so far without having stopped
    alive = {0: 1.0}
    done_at = 0
    out = {"fails": 0.0, "holds": 0.0, "uninformative": 0.0, "expected_draws": 0.0}
    for look in looks:
        step = look - done_at
        pmf = stats.binom.pmf(range(step + 1), step, p)
        nxt: dict[int, float] = {}
        for k, w in alive.items():
            for j, q in enumerate(pmf):
                if q > 0:
                    nxt[k + j] = nxt.get(k + j, 0.0) + w * float(q)
        done_at = look
        alive = {}
        for k, w in nxt.items():
            if look < n_max:
                if rule.early_fail(["fails"] * k + ["holds"] * (look - k), n_max):
                    out["fails"] += w
                    out["expected_draws"] += w * look
                else:
                    alive[k] = w
            else:
                low, high = exact_interval(k, look, 1 - rule.alpha)
                v = ("holds" if high <= rule.tolerance else
                     "fails" if low > rule.tolerance else "uninformative")
                out[v] += w
                out["expected_draws"] += w * look
    return out


def judge_draws(verdicts: Sequence[str], rule: DrawRule) -> tuple[Criterion, dict[str, Any]]:
    """The criterion "failure rate over draws <= tau" from per-draw verdicts, and the
    JSON fields of verify/cli/README.md (``draws``, ``failure_rate``, ``failure_ci_low``,
    ``failure_ci_high``, ``alpha``, plus ``tolerance`` and the counts).

    A draw whose own verdict is "uninformative" tested nothing: it is counted apart
    and left out of N. The criterion's statistic is the interval's upper end (compared
    with tau); when the interval contains tau it is uninformative and says so.
    """
    n_fail = sum(v == "fails" for v in verdicts)
    n_hold = sum(v == "holds" for v in verdicts)
    n_unin = len(verdicts) - n_fail - n_hold  # uninformative or not applicable
    n = n_fail + n_hold
    low, high = exact_interval(n_fail, n, 1 - rule.alpha)
    tau = rule.tolerance
    rate = n_fail / n if n else float("nan")
    untested = ""
    if n == 0:
        untested = "no draw tested anything (every draw was uninformative)"
    elif high > tau and low <= tau:
        best = rule.best_upper(n)
        untested = (f"the {100 * (1 - rule.alpha):g}% interval [{low:.3f}, {high:.3f}] of "
                    f"the failure rate ({n_fail}/{n} draws) contains tau = {tau:g}: too "
                    f"few draws to decide" + (
                        f" (with {n} draws even no failure bounds it only by {best:.3f}; "
                        f"{rule.draws_needed()} draws can)" if best >= tau else ""))
    name = f"failure rate over {n} network draws <= tau"
    note = (f"{n_fail}/{n} draws fail; exact {100 * (1 - rule.alpha):g}% interval "
            f"[{low:.3f}, {high:.3f}]; holds if it lies below tau = {tau:g}, fails if above"
            + (f"; {n_unin} uninformative draws left out" if n_unin else ""))
    crit = Criterion(name, high if not untested else rate, tau, "<=", note=note,
                     untested=untested)
    if not untested and high > tau:  # low > tau: the rate is above tau at this level
        crit = Criterion(name, low, tau, "<=", note=note)
    fields = {"draws": len(verdicts), "draws_tested": n, "draws_failed": n_fail,
              "draws_uninformative": n_unin, "failure_rate": rate,
              "failure_ci_low": low, "failure_ci_high": high, "alpha": rule.alpha,
              "tolerance": tau, "tolerance_reason": rule.reason}
    return crit, fields


@dataclass(frozen=True)
class KnownBad:
    """A configuration that violates the statement's hypotheses: the check must reject it.

    Parameters
    ----------
    name : str
        Short label for the power table ("no expansion", "m < 2k").
    config : Config
        The configuration (built at import time: one that cannot be built is a
        registration error).
    reason : str
        Why the statement's hypotheses fail on it, and so why a pass would be wrong.
    verdicts : tuple of str
        The verdicts that count as rejecting it: ("fails",) unless the lemma says why
        "uninformative" is the honest answer there too. Never "holds".
    seed : int
        The seed it is run with (the report runs it on this seed).
    """

    name: str
    config: Any
    reason: str
    verdicts: tuple[str, ...] = ("fails",)
    seed: int = 0

    def __post_init__(self) -> None:
        from .presets import Config

        for attr in ("name", "reason"):
            v = getattr(self, attr)
            if not isinstance(v, str) or not v.strip():
                raise invalid(f"KnownBad.{attr}", "a non-empty string", v)
        if not isinstance(self.config, Config):
            raise invalid(f"KnownBad {self.name!r}: config", "a verify.presets.Config",
                          self.config)
        vs = (self.verdicts,) if isinstance(self.verdicts, str) else tuple(self.verdicts)
        if not vs or not set(vs) <= {"fails", "uninformative"}:
            raise invalid(f"KnownBad {self.name!r}: verdicts",
                          "a non-empty subset of ('fails', 'uninformative')", self.verdicts)
        object.__setattr__(self, "verdicts", vs)

    def rejected_by(self, verdict: str) -> bool:
        return verdict in self.verdicts

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config.name, "reason": self.reason,
                "verdicts": list(self.verdicts), "seed": self.seed}


def validate_known_bad(lemma: str, cases: Sequence[KnownBad]) -> tuple[KnownBad, ...]:
    """The known-bad cases of a registration: each must be a :class:`KnownBad` whose
    network can be drawn (it is drawn once here, at import time), names unique."""
    if isinstance(cases, KnownBad):
        cases = (cases,)
    out = tuple(cases)
    names = [c.name for c in out]
    from . import budget

    for c in out:
        if not isinstance(c, KnownBad):
            raise invalid(f"{lemma}: known_bad", "a tuple of verify.verdicts.KnownBad", c)
        try:
            with budget.exempt():  # registration work: never the user's --max-memory
                c.config.instantiate(c.seed)
        except Exception as exc:  # noqa: BLE001 - a registration error, named
            raise invalid(f"{lemma}: known_bad {c.name!r}",
                          "a configuration whose network can be drawn",
                          f"{type(exc).__name__}: {exc}") from None
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise invalid(f"{lemma}: known_bad", "unique names", sorted(dup))
    return out


#: Largest ``--draws``: a typo guard (what a count of draws costs is estimated and
#: checked against the time budget, :mod:`verify.work`).
MAX_DRAWS = 10**6


def draws_count(text_or_int: Any) -> int:
    """``--draws N``: an integer from 1 to :data:`MAX_DRAWS` (the CLI's parser and the
    Python API use it)."""
    allowed = f"an integer from 1 to {MAX_DRAWS:,}"
    if isinstance(text_or_int, bool):
        raise invalid("--draws", allowed, text_or_int)
    try:
        n = int(text_or_int)
    except (TypeError, ValueError, OverflowError):
        raise invalid("--draws", allowed, text_or_int) from None
    if (isinstance(text_or_int, float) and not float(text_or_int).is_integer()) or \
            (isinstance(text_or_int, str) and text_or_int.strip() != str(n)) or \
            not 1 <= n <= MAX_DRAWS:
        raise invalid("--draws", allowed, text_or_int)
    return n


__all__ = ["DrawRule", "KnownBad", "judge_draws", "operating_characteristics",
           "validate_known_bad", "draws_count", "DRAW_COLUMNS", "MAX_DRAWS"]
