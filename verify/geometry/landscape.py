"""The landscape's exact machinery (paper Fig. 4, Sec. 4.2; lemmas/README.md, section 10): for a
bias-free ReLU / leaky-ReLU network with a 2-D latent observed through a 0/1 mask, J is
a quadratic on each of the K cones of G, and :func:`verify.geometry.stationary.stationary_points`
lists every stationary point of J. Here that list is turned into what the paper's
statements are judged on:

* :func:`exact_stationary`: the list relative to z* and -rho_d z*, the local minima
  other than z*, the flat cones and their angular fraction;
* :func:`global_minimum_exact`: the global minimisers of J (points and flat cones where
  J reaches J(z*) = 0 within rounding): Fig. 4's "There exists a unique global minimum"
  and Fig. 4(d)'s "flat global minimum";
* :func:`other_minima_where`: where the other local minima lie, against the ball
  B(-rho_d z*, BALL_EPS ||z*||) that Theorem 1 leaves open;
* :func:`relu_twin`, :func:`twin_exact`, :func:`class_counts`,
  :func:`minima_hausdorff`: the leaky network beside its ReLU twin (Sec. 4.2);
* :func:`summarise_draws`: the statistics over network draws.

Pure numerics: the ``landscape`` check (``lemmas.landscape``) calls them and decides
what they say about the paper.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from verify.geometry.grid import FIGURE_PIXEL
from verify.stats import exact_interval

#: An exact local minimum closer than this to z* (relative to ||z*||) is z* itself:
#: the cone solve reproduces z* to rounding (~1e-15 relative, measured on paper-fig4).
ZSTAR_TOL = 1e-6
#: Ball radius eps of Theorem 1 (relative to ||z*||), the descent check's: 0.25 is the
#: largest quarter-step below rho_2 = 1/pi, so B(-rho_2 z*, eps ||z*||) excludes the
#: origin and the two balls B(z*, eps ||z*||), B(-rho_2 z*, eps ||z*||) are disjoint.
BALL_EPS = 0.25
#: Classes of the exact stationary points (verify.geometry.stationary), in the order compared.
CLASSES = ("local minimum", "saddle", "local maximum", "flat")
#: J within rounding of its minimum J(z*) = 0: J is a sum of m squared residuals, each
#: a few ulps of the scale of J; the scale is the largest |J| among the stationary points
#: (J(0) = ||A y||^2 / 2 among them), so the tolerance is 4 m eps_64 times it.
J_ROUNDING_ULPS = 4


def exact_reason(net, A) -> str | None:
    """Why the exact method does not apply (None when it does): the network's reason
    (:func:`verify.geometry.cones.not_applicable`), a latent dimension other than 2, or a dense A."""
    from verify.geometry.cones import not_applicable

    why = not_applicable(net)
    if why is None and net.spec.latent_dim != 2:
        why = f"the latent dimension is {net.spec.latent_dim}: this check's exact path is 2-D"
    if why is None and A.observed is None:
        why = (f"the measurement is dense ({getattr(A, 'kind', type(A).__name__)}): the "
               "exact method handles 0/1 masks only")
    return why


def exact_stationary(net, A, z_star: np.ndarray, rho_d: float) -> dict:
    """Every stationary point of J exactly (lemmas/README.md), on the check's y = A G(z*)
    and mask: the local minima other than z*, the flat cones and their angular fraction,
    the origin's classification. No random draw (the streams stay the grid's)."""
    from verify.geometry.cones import enumerate_cones
    from verify.geometry.stationary import stationary_points

    t0 = time.process_time()
    cones = enumerate_cones(net)
    land = stationary_points(net, net.forward(z_star), A.observed.astype(float), cones=cones)
    pts = land.relative_to(z_star, rho_d)
    Z = np.stack(pts["z"].to_list()) if len(pts) else np.zeros((0, 2))
    pts = pts.drop(columns="z").assign(z1=Z[:, 0], z2=Z[:, 1])
    is_min = pts["classification"] == "local minimum"
    other = is_min & (pts["dist_zstar"] > ZSTAR_TOL)
    flat = pts["classification"] == "flat"
    flat_cones = np.unique(pts.loc[flat, "cone"].to_numpy().astype(int))
    width = np.diff(cones.edges)
    origin = pts[pts["kind"] == "origin"]
    return {"points": pts, "cones": cones, "n_cones": cones.count,
            "other_minima": int(other.sum()),
            "z_star_found": bool((is_min & ~other).any()),
            "flat_cones": int(flat_cones.size),
            "flat_fraction": float(width[flat_cones].sum() / (2 * math.pi)),
            "saddles": int((pts["classification"] == "saddle").sum()),
            "origin": str(origin["classification"].iloc[0]) if len(origin) else None,
            "others": pts.loc[other, ["kind", "z1", "z2", "J", "dist_zstar",
                                      "dist_neg_rho"]].to_dict(orient="records"),
            "tolerance": land.tol, "rho_d": float(rho_d),
            "global_minimum": global_minimum_exact(pts, cones),
            "other_minima_where": other_minima_where(pts, rho_d),
            "seconds": time.process_time() - t0}


def relu_twin(net):
    """The same network, weights and all, with every leaky-ReLU layer a ReLU (Sec. 4.2:
    "Leaky ReLU has the same landscape as a regular ReLU"); None without a leaky layer.
    On the presets this is paper-fig4's network: paper-fig4 and paper-fig4-leaky draw
    their weights and masks from the same streams (asserted by the tests)."""
    from dataclasses import replace

    from verify.network import Network

    if not any(l.activation == "leaky_relu" for l in net.spec.layers):
        return None
    layers = tuple(replace(l, activation="relu") if l.activation == "leaky_relu" else l
                   for l in net.spec.layers)
    return Network(replace(net.spec, layers=layers), net.weights)


def minima_hausdorff(P: np.ndarray, Q: np.ndarray) -> float:
    """Hausdorff distance between two finite point sets ``(k, 2)`` (NaN if one is empty)."""
    P, Q = np.atleast_2d(np.asarray(P, float)), np.atleast_2d(np.asarray(Q, float))
    if P.size == 0 or Q.size == 0:
        return math.nan
    d = np.linalg.norm(P[:, None, :] - Q[None, :, :], axis=2)
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


def exact_minima(exact: dict) -> np.ndarray:
    pts = exact["points"]
    m = pts[pts["classification"] == "local minimum"]
    return m[["z1", "z2"]].to_numpy(float)


def twin_exact(net, A, z_star: np.ndarray, exact: dict) -> dict:
    """The ReLU twin's exact stationary set on the same y-generating z* and mask, beside
    the leaky one's (``exact``): other minima of each, and the Hausdorff distance between
    the two sets of local minima (z* included in both) in units of ||z*||."""
    ex_r = exact_stationary(relu_twin(net), A, z_star, exact["rho_d"])
    nz = float(np.linalg.norm(z_star))
    return {"relu": ex_r, "relu_other_minima": int(ex_r["other_minima"]),
            "leaky_other_minima": int(exact["other_minima"]),
            "hausdorff": minima_hausdorff(exact_minima(exact), exact_minima(ex_r)) / nz,
            "classes": {"leaky_relu": class_counts(exact["points"]),
                        "relu": class_counts(ex_r["points"])}}


def set_summary(exact: dict | None, r: float) -> dict:
    """Counts and positions of an exact stationary set, relative to z* and -rho_d z*."""
    if exact is None:
        return {}
    pts = exact["points"]
    rest = pts[(pts["kind"] != "origin") & (pts["dist_zstar"] > ZSTAR_TOL)]
    om = rest[rest["classification"] == "local minimum"]
    return {"local_minima": int(1 + exact["other_minima"]), "other_minima": int(len(om)),
            "other_stationary": int(len(rest)),
            "saddles": int((rest["classification"] == "saddle").sum()),
            "flat_cones": int(exact["flat_cones"]),
            "other_minima_dist_neg_rho_min": float(om["dist_neg_rho"].min()) if len(om)
            else None,
            "other_minima_dist_neg_rho_max": float(om["dist_neg_rho"].max()) if len(om)
            else None,
            "certified_eps_hat": float(np.minimum(rest["dist_zstar"], rest["dist_neg_rho"]).max())
            if len(rest) else 0.0}


def exact_details(exact: dict | None, why: str | None) -> dict:
    if exact is None:
        return {"method": "sampled", "method_reason": why}
    pts = exact["points"]
    rest = pts[(pts["kind"] != "origin") & (pts["dist_zstar"] > ZSTAR_TOL)]
    # the certificate of this draw: how many stationary points besides z* (and the
    # origin, Theorem 1's excluded point), and the smallest eps for which every one lies
    # in B(z*, eps ||z*||) or B(-rho_d z*, eps ||z*||)
    eps = float(np.minimum(rest["dist_zstar"], rest["dist_neg_rho"]).max()) \
        if len(rest) else 0.0
    where = exact["other_minima_where"]
    per_draw = {"certified_other_stationary": int(len(rest)),
                "certified_other_minima": int(exact["other_minima"]),
                "certified_eps_hat": eps,
                "other_minima_in_ball": where["in_ball"],
                "other_minima_outside_ball": where["outside_ball"],
                "other_minima_beyond_neg_rho": where["beyond_neg_rho"],
                "flat_cones": int(exact["flat_cones"]),
                "flat_cones_at_global_minimum": int(exact["global_minimum"]["flat_cones"]),
                "global_minimisers": int(exact["global_minimum"]["minimisers"])}
    return {"method": "exact", "per_draw": per_draw,
            "exact": {k: v for k, v in exact.items() if k not in ("points", "cones")}}


def descent_table(gd: dict | None, exact: dict | None) -> pd.DataFrame | None:
    """Gradient descent's per-start table; with the exact set, each end's nearest exact
    stationary point (distance / ||z*||, its class and its distance to -rho_d z*)."""
    if gd is None:
        return None
    t = gd["table"]
    if exact is None or not len(exact["points"]):
        return t
    pts = exact["points"]
    P = pts[["z1", "z2"]].to_numpy(float)
    E = t[["end_z1", "end_z2"]].to_numpy(float)
    zs = pts.loc[pts["dist_zstar"] <= ZSTAR_TOL, ["z1", "z2"]].to_numpy(float)
    nz = float(np.linalg.norm(zs[0])) if len(zs) else 1.0
    d = np.linalg.norm(E[:, None, :] - P[None], axis=2)
    k = d.argmin(axis=1)
    return t.assign(nearest_exact_distance=d[np.arange(len(E)), k] / nz,
                    nearest_exact_class=pts["classification"].to_numpy()[k],
                    nearest_exact_dist_neg_rho=pts["dist_neg_rho"].to_numpy()[k])


def descent_details(gd: dict, table: pd.DataFrame) -> dict:
    miss = table[~table["at_z_star"]]
    out = {"starts": gd["starts"], "missed": gd["missed"], "fraction_missed": gd["fraction"],
           "ci95": gd["ci95"], "window_radius_over_norm_z_star": gd["radius"],
           "starts_per_axis": gd["side"], "backend": gd["backend"],
           "converged": int(table["converged"].sum()),
           "iterations_median": float(table["iterations"].median()),
           "iterations_max": int(table["iterations"].max()),
           "end_distance_at_z_star_max": float(table.loc[table["at_z_star"],
                                                         "distance_to_z_star"].max())
           if table["at_z_star"].any() else None}
    if len(miss):
        out["missed_ends"] = miss.drop(columns=["at_z_star"]).to_dict(orient="records")
    return out



def global_minimum_exact(pts: pd.DataFrame, cones) -> dict:
    """The global minimisers of J from its exact stationary set ``pts``: the points
    (cone interiors, boundary rays, the origin) classified ``local minimum`` and the flat
    cones (``flat``: J constant on a cone) at which J is within rounding of J(z*) = 0,
    the minimum of J. Rounding: ``J_ROUNDING_ULPS * m * eps`` times the largest |J| of
    the set, m the number of output entries (n_d). ``minimisers`` counts each point once and
    each flat cone at the minimum twice (a cone of minimisers holds a continuum of them,
    so never a unique one); its trivial ceiling is 3K + 1 (one point per cone interior
    and per boundary ray, two per flat cone in place of the interior point, the origin)."""
    K = int(cones.count)
    J = pts["J"].to_numpy(float) if len(pts) else np.zeros(0)
    scale = float(np.abs(J).max()) if J.size else 0.0
    m = int(cones.M.shape[1])  # output entries (at least the observed ones)
    tol = J_ROUNDING_ULPS * m * np.finfo(np.float64).eps * scale
    at_min = J <= tol
    pt = at_min & (pts["classification"].to_numpy() == "local minimum")
    fl = at_min & (pts["classification"].to_numpy() == "flat")
    flat_cones = np.unique(pts.loc[fl, "cone"].to_numpy().astype(int))
    width = np.diff(cones.edges)
    return {"points": int(pt.sum()), "flat_cones": int(flat_cones.size),
            "flat_fraction": float(width[flat_cones].sum() / (2 * math.pi)),
            "minimisers": int(pt.sum() + 2 * flat_cones.size),
            "ceiling": 3 * K + 1, "tolerance": float(tol),
            "z_star_among": bool((pt & (pts["dist_zstar"].to_numpy() <= ZSTAR_TOL)).any())
            or bool(fl.any()),
            "any_flat_fraction": float(width[np.unique(pts.loc[
                pts["classification"] == "flat", "cone"].to_numpy().astype(int))].sum()
                / (2 * math.pi))}


def other_minima_where(pts: pd.DataFrame, rho_d: float, eps: float = BALL_EPS) -> dict:
    """Where the local minima other than z* lie: inside or outside the ball
    B(-rho_d z*, eps ||z*||) Theorem 1 leaves open, and beyond -rho_d z* (farther from
    the origin along -z*: <z, z*> / ||z*||^2 < -rho_d)."""
    om = pts[(pts["classification"] == "local minimum") & (pts["dist_zstar"] > ZSTAR_TOL)]
    inside = om["dist_neg_rho"].to_numpy(float) <= eps
    beyond = om["along_zstar"].to_numpy(float) < -rho_d if len(om) else np.zeros(0, bool)
    return {"other_minima": int(len(om)), "in_ball": int(inside.sum()),
            "outside_ball": int((~inside).sum()), "beyond_neg_rho": int(beyond.sum()),
            "ball_eps": float(eps)}


def class_counts(pts: pd.DataFrame) -> dict:
    """How many stationary points of each class (:data:`CLASSES`) an exact set has."""
    c = pts["classification"].value_counts() if len(pts) else {}
    return {k: int(c.get(k, 0)) for k in CLASSES}


def summarise_draws(draws: pd.DataFrame, by_draw: dict, rule) -> dict:
    """Statistics over network draws beyond the combined failure rate.

    * ``claims``: each claim judged on its own over the draws (the draws where its
      criterion fails, the rate with its exact 95% interval, and the verdict by the
      DrawRule's own rule against tau), so that e.g. "gradient descent converges only to
      z*" is judged apart from "a unique local minimum";
    * ``gradient_descent``: draws with a start that misses z*, and the starts pooled
      (descriptive: the starts of one draw are not independent);
    * ``quasiconvexity_by_window`` (sigmoid / tanh): per window radius, the draws with a
      violating segment, their rate and verdict against tau, and the smallest radius
      whose rate's interval lies above tau (where the claim starts to fail);
    * ``leaky_vs_relu`` (leaky ReLU, exact method): the ReLU twin's other minima per draw
      beside the leaky network's, and the Hausdorff distance of the two minima sets;
    * Fig. 4(a) as a certificate (exact method; certified landscapes): from each
      draw's exact stationary set, the rate of draws with any stationary point other than
      z* (the origin aside), with more than one (so not just the one near -rho_d z* that
      Theorem 4 allows), and with a local minimum other than z*, each with its exact 95%
      interval; and the quantiles of the certified eps (every stationary point within
      eps ||z*|| of z* or of -rho_d z*);
    * ``other_local_minima`` (exact method): the local minima other than z* over all
      draws, the draws with one, how many lie inside / outside B(-rho_d z*, BALL_EPS
      ||z*||) (and the draws with one outside), how many beyond -rho_d z*;
    * ``global_minimum`` (exact method): draws with a unique global minimiser, with a
      flat region (at any level) and with a flat region at J's minimum.

    ``rule`` is the check's :class:`~verify.verdicts.DrawRule` (each claim's verdict
    against its tau).
    """
    from verify.verdicts import judge_draws

    n = len(draws)
    out: dict = {"draws": n}
    claims = [c for c in draws.columns if c.startswith("claim_")]
    if claims:
        out["claims"] = {}
        for c in claims:
            v = draws[c].dropna().astype(str).tolist()
            crit, f = judge_draws(v, rule)
            out["claims"][c[len("claim_"):]] = {
                "draws_failed": f["draws_failed"], "draws_tested": f["draws_tested"],
                "rate": f["failure_rate"], "ci95": [f["failure_ci_low"], f["failure_ci_high"]],
                "verdict": crit.verdict}
    if "gd_missed" in draws and draws["gd_missed"].notna().all():
        miss, starts = draws["gd_missed"].to_numpy(int), draws["gd_starts"].to_numpy(int)
        k = int((miss > 0).sum())
        lo, hi = exact_interval(k, n)
        out["gradient_descent"] = {
            "draws_with_a_missed_start": k, "rate": k / n, "ci95": [lo, hi],
            "starts_missed": int(miss.sum()), "starts": int(starts.sum()),
            "pooled_fraction_missed": float(miss.sum() / starts.sum()),
            "largest_fraction_on_a_draw": float((miss / starts).max())}
    radii = sorted({float(c[len("qc_violations_r"):]) for c in draws.columns
                    if c.startswith("qc_violations_r")})
    if radii and all(draws[f"qc_violations_r{r:g}"].notna().all() for r in radii):
        rows = []
        for r in radii:
            bad = draws[f"qc_violations_r{r:g}"].to_numpy(int) > 0
            crit, f = judge_draws(["fails" if b else "holds" for b in bad], rule)
            rows.append({"radius_over_norm_z_star": r, "draws_with_a_violation": int(bad.sum()),
                         "rate": float(bad.mean()),
                         "ci95": [f["failure_ci_low"], f["failure_ci_high"]],
                         "verdict": crit.verdict,
                         "violations_median": float(np.median(
                             draws[f"qc_violations_r{r:g}"].to_numpy(float)))})
        failing = [w["radius_over_norm_z_star"] for w in rows if w["verdict"] == "fails"]
        holding = [w["radius_over_norm_z_star"] for w in rows if w["verdict"] == "holds"]
        out["quasiconvexity_by_window"] = {
            "windows": rows, "smallest_failing_radius": min(failing) if failing else None,
            "largest_holding_radius": max(holding) if holding else None}
    if "relu_twin_other_minima" in draws and draws["relu_twin_other_minima"].notna().all():
        r_o = draws["relu_twin_other_minima"].to_numpy(int)
        l_o = draws["leaky_other_minima"].to_numpy(int)
        h = draws["minima_hausdorff_over_norm_z_star"].to_numpy(float)
        out["leaky_vs_relu"] = {
            "draws_relu_other_minimum": int((r_o > 0).sum()),
            "draws_leaky_other_minimum": int((l_o > 0).sum()),
            "draws_both": int(((r_o > 0) & (l_o > 0)).sum()),
            "draws_same_minima": int((h <= ZSTAR_TOL).sum()),
            "draws_minima_within_a_pixel": int((h <= FIGURE_PIXEL).sum()),
            "draws_minima_within_ball_eps": int((h <= BALL_EPS).sum()),
            "hausdorff_median": float(np.median(h)), "hausdorff_max": float(np.max(h)),
            "draws_classes_differ": int((draws["twin_classes_differ"] > 0).sum())
            if "twin_classes_differ" in draws else None,
            "hausdorff_quantiles": {q: float(np.quantile(h, float(q)))
                                    for q in ("0.5", "0.9", "1.0")}}
    if "certified_other_stationary" not in draws or draws["certified_other_stationary"].isna().any():
        return out
    out["method"] = "exact"
    for key, mask in (("any_other_stationary", draws["certified_other_stationary"] > 0),
                      ("more_than_one_other_stationary",
                       draws["certified_other_stationary"] > 1),
                      ("other_local_minimum", draws["certified_other_minima"] > 0)):
        k = int(mask.sum())
        lo, hi = exact_interval(k, n)
        out[key] = {"draws": k, "rate": k / n, "ci95": [lo, hi]}
    eps = draws["certified_eps_hat"].to_numpy(float)
    out["eps_hat_quantiles"] = {q: float(np.quantile(eps, float(q)))
                                for q in ("0.5", "0.9", "1.0")}
    if "other_minima_in_ball" in draws and draws["other_minima_in_ball"].notna().all():
        om = draws["certified_other_minima"].to_numpy(int)
        inside = draws["other_minima_in_ball"].to_numpy(int)
        outside = draws["other_minima_outside_ball"].to_numpy(int)
        out["other_local_minima"] = {
            "total": int(om.sum()), "draws_with_one": int((om > 0).sum()),
            "ball_eps": BALL_EPS, "in_ball": int(inside.sum()),
            "outside_ball": int(outside.sum()),
            "draws_with_one_outside_ball": int((outside > 0).sum()),
            "beyond_neg_rho": int(draws["other_minima_beyond_neg_rho"].to_numpy(int).sum())}
    if "flat_cones_at_global_minimum" in draws \
            and draws["flat_cones_at_global_minimum"].notna().all():
        gm = draws["global_minimisers"].to_numpy(int)
        out["global_minimum"] = {
            "draws_unique": int((gm == 1).sum()),
            "draws_with_a_flat_region": int((draws["flat_cones"] > 0).sum()),
            "draws_with_a_flat_global_minimum":
                int((draws["flat_cones_at_global_minimum"] > 0).sum())}
    pts = by_draw.get("stationary_points")
    if pts is not None:
        out["stationary_points_listed"] = int(len(pts))
    return out


def twin_side_by_side(net, A, grid, exact: dict | None, minima: dict, gd: dict | None,
                      descend) -> dict:
    """Sec. 4.2's "Leaky ReLU has the same landscape as a regular ReLU", side by side on
    one network (:func:`relu_twin`): J of both on the window grid and its measured
    distance (relative sup and L2 difference, Spearman rank correlation), the grid basin
    of z* of both, gradient descent from the same starts on both, and (exact method) both
    stationary sets with the Hausdorff distance of their local minima (units ||z*||).
    ``grid`` is the leaky network's :class:`verify.geometry.grid.Grid`, ``minima`` its
    :func:`~verify.geometry.grid.grid_minima_and_basin`, ``gd`` its descent, and
    ``descend(twin, cones)`` runs the same descent on the twin."""
    from verify.geometry.grid import (ExplicitJ, Grid, chunked, grid_local_minima,
                                      grid_minima_and_basin)
    from verify.objective import Objective
    from scipy.stats import spearmanr

    t0 = time.process_time()
    twin = relu_twin(net)
    z_star, N = grid.z_star, grid.side
    obj = Objective.from_truth(twin, A, z_star)
    fJ = ExplicitJ(obj)
    J_r = chunked(fJ, grid.points).reshape(N, N)
    grid_r = Grid(z_star, obj, fJ, grid.half_width, grid.axis, grid.points, J_r, math.nan)
    minima_r = grid_minima_and_basin(grid_r, grid_local_minima(J_r))
    pair = twin_exact(net, A, z_star, exact) if exact is not None else None
    gd_r = descend(twin, pair["relu"] if pair else None) if gd is not None else None
    J_l = grid.J
    diff = J_l - J_r
    r = exact["rho_d"] if exact is not None else math.nan
    sets = {"leaky_relu": set_summary(exact, r),
            "relu": set_summary(pair["relu"] if pair else None, r)}
    rows = []
    for act, mn, g in (("leaky_relu", minima, gd), ("relu", minima_r, gd_r)):
        rows.append({"activation": act, **sets[act],
                     "grid_distinct_minima": len(mn["clusters"]),
                     "grid_basin_of_z_star": mn["basin"],
                     "gd_starts": g["starts"] if g else None,
                     "gd_at_z_star_fraction": 1 - g["fraction"] if g else None})
    distance = {
        "J_relative_sup_difference": float(np.abs(diff).max() / max(float(np.abs(J_r).max()),
                                                                       1e-300)),
        "J_relative_l2_difference": float(np.linalg.norm(diff)
                                          / max(float(np.linalg.norm(J_r)), 1e-300)),
        # the shapes apart from the scale: each J divided by its window maximum
        "J_normalised_sup_difference": float(np.abs(
            J_l / max(float(J_l.max()), 1e-300) - J_r / max(float(J_r.max()), 1e-300)).max()),
        "J_spearman_rank_correlation": float(spearmanr(J_l.ravel(), J_r.ravel())[0]),
        "minima_hausdorff_over_norm_z_star": pair["hausdorff"] if pair else None,
        "J_ratio_leaky_over_relu_median": float(np.median(
            J_l.ravel()[J_r.ravel() > 0] / J_r.ravel()[J_r.ravel() > 0]))}
    points = None
    if pair is not None:
        points = pd.concat([exact["points"].assign(activation="leaky_relu"),
                            pair["relu"]["points"].assign(activation="relu")],
                           ignore_index=True)
    return {"table": pd.DataFrame(rows), "distance": distance, "points": points,
            "grid": pd.DataFrame({"z1": grid.points[:, 0], "z2": grid.points[:, 1],
                                  "J_leaky_relu": J_l.ravel(), "J_relu": J_r.ravel()}),
            "pair": pair, "slope": [l.slope for l in net.spec.layers
                                    if l.activation == "leaky_relu"][0],
            "seconds": time.process_time() - t0}

