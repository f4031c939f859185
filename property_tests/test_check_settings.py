"""Per-check settings in a config file ("Bad input"; verify/settings.py).

A ``[checks.LEMMA]`` table sets a check's declared parameters. Bad values (an
adversarial-mask budget of 0, a window radius <= 0, an unknown law name, an unknown key
or lemma) exit 2 with one line naming the full field path before anything runs; good
values reach the check and change what it does, and are listed in the result's config.
Every test here takes the cheapest path: the CLI's ``main`` in-process (validation
happens before any check starts), tiny networks, or the registry with a test check."""

from __future__ import annotations

import numpy as np
import pytest
import tomli_w

from verify import registry, settings
from verify.cli import main
from verify.errors import VerifyError
from verify.measurements import MaskSpec
from verify.presets import Config
from verify.results import Criterion, Outcome
from verify.spec import LayerSpec, NetworkSpec, block_spec
from verify.verdicts import DrawRule
from verify.weights import WeightLaw

NETWORK = {"dims": 1, "latent_channels": 2,
           "layers": [{"channels": 8, "kernel": 2, "stride": 2}]}


def _write(tmp_path, checks) -> str:
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps({"name": "c", "network": NETWORK, "checks": checks}))
    return str(path)


BAD = [
    ({"partial": {"adversarial_budget": 0}}, "checks.partial.adversarial_budget", ">= 1"),
    ({"partial": {"adversarial_budget": -3}}, "checks.partial.adversarial_budget", ">= 1"),
    ({"partial": {"adversarial_budget": 2.5}}, "checks.partial.adversarial_budget", "integer"),
    ({"partial": {"adversarial_budget": "40"}}, "checks.partial.adversarial_budget", "integer"),
    ({"partial": {"adversarial_budget": True}}, "checks.partial.adversarial_budget", "integer"),
    ({"partial": {"adversarial_rate": 0.0}}, "checks.partial.adversarial_rate", "> 0"),
    ({"partial": {"adversarial_rate": 1.5}}, "checks.partial.adversarial_rate", "<= 1"),
    ({"partial": {"adversarial_rate": float("nan")}}, "checks.partial.adversarial_rate",
     "finite"),
    ({"landscape": {"window_radii": [0.5, 0.0]}}, "checks.landscape.window_radii", "0.0 is not > 0"),
    ({"landscape": {"window_radii": [-1.0]}}, "checks.landscape.window_radii", "> 0"),
    ({"landscape": {"window_radii": []}}, "checks.landscape.window_radii", "non-empty"),
    ({"landscape": {"window_radii": 1.0}}, "checks.landscape.window_radii", "list"),
    ({"landscape": {"window_radii": [1.0, float("inf")]}}, "checks.landscape.window_radii",
     "finite"),
    ({"landscape": {"window_radii": [1.0, 1.0]}}, "checks.landscape.window_radii", "repeated"),
    ({"subgaussian": {"laws": ["gaussian", "cauchy"]}}, "checks.subgaussian.laws",
     "'cauchy' is not one of them"),
    ({"subgaussian": {"laws": ["uniform01"]}}, "checks.subgaussian.laws",
     "at least one other than uniform01"),
    ({"subgaussian": {"laws": "gaussian"}}, "checks.subgaussian.laws", "list"),
    ({"partial": {"adversarial_budgt": 3}}, "checks.partial.adversarial_budgt",
     "adversarial_budget"),
    ({"permutation": {"anything": 1}}, "checks.permutation.anything", "declares no settings"),
    ({"partail": {"adversarial_budget": 3}}, "checks.partail", "registered lemma"),
    ({"partial": 3}, "checks.partial", "table"),
]


@pytest.mark.parametrize("checks, field, fragment", BAD,
                         ids=[f"{f}-{i}" for i, (_, f, _) in enumerate(BAD)])
