"""Theorem 4: invertibility from partial measurements (MATH.md sections 2 and 7).

With A a subsampling matrix of rate r, y = A G(z*) = sigma(A W_d sigma(... W_1 z*)), and
Theorem 1's landscape argument goes through with A W_d as the last layer (its blocks
keep a subset of their rows). The check runs the recovery itself:

1. at the check rate (the preset's rate; 0.5, the paper's half masks, when the preset
   observes everything), for every sampling pattern (random, top, bottom, left, right,
   border, centre; 1-D: random, top, bottom, border, centre), the success probability of
   gradient descent with the negation safeguard, with its 95% Wilson interval. Verdict:
   every pattern's 95% lower bound is >= P_MIN;
2. next to it, the rows kept per block of the last layer (stride = kernel: block p is the
   C_d l^dims outputs of input position p), the quantity Theorem 4's dimension condition
   is about;
3. the phase transition: success against the actual sampling rate per pattern, a logistic
   ML fit and r_50 with a profile-likelihood interval. The paper's observations become
   criteria: success does not drop significantly as r rises (Wilson intervals), and no
   contiguous pattern needs a significantly LOWER r_50 than random sampling (profile
   intervals that separate the wrong way). Where random's interval lies wholly below a
   pattern's, the observation is confirmed and said so; overlapping intervals (e.g. a
   pattern that already succeeds at its smallest possible mask, one row or column) are
   reported as inconclusive;
4. recovery error against measurement noise (reported, with its log-log slope);
5. the second solver, Lei et al.'s layer-wise LP, on a few of the same trials (reported).

Randomness. Step 1 is the standard recovery experiment, one
:func:`~verify.inversion.run_recovery` per pattern on the instance's own streams (masks
and z* from the ``check`` stream, in run_recovery's order): each pattern's row is
exactly ``verify invert --mask KIND --rate R --trials N --method gd --iterations 300
--negation flip --seed S`` on the same preset, and the contiguous patterns, which draw
no mask, see the same z* and starts (a paired comparison). The phase grid and the noise
sweep (:mod:`verify.phase`: many (pattern, rate) or noise points in one batch) draw
from ``rng.spawn(2)``, independent of step 1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from verify.inversion import invert_lp, measure, relative_errors
from verify.inversion.experiment import InvertOptions, RecoveryResult, run_recovery
from verify.measurements import kinds_for
from verify.phase import noise_sweep, phase_transition
from verify.presets import Config, Instance
from verify.registry import KnownFinding, register
from verify.results import Criterion, Outcome
from verify.stats import wilson_interval

#: Success is claimed with high probability (Theorem 4 via Theorem 1's landscape plus
#: the negation safeguard): the verdict asks the 95% Wilson lower bound on the success
#: probability to reach P_MIN = 0.75 for every pattern (40/40 gives 0.912, 36/40 0.77).
P_MIN = 0.75
#: Success iff ||z_hat - z*|| / ||z*|| <= SUCCESS_TOL (recovery is bimodal: ~1e-8 or O(1)).
SUCCESS_TOL = 1e-3
#: The solver: gradient descent, per-trial steps, Huang et al.'s per-iteration flip.
SOLVER = dict(method="gd", iterations=300, negation="flip")
#: Trials: per pattern at the check rate, and per (pattern, rate) point of the phase grid.
TRIALS = {False: 40, True: 20}
PHASE_TRIALS = {False: 10, True: 6}
PHASE_RATES = {False: (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
               True: (0.005, 0.02, 0.1, 0.5)}
NOISE_TRIALS = {False: 10, True: 5}
NOISE_LEVELS = (1e-4, 1e-3, 1e-2, 1e-1)
#: Trials of the LP solver (Lei et al. 2019) on the random pattern, for comparison only.
LP_TRIALS = {False: 5, True: 2}


def check_rate_of(config: Config) -> float:
    """The preset's rate, or the paper's half when the preset observes everything
    (:attr:`MaskSpec.partial_rate <verify.measurements.MaskSpec.partial_rate>`)."""
    return config.mask.partial_rate


def rows_per_block(spec, masks: np.ndarray) -> np.ndarray | None:
    """Rows of A W_d kept in each block of the last layer, per trial: ``(b, D^dims)``.

    Stride = kernel, no padding (Fig. 2(b)): block p holds the C_d l^dims outputs of
    input position p. None for other strides (the blocks are not defined).
    """
    layer = spec.layers[-1]
    if not layer.is_block:
        return None
    c, d, l = spec.channels[-1], spec.sizes[-2], layer.kernel
    b = masks.shape[0]
    if spec.dims == 1:
        return masks.reshape(b, c, d, l).sum(axis=(1, 3))
    return masks.reshape(b, c, d, l, d, l).sum(axis=(1, 3, 5)).reshape(b, -1)


def _requires(config: Config) -> str | None:
    if config.mask.kind == "gaussian":
        return "Theorem 4 is about subsampling masks, not Gaussian measurements"
    return None


# ---------------------------------------------------------------- configurations
def _architectures():
    """1-D, stride = kernel = 4, latent 3-4 channels, 16-24 channels in layer 1 and an
    expansion C_i l / C_{i-1} >= 12 in both layers. Smaller ones (latent 2, C_1 <= 10)
    were seen to fail recovery under contiguous half masks: the theorem needs width."""
    from verify.strategies import conv_architectures

    return conv_architectures(min_layers=2, max_layers=2, strides="kernel", dims=(1,),
                              min_latent_channels=3, max_latent_channels=4,
                              min_channels=16, max_channels=24, min_kernel=4, max_kernel=4,
                              min_expansion=12, max_output=1024)


def configs():
    """Wide expansive Gaussian networks, half of the output observed at random."""
    from verify.measurements import MaskSpec
    from verify.weights import WeightLaw

    return _architectures().map(
        lambda spec: Config("partial-strategy", spec, WeightLaw("gaussian"),
                            MaskSpec("random", 0.5)))


def counter_configs():
    """The same architectures with U[0, 1] weights (Fig. 4(d)): not identifiable."""
    from verify.measurements import MaskSpec
    from verify.weights import WeightLaw

    return _architectures().map(
        lambda spec: Config("partial-counter", spec, WeightLaw("uniform01"),
                            MaskSpec("random", 0.5), counterexample=True))


# ---------------------------------------------------------------- the steps
def recovery_options(kind: str, rate: float, quick: bool) -> InvertOptions:
    """The options of step 1's recovery of one pattern (:data:`SOLVER`, :data:`TRIALS`)."""
    return InvertOptions(kind=kind, rate=rate, trials=TRIALS[quick], method=SOLVER["method"],
                         iterations=SOLVER["iterations"], negation=SOLVER["negation"],
                         success_tol=SUCCESS_TOL)


