"""Sec. 4.2: "Leaky ReLU has the same landscape as a regular ReLU."

The ``landscape`` check computes, on a leaky-ReLU network, the same weights and mask
with ReLU (the "ReLU twin"; on the presets paper-fig4-leaky's twin is paper-fig4's
network) and both exact stationary sets (every stationary point of J,
lemmas/README.md, section 10).
"The same landscape" is judged on those sets, per network draw (:func:`same_landscape`):

* ``stationary_classes_differ``: the number of classes (local minimum, saddle, local
  maximum, flat cone) whose counts differ between the two sets; bound 0 (the same number
  of stationary points of each class), trivial ceiling 4 (every class differs);
* ``minima_hausdorff``: the Hausdorff distance between the two sets of local minima (z*
  in both), in units of ||z*||; bound :data:`SAME_TOL` = one pixel of the check's Fig. 4
  grid (161 points across z* +- 2.5 ||z*||, spacing 5 / 160 = 0.03125 ||z*||): the paper
  compares landscapes drawn on a grid, and minima closer than one pixel cannot be told
  apart there. No finite trivial ceiling (the sets may lie anywhere in the plane).

The check's other measured distances (J's relative sup / L2 difference on the window,
its rank correlation, the grid basins) stay in ``details["leaky_vs_relu"]``: the
sentence fixes no bound on them.
"""

from __future__ import annotations

import math

from verify.geometry.grid import FIGURE_PIXEL
from verify.geometry.landscape import CLASSES
from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Judge

#: Minima of the two landscapes count as the same within one pixel of the check's full
#: Fig. 4 grid (161 points across 2 * HALF_WIDTH ||z*||), in units of ||z*||.
SAME_TOL = FIGURE_PIXEL


def same_landscape(outcome):
    """Both criteria of "the same landscape" from ``details["leaky_vs_relu_exact"]``
    (every draw of the check on a leaky network where the exact method applies)."""
    d = outcome.details.get("leaky_vs_relu_exact")
    if not isinstance(d, dict):
        why = "no exact comparison with the ReLU twin (not a leaky network, or the exact " \
              "method does not apply)"
        return [Criterion("stationary_classes_differ", math.nan, 0.0, untested=why),
                Criterion("minima_hausdorff", math.nan, SAME_TOL, untested=why)]
    lk, rl = d["classes"]["leaky_relu"], d["classes"]["relu"]
    differ = [c for c in CLASSES if lk.get(c, 0) != rl.get(c, 0)]
    counts = "; ".join(f"{c}: {lk.get(c, 0)} vs {rl.get(c, 0)}" for c in CLASSES)
    h = d["hausdorff_over_norm_z_star"]
    return [
        Criterion("stationary_classes_differ", float(len(differ)), 0.0, "<=",
                  f"method: exact. Stationary points by class, leaky vs ReLU twin ({counts}); "
                  f"trivial ceiling {len(CLASSES)} (every class differs)",
                  ceiling=float(len(CLASSES))),
        Criterion("minima_hausdorff", float(h), SAME_TOL, "<=",
                  f"method: exact. Hausdorff distance between the local minima of the leaky "
                  f"network ({d['leaky_other_minima']} besides z*) and of its ReLU twin "
                  f"({d['relu_other_minima']} besides z*), units ||z*||; bound one pixel of "
                  f"the Fig. 4 grid ({SAME_TOL:g}); no finite trivial ceiling"),
    ]


def has_leaky_layer(config) -> str | None:
    """The sentence compares a leaky-ReLU network with its ReLU twin."""
    if any(l.activation == "leaky_relu" for l in config.spec.layers):
        return None
    return "the sentence is about a leaky-ReLU network; this one has no leaky-ReLU layer"


register_statement(
    "sec42-leaky", label="Sec. 4.2, leaky ReLU", section="Sec. 4.2",
    quote="Leaky ReLU has the same landscape as a regular ReLU.",
    hypotheses="Fig. 4's network with leaky-ReLU activations, compared with the same weights "
               "and mask with ReLU",
    judges=(Judge("landscape", same_landscape, presets=("paper-fig4-leaky",),
                  applies=has_leaky_layer,
                  what="exact stationary sets of the leaky network and its ReLU twin: the "
                       "same counts per class, local minima within one Fig. 4 pixel"),),
)
