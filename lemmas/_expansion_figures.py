"""The figures of :mod:`lemmas.expansion` (Theorem 1's probability against the expansion
factor; eps_hat against width), drawn from a result's tables only: they never recompute."""

from __future__ import annotations

import numpy as np


def figure_failure_rate(result):
    """Failure rate of Theorem 1's conclusion per grid step, with exact 95% intervals,
    against the expansion factor (log x); tau and the measured threshold marked."""
    import matplotlib.pyplot as plt

    t = result.tables["grid"].sort_values("expansion")
    d = result.details
    x, r = t["expansion"].to_numpy(float), t["rate"].to_numpy(float)
    err = np.vstack([r - t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float) - r])
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ax.errorbar(x, r, yerr=err, fmt="o-", capsize=3, label="failure rate (exact 95% CI)")
    ax.axhline(d["tau"], color="k", ls="--", lw=1, label=f"tau = {d['tau']:g}")
    for c, ls in ((1.0, ":"), (4.0, "-.")):
        ax.axvline(c, color="grey", ls=ls, lw=1, label=f"expansion = {c:g} (Theorem 1, c = {c:g})")
    thr = d.get("threshold")
    if thr:
        ax.axvline(thr["expansion"], color="green", lw=1.5,
                   label=f"measured threshold {thr['expansion']:.3g}")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("expansion factor min_i C_i l^dims / (C_{i-1} log C_{i-1})")
    ax.set_ylabel("draws failing Theorem 1's conclusion")
    ax.set_title(f"expansion [{result.preset}]: eps = {d['eps_ball']:g}, "
                 f"{int(t['draws'].iloc[0])} draws per point", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figure_eps_width(result):
    """eps_hat per draw against the output width n_d (log-log), the per-step median and
    the fitted line log eps_hat = a + b log(width)."""
    import matplotlib.pyplot as plt

    dr = result.tables["draws"]
    t = result.tables["grid"].sort_values("width")
    fit = result.tables["eps_fit"].iloc[0]
    d = result.details
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    fin = dr[np.isfinite(dr["eps_hat"]) & (dr["eps_hat"] > 0)]
    ax.plot(fin["width"], fin["eps_hat"], ".", alpha=0.35, label="eps_hat per draw")
    ax.plot(t["width"], t["eps_median"], "s-", color="C1", label="median per step")
    if np.isfinite(fit["b"]):
        w = np.geomspace(t["width"].min(), t["width"].max(), 50)
        ax.plot(w, np.exp(fit["a"]) * w ** fit["b"], "k--",
                label=f"fit: b = {fit['b']:.3f} [{fit['b_low']:.3f}, {fit['b_high']:.3f}]")
    ax.axhline(d["eps_ball"], color="red", lw=1, label=f"eps = {d['eps_ball']:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width n_d (output units)")
    ax.set_ylabel("eps_hat (units of ||z*||)")
    ax.set_title(f"expansion [{result.preset}]: smallest balls holding the stationary set",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


FIGURES = (figure_failure_rate, figure_eps_width)
