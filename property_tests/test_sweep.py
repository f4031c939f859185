"""`verify sweep`: identical results serial / processes / Dask, kill-and-resume with every
task exactly once, retries of dying workers, bad sweep files refused by key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import _fake_lemmas  # noqa: F401 - registers the fake checks (workers import it too)
from verify.cli import main
from verify.errors import VerifyError
from verify.sweep import (RESULTS, load_results, load_sweep, parse_sweep, phase_figure,
                          phase_table, read_records, run_sweep)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

GRID = """
[sweep]
lemmas = ["fake-expansion"]
imports = ["_fake_lemmas"]
weights = ["gaussian", {law = "rademacher"}]
masks = ["random", "full"]
rates = [0.25, 0.5]
replicates = 2
base_seed = 11

[[sweep.networks]]
name = "narrow"
dims = 1
channels = [4, 4, 8]
kernels = [1, 2]

[[sweep.networks]]
name = "wide"
dims = 1
latent_channels = 2
layers = [{channels = 8, kernel = 2, stride = 2}, {channels = 16, kernel = 2, stride = 1}]
"""

#: Columns that are timings (differ run to run) or say which backend ran the task.
_VOLATILE = ("elapsed_s", "check_elapsed_s")


def _write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in _VOLATILE if c in df]).reset_index(drop=True)


def test_grid_expansion_and_seed_streams(tmp_path):
    sweep = load_sweep(_write(tmp_path, GRID))
    # 2 networks x 2 laws x (random x 2 rates + full once) x 2 replicates
    assert len(sweep) == 2 * 2 * 3 * 2
    children = np.random.SeedSequence(11).spawn(len(sweep))
    for t, child in zip(sweep.tasks, children):
        assert t.seed == int(child.generate_state(1, np.uint32)[0])
        assert t.spawn_key == (t.index,) and t.entropy == 11
    assert len({t.task_id for t in sweep.tasks}) == len(sweep)
    assert len({t.seed for t in sweep.tasks}) == len(sweep)


def test_serial_processes_and_dask_give_identical_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = _write(tmp_path, GRID)
    run_sweep(path, tmp_path / "serial", progress=False)
    run_sweep(path, tmp_path / "procs", workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        run_sweep(path, tmp_path / "dask", scheduler=client, progress=False)
    frames = [_stable(load_results(tmp_path / d, details=True)) for d in ("serial", "procs", "dask")]
    assert len(frames[0]) == 24 and (frames[0]["status"] == "ok").all()
    # the per-task draws (check stream and weights) are in details: equal streams
    assert frames[0]["details"].map(lambda d: d["draw"]).nunique() == 24
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
    # the verdict follows the known threshold exactly
    df = frames[0]
    assert (df["passed"] == (df["expansion"] >= _fake_lemmas.THRESHOLD)).all()
    # the consolidated table was written and reads back
    csv = pd.read_csv(tmp_path / "serial" / "results.csv")
    assert list(csv["task_id"]) == list(df["task_id"])


def test_phase_table_and_figure(tmp_path):
    run_sweep(_write(tmp_path, GRID), tmp_path / "out", progress=False)
    df = load_results(tmp_path / "out")
    table = phase_table(df)
    assert set(table["expansion"]) == {1.0, 4.0}
    assert set(table["rate"]) == {0.25, 0.5, 1.0}
    assert (table["n"] == 4).all()  # 2 laws x 2 replicates per cell
    assert (table.loc[table["expansion"] == 1.0, "fraction"] == 0.0).all()
    assert (table.loc[table["expansion"] == 4.0, "fraction"] == 1.0).all()
    fig = phase_figure(df)
    assert len(fig.axes) >= 1 and fig.axes[0].get_title() == "fake-expansion / random"
    import matplotlib.pyplot as plt

    plt.close(fig)


INVERT = """
[sweep]
kind = "invert"
masks = ["random", "top"]
rates = [0.5, 1.0]
[[sweep.networks]]
name = "tiny"
dims = 1
channels = [2, 8, 16]
kernels = [2, 2]
[sweep.invert]
trials = 4
iterations = 200
"""


def test_invert_tasks_record_recovery_statistics(tmp_path):
    path = _write(tmp_path, INVERT)
    run_sweep(path, tmp_path / "a", progress=False)
    run_sweep(path, tmp_path / "b", progress=False)
    a, b = (_stable(load_results(tmp_path / d)) for d in ("a", "b"))
    pd.testing.assert_frame_equal(a, b)  # same seed, same bits
    assert len(a) == 4 and (a["status"] == "ok").all() and (a["trials"] == 4).all()
    assert a["success_rate"].between(0, 1).all()
    assert ((a["ci_low"] <= a["success_rate"]) & (a["success_rate"] <= a["ci_high"])).all()
    assert (a["recovered"] == (a["success_rate"] * 4).round()).all()
    table = phase_table(load_results(tmp_path / "a"))
    assert set(table["facet"]) == {"recovery / random", "recovery / top"}
    assert "success_rate" in table.columns


SLOW = """
[sweep]
lemmas = ["fake-slow"]
imports = ["_fake_lemmas"]
replicates = 30
[[sweep.networks]]
name = "tiny"
dims = 1
channels = [1, 2]
kernels = [2]
"""


def test_killed_sweep_resumes_with_every_task_exactly_once(tmp_path):
    path = _write(tmp_path, SLOW)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
           "FAKE_SLOW_S": "0.05"}
    proc = subprocess.Popen([sys.executable, "-m", "verify", "sweep", str(path), "--out", str(out),
                             "--no-progress"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(read_records(out)) >= 5:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first = read_records(out)
    assert 5 <= len(first) < 30, "the sweep was not interrupted mid-run"
    # a torn final record (a crash mid-write) is dropped, never half-read
    with open(out / RESULTS, "ab") as fh:
        fh.write(b'{"task_id": "torn')
    assert len(read_records(out)) == len(first)
    # without --resume the directory is refused; with it, only the rest runs
    with pytest.raises(VerifyError, match="--resume"):
        run_sweep(path, out, progress=False)
    os.environ["FAKE_SLOW_S"] = "0"
    try:
        summary = run_sweep(path, out, resume=True, progress=False)
    finally:
        del os.environ["FAKE_SLOW_S"]
    assert summary.n_skipped == len(first) and summary.n_run == 30 - len(first)
    ids = [r["task_id"] for r in read_records(out)]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert (out / RESULTS).read_bytes().endswith(b"\n")
    expected = [t.task_id for t in load_sweep(path).tasks]
    assert sorted(ids) == sorted(expected)
    # a second resume has nothing left to do
    again = run_sweep(path, out, resume=True, progress=False)
    assert again.n_run == 0 and len(read_records(out)) == 30


def test_resume_refuses_a_different_sweep(tmp_path):
    path = _write(tmp_path, SLOW.replace("replicates = 30", "replicates = 2"))
    os.environ["FAKE_SLOW_S"] = "0"
    try:
        run_sweep(path, tmp_path / "out", progress=False)
        other = _write(tmp_path, SLOW.replace("replicates = 30", "replicates = 3"), "b.toml")
        with pytest.raises(VerifyError, match="different sweep"):
            run_sweep(other, tmp_path / "out", resume=True, progress=False)
    finally:
        del os.environ["FAKE_SLOW_S"]


CRASH = """
[sweep]
lemmas = ["fake-crash"]
imports = ["_fake_lemmas"]
replicates = 2
[[sweep.networks]]
name = "fine"
dims = 1
channels = [1, 2]
kernels = [2]
[[sweep.networks]]
name = "boom"
dims = 1
channels = [1, 2]
kernels = [2]
[[sweep.networks]]
name = "flaky"
dims = 1
channels = [1, 2]
kernels = [2]
"""


def test_dying_worker_is_retried_once_then_recorded_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FLAKY_DIR", str(tmp_path))
    summary = run_sweep(_write(tmp_path, CRASH), tmp_path / "out", workers=2, progress=False)
    df = load_results(tmp_path / "out")
    assert len(df) == 6 and df["task_id"].is_unique
    boom = df[df["network"] == "boom"]
    assert (boom["status"] == "failed").all() and (boom["attempts"] == 2).all()
    assert boom["error"].str.contains("died").all()
    flaky = df[df["network"] == "flaky"]
    assert (flaky["status"] == "ok").all() and (flaky["attempts"] == 2).all()
    fine = df[df["network"] == "fine"]
    assert (fine["status"] == "ok").all() and (fine["passed"]).all()
    assert summary.n_failed == 2


def test_task_that_raises_twice_is_recorded_failed_serially(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("always")

    monkeypatch.setattr(_fake_lemmas, "fake_slow", boom)
    from verify import registry

    check = registry.get_check("fake-slow")
    monkeypatch.setitem(registry._REGISTRY, "fake-slow",
                        type(check)(**{**check.__dict__, "run": boom}))
    summary = run_sweep(_write(tmp_path, SLOW.replace("30", "3")), tmp_path / "out", progress=False)
    df = load_results(tmp_path / "out")
    assert summary.n_failed == 3 and (df["status"] == "failed").all()
    assert df["error"].str.contains("RuntimeError: always").all()
    assert df["error"].str.contains("failed twice").all()


def test_cli_runs_and_reports(tmp_path, capsys):
    os.environ["FAKE_SLOW_S"] = "0"
    try:
        code = main(["sweep", str(_write(tmp_path, SLOW.replace("30", "4"))), "--out",
                     str(tmp_path / "out"), "--no-progress", "--json"])
    finally:
        del os.environ["FAKE_SLOW_S"]
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["n_tasks"] == 4 and out["n_run"] == 4 and out["n_failed"] == 0


BASE = """
[sweep]
lemmas = ["fake-expansion"]
imports = ["_fake_lemmas"]
presets = ["theory-2layer"]
"""


@pytest.mark.parametrize("text, key", [
    (BASE + "lemma = ['x']\n", "sweep.lemma"),
    (BASE.replace('lemmas = ["fake-expansion"]', "lemmas = []"), "sweep.lemmas"),
    (BASE.replace('lemmas = ["fake-expansion"]', 'lemmas = ["nope"]'), "sweep.lemmas[0]"),
    (BASE + "rates = [0.5, 1.5]\n", "sweep.rates[1]"),
    (BASE + "rates = []\n", "sweep.rates"),
    (BASE + "masks = ['diagonal']\n", "sweep.masks[0]"),
    (BASE + "weights = ['cauchy']\n", "sweep.weights[0]"),
    (BASE + "replicates = 0\n", "sweep.replicates"),
    (BASE + "base_seed = -1\n", "sweep.base_seed"),
    (BASE + "quick = 'yes'\n", "sweep.quick"),
    (BASE + "kind = 'train'\n", "sweep.kind"),
    (BASE.replace('presets = ["theory-2layer"]', 'presets = ["nope"]'), "sweep.presets[0]"),
    (BASE.replace('presets = ["theory-2layer"]', ""), "sweep.presets"),
    (BASE + "[[sweep.networks]]\nname = 'n'\ndims = 3\nchannels = [1, 2]\nkernels = [2]\n",
     "dims"),
    (BASE + "[[sweep.networks]]\nname = 'n'\ndims = 1\nlatent_channels = 1\n"
            "layers = [{channels = 2, kernel = 2, stride = 3}]\n", "sweep.networks[0]"),
    (BASE + "[[sweep.networks]]\nname = 'n'\ndims = 1\nwidth = 3\nchannels = [1, 2]\n"
            "kernels = [2]\n", "sweep.networks[0].width"),
    (BASE + "[other]\nx = 1\n", "other"),
    (BASE + "[sweep.invert]\ntrials = 3\n", "sweep.invert"),
    (INVERT.replace("trials = 4", "trials = 0"), "sweep.invert.trials"),
    (INVERT.replace("trials = 4", "step = 4"), "sweep.invert.step"),
    (INVERT.replace('masks = ["random", "top"]', 'masks = ["gaussian"]'), "sweep.masks"),
    (BASE.replace('imports = ["_fake_lemmas"]', 'imports = ["_fake_lemmas", "no_such_mod"]'),
     "sweep.imports[1]"),
    (BASE.replace('lemmas = ["fake-expansion"]', 'lemmas = ["fake-block"]')
     + "[[sweep.networks]]\nname = 'overlap'\ndims = 1\nlatent_channels = 1\n"
       "layers = [{channels = 2, kernel = 3, stride = 2}]\n", "does not apply"),
])
def test_bad_sweep_files_are_refused_by_key(tmp_path, capsys, text, key):
    path = _write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err and len(err.splitlines()) == 1
    assert not out.exists()  # nothing started, nothing written


def test_unreadable_and_invalid_toml_refused(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot be read" in capsys.readouterr().err
    bad = _write(tmp_path, "[sweep\n")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    with pytest.raises(VerifyError, match="sweep"):
        parse_sweep({})
