"""``LayerSpec.output_padding`` (PyTorch's ``output_padding``): sizes, validation, and the
engine's passes against a direct computation of the transposed convolution by its
definition (no torch needed)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from verify import VerifyError
from verify.network import LayerWeights, Network
from verify.spec import LayerSpec, NetworkSpec


def direct(x: np.ndarray, f: np.ndarray, s: int, p: int, op: int) -> np.ndarray:
    """Transposed convolution by its definition: out[o] = sum over input positions d and
    offsets k with d s + k - p = o of x[d] f[k]; channel-first, one sample."""
    cin, cout = f.shape[:2]
    dims = f.ndim - 2
    din, l = x.shape[1], f.shape[2]
    dout = (din - 1) * s + l - 2 * p + op
    out = np.zeros((cout,) + (dout,) * dims)
    for d in itertools.product(range(din), repeat=dims):
        for k in itertools.product(range(l), repeat=dims):
            o = tuple(di * s + ki - p for di, ki in zip(d, k))
            if all(0 <= oi < dout for oi in o):
                out[(slice(None),) + o] += np.einsum("c,cd->d", x[(slice(None),) + d],
                                                     f[(slice(None), slice(None)) + k])
    return out


@settings(max_examples=25, deadline=None)
@given(dims=st.sampled_from((1, 2)), l=st.integers(2, 5), frac=st.floats(0, 1),
       p=st.integers(0, 2), op=st.integers(1, 4), din=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_forward_matches_the_definition(dims, l, frac, p, op, din, seed):
    s = 2 + int(frac * (l - 2))  # 2 <= s <= l, so that some output_padding < s exists
    op = min(op, s - 1)
    assume((din - 1) * s + l - 2 * p + op >= 1)
    rng = np.random.default_rng(seed)
    spec = NetworkSpec(dims, 2, (LayerSpec(3, l, s, p, "identity", output_padding=op),),
                       latent_size=din)
    f = rng.normal(size=(2, 3) + (l,) * dims)
    net = Network(spec, [LayerWeights(f)])
    x = rng.normal(size=(2,) + (din,) * dims)
    want = direct(x, f, s, p, op)
    assert spec.sizes[1] == want.shape[1]
    got = net.forward(x.reshape(1, -1))[0]
    assert np.allclose(got, want.reshape(-1), atol=1e-12)
    # the explicit matrix and the adjoint agree with the same computation
    assert np.allclose(net.explicit_forward(x.reshape(1, -1))[0], want.reshape(-1), atol=1e-12)
    g = rng.normal(size=(1, spec.output_dim))
    gz = net.vjp(net.forward_with_cache(x.reshape(1, -1)), g)
    assert np.allclose(gz[0], net.layer_matrix(0).T @ g[0], atol=1e-12)


def test_output_padding_positions_hold_only_the_bias():
    """The op positions at the end receive no filter term: with stride = kernel and no
    padding they are exactly the bias."""
    spec = NetworkSpec(1, 1, (LayerSpec(2, 2, 2, 0, "identity", affine=True,
                                        output_padding=1),))
    net = Network(spec, [LayerWeights(np.ones((1, 2, 2)), np.array([2.0, 3.0]),
                                      np.array([0.5, -1.0]))])
    out = net.forward(np.array([1.0])).reshape(2, 3)
    assert out[:, -1].tolist() == [0.5, -1.0]
    assert out[:, :2].tolist() == [[2.5, 2.5], [2.0, 2.0]]


def test_validation_and_toml():
    with pytest.raises(VerifyError, match=r"output_padding: expected an integer in \[0, stride\)"):
        NetworkSpec(1, 1, (LayerSpec(2, 3, 2, output_padding=2),))
    spec = NetworkSpec(2, 1, (LayerSpec(2, 3, 2, 1, output_padding=1),))
    assert spec.sizes == (1, 2) and "op1" in spec.describe() and not spec.is_block
    assert NetworkSpec.from_toml(spec.to_toml()) == spec
    plain = NetworkSpec(2, 1, (LayerSpec(2, 3, 2, 1),))
    assert "output_padding" not in plain.to_toml()  # configurations of before unchanged


@pytest.mark.parametrize("lemma", ["descent", "angle"])
def test_checks_that_rebuild_layers_keep_output_padding(lemma):
    """``descent``'s width sweep and ``angle``'s patch sums rebuild layer specs: they keep
    the output padding (they raised, or ignored it, before)."""
    from verify import Config, WeightLaw, registry

    spec = NetworkSpec(1, 4, (LayerSpec(32, 2, 2, output_padding=1),
                              LayerSpec(64, 2, 2, output_padding=1)), 1)
    res = registry.run_check(lemma, Config("op", spec, WeightLaw("gaussian")), seed=0,
                             quick=True, draws=1, catch=True)
    assert res.error is None, res.error
    assert res.verdict in ("holds", "fails", "uninformative", "not applicable")
