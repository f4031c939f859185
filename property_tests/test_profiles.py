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

#: A known conftest issue (reported to the lead): Hypothesis loads its own built-in
#: ``ci`` profile at import whenever a ``CI`` variable is set, and conftest's ``dev`` and
#: ``thorough`` profiles, registered without ``derandomize=False``, inherit its
#: ``derandomize=True`` -- so a nightly ``thorough`` run under CI never varies its examples.
_INHERITS_CI = ("dev/thorough inherit derandomize=True from Hypothesis' auto-loaded ci "
                "profile when CI is set (conftest should pass derandomize=False)")

#: (environment, expected profile, max_examples, derandomize) as conftest.py defines them.
CASES = [
    ({"CI": "true"}, "ci", 15, True),
    ({}, "dev", 25, False),
    ({"VERIFY_HYPOTHESIS_PROFILE": "thorough"}, "thorough", 400, False),
    ({"VERIFY_HYPOTHESIS_PROFILE": "ci"}, "ci", 15, True),
    pytest.param({"CI": "true", "VERIFY_HYPOTHESIS_PROFILE": "dev"}, "dev", 25, False,
                 marks=pytest.mark.xfail(reason=_INHERITS_CI, strict=False)),
    pytest.param({"CI": "true", "VERIFY_HYPOTHESIS_PROFILE": "thorough"}, "thorough", 400, False,
                 marks=pytest.mark.xfail(reason=_INHERITS_CI, strict=False)),
]


def _id(case) -> str:
    env, profile = (case.values if hasattr(case, "values") else case)[:2]
    return profile + ("-CI" if env.get("CI") else "") + \
        ("-var" if "VERIFY_HYPOTHESIS_PROFILE" in env else "")


@pytest.mark.parametrize("env, profile, max_examples, derandomize", CASES,
                         ids=[_id(c) for c in CASES])
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
