"""ReLU-merged concentration (Lemma Sup.2; H&V's Weight Distribution Condition): the
``concentration`` check.

The mathematics (B_{+,u}^T B_{+,v} against Q_{u,v}, the WDC's eps over all pairs, its
form on the whole sparse layer after the permutation) and the numerics, including the
one-product hot path :func:`verify.gram.masked_gram`, are in
:mod:`verify.geometry.wdc` (lemmas/README.md, section 2).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from verify import activations
from verify.geometry.blocks import exact_block_identity
from verify.geometry.wdc import (MC_ALPHA, ROUNDING, conv_form, eps_bound, eps_hat,
                                 exact_layer_sup, expansion, monte_carlo, scaling_sweep,
                                 second_moment, unit_sampler, wdc_ceiling)
from verify.registry import register
from verify.results import Criterion, Outcome
from verify.spec import block_spec
from verify.stats import wilson_interval
from verify.verdicts import DrawRule, KnownBad

# -------------------------------------------------------------------- check
#: Pair budgets (quick: fewer pairs, widths, repetitions; the same verdict rule).
BUDGETS = {
    False: {"random": 512, "per_angle": 4, "starts": 12, "candidates": 8, "iters": 20,
            "mc_sizes": (500, 1000, 2000, 4000, 8000), "mc_reps": 3,
            "ratios": (4, 8, 16, 32, 64, 128, 256), "scaling_reps": 3, "conv_pairs": 8},
    True: {"random": 192, "per_angle": 2, "starts": 8, "candidates": 6, "iters": 10,
           "mc_sizes": (500, 1000, 2000, 4000), "mc_reps": 3,
           "ratios": (4, 16, 64, 256), "scaling_reps": 2, "conv_pairs": 4},
}
#: The exact supremum on blocks with k <= 3 columns (``exact_layer_sup``): tolerance of
#: the certified bracket and its work budget (verify.geometry.wdc_exact; about 1e-7 s a unit, so a few
#: seconds at most per block; a k = 2 block of 400 rows needs well under 1e6).
EXACT = {False: {"exact_tol": 1e-3, "exact_work": 6e7},
         True: {"exact_tol": 1e-3, "exact_work": 3e7}}
for _q in (False, True):
    BUDGETS[_q].update(EXACT[_q])
#: The slope window: eps_hat ~ m^slope with slope in [-0.65, -0.35].
SLOPE_TARGET, SLOPE_WINDOW = -0.5, 0.15
#: Columns of the block used in the scaling sweep (the first layer's k, clipped).
SWEEP_K = (2, 16)


def _layer_inputs(net, i: int, n: int, rng) -> np.ndarray:
    """Inputs of layer i produced by the network from random latent codes."""
    z = rng.normal(size=(n, net.spec.latent_dim))
    if i == 0:
        return z
    pre = net.layer_outputs(z)[i - 1]
    layer = net.spec.layers[i - 1]
    return activations.apply(layer.activation, pre, layer.slope)


def configs():
    from hypothesis import strategies as st

    from verify.presets import Config
    from verify.strategies import conv_architectures
    from verify.weights import WeightLaw

    # stride = kernel, one layer with m >= 48 k rows: the a-priori eps(m, k) is then below
    # the trivial ceiling max(||B||^2, 1/2) (at m/k = 16 it is not, and the verdict would
    # be "uninformative" by design). Up to 3 latent positions, so the conv form is tested
    # across positions; two such layers would need n_2 >= 48^2 C_0 outputs (too slow for
    # a property test: the theory presets cover two layers).
    archs = conv_architectures(strides="kernel", min_layers=1, max_layers=1, max_channels=16,
                               min_kernel=1, max_kernel=3, min_latent_channels=2,
                               max_latent_channels=4, max_latent_size=3, min_expansion=48,
                               max_output=2048)
    # Gaussian only: E[B_{+,u}^T B_{+,v}] = Q is a Gaussian identity; for Rademacher or
    # uniform entries the mean differs from Q (measured: the Monte Carlo test rejects it).
    return st.builds(lambda spec: Config("generated-expansive", spec, WeightLaw("gaussian")),
                     archs)


def hypotheses(config) -> str | None:
    """Why ``config`` lies outside Lemma Sup.2's hypotheses: the blocks' entries are
    i.i.d. Gaussian (E[B_{+,u}^T B_{+,v}] = Q_{u,v} is a Gaussian identity; Rademacher or
    uniform entries have another mean, which the Monte Carlo criterion detects), the
    activation is ReLU (B_{+,u} keeps the rows with B u > 0), and every block is
    expansive: H&V's m > c k log k, with c unspecified, read at its weakest as
    m >= k max(1, ln k) (fewer rows than columns: the WDC cannot hold, see KNOWN_BAD).
    None when inside."""
    if config.loader is not None:
        return "fixed (trained) weights, not i.i.d. Gaussian entries"
    if config.weights.name != "gaussian":
        return (f"weights {config.weights.name!r}: Lemma Sup.2 assumes i.i.d. Gaussian "
                "entries (E[B_+u^T B_+v] = Q_{u,v} is a Gaussian identity)")
    acts = sorted({l.activation for l in config.spec.layers} - {"relu"})
    if acts:
        return f"activation {acts[0]!r}: Lemma Sup.2 is about ReLU (B_+u keeps B u > 0)"
    ch = config.spec.channels
    for i, e in enumerate(config.spec.expansions()):
        k = ch[i]
        if e < max(1.0, math.log(k)):
            return (f"layer {i + 1}'s block has m = {e * k:g} rows for k = {k} columns, "
                    f"below m >= k max(1, ln k) = {k * max(1.0, math.log(k)):.3g}: not "
                    "expansive (H&V: m > c k log k)")
    return None


def counter_configs():
    from hypothesis import strategies as st

    from verify.presets import Config
    from verify.spec import block_spec
    from verify.strategies import conv_architectures
    from verify.weights import WeightLaw

    # (a) a non-expansive block: m = C_1 l^dims <= k / 8 rows for k >= 16 columns;
    # (b) non-zero-mean U[0, 1] weights on an expansive block.
    thin = conv_architectures(strides="kernel", min_layers=1, max_layers=1, dims=(1,),
                              min_latent_channels=16, max_latent_channels=32, max_kernel=2,
                              max_expansion=0.125)
    wide = st.sampled_from((block_spec(1, (4, 16), (4,)), block_spec(1, (6, 24, 48), (2, 2))))
    return st.one_of(
        st.builds(lambda spec: Config("generated-thin", spec, WeightLaw("gaussian")), thin),
        st.builds(lambda spec: Config("generated-uniform01", spec, WeightLaw("uniform01"),
                                      counterexample=True), wide))


def figure_scaling(result):
    """eps_hat against the expansion m / (k log k), log-log, with the fitted slope line
    and the a priori bound; drawn from ``result.tables["scaling"]`` only."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = result.tables["scaling"]
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    sns.scatterplot(data=df, x="expansion", y="eps_hat", ax=ax, label="eps_hat (draws)")
    g = df.groupby("m", as_index=False)[["expansion", "eps_hat", "bound"]].mean()
    ax.plot(g["expansion"], g["bound"], "k--", lw=1, label="a priori bound")
    if "gram_edge" in df:
        ge = df.groupby("m", as_index=False)["gram_edge"].mean()
        ax.plot(g["expansion"], ge["gram_edge"], "k:", lw=1,
                label="2 sqrt(k/m) + k/m (reference)")
    sl = result.details["scaling"]["slope"]
    if np.isfinite(sl):
        # the fitted line in m, drawn against the expansion (a fixed multiple of m)
        lm, le = np.log(df["m"]), np.log(df["eps_hat"])
        icpt = float(np.mean(le - sl * lm))
        ax.plot(g["expansion"], np.exp(icpt + sl * np.log(g["m"])), "C3-",
                label=f"fit: slope {sl:.2f} in m")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("expansion m / (k log k)")
    ax.set_ylabel("eps_hat")
    ax.set_title(f"WDC deviation, k = {result.details['scaling']['k']} [{result.preset}]")
    ax.legend(fontsize=8)
    from verify.plotting import tight_layout
    tight_layout(fig)  # drops log axes' invisible minor ticks first
    return fig


