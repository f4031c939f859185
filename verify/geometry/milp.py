"""A certificate that J(z) = 1/2 ||A G(z) - y||^2 has no stationary point outside given
balls, without enumerating G's linear regions: a mixed-integer linear program (MILP,
scipy.optimize.milp, HiGHS) that searches for one (lemmas/README.md, section 5).

G is a bias-free ReLU network, A a 0/1 mask, y = A G(z*) or any y. The question is
whether some z outside the balls B(c_b, r_b) (and away from 0) is *Clarke stationary*:
0 is in the convex hull of the gradients g_C(z) = M_C^T A^T (A M_C z - y) of the linear
regions C whose closures hold z (M_C = D_d W_d ... D_1 W_1 on C). This is the set the
exact method lists (:mod:`verify.geometry.stationary`: interior minima, kink minima,
kink saddles, flat sets); a point outside it has a direction v with D_v J(z) < 0.

The program
-----------
Every unit u of layer i has its pre-activation p = W_i x_{i-1} and output x (x_0 = z),
a binary a (active: p >= 0, x = p; inactive: p <= 0, x = 0; big-M with the interval
bounds L <= p <= U), a binary t (a tie: p = 0) and a continuous d in [0, 1], the unit's
derivative, tied to a unless t = 1 (|d - a| <= t). The gradient runs backwards:
g_d = A (x_d - y), h_i = d_i * g_i, g_{i-1} = W_i^T h_i, and the program asks for
|g_0| <= tau. The product h = d g of a [0, 1] variable and a bounded one is linearised
by McCormick's four inequalities, exact when d is 0 or 1 (t = 0). Units whose bounds
have one sign (L >= 0 or U <= 0 over the whole domain) are fixed, without binaries.

Kinks are covered. At z, let the tie units (p = 0) be T. Every region C whose closure
holds z has a pattern that agrees with a outside T, so its gradient is the backward pass
with d in {0, 1}^T; setting t = 1 on T (and a = 0 there), the program's slice at z is a
polyhedron in (d, h, g) that holds each such vertex exactly (McCormick is exact at
binary d), hence their convex hull, hence 0 whenever z is Clarke stationary. So every
Clarke stationary point of J is feasible: infeasibility certifies that there is none.
Conversely a feasible point may be spurious (the hull of all 2^|T| patterns, McCormick,
tolerances), so every point found is *verified* (:func:`verify_point`) before it is
called a counterexample.

The bounded domain: no stationary point beyond R
-------------------------------------------------
Every region gradient at z satisfies g_C(z) . z = ||A G(z)||^2 - <A G(z), y>, because
M_C z = G(z) for each region C whose closure holds z (G is positively homogeneous and
continuous). So at a Clarke stationary point ||A G(z)||^2 = <A G(z), y> <= ||A G(z)||
||y||, i.e. ||A G(z)|| <= ||y||. With m1 = min over ||u||_inf = 1 of ||A G(u)||_1 (a
pure ReLU MILP per face u_i = +-1, of which only HiGHS's dual bound is used: a valid
lower bound at any node limit), ||A G(z)||_2 >= ||A G(z)||_1 / sqrt(m) >= ||z||_inf m1 /
sqrt(m) (m observed entries), so ||z||_inf <= R = sqrt(m) ||y|| / m1. If m1 <= 0 (some
direction with A G(u) = 0: a region mapped to 0) no R follows: the program still
searches a box for a counterexample, but infeasibility is then ``uninformative``.

A neighbourhood of 0
--------------------
0 is always feasible (all first-layer units tie, d = 0). By the same identity a
stationary z = s u (||u||_inf = 1) has s = <A G(u), y> / ||A G(u)||^2 >= kappa / Gamma^2,
with kappa = min over the unit infinity-sphere of <A G(u), y> (the same kind of MILP, its
dual bound) and Gamma >= ||A G(u)|| there (interval bounds, or sqrt(k) prod ||W_i||).
When kappa > 0 (Theorem 1's D_w J(0) = -<A G(w), y> < 0 for every w, certified) the box
||z||_inf < r0 = kappa / Gamma^2 holds no stationary point but 0 and is cut out by 2k
face binaries. When kappa <= 0 the certificate cannot exclude stationary points near 0:
the program excludes ||z||_inf < r0 with r0 = R / 1000 and infeasibility is
``uninformative``.

Outside the balls
-----------------
The complement of each ball is covered by half-spaces: with unit directions a_j (the
normalised nonzero integer vectors of {-q, ..., q}^k), P = {v : a_j . v <= cos(theta)
for all j} lies inside the unit ball, cos(theta) = 1 / max ||vertex of {a_j . v <= 1}||
(computed by qhull), so ||z - c|| > r implies a_j . (z - c) > r cos(theta) for some j: one
binary per direction selects it. A point found between the polytope and the sphere
(inside the ball) is not a counterexample; if its pattern's stationary point is unique
(positive definite reduced Hessian) it is excluded by a no-good cut on its binaries and
the program is solved again (at most ``rounds`` times).

Answers (:class:`Certificate`): ``certified`` (infeasible, with a bounded domain and
kappa > 0), ``counterexample`` (a verified Clarke stationary point outside the balls),
``uninformative`` (node limit reached, an unverified point, or no bounded domain):
never a pass without a proof. Limits are deterministic (``node_limit``); ``time_limit``
is a safety net and says so when it stops a solve. Nothing here knows a statement.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import VerifyError
from ..network import Network
from .milp_model import Model, backward, dense_layers, forward_bounds, relu_net
from .milp_points import (adjacent_gradients, classify, consistent, is_stationary, polish,
                          tie_gradients)

#: Branch-and-bound nodes per solve (deterministic limit).
NODE_LIMIT = 20_000
#: Seconds per solve: a safety net only (reported when it stops a solve).
TIME_LIMIT = 600.0
#: HiGHS's default tolerances (scipy's milp does not expose them): primal feasibility
#: 1e-7, integrality 1e-6 (mip_feasibility_tolerance), stated with every answer.
SOLVER_TOLERANCES = {"primal_feasibility": 1e-7, "mip_feasibility": 1e-6}
#: Stationarity slack tau on |g_0| relative to the gradient's scale ||y|| prod ||W_i||:
#: above the solver's feasibility tolerance, so true stationary points stay feasible.
STAT_SLACK = 1e-8
#: Lattice radius q of the ball-covering directions per latent dimension.
LATTICE = {2: 3, 3: 2}
#: Cells per free coordinate of each face of the infinity-sphere (the initial pieces).
PER_AXIS = {2: 16, 3: 4, 4: 2}
#: Radial shells of the initial pieces: s_hi / s_lo at most this.
SHELL_RATIO = 4.0
#: Candidates proven not stationary in one piece before it is split.
SPURIOUS_SPLIT = 2
#: Polished points are compared to the balls with this relative margin.
BALL_MARGIN = 1e-9


@dataclass
class Certificate:
    """The answer for one (network, y, mask, balls): ``status`` (certified /
    counterexample / uninformative), the point found (z, its class, distances to the
    centres in units of the radius scale), the domain (R, r0, kappa, m1), the solver
    statistics and the reason when uninformative."""

    status: str
    reason: str = ""
    z: np.ndarray | None = None
    classification: str | None = None
    distances: list = field(default_factory=list)
    R: float = math.nan
    r0: float = math.nan
    kappa: float = math.nan
    m1: float = math.nan
    cos_theta: float = math.nan
    directions: int = 0
    binaries: int = 0
    pieces: int = 0
    nodes: int = 0
    rounds: int = 0
    seconds: float = 0.0
    solver: dict = field(default_factory=dict)


def not_applicable(network: Network) -> str | None:
    """Why the MILP does not apply (None when it does): ReLU layers without bias only."""
    for i, layer in enumerate(network.spec.layers):
        if layer.activation != "relu" or layer.affine:
            return (f"layer {i} is {layer.activation}{' with bias' if layer.affine else ''}:"
                    " the MILP encodes bias-free ReLU layers")
    return None


# ------------------------------------------------------------------ the domain
def directions(k: int, q: int | None = None) -> tuple[np.ndarray, float]:
    """Unit directions a_j (the normalised nonzero integer vectors of {-q..q}^k) and
    cos(theta): {v : a_j . v <= cos(theta) for all j} lies in the unit ball (qhull's
    vertices of {a_j . v <= 1}, the farthest at 1 / cos(theta))."""
    from scipy.spatial import HalfspaceIntersection

    q = LATTICE.get(k, 1) if q is None else q
    pts = np.array([p for p in itertools.product(range(-q, q + 1), repeat=k) if any(p)],
                   float)
    pts = np.unique(np.round(pts / np.linalg.norm(pts, axis=1, keepdims=True), 12), axis=0)
    hull = HalfspaceIntersection(np.hstack([pts, -np.ones((len(pts), 1))]), np.zeros(k))
    far = float(np.linalg.norm(hull.intersections, axis=1).max())
    return pts, (1.0 - 1e-12) / far


def pieces(k: int, per_axis: int):
    """The unit infinity-sphere cut into pieces: face u_i = sgn, the other coordinates
    in a sub-box of [-1, 1] (``per_axis`` cells each). A piece is (lo, hi) with lo_i =
    hi_i = sgn; the cone over it is a polyhedral cone of the latent."""
    edges = np.linspace(-1.0, 1.0, per_axis + 1)
    out = []
    for i, sgn in itertools.product(range(k), (1.0, -1.0)):
        for cell in itertools.product(range(per_axis), repeat=k - 1):
            lo, hi = np.empty(k), np.empty(k)
            lo[i] = hi[i] = sgn
            others = [j for j in range(k) if j != i]
            for j, c in zip(others, cell):
                lo[j], hi[j] = edges[c], edges[c + 1]
            out.append((lo, hi))
    return out


def split(lo: np.ndarray, hi: np.ndarray):
    """The 2^(k-1) halves of a piece (its free coordinates halved)."""
    free = np.flatnonzero(lo != hi)
    mid = 0.5 * (lo + hi)
    out = []
    for bits in itertools.product((0, 1), repeat=free.size):
        a, b = lo.copy(), hi.copy()
        for j, bit in zip(free, bits):
            if bit:
                a[j] = mid[j]
            else:
                b[j] = mid[j]
        out.append((a, b))
    return out


def cone_bounds(Ws, lo, hi, s_lo: float, s_hi: float):
    """Bounds of every layer's pre-activations on the truncated cone {s u : u in the
    piece [lo, hi], s_lo <= s <= s_hi}: interval bounds at s = 1 scaled (each
    pre-activation is positively homogeneous in z, so its sign on the cone is its sign
    on the piece)."""
    return [(np.minimum(s_lo * l, s_hi * l), np.maximum(s_lo * h, s_hi * h))
            for l, h in forward_bounds(Ws, lo, hi)]


def _min_on_piece(Ws, c, lo, hi, depth: int, *, node_limit, time_limit, stats):
    """A lower bound of min c . G(u) over the piece (c >= 0): the interval bound, the
    piece split while it is not positive (up to ``depth`` times), then HiGHS's dual
    bound of the piece's ReLU MILP (valid at any node limit)."""
    L = forward_bounds(Ws, lo, hi)[-1][0]
    bound = float(c @ np.maximum(L, 0.0))
    if bound > 0 or depth == 0:
        if bound > 0:
            return bound
        m = Model()
        z = m.var(lo, hi)
        _, out = relu_net(m, Ws, z, forward_bounds(Ws, lo, hi), ties=False)
        cost = np.zeros(m.n)
        np.add.at(cost, out[0], c @ out[1])
        res = m.solve(cost, node_limit=node_limit, time_limit=time_limit)
        res_shift = float(c @ out[2])
        stats["nodes"] += int(getattr(res, "mip_node_count", 0) or 0)
        dual = getattr(res, "mip_dual_bound", None)
        if dual is None or not np.isfinite(dual):
            dual = res.fun if res.status == 0 else -math.inf
        return float(dual) + res_shift
    return min(_min_on_piece(Ws, c, a, b, depth - 1, node_limit=node_limit,
                             time_limit=time_limit, stats=stats) for a, b in split(lo, hi))


