"""Figures of the ``trained-recovery`` check (Fig. 5), drawn from a result only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from verify.digits_recovery import P_MIN, quality_note


def _yerr(g: pd.DataFrame, prefix: str = "") -> np.ndarray:
    """Error bars from the Wilson interval (clipped: the interval's ends carry rounding)."""
    rate = g[f"{prefix}success_rate"].to_numpy()
    return np.clip(np.vstack([rate - g[f"{prefix}ci_low"].to_numpy(),
                              g[f"{prefix}ci_high"].to_numpy() - rate]), 0.0, None)


def figure_grid(result):
    """Fig. 5: truth / observed / recovered images, one column per mask."""
    import matplotlib.pyplot as plt

    grid = result.tables["grid"]
    masks = list(dict.fromkeys(grid["mask"]))
    rows = ("truth", "observed", "recovered")
    fig, axes = plt.subplots(3, len(masks), figsize=(1.6 * len(masks) + 0.6, 5.0),
                             squeeze=False)
    for j, mk in enumerate(masks):
        for i, row in enumerate(rows):
            g = grid[(grid["mask"] == mk) & (grid["row"] == row)]
            h, w = int(g["i"].max()) + 1, int(g["j"].max()) + 1
            img = np.full((h, w), np.nan)
            img[g["i"].to_numpy(), g["j"].to_numpy()] = g["value"].to_numpy()
            ax = axes[i][j]
            cmap = plt.get_cmap("gray").with_extremes(
                bad="tab:red" if row == "observed" else "black")
            ax.imshow(np.ma.masked_invalid(img), cmap=cmap, vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(mk, fontsize=9)
            if j == 0:
                ax.set_ylabel(row, fontsize=9)
    fig.suptitle(f"{result.preset}: recovery from partial observations (paper Fig. 5)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def figure_restarts(result):
    """Success rate (95% Wilson) against the number of starts, per mask (both sources)."""
    import matplotlib.pyplot as plt

    from verify.plotting import tight_layout

    tab = result.tables["restarts"]
    tab = tab[tab["source"] == "both"]
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    for mk, g in tab.groupby("mask", sort=False):
        ax.errorbar(g["starts"], g["success_rate"], yerr=_yerr(g), marker="o", capsize=3,
                    label=mk)
    ax.axhline(P_MIN, color="grey", ls=":", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("random starts (at most)")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    ax.set_title(f"{result.preset}: success with restarts", fontsize=10)
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig


def figure_success(result):
    """Per mask: per-start success against success with restarts (95% Wilson), with the
    verdict's threshold."""
    import matplotlib.pyplot as plt

    tab = result.tables["masks"]
    x = np.arange(len(tab))
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for off, prefix, label in ((-0.12, "per_start_", "one start (plain Adam)"),
                               (0.12, "restarts_", "with restarts")):
        ax.errorbar(x + off, tab[f"{prefix}success_rate"], yerr=_yerr(tab, prefix),
                    fmt="o", capsize=3, label=label)
    ax.axhline(P_MIN, color="grey", ls=":", lw=1, label=f"threshold {P_MIN:g}")
    ax.set_xticks(x, tab["mask"])
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("success rate (95% Wilson)")
    ax.legend(fontsize=7)
    ax.set_title(f"{result.preset}: per start and with restarts", fontsize=10)
    fig.tight_layout()
    return fig


def figure_samples(result):
    """Samples of the generator (z ~ N(0, I)) with its measured quality."""
    import matplotlib.pyplot as plt

    tab = result.tables.get("samples")
    q = result.details.get("generator_quality", {})
    fig, ax = plt.subplots(figsize=(6.0, 2.9))
    if tab is None or len(tab) == 0:
        ax.text(0.5, 0.5, "no samples (digits unavailable)", ha="center", va="center")
        ax.set_axis_off()
        return fig
    k = int(tab["sample"].max()) + 1
    cols = 10
    rows = -(-k // cols)
    grid = np.full((rows * 34, cols * 34), -1.0)
    for s_, g in tab.groupby("sample"):
        r, c = divmod(int(s_), cols)
        img = np.full((32, 32), np.nan)
        img[g["i"].to_numpy(), g["j"].to_numpy()] = g["value"].to_numpy()
        grid[r * 34 + 1:r * 34 + 33, c * 34 + 1:c * 34 + 33] = img
    ax.imshow(grid, cmap="gray", vmin=-1, vmax=1)
    ax.set_axis_off()
    verdict = "draws digits" if q.get("draws_digits") else "DRAWS NO DIGITS"
    ax.set_title(f"{result.preset}: samples, z ~ N(0, I): {verdict}\n{quality_note(q)}",
                 fontsize=7)
    fig.tight_layout()
    return fig


FIGURES = (figure_grid, figure_restarts, figure_success, figure_samples)
