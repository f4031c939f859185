"""Landscape case: J on one draw's window (the grid, the criterion's segments and the
quasi-convexity sweep by window, :mod:`verify.geometry.grid`) through
:class:`verify.geometry.explicit.ExplicitJ` (observed rows only, batch-last, chunks of
``CHUNK``, segment ends read from the grid), against the path it replaced, kept here as
the baseline (:func:`full_output_J`, :func:`violation_reevaluating_ends`): every output
computed and transposed to ``(b, n_d)`` in chunks of 8,192, the observed columns
picked by the measurement, and each segment's ends evaluated again. Both must give the
same numbers bit for bit (``property_tests/test_vectorised.py`` holds the same)."""

from __future__ import annotations

import numpy as np

from ..bench import BenchContext, best_time, bench_case, ratio_row

CASE = "landscape J on a draw's window (grid, segments, sweep): observed rows vs full outputs"
PRESET = "paper-fig4-sigmoid"
#: The baseline's batch (the old grid chunk).
OLD_CHUNK = 8192


def full_output_J(objective):
    """The replaced J: every output of the explicit layers, transposed to ``(b, n_d)``,
    then the objective's residual (the baseline; ``fn(Z) -> J``, chunked)."""
    from ..geometry.explicit import ExplicitJ

    fJ = ExplicitJ(objective)

    def f(Z):
        Z = np.asarray(Z, float)
        return np.concatenate([
            0.5 * np.sum(objective.residual(fJ.outputs(Z[s:s + OLD_CHUNK])) ** 2, axis=-1)
            for s in range(0, len(Z), OLD_CHUNK)])
    return f


def violation_reevaluating_ends(f, a, b, *, n_t):
    """The replaced segment step: interior points, then both ends evaluated again."""
    t = np.arange(1, n_t + 1) / (n_t + 1)
    pts = a[:, None, :] + t[None, :, None] * (b - a)[:, None, :]
    vals = np.asarray(f(pts.reshape(-1, a.shape[1]))).reshape(len(a), n_t)
    return vals.max(axis=1) - np.maximum(f(a), f(b))


def window_work(net, A, st: dict, seed: int, *, baseline: bool):
    """One draw's J work, as the check's draw does it (grid, the criterion's segments,
    the sweep by window): returns the grid's J, the violations and the sweep's."""
    from ..geometry import grid as vg
    from ..objective import Objective

    rng = np.random.default_rng(seed)
    N = st["grid"]
    z_star = rng.standard_normal(2)
    obj = Objective.from_truth(net, A, z_star)
    if baseline:
        f = full_output_J(obj)
        R = vg.HALF_WIDTH * float(np.linalg.norm(z_star))
        axis = np.linspace(-R, R, N)
        Z1, Z2 = np.meshgrid(z_star[0] + axis, z_star[1] + axis, indexing="ij")
        Zg = np.stack([Z1.ravel(), Z2.ravel()], axis=1)
        J = f(Zg)
        ia, ib = (rng.integers(0, N * N, st["segments"]) for _ in range(2))
        viol = violation_reevaluating_ends(f, Zg[ia], Zg[ib], n_t=st["segment_points"])
    else:
        grid = vg.window_grid(net, A, st, np.random.default_rng(seed))   # draws z* first
        J, f = grid.J.ravel(), grid.f
        viol = vg.window_segments(grid, st, rng)[2]
    u = rng.uniform(-1.0, 1.0, (2, st["segments"], 2))
    nz = float(np.linalg.norm(z_star))
    sweep = []
    for r in st["window_radii"]:
        a, b = z_star + r * nz * u[0], z_star + r * nz * u[1]
        if baseline:   # the ends' values (the window's J range), then again inside
            f(a), f(b)
            sweep.append(violation_reevaluating_ends(f, a, b, n_t=st["segment_points"]))
        else:
            sweep.append(vg.quasiconvexity_violation(f, a, b, n_t=st["segment_points"],
                                                     ends=(f(a), f(b))))
    return J, viol, np.concatenate(sweep)


@bench_case(CASE, order=60)
def bench_landscape(ctx: BenchContext):
    """The J work of one draw of the landscape check on paper-fig4-sigmoid at the
    check's draw sizes (--quick sizes under ``verify bench --quick``), ours against the
    replaced path in the same run; the numbers must agree bit for bit. Target 1.5x."""
    from lemmas.landscape import sample_sizes
    from ..presets import get_preset

    inst = get_preset(PRESET).instantiate(0)
    net, A = inst.network, inst.measurement
    st = sample_sizes(ctx.quick, None, draw=True)
    ours = window_work(net, A, st, 1, baseline=False)
    base = window_work(net, A, st, 1, baseline=True)
    same = all(np.array_equal(x, y) for x, y in zip(ours, base))
    reps = 2 if ctx.quick else 3
    t_ours = best_time(lambda: window_work(net, A, st, 1, baseline=False), repeats=reps)
    t_base = best_time(lambda: window_work(net, A, st, 1, baseline=True), repeats=reps)
    points = st["grid"] ** 2 + (1 + len(st["window_radii"])) * st["segments"] * (
        st["segment_points"] + 2)
    row = ratio_row(CASE, t_ours, "every output, chunks of 8,192, segment ends evaluated "
                    "again", t_base, target_ratio=1.5,
                    notes=f"{PRESET}, one draw at the check's draw sizes (grid "
                          f"{st['grid']}^2, {st['segments']} segments of "
                          f"{st['segment_points']} points, {len(st['window_radii'])} windows; "
                          f"~{points} J values); numbers "
                          + ("identical" if same else "DIFFER"))
    if not same:  # a faster wrong answer is no gain
        from dataclasses import replace
        row = replace(row, met=False)
    return row
