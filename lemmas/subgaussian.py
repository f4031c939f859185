"""Conjecture 3: the conclusions hold for any zero-mean subgaussian weight law.

The concentration (Lemma Sup.2), angle (Lemma Sup.4) and descent (Theorem 1) checks
(:data:`RERUNS`) are rerun on the same architecture and mask with each weight law of
MATH.md section 1: ``gaussian`` (Theorem 1's law), ``rademacher`` and
``uniform`` (zero mean, the same variance; the paper's Sec. 3 reports both work) and
``uniform01`` (U[0, 1], not zero-mean: the negative control of Fig. 4(d)).

Verdict: every zero-mean law passes every rerun check, and uniform01 fails at least
one (the control works: the checks can tell the laws apart).

What "passes" means for a law. Conjecture 3 claims Theorem 1's conclusion, not the
Gaussian proof's identities. One criterion family of the concentration check is
Gaussian-only by its statement (MATH.md section 3: E[B_{+,u}^T B_{+,v}] = Q_{u,v}
"for B with i.i.d. N(0, 1/m) entries"; it follows from rotation invariance), and so
is the prediction that ||B_{+,u}^T B_{+,v} - Q_{u,v}|| falls like m^-1/2, which needs
E = Q. For Rademacher rows the expectation differs from Q by a bias no width
removes: with u = e1, v = e2, E[1[g1 > 0] 1[g2 > 0] g1 g2] = 1/4 against Q's
off-diagonal 1/(2 pi) = 0.159. Those criteria (:data:`GAUSSIAN_ONLY`: the Monte Carlo
test of E = Q and the m^-1/2 scaling slope) are reported for every law but do not
count against a zero-mean law; everything else, the WDC headline eps_hat <= bound
included, does. The table keeps both
verdicts (``passed``: every criterion; ``conclusion_passed``: the rule above) and each
rerun's three-state ``verdict`` and ``conclusion`` (holds / fails / uninformative /
error). An uninformative rerun (a criterion whose bound is at or past its trivial
ceiling) never counts as holding; it is not a failure either, and when no rerun of a
group failed but some were uninformative, that group's criterion is uninformative.

How the reruns run. This module declares the checks it reruns (``register(...,
reruns=RERUNS)``) and receives their results from the registry
(:class:`verify.registry.Reruns`), instead of seeding and calling ``run_check`` itself:
the registry runs the j-th declared check on ``streams.task(j)``, a child of the
streams this check was given (so it works the same inside a sweep task, whose streams
have no integer seed), and each cell's result keeps its seed (``0/3.2``), which
``verify check descent --config ... --seed 0/3.2`` replays. All four laws of one check
share its streams (common random numbers: the same masks and check draws, the weights
drawn by each law from the same stream), so the laws are compared on equal terms; the
three checks are independent of each other and of this check's own instance.

Judged on one network draw (no ``DrawRule``). Conjecture 3 is a probabilistic statement
like the ones it reruns, but one run of this check is twelve whole checks (three checks
x four laws, about 35 CPU-s at theory-2layer in full); the 40 or more draws a
tolerance of 0.1 needs would take over 20 CPU-minutes per preset. The reruns themselves
are single draws too (``Reruns`` runs them with ``draws=1``); the multi-draw verdicts of
the WDC, the angle lemmas and Theorem 1 for Gaussian weights are those checks' own rows.

Known-bad configurations (``KNOWN_BAD``). The check replaces the configuration's weight
law by each of its four laws, so a configuration cannot break the conjecture through
its law (a U[0, 1] or heavy-tailed configuration is run exactly as a Gaussian one; the
weight module has no heavy-tailed law anyway, and U[0, 1] is the control inside every
run). What a configuration can break is the hypothesis Conjecture 3 keeps from
Theorem 1: expansive layers. On a contracting network the zero-mean laws must not pass.
"""

from __future__ import annotations

import pandas as pd

from verify.presets import Config, Instance
from verify.registry import Reruns, register
from verify.results import Criterion, Outcome
from verify.spec import block_spec
from verify.verdicts import KnownBad
from verify.weights import WeightLaw

#: The checks Conjecture 3 is about, in proof order (the registry reruns them).
RERUNS = ("concentration", "angle", "descent")
#: Criteria (by check, name prefix) that test identities stated for Gaussian weights
#: only (see the module docstring).
GAUSSIAN_ONLY = {"concentration": ("mc_", "scaling_slope_dev")}
#: Zero-mean laws (Conjecture 3) and the negative control.
ZERO_MEAN = ("gaussian", "rademacher", "uniform")
CONTROL = "uniform01"


