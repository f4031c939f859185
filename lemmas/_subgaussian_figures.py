"""Figures of the ``subgaussian`` check (lemmas/subgaussian.py), drawn from a result only."""

from __future__ import annotations

import numpy as np


def figure_laws(result):
    """Heat map law x check of the rerun checks' verdicts, with statistic and bound."""
    import matplotlib.pyplot as plt
    import numpy as np

    t = result.table
    t = t[t["status"].isin(["ran", "error"])] if len(t) else t
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    if len(t):
        laws = list(dict.fromkeys(t["law"]))
        checks = list(dict.fromkeys(t["check"]))
        grid = np.full((len(laws), len(checks)), np.nan)
        for _, r in t.iterrows():
            grid[laws.index(r["law"]), checks.index(r["check"])] = (
                1.0 if r["passed"] else 0.75 if r["conclusion_passed"]
                else 0.5 if r["conclusion"] == "uninformative" else 0.0)
        ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        for _, r in t.iterrows():
            ax.text(checks.index(r["check"]), laws.index(r["law"]),
                    f"{r['statistic']:.3g}\n{r['sense']} {r['bound']:.3g}", ha="center",
                    va="center", fontsize=7)
        ax.set_xticks(range(len(checks)), checks)
        ax.set_yticks(range(len(laws)), laws)
    ax.set_title(f"Conjecture 3 [{result.preset}]\ngreen: pass; light green: only "
                 "Gaussian-only criteria fail; yellow: uninformative; red: fail", fontsize=8)
    fig.tight_layout()
    return fig


def figure_tails(result):
    """-log P(|x| > t) / t^2 against t per law, sample (dots, up to its far window) and
    exact (lines, where the CDF is listed): a subgaussian law stays above a positive level;
    the centred exponential and the Laplace reference fall like 1/t."""
    import matplotlib.pyplot as plt

    from .subgaussian import FAR, NEAR, exact_tail  # the check's windows and exact tails

    fig, ax = plt.subplots(figsize=(6, 4))
    tails = result.tables.get("tails")
    if tails is None or tails.empty:
        ax.text(0.5, 0.5, "no tail table", ha="center")
        return fig
    t = np.linspace(0.5, 12.0, 200)
    for i in range(len(tails)):
        law, cls = tails["law"].iloc[i], tails["class"].iloc[i]
        col = f"C{i % 10}"
        s_ex = exact_tail(law, t)
        if s_ex is not None:
            with np.errstate(divide="ignore"):
                g = -np.log(s_ex) / t ** 2
            ok = np.isfinite(g)
            ax.plot(t[ok], g[ok], color=col, lw=1, label=f"{law}: {cls}")
        ps = NEAR + FAR
        row = tails.iloc[i]
        ts = np.array([row[f"t_{p:g}"] for p in ps])
        ax.plot(ts, -np.log(np.array(ps)) / ts ** 2, "o", color=col, ms=3)
    ax.set_xlabel("t (unit variance)")
    ax.set_ylabel("-log P(|x| > t) / t^2")
    ax.set_yscale("log")
    ax.set_ylim(1e-2, 1e2)
    ax.set_title(f"Conjecture 3's tail definition [{result.preset}] (dots: samples, "
                 f"lines: exact)", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
