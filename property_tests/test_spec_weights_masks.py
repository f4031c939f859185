"""Specifications, weight laws and files, measurement operators, presets, CLI basics."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from verify import (Config, LayerSpec, NetworkSpec, VerifyError, WeightLaw, draw_network,
                    get_preset, load_network, make_mask, presets, save_network)
from verify.measurements import (MASK_KINDS, GaussianMeasurement, MaskBatch, MaskSpec,
                                 Subsampling)
from verify.strategies import conv_architectures, masks, seeds


# ------------------------------------------------------------------------ specs
@pytest.mark.parametrize("layer, field, fragment", [
    (dict(channels=0, kernel=3, stride=3), "layers[0].channels", "integer >= 1"),
    (dict(channels=2, kernel=2, stride=3), "layers[0].stride", "stride <= kernel"),
    (dict(channels=2, kernel=3, stride=3, padding=-1), "layers[0].padding", ">= 0"),
    (dict(channels=2, kernel=3, stride=1, padding=2), "layers[0].padding", "empties the output"),
    (dict(channels=2, kernel=3, stride=3, activation="softplus"), "layers[0].activation", "relu"),
    (dict(channels=2, kernel=3, stride=3, activation="leaky_relu", slope=1.5), "layers[0].slope", "[0, 1)"),
])
def test_invalid_specs_name_the_field_range_and_value(layer, field, fragment):
    with pytest.raises(VerifyError) as err:
        NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(**layer),))
    msg = str(err.value)
    assert msg.startswith(field) and fragment in msg and "got" in msg


def test_invalid_dims_and_empty_layers():
    with pytest.raises(VerifyError, match="dims: expected 1 or 2, got 3"):
        NetworkSpec(dims=3, latent_channels=1, layers=(LayerSpec(1, 2, 2),))
    with pytest.raises(VerifyError, match="layers: expected at least one layer"):
        NetworkSpec(dims=1, latent_channels=1, layers=())


@given(conv_architectures(padding=True, activations=("relu", "leaky_relu", "tanh"), affine=True))
def test_toml_round_trip(spec):
    assert NetworkSpec.from_toml(spec.to_toml()) == spec


def test_sizes_follow_the_transposed_convolution_formula():
    spec = get_preset("paper-fig4").spec
    assert spec.sizes == (1, 5, 17)          # (1-1)*3+5 = 5, (5-1)*3+5 = 17
    assert spec.widths == (2, 16 * 25, 289)
    theory = get_preset("theory-2layer").spec
    assert theory.sizes == (1, 16, 256) and theory.is_block
    # The preset's promise: every layer C_i l >= 4 C_{i-1} log C_{i-1}.
    assert all(e >= 4 for e in theory.expansivity())
    assert all(e >= 4 for e in get_preset("theory-2layer-2d").spec.expansivity())


def test_config_toml_round_trip_and_unknown_keys(tmp_path):
    cfg = get_preset("paper-fig4-uniform01")
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    back = Config.load(path)
    assert back.spec == cfg.spec and back.weights == cfg.weights and back.mask == cfg.mask
    assert back.counterexample
    path.write_text(cfg.to_toml() + "\nfoo = 1\n")
    with pytest.raises(VerifyError, match="foo"):
        Config.load(path)
    with pytest.raises(VerifyError, match="cannot be read"):
        Config.load(tmp_path / "missing.toml")


# ---------------------------------------------------------------------- weights
@pytest.mark.parametrize("law", ["gaussian", "rademacher", "uniform", "triangular",
                                 "truncated_gaussian", "centred_exponential"])
def test_zero_mean_laws_have_the_theory_variance(law):
    """Variance 1/(C_i l^dims): a chi-square-free check with the sample variance's
    own standard error; 5 sigma => false-alarm probability < 1e-6 per law."""
    spec = NetworkSpec(dims=2, latent_channels=40, layers=(LayerSpec(50, 3, 3),))
    net = draw_network(spec, WeightLaw(law), rng=3)
    w = net.weights[0].filters.ravel()
    target = 1.0 / (50 * 9)
    n = w.size
    kurt = stats.kurtosis(w, fisher=False)
    se_var = target * math.sqrt((kurt - 1) / n)
    assert abs(w.var() - target) <= 5 * se_var
    assert abs(w.mean()) <= 5 * math.sqrt(target / n)


def test_uniform01_is_not_zero_mean():
    spec = NetworkSpec(dims=1, latent_channels=4, layers=(LayerSpec(8, 3, 3),))
    w = draw_network(spec, "uniform01", rng=0).weights[0].filters
    assert w.min() >= 0 and abs(w.mean() - 0.5) < 0.1


@pytest.mark.parametrize("law, bound", [("triangular", math.sqrt(6)),
                                        ("truncated_gaussian", 2.0 / math.sqrt(0.77371))])
def test_bounded_conjecture3_laws_stay_in_their_support(law, bound):
    """Conjecture 3's bounded examples: |x| <= a sigma (a = sqrt 6 for the triangular law;
    2 / sqrt(Var of N(0,1) given |x| <= 2) for the truncated Gaussian), and the centred
    exponential is skewed (third standardised moment 2) with its minimum at -sigma."""
    x = WeightLaw(law).sample((200_000,), 1.0, np.random.default_rng(5))
    assert np.abs(x).max() <= bound * (1 + 1e-4)
    assert np.abs(x).max() >= 0.95 * bound          # the support is reached
    e = WeightLaw("centred_exponential").sample((200_000,), 1.0, np.random.default_rng(5))
    assert e.min() >= -1.0 and abs(stats.skew(e) - 2.0) < 0.2


@pytest.mark.slow  # a CLI run in a fresh interpreter
def test_unknown_law_in_a_config_exits_2_naming_the_field(tmp_path):
    cfg = get_preset("paper-fig4").to_dict()
    cfg["weights"] = {"law": "laplace"}
    import tomli_w
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(cfg))
    out = subprocess.run([sys.executable, "-m", "verify", "check", "partial", "--config",
                          str(path), "--quick"], capture_output=True, text=True)
    assert out.returncode == 2 and "weights.law" in out.stderr
    assert "centred_exponential" in out.stderr  # the allowed names are listed


def test_weight_law_validation():
    with pytest.raises(VerifyError, match="weights.law"):
        WeightLaw("cauchy")
    with pytest.raises(VerifyError, match="weights.std"):
        WeightLaw("gaussian", -1.0)


@given(conv_architectures(padding=True, affine=True, activations=("relu", "tanh")), seeds())
def test_npz_round_trip_gives_identical_outputs(tmp_path_factory, spec, seed):
    path = tmp_path_factory.mktemp("w") / "net.npz"
    net = draw_network(spec, rng=seed)
    save_network(net, path)
    back = load_network(path)
    assert back.spec == spec
    z = np.random.default_rng(seed).normal(size=(2, spec.latent_dim))
    assert np.array_equal(net.forward(z), back.forward(z))


def test_bad_weight_files_are_refused_by_name(tmp_path):
    spec = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(3, 2, 2), LayerSpec(1, 2, 2)))
    net = draw_network(spec, rng=0)
    good = tmp_path / "good.npz"
    save_network(net, good)
    # missing tensor
    np.savez(tmp_path / "missing.npz", spec=np.array(spec.to_toml()),
             **{"layer0.weight": net.weights[0].filters})
    with pytest.raises(VerifyError, match=r"missing tensor 'layer1.weight' \(expected shape \(3, 1, 2\)\)"):
        load_network(tmp_path / "missing.npz")
    # wrong shape
    np.savez(tmp_path / "shape.npz", spec=np.array(spec.to_toml()),
             **{"layer0.weight": np.zeros((2, 3, 3)), "layer1.weight": net.weights[1].filters})
    with pytest.raises(VerifyError, match=r"'layer0.weight' has shape \(2, 3, 3\), expected \(2, 3, 2\)"):
        load_network(tmp_path / "shape.npz")
    # non-finite
    bad = net.weights[1].filters.copy()
    bad[0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", spec=np.array(spec.to_toml()),
             **{"layer0.weight": net.weights[0].filters, "layer1.weight": bad})
    with pytest.raises(VerifyError, match="'layer1.weight'.*NaN or infinite.*expected finite values"):
        load_network(tmp_path / "nan.npz")
    # a pickle (object array) is never loaded
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(VerifyError, match="cannot be read"):
        load_network(tmp_path / "obj.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(VerifyError, match="cannot be read"):
        load_network(tmp_path / "junk.npz")


# ------------------------------------------------------------------------ masks
@given(spec=conv_architectures(max_output=2000), mask=masks(), seed=seeds())
def test_mask_adjoint_identity_and_rate(spec, mask, seed):
    rng = np.random.default_rng(seed)
    A = mask.build(spec.output_shape, rng=rng)
    x = rng.normal(size=(3, A.n))
    y = rng.normal(size=(3, A.m))
    lhs = np.sum(A.forward(x) * y, axis=1)
    rhs = np.sum(x * A.adjoint(y), axis=1)
    assert np.allclose(lhs, rhs, rtol=1e-12, atol=1e-12)
    if mask.kind != "gaussian":
        assert A.m >= 1
        if mask.kind in ("random", "first"):
            assert A.m / A.n >= mask.rate - 1e-12
        mat = A.matrix()
        assert np.array_equal(mat @ x[0], A.forward(x[0]))


@given(spec=conv_architectures(max_output=2000), mask=masks(kinds=("random", "top", "border", "centre", "left")),
       seed=seeds())
def test_subsampling_commutes_with_activations_exactly(spec, mask, seed):
    """Theorem 4's proof step: A sigma(v) = sigma(A v) for entrywise sigma, exactly."""
    from verify import activations
    rng = np.random.default_rng(seed)
    A = mask.build(spec.output_shape, rng=rng)
    v = rng.normal(size=(2, A.n))
    v[:, ::3] = 0.0  # kinks included
    for name in ("relu", "leaky_relu", "sigmoid", "tanh", "identity"):
        assert np.array_equal(A.forward(activations.apply(name, v)),
                              activations.apply(name, A.forward(v)))


