"""The sweep file's schema and the lazy plan: :func:`parse_sweep` validates a ``[sweep]``
table into a :class:`Sweep`, whose task i (:class:`Task`) is built from i on demand.

The schema, the grid's order and the streams of each task are described in the package
docstring (:mod:`verify.sweep`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .. import budget
from ..errors import VerifyError, invalid
from ..measurements import CONFIG_KINDS, RATE_KINDS, MaskSpec, check_rate
from ..results import jsonable
from ..rng import Streams
from ..spec import NetworkSpec, block_spec
from ..weights import WeightLaw
from .folder import FORMAT

#: Coordinator memory per task of the plan: a status byte and the offset of its record
#: (the consolidated table is written by seeking to each record in task order).
BOOKKEEPING_BYTES = 16

SWEEP_KEYS = ("kind", "lemmas", "presets", "networks", "weights", "masks", "rates",
              "replicates", "base_seed", "quick", "imports", "invert")
KINDS = ("check", "invert")
#: Fields of InvertOptions that a sweep sets through its grid axes instead.
_GRID_OPTIONS = {"kind": "sweep.masks", "rate": "sweep.rates"}


# ============================================================== the plan
@dataclass(frozen=True)
class Task:
    """One grid point and replicate: what to run, on which configuration, on which
    streams (``Streams(base_seed).task(index)``)."""

    index: int
    task_id: str
    kind: str
    lemma: str | None
    config: dict[str, Any]        # {"preset": name | None, "data": Config.to_dict() | None,
                                  #  "weights": {...} | None, "mask": {...} | None, "name": str}
    replicate: int
    streams: Streams
    quick: bool
    imports: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # InvertOptions.to_dict()

    @property
    def seed(self) -> str:
        """The streams' identity as text, ``"<base_seed>/3.<index>"``."""
        return str(self.streams)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "task_id": self.task_id, "kind": self.kind,
                "lemma": self.lemma, "config": self.config, "replicate": self.replicate,
                "seed": self.seed, "streams": self.streams.record(),
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
        self.streams = Streams(self.base_seed)
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
        streams ``Streams(base_seed).task(i)``."""
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
        streams = self.streams.task(i)
        # == json.dumps({...config, kind, lemma, options, quick, replicate, seed},
        # sort_keys=True): replicate and seed sort last
        ident = f'{head}, "replicate": {rep}, "seed": "{streams}"}}'
        task_id = f"{i:06d}-{hashlib.sha1(ident.encode()).hexdigest()[:10]}"
        return Task(i, task_id, self.kind, lemma, spec_cfg, rep, streams, self.quick,
                    self.imports, self.options)

    def __iter__(self) -> Iterator[Task]:
        return (self.task(i) for i in range(self.n_tasks))

    def __repr__(self) -> str:
        return f"Sweep({self.n_tasks} tasks, plan {self.digest[:12]})"


# ============================================================== parsing
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
    from ..inversion.experiment import InvertOptions
    from ..presets import Config, get_preset
    from ..registry import get_check

    extra = set(data) - {"sweep"}
    if extra:
        raise invalid(sorted(extra)[0], "only a [sweep] table at the top level", "unknown key")
    if "sweep" not in data or not isinstance(data["sweep"], Mapping):
        raise invalid("sweep", "a [sweep] table", data.get("sweep"))
    sw = dict(data["sweep"])
    unknown = set(sw) - set(SWEEP_KEYS)
    if unknown:
        raise invalid(f"sweep.{sorted(unknown)[0]}", "one of " + ", ".join(SWEEP_KEYS),
                      "unknown key")

    kind = sw.get("kind", "check")
    if kind not in KINDS:
        raise invalid("sweep.kind", "one of " + ", ".join(KINDS), kind)
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
        table = sw.get("invert", {})
        if not isinstance(table, Mapping):
            raise invalid("sweep.invert", "a table of recovery options", table)
        for key, axis in _GRID_OPTIONS.items():
            if key in table:
                raise invalid(f"sweep.invert.{key}", f"no {key} here: the grid's {axis} "
                              "sets it", table[key])
        # validated once, by InvertOptions (the fields and ranges of `verify invert`)
        options = InvertOptions.from_mapping(table, where="sweep.invert.").to_dict()

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
        # a recovery subsamples; a check takes any mask a config takes
        allowed, why = (RATE_KINDS, " (kind = \"invert\" subsamples)") if kind == "invert" \
            else (CONFIG_KINDS, "")
        for i, m in enumerate(masks):
            if m not in allowed:
                raise invalid(f"sweep.masks[{i}]", "one of " + ", ".join(allowed) + why, m)
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
        elif config.mask.kind not in RATE_KINDS:  # a configuration's own dense mask
            raise invalid("sweep.masks", "subsampling masks for kind = \"invert\" (one of "
                          + ", ".join(RATE_KINDS) + f"; {config.name!r} has its own)",
                          config.mask.kind)
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
    from .. import work
    from ..presets import Config

    batch = int(sweep.options["trials"]) if sweep.kind == "invert" else 1
    n_presets = len(sw.get("presets") or [])
    per_point = 0.0  # work of one task on each (lemma, configuration), summed
    heaviest = (0.0, "")  # the costliest single task and the input that makes it so
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
        for wu, what in _task_work(sweep, spec):
            per_point += wu
            if wu > heaviest[0]:
                heaviest = (wu, what.replace("network.", f"{where}.", 1))
        if sweep.kind == "invert":  # trials run in chunks sized from the budget
            from ..inversion.memory import chunk_size

            budget.require(budget.network_bytes(spec, 1), field_)
            chunk_size(spec, batch, sweep.options.get("dtype", "float64"),
                       trials_what="sweep.invert.trials")
            continue
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
    # the grid's work (verify/work.py), from its size alone, before any grid point is
    # built: one task alone over the budget names what makes it costly; else every
    # (lemma, configuration) pair's task, times the weight laws, masks and rates, and
    # replicates, names the grid's longest axis
    work.require(heaviest[0], heaviest[1], hint="one task of the grid")
    work.require(per_point * len(sweep.weights) * len(sweep.mask_rates) * sweep.replicates,
                 axis, hint=f"a grid of {sweep.n_tasks:,} tasks")


def _task_work(sweep: Sweep, spec) -> list[tuple[float, str]]:
    """(work units, the input that makes it costly) of one task of every lemma of the
    sweep on a network ``spec``: a check runs one draw (:func:`verify.registry.run_check`'s
    default), a recovery its options."""
    from .. import work

    if sweep.kind == "invert":
        from ..inversion.experiment import InvertOptions

        return [work.invert_wu(spec, InvertOptions(**sweep.options,
                                                   where="sweep.invert."))]
    from ..registry import get_check

    return [work.check_wu(get_check(lemma), spec, quick=sweep.quick)
            for lemma in sweep.lemmas]


def _preset_spec(name: str):
    from ..presets import get_preset

    return get_preset(name).spec


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file (see the module docstring for its schema)."""
    from ..spec import read_toml

    return parse_sweep(read_toml(path, "sweep file"))


def build_config(cfg: Mapping[str, Any]):
    """The :class:`~verify.presets.Config` of a task (a preset or a full network, with
    the grid's weight law and mask applied; renamed when modified, so a modified preset
    is not judged by that preset's expectation)."""
    from dataclasses import replace

    from ..presets import Config, get_preset

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


__all__ = ["Task", "Sweep", "parse_sweep", "load_sweep", "build_config", "KINDS",
           "SWEEP_KEYS", "BOOKKEEPING_BYTES"]
