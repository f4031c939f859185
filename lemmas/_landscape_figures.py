"""The figures of :mod:`lemmas.landscape` (Fig. 4; the certificate over draws;
the leaky-vs-ReLU panels), drawn from a result's tables and details only: they
never recompute; and the plain-language findings of one result (:func:`findings_text`,
:func:`new_findings_text`), written from its numbers. Kept apart from the check so that
the check's module holds the steps and criteria, and this one what is drawn and said
from them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from verify.geometry.grid import GD_LR

def figure_landscape(result):
    """The Fig. 4 panel of one result: log10(1 + J) on the grid, z*, -rho_d z*, the
    grid minima and the flat (collapsed) region, drawn from the result's tables only."""
    import matplotlib.pyplot as plt

    g = result.tables["grid"]
    d = result.details
    z1 = np.unique(g["z1"].to_numpy())
    z2 = np.unique(g["z2"].to_numpy())
    shape = (len(z1), len(z2))
    gs = g.sort_values(["z1", "z2"])
    J = gs["J"].to_numpy().reshape(shape)
    flat = gs["flat"].to_numpy().reshape(shape)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    im = ax.pcolormesh(z1, z2, np.log10(1.0 + J - J.min()).T, shading="auto", cmap="viridis")
    ax.contour(z1, z2, np.log10(1.0 + J - J.min()).T, levels=12, colors="white",
               linewidths=0.4, alpha=0.6)
    fig.colorbar(im, ax=ax, label="log10(1 + J(z) - min J)")
    if flat.any():
        ax.contourf(z1, z2, flat.T.astype(float), levels=[0.5, 1.5], colors="none",
                    hatches=["////"])
        ax.contour(z1, z2, flat.T.astype(float), levels=[0.5], colors="red", linewidths=1.2)
    zs = np.asarray(d["z_star"])
    mr = np.asarray(d["minus_rho_z_star"])
    ax.plot(*zs, marker="*", ms=14, color="gold", mec="k", ls="", label="z*")
    ax.plot(*mr, marker="X", ms=9, color="white", mec="k", ls="",
            label=f"-rho_d z* (rho = {d['rho_d']:.3f})")
    m = result.table
    if len(m):
        ax.plot(m["z1"], m["z2"], "o", mfc="none", mec="red", ms=8, label="grid minima")
    ex = result.tables.get("stationary_points")
    if ex is not None and len(ex):
        R = d["half_width"]
        inside = ex[(np.abs(ex["z1"] - zs[0]) <= R) & (np.abs(ex["z2"] - zs[1]) <= R)]
        for cls, mk in (("local minimum", "+"), ("saddle", "x"), ("local maximum", "^")):
            e = inside[inside["classification"] == cls]
            if len(e):
                ax.plot(e["z1"], e["z2"], mk, color="orange", ms=7, ls="",
                        label=f"exact {cls}")
    dsc = result.tables.get("descent")
    if dsc is not None and len(dsc) and not dsc["at_z_star"].all():
        miss = dsc[~dsc["at_z_star"]]
        ax.plot(miss["start_z1"], miss["start_z2"], ".", color="red", ms=6, ls="",
                label=f"GD start not ending at z* ({len(miss)}/{len(dsc)})")
        ax.plot(miss["end_z1"], miss["end_z2"], "s", mfc="none", mec="red", ms=6, ls="",
                label="its end")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_aspect("equal")
    ttl = (f"J landscape [{result.preset}], {d['activation']}: "
           f"{d['distinct_minima_after_refinement']} minimum(a), flat {d['flat_fraction']:.1%}"
           + (f"; exact: {1 + d['exact']['other_minima']} minimum(a)"
              if d.get("method") == "exact" else ""))
    ax.set_title(ttl, fontsize=8)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.8)
    fig.tight_layout()
    return fig




