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
             findings=FINDINGS, cost=<CPU seconds of one draw on the costliest preset>, requires=...,
             expect=..., detects_counterexample=...,
             settings=SETTINGS)  # a plain call at the END; SETTINGS: the check's own
                                 # parameters a config file may set ([checks.<id>],
                                 # verify/settings.py), received as check(..., settings=)

Randomness: a check draws only from the generator it is given, and ``rng.spawn(n)``
for independent sub-streams; it never seeds a generator of its own. A check that needs
other checks' results declares them (``register(..., reruns=(...))``) and receives them
from the registry (:class:`verify.registry.Reruns`).
"""

#: The modules in the proof's order: each family's check module (the shared computation,
#: registered under its lemma id: ``landscape``, ``descent``, ...) before the statement
#: modules that read its outcome (each registers one statement of the paper, or a
#: tight family, with ``verify.registry.register_statement``).
#: The order of ``verify list``, the report and the statement table.
PROOF = (
    "permutation", "fig2_permutation", "thm4_proof_subsampling",
    "concentration", "sup2_concentration",
    "angle", "sup4_angle",
    "symbolic", "closed_forms",
    "descent", "thm1_descent",
    "expansion", "thm1_expansion",
    "injectivity", "cor2_injectivity",
    "subgaussian", "conj3_subgaussian",
    "partial", "thm4_partial", "sec3_sampling_rate",
    "landscape", "fig4a_convergence", "fig4_unique_global_minimum",
    "sec42_depth", "fig4bc_quasiconvexity", "sec42_leaky", "fig4d_mode_collapse",
    "sec43_iterations",
    "trained_weights", "fig3_trained_weights",
    "trained_recovery", "fig5_trained_recovery", "fig6_celeba",
)

#: The paper's statements, quoted as the paper writes them (math in Unicode), each with
#: the checks that judge it: ``(label, where, quote, ((lemma id, what it judges[,
#: presets]), ...))``; the optional presets are the ones whose verdicts speak to this
#: statement (default: every preset the check runs on).
#: README.md's table "What is checked" is this index with the reference report's
#: verdicts (property_tests/test_statements.py keeps the two in step and requires every
#: lemma id here to be registered and every registered check to appear here).
#: ``()`` as the checks: a statement no check covers, with the reason in ``where``.
STATEMENTS = (
    ("Theorem 1", "Sec. 3",
     "If C₁ℓ ≳ C₀ log C₀ and C₂ℓ ≳ C₁ log C₁ then with probability at least "
     "1 − κ(D₁C₁e^{−γC₀} + D₂C₂e^{−γC₁}) we have the following. For all nonzero z and "
     "z*, there exists v_{z,z*} ∈ ℝ^{n₀} such that D_{v_{z,z*}} J(z) < 0, "
     "∀z ∉ B(z*, ε‖z*‖₂) ∪ B(−ρz*, ε‖z*‖₂) ∪ {0}, D_z J(0) < 0, ∀z ≠ 0",
     (("descent", "stationary points in the two balls, exact one-sided D_vJ, "
                  "D_wJ(0) < 0, over 40 draws"),
      ("expansion", "failure rate against the expansion factor, threshold, ε̂ against width"),
      ("symbolic", "ρ_d in closed form"))),
    ("Lemma Sup.2 (proof outline)", "Sec. 3",
     "Lemma Sup.2 [15] provides a concentration bound on the distribution of the effective "
     "weight matrices (after merging the ReLUs into the matrices).",
     (("concentration", "WDC deviation ε̂ against its bound and ceiling, E = Q, "
                        "m^{−1/2} scaling"),
      ("symbolic", "Q_{u,v} derived as a Gaussian integral"))),
    ("Fig. 2 (permutation)", "Sec. 3",
     "we rearrange both rows and columns of the sparse weight matrices, as in Figure 2(a), "
     "into a block diagonal matrix, as in Figure 2(b). Each block in the permuted matrix "
     "is the same Gaussian matrix with independent entries.",
     (("permutation", "P W Q = I ⊗ B exactly"),)),
    ("Lemma Sup.4 (proof outline)", "Sec. 3",
     "Lemma Sup.4 [15] shows that the angle between two arbitrary input vectors x and y "
     "does not vanish under a transposed convolution layer and the ReLU.",
     (("angle", "output angle against g(θ) and θ̄, norms halved"),
      ("symbolic", "g and its bounds, certified"))),
    ("Corollary 2", "Sec. 3",
     "Under the assumptions of Theorem 1, the mapping G(·) : ℝ^{n₀} → ℝ^{n₂} (n₀ ≪ n₂) "
     "is injective (i.e., one-to-one) with high probability.",
     (("injectivity", "collision search, Puthawala's layer-wise criterion"),)),
    ("Conjecture 3", "Sec. 3",
     "Under the assumptions of Theorem 1, let the network weights follow any zero-mean "
     "subgaussian distribution P(|x| > t) ≤ ce^{−γt²}, ∀t > 0 instead of Gaussian. Then "
     "with high probability the same conclusion holds.",
     (("subgaussian", "concentration, angle, descent rerun per zero-mean law"),)),
    ("Conjecture 3 (its examples)", "Sec. 3",
     "This includes, for example, any bounded distribution and the exponential "
     "distribution.",
     (("subgaussian", "the definition's tail P(|x| > t) ≤ ce^{−γt²} fitted per law"),)),
    ("Theorem 4", "Sec. 3",
     "let A ∈ ℝ^{m×C₂D₂} be an arbitrary subsampling matrix with m/(C₂D₂) ≥ r. Then with "
     "high probability the same result as Theorem 1 hold.",
     (("partial", "recovery per mask kind, rows per observed block, adversarial mask"),
      ("descent", "Theorem 1's criteria under the preset's mask"))),
    ("Theorem 4 (proof)", "Sec. 3",
     "y = AG(z) = Aσ(W₂σ(W₁z)) = σ(AW₂σ(W₁z)). [...] after proper permutation, AW₂ is "
     "again a block diagonal matrix with each block being a Gaussian matrix with "
     "independent entries. Only this time the blocks are not identical, but instead have "
     "different sizes.",
     (("permutation", "A W keeps a row subset of each block; A σ(v) = σ(A v) exactly"),)),
    ("Sec. 3, observations on r", "Sec. 3",
     "spatially disperse sampling patterns (e.g., uniform random samples) require a lower "
     "r, whilst more aggressive sampling patterns (e.g., top half, left half, sampling "
     "around image boundaries) demand more measurements for perfect recovery. Secondly, "
     "regardless of the sampling patterns A, the probability of perfect recovery exhibits "
     "a phase transition phenomenon w.r.t. the sampling rate r.",
     (("partial", "r₅₀ per pattern, monotone rise of success with r"),)),
    ("Sec. 3, after Theorem 1", "Sec. 3",
     "empirically we did not observe convergence to a point other than the ground truth. "
     "In other words, gradient descent seems to always find the global minimum, see "
     "Figure 4.",
     (("landscape", "gradient descent from a grid of starts converges only to z*",
       ("paper-fig4",)),)),
    ("Fig. 3", "Sec. 4.1",
     "It can be observed that the trained weights highly resembles a zero-mean gaussian "
     "distribution.",
     (("trained-weights", "per-layer mean, kurtosis, skewness, KS / Anderson–Darling, QQ, "
                          "for the GLO and the adversarially trained generator",
       ("digits-glo", "digits-gan")),)),
    ("Fig. 4(a)", "Sec. 4.2",
     "Although Theorem 4 implies a possibility of a stationary point at the negative "
     "multiple of the ground truth, experimentally we do not observe convergence to any "
     "point other than the global minimum.",
     (("landscape", "every stationary point, exactly (2-D latent); convergence of "
                    "gradient descent judged apart from the unique minimum",
       ("paper-fig4",)),)),
    ("Fig. 4 (caption)", "Sec. 4.2",
     "There exists a unique global minimum.",
     (("landscape", "the certified list of stationary points and minima per draw",
       ("paper-fig4", "paper-fig4-leaky", "paper-fig4-sigmoid", "paper-fig4-tanh")),)),
    ("Sec. 4.2, more layers", "Sec. 4.2",
     "the same conclusion empirically extends to networks with more layers and different "
     "kernel sizes and strides.",
     (("descent", "3 and 4 layers, stride = kernel and stride < kernel, ρ_d beside the "
                  "ray minimiser of J(−t z*)",
       ("theory-3layer", "theory-4layer", "theory-3layer-overlap")),
      ("landscape", "a 3-layer 2-D-latent network: every stationary point, exactly",
       ("theory-3layer",)))),
    ("Fig. 4(b, c)", "Sec. 4.2",
     "Sigmoid and Tanh have quasi-convex landscapes as shown in Figure 4(b) and (c), which "
     "are even more favorable than that of ReLU.",
     (("landscape", "quasi-convexity on the figure's window and against the window "
                    "radius", ("paper-fig4-sigmoid", "paper-fig4-tanh")),)),
    ("Sec. 4.2, leaky ReLU", "Sec. 4.2",
     "Leaky ReLU has the same landscape as a regular ReLU.",
     (("landscape", "both activations on the same weights: stationary points, basin, "
                    "distance between the landscapes", ("paper-fig4-leaky",)),)),
    ("Fig. 4(d)", "Sec. 4.2",
     "there is a flat global minimum in the latent space, as shown in Figure 4(d). In this "
     "region, any two latent vectors are mapped to the exact same output, indicating that "
     "mode collapse indeed occurs.",
     (("landscape", "the flat region of U[0, 1] weights", ("paper-fig4-uniform01",)),
      ("injectivity", "a witness pair G(z₁) = G(z₂)", ("paper-fig4-uniform01",)))),
    ("Sec. 4.3, iterations", "Sec. 4.3",
     "We use Adam with learn rate 0.1 to optimize the latent code z. The optimization "
     "process usually converges within 500 iterations.",
     (("partial", "iterations to reach z*, share within 500"),)),
    ("Fig. 5", "Sec. 4.3",
     "The recovery of latent codes in these examples is perfect, using simple gradient "
     "descent.",
     (("trained-recovery", "latent codes of the trained digits generators recovered from "
                           "random and half masks"),)),
    ("Fig. 6", "Sec. 4.3; not checked: the CelebA generator and data are not available "
               "offline, and no substitute would be the paper's network",
     "The recovery of latent codes in these examples is perfect, using simple gradient "
     "descent.",
     ()),
)
