"""Phase diagrams of a sweep: the verdict (or a recovery's success rate) over expansion x
sampling rate, from the records of :func:`verify.sweep.load_results` only.

(:mod:`verify.phase` is another thing: the phase transition of recovery measured by
the ``partial`` check.)"""

from __future__ import annotations


def phase_table(df, *, x: str = "expansion", y: str = "rate", value: str | None = None,
                lemma: str | None = None, by: tuple[str, ...] = ("lemma", "mask")):
    """A phase diagram's data: the mean of ``value`` per (facet, x, y), with counts.

    Parameters
    ----------
    df : DataFrame of :func:`load_results`
    x, y : columns; default the expansion (min over layers of C_i l^dims / C_{i-1})
        and the sampling rate m/n.
    value : column averaged; default ``passed`` (the fraction of checks that passed),
        or ``success_rate`` for recovery (``kind = "invert"``) rows.
    by : the facet columns (one heat map each). Rows with a ``full`` mask are rate 1 of
        every mask kind, so they join each other mask kind's facet.

    Returns
    -------
    DataFrame with columns ``facet, *by, x, y, n, <value>, fraction, n_failed``: ``n``
    tasks that ran, ``n_failed`` tasks recorded as failed (left out of the mean).
    """
    import pandas as pd

    cols = ["facet", *by, x, y, "n", "fraction", "n_failed"]
    if len(df) == 0:
        return pd.DataFrame(columns=cols)
    d = df.copy()
    if "lemma" not in d:
        d["lemma"] = None
    d["lemma"] = d["lemma"].where(d["lemma"].notna(), "recovery")
    if lemma is not None:
        d = d[d["lemma"] == lemma]
    if value is None:
        value = "success_rate" if "success_rate" in d and d["lemma"].eq("recovery").all() \
            else "passed"
    if "mask" in by and "mask" in d:
        kinds = [k for k in d["mask"].dropna().unique() if k != "full"]
        if kinds:
            full = d[d["mask"] == "full"]
            d = pd.concat([d[d["mask"] != "full"]] + [full.assign(mask=k) for k in kinds],
                          ignore_index=True)
    d["_ok"] = d["status"] == "ok"
    d["_v"] = pd.to_numeric(d[value].where(d["_ok"]), errors="coerce").astype(float)
    keys = [*by, x, y]
    g = d.groupby(keys, dropna=False).agg(n=("_ok", "sum"), total=("_v", "sum"),
                                          n_all=("_ok", "size"))
    g["n_failed"] = g["n_all"] - g["n"]
    g["fraction"] = g["total"] / g["n"].where(g["n"] > 0)
    g = g.rename(columns={"total": value}).drop(columns="n_all").reset_index()
    g.insert(0, "facet", g[list(by)].astype(str).agg(" / ".join, axis=1))
    return g.astype({"n": int, "n_failed": int})


def phase_figure(df, *, x: str = "expansion", y: str = "rate", value: str | None = None,
                 lemma: str | None = None, by: tuple[str, ...] = ("lemma", "mask")):
    """Heat maps (one per facet) of the mean verdict over expansion (rows) x sampling
    rate (columns), drawn from :func:`phase_table` only (no recomputation)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = phase_table(df, x=x, y=y, value=value, lemma=lemma, by=by)
    groups = list(table.groupby("facet", sort=False)) if len(table) else [("(no results)", table)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    label = "fraction passed" if "passed" in table.columns else \
        "mean " + next((c for c in table.columns if c not in ("facet", *by, x, y, "n", "fraction",
                                                              "n_failed")), "value")
    for ax, (name, part) in zip(axes[0], groups):
        ax.set_title(str(name))
        if not len(part):
            ax.set_axis_off()
            continue
        grid = part.pivot_table(index=x, columns=y, values="fraction").sort_index(ascending=False)
        sns.heatmap(grid, ax=ax, vmin=0.0, vmax=1.0, cmap="viridis", annot=True, fmt=".2f",
                    cbar_kws={"label": label})
        ax.set_xlabel("sampling rate m/n" if y == "rate" else y)
        ax.set_ylabel("expansion min_i C_i l^d / C_(i-1)" if x == "expansion" else x)
    fig.tight_layout()
    return fig


__all__ = ["phase_table", "phase_figure"]
