"""Fig. 4 (caption), Sec. 4.2: "There exists a unique global minimum."

Judged on the ``landscape`` check's outcome, per network draw, by the number of global
minimisers of J (:func:`global_minimisers`): the points and flat cones where J reaches
its minimum value J(z*) = 0 within rounding. Where the exact stationary set applies
(bias-free ReLU / leaky ReLU, 2-D latent, 0/1 mask: paper-fig4, paper-fig4-leaky) it is
counted from that set (``method: exact``, :func:`verify.geometry.landscape.
global_minimum_exact`); for sigmoid and tanh (paper-fig4-sigmoid, paper-fig4-tanh) from
the window's grid minima refined by continuous descent (``method: sampled``,
:func:`verify.geometry.grid.sampled_global_minima`), which sees only the window
z* +- 2.5 ||z*||.

The caption says nothing about other *local* minima (Sec. 4.2 even allows a stationary
point near the negative multiple of z*): the check's headline ``local_minima`` ("no local
minimum other than z*") asks more and is shown beside the verdict as a
:class:`~verify.statements.Beyond`.

Fig. 4(d) (``paper-fig4-uniform01``) is not judged here: the caption introduces it "As a
counter example" with "a flat global minimum" (statement ``fig4d``), so the sentence is
about panels (a)-(c); the leaky-ReLU preset is judged because Sec. 4.2 gives it "the same
landscape as a regular ReLU" (panel (a)).
"""

from __future__ import annotations

import math

from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Beyond, Judge

#: The presets of Fig. 4's networks whose caption this is (panels (a)-(c) and the leaky
#: ReLU that Sec. 4.2 puts with (a)).
PRESETS = ("paper-fig4", "paper-fig4-leaky", "paper-fig4-sigmoid", "paper-fig4-tanh")


def global_minimisers(outcome):
    """The number of global minimisers of J on one draw, bound 1 (a unique one).

    Points at J's minimum count once, a flat cone (or a flat grid region) at J's
    minimum counts twice (a continuum of minimisers). Trivial ceiling: 3K + 1 on the
    exact set (K cones), MAX_REFINE + 2 on the grid. Not evaluated (uninformative) when
    the outcome carries no ``global_minimum`` details, or J's minimum J(z*) = 0 was not
    found among the minimisers (then the count says nothing)."""
    g = outcome.details.get("global_minimum")
    if not isinstance(g, dict):
        return [Criterion("global_minimisers", math.nan, 1.0, "<=",
                          untested="the outcome carries no global_minimum details")]
    where = ("the exact stationary set (every stationary point of the cone quadratics, "
             "anywhere in the plane)" if g["method"] == "exact" else
             "the window's grid minima refined by continuous descent (z* +- 2.5 ||z*|| "
             "only)")
    note = (f"method: {g['method']}. Global minimisers of J from {where}: {g['points']} "
            f"point(s) and {g['flat_cones']} flat region(s) at J's minimum J(z*) = 0 "
            f"(within {g['tolerance']:.2g}); a flat region counts 2 (a continuum). Trivial "
            f"ceiling {g['ceiling']}")
    untested = "" if g.get("z_star_among") else \
        "J's minimum J(z*) = 0 was not found among the minimisers"
    return [Criterion("global_minimisers", float(g["minimisers"]), 1.0, "<=", note,
                      ceiling=float(g["ceiling"]), untested=untested)]


register_statement(
    "fig4-caption", label="Fig. 4 (caption)", section="Sec. 4.2",
    quote="There exists a unique global minimum.",
    hypotheses="Fig. 4's networks: 2-D latent, 2 -> 16 -> 1 channels, kernel 5, stride 3, "
               "N(0, 1) weights, half the output observed; ReLU, sigmoid, tanh (and leaky "
               "ReLU, Sec. 4.2)",
    judges=(Judge("landscape", global_minimisers, presets=PRESETS,
                  what="the number of global minimisers of J (points and flat cones at "
                       "J(z*) = 0 within rounding): exact set for ReLU / leaky ReLU, the "
                       "refined grid minima for sigmoid / tanh"),),
    beyond=(Beyond("landscape", ("local_minima",), asks="no local minimum other than z*",
                   presets=PRESETS),),
)
