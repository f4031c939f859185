"""The WDC numerics: ReLU-merged concentration (Lemma Sup.2; H&V's Weight Distribution
Condition), for the ``concentration`` check and the tests.

For a block B (m rows, k columns) with i.i.d. N(0, 1/m) entries and u, v != 0,

    B_{+,u}^T B_{+,v} = B^T diag(1[B u > 0] 1[B v > 0]) B,    E[...] = Q_{u,v},

and the WDC with constant eps says ||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 <= eps for ALL
pairs (H&V: with probability >= 1 - 8 m exp(-gamma k) when m > c k log k). The paper
applies it to the dense block B_i of each layer (Fig. 2(b)), m = C_i l^dims,
k = C_{i-1}; on the whole layer the statement becomes, after the permutation,
W_{+,x}^T W_{+,y} = blockdiag_p B_{+,x_p}^T B_{+,y_p}, predicted by
blockdiag_p Q_{x_p,y_p} (lemmas/README.md, section 2).

The hot path is :func:`masked_gram`: for P pairs the P Gram matrices are ONE matrix
product ``1[..] (P x m) @ R (m x k(k+1)/2)`` with R the row-wise outer products of B
(upper triangle), never a loop over pairs.

The certified supremum over ALL pairs for blocks with k <= 3 columns is
:mod:`verify.geometry.wdc_exact`; :func:`exact_layer_sup` sets it beside the sampled
eps_hat of one layer.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.sparse as sp

from verify.errors import invalid
from verify.gram import CHUNK_ELEMS, masked_gram, row_outer_products, unpack_upper
from verify.results import Criterion
from verify.stats import wilson_interval

from .blocks import block_diagonal_form
from .wdc_exact import SUPPORTED_K, exact_sup


#: Rounding tolerance of a dot product of length n in float64: |fl(x.y) - x.y| <=
#: gamma_n sum |x_i y_i| with gamma_n ~ n u (Higham, Thm 3.5); 2 n eps covers gamma_n.
ROUNDING = 2.0 * np.finfo(float).eps

# ------------------------------------------------------------------ closed forms
def Q_batch(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Q_{u,v} for stacked pairs (P, k) -> (P, k, k); Q_{u,0} = Q_{0,v} = 0.

    Q = (pi - theta)/(2 pi) I + sin(theta)/(2 pi) M_{u<->v} (Lemma Sup.2), with
    sin(theta) M = s c a a^T + s^2 (a e^T + e a^T) - s c e e^T with a = u_hat,
    e the unit vector along v_hat - c a, s = sin(theta), c = cos(theta), and
    theta = 2 atan2(||a - b||, ||a + b||) (b = v_hat): full precision near 0 and pi,
    exactly 0 and pi for (anti)parallel pairs, so Q_{u,-u} = 0 exactly. Agrees with
    ``verify.formulas.Q`` to rounding away from theta = 0, pi (checked in the tests).
    """
    U, V = np.asarray(U, float), np.asarray(V, float)
    P, k = U.shape
    nu, nv = np.linalg.norm(U, axis=1), np.linalg.norm(V, axis=1)
    zero = (nu == 0) | (nv == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = U / np.where(nu == 0, 1, nu)[:, None]
        b = V / np.where(nv == 0, 1, nv)[:, None]
    dm, dp = np.linalg.norm(a - b, axis=1), np.linalg.norm(a + b, axis=1)
    th = 2.0 * np.arctan2(dm, dp)  # exact 0 and pi for (anti)parallel pairs
    s = dm * dp / 2.0              # sin(theta) = 2 sin(theta/2) cos(theta/2)
    c = (dp**2 - dm**2) / 4.0      # cos(theta)
    e = b - c[:, None] * a
    ne = np.linalg.norm(e, axis=1)
    e = e / np.where(ne > 0, ne, 1)[:, None]
    sinM = (s * c)[:, None, None] * np.einsum("pi,pj->pij", a, a) \
        + (s * s)[:, None, None] * (np.einsum("pi,pj->pij", a, e) + np.einsum("pi,pj->pij", e, a)) \
        - (s * c)[:, None, None] * np.einsum("pi,pj->pij", e, e)
    out = ((np.pi - th) / (2 * np.pi))[:, None, None] * np.eye(k) + sinM / (2 * np.pi)
    out[zero] = 0.0
    return out


def deviations(B: np.ndarray, U: np.ndarray, V: np.ndarray, *, R=None) -> np.ndarray:
    """||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 for stacked pairs (both matrices symmetric,
    so the spectral norm is the largest |eigenvalue|)."""
    D = masked_gram(B, U, V, R=R) - Q_batch(U, V)
    return np.abs(np.linalg.eigvalsh(D)).max(axis=1)


# --------------------------------------------------------- the a priori bound
def eps_bound(m: int, k: int) -> float:
    """The WDC constant the check allows for an m x k block, stated before any data:

        eps(m, k) = sqrt(6 k log(m) / m).

    Notes
    -----
    Derivation (a concentration heuristic with every constant fixed in advance, not a
    theorem and not fitted): write B = G / sqrt(m) with rows g_r ~ N(0, I_k). For unit
    a, a^T B_{+,u}^T B_{+,v} a is the mean over the m rows of
    Y_r = 1[g_r.u > 0] 1[g_r.v > 0] (g_r.a)^2, whose variance is at most
    E[1[g.u > 0] (g.a)^4] = E[(g.a)^4] / 2 = 3/2 (g -> -g symmetry), so the mean has
    variance sigma^2 <= 3 / (2 m). The Gram matrix depends on (u, v) only through the
    pair of sign patterns (1[Bu > 0], 1[Bv > 0]); a central arrangement of m
    hyperplanes in R^k has at most 2 sum_{j<k} C(m-1, j) <= m^k cells (Cover 1965),
    so there are at most N = m^{2k} distinct pairs. The Gaussian maximal inequality
    E max_{i<=N} X_i <= sigma sqrt(2 log N) then gives
    sqrt(2 * 3/(2m) * 2k log m) = sqrt(6 k log m / m): the rate sqrt(k log m / m) of
    H&V's condition m > c k log k, with the constant sqrt(6) from the two numbers 3/2
    (a fourth moment) and 2k (a cell count). It ignores the net over directions a and
    the sub-exponential tail, so it is a heuristic level, not a proof; it is neither
    vacuous at the presets' sizes nor tuned to them.
    """
    if m < 1 or k < 1:
        raise invalid("m, k", "integers >= 1", (m, k))
    return math.sqrt(6.0 * k * math.log(max(m, 2)) / m)  # log 2: a single row has 2 cells


def expansion(m: int, k: int) -> float:
    """m / (k log k), the paper's expansivity (C_i l^dims / (C_{i-1} log C_{i-1}))."""
    return float("inf") if k < 2 else m / (k * math.log(k))


# ---------------------------------------------------------------- pair sets
def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n == 0, 1, n)


