"""Every count a user can give is bounded up front (verify/work.py, the time budget).

A table lists each count-like input with a value inside its range and values outside
it (below, a non-integer, 10^18). Each command runs in-process (``verify.cli.main``)
with its work function replaced by one that records the call and stops the command:
an in-range value reaches the work (the guard lets it through); an out-of-range one
exits 2 with one line on stderr naming the input, and the work function was never
called. No clock is read: the proof is the record of calls.

The last tests make each long-running command's output folder unwritable (its parent
a regular file, which refuses even root) and expect exit 2 before the work starts.
"""

from __future__ import annotations

import pytest

from verify import budget, work
from verify.cli import main

#: Exit status recorded when the command reached its work function.
STARTED = "started"


class _Started(Exception):
    """Raised by a replaced work function: the command got as far as its work."""


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    """An empty folder, the default memory and time budgets, no inherited thread count."""
    monkeypatch.chdir(tmp_path)
    for var in ("VERIFY_MAX_MEMORY", "VERIFY_MAX_TIME", "VERIFY_BLAS_THREADS"):
        monkeypatch.delenv(var, raising=False)
    budget.set_budget(None)
    work.set_max_time(None)
    yield
    budget.set_budget(None)
    work.set_max_time(None)


@pytest.fixture
def calls(monkeypatch):
    """Replace every command's work function by one that records its call and stops."""
    import verify.cli.explore as cli_explore
    import verify.cli.invert as cli_invert
    import verify.cli.train_digits as cli_train
    import verify.registry as registry
    import verify.report.build as report_build
    import verify.runner as runner

    record: list[str] = []

    def stop(name):
        def fn(*args, **kwargs):
            record.append(name)
            raise _Started(name)
        return fn
    monkeypatch.setattr(registry.Registry, "_outcome", stop("check"))
    monkeypatch.setattr(report_build, "run_checks", stop("report"))
    monkeypatch.setattr(runner, "run", stop("sweep"))
    monkeypatch.setattr(cli_invert, "run_recovery", stop("invert"))
    monkeypatch.setattr(cli_train, "_data", stop("train-digits"))
    monkeypatch.setattr(cli_explore, "explore", stop("explore"))
    return record


def run_cli(capsys, argv) -> tuple[object, str]:
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors (one line, exit 2)
        rc = exc.code
    except _Started:
        rc = STARTED
    return rc, capsys.readouterr().err


SWEEP = """[sweep]
lemmas = ["permutation"]
presets = ["theory-2layer"]
replicates = {replicates}
"""
SWEEP_INVERT = """[sweep]
kind = "invert"
masks = ["random"]
rates = [0.5]
[[sweep.networks]]
name = "tiny"
dims = 1
channels = [2, 8, 16]
kernels = [2, 2]
[sweep.invert]
trials = {trials}
iterations = {iterations}
"""
CONFIG = """name = "tiny-partial"
[network]
dims = 1
latent_channels = 2
layers = [{{channels = 8, kernel = 2, stride = 2}}, {{channels = 16, kernel = 2, stride = 2}}]
[mask]
kind = "random"
rate = 0.5
[checks.partial]
adversarial_budget = {budget}
"""

BIG = 10**18
#: (input, argv with {v} for the value, environment variable or None, a value in range,
#:  values out of range). Files are written from the templates above with the value.
COUNTS = [
    ("--draws", ["check", "descent", "--quick", "--draws", "{v}"], None, 1,
     [0, -1, 2.5, BIG, 2**70]),
    ("--draws", ["report", "--quick", "--out", "rep", "--draws", "{v}"], None, 2,
     [0, 2.5, BIG]),
    ("--jobs", ["report", "--quick", "--out", "rep", "--jobs", "{v}"], None, 1,
     [0, 2.5, BIG]),
    ("--trials", ["invert", "--trials", "{v}"], None, 1, [0, -3, 2.5, BIG]),
    ("--iterations", ["invert", "--trials", "2", "--iterations", "{v}"], None, 1,
     [0, 2.5, BIG, 10**8]),
    ("--noise", ["invert", "--trials", "2", "--noise", "{v}"], None, 0,
     [-1, "nan", "inf", BIG]),
    ("--workers", ["sweep", "sweep.toml", "--out", "sw", "--workers", "{v}"], None, 1,
     [0, 2.5, BIG]),
    ("sweep.replicates", ["sweep", "{file}", "--out", "sw"], None, 1,
     [0, 2.5, BIG, 100_000]),
    ("sweep.invert.trials", ["sweep", "{file}", "--out", "sw"], None, 1, [0, 2.5, BIG]),
    ("sweep.invert.iterations", ["sweep", "{file}", "--out", "sw"], None, 1,
     [0, 2.5, BIG, 10**8]),
    ("--epochs", ["train-digits", "--out", "w.npz", "--epochs", "{v}"], None, 1,
     [0, 2.5, BIG, 50_000]),
    ("--max-examples", ["explore", "descent", "--quiet", "--max-examples", "{v}"], None, 1,
     [0, 2.5, BIG, 10**6]),
    ("--threads", ["check", "permutation", "--threads", "{v}"], None, 1, [0, 2.5, BIG]),
    ("VERIFY_BLAS_THREADS", ["check", "permutation"], "VERIFY_BLAS_THREADS", 1,
     [0, 2.5, BIG]),
    ("checks.partial.adversarial_budget", ["check", "partial", "--config", "{file}"], None,
     40, [0, 2.5, BIG]),
    ("--max-time", ["check", "permutation", "--max-time", "{v}"], None, "1h",
     [0, -1, "soon", "0.5s"]),
]


