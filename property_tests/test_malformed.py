"""Any machine, any input: malformed input gives exit 2 and one line on stderr
naming the file or field and what is allowed; no traceback, no hang, no out-of-memory
kill, nothing written.

Every case runs the real command line in-process (``verify.cli.main``). An exception
other than ``VerifyError`` escaping ``main`` fails the test with its traceback; argparse's
own errors arrive as ``SystemExit(2)``. The corpus holds hand-made cases per class
(weight files, TOML files, sizes, output paths, flags); Hypothesis adds random bytes,
mutated valid files, random TOML documents and random field values.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify import LayerSpec, NetworkSpec, VerifyError, budget, draw_network, save_network
from verify.weightfiles import save_safetensors
from verify.cli import main

#: On the command line a warning is a second stderr line: here it is an error.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SPEC = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(3, 2, 2), LayerSpec(4, 2, 2)))
AFFINE = NetworkSpec(dims=1, latent_channels=2, layers=(LayerSpec(3, 2, 2, affine=True),
                                                        LayerSpec(4, 2, 2)))
NET = draw_network(SPEC, rng=0)
W0, W1 = NET.weights[0].filters, NET.weights[1].filters
#: Hypothesis cases here run the CLI in a temporary folder shared across examples; 12
#: examples each (a few seconds in all) unless a larger profile is loaded (thorough).
FUZZ = settings(max_examples=max(12, settings.default.max_examples if
                                 settings.default.max_examples > 25 else 12),
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                        HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    """Run in an empty folder with the default budget, restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VERIFY_MAX_MEMORY", raising=False)
    budget.set_budget(None)
    yield
    budget.set_budget(None)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's errors (one_line_errors: one line, exit 2)
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def refused(capsys, argv, *fragments, root: Path | None = None) -> str:
    """Assert exit 2, exactly one stderr line holding every fragment, nothing written."""
    root = root if root is not None else Path.cwd()
    before = _files(root)
    rc, _, err = run_cli(capsys, argv)
    lines = err.splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert _files(root) == before, "a refused command wrote a file"
    return lines[0]


def exit_0_or_refused(capsys, argv) -> str:
    """For random input that may happen to be valid: exit 0, or exit 2 with one line."""
    before = _files(Path.cwd())
    rc, _, err = run_cli(capsys, argv)
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        assert len(err.splitlines()) == 1, err
        assert _files(Path.cwd()) == before
        return err
    return ""


