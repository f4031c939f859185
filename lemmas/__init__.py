"""The proof's statements, one module each (paper Sec. 3 and the supplement).

:data:`PROOF` lists the modules in the proof's order; it is the only place that order
is declared (the registry, the report and ``verify list`` follow it; modules not listed,
e.g. your own, come after, in registration order). Every module follows one template::

    # lemmas/<module>.py  -- one statement of the proof
    \"\"\"<statement> (paper numbering) ...\"\"\"
    def configs():         # Hypothesis strategy of Config on which the statement's
                           # hypotheses hold (the check must pass); or None
    def counter_configs(): # strategy of Config that violate them far enough that the
                           # check must fail; or None
    def check(instance, *, rng, quick) -> Outcome:
                           # the check; a body over ~80 lines is split into named step
                           # functions, one per sub-claim, each docstring citing the paper
    def figure_<what>(result): ...   # figures, drawn from the result only
    FIGURES = (figure_a, ...)
    FINDINGS = (...)       # KnownFinding records, () if none
    register("lemma-id", statement=..., reference=..., presets={...}, check=check,
             configs=configs, counter_configs=counter_configs, figures=FIGURES,
             findings=FINDINGS, cost=<CPU seconds of one default run>, requires=...,
             expect=..., detects_counterexample=...)   # a plain call at the END

Randomness: a check draws only from the generator it is given, and ``rng.spawn(n)``
for independent sub-streams; it never seeds a generator of its own. A check that needs
other checks' results declares them (``register(..., reruns=(...))``) and receives them
from the registry (:class:`verify.registry.Reruns`).
"""

#: The lemma modules in the proof's order.
PROOF = ("permutation", "concentration", "angle", "symbolic", "descent", "injectivity",
         "landscape", "subgaussian", "partial", "trained_weights", "trained_recovery")
