"""The one BLAS thread policy (verify.threads): the override order, the
restoration of the previous limits, the --threads flag, and the bench's use of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from verify import threads
from verify.bench import BenchContext, flop_row
from verify.cli import main
from verify.errors import VerifyError
from verify.threads import ENV_VAR, blas_threads, current_blas_threads, policy_threads

needs_blas = pytest.mark.skipif(current_blas_threads() is None,
                                reason="threadpoolctl sees no BLAS library")


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    return monkeypatch


def test_default_then_environment_then_explicit(no_env):
    assert policy_threads() == threads.DEFAULT_THREADS
    assert threads.policy_source() == "default"
    no_env.setenv(ENV_VAR, "3")
    assert policy_threads() == 3 and threads.policy_source() == "env"
    no_env.setenv(ENV_VAR, "all")
    assert policy_threads() == threads.all_cores()
    with blas_threads(2) as n:
        assert n == 2
        with blas_threads() as inner:      # a hot path asking for the policy
            assert inner == 2
    assert policy_threads() == threads.all_cores()


@needs_blas
def test_limits_applied_and_previous_restored(no_env):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        no_env.setenv(ENV_VAR, "1")
        with blas_threads() as n:
            assert n == 1 and current_blas_threads() == 1
        assert current_blas_threads() == 2
        with pytest.raises(RuntimeError):
            with blas_threads(1):
                raise RuntimeError("inside")
        assert current_blas_threads() == 2
        assert not threads._ACTIVE


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", ""])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ValueError):
        threads.parse_threads(bad)


def test_bad_environment_value_names_the_variable(no_env):
    no_env.setenv(ENV_VAR, "lots")
    with pytest.raises(VerifyError, match=f"^{ENV_VAR}:"):
        policy_threads()


@pytest.mark.parametrize("command", [["invert"], ["bench"], ["check", "symbolic"],
                                     ["report", "--out", "unused"],
                                     ["sweep", "unused.toml", "--out", "unused"]])
@pytest.mark.parametrize("bad", ["0", "x"])
def test_bad_threads_flag_exits_2_naming_it(command, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--threads", bad])
    assert exc.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_bad_environment_exits_2(no_env, capsys):
    no_env.setenv(ENV_VAR, "0")
    assert main(["invert", "--trials", "2", "--iterations", "2"]) == 2
    assert ENV_VAR in capsys.readouterr().err


def test_threads_flag_is_the_policy_of_the_run(no_env, capsys):
    no_env.setenv(ENV_VAR, "1")  # restored by monkeypatch after the flag rewrites it
    assert main(["invert", "--trials", "2", "--iterations", "2", "--threads", "2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["invert"]["blas_threads"] == 2
    assert policy_threads() == 2


def test_gemm_fraction_uses_the_rate_at_the_case_thread_count():
    ctx = BenchContext(quick=True, gemm_gflops=10.0, threads=1)
    ctx._rates[2] = 40.0  # as if measured at 2 threads in this run
    one = flop_row("x", 2e9, 1.0, ctx)
    two = flop_row("x", 2e9, 1.0, ctx, threads=2)
    assert (one.gemm_gflops, one.threads, one.fraction_of_gemm) == (10.0, 1, 0.2)
    assert (two.gemm_gflops, two.threads, two.fraction_of_gemm) == (40.0, 2, 0.05)


@needs_blas
def test_thread_cases_time_the_hot_path_at_each_count(no_env):
    from verify.benchmarks.thread_policy import threads_row, time_at_counts

    seen = []
    times = time_at_counts(lambda: seen.append(current_blas_threads()), [1, 2], repeats=1)
    assert sorted(times) == [1, 2] and seen == [1, 2, 1, 2]
    row = threads_row("case", lambda: np.ones(10).sum(), "tiny")
    assert row.target == "ratio >= 0.9" and row.ratio > 0
    assert "1 thread / all" in row.notes


@needs_blas
def test_every_check_runs_under_the_policy(no_env):
    """The registry runs each check's draws inside blas_threads(): a check sees the
    policy's count as the BLAS limit, and the previous limit is back afterwards."""
    from verify import registry
    from verify.presets import Config
    from verify.results import Criterion, Outcome
    from verify.spec import block_spec

    seen = []

    def probe(instance, *, rng, quick):
        seen.append(current_blas_threads())
        return Outcome(headline=Criterion("probe", 0.0, 0.0, "<="), criteria=(), n_samples=1)

    reg = registry.Registry()
    reg.register("probe", statement="s", reference="r", presets={}, check=probe)
    cfg = Config("c", block_spec(1, (2, 8), (2,)))
    before = current_blas_threads()
    with registry.use(reg):
        for n in (1, 2):
            no_env.setenv(ENV_VAR, str(n))
            registry.run_check("probe", cfg, draws=1)
    assert seen == [1, 2]
    assert current_blas_threads() == before