def check(instance, *, rng, quick):
    """The WDC on every layer's dense block B_i, its expectation, its conv form and
    its scaling (Lemma Sup.2; lemmas/README.md, section 2).

    Passes when, for every layer, eps_hat (random, structured, adversarial and diagonal
    pairs) is within :func:`eps_bound` of the block's (m, k); the Monte Carlo mean
    matches Q (z-test at :data:`MC_ALPHA`) with error slope in N within [-0.65, -0.35];
    the conv form holds to rounding on every stride = kernel layer; and eps_hat ~ m^slope
    over the sweep of widths with slope in [-0.65, -0.35]. On blocks with k <= 3 columns
    the supremum over ALL pairs is also certified (``exact_layer_sup``): where its
    bracket decides, the layer's statistic is the certified upper end instead of the
    sampled eps_hat (``layers[].method`` "exact"; both in table ``exact_wdc``), and the
    sampled eps_hat must lie below that upper end (a self-check).

    Trivial ceilings (lemmas/README.md, sections 2 and 12): eps_hat can never exceed
    max(||B||^2, 1/2) (:func:`wdc_ceiling`, measured on the drawn block); a layer whose
    bound is at or past its ceiling makes the verdict "uninformative" (nothing was
    tested), never a pass. H&V's corollary max ||B_{+,u}||^2 <= 1/2 + eps is reported
    per layer (``layers[].hv_norm2``, with its own ceiling ||B||^2) but is not a verdict
    criterion: eps_hat includes every diagonal pair (u, u), so the corollary follows from
    the headline (||B_{+,u}||^2 <= ||Q_{u,u}|| + eps_hat = 1/2 + eps_hat) and could only
    ever add "uninformative" (it is vacuous below m / k of about 130: :func:`hv_norm2`).

    Over network draws (``DRAWS``): draw 0 runs this check; draws 1..N-1 run
    :func:`check_draw`, the same per-layer criteria without the law-level steps.

    Applicability: the block statistic needs only the i.i.d. entries of B_i, true for
    any stride, so there is no ``requires``; the conv form W_{+,x}^T W_{+,y} =
    blockdiag_p B_{+,x_p}^T B_{+,y_p} needs the identical-block form (stride = kernel,
    or a single input position) and is reported "not applicable" on other layers.
    This lets the check give its verdict on paper-fig4-uniform01 (overlapping stride).

    BLAS threads follow the toolkit's policy (verify.threads; default one): the
    products are small and many, and on a shared
    machine threaded BLAS on small matrices is many times slower (measured: 30x).
    """
    from verify.threads import blas_threads

    with blas_threads():
        return _check(instance, rng=rng, quick=quick)