# ----------------------------------------------------------------- file makers
def npz_bytes(compress: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    return buf.getvalue()


def good_npz(**override) -> bytes:
    arrays = {"spec": np.array(SPEC.to_toml()), "layer0.weight": W0, "layer1.weight": W1}
    arrays.update(override)
    return npz_bytes(**{k: v for k, v in arrays.items() if v is not None})


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def corrupt_crc() -> bytes:
    raw = bytearray(good_npz())
    # the last float of layer0.weight's data: stored uncompressed, so only the CRC sees it
    at = raw.index(W0.tobytes()) + W0.nbytes - 1
    raw[at] ^= 0xFF
    return bytes(raw)


def corrupt_deflate() -> bytes:
    raw = bytearray(npz_bytes(True, spec=np.array(SPEC.to_toml()), **{
        "layer0.weight": W0, "layer1.weight": W1}))
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo("layer1.weight.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(start + 5, start + 25):
        raw[k] ^= 0x5A
    return bytes(raw)


def safetensors_bytes(meta: dict[str, str] | None = None, spec=AFFINE, **tensors) -> bytes:
    from safetensors.numpy import save

    base = {"0.weight": np.ones((2, 3, 2)), "1.weight": np.ones(3), "1.bias": np.zeros(3),
            "1.running_mean": np.zeros(3), "1.running_var": np.ones(3),
            "3.weight": np.ones((3, 4, 2))}
    base.update(tensors)
    metadata = {"verify.spec": spec.to_toml()} if spec is not None else {}
    metadata.update(meta or {})
    return save({k: np.ascontiguousarray(v) for k, v in base.items() if v is not None},
                metadata=metadata)


def huge_spec_toml(**network) -> str:
    return tomli_w.dumps({"network": network})


WEIGHT_FILES = [
    # (file name, bytes, fragments the message names)
    ("empty.npz", b"", ["empty.npz", "empty"]),
    ("bare-npy.npz", npy_bytes(np.zeros(3)), ["bare-npy.npz", ".npy"]),
    ("text.npz", b"hello, weights", ["text.npz", ".npz"]),
    ("truncated.npz", good_npz()[:300], ["truncated.npz", "cannot be read as .npz"]),
    ("crc.npz", corrupt_crc(), ["crc.npz", "layer0.weight", "CRC"]),
    ("deflate.npz", corrupt_deflate(), ["deflate.npz", "layer1.weight"]),
    ("object.npz", good_npz(**{"layer0.weight": np.empty((2, 3, 2), object)}),
     ["object.npz", "'layer0.weight'", "object", "float"]),
    ("string.npz", good_npz(**{"layer1.weight": np.full((3, 4, 2), "w")}),
     ["'layer1.weight'", "text", "float"]),
    ("complex.npz", good_npz(**{"layer0.weight": W0 + 1j}), ["'layer0.weight'", "complex"]),
    ("bool.npz", good_npz(**{"layer0.weight": W0 > 0}), ["'layer0.weight'", "bool"]),
    ("datetime.npz", good_npz(**{"layer0.weight": np.zeros((2, 3, 2), "datetime64[s]")}),
     ["'layer0.weight'", "dates"]),
    ("nan.npz", good_npz(**{"layer1.weight": np.where(W1 > 0, np.nan, W1)}),
     ["'layer1.weight'", "NaN or infinite"]),
    ("huge-value.npz", good_npz(**{"layer1.weight": W1 * 1e200}),
     ["'layer1.weight'", "magnitude", "1e+150"]),
    ("shape.npz", good_npz(**{"layer0.weight": np.zeros((2, 3, 3))}),
     ["'layer0.weight'", "(2, 3, 3)", "(2, 3, 2)"]),
    ("missing.npz", good_npz(**{"layer1.weight": None}), ["missing tensor 'layer1.weight'"]),
    ("extra.npz", good_npz(**{"layer9.weight": np.zeros(2)}), ["unexpected entry 'layer9.weight'"]),
    ("scale-not-affine.npz", good_npz(**{"layer1.scale": np.ones(4), "layer1.bias": np.zeros(4)}),
     ["scale-not-affine.npz", "affine"]),
    ("inf-scale.npz", npz_bytes(spec=np.array(AFFINE.to_toml()), **{
        "layer0.weight": W0, "layer0.scale": np.array([1.0, np.inf, 1.0]),
        "layer0.bias": np.zeros(3), "layer1.weight": W1}), ["'layer0.scale'", "NaN or infinite"]),
    ("readme.npz", zip_bytes({"readme.txt": b"hi"}), ["'readme.txt'", "not a .npy"]),
    ("spec-int.npz", good_npz(spec=np.array(5)), ["entry 'spec'", "TOML text"]),
    ("spec-syntax.npz", good_npz(spec=np.array("network = [")), ["entry 'spec'", "not valid TOML"]),
    ("spec-number.npz", good_npz(spec=np.array("network = 5")), ["entry 'spec'", "network:",
                                                                "table"]),
    ("spec-kernel-text.npz", good_npz(spec=np.array(SPEC.to_toml().replace(
        "kernel = 2", 'kernel = "2"', 1))), ["network.layers[0].kernel", "integer"]),
    ("no-spec.npz", good_npz(spec=None), ["no 'spec' entry", "--arch"]),
    ("huge-kernel.npz", good_npz(spec=np.array(huge_spec_toml(
        dims=2, latent_channels=4, layers=[{"channels": 8, "kernel": 10**9, "stride": 1}]))),
     ["huge-kernel.npz", "network.layers[0]"]),
    ("npz.safetensors", good_npz(), ["npz.safetensors", "zip archive", ".safetensors"]),
    ("safetensors.npz", safetensors_bytes(), ["safetensors.npz", "safetensors file", ".npz"]),
    ("empty.safetensors", b"", ["empty.safetensors", "empty"]),
    ("junk.safetensors", b"\x00" * 64, ["junk.safetensors", "unknown format"]),
    ("truncated.safetensors", safetensors_bytes()[:-20], ["truncated.safetensors",
                                                          "cannot be read as safetensors"]),
    ("eps-text.safetensors", safetensors_bytes({"bn_eps": "small"}), ["'bn_eps'", "'small'",
                                                                      "finite number >= 0"]),
    ("eps-inf.safetensors", safetensors_bytes({"bn_eps": "inf"}), ["'bn_eps'", "'inf'"]),
    ("eps-nan.safetensors", safetensors_bytes({"bn_eps": "nan"}), ["'bn_eps'", "'nan'"]),
    ("eps-negative.safetensors", safetensors_bytes({"bn_eps": "-1e-5"}), ["'bn_eps'"]),
    ("var-negative.safetensors", safetensors_bytes(**{"1.running_var": -np.ones(3)}),
     ["'1.running_var'", "negative"]),
    ("var-zero.safetensors", safetensors_bytes({"bn_eps": "0"}, **{
        "1.running_var": np.zeros(3)}), ["'1.running_var'", "bn_eps"]),
    ("gamma-inf.safetensors", safetensors_bytes(**{"1.weight": np.full(3, np.inf)}),
     ["'1.weight'", "NaN or infinite"]),
    ("bool.safetensors", safetensors_bytes(**{"0.weight": np.ones((2, 3, 2), bool)}),
     ["'0.weight'", "bool"]),
    ("shape.safetensors", safetensors_bytes(**{"3.weight": np.ones((3, 4, 3))}),
     ["'3.weight'", "(3, 4, 2)"]),
    ("stray.safetensors", safetensors_bytes(**{"7.alpha": np.ones(3)}),
     ["'7.alpha'", "module 7"]),
    ("naming.safetensors", safetensors_bytes(**{"weight": np.ones(3)}),
     ["'weight'", "naming"]),
    ("long-index.safetensors", safetensors_bytes(**{"1" * 5000 + ".bias": np.ones(3)}),
     ["naming"]),
    ("spec-meta.safetensors", safetensors_bytes({"verify.spec": "network = 5"}),
     ["metadata 'verify.spec'", "table"]),
    ("no-spec.safetensors", safetensors_bytes(spec=None), ["--arch"]),
    ("bn-not-affine.safetensors", safetensors_bytes(spec=NetworkSpec(
        dims=1, latent_channels=2, layers=(LayerSpec(3, 2, 2), LayerSpec(4, 2, 2)))),
     ["network.layers[0].affine", "batch-norm"]),
    ("pickle.pt", b"\x80\x04\x95" + b"\x00" * 20, ["pickle.pt", "pickle"]),
    ("torch-zip.pt", zip_bytes({"archive/data.pkl": b"\x80\x02."}), ["pickle"]),
]


@pytest.mark.parametrize("name, data, fragments", WEIGHT_FILES, ids=[c[0] for c in WEIGHT_FILES])
def test_malformed_weight_file_is_refused_by_name(capsys, tmp_path, name, data, fragments):
    (tmp_path / name).write_bytes(data)
    refused(capsys, ["audit", name, "--json"], "verify audit: error:", *fragments)


def test_a_valid_file_passes_the_same_path(capsys, tmp_path):
    """The corpus' base files are valid: every refusal above is the mutation's doing."""
    (tmp_path / "good.npz").write_bytes(good_npz())
    (tmp_path / "good.safetensors").write_bytes(safetensors_bytes())
    (tmp_path / "int.npz").write_bytes(good_npz(**{"layer0.weight": np.ones((2, 3, 2), int)}))
    for name in ("good.npz", "good.safetensors", "int.npz"):
        rc, out, err = run_cli(capsys, ["audit", name, "--json"])
        assert rc == 0 and err == "" and '"assumption"' in out


def test_weights_flag_of_invert_uses_the_same_checks(capsys, tmp_path):
    (tmp_path / "w.npz").write_bytes(good_npz(**{"layer0.weight": W0.astype(complex)}))
    refused(capsys, ["invert", "--weights", "w.npz", "--trials", "1"], "w.npz",
            "'layer0.weight'", "complex")


def test_weight_file_that_is_a_folder_or_missing(capsys, tmp_path):
    (tmp_path / "dir.npz").mkdir()
    refused(capsys, ["audit", "dir.npz"], "dir.npz", "folder")
    refused(capsys, ["audit", "nothing.npz"], "nothing.npz", "not found")
    refused(capsys, ["audit", "/dev/null"], "/dev/null", "not a regular file")


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["w.npz", "w.safetensors", "w.bin2"]))
def test_random_bytes_as_a_weight_file(capsys, tmp_path, data, name):
    (tmp_path / name).write_bytes(data)
    refused(capsys, ["audit", name], name)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_behind_a_zip_header(capsys, tmp_path, data):
    (tmp_path / "z.npz").write_bytes(b"PK\x03\x04" + data)
    refused(capsys, ["audit", "z.npz"], "z.npz")


