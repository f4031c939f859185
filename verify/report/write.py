"""Writing the report folder, atomically, and repairing what an interrupted run left.

Everything is built in a temporary sibling folder (``.NAME.tmp-PID-*``, every file
written whole by :mod:`verify.fsio`) that is renamed into place at the end, so an
interrupted run leaves the previous report intact. A run killed between the two
renames of the swap (the previous report moved aside to ``.NAME.old-PID-*``, the new
one not yet in place) is repaired by the next run (:func:`recover_interrupted`), which
puts the previous report back before it starts and removes the leftovers of runs that
are no longer alive. The stacked tables (the slowest files to format) are written by a
forked child while this process renders the pages.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..errors import invalid
from ..fsio import atomic_write, check_writable_dir, current_umask, write_bytes, write_text
from ..results import CheckResult, jsonable
from . import html, markdown
from .figures import can_fork_helpers, helper_main
from .model import Entry, exit_code, table_file
from .rows import counts, findings_items, page
from .sweeps import SweepSection

#: Schema tag written into ``results.json`` (also how a previous report is recognised).
SCHEMA = "verify-report/1"
#: Files that mark an existing folder as a previous report (safe to replace).
REPORT_MARKERS = ("results.json", "index.html")


# ----------------------------------------------------------------- validation
def validate_out(out: str | os.PathLike) -> Path:
    """Check that ``out`` can receive a report, before any work starts.

    Allowed: a path that does not exist yet (its nearest existing ancestor a
    writable folder), an empty folder, or a previous report. Refused (VerifyError):
    a file, a non-writable location, or a non-empty folder that is not a report
    (replacing it would delete someone's files).
    """
    raw = str(out)
    if not raw.strip():
        raise invalid("--out", "a folder path", raw)
    try:
        return _validate_out(raw)
    except OSError as exc:  # a parent that cannot even be looked into
        raise invalid("--out", "a folder that can be looked into and written",
                      f"{raw} ({exc.strerror or exc})") from None


def _validate_out(raw: str) -> Path:
    path = Path(os.path.abspath(os.path.expanduser(raw)))
    if path.parent == path:
        raise invalid("--out", "a folder below the file-system root", raw)
    if path.exists() and not path.is_dir():
        raise invalid("--out", "a folder (new, empty or a previous report), not a file", raw)
    anc = path.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise invalid("--out", "a path whose parents are folders", f"{raw} ({anc} is a file)")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise invalid("--out", "a writable location", f"{raw} ({anc} is not writable)")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise invalid("--out", "a writable folder", f"{raw} (not writable)")
        entries = os.listdir(path)
        if entries and not all((path / m).is_file() for m in REPORT_MARKERS):
            raise invalid("--out", "a new folder, an empty one or a previous report "
                          "(it is replaced)", f"{raw} (a non-empty folder that is not a report)")
    # Permission bits say nothing of /proc or a read-only mount: fsio tries a file there.
    check_writable_dir(path, "--out")
    return path


# ------------------------------------------------------------------- tables
def stacked_tables(entries: Sequence[Entry]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """All per-sample tables stacked (``lemma``, ``preset``, ``seed`` first), and the
    further tables stacked per (lemma, table name) with a ``table`` column, keyed by
    their file name (one file per table kind keeps each file's columns its own)."""
    def tag(df: pd.DataFrame, r: CheckResult, name: str | None) -> pd.DataFrame:
        df = df.reset_index(drop=True)
        keys = {"lemma": r.lemma, "preset": r.preset, "seed": r.seed}
        if name is not None:
            keys["table"] = name
        df = df.rename(columns={c: f"{c}_" for c in keys if c in df.columns})
        for i, (k, v) in enumerate(keys.items()):
            df.insert(i, k, v)
        return df

    main = [tag(e.result.table, e.result, None) for e in entries if not e.result.table.empty]
    groups: dict[str, list[pd.DataFrame]] = {}
    for e in entries:
        for n, df in e.result.tables.items():
            if df is not None and not df.empty:
                groups.setdefault(table_file(e.result.lemma, n), []).append(
                    tag(df, e.result, n))
    extra = {f: pd.concat(dfs, ignore_index=True, sort=False) for f, dfs in groups.items()}
    empty = pd.DataFrame(columns=["lemma", "preset", "seed"])
    return (pd.concat(main, ignore_index=True, sort=False) if main else empty), extra


SUMMARY_CSV_COLUMNS = ("lemma", "preset", "seed", "known_bad", "verdict", "passed", "expected",
                       "status", "statistic", "sense", "bound", "margin", "n_samples", "draws",
                       "failure_rate", "failure_ci_low", "failure_ci_high", "alpha",
                       "tolerance", "quick", "elapsed_s", "error")


def summary_frame(entries: Sequence[Entry], power: Sequence[Entry] = ()) -> pd.DataFrame:
    """``summary.csv``: one row per result (the presets', then the known-bad cases'), with
    its three-state verdict and, for verdicts over network draws, the failure rate and
    its interval."""
    rows = []
    for e in [*entries, *power]:
        r = e.result
        d = r.draw_summary
        rows.append({"lemma": r.lemma, "preset": r.preset, "seed": r.seed,
                     "known_bad": e.known_bad.name if e.known_bad is not None else "",
                     "verdict": r.verdict, "passed": r.passed, "expected": r.expected,
                     "status": ("rejected" if e.rejected else "NOT rejected")
                     if e.known_bad is not None else r.status,
                     "statistic": r.statistic, "sense": r.sense, "bound": r.bound,
                     "margin": r.margin, "n_samples": r.n_samples, "draws": r.draws,
                     **{k: d.get(k) for k in ("failure_rate", "failure_ci_low",
                                              "failure_ci_high", "alpha", "tolerance")},
                     "quick": r.quick, "elapsed_s": r.elapsed_s, "error": r.error or ""})
    return pd.DataFrame(rows, columns=list(SUMMARY_CSV_COLUMNS))


def _write_tables(folder: Path, main: pd.DataFrame, extra: dict[str, pd.DataFrame]) -> list[str]:
    """``results.csv``, ``tables/*.csv.gz`` and (with pyarrow) ``results.parquet``."""
    written = ["results.csv"]
    with atomic_write(folder / "results.csv", "wb") as fh:
        main.to_csv(fh, index=False)
    for name, df in extra.items():
        # fixed mtime and the file's own name (not the temporary one): the same tables
        # give the same bytes (gzip stores both in its header)
        with atomic_write(folder / name, "wb") as raw, gzip.GzipFile(
                filename=Path(name).name, mode="wb", fileobj=raw, mtime=0) as fh:
            df.to_csv(fh, index=False)
        written.append(name)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        try:
            with atomic_write(folder / "results.parquet", "wb") as fh:
                main.to_parquet(fh, index=False)
            written.append("results.parquet")
        except Exception as exc:  # noqa: BLE001 - optional format; CSV is the record
            print(f"verify report: results.parquet not written ({exc})", file=sys.stderr)
    return written


def _table_writer_child(folder: Path, main: pd.DataFrame, extra: dict[str, pd.DataFrame]):
    """The table files written by a forked child (started, not waited for), or None.

    Formatting the CSVs is the slowest part of writing a report; a child writes them
    while this process renders the pages, on the second core. None (write them here)
    without ``fork`` or a second CPU, or when the child cannot start.
    """
    import multiprocessing

    if not can_fork_helpers():
        return None
    for stream in (sys.stdout, sys.stderr):  # the child must not repeat buffered output
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        child = multiprocessing.get_context("fork").Process(
            target=helper_main, args=(_write_tables, folder, main, extra), daemon=True)
        child.start()
    except (OSError, ValueError):
        return None
    return child


# -------------------------------------------------------------------- files
def _registered_statements():
    from ..registry import statements

    return list(statements().values())


def _statement_counts(entries: Sequence[Entry]) -> dict[str, int]:
    from .rows import statement_items
    from .statements import counts as st_counts

    return st_counts(statement_items(entries))


def results_payload(entries: Sequence[Entry], prov: dict[str, Any],
                    power: Sequence[Entry] = ()) -> dict[str, Any]:
    """``results.json``: every result (``verify check --json`` objects) + provenance, and
    the known-bad configurations' results (``power``)."""
    return jsonable({"schema": SCHEMA, "provenance": prov,
                     "summary": {**counts(entries), "exit_code": exit_code(entries, power),
                                 "known_bad": len(power),
                                 "known_bad_rejected": sum(e.rejected for e in power)},
                     "findings": findings_items(entries, prov),
                     "statements": [st.to_json() for st in _registered_statements()],
                     "statements_summary": _statement_counts(entries),
                     "results": [{**e.result.to_json(), "warnings": list(e.warnings)}
                                 for e in entries],
                     "power": [{**e.known_bad.to_dict(), "rejected": e.rejected,
                                "result": e.result.to_json()} for e in power]})


def write_files(folder: Path, entries: Sequence[Entry], prov: dict[str, Any],
                sweeps: Sequence[SweepSection] = (), power: Sequence[Entry] = ()) -> list[str]:
    """Write every report file into ``folder`` (a fresh, empty folder).

    The stacked tables are written by a forked child while the pages are rendered
    here (the same bytes either way); if the child fails they are written here.
    """
    written = []
    (folder / "figures").mkdir()
    (folder / "tables").mkdir()
    main, extra = stacked_tables(entries)
    child = _table_writer_child(folder, main, extra)
    try:
        for f in [f for e in entries for f in e.figures] + [sw.figure for sw in sweeps]:
            if f.png is not None:
                write_bytes(folder / f.name, f.png)
                written.append(f.name)
        write_text(folder / "results.json", json.dumps(
            results_payload(entries, prov, power), indent=1, allow_nan=False, default=str) + "\n")
        written.append("results.json")
        if sweeps:
            (folder / "sweeps").mkdir()
        for sw in sweeps:
            with atomic_write(folder / "sweeps" / f"{sw.name}-phase.csv", "wb") as fh:
                sw.table.to_csv(fh, index=False)
            written.append(f"sweeps/{sw.name}-phase.csv")
        with atomic_write(folder / "summary.csv", "wb") as fh:
            summary_frame(entries, power).to_csv(fh, index=False)
        written.append("summary.csv")
        from .rows import statement_items
        from .statements import frame as statements_frame

        with atomic_write(folder / "statements.csv", "wb") as fh:
            statements_frame(statement_items(entries)).to_csv(fh, index=False)
        written.append("statements.csv")
        from .narrative import render as narrative

        write_text(folder / "NARRATIVE.md", narrative(json.loads(json.dumps(
            results_payload(entries, prov, power), allow_nan=False, default=str))))
        written.append("NARRATIVE.md")
        view = page(entries, prov, sweeps, power)  # one row model, two renderings
        write_text(folder / "REPORT.md", markdown.render(view))
        write_text(folder / "index.html", html.render(view))
        if child is not None:
            child.join()
        if child is None or child.exitcode != 0:  # no child, or it failed: write them here
            tables = _write_tables(folder, main, extra)
        else:
            tables = ["results.csv", *extra]
            if (folder / "results.parquet").is_file():
                tables.append("results.parquet")
    finally:
        if child is not None and child.is_alive():  # interrupted: stop our own child
            child.terminate()
            child.join()
    return written + tables + ["REPORT.md", "index.html"]


# --------------------------------------------------------------- the swap
def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; a previous ``out`` is moved aside first and removed
    only once the new report is in place (restored if the rename fails, and by the next
    run, :func:`recover_interrupted`, if this process is killed in between)."""
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (this host's processes)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _leftovers(out: Path) -> tuple[list[Path], list[Path]]:
    """The ``.NAME.old-*`` and ``.NAME.tmp-*`` siblings of ``out`` whose run is over
    (its process id, in the name, is not alive; a name without one is from before
    process ids were recorded)."""
    olds: list[Path] = []
    tmps: list[Path] = []
    try:
        siblings = list(out.parent.iterdir())
    except OSError:
        return olds, tmps
    for p in siblings:
        head = f".{out.name}."
        if not p.name.startswith(head):
            continue
        kind, sep, tail = p.name[len(head):].partition("-")
        if kind not in ("old", "tmp") or not sep or p.is_symlink() or not p.is_dir():
            continue
        pid = tail.split("-", 1)[0] if "-" in tail else ""
        if pid.isdigit() and _alive(int(pid)):
            continue  # another report run, still going: its folder, not ours
        (olds if kind == "old" else tmps).append(p)
    return olds, tmps


def recover_interrupted(out: str | os.PathLike) -> list[str]:
    """Repair what an earlier run killed mid-way left beside ``out``; returns notes.

    A run killed between the two renames of :func:`_swap_into_place` leaves no ``out``
    but the previous report in ``.NAME.old-PID-*``: it is put back. Temporary folders
    (``.NAME.tmp-PID-*``) and moved-aside reports of runs that are no longer alive are
    removed. Folders of runs still going are left alone.
    """
    out = Path(out)
    olds, tmps = _leftovers(out)
    notes = []
    if olds and not os.path.lexists(out):
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        os.rename(newest, out)
        olds.remove(newest)
        notes.append(f"restored the previous report from {newest.name} (a run was "
                     "killed while replacing it)")
    for p in olds + tmps:
        shutil.rmtree(p, ignore_errors=True)
        if not p.exists():
            notes.append(f"removed {p.name}, left by an interrupted run")
    return notes


def write_report(out: Path, entries: Sequence[Entry], prov: dict[str, Any],
                 sweeps: Sequence[SweepSection] = (), power: Sequence[Entry] = ()) -> None:
    """Write the report atomically: build in a temporary sibling, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        write_files(tmp, entries, prov, sweeps, power)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


__all__ = ["SCHEMA", "validate_out", "stacked_tables", "summary_frame", "results_payload",
           "write_files",
           "write_report", "recover_interrupted"]