def test_half_masks_observe_the_named_half():
    shape = (1, 6, 6)
    top = make_mask("top", shape, 0.5)
    assert top[0, :3].all() and not top[0, 3:].any()
    assert make_mask("bottom", shape, 0.5)[0, 3:].all()
    assert make_mask("left", shape, 0.5)[0, :, :3].all()
    assert make_mask("right", shape, 0.5)[0, :, 3:].all()
    border = make_mask("border", shape, 0.5)
    assert border[0, 0].all() and border[0, :, 0].all() and not border[0, 2:4, 2:4].any()
    centre = make_mask("centre", shape, 0.25)
    assert centre[0, 2:4, 2:4].all() and not centre[0, 0].any()
    first = make_mask("first", shape, 0.5)
    assert first.reshape(-1)[:18].all() and not first.reshape(-1)[18:].any()


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5, float("nan"), "half"])
def test_bad_rates_refused(rate):
    with pytest.raises(VerifyError, match="rate"):
        make_mask("random", (1, 4, 4), rate)


def test_bad_masks_refused():
    with pytest.raises(VerifyError, match="mask: expected one of"):
        make_mask("diagonal", (1, 4, 4))
    with pytest.raises(VerifyError, match="empty mask"):
        Subsampling(np.zeros((1, 4, 4), bool))
    with pytest.raises(VerifyError, match="shape"):
        make_mask("custom", (1, 4, 4), custom=np.ones((5, 5), bool))
    with pytest.raises(VerifyError, match="at least one observed entry per row"):
        MaskBatch(np.array([[True, False], [False, False]]))


