"""The optimisers: Adam and gradient descent over a batch of trials (:func:`descend`),
with their constants public, and damped Gauss-Newton (:func:`gauss_newton_direction`,
:func:`damped_newton`).

Adam and GD advance every trial of a batch together through a :class:`~.losses.Loss`
(batch-last: ``z`` is ``(n0, b)``). Gauss-Newton works batch-first (``z`` is
``(b, n0)``) on the engine's :class:`~verify.objective.Objective` and
:meth:`~verify.network.Network.jacobian`: for a ReLU network without bias, J is the
convex quadratic 1/2 ||A M z - y||^2 inside a linear region, and its Hessian there is
exactly the Gauss-Newton matrix H = J_G^T A^T A J_G.
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np

Method = Literal["adam", "gd"]

#: Adam's first- and second-moment decay rates and its denominator guard (Kingma & Ba's
#: defaults, also PyTorch's and the paper's script's).
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8
#: Adam's default step size: a per-coordinate step scale, invariant to the network's gain.
ADAM_LR = 0.01
#: GD's default step size per trial is GD_LR_SCALE / L_t with L_t = ||A_t G(z0)||^2 /
#: ||z0||^2, the curvature of J along z for a positively homogeneous network.
GD_LR_SCALE = 0.5
#: GD counts a loss above GD_RISE_TOL relative as a rise: the step is undone and that
#: trial's step size multiplied by GD_BACKOFF.
GD_RISE_TOL = 1e-12
GD_BACKOFF = 0.5
#: Stopped trials are compacted out of the working arrays every COMPACT_EVERY
#: iterations (or when they are a quarter of them).
COMPACT_EVERY = 25
#: The progress callback is called every CALLBACK_EVERY iterations (and at the last).
CALLBACK_EVERY = 25
#: Guard against division by zero norms.
TINY = np.finfo(np.float64).tiny

#: Gauss-Newton: eigenvalues of H below GN_RCOND times its largest are treated as 0 in
#: the pseudo-inverse (rounding).
GN_RCOND = 1e3 * np.finfo(float).eps
#: Step fractions tried, largest first, by :func:`damped_newton`'s backtracking search.
NEWTON_ALPHAS = 0.5 ** np.arange(8)


# ============================================================== Adam and GD
def default_lr(method: str) -> float | None:
    """Adam: :data:`ADAM_LR` (per-coordinate step scale, invariant to the network's gain).
    GD: None, meaning estimated per trial (:func:`gd_lr`)."""
    return ADAM_LR if method == "adam" else None


def gd_lr(loss, z0: np.ndarray, w: np.ndarray) -> np.ndarray:
    """GD's step size per trial, GD_LR_SCALE / L_t with L_t = ||A_t G(z0)||^2 / ||z0||^2
    (the curvature of J along z for a positively homogeneous network); ``z0`` (n0, b),
    ``w`` the mask weights (n_d, b)."""
    b = z0.shape[1]
    zp, wp = pad_columns(z0, _padded_width(b)), pad_columns(w, _padded_width(b))
    ax = (loss.forward(zp) * wp)[:, :b]
    curv = np.einsum("ij,ij->j", ax, ax) / np.maximum(np.einsum("ij,ij->j", z0, z0), TINY)
    return GD_LR_SCALE / np.maximum(curv, TINY)


def descend(loss, z, y, w, *, method, lr, iterations, tol, flip, callback=None,
             compact_every=COMPACT_EVERY):
    """Advance every column of ``z`` (n0, b) together.

    A column that meets the tolerance is frozen at once (its step is zero from then
    on) and frozen columns are compacted out of the working arrays every
    ``compact_every`` iterations or when they are a quarter of them, so they cost
    nothing. ``lr`` is a scalar or one step size per column; for GD a column whose
    loss rises is sent back to its previous point with its step halved (a monotone
    safeguard costing no extra pass).
    """
    n0, b_in = z.shape
    lr = np.broadcast_to(np.asarray(lr, float), (b_in,))
    b = _padded_width(b_in)
    z, lrw = (pad_columns(a, b) for a in (z, lr))
    # y and w are only read: used as they are when already PAD-wide (y, w may have more
    # columns than z: the zero columns a caller padded them with)
    y, w = (a if a.shape[-1] == b and a.flags.c_contiguous else pad_columns(a[..., :b_in], b)
            for a in (y, w))
    lrw = lrw.astype(z.dtype)
    used = np.zeros(b, np.int64)
    conv = np.zeros(b, bool)
    flips = np.zeros(b, np.int64)
    idx = np.arange(b)                      # trials in the working arrays
    live = np.arange(b) < b_in              # ... of which still running (not padding)
    zw, yw, ww = z, y, w
    m = np.zeros_like(zw)
    v = np.zeros_like(zw)
    z_prev, val_prev = zw.copy(), np.full(b, np.inf)
    t_adam = 0
    for it in range(1, iterations + 1):
        val, g = loss.value_and_grad(zw, yw, ww)
        if method == "adam":
            t_adam += 1
            m *= ADAM_BETA1
            m += (1 - ADAM_BETA1) * g
            v *= ADAM_BETA2
            v += (1 - ADAM_BETA2) * (g * g)
            step = ((lrw / (1 - ADAM_BETA1 ** t_adam)) * m
                    / (np.sqrt(v / (1 - ADAM_BETA2 ** t_adam)) + ADAM_EPS))
        else:
            bad = ~(val <= val_prev * (1.0 + GD_RISE_TOL))  # a rise, or a non-finite loss
            step = lrw * g
            if bad.any():
                zw[:, bad] = z_prev[:, bad]
                val = np.where(bad, val_prev, val)
                lrw[bad] *= GD_BACKOFF
                step[:, bad] = 0.0
            z_prev[...] = zw
            val_prev = val
        if flip:
            # Huang et al. (2018): jump to -z when it is better; a flipped trial takes
            # the jump instead of this iteration's step (its gradient was at +z).
            f = (loss.value(-zw, yw, ww) < val) & live
            if f.any():
                step[:, f] = 2.0 * zw[:, f]
                m[:, f] = -m[:, f]
                flips[idx[f]] += 1
        step[:, ~live] = 0.0
        zw -= step
        used[idx[live]] = it
        snorm = np.sqrt(np.einsum("ij,ij->j", step, step))
        znorm = np.sqrt(np.einsum("ij,ij->j", zw, zw))
        done = live & (snorm <= tol * np.maximum(znorm, TINY))
        if method == "gd":
            done &= ~bad  # a rejected step is not convergence
        if done.any():
            conv[idx[done]] = True
            live &= ~done
        if callback is not None and (it % CALLBACK_EVERY == 0 or it == iterations):
            callback(it, int(live.sum()))
        if it == iterations or not live.any():
            break
        dead = ~live
        if dead.any() and (it % compact_every == 0 or dead.mean() > 0.25):
            keep = live.copy()  # the live columns, plus dead ones up to a multiple of PAD
            keep[np.flatnonzero(dead)[:(-int(live.sum())) % PAD]] = True
            if not keep.all():
                z[:, idx[dead]] = zw[:, dead]
                # (a[:, keep] comes out column-major: made row-major again, or every
                # later pass would mix layouts, up to 20x slower on a wide output)
                idx, lrw, val_prev = idx[keep], lrw[keep], val_prev[keep]
                zw, yw, ww, m, v, z_prev = (np.ascontiguousarray(a[:, keep])
                                            for a in (zw, yw, ww, m, v, z_prev))
                live = live[keep]
    z[:, idx] = zw
    return (z[:, :b_in], loss.value(z, y, w)[:b_in], used[:b_in], conv[:b_in],
            flips[:b_in])


#: The working arrays of :func:`descend` (and :func:`gd_lr`) always hold a multiple of
#: PAD columns (zero columns pad a batch; compaction keeps some frozen columns): a BLAS
#: kernel treats a column at the ragged edge of a product with another instruction
#: sequence (OpenBLAS: an edge kernel, or gemv for one column) and so another rounding,
#: which would make a trial's bits depend on how many others run beside it. With every
#: width a multiple of PAD (8: the widest unroll of the double and single kernels), each
#: trial's arithmetic is the same in any batch or chunk (tested bit for bit).
PAD = 8


def _padded_width(b: int) -> int:
    return -(-b // PAD) * PAD


def pad_columns(a: np.ndarray, width: int) -> np.ndarray:
    """``a`` (..., b) with zero columns appended up to ``width`` (a copy either way)."""
    out = np.zeros(a.shape[:-1] + (width,), a.dtype)
    out[..., :a.shape[-1]] = a
    return out


def blas_limit(threads: int | None = None):
    """BLAS threads for the loop: :func:`verify.threads.blas_threads` (the toolkit's one
    policy; None: the policy in force, default one thread -- the loop's products are
    thin, inner dimension C_{i-1}, and memory-bound; measured ratios in
    :mod:`verify.threads`). A context manager that restores the previous limits."""
    from ..threads import blas_threads

    return blas_threads(threads)


# ============================================================== Gauss-Newton
def pinv_apply(H: np.ndarray, g: np.ndarray, *, rcond: float = GN_RCOND) -> np.ndarray:
    """H^+ g per row for symmetric positive semi-definite ``H`` (b, n, n) and ``g``
    (b, n): eigenvalues below ``rcond`` times the largest count as 0."""
    lam, V = np.linalg.eigh(H)
    cut = rcond * np.maximum(lam[:, -1:], 1e-300)
    inv = np.where(lam > cut, 1.0 / np.where(lam > cut, lam, 1.0), 0.0)
    return np.einsum("bij,bj->bi", V, inv * np.einsum("bji,bj->bi", V, g))


def gauss_newton_direction(objective, z: np.ndarray, weights: np.ndarray, *,
                           rcond: float = GN_RCOND):
    """(J, grad J, d = H^+ grad J, J_G^T A^T r) per row of ``z`` (b, n0), with
    H = J_G^T A^T A J_G (the exact Hessian inside a linear region of a ReLU network
    without bias).

    ``objective`` is the engine's :class:`~verify.objective.Objective` of these rows and
    ``weights`` (b, n_d) its mask as 0/1 floats. grad J is the engine's reverse mode;
    the last item is the same gradient from the tangent Jacobian
    (:meth:`~verify.network.Network.jacobian`), for a self-check. Memory: a
    (b, n0, n_d) Jacobian; chunk the rows to bound it.
    """
    g = objective.gradient(z)
    out, jac = objective.network.jacobian(z)
    jt = jac.transpose(0, 2, 1)  # (b, n0, n_d), contiguous: rows of J_G^T
    r = objective.residual(out)
    val = 0.5 * np.sum(r * r, axis=-1)
    H = np.matmul(jt * weights[:, None, :], jt.transpose(0, 2, 1))
    g_jac = np.einsum("bkn,bn->bk", jt, r)
    return val, g, pinv_apply(H, g, rcond=rcond), g_jac


def damped_newton(z: np.ndarray, direction: Callable, merit: Callable, *, iters: int,
                  at_rounding: Callable, min_step: np.ndarray,
                  alphas: np.ndarray = NEWTON_ALPHAS):
    """Damped Newton steps z <- z - alpha d, alpha the largest of ``alphas`` that lowers
    the merit, every active row of ``z`` (b, n0) together.

    ``direction(rows, z_rows) -> (merit, d)`` gives the merit at the rows' points and
    their directions; ``merit(rows, points) -> (k,)`` the merit at candidate points;
    ``at_rounding(rows, merit) -> bool`` marks rows already at rounding level (they stop
    without a search). ``rows`` are indices into ``z``. A row stops when no step lowers
    its merit or its accepted step ``alpha ||d||`` is <= ``min_step[row]``.
    Returns the end points and the number of row-evaluations of ``direction``.
    """
    z = z.copy()
    active = np.arange(len(z))
    evals = 0
    for _ in range(iters):
        if active.size == 0:
            break
        za = z[active]
        cur, d = direction(active, za)
        evals += active.size
        moved = np.zeros(active.size, bool)
        todo = np.flatnonzero(~at_rounding(active, cur))
        for alpha in alphas:
            if todo.size == 0:
                break
            cand = za[todo] - alpha * d[todo]
            new = merit(active[todo], cand)
            ok = new < cur[todo]
            za[todo[ok]] = cand[ok]
            moved[todo[ok]] = alpha * np.linalg.norm(d[todo[ok]], axis=-1) \
                > min_step[active[todo[ok]]]
            todo = todo[~ok]
        z[active] = za
        active = active[moved]
    return z, evals


__all__ = ["ADAM_BETA1", "ADAM_BETA2", "ADAM_EPS", "ADAM_LR", "GD_LR_SCALE", "GD_RISE_TOL",
           "GD_BACKOFF", "COMPACT_EVERY", "CALLBACK_EVERY", "GN_RCOND", "NEWTON_ALPHAS",
           "Method", "PAD", "pad_columns", "default_lr", "gd_lr", "descend", "blas_limit", "pinv_apply",
           "gauss_newton_direction", "damped_newton"]
