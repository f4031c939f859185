"""Permutation to block-diagonal form (paper Fig. 2; lemmas/README.md, section 1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.geometry.blocks import (activation_commutes, block_diagonal_form, exact_block_identity,
                                    kept_rows_per_block, kink_vectors, permuted)
from verify.measurements import MaskSpec, Subsampling
from verify.presets import Config
from verify.registry import get_check, run_check
from verify.spec import LayerSpec, NetworkSpec, block_spec
from verify.strategies import conv_architectures, seeds
from verify.weights import WeightLaw, draw_network

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics


@settings(max_examples=15)
@given(conv_architectures(strides="kernel", max_layers=2, max_channels=6, max_kernel=4,
                          max_latent_size=3, max_output=1024), seeds())
def test_stride_equals_kernel_gives_identical_blocks_exactly(spec, seed):
    """P W_i Q = I_{D^dims} (x) B_i with ==, every block the filter block."""
    net = draw_network(spec, rng=seed)
    for i in range(spec.depth):
        W, B = net.layer_matrix(i), net.dense_block(i)
        n_pos = spec.sizes[i] ** spec.dims
        holds, form, info = exact_block_identity(W, B, n_pos)
        assert holds, info
        assert form.n_blocks == n_pos
        assert all(np.array_equal(b, B) for b in form.blocks)
        K = sp.kron(sp.identity(n_pos), sp.csr_matrix(B)).toarray()
        assert np.array_equal(permuted(W, form).toarray(), K)


@settings(max_examples=10)
@given(conv_architectures(strides="overlapping", max_layers=2, max_channels=4, max_kernel=4,
                          min_latent_size=2, max_latent_size=3, max_output=1024), seeds())
def test_overlapping_stride_claims_no_identical_blocks(spec, seed):
    """s < l with >= 2 input positions: the components merge (fewer than D^dims)."""
    net = draw_network(spec, rng=seed)
    for i in range(spec.depth):
        n_pos = spec.sizes[i] ** spec.dims
        holds, form, info = exact_block_identity(net.layer_matrix(i), net.dense_block(i), n_pos)
        assert not holds
        assert form.n_blocks < n_pos
        assert info["entries_differing"] is None


@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=6),
       st.integers(0, 3), st.integers(0, 3), seeds())
def test_component_finder_recovers_shuffled_blocks(shapes, zero_rows, zero_cols, seed):
    """A random block-diagonal matrix with shuffled rows and columns (and zero rows /
    columns) is brought back to block-diagonal form with the same blocks."""
    rng = np.random.default_rng(seed)
    blocks = [rng.normal(size=s) + np.sign(rng.normal(size=s)) * 0.1 for s in shapes]
    M = sp.block_diag(blocks + [np.zeros((zero_rows, zero_cols))] if (zero_rows or zero_cols)
                      else blocks).toarray()
    rp, cp = rng.permutation(M.shape[0]), rng.permutation(M.shape[1])
    S = M[rp][:, cp]
    form = block_diagonal_form(sp.csr_matrix(S))
    assert form.n_blocks == len(blocks)
    assert int(np.sum(form.row_labels < 0)) == zero_rows
    assert int(np.sum(form.col_labels < 0)) == zero_cols
    P = permuted(S, form).toarray()
    # block-diagonal: every non-zero lies inside a diagonal block
    rb = np.repeat(np.arange(form.n_blocks), form.row_sizes)
    cb = np.repeat(np.arange(form.n_blocks), form.col_sizes)
    nz_r, nz_c = np.nonzero(P)
    assert np.all(rb[nz_r] == cb[nz_c])
    # the blocks are the original ones up to the within-block order of the shuffle
    key = lambda b: (b.shape, np.sort(b.ravel()).tobytes())  # noqa: E731
    assert sorted(map(key, form.blocks)) == sorted(map(key, blocks))


def test_component_finder_on_dense_matrix_is_one_block():
    A = np.arange(1, 13, dtype=float).reshape(3, 4)
    form = block_diagonal_form(A)
    assert form.n_blocks == 1 and np.array_equal(form.blocks[0], A)


def test_kept_rows_per_block_match_the_mask_layout():
    """1-D, stride = kernel: output row (c', q) belongs to input position q // l."""
    spec = block_spec(1, (3, 4, 5), (2, 3))
    net = draw_network(spec, rng=0)
    d = spec.depth - 1
    meas = MaskSpec("random", 0.4).build(spec.output_shape, rng=1)
    form = block_diagonal_form(net.layer_matrix(d))
    kept = kept_rows_per_block(form, meas.rows)
    l = spec.layers[d].kernel
    expect = meas.mask.reshape(spec.channels[-1], spec.sizes[d], l).sum(axis=(0, 2))
    assert np.array_equal(kept, expect)
    assert kept.sum() == meas.m


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "sigmoid", "tanh", "identity"])
def test_subsampling_commutes_with_activations_exactly(act):
    rng = np.random.default_rng(3)
    meas = Subsampling(rng.random(200) < 0.5)
    v = np.vstack([rng.normal(size=(16, 200)), kink_vectors(200, rng, count=16)])
    assert activation_commutes(meas, act, 0.2, v) == 0


