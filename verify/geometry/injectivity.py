"""The injectivity numerics of Corollary 2 and Fig. 4(d) (lemmas/README.md, section 7), for the
``injectivity`` check and the tests: Puthawala's layer-wise criterion on a ReLU layer
(:func:`layer_criterion`, exhaustive over the arrangement's patterns for k <= 3:
:func:`arrangement_patterns`), the 2k-row witness of a non-injective layer and the
collision it certifies on G (:func:`two_k_witness`, :func:`collision_from_witness`,
:func:`certify_first_layer`), the end-to-end collision search (:func:`collision_search`)
and the collapsed fraction of a latent ball (:func:`collapse_fraction`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from verify.errors import invalid
from verify.spec import PIECEWISE_LINEAR
from verify.stats import wilson_interval

EPS = np.finfo(np.float64).eps
#: A collision is a normalised ratio below sqrt(eps): minimising a squared residual in
#: float64 resolves the norm itself only to about sqrt(eps) of its scale.
COLLISION_RTOL = math.sqrt(EPS)
def rank_rtol(m: int, k: int) -> float:
    """Rank tolerance: deficient iff lambda_min(W_S^T W_S) <= tol * lambda_max(W^T W).
    A Gram matrix of m rows is rounded by about m eps ||W||^2 (Higham, Sec. 3.1); the
    factor 16 k covers the eigensolver."""
    return 16.0 * max(m, 1) * k * EPS


#: Tolerance for a row lying on a vertex of the k = 3 arrangement (|<w_l, v>| relative
#: to ||w_l|| ||v||): the vertex is a cross product computed to a few eps.
VERTEX_ATOL = 64 * EPS
#: Points of the random/adversarial search that get the (costly) Gram rank test.
GRAM_CANDIDATES = 128
#: A layer-1 witness pair (z1, z2) certifies a collision of G when
#: ``||G(z1) - G(z2)|| <= CERT_RTOL * RMS||G(u)|| * max(||z1||, ||z2||)`` (rounding level
#: of a forward pass) with separation ``||z1 - z2|| >= CERT_MIN_SEPARATION * max ||z||``:
#: the normalised ratio is then below ``CERT_RTOL / CERT_MIN_SEPARATION`` << COLLISION_RTOL.
CERT_RTOL = 1024 * EPS
CERT_MIN_SEPARATION = 1e-3
def sign_rtol(k: int) -> float:
    """A row's sign at a witness counts as certain when ``|<w_i, x>| > tol ||w_i|| ||x||``
    (a dot product of length k is rounded by at most about k eps ||w_i|| ||x||)."""
    return 8.0 * max(k, 1) * EPS


#: Radius of the latent ball on which the collapse fraction is measured.
BALL_RADIUS = 3.0
#: Expansions m/k of the Gaussian sweep.
SWEEP_EXPANSIONS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.5)


# ============================================================ layer-wise criterion
def gram_deficiency(W: np.ndarray, S: np.ndarray):
    """For masks ``S ([D,] c, m)`` of rows of ``W ([D,] m, k)``: the normalised smallest
    eigenvalue ``lambda_min(W_S^T W_S) / lambda_max(W^T W)`` per mask, and whether the
    mask is rank deficient (``<= RANK_RTOL``). Shapes ``([D,] c)``."""
    single = W.ndim == 2
    if single:
        W, S = W[None], S[None]
    m, k = W.shape[-2], W.shape[-1]
    outer = (W[..., :, None] * W[..., None, :]).reshape(W.shape[0], m, k * k)
    G = np.matmul(S.astype(float), outer).reshape(S.shape[:2] + (k, k))  # sum_{i in S} w_i w_i^T
    lam = np.linalg.eigvalsh(G)[..., 0]
    top = np.linalg.eigvalsh(np.einsum("dmi,dmj->dij", W, W))[..., -1]
    scale = np.where(top > 0, top, 1.0)[:, None]
    rel = np.maximum(lam, 0.0) / scale
    bad = rel <= rank_rtol(m, k)
    return (rel[0], bad[0]) if single else (rel, bad)


def circle_cells(W: np.ndarray) -> np.ndarray:
    """Interior points (unit vectors) of every arc cut from the circle by the lines
    ``w_i^perp`` of a 2-column ``W``: the arcs between consecutive boundary angles
    ``angle(w_i) +- pi/2``. Returns ``(n_cells, 2)``."""
    nz = np.linalg.norm(W, axis=1) > 0
    if not np.any(nz):
        return np.array([[1.0, 0.0]])
    phi = np.arctan2(W[nz, 1], W[nz, 0])
    b = np.mod(np.concatenate([phi + math.pi / 2, phi - math.pi / 2]), 2 * math.pi)
    b = np.sort(b)
    # merge boundary angles equal to rounding (parallel rows give the same line)
    keep = np.concatenate([[True], np.diff(b) > 8 * EPS * 2 * math.pi])
    b = b[keep]
    nxt = np.concatenate([b[1:], [b[0] + 2 * math.pi]])
    mid = (b + nxt) / 2
    return np.stack([np.cos(mid), np.sin(mid)], axis=1)


def arrangement_patterns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pattern ``S(x) = {i : <w_i, x> >= 0}`` that is minimal over the cells of the
    hyperplane arrangement ``{w_i^perp}``, for input dimension ``k <= 3`` (exhaustive).

    Returns ``(X, S)``: representative points ``(c, k)`` and masks ``(c, m)``. Every
    full-dimensional cell's pattern contains one of these masks, and each mask is the
    pattern of some cell, so the criterion holds iff every mask spans ``R^k``.

    Notes
    -----
    ``S(x)`` only grows on lower-dimensional faces (rows with ``<w_i, x> = 0`` join), so
    the minimal patterns are those of the open cells. ``k = 1``: ``x = +-1``. ``k = 2``:
    arc midpoints on the circle. ``k = 3``: every cell of an arrangement of >= 2 great
    circles is a spherical polygon with a vertex ``v = +-w_i x w_j``; at a vertex lying
    on exactly two circles the cell with both rows negative exists and has pattern
    ``{l : <w_l, v> > 0}``; at a vertex on more circles the cells around it are the arcs
    of the 2-D arrangement of those rows in the tangent plane (enumerated exactly).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] not in (1, 2, 3):
        raise invalid("W", "a 2-D array with 1, 2 or 3 columns (exhaustive enumeration)",
                      W.shape)
    m, k = W.shape
    if k == 1:
        X = np.array([[1.0], [-1.0]])
        return X, (X @ W.T) >= 0
    if k == 2:
        X = circle_cells(W)
        return X, (X @ W.T) >= 0
    norms = np.linalg.norm(W, axis=1)
    rows = np.flatnonzero(norms > 0)
    if m == 0 or np.linalg.matrix_rank(W) < 3:
        X = np.zeros((1, 3))  # rank W < k: no pattern can span; x = 0 shows it
        return X, np.ones((1, m), bool)
    i, j = np.triu_indices(rows.size, 1)
    i, j = rows[i], rows[j]
    V = np.cross(W[i], W[j])
    vn = np.linalg.norm(V, axis=1)
    ok = vn > VERTEX_ATOL * norms[i] * norms[j]  # parallel rows give no vertex
    i, j, V = i[ok], j[ok], V[ok] / vn[ok, None]
    V = np.concatenate([V, -V])
    i, j = np.concatenate([i, i]), np.concatenate([j, j])
    dots = V @ W.T                                              # (v, m)
    zero = np.abs(dots) <= VERTEX_ATOL * np.maximum(norms, 1e-300)[None, :]
    zero[np.arange(len(V)), i] = True
    zero[np.arange(len(V)), j] = True
    zero[:, norms == 0] = False
    S = (dots > 0) & ~zero
    S[:, norms == 0] = True                                     # zero rows: <0, x> = 0 >= 0
    generic = zero.sum(axis=1) == 2
    # representative points inside the cells: x = v + delta t, <w_i, t> = <w_j, t> = -1,
    # with delta small enough that no other row changes sign
    safe = np.where(zero, np.inf, np.abs(dots) / np.maximum(norms, 1e-300)[None, :])
    delta = 0.5 * np.min(safe, axis=1, initial=1.0)
    A2 = np.stack([W[i], W[j]], axis=1)                         # (v, 2, 3)
    T = np.einsum("vab,vb->va", np.linalg.pinv(A2), -np.ones((len(V), 2)))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    Xg = V + delta[:, None] * T
    Xs, Ss = [Xg[generic]], [S[generic]]
    for vi in np.flatnonzero(~generic):                         # rare: degenerate vertices
        v = V[vi]
        e1 = np.linalg.svd(v[None, :])[2][1:]                   # basis of v^perp, (2, 3)
        zr = np.flatnonzero(zero[vi])
        Tt = circle_cells(W[zr] @ e1.T)                        # tangent arcs, (t, 2)
        extra = (Tt @ (W[zr] @ e1.T).T) > 0                     # (t, |zr|)
        s = np.repeat(S[vi][None, :], len(Tt), axis=0)
        s[:, zr] = extra
        Xs.append(v[None, :] + delta[vi] * (Tt @ e1))
        Ss.append(s)
    return np.concatenate(Xs), np.concatenate(Ss)


def layer_criterion(W: np.ndarray, *, rng: np.random.Generator, n_random: int = 2048,
                    n_adversarial: int = 256, n_steps: int = 100) -> dict:
    """Puthawala et al.'s criterion for ``x -> ReLU(W x)``: search an ``x`` whose
    non-negative rows do not span ``R^k``.

    Exhaustive over the arrangement's cells for ``k <= 3``; otherwise ``n_random``
    random unit ``x`` plus ``n_adversarial`` starts of projected subgradient descent on
    ``f(x) = sum_i ReLU(<w_i/||w_i||, x>)`` over the sphere (which pushes ``x`` to make
    as many rows negative as possible).

    Returns a dict: ``method``, ``n_tested``, ``injective`` (criterion holds on every
    tested x), ``min_active`` (fewest non-negative rows), ``min_gram`` (smallest
    ``lambda_min(W_S^T W_S) / lambda_max(W^T W)``), ``witness`` (an x where it fails).
    """
    W = np.asarray(W, dtype=np.float64)
    m, k = W.shape
    if k <= 3:
        X, S = arrangement_patterns(W)
        n_tested, min_active_all = len(X), int(S.sum(axis=1).min())
        method = "exhaustive"
    else:
        Xr = rng.standard_normal((n_random, k))
        Xa = rng.standard_normal((n_adversarial, k))
        Xa /= np.linalg.norm(Xa, axis=1, keepdims=True)
        Wn = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
        trail = [Xa]
        for t in range(n_steps):
            g = (Xa @ Wn.T > 0).astype(float) @ Wn
            Xa = Xa - (0.5 / math.sqrt(t + 1)) * g / math.sqrt(m)
            Xa /= np.linalg.norm(Xa, axis=1, keepdims=True)
            if t % 20 == 19:
                trail.append(Xa)
        X = np.concatenate([Xr / np.linalg.norm(Xr, axis=1, keepdims=True)] + trail)
        S = (X @ W.T) >= 0
        n_tested = len(X)
        # the Gram test on the GRAM_CANDIDATES points with the fewest non-negative rows
        # (fewer than k rows is deficient outright; rows in general position are
        # deficient only then); the counts cover every tested point
        keep = np.argsort(S.sum(axis=1), kind="stable")[:GRAM_CANDIDATES]
        min_active_all = int(S.sum(axis=1).min())
        X, S = X[keep], S[keep]
        method = "random+adversarial"
    if k == 3 and X.shape[0] == 1 and not np.any(X):
        method = "exhaustive (rank W < k)"
    rel, bad = gram_deficiency(W, S)
    w = int(np.argmin(rel))
    return {"method": method, "n_tested": int(n_tested), "injective": bool(not np.any(bad)),
            "n_deficient": int(np.sum(bad)), "min_active": min_active_all,
            "min_gram": float(rel[w]), "witness": X[w].tolist() if np.any(bad) else None}

def two_k_witness(W: np.ndarray, *, rng: np.random.Generator) -> np.ndarray | None:
    """For ``W`` with ``m < 2k`` rows: an ``x`` with fewer than ``k`` non-negative rows.

    Puthawala et al. (JMLR 2022, a consequence of Thm. 2): ``m >= 2k`` is necessary, because
    for ``x`` off every hyperplane ``w_i^perp`` the patterns of ``x`` and ``-x`` split
    the ``m`` rows, so one of them holds at most ``m / 2 < k``. Returns that one of
    ``+-x`` for a random ``x`` whose signs are all certain (None if no draw of 16 was).
    """
    W = np.asarray(W, dtype=np.float64)
    m, k = W.shape
    if m >= 2 * k:
        return None
    norms = np.linalg.norm(W, axis=1)
    for _ in range(16):
        x = rng.standard_normal(k)
        x /= np.linalg.norm(x)
        d = W @ x
        if np.any((np.abs(d) <= sign_rtol(k) * norms) & (norms > 0)):
            continue
        x = x if np.sum(d >= 0) <= np.sum(d <= 0) else -x
        if np.sum((W @ x) >= 0) < k:
            return x
    return None


def collision_from_witness(W: np.ndarray, x) -> dict | None:
    """A pair ``x != x'`` with ``ReLU(W x) = ReLU(W x')`` from a criterion witness ``x``.

    * every row negative at ``x`` (``W x < 0``): ``x' = 2 x``, both map to 0;
    * otherwise the non-negative rows ``W_S`` do not span: ``v`` in (numerically) their
      null space, ``x' = x + t v`` with ``t`` half the distance at which an inactive row
      would change sign, so ``ReLU(W x') = ReLU(W x)``.

    ``exact`` is True when the argument is exact, not only to rounding: every sign at
    ``x`` and ``x'`` is certain (margin above :func:`sign_rtol`) and either no row is
    active or fewer than ``k`` are (then a null vector exists exactly). Returns None when
    ``x`` yields no pair (e.g. an inactive row at 0 within rounding).
    """
    W = np.asarray(W, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    m, k = W.shape
    if not np.any(x):
        return None
    x = x / np.linalg.norm(x)
    norms = np.linalg.norm(W, axis=1)
    tol = sign_rtol(k) * norms
    d = W @ x
    active = d >= 0
    certain = bool(np.all((np.abs(d) > tol) | (norms == 0)))
    if not np.any(active & (norms > 0)):
        return {"x": x, "x2": 2 * x, "kind": "all rows inactive: ReLU(W x) = ReLU(W 2x) = 0",
                "exact": certain, "active_rows": int(np.sum(active))}
    WS = W[active]
    v = np.linalg.svd(WS)[2][-1] if WS.shape[0] >= k else np.linalg.svd(
        np.vstack([WS, np.zeros((k - WS.shape[0], k))]))[2][-1]
    inactive = ~active
    dv = W[inactive] @ v
    if np.any(inactive):
        with np.errstate(divide="ignore"):
            room = np.where(dv > 0, -d[inactive] / np.where(dv > 0, dv, 1.0), np.inf)
        t = min(1.0, 0.5 * float(np.min(room)))
    else:
        t = 1.0
    if not t > 0:
        return None
    x2 = x + t * v
    d2 = W @ x2
    certain = certain and bool(np.all((np.abs(d2[inactive]) > tol[inactive]) | (norms[inactive] == 0)))
    return {"x": x, "x2": x2, "kind": f"{int(active.sum())} active rows of {m} do not span R^{k}: "
            "ReLU(W x) = ReLU(W (x + t v)), v in their null space",
            "exact": certain and int(active.sum()) < k, "active_rows": int(active.sum())}


def embed_first_layer(network, kind: str, x: np.ndarray) -> np.ndarray:
    """A latent code whose first-layer input is ``x``: the code itself for an explicit
    ``W_1``; for a block ``B`` (stride = kernel, no padding), ``x`` as the channel vector
    of latent position 0 and zeros elsewhere (flat channel-major)."""
    spec = network.spec
    if kind != "block B":
        return x.copy()
    npos = spec.latent_size ** spec.dims
    z = np.zeros((spec.latent_channels, npos))
    z[:, 0] = x
    return z.reshape(-1)


def certify_first_layer(network, kind: str, W: np.ndarray, witnesses, scale: float) -> dict | None:
    """Turn a first-layer witness into an end-to-end collision ``G(z1) = G(z2)``.

    A non-injective first layer makes ``G`` non-injective (``G = H o ReLU(W_1 .)``
    whatever ``H``; its input space is the whole latent space). The pair is checked by
    evaluating ``G`` at both codes: certified when ``||G(z1) - G(z2)||`` is within
    ``CERT_RTOL * scale * max ||z||`` and the codes are at least ``CERT_MIN_SEPARATION``
    apart (relative), so rounding cannot make a collision. Returns the first certified
    candidate (or the best failed one, ``certified`` False; None if there is none).
    """
    best = None
    for source, x in witnesses:
        if x is None:
            continue
        pair = collision_from_witness(W, x)
        if pair is None:
            continue
        z1 = embed_first_layer(network, kind, pair["x"])
        z2 = embed_first_layer(network, kind, pair["x2"])
        g = network.forward(np.stack([z1, z2]))
        size = max(np.linalg.norm(z1), np.linalg.norm(z2))
        diff = float(np.linalg.norm(g[0] - g[1]))
        sep = float(np.linalg.norm(z1 - z2))
        relu_diff = float(np.linalg.norm(np.maximum(W @ pair["x"], 0) - np.maximum(W @ pair["x2"], 0)))
        rec = {"source": source, "kind": pair["kind"], "exact": pair["exact"],
               "active_rows": pair["active_rows"], "z1": z1.tolist(), "z2": z2.tolist(),
               "layer_output_difference": relu_diff,
               "output_difference": diff, "separation": sep,
               "normalised_ratio": diff / (scale * sep) if sep > 0 else math.inf,
               "tolerance": CERT_RTOL * scale * size,
               "certified": bool(diff <= CERT_RTOL * scale * size
                                 and sep >= CERT_MIN_SEPARATION * size)}
        if rec["certified"]:
            return rec
        if best is None:
            best = rec
    return best


def layer_matrices(network) -> list[tuple[str, np.ndarray | None, str]]:
    """The matrix on which each layer's criterion is checked: the block ``B`` when the
    layer is block-diagonal (stride = kernel, or a 1-pixel input), otherwise the explicit
    ``W_i`` (None when it has fewer rows than columns: not injective as a layer map)."""
    spec = network.spec
    out = []
    for i, layer in enumerate(spec.layers):
        if layer.affine or layer.activation != "relu":
            out.append(("-", None, f"{layer.activation} layer{' with bias' if layer.affine else ''}: "
                        "the criterion is for bias-free ReLU layers"))
            continue
        if layer.is_block or (spec.sizes[i] == 1 and layer.padding == 0):
            out.append(("block B", network.dense_block(i), ""))
            continue
        n_out, n_in = spec.widths[i + 1], spec.widths[i]
        if n_out < n_in:
            out.append(("explicit W", None, f"{n_out} rows < {n_in} columns: no ReLU layer of "
                        "this shape is injective on all of its input space"))
        elif n_in > 64:
            out.append(("explicit W", None, f"overlapping layer with {n_in} inputs: "
                        "too large for the layer-wise search"))
        else:
            out.append(("explicit W", network.layer_matrix(i).toarray(), ""))
    return out


# ============================================================ Gaussian expansion sweep
def batched_patterns(W: np.ndarray) -> np.ndarray:
    """Minimal cell patterns for a batch of Gaussian ``W (D, m, k)``, ``k`` in {2, 3}.

    With probability one Gaussian rows are in general position (no three normals
    coplanar, no two parallel), so the generic rules of :func:`arrangement_patterns`
    apply to every draw at once: arc midpoints (k = 2), vertices with the two defining
    rows negative (k = 3). Returns masks ``(D, c, m)``.
    """
    D, m, k = W.shape
    if k == 2:
        phi = np.arctan2(W[..., 1], W[..., 0])
        b = np.sort(np.mod(np.concatenate([phi + math.pi / 2, phi - math.pi / 2], axis=1),
                           2 * math.pi), axis=1)
        nxt = np.concatenate([b[:, 1:], b[:, :1] + 2 * math.pi], axis=1)
        mid = (b + nxt) / 2
        X = np.stack([np.cos(mid), np.sin(mid)], axis=-1)     # (D, 2m, 2)
        return np.matmul(X, W.transpose(0, 2, 1)) >= 0
    i, j = np.triu_indices(m, 1)
    V = np.cross(W[:, i], W[:, j])                             # (D, P, 3)
    V = np.concatenate([V, -V], axis=1)
    ii, jj = np.concatenate([i, i]), np.concatenate([j, j])
    S = np.matmul(V, W.transpose(0, 2, 1)) > 0
    S[:, np.arange(len(ii)), ii] = False
    S[:, np.arange(len(jj)), jj] = False
    return S


def expansion_sweep(*, rng: np.random.Generator, draws: int,
                    ks=(2, 3), expansions=SWEEP_EXPANSIONS) -> pd.DataFrame:
    """Fraction of dense Gaussian blocks ``W (m x k)`` whose ReLU layer is injective, by
    exhaustive arrangement enumeration, per expansion ``m/k`` (95% Wilson intervals)."""
    rows = []
    for k in ks:
        for e in expansions:
            m = max(1, int(round(e * k)))
            W = rng.standard_normal((draws, m, k))
            S = batched_patterns(W)
            # rows in general position (probability one): rank W_S = min(|S|, k)
            inj = int(np.sum(np.all(S.sum(axis=2) >= k, axis=1)))
            lo, hi = wilson_interval(inj, draws)
            rows.append({"k": k, "m": m, "expansion": m / k, "draws": draws, "injective": inj,
                         "fraction": inj / draws, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def crossing(x: np.ndarray, y: np.ndarray, level: float = 0.5) -> float | None:
    """First x at which y reaches ``level``, by linear interpolation (None if never)."""
    above = np.flatnonzero(y >= level)
    if above.size == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(x[0])
    return float(x[i - 1] + (level - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1]))


# ============================================================ end-to-end search
def homogeneous(network) -> bool:
    """G(t z) = t G(z) for t > 0: piecewise-linear activations without bias."""
    return all(l.activation in PIECEWISE_LINEAR and not l.affine for l in network.spec.layers)


def collision_search(network, *, rng: np.random.Generator, n_pairs: int, n_steps: int,
                     lr: float = 0.1) -> dict:
    """Minimise ``||G(z1) - G(z2)||^2 / ||z1 - z2||^2`` over ``n_pairs`` pairs at once
    (Adam; one batched forward pass and one ``vjp`` per step).

    Half of the pairs start independent on the unit sphere, half close together
    (separation 0.05), which probes the Jacobian's rank. For positively homogeneous
    ``G`` the ratio is scale invariant and pairs are rescaled to max norm 1 each step.

    Returns the final ratios ``(n_pairs,)`` and pairs.
    """
    n0 = network.spec.latent_dim
    z1 = rng.standard_normal((n_pairs, n0))
    z1 /= np.linalg.norm(z1, axis=1, keepdims=True)
    z2 = rng.standard_normal((n_pairs, n0))
    z2 /= np.linalg.norm(z2, axis=1, keepdims=True)
    half = n_pairs // 2
    z2[:half] = z1[:half] + 0.05 * z2[:half]
    Z = np.concatenate([z1, z2])
    homog = homogeneous(network)
    mom, vel = np.zeros_like(Z), np.zeros_like(Z)
    b1, b2 = 0.9, 0.999

    def ratio_and_grad(Z):
        cache = network.forward_with_cache(Z)
        r = cache.output[:n_pairs] - cache.output[n_pairs:]
        d = Z[:n_pairs] - Z[n_pairs:]
        rr, dd = np.sum(r * r, 1), np.maximum(np.sum(d * d, 1), 1e-300)
        f = rr / dd
        gx = network.vjp(cache, np.concatenate([r, -r]) * (2 / dd)[np.r_[:n_pairs, :n_pairs]][:, None])
        gd = (2 * f / dd)[:, None] * d
        g = gx - np.concatenate([gd, -gd])
        return f, g

    for t in range(1, n_steps + 1):
        f, g = ratio_and_grad(Z)
        mom = b1 * mom + (1 - b1) * g
        vel = b2 * vel + (1 - b2) * g * g
        Z = Z - lr * (mom / (1 - b1**t)) / (np.sqrt(vel / (1 - b2**t)) + 1e-12)
        if homog:
            s = np.maximum(np.linalg.norm(Z[:n_pairs], axis=1), np.linalg.norm(Z[n_pairs:], axis=1))
            s = np.maximum(s, 1e-300)
            Z = Z / np.concatenate([s, s])[:, None]
    out = network.forward(Z)
    num = np.linalg.norm(out[:n_pairs] - out[n_pairs:], axis=1)
    den = np.linalg.norm(Z[:n_pairs] - Z[n_pairs:], axis=1)
    ratio = np.where(den > 0, num / np.maximum(den, 1e-300), np.inf)
    return {"ratio": ratio, "z1": Z[:n_pairs], "z2": Z[n_pairs:], "separation": den}


def collapse_fraction(network, *, rng: np.random.Generator, n: int,
                      radius: float = BALL_RADIUS) -> dict:
    """Fraction of latents, uniform in the ball of ``radius``, at which ``G`` is locally
    constant (``J_G(z)^T g = 0`` for a Gaussian ``g``, which for ``J_G != 0`` has
    probability 0): a region mapped to one output (Fig. 4(d)), with a 95% Wilson
    interval, and the number of distinct outputs among those latents."""
    n0 = network.spec.latent_dim
    u = rng.standard_normal((n, n0))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    Z = u * (radius * rng.uniform(size=(n, 1)) ** (1.0 / n0))
    cache = network.forward_with_cache(Z)
    g = rng.standard_normal(cache.output.shape)
    flat = np.all(network.vjp(cache, g) == 0, axis=1)
    c = int(flat.sum())
    lo, hi = wilson_interval(c, n)
    outs = cache.output[flat]
    distinct = int(len(np.unique(outs, axis=0))) if c else 0
    return {"fraction": c / n, "count": c, "n": n, "ci_low": lo, "ci_high": hi,
            "distinct_outputs": distinct,
            "output_norm": float(np.linalg.norm(outs[0])) if c else None,
            "example": Z[flat][0].tolist() if c else None}


# ============================================================ the check


__all__ = ["EPS", "COLLISION_RTOL", "rank_rtol", "VERTEX_ATOL", "GRAM_CANDIDATES", "CERT_RTOL", "CERT_MIN_SEPARATION", "sign_rtol", "BALL_RADIUS", "SWEEP_EXPANSIONS", "gram_deficiency", "circle_cells", "arrangement_patterns", "layer_criterion", "two_k_witness", "collision_from_witness", "embed_first_layer", "certify_first_layer", "layer_matrices", "batched_patterns", "expansion_sweep", "crossing", "homogeneous", "collision_search", "collapse_fraction"]
