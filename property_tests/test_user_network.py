"""A user's own network in ``verify check`` and ``verify report`` (verify/report/user.py):
a fixed network's statements (judged, not judged from one draw, does not apply), the
report's shape and provenance, and bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from verify import get_preset
from verify.cli import main
from verify.report import build_report
from verify.report.user import FIXED_NOTE, from_weights
from verify.weightfiles import save_safetensors
from verify.weights import save_network


@pytest.fixture(scope="module")
def theory_npz(tmp_path_factory):
    """theory-2layer's draw 3 as a .npz carrying its architecture."""
    path = tmp_path_factory.mktemp("user") / "mine.npz"
    save_network(get_preset("theory-2layer").instantiate(3).network, path)
    return path


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_on_a_fixed_network(capsys, theory_npz):
    code, out, _ = _run(capsys, "check", "concentration", "--weights", theory_npz, "--quick",
                        "--json")
    assert code == 0
    js = json.loads(out)
    assert js["preset"] == "mine" and js["network"]["sha256"] == _sha(theory_npz)
    assert js["draws"] == 1 and js["draw_note"] == FIXED_NOTE
    (v,) = [v for v in js["statements"] if v["statement"] == "sup2-wdc"]
    assert v["verdict"] == "not applicable"
    assert v["why"].startswith("not judged from one draw")
    # the network's own value beside the law's: per layer, fitted variance and N(0, 1/m)
    for i in (1, 2):
        assert f"layer {i} (m = " in v["why"] and "against N(0, 1/(C_i l^dims))" in v["why"]
    assert len(js["details"]["fixed_network"]) == 2
    assert v["criteria"] and v["criteria"][0]["name"].endswith("_eps_hat")


def test_exact_statements_are_judged_on_it(capsys, theory_npz):
    code, out, _ = _run(capsys, "check", "fig2", "--weights", theory_npz)
    assert code == 0
    assert "fig2 [mine] holds (single draw)" in out and FIXED_NOTE in out


def test_a_check_that_draws_other_laws_is_not_run(capsys, theory_npz):
    code, out, _ = _run(capsys, "check", "subgaussian", "--weights", theory_npz)
    assert code == 0
    assert "conj3 [mine] not applicable: not judged on one fixed network" in out


def test_report_has_the_reference_shape_and_the_files_sha(tmp_path, theory_npz):
    user = from_weights(theory_npz)
    rep = build_report(tmp_path / "rep", quick=True, progress=False, jobs=1,
                       parallel_figures=False, power=False,
                       checks=["permutation", "concentration", "subgaussian", "landscape"],
                       configs=[user.config], network={**user.record, "judged": FIXED_NOTE})
    assert rep.exit_code == 0
    assert {r.preset for r in rep.results} == {"mine"}
    data = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert data["provenance"]["network"]["sha256"] == _sha(theory_npz)
    verdicts = {(v["statement"], v["check"]): v for r in data["results"]
                for v in r["statements"]}
    assert verdicts["fig2", "permutation"]["verdict"] == "holds"
    assert verdicts["sup2-wdc", "concentration"]["why"].startswith("not judged from one draw")
    assert verdicts["fig4-caption", "landscape"]["why"] == (
        "does not apply: needs a 2-D latent (latent dimension is 4)")
    assert verdicts["conj3", "subgaussian"]["verdict"] == "not applicable"
    md = (tmp_path / "rep" / "REPORT.md").read_text()
    assert "| `mine` |" in md and FIXED_NOTE in md and _sha(theory_npz) in md


def test_a_family_is_judged_over_draws(tmp_path):
    cfg = tmp_path / "fam.toml"
    cfg.write_text(get_preset("theory-2layer").to_toml().replace('"theory-2layer"', '"fam"'))
    from verify.report.user import from_config

    user = from_config(cfg)
    rep = build_report(tmp_path / "rep", quick=True, progress=False, jobs=1,
                       parallel_figures=False, power=False, checks=["concentration"],
                       configs=[user.config], draws=4, network=user.record)
    (v,) = [v for r in rep.results for v in r.statements if v.statement == "sup2-wdc"]
    assert v.verdict in ("holds", "fails", "uninformative") and v.draws["draws"] == 4


def _safetensors_without_metadata(tmp_path):
    from safetensors.numpy import save_file

    net = get_preset("theory-2layer").instantiate(0).network
    path = tmp_path / "plain.safetensors"
    save_file({f"{3 * i}.weight": np.ascontiguousarray(w.filters)
               for i, w in enumerate(net.weights)}, str(path))
    return path


@pytest.mark.parametrize("command", ["check concentration", "report"])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, tmp_path, command):
    plain = _safetensors_without_metadata(tmp_path)
    wrong_arch = tmp_path / "arch.toml"
    spec = get_preset("theory-2layer").spec  # 4 -> 16 -> 40; the file says 4 -> 17 -> 40
    wrong_arch.write_text(spec.to_toml().replace("channels = 16", "channels = 17"))
    out_dir = tmp_path / "out"
    extra = ["--out", out_dir] if command == "report" else []
    cases = [
        (["--weights", plain], r"pass the architecture with --arch FILE.toml"),
        (["--weights", plain, "--arch", wrong_arch],
         r"tensor '0\.weight' has shape \(4, 16, 16\), expected \(4, 17, 16\)"),
        (["--torch", tmp_path / "nope.py:make"], r"--torch: .*nope\.py' does not exist"),
        (["--arch", wrong_arch], r"--arch: the architecture of --weights FILE"),
        (["--weights", plain, "--torch", "x.py:y"], r"expected one of --preset, --config"),
    ]
    for flags, message in cases:
        code, out, err = _run(capsys, *command.split(), *flags, *extra)
        assert code == 2, (flags, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"verify {command.split()[0]}: error:")
        assert re.search(message, lines[0]), (message, lines[0])
        assert not out_dir.exists()


@pytest.mark.slow
def test_report_command_on_a_fixed_network(capsys, tmp_path, theory_npz):
    """The whole `verify report --weights`: every check on the network alone."""
    code, out, err = _run(capsys, "report", "--weights", theory_npz, "--quick", "--out",
                          tmp_path / "rep", "--jobs", "1")
    assert code in (0, 1), err
    data = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert data["provenance"]["network"]["sha256"] == _sha(theory_npz)
    assert data["provenance"]["network"]["judged"] == FIXED_NOTE
    assert data["power"] == [] and {r["preset"] for r in data["results"]} == {"mine"}
    assert f"mine: {FIXED_NOTE}" in out
    for r in data["results"]:
        for v in r["statements"]:
            assert v["verdict"] != "not applicable" or v["why"].startswith(
                ("not judged", "does not apply")), v
