"""Conjecture 3: the conclusions hold for any zero-mean subgaussian weight law.

Two steps, both on the conjecture as the paper states it.

1. **The conjecture's own definition of subgaussian**, P(|x| > t) <= c exp(-gamma t^2)
   for all t > 0 (Conjecture 3), checked per law on samples (:func:`tail_fit`, lemmas/README.md,
   section 8). With c free, the definition says that the local slope of -log P(|x| > t)
   against t^2 stays bounded away from 0 as t grows. For each law, standardised to unit
   variance, :data:`TAIL_SAMPLES` draws give the slope gamma on a near window
   (exceedance probability 1e-1 to 1e-2) and a far one (1e-3 to 1e-4), each with a
   distribution-free interval (order statistics, Bonferroni over the four quantiles:
   >= 95% jointly), and their ratio R = gamma_far / gamma_near. A tail
   exp(-gamma t^alpha) gives R ~ (t_far / t_near)^(alpha - 2): at these windows 0.91
   for the Gaussian (alpha = 2, with its log t correction), 0.75 for alpha = 1.5, 0.43
   for alpha = 1 (Laplace; the centred exponential: 0.35), and R > 1 for a bounded law.
   Classification, fixed before the runs: ``subgaussian`` when R's interval lies above
   :data:`R_MIN` = 0.75, ``not subgaussian`` when it lies below, ``undecided`` otherwise.
   A sample sees the tail only up to its far window: a law can be called subgaussian
   here and still be heavier beyond t(1e-4) (the exact tails, ``gamma_exact_*``, are
   listed beside the fit for the laws whose CDF is known). Two criteria: the fit's own
   control (:data:`TAIL_CONTROLS`: the Gaussian must come out subgaussian and a Laplace
   law, a reference tail exp(-sqrt 2 t) that is not a weight law, not), and
   :data:`PAPER_EXAMPLES` (every law the paper names as subgaussian: bounded laws,
   uniform, +-1, the exponential distribution) is subgaussian by the definition. The
   centred exponential, P(|x| > t) = exp(-1 - t) for t >= 1 (unit variance), has
   gamma(t) = (1 + t)/t^2 -> 0: it is not, a registered finding of statement
   ``conj3-examples`` (``lemmas/findings/conj3-examples.toml``).
2. **Theorem 1's conclusion per law.** The concentration (Lemma Sup.2), angle
   (Lemma Sup.4) and descent (Theorem 1) checks (:data:`RERUNS`) are rerun on the same
   architecture and mask with each weight law of lemmas/README.md, section 0 and
   :mod:`verify.weights`: ``gaussian`` (Theorem 1's law), ``rademacher``, ``uniform``,
   ``triangular`` (a symmetric bounded law), ``truncated_gaussian`` and
   ``centred_exponential`` (zero mean, the same variance; :data:`ZERO_MEAN`) and
   ``uniform01`` (U[0, 1], not zero-mean: the negative control of Fig. 4(d)).

Verdict: every zero-mean law passes every rerun check, and uniform01 fails at least
one (the control works: the checks can tell the laws apart); the tail fit's controls
are classified correctly and the paper's examples are subgaussian.

What "passes" means for a law. Conjecture 3 claims Theorem 1's conclusion, not the
Gaussian proof's identities. One criterion family of the concentration check is
Gaussian-only by its statement (lemmas/README.md, section 2: E[B_{+,u}^T B_{+,v}] = Q_{u,v}
"for B with i.i.d. N(0, 1/m) entries"; it follows from rotation invariance), and so
is the prediction that ||B_{+,u}^T B_{+,v} - Q_{u,v}|| falls like m^-1/2, which needs
E = Q. For Rademacher rows the expectation differs from Q by a bias no width
removes: with u = e1, v = e2, E[1[g1 > 0] 1[g2 > 0] g1 g2] = 1/4 against Q's
off-diagonal 1/(2 pi) = 0.159. Those criteria (:data:`GAUSSIAN_ONLY`: the Monte Carlo
test of E = Q and the m^-1/2 scaling slope) are reported for every law but do not
count against a zero-mean law; everything else, the WDC headline eps_hat <= bound
included, does. The table keeps both
verdicts (``passed``: every criterion; ``conclusion_passed``: the rule above) and each
rerun's three-state ``verdict`` and ``conclusion`` (holds / fails / uninformative /
error). An uninformative rerun (a criterion whose bound is at or past its trivial
ceiling) never counts as holding; it is not a failure either, and when no rerun of a
group failed but some were uninformative, that group's criterion is uninformative.

How the reruns run. This module declares the checks it reruns (``register(...,
reruns=RERUNS)``) and receives their results from the registry
(:class:`verify.registry.Reruns`), instead of seeding and calling ``run_check`` itself:
the registry runs the j-th declared check on ``streams.task(j)``, a child of the
streams this check was given (so it works the same inside a sweep task, whose streams
have no integer seed), and each cell's result keeps its seed (``0/3.2``), which
``verify check descent --config ... --seed 0/3.2`` replays. All seven laws of one check
share its streams (common random numbers: the same masks and check draws, the weights
drawn by each law from the same stream), so the laws are compared on equal terms; the
three checks are independent of each other and of this check's own instance.

Judged on one network draw (no ``DrawRule``). Conjecture 3 is a probabilistic statement
like the ones it reruns, but one run of this check is 21 whole checks (three checks
x seven laws, about 30 CPU-s at theory-2layer with --quick); the 40 or more draws a
tolerance of 0.1 needs would take over 20 CPU-minutes per preset. The reruns themselves
are single draws too (``Reruns`` runs them with ``draws=1``); the multi-draw verdicts of
the WDC, the angle lemmas and Theorem 1 for Gaussian weights are those checks' own rows.

Known-bad configurations (``KNOWN_BAD``). The check replaces the configuration's weight
law by each of its seven laws, so a configuration cannot break the conjecture through
its law (a U[0, 1] or heavy-tailed configuration is run exactly as a Gaussian one; the
weight module has no heavy-tailed law anyway, and U[0, 1] is the control inside every
run). What a configuration can break is the hypothesis Conjecture 3 keeps from
Theorem 1: expansive layers. On a contracting network the zero-mean laws must not pass.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from verify import settings as user_settings
from verify.presets import Config, Instance
from verify.registry import Reruns, register
from verify.results import Criterion, Outcome
from verify.spec import block_spec
from verify.verdicts import KnownBad
from verify.weights import LAWS, WeightLaw

from ._subgaussian_figures import figure_laws, figure_tails

#: The checks Conjecture 3 is about, in proof order (the registry reruns them).
RERUNS = ("concentration", "angle", "descent")
#: Criteria (by check, name prefix) that test identities stated for Gaussian weights
#: only (see the module docstring).
GAUSSIAN_ONLY = {"concentration": ("mc_", "scaling_slope_dev")}
#: Zero-mean laws (Conjecture 3) and the negative control.
ZERO_MEAN = ("gaussian", "rademacher", "uniform", "triangular", "truncated_gaussian",
             "centred_exponential")
CONTROL = "uniform01"
#: What a config file may set in its [checks.subgaussian] table (verify.settings): the
#: laws tried (an unknown name is bad input, listing the allowed ones).
SETTINGS = {
    "laws": user_settings.names(
        ZERO_MEAN + (CONTROL,), "weight laws tried (tail fit and the three reruns); "
        f"{CONTROL}, the negative control, is always added", LAWS,
        check=lambda laws: any(law != CONTROL for law in laws),
        condition=f"at least one other than {CONTROL}"),
}


def _laws(settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The zero-mean laws tried and all laws (the control last), from the settings."""
    chosen = user_settings.values(SETTINGS, settings)["laws"]
    zero = tuple(law for law in chosen if law != CONTROL)
    return zero, zero + (CONTROL,)

