"""The registry object: proof order, lookup, reruns, and tests' own registries."""

from __future__ import annotations

import pytest

from verify import registry
from verify.errors import VerifyError
from verify.registry import Registry
from verify.results import Criterion, Outcome
from verify.rng import Streams


def _check(instance, *, rng, quick):
    x = float(rng.normal())
    return Outcome(Criterion("draw", x, float("inf"), "<="), n_samples=1, details={"x": x})


def _reg(reg, lemma, module, **kw):
    return reg.register(lemma, statement=lemma, reference="T", presets={"theory-2layer": "pass"},
                        check=_check, module=module, **kw)


def test_order_is_the_proofs_then_registration_order():
    reg = Registry(proof=("first", "second"))
    _reg(reg, "own-b", "mine.b")
    _reg(reg, "later", "pkg.second", cost=3.5)
    _reg(reg, "own-a", "mine.a")
    _reg(reg, "early", "pkg.first")
    assert [c.id for c in reg] == ["early", "later", "own-b", "own-a"]
    assert reg.get("later").cost == 3.5 and reg.get("later").module == "pkg.second"
    assert "early" in reg and "nope" not in reg and len(reg) == 4
    with pytest.raises(VerifyError, match="one of early"):
        reg.get("nope")


def test_the_default_lemmas_follow_PROOF():
    import lemmas

    order = [c.module.rpartition(".")[2] for c in registry.discover().values()
             if c.module.startswith("lemmas.")]
    assert order == [m for m in lemmas.PROOF if m in order]


def test_use_swaps_the_registry_of_the_module_functions():
    mine = Registry()
    _reg(mine, "only-here", "tests")
    with registry.use(mine):
        assert list(registry.discover()) == ["only-here"]
        assert registry.run_check("only-here", seed=3, draws=1).passed
    assert "only-here" not in registry.discover()


def test_reruns_are_declared_and_run_on_child_streams():
    reg = Registry()
    _reg(reg, "inner", "tests")

    def outer(instance, *, rng, quick, reruns):
        with pytest.raises(VerifyError, match="declared"):
            reruns("outer", instance.config)
        res = reruns("inner", instance.config)
        return Outcome(Criterion("x", res.details["x"], float("inf"), "<="), n_samples=1,
                       details={"seed": res.seed})

    reg.register("outer", statement="o", reference="T", presets={"theory-2layer": "pass"},
                 check=outer, reruns=("inner",))
    r = reg.run_check("outer", seed=5, draws=1)
    assert r.details["seed"] == "5/3.0"
    direct = reg.run_check("inner", seed=Streams(5).task(0), draws=1)
    assert r.statistic == direct.statistic  # replayable: verify check inner --seed 5/3.0
