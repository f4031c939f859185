"""The proof's formulas (Hand & Voroninski [15]): Q_{u,v} = E[1(g.u > 0) 1(g.v > 0) g g^T]
(Lemma Sup.2's expectation), the angle map g(θ) and its bounds (Lemma Sup.4), and
rho_d, the position -rho_d z* of the surrogate gradient's second zero (Theorem 1).

Not a sentence of the paper: the paper cites Lemma Sup.2 and Sup.4 from [15] and writes
of rho only "where ρ is a positive constant" after Theorem 1; it states none of these
formulas. That sentence is quoted as the closest one, and the hypotheses say the
statement is the proof's formulas. Judged by the ``symbolic`` check: every identity
derived (sympy) or certified (interval arithmetic), and the code the other checks use
(:mod:`verify.formulas`) equal to them; rho_d > 0 for d >= 2 is among the closed forms.
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Judge

register_statement(
    "closed-forms",
    label="Proof formulas (Hand & Voroninski)",
    section="Sec. 3 (proof, from [15])",
    quote="where ρ is a positive constant.",
    hypotheses="not a sentence of the paper: the proof's formulas Q_{u,v}, g(θ) and its "
               "bounds, ρ_d (Hand & Voroninski [15]), which the paper does not write; the "
               "quote is the paper's only sentence about them (ρ, after Theorem 1)",
    judges=(Judge("symbolic", ("identities that failed",),
                  what="Q_{u,v}, the arc-cosine kernel, g(θ) and its bounds, ρ_d (d = 1..4) "
                       "derived or certified, and verify.formulas equal to them"),),
)
