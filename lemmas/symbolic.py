"""Symbolic and certified identities behind Lemma Sup.2 and Lemma Sup.4 (sympy, mpmath.iv).

Established here, each with how:

* Q_{u,v} = E[1(g.u > 0) 1(g.v > 0) g g^T] (g ~ N(0, I)) as a 2-D Gaussian integral in
  polar coordinates over the wedge where both indicators hold (lemmas/README.md, section 4), and
  Q_{u,u} = I/2; hence E[B_{+,u}^T B_{+,v}] = Q_{u,v} for B with N(0, 1/m) entries.
* The arc-cosine kernel E[relu(g.u) relu(g.v)] = ||u|| ||v|| (sin t + (pi - t) cos t)/(2 pi)
  and its normalised form cos g(t), the link the angle check relies on.
* The angle map g (lemmas/README.md, section 3): g(0) = 0, g(pi) = pi/2, g' in [0, 1],
  0 <= g(t) <= t, g(t) <= (1/(3 pi) + 1/t)^-1, g(t) >= (1/pi + 1/t)^-1 >= t/2, and the
  H&V iterates g^i(pi) in [pi/(i+1), 3 pi/(i+3)] for every i (induction on the two bounds).
* rho_d for d = 1..4 in closed form (Theorem 1; H&V).
* The code the other checks use, ``verify.formulas`` Q, angle_map (g) and rho, against
  these closed forms, evaluated afresh on every run (the derivations are cached).

Inequalities that sympy cannot close are CERTIFIED: Taylor's theorem with a Lagrange
remainder bounded by interval arithmetic near the points where they are tight, and
``mpmath.iv`` interval arithmetic (second-order Taylor form, adaptive bisection) on the
rest of [0, pi], so they hold everywhere on the interval, not only at grid points.
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np
import pandas as pd
import sympy as sp
from mpmath import iv

from verify.registry import register
from verify.results import Criterion, Outcome

from verify import formulas as F

#: Float cross-checks of the closed forms against verify.formulas: a handful of
#: operations on numbers of size <= 1, each exact to 1/2 ulp, arccos conditioning
#: <= 1/sin(theta_i) ~ 1.1 for the angles involved: 64 eps is ample.
FLOAT_TOL = 64 * np.finfo(float).eps
#: Iterates g^i(pi) evaluated at this many decimal digits for the numeric confirmation.
ITERATE_DPS = 40
ITERATES = 40

_t = sp.Symbol("t", real=True)          # an angle in [0, pi]
_r, _phi = sp.symbols("r phi", real=True)
_PI = sp.pi

#: c(t) = cos g(t) = ((pi - t) cos t + sin t) / pi.
C_EXPR = ((_PI - _t) * sp.cos(_t) + sp.sin(_t)) / _PI
#: g(t) = arccos(c(t)).
G_EXPR = sp.acos(C_EXPR)

_IV_NS = [{"cos": iv.cos, "sin": iv.sin, "pi": iv.pi, "sqrt": iv.sqrt, "mpf": iv.mpf,
           "exp": iv.exp}, "mpmath"]


def _zero(expr) -> bool:
    """True when sympy simplifies ``expr`` to exactly 0."""
    return sp.simplify(expr) == 0


def _row(name, statement, method, holds, residual=0.0, cells=0):
    return {"identity": name, "statement": statement, "method": method,
            "holds": bool(holds), "residual": float(residual), "cells": int(cells)}


# --------------------------------------------------------------- Q and the kernel
def _wedge(t):
    """Polar angles phi with cos(phi) > 0 and cos(phi - t) > 0, t in [0, pi]."""
    return (_phi, t - _PI / 2, _PI / 2)


def _gaussian_plane_integral(integrand_phi, radial_power):
    """E over g ~ N(0, I_2) of r^p h(phi) 1(wedge) = (1/2pi) int r^{p+1} e^{-r^2/2} dr int h."""
    radial = sp.integrate(_r ** (radial_power + 1) * sp.exp(-_r**2 / 2), (_r, 0, sp.oo))
    return sp.simplify(radial / (2 * _PI) * sp.integrate(integrand_phi, _wedge(_t)))


def derive_Q():
    """E[1(g.u>0) 1(g.v>0) g g^T] in the plane basis (e1 = u_hat, e2 = v_hat_perp).

    Returns (derived 2x2 matrix, lemmas/README.md's Q in that basis, the complement's diagonal
    entry P(wedge))."""
    e = sp.Matrix([sp.cos(_phi), sp.sin(_phi)])
    derived = (e * e.T).applyfunc(lambda h: _gaussian_plane_integral(h, 2))
    M = sp.Matrix([[sp.cos(_t), sp.sin(_t)], [sp.sin(_t), -sp.cos(_t)]])
    Q = (_PI - _t) / (2 * _PI) * sp.eye(2) + sp.sin(_t) / (2 * _PI) * M
    p_wedge = _gaussian_plane_integral(sp.Integer(1), 0)
    return derived, Q, p_wedge


def derive_kernel():
    """E[relu(g.u) relu(g.v)] for unit u, v at angle t: (1/2pi) int r^3 e^{-r^2/2} dr
    int_wedge cos(phi) cos(phi - t) dphi."""
    return _gaussian_plane_integral(sp.cos(_phi) * sp.cos(_phi - _t), 2)


# ---------------------------------------------------------- certified inequalities
def _iv_fun(expr, var):
    return sp.lambdify(var, expr, modules=_IV_NS)


def _taylor_end(expr, var, point, direction, delta0=0.5, order_max=6):
    """Certify expr >= 0 on the side of ``point`` (``direction`` +1: right, -1: left).

    With s = direction (var - point) >= 0, sympy gives the first non-zero Taylor
    coefficient a_n (exactly; it must be > 0); the remainder is bounded by
    M = sup_{[0, delta]} |d^{n+1}/ds^{n+1}| / (n+1)! from interval arithmetic on 16 cells.
    Then expr >= s^n (a_n - M s) > 0 on (0, delta] when delta < a_n / M (delta halved
    until it holds). Returns (ok, delta, n, a_n).
    """
    s = sp.Symbol("s", nonnegative=True)
    e = expr.subs(var, point + direction * s)
    n, coef = None, None
    for k in range(order_max + 1):
        ck = sp.simplify(sp.diff(e, s, k).subs(s, 0) / sp.factorial(k))
        if ck != 0:
            n, coef = k, ck
            break
    if n is None or not bool(coef > 0):
        return False, 0.0, n, coef
    d_next = _iv_fun(sp.diff(e, s, n + 1), s)
    # a 30-digit value lowered by 1e-10 relative: certainly below the exact a_n > 0
    a = iv.mpf(str(sp.N(coef, 30))) * (1 - iv.mpf("1e-10"))
    delta = delta0
    for _ in range(12):
        cuts = [delta * j / 16 for j in range(17)]
        M = max(abs(d_next(iv.mpf([cuts[j], cuts[j + 1]]))).b for j in range(16))
        M = M / math.factorial(n + 1)
        if (a - M * delta).a > 0:
            return True, delta, n, coef
        delta /= 2
    return False, delta, n, coef


def _certify_interior(expr, var, lo, hi, max_cells=20000):
    """Certify expr > 0 on [lo, hi] by interval arithmetic: on a cell [a, b] with
    midpoint m and half-width h, expr >= f(m) - |f'(m)| h + min(0, inf f''([a, b])) h^2/2
    (second-order Taylor form, all three evaluated in mpmath.iv); cells that do not
    certify are bisected. Returns (ok, number of cells, smallest certified lower bound)."""
    f, f1, f2 = (_iv_fun(sp.diff(expr, var, k), var) for k in range(3))
    stack = [(mpmath.mpf(lo), mpmath.mpf(hi))]
    cells, low = 0, mpmath.inf
    while stack:
        a, b = stack.pop()
        m = (a + b) / 2
        mi = iv.mpf(m)
        H = abs(iv.mpf([a, b]) - mi).b  # a rigorous radius even if m is rounded
        h = (b - a) / 2
        curv = f2(iv.mpf([a, b])).a
        curv = curv if curv < 0 else iv.mpf(0)
        # every operation rounds outward, so L.a is a rigorous lower bound on the cell
        L = f(mi) - abs(f1(mi)).b * H + curv * H * H / 2
        lower = mpmath.mpf(float(L.a)) if L.a > 0 else mpmath.mpf(-1)
        if L.a > 0:
            cells += 1
            low = min(low, lower)
            continue
        if cells + len(stack) > max_cells or h < mpmath.mpf(2) ** -40:
            return False, cells, float(lower)
        stack += [(a, m), (m, b)]
    return True, cells, float(low)


def certify_nonnegative(expr, var, lo, hi, *, taylor_lo=False, taylor_hi=False):
    """expr >= 0 on [lo, hi]: Taylor ends where it is tight, interval cells elsewhere.

    Returns (ok, method description, cells)."""
    parts, ok = [], True
    # interior ends as outward-rounded binary numbers, overlapping the Taylor pieces by
    # 1e-12 so that no gap is left between the pieces (the expressions are analytic there)
    a = mpmath.mpf(float(iv.mpf(str(sp.N(lo, 30))).a))
    b = mpmath.mpf(float(iv.mpf(str(sp.N(hi, 30))).b))
    if hi == sp.pi:
        b = mpmath.mpf(float(iv.pi.b))  # pi rounded up
    if taylor_lo:
        good, d, n, c = _taylor_end(expr, var, lo, +1)
        ok &= good
        parts.append(f"Taylor at {lo}: order {n}, coefficient {c}, certified on [0, {d:g}]")
        a = a + d - mpmath.mpf("1e-12")
    if taylor_hi:
        good, d, n, c = _taylor_end(expr, var, hi, -1)
        ok &= good
        parts.append(f"Taylor at {hi}: order {n}, coefficient {c}, certified on [pi-{d:g}, pi]")
        b = b - d + mpmath.mpf("1e-12")
    good, cells, low = _certify_interior(expr, var, a, b)
    ok &= good
    parts.append(f"interval arithmetic (mpmath.iv, 2nd-order form) on {cells} cells, "
                 f"min lower bound {low:.3g}")
    return bool(ok), "; ".join(parts), cells


# --------------------------------------------------------------------------- rho
@lru_cache(maxsize=None)
def rho_exact(d: int):
    """rho_d = sum_{i<d} (sin t_i / pi) prod_{i<j<d} (pi - t_j)/pi, t_0 = pi, t_i = g(t_{i-1})."""
    th = [_PI]
    for _ in range(d - 1):
        th.append(sp.simplify(G_EXPR.subs(_t, th[-1])))
    total = sp.Integer(0)
    for i in range(d):
        prod = sp.Integer(1)
        for j in range(i + 1, d):
            prod *= (_PI - th[j]) / _PI
        total += sp.sin(th[i]) / _PI * prod
    return sp.simplify(total)


# ------------------------------------------------------------------ all identities
@lru_cache(maxsize=1)
def derive_symbolic() -> tuple[dict, ...]:
    """The derivations and certificates (exact, deterministic and slow: cached), one step
    per group of closed forms in the proof's order."""
    return (*_step_Q(), *_step_kernel(), *_step_angle_map(), *_step_angle_bounds(),
            *_step_rho())


