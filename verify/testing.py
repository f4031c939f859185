"""The paper's statements as tests of your own networks: a pytest plugin.

Installed with the package (the ``pytest11`` entry point ``verify``), so in any test
suite::

    from verify.testing import parametrize_with_statements

    @parametrize_with_statements([my_config, "theory-2layer", my_network],
                                 statements=["fig2", "sup2-wdc"])
    def test_paper(verify_network, verify_statement):
        verify_statement(verify_network)

gives one test per (network, statement), with ids such as ``theory-2layer-fig2`` (as
scikit-learn's ``parametrize_with_checks`` does for estimators). A network is a
:class:`~verify.presets.Config` (a family of random networks, judged over draws as a
preset is), a preset name, a :class:`~verify.network.Network` (one fixed network, e.g.
from :func:`verify.torch.from_module`: judged as :func:`verify.report.user.judge_fixed`
says) or a ``(name, network)`` pair. A test passes when the statement's verdict matches
its expectation (or differs only as a registered finding), is skipped when the
statement does not apply to the network or is not judged from one fixed network (the
reason is the skip message), and fails otherwise with the statement's quote and its
failing criteria with their numbers.

Options: ``--verify-quick`` (smaller samples, same verdict rules) and ``--verify-draws
N`` (network draws of a family's probabilistic statements; a fixed network is one
draw). The fixture ``verify_network`` is the network under test
(:class:`NetworkUnderTest`); use it in your own tests with
``@pytest.mark.parametrize("verify_network", [...], indirect=True)``.

Loading the plugin imports neither torch nor the statements (the ``lemmas`` package):
they are imported when a test module asks for statements or a test runs a check. A
check's result is computed once per (network, check) in a session and shared by the
statements it judges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import pytest

#: The command-line options in force (set by :func:`pytest_configure`).
OPTIONS: dict[str, Any] = {"quick": False, "draws": None, "seed": 0}
#: Check results of this session: (target id, lemma, quick, draws, seed) -> CheckResult.
_RESULTS: dict[tuple, Any] = {}


def pytest_addoption(parser) -> None:
    group = parser.getgroup("verify", "the paper's statements as tests (verify.testing)")
    group.addoption("--verify-quick", action="store_true", default=False,
                    help="verify: smaller sample counts, same verdict rules")
    group.addoption("--verify-draws", type=int, default=None, metavar="N",
                    help="verify: network draws of a family's probabilistic statements "
                         "(default: each check's own; a fixed network is one draw)")


def pytest_configure(config) -> None:
    OPTIONS["quick"] = bool(config.getoption("verify_quick", False))
    draws = config.getoption("verify_draws", None)
    if draws is not None and draws < 1:
        raise pytest.UsageError(f"--verify-draws: expected an integer >= 1, got {draws}")
    OPTIONS["draws"] = draws


@dataclass(frozen=True, eq=False)
class Target:
    """A network to test, as given to :func:`parametrize_with_statements`."""

    name: str
    config: Any          # verify.presets.Config
    fixed: bool


def as_target(obj: Any, index: int = 0) -> Target:
    """A Config, a preset name, a Network or a (name, Network) pair as a :class:`Target`."""
    from .network import Network
    from .presets import Config, get_preset

    if isinstance(obj, Target):
        return obj
    if isinstance(obj, str):
        return Target(obj, get_preset(obj), get_preset(obj).loader is not None)
    if isinstance(obj, Config):
        return Target(obj.name, obj, obj.loader is not None)
    name = None
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], str):
        name, obj = obj
    if isinstance(obj, Network):
        from .report.user import fixed_config

        config = fixed_config(obj, name or f"network{index}", "a fixed network under test")
        return Target(config.name, config, True)
    raise TypeError(f"verify.testing: expected a Config, a preset name, a Network or a "
                    f"(name, Network) pair, got {type(obj).__name__}")


class NetworkUnderTest:
    """The ``verify_network`` fixture: a target with this session's options."""

    def __init__(self, target: Target):
        self.target = target
        self.name, self.config, self.fixed = target.name, target.config, target.fixed

    def __repr__(self) -> str:
        kind = "fixed network" if self.fixed else "family of random networks"
        return f"NetworkUnderTest({self.name!r}, {kind}: {self.config.spec.describe()})"

    @property
    def network(self):
        """The network (a family's: the seed's draw)."""
        return self.config.instantiate(OPTIONS["seed"]).network

    def result(self, lemma: str):
        """The check's result on this network (computed once per session)."""
        key = (id(self.target), lemma, OPTIONS["quick"], OPTIONS["draws"], OPTIONS["seed"])
        if key not in _RESULTS:
            _RESULTS[key] = _run(lemma, self.target)
        return _RESULTS[key]

    def verdicts(self, statement: str) -> list:
        """Every verdict of ``statement`` on this network, one per check that judges it
        here (:class:`~verify.statements.StatementVerdict`); raises for a check error."""
        from .registry import get_check, get_statement

        st = get_statement(statement)
        out = []
        for lemma in st.checks:
            check = get_check(lemma)
            if st.judge_for(lemma, self.config.name, check.presets) is None:
                continue
            r = self.result(lemma)
            if r.error is not None:
                raise AssertionError(f"{st.label} [{st.id}] on {self.name}: check {lemma} "
                                     f"raised {r.error}")
            out += [v for v in r.statements if v.statement == st.id]
        return out


