"""The grid, segment and descent tools of the landscape check (paper Fig. 4, Sec. 4.2;
lemmas/README.md, section 10): pure functions of J sampled on a grid, of J along segments and rays,
gradient descent from a grid of starts, and the grid's steps (J on the window's grid,
its minima refined, the flat region, the quasi-convexity segments). They measure; the
``landscape`` check decides what the measurements say about the paper's statements."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from verify.errors import invalid
from verify.geometry.explicit import ExplicitJ
from verify.objective import Objective
from verify.inversion.recovery import SUCCESS_TOL
from verify.stats import exact_interval

#: Grid half-width in units of ||z*||: the window holds z*, the origin, -rho z* and -z*.
HALF_WIDTH = 2.5
#: One pixel of the check's full Fig. 4 grid (161 points across 2 HALF_WIDTH ||z*||), in
#: units of ||z*||: points closer than this cannot be told apart on the drawn landscape.
FIGURE_PIXEL = 2 * HALF_WIDTH / 160
#: Window radii (units of ||z*||) at which quasi-convexity is reported (Fig. 4(b, c)):
#: the last is the figure's window, the only one the criterion judges.
WINDOW_RADII = (0.5, 1.0, 1.5, HALF_WIDTH)
#: Gradient descent of Fig. 4(a) as the paper runs it (Sec. 4.3): Adam, lr 0.1, up to
#: 1000 iterations ("usually converges within 500"), a start stopping when its relative
#: step is below GD_TOL. With 1e-7 the starts that reach z* end within 1e-4 ||z*|| of it
#: (measured on 10 draws each of paper-fig4 and -sigmoid: at most 9.7e-5), a factor 10
#: inside GD_SUCCESS; 1e-8 costs ~20% more iterations, 1e-6 ends up to 4e-4 away.
GD_LR = 0.1
GD_ITERATIONS = 1000
GD_TOL = 1e-7
#: A start ends at z* when within this many ||z*|| of it (the recovery checks' success
#: tolerance, 1e-3: recovery is bimodal, ~1e-6 or O(1)).
GD_SUCCESS = SUCCESS_TOL
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


@dataclass(frozen=True)
class GridMinima:
    """Local minima of a 2-D array.

    Attributes
    ----------
    labels : ndarray of int, shape (H, W)
        Plateau (component) label of every pixel.
    minima : DataFrame
        One row per minimum plateau: ``label``, ``size`` (pixels), ``i``, ``j`` (a pixel
        of it), ``value``, ``strict`` (a single pixel), ``boundary`` (touches the edge).
    plateau_size : ndarray of int, shape (H, W)
        Size of the plateau each pixel belongs to.
    """

    labels: np.ndarray
    minima: pd.DataFrame
    plateau_size: np.ndarray

    @property
    def count(self) -> int:
        return int(len(self.minima))


def neighbours(J: np.ndarray) -> np.ndarray:
    """The 8 neighbours of every pixel, ``(8, H, W)``, ``+inf`` outside the array."""
    H, W = J.shape
    pad = np.pad(J, 1, constant_values=np.inf)
    return np.stack([pad[1 + di:1 + di + H, 1 + dj:1 + dj + W] for di, dj in _OFFSETS])


def grid_local_minima(J: np.ndarray, *, atol: float = 0.0) -> GridMinima:
    """Local minima of a 2-D array by 8-neighbour comparison, with plateau handling.

    Pixels are joined into plateaus when 8-adjacent and equal within ``atol``; a plateau
    is a local minimum iff none of its pixels has a neighbour lower by more than
    ``atol``. A strict local minimum is a one-pixel plateau. Fully vectorised
    (connected components of the equality graph).

    Parameters
    ----------
    J : array (H, W), finite
    atol : float >= 0
        Values within ``atol`` count as equal (0: exact equality).
    """
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2 or J.size == 0:
        raise invalid("J", "a non-empty 2-D array", getattr(J, "shape", None))
    if not np.all(np.isfinite(J)):
        raise invalid("J", "finite values", "NaN or infinite entries")
    if not (atol >= 0 and math.isfinite(atol)):
        raise invalid("atol", "a finite number >= 0", atol)
    H, W = J.shape
    lower = np.any(neighbours(J) < J - atol, axis=0)
    idx = np.arange(H * W).reshape(H, W)
    src, dst = [], []
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = idx[0:H - di, max(0, -dj):W - max(0, dj)]
        b = idx[di:H, max(0, dj):W - max(0, -dj)]
        eq = np.abs(J.ravel()[a] - J.ravel()[b]) <= atol
        src.append(a[eq])
        dst.append(b[eq])
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = sp.coo_matrix((np.ones(src.size), (src, dst)), shape=(H * W, H * W))
    n, labels = connected_components(graph, directed=False)
    size = np.bincount(labels, minlength=n)
    has_lower = np.bincount(labels, weights=lower.ravel(), minlength=n) > 0
    border = np.zeros((H, W), bool)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    touches = np.bincount(labels, weights=border.ravel(), minlength=n) > 0
    mins = np.flatnonzero(~has_lower)
    first = np.full(n, H * W)
    np.minimum.at(first, labels, np.arange(H * W))
    pix = first[mins]
    table = pd.DataFrame({"label": mins, "size": size[mins], "i": pix // W, "j": pix % W,
                          "value": J.ravel()[pix], "strict": size[mins] == 1,
                          "boundary": touches[mins]}).sort_values("value", kind="stable")
    return GridMinima(labels.reshape(H, W), table.reset_index(drop=True),
                      size[labels].reshape(H, W))


def grid_descent_endpoints(J: np.ndarray) -> np.ndarray:
    """Discrete steepest descent on a 2-D array: from every pixel move to the lowest of
    its 8 neighbours while that is strictly lower; return each pixel's final pixel
    (flat index), ``(H, W)``. Vectorised by pointer doubling."""
    J = np.asarray(J, dtype=np.float64)
    H, W = J.shape
    nb = neighbours(J)
    k = np.argmin(nb, axis=0)
    best = np.take_along_axis(nb, k[None], 0)[0]
    off = np.array(_OFFSETS)
    ii, jj = np.indices((H, W))
    target = (ii + off[k, 0]) * W + (jj + off[k, 1])
    ptr = np.where(best < J, target, ii * W + jj).ravel()
    for _ in range(int(math.ceil(math.log2(H * W))) + 1):
        ptr = ptr[ptr]
    return ptr.reshape(H, W)


def quasiconvexity_violation(f, a: np.ndarray, b: np.ndarray, *, n_t: int = 16,
                             ends: tuple | None = None) -> np.ndarray:
    """For segments ``[a_s, b_s]``: ``max_t f(a + t (b - a)) - max(f(a), f(b))`` over
    ``n_t`` interior points (one batched call of ``f``). A quasi-convex f (convex
    sublevel sets) gives ``<= 0`` up to rounding on every segment. ``ends``: the values
    ``(f(a), f(b))`` when the caller has them (grid points, a window's ends), which are
    then not evaluated again."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    t = np.arange(1, n_t + 1) / (n_t + 1)
    pts = a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]
    vals = np.asarray(f(pts.reshape(-1, a.shape[1]))).reshape(len(a), n_t)
    fa, fb = (f(a), f(b)) if ends is None else ends
    return vals.max(axis=1) - np.maximum(np.asarray(fa), np.asarray(fb))


