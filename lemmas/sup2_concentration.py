"""Lemma Sup.2 as the paper's Sec. 3 cites it, judged by the ``concentration`` check.

The concentration bound is H&V's WDC on each layer's dense block B_i (Fig. 2(b)): the
deviation eps_hat = sup ||B_{+,u}^T B_{+,v} - Q_{u,v}||_2 of the ReLU-merged effective
matrices against the a-priori eps(m, k), each layer's bound below the trivial ceiling
max(||B||^2, 1/2) (else the draw is uninformative), judged over network draws. The
expectation E = Q, the m^-1/2 rate and the conv form on the whole sparse layer are
computed by the same check and shown beside, as asking more than the sentence.
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Beyond, Judge, criteria_matching

QUOTE = ("Lemma Sup.2 [15] provides a concentration bound on the distribution of the "
         "effective weight matrices (after merging the ReLUs into the matrices).")


def applies(config) -> str | None:
    """H&V's WDC is stated for i.i.d. Gaussian blocks."""
    if config.weights.name != "gaussian":
        return (f"the weights are {config.weights.name}, not i.i.d. Gaussian: Lemma Sup.2 "
                "(H&V's WDC) is stated for Gaussian blocks (other laws: Conjecture 3)")
    return None


register_statement(
    "sup2-wdc", label="Lemma Sup.2 (proof outline)", section="Sec. 3", quote=QUOTE,
    hypotheses="each layer's dense block B_i with i.i.d. N(0, 1/m) entries (Fig. 2(b))",
    judges=(Judge("concentration", criteria_matching("layer*_eps_hat"),
                  presets=("theory-2layer", "theory-2layer-2d"), applies=applies,
                  what="per layer eps_hat <= eps(m, k) = sqrt(6 k log m / m) below the "
                       "ceiling max(||B||^2, 1/2); certified sup over all pairs for k <= 3"),),
    beyond=(Beyond("concentration", criteria_matching("layer*_conv_form_err_over_rounding"),
                   asks="on the whole sparse layer W_{+,x}^T W_{+,y} = blockdiag_p "
                        "B_{+,x_p}^T B_{+,y_p} to rounding",
                   presets=("theory-2layer", "theory-2layer-2d")),
            Beyond("concentration", criteria_matching("mc_*", "scaling_slope_dev"),
                   asks="E[B_{+,u}^T B_{+,v}] = Q_{u,v} (Monte Carlo) and eps_hat ~ m^-1/2: "
                        "a law-level computation, run on draw 0 only",
                   presets=("theory-2layer", "theory-2layer-2d"))))