def _run(lemma: str, target: Target):
    from .registry import get_check, run_check
    from .report.user import judge_fixed, not_run, not_run_result

    check = get_check(lemma)
    why = not_run(check, target.config, seed=OPTIONS["seed"], quick=OPTIONS["quick"],
                  fixed=target.fixed)
    if why:
        return not_run_result(check, target.config, why, seed=OPTIONS["seed"],
                              quick=OPTIONS["quick"])
    result = run_check(lemma, target.config, seed=OPTIONS["seed"], quick=OPTIONS["quick"],
                       catch=True, draws=1 if target.fixed else OPTIONS["draws"])
    return judge_fixed(result, check) if target.fixed else result


def _num(x: Any) -> str:
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError):
        return str(x)


@dataclass(frozen=True)
class StatementCheck:
    """The ``verify_statement`` parameter: ``verify_statement(verify_network)`` judges
    the statement on the network and fails (AssertionError) with its quote and failing
    criteria, or skips when it does not apply."""

    id: str
    label: str
    quote: str
    not_judged: str = ""

    def __call__(self, net: NetworkUnderTest) -> None:
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        if self.not_judged:
            pytest.skip(f"{self.id}: not judged: {self.not_judged}")
        verdicts = net.verdicts(self.id)
        if not verdicts:
            pytest.skip(f"{self.id}: no check judges it on {net.name}")
        if all(v.verdict == "not applicable" for v in verdicts):
            pytest.skip(f"{self.id} on {net.name}: " + " | ".join(v.why for v in verdicts))
        bad = [v for v in verdicts if not v.accepted]
        if bad:
            raise AssertionError(failure_message(self, net.name, bad))

    def __repr__(self) -> str:
        return self.id


def failure_message(st: StatementCheck, name: str, verdicts: Sequence) -> str:
    """The message of a failed statement: its label and quote, then per verdict the
    verdict against the expectation, the draws, and every failing criterion with its
    statistic, sense, bound and margin."""
    lines = [f"{st.label} [{st.id}] on {name}: \"{st.quote}\""]
    for v in verdicts:
        lines.append(f"  {v.check}: {v.verdict}, expected {v.expected} ({v.status})")
        d = v.draws
        if d.get("draws_tested"):
            lines.append(f"    {d['draws_failed']}/{d['draws_tested']} network draws fail, "
                         f"95% CI [{_num(d['failure_ci_low'])}, {_num(d['failure_ci_high'])}] "
                         f"vs tolerance {_num(d['tolerance'])}")
        if v.why:
            lines.append(f"    why: {' '.join(v.why.split())}")
        for c in v.failing():
            lines.append(f"    {c.verdict}: {c.name}: statistic {_num(c.statistic)} {c.sense} "
                         f"bound {_num(c.bound)}, margin {_num(c.margin)}")
    return "\n".join(lines)


def parametrize_with_statements(networks: Iterable[Any],
                                statements: Sequence[str] | None = None):
    """``pytest.mark.parametrize`` of ``(verify_network, verify_statement)``: one test
    per network and statement (module docstring). ``statements``: statement ids
    (default: every registered statement, in the proof's order)."""
    from .registry import statements as registered

    targets = [as_target(obj, i) for i, obj in enumerate(networks)]
    table = registered()
    ids = list(table) if statements is None else list(statements)
    unknown = [s for s in ids if s not in table]
    if unknown:
        raise ValueError(f"verify.testing: unknown statement {unknown[0]!r}; one of "
                         + ", ".join(table))
    params = []
    for t in targets:
        for sid in ids:
            st = table[sid]
            check = StatementCheck(st.id, st.label, st.quote,
                                   "" if st.judges else (st.not_judged or "no check"))
            params.append(pytest.param(t, check, id=f"{t.name}-{st.id}"))
    return pytest.mark.parametrize(("verify_network", "verify_statement"), params,
                                   indirect=["verify_network"])


@pytest.fixture
def verify_network(request) -> NetworkUnderTest:
    """The network under test: parametrize it indirectly (``parametrize_with_statements``,
    or ``@pytest.mark.parametrize("verify_network", [...], indirect=True)``)."""
    if not hasattr(request, "param"):
        raise pytest.UsageError(
            "verify_network: parametrize it, e.g. @parametrize_with_statements([...]) or "
            "@pytest.mark.parametrize('verify_network', [config_or_network], indirect=True)")
    return NetworkUnderTest(as_target(request.param))


__all__ = ["parametrize_with_statements", "verify_network", "NetworkUnderTest",
           "StatementCheck", "Target", "as_target", "failure_message", "OPTIONS"]