@FUZZ
@given(st.data())
def test_mutated_valid_files_never_give_a_traceback(capsys, tmp_path, data):
    kind = data.draw(st.sampled_from(["npz", "compressed.npz", "safetensors"]))
    raw = {"npz": good_npz(), "safetensors": safetensors_bytes(),
           "compressed.npz": npz_bytes(True, spec=np.array(SPEC.to_toml()),
                                       **{"layer0.weight": W0, "layer1.weight": W1})}[kind]
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    (tmp_path / f"m.{kind}").write_bytes(bytes(raw))
    err = exit_0_or_refused(capsys, ["audit", f"m.{kind}", "--json"])
    assert not err or f"m.{kind}" in err


# ------------------------------------------------------------------- TOML files
BASE_CONFIG = {
    "name": "tiny", "description": "a tiny network", "counterexample": False,
    "network": {"dims": 1, "latent_channels": 2, "latent_size": 1,
                "layers": [{"channels": 3, "kernel": 2, "stride": 2},
                           {"channels": 4, "kernel": 2, "stride": 2}]},
    "weights": {"law": "gaussian"}, "mask": {"kind": "random", "rate": 0.5},
}


def _with(path: str, value):
    """BASE_CONFIG with the field at ``path`` (``network.layers[1].kernel``) replaced."""
    import copy
    import re

    doc = copy.deepcopy(BASE_CONFIG)
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
    node = doc
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return doc


