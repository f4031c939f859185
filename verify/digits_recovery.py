"""Latent recovery on a trained generator (paper Sec. 4.3, Fig. 5): the numerics of the
``trained-recovery`` check, public so tests and other tools can use them.

* :func:`mask_verdict`, :func:`rule_verdict`, :func:`false_fail_rate`: the per-mask rule
  (95% Wilson interval of success with restarts against :data:`P_MIN`) and its exact
  error rates;
* :func:`masks_for`: a batch of masks of one kind (a fresh one per row for ``random``);
* :func:`is_conditional`, :func:`per_label`, :func:`forward`, :func:`measure_labelled`: a
  class-conditional generator run with each row's class fixed;
* :func:`training_codes`: codes of real training digits (Adam's best fit, projected to
  the sphere ||z|| = sqrt(n_0));
* :func:`recover_with_restarts`: Adam (lr 0.1) from fresh starts while the loss is above
  rounding level, each improvement polished by Gauss-Newton;
* :func:`rate_row`, :func:`restart_curve`, :func:`mask_summary`, :func:`trial_table`,
  :func:`image_grid`: the check's tables;
* :func:`generator_quality_of`, :func:`quality_note`: whether the generator draws digits.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import VerifyError
from .inversion import SUCCESS_TOL, invert, measure, polish, relative_errors
from .measurements import make_mask
from .stats import wilson_interval

MASKS = ("random", "top", "bottom", "left", "right")
#: The main experiment adds full observation (A = I) as the reference.
MAIN = ("full",) + MASKS
#: Where z* comes from: codes of real training digits, and fresh N(0, I) points.
SOURCES = ("training", "fresh")
RATE = 0.5          # the paper's half masks (the preset's rate)
LR = 0.1            # the paper's Adam learning rate
ITERATIONS = 500    # the paper: "usually converges within 500 iterations"
#: Adam iterations of a restart (then the Gauss-Newton polish): module docstring.
RESTART_ITERATIONS = 150
#: Gauss-Newton steps of the polish (from inside z*'s basin the error squares each step).
POLISH_STEPS = 4
#: A trial whose best loss is at rounding level needs no restart: J / (1/2 ||A y||^2)
#: below 1e-12 ~ a relative residual of 1e-6, far below any failed start's O(1e-2) and
#: above float64 rounding of an exact fit (~1e-30 relative).
LOSS_TOL = 1e-12
#: The verdict's threshold on each mask's success with restarts (module docstring).
P_MIN = 0.5
#: Confidence of the Wilson intervals.
CONFIDENCE = 0.95
#: A failed trial with J / (1/2 ||A y||^2) <= 1e-8 fits the observations (to a relative
#: residual of 1e-4) with a wrong code: the masked problem is not injective there, as
#: opposed to a local minimum with a visible residual.
FIT_TOL = 1e-8
#: Fitting a training digit's code: Adam starts (best kept) and iterations per start.
CODE_STARTS = 2
CODE_ITERATIONS = 300
#: Samples drawn for the generator-quality measurement and shown in
#: the sample-grid figure (the first :data:`GRID_SAMPLES`).
QUALITY_SAMPLES = 200
GRID_SAMPLES = 40


def mask_verdict(recovered: int, trials: int, p_min: float = P_MIN,
                 confidence: float = CONFIDENCE) -> str:
    """"holds" if the Wilson lower bound is >= ``p_min``, "fails" if the upper bound is
    below it, else "uninformative" (the rule of the module docstring, one mask)."""
    lo, hi = wilson_interval(int(recovered), int(trials), confidence)
    if lo >= p_min:
        return "holds"
    return "fails" if hi < p_min else "uninformative"


def rule_verdict(recovered, trials: int, p_min: float = P_MIN) -> str:
    """The check's verdict from every judged mask's successes (fails > uninformative >
    holds)."""
    vs = {mask_verdict(k, trials, p_min) for k in np.atleast_1d(recovered)}
    return "fails" if "fails" in vs else "uninformative" if "uninformative" in vs else "holds"


def false_fail_rate(p: float, trials: int = 20, masks: int = len(MASKS),
                    p_min: float = P_MIN, *, strict: bool = False) -> float:
    """Exact probability, when every mask truly succeeds with probability ``p``, that
    the rule does not say "holds" (``strict``: that it says "fails")."""
    from scipy.stats import binom

    ks = np.arange(trials + 1)
    bad = np.array([mask_verdict(k, trials, p_min) != "holds" if not strict else
                    mask_verdict(k, trials, p_min) == "fails" for k in ks])
    q = float(binom.pmf(ks[bad], trials, p).sum())
    return 1.0 - (1.0 - q) ** masks


def masks_for(kind: str, rate: float, b: int, shape, rng) -> np.ndarray:
    if kind == "random":
        return np.stack([make_mask("random", shape, rate, rng=rng).ravel() for _ in range(b)])
    m = make_mask(kind, shape, rate).ravel()
    return np.broadcast_to(m, (b, m.size)).copy()


def is_conditional(network) -> bool:
    """A class-conditional generator (:class:`verify.trained.ClassConditionedNetwork`):
    every trial fixes its class and recovers z."""
    return hasattr(network, "with_label") and getattr(network, "full", None) is not None


def per_label(network, labels, fn, *arrays):
    """``fn(net, *arrays)`` for an unconditional network; for a conditional one, per class
    (sorted), on that class's rows with the class fixed, the outputs put back in row
    order. ``fn`` returns a tuple of arrays with one row per input row."""
    if labels is None or not is_conditional(network):
        return fn(network, *arrays)
    labels = np.asarray(labels)
    out = None
    for lab in np.unique(labels):
        rows = np.flatnonzero(labels == lab)
        res = fn(network.with_label(int(lab)), *(a[rows] for a in arrays))
        if out is None:
            out = tuple(np.empty((len(labels),) + np.shape(r)[1:], np.asarray(r).dtype)
                        for r in res)
        for o, r in zip(out, res):
            o[rows] = r
    return out


def forward(network, z, labels=None) -> np.ndarray:
    return per_label(network, labels, lambda n, zz: (n.forward(zz),), z)[0]


def measure_labelled(network, z, masks, labels=None) -> np.ndarray:
    return per_label(network, labels, lambda n, zz, mm: (measure(n, zz, mm),), z, masks)[0]


def training_codes(network, b: int, rng) -> tuple[np.ndarray | None, dict]:
    """Codes of ``b`` real training digits (picked at random): Adam's best fit of each
    digit under full observation (:data:`CODE_STARTS` starts of :data:`CODE_ITERATIONS`
    iterations at lr 0.1), projected to the sphere of radius sqrt(n_0); a conditional
    generator fits each digit with its own class fixed (``info["labels"]``). None (with
    the reason) when the digits are unavailable or the network's output is not 32x32."""
    spec = network.spec
    if spec.output_shape != (1, 32, 32):
        return None, {"available": False,
                      "reason": f"output {spec.output_shape} is not a 32x32 digit image"}
    try:
        from .datasets import training_images

        images, labels = training_images(network)
    except VerifyError as exc:
        return None, {"available": False, "reason": str(exc)}
    idx = np.sort(rng.choice(len(images), size=b, replace=False))
    x = images[idx].reshape(b, -1)
    xs = np.repeat(x, CODE_STARTS, axis=0)
    lab = labels[idx]

    def fit(n, xx):
        res = invert(n, xx, None, method="adam", lr=LR, iterations=CODE_ITERATIONS, rng=rng,
                     backend="auto")
        return res.z_hat, res.loss

    z_all, loss = per_label(network, np.repeat(lab, CODE_STARTS), fit, xs)
    best = np.argmin(loss.reshape(b, CODE_STARTS), axis=1)
    z = z_all.reshape(b, CODE_STARTS, -1)[np.arange(b), best]
    norms = np.linalg.norm(z, axis=1)
    z = z * (math.sqrt(spec.latent_dim) / np.maximum(norms, 1e-300))[:, None]
    mse = np.mean((forward(network, z, lab) - x) ** 2, axis=1)
    return z, {"available": True, "images": idx.tolist(), "labels": lab.tolist(),
               "class_fixed": bool(is_conditional(network)),
               "fit_norm_before_projection": [float(v) for v in norms],
               "fit_mse_per_pixel_median": float(np.median(mse)),
               "fit": f"Adam lr {LR}, {CODE_ITERATIONS} iterations, best of {CODE_STARTS} "
                      "starts, A = I, projected to ||z|| = sqrt(n_0)"}