def test_gaussian_measurement_has_variance_one_over_m():
    A = GaussianMeasurement(400, 0.5, rng=0)
    assert A.m == 200
    # 80,000 entries: the sample variance is within 5 standard errors of 1/m.
    se = (1 / A.m) * math.sqrt(2 / A.A.size)
    assert abs(A.A.var() - 1 / A.m) <= 5 * se


def test_mask_batch_matches_per_row_subsampling():
    rng = np.random.default_rng(0)
    masks_ = rng.random((3, 10)) < 0.5
    masks_[:, 0] = True
    x = rng.normal(size=(3, 10))
    B = MaskBatch(masks_)
    for i in range(3):
        S = Subsampling(masks_[i])
        assert np.sum(B.forward(x)[i] ** 2) == np.sum(S.forward(x[i]) ** 2)


# ---------------------------------------------------------------------- presets
def test_presets_of_the_contract_exist():
    names = set(presets())
    for name in ("theory-2layer", "theory-2layer-2d", "paper-fig4", "paper-fig4-sigmoid",
                 "paper-fig4-tanh", "paper-fig4-leaky", "paper-fig4-uniform01"):
        assert name in names
    assert get_preset("paper-fig4-uniform01").counterexample
    assert not get_preset("paper-fig4").counterexample
    with pytest.raises(VerifyError, match="preset: expected one of"):
        get_preset("paper-fig5")