def derive_all() -> tuple[dict, ...]:
    """Every identity of the module, as table rows: :func:`derive_symbolic` (cached), then
    the code of ``verify.formulas`` (Q, g, rho, which the other checks use) against the
    derived closed forms, evaluated afresh on every call (a changed formula fails here)."""
    return (*derive_symbolic(), *code_rows())


derive_all.cache_clear = derive_symbolic.cache_clear  # recompute the derivations


@lru_cache(maxsize=1)
def _closed_forms():
    """The derived closed forms the code is compared with (cached: sympy is slow)."""
    derived, _, p_wedge = derive_Q()
    Qf = sp.lambdify(_t, derived, "numpy")
    pw = sp.lambdify(_t, p_wedge, "numpy")
    g_mp = sp.lambdify(_t, G_EXPR, "mpmath")
    rho = {d: rho_exact(d) for d in (1, 2, 3, 4)}
    return Qf, pw, g_mp, rho


def code_rows() -> list[dict]:
    """verify.formulas.Q, .angle_map and .rho against the closed forms derived here."""
    return [_code_Q(), _code_g(), *_code_rho()]


def _code_Q() -> dict:
    """verify.formulas.Q against the derived integral in a 5-dimensional embedding. The
    8 pairs come from a FIXED seed on purpose: the table is deterministic (the same on
    every run and seed), not a draw of the check's stream."""
    Qf, pw, _, _ = _closed_forms()
    rng = np.random.default_rng(20181203)
    worst = 0.0
    for _ in range(8):
        u, v = rng.standard_normal(5), rng.standard_normal(5)
        th = float(F.angle(u, v))
        e1 = u / np.linalg.norm(u)
        e2 = v / np.linalg.norm(v) - np.cos(th) * e1
        e2 /= np.linalg.norm(e2)
        E = np.stack([e1, e2], 1)
        P_perp = np.eye(5) - E @ E.T
        Qs = E @ np.asarray(Qf(th), float) @ E.T + pw(th) * P_perp
        worst = max(worst, float(np.max(np.abs(Qs - F.Q(u, v)))))
    return _row("Q_code", "verify.formulas.Q equals the derived integral (k = 5, 8 pairs)",
                f"float cross-check, tolerance {FLOAT_TOL:.2e} (64 eps)", worst <= FLOAT_TOL,
                worst)