def ray_monotonicity(f, centre: np.ndarray, radius: float, *, n_rays: int = 180,
                     n_r: int = 120) -> pd.DataFrame:
    """``f`` along ``n_rays`` rays from ``centre`` (``n_r`` radii up to ``radius``, one
    batched call): per ray the first radius at which ``f`` decreases (NaN if it never
    does). ``f`` non-decreasing along every ray means star-shaped sublevel sets about
    ``centre``, the weaker property that already makes every descent path end there."""
    centre = np.asarray(centre, float)
    th = np.arange(n_rays) * (2 * math.pi / n_rays)
    r = radius * np.arange(n_r + 1) / n_r
    dirs = np.stack([np.cos(th), np.sin(th)], axis=1)
    pts = centre + r[None, :, None] * dirs[:, None, :]
    vals = np.asarray(f(pts.reshape(-1, 2))).reshape(n_rays, n_r + 1)
    dec = np.diff(vals, axis=1) < 0
    first = np.where(dec.any(axis=1), r[1:][np.argmax(dec, axis=1)], np.nan)
    return pd.DataFrame({"theta": th, "first_decrease_radius": first})


def refine_minima(objective, points: np.ndarray, *, max_iter: int = 200) -> np.ndarray:
    """Continuous local descent (BFGS with reverse-mode gradients) from each grid
    minimum, to tell a true local minimum of J from a grid artefact (a narrow valley
    sampled on a grid shows spurious discrete minima). Loops over the few minima only."""
    from scipy.optimize import minimize

    def fg(z):
        v, g = objective.value_and_gradient(z)
        return float(v), np.asarray(g, float)

    out = [minimize(fg, p, jac=True, method="BFGS", options={"maxiter": max_iter, "gtol": 1e-12}).x
           for p in np.atleast_2d(points)]
    return np.array(out).reshape(-1, 2)


