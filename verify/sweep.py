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
    base_seed = 0                       # tasks get SeedSequence(base_seed).spawn(n_tasks)
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
replicate, in that order (a ``full`` mask ignores ``rates``: it appears once). Task i
draws from child i of ``SeedSequence(base_seed)``; its integer seed (the ``seed``
column, what ``verify check --seed`` takes) is the first 32-bit word of that child, so
results are identical serially or spread over workers, and the entropy and spawn key
are stored with every row.

Results
-------
``DIR/results.jsonl``: one JSON object per task, appended as tasks finish, each line
written by one ``os.write`` on an ``O_APPEND`` descriptor (never half a record among
whole ones). ``--resume`` skips the task ids already there, so a killed sweep loses at
most the tasks in flight and never duplicates a row. ``DIR/results.csv`` is the
consolidated table (rewritten atomically at the end) and ``DIR/sweep.json`` the
manifest. :func:`load_results` reads a directory into a pandas DataFrame;
:func:`phase_table` and :func:`phase_figure` draw the verdict over expansion x
sampling rate (a phase diagram).

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
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from . import __version__
from .errors import VerifyError, invalid
from .measurements import MASK_KINDS, MaskSpec, check_rate
from .results import jsonable
from .spec import NetworkSpec, block_spec
from .weights import WeightLaw

RESULTS = "results.jsonl"
TABLE = "results.csv"
MANIFEST = "sweep.json"

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


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: its tasks in grid order and the normalised file."""

    tasks: tuple[Task, ...]
    spec: dict[str, Any]
    digest: str

    def __len__(self) -> int:
        return len(self.tasks)


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
    """Validate a sweep (the parsed TOML) and expand it into its tasks.

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
    weights = [None] if weights is None else [_weights_entry(w, i) for i, w in enumerate(weights)]
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

    # ---- the grid
    points = []
    seen = set()
    for lemma, (cname, cfg), law, mask, rate in product(lemmas, configs, weights, masks, rates):
        if mask == "full" and rate is not None:
            rate = 1.0  # a full mask has no rate: one grid point, not one per rate
        key = (lemma, cname, json.dumps(law, sort_keys=True), mask, rate)
        if key in seen:
            continue
        seen.add(key)
        points.append((lemma, cname, cfg, law, mask, rate))

    n_tasks = len(points) * replicates
    children = np.random.SeedSequence(base_seed).spawn(n_tasks)
    tasks = []
    for i, ((lemma, cname, cfg, law, mask, rate), rep) in enumerate(
            product(points, range(replicates))):
        child = children[i]
        spec_cfg = {"name": cname, "preset": cfg["preset"], "data": cfg["data"],
                    "weights": law, "mask": None if mask is None and rate is None
                    else {"kind": mask, "rate": rate}}
        seed = int(child.generate_state(1, np.uint32)[0])
        ident = json.dumps({"kind": kind, "lemma": lemma, "config": spec_cfg, "replicate": rep,
                            "seed": seed, "quick": quick, "options": options}, sort_keys=True)
        task_id = f"{i:06d}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}"
        tasks.append(Task(i, task_id, kind, lemma, spec_cfg, rep, seed, int(child.entropy),
                          tuple(int(k) for k in child.spawn_key), quick, tuple(imports), options))

    # ---- every task must apply (checked now, so nothing starts on a bad grid)
    checked: set[str] = set()  # once per grid point, not per replicate
    for t in tasks:
        key = json.dumps([t.lemma, t.config], sort_keys=True)
        if key in checked:
            continue
        checked.add(key)
        cfg = build_config(t.config)
        if kind == "check":
            requires = get_check(t.lemma).requires
            reason = requires(cfg) if requires is not None else None
            if reason:
                raise VerifyError(f"sweep: lemma {t.lemma!r} does not apply to configuration "
                                  f"{cfg.name!r} (task {t.index}): {reason}")
        elif cfg.mask.kind == "gaussian":
            raise invalid("sweep.masks", "subsampling masks for kind = \"invert\"", "gaussian")
    digest = hashlib.sha1("\n".join(t.task_id for t in tasks).encode()).hexdigest()
    return Sweep(tuple(tasks), jsonable(sw), digest)


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
                           "statistic": result.statistic, "bound": result.bound,
                           "margin": result.margin, "n_samples": result.n_samples,
                           "check_elapsed_s": result.elapsed_s, "details": result.details})
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
    out.update({"passed": rate >= 0.5, "verdict": "pass" if rate >= 0.5 else "fail",
                "statistic": rate, "n_samples": b, "observed": float(masks.mean())})
    return out


