"""Sequential draws case: a verdict over network draws under the group-sequential rule
(:class:`verify.verdicts.DrawRule` looks) against the same rule with no early look, on a
check that fails on every draw. A case that times a lemma's check, as the report does."""

from __future__ import annotations

from dataclasses import replace

from ..bench import BenchContext, bench_case, ratio_row

SEQUENTIAL_CASE = "verdict over draws: sequential looks vs fixed N (a failing check)"

#: The check and preset: concentration on the U[0, 1] counter-example fails every draw
#: (its deviation stays near 3k/4 - 1/2 whatever the width), so the rule may stop at its
#: first look; the fixed-N side runs every draw.
LEMMA, PRESET = "concentration", "paper-fig4-uniform01"


@bench_case(SEQUENTIAL_CASE, order=90)
def bench_sequential(ctx: BenchContext):
    """The same check, seed and maximum number of draws, judged with the rule's early
    looks (ours) and with none (baseline: every draw runs, the fixed-N test); both must
    give the same verdict. Target: at least 2x (a statement that fails everywhere is
    decided at the first look). Quick mode: at most 20 draws instead of the rule's."""
    import time

    from ..registry import Registry, get_check, run_check, use

    base = get_check(LEMMA)
    n = 20 if ctx.quick else base.draw_rule.draws
    fixed = Registry()
    fixed.register(LEMMA, statement=base.statement, reference=base.reference,
                   presets=dict(base.presets), check=base.run, cost=base.cost,
                   requires=base.requires, draws=replace(base.draw_rule, looks=()),
                   settings=base.settings, module=base.module)
    t0 = time.perf_counter()
    ours = run_check(LEMMA, PRESET, seed=0, quick=True, draws=n)
    t_ours = time.perf_counter() - t0
    with use(fixed):
        t0 = time.perf_counter()
        full = fixed.run_check(LEMMA, PRESET, seed=0, quick=True, draws=n)
        t_full = time.perf_counter() - t0
    same = ours.verdict == full.verdict
    row = ratio_row(
        SEQUENTIAL_CASE + (" (quick: at most 20 draws)" if ctx.quick else ""), t_ours,
        f"fixed N = {n} draws", t_full, target_ratio=2.0,
        notes=f"{LEMMA} on {PRESET}, --quick sizes: {ours.draws} of {n} draws with looks "
              f"{list(base.draw_rule.looks_for(n))}, {full.draws} without; verdicts "
              f"{ours.verdict} / {full.verdict}" + ("" if same else " (DIFFER)"))
    return row if same else replace(row, met=False)  # a faster wrong verdict is no gain
