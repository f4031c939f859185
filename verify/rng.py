"""Randomness: one explicit ``numpy.random.Generator`` (STYLE.md, Randomness)."""

from __future__ import annotations

import numpy as np

from .errors import invalid


def as_generator(rng=None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed, a SeedSequence or None) into a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise invalid("rng", "a numpy Generator, a non-negative int seed or None", rng)


def spawn(seed: int, n: int) -> list[np.random.Generator]:
    """n independent child streams of ``seed`` (``SeedSequence.spawn``)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]