def test_bad_settings_exit_2_naming_the_field(tmp_path, capsys, checks, field, fragment):
    """``verify check partial --config FILE``: one line on stderr naming the file and
    the field path, nothing on stdout; a bad table of another lemma is refused too."""
    code = main(["check", "partial", "--config", _write(tmp_path, checks), "--quick"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "c.toml" in lines[0] and f"{field}:" in lines[0] and fragment in lines[0], err


def test_unknown_law_lists_the_allowed_ones(tmp_path, capsys):
    code = main(["check", "subgaussian", "--config",
                 _write(tmp_path, {"subgaussian": {"laws": ["laplace"]}})])
    err = capsys.readouterr().err
    assert code == 2
    for law in ("gaussian", "rademacher", "uniform", "triangular", "truncated_gaussian",
                "centred_exponential", "uniform01"):
        assert law in err


def test_config_files_without_checks_stay_valid_and_round_trip(tmp_path):
    base = Config("c", block_spec(1, (2, 8), (2,)))
    assert "checks" not in base.to_dict()  # the config JSON of before, unchanged
    cfg = base.with_checks({"landscape": {"window_radii": [0.5, 2.0]}})
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    back = Config.load(path)
    assert back.checks == {"landscape": {"window_radii": [0.5, 2.0]}}
    assert back == cfg and back != base


def test_resolve_fills_defaults_and_normalises():
    from lemmas import landscape, partial

    got = settings.resolve("partial", partial.SETTINGS, {"adversarial_budget": 7})
    assert got == {"adversarial_budget": 7, "adversarial_rate": partial.ADV_RATE}
    radii = settings.resolve("landscape", landscape.SETTINGS, {"window_radii": [2, 0.25]})
    assert radii["window_radii"] == (2.0, 0.25)
    with pytest.raises(VerifyError, match=r"checks\.landscape\.window_radii"):
        settings.resolve("landscape", landscape.SETTINGS, {"window_radii": [0]})


def test_a_bad_default_is_a_registration_error():
    reg = registry.Registry()
    with pytest.raises(VerifyError, match="default"):
        reg.register("fake", statement="s", reference="r", presets={}, check=lambda *a, **k: 0,
                     settings={"n": settings.integer(0, "rounds", minimum=1)})


def _echo(instance, *, rng, quick, settings):
    n = settings["rounds"]
    h = Criterion("rounds", float(n), 100.0, "<=", "echo")
    return Outcome(headline=h, criteria=(), n_samples=n, details={"rounds": n},
                   settings={"rounds_seen": n})


def test_registry_passes_settings_to_every_draw_and_lists_them():
    """The settings reach the check (and a DrawRule's per-draw check) as ``settings=``,
    defaults filled in, and the result's config lists them."""
    seen = []

    def draw(instance, *, rng, quick, settings):
        seen.append(settings["rounds"])
        return _echo(instance, rng=rng, quick=quick, settings=settings)

    reg = registry.Registry()
    reg.register("echo", statement="s", reference="r", presets={}, check=_echo,
                 draws=DrawRule(tolerance=0.5, reason="test", draws=6, check=draw),
                 settings={"rounds": settings.integer(5, "rounds", minimum=1)})
    cfg = Config("c", block_spec(1, (2, 4), (2,)))
    with registry.use(reg):
        plain = registry.run_check("echo", cfg, draws=1)
        set_ = registry.run_check("echo", cfg.with_checks({"echo": {"rounds": 9}}), draws=3)
        with pytest.raises(VerifyError, match=r"checks\.echo\.rounds"):
            registry.run_check("echo", cfg.with_checks({"echo": {"rounds": 0}}), draws=1)
    assert plain.statistic == 5 and plain.config["settings"] == {"rounds": 5}
    assert set_.details["draw0"]["criteria"][0]["statistic"] == 9
    assert set_.config["settings"] == {"rounds": 9} and seen == [9, 9]
    assert set_.draws == 3
    assert set_.config["checks"] == {"echo": {"rounds": 9}}


def test_window_radii_change_the_landscape_table():
    """landscape on a tiny sigmoid network (--quick, one draw, ~0.2 s): the radii given
    are the rows of quasiconvexity_by_window and the result's settings."""
    spec = NetworkSpec(dims=1, latent_channels=2, layers=(
        LayerSpec(channels=8, kernel=2, stride=2, activation="sigmoid"),
        LayerSpec(channels=4, kernel=2, stride=2, activation="sigmoid")))
    cfg = Config("tiny-sigmoid", spec, WeightLaw("gaussian"), MaskSpec("full", 1.0))
    default = registry.run_check("landscape", cfg, quick=True, draws=1)
    mine = registry.run_check("landscape", cfg.with_checks(
        {"landscape": {"window_radii": [0.3, 0.9, 4.0]}}), quick=True, draws=1)
    assert default.tables["quasiconvexity_by_window"]["radius_over_norm_z_star"].tolist() \
        == [0.5, 1.0, 1.5, 2.5]
    assert mine.tables["quasiconvexity_by_window"]["radius_over_norm_z_star"].tolist() \
        == [0.3, 0.9, 4.0]
    assert mine.config["settings"] == {"window_radii": [0.3, 0.9, 4.0]}
    # the judged criteria do not depend on the reported windows
    assert [c.statistic for c in mine.criteria] == [c.statistic for c in default.criteria]


def _law_echo(instance, *, rng, quick):
    """A stand-in for the rerun checks: holds for a zero-mean law, fails for U[0, 1]."""
    bad = float(instance.config.weights.name == "uniform01")
    return Outcome(headline=Criterion("echo", bad, 0.0, "<=", "law"), criteria=(),
                   n_samples=1)


def _subgaussian_gaussian_only(reruns):
    """subgaussian with laws = [gaussian] on a tiny network, in a test registry where
    the rerun checks are ``reruns`` (a stand-in check) or not registered (None)."""
    from lemmas import subgaussian as sg

    reg = registry.Registry()
    for name in sg.RERUNS if reruns is not None else ():
        reg.register(name, statement="s", reference="r", presets={}, check=reruns)
    reg.register("subgaussian", statement="s", reference="r", presets={}, check=sg.check,
                 reruns=sg.RERUNS, settings=sg.SETTINGS)
    cfg = Config("c", block_spec(1, (2, 8), (2,))).with_checks(
        {"subgaussian": {"laws": ["gaussian"]}})
    with registry.use(reg):
        return registry.run_check("subgaussian", cfg, quick=True, draws=1)


def test_laws_choose_what_subgaussian_runs():
    """subgaussian with laws = [gaussian]: its tail fit and rerun table hold that law and
    the control only (the reruns are cheap stand-ins in a test registry: ~1 s)."""
    res = _subgaussian_gaussian_only(reruns=_law_echo)
    assert set(res.tables["tails"]["law"]) == {"gaussian", "uniform01", "laplace (reference)"}
    assert set(res.table["law"]) == {"gaussian", "uniform01"} and len(res.table) == 6
    assert res.passed  # the stand-ins: gaussian holds, the control fails
    assert res.config["settings"] == {"laws": ["gaussian"]}


def test_partial_receives_its_settings(monkeypatch):
    """The registry hands partial its [checks.partial] values (intercepted where the
    check reads them, before any recovery runs) ..."""
    from lemmas import partial

    seen = {}

    class Stop(Exception):
        pass

    real = settings.values

    def spy(declared, given=None):
        if declared is partial.SETTINGS:
            seen.update(given)
            raise Stop
        return real(declared, given)

    monkeypatch.setattr(settings, "values", spy)
    cfg = Config("c", block_spec(1, (2, 8, 16), (2, 2)), mask=MaskSpec("random", 0.5))
    with pytest.raises(Stop):
        registry.run_check("partial", cfg.with_checks(
            {"partial": {"adversarial_budget": 3, "adversarial_rate": 0.9}}), quick=True,
            draws=1)
    assert seen == {"adversarial_budget": 3, "adversarial_rate": 0.9}


def test_adversarial_step_uses_the_rate_and_budget():
    """... and its adversarial step keeps ceil(rate n) entries with the given budget."""
    from verify.recovery_experiments import adversarial_step
    from verify.weights import draw_network

    spec = block_spec(1, (2, 8, 16), (2, 2))
    net = draw_network(spec, WeightLaw("gaussian"), rng=np.random.default_rng(3))
    z = np.random.default_rng(4).standard_normal((1, 2))
    _, summary = adversarial_step(spec, [net], z, rng=np.random.default_rng(5),
                                  quick=True, rate=0.9, budget=2)
    assert summary["budget"] == 2 and summary["rate"] == 0.9
    assert summary["kept"] == int(np.ceil(0.9 * spec.output_dim))
    assert len(summary["worst_mask"]["observed"]) == summary["kept"]


def test_help_and_list_show_the_settings(capsys):
    with pytest.raises(SystemExit):
        main(["check", "partial", "--help"])
    out = capsys.readouterr().out
    assert "[checks.partial]" in out and "adversarial_budget = 40" in out
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "window_radii = [0.5, 1, 1.5, 2.5]" in out and "[checks.subgaussian]" in out


def test_subgaussian_without_its_reruns_registered_fails_without_crashing():
    """No rerun check registered: the result says nothing ran (checks_run = 0 fails, the
    rerun table lists every cell as "not registered") instead of raising on the missing
    columns of a table where nothing ran."""
    res = _subgaussian_gaussian_only(reruns=None)
    assert res.error is None or res.error == "", res.error
    assert not res.passed
    assert set(res.table["status"]) == {"not registered"}
    assert {c.name: c.statistic for c in res.criteria}["checks_run"] == 0
