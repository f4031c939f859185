"""The mixed-integer model of :mod:`verify.geometry.milp`: a small builder of variables
and sparse rows for scipy.optimize.milp (HiGHS), the network's layers as dense matrices
pruned to what J sees, interval bounds, and the forward and backward encodings on affine
expressions (units of fixed sign on the whole domain need no variable). The arguments
for what the encodings hold are in :mod:`verify.geometry.milp`'s docstring."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..network import Network


class Model:
    """Variables (bounds, integrality) and sparse rows lo <= A x <= hi."""

    def __init__(self):
        self.lb, self.ub, self.integer = [], [], []
        self.r, self.c, self.v, self.lo, self.hi = [], [], [], [], []
        self.n = self.m = 0

    def var(self, lb, ub, integer=False) -> np.ndarray:
        lb, ub = np.atleast_1d(np.asarray(lb, float)), np.atleast_1d(np.asarray(ub, float))
        k = max(lb.size, ub.size)
        self.lb.append(np.broadcast_to(lb, k))
        self.ub.append(np.broadcast_to(ub, k))
        self.integer.append(np.full(k, int(integer)))
        idx = np.arange(self.n, self.n + k)
        self.n += k
        return idx

    def rows(self, cols, vals, lo, hi) -> None:
        """Rows sum_j vals[i, j] x[cols[i, j]] in [lo[i], hi[i]] (2-D cols / vals)."""
        cols, vals = np.atleast_2d(cols), np.atleast_2d(np.asarray(vals, float))
        cols, vals = np.broadcast_arrays(cols, vals)
        k = cols.shape[0]
        self.r.append(np.repeat(np.arange(self.m, self.m + k), cols.shape[1]))
        self.c.append(cols.ravel())
        self.v.append(vals.ravel())
        self.lo.append(np.broadcast_to(np.asarray(lo, float), k))
        self.hi.append(np.broadcast_to(np.asarray(hi, float), k))
        self.m += k

    def dense(self, M, cols, lo, hi, extra=None) -> None:
        """Rows M @ x[cols] (+ extra (col, coef) per row) in [lo, hi]."""
        M = np.atleast_2d(M)
        if extra is not None:
            M = np.hstack([M, np.asarray(extra[1], float)[:, None]])
            cols = np.concatenate([cols, [-1]])
            C = np.broadcast_to(cols, M.shape).copy()
            C[:, -1] = extra[0]
        else:
            C = np.broadcast_to(cols, M.shape)
        keep = M != 0
        r = np.nonzero(keep)[0]
        self.r.append(self.m + r)
        self.c.append(C[keep])
        self.v.append(M[keep])
        self.lo.append(np.broadcast_to(np.asarray(lo, float), M.shape[0]))
        self.hi.append(np.broadcast_to(np.asarray(hi, float), M.shape[0]))
        self.m += M.shape[0]

    def solve(self, c=None, *, node_limit: int, time_limit: float):
        from scipy.optimize import Bounds, LinearConstraint, milp

        c = np.zeros(self.n) if c is None else c
        cons = None
        if self.m:
            A = sp.csr_matrix((np.concatenate(self.v), (np.concatenate(self.r),
                                                         np.concatenate(self.c))),
                              shape=(self.m, self.n))
            cons = LinearConstraint(A, np.concatenate(self.lo), np.concatenate(self.hi))
        return milp(c, integrality=np.concatenate(self.integer),
                    bounds=Bounds(np.concatenate(self.lb), np.concatenate(self.ub)),
                    constraints=cons,
                    options={"node_limit": int(node_limit), "time_limit": float(time_limit),
                             "presolve": True})


# ------------------------------------------------------------------ the network
def dense_layers(network: Network, mask: np.ndarray) -> list[np.ndarray]:
    """The layers as dense matrices, pruned to what J sees: the unobserved outputs, then
    every hidden unit whose output no kept unit reads."""
    Ws = [network.layer_matrix(i).toarray() for i in range(network.spec.depth)]
    keep = np.asarray(mask, bool)
    for i in range(len(Ws) - 1, -1, -1):
        Ws[i] = Ws[i][keep]
        if i:
            keep = np.any(Ws[i] != 0, axis=0)
            Ws[i] = Ws[i][:, keep]
    return Ws


def forward_bounds(Ws, lo, hi):
    """Interval bounds of every layer's pre-activations over the box [lo, hi]."""
    out = []
    for W in Ws:
        P, N = np.maximum(W, 0), np.minimum(W, 0)
        L, U = P @ lo + N @ hi, P @ hi + N @ lo
        out.append((L, U))
        lo, hi = np.maximum(L, 0), np.maximum(U, 0)
    return out


def rows(m: Model, e, lo, hi, extra=()) -> None:
    """Rows e(x) + sum of extra terms in [lo, hi] for an affine expression e = (cols, C,
    c0) (values C @ x[cols] + c0) and extra (vars, coefs) pairs, one per row."""
    cols, C, c0 = e
    keep = C != 0
    r, c = np.nonzero(keep)
    R = [r] + [np.arange(len(C)) for _ in extra]
    K = [cols[c]] + [np.asarray(v) for v, _ in extra]
    V = [C[keep]] + [np.broadcast_to(np.asarray(w, float), len(C)) for _, w in extra]
    m.r.append(m.m + np.concatenate(R))
    m.c.append(np.concatenate(K))
    m.v.append(np.concatenate(V))
    m.lo.append(np.broadcast_to(np.asarray(lo, float), len(C)) - c0)
    m.hi.append(np.broadcast_to(np.asarray(hi, float), len(C)) - c0)
    m.m += len(C)


def sub(e, rows):
    return e[0], e[1][rows], e[2][rows]


def relu_net(m: Model, Ws, z, bounds, ties: bool):
    """Forward encoding on affine expressions: a unit of fixed sign on the whole domain
    is its pre-activation (active) or 0 (inactive), with no variable; an unstable unit
    gets its output x, binaries a, t and derivative d. Returns per layer (a, t, d,
    unstable, active) and the output expression."""
    layers = []
    e = (z, np.eye(len(z)), np.zeros(len(z)))             # x_0 = z
    for W, (L, U) in zip(Ws, bounds):
        n = W.shape[0]
        pre = (e[0], W @ e[1], W @ e[2])
        on, off = L >= 0, U <= 0
        uns = ~on & ~off
        j = np.flatnonzero(uns)
        a, t, d = np.full(n, -1), np.full(n, -1), np.full(n, -1)
        C = np.where(on[:, None], pre[1], 0.0)
        c0 = np.where(on, pre[2], 0.0)
        if j.size:
            Lj, Uj = L[j], U[j]
            x = m.var(np.zeros(j.size), Uj)
            a[j] = m.var(np.zeros(j.size), 1, True)
            pj = sub(pre, j)
            neg = (pj[0], -pj[1], -pj[2])
            rows(m, neg, 0.0, np.inf, [(x, 1.0)])                      # x >= p
            rows(m, neg, -np.inf, -Lj, [(x, 1.0), (a[j], -Lj)])       # x <= p - L(1-a)
            m.rows(np.stack([x, a[j]], 1), np.stack([np.ones(j.size), -Uj], 1), -np.inf, 0.0)
            if ties:
                t[j] = m.var(np.zeros(j.size), 1, True)
                d[j] = m.var(np.zeros(j.size), 1)
                rows(m, pj, -np.inf, Uj, [(t[j], Uj)])                 # t = 1: p = 0
                rows(m, pj, Lj, np.inf, [(t[j], Lj)])
                m.rows(np.stack([a[j], t[j]], 1), [[1.0, 1.0]], -np.inf, 1.0)
                m.rows(np.stack([d[j], a[j], t[j]], 1), [[1.0, -1.0, -1.0]], -np.inf, 0.0)
                m.rows(np.stack([a[j], d[j], t[j]], 1), [[1.0, -1.0, -1.0]], -np.inf, 0.0)
            E = np.zeros((n, j.size))
            E[j, np.arange(j.size)] = 1.0
            e = (np.concatenate([e[0], x]), np.hstack([C, E]), c0)
        else:
            e = (e[0], C, c0)
        layers.append((a, t, d, uns, on))
    return layers, e


def backward(m: Model, Ws, layers, out, y, tau, post_bounds):
    """The backward pass on affine expressions (module docstring): |g_0| <= tau."""
    xL, xU = post_bounds
    a, t, d, uns, on = layers[-1]
    j = np.flatnonzero(uns)
    # output layer, exactly: h = d (x - y) = x - d y (x = 0 wherever d is not 1)
    C = np.where((on | uns)[:, None], out[1], 0.0)
    c0 = np.where(on, out[2] - y, np.where(uns, out[2], 0.0))
    E = np.zeros((len(on), j.size))
    E[j, np.arange(j.size)] = -y[j]
    h = (np.concatenate([out[0], d[j]]), np.hstack([C, E]), c0)
    lo = np.where(on, xL - y, np.where(uns, np.minimum(-y, 0), 0.0))
    hi = np.where(on, xU - y, np.where(uns, np.maximum(xU - y, 0), 0.0))
    deeper = t[t >= 0]
    for i in range(len(Ws) - 2, -1, -1):
        WT = Ws[i + 1].T
        P, N = np.maximum(WT, 0), np.minimum(WT, 0)
        gL, gU = P @ lo + N @ hi, P @ hi + N @ lo
        g = (h[0], WT @ h[1], WT @ h[2])
        a, t, d, uns, on = layers[i]
        j = np.flatnonzero(uns)
        C = np.where(on[:, None], g[1], 0.0)
        c0 = np.where(on, g[2], 0.0)
        if j.size:
            hv = hidden_tie(m, g, gL, gU, j, d, deeper)
            E = np.zeros((len(on), j.size))
            E[j, np.arange(j.size)] = 1.0
            h = (np.concatenate([g[0], hv]), np.hstack([C, E]), c0)
        else:
            h = (g[0], C, c0)
        lo = np.where(on, gL, np.where(uns, np.minimum(gL, 0), 0.0))
        hi = np.where(on, gU, np.where(uns, np.maximum(gU, 0), 0.0))
        deeper = np.concatenate([deeper, t[t >= 0]])
    WT = Ws[0].T
    rows(m, (h[0], WT @ h[1], WT @ h[2]), -tau, tau)


def hidden_tie(m: Model, g, gL, gU, j, d, deeper):
    """h = d g on the unstable units ``j`` of a hidden layer: McCormick over the box
    [0, 1] x [gL, gU] (convex: the slice at z holds the hull of the 0/1 choices, module
    docstring), and, when no deeper layer has a tie, h between 0 and g exactly (a sign
    binary per unit; relaxed through tau >= every deeper tie binary, tau <= their sum)."""
    Lg, Ug = gL[j], gU[j]
    n = j.size
    one = np.ones(n)
    h = m.var(np.minimum(Lg, 0), np.maximum(Ug, 0))
    gj = sub(g, j)
    neg = (gj[0], -gj[1], -gj[2])
    m.rows(np.stack([h, d[j]], 1), np.stack([one, -Lg], 1), 0.0, np.inf)
    rows(m, neg, -Ug, np.inf, [(h, 1.0), (d[j], -Ug)])                # h >= g - U(1-d)
    m.rows(np.stack([h, d[j]], 1), np.stack([one, -Ug], 1), -np.inf, 0.0)
    rows(m, neg, -np.inf, -Lg, [(h, 1.0), (d[j], -Lg)])               # h <= g - L(1-d)
    if deeper.size:
        tau = m.var(0.0, 1.0)
        m.rows(np.stack([np.full(deeper.size, tau[0]), deeper], 1), [[1.0, -1.0]], 0.0,
               np.inf)
        m.rows(np.r_[tau, deeper][None], [np.r_[1.0, -np.ones(deeper.size)]], -np.inf, 0.0)
        relax = [(np.full(n, tau[0]), None)]
    else:
        relax = []
    sg = m.var(np.zeros(n), 1, True)                                    # sign of g
    hL, hU = np.minimum(Lg, 0), np.maximum(Ug, 0)
    Lg, Ug = hL, hU                          # the relaxed bounds must stay valid
    # sg = 1: g >= 0, 0 <= h <= g; sg = 0: g <= 0, g <= h <= 0 (each relaxed by tau)
    for coef_s, coef_r, e, lo, hi in (
            (Lg, -Lg, gj, Lg, np.inf),                     # g >= L (1 - s + tau)
            (-Ug, -Ug, gj, -np.inf, 0.0),                  # g <= U (s + tau)
    ):
        extra = [(sg, coef_s)] + [(r[0], coef_r) for r in relax]
        rows(m, e, lo, hi, extra)
    m.rows(np.stack([h, sg] + ([np.full(n, tau[0])] if relax else []), 1),
           np.stack([one, hL] + ([-hL] if relax else []), 1), hL, np.inf)     # h >= hL(1-s+tau)
    rows(m, neg, -np.inf, hU - Lg, [(h, 1.0), (sg, hU - Lg)]
          + ([(np.full(n, tau[0]), -(hU - Lg))] if relax else []))          # h - g <= (hU-L)(1-s+tau)
    m.rows(np.stack([h, sg] + ([np.full(n, tau[0])] if relax else []), 1),
           np.stack([one, -hU] + ([-hU] if relax else []), 1), -np.inf, 0.0)  # h <= hU(s+tau)
    rows(m, neg, 0.0, np.inf, [(h, 1.0), (sg, -(hL - Ug))]
          + ([(np.full(n, tau[0]), -(hL - Ug))] if relax else []))           # h - g >= (hL-U)(s+tau)
    return h


__all__ = ["Model", "dense_layers", "forward_bounds", "rows", "sub", "relu_net", "backward",
           "hidden_tie"]