TOML_TEXT = [
    ("not-utf8.toml", b"name = \"\xff\xfe\"\n", ["not-utf8.toml", "not UTF-8", "0xff"]),
    ("latin1.toml", "description = 'café'".encode("latin-1"), ["not UTF-8"]),
    ("syntax.toml", b"[network\n", ["syntax.toml", "not valid TOML"]),
    ("digits.toml", b"a = 1" + b"0" * 5000, ["digits.toml", "not valid TOML"]),
    ("nested.toml", b"a = " + b"[" * 20000 + b"]" * 20000, ["nested.toml", "not valid TOML"]),
    ("empty.toml", b"", ["network", "missing"]),
    ("nul.toml", b"name = \"a\x00b\"", ["nul.toml", "not valid TOML"]),
]
CONFIG_FIELDS = [
    # (field path, wrong value, fragment besides the path)
    ("network", 5, "table"), ("network", "net", "table"), ("network", [1, 2], "table"),
    ("mask", 5, "table"), ("mask", "random", "table"), ("weights", 1.5, "table"),
    ("name", 5, "string"), ("name", "", "non-empty"), ("description", [1], "string"),
    ("description", {"a": 1}, "string"), ("counterexample", "yes", "true or false"),
    ("counterexample", 1, "true or false"),
    ("network.dims", 3, "1 or 2"), ("network.dims", 2.0, "1 or 2"), ("network.dims", True, "1 or 2"),
    ("network.latent_channels", "2", "integer"), ("network.latent_channels", 0, "integer"),
    ("network.latent_channels", True, "integer"), ("network.latent_size", 1.0, "integer"),
    ("network.latent_size", 2**40, "at most"),
    ("network.layers", 5, "array of tables"), ("network.layers", [], "at least one layer"),
    ("network.layers", [1, 2], "table"), ("network.layers[1]", "conv", "table"),
    ("network.layers[1].kernel", "2", "integer"), ("network.layers[1].kernel", 2.0, "integer"),
    ("network.layers[1].kernel", False, "integer"), ("network.layers[1].kernel", [2], "integer"),
    ("network.layers[0].channels", -3, "integer"), ("network.layers[0].stride", 3, "stride <= kernel"),
    ("network.layers[0].padding", 5, "padding"), ("network.layers[0].padding", 1.5, "integer"),
    ("network.layers[0].activation", "softplus", "relu"),
    ("network.layers[0].activation", 3, "relu"), ("network.layers[0].slope", "0.1", "[0, 1)"),
    ("network.layers[0].slope", float("nan"), "[0, 1)"), ("network.layers[0].affine", "no", "true"),
    ("network.layers[0].dilation", 2, "unknown key"), ("network.depth", 2, "unknown key"),
    ("weights.law", "cauchy", "gaussian"), ("weights.law", 3, "gaussian"),
    ("weights.std", True, "finite number > 0"), ("weights.std", float("inf"), "finite"),
    ("weights.std", "1", "finite"), ("weights.mean", 0, "unknown key"),
    ("mask.kind", 3, "string"), ("mask.kind", "diagonal", "one of"),
    ("mask.rate", "0.5", "sampling rate"), ("mask.rate", float("nan"), "sampling rate"),
    ("mask.rate", 0, "sampling rate"), ("mask.seed", 1, "unknown key"),
    ("extra", 1, "unknown key"),
]


