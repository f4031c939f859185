"""``verify audit``: loaders (.npz, safetensors in the nn.Sequential convention), batch-norm
folding, the assumptions table, and refusal of bad files."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest

from verify.audit import audit
from verify.weightfiles import BN_EPS, load_any, save_safetensors
from verify.cli import main
from verify.errors import VerifyError
from verify.network import LayerWeights, Network
from verify.presets import get_preset
from verify.spec import LayerSpec, NetworkSpec, block_spec
from verify.weights import draw_network, save_network

#: Folding eval-mode batch-norm re-associates (x - mean) * scale: a few ulps per entry,
#: amplified by at most the layer count; 1e3 ulps of the output scale is a wide margin.
FOLD_TOL = 1e3 * np.finfo(float).eps

SMALL = NetworkSpec(dims=2, latent_channels=3, layers=(
    LayerSpec(8, kernel=4, stride=1, padding=0, activation="leaky_relu", affine=True),
    LayerSpec(1, kernel=4, stride=2, padding=1, activation="tanh", affine=True)))


def _affine_net(seed=0):
    rng = np.random.default_rng(seed)
    base = draw_network(SMALL, "gaussian", rng=rng)
    return Network(SMALL, [LayerWeights(w.filters, rng.uniform(0.5, 2.0, w.scale.shape),
                                        rng.normal(size=w.bias.shape)) for w in base.weights])


def _rows(rows):
    return {r.assumption: r for r in rows}


def test_npz_round_trip_gives_identical_outputs(tmp_path):
    net = _affine_net()
    path = tmp_path / "g.npz"
    save_network(net, path)
    again = load_any(path)
    z = np.random.default_rng(1).normal(size=(4, 3))
    assert np.array_equal(again.forward(z), net.forward(z))


def test_safetensors_round_trip_gives_identical_outputs(tmp_path):
    net = _affine_net()
    path = tmp_path / "g.safetensors"
    save_safetensors(net, path)
    again = load_any(path)
    z = np.random.default_rng(1).normal(size=(4, 3))
    # (1 - eps) + eps == 1 exactly in float64, so the exported batch-norm folds back exactly
    assert np.array_equal(again.forward(z), net.forward(z))


def test_shipped_generator_exports_to_safetensors(tmp_path):
    net = get_preset("digits-dcgan").instantiate(0).network
    path = tmp_path / "digits.safetensors"
    save_safetensors(net, path)
    again = load_any(path)
    z = np.random.default_rng(2).normal(size=(3, 10))
    assert np.array_equal(again.forward(z), net.forward(z))


def test_pytorch_state_dict_folds_batchnorm_and_conv_bias(tmp_path):
    """A DCGAN-style state dict ('main.' prefix, BatchNorm2d, a conv bias on the last
    layer, num_batches_tracked) folds into scale = g / sqrt(v + eps), bias = b + scale (c - m)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    f0 = rng.normal(size=(3, 8, 4, 4))
    gamma, beta = rng.uniform(0.5, 2, 8), rng.normal(size=8)
    mean, var = rng.normal(size=8), rng.uniform(0.1, 3, 8)
    f3, cbias = rng.normal(size=(8, 1, 4, 4)), rng.normal(size=1)
    tensors = {"main.0.weight": f0, "main.1.weight": gamma, "main.1.bias": beta,
               "main.1.running_mean": mean, "main.1.running_var": var,
               "main.1.num_batches_tracked": np.array(7, dtype=np.int64),
               "main.3.weight": f3, "main.3.bias": cbias}
    path = tmp_path / "torch.safetensors"
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))
    arch = tmp_path / "arch.toml"
    arch.write_text(SMALL.to_toml())
    net = load_any(path, arch)
    # reference: plain convolutions from the engine, eval-mode batch-norm by hand
    plain = NetworkSpec(2, 3, tuple(LayerSpec(l.channels, l.kernel, l.stride, l.padding,
                                              "identity") for l in SMALL.layers))
    ref = Network(plain, [LayerWeights(f0), LayerWeights(f3)])
    z = rng.normal(size=(5, 3))
    x = ref.conv(0, ref.to_internal(z, 0))
    x = gamma * (x - mean) / np.sqrt(var + BN_EPS) + beta
    x = np.where(x > 0, x, 0.2 * x)
    x = np.tanh(ref.conv(1, x) + cbias)
    assert np.max(np.abs(net.forward(z) - ref.to_flat(x))) <= FOLD_TOL