def _theta(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    a, b = _unit(U), _unit(V)
    c = np.einsum("pi,pi->p", a, b)
    s = np.linalg.norm(b - c[:, None] * a, axis=1)
    th = np.arctan2(s, c)
    th[(np.linalg.norm(U, axis=1) == 0) | (np.linalg.norm(V, axis=1) == 0)] = np.nan
    return th


#: Angles of the structured pairs: near 0, near pi/2, near pi, and exactly 0, pi/2, pi.
STRUCTURED_ANGLES = (0.0, 1e-8, 1e-4, 1e-2, 0.1, np.pi / 2 - 0.01, np.pi / 2,
                     np.pi / 2 + 0.01, np.pi - 0.1, np.pi - 1e-2, np.pi - 1e-4, np.pi - 1e-8,
                     np.pi)


def wdc_ceiling(B: np.ndarray) -> tuple[float, float]:
    """(||B||_2^2, max(||B||_2^2, 1/2)): the trivial ceiling of ||B_{+,u}^T B_{+,v} -
    Q_{u,v}||_2 over ALL pairs (u, v), measured on the (scaled) block ``B``.

    Derivation. B_{+,u}^T B_{+,v} = B^T D_u D_v B with D_u = diag(1[Bu > 0]): the
    product of the two 0/1 masks is itself a 0/1 mask, so the matrix is positive
    semidefinite for every pair, u = v or not, with norm <= ||B||^2 (dropping rows
    never increases the spectral norm). Q_{u,v} = E[1[g.u > 0] 1[g.v > 0] g g^T] (g ~
    N(0, I_k)) is an expectation of PSD matrices, so PSD, and Q_{u,v} <= E[1[g.u > 0]
    g g^T] = I/2 in the PSD order, so ||Q_{u,v}|| <= 1/2 (Q_{u,0} = 0). For PSD X, Y,
    -Y <= X - Y <= X, so ||X - Y|| <= max(||X||, ||Y||) <= max(||B||^2, 1/2). Every pair
    the check tests (random, structured, adversarial, zero vectors) is covered; an eps
    bound at or above this value is met by any block of this B and tests nothing.
    (Without the PSD argument the triangle inequality gives only ||B||^2 + 1/2.)
    """
    n2 = float(np.linalg.norm(np.asarray(B, float), 2)) ** 2
    return n2, max(n2, 0.5)


def structured_pairs(B: np.ndarray, rng: np.random.Generator, per_angle: int):
    """Pairs at the angles of :data:`STRUCTURED_ANGLES` (v = cos t u + sin t w, w _|_ u;
    v = -u exactly at pi), plus pairs built from B: its top right singular vector t
    (where B_{+,u} is largest), the least-norm u with B u = 1 (as many active rows as
    possible), and a zero vector (Q_{u,0} = 0; B_{+,0} = 0)."""
    k = B.shape[1]
    n = per_angle * len(STRUCTURED_ANGLES)
    th = np.repeat(np.asarray(STRUCTURED_ANGLES), per_angle)
    u = _unit(rng.normal(size=(n, k)))
    w = rng.normal(size=(n, k))
    w = _unit(w - np.einsum("pi,pi->p", w, u)[:, None] * u) if k > 1 else np.zeros((n, k))
    v = np.cos(th)[:, None] * u + np.sin(th)[:, None] * w
    v[th == np.pi] = -u[th == np.pi]
    v[th == 0.0] = u[th == 0.0]
    t = np.linalg.svd(B, full_matrices=False)[2][0]
    star = np.linalg.lstsq(B, np.ones(B.shape[0]), rcond=None)[0]
    r = _unit(rng.normal(size=k))
    extra_u = np.stack([t, t, -t, star, star, star, r])
    extra_v = np.stack([t, -t, -t, star, t, r, np.zeros(k)])
    return np.vstack([u, extra_u]), np.vstack([v, extra_v])


def adversarial_search(B, U0, V0, dev0, rng, *, iters: int, candidates: int, R=None):
    """Local search that maximises ||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 over (u, v).

    A (1 + C) hill-climb on the sphere, all starts at once: each round every start
    proposes ``candidates`` random perturbations (of u, of v, or of both) of size
    sigma plus two guided ones (:func:`_guided_directions`: switch on or off the rows
    that move the top eigenvalue of the deviation), projected back to the sphere, and
    keeps the best if it raises the deviation; sigma grows by 1.5 on success and
    shrinks by 0.6 on failure. The deviation is piecewise smooth in (u, v) (the masks
    jump), so a gradient is not available everywhere; the search does not need one.
    Returns (U, V, deviations, trace of the best value per round).
    """
    U, V = _unit(np.array(U0, float)), _unit(np.array(V0, float))
    best = np.array(dev0, float)
    S, k = U.shape
    sigma = np.full(S, 0.3)
    trace = [float(best.max())]
    steps = np.array([1.0, 0.25])  # guided step sizes, relative to sigma
    for _ in range(iters):  # rounds, not pairs: every round is one batched evaluation
        which = rng.integers(0, 3, size=(S, candidates))  # 0: both, 1: u only, 2: v only
        du = rng.normal(size=(S, candidates, k)) * (which != 2)[..., None] / math.sqrt(k)
        dv = rng.normal(size=(S, candidates, k)) * (which != 1)[..., None] / math.sqrt(k)
        # guided candidates: along the top eigenvector w of the deviation, switch on
        # (lambda > 0) or off (lambda < 0) the rows carrying most of w^T b_r b_r^T w
        gu, gv = _guided_directions(B, U, V, R)
        du = np.concatenate([du, gu[:, None] * steps[None, :, None]], axis=1)
        dv = np.concatenate([dv, gv[:, None] * steps[None, :, None]], axis=1)
        Uc = _unit(U[:, None] + sigma[:, None, None] * du)
        Vc = _unit(V[:, None] + sigma[:, None, None] * dv)
        d = deviations(B, Uc.reshape(-1, k), Vc.reshape(-1, k), R=R).reshape(S, -1)
        j = np.argmax(d, axis=1)
        top = d[np.arange(S), j]
        up = top > best
        U[up], V[up], best[up] = Uc[up, j[up]], Vc[up, j[up]], top[up]
        sigma = np.where(up, np.minimum(sigma * 1.5, 2.0), np.maximum(sigma * 0.6, 1e-3))
        trace.append(float(best.max()))
    return U, V, best, trace


def _guided_directions(B, U, V, R):
    """Unit directions for u and v that raise |w^T (B_{+,u}^T B_{+,v} - Q) w| by
    changing which rows are active, w the top eigenvector of the deviation: for
    lambda > 0 towards the inactive rows b_r with the largest (b_r.w)^2, for
    lambda < 0 away from the active ones (batched over the S current pairs)."""
    lam, vec = np.linalg.eigh(masked_gram(B, U, V, R=R) - Q_batch(U, V))
    idx = np.argmax(np.abs(lam), axis=1)
    S = len(U)
    w = vec[np.arange(S), :, idx]               # (S, k)
    sgn = np.sign(lam[np.arange(S), idx])       # (S,)
    c = (w @ B.T) ** 2                          # (S, m): weight of row r along w
    su, sv = (U @ B.T) > 0, (V @ B.T) > 0
    add = sgn[:, None] > 0
    # rows to switch on for u (off for v alike) when lambda > 0; rows to switch off when < 0
    wu = np.where(add, c * (~su & sv | ~su & ~sv), -c * (su & sv))
    wv = np.where(add, c * (~sv & su | ~su & ~sv), -c * (su & sv))
    return _unit(wu @ B), _unit(wv @ B)


def eps_hat(B: np.ndarray, rng: np.random.Generator,
            budget: dict) -> tuple[float, pd.DataFrame, dict]:
    """eps_hat = sup of ||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 over random, structured and
    adversarially searched pairs, and the diagonal pair (u, u) of each (Lemma Sup.2 / WDC). ``B`` must already be scaled to
    entries of second moment 1/m. Returns (eps_hat, per-pair table, summary)."""
    k = B.shape[1]
    R = row_outer_products(B)
    Ur = rng.normal(size=(budget["random"], k))
    Vr = rng.normal(size=(budget["random"], k))
    Us, Vs = structured_pairs(B, rng, budget["per_angle"])
    U = np.vstack([Ur, Us])
    V = np.vstack([Vr, Vs])
    dev = deviations(B, U, V, R=R)
    kinds = ["random"] * len(Ur) + ["structured"] * len(Us)
    order = np.argsort(dev)[::-1][:budget["starts"]]
    Ua, Va, da, trace = adversarial_search(B, U[order], V[order], dev[order], rng,
                                           iters=budget["iters"],
                                           candidates=budget["candidates"], R=R)
    U, V = np.vstack([U, Ua]), np.vstack([V, Va])
    gain = float(da.max() - dev.max())
    dev = np.concatenate([dev, da])
    kinds += ["adversarial"] * len(Ua)
    # The diagonal pairs (u, u) for the u of every tested pair: ||B_{+,u}||^2 (H&V's
    # corollary) and the deviation from Q_{u,u} = I/2, which joins eps_hat, so that
    # max ||B_{+,u}||^2 <= 1/2 + eps_hat holds by construction (see :func:`hv_norm2`).
    g_uu = masked_gram(B, U, U, R=R)
    norm2 = np.linalg.eigvalsh(g_uu)[:, -1]
    dev_uu = np.abs(np.linalg.eigvalsh(g_uu - Q_batch(U, U))).max(axis=1)
    table = pd.DataFrame({"kind": kinds + ["diagonal"] * len(U),
                          "theta": np.concatenate([_theta(U, V), np.zeros(len(U))]),
                          "deviation": np.concatenate([dev, dev_uu])})
    by_kind = table.groupby("kind")["deviation"].agg(["max", "count"])
    e = float(table["deviation"].max())
    summary = {"eps_hat": e,
               "by_kind": {kd: {"max": float(r["max"]), "pairs": int(r["count"])}
                           for kd, r in by_kind.iterrows()},
               "adversarial_gain": gain,
               "adversarial_trace": trace,
               "max_norm2_B_plus_u": float(norm2.max()),
               "max_dev_uu_from_half_I": float(dev_uu.max()) if len(U) else float("nan"),
               "pairs": int(len(table))}
    return e, table, summary


# -------------------------------------------------------------- weight laws
def second_moment(config, spec, i: int, B: np.ndarray) -> tuple[float, str]:
    """E[b^2] of layer i's entries: from the weight law when the weights are drawn
    (std^2 for the zero-mean laws, 1/3 for U[0, 1]), else the empirical mean square
    (loaded weights). The WDC is stated for N(0, 1/m); a block is rescaled by
    1/sqrt(m E[b^2]), a known constant (exactly 1 for the theory presets)."""
    if getattr(config, "loader", None) is not None:
        return float(np.mean(B**2)), "empirical mean square (loaded weights)"
    law = config.weights
    if law.name == "uniform01":
        return 1.0 / 3.0, "law U[0, 1]: E[b^2] = 1/3"
    std = law.layer_std(spec, i)
    return std * std, f"law {law.name}: E[b^2] = std^2"


def unit_sampler(config):
    """Entries with E[x^2] = 1 from the configuration's weight law (gaussian for
    loaded weights): rows of sqrt(m) B, for Monte Carlo and the scaling sweep."""
    law = config.weights if getattr(config, "loader", None) is None else None

    def draw(shape, rng):
        if law is None or law.name == "gaussian":
            return rng.normal(size=shape)
        if law.name == "uniform01":
            return math.sqrt(3.0) * rng.uniform(0.0, 1.0, size=shape)
        return law.sample(shape, 1.0, rng)

    return draw


# ---------------------------------------------------------------- Monte Carlo
#: Significance of the Monte Carlo test E[B_{+,u}^T B_{+,v}] = Q_{u,v}
#: (two-sided, Bonferroni over every tested entry).
MC_ALPHA = 1e-3


def monte_carlo(draw, k: int, rng: np.random.Generator, *, sizes, reps: int):
    """Monte Carlo check of E[B_{+,u}^T B_{+,v}] = Q_{u,v} (Lemma Sup.2).

    With rows g ~ law (E g g^T = I), B = G / sqrt(N) over N rows, the estimate is
    (1/N) sum_r 1[g_r.u > 0] 1[g_r.v > 0] g_r g_r^T. For each N in ``sizes`` and each
    of ``reps`` disjoint row sets (more when k is small and they are cheap) the spectral
    error against Q is recorded (it should shrink like N^-1/2); at the largest N the
    reps are pooled for a per-entry z-test with the sample variance, at level
    :data:`MC_ALPHA` (Bonferroni).
    Pairs: theta = 0, pi/2, 3 pi/4, a random pair, and theta = pi (Q = 0, exact).
    """
    from scipy import stats

    u = _unit(rng.normal(size=k))
    w = rng.normal(size=k)
    w = _unit(w - (w @ u) * u) if k > 1 else np.zeros(k)
    U = np.stack([u, u, u, _unit(rng.normal(size=k)), u])
    V = np.stack([u, w, np.cos(0.75 * np.pi) * u + np.sin(0.75 * np.pi) * w,
                  _unit(rng.normal(size=k)), -u])
    names = ["theta=0", "theta=pi/2", "theta=3pi/4", "random", "theta=pi"]
    Qt = Q_batch(U, V)
    nmax = max(sizes)
    T = k * (k + 1) // 2
    # more repetitions when they are cheap (small k), within one chunk of memory
    reps = int(max(reps, min(256, CHUNK_ELEMS // (nmax * T))))
    G = draw((reps * nmax, k), rng)
    iu = np.triu_indices(k)
    frames = []
    for n in sizes:  # a handful of sample sizes; all reps at once (batched matmul)
        Gs = G[: reps * n]
        R, _ = row_outer_products(Gs)
        R = R.reshape(reps, n, T)
        Gs = Gs.reshape(reps, n, k)
        on = (((Gs @ U.T) > 0) & ((Gs @ V.T) > 0)).astype(np.float64)  # (reps, n, P)
        on_t = on.transpose(0, 2, 1)
        est = unpack_upper((on_t @ R).reshape(-1, T) / n, iu, k).reshape(reps, len(U), k, k)
        if n == nmax:  # pooled first and second moments for the z-test
            sum1 = est.sum(axis=0) * n
            sum2 = unpack_upper((on_t @ R**2).sum(axis=0), iu, k)
        err = np.abs(np.linalg.eigvalsh(est - Qt[None])).max(axis=2)  # (reps, P)
        frames.append(pd.DataFrame({"N": n, "rep": np.repeat(np.arange(reps), len(U)),
                                    "pair": np.tile(names, reps), "error": err.ravel()}))
    table = pd.concat(frames, ignore_index=True)
    n_pool = reps * nmax
    mean, mean2 = sum1 / n_pool, sum2 / n_pool
    var = np.maximum(mean2 - mean**2, 0.0)
    diff = mean - Qt
    diff_t, se_t = diff[:, iu[0], iu[1]], np.sqrt(var[:, iu[0], iu[1]] / n_pool)
    with np.errstate(divide="ignore", invalid="ignore"):
        # zero variance (theta = pi: the mask is never on): the mean must equal Q exactly
        z = np.where(se_t > 0, np.abs(diff_t) / np.where(se_t > 0, se_t, 1),
                     np.where(np.abs(diff_t) <= ROUNDING, 0.0, np.inf))
    n_tests = z.size
    z_crit = float(stats.norm.isf(MC_ALPHA / (2 * n_tests)))
    fit = table[table["pair"] != "theta=pi"].groupby("N")["error"].mean()
    slope, se_slope = _loglog_slope(fit.index.to_numpy(float), fit.to_numpy())
    info = {"k": k, "sizes": list(map(int, sizes)), "reps": reps,
            "pooled_rows": int(n_pool), "pairs": names, "entries_tested": int(n_tests),
            "max_abs_z": float(z.max()), "z_critical": z_crit, "alpha": MC_ALPHA,
            "slope": slope, "slope_se": se_slope,
            "max_error_at_largest_N": float(table[table["N"] == nmax]["error"].max()),
            "theta_pi_max_error": float(table[table["pair"] == "theta=pi"]["error"].max())}
    return info, table


def _loglog_slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of log y on log x and its standard error."""
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    if lx.size < 3 or np.ptp(lx) == 0:
        return float("nan"), float("nan")
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    s2 = float(resid @ resid) / max(lx.size - 2, 1)
    se = math.sqrt(s2 / float(np.sum((lx - lx.mean()) ** 2)))
    return float(coef[0]), se


# ---------------------------------------------------------------- conv form
def conv_form(net, i: int, X: np.ndarray, Y: np.ndarray, scale: float):
    """W_{+,x}^T W_{+,y} on the whole sparse layer W_i against
    blockdiag_p B_{+,x_p}^T B_{+,y_p} (lemmas/README.md, section 2, stride = kernel).

    Every entry outside the blocks must be exactly 0 and every block entry must agree
    to rounding: |diff| <= m ROUNDING (|B|^T |B|)_{ij} (a dot product of length m).
    Also reports the deviation from the prediction blockdiag_p Q_{x_p,y_p} and from
    the whole-vector Q_{x,y} (which is not the prediction), after scaling W by
    ``scale`` (entries of second moment 1/m).
    """

    W = net.layer_matrix(i).tocsr()
    B = net.dense_block(i)
    m, k = B.shape
    form = block_diagonal_form(W)
    D = form.n_blocks
    cp = form.col_perm
    tol = m * ROUNDING * (np.abs(B).T @ np.abs(B))
    WX, WY = W @ X.T, W @ Y.T  # (n_i, P): one sparse product for all pairs
    Xp = X[:, cp].reshape(len(X), D, k)
    Yp = Y[:, cp].reshape(len(Y), D, k)
    blocks = masked_gram(B, Xp.reshape(-1, k), Yp.reshape(-1, k)).reshape(len(X), D, k, k)
    Qp = Q_batch(Xp.reshape(-1, k), Yp.reshape(-1, k)).reshape(len(X), D, k, k)
    # A pre-activation within rounding of 0 is a tie: its mask entry is decided by the
    # order of summation (the sparse and the dense product differ), i.e. by the convention
    # for ReLU' at 0, not by the identity. Discrete laws (Rademacher) on network inputs
    # produce exact cancellations; such pairs are marked and left out of the comparison.
    absW = abs(W)
    tie = ((np.abs(WX) <= m * ROUNDING * (absW @ np.abs(X.T)))
           | (np.abs(WY) <= m * ROUNDING * (absW @ np.abs(Y.T))))
    rows = []
    Wt = W.T.tocsr()
    for p in range(len(X)):  # the whole-layer product: the slow reference, a few pairs
        s = ((WX[:, p] > 0) & (WY[:, p] > 0)).astype(float)
        Gs = (Wt @ sp.diags(s) @ W).tocsr()[cp][:, cp].toarray()
        blk = np.arange(D * k) // k
        off_nz = int(np.count_nonzero(Gs[blk[:, None] != blk[None, :]]))
        Gb = Gs.reshape(D, k, D, k)[np.arange(D), :, np.arange(D), :]  # (D, k, k)
        ratio = float((np.abs(Gb - blocks[p]) / np.maximum(tol, np.finfo(float).tiny)).max())
        dev_pred = float(np.abs(np.linalg.eigvalsh(scale**2 * blocks[p] - Qp[p])).max())
        x, y = X[p, cp], Y[p, cp]
        whole = float(np.abs(np.linalg.eigvalsh(scale**2 * Gs - Q_batch(x[None], y[None])[0])).max()) \
            if Gs.shape[0] <= 2048 else float("nan")
        rows.append({"layer": i + 1, "pair": p, "positions": D, "off_block_nonzeros": off_nz,
                     "ties": int(tie[:, p].sum()), "max_err_over_tol": ratio, "dev_from_blockdiag_Q": dev_pred,
                     "dev_from_whole_vector_Q": whole})
    return rows


# ------------------------------------------------------------------ scaling
def scaling_sweep(draw, k: int, rng: np.random.Generator, *, ratios, reps: int, budget: dict):
    """eps_hat against the width m = k * ratio (a few repetitions each), with the
    same pair budget at every width, and the fitted log-log slope in m (theory about
    -1/2). Returns (table, info)."""
    rows = []
    for ratio in ratios:  # widths x repetitions: each eps_hat is itself batched
        m = int(k * ratio)
        for r in range(reps):
            B = draw((m, k), rng) / math.sqrt(m)
            e, _, _ = eps_hat(B, rng, budget)
            bound = eps_bound(m, k)
            rows.append({"m": m, "k": k, "rep": r, "m_over_k": m / k,
                         "expansion": expansion(m, k), "eps_hat": e, "bound": bound,
                         "exceeds": bool(e > bound),
                         # reference only (not in the verdict): the Bai-Yin edge of the
                         # unmasked Gram, ||B^T B - I|| -> 2 sqrt(k/m) + k/m
                         "gram_edge": 2 * math.sqrt(k / m) + k / m})
    table = pd.DataFrame(rows)
    slope, se = _loglog_slope(table["m"].to_numpy(float), table["eps_hat"].to_numpy())
    fails = int(table["exceeds"].sum())
    lo, hi = wilson_interval(fails, len(table))
    info = {"k": k, "widths": sorted(set(table["m"].tolist())), "reps": reps, "slope": slope,
            "slope_se": se, "draws": len(table), "draws_exceeding_bound": fails,
            "failure_probability_wilson95": [lo, hi]}
    return table, info


def exact_layer_sup(B: np.ndarray, i: int, e: float, bound: float, budget: dict):
    """The certified supremum of ||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 over ALL pairs for a
    block with k <= 3 columns (verify.geometry.wdc_exact: branch and bound over pairs of cells, a bracket
    [lower, upper] of width <= tol, or wider when the work budget stops it), beside the
    sampled eps_hat. Returns (criteria, details, table row).

    Where the bracket decides the WDC against eps(m, k) (upper <= eps: it holds for
    every pair; lower > eps: it fails for some pair), the layer's criterion
    ``layer{i}_eps_hat`` takes the certified upper end as its statistic ("method:
    exact"; the same bound and trivial ceiling max(||B||^2, 1/2)). A bracket that
    straddles eps (at most tol wide, or a partial one) leaves the statistic to the
    sampled eps_hat ("method: sampled", the reason in the details).

    Criterion ``layer{i}_sampled_le_exact`` (whenever the bracket exists): the sampled
    eps_hat <= the certified upper end. Every sampled pair is one of the pairs the
    supremum is over, so it fails only if the sampler, Q or the masks disagree with the
    certificate: a self-check of the engine, with no ceiling.
    """
    m, k = B.shape
    row = {"layer": i + 1, "m": m, "k": k, "sampled_eps_hat": e, "bound": bound}
    if k not in SUPPORTED_K:
        why = (f"k = {k} columns: the exact supremum is computed for k = 2 or 3 only "
               "(the branch and bound splits a pair of patches of S^{k-1} into "
               "2^(2(k-1)) children, 64 or more for k >= 4)")
        row.update({"exact_lower": np.nan, "exact_upper": np.nan, "tol": np.nan,
                    "complete": False, "seconds": 0.0, "note": why})
        return (), {"applies": False, "reason": why}, row
    sup = exact_sup(B, tol=budget["exact_tol"], max_work=budget["exact_work"],
                    on_budget="partial")
    decides = sup.upper <= bound or sup.lower > bound
    info = {"applies": True, **sup.to_dict(), "decides": decides, "sampled_eps_hat": e,
            "sampled_below_lower_by": sup.lower - e}
    if not decides:
        info["reason"] = (f"the bracket [{sup.lower:.4g}, {sup.upper:.4g}] "
                          f"({'complete' if sup.complete else 'partial: work budget'}) "
                          f"straddles eps = {bound:.4g}: the sampled statistic decides")
    note = ("complete" if sup.complete else
            f"partial (work budget {budget['exact_work']:.3g}): width {sup.width:.3g}")
    row.update({"exact_lower": sup.lower, "exact_upper": sup.upper, "tol": sup.tol,
                "complete": sup.complete, "seconds": sup.seconds,
                "note": f"{note}; {sup.pairs_evaluated} pairs of patches"})
    check = Criterion(f"layer{i + 1}_sampled_le_exact", e, sup.upper, "<=",
                      note=f"self-check: sampled eps_hat within the certified sup "
                           f"[{sup.lower:.4g}, {sup.upper:.4g}] ({note})")
    return (check,), info, row


__all__ = ["ROUNDING", "Q_batch", "deviations", "eps_bound", "expansion", "STRUCTURED_ANGLES",
           "wdc_ceiling", "structured_pairs", "adversarial_search", "eps_hat",
           "second_moment", "unit_sampler", "MC_ALPHA", "monte_carlo", "conv_form",
           "scaling_sweep", "exact_layer_sup"]
