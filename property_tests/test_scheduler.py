"""``--scheduler`` on ``verify report`` and ``verify check``: the checks run through the one
runner's Dask backend, with the results of a serial run."""

from __future__ import annotations

import json

import pytest

from verify.cli import main

CHECKS = ["permutation", "injectivity"]


def _results(folder) -> dict:
    return json.loads((folder / "results.json").read_text())


def _without_times(results: list[dict]) -> list[dict]:
    """Results (or power rows, which hold one) without their seconds."""
    return [{k: (_without_times([v])[0] if k == "result" else v) for k, v in r.items()
             if k != "elapsed_s"} for r in results]


@pytest.mark.slow
def test_report_on_a_local_dask_cluster_gives_the_serial_results(tmp_path):
    from verify.report import build_report

    kw = dict(quick=True, checks=CHECKS, progress=False, parallel_figures=False)
    build_report(tmp_path / "serial", jobs=1, **kw)
    build_report(tmp_path / "dask", jobs=2, scheduler="local", **kw)
    serial, dask = _results(tmp_path / "serial"), _results(tmp_path / "dask")
    assert len(serial["results"]) >= 6 and len(serial["power"]) >= 4
    assert _without_times(dask["results"]) == _without_times(serial["results"])
    assert _without_times(dask["power"]) == _without_times(serial["power"])
    assert dask["provenance"]["scheduler"] == "local"
    assert "scheduler" not in serial["provenance"]


@pytest.mark.slow
def test_report_on_dask_fills_a_shared_cache_that_a_local_run_reuses(tmp_path):
    from verify.report import build_report

    kw = dict(quick=True, checks=["permutation"], progress=False, cache=tmp_path / "cache")
    build_report(tmp_path / "dask", jobs=2, scheduler="local", **kw)
    build_report(tmp_path / "local", jobs=1, **kw)
    dask, local = _results(tmp_path / "dask"), _results(tmp_path / "local")
    assert local["provenance"]["cache"]["checks_cached"] == len(local["provenance"]["timing"])
    assert local["results"] == dask["results"]


@pytest.mark.slow
def test_check_on_a_local_dask_cluster_prints_the_local_result(capsys):
    args = ["check", "permutation", "--quick", "--json", "--no-cache"]
    assert main(args) == 0
    here = json.loads(capsys.readouterr().out)
    assert main([*args, "--scheduler", "local"]) == 0
    there = json.loads(capsys.readouterr().out)
    here.pop("elapsed_s"), there.pop("elapsed_s")
    assert there == here
    # a refusal on the worker is bad input here too, as in a local run
    assert main(["check", "landscape", "--preset", "theory-2layer", "--no-cache",
                 "--scheduler", "local"]) == 2
    assert "does not apply" in capsys.readouterr().err


def test_scheduler_flags_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["report", "--out", str(out), "--scheduler", "tcp://127.0.0.1:1",
                 "--jobs", "2"]) == 2
    assert "--jobs" in capsys.readouterr().err and not out.exists()
    assert main(["report", "--out", str(out), "--scheduler", " "]) == 2
    assert "--scheduler" in capsys.readouterr().err and not out.exists()
