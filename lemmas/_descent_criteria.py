"""The descent check's criteria from its steps' results (:mod:`lemmas.descent`): the
headline eps_hat and the descent rate outside the balls, the kinks' one-sided
derivatives, D_w J(0) and the engine's self-checks, with their details and tables. The
names of the criteria are read by the statements (thm1, sec42-depth, thm4): keep them.

Ceilings (lemmas/README.md, section 12: the value every network would meet)
---------------------------------------------------------------------------
* ``eps_hat`` (headline, <= EPS_BALL): no finite ceiling. On a ray z = t u the
  stationary point of J is at t = <A G(u), y> / ||A G(u)||^2, unbounded over networks, so
  no radius is met by every network: any eps < inf can fail (KNOWN_BAD shows it does).
* ``min_rate_outside_balls`` (>= STAT_TOL): floor 0 (s is a max with 0); STAT_TOL > 0.
* ``worst_kink_dd`` (<= -STAT_TOL): no finite ceiling (a kink can be a local minimum).
* ``min_kappa_w`` (>= 4 eps n_d): floor 0 for a ReLU output layer (G >= 0 and 0/1 masks
  make <A G(z*), A G(w)> >= 0 on every network), so the bound sits just above it: the
  claim is the strict inequality D_w J(0) < 0, which U[0, 1] weights break (kappa = 0).
  Leaky ReLU: floor -inf.
* ``gradient_self_check``, ``kink_fd_discrepancy``, ``dwj0_identity_gap``: numerical
  self-checks of the engine (reverse vs tangent mode, finite differences, an identity),
  not claims of the theorem: they have no trivial ceiling.
A criterion that summarises nothing (no point or kink outside the balls) is
``untested``: uninformative, never a pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from verify.formulas import rho
from verify.geometry.descent import (EPS_BALL, EPS_HAT_CEILING, FD_STEP, FD_TOL,
                                     KINK_DD_CEILING, POS_TOL_PER_TERM, RATE_FLOOR, SELF_TOL,
                                     STAT_TOL, Problem)
from verify.geometry.descent_points import DwJ0, Exact, Kinks, Points, kappa_floor
from verify.network import Network
from dataclasses import replace

from verify.results import Criterion, Outcome
from verify.stats import wilson_interval, zero_failure_bound


def ordered(point_criteria, kink_criteria, w_criteria) -> tuple[Criterion, ...]:
    """The criteria after the headline, in the order the result lists them (one place
    for :func:`check` and :func:`check_draw`)."""
    return (point_criteria[0], *kink_criteria, *w_criteria, point_criteria[1])


def points_summary(problem: Problem, points: Points, exact: Exact | None = None,
                    why: str | None = None):
    """Headline eps_hat (stationary points in the balls), the least descent rate outside
    them and the gradient self-check; with the search's counts for the details. With
    ``exact`` the headline is the exact stationary set's (``method: exact``)."""
    d, rate, gnorm = problem.d, points.rate, points.gnorm
    stationary, inside, found = points.stationary, points.inside, points.found
    dist = np.minimum(points.d_pos, points.d_neg)
    eps_hat = float(dist[found].max()) if found.any() else float("nan")
    outside = ~inside
    min_rate_out = float(rate[outside].min()) if outside.any() else float("inf")
    runs = points.search == "descent"
    n_runs = int(runs.sum())
    in_balls = int((runs & stationary & inside).sum())
    at_zstar = int((runs & stationary & (points.d_pos <= EPS_BALL)).sum())
    if exact is None:
        headline = Criterion(
            "eps_hat", eps_hat, EPS_BALL, "<=",
            "method: sampled. Largest ||z - c|| / ||z*|| of a found stationary point, c the "
            f"nearer of z*, -rho_d z* (rho_{d} = {rho(d):.4f}); trivial ceiling: none (inf), "
            "a stationary point can lie anywhere on some network; bound: the ball radius eps "
            f"= {EPS_BALL:g} (Theorem 1's ε, fixed for every preset)", ceiling=EPS_HAT_CEILING)
    else:
        edist = np.minimum(exact.d_pos, exact.d_neg)
        headline = Criterion(
            "eps_hat", float(edist.max()) if edist.size else 0.0, EPS_BALL, "<=",
            "method: exact. Largest ||z - c|| / ||z*|| over the complete stationary set of J "
            f"(verify.geometry.stationary, {exact.n_cones} cones; every pair of measurement and "
            f"target; the origin excluded), c the nearer of z*, -rho_d z* (rho_{d} = "
            f"{rho(d):.4f}); trivial ceiling: none (inf), a stationary point can lie "
            f"anywhere on some network; bound: the ball radius eps = {EPS_BALL:g} "
            "(Theorem 1's ε, fixed for every preset)", ceiling=EPS_HAT_CEILING)
    criteria = (
        Criterion("min_rate_outside_balls", min_rate_out, STAT_TOL, ">=",
                  "method: sampled. Smallest normalised steepest-descent rate s(z) at searched and sampled "
                  "points outside the balls (stationary means s <= STAT_TOL); trivial floor "
                  "0 (s is a max with 0)", ceiling=RATE_FLOOR,
                  untested="" if outside.any() else "no searched or sampled point lies "
                  "outside the balls"),
        Criterion("gradient_self_check", points.self_check, float(SELF_TOL), "<=",
                  "max ||grad J - J_G^T A^T r|| / (L ||z*||): reverse mode vs tangent passes"))
    lo, hi = wilson_interval(in_balls, n_runs)
    lo0, hi0 = wilson_interval(at_zstar, n_runs)
    details = {
        "n_descent_runs": n_runs, "n_critical_runs": points.n_critical,
        "n_shell_samples": points.n_sample,
        "n_stationary_found": int(found.sum()),
        "n_stationary_outside_balls": int((found & ~inside).sum()),
        "descent_runs_ending_stationary_in_balls": in_balls,
        "descent_in_balls_rate_ci95": [lo, hi],
        "descent_runs_ending_at_zstar": at_zstar, "descent_at_zstar_rate_ci95": [lo0, hi0],
        "failure_prob_upper95": zero_failure_bound(n_runs) if in_balls == n_runs else None,
        "stationary_near_negative": int((found & (points.d_neg <= EPS_BALL)).sum()),
        "min_rate_outside_balls": min_rate_out,
        "min_grad_norm_outside_over_zstar": float(gnorm[outside].min()) if outside.any()
        else float("inf")}
    # eps_hat per draw (a column of the draws table; DRAWS.summarise), against rho_d and
    # against each pair's own ray minimiser of J(-t z*) (rho fitted per case)
    if exact is None:
        fz, fs, fk = points.z[found], points.s[found], points.k[found]
    else:
        fz, fs, fk = exact.z, exact.s, exact.k
    fitted = problem.distances_fitted(fz, fs, fk) if len(fz) else np.zeros(0)
    details["per_draw"] = {
        "eps_hat": float(headline.statistic),
        "eps_hat_rho_fitted": float(fitted.max()) if fitted.size else
        (0.0 if exact is not None else float("nan"))}
    details["sampled"] = {"eps_hat": eps_hat,
                          "n_stationary_outside_balls": details["n_stationary_outside_balls"]}
    if exact is None:
        details.update(method="sampled", method_reason=why)
    else:
        out = exact.outside
        details.update(method="exact", exact={
            "n_cones": exact.n_cones, "eps_hat": headline.statistic,
            "n_stationary": int(len(exact.z)),
            "n_stationary_outside_balls": int(out.sum()),
            "outside_by_class": {str(c): int(n) for c, n in zip(
                *np.unique(exact.classification[out], return_counts=True))},
            "outside_negative_side": int((out & (np.einsum(
                "ij,ij->i", exact.z, problem.zstar[exact.k]) < 0)).sum()),
            "local_minima": int((exact.classification == "local minimum").sum()),
            "origin": exact.origin.tolist(), "seconds": exact.seconds})
    return headline, criteria, details