@pytest.mark.parametrize("name, data, fragments", TOML_TEXT, ids=[c[0] for c in TOML_TEXT])
def test_malformed_toml_text_is_refused(capsys, tmp_path, name, data, fragments):
    (tmp_path / name).write_bytes(data)
    refused(capsys, ["invert", "--config", name, "--trials", "1"], *fragments)
    # the same reader behind audit --arch
    (tmp_path / "g.npz").write_bytes(good_npz())
    refused(capsys, ["audit", "g.npz", "--arch", name], name)


@pytest.mark.parametrize("path, value, fragment", CONFIG_FIELDS,
                         ids=[f"{p}={v!r}" for p, v, _ in CONFIG_FIELDS])
def test_wrong_config_field_names_its_path(capsys, tmp_path, path, value, fragment):
    (tmp_path / "c.toml").write_text(tomli_w.dumps(_with(path, value)), encoding="utf-8")
    line = refused(capsys, ["invert", "--config", "c.toml", "--trials", "1"], "c.toml", fragment)
    # the path as written in TOML (network.layers[1].kernel), or its last key for unknown keys
    assert path in line or path.rsplit(".", 1)[-1] in line, line


def test_base_config_is_valid(capsys, tmp_path):
    (tmp_path / "c.toml").write_text(tomli_w.dumps(BASE_CONFIG), encoding="utf-8")
    rc, out, err = run_cli(capsys, ["invert", "--config", "c.toml", "--trials", "2",
                                    "--iterations", "3", "--json"])
    assert rc == 0 and '"trials": 2' in out


def test_config_that_is_not_a_file(capsys, tmp_path):
    (tmp_path / "d.toml").mkdir()
    refused(capsys, ["invert", "--config", "d.toml"], "d.toml", "folder")
    refused(capsys, ["invert", "--config", "none.toml"], "none.toml", "cannot be read")
    refused(capsys, ["invert", "--config", "/dev/zero"], "/dev/zero", "not a regular file")
    with open(tmp_path / "big.toml", "wb") as fh:
        fh.truncate(17 * 2**20)  # sparse: a 17 MiB file of NUL bytes
    refused(capsys, ["invert", "--config", "big.toml"], "big.toml", "larger than 16 MiB")


TOML_VALUES = st.recursive(
    st.booleans() | st.integers(-2**63, 2**63 - 1)
    | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6)
FIELD_PATHS = sorted({p for p, _, _ in CONFIG_FIELDS if p not in ("extra",)})


@FUZZ
@given(st.sampled_from(FIELD_PATHS), TOML_VALUES)
def test_random_value_in_any_field(capsys, tmp_path, path, value):
    (tmp_path / "c.toml").write_text(tomli_w.dumps(_with(path, value)), encoding="utf-8")
    budget.set_budget("50M")
    err = exit_0_or_refused(capsys, ["invert", "--config", "c.toml", "--trials", "1",
                                     "--iterations", "2"])
    if err:
        top = path.split(".")[0].split("[")[0]
        assert ("c.toml" in err and top in err) or ": error: --" in err, err


