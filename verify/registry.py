"""The registry of lemma checks and the runner that turns an Outcome into a result.

A lemma module states one statement of the proof and registers its check with
:func:`register` (a plain call at the end of the module; the template is in
``lemmas/__init__.py``). :func:`discover` imports every module of the ``lemmas``
package, so a new lemma joins the command line, the report and the common property test
by registering (scikit-learn's ``parametrize_with_checks`` is the model). The engine
knows no lemma by name: the proof's order is declared once, as ``lemmas.PROOF``.

The registry is an object, :class:`Registry`. The module functions (:func:`register`,
:func:`discover`, :func:`get_check`, :func:`run_check`) act on the registry in use,
:func:`default` (the ``lemmas`` package's); a test builds its own ``Registry()``,
registers fakes into it and runs under it with :func:`use`.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from . import __version__, budget, findings as _findings, work
from .errors import VerifyError, invalid
from .findings import KnownFinding
from .presets import Config, Instance, get_preset
from . import settings as _settings
from .settings import Setting
from .results import CheckResult, Outcome, with_declared
from .statements import Beyond, Judge, Statement, StatementJudging
from .lemmacheck import CheckFn, LemmaCheck
from .rng import Streams
from .threads import blas_threads
from .verdicts import DRAW_COLUMNS, DrawRule, KnownBad, judge_draws, validate_known_bad, \
    draws_count



@dataclass(frozen=True)
class Reruns:
    """The results of the checks a check declares it reruns (``register(reruns=...)``).

    ``reruns(lemma, config)`` runs the registered check ``lemma`` on ``config`` and
    returns its :class:`~verify.results.CheckResult` on one network draw (``draws=1``:
    the calling check's own draw; a crash is an error result). The
    ``j``-th declared check runs on ``streams.task(j)``, a child of the calling check's
    streams: every configuration handed to the same rerun check sees the same streams
    (common random numbers), different checks and different parent runs see
    independent ones, and each result's ``seed`` (``"0/3.1"``) replays it with
    ``verify check LEMMA --seed``.
    """

    registry: "Registry"
    lemmas: tuple[str, ...]
    streams: Streams
    quick: bool

    def registered(self, lemma: str) -> bool:
        return lemma in self.registry

    def streams_of(self, lemma: str) -> Streams:
        if lemma not in self.lemmas:
            raise invalid("rerun", "one of the declared reruns " + ", ".join(self.lemmas),
                          lemma)
        return self.streams.task(self.lemmas.index(lemma))

    def __call__(self, lemma: str, config: Config) -> CheckResult:
        return self.registry.run_check(lemma, config, seed=self.streams_of(lemma),
                                       quick=self.quick, catch=True, draws=1)


class Registry:
    """The registered lemma checks, iterated in proof order.

    Parameters
    ----------
    package : str or None
        The package :meth:`discover` imports (its modules register themselves) and whose
        ``PROOF`` tuple (module names in the proof's order) orders the checks. None: a
        registry of only what is registered into it (tests).
    proof : sequence of str, optional
        The module order, instead of the package's ``PROOF``.
    """

    def __init__(self, package: str | None = None, proof: Sequence[str] | None = None):
        self.package = package
        self._proof = tuple(proof) if proof is not None else None
        self._checks: dict[str, LemmaCheck] = {}
        self._discovered = package is None
        self._registered = 0  # registrations so far: the order of modules not in the proof
        self._statements: dict[str, Statement] = {}
        self._findings_loaded = package is None

    # ------------------------------------------------------------ registering
    @property
    def proof(self) -> tuple[str, ...]:
        """Module names in the proof's order (the package's ``PROOF``)."""
        if self._proof is None:
            if self.package is None:
                return ()
            self._proof = tuple(getattr(importlib.import_module(self.package), "PROOF", ()))
        return self._proof

    def _order(self, module: str) -> int:
        prefix = f"{self.package}." if self.package else ""
        name = (module[len(prefix):] if module.startswith(prefix) else None) if prefix \
            else module.rpartition(".")[2]
        proof = self.proof
        if name in proof:
            return proof.index(name)
        self._registered += 1
        return len(proof) + self._registered

    def register(self, id: str, *, statement: str, reference: str, presets: dict[str, str],
                 check: CheckFn, configs=None, counter_configs=None, figures=(), findings=(),
                 cost: float = 1.0, requires=None, expect=None,
                 detects_counterexample: bool = True, reruns: Sequence[str] = (),
                 draws: DrawRule | None = None, known_bad: Sequence[KnownBad] = (),
                 settings: dict[str, Setting] | None = None, judged: str = "",
                 criteria: Sequence[str] = (),
                 module: str | None = None, hypotheses=None) -> LemmaCheck:
        """Register ``check(instance, *, rng, quick) -> Outcome`` as lemma ``id``.

        Called once, at the end of the lemma's module (see ``lemmas/__init__.py``).
        ``module`` defaults to the check function's module; its position in the proof
        (``PROOF``) orders the check. ``findings``: the
        :class:`~verify.findings.KnownFinding` records of this check. ``reruns``: the
        registered checks whose results the check receives as ``reruns=``
        (:class:`Reruns`). ``draws``: the :class:`~verify.verdicts.DrawRule` of a
        statement that holds with high probability over the weights. ``known_bad``: the
        :class:`~verify.verdicts.KnownBad` configurations it must reject (each drawn
        once here: one that cannot be built is a registration error). ``settings``: the
        parameters a config file may set for this check (``[checks.<id>]``, name ->
        :class:`~verify.settings.Setting`; :mod:`verify.settings`), passed to the check
        as ``settings=``. ``judged``: how the verdict is reached, for a check that runs
        its own network draws (``verify list``). ``hypotheses``: ``hypotheses(config) ->
        reason or None``, why a configuration lies outside the statement's hypotheses
        (:attr:`LemmaCheck.hypotheses`). ``criteria``: the criterion names the check
        evaluates on every configuration (:attr:`LemmaCheck.criteria`: one not evaluated
        makes the verdict "uninformative"). Registering an id again replaces it."""
        if not callable(check):
            raise invalid(f"{id}: check", "a function check(instance, *, rng, quick)", check)
        for name, exp in presets.items():
            if exp not in ("pass", "fail"):
                raise invalid(f"presets[{name!r}]", "'pass' or 'fail'", exp)
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not cost > 0:
            raise invalid(f"{id}: cost", "CPU seconds > 0", cost)
        records = _findings.validate(id, findings)
        if draws is not None and not isinstance(draws, DrawRule):
            raise invalid(f"{id}: draws", "a verify.verdicts.DrawRule or None", draws)
        bad = validate_known_bad(id, known_bad)
        declared = _settings.validate_declared(id, settings or {})
        if isinstance(criteria, str) or not all(isinstance(c, str) and c for c in criteria):
            raise invalid(f"{id}: criteria", "a tuple of criterion names", criteria)
        mod = module or getattr(check, "__module__", "") or ""
        self._checks.pop(id, None)
        self._checks[id] = LemmaCheck(
            id, statement, reference, check, dict(presets), detects_counterexample, requires,
            tuple(figures), self._order(mod), configs, counter_configs, expect, records,
            float(cost), mod, tuple(reruns), draws, bad, declared, str(judged),
            hypotheses=hypotheses, criteria=tuple(dict.fromkeys(criteria)))
        return self._checks[id]

    def register_statement(self, id: str, *, label: str, section: str, quote: str,
                           hypotheses: str = "", judges: Sequence[Judge] | Judge = (),
                           beyond: Sequence[Beyond] | Beyond = (), not_judged: str = "",
                           module: str | None = None) -> Statement:
        """Register one of the paper's statements (:class:`verify.statements.Statement`):
        its exact quote, the hypotheses, the checks whose outcomes judge it
        (:class:`~verify.statements.Judge`) and the criteria that ask more than it
        (:class:`~verify.statements.Beyond`). Called at the end of the statement's
        module; ``module`` defaults to the caller's. Statements are listed in the
        proof's order (their module's place in ``PROOF``, then registration order).
        An id may not be a lemma id of another meaning, nor registered twice from
        different modules."""
        import sys

        mod = module or sys._getframe(1).f_globals.get("__name__", "")
        st = Statement(id, label, section, quote, hypotheses, judges, beyond, not_judged,
                       mod, (self._order(mod), len(self._statements)))
        old = self._statements.get(id)
        if old is not None and old.module != mod:
            raise invalid(f"statement {id!r}", "an id registered by one module only",
                          f"registered by {old.module} and {mod}")
        self._statements[id] = st
        return st

    def statements(self) -> dict[str, Statement]:
        """Every registered statement, in the proof's order (with its findings)."""
        self.discover()
        self._load_findings()
        return dict(sorted(self._statements.items(), key=lambda kv: kv[1].order))

    def statement(self, id: str) -> Statement:
        sts = self.statements()
        if id not in sts:
            raise invalid("statement", "one of " + ", ".join(sts) if sts
                          else "a registered statement", id)
        return sts[id]

    def statements_of(self, lemma: str) -> tuple[Statement, ...]:
        """The statements judged by check ``lemma`` (in proof order)."""
        return tuple(st for st in self.statements().values() if lemma in st.checks)

    def _load_findings(self) -> None:
        """Attach the statement findings of ``<package>/findings/<statement id>.toml``
        (data files beside the lemmas) to their statements, once."""
        if self._findings_loaded:
            return
        self._findings_loaded = True
        from dataclasses import replace as _replace
        from pathlib import Path

        pkg = importlib.import_module(self.package)  # type: ignore[arg-type]
        folder = Path(next(iter(pkg.__path__))) / "findings"
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.toml")):
            if path.stem not in self._statements:
                raise invalid(f"findings file {path.name}",
                              "a file named after a registered statement id", path.stem)
            records = _findings.load_statement_findings(path)
            st = self._statements[path.stem]
            self._statements[path.stem] = _replace(st, findings=tuple(records))

    def add_statement_findings(self, id: str, records) -> None:
        """Attach findings to a registered statement (tests' registries)."""
        from dataclasses import replace as _replace

        st = self._statements[id]
        self._statements[id] = _replace(st, findings=st.findings + tuple(records))

    # ------------------------------------------------------------ looking up
    def discover(self) -> dict[str, LemmaCheck]:
        """Import the package's modules (``PROOF`` first, then the others by name) once;
        return the registered checks in proof order."""
        if not self._discovered:
            pkg = importlib.import_module(self.package)  # type: ignore[arg-type]
            names = [m.name for m in pkgutil.iter_modules(pkg.__path__)
                     if not m.name.startswith("_")]
            for name in [*(n for n in self.proof if n in names),
                         *sorted(n for n in names if n not in self.proof)]:
                importlib.import_module(f"{self.package}.{name}")
            self._discovered = True
        return dict(sorted(self._checks.items(), key=lambda kv: (kv[1].order, kv[0])))

    def get(self, lemma: str) -> LemmaCheck:
        checks = self.discover()
        if lemma not in checks:
            raise invalid("lemma", "one of " + ", ".join(checks) if checks
                          else "a registered lemma", lemma)
        return checks[lemma]

    def __iter__(self) -> Iterator[LemmaCheck]:
        return iter(self.discover().values())

    def __len__(self) -> int:
        return len(self.discover())

    def __contains__(self, lemma: object) -> bool:
        return lemma in self.discover()

    def __repr__(self) -> str:
        return f"Registry({self.package!r}, {len(self._checks)} checks)"

    def validate_settings(self, config: Config) -> None:
        """Every ``[checks.<lemma>]`` table of ``config`` names a registered check and
        sets only what it declares, to allowed values; else VerifyError naming the field
        path (``checks.<lemma>.<key>``). Run before any check starts, so a bad setting
        for another lemma in the same file is refused too."""
        checks = self.discover()
        for lemma, table in config.checks.items():
            if lemma not in checks:
                raise invalid(f"checks.{lemma}", "a table named after a registered lemma (one "
                              "of " + ", ".join(checks) + ")", "unknown lemma")
            checks[lemma].resolve_settings(config)

    # ------------------------------------------------------------ running
    def run_check(self, lemma: str, config: Config | str | None = None, *,
                  seed: "int | Streams" = 0, quick: bool = False,
                  catch: bool = False, draws: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> CheckResult:
        """See :func:`run_check`."""
        check = self.get(lemma)
        n_draws = check.default_draws(quick) if draws is None else draws_count(draws)
        if config is None:
            config = next(iter(check.presets))
        if isinstance(config, str):
            config = get_preset(config)
        self.validate_settings(config)
        values = check.resolve_settings(config)
        if check.requires is not None:
            reason = check.requires(config)
            if reason:
                raise VerifyError(f"lemma {lemma!r} does not apply to {config.name!r}: {reason}")
        rule = check.draw_rule
        if rule is None:
            n_draws = 1  # one draw decides: the statement is exact or the weights fixed
        # the work of every draw, estimated from the spec and the counts before anything
        # is drawn: over the time budget (--max-time) is refused, naming the input
        work.require_check(check, config, draws=n_draws, quick=quick, values=values)
        streams = Streams.of(seed)
        seed_id = streams.seed if streams.seed is not None else str(streams)
        expected = check.expected_on(config)
        base_config = {"preset": config.name, **config.to_dict()}
        finding = check.finding_on(config.name, base_config.get("network"), seed_id, quick,
                                   n_draws)
        start = time.perf_counter()
        judging = StatementJudging(self.statements_of(lemma), lemma, check.presets, config,
                                   expected, seed_id, quick)
        first = self._outcome(check, config, streams, quick, catch, values=values)
        if isinstance(first, BaseException):
            return CheckResult.from_error(check, config.name, seed_id, quick, first,
                                          time.perf_counter() - start, config=base_config,
                                          expected=expected, finding=finding,
                                          statements=judging.verdicts(
                                              error=f"{type(first).__name__}: {first}"))
        judging.add(first)
        if progress is not None:
            progress(1, n_draws)
        criteria = (first.headline,) + tuple(first.criteria)
        passed, details, tables = first.passed, dict(first.details), dict(first.tables)
        if first.not_applicable:  # the configuration is outside the statement: no draws
            n_draws = 1
        settings = first.settings
        draw_summary: dict[str, Any] = {}
        if rule is not None and n_draws == 1:
            draw_summary = {"draws": 1, "draw_note": (
                "judged on a single network draw (--draws 1): the verdict is this draw's, "
                f"not a probability statement; the default is {rule.draws} draws")}
        elif rule is not None:
            rows = [self._draw_row(0, streams, first)]
            per_draw = {name: [first.tables.get(name)] for name in rule.per_draw}
            looks = set(rule.looks_for(n_draws))
            stopped = None
            for i in range(1, n_draws):
                if i in looks:  # a look after i draws: stop only if everything fails
                    done = (judging.all_fail_early(rule, n_draws) if judging.items else
                            rule.early_fail([r["verdict"] for r in rows], n_draws))
                    if done:
                        stopped = i
                        break
                out = self._outcome(check, config, streams.draw(i), quick, catch,
                                    run=rule.check or check.run, values=values)
                if isinstance(out, BaseException):
                    return CheckResult.from_error(
                        check, config.name, seed_id, quick, out, time.perf_counter() - start,
                        config=base_config, expected=expected, finding=finding,
                        statements=judging.verdicts(error=f"{type(out).__name__}: {out}"))
                judging.add(out)
                rows.append(self._draw_row(i, streams, out))
                for name in rule.per_draw:
                    per_draw[name].append(out.tables.get(name))
                if progress is not None:
                    progress(i + 1, n_draws)
            import pandas as pd

            crit, draw_summary = judge_draws([r["verdict"] for r in rows], rule)
            draw_summary["draws_max"] = n_draws
            draw_summary["sequential"] = (
                f"stopped after {stopped} of at most {n_draws} draws: every statement was "
                f"decided to fail at an early look (one-sided level "
                f"{rule.look_level(n_draws):.4g} each; alpha {rule.alpha:g} overall)"
                if stopped else
                f"all {n_draws} draws ran (early looks at "
                f"{', '.join(map(str, sorted(looks))) or 'none'} stop only for fails)")
            extra = [c for c in rows[0] if c not in DRAW_COLUMNS]
            tables["draws"] = pd.DataFrame(rows, columns=list(DRAW_COLUMNS) + extra)
            by_draw = {name: pd.concat([df.assign(draw=i) for i, df in enumerate(parts)
                                        if df is not None], ignore_index=True)
                       for name, parts in per_draw.items()
                       if any(df is not None for df in parts)}
            for name, df in by_draw.items():
                tables[f"{name}_by_draw"] = df
            if rule.summarise is not None:
                details["over_draws"] = rule.summarise(tables["draws"], by_draw)
            details["draw0"] = {"seed": seed_id, "verdict": first.verdict,
                                "criteria": [c.to_dict() for c in criteria]}
            criteria = (crit,)
            passed = crit.holds
            settings = {**settings, "draws": rule.to_dict() | {"draws": n_draws}}
            n_draws = len(rows)
        elapsed = time.perf_counter() - start
        h = criteria[0]
        statements = self._statement_verdicts(judging, rule if n_draws > 1 else None,
                                              details, n_draws,
                                              draws_max=draw_summary.get("draws_max", n_draws),
                                              default_draws=check.default_draws())
        if first.not_applicable:  # the whole check does not apply: nor its statements
            from dataclasses import replace as _replace

            statements = tuple(v if v.verdict == "not applicable" else _replace(
                v, verdict="not applicable", why=first.not_applicable, criteria=(),
                over_draws=None, beyond=()) for v in statements)
        if "sequential" in draw_summary:
            from dataclasses import replace as _replace

            statements = tuple(_replace(v, draws={**v.draws, "draws_max":
                                                  draw_summary["draws_max"],
                                                  "sequential": draw_summary["sequential"]})
                               if v.draws.get("failure_rate") is not None else v
                               for v in statements)
        return CheckResult(
            lemma=lemma, preset=config.name, seed=seed_id, passed=passed,
            expected=expected, statistic=float(h.statistic), bound=float(h.bound),
            margin=float(h.margin),
            config={**base_config, "check": settings, "quick": quick,
                    **({"settings": {k: list(v) if isinstance(v, tuple) else v
                                     for k, v in values.items()}} if check.settings else {})},
            details=details, elapsed_s=elapsed, version=__version__,
            statement=check.statement, reference=check.reference, sense=h.sense,
            n_samples=int(first.n_samples), criteria=criteria, table=first.table,
            tables=tables, quick=quick, finding=finding, draws=n_draws,
            draw_summary=draw_summary, statements=statements,
            not_applicable=first.not_applicable)

    def _statement_verdicts(self, judging: StatementJudging, rule, details: dict,
                            n_draws: int, *, draws_max: int = 1, default_draws: int = 1):
        """The verdicts of the statements a run judges, each with the finding that
        covers it and that finding's evidence compared with this run. Evidence recorded
        over the check's default number of draws is compared only with runs that allow
        as many (``--draws N`` with another N measures something else, and so does
        ``--quick``'s smaller maximum, :meth:`DrawRule.quick_draws`); a single-draw
        finding's evidence with every single-draw run."""
        out = []
        for v in judging.verdicts(rule):
            st = self._statements.get(v.statement)
            f = _findings.statement_finding_for(st.findings if st else (), v.statement,
                                                v.preset, v.seed, v.quick, n_draws, v.check)
            if f is not None:
                comparable = n_draws <= 1 or draws_max == default_draws
                js = v.to_json()
                v = v.with_finding(f, [e.compare(js, details) for e in f.evidence]
                                   if comparable else [])
            out.append(v)
        return tuple(out)

    def _outcome(self, check: LemmaCheck, config: Config, streams: Streams, quick: bool,
                 catch: bool, run: CheckFn | None = None,
                 values: dict[str, Any] | None = None) -> "Outcome | BaseException":
        """One draw's Outcome (an exception instead, with ``catch``); ``values``: the
        check's resolved settings, passed as ``settings=`` when it declares any."""
        extra: dict[str, Any] = ({"reruns": Reruns(self, check.reruns, streams, quick)}
                                 if check.reruns else {})
        if check.settings:
            extra["settings"] = dict(values if values is not None
                                     else check.resolve_settings(config))
        try:
            # every check runs under the one BLAS thread policy (verify/threads.py); the
            # hot paths inside that ask for it again get the same count
            with blas_threads():
                instance: Instance = config.instantiate(streams)
                out = (run or check.run)(instance, rng=streams.check(), quick=quick,
                                         **extra)
            if check.criteria and isinstance(out, Outcome):
                # a declared criterion the check did not evaluate: untested, never "holds"
                out = replace(out, criteria=with_declared(
                    (out.headline,) + tuple(out.criteria), check.criteria)[1:])
            return out
        except VerifyError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            if not catch:
                raise
            return exc

    @staticmethod
    def _draw_row(i: int, streams: Streams, out: Outcome) -> dict[str, Any]:
        h = out.headline
        v = out.verdict
        return {"draw": i, "seed": str(streams.draw(i)), "verdict": v,
                "statistic": float(h.statistic), "bound": float(h.bound),
                "margin": float(h.margin), "failed": v == "fails",
                **out.details.get("per_draw", {})}


#: The registry of the ``lemmas`` package.
DEFAULT = Registry("lemmas")
_in_use: Registry = DEFAULT


def default() -> Registry:
    """The registry the module functions act on (:data:`DEFAULT` unless :func:`use`)."""
    return _in_use


@contextmanager
def use(registry: Registry) -> Iterator[Registry]:
    """Run the module functions (and so the CLI, the report, sweeps run in this process
    or forked from it) on ``registry`` inside the ``with`` block."""
    global _in_use
    if not isinstance(registry, Registry):
        raise invalid("registry", "a verify.registry.Registry", registry)
    before, _in_use = _in_use, registry
    try:
        yield registry
    finally:
        _in_use = before


def register(id: str, **kwargs) -> LemmaCheck:
    """:meth:`Registry.register` on the registry in use."""
    return default().register(id, **kwargs)


def discover() -> dict[str, LemmaCheck]:
    """Import every module of the ``lemmas`` package; return the registry in proof order."""
    return default().discover()


def get_check(lemma: str) -> LemmaCheck:
    return default().get(lemma)


def register_statement(id: str, **kwargs) -> Statement:
    """:meth:`Registry.register_statement` on the registry in use (``module`` defaults
    to the caller's module)."""
    import sys

    kwargs.setdefault("module", sys._getframe(1).f_globals.get("__name__", ""))
    return default().register_statement(id, **kwargs)


def statements() -> dict[str, Statement]:
    """Every registered statement of the registry in use, in the proof's order."""
    return default().statements()


def get_statement(id: str) -> Statement:
    return default().statement(id)


def validate_settings(config: Config) -> None:
    """:meth:`Registry.validate_settings` on the registry in use."""
    default().validate_settings(config)


#: Samples a check pushes through its network at once, for the memory estimate made
#: before it runs (:func:`require_memory`): the checks batch a few hundred to a few
#: thousand samples (pairs, starts, grid points in chunks). Coarse on purpose: it decides
#: "would this fit at all", not how fast it runs.
CHECK_BATCH = 1024


def require_memory(config: Config, batch: int = CHECK_BATCH) -> None:
    """Refuse (VerifyError, exit 2) a configuration whose network would not fit in the
    memory budget (:mod:`verify.budget`), naming the field responsible and the estimate;
    from the spec's integers alone, before anything is allocated."""
    budget.require(budget.network_bytes(config.spec, batch), budget.blame(config.spec),
                   hint=f"estimated from the spec for a batch of {batch} samples")


def run_check(lemma: str, config: Config | str | None = None, *, seed: "int | Streams" = 0,
              quick: bool = False, catch: bool = False, draws: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Run one lemma's check on a configuration and freeze its result.

    ``config`` is a Config, a preset name, or None for the lemma's first default
    preset. ``seed`` is an integer seed or :class:`~verify.rng.Streams` (a sweep's
    task): the network and mask come from its ``weights`` and ``mask`` streams, the
    check draws from its ``check`` stream (a check that declares ``reruns`` receives
    them on ``task(j)``, :class:`Reruns`). With ``catch=True`` a check that raises
    gives an error result (the report's error row) instead of propagating.

    ``draws``: for a statement judged over network draws (the check's
    :class:`~verify.verdicts.DrawRule`), how many independent networks the verdict rests
    on: None (the default, as ``verify check`` and ``verify report``) takes the rule's
    own number; 1 judges the seed's own network and labels the result as a single draw
    (what a sweep's task and a rerun run, and what a test that means one network says
    explicitly); N >= 2 runs draws 0..N-1 (draw 0 is the
    seed's own network, with the full tables and figures) and judges the failure rate
    (:func:`verify.verdicts.judge_draws`). Checks without a rule ignore it.
    ``progress(done, total)`` is called after each draw.
    """
    return default().run_check(lemma, config, seed=seed, quick=quick, catch=catch,
                               draws=draws, progress=progress)


__all__ = ["LemmaCheck", "KnownFinding", "DrawRule", "KnownBad", "Setting", "Registry", "Reruns", "DEFAULT", "default", "use",
           "register", "register_statement", "statements", "get_statement", "Statement",
           "Judge", "Beyond", "discover", "get_check", "validate_settings", "run_check", "require_memory", "CHECK_BATCH"]
