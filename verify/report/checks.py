"""Running the report's checks through :func:`verify.runner.run`.

A task is a :class:`CheckTask` (lemma, preset, seed or streams, quick); the job,
:func:`run_task`, is ``run_check`` in whichever process the runner puts it and returns
a :class:`CheckRun`: the frozen :class:`~verify.results.CheckResult` plus what the
report's timing table shows of the process (peak memory, CPU time, warnings). It never
raises for a problem of the check: a check that raises, or that ``run_check`` refuses,
is an error row (:meth:`CheckResult.from_error`). Figures are not drawn here; they
are drawn afterwards from the results (:mod:`verify.report.figures`).

Retries are the runner's (a worker that dies is rerun alone once, then
:func:`failed_task` is its error row). With several workers the costliest checks start
first: the cost of a (lemma, preset) is what the previous report in the same folder
measured (:func:`previous_costs`), else its registration's ``cost`` hint. Results
never depend on the order or the backend.

The result cache (:mod:`verify.cache`): :func:`task_key` is a task's key (lemma, preset
name, the whole configuration, seed or streams, draws, quick, known-bad case, plus the
sources and the environment), None for what the key cannot cover (a check whose code
lies outside the ``verify`` and ``lemmas`` folders, a registry other than the default,
fixed weights that are not a shipped preset's). A hit is the stored :class:`CheckRun`
with ``cached`` set; only results without an error are stored. ``verify check`` runs
its one task through :func:`run_one`, with the same key, so it and the report share
entries.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .. import cache as result_cache
from .. import runner
from ..errors import VerifyError, invalid
from ..registry import LemmaCheck, discover, get_check, require_memory, run_check
from ..results import CheckResult
from ..rng import Streams
from .model import Entry, status

#: At most this many distinct warnings are kept per check.
MAX_WARNINGS = 20
#: Cost (CPU seconds) of a check whose registration gives none and that no previous
#: report measured.
DEFAULT_COST = 1.0


@dataclass(frozen=True)
class CheckTask:
    """One check on one preset: the runner's task (picklable)."""

    lemma: str
    preset: str
    seed: int | Streams
    quick: bool
    draws: int | None = None   # network draws (None: the check's DrawRule default)
    config: Any = None         # a Config to run instead of the preset (a known-bad case)
    known_bad: str = ""        # the known-bad case's name (the power table)


@dataclass(frozen=True)
class CheckRun:
    """What a worker sends back: the result, and the process's peak resident memory
    after the check, the check's CPU time and the warnings it raised (for a result from
    the cache: those of the run that stored it). ``cached``: the result came from the
    cache; ``digest``: the sha256 of its cache entry (None when not stored), which keys
    its figures."""

    result: CheckResult
    peak_rss_mb: float | None = None
    cpu_s: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    cached: bool = False
    digest: str | None = None


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (MB), where the platform reports it."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0  # bytes vs kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def _warning_notes(caught) -> list[str]:
    """Distinct warning messages, ``Category: message``, in order of first appearance."""
    notes: list[str] = []
    for w in caught:
        note = f"{w.category.__name__}: {one_line(str(w.message))}"
        if note not in notes:
            notes.append(note)
    if len(notes) > MAX_WARNINGS:
        notes = notes[:MAX_WARNINGS] + [f"... and {len(notes) - MAX_WARNINGS} more"]
    return notes


def _refused(task: CheckTask, exc: BaseException, elapsed: float) -> CheckResult:
    """The error row of a check that ``run_check`` refused (or that raised outside
    the check itself), or whose worker died twice."""
    check = get_check(task.lemma)
    seed = task.seed if isinstance(task.seed, int) else str(task.seed)
    try:
        from ..presets import get_preset

        cfg = task.config if task.config is not None else get_preset(task.preset)
        config = {"preset": task.preset, **cfg.to_dict()}
    except Exception:  # noqa: BLE001 - the preset itself may be what is wrong
        config = {"preset": task.preset}
    return CheckResult.from_error(
        check, task.preset, seed, task.quick, exc, elapsed, config=config,
        finding=check.finding_on(task.preset, config.get("network"), seed, task.quick))


