"""Theorem 1 (and Theorem 4): J has a strict descent direction everywhere except near
z* and near -rho z*, and D_w J(0) < 0 for every w != 0 (lemmas/README.md, section 5).

The check searches for stationary points of J(z) = 1/2 ||A G(z) - A G(z*)||^2 and
verifies that every one found lies in B(z*, eps ||z*||) U B(-rho_d z*, eps ||z*||).

The numerics (J, exact one-sided D_v J, the Newton search, kinks, D_w J(0), the
surrogate gap) are public in :mod:`verify.geometry.descent` and
:mod:`verify.geometry.descent_points`; the criteria and their trivial ceilings in
:mod:`lemmas._descent_criteria`. The statements this check judges, each by its own
criteria (at the ball radius eps = EPS_BALL = 0.25): ``thm1`` (Theorem 1 on A = I),
``sec42-depth`` (Sec. 4.2's extension to more layers and other strides), ``thm4``.
``details["by_measurement"]`` has the claim's statistics per measurement and
``details["over_draws"]`` eps_hat per draw (against rho_d and with rho fitted per case).

Method (lemmas/README.md)
-------------------------
For a bias-free ReLU / leaky-ReLU network with a 2-D or 3-D latent the search is not
the last word: :func:`verify.geometry.stationary.stationary_points` lists every stationary point
of J exactly, per (measurement, target) pair, on the same y = A G(z*) and masks. There
(``method: exact``, ``details["method"]`` and the criteria's notes) the headline
``eps_hat`` is the largest distance of an exact stationary point other than the origin
(local minima, saddles, kinks, flat sets' representatives) to the nearer of z* and
-rho_d z*, and ``origin_not_local_maximum`` is the fraction of pairs whose origin is
not a local maximum of J (Theorem 1's D_w J(0) < 0 for every w; trivial ceiling 1).
The search's numbers stay beside them (``details["sampled"]``) and the
exact points join the table (``search == "exact"``). The descent-rate, kink, D_w J(0)
and self-check criteria stay sampled. Otherwise (latent dimension above 3, or what
:func:`verify.geometry.cones.not_applicable` names) everything is sampled (``method: sampled``,
``details["method_reason"]``). :func:`check_draw` uses the same method.

Verdict over network draws
--------------------------
Theorem 1 / Theorem 4 hold *with high probability over the weights* for wide enough
layers, with constants the paper does not give. The verdict is therefore the failure
rate over DRAWS.draws independent networks at the preset's widths, judged against
tau = DRAWS.tolerance (:mod:`verify.verdicts`); draw 0 is the full check on the seed's
network, draws 1..N-1 run :func:`check_draw`: the same criteria and tolerances on a
cheaper search (:func:`draw_search_sizes`: more targets z*, fewer starts per target, which
finds as many failing draws as the full search where they were measured), without the
rho table and the surrogate-gap width sweep (details and figures only). ``--draws 1`` is
one network's verdict, labelled as such.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import pandas as pd

from lemmas._descent_criteria import (ZeroTargets, zero_targets, by_measurement, dwj0_summary, kinks_summary, ordered,
                                      points_summary)
from verify.geometry.descent import (DELTA, EPS_BALL, FD_STEP, FD_TOL, STAT_TOL, Problem,
                                     descent_rates, kink_derivatives, kink_points,
                                     newton_search, surrogate_gap, unit, weight_scale, worst_w)
from verify.geometry.descent_points import (DwJ0, Kinks, Points, exact_reason,
                                            exact_stationary_set, project, rho_summary,
                                            rho_table, starts, width_sweep)
from verify.formulas import rho
from verify.measurements import make_mask
from verify.presets import Config, Instance
from verify.registry import register
from verify.results import Outcome
from verify.verdicts import DrawRule

#: A sampling mask added when the instance observes everything (Theorem 4).
MASK_RATE = 0.5



def search_sizes(quick: bool) -> dict:
    if quick:
        return dict(targets=2, radii=(0.3, 1.0, 3.0), dirs_per_radius=3, gn_iters=20,
                    newton_iters=20, neighbours=4, kink_points=8, w_random=64,
                    w_adversarial=8, w_steps=30, shell_samples=16,
                    widths=(0.5, 1.0, 2.0), gap_samples=16)
    return dict(targets=3, radii=(0.1, 0.5, 1.5, 4.0), dirs_per_radius=3, gn_iters=20,
                newton_iters=20, neighbours=6, kink_points=24, w_random=128,
                w_adversarial=8, w_steps=30, shell_samples=24,
                widths=(0.5, 1.0, 2.0, 4.0), gap_samples=32)


def draw_search_sizes(quick: bool) -> dict:
    """Search sizes of :func:`check_draw` (draws 1..N-1 of the verdict over draws).

    The same criteria as :func:`check`, on a cheaper search that spreads its starts over
    more targets z*: the power against a stationary point outside the balls comes mostly
    from the number of targets (on paper-fig4, draws 1..39 of seed 0: the full search
    with 3 targets finds 15 failing draws, the same starts on 2 targets 7, one radius on
    6 targets 17), while the cost grows with the starts per target. Measured on
    paper-fig4, draws 1..39: these --quick sizes find 12, 14, 5 and 13 failing draws on
    base seeds 0 to 3 (the --quick check's own sizes: 9 on seed 0), at about half its
    cost on the theory presets; the full-run sizes add a second radius (5 targets on two
    radii found 15 on seed 0, as many as the full check's own sizes)."""
    if quick:
        return dict(targets=4, radii=(1.0,), dirs_per_radius=1, gn_iters=20, newton_iters=20,
                    neighbours=3, kink_points=6, w_random=32, w_adversarial=2, w_steps=15,
                    shell_samples=8)
    return dict(targets=4, radii=(0.5, 2.0), dirs_per_radius=1, gn_iters=20, newton_iters=20,
                neighbours=4, kink_points=8, w_random=64, w_adversarial=4, w_steps=20,
                shell_samples=12)


# ----------------------------------------------------------------- helpers
def _piecewise_linear(config: Config) -> str | None:
    for i, layer in enumerate(config.spec.layers):
        if layer.activation not in ("relu", "leaky_relu"):
            return (f"layer {i} has activation {layer.activation!r}; Theorem 1 (and the exact "
                    "Gauss-Newton Hessian) needs piecewise-linear ReLU / leaky ReLU")
        if layer.affine:
            return f"layer {i} has a bias (affine); Theorem 1 is for ReLU without bias"
    if config.spec.depth < 2:
        return "Theorem 1 is for (at least) 2 layers: with one ReLU layer D_{-z*} J(0) = 0"
    return None


# ------------------------------------------------------------------- setup
def _scope(config: Config) -> dict:
    """Whether the configuration is inside Theorem 1's hypotheses, and why not."""
    spec, why = config.spec, []
    if not spec.is_block:
        why.append("stride < kernel or padding (Theorem 1 assumes s = l, p = 0)")
    if config.weights.name != "gaussian":
        why.append(f"weights {config.weights.name} (Theorem 1 assumes Gaussian)")
    if spec.depth != 2:
        why.append(f"{spec.depth} layers (Theorem 1 is for 2)")
    exp = spec.expansivity()
    if min(exp) < 1.0:
        why.append("a layer with C_i l^dims < C_{i-1} log C_{i-1}: expansivity "
                   + ", ".join(f"{e:.2f}" for e in exp))
    return {"in_theorem_scope": not why, "outside_scope_because": why,
            "expansivity": [float(e) for e in exp]}


def _measurements(instance: Instance, rng) -> tuple[np.ndarray, list[str]]:
    """Full observation (Theorem 1) and a subsampling (Theorem 4): the instance's own
    mask, or a uniformly random one at MASK_RATE when the instance observes all."""
    n = instance.network.spec.output_dim
    full = np.ones(n, bool)
    A = instance.measurement
    own = getattr(A, "flat", None)
    if own is not None and not own.all():
        return np.stack([full, own]), ["full", f"{A.kind} r={A.m / A.n:.3g} (instance)"]
    rnd = make_mask("random", instance.network.spec.output_shape, MASK_RATE, rng=rng).reshape(-1)
    return np.stack([full, rnd]), ["full", f"random r={MASK_RATE:g}"]





# ------------------------------------------------------------------- check


def _single_thread_blas():
    """BLAS threads per the toolkit's one policy (:func:`verify.threads.blas_threads`;
    default one thread: the products here are skinny, inner dimension C_{i-1} = 8..32,
    where OpenBLAS threads cost more than they give; measured on the 65,536-output
    bench: 102 s wall with default threads, 32 s with one)."""
    from verify.threads import blas_threads

    return blas_threads()


@contextlib.contextmanager
def _timed(timings: dict, key: str):
    """Adds the wall time of the block to ``timings[key]`` (details["timings_s"])."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0




def check(instance: Instance, *, rng, quick: bool) -> Outcome:
    """Theorem 1 / Theorem 4 on one drawn network (lemmas/README.md, section 5), one step per
    sub-claim. The steps draw from ``rng`` in this order: it fixes the numbers."""
    cfg = search_sizes(quick)
    timings: dict[str, float] = {}
    with _single_thread_blas():
        with _timed(timings, "descent_s"):
            try:
                problem, redrawn = _step_targets(instance, cfg, rng)
            except ZeroTargets as cert:  # too few targets left to search: decided
                return cert.outcome(cfg)
        points = _step_search(problem, cfg, rng, timings)
        with _timed(timings, "rates_s"):
            _step_descent_rates(problem, points, cfg, rng)
        rho_df = rho_table(problem, points)
        with _timed(timings, "kinks_s"):
            kinks = _step_kinks(problem, cfg, rng)
        with _timed(timings, "dwj0_s"):
            dwj0 = _step_dwj0(problem, cfg, rng)
        with _timed(timings, "exact_s"):
            why = exact_reason(instance.network)
            exact = exact_stationary_set(problem) if why is None else None
        with _timed(timings, "gap_s"):
            gap, sweep, slope = _step_surrogate(instance, problem, points, cfg, rng)
        return zero_targets(_outcome(instance, problem, cfg, redrawn, points, rho_df, kinks,
                                      dwj0, gap, sweep, slope, timings, exact, why), redrawn)


def check_draw(instance: Instance, *, rng, quick: bool) -> Outcome:
    """One further network draw of the verdict over draws (``DRAWS.check``, draws
    1..N-1): the steps of :func:`check` that carry a criterion (targets, both searches,
    descent rates, kinks, D_w J(0)) with the same criteria and tolerances, on the search
    sizes of :func:`draw_search_sizes` (more targets, fewer starts each: as powerful on the
    failures seen, cheaper). Skipped: the rho table and the surrogate gap with its width
    sweep (details and figures only). :func:`criteria_only` with ``search_sizes(quick)``
    gives exactly :func:`check`'s criteria on the same stream (a test holds it to that)."""
    return criteria_only(instance, rng, draw_search_sizes(quick))


def criteria_only(instance: Instance, rng, cfg: dict) -> Outcome:
    """The criterion-carrying steps of :func:`check` on search sizes ``cfg``."""
    timings: dict[str, float] = {}
    with _single_thread_blas():
        try:
            problem, redrawn = _step_targets(instance, cfg, rng)
        except ZeroTargets as cert:  # too few targets left to search: decided
            return cert.outcome(cfg)
        points = _step_search(problem, cfg, rng, timings)
        _step_descent_rates(problem, points, cfg, rng)
        kinks = _step_kinks(problem, cfg, rng)
        dwj0 = _step_dwj0(problem, cfg, rng)
        why = exact_reason(instance.network)
        exact = exact_stationary_set(problem) if why is None else None
    names = np.array(problem.mask_names)
    headline, point_criteria, point_details = points_summary(problem, points, exact, why)
    kink_criteria, kink_details, _ = kinks_summary(kinks, names)
    w_criteria, w_details, _ = dwj0_summary(dwj0, names, instance.network, cfg, exact)
    return zero_targets(Outcome(headline=headline,
                   criteria=ordered(point_criteria, kink_criteria, w_criteria),
                   n_samples=int(len(points.z)),
                   details={"lean_draw_check": True, "rho_d": rho(problem.d),
                            "targets_redrawn_for_zero_measurement": redrawn,
                            "measurements": list(problem.mask_names),
                            **point_details, **kink_details, **w_details,
                            "by_measurement": by_measurement(problem, points, kinks, dwj0,
                                                             exact)},
                   settings={**cfg, "eps_ball": EPS_BALL, "stat_tol": STAT_TOL}), redrawn)


def _step_targets(instance: Instance, cfg: dict, rng) -> tuple[Problem, int]:
    """The measurements, A = I (Theorem 1) and a subsampling (Theorem 4), and targets z*
    with A G(z*) != 0 in each; returns the problem and the number of targets redrawn."""
    net = instance.network
    masks, names = _measurements(instance, rng)
    # z* with A G(z*) = 0 in some measurement (e.g. U[0, 1] weights and z* <= 0) makes
    # y = 0 and J = ||A G(z)||^2 / 2; such draws are replaced (and counted).
    pool = rng.normal(size=(8 * cfg["targets"], net.spec.latent_dim))
    seen = np.all(np.any(masks[:, None, :] & (net.forward(pool) != 0)[None], axis=-1), axis=0)
    if seen.sum() < cfg["targets"]:
        i = int(np.flatnonzero(~seen)[0])
        dead = np.flatnonzero(~np.any(masks & (net.forward(pool[i:i + 1]) != 0), axis=-1))
        raise ZeroTargets(pool[i], names[int(dead[0])], int((~seen).sum()), pool.shape[0],
                           net.spec.depth)
    zstar = pool[np.flatnonzero(seen)[:cfg["targets"]]]
    redrawn = int(np.flatnonzero(seen)[cfg["targets"] - 1] + 1 - cfg["targets"])
    return Problem.build(net, masks, names, zstar), redrawn


def _step_search(problem: Problem, cfg: dict, rng, timings: dict) -> Points:
    """Candidate stationary points of J (Theorem 1, eq. (4)): damped Gauss-Newton runs
    on J, Newton runs on ||grad J||^2 (also from near -rho z*), and shell samples."""
    S, K = problem.masks.shape[0], problem.zstar.shape[0]
    with _timed(timings, "descent_s"):
        zA0, sA, kA, kindA = starts(problem, rng, cfg["radii"], cfg["dirs_per_radius"], False)
        zA, evA, chkA = newton_search(problem, zA0, sA, kA, iters=cfg["gn_iters"],
                                      merit="value")
    with _timed(timings, "critical_s"):
        zB0, sB, kB, kindB = starts(problem, rng, cfg["radii"], cfg["dirs_per_radius"], True)
        zB, evB, chkB = newton_search(problem, zB0, sB, kB, iters=cfg["newton_iters"],
                                      merit="gradnorm")
    # sampled points on shells (no search): the descent rate away from the balls
    nsh = cfg["shell_samples"]
    kC = np.tile(np.repeat(np.arange(K), nsh), S)
    sC = np.repeat(np.arange(S), K * nsh)
    radC = rng.choice(np.asarray(cfg["radii"]), size=kC.size)
    zC = radC[:, None] * np.linalg.norm(problem.zstar[kC], axis=-1, keepdims=True) * unit(
        rng.normal(size=(kC.size, problem.zstar.shape[1])))
    return Points(
        z=np.concatenate([zA, zB, zC]), s=np.concatenate([sA, sB, sC]),
        k=np.concatenate([kA, kB, kC]),
        search=np.array(["descent"] * len(zA) + ["critical"] * len(zB) + ["sample"] * len(zC)),
        start=np.concatenate([kindA, kindB, np.array(["shell"] * len(zC))]),
        n_critical=int(len(zB)), n_sample=int(len(zC)), evaluations=int(evA + evB),
        self_check=max(chkA, chkB))


def _step_descent_rates(problem: Problem, points: Points, cfg: dict, rng) -> None:
    """The steepest descent rate s(z) and the distances to B(z*, eps) and B(-rho z*, eps)
    at every point (Theorem 1, eq. (4): s(z) > 0 outside the balls); fills ``points``."""
    points.rate, points.gnorm = descent_rates(problem, points.z, points.s, points.k, rng,
                                              neighbours=cfg["neighbours"])
    points.d_pos, points.d_neg = problem.distances(points.z, points.k)
    points.par, points.perp = project(points.z, problem.zstar[points.k])


def _step_kinks(problem: Problem, cfg: dict, rng) -> Kinks:
    """At kinks of J (a first-layer unit exactly at 0), the exact one-sided D_v J(z) < 0
    outside the balls (Theorem 1, eq. (4) where J is not differentiable)."""
    net, zstar = problem.network, problem.zstar
    S, K = problem.masks.shape[0], zstar.shape[0]
    nk = cfg["kink_points"]
    kK = np.tile(np.repeat(np.arange(K), nk), S)
    sK = np.repeat(np.arange(S), K * nk)
    radK = rng.choice(np.asarray(cfg["radii"]), size=kK.size)
    zK = radK[:, None] * np.linalg.norm(zstar[kK], axis=-1, keepdims=True) * unit(
        rng.normal(size=(kK.size, net.spec.latent_dim)))
    units = rng.integers(0, net.spec.widths[1], size=kK.size)
    z0, ok, normals = kink_points(net, zK, units)
    z0, normals, sK, kK, units = z0[ok], normals[ok], sK[ok], kK[ok], units[ok]
    dd, fd, verified, simple, isolated = kink_derivatives(problem, z0, normals, sK, kK, units)
    kp, kn = problem.distances(z0, kK)
    return Kinks(sK, kK, units, np.minimum(kp, kn), dd, fd, verified, simple, isolated)


def _step_dwj0(problem: Problem, cfg: dict, rng) -> DwJ0:
    """D_w J(0) < 0 for every w != 0 (Theorem 1, eq. (5)): kappa(w) > 0 over random and
    adversarial unit w, and the identity D_w J(0) = -<A G(z*), A G(w)>."""
    S, K = problem.masks.shape[0], problem.zstar.shape[0]
    sP, kP = np.repeat(np.arange(S), K), np.tile(np.arange(K), S)
    kap, kap_rand, kap_adv, id_gap = worst_w(problem, sP, kP, rng, n_random=cfg["w_random"],
                                             n_adv=cfg["w_adversarial"], steps=cfg["w_steps"])
    return DwJ0(sP, kP, kap, kap_rand, kap_adv, id_gap)




def _step_surrogate(instance: Instance, problem: Problem, points: Points, cfg: dict, rng):
    """grad J against H&V's surrogate c^2 r h_{z,z*} at every point, and the gap's decay
    over a sweep of widths (proof outline: the WDC of Lemma Sup.2 makes grad J ~ h)."""
    net, config = instance.network, instance.config
    law = config.weights if config.loader is None else None
    gap = surrogate_gap(net, law, problem.masks, problem.zstar, points.z, points.s, points.k)
    mask_rate = float(problem.masks[1].mean())
    sweep = width_sweep(config, instance, mask_rate, cfg["widths"], cfg["gap_samples"], rng)
    slope = {}
    for name, grp in sweep.groupby("measurement"):
        if len(grp) >= 2:
            slope[name] = float(np.polyfit(np.log(grp["block_rows"]), np.log(grp["gap_mean"]),
                                           1)[0])
    return gap, sweep, slope


def _outcome(instance, problem, cfg, redrawn, points, rho_df, kinks, dwj0, gap, sweep, slope,
             timings, exact=None, why=None) -> Outcome:
    """The steps' criteria (headline: Theorem 1's balls), details and tables."""
    net, config = instance.network, instance.config
    law = config.weights if config.loader is None else None
    names = np.array(problem.mask_names)
    headline, point_criteria, point_details = points_summary(problem, points, exact, why)
    kink_criteria, kink_details, kink_df = kinks_summary(kinks, names)
    w_criteria, w_details, w_df = dwj0_summary(dwj0, names, net, cfg, exact)
    criteria = ordered(point_criteria, kink_criteria, w_criteria)
    table = pd.DataFrame({
        "search": points.search, "start": points.start, "measurement": names[points.s],
        "target": points.k, "par": points.par, "perp": points.perp,
        "dist_zstar": points.d_pos, "dist_neg": points.d_neg, "rate": points.rate,
        "grad_norm": points.gnorm, "stationary": points.stationary,
        "in_balls": points.inside, "surrogate_gap": gap})
    if exact is not None:
        epar, eperp = project(exact.z, problem.zstar[exact.k])
        table = pd.concat([table, pd.DataFrame({
            "search": "exact", "start": exact.kind, "measurement": names[exact.s],
            "target": exact.k, "par": epar, "perp": eperp, "dist_zstar": exact.d_pos,
            "dist_neg": exact.d_neg, "rate": 0.0, "grad_norm": np.nan, "stationary": True,
            "in_balls": ~exact.outside, "surrogate_gap": np.nan,
            "classification": exact.classification})], ignore_index=True)
    details = {
        **_scope(config),
        "rho_d": rho(problem.d), "eps_ball": EPS_BALL, "stat_tol": STAT_TOL,
        "targets_redrawn_for_zero_measurement": redrawn,
        "measurements": list(problem.mask_names), "targets": int(problem.zstar.shape[0]),
        **point_details,
        **rho_summary(rho_df),
        "rho_table": rho_df,
        "surrogate_scale_c2": weight_scale(net, law),
        "surrogate_gap_mean": float(gap.mean()), "surrogate_gap_max": float(gap.max()),
        "surrogate_gap_slope_vs_block_rows": slope,
        **kink_details, **w_details,
        "by_measurement": by_measurement(problem, points, kinks, dwj0, exact),
        "newton_evaluations": points.evaluations, "timings_s": timings,
    }
    return Outcome(headline=headline, criteria=criteria, n_samples=int(len(points.z)),
                   details=details, table=table,
                   tables={"width_sweep": sweep, "rho": rho_df, "kinks": kink_df, "w": w_df},
                   settings={**cfg, "eps_ball": EPS_BALL, "stat_tol": STAT_TOL,
                             "fd_step": FD_STEP, "fd_tol": FD_TOL, "delta": DELTA,
                             "mask_rate_added": MASK_RATE})




from lemmas._descent_configs import configs, counter_configs, known_bad_configs  # noqa: E402
from lemmas._descent_figures import figure_stationary_points, figure_width_sweep  # noqa: E402

FIGURES = (figure_stationary_points, figure_width_sweep)

def _over_draws(draws: pd.DataFrame, by_draw: dict) -> dict:
    """eps_hat over the network draws (``details["over_draws"]``): per draw and its
    median, against rho_d and with rho fitted per case (each pair's ray minimiser of
    J(-t z*)), and how many draws exceed the ball radius EPS_BALL. Theorem 1 holds for
    any fixed eps given enough expansion: these say at which eps a preset would pass."""
    out: dict = {"eps_ball": EPS_BALL, "draws": int(len(draws))}
    for col, key in (("eps_hat", "eps_hat"), ("eps_hat_rho_fitted", "eps_hat_rho_fitted")):
        if col not in draws:
            continue
        e = draws[col].to_numpy(float)
        ok = np.isfinite(e)
        out[f"{key}_per_draw"] = [float(x) for x in e]
        out[f"{key}_median"] = float(np.median(e[ok])) if ok.any() else float("nan")
        out[f"{key}_max"] = float(e[ok].max()) if ok.any() else float("nan")
        out[f"{key}_draws_above_eps"] = int((e[ok] > EPS_BALL).sum())
    return out


#: Theorem 1 / Theorem 4 are "with high probability over the weights": judged over
#: network draws (module docstring, "Verdict over network draws").
DRAWS = DrawRule(
    tolerance=0.1,
    reason="Theorem 1 and Theorem 4 hold with probability 1 - c exp(-gamma ...) once the "
           "layers are wide enough, with constants the paper does not give; 'with high "
           "probability' is read as the toolkit's guideline, at least 90% of network draws "
           "at the preset's widths (tau = 0.1), fixed before any multi-draw run. A "
           "draw fails when any criterion fails (a stationary point outside the balls, no "
           "descent at a kink, D_w J(0) = 0 for some w, or an engine self-check)",
    draws=40, check=check_draw, summarise=_over_draws)


#: Configurations the check must reject (verify.verdicts.KnownBad; the power table).
KNOWN_BAD = known_bad_configs()

register(
    "descent",
    statement="every stationary point of J lies in B(z*, eps||z*||) or B(-rho z*, eps||z*||), "
              "with a strict descent direction elsewhere and D_w J(0) < 0 for all w != 0, "
              "for A = I and for subsampling",
    reference="Theorem 1, Theorem 4",
    presets={"theory-2layer": "pass", "theory-2layer-2d": "pass",
             # Outside Theorem 1 (stride 3 < kernel 5; C_2 l^2 = 25 < C_1 log C_1 = 44):
             # expected "pass" is the paper's own empirical claim for this network
             # (Sec. 4.2, Fig. 4(a): the conclusion "empirically extends" to other
             # kernel sizes and strides), fixed before the check was run.
             "paper-fig4": "pass",
             # Theorem 1's conclusion for d = 3 and 4 layers, with
             # rho_3 / rho_4; expected "pass" fixed before any run. Theorem 1 is stated
             # for 2 layers: the statement judged here is Sec. 4.2's (sec42-depth).
             "theory-3layer": "pass", "theory-4layer": "pass",
             # Stride < kernel at depth 3 (kernel 8 = 2 x stride 4):
             # outside Theorem 1's block form; expected "pass" is Sec. 4.2's empirical
             # extension, fixed before the first run (the result:
             # lemmas/findings/sec42-depth.toml).
             "theory-3layer-overlap": "pass",
             # A 3-D latent at the smallest widths meeting the expansion condition with
             # the theory presets' constant 4 (verify/presets.py); the stationary set is
             # exact on its 3-D cells. Expected "pass" is Theorem 1's conclusion (the
             # preset is inside its hypotheses), fixed as the paper's claim before the
             # multi-draw run (the result: lemmas/findings/thm1.toml).
             "theory-2layer-latent3": "pass",
             "paper-fig4-uniform01": "fail"},
    check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
    # findings are data: lemmas/findings/<statement id>.toml (sec42-depth)
    findings=(),
    cost=4.0, requires=_piecewise_linear, draws=DRAWS,
    known_bad=KNOWN_BAD,
)