# ---------------------------------------------------------------- step 1: tails
#: Draws per law for the tail fit (the same with --quick: about 0.4 s per law): the far
#: window's smaller end (exceedance 1e-4) keeps 400 sample points beyond it. With 1e6
#: the Gaussian's R interval reached down to 0.76, too near R_MIN for a control.
TAIL_SAMPLES = {False: 4_000_000, True: 4_000_000}
#: The two windows of the slope fit, as exceedance probabilities P(|x| > t).
NEAR = (1e-1, 1e-2)
FAR = (1e-3, 1e-4)
#: z of the order-statistic interval of each of the four quantiles: two-sided 98.76%
#: each, so >= 95% for all four together (Bonferroni).
TAIL_Z = 2.5
#: Classification threshold of R = gamma_far / gamma_near (module docstring): a tail
#: exp(-gamma t^1.5) gives 0.75 at these windows, the Gaussian 0.91, exp(-t) 0.43.
R_MIN = 0.75
#: The fit's own controls: (name, sampler of a unit-variance law, expected class).
TAIL_CONTROLS = (("gaussian", "subgaussian"), ("laplace (reference)", "not subgaussian"))
#: The laws the paper names as subgaussian (Conjecture 3's paragraph: any bounded law,
#: the exponential distribution, uniform and +-1 weights), and the Gaussian.
PAPER_EXAMPLES = ("gaussian", "rademacher", "uniform", "triangular", "truncated_gaussian",
                  "centred_exponential")