def run_task(task: CheckTask) -> CheckRun:
    """The runner's job: ``run_check`` with its CPU time, peak memory and warnings."""
    start, cpu0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = run_check(task.lemma, task.config if task.config is not None
                               else task.preset, seed=task.seed, quick=task.quick,
                               catch=True, draws=task.draws)
        except Exception as exc:  # noqa: BLE001 - refused by run_check (VerifyError), or
            # raised before the check itself ran: an error row, never the whole report
            result = _refused(task, exc, time.perf_counter() - start)
    cpu = time.process_time() - cpu0
    notes = _warning_notes(caught)
    for note in notes:  # still shown on the console, and kept for the report
        print(f"{task.lemma} [{task.preset}]: warning: {note}", file=sys.stderr)
    return CheckRun(result, peak_rss_mb(), cpu, tuple(notes))


class WorkerDied(RuntimeError):
    """The worker running a check died twice (the runner's ``failed``)."""


def failed_task(task: CheckTask, reason: str) -> CheckRun:
    """The error row of a check whose worker died twice."""
    return CheckRun(_refused(task, WorkerDied(reason), 0.0))


# -------------------------------------------------------------------- the cache
#: The cache's kind of the check results (:mod:`verify.cache`).
CACHE_KIND = "check"


def cacheable_check(check: LemmaCheck) -> bool:
    """The key covers the check's code: the default registry, and the registration's
    functions and the modules of its statements in the hashed folders
    (:func:`verify.cache.within_sources`)."""
    from .. import registry

    if registry.default() is not registry.DEFAULT:
        return False
    rule = check.draw_rule
    fns = [check.run, check.requires, *check.figures, check.expect, check.hypotheses,
           check.configs, check.counter_configs, getattr(rule, "check", None)]
    modules = [check.module, *(st.module for st in registry.default().statements_of(check.id))]
    return result_cache.within_sources(fns, modules)


def fixed_weights(config) -> str | None | bool:
    """None without fixed weights; the loader's name when they are a shipped preset's
    (the loader of a registered preset, a plain function without a closure in the hashed
    folders: it reads package data, which is in the key), also under another
    configuration name (a known-bad case derived from the preset); False otherwise (not
    cacheable: e.g. weights read from your own file)."""
    import inspect

    from ..presets import presets

    fn = config.loader
    if fn is None:
        return None
    if (not inspect.isfunction(fn) or fn.__closure__ or not result_cache.within_sources([fn])
            or not any(p.loader is fn for p in presets().values())):
        return False
    return f"{fn.__module__}.{fn.__qualname__}"


def task_key(task: CheckTask) -> str | None:
    """The cache key of ``task``, or None when it must not be cached (module docstring)."""
    from ..presets import get_preset
    from ..rng import Streams

    try:
        check = get_check(task.lemma)
        config = task.config if task.config is not None else get_preset(task.preset)
        seed = Streams.of(task.seed).record()
    except VerifyError:
        return None
    fixed = fixed_weights(config)
    if fixed is False or not cacheable_check(check):
        return None
    return result_cache.key(CACHE_KIND, {
        "lemma": task.lemma, "preset": task.preset, "config": config.to_dict(),
        "fixed_weights": fixed, "seed": seed, "draws": task.draws,
        "quick": bool(task.quick), "known_bad": task.known_bad})


def _keep(run: CheckRun) -> bool:
    return run.result.error is None


def _hit(task: CheckTask, run: CheckRun, digest: str) -> CheckRun:
    return replace(run, cached=True, digest=digest)


def _stored(run: CheckRun, digest: str) -> CheckRun:
    return replace(run, digest=digest)


def cached_job(cache: result_cache.Cache) -> result_cache.CachedJob:
    """:func:`run_task` behind ``cache`` (picklable, for any backend)."""
    return result_cache.CachedJob(run_task, CACHE_KIND, task_key, cache, keep=_keep,
                                  hit=_hit, stored=_stored)


def _run_raising(task: CheckTask, progress) -> CheckRun:
    """``run_check`` as ``verify check`` calls it (exceptions propagate), with what
    :func:`run_task` records; its warnings are shown afterwards, once per place."""
    start_cpu = time.process_time()
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_check(task.lemma, task.config if task.config is not None
                               else task.preset, seed=task.seed, quick=task.quick,
                               draws=task.draws, progress=progress)
    finally:
        seen = set()
        for w in caught:
            where = (w.category, str(w.message), w.filename, w.lineno)
            if where not in seen:
                seen.add(where)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return CheckRun(result, peak_rss_mb(), time.process_time() - start_cpu,
                    tuple(_warning_notes(caught)))