def recover_every_pattern(instance: Instance, rate: float, quick: bool):
    """Theorem 4 (with Theorem 1's landscape and the negation safeguard): gradient
    descent recovers z* from A G(z*) at rate r with high probability, for every sampling
    pattern. One :func:`run_recovery` per pattern on the instance's streams; verdict per
    pattern: the 95% Wilson lower bound on the success probability is >= P_MIN. Next to
    it, the rows of A W_d kept per block of the last layer (Theorem 4's condition).

    Returns the per-pattern table, its criteria, the headline and the runs."""
    net, config = instance.network, instance.config
    spec = net.spec
    runs = [run_recovery(config, recovery_options(kind, rate, quick), instance.streams,
                         instance=instance) for kind in kinds_for(spec.dims)]
    prev = spec.channels[-2]
    need = prev * math.log(prev) if prev > 1 else float("nan")
    rows, criteria = [], []
    for run in runs:
        st, kind, trials = run.stats, run.mask.kind, run.options.trials
        masks = run.masks
        s = int(st.success.sum())
        lo, hi = wilson_interval(s, trials)
        row = {"kind": kind, "rate": rate, "actual_rate": float(masks.mean()),
               "trials": trials, "recovered": s, "success_rate": s / trials,
               "ci_low": lo, "ci_high": hi,
               "median_rel_error": float(np.median(st.rel_error)),
               "max_rel_error": float(np.max(st.rel_error)),
               "converged": int(st.result.converged.sum()),
               "median_iterations": float(np.median(st.result.iterations))}
        kb = rows_per_block(spec, masks)
        if kb is not None:
            row.update({"min_rows_per_block": int(kb.min()),
                        "median_rows_per_block": float(np.median(kb)),
                        "full_block_rows": spec.channels[-1] * spec.layers[-1].kernel ** spec.dims,
                        "C_prev_log_C_prev": need,
                        "min_rows_over_C_log_C": float(kb.min() / need) if need == need else None})
        rows.append(row)
        criteria.append(Criterion(f"success lower bound [{kind}]", lo, P_MIN, ">=",
                                  f"{s}/{trials} recovered at rate {rate:g}"))
    table = pd.DataFrame(rows)
    worst = int(np.argmin(table.ci_low.to_numpy()))
    headline = Criterion("min success lower bound over patterns", float(table.ci_low.min()),
                         P_MIN, ">=", f"worst pattern: {table.kind.iloc[worst]}")
    return table, criteria, headline, runs


