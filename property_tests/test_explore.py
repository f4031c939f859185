"""`verify explore`: the counterexample search finds known thresholds on constructed
checks (``_fake_lemmas``), deterministically, and prints a config `verify check` accepts."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import _fake_lemmas  # noqa: F401 - registers the fake checks
from _fake_lemmas import THRESHOLD
from verify.cli import main
from verify.explore import explore, search_space
from verify.presets import Config
from verify.registry import get_check, run_check
from verify.spec import NetworkSpec


def _bump(config: Config, i: int) -> Config:
    layers = list(config.spec.layers)
    layers[i] = replace(layers[i], channels=layers[i].channels + 1)
    return config.with_spec(NetworkSpec(config.spec.dims, config.spec.latent_channels,
                                        tuple(layers), config.spec.latent_size))


@pytest.mark.parametrize("seed", [0, 7])
def test_explore_finds_the_expansion_threshold(seed):
    res = explore("fake-expansion", max_examples=25, seed=seed)
    assert res.found and res.check is not None and not res.check.passed
    c = res.counterexample
    exps = c.spec.expansions()
    worst = min(range(len(exps)), key=lambda i: exps[i])
    assert exps[worst] < THRESHOLD
    # just below the threshold: one more channel in that layer crosses it and passes
    bumped = _bump(c, worst)
    assert bumped.spec.expansions()[worst] >= THRESHOLD
    assert run_check("fake-expansion", bumped, seed=seed, quick=True, draws=1).passed
    # Hypothesis' minimal failure is small: one 1-D layer
    assert res.minimal.spec.depth == 1 and res.minimal.spec.dims == 1
    assert res.examples_tried <= 25 * 5 + 50


def test_explore_is_deterministic_for_a_seed():
    a = explore("fake-expansion", max_examples=15, seed=3)
    b = explore("fake-expansion", max_examples=15, seed=3)
    assert a.toml() == b.toml() and a.examples_tried == b.examples_tried


def test_explore_respects_requires():
    res = explore("fake-block", max_examples=40, seed=0)
    assert res.found
    assert res.counterexample.spec.is_block
    assert res.counterexample.spec.output_dim > 16
    assert get_check("fake-block").requires(res.counterexample) is None


def test_search_space_only_yields_applicable_configs():
    from hypothesis import given, settings

    check = get_check("fake-block")

    @settings(max_examples=10, database=None)
    @given(search_space(check))
    def inner(config):
        assert config.spec.is_block and config.weights.zero_mean

    inner()


def test_cli_prints_toml_that_check_accepts(tmp_path, capsys):
    code = main(["explore", "fake-expansion", "--max-examples", "10", "--seed", "2", "--json",
                 "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {"lemma", "found", "counterexample", "toml", "check", "examples_tried", "seed"} <= set(out)
    assert out["found"] is True and out["seed"] == 2 and out["check"]["passed"] is False
    path = tmp_path / "cx.toml"
    path.write_text(out["toml"])
    code = main(["check", "fake-expansion", "--config", str(path), "--seed", "2", "--quick",
                 "--json"])
    again = json.loads(capsys.readouterr().out)
    assert code == 1 and again["passed"] is False
    assert again["statistic"] == out["check"]["statistic"]
    assert again["details"] == out["check"]["details"]


def test_cli_text_and_progress(capsys):
    code = main(["explore", "fake-expansion", "--max-examples", "5"])
    cap = capsys.readouterr()
    assert code == 1
    assert "[network]" in cap.out and "verify check fake-expansion --config" in cap.out
    assert "explore [1]" in cap.err  # progress on stderr


def test_cli_none_found_exits_zero(capsys):
    code = main(["explore", "fake-always", "--max-examples", "5"])
    cap = capsys.readouterr()
    assert code == 0 and "no counterexample" in cap.out


def test_cli_unknown_lemma_exits_two(capsys):
    assert main(["explore", "no-such-lemma", "--quiet"]) == 2
    assert "lemma" in capsys.readouterr().err


def test_bad_max_examples_refused():
    from verify.errors import VerifyError

    with pytest.raises(VerifyError, match="max_examples"):
        explore("fake-expansion", max_examples=0)


def test_documented_user_test_file_runs():
    """The six-line example of the module docstring (README) works as written (with
    the fake check in place of concentration, to stay fast)."""
    import textwrap

    import verify.explore as mod
    from hypothesis import settings

    doc = mod.__doc__
    block = doc[doc.index("    from hypothesis import given"):doc.index("Run it with")]
    code = textwrap.dedent(block).strip()
    assert len(code.splitlines()) == 6
    ns: dict = {}
    exec(code.replace('"concentration"', '"fake-expansion"'), ns)
    test = ns["test_concentration_on_my_family"]
    settings(max_examples=5, database=None)(test)()


def test_min_expansion_restricts_the_generic_space(capsys):
    # every layer expanding >= 4 > THRESHOLD: no counterexample to the fake check
    code = main(["explore", "fake-expansion", "--max-examples", "8", "--min-expansion", "4",
                 "--quiet"])
    assert code == 0 and "no counterexample" in capsys.readouterr().out


def test_lemma_space_needs_a_strategy(capsys):
    assert main(["explore", "fake-expansion", "--space", "lemma", "--quiet"]) == 2
    assert "space" in capsys.readouterr().err


# ------------------------------------------------- counterexamples inside the hypotheses
@pytest.fixture
def hyp_registry():
    """A registry with ``fake-hyp``: fails when some layer expands less than 3-fold, and
    declares 1-D networks outside its hypotheses (the statement is about 2-D ones)."""
    from hypothesis import strategies as st

    from verify import registry
    from verify.results import Criterion, Outcome
    from verify.strategies import conv_architectures

    def run(instance, *, rng, quick):
        e = min(instance.network.spec.expansions())
        return Outcome(Criterion("min expansion", e, THRESHOLD, ">="), n_samples=1)

    def hypotheses(config):
        return "a 1-D network (the statement is about 2-D ones)" \
            if config.spec.dims == 1 else None

    def one_d():  # a space of configurations outside the hypotheses only
        return st.builds(lambda s: Config("one-d", s),
                         conv_architectures(dims=(1,), max_layers=1, max_channels=4))

    with registry.use(registry.Registry()) as reg:
        reg.register("fake-hyp", statement="a fake statement about 2-D networks",
                     reference="test fixture", presets={"theory-2layer": "pass"}, check=run,
                     hypotheses=hypotheses, configs=one_d)
        yield reg


def test_explore_reports_only_counterexamples_inside_the_hypotheses(hyp_registry):
    res = explore("fake-hyp", max_examples=25, seed=0)
    assert res.found and res.status == "counterexample"
    assert res.counterexample.spec.dims == 2  # 1-D failures are not counterexamples
    assert res.check.verdict == "fails"
    assert res.to_json()["failing_criteria"][0].startswith("min expansion: ")


def test_a_failure_outside_the_hypotheses_is_labelled_and_does_not_fail(hyp_registry,
                                                                         capsys):
    res = explore("fake-hyp", max_examples=10, seed=0, space="lemma")
    assert not res.found and res.counterexample is None
    assert res.status == "outside hypotheses only"
    assert res.outside.spec.dims == 1 and "1-D network" in res.outside_reason
    assert res.outside_check.verdict == "fails"
    assert "OUTSIDE its hypotheses" in res.outside.description
    code = main(["explore", "fake-hyp", "--space", "lemma", "--max-examples", "10",
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("explore fake-hyp: no counterexample in ")
    assert "# outside the hypotheses (not a counterexample" in out and "1-D network" in out
    assert "#   fails: min expansion: " in out
    code = main(["explore", "fake-hyp", "--space", "lemma", "--max-examples", "10",
                 "--quiet", "--json"])
    js = json.loads(capsys.readouterr().out)
    assert code == 0 and js["found"] is False and js["status"] == "outside hypotheses only"
    assert js["outside_hypotheses"]["counterexample"] is False


def test_concentration_hypotheses_exclude_the_old_false_find():
    """`verify explore concentration` used to report a 1 -> 1 network with Rademacher
    weights (the failing criterion was the Monte Carlo mean, which is a Gaussian
    identity); and, Gaussian, 2 -> 1 (one row for two columns). Both lie outside Lemma
    Sup.2's hypotheses; the theory presets lie inside, and the generic space yields only
    configurations inside."""
    from hypothesis import given, settings

    from verify.presets import get_preset
    from verify.spec import LayerSpec
    from verify.weights import WeightLaw

    check = get_check("concentration")
    one = NetworkSpec(1, 1, (LayerSpec(1, 1, 1),))
    assert "rademacher" in check.outside_hypotheses(Config("x", one, WeightLaw("rademacher")))
    thin = NetworkSpec(1, 2, (LayerSpec(1, 1, 1),))
    assert "not expansive" in check.outside_hypotheses(Config("x", thin))
    for preset in ("theory-2layer", "theory-2layer-2d"):
        assert check.outside_hypotheses(get_preset(preset)) == ""

    @settings(max_examples=10, database=None, derandomize=True)
    @given(search_space(check))
    def inner(config):
        assert check.outside_hypotheses(config) == ""

    inner()


@pytest.fixture
def statement_registry():
    """``fake-st``: the check fails when a layer expands less than 3-fold and declares no
    hypotheses of its own; the one statement it judges does not apply to 1-D networks."""
    from hypothesis import strategies as st

    from verify import registry
    from verify.results import Criterion, Outcome
    from verify.statements import Judge
    from verify.strategies import conv_architectures

    def run(instance, *, rng, quick):
        e = min(instance.network.spec.expansions())
        return Outcome(Criterion("min expansion", e, THRESHOLD, ">="), n_samples=1)

    def applies(config):
        return "a 1-D network (the statement is about 2-D ones)" \
            if config.spec.dims == 1 else None

    def one_d():
        return st.builds(lambda s: Config("one-d", s),
                         conv_architectures(dims=(1,), max_layers=1, max_channels=4))

    with registry.use(registry.Registry()) as reg:
        reg.register("fake-st", statement="a fake check", reference="test fixture",
                     presets={"theory-2layer": "pass"}, check=run, configs=one_d)
        reg.register_statement("fake-2d", label="Fake", section="test",
                               quote="every 2-D network expands", module=__name__,
                               judges=Judge("fake-st", ("min expansion",), applies=applies))
        yield reg


def test_a_failure_no_statement_applies_to_is_not_a_counterexample(statement_registry):
    res = explore("fake-st", max_examples=10, seed=0, space="lemma")
    assert not res.found and res.status == "outside hypotheses only"
    assert "fake-2d: " in res.outside_reason and "1-D network" in res.outside_reason
    res = explore("fake-st", max_examples=25, seed=0)  # 2-D failures still count
    assert res.found and res.status == "counterexample" and res.counterexample.spec.dims == 2