# ============================================================== writing results
class ResultsWriter:
    """Append-only JSON Lines: one ``os.write`` of a whole line per record on an
    ``O_APPEND`` descriptor, so a kill leaves whole records (and at most a torn last
    line, which :func:`read_records` ignores and ``--resume`` truncates)."""

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
    """Drop a torn final line (a record cut by a crash mid-write) before appending."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def read_records(out: str | Path) -> list[dict[str, Any]]:
    """The records of ``DIR/results.jsonl`` (whole lines only)."""
    path = Path(out) / RESULTS
    if not path.exists():
        return []
    records = []
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn line from a crash: never a duplicate, never half-read
    return records


def load_results(out: str | Path, *, details: bool = False):
    """The sweep's results as a pandas DataFrame, one row per task, in task order.

    ``details=True`` keeps the per-check ``details`` (dicts) and tracebacks."""
    import pandas as pd

    records = read_records(out)
    if not details:
        records = [{k: v for k, v in r.items() if k not in ("details", "traceback")}
                   for r in records]
    df = pd.DataFrame.from_records(records)
    if len(df):
        df = df.sort_values("index", kind="stable").reset_index(drop=True)
    return df


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ============================================================== backends
Outcome = tuple[Task, dict[str, Any]]


def _serial(tasks: list[Task], on_start: Callable[[], None] | None = None) -> Iterator[Outcome]:
    for t in tasks:
        yield t, run_task(t)


def _processes(tasks: list[Task], workers: int) -> Iterator[Outcome]:
    """Local processes with at most 2 x workers tasks in flight. When a worker dies
    (BrokenProcessPool) the tasks then in flight are the suspects: each is rerun alone
    in a fresh one-worker pool, so only the task that kills its worker twice fails."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pending = list(reversed(tasks))
    suspects: list[Task] = []
    window = 2 * workers
    while pending:
        broken = False
        with ProcessPoolExecutor(max_workers=workers) as pool:
            inflight: dict[Any, Task] = {}
            while pending or inflight:
                while pending and len(inflight) < window:
                    t = pending.pop()
                    inflight[pool.submit(run_task, t)] = t
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    t = inflight.pop(fut)
                    try:
                        yield t, fut.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(t)
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
        suspects = []


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


def _dask(tasks: list[Task], client: Any) -> Iterator[Outcome]:
    """All tasks submitted to the cluster; a future that raises (a dead worker:
    KilledWorker) is resubmitted once, then recorded as failed."""
    import uuid

    from distributed import as_completed

    run = uuid.uuid4().hex[:8]  # keys unique to this run: never a stale cached result
    futures = {}
    retried: set[str] = set()
    for t in tasks:
        futures[client.submit(run_task, t, pure=False, key=f"verify-sweep-{run}-{t.task_id}-1")] = t
    ac = as_completed(list(futures))
    for fut in ac:
        t = futures.pop(fut)
        try:
            rec = fut.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker (KilledWorker) or similar
            if t.task_id not in retried:
                retried.add(t.task_id)
                retry = client.submit(run_task, t, pure=False,
                                      key=f"verify-sweep-{run}-{t.task_id}-2")
                futures[retry] = t
                ac.add(retry)
                continue
            rec = _failed_record(t, f"{type(exc).__name__}: {exc}")
        if t.task_id in retried:
            rec["_second_attempt"] = True
        yield t, rec


def _failed_record(t: Task, error: str) -> dict[str, Any]:
    return {"task_id": t.task_id, "index": t.index, "kind": t.kind, "lemma": t.lemma,
            "network": t.config["name"], "replicate": t.replicate, "seed": t.seed,
            "entropy": str(t.entropy), "spawn_key": list(t.spawn_key),
            "status": "error", "error": error}