def kinks_summary(kinks: Kinks, names: np.ndarray):
    """The largest least D_v J at kinks outside the balls and the finite-difference
    cross-check at the simple kinks; details and the kink table."""
    kout, usable = kinks.outside, kinks.verified & kinks.simple
    degenerate = kinks.verified & ~kinks.simple
    worst_kink = float(kinks.dd.min(axis=1)[kout].max()) if kout.any() else float("nan")
    fd_rel = np.abs(kinks.fd - kinks.dd) / np.maximum(1.0, np.abs(kinks.dd))
    checked = usable[:, None] & kinks.isolated
    fd_err = float(np.max(fd_rel[checked])) if checked.any() else float("nan")
    jump = np.abs(kinks.dd[:, 0] - kinks.dd[:, 1])
    criteria = (
        Criterion("worst_kink_dd", worst_kink, -STAT_TOL, "<=",
                  "largest over kink points outside the balls of min_v D_v J(z0) / (L ||z*||); "
                  "trivial ceiling: none (inf), both one-sided derivatives can be positive",
                  ceiling=KINK_DD_CEILING,
                  untested="" if kout.any() else "no verified simple kink point lies outside "
                  "the balls"),
        Criterion("kink_fd_discrepancy", fd_err, FD_TOL, "<=",
                  "|one-sided finite difference - exact D_v J| / max(L ||z*||, |D_v J|) at "
                  "the simple kinks (no other pre-activation a rounding residue of 0), along "
                  "the directions whose step crosses no other kink",
                  untested="" if checked.any() else "no simple kink direction is free of "
                  "other kinks within the finite-difference step"))
    details = {
        "kink_points": int(len(kinks.dd)), "kink_points_verified": int(kinks.verified.sum()),
        "kink_points_outside_balls": int(kout.sum()),
        "kink_points_degenerate": int(degenerate.sum()),
        "kink_fd_discrepancy_degenerate": float(np.max(fd_rel[degenerate]))
        if degenerate.any() else None,
        "kink_fd_directions_checked": int(checked.sum()),
        "kink_fd_directions_crossing_another_kink": int((usable[:, None] & ~kinks.isolated).sum()),
        "kink_fd_discrepancy_crossing": float(np.max(fd_rel[usable[:, None] & ~kinks.isolated]))
        if (usable[:, None] & ~kinks.isolated).any() else None,
        "kink_jump_median": float(np.median(jump)) if jump.size else float("nan"),
        "kink_fd_step": FD_STEP}
    table = pd.DataFrame({
        "measurement": names[kinks.s], "target": kinks.k, "unit": kinks.units,
        "dist": kinks.dist, "dd_inactive_grad": kinks.dd[:, 0],
        "dd_active_grad": kinks.dd[:, 1], "fd_inactive_grad": kinks.fd[:, 0],
        "fd_active_grad": kinks.fd[:, 1], "verified": kinks.verified, "simple": kinks.simple,
        "fd_isolated_inactive": kinks.isolated[:, 0], "fd_isolated_active": kinks.isolated[:, 1]})
    return criteria, details, table


