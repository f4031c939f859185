"""Conjecture 3 (Sec. 3) and its examples, judged by the ``subgaussian`` check.

``conj3``: Theorem 1's conclusion (the concentration, angle and descent reruns) holds
for every zero-mean weight law that the check's tail fit classifies as subgaussian by
the conjecture's own definition P(|x| > t) <= c exp(-gamma t^2); the U[0, 1] control
must fail (the reruns can tell laws apart) and the tail fit's own controls must be
classified right. Every zero-mean law tried, whatever its tail (the centred exponential
included), is the stronger ``zero_mean_failures`` (beyond the quote).

``conj3-examples``: the sentence naming examples, judged law by law on exactly the laws
it names: the bounded laws tried, and the exponential distribution (centred to zero mean,
as the conjecture asks). Its tail is exp(-1 - t), not exp(-gamma t^2): a registered
finding (``lemmas/findings/conj3-examples.toml``).
"""

from __future__ import annotations

import math

from verify.registry import register_statement
from verify.results import Criterion
from verify.statements import Beyond, Judge

QUOTE = ("Under the assumptions of Theorem 1, let the network weights follow any zero-mean "
         "subgaussian distribution P(|x| > t) ≤ ce^{−γt²}, ∀t > 0 instead of Gaussian. Then "
         "with high probability the same conclusion holds.")
EXAMPLES_QUOTE = ("This includes, for example, any bounded distribution and the exponential "
                  "distribution.")

#: The check's criterion of the tail fit's own controls (Gaussian in, Laplace out).
TAIL_CONTROLS = "tail fit controls misclassified (gaussian, laplace)"
#: The bounded laws the check tries (uniform01 is bounded but not zero-mean: it is in
#: "any bounded distribution" all the same) and the exponential distribution.
BOUNDED = ("rademacher", "uniform", "triangular", "truncated_gaussian", "uniform01")
EXPONENTIAL = ("centred_exponential",)


def _named(outcome, *names):
    have = {c.name: c for c in (outcome.headline,) + tuple(outcome.criteria)}
    return [have.get(n) or Criterion(n, math.nan, 0.0, untested=f"{n} was not evaluated")
            for n in names]


def _classes(outcome) -> dict:
    return dict(((outcome.details or {}).get("tails") or {}).get("class") or {})


def conjecture_criteria(outcome):
    """Reruns failed (conclusion fails or error) by a zero-mean law classified
    subgaussian; the control detected; the checks ran; the tail fit's controls right."""
    cls = _classes(outcome)
    table = outcome.table
    sub = [law for law, c in cls.items() if c == "subgaussian"]
    if table is None or "conclusion" not in getattr(table, "columns", ()) or not cls:
        crit = Criterion("subgaussian_zero_mean_failures", math.nan, 0.0,
                         untested="no rerun table or tail classes")
    else:
        ran = table[table["status"].isin(["ran", "error"]) & table["zero_mean"].astype(bool)
                    & table["law"].isin(sub)]
        bad = int(ran["conclusion"].isin(["fails", "error"]).sum())
        uninf = int((ran["conclusion"] == "uninformative").sum())
        crit = Criterion(
            "subgaussian_zero_mean_failures", bad, 0, "<=",
            f"reruns ({len(ran)}) whose conclusion fails, over the zero-mean laws the tail "
            f"fit calls subgaussian: {', '.join(sorted(set(ran['law'])))}",
            ceiling=float(len(ran)),
            untested="no zero-mean subgaussian law ran" if not len(ran) else
            (f"{uninf} rerun(s) uninformative and none failed" if uninf and not bad else ""))
    return [crit, *_named(outcome, "checks_run", "control_failures", TAIL_CONTROLS)]


def _not_subgaussian(cls: dict, laws, name: str) -> Criterion:
    tried = [law for law in laws if law in cls]
    bad = [law for law in tried if cls[law] == "not subgaussian"]
    und = [law for law in tried if cls[law] == "undecided"]
    if not tried:
        return Criterion(name, math.nan, 0.0, untested="none of these laws was fitted")
    return Criterion(name, len(bad), 0, "<=",
                     f"classes by P(|x| > t) <= c exp(-gamma t^2): "
                     + ", ".join(f"{law}: {cls[law]}" for law in tried),
                     ceiling=float(len(tried)),
                     untested=f"{', '.join(und)} undecided" if und and not bad else "")


def examples_criteria(outcome):
    """The sentence's two examples, each by the definition: bounded laws, then the
    exponential distribution; and the tail fit's own controls (that it can tell)."""
    cls = _classes(outcome)
    return [_not_subgaussian(cls, BOUNDED, "bounded_laws_not_subgaussian"),
            _not_subgaussian(cls, EXPONENTIAL, "exponential_not_subgaussian"),
            *_named(outcome, TAIL_CONTROLS)]


HYPOTHESES = ("Theorem 1's architecture (expansive layers, stride = kernel), weights i.i.d. "
              "from a zero-mean law with P(|x| > t) <= c exp(-gamma t^2)")

register_statement(
    "conj3", label="Conjecture 3", section="Sec. 3", quote=QUOTE, hypotheses=HYPOTHESES,
    judges=(Judge("subgaussian", conjecture_criteria,
                  what="concentration, angle and descent rerun per zero-mean law the tail "
                       "fit calls subgaussian; U[0, 1] control detected"),),
    beyond=(Beyond("subgaussian", ("zero_mean_failures",),
                   asks="every zero-mean law tried holds, the ones that are not subgaussian "
                        "(the centred exponential) included"),))

register_statement(
    "conj3-examples", label="Conjecture 3 (its examples)", section="Sec. 3",
    quote=EXAMPLES_QUOTE, hypotheses=HYPOTHESES,
    judges=(Judge("subgaussian", examples_criteria,
                  what="the definition's tail fitted per law: the bounded laws tried and "
                       "the (centred) exponential distribution"),))