def figure_certificate(result):
    """Fig. 4(a) as a certificate over network draws: every exact stationary point
    besides z* and the origin, of every draw (``stationary_points_by_draw``), in the frame of its own z* (z* at (1, 0),
    -rho_d z* at (-rho_d, 0), units of ||z*||), by class. None without the exact table."""
    from verify.geometry.landscape import ZSTAR_TOL

    t = result.tables.get("stationary_points_by_draw")
    if t is None or t.empty or "along_zstar" not in t:
        return None
    import matplotlib.pyplot as plt

    d, od = result.details, result.details.get("over_draws", {})
    t = t[(t["kind"] != "origin") & (t["dist_zstar"] > ZSTAR_TOL)]
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    for cls, mk, col in (("local minimum", "o", "tab:red"), ("saddle", "x", "tab:blue"),
                         ("local maximum", "^", "tab:green"), ("flat", "s", "tab:gray")):
        e = t[t["classification"] == cls]
        if len(e):
            ax.plot(e["along_zstar"], e["across_zstar"], mk, color=col, ms=5, ls="",
                    mfc="none", alpha=0.7, label=f"{cls} ({len(e)})")
    r = d["rho_d"]
    ax.plot(1, 0, "*", ms=14, color="gold", mec="k", ls="", label="z*")
    ax.plot(-r, 0, "X", ms=9, color="white", mec="k", ls="", label=f"-rho_d z* ({r:.3f})")
    ax.axhline(0, color="k", lw=0.4)
    ax.set_xlabel("<z, z*> / ||z*||^2")
    ax.set_ylabel("component across z* / ||z*||")
    ax.set_aspect("equal")
    n = len(result.tables["draws"])
    other = od.get("other_local_minimum", {})
    ax.set_title(f"exact stationary points of {n} draws [{result.preset}]"
                 + (f"; other minimum on {other['draws']}/{n} draws" if other else ""),
                 fontsize=8)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    fig.tight_layout()
    return fig


figure_certificate.applies = lambda result: "along_zstar" in result.tables.get(
    "stationary_points_by_draw", pd.DataFrame())


def figure_leaky_vs_relu(result):
    """Leaky ReLU beside ReLU on the same weights (Sec. 4.2): log10(1 + J) of both on the
    window, one colour scale, with each one's exact local minima, z* and -rho_d z*. None
    without the table ``leaky_vs_relu_grid``."""
    from verify.geometry.landscape import ZSTAR_TOL

    g = result.tables.get("leaky_vs_relu_grid")
    if g is None or g.empty:
        return None
    import matplotlib.pyplot as plt

    d = result.details
    lv = d["leaky_vs_relu"]
    gs = g.sort_values(["z1", "z2"])
    z1, z2 = np.unique(gs["z1"].to_numpy()), np.unique(gs["z2"].to_numpy())
    shape = (len(z1), len(z2))
    Js = {a: np.log10(1.0 + gs[f"J_{a}"].to_numpy().reshape(shape))
          for a in ("leaky_relu", "relu")}
    vmax = max(float(v.max()) for v in Js.values())
    pts = result.tables.get("leaky_vs_relu_stationary_points")
    zs, mr = np.asarray(d["z_star"]), np.asarray(d["minus_rho_z_star"])
    R = d["half_width"]
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.4), sharey=True)
    rows = {r["activation"]: r for r in lv["by_activation"]}
    for ax, act in zip(axes, ("leaky_relu", "relu")):
        im = ax.pcolormesh(z1, z2, Js[act].T, shading="auto", cmap="viridis", vmin=0,
                           vmax=vmax)
        ax.contour(z1, z2, Js[act].T, levels=12, colors="white", linewidths=0.4, alpha=0.6)
        ax.plot(*zs, marker="*", ms=14, color="gold", mec="k", ls="", label="z*")
        ax.plot(*mr, marker="X", ms=9, color="white", mec="k", ls="", label="-rho_d z*")
        if pts is not None:
            e = pts[(pts["activation"] == act) & (pts["classification"] == "local minimum")
                    & (pts["dist_zstar"] > ZSTAR_TOL)
                    & (np.abs(pts["z1"] - zs[0]) <= R) & (np.abs(pts["z2"] - zs[1]) <= R)]
            if len(e):
                ax.plot(e["z1"], e["z2"], "+", color="orange", ms=9, ls="",
                        label=f"other exact minima ({len(e)})")
        r = rows[act]
        ax.set_title(f"{act}: " + (f"{r['local_minima']} exact minimum(a), "
                                   if "local_minima" in r else "")
                     + f"grid basin of z* {r['grid_basin_of_z_star']:.0%}", fontsize=8)
        ax.set_xlabel("z1")
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="upper right", framealpha=0.8)
    axes[0].set_ylabel("z2")
    fig.colorbar(im, ax=axes, label="log10(1 + J(z))", shrink=0.8)
    dist = lv["distance"]
    h = dist.get("minima_hausdorff_over_norm_z_star")
    fig.suptitle(f"[{result.preset}] same weights, slope {lv['slope']:g}: J relative sup "
                 f"difference {dist['J_relative_sup_difference']:.2g}, rank correlation "
                 f"{dist['J_spearman_rank_correlation']:.3f}"
                 + (f", minima Hausdorff {h:.2g} ||z*||" if h is not None else ""), fontsize=9)
    return fig


