"""Inversion at scale: ``verify invert --config / --weights``, chunked recovery
within a memory budget, float32 recovery, and the memory model behind the chunks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from verify import budget
from verify.cli import main
from verify.errors import VerifyError
from verify.inversion import (PAD, BatchLastLoss, InvertOptions, chunk_size, invert, recover,
                              relative_errors, run_recovery, trial_bytes)
from verify.inversion import phases
from verify.inversion.memory import workspace_elements
from verify.measurements import sample_masks
from verify.presets import get_preset
from verify.spec import LayerSpec, NetworkSpec, block_spec
from verify.weights import draw_network, save_network

#: Numerics-sensitive: CI reruns these under other OpenBLAS kernels (.ci/run).
pytestmark = pytest.mark.numerics


def _invert_json(capsys, *argv) -> dict:
    code = main(["invert", *argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    data.pop("elapsed_s")
    return data


# ----------------------------------------------------------------- --config, --weights
def test_invert_config_reproduces_the_preset(tmp_path, capsys):
    """The preset's own config as a file, and its drawn weights as a file, give the
    preset's numbers exactly."""
    config = get_preset("paper-fig4")
    (tmp_path / "fig4.toml").write_text(config.to_toml())
    save_network(config.instantiate(4).network, tmp_path / "fig4.npz")
    argv = ["--trials", "10", "--iterations", "150", "--seed", "4"]
    ref = _invert_json(capsys, "--preset", "paper-fig4", *argv)
    cfg = _invert_json(capsys, "--config", str(tmp_path / "fig4.toml"), *argv)
    wts = _invert_json(capsys, "--config", str(tmp_path / "fig4.toml"), "--weights",
                       str(tmp_path / "fig4.npz"), *argv)
    assert cfg == ref
    for key in ("recovered", "median_rel_error", "iterations", "converged"):
        assert wts[key] == ref[key]
    assert wts["config"]["weights_file"].endswith("fig4.npz")
    assert ref["config"]["invert"]["dtype"] == "float64"
    assert 0 < ref["recovered"] < 10   # the comparison can tell runs apart


def test_invert_bad_input_exits_2_naming_the_flag(tmp_path, capsys):
    config = get_preset("paper-fig4")
    (tmp_path / "fig4.toml").write_text(config.to_toml())
    (tmp_path / "other.toml").write_text(config.to_toml().replace("channels = 16",
                                                                  "channels = 8"))
    save_network(config.instantiate(0).network, tmp_path / "fig4.npz")
    cases = [
        (["--preset", "paper-fig4", "--config", str(tmp_path / "fig4.toml")], "--config"),
        (["--config", str(tmp_path / "other.toml"), "--weights", str(tmp_path / "fig4.npz")],
         "weights file"),
        (["--preset", "paper-fig4-tanh", "--weights", str(tmp_path / "fig4.npz")], "--weights"),
        (["--dtype", "float16"], "--dtype"),
        (["--dtype", "int32"], "--dtype"),
        (["--dtype", "float32", "--success-tol", "1e-6"], "--success-tol"),
        (["--max-memory", "20k"], "--max-memory"),
    ]
    for argv, name in cases:
        assert main(["invert", *argv, "--trials", "3", "--iterations", "5"]) == 2, argv
        err = capsys.readouterr().err
        assert name in err and err.count("\n") == 1, (argv, err)


def test_weights_alone_invert_the_files_network(tmp_path, capsys):
    net = draw_network(block_spec(1, (3, 24, 48), (2, 2)), rng=0)
    save_network(net, tmp_path / "mine.npz")
    out = _invert_json(capsys, "--weights", str(tmp_path / "mine.npz"), "--mask", "random",
                       "--rate", "0.6", "--trials", "4", "--iterations", "50")
    assert out["config"]["name"] == "mine"
    assert out["config"]["network"] == net.spec.to_dict()


# ----------------------------------------------------------------- chunks
def _leaky_padded():
    """2-D, padding, leaky ReLU then tanh: the general path's every buffer kind."""
    spec = NetworkSpec(dims=2, latent_channels=3, layers=(
        LayerSpec(6, 4, 1, 0, "leaky_relu"), LayerSpec(4, 4, 2, 1, "relu"),
        LayerSpec(2, 4, 2, 1, "tanh")))
    return draw_network(spec, rng=3)


def _all_phased(monkeypatch):
    """Every layer whose kernel is a multiple of its stride takes the phase path
    (verify.inversion.phases), however small."""
    monkeypatch.setattr(phases, "MIN_SIDE", 1)
    monkeypatch.setattr(phases, "MIN_CHANNELS", 1)


