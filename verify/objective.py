"""The loss J(z) = 1/2 ||y - A G(z)||^2 (paper Eq. (3)) and its derivatives.

* :meth:`Objective.value` — J for a batch of latent codes.
* :meth:`Objective.gradient` — reverse mode: ``grad J = J_G^T A^T (A G(z) - y)``.
* :meth:`Objective.directional_derivative` — the exact one-sided
  ``D_v J(z) = lim_{t->0+} (J(z + t v) - J(z)) / t = <A G(z) - y, A D_v G(z)>``
  by a forward-mode pass with the tie rule of lemmas/README.md, section 0 (Theorem 1).
"""

from __future__ import annotations

import numpy as np

from .errors import invalid
from .measurements import Measurement, Subsampling
from .network import Network


class Objective:
    """J(z) = 1/2 ||y - A G(z)||^2 for a network, a measurement operator and data.

    Parameters
    ----------
    network : Network
    measurement : Measurement or None
        None means full observation (A = I).
    y : array, shape (m,) or (b, m)
        Measurements; a batch of rows pairs with a batch of codes.
    """

    def __init__(self, network: Network, measurement: Measurement | None, y: np.ndarray):
        if measurement is None:
            measurement = Subsampling(np.ones(network.spec.output_dim, bool), "full", 1.0)
        if measurement.n != network.spec.output_dim:
            raise invalid("measurement", f"an operator on R^{network.spec.output_dim}",
                          f"one on R^{measurement.n}")
        y = np.asarray(y, dtype=np.float64)
        if y.shape[-1] != measurement.m or y.ndim > 2:
            raise invalid("y", f"shape ({measurement.m},) or (batch, {measurement.m})", y.shape)
        if not np.all(np.isfinite(y)):
            raise invalid("y", "finite measurements", "NaN or infinite entries")
        self.network, self.A, self.y = network, measurement, y

    def __repr__(self) -> str:
        from .results import short  # (lazy: results imports pandas)

        batch = f"{self.y.shape[0]} x " if self.y.ndim == 2 else ""
        return short(f"Objective(J(z) = 1/2 ||y - A G(z)||^2; A = {self.A!r}; y: {batch}"
                     f"{self.y.shape[-1]} measurements; G = {self.network.spec.describe()})")

    @classmethod
    def from_truth(cls, network: Network, measurement: Measurement | None,
                   z_star: np.ndarray) -> "Objective":
        """y = A G(z*) (noiseless)."""
        x = network.forward(np.asarray(z_star, dtype=np.float64))
        if measurement is None:
            return cls(network, None, x)
        return cls(network, measurement, measurement.forward(x))

    def residual(self, x: np.ndarray) -> np.ndarray:
        return self.A.forward(x) - self.y

    def value(self, z: np.ndarray) -> np.ndarray:
        """J(z), shape (b,) (or a scalar for one code)."""
        r = self.residual(self.network.forward(z))
        return 0.5 * np.sum(r * r, axis=-1)

    __call__ = value

    def value_and_gradient(self, z: np.ndarray, *, path="auto"):
        z = np.asarray(z, dtype=np.float64)
        single = z.ndim == 1
        cache = self.network.forward_with_cache(z, path=path)
        r = self.residual(cache.output)
        g = self.network.vjp(cache, self.A.adjoint(r), path=path)
        val = 0.5 * np.sum(r * r, axis=-1)
        return (val[0], g[0]) if single else (val, g)

    def gradient(self, z: np.ndarray, *, path="auto") -> np.ndarray:
        """grad J(z) by reverse mode (vector-Jacobian products through every layer)."""
        return self.value_and_gradient(z, path=path)[1]

    def directional_derivative(self, z: np.ndarray, v: np.ndarray, *, path="auto",
                               tie_tol: float = 0.0) -> np.ndarray:
        """Exact one-sided D_v J(z) = <A G(z) - y, A D_v G(z)>, shape (b,).

        ``tie_tol``: see :meth:`Network.jvp` (0, the default, is the exact rule)."""
        x, dx = self.network.jvp(z, v, path=path, tie_tol=tie_tol)
        return np.sum(self.residual(x) * self.A.forward(dx), axis=-1)


__all__ = ["Objective"]
