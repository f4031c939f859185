"""``verify report``: every registered lemma on its default presets, written as a report.

The report reads only :class:`~verify.results.CheckResult` objects and the figure
functions of the registry; it never recomputes a statistic (STYLE.md). It writes,
into one folder,

``index.html``    one self-contained page (inline CSS, figures as base64 PNG);
``REPORT.md``     the same in Markdown, figures beside it in ``figures/``;
``results.json``  every result (``verify check --json`` objects, CLI.md) + provenance;
``results.csv``   every per-sample table stacked, with ``lemma``/``preset``/``seed``
                  columns (``results.parquet`` too when pyarrow is importable);
``tables/``       the further tables (sweeps, grids), one gzipped CSV per lemma and
                  table name, stacked over presets.

The folder is written atomically: everything is built in a temporary sibling folder
(``.NAME.tmp-PID-*``, every file written whole by :mod:`verify.fsio`) that is renamed
into place at the end, so an interrupted run leaves the previous report intact. A run
killed between the two renames of the swap (the previous report moved aside to
``.NAME.old-PID-*``, the new one not yet in place) is repaired by the next run, which
puts the previous report back before it starts and removes the leftovers of runs that
are no longer alive. If the folder cannot be written once the checks have run (it
became read-only, the disk filled), the report goes to a fresh temporary folder instead
and :attr:`Report.fallback_reason` says why.

Registered known findings (:mod:`verify.findings`) are listed in a section of their
own; the exit code is 0 when every result matches its expectation or differs only as a
registered finding.
"""

from __future__ import annotations

import base64
import gzip
import html
import importlib.metadata
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from . import __version__, findings
from .errors import VerifyError, invalid
from .fsio import atomic_write, check_writable_dir, write_bytes, write_text
from .registry import LemmaCheck, discover, get_check, require_memory, run_check
from .results import CheckResult, jsonable

#: Default output folder (CLI.md).
DEFAULT_OUT = "reports/latest"
#: Schema tag written into ``results.json`` (also how a previous report is recognised).
SCHEMA = "verify-report/1"
#: Rows of each per-sample table shown in the HTML and Markdown pages.
HEAD_ROWS = 8
#: Rows of each further table (``result.tables``) shown.
HEAD_ROWS_EXTRA = 5
#: Libraries whose versions go into the provenance.
LIBRARIES = ("numpy", "scipy", "sympy", "pandas", "matplotlib", "seaborn", "hypothesis", "tqdm")
#: Files that mark an existing folder as a previous report (safe to replace).
REPORT_MARKERS = ("results.json", "index.html")


# ----------------------------------------------------------------------- data
@dataclass
class FigureOut:
    """One rendered figure (or the note saying why it is missing)."""

    name: str              # figures/<lemma>-<preset>-<n>.png
    caption: str
    png: bytes | None
    note: str | None = None


@dataclass
class Entry:
    """One (lemma, preset) row of the report: its result and rendered figures."""

    check: LemmaCheck
    result: CheckResult
    figures: list[FigureOut] = field(default_factory=list)
    figures_s: float = 0.0  # time spent drawing this entry's figures
    peak_rss_mb: float | None = None  # the process's peak resident memory after this check
    cpu_s: float = 0.0  # CPU time of the check (all threads): robust to a loaded machine
    warnings: list[str] = field(default_factory=list)  # warnings the check raised
    figures_done: bool = False  # figures already drawn (by the worker that ran it)


@dataclass(frozen=True)
class SweepSection:
    """A parameter sweep shown in the report (``verify report --sweep DIR``): its
    phase table (verdict over expansion x sampling rate) and heat map, read from the
    sweep's own result records (never recomputed)."""

    name: str
    source: str
    n_tasks: int
    n_failed: int
    table: pd.DataFrame
    figure: FigureOut


def load_sweeps(dirs: Iterable[str | os.PathLike]) -> list[SweepSection]:
    """Read finished sweeps (folders written by ``verify sweep``) into report sections."""
    from .sweep import load_results, phase_figure, phase_table
    from .plotting import render

    sections = []
    for n, d in enumerate(dirs, start=1):
        folder = Path(d)
        if not (folder / "results.jsonl").is_file():
            raise invalid("--sweep", "a folder written by `verify sweep` (with results.jsonl)",
                          str(d))
        df = load_results(folder)
        if df.empty:
            raise invalid("--sweep", "a sweep with at least one finished task", str(d))
        table = phase_table(df)
        png, note = render(lambda _df: phase_figure(_df), df)
        name = _slug(folder.name) or f"sweep-{n}"
        failed = int((df["status"] == "failed").sum()) if "status" in df else 0
        sections.append(SweepSection(
            name, str(folder), len(df), failed, table,
            FigureOut(f"figures/sweep-{name}.png",
                      f"phase diagram of sweep {folder.name}: fraction passed over "
                      "expansion x sampling rate", png, note)))
    return sections


