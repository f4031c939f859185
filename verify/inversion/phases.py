"""A transposed convolution whose kernel is a multiple of its stride, as ONE matrix
product over sub-pixel phases (the path :class:`~verify.inversion.losses.BatchLastLoss`
takes on wide layers; the column path elsewhere).

With kernel ``l = m s``, the uncropped output at ``o = s I + a`` (phase ``a < s``) is
``sum_{d < m} W[:, :, a + s d]^T x[:, I - d]``, so every phase reads the same ``m``
shifts of the input. Stacking those shifts, ``X[(d, c_in), I] = x[c_in, I - d]`` (zero
outside, ``I < n = D_in + m - 1``), every phase of every output channel is one product

    P[(a, c_out), I] = W_st[(a, c_out), (d, c_in)] X[(d, c_in), I],
    W_st[(a, c_out), (d, c_in)] = W[c_in, c_out, a + s d]          (per axis)

and the output is P's phases interleaved (and cropped by the padding): one strided
copy of the output, where the column path writes ``l^d / s^d`` times the output as
columns and adds them back. The price is the zero border of ``X``: ``(n / D_in)^d``
times the flops (13 % at ``D_in = 16``, 6 % at 32), so :func:`plan` takes this path
only for inputs of at least :data:`MIN_SIDE` and outputs of at least
:data:`MIN_CHANNELS` channels (measured in ``verify bench``'s DCGAN-like cases: at a
4 x 4 or 8 x 8 input, or 3 output channels, the column path is faster).

The adjoint is the same product transposed: the output gradient is split into its
phases (zero outside the crop), ``S = W_st^T G``, and ``x``'s gradient is the sum of
the ``m^d`` shifted blocks of ``S``. Both agree with the column path to rounding
(the sums are the same terms in another order), which the tests check.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

#: The phase path's thresholds: input side (per axis) and output channels.
MIN_SIDE = 16
MIN_CHANNELS = 16


@dataclass(frozen=True)
class PhasePlan:
    """Where each phase of a layer's output lands: per axis, ``(a, o0, i0, count)``:
    output positions ``o0, o0 + s, ...`` (``count`` of them) are phase ``a``'s rows
    ``i0 .. i0 + count`` of ``P``."""

    dims: int
    stride: int
    shifts: int          # m = kernel / stride
    din: int
    dout: int
    n: int               # positions per phase and axis, din + m - 1
    crops: tuple         # ((a, o0, i0, count), ...) for a < stride


def plan(layer, din: int, dout: int, cout: int, dims: int) -> PhasePlan | None:
    """The phase plan of a layer, or None when the column path is the one to take
    (kernel not a multiple of the stride, no overlap, a narrow or thin layer)."""
    l, s, p = layer.kernel, layer.stride, layer.padding
    if dims not in (1, 2) or l % s or l == s or din < MIN_SIDE or cout < MIN_CHANNELS:
        return None
    m = l // s
    crops = []
    for a in range(s):
        o0 = (a - p) % s
        count = len(range(o0, dout, s))
        crops.append((a, o0, (o0 + p) // s, count))
    return PhasePlan(dims, s, m, din, dout, din + m - 1, tuple(crops))


def stacked_filters(filters: np.ndarray, pl: PhasePlan, dtype) -> np.ndarray:
    """``W_st``, ``(s^d C_out, m^d C_in)``, from filters ``(C_in, C_out, *(l,) * d)``."""
    cin, cout = filters.shape[:2]
    s, m = pl.stride, pl.shifts
    if pl.dims == 1:
        w = filters.reshape(cin, cout, m, s).transpose(3, 1, 2, 0)
    else:
        w = filters.reshape(cin, cout, m, s, m, s).transpose(3, 5, 1, 2, 4, 0)
    return np.ascontiguousarray(w.reshape(s ** pl.dims * cout, m ** pl.dims * cin),
                                dtype=dtype)


def _zero_outside(a: np.ndarray, lo: tuple, hi: tuple) -> None:
    """Zero ``a`` (``(C, *spatial, b)``) outside the box ``[lo, hi)`` of its spatial axes."""
    for ax, (lo_, hi_) in enumerate(zip(lo, hi)):
        idx = [slice(None)] * a.ndim
        idx[ax + 1] = slice(0, lo_)
        a[tuple(idx)] = 0.0
        idx[ax + 1] = slice(hi_, None)
        a[tuple(idx)] = 0.0


def conv(pl: PhasePlan, Wst: np.ndarray, x: np.ndarray, stack: np.ndarray,
         ph: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The layer's cropped output into ``out`` ``(C_out, *(D_out,) * d, b)`` from ``x``
    ``(C_in, *(D_in,) * d, b)``; ``stack`` ``(m^d, C_in, *(n,) * d, b)`` and ``ph``
    ``(s^d, C_out, *(n,) * d, b)`` are scratch."""
    d, m, din = pl.dims, pl.shifts, pl.din
    for k, sh in enumerate(itertools.product(range(m), repeat=d)):
        dst = stack[k]
        dst[(slice(None),) + tuple(slice(t, t + din) for t in sh)] = x
        _zero_outside(dst, sh, tuple(t + din for t in sh))
    np.matmul(Wst, stack.reshape(Wst.shape[1], -1), out=ph.reshape(Wst.shape[0], -1))
    for k, cr in enumerate(itertools.product(pl.crops, repeat=d)):
        if any(c[3] == 0 for c in cr):
            continue
        out[(slice(None),) + tuple(slice(c[1], None, pl.stride) for c in cr)] = \
            ph[k][(slice(None),) + tuple(slice(c[2], c[2] + c[3]) for c in cr)]
    return out


def conv_t(pl: PhasePlan, WstT: np.ndarray, g: np.ndarray, phases: np.ndarray,
           stack: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Adjoint of :func:`conv`: ``x``'s gradient into ``out`` ``(C_in, *(D_in,) * d, b)``
    from the output gradient ``g`` ``(C_out, *(D_out,) * d, b)``; ``phases`` (shape of
    ``ph``) and ``stack`` are scratch."""
    d, m, din = pl.dims, pl.shifts, pl.din
    for k, cr in enumerate(itertools.product(pl.crops, repeat=d)):
        dst = phases[k]
        lo = tuple(c[2] for c in cr)
        hi = tuple(c[2] + c[3] for c in cr)
        if all(c[3] for c in cr):
            dst[(slice(None),) + tuple(slice(a, b) for a, b in zip(lo, hi))] = \
                g[(slice(None),) + tuple(slice(c[1], None, pl.stride) for c in cr)]
            _zero_outside(dst, lo, hi)
        else:
            dst.fill(0.0)
    np.matmul(WstT, phases.reshape(WstT.shape[1], -1), out=stack.reshape(WstT.shape[0], -1))
    shifted = [stack[k][(slice(None),) + tuple(slice(t, t + din) for t in sh)]
               for k, sh in enumerate(itertools.product(range(m), repeat=d))]
    np.add(shifted[0], shifted[1], out=out)   # m >= 2: at least two shifts
    for src in shifted[2:]:
        out += src
    return out