@pytest.mark.slow  # Hypothesis examples, each a CLI run (test_random_value_in_any_field stays fast)
@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(BASE_CONFIG) + ["layers", "x"]), TOML_VALUES,
                       max_size=5))
def test_random_toml_document(capsys, tmp_path, doc):
    (tmp_path / "r.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    err = exit_0_or_refused(capsys, ["invert", "--config", "r.toml", "--trials", "1",
                                     "--iterations", "2"])
    assert err and "r.toml" in err  # a random document never holds a whole valid network


# ---------------------------------------------------------------- size classes
SIZE_CLASSES = [
    ("latent-1e6", dict(dims=2, latent_channels=4, latent_size=10**6,
                        layers=[{"channels": 8, "kernel": 2, "stride": 2}]), "network."),
    ("12-layers-stride-4", dict(dims=2, latent_channels=4, layers=[
        {"channels": 8, "kernel": 4, "stride": 4}] * 12), "network.layers["),
    ("kernel-1e9", dict(dims=2, latent_channels=4, layers=[
        {"channels": 8, "kernel": 10**9, "stride": 1}]), "network.layers[0]"),
    ("kernel-1e9-1d", dict(dims=1, latent_channels=64, layers=[
        {"channels": 64, "kernel": 10**9, "stride": 1}]), "network.layers[0]"),
    ("channels-2e9", dict(dims=1, latent_channels=2**31 - 1, layers=[
        {"channels": 2**31 - 1, "kernel": 1, "stride": 1}]), "network."),
    ("overflow-int64", dict(dims=2, latent_channels=2, layers=[
        {"channels": 8, "kernel": 2**31 - 1, "stride": 2**31 - 1}] * 12), "network.layers["),
]


@pytest.mark.parametrize("name, network, fragment", SIZE_CLASSES, ids=[c[0] for c in SIZE_CLASSES])
def test_sizes_beyond_the_machine_are_refused_before_allocating(capsys, tmp_path, monkeypatch,
                                                                name, network, fragment):
    def no_work(*a, **k):
        raise AssertionError("work started on a network beyond the budget")

    monkeypatch.setattr("verify.weights.WeightLaw.sample", no_work)
    monkeypatch.setattr("verify.cli.invert.run_recovery", no_work)
    (tmp_path / "c.toml").write_text(tomli_w.dumps({"network": network}), encoding="utf-8")
    line = refused(capsys, ["invert", "--config", "c.toml", "--trials", "1"], fragment)
    assert "needs about" in line or "more than an array can index" in line
    # the engine's own guard, for commands that draw networks themselves
    spec = NetworkSpec.from_dict(network) if "more than" not in line else None
    if spec is not None:
        with pytest.raises(VerifyError, match=r"network\.") as err:
            draw_network(spec)
        assert "needs about" in str(err.value)


def test_a_billion_trials_are_refused_before_anything_runs(capsys, monkeypatch):
    # refused from the estimate: the inversion is never entered (no allocation)
    monkeypatch.setattr("verify.cli.invert.run_recovery",
                        lambda *a, **k: pytest.fail("inversion started"))
    line = refused(capsys, ["invert", "--trials", "1000000000"], "--trials", "needs, about")
    assert "1,000,000,000 trials" in line and "385 GB" in line


def test_max_memory_flag_and_tiny_budgets(capsys, tmp_path):
    refused(capsys, ["invert", "--max-memory", "1k", "--trials", "2"], "--max-memory", "1 kB")
    budget.set_budget(None)
    refused(capsys, ["invert", "--max-memory", "lots"], "--max-memory", "4G")
    refused(capsys, ["invert", "--max-memory", "-5M"], "--max-memory")
    (tmp_path / "g.npz").write_bytes(good_npz())
    refused(capsys, ["audit", "g.npz", "--max-memory", "100"], "g.npz", "budget")
    budget.set_budget(None)
    out = tmp_path / "w.npz"
    refused(capsys, ["train-digits", "--out", out, "--max-memory", "1k"], "budget")


