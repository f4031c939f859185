"""Hypothesis strategies for architectures, weight laws and masks.

They live in the library so that users' own test suites can import them::

    from hypothesis import given
    from verify.strategies import check_settings, conv_architectures

    @check_settings()
    @given(conv_architectures(min_layers=2, strides="kernel", min_expansion=4))
    def test_my_property(spec): ...

Each example of such a test usually runs a whole check (about a second), which
Hypothesis's default deadline of 200 ms would report as ``DeadlineExceeded``;
:func:`check_settings` gives the settings that fit, without the project's conftest.

Every strategy yields valid, frozen values only; bounds are keyword-only
``min_*`` / ``max_*``.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

from hypothesis import HealthCheck, reject, settings
from hypothesis import strategies as st

from .measurements import MASK_KINDS, MaskSpec
from .spec import ACTIVATIONS, LayerSpec, NetworkSpec
from .weights import LAWS, WeightLaw


@st.composite
def conv_architectures(draw, *, min_layers: int = 1, max_layers: int = 3,
                       min_channels: int = 1, max_channels: int = 8,
                       min_kernel: int = 1, max_kernel: int = 5,
                       strides: Literal["any", "kernel", "overlapping"] = "any",
                       dims: Sequence[int] = (1, 2), padding: bool = False,
                       min_latent_channels: int = 1, max_latent_channels: int = 4,
                       min_latent_size: int = 1, max_latent_size: int = 1,
                       min_expansion: float | None = None, max_expansion: float | None = None,
                       activations: Sequence[str] = ("relu",),
                       affine: bool = False, max_output: int = 4096) -> NetworkSpec:
    """Transposed-convolution architectures.

    Parameters
    ----------
    strides : {"any", "kernel", "overlapping"}
        ``kernel``: stride = kernel, no padding (the theory's case); ``overlapping``:
        stride < kernel; ``any``: either.
    min_expansion, max_expansion : float, optional
        Bounds on every layer's C_i l^dims / C_{i-1} (rows over columns of the block B).
        Channels are drawn within ``[min_channels, max_channels]`` unless the expansion
        bound requires more (then up to what keeps ``max_output``).
    max_output : int
        Upper bound on every layer's width n_i, to keep examples small.
    """
    d = draw(st.sampled_from(tuple(dims)))
    depth = draw(st.integers(min_layers, max_layers))
    c_prev = draw(st.integers(min_latent_channels, max_latent_channels))
    size = draw(st.integers(min_latent_size, max_latent_size))
    latent = (c_prev, size)
    layers = []
    for _ in range(depth):
        kmin = max(min_kernel, 2) if strides == "overlapping" else min_kernel
        k = draw(st.integers(kmin, max(kmin, max_kernel)))
        if strides == "kernel":
            s = k
        elif strides == "overlapping":
            s = draw(st.integers(1, k - 1))
        else:
            s = draw(st.integers(1, k))
        p = 0
        if padding and strides != "kernel":
            p = draw(st.integers(0, (k - 1) // 2))
        out_size = (size - 1) * s + k - 2 * p
        per = k**d
        lo, hi = min_channels, max_channels
        if min_expansion is not None:
            lo = max(lo, math.ceil(min_expansion * c_prev / per - 1e-9))
            hi = max(hi, lo)  # the expansion bound takes precedence over max_channels
        if max_expansion is not None:
            hi = min(hi, math.floor(max_expansion * c_prev / per + 1e-9))
        hi = min(hi, max_output // max(1, out_size**d))
        if lo > hi:
            reject()  # the bounds cannot be met at this kernel: no invalid value is yielded
        act = draw(st.sampled_from(tuple(activations)))
        c = draw(st.integers(lo, hi))
        layers.append(LayerSpec(channels=c, kernel=k, stride=s, padding=p, activation=act,
                                slope=0.2, affine=affine))
        c_prev, size = c, out_size
    return NetworkSpec(dims=d, latent_channels=latent[0], latent_size=latent[1],
                       layers=tuple(layers))


def weight_laws(*, laws: Sequence[str] = LAWS, zero_mean: bool | None = None) -> st.SearchStrategy[WeightLaw]:
    """Weight laws; ``zero_mean=True`` draws the laws inside Conjecture 3 (zero-mean and
    subgaussian: not ``uniform01``, and not ``centred_exponential``, whose tails are
    exp(-t)), ``zero_mean=False`` only ``uniform01``."""
    outside = {"uniform01", "centred_exponential"}
    names = [n for n in laws if zero_mean is None
             or (zero_mean and n not in outside) or (not zero_mean and n == "uniform01")]
    return st.sampled_from(names).map(WeightLaw)


def masks(*, kinds: Sequence[str] = tuple(k for k in MASK_KINDS if k != "custom"),
          min_rate: float = 0.05, max_rate: float = 1.0) -> st.SearchStrategy[MaskSpec]:
    """Mask specifications (kind and rate) for :meth:`MaskSpec.build`."""
    return st.builds(MaskSpec, kind=st.sampled_from(tuple(kinds)),
                     rate=st.floats(min_rate, max_rate, allow_nan=False).map(lambda r: round(r, 3)))


#: At most this many examples per test from :func:`check_settings` unless asked for more:
#: each example runs a whole check.
CHECK_MAX_EXAMPLES = 10


def check_settings(**overrides) -> settings:
    """Hypothesis settings for a test whose examples run checks; use as a decorator.

    No deadline (a check takes about a second, Hypothesis's default deadline is 200 ms,
    and timing is no part of a check's verdict), the too-slow / large-data / filter
    health checks suppressed (generating an architecture can reject draws), and
    ``max_examples`` the smaller of the active profile's and :data:`CHECK_MAX_EXAMPLES`.
    Everything else (derandomisation, database, ...) comes from the active profile when
    the decorator is applied. Keyword arguments override any of these, e.g.
    ``@check_settings(max_examples=50)``.
    """
    base = settings.default
    kw = dict(deadline=None,
              suppress_health_check=sorted(set(base.suppress_health_check)
                                           | {HealthCheck.too_slow, HealthCheck.data_too_large,
                                              HealthCheck.filter_too_much}, key=lambda h: h.value),
              max_examples=min(base.max_examples, CHECK_MAX_EXAMPLES))
    kw.update(overrides)
    return settings(base, **kw)


def seeds() -> st.SearchStrategy[int]:
    """Seeds drawn by Hypothesis, so failures shrink and replay."""
    return st.integers(0, 2**32 - 1)


__all__ = ["conv_architectures", "weight_laws", "masks", "seeds", "check_settings",
           "CHECK_MAX_EXAMPLES", "ACTIVATIONS"]
