"""Trained-recovery case: one round of restarts of the ``trained-recovery`` check
(:func:`verify.digits_recovery.recover_with_restarts`: every active trial's Adam run,
any masks, as one batch with the masks as weights) against the loop it stands for, one
trial at a time (:func:`per_trial`, the baseline). Every trial's arithmetic is its own
(the batch is padded to whole BLAS blocks, :data:`verify.inversion.optimisers.PAD`), so
both give the same codes bit for bit, and the ratio is the batching's whole gain.

Why the restarts are batched across trials and not also across starts: a round's
starts are drawn for the trials still above the loss tolerance (one ``(n_0, active)``
draw from the check's stream), so which starts exist depends on the previous round; a
batch of every (trial, start) pair would run the starts the sequential rule never runs
(in the reference report 1,453 starts ran on digits-glo and 120 on digits-gan, of the
3,360 a batch of every pair would run) and draw other starting points, so other
outcomes.
"""

from __future__ import annotations

import numpy as np

from ..bench import BenchContext, best_time, bench_case, ratio_row

CASE = "trained-recovery restart round: trials as one batch vs one trial at a time"
PRESET = "digits-glo"


def round_inputs(trials: int, seed: int = 0, preset: str = PRESET):
    """A round's inputs on the shipped generator: fresh codes z* ~ N(0, I), a random
    half mask per trial, y = G(z*) and the starts."""
    from ..digits_recovery import masks_for
    from ..presets import get_preset

    net = get_preset(preset).instantiate(seed).network
    rng = np.random.default_rng(seed)
    spec = net.spec
    z_star = rng.normal(size=(trials, spec.latent_dim))
    masks = masks_for("random", 0.5, trials, spec.output_shape, rng)
    return net, net.forward(z_star), masks, rng.normal(size=(trials, spec.latent_dim))


def batched(net, y, masks, init, iterations: int) -> np.ndarray:
    """Ours: every trial in one :func:`verify.inversion.invert` (Adam, lr 0.1)."""
    from ..digits_recovery import LR
    from ..inversion import invert

    return invert(net, y, masks, method="adam", lr=LR, iterations=iterations, init=init,
                  backend="auto").z_hat


def per_trial(net, y, masks, init, iterations: int) -> np.ndarray:
    """The baseline: the same runs one trial at a time."""
    return np.concatenate([batched(net, y[t:t + 1], masks[t:t + 1], init[t:t + 1], iterations)
                           for t in range(len(y))])


@bench_case(CASE, order=61)
def bench_restart_round(ctx: BenchContext):
    """16 trials of digits-glo (a round's typical width), 20 Adam iterations (50 without
    --quick), batched against one at a time; the codes must agree bit for bit. Target
    4x."""
    from dataclasses import replace

    net, y, masks, init = round_inputs(16)
    its = 20 if ctx.quick else 50
    same = np.array_equal(batched(net, y, masks, init, its), per_trial(net, y, masks, init, its))
    reps = 2 if ctx.quick else 3
    t_ours = best_time(lambda: batched(net, y, masks, init, its), repeats=reps)
    t_base = best_time(lambda: per_trial(net, y, masks, init, its), repeats=reps)
    row = ratio_row(CASE, t_ours, "one invert per trial", t_base, target_ratio=4.0,
                    notes=f"{PRESET}, 16 trials, random half masks, {its} Adam iterations; "
                          "codes " + ("identical" if same else "DIFFER"))
    return row if same else replace(row, met=False)
