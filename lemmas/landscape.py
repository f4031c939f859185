"""The landscape of J for 2-D latents (paper Fig. 4, Sec. 4.2; Theorem 1; MATH.md 5-6).

``J(z) = 1/2 ||A G(z*) - A G(z)||^2`` is evaluated on an ``N x N`` grid centred at
``z*`` (one batched forward pass over all grid points) and quantified, not only drawn:

* the local minima of the grid (8-neighbour comparison; a plateau of equal values is
  one candidate, a minimum when none of its pixels has a strictly lower neighbour),
  their locations, and whether the only one is at ``z*``;
* the basin of ``z*``: the fraction of grid points from which discrete steepest descent
  (move to the lowest of the 8 neighbours while it is strictly lower) ends in z*'s
  minimum (or in a grid minimum that continuous descent takes to z*);
* every grid minimum refined by continuous descent (BFGS): the distinct limits are
  the true local minima (a narrow valley on a grid shows spurious discrete minima);
* quasi-convexity (sublevel sets convex, the paper's claim for sigmoid and tanh):
  ``J(a + t (b - a)) <= max(J(a), J(b))`` on many sampled segments between grid points;
* the flat region: grid points on plateaus of exactly equal ``J`` on which ``G`` itself
  is verified constant, i.e. a region of latents mapped to one output (the mode
  collapse of Fig. 4(d)).

Verdict (the paper's claims): one local minimum (distinct limits of the refined grid
minima), at ``z*``, a flat region of zero area, gradient descent from a grid of starts
ending only at ``z*`` (``gd_only_to_z_star``), and, for sigmoid and tanh, no
quasi-convexity violation beyond rounding. Where a claim does not reproduce the result
says so in ``details["findings"]`` (e.g. a second minimum next to ``-rho_d z*``, which
Theorem 1 allows, or non-convex sublevel sets far from ``z*``). ``z*`` is drawn
``N(0, I_2)`` from the check's stream; the window is ``z* +- 2.5 ||z*||`` per axis.

Fig. 4 as the paper states it (issue 14)
---------------------------------------
* Fig. 4(a): Theorem 4 allows a stationary point near ``-rho_d z*``; the empirical claim
  is that descent never converges anywhere but z* ("experimentally we do not observe
  convergence to any point other than the global minimum"). The criterion
  ``gd_only_to_z_star`` runs it as the paper does (Adam, lr 0.1, up to 1000 iterations,
  :func:`verify.inversion.invert` with all starts as one batch) from an 8 x 8 (--quick) or
  16 x 16 grid of starts on the window ``z* +- 2.5 ||z*||``: its statistic is the fraction
  of starts that end farther than 1e-3 ||z*|| from z*, with its exact interval, bound 0,
  ceiling 1. It is judged apart from ``local_minima`` (a narrow extra minimum may catch no
  start), on every draw (:func:`check_draw` too), and over the draws on its own
  (``details["over_draws"]["claims"]``). A draw still fails when any claim fails on it.
* Fig. 4(b, c): quasi-convexity is judged on the figure's window only; beside it,
  :func:`quasiconvexity_by_window` reports it at window radii 0.5, 1, 1.5, 2.5 ||z*||
  (table ``quasiconvexity_by_window``; over draws, the rate per radius and the smallest
  radius at which it fails), so the finding says where it starts to fail.
* Sec. 4.2, "Leaky ReLU has the same landscape as a regular ReLU": on a leaky network
  the same weights and mask with ReLU (:func:`_relu_twin`; on the presets, paper-fig4's
  network) side by side: both exact stationary sets, their minima relative to z* and
  ``-rho_d z*``, the grid basin of z* and gradient descent on both, and measured
  distances between the landscapes (relative sup / L2 difference of J on the window grid,
  rank correlation, the Hausdorff distance between the two sets of local minima in units
  of ||z*||). Reported (details ``leaky_vs_relu``, tables, a figure), not judged: the
  paper states no bound on how close the two must be.

Deeper networks and settings (issue 14)
---------------------------------------
The check runs on the 3-layer 2-D-latent preset ``theory-3layer`` as well (Sec. 4.2: the
Fig. 4 landscape "empirically extends"; Theorem 1 with d = 3 allows a stationary point
near ``-rho_3 z*``): the exact method applies there, 40 draws cost about a CPU-minute,
and the result is a registered finding (other local minima on most draws, all on the
negative side). A config file may set the window radii of the quasi-convexity sweep
(``[checks.landscape] window_radii``, :data:`SETTINGS`; a radius <= 0 is refused with
exit 2 naming ``checks.landscape.window_radii``).

Method (issue 17; MATH.md Sec. 12)
----------------------------------
For a bias-free ReLU / leaky-ReLU network observed through a 0/1 mask the grid is only
a picture: :func:`verify.stationary.stationary_points` lists every stationary point of
J exactly (J is a quadratic on each of the K cones of G). There the criteria
``local_minima`` and ``flat_fraction`` come from that list (``method: exact``, in
``details["method"]`` and in the criteria's notes), on the same y = A G(z*) and mask,
and the grid's numbers stay beside them in ``details["sampled"]``:

* ``local_minima``: 1 (z*, J = 0) plus the exact rows classified ``local minimum``
  farther than ZSTAR_TOL ||z*|| from z*, anywhere in the plane (not only in the window).
  Trivial ceiling 2K + 1: at most one stationary point per cone (a convex quadratic),
  one per boundary ray (J is a quadratic in the radius along it) and the origin.
* ``flat_fraction``: the fraction of directions (angle / 2 pi) of the cones whose
  quadratic is singular with stationary points (rows ``flat``: a region mapped to one
  output, or a valley of minimisers); ceiling 1.

Otherwise (sigmoid, tanh, biases, a dense A, a latent dimension other than 2) the grid's
numbers are the criteria (``method: sampled``, with the reason the exact method does not
apply in ``details["method_reason"]``). Quasi-convexity (sigmoid / tanh) is always
sampled. :func:`check_draw` uses the same method as :func:`check`; where the exact
method applies it skips the grid (draw 0, the full check, keeps it for the figure and
the comparison).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lemmas._formulas import rho
from lemmas._landscape_grid import (GD_ITERATIONS, GD_LR, GD_SUCCESS, GD_TOL,  # noqa: F401
                                    HALF_WIDTH, WINDOW_RADII, GridMinima,
                                    descent_from_grid, grid_descent_endpoints,
                                    grid_local_minima, quasiconvexity_by_window,
                                    quasiconvexity_violation, ray_monotonicity,
                                    refine_minima, start_grid, _neighbours)
from verify import settings as user_settings
from verify.findings import KnownFinding
from verify.objective import Objective
from verify.registry import register
from verify.results import Criterion, Outcome
from verify.stats import exact_interval
from verify.verdicts import DrawRule, KnownBad, judge_draws

EPS = np.finfo(np.float64).eps
#: Batch size of the grid's forward passes (bounds the memory of the conv columns).
CHUNK = 8192
#: At most this many grid minima are refined by continuous descent.
MAX_REFINE = 16
#: An exact local minimum closer than this to z* (relative to ||z*||) is z* itself:
#: the cone solve reproduces z* to rounding (~1e-15 relative, measured on paper-fig4).
ZSTAR_TOL = 1e-6
#: What a config file may set in its [checks.landscape] table (verify.settings; issue
#: 14: a radius <= 0 is bad input).
SETTINGS = {
    "window_radii": user_settings.numbers(
        WINDOW_RADII, "window radii z* +- r ||z*|| at which quasi-convexity is reported "
        "(sigmoid / tanh; table quasiconvexity_by_window); the judged criterion keeps the "
        f"figure's window {HALF_WIDTH:g}", above=0.0, unit="(units of ||z*||)"),
}


# ============================================================ the check
def _settings(quick: bool, settings: dict | None = None) -> dict:
    """The sample sizes, and the user's settings (:data:`SETTINGS`, defaults when None)."""
    user = user_settings.values(SETTINGS, settings)
    radii = {"window_radii": tuple(user["window_radii"])}
    if quick:
        return {"grid": 61, "segments": 300, "segment_points": 8, "rays": 60, "ray_points": 40,
                "gd_side": 8, **radii}
    return {"grid": 161, "segments": 1000, "segment_points": 12, "rays": 120, "ray_points": 80,
            "gd_side": 16, **radii}


def _draw_settings(quick: bool, settings: dict | None = None) -> dict:
    """Sample sizes of :func:`check_draw` (draws 1..N-1 of the verdict over draws): the
    check's own, except that --quick draws use a 121-point grid instead of 61. A second
    local minimum near -rho z* is often narrow, and a coarse grid misses it: on
    paper-fig4, draws 1..39 of base seeds 0 and 1, grids of 61 / 81 / 101 / 121 / 161
    points found 5-6 / 8-13 / 7-11 / 11-11 / 14-12 failing draws. The --quick run's own
    draw keeps 61 points (its single-draw numbers are unchanged)."""
    st = _settings(quick, settings)
    return {**st, "grid": 121} if quick else st


def _requires(config) -> str | None:
    if config.spec.latent_dim != 2:
        return f"needs a 2-D latent (latent dimension is {config.spec.latent_dim})"
    return None


