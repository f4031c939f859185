"""The ``descent`` check's configurations beside its presets (lemmas/descent.py): the
Hypothesis strategies of expansive networks inside Theorem 1's hypotheses and of its
U[0, 1] counter-example, and the known-bad configurations the check must reject (the
report's power table)."""

from __future__ import annotations

from verify.presets import Config
from verify.spec import LayerSpec, NetworkSpec, block_spec
from verify.verdicts import KnownBad
from verify.weights import WeightLaw


def configs():
    """Small expansive 2-layer stride = kernel ReLU networks: every block at least 16
    times taller than wide, C_i l^dims >= 4 C_{i-1} log C_{i-1}, and at least 24
    channels per position after the first layer; Gaussian N(0, 1/(C_i l^dims)), full
    observation. Theorem 1's constants are unspecified; narrower first layers (8
    channels) were found to have genuine local minima on the negative side at
    -t z* with t far from rho_2 (finite-width fluctuation), outside eps = 0.25."""
    from verify.measurements import MaskSpec
    from verify.strategies import conv_architectures

    def ok(spec):
        return all(e >= 4.0 for e in spec.expansivity()) and spec.channels[1] >= 24

    archs = conv_architectures(min_layers=2, max_layers=2, strides="kernel", dims=(1, 2),
                               min_latent_channels=2, max_latent_channels=4,
                               min_kernel=2, max_kernel=3, min_expansion=16,
                               min_channels=24, max_channels=48, max_output=1536).filter(ok)
    return archs.map(lambda spec: Config("generated-expansive", spec, WeightLaw("gaussian"),
                                         MaskSpec("full", 1.0),
                                         "generated expansive stride=kernel network"))


def counter_configs():
    """The Fig. 4(d) counter-example on generated architectures: U[0, 1] weights make
    G vanish on the negative orthant, a flat region of stationary points."""
    from verify.measurements import MaskSpec
    from verify.strategies import conv_architectures

    archs = conv_architectures(min_layers=2, max_layers=2, strides="kernel", dims=(1, 2),
                               min_latent_channels=2, max_latent_channels=4,
                               min_kernel=2, max_kernel=3, min_expansion=4,
                               max_channels=16, max_output=512)
    return archs.map(lambda spec: Config("generated-uniform01", spec, WeightLaw("uniform01"),
                                         MaskSpec("full", 1.0),
                                         "generated network with U[0,1] weights",
                                         counterexample=True))



def known_bad_configs():
    """Small networks that break Theorem 1's hypotheses (KNOWN_BAD), cheap enough that
    40 quick draws take a few seconds."""
    from verify.measurements import MaskSpec

    full = MaskSpec("full", 1.0)
    return (
        KnownBad(
            "U[0,1] weights",
            Config("descent-knownbad-uniform01", block_spec(1, (2, 16, 64), (2, 2)),
                   WeightLaw("uniform01"), full,
                   "1-D 2 -> 16 -> 64 (k2 s2) with U[0, 1] weights", counterexample=True),
            "non-zero-mean weights (Theorem 1 assumes zero-mean Gaussian): every weight is "
            "positive, so G = 0 on the negative orthant of the latent, a flat region of "
            "stationary points of J outside both balls, and <A G(z*), A G(w)> = 0 there "
            "(D_w J(0) = 0, not < 0)"),
        KnownBad(
            "no expansion (4 < 8 units)",
            Config("descent-knownbad-contracting",
                   NetworkSpec(dims=1, latent_channels=8, layers=(
                       LayerSpec(4, 1, 1), LayerSpec(64, 2, 2))),
                   WeightLaw("gaussian"), full,
                   "1-D 8 -> 4 (k1) -> 64 (k2 s2), Gaussian", counterexample=True),
            "the first layer maps 8 latent coordinates to 4 units (Theorem 1 needs "
            "C_1 l >= C_0 log C_0): W_1 has a 4-dimensional null space N, so G(z* + v) = "
            "G(z*) for v in N and J = 0 on the whole affine plane z* + N, global minima "
            "(stationary) arbitrarily far from z* and -rho z*"),
        KnownBad(
            "m = k < 2k first-layer rows",
            Config("descent-knownbad-2rows",
                   NetworkSpec(dims=1, latent_channels=2, layers=(
                       LayerSpec(2, 1, 1), LayerSpec(64, 2, 2))),
                   WeightLaw("gaussian"), full,
                   "1-D 2 -> 2 (k1) -> 64 (k2 s2), Gaussian", counterexample=True),
            "2 first-layer rows for a 2-D latent (an injective ReLU layer needs m >= 2k, "
            "Puthawala et al.; Theorem 1 needs far more): W_1 is invertible, so the cone "
            "{z : W_1 z <= 0} has interior, G = 0 on it, and J is constant there: a flat "
            "region of stationary points outside the balls, with D_w J(0) = 0 for w in it"),
    )
