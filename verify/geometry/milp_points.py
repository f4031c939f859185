"""What :mod:`verify.geometry.milp` does with a point its program finds: the pattern's
stationary point on the face of its ties (:func:`polish`), the gradients of the regions
whose closures hold it (:func:`adjacent_gradients`, an under-approximation: every row is
a true adjacent gradient), the gradients of every 0/1 choice at its ties
(:func:`tie_gradients`, an over-approximation), the minimum-norm point of a hull, and its
class by the engine's exact one-sided D_v J (:func:`classify`)."""

from __future__ import annotations

import itertools

import numpy as np

from ..network import Network


def maps(Ws, act):
    """M (the region's linear map) and each layer's pre-activation maps."""
    M = np.eye(Ws[0].shape[1])
    rows = []
    for W, on in zip(Ws, act):
        pre = W @ M
        rows.append(pre)
        M = pre * on[:, None]
    return M, rows


def polish(Ws, y, act, tie, near=None):
    """The stationary points of the pattern's quadratic on the face of its ties: z = B c,
    B an orthonormal basis of F = {z : tie pre-activations = 0}, (B^T H B) c = B^T b.
    Returns (z, unique, empty): ``unique`` when B^T H B is positive definite (then z is
    the only stationary point the binary assignment allows, module docstring),
    ``empty`` when F = {0}; for a singular B^T H B, the solution nearest ``near``."""
    from scipy.linalg import null_space

    k = Ws[0].shape[1]
    M, rows = maps(Ws, act)
    F = np.concatenate([r[t] for r, t in zip(rows, tie)]) if any(t.any() for t in tie) \
        else np.zeros((0, k))
    B = null_space(F) if len(F) else np.eye(k)
    if B.shape[1] == 0:
        return np.zeros(k), False, True
    H, b = B.T @ M.T @ M @ B, B.T @ M.T @ y
    ev, V = np.linalg.eigh(H)
    keep = ev > 1e-10 * max(ev[-1], 1e-300)
    c = V[:, keep] @ ((V[:, keep].T @ b) / ev[keep])
    if not keep.all() and near is not None:
        N = V[:, ~keep]
        c = c + N @ (N.T @ (B.T @ near - c))
    return B @ c, bool(keep.all()), False


def region_gradient(Ws, y, z, act):
    M, _ = maps(Ws, act)
    return M.T @ (M @ z - y), M @ z


def min_norm_hull(G: np.ndarray) -> float:
    """The norm of the minimum-norm point of the convex hull of the rows of ``G``
    (NNLS with the simplex constraint as a heavy row)."""
    from scipy.optimize import nnls

    big = 1e3 * max(1.0, float(np.abs(G).max()))
    lam, _ = nnls(np.vstack([G.T, np.full((1, len(G)), big)]), np.r_[np.zeros(G.shape[1]), big])
    lam = lam / max(lam.sum(), 1e-300)
    return float(np.linalg.norm(G.T @ lam))


def adjacent_gradients(Ws, y, z, rng, probes: int = 512, eta: float = 1e-9):
    """Gradients of regions whose closures hold z, found by probing: the activation
    pattern at z + eta ||z|| v for random v and for the sign combinations of the normals
    of the units that vanish at z; a probe counts when its region's map gives G(z)
    (it did not cross a boundary that misses z). Every row returned is a true adjacent
    gradient (the set may miss small regions: it under-approximates the hull)."""
    k = len(z)
    x, pre0 = z, []
    for W in Ws:
        p = W @ x
        pre0.append(p)
        x = np.maximum(p, 0)
    Gz = x
    V = rng.normal(size=(probes, k))
    scale = [np.abs(p).max() + 1e-300 for p in pre0]
    near = [np.abs(p) <= 1e-7 * s for p, s in zip(pre0, scale)]
    M1 = Ws[0][near[0]]
    if 0 < len(M1) <= 8:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(M1))))
        V = np.vstack([V, np.linalg.lstsq(M1, signs.T, rcond=None)[0].T])
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    Z = z + eta * np.linalg.norm(z) * V
    X, pats = Z.T, []
    for W in Ws:
        P = W @ X
        pats.append(P > 0)
        X = np.maximum(P, 0)
    keyed = {}
    for b in range(len(V)):
        act = [p[:, b] for p in pats]
        key = b"".join(np.packbits(a).tobytes() for a in act)
        if key in keyed:
            continue
        g, Gm = region_gradient(Ws, y, z, act)
        if np.linalg.norm(Gm - Gz) <= 1e-9 * max(np.linalg.norm(Gz), 1e-300):
            keyed[key] = g
    return np.array(list(keyed.values())) if keyed else np.zeros((0, k))


def is_stationary(G: np.ndarray, gscale: float, tol: float = 1e-8) -> bool:
    return bool(len(G)) and min_norm_hull(G) <= tol * gscale


def tie_gradients(Ws, y, z, act, tie, limit: int = 12):
    """The gradients of every 0/1 choice at the tie units (a superset of the adjacent
    regions' gradients): 0 outside their hull proves z is not stationary."""
    where = [(i, j) for i, t in enumerate(tie) for j in np.flatnonzero(t)]
    if len(where) > limit:
        return None
    out = []
    for bits in itertools.product((False, True), repeat=len(where)):
        a = [x.copy() for x in act]
        for (i, j), b in zip(where, bits):
            a[i][j] = b
        out.append(region_gradient(Ws, y, z, a)[0])
    return np.array(out)


def classify(network: Network, y, mask, z, G, rng) -> tuple[str, float]:
    """By the engine's exact one-sided D_v J at z (tie tolerance 1e-9 of the largest
    pre-activation): along the negated adjacent gradients and random directions."""
    from ..measurements import MaskBatch
    from ..objective import Objective

    k = len(z)
    V = np.vstack([-G, rng.normal(size=(256, k))]) if len(G) else rng.normal(size=(256, k))
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-300)
    pre = max(float(np.abs(p).max()) for p in network.layer_outputs(z[None]))
    obj = Objective(network, MaskBatch(np.asarray(mask, bool)[None].repeat(len(V), 0)),
                    np.tile(y, (len(V), 1)))
    dd = obj.directional_derivative(np.tile(z, (len(V), 1)), V, tie_tol=1e-9 * pre)
    worst = float(dd.min())
    scale = float(np.linalg.norm(y * mask)) ** 2 / max(float(np.linalg.norm(z)), 1e-300)
    return ("local minimum" if worst >= -1e-9 * scale else "saddle"), worst


def consistent(Ws, z, act, tie, tol: float = 1e-9) -> bool:
    """The point's signs agree with the pattern (ties within rounding)."""
    x = z
    for W, on, t in zip(Ws, act, tie):
        p = W @ x
        s = tol * (np.abs(p).max() + 1e-300)
        if (p[on & ~t] < -s).any() or (p[~on & ~t] > s).any() or (np.abs(p[t]) > s).any():
            return False
        x = np.maximum(p, 0)
    return True


__all__ = ["maps", "polish", "region_gradient", "min_norm_hull", "adjacent_gradients",
           "is_stationary", "tie_gradients", "classify", "consistent"]