def window_radius(radius) -> float:
    """A window half-width in units of ||z*||: a finite number > 0, else VerifyError
    naming ``window radius`` (the CLI's exit 2)."""
    ok = (isinstance(radius, (int, float, np.integer, np.floating)) and not isinstance(radius, bool)
          and math.isfinite(float(radius)) and float(radius) > 0)
    if not ok:
        raise invalid("window radius", "a finite number > 0 (the half-width of the window "
                      "z* +- r ||z*||, in units of ||z*||)", radius)
    return float(radius)


def start_grid(z_star: np.ndarray, radius: float = HALF_WIDTH, side: int = 8) -> np.ndarray:
    """``side x side`` starts evenly spaced on the window ``z* +- radius ||z*||`` (per
    axis, corners included; z* itself is a start only for odd ``side``), ``(side^2, 2)``."""
    r = window_radius(radius)
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < 2:
        raise invalid("starts per axis", "an integer >= 2", side)
    z_star = np.asarray(z_star, float)
    ax = np.linspace(-1.0, 1.0, int(side)) * r * float(np.linalg.norm(z_star))
    Z1, Z2 = np.meshgrid(z_star[0] + ax, z_star[1] + ax, indexing="ij")
    return np.stack([Z1.ravel(), Z2.ravel()], axis=1)


def descent_from_grid(net, observed: np.ndarray, z_star: np.ndarray, *,
                      radius: float = HALF_WIDTH, side: int = 8, lr: float = GD_LR,
                      iterations: int = GD_ITERATIONS, tol: float = GD_TOL,
                      success: float = GD_SUCCESS, cones=None) -> dict:
    """Fig. 4(a)'s empirical claim as the paper tests it: gradient descent (Adam, lr 0.1,
    :func:`verify.inversion.invert`, all starts as one batch) on J from every start of
    :func:`start_grid`; a start *misses* when it ends farther than ``success`` ||z*||
    from z* (stopped by the iteration cap or at another stationary point).

    Returns a dict: ``table`` (per start: start, end, distance to z* / ||z*||, J at the
    end, iterations, converged, at_z_star), ``missed``, ``starts``, ``fraction``
    (missed / starts) and its exact 95% interval ``ci95``, ``backend``, ``seconds``.
    ``cones`` (:func:`verify.geometry.cones.enumerate_cones` of ``net``, bias-free ReLU or leaky
    ReLU) runs the descent on the exact arc tables
    (:class:`verify.inversion.losses.ArcLoss`), several times faster than the generic
    loss and equal to it to rounding: G is linear on each of these cones for leaky ReLU
    too (property_tests/test_cones.py), which is all the arc tables use."""
    from verify.inversion import invert
    from verify.inversion import ArcLoss

    starts = start_grid(z_star, radius, side)
    backend = "auto" if cones is None else ArcLoss(net, cones.edges, cones.M)
    t0 = time.process_time()
    b = len(starts)
    y = np.asarray(net.forward(np.asarray(z_star, float)), float).reshape(-1)
    mk = np.asarray(observed, bool).reshape(-1)
    res = invert(net, np.tile(y, (b, 1)), np.tile(mk, (b, 1)), method="adam", lr=lr,
                 iterations=iterations, tol=tol, init=starts, backend=backend)
    nz = float(np.linalg.norm(z_star))
    dist = np.linalg.norm(res.z_hat - z_star, axis=1) / nz
    at = dist <= success
    k = int(np.sum(~at))
    lo, hi = exact_interval(k, b)
    table = pd.DataFrame({"start_z1": starts[:, 0], "start_z2": starts[:, 1],
                          "end_z1": res.z_hat[:, 0], "end_z2": res.z_hat[:, 1],
                          "distance_to_z_star": dist, "J_end": res.loss,
                          "iterations": res.iterations, "converged": res.converged,
                          "at_z_star": at})
    return {"table": table, "missed": k, "starts": b, "fraction": k / b, "ci95": [lo, hi],
            "backend": res.settings.get("backend"), "radius": float(radius), "side": int(side),
            "seconds": time.process_time() - t0}


