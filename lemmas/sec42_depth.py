"""Sec. 4.2: Theorem 1's (and Theorem 4's) conclusion "empirically extends to networks
with more layers and different kernel sizes and strides".

Judged by the ``descent`` check on the presets the sentence names: more layers
(``theory-3layer``, ``theory-4layer``), a stride below the kernel (``paper-fig4``: the
paper's own 2-layer Fig. 4 network, kernel 5, stride 3, exactly the "different kernel
sizes and strides" of the sentence) and both (``theory-3layer-overlap``), with the same
criteria as Theorem 1 on A = I and the check's subsampling (the sentence extends both
theorems), at the ball radius eps = :data:`verify.geometry.descent.EPS_BALL` and
rho = rho_d of Hand & Voroninski. The theorem holds for any fixed eps given enough
expansion, so the result over draws carries eps: ``details["over_draws"]`` of the
descent run has eps_hat per draw, its median, and how many draws exceed eps, against
rho_d and with rho fitted per case (each target's minimiser of J(-t z*)).

A second judge reads the ``landscape`` check on ``theory-3layer`` (2-D latent, every
stationary point exactly): its certified eps_hat (the farthest stationary point other
than z* and the origin from z* and -rho_d z*), which is exactly the sentence's claim on
stationary points. The landscape check's own criteria ask more and are shown beside it
(Beyond): ``local_minima`` (no local minimum other than z*: Theorem 1 allows one near
-rho z*) and ``gd_only_to_z_star`` (gradient descent reaches z* from every start).
"""

from __future__ import annotations

import math

from lemmas._descent_criteria import conclusion_criteria
from verify.geometry.descent import EPS_BALL, EPS_HAT_CEILING
from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Beyond, Judge

QUOTE = ("the same conclusion empirically extends to networks with more layers and "
         "different kernel sizes and strides.")

#: The descent presets the sentence speaks to: more layers, stride != kernel, both.
PRESETS = ("theory-3layer", "theory-4layer", "theory-3layer-overlap", "paper-fig4")


def beyond_two_layer_blocks(config) -> str | None:
    """The sentence speaks of ReLU networks with Gaussian weights (the theorems' other
    hypotheses) that have more layers or another kernel / stride: a 2-layer stride =
    kernel network is Theorem 1's own case (``thm1``)."""
    spec = config.spec
    if config.weights.name != "gaussian":
        return (f"weights {config.weights.name}: the sentence extends Theorem 1 and 4 "
                "(Gaussian weights) to other architectures, not to other weight laws")
    if any(l.activation != "relu" or l.affine for l in spec.layers):
        return "not ReLU without bias (other activations are other sentences of Sec. 4.2)"
    if spec.depth <= 2 and spec.is_block:
        return "2 layers with stride = kernel: Theorem 1's own case (thm1), not its extension"
    return None


def certified_eps_hat(outcome):
    """The landscape check's certified eps_hat (its exact stationary set, per draw)
    against the ball radius: stationary points only in B(z*, eps) U B(-rho_d z*, eps)."""
    eps = outcome.details.get("per_draw", {}).get("certified_eps_hat")
    untested = "" if eps is not None else (
        "the landscape check's exact stationary set was not computed (method: sampled)")
    return (Criterion(
        "certified_eps_hat", float(eps) if eps is not None else math.nan, EPS_BALL, "<=",
        "method: exact (landscape). Largest ||z - c|| / ||z*|| over every stationary point "
        "of J other than z* and the origin, c the nearer of z*, -rho_d z*; bound: the ball "
        f"radius eps = {EPS_BALL:g}; trivial ceiling: none (inf)", ceiling=EPS_HAT_CEILING,
        untested=untested),)


register_statement(
    "sec42-depth",
    label="Sec. 4.2, more layers",
    section="Sec. 4.2",
    quote=QUOTE,
    hypotheses="ReLU without bias, Gaussian weights, more than 2 layers or stride ≠ "
               "kernel; 'the same conclusion' is Theorem 1's (and Theorem 4's), judged at "
               f"ε = {EPS_BALL:g} with ρ = ρ_d of Hand & Voroninski",
    judges=(Judge("descent", conclusion_criteria(None), presets=PRESETS,
                  applies=beyond_two_layer_blocks,
                  what=f"Theorem 1's criteria at ε = {EPS_BALL:g} (A = I and a subsampling), "
                       "over the check's network draws; ε̂ per draw in over_draws"),
            Judge("landscape", certified_eps_hat, presets=("theory-3layer",),
                  applies=beyond_two_layer_blocks,
                  what=f"the exact stationary set's certified ε̂ against ε = {EPS_BALL:g}")),
    beyond=(Beyond("landscape", ("local_minima",), presets=("theory-3layer",),
                   asks="no local minimum other than z* (Theorem 1 allows stationary "
                        "points, minima included, near -ρz*)"),
            Beyond("landscape", ("gd_only_to_z_star",), presets=("theory-3layer",),
                   asks="gradient descent from every start of the window ends at z* "
                        "(Sec. 3 / Fig. 4(a)'s sentence, not this one)")),
)