def domain(Ws, y: np.ndarray, *, per_axis: int, depth: int, node_limit: int,
           time_limit: float) -> dict:
    """R, r0, kappa, m1, Gamma of the module docstring for the pruned layers ``Ws`` and
    the kept observations ``y`` (scaled units)."""
    k = Ws[0].shape[1]
    mobs = Ws[-1].shape[0]
    stats = {"nodes": 0}
    kw = dict(node_limit=node_limit, time_limit=time_limit, stats=stats)
    grid = pieces(k, per_axis)
    m1 = min(_min_on_piece(Ws, np.ones(mobs), lo, hi, depth, **kw) for lo, hi in grid)
    kap = min(_min_on_piece(Ws, np.maximum(y, 0.0), lo, hi, depth, **kw) for lo, hi in grid)
    U = np.maximum(forward_bounds(Ws, -np.ones(k), np.ones(k))[-1][1], 0)
    gamma = min(float(np.linalg.norm(U)),
                math.sqrt(k) * float(np.prod([np.linalg.norm(W, 2) for W in Ws])))
    ny = float(np.linalg.norm(y))
    R = math.sqrt(mobs) * ny / m1 if m1 > 0 else math.inf
    r0 = kap / gamma ** 2 if kap > 0 and gamma > 0 else 0.0
    return {"R": R, "r0": r0, "kappa": kap, "m1": m1, "gamma": gamma,
            "nodes": stats["nodes"]}


