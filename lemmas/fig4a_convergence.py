"""Sec. 3 (after Theorem 1) and Sec. 4.2 (Fig. 4(a)): gradient descent converges only to
the ground truth.

Two sentences, one test: gradient descent as the paper runs it (Adam, lr 0.1, up to 1000
iterations; Sec. 4.3) from a grid of starts on Fig. 4's window z* +- 2.5 ||z*|| (8 x 8
with --quick, 16 x 16 otherwise), on the ``landscape`` check's network, z* and mask. The
criterion ``gd_only_to_z_star`` is the fraction of starts that end farther than 1e-3
||z*|| from z* (bound 0, trivial ceiling 1). Judged on ``paper-fig4`` (panel (a), ReLU)
over network draws: each draw is one network, and each statement gets its own failure
count and interval (the check's DrawRule).

Sec. 4.2's sentence grants a stationary point at the negative multiple of z*; whether J
has a local minimum other than z* at all (the check's ``local_minima``) asks more than
"we do not observe convergence" and is shown beside it (:class:`~verify.statements.
Beyond`). The over-draws summary (``details["over_draws"]``) says where the other minima
lie: ``other_local_minima`` (inside / outside B(-rho_2 z*, BALL_EPS ||z*||), beyond
-rho_2 z*) and ``gradient_descent`` (share of starts ending elsewhere, draws with one).
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Beyond, Judge

_GD = dict(what="gradient descent (Adam, lr 0.1, <= 1000 iterations) from a grid of starts "
                "on z* +- 2.5 ||z*||: the fraction of starts not ending at z*, bound 0")
_HYP = ("Fig. 4(a)'s network: 2-D latent, 2 -> 16 -> 1 channels, kernel 5, stride 3, ReLU, "
        "N(0, 1) weights, half the output observed")

register_statement(
    "sec3-gd", label="Sec. 3, after Theorem 1", section="Sec. 3",
    quote="empirically we did not observe convergence to a point other than the ground "
          "truth. In other words, gradient descent seems to always find the global "
          "minimum, see Figure 4.",
    hypotheses=_HYP,
    judges=(Judge("landscape", ("gd_only_to_z_star",), presets=("paper-fig4",), **_GD),),
)

register_statement(
    "fig4a-gd", label="Fig. 4(a)", section="Sec. 4.2",
    quote="Although Theorem 4 implies a possibility of a stationary point at the negative "
          "multiple of the ground truth, experimentally we do not observe convergence to "
          "any point other than the global minimum.",
    hypotheses=_HYP,
    judges=(Judge("landscape", ("gd_only_to_z_star",), presets=("paper-fig4",), **_GD),),
    beyond=(Beyond("landscape", ("local_minima",), presets=("paper-fig4",),
                   asks="no local minimum other than z* at all (the sentence grants a "
                        "stationary point near -rho z* and speaks of convergence only)"),),
)