def test_commutation_count_detects_a_mixing_operator():
    """The counter can fail: a Gaussian A does not commute with ReLU."""
    rng = np.random.default_rng(4)

    class Mixing(Subsampling):
        def forward(self, x):
            return x @ A.T

    A = rng.normal(size=(10, 30))
    meas = Mixing(np.ones(30, bool))
    assert activation_commutes(meas, "relu", 0.2, rng.normal(size=(8, 30))) > 0


def test_presets_verdicts():
    ok = run_check("permutation", "theory-2layer", quick=True, draws=1)
    assert ok.passed and ok.matches_expectation and ok.statistic == 0
    assert ok.details["commutation"]["mismatches"] == {"random": 0, "kink": 0}
    fig4 = run_check("permutation", "paper-fig4", quick=True, draws=1)
    assert not fig4.passed and fig4.matches_expectation
    layers = fig4.details["layers"]
    assert layers[0]["identity_holds"]  # one input position: the single block is B
    assert layers[1]["components"] == 1 < layers[1]["positions"] == 25
    # the statement is structural: U[0, 1] weights change nothing
    uni = run_check("permutation", "paper-fig4-uniform01", quick=True, draws=1)
    assert [r["components"] for r in uni.details["layers"]] == [r["components"] for r in layers]


def test_subsampled_last_layer_blocks_are_row_subsets():
    spec = block_spec(2, (3, 6, 4), (2, 2))
    cfg = Config("t", spec, WeightLaw("gaussian"), MaskSpec("centre", 0.3))
    res = run_check("permutation", cfg, quick=True, draws=1)
    assert res.passed
    sub = res.details["subsampling"]
    assert sub["blocks"] == spec.sizes[-2] ** 2
    assert sub["smallest"] < sub["largest"]  # a contiguous mask: blocks of different sizes
    assert sum(k * v for k, v in sub["distribution"].items()) == sub["measurements"]


def test_padding_breaks_the_identical_block_form():
    spec = NetworkSpec(dims=1, latent_channels=2, latent_size=3,
                       layers=(LayerSpec(channels=3, kernel=3, stride=3, padding=1),))
    res = run_check("permutation", Config("pad", spec), quick=True, draws=1)
    assert not res.passed


def test_same_seed_same_result():
    a = run_check("permutation", "theory-2layer", seed=5, quick=True, draws=1)
    b = run_check("permutation", "theory-2layer", seed=5, quick=True, draws=1)
    assert a.to_json()["details"] == b.to_json()["details"]
    assert a.table.equals(b.table)


@settings(max_examples=8)
@given(st.data())
def test_registered_strategies_give_the_stated_verdicts(data):
    from verify.registry import get_check

    chk = get_check("permutation")
    assert run_check("permutation", data.draw(chk.configs()), quick=True, draws=1).passed
    assert not run_check("permutation", data.draw(chk.counter_configs()), quick=True,
                         draws=1).passed


# ---------------------------------------------------------- ceilings and power
def test_headline_states_its_ceiling_and_exact_criteria_have_none():
    """The headline counts layers without the form (trivial ceiling: the depth, above
    the bound 0); every other criterion is an exact '==' identity, with no ceiling."""
    r = run_check("permutation", "theory-2layer", seed=0, quick=True, draws=1)
    assert r.verdict == "holds"
    head = r.criteria[0]
    assert head.ceiling == 2 and head.bound < head.ceiling and not head.why_uninformative
    assert all(c.sense == "==" and c.ceiling is None for c in r.criteria[1:])


