"""``verify bench --out DIR``: timings go to files (bench.json, BENCH.md), which carry
where they were measured; a folder that cannot be written is refused before any case."""

from __future__ import annotations

import json

import pytest

from verify.bench import BenchRow, bench_case, unregister_case
from verify.cli import main


@pytest.fixture
def tiny_case():
    name = "test: a tiny case against itself"

    @bench_case(name, order=0)
    def _case(ctx):
        return BenchRow(name, 0.5, "itself twice", 1.0, 2.0, target="ratio >= 1.5", met=True)

    yield name
    unregister_case(name)


def test_bench_out_writes_json_and_markdown(tmp_path, tiny_case, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "--quick", "--case", tiny_case, "--out", str(out)]) == 0
    record = json.loads((out / "bench.json").read_text())
    assert record["quick"] is True and record["machine"]["cpu_count"] >= 1
    assert record["libraries"]["numpy"] and record["blas_threads"].startswith("BLAS threads")
    [row] = record["rows"]
    assert row["case"] == tiny_case and row["ratio"] == 2.0 and row["met"] is True
    md = (out / "BENCH.md").read_text()
    assert f"| {tiny_case} | 0.5 | itself twice | 1 | 2.00 | ratio >= 1.5 | yes |" in md


def test_bench_out_unwritable_is_refused_before_any_case(tmp_path, tiny_case, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["bench", "--case", tiny_case, "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "bench: test:" not in err
