"""Fig. 2 (Sec. 3): the permutation of a transposed-convolution layer into identical
Gaussian blocks, judged by the ``permutation`` check (P W_i Q = I (x) B_i, exactly).

The paper assumes stride = kernel and no padding (Sec. 3: "One assumption we make is
the size of stride s being same as the filter size"), and Gaussian weights: on other
networks the statement is ``not applicable`` (the check itself still reports the
component count there, e.g. paper-fig4's overlapping stride).
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Judge, criteria_matching

QUOTE = ("we rearrange both rows and columns of the sparse weight matrices, as in Figure "
         "2(a), into a block diagonal matrix, as in Figure 2(b). Each block in the permuted "
         "matrix is the same Gaussian matrix with independent entries.")


def applies(config) -> str | None:
    """Fig. 2's hypotheses: stride = kernel, no padding, i.i.d. Gaussian weights."""
    if not config.spec.is_block:
        return ("a layer has stride != kernel or padding: the paper assumes stride = "
                "kernel size (Sec. 3), under which Fig. 2's permutation is stated")
    if config.weights.name != "gaussian":
        return (f"the weights are {config.weights.name}, not i.i.d. Gaussian: Fig. 2's "
                "blocks are Gaussian by the hypothesis of Theorem 1")
    return None


register_statement(
    "fig2", label="Fig. 2 (permutation)", section="Sec. 3", quote=QUOTE,
    hypotheses="transposed convolutions with stride = kernel, no padding, i.i.d. Gaussian "
               "weights",
    judges=(Judge("permutation",
                  criteria_matching("layers_without_identical_block_form",
                                    "layer*_components"),
                  presets=("theory-2layer", "theory-2layer-2d"), applies=applies,
                  what="every layer: the bipartite components of W_i's non-zeros number "
                       "the input positions and P W_i Q = I (x) B_i exactly (==)"),))