def radial_range(Ws, y, lo, hi, r0: float, R: float) -> tuple[float, float]:
    """Where a stationary point z = s u (u in the piece, ||u||_inf = 1) can lie on the
    piece's cone: the identity of the module docstring gives s = <A G(u), y> / ||A G(u)||^2
    (y >= 0: the output of a ReLU), so with the piece's interval bounds 0 <= L <= A G(u)
    <= U (clipped at 0), s >= y . L / ||U||^2 and s <= min(||y|| / ||L||, y . U / ||L||^2);
    intersected with the global [r0, R]."""
    L, U = forward_bounds(Ws, lo, hi)[-1]
    L, U = np.maximum(L, 0.0), np.maximum(U, 0.0)
    nl, nu = float(np.linalg.norm(L)), float(np.linalg.norm(U))
    s_lo, s_hi = r0, R
    if nu > 0 and (y >= 0).all():
        s_lo = max(s_lo, float(y @ L) / nu ** 2)
    if nl > 0:
        s_hi = min(s_hi, float(np.linalg.norm(y)) / nl)
        if (y >= 0).all():
            s_hi = min(s_hi, float(y @ U) / nl ** 2)
    # a margin for rounding: the bounds are exact up to a few ulps of their sums
    return s_lo * (1 - 1e-9), s_hi * (1 + 1e-9)