def configs():
    """Fig. 4 architecture (2 -> 16 ch -> 1 ch, k5 s3) with a leaky ReLU or ReLU and
    N(0, 1) weights, fully observed: the lemma's conditions (zero-mean Gaussian)."""
    from hypothesis import strategies as st

    from verify.measurements import MaskSpec
    from verify.presets import Config
    from verify.spec import LayerSpec, NetworkSpec
    from verify.weights import WeightLaw

    def build(act, c1):
        spec = NetworkSpec(dims=2, latent_channels=2, layers=(
            LayerSpec(channels=c1, kernel=5, stride=3, activation=act),
            LayerSpec(channels=1, kernel=5, stride=3, activation=act)))
        return Config(f"fig4-{act}-c{c1}", spec, WeightLaw("gaussian", 1.0), MaskSpec("full", 1.0))

    return st.builds(build, st.sampled_from(("leaky_relu",)), st.integers(8, 16))


def counter_configs():
    """The Fig. 4 architecture with ReLU and U[0, 1] weights (Fig. 4(d)): the latents
    with non-positive layer-1 pre-activations are all mapped to 0 (a flat region)."""
    from hypothesis import strategies as st

    from verify.measurements import MaskSpec
    from verify.presets import Config
    from verify.spec import LayerSpec, NetworkSpec
    from verify.weights import WeightLaw

    def build(c1):
        spec = NetworkSpec(dims=2, latent_channels=2, layers=(
            LayerSpec(channels=c1, kernel=5, stride=3), LayerSpec(channels=1, kernel=5, stride=3)))
        return Config(f"fig4-relu-c{c1}-uniform01", spec, WeightLaw("uniform01"),
                      MaskSpec("full", 1.0), counterexample=True)

    return st.builds(build, st.integers(8, 16))


def _chunked(fn, Z: np.ndarray) -> np.ndarray:
    return np.concatenate([fn(Z[s:s + CHUNK]) for s in range(0, len(Z), CHUNK)])


class _ExplicitJ:
    """J through the explicit sparse layer matrices ``sigma(W_i x + b_i)`` (MATH.md 1),
    built once: for the grid's tens of thousands of codes this is several times faster
    than the strided conv path, and it is cross-checked against ``Objective.value``."""

    def __init__(self, objective: Objective):
        net = objective.network
        self.obj = objective
        self.layers = [(net.layer_matrix(i).tocsr(), net.layer_bias(i)[:, None], l.activation,
                        l.slope) for i, l in enumerate(net.spec.layers)]

    def outputs(self, Z: np.ndarray) -> np.ndarray:
        """G(z) for a batch ``(b, 2)``, flat channel-major ``(b, n_d)``."""
        from verify import activations

        x = np.atleast_2d(np.asarray(Z, float)).T
        for W, b, act, slope in self.layers:
            x = activations.apply(act, W @ x + b, slope)
        return np.ascontiguousarray(x.T)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        r = self.obj.residual(self.outputs(Z))
        return 0.5 * np.sum(r * r, axis=-1)