def _argv(tmp_path, name: str, argv: list, value) -> list[str]:
    """The command line for ``value``, writing the file the row needs."""
    (tmp_path / "sweep.toml").write_text(SWEEP.format(replicates=1))
    text = {"sweep.replicates": lambda: SWEEP.format(replicates=value),
            "sweep.invert.trials": lambda: SWEEP_INVERT.format(trials=value, iterations=10),
            "sweep.invert.iterations": lambda: SWEEP_INVERT.format(trials=2,
                                                                  iterations=value),
            "checks.partial.adversarial_budget": lambda: CONFIG.format(budget=value)}
    if name in text:
        (tmp_path / "input.toml").write_text(text[name]())
    return [str(a).replace("{v}", str(value)).replace("{file}", "input.toml") for a in argv]


@pytest.mark.parametrize("name, argv, env, good, bad", COUNTS,
                         ids=[f"{r[0]}-{r[1][0]}" for r in COUNTS])
def test_every_count_is_bounded_before_the_work(capsys, tmp_path, monkeypatch, calls,
                                                name, argv, env, good, bad):
    def run(value):
        if env is not None:
            monkeypatch.setenv(env, str(value))
        return run_cli(capsys, _argv(tmp_path, name, argv, value))

    rc, err = run(good)
    assert rc == STARTED, (good, err)          # in range: the guard lets it through
    assert len(calls) == 1
    calls.clear()
    for value in bad:
        rc, err = run(value)
        assert rc == 2, (name, value, rc, err)
        lines = err.splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert name in lines[0], (name, lines[0])
        assert calls == [], f"{name}={value!r}: the work started ({calls})"


def test_estimate_names_the_field_and_the_budget(capsys, calls):
    """The refusal states the estimate, the budget and how to change it."""
    rc, err = run_cli(capsys, ["check", "descent", "--draws", "100000"])
    assert rc == 2 and calls == []
    assert "--draws: estimated work" in err and "work units" in err
    assert "over the time budget of 8 h" in err and "--max-time" in err


def test_a_deep_network_is_refused_by_its_layers(capsys, tmp_path, calls):
    """Layers are a count too: a 2,000-layer network over a one-minute budget is refused
    naming network.layers (the default budget refuses 100,000 layers the same way)."""
    layers = "".join("[[network.layers]]\nchannels = 2\nkernel = 1\nstride = 1\n"
                     for _ in range(2000))
    (tmp_path / "deep.toml").write_text('name = "deep"\n[network]\ndims = 1\n'
                                        'latent_channels = 2\n' + layers)
    rc, err = run_cli(capsys, ["check", "permutation", "--config", "deep.toml",
                               "--max-time", "60s"])
    assert rc == 2 and calls == [], err
    assert err.count("\n") == 1 and "network.layers (2,000 layers)" in err


def test_work_model_is_a_formula_of_the_input():
    """Deterministic: the same spec and counts give the same units; the units grow
    linearly in draws and in depth beyond the reference size."""
    from verify.presets import get_preset
    from verify.registry import get_check
    from verify.spec import block_spec

    check = get_check("descent")
    spec = get_preset("theory-2layer").spec
    one, _ = work.check_wu(check, spec, draws=1)
    assert work.check_wu(check, spec, draws=1)[0] == one
    assert work.check_wu(check, spec, draws=40)[0] == 40 * one
    assert one == check.cost * work.WU_PER_SECOND
    deep = block_spec(1, (2,) + (2,) * 400, (1,) * 400)
    wu, field = work.check_wu(check, deep)
    assert wu == one * 400 / work.REF_DEPTH and field.startswith("network.layers")
    assert work.macs(spec) == 4 * 1 * 16 * 16 + 16 * 16 * 40 * 16


def test_the_reference_report_fits_the_default_budget():
    """The default budget is a generous multiple of the reference report: its estimate
    (the default draws, every known-bad configuration) is below a third of it."""
    from verify.presets import get_preset
    from verify.registry import discover

    wu = work.report_wu(list(discover().values()), get_preset, draws=None, quick=False)
    assert 3 * work.seconds(wu) < work.DEFAULT_MAX_TIME


# ----------------------------------------------------------- unwritable output folders
OUTPUTS = [
    ("report", ["report", "--quick", "--out", "blocker/sub/report"], "--out"),
    ("sweep", ["sweep", "sweep.toml", "--out", "blocker/sub/sw"], "--out"),
    ("train-digits", ["train-digits", "--epochs", "1", "--out", "blocker/sub/w.npz"],
     "--out"),
    ("train-digits", ["train-digits", "--epochs", "1", "--out", "w.npz",
                      "--grid", "blocker/sub/g.png"], "--grid"),
    ("explore", ["explore", "descent", "--quiet", "--max-examples", "1",
                 "--save", "blocker/sub/c.toml"], "--save"),
]


@pytest.mark.parametrize("command, argv, flag", OUTPUTS,
                         ids=[f"{r[0]}{r[2]}" for r in OUTPUTS])
def test_unwritable_output_folder_is_refused_before_the_work(capsys, tmp_path, calls,
                                                             command, argv, flag):
    (tmp_path / "blocker").write_text("a regular file where a folder should be")
    (tmp_path / "sweep.toml").write_text(SWEEP.format(replicates=1))
    rc, err = run_cli(capsys, argv)
    assert rc == 2, (rc, err)
    assert len(err.splitlines()) == 1 and flag in err and "blocker" in err, err
    assert calls == [], f"{command}: the work started before the output was checked"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "sweep.toml"]