def _sweep_intro(sw: "SweepSection") -> str:
    return (f"Sweep `{sw.name}` read from `{sw.source}`: {sw.n_tasks} tasks "
            f"({sw.n_failed} recorded as failed, left out of the fractions). Each cell is "
            "the fraction of tasks whose check passed; `n` tasks per cell. The full table "
            f"is `sweeps/{sw.name}-phase.csv`.")


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` wrote."""

    out: Path
    entries: tuple[Entry, ...]
    provenance: dict[str, Any]
    #: Why the report is not in the folder asked for (``out`` is then the temporary
    #: folder it was written to instead); None when it is.
    fallback_reason: str | None = None

    @property
    def results(self) -> list[CheckResult]:
        return [e.result for e in self.entries]

    @property
    def exit_code(self) -> int:
        """0 when every verdict matches its expectation or differs only as a registered
        known finding, 1 otherwise (errors and findings that no longer reproduce
        included)."""
        return findings.exit_code(self.results)


def status(result: CheckResult) -> tuple[str, str]:
    """The verdict label and its CSS class.

    ``pass`` / ``fail (expected)`` match the expectation; ``FAIL (known finding)``
    differs as a registered finding (exit 0); ``FAIL`` (expected to pass), ``PASS
    (expected fail)``, ``... (finding no longer reproduces)`` and ``ERROR`` do not.
    """
    if result.error is not None:
        return "ERROR", "error"
    st = result.status
    if result.expected == "pass":
        label, cls = ("pass", "ok") if result.passed else ("FAIL", "bad")
    else:
        label, cls = (("PASS (expected fail)", "bad") if result.passed
                      else ("fail (expected)", "xfail"))
    if st == findings.KNOWN:
        return f"{label.split(' (')[0]} (known finding)", "known"
    if st == findings.STALE:
        return f"{label} (finding no longer reproduces)", "bad"
    return label, cls


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


# -------------------------------------------------------------------- running
def _resolve_checks(checks: Iterable[LemmaCheck | str] | None) -> list[LemmaCheck]:
    if checks is None:
        return list(discover().values())
    table = None
    out = []
    for c in checks:
        if isinstance(c, LemmaCheck):
            out.append(c)
        else:
            table = table or discover()
            if c not in table:
                raise invalid("lemma", "one of " + ", ".join(table), c)
            out.append(table[c])
    return sorted(out, key=lambda c: (c.order, c.id))


def _error_result(check: LemmaCheck, preset: str, seed: int, quick: bool, exc: BaseException,
                  elapsed: float) -> CheckResult:
    """An error row for a check the runner itself refused (VerifyError)."""
    try:
        from .presets import get_preset

        config = {"preset": preset, **get_preset(preset).to_dict()}
    except Exception:  # noqa: BLE001 - the preset itself may be what is wrong
        config = {"preset": preset}
    return CheckResult(check.id, preset, int(seed), False, check.presets.get(preset, "pass"),
                       float("nan"), float("nan"), float("nan"), config,
                       {"traceback": traceback.format_exc(limit=6)}, elapsed, __version__,
                       check.statement, check.reference, quick=quick,
                       error=f"{type(exc).__name__}: {exc}",
                       finding=check.finding_on(preset, config.get("network"), seed, quick))


class _Progress:
    """tqdm on a terminal, one line per check otherwise, or nothing."""

    def __init__(self, total: int, mode: bool | None):
        self.total, self.done, self.bar = total, 0, None
        self.enabled = mode is not False
        if self.enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=sys.stderr, unit="check", dynamic_ncols=True)

    def start(self, lemma: str, preset: str) -> None:
        if self.bar is not None:
            self.bar.set_description(f"{lemma} [{preset}]")

    def finish(self, result: CheckResult) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            label, _ = status(result)
            print(f"report [{self.done}/{self.total}] {result.lemma} [{result.preset}] "
                  f"{label} ({result.elapsed_s:.2f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (MB), where the platform reports it."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0  # bytes vs kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


#: At most this many distinct warnings are kept per check.
MAX_WARNINGS = 20


def _warning_notes(caught) -> list[str]:
    """Distinct warning messages, ``Category: message``, in order of first appearance."""
    notes: list[str] = []
    for w in caught:
        note = f"{w.category.__name__}: {_one_line(str(w.message))}"
        if note not in notes:
            notes.append(note)
    if len(notes) > MAX_WARNINGS:
        notes = notes[:MAX_WARNINGS] + [f"... and {len(notes) - MAX_WARNINGS} more"]
    return notes


def _run_one(check: LemmaCheck, preset: str, seed: int, quick: bool) -> Entry:
    """One check on one preset, with its CPU time, peak memory and warnings."""
    start, cpu0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = run_check(check.id, preset, seed=seed, quick=quick, catch=True)
        except VerifyError as exc:  # refused by the runner: shown, not fatal
            result = _error_result(check, preset, seed, quick, exc, time.perf_counter() - start)
    cpu = time.process_time() - cpu0
    notes = _warning_notes(caught)
    for note in notes:  # still shown on the console, and kept for the report
        print(f"{check.id} [{preset}]: warning: {note}", file=sys.stderr)
    return Entry(check, result, peak_rss_mb=_peak_rss_mb(), cpu_s=cpu, warnings=notes)


def die_with_parent(parent: int | None = None) -> None:
    """In a forked worker: end this process when its parent dies, instead of lingering.

    On Linux the kernel sends SIGTERM when the parent goes (``prctl(PR_SET_PDEATHSIG)``;
    it fires when the *thread* that forked this process ends, so pools are started and
    shut down by the thread that calls :func:`build_report`). Elsewhere a daemon thread
    polls ``os.getppid()`` once a second. SIGTERM gets its default action here (the
    parent's handler, which turns it into KeyboardInterrupt, would only be caught by the
    pool's worker loop).
    """
    import signal

    parent = os.getppid() if parent is None else parent
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # not the main thread of this process
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, int(signal.SIGTERM), 0, 0, 0) == 0:  # 1 = PR_SET_PDEATHSIG
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    import threading

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _child_main(parent: int, fn: Callable, *args) -> None:
    """Target of a forked helper process: tied to its parent, then ``fn(*args)``."""
    die_with_parent(parent)
    fn(*args)


def _worker_job(lemma: str, preset: str, seed: int, quick: bool) -> tuple:
    """In a forked worker: run one check and draw its figures. Returns everything but
    the LemmaCheck (its functions need not pickle); the registry came with the fork."""
    e = _run_one(get_check(lemma), preset, seed, quick)
    f0 = time.perf_counter()
    figures = render_figures(e.check, e.result)
    return e.result, e.peak_rss_mb, e.cpu_s, e.warnings, figures, time.perf_counter() - f0


#: Rough CPU seconds of one check on one preset (default run), by lemma: used only to
#: start the slowest checks first when checks run in parallel (longest first keeps the
#: workers busy to the end instead of leaving one long check alone at the end). Results
#: never depend on it. Measured costs from a previous report replace these hints.
COST_HINTS = {"trained-recovery": 26.0, "subgaussian": 16.0, "partial": 4.0,
              "symbolic": 2.0, "concentration": 2.0, "angle": 2.0}
#: Cost of a lemma without a hint (seconds; the same scale as :data:`COST_HINTS`).
DEFAULT_COST = 1.0


def previous_costs(out: Path, quick: bool) -> dict[tuple[str, str], float]:
    """CPU + figure seconds per (lemma, preset) measured by the report already in ``out``
    (same ``quick`` flag), or ``{}``: scheduling hints only, never a result."""
    try:
        with open(out / "results.json", encoding="utf-8") as fh:
            prov = json.load(fh).get("provenance", {})
        if bool(prov.get("quick")) != bool(quick):
            return {}
        return {(str(t["lemma"]), str(t["preset"])): float(t.get("cpu_s", t["elapsed_s"]))
                + float(t.get("figures_s") or 0.0) for t in prov.get("timing", [])}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _cost(check: LemmaCheck, preset: str, measured: dict[tuple[str, str], float]) -> float:
    hint = COST_HINTS.get(check.id, DEFAULT_COST)
    return measured.get((check.id, preset), hint)


def default_jobs() -> int:
    """Checks run at once by default: 2 where ``fork`` exists and 2+ CPUs, else 1."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def run_checks(checks: Sequence[LemmaCheck], *, seed: int = 0, quick: bool = False,
               progress: bool | None = None,
               on_entry: Callable[[Entry], None] | None = None,
               jobs: int = 1,
               costs: dict[tuple[str, str], float] | None = None) -> list[Entry]:
    """Run every check on each of its default presets; a crash becomes an error row.

    With ``jobs > 1`` the checks run in that many forked worker processes, which also
    draw the figures; results do not depend on it (each check draws from its own
    seeded streams). A job whose worker fails (dies, or its result does not pickle)
    is run again here. The peak resident memory is read after each check, in the
    process that ran it. In parallel the slowest checks start first (``costs``:
    measured seconds per (lemma, preset), else :data:`COST_HINTS`); the entries come
    back in proof order whatever the order they ran in.
    """
    todo = [(c, p) for c in checks for p in c.presets]
    bar = _Progress(len(todo), progress)
    out: list[Entry] = []
    try:
        if jobs > 1 and len(todo) > 1:
            out = _run_parallel(todo, seed, quick, bar, min(jobs, len(todo)), costs or {})
            if on_entry is not None:
                for e in out:
                    on_entry(e)
            return out
        for check, preset in todo:
            bar.start(check.id, preset)
            out.append(_run_one(check, preset, seed, quick))
            bar.finish(out[-1].result)
            if on_entry is not None:
                on_entry(out[-1])
    finally:
        bar.close()
    return out


def _run_parallel(todo, seed: int, quick: bool, bar: "_Progress", jobs: int,
                  costs: dict[tuple[str, str], float]) -> list[Entry]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=die_with_parent, initargs=(os.getpid(),))
    entries: list[Entry | None] = [None] * len(todo)
    # longest first (workers take jobs in submission order); ties keep proof order
    order = sorted(range(len(todo)), key=lambda i: (-_cost(*todo[i], costs), i))
    try:
        futures = {pool.submit(_worker_job, todo[i][0].id, todo[i][1], seed, quick): i
                   for i in order}
        for fut in as_completed(futures):
            i = futures[fut]
            check, preset = todo[i]
            try:
                result, rss, cpu, notes, figures, fig_s = fut.result()
                e = Entry(check, result, figures, fig_s, rss, cpu, notes, figures_done=True)
            except Exception:  # noqa: BLE001 - the worker failed us: run it here instead
                e = _run_one(check, preset, seed, quick)
            entries[i] = e
            bar.finish(e.result)
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:  # our own workers, by handle: an interrupt stops them now
            if proc.is_alive():
                proc.terminate()
        raise
    pool.shutdown(wait=True)
    return [e for e in entries if e is not None]


def render_figures(check: LemmaCheck, result: CheckResult) -> list[FigureOut]:
    """Draw the registration's figures from the result (never recomputes)."""
    if result.error is not None or not check.figures:
        return []
    from .plotting import render

    figs = []
    for n, fn in enumerate(check.figures, start=1):
        png, note = render(fn, result)
        doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()
        caption = doc[0].strip() if doc else getattr(fn, "__name__", f"figure {n}")
        figs.append(FigureOut(f"figures/{_slug(result.lemma)}-{_slug(result.preset)}-{n}.png",
                              caption, png, note))
    return figs


def _render_worker(lemma: str, result: CheckResult) -> tuple[list[FigureOut], float]:
    """Figures of one result, drawn in the figure process (registry inherited by fork)."""
    t0 = time.perf_counter()
    return render_figures(get_check(lemma), result), time.perf_counter() - t0


class _FigureRenderer:
    """Draws figures while the next checks run: one forked helper process.

    Figures are pure functions of the results, so drawing them in a second process
    overlaps their cost with the checks (2 cores). Anything that goes wrong there
    (no ``fork``, a result that does not pickle, a dead helper) falls back to
    drawing in this process; the figures are the same either way.
    """

    def __init__(self, parallel: bool | None):
        import multiprocessing

        if parallel is None:
            parallel = ((os.cpu_count() or 1) >= 2
                        and "fork" in multiprocessing.get_all_start_methods())
        self.pool = None
        self.futures: dict[int, Any] = {}
        if parallel:
            from concurrent.futures import ProcessPoolExecutor

            try:
                self.pool = ProcessPoolExecutor(max_workers=1,
                                                mp_context=multiprocessing.get_context("fork"),
                                                initializer=die_with_parent,
                                                initargs=(os.getpid(),))
            except (OSError, ValueError):
                self.pool = None

    def submit(self, entry: Entry) -> None:
        if (self.pool is None or entry.figures_done or entry.result.error is not None
                or not entry.check.figures):
            return
        try:
            self.futures[id(entry)] = self.pool.submit(_render_worker, entry.result.lemma,
                                                       entry.result)
        except Exception:  # noqa: BLE001 - a broken helper: drawn here instead
            pass

    def finish(self, entries: Sequence[Entry]) -> None:
        for e in entries:
            if e.figures_done:
                continue
            fut = self.futures.pop(id(e), None)
            if fut is not None:
                try:
                    e.figures, e.figures_s = fut.result()
                    continue
                except Exception:  # noqa: BLE001 - drawn here instead, same figures
                    pass
            f0 = time.perf_counter()
            e.figures = render_figures(e.check, e.result)
            e.figures_s = time.perf_counter() - f0
            e.figures_done = True

    def close(self, *, wait: bool = True) -> None:
        """Shut the helper down; ``wait=False`` (an interrupted run) also stops the
        figure it is drawing, so Ctrl-C / SIGTERM return at once."""
        if self.pool is None:
            return
        procs = [] if wait else list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=wait, cancel_futures=True)
        for proc in procs:  # our own helper, by handle
            if proc.is_alive():
                proc.terminate()
        self.pool = None


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(text))


# ----------------------------------------------------------------- provenance
def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            mod = sys.modules.get(name)
            out[name] = getattr(mod, "__version__", None)
    return out


def provenance(entries: Sequence[Entry], *, seed: int, quick: bool, command: str | None,
               started: float, wall_s: float, jobs: int = 1) -> dict[str, Any]:
    """Where the numbers came from: versions, commit, seeds, configs, machine, timing."""
    commit = _git("rev-parse", "HEAD")
    dirty = None
    if commit:
        porcelain = _git("status", "--porcelain", "--untracked-files=no")
        dirty = None if porcelain is None else bool(porcelain)
    configs: dict[str, Any] = {}
    for e in entries:
        cfg = {k: v for k, v in e.result.config.items() if k not in ("check", "quick")}
        configs.setdefault(e.result.preset, cfg)
    timing = sorted(({"lemma": e.result.lemma, "preset": e.result.preset,
                      "elapsed_s": round(e.result.elapsed_s, 4),
                      "cpu_s": round(e.cpu_s, 4), "figures_s": round(e.figures_s, 4),
                      "peak_rss_mb_after": None if e.peak_rss_mb is None
                      else round(e.peak_rss_mb, 1)} for e in entries),
                    key=lambda t: -t["elapsed_s"])
    return jsonable({
        "toolkit": "verify", "version": __version__,
        "git_commit": commit, "git_dirty": dirty,
        "command": command or "verify report",
        "argv": list(sys.argv),
        "seed": int(seed), "quick": bool(quick), "jobs": int(jobs),
        "seeds": "each check: weights from SeedSequence(seed).spawn(2)[0], mask from [1], "
                 "the check's own stream from SeedSequence(seed).spawn(3)[2]",
        "started_utc": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_s, 3),
        "checks_time_s": round(sum(e.result.elapsed_s for e in entries), 3),
        "checks_cpu_s": round(sum(e.cpu_s for e in entries), 3),
        "figures_time_s": round(sum(e.figures_s for e in entries), 3),
        "peak_rss_mb": _peak_rss_mb(),
        "libraries": _library_versions(),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "processor": platform.processor() or None, "cpu_count": os.cpu_count(),
                    "python_implementation": platform.python_implementation()},
        "checks": [{"lemma": e.check.id, "preset": e.result.preset,
                    "statement": e.check.statement, "reference": e.check.reference,
                    "settings": e.result.config.get("check", {})} for e in entries],
        "configs": configs,
        "timing": timing,
    })


# ----------------------------------------------------------------- formatting
def _fmt(x: Any) -> str:
    """A cell: floats to 4 significant digits, NaN/None as an empty mark."""
    if x is None:
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if math.isnan(f):
            return "–"
        if math.isinf(f):
            return "∞" if f > 0 else "−∞"
        return f"{f + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0
    if isinstance(x, (dict, list, tuple, np.ndarray)):
        text = json.dumps(jsonable(x), default=str, allow_nan=False)
        return text if len(text) <= 160 else text[:157] + "..."
    text = str(x)
    return text if len(text) <= 160 else text[:157] + "..."


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


SUMMARY_COLUMNS = ("lemma", "statement", "reference", "preset", "verdict", "expected",
                   "statistic", "sense", "bound", "margin", "n", "time (s)",
                   "failing criteria / error")


def _why(r: CheckResult) -> str:
    """What decided a failing verdict: the criteria that do not hold, or the error."""
    if r.error is not None:
        return r.error if len(r.error) <= 100 else r.error[:97] + "..."
    failing = [c.name for c in r.criteria if not c.holds]
    return ("does not hold: " + ", ".join(failing)) if failing else ""


def _summary_rows(entries: Sequence[Entry]) -> list[list[str]]:
    """One row per result; the statement and reference only on a lemma's first row."""
    rows = []
    prev = None
    for e in entries:
        r = e.result
        label, _ = status(r)
        first = r.lemma != prev
        prev = r.lemma
        rows.append([r.lemma, _one_line(r.statement) if first else "",
                     r.reference if first else "", r.preset, label, r.expected,
                     _fmt(r.statistic), r.sense if r.error is None else "–", _fmt(r.bound),
                     _fmt(r.margin), _fmt(r.n_samples) if r.error is None else "–",
                     f"{r.elapsed_s:.2f}", _why(r)])
    return rows


def _criteria_rows(r: CheckResult) -> list[list[str]]:
    return [[("headline: " if i == 0 else "") + c.name, _fmt(c.statistic), c.sense,
             _fmt(c.bound), _fmt(c.margin), "yes" if c.holds else "NO", _one_line(c.note)]
            for i, c in enumerate(r.criteria)]


CRITERIA_COLUMNS = ("criterion", "statistic", "sense", "bound", "margin", "holds", "note")


def _detail_rows(r: CheckResult) -> list[list[str]]:
    return [[str(k), _fmt(v)] for k, v in r.details.items() if k != "traceback"]


def _settings(r: CheckResult) -> str:
    """The check's own settings (sample counts, tolerances) in one line of JSON."""
    return json.dumps(jsonable(r.config.get("check", {})), default=str, allow_nan=False)


def _frame_rows(df: pd.DataFrame, n: int) -> tuple[list[str], list[list[str]]]:
    head = df.head(n)
    cols = [str(c) for c in head.columns]
    rows = [[_fmt(v) for v in row] for row in head.itertuples(index=False, name=None)]
    return cols, rows


def _counts(entries: Sequence[Entry]) -> dict[str, int]:
    """``mismatched`` counts every verdict that differs from its expectation (known
    findings included); ``new_mismatches`` only those that no finding explains."""
    rs = [e.result for e in entries]
    return {"results": len(rs), "matched": sum(r.matches_expectation for r in rs),
            "mismatched": sum(not r.matches_expectation and r.error is None for r in rs),
            "errors": sum(r.error is not None for r in rs),
            "expected_failures": sum(r.expected == "fail" and r.matches_expectation for r in rs),
            **findings.counts(rs)}


def _overall(entries: Sequence[Entry]) -> str:
    c = _counts(entries)
    bad = c["new_mismatches"] + c["findings_not_reproduced"] + c["errors"]
    if bad:
        head = f"{bad} RESULT(S) DO NOT MATCH THEIR EXPECTATION OR A REGISTERED FINDING"
    elif c["known_findings"]:
        head = "EVERY VERDICT MATCHES ITS EXPECTATION OR A REGISTERED KNOWN FINDING"
    else:
        head = "ALL VERDICTS MATCH THEIR EXPECTATIONS"
    return (f"{head}: {c['matched']}/{c['results']} match ({c['expected_failures']} of them "
            f"expected failures on counter-examples), {c['known_findings']} registered known "
            f"finding(s), {c['new_mismatches']} new mismatch(es), "
            f"{c['findings_not_reproduced']} registered finding(s) no longer reproduced, "
            f"{c['errors']} error(s).")


def _findings_items(entries: Sequence[Entry], prov: dict[str, Any]) -> list[dict[str, Any]]:
    """The registered findings of the checks that ran, with what this run made of them."""
    checks = list({id(e.check): e.check for e in entries}.values())
    return findings.section_items(checks, [e.result for e in entries],
                                  bool(prov.get("quick")), int(prov.get("seed") or 0))


def _attention(entries: Sequence[Entry]) -> list[Entry]:
    """The results that set exit code 1: new mismatches, stale findings, errors."""
    return [e for e in entries if not e.result.accepted]


FINDINGS_INTRO = (
    "Mismatches that have been examined are registered with their lemma (what differs, why, "
    "the evidence and a command that replays it). The run exits 0 when every verdict "
    "matches its expectation or differs only as one of these; a registered finding that "
    "no longer reproduces where it is registered to (its seeds and run kind) exits 1, like "
    "a new mismatch.")


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
h3{margin-top:1.4em}table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{background:#e3f5e1;color:#17631a;font-weight:600}
.xfail{background:#eef0ff;color:#3a3f9e;font-style:italic;font-weight:600}
.known{background:#fff1dc;color:#8a4500;font-style:italic;font-weight:600}
.bad{background:#fde2e1;color:#a0110c;font-weight:700}
.error{background:#fff0c2;color:#7a4b00;font-weight:700}
.banner{padding:.6em 1em;border-radius:4px;margin:1em 0}
.note{color:#7a4b00;background:#fff8e0;padding:.4em .7em;border-left:3px solid #e0a800}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.8em}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
.legend span{padding:.1em .5em;margin-right:.6em;border-radius:3px}
details summary{cursor:pointer}
"""

_NUMERIC = {"statistic", "bound", "margin", "n", "time (s)", "elapsed (s)", "share", "CPU (s)",
            "figures (s)",
            "peak RSS after (MB)"}


def _h(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_table(columns: Sequence[str], rows: Sequence[Sequence[str]], *,
                classes: Sequence[Sequence[str]] | None = None) -> str:
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in columns)
           + "</tr></thead>", "<tbody>"]
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = classes[i][j] if classes is not None else ""
            if not cls and columns[j] in _NUMERIC:
                cls = "num"
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<td{attr}>{cell}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _plain_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    return _html_table(columns, [[_h(c) for c in row] for row in rows])


def _anchor(lemma: str) -> str:
    return f"lemma-{_slug(lemma)}"


def render_html(entries: Sequence[Entry], prov: dict[str, Any],
                sweeps: Sequence[SweepSection] = ()) -> str:
    """The self-contained page (inline CSS, base64 figures, no script, no network)."""
    quick = prov.get("quick")
    c = _counts(entries)
    banner_cls = "ok" if not _attention(entries) else "bad"
    parts = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8" />',
             '<meta name="viewport" content="width=device-width, initial-scale=1" />',
             f"<title>verify report: {_h(prov.get('version'))}</title>",
             f"<style>{_CSS}</style>", "</head>", "<body>",
             "<h1>Invertibility of convolutional generative networks: lemma report</h1>",
             "<p>Numerical checks of every step of the proof of Ma, Ayaz &amp; Karaman "
             "(NeurIPS 2018), generated by <code>verify</code> "
             f"{_h(prov.get('version'))} with <code>{_h(prov.get('command'))}</code>"
             + (" (<b>quick run</b>: smaller sample counts, same verdict rules)" if quick else "")
             + ".</p>",
             f'<p class="banner {banner_cls}">{_h(_overall(entries))}</p>',
             '<p class="legend">Verdicts: <span class="ok">pass</span>: holds where it is '
             'expected to, <span class="xfail">fail (expected)</span>: a counter-example '
             'preset that is '
             'meant to fail, <span class="known">FAIL (known finding)</span>: differs as a '
             'registered, examined finding (listed below), <span class="bad">FAIL</span> / '
             '<span class="bad">PASS (expected fail)</span>: does not match its expectation '
             '(a new mismatch, or a registered finding that no longer reproduces), '
             '<span class="error">ERROR</span>: '
             'the check crashed. Margin is signed: positive means the statement holds with '
             'room to spare.</p>',
             "<h2>Summary</h2>"]
    rows, classes = [], []
    for e, row in zip(entries, _summary_rows(entries)):
        label, cls = status(e.result)
        cells = [_h(v) for v in row]
        cells[0] = f'<a href="#{_anchor(e.result.lemma)}">{_h(row[0])}</a>'
        rows.append(cells)
        classes.append(["", "", "", "", cls] + [""] * (len(row) - 5))
    parts.append(_html_table(SUMMARY_COLUMNS, rows, classes=classes) if rows
                 else "<p>No lemma checks are registered.</p>")
    parts += _html_findings(entries, prov)

    by_lemma: dict[str, list[Entry]] = {}
    for e in entries:
        by_lemma.setdefault(e.result.lemma, []).append(e)
    for lemma, group in by_lemma.items():
        chk = group[0].check
        parts.append(f'<h2 id="{_anchor(lemma)}">{_h(lemma)}: {_h(chk.reference)}</h2>')
        parts.append(f"<p><i>{_h(_one_line(chk.statement))}</i></p>")
        for e in group:
            r = e.result
            label, cls = status(r)
            parts.append(f'<h3>{_h(lemma)} on <code>{_h(r.preset)}</code>: '
                         f'<span class="{cls}">{_h(label)}</span></h3>')
            parts.append(f"<p>{_h(r.summary())}</p>")
            if r.error is not None:
                parts.append(f'<p class="note">The check crashed: {_h(r.error)}</p>')
                tb = r.details.get("traceback")
                if tb:
                    parts.append(f"<details><summary>traceback</summary><pre>{_h(tb)}</pre>"
                                 "</details>")
                continue
            if r.criteria:
                parts.append("<h4>Criteria</h4>")
                parts.append(_plain_table(CRITERIA_COLUMNS, _criteria_rows(r)))
            drows = _detail_rows(r)
            if drows:
                parts.append("<h4>Key details</h4>")
                parts.append(_plain_table(("detail", "value"), drows))
            if r.config.get("check"):
                parts.append(f"<p><b>Settings</b>: <code>{_h(_settings(r))}</code></p>")
            if e.warnings:
                parts.append('<p class="note">Warnings raised by the check:</p><ul>'
                             + "".join(f"<li>{_h(w)}</li>" for w in e.warnings) + "</ul>")
            if e.figures:
                parts.append("<h4>Figures</h4><div>")
                for f in e.figures:
                    if f.png is None:
                        parts.append(f'<p class="note">{_h(f.note)}</p>')
                        continue
                    b64 = base64.b64encode(f.png).decode("ascii")
                    parts.append(f'<figure><img alt="{_h(f.caption)}" '
                                 f'src="data:image/png;base64,{b64}" />'
                                 f"<figcaption>{_h(f.caption)}</figcaption></figure>")
                parts.append("</div>")
            if not r.table.empty:
                cols, frows = _frame_rows(r.table, HEAD_ROWS)
                parts.append(f"<h4>Per-sample table (first {len(frows)} of {len(r.table)} "
                             "rows; all in results.csv)</h4>")
                parts.append(_plain_table(cols, frows))
            for name, df in r.tables.items():
                if df is None or df.empty:
                    continue
                cols, frows = _frame_rows(df, HEAD_ROWS_EXTRA)
                parts.append(f"<h4>Table <code>{_h(name)}</code> (first {len(frows)} of "
                             f"{len(df)} rows; all in {_table_file(r.lemma, name)})</h4>")
                parts.append(_plain_table(cols, frows))
            parts.append("<details><summary>full configuration</summary><pre>"
                         + _h(json.dumps(jsonable(r.config), indent=1, default=str))
                         + "</pre></details>")

    if sweeps:
        parts.append("<h2>Parameter sweeps</h2>")
        for sw in sweeps:
            parts.append(f"<h3>{_h(sw.name)}</h3><p>{_h(_sweep_intro(sw))}</p>")
            f = sw.figure
            if f.png is None:
                parts.append(f'<p class="note">{_h(f.note)}</p>')
            else:
                b64 = base64.b64encode(f.png).decode("ascii")
                parts.append(f'<figure><img alt="{_h(f.caption)}" '
                             f'src="data:image/png;base64,{b64}" />'
                             f"<figcaption>{_h(f.caption)}</figcaption></figure>")
            cols, frows = _frame_rows(sw.table, HEAD_ROWS_EXTRA)
            parts.append(_plain_table(cols, frows))
    parts.append("<h2>Timing: slowest checks first</h2>")
    parts.append(_plain_table(*_timing_table(entries)))
    parts.append("<h2>Provenance</h2>")
    parts.append(_plain_table(("item", "value"), _provenance_rows(prov)))
    parts.append("<details><summary>configurations (full)</summary><pre>"
                 + _h(json.dumps(prov.get("configs", {}), indent=1, default=str))
                 + "</pre></details>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def _html_findings(entries: Sequence[Entry], prov: dict[str, Any]) -> list[str]:
    """The "new mismatches" list and the "registered known findings" section."""
    parts = []
    bad = _attention(entries)
    if bad:
        parts.append("<h2>New mismatches</h2><p>Not explained by a registered finding: "
                     "these set the exit code to 1.</p><ul>")
        for e in bad:
            r = e.result
            label, cls = status(r)
            parts.append(f'<li><a href="#{_anchor(r.lemma)}">{_h(r.lemma)}</a> on '
                         f'<code>{_h(r.preset)}</code>: <span class="{cls}">{_h(label)}</span>'
                         f"{(' (' + _h(_why(r)) + ')') if _why(r) else ''}</li>")
        parts.append("</ul>")
    items = _findings_items(entries, prov)
    if items:
        parts.append('<h2 id="known-findings">Registered known findings</h2>')
        parts.append(f"<p>{_h(FINDINGS_INTRO)}</p>")
        for it in items:
            cls = {"reproduced": "known", "NO LONGER REPRODUCES": "bad"}.get(it["outcome"], "")
            parts.append(f'<h3><a href="#{_anchor(it["lemma"])}">{_h(it["lemma"])}</a> on '
                         f'<code>{_h(it["preset"])}</code>: <span class="{cls}">'
                         f'{_h(it["outcome"])}</span></h3>')
            parts.append(_html_table(("field", "text"), [[_h(k), _h(v)] for k, v in (
                ("what differs", it["differs"]), ("why", it["why"]),
                ("evidence", it["evidence"]), ("required to reproduce on", it["scope"]),
                ("criteria it is about", ", ".join(it["criteria"]) or "any"))]
                + [["replay", f"<code>{_h(it['replay'])}</code>"]]))
    return parts


def _md_findings(entries: Sequence[Entry], prov: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    bad = _attention(entries)
    if bad:
        lines += ["", "## New mismatches", "",
                  "Not explained by a registered finding: these set the exit code to 1.", ""]
        for e in bad:
            r = e.result
            label, _ = status(r)
            why = f" ({_md_text(_why(r))})" if _why(r) else ""
            lines.append(f"- [{r.lemma}](#{_anchor(r.lemma)}) on `{r.preset}`: "
                         f"{_md_label(label)}{why}")
    items = _findings_items(entries, prov)
    if items:
        lines += ["", '<a id="known-findings"></a>', "", "## Registered known findings", "",
                  _md_text(FINDINGS_INTRO)]
        for it in items:
            outcome = it["outcome"]
            mark = {"reproduced": "🔶", "NO LONGER REPRODUCES": "❌"}.get(outcome, "▫️")
            lines += ["", f"### {_md_text(it['lemma'])} on `{it['preset']}`: {mark} {outcome}",
                      "", f"- **What differs**: {_md_text(it['differs'])}",
                      f"- **Why**: {_md_text(it['why'])}",
                      f"- **Evidence**: {_md_text(it['evidence'])}",
                      f"- **Required to reproduce on**: {_md_text(it['scope'])}",
                      f"- **Criteria it is about**: "
                      f"{_md_text(', '.join(it['criteria']) or 'any')}",
                      f"- **Replay**: {_md_code(it['replay'])}"]
    return lines


def _timing_table(entries: Sequence[Entry]) -> tuple[list[str], list[list[str]]]:
    """Slowest checks first, with the process's peak memory after each (in run order,
    the check after which the peak grows is the one that set it)."""
    total = sum(e.result.elapsed_s for e in entries) or 1.0
    ordered = sorted(entries, key=lambda e: -e.result.elapsed_s)
    return (["lemma", "preset", "elapsed (s)", "share", "CPU (s)", "figures (s)",
             "peak RSS after (MB)"],
            [[e.result.lemma, e.result.preset, f"{e.result.elapsed_s:.3f}",
              f"{100 * e.result.elapsed_s / total:.0f}%", f"{e.cpu_s:.3f}", f"{e.figures_s:.3f}",
              "–" if e.peak_rss_mb is None else f"{e.peak_rss_mb:.0f}"]
             for e in ordered])


def _provenance_rows(prov: dict[str, Any]) -> list[list[str]]:
    libs = prov.get("libraries", {})
    mach = prov.get("machine", {})
    commit = prov.get("git_commit") or "not a git checkout"
    if prov.get("git_dirty"):
        commit += " (working tree has uncommitted changes)"
    return [
        ["command", str(prov.get("command"))],
        ["toolkit version", str(prov.get("version"))],
        ["git commit", commit],
        ["seed", str(prov.get("seed"))],
        ["seed derivation", str(prov.get("seeds"))],
        ["quick", "yes" if prov.get("quick") else "no"],
        ["checks at once", str(prov.get("jobs", 1))],
        ["started (UTC)", str(prov.get("started_utc"))],
        ["wall time", f"{prov.get('wall_time_s', float('nan')):.1f} s (checks "
                      f"{prov.get('checks_time_s', float('nan')):.1f} s, figures "
                      f"{prov.get('figures_time_s', float('nan')):.1f} s; before writing "
                      "the files)"],
        ["peak memory", "–" if prov.get("peak_rss_mb") is None
         else f"{prov['peak_rss_mb']:.0f} MB resident (before writing the files)"],
        ["libraries", ", ".join(f"{k} {v}" for k, v in libs.items())],
        ["machine", f"{mach.get('platform')}, {mach.get('cpu_count')} CPUs"
                    + (f", {mach['processor']}" if mach.get("processor") else "")],
    ]


# ------------------------------------------------------------------ Markdown
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def _md_text(text: Any) -> str:
    """Text safe in Markdown prose: no accidental HTML tags (``<b>`` is shown, not applied)."""
    return _MD_TAG.sub("&lt;", _one_line(str(text)))


def _md_cell(text: Any) -> str:
    return _md_text(text).replace("|", "\\|")


def _md_code(text: Any) -> str:
    """Inline code that survives backticks inside the text."""
    text = _one_line(str(text))
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
           "|" + "|".join(" --- " for _ in columns) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _md_label(label: str) -> str:
    if label == "pass":
        return "✅ pass"
    if label == "fail (expected)":
        return "☑️ *fail (expected)*"
    if label == "ERROR":
        return "⚠️ **ERROR**"
    if label.endswith("(known finding)"):
        return f"🔶 *{label}*"
    return f"❌ **{label}**"


def render_markdown(entries: Sequence[Entry], prov: dict[str, Any],
                    sweeps: Sequence[SweepSection] = ()) -> str:
    """The same report in Markdown; figures are the PNG files in ``figures/``."""
    lines = ["# Invertibility of convolutional generative networks: lemma report", "",
             "Numerical checks of every step of the proof of Ma, Ayaz & Karaman (NeurIPS "
             f"2018), generated by `verify` {prov.get('version')} with `{prov.get('command')}`"
             + (" (**quick run**: smaller sample counts, same verdict rules)"
                if prov.get("quick") else "") + ".", "",
             f"**{_overall(entries)}**", "",
             "Verdicts: ✅ pass; ☑️ *fail (expected)*: a counter-example preset that is meant "
             "to fail; 🔶 *FAIL (known finding)*: differs as a registered, examined finding "
             "(listed below); ❌ **FAIL** / **PASS (expected fail)**: does not match its "
             "expectation (a new mismatch, or a registered finding that no longer "
             "reproduces); ⚠️ **ERROR**: the check crashed. Margin is signed: positive means "
             "the statement holds with room to spare.", "", "## Summary", ""]
    rows = []
    for e, row in zip(entries, _summary_rows(entries)):
        row = list(row)
        row[0] = f"[{row[0]}](#{_anchor(e.result.lemma)})"
        row[4] = _md_label(row[4])
        rows.append(row)
    lines.append(_md_table(SUMMARY_COLUMNS, rows) if rows else "No lemma checks are registered.")
    lines += _md_findings(entries, prov)
    by_lemma: dict[str, list[Entry]] = {}
    for e in entries:
        by_lemma.setdefault(e.result.lemma, []).append(e)
    for lemma, group in by_lemma.items():
        chk = group[0].check
        lines += ["", f'<a id="{_anchor(lemma)}"></a>', "",
                  f"## {_md_text(lemma)}: {_md_text(chk.reference)}", "",
                  f"*{_md_text(chk.statement)}*"]
        for e in group:
            r = e.result
            label, _ = status(r)
            lines += ["", f"### {lemma} on `{r.preset}`: {_md_label(label)}", "",
                      _md_text(r.summary())]
            if r.error is not None:
                lines += ["", f"> The check crashed: {_md_code(r.error)}"]
                tb = r.details.get("traceback")
                if tb:
                    lines += ["", "```", str(tb).rstrip(), "```"]
                continue
            if r.criteria:
                lines += ["", "**Criteria**", "", _md_table(CRITERIA_COLUMNS, _criteria_rows(r))]
            drows = _detail_rows(r)
            if drows:
                lines += ["", "**Key details**", "", _md_table(("detail", "value"), drows)]
            if r.config.get("check"):
                lines += ["", f"**Settings**: {_md_code(_settings(r))}"]
            if e.warnings:
                lines += ["", "**Warnings raised by the check**", ""]
                lines += [f"- {_md_text(w)}" for w in e.warnings]
            for f in e.figures:
                if f.png is None:
                    lines += ["", f"> {f.note}"]
                else:
                    lines += ["", f"![{_md_cell(f.caption)}]({f.name})", "",
                              f"*{_md_cell(f.caption)}*"]
            if not r.table.empty:
                cols, frows = _frame_rows(r.table, HEAD_ROWS)
                lines += ["", f"**Per-sample table** (first {len(frows)} of {len(r.table)} "
                          "rows; all in `results.csv`)", "", _md_table(cols, frows)]
            for name, df in r.tables.items():
                if df is None or df.empty:
                    continue
                cols, frows = _frame_rows(df, HEAD_ROWS_EXTRA)
                lines += ["", f"**Table `{name}`** (first {len(frows)} of {len(df)} rows; all "
                          f"in `{_table_file(r.lemma, name)}`)", "", _md_table(cols, frows)]
    if sweeps:
        lines += ["", "## Parameter sweeps"]
        for sw in sweeps:
            lines += ["", f"### {sw.name}", "", _md_text(_sweep_intro(sw))]
            f = sw.figure
            lines += (["", f"> {f.note}"] if f.png is None else
                      ["", f"![{_md_cell(f.caption)}]({f.name})"])
            cols, frows = _frame_rows(sw.table, HEAD_ROWS_EXTRA)
            lines += ["", _md_table(cols, frows)]
    lines += ["", "## Timing: slowest checks first", "", _md_table(*_timing_table(entries)),
              "", "## Provenance", "", _md_table(("item", "value"), _provenance_rows(prov)),
              "", "<details><summary>configurations (full)</summary>", "", "```json",
              json.dumps(prov.get("configs", {}), indent=1, default=str), "```", "",
              "</details>", "",
              "Every result's configuration and settings, and the library versions, are in "
              "`results.json`.", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------- tables