def phase_transition_step(net, quick: bool, rng):
    """Sec. 3's observations on r (and Sec. 4.2): success rises with the sampling rate
    (no significant drop between Wilson intervals), and dispersed (random) sampling needs
    no more measurements than contiguous patterns (no r_50 profile interval separating
    the wrong way). Returns the phase result, its criteria and the comparison details."""
    kinds = kinds_for(net.spec.dims)
    rates = PHASE_RATES[quick]
    ph = phase_transition(net, kinds=kinds, rates=rates, trials=PHASE_TRIALS[quick],
                          rng=rng, success_tol=SUCCESS_TOL, **SOLVER)
    fits = ph.fits
    drop = float(fits.monotone_drop.max())
    criteria = [Criterion("monotone rise: largest significant drop of success with r",
                          drop, 0.0, "<=", "max over r_i < r_j of ci_low(r_i) - ci_high(r_j)")]
    rnd = fits[fits.kind == "random"].iloc[0]
    contiguous = fits[fits.kind != "random"]
    comparison, reversal = {}, []
    for _, f in contiguous.iterrows():
        if rnd.r50_high < f.r50_low:
            comparison[f.kind] = "random lower (intervals separate)"
        elif rnd.r50_low > f.r50_high:
            comparison[f.kind] = "random HIGHER (intervals separate)"
        else:
            comparison[f.kind] = ("inconclusive: intervals overlap"
                                  + (f" ({f.kind} censored {f.censored})" if f.censored else ""))
        reversal.append(float(rnd.r50_low - f.r50_high))
    dispersed_stat = float(max(reversal))
    criteria.append(Criterion(
        DISPERSED,
        dispersed_stat, 0.0, "<=",
        f"random lower with separated intervals for "
        f"{sum(v.startswith('random lower') for v in comparison.values())}/{len(comparison)} patterns"))
    details = {"rates": list(rates), "trials_per_point": PHASE_TRIALS[quick],
               "fits": fits.to_dict(orient="records"),
               "random_vs_contiguous": comparison,
               "dispersed_stat": dispersed_stat, "monotone_drop": drop,
               "elapsed_s": ph.settings["elapsed_s"]}
    return ph, criteria, details


def noise_step(net, rate: float, quick: bool, rng):
    """Theorem 4 is stated without noise; the recovery error against measurement noise
    (random pattern at the check rate) is reported with its log-log slope, not judged."""
    return noise_sweep(net, kind="random", rate=rate, sigma_rel=NOISE_LEVELS,
                       trials=NOISE_TRIALS[quick], small=1e-2, rng=rng, **SOLVER)


