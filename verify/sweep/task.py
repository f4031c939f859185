"""Running one task of a sweep, in whichever process the runner puts it.

:func:`run_task` is the runner's job: it turns a :class:`~verify.sweep.plan.Task` into
its record and never raises. A check task is ``run_check(lemma, config,
seed=task.streams, quick=task.quick, draws=1)`` (one network draw: replicates are the
sweep's draws) and its record is built from the returned
:class:`~verify.results.CheckResult`; a recovery task is ``run_recovery(config,
InvertOptions(**task.options), task.streams)``. So a task gives the numbers the Python
API gives for the same configuration and streams, on every backend.

Retries are the runner's (:mod:`verify.runner`, one policy): a task that raises gives a
``failed`` record, the runner runs it once more alone (:func:`erred`) and
:func:`merge_attempts` keeps both errors; a task whose worker dies is rerun alone too,
and :func:`failed_record` is its record after a second death.

The result cache (:mod:`verify.cache`): :func:`task_key` keys a task by its kind, lemma,
whole configuration, streams, quick flag and recovery options (not by its place in the
plan), None when the key cannot cover it (a sweep with ``imports``, a check whose code
lies outside the hashed folders, fixed weights that are not a shipped preset's). Only
``ok`` records are stored; a hit is the stored record with this task's identity
(:func:`cached_record`: ``task_id``, ``index``, ``seed``, ...) and ``cached`` true.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from ..results import Criterion, jsonable
from .plan import Task, _import_modules, build_config

#: A recovery task passes when at least this share of its trials recovers z*.
RECOVERY_BOUND = 0.5


def _identity(t: Task) -> dict[str, Any]:
    """The fields every record of task ``t`` starts with."""
    return {"task_id": t.task_id, "index": t.index, "kind": t.kind, "lemma": t.lemma,
            "network": t.config["name"], "replicate": t.replicate, "seed": t.seed,
            "streams": t.streams.record()}


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its record, ``status`` ``"ok"`` or ``"failed"``,
    ``attempts`` 1 (the runner's retry makes it 2). Never raises."""
    record = _attempt(task)
    record["attempts"] = 1
    return record


def erred(record: dict[str, Any]) -> bool:
    """The runner's ``retry``: the task raised (its worker is fine)."""
    return record.get("status") != "ok"


def merge_attempts(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The runner's ``merge``: the second attempt's record, with both errors if it failed."""
    second = dict(second)
    second["attempts"] = 2
    if second.get("status") != "ok":
        second["error"] = (f"{second.get('error')} (failed twice; first attempt: "
                           f"{first.get('error')})")
    return second


def failed_record(task: Task, reason: str) -> dict[str, Any]:
    """The record of a task whose worker died twice (the runner's ``failed``)."""
    return jsonable({**_identity(task), "status": "failed", "error": reason, "attempts": 2})


#: The cache's kind of the sweep records.
CACHE_KIND = "sweep"


def task_key(t: Task) -> str | None:
    """The cache key of task ``t``, or None when it must not be cached (module docstring)."""
    from .. import cache
    from ..report.checks import cacheable_check, fixed_weights

    if t.imports:
        return None
    try:
        config = build_config(t.config)
        if t.kind == "check":
            from ..registry import get_check

            if not cacheable_check(get_check(t.lemma)):
                return None
    except Exception:  # noqa: BLE001 - the task will fail and say why; never cached
        return None
    fixed = fixed_weights(config)
    if fixed is False:
        return None
    return cache.key(CACHE_KIND, {
        "kind": t.kind, "lemma": t.lemma, "config": config.to_dict(), "plan": t.config,
        "fixed_weights": fixed, "streams": t.streams.record(), "quick": bool(t.quick),
        "options": t.options})


def stored_ok(record: dict[str, Any]) -> bool:
    """Only records of tasks that ran to the end are stored."""
    return record.get("status") == "ok"


def cached_record(t: Task, record: dict[str, Any], digest: str) -> dict[str, Any]:
    """A stored record as task ``t``'s: its identity, ``cached`` true."""
    return {**record, **_identity(t), "cached": True}


def cached_job(store) -> Any:
    """:func:`run_task` behind the cache ``store`` (picklable, for any backend)."""
    from ..cache import CachedJob

    return CachedJob(run_task, CACHE_KIND, task_key, store, keep=stored_ok,
                     hit=cached_record)


def _attempt(t: Task) -> dict[str, Any]:
    record = _identity(t)
    start = time.perf_counter()
    try:
        _import_modules(t.imports)
        config = build_config(t.config)
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
        if t.kind == "check":
            record.update(_check(t, config))
        else:
            record.update(_recovery(t, config))
        record["status"] = "ok"
        record["error"] = None
    except Exception as exc:  # noqa: BLE001 - recorded, attempted twice, never hidden
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=8)
    record["elapsed_s"] = time.perf_counter() - start
    return jsonable(record)


def _check(t: Task, config) -> dict[str, Any]:
    """A check task: the record's fields from the CheckResult of ``run_check``."""
    from ..registry import run_check

    result = run_check(t.lemma, config, seed=t.streams, quick=t.quick, draws=1)
    return {"passed": bool(result.passed), "expected": result.expected,
            "verdict": result.verdict,
            "matches_expectation": bool(result.matches_expectation),
            # exit-0 material (verify/cli/README.md): a match, or a registered known finding
            "accepted": bool(result.accepted),
            "statistic": result.statistic, "bound": result.bound, "sense": result.sense,
            "margin": result.margin, "n_samples": result.n_samples,
            "check_elapsed_s": result.elapsed_s,
            "failed_criteria": [_criterion(c) for c in result.criteria
                                if c.verdict == "fails"],
            "uninformative_criteria": [_criterion(c) for c in result.criteria
                                       if c.verdict == "uninformative"],
            **({"not_applicable": result.not_applicable} if result.not_applicable else {}),
            "details": result.details}


def _recovery(t: Task, config) -> dict[str, Any]:
    """A recovery task (Theorem 4): :func:`verify.inversion.run_recovery` on the task's
    streams; ``details`` keeps the per-trial figures."""
    import numpy as np

    from ..inversion.experiment import InvertOptions, run_recovery

    options = InvertOptions(**t.options, where="sweep.invert.")
    result = run_recovery(config, options, t.streams)
    stats = result.stats
    out: dict[str, Any] = dict(stats.to_dict())
    rate = float(stats.success_rate)
    crit = Criterion("success rate", rate, RECOVERY_BOUND, ">=")
    res = stats.result
    out.update({"passed": crit.holds, "verdict": crit.verdict,
                "statistic": rate, "bound": RECOVERY_BOUND, "sense": ">=",
                "n_samples": stats.trials, "observed": result.observed,
                "failed_criteria": [] if crit.holds else [_criterion(crit)],
                "details": {"rel_error": np.asarray(stats.rel_error).tolist(),
                            "success": np.asarray(stats.success).tolist(),
                            "iterations": np.asarray(res.iterations).tolist(),
                            "converged": np.asarray(res.converged).tolist()}})
    return out


def _criterion(c) -> dict[str, Any]:
    """A failing criterion as a record field: name, statistic, bound, sense, margin."""
    return {"name": c.name, "statistic": c.statistic, "bound": c.bound, "sense": c.sense,
            "margin": c.margin}


__all__ = ["run_task", "failed_record", "RECOVERY_BOUND", "task_key", "cached_record",
           "cached_job", "CACHE_KIND"]