def run_one(task: CheckTask, *, cache: Any = None, scheduler: Any = None,
            progress: Callable[[int, int], None] | None = None) -> CheckRun:
    """One check for ``verify check``: from the cache when stored, else run here
    (``run_check``'s exceptions propagate: VerifyError is bad input) or, with
    ``scheduler``, as one task on Dask (:func:`verify.runner.run`; a refusal there
    comes back as a VerifyError too). ``cache``: as :func:`verify.cache.resolve`."""
    store = result_cache.resolve(cache)
    job = cached_job(store) if store is not None else None
    found = job.lookup(task) if job is not None else None
    if found is not None:
        return found
    if scheduler is not None:
        backend = runner.Backend("dask", 1, scheduler)
        ((_, run),) = list(runner.run(job or run_task, [task], failed=failed_task,
                                      backend=backend))
        error = run.result.error or ""
        if error.startswith("VerifyError: "):
            raise VerifyError(error.removeprefix("VerifyError: "))
        return run
    run = _run_raising(task, progress)
    k = task_key(task) if store is not None and _keep(run) else None
    return run if k is None else _stored(run, store.put(CACHE_KIND, k, run))


# -------------------------------------------------------------------- costs
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


def task_cost(check: LemmaCheck, preset: str,
              measured: dict[tuple[str, str], float]) -> float:
    """Measured history first, else the registration's ``cost`` hint."""
    hint = getattr(check, "cost", None)
    return measured.get((check.id, preset), DEFAULT_COST if hint is None else float(hint))


# ------------------------------------------------------------------ selecting
def resolve_checks(checks: Iterable[LemmaCheck | str] | None) -> list[LemmaCheck]:
    """The registrations to run, in proof order (None: every registered check)."""
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


def require_time(checks: Sequence[LemmaCheck], *, draws: int | None, quick: bool,
                 power: bool) -> None:
    """Refuse (VerifyError) a report whose estimated work (:func:`verify.work.report_wu`:
    every check on its presets, and its known-bad configurations with ``power``, over
    ``draws``) exceeds the time budget, before any check runs; naming ``--draws`` when
    it was given."""
    from .. import work
    from ..presets import get_preset

    def preset(name):
        try:
            return get_preset(name)
        except VerifyError:
            return None
    wu = work.report_wu(checks, preset, draws=draws, quick=quick, power=power)
    work.require(wu, "--draws" if draws is not None else "verify report",
                 hint=f"{len(checks)} checks on their default presets"
                 + (" and known-bad configurations" if power else "")
                 + ("" if draws is None else f", {draws:,} draws each"))


def require_presets_fit(checks: Sequence[LemmaCheck]) -> None:
    """Refuse (VerifyError) a default preset whose network would not fit in the memory
    budget, before any check runs. A preset that does not resolve is left to its
    check's error row."""
    from ..presets import get_preset

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