@pytest.mark.parametrize("name, kw", [
    ("paper-fig4", dict(method="adam", negation="restart")),     # the arc tables
    ("paper-fig4", dict(method="gd", negation=None)),
    ("leaky-padded", dict(method="adam", negation="flip")),
    pytest.param("leaky-padded", dict(method="gd", negation="restart"), marks=pytest.mark.slow),
    pytest.param("leaky-padded-phases", dict(method="adam", negation="flip"),
                 marks=pytest.mark.slow),
])
def test_chunked_recovery_is_bit_for_bit_the_unchunked(name, kw, monkeypatch):
    """Same trials, noise and starts: every chunk size gives the same bits in float64
    (every product's width is a multiple of PAD, so no trial meets a BLAS edge kernel
    that another chunking would not)."""
    if name.endswith("-phases"):
        _all_phased(monkeypatch)
    net = get_preset(name).instantiate(0).network if not name.startswith("leaky-padded") \
        else _leaky_padded()
    if name.endswith("-phases"):
        assert any(BatchLastLoss(net).plans)
    rng = np.random.default_rng(7)
    b = 19
    z_star = rng.normal(size=(b, net.spec.latent_dim))
    masks = sample_masks("random", net.spec.output_shape, 0.5, b, rng=rng)
    ref = recover(net, z_star, masks, noise=0.01, rng=5, iterations=40, **kw)
    assert ref.result.settings["dtype"] == "float64"
    for chunk in (3, PAD, 13):
        r = recover(net, z_star, masks, noise=0.01, rng=5, iterations=40, chunk=chunk, **kw)
        assert r.result.settings["chunk"] == chunk
        for key in ("z_hat", "loss", "iterations", "converged", "flips"):
            assert np.array_equal(getattr(r.result, key), getattr(ref.result, key)), (chunk, key)
    # and invert's own chunks, on measurements given
    y = np.where(masks, net.forward(z_star), 0.0)
    one = invert(net, y, masks, rng=2, iterations=30, **kw)
    assert np.array_equal(invert(net, y, masks, rng=2, iterations=30, chunk=5, **kw).z_hat,
                          one.z_hat)


def test_run_recovery_chunks_from_the_budget_with_the_same_answers():
    opts = InvertOptions(trials=24, iterations=50, method="gd")
    spec = get_preset("paper-fig4").spec
    ref = run_recovery("paper-fig4", opts, 3, chunk=24)
    limit = 3 * 24 * spec.output_dim + 5 * trial_bytes(spec) + 10 ** 5
    assert chunk_size(spec, 24, limit=limit) < 24
    with budget.scoped(limit):
        small = run_recovery("paper-fig4", opts, 3)
    assert small.stats.result.settings["chunk"] < 24
    assert np.array_equal(small.stats.result.z_hat, ref.stats.result.z_hat)


# ----------------------------------------------------------------- float32
def test_float32_recovery_agrees_with_float64_to_float32_tolerance():
    """An expansive network, 60% observed: float64 recovers to ~1e-9; float32 reaches
    the same answers to float32 accuracy, with the same verdicts."""
    net = draw_network(block_spec(1, (4, 32, 64), (2, 2)), rng=1)
    rng = np.random.default_rng(2)
    z_star = rng.normal(size=(16, net.spec.latent_dim))
    masks = sample_masks("random", net.spec.output_shape, 0.6, 16, rng=rng)
    kw = dict(method="gd", negation="restart", iterations=400, rng=4)
    r64 = recover(net, z_star, masks, **kw)
    r32 = recover(net, z_star, masks, dtype="float32", **kw)
    assert r32.result.settings["dtype"] == "float32" and r32.result.z_hat.dtype == np.float64
    assert r64.recovered >= 14 and np.array_equal(r32.success, r64.success)
    ok = r64.success
    gap = relative_errors(r32.result.z_hat[ok], r64.result.z_hat[ok])
    assert np.max(gap) <= 1e-4                           # float32 accuracy ...
    assert np.max(r32.rel_error[ok]) > 1e2 * np.max(r64.rel_error[ok])  # ... not float64's


def test_float32_loss_matches_float64_loss_to_float32_rounding():
    net = _leaky_padded()
    rng = np.random.default_rng(0)
    z = rng.normal(size=(net.spec.latent_dim, 8))
    y = rng.normal(size=(net.spec.output_dim, 8))
    w = (rng.random(y.shape) < 0.5).astype(float)
    v64, g64 = BatchLastLoss(net).value_and_grad(z, y, w)
    v32, g32 = BatchLastLoss(net, "float32").value_and_grad(
        *(a.astype(np.float32) for a in (z, y, w)))
    assert g32.dtype == np.float32
    assert np.allclose(v32, v64, rtol=1e-5)
    assert np.max(np.abs(g32 - g64)) <= 1e-5 * np.max(np.abs(g64))


