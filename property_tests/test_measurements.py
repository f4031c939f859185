"""The measurement family: one mask table, one sampler, operators with
an observed set, noise carried by the operator and an adjointness self-test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verify.errors import VerifyError
from verify.measurements import (CONFIG_KINDS, MASK_TABLE, RATE_KINDS, GaussianMeasurement,
                                 MaskBatch, MaskSpec, Measurement, Subsampling, kinds_for,
                                 make_mask, sample_masks)

SHAPES = st.sampled_from([(1, 9), (3, 8), (1, 7, 7), (2, 6, 6)])
RATES = st.sampled_from([0.1, 0.25, 0.5, 0.9, 1.0])


def _operators(shape, rate, seed) -> list[Measurement]:
    n = int(np.prod(shape))
    ops: list[Measurement] = [GaussianMeasurement(n, rate, rng=seed),
                              MaskBatch(sample_masks("random", shape, rate, 4, rng=seed))]
    return ops + [MaskSpec(kind, rate).build(shape, rng=seed) for kind in RATE_KINDS]


@given(shape=SHAPES, rate=RATES, seed=st.integers(0, 2**32 - 1))
def test_every_operator_passes_its_adjointness_self_test(shape, rate, seed):
    for A in _operators(shape, rate, seed):
        assert A.adjoint_error(rng=seed) <= 1e-13, type(A).__name__


def test_adjointness_test_catches_a_wrong_adjoint():
    A = MaskSpec("random", 0.5).build((1, 6, 6), rng=0)

    class Broken(Subsampling):
        def adjoint(self, y):  # scatters into the wrong entries
            return np.roll(super().adjoint(y), 1, axis=-1)

    broken = Broken(A.mask, A.kind, A.rate)
    assert broken.adjoint_error(rng=0) > 1e-3


@given(shape=SHAPES, rate=RATES, seed=st.integers(0, 2**32 - 1))
def test_one_sampler_for_single_masks_and_batches(shape, rate, seed):
    one = make_mask("random", shape, rate, rng=np.random.default_rng(seed)).reshape(-1)
    batch = sample_masks("random", shape, rate, 3, rng=np.random.default_rng(seed))
    assert np.array_equal(one, batch[0])
    spec_mask = MaskSpec("random", rate).build(shape, rng=np.random.default_rng(seed)).observed
    assert np.array_equal(spec_mask, batch[0])
    n = int(np.prod(shape))
    assert (batch.sum(axis=1) == max(1, min(n, int(np.ceil(rate * n - 1e-9))))).all()


def test_random_masks_are_uniform_over_entries():
    masks = sample_masks("random", (1, 10), 0.3, 20_000, rng=0)
    freq = masks.mean(axis=0)
    # each entry is kept with probability 3/10; 20,000 rows: sd 0.0032, allow 5 sd
    assert np.abs(freq - 0.3).max() < 5 * np.sqrt(0.3 * 0.7 / 20_000)


def test_observed_set_and_noise_live_in_the_operator():
    A = MaskSpec("top", 0.5).build((1, 4, 4))
    assert A.observed.sum() == A.m == 8
    x = np.arange(16.0)
    assert np.array_equal(A.observe(x), A.forward(x))  # no noise, no draw
    noisy = A.with_noise(0.1)
    assert A.noise == 0 and noisy.noise == 0.1
    y = noisy.observe(np.tile(x, (5000, 1)), rng=0)
    e = y - A.forward(x)
    assert abs(e.std() - 0.1) < 0.005
    assert GaussianMeasurement(16, 0.5, rng=0).observed is None
    with pytest.raises(VerifyError, match="noise"):
        A.with_noise(-1.0)


def test_the_mask_vocabularies_come_from_one_table():
    assert set(RATE_KINDS) == set(MASK_TABLE) - {"custom"}
    assert set(CONFIG_KINDS) == set(RATE_KINDS) | {"gaussian"}
    assert kinds_for(2) == ("random", "top", "bottom", "left", "right", "border", "centre")
    assert kinds_for(1) == ("random", "top", "bottom", "border", "centre")
    # in 1-D left/right are top/bottom: the table's in_1d flag says so, and it is true
    for a, b in (("left", "top"), ("right", "bottom")):
        assert np.array_equal(make_mask(a, (2, 9), 0.4), make_mask(b, (2, 9), 0.4))
    assert not np.array_equal(make_mask("left", (1, 6, 6), 0.5), make_mask("top", (1, 6, 6), 0.5))


def test_partial_rate_rule():
    assert MaskSpec("full", 1.0).partial_rate == 0.5
    assert MaskSpec("random", 1.0).partial_rate == 0.5
    assert MaskSpec("random", 0.3).partial_rate == 0.3


@pytest.mark.parametrize("kind, rate, n, name", [("diagonal", 0.5, 1, "mask"),
                                                 ("random", 0.0, 1, "rate"),
                                                 ("random", 0.5, 0, "trials"),
                                                 ("gaussian", 0.5, 1, "mask")])
def test_sampler_refuses_bad_input(kind, rate, n, name):
    with pytest.raises(VerifyError, match=name):
        sample_masks(kind, (1, 4, 4), rate, n)