# ============================================================== the coordinator
@dataclass(frozen=True)
class SweepSummary:
    """What a sweep run did: counts, the output directory and the wall time."""

    out: str
    n_tasks: int
    n_run: int
    n_skipped: int
    n_failed: int
    n_mismatched: int
    elapsed_s: float
    backend: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def line(self) -> str:
        return (f"sweep: {self.n_tasks} tasks, {self.n_run} run, {self.n_skipped} skipped "
                f"(already done), {self.n_failed} failed, {self.n_mismatched} did not match "
                f"their expectation; {self.elapsed_s:.1f} s on {self.backend}; "
                f"results in {self.out}/{RESULTS}")


def run_sweep(sweep: Sweep | str | Path | Mapping[str, Any], out: str | Path, *,
              workers: int | None = None, scheduler: Any = None, resume: bool = False,
              progress: bool = True) -> SweepSummary:
    """Run a sweep, writing each task's record as it finishes.

    Parameters
    ----------
    sweep : Sweep, path of a sweep file, or the parsed TOML mapping
    out : directory
        Gets ``results.jsonl`` (append-only), ``results.csv`` and ``sweep.json``.
    workers : int, optional
        Local processes (``ProcessPoolExecutor``); None or 1 runs serially (with a
        ``scheduler``: the number of workers of a ``local`` cluster).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address, ``"local"`` for a ``LocalCluster``, or a Client.
    resume : bool
        Skip the tasks already recorded in ``out``; without it, a directory that
        already holds results is refused.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep) if isinstance(sweep, (str, Path)) else parse_sweep(sweep)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise invalid("--workers", "an integer >= 1", workers)
    if scheduler is not None and workers is not None and scheduler != "local":
        raise invalid("--workers", "not together with a remote --scheduler", workers)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise invalid("--out", "a directory", str(out))
    manifest_path = out / MANIFEST
    done: set[str] = set()
    if (out / RESULTS).exists() and (out / RESULTS).stat().st_size > 0:
        if not resume:
            raise invalid("--out", "an empty or new directory (or pass --resume)",
                          f"{out} already holds results")
        if manifest_path.exists():
            old = json.loads(manifest_path.read_text())
            if old.get("digest") != sweep.digest:
                raise invalid("--resume", f"the sweep that wrote {out}",
                              "a different sweep file (its task ids differ)")
        done = {r["task_id"] for r in read_records(out)}
    release = lambda: None  # noqa: E731
    client = None
    if scheduler is not None:
        client, release = _connect(scheduler, workers)  # before anything is written
    try:
        return _run(sweep, out, done, workers, scheduler, client, progress)
    finally:
        release()


def _run(sweep: Sweep, out: Path, done: set[str], workers, scheduler, client,
         progress: bool) -> SweepSummary:
    manifest_path = out / MANIFEST
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"version": __version__, "digest": sweep.digest, "n_tasks": len(sweep),
                "sweep": sweep.spec, "tasks": [t.to_dict() for t in sweep.tasks]}
    _atomic_write(manifest_path, json.dumps(jsonable(manifest), indent=1))

    todo = [t for t in sweep.tasks if t.task_id not in done]
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

    bar = tqdm(total=len(sweep), initial=len(sweep) - len(todo), desc="sweep", unit="task",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    writer = ResultsWriter(out / RESULTS)
    start = time.perf_counter()
    n_failed = n_mismatched = n_run = 0
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
                n_failed += 1
            elif rec.get("kind") == "check" and not rec.get("matches_expectation", True):
                n_mismatched += 1
            writer.write(rec)
            n_run += 1
            bar.update(1)
    finally:
        writer.close()
        bar.close()
    elapsed = time.perf_counter() - start
    df = load_results(out)
    _atomic_write(out / TABLE, df.to_csv(index=False))
    return SweepSummary(str(out), len(sweep), n_run, len(sweep) - len(todo), n_failed,
                        n_mismatched, elapsed, backend)


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
