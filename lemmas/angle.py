"""Angle contraction through a transposed-convolution layer and its ReLU (Lemma Sup.4).

For one ReLU layer x -> relu(W x) with i.i.d. N(0, 1/m) filter entries (m = C_i l^dims,
the rows of the dense block B of Fig. 2(b)), lemmas/README.md, section 3 predicts

* dense block: angle(B_{+,u} u, B_{+,v} v) ~ g(angle(u, v)) and ||B_{+,u} u||^2 ~ ||u||^2/2,
  with g(theta) = arccos(((pi - theta) cos theta + sin theta) / pi);
* conv layer (s = l): the output angle ~ theta_bar = arccos(sum_p ||x_p|| ||y_p||
  cos g(theta_p) / (||x|| ||y||)), theta_p = angle(x_p, y_p); theta_bar <= angle(x, y),
  and the angle does not vanish (the output/input angle ratio stays away from 0).

The check compares measured and predicted angles over random, structured and
adversarially searched pairs, for every layer of the network and for its dense block,
and sweeps the width of a block to show the largest gap shrinks like m^-1/2.

A-priori bounds (stated before any measurement; constants derived from the Gaussian
model, never from the check's numbers)
------------------------------------------------------------------------------------
For a fixed pair, the measured output angle is a smooth function of three averages over
the m rows, so sqrt(m) (theta_out - g(theta)) -> N(0, sigma(theta)^2) with the
per-row influence psi = (2 P - c (A + B)) / sin g(theta), c = cos g(theta), P = relu(g.x)
relu(g.y), A = relu(g.x)^2, B = relu(g.y)^2 (unit x, y; g ~ N(0, I)). sigma(theta) is a
one-dimensional integral in polar coordinates (:func:`angle_influence_std`);
SIGMA_ANGLE = max_theta sigma(theta) ~ 0.92. The relative error of ||relu(B u)||^2 has
per-row standard deviation exactly sqrt(5) (E relu(g)^4 = 3/2, E relu(g)^2 = 1/2).
The supremum over a D-dimensional family of pairs is taken as sqrt(2 D) pointwise
standard deviations (exact calibration: for the Gaussian Gram matrix, Davidson-Szarek's
||B^T B - I|| ~ 2 sqrt(k/m) is sqrt(2k) times the pointwise std sqrt(2/m)), plus
Borell-TIS's sqrt(2 log(1/delta)) for failure probability delta = 0.01:

    gap   <= SIGMA_ANGLE (sqrt(4 k) + sqrt(2 log(1/delta))) / sqrt(m)      (D = 2k)
    norm  <= sqrt(5)     (sqrt(2 k) + sqrt(2 log(1/delta))) / sqrt(m)      (D = k)

This is a calibrated heuristic, not a theorem: the WDC route (gap <= 2 arcsin
sqrt(2 eps/(1 - 2 eps)), derived in :func:`wdc_angle_bound`) is rigorous but vacuous
(eps >= 1/4) at the presets' widths; both are reported. On the conv layer with s = l,
W_{+,x}^T W_{+,y} is block-diagonal with the same block at every position, so the
layer's errors are weighted averages of the block's and the same bounds apply.

Overlapping strides (s < l): the expectation generalises exactly to patches. Output
pixel q sees the input patch P_q (all channels, the input positions p with
0 <= q - p s < l), whose filter entries are distinct, hence i.i.d.; so
E relu(w.x) relu(w.y) = sigma_w^2 ||x_P|| ||y_P|| cos g(theta_P) / 2 and the predicted
output angle is arccos(sum_q ||x_P|| ||y_P|| cos g(theta_P) / sqrt(sum_q ||x_P||^2
sum_q ||y_P||^2)). For s = l every patch is one position repeated l^dims times and this
is exactly theta_bar (a test asserts it). That is why the check does not require
s = l: it runs on the paper's k5 s3 network (and its U[0,1] counter-example) with the
patch prediction, and bounds computed from the per-patch sizes k = C_{i-1} min(ceil(l/s), D_{i-1})^dims
(columns a patch sees) and m = n_i / D_{i-1}^dims (output rows per input position); both
reduce to the block's (C_{i-1}, C_i l^dims) for s = l. Beyond the theory's s = l case
this is a heuristic, reported as such.

Ceilings and draws (lemmas/README.md, section 12)
-------------------------------------------------
Every bounded criterion states its trivial ceiling, the value no network can exceed:
pi/2 for an angle gap (both angles lie in [0, pi/2]: ReLU outputs are non-negative and
cos g >= 0); max(1, lam - 1) for a relative norm error, lam = max_x ||W x||^2 / pred(x)
of the drawn layer (2 ||B||^2 / (m2 m) for s = l); the floor 0 for the angle ratio. The
zero-output count is exact (== 0, no ceiling), and the sweep's fitted slope has none. A
bound at or past its ceiling makes that draw uninformative. The norm ceiling is >= 1, so
a norm bound below 1 is informative on every draw: :func:`informative_rows`.

The lemma holds with high probability over the weights: :data:`DRAWS` judges it over 40
network draws, each running the same search (``check_draw`` only skips the tables).
The searches are hill climbs from random and structured pairs: they give a lower
estimate of the supremum over pairs, and more steps find larger gaps (on the former
theory-2layer, 8 -> 32 -> 128 channels, the 512 x 32 block of layer 2 showed a largest
gap of 0.20 with these full sizes, 0.27 with 40 steps x 32 pairs x 8 candidates and
0.46-0.51 with 300 x 64 x 16, against its bound 0.58); the bounds are a priori.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from verify.geometry.angles import (ANGLE_TOL, DELTA, INFORMATIVE, SIGMA_NORM, BlockOperator,
                                    LayerOperator, adversarial_search, evaluate_pairs,
                                    filter_second_moment, gap_bound, gap_objective,
                                    informative_rows, make_pairs, norm_bound, patch_dims,
                                    ratio_objective, sigma_angle, wdc_angle_bound)
from verify.presets import Config
from verify.registry import register
from verify.results import Criterion, Outcome
from verify.spec import LayerSpec, NetworkSpec
from verify.verdicts import DrawRule, KnownBad
from verify.weights import WeightLaw

from ._angle_figures import figure_angles, figure_width_sweep

#: Theory floor of output/input angle is 1/2: g(theta) >= theta/(1 + theta/pi) >= theta/2
#: (certified in lemmas.symbolic), and then theta_bar >= theta/2 because, with weights
#: w_p = ||x_p|| ||y_p||/(||x|| ||y||), W = sum w_p <= 1 (Cauchy-Schwarz):
#: cos theta_bar <= sum w_p cos(theta_p/2) <= sqrt(W sum w_p (1 + cos theta_p)/2)
#: = sqrt((W^2 + W cos theta)/2) <= cos(theta/2). The check allows half of it (1/4) for
#: concentration error at finite width.
RATIO_FLOOR = 0.25
#: The largest gap must fall with the block's width m: log-log slope at most this
#: (theory: -1/2; half of the theory's rate still shows shrinking).
SLOPE_MAX = -0.25
#: Widths of the sweep, as multiples of k.
SWEEP_FACTORS = (4, 8, 16, 32, 64)
#: Trivial ceiling of every angle gap: both angles it compares lie in [0, pi/2] (the
#: measured one is between two ReLU outputs, non-negative vectors; the predicted one is
#: g(theta) or theta_bar, an arccos of a non-negative number since cos g >= 0), so no
#: network's gap exceeds pi/2. A gap bound at or above it tests nothing.
GAP_CEILING = math.pi / 2
#: Trivial floor of the output/input angle ratio (angles are >= 0).
RATIO_TRIVIAL_FLOOR = 0.0


def _settings(quick: bool) -> dict:
    """Search sizes. Every network draw of :data:`DRAWS` runs the same sizes (draw 0 only
    adds the tables), so the draws are identically distributed tests; the full sizes
    are what 40 draws of the three presets afford (about 150 CPU-s together). The
    searches give a lower estimate of the supremum over pairs (more steps find larger
    gaps); the bounds are a priori and do not depend on them."""
    if quick:
        return dict(n_random=64, adv_pop=8, adv_steps=12, adv_cands=4, sweep_random=32,
                    sweep_pop=6, sweep_steps=10, sweep_reps=2)
    return dict(n_random=200, adv_pop=16, adv_steps=24, adv_cands=6, sweep_random=64,
                sweep_pop=8, sweep_steps=15, sweep_reps=3)


def _run_family(op, level, layer, k, m, rng, s, positions, channels):
    x, y, kinds = make_pairs(op.n_in, positions, channels, rng, s["n_random"])
    r = evaluate_pairs(op, x, y)
    # the adversarial search starts from the worst pairs found so far
    g = np.where(np.isnan(r["gap"]), -np.inf, r["gap"])
    start = np.argsort(g)[::-1][: s["adv_pop"]]
    ax, ay, _ = adversarial_search(gap_objective(op), x[start], y[start], rng,
                                   steps=s["adv_steps"], cands=s["adv_cands"])
    ra = evaluate_pairs(op, ax, ay)
    # and a second search, from the pairs of smallest output/input ratio, for a vanishing angle
    # (from random pairs: the structured antipodal pairs sit exactly at the floor 1/2)
    obj = np.where(np.isin(kinds, ("random", "per_position")), ratio_objective(op)(x, y), -np.inf)
    start = np.argsort(obj)[::-1][: s["adv_pop"]]
    bx, by, _ = adversarial_search(ratio_objective(op), x[start], y[start], rng,
                                   steps=s["adv_steps"], cands=s["adv_cands"])
    rb = evaluate_pairs(op, bx, by)
    cols = {key: np.concatenate([r[key], ra[key], rb[key]]) for key in r}
    kinds = np.concatenate([kinds, np.array(["adversarial"] * len(ax)),
                            np.array(["adversarial_ratio"] * len(bx))])
    df = pd.DataFrame({"layer": layer, "level": level, "kind": kinds, **cols})
    with np.errstate(invalid="ignore", divide="ignore"):
        df["ratio"] = df["theta_out"] / df["theta_in"]
    # a ratio is only defined for a non-degenerate input angle
    df.loc[~(df["theta_in"] > ANGLE_TOL), "ratio"] = np.nan
    return df


def _width_sweep(law: WeightLaw, k: int, rng, s) -> pd.DataFrame:
    """Largest gap of a fresh dense block (law of the preset) against its height m."""
    rows = []
    for f in SWEEP_FACTORS:  # a handful of widths; each width is batched
        m = f * k
        std = 1.0 / math.sqrt(m) if law.std is None else law.std
        m2 = 1.0 / 3.0 if law.name == "uniform01" else std * std
        gaps = []
        for _ in range(s["sweep_reps"]):
            op = BlockOperator(law.sample((m, k), std, rng), m2)
            df = _run_family(op, "block", -1, k, m, rng,
                             dict(s, n_random=s["sweep_random"], adv_pop=s["sweep_pop"],
                                  adv_steps=s["sweep_steps"]), 1, k)
            gaps.append(float(np.nanmax(df["gap"])))
        rows.append({"m": m, "k": k, "expansion": f, "gap_max": float(np.mean(gaps)),
                     "gap_sd": float(np.std(gaps)), "reps": len(gaps),
                     "bound": gap_bound(k, m)})
    return pd.DataFrame(rows)


def _summary(df: pd.DataFrame) -> dict:
    valid = df[df["gap"].notna()]
    return {
        "gap_max": float(valid["gap"].max()) if len(valid) else float("nan"),
        "gap_max_kind": str(valid.loc[valid["gap"].idxmax(), "kind"]) if len(valid) else "",
        "gap_median": float(valid["gap"].median()) if len(valid) else float("nan"),
        "norm_err_max": float(df["norm_err"].max(skipna=True)),
        "ratio_min": float(df["ratio"].min(skipna=True)),
        "theta_bar_excess_max": float((df["theta_pred"] - df["theta_in"]).max(skipna=True)),
        "n_pairs": int(len(df)), "n_valid": int(len(valid)),
        "n_excluded_nan": int(len(df) - len(valid)), "n_zero_input": int(df["zero_in"].sum()),
        "n_zero_output": int(df["zero_out"].sum()), "n_ratio_defined": int(df["ratio"].notna().sum()),
    }


def _wdc_route(k: int, m: int) -> dict:
    """The rigorous WDC bound at an optimistic eps: Davidson-Szarek's expected deviation
    2 sqrt(k/m) + k/m of the (un-ReLU'd) Gram matrix of an m x k Gaussian block."""
    eps = 2 * math.sqrt(k / m) + k / m
    return {"eps_davidson_szarek": eps, "rigorous_gap_bound": wdc_angle_bound(eps),
            "vacuous": wdc_angle_bound(eps) >= math.pi / 2}


def _requires(config: Config) -> str | None:
    for i, layer in enumerate(config.spec.layers):
        if layer.activation != "relu":
            return f"layer {i} has activation {layer.activation!r}: the angle map g is for ReLU"
        if layer.affine:
            return f"layer {i} has an affine (bias) step: Lemma Sup.4 is for bias-free layers"
    return None


def configs():
    """Small expansive ReLU stride = kernel Gaussian configurations (the check must pass)."""
    return generated_configs(expansive=True)


def counter_configs():
    """Too narrow a block, or U[0, 1] weights (the check must fail)."""
    return generated_configs(expansive=False)


def generated_configs(*, expansive: bool):
    """Hypothesis strategy of small ReLU stride = kernel configurations.

    ``expansive=True``: every layer's block has at least :func:`informative_rows` rows
    (the check must pass, every bound below its trivial ceiling). ``expansive=False``: same law, but one layer has a block
    with fewer rows than columns, or the weights are U[0, 1] (the check must fail).
    """
    from hypothesis import strategies as st

    @st.composite
    def build(draw):
        d = draw(st.sampled_from((1, 2)))
        k0 = draw(st.integers(1, 3))
        depth = draw(st.integers(1, 2))
        c, size, layers = k0, 1, []
        for j in range(depth):
            lk = draw(st.integers(1, 3 if d == 1 else 2))
            per = lk**d
            cmin = math.ceil(informative_rows(c) / per)
            cnew = draw(st.integers(cmin, cmin + 4))
            if size * lk > 12 or cnew * (size * lk) ** d > 2048:
                lk, per = 1, 1
                cnew = informative_rows(c)
            if j and cnew * size**d > 4096:
                break  # a second layer this wide would make the example slow
            layers.append(LayerSpec(cnew, lk, lk))
            c, size = cnew, size * lk
        spec = NetworkSpec(dims=d, latent_channels=k0, layers=tuple(layers))
        if expansive:
            return Config("angle-expansive", spec, WeightLaw("gaussian"))
        how = draw(st.sampled_from(("narrow", "uniform01")))
        if how == "uniform01":
            return Config("angle-uniform01", spec, WeightLaw("uniform01"), counterexample=True)
        # a non-expansive first layer: block of 1 x k0 ... rows < columns
        kk = draw(st.integers(4, 8))
        narrow = NetworkSpec(dims=1, latent_channels=kk,
                             layers=(LayerSpec(draw(st.integers(1, kk - 1)), 1, 1),))
        return Config("angle-narrow", narrow, WeightLaw("gaussian"))

    return build()


def check(instance, *, rng, quick):
    """Lemma Sup.4 on every layer of ``instance.network`` and on its dense blocks."""
    # The products here are small (<= a few hundred rows): one BLAS thread is ~10x cheaper
    # in CPU time than two contending ones on a shared machine, and gives the same bits.
    with _one_blas_thread():
        return _check(instance, rng=rng, quick=quick)


def _one_blas_thread():
    """BLAS threads per the toolkit's one policy (:func:`verify.threads.blas_threads`)."""
    from verify.threads import blas_threads

    return blas_threads()


def check_draw(instance, *, rng, quick):
    """One of draws 1..N-1 of :data:`DRAWS`: :func:`check` with the same settings and
    criteria, without the tables (made for figures)."""
    with _one_blas_thread():
        return _check(instance, rng=rng, quick=quick, draw=True)


def _check(instance, *, rng, quick, draw=False):
    net, spec, law = instance.network, instance.config.spec, instance.config.weights
    s = _settings(quick)
    frames, criteria, per_layer = [], [], []
    worst = None
    for i, layer in enumerate(spec.layers):
        m2 = filter_second_moment(law, spec, i)
        k, m = patch_dims(spec, i)
        gb, nb = gap_bound(k, m), norm_bound(k, m)
        conv = LayerOperator(net, i, m2)
        dconv = _run_family(conv, "conv", i, k, m, rng, s, conv.positions, conv.cin)
        B = net.dense_block(i)
        kb, mb = B.shape[1], B.shape[0]
        block = BlockOperator(B, m2)
        dblk = _run_family(block, "block", i, kb, mb, rng, s, 1, kb)
        frames += [dconv, dblk]
        sc, sb = _summary(dconv), _summary(dblk)
        gbb, nbb = gap_bound(kb, mb), norm_bound(kb, mb)
        tag = f"layer {i + 1}"
        excess_ref = "angle(x, y)" if layer.is_block else "the patch input angle"
        nc, ncb = conv.norm_ceiling(), block.norm_ceiling()
        cs = [
            Criterion(f"{tag} conv: largest |angle - theta_bar|", sc["gap_max"], gb, "<=",
                      f"a-priori bound, k = {k}, m = {m}, delta = {DELTA}; trivial ceiling "
                      "pi/2 (both angles lie in [0, pi/2])", ceiling=GAP_CEILING),
            Criterion(f"{tag} block: largest |angle - g(theta)|", sb["gap_max"], gbb, "<=",
                      f"k = {kb}, m = {mb}; trivial ceiling pi/2", ceiling=GAP_CEILING),
            Criterion(f"{tag} conv: largest relative error of ||relu(Wx)||^2 vs ||x||^2/2",
                      sc["norm_err_max"], nb, "<=",
                      f"trivial ceiling max(1, lam - 1) = {nc:.3g}, lam = max ||Wx||^2 / "
                      "prediction", ceiling=nc),
            Criterion(f"{tag} block: largest relative error of ||B+u u||^2 vs ||u||^2/2",
                      sb["norm_err_max"], nbb, "<=",
                      f"trivial ceiling max(1, 2 ||B||^2 / (m2 m) - 1) = {ncb:.3g}",
                      ceiling=ncb),
            Criterion(f"{tag} conv: smallest output/input angle ratio", sc["ratio_min"],
                      RATIO_FLOOR, ">=", "does not vanish; theory floor 1/2, trivial floor 0",
                      ceiling=RATIO_TRIVIAL_FLOOR),
            Criterion(f"{tag} block: smallest output/input angle ratio", sb["ratio_min"],
                      RATIO_FLOOR, ">=", "trivial floor 0", ceiling=RATIO_TRIVIAL_FLOOR),
            Criterion(f"{tag}: max(theta_bar - {excess_ref})", sc["theta_bar_excess_max"],
                      ANGLE_TOL, "<=", "theta_bar <= input angle (rounding tolerance); "
                      "trivial ceiling pi/2", ceiling=GAP_CEILING),
            Criterion(f"{tag}: zero outputs of non-zero inputs",
                      sc["n_zero_output"] + sb["n_zero_output"], 0, "==",
                      "an exact count (== 0): no ceiling"),
            Criterion(f"{tag}: a-priori gap bound informative", gb, INFORMATIVE, "<=",
                      "bound < pi/4 (the layer is expansive enough to check); compares the "
                      "bound itself, no ceiling"),
        ]
        criteria += cs
        ratio = sc["gap_max"] / gb
        if worst is None or not (ratio <= worst[0]):
            worst = (ratio, cs[0])
        per_layer.append({"layer": i + 1, "k": k, "m": m, "stride_equals_kernel": layer.is_block,
                          "gap_bound": gb, "norm_bound": nb, "block_gap_bound": gbb,
                          "block_norm_bound": nbb, "gap_ceiling": GAP_CEILING,
                          "norm_ceiling": nc, "block_norm_ceiling": ncb, "conv": sc, "block": sb,
                          "wdc_route": _wdc_route(k, m)})
    # the first layer's k; at least 2, since for k = 1 only the angles 0 and pi exist and
    # the map is exact (gap at rounding level), leaving nothing to shrink
    k0 = max(2, spec.channels[0])
    sweep = _width_sweep(law, k0, rng, s)
    good = sweep["gap_max"] > 0
    slope = (float(np.polyfit(np.log(sweep["m"][good]), np.log(sweep["gap_max"][good]), 1)[0])
             if good.sum() >= 2 else float("nan"))
    criteria.append(Criterion("width sweep: log-log slope of largest gap in m", slope,
                              SLOPE_MAX, "<=", "theory -1/2; a fitted slope has no trivial "
                              "ceiling"))
    table = pd.concat(frames, ignore_index=True)
    headline = worst[1]
    criteria = tuple(c for c in criteria if c is not headline)
    n_deg = int(table["gap"].isna().sum())
    if draw:  # a draw's verdict: the criteria only (no tables, no warning per draw)
        return Outcome(headline=headline, criteria=criteria,
                       n_samples=int(table["gap"].notna().sum()), settings=s)
    # degenerate pairs (a zero vector or a zero output: no angle) are built on purpose;
    # their count is part of the result (details), not a warning on stderr
    details = {
        "layers": per_layer, "sweep_slope": slope, "sweep_k": k0,
        "sigma_angle": sigma_angle(), "sigma_norm": SIGMA_NORM, "delta": DELTA,
        "failure_probability_per_bound": DELTA, "ratio_floor": RATIO_FLOOR,
        "angle_tol": ANGLE_TOL, "n_excluded_degenerate": n_deg,
        "bound_kind": "calibrated heuristic: SIGMA (sqrt(2 D) + sqrt(2 log 1/delta)) / sqrt(m)",
        "second_moment_normalisation": [filter_second_moment(law, spec, i) for i in range(spec.depth)],
    }
    table = table.drop(columns=["zero_in", "zero_out"]).assign(
        zero_input=table["zero_in"], zero_output=table["zero_out"])
    return Outcome(headline=headline, criteria=criteria, n_samples=int(table["gap"].notna().sum()),
                   details=details, table=table, tables={"width_sweep": sweep},
                   settings={**s, "delta": DELTA, "sweep_factors": list(SWEEP_FACTORS)})


__all__ = ["RATIO_FLOOR", "SLOPE_MAX", "SWEEP_FACTORS", "GAP_CEILING", "configs",
           "counter_configs", "generated_configs", "check", "check_draw"]


FIGURES = (figure_angles, figure_width_sweep)  # lemmas/_angle_figures.py
FINDINGS = ()

#: Lemma Sup.4 holds with high probability over the weights: judged over network draws.
DRAWS = DrawRule(
    tolerance=0.1,
    reason="each draw is judged by four a-priori bounds per layer (conv and block gap, conv "
           "and block norm error), each stated at failure probability delta = 0.01, so on "
           "the two-layer presets a union bound allows 8 x 0.01 = 0.08 failing draws; the "
           "ratio floor (half the theory's 1/2) and the sweep slope (half the theory's "
           "rate) have wide slack. tau = 0.1 is that union bound rounded up: a higher rate "
           "means the calibrated bounds (or the statement at these widths) are wrong",
    draws=40, check=check_draw)

#: Configurations that violate the lemma's hypotheses: the check must reject each.
KNOWN_BAD = (
    KnownBad(
        "no expansion",
        Config("angle-no-expansion", NetworkSpec(dims=1, latent_channels=8, layers=(
            LayerSpec(6, 1, 1),)), WeightLaw("gaussian")),
        "a ReLU layer with 6 rows for 8 inputs (expansion 0.75 < 1): Lemma Sup.4 needs an "
        "expansive layer. Some x has W x <= 0 (relu(W x) = 0: the output angle is undefined "
        "and the norm is not halved), and the a-priori gap bound exceeds pi/2 (the layer is "
        "too narrow for the statement to say anything)"),
    KnownBad(
        "U[0, 1] weights",
        Config("angle-uniform01", NetworkSpec(dims=1, latent_channels=4, layers=(
            LayerSpec(24, 4, 4),)), WeightLaw("uniform01"), counterexample=True),
        "an expansive layer (block 96 x 4, above required_rows(4) = 67) with U[0, 1] "
        "weights: not zero-mean, so every row is positively correlated with the all-ones "
        "direction and relu(W x) does not follow g (the angle map is for zero-mean "
        "Gaussian rows; Fig. 4(d)'s counter-example)"),
)

register("angle", statement="a ReLU transposed-conv layer maps the angle theta of two inputs "
         "to about g(theta) (dense block) / theta_bar (conv, s = l): it contracts but does not "
         "vanish, and halves squared norms",
         reference="Lemma Sup.4",
         presets={"theory-2layer": "pass", "theory-2layer-2d": "pass",
                  "paper-fig4-uniform01": "fail"},
         check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
         findings=FINDINGS, cost=3.0, requires=_requires, draws=DRAWS, known_bad=KNOWN_BAD)
