"""The shipped trained generator: the ``digits-dcgan`` preset (paper Sec. 4.1, 4.3).

Importing this module registers the preset (``verify.presets`` imports it when it
exists); it is cheap: the weights are read from ``verify/data/digits_dcgan.npz`` only
when an instance is drawn, and scikit-learn is not imported.

The network is the 4-layer transposed-convolution generator of
:func:`verify.training.generator_spec` (latent 10 -> 64 x 4x4 -> 32 x 8x8 -> 16 x 16x16
-> 1 x 32x32, batch-norm folded into per-channel affines, leaky ReLU, tanh output),
trained on scikit-learn's real handwritten digits by ``verify train-digits --seed 0``
(generative latent optimisation, 90 epochs, about 100 s of CPU; final reconstruction
MSE 0.0109 per pixel on [-1, 1] images, against 0.035 for the best 10-component linear
(PCA) fit and 0.185 for the mean image). The command reproduces the file bit-for-bit
(checked: same SHA-256) on the same NumPy / OpenBLAS build.
Its default measurement is 50% of the pixels observed uniformly at random
(``MaskSpec("random", 0.5)``); the trained-recovery check also runs the paper's four
half masks (Fig. 5).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import VerifyError
from .measurements import MaskSpec
from .network import Network
from .presets import Config, register_preset
from .training import generator_spec
from .weights import WeightLaw, load_network

#: Where the shipped weights live inside the package.
WEIGHTS_PATH = Path(__file__).resolve().parent / "data" / "digits_dcgan.npz"
DIGITS_SPEC = generator_spec()


@lru_cache(maxsize=1)
def _load_cached(path: str, mtime: float) -> Network:
    net = load_network(path)
    if net.spec != DIGITS_SPEC:
        raise VerifyError(f"weights file {path!r}: architecture {net.spec.describe()} differs "
                          f"from the digits-dcgan generator {DIGITS_SPEC.describe()}")
    return net


def load_digits_generator(path: str | Path | None = None) -> Network:
    """The shipped digits generator (or the one saved at ``path``)."""
    path = Path(path) if path is not None else WEIGHTS_PATH
    if not path.exists():
        raise VerifyError(f"weights file {str(path)!r}: not found; create it with "
                          "`verify train-digits --out FILE`")
    return _load_cached(str(path), path.stat().st_mtime)


DIGITS_DCGAN = register_preset(Config(
    "digits-dcgan", DIGITS_SPEC, WeightLaw("gaussian"), MaskSpec("random", 0.5),
    "the shipped 4-layer generator trained on real handwritten digits (scikit-learn's "
    "1,797 scans at 32x32; latent 10 -> 64 -> 32 -> 16 -> 1 ch, k4, folded batch-norm, "
    "leaky ReLU, tanh); 50% random pixels",
    loader=load_digits_generator))


__all__ = ["WEIGHTS_PATH", "DIGITS_SPEC", "DIGITS_DCGAN", "load_digits_generator"]