def quasiconvexity_by_window(f, z_star: np.ndarray, radii=WINDOW_RADII, *, segments: int,
                             n_t: int, rng, rel_tol: float) -> pd.DataFrame:
    """Quasi-convexity as a function of the window (Fig. 4(b, c)): for each
    radius r, ``segments`` segments with ends uniform on the square ``z* +- r ||z*||``
    (one common draw of unit-square ends, scaled per window, so the windows differ only
    in their size) and their violations (:func:`quasiconvexity_violation`); a violation
    counts above ``rel_tol`` times the window's largest end value (rounding). Rows:
    ``radius_over_norm_z_star``, ``segments``, ``violations``, ``fraction`` with its exact
    95% interval, ``max_relative_violation`` (of the window's sampled J range), ``tolerance``."""
    radii = tuple(window_radius(r) for r in np.atleast_1d(np.asarray(radii, dtype=object)))
    if not radii:
        raise invalid("window radius", "at least one radius", radii)
    z_star = np.asarray(z_star, float)
    nz = float(np.linalg.norm(z_star))
    u = rng.uniform(-1.0, 1.0, (2, int(segments), 2))
    rows = []
    for r in radii:
        a, b = z_star + r * nz * u[0], z_star + r * nz * u[1]
        fa, fb = np.asarray(f(a)), np.asarray(f(b))
        viol = quasiconvexity_violation(f, a, b, n_t=n_t, ends=(fa, fb))
        top = float(max(fa.max(), fb.max()))
        tol = rel_tol * top
        k = int(np.sum(viol > tol))
        lo, hi = exact_interval(k, len(viol))
        span = max(top - float(min(fa.min(), fb.min())), 1e-300)
        rows.append({"radius_over_norm_z_star": r, "segments": len(viol), "violations": k,
                     "fraction": k / len(viol), "ci_low": lo, "ci_high": hi,
                     "max_relative_violation": float(viol.max()) / span, "tolerance": tol})
    return pd.DataFrame(rows)

# ---------------------------------------------------------------- the window's grid
#: Batch size of the grid's forward passes: each column's arithmetic is its own, so J
#: is the same for any chunk; 256 columns keep a layer's (n_i, chunk) array in cache
#: (about twice as fast as 8,192 on the Fig. 4 networks, ``verify bench``).
CHUNK = 256
#: At most this many grid minima are refined by continuous descent.
MAX_REFINE = 16


def chunked(fn, Z: np.ndarray) -> np.ndarray:
    """``fn`` on the rows of ``Z`` in batches of :data:`CHUNK`, concatenated."""
    return np.concatenate([fn(Z[s:s + CHUNK]) for s in range(0, len(Z), CHUNK)])


@dataclass
class Grid:
    """J on the N x N grid centred at z* (``axis``: offsets from z* per coordinate)."""

    z_star: np.ndarray
    objective: Objective
    fJ: ExplicitJ
    half_width: float
    axis: np.ndarray
    points: np.ndarray      # (N * N, 2)
    J: np.ndarray           # (N, N)
    explicit_gap: float

    @property
    def side(self) -> int:
        return len(self.axis)

    @property
    def spacing(self) -> float:
        return float(self.axis[1] - self.axis[0])

    def f(self, Z: np.ndarray) -> np.ndarray:
        """J at any batch of latents (chunked)."""
        return chunked(self.fJ, Z)


