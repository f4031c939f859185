"""``--torch FILE.py:OBJECT`` on the command line: a module checked on the spot and run
through check, audit and invert; bad modules and paths exit 2 with one line, nothing
written."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from verify.cli import main

torch = pytest.importorskip("torch")

SOURCE = textwrap.dedent("""
    import torch
    from torch import nn

    def generator():
        torch.manual_seed(0)
        return nn.Sequential(nn.ConvTranspose2d(4, 64, 4, 4, bias=False), nn.ReLU(),
                             nn.ConvTranspose2d(64, 8, 4, 4, bias=False), nn.ReLU())

    class Doubled(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2))

        def forward(self, x):
            return self.main(x) * 2

    softplus = nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2), nn.Softplus())
    number = 3
""")


@pytest.fixture
def gens(tmp_path):
    path = tmp_path / "gens.py"
    path.write_text(SOURCE)
    return path


def _run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_and_audit_a_module(capsys, gens):
    code, out, _ = _run(capsys, "check", "fig2", "--torch", f"{gens}:generator", "--json")
    assert code == 0
    js = json.loads(out)
    assert js["verdicts"][0]["verdict"] == "holds"  # exact: judged on the module's weights
    net = js["network"]
    assert net["source"] == "torch" and net["object"] == "generator"
    assert net["forward_max_rel_diff"] <= 1e-10 and len(net["weights_sha256"]) == 64
    code, out, _ = _run(capsys, "audit", "--torch", f"{gens}:generator")
    assert code == 0 and "2-D 4x1 -> 64x4 (k4 s4 relu) -> 8x16 (k4 s4 relu)" in out


def test_invert_a_module(capsys, gens):
    code, out, _ = _run(capsys, "invert", "--torch", f"{gens}:generator", "--trials", "2",
                        "--iterations", "20", "--json")
    assert code == 0
    js = json.loads(out)
    assert js["trials"] == 2 and js["config"]["torch"] == f"{gens}:generator"


@pytest.mark.parametrize("command", ["check fig2", "report", "audit", "invert"])
def test_bad_modules_exit_2_with_one_line(capsys, gens, tmp_path, command):
    out_dir = tmp_path / "out"
    extra = ["--out", out_dir] if command == "report" else []
    for target, message in [
        (f"{gens}:Doubled", r"module \(Doubled\) forward and the converted network differ "
                            r"by 0\.5 "),
        (f"{gens}:softplus", r"module '1' \(Softplus\) is not supported"),
        (f"{gens}:missing", r"has no object 'missing'"),
        (f"{gens}:number", r"gens\.py:number is int"),
        (f"{tmp_path / 'absent.py'}:generator", r"absent\.py' does not exist"),
    ]:
        code, out, err = _run(capsys, *command.split(), "--torch", target, *extra)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (target, err)
        assert lines[0].startswith(f"verify {command.split()[0]}: error: ")
        assert re.search(message, lines[0]), (message, lines[0])
        assert not out_dir.exists() and out == ""


def test_pickled_checkpoint_is_refused(capsys, tmp_path):
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), str(path))
    code, _, err = _run(capsys, "check", "fig2", "--torch", path)
    assert code == 2 and "refusing to unpickle" in err
