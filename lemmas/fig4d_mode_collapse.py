"""Fig. 4(d), Sec. 4.2: with U[0, 1] weights "there is a flat global minimum in the
latent space, as shown in Figure 4(d). In this region, any two latent vectors are mapped
to the exact same output, indicating that mode collapse indeed occurs."

Expected to HOLD on ``paper-fig4-uniform01`` (the paper's counter-example: Judge.expect).
Two judges, one per check that measures it:

* ``landscape`` (:func:`flat_global_minimum`, method: exact): the number of flat cones
  of J at J's minimum J(z*) = 0 within rounding (a cone on which J is constant, i.e. G is
  constant on the observed entries: a region of latents mapped to one output), bound
  >= 1, trivial floor 0. Beside it in the note, the angular fraction of every flat cone
  (whatever its level).
* ``injectivity`` (:func:`collapse_witness`): the check searches for a pair G(z1) = G(z2)
  and for latents where G is locally constant; here they are turned into the
  statement's sense: ``collision_witness_ratio`` (the smallest normalised ratio
  ||G(z1) - G(z2)|| / (||z1 - z2|| RMS ||G||) found, <= the check's collision tolerance:
  a witness pair; no finite trivial ceiling) and ``collapsed_points`` (sampled latents
  where G is locally constant, >= 1; trivial floor 0). On uniform01 the injectivity
  check itself is expected to fail (non-injective), which is this statement holding.
"""

from __future__ import annotations

import math

from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Judge

PRESET = "paper-fig4-uniform01"


def flat_global_minimum(outcome):
    """Flat cones at J's global minimum (exact stationary set), bound >= 1."""
    g = outcome.details.get("global_minimum")
    if not isinstance(g, dict):
        return [Criterion("flat_cones_at_global_minimum", math.nan, 1.0, ">=",
                          untested="the outcome carries no global_minimum details")]
    return [Criterion(
        "flat_cones_at_global_minimum", float(g["flat_cones"]), 1.0, ">=",
        f"method: {g['method']}. Flat regions of J (G constant on them) at J's minimum "
        f"J(z*) = 0 within {g['tolerance']:.2g}: {g['flat_cones']}, "
        f"{g['flat_fraction']:.1%} of the directions (flat at any level: "
        f"{g['any_flat_fraction']:.1%}); trivial floor 0", ceiling=0.0)]


def collapse_witness(outcome):
    """The injectivity check's evidence in the statement's sense: a witness pair and a
    region where G is locally constant."""
    allc = {c.name: c for c in (outcome.headline,) + tuple(outcome.criteria)}
    col = outcome.details.get("collapse")
    out = []
    c = allc.get("min_normalised_collision_ratio")
    if c is None:
        out.append(Criterion("collision_witness_ratio", math.nan, 0.0,
                             untested="min_normalised_collision_ratio was not evaluated"))
    else:
        out.append(Criterion("collision_witness_ratio", c.statistic, c.bound, "<=",
                             f"a witness pair G(z1) = G(z2): smallest normalised collision "
                             f"ratio found <= {c.bound:.3g} (the check's tolerance); no "
                             f"finite trivial ceiling. {c.note}"))
    if not isinstance(col, dict):
        out.append(Criterion("collapsed_points", math.nan, 1.0, ">=",
                             untested="the injectivity check reported no collapse search"))
    else:
        out.append(Criterion("collapsed_points", float(col["count"]), 1.0, ">=",
                             f"latents (of {col['n']} sampled in a ball) where G is locally "
                             f"constant (a region mapped to one output); trivial floor 0",
                             ceiling=0.0))
    return out


def uniform01_weights(config) -> str | None:
    """The sentence's hypothesis: U[0, 1] weights (drawn), or fixed weights that all lie
    in [0, 1] (the law's support); None when it is met."""
    if getattr(config, "loader", None) is not None:
        if all(((w.filters >= 0) & (w.filters <= 1)).all() for w in config.loader().weights):
            return None
        return ("the sentence is about weights in [0, 1] (Fig. 4(d)'s U[0, 1] "
                "counter-example); these fixed weights are not all in [0, 1]")
    if config.weights.name != "uniform01":
        return (f"the sentence is about U[0, 1] weights (Fig. 4(d)'s counter-example), "
                f"not {config.weights.name}")
    return None


register_statement(
    "fig4d", label="Fig. 4(d)", section="Sec. 4.2",
    quote="there is a flat global minimum in the latent space, as shown in Figure 4(d). In "
          "this region, any two latent vectors are mapped to the exact same output, "
          "indicating that mode collapse indeed occurs.",
    hypotheses="Fig. 4's ReLU network with kernel weights drawn uniformly from [0, 1] (the "
               "paper's counter-example to the zero-mean Gaussian assumption)",
    judges=(Judge("landscape", flat_global_minimum, presets=(PRESET,),
                  expect={PRESET: "holds"}, applies=uniform01_weights,
                  what="flat cones of J at its global minimum J(z*) = 0 (exact), >= 1"),
            Judge("injectivity", collapse_witness, presets=(PRESET,),
                  expect={PRESET: "holds"}, applies=uniform01_weights,
                  what="a witness pair G(z1) = G(z2) and latents where G is locally "
                       "constant")),
)