def test_dtype_is_validated_and_left_out_of_default_options():
    with pytest.raises(VerifyError, match="^--dtype:"):
        InvertOptions(dtype="float16", where="--")
    with pytest.raises(VerifyError, match="^sweep.invert.success_tol:"):
        InvertOptions(dtype="float32", success_tol=1e-6, where="sweep.invert.")
    # a sweep's plan hash and task ids do not change for files that do not set dtype
    assert "dtype" not in InvertOptions().to_dict()
    assert InvertOptions(dtype="float32").to_dict()["dtype"] == "float32"


# ----------------------------------------------------------------- memory model
@pytest.mark.parametrize("spec", [
    get_preset("paper-fig4-tanh").spec, get_preset("theory-2layer-2d").spec,
    NetworkSpec(dims=2, latent_channels=3, layers=(
        LayerSpec(6, 4, 1, 0, "leaky_relu"), LayerSpec(4, 4, 2, 1, "relu", affine=True),
        LayerSpec(2, 4, 2, 1, "identity"))),
    NetworkSpec(dims=2, latent_channels=2, layers=(
        LayerSpec(8, 4, 1, 0, "relu"), LayerSpec(6, 4, 2, 1, "relu"),
        LayerSpec(5, 4, 2, 1, "relu"), LayerSpec(1, 4, 2, 1, "tanh")))])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("phased", [False, True])
def test_workspace_estimate_is_the_loss_buffers(spec, dtype, phased, monkeypatch):
    if phased:
        _all_phased(monkeypatch)
    net = draw_network(spec, rng=0)
    assert any(BatchLastLoss(net).plans) == (phased and spec.dims == 2 and spec.depth >= 3)
    loss = BatchLastLoss(net, dtype)
    b = 16
    z = np.ones((spec.latent_dim, b), dtype)
    y = np.zeros((spec.output_dim, b), dtype)
    loss.value_and_grad(z, y, y)
    floats, bools = workspace_elements(spec)
    assert loss.ws.nbytes == b * (floats * np.dtype(dtype).itemsize + bools)
    assert trial_bytes(spec, dtype) > loss.ws.nbytes / b


# ----------------------------------------------------------------- the phase path
@pytest.mark.parametrize("layers, dims", [
    ((LayerSpec(6, 4, 1, 0, "leaky_relu"), LayerSpec(5, 4, 2, 1, "relu"),
      LayerSpec(2, 4, 2, 1, "tanh")), 2),                        # DCGAN's k4 s2 p1
    ((LayerSpec(4, 3, 1, 0, "relu"), LayerSpec(3, 6, 2, 2, "relu", affine=True),
      LayerSpec(2, 6, 3, 1, "identity")), 2),                    # m = 3, m = 2 with s = 3
    ((LayerSpec(4, 2, 1, 0, "relu"), LayerSpec(3, 4, 2, 0, "sigmoid"),
      LayerSpec(2, 4, 1, 3, "leaky_relu")), 2),                  # no padding; s = 1
    ((LayerSpec(5, 4, 1, 0, "relu"), LayerSpec(3, 4, 2, 1, "relu"),
      LayerSpec(2, 6, 2, 1, "identity")), 1),                    # 1-D
])
def test_phase_path_is_the_column_path_to_rounding(layers, dims, monkeypatch):
    """Sub-pixel phases (verify.inversion.phases) give the column path's J and grad J
    to rounding, on every padding, stride and activation, 1-D and 2-D; and the layers
    below the thresholds keep the column path."""
    spec = NetworkSpec(dims=dims, latent_channels=3, layers=layers)
    net = draw_network(spec, rng=4)
    assert not any(BatchLastLoss(net).plans)              # all below the thresholds
    _all_phased(monkeypatch)
    cols = BatchLastLoss(net, phase_path=False)           # the bench's baseline
    assert not any(cols.plans)
    phased = BatchLastLoss(net)
    assert sum(pl is not None for pl in phased.plans) >= 2
    rng = np.random.default_rng(1)
    b = 8
    z = rng.normal(size=(spec.latent_dim, b))
    w = (rng.random((spec.output_dim, b)) < 0.6).astype(float)
    y = w * rng.normal(size=(spec.output_dim, b))
    assert np.allclose(phased.forward(z), cols.forward(z), rtol=0, atol=1e-12)
    v1, g1 = phased.value_and_grad(z, y, w)
    g1 = g1.copy()
    v2, g2 = cols.value_and_grad(z, y, w)
    assert np.allclose(v1, v2, rtol=1e-12, atol=0)
    assert np.max(np.abs(g1 - g2)) <= 1e-12 * np.max(np.abs(g2))


