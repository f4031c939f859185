"""A user's own network in ``verify check`` and ``verify report`` (verify/cli/README.md).

Two kinds:

*a family* (``--config FILE.toml``)
    an architecture with a weight law: judged over network draws, as a preset is.
*one fixed network* (``--weights FILE [--arch FILE.toml]``, ``--torch FILE.py:OBJECT``)
    one set of weights. Every check runs on it once (``draws = 1``) and each statement
    says what can be judged on one network (:func:`judge_fixed`): exact and per-network
    statements are judged on it; a statement that holds "with high probability over the
    weights" (:func:`over_random_weights`) is ``not applicable`` with the reason "not
    judged from one draw", and its line carries this network's own value beside what
    the law predicts (the statement's bound; for the WDC, the check's
    ``details["fixed_network"]``: the statistic with the network's fitted variance and
    against N(0, 1/(C_i l^dims)), and one draw of that law).

Either way a check whose hypotheses' shape the network does not have (its
``requires``) is not run, and its statements say "does not apply" with the reason
(:func:`not_run`); on a fixed network a check that only reruns other checks on
networks drawn from other laws (``reruns``) is not run either. :func:`user_tasks`
turns the network into the report's (check, task) list
(:func:`verify.report.checks.run_checks` with ``configs=``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from .. import __version__
from ..errors import VerifyError
from ..presets import Config, presets
from ..results import CheckResult
from ..trained import file_sha256

#: The one line the report and ``verify check`` print for a fixed network.
FIXED_NOTE = ("one fixed network: exact and per-network statements are judged on its "
              "weights; a statement that holds with high probability over random weights is "
              "not judged from one draw ('not applicable'), its line shows this network's "
              "value beside the law's prediction")


class FixedNetwork:
    """A picklable ``Config.loader`` returning one network (the report's workers)."""

    def __init__(self, network):
        self.network = network

    def __call__(self):
        return self.network


@dataclass(frozen=True)
class UserNetwork:
    """A user's network: its Config, whether its weights are fixed, and its provenance
    record (``source``, ``path``, ``sha256``, ...; ``results.json``'s
    ``provenance.network``)."""

    config: Config
    fixed: bool
    record: dict[str, Any] = field(default_factory=dict)


def weights_sha256(network) -> str:
    """SHA-256 of a network's spec (TOML) and weights (filters, scales, biases in layer
    order, float64 little-endian): the identity of the network the checks ran on."""
    import numpy as np

    h = hashlib.sha256(network.spec.to_toml().encode())
    for w in network.weights:
        for a in (w.filters, w.scale, w.bias):
            if a is not None:
                h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return h.hexdigest()


def _name(stem: str) -> str:
    """The column name of a user's network: the file's stem, never a preset's name."""
    stem = stem or "network"
    return f"user-{stem}" if stem in presets() else stem


def fixed_config(network, name: str, description: str = "") -> Config:
    """A Config of one fixed network (default measurement: the presets' default)."""
    return Config(_name(name), network.spec, description=description,
                  loader=FixedNetwork(network))


def from_config(path: str | Path) -> UserNetwork:
    """``--config FILE.toml``: a family of random networks."""
    config = Config.load(path)
    return UserNetwork(config, False, {"source": "config file", "path": str(path),
                                       "sha256": file_sha256(path)})


def from_weights(path: str | Path, arch: str | Path | None = None,
                 label: int | None = None) -> UserNetwork:
    """``--weights FILE [--arch FILE.toml]``: one fixed network from a ``.npz`` or
    ``.safetensors`` file (:func:`verify.weightfiles.load_conditional`; without
    ``arch`` the file must carry its architecture). A conditional file's class is fixed
    to ``label`` (default 0)."""
    from ..trained import ClassConditionedNetwork
    from ..weightfiles import load_conditional

    network, k = load_conditional(path, arch)
    stem = Path(path).stem
    record = {"source": "weights file", "path": str(path), "sha256": file_sha256(path),
              "arch": None if arch is None else str(arch),
              "arch_sha256": None if arch is None else file_sha256(arch)}
    if k is not None:
        label = 0 if label is None else int(label)
        if not 0 <= label < k:
            raise VerifyError(f"--condition: the file's class input has {k} classes; got "
                              f"class {label}")
        network = ClassConditionedNetwork(network, k, label)
        stem, record["class"] = f"{stem}-class{label}", label
    return UserNetwork(fixed_config(network, stem, f"fixed weights from {path}"), True,
                       record)


def from_torch(target: str, latent_shape=None, condition=None) -> UserNetwork:
    """``--torch FILE.py:OBJECT`` (or a TorchScript file): one fixed network, converted
    and checked by :func:`verify.torch.convert`."""
    from ..torch import convert, load_object

    module = load_object(target)
    conv = convert(module, latent_shape, condition=condition)
    path, sep, obj = str(target).rpartition(":")
    if not sep or not obj.isidentifier():
        path, obj = str(target), ""
    record = {"source": "torch", "path": path, "object": obj or None,
              "sha256": file_sha256(path), "weights_sha256": weights_sha256(conv.network),
              "latent_shape": list(conv.latent_shape),
              "condition": None if conv.condition is None else list(conv.condition),
              "forward_max_rel_diff": conv.max_rel_diff}
    return UserNetwork(fixed_config(conv.network, obj or Path(path).stem,
                                    f"PyTorch module {target}"), True, record)


# ------------------------------------------------------------------ judging
def over_random_weights(statement, check) -> str:
    """Why ``statement`` (judged by ``check``) is a statement over random weights, or
    "" when it is exact or about one network: its check judges it over network draws
    (a draw rule), runs its own network draws, or its quote says it holds with
    (high) probability."""
    if check.draw_rule is not None:
        return "it holds with high probability over random weights (judged over network draws)"
    if check.judged:
        return "it is judged over networks the check draws itself"
    quote = " ".join(statement.quote.lower().split())
    if "with high probability" in quote or "with probability" in quote:
        return "it holds with high probability over random weights"
    return ""


def _own_value(v) -> str:
    h = v.headline
    if h is None:
        return "no criterion was evaluated"
    met = "met" if h.verdict == "holds" else ("not met" if h.verdict == "fails"
                                              else "not decided")
    return (f"this network's {h.name} = {h.statistic:.4g}; the statement under its law: "
            f"{h.sense} {h.bound:.4g} ({met} here)")


def judge_fixed(result: CheckResult, check) -> CheckResult:
    """A check's result on one fixed network, its statements as :data:`FIXED_NOTE`
    says: hypotheses not met: "does not apply: ..."; over random weights: ``not
    applicable``, "not judged from one draw: ...", with this network's own value (and
    the check's ``details["fixed_network"]`` lines); otherwise judged on the network."""
    from ..registry import statements

    sts = statements()
    lines = [" ".join(str(x).split()) for x in result.details.get("fixed_network", [])]
    out = []
    for v in result.statements:
        st = sts.get(v.statement)
        if v.verdict == "not applicable":
            why = v.why if v.why.startswith(("does not apply", "not judged")) else \
                f"does not apply: {v.why}"
            out.append(replace(v, why=why))
            continue
        reason = over_random_weights(st, check) if st is not None else ""
        if v.verdict == "error" or not reason:
            out.append(v)
            continue
        why = "; ".join([f"not judged from one draw: {reason}", _own_value(v)] + lines)
        out.append(replace(v, verdict="not applicable", why=why, over_draws=None))
    summary = {"draws": 1, "draw_note": FIXED_NOTE}
    return replace(result, statements=tuple(out), draw_summary=summary)


def not_run(check, config: Config, *, seed, quick: bool, fixed: bool) -> str:
    """Why ``check`` is not run on ``config`` ("" when it is): its ``requires``, or, on
    a fixed network, a check that draws its own networks (``judged``) or only reruns
    checks on networks of other laws (``reruns``)."""
    if fixed and check.judged:
        return ("not judged on one fixed network: the check draws the networks it judges "
                "from a weight law, never these weights")
    reason = check.requires(config) if check.requires is not None else None
    if reason:
        return f"does not apply: {reason}"
    if fixed and check.reruns:
        return ("not judged on one fixed network: the check reruns "
                f"{', '.join(check.reruns)} on networks drawn from other weight laws, "
                "never on these weights")
    return ""


def not_run_result(check, config: Config, why: str, *, seed, quick: bool) -> CheckResult:
    """The result of a check not run on ``config``: ``not applicable`` with ``why``,
    and each statement it judges there likewise."""
    from ..registry import default
    from ..statements import not_applicable

    ps = tuple(check.presets)
    sts = [st for st in default().statements_of(check.id)
           if st.judge_for(check.id, config.name, ps) is not None]
    seed_id = seed if isinstance(seed, int) else str(seed)
    return CheckResult(
        check.id, config.name, seed_id, False, check.expected_on(config), float("nan"),
        float("nan"), float("nan"), {"preset": config.name, **config.to_dict()}, {}, 0.0,
        __version__, check.statement, check.reference, quick=quick, not_applicable=why,
        statements=tuple(not_applicable(st, check.id, config.name, why, seed=seed_id,
                                        quick=quick) for st in sts))


def user_tasks(checks: Sequence, configs: Sequence[Config], *, seed: int, quick: bool,
               draws: int | None):
    """The report's work for users' networks: ``(todo, tasks, ready)`` with ``todo``
    the (check, name) pairs, ``tasks`` their :class:`~verify.report.checks.CheckTask`
    (a fixed network: one draw) and ``ready`` the results of the pairs that are not
    run (index -> :class:`~verify.results.CheckResult`, :func:`not_run_result`)."""
    from .checks import CheckTask

    todo, tasks, ready = [], [], {}
    for config in configs:
        fixed = config.loader is not None
        for c in checks:
            why = not_run(c, config, seed=seed, quick=quick, fixed=fixed)
            if why:
                ready[len(tasks)] = not_run_result(c, config, why, seed=seed, quick=quick)
            todo.append((c, config.name))
            tasks.append(CheckTask(c.id, config.name, int(seed), bool(quick),
                                   1 if fixed else draws, config))
    return todo, tasks, ready


def finish(check, task, result: CheckResult) -> CheckResult:
    """A user task's result as the report shows it (:func:`judge_fixed` for a fixed
    network; a family's as it is)."""
    config = getattr(task, "config", None)
    if config is None or config.loader is None or result.error is not None:
        return result
    return judge_fixed(result, check)


def require_fit(checks: Sequence, configs: Sequence[Config], *, draws: int | None,
                quick: bool) -> None:
    """Refuse (VerifyError, exit 2) before any check runs: a network over the memory
    budget, or the work of every check that runs on it over the time budget."""
    from .. import work
    from ..registry import require_memory

    total = 0.0
    for config in configs:
        require_memory(config)
        fixed = config.loader is not None
        for c in checks:
            if not_run(c, config, seed=0, quick=quick, fixed=fixed):
                continue
            n = 1 if fixed or c.draw_rule is None else (draws or c.default_draws(quick))
            try:
                values = c.resolve_settings(config)
            except VerifyError:
                values = {}
            total += work.check_wu(c, config.spec, draws=n, quick=quick, values=values)[0]
    work.require(total, "--draws" if draws is not None else "verify report",
                 hint=f"{len(checks)} checks on {', '.join(c.name for c in configs)}")


__all__ = ["FIXED_NOTE", "FixedNetwork", "UserNetwork", "from_config", "from_weights",
           "from_torch", "fixed_config", "judge_fixed", "over_random_weights", "not_run",
           "not_run_result", "user_tasks", "finish", "require_fit",
           "weights_sha256"]
