"""Networks outside the hypotheses: no crash, and never a silent "holds".

Hypothesis generates small networks that violate the statements' hypotheses -- output
dimension below the latent dimension, a hidden layer narrower than the latent (a
one-channel bottleneck), outputs that vanish on half the latent space (dead outputs) --
and dense Gaussian measurements given to the statements about subsampling. Every
registered check runs on them (``draws=1``, ``quick=True``): it may refuse the
configuration (VerifyError, the CLI's exit 2, with the reason), but it never crashes
(an error row), and a statement whose hypotheses the network violates never says
"holds": it says "fails" where detecting the violation is its job, "uninformative"
where a part of it was not evaluated, or "not applicable".

Then one test per hostile-input item of the engine: the verdict rules (declared
criteria, "not applicable"), the exact certificates (descent's zero-measurement
targets, injectivity's dimension count), permutation on a dense measurement, the
expansion grid's template on ties, the known-bad registration under a tiny
``--max-memory``, a negative seed stream and the angle check's silence on stderr.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import check_param
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify import VerifyError, budget
from verify.cli import main
from verify.measurements import MaskSpec
from verify.presets import Config
from verify.registry import Registry, discover, run_check, use
from verify.results import Criterion, Outcome
from verify.spec import LayerSpec, NetworkSpec
from verify.weights import WeightLaw

#: Statements whose hypotheses do not involve the network's widths, so "holds" on these
#: networks is right: permutation's identity is structural (any stride = kernel
#: network has it; the dense measurement is tested apart), symbolic's closed forms do
#: not depend on the network, trained-weights tests the weights' law (Gaussian draws
#: are Gaussian).
WIDTH_FREE = {"permutation": "structural identity, any stride = kernel network",
              "symbolic": "closed forms, no network",
              "trained-weights": "a statement about the weights' law"}
#: The statements about a subsampling measurement (given a dense one they must not hold).
SUBSAMPLING = ("permutation", "partial", "trained-recovery")
#: Costly checks (several seconds a run): fewer examples.
COSTLY = {"subgaussian": 2, "partial": 3, "expansion": 3, "trained-recovery": 3}

HOSTILE = settings(max_examples=8, derandomize=True, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.function_scoped_fixture])


def _layer(c: int, k: int) -> LayerSpec:
    return LayerSpec(c, k, k)


@st.composite
def hostile_configs(draw):
    """A small 1-D ReLU network outside the hypotheses, Gaussian weights, a full or
    random mask; ``details`` in the name: which hypothesis it breaks."""
    kind = draw(st.sampled_from(("output below latent", "bottleneck", "dead outputs")))
    if kind == "output below latent":  # G: R^k -> R^1, k >= 2, kernel 1
        k = draw(st.integers(2, 4))
        hidden = draw(st.lists(st.integers(2, 8), min_size=1, max_size=2))
        spec = NetworkSpec(1, k, tuple(_layer(c, 1) for c in hidden) + (_layer(1, 1),))
    elif kind == "bottleneck":  # a hidden layer of width l < k (one channel)
        k = draw(st.integers(3, 4))
        l_ = draw(st.integers(1, 2))
        spec = NetworkSpec(1, k, (_layer(1, l_), _layer(draw(st.integers(8, 16)),
                                                        draw(st.integers(2, 4)))))
    else:  # one hidden unit: G = 0 on a half-space of the latent
        spec = NetworkSpec(1, 2, (_layer(1, 1), _layer(draw(st.integers(4, 16)),
                                                       draw(st.integers(2, 4)))))
    mask = draw(st.sampled_from((MaskSpec("full", 1.0), MaskSpec("random", 0.5))))
    return Config(f"hostile ({kind})", spec, WeightLaw("gaussian"), mask)


@st.composite
def dense_configs(draw):
    """An expansive stride = kernel network measured by a dense Gaussian A."""
    k = draw(st.integers(1, 3))
    c1 = draw(st.integers(4 * k, 8 * k))
    spec = NetworkSpec(1, k, (_layer(c1, 2), _layer(draw(st.integers(2 * c1, 4 * c1)), 2)))
    return Config("hostile (dense measurement)", spec, WeightLaw("gaussian"),
                  MaskSpec("gaussian", 0.5))


def _verdict(lemma: str, config: Config, seed: int) -> str:
    """The verdict, or "refused" (VerifyError: the check does not apply); an error row
    (a crash) fails the test."""
    try:
        r = run_check(lemma, config, seed=seed, quick=True, draws=1, catch=True)
    except VerifyError:
        return "refused"
    assert r.error is None, f"{lemma} crashed on {config.spec.describe()}: {r.error}"
    if r.verdict == "not applicable":
        assert r.not_applicable
    return r.verdict


#: The proof's checks (the ``lemmas`` package's), not the fixtures other test modules
#: register into the same registry.
LEMMAS = [c.id for c in discover().values() if c.module.startswith("lemmas.")]


#: In the slow tier: lighter checks whose hostile examples still take many seconds, and
#: symbolic (closed forms: a network cannot change its verdict; its first run in a process
#: pays for sympy, and test_symbolic.py tests it in the fast tier).
SLOW_HOSTILE = {"concentration", "angle", "symbolic"}


@pytest.mark.parametrize("lemma", [check_param(lemma, slow=lemma in SLOW_HOSTILE)
                                   for lemma in LEMMAS])
def test_outside_the_hypotheses_never_holds(lemma):
    @settings(HOSTILE, max_examples=COSTLY.get(lemma, HOSTILE.max_examples))
    @given(config=hostile_configs(), seed=st.integers(0, 3))
    def run(config, seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numerics on degenerate networks may warn
            v = _verdict(lemma, config, seed)
        if lemma not in WIDTH_FREE:
            assert v != "holds", (f"{lemma} holds on {config.name}: "
                                  f"{config.spec.describe()}, seed {seed}")
    run()


@pytest.mark.parametrize("lemma", SUBSAMPLING)
def test_a_dense_measurement_never_holds_for_subsampling_statements(lemma):
    @settings(HOSTILE, max_examples=COSTLY.get(lemma, 4))
    @given(config=dense_configs(), seed=st.integers(0, 3))
    def run(config, seed):
        assert _verdict(lemma, config, seed) != "holds"
    run()


# ------------------------------------------------------------- the verdict rules
def _registry(check, **kwargs) -> Registry:
    reg = Registry()
    reg.register("fake", statement="a fake statement (test)", reference="test",
                 presets={"theory-2layer": "pass"}, check=check, **kwargs)
    return reg


def _holding(name: str) -> Criterion:
    return Criterion(name, 0.0, 1.0, "<=")


def test_a_declared_criterion_not_evaluated_makes_it_uninformative():
    def check(instance, *, rng, quick):
        return Outcome(headline=_holding("a"))
    reg = _registry(check, criteria=("a", "b"))
    with use(reg):
        r = run_check("fake", "theory-2layer")
    assert r.verdict == "uninformative" and not r.passed
    missing = [c for c in r.criteria if c.name == "b"]
    assert missing and missing[0].verdict == "uninformative"
    assert "not evaluated" in r.why_uninformative
    # the same check without the declaration holds: the declaration is what decides
    with use(_registry(check)):
        assert run_check("fake", "theory-2layer").verdict == "holds"


def test_a_failing_criterion_still_fails_beside_one_not_evaluated():
    def check(instance, *, rng, quick):
        return Outcome(headline=Criterion("a", 2.0, 1.0, "<="))
    with use(_registry(check, criteria=("a", "b"))):
        assert run_check("fake", "theory-2layer").verdict == "fails"


def test_not_applicable_is_neither_a_pass_nor_a_mismatch(capsys):
    def check(instance, *, rng, quick):
        return Outcome(headline=_holding("a"), not_applicable="the network has no blocks")
    with use(_registry(check)):
        r = run_check("fake", "theory-2layer")
        assert r.verdict == "not applicable" and not r.passed
        assert r.status == "not applicable" and r.accepted
        js = r.to_json()
        assert js["verdict"] == "not applicable"
        assert js["not_applicable"] == "the network has no blocks"
        assert "NOT APPLICABLE: the network has no blocks" in r.summary()
        capsys.readouterr()
        assert main(["check", "fake"]) == 0  # exit 0, never a mismatch
        assert "NOT APPLICABLE" in capsys.readouterr().out


def test_registration_refuses_malformed_criteria():
    with pytest.raises(VerifyError, match="criteria"):
        _registry(lambda instance, *, rng, quick: None, criteria="ab")


# -------------------------------------------------------- the checks' certificates
G21 = Config("g21", NetworkSpec(1, 2, (_layer(8, 1), _layer(8, 1), _layer(1, 1))),
             WeightLaw("gaussian"), MaskSpec("random", 0.5))


def test_descent_judges_a_network_with_output_below_the_latent():
    """2 -> 8 -> 8 -> 1 (kernel 1): J has curves of global minima; the check fails, it
    does not crash for want of targets z* with A G(z*) != 0."""
    r = run_check("descent", G21, seed=0, quick=True, draws=1)
    assert r.error is None and r.verdict == "fails"


def test_descent_certifies_zero_measurement_targets():
    """One hidden unit: G = 0 on a half-plane (and everywhere when the last weight is
    negative). A target z* with A G(z*) = 0 certifies a global minimum at 2 z*."""
    dead = Config("dead", NetworkSpec(1, 2, (_layer(1, 1), _layer(1, 1))),
                  WeightLaw("gaussian"), MaskSpec("full", 1.0))
    seen = set()
    for seed in range(4):
        r = run_check("descent", dead, seed=seed, quick=True, draws=1)
        assert r.error is None and r.verdict == "fails"
        zero = [c for c in r.criteria if c.name == "targets_with_zero_measurement"]
        if zero:
            assert zero[0].verdict == "fails" and zero[0].note.startswith("method: exact")
        if r.details.get("method") == "exact" and "certificate" in r.details:
            cert = r.details["certificate"]
            assert np.allclose(cert["z"], 2 * np.asarray(cert["zstar"]))
            seen.add("certificate")
    assert seen, "no seed of the all-dead network reached the certificate path"


def test_injectivity_certifies_output_below_latent_exactly():
    r = run_check("injectivity", G21, seed=0, quick=True)
    assert r.verdict == "fails" and r.details["method"] == "exact"
    dim = next(c for c in r.criteria if c.name == "output_dim_at_least_latent_dim")
    assert dim.verdict == "fails" and (dim.statistic, dim.bound) == (1.0, 2.0)
    assert "invariance of domain" in dim.note


def test_permutation_on_a_dense_measurement_is_uninformative_with_the_reason():
    config = Config("dense", NetworkSpec(1, 2, (_layer(16, 2), _layer(32, 2))),
                    WeightLaw("gaussian"), MaskSpec("gaussian", 0.5))
    r = run_check("permutation", config, seed=0, quick=True)
    assert r.verdict == "uninformative"
    untested = {c.name for c in r.criteria if c.verdict == "uninformative"}
    assert {"kept_rows_total", "A_sigma_commutes_mismatches"} <= untested
    assert "not a subsampling" in r.why_uninformative
    # the same network under a subsampling mask holds: the measurement decided it
    assert run_check("permutation", config.with_mask("random", 0.5)).verdict == "holds"


def test_expansion_judges_the_template_when_steps_tie():
    """Equal smallest expansion factors on every step: the 'largest expansion' row (the
    one top_failure_rate judges) is the template, step 0, not the narrowest step."""
    from lemmas.expansion import rates

    rows = [{"step": step, "target": 1.0, "expansion": 2.0, "expansions": "2",
             "channels": f"2-4-{step}", "width": 10 + step, "draw": k, "failed": step > 0,
             "eps_hat": 0.1, "origin_max": True, "cpu_s": 0.0}
            for step in (6, 0, 3, 5) for k in range(3)]
    table = rates(pd.DataFrame(rows))
    assert table.iloc[-1]["step"] == 0 and table.iloc[-1]["failures"] == 0
    assert table.iloc[0]["step"] == 6


# ------------------------------------------------------------------ messages
def test_a_tiny_memory_budget_blames_the_users_network_not_a_registration(capsys):
    budget.set_budget(None)
    try:
        capsys.readouterr()
        assert main(["check", "permutation", "--max-memory", "1"]) == 2
    finally:
        budget.set_budget(None)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "known_bad" not in err
    assert "network.layers" in err and "over the budget of 1 B" in err


@pytest.mark.parametrize("seed", ["0/-3.17", "0/3.-1", "-1/3.2", "0/3.x"])
def test_a_seed_stream_with_a_negative_component_is_refused(capsys, seed):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["check", "permutation", "--seed", seed])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--seed" in err and len(err.splitlines()) == 1


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_the_angle_check_passes_without_warnings():
    r = run_check("angle", "theory-2layer", seed=0, quick=True, draws=1)
    assert r.verdict == "holds" and r.details["n_excluded_degenerate"] > 0
