"""The real dataset of the trained-network experiments (paper Sec. 4.3, MATH.md section 8).

scikit-learn ships 1,797 real 8x8 scans of handwritten digits inside its wheel
(``sklearn.datasets.load_digits``, the UCI "optical recognition of handwritten digits"
test set): no download at run time. They are resized to ``size x size`` by bilinear
interpolation (``scipy.ndimage.zoom``, order 1) and scaled from the scans' grey levels
0..16 to [-1, 1], the range of the generator's tanh output (the paper rescales MNIST
to 32x32 the same way).
"""

from __future__ import annotations

import numpy as np

from .errors import VerifyError, invalid

#: The scans' grey levels run from 0 to 16 (load_digits' documentation).
GREY_MAX = 16.0
INSTALL_HINT = 'pip install "verify-invertibility[digits]"'


def _load_raw() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise VerifyError("the digits dataset needs scikit-learn, which is not installed: "
                          f"{INSTALL_HINT}") from None
    bunch = load_digits()
    return np.asarray(bunch.images, np.float64), np.asarray(bunch.target, np.int64)


def load_digits_images(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digit scans as ``(n, size, size)`` images in [-1, 1] and their labels.

    Parameters
    ----------
    size : int
        Side of the output images: a multiple of 8 (8, 16, 32, ...).

    Returns
    -------
    images : ndarray, shape (1797, size, size), float64 in [-1, 1]
    labels : ndarray, shape (1797,), int
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8 or size % 8:
        raise invalid("size", "a multiple of 8 (8, 16, 32, ...)", size)
    raw, labels = _load_raw()
    from scipy.ndimage import zoom

    factor = size // 8
    # zoom per image (axis 0 factor 1): bilinear, deterministic, no randomness.
    big = zoom(raw, (1, factor, factor), order=1, mode="nearest", grid_mode=True)
    big = np.clip(big, 0.0, GREY_MAX)
    return 2.0 * big / GREY_MAX - 1.0, labels


__all__ = ["load_digits_images", "INSTALL_HINT", "GREY_MAX"]
