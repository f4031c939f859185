"""Entrywise activations, their derivatives, and the one-sided derivative at kinks.

lemmas/README.md, section 0: in the forward-mode pass a ReLU unit counts as active when its
pre-activation is > 0, or is 0 with a positive directional derivative. For the
positively homogeneous piecewise-linear activations (relu, leaky_relu, identity)
this is ``sigma'(a; d) = sigma(d)`` at ``a = 0``, which is exact: along a line the
pre-activation is itself piecewise linear, so a zero right-derivative means it stays
at zero for small t > 0.
"""

from __future__ import annotations

import numpy as np


def expit(a: np.ndarray) -> np.ndarray:
    """The logistic function, scipy.special's (stable for large |a|), imported on first use
    so that `import verify` does not load scipy.special."""
    from scipy.special import expit as _expit

    return _expit(a)


def apply(name: str, a: np.ndarray, slope: float = 0.2) -> np.ndarray:
    """sigma(a), entrywise."""
    if name == "relu":
        return np.maximum(a, 0.0)
    if name == "leaky_relu":
        return np.where(a > 0, a, slope * a)
    if name == "sigmoid":
        return expit(a)
    if name == "tanh":
        return np.tanh(a)
    if name == "identity":
        return a
    raise ValueError(f"unknown activation {name!r}")


def derivative(name: str, a: np.ndarray, slope: float = 0.2) -> np.ndarray:
    """sigma'(a) for reverse mode; at a kink (a == 0) the left slope is used
    (0 for relu), a valid element of the Clarke subdifferential."""
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "leaky_relu":
        return np.where(a > 0, 1.0, slope)
    if name == "sigmoid":
        s = expit(a)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(a) ** 2
    if name == "identity":
        return np.ones_like(a)
    raise ValueError(f"unknown activation {name!r}")


def directional(name: str, a: np.ndarray, da: np.ndarray, slope: float = 0.2,
                tie_tol: float = 0.0) -> np.ndarray:
    """Exact one-sided derivative lim_{t->0+} (sigma(a + t da) - sigma(a)) / t.

    ``tie_tol > 0`` treats ``|a| <= tie_tol`` as a kink: for points that lie on a kink in
    exact arithmetic but whose computed pre-activation carries a rounding residue
    (e.g. exact cancellations of +-sigma weights). The default 0 is the rule of lemmas/README.md.
    """
    if name in ("relu", "leaky_relu"):
        neg = 0.0 if name == "relu" else slope
        on = np.abs(a) <= tie_tol
        side = np.where(on, da, a)  # at a kink the direction decides the side
        return np.where(side > 0, da, neg * da)
    return derivative(name, a, slope) * da
