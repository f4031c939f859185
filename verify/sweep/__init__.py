"""Parameter sweeps: a grid of checks (or recoveries) run serially, on local processes or
on a Dask cluster (:func:`verify.runner.run`), with results written per task as they
finish.

The package, one concern per module:

============  ==========================================================================
``plan``      the sweep file's schema, its validation, the lazy plan (:class:`Sweep`,
              :class:`Task`) and the memory guard
``task``      running one task (:func:`run_task`): a check through
              :func:`verify.registry.run_check`, a recovery through
              :func:`verify.inversion.run_recovery`
``records``   ``results.jsonl`` (the writer, reading and checking records), the
              consolidated ``results.csv``, :func:`load_results`
``folder``    the output folder: its lock and its manifest ``sweep.json``
``run``       the coordinator :func:`run_sweep` and its :class:`SweepSummary`
``diagram``   phase diagrams over expansion x sampling rate (:func:`phase_table`,
              :func:`phase_figure`)
============  ==========================================================================

The sweep file (TOML)
---------------------
Everything lives in one ``[sweep]`` table; unknown keys, empty lists and invalid values
are refused by name before anything starts::

    [sweep]
    kind = "check"                      # "check" (lemma checks, default) or "invert"
    lemmas = ["concentration"]          # kind = "check": lemma ids (`verify list`)
    presets = ["theory-2layer"]         # named configurations, and/or [[sweep.networks]]
    weights = ["gaussian", "rademacher", {law = "uniform", std = 0.5}]  # default: the config's
    masks = ["random", "top"]           # mask kinds (default: the config's own mask)
    rates = [0.25, 0.5, 1.0]            # sampling rates (default: the config's own rate)
    replicates = 3                      # independent random streams per grid point (default 1)
    base_seed = 0                       # task i draws from Streams(base_seed).task(i)
    quick = true                        # smaller sample counts, same verdict rule (default)
    imports = ["mypackage.my_lemmas"]   # modules imported first (in every worker): own lemmas

    [[sweep.networks]]                  # an architecture given in full (NetworkSpec fields) ...
    name = "narrow"
    dims = 1
    latent_channels = 4
    layers = [{channels = 8, kernel = 2, stride = 2}, {channels = 16, kernel = 2, stride = 2}]

    [[sweep.networks]]                  # ... or as the theory's block form (stride = kernel)
    name = "wide"
    dims = 1
    channels = [4, 32, 64]
    kernels = [4, 4]

    [sweep.invert]                      # kind = "invert" only: the recovery's options
    trials = 20

``masks`` takes the kinds of :data:`verify.measurements.CONFIG_KINDS` (a recovery only
the subsampling kinds, :data:`~verify.measurements.RATE_KINDS`). ``[sweep.invert]``
takes the fields of :class:`verify.inversion.InvertOptions` (``trials``, ``noise``,
``method`` = adam | gd | lp, ``iterations``, ``lr``, ``negation``, ``success_tol``),
validated by that class, with its defaults: a file that does not set ``trials`` runs
InvertOptions' default (100), as ``verify invert`` does. The mask kind and rate of a
recovery are the grid's (``masks``, ``rates``), so ``kind`` and ``rate`` are refused
there.

The grid is the product lemma x configuration x weight law x mask kind x rate x
replicate, in that order (a ``full`` mask ignores ``rates``: it appears once; repeated
entries appear once).

Random streams
--------------
Task i runs on ``Streams(base_seed).task(i)`` (:mod:`verify.rng`: the ``SeedSequence``
with entropy ``base_seed`` and spawn key ``(3, i)``, built in O(1)), so results are
identical serially or spread over workers, and no two tasks of a plan share a stream
(never a 32-bit integer seed, which repeats by chance within ~10^5 tasks). Every record
stores the stream's identity: ``seed`` as ``"<base_seed>/3.<i>"`` and ``streams``
(``{"entropy", "spawn_key"}``, :meth:`Streams.record <verify.rng.Streams.record>`;
:meth:`Streams.from_record <verify.rng.Streams.from_record>` rebuilds them). A check
task is exactly ``run_check(lemma, config, seed=streams, quick=quick, draws=1)`` (one
network draw; the grid's ``replicates`` are its draws), a recovery
task exactly ``run_recovery(config, options, streams)``: the same numbers as the
Python API given the same streams. A check task on a preset replays from the command
line with its ``seed``: ``verify check LEMMA --preset NAME --seed 0/3.17``.

The plan is lazy: task i is computed from i when it is due (:meth:`Sweep.task`), so a
grid of a million tasks starts its first task at once and never holds a list of them.
Before anything runs, every grid point is checked to apply to its lemma, and the memory
of each network (:func:`verify.budget.require_network`, batch 1, or ``trials`` for
recoveries) and of the coordinator's bookkeeping (``BOOKKEEPING_BYTES`` per task) is
checked against the budget (``--max-memory``): a grid over it is refused (exit 2) naming
the field and the estimate.

The output folder
-----------------
``--out DIR`` is checked before any work (:func:`verify.fsio.check_writable_dir`); bad
input writes nothing. ``DIR/.lock`` is held (``flock``, non-blocking) for the whole run:
a second sweep on the same folder is refused (exit 2) while the first runs; the kernel
releases the lock when the process exits, even on ``kill -9``.

``DIR/results.jsonl``: one JSON object per task, appended as tasks finish, each line
written by one ``os.write`` on an ``O_APPEND`` descriptor. Every record has ``task_id``,
``index``, ``kind``, ``status`` (``"ok"`` or ``"failed"``, with ``error``),
``attempts``, ``seed`` and ``streams``, the configuration's columns and, for a check,
``matches_expectation``, ``accepted`` (a match, or a difference registered as a known
finding: what exit 0 requires) and ``failed_criteria``: a list of ``{name, statistic,
bound, sense, margin}``, one per criterion of the check that did not hold (empty when it
passed; a recovery's one criterion is ``success rate >= 0.5``). A recovery's record has
the statistics of ``verify invert --json`` and, in ``details``, the per-trial relative
errors, successes and iteration counts. ``DIR/results.csv`` is the consolidated table
(one row per task, in task order, rewritten atomically at the end of every run) and
``DIR/sweep.json`` the manifest: ``format`` (3), ``version``, ``plan_hash`` (a hash of
the normalised grid: same hash, same tasks), ``n_tasks``, ``streams`` (how task i's
streams are built), ``sweep`` (the normalised ``[sweep]`` table) and ``source`` --
never the task list.

Resuming
--------
``--resume`` runs only the tasks without a record, so a killed sweep loses at most the
tasks in flight and never duplicates a row. The folder is checked first, and any damage
is bad input (exit 2, one line naming the file and, for records, the line number): a
manifest that is not JSON, lacks a field or has one of the wrong type; a manifest of a
different plan (another sweep file: never mixed); records in a folder without a
manifest; a record line that is not a JSON object, lacks ``task_id``, ``index``,
``kind`` or ``status`` (or, for a finished check, ``matches_expectation``), or names a
task that is not this plan's. One exception: a torn **last** line, one without its
final newline, is what a ``kill -9`` in the middle of a write leaves behind; it is
ignored by every reader and cut off before the next record is appended (its task runs
again). A task recorded twice (only possible in folders written without the lock)
counts once: its first record. Folders of formats 1 and 2 (written before the streams
above: task i drew from ``SeedSequence(base_seed, spawn_key=(i,))`` and its 32-bit
first word) are refused by name: continuing them would mix two stream layouts in one
table; finish them with the version that started them, or start a new folder.

The summary (and the exit code) is recomputed at the end of every run from all the
records in the folder, old and new: a ``--resume`` of a finished sweep reports the same
matches, mismatches and failures, and exits with the same code, as the run that wrote
it. :func:`load_results` reads a folder into a pandas DataFrame; :func:`phase_table`
and :func:`phase_figure` draw the verdict over expansion x sampling rate (a phase
diagram).

Retries: a task whose worker dies is run once more alone, then recorded with
``status = "failed"`` (the runner's one policy, :mod:`verify.runner`); a task that
raises is attempted once more by its worker, then recorded as failed with both errors.
The sweep goes on either way.
"""

from __future__ import annotations

from .diagram import phase_figure, phase_table
from .folder import FORMAT, LOCK, MANIFEST, FolderLock, read_manifest, write_manifest
from .plan import (BOOKKEEPING_BYTES, KINDS, SWEEP_KEYS, Sweep, Task, build_config,
                   load_sweep, parse_sweep)
from .records import (RESULTS, TABLE, ResultsWriter, load_results, read_records,
                      scan, write_table)
from .run import SweepSummary, run_sweep
from .task import RECOVERY_BOUND, failed_record, run_task

#: The folder lock under its former private name (the tests hold it directly).
_FolderLock = FolderLock

__all__ = ["Task", "Sweep", "SweepSummary", "parse_sweep", "load_sweep", "build_config",
           "run_task", "failed_record", "run_sweep", "read_records", "load_results",
           "phase_table", "phase_figure", "ResultsWriter", "FolderLock", "RESULTS", "TABLE",
           "MANIFEST", "LOCK", "FORMAT", "BOOKKEEPING_BYTES", "RECOVERY_BOUND", "KINDS",
           "SWEEP_KEYS", "read_manifest", "write_manifest", "scan", "write_table"]
