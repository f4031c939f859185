"""Does a trained generator draw digits? Nearest-image distances and a classifier's
confidence on its samples (the quality note of the trained-recovery report)."""

from __future__ import annotations

import math

import numpy as np

from .glo import single_thread



# ================================================================ generator quality
#: A sample counts as "labelled confidently" when the classifier's top probability is
#: at least this.
CONFIDENT = 0.9
#: The generator "draws digits" when the share of its samples labelled confidently is
#: at least this fraction of the share among held-out real digits, and the median
#: distance of a sample to its nearest training image is at most this multiple of the
#: training set's own median nearest-neighbour distance; a conditional generator's
#: samples must also be labelled confidently *as the class asked for* that often. The
#: fraction was set after measuring the GLO generator (its N(0, I) samples: 0.39 of
#: the real share) and uniform noise (0): it separates "no digits" (noise, blank or
#: collapsed output) from "digits, drawn poorly", not good from mediocre.
DIGITS_SHARE_FRACTION = 0.25
NN_RATIO_MAX = 2.0


def _blocks8(x: np.ndarray) -> np.ndarray:
    """(m, 32*32) images -> (m, 64): 4x4 block means (the scans' 8x8 grid)."""
    x = np.asarray(x, np.float64).reshape(-1, 8, 4, 8, 4)
    return x.mean(axis=(2, 4)).reshape(len(x), 64)


def _nearest(a: np.ndarray, b: np.ndarray, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from every row of ``a`` to its nearest row of ``b`` (and its
    index); ``exclude_self`` when ``a`` is ``b`` (leave-one-out)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    np.maximum(d2, 0.0, out=d2)
    if exclude_self:
        np.fill_diagonal(d2, np.inf)
    idx = np.argmin(d2, axis=1)
    return np.sqrt(d2[np.arange(len(a)), idx]), idx


def generator_quality(samples: np.ndarray, images: np.ndarray, labels: np.ndarray,
                      sample_labels: np.ndarray | None = None, *, seed: int = 0) -> dict:
    """Does a generator draw digits?

    * nearest-neighbour distance (Euclidean, pixels in [-1, 1]) of every sample to the
      training set, against the training set's own leave-one-out nearest-neighbour
      distances (a memorising generator sits near 0, noise far above);
    * a scikit-learn classifier (multinomial logistic regression on the 8x8 block means,
      trained on 75% of the real digits, split by ``seed``): its accuracy and share of
      confident labels (top probability >= :data:`CONFIDENT`) on the held-out real
      digits, the same share on the samples and, for a conditional generator
      (``sample_labels``), the share whose label is the class asked for.

    ``draws_digits`` applies the fixed rule of :data:`DIGITS_SHARE_FRACTION` and
    :data:`NN_RATIO_MAX`.
    """
    with single_thread():  # BLAS threads oversubscribe a shared machine (13 s vs 0.7 s)
        return _generator_quality(samples, images, labels, sample_labels, seed)


def _generator_quality(samples, images, labels, sample_labels, seed) -> dict:
    from sklearn.linear_model import LogisticRegression

    n = len(images)
    flat = np.asarray(images, np.float64).reshape(n, -1)
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    train_nn, _ = _nearest(flat, flat, exclude_self=True)
    samp_nn, _ = _nearest(samples, flat)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    perm = rng.permutation(n)
    cut = (3 * n) // 4
    tr, te = perm[:cut], perm[cut:]
    clf = LogisticRegression(max_iter=2000, C=1.0)
    feats = _blocks8(flat)
    clf.fit(feats[tr], labels[tr])
    p_real = clf.predict_proba(feats[te])
    p_samp = clf.predict_proba(_blocks8(samples))
    real_conf = float(np.mean(p_real.max(1) >= CONFIDENT))
    samp_conf = float(np.mean(p_samp.max(1) >= CONFIDENT))
    out = {
        "samples": int(len(samples)),
        "train_nn_median": float(np.median(train_nn)),
        "train_nn_q10_q90": [float(np.quantile(train_nn, 0.1)), float(np.quantile(train_nn, 0.9))],
        "sample_nn_median": float(np.median(samp_nn)),
        "sample_nn_q10_q90": [float(np.quantile(samp_nn, 0.1)), float(np.quantile(samp_nn, 0.9))],
        "nn_ratio": float(np.median(samp_nn) / np.median(train_nn)),
        "classifier": "LogisticRegression on 8x8 block means, 75/25 split",
        "classifier_accuracy_real": float(np.mean(clf.classes_[p_real.argmax(1)] == labels[te])),
        "confident_share_real": real_conf,
        "confident_share_samples": samp_conf,
        "confident": CONFIDENT,
    }
    if sample_labels is not None:
        pred = clf.classes_[p_samp.argmax(1)]
        ok = (pred == np.asarray(sample_labels)) & (p_samp.max(1) >= CONFIDENT)
        out["confident_and_class_asked"] = float(np.mean(ok))
        out["label_agreement"] = float(np.mean(pred == np.asarray(sample_labels)))
    asked = out.get("confident_and_class_asked", samp_conf)
    out["draws_digits"] = bool(samp_conf >= DIGITS_SHARE_FRACTION * real_conf
                               and asked >= DIGITS_SHARE_FRACTION * real_conf
                               and out["nn_ratio"] <= NN_RATIO_MAX)
    out["rule"] = (f"confident share >= {DIGITS_SHARE_FRACTION:g} x the real digits' and "
                   f"median NN distance <= {NN_RATIO_MAX:g} x the training set's own")
    return out


def sample_grid_png(samples: np.ndarray, path, rows: int = 10, title: str = "") -> None:
    """Save ``samples`` (m, 1024) as a grid of 32x32 images (``rows`` rows) to a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    m = len(samples)
    cols = math.ceil(m / rows)
    grid = np.full((rows * 34, cols * 34), -1.0)
    for k, img in enumerate(np.asarray(samples).reshape(m, 32, 32)):
        r, c = divmod(k, cols)
        grid[r * 34 + 1:r * 34 + 33, c * 34 + 1:c * 34 + 33] = img
    fig, ax = plt.subplots(figsize=(cols * 0.45 + 0.4, rows * 0.45 + 0.6))
    ax.imshow(grid, cmap="gray", vmin=-1, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(str(path), dpi=100)
    plt.close(fig)