def check_draw(instance, *, rng, quick):
    """The per-draw check of ``DRAWS`` (draws 1..N-1): every criterion of :func:`check`
    that depends on the drawn network, on the same streams (so a draw's per-layer
    numbers are those the full check gives on it), without the law-level steps.

    Left out: the Monte Carlo test of E[B_{+,u}^T B_{+,v}] = Q_{u,v} and the eps_hat ~
    m^-1/2 sweep. Both draw fresh matrices from the weight law and never touch the
    network's weights, so repeating them per network draw would test the same
    statement of the law N times (and add N chances of a false alarm at
    :data:`MC_ALPHA` to the failure count); they are judged once, on draw 0.
    """
    from verify.threads import blas_threads

    with blas_threads():
        return _check(instance, rng=rng, quick=quick, law_steps=False)


def _check(instance, *, rng, quick, law_steps: bool = True):
    """The steps: per layer the block WDC, the conv form and (once per k) the expectation,
    then the scaling sweep; each draws from its own stream spawned from ``rng``.
    ``law_steps=False``: the per-layer steps only (:func:`check_draw`)."""
    budget = BUDGETS[bool(quick)]
    net, config = instance.network, instance.config
    spec = net.spec
    draw = unit_sampler(config)
    streams = rng.spawn(3 * spec.depth + 1)  # per layer: pairs, conv form, Monte Carlo
    heads, criteria, layers_info, pair_tables, conv_rows = [], [], [], [], []
    exact_rows = []
    mc_tables, mc_info = [], {}
    for i in range(spec.depth):
        r_pairs, r_conv, r_mc = streams[3 * i: 3 * i + 3]
        head, exact, info, pairs, exact_row, block = _step_block_wdc(net, config, i, r_pairs,
                                                                     budget)
        heads.append(head)
        criteria.extend(exact)
        exact_rows.append(exact_row)
        pair_tables.append(pairs)
        conv, info["conv_form"], rows = _step_conv_form(net, i, *block, r_conv, budget)
        criteria.extend(conv)
        conv_rows.extend(rows)
        k = info["k"]
        if law_steps and k not in mc_info:  # the expectation depends on k only
            mc, mc_info[k], table = _step_expectation(draw, k, r_mc, budget)
            criteria.extend(mc)
            mc_tables.append(table)
        layers_info.append(info)
    tables = {"exact_wdc": pd.DataFrame(exact_rows)}
    details = {"layers": layers_info,
               "exact": "k <= 3: the certified sup over ALL pairs (verify.geometry.wdc_exact, branch "
                        "and bound, bracket of width <= tol) beside the sampled eps_hat; "
                        "layers[].method is 'exact' where the bracket decides the WDC "
                        "against eps (layer{i}_eps_hat then takes the certified upper "
                        "end), else 'sampled'; table exact_wdc",
               "bound": "eps(m, k) = sqrt(6 k log m / m), stated a priori (see eps_bound)",
               "ceiling": "max(||B||^2, 1/2) per layer, measured on the drawn block "
                          "(see wdc_ceiling)",
               "hv_failure_probability": "H&V: WDC fails with probability <= 8 m exp(-gamma k) "
                                         "for m > c k log k (gamma, c unspecified); measured "
                                         "over network draws: verify check concentration "
                                         "--draws N (DRAWS)"}
    if any("fixed_network" in info for info in layers_info):  # (verify.report.user)
        details["fixed_network"] = [info["fixed_network"] for info in layers_info]
    settings = {k_: (list(v) if isinstance(v, tuple) else v) for k_, v in budget.items()}
    settings.update({"rounding": ROUNDING, "law_steps": law_steps})
    if law_steps:
        slope, sc_table, sc_info = _step_scaling(draw, spec, streams[-1], budget)
        criteria.append(slope)
        tables.update({"scaling": sc_table,
                       "monte_carlo": pd.concat(mc_tables, ignore_index=True)})
        details.update({"monte_carlo": {str(k): v for k, v in mc_info.items()},
                        "scaling": sc_info})
        settings.update({"mc_alpha": MC_ALPHA,
                         "slope_window": [SLOPE_TARGET - SLOPE_WINDOW,
                                          SLOPE_TARGET + SLOPE_WINDOW],
                         "sweep_k": sc_info["k"]})
    if conv_rows:
        tables["conv_form"] = pd.DataFrame(conv_rows)
    # headline: the layer with the least room (largest eps_hat / bound)
    worst = max(range(len(heads)), key=lambda j: heads[j].statistic / heads[j].bound)
    criteria = [h for j, h in enumerate(heads) if j != worst] + criteria
    return Outcome(headline=heads[worst], criteria=tuple(criteria),
                   n_samples=int(sum(len(t) for t in pair_tables)), details=details,
                   table=pd.concat(pair_tables, ignore_index=True), tables=tables,
                   settings=settings)


