"""The points, kinks and exact stationary sets of the ``descent`` check (Theorem 1,
Eq. (4)-(5)), on the numerics of :mod:`verify.geometry.descent`: where the search
starts (:func:`starts`), the records of the measured points, kinks, D_w J(0) and the
exact stationary set per (measurement, target) pair (:class:`Points`, :class:`Kinks`,
:class:`DwJ0`, :class:`Exact`), the ray minimisers of J(-t z*) against rho_d
(:func:`rho_table`) and the surrogate gap over a sweep of widths (:func:`width_sweep`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from dataclasses import replace as dc_replace

import numpy as np
import pandas as pd

from verify.formulas import rho
from verify.geometry.descent import EPS_BALL, STAT_TOL, Problem, surrogate_gap, unit
from verify.measurements import make_mask
from verify.network import Network
from verify.spec import NetworkSpec
from verify.weights import draw_network


def kappa_floor(spec) -> float:
    """The smallest value kappa(w) can take on any network of this shape: 0 when the
    last layer is a ReLU (G >= 0 entrywise and the masks are 0/1, so <A G(z*), A G(w)>
    >= 0 always and only the strict inequality is a claim); -inf for a leaky ReLU."""
    return 0.0 if spec.layers[-1].activation == "relu" else -math.inf


def starts(problem: Problem, rng, radii, per_radius, near_negative: bool):
    """Initialisations on shells radius * ||z*|| in random directions, plus -z* and a
    direction orthogonal to z* on every shell (and points near -t z* if asked),
    for every (measurement, target) pair. Returns z, s, k, kind."""
    S, K = problem.masks.shape[0], problem.zstar.shape[0]
    n0 = problem.zstar.shape[1]
    zh = unit(problem.zstar)
    ortho = unit(rng.normal(size=(K, n0)))
    ortho = unit(ortho - np.sum(ortho * zh, axis=-1, keepdims=True) * zh)
    rows_z, rows_k, kinds = [], [], []
    for r in radii:  # loop over a handful of radii; directions are arrays
        d = unit(rng.normal(size=(K, per_radius, n0)))
        d = np.concatenate([d, -zh[:, None], ortho[:, None]], axis=1)
        rows_z.append(r * np.linalg.norm(problem.zstar, axis=-1)[:, None, None] * d)
        rows_k.append(np.repeat(np.arange(K)[:, None], d.shape[1], axis=1))
        kinds.append(np.array(["shell"] * per_radius + ["-z*", "orthogonal"])[None]
                     .repeat(K, axis=0))
    if near_negative:
        ts = np.array([0.5, 1.0, 1.5]) * rho(problem.d)
        pert = 0.05 * unit(rng.normal(size=(K, ts.size, n0)))
        d = -ts[None, :, None] * problem.zstar[:, None, :] + pert * np.linalg.norm(
            problem.zstar, axis=-1)[:, None, None]
        rows_z.append(d)
        rows_k.append(np.repeat(np.arange(K)[:, None], ts.size, axis=1))
        kinds.append(np.array(["near -rho z*"] * ts.size)[None].repeat(K, axis=0))
    z = np.concatenate(rows_z, axis=1).reshape(-1, n0)
    k = np.concatenate(rows_k, axis=1).reshape(-1)
    kind = np.concatenate(kinds, axis=1).reshape(-1)
    nrow = z.shape[0]
    return (np.tile(z, (S, 1)), np.repeat(np.arange(S), nrow), np.tile(k, S),
            np.tile(kind, S))



def width_sweep(config: Config, instance: Instance, rate, factors, n_samples, rng):
    """The surrogate gap (and the minimiser rho of J along -t z*, two targets) on
    networks whose channels (all but the latent's) are scaled by each factor, full
    observation and a random mask at the instance's rate."""
    spec = config.spec
    rows = []
    rate = float(rate)
    for f in factors:  # a handful of widths
        layers = tuple(dc_replace(l, channels=max(1, int(round(f * l.channels))))
                       for l in spec.layers)
        sp = NetworkSpec(spec.dims, spec.latent_channels, layers, spec.latent_size)
        if sp.output_dim * n_samples * 4 > (1 << 24):
            continue
        net = (instance.network if f == 1.0 else
               draw_network(sp, config.weights, rng=rng))
        masks = np.stack([np.ones(sp.output_dim, bool),
                          make_mask("random", sp.output_shape, rate, rng=rng).reshape(-1)])
        zstar = rng.normal(size=(2, sp.latent_dim))
        z = rng.normal(size=(2, 2, n_samples, sp.latent_dim)) * rng.choice(
            [0.3, 1.0, 3.0], size=(2, 2, n_samples, 1))
        s = np.repeat(np.arange(2), 2 * n_samples)
        k = np.tile(np.repeat(np.arange(2), n_samples), 2)
        z = z.reshape(-1, sp.latent_dim) * np.linalg.norm(zstar[k], axis=-1, keepdims=True) \
            / math.sqrt(sp.latent_dim)
        gap = surrogate_gap(net, config.weights if config.loader is None else None,
                            masks, zstar, z, s, k)
        gp, gm = net.forward(zstar), net.forward(-zstar)
        for si, name in enumerate(("full", f"random r={rate:g}")):
            g = gap[s == si]
            m = masks[si]
            ray = np.sum(m * gp * gm, axis=-1) / np.maximum(np.sum(m * gm * gm, axis=-1), 1e-300)
            rows.append({"factor": f, "channels": "-".join(map(str, sp.channels)),
                         "rho_ray_mean": float(ray.mean()),
                         "block_rows": int(sp.layers[-1].channels * sp.layers[-1].kernel
                                           ** sp.dims),
                         "measurement": name, "gap_mean": float(g.mean()),
                         "gap_max": float(g.max()), "n": int(g.size)})
    return pd.DataFrame(rows)


def project(z, zstar):
    """Coordinates in span{z*, the point's own perpendicular direction}, / ||z*||."""
    nz = np.linalg.norm(zstar, axis=-1)
    par = np.sum(z * zstar, axis=-1) / nz**2
    perp = np.linalg.norm(z - par[:, None] * zstar, axis=-1) / nz
    return par, perp


@dataclass
class Points:
    """The points where the descent rate is measured, one row each: end points of the
    two searches and unsearched shell samples (``search``: descent / critical / sample),
    with their rates and distances to the balls (filled by :func:`_step_descent_rates`)."""

    z: np.ndarray
    s: np.ndarray
    k: np.ndarray
    search: np.ndarray
    start: np.ndarray
    n_critical: int
    n_sample: int
    evaluations: int
    self_check: float
    rate: np.ndarray | None = None
    gnorm: np.ndarray | None = None
    d_pos: np.ndarray | None = None
    d_neg: np.ndarray | None = None
    par: np.ndarray | None = None
    perp: np.ndarray | None = None

    @property
    def stationary(self) -> np.ndarray:
        return self.rate <= STAT_TOL

    @property
    def inside(self) -> np.ndarray:
        return np.minimum(self.d_pos, self.d_neg) <= EPS_BALL

    @property
    def found(self) -> np.ndarray:
        """Stationary end points of a search (shell samples excluded)."""
        return self.stationary & (self.search != "sample")


@dataclass
class Kinks:
    """Kink points (a first-layer pre-activation exactly 0) and the exact one-sided
    D_v J there, against one-sided finite differences (:func:`_step_kinks`)."""

    s: np.ndarray
    k: np.ndarray
    units: np.ndarray
    dist: np.ndarray
    dd: np.ndarray
    fd: np.ndarray
    verified: np.ndarray
    simple: np.ndarray
    isolated: np.ndarray

    @property
    def outside(self) -> np.ndarray:
        """Usable kinks (exact zero verified, no rounding-residue neighbour) outside the balls."""
        return (self.dist > EPS_BALL) & self.verified & self.simple


@dataclass
class Exact:
    """The exact stationary set per (measurement, target) pair (:func:`exact_stationary_set`):
    every point but the origin, with its pair and distances, and the origins' classes."""

    z: np.ndarray
    s: np.ndarray
    k: np.ndarray
    kind: np.ndarray
    classification: np.ndarray
    d_pos: np.ndarray
    d_neg: np.ndarray
    origin: np.ndarray          # (S * K,) classification of the origin per pair
    n_cones: int
    seconds: float

    @property
    def outside(self) -> np.ndarray:
        return np.minimum(self.d_pos, self.d_neg) > EPS_BALL


@dataclass
class DwJ0:
    """kappa(w) over random and adversarial unit w per (measurement, target) pair."""

    s: np.ndarray
    k: np.ndarray
    kappa: np.ndarray
    kappa_random: np.ndarray
    kappa_adversarial: np.ndarray
    identity_gap: float


#: Largest number of units (all layers) for which a 3-D latent's stationary set is
#: enumerated exactly per draw (:func:`exact_reason`).
MAX_UNITS_3D = 128


def exact_reason(network: Network) -> str | None:
    """Why the exact stationary set does not apply (None when it does)."""
    from verify.geometry.cones import not_applicable

    units = sum(network.spec.widths[1:])
    if network.spec.latent_dim == 3 and units > MAX_UNITS_3D:
        # a 3-D latent's cells grow about as the square of the units (measured: 85
        # units ~3,000 cells, 0.2 s; 112 units ~4,600-7,800 cells, 0.3 s; 256 units
        # 32,000 cells, 3 s and 2 s per target): beyond this the search is used
        return (f"a 3-D latent with {units:,} units: the exact cells are enumerated up to "
                f"{MAX_UNITS_3D} units; the search is used")
    return not_applicable(network)


def exact_stationary_set(problem: Problem) -> Exact:
    """Every stationary point of J exactly (lemmas/README.md) for every (measurement,
    target) pair of the search, on the same y = A G(z*) and masks; the cones once per
    network. No random draw."""
    from verify.geometry.cones import enumerate_cones
    from verify.geometry.stationary import stationary_points

    t0 = time.process_time()
    net = problem.network
    cones = enumerate_cones(net)
    g = net.forward(problem.zstar)
    S, K = problem.masks.shape[0], problem.zstar.shape[0]
    rows, origin = [], []
    for si in range(S):          # two measurements
        for kk in range(K):      # a few targets
            land = stationary_points(net, g[kk], problem.masks[si].astype(float),
                                     cones=cones)
            pts = land.relative_to(problem.zstar[kk], rho(problem.d))
            is_origin = pts["kind"] == "origin"
            origin.append(str(pts.loc[is_origin, "classification"].iloc[0])
                          if is_origin.any() else "none")
            rows.append(pts[~is_origin].assign(s=si, k=kk))
    df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    n0 = problem.zstar.shape[1]
    z = np.stack(df["z"].to_list()) if len(df) else np.zeros((0, n0))
    return Exact(z, df["s"].to_numpy(int), df["k"].to_numpy(int), df["kind"].to_numpy(str),
                  df["classification"].to_numpy(str), df["dist_zstar"].to_numpy(float),
                  df["dist_neg_rho"].to_numpy(float), np.array(origin), cones.count,
                  time.process_time() - t0)


def rho_table(problem: Problem, points: Points) -> pd.DataFrame:
    """Where the negative-side critical point sits, against rho_d (Theorem 1's rho, H&V):
    the ray minimiser of J along -t z* and the searched point nearest -rho_d z*."""
    S, K = problem.masks.shape[0], problem.zstar.shape[0]
    gp, gm = problem.network.forward(problem.zstar), problem.network.forward(-problem.zstar)
    stationary, rate, par = points.stationary, points.rate, points.par
    rows = []
    for si in range(S):  # two measurements
        m = problem.masks[si]
        num, den = np.sum(m * gp * gm, axis=-1), np.sum(m * gm * gm, axis=-1)
        ray = np.where(den > 0, np.maximum(num, 0.0) / np.where(den > 0, den, 1.0), np.nan)
        for kk in range(K):
            sel = (points.s == si) & (points.k == kk) & (points.search != "sample") & (par < 0)
            stat_sel = sel & stationary
            if stat_sel.any():
                j = np.flatnonzero(stat_sel)[np.argmin(points.d_neg[stat_sel])]
                src = "stationary point"
            elif sel.any():
                j = np.flatnonzero(sel)[np.argmin(rate[sel])]
                src = "least-rate point (no stationary point on the negative side)"
            else:
                j, src = None, "none"
            rows.append({"measurement": problem.mask_names[si], "target": kk,
                         "rho_ray": float(ray[kk]),
                         "rho_point": float(-par[j]) if j is not None else float("nan"),
                         "point_rate": float(rate[j]) if j is not None else float("nan"),
                         "point_perp": float(points.perp[j]) if j is not None else float("nan"),
                         "point_source": src, "rho_d": rho(problem.d)})
    return pd.DataFrame(rows)


def rho_summary(rho_df: pd.DataFrame) -> dict:
    """Mean and range of the ray minimisers (NaN where J(-t z*) has no interior minimiser
    on any target, e.g. a contracting network: NaN then, without numpy's All-NaN warning)."""
    ray = rho_df["rho_ray"].to_numpy(float)
    point = rho_df["rho_point"].to_numpy(float)
    ok, pk = np.isfinite(ray), np.isfinite(point)
    return {"rho_ray_mean": float(ray[ok].mean()) if ok.any() else float("nan"),
            "rho_ray_range": ([float(ray[ok].min()), float(ray[ok].max())] if ok.any()
                              else [float("nan"), float("nan")]),
            "rho_point_mean": float(point[pk].mean()) if pk.any() else float("nan")}
