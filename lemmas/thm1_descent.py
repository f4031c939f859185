"""Theorem 1's conclusion, Eq. (4)-(5): a strict descent direction everywhere outside
the two balls B(z*, eps ||z*||) and B(-rho z*, eps ||z*||) and the origin, and
D_z J(0) < 0 for every z != 0.

Judged by the ``descent`` check (every stationary point of J, exactly on a 2-D latent,
by Newton search otherwise) on A = I, the measurement Theorem 1 is stated for, at the
ball radius eps = :data:`verify.geometry.descent.EPS_BALL` (the theorem holds for any
fixed eps given enough expansion; its constants are not given): stationary points only
in the two balls (``eps_hat``, the least descent rate outside them), the exact
one-sided D_v J at the kinks, D_w J(0) < 0 (``min_kappa_w``; with the exact set, the
origin a local maximum on every target) and the engine's self-checks. Over the check's
network draws (the theorem holds with high probability), each with its own verdict.

Hypotheses: 2 layers, stride = kernel, no padding, ReLU without bias, Gaussian weights,
A = I, every layer expansive (C_i l^dims >= C_{i-1} log C_{i-1}, the constant of "≳"
taken as 1). Elsewhere the verdict is ``not applicable`` with the reason: more layers
or other strides are Sec. 4.2's claim (``sec42-depth``), subsampling Theorem 4's
(``thm4``), U[0, 1] weights Fig. 4(d)'s. The check's own expectation rows keep their
meaning: ``paper-fig4-uniform01`` stays the check's counter-example ("fail", its power;
the statement is not applicable there), and the deeper and overlapping presets' "pass"
is Sec. 4.2's sentence, judged by ``sec42-depth``.
"""

from __future__ import annotations

from lemmas._descent_criteria import conclusion_criteria
from verify.geometry.descent import EPS_BALL
from verify.registry import register_statement
from verify.statements import Judge

QUOTE = ("For all nonzero z and z*, there exists v_{z,z*} ∈ ℝ^{n₀} such that "
         "D_{v_{z,z*}} J(z) < 0, ∀z ∉ B(z*, ε‖z*‖₂) ∪ B(−ρz*, ε‖z*‖₂) ∪ {0}, "
         "D_z J(0) < 0, ∀z ≠ 0")

#: Every descent preset: inside Theorem 1's hypotheses (theory-2layer, theory-2layer-2d)
#: it is judged, on the others its verdict is ``not applicable`` with the reason.
PRESETS = None


def outside_hypotheses(config) -> str | None:
    """Why ``config`` is outside Theorem 1's hypotheses (None when inside)."""
    spec, why = config.spec, []
    if spec.depth != 2:
        why.append(f"{spec.depth} layers (Theorem 1 is for 2; Sec. 4.2's extension is "
                   "sec42-depth)")
    if not spec.is_block:
        why.append("stride < kernel or padding (Theorem 1 assumes stride = kernel, no "
                   "padding; Sec. 4.2's extension is sec42-depth)")
    for i, layer in enumerate(spec.layers):
        if layer.activation != "relu" or layer.affine:
            why.append(f"layer {i} is {layer.activation}{' with bias' if layer.affine else ''}"
                       " (Theorem 1 is for ReLU without bias)")
    # (fixed weights: a statement over random weights, not judged from one network;
    # verify.report.user.judge_fixed says so beside the network's own value)
    if config.weights.name != "gaussian" and getattr(config, "loader", None) is None:
        why.append(f"weights {config.weights.name} (Theorem 1 assumes Gaussian N(0, 1/C_i l))")
    if config.mask.kind != "full":
        why.append(f"the mask is {config.mask.kind} (Theorem 1 is for A = I; subsampling "
                   "is Theorem 4's)")
    exp = spec.expansivity()
    if len(exp) and min(exp) < 1.0:
        why.append("a layer with C_i l^dims < C_{i-1} log C_{i-1} (expansivity "
                   + ", ".join(f"{e:.2f}" for e in exp) + ")")
    return "; ".join(why) or None


register_statement(
    "thm1",
    label="Theorem 1",
    section="Sec. 3",
    quote=QUOTE,
    hypotheses="2 layers, stride = kernel, ReLU without bias, Gaussian N(0, 1/C_i ℓ) "
               "weights, A = I, C₁ℓ ≳ C₀ log C₀ and C₂ℓ ≳ C₁ log C₁ (the constant taken as "
               "1); judged at "
               f"ε = {EPS_BALL:g}, ρ = ρ_d of Hand & Voroninski",
    judges=(Judge("descent", conclusion_criteria("full"), presets=PRESETS,
                  applies=outside_hypotheses,
                  what=f"stationary points of J only in the two balls (ε = {EPS_BALL:g}), exact "
                       "one-sided D_vJ at kinks, D_wJ(0) < 0, self-checks; A = I; over "
                       "the check's network draws"),),
)