def hv_norm2(statistic: float, bound: float, norm2_B: float) -> Criterion:
    """H&V's corollary of the WDC, max ||B_{+,u}||^2 <= 1/2 + eps, with its trivial
    ceiling ||B||^2 (dropping rows never increases the spectral norm).

    Reported in the layer's details, not a verdict criterion. The check's eps_hat includes
    the diagonal pair (u, u) of every u the statistic is taken over, and
    ||B_{+,u}||^2 = ||B_{+,u}^T B_{+,u}|| <= ||Q_{u,u}|| + ||B_{+,u}^T B_{+,u} - Q_{u,u}||
    <= 1/2 + eps_hat, so it holds whenever the headline does. It is also informative
    only when 1/2 + eps < ||B||^2 ~ (1 + sqrt(k/m))^2: with eps = sqrt(6 k log m / m)
    that needs m / k of about 130 or more (measured: at m / k = 64, 1/2 + eps is at or
    above ||B||^2 on 77% (k = 4) to 100% (k = 16) of Gaussian draws), so as a criterion
    it would turn informative verdicts into "uninformative" and add nothing else.
    """
    return Criterion("hv_norm2", statistic, 0.5 + bound, "<=",
                     note=f"max ||B_{{+,u}}||^2 <= 1/2 + eps (H&V); trivial ceiling ||B||^2 = "
                          f"{norm2_B:.4g}; implied by eps_hat <= eps (diagonal pairs)",
                     ceiling=norm2_B)


