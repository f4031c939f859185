"""Descent case: the whole ``descent`` check on a network scaled to 65,536 output pixels,
against its time budget. A benchmark of a check is a user of its lemma, like the report:
the engine itself never imports lemmas."""

from __future__ import annotations

import time

from ..bench import BenchContext, bench_case, ratio_row
from ..presets import get_preset
from ..registry import run_check
from ..spec import LayerSpec, NetworkSpec

BENCH_CASE = "descent check on theory-2layer-2d scaled to 65,536 output pixels"
BENCH_BUDGET_S = 60.0


def bench_spec() -> NetworkSpec:
    """theory-2layer-2d with 4x4 kernels and 256 output channels: 8 -> 32 x 4x4 ->
    256 x 16x16 = 65,536 outputs; each block C_i l^2 >= 4 C_{i-1} log C_{i-1}."""
    return NetworkSpec(dims=2, latent_channels=8, layers=(
        LayerSpec(channels=32, kernel=4, stride=4), LayerSpec(channels=256, kernel=4, stride=4)))


@bench_case(BENCH_CASE, order=50)
def bench_descent(ctx: BenchContext):
    """The whole descent check (quick=False; quick=True under ``verify bench --quick``)
    on the scaled network, against its 60 s budget."""
    config = get_preset("theory-2layer-2d").with_spec(bench_spec())
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_check("descent", config, seed=0, quick=ctx.quick, draws=1)
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    phases = ", ".join(f"{k[:-2]} {v:.1f}" for k, v in res.details["timings_s"].items())
    return ratio_row(BENCH_CASE, t, f"budget of {BENCH_BUDGET_S:g} s on 2 cores", BENCH_BUDGET_S,
                     target_ratio=1.0,
                     notes=f"{config.spec.output_dim} outputs, {config.spec.describe()}, "
                           f"verdict {res.verdict}, n = {res.n_samples}, "
                           f"{res.details['newton_evaluations']} Newton row-evaluations, "
                           f"cpu {cpu:.1f} s, phases (s): {phases}, quick={ctx.quick}")


STEP_CASE = "descent search step (Newton directions, 96 rows, two masks): shared forward vs engine"


def direction_rows(preset: str = "theory-2layer", rows: int = 96, seed: int = 0):
    """A search step's rows as the check lays them out: a Problem with full observation
    and a random half mask, 4 targets, ``rows`` codes (half per mask, sorted by mask)."""
    import numpy as np

    from ..geometry.descent import Problem
    from ..measurements import make_mask

    net = get_preset(preset).instantiate(seed).network
    rng = np.random.default_rng(seed)
    n = net.spec.output_dim
    masks = np.stack([np.ones(n, bool),
                      make_mask("random", net.spec.output_shape, 0.5, rng=rng).reshape(-1)])
    problem = Problem.build(net, masks, ["full", "random r=0.5"],
                            rng.normal(size=(4, net.spec.latent_dim)))
    z = rng.normal(size=(rows, net.spec.latent_dim))
    return problem, z, np.repeat([0, 1], rows - rows // 2)[:rows], rng.integers(0, 4, rows)


def engine_direction(problem, z, s, k):
    """The replaced step (the baseline): per chunk, the engine's
    :func:`~verify.inversion.optimisers.gauss_newton_direction` on an Objective through
    :class:`~verify.measurements.MaskBatch` (grad J and J_G each with their own forward
    pass); returns (J, grad J, d, J_G^T A^T r) per row."""
    import numpy as np

    from ..geometry.descent import RCOND
    from ..inversion.optimisers import gauss_newton_direction
    from ..measurements import MaskBatch
    from ..objective import Objective

    parts = []
    for c in problem.chunks(len(z), per_row=z.shape[1]):
        sc, kc = s[c], k[c]
        obj = Objective(problem.network, MaskBatch(problem.masks[sc]), problem.ys[sc, kc])
        parts.append(gauss_newton_direction(obj, z[c], problem.masks[sc].astype(float),
                                            rcond=RCOND))
    return tuple(np.concatenate(p) for p in zip(*parts))


def shared_direction(problem, z, s, k):
    """Ours: :func:`verify.geometry.descent_newton.gauss_newton_shared` per chunk, the
    rows' measurement :class:`verify.geometry.rowmasks.RowMasks`."""
    import numpy as np

    from ..geometry.descent import RCOND
    from ..geometry.descent_newton import gauss_newton_shared

    parts = [gauss_newton_shared(problem.objective(s[c], k[c]), z[c],
                                 problem.mask_set.weights_of(s[c]), rcond=RCOND)
             for c in problem.chunks(len(z), per_row=z.shape[1])]
    return tuple(np.concatenate(p) for p in zip(*parts))


@bench_case(STEP_CASE, order=51)
def bench_direction(ctx: BenchContext):
    """The search's Newton directions (J, grad J, H^+ grad J and the self-check) on 96
    rows of theory-2layer (10,240 outputs), ours against the engine's step in the same
    run; the numbers must agree bit for bit. Target 1.3x."""
    from dataclasses import replace

    import numpy as np

    from ..bench import best_time
    from ..threads import blas_threads

    problem, z, s, k = direction_rows()
    with blas_threads(1):   # the check's policy (lemmas/descent.py)
        same = all(np.array_equal(a, b) for a, b in zip(shared_direction(problem, z, s, k),
                                                        engine_direction(problem, z, s, k)))
        reps = 3 if ctx.quick else 7
        t_ours = best_time(lambda: shared_direction(problem, z, s, k), repeats=reps)
        t_base = best_time(lambda: engine_direction(problem, z, s, k), repeats=reps)
    row = ratio_row(STEP_CASE, t_ours, "gauss_newton_direction (two forward passes, "
                    "MaskBatch)", t_base, target_ratio=1.3,
                    notes=f"theory-2layer, {len(z)} rows, one BLAS thread; numbers "
                          + ("identical" if same else "DIFFER"))
    return row if same else replace(row, met=False)