#: The criteria of step 1 (names used by the finding).
TAIL_CONTROL_CRITERION = "tail fit controls misclassified (gaussian, laplace)"
PAPER_EXAMPLES_CRITERION = ("laws the paper lists as subgaussian that are not, by "
                            "P(|x| > t) <= c exp(-gamma t^2)")


def exact_tail(law: str, t: np.ndarray) -> np.ndarray | None:
    """P(|x| > t) of the unit-variance law (None when not listed): the cross-check of the
    sample fit beyond its far window."""
    from scipy.special import ndtr

    from verify.weights import TRUNCATION

    t = np.asarray(t, dtype=np.float64)
    if law == "gaussian":
        return 2.0 * ndtr(-t)
    if law == "laplace (reference)":
        return np.exp(-math.sqrt(2.0) * t)
    if law == "centred_exponential":  # x = E - 1: P(E > 1 + t) + P(E < 1 - t)
        return np.exp(-1.0 - t) + np.where(t < 1, 1.0 - np.exp(-(1.0 - np.minimum(t, 1))), 0.0)
    if law == "uniform":
        return np.clip(1.0 - t / math.sqrt(3.0), 0.0, 1.0)
    if law == "triangular":
        return np.clip(1.0 - t / math.sqrt(6.0), 0.0, 1.0) ** 2
    if law == "rademacher":
        return (t < 1).astype(float)
    if law == "truncated_gaussian":
        from verify.weights import _TRUNC_VAR

        u = np.minimum(t * math.sqrt(_TRUNC_VAR), TRUNCATION)
        return (ndtr(TRUNCATION) - ndtr(u)) / (ndtr(TRUNCATION) - 0.5)
    return None


def unit_samples(law: str, n: int, rng) -> np.ndarray:
    """n draws of ``law`` at unit variance (the weight laws' own samplers, std 1)."""
    from verify.weights import WeightLaw

    if law == "laplace (reference)":
        return rng.laplace(0.0, 1.0 / math.sqrt(2.0), size=n)
    x = WeightLaw(law).sample((n,), 1.0, rng)
    if law == "uniform01":  # not zero-mean: its tail about its mean, at unit variance
        x = (x - 0.5) * math.sqrt(12.0)
    return x