def test_plain_state_dict_needs_the_architecture(tmp_path):
    from safetensors.numpy import save_file

    save_file({"0.weight": np.zeros((3, 8, 4, 4))}, str(tmp_path / "s.safetensors"))
    with pytest.raises(VerifyError, match="--arch"):
        load_any(tmp_path / "s.safetensors")


def test_audit_of_the_theory_preset_holds_everywhere():
    rows = audit(get_preset("theory-2layer").instantiate(0).network)
    assert all(r.holds for r in rows), [r for r in rows if not r.holds]


def test_audit_flags_a_non_expansive_layer():
    spec = block_spec(2, (16, 2), (1,))  # C_1 l^2 = 2 < 16 log 16
    rows = _rows(audit(draw_network(spec, "gaussian", rng=0)))
    assert rows["layer 1: expansive"].holds is False
    assert "ratio 0.05" in rows["layer 1: expansive"].measured


def test_audit_flags_a_padded_layer_and_overlapping_strides():
    rows = _rows(audit(get_preset("digits-dcgan").instantiate(0).network))
    assert rows["layer 2: no padding"].holds is False
    assert rows["layer 2: stride = kernel"].holds is False
    assert rows["layer 1: no padding"].holds is True
    assert rows["layer 1: ReLU"].holds is False  # leaky ReLU
    assert rows["layer 4: no bias"].holds is False


def test_audit_flags_uniform01_weights():
    rows = _rows(audit(get_preset("paper-fig4-uniform01").instantiate(0).network))
    assert rows["layer 1: zero-mean weights"].holds is False
    assert rows["layer 2: zero-mean weights"].holds is False
    ok = _rows(audit(get_preset("paper-fig4").instantiate(0).network))
    assert ok["layer 1: zero-mean weights"].holds is True
    assert ok["layer 1: Gaussian-like weights"].holds is True


def test_audit_smallest_block_follows_the_rate():
    net = get_preset("theory-2layer").instantiate(0).network
    key = "sampling rate {}: smallest block of A W_d"
    assert _rows(audit(net, rate=1.0))[key.format(1)].holds is True
    # 5% of each 640-row block is 32 rows < C_(d-1) log C_(d-1) = 44.4
    assert _rows(audit(net, rate=0.05))[key.format(0.05)].holds is False


# ------------------------------------------------------------------- bad input
def _safetensors_with(tmp_path, **changes):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {"0.weight": rng.normal(size=(3, 8, 4, 4)), "1.weight": np.ones(8),
               "1.bias": np.zeros(8), "1.running_mean": np.zeros(8), "1.running_var": np.ones(8),
               "3.weight": rng.normal(size=(8, 1, 4, 4))}
    for k, v in changes.items():
        k = k.replace("_", ".", 1)
        if v is None:
            del tensors[k]
        else:
            tensors[k] = v
    path = tmp_path / "bad.safetensors"
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path),
              metadata={"verify.spec": SMALL.to_toml()})
    return path


def test_wrong_shape_is_refused_with_tensor_and_expected_shape(tmp_path):
    path = _safetensors_with(tmp_path, **{"0_weight": np.zeros((3, 8, 3, 3))})
    with pytest.raises(VerifyError, match=r"'0\.weight'.*expected \(3, 8, 4, 4\)"):
        load_any(path)


