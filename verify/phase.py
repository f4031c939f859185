"""Phase transitions in the sampling rate, and recovery under noise (lemmas/README.md, section 9;
paper Theorem 4 and Sec. 3's two empirical observations).

* :func:`phase_transition` — for each mask kind and each rate of a grid, the success
  probability of recovery with its 95% Wilson interval; every (kind, rate, trial)
  runs in ONE batched inversion.
* :func:`fit_logistic` — maximum-likelihood logistic curve
  ``p(r) = 1 / (1 + exp(-k (r - r_50)))`` on the binomial counts, with a
  profile-likelihood interval for the transition point r_50.
* :func:`monotonicity` — the largest significant drop of success with rate
  (Wilson intervals that separate the wrong way).
* :func:`noise_sweep` — y = A G(z*) + sigma xi: recovery error against sigma (paired
  trials), with the log-log slope on small noise (1 means linear growth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .errors import invalid
from .inversion import SUCCESS_TOL, recover
from .measurements import check_rate, kinds_for, sample_masks
from .rng import as_generator
from .stats import wilson_interval

#: Profile grid for r_50 (rates live in (0, 1]; a transition outside is reported as
#: censored at the edge) and for log10 of the slope k.
_R50_GRID = np.linspace(0.0, 1.0, 1001)
_LOGK_GRID = np.linspace(-1.0, 3.0, 241)


# ============================================================== logistic fit
@dataclass(frozen=True)
class LogisticFit:
    """ML fit of p(r) = expit(k (r - r50)) to binomial counts.

    ``r50_low, r50_high``: the profile-likelihood interval at ``confidence`` (the r_50
    whose profile log-likelihood is within chi2_1(confidence)/2 of the maximum).
    ``censored``: "below" / "above" when the interval reaches the edge of [0, 1] or lies
    wholly outside the tested rates; then the interval is widened to reach the smallest
    (largest) rate tested, since the data cannot place r_50 beyond it. Else "".
    """

    r50: float
    slope: float
    r50_low: float
    r50_high: float
    loglik: float
    confidence: float
    censored: str = ""

    def to_dict(self) -> dict:
        return {"r50": self.r50, "slope": self.slope, "r50_low": self.r50_low,
                "r50_high": self.r50_high, "loglik": self.loglik,
                "confidence": self.confidence, "censored": self.censored}

    def predict(self, r) -> np.ndarray:
        return special.expit(self.slope * (np.asarray(r, float) - self.r50))


def _loglik(r50, logk, rates, succ, fail):
    """Binomial log-likelihood (up to the constant) on broadcast grids."""
    x = (10.0 ** logk)[..., None] * (rates - r50[..., None])
    return np.sum(succ * special.log_expit(x) + fail * special.log_expit(-x), axis=-1)


def fit_logistic(rates, successes, trials, *, confidence: float = 0.95) -> LogisticFit:
    """Maximum-likelihood logistic fit of success counts against the rate.

    Parameters
    ----------
    rates : array (g,)
    successes, trials : int arrays (g,)
    confidence : float

    Notes
    -----
    The likelihood is maximised on a grid (r_50 in [0, 1] by 0.001, log10 k in [-1, 3])
    and refined by Nelder-Mead; the r_50 interval is the profile-likelihood set
    {r_50 : max_k l(r_50, k) >= l_max - chi2_1(confidence)/2}. Under complete separation
    the slope runs to the grid's cap (k = 1000) and r_50 lies in the gap, as it should.
    """
    rates = np.asarray(rates, float)
    succ = np.asarray(successes, float)
    n = np.asarray(trials, float)
    if rates.ndim != 1 or rates.size < 2 or succ.shape != rates.shape or n.shape != rates.shape:
        raise invalid("rates/successes/trials", "1-D arrays of one length >= 2",
                      (rates.shape, succ.shape, n.shape))
    if np.any(n < 1) or np.any(succ < 0) or np.any(succ > n):
        raise invalid("successes/trials", "0 <= successes <= trials, trials >= 1", (succ, n))
    if not 0 < confidence < 1:
        raise invalid("confidence", "a number in (0, 1)", confidence)
    fail = n - succ
    ll = _loglik(_R50_GRID[:, None], _LOGK_GRID[None, :], rates, succ, fail)
    prof = ll.max(axis=1)
    i, j = np.unravel_index(np.argmax(ll), ll.shape)
    x0 = np.array([_R50_GRID[i], _LOGK_GRID[j]])

    def nll(p):
        r50, logk = p[0], np.clip(p[1], _LOGK_GRID[0], _LOGK_GRID[-1])
        return -float(_loglik(np.array(r50), np.array(logk), rates, succ, fail))

    res = optimize.minimize(nll, x0, method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 2000})
    best = res.x if res.fun <= nll(x0) else x0
    # outside [0, 1] the likelihood is flat in r50 (censored): keep the estimate near the grid
    r50 = float(np.clip(best[0], -1.0, 2.0))
    logk = float(np.clip(best[1], _LOGK_GRID[0], _LOGK_GRID[-1]))
    lmax = max(-float(res.fun), float(prof.max()))
    cut = lmax - stats.chi2.ppf(confidence, 1) / 2
    inside = np.flatnonzero(prof >= cut)
    if inside.size == 0:  # the refined optimum sits between grid points
        inside = np.array([int(np.argmin(np.abs(_R50_GRID - r50)))])
    lo, hi = float(_R50_GRID[inside[0]]), float(_R50_GRID[inside[-1]])
    lo, hi = min(lo, r50), max(hi, r50)
    censored = ""
    # A transition outside the tested rates is not located by the data: say so, and do not
    # let the interval claim more than "below the smallest (above the largest) rate tested".
    if lo <= _R50_GRID[0] or hi < rates.min():
        censored, hi = "below", max(hi, float(rates.min()))
    elif hi >= _R50_GRID[-1] or lo > rates.max():
        censored, lo = "above", min(lo, float(rates.max()))
    return LogisticFit(r50, 10.0 ** logk, lo, hi, lmax, confidence, censored)


# ============================================================== phase transitions
@dataclass(frozen=True, eq=False)
class PhaseResult:
    """Success probability per (kind, rate) and the fitted transitions.

    ``table``: kind, rate, actual_rate, trials, recovered, success_rate, ci_low, ci_high,
    median_rel_error, median_iterations. ``fits``: kind, r50, r50_low, r50_high,
    slope, censored, monotone_drop.
    """

    table: pd.DataFrame
    fits: pd.DataFrame
    settings: dict


def monotonicity(rates, ci_low, ci_high) -> float:
    """max over r_i < r_j of (ci_low_i - ci_high_j): > 0 means success at a higher rate
    is significantly below success at a lower one (a violation of monotone rise)."""
    order = np.argsort(np.asarray(rates, float))
    lo = np.asarray(ci_low, float)[order]
    hi = np.asarray(ci_high, float)[order]
    worst = -np.inf
    for a in range(lo.size - 1):  # g <= ~20 grid points
        worst = max(worst, float(np.max(lo[a] - hi[a + 1:])))
    return worst


def phase_transition(network, *, kinds: Sequence[str] | None = None,
                     rates: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0),
                     trials: int = 30, rng=None, success_tol: float = SUCCESS_TOL,
                     **invert_kwargs) -> PhaseResult:
    """Recovery success against the sampling rate for each mask kind.

    Every (kind, rate, trial) gets its own z* ~ N(0, I) and start (and mask for
    ``random``); all of them run as one batched :func:`verify.inversion.recover`.
    The logistic curve is fitted against the ACTUAL observed fraction m/n of each mask
    (a spatial pattern can only keep whole rows, columns or frames, so its actual
    rate is >= the nominal one and several nominal rates may give the same mask).
    """
    spec = network.spec
    kinds = tuple(kinds_for(spec.dims) if kinds is None else kinds)
    rates = [check_rate(r, "rates") for r in rates]
    if len(rates) < 2:
        raise invalid("rates", "at least two rates", rates)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise invalid("trials", "an integer >= 1", trials)
    gen = as_generator(rng)
    blocks = [(k, r) for k in kinds for r in rates]
    masks = np.concatenate([sample_masks(k, spec.output_shape, r, trials, rng=gen)
                            for k, r in blocks])
    z_star = gen.normal(size=(masks.shape[0], spec.latent_dim))
    st = recover(network, z_star, masks, success_tol=success_tol, rng=gen, **invert_kwargs)
    succ = st.success.reshape(len(blocks), trials)
    err = st.rel_error.reshape(len(blocks), trials)
    its = st.result.iterations.reshape(len(blocks), trials)
    rows = []
    for bi, (k, r) in enumerate(blocks):
        s = int(succ[bi].sum())
        lo, hi = wilson_interval(s, trials)
        actual = float(masks[bi * trials:(bi + 1) * trials].mean())
        rows.append({"kind": k, "rate": r, "actual_rate": actual, "trials": trials,
                     "recovered": s,
                     "success_rate": s / trials, "ci_low": lo, "ci_high": hi,
                     "median_rel_error": float(np.median(err[bi])),
                     "median_iterations": float(np.median(its[bi]))})
    table = pd.DataFrame(rows)
    fits = []
    for k in kinds:
        t = table[table.kind == k]
        f = fit_logistic(t.actual_rate.to_numpy(), t.recovered.to_numpy(), t.trials.to_numpy())
        fits.append({"kind": k, **f.to_dict(),
                     "monotone_drop": monotonicity(t.rate, t.ci_low, t.ci_high)})
    settings = {"kinds": list(kinds), "rates": list(rates), "trials_per_point": trials,
                "success_tol": success_tol, **st.result.settings,
                "elapsed_s": st.result.elapsed_s}
    return PhaseResult(table, pd.DataFrame(fits), settings)


# ============================================================== noise
@dataclass(frozen=True, eq=False)
class NoiseResult:
    """Recovery error against noise. ``table``: sigma, sigma_rel (sigma over the RMS of
    the observed signal), trials, median / mean rel. error with a 95% interval.
    ``slope``: least-squares slope of log median error on log sigma over the small-noise
    levels (``slope_low``, ``slope_high``: its 95% t-interval); 1 means linear."""

    table: pd.DataFrame
    slope: float
    slope_low: float
    slope_high: float
    small_noise_levels: int
    settings: dict


def noise_sweep(network, *, kind: str = "random", rate: float = 0.5,
                sigma_rel: Sequence[float] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
                trials: int = 30, small: float = 1e-2, rng=None, **invert_kwargs) -> NoiseResult:
    """y = A G(z*) + sigma xi for a grid of sigma = sigma_rel * RMS(A G(z*)); the same
    z*, masks and starts at every level (paired), all levels in one batched call.
    The slope is fitted on the levels with sigma_rel <= ``small``."""
    from .inversion import invert, relative_errors

    spec = network.spec
    levels = np.asarray(sigma_rel, float)
    if levels.ndim != 1 or levels.size < 2 or not np.all(np.isfinite(levels)) or np.any(levels <= 0):
        raise invalid("sigma_rel", "at least two finite levels > 0", sigma_rel)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise invalid("trials", "an integer >= 1", trials)
    gen = as_generator(rng)
    masks = sample_masks(kind, spec.output_shape, rate, trials, rng=gen)
    z_star = gen.normal(size=(trials, spec.latent_dim))
    x = network.forward(z_star)
    rms = float(np.sqrt(np.mean(x[masks] ** 2)))
    xi = gen.normal(size=x.shape)
    init = gen.normal(size=z_star.shape)
    g = levels.size
    y = np.concatenate([np.where(masks, x + s * rms * xi, 0.0) for s in levels])
    res = invert(network, y, np.tile(masks, (g, 1)), init=np.tile(init, (g, 1)), **invert_kwargs)
    err = relative_errors(res.z_hat, np.tile(z_star, (g, 1))).reshape(g, trials)
    rows = []
    for li, s in enumerate(levels):
        e = err[li]
        ok = np.isfinite(e)
        m, lo, hi = (float(np.mean(e[ok])),) + tuple(
            float(v) for v in stats.t.interval(0.95, max(ok.sum() - 1, 1), loc=np.mean(e[ok]),
                                                scale=stats.sem(e[ok]) if ok.sum() > 1 else np.nan))
        rows.append({"sigma_rel": float(s), "sigma": float(s * rms), "trials": trials,
                     "median_rel_error": float(np.median(e)), "mean_rel_error": m,
                     "mean_low": lo, "mean_high": hi,
                     "max_rel_error": float(np.max(e))})
    table = pd.DataFrame(rows)
    sel = table[table.sigma_rel <= small]
    slope = lo_s = hi_s = float("nan")
    if len(sel) >= 2:
        fit = stats.linregress(np.log(sel.sigma_rel), np.log(sel.median_rel_error))
        slope = float(fit.slope)
        if len(sel) >= 3:
            half = stats.t.ppf(0.975, len(sel) - 2) * fit.stderr
            lo_s, hi_s = slope - half, slope + half
    return NoiseResult(table, slope, lo_s, hi_s, int(len(sel)),
                       {"kind": kind, "rate": rate, "trials": trials, "signal_rms": rms,
                        "small": small, **res.settings})


__all__ = ["LogisticFit", "fit_logistic", "PhaseResult", "phase_transition", "monotonicity",
           "NoiseResult", "noise_sweep"]
