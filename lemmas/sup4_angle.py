"""Lemma Sup.4 as the paper's Sec. 3 cites it, judged by the ``angle`` check.

The sentence says only that the angle "does not vanish": per layer (the transposed
convolution and its dense block), the smallest output/input angle ratio stays above a
floor (:data:`lemmas.angle.RATIO_FLOOR`, half the theory's 1/2; trivial floor 0) and no
non-zero input is mapped to zero (its angle would be undefined), over network draws.
The angle's closeness to g(theta) or theta_bar, theta_bar <= theta, the halved norms and
the width sweep ask more and are shown beside.
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Beyond, Judge, criteria_matching

QUOTE = ("Lemma Sup.4 [15] shows that the angle between two arbitrary input vectors x and "
         "y does not vanish under a transposed convolution layer and the ReLU.")

PRESETS = ("theory-2layer", "theory-2layer-2d")


def applies(config) -> str | None:
    if config.weights.name != "gaussian":
        return (f"the weights are {config.weights.name}, not i.i.d. Gaussian: Lemma Sup.4 "
                "is stated for Gaussian layers (other laws: Conjecture 3)")
    return None


register_statement(
    "sup4-angle", label="Lemma Sup.4 (proof outline)", section="Sec. 3", quote=QUOTE,
    hypotheses="an expansive transposed-convolution ReLU layer with i.i.d. Gaussian weights",
    judges=(Judge("angle", criteria_matching("layer * smallest output/input angle ratio",
                                             "layer *: zero outputs of non-zero inputs"),
                  presets=PRESETS, applies=applies,
                  what="per layer (conv and block): smallest angle(out)/angle(in) >= the "
                       "floor; no non-zero input with a zero output"),),
    beyond=(Beyond("angle", criteria_matching("layer * largest |angle - *"),
                   asks="the output angle is within an a-priori bound of g(theta) (block) "
                        "or theta_bar (conv)", presets=PRESETS),
            Beyond("angle", criteria_matching("layer * largest relative error of *"),
                   asks="squared norms are halved, ||relu(W x)||^2 ~ ||x||^2 / 2",
                   presets=PRESETS),
            Beyond("angle", criteria_matching("layer *: max(theta_bar - *",
                                              "layer *: a-priori gap bound informative",
                                              "width sweep: *"),
                   asks="theta_bar <= the input angle, the gap bound below pi/4, and the "
                        "largest gap falling with the width", presets=PRESETS)))