def window_grid(net, A, st: dict, rng) -> Grid:
    """J(z) = 1/2 ||A G(z*) - A G(z)||^2 on an N x N grid of z* +- 2.5 ||z*|| (Fig. 4;
    Sec. 4.2), z* ~ N(0, I_2), the explicit sparse path cross-checked on 64 points."""
    N = st["grid"]
    z_star = rng.standard_normal(2)
    obj = Objective.from_truth(net, A, z_star)
    R = HALF_WIDTH * float(np.linalg.norm(z_star))
    axis = np.linspace(-R, R, N)
    Z1, Z2 = np.meshgrid(z_star[0] + axis, z_star[1] + axis, indexing="ij")
    Zg = np.stack([Z1.ravel(), Z2.ravel()], axis=1)
    fJ = ExplicitJ(obj)
    J = chunked(fJ, Zg).reshape(N, N)
    probe = Zg[rng.integers(0, N * N, 64)]
    explicit_gap = float(np.max(np.abs(fJ(probe) - obj.value(probe)))
                         / max(float(np.max(obj.value(probe))), 1e-300))
    return Grid(z_star, obj, fJ, R, axis, Zg, J, explicit_gap)


def flat_region(grid: Grid, mins: GridMinima) -> dict:
    """The flat region: plateaus of >= 2 pixels of equal J on which G is verified
    constant, latents mapped to one output (Fig. 4(d): mode collapse)."""
    N, labels = grid.side, mins.labels
    plateau = mins.plateau_size >= 2
    flat = np.zeros((N, N), bool)
    distinct_outputs = 0
    if np.any(plateau):
        pl = np.flatnonzero(plateau.ravel())
        out = chunked(grid.fJ.outputs, grid.points[pl])
        lab = labels.ravel()[pl]
        order = np.argsort(lab, kind="stable")
        lab, out, pl = lab[order], out[order], pl[order]
        start = np.r_[0, np.flatnonzero(np.diff(lab)) + 1]
        ref = np.repeat(out[start], np.diff(np.r_[start, len(lab)]), axis=0)
        same = np.all(out == ref, axis=1)
        comp_ok = np.minimum.reduceat(same.astype(int), start).astype(bool)
        ok_pix = np.repeat(comp_ok, np.diff(np.r_[start, len(lab)]))
        flat.ravel()[pl[ok_pix]] = True
        distinct_outputs = int(np.sum(comp_ok))
    return {"mask": flat, "fraction": float(flat.mean()), "components": distinct_outputs,
            "area": float(flat.sum() * grid.spacing ** 2)}


def window_segments(grid: Grid, st: dict, rng):
    """The quasi-convexity criterion's segments between random grid points of the window
    and their violations max_t J(a + t (b - a)) - max(J(a), J(b))."""
    NN, Zg = grid.side ** 2, grid.points
    ia = rng.integers(0, NN, st["segments"])
    ib = rng.integers(0, NN, st["segments"])
    Jf = grid.J.ravel()
    return ia, ib, quasiconvexity_violation(grid.f, Zg[ia], Zg[ib], n_t=st["segment_points"],
                                            ends=(Jf[ia], Jf[ib]))