# ------------------------------------------------------------------ the search
def _search_model(Ws, y, centres, radius, piece, s_lo, s_hi, A_dirs, cos_t, tau):
    """The program of the module docstring on the truncated cone of ``piece`` (scaled
    units); None when the piece lies inside one of the balls' covering polytopes."""
    lo, hi = piece
    k = len(lo)
    i = int(np.flatnonzero(lo == hi)[0])
    sgn = lo[i]
    verts = np.array([s * np.array(c) for s in (s_lo, s_hi)
                      for c in itertools.product(*zip(lo, hi))])
    beta = radius * cos_t
    keep = []
    for c in centres:
        reach = (verts - c) @ A_dirs.T                   # (vertices, directions)
        ok = reach.max(axis=0) >= beta
        if not ok.any():
            return None                                  # the cone piece is in P_b
        keep.append((c, ok, beta - reach.min(axis=0)))
    m = Model()
    zlo = np.minimum(s_lo * lo, s_hi * lo)
    zhi = np.maximum(s_lo * hi, s_hi * hi)
    z = m.var(zlo, zhi)
    for j in range(k):                                   # z_j / (sgn z_i) in [lo_j, hi_j]
        if j != i:
            m.rows([[z[j], z[i]]], [[1.0, -lo[j] * sgn]], 0.0, np.inf)
            m.rows([[z[j], z[i]]], [[1.0, -hi[j] * sgn]], -np.inf, 0.0)
    bounds = cone_bounds(Ws, lo, hi, s_lo, s_hi)
    layers, out = relu_net(m, Ws, z, bounds, ties=True)
    L, U = bounds[-1]
    backward(m, Ws, layers, out, y, tau, (np.maximum(L, 0), np.maximum(U, 0)))
    for c, ok, big in keep:          # outside each ball: a_j . (z - c) >= beta, some j
        s = m.var(np.zeros(int(ok.sum())), 1, True)
        m.rows(s[None], [np.ones(s.size)], 1.0, np.inf)
        for a, sj, Mj in zip(A_dirs[ok], s, big[ok]):
            m.dense(np.r_[a, -Mj][None], np.r_[z, sj], beta + a @ c - Mj, np.inf)
    return m, z, layers


