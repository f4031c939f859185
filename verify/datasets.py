"""The real dataset of the trained-network experiments (paper Sec. 4.3, lemmas/README.md,
section 11).

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

    from scipy.ndimage import zoom

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
    x = raw.astype(np.float64)
    if x.shape[1:] != (size, size):
        x = zoom(x, (1, size / x.shape[1], size / x.shape[2]), order=1, mode="nearest",
                 grid_mode=True)
    x = np.clip(x, 0.0, 255.0)
    return 2.0 * x / 255.0 - 1.0, labels

__all__ = ["load_digits_images", "load_mnist_images", "MNIST_FILES", "INSTALL_HINT", "GREY_MAX"]
