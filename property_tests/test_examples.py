"""The examples in ``verify/examples/`` run as their comments say.

Each example file is used through the command a user would type; a broken example
(a renamed key, a stale flag, an architecture that no longer loads) fails here.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from verify.weightfiles import save_safetensors
from verify.cli import main
from verify.presets import Config
from verify.spec import NetworkSpec
from verify.weights import draw_network

EXAMPLES = Path(__file__).resolve().parents[1] / "verify" / "examples"


def test_examples_folder_has_what_the_readme_lists():
    names = {p.name for p in EXAMPLES.iterdir()}
    assert {"config.toml", "config_2d.toml", "sweep.toml", "audit_arch.toml",
            "export_pytorch.py", "dcgan64.toml"} <= names


def test_dcgan64_example_is_the_bench_network_and_inverts(capsys):
    """The README's 10,000-trial run: the file is ``dcgan_like(64)`` of the bench, and the
    command as written runs (here on 2 trials, 1 iteration)."""
    from verify.benchmarks.torch_peer import dcgan_like

    cfg = Config.load(EXAMPLES / "dcgan64.toml")
    assert cfg.spec == dcgan_like(64)
    code = main(["invert", "--config", str(EXAMPLES / "dcgan64.toml"), "--trials", "2",
                 "--iterations", "1", "--dtype", "float32", "--negation", "none",
                 "--max-memory", "4GB", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["trials"] == 2


def test_config_example_checks(capsys):
    cfg = Config.load(EXAMPLES / "config.toml")
    assert cfg.name == "example-1d" and cfg.spec.is_block
    # every layer satisfies the theory's expansivity condition the comment claims
    assert min(cfg.spec.expansivity()) >= 4
    code = main(["check", "permutation", "--config", str(EXAMPLES / "config.toml"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["passed"] and out["preset"] == "example-1d"


def test_sweep_example_runs(tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(["sweep", str(EXAMPLES / "sweep.toml"), "--out", str(out)])
    capsys.readouterr()
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert code == 0
    assert len(records) == 4  # 2 networks x 1 law x 2 replicates
    assert all(r["status"] == "ok" and r["passed"] for r in records)


def _audit(path: Path, capsys) -> list[dict]:
    code = main(["audit", str(path), "--arch", str(EXAMPLES / "audit_arch.toml"), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    return rows


def test_audit_arch_example_reads_a_state_dict(tmp_path, capsys):
    spec = NetworkSpec.load(EXAMPLES / "audit_arch.toml")
    net = draw_network(spec, "gaussian", rng=0)
    save_safetensors(net, tmp_path / "g.safetensors")
    rows = _audit(tmp_path / "g.safetensors", capsys)
    by_name = {r["assumption"]: r for r in rows}
    # the example's architecture is DCGAN-like, not the theory's: the audit must say so
    assert by_name["layer 2: stride = kernel"]["holds"] is False
    assert by_name["layer 1: expansive"]["holds"] is True


@pytest.mark.slow  # an example end to end, with torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch is not installed (optional: pip install torch)")
def test_export_pytorch_example(tmp_path, capsys):
    target = tmp_path / "generator.safetensors"
    subprocess.run([sys.executable, str(EXAMPLES / "export_pytorch.py"), str(target)],
                   check=True, capture_output=True, timeout=300)
    rows = _audit(target, capsys)
    assert len(rows) == 22  # 7 assumptions x 3 layers + the sampling-rate one


# ------------------------------------------------ the README's first run, as printed
README = EXAMPLES.parents[1] / "README.md"


def _first_run_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("A configuration of your own is a TOML file")
    end = text.find("\n## ", start)
    return text[start:end if end >= 0 else len(text)]


def _first_run_commands() -> list[list[str]]:
    import re
    import shlex

    block = re.search(r"```bash\n(.*?)```", _first_run_section(), re.S).group(1)
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def test_readme_first_run_commands_are_the_examples():
    cmds = _first_run_commands()
    assert cmds[0] == ["verify", "examples", "my-examples"]
    checks = [c for c in cmds if c[1] == "check"]
    assert {c[2] for c in checks} == {"concentration", "descent", "landscape"}
    for c in checks:
        path = c[c.index("--config") + 1]
        assert path.startswith("my-examples/") and (EXAMPLES / path.split("/", 1)[1]).is_file()


def test_readme_describes_the_shipped_config():
    """The README describes config.toml instead of printing it: "a 1-D network in the
    theory's block form", with a weight law and a mask with a kind and a rate."""
    section = _first_run_section()
    assert "`config.toml` is a 1-D network in the theory's block form" in section
    shipped = Config.load(EXAMPLES / "config.toml")
    assert shipped.spec.dims == 1 and shipped.spec.is_block
    assert shipped.weights.name and shipped.mask.kind and 0 < shipped.mask.rate <= 1


def test_landscape_settings_only_in_an_example_with_a_2d_latent():
    for path in EXAMPLES.glob("*.toml"):
        if path.name in ("sweep.toml", "audit_arch.toml"):
            continue
        cfg = Config.load(path)
        if "landscape" in cfg.checks:
            assert cfg.spec.latent_dim == 2, path.name
    assert Config.load(EXAMPLES / "config_2d.toml").checks["landscape"]


@pytest.mark.slow  # about 12 s: three checks end to end
def test_readme_first_run_gives_informative_verdicts(tmp_path, capsys, monkeypatch):
    """Each command of the README's first run, as printed, in a fresh folder, with
    ``--draws 1`` added (one network draw each, to stay fast): the verdicts decide
    (hold or fail), never "uninformative", and no command is refused."""
    monkeypatch.chdir(tmp_path)
    for cmd in _first_run_commands():
        argv = cmd[1:] + (["--draws", "1", "--json"] if cmd[1] == "check" else [])
        code = main(argv)
        out = capsys.readouterr().out
        if cmd[1] != "check":
            assert code == 0
            continue
        res = json.loads(out)
        assert code in (0, 1), cmd
        assert res["verdict"] in ("holds", "fails"), (cmd, res.get("why_uninformative"))
        if cmd[2] in ("concentration", "descent"):
            assert res["verdict"] == "holds", cmd  # wide enough for the theory
