"""Theorem 1's probability clause, judged apart from its conclusion: "If C₁ℓ ≳ C₀ log C₀
and C₂ℓ ≳ C₁ log C₁ then with probability at least 1 − κ(D₁C₁e^{−γC₀} + D₂C₂e^{−γC₁})
we have the following."

Judged by the ``expansion`` check: the conclusion (``thm1``'s, decided exactly per draw
on a 2-D latent at the ball radius eps = :data:`verify.geometry.descent.EPS_BALL`) over
40 network draws at each point of a grid of expansion factors
E_i = C_i l^dims / (C_{i-1} log C_{i-1}). The constants κ, D_i, γ are not given, so the
probability is read as the toolkit's "high probability" at the grid's largest expansion
(``top_failure_rate``: failure rate <= tau = 0.1, exact interval) and the rate must not
rise with expansion (``rate_does_not_rise``). With C₀ = 2 the bound's first term does not
shrink with width; the finding data (lemmas/findings/thm1-probability.toml) say what the
grid measures.
"""

from __future__ import annotations

from verify.geometry.descent import EPS_BALL
from verify.registry import register_statement
from verify.statements import Judge

QUOTE = ("If C₁ℓ ≳ C₀ log C₀ and C₂ℓ ≳ C₁ log C₁ then with probability at least "
         "1 − κ(D₁C₁e^{−γC₀} + D₂C₂e^{−γC₁}) we have the following.")


def outside_hypotheses(config) -> str | None:
    """Theorem 1's setting other than the expansion (which the check sweeps): Gaussian
    weights, ReLU without bias, stride = kernel, A = I."""
    spec = config.spec
    if config.weights.name != "gaussian":
        return f"weights {config.weights.name} (Theorem 1 assumes Gaussian N(0, 1/C_i ℓ))"
    if any(l.activation != "relu" or l.affine for l in spec.layers):
        return "not ReLU without bias (Theorem 1's network)"
    if not spec.is_block:
        return "stride < kernel or padding (Theorem 1 assumes stride = kernel)"
    if config.mask.kind != "full":
        return f"the mask is {config.mask.kind} (Theorem 1 is for A = I)"
    return None


register_statement(
    "thm1-probability",
    label="Theorem 1 (probability)",
    section="Sec. 3",
    quote=QUOTE,
    hypotheses="Gaussian N(0, 1/C_i ℓ) weights, ReLU without bias, stride = kernel, A = I; "
               "the expansion swept; κ, D_i, γ not given: 'with probability at least' read "
               f"as failure rate <= 0.1 at the largest expansion measured (ε = {EPS_BALL:g}) "
               "and a rate that does not rise with expansion",
    judges=(Judge("expansion", ("top_failure_rate", "rate_does_not_rise"),
                  applies=outside_hypotheses,
                  what="failure rate of Theorem 1's conclusion over 40 draws per expansion "
                       "factor: at the top <= 0.1, not rising with expansion"),),
)