def _binaries(layers):
    """The unit binaries (a, t) of the layers, as one index array, and per layer."""
    idx = [np.concatenate([a[a >= 0], t[t >= 0]]) for a, t, _, _, _ in layers]
    return np.concatenate(idx)


def _pattern(layers, x):
    """Active and tie masks per layer from a solution vector ``x``."""
    act, tie = [], []
    for a, t, _, uns, on in layers:
        av = on.copy()
        tv = np.zeros(len(on), bool)
        j = a >= 0
        av[j] = x[a[j]] > 0.5
        tv[t >= 0] = x[t[t >= 0]] > 0.5
        act.append(av & ~tv)
        tie.append(tv)
    return act, tie


def _cut(m: Model, bins: np.ndarray, x: np.ndarray) -> None:
    """No-good cut: the unit binaries may not all take their values in ``x`` again."""
    one = x[bins] > 0.5
    m.rows(bins[None], [np.where(one, -1.0, 1.0)], 1.0 - one.sum(), np.inf)


def certify(network: Network, y: np.ndarray, mask: np.ndarray | None, centres,
            radius: float, *, node_limit: int = NODE_LIMIT, time_limit: float = TIME_LIMIT,
            per_axis: int | None = None, depth: int = 3, rounds: int = 8,
            max_pieces: int = 4096, q: int | None = None, seed: int = 0) -> Certificate:
    """Search for a Clarke stationary point of J outside the balls B(c_b, radius) and away
    from 0 (module docstring); ``y`` full length, ``mask`` 0/1 (None: every output).

    The latent is cut into cones over pieces of the unit infinity-sphere
    (:func:`pieces`, ``per_axis`` cells per free coordinate of each face): on a narrow
    cone most units keep one sign and need no binary, and each cone is one small
    program. A cone whose program reaches ``node_limit`` is split in 2^(k-1) (at most
    ``depth`` times, ``max_pieces`` programs in all). Returns a :class:`Certificate`.
    """
    why = not_applicable(network)
    if why is not None:
        raise VerifyError(f"the MILP certificate does not apply: {why}")
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    y = np.asarray(y, float).ravel()
    mask = np.ones(y.size, bool) if mask is None else np.asarray(mask).ravel() > 0
    Ws = dense_layers(network, mask)
    k = Ws[0].shape[1]
    pa = per_axis if per_axis is not None else PER_AXIS.get(k, 2)
    centres = np.atleast_2d(np.asarray(centres, float))
    S = max(float(radius), float(np.linalg.norm(centres, axis=1).max()))
    ys, cs, rs = y[mask] / S, centres / S, float(radius) / S
    dom = domain(Ws, ys, per_axis=pa, depth=depth, node_limit=node_limit,
                 time_limit=time_limit)
    bounded, near0 = math.isfinite(dom["R"]), dom["r0"] > 0
    R = dom["R"] if bounded else 4.0 * max(1.0, float(np.abs(cs).max()) + rs)
    r0 = dom["r0"] if near0 else R / 1000
    A_dirs, cos_t = directions(k, q)
    gscale = float(np.linalg.norm(ys)) * float(np.prod([np.linalg.norm(W, 2) for W in Ws]))
    ctx = dict(Ws=Ws, ys=ys, cs=cs, rs=rs, r0=r0, R=R, A_dirs=A_dirs, cos_t=cos_t,
               gscale=gscale, rounds=rounds, node_limit=node_limit, time_limit=time_limit,
               rng=rng)
    cert = Certificate("uninformative", R=dom["R"] * S, r0=dom["r0"] * S,
                       kappa=dom["kappa"] * S, m1=dom["m1"], cos_theta=cos_t,
                       directions=len(A_dirs), nodes=dom["nodes"],
                       solver={**SOLVER_TOLERANCES, "node_limit": node_limit,
                               "time_limit_s": time_limit, "stationarity_slack": STAT_SLACK,
                               "per_axis": pa, "depth": depth, "messages": {}})
    queue = []
    for lo, hi in pieces(k, pa):
        s_lo, s_hi = radial_range(Ws, ys, lo, hi, r0, R)
        if s_lo >= s_hi:
            continue                     # no stationary point on this cone (radial range)
        n_sh = max(1, math.ceil(math.log(s_hi / s_lo) / math.log(SHELL_RATIO)))
        shells = np.geomspace(s_lo, s_hi, n_sh + 1)
        queue += [(lo, hi, a, b, depth) for a, b in zip(shells[:-1], shells[1:])]
    open_reasons = []
    solved = 0
    while queue:
        lo, hi, s_lo, s_hi, left = queue.pop()
        out, info = _solve_piece(ctx, (lo, hi), s_lo, s_hi, cert)
        solved += 1
        if out == "counterexample":
            cert.status, cert.z, cert.distances, cert.classification = (
                "counterexample", info["z"] * S, info["distances"], None)
            cert.classification = "flat" if not info["unique"] else classify(
                network, y, mask, info["z"] * S, info["G"], rng)[0]
            break
        if out == "limit" and left > 0 and solved + len(queue) < max_pieces:
            mid = math.sqrt(s_lo * s_hi)
            queue += [(a, b, u, v, left - 1) for a, b in split(lo, hi)
                      for u, v in ((s_lo, mid), (mid, s_hi))]
        elif out in ("limit", "open"):
            open_reasons.append(info["reason"])
            if out == "open" and info.get("z") is not None and cert.z is None:
                cert.z, cert.distances = info["z"] * S, info["distances"]
    cert.pieces = solved
    if cert.status != "counterexample":
        if open_reasons:
            cert.reason = f"{len(open_reasons)} cone piece(s) undecided: {open_reasons[0]}"
        elif not bounded:
            cert.reason = ("infeasible on the searched domain, but no radius R bounds the "
                           "stationary points (A G(u) = 0 for some direction u)")
        elif not near0:
            cert.reason = ("infeasible on the searched domain, but D_w J(0) < 0 is not "
                           "certified for every w, so stationary points near 0 "
                           f"(||z||_inf < {r0 * S:.3g}) are not excluded")
        else:
            cert.status = "certified"
    cert.seconds = time.process_time() - t0
    return cert


