"""Measurement operators A (MATH.md sections 1, 2 and 7; paper Theorem 4).

A subsampling operator keeps a subset of the output entries (rows of the identity,
given by a boolean mask over the output); a Gaussian operator has i.i.d. N(0, 1/m)
entries. Each has ``forward`` (A x) and ``adjoint`` (A^T y), batched over rows.

Mask kinds (rate r in (0, 1]):

``full``    every entry (A = I, Theorem 1).
``random``  ceil(r n) entries chosen uniformly at random among all n output entries
            (Theorem 4's arbitrary subsampling; m/n >= r).
``top`` ``bottom`` ``left`` ``right``
            the first/last ceil(r H) rows (top/bottom) or columns (left/right) of
            every channel; in 1-D the first (top, left) or last (bottom, right)
            ceil(r D) positions. r = 0.5 gives the paper's half masks (Fig. 5).
``border``  a frame of the smallest width whose area is >= r of the image.
``centre``  a centred block (square in 2-D) with area >= r of the image.
``first``   the first ceil(r n) entries in channel-major order (the paper's script).
``custom``  a user-given boolean array (output shape, spatial shape, or flat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from .errors import invalid
from .rng import as_generator

MASK_KINDS = ("full", "random", "top", "bottom", "left", "right", "border", "centre",
              "first", "custom")
#: Kinds that are spatial patterns, the same for every channel.
SPATIAL_KINDS = ("top", "bottom", "left", "right", "border", "centre")


def check_rate(rate: Any, name: str = "rate") -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
            or not (0.0 < float(rate) <= 1.0):
        raise invalid(name, "a sampling rate in (0, 1]", rate)
    return float(rate)


def _count(rate: float, n: int) -> int:
    """Smallest count k with k/n >= rate (guarding against rounding of r n)."""
    return max(1, min(n, math.ceil(rate * n - 1e-9)))


def _spatial_mask(kind: str, dims: int, size: int, rate: float) -> np.ndarray:
    if dims == 1:
        keep = np.zeros(size, bool)
        k = _count(rate, size)
        if kind in ("top", "left"):
            keep[:k] = True
        elif kind in ("bottom", "right"):
            keep[size - k:] = True
        elif kind == "centre":
            start = (size - k) // 2
            keep[start:start + k] = True
        else:  # border: both ends
            w = 0
            while keep.mean() < rate - 1e-12:
                w += 1
                keep[:w] = True
                keep[size - w:] = True
        return keep
    keep = np.zeros((size, size), bool)
    k = _count(rate, size)
    if kind == "top":
        keep[:k, :] = True
    elif kind == "bottom":
        keep[size - k:, :] = True
    elif kind == "left":
        keep[:, :k] = True
    elif kind == "right":
        keep[:, size - k:] = True
    elif kind == "centre":
        side = min(size, math.ceil(math.sqrt(rate) * size - 1e-9))
        while side < size and side * side < rate * size * size - 1e-9:
            side += 1
        start = (size - side) // 2
        keep[start:start + side, start:start + side] = True
    else:  # border
        w = 0
        while keep.mean() < rate - 1e-12:
            w += 1
            keep[:w, :] = keep[size - w:, :] = True
            keep[:, :w] = keep[:, size - w:] = True
    return keep


def make_mask(kind: str, output_shape: tuple[int, ...], rate: float = 0.5, *, rng=None,
              custom: np.ndarray | None = None) -> np.ndarray:
    """A boolean mask of ``output_shape`` = (C, D[, D]) for one of :data:`MASK_KINDS`."""
    if kind not in MASK_KINDS:
        raise invalid("mask", "one of " + ", ".join(MASK_KINDS), kind)
    rate = check_rate(rate)
    n = int(np.prod(output_shape))
    dims = len(output_shape) - 1
    if kind == "full":
        mask = np.ones(output_shape, bool)
    elif kind == "random":
        mask = np.zeros(n, bool)
        mask[as_generator(rng).choice(n, size=_count(rate, n), replace=False)] = True
        mask = mask.reshape(output_shape)
    elif kind == "first":
        mask = np.zeros(n, bool)
        mask[:_count(rate, n)] = True
        mask = mask.reshape(output_shape)
    elif kind == "custom":
        if custom is None:
            raise invalid("mask", "a boolean array with kind 'custom'", None)
        arr = np.asarray(custom)
        if arr.dtype != bool:
            raise invalid("mask", "a boolean array", arr.dtype)
        if arr.shape == output_shape:
            mask = arr.copy()
        elif arr.shape == output_shape[1:]:
            mask = np.broadcast_to(arr, output_shape).copy()
        elif arr.shape == (n,):
            mask = arr.reshape(output_shape).copy()
        else:
            raise invalid("mask", f"shape {output_shape}, {output_shape[1:]} or ({n},)", arr.shape)
    else:
        mask = np.broadcast_to(_spatial_mask(kind, dims, output_shape[1], rate), output_shape).copy()
    if not mask.any():
        raise invalid("mask", "at least one observed entry", "an empty mask")
    return mask


class Measurement:
    """Base class: a linear operator A from R^n to R^m, batched over rows."""

    n: int
    m: int

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def matrix(self):
        raise NotImplementedError

    def _check(self, x: np.ndarray, size: int, name: str) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != size:
            raise invalid(name, f"last axis of length {size}", x.shape)
        return x


class Subsampling(Measurement):
    """A = rows of the identity selected by a boolean mask (paper Sec. 2, Theorem 4)."""

    def __init__(self, mask: np.ndarray, kind: str = "custom", rate: float | None = None):
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise invalid("mask", "a boolean array", mask.dtype)
        if not mask.any():
            raise invalid("mask", "at least one observed entry", "an empty mask")
        self.mask = mask
        self.kind = kind
        self.flat = mask.reshape(-1)
        self.rows = np.flatnonzero(self.flat)
        self.n = self.flat.size
        self.m = self.rows.size
        self.rate = self.m / self.n if rate is None else rate

    def forward(self, x):
        return self._check(x, self.n, "x")[..., self.rows]

    def adjoint(self, y):
        y = self._check(y, self.m, "y")
        out = np.zeros(y.shape[:-1] + (self.n,))
        out[..., self.rows] = y
        return out

    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(self.m), (np.arange(self.m), self.rows)), shape=(self.m, self.n))


class GaussianMeasurement(Measurement):
    """A with i.i.d. N(0, 1/m) entries, m = ceil(rate n) (H&V's setting)."""

    def __init__(self, n: int, rate: float = 0.5, *, rng=None):
        self.n = int(n)
        self.m = _count(check_rate(rate), self.n)
        self.kind, self.rate = "gaussian", rate
        self.A = as_generator(rng).normal(0.0, 1.0 / math.sqrt(self.m), size=(self.m, self.n))

    def forward(self, x):
        return self._check(x, self.n, "x") @ self.A.T

    def adjoint(self, y):
        return self._check(y, self.m, "y") @ self.A

    def matrix(self) -> np.ndarray:
        return self.A


class MaskBatch(Measurement):
    """One mask per batch row, in the full-length representation: ``forward`` returns
    ``mask * x`` (shape ``(b, n)``), so ``||A x - y||`` is computed on observed entries
    only. Lets independent trials with different masks advance as one array."""

    def __init__(self, masks: np.ndarray):
        masks = np.asarray(masks)
        if masks.dtype != bool or masks.ndim != 2:
            raise invalid("masks", "a boolean array of shape (batch, n)", masks.shape)
        if not masks.any(axis=1).all():
            raise invalid("masks", "at least one observed entry per row", "an empty row")
        self.masks = masks
        self.weights = masks.astype(np.float64)
        self.n = masks.shape[1]
        self.m = self.n

    def forward(self, x):
        return self._check(x, self.n, "x") * self.weights

    adjoint = forward


@dataclass(frozen=True)
class MaskSpec:
    """How to build A for a network: a kind from :data:`MASK_KINDS` or ``gaussian``."""

    kind: str = "full"
    rate: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in MASK_KINDS + ("gaussian",) or self.kind == "custom":
            allowed = [k for k in MASK_KINDS if k != "custom"] + ["gaussian"]
            raise invalid("mask.kind", "one of " + ", ".join(allowed), self.kind)
        check_rate(self.rate, "mask.rate")

    def build(self, output_shape: tuple[int, ...], *, rng=None) -> Measurement:
        if self.kind == "gaussian":
            return GaussianMeasurement(int(np.prod(output_shape)), self.rate, rng=rng)
        rate = 1.0 if self.kind == "full" else self.rate
        return Subsampling(make_mask(self.kind, output_shape, rate, rng=rng), self.kind, rate)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rate": self.rate}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MaskSpec":
        unknown = set(data) - {"kind", "rate"}
        if unknown:
            raise invalid(f"mask.{sorted(unknown)[0]}", "one of kind, rate", "unknown key")
        return cls(kind=data.get("kind", "full"), rate=data.get("rate", 1.0))


__all__ = ["MASK_KINDS", "SPATIAL_KINDS", "make_mask", "check_rate", "Measurement",
           "Subsampling", "GaussianMeasurement", "MaskBatch", "MaskSpec"]
