"""Statistics with their uncertainty: intervals for rates and means.

Every probability statement the toolkit makes carries a sample count and an
interval; these are the shared helpers.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .errors import invalid


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    Returns (low, high); for ``trials = 0`` the uninformative (0, 1).
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise invalid("successes/trials", "0 <= successes <= trials", (successes, trials))
    if not 0 < confidence < 1:
        raise invalid("confidence", "a number in (0, 1)", confidence)
    if trials == 0:
        return 0.0, 1.0
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    # At the ends the interval touches 0 (or 1) exactly; rounding would leave ~1e-17.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def mean_interval(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and its Student-t interval: (mean, low, high). NaN interval for n < 2."""
    x = np.asarray(x, float)
    n = x.size
    m = float(np.mean(x)) if n else float("nan")
    if n < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(x, ddof=1) / math.sqrt(n))
    return m, m - half, m + half


def zero_failure_bound(trials: int, confidence: float = 0.95) -> float:
    """Upper confidence bound on a failure probability after ``trials`` trials with no
    failure: 1 - (1 - confidence)^(1/trials) (the "rule of three" is its 95% limit)."""
    if trials <= 0:
        return 1.0
    return 1.0 - (1.0 - confidence) ** (1.0 / trials)


__all__ = ["wilson_interval", "mean_interval", "zero_failure_bound"]
