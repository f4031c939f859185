"""Fig. 4(b, c), Sec. 4.2: "Sigmoid and Tanh have quasi-convex landscapes as shown in
Figure 4(b) and (c), which are even more favorable than that of ReLU."

Judged on the ``landscape`` check's criterion ``quasiconvexity_violations`` (method:
sampled): segments between random points of the figure's window z* +- 2.5 ||z*|| on
which J rises above both endpoints by more than rounding (J quasi-convex: every
sublevel set convex, so J(a + t (b - a)) <= max(J(a), J(b)); bound 0, trivial ceiling
the number of segments). On paper-fig4-sigmoid and paper-fig4-tanh, over network draws.
The check also reports the same count by window radius (``quasiconvexity_by_window``),
which says where the claim starts to fail.

Only the quasi-convexity half is judged: "even more favorable than that of ReLU" names
no measure (the check computes no comparison of a sigmoid / tanh landscape with a ReLU
one on the same weights), so it is stated in ``hypotheses`` as not judged.
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Judge


def sigmoid_or_tanh(config) -> str | None:
    """The sentence is about sigmoid and tanh networks: not applicable otherwise."""
    acts = sorted({l.activation for l in config.spec.layers})
    if all(a in ("sigmoid", "tanh") for a in acts):
        return None
    return (f"the sentence is about sigmoid and tanh landscapes; this network's "
            f"activations are {', '.join(acts)}")


register_statement(
    "fig4bc", label="Fig. 4(b, c)", section="Sec. 4.2",
    quote="Sigmoid and Tanh have quasi-convex landscapes as shown in Figure 4(b) and (c), "
          "which are even more favorable than that of ReLU.",
    hypotheses="Fig. 4's network with sigmoid (b) or tanh (c) activations, N(0, 1) weights; "
               "only quasi-convexity is judged ('even more favorable than that of ReLU' "
               "names no measure and is not judged)",
    judges=(Judge("landscape", ("quasiconvexity_violations",),
                  presets=("paper-fig4-sigmoid", "paper-fig4-tanh"), applies=sigmoid_or_tanh,
                  what="segments of the window z* +- 2.5 ||z*|| on which J rises above both "
                       "ends (quasi-convexity; sampled), bound 0"),),
)