def lp_comparison(net, run: RecoveryResult, quick: bool) -> dict | None:
    """The second solver (Lei et al. 2019, layer-wise LP) on the first trials of the
    random pattern's recovery (reported; ReLU networks without affine layers only)."""
    spec = net.spec
    if not all(l.activation == "relu" and not l.affine for l in spec.layers):
        return None
    k = LP_TRIALS[quick]
    z_star, masks = run.stats.z_star[:k], run.masks[:k]
    lp = invert_lp(net, measure(net, z_star, masks), masks)
    e_lp = relative_errors(lp.z_hat, z_star)
    return {"trials": k, "pattern": run.mask.kind, "rate": run.mask.rate,
            "lp_recovered": int(np.sum(e_lp <= SUCCESS_TOL)),
            "descent_recovered": int(run.stats.success[:k].sum()),
            "lp_median_rel_error": float(np.median(e_lp)),
            "lp_elapsed_s": lp.elapsed_s,
            "note": "the LP needs every layer's observed positive rows to determine its "
                    "input (an expansive, well observed layer); descent does not"}


# ---------------------------------------------------------------- the check
def check(instance, *, rng, quick):
    """Theorem 4 at the check rate (step 1, the verdict's headline), Sec. 3's
    observations on the rate (step 2), noise and the LP solver (reported)."""
    net, config = instance.network, instance.config
    spec = net.spec
    rate = check_rate_of(config)
    r_phase, r_noise = rng.spawn(2)
    table, criteria, headline, runs = recover_every_pattern(instance, rate, quick)
    ph, crit_phase, phase_details = phase_transition_step(net, quick, r_phase)
    criteria += crit_phase
    nz = noise_step(net, rate, quick, r_noise)
    prev = spec.channels[-2]
    need = prev * math.log(prev) if prev > 1 else float("nan")
    has_blocks = "min_rows_per_block" in table
    details = {
        "check_rate": rate,
        "lp_vs_descent": lp_comparison(net, runs[0], quick), "success_tol": SUCCESS_TOL,
        "p_min": P_MIN,
        "solver": {**SOLVER, "lr": "per trial, 1/(2 ||A G(z0)||^2/||z0||^2), halved on a rise",
                   "tol": runs[0].stats.result.settings["tol"], "init": "N(0, I)",
                   "z_star": "N(0, I)"},
        "recovery": {"experiment": "run_recovery per pattern on the instance's streams",
                     "options": recovery_options("random", rate, quick).to_dict()},
        "per_pattern": table.to_dict(orient="records"),
        "rows_per_block": (None if not has_blocks else {
            "last_layer_block_rows": spec.channels[-1] * spec.layers[-1].kernel ** spec.dims,
            "C_prev_log_C_prev": need,
            "min_by_pattern": dict(zip(table.kind, table.min_rows_per_block.astype(int))),
            "note": "Theorem 4 asks every block of A W_d to stay expansive; patterns with "
                    "min 0 leave whole blocks unobserved, so the theorem's sufficient "
                    "condition fails for them even where recovery succeeds"}),
        "rows_per_block_note": None if has_blocks else
            "last layer stride != kernel: the block-diagonal form (Fig. 2(b)) is not defined",
        "phase": phase_details,
        "noise": {"slope": nz.slope, "slope_low": nz.slope_low, "slope_high": nz.slope_high,
                  "small_noise_levels": nz.small_noise_levels,
                  "signal_rms": nz.settings["signal_rms"], "trials": NOISE_TRIALS[quick]},
    }
    settings = {"trials_per_pattern": TRIALS[quick], "phase_trials": PHASE_TRIALS[quick],
                "phase_rates": list(PHASE_RATES[quick]), "noise_trials": NOISE_TRIALS[quick],
                "noise_levels": list(NOISE_LEVELS), "kinds": list(table.kind),
                "check_rate": rate, "success_tol": SUCCESS_TOL, "p_min": P_MIN, **SOLVER}
    n = int(sum(r.options.trials for r in runs) + len(ph.table) * PHASE_TRIALS[quick]
            + len(NOISE_LEVELS) * NOISE_TRIALS[quick])
    return Outcome(headline=headline, criteria=tuple(criteria), n_samples=n, details=details,
                   table=table, tables={"phase": ph.table, "phase_fits": ph.fits,
                                        "noise": nz.table},
                   settings=settings)


