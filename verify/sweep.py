"""Parameter sweeps: a grid of checks (or recoveries) run serially, on local processes or
on a Dask cluster, with results written per task as they finish.

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
    base_seed = 0                       # task i gets child i of SeedSequence(base_seed)
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

    [sweep.invert]                      # kind = "invert" only: options of the recovery
    trials = 20

The grid is the product lemma x configuration x weight law x mask kind x rate x
replicate, in that order (a ``full`` mask ignores ``rates``: it appears once; repeated
entries appear once). Task i draws from child i of ``SeedSequence(base_seed)``, built
directly as ``SeedSequence(base_seed, spawn_key=(i,))`` (the same child ``spawn`` gives);
its integer seed (the ``seed`` column, what ``verify check --seed`` takes) is the first
32-bit word of that child, so results are identical serially or spread over workers, and
the entropy and spawn key are stored with every row.

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
``index``, ``kind``, ``status`` (``"ok"`` or ``"failed"``, with ``error``), the
configuration's columns and, for a check, ``matches_expectation``, ``accepted`` (a
match, or a difference registered as a known finding: what exit 0 requires) and
``failed_criteria``: a list of ``{name, statistic, bound, sense, margin}``, one per
criterion of the check that did not hold (empty when it passed; a recovery's one
criterion is ``success rate >= 0.5``). ``DIR/results.csv`` is the consolidated table
(one row per task, in task order, rewritten atomically at the end of every run) and
``DIR/sweep.json`` the manifest: ``format`` (2), ``version``, ``plan_hash`` (a hash of
the normalised grid: same hash, same tasks), ``n_tasks``, ``sweep`` (the normalised
``[sweep]`` table) and ``source`` -- never the task list.

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
counts once: its first record. A manifest of format 1 (the full task list) is accepted
when its digest is this plan's.

The summary (and the exit code) is recomputed at the end of every run from all the
records in the folder, old and new: a ``--resume`` of a finished sweep reports the same
matches, mismatches and failures, and exits with the same code, as the run that wrote
it. :func:`load_results` reads a folder into a pandas DataFrame; :func:`phase_table`
and :func:`phase_figure` draw the verdict over expansion x sampling rate (a phase
diagram).

A task whose worker dies or raises is retried once (alone, so a crash that takes
innocent tasks in flight with it does not count against them), then recorded with
``status = "failed"`` and the error; the sweep goes on.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from . import __version__, budget
from .errors import VerifyError, invalid
from .fsio import check_writable_dir, write_text
from .measurements import MASK_KINDS, MaskSpec, check_rate
from .results import jsonable
from .spec import NetworkSpec, block_spec
from .weights import WeightLaw

RESULTS = "results.jsonl"
TABLE = "results.csv"
MANIFEST = "sweep.json"
LOCK = ".lock"
#: The manifest's format: 2 stores the grid and its hash (1 listed every task).
FORMAT = 2
#: Coordinator memory per task of the plan: a status byte and the offset of its record
#: (the consolidated table is written by seeking to each record in task order).
BOOKKEEPING_BYTES = 16

_SWEEP_KEYS = ("kind", "lemmas", "presets", "networks", "weights", "masks", "rates",
               "replicates", "base_seed", "quick", "imports", "invert")
_KINDS = ("check", "invert")
_MASK_CHOICES = tuple(k for k in MASK_KINDS if k != "custom") + ("gaussian",)


# ============================================================== the sweep file
@dataclass(frozen=True)
class Task:
    """One grid point: what to run, on which configuration, with which stream."""

    index: int
    task_id: str
    kind: str
    lemma: str | None
    config: dict[str, Any]        # {"preset": name | None, "data": Config.to_dict() | None,
                                  #  "weights": {...} | None, "mask": {...} | None, "name": str}
    replicate: int
    seed: int
    entropy: int
    spawn_key: tuple[int, ...]
    quick: bool
    imports: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "task_id": self.task_id, "kind": self.kind,
                "lemma": self.lemma, "config": self.config, "replicate": self.replicate,
                "seed": self.seed, "entropy": self.entropy, "spawn_key": list(self.spawn_key),
                "quick": self.quick, "imports": list(self.imports), "options": self.options}


class Sweep(Sequence):
    """A validated sweep: the grid's axes, from which task i is built on demand.

    ``len(sweep)`` is the task count; ``sweep.task(i)`` (or ``sweep.tasks[i]``, or
    iteration) builds task i in O(1), so no list of tasks is ever held. ``digest`` is
    the plan hash: equal hashes, equal tasks.
    """

    def __init__(self, *, spec: Mapping[str, Any], kind: str, lemmas, configs, weights,
                 mask_rates, replicates: int, base_seed: int, quick: bool,
                 imports: Iterable[str] = (), options: Mapping[str, Any] | None = None) -> None:
        self.spec = dict(spec)
        self.kind = kind
        self.lemmas = tuple(lemmas)
        self.configs = tuple(configs)           # ((name, {"preset", "data"}), ...)
        self.weights = tuple(weights)           # law dicts or None
        self.mask_rates = tuple(mask_rates)     # ((mask kind | None, rate | None), ...)
        self.replicates = int(replicates)
        self.base_seed = int(base_seed)
        self.quick = bool(quick)
        self.imports = tuple(imports)
        self.options = dict(options or {})
        self.n_points = (len(self.lemmas) * len(self.configs) * len(self.weights)
                         * len(self.mask_rates))
        self.n_tasks = self.n_points * self.replicates
        plan = {"format": FORMAT, "kind": kind, "lemmas": self.lemmas,
                "configs": self.configs, "weights": self.weights,
                "mask_rates": self.mask_rates, "replicates": self.replicates,
                "base_seed": self.base_seed, "quick": self.quick, "options": self.options}
        self._last: tuple = (-1, None, None, "")
        self.digest = hashlib.sha1(json.dumps(jsonable(plan), sort_keys=True,
                                              allow_nan=False).encode()).hexdigest()

    @property
    def plan_hash(self) -> str:
        return self.digest

    def __len__(self) -> int:
        return self.n_tasks

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.task(j) for j in range(*i.indices(self.n_tasks))]
        return self.task(i)

    @property
    def tasks(self) -> "Sweep":
        """The tasks in grid order, as a lazy sequence (this object itself)."""
        return self

    def point(self, p: int) -> tuple[Any, str, dict[str, Any], Any, Any, Any]:
        """Grid point ``p`` (replicates aside): (lemma, name, config, law, mask, rate)."""
        p, m = divmod(p, len(self.mask_rates))
        p, w = divmod(p, len(self.weights))
        lem, c = divmod(p, len(self.configs))
        cname, cfg = self.configs[c]
        mask, rate = self.mask_rates[m]
        return self.lemmas[lem], cname, cfg, self.weights[w], mask, rate

    def task(self, i: int) -> Task:
        """Task ``i``: grid point ``i // replicates``, replicate ``i % replicates``,
        stream ``SeedSequence(base_seed, spawn_key=(i,))`` (spawn's child i)."""
        i = int(i)
        if i < 0:
            i += self.n_tasks
        if not 0 <= i < self.n_tasks:
            raise IndexError(f"task {i} of a sweep of {self.n_tasks} tasks")
        p, rep = divmod(i, self.replicates)
        if self._last[0] != p:  # replicates of one point are consecutive: serialise once
            lemma, cname, cfg, law, mask, rate = self.point(p)
            spec_cfg = {"name": cname, "preset": cfg["preset"], "data": cfg["data"],
                        "weights": law, "mask": None if mask is None and rate is None
                        else {"kind": mask, "rate": rate}}
            head = json.dumps({"config": spec_cfg, "kind": self.kind, "lemma": lemma,
                               "options": self.options, "quick": self.quick},
                              sort_keys=True)[:-1]
            self._last = (p, lemma, spec_cfg, head)
        _, lemma, spec_cfg, head = self._last
        child = np.random.SeedSequence(self.base_seed, spawn_key=(i,))
        seed = int(child.generate_state(1, np.uint32)[0])
        # == json.dumps({...config, kind, lemma, options, quick, replicate, seed},
        # sort_keys=True): replicate and seed sort last
        ident = f'{head}, "replicate": {rep}, "seed": {seed}}}'
        task_id = f"{i:06d}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}"
        return Task(i, task_id, self.kind, lemma, spec_cfg, rep, seed, int(child.entropy),
                    tuple(int(k) for k in child.spawn_key), self.quick, self.imports,
                    self.options)

    def __iter__(self) -> Iterator[Task]:
        return (self.task(i) for i in range(self.n_tasks))

    def legacy_digest(self) -> str:
        """The format-1 manifest's digest (a hash of every task id; O(n))."""
        h = hashlib.sha1()
        for i in range(self.n_tasks):
            h.update((("\n" if i else "") + self.task(i).task_id).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        return f"Sweep({self.n_tasks} tasks, plan {self.digest[:12]})"


def _nonempty_list(sw: Mapping[str, Any], key: str, required: bool = False) -> list | None:
    if key not in sw:
        if required:
            raise invalid(f"sweep.{key}", "a non-empty list (missing)", None)
        return None
    value = sw[key]
    if not isinstance(value, list):
        raise invalid(f"sweep.{key}", "a list", value)
    if not value:
        raise invalid(f"sweep.{key}", "a non-empty list", value)
    return value


def _import_modules(modules: Iterable[str]) -> None:
    for i, name in enumerate(modules):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported as bad input, by key
            raise invalid(f"sweep.imports[{i}]", "an importable module",
                          f"{name} ({type(exc).__name__}: {exc})") from None


def _network_entry(raw: Any, i: int) -> tuple[str, dict[str, Any]]:
    where = f"sweep.networks[{i}]"
    if not isinstance(raw, Mapping):
        raise invalid(where, "a table", raw)
    raw = dict(raw)
    name = raw.pop("name", f"network{i}")
    if not isinstance(name, str) or not name:
        raise invalid(f"{where}.name", "a non-empty string", name)
    if "channels" in raw or "kernels" in raw:  # the block shorthand
        bad = set(raw) - {"dims", "channels", "kernels", "activation"}
        if bad:
            raise invalid(f"{where}.{sorted(bad)[0]}",
                          "one of name, dims, channels, kernels, activation (block form)",
                          "unknown key")
        for key in ("dims", "channels", "kernels"):
            if key not in raw:
                raise invalid(f"{where}.{key}", "a value (missing)", None)
        if not isinstance(raw["channels"], list) or not isinstance(raw["kernels"], list):
            raise invalid(f"{where}.channels", "lists channels = [C0, ...], kernels = [l1, ...]",
                          raw["channels"])
        try:
            spec = block_spec(raw["dims"], tuple(raw["channels"]), tuple(raw["kernels"]),
                              raw.get("activation", "relu"))
        except VerifyError as exc:
            raise VerifyError(f"{where}: {exc}") from None
    else:
        try:
            spec = NetworkSpec.from_dict(raw, where=where)
        except VerifyError as exc:
            msg = str(exc)
            raise VerifyError(msg if msg.startswith(where) else f"{where}: {msg}") from None
        except TypeError as exc:
            raise VerifyError(f"{where}: {exc}") from None
    return name, spec.to_dict()


def _weights_entry(raw: Any, i: int) -> dict[str, Any]:
    where = f"sweep.weights[{i}]"
    try:
        if isinstance(raw, str):
            return WeightLaw(raw).to_dict()
        if isinstance(raw, Mapping):
            return WeightLaw.from_dict(raw).to_dict()
    except VerifyError as exc:
        raise VerifyError(f"{where}: {exc}") from None
    raise invalid(where, "a law name or a table {law, std}", raw)


def parse_sweep(data: Mapping[str, Any]) -> Sweep:
    """Validate a sweep (the parsed TOML) into its plan (tasks built on demand).

    Raises
    ------
    VerifyError
        Naming the offending key (``sweep.rates[1]: expected a sampling rate in
        (0, 1], got 1.5``); nothing has been run or written.
    """
    from .presets import Config, get_preset
    from .registry import get_check

    extra = set(data) - {"sweep"}
    if extra:
        raise invalid(sorted(extra)[0], "only a [sweep] table at the top level", "unknown key")
    if "sweep" not in data or not isinstance(data["sweep"], Mapping):
        raise invalid("sweep", "a [sweep] table", data.get("sweep"))
    sw = dict(data["sweep"])
    unknown = set(sw) - set(_SWEEP_KEYS)
    if unknown:
        raise invalid(f"sweep.{sorted(unknown)[0]}", "one of " + ", ".join(_SWEEP_KEYS),
                      "unknown key")

    kind = sw.get("kind", "check")
    if kind not in _KINDS:
        raise invalid("sweep.kind", "one of " + ", ".join(_KINDS), kind)
    imports = _nonempty_list(sw, "imports") or []
    if not all(isinstance(m, str) for m in imports):
        raise invalid("sweep.imports", "a list of module names", imports)
    _import_modules(imports)

    quick = sw.get("quick", True)
    if not isinstance(quick, bool):
        raise invalid("sweep.quick", "true or false", quick)
    base_seed = sw.get("base_seed", 0)
    if isinstance(base_seed, bool) or not isinstance(base_seed, int) or base_seed < 0:
        raise invalid("sweep.base_seed", "an integer >= 0", base_seed)
    replicates = sw.get("replicates", 1)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or not 1 <= replicates <= 100_000:
        raise invalid("sweep.replicates", "an integer in [1, 100000]", replicates)

    # ---- what to run
    if kind == "check":
        lemmas = _nonempty_list(sw, "lemmas", required=True)
        for i, lemma in enumerate(lemmas):
            try:
                get_check(lemma)
            except VerifyError as exc:
                raise VerifyError(f"sweep.lemmas[{i}]: {str(exc).removeprefix('lemma: ')}") from None
        if len(set(lemmas)) != len(lemmas):
            raise invalid("sweep.lemmas", "distinct lemma ids", lemmas)
        if "invert" in sw:
            raise invalid("sweep.invert", "only with kind = \"invert\"", sw["invert"])
        options: dict[str, Any] = {}
    else:
        if "lemmas" in sw:
            raise invalid("sweep.lemmas", "only with kind = \"check\"", sw["lemmas"])
        lemmas = [None]
        options = sw.get("invert", {})
        if not isinstance(options, Mapping):
            raise invalid("sweep.invert", "a table of recovery options", options)
        options = _validate_invert_options(dict(options))

    # ---- configurations
    configs: list[tuple[str, dict[str, Any]]] = []  # (name, {"preset" | "data"})
    presets_ = _nonempty_list(sw, "presets") or []
    for i, name in enumerate(presets_):
        try:
            get_preset(name)
        except VerifyError as exc:
            raise VerifyError(f"sweep.presets[{i}]: {str(exc).removeprefix('preset: ')}") from None
        configs.append((name, {"preset": name, "data": None}))
    networks = _nonempty_list(sw, "networks") or []
    for i, raw in enumerate(networks):
        name, net = _network_entry(raw, i)
        configs.append((name, {"preset": None, "data": Config(name, NetworkSpec.from_dict(net)).to_dict()}))
    if not configs:
        raise invalid("sweep.presets", "a non-empty list of presets and/or [[sweep.networks]]", None)
    names = [n for n, _ in configs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise invalid("sweep.networks", "distinct configuration names", dup)

    weights = _nonempty_list(sw, "weights")
    weights = [None] if weights is None else _distinct(
        [_weights_entry(w, i) for i, w in enumerate(weights)])
    masks = _nonempty_list(sw, "masks")
    if masks is not None:
        for i, m in enumerate(masks):
            if m not in _MASK_CHOICES:
                raise invalid(f"sweep.masks[{i}]", "one of " + ", ".join(_MASK_CHOICES), m)
    else:
        masks = [None]
    rates = _nonempty_list(sw, "rates")
    if rates is not None:
        rates = [check_rate(r, f"sweep.rates[{i}]") for i, r in enumerate(rates)]
    else:
        rates = [None]
    # a full mask has no rate: one grid point, not one per rate
    mask_rates = _distinct([(m, 1.0 if m == "full" and r is not None else r)
                            for m in masks for r in rates])

    sweep = Sweep(spec=jsonable(sw), kind=kind, lemmas=lemmas, configs=configs,
                  weights=weights, mask_rates=mask_rates, replicates=replicates,
                  base_seed=base_seed, quick=quick, imports=imports, options=options)
    _guard_resources(sweep, sw)

    # ---- every grid point must apply (checked now, so nothing starts on a bad grid)
    built: dict[tuple[int, int, int], Any] = {}
    n_c, n_w, n_m = len(sweep.configs), len(sweep.weights), len(sweep.mask_rates)
    for p in range(sweep.n_points):
        lemma, cname, cfg, law, mask, rate = sweep.point(p)
        key = ((p // (n_m * n_w)) % n_c, (p // n_m) % n_w, p % n_m)
        if key not in built:
            built[key] = build_config({"name": cname, "preset": cfg["preset"],
                                       "data": cfg["data"], "weights": law,
                                       "mask": None if mask is None and rate is None
                                       else {"kind": mask, "rate": rate}})
        config = built[key]
        if kind == "check":
            requires = get_check(lemma).requires
            reason = requires(config) if requires is not None else None
            if reason:
                raise VerifyError(f"sweep: lemma {lemma!r} does not apply to configuration "
                                  f"{config.name!r} (task {p * sweep.replicates}): {reason}")
        elif config.mask.kind == "gaussian":
            raise invalid("sweep.masks", "subsampling masks for kind = \"invert\"", "gaussian")
    return sweep


def _distinct(items: list) -> list:
    """``items`` without repeats (first occurrence kept; compared as JSON)."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _guard_resources(sweep: Sweep, sw: Mapping[str, Any]) -> None:
    """Refuse, before anything runs, a network whose memory (batch 1, or ``trials``
    for recoveries) or a grid whose bookkeeping exceeds the budget, naming the field."""
    from .presets import Config

    batch = int(sweep.options.get("trials", 1)) if sweep.kind == "invert" else 1
    n_presets = len(sw.get("presets") or [])
    for c, (cname, cfg) in enumerate(sweep.configs):
        if cfg["preset"] is not None:
            spec = _preset_spec(cfg["preset"])
            where = f"sweep.presets[{c}] ({cname})"
        else:
            spec = Config.from_dict(cfg["data"]).spec
            where = f"sweep.networks[{c - n_presets}]"
        field_ = budget.blame(spec)
        field_ = field_.replace("network.", f"{where}.", 1) if field_.startswith("network.") \
            else f"{where}: {field_}"
        hint = f"{batch} trials at a time" if batch > 1 else ""
        budget.require(budget.network_bytes(spec, batch), field_, hint=hint)
    # the axis with most entries is the one to shorten
    axes = {"sweep.replicates": sweep.replicates, "sweep.lemmas": len(sweep.lemmas),
            "sweep.weights": len(sweep.weights), "sweep.rates": len(sw.get("rates") or ()),
            "sweep.masks": len(sw.get("masks") or ()),
            "sweep.networks": len(sw.get("networks") or ()),
            "sweep.presets": n_presets}
    axis = max(axes, key=axes.__getitem__)
    budget.require(sweep.n_tasks * BOOKKEEPING_BYTES, axis,
                   hint=f"a grid of {sweep.n_tasks:,} tasks")


def _preset_spec(name: str):
    from .presets import get_preset

    return get_preset(name).spec


#: Options of ``[sweep.invert]`` (passed to :func:`verify.inversion.recover`) and defaults.
INVERT_OPTIONS = {"trials": 20, "iterations": 1000, "noise": 0.0, "success_tol": 1e-3,
                  "method": "adam", "negation": "restart"}


def _validate_invert_options(options: dict[str, Any]) -> dict[str, Any]:
    out = dict(INVERT_OPTIONS)
    for key, value in options.items():
        where = f"sweep.invert.{key}"
        if key not in INVERT_OPTIONS:
            raise invalid(where, "one of " + ", ".join(INVERT_OPTIONS), "unknown key")
        if key in ("trials", "iterations"):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**7:
                raise invalid(where, "an integer in [1, 10^7]", value)
        elif key == "method":
            if value not in ("adam", "gd"):
                raise invalid(where, "'adam' or 'gd'", value)
        elif key == "negation":
            if value not in ("none", "restart", "flip"):
                raise invalid(where, "'none', 'restart' or 'flip'", value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0 or (key == "success_tol" and value == 0):
                raise invalid(where, "a finite number > 0" if key == "success_tol"
                              else "a finite number >= 0", value)
        out[key] = value
    return out


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (see the module docstring for its schema)."""
    from .spec import read_toml

    return parse_sweep(read_toml(path, "sweep file"))


def build_config(cfg: Mapping[str, Any]):
    """The :class:`~verify.presets.Config` of a task (a preset or a full network, with
    the grid's weight law and mask applied; renamed when modified, so a modified preset
    is not judged by that preset's expectation)."""
    from dataclasses import replace

    from .presets import Config, get_preset

    if cfg.get("preset"):
        config = get_preset(cfg["preset"])
    else:
        config = Config.from_dict(cfg["data"])
    suffix = []
    law = cfg.get("weights")
    if law is not None:
        config = config.with_weights(law["law"], law.get("std"))
        suffix.append(law["law"] + (f"(std={law['std']})" if "std" in law else ""))
    mask = cfg.get("mask")
    if mask is not None:
        kind = mask["kind"] if mask["kind"] is not None else config.mask.kind
        rate = mask["rate"] if mask["rate"] is not None else config.mask.rate
        config = replace(config, mask=MaskSpec(kind, rate))
        suffix.append(f"{kind}@{rate:g}")
    if suffix and cfg.get("preset"):
        config = replace(config, name=f"{cfg['name']}/" + "/".join(suffix))
    return config


# ============================================================== running a task
def run_task(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    """Run one task and return its record (never raises: an exception becomes
    ``status = "error"`` with the traceback, for the coordinator to retry)."""
    t = task.to_dict() if isinstance(task, Task) else dict(task)
    record: dict[str, Any] = {"task_id": t["task_id"], "index": t["index"], "kind": t["kind"],
                              "lemma": t["lemma"], "network": t["config"]["name"],
                              "replicate": t["replicate"], "seed": t["seed"],
                              "entropy": str(t["entropy"]), "spawn_key": t["spawn_key"]}
    start = time.perf_counter()
    try:
        _import_modules(t.get("imports", ()))
        config = build_config(t["config"])
        spec = config.spec
        exps = spec.expansions()
        record.update({"config_name": config.name, "weights": config.weights.name,
                       "weights_std": config.weights.std, "mask": config.mask.kind,
                       "rate": config.mask.rate, "dims": spec.dims, "depth": spec.depth,
                       "channels": list(spec.channels), "kernels": [l.kernel for l in spec.layers],
                       "strides": [l.stride for l in spec.layers],
                       "expansion": min(exps), "expansions": list(exps),
                       "latent_dim": spec.latent_dim, "output_dim": spec.output_dim,
                       "architecture": spec.describe()})
        if t["kind"] == "check":
            from .registry import run_check

            result = run_check(t["lemma"], config, seed=t["seed"], quick=t["quick"])
            record.update({"passed": bool(result.passed), "expected": result.expected,
                           "verdict": result.verdict,
                           "matches_expectation": bool(result.matches_expectation),
                           # exit-0 material (CLI.md): a match, or a registered known
                           # finding (where the result knows of findings)
                           "accepted": bool(getattr(result, "accepted",
                                                    result.matches_expectation)),
                           "statistic": result.statistic, "bound": result.bound,
                           "margin": result.margin, "n_samples": result.n_samples,
                           "check_elapsed_s": result.elapsed_s,
                           "failed_criteria": [_criterion(c) for c in result.criteria
                                               if not c.holds],
                           "details": result.details})
        else:
            record.update(_run_invert(config, t))
        record["status"] = "ok"
        record["error"] = None
    except Exception as exc:  # noqa: BLE001 - recorded, retried once, never hidden
        record["status"] = "error"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=8)
    record["elapsed_s"] = time.perf_counter() - start
    return jsonable(record)


def _run_invert(config, t: Mapping[str, Any]) -> dict[str, Any]:
    """A recovery task (Theorem 4) through :func:`verify.inversion.recover`: ``trials``
    latents z* ~ N(0, I), one mask per trial drawn from the config's mask kind and rate.
    Streams: the network and the first mask from ``config.instantiate(seed)``; z*, the
    further masks and the starting points from child 2 of ``seed`` (as a check's)."""
    from .inversion import recover
    from .registry import check_rng

    opts = {**INVERT_OPTIONS, **t.get("options", {})}
    instance = config.instantiate(t["seed"])
    net = instance.network
    rng = check_rng(t["seed"])
    b = int(opts["trials"])
    z_star = rng.normal(size=(b, net.spec.latent_dim))
    first = np.asarray(instance.measurement.mask, bool).reshape(-1)
    masks = np.empty((b, net.spec.output_dim), bool)
    masks[0] = first
    for i in range(1, b):
        masks[i] = np.asarray(config.mask.build(net.spec.output_shape, rng=rng).mask,
                              bool).reshape(-1)
    stats = recover(net, z_star, masks, noise=float(opts["noise"]),
                    success_tol=float(opts["success_tol"]), rng=rng,
                    iterations=int(opts["iterations"]), method=opts["method"],
                    negation=None if opts["negation"] == "none" else opts["negation"])
    out = jsonable(stats.to_dict())
    rate = float(stats.success_rate)
    from .results import Criterion

    crit = Criterion("success rate", rate, RECOVERY_BOUND, ">=")
    out.update({"passed": crit.holds, "verdict": "pass" if crit.holds else "fail",
                "statistic": rate, "n_samples": b, "observed": float(masks.mean()),
                "failed_criteria": [] if crit.holds else [_criterion(crit)]})
    return out


#: A recovery task passes when at least this share of its trials recovers z*.
RECOVERY_BOUND = 0.5


def _criterion(c) -> dict[str, Any]:
    """A failing criterion as a record field: name, statistic, bound, sense, margin."""
    return {"name": c.name, "statistic": c.statistic, "bound": c.bound, "sense": c.sense,
            "margin": c.margin}


# ============================================================== writing results
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
class _State:
    """What the records in a folder say, per task of the plan (no records held)."""

    status: bytearray          # per task index: _NONE, _MATCH, _MISMATCH or _FAILED
    offsets: np.ndarray        # per task index: byte offset of its first record, or -1
    columns: dict[str, None]   # record keys in order of first appearance

    def count(self, code: int) -> int:
        return self.status.count(code)


def _scan(out: Path, sweep: Sweep, *, check_plan: bool = True) -> _State:
    """Read and check every record of ``out`` (one pass, streaming). ``check_plan``:
    also rebuild each record's task from its index and compare the ids (O(1) each)."""
    n = len(sweep)
    state = _State(bytearray(n), np.full(n, -1, dtype=np.int64), {})
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


def _read_manifest(out: Path, sweep: Sweep) -> None:
    """Check that ``out``'s manifest is intact and describes this plan (VerifyError)."""
    path = out / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VerifyError(f"--resume: {path} is missing, so the sweep that wrote the "
                          f"records in {out} cannot be checked") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise VerifyError(f"{path}: cannot be read ({reason})") from None
    try:
        m = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VerifyError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(m, dict):
        raise VerifyError(f"{path}: expected a JSON object (the sweep manifest), got "
                          f"{type(m).__name__}")
    if "plan_hash" not in m and "format" not in m and "digest" in m:  # format 1
        if not isinstance(m["digest"], str):
            raise VerifyError(f"{path}: field 'digest' should be a string, got "
                              f"{m['digest']!r}")
        if m["digest"] != sweep.legacy_digest():
            raise VerifyError(f"--resume: {out} holds a different sweep than this file "
                              "(its task ids differ); use another --out folder")
        return
    for key, typ in (("format", int), ("plan_hash", str), ("n_tasks", int), ("sweep", dict)):
        if key not in m:
            raise VerifyError(f"{path}: the manifest lacks the field {key!r}")
        if not isinstance(m[key], typ) or isinstance(m[key], bool):
            raise VerifyError(f"{path}: field {key!r} should be {typ.__name__}, got "
                              f"{m[key]!r}"[:300])
    if m["format"] != FORMAT:
        raise VerifyError(f"{path}: format {m['format']} is not one this version reads "
                          f"({FORMAT})")
    if m["plan_hash"] != sweep.digest or m["n_tasks"] != len(sweep):
        raise VerifyError(f"--resume: {out} holds a different sweep (plan "
                          f"{m['plan_hash'][:12]}, {m['n_tasks']} tasks) than this file (plan "
                          f"{sweep.digest[:12]}, {len(sweep)} tasks); use another --out folder")


def _write_table(out: Path, state: _State) -> None:
    """``results.csv``: one row per recorded task in task order (its first record), read
    back record by record (never the whole file at once), written atomically."""
    import csv

    from .fsio import atomic_write

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


# ============================================================== the folder lock
class _FolderLock:
    """An exclusive, non-blocking ``flock`` on ``DIR/.lock``, held for a whole run.

    The kernel releases it when the process ends, however it ends. Creating ``DIR``
    (and its missing parents) and the lock file is undone by :meth:`abandon` when the
    run stops on bad input before writing anything else."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.fd: int | None = None
        missing = []
        probe = out.absolute()
        while not probe.exists() and probe.parent != probe:
            missing.append(probe)
            probe = probe.parent
        self.created_dirs = missing  # deepest first
        out.mkdir(parents=True, exist_ok=True)
        path = out / LOCK
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock on this platform: no lock
            self.created_lock = False
            return
        for _ in range(10):
            self.created_lock = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise VerifyError(f"--out: {out} is in use by another `verify sweep` (it "
                                  f"holds {path}); wait for it to finish or choose another "
                                  "folder") from None
            except OSError as exc:  # a filesystem without locks: run unlocked
                import warnings

                warnings.warn(f"{path}: cannot be locked ({exc.strerror}); two sweeps on "
                              "this folder would not be kept apart", stacklevel=3)
                self.fd = fd
                return
            try:  # the file may have been replaced while we waited: lock the one in place
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return
            os.close(fd)
        raise VerifyError(f"--out: {path} keeps being replaced; is another sweep "
                          "starting on this folder?")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def abandon(self) -> None:
        """Undo what acquiring created (the lock file, new folders), then release."""
        if self.created_lock:
            try:
                os.unlink(self.out / LOCK)
            except OSError:
                pass
        self.release()
        for d in self.created_dirs:
            try:
                d.rmdir()
            except OSError:
                break


# ============================================================== backends
Outcome = tuple[Task, dict[str, Any]]


def _serial(tasks: Iterable[Task]) -> Iterator[Outcome]:
    for t in tasks:
        yield t, run_task(t)


def _processes(tasks: Iterable[Task], workers: int) -> Iterator[Outcome]:
    """Local processes with at most 2 x workers tasks in flight, drawn from ``tasks``
    as slots free up (never all at once). When a worker dies (BrokenProcessPool) the
    tasks then in flight are the suspects: each is rerun alone in a fresh one-worker
    pool, so only the task that kills its worker twice fails."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pending = iter(tasks)
    window = 2 * workers
    more = True
    while more:
        broken = False
        suspects: list[Task] = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            inflight: dict[Any, Task] = {}
            while True:
                while more and not broken and len(inflight) < window:
                    t = next(pending, None)
                    if t is None:
                        more = False
                        break
                    try:
                        inflight[pool.submit(run_task, t)] = t
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(t)
                if not inflight:
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    t = inflight.pop(fut)
                    try:
                        rec = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(t)
                        continue
                    yield t, rec
                if broken:
                    for fut, t in inflight.items():
                        if fut.done() and not fut.cancelled() and fut.exception() is None:
                            yield t, fut.result()  # finished before the crash: keep it
                        else:
                            suspects.append(t)
                    inflight.clear()
                    break
        for t in sorted(suspects, key=lambda t: t.index):
            yield t, _isolated(t)


def _isolated(t: Task) -> dict[str, Any]:
    """Rerun one task alone in a fresh one-worker pool. A death here is its second
    (it was in flight when a worker died before): the task is recorded as failed."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            rec = pool.submit(run_task, t).result()
        except BrokenProcessPool as exc:
            rec = _failed_record(t, f"worker process died twice ({exc})")
            rec["_second_attempt"] = True
    return rec


def _connect(scheduler: Any, workers: int | None):
    """A Dask client for ``scheduler`` (an address, ``"local"`` or a Client) and the
    function that releases what was created here; raises VerifyError when unreachable."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise VerifyError("--scheduler: dask.distributed is not installed "
                          "(pip install 'verify-invertibility[dask]')") from None
    import dask

    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if scheduler == "local":
        # A worker death fails its task at once (our own retry gives it one more go).
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 2, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()

        return client, close
    if not isinstance(scheduler, str) or not scheduler:
        raise invalid("--scheduler", "a scheduler address or 'local'", scheduler)
    try:
        client = Client(scheduler, timeout="10s")
    except Exception as exc:  # noqa: BLE001
        raise VerifyError(f"--scheduler: cannot connect to {scheduler!r} "
                          f"({type(exc).__name__}: {exc})") from None
    return client, client.close


def _dask(tasks: Iterable[Task], client: Any) -> Iterator[Outcome]:
    """Tasks submitted to the cluster, at most 4 per worker thread (at least 16) in
    flight; a future that raises (a dead worker: KilledWorker) is resubmitted once,
    then recorded as failed."""
    import uuid

    from distributed import as_completed

    run = uuid.uuid4().hex[:8]  # keys unique to this run: never a stale cached result
    futures: dict[Any, Task] = {}
    retried: set[str] = set()
    pending = iter(tasks)
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001 - a window is a tuning knob, not a requirement
        threads = 4
    ac = as_completed()

    def submit(t: Task, attempt: int) -> None:
        fut = client.submit(run_task, t, pure=False,
                            key=f"verify-sweep-{run}-{t.task_id}-{attempt}")
        futures[fut] = t
        ac.add(fut)

    for t in islice(pending, max(16, 4 * threads)):
        submit(t, 1)
    for fut in ac:
        t = futures.pop(fut)
        try:
            rec = fut.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker (KilledWorker) or similar
            if t.task_id not in retried:
                retried.add(t.task_id)
                submit(t, 2)
                continue
            rec = _failed_record(t, f"{type(exc).__name__}: {exc}")
        if t.task_id in retried:
            rec["_second_attempt"] = True
        nxt = next(pending, None)
        if nxt is not None:
            submit(nxt, 1)
        yield t, rec


def _failed_record(t: Task, error: str) -> dict[str, Any]:
    return {"task_id": t.task_id, "index": t.index, "kind": t.kind, "lemma": t.lemma,
            "network": t.config["name"], "replicate": t.replicate, "seed": t.seed,
            "entropy": str(t.entropy), "spawn_key": list(t.spawn_key),
            "status": "error", "error": error}


# ============================================================== the coordinator
@dataclass(frozen=True)
class SweepSummary:
    """What a sweep run did (``n_run``, ``n_skipped``, ``elapsed_s``) and what the
    folder now holds, counted over all its records, old and new: ``n_failed``,
    ``n_mismatched``, ``n_matched`` and ``n_missing`` (tasks without a record)."""

    out: str
    n_tasks: int
    n_run: int
    n_skipped: int
    n_failed: int
    n_mismatched: int
    elapsed_s: float
    backend: str
    n_matched: int = 0
    n_missing: int = 0

    @property
    def exit_code(self) -> int:
        """0 when every task has a record that matched its expectation, else 1."""
        return 0 if self.n_failed == 0 and self.n_mismatched == 0 and self.n_missing == 0 else 1

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def line(self) -> str:
        missing = f", {self.n_missing} without a record" if self.n_missing else ""
        return (f"sweep: {self.n_tasks} tasks, {self.n_run} run, {self.n_skipped} skipped "
                f"(already done); over all records: {self.n_matched} matched, "
                f"{self.n_mismatched} did not match their expectation, {self.n_failed} "
                f"failed{missing}; {self.elapsed_s:.1f} s on {self.backend}; results in "
                f"{self.out}/{RESULTS}")


def run_sweep(sweep: Sweep | str | Path | Mapping[str, Any], out: str | Path, *,
              workers: int | None = None, scheduler: Any = None, resume: bool = False,
              progress: bool = True) -> SweepSummary:
    """Run a sweep, writing each task's record as it finishes.

    Parameters
    ----------
    sweep : Sweep, path of a sweep file, or the parsed TOML mapping
    out : directory
        Gets ``results.jsonl`` (append-only), ``results.csv``, ``sweep.json`` and
        ``.lock``; checked writable before anything runs.
    workers : int, optional
        Local processes (``ProcessPoolExecutor``); None or 1 runs serially (with a
        ``scheduler``: the number of workers of a ``local`` cluster).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address, ``"local"`` for a ``LocalCluster``, or a Client.
    resume : bool
        Skip the tasks already recorded in ``out`` (after checking the folder: see
        the module docstring); without it, a directory that already holds results is
        refused.

    Raises
    ------
    VerifyError
        Bad input (the sweep, the options, the folder, its state, or another sweep
        running on it); nothing has been written then.
    """
    source = str(sweep) if isinstance(sweep, (str, Path)) else None
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep) if isinstance(sweep, (str, Path)) else parse_sweep(sweep)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise invalid("--workers", "an integer >= 1", workers)
    if scheduler is not None and workers is not None and scheduler != "local":
        raise invalid("--workers", "not together with a remote --scheduler", workers)
    out = check_writable_dir(out, "--out")
    release = lambda: None  # noqa: E731
    client = None
    if scheduler is not None:
        client, release = _connect(scheduler, workers)  # before anything is written
    try:
        lock = _FolderLock(out)
        try:
            state = _resume_state(out, sweep, resume)
        except BaseException:
            lock.abandon()
            raise
        try:
            return _run(sweep, out, state, source, workers, scheduler, client, progress)
        finally:
            lock.release()
    finally:
        release()


def _resume_state(out: Path, sweep: Sweep, resume: bool) -> _State:
    """The folder's records checked against the plan (under the lock)."""
    results = out / RESULTS
    has_results = results.exists() and results.stat().st_size > 0
    if has_results and not resume:
        raise invalid("--out", "an empty or new directory (or pass --resume)",
                      f"{out} already holds results")
    if resume and (has_results or (out / MANIFEST).exists()):
        _read_manifest(out, sweep)
    return _scan(out, sweep)


def _run(sweep: Sweep, out: Path, state: _State, source: str | None, workers, scheduler,
         client, progress: bool) -> SweepSummary:
    manifest = {"format": FORMAT, "version": __version__, "plan_hash": sweep.digest,
                "n_tasks": len(sweep), "sweep": sweep.spec, "source": source}
    write_text(out / MANIFEST, json.dumps(jsonable(manifest), indent=1, allow_nan=False))

    n_done = len(sweep) - state.count(_NONE)
    todo = (sweep.task(i) for i in range(len(sweep)) if state.status[i] == _NONE)
    if scheduler is not None:
        backend = f"dask ({scheduler if isinstance(scheduler, str) else 'client'})"
        stream = _dask(todo, client)
    elif workers and workers > 1:
        backend = f"{workers} local processes"
        stream = _processes(todo, workers)
    else:
        backend = "serial"
        stream = _serial(todo)
    # the second attempt of a task that raised: alone in a fresh process, unless serial
    stream_isolated = backend != "serial"

    from tqdm import tqdm

    bar = tqdm(total=len(sweep), initial=n_done, desc="sweep", unit="task",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    writer = ResultsWriter(out / RESULTS)
    start = time.perf_counter()
    n_run = 0
    try:
        for task, rec in stream:
            second = rec.pop("_second_attempt", False)
            if rec.get("status") == "error" and not second:
                rec = _retry(task, rec, isolated=stream_isolated)
                rec.pop("_second_attempt", None)
                second = True
            rec["attempts"] = 2 if second else 1
            if rec.get("status") == "error":
                rec["status"] = "failed"
            writer.write(rec)
            n_run += 1
            bar.update(1)
    finally:
        writer.close()
        bar.close()
    elapsed = time.perf_counter() - start
    # The truth: every record in the folder, old and new (the old ones were checked
    # against the plan before the run, the new ones are this run's, under the lock).
    final = _scan(out, sweep, check_plan=False)
    _write_table(out, final)
    return SweepSummary(str(out), len(sweep), n_run, n_done, final.count(_FAILED),
                        final.count(_MISMATCH), elapsed, backend,
                        n_matched=final.count(_MATCH), n_missing=final.count(_NONE))


def _retry(task: Task, first: dict[str, Any], *, isolated: bool) -> dict[str, Any]:
    """The second attempt of a task whose first attempt raised (or whose worker died
    under Dask): alone in a fresh one-worker process pool (in this process when the
    sweep runs serially)."""
    rec = _isolated(task) if isolated else run_task(task)
    if rec.get("status") == "error":
        rec["error"] = f"{rec['error']} (failed twice; first attempt: {first.get('error')})"
    return rec


# ============================================================== phase diagrams
def phase_table(df, *, x: str = "expansion", y: str = "rate", value: str | None = None,
                lemma: str | None = None, by: tuple[str, ...] = ("lemma", "mask")):
    """A phase diagram's data: the mean of ``value`` per (facet, x, y), with counts.

    Parameters
    ----------
    df : DataFrame of :func:`load_results`
    x, y : columns; default the expansion (min over layers of C_i l^dims / C_{i-1})
        and the sampling rate m/n.
    value : column averaged; default ``passed`` (the fraction of checks that passed),
        or ``success_rate`` for recovery (``kind = "invert"``) rows.
    by : the facet columns (one heat map each). Rows with a ``full`` mask are rate 1 of
        every mask kind, so they join each other mask kind's facet.

    Returns
    -------
    DataFrame with columns ``facet, *by, x, y, n, <value>, fraction, n_failed``: ``n``
    tasks that ran, ``n_failed`` tasks recorded as failed (left out of the mean).
    """
    import pandas as pd

    cols = ["facet", *by, x, y, "n", "fraction", "n_failed"]
    if len(df) == 0:
        return pd.DataFrame(columns=cols)
    d = df.copy()
    if "lemma" not in d:
        d["lemma"] = None
    d["lemma"] = d["lemma"].where(d["lemma"].notna(), "recovery")
    if lemma is not None:
        d = d[d["lemma"] == lemma]
    if value is None:
        value = "success_rate" if "success_rate" in d and d["lemma"].eq("recovery").all() \
            else "passed"
    if "mask" in by and "mask" in d:
        kinds = [k for k in d["mask"].dropna().unique() if k != "full"]
        if kinds:
            full = d[d["mask"] == "full"]
            d = pd.concat([d[d["mask"] != "full"]] + [full.assign(mask=k) for k in kinds],
                          ignore_index=True)
    d["_ok"] = d["status"] == "ok"
    d["_v"] = pd.to_numeric(d[value].where(d["_ok"]), errors="coerce").astype(float)
    keys = [*by, x, y]
    g = d.groupby(keys, dropna=False).agg(n=("_ok", "sum"), total=("_v", "sum"),
                                          n_all=("_ok", "size"))
    g["n_failed"] = g["n_all"] - g["n"]
    g["fraction"] = g["total"] / g["n"].where(g["n"] > 0)
    g = g.rename(columns={"total": value}).drop(columns="n_all").reset_index()
    g.insert(0, "facet", g[list(by)].astype(str).agg(" / ".join, axis=1))
    return g.astype({"n": int, "n_failed": int})


def phase_figure(df, *, x: str = "expansion", y: str = "rate", value: str | None = None,
                 lemma: str | None = None, by: tuple[str, ...] = ("lemma", "mask")):
    """Heat maps (one per facet) of the mean verdict over expansion (rows) x sampling
    rate (columns), drawn from :func:`phase_table` only (no recomputation)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = phase_table(df, x=x, y=y, value=value, lemma=lemma, by=by)
    groups = list(table.groupby("facet", sort=False)) if len(table) else [("(no results)", table)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    label = "fraction passed" if "passed" in table.columns else \
        "mean " + next((c for c in table.columns if c not in ("facet", *by, x, y, "n", "fraction",
                                                              "n_failed")), "value")
    for ax, (name, part) in zip(axes[0], groups):
        ax.set_title(str(name))
        if not len(part):
            ax.set_axis_off()
            continue
        grid = part.pivot_table(index=x, columns=y, values="fraction").sort_index(ascending=False)
        sns.heatmap(grid, ax=ax, vmin=0.0, vmax=1.0, cmap="viridis", annot=True, fmt=".2f",
                    cbar_kws={"label": label})
        ax.set_xlabel("sampling rate m/n" if y == "rate" else y)
        ax.set_ylabel("expansion min_i C_i l^d / C_(i-1)" if x == "expansion" else x)
    fig.tight_layout()
    return fig


__all__ = ["Task", "Sweep", "SweepSummary", "parse_sweep", "load_sweep", "build_config",
           "run_task", "run_sweep", "read_records", "load_results", "phase_table",
           "phase_figure", "ResultsWriter"]
