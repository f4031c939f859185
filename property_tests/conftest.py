"""Hypothesis profiles (README: "Hypothesis profiles").

``ci``        derandomized, bounded examples, no deadline: the default when CI=true.
``dev``       the default elsewhere: a few more examples, still no deadline (the
              machines are noisy; speed is measured by ``verify bench``).
``thorough``  many examples, for a nightly run.
Select one with ``VERIFY_HYPOTHESIS_PROFILE=ci|dev|thorough``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                     HealthCheck.filter_too_much,
                                                     HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=15, derandomize=True, print_blob=True, **_COMMON)
# derandomize=False explicitly: Hypothesis auto-loads its own derandomized "ci"
# profile whenever a CI variable is set, and profiles inherit from the loaded one.
settings.register_profile("dev", max_examples=25, derandomize=False, **_COMMON)
settings.register_profile("thorough", max_examples=400, derandomize=False, **_COMMON)

PROFILE = os.environ.get("VERIFY_HYPOTHESIS_PROFILE") or (
    "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")
settings.load_profile(PROFILE)


def pytest_report_header(config):
    return f"hypothesis profile: {PROFILE}"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` first: under ``pytest -n 2`` the end-to-end report test (about
    4 minutes of wall time on 2 cores) then runs beside the short tests instead of
    starting last and finishing alone (longest first shortens the run; order-independent
    tests, so nothing else changes)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


#: A check whose one default run costs at least this many CPU seconds (its registered
#: ``cost``) runs in the slow tier when a test runs it whole: the fast tier
#: (``pytest -m "not slow"``) stays the developer's loop; CI runs both.
HEAVY_CHECK_COST = 60.0


def check_param(check, id=None):
    """``pytest.param`` of a registered check (or its id), marked ``slow`` when the check
    is heavy (:data:`HEAVY_CHECK_COST`)."""
    import pytest

    from verify.registry import get_check

    c = get_check(check) if isinstance(check, str) else check
    marks = (pytest.mark.slow,) if c.cost >= HEAVY_CHECK_COST else ()
    return pytest.param(check, id=id or c.id, marks=marks)


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("verify-cache")


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch, _session_cache_dir):
    """Every test runs with the default result cache off (``VERIFY_NO_CACHE``: a second
    run in a test recomputes, as the test means) and pointed at a temporary folder
    (``VERIFY_CACHE_DIR``), never the user's home; the cache's own tests pass a folder
    explicitly (``--cache DIR``)."""
    from verify import cache

    monkeypatch.setenv(cache.ENV_OFF, "1")
    monkeypatch.setenv(cache.ENV_DIR, str(_session_cache_dir))