def _step_block_wdc(net, config, i: int, rng, budget: dict):
    """The WDC on layer i's dense block B_i, eps_hat <= eps(m, k) with the trivial ceiling
    max(||B||^2, 1/2) (Lemma Sup.2, H&V's WDC; lemmas/README.md, section 2), and for k <= 3 the
    certified supremum beside it (``exact_layer_sup``). Returns the criterion, the exact
    criteria, the layer's details (with H&V's norm corollary, :func:`hv_norm2`, and
    ``method``), its pair table, its row of the exact_wdc table and (B_raw, scale) for
    the conv form."""
    spec = net.spec
    B_raw = net.dense_block(i)
    m, k = B_raw.shape
    s2, how = second_moment(config, spec, i, B_raw)
    scale = 1.0 / math.sqrt(m * s2)
    e, tbl, summ = eps_hat(scale * B_raw, rng, budget)
    bound = eps_bound(m, k)
    norm2_B, ceil_eps = wdc_ceiling(scale * B_raw)
    rand = tbl[tbl["kind"] == "random"]["deviation"]
    over = int((rand > bound).sum())
    lo, hi = wilson_interval(over, len(rand))
    hv = hv_norm2(summ["max_norm2_B_plus_u"], bound, norm2_B)
    info = {"layer": i + 1, "m": m, "k": k, "expansion": expansion(m, k),
            "m_over_k": m / k, "eps_hat": e, "bound": bound, "scale": scale,
            "norm2_B": norm2_B, "eps_hat_ceiling": ceil_eps,
            "bound_over_ceiling": bound / ceil_eps,
            "hv_norm2": hv.to_dict(),
            "normalisation": how, **summ,
            "random_pairs_over_bound": over,
            "random_pairs_over_bound_wilson95": [lo, hi]}
    exact, info["exact"], row = exact_layer_sup(scale * B_raw, i, e, bound, budget)
    decides = bool(info["exact"].get("decides"))
    info["method"] = row["method"] = "exact" if decides else "sampled"
    row["ceiling"] = ceil_eps
    if decides:  # the certified supremum over ALL pairs; the sampled eps_hat beside it
        ex = info["exact"]
        stat = ex["upper"]
        note = (f"method: exact, m = {m}, k = {k}: certified sup over ALL pairs in "
                f"[{ex['lower']:.4g}, {ex['upper']:.4g}] (tol {ex['tol']:g}, "
                f"{ex['seconds']:.2f} s); sampled eps_hat {e:.4g} over {summ['pairs']} "
                f"pairs; trivial ceiling max(||B||^2, 1/2) = {ceil_eps:.4g}")
    else:
        stat = e
        note = (f"method: sampled, m = {m}, k = {k}, {summ['pairs']} pairs; trivial "
                f"ceiling max(||B||^2, 1/2) = {ceil_eps:.4g}")
    info["statistic"] = stat
    if getattr(config, "loader", None) is not None:  # one fixed network
        info["fixed_network"] = _fixed_network_line(i, B_raw, s2, stat, bound, rng, budget)
    head = Criterion(f"layer{i + 1}_eps_hat", stat, bound, "<=", note=note, ceiling=ceil_eps)
    return head, exact, info, tbl.assign(layer=i + 1, m=m, k=k), row, (B_raw, scale)


