"""Figures of the ``partial`` check (Theorem 4, Sec. 3's observations, Sec. 4.3's
iterations), drawn from a result only."""

from __future__ import annotations

import numpy as np

from verify.recovery_experiments import ADV_RATE, ITER_CLAIM, PAPER_ADAM_LR


def figure_phase(result):
    """Success against the actual sampling rate per pattern, with r_50 (dotted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = result.tables.get("phase")
    fits = result.tables.get("phase_fits")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if t is None or t.empty:
        ax.text(0.5, 0.5, "no phase table", ha="center")
        return fig
    palette = dict(zip(t.kind.unique(), sns.color_palette("tab10", t.kind.nunique())))
    for kind, g in t.groupby("kind", sort=False):
        g = g.sort_values("actual_rate")
        col = palette[kind]
        ax.errorbar(g.actual_rate, g.success_rate,
                    yerr=[g.success_rate - g.ci_low, g.ci_high - g.success_rate],
                    fmt="o-", color=col, capsize=2, lw=1, ms=3, label=kind)
        if fits is not None:
            f = fits[fits.kind == kind]
            if len(f) and not f.censored.iloc[0]:
                ax.axvline(f.r50.iloc[0], color=col, ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("actual sampling rate m/n")
    ax.set_ylabel("success probability (95% Wilson)")
    ax.set_title(f"Theorem 4: recovery vs sampling rate [{result.preset}] (dotted: r_50)")
    ax.legend(fontsize=7, ncol=2)
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig


def figure_noise(result):
    """Recovery error against measurement noise (mean with 95% t interval, median)."""
    import matplotlib.pyplot as plt

    t = result.tables.get("noise")
    fig, ax = plt.subplots(figsize=(5, 4))
    if t is None or t.empty:
        ax.text(0.5, 0.5, "no noise table", ha="center")
        return fig
    ax.errorbar(t.sigma_rel, t.mean_rel_error,
                yerr=[t.mean_rel_error - t.mean_low, t.mean_high - t.mean_rel_error],
                fmt="o-", capsize=2, label="mean (95% t)")
    ax.plot(t.sigma_rel, t.median_rel_error, "s--", label="median")
    ax.set_xscale("log")
    ax.set_yscale("log")
    slope = result.details.get("noise", {}).get("slope")
    ax.set_xlabel("noise sigma / RMS(A G(z*))")
    ax.set_ylabel("||z_hat - z*|| / ||z*||")
    ax.set_title(f"recovery error vs noise, slope {slope:.3g}" if slope else "recovery error vs noise")
    ax.legend(fontsize=8)
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig


def figure_masks_and_iterations(result):
    """Left: sigma_min(A J_G(z*)) of the adversarial mask against a random one at the
    same rate, per network (o recovered, x not; below the diagonal: the search made it
    worse). Right: Adam (lr 0.1) iterations to reach z*, with Sec. 4.3's 500."""
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.8))
    adv = result.tables.get("adversarial")
    if adv is not None and len(adv):
        for ok, mk in ((True, "o"), (False, "x")):
            g = adv[adv.recovered_adversarial == ok]
            a1.scatter(g.sigma_min_random, g.sigma_min_adversarial, marker=mk, s=18,
                       label="recovered" if ok else "not recovered")
        hi = float(np.nanmax(adv[["sigma_min_random", "sigma_min_adversarial"]].to_numpy()))
        a1.plot([0, hi], [0, hi], "k:", lw=1)
        d = result.details.get("adversarial", {})
        a1.set_title(f"adversarial vs random mask at r = {d.get('rate', ADV_RATE):g}: "
                     f"{d.get('recovered_adversarial')}/{d.get('trials')} vs "
                     f"{d.get('recovered_random')}/{d.get('trials')}", fontsize=8)
        a1.legend(fontsize=7)
    a1.set_xlabel("sigma_min, random mask")
    a1.set_ylabel("sigma_min, adversarial mask")
    it = result.tables.get("iterations")
    if it is not None and len(it) and it.reached.any():
        a2.hist(it[it.reached].iterations, bins=30, color="C2")
        a2.axvline(ITER_CLAIM, color="k", ls="--", lw=1)
        a2.set_title(f"Adam lr {PAPER_ADAM_LR:g}: {int(it.within_claim.sum())}/{len(it)} "
                     f"runs reach z* within {ITER_CLAIM}", fontsize=8)
    else:
        a2.text(0.5, 0.5, "iterations not measured here", ha="center", transform=a2.transAxes)
    a2.set_xlabel("iterations to ||z - z*|| <= 1e-3 ||z*||")
    fig.suptitle(f"Theorem 4, arbitrary masks; Sec. 4.3's iterations [{result.preset}]",
                 fontsize=9)
    fig.tight_layout()
    return fig


FIGURES = (figure_phase, figure_noise, figure_masks_and_iterations)