def quasiconvexity(grid: Grid, st: dict, tol: float, rng) -> dict:
    """Sublevel sets convex, J(a + t (b - a)) <= max(J(a), J(b)) on sampled segments, on
    the window and within ||z*|| of z* (Sec. 4.2: sigmoid, tanh quasi-convex, Fig. 4(b, c));
    and J non-decreasing along rays from z* (star-shaped sublevel sets)."""
    J, Zg, z_star = grid.J, grid.points, grid.z_star
    ia, ib, viol = window_segments(grid, st, rng)
    # the same restricted to segments within ||z*|| of z* (is the claim local?)
    ball = np.flatnonzero(np.linalg.norm(Zg - z_star, axis=1) <= np.linalg.norm(z_star))
    la, lb = ball[rng.integers(0, ball.size, st["segments"] // 2)], \
        ball[rng.integers(0, ball.size, st["segments"] // 2)]
    viol_loc = quasiconvexity_violation(grid.f, Zg[la], Zg[lb], n_t=st["segment_points"],
                                        ends=(J.ravel()[la], J.ravel()[lb]))
    levels = np.maximum(J.ravel()[ia], J.ravel()[ib])
    rays = ray_monotonicity(grid.f, z_star, grid.half_width, n_rays=st["rays"],
                            n_r=st["ray_points"])
    return {"violation": viol, "relative": viol / max(float(J.max() - J.min()), 1e-300),
            "violations": int(np.sum(viol > tol)), "bad_levels": levels[viol > tol],
            "local_segments": int(len(viol_loc)),
            "local_violations": int(np.sum(viol_loc > tol)), "rays": rays,
            "first_decrease": rays["first_decrease_radius"].to_numpy()}


def refined_minima(grid: Grid, mins: GridMinima):
    """The (up to MAX_REFINE lowest) grid minima, refined by continuous descent, and the
    distinct limits (merged within a cell's diagonal): the headline's local minima."""
    z_star, axis, h = grid.z_star, grid.axis, grid.spacing
    gm = mins.minima.head(MAX_REFINE)
    starts = np.stack([z_star[0] + axis[gm["i"].to_numpy()],
                       z_star[1] + axis[gm["j"].to_numpy()]], 1)
    refined = refine_minima(grid.objective, starts)
    to_star = np.linalg.norm(refined - z_star, axis=1)
    clusters = []
    for p in refined:
        if not any(np.linalg.norm(p - q) <= math.sqrt(2) * h for q in clusters):
            clusters.append(p)
    return gm, refined, to_star, clusters


def grid_minima_and_basin(grid: Grid, mins: GridMinima) -> dict:
    """The grid minima refined by continuous descent: distinct local minima of J, and
    the basin of z* (Fig. 4: a unique minimum; Theorem 1 allows one near -rho z*)."""
    z_star, axis, h = grid.z_star, grid.axis, grid.spacing
    c = grid.side // 2  # z* is the centre pixel
    labels, star_label = mins.labels, mins.labels[c, c]
    ends = grid_descent_endpoints(grid.J)
    gm, refined, to_star, clusters = refined_minima(grid, mins)
    # basin of z*: descent ends in z*'s plateau or in a grid minimum that refines to z*
    # (a narrow valley through z* shows one-cell artefact minima next to it)
    star_like = set(gm["label"][to_star <= math.sqrt(2) * h].tolist()) | {int(star_label)}
    in_basin = np.isin(labels.ravel()[ends.ravel()], list(star_like))
    table = gm.assign(
        refined_z1=refined[:, 0], refined_z2=refined[:, 1],
        refined_distance_to_z_star=to_star / np.linalg.norm(z_star)).assign(
            z1=lambda d: z_star[0] + axis[d["i"]], z2=lambda d: z_star[1] + axis[d["j"]],
            at_z_star=lambda d: d["label"] == star_label)
    return {"table": table, "clusters": clusters, "in_basin": in_basin,
            "basin": float(np.mean(in_basin)),
            "basin_cell_only": float(np.mean(labels.ravel()[ends.ravel()] == star_label)),
            "star_is_min": bool(np.any(mins.minima["label"] == star_label))}



#: A refined grid minimum is at J's minimum (J(z*) = 0) when its J is within this
#: fraction of the window's J range: BFGS from a grid minimum (gtol 1e-12) stops there.
GLOBAL_REL_TOL = 1e-8


def sampled_global_minima(grid: Grid, clusters, flat: dict, jtol: float) -> dict:
    """The global minimisers of J as the grid sees them (``method: sampled``): the
    distinct refined minima (``clusters``, :func:`refined_minima`) whose J is within
    ``GLOBAL_REL_TOL`` of the window's J range of J(z*) = 0, and the flat region's pixels
    (:func:`flat_region`) within ``jtol`` of it. ``minimisers`` counts each point once and
    a flat region at the minimum twice (a continuum of minimisers, never a unique one);
    trivial ceiling MAX_REFINE + 2."""
    P = np.asarray(clusters, float).reshape(-1, 2)
    tol = GLOBAL_REL_TOL * max(float(grid.J.max() - grid.J.min()), 1e-300)
    Jp = grid.f(P) if len(P) else np.zeros(0)
    points = int(np.sum(Jp <= tol))
    flat_min = bool(np.any(flat["mask"] & (grid.J <= jtol)))
    return {"method": "sampled", "points": points, "flat_cones": int(flat_min),
            "flat_fraction": float(np.mean(flat["mask"] & (grid.J <= jtol))),
            "minimisers": points + 2 * int(flat_min), "ceiling": MAX_REFINE + 2,
            "tolerance": tol, "z_star_among": bool(points > 0 or flat_min),
            "any_flat_fraction": float(flat["fraction"])}
