"""Theorem 1's probability and its expansion condition (paper Theorem 1; lemmas/README.md,
sections 5-6).

Theorem 1: fix eps > 0; if C_i l >~ C_{i-1} log C_{i-1} for each layer, then with
probability at least 1 - kappa (D_1 C_1 e^{-gamma C_0} + D_2 C_2 e^{-gamma C_1}) every
z outside B(z*, eps ||z*||) U B(-rho z*, eps ||z*||) U {0} has a descent direction, and
D_w J(0) < 0 for every w != 0. This check measures that probability against the
expansion factor E_i = C_i l_i^dims / (C_{i-1} log C_{i-1}) (lemmas/README.md, section 6),
which the paper only bounds up to unknown constants.

Theorem 1's conclusion on one draw, decided exactly
---------------------------------------------------
For a bias-free ReLU / leaky-ReLU network with a 2-D latent, J's stationary set is
finite and listed exactly (:func:`verify.geometry.cones.enumerate_cones`,
:func:`verify.geometry.stationary.stationary_points`). A draw (weights from the
configuration's law, z* ~ N(0, I_2), A = I) *holds* when (a) every stationary point
other than the origin lies within EPS_BALL ||z*|| of z* or of -rho_d z*, and (b) the
origin is a local maximum (D_w J(0) < 0 for all w). A flat row (a cone whose quadratic
is singular: a segment, ray or whole cone of stationary points) counts with the
farthest point of its stationary set; an unbounded one gives eps_hat = inf.
EPS_BALL = 0.25 is :data:`verify.geometry.descent.EPS_BALL`, shared so both checks judge the
same balls (the largest quarter-step below rho_2 = 1/pi: the balls are disjoint and
exclude the origin). Per draw, eps_hat = the smallest radius (units of ||z*||) of two
balls holding every stationary point but the origin, scale-invariant (G(tz) = t G(z)).

The grid
--------
The configuration is the template and the grid's largest point. Step j >= 1 scales the
channel counts of layers 2..d (layer 1 keeps the template's C_1: with C_0 = 2 its factor
C_1 l_1 / (2 log 2) is already large) to the smallest counts with E_i >= E_t / 2^j,
E_t the template's smallest factor; full: j = 0..6, --quick: j = 3, 5, 6, with
DRAWS = 40 draws each (enough for zero failures to bound the rate below tau). On
theory-2layer-latent2 (2 -> 4 k16 -> C_2 k4) the factors are 32.5, 16.6, 8.66, 4.33,
2.16, 1.44, 0.72 (C_2 = 45, 23, 12, 6, 3, 2, 1). Measured cost per draw (this machine,
one core, seed 0): 1.98, 0.49, 0.15, 0.061, 0.030, 0.019, 0.015 CPU-s (a profile: 65% in
stationary.py's three-operand einsums, 30% in the cone enumeration): 112 CPU-s for the
full 280 draws, ~5 CPU-s for --quick (120 draws; its top is E_t / 8, since the
report's --quick run of every check is in the test suite). The next doubling (E ~ 65, C_2 = 90)
costs ~9.5 CPU-s a draw (measured): 40 draws there alone would be 6 CPU-minutes.

Verdict (fixed before the first multi-draw run)
------------------------------------------------
* ``top_failure_rate`` (headline): failure rate at the largest grid expansion with its
  exact (Clopper-Pearson) 95% interval against TAU = 0.1 (:func:`verify.verdicts.
  judge_draws`): holds when the interval lies below tau, fails when above, uninformative
  when it contains tau (too few draws to decide). No finite ceiling: a stationary point
  can lie anywhere on some network (descent's argument), so any eps can fail.
* ``rate_does_not_rise``: the interval's lower end at the largest expansion is not
  above the upper end at the smallest: the rate does not rise with expansion beyond its
  intervals (trivially met when the smallest step fails on every draw).
Reported, not judged: the measured threshold (:func:`measured_threshold`: the smallest
grid expansion whose interval lies below tau, and the smallest whose point estimate
does) beside Theorem 1's condition (E >= c, constant unstated; c = 1 and the toolkit's
c = 4); eps_hat per step (median, 10/90% quantiles) and the fit log eps_hat = a +
b log(width) (width = n_d, the output units) with a bootstrap interval on b over draws.

Note on the theorem's probability: its failure bound holds D_1 C_1 e^{-gamma C_0}; with
C_0 = 2 that term does not shrink as the layers widen, so at a 2-D latent Theorem 1
promises no probability near 1 at any width. The grid measures the rate the theorem
does not quantify; the registered finding says what it shows.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from verify.formulas import rho
from verify.geometry.descent import EPS_BALL
from verify.registry import register
from verify.results import Criterion, Outcome
from verify.spec import LayerSpec, NetworkSpec
from verify.stats import exact_interval
from verify.verdicts import DrawRule, KnownBad, judge_draws

#: tau: the largest failure rate over draws at which "with high probability" is said to
#: hold, and the threshold's level ("rate below 10%").
TAU = 0.1
ALPHA = 0.05
#: Draws per grid step (full and --quick alike): zero failures in 40 bound the rate by
#: 0.088 < tau (36 is the fewest that can).
DRAWS = 40
#: Grid steps j (expansion E_t / 2^j): full, --quick (the cheaper half, same rule).
STEPS = (0, 1, 2, 3, 4, 5, 6)
QUICK_STEPS = (3, 5, 6)
#: Bootstrap resamples of the eps_hat ~ width slope (draws resampled within each step).
BOOTSTRAP = 1000
#: Points sampled along a bounded flat segment of stationary points.
FLAT_SAMPLES = 257
#: Refuse a grid network with more cones than this (cost grows ~ cones x outputs).
MAX_CONES = 200_000
RULE = DrawRule(
    tolerance=TAU, draws=DRAWS, alpha=ALPHA,
    reason="Theorem 1 holds 'with high probability' with constants the paper does not give; "
           "as everywhere in the toolkit (descent, landscape), the conclusion must hold on at "
           "least 90% of network draws (tau = 0.1), fixed before any multi-draw run")
ACTIVATIONS = ("relu", "leaky_relu")


# ------------------------------------------------------------------ the grid
def _log_term(c: int) -> float:
    return c * math.log(c)


def grid_spec(template: NetworkSpec, target: float) -> NetworkSpec:
    """The template with layers 2..d at the smallest channel counts whose expansion factor
    is >= ``target`` (hidden layers at least 2 channels, the last at least 1); layer 1
    keeps the template's C_1."""
    ch = [template.latent_channels, template.layers[0].channels]
    d = template.depth
    for i, layer in enumerate(template.layers[1:], start=1):
        need = math.ceil(target * _log_term(ch[-1]) / layer.kernel ** template.dims - 1e-9)
        ch.append(max(1 if i == d - 1 else 2, need))
    layers = tuple(replace(l, channels=c) for l, c in zip(template.layers, ch[1:]))
    return replace(template, layers=layers)


def grid(template: NetworkSpec, steps=STEPS) -> list[tuple[int, float, NetworkSpec]]:
    """(step, target, spec) from the template (step 0) down by factors of 2; a step whose
    network repeats an earlier one's (channel floors) is left out."""
    top = min(template.expansivity())
    out, seen = [], set()
    for j in steps:
        spec = template if j == 0 else grid_spec(template, top / 2 ** j)
        if spec.channels in seen:
            continue
        seen.add(spec.channels)
        out.append((j, top / 2 ** j, spec))
    return out


# ------------------------------------------------------------------ one draw
def _flat_sup(cones, c: int, y: np.ndarray, z_star: np.ndarray, r: float) -> float:
    """The farthest distance (units of ||z*||, to the nearer of z* and -r z*) over cone
    c's set of stationary points when its quadratic is singular (inf if unbounded)."""
    M = cones.M[c]
    H, b = M.T @ M, M.T @ y
    vals, vecs = np.linalg.eigh(H)
    keep = vals > 1e-10 * max(vals[-1], 1e-300)
    if not keep.any():
        return math.inf                      # J constant on the whole (open) cone
    v, n = vecs[:, keep][:, 0], vecs[:, ~keep][:, 0]
    z0 = v * (v @ b) / vals[keep][0]
    lo, hi = -math.inf, math.inf
    for nrm in cones.normals()[c]:           # inward: nrm . (z0 + t n) > 0
        a, s = float(nrm @ n), float(nrm @ z0)
        if abs(a) < 1e-14:
            if s <= 0:
                return 0.0                   # the line misses the open cone
        elif a > 0:
            lo = max(lo, -s / a)
        else:
            hi = min(hi, -s / a)
    if not math.isfinite(lo) or not math.isfinite(hi):
        return math.inf
    if lo >= hi:
        return 0.0
    Z = z0 + np.linspace(lo, hi, FLAT_SAMPLES)[:, None] * n
    nz = float(np.linalg.norm(z_star))
    d = np.minimum(np.linalg.norm(Z - z_star, axis=1), np.linalg.norm(Z + r * z_star, axis=1))
    return float(d.max() / nz)


def conclusion(net, z_star: np.ndarray) -> dict:
    """Theorem 1's conclusion on one network and target, exactly (module docstring):
    eps_hat, whether the origin is a local maximum, and whether the draw fails."""
    from verify.geometry.cones import enumerate_cones
    from verify.geometry.stationary import stationary_points

    z_star = np.asarray(z_star, float)
    cones = enumerate_cones(net, max_cones=MAX_CONES)
    y = net.forward(z_star[None])[0]
    land = stationary_points(net, y, cones=cones)
    r = rho(net.spec.depth)
    pts = land.relative_to(z_star, r)
    dist = np.minimum(pts["dist_zstar"].to_numpy(), pts["dist_neg_rho"].to_numpy())
    flat = (pts["classification"] == "flat").to_numpy()
    for i in np.flatnonzero(flat):
        dist[i] = _flat_sup(cones, int(pts["cone"].iloc[i]), y, z_star, r)
    other = (pts["kind"] != "origin").to_numpy()
    eps_hat = float(dist[other].max()) if other.any() else 0.0
    origin = pts.loc[~other, "classification"]
    origin_max = bool(len(origin)) and origin.iloc[0] == "local maximum"
    return {"eps_hat": eps_hat, "origin_max": origin_max,
            "failed": bool(eps_hat > EPS_BALL or not origin_max),
            "n_stationary": int(other.sum()), "n_flat": int(flat.sum()),
            "n_cones": int(land.n_cones)}


def run_grid(template: NetworkSpec, law, steps, draws: int, rng) -> pd.DataFrame:
    """One row per (step, draw): the grid network's factors and the draw's conclusion.
    Step j draws from child j of ``rng`` (so --quick's steps repeat the full run's)."""
    from verify.weights import draw_network

    children = rng.spawn(max(STEPS) + 1)
    rows = []
    for j, target, spec in grid(template, steps):
        g = children[j]
        e = spec.expansivity()
        for k in range(draws):
            t0 = time.process_time()
            net = draw_network(spec, law, rng=g)
            z_star = g.standard_normal(2)
            rows.append({"step": j, "target": target, "expansion": min(e),
                         "expansions": ", ".join(f"{x:.3g}" for x in e),
                         "channels": "-".join(map(str, spec.channels)),
                         "width": spec.output_dim, "draw": k, **conclusion(net, z_star),
                         "cpu_s": time.process_time() - t0})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ statistics
def rates(draws: pd.DataFrame) -> pd.DataFrame:
    """Per grid step: failures, rate, exact interval, eps_hat quantiles, cost."""
    rows = []
    for j, g in draws.groupby("step", sort=False):
        n, f = len(g), int(g["failed"].sum())
        lo, hi = exact_interval(f, n, 1 - ALPHA)
        e = g["eps_hat"].to_numpy(float)
        rows.append({"step": int(j), "expansion": float(g["expansion"].iloc[0]),
                     "expansions": g["expansions"].iloc[0], "channels": g["channels"].iloc[0],
                     "width": int(g["width"].iloc[0]), "draws": n, "failures": f,
                     "rate": f / n, "ci_low": lo, "ci_high": hi,
                     "fail_balls": int((e > EPS_BALL).sum()),
                     "fail_origin": int((~g["origin_max"]).sum()),
                     "eps_median": _quantile(e, 0.5), "eps_q10": _quantile(e, 0.1),
                     "eps_q90": _quantile(e, 0.9),
                     "eps_infinite": int(np.isinf(e).sum()),
                     "cpu_s_per_draw": float(g["cpu_s"].mean())})
    # by expansion; among equal expansions the template side last (step 0 is the
    # template), so the "largest expansion" row is the template, not a narrower step
    return pd.DataFrame(rows).sort_values(["expansion", "step"], ascending=[True, False],
                                          kind="mergesort", ignore_index=True)


def _quantile(e: np.ndarray, q: float) -> float:
    """A quantile of eps_hat values that may be inf (no inf - inf interpolation)."""
    v = float(np.quantile(np.where(np.isinf(e), 1e300, e), q))
    return math.inf if v > 1e299 else v


def measured_threshold(table: pd.DataFrame, tau: float = TAU, *, by: str = "interval"):
    """The smallest grid expansion at which the failure rate is below tau: ``by=
    "interval"`` its exact interval's upper end is <= tau; ``by="point"`` the rate itself
    is < tau. A dict (expansion, rate, ci_low, ci_high, step) or None if no step
    qualifies. ``table``: columns expansion, rate, ci_low, ci_high (and step)."""
    if by not in ("interval", "point"):
        raise ValueError(f"by: 'interval' or 'point', got {by!r}")
    t = table.sort_values("expansion", kind="mergesort")  # stable: ties keep rates' order
    ok = t["ci_high"] <= tau if by == "interval" else t["rate"] < tau
    if not ok.any():
        return None
    row = t[ok].iloc[0]
    return {k: (float(row[k]) if k != "step" else int(row[k]))
            for k in ("expansion", "rate", "ci_low", "ci_high", "step") if k in row}


def fit_eps(draws: pd.DataFrame, rng, n_boot: int = BOOTSTRAP) -> dict:
    """log eps_hat = a + b log(width) by least squares over draws with a finite eps_hat
    > 0, and a percentile bootstrap interval on b (draws resampled within each step)."""
    d = draws[np.isfinite(draws["eps_hat"]) & (draws["eps_hat"] > 0)]
    out = {"a": math.nan, "b": math.nan, "b_low": math.nan, "b_high": math.nan,
           "draws_fitted": int(len(d)), "draws_left_out": int(len(draws) - len(d)),
           "bootstrap": n_boot}
    if d["width"].nunique() < 2:
        return out
    x, y = np.log(d["width"].to_numpy(float)), np.log(d["eps_hat"].to_numpy(float))
    b, a = np.polyfit(x, y, 1)
    groups = [np.flatnonzero(d["step"].to_numpy() == s) for s in d["step"].unique()]
    idx = np.concatenate([g[rng.integers(0, len(g), size=(n_boot, len(g)))] for g in groups],
                         axis=1)                                   # (n_boot, n)
    X, Y = x[idx], y[idx]
    xc = X - X.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        bs = (xc * (Y - Y.mean(axis=1, keepdims=True))).sum(axis=1) / (xc ** 2).sum(axis=1)
    bs = bs[np.isfinite(bs)]
    lo, hi = np.quantile(bs, [ALPHA / 2, 1 - ALPHA / 2]) if bs.size else (math.nan,) * 2
    out.update(a=float(a), b=float(b), b_low=float(lo), b_high=float(hi))
    return out


# ------------------------------------------------------------------ the check
def _requires(config) -> str | None:
    """Why the check does not apply (None when it does)."""
    spec = config.spec
    if config.loader is not None:
        return "fixed (loaded) weights: the check draws many networks from a weight law"
    if spec.latent_channels != 2 or spec.latent_size != 1:
        return (f"needs a latent of C_0 = 2 channels at one position (exact stationary set "
                f"of a 2-D latent; log C_0 > 0), not {spec.latent_channels} x "
                f"{spec.latent_size}^{spec.dims}")
    if spec.depth < 2:
        return "needs at least 2 layers (Theorem 1's expansion condition is per layer)"
    for i, l in enumerate(spec.layers):
        if l.activation not in ACTIVATIONS:
            return (f"layer {i} has a {l.activation} activation: the exact stationary set "
                    "needs ReLU or leaky ReLU (Theorem 1 is stated for ReLU)")
        if l.affine:
            return f"layer {i} has a bias: G is not positively homogeneous"
        if l.stride != l.kernel or l.padding:
            return (f"layer {i} has stride {l.stride}, kernel {l.kernel}, padding "
                    f"{l.padding}: Theorem 1 assumes stride = kernel, no padding")
    if any(c < 2 for c in spec.channels[1:-1]):
        return "a hidden layer with one channel: C log C = 0, the expansion factor is undefined"
    if config.mask.kind != "full":
        return (f"the mask is {config.mask.kind}: Theorem 1 is stated for A = I (Theorem 4 "
                "covers subsampling)")
    return None


def check(instance, *, rng, quick):
    """The grid of Theorem 1's conclusion over draws (module docstring)."""
    cfg = instance.config
    t0 = time.process_time()
    steps = QUICK_STEPS if quick else STEPS
    draws = run_grid(cfg.spec, cfg.weights, steps, DRAWS, rng)
    table = rates(draws)
    fit = fit_eps(draws, rng)
    top, low = table.iloc[-1], table.iloc[0]
    crit, fields = judge_draws(
        ["fails" if f else "holds" for f in draws.loc[draws["step"] == top["step"], "failed"]],
        RULE)
    headline = replace(crit, name="top_failure_rate", note=(
        f"at the largest grid expansion {top['expansion']:.3g} ({top['channels']}): "
        + crit.note + f"; a draw fails when a stationary point other than the origin lies "
        f"farther than {EPS_BALL:g} ||z*|| from z* and -rho_d z*, or the origin is not a "
        "local maximum; no finite ceiling"))
    rise = Criterion(
        "rate_does_not_rise", float(top["ci_low"]), float(low["ci_high"]), "<=", note=(
            f"lower end of the 95% interval at the largest expansion {top['expansion']:.3g} "
            f"vs the upper end at the smallest {low['expansion']:.3g}; trivially met when the "
            "smallest step fails on every draw"))
    thr = measured_threshold(table)
    thr_point = measured_threshold(table, by="point")
    details = {
        "eps_ball": EPS_BALL, "rho_d": rho(cfg.spec.depth), "tau": TAU, "alpha": ALPHA,
        "template": "-".join(map(str, cfg.spec.channels)),
        "template_expansions": list(cfg.spec.expansivity()),
        "threshold": thr, "threshold_point": thr_point,
        "theorem_condition": {
            "statement": "C_i l^dims >~ C_{i-1} log C_{i-1}: expansion factor >= c, c unstated",
            "met_from_c1": _first(table, 1.0), "met_from_c4": _first(table, 4.0)},
        "threshold_summary": _threshold_text(table, thr, thr_point),
        "eps_fit": fit, "top": fields,
        "grid": table[["expansion", "channels", "width", "draws", "failures", "rate", "ci_low",
                       "ci_high", "eps_median", "eps_q90"]].to_dict(orient="records"), "steps": [int(s) for s in table["step"]],
        "probability_note": "Theorem 1's failure bound kappa (D1 C1 e^{-gamma C0} + D2 C2 "
                            "e^{-gamma C1}) keeps a term in C0 = 2 that does not shrink with width",
        "cpu_s": time.process_time() - t0}
    return Outcome(headline=headline, criteria=(rise,), n_samples=len(draws), details=details,
                   table=table, tables={"grid": table, "draws": draws,
                                        "eps_fit": pd.DataFrame([fit])},
                   settings={"steps": list(steps), "draws": DRAWS, "eps_ball": EPS_BALL,
                             "tau": TAU, "bootstrap": BOOTSTRAP})


def _first(table: pd.DataFrame, c: float):
    """The smallest grid expansion meeting E >= c (None if none)."""
    e = table.loc[table["expansion"] >= c, "expansion"]
    return float(e.min()) if len(e) else None


def _threshold_text(table, thr, thr_point) -> str:
    top = table.iloc[-1]
    if thr is None:
        s = (f"the failure rate's interval does not fall below tau = {TAU:g} on the grid (up "
             f"to expansion {top['expansion']:.3g}: {int(top['failures'])}/{int(top['draws'])}"
             f" fail, [{top['ci_low']:.3f}, {top['ci_high']:.3f}])")
    else:
        s = (f"rate below tau = {TAU:g} (interval) from expansion {thr['expansion']:.3g}: "
             f"{thr['rate']:.3f} [{thr['ci_low']:.3f}, {thr['ci_high']:.3f}]")
    if thr_point is not None:
        s += f"; point estimate below tau from {thr_point['expansion']:.3g}"
    return s + "; Theorem 1's condition: expansion >= c (c unstated)"


# ------------------------------------------------------------------ registration
def _small(law: str, c1: int, k1: int, c2: int, k2: int, name: str, **kw):
    from verify.measurements import MaskSpec
    from verify.presets import Config
    from verify.weights import WeightLaw

    spec = NetworkSpec(dims=1, latent_channels=2, layers=(
        LayerSpec(c1, k1, k1), LayerSpec(c2, k2, k2)))
    return Config(name, spec, WeightLaw(law), MaskSpec("full", 1.0), **kw)


def counter_configs():
    """Small latent-2 stride = kernel templates with U[0, 1] weights (Fig. 4(d)): G = 0 on
    the negative quadrant, a whole cone of stationary points at every expansion."""
    from hypothesis import strategies as st

    def build(c1, k1, c2, k2):
        return _small("uniform01", c1, k1, c2, k2, f"expansion-u01-{c1}k{k1}-{c2}k{k2}",
                      counterexample=True, description="U[0, 1] weights")

    return st.builds(build, st.integers(2, 4), st.sampled_from((2, 4)), st.integers(2, 8),
                     st.sampled_from((2, 4)))


KNOWN_BAD = (
    KnownBad("U[0,1] weights",
             _small("uniform01", 4, 4, 8, 4, "expansion-knownbad-uniform01", counterexample=True,
                    description="2 -> 4 k4 -> 8 k4, ReLU, U[0, 1] weights"),
             "non-zero-mean weights (Fig. 4(d)): every weight is positive, so G = 0 on the "
             "negative quadrant of the latent, a whole cone of stationary points (eps_hat = "
             "inf) and an origin that is not a local maximum, at every expansion"),
    KnownBad("contracting template",
             _small("gaussian", 8, 1, 1, 1, "expansion-knownbad-contracting",
                    counterexample=True, description="2 -> 8 k1 -> 1 k1, ReLU, N(0, 1/(C_i l))"),
             "the last layer contracts (expansion factor 1 / (8 log 8) = 0.06, below 1 on the "
             "whole grid): one output for a 2-D latent, so J's zero set is a curve through z* "
             "reaching far outside both balls on every draw"),
)

from lemmas._expansion_figures import FIGURES  # noqa: E402  (figures read the tables only)

register("expansion",
         statement="Theorem 1's conclusion (every stationary point but the origin within "
                   "eps ||z*|| of z* or -rho_d z*; the origin a local maximum) holds with high "
                   "probability once the expansion factor C_i l^dims / (C_{i-1} log C_{i-1}) "
                   "is large enough",
         reference="Theorem 1 (probability and expansion condition)",
         presets={"theory-2layer-latent2": "pass"},
         # No configs(): the statement is asymptotic (an unstated constant), and the
         # finding (lemmas/findings/thm1-probability.toml) shows the rate at affordable
         # widths; counter_configs() keeps the power test on U[0, 1] templates.
         check=check, configs=None, counter_configs=counter_configs, figures=FIGURES,
         findings=(), cost=115.0, requires=_requires, known_bad=KNOWN_BAD,
         judged=f"its own network draws: {DRAWS} per expansion factor, {len(STEPS)} factors "
                f"({len(QUICK_STEPS)} with --quick); failure rate at the largest <= {TAU:g}; "
                "--draws does not apply")