# ---------------------------------------------------------------- figures
def figure_phase(result):
    """Success against the actual sampling rate per pattern, with r_50 (dotted)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = result.tables.get("phase")
    fits = result.tables.get("phase_fits")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if t is None or t.empty:
        ax.text(0.5, 0.5, "no phase table", ha="center")
        return fig
    palette = dict(zip(t.kind.unique(), sns.color_palette("tab10", t.kind.nunique())))
    for kind, g in t.groupby("kind", sort=False):
        g = g.sort_values("actual_rate")
        col = palette[kind]
        ax.errorbar(g.actual_rate, g.success_rate,
                    yerr=[g.success_rate - g.ci_low, g.ci_high - g.success_rate],
                    fmt="o-", color=col, capsize=2, lw=1, ms=3, label=kind)
        if fits is not None:
            f = fits[fits.kind == kind]
            if len(f) and not f.censored.iloc[0]:
                ax.axvline(f.r50.iloc[0], color=col, ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("actual sampling rate m/n")
    ax.set_ylabel("success probability (95% Wilson)")
    ax.set_title(f"Theorem 4: recovery vs sampling rate [{result.preset}] (dotted: r_50)")
    ax.legend(fontsize=7, ncol=2)
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig


def figure_noise(result):
    """Recovery error against measurement noise (mean with 95% t interval, median)."""
    import matplotlib.pyplot as plt

    t = result.tables.get("noise")
    fig, ax = plt.subplots(figsize=(5, 4))
    if t is None or t.empty:
        ax.text(0.5, 0.5, "no noise table", ha="center")
        return fig
    ax.errorbar(t.sigma_rel, t.mean_rel_error,
                yerr=[t.mean_rel_error - t.mean_low, t.mean_high - t.mean_rel_error],
                fmt="o-", capsize=2, label="mean (95% t)")
    ax.plot(t.sigma_rel, t.median_rel_error, "s--", label="median")
    ax.set_xscale("log")
    ax.set_yscale("log")
    slope = result.details.get("noise", {}).get("slope")
    ax.set_xlabel("noise sigma / RMS(A G(z*))")
    ax.set_ylabel("||z_hat - z*|| / ||z*||")
    ax.set_title(f"recovery error vs noise, slope {slope:.3g}" if slope else "recovery error vs noise")
    ax.legend(fontsize=8)
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig


FIGURES = (figure_phase, figure_noise)
#: The criterion of Sec. 3's first observation (dispersed patterns need a lower r).
DISPERSED = ("dispersed sampling is not beaten: max over contiguous of r50_low(random) - "
             "r50_high(kind)")

FINDINGS = (
    KnownFinding(
        preset="paper-fig4",
        differs="a centred block needs fewer measurements than uniform random sampling: "
                "its r50 interval lies below random's, against Sec. 3's observation that "
                "spatially dispersed patterns require a lower r",
        why="the paper's aggressive examples (top and left halves, image borders) do need "
            "more measurements than random here; the centred block, which the paper does "
            "not name, needs fewer on this network draw. With 10 trials per grid point the "
            "intervals used to overlap (a pass for lack of power); at 100 trials per point "
            "they separate",
        evidence="seed 0: statistic +0.015 full, +0.004 --quick (bound <= 0), only against "
                 "centre. Random vs centre at 100 trials per rate point: seed-0 network r50 "
                 "0.026 [0.024, 0.029] vs 0.0095 [0.002, 0.014]; seed-1 network 0.0273 "
                 "[0.025, 0.030] vs 0.0207 [0.019, 0.022]; seed-2 network: intervals overlap",
        replay="verify check partial --preset paper-fig4 --seed 0",
        seeds=(0,), criteria=(DISPERSED,)),
)

register("partial",
         statement="gradient descent recovers z* from a subsampled output at the preset's "
                   "rate for every sampling pattern; success rises with the rate (phase "
                   "transition), dispersed sampling needs fewer measurements",
         reference="Theorem 4, Sec. 3 (observations on r), Sec. 4.2",
         presets={"theory-2layer": "pass", "paper-fig4": "pass",
                  "paper-fig4-uniform01": "fail"},
         check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
         findings=FINDINGS, cost=4.0, requires=_requires)
