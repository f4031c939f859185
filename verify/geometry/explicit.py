"""J through the explicit sparse layer matrices ``sigma(W_i x + b_i)`` (lemmas/README.md,
section 0), for the landscape check's small 2-D-latent networks (paper Fig. 4):
:class:`ExplicitJ` evaluates J on the window's grid, segments and rays.

The codes stay batch-last, ``(n_i, b)``, one column per code, so a layer is one
sparse-times-dense product over the whole batch, and only the observed outputs are
computed when A is a 0/1 mask: the last layer is restricted to the observed rows of
W_d. A CSR row keeps its entries in their order, so each restricted value is the one
the full product gives.

(Gradient descent keeps the engine's batch-last loss: an explicit-matrix loss measured
no faster on these networks, 2.2 against 2.1 ms an iteration for 256 starts, its time
being the activations and the small products either way.)
"""

from __future__ import annotations

import numpy as np

from verify import activations
from verify.objective import Objective


def layer_list(network, rows: np.ndarray | None = None) -> list[tuple]:
    """``(W_i (CSR), b_i (n_i, 1), activation, slope)`` per layer, the last restricted
    to ``rows`` (the observed outputs; None: all)."""
    layers = [(network.layer_matrix(i).tocsr(), network.layer_bias(i)[:, None], l.activation,
               l.slope) for i, l in enumerate(network.spec.layers)]
    if rows is not None:
        W, b, act, slope = layers[-1]
        layers[-1] = (W[rows], b[rows], act, slope)
    return layers


def run_layers(layers, x: np.ndarray, keep: list | None = None) -> np.ndarray:
    """sigma(W_i x + b_i) through ``layers`` for batch-last ``x`` ``(n_0, b)``; with
    ``keep`` (a list) each layer's (pre-activation, output) is appended to it."""
    for W, b, act, slope in layers:
        pre = W @ x + b
        x = activations.apply(act, pre, slope)
        if keep is not None:
            keep.append((pre, x))
    return x


class ExplicitJ:
    """J through the explicit sparse layer matrices, built once: for the grid's tens of
    thousands of codes this is several times faster than the strided conv path, and it
    is cross-checked against ``Objective.value`` (``Grid.explicit_gap``).

    Through a 0/1 mask (:class:`~verify.measurements.Subsampling`) only the observed
    outputs are computed (module docstring) and the residual is formed from the
    batch-last ``(m, b)`` outputs' transpose: the layout, and so the summation order,
    of the residual of :meth:`outputs`' observed columns. J is then the same, bit for
    bit, as that residual's (``property_tests/test_landscape.py``); a dense A takes the
    full outputs."""

    def __init__(self, objective: Objective):
        net = objective.network
        self.obj = objective
        self.layers = layer_list(net)
        rows = getattr(objective.A, "rows", None)
        self._observed = layer_list(net, rows) if rows is not None else None

    def outputs(self, Z: np.ndarray) -> np.ndarray:
        """G(z) for a batch ``(b, 2)``, flat channel-major ``(b, n_d)``."""
        x = np.atleast_2d(np.asarray(Z, float)).T
        return np.ascontiguousarray(run_layers(self.layers, x).T)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        """J for a batch ``(b, 2)``, ``(b,)``."""
        if self._observed is None:
            r = self.obj.residual(self.outputs(Z))
        else:
            x = np.atleast_2d(np.asarray(Z, float)).T
            r = run_layers(self._observed, x).T - self.obj.y
        return 0.5 * np.sum(r * r, axis=-1)


__all__ = ["ExplicitJ", "layer_list", "run_layers"]
