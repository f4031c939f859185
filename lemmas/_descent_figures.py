"""The figures of :mod:`lemmas.descent` (Theorem 1's stationary points and balls; the
surrogate gap against width), drawn from a result's table, tables and details only:
they never recompute. Kept apart from the check, as for :mod:`lemmas.landscape`."""

from __future__ import annotations

import pandas as pd


def figure_stationary_points(result):
    """Stationary points found and the two balls, in the plane spanned by z* and each
    point's own perpendicular direction (coordinates / ||z*||); searched points that
    are not stationary in grey. Drawn from ``result.table`` and ``result.details``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    t = result.table
    eps, rho_d = result.details["eps_ball"], result.details["rho_d"]
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    if len(t):
        ns = t[(t["search"] != "sample") & ~t["stationary"]]
        ax.scatter(ns["par"], ns["perp"], s=6, c="0.75", label="search end, not stationary")
        st = t[t["stationary"] & ~t["search"].isin(["sample", "exact"])]
        for name, grp in st.groupby("measurement"):
            ax.scatter(grp["par"], grp["perp"], s=14, label=f"stationary ({name})")
        ex = t[t["search"] == "exact"]
        if len(ex):
            ax.scatter(ex["par"], ex["perp"], s=22, marker="x", c="k", lw=0.8,
                       label="exact stationary points")
    for cx, lab in ((1.0, "B(z*, eps)"), (-rho_d, "B(-rho_d z*, eps)")):
        ax.add_patch(Circle((cx, 0.0), eps, fill=False, ls="--", lw=1.2, color="k"))
        ax.annotate(lab, (cx, eps), ha="center", va="bottom", fontsize=8)
    ax.axhline(0, lw=0.5, color="k")
    ax.set_xlabel("<z, z*> / ||z*||^2")
    ax.set_ylabel("||z - proj_z* z|| / ||z*||")
    ax.set_title(f"descent [{result.preset}]: stationary points of J (eps = {eps})")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def figure_width_sweep(result):
    """The gap ||grad J - c^2 r h|| / (c^2 r ||z*||) against the last block's rows."""
    import matplotlib.pyplot as plt

    df = result.tables.get("width_sweep", pd.DataFrame())
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for name, grp in df.groupby("measurement") if len(df) else []:
        ax.loglog(grp["block_rows"], grp["gap_mean"], "o-", label=f"mean, {name}")
        ax.loglog(grp["block_rows"], grp["gap_max"], "x:", label=f"max, {name}")
    ax.set_xlabel("rows of the last dense block (C_d l^dims)")
    ax.set_ylabel("surrogate gap / ||z*||")
    ax.set_title("grad J vs H&V's h_{z,z*}")
    ax.legend(fontsize=7)
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig
