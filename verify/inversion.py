"""Recovering latent codes from partial measurements (MATH.md section 7; paper Theorem 4).

Public API (stable; other modules build on it)
----------------------------------------------
:func:`invert`   minimise J(z) = 1/2 ||A (G(z) - y)||^2 for a batch of independent trials
                 (one latent, one mask, one start per trial) by gradient descent or Adam,
                 all trials advancing together as one array computation.
:func:`recover`  draw y = A G(z*) (+ noise), call :func:`invert`, and score it:
                 success iff ||z_hat - z*|| / ||z*|| <= ``success_tol``, with the success
                 rate's 95% Wilson interval.
:func:`invert_lp` Lei et al. (NeurIPS 2019): invert a ReLU network one layer at a time by
                 linear programming (``scipy.optimize.linprog``), the second solver.

Layout
------
The hot loop keeps every feature batch-last, ``(C, *spatial, b)``: the transpose of the
engine's flat channel-major ``(b, n)``. Then a transposed convolution is ONE matrix
product ``F^T @ x.reshape(C_in, -1)`` over all positions and trials, followed by one
strided add per kernel offset whose inner axis (the trials) is contiguous. This is the
engine's ``Network.forward_with_cache`` / ``vjp`` re-laid out for memory traffic (the
wall for thin layers): buffers are reused across iterations (``out=``), and each
activation derivative is written straight into the next adjoint's (zero-bordered) input.
``backend="engine"`` runs the engine's own passes instead, and the tests check that
both give the same J and grad J to rounding.

For Adam (without ``flip``) on a 2-D latent through a bias-free ReLU network (the
paper's Sec. 4.2 / Fig. 4 setting) ``backend="auto"`` uses exact arc tables instead
(:class:`_ArcLoss`): G(z) = P_a z on each of finitely many arcs of the circle, so an
iteration is a 2 x 2 quadratic form per trial, rebuilt only when a trial changes arc.

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

from . import activations
from .errors import invalid
from .measurements import MaskBatch
from .network import Network
from .rng import as_generator
from .stats import wilson_interval

Method = Literal["adam", "gd"]
Negation = Literal[None, "restart", "flip"]

#: Default success tolerance on ||z_hat - z*|| / ||z*||. Recovery is bimodal (a converged
#: run reaches ~1e-6 or better, a failed one sits at O(1) from z*, e.g. near -rho z*), so
#: any threshold between ~1e-4 and ~1e-1 gives the same verdicts; 1e-3 is "exact to three
#: digits" as in the paper's "perfect recovery".
SUCCESS_TOL = 1e-3
#: Default relative-change tolerance: a trial stops when ||z_{t+1} - z_t|| <= tol ||z_t||.
TOL = 1e-9
_TINY = np.finfo(np.float64).tiny


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
        """The keys of ``verify invert --json`` (CLI.md) that come from the recovery."""
        return {"trials": self.trials, "recovered": self.recovered,
                "success_rate": self.success_rate, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "median_rel_error": self.median_rel_error,
                "iterations": float(np.median(self.result.iterations)),
                "iterations_max": int(np.max(self.result.iterations)),
                "converged": int(np.sum(self.result.converged)),
                "success_tol": self.success_tol, "noise": self.noise,
                "method": self.result.method, "negation": self.result.negation,
                **{k: v for k, v in self.result.settings.items() if k not in ("method",)}}


# ============================================================== the loss, batch-last
class _Workspace:
    """Reusable flat buffers: the loop's arrays are a few MB each, and allocating them
    afresh every iteration costs more in page faults than the arithmetic itself."""

    def __init__(self):
        self._bufs: dict = {}

    def get(self, key, shape, dtype=np.float64) -> np.ndarray:
        size = int(np.prod(shape))
        buf = self._bufs.get((key, np.dtype(dtype)))
        if buf is None or buf.size < size:
            buf = np.empty(size, dtype)
            self._bufs[(key, np.dtype(dtype))] = buf
        return buf[:size].reshape(shape)


class _BatchLastLoss:
    """J and grad J with features batch-last ``(C, *spatial, b)`` (see module Notes)."""

    name = "batch-last"

    def __init__(self, network: Network):
        spec = network.spec
        self.network, self.spec = network, spec
        self.ws = _Workspace()
        self.F, self.Ft, self.affine = [], [], []
        for i, w in enumerate(network.weights):
            cin = spec.channels[i]
            # (C_in, C_out l^d), columns ordered (c_out, kernel offset): the product
            # F^T x then lands in the output's channel-major order.
            F = np.ascontiguousarray(w.filters.reshape(cin, -1))
            self.F.append(F)
            self.Ft.append(np.ascontiguousarray(F.T))
            shape = (-1,) + (1,) * (spec.dims + 1)
            self.affine.append(None if w.scale is None
                               else (w.scale.reshape(shape), w.bias.reshape(shape)))

    def _conv(self, i: int, x: np.ndarray) -> np.ndarray:
        """Layer i's transposed convolution, ``(C_in, *S_in, b) -> (C_out, *S_out, b)``.

        The kernel offsets k < s (per axis) tile positions [0, D s) disjointly and are the
        first term of every sum there, so they are written, not added (no zero fill);
        only the tail [D s, (D-1) s + l) is zeroed. Same additions in the same order as
        zero-fill-then-add."""
        spec, layer, ws = self.spec, self.spec.layers[i], self.ws
        l, s, p, dims = layer.kernel, layer.stride, layer.padding, spec.dims
        cout, din, b = spec.channels[i + 1], spec.sizes[i], x.shape[-1]
        x2 = x.reshape(x.shape[0], -1)
        cols = np.matmul(self.Ft[i], x2, out=ws.get(("cols", i), (self.Ft[i].shape[0], x2.shape[1])))
        if din == 1 and p == 0:  # a latent vector: the product is the output
            return cols.reshape((cout,) + (l,) * dims + (b,))
        cols = cols.reshape((cout,) + (l,) * dims + (din,) * dims + (b,))
        nfull = (din - 1) * s + l
        span = (din - 1) * s + 1
        full = ws.get(("full", i), (cout,) + (nfull,) * dims + (b,))
        tiled = l >= s
        if not tiled:
            full.fill(0.0)
        else:
            e = din * s
            full[:, e:] = 0.0
            if dims == 2:
                full[:, :e, e:] = 0.0
        if dims == 1:
            for k in range(l):
                if tiled and k < s:
                    full[:, k:k + span:s] = cols[:, k]
                else:
                    full[:, k:k + span:s] += cols[:, k]
        else:
            if tiled:
                for ki in range(s):
                    for kj in range(s):
                        full[:, ki:ki + span:s, kj:kj + span:s] = cols[:, ki, kj]
            for ki in range(l):
                for kj in range(l):
                    if not (tiled and ki < s and kj < s):
                        full[:, ki:ki + span:s, kj:kj + span:s] += cols[:, ki, kj]
        if p:
            full = full[(slice(None),) + (slice(p, nfull - p),) * dims]
        return full

    def _grad_buffer(self, i: int, shape) -> tuple[np.ndarray, np.ndarray]:
        """(buffer for layer i's output gradient, its interior): with padding p the
        buffer is the zero-bordered ``(C_out, *(S_out + 2p), b)`` that :meth:`_conv_t`
        gathers from, so the gradient is written straight into it (no np.pad)."""
        p, dims = self.spec.layers[i].padding, self.spec.dims
        if not p:
            buf = self.ws.get(("g", i), shape)
            return buf, buf
        n = shape[1] + 2 * p
        buf = self.ws.get(("gpad", i), (shape[0],) + (n,) * dims + (shape[-1],))
        buf[:, :p] = 0.0
        buf[:, n - p:] = 0.0
        if dims == 2:
            buf[:, p:n - p, :p] = 0.0
            buf[:, p:n - p, n - p:] = 0.0
        return buf, buf[(slice(None),) + (slice(p, n - p),) * dims]

    def _conv_t(self, i: int, g: np.ndarray) -> np.ndarray:
        """Adjoint of :meth:`_conv`; ``g`` is the (zero-bordered, if padded) buffer of
        :meth:`_grad_buffer`."""
        spec, layer, ws = self.spec, self.spec.layers[i], self.ws
        l, s, p, dims = layer.kernel, layer.stride, layer.padding, spec.dims
        cout, din, b = spec.channels[i + 1], spec.sizes[i], g.shape[-1]
        cin = spec.channels[i]
        F = self.F[i]
        if din == 1 and p == 0:
            out = np.matmul(F, g.reshape(-1, b), out=ws.get(("gx", i), (cin, b)))
            return out.reshape((cin,) + (1,) * dims + (b,))
        span = (din - 1) * s + 1
        gcols = ws.get(("gcols", i), (cout,) + (l,) * dims + (din,) * dims + (b,))
        if dims == 1:
            for k in range(l):
                gcols[:, k] = g[:, k:k + span:s]
        else:
            for ki in range(l):
                for kj in range(l):
                    gcols[:, ki, kj] = g[:, ki:ki + span:s, kj:kj + span:s]
        gx = np.matmul(F, gcols.reshape(F.shape[1], -1), out=ws.get(("gx", i), (cin, din**dims * b)))
        return gx.reshape((cin,) + (din,) * dims + (b,))

    def _forward(self, z: np.ndarray, keep: bool):
        """Forward pass; ``pres[i]`` is what the backward pass needs of layer i: the
        ReLU output (its positive set is the pre-activation's), the pre-activation
        (leaky ReLU, identity), or the output (tanh, sigmoid: sigma' from sigma)."""
        spec, ws = self.spec, self.ws
        b = z.shape[-1]
        x = np.ascontiguousarray(z).reshape(spec.shape(0) + (b,))
        pres = []
        for i, layer in enumerate(spec.layers):
            pre = self._conv(i, x)
            if self.affine[i] is not None:
                sc, bi = self.affine[i]
                pre = np.multiply(pre, sc, out=ws.get(("aff", i), pre.shape))
                pre += bi
            act = layer.activation
            if act == "relu" and pre.flags.c_contiguous:
                x = np.maximum(pre, 0.0, out=pre)  # in place
            elif act == "identity":
                x = np.ascontiguousarray(pre)
            else:
                x = ws.get(("x", i), pre.shape)  # contiguous, also for a padding crop
                if act == "relu":
                    np.maximum(pre, 0.0, out=x)
                elif act == "leaky_relu" and 0.0 <= layer.slope <= 1.0:
                    # max(a, slope a) = where(a > 0, a, slope a) for 0 <= slope <= 1
                    np.multiply(pre, layer.slope, out=x)
                    np.maximum(pre, x, out=x)
                elif act == "tanh":
                    np.tanh(pre, out=x)
                else:
                    x[...] = activations.apply(act, pre, layer.slope)
            if keep:
                pres.append(x if act in ("relu", "tanh", "sigmoid") else pre)
        return x.reshape(-1, b), pres

    def forward(self, z: np.ndarray) -> np.ndarray:
        """G(z) for batch-last z ``(n0, b)``; returns ``(n_d, b)`` (a fresh array)."""
        return self._forward(z, keep=False)[0].copy()

    def _residual(self, out, y, w):
        r = np.subtract(out, y, out=self.ws.get("r", out.shape))
        r *= w
        return r, 0.5 * np.einsum("ij,ij->j", r, r)

    def value(self, z, y, w):
        return self._residual(self._forward(z, keep=False)[0], y, w)[1]

    def value_and_grad(self, z, y, w):
        """(J, grad J) for every column; the gradient is a workspace buffer, valid until
        the next call."""
        spec, ws = self.spec, self.ws
        b = z.shape[-1]
        out, pres = self._forward(z, keep=True)
        g, loss = self._residual(out, y, w)
        g = g.reshape(spec.shape(spec.depth) + (b,))
        for i in range(spec.depth - 1, -1, -1):
            layer, pre, act = spec.layers[i], pres[i], spec.layers[i].activation
            buf, dst = self._grad_buffer(i, pre.shape)
            if act == "relu":
                on = np.greater(pre, 0.0, out=ws.get(("mask", i), pre.shape, bool))
                np.multiply(g, on, out=dst)
            elif act == "leaky_relu":
                on = np.greater(pre, 0.0, out=ws.get(("mask", i), pre.shape, bool))
                np.multiply(g, layer.slope, out=dst)   # g * where(a > 0, 1, slope)
                np.copyto(dst, g, where=on)
            elif act == "tanh":                        # 1 - tanh(a)^2 from the output
                d = np.multiply(pre, pre, out=ws.get(("d", i), pre.shape))
                np.subtract(1.0, d, out=d)
                np.multiply(g, d, out=dst)
            elif act == "sigmoid":                     # s (1 - s) from the output
                d = np.subtract(1.0, pre, out=ws.get(("d", i), pre.shape))
                d *= pre
                np.multiply(g, d, out=dst)
            else:                                      # identity
                dst[...] = g
            if self.affine[i] is not None:
                dst *= self.affine[i][0]
            g = self._conv_t(i, buf)
        return loss, g.reshape(-1, b)


class _EngineLoss:
    """J and grad J through the engine's ``forward_with_cache`` / ``vjp`` (batch-first)."""

    name = "engine"

    def __init__(self, network: Network):
        self.network = network

    def forward(self, z):
        return self.network.forward(z.T).T

    def value(self, z, y, w):
        r = (self.network.forward(z.T).T - y) * w
        return 0.5 * np.einsum("ij,ij->j", r, r)

    def value_and_grad(self, z, y, w):
        cache = self.network.forward_with_cache(z.T)
        r = (cache.output.T - y) * w
        g = self.network.vjp(cache, np.ascontiguousarray(r.T))
        return 0.5 * np.einsum("ij,ij->j", r, r), np.ascontiguousarray(g.T)


class _ArcLoss:
    """J and grad J for a 2-D latent through a bias-free ReLU network, from its exact
    piecewise-linear form (paper Sec. 4.2 / Fig. 4 networks).

    G is positively homogeneous and each layer's activation pattern at z depends only on
    the angle of z (every pre-activation is linear in z on a cone), so the circle splits
    into arcs on each of which G(z) = P_a z with a fixed (n_d, 2) matrix P_a (the
    products of the layer matrices with the ReLU patterns, Lemma Sup.1's D_{i,z}).
    On arc a, J(z) = 1/2 z^T Q z - c^T z + k with Q = P_a^T A P_a, c = P_a^T A y:
    an iteration is a 2 x 2 product per trial, and (Q, c) are rebuilt (one (2, n_d)
    by (n_d, 5) product) only for trials that crossed into another arc.

    The arcs are found by splitting, layer by layer, at every zero of a row of the
    previous arcs' linear maps; a row's sign inside an arc is read at its midpoint,
    with the engine's convention ReLU'(0) = 0 (a row that vanishes on an arc is off).
    ``value`` (the loss the result reports) is the exact residual of
    :class:`_BatchLastLoss`; the quadratic-form J returned with the gradient carries
    absolute rounding ~eps ||A y||^2, so this loss serves Adam without the per-iteration
    negation test (which compares losses) only.
    """

    name = "arcs"
    #: bound on the arc tables (bytes); beyond it the network is not a candidate
    MAX_BYTES = 160e6

    def __init__(self, network: Network, edges: np.ndarray, P: np.ndarray):
        self.network, self.spec = network, network.spec
        self.exact = _BatchLastLoss(network)
        self.edges = edges
        p0, p1 = P[..., 0], P[..., 1]
        self.T = np.ascontiguousarray(np.stack([p0 * p0, p0 * p1, p1 * p1, p0, p1], axis=-1))
        self.n_arcs = P.shape[0]
        self._y = None

    @classmethod
    def build(cls, network: Network) -> "_ArcLoss | None":
        """The arc tables, or None when the network is not a 2-D-latent, bias-free ReLU
        network or its arcs would exceed :attr:`MAX_BYTES`."""
        spec = network.spec
        if spec.latent_dim != 2 or any(l.activation != "relu" or l.affine for l in spec.layers):
            return None
        edges = np.array([-np.pi, np.pi])
        P = np.eye(2)[None]                                   # (arcs, n_i, 2)
        for i in range(spec.depth):
            W = network.layer_matrix(i)
            K, n_prev = P.shape[0], P.shape[1]
            if 4 * K * W.shape[0] * 2 * 8 > cls.MAX_BYTES:  # pre, t, both candidates
                return None
            flat = np.ascontiguousarray(P.transpose(1, 0, 2)).reshape(n_prev, 2 * K)
            pre = np.asarray(W @ flat).reshape(W.shape[0], K, 2).transpose(1, 0, 2)
            # zeros of p . (cos t, sin t): t = atan2(p0, -p1) and that minus/plus pi
            t = np.arctan2(pre[..., 0], -pre[..., 1])
            nz = (pre[..., 0] != 0) | (pre[..., 1] != 0)
            cand = np.stack([t, np.where(t > 0, t - np.pi, t + np.pi)])
            lo, hi = edges[:-1, None], edges[1:, None]
            inside = (cand > lo) & (cand < hi) & nz
            new_edges = np.unique(np.concatenate([edges, cand[inside]]))
            K2 = new_edges.size - 1
            if K2 * pre.shape[1] * 5 * 8 > cls.MAX_BYTES:
                return None
            mid = 0.5 * (new_edges[:-1] + new_edges[1:])
            parent = np.clip(np.searchsorted(edges, mid, side="right") - 1, 0, K - 1)
            pp = pre[parent]
            on = np.einsum("knj,kj->kn", pp, np.stack([np.cos(mid), np.sin(mid)], axis=1)) > 0
            P = pp * on[..., None]
            edges = new_edges
        return cls(network, edges, np.ascontiguousarray(P))

    def forward(self, z):
        return self.exact.forward(z)

    def value(self, z, y, w):
        return self.exact.value(z, y, w)

    def _reset(self, y, w):
        self._y = y
        wy = w * y
        self._U = np.ascontiguousarray(np.stack([w.T, wy.T], axis=1))   # (b, 2, n_d)
        self._k0 = 0.5 * np.einsum("pb,pb->b", wy, y)
        b = y.shape[1]
        self._arc = np.full(b, -1, np.int64)
        self._q = np.empty((3, b))
        self._c = np.empty((2, b))

    def value_and_grad(self, z, y, w):
        """(J, grad J) per column of z (2, b); per-trial arc state is kept while the
        same ``y`` array is passed (rebuilt when the caller compacts its arrays)."""
        if y is not self._y:
            self._reset(y, w)
        z0, z1 = z[0], z[1]
        arc = np.searchsorted(self.edges, np.arctan2(z1, z0), side="right") - 1
        np.clip(arc, 0, self.n_arcs - 1, out=arc)
        moved = np.flatnonzero(arc != self._arc)
        if moved.size:
            qc = np.matmul(self._U[moved], self.T[arc[moved]])        # (k, 2, 5)
            self._q[:, moved] = qc[:, 0, :3].T
            self._c[:, moved] = qc[:, 1, 3:].T
            self._arc[moved] = arc[moved]
        q0, q1, q2 = self._q
        c0, c1 = self._c
        g = np.empty_like(z)
        a = q0 * z0
        a += q1 * z1
        g0 = np.subtract(a, c0, out=g[0])
        a = q1 * z0
        a += q2 * z1
        g1 = np.subtract(a, c1, out=g[1])
        # J = 1/2 z.(g - c) + k0 ... = 1/2 z^T Q z - c^T z + k0
        val = 0.5 * (z0 * (g0 - c0) + z1 * (g1 - c1)) + self._k0
        zero = (z0 == 0) & (z1 == 0)   # ReLU'(0) = 0: every unit is off at z = 0
        if zero.any():
            g[:, zero] = 0.0
        return val, g


def _loss_for(network: Network, backend: str, method: str = "adam", negation=None):
    """``auto``: the arc tables (:class:`_ArcLoss`) for Adam without the per-iteration
    negation test on a 2-D-latent ReLU network, else batch-last."""
    if backend in ("auto", "arcs") and method == "adam" and negation != "flip":
        loss = _ArcLoss.build(network)
        if loss is not None:
            return loss
    if backend in ("auto", "batch-last"):
        return _BatchLastLoss(network)
    if backend == "engine":
        return _EngineLoss(network)
    if backend == "arcs":
        raise invalid("backend", "'arcs' only for Adam without 'flip' on a 2-D-latent, "
                      "bias-free ReLU network", backend)
    raise invalid("backend", "'auto', 'arcs', 'batch-last' or 'engine'", backend)


# ============================================================== validation
def _blas_limit(threads: int | None):
    """Limit BLAS threads for the loop (a context manager; a no-op without threadpoolctl).

    The loop's products are thin (inner dimension C_{i-1}) and memory-bound; on a
    shared machine a multi-threaded BLAS spins against other processes and can be 10x
    slower than one thread, so one thread is the default."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: scikit-learn brings it
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads), user_api="blas")


def _check_network(network) -> Network:
    if not isinstance(network, Network):
        raise invalid("network", "a verify.Network", type(network).__name__)
    return network


def _as_masks(masks, b: int, n: int) -> np.ndarray:
    """Boolean (b, n) masks from a MaskBatch, a (b, n) or an (n,) boolean array, or None."""
    if masks is None:
        return np.ones((b, n), bool)
    if isinstance(masks, MaskBatch):
        masks = masks.masks
    elif hasattr(masks, "flat") and hasattr(masks, "rows"):  # a Subsampling operator
        masks = masks.flat
    m = np.asarray(masks)
    if m.dtype != bool:
        raise invalid("masks", "a boolean array of shape (b, n) or (n,), or a MaskBatch", m.dtype)
    if m.ndim == 1:
        m = np.broadcast_to(m, (b, m.size))
    if m.shape != (b, n):
        raise invalid("masks", f"shape ({b}, {n}) or ({n},)", m.shape)
    if not m.any(axis=1).all():
        raise invalid("masks", "at least one observed entry per trial", "a mask that observes nothing")
    return m


def _positive(name: str, value, *, integer: bool = False, allow_none: bool = False):
    if value is None and allow_none:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok and integer:
        ok = float(value) == int(value)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:
        raise invalid(name, "a finite " + ("integer >= 1" if integer else "number > 0"), value)
    return int(value) if integer else float(value)


def default_lr(method: str) -> float | None:
    """Adam: 0.01 (per-coordinate step scale, invariant to the network's gain).
    GD: None, meaning estimated per batch (:func:`_gd_step`)."""
    return 0.01 if method == "adam" else None


# ============================================================== the descent loop
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


def _descend(loss, z, y, w, *, method, lr, iterations, tol, flip, callback=None,
             compact_every=25):
    """Advance every column of ``z`` (n0, b) together.

    A column that meets the tolerance is frozen at once (its step is zero from then
    on) and frozen columns are compacted out of the working arrays every
    ``compact_every`` iterations or when they are a quarter of them, so they cost
    nothing. ``lr`` is a scalar or one step size per column; for GD a column whose
    loss rises is sent back to its previous point with its step halved (a monotone
    safeguard costing no extra pass).
    """
    n0, b = z.shape
    z = z.copy()
    used = np.zeros(b, np.int64)
    conv = np.zeros(b, bool)
    flips = np.zeros(b, np.int64)
    idx = np.arange(b)                      # trials in the working arrays
    live = np.ones(b, bool)                 # ... of which still running
    zw, yw, ww = z, y, w
    lrw = np.broadcast_to(np.asarray(lr, float), (b,)).copy()
    m = np.zeros_like(zw)
    v = np.zeros_like(zw)
    z_prev, val_prev = zw.copy(), np.full(b, np.inf)
    t_adam = 0
    for it in range(1, iterations + 1):
        val, g = loss.value_and_grad(zw, yw, ww)
        if method == "adam":
            t_adam += 1
            m *= _BETA1
            m += (1 - _BETA1) * g
            v *= _BETA2
            v += (1 - _BETA2) * (g * g)
            step = (lrw / (1 - _BETA1 ** t_adam)) * m / (np.sqrt(v / (1 - _BETA2 ** t_adam)) + _EPS)
        else:
            bad = ~(val <= val_prev * (1.0 + 1e-12))  # a rise, or a non-finite loss
            step = lrw * g
            if bad.any():
                zw[:, bad] = z_prev[:, bad]
                val = np.where(bad, val_prev, val)
                lrw[bad] *= 0.5
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
        done = live & (snorm <= tol * np.maximum(znorm, _TINY))
        if method == "gd":
            done &= ~bad  # a rejected step is not convergence
        if done.any():
            conv[idx[done]] = True
            live &= ~done
        if callback is not None and (it % 25 == 0 or it == iterations):
            callback(it, int(live.sum()))
        if it == iterations or not live.any():
            break
        dead = ~live
        if dead.any() and (it % compact_every == 0 or dead.mean() > 0.25):
            z[:, idx[dead]] = zw[:, dead]
            idx, zw, yw, ww = idx[live], zw[:, live], yw[:, live], ww[:, live]
            m, v, lrw = m[:, live], v[:, live], lrw[live]
            z_prev, val_prev = z_prev[:, live], val_prev[live]
            live = np.ones(idx.size, bool)
    z[:, idx] = zw
    return z, loss.value(z, y, w), used, conv, flips


def invert(network: Network, y: np.ndarray, masks=None, *, method: Method = "adam",
           lr: float | None = None, iterations: int = 1000, tol: float = TOL,
           negation: Negation = None, init: np.ndarray | None = None, rng=None,
           init_scale: float = 1.0, backend: str = "auto",
           blas_threads: int | None = 1, callback=None) -> InversionResult:
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
    tol : float
        Per-trial stop when ||z_{t+1} - z_t|| <= tol ||z_t||; stopped trials stop changing.
    negation : {None, "restart", "flip"}
        The negation safeguard (module Notes).
    init : ndarray (b, n0), optional
        Starting points; default ``init_scale`` * N(0, I) from ``rng``.
    rng : Generator, int or None
    backend : {"auto", "arcs", "batch-last", "engine"}
        ``auto``: ``arcs`` where it applies (module Notes), else ``batch-last``.
    blas_threads : int or None
        BLAS threads during the loop (None: leave the library's setting).
    callback : callable, optional
        ``callback(pass_index, iteration, n_running)`` every 25 iterations (progress bars).

    Returns
    -------
    InversionResult
        Never raises for a run that does not converge: ``converged`` is False.

    Notes
    -----
    MATH.md section 7. The gradient is reverse mode, grad J = J_G(z)^T A^T A (G(z) - y).
    """
    t0 = time.perf_counter()
    _check_network(network)
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
    mk = _as_masks(masks, b, n)
    if not np.all(np.isfinite(y[mk])):
        raise invalid("y", "finite measurements", "NaN or infinite entries")
    if method not in ("adam", "gd"):
        raise invalid("method", "'adam' or 'gd'", method)
    if negation not in (None, "restart", "flip"):
        raise invalid("negation", "None, 'restart' or 'flip'", negation)
    iterations = _positive("iterations", iterations, integer=True)
    tol = float(tol) if (isinstance(tol, (int, float)) and not isinstance(tol, bool)
                         and math.isfinite(tol) and tol >= 0) else None
    if tol is None:
        raise invalid("tol", "a finite number >= 0", tol)
    lr = _positive("lr", lr, allow_none=True)
    loss = _loss_for(network, backend, method, negation)
    if init is None:
        _positive("init_scale", init_scale)
        z0 = as_generator(rng).normal(0.0, init_scale, size=(n0, b))
    else:
        init = np.asarray(init, dtype=np.float64)
        if init.ndim == 1:
            init = init[None, :]
        if init.shape != (b, n0):
            raise invalid("init", f"shape ({b}, {n0})", init.shape)
        if not np.all(np.isfinite(init)):
            raise invalid("init", "finite values", "NaN or infinite entries")
        z0 = np.ascontiguousarray(init.T)
    yT = np.ascontiguousarray(np.where(mk, y, 0.0).T)
    wT = np.ascontiguousarray(mk.T, dtype=np.float64)
    if lr is None:
        lr = default_lr(method)
        if lr is None:
            ax = loss.forward(z0) * wT
            curv = np.einsum("ij,ij->j", ax, ax) / np.maximum(np.einsum("ij,ij->j", z0, z0), _TINY)
            lr = 0.5 / np.maximum(curv, _TINY)
    kw = dict(method=method, lr=lr, iterations=iterations, tol=tol, flip=negation == "flip")
    with _blas_limit(blas_threads), np.errstate(over="ignore", invalid="ignore"):
        cb = None if callback is None else (lambda it, k: callback(0, it, k))
        z, val, used, conv, flips = _descend(loss, z0, yT, wT, callback=cb, **kw)
        if negation == "restart":
            cb = None if callback is None else (lambda it, k: callback(1, it, k))
            z2, val2, used2, conv2, _ = _descend(loss, -z, yT, wT, callback=cb, **kw)
    if negation == "restart":
        better = val2 < val
        z[:, better] = z2[:, better]
        val = np.where(better, val2, val)
        used = used + used2
        conv = np.where(better, conv2, conv)
        flips = better.astype(np.int64)
    lr_out = float(lr) if np.ndim(lr) == 0 else "per trial: 1/(2 ||A G(z0)||^2/||z0||^2)"
    settings = {"method": method, "lr": lr_out, "iterations_cap": iterations, "tol": tol,
                "negation": negation, "backend": loss.name}
    return InversionResult(np.ascontiguousarray(z.T), val, used, conv, flips, method, negation,
                           settings, time.perf_counter() - t0)


# ============================================================== scoring
def _lp_as_result(network, y, mk) -> InversionResult:
    """:func:`invert_lp` in the shape of an :class:`InversionResult` (iterations = LPs
    solved; converged = every layer's LP solved)."""
    lp = invert_lp(network, y, mk)
    loss = _BatchLastLoss(network).value(np.ascontiguousarray(lp.z_hat.T),
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


def measure(network: Network, z_star: np.ndarray, masks=None, *, noise: float = 0.0,
            rng=None) -> np.ndarray:
    """y = A G(z*) + sigma * xi (xi ~ N(0, I) on the observed entries), full-length
    ``(b, n_d)`` with zeros outside each mask."""
    x = network.forward(z_star)
    mk = _as_masks(masks, x.shape[0], x.shape[1])
    if noise:
        x = x + noise * as_generator(rng).normal(size=x.shape)
    return np.where(mk, x, 0.0)


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
        Passed to :func:`invert` (method, lr, iterations, tol, negation, init, backend);
        ``method="lp"`` uses :func:`invert_lp` instead (ReLU networks).

    Returns
    -------
    RecoveryStats
    """
    _check_network(network)
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
    success_tol = _positive("success_tol", success_tol)
    gen = as_generator(rng)
    b = z_star.shape[0]
    mk = _as_masks(masks, b, network.spec.output_dim)
    y = measure(network, z_star, mk, noise=float(noise), rng=gen)
    if invert_kwargs.get("method") == "lp":
        res = _lp_as_result(network, y, mk)
    else:
        res = invert(network, y, mk, rng=gen, **invert_kwargs)
    err = relative_errors(res.z_hat, z_star)
    success = err <= success_tol  # NaN (diverged) compares False: not recovered
    k = int(success.sum())
    lo, hi = wilson_interval(k, b)
    return RecoveryStats(success, err, b, k, k / b, lo, hi, float(np.median(err)),
                         success_tol, float(noise), z_star, res)


# ============================================================== Lei et al.: LP
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
    masks : as for :func:`invert`

    Notes
    -----
    One LP per layer per trial: the trials are solved one after another (a solver call
    each), unlike :func:`invert`.
    """
    t0 = time.perf_counter()
    _check_network(network)
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
    mk = _as_masks(masks, y.shape[0], n)
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


#: Mask kinds a recovery can use (subsampling; "custom" goes through the API's masks).
RECOVERY_KINDS = ("full", "random", "top", "bottom", "left", "right", "border", "centre", "first")


def mask_kinds_for(dims: int) -> tuple[str, ...]:
    """The sampling patterns of MATH.md section 7 that differ for a ``dims``-D output:
    in 1-D left/right coincide with top/bottom and are left out."""
    base = ("random", "top", "bottom", "left", "right", "border", "centre")
    return base if dims == 2 else ("random", "top", "bottom", "border", "centre")


def trial_masks(output_shape: tuple[int, ...], kind: str, rate: float, trials: int, *,
                rng=None) -> np.ndarray:
    """Boolean masks ``(trials, n)``: for ``random`` an independent uniform draw of
    ceil(r n) entries per trial (one vectorised argsort, no loop over trials); every
    other kind is deterministic and repeated."""
    from .measurements import _count, check_rate, make_mask

    if kind not in RECOVERY_KINDS:
        raise invalid("mask", "one of " + ", ".join(RECOVERY_KINDS), kind)
    rate = check_rate(rate)
    trials = _positive("trials", trials, integer=True)
    n = int(np.prod(output_shape))
    if kind == "random":
        k = _count(rate, n)
        keys = as_generator(rng).random((trials, n))
        picked = np.argpartition(keys, k - 1, axis=1)[:, :k]
        out = np.zeros((trials, n), bool)
        np.put_along_axis(out, picked, True, axis=1)
        return out
    one = make_mask(kind, tuple(output_shape), rate if kind != "full" else 1.0).reshape(-1)
    return np.broadcast_to(one, (trials, n)).copy()


def recover_config(config, *, kind: str | None = None, rate: float | None = None,
                   trials: int = 100, noise: float = 0.0, seed: int = 0,
                   success_tol: float = SUCCESS_TOL, instance=None, rng=None,
                   **invert_kwargs) -> RecoveryStats:
    """Recovery on a preset or Config: one network drawn from ``seed``
    (``config.instantiate``), ``trials`` independent z* ~ N(0, I), masks, noise and
    starts drawn from ``rng`` (default: child 2 of ``seed``, the checks' stream)."""
    from .presets import Config, get_preset

    if isinstance(config, str):
        config = get_preset(config)
    if not isinstance(config, Config):
        raise invalid("config", "a preset name or a Config", type(config).__name__)
    kind = config.mask.kind if kind is None else kind
    if kind == "gaussian":
        raise invalid("mask", "one of " + ", ".join(RECOVERY_KINDS) + " (subsampling)", kind)
    rate = config.mask.rate if rate is None else rate
    if instance is None:
        instance = config.instantiate(seed)
    if rng is None:
        rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(3)[2])
    gen = as_generator(rng)
    spec = instance.network.spec
    masks = trial_masks(spec.output_shape, kind, rate, trials, rng=gen)
    z_star = gen.normal(size=(masks.shape[0], spec.latent_dim))
    return recover(instance.network, z_star, masks, noise=noise, success_tol=success_tol,
                   rng=gen, **invert_kwargs)


__all__ = ["InversionResult", "RecoveryStats", "invert", "recover", "recover_config",
           "LPResult", "invert_lp",
           "measure", "relative_errors", "trial_masks", "mask_kinds_for", "RECOVERY_KINDS",
           "SUCCESS_TOL", "TOL", "default_lr"]