def _solve_piece(ctx, piece, s_lo, s_hi, cert):
    """One truncated cone: solve, verify what is found, cut what the assignment cannot
    hold; ``limit`` (split it) at the node limit or after SPURIOUS_SPLIT candidates that
    were not stationary (the relaxation is loose where the piece is wide)."""
    Ws, ys, cs, rs, gscale = ctx["Ws"], ctx["ys"], ctx["cs"], ctx["rs"], ctx["gscale"]
    built = _search_model(Ws, ys, cs, rs, piece, s_lo, s_hi, ctx["A_dirs"],
                          ctx["cos_t"], STAT_SLACK * gscale)
    spurious = 0
    if built is None:
        return "infeasible", {}
    m, z, layers = built
    bins = _binaries(layers)
    cert.binaries = max(cert.binaries, int(np.concatenate(m.integer).sum()))
    for r in range(ctx["rounds"] + 1):
        res = m.solve(node_limit=ctx["node_limit"], time_limit=ctx["time_limit"])
        cert.nodes += int(getattr(res, "mip_node_count", 0) or 0)
        cert.rounds += 1
        msg = str(res.message).split(" (")[0]
        cert.solver["messages"][msg] = cert.solver["messages"].get(msg, 0) + 1
        if res.status == 2:
            return "infeasible", {}
        if res.x is None:
            return "limit", {"reason": "time limit (safety net) reached" if "ime limit"
                             in msg else f"node limit {ctx['node_limit']} reached at the "
                             "smallest piece"}
        act, tie = _pattern(layers, res.x)
        zm = res.x[z]
        zp, unique, empty = polish(Ws, ys, act, tie, near=zm)
        ok = not empty and consistent(Ws, zp, act, tie)
        if empty or (unique and not ok):
            # the assignment allows no stationary point: its face is {0}, or the only
            # candidate it allows breaks its own signs
            _note(cert, "cuts_empty_assignment")
            _cut(m, bins, res.x)
            continue
        if not ok:
            zp = zm
        dist = [float(np.linalg.norm(zp - c)) / rs for c in cs]
        G = adjacent_gradients(Ws, ys, zp, ctx["rng"])
        inside = min(dist) <= 1 + BALL_MARGIN
        if is_stationary(G, gscale) and not inside:
            return "counterexample", {"z": zp, "distances": dist, "unique": unique, "G": G}
        proven = False
        if unique and not inside:
            sup = tie_gradients(Ws, ys, zp, act, tie)
            proven = sup is not None and not is_stationary(sup, gscale)
        if unique and (inside or proven):
            _note(cert, "cuts_inside_balls" if inside else "cuts_not_stationary")
            spurious += not inside
            if spurious >= SPURIOUS_SPLIT:
                return "limit", {"reason": "candidates that were not stationary kept "
                                           "coming at the smallest piece"}
            _cut(m, bins, res.x)
            continue
        return "open", {"z": zp, "distances": dist, "reason": (
            "a candidate outside the balls that is neither verified stationary nor proven "
            "not to be" if not inside else "a stationary set inside a ball's covering band "
            "that a cut cannot exclude (singular reduced Hessian)")}
    return "open", {"reason": f"{ctx['rounds']} cuts in one piece did not end it"}


def _note(cert, key: str) -> None:
    cert.solver[key] = cert.solver.get(key, 0) + 1


__all__ = ["Certificate", "certify", "not_applicable", "directions", "pieces", "split",
           "cone_bounds", "domain", "radial_range",
           "NODE_LIMIT", "TIME_LIMIT", "SOLVER_TOLERANCES"]