# -------------------------------------------------------------------------- CLI
def _verify(*args):
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow  # three CLI runs in fresh interpreters
def test_cli_list_and_bad_input_exit_codes():
    out = _verify("list")
    assert out.returncode == 0 and "theory-2layer" in out.stdout
    out = _verify("check", "no-such-lemma")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "lemma: expected" in out.stderr
    out = _verify("list", "--json")
    import json
    data = json.loads(out.stdout)
    assert {"lemmas", "presets"} <= set(data)


def test_saves_are_atomic_and_leave_no_temporary_files(tmp_path, monkeypatch):
    from verify.weightfiles import load_any, save_safetensors

    spec = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(3, 2, 2, affine=True),))
    net = draw_network(spec, rng=0)
    save_network(net, tmp_path / "a.npz")
    save_safetensors(net, tmp_path / "a.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.safetensors"]
    assert np.array_equal(load_any(tmp_path / "a.safetensors").weights[0].filters,
                          net.weights[0].filters)
    old = (tmp_path / "a.npz").read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        save_network(draw_network(spec, rng=1), tmp_path / "a.npz")
    assert (tmp_path / "a.npz").read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.safetensors"]


def test_draw_network_refuses_a_spec_beyond_the_budget_before_drawing(monkeypatch):
    from verify import budget

    spec = NetworkSpec(dims=1, latent_channels=64, layers=(LayerSpec(64, 10**9, 1),))
    monkeypatch.setattr(WeightLaw, "sample", lambda *a, **k: pytest.fail("drew weights"))
    with pytest.raises(VerifyError, match=r"network\.layers\[0\]\.\w+: needs about .* budget"):
        draw_network(spec)
    try:
        budget.set_budget("1k")
        with pytest.raises(VerifyError, match="over the budget of 1 kB"):
            draw_network(get_preset("paper-fig4").spec)
    finally:
        budget.set_budget(None)


@pytest.mark.parametrize("text, fragment", [
    (b"[network]\ndims = 1\nlatent_channels = 2\n[[network.layers]]\nchannels = 3\n"
     b"kernel = 2.0\nstride = 2\n", "network.layers[0].kernel: expected an integer"),
    (b"network = 5\n", "network: expected a table"),
    (b"name = \"\xe9\"\n", "not UTF-8 text (byte 0xe9 at offset 8)"),
])
def test_config_errors_name_the_file_and_the_field_path(tmp_path, text, fragment):
    path = tmp_path / "c.toml"
    path.write_bytes(text)
    with pytest.raises(VerifyError) as err:
        Config.load(path)
    assert str(path) in str(err.value) and fragment in str(err.value)