#: Examined mismatches (verify.findings): the paper's quasi-convexity claim for the
#: sigmoid and tanh landscapes of Fig. 4(b, c) does not reproduce.
FINDINGS = (
    KnownFinding(
        preset="paper-fig4-sigmoid",
        differs="the sigmoid landscape is not quasi-convex: a few segments between grid "
                "points rise above both endpoints (Fig. 4(b) calls it quasi-convex)",
        why="measured on segments, the sublevel sets are not convex away from z*: every "
            "violating segment lies outside ||z*|| of z*, at high levels of J. What recovery "
            "needs still holds: J decreases towards z* along each of 120 sampled rays (star-"
            "shaped sublevel sets), the minimum is unique, at z*, and every grid point descends "
            "to it",
        evidence="seed 0, full run: about 5 of 1,000 random segments on the window z* "
                 "+- 2.5 ||z*|| violate, the lowest at about 0.7 of the J range, none of the "
                 "500 within ||z*|| of z*; 0 of 120 rays from z* with a decrease; 1 "
                 "minimum, basin of z* 100 %. Full runs of seeds "
                 "1 and 2 show it too, seed 3 does not; --quick runs (300 segments) show it "
                 "on some seeds only: a marginal effect, required only on the full runs of "
                 "the seeds where it was seen",
        replay="verify check landscape --preset paper-fig4-sigmoid --seed 0 --draws 1",
        seeds=(0, 1, 2), quick=False, criteria=("quasiconvexity_violations",),
        single_draw=True),
    KnownFinding(
        preset="paper-fig4-tanh",
        differs="the tanh landscape is not quasi-convex: about one segment in ten between "
                "grid points rises above both endpoints (Fig. 4(c) calls it quasi-convex)",
        why="measured on segments, the sublevel sets are not convex away from z* (none of "
            "the violating segments lies within ||z*|| of z*), from about a tenth of the J "
            "range up. What recovery needs still holds: J decreases towards z* along each "
            "of 120 sampled rays (star-shaped sublevel sets), the minimum is unique, at z*, and "
            "every grid point descends to it",
        evidence="seed 0, full run: about 90 of 1,000 random segments on the window z* "
                 "+- 2.5 ||z*|| violate (29 of 300 with --quick), none of them within ||z*|| "
                 "of z*, the lowest at 0.11 of the J range; 0 of 120 rays from z* with a "
                 "decrease; 1 minimum, basin of z* 100 %. Seeds 0 to 3, full and --quick, "
                 "all show it",
        replay="verify check landscape --preset paper-fig4-tanh --seed 0 --draws 1",
        criteria=("quasiconvexity_violations",), single_draw=True),
    # Verdicts over network draws (DRAWS): the rates, measured with the default draws.
    KnownFinding(
        preset="paper-fig4",
        differs="over network draws the ReLU landscape of Fig. 4(a) almost always has "
                "local minima other than z*: the failure rate's interval lies above tau = "
                "0.1 (the paper shows one draw, with one minimum, and reports never "
                "converging elsewhere)",
        why="Theorem 1 / 4 allow stationary points near -rho z*, and on this network, "
            "outside their hypotheses (stride 3 < kernel 5, C_2 l^2 = 25 < C_1 log C_1), "
            "they are true local minima. The exact stationary set (method: exact, every "
            "stationary point of the cone quadratics) shows them on most draws: 1 to 14 "
            "minima per failing draw, in a cluster of tiny cones 0.05-0.75 ||z*|| from the "
            "origin on the negative side (0.002-0.55 ||z*|| from -rho_2 z*), at J = 0.72-"
            "0.997 of J(0), so shallow that J rises by 1e-10 of its value 1e-4 ||z*|| away "
            "(checked on a circle around every minimum of draws 1, 5, 6 and 38). The 121-point grid resolves only the "
            "wider ones (11-14 of 40 draws), which hold 5-15% of the window in their "
            "basin. Seed 0's own network has none (the reference's draw 0)",
        evidence="40 draws (draw 0 the full check, 1..39 check_draw), 95% exact interval of "
                 "the failure rate, method exact: seed 0, full and --quick (the exact "
                 "criteria do not depend on the grid): 35/40, [0.732, 0.958]; seed 1 "
                 "--quick: 36/40, [0.763, 0.972]. Every failing draw fails on local_minima "
                 "alone. The grid on the same draws (details['sampled']; the method before "
                 "issue 17): seed 0 full 14/40 [0.206, 0.517], --quick (121-point grid) "
                 "11/40 [0.146, 0.439]; seed 1 --quick 12/40 [0.166, 0.465]. Gradient "
                 "descent from 8 x 8 starts (gd_only_to_z_star, issue 14; re-measured seed 0 "
                 "--quick, still 35/40): it misses z* on 7 of the 40 draws (2-5 of 64 starts "
                 "each, 17 of 2,560 in all), every one a draw that fails on local_minima "
                 "already, so the draw verdicts are unchanged; judged alone over the draws "
                 "7/40 [0.073, 0.328], uninformative at tau",
        replay="verify check landscape --preset paper-fig4 --draws 40",
        single_draw=False),
    KnownFinding(
        preset="paper-fig4-leaky",
        differs="over network draws the leaky-ReLU landscape of Fig. 4 has local minima "
                "other than z* on 5-7 of 40 draws: the failure rate's interval straddles "
                "tau = 0.1, so the verdict is uninformative where the paper's figure "
                "suggests a unique minimum",
        why="the exact stationary set (method: exact) finds, on those draws, 2-9 kink "
            "minima on cone boundary rays between the origin and -rho_2 z* (0.002-0.16 "
            "||z*|| from the origin, J within 2% of J(0)), each a true local minimum (J "
            "rises on a circle around it) but far too shallow and narrow for the grid: "
            "the grid, on the same draws, sees none",
        evidence="40 draws, 95% exact interval, method exact: seed 0, full and --quick: "
                 "5/40, [0.042, 0.268]; seed 1 --quick: 7/40, [0.073, 0.328]; every "
                 "failing draw fails on local_minima alone. The grid on the same draws: "
                 "seed 0 --quick 0/40 [0, 0.088]. Re-measured with gradient descent "
                 "(issue 14), seed 0 --quick: still 5/40; descent from 8 x 8 starts reaches "
                 "z* from every start on all 40 draws (gd_only_to_z_star 0/40, [0, 0.088], "
                 "holds on its own). The ReLU twin (same weights and mask; paper-fig4's "
                 "draws) has other minima on 35 of the same 40 draws, the leaky network on "
                 "5, each of them among the 35; the two minima sets differ on 35 draws "
                 "(Hausdorff distance median 1.2 ||z*||, max 1.8)",
        replay="verify check landscape --preset paper-fig4-leaky --draws 40",
        seeds=(0, 1), single_draw=False),
    KnownFinding(
        preset="paper-fig4-sigmoid",
        differs="over network draws the sigmoid landscape is not quasi-convex on most of "
                "them: the failure rate's interval lies above tau = 0.1",
        why="the single-draw finding above, as a rate: segments between far grid points "
            "rise above both ends at high levels of J on most draws; the minimum stays "
            "unique (no draw fails on local_minima or the flat region)",
        evidence="40 draws, 95% exact interval: full run, seed 0: 27/40 fail, [0.509, "
                 "0.814]; --quick: seed 0 21/40, [0.361, 0.685]; seed 1 19/40, [0.315, "
                 "0.639]. Every failing draw fails on quasiconvexity_violations alone "
                 "(re-measured with gradient descent, issue 14, seed 0 --quick: 21/40, "
                 "gd_only_to_z_star 0/40). By window (300 segments each, seed 0 --quick): "
                 "draws with a violation 0/40 at 0.5, 1 and 1.5 ||z*||, 22/40 at 2.5 ||z*||: "
                 "the claim holds up to 1.5 ||z*|| and fails only in the figure's window",
        replay="verify check landscape --preset paper-fig4-sigmoid --draws 40",
        single_draw=False),
    KnownFinding(
        preset="paper-fig4-tanh",
        differs="over network draws the tanh landscape is never quasi-convex: every draw "
                "has segments rising above both ends",
        why="the single-draw finding above, on every draw measured (segments between "
            "far grid points rise above both ends); a few draws have a second local "
            "minimum as well, none a flat region",
        evidence="40 draws, 95% exact interval: full run, seed 0: 40/40 fail, [0.912, 1]; "
                 "--quick, seeds 0 and 1: 40/40, [0.912, 1]. Every draw fails on "
                 "quasiconvexity_violations; on 3 and 9 of the 40 --quick draws (seeds 0, 1) "
                 "a second local minimum too. Re-measured with gradient descent (issue 14), "
                 "seed 0 --quick: still 40/40; descent from 8 x 8 starts misses z* on 3 "
                 "draws (gd_only_to_z_star 3/40, uninformative alone). By window (300 "
                 "segments each, seed 0 --quick): draws with a violation 1/40 at 0.5 ||z*||, "
                 "7/40 at 1, 38/40 at 1.5, 40/40 at 2.5: it starts to fail between 1 and 1.5 "
                 "||z*|| (fails from 1.5 on); a single network (seed 1, full) has violating "
                 "segments even within 0.5 ||z*|| (1 of 1,000, 1.6e-3 of the J range there)",
        replay="verify check landscape --preset paper-fig4-tanh --draws 40",
        single_draw=False),
    KnownFinding(
        preset="theory-3layer",
        differs="on a 3-layer network (stride = kernel, 2-D latent) J has local minima other "
                "than z* on most network draws, and gradient descent from the window's grid "
                "ends at one of them on about half the draws: the failure rate's interval "
                "lies above tau = 0.1 (Sec. 4.2: the Fig. 4 landscape 'empirically extends' "
                "to other architectures)",
        why="Theorem 1 (d = 3) allows stationary points near -rho_3 z*; on this network "
            "they are a cluster of shallow local minima and saddles, every one on the "
            "negative side (<z, z*> < 0), spread 0.03-0.56 ||z*|| around -rho_3 z* (the "
            "ray minimiser of J(-t z*) is nearer the origin than rho_3 ~ 0.494 at these "
            "widths: descent's finding on the same preset). Only the 'unique local "
            "minimum' and 'descent only to z*' claims fail; J has no flat region on any "
            "draw",
        evidence="40 draws, 95% exact interval, method exact: seed 0, full run (57 CPU-s): "
                 "32/40 fail, [0.644, 0.909]; seed 1 --quick (39 CPU-s): 37/40, [0.796, "
                 "0.984]. Seed 0, full: other local minima on 32 draws (1-29 per draw, median "
                 "7; 238 in all, 185 inside cones, 53 on boundary rays) at J = 0.68-0.94 "
                 "J(0), 0.03-0.56 ||z*|| from -rho_3 z* (median 0.25); the 8 other draws "
                 "have one other stationary point, a saddle 0.18-0.42 ||z*|| from -rho_3 z*; "
                 "certified eps (every stationary point within eps ||z*|| of z* or -rho_3 z*) "
                 "median 0.375, max 0.567. Claims alone over the draws: local_minima 32/40 "
                 "[0.644, 0.909]; gd_only_to_z_star (16 x 16 starts, Adam lr 0.1) 22/40 "
                 "[0.385, 0.707], 292 of 10,240 starts (2.9%) end away from z*, at most 43 "
                 "of 256 on a draw (seed 1 --quick: 17/40, 81 of 2,560 starts); flat_fraction "
                 "0/40 [0, 0.088]",
        replay="verify check landscape --preset theory-3layer --draws 40",
        single_draw=False),
    KnownFinding(
        preset="theory-3layer",
        differs="a single network draw of the 3-layer preset (--draws 1) has local minima "
                "other than z* (the finding over 40 draws, on one network)",
        why="as over the draws: a cluster of shallow local minima and saddles on the "
            "negative side around -rho_3 z*, on most draws (32/40 on seed 0's draws); one "
            "network is one of those draws",
        evidence="single draws, full and --quick alike, seeds 0-9: 9 of 10 fail, all on "
                 "local_minima, seeds 0-2 on gd_only_to_z_star too; seed 4's network "
                 "passes (a draw without another minimum, as 8 of seed 0's 40 are)",
        replay="verify check landscape --preset theory-3layer --draws 1 --seed 0",
        seeds=(0, 1, 2, 3, 5, 6, 7, 8, 9), criteria=("local_minima", "gd_only_to_z_star"),
        single_draw=True),
)


@dataclass
class _Grid:
    """J on the N x N grid centred at z* (``axis``: offsets from z* per coordinate)."""

    z_star: np.ndarray
    objective: Objective
    fJ: _ExplicitJ
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
        return _chunked(self.fJ, Z)


def check(instance, *, rng, quick, settings=None):
    """J on a grid around z*: minima, basin, flat region, quasi-convexity (Fig. 4), one
    step per claim; gradient descent from a grid of starts (Fig. 4(a)'s empirical claim);
    for sigmoid / tanh quasi-convexity by window radius; for leaky ReLU the same network
    with ReLU beside it (Sec. 4.2). The steps draw from ``rng`` in this order: it fixes
    the numbers (gradient descent and the ReLU twin draw nothing). ``settings``:
    :data:`SETTINGS`' values (the registry's; defaults when None)."""
    net, A = instance.network, instance.measurement
    st = _settings(quick, settings)
    grid = _step_grid(net, A, st, rng)
    mins = grid_local_minima(grid.J)
    flat = _step_flat_region(grid, mins)
    # J within rounding of its minimum: J is a sum of m squared residuals (a few ulps each)
    jtol = 4 * A.m * EPS * float(grid.J.max())
    qc = _step_quasiconvexity(grid, st, jtol, rng)
    minima = _step_minima(grid, mins)
    why = _exact_reason(net, A)
    exact = _step_exact(net, A, grid.z_star) if why is None else None
    gd = _step_descent(net, A, grid.z_star, st, exact)
    sweep = _step_window_sweep(grid, A, st, rng) if _quasi_claim(net) else None
    twin = _step_relu_twin(net, A, grid, st, exact, minima, gd) \
        if _relu_twin(net) is not None else None
    return _outcome(net, st, grid, mins, flat, jtol, qc, minima, exact, why, gd=gd,
                    sweep=sweep, twin=twin)


def check_draw(instance, *, rng, quick, settings=None):
    """One further network draw of the verdict over draws (``DRAWS.check``, draws
    1..N-1): the grid, its minima refined, the flat region and (sigmoid / tanh) the
    window's segments, on the same stream in the same order as :func:`check` (so that on
    one network and the same sizes, :func:`_criteria_only`, its criteria are exactly
    :func:`check`'s). Skipped: the segments within ||z*||, the rays, the basin and the
    figure's tables (details and figures only). Sample sizes: :func:`_draw_settings`
    (--quick draws use a finer grid than the --quick run's own draw). Where the exact
    method applies (:func:`_exact_reason`) the grid is skipped: z* is drawn as the grid
    would draw it and the criteria are the exact stationary set's, as in :func:`check`."""
    return _criteria_only(instance, rng, _draw_settings(quick, settings))


