"""Statistics with their uncertainty: intervals for rates and means.

Every probability statement the toolkit makes carries a sample count and an
interval; these are the shared helpers. The intervals come from SciPy
(``scipy.stats.binomtest(...).proportion_ci`` and ``scipy.stats.t``); this module
only fixes the conventions at the edges (no trials, no spread) and returns plain
floats.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import invalid


def _counts(successes: int, trials: int, confidence: float) -> tuple[int, int]:
    if trials < 0 or successes < 0 or successes > trials:
        raise invalid("successes/trials", "0 <= successes <= trials", (successes, trials))
    if int(successes) != successes or int(trials) != trials:
        raise invalid("successes/trials", "whole numbers", (successes, trials))
    if not 0 < confidence < 1:
        raise invalid("confidence", "a number in (0, 1)", confidence)
    return int(successes), int(trials)


def _proportion_ci(successes: int, trials: int, confidence: float,
                   method: str) -> tuple[float, float]:
    from scipy import stats  # imported on use: keeps `import verify` light

    k, n = _counts(successes, trials, confidence)
    if n == 0:
        # scipy's binomtest needs n >= 1; no trial says nothing: the whole of [0, 1].
        return 0.0, 1.0
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
    return float(ci.low), float(ci.high)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927), from
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.

    Returns (low, high); exactly 0 at k = 0 and exactly 1 at k = n (as SciPy returns
    them); for ``trials = 0`` the uninformative (0, 1).
    """
    return _proportion_ci(successes, trials, confidence, "wilson")


def exact_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval for a binomial proportion, from
    ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``.

    Returns (low, high); exactly 0 at k = 0 and exactly 1 at k = n; for ``trials = 0``
    the uninformative (0, 1).
    """
    return _proportion_ci(successes, trials, confidence, "exact")


def mean_interval(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and its Student-t interval: (mean, low, high), from ``scipy.stats.t.interval``.

    NaN interval for n < 2. When every sample is equal (standard error 0) the interval
    is the point (mean, mean): SciPy refuses a zero scale and would return NaN.
    """
    from scipy import stats  # imported on use: keeps `import verify` light

    if not 0 < confidence < 1:
        raise invalid("confidence", "a number in (0, 1)", confidence)
    x = np.asarray(x, float)
    n = x.size
    m = float(np.mean(x)) if n else float("nan")
    if n < 2:
        return m, float("nan"), float("nan")
    sem = float(np.std(x, ddof=1) / math.sqrt(n))
    if sem == 0.0:
        return m, m, m
    low, high = stats.t.interval(confidence, n - 1, loc=m, scale=sem)
    return m, float(low), float(high)


def zero_failure_bound(trials: int, confidence: float = 0.95) -> float:
    """Upper confidence bound on a failure probability after ``trials`` trials with no
    failure: 1 - (1 - confidence)^(1/trials) (the "rule of three" is its 95% limit).

    This is the one-sided Clopper-Pearson limit, ``scipy.stats.binomtest(0, n,
    alternative="less").proportion_ci(method="exact").high``; it is written out because
    at k = 0 the limit has this closed form, exact to rounding, while SciPy finds it with
    a root finder (off by up to ~1e-12). For ``trials <= 0``: 1.
    """
    if not 0 < confidence < 1:
        raise invalid("confidence", "a number in (0, 1)", confidence)
    if trials <= 0:
        return 1.0
    return 1.0 - (1.0 - confidence) ** (1.0 / trials)


__all__ = ["wilson_interval", "exact_interval", "mean_interval", "zero_failure_bound"]
