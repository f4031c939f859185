""":func:`build_report`: validate, run the checks through the runner, draw the figures
from the results, record the provenance, write the folder."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .. import cache as result_cache
from .. import runner
from ..errors import invalid
from ..registry import LemmaCheck
from ..verdicts import draws_count
from .checks import previous_costs, require_presets_fit, require_time, resolve_checks, \
    run_checks
from .figures import FigureRenderer
from .model import Report
from .provenance import provenance
from .sweeps import load_sweeps
from .write import recover_interrupted, validate_out, write_report

#: Default output folder (verify/cli/README.md).
DEFAULT_OUT = "reports/latest"


def build_report(out: str | os.PathLike = DEFAULT_OUT, *, quick: bool = False, seed: int = 0,
                 checks: Iterable[LemmaCheck | str] | None = None,
                 progress: bool | None = None, command: str | None = None,
                 parallel_figures: bool | None = None, jobs: int | None = None,
                 sweeps: Iterable[str | os.PathLike] = (), draws: int | None = None,
                 power: bool = True, configs=None, network: dict | None = None,
                 cache: Any = None, scheduler: Any = None) -> Report:
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
        The runner's display: None, a tqdm bar on a terminal and one line per check
        otherwise; False: silent.
    command : str, optional
        The command line recorded in the provenance.
    parallel_figures : bool or None
        Draw figures in forked helper processes (as many as ``jobs``) while the next
        checks run (None: when ``fork`` exists and there are 2 or more CPUs); False
        draws them here once the checks are done. Same figures either way.
    jobs : int or None
        Checks run at once, each in a forked worker of :func:`verify.runner.run`
        (None: :func:`verify.runner.default_workers`, 2 on a 2-core machine). Same
        results either way; per-check times then overlap.
    sweeps : iterable of paths
        Folders written by ``verify sweep``: each becomes a "Parameter sweeps" section
        (phase table and heat map). Read and validated before any check runs.
    draws : int or None
        Network draws per probabilistic check (``--draws``; None: each check's
        :class:`~verify.verdicts.DrawRule` default, 1: single-draw verdicts, labelled).
    power : bool
        Also run every registered known-bad configuration (the power table); one that
        a check does not reject sets the exit code to 1.
    configs : sequence of Config, optional
        Users' networks to run every check on instead of the presets
        (:mod:`verify.report.user`); ``network``: their provenance record
        (``provenance.network``: the file, its SHA-256, ...).
    cache : folder, verify.cache.Cache, True or None
        The result cache (:mod:`verify.cache`; True: the default folder; None, the
        default here: none, everything recomputed). Results and figure sets stored
        there are reused, only what changed runs; reused ones are marked in the
        provenance (``cache``, and ``cached`` / ``figures_cached`` in ``timing``).
    scheduler : str or distributed.Client, optional
        Run the checks on Dask (:func:`verify.runner.connect`: an address, ``"local"``
        for a local cluster of ``jobs`` workers, or a Client), connected before any
        check runs. Same results as on local processes.

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
    if draws is not None:
        draws = draws_count(draws)
    if command is None:
        command = "verify report " + shlex.join(
            ["--out", str(out), "--seed", str(int(seed))] + (["--quick"] if quick else [])
            + ([] if draws is None else ["--draws", str(draws)]))
    started = time.time()
    t0 = time.perf_counter()
    sweep_sections = load_sweeps(sweeps)  # bad sweep folders: an error before any check
    selected = resolve_checks(checks)
    if configs is not None:  # a user's network: its memory and work, refused now
        from .user import require_fit

        require_fit(selected, configs, draws=draws, quick=quick)
    else:
        require_presets_fit(selected)  # a network too large for this machine: refused now
        require_time(selected, draws=draws, quick=quick, power=power)  # work over --max-time
    for note in recover_interrupted(path):
        print(f"verify report: {note}", file=sys.stderr)
    jobs = runner.default_workers() if jobs is None else int(jobs)
    store = result_cache.resolve(cache)
    # started before the checks' workers: helpers forked from a process without pool threads
    renderer = FigureRenderer(parallel_figures, workers=jobs, cache=store)
    release = lambda: None  # noqa: E731
    where = None if scheduler is None else (
        scheduler if isinstance(scheduler, str) else "a Dask client")
    try:
        if scheduler is not None:  # an unreachable scheduler: bad input, before any check
            scheduler, release = runner.connect(scheduler, jobs)
        ran = run_checks(selected, seed=int(seed), quick=quick, progress=progress,
                         on_entry=renderer.submit, jobs=jobs,
                         costs=previous_costs(path, quick), draws=draws, power=power,
                         configs=configs, cache=store, scheduler=scheduler)
        entries = [e for e in ran if e.known_bad is None]
        power_entries = [e for e in ran if e.known_bad is not None]
        renderer.finish(entries)
    except BaseException:
        renderer.close(wait=False)
        release()
        raise
    renderer.close()
    release()
    prov = provenance(entries + power_entries, seed=int(seed), quick=quick, command=command,
                      started=started, wall_s=time.perf_counter() - t0, jobs=jobs,
                      cache=store)
    prov["draws"] = ("each check's DrawRule default" if draws is None else draws)
    if network is not None:
        prov["network"] = network
    if where is not None:
        prov["scheduler"] = where
    if sweep_sections:
        prov["sweeps"] = [sw.record() for sw in sweep_sections]
    try:
        write_report(path, entries, prov, sweep_sections, power_entries)
    except OSError as exc:  # e.g. the folder became read-only while the checks ran
        reason = f"{path} could not be written ({exc.strerror or exc})"
        fallback = Path(tempfile.mkdtemp(prefix="verify-report-")) / path.name
        try:
            write_report(fallback, entries, prov, sweep_sections, power_entries)
        except OSError:
            raise exc from None
        return Report(fallback, tuple(entries), prov, fallback_reason=reason,
                      power=tuple(power_entries))
    return Report(path, tuple(entries), prov, power=tuple(power_entries))


__all__ = ["DEFAULT_OUT", "build_report"]
