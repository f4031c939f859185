"""The exact arc-table loss of a 2-D latent (``backend="arcs"``; chosen by
:func:`~verify.inversion.losses.select_loss`, which documents the protocol every loss
follows)."""

from __future__ import annotations

import numpy as np

from ..network import Network
from .losses import BatchLastLoss, check_dtype


class ArcLoss:
    """J and grad J for a 2-D latent through a bias-free ReLU network, from its exact
    piecewise-linear form (paper Sec. 4.2 / Fig. 4 networks).

    G is positively homogeneous and each layer's activation pattern at z depends only on
    the angle of z (every pre-activation is linear in z on a cone), so the circle splits
    into arcs on each of which G(z) = P_a z with a fixed (n_d, 2) matrix P_a (the
    products of the layer matrices with the ReLU patterns, Lemma Sup.1's D_{i,z}).
    On arc a, J(z) = 1/2 z^T Q z - c^T z + k with Q = P_a^T A P_a, c = P_a^T A y:
    an iteration is a 2 x 2 product per trial, and (Q, c) are rebuilt (one (2, n_d)
    by (n_d, 5) product) only for trials that crossed into another arc.

    The arcs are the exact linear regions of :func:`verify.geometry.cones.enumerate_cones`
    (split layer by layer at every zero of a unit's pre-activation; ReLU'(0) = 0).
    ``value`` (the loss the result reports) is the exact residual of
    :class:`BatchLastLoss`; the quadratic-form J returned with the gradient carries
    absolute rounding ~eps ||A y||^2, so this loss serves Adam without the per-iteration
    negation test (which compares losses) only.
    """

    name = "arcs"
    #: bound on the arc tables (bytes); beyond it the network is not a candidate
    MAX_BYTES = 160e6

    def __init__(self, network: Network, edges: np.ndarray, P: np.ndarray, dtype=np.float64):
        self.network, self.spec = network, network.spec
        self.dtype = check_dtype(dtype)
        self.exact = BatchLastLoss(network, self.dtype)
        self.edges = edges
        p0, p1 = P[..., 0], P[..., 1]
        self.T = np.ascontiguousarray(np.stack([p0 * p0, p0 * p1, p1 * p1, p0, p1], axis=-1),
                                      dtype=self.dtype)
        self.n_arcs = P.shape[0]
        self._y = None

    @classmethod
    def build(cls, network: Network, dtype=np.float64) -> "ArcLoss | None":
        """The arc tables, or None when the network is not a 2-D-latent, bias-free ReLU
        network or its arcs would exceed :attr:`MAX_BYTES`."""
        from ..geometry.cones import enumerate_cones
        from ..errors import VerifyError

        spec = network.spec
        if spec.latent_dim != 2 or any(l.activation != "relu" or l.affine for l in spec.layers):
            return None
        try:  # the tables (arcs, n_out, 5) must stay within MAX_BYTES
            cones = enumerate_cones(network, max_cones=int(
                cls.MAX_BYTES // (5 * 8 * max(spec.widths[1:]))))
        except VerifyError:
            return None
        return cls(network, cones.edges, cones.M, dtype)

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
        self._q = np.empty((3, b), self.dtype)
        self._c = np.empty((2, b), self.dtype)

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
