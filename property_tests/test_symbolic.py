"""The symbolic identities: golden values, the certifier's ability to fail, and the check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from verify import formulas as F
from lemmas import symbolic as S
from verify.registry import run_check

t = sp.Symbol("t", real=True)


def test_golden_values():
    assert S.rho_exact(1) == 0
    assert sp.simplify(S.rho_exact(2) - 1 / sp.pi) == 0           # rho_2 = 1/pi
    assert abs(float(S.rho_exact(4)) - F.rho(4)) <= S.FLOAT_TOL
    assert round(float(S.rho_exact(3)), 4) == 0.4937
    derived, Q, _ = S.derive_Q()
    assert derived.subs(S._t, 0).applyfunc(sp.simplify) == sp.eye(2) / 2   # Q_{u,u} = I/2
    assert S.G_EXPR.subs(S._t, 0) == 0                               # g(0) = 0
    assert sp.simplify(S.G_EXPR.subs(S._t, sp.pi) - sp.pi / 2) == 0  # g(pi) = pi/2
    u = np.array([1.0, -2.0, 0.5])
    assert np.array_equal(F.Q(u, u), F.Q(u, u).T)
    assert np.allclose(F.Q(u, u), np.eye(3) / 2, atol=S.FLOAT_TOL, rtol=0)


def test_certifier_rejects_false_inequalities():
    ok, _, _ = S.certify_nonnegative(sp.sin(t) - sp.Rational(1, 2), t, 0, sp.pi)
    assert not ok
    # g(t) <= t/(1 + t/(2 pi)) is false near 0 (g ~ t - t^2/(3 pi)): cos form must fail
    false_bound = t / (1 + t / (2 * sp.pi))
    ok, _, _ = S.certify_nonnegative(S.C_EXPR - sp.cos(false_bound), t, 0, sp.pi, taylor_lo=True)
    assert not ok
    ok, how, cells = S.certify_nonnegative(2 - sp.cos(t), t, 0, sp.pi)
    assert ok and cells >= 1 and "interval" in how


def test_check_all_identities_hold_and_deterministic():
    r0 = run_check("symbolic", "theory-2layer", seed=0, draws=1)
    assert r0.passed and r0.statistic == 0 and r0.n_samples == len(r0.table) >= 19
    assert r0.table["holds"].all()
    assert set(r0.table["method"].str.contains("certified")) == {True, False}
    S.derive_all.cache_clear()  # recompute from scratch: same table
    r1 = run_check("symbolic", "theory-2layer", seed=1, draws=1)
    assert r1.table.equals(r0.table)


def test_iterate_bounds_golden():
    th = F.angle_map_iterates(math.pi, 12)
    i = np.arange(12)
    assert np.all(th >= np.pi / (i + 1) - 1e-12) and np.all(th <= 3 * np.pi / (i + 3) + 1e-12)


# ------------------------------------------------------------------- power
@pytest.mark.parametrize("name", ["Q", "angle_map", "rho"])
def test_a_formula_off_by_one_percent_makes_symbolic_fail(monkeypatch, name):
    """The check's power: Q, g or rho of verify.formulas (the code every other check
    uses) off by 1% makes `symbolic` fail, and the row that catches it names it."""
    original = getattr(F, name)
    monkeypatch.setattr(F, name, lambda *a, **k: 1.01 * np.asarray(original(*a, **k)))
    r = run_check("symbolic", "theory-2layer", seed=0, quick=True, draws=1)
    assert r.verdict == "fails", r.summary()
    failed = set(r.table.loc[~r.table["holds"], "identity"])
    assert {"Q": {"Q_code"}, "angle_map": {"g_code"}, "rho": {"rho_2_code"}}[name] <= failed
    assert all(i.endswith("_code") for i in failed)  # the derivations do not use the code