def test_engine_guard_message_for_other_commands(capsys, tmp_path):
    """``verify check`` draws through the same guard: exit 2 naming field and estimate."""
    (tmp_path / "c.toml").write_text(tomli_w.dumps({"network": SIZE_CLASSES[3][1]}),
                                     encoding="utf-8")
    refused(capsys, ["check", "concentration", "--config", "c.toml", "--quick"],
            "network.layers[0]", "needs about")


# ----------------------------------------------------------------- output paths
def test_output_paths_checked_before_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("verify.cli.explore.explore",
                        lambda *a, **k: pytest.fail("the search started"))
    (tmp_path / "plain").write_text("x")
    for flag_cmd in (["explore", "permutation", "--save"], ["train-digits", "--out"]):
        suffix = ".toml" if flag_cmd[0] == "explore" else ".npz"
        flag = flag_cmd[-1]
        refused(capsys, flag_cmd + [f"plain/x{suffix}"], flag, "is a file")
        refused(capsys, flag_cmd + [f"/proc/verify-test/x{suffix}"], flag, "/proc")
        refused(capsys, flag_cmd + [f"plain/deeper/x{suffix}"], flag, "is a file")
    (tmp_path / "dir.npz").mkdir()
    refused(capsys, ["train-digits", "--out", "dir.npz"], "--out", "folder")
    refused(capsys, ["train-digits", "--out", "w.pt"], "--out", ".npz")
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        refused(capsys, ["train-digits", "--out", ro / "w.npz"], "--out", "permission")


# ------------------------------------------------------------------------ flags
FLAGS = [
    (["invert", "--trials", "abc"], ["--trials", "integer >= 1"]),
    (["invert", "--trials", "0"], ["--trials", "integer >= 1"]),
    (["invert", "--trials", "1e400"], ["--trials"]),
    (["invert", "--trials", "9" * 5000], ["--trials"]),
    (["invert", "--rate", "nan"], ["--rate", "(0, 1]"]),
    (["invert", "--rate", "2"], ["--rate", "(0, 1]"]),
    (["invert", "--noise", "inf"], ["--noise", "finite"]),
    (["invert", "--noise", "-1"], ["--noise", ">= 0"]),
    (["invert", "--iterations", "1.5"], ["--iterations"]),
    (["invert", "--lr", "0"], ["--lr", "> 0"]),
    (["invert", "--success-tol", "nan"], ["--success-tol"]),
    (["invert", "--mask", "diagonal"], ["--mask", "one of"]),
    (["invert", "--method", "newton"], ["--method", "adam"]),
    (["invert", "--preset", "nope"], ["preset", "paper-fig4"]),
    (["invert", "--preset", "paper-fig4", "--config", "c.toml"], ["--config", "--preset"]),
    (["invert", "--seed", "-1"], ["--seed", ">= 0"]),
    (["audit"], ["WEIGHTS"]),
    (["audit", "g.npz", "--rate", "nan"], ["--rate", "(0, 1]"]),
    (["audit", "g.npz", "--rate", "many"], ["--rate"]),
    (["explore", "permutation", "--max-examples", "1000000000"], ["--max-examples", "1,000,000"]),
    (["explore", "permutation", "--max-examples", "0"], ["--max-examples"]),
    (["explore", "permutation", "--min-expansion", "inf"], ["--min-expansion", "finite"]),
    (["explore", "permutation", "--min-expansion", "nan"], ["--min-expansion"]),
    (["explore", "no-such-lemma", "--max-examples", "1"], ["lemma", "permutation"]),
    (["bench", "--case", "no-such-case"], ["--case"]),
    (["train-digits", "--seed", "x"], ["--seed"]),
    (["list", "--format", "xml"], ["--format"]),
    ([], ["command"]),
]


@pytest.mark.parametrize("argv, fragments", FLAGS, ids=[" ".join(f[0])[:60] or "(no command)" for f in FLAGS])
def test_bad_flag_values(capsys, tmp_path, argv, fragments):
    (tmp_path / "g.npz").write_bytes(good_npz())
    refused(capsys, argv, *fragments)


def test_corpus_size():
    """The corpus keeps growing; shrinking it needs a reason."""
    n = len(WEIGHT_FILES) + len(TOML_TEXT) + len(CONFIG_FIELDS) + len(SIZE_CLASSES) + len(FLAGS)
    assert n >= 130, n
