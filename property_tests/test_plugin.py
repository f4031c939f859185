"""The pytest plugin ``verify.testing``: one test per (network, statement) with readable
ids, failures that name the statement's quote and its failing criteria with their
numbers, skips with the reason, its options and fixture; and what loading it (and the
engine, and the checks) never imports: torch, and the statements until a test asks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """The worktree's package first; no autoloaded plugins (the plugin is given with -p),
    no project options."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS",)}
    env.update(PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", MPLBACKEND="Agg")
    return env


def _pytest(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_users.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "verify.testing", "-p", "no:cacheprovider",
         "-c", str(tmp_path / "pytest.ini"), "-rs", "-v", "test_users.py", *args],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600)


def test_entry_point_and_extra_are_declared():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["entry-points"]["pytest11"] == {"verify": "verify.testing"}
    assert any(d.startswith("torch") for d in data["project"]["optional-dependencies"]["torch"])


def test_importing_the_plugin_imports_neither_torch_nor_the_statements():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import verify.testing"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
             if line.startswith("import time:")]
    assert "verify.testing" in names
    assert not [n for n in names if n.split(".")[0] in ("torch", "lemmas")]


def test_a_plain_run_with_the_plugin_loads_nothing_more(tmp_path):
    proc = _pytest(tmp_path, """
        import sys

        def test_nothing_imported(request):
            assert request.config.getoption("verify_quick") is True
            assert "torch" not in sys.modules and "lemmas" not in sys.modules
    """, "--verify-quick")
    assert proc.returncode == 0, proc.stdout + proc.stderr


USERS = """
    import pytest
    from verify import WeightLaw, draw_network, get_preset
    from verify.testing import parametrize_with_statements

    spec = get_preset("theory-2layer").spec
    gaussian = draw_network(spec, WeightLaw("gaussian"), rng=3)
    flat = draw_network(spec, WeightLaw("uniform"), rng=3)  # zero-mean, not Gaussian-shaped

    @parametrize_with_statements([("gauss", gaussian), ("flat", flat)],
                                 statements=["fig2", "sup2-wdc", "fig3", "fig6"])
    def test_paper(verify_network, verify_statement):
        verify_statement(verify_network)

    @pytest.mark.parametrize("verify_network", ["theory-2layer"], indirect=True)
    def test_fixture(verify_network):
        assert not verify_network.fixed and verify_network.network.spec.latent_dim == 4

    def test_unparametrized_fixture(verify_network):
        pass
"""


def test_one_test_per_network_and_statement(tmp_path):
    proc = _pytest(tmp_path, USERS, "--verify-quick", "--verify-draws", "2")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    for name in ("gauss", "flat"):
        assert f"test_paper[{name}-fig2] PASSED" in out
        assert f"test_paper[{name}-sup2-wdc] SKIPPED" in out
        assert f"test_paper[{name}-fig6] SKIPPED" in out
    assert "test_paper[gauss-fig3] PASSED" in out
    assert "test_paper[flat-fig3] FAILED" in out
    assert "test_fixture[theory-2layer] PASSED" in out
    assert "test_unparametrized_fixture ERROR" in out or "ERROR test_users.py::test_unparam" in out
    # the failure: the statement's quote, the verdict against the expectation, and each
    # failing criterion with its statistic, sense, bound and margin
    assert ('Fig. 3 [fig3] on flat: "It can be observed that the trained weights highly '
            'resembles a zero-mean gaussian distribution."') in out
    assert "trained-weights: fails, expected holds (new mismatch)" in out
    assert "fails: max |excess kurtosis| over layers: statistic 1." in out
    assert ", margin -0." in out
    # the skips say why
    assert "sup2-wdc on gauss: not judged from one draw" in out
    assert "fig6: not judged: the CelebA generator" in out
    assert "verify_network: parametrize it" in out


BLOCKED = """
import sys

attempts = []


class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            attempts.append(name)
            raise ImportError("torch is blocked in this test")


sys.meta_path.insert(0, Block())
import pytest
from verify import get_preset, registry
from verify.cli import main
from verify.weights import save_network

registry.discover()  # every statement module and check
for lemma in ("permutation", "concentration", "injectivity"):
    registry.run_check(lemma, "theory-2layer", quick=True, draws=1)
save_network(get_preset("theory-2layer").instantiate(0).network, "mine.npz")
assert main(["check", "fig2", "--weights", "mine.npz"]) == 0
assert pytest.main(["-q", "-p", "verify.testing", "-p", "no:cacheprovider", "test_users.py",
                    "--verify-quick"]) == 0
assert not attempts and "torch" not in sys.modules, attempts
print("torch never imported")
"""


def test_engine_checks_and_plugin_never_import_torch(tmp_path):
    """torch is blocked by an import hook (sys.modules['torch'] = None would break
    scipy, which looks torch up in sys.modules): any import of it is recorded."""
    (tmp_path / "test_users.py").write_text(textwrap.dedent("""
        from verify import get_preset
        from verify.testing import parametrize_with_statements

        @parametrize_with_statements([get_preset("theory-2layer").instantiate(0).network],
                                     statements=["fig2", "sup2-wdc"])
        def test_paper(verify_network, verify_statement):
            verify_statement(verify_network)
    """), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", BLOCKED], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "torch never imported" in proc.stdout
