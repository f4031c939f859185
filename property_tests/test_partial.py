"""Theorem 4 check (lemmas/partial.py): rows kept per block, the check's verdicts on its
presets (quick sample counts, same rule), its tables and figures, its strategies."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, settings

from lemmas.partial import DISPERSED, P_MIN, check_rate_of, configs, counter_configs, rows_per_block
from verify.measurements import sample_masks
from verify.presets import get_preset
from verify.registry import get_check, run_check

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics


def test_rows_per_block_counts_kept_rows_of_each_block():
    spec = get_preset("theory-2layer").spec          # last layer: 4 blocks of 128 x 4 rows
    full = sample_masks("full", spec.output_shape, 1.0, 1)
    assert np.array_equal(rows_per_block(spec, full), [[512, 512, 512, 512]])
    top = sample_masks("top", spec.output_shape, 0.5, 1)  # positions 0..7 = blocks 0, 1
    assert np.array_equal(rows_per_block(spec, top), [[512, 512, 0, 0]])
    rnd = sample_masks("random", spec.output_shape, 0.3, 5, rng=0)
    assert np.array_equal(rows_per_block(spec, rnd).sum(axis=1), rnd.sum(axis=1))
    spec2 = get_preset("theory-2layer-2d").spec
    m2 = sample_masks("random", spec2.output_shape, 0.4, 3, rng=1)
    kept = rows_per_block(spec2, m2)
    assert kept.shape == (3, 4) and np.array_equal(kept.sum(axis=1), m2.sum(axis=1))
    assert rows_per_block(get_preset("paper-fig4").spec, m2[:, :289]) is None  # stride != kernel


def test_check_rate_is_the_presets_or_one_half():
    assert check_rate_of(get_preset("paper-fig4")) == 0.5
    assert check_rate_of(get_preset("theory-2layer")) == 0.5  # full observation -> 0.5
    assert check_rate_of(get_preset("paper-fig4").with_mask("random", 0.3)) == 0.3


def test_partial_on_paper_fig4_with_tables_and_figures():
    """Seed 0 carries the registered finding (a centred block beats random sampling):
    every other criterion holds, and the mismatch is that finding and nothing else."""
    res = run_check("partial", "paper-fig4", seed=0, quick=True)
    assert res.statistic >= P_MIN
    failing = [c.name for c in res.criteria if not c.holds]
    assert failing == [DISPERSED]
    assert res.status == "known finding" and res.accepted
    kinds = set(res.table.kind)
    assert kinds == {"random", "top", "bottom", "left", "right", "border", "centre"}
    assert {"phase", "phase_fits", "noise"} <= set(res.tables)
    ph = res.tables["phase"]
    # verify.stats.wilson_interval is exactly 0 at 0/n and 1 at n/n: no slack
    assert np.all((ph.ci_low <= ph.success_rate) & (ph.success_rate <= ph.ci_high))
    assert set(ph.kind) == kinds
    for fig_fn in get_check("partial").figures:
        fig = fig_fn(res)
        assert fig.axes
        matplotlib.pyplot.close(fig)


def test_partial_fails_on_the_uniform01_counterexample():
    res = run_check("partial", "paper-fig4-uniform01", seed=0, quick=True)
    assert not res.passed and res.expected == "fail" and res.matches_expectation
    assert res.table.success_rate.max() < 0.5


@settings(max_examples=2)
@given(config=configs())
def test_strategy_configs_pass(config):
    assert run_check("partial", config, seed=0, quick=True).passed


@settings(max_examples=2)
@given(config=counter_configs())
def test_counter_strategy_configs_fail(config):
    assert not run_check("partial", config, seed=0, quick=True).passed