def dwj0_summary(dwj0: DwJ0, names: np.ndarray, net: Network, cfg: dict,
                  exact: Exact | None = None):
    """min kappa(w) > 0 (rounding tolerance of an n_d-term sum) and the exact identity
    for D_w J(0); details and the per-pair table."""
    kappa_min = float(dwj0.kappa.min())
    floor = kappa_floor(net.spec)
    criteria = (
        Criterion("min_kappa_w", kappa_min, float(POS_TOL_PER_TERM * net.spec.output_dim), ">=",
                  "min over random and adversarial unit w of <A G(z*), A G(w)> ||z*|| / "
                  "||A G(z*)||^2 (D_w J(0) < 0 iff > 0); trivial floor "
                  + ("0 (ReLU outputs and 0/1 masks are non-negative, so every network has "
                     "kappa >= 0; the claim is the strict inequality)" if floor == 0.0 else
                     "-inf (leaky ReLU outputs can be negative)"), ceiling=floor),
        Criterion("dwj0_identity_gap", dwj0.identity_gap, 0.0, "==",
                  "max |D_w J(0) + <A G(z*), A G(w)>| (exact for ReLU without bias)"))
    if exact is not None:
        pairs = len(exact.origin)
        criteria = criteria + (Criterion(
            "origin_not_local_maximum", float(np.mean(exact.origin != "local maximum")), 0.0,
            "<=", f"method: exact. Fraction of the {pairs} (measurement, target) pairs whose "
            "origin is not a local maximum of J (D_w J(0) = -b_C . w read at every cone's "
            "rays: Theorem 1's D_w J(0) < 0 for all w != 0); trivial ceiling 1 (every pair)",
            ceiling=1.0),)
    details = {
        "kappa_min": kappa_min, "kappa_random_min": float(dwj0.kappa_random.min()),
        "kappa_adversarial_min": float(dwj0.kappa_adversarial.min()),
        "w_tested": int(len(dwj0.s) * (cfg["w_random"] + cfg["w_adversarial"] * cfg["w_steps"]))}
    table = pd.DataFrame({"measurement": names[dwj0.s], "target": dwj0.k,
                          "kappa_random_min": dwj0.kappa_random,
                          "kappa_adversarial_min": dwj0.kappa_adversarial})
    return criteria, details, table