#: Angles at which verify.formulas.angle_map is compared with g (0 and pi included).
G_GRID = 64


def _code_g() -> dict:
    """verify.formulas.angle_map against g evaluated at 30 digits (mpmath) on a grid of
    [0, pi]. arccos turns a rounding error ~eps of the cosine into eps / sin g(t) of the
    angle (and sqrt(2 eps) at t = 0), so the tolerance at t is FLOAT_TOL / sin g(t),
    capped at sqrt(FLOAT_TOL): a 1% change of g is ~1e-3 even at the smallest t > 0."""
    _, _, g_mp, _ = _closed_forms()
    ts = np.linspace(0.0, math.pi, G_GRID)
    ts[-1] = math.pi
    code = np.asarray(F.angle_map(ts), float)
    worst = 0.0
    with mpmath.workdps(30):
        for t, c in zip(ts, code):
            exact = g_mp(mpmath.mpf(float(t)))
            tol = min(math.sqrt(FLOAT_TOL), FLOAT_TOL / max(float(mpmath.sin(exact)), 1e-300))
            worst = max(worst, float(abs(c - exact)) / tol)
    return _row("g_code", f"verify.formulas.angle_map equals g(t) = arccos(c(t)) on {G_GRID} "
                "angles of [0, pi]", "float cross-check against 30-digit mpmath, tolerance "
                "64 eps / sin g(t) (arccos conditioning); residual in units of it",
                worst <= 1.0, worst)


