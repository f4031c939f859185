"""Audit a network's weights against the theorems' assumptions (``verify audit``).

Which of the assumptions of Theorems 1 and 4 (paper Sec. 2-3, lemmas/README.md,
sections 0, 1 and 9) does a given network satisfy, each with the measured value:

* every layer has stride = kernel and no padding (the block-diagonal case, Fig. 2(b));
* every activation is ReLU, and no layer adds a bias;
* every layer is expansive: ``C_i l^dims >= C_{i-1} log C_{i-1}`` (the paper's
  ``C_i l >~ C_{i-1} log C_{i-1}``, constant taken as 1; the theory presets use 4);
* every layer's filters look zero-mean Gaussian (:func:`weight_normality`, the rule of
  the trained-weights check, Sec. 4.1);
* with a sampling rate r < 1 (Theorem 4), the smallest block of ``A W_d`` keeps about
  ``r C_d l^dims`` of its rows; it must still cover ``C_{d-1} log C_{d-1}``.

Weight files are read by :mod:`verify.weightfiles` (``.npz`` and ``.safetensors``,
never a pickle).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .network import Network
from .spec import NetworkSpec

#: Zero-mean rule: |mean| <= max(ZERO_MEAN_SE * SE, ZERO_MEAN_EFFECT * sd). 4 standard
#: errors: an i.i.d. zero-mean layer fails with probability 6e-5; an effect below 0.1 sd is
#: negligible (Cohen's d) even when a large layer makes it "significant".
ZERO_MEAN_SE = 4.0
ZERO_MEAN_EFFECT = 0.1
#: Gaussian-like rule: |excess kurtosis| <= 1 and |skewness| <= 0.5 (normal: 0 and 0;
#: uniform -1.2, Rademacher -2, Laplace +3; U[0,1] is caught by the mean rule).
MAX_ABS_KURTOSIS = 1.0
MAX_ABS_SKEW = 0.5
#: Layers with fewer entries than this are too small for a shape statement; they are
#: reported but their Gaussian-like verdict is not decided (holds = None).
MIN_ENTRIES = 50


#: Above this magnitude a layer's raw fourth moment can overflow (a corrupt or hostile
#: file); its shape statistics are then computed on the standardised weights.
HUGE_WEIGHT = 1e64


# ------------------------------------------------------------------ statistics
def weight_normality(w: np.ndarray, expected_var: float | None = None) -> dict[str, Any]:
    """Normality statistics of one layer's weights (paper Fig. 3, Sec. 4.1).

    Returns n, mean, sd, the standard error, excess kurtosis, skewness, the
    Kolmogorov-Smirnov and Anderson-Darling statistics against the normal fitted by
    mean and sd (the plain KS p-value ignores that the parameters were fitted, so it is
    conservative; the AD p-value uses the table for fitted parameters), and the verdicts
    ``zero_mean`` and ``gaussian_like`` of the rules above.
    """
    from scipy import stats

    x = np.asarray(w, np.float64).ravel()
    n = x.size
    top = float(np.abs(x).max()) if n else 0.0
    if top > HUGE_WEIGHT:
        # a corrupt or hostile file: the moments of x / top cannot overflow; the shape
        # statistics below are taken on the standardised weights (shift and scale
        # invariant)
        xs = x / top
        mean = float(xs.mean()) * top
        sd = float(xs.std(ddof=1)) * top if n > 1 else 0.0
        shape = (xs - xs.mean()) / xs.std(ddof=1) if n > 1 and xs.std(ddof=1) > 0 else xs
    else:
        mean = float(x.mean())
        sd = float(x.std(ddof=1)) if n > 1 else 0.0
        shape = x
    se = sd / math.sqrt(n) if n > 0 else float("nan")
    out: dict[str, Any] = {"n": n, "mean": mean, "sd": sd, "var": sd * sd, "se": se}
    out["mean_over_se"] = abs(mean) / se if se > 0 else (0.0 if mean == 0 else math.inf)
    out["mean_over_sd"] = abs(mean) / sd if sd > 0 else (0.0 if mean == 0 else math.inf)
    out["zero_mean"] = bool(abs(mean) <= max(ZERO_MEAN_SE * se, ZERO_MEAN_EFFECT * sd)) \
        if sd > 0 else bool(mean == 0)
    if expected_var is not None:
        out["expected_var"] = float(expected_var)
        out["var_ratio"] = out["var"] / expected_var
    if n >= 4 and 0 < sd < math.inf:
        # (errstate: scipy's own precision check divides by the sample mean, which a
        # standardised hostile layer can bring to a subnormal; the values are unchanged)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            out["excess_kurtosis"] = float(stats.kurtosis(shape, fisher=True, bias=False))
            out["skewness"] = float(stats.skew(shape, bias=False))
            ks = stats.kstest(x, "norm", args=(mean, sd))
        out["ks_stat"], out["ks_pvalue"] = float(ks.statistic), float(ks.pvalue)
        out["ad_stat"] = _ad_statistic((x - mean) / sd)
        out["ad_pvalue"] = _ad_pvalue(out["ad_stat"], n)
    else:
        for k in ("excess_kurtosis", "skewness", "ks_stat", "ks_pvalue", "ad_stat",
                  "ad_pvalue"):
            out[k] = float("nan")
    if n < MIN_ENTRIES or not math.isfinite(out["excess_kurtosis"]):
        out["gaussian_like"] = None
    else:
        out["gaussian_like"] = bool(abs(out["excess_kurtosis"]) <= MAX_ABS_KURTOSIS
                                    and abs(out["skewness"]) <= MAX_ABS_SKEW)
    return out


def _ad_statistic(u: np.ndarray) -> float:
    """Anderson-Darling A^2 of standardised data against N(0, 1) (as ``scipy.stats.anderson``):
    ``A^2 = -n - mean_i (2i - 1) [log Phi(u_(i)) + log(1 - Phi(u_(n+1-i)))]``."""
    from scipy.special import log_ndtr

    y = np.sort(u)
    n = y.size
    i = np.arange(1, n + 1)
    return float(-n - np.sum((2 * i - 1) / n * (log_ndtr(y) + log_ndtr(-y[::-1]))))


def _ad_pvalue(a2: float, n: int) -> float:
    """p-value of the Anderson-Darling statistic for normality with estimated mean and
    variance (D'Agostino & Stephens 1986, Table 4.9, with the small-sample factor)."""
    z = a2 * (1.0 + 0.75 / n + 2.25 / n**2)
    if z >= 0.6:
        # the fitted exponent is a parabola with its minimum at z = 5.709 / 0.0372 = 153.5
        # (p there is about e^-437): past it the fit would rise again, overflow near
        # z = 400 and read as "normal"; p is non-increasing in z, so hold it there
        z = min(z, 5.709 / (2 * 0.0186))
        p = math.exp(1.2937 - 5.709 * z + 0.0186 * z * z)
    elif z >= 0.34:
        p = math.exp(0.9177 - 4.279 * z - 1.38 * z * z)
    elif z >= 0.2:
        p = 1.0 - math.exp(-8.318 + 42.796 * z - 59.938 * z * z)
    else:
        p = 1.0 - math.exp(-13.436 + 101.14 * z - 223.73 * z * z)
    return float(min(1.0, max(0.0, p)))


def layer_expected_var(spec: NetworkSpec, i: int) -> float:
    """1/(C_i l^dims): Theorem 1's variance (one over the rows of the block B)."""
    layer = spec.layers[i]
    return 1.0 / (layer.channels * layer.kernel**spec.dims)


# ------------------------------------------------------------------- loading
# --------------------------------------------------------------------- audit
@dataclass(frozen=True)
class Assumption:
    """One row of the audit: ``{assumption, holds, measured, required}`` (verify/cli/README.md).
    ``holds`` is None when it cannot be decided (e.g. a layer too small)."""

    assumption: str
    holds: bool | None
    measured: str
    required: str

    def to_dict(self) -> dict[str, Any]:
        return {"assumption": self.assumption, "holds": self.holds,
                "measured": self.measured, "required": self.required}


def audit(network: Network, rate: float = 0.5) -> list[Assumption]:
    """The theorems' assumptions for ``network`` (module docstring), each measured.

    ``rate`` is the sampling rate r whose effect on the smallest block is reported
    (Theorem 4; the digits preset's default 0.5).
    """
    from .measurements import check_rate

    rate = check_rate(rate)
    spec = network.spec
    ch = spec.channels
    rows: list[Assumption] = []
    for i, (layer, w) in enumerate(zip(spec.layers, network.weights)):
        L = f"layer {i + 1}"
        rows.append(Assumption(f"{L}: stride = kernel", layer.stride == layer.kernel,
                               f"stride {layer.stride}, kernel {layer.kernel}",
                               "stride = kernel (block-diagonal W, Fig. 2(b))"))
        rows.append(Assumption(f"{L}: no padding", layer.padding == 0,
                               f"padding {layer.padding}", "padding 0"))
        rows.append(Assumption(f"{L}: ReLU", layer.activation == "relu",
                               layer.activation, "relu"))
        bmax = 0.0 if w.bias is None else float(np.max(np.abs(w.bias)))
        rows.append(Assumption(f"{L}: no bias", bmax == 0.0, f"max |bias| = {bmax:.4g}",
                               "no bias (G(z) = sigma(W_d ... sigma(W_1 z)))"))
        rows_b = ch[i + 1] * layer.kernel**spec.dims
        need = ch[i] * math.log(ch[i])
        ratio = math.inf if need == 0 else rows_b / need
        rows.append(Assumption(
            f"{L}: expansive", bool(ratio >= 1.0),
            f"C_i l^{spec.dims} = {rows_b}, C_(i-1) log C_(i-1) = {need:.1f} (ratio "
            + ("inf" if math.isinf(ratio) else f"{ratio:.2f}") + ")",
            "C_i l^dims >= C_(i-1) log C_(i-1) (ratio >= 1; the theory presets use 4)"))
        st = weight_normality(w.filters, layer_expected_var(spec, i))
        rows.append(Assumption(
            f"{L}: zero-mean weights", st["zero_mean"],
            f"mean {st['mean']:.3g} = {st['mean_over_sd']:.3f} sd = {st['mean_over_se']:.2f} SE "
            f"(n = {st['n']})",
            f"|mean| <= max({ZERO_MEAN_SE:g} SE, {ZERO_MEAN_EFFECT:g} sd)"))
        rows.append(Assumption(
            f"{L}: Gaussian-like weights", st["gaussian_like"],
            f"excess kurtosis {st['excess_kurtosis']:.3f}, skewness {st['skewness']:.3f}, "
            f"KS {st['ks_stat']:.3f} (p {st['ks_pvalue']:.2g}), AD {st['ad_stat']:.2f} "
            f"(p {st['ad_pvalue']:.2g}); var {st['var']:.3g} = {st['var_ratio']:.3g} x "
            f"1/(C_i l^dims)",
            f"|excess kurtosis| <= {MAX_ABS_KURTOSIS:g}, |skewness| <= {MAX_ABS_SKEW:g} "
            f"(undecided below {MIN_ENTRIES} entries)"))
    # Theorem 4: subsampling keeps about r of each block's rows; the smallest block
    # (the last layer's, with kept rows ~ Binomial(C_d l^dims, r)) must stay expansive.
    last = spec.layers[-1]
    rows_last = ch[-1] * last.kernel**spec.dims
    need = ch[-2] * math.log(ch[-2])
    kept = math.floor(rate * rows_last)
    ratio = math.inf if need == 0 else kept / need
    rows.append(Assumption(
        f"sampling rate {rate:g}: smallest block of A W_d", bool(ratio >= 1.0 and kept >= ch[-2]),
        f"about {kept} of {rows_last} rows kept per block (C_(d-1) = {ch[-2]}, "
        f"C_(d-1) log C_(d-1) = {need:.1f}, ratio "
        + ("inf" if math.isinf(ratio) else f"{ratio:.2f}") + ")",
        "kept rows >= C_(d-1) log C_(d-1) and >= C_(d-1) (Theorem 4)"))
    return rows


def format_table(rows: list[Assumption]) -> str:
    """The audit as an aligned text table."""
    mark = {True: "yes", False: "NO", None: "n/a"}
    w = max(len(r.assumption) for r in rows)
    lines = [f"{'assumption':<{w}}  holds  measured  [required]"]
    for r in rows:
        lines.append(f"{r.assumption:<{w}}  {mark[r.holds]:<5}  {r.measured}  [{r.required}]")
    return "\n".join(lines)


def audit_json(rows: list[Assumption]) -> str:
    return json.dumps([r.to_dict() for r in rows], indent=1)


__all__ = ["weight_normality", "layer_expected_var", "Assumption", "audit", "format_table",
           "ZERO_MEAN_SE", "ZERO_MEAN_EFFECT", "MAX_ABS_KURTOSIS", "MAX_ABS_SKEW",
           "MIN_ENTRIES"]