def by_measurement(problem: Problem, points: Points, kinks: Kinks, dwj0: DwJ0,
                   exact: Exact | None) -> list[dict]:
    """The claim-carrying statistics per measurement (``details["by_measurement"]``, in
    the order of ``details["measurements"]``: A = I first, then the subsampling), so that
    a statement about A = I alone (Theorem 1) is judged on the full observation and one
    about subsampling (Theorem 4) on the mask: eps_hat, the least descent rate outside
    the balls, the worst kink derivative, min kappa(w), and with the exact set the share
    of targets whose origin is not a local maximum. Same definitions as the criteria."""
    out = []
    K = problem.zstar.shape[0]
    for si, name in enumerate(problem.mask_names):
        found = points.found & (points.s == si)
        outside = ~points.inside & (points.s == si)
        if exact is None:
            dist = np.minimum(points.d_pos, points.d_neg)[found]
            method = "sampled"
        else:
            sel = exact.s == si
            dist = np.minimum(exact.d_pos, exact.d_neg)[sel]
            method = "exact"
        kout = kinks.outside & (kinks.s == si)
        row = {"measurement": name, "method": method,
               "eps_hat": float(dist.max()) if dist.size else
               (0.0 if exact is not None else float("nan")),
               "min_rate_outside_balls": float(points.rate[outside].min()) if outside.any()
               else float("inf"),
               "worst_kink_dd": float(kinks.dd.min(axis=1)[kout].max()) if kout.any()
               else float("nan"),
               "min_kappa_w": float(dwj0.kappa[dwj0.s == si].min())}
        if exact is not None:
            row["origin_not_local_maximum"] = float(
                np.mean(exact.origin[si * K:(si + 1) * K] != "local maximum"))
        out.append(row)
    return out


# ------------------------------------------------ the statements' criteria (thm1, sec42-depth)
#: The criteria of Theorem 1's conclusion, Eq. (4)-(5): stationary points only in the two
#: balls (eps_hat; the descent rate outside them), a descent direction at the kinks
#: (exact one-sided D_v J), D_w J(0) < 0 (min kappa(w); with the exact stationary set,
#: the origin a local maximum on every pair).
CONCLUSION = ("eps_hat", "min_rate_outside_balls", "worst_kink_dd", "min_kappa_w")
#: The engine's numerical self-checks that make those numbers trustworthy.
SELF_CHECKS = ("gradient_self_check", "kink_fd_discrepancy", "dwj0_identity_gap")
#: Exact-method only (a 2-D latent): the same clause D_w J(0) < 0 as min_kappa_w.
EXACT_ONLY = ("origin_not_local_maximum",)


