"""The Hypothesis profiles are selected as documented (README, conftest.py):
``VERIFY_HYPOTHESIS_PROFILE=ci|dev|thorough`` wins; otherwise ``ci`` when CI=true and
``dev`` elsewhere. Each case runs a tiny pytest in a subprocess and reads the header
line and the loaded settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

#: Hypothesis loads its own derandomized ``ci`` profile whenever a ``CI`` variable is set;
#: the ``dev`` and ``thorough`` cases under CI=true check that conftest's profiles do not
#: inherit its ``derandomize=True`` (a nightly run must vary its examples).
#: (environment, expected profile, max_examples, derandomize) as conftest.py defines them.
CASES = [
    ({"CI": "true"}, "ci", 15, True),
    ({}, "dev", 25, False),
    ({"VERIFY_HYPOTHESIS_PROFILE": "thorough"}, "thorough", 400, False),
    ({"VERIFY_HYPOTHESIS_PROFILE": "ci"}, "ci", 15, True),
    ({"CI": "true", "VERIFY_HYPOTHESIS_PROFILE": "dev"}, "dev", 25, False),
    ({"CI": "true", "VERIFY_HYPOTHESIS_PROFILE": "thorough"}, "thorough", 400, False),
]


def _id(case) -> str:
    env, profile = (case.values if hasattr(case, "values") else case)[:2]
    return profile + ("-CI" if env.get("CI") else "") + \
        ("-var" if "VERIFY_HYPOTHESIS_PROFILE" in env else "")


#: Each case is a pytest run in a fresh interpreter: the fast tier keeps the default
#: (``dev``, no variable set); the others run in the slow tier.
@pytest.mark.parametrize("env, profile, max_examples, derandomize", [
    pytest.param(*c, id=_id(c), marks=() if c[0] == {} else (pytest.mark.slow,))
    for c in CASES])
def test_profile_selection(env, profile, max_examples, derandomize, tmp_path):
    base = {k: v for k, v in os.environ.items()
            if k not in ("CI", "VERIFY_HYPOTHESIS_PROFILE", "PYTEST_ADDOPTS")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider",
         str(HERE / "_profile_probe.py")],
        env={**base, **env}, cwd=HERE.parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = [l for l in proc.stdout.splitlines() if l.startswith("hypothesis profile:")]
    assert header == [f"hypothesis profile: {profile}"], proc.stdout
    line = next(l for l in proc.stdout.splitlines() if "PROFILE-SETTINGS" in l)
    loaded = json.loads(line.split("PROFILE-SETTINGS ", 1)[1])
    assert loaded["max_examples"] == max_examples
    assert loaded["derandomize"] is derandomize
    assert loaded["deadline"] is None  # no deadline flakiness on shared machines


#: The modules .ci/run reruns under other OpenBLAS kernels (``pytest -m numerics``).
NUMERICS_MODULES = {"test_engine.py", "test_descent.py", "test_inversion.py",
                    "test_concentration.py", "test_angle.py", "test_landscape.py",
                    "test_injectivity.py", "test_permutation.py", "test_partial.py",
                    "test_subgaussian.py", "test_trained.py", "test_common.py"}


@pytest.mark.slow  # collects the whole suite in a subprocess
def test_numerics_marker_selects_the_numerics_modules():
    """``pytest -m numerics`` (what .ci/run reruns per kernel) collects the tests of
    every numerics-sensitive module (others may join): it can never exit 5 (no tests)."""
    base = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "numerics", str(HERE)],
        env={**base, "CI": "true"}, cwd=HERE.parent, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ids = [l for l in proc.stdout.splitlines() if "::" in l]
    modules = {Path(i.split("::", 1)[0]).name for i in ids}
    assert NUMERICS_MODULES <= modules, NUMERICS_MODULES - modules
    assert len(ids) >= 150  # 225 when this was written
    ci = (HERE.parent / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[test]" && python -m pytest -q -n 2\n' in ci
    assert "OPENBLAS_CORETYPE=$core python -m pytest -q -n 2 -m numerics" in ci