@pytest.mark.parametrize("case", get_check("permutation").known_bad, ids=lambda kb: kb.name)
def test_known_bad_rejected(case):
    r = run_check("permutation", case.config, seed=case.seed, quick=True, draws=1)
    assert r.verdict == "fails", r.summary()
    assert get_check("permutation").draw_rule is None  # an exact identity: one draw decides


# ------------------------------------------------ the statements (fig2, thm4-proof)
def _statement_verdicts(res):
    return {v.statement: v for v in res.statements}


def _index_quote(label):
    from lemmas import STATEMENTS

    return next(q for lab, _, q, _ in STATEMENTS if lab == label)


def test_fig2_and_thm4_proof_register_the_exact_quotes():
    from verify.registry import get_statement

    assert get_statement("fig2").quote == _index_quote("Fig. 2 (permutation)")
    assert get_statement("thm4-proof").quote == _index_quote("Theorem 4 (proof)")
    assert get_statement("fig2").checks == get_statement("thm4-proof").checks == ("permutation",)


def test_fig2_and_thm4_proof_are_judged_each_by_its_own_criteria():
    """On theory-2layer (full observation) fig2 reads the block form, thm4-proof the
    random 50% subsampling of the same weights and the commutation on the preset's A."""
    v = _statement_verdicts(run_check("permutation", "theory-2layer", seed=0, quick=True, draws=1))
    assert v["fig2"].verdict == "holds" and v["thm4-proof"].verdict == "holds"
    assert {c.name for c in v["fig2"].criteria} == {
        "layers_without_identical_block_form", "layer1_components", "layer2_components"}
    assert {c.name for c in v["thm4-proof"].criteria} == {
        "kept_rows_total_random_0.5", "AW_blocks_are_row_subsets_of_B_random_0.5",
        "A_sigma_commutes_mismatches", "distinct_block_sizes"}
    sizes = next(c for c in v["thm4-proof"].criteria if c.name == "distinct_block_sizes")
    assert sizes.statistic >= 2


def test_a_failing_subsampling_criterion_fails_thm4_proof_and_not_fig2():
    from verify.registry import get_statement
    from verify.results import Criterion, Outcome
    from verify.statements import judge_outcome

    form = Criterion("layers_without_identical_block_form", 0, 0, "<=", ceiling=2.0)
    crits = (Criterion("layer1_components", 1, 1, "=="),
             Criterion("kept_rows_total", 10, 10, "=="),
             Criterion("AW_blocks_are_row_subsets_of_B", 3, 4, "=="),  # one block differs
             Criterion("A_sigma_commutes_mismatches", 0, 0, "=="))
    out = Outcome(headline=form, criteria=crits,
                  details={"subsampling": {"distribution": {2: 1, 3: 3}}})
    fig2 = get_statement("fig2").judges[0].criteria
    thm4 = get_statement("thm4-proof").judges[0].criteria
    assert judge_outcome(fig2, out)[0] == "holds"
    assert judge_outcome(thm4, out)[0] == "fails"
    # blocks all of one size (A = I): "the blocks are not identical" does not hold
    same = Outcome(headline=form, criteria=crits[:2] + (
        Criterion("AW_blocks_are_row_subsets_of_B", 4, 4, "=="), crits[3]),
        details={"subsampling": {"distribution": {3: 4}}})
    assert judge_outcome(thm4, same)[0] == "fails"


@pytest.mark.slow  # two whole quick checks
def test_thm4_proof_is_not_applicable_to_a_dense_measurement_or_overlapping_strides():
    """A dense Gaussian A is not a subsampling: thm4-proof is 'not applicable' there
    (never 'holds' on criteria the check skipped)."""
    from dataclasses import replace

    from verify.presets import get_preset

    dense = replace(get_preset("theory-2layer").with_mask("gaussian", 0.5), name="dense-a")
    v = _statement_verdicts(run_check("permutation", dense, seed=0, quick=True, draws=1))
    assert v["thm4-proof"].verdict == "not applicable"
    assert "not a subsampling" in v["thm4-proof"].why
    over = Config("overlap-stmt", NetworkSpec(dims=1, latent_channels=2, latent_size=3,
                  layers=(LayerSpec(4, 4, 2),)), WeightLaw("gaussian"), MaskSpec("random", 0.5))
    v = _statement_verdicts(run_check("permutation", over, seed=0, quick=True, draws=1))
    assert v["fig2"].verdict == v["thm4-proof"].verdict == "not applicable"