def _code_rho() -> list[dict]:
    """verify.formulas.rho(d) against the exact rho_d, d = 1..4."""
    _, _, _, rho = _closed_forms()
    rows = []
    for d, ex in rho.items():
        err = abs(float(sp.N(ex, 30)) - F.rho(d))
        rows.append(_row(f"rho_{d}_code", f"verify.formulas.rho({d}) equals the exact rho_{d}",
                         f"float cross-check, tolerance {FLOAT_TOL:.1e}", err <= FLOAT_TOL, err))
    return rows


def _step_Q() -> list[dict]:
    """Q_{u,v} = E[1(g.u > 0) 1(g.v > 0) g g^T] in closed form and Q_{u,u} = I/2, hence
    E[B_{+,u}^T B_{+,v}] = Q_{u,v} (Lemma Sup.2)."""
    t = _t
    rows = []
    derived, Q, p_wedge = derive_Q()
    diff = (derived - Q).applyfunc(sp.simplify)
    rows.append(_row("Q_integral", "E[1(g.u>0)1(g.v>0) g g^T] = (pi-t)/(2pi) I + sin t/(2pi) M "
                     "on span{u, v}", "sympy: polar integral over the wedge (t-pi/2, pi/2), "
                     "simplify(difference) == 0", diff == sp.zeros(2, 2)))
    rows.append(_row("Q_complement", "on span{u, v}^perp: E[...] = P(wedge) I = (pi-t)/(2pi) I",
                     "sympy: integral of the density over the wedge, exact",
                     _zero(p_wedge - (_PI - t) / (2 * _PI))))
    Q0 = derived.subs(t, 0).applyfunc(sp.simplify)
    rows.append(_row("Q_uu", "Q_{u,u} = I/2", "sympy: the integral at t = 0, exact",
                     Q0 == sp.eye(2) / 2 and _zero(p_wedge.subs(t, 0) - sp.Rational(1, 2))))
    return rows