def rerun_table(config: Config, reruns: Reruns, *, checks=RERUNS) -> pd.DataFrame:
    """law x check -> statistic, bound, margin, passed (one rerun per cell).

    Checks that are not registered, or that refuse the configuration (``requires``),
    are listed with ``status`` = "not registered" / "not applicable"; a check that
    raises is an "error" row and counts as not passed.
    """
    from verify.errors import VerifyError

    rows = []
    for check in checks:  # three checks x four laws: each cell is a whole check run
        for law in ZERO_MEAN + (CONTROL,):
            row = {"law": law, "check": check, "zero_mean": law != CONTROL}
            if not reruns.registered(check):
                rows.append({**row, "status": "not registered"})
                continue
            cfg = config.with_weights(law)
            try:
                res = reruns(check, cfg)
            except VerifyError as exc:  # requires() refused this configuration
                rows.append({**row, "status": "not applicable", "note": str(exc)})
                continue
            g_only = GAUSSIAN_ONLY.get(check, ("\0",))
            failed = [c.name for c in res.criteria if c.verdict == "fails"]
            gonly = [n for n in failed if n.startswith(g_only)]
            # uninformative criteria (bound at or past the trivial ceiling) tested
            # nothing: they never count as holding
            uninf = [c.name for c in res.criteria
                     if c.verdict == "uninformative" and not c.name.startswith(g_only)]
            conclusion = ("error" if res.error else "fails" if len(failed) > len(gonly)
                          else "uninformative" if uninf else "holds")
            rows.append({**row, "status": "error" if res.error else "ran",
                         "statistic": res.statistic, "bound": res.bound, "sense": res.sense,
                         "margin": res.margin, "passed": bool(res.passed),
                         "verdict": res.verdict, "conclusion": conclusion,
                         "conclusion_passed": conclusion == "holds",
                         "criteria_failed": ", ".join(failed),
                         "gaussian_only_failed": ", ".join(gonly),
                         "criteria_uninformative": ", ".join(uninf),
                         "n_samples": res.n_samples, "elapsed_s": res.elapsed_s,
                         "seed": str(res.seed),
                         "note": res.error or ""})
    return pd.DataFrame(rows)


def check(instance: Instance, *, rng, quick: bool, reruns: Reruns) -> Outcome:
    """Conjecture 3 on the instance's architecture and mask: every zero-mean law passes
    every rerun check, U[0, 1] fails at least one (the reruns and their streams: module
    docstring; ``rng`` is not drawn from)."""
    base = instance.config
    table = rerun_table(base, reruns)
    for col in ("passed", "conclusion_passed"):  # absent when nothing ran
        if col not in table:
            table[col] = False
    if "conclusion" not in table:
        table["conclusion"] = None
    ran = table[table["status"].isin(["ran", "error"])]
    zm = ran[ran["zero_mean"]]
    ctl = ran[~ran["zero_mean"]]

    def count(rows, *verdicts):
        return int(rows["conclusion"].isin(verdicts).sum()) if len(rows) else 0

    # a failure is a rerun whose conclusion fails (or that crashed); an uninformative
    # rerun neither holds nor fails: if nothing failed and some rerun tested nothing,
    # the criterion over those runs is uninformative too
    zm_fail, zm_uninf = count(zm, "fails", "error"), count(zm, "uninformative")
    ctl_fail, ctl_uninf = count(ctl, "fails", "error"), count(ctl, "uninformative")
    checks_run = sorted(set(ran["check"]))
    headline = Criterion("zero_mean_failures", zm_fail, 0, "<=",
                         f"rerun checks failed by a zero-mean law ({len(zm)} runs: "
                         f"{', '.join(ZERO_MEAN)} x {', '.join(checks_run)})",
                         untested=(f"{zm_uninf} zero-mean rerun(s) uninformative (bound at or "
                                   "past the trivial ceiling) and none failed"
                                   if zm_fail == 0 and zm_uninf else ""))
    criteria = (
        Criterion("control_failures", ctl_fail, 1, ">=",
                  f"rerun checks failed by {CONTROL} (the control must be detected)",
                  untested=(f"{ctl_uninf} {CONTROL} rerun(s) uninformative and none failed"
                            if ctl_fail == 0 and ctl_uninf else "")),
        Criterion("checks_run", len(checks_run), 1, ">=",
                  "distinct checks that ran on every law"),
    )
    per_law = {law: {"conclusion_passed": int(g["conclusion_passed"].astype(bool).sum()),
                     "passed_every_criterion": int(g["passed"].astype(bool).sum()),
                     "ran": int(len(g))}
               for law, g in ran.groupby("law")}
    details = {
        "checks": list(RERUNS), "checks_run": checks_run,
        "skipped": table[~table["status"].isin(["ran", "error"])][["law", "check", "status"]]
        .to_dict(orient="records"),
        "per_law": per_law, "zero_mean_failures": zm_fail, "control_failures": ctl_fail,
        "zero_mean_uninformative": zm_uninf, "control_uninformative": ctl_uninf,
        "failed_cells": ran[~ran["passed"].astype(bool)][
            ["law", "check", "conclusion", "criteria_failed", "gaussian_only_failed",
             "criteria_uninformative"]].to_dict(orient="records"),
        "gaussian_only_criteria": {k: list(v) for k, v in GAUSSIAN_ONLY.items()},
        "base_config": base.name,
        "rerun_seeds": {c: str(reruns.streams_of(c)) for c in RERUNS},
    }
    return Outcome(headline=headline, criteria=criteria, n_samples=int(len(ran)),
                   details=details, table=table,
                   settings={"checks": list(RERUNS), "laws": list(ZERO_MEAN + (CONTROL,)),
                             "quick": quick})