def recover_with_restarts(network, z_star, masks, *, max_starts, rng, lr=LR,
                          iterations=ITERATIONS, restart_iterations=RESTART_ITERATIONS,
                          labels=None):
    """Adam from fresh N(0, I) starts while a trial's best loss is above ``LOSS_TOL``.

    All trials (any masks) advance as one batch per round (:func:`verify.inversion.invert`);
    the first round runs ``iterations`` Adam steps, later ones ``restart_iterations``;
    a start that lowers a trial's best J is polished (:func:`verify.inversion.polish`).
    ``max_starts`` is an int or a per-trial array. ``labels`` (a conditional generator):
    each trial's class, fixed while its z is recovered.

    Returns ``(z_hat, loss, starts_used, success_by_start, first_start)``:
    ``success_by_start[:, k-1]`` the success of the best answer after at most k starts,
    ``first_start`` the success of the first start's unpolished Adam answer (the
    paper's plain descent).
    """
    b = z_star.shape[0]
    cap = np.broadcast_to(np.asarray(max_starts, np.int64), (b,))
    y = measure_labelled(network, z_star, masks, labels)
    scale = 0.5 * np.sum(y * y, axis=1)
    lab = None if labels is None else np.asarray(labels)
    best_z = np.full_like(z_star, np.nan)
    best_j = np.full(b, np.inf)
    starts = np.zeros(b, np.int64)
    rounds = int(cap.max())
    success_by_start = np.zeros((b, rounds), bool)
    first = np.zeros(b, bool)
    for r in range(rounds):
        active = np.flatnonzero((starts < cap) & ~(best_j <= LOSS_TOL * scale))
        if active.size:
            its = iterations if r == 0 else restart_iterations

            def run(n, yy, mm):
                res = invert(n, yy, mm, method="adam", lr=lr, iterations=its, rng=rng,
                             backend="auto")
                return res.z_hat, res.loss

            z_new, j_new = per_label(network, None if lab is None else lab[active], run,
                                      y[active], masks[active])
            if r == 0:
                first[active] = relative_errors(z_new, z_star[active]) <= SUCCESS_TOL
            starts[active] += 1
            better = j_new < best_j[active]
            rows = active[better]
            if rows.size:
                zp, jp = per_label(
                    network, None if lab is None else lab[rows],
                    lambda n, zz, yy, mm: polish(n, zz, yy, mm, iters=POLISH_STEPS),
                    z_new[better], y[rows], masks[rows])
                keep = np.isfinite(jp)
                best_z[rows] = np.where(keep[:, None], zp, z_new[better])
                best_j[rows] = np.where(keep, jp, j_new[better])
        success_by_start[:, r] = relative_errors(best_z, z_star) <= SUCCESS_TOL
    return best_z, best_j, starts, success_by_start, first


def rate_row(ok: np.ndarray) -> dict:
    k, n = int(ok.sum()), int(ok.size)
    lo, hi = wilson_interval(k, n, CONFIDENCE) if n else (0.0, 1.0)
    return {"trials": n, "recovered": k, "success_rate": k / n if n else float("nan"),
            "ci_low": lo, "ci_high": hi}


def restart_curve(trials: pd.DataFrame, by_start: np.ndarray, cap: int) -> pd.DataFrame:
    """Success (95% Wilson) after at most 1, 2, 4, ... and ``cap`` starts, per mask and
    source (``both``: the two pooled)."""
    rows = []
    ks = [k for k in range(1, cap + 1) if not (k & (k - 1)) or k == cap]
    for (mk, rate), g in trials.groupby(["mask", "rate"], sort=False):
        for src in ("both",) + SOURCES:
            sel = g.index.to_numpy() if src == "both" else g.index[g["source"] == src].to_numpy()
            if sel.size == 0:
                continue
            for k in ks:
                rows.append({"mask": mk, "rate": rate, "source": src, "starts": k,
                             "judged": bool(g["judged"].iloc[0]),
                             **rate_row(by_start[sel, k - 1])})
    return pd.DataFrame(rows)


def mask_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """Per mask: observed pixels, per-start success and success with restarts (pooled
    and per source), each with its 95% Wilson interval, and the mask's verdict."""
    rows = []
    for (mk, rate), g in trials.groupby(["mask", "rate"], sort=False):
        row = {"mask": mk, "rate": rate, "judged": bool(g["judged"].iloc[0]),
               "observed_pixels": int(g["observed"].iloc[0])}
        for col, name in (("first_start_success", "per_start"), ("success", "restarts")):
            r = rate_row(g[col].to_numpy())
            row.update({f"{name}_{k}": v for k, v in r.items() if k != "trials"})
            for src in SOURCES:
                gs = g[g["source"] == src]
                if len(gs):
                    row[f"{name}_{src}"] = f"{int(gs[col].sum())}/{len(gs)}"
        row["trials"] = len(g)
        row["fits_with_wrong_code"] = int((~g["success"] & (g["rel_loss"] <= FIT_TOL)).sum())
        row["median_starts"] = float(g["starts"].median())
        row["verdict"] = (mask_verdict(row["restarts_recovered"], len(g))
                          if row["judged"] else "reference")
        rows.append(row)
    return pd.DataFrame(rows)


def trial_table(groups, gid, sources, observed, err, loss, scale, starts, first,
                judged) -> pd.DataFrame:
    """One row per trial: mask, source, relative error, J / (1/2 ||A y||^2), starts,
    first-start and final success."""
    kinds = np.array([g[0] for g in groups], dtype=object)[gid]
    rates = np.array([g[1] for g in groups])[gid]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, loss / np.where(scale > 0, scale, 1.0), np.nan)
    t = pd.DataFrame({"mask": kinds, "rate": rates, "judged": np.asarray(judged)[gid],
                      "source": sources, "observed": observed, "rel_error": err,
                      "loss": loss, "rel_loss": rel, "starts": starts,
                      "first_start_success": first, "success": err <= SUCCESS_TOL})
    t.insert(2, "trial", t.groupby(["mask", "rate"], sort=False).cumcount())
    return t


def image_grid(net, kind, z_star, z_hat, mask, shape) -> pd.DataFrame:
    """Truth / observed / recovered images of one trial as a tidy table (channel 0)."""
    truth = net.forward(z_star)[None].reshape(shape)[0]
    rec = net.forward(z_hat).reshape(shape)[0] if np.all(np.isfinite(z_hat)) \
        else np.full(shape[1:], np.nan)
    obs = mask.reshape(shape)[0]
    if truth.ndim == 2:
        ii, jj = np.indices(truth.shape)
    else:
        ii, jj = np.zeros(truth.size, int), np.arange(truth.size)
    frames = [pd.DataFrame({"mask": kind, "row": row, "i": np.ravel(ii), "j": np.ravel(jj),
                            "value": np.ravel(img), "observed": np.ravel(obs)})
              for row, img in (("truth", truth), ("observed", np.where(obs, truth, np.nan)),
                               ("recovered", rec))]
    return pd.concat(frames, ignore_index=True)


def generator_quality_of(network, rng) -> tuple[dict, pd.DataFrame]:
    """:func:`verify.training.generator_quality` of ``network`` (z ~ N(0, I); a
    conditional generator: classes 0..9 in turn) and the first :data:`GRID_SAMPLES`
    samples as a tidy table (sample, class, i, j, value)."""
    from .datasets import training_images
    from .training import generator_quality

    try:
        images, labels = training_images(network)
    except VerifyError as exc:
        return {"available": False, "reason": str(exc)}, pd.DataFrame()
    n0 = network.spec.latent_dim
    z = rng.normal(size=(QUALITY_SAMPLES, n0))
    cond = is_conditional(network)
    lab = np.arange(QUALITY_SAMPLES) % network.n_classes if cond else None
    x = forward(network, z, lab)
    try:
        q = generator_quality(x, images, labels, lab, seed=0)
    except ImportError as exc:  # pragma: no cover - scikit-learn loaded the digits
        return {"available": False, "reason": str(exc)}, pd.DataFrame()
    q["available"] = True
    q["codes"] = "z ~ N(0, I)" + ("; classes 0..9 in turn" if cond else "")
    k = min(GRID_SAMPLES, len(x))
    ii, jj = np.indices((32, 32))
    tab = pd.DataFrame({"sample": np.repeat(np.arange(k), 1024),
                        "class": np.repeat(lab[:k] if cond else np.full(k, -1), 1024),
                        "i": np.tile(ii.ravel(), k), "j": np.tile(jj.ravel(), k),
                        "value": x[:k].ravel()})
    return q, tab


def quality_note(q: dict) -> str:
    return (f"{q.get('confident_share_samples', float('nan')):.0%} of samples labelled "
            f"confidently against {q.get('confident_share_real', float('nan')):.0%} of real "
            f"digits; nearest-training-image distance ratio {q.get('nn_ratio', float('nan')):.2f}")


__all__ = [
    "MASKS", "MAIN", "SOURCES", "RATE", "LR", "ITERATIONS", "RESTART_ITERATIONS",
    "POLISH_STEPS", "LOSS_TOL", "P_MIN", "CONFIDENCE", "FIT_TOL", "CODE_STARTS",
    "CODE_ITERATIONS", "QUALITY_SAMPLES", "GRID_SAMPLES", "mask_verdict",
    "rule_verdict", "false_fail_rate", "masks_for", "is_conditional", "per_label",
    "forward", "measure_labelled", "training_codes", "recover_with_restarts",
    "rate_row", "restart_curve", "mask_summary", "trial_table", "image_grid",
    "generator_quality_of", "quality_note"]


def degraded(spec, codes_info: dict) -> str:
    """One line when the check runs without what it is meant to have: a digit-shaped
    generator whose training codes (and generator quality) could not be computed because
    the digits could not be loaded (scikit-learn missing); "" otherwise. A network of
    another output shape has no digits to fit, by design: not degraded."""
    if codes_info.get("available", True) is not False or spec.output_shape != (1, 32, 32):
        return ""
    return ("judged on fresh N(0, I) codes only: the training codes and the generator-"
            f"quality measurement were skipped ({codes_info.get('reason', 'unavailable')})")
