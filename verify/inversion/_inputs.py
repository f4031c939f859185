"""Validation of the inversion's inputs (shared by the solvers and the recovery)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import invalid
from ..measurements import MaskBatch, Subsampling
from ..network import Network


def check_network(network) -> Network:
    """``network`` itself, if it is a :class:`~verify.network.Network`."""
    if not isinstance(network, Network):
        raise invalid("network", "a verify.Network", type(network).__name__)
    return network


def as_masks(masks, b: int, n: int) -> np.ndarray:
    """Boolean (b, n) masks from a MaskBatch or Subsampling operator, a (b, n) or an (n,)
    boolean array, or None."""
    if masks is None:
        return np.ones((b, n), bool)
    if isinstance(masks, (MaskBatch, Subsampling)):
        masks = masks.observed
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


def positive(name: str, value, *, integer: bool = False, allow_none: bool = False):
    """``value`` as a finite float > 0 (``integer``: an int >= 1); None if allowed."""
    if value is None and allow_none:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok and integer:
        ok = float(value) == int(value)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:
        raise invalid(name, "a finite " + ("integer >= 1" if integer else "number > 0"), value)
    return int(value) if integer else float(value)