def figure_laws(result):
    """Heat map law x check of the rerun checks' verdicts, with statistic and bound."""
    import matplotlib.pyplot as plt
    import numpy as np

    t = result.table
    t = t[t["status"].isin(["ran", "error"])] if len(t) else t
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    if len(t):
        laws = list(dict.fromkeys(t["law"]))
        checks = list(dict.fromkeys(t["check"]))
        grid = np.full((len(laws), len(checks)), np.nan)
        for _, r in t.iterrows():
            grid[laws.index(r["law"]), checks.index(r["check"])] = (
                1.0 if r["passed"] else 0.75 if r["conclusion_passed"]
                else 0.5 if r["conclusion"] == "uninformative" else 0.0)
        ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        for _, r in t.iterrows():
            ax.text(checks.index(r["check"]), laws.index(r["law"]),
                    f"{r['statistic']:.3g}\n{r['sense']} {r['bound']:.3g}", ha="center",
                    va="center", fontsize=7)
        ax.set_xticks(range(len(checks)), checks)
        ax.set_yticks(range(len(laws)), laws)
    ax.set_title(f"Conjecture 3 [{result.preset}]\ngreen: pass; light green: only "
                 "Gaussian-only criteria fail; yellow: uninformative; red: fail", fontsize=8)
    fig.tight_layout()
    return fig


#: No generated configurations: each example would rerun three checks under four laws
#: (12 runs); those checks are in the common property test themselves, and U[0, 1] is
#: the negative control inside every run.
configs = None
counter_configs = None


FIGURES = (figure_laws,)
FINDINGS = ()
#: Configurations outside Conjecture 3's hypotheses (see the module docstring).
KNOWN_BAD = (
    KnownBad(
        "no expansion (16 -> 8 -> 4, kernel 1)",
        Config("known-bad-contracting", block_spec(1, (16, 8, 4), (1, 1)),
               WeightLaw("gaussian")),
        "two contracting layers (blocks 8 x 16 and 4 x 8: m = k/2, no expansion): "
        "Theorem 1's expansivity C_i l >= c C_{i-1} log C_{i-1}, which Conjecture 3 keeps, "
        "fails on both, so its conclusions need not hold for any law; the zero-mean "
        "reruns fail (the WDC, angle contraction and descent all break without "
        "expansion), and the check must not say the conjecture holds here"),
)

register(
    "subgaussian",
    statement="concentration, angle contraction and descent hold for rademacher and uniform "
              "zero-mean weights as for Gaussian, and fail for U[0, 1] (negative control)",
    reference="Conjecture 3",
    presets={"theory-2layer": "pass"},
    check=check, configs=configs, counter_configs=counter_configs, figures=FIGURES,
    findings=FINDINGS, cost=16.0, detects_counterexample=False, reruns=RERUNS,
    known_bad=KNOWN_BAD)
