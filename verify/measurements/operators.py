"""Measurement operators A (lemmas/README.md, sections 0, 1 and 9; paper Theorem 4).

A is a linear operator from R^n (the network's output, flat channel-major) to R^m with
``forward`` (A x) and ``adjoint`` (A^T y), batched over leading axes, the set of output
entries it observes (``observed``: a boolean mask, or ``None`` for a dense A), optional
additive Gaussian noise carried by the operator itself (``observe(x, rng=...)`` returns
A x + noise, ``forward`` is always noise-free), and an adjointness self-test
(``adjoint_error``: |<A x, y> - <x, A^T y>| relative, on random x and y).

:class:`Subsampling`  rows of the identity selected by a mask (Theorem 4).
:class:`GaussianMeasurement`  i.i.d. N(0, 1/m) entries (H&V's compressive setting).
:class:`MaskBatch`  one mask per batch row, in the full-length representation, so
                    independent trials with different masks advance as one array.

Masks themselves (kinds, the sampler) live in :mod:`verify.measurements.masks`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import invalid
from ..rng import as_generator
from .masks import check_rate, count

if TYPE_CHECKING:
    import scipy.sparse as sp


class Measurement:
    """Base class: a linear operator A from R^n to R^m, batched over rows."""

    n: int
    m: int
    #: Standard deviation of the additive Gaussian noise :meth:`observe` adds.
    noise: float = 0.0
    #: Rows of a per-row operator (:class:`MaskBatch`); None when A is one matrix.
    batch: int | None = None

    @property
    def observed(self) -> np.ndarray | None:
        """Boolean mask over the n output entries that A observes (None: dense A)."""
        return None

    def _repr_fields(self) -> str:
        return f"m = {self.m}, n = {self.n}"

    def __repr__(self) -> str:
        noise = f", noise {self.noise:g}" if self.noise else ""
        text = f"{type(self).__name__}({self._repr_fields()}{noise})"
        return text if len(text) <= 300 else text[:299] + "…"

    def observe(self, x: np.ndarray, *, rng=None) -> np.ndarray:
        """y = A x + e, e ~ N(0, noise^2 I) drawn from ``rng`` (no draw when noise = 0)."""
        y = self.forward(x)
        if self.noise > 0:
            y = y + self.noise * as_generator(rng).normal(size=y.shape)
        return y

    def with_noise(self, noise: float) -> "Measurement":
        """This operator carrying additive noise of standard deviation ``noise``."""
        if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)) \
                or not math.isfinite(noise) or noise < 0:
            raise invalid("noise", "a finite number >= 0", noise)
        import copy

        out = copy.copy(self)
        out.noise = float(noise)
        return out

    def adjoint_error(self, *, rng=None, trials: int = 3) -> float:
        """Adjointness self-test: max over ``trials`` random pairs of
        |<A x, y> - <x, A^T y>| / (||A x|| ||y|| + ||x|| ||A^T y||); rounding level
        (~1e-16) for a correct pair of ``forward`` / ``adjoint``."""
        gen = as_generator(rng)
        trials = self.batch or trials  # a per-row operator tests its own rows
        x = gen.normal(size=(trials, self.n))
        y = gen.normal(size=(trials, self.m))
        ax, aty = self.forward(x), self.adjoint(y)
        lhs = np.einsum("ij,ij->i", ax, y)
        rhs = np.einsum("ij,ij->i", x, aty)
        scale = (np.linalg.norm(ax, axis=1) * np.linalg.norm(y, axis=1)
                 + np.linalg.norm(x, axis=1) * np.linalg.norm(aty, axis=1))
        return float(np.max(np.abs(lhs - rhs) / np.maximum(scale, np.finfo(float).tiny)))

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

    @property
    def observed(self) -> np.ndarray:
        return self.flat

    def _repr_fields(self) -> str:
        return (f"{self.kind}, rate {self.rate:g}: {self.m} of {self.n} entries observed")

    def forward(self, x):
        return self._check(x, self.n, "x")[..., self.rows]

    def adjoint(self, y):
        y = self._check(y, self.m, "y")
        out = np.zeros(y.shape[:-1] + (self.n,))
        out[..., self.rows] = y
        return out

    def matrix(self) -> "sp.csr_matrix":
        import scipy.sparse as sp  # only here: forward/adjoint never need it

        return sp.csr_matrix((np.ones(self.m), (np.arange(self.m), self.rows)), shape=(self.m, self.n))


class GaussianMeasurement(Measurement):
    """A with i.i.d. N(0, 1/m) entries, m = ceil(rate n) (H&V's setting)."""

    def __init__(self, n: int, rate: float = 0.5, *, rng=None):
        self.n = int(n)
        self.m = count(check_rate(rate), self.n)
        self.kind, self.rate = "gaussian", rate
        self.A = as_generator(rng).normal(0.0, 1.0 / math.sqrt(self.m), size=(self.m, self.n))

    def _repr_fields(self) -> str:
        return f"Gaussian N(0, 1/m) entries, m = {self.m}, n = {self.n}"

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
        self.batch = masks.shape[0]

    @property
    def observed(self) -> np.ndarray:
        """``(batch, n)``: one observed set per row."""
        return self.masks

    def _repr_fields(self) -> str:
        kept = self.masks.sum(axis=1)
        return (f"{self.batch} masks over n = {self.n}, {int(kept.min())} to "
                f"{int(kept.max())} entries observed")

    def forward(self, x):
        return self._check(x, self.n, "x") * self.weights

    adjoint = forward


__all__ = ["Measurement", "Subsampling", "GaussianMeasurement", "MaskBatch"]
