"""Sampling patterns: the one table of mask kinds and the one sampler (lemmas/README.md,
section 9).

Every mask kind the toolkit knows is a row of :data:`MASK_TABLE` (name, whether it is a
spatial pattern shared by every channel, whether it is random, whether it is distinct
in 1-D, and what it is). Every other list of kinds (what a config accepts, what a
recovery or a sweep accepts, which kinds a phase diagram compares) is derived from it.

:func:`sample_masks` is the one sampler: ``n`` boolean masks over an output of shape
``(C, D[, D])``, flattened channel-major to ``(n, C D^dims)``. For ``random`` each row
keeps ceil(r N) entries chosen uniformly without replacement, all rows in one array
operation (the ``k`` smallest of ``N`` i.i.d. uniform keys per row); every other kind
is deterministic and repeated.

Kinds (rate r in (0, 1]):

``full``    every entry (A = I, Theorem 1).
``random``  ceil(r N) entries uniformly at random among all N output entries
            (Theorem 4's arbitrary subsampling; m/N >= r).
``top`` ``bottom`` ``left`` ``right``
            the first/last ceil(r H) rows (top/bottom) or columns (left/right) of
            every channel; in 1-D the first (top, left) or last (bottom, right)
            ceil(r D) positions. r = 0.5 gives the paper's half masks (Fig. 5).
``border``  a frame of the smallest width whose area is >= r of the image.
``centre``  a centred block (square in 2-D) with area >= r of the image.
``first``   the first ceil(r N) entries in channel-major order (the paper's script).
``custom``  a user-given boolean array (output shape, spatial shape, or flat).
``gaussian`` not a mask: a dense Gaussian A (H&V's setting), built by :class:`MaskSpec`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import invalid
from ..rng import as_generator

#: The rate a partial-observation test uses when a config observes everything: the
#: paper's half images (Sec. 4.3, Fig. 5).
HALF = 0.5


@dataclass(frozen=True)
class MaskKind:
    """One sampling pattern: ``spatial`` (the same for every channel), ``random`` (drawn
    from a stream), ``in_1d`` (distinct from the other kinds on a 1-D output)."""

    name: str
    spatial: bool
    random: bool
    in_1d: bool
    description: str


MASK_TABLE: dict[str, MaskKind] = {k.name: k for k in (
    MaskKind("full", False, False, True, "every entry (A = I)"),
    MaskKind("random", False, True, True, "ceil(r N) entries uniformly at random"),
    MaskKind("top", True, False, True, "the first ceil(r H) rows of every channel"),
    MaskKind("bottom", True, False, True, "the last ceil(r H) rows of every channel"),
    MaskKind("left", True, False, False, "the first ceil(r W) columns (1-D: as top)"),
    MaskKind("right", True, False, False, "the last ceil(r W) columns (1-D: as bottom)"),
    MaskKind("border", True, False, True, "a frame of area >= r"),
    MaskKind("centre", True, False, True, "a centred block of area >= r"),
    MaskKind("first", False, False, True, "the first ceil(r N) entries, channel-major"),
    MaskKind("custom", False, False, True, "a user-given boolean array"),
)}

#: Every mask kind (``custom`` included).
MASK_KINDS = tuple(MASK_TABLE)
#: Kinds that are spatial patterns, the same for every channel.
SPATIAL_KINDS = tuple(k for k, v in MASK_TABLE.items() if v.spatial)
#: Kinds built from a rate alone: what a config, a recovery and a sweep accept.
RATE_KINDS = tuple(k for k in MASK_KINDS if k != "custom")
#: What a config's ``[mask]`` accepts: the rate kinds and a dense Gaussian A.
CONFIG_KINDS = RATE_KINDS + ("gaussian",)


def kinds_for(dims: int) -> tuple[str, ...]:
    """The partial sampling patterns that differ on a ``dims``-D output (random and the
    spatial kinds; in 1-D left/right coincide with top/bottom and are left out)."""
    return tuple(k for k, v in MASK_TABLE.items()
                 if (v.random or v.spatial) and (dims == 2 or v.in_1d))


def check_rate(rate: Any, name: str = "rate") -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
            or not (0.0 < float(rate) <= 1.0):
        raise invalid(name, "a sampling rate in (0, 1]", rate)
    return float(rate)


def check_kind(kind: Any, name: str = "mask", allowed: tuple[str, ...] = RATE_KINDS) -> str:
    if not isinstance(kind, str) or kind not in allowed:
        raise invalid(name, "one of " + ", ".join(allowed), kind)
    return kind


def count(rate: float, n: int) -> int:
    """Smallest count k with k/n >= rate (guarding against rounding of r n)."""
    return max(1, min(n, math.ceil(rate * n - 1e-9)))


def _spatial_mask(kind: str, dims: int, size: int, rate: float) -> np.ndarray:
    if dims == 1:
        keep = np.zeros(size, bool)
        k = count(rate, size)
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
    k = count(rate, size)
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


def sample_masks(kind: str, output_shape: tuple[int, ...], rate: float, n: int = 1, *,
                 rng=None) -> np.ndarray:
    """``n`` boolean masks, shape ``(n, N)`` with N = prod(output_shape) (module
    docstring). ``rng`` is used by ``random`` only; ``full`` ignores ``rate``."""
    check_kind(kind)
    rate = check_rate(rate)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise invalid("trials", "an integer >= 1", n)
    output_shape = tuple(int(s) for s in output_shape)
    N = int(np.prod(output_shape))
    dims = len(output_shape) - 1
    if kind == "random":
        k = count(rate, N)
        keys = as_generator(rng).random((n, N))
        picked = np.argpartition(keys, k - 1, axis=1)[:, :k]
        out = np.zeros((n, N), bool)
        np.put_along_axis(out, picked, True, axis=1)
        return out
    if kind == "full":
        one = np.ones(N, bool)
    elif kind == "first":
        one = np.zeros(N, bool)
        one[:count(rate, N)] = True
    else:
        one = np.broadcast_to(_spatial_mask(kind, dims, output_shape[1], rate),
                              output_shape).reshape(-1)
    return np.broadcast_to(one, (n, N)).copy()


def make_mask(kind: str, output_shape: tuple[int, ...], rate: float = 0.5, *, rng=None,
              custom: np.ndarray | None = None) -> np.ndarray:
    """One boolean mask of ``output_shape`` = (C, D[, D]) for a kind of :data:`MASK_KINDS`
    (:func:`sample_masks` with n = 1; ``custom`` takes the array ``custom``)."""
    check_kind(kind, allowed=MASK_KINDS)
    output_shape = tuple(int(s) for s in output_shape)
    if kind != "custom":
        mask = sample_masks(kind, output_shape, rate, 1, rng=rng)[0].reshape(output_shape)
    else:
        check_rate(rate)
        if custom is None:
            raise invalid("mask", "a boolean array with kind 'custom'", None)
        arr = np.asarray(custom)
        n = int(np.prod(output_shape))
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
    if not mask.any():
        raise invalid("mask", "at least one observed entry", "an empty mask")
    return mask


@dataclass(frozen=True)
class MaskSpec:
    """How to build A for a network: a kind of :data:`CONFIG_KINDS` and a rate."""

    kind: str = "full"
    rate: float = 1.0

    def __post_init__(self) -> None:
        check_kind(self.kind, "mask.kind", CONFIG_KINDS)
        check_rate(self.rate, "mask.rate")

    @property
    def partial_rate(self) -> float:
        """The rate a partial-observation test uses: this spec's, or :data:`HALF` (the
        paper's half images) when the spec observes everything."""
        return HALF if self.kind == "full" or self.rate >= 1.0 else self.rate

    def sample(self, output_shape: tuple[int, ...], n: int = 1, *, rng=None) -> np.ndarray:
        """``n`` masks of this kind and rate, ``(n, N)`` (:func:`sample_masks`)."""
        if self.kind == "gaussian":
            raise invalid("mask.kind", "a subsampling kind (" + ", ".join(RATE_KINDS) + ")",
                          self.kind)
        return sample_masks(self.kind, output_shape, self.rate, n, rng=rng)

    def build(self, output_shape: tuple[int, ...], *, rng=None):
        """The operator A for one network (:mod:`verify.measurements.operators`)."""
        from .operators import GaussianMeasurement, Subsampling

        if self.kind == "gaussian":
            return GaussianMeasurement(int(np.prod(output_shape)), self.rate, rng=rng)
        rate = 1.0 if self.kind == "full" else self.rate
        mask = self.sample(output_shape, 1, rng=rng)[0].reshape(output_shape)
        return Subsampling(mask, self.kind, rate)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rate": self.rate}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MaskSpec":
        if not isinstance(data, Mapping):
            raise invalid("mask", "a table (kind = ..., rate = ...)", data)
        unknown = set(data) - {"kind", "rate"}
        if unknown:
            raise invalid(f"mask.{sorted(unknown)[0]}", "one of kind, rate", "unknown key")
        return cls(kind=data.get("kind", "full"), rate=data.get("rate", 1.0))


__all__ = ["MaskKind", "MASK_TABLE", "MASK_KINDS", "SPATIAL_KINDS", "RATE_KINDS",
           "CONFIG_KINDS", "HALF", "kinds_for", "check_rate", "check_kind", "count",
           "sample_masks", "make_mask", "MaskSpec"]