def _step_kernel() -> list[dict]:
    """The arc-cosine kernel E[relu(g.u) relu(g.v)] and its normalised form cos g(t), the
    angle map of one ReLU layer (Lemma Sup.4; H&V)."""
    t = _t
    kern = derive_kernel()
    target = (sp.sin(t) + (_PI - t) * sp.cos(t)) / (2 * _PI)
    return [
        _row("arccos_kernel", "E[relu(g.u) relu(g.v)] = |u||v| (sin t + (pi-t) cos t)/(2pi)",
             "sympy: polar integral over the wedge, simplify(difference) == 0 "
             "(|u||v| by homogeneity)", _zero(kern - target)),
        _row("kernel_is_cos_g", "E[relu relu] / E[relu(g.u)^2] = cos g(t) = c(t)",
             "sympy: kernel(t)/kernel(0) - c(t) simplifies to 0",
             _zero(kern / kern.subs(t, 0) - C_EXPR))]


def _step_angle_map() -> list[dict]:
    """The angle map g: g(0) = 0, g(pi) = pi/2, 0 <= g' <= 1 and 0 <= g(t) <= t on
    [0, pi], exactly (Lemma Sup.4: angles do not vanish through a layer; H&V)."""
    t = _t
    rows = [_row("g(0)=0", "g(0) = 0", "sympy exact evaluation", G_EXPR.subs(t, 0) == 0),
            _row("g(pi)=pi/2", "g(pi) = pi/2", "sympy exact evaluation",
                 sp.simplify(G_EXPR.subs(t, _PI) - _PI / 2) == 0)]
    dc = sp.diff(C_EXPR, t)
    c_ok = (_zero(dc + (_PI - t) * sp.sin(t) / _PI) and C_EXPR.subs(t, 0) == 1
            and sp.simplify(C_EXPR.subs(t, _PI)) == 0)
    rows.append(_row("c_range", "c(t) = cos g(t) decreases from 1 to 0 on [0, pi]",
                     "sympy: c' = -(pi-t) sin t/pi <= 0, c(0) = 1, c(pi) = 0", c_ok))
    dg = sp.diff(G_EXPR, t)
    dg_form = (_PI - t) * sp.sin(t) / (_PI * sp.sqrt(1 - C_EXPR**2))
    rows.append(_row("g'>=0", "g'(t) = (pi-t) sin t / (pi sqrt(1 - c^2)) >= 0 on (0, pi]",
                     "sympy: simplify(g' - formula) == 0; every factor >= 0 (c < 1 on (0, pi])",
                     _zero(dg - dg_form) and c_ok))
    # g' <= 1  <=>  h(pi - t) >= 0,  h(s) = pi^2 - s^2 + s sin 2s - sin^2 s
    s = sp.Symbol("s", real=True)
    h = _PI**2 - s**2 + s * sp.sin(2 * s) - sp.sin(s) ** 2
    link = _zero(_PI**2 * (1 - C_EXPR**2) - (_PI - t) ** 2 * sp.sin(t) ** 2 - h.subs(s, _PI - t))
    mono = _zero(sp.diff(h, s) + 4 * s * sp.sin(s) ** 2) and h.subs(s, _PI) == 0
    rows.append(_row("g'<=1", "g'(t) <= 1 on (0, pi]",
                     "sympy: pi^2(1-c^2) - (pi-t)^2 sin^2 t = h(pi-t), h' = -4 s sin^2 s <= 0, "
                     "h(pi) = 0, so h >= 0", link and mono))
    kf = sp.sin(t) - t * sp.cos(t)
    le = _zero(C_EXPR - sp.cos(t) - kf / _PI) and _zero(sp.diff(kf, t) - t * sp.sin(t)) \
        and kf.subs(t, 0) == 0
    rows.append(_row("0<=g<=t", "0 <= g(t) <= t on [0, pi]",
                     "sympy: c - cos t = (sin t - t cos t)/pi, (sin t - t cos t)' = t sin t >= 0 "
                     "from 0, so cos g >= cos t; c in [0, 1] gives g >= 0", le and c_ok))
    return rows


