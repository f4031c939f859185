"""Closed-form objects of the proof shared by several lemmas (lemmas/README.md, sections 2-5).

* ``Q(u, v)`` and ``M(u, v)``: the expectation of the ReLU-merged Gram matrix
  (Lemma Sup.2; H&V's Weight Distribution Condition).
* ``angle_map(theta)``: g(theta) (Lemma Sup.4), its iterates, and ``theta_bar``,
  the conv-layer prediction of the output angle.
* ``rho(d)`` and ``hv_surrogate(z, x0, d)``: H&V's deterministic surrogate of the
  gradient and the position -rho_d x0 of its second zero (Theorem 1).
"""

from __future__ import annotations

import math
import warnings

import numpy as np


def angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between the rows of u and v in [0, pi] (batched over leading axes).

    A zero vector has no angle: the result is NaN with a RuntimeWarning
    (degenerate but legal input warns and gives NaN rather than crashing).
    """
    u, v = np.asarray(u, float), np.asarray(v, float)
    nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
    zero = (nu == 0) | (nv == 0)
    if np.any(zero):
        warnings.warn("angle of a zero vector is undefined: NaN returned", RuntimeWarning,
                      stacklevel=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = u / nu[..., None]
        b = v / nv[..., None]
        # 2 atan2(|a - b|, |a + b|) keeps full precision near 0 and pi, where
        # arccos of the cosine loses half the digits.
        th = 2.0 * np.arctan2(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))
    return np.where(zero, np.nan, th)


def M(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """M_{u<->v}: maps u_hat to v_hat, v_hat to u_hat, span{u, v}^perp to 0.

    In the basis e1 = u_hat, e2 = (v_hat - cos(theta) u_hat)/sin(theta) it is
    [[cos, sin], [sin, -cos]] of theta (lemmas/README.md, section 2).
    For parallel or anti-parallel u, v (sin = 0) the span is one-dimensional and
    M = +-u_hat u_hat^T.
    """
    u, v = np.asarray(u, float), np.asarray(v, float)
    a = u / np.linalg.norm(u)
    b = v / np.linalg.norm(v)
    c = float(np.clip(a @ b, -1.0, 1.0))
    e2 = b - c * a
    s = np.linalg.norm(e2)
    if s < 1e-14:
        return c * np.outer(a, a)
    e2 = e2 / s
    return (c * np.outer(a, a) + s * (np.outer(a, e2) + np.outer(e2, a)) - c * np.outer(e2, e2))


def Q(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Q_{u,v} = (pi - theta)/(2 pi) I + sin(theta)/(2 pi) M_{u<->v}; Q_{u,0} = 0.

    For B with i.i.d. N(0, 1/m) entries, E[B_{+,u}^T B_{+,v}] = Q_{u,v} (Lemma Sup.2).
    """
    u, v = np.asarray(u, float), np.asarray(v, float)
    k = u.shape[-1]
    if not np.any(u) or not np.any(v):
        return np.zeros((k, k))
    th = float(angle(u, v))
    return (math.pi - th) / (2 * math.pi) * np.eye(k) + math.sin(th) / (2 * math.pi) * M(u, v)


def angle_map(theta):
    """g(theta) = arccos(((pi - theta) cos(theta) + sin(theta)) / pi) (Lemma Sup.4)."""
    theta = np.asarray(theta, float)
    c = ((np.pi - theta) * np.cos(theta) + np.sin(theta)) / np.pi
    return np.arccos(np.clip(c, -1.0, 1.0))


def angle_map_iterates(theta0: float, n: int) -> np.ndarray:
    """(theta_0, g(theta_0), ..., g^{n-1}(theta_0))."""
    out = [float(theta0)]
    for _ in range(n - 1):
        out.append(float(angle_map(out[-1])))
    return np.array(out)


def theta_bar(x: np.ndarray, y: np.ndarray) -> float:
    """Conv-layer prediction of the output angle (lemmas/README.md, section 3).

    ``x``, ``y``: per-position channel vectors, shape (positions, C). Positions where
    either vector is zero contribute nothing to the sum.
    """
    nx, ny = np.linalg.norm(x, axis=-1), np.linalg.norm(y, axis=-1)
    ok = (nx > 0) & (ny > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        th = angle(x[ok], y[ok])
    num = np.sum(nx[ok] * ny[ok] * np.cos(angle_map(th)))
    den = np.linalg.norm(x) * np.linalg.norm(y)
    return float(np.arccos(np.clip(num / den, -1.0, 1.0)))


def rho(d: int) -> float:
    """rho_d = sum_{i<d} (sin theta_i / pi) prod_{i<j<d} (pi - theta_j)/pi, theta_0 = pi.

    rho_1 = 0, rho_2 = 1/pi, rho_3 ~ 0.4937 (H&V; lemmas/README.md, section 5).
    """
    th = angle_map_iterates(math.pi, d)
    total = 0.0
    for i in range(d):
        prod = 1.0
        for j in range(i + 1, d):
            prod *= (math.pi - th[j]) / math.pi
        total += math.sin(th[i]) / math.pi * prod
    return total


def hv_surrogate(z: np.ndarray, x0: np.ndarray, d: int) -> np.ndarray:
    """H&V's deterministic surrogate h_{z,x0} of grad J for d layers (lemmas/README.md, section 5).

    h = 2^-d z - 2^-d [ (prod_{i<d} (pi - theta_i)/pi) x0
        + sum_{i<d} (sin theta_i / pi) (prod_{i<j<d} (pi - theta_j)/pi) (||x0||/||z||) z ],
    theta_0 = angle(z, x0), theta_i = g(theta_{i-1}). Batched over rows of z.
    """
    z = np.atleast_2d(np.asarray(z, float))
    x0 = np.asarray(x0, float)
    th0 = angle(z, np.broadcast_to(x0, z.shape))
    ths = [th0]
    for _ in range(d - 1):
        ths.append(angle_map(ths[-1]))
    ths = np.stack(ths, axis=0)  # (d, b)
    lead = np.prod((np.pi - ths) / np.pi, axis=0)
    coef = np.zeros(z.shape[0])
    for i in range(d):
        prod = np.prod((np.pi - ths[i + 1:]) / np.pi, axis=0) if i + 1 < d else 1.0
        coef = coef + np.sin(ths[i]) / np.pi * prod
    ratio = np.linalg.norm(x0) / np.linalg.norm(z, axis=1)
    return 2.0**-d * z - 2.0**-d * (lead[:, None] * x0 + (coef * ratio)[:, None] * z)