def tail_fit(x: np.ndarray, *, near=NEAR, far=FAR, z: float = TAIL_Z,
             r_min: float = R_MIN) -> dict:
    """The slope of -log P(|x| > t) against t^2 on two windows of the sample's tail, and
    its trend (Conjecture 3's definition; module docstring, step 1).

    Parameters
    ----------
    x : ndarray
        Draws of a zero-mean law at unit variance.
    near, far : (float, float)
        The windows, as exceedance probabilities (p1 > p2).

    Returns
    -------
    dict
        ``t`` (the four quantiles of |x|), ``gamma_near``, ``gamma_far`` with
        ``*_low``/``*_high`` (distribution-free, >= 95% jointly), ``ratio`` R =
        gamma_far / gamma_near with its interval, ``alpha_eff`` (the tail exponent a pure
        exp(-t^alpha) with that R would have) and ``class``: "subgaussian" (R's interval
        above ``r_min``), "not subgaussian" (below) or "undecided".

    Notes
    -----
    The (1 - p) quantile of |x| is the k-th largest value, k = p n; its interval uses the
    ranks k -+ z sqrt(k (1 - p)). A window whose far end equals its near end (an atom, a
    bounded support reached) has no mass beyond: gamma = inf (any c exp(-gamma t^2)
    bounds it).
    """
    a = np.abs(np.asarray(x, dtype=np.float64).ravel())
    n = a.size
    ps = (near[0], near[1], far[0], far[1])
    ranks = []
    for p in ps:
        k = p * n
        d = z * math.sqrt(k * (1.0 - p))
        ranks.append((int(round(k)), int(math.floor(k - d)), int(math.ceil(k + d))))
    if min(r[1] for r in ranks) < 1:
        raise ValueError(f"tail_fit: {n} samples are too few for exceedance {ps[-1]:g}")
    want = sorted({n - r for rk in ranks for r in rk})
    part = np.partition(a, want)

    def q(rank):  # the rank-th largest value of |x|
        return float(part[n - rank])

    t = [q(r[0]) for r in ranks]
    t_lo = [q(r[2]) for r in ranks]   # more exceedances: a smaller quantile
    t_hi = [q(r[1]) for r in ranks]

    def slope(i, j):
        ln = math.log(ps[i] / ps[j])

        def g(den):
            return math.inf if den <= 0 else ln / den
        return (g(t[j] ** 2 - t[i] ** 2), g(t_hi[j] ** 2 - t_lo[i] ** 2),
                g(t_lo[j] ** 2 - t_hi[i] ** 2))

    gn, gn_lo, gn_hi = slope(0, 1)
    gf, gf_lo, gf_hi = slope(2, 3)

    def ratio(num, den):
        if math.isinf(num):
            return math.inf
        return num / den if den > 0 else math.inf

    r, r_lo, r_hi = ratio(gf, gn), ratio(gf_lo, gn_hi), ratio(gf_hi, gn_lo)
    cls = "subgaussian" if r_lo > r_min else "not subgaussian" if r_hi < r_min else "undecided"
    mid_n = math.sqrt(t[0] * t[1]) if t[0] > 0 else float("nan")
    mid_f = math.sqrt(t[2] * t[3])
    alpha = (2.0 + math.log(r) / math.log(mid_f / mid_n)
             if math.isfinite(r) and r > 0 and mid_f > mid_n else float("nan"))
    return {"n": n, "t": t, "gamma_near": gn, "gamma_near_low": gn_lo, "gamma_near_high": gn_hi,
            "gamma_far": gf, "gamma_far_low": gf_lo, "gamma_far_high": gf_hi,
            "ratio": r, "ratio_low": r_lo, "ratio_high": r_hi, "alpha_eff": alpha,
            "class": cls}


