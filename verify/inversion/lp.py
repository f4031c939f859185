"""Lei, Jalal, Dhillon, Dimakis (NeurIPS 2019): invert a ReLU network one layer at a
time by linear programming (``scipy.optimize.linprog``), the second solver."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import invalid
from ..network import Network
from ._inputs import as_masks, check_network


@dataclass(frozen=True, eq=False)
class LPResult:
    """Answer of :func:`invert_lp`: ``z_hat`` (b, n0); ``slack`` (b, d): the optimal
    l_inf misfit t of each layer's LP (0 for exact, noiseless data); ``status`` (b, d):
    scipy's linprog status per layer (0 = solved)."""

    z_hat: np.ndarray
    slack: np.ndarray
    status: np.ndarray
    elapsed_s: float = 0.0


#: Below the last layer the "observed" x_i is the previous LP's answer, exact only to the
#: solver's feasibility tolerance (HiGHS: 1e-7): entries below LP_ZERO * max|x_i| count as
#: zeros (inequalities), not as tiny positive equalities.
LP_ZERO = 1e-6


def _lp_layer(W, x_obs, rows, nonneg: bool, zero: float = 0.0):
    """min t s.t. |W_r x - x_r| <= t on observed positive rows, W_r x <= t on observed
    zero rows (Lei et al. 2019), x >= 0 when x is itself a ReLU output."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    Wo = W[rows]
    pos = x_obs > zero
    n = W.shape[1]
    Wp, Wz = Wo[pos], Wo[~pos]
    ones_p = sp.csr_matrix(np.ones((Wp.shape[0], 1)))
    ones_z = sp.csr_matrix(np.ones((Wz.shape[0], 1)))
    A_ub = sp.vstack([sp.hstack([Wp, -ones_p]), sp.hstack([-Wp, -ones_p]),
                      sp.hstack([Wz, -ones_z])]).tocsr()
    b_ub = np.concatenate([x_obs[pos], -x_obs[pos], np.zeros(Wz.shape[0])])
    c = np.zeros(n + 1)
    c[-1] = 1.0
    bounds = [(0, None) if nonneg else (None, None)] * n + [(0, None)]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.x is None:
        return np.full(n, np.nan), float("nan"), int(res.status)
    return res.x[:n], float(res.x[-1]), int(res.status)


def invert_lp(network: Network, y: np.ndarray, masks=None) -> LPResult:
    """Invert a ReLU network one layer at a time by linear programming (Lei, Jalal,
    Dhillon, Dimakis, NeurIPS 2019), from the last layer down.

    At layer i the output x_i is known on a set of rows (the mask for the last layer,
    every row below): an observed positive entry gives the equality W_r x_{i-1} = x_r,
    an observed zero the inequality W_r x_{i-1} <= 0; with noise both are relaxed by the
    l_inf slack t, which the LP minimises. x_{i-1} >= 0 below the latent. The answer is
    unique when the rows with positive entries have full column rank (an expansive layer
    observed well enough); otherwise the LP returns some feasible point and recovery
    fails, which is reported, not raised.

    Parameters
    ----------
    network : Network
        ReLU activations, no affine (the LP needs sigma = ReLU, no bias).
    y : ndarray (b, n_d) or (n_d,)
        Full-length measurements (entries outside the mask ignored).
    masks : as for :func:`~verify.inversion.invert`

    Notes
    -----
    One LP per layer per trial: the trials are solved one after another (a solver call
    each), unlike :func:`~verify.inversion.invert`.
    """
    t0 = time.perf_counter()
    check_network(network)
    spec = network.spec
    bad = [i for i, l in enumerate(spec.layers) if l.activation != "relu" or l.affine]
    if bad:
        raise invalid("network", "ReLU layers without affine (for the LP inversion)",
                      f"layer {bad[0]}: {spec.layers[bad[0]].activation}"
                      + (" with affine" if spec.layers[bad[0]].affine else ""))
    n = spec.output_dim
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] != n:
        raise invalid("y", f"shape (b, {n}) or ({n},)", y.shape)
    mk = as_masks(masks, y.shape[0], n)
    if not np.all(np.isfinite(y[mk])):
        raise invalid("y", "finite measurements", "NaN or infinite entries")
    mats = [network.layer_matrix(i) for i in range(spec.depth)]
    b, d = y.shape[0], spec.depth
    z_hat = np.empty((b, spec.latent_dim))
    slack = np.empty((b, d))
    status = np.empty((b, d), dtype=np.int64)
    for t in range(b):  # one LP per layer and trial (a solver call, not array work)
        x, rows = y[t][mk[t]], np.flatnonzero(mk[t])
        for i in range(d - 1, -1, -1):
            zero = 0.0 if i == d - 1 else LP_ZERO * float(np.max(np.abs(x), initial=0.0))
            x, slack[t, i], status[t, i] = _lp_layer(mats[i], x, rows, nonneg=i > 0, zero=zero)
            rows = np.arange(mats[i].shape[1])
            if not np.all(np.isfinite(x)):
                slack[t, :i], status[t, :i] = np.nan, -1
                break
        z_hat[t] = x
    return LPResult(z_hat, slack, status, time.perf_counter() - t0)



__all__ = ["LPResult", "LP_ZERO", "invert_lp"]
