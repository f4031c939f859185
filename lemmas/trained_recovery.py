"""Latent recovery on a generator trained on real data (paper Sec. 4.3, Fig. 5;
lemmas/README.md, section 11).

The paper recovers the latent code of its MNIST generator "perfectly" from uniform-random
samples and from the top, bottom, left and right halves of the image, "using simple
gradient descent" (Adam on J(z) = 1/2 ||A (G(z) - y)||^2, learning rate 0.1, under 500
iterations). Fig. 5 shows one example per mask, not rates. This check repeats the
experiment on the shipped generators, ``digits-gan`` (the paper's recipe: a conditional
DCGAN trained adversarially) and ``digits-glo`` (generative latent optimisation), or
any network, and measures rates:

* **truths, two sources**, the same codes under every mask (a paired design):
  ``training`` codes, the codes the generator gives real digits (scikit-learn's scans,
  picked at random; each code is Adam's best fit of the digit under full observation,
  best of :data:`CODE_STARTS` starts, projected to the sphere ||z|| = sqrt(n_0) where
  GLO training keeps its codes: :func:`training_codes`; the training run's own codes
  are not shipped), and ``fresh`` points z* ~ N(0, I_{n_0});
* **a conditional generator** (``digits-gan``: the class enters as a one-hot input) has
  the class fixed in every trial and z recovered: a training code keeps its digit's
  class, a fresh point gets a uniform class; the trials run per class
  (:class:`verify.trained.ClassConditionedNetwork`: its layer-1 bias depends on the
  position, which the inversion's batch-last loss broadcasts);
* **generator quality**: 200 samples at z ~ N(0, I) against the training
  digits (:func:`verify.training.generator_quality`: nearest-training-image distances
  and a digits classifier's confident labels); a generator that draws no digits makes
  the verdict uninformative, with that reason;
* **masks**: the paper's five at the config's rate (0.5 for the preset, the Fig. 5
  halves): ``random`` (a fresh mask per trial), ``top``, ``bottom``, ``left``,
  ``right``; full observation (A = I) beside them as the reference (not judged). A
  configuration whose mask is another kind (``centre``, ``first``, ...) is judged on
  that mask alone, at its rate;
* **per-start success**, the paper's "simple gradient descent": the first start of every
  trial is Adam at lr 0.1 for 500 iterations from z0 ~ N(0, I), scored as it ends;
* **success with restarts**: while a trial's best loss is above rounding level
  (J > :data:`LOSS_TOL` * 1/2 ||A y||^2) it gets another start (Adam, lr 0.1,
  :data:`RESTART_ITERATIONS` iterations, a fresh N(0, I) start), up to
  ``max_starts`` (32); whenever a start lowers the trial's best J, that answer is
  polished by a few damped Gauss-Newton steps (:func:`verify.inversion.polish`, which
  never raises J). The answer kept is the smallest J (an observable, not z*). Success:
  ||z_hat - z*|| / ||z*|| <= 1e-3 (:data:`verify.inversion.SUCCESS_TOL`). The curve
  (success after at most 1, 2, 4, ..., 32 starts) is the ``restarts`` table. Restarts
  run 200 Adam iterations, not 500: on this generator Adam-200 plus the polish
  recovered as often per start as Adam-500 did (39 against 38 of 192 starts from the
  same points, right, left and top halves, seed 2), at about half the cost;
* an image grid (truth / observed / recovered) for one trial per mask, as a tidy table.

Cost: the full run has 20 trials per judged mask, up to 32 starts, and the reference with
up to 8; ``--quick`` has 10 per mask, up to 4 starts, and no reference (its verdict
rests on 10 trials: see the rule's error rates below).

Verdict (fixed from the design's arithmetic before any run of it). Per judged mask, the
success with restarts over both sources (n = 2 x ``trials`` = 20) and its 95% Wilson
interval [lo, hi] against :data:`P_MIN` = 1/2, "recovered more often than not":
``holds`` if lo >= 1/2, ``fails`` if hi < 1/2 (the mask recovers significantly less than
half the time), ``uninformative`` otherwise (too few trials to tell). The check holds
when every mask holds, fails when one fails. Why 1/2: the paper gives examples, not a
rate; the weakest reading of "recovered in all cases" is "more often than not", and with
20 trials per mask 1/2 is the largest threshold for which masks that truly succeed 90%
of the time are all judged ``holds`` with probability >= 90%: a mask is short of it
only at <= 14/20 (P = 0.011 at p = 0.9), so the five-mask rule misses at p = 0.9 with
probability :func:`false_fail_rate` = 0.055 (the old rule, every point estimate over 6
trials >= 0.8, failed 88% of the time at p = 0.8), and says ``fails`` with probability
< 1e-7 there. The per-start rate is reported beside it, not judged: the paper's claim
is about examples, and the per-start rate is what a user of plain descent gets.

The statement judged (Fig. 5's sentence, on these generators, which are not the
paper's MNIST DCGAN) is registered by :mod:`lemmas.fig5_trained_recovery`; its examined
findings, with their numbers compared to each run, are data in
``lemmas/findings/fig5.toml``.

Randomness: ``rng.spawn(4)``: the training images picked and their fits; the fresh
z* (then, for a conditional generator, their classes); the masks of ``random``; the
starts; then ``rng.spawn(1)`` for the quality samples. Same seed, same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lemmas._trained_recovery_figures import FIGURES
from verify.digits_recovery import (degraded, CONFIDENCE, ITERATIONS, LOSS_TOL, LR, MASKS, P_MIN,
                                    RESTART_ITERATIONS, false_fail_rate,
                                    generator_quality_of, image_grid, is_conditional,
                                    mask_summary, mask_verdict, masks_for, measure_labelled,
                                    quality_note, recover_with_restarts, restart_curve,
                                    training_codes, trial_table)
from verify.inversion import SUCCESS_TOL, relative_errors
from verify.measurements import MaskSpec
from verify.presets import Config
from verify.registry import register
from verify.results import Criterion, Outcome
from verify.verdicts import KnownBad


def _settings(quick: bool) -> dict:
    """Trials per source (two sources: 2x per mask), the cap on starts, and the cap of
    the full-observation reference (0: not run)."""
    if quick:
        return {"trials": 5, "max_starts": 4, "reference_starts": 0}
    return {"trials": 10, "max_starts": 32, "reference_starts": 8}


# ---------------------------------------------------------------- the verdict rule


# ---------------------------------------------------------------- draws
def design(config: Config) -> tuple[tuple[tuple[str, float], ...], bool]:
    """The judged (kind, rate) pairs and whether full observation runs beside them: the
    paper's five masks at the config's rate (0.5 when it observes everything) for a
    ``random`` or ``full`` config, else the config's own mask alone."""
    kind = config.mask.kind
    if kind in ("random", "full"):
        rate = config.mask.partial_rate
        return tuple((k, rate) for k in MASKS), True
    return ((kind, config.mask.rate),), False


# ------------------------------------------------ conditional generators (class fixed)


# ---------------------------------------------------------------- tables


def _criterion(row) -> Criterion:
    k, n = int(row["restarts_recovered"]), int(row["trials"])
    lo, hi = float(row["restarts_ci_low"]), float(row["restarts_ci_high"])
    v = mask_verdict(k, n)
    note = (f"{k}/{n} with restarts (95% Wilson [{lo:.2f}, {hi:.2f}]); per start "
            f"{int(row['per_start_recovered'])}/{n}; holds if the lower end >= {P_MIN:g}, "
            f"fails if the upper end < {P_MIN:g}")
    untested = (f"the 95% interval [{lo:.2f}, {hi:.2f}] contains {P_MIN:g}: {n} trials "
                "cannot tell" if v == "uninformative" else "")
    stat = lo if v != "fails" else hi
    return Criterion(f"success with restarts, {row['mask']} {row['rate']:g}", stat, P_MIN,
                     ">=", note, ceiling=0.0, untested=untested)


# ---------------------------------------------------------------- the check
def check(instance, *, rng, quick):
    """Per-start success and success with restarts per mask, both truth sources (module
    docstring)."""
    net = instance.network
    spec = net.spec
    s = _settings(quick)
    T, R = s["trials"], s["max_starts"]
    judged, with_full = design(instance.config)
    ref = s["reference_starts"] if with_full else 0
    groups = [(k, r, True) for k, r in judged] + ([("full", 1.0, False)] if ref else [])
    r_codes, r_fresh, r_masks, r_starts = rng.spawn(4)
    codes, codes_info = training_codes(net, T, r_codes)
    fresh = r_fresh.normal(size=(T, spec.latent_dim))
    cond = is_conditional(net)
    # a conditional generator: training codes keep their digit's class, fresh points get
    # a uniform class (drawn after the points: the unconditional stream is unchanged)
    fresh_labels = r_fresh.integers(0, net.n_classes, T) if cond else np.zeros(T, int)
    code_labels = np.asarray(codes_info.get("labels", np.zeros(T, int))) if cond \
        else np.zeros(T, int)
    truths = [("fresh", fresh, fresh_labels)] if codes is None else \
        [("training", codes, code_labels), ("fresh", fresh, fresh_labels)]
    zs, ms, gid, src, labs = [], [], [], [], []
    for g, (kind, rate, _j) in enumerate(groups):
        for name, z, lab in truths:
            zs.append(z)
            ms.append(masks_for(kind, rate, len(z), spec.output_shape, r_masks))
            gid.append(np.full(len(z), g))
            src += [name] * len(z)
            labs.append(lab)
    z_star, masks, gid = np.concatenate(zs), np.concatenate(ms), np.concatenate(gid)
    labels = np.concatenate(labs) if cond else None
    caps = np.where(np.array([g[2] for g in groups])[gid], R, ref)
    z_hat, loss, starts, by_start, first = recover_with_restarts(
        net, z_star, masks, max_starts=caps, rng=r_starts, labels=labels)
    err = relative_errors(z_hat, z_star)
    scale = 0.5 * np.sum(measure_labelled(net, z_star, masks, labels) ** 2, axis=1)
    trials = trial_table(groups, gid, np.array(src), masks.sum(axis=1), err, loss, scale,
                         starts, first, [g[2] for g in groups])
    if cond:
        trials.insert(4, "class", labels)
    curve = restart_curve(trials, by_start, R)
    curve = curve[curve["judged"] | (curve["starts"] <= max(ref, 1))].drop(columns="judged")
    summary = mask_summary(trials)
    grid = pd.concat([image_grid(net if labels is None else net.with_label(int(labels[i])), kind,
                            z_star[i], z_hat[i], masks[i], spec.output_shape)
                      for g, (kind, *_rest) in enumerate(groups)
                      for i in np.flatnonzero(gid == g)[:1]], ignore_index=True)
    quality, samples = generator_quality_of(net, rng.spawn(1)[0]) if codes is not None \
        else ({"available": False, "reason": codes_info.get("reason", "")}, pd.DataFrame())
    no_digits = quality.get("draws_digits") is False
    judged_rows = summary[summary["judged"]]
    criteria = tuple(_criterion(row) for _, row in judged_rows.iterrows())
    verdicts = [c.verdict for c in criteria]
    worst = int(np.argmin(judged_rows["restarts_ci_low"].to_numpy()))
    lo_min = float(judged_rows["restarts_ci_low"].min())
    n_fail = verdicts.count("fails")
    n_unin = verdicts.count("uninformative")
    headline = Criterion(
        HEADLINE,
        lo_min if n_fail == 0 else min(c.statistic for c in criteria if c.verdict == "fails"),
        P_MIN, ">=",
        f"{len(criteria) - n_fail - n_unin} masks hold, {n_fail} fail, {n_unin} "
        f"uninformative; worst {judged_rows['mask'].iloc[worst]}; up to {R} starts, "
        f"{2 * T if codes is not None else T} trials per mask",
        ceiling=0.0,
        untested=(f"the generator draws no digits ({quality_note(quality)}): recovery on "
                  "it says nothing about a generator of digits" if no_digits else
                  "" if n_fail or not n_unin else
                  f"no mask fails, but {n_unin} have a 95% interval containing {P_MIN:g}"))
    main = trials
    details = {
        "per_mask": summary.to_dict(orient="records"),
        "per_start_success": {r["mask"]: [int(r["per_start_recovered"]), int(r["trials"])]
                              for _, r in summary.iterrows()},
        "success_with_restarts": {r["mask"]: [int(r["restarts_recovered"]), int(r["trials"])]
                                  for _, r in summary.iterrows()},
        "training_codes": codes_info,
        "generator_quality": quality,
        "fits_observations_but_wrong_z": {r["mask"]: int(r["fits_with_wrong_code"])
                                          for _, r in summary.iterrows()},
        "failed_rel_loss_median": float(main[~main["success"]]["rel_loss"].median())
        if (~main["success"]).any() else None,
        "median_rel_error_success": float(main[main["success"]]["rel_error"].median())
        if main["success"].any() else None,
        "rule": {"p_min": P_MIN, "confidence": CONFIDENCE,
                 "holds": "every mask's Wilson lower bound >= p_min",
                 "fails": "some mask's Wilson upper bound < p_min",
                 "false_fail_rate_at_0.9": false_fail_rate(0.9, 2 * T, len(criteria)),
                 "says_fails_at_0.9": false_fail_rate(0.9, 2 * T, len(criteria), strict=True)},
        "max_starts": R, "lr": LR, "iterations": ITERATIONS,
        "restart_iterations": RESTART_ITERATIONS, "success_tol": SUCCESS_TOL,
        "loss_tol": LOSS_TOL, "starts_total": int(starts.sum()),
        "truth": "training: codes of real digits (see training_codes); fresh: N(0, I); "
                 "starts N(0, I)",
    }
    note = degraded(spec, codes_info)
    if note:  # shown by `verify check` and the report, not only in the JSON
        details["degraded"] = note
    return Outcome(headline=headline, criteria=criteria, n_samples=len(trials),
                   details=details, table=trials,
                   tables={"restarts": curve, "masks": summary, "grid": grid,
                           "samples": samples},
                   settings={**s, "lr": LR, "iterations": ITERATIONS,
                             "restart_iterations": RESTART_ITERATIONS, "loss_tol": LOSS_TOL,
                             "p_min": P_MIN, "judged": [list(j) for j in judged],
                             "sources": [t[0] for t in truths]})


# ---------------------------------------------------------------- figures


HEADLINE = "min over masks of the Wilson lower bound of success with restarts"


def _known_bad():
    from verify.trained import DIGITS_GLO

    return (
        KnownBad(
            "9 observed pixels < latent 10",
            Config("digits-glo-9-pixels", DIGITS_GLO.spec, DIGITS_GLO.weights,
                   MaskSpec("centre", 9 / 1024),
                   "the shipped GLO generator observed through a centred 3x3 block (9 "
                   "pixels)", loader=DIGITS_GLO.loader),
            "9 observations of a 10-dimensional latent: z -> A G(z) maps R^10 to R^9, so "
            "wherever its Jacobian has rank 9 its level sets are curves through z*: z* is "
            "not identifiable and a recovery 'success' would be luck. Descent fits the 9 "
            "pixels with a wrong code; the check must fail"),
    )


#: Configurations the check must reject (verify.verdicts.KnownBad; the power table).
KNOWN_BAD = _known_bad()
#: No generated configurations: the check is about the shipped trained generator's
#: fixed weights.
configs = None
counter_configs = None

register(
    "trained-recovery",
    statement="latent codes of a generator trained on real digits (training codes and "
              "fresh N(0, I) points) are recovered exactly from random, top, bottom, left "
              "and right half observations more often than not with up to 32 restarts "
              "(95% Wilson lower bound >= 1/2 per mask); per-start success reported",
    reference="Sec. 4.3, Fig. 5",
    presets={"digits-glo": "pass", "digits-gan": "pass"},
    check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
    findings=(), cost=250.0, detects_counterexample=False, known_bad=KNOWN_BAD)