def test_phase_path_is_taken_on_wide_layers_only():
    from verify.benchmarks.torch_peer import dcgan_like

    for size, taken in ((32, [False] * 4), (64, [False, False, False, True, False])):
        loss = BatchLastLoss(draw_network(dcgan_like(size), rng=0), "float32")
        assert [pl is not None for pl in loss.plans] == taken


def test_chunk_size_refuses_a_budget_below_one_trial():
    spec = get_preset("paper-fig4").spec
    per = trial_bytes(spec)
    assert chunk_size(spec, 10, limit=10 ** 9) == 10
    with pytest.raises(VerifyError, match="^--max-memory:"):
        chunk_size(spec, 10, limit=per // 2)
    with pytest.raises(VerifyError, match="^--trials:"):
        chunk_size(spec, 10 ** 8, limit=10 ** 8)


# ----------------------------------------------------------------- PyTorch stays optional
@pytest.mark.slow  # a recovery in another interpreter
def test_engine_and_recovery_never_import_torch():
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from verify.inversion import run_recovery, InvertOptions\n"
            "import verify.bench\n"
            "run_recovery('paper-fig4', InvertOptions(trials=2, iterations=3), 0)\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_torch_cases_report_skipped_with_the_reason_without_torch(monkeypatch):
    from verify.bench import BenchContext
    from verify.benchmarks import torch_peer

    monkeypatch.setattr(torch_peer, "_torch", lambda: (None, "PyTorch cannot be imported"))
    row = torch_peer.dcgan32_vs_torch_f32(BenchContext(quick=True, gemm_gflops=1.0))
    assert row.met is None and row.notes.startswith("skipped: PyTorch cannot be imported")
    assert row.target


def test_steady_state_is_the_slope_and_refuses_noise():
    """Per trial-iteration is the slope of time against iterations; the intercept is a
    call's fixed cost. Two runs whose times do not rise by a tenth of the longer one
    (noise larger than what is measured) give None, and the case falls back to whole runs."""
    from verify.benchmarks.torch_peer import steady_state

    per, fixed = steady_state(10, 30, 0.5 + 10 * 0.2, 0.5 + 30 * 0.2)
    assert math.isclose(per, 0.2) and math.isclose(fixed, 0.5)
    assert steady_state(10, 30, 2.0, 2.1) is None      # 5% rise: noise
    assert steady_state(10, 30, 2.5, 2.0) is None      # falls: noise
    assert steady_state(30, 10, 1.0, 3.0) is None      # not two lengths in order


# ----------------------------------------------------------------- memory against PyTorch
@pytest.mark.slow  # measures two child processes
def test_bench_memory_is_measured_and_the_ratio_comes_from_both(monkeypatch):
    """Ours is measured for real (two child processes on a small DCGAN-like network);
    the PyTorch side is stood in for, so the test needs no torch: the row's ratio is
    ours / baseline of the two figures, and the target is 2x."""
    from verify.bench import ratio_row
    from verify.benchmarks import peakmem, torch_peer

    real = peakmem.per_trial_bytes

    def fake(side, size, dtype, trials, *, threads=1):
        if side == "torch":
            return 123456.0, (10 ** 8, 10 ** 8 + 123456 * (trials[1] - trials[0])), "stand-in"
        return real(side, size, dtype, trials, threads=threads)

    monkeypatch.setattr(peakmem, "per_trial_bytes", fake)
    row = torch_peer.with_measured_memory(ratio_row("case", 1.0, "b", 1.0, target_ratio=1.0),
                                          16, "float32", (4, 36))
    assert row.ours_bytes_per_trial > 0
    assert row.baseline_bytes_per_trial == 123456.0
    assert row.memory_ratio == row.ours_bytes_per_trial / 123456.0
    assert row.memory_target == "memory_ratio <= 2" and row.memory_met == (row.memory_ratio <= 2)
    assert "peak memory per trial" in row.notes and row.met is True
    data = row.to_json()
    assert data["memory_ratio"] == row.memory_ratio


def test_torch_peer_runs_on_the_requested_thread_count():
    """The PyTorch side runs on the thread count it is given (the policy's, like ours),
    not on PyTorch's default, and the default is restored afterwards."""
    torch = pytest.importorskip("torch")
    from verify.benchmarks import torch_peer

    net = draw_network(torch_peer.dcgan_like(8), rng=0)
    masks, _z, init, y = torch_peer._problem(net, 2)
    seen = []
    before = torch.get_num_threads()
    real = torch.optim.Adam.step

    def step(self, *a, **k):
        seen.append(torch.get_num_threads())
        return real(self, *a, **k)

    try:
        torch.optim.Adam.step = step
        torch_peer._torch_adam(torch, net, y, masks, init, 2, "float32", threads=1)
    finally:
        torch.optim.Adam.step = real
    assert seen == [1, 1] and torch.get_num_threads() == before
