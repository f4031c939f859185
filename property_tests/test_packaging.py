"""What ships with the code: the licence, the citation file, the type marker, one source
for the version, and ``verify examples DIR`` (the shipped examples copied out)."""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest

import verify
from verify.cli import main
from verify.cli.examples import shipped

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "verify" / "examples"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_mit_as_pyproject_says():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c)" in text and "the verify authors" in text
    assert _pyproject()["project"]["license"] == {"text": "MIT"}


def test_citation_file_cites_the_toolkit_and_the_paper():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):  # required by CFF 1.2.0
        assert cff[key]
    assert str(cff["version"]) == verify.__version__
    assert cff["license"] == "MIT"
    paper = cff["preferred-citation"]
    assert paper in cff["references"]
    assert paper["title"] == ("Invertibility of Convolutional Generative Networks from "
                              "Partial Measurements")
    assert [a["family-names"] for a in paper["authors"]] == ["Ma", "Ayaz", "Karaman"]
    assert paper["year"] == 2018 and "NeurIPS 2018" in paper["collection-title"]
    for ref in [paper, *cff["references"]]:  # CFF: type, title and authors are required
        assert ref["type"] and ref["title"] and ref["authors"]


def test_py_typed_ships_as_package_data():
    assert (ROOT / "verify" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["verify"]


def test_version_has_one_source():
    """pyproject declares the version dynamic, read from ``verify.__version__``; setuptools'
    own reader resolves it to the package's value."""
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    dynamic = _pyproject()["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "verify.__version__"}
    reader = pytest.importorskip("setuptools.config.pyprojecttoml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls its pyproject support beta
        resolved = reader.read_configuration(ROOT / "pyproject.toml")["project"]["version"]
    assert resolved == verify.__version__


def test_scikit_learn_is_a_core_dependency():
    """``trained-recovery`` uses it on its default presets: not an optional extra."""
    deps = _pyproject()["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "scikit-learn" for d in deps)


# ---------------------------------------------------------------- verify examples DIR
def test_examples_copies_every_shipped_example(tmp_path, capsys):
    out = tmp_path / "new" / "ex"
    assert main(["examples", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".py"))
    assert [n for n, _ in shipped()] == names and "config.toml" in names
    assert printed == [str(out / n) for n in names]
    for n in names:
        assert (out / n).read_bytes() == (EXAMPLES / n).read_bytes()


def test_examples_refuses_an_existing_file_unless_force(tmp_path, capsys):
    (tmp_path / "config.toml").write_text("mine")
    assert main(["examples", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "config.toml" in err and "--force" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # nothing written
    assert (tmp_path / "config.toml").read_text() == "mine"
    assert main(["examples", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "config.toml").read_bytes() == (EXAMPLES / "config.toml").read_bytes()


@pytest.mark.parametrize("target", ["f", "f/sub"])
def test_examples_refuses_a_file_in_the_way(tmp_path, capsys, target):
    (tmp_path / "f").write_text("x")
    assert main(["examples", str(tmp_path / target), "--force"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
