"""The Gauss-Newton direction of the ``descent`` check's search
(:func:`verify.geometry.descent.newton_direction`) with one forward pass per row.

The engine's :func:`verify.inversion.optimisers.gauss_newton_direction` takes grad J
from ``Objective.gradient`` and the tangent Jacobian from ``Network.jacobian``, and each
runs its own forward pass over the same rows. Here one
:meth:`~verify.network.Network.forward_with_cache` serves both: the reverse-mode
gradient (:meth:`~verify.network.Network.vjp`) and the n_0 tangent passes of
``Network.jacobian`` (the same operations, layer by layer, on the same rows). The answers are the engine's,
bit for bit
(``property_tests/test_vectorised.py``; ``verify bench`` measures the two).
"""

from __future__ import annotations

import numpy as np

from verify import activations
from verify.inversion.optimisers import pinv_apply


def tangent_jacobian(network, cache) -> np.ndarray:
    """The tangent Jacobian rows ``J_G^T`` ``(b, n_0, n_d)`` (C-contiguous) of the rows
    whose forward pass is ``cache`` (:meth:`~verify.network.Network.forward_with_cache`):
    ``Network.jacobian``'s n_0 tangent passes, at each layer the tangents times the
    activation's slope (ReLU'(0) = 0, as :meth:`~verify.network.Network.vjp`), written
    in place, and no copy of the flat result (the same values as ``Network.jacobian``,
    fewer passes over its ``(b, n_0, n_d)`` floats)."""
    spec = network.spec
    n0, nd = spec.latent_dim, spec.output_dim
    bc = cache.output.shape[0]
    dx = network.to_internal(np.tile(np.eye(n0), (bc, 1)), 0)
    for i, layer in enumerate(spec.layers):
        dl = network.conv(i, dx)
        if network.weights[i].scale is not None:
            dl = dl * network.weights[i].scale
        slope = activations.derivative(layer.activation, cache.pres[i], layer.slope)
        dl = dl.reshape((bc, n0) + dl.shape[1:])
        dl *= slope[:, None]            # in place: dl is this pass's own new array
        dx = dl.reshape((bc * n0,) + dl.shape[2:])
    # to_flat's copy is C-contiguous: the Jacobian's own rows, without another copy
    return network.to_flat(dx).reshape(bc, n0, nd)


def gauss_newton_shared(objective, z: np.ndarray, weights: np.ndarray, *, rcond: float):
    """(J, grad J, d = H^+ grad J, J_G^T A^T r) per row of ``z`` (b, n0), H =
    J_G^T A^T A J_G, as :func:`~verify.inversion.optimisers.gauss_newton_direction`
    with ``weights`` the rows' 0/1 mask weights (broadcast against ``(b, n_d)``). One
    forward pass serves grad J and J_G (module docstring). H is formed as the engine
    forms it, from the weighted copy even where every weight is 1: ``J @ J^T`` on one
    buffer would take BLAS's symmetric product, which rounds otherwise."""
    net = objective.network
    cache = net.forward_with_cache(z)
    r = objective.residual(cache.output)
    g = net.vjp(cache, objective.A.adjoint(r))
    jt = tangent_jacobian(net, cache)
    val = 0.5 * np.sum(r * r, axis=-1)
    H = np.matmul(jt * weights[:, None, :], jt.transpose(0, 2, 1))
    g_jac = np.einsum("bkn,bn->bk", jt, r)
    return val, g, pinv_apply(H, g, rcond=rcond), g_jac


__all__ = ["tangent_jacobian", "gauss_newton_shared"]