def _table_file(lemma: str, name: str) -> str:
    return f"tables/{_slug(lemma)}-{_slug(name)}.csv.gz"


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
                groups.setdefault(_table_file(e.result.lemma, n), []).append(
                    tag(df, e.result, n))
    extra = {f: pd.concat(dfs, ignore_index=True, sort=False) for f, dfs in groups.items()}
    empty = pd.DataFrame(columns=["lemma", "preset", "seed"])
    return (pd.concat(main, ignore_index=True, sort=False) if main else empty), extra


# ------------------------------------------------------------------- writing
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

    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    for stream in (sys.stdout, sys.stderr):  # the child must not repeat buffered output
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        child = multiprocessing.get_context("fork").Process(
            target=_child_main, args=(os.getpid(), _write_tables, folder, main, extra),
            daemon=True)
        child.start()
    except (OSError, ValueError):
        return None
    return child


def write_files(folder: Path, entries: Sequence[Entry], prov: dict[str, Any],
                sweeps: Sequence[SweepSection] = ()) -> list[str]:
    """Write every report file into ``folder`` (a fresh, empty folder).

    The stacked tables are written by a forked child while the pages are rendered
    here (the same bytes either way); if the child fails they are written here.
    """
    written = []
    figs = folder / "figures"
    figs.mkdir()
    (folder / "tables").mkdir()
    main, extra = stacked_tables(entries)
    child = _table_writer_child(folder, main, extra)
    try:
        for e in entries:
            for f in e.figures:
                if f.png is not None:
                    write_bytes(folder / f.name, f.png)
                    written.append(f.name)
        payload = jsonable({"schema": SCHEMA, "provenance": prov,
                            "summary": {**_counts(entries), "exit_code": findings.exit_code(
                                e.result for e in entries)},
                            "findings": _findings_items(entries, prov),
                            "results": [{**e.result.to_json(), "warnings": list(e.warnings)}
                                        for e in entries]})
        write_text(folder / "results.json",
                   json.dumps(payload, indent=1, allow_nan=False, default=str) + "\n")
        written.append("results.json")
        if sweeps:
            (folder / "sweeps").mkdir()
        for sw in sweeps:
            if sw.figure.png is not None:
                write_bytes(folder / sw.figure.name, sw.figure.png)
                written.append(sw.figure.name)
            with atomic_write(folder / "sweeps" / f"{sw.name}-phase.csv", "wb") as fh:
                sw.table.to_csv(fh, index=False)
            written.append(f"sweeps/{sw.name}-phase.csv")
        write_text(folder / "REPORT.md", render_markdown(entries, prov, sweeps))
        write_text(folder / "index.html", render_html(entries, prov, sweeps))
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
                 sweeps: Sequence[SweepSection] = ()) -> None:
    """Write the report atomically: build in a temporary sibling, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        write_files(tmp, entries, prov, sweeps)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_report(out: str | os.PathLike = DEFAULT_OUT, *, quick: bool = False, seed: int = 0,
                 checks: Iterable[LemmaCheck | str] | None = None,
                 progress: bool | None = None, command: str | None = None,
                 parallel_figures: bool | None = None, jobs: int | None = None,
                 sweeps: Iterable[str | os.PathLike] = ()) -> Report:
    """Run every check on its default presets and write the report into ``out``.

    Parameters
    ----------
    out : path
        The report folder (replaced atomically; validated before any work).
    quick : bool
        Smaller sample counts (never a different verdict rule).
    seed : int
        The seed of every check (stored in every result).
    checks : iterable of LemmaCheck or lemma ids, optional
        The checks to run (default: every registered check, in proof order).
    progress : bool or None
        None: a tqdm bar on a terminal, one line per check otherwise; False: silent.
    command : str, optional
        The command line recorded in the provenance.
    parallel_figures : bool or None
        Draw figures in a forked helper process while the next checks run (None:
        when ``fork`` exists and there are 2 or more CPUs). Same figures either way.
        Only used when the checks run one at a time (``jobs=1``).
    jobs : int or None
        Checks run at once, each in a forked worker (None: :func:`default_jobs`, 2 on
        a 2-core machine). Same results either way; per-check times then overlap.
    sweeps : iterable of paths
        Folders written by ``verify sweep``: each becomes a "Parameter sweeps" section
        (phase table and heat map). Read and validated before any check runs.

    Returns
    -------
    Report
        The entries written and the provenance; ``.exit_code`` is 0 when every
        verdict matches its expectation or differs only as a registered known finding,
        1 otherwise. If ``out`` cannot be written once the checks have run, the report
        is written to a fresh temporary folder: ``.out`` is that folder and
        ``.fallback_reason`` says why.
    """
    path = validate_out(out)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer))
                             or jobs < 1):
        raise invalid("jobs", "an integer >= 1", jobs)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise invalid("seed", "an integer >= 0", seed)
    if command is None:
        command = "verify report " + shlex.join(
            ["--out", str(out), "--seed", str(int(seed))] + (["--quick"] if quick else []))
    started = time.time()
    t0 = time.perf_counter()
    sweep_sections = load_sweeps(sweeps)  # bad sweep folders: an error before any check
    selected = _resolve_checks(checks)
    _require_memory(selected)  # a network too large for this machine: refused before any check
    for note in recover_interrupted(path):
        print(f"verify report: {note}", file=sys.stderr)
    jobs = default_jobs() if jobs is None else int(jobs)
    # checks in parallel draw their own figures; one at a time, a helper draws them
    renderer = _FigureRenderer(parallel_figures if jobs <= 1 else False)
    costs = previous_costs(path, quick) if jobs > 1 else {}
    try:
        entries = run_checks(selected, seed=int(seed), quick=quick, progress=progress,
                             on_entry=renderer.submit, jobs=jobs, costs=costs)
        renderer.finish(entries)
    except BaseException:
        renderer.close(wait=False)
        raise
    renderer.close()
    prov = provenance(entries, seed=int(seed), quick=quick, command=command, started=started,
                      wall_s=time.perf_counter() - t0, jobs=jobs)
    if sweep_sections:
        prov["sweeps"] = [{"name": sw.name, "source": sw.source, "tasks": sw.n_tasks,
                           "failed": sw.n_failed} for sw in sweep_sections]
    try:
        write_report(path, entries, prov, sweep_sections)
    except OSError as exc:  # e.g. the folder became read-only while the checks ran
        reason = f"{path} could not be written ({exc.strerror or exc})"
        fallback = Path(tempfile.mkdtemp(prefix="verify-report-")) / path.name
        try:
            write_report(fallback, entries, prov, sweep_sections)
        except OSError:
            raise exc from None
        return Report(fallback, tuple(entries), prov, fallback_reason=reason)
    return Report(path, tuple(entries), prov)


def _require_memory(checks: Sequence[LemmaCheck]) -> None:
    """Refuse (VerifyError) a default preset whose network would not fit in the memory
    budget, before any check runs. A preset that does not resolve is left to its
    check's error row."""
    from .presets import get_preset

    seen = set()
    for check in checks:
        for name in check.presets:
            if name in seen:
                continue
            seen.add(name)
            try:
                config = get_preset(name)
            except VerifyError:
                continue
            try:
                require_memory(config)
            except VerifyError as exc:
                raise VerifyError(f"preset {name!r}: {exc}") from None


__all__ = ["DEFAULT_OUT", "SCHEMA", "Report", "Entry", "FigureOut", "SweepSection",
           "load_sweeps", "status", "validate_out", "recover_interrupted", "die_with_parent",
           "run_checks", "default_jobs", "render_figures", "provenance", "render_html",
           "render_markdown",
           "stacked_tables", "write_files", "write_report", "build_report"]