def _step_angle_bounds() -> list[dict]:
    """(1/pi + 1/t)^-1 <= g(t) <= (1/(3 pi) + 1/t)^-1, certified on [0, pi], and the
    iterates g^i(pi) in [pi/(i+1), 3 pi/(i+3)] (H&V's bounds behind Lemma Sup.4 and rho)."""
    t = _t
    rows = []
    # upper bound: g <= b = t/(1 + t/(3 pi))  <=>  c(t) - cos(b(t)) >= 0 (b in [0, pi])
    b_up = t / (1 + t / (3 * _PI))
    ok, how, cells = certify_nonnegative(C_EXPR - sp.cos(b_up), t, 0, sp.pi, taylor_lo=True)
    rows.append(_row("g<=(1/(3pi)+1/t)^-1", "g(t) <= (1/(3 pi) + 1/t)^-1 on (0, pi]",
                     "certified: cos form c(t) - cos(b(t)) >= 0; " + how, ok, cells=cells))
    b_lo = t / (1 + t / _PI)
    ok2, how2, cells2 = certify_nonnegative(sp.cos(b_lo) - C_EXPR, t, 0, sp.pi,
                                            taylor_lo=True, taylor_hi=True)
    rows.append(_row("g>=(1/pi+1/t)^-1", "g(t) >= (1/pi + 1/t)^-1 >= t/2 on (0, pi]",
                     "certified: cos(b(t)) - c(t) >= 0; " + how2, ok2, cells=cells2))
    # iterates: 1/g(t) >= 1/t + 1/(3pi) and 1/g(t) <= 1/t + 1/pi give, by induction from
    # t_0 = pi, (i+1)/pi >= 1/t_i >= (i+3)/(3 pi) for every i.
    with mpmath.workdps(ITERATE_DPS):
        th, worst_i = mpmath.pi, mpmath.inf
        for i in range(ITERATES + 1):
            lo_i, hi_i = mpmath.pi / (i + 1), 3 * mpmath.pi / (i + 3)
            worst_i = min(worst_i, th - lo_i, hi_i - th)
            th = mpmath.acos(((mpmath.pi - th) * mpmath.cos(th) + mpmath.sin(th)) / mpmath.pi)
    rows.append(_row("iterates", "g^i(pi) in [pi/(i+1), 3 pi/(i+3)] for all i >= 0",
                     f"induction on the two certified bounds (1/t_i moves by 1/(3pi)..1/pi per "
                     f"step); numeric confirmation for i <= {ITERATES} at {ITERATE_DPS} digits",
                     ok and ok2 and worst_i >= 0, float(min(0, worst_i))))
    return rows


