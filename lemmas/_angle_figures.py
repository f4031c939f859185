"""Figures of the ``angle`` check (lemmas/angle.py), drawn from a result only."""

from __future__ import annotations

import numpy as np

from verify.geometry.angles import angle_map


def figure_angles(result):
    """Left: output angle against input angle on the dense blocks, with the map g(θ);
    right: measured output angle of each conv layer against the predicted θ̄."""
    import matplotlib.pyplot as plt

    df = result.table
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    th = np.linspace(0, np.pi, 200)
    ax = axes[0]
    ax.plot(th, angle_map(th), "k-", lw=1.5, label="g(theta)")
    ax.plot(th, th, "k:", lw=0.8, label="identity")
    blk = df[df["level"] == "block"]
    for kind, sub in blk.groupby("kind"):
        ax.scatter(sub["theta_in"], sub["theta_out"], s=6, alpha=0.5, label=kind)
    ax.set(xlabel="input angle angle(u, v)", ylabel="output angle",
           title="dense block: angle(B+u u, B+v v) vs g")
    ax.legend(fontsize=7, markerscale=2)
    ax = axes[1]
    conv = df[df["level"] == "conv"]
    for layer, sub in conv.groupby("layer"):
        ax.scatter(sub["theta_pred"], sub["theta_out"], s=6, alpha=0.5, label=f"layer {layer + 1}")
    ax.plot([0, np.pi / 2], [0, np.pi / 2], "k-", lw=1)
    ax.set(xlabel="predicted theta_bar", ylabel="measured output angle",
           title="conv layer: measured vs theta_bar")
    ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    return fig


def figure_width_sweep(result):
    """The largest gap |measured angle − g(θ)| against the block height m (log-log),
    with the a-priori bound and the fitted slope."""
    import matplotlib.pyplot as plt

    sw = result.tables.get("width_sweep")
    fig, ax = plt.subplots(figsize=(5, 4))
    if sw is not None and len(sw):
        ax.errorbar(sw["m"], sw["gap_max"], yerr=sw["gap_sd"], fmt="o-", label="largest gap")
        ax.plot(sw["m"], sw["bound"], "k--", label="a-priori bound")
        ax.set_xscale("log")
        ax.set_yscale("log")
        from matplotlib.ticker import NullFormatter
        ax.xaxis.set_minor_formatter(NullFormatter())
        slope = result.details.get("sweep_slope")
        ax.set_title(f"gap vs block height m (k = {int(sw['k'].iloc[0])}), slope {slope:.2f}")
    ax.set(xlabel="m (rows of B)", ylabel="largest |measured - g| (rad)")
    ax.legend()
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig
