"""Recovering latent codes from partial measurements (lemmas/README.md, section 9; paper
Theorem 4).

:func:`invert`   minimise J(z) = 1/2 ||A (G(z) - y)||^2 for a batch of independent trials
                 (one latent, one mask, one start per trial) by gradient descent or Adam,
                 all trials advancing together as one array computation
                 (:func:`~verify.inversion.optimisers.descend` on a
                 :class:`~verify.inversion.losses.Loss`).
:func:`recover`  draw y = A G(z*) (+ noise), call :func:`invert` (or, with
                 ``method="lp"``, :func:`~verify.inversion.lp.invert_lp`), and score it:
                 success iff ||z_hat - z*|| / ||z*|| <= ``success_tol``, with the success
                 rate's 95% Wilson interval.
:func:`~verify.inversion.experiment.run_recovery` the experiment on a Config.

Negation safeguards (``negation=``)
-----------------------------------
``None``       plain descent.
``"restart"``  the paper's script: descend, restart from the negated answer, keep the
               answer with the smaller loss.
``"flip"``     Huang, Hand, Heckel, Voroninski (2018): at every iteration, when
               J(-z) < J(z), replace z by -z (and mirror Adam's first moment).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import invalid
from ..network import Network
from ..rng import as_generator
from ..stats import wilson_interval
from ._inputs import as_masks, check_network, positive
from .losses import BatchLastLoss, check_dtype, select_loss
from .lp import invert_lp
from .optimisers import (PAD, Method, _padded_width, blas_limit, default_lr, descend, gd_lr,
                         pad_columns)

Negation = Literal[None, "restart", "flip"]

#: Default success tolerance on ||z_hat - z*|| / ||z*||. Recovery is bimodal (a converged
#: run reaches ~1e-6 or better, a failed one sits at O(1) from z*, e.g. near -rho z*), so
#: any threshold between ~1e-4 and ~1e-1 gives the same verdicts; 1e-3 is "exact to three
#: digits" as in the paper's "perfect recovery".
SUCCESS_TOL = 1e-3
#: Default relative-change tolerance: a trial stops when ||z_{t+1} - z_t|| <= tol ||z_t||.
TOL = 1e-9
#: The same in float32: a relative step of 1e-6 is ~8 float32 epsilons (1.19e-7), the
#: rounding level of z itself; 1e-9 could only be met by a step that rounds away.
TOL32 = 1e-6
#: The smallest success tolerance float32 recovery is judged at: its answers carry a
#: relative error of ~1e-5 from rounding (the residual's float32 rounding, amplified by
#: the conditioning of A J_G); a threshold of 1e-4 leaves a factor 10 above that. The
#: default, SUCCESS_TOL = 1e-3, is reachable by both types.
SUCCESS_TOL32_MIN = 1e-4


# ============================================================== results
@dataclass(frozen=True, eq=False)
class InversionResult:
    """The answer of :func:`invert` for a batch of b trials.

    Attributes
    ----------
    z_hat : ndarray (b, n0)
        The latent codes found.
    loss : ndarray (b,)
        J(z_hat) = 1/2 ||A (G(z_hat) - y)||^2.
    iterations : ndarray (b,) of int
        Iterations used per trial (both passes for ``negation="restart"``).
    converged : ndarray (b,) of bool
        The relative-change tolerance was met before the iteration cap (in the pass
        whose answer was kept).
    flips : ndarray (b,) of int
        Negations taken (``flip``: per-iteration flips; ``restart``: 1 if the restarted
        answer was kept).
    method, negation : str
    settings : dict
        lr, iterations cap, tol, backend (JSON-able).
    elapsed_s : float
    """

    z_hat: np.ndarray
    loss: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    flips: np.ndarray
    method: str
    negation: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0


@dataclass(frozen=True, eq=False)
class RecoveryStats:
    """Scored recovery of b trials (:func:`recover`).

    ``success[t]`` iff ``rel_error[t] = ||z_hat - z*|| / ||z*|| <= success_tol``;
    ``success_rate`` with its 95% Wilson interval ``(ci_low, ci_high)``.
    """

    success: np.ndarray
    rel_error: np.ndarray
    trials: int
    recovered: int
    success_rate: float
    ci_low: float
    ci_high: float
    median_rel_error: float
    success_tol: float
    noise: float
    z_star: np.ndarray
    result: InversionResult

    @property
    def iterations(self) -> np.ndarray:
        return self.result.iterations

    def to_dict(self) -> dict[str, Any]:
        """The keys of ``verify invert --json`` (verify/cli/README.md) that come from the
        recovery."""
        return {"trials": self.trials, "recovered": self.recovered,
                "success_rate": self.success_rate, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "median_rel_error": self.median_rel_error,
                "iterations": float(np.median(self.result.iterations)),
                "iterations_max": int(np.max(self.result.iterations)),
                "converged": int(np.sum(self.result.converged)),
                "success_tol": self.success_tol, "noise": self.noise,
                "method": self.result.method, "negation": self.result.negation,
                **{k: v for k, v in self.result.settings.items() if k not in ("method",)}}


# ============================================================== inversion

def _given_init(init, b: int, n0: int) -> np.ndarray:
    """The caller's starting points as a finite float64 ``(b, n0)`` array (one row is
    taken as a batch of one), or VerifyError naming ``init``."""
    init = np.asarray(init, dtype=np.float64)
    if init.ndim == 1:
        init = init[None, :]
    if init.shape != (b, n0):
        raise invalid("init", f"shape ({b}, {n0})", init.shape)
    if not np.all(np.isfinite(init)):
        raise invalid("init", "finite values", "NaN or infinite entries")
    return init

def invert(network: Network, y: np.ndarray, masks=None, *, method: Method = "adam",
           lr: float | None = None, iterations: int = 1000, tol: float | None = None,
           negation: Negation = None, init: np.ndarray | None = None, rng=None,
           init_scale: float = 1.0, backend="auto",
           blas_threads: int | None = None, callback=None, dtype="float64",
           chunk: int | None = None) -> InversionResult:
    """Minimise J(z) = 1/2 ||A_t (G(z) - y_t)||^2 for every trial t of a batch.

    Parameters
    ----------
    network : Network
    y : ndarray (b, n_d)
        Measurements in the full-length representation (entries outside the mask are
        ignored), or (n_d,) for one trial.
    masks : MaskBatch, bool ndarray (b, n_d) or (n_d,), Subsampling, or None (full)
        The observed entries of each trial (A_t = rows of the identity).
    method : {"adam", "gd"}
        Adam (betas 0.9, 0.999, eps 1e-8) or plain gradient descent.
    lr : float, optional
        Step size; default 0.01 for Adam; for GD one per trial, 1 / (2 L_t) with
        L_t = ||A_t G(z0)||^2 / ||z0||^2 (the curvature of J along z for a positively
        homogeneous network), halved whenever that trial's loss rises.
    iterations : int
        Iteration cap (per pass).
    tol : float, optional
        Per-trial stop when ||z_{t+1} - z_t|| <= tol ||z_t||; stopped trials stop changing.
        Default :data:`TOL` in float64, :data:`TOL32` in float32 (a relative step below
        ~8 float32 epsilons is rounding).
    negation : {None, "restart", "flip"}
        The negation safeguard (module docstring).
    init : ndarray (b, n0), optional
        Starting points; default ``init_scale`` * N(0, I) from ``rng``.
    rng : Generator, int or None
    backend : {"auto", "arcs", "batch-last", "engine"}
        ``auto``: ``arcs`` where it applies, else ``batch-last``
        (:func:`~verify.inversion.losses.select_loss`).
    blas_threads : int or None
        BLAS threads during the loop (None: the toolkit's policy, :mod:`verify.threads`:
        ``--threads`` / ``VERIFY_BLAS_THREADS`` / default one thread).
    callback : callable, optional
        ``callback(pass_index, iteration, n_running)`` every 25 iterations (progress bars;
        with chunks, ``iteration`` runs over the chunks' iterations in turn).
    dtype : {"float64", "float32"}
        What the descent computes in (the loss, its buffers, z and the optimiser's state);
        ``z_hat`` is returned as float64 either way.
    chunk : int, optional
        Trials per block: blocks run one after the other through one loss (its buffers
        sized for one block), so memory is bounded by the block, not the batch. Every
        trial's arithmetic is its own, so the answers are the same for every chunk size.
        None: one block.

    Returns
    -------
    InversionResult
        Never raises for a run that does not converge: ``converged`` is False.

    Notes
    -----
    lemmas/README.md, section 9. The gradient is reverse mode, grad J = J_G(z)^T A^T A (G(z) - y).
    """
    t0 = time.perf_counter()
    check_network(network)
    spec = network.spec
    n, n0 = spec.output_dim, spec.latent_dim
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] != n:
        raise invalid("y", f"shape (b, {n}) or ({n},)", y.shape)
    b = y.shape[0]
    if b < 1:
        raise invalid("y", "at least one trial", y.shape)
    mk = as_masks(masks, b, n)
    if not np.all(np.isfinite(y[mk])):
        raise invalid("y", "finite measurements", "NaN or infinite entries")
    if method not in ("adam", "gd"):
        raise invalid("method", "'adam' or 'gd'", method)
    if negation not in (None, "restart", "flip"):
        raise invalid("negation", "None, 'restart' or 'flip'", negation)
    iterations = positive("iterations", iterations, integer=True)
    dtype = check_dtype(dtype)
    if tol is None:
        tol = TOL if dtype == np.float64 else TOL32
    tol = float(tol) if (isinstance(tol, (int, float)) and not isinstance(tol, bool)
                         and math.isfinite(tol) and tol >= 0) else None
    if tol is None:
        raise invalid("tol", "a finite number >= 0", tol)
    lr = positive("lr", lr, allow_none=True)
    chunk = b if chunk is None else min(b, positive("chunk", chunk, integer=True))
    loss = select_loss(network, backend, method, negation, dtype)
    if init is None:
        positive("init_scale", init_scale)
        z0 = as_generator(rng).normal(0.0, init_scale, size=(n0, b))
    else:
        z0 = np.ascontiguousarray(_given_init(init, b, n0).T)
    parts = []
    with blas_limit(blas_threads), np.errstate(over="ignore", invalid="ignore"):
        for lo in range(0, b, chunk):
            rows = slice(lo, min(b, lo + chunk))
            parts.append(_invert_block(loss, y[rows], mk[rows], z0[:, rows], method, lr,
                                       iterations, tol, negation, dtype, callback))
    z, val, used, conv, flips, lr_used = (np.concatenate(a, axis=-1) for a in zip(*parts))
    lr_out = float(lr_used[0]) if lr is not None or default_lr(method) is not None \
        else "per trial: 1/(2 ||A G(z0)||^2/||z0||^2)"
    settings = {"method": method, "lr": lr_out, "iterations_cap": iterations, "tol": tol,
                "negation": negation, "backend": loss.name, "dtype": dtype.name}
    if chunk < b:
        settings["chunk"] = chunk
    return InversionResult(np.ascontiguousarray(z.T, dtype=np.float64), val, used, conv, flips,
                           method, negation, settings, time.perf_counter() - t0)


def _invert_block(loss, y, mk, z0, method, lr, iterations, tol, negation, dtype, callback):
    """One block of :func:`invert`: its trials' descent (and restart) through ``loss``.
    Returns (z (n0, c), J (c,), iterations, converged, flips, step sizes (c,))."""
    z0 = np.ascontiguousarray(z0, dtype=dtype)
    # batch-last measurements (0 outside the mask) and mask weights, written straight
    # into PAD-wide buffers (descend uses them as they are: no second copy)
    c, width = z0.shape[1], _padded_width(z0.shape[1])
    yT = np.zeros((y.shape[1], width), dtype)
    np.copyto(yT[:, :c], y.T, where=mk.T, casting="same_kind")
    wT = np.zeros((y.shape[1], width), dtype)
    wT[:, :c] = mk.T
    if lr is None:
        lr = default_lr(method)
        if lr is None:
            lr = gd_lr(loss, z0, wT)
    lr = np.broadcast_to(np.asarray(lr, np.float64), (z0.shape[1],))
    kw = dict(method=method, lr=lr, iterations=iterations, tol=tol, flip=negation == "flip")
    cb = None if callback is None else (lambda it, k: callback(0, it, k))
    z, val, used, conv, flips = descend(loss, z0, yT, wT, callback=cb, **kw)
    if negation == "restart":
        cb = None if callback is None else (lambda it, k: callback(1, it, k))
        z2, val2, used2, conv2, _ = descend(loss, -z, yT, wT, callback=cb, **kw)
        better = val2 < val
        z[:, better] = z2[:, better]
        val = np.where(better, val2, val)
        used = used + used2
        conv = np.where(better, conv2, conv)
        flips = better.astype(np.int64)
    return z, np.asarray(val, np.float64), used, conv, flips, lr


#: :func:`polish` stops a row whose loss is at rounding level: J <= POLISH_ROUNDING *
#: 1/2 ||A y||^2 (a relative residual of 1e-12, far above float64 rounding of an exact fit,
#: ~1e-32 relative, and far below any visible misfit).
POLISH_ROUNDING = 1e-24
#: Gauss-Newton steps :func:`polish` takes at most: from inside the basin of z* the error
#: squares every step (zero residual), so a handful reaches rounding from ~1e-2.
POLISH_ITERS = 6


def polish(network: Network, z: np.ndarray, y: np.ndarray, masks=None, *,
           iters: int = POLISH_ITERS, rounding: float = POLISH_ROUNDING,
           chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A few damped Gauss-Newton steps on each row of ``z`` (b, n0): the final polish of a
    descent's answer (lemmas/README.md, section 9).

    Each step is z <- z - alpha H^+ grad J with H = J_G^T A^T A J_G
    (:func:`~verify.inversion.optimisers.gauss_newton_direction`), alpha the largest of
    1, 1/2, ..., 1/128 that lowers J (:func:`~verify.inversion.optimisers.damped_newton`):
    it never raises J, so a polished answer is never worse than the one given. A row
    stops at rounding level (``rounding`` * 1/2 ||A y||^2), when no step lowers J, or
    after ``iters`` steps. ``y`` and ``masks`` as for :func:`invert`. Rows are processed
    in chunks of ``chunk`` (the Jacobian takes b n0 n_d floats).

    Returns
    -------
    z : ndarray (b, n0)
    loss : ndarray (b,)
        J at the polished points.
    """
    from ..measurements import MaskBatch
    from ..objective import Objective
    from .optimisers import damped_newton, gauss_newton_direction

    check_network(network)
    z = np.array(z, dtype=np.float64, ndmin=2)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    b, n = y.shape
    if z.shape != (b, network.spec.latent_dim):
        raise invalid("z", f"shape ({b}, {network.spec.latent_dim})", z.shape)
    iters = positive("iters", iters, integer=True)
    mk = as_masks(masks, b, n)
    y = np.where(mk, y, 0.0)
    weights = mk.astype(np.float64)
    y2 = 0.5 * np.sum(y * y, axis=1)

    def objective(rows):
        return Objective(network, MaskBatch(mk[rows]), y[rows])

    def direction(rows, zr):
        val, _g, d, _gj = gauss_newton_direction(objective(rows), zr, weights[rows])
        return val, d

    out = np.empty_like(z)
    with np.errstate(over="ignore", invalid="ignore"):
        for lo in range(0, b, max(1, int(chunk))):
            rows = np.arange(lo, min(b, lo + int(chunk)))
            ok = np.all(np.isfinite(z[rows]), axis=1)
            out[rows] = z[rows]
            r = rows[ok]
            if r.size == 0:
                continue
            end, _ = damped_newton(
                z[r], lambda idx, zr: direction(r[idx], zr),
                lambda idx, zc: objective(r[idx]).value(zc), iters=iters,
                at_rounding=lambda idx, cur: cur <= rounding * y2[r[idx]],
                min_step=np.zeros(len(z)))
            out[r] = end
        loss = np.full(b, np.nan)
        fin = np.all(np.isfinite(out), axis=1)
        if fin.any():
            rows = np.flatnonzero(fin)
            loss[rows] = objective(rows).value(out[rows])
    return out, loss


# ============================================================== scoring
def _lp_as_result(network, y, mk) -> InversionResult:
    """:func:`invert_lp` in the shape of an :class:`InversionResult` (iterations = LPs
    solved; converged = every layer's LP solved)."""
    lp = invert_lp(network, y, mk)
    loss = BatchLastLoss(network).value(np.ascontiguousarray(lp.z_hat.T),
                                         np.ascontiguousarray(np.where(mk, y, 0.0).T),
                                         np.ascontiguousarray(mk.T, dtype=np.float64))
    d = network.spec.depth
    return InversionResult(lp.z_hat, loss, np.full(len(loss), d), np.all(lp.status == 0, axis=1),
                           np.zeros(len(loss), np.int64), "lp", None,
                           {"method": "lp", "lr": None, "iterations_cap": d, "tol": None,
                            "negation": None, "backend": "scipy.optimize.linprog (HiGHS)"},
                           lp.elapsed_s)


def relative_errors(z_hat: np.ndarray, z_star: np.ndarray) -> np.ndarray:
    """||z_hat - z*|| / ||z*|| per row (inf where z* = 0 and z_hat != z*)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = np.linalg.norm(np.asarray(z_hat) - z_star, axis=1)
        s = np.linalg.norm(z_star, axis=1)
        return np.where(s > 0, d / np.where(s > 0, s, 1.0), np.where(d > 0, np.inf, 0.0))


#: :func:`measure` runs the engine's forward pass on at most this many trials at a time
#: (a multiple of PAD): its features are then a fixed cost, not a per-trial one
#: (:mod:`verify.inversion.memory`).
MEASURE_BLOCK = 64


def measure(network: Network, z_star: np.ndarray, masks=None, *, noise: float = 0.0,
            rng=None) -> np.ndarray:
    """y = A G(z*) + sigma * xi (xi ~ N(0, I) on the observed entries), full-length
    ``(b, n_d)`` with zeros outside each mask."""
    z_star = np.asarray(z_star, dtype=np.float64)
    b = len(z_star)
    # blocks of MEASURE_BLOCK rows (a multiple of PAD, the last one padded to one), so
    # that each trial's bits do not depend on the batch (see
    # verify.inversion.optimisers.PAD) and the engine's forward pass holds one block's
    # features, not the batch's
    x = np.empty((b, network.spec.output_dim))
    for lo in range(0, b, MEASURE_BLOCK):
        hi = min(b, lo + MEASURE_BLOCK)
        zb = pad_columns(z_star[lo:hi].T, -(-(hi - lo) // PAD) * PAD).T
        x[lo:hi] = network.forward(zb)[:hi - lo]
    mk = as_masks(masks, x.shape[0], x.shape[1])
    if noise:
        x += noise * as_generator(rng).normal(size=x.shape)
    x[~mk] = 0.0
    return x


def _recover_in_chunks(network, z_star, mk, noise, gen, chunk, kw) -> InversionResult:
    """:func:`recover`'s measurement and inversion, ``chunk`` trials at a time, drawing
    from ``gen`` exactly what the one-block path draws: the noise of every trial in
    trial order (replayed block by block from a copy of the stream), then the starts."""
    import copy

    b, n0 = z_star.shape
    noise_gen = copy.deepcopy(gen) if noise else None
    if noise:  # advance past the noise block by block (never the whole (b, n_d) at once)
        n = network.spec.output_dim
        for lo in range(0, b, chunk):
            gen.normal(size=(min(b, lo + chunk) - lo, n))
    init = kw.pop("init", None)
    if init is None:
        init_scale = positive("init_scale", kw.pop("init_scale", 1.0))
        init = gen.normal(0.0, init_scale, size=(n0, b)).T
    else:
        init = _given_init(init, b, n0)
    kw.pop("rng", None)
    loss = select_loss(network, kw.pop("backend", "auto"), kw.get("method", "adam"),
                       kw.get("negation"), kw.get("dtype", "float64"))
    parts = []
    t0 = time.perf_counter()
    for lo in range(0, b, chunk):
        rows = slice(lo, min(b, lo + chunk))
        with blas_limit(kw.get("blas_threads")):
            y = measure(network, z_star[rows], mk[rows], noise=noise, rng=noise_gen)
        parts.append(invert(network, y, mk[rows], init=init[rows], backend=loss, **kw))
    first = parts[0]
    settings = dict(first.settings, chunk=chunk)
    if not all(isinstance(p.settings["lr"], float) for p in parts):
        settings["lr"] = "per trial: 1/(2 ||A G(z0)||^2/||z0||^2)"
    return InversionResult(*(np.concatenate([getattr(p, k) for p in parts])
                             for k in ("z_hat", "loss", "iterations", "converged", "flips")),
                           first.method, first.negation, settings, time.perf_counter() - t0)


def recover(network: Network, z_star: np.ndarray, masks=None, *, noise: float = 0.0,
            success_tol: float = SUCCESS_TOL, rng=None, **invert_kwargs) -> RecoveryStats:
    """Recover each row of ``z_star`` from its masked image and score the answers.

    Parameters
    ----------
    network : Network
    z_star : ndarray (b, n0)
        Ground-truth latents, one per trial.
    masks : as for :func:`invert`
    noise : float
        sigma >= 0 of additive Gaussian noise on the observed entries.
    success_tol : float
        Success iff ||z_hat - z*|| / ||z*|| <= success_tol.
    rng : Generator, int or None
        Noise first, then the starting points (one stream, in that order).
    **invert_kwargs
        Passed to :func:`invert` (method, lr, iterations, tol, negation, init, backend,
        dtype); ``method="lp"`` uses :func:`invert_lp` instead (ReLU networks).
        ``chunk``: trials per block, measured and inverted one block at a time (the
        measurements of one block in memory, not the batch's), with the same draws from
        ``rng`` in the same order as without blocks, so the answers are the same.

    Returns
    -------
    RecoveryStats
    """
    check_network(network)
    z_star = np.asarray(z_star, dtype=np.float64)
    if z_star.ndim == 1:
        z_star = z_star[None, :]
    n0 = network.spec.latent_dim
    if z_star.ndim != 2 or z_star.shape[1] != n0 or z_star.shape[0] < 1:
        raise invalid("z_star", f"shape (b, {n0}) with b >= 1", z_star.shape)
    if not np.all(np.isfinite(z_star)):
        raise invalid("z_star", "finite values", "NaN or infinite entries")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) \
            or not math.isfinite(float(noise)) or noise < 0:
        raise invalid("noise", "a finite number >= 0", noise)
    success_tol = positive("success_tol", success_tol)
    gen = as_generator(rng)
    b = z_star.shape[0]
    mk = as_masks(masks, b, network.spec.output_dim)
    chunk = invert_kwargs.pop("chunk", None)
    chunk = b if chunk is None else min(b, positive("chunk", chunk, integer=True))
    if invert_kwargs.get("method") == "lp":
        res = _lp_as_result(network, measure(network, z_star, mk, noise=float(noise), rng=gen),
                            mk)
    elif chunk >= b:
        with blas_limit(invert_kwargs.get("blas_threads")):
            y = measure(network, z_star, mk, noise=float(noise), rng=gen)
        res = invert(network, y, mk, rng=gen, **invert_kwargs)
    else:
        res = _recover_in_chunks(network, z_star, mk, float(noise), gen, chunk, invert_kwargs)
    err = relative_errors(res.z_hat, z_star)
    success = err <= success_tol  # NaN (diverged) compares False: not recovered
    k = int(success.sum())
    lo, hi = wilson_interval(k, b)
    return RecoveryStats(success, err, b, k, k / b, lo, hi, float(np.median(err)),
                         success_tol, float(noise), z_star, res)


__all__ = ["InversionResult", "RecoveryStats", "invert", "recover", "measure",
           "relative_errors", "polish", "SUCCESS_TOL", "TOL", "TOL32", "SUCCESS_TOL32_MIN", "POLISH_ROUNDING",
           "POLISH_ITERS", "Method", "Negation"]