def _criteria_only(instance, rng, st: dict, *, method: str = "auto") -> Outcome:
    """The criterion-carrying steps of :func:`check` on sample sizes ``st``. Where the
    exact method applies (``method="auto"``) only z* is drawn (the grid's first draw, so
    z* is :func:`check`'s) and the criteria are the exact ones; ``method="sampled"``
    forces the grid (the comparison of the two methods over draws). Gradient descent from
    the grid of starts is run on every draw (a criterion); the quasi-convexity sweep over
    window radii (sigmoid / tanh, cheap) and the ReLU twin's exact stationary set (leaky
    ReLU) feed the per-draw scalars of :func:`summarise_draws`, not the verdict."""
    net, A = instance.network, instance.measurement
    why = _exact_reason(net, A) if method == "auto" else f"method={method!r} requested"
    if why is None:
        z_star = rng.standard_normal(2)
        exact = _step_exact(net, A, z_star)
        gd = _step_descent(net, A, z_star, st, exact)
        headline, criteria = _criteria(-1, -1, math.nan, False, 0, 0, 0.0, exact, gd)
        twin = None
        if _relu_twin(net) is not None:
            twin = _twin_exact(net, A, z_star, exact)
        details = _exact_details(exact, None)
        details["per_draw"] = {**details["per_draw"],
                               **_per_draw(headline, criteria, gd, None, twin)}
        return Outcome(headline=headline, criteria=criteria, n_samples=exact["n_cones"],
                       details={"lean_draw_check": True, "z_star": z_star.tolist(), **details},
                       tables={"stationary_points": exact["points"]},
                       settings={"method": "exact", "gd_side": st["gd_side"]})
    grid = _step_grid(net, A, st, rng)
    mins = grid_local_minima(grid.J)
    flat = _step_flat_region(grid, mins)
    jtol = 4 * A.m * EPS * float(grid.J.max())
    quasi = _quasi_claim(net)
    viol = _window_segments(grid, st, rng)[2] if quasi else np.zeros(0)
    clusters = _refined_minima(grid, mins)[3]
    violations = int(np.sum(viol > jtol))
    gd = _step_descent(net, A, grid.z_star, st)
    headline, criteria = _criteria(len(clusters), mins.count, flat["fraction"], quasi,
                                   violations, len(viol), jtol, None, gd)
    sweep = _step_window_sweep(grid, A, st, rng) if quasi else None
    return Outcome(headline=headline, criteria=criteria, n_samples=grid.side ** 2 + viol.size,
                   details={"lean_draw_check": True, "z_star": grid.z_star.tolist(),
                            "method": "sampled", "method_reason": why,
                            "local_minima": int(mins.count),
                            "distinct_minima_after_refinement": len(clusters),
                            "flat_fraction": flat["fraction"],
                            "quasiconvexity_violations": violations,
                            "per_draw": _per_draw(headline, criteria, gd, sweep, None)},
                   settings={**st, "half_width_over_norm_z_star": HALF_WIDTH,
                             "quasiconvexity_tolerance": jtol})


def _step_descent(net, A, z_star: np.ndarray, st: dict,
                  exact: dict | None = None) -> dict | None:
    """:func:`descent_from_grid` on the check's y = A G(z*) and mask, ``st["gd_side"]``
    starts per axis on the figure's window (on the exact arc tables when ``exact`` holds
    the network's cones); None for a dense A (the engine's descent takes 0/1 masks),
    said in the details."""
    if A.observed is None:
        return None
    return descent_from_grid(net, A.observed, z_star, side=st["gd_side"],
                             cones=None if exact is None else exact["cones"])


def _step_window_sweep(grid: "_Grid", A, st: dict, rng) -> pd.DataFrame:
    """:func:`quasiconvexity_by_window` on the check's J at the window radii
    (``st["window_radii"]``, :data:`WINDOW_RADII` unless set), as many segments per
    window as the judged criterion has (``st["segments"]``)."""
    return quasiconvexity_by_window(grid.f, grid.z_star, st["window_radii"],
                                    segments=st["segments"], n_t=st["segment_points"],
                                    rng=rng, rel_tol=4 * A.m * EPS)


def _per_draw(headline, criteria, gd, sweep, twin) -> dict:
    """The scalars of one draw that :func:`summarise_draws` reads: each claim's own
    verdict (``claim_<name>``), gradient descent's misses, the quasi-convexity violations
    per window radius, the ReLU twin's exact minima (leaky ReLU)."""
    out = {f"claim_{c.name}": c.verdict for c in (headline,) + tuple(criteria)}
    if gd is not None:
        out.update(gd_missed=gd["missed"], gd_starts=gd["starts"])
    if sweep is not None:
        for row in sweep.itertuples():
            out[f"qc_violations_r{row.radius_over_norm_z_star:g}"] = int(row.violations)
            out[f"qc_segments_r{row.radius_over_norm_z_star:g}"] = int(row.segments)
    if twin is not None:
        out.update(relu_twin_other_minima=twin["relu_other_minima"],
                   leaky_other_minima=twin["leaky_other_minima"],
                   minima_hausdorff_over_norm_z_star=twin["hausdorff"])
    return out


def _step_grid(net, A, st: dict, rng) -> _Grid:
    """J(z) = 1/2 ||A G(z*) - A G(z)||^2 on an N x N grid of z* +- 2.5 ||z*|| (Fig. 4;
    Sec. 4.2), z* ~ N(0, I_2), the explicit sparse path cross-checked on 64 points."""
    N = st["grid"]
    z_star = rng.standard_normal(2)
    obj = Objective.from_truth(net, A, z_star)
    R = HALF_WIDTH * float(np.linalg.norm(z_star))
    axis = np.linspace(-R, R, N)
    Z1, Z2 = np.meshgrid(z_star[0] + axis, z_star[1] + axis, indexing="ij")
    Zg = np.stack([Z1.ravel(), Z2.ravel()], axis=1)
    fJ = _ExplicitJ(obj)
    J = _chunked(fJ, Zg).reshape(N, N)
    probe = Zg[rng.integers(0, N * N, 64)]
    explicit_gap = float(np.max(np.abs(fJ(probe) - obj.value(probe)))
                         / max(float(np.max(obj.value(probe))), 1e-300))
    return _Grid(z_star, obj, fJ, R, axis, Zg, J, explicit_gap)


def _step_flat_region(grid: _Grid, mins: GridMinima) -> dict:
    """The flat region: plateaus of >= 2 pixels of equal J on which G is verified
    constant, latents mapped to one output (Fig. 4(d): mode collapse)."""
    N, labels = grid.side, mins.labels
    plateau = mins.plateau_size >= 2
    flat = np.zeros((N, N), bool)
    distinct_outputs = 0
    if np.any(plateau):
        pl = np.flatnonzero(plateau.ravel())
        out = _chunked(grid.fJ.outputs, grid.points[pl])
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


def _quasi_claim(net) -> bool:
    """Whether the paper claims quasi-convexity for this network (sigmoid, tanh)."""
    return all(l.activation in ("sigmoid", "tanh") for l in net.spec.layers)


def _window_segments(grid: _Grid, st: dict, rng):
    """The quasi-convexity criterion's segments between random grid points of the window
    and their violations max_t J(a + t (b - a)) - max(J(a), J(b))."""
    NN, Zg = grid.side ** 2, grid.points
    ia = rng.integers(0, NN, st["segments"])
    ib = rng.integers(0, NN, st["segments"])
    return ia, ib, quasiconvexity_violation(grid.f, Zg[ia], Zg[ib], n_t=st["segment_points"])