def tail_table(laws, *, rng, quick: bool) -> pd.DataFrame:
    """:func:`tail_fit` for every law (and the controls), with the exact gamma(t) =
    -log P(|x| > t) / t^2 at t = 5, 10, 20 where the CDF is listed (the tail beyond the
    sample: -> 1/2 for the Gaussian, -> 0 for the centred exponential, inf for bounded
    laws)."""
    names = list(dict.fromkeys(list(laws) + [c for c, _ in TAIL_CONTROLS]))
    rows = []
    for name, g in zip(names, rng.spawn(len(names))):
        fit = tail_fit(unit_samples(name, TAIL_SAMPLES[quick], g))
        row = {"law": name, "control": dict(TAIL_CONTROLS).get(name, ""),
               "paper_example": name in PAPER_EXAMPLES,
               **{k: v for k, v in fit.items() if k != "t"},
               **{f"t_{p:g}": v for p, v in zip(NEAR + FAR, fit["t"])}}
        for tt in (5.0, 10.0, 20.0):
            s_ex = exact_tail(name, np.array([tt]))
            row[f"gamma_exact_{tt:g}"] = (float("nan") if s_ex is None else
                                          math.inf if s_ex[0] <= 0 else
                                          float(-np.log(s_ex[0]) / tt ** 2))
        rows.append(row)
    return pd.DataFrame(rows)


def tail_criteria(tails: pd.DataFrame) -> tuple[Criterion, Criterion]:
    """Step 1's criteria: the controls classified as expected; the paper's examples not
    found non-subgaussian (uninformative when none is but some are undecided)."""
    by = tails.set_index("law")
    wrong = [c for c, want in TAIL_CONTROLS if by.loc[c, "class"] != want]
    got = ", ".join(f"{c}: {by.loc[c, 'class']}" for c, _ in TAIL_CONTROLS)
    controls = Criterion(
        TAIL_CONTROL_CRITERION, len(wrong), 0, "<=",
        f"the Gaussian must come out subgaussian and the Laplace reference not ({got})",
        ceiling=float(len(TAIL_CONTROLS)))
    ex = by.loc[[law for law in PAPER_EXAMPLES if law in by.index]]
    bad = list(ex.index[ex["class"] == "not subgaussian"])
    und = list(ex.index[ex["class"] == "undecided"])
    examples = Criterion(
        PAPER_EXAMPLES_CRITERION, len(bad), 0, "<=",
        "not subgaussian: " + (", ".join(
            f"{law} (R = {by.loc[law, 'ratio']:.3g} [{by.loc[law, 'ratio_low']:.3g}, "
            f"{by.loc[law, 'ratio_high']:.3g}] < {R_MIN:g}; gamma_far "
            f"{by.loc[law, 'gamma_far']:.3g}, exact gamma(20) "
            f"{by.loc[law, 'gamma_exact_20']:.3g})" for law in bad) or "none")
        + (f"; undecided: {', '.join(und)}" if und else ""),
        ceiling=float(len(ex)),
        untested="" if bad or not und else
        f"no example is found non-subgaussian, but {', '.join(und)} undecided")
    return controls, examples


def rerun_table(config: Config, reruns: Reruns, *, checks=RERUNS,
                laws=ZERO_MEAN + (CONTROL,)) -> pd.DataFrame:
    """law x check -> statistic, bound, margin, passed (one rerun per cell).

    Checks that are not registered, or that refuse the configuration (``requires``),
    are listed with ``status`` = "not registered" / "not applicable"; a check that
    raises is an "error" row and counts as not passed.
    """
    from verify.errors import VerifyError

    rows = []
    for check in checks:  # three checks x seven laws: each cell is a whole check run
        for law in laws:
            row = {"law": law, "check": check, "zero_mean": law != CONTROL}
            if not reruns.registered(check):
                rows.append({**row, "status": "not registered"})
                continue
            cfg = config.with_weights(law)
            try:
                res = reruns(check, cfg)
            except VerifyError as exc:  # requires() refused this configuration
                rows.append({**row, "status": "not applicable", "note": str(exc)})
                continue
            g_only = GAUSSIAN_ONLY.get(check, ("\0",))
            failed = [c.name for c in res.criteria if c.verdict == "fails"]
            gonly = [n for n in failed if n.startswith(g_only)]
            # uninformative criteria (bound at or past the trivial ceiling) tested
            # nothing: they never count as holding
            uninf = [c.name for c in res.criteria
                     if c.verdict == "uninformative" and not c.name.startswith(g_only)]
            conclusion = ("error" if res.error else "fails" if len(failed) > len(gonly)
                          else "uninformative" if uninf else "holds")
            rows.append({**row, "status": "error" if res.error else "ran",
                         "statistic": res.statistic, "bound": res.bound, "sense": res.sense,
                         "margin": res.margin, "passed": bool(res.passed),
                         "verdict": res.verdict, "conclusion": conclusion,
                         "conclusion_passed": conclusion == "holds",
                         "criteria_failed": ", ".join(failed),
                         "gaussian_only_failed": ", ".join(gonly),
                         "criteria_uninformative": ", ".join(uninf),
                         "n_samples": res.n_samples, "elapsed_s": res.elapsed_s,
                         "seed": str(res.seed),
                         "note": res.error or ""})
    return pd.DataFrame(rows)


#: The columns of a rerun that ran (:func:`rerun_table`).
_RERUN_COLUMNS = ("statistic", "bound", "sense", "margin", "passed", "verdict", "conclusion",
                  "conclusion_passed", "criteria_failed", "gaussian_only_failed",
                  "criteria_uninformative", "n_samples", "elapsed_s", "seed", "note")


def check(instance: Instance, *, rng, quick: bool, reruns: Reruns,
          settings=None) -> Outcome:
    """Conjecture 3 on the instance's architecture and mask: the tail definition per law
    (step 1, from ``rng``), then every zero-mean law passes every rerun check, U[0, 1]
    fails at least one (the reruns and their streams: module docstring). ``settings``:
    :data:`SETTINGS`' values (the registry's; defaults when None): the laws tried."""
    base = instance.config
    zero_mean, laws = _laws(settings)
    tails = tail_table(laws, rng=rng, quick=quick)
    tail_controls, tail_examples = tail_criteria(tails)
    table = rerun_table(base, reruns, laws=laws)
    # when no rerun ran (none registered, or every one refused the configuration) the
    # table has only the status columns: add the others empty, so the details below are
    # built the same way and the criteria say that nothing ran
    for col in _RERUN_COLUMNS:
        if col not in table:
            table[col] = False if col in ("passed", "conclusion_passed") else None
    ran = table[table["status"].isin(["ran", "error"])]
    zm = ran[ran["zero_mean"]]
    ctl = ran[~ran["zero_mean"]]

    def count(rows, *verdicts):
        return int(rows["conclusion"].isin(verdicts).sum()) if len(rows) else 0

    # a failure is a rerun whose conclusion fails (or that crashed); an uninformative
    # rerun neither holds nor fails: if nothing failed and some rerun tested nothing,
    # the criterion over those runs is uninformative too
    zm_fail, zm_uninf = count(zm, "fails", "error"), count(zm, "uninformative")
    ctl_fail, ctl_uninf = count(ctl, "fails", "error"), count(ctl, "uninformative")
    checks_run = sorted(set(ran["check"]))
    headline = Criterion("zero_mean_failures", zm_fail, 0, "<=",
                         f"rerun checks failed by a zero-mean law ({len(zm)} runs: "
                         f"{', '.join(zero_mean)} x {', '.join(checks_run)})",
                         untested=(f"{zm_uninf} zero-mean rerun(s) uninformative (bound at or "
                                   "past the trivial ceiling) and none failed"
                                   if zm_fail == 0 and zm_uninf else ""))
    criteria = (
        Criterion("control_failures", ctl_fail, 1, ">=",
                  f"rerun checks failed by {CONTROL} (the control must be detected)",
                  untested=(f"{ctl_uninf} {CONTROL} rerun(s) uninformative and none failed"
                            if ctl_fail == 0 and ctl_uninf else "")),
        Criterion("checks_run", len(checks_run), 1, ">=",
                  "distinct checks that ran on every law"),
        tail_controls,
        tail_examples,
    )
    per_law = {law: {"conclusion_passed": int(g["conclusion_passed"].astype(bool).sum()),
                     "passed_every_criterion": int(g["passed"].astype(bool).sum()),
                     "ran": int(len(g))}
               for law, g in ran.groupby("law")}
    details = {
        "checks": list(RERUNS), "checks_run": checks_run,
        "skipped": table[~table["status"].isin(["ran", "error"])][["law", "check", "status"]]
        .to_dict(orient="records"),
        "per_law": per_law, "zero_mean_failures": zm_fail, "control_failures": ctl_fail,
        "zero_mean_uninformative": zm_uninf, "control_uninformative": ctl_uninf,
        "failed_cells": ran[~ran["passed"].astype(bool)][
            ["law", "check", "conclusion", "criteria_failed", "gaussian_only_failed",
             "criteria_uninformative"]].to_dict(orient="records"),
        "gaussian_only_criteria": {k: list(v) for k, v in GAUSSIAN_ONLY.items()},
        "base_config": base.name,
        "rerun_seeds": {c: str(reruns.streams_of(c)) for c in RERUNS},
        "tails": {
            "definition": "P(|x| > t) <= c exp(-gamma t^2) for all t > 0 (Conjecture 3)",
            "class": dict(zip(tails["law"], tails["class"])),
            "ratio": {r.law: [r.ratio, r.ratio_low, r.ratio_high] for r in tails.itertuples()},
            "gamma_near": dict(zip(tails["law"], tails["gamma_near"])),
            "gamma_far": dict(zip(tails["law"], tails["gamma_far"])),
            "windows": {"near": list(NEAR), "far": list(FAR)}, "r_min": R_MIN,
            "samples_per_law": TAIL_SAMPLES[quick],
            "rule": f"subgaussian if R = gamma_far/gamma_near has its interval above "
                    f"{R_MIN:g}, not subgaussian if below, else undecided",
        },
    }
    return Outcome(headline=headline, criteria=criteria, n_samples=int(len(ran)),
                   details=details, table=table, tables={"tails": tails},
                   settings={"checks": list(RERUNS), "laws": list(laws),
                             "tail_samples": TAIL_SAMPLES[quick], "tail_windows":
                             [list(NEAR), list(FAR)], "r_min": R_MIN, "quick": quick})


#: No generated configurations: each example would rerun three checks under seven laws
#: (21 runs); those checks are in the common property test themselves, and U[0, 1] is
#: the negative control inside every run.
configs = None
counter_configs = None


FIGURES = (figure_laws, figure_tails)  # lemmas/_subgaussian_figures.py
#: The examined mismatch is data: lemmas/findings/conj3-examples.toml (the sentence
#: "This includes ... the exponential distribution", judged by ``conj3-examples``).
FINDINGS = ()
#: Configurations outside Conjecture 3's hypotheses (see the module docstring).
KNOWN_BAD = (
    KnownBad(
        "no expansion (16 -> 8 -> 4, kernel 1)",
        Config("known-bad-contracting", block_spec(1, (16, 8, 4), (1, 1)),
               WeightLaw("gaussian")),
        "two contracting layers (blocks 8 x 16 and 4 x 8: m = k/2, no expansion): "
        "Theorem 1's expansivity C_i l >= c C_{i-1} log C_{i-1}, which Conjecture 3 keeps, "
        "fails on both, so its conclusions need not hold for any law; the zero-mean "
        "reruns fail (the WDC, angle contraction and descent all break without "
        "expansion), and the check must not say the conjecture holds here"),
)

register(
    "subgaussian",
    statement="concentration, angle contraction and descent hold for rademacher and uniform "
              "zero-mean weights as for Gaussian, and fail for U[0, 1] (negative control)",
    reference="Conjecture 3",
    presets={"theory-2layer": "pass"},
    check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
    findings=FINDINGS, cost=120.0, detects_counterexample=False, reruns=RERUNS,
    known_bad=KNOWN_BAD, settings=SETTINGS)