def conclusion_criteria(measurement: str | None = None):
    """A statement's criteria function (:class:`verify.statements.Judge`): Theorem 1's
    conclusion from the descent check's outcome. ``measurement`` None: the criteria as
    the check computes them, over A = I and the subsampling (Sec. 4.2 extends Theorem 1
    and Theorem 4 together); ``"full"``: the claim's statistics on A = I alone
    (``details["by_measurement"]``; Theorem 1 is stated for A = I), the self-checks as
    computed. A criterion the outcome does not carry is returned untested (the draw is
    then uninformative, never holds)."""
    import math
    from dataclasses import replace

    def criteria(outcome):
        have = {c.name: c for c in (outcome.headline,) + tuple(outcome.criteria)}
        row = None
        if measurement is not None:
            row = next((r for r in outcome.details.get("by_measurement", ())
                        if r.get("measurement") == measurement), None)
        out = []
        for name in CONCLUSION + EXACT_ONLY + SELF_CHECKS:
            c = have.get(name)
            if c is None:
                if name not in EXACT_ONLY:
                    out.append(Criterion(name, math.nan, 0.0,
                                         untested=f"{name} was not evaluated"))
                continue
            if measurement is not None and name not in SELF_CHECKS:
                if row is None or name not in row:
                    c = replace(c, statistic=math.nan, untested=(
                        f"no statistic of {name} on the measurement {measurement!r}"))
                else:
                    x = float(row[name])
                    none = (not math.isfinite(x)) and name != "eps_hat"
                    c = replace(c, statistic=x, note=c.note + (
                        f"; on the measurement {measurement!r} alone"),
                        untested=(f"no point or kink outside the balls on {measurement!r}"
                                  if none else ""))
            out.append(c)
        return out

    criteria.__name__ = ("Theorem 1's conclusion" + (f" on {measurement!r}" if measurement
                                                     else " (every measurement)"))
    return criteria


#: Why a target z* with A G(z*) = 0 refutes Theorem 1's conclusion (exactly).
ZERO_TARGET_NOTE = (
    "method: exact. Targets z* ~ N(0, I) drawn with A G(z*) = 0 (replaced in the search). "
    "G is positively homogeneous (ReLU / leaky ReLU without bias, as the check requires), "
    "so for such a z* J(z) = ||A G(z)||^2 / 2 >= 0 vanishes at z = 2 z*: a global minimum "
    "(stationary, no descent direction) at ||z*|| from z* and (2 + rho_d) ||z*|| from "
    "-rho_d z*, outside both balls: Theorem 1's conclusion fails for that z*")


def zero_target_criterion(count: int) -> Criterion:
    return Criterion("targets_with_zero_measurement", float(count), 0.0, "<=",
                     ZERO_TARGET_NOTE + "; an exact count (<= 0): no ceiling")


def zero_targets(out: Outcome, redrawn: int) -> Outcome:
    """``out`` with the exact criterion on zero-measurement targets when some were drawn
    (their count: the descent check's ``redrawn``): each one is a certificate that the
    conclusion fails, so the search on the others cannot make the draw hold."""
    if not redrawn:
        return out
    return replace(out, criteria=tuple(out.criteria) + (zero_target_criterion(redrawn),))


class ZeroTargets(Exception):
    """Fewer targets z* with A G(z*) != 0 than the search needs (a network whose output
    is often zero, or whose output dimension is below the latent dimension): the
    zero-measurement targets decide the draw (:data:`ZERO_TARGET_NOTE`)."""

    def __init__(self, zstar: np.ndarray, mask: str, zero: int, pool: int, d: int):
        super().__init__(f"{zero} of {pool} targets z* with A G(z*) = 0")
        self.zstar, self.mask, self.zero, self.pool, self.d = zstar, mask, zero, pool, d

    def outcome(self, cfg: dict) -> Outcome:
        """Fails exactly: eps_hat of the certificate z = 2 z* (distance ||z*|| from z*)."""
        r = rho(self.d)
        head = Criterion(
            "eps_hat", 1.0, EPS_BALL, "<=",
            f"method: exact. z = 2 z* for z* = {np.round(self.zstar, 6).tolist()} with A G(z*) "
            f"= 0 ({self.mask}): a global minimum of J at distance 1 ||z*|| from z* and "
            f"{2 + r:.4g} ||z*|| from -rho_d z*; trivial ceiling: none (inf)",
            ceiling=EPS_HAT_CEILING)
        return Outcome(headline=head, criteria=(zero_target_criterion(self.zero),),
                       n_samples=self.pool,
                       details={"method": "exact", "zero_measurement_targets": self.zero,
                                "targets_drawn": self.pool, "eps_ball": EPS_BALL,
                                "rho_d": r, "certificate": {
                                    "zstar": self.zstar.tolist(), "z": (2 * self.zstar).tolist(),
                                    "measurement": self.mask, "J": 0.0}},
                       settings={**cfg, "eps_ball": EPS_BALL, "stat_tol": STAT_TOL})
