"""Theorem 4 (proof, Sec. 3): A commutes with the ReLU and A W_2 is, after permutation,
block diagonal with Gaussian blocks of different sizes; judged by the ``permutation``
check's subsampling criteria.

On a full-observation preset (A = I: every block kept whole, the case the sentence
contrasts with) the check also applies a uniformly random 50% subsampling to the same
weights, and the statement is judged on that A (criteria suffixed ``_random_0.5``); the
commutation A sigma(v) = sigma(A v) is checked on the preset's own A. A dense Gaussian
measurement is not a subsampling: the statement is ``not applicable`` there.
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Judge

QUOTE = ("y = AG(z) = Aσ(W₂σ(W₁z)) = σ(AW₂σ(W₁z)). [...] after proper permutation, AW₂ is "
         "again a block diagonal matrix with each block being a Gaussian matrix with "
         "independent entries. Only this time the blocks are not identical, but instead "
         "have different sizes.")

#: The permutation check's criteria this statement reads (suffixed on full observation).
SUBSAMPLING = ("kept_rows_total", "AW_blocks_are_row_subsets_of_B")
COMMUTES = "A_sigma_commutes_mismatches"


def applies(config) -> str | None:
    """Theorem 4's hypotheses: a subsampling A, stride = kernel, Gaussian weights."""
    if config.mask.kind == "gaussian":
        return "the measurement is not a subsampling (a dense Gaussian matrix)"
    if not config.spec.is_block:
        return ("a layer has stride != kernel or padding: Theorem 4 keeps Theorem 1's "
                "assumption stride = kernel size")
    if config.weights.name != "gaussian":
        return f"the weights are {config.weights.name}, not i.i.d. Gaussian"
    return None


def subsampling_criteria(outcome):
    """The sentence's criteria: sigma commutes with A (bitwise), A W_d's blocks are row
    subsets of B_d (exactly), every measured row lies in one block, and the blocks have
    different sizes (at least two distinct kept-row counts over W_d's blocks)."""
    have = {c.name: c for c in (outcome.headline,) + tuple(outcome.criteria)}
    sfx = "_random_0.5" if f"{SUBSAMPLING[1]}_random_0.5" in have else ""
    out = []
    for name in SUBSAMPLING + (COMMUTES,):
        key = name + (sfx if name != COMMUTES else "")
        out.append(have.get(key) or Criterion(
            key, float("nan"), 0.0, untested=f"{key} was not evaluated (no subsampling, "
                                             "or no identical-block form)"))
    info = (outcome.details or {}).get("subsampling" + sfx) or {}
    dist = info.get("distribution")
    if dist is None:
        out.append(Criterion("distinct_block_sizes", float("nan"), 2, ">=",
                             untested="no kept-row counts per block"))
    else:
        out.append(Criterion("distinct_block_sizes", len(dist), 2, ">=",
                             note=f"kept rows per block of W_d: {dist} (count -> blocks)"
                                  + (" (random 50% A; the preset observes every row)"
                                     if sfx else "")))
    return out


register_statement(
    "thm4-proof", label="Theorem 4 (proof)", section="Sec. 3", quote=QUOTE,
    hypotheses="A a subsampling matrix (selects entries), stride = kernel, i.i.d. Gaussian "
               "weights",
    judges=(Judge("permutation", subsampling_criteria,
                  presets=("theory-2layer", "theory-2layer-2d"), applies=applies,
                  what="A sigma(v) = sigma(A v) bitwise; A W_d's blocks equal row subsets "
                       "of B_d (==); kept rows add up to m; kept-row counts differ"),))
