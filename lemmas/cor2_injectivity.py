"""Corollary 2 (Sec. 3), judged by the ``injectivity`` check.

"Injective" is judged by its negation's witnesses: the collision search (no pair
z1 != z2 with G(z1) = G(z2) to rounding), no latent region mapped to one output
(``collapsed_fraction``), and no certificate that the first layer is not injective.
Stated under Theorem 1's assumptions (Gaussian weights, expansive layers); Fig. 4(d)'s
U[0, 1] network reads the same criteria in its own statement (``fig4d``).
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Judge

QUOTE = ("Under the assumptions of Theorem 1, the mapping G(·) : ℝ^{n₀} → ℝ^{n₂} (n₀ ≪ n₂) "
         "is injective (i.e., one-to-one) with high probability.")

#: The injectivity check's criteria (their names are read by other statements too).
CRITERIA = ("min_normalised_collision_ratio", "collapsed_fraction",
            "first_layer_certified_non_injective")


def applies(config) -> str | None:
    """Theorem 1's assumptions: Gaussian weights, stride = kernel."""
    if not config.spec.is_block:
        return ("a layer has stride != kernel or padding: Theorem 1 assumes stride = "
                "kernel size")
    if config.weights.name != "gaussian":
        return (f"the weights are {config.weights.name}, not i.i.d. Gaussian: Corollary 2 "
                "is stated under the assumptions of Theorem 1")
    return None


register_statement(
    "cor2", label="Corollary 2", section="Sec. 3", quote=QUOTE,
    hypotheses="Theorem 1's assumptions: i.i.d. Gaussian weights, expansive layers, stride = kernel",
    judges=(Judge("injectivity", CRITERIA, presets=("theory-2layer",),
                  applies=applies,
                  what="no collision G(z1) = G(z2) found, no collapsed latent region, no "
                       "certificate of a non-injective first layer"),))
