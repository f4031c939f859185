"""The certified WDC supremum for k = 2 and 3: a bracket
[lower, upper] of width at most the tolerance, which every sampled pair respects (the
check's own sampler included) and whose lower end is a value actually taken; golden
values where the supremum is known in closed form; the Lipschitz constant of Q."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lemmas.concentration import BUDGETS
from verify.errors import VerifyError
from verify.gram import row_outer_products
from verify.geometry.wdc import Q_batch, eps_hat, exact_layer_sup, wdc_ceiling
from verify.geometry.wdc_exact import Q_unit, exact_sup, lipschitz, unit_deviation

pytestmark = pytest.mark.numerics

#: Two evaluations of the closed form of Q (a few dozen flops each).
CLOSED_FORM_TOL = 64 * np.finfo(float).eps


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _dev(B, U, V):
    R = row_outer_products(B)
    return unit_deviation(B, R[0], R[1], _unit(U), _unit(V))


def _block(m, k, seed):
    return np.random.default_rng(seed).normal(0, 1 / math.sqrt(m), size=(m, k))


# ------------------------------------------------------------------ Q and its constant
@pytest.mark.parametrize("k", [2, 3])
def test_Q_unit_agrees_with_the_checks_Q_batch(k):
    rng = np.random.default_rng(k)
    U, V = _unit(rng.normal(size=(200, k))), _unit(rng.normal(size=(200, k)))
    V[:3] = U[:3]
    V[3:6] = -U[3:6]
    assert np.abs(Q_unit(U, V) - Q_batch(U, V)).max() <= CLOSED_FORM_TOL


@pytest.mark.parametrize("k", [2, 3])
def test_Q_is_lipschitz_with_the_stated_constant(k):
    """||Q(u', v) - Q(u, v)|| <= L angle(u, u') on random pairs, near-parallel and
    near-antiparallel ones (theta = 0 and pi, where the plane of (u, v) is undefined);
    for k = 2 the constant 1/pi is attained (it is not loose)."""
    rng = np.random.default_rng(10 + k)
    n = 3000
    V = _unit(rng.normal(size=(n, k)))
    U = _unit(rng.normal(size=(n, k)))
    U[:500] = _unit(V[:500] + 1e-3 * rng.normal(size=(500, k)))
    U[500:1000] = _unit(-V[500:1000] + 1e-3 * rng.normal(size=(500, k)))
    step = rng.uniform(1e-6, 0.3, size=n)
    U2 = _unit(U + step[:, None] * rng.normal(size=(n, k)))
    ang = 2 * np.arcsin(np.minimum(1, np.linalg.norm(U2 - U, axis=1) / 2))
    diff = np.linalg.norm(Q_unit(U2, V) - Q_unit(U, V), ord=2, axis=(1, 2))
    ratio = diff / ang
    assert ratio.max() <= lipschitz(k) * (1 + 1e-9)
    if k == 2:
        assert ratio.max() >= 0.95 * lipschitz(2)


# ------------------------------------------------------------------ golden values
@pytest.mark.parametrize("k", [2, 3])
def test_golden_values(k):
    """B = 0: sup ||Q|| = 1/2 (at u = v). One row b of norm 2: the sup is
    ||b b^T|| = 4, approached (not attained) as u, v both active tend to theta = pi,
    where Q -> 0: the bracket must reach a supremum that no single pair attains. Both
    suprema are taken on a whole curve (a plateau), the branch and bound's worst case:
    for k = 3 a small budget gives a partial bracket, which must still contain them."""
    b = np.zeros((1, k))
    b[0, 0] = 2.0
    kw = {"tol": 1e-2} if k == 2 else {"max_work": 2e7, "on_budget": "partial"}
    for B, value in ((np.zeros((3, k)), 0.5), (b, 4.0)):
        sup = exact_sup(B, **kw)
        assert sup.lower <= value <= sup.upper
        assert sup.complete == (k == 2)
        assert sup.upper <= wdc_ceiling(B)[1] + sup.width  # the trivial ceiling


# --------------------------------------------------- the bracket against samples
@pytest.mark.parametrize("m, k, seed", [(8, 2, 0), (8, 2, 28075), (40, 2, 1), (200, 2, 2),
                                        (6, 3, 0), (12, 3, 1),
                                        pytest.param(20, 3, 2, marks=pytest.mark.slow)])
def test_the_exact_supremum_is_at_least_every_sampled_deviation(m, k, seed):
    """Random pairs, the concentration check's own sampler (random, structured,
    adversarial and diagonal pairs) and the values at the reported point: none exceeds
    the certified upper end; the lower end is the value at ``at``; width <= tol."""
    B = _block(m, k, seed)
    tol = 1e-3
    sup = exact_sup(B, tol=tol)
    assert sup.complete and 0 <= sup.width <= tol
    u, v = (np.array(x)[None] for x in sup.at)
    assert abs(_dev(B, u, v)[0] - sup.lower) <= 1e-12
    rng = np.random.default_rng(seed + 1)
    devs = _dev(B, rng.normal(size=(20000, k)), rng.normal(size=(20000, k)))
    assert devs.max() <= sup.upper
    sampled, table, _ = eps_hat(B, np.random.default_rng(seed), BUDGETS[True])
    assert table["deviation"].max() == sampled <= sup.upper
    # the sampler gets close for k = 2 (within 10%); it is a lower estimate in any case
    if k == 2:
        assert sampled >= 0.9 * sup.lower


def test_a_wide_block_is_closer_to_Q_than_a_narrow_one():
    narrow = exact_sup(_block(8, 2, 3))
    wide = exact_sup(_block(800, 2, 4), tol=1e-2)
    assert wide.upper < narrow.lower


# ------------------------------------------------------------------ budget, bad input
def test_the_budget_refuses_with_the_bracket_or_returns_it_partial():
    B = _block(12, 3, 5)
    with pytest.raises(VerifyError, match="over the budget") as err:
        exact_sup(B, max_work=2e5)
    assert "bracket reached" in str(err.value) and "units of work" in str(err.value)
    part = exact_sup(B, max_work=2e5, on_budget="partial")
    full = exact_sup(B)
    assert not part.complete and part.width > part.tol
    assert part.lower <= full.upper and full.lower <= part.upper  # both certificates
    assert part.work <= 2e5
    nothing = exact_sup(B, max_work=10.0, on_budget="partial")  # not even the first level
    assert nothing.lower == -np.inf and nothing.upper == np.inf and not nothing.complete


@pytest.mark.parametrize("shape", [(10, 1), (10, 4), (10,)])
def test_other_shapes_are_refused_with_the_reason(shape):
    with pytest.raises(VerifyError, match="k = 2 or 3"):
        exact_sup(np.ones(shape))


@pytest.mark.parametrize("kw", [{"tol": 0.0}, {"tol": float("nan")}, {"on_budget": "x"}])
def test_bad_arguments_are_refused(kw):
    with pytest.raises(VerifyError):
        exact_sup(np.ones((4, 2)), **kw)


# ------------------------------------------------------- in the concentration check
def test_the_concentration_result_carries_the_exact_supremum_on_a_k2_block():
    """The finding's 2 -> 8 block (k = 2, m = 8): the layer's statistic is the certified
    upper end (method: exact), the sampled eps_hat lies below it (self-check criterion),
    and the table exact_wdc has both; a k = 4 layer says why it is sampled."""
    from verify.presets import Config
    from verify.registry import run_check
    from verify.spec import block_spec
    from verify.weights import WeightLaw

    cfg = Config("k2", block_spec(1, (2, 8), (1,)), WeightLaw("gaussian"))
    res = run_check("concentration", cfg, seed=28075, quick=True, draws=1)
    layer = res.details["layers"][0]
    ex = layer["exact"]
    assert layer["method"] == "exact" and ex["applies"] and ex["complete"]
    assert 0 <= ex["upper"] - ex["lower"] <= ex["tol"] == 1e-3
    assert layer["eps_hat"] <= ex["upper"] and ex["seconds"] > 0
    crit = {c.name: c for c in res.criteria}
    assert crit["layer1_eps_hat"].statistic == ex["upper"] > crit["layer1_eps_hat"].bound
    assert crit["layer1_sampled_le_exact"].holds
    row = res.tables["exact_wdc"].iloc[0]
    assert row["method"] == "exact" and row["exact_upper"] == ex["upper"]
    assert row["sampled_eps_hat"] == layer["eps_hat"]

    wide = run_check("concentration", Config("k4", block_spec(1, (4, 16), (4,)),
                                            WeightLaw("gaussian")), seed=0, quick=True, draws=1)
    layer = wide.details["layers"][0]
    assert layer["method"] == "sampled" and not layer["exact"]["applies"]
    assert "k = 4" in layer["exact"]["reason"]
    assert not any(c.name.endswith("sampled_le_exact") for c in wide.criteria)


def test_the_exact_step_self_check_can_fail_and_a_straddling_bracket_defers():

    B = _block(8, 2, 0)
    sup = exact_sup(B, tol=BUDGETS[True]["exact_tol"])
    (check,), info, row = exact_layer_sup(B, 0, sup.upper + 0.1, 10.0, BUDGETS[True])
    assert check.verdict == "fails" and info["decides"]      # a sampler above the sup
    mid = 0.5 * (sup.lower + sup.upper)
    (check,), info, row = exact_layer_sup(B, 0, sup.lower, mid, BUDGETS[True])
    assert check.holds and not info["decides"] and "straddles" in info["reason"]