def _step_rho() -> list[dict]:
    """rho_d for d = 1..4 in closed form (Theorem 1's rho; H&V: rho_2 = 1/pi); the code's
    rho is compared with them in :func:`_code_rho`."""
    rows = []
    a = sp.acos(1 / _PI)
    rho3_math = (_PI - a) / _PI**2 + sp.sqrt(1 - 1 / _PI**2) / _PI
    expected = {1: sp.Integer(0), 2: 1 / _PI, 3: rho3_math}
    for d in (1, 2, 3, 4):
        ex = rho_exact(d)
        num = float(sp.N(ex, 30))
        sym_ok = _zero(ex - expected[d]) if d in expected else True
        approx = {3: 0.4937, 4: 0.605}.get(d)
        near = approx is None or abs(num - approx) < 5e-4
        stmt = {1: "rho_1 = 0", 2: "rho_2 = 1/pi",
                3: "rho_3 = (pi - arccos(1/pi))/pi^2 + sqrt(1 - 1/pi^2)/pi ~ 0.4937",
                4: f"rho_4 = {sp.sstr(ex)} ~ 0.605"}[d]
        rows.append(_row(f"rho_{d}", stmt, "sympy exact" + (" (simplify(difference) == 0)"
                         if d in expected else "") + f"; value {num:.6f}", sym_ok and near))
    return rows


def configs():
    """The identities do not depend on the network: any small configuration."""
    from verify.presets import Config
    from verify.strategies import conv_architectures

    return conv_architectures(max_layers=1, max_channels=2, max_kernel=2).map(
        lambda spec: Config("symbolic-any", spec))


#: No configuration violates the identities (they do not involve the network).
counter_configs = None


def check(instance, *, rng, quick):
    """Derive or certify every identity and compare the code's formulas with them; the
    network is irrelevant (it is not used).

    The headline is an exact count, ``identities that failed == 0``: an exact statement
    has no trivial ceiling (no bound any formula would meet). Its power is shown by
    mutating ``verify.formulas`` (Q, g or rho off by 1%): the check then fails
    (property_tests/test_symbolic.py)."""
    table = pd.DataFrame(list(derive_all()))
    failed = int((~table["holds"]).sum())
    return Outcome(
        headline=Criterion("identities that failed", failed, 0, "==",
                           "exact (== 0): no trivial ceiling"),
        n_samples=len(table),
        details={"identities": table.to_dict(orient="records"), "n_identities": len(table),
                 "n_failed": failed, "float_tol": FLOAT_TOL},
        table=table, settings={"iterates_checked": ITERATES, "iterate_dps": ITERATE_DPS})


FIGURES = ()
FINDINGS = ()

__all__ = ["derive_Q", "derive_kernel", "derive_all", "derive_symbolic", "code_rows", "rho_exact", "certify_nonnegative",
           "C_EXPR", "G_EXPR", "check", "configs", "counter_configs", "FIGURES", "FINDINGS"]

register("symbolic",
         statement="the closed forms of the proof (Q_{u,v}, the arc-cosine kernel, the angle "
                   "map g and its bounds, rho_d) hold exactly or certifiably",
         reference="Lemma Sup.2, Lemma Sup.4, Theorem 1 (H&V)",
         presets={"theory-2layer": "pass"},
         check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
         findings=FINDINGS, cost=12.0, detects_counterexample=False)
