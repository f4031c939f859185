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