figure_leaky_vs_relu.applies = lambda result: "leaky_vs_relu_grid" in result.tables


# ---------------------------------------------------------------- the findings in words
def findings_text(grid, flat, qc, minima, details, quasi_claim, r) -> list[str]:
    """Plain-language findings where a claim of the paper does not reproduce."""
    z_star, h = grid.z_star, grid.spacing
    findings = []
    nz = float(np.linalg.norm(z_star))
    for p in minima["clusters"]:
        if np.linalg.norm(p - z_star) > math.sqrt(2) * h and not np.any(flat["mask"]):
            findings.append(
                f"a second local minimum of J at ({p[0]:.4g}, {p[1]:.4g}), "
                f"{np.linalg.norm(p + r * z_star) / nz:.3g} ||z*|| from -rho_d z* (Theorem 1 "
                f"allows a critical point there; the paper reports never converging to it); "
                f"basin of z* {minima['basin']:.1%}")
    if quasi_claim and qc["violations"]:
        first_dec = qc["first_decrease"]
        findings.append(
            f"quasi-convexity (claimed for {details['activation']}) fails on "
            f"{qc['violations']}/{len(qc['violation'])} segments, lowest violated level "
            f"{details['quasiconvexity']['lowest_violated_level_relative']:.2g}"
            f" of the J range; {qc['local_violations']}/{qc['local_segments']} violations within "
            f"||z*|| of z*; J decreases along {int(np.sum(np.isfinite(first_dec)))}/"
            f"{len(first_dec)} rays from z* (star-shaped sublevel sets if 0)")
    if np.any(flat["mask"]):
        findings.append(f"mode collapse: {flat['fraction']:.1%} of the grid lies on plateaus "
                        f"each mapped to one output ({flat['components']} such region(s))")
    return findings


def new_findings_text(details: dict) -> list[str]:
    """Findings of gradient descent, the quasi-convexity window sweep and the ReLU twin."""
    out = []
    g = details.get("gradient_descent", {})
    if g.get("missed"):
        ends = g.get("missed_ends", [])
        where = ""
        if ends and "nearest_exact_class" in ends[0]:
            cls = sorted({e["nearest_exact_class"] for e in ends})
            where = (f"; their ends lie {min(e['nearest_exact_distance'] for e in ends):.2g}-"
                     f"{max(e['nearest_exact_distance'] for e in ends):.2g} ||z*|| from an "
                     f"exact stationary point ({', '.join(cls)}), "
                     f"{min(e['nearest_exact_dist_neg_rho'] for e in ends):.2g}-"
                     f"{max(e['nearest_exact_dist_neg_rho'] for e in ends):.2g} ||z*|| of it "
                     f"from -rho_d z*")
        out.append(f"gradient descent (Adam, lr {GD_LR:g}) ends away from z* from "
                   f"{g['missed']}/{g['starts']} starts of the window{where} (the paper: "
                   f"never observed)")
    q = details.get("quasiconvexity", {})
    if q.get("by_window"):
        parts = ", ".join(f"r = {w['radius_over_norm_z_star']:g}: {w['violations']}/"
                          f"{w['segments']}" for w in q["by_window"])
        first = q.get("smallest_window_with_a_violation")
        out.append(f"quasi-convexity by window z* +- r ||z*|| (violating segments): {parts}"
                   + (f"; the first window with a violation is r = {first:g}" if first
                      else "; none in any window"))
    lv = details.get("leaky_vs_relu")
    if lv:
        d, rows = lv["distance"], {r["activation"]: r for r in lv["by_activation"]}
        mins = ""
        if "local_minima" in rows["relu"]:
            mins = (f"local minima (exact) leaky {rows['leaky_relu']['local_minima']}, ReLU "
                    f"{rows['relu']['local_minima']}, Hausdorff distance "
                    f"{d['minima_hausdorff_over_norm_z_star']:.3g} ||z*||; ")
        out.append(f"leaky ReLU (slope {lv['slope']:g}) vs ReLU on the same weights: {mins}"
                   f"J differs by {d['J_relative_sup_difference']:.2g} (relative sup) / "
                   f"{d['J_relative_l2_difference']:.2g} (relative L2) on the window, rank "
                   f"correlation {d['J_spearman_rank_correlation']:.3f}; grid basin of z* "
                   f"{rows['leaky_relu']['grid_basin_of_z_star']:.1%} vs "
                   f"{rows['relu']['grid_basin_of_z_star']:.1%}")
    return out