def test_missing_tensor_is_refused_by_name(tmp_path):
    path = _safetensors_with(tmp_path, **{"1_running_var": None})
    with pytest.raises(VerifyError, match=r"'1\.running_var'.*\(8,\)"):
        load_any(path)
    path = _safetensors_with(tmp_path, **{"1_running_var": None, "1_running_mean": None})
    with pytest.raises(VerifyError, match=r"'1\.running_mean'.*\(8,\)"):
        load_any(path)
    path = _safetensors_with(tmp_path, **{"3_weight": None})
    with pytest.raises(VerifyError, match=r"layer 1.*\(8, 1, 4, 4\)"):
        load_any(path)


def test_non_finite_weights_are_refused_by_name(tmp_path):
    bad = np.ones((8, 1, 4, 4))
    bad[0, 0, 1, 1] = np.nan
    with pytest.raises(VerifyError, match=r"'3\.weight'.*NaN or infinite"):
        load_any(_safetensors_with(tmp_path, **{"3_weight": bad}))
    var = np.ones(8)
    var[2] = np.inf
    with pytest.raises(VerifyError, match=r"'1\.running_var'.*NaN or infinite"):
        load_any(_safetensors_with(tmp_path, **{"1_running_var": var}))


def test_npz_missing_tensor_is_refused_by_name(tmp_path):
    net = _affine_net()
    path = tmp_path / "g.npz"
    np.savez(path, spec=np.array(SMALL.to_toml()), **{"layer0.weight": net.weights[0].filters})
    with pytest.raises(VerifyError, match=r"'layer1\.weight'.*\(8, 1, 4, 4\)"):
        load_any(path)


@pytest.mark.parametrize("name", ["model.pt", "model.safetensors", "model.npz"])
def test_pickles_are_refused_not_unpickled(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"0.weight": [1.0, 2.0]}, protocol=4))
    with pytest.raises(VerifyError, match="pickle"):
        load_any(path)


def test_torch_zip_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
    with pytest.raises(VerifyError, match="pickle"):
        load_any(path)


def test_cli_audit_json_and_exit_codes(tmp_path, capsys):
    net = _affine_net()
    path = tmp_path / "g.safetensors"
    save_safetensors(net, path)
    assert main(["audit", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(set(r) == {"assumption", "holds", "measured", "required"} for r in rows)
    bad = tmp_path / "x.pt"
    bad.write_bytes(pickle.dumps([1]))
    assert main(["audit", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pickle" in err[0]


def test_anderson_darling_p_value_is_monotone_for_huge_statistics():
    """Rademacher weights give A^2 in the hundreds: the table's fit must not overflow or
    climb back to p = 1 there (it used to: 'looks normal' above A^2 ~ 307, a crash
    above ~400)."""
    from verify.audit import _ad_pvalue

    ps = [_ad_pvalue(a2, 1000) for a2 in (0.1, 0.5, 1.0, 5.0, 50.0, 200.0, 307.0, 450.0, 1e6)]
    assert all(a >= b for a, b in zip(ps, ps[1:]))
    assert ps[-1] == ps[-2] == ps[-3] and ps[-1] < 1e-100


@pytest.mark.parametrize("huge", [1e80, 1e200, 1.7e308])
def test_huge_weights_give_statistics_not_an_overflow(huge):
    """A corrupt or hostile file can hold weights near the float range: the statistics
    come out without a floating-point warning (raised as errors here), the shape
    statistics are those of the standardised layer, and the layer is not Gaussian-like."""
    import warnings

    from verify.audit import weight_normality

    x = np.random.default_rng(0).normal(size=500)
    plain = weight_normality(x)
    bad = x.copy()
    bad[3], bad[4] = huge, -huge
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = weight_normality(bad)
        scaled = weight_normality(x * 1e70)  # scale-invariant statistics: unchanged
    assert np.isfinite(out["excess_kurtosis"]) and out["gaussian_like"] is False
    assert scaled["excess_kurtosis"] == pytest.approx(plain["excess_kurtosis"], rel=1e-12)
    assert scaled["gaussian_like"] == plain["gaussian_like"]