# -------------------------------------------------------------------- running
def run_checks(checks: Sequence[LemmaCheck], *, seed: int = 0, quick: bool = False,
               progress: bool | None = None,
               on_entry: Callable[[Entry], None] | None = None,
               jobs: int = 1,
               costs: dict[tuple[str, str], float] | None = None,
               draws: int | None = None, power: bool = False,
               configs: Sequence[Any] | None = None,
               cache: Any = None, scheduler: Any = None) -> list[Entry]:
    """Run every check on each of its default presets through :func:`verify.runner.run`;
    a crash becomes an error row.

    ``draws``: network draws per probabilistic check (None: each check's
    :class:`~verify.verdicts.DrawRule` default). ``power``: also run every registered
    known-bad configuration (:class:`~verify.verdicts.KnownBad`, on its own seed, with
    the same ``quick`` and ``draws``); their entries carry ``known_bad`` and come after
    the presets' entries (``on_entry`` is not called for them: they have no figures).

    ``jobs > 1``: that many forked workers (the runner's ``processes`` backend), the
    costliest checks first (``costs``: measured seconds per (lemma, preset), else the
    registration's ``cost``). ``scheduler``: the runner's ``dask`` backend instead (an
    address, ``"local"`` for a local cluster of ``jobs`` workers, or a Client).
    ``cache`` (:func:`verify.cache.resolve`: a folder, a Cache, True for the default
    one, None for none): results stored there are taken as they are (their entries
    marked ``cached``) and only the others run; those run are stored by the worker that
    ran them. ``on_entry`` sees each entry as its result arrives (the figure helper
    starts drawing it). The entries come back in proof order whatever the order they
    ran in.

    ``configs``: users' networks (:class:`~verify.presets.Config`) to run every check
    on instead of the checks' presets (:func:`verify.report.user.user_tasks`: a fixed
    network runs one draw and its statements are judged as one network's; a check that
    does not apply is not run and says why).
    """
    ready: dict[int, CheckResult] = {}
    if configs is not None:
        from .user import finish, user_tasks

        todo, tasks, ready = user_tasks(checks, configs, seed=seed, quick=quick, draws=draws)
    else:
        todo = [(c, p) for c in checks for p in c.presets]
        tasks = [CheckTask(c.id, p, int(seed), bool(quick), draws) for c, p in todo]
    bad: dict[int, Any] = {}
    if power:
        for c in checks:
            for kb in getattr(c, "known_bad", ()):
                bad[len(tasks)] = kb
                todo.append((c, kb.config.name))
                tasks.append(CheckTask(c.id, kb.config.name, kb.seed, bool(quick), draws,
                                       kb.config, kb.name))
    index = {id(t): i for i, t in enumerate(tasks)}  # the runner yields the tasks given
    store = result_cache.resolve(cache)
    job: Callable[[CheckTask], CheckRun] = run_task
    found: dict[int, CheckRun] = {}
    if store is not None:
        job = cached_job(store)
        for i, t in enumerate(tasks):  # hits never reach the runner (nor a cluster)
            if i in ready:
                continue
            run = job.lookup(t)
            if run is not None:
                found[i] = run
    misses = [t for i, t in enumerate(tasks) if i not in found and i not in ready]
    if scheduler is not None:
        backend = runner.Backend("dask", max(1, jobs), scheduler)
    else:
        backend = runner.Backend.choose(min(jobs, len(misses)))
    cost = None
    if backend.kind != "serial":
        measured = costs or {}
        cost = lambda t: task_cost(todo[index[id(t)]][0], t.preset, measured)  # noqa: E731

    def label(task: CheckTask, run: CheckRun) -> str:
        r = run.result
        if configs is not None:  # (as the report will show it)
            r = finish(todo[index[id(task)]][0], task, r)
        mark = " (cached)" if run.cached else ""
        if task.known_bad:
            return (f"{r.lemma} [known-bad: {task.known_bad}] {r.verdict} "
                    f"({r.elapsed_s:.2f} s{mark})")
        if r.statements and r.error is None:
            from .statements import label as st_label

            said = ", ".join(f"{v.statement} {st_label(v.to_json())[0]}" for v in r.statements)
            return (f"{r.lemma} [{r.preset}] {said} ({r.draws} draws, "
                    f"{r.elapsed_s:.2f} s{mark})")
        return f"{r.lemma} [{r.preset}] {status(r)[0]} ({r.elapsed_s:.2f} s{mark})"

    display = runner.Progress(len(found) + len(misses), progress, name="report", unit="check", label=label)
    entries: list[Entry | None] = [None] * len(tasks)
    for i, result in ready.items():
        entries[i] = Entry(todo[i][0], result, figures_done=True)

    def arrived(i: int, run: CheckRun) -> None:
        if configs is not None:
            run = CheckRun(finish(todo[i][0], tasks[i], run.result), run.peak_rss_mb,
                           run.cpu_s, run.warnings, run.cached, run.digest)
        e = Entry(todo[i][0], run.result, peak_rss_mb=run.peak_rss_mb, cpu_s=run.cpu_s,
                  warnings=list(run.warnings), known_bad=bad.get(i), cached=run.cached,
                  digest=run.digest)
        entries[i] = e
        if on_entry is not None and e.known_bad is None:
            on_entry(e)

    for i, run in found.items():
        display.finish(tasks[i], run)
        arrived(i, run)
    for task, run in runner.run(job, misses, failed=failed_task, backend=backend,
                                cost=cost, progress=display):
        arrived(index[id(task)], run)
    return [e for e in entries if e is not None]


__all__ = ["CheckTask", "CheckRun", "run_task", "failed_task", "previous_costs", "task_cost",
           "resolve_checks", "require_presets_fit", "run_checks", "peak_rss_mb", "task_key",
           "cacheable_check", "fixed_weights", "cached_job", "run_one", "CACHE_KIND"]
