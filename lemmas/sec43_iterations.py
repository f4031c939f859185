"""Sec. 4.3: Adam with learning rate 0.1 usually converges within 500 iterations.

Judged by the ``partial`` check's iterations step: plain Adam (lr 0.1, no negation
safeguard) from z0 ~ N(0, I), random mask at the check rate, one run per independent
network; "usually" is "more often than not": the 95% Wilson lower bound of the share of
runs that reach z* (relative error <= 1e-3) within 500 iterations >= 1/2. The step runs
on outputs of at most 2048 entries (the Fig. 4 network's size; the paper's sentence is
about its MNIST generator, which is not available offline).
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.statements import Judge

ITERATIONS = "Adam lr 0.1 reaches z* within 500 iterations (share)"
#: The partial check's iterations step runs only on outputs this small.
STEP_OUTPUT = 2048


def small_output(config) -> str | None:
    n = config.spec.output_dim
    if n > STEP_OUTPUT:
        return (f"output {n} > {STEP_OUTPUT} entries: the iterations step runs on networks "
                "of the Fig. 4 network's size only")
    return None


register_statement(
    "sec43-iterations",
    label="Sec. 4.3, iterations",
    section="Sec. 4.3",
    quote="We use Adam with learn rate 0.1 to optimize the latent code z. The optimization "
          "process usually converges within 500 iterations.",
    hypotheses="the paper's MNIST generator (not available offline); measured on the "
               "paper's Fig. 4 network (2 -> 16 -> 1, kernel 5, stride 3, ReLU, N(0, 1)) "
               "with 50% random pixels",
    judges=(Judge("partial", (ITERATIONS,), presets=("paper-fig4",), applies=small_output,
                  what="share of plain-Adam (lr 0.1) runs reaching z* within 500 "
                       "iterations, one per network: 95% Wilson lower bound >= 1/2"),),
)