def _fixed_network_line(i: int, B_raw, s2: float, e_fit: float, bound: float, rng, budget):
    """Fixed (loaded) weights: eps_hat with the block's own fitted variance (the
    check's statistic), against N(0, 1/(C_i l^dims)) (the block as it is), and the
    law's prediction: eps(m, k) and one N(0, 1/m) block drawn after the check's pairs."""
    m, k = B_raw.shape
    e_law = eps_hat(B_raw, rng, budget)[0]
    e_draw = eps_hat(rng.normal(size=(m, k)) / math.sqrt(m), rng, budget)[0]
    return (f"layer {i + 1} (m = {m}, k = {k}): eps_hat {e_fit:.3g} with its own fitted "
            f"variance (mean square {s2:.3g} = {m * s2:.3g}/(C_i l^dims)), {e_law:.3g} "
            f"against N(0, 1/(C_i l^dims)); that law predicts eps_hat <= eps(m, k) = "
            f"{bound:.3g} with high probability, and one draw of it gives {e_draw:.3g}")


def _step_conv_form(net, i: int, B_raw, scale: float, rng, budget: dict):
    """On the whole sparse layer, W_{+,x}^T W_{+,y} = blockdiag_p B_{+,x_p}^T B_{+,y_p}
    to rounding (Lemma Sup.2 after the permutation of Fig. 2(b)); not applicable without
    the identical-block form. Returns (criteria, conv-form details, rows)."""
    spec = net.spec
    holds, _, _ = exact_block_identity(net.layer_matrix(i), B_raw, spec.sizes[i] ** spec.dims)
    if not holds:
        return (), {"applies": False, "reason": "no identical-block form (overlapping stride "
                                                "or padding): see the permutation check"}, []
    n = budget["conv_pairs"]
    X = np.vstack([rng.normal(size=(n // 2, spec.widths[i])),
                   _layer_inputs(net, i, n - n // 2, rng)])
    Y = np.vstack([rng.normal(size=(n // 2, spec.widths[i])),
                   _layer_inputs(net, i, n - n // 2, rng)])
    rows = conv_form(net, i, X, Y, scale)
    clean = [r for r in rows if not r["ties"]]  # the random half never ties (a.s.)
    worst = max((float("inf") if r["off_block_nonzeros"] else r["max_err_over_tol"]
                 for r in clean), default=float("nan"))
    criterion = Criterion(f"layer{i + 1}_conv_form_err_over_rounding", worst, 1.0, "<=",
                          note="W_{+,x}^T W_{+,y} = blockdiag_p B_{+,x_p}^T B_{+,y_p}, "
                               "tolerance m * 2 eps |B|^T|B|; "
                               f"{len(rows) - len(clean)} pairs with a tie left out",
                          untested="" if clean else "every pair had a pre-activation tie")
    info = {"pairs": len(rows), "pairs_with_ties": len(rows) - len(clean),
            "positions": rows[0]["positions"],
            "max_err_over_rounding_tol": worst,
            "max_dev_from_blockdiag_Q": max(r["dev_from_blockdiag_Q"] for r in rows),
            "max_dev_from_whole_vector_Q": max(r["dev_from_whole_vector_Q"] for r in rows)}
    return (criterion,), info, rows


def _step_expectation(draw, k: int, rng, budget: dict):
    """E[B_{+,u}^T B_{+,v}] = Q_{u,v} by Monte Carlo, error ~ N^-1/2 (Lemma Sup.2).
    Returns (criteria, Monte Carlo details, table)."""
    mi, mt = monte_carlo(draw, k, rng, sizes=budget["mc_sizes"], reps=budget["mc_reps"])
    criteria = (
        Criterion(f"mc_max_abs_z_k{k}", mi["max_abs_z"], mi["z_critical"], "<=",
                  note=f"E[B_+u^T B_+v] = Q, {mi['entries_tested']} entries, alpha "
                       f"{MC_ALPHA} (Bonferroni), {mi['pooled_rows']} rows"),
        Criterion(f"mc_slope_dev_k{k}", abs(mi["slope"] - SLOPE_TARGET), SLOPE_WINDOW, "<=",
                  note=f"MC error ~ N^{mi['slope']:.3f}"))
    return criteria, mi, mt.assign(k=k)


def _step_scaling(draw, spec, rng, budget: dict):
    """eps_hat ~ m^-1/2 over a sweep of widths at the first layer's k (Lemma Sup.2's
    eps(m, k) ~ sqrt(k log m / m)). Returns (criterion, table, details)."""
    k_s = int(np.clip(spec.channels[0], *SWEEP_K))
    table, info = scaling_sweep(draw, k_s, rng, ratios=budget["ratios"],
                                reps=budget["scaling_reps"], budget=budget)
    criterion = Criterion("scaling_slope_dev", abs(info["slope"] - SLOPE_TARGET), SLOPE_WINDOW,
                          "<=", note=f"eps_hat ~ m^{info['slope']:.3f} (k = {k_s}); "
                                     "window [-0.65, -0.35]")
    return criterion, table, info


FIGURES = (figure_scaling,)
#: The examined mismatches are data: lemmas/findings/sup2-wdc.toml (the statement's).
FINDINGS = ()

#: Lemma Sup.2 holds with high probability over the weights: H&V give >= 1 - 8 m
#: exp(-gamma k) for m > c k log k, with gamma and c unspecified, so no rate follows from
#: the paper at the presets' widths. tau = 0.1 reads "with high probability" as at least
#: 90% of network draws (the project's guideline). 80 draws: zero failures bound
#: the rate by 0.045 and up to two stray failures still decide "holds" (upper end 0.087);
#: measured (seed 0, 80 draws): theory-2layer 40 CPU-s, theory-2layer-2d 27,
#: paper-fig4-uniform01 17, so the three preset rows of the report take about 85 CPU-s
#: (quick: 24 + 16 + 11 = 50). The certified supremum of paper-fig4-uniform01's k = 2
#: first block adds about 0.1 s a draw (quick, 80 draws: 16 CPU-s measured with it).
DRAWS = DrawRule(
    tolerance=0.1, draws=80, check=check_draw,
    reason="'with high probability' (H&V: >= 1 - 8 m exp(-gamma k), constants unspecified) "
           "read as: at most 10% of network draws have a layer whose eps_hat exceeds the "
           "a-priori eps(m, k); chosen before any multi-draw run, as the project's common "
           "tolerance for the w.h.p. statements")


def _known_bad(name: str, spec, law: str, reason: str, verdicts=("fails",)) -> KnownBad:
    from verify.presets import Config
    from verify.weights import WeightLaw

    return KnownBad(name, Config(f"known-bad-{name.split(' ')[0]}", spec, WeightLaw(law),
                                 counterexample=(law == "uniform01")),
                    reason, verdicts=verdicts)


#: Configurations that violate Lemma Sup.2's hypotheses.
KNOWN_BAD = (
    _known_bad(
        "no expansion (m = k/8)", block_spec(1, (16, 2), (1,)), "gaussian",
        "1-D 16 -> 2, kernel 1: the block B is 2 x 16, m = k/8 rows. With fewer rows than "
        "columns some u has B u = 1 (every row active), so B_{+,u}^T B_{+,u} = B^T B and "
        "||B^T B - I/2|| = ||B||^2 - 1/2 ~ (1 + sqrt(k/m))^2 - 1/2 ~ 14, far above "
        "eps(2, 16) = 5.8 and below the ceiling ||B||^2: the WDC cannot hold without "
        "expansion"),
    _known_bad(
        "uniform01 weights", block_spec(1, (4, 16), (4,)), "uniform01",
        "U[0, 1] entries are not zero-mean: B = (1/2) 1 1^T sqrt(3/m) + noise has a rank-one "
        "part of norm^2 3k/4 that no width removes, so E[B_{+,u}^T B_{+,v}] != Q_{u,v} (the "
        "Fig. 4(d) counter-example); the deviation stays about 3k/4 - 1/2 = 2.5 > eps(64, 4) "
        "= 1.25 on every draw"),
    _known_bad(
        "fewer rows than columns (m = k/2)", block_spec(1, (16, 8), (1,)), "gaussian",
        "1-D 16 -> 8, kernel 1: m = 8 < k = 16, no expansion, so the WDC cannot hold (as "
        "above, eps_hat >= ||B||^2 - 1/2). The a-priori eps(8, 16) = 5.0 lies in the range "
        "of ||B||^2 (about 4.5 to 7), so a single draw is uninformative (eps >= ||B||^2), "
        "fails (||B||^2 > eps + 1/2) or even holds (in between: about 1 draw in 5); over "
        "the default draws the failure rate among the informative ones is about 1/2, "
        "and the verdict is 'fails'. 'uninformative' is accepted too: on an unlucky seed too "
        "few draws may be informative to decide, and that is the honest answer then",
        verdicts=("fails", "uninformative")),
    _known_bad(
        "too narrow (m = 2k, k = 16)", block_spec(1, (16, 8), (4,)), "gaussian",
        "1-D 16 -> 8, kernel 4: a 32 x 16 block, m = 2k below H&V's m > c k log k "
        "(k log k = 44). The WDC with a small eps fails here, but the check's a-priori "
        "eps(32, 16) = 3.2 is above the trivial ceiling max(||B||^2, 1/2) ~ (1 + sqrt(1/2))^2 "
        "= 2.9 on essentially every draw: every block meets it, so the honest verdict is "
        "'uninformative' (the check cannot test widths this small), never 'holds'",
        verdicts=("uninformative",)),
)

register("concentration",
         statement="||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 <= eps(m, k) = sqrt(6 k log m / m) for "
                   "every layer's block, with E[B_{+,u}^T B_{+,v}] = Q_{u,v} and eps_hat ~ m^-1/2",
         reference="Lemma Sup.2 (H&V's WDC)",
         presets={"theory-2layer": "pass", "theory-2layer-2d": "pass",
                  "paper-fig4-uniform01": "fail"},
         check=check, configs=configs, counter_configs=counter_configs,
         figures=FIGURES, findings=FINDINGS, cost=2.0, requires=None,
         draws=DRAWS, known_bad=KNOWN_BAD, hypotheses=hypotheses)
