"""`verify sweep`: identical results serial / processes / Dask, kill-and-resume with every
task exactly once, retries of dying workers, bad sweep files refused by key, a damaged
folder refused by file and line on --resume, one sweep per folder (the lock), a lazy
plan (a million tasks start at once), and a --resume that reports what the folder holds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
import tracemalloc
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
from verify import budget
from verify.measurements import CONFIG_KINDS
from verify.rng import Streams
from verify.sweep import (LOCK, MANIFEST, RESULTS, TABLE, _FolderLock, load_results,
                          load_sweep, parse_sweep, phase_figure, phase_table, read_records,
                          run_sweep)

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
    for t in sweep.tasks:
        assert t.streams == Streams(11).task(t.index)
        assert t.streams.record() == {"entropy": "11", "spawn_key": [3, t.index]}
        assert t.seed == f"11/3.{t.index}"
    assert len({t.task_id for t in sweep.tasks}) == len(sweep)
    # the ids hash what the task is (seed: the streams' identity as text)
    for t in sweep.tasks:
        ident = json.dumps({"kind": t.kind, "lemma": t.lemma, "config": t.config,
                            "replicate": t.replicate, "seed": t.seed, "quick": t.quick,
                            "options": t.options}, sort_keys=True)
        assert t.task_id == f"{t.index:06d}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}"


@pytest.mark.parametrize("base_seed", [0, 11, 2**40 + 3])
def test_task_streams_are_spawned_children(base_seed):
    """Task i's streams, built in O(1), are the very SeedSequence ``spawn`` gives: child
    i of child 3 (verify.rng's task branch) of ``SeedSequence(base_seed)``."""
    tasks = np.random.SeedSequence(base_seed).spawn(4)[3].spawn(40)
    for i in (0, 1, 7, 39):
        direct = Streams(base_seed).task(i).seed_sequence
        assert direct.entropy == tasks[i].entropy
        assert direct.spawn_key == tasks[i].spawn_key
        np.testing.assert_array_equal(direct.generate_state(8), tasks[i].generate_state(8))
        assert Streams.from_record(Streams(base_seed).task(i).record()) == Streams(base_seed).task(i)


@pytest.mark.slow  # builds 10^5 tasks' streams
def test_hundred_thousand_replicates_never_repeat_a_stream(tmp_path):
    """10^5 tasks of one plan: distinct stream identities and distinct first 64-bit words
    (a 32-bit seed per task would repeat by chance: ~1 collision expected at 10^5).
    The plan is only built, never run: a budget above its work estimate lets it through
    (verify/work.py; at the default 8 h a grid of 10^5 one-second checks is refused)."""
    from verify import work

    with work.scoped("100d"):
        sweep = parse_sweep({"sweep": {"lemmas": ["fake-slow"], "imports": ["_fake_lemmas"],
                                       "presets": ["theory-2layer"], "replicates": 100_000,
                                       "base_seed": 3}})
    assert len(sweep) == 100_000
    idents, words = set(), set()
    for t in sweep.tasks:  # built lazily, one at a time
        s = t.streams
        idents.add((s.entropy, s.spawn_key))
        words.add(int(s.seed_sequence.generate_state(1, np.uint64)[0]))
    assert len(idents) == len(words) == 100_000


@pytest.mark.slow  # three sweeps, one of them on a dask cluster
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


def _tiny_config(kind: str, rate: float):
    """INVERT's network, built through the public API (not the sweep's own builder)."""
    from verify.presets import Config
    from verify.spec import block_spec

    return Config("tiny", block_spec(1, (2, 8, 16), (2, 2))).with_mask(kind, rate)


def test_invert_task_is_run_recovery_on_its_streams(tmp_path):
    """A sweep's recovery task and run_recovery(config, options, Streams(base).task(i))
    called directly give the same per-trial relative errors, bit for bit."""
    from verify.inversion.experiment import InvertOptions, run_recovery

    run_sweep(_write(tmp_path, INVERT), tmp_path / "out", progress=False)
    records = sorted(read_records(tmp_path / "out"), key=lambda r: r["index"])
    options = InvertOptions.from_mapping({"trials": 4, "iterations": 200})
    assert len(records) == 4
    for rec in records:
        assert rec["streams"] == Streams(0).task(rec["index"]).record()
        direct = run_recovery(_tiny_config(rec["mask"], rec["rate"]), options,
                              Streams(0).task(rec["index"]))
        assert np.array_equal(np.asarray(rec["details"]["rel_error"]), direct.stats.rel_error)
        assert rec["recovered"] == direct.stats.recovered
        assert rec["success_rate"] == direct.stats.success_rate
        assert rec["observed"] == direct.observed


def test_cli_invert_is_run_recovery_on_its_seed(capsys):
    """`verify invert --seed N` is run_recovery(config, options, N)."""
    import inspect

    import verify.cli.invert as cli_invert
    from verify.inversion.experiment import InvertOptions, run_recovery
    from verify.presets import get_preset

    if "run_recovery" not in inspect.getsource(cli_invert):
        pytest.skip("verify invert does not call run_recovery yet")
    args = ["invert", "--preset", "theory-2layer", "--mask", "random", "--rate", "0.5",
            "--trials", "4", "--iterations", "60", "--seed", "7", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    direct = run_recovery(get_preset("theory-2layer"),
                          InvertOptions(kind="random", rate=0.5, trials=4, iterations=60), 7)
    assert out["recovered"] == direct.stats.recovered
    assert out["median_rel_error"] == direct.stats.median_rel_error
    assert out["success_rate"] == direct.stats.success_rate


def test_invert_tasks_take_dtype_and_keep_their_hash_without_it():
    """[sweep.invert] dtype = "float32" runs the float32 recovery; a file without it
    keeps the options (and so the plan hash and task ids) it had before dtype existed."""
    from verify.inversion.experiment import InvertOptions, run_recovery
    from verify.spec import parse_toml

    plain = parse_sweep(parse_toml(INVERT, "sweep"))
    assert "dtype" not in plain.options
    f32 = parse_sweep(parse_toml(INVERT + 'dtype = "float32"\n', "sweep"))
    assert f32.options["dtype"] == "float32"
    task = f32.task(0)
    result = run_recovery(_tiny_config(task.config["mask"]["kind"], task.config["mask"]["rate"]),
                          InvertOptions(**task.options), task.streams)
    assert result.stats.result.settings["dtype"] == "float32"
    with pytest.raises(VerifyError, match="sweep.invert.dtype"):
        parse_sweep(parse_toml(INVERT + 'dtype = "float16"\n', "sweep"))


def test_invert_options_are_invert_options():
    """[sweep.invert] is InvertOptions (one validation, one set of defaults): without
    ``trials`` a sweep runs InvertOptions' default count, and ``lp`` is a method."""
    from verify.inversion.experiment import InvertOptions
    from verify.spec import parse_toml

    bare = parse_sweep(parse_toml(INVERT.replace("trials = 4\n", ""), "sweep"))
    assert bare.options == InvertOptions(iterations=200).to_dict()
    assert bare.task(0).options["trials"] == InvertOptions().trials
    lp = parse_sweep(parse_toml(INVERT + 'method = "lp"\n', "sweep"))
    assert lp.options["method"] == "lp"
    checks = parse_sweep({"sweep": {"lemmas": ["fake-expansion"], "imports": ["_fake_lemmas"],
                                    "presets": ["theory-2layer"], "masks": list(CONFIG_KINDS)}})
    assert {t.config["mask"]["kind"] for t in checks.tasks} == set(CONFIG_KINDS)


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


@pytest.mark.slow  # a sweep in another interpreter, killed, then resumed
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


def test_task_that_raises_twice_is_recorded_failed_serially(tmp_path):
    def boom(*args, **kwargs):
        raise RuntimeError("always")

    from verify import registry

    check = registry.get_check("fake-slow")
    sandbox = registry.Registry()  # fake-slow, its check replaced by one that raises
    sandbox.register(check.id, statement=check.statement, reference=check.reference,
                     presets=check.presets, check=boom)
    with registry.use(sandbox):
        summary = run_sweep(_write(tmp_path, SLOW.replace("30", "3")), tmp_path / "out",
                            progress=False)
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
    (INVERT.replace('masks = ["random", "top"]', 'masks = ["gaussian"]'), "sweep.masks[0]"),
    (INVERT + "kind = 'top'\n", "sweep.invert.kind"),
    (INVERT + "rate = 0.5\n", "sweep.invert.rate"),
    (INVERT + "method = 'newton'\n", "sweep.invert.method"),
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


# ------------------------------------------------------------ the folder's truth
MIXED = """
[sweep]
lemmas = ["fake-expansion"]
imports = ["_fake_lemmas"]
replicates = 2
base_seed = 5
[[sweep.networks]]
name = "narrow"
dims = 1
channels = [4, 4, 8]
kernels = [1, 2]
[[sweep.networks]]
name = "wide"
dims = 1
channels = [2, 8, 16]
kernels = [2, 2]
"""


def _sweep_json(capsys, args) -> tuple[int, dict]:
    code = main(["sweep", *map(str, args), "--no-progress", "--json"])
    return code, json.loads(capsys.readouterr().out)


_COUNTS = ("n_tasks", "n_failed", "n_mismatched", "n_matched", "n_missing")


def test_resume_reports_what_the_folder_holds(tmp_path, capsys):
    """A --resume counts every record in the folder, old and new: on a finished sweep
    with mismatches it exits 1 with the first run's counts, not 0 with none."""
    path = _write(tmp_path, MIXED)
    out = tmp_path / "out"
    code, fresh = _sweep_json(capsys, [path, "--out", out])
    # narrow (expansion 1 < 3) fails where a pass is expected: 2 mismatches
    assert code == 1 and fresh["n_mismatched"] == 2 and fresh["n_matched"] == 2
    assert fresh["n_failed"] == 0 and fresh["n_missing"] == 0 and fresh["n_run"] == 4

    code, again = _sweep_json(capsys, [path, "--out", out, "--resume"])
    assert code == 1 and again["n_run"] == 0 and again["n_skipped"] == 4
    assert {k: again[k] for k in _COUNTS} == {k: fresh[k] for k in _COUNTS}

    # half done (the mismatching records old, the matching ones rerun): same truth
    lines = (out / RESULTS).read_bytes().splitlines(keepends=True)
    narrow = [ln for ln in lines if b'"network":"narrow"' in ln]
    (out / RESULTS).write_bytes(b"".join(narrow))
    code, half = _sweep_json(capsys, [path, "--out", out, "--resume"])
    assert code == 1 and half["n_run"] == 2 and half["n_skipped"] == 2
    assert {k: half[k] for k in _COUNTS} == {k: fresh[k] for k in _COUNTS}
    assert len(pd.read_csv(out / TABLE)) == 4

    # every record carries the criteria that failed
    for rec in read_records(out):
        if rec["network"] == "narrow":
            assert rec["matches_expectation"] is False and rec["accepted"] is False
            assert rec["failed_criteria"] == [{"name": "min expansion", "statistic": 1.0,
                                               "bound": 3.0, "sense": ">=", "margin": -2.0}]
        else:
            assert rec["matches_expectation"] is True and rec["failed_criteria"] == []


REAL = """
[sweep]
lemmas = ["permutation"]
presets = ["theory-2layer"]
replicates = 2
base_seed = 9
"""


@pytest.mark.parametrize("text, base", [(MIXED, 5), (REAL, 9)], ids=["fake", "permutation"])
def test_check_task_is_run_check_on_its_streams(tmp_path, text, base):
    """A sweep's check task and run_check(lemma, config, seed=Streams(base).task(i))
    called directly give the same statistic, bound, verdict and details."""
    from verify.presets import Config, get_preset
    from verify.registry import run_check
    from verify.results import jsonable
    from verify.spec import block_spec

    run_sweep(_write(tmp_path, text), tmp_path / "out", progress=False)
    networks = {"narrow": Config("narrow", block_spec(1, (4, 4, 8), (1, 2))),
                "wide": Config("wide", block_spec(1, (2, 8, 16), (2, 2)))}
    for rec in read_records(tmp_path / "out"):
        assert rec["status"] == "ok", rec.get("error")
        config = networks.get(rec["network"]) or get_preset(rec["network"])
        streams = Streams(base).task(rec["index"])
        direct = run_check(rec["lemma"], config, seed=streams, quick=True, draws=1)
        assert rec["seed"] == str(streams) == str(direct.seed)
        assert (rec["statistic"], rec["bound"], rec["verdict"], rec["passed"]) == \
            (direct.statistic, direct.bound, direct.verdict, direct.passed)
        assert rec["details"] == jsonable(direct.details)


def test_invert_records_carry_their_failed_criterion(tmp_path):
    path = _write(tmp_path, INVERT.replace("iterations = 200", "iterations = 1"))
    summary = run_sweep(path, tmp_path / "out", progress=False)
    assert summary.exit_code == 0  # recoveries have no expectation to miss
    for rec in read_records(tmp_path / "out"):
        failed = rec["success_rate"] < 0.5
        assert rec["passed"] is not failed
        assert rec["failed_criteria"] == ([{"name": "success rate",
                                            "statistic": rec["success_rate"], "bound": 0.5,
                                            "sense": ">=", "margin": rec["success_rate"] - 0.5}]
                                          if failed else [])


# ------------------------------------------------------------ a damaged folder
SMALL = SLOW.replace("replicates = 30", "replicates = 4")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 4-task sweep folder (fake-slow, no sleep) and its sweep file."""
    tmp = tmp_path_factory.mktemp("finished")
    path = _write(tmp, SMALL)
    os.environ["FAKE_SLOW_S"] = "0"
    try:
        assert run_sweep(path, tmp / "out", progress=False).exit_code == 0
    finally:
        del os.environ["FAKE_SLOW_S"]
    return path, tmp / "out"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _edit_manifest(fn):
    def edit(out: Path) -> None:
        m = json.loads((out / MANIFEST).read_text())
        (out / MANIFEST).write_text(json.dumps(fn(m)))
    return edit


def _edit_line(n: int, fn):
    def edit(out: Path) -> None:
        lines = (out / RESULTS).read_bytes().splitlines(keepends=True)
        lines[n - 1] = fn(lines[n - 1])
        (out / RESULTS).write_bytes(b"".join(lines))
    return edit


def _edit_record(n: int, fn):
    def change(line: bytes) -> bytes:
        return (json.dumps(fn(json.loads(line))) + "\n").encode()
    return _edit_line(n, change)


def _without(rec: dict, key: str) -> dict:
    return {k: v for k, v in rec.items() if k != key}


@pytest.mark.parametrize("damage, where, what", [
    (lambda out: (out / MANIFEST).write_text('{"format": 2,\n "plan_hash": '),
     "sweep.json line 2", "not valid JSON"),
    (lambda out: (out / MANIFEST).write_text("[1, 2]"), "sweep.json", "JSON object"),
    (_edit_manifest(lambda m: _without(m, "plan_hash")), "sweep.json", "'plan_hash'"),
    (_edit_manifest(lambda m: {**m, "n_tasks": "four"}), "sweep.json", "'n_tasks'"),
    (_edit_manifest(lambda m: {**m, "sweep": None}), "sweep.json", "'sweep'"),
    (_edit_manifest(lambda m: {**m, "format": 9}), "sweep.json", "format 9"),
    (_edit_manifest(lambda m: {**m, "plan_hash": "0" * 40}), "--resume", "different sweep"),
    (lambda out: (out / MANIFEST).unlink(), "sweep.json", "missing"),
    (_edit_line(2, lambda ln: b"{garbage\n"), "results.jsonl line 2", "not a JSON record"),
    (_edit_line(3, lambda ln: b"[1, 2]\n"), "results.jsonl line 3", "JSON object"),
    (_edit_line(3, lambda ln: b"\n"), "results.jsonl line 3", "not a JSON record"),
    (_edit_record(1, lambda r: _without(r, "task_id")), "results.jsonl line 1", "'task_id'"),
    (_edit_record(2, lambda r: {**r, "index": "1"}), "results.jsonl line 2", "'index'"),
    (_edit_record(2, lambda r: {**r, "status": "done"}), "results.jsonl line 2", "'status'"),
    (_edit_record(4, lambda r: _without(r, "matches_expectation")), "results.jsonl line 4",
     "matches_expectation"),
    (_edit_record(4, lambda r: {**r, "task_id": r["task_id"][:-4] + "beef"}),
     "results.jsonl line 4", "not a task of this sweep"),
    (_edit_record(1, lambda r: {**r, "index": 99}), "results.jsonl line 1",
     "not a task of this sweep"),
    # a bad LAST line that ends in a newline was written whole: damage, not a torn write
    (lambda out: (out / RESULTS).write_bytes((out / RESULTS).read_bytes() + b'{"task_id"\n'),
     "results.jsonl line 5", "not a JSON record"),
])
def test_damaged_folder_is_refused_on_resume_by_file_and_line(finished, tmp_path, capsys,
                                                              damage, where, what):
    path, done = finished
    out = tmp_path / "out"
    shutil.copytree(done, out)
    damage(out)
    before = _snapshot(out)
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert where in err and what in err, err
    assert _snapshot(out) == before  # nothing written, nothing repaired


def test_torn_last_line_is_cut_and_its_task_rerun(finished, tmp_path, capsys):
    """What a kill -9 mid-write leaves (a last line without its newline) is the one
    damage tolerated: readers skip it, --resume cuts it and runs its task again."""
    path, done = finished
    out = tmp_path / "out"
    shutil.copytree(done, out)
    lines = (out / RESULTS).read_bytes().splitlines(keepends=True)
    (out / RESULTS).write_bytes(b"".join(lines[:3]) + lines[3][:-1])  # even valid JSON
    assert len(read_records(out)) == 3
    code, summary = _sweep_json(capsys, [path, "--out", out, "--resume"])
    assert code == 0 and summary["n_run"] == 1 and summary["n_skipped"] == 3
    data = (out / RESULTS).read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 4
    ids = [r["task_id"] for r in read_records(out)]
    assert sorted(ids) == sorted(t.task_id for t in load_sweep(path).tasks)


@pytest.mark.parametrize("fmt", [1, 2])
def test_folders_of_older_stream_layouts_are_refused_by_format(finished, tmp_path, capsys,
                                                                fmt):
    """Formats 1 and 2 drew task i from SeedSequence(base_seed, spawn_key=(i,)) and a
    32-bit seed: resuming one would mix two stream layouts, so --resume refuses it,
    naming the format, and writes nothing."""
    path, done = finished
    out = tmp_path / "out"
    shutil.copytree(done, out)
    sweep = load_sweep(path)
    if fmt == 1:
        ids = [t.task_id for t in sweep.tasks]
        old = {"version": "0.1.0", "digest": hashlib.sha1("\n".join(ids).encode()).hexdigest(),
               "n_tasks": 4, "sweep": sweep.spec, "tasks": [t.to_dict() for t in sweep.tasks]}
    else:
        old = {**json.loads((out / MANIFEST).read_text()), "format": 2}
    (out / MANIFEST).write_text(json.dumps(old))
    before = _snapshot(out)
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"format {fmt}" in err and "older" in err and "another --out" in err, err
    assert _snapshot(out) == before


# ------------------------------------------------------------ output folder and lock
@pytest.mark.parametrize("where", ["under-file", "proc"])
def test_unwritable_out_is_refused_before_work(finished, tmp_path, capsys, where):
    path, _ = finished
    if where == "under-file":
        blocker = tmp_path / "file"
        blocker.write_text("x")
        out = blocker / "sub"
    else:
        out = Path("/proc/verify-sweep-test/out")
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--out" in err and len(err.splitlines()) == 1
    assert not out.exists()
    if where == "under-file":
        assert blocker.read_text() == "x"


def test_second_sweep_on_a_locked_folder_is_refused(finished, tmp_path, capsys):
    """Another thread holds the folder's lock: a sweep there exits 2 naming the folder
    and writes nothing; once the lock is released the same command runs."""
    path, _ = finished
    out = tmp_path / "out"
    held, release = threading.Event(), threading.Event()

    def holder():
        lock = _FolderLock(out)
        held.set()
        release.wait(30)
        lock.release()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30)
        assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert "in use" in err and str(out) in err and len(err.splitlines()) == 1
        assert sorted(p.name for p in out.iterdir()) == [LOCK]
    finally:
        release.set()
        thread.join(30)
    os.environ["FAKE_SLOW_S"] = "0"
    try:
        assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 0
    finally:
        del os.environ["FAKE_SLOW_S"]
    assert len(read_records(out)) == 4


# ------------------------------------------------------------ a lazy plan, a guarded grid
BIG = """
[sweep]
lemmas = ["fake-slow"]
imports = ["_fake_lemmas"]
replicates = 100000
masks = ["random"]
rates = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
[[sweep.networks]]
name = "tiny"
dims = 1
channels = [1, 2]
kernels = [2]
"""


@pytest.fixture
def default_budget():
    yield
    budget.set_budget(None)


def test_million_task_plan_is_lazy(tmp_path):
    """10^6 tasks: the plan is a formula, not a list (a list of that many tasks is
    gigabytes); task i is built on demand from spawn's child i."""
    from verify.spec import read_toml

    parse_sweep({"sweep": {"lemmas": ["fake-slow"], "presets": ["theory-2layer"]}})  # imports
    from verify import work

    data = read_toml(_write(tmp_path, BIG), "sweep file")
    tracemalloc.start()
    try:
        with work.scoped("1000d"):  # built, never run: above its work estimate (5.8 days)
            sweep = parse_sweep(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sweep) == len(sweep.tasks) == 10**6
    assert peak < 5e6, f"parsing held {peak / 1e6:.1f} MB"
    last = sweep.task(10**6 - 1)
    assert last.streams == Streams(0).task(10**6 - 1)
    assert (last.replicate, last.config["mask"]) == (99_999, {"kind": "random", "rate": 1.0})
    assert sweep[-1].task_id == last.task_id and sweep.task(0).index == 0


@pytest.mark.slow  # a sweep in another interpreter, killed
def test_million_task_sweep_starts_at_once_and_locks_its_folder(tmp_path, capsys):
    """Run in another process: its first record comes soon (no task list is built or
    written; the manifest stays small), a second sweep on the folder is refused while
    it runs, and kill -9 releases the lock."""
    path = _write(tmp_path, BIG)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
           "FAKE_SLOW_S": "0.1"}
    # --max-time: the grid's estimate (5.8 days of one-second checks) is over the default
    # budget; this test runs it only until it is killed
    proc = subprocess.Popen([sys.executable, "-m", "verify", "sweep", str(path), "--out",
                             str(out), "--no-progress", "--max-time", "1000d"], env=env,
                            cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # generous: python start-up and imports
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / RESULTS).exists() and (out / RESULTS).stat().st_size:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert len(read_records(out)) >= 1, "no task finished within the guard"
        manifest = json.loads((out / MANIFEST).read_text())
        assert (out / MANIFEST).stat().st_size < 4096
        assert manifest["n_tasks"] == 10**6 and "tasks" not in manifest
        # a second sweep on the same folder, while the first runs
        assert main(["sweep", str(path), "--out", str(out), "--resume", "--no-progress",
                     "--max-time", "1000d"]) == 2
        err = capsys.readouterr().err.strip()
        assert "in use" in err and str(out) in err and len(err.splitlines()) == 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    _FolderLock(out).release()  # the kernel released the killed process's lock


def test_grid_over_the_memory_budget_is_refused_by_field(tmp_path, capsys, default_budget):
    path = _write(tmp_path, BIG)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--max-memory", "1M"]) == 2
    err = capsys.readouterr().err.strip()
    assert "sweep.replicates" in err and "1,000,000 tasks" in err and "needs about" in err
    assert len(err.splitlines()) == 1 and not out.exists()


def test_huge_network_in_the_grid_is_refused_by_field(tmp_path, capsys):
    text = BASE + ("[[sweep.networks]]\nname = 'huge'\ndims = 1\nlatent_channels = 16\n"
                   "layers = [{channels = 8, kernel = 1000000000, stride = 1000000000}]\n")
    out = tmp_path / "out"
    # refused from the spec (the error names the field), never allocated
    assert main(["sweep", str(_write(tmp_path, text)), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "sweep.networks[0].layers[0].kernel" in err and "needs about" in err, err
    assert len(err.splitlines()) == 1 and not out.exists()
