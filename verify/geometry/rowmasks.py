"""Per-row 0/1 masks drawn from a few masks (the ``descent`` check's measurements A_s,
:class:`verify.geometry.descent.Problem`): the forward of
:class:`verify.measurements.MaskBatch` (``mask * x`` in the full-length representation)
without a ``(rows, n)`` array of the masks when the rows share one mask.

The search evaluates J, grad J and D_v J on a few hundred rows at a time, each row with
one of two masks (full observation and one subsampling). MaskBatch converts the rows'
masks to floats on every call and multiplies by them; here the masks are converted once
(:class:`MaskSet`), rows that share one mask multiply by that one row (broadcast), a
few runs of rows of one mask each (the search's sorted rows) run by run, and rows of a
full mask by nothing (``x * 1.0`` is ``x``, sign of zero included).
The values are MaskBatch's, bit for bit (``property_tests/test_vectorised.py``).
"""

from __future__ import annotations

import numpy as np

from verify.measurements.operators import Measurement


class MaskSet:
    """A problem's masks ``(S, n)`` (bool), converted to 0/1 floats once."""

    def __init__(self, masks: np.ndarray):
        self.masks = np.asarray(masks, bool)
        self.weights = self.masks.astype(np.float64)
        self.full = self.masks.all(axis=1)

    def weights_of(self, s: np.ndarray, *, skip_full: bool = False) -> np.ndarray | None:
        """The 0/1 weights of rows with masks ``s``: ``(1, n)`` when they share one mask
        (with ``skip_full``, None when that mask observes everything), else ``(rows, n)``;
        broadcast against ``(rows, n)`` they are the rows' masks as floats."""
        s = np.asarray(s)
        if s.size and np.all(s == s.flat[0]):
            one = s.flat[0]
            return None if skip_full and self.full[one] else self.weights[one][None, :]
        return self.weights[s]

    def rows(self, s: np.ndarray) -> "RowMasks":
        """The measurement of rows with masks ``s`` (:class:`RowMasks`)."""
        return RowMasks(self, s)


class RowMasks(Measurement):
    """A_s per row: ``forward(x) = mask_{s_i} * x_i`` (full-length, m = n), the values of
    ``MaskBatch(masks[s])``."""

    def __init__(self, mask_set: MaskSet, s: np.ndarray):
        self._set, self._s = mask_set, np.asarray(s)
        self.n = self.m = mask_set.masks.shape[1]
        self.batch = len(self._s)
        # rows in a few runs of one mask each (the search keeps its rows sorted by mask):
        # each run is multiplied by its mask's row, or copied when the mask is full
        cut = np.flatnonzero(np.diff(self._s)) + 1
        self._runs = None if cut.size == 0 or cut.size > 3 else [
            (a, b, None if mask_set.full[v] else mask_set.weights[v])
            for a, b, v in zip(np.r_[0, cut], np.r_[cut, self.batch], self._s[np.r_[0, cut]])]
        self._w = None if self._runs else mask_set.weights_of(self._s, skip_full=True)

    @property
    def observed(self) -> np.ndarray:
        """``(rows, n)``: one observed set per row."""
        return self._set.masks[self._s]

    def forward(self, x):
        x = self._check(x, self.n, "x")
        if not self._runs:
            return x if self._w is None else x * self._w
        out = np.empty_like(x)
        for a, b, w in self._runs:
            if w is None:
                out[a:b] = x[a:b]
            else:
                np.multiply(x[a:b], w, out=out[a:b])
        return out

    adjoint = forward


__all__ = ["MaskSet", "RowMasks"]
