"""``DIR/results.jsonl`` and ``DIR/results.csv``: the append-only writer, reading and
checking records, the per-task state of a folder, the consolidated table and
:func:`load_results`. (Formats: the package docstring, :mod:`verify.sweep`.)"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np

from ..errors import VerifyError
from ..results import jsonable

if TYPE_CHECKING:
    from .plan import Sweep

RESULTS = "results.jsonl"
TABLE = "results.csv"


# ============================================================== writing
class ResultsWriter:
    """Append-only JSON Lines: one ``os.write`` of a whole line per record on an
    ``O_APPEND`` descriptor, so a kill leaves whole records (and at most a torn last
    line, which every reader ignores and which is cut off here before appending)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _repair_tail(path)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: Mapping[str, Any]) -> None:
        line = (json.dumps(jsonable(record), allow_nan=False, separators=(",", ":")) + "\n").encode()
        n = os.write(self.fd, line)
        if n != len(line):  # a regular file short-writes only when the disk is full
            raise OSError(f"short write to {self.path} ({n} of {len(line)} bytes)")

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


def _repair_tail(path: Path) -> None:
    """Cut a torn final line (a record cut by a crash mid-write) before appending;
    reads only the file's tail."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "r+b") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        end, chunk = size, 1 << 16
        while end > 0:
            start = max(0, end - chunk)
            fh.seek(start)
            nl = fh.read(end - start).rfind(b"\n")
            if nl >= 0:
                fh.truncate(start + nl + 1)
                return
            end = start
        fh.truncate(0)


#: Fields every record has, with their JSON types.
_RECORD_FIELDS = {"task_id": str, "index": int, "kind": str, "status": str}
_STATUSES = ("ok", "failed")


def _parse_record(raw: bytes, path: Path, lineno: int) -> dict[str, Any]:
    """One whole line of ``results.jsonl`` as a record; VerifyError naming the file and
    line when it is not a record."""
    where = f"{path} line {lineno}"
    try:
        rec = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise VerifyError(f"{where}: not a JSON record ({msg}); only a torn last line "
                          "(no final newline) is tolerated") from None
    if not isinstance(rec, dict):
        raise VerifyError(f"{where}: expected a JSON object (a task record), got "
                          f"{type(rec).__name__}")
    for key, typ in _RECORD_FIELDS.items():
        if key not in rec:
            raise VerifyError(f"{where}: the record lacks the field {key!r}")
        value = rec[key]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise VerifyError(f"{where}: field {key!r} should be {typ.__name__}, got "
                              f"{value!r}")
    if rec["status"] not in _STATUSES:
        raise VerifyError(f"{where}: field 'status' should be one of "
                          f"{', '.join(_STATUSES)}, got {rec['status']!r}")
    if rec["status"] == "ok" and rec["kind"] == "check":
        if not isinstance(rec.get("matches_expectation"), bool):
            raise VerifyError(f"{where}: a finished check's record lacks "
                              "'matches_expectation' (true or false)")
        if not isinstance(rec.get("accepted", False), bool):
            raise VerifyError(f"{where}: field 'accepted' should be true or false, got "
                              f"{rec['accepted']!r}")
    return rec


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, bytes) of every whole line of ``path``; a torn last
    line (no final newline) is left out."""
    offset = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return  # only the last line can lack its newline: torn by a crash
            yield lineno, offset, raw
            offset += len(raw)


def read_records(out: str | Path) -> list[dict[str, Any]]:
    """The records of ``DIR/results.jsonl``, in file order (a torn last line left out).

    Raises
    ------
    VerifyError
        Naming the file and line of a line that is not a task record.
    """
    path = Path(out) / RESULTS
    if not path.exists():
        return []
    return [_parse_record(raw, path, n) for n, _, raw in _lines(path)]


def load_results(out: str | Path, *, details: bool = False):
    """The sweep's results as a pandas DataFrame, one row per task (its first record),
    in task order.

    ``details=True`` keeps the per-check ``details`` (dicts) and tracebacks."""
    import pandas as pd

    records = read_records(out)
    if not details:
        records = [{k: v for k, v in r.items() if k not in ("details", "traceback")}
                   for r in records]
    df = pd.DataFrame.from_records(records)
    if len(df):
        df = df.drop_duplicates("task_id", keep="first")
        df = df.sort_values("index", kind="stable").reset_index(drop=True)
    return df


# ============================================================== the folder's state
#: Per-task status codes in the coordinator's bookkeeping.
_NONE, _MATCH, _MISMATCH, _FAILED = 0, 1, 2, 3


@dataclass
class State:
    """What the records in a folder say, per task of the plan (no records held)."""

    status: bytearray          # per task index: _NONE, _MATCH, _MISMATCH or _FAILED
    offsets: np.ndarray        # per task index: byte offset of its first record, or -1
    columns: dict[str, None]   # record keys in order of first appearance

    def count(self, code: int) -> int:
        return self.status.count(code)


def _scan(out: Path, sweep: Sweep, *, check_plan: bool = True) -> State:
    """Read and check every record of ``out`` (one pass, streaming). ``check_plan``:
    also rebuild each record's task from its index and compare the ids (O(1) each)."""
    n = len(sweep)
    state = State(bytearray(n), np.full(n, -1, dtype=np.int64), {})
    path = out / RESULTS
    if not path.exists():
        return state
    for lineno, offset, raw in _lines(path):
        rec = _parse_record(raw, path, lineno)
        i = rec["index"]
        if not 0 <= i < n or (check_plan and sweep.task(i).task_id != rec["task_id"]):
            raise VerifyError(f"{path} line {lineno}: task {rec['task_id']!r} is not a task "
                              f"of this sweep's plan ({n} tasks)")
        if state.status[i] != _NONE:
            continue  # recorded twice (a folder written without the lock): first counts
        if rec["status"] == "failed":
            state.status[i] = _FAILED
        elif rec["kind"] == "check" and not rec.get("accepted", rec["matches_expectation"]):
            state.status[i] = _MISMATCH
        else:
            state.status[i] = _MATCH
        state.offsets[i] = offset
        state.columns.update(dict.fromkeys(rec))
    return state


def _write_table(out: Path, state: State) -> None:
    """``results.csv``: one row per recorded task in task order (its first record), read
    back record by record (never the whole file at once), written atomically."""
    import csv

    from ..fsio import atomic_write

    columns = [c for c in state.columns if c not in ("details", "traceback")]
    order = np.flatnonzero(state.offsets >= 0)
    with open(out / RESULTS, "rb") as src, atomic_write(out / TABLE, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for i in order:
            src.seek(int(state.offsets[i]))
            rec = json.loads(src.readline())
            w.writerow([_cell(rec.get(c)) for c in columns])


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return str(v)


# the names the coordinator uses
scan = _scan
write_table = _write_table
NONE, MATCH, MISMATCH, FAILED = _NONE, _MATCH, _MISMATCH, _FAILED

__all__ = ["RESULTS", "TABLE", "ResultsWriter", "read_records", "load_results", "scan",
           "write_table", "NONE", "MATCH", "MISMATCH", "FAILED"]
