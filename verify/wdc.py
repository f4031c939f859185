"""The exact WDC supremum of one block with k = 2 columns (MATH.md Sec. 3 and 12).

H&V's weight distribution condition asks sup over u, v != 0 of
||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 <= eps. For B in R^{m x k} the first term depends only
on the activation patterns of u and v: it is the constant C = B^T diag(s_u * s_v) B on
each pair of cones of the arrangement of B's rows (:mod:`verify.cones`), while
Q_{u,v} = (pi - theta)/(2 pi) I + sin(theta)/(2 pi) M_{u<->v} is smooth. For k = 2, with
u = (cos a, sin a) and v = (cos b, sin b), M_{u<->v} is the reflection
[[cos(a+b), sin(a+b)], [sin(a+b), -cos(a+b)]] and theta the angle between them, so

    ||dQ/da||_2, ||dQ/db||_2 <= (1 + 1 + 1) / (2 pi) = L

(the rate of theta, of sin(theta), and of the reflection's angle). On each pair of arcs
the supremum of f(a, b) = ||C - Q(a, b)||_2 is then bracketed by its maximum over a grid
of spacing at most h that includes every arc's end points: max_grid <= sup <=
max_grid + L h (every point of a rectangle is within h/2 of a grid point in each
coordinate, and f is 1-Lipschitz in Q). Both ends are returned, with h and L: a
certificate of the supremum to a stated tolerance, against which a sampled eps_hat
(a lower estimate) is compared. k = 3 would need a grid over four angles; it is not
done here and is refused with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import budget
from .errors import VerifyError

#: Lipschitz constant of Q(a, b) in each angle (module docstring).
LIPSCHITZ = 3.0 / (2.0 * math.pi)


@dataclass(frozen=True)
class ExactSup:
    """sup_{u,v} ||B_{+,u}^T B_{+,v} - Q_{u,v}|| in [lower, upper] (upper - lower <= L h)."""

    lower: float
    upper: float
    at: tuple[float, float]     # the angles (a, b) of the largest grid value
    h: float
    arcs: int
    grid_points: int

    def to_dict(self) -> dict:
        return {"lower": self.lower, "upper": self.upper, "at": list(self.at), "h": self.h,
                "lipschitz": LIPSCHITZ, "arcs": self.arcs, "grid_points": self.grid_points}


def _arcs_of_rows(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary angles (K + 1,) of the arrangement of B's rows on the circle (plus the
    quadrant boundaries) and each arc's activation pattern (K, m)."""
    t = np.arctan2(B[:, 0], -B[:, 1])                 # zeros of b . (cos t, sin t)
    nz = np.any(B != 0, axis=1)
    cand = np.concatenate([t[nz], np.where(t[nz] > 0, t[nz] - np.pi, t[nz] + np.pi)])
    edges = np.unique(np.concatenate([[-np.pi, -np.pi / 2, 0.0, np.pi / 2, np.pi],
                                      cand[(cand > -np.pi) & (cand < np.pi)]]))
    mid = 0.5 * (edges[:-1] + edges[1:])
    s = (np.stack([np.cos(mid), np.sin(mid)], axis=1) @ B.T) > 0
    return edges, s.astype(float)


def exact_sup(B: np.ndarray, *, h: float = 2e-3, chunk: int = 2_000_000) -> ExactSup:
    """The certified WDC supremum of the block ``B`` (m, 2) (module docstring)."""
    B = np.asarray(B, float)
    if B.ndim != 2 or B.shape[1] != 2:
        raise VerifyError(f"the exact WDC supremum handles blocks with k = 2 columns; this "
                          f"block has shape {B.shape} (k = 3 would need a grid over four "
                          "angles)")
    if not h > 0:
        raise VerifyError(f"h: expected a grid spacing > 0, got {h!r}")
    edges, S = _arcs_of_rows(B)
    K = S.shape[0]
    # per arc: grid angles including both ends, spacing <= h
    n_per = np.maximum(2, np.ceil(np.diff(edges) / h).astype(int) + 1)
    ang = np.concatenate([np.linspace(edges[i], edges[i + 1], n_per[i]) for i in range(K)])
    arc = np.repeat(np.arange(K), n_per)
    n = ang.size
    budget.require_count(n * n, 8.0 * 12, "exact WDC grid")
    budget.require_count(K * K, 8.0 * 4, "exact WDC pattern pairs")
    C = np.empty((K, K, 2, 2))                        # C[i, j] = B^T diag(s_i s_j) B
    for k_ in range(2):
        for l_ in range(k_, 2):
            C[..., k_, l_] = S @ (S * (B[:, k_] * B[:, l_])).T
    C[..., 1, 0] = C[..., 0, 1]
    best, at = -1.0, (0.0, 0.0)
    rows = max(1, chunk // n)
    for start in range(0, n, rows):
        a = ang[start:start + rows, None]
        ia = arc[start:start + rows, None]
        b = ang[None, :]
        d = np.abs(a - b)
        theta = np.minimum(d, 2 * np.pi - d)
        c1 = (np.pi - theta) / (2 * np.pi)
        c2 = np.sin(theta) / (2 * np.pi)
        phi = a + b
        cp, sp = np.cos(phi), np.sin(phi)
        Cab = C[ia, arc[None, :]]                     # (r, n, 2, 2)
        d00 = Cab[..., 0, 0] - c1 - c2 * cp
        d11 = Cab[..., 1, 1] - c1 + c2 * cp
        d01 = Cab[..., 0, 1] - c2 * sp
        # spectral norm of the symmetric 2 x 2 difference: |mean| + radius
        val = np.abs(0.5 * (d00 + d11)) + np.hypot(0.5 * (d00 - d11), d01)
        j = int(np.argmax(val))
        if val.flat[j] > best:
            best = float(val.flat[j])
            r_, c_ = np.unravel_index(j, val.shape)
            at = (float(ang[start + r_]), float(ang[c_]))
    step = float(np.max(np.diff(ang)[np.diff(arc) == 0])) if n > K else 0.0
    return ExactSup(best, best + LIPSCHITZ * step, at, step, K, n * n)


__all__ = ["ExactSup", "exact_sup", "LIPSCHITZ"]