def _step_quasiconvexity(grid: _Grid, st: dict, tol: float, rng) -> dict:
    """Sublevel sets convex, J(a + t (b - a)) <= max(J(a), J(b)) on sampled segments, on
    the window and within ||z*|| of z* (Sec. 4.2: sigmoid, tanh quasi-convex, Fig. 4(b, c));
    and J non-decreasing along rays from z* (star-shaped sublevel sets)."""
    J, Zg, z_star = grid.J, grid.points, grid.z_star
    ia, ib, viol = _window_segments(grid, st, rng)
    # the same restricted to segments within ||z*|| of z* (is the claim local?)
    ball = np.flatnonzero(np.linalg.norm(Zg - z_star, axis=1) <= np.linalg.norm(z_star))
    la, lb = ball[rng.integers(0, ball.size, st["segments"] // 2)], \
        ball[rng.integers(0, ball.size, st["segments"] // 2)]
    viol_loc = quasiconvexity_violation(grid.f, Zg[la], Zg[lb], n_t=st["segment_points"])
    levels = np.maximum(J.ravel()[ia], J.ravel()[ib])
    rays = ray_monotonicity(grid.f, z_star, grid.half_width, n_rays=st["rays"],
                            n_r=st["ray_points"])
    return {"violation": viol, "relative": viol / max(float(J.max() - J.min()), 1e-300),
            "violations": int(np.sum(viol > tol)), "bad_levels": levels[viol > tol],
            "local_segments": int(len(viol_loc)),
            "local_violations": int(np.sum(viol_loc > tol)), "rays": rays,
            "first_decrease": rays["first_decrease_radius"].to_numpy()}


def _refined_minima(grid: _Grid, mins: GridMinima):
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


def _step_minima(grid: _Grid, mins: GridMinima) -> dict:
    """The grid minima refined by continuous descent: distinct local minima of J, and
    the basin of z* (Fig. 4: a unique minimum; Theorem 1 allows one near -rho z*)."""
    z_star, axis, h = grid.z_star, grid.axis, grid.spacing
    c = grid.side // 2  # z* is the centre pixel
    labels, star_label = mins.labels, mins.labels[c, c]
    ends = grid_descent_endpoints(grid.J)
    gm, refined, to_star, clusters = _refined_minima(grid, mins)
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


def _criteria(n_true: int, n_min: int, flat_fraction: float, quasi_claim: bool,
              violations: int, segments: int, jtol: float, exact: dict | None = None,
              gd: dict | None = None):
    """The claims as criteria, each with its trivial ceiling (module docstring): the
    headline (one local minimum), the flat region and, for sigmoid / tanh, quasi-convexity.
    With ``exact`` (:func:`_step_exact`) the first two come from the exact stationary
    set (``method: exact``), else from the grid (``method: sampled``). With ``gd``
    (:func:`descent_from_grid`), Fig. 4(a)'s empirical claim, judged apart from the
    headline: the fraction of starts that do not end at z* (bound 0, the paper's "we do
    not observe convergence to any point other than the global minimum"). One place for
    :func:`check` and :func:`check_draw`."""
    if exact is not None:
        K = exact["n_cones"]
        headline = Criterion(
            "local_minima", float(1 + exact["other_minima"]), 1.0, "<=",
            f"method: exact. Local minima of J from its complete stationary set "
            f"(verify.stationary, {K} cones): z* plus {exact['other_minima']} other(s) "
            f"farther than {ZSTAR_TOL:g} ||z*|| from it (anywhere in the plane). Trivial "
            f"ceiling 2K + 1 = {2 * K + 1} (one per cone, one per boundary ray, the origin)",
            ceiling=float(2 * K + 1))
        flat = Criterion(
            "flat_fraction", float(exact["flat_fraction"]), 0.0, "<=",
            f"method: exact. Fraction of directions (angle / 2 pi) in the "
            f"{exact['flat_cones']} cone(s) where J is flat (singular quadratic with "
            f"stationary points: a region mapped to one output, or a valley); trivial "
            f"ceiling 1 (every direction)", ceiling=1.0)
    else:
        headline = Criterion("local_minima", float(n_true), 1.0, "<=",
                             f"method: sampled. Distinct local minima of J: the {n_min} grid "
                             "minima (8-neighbour, plateaus joined) refined by continuous "
                             f"descent, merged within a cell; trivial ceiling {MAX_REFINE} "
                             "(the most grid minima refined)", ceiling=float(MAX_REFINE))
        flat = Criterion("flat_fraction", flat_fraction, 0.0, "<=",
                         "method: sampled. Fraction of the grid on plateaus mapped to one "
                         "output (mode collapse); trivial ceiling 1 (the whole grid)",
                         ceiling=1.0)
    criteria = [flat]
    if quasi_claim:
        criteria.append(Criterion("quasiconvexity_violations", float(violations), 0.0,
                                  "<=", f"method: sampled. Segments with max J > max endpoint "
                                        f"J + {jtol:.2g} (of {segments}; trivial ceiling "
                                        f"{segments})", ceiling=float(segments)))
    if gd is not None:
        lo, hi = gd["ci95"]
        criteria.append(Criterion(
            "gd_only_to_z_star", float(gd["fraction"]), 0.0, "<=",
            f"method: gradient descent (Adam, lr {GD_LR:g}, <= {GD_ITERATIONS} iterations, "
            f"relative step tol {GD_TOL:g}) from a {gd['side']} x {gd['side']} grid of starts "
            f"on z* +- {gd['radius']:g} ||z*||: {gd['missed']}/{gd['starts']} starts end "
            f"farther than {GD_SUCCESS:g} ||z*|| from z* (exact 95% interval [{lo:.3f}, "
            f"{hi:.3f}]); bound 0 (Sec. 4.2: convergence only to z*, a stationary point near "
            f"-rho z* allowed); trivial ceiling 1 (every start)", ceiling=1.0))
    return headline, tuple(criteria)


def _exact_reason(net, A) -> str | None:
    """Why the exact method does not apply (None when it does): the network's reason
    (:func:`verify.cones.not_applicable`), a latent dimension other than 2, or a dense A."""
    from verify.cones import not_applicable

    why = not_applicable(net)
    if why is None and net.spec.latent_dim != 2:
        why = f"the latent dimension is {net.spec.latent_dim}: this check's exact path is 2-D"
    if why is None and A.observed is None:
        why = (f"the measurement is dense ({getattr(A, 'kind', type(A).__name__)}): the "
               "exact method handles 0/1 masks only")
    return why


def _step_exact(net, A, z_star: np.ndarray) -> dict:
    """Every stationary point of J exactly (MATH.md Sec. 12), on the check's y = A G(z*)
    and mask: the local minima other than z*, the flat cones and their angular fraction,
    the origin's classification. No random draw (the streams stay the grid's)."""
    from verify.cones import enumerate_cones
    from verify.stationary import stationary_points

    t0 = time.process_time()
    cones = enumerate_cones(net)
    land = stationary_points(net, net.forward(z_star), A.observed.astype(float), cones=cones)
    r = rho(net.spec.depth)
    pts = land.relative_to(z_star, r)
    Z = np.stack(pts["z"].to_list()) if len(pts) else np.zeros((0, 2))
    pts = pts.drop(columns="z").assign(z1=Z[:, 0], z2=Z[:, 1])
    is_min = pts["classification"] == "local minimum"
    other = is_min & (pts["dist_zstar"] > ZSTAR_TOL)
    flat = pts["classification"] == "flat"
    flat_cones = np.unique(pts.loc[flat, "cone"].to_numpy().astype(int))
    width = np.diff(cones.edges)
    origin = pts[pts["kind"] == "origin"]
    return {"points": pts, "cones": cones, "n_cones": cones.count,
            "other_minima": int(other.sum()),
            "z_star_found": bool((is_min & ~other).any()),
            "flat_cones": int(flat_cones.size),
            "flat_fraction": float(width[flat_cones].sum() / (2 * math.pi)),
            "saddles": int((pts["classification"] == "saddle").sum()),
            "origin": str(origin["classification"].iloc[0]) if len(origin) else None,
            "others": pts.loc[other, ["kind", "z1", "z2", "J", "dist_zstar",
                                      "dist_neg_rho"]].to_dict(orient="records"),
            "tolerance": land.tol, "seconds": time.process_time() - t0}


def _relu_twin(net):
    """The same network, weights and all, with every leaky-ReLU layer a ReLU (Sec. 4.2:
    "Leaky ReLU has the same landscape as a regular ReLU"); None without a leaky layer.
    On the presets this is paper-fig4's network: paper-fig4 and paper-fig4-leaky draw
    their weights and masks from the same streams (asserted by the tests)."""
    from dataclasses import replace

    from verify.network import Network

    if not any(l.activation == "leaky_relu" for l in net.spec.layers):
        return None
    layers = tuple(replace(l, activation="relu") if l.activation == "leaky_relu" else l
                   for l in net.spec.layers)
    return Network(replace(net.spec, layers=layers), net.weights)


def minima_hausdorff(P: np.ndarray, Q: np.ndarray) -> float:
    """Hausdorff distance between two finite point sets ``(k, 2)`` (NaN if one is empty)."""
    P, Q = np.atleast_2d(np.asarray(P, float)), np.atleast_2d(np.asarray(Q, float))
    if P.size == 0 or Q.size == 0:
        return math.nan
    d = np.linalg.norm(P[:, None, :] - Q[None, :, :], axis=2)
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


def _exact_minima(exact: dict) -> np.ndarray:
    pts = exact["points"]
    m = pts[pts["classification"] == "local minimum"]
    return m[["z1", "z2"]].to_numpy(float)


def _twin_exact(net, A, z_star: np.ndarray, exact: dict) -> dict:
    """The ReLU twin's exact stationary set on the same y-generating z* and mask, beside
    the leaky one's (``exact``): other minima of each, and the Hausdorff distance between
    the two sets of local minima (z* included in both) in units of ||z*||."""
    ex_r = _step_exact(_relu_twin(net), A, z_star)
    nz = float(np.linalg.norm(z_star))
    return {"relu": ex_r, "relu_other_minima": int(ex_r["other_minima"]),
            "leaky_other_minima": int(exact["other_minima"]),
            "hausdorff": minima_hausdorff(_exact_minima(exact), _exact_minima(ex_r)) / nz}


def _set_summary(exact: dict | None, r: float) -> dict:
    """Counts and positions of an exact stationary set, relative to z* and -rho_d z*."""
    if exact is None:
        return {}
    pts = exact["points"]
    rest = pts[(pts["kind"] != "origin") & (pts["dist_zstar"] > ZSTAR_TOL)]
    om = rest[rest["classification"] == "local minimum"]
    return {"local_minima": int(1 + exact["other_minima"]), "other_minima": int(len(om)),
            "other_stationary": int(len(rest)),
            "saddles": int((rest["classification"] == "saddle").sum()),
            "flat_cones": int(exact["flat_cones"]),
            "other_minima_dist_neg_rho_min": float(om["dist_neg_rho"].min()) if len(om)
            else None,
            "other_minima_dist_neg_rho_max": float(om["dist_neg_rho"].max()) if len(om)
            else None,
            "certified_eps_hat": float(np.minimum(rest["dist_zstar"], rest["dist_neg_rho"]).max())
            if len(rest) else 0.0}


def _step_relu_twin(net, A, grid: "_Grid", st: dict, exact: dict | None, minima: dict,
                    gd: dict | None) -> dict:
    """Sec. 4.2's "Leaky ReLU has the same landscape as a regular ReLU", side by side on
    one network (:func:`_relu_twin`): J of both on the window grid and its measured
    distance (relative sup and L2 difference, Spearman rank correlation), the grid basin
    of z* of both, gradient descent from the same starts on both, and (exact method) both
    stationary sets with the Hausdorff distance of their local minima (units ||z*||)."""
    from scipy.stats import spearmanr

    t0 = time.process_time()
    twin = _relu_twin(net)
    z_star, N = grid.z_star, grid.side
    obj = Objective.from_truth(twin, A, z_star)
    fJ = _ExplicitJ(obj)
    J_r = _chunked(fJ, grid.points).reshape(N, N)
    grid_r = _Grid(z_star, obj, fJ, grid.half_width, grid.axis, grid.points, J_r, math.nan)
    minima_r = _step_minima(grid_r, grid_local_minima(J_r))
    pair = _twin_exact(net, A, z_star, exact) if exact is not None else None
    gd_r = _step_descent(twin, A, z_star, st, pair["relu"] if pair else None) \
        if gd is not None else None
    J_l = grid.J
    diff = J_l - J_r
    r = rho(net.spec.depth)
    sets = {"leaky_relu": _set_summary(exact, r),
            "relu": _set_summary(pair["relu"] if pair else None, r)}
    rows = []
    for act, mn, g in (("leaky_relu", minima, gd), ("relu", minima_r, gd_r)):
        rows.append({"activation": act, **sets[act],
                     "grid_distinct_minima": len(mn["clusters"]),
                     "grid_basin_of_z_star": mn["basin"],
                     "gd_starts": g["starts"] if g else None,
                     "gd_at_z_star_fraction": 1 - g["fraction"] if g else None})
    distance = {
        "J_relative_sup_difference": float(np.abs(diff).max() / max(float(np.abs(J_r).max()),
                                                                       1e-300)),
        "J_relative_l2_difference": float(np.linalg.norm(diff)
                                          / max(float(np.linalg.norm(J_r)), 1e-300)),
        # the shapes apart from the scale: each J divided by its window maximum
        "J_normalised_sup_difference": float(np.abs(
            J_l / max(float(J_l.max()), 1e-300) - J_r / max(float(J_r.max()), 1e-300)).max()),
        "J_spearman_rank_correlation": float(spearmanr(J_l.ravel(), J_r.ravel())[0]),
        "minima_hausdorff_over_norm_z_star": pair["hausdorff"] if pair else None,
        "J_ratio_leaky_over_relu_median": float(np.median(
            J_l.ravel()[J_r.ravel() > 0] / J_r.ravel()[J_r.ravel() > 0]))}
    points = None
    if pair is not None:
        points = pd.concat([exact["points"].assign(activation="leaky_relu"),
                            pair["relu"]["points"].assign(activation="relu")],
                           ignore_index=True)
    return {"table": pd.DataFrame(rows), "distance": distance, "points": points,
            "grid": pd.DataFrame({"z1": grid.points[:, 0], "z2": grid.points[:, 1],
                                  "J_leaky_relu": J_l.ravel(), "J_relu": J_r.ravel()}),
            "pair": pair, "slope": [l.slope for l in net.spec.layers
                                    if l.activation == "leaky_relu"][0],
            "seconds": time.process_time() - t0}


def _exact_details(exact: dict | None, why: str | None) -> dict:
    if exact is None:
        return {"method": "sampled", "method_reason": why}
    pts = exact["points"]
    rest = pts[(pts["kind"] != "origin") & (pts["dist_zstar"] > ZSTAR_TOL)]
    # the certificate of this draw: how many stationary points besides z* (and the
    # origin, Theorem 1's excluded point), and the smallest eps for which every one lies
    # in B(z*, eps ||z*||) or B(-rho_d z*, eps ||z*||)
    eps = float(np.minimum(rest["dist_zstar"], rest["dist_neg_rho"]).max()) \
        if len(rest) else 0.0
    per_draw = {"certified_other_stationary": int(len(rest)),
                "certified_other_minima": int(exact["other_minima"]),
                "certified_eps_hat": eps}
    return {"method": "exact", "per_draw": per_draw,
            "exact": {k: v for k, v in exact.items() if k not in ("points", "cones")}}


def summarise_draws(draws: pd.DataFrame, by_draw: dict) -> dict:
    """Statistics over network draws beyond the combined failure rate.

    * ``claims``: each claim judged on its own over the draws (the draws where its
      criterion fails, the rate with its exact 95% interval, and the verdict by the
      DrawRule's own rule against tau), so that e.g. "gradient descent converges only to
      z*" is judged apart from "a unique local minimum";
    * ``gradient_descent``: draws with a start that misses z*, and the starts pooled
      (descriptive: the starts of one draw are not independent);
    * ``quasiconvexity_by_window`` (sigmoid / tanh): per window radius, the draws with a
      violating segment, their rate and verdict against tau, and the smallest radius
      whose rate's interval lies above tau (where the claim starts to fail);
    * ``leaky_vs_relu`` (leaky ReLU, exact method): the ReLU twin's other minima per draw
      beside the leaky network's, and the Hausdorff distance of the two minima sets;
    * Fig. 4(a) as a certificate (exact method; issue: certified landscapes): from each
      draw's exact stationary set, the rate of draws with any stationary point other than
      z* (the origin aside), with more than one (so not just the one near -rho_d z* that
      Theorem 4 allows), and with a local minimum other than z*, each with its exact 95%
      interval; and the quantiles of the certified eps (every stationary point within
      eps ||z*|| of z* or of -rho_d z*).
    """
    n = len(draws)
    out: dict = {"draws": n}
    claims = [c for c in draws.columns if c.startswith("claim_")]
    if claims:
        out["claims"] = {}
        for c in claims:
            v = draws[c].dropna().astype(str).tolist()
            crit, f = judge_draws(v, DRAWS)
            out["claims"][c[len("claim_"):]] = {
                "draws_failed": f["draws_failed"], "draws_tested": f["draws_tested"],
                "rate": f["failure_rate"], "ci95": [f["failure_ci_low"], f["failure_ci_high"]],
                "verdict": crit.verdict}
    if "gd_missed" in draws and draws["gd_missed"].notna().all():
        miss, starts = draws["gd_missed"].to_numpy(int), draws["gd_starts"].to_numpy(int)
        k = int((miss > 0).sum())
        lo, hi = exact_interval(k, n)
        out["gradient_descent"] = {
            "draws_with_a_missed_start": k, "rate": k / n, "ci95": [lo, hi],
            "starts_missed": int(miss.sum()), "starts": int(starts.sum()),
            "pooled_fraction_missed": float(miss.sum() / starts.sum()),
            "largest_fraction_on_a_draw": float((miss / starts).max())}
    radii = sorted({float(c[len("qc_violations_r"):]) for c in draws.columns
                    if c.startswith("qc_violations_r")})
    if radii and all(draws[f"qc_violations_r{r:g}"].notna().all() for r in radii):
        rows = []
        for r in radii:
            bad = draws[f"qc_violations_r{r:g}"].to_numpy(int) > 0
            crit, f = judge_draws(["fails" if b else "holds" for b in bad], DRAWS)
            rows.append({"radius_over_norm_z_star": r, "draws_with_a_violation": int(bad.sum()),
                         "rate": float(bad.mean()),
                         "ci95": [f["failure_ci_low"], f["failure_ci_high"]],
                         "verdict": crit.verdict,
                         "violations_median": float(np.median(
                             draws[f"qc_violations_r{r:g}"].to_numpy(float)))})
        failing = [w["radius_over_norm_z_star"] for w in rows if w["verdict"] == "fails"]
        holding = [w["radius_over_norm_z_star"] for w in rows if w["verdict"] == "holds"]
        out["quasiconvexity_by_window"] = {
            "windows": rows, "smallest_failing_radius": min(failing) if failing else None,
            "largest_holding_radius": max(holding) if holding else None}
    if "relu_twin_other_minima" in draws and draws["relu_twin_other_minima"].notna().all():
        r_o = draws["relu_twin_other_minima"].to_numpy(int)
        l_o = draws["leaky_other_minima"].to_numpy(int)
        h = draws["minima_hausdorff_over_norm_z_star"].to_numpy(float)
        out["leaky_vs_relu"] = {
            "draws_relu_other_minimum": int((r_o > 0).sum()),
            "draws_leaky_other_minimum": int((l_o > 0).sum()),
            "draws_both": int(((r_o > 0) & (l_o > 0)).sum()),
            "draws_same_minima": int((h <= ZSTAR_TOL).sum()),
            "hausdorff_quantiles": {q: float(np.quantile(h, float(q)))
                                    for q in ("0.5", "0.9", "1.0")}}
    if "certified_other_stationary" not in draws or draws["certified_other_stationary"].isna().any():
        return out
    out["method"] = "exact"
    for key, mask in (("any_other_stationary", draws["certified_other_stationary"] > 0),
                      ("more_than_one_other_stationary",
                       draws["certified_other_stationary"] > 1),
                      ("other_local_minimum", draws["certified_other_minima"] > 0)):
        k = int(mask.sum())
        lo, hi = exact_interval(k, n)
        out[key] = {"draws": k, "rate": k / n, "ci95": [lo, hi]}
    eps = draws["certified_eps_hat"].to_numpy(float)
    out["eps_hat_quantiles"] = {q: float(np.quantile(eps, float(q)))
                                for q in ("0.5", "0.9", "1.0")}
    pts = by_draw.get("stationary_points")
    if pts is not None:
        out["stationary_points_listed"] = int(len(pts))
    return out


def _outcome(net, st, grid, mins, flat, jtol, qc, minima, exact=None, why=None, *,
             gd=None, sweep=None, twin=None) -> Outcome:
    """The claims as criteria (headline: one local minimum), details and tables."""
    z_star, J, N, h = grid.z_star, grid.J, grid.side, grid.spacing
    n_true, n_min = len(minima["clusters"]), mins.count
    quasi_claim = _quasi_claim(net)
    viol, bad_levels, first_dec = qc["violation"], qc["bad_levels"], qc["first_decrease"]
    r = rho(net.spec.depth)
    headline, criteria = _criteria(n_true, n_min, flat["fraction"], quasi_claim,
                                   qc["violations"], len(viol), jtol, exact, gd)
    table = minima["table"]
    details = {
        "z_star": z_star.tolist(), "half_width": grid.half_width, "grid_points": N * N,
        "grid_side": N, "activation": net.spec.layers[0].activation, "rho_d": r,
        "minus_rho_z_star": (-r * z_star).tolist(),
        "local_minima": int(n_min), "strict_local_minima": int(mins.minima["strict"].sum()),
        "boundary_minima": int(mins.minima["boundary"].sum()),
        "minima": table[["z1", "z2", "value", "size", "strict", "boundary", "at_z_star",
                         "refined_z1", "refined_z2", "refined_distance_to_z_star"]]
        .to_dict(orient="records"),
        "distinct_minima_after_refinement": n_true,
        "grid_spacing": h,
        "explicit_vs_fast_relative_gap": grid.explicit_gap,
        # J(z*) = 0 = min J on every network: a self-check of the grid, not evidence
        "z_star_is_minimum": minima["star_is_min"], "basin_of_z_star": minima["basin"],
        "basin_of_z_star_cell_only": minima["basin_cell_only"],
        "flat_fraction": flat["fraction"], "flat_area": flat["area"],
        "flat_components_one_output": flat["components"],
        "near_min_fraction": float(np.mean(J <= J.min() + jtol)), "near_min_tolerance": jtol,
        "J_min": float(J.min()), "J_max": float(J.max()),
        "J_at_z_star": float(J[N // 2, N // 2]),
        "quasiconvexity": {"segments": int(len(viol)), "violations": qc["violations"],
                           "max_violation": float(viol.max()),
                           "max_relative_violation": float(qc["relative"].max()),
                           "tolerance": jtol, "claimed_by_paper": quasi_claim,
                           "lowest_violated_level": float(bad_levels.min()) if bad_levels.size
                           else None,
                           "lowest_violated_level_relative":
                               float((bad_levels.min() - J.min()) / (J.max() - J.min()))
                               if bad_levels.size else None,
                           "segments_within_norm_z_star": qc["local_segments"],
                           "violations_within_norm_z_star": qc["local_violations"]},
        "star_shaped": {"rays": int(len(first_dec)),
                        "rays_with_a_decrease": int(np.sum(np.isfinite(first_dec))),
                        "smallest_decrease_radius_over_norm_z_star":
                            float(np.nanmin(first_dec) / np.linalg.norm(z_star))
                            if np.any(np.isfinite(first_dec)) else None},
    }
    details.update(_exact_details(exact, why))
    details["per_draw"] = {**details.get("per_draw", {}), **_per_draw(
        headline, criteria, gd, sweep, twin["pair"] if twin is not None else None)}
    gd_table = _descent_table(gd, exact)
    details["gradient_descent"] = _descent_details(gd, gd_table) if gd is not None else {
        "not_run": "the measurement is dense: the engine's descent takes 0/1 masks"}
    if sweep is not None:
        details["quasiconvexity"]["by_window"] = sweep.to_dict(orient="records")
        bad = sweep.loc[sweep["violations"] > 0, "radius_over_norm_z_star"]
        details["quasiconvexity"]["smallest_window_with_a_violation"] = \
            float(bad.min()) if len(bad) else None
    if twin is not None:
        details["leaky_vs_relu"] = {
            "slope": twin["slope"], "distance": twin["distance"],
            "by_activation": twin["table"].to_dict(orient="records"),
            "note": "the same weights and mask with ReLU (paper-fig4's network on the "
                    "presets); no criterion: the paper states no bound on how close the two "
                    "landscapes are"}
    details["sampled"] = {"local_minima": n_true, "grid_minima": int(n_min),
                          "flat_fraction": flat["fraction"],
                          "quasiconvexity_violations": qc["violations"]}
    details["findings"] = _findings_text(grid, flat, qc, minima, details, quasi_claim, r)
    if exact is not None:
        for o in exact["others"]:
            details["findings"].append(
                f"exact: a local minimum of J other than z* at ({o['z1']:.4g}, "
                f"{o['z2']:.4g}), {o['dist_neg_rho']:.3g} ||z*|| from -rho_d z* ({o['kind']})")
        if exact["flat_cones"]:
            details["findings"].append(
                f"exact: J is flat on {exact['flat_cones']} cone(s), "
                f"{exact['flat_fraction']:.1%} of the directions")
    details["findings"] += _new_findings_text(details)
    grid_df = pd.DataFrame({"z1": grid.points[:, 0], "z2": grid.points[:, 1], "J": J.ravel(),
                            "flat": flat["mask"].ravel(), "basin_of_z_star": minima["in_basin"]})
    tables = {"grid": grid_df, "rays": qc["rays"], "segments": pd.DataFrame(
        {"violation": viol, "relative_violation": qc["relative"]})}
    if exact is not None:
        tables["stationary_points"] = exact["points"]
    if gd_table is not None:
        tables["descent"] = gd_table
    if sweep is not None:
        tables["quasiconvexity_by_window"] = sweep
    if twin is not None:
        tables["leaky_vs_relu"] = twin["table"]
        tables["leaky_vs_relu_grid"] = twin["grid"]
        if twin["points"] is not None:
            tables["leaky_vs_relu_stationary_points"] = twin["points"]
    return Outcome(headline=headline, criteria=criteria, n_samples=N * N + viol.size,
                   details=details, table=table, tables=tables,
                   settings={**st, "half_width_over_norm_z_star": HALF_WIDTH,
                             "quasiconvexity_tolerance": jtol, "gd_lr": GD_LR,
                             "gd_iterations": GD_ITERATIONS, "gd_tol": GD_TOL,
                             "gd_success": GD_SUCCESS,
                             "window_radii_over_norm_z_star": list(st["window_radii"])})


def _descent_table(gd: dict | None, exact: dict | None) -> pd.DataFrame | None:
    """Gradient descent's per-start table; with the exact set, each end's nearest exact
    stationary point (distance / ||z*||, its class and its distance to -rho_d z*)."""
    if gd is None:
        return None
    t = gd["table"]
    if exact is None or not len(exact["points"]):
        return t
    pts = exact["points"]
    P = pts[["z1", "z2"]].to_numpy(float)
    E = t[["end_z1", "end_z2"]].to_numpy(float)
    zs = pts.loc[pts["dist_zstar"] <= ZSTAR_TOL, ["z1", "z2"]].to_numpy(float)
    nz = float(np.linalg.norm(zs[0])) if len(zs) else 1.0
    d = np.linalg.norm(E[:, None, :] - P[None], axis=2)
    k = d.argmin(axis=1)
    return t.assign(nearest_exact_distance=d[np.arange(len(E)), k] / nz,
                    nearest_exact_class=pts["classification"].to_numpy()[k],
                    nearest_exact_dist_neg_rho=pts["dist_neg_rho"].to_numpy()[k])


def _descent_details(gd: dict, table: pd.DataFrame) -> dict:
    miss = table[~table["at_z_star"]]
    out = {"starts": gd["starts"], "missed": gd["missed"], "fraction_missed": gd["fraction"],
           "ci95": gd["ci95"], "window_radius_over_norm_z_star": gd["radius"],
           "starts_per_axis": gd["side"], "backend": gd["backend"],
           "converged": int(table["converged"].sum()),
           "iterations_median": float(table["iterations"].median()),
           "iterations_max": int(table["iterations"].max()),
           "end_distance_at_z_star_max": float(table.loc[table["at_z_star"],
                                                         "distance_to_z_star"].max())
           if table["at_z_star"].any() else None}
    if len(miss):
        out["missed_ends"] = miss.drop(columns=["at_z_star"]).to_dict(orient="records")
    return out


def _findings_text(grid, flat, qc, minima, details, quasi_claim, r) -> list[str]:
    """Plain-language findings where a claim of the paper does not reproduce."""
    z_star, h = grid.z_star, grid.spacing
    findings = []
    nz = float(np.linalg.norm(z_star))
    for p in minima["clusters"]:
        if np.linalg.norm(p - z_star) > math.sqrt(2) * h and not np.any(flat["mask"]):
            findings.append(
                f"a second local minimum of J at ({p[0]:.4g}, {p[1]:.4g}), "
                f"{np.linalg.norm(p + r * z_star) / nz:.3g} ||z*|| from -rho_d z* (Theorem 1 "
                f"allows a critical point there; the paper reports never converging to it); "
                f"basin of z* {minima['basin']:.1%}")
    if quasi_claim and qc["violations"]:
        first_dec = qc["first_decrease"]
        findings.append(
            f"quasi-convexity (claimed for {details['activation']}) fails on "
            f"{qc['violations']}/{len(qc['violation'])} segments, lowest violated level "
            f"{details['quasiconvexity']['lowest_violated_level_relative']:.2g}"
            f" of the J range; {qc['local_violations']}/{qc['local_segments']} violations within "
            f"||z*|| of z*; J decreases along {int(np.sum(np.isfinite(first_dec)))}/"
            f"{len(first_dec)} rays from z* (star-shaped sublevel sets if 0)")
    if np.any(flat["mask"]):
        findings.append(f"mode collapse: {flat['fraction']:.1%} of the grid lies on plateaus "
                        f"each mapped to one output ({flat['components']} such region(s))")
    return findings


def _new_findings_text(details: dict) -> list[str]:
    """Findings of gradient descent, the quasi-convexity window sweep and the ReLU twin."""
    out = []
    g = details.get("gradient_descent", {})
    if g.get("missed"):
        ends = g.get("missed_ends", [])
        where = ""
        if ends and "nearest_exact_class" in ends[0]:
            cls = sorted({e["nearest_exact_class"] for e in ends})
            where = (f"; their ends lie {min(e['nearest_exact_distance'] for e in ends):.2g}-"
                     f"{max(e['nearest_exact_distance'] for e in ends):.2g} ||z*|| from an "
                     f"exact stationary point ({', '.join(cls)}), "
                     f"{min(e['nearest_exact_dist_neg_rho'] for e in ends):.2g}-"
                     f"{max(e['nearest_exact_dist_neg_rho'] for e in ends):.2g} ||z*|| of it "
                     f"from -rho_d z*")
        out.append(f"gradient descent (Adam, lr {GD_LR:g}) ends away from z* from "
                   f"{g['missed']}/{g['starts']} starts of the window{where} (the paper: "
                   f"never observed)")
    q = details.get("quasiconvexity", {})
    if q.get("by_window"):
        parts = ", ".join(f"r = {w['radius_over_norm_z_star']:g}: {w['violations']}/"
                          f"{w['segments']}" for w in q["by_window"])
        first = q.get("smallest_window_with_a_violation")
        out.append(f"quasi-convexity by window z* +- r ||z*|| (violating segments): {parts}"
                   + (f"; the first window with a violation is r = {first:g}" if first
                      else "; none in any window"))
    lv = details.get("leaky_vs_relu")
    if lv:
        d, rows = lv["distance"], {r["activation"]: r for r in lv["by_activation"]}
        mins = ""
        if "local_minima" in rows["relu"]:
            mins = (f"local minima (exact) leaky {rows['leaky_relu']['local_minima']}, ReLU "
                    f"{rows['relu']['local_minima']}, Hausdorff distance "
                    f"{d['minima_hausdorff_over_norm_z_star']:.3g} ||z*||; ")
        out.append(f"leaky ReLU (slope {lv['slope']:g}) vs ReLU on the same weights: {mins}"
                   f"J differs by {d['J_relative_sup_difference']:.2g} (relative sup) / "
                   f"{d['J_relative_l2_difference']:.2g} (relative L2) on the window, rank "
                   f"correlation {d['J_spearman_rank_correlation']:.3f}; grid basin of z* "
                   f"{rows['leaky_relu']['grid_basin_of_z_star']:.1%} vs "
                   f"{rows['relu']['grid_basin_of_z_star']:.1%}")
    return out


from lemmas._landscape_figures import (figure_certificate, figure_landscape,  # noqa: E402
                                      figure_leaky_vs_relu)

FIGURES = (figure_landscape, figure_certificate, figure_leaky_vs_relu)

#: Fig. 4 shows one network per activation; the claims are about such networks in
#: general (Sec. 4.2), so they are judged over network draws.
DRAWS = DrawRule(
    tolerance=0.1,
    reason="Fig. 4 draws one network per panel and Sec. 4.2 presents its landscape as what "
           "such random networks give (Theorem 1 and 4, behind it, hold with high probability "
           "over the weights); read as the toolkit's guideline for 'with high probability', "
           "the claims must hold on at least 90% of network draws (tau = 0.1), fixed before "
           "any multi-draw run. A draw fails when any claim fails on it (a second local "
           "minimum, a flat region, a quasi-convexity violation for sigmoid / tanh; added "
           "with issue 14, after the first multi-draw runs: a start of the window's grid "
           "from which gradient descent does not end at z*, which is also judged on its "
           "own over the draws in details.over_draws.claims)",
    draws=40, check=check_draw, per_draw=("stationary_points",), summarise=summarise_draws)


def _known_bad_configs():
    """Small 2-D-latent networks that break the claims' hypotheses (KNOWN_BAD): 1-D
    stride = kernel blocks, so that 40 quick draws take a few seconds."""
    from verify.measurements import MaskSpec
    from verify.presets import Config
    from verify.spec import LayerSpec, NetworkSpec
    from verify.weights import WeightLaw

    full = MaskSpec("full", 1.0)

    def spec(first, first_kernel=1):
        return NetworkSpec(dims=1, latent_channels=2, layers=(
            LayerSpec(first, first_kernel, first_kernel), LayerSpec(32, 2, 2)))

    return (
        KnownBad(
            "U[0,1] weights",
            Config("landscape-knownbad-uniform01", spec(16, 2), WeightLaw("uniform01"), full,
                   "2 -> 16 (k2 s2) -> 32 (k2 s2), ReLU, U[0, 1] weights",
                   counterexample=True),
            "non-zero-mean weights (Fig. 4(d)): every weight is positive, so G = 0 on the "
            "negative quadrant of the latent, a flat region (mode collapse) inside the "
            "window z* +- 2.5 ||z*||, which holds the origin"),
        KnownBad(
            "m = k < 2k first-layer rows",
            Config("landscape-knownbad-2rows", spec(2), WeightLaw("gaussian", 1.0), full,
                   "2 -> 2 (k1) -> 32 (k2 s2), ReLU, N(0, 1)", counterexample=True),
            "2 first-layer rows for a 2-D latent (an injective ReLU layer needs m >= 2k, "
            "Puthawala et al.): W_1 is invertible, so the cone {z : W_1 z <= 0} has "
            "interior; G = 0 on it, a flat region that meets the window around the origin"),
        KnownBad(
            "no expansion (1 unit)",
            Config("landscape-knownbad-1unit", spec(1), WeightLaw("gaussian", 1.0), full,
                   "2 -> 1 (k1) -> 32 (k2 s2), ReLU, N(0, 1)", counterexample=True),
            "the first layer maps the 2-D latent to 1 unit: G depends on z only through "
            "<w_1, z>, so J = 0 on the whole line <w_1, z> = <w_1, z*> (no isolated "
            "minimum) and G = 0 on the half-plane <w_1, z> <= 0 (a flat region)"),
    )


#: Configurations the check must reject (verify.verdicts.KnownBad; the power table).
KNOWN_BAD = _known_bad_configs()

register("landscape",
         statement="J has a unique local minimum, at z*, with no flat region; sigmoid and "
                   "tanh landscapes are quasi-convex (Fig. 4)",
         reference="Fig. 4; Sec. 4.2; Theorem 1",
         presets={"paper-fig4": "pass", "paper-fig4-sigmoid": "pass", "paper-fig4-tanh": "pass",
                  "paper-fig4-leaky": "pass", "paper-fig4-uniform01": "fail",
                  # Issue 14 item 1: a 3-layer 2-D-latent network (stride = kernel, the
                  # exact method, 40 draws in about a CPU-minute); expected "pass" is the
                  # paper's Sec. 4.2 claim that the Fig. 4 landscape extends, fixed
                  # before the first run (the result: FINDINGS).
                  "theory-3layer": "pass"},
         # No configs() in the common test: "a unique local minimum" is the paper's
         # empirical claim for Fig. 4-like networks, not a theorem's conclusion (Theorem 1
         # allows a stationary point near -rho z*), and the exact stationary set shows it
         # fails on most such draws (the registered findings). configs() stays importable
         # for explore and the lemma's own tests; counter_configs() keeps the power test.
         check=check, configs=None, counter_configs=counter_configs,
         figures=FIGURES, findings=FINDINGS, cost=8.0, requires=_requires, draws=DRAWS,
         known_bad=KNOWN_BAD, settings=SETTINGS)
