"""Generative latent optimisation (GLO) of the digits generator, on the engine's own passes.

The paper trains its generator as a conditional DCGAN (:mod:`verify.training.gan`).
:func:`train_glo` (the default, ``verify train-digits --method glo``) trains the same
generator shape with the toolkit's own engine and no second network, by *generative latent
optimisation* (GLO, Bojanowski et al. 2018): every training image ``x_j`` gets its own
latent code ``z_j``, learnt jointly with the weights by Adam on

    L = 1/(2N) sum_j ||G(z_j) - x_j||^2,      ||z_j|| = sqrt(k) (projected after each step),

so the codes live on the sphere of radius sqrt(k) in R^k (k = 10, the paper's latent
dimension); a code drawn uniformly on that sphere (or ``N(0, I_k)``, whose norm
concentrates there) is a plausible generator input.

Architecture (32x32 output, DCGAN's layout)::

    z (10 x 1x1) -k4 s1 p0-> 64 x 4x4 -k4 s2 p1-> 32 x 8x8 -k4 s2 p1-> 16 x 16x16
                 -k4 s2 p1-> 1 x 32x32

the first three followed by batch-norm and leaky ReLU (slope 0.2), the last by a
per-channel affine and tanh. Batch-norm uses batch statistics while training; at the
end its population statistics over the whole training set are folded into the
per-channel affine of :class:`verify.network.LayerWeights` (``scale = gamma /
sqrt(var + eps)``, ``bias = beta - scale * mean``), so the shipped network is the
engine's plain ``Network`` with ``LayerSpec(affine=True)``.

Every layer's transposed convolution and its adjoint are the engine's own
(:meth:`Network.conv`, :meth:`Network.conv_transpose`); the filter gradient is
``x^T g_cols`` exactly as in :meth:`Network.vjp`. Batch-norm's forward and backward
are here. Determinism: one ``numpy.random.Generator`` from the seed drives the
initialisation and the shuffling, and BLAS runs on one thread while training (a
multi-threaded reduction order could differ between machines' thread counts).
Bit-for-bit reproduction also assumes the same NumPy / OpenBLAS build and CPU kernel.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import invalid
from ..network import LayerWeights, Network
from ..spec import LayerSpec, NetworkSpec


LATENT_DIM = 10
CHANNELS = (64, 32, 16)
BN_EPS = 1e-5
SLOPE = 0.2


def generator_spec(latent_dim: int = LATENT_DIM, channels: tuple[int, int, int] = CHANNELS,
                   *, affine_last: bool = True) -> NetworkSpec:
    """The 4-layer DCGAN-style generator (32x32, 1 channel) of the ``digits-dcgan`` preset."""
    c1, c2, c3 = channels
    bn = dict(activation="leaky_relu", slope=SLOPE, affine=True)
    return NetworkSpec(dims=2, latent_channels=latent_dim, layers=(
        LayerSpec(c1, kernel=4, stride=1, padding=0, **bn),
        LayerSpec(c2, kernel=4, stride=2, padding=1, **bn),
        LayerSpec(c3, kernel=4, stride=2, padding=1, **bn),
        LayerSpec(1, kernel=4, stride=2, padding=1, activation="tanh", affine=affine_last)))


@dataclass
class TrainSettings:
    """Hyper-parameters of :func:`train_glo` (all stored with the result)."""

    epochs: int = 90
    batch: int = 64
    lr: float = 1e-2          # Adam on the weights
    lr_latent: float = 1e-1   # Adam on the per-image codes
    final_lr_fraction: float = 0.05  # cosine decay to this fraction of lr
    init_std: float = 0.02    # DCGAN's N(0, 0.02) initialisation of the filters
    betas: tuple[float, float] = (0.5, 0.999)
    size: int = 32

    def validate(self) -> None:
        for name in ("epochs", "batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise invalid(name, "an integer >= 1", v)
        for name in ("lr", "lr_latent", "init_std"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise invalid(name, "a finite number > 0", v)


@dataclass
class TrainResult:
    """The trained (folded) network, the learnt codes and the loss history."""

    network: Network
    latents: np.ndarray
    history: list[float] = field(default_factory=list)   # mean per-pixel MSE per epoch (train mode)
    final_mse: float = float("nan")                      # per-pixel MSE of the folded network
    elapsed_s: float = 0.0
    settings: TrainSettings | None = None


class Params:
    """Trainable tensors: filters, BN gamma/beta (layers 1..3), last affine."""

    def __init__(self, spec: NetworkSpec, rng: np.random.Generator, init_std: float):
        ch = spec.channels
        self.filters = [rng.normal(0.0, init_std, size=(ch[i], ch[i + 1]) + (l.kernel,) * 2)
                        for i, l in enumerate(spec.layers)]
        self.gamma = [np.ones(ch[i + 1]) for i in range(spec.depth)]
        self.beta = [np.zeros(ch[i + 1]) for i in range(spec.depth)]

    def tensors(self) -> list[np.ndarray]:
        return self.filters + self.gamma + self.beta


class Adam:
    def __init__(self, tensors: list[np.ndarray], betas: tuple[float, float], eps: float = 1e-8):
        self.m = [np.zeros_like(t) for t in tensors]
        self.v = [np.zeros_like(t) for t in tensors]
        self.b1, self.b2 = betas
        self.eps = eps
        self.t = 0

    def step(self, tensors: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for p, g, m, v in zip(tensors, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def project(z: np.ndarray) -> np.ndarray:
    """Onto the sphere of radius sqrt(k)."""
    k = z.shape[-1]
    return z * (math.sqrt(k) / np.linalg.norm(z, axis=-1, keepdims=True))


def engine_network(spec: NetworkSpec, params: Params) -> Network:
    """The engine network carrying the current filters (affine applied here, not in it)."""
    plain = NetworkSpec(spec.dims, spec.latent_channels,
                        tuple(LayerSpec(l.channels, l.kernel, l.stride, l.padding, "identity")
                              for l in spec.layers), spec.latent_size)
    return Network(plain, [LayerWeights(f) for f in params.filters])


def forward_pass(spec, params, net, z, stats=None):
    """Train-mode forward (batch statistics) or eval mode with given ``stats``.

    Returns the output (b, H, W, 1) channel-last and a cache for :func:`backward_pass`.
    """
    x = net.to_internal(z, 0)
    cache = []
    last = spec.depth - 1
    for i, layer in enumerate(spec.layers):
        lin = net.conv(i, x)
        g, b = params.gamma[i], params.beta[i]
        if i < last:
            if stats is None:
                mu = lin.mean(axis=(0, 1, 2))
                var = lin.var(axis=(0, 1, 2))
            else:
                mu, var = stats[i]
            inv = 1.0 / np.sqrt(var + BN_EPS)
            xhat = (lin - mu) * inv
            pre = g * xhat + b
            out = np.where(pre > 0, pre, SLOPE * pre)
        else:
            inv, xhat = None, lin
            pre = g * lin + b
            out = np.tanh(pre)
        cache.append((x, xhat, inv, pre, out))
        x = out
    return x, cache


def backward_pass(spec, params, net, cache, g_out):
    """Gradients of the loss w.r.t. every parameter and the codes (train mode)."""
    last = spec.depth - 1
    gF, gG, gB = [None] * spec.depth, [None] * spec.depth, [None] * spec.depth
    g = g_out
    for i in range(last, -1, -1):
        x, xhat, inv, pre, out = cache[i]
        if i == last:
            g = g * (1.0 - out * out)
        else:
            g = g * np.where(pre > 0, 1.0, SLOPE)
        axes = (0, 1, 2)
        gG[i] = (g * xhat).sum(axis=axes)
        gB[i] = g.sum(axis=axes)
        gx = g * params.gamma[i]
        if i < last:  # batch-norm backward through the batch statistics
            gx = inv * (gx - gx.mean(axis=axes) - xhat * (gx * xhat).mean(axis=axes))
        gcols, g_in = net.conv_transpose(i, gx)
        c_in, c_out, l = x.shape[-1], spec.layers[i].channels, spec.layers[i].kernel
        grad = x.reshape(-1, c_in).T @ gcols.reshape(-1, gcols.shape[-1])
        gF[i] = np.moveaxis(grad.reshape(c_in, l, l, c_out), -1, 1)
        g = g_in
    return gF + gG + gB, net.to_flat(g)


def population_stats(spec, params, net, latents, batch=256):
    """Batch-norm population mean and variance per layer over the whole training set
    (layer by layer: layer i's statistics normalise before layer i+1 is measured)."""
    stats = []
    for i in range(spec.depth - 1):
        s1 = s2 = 0.0
        count = 0
        for start in range(0, len(latents), batch):
            _, cache = forward_upto(spec, params, net, latents[start:start + batch], stats, i)
            s1 = s1 + cache.sum(axis=(0, 1, 2))
            s2 = s2 + (cache * cache).sum(axis=(0, 1, 2))
            count += cache.shape[0] * cache.shape[1] * cache.shape[2]
        mu = s1 / count
        stats.append((mu, s2 / count - mu * mu))
    return stats


def forward_upto(spec, params, net, z, stats, upto):
    """Eval-mode forward up to layer ``upto``'s convolution (its output before BN)."""
    x = net.to_internal(z, 0)
    for i in range(upto + 1):
        lin = net.conv(i, x)
        if i == upto:
            return x, lin
        mu, var = stats[i]
        pre = params.gamma[i] * (lin - mu) / np.sqrt(var + BN_EPS) + params.beta[i]
        x = np.where(pre > 0, pre, SLOPE * pre)
    raise AssertionError("unreachable")


def fold(spec: NetworkSpec, params: Params, stats) -> Network:
    """Fold batch-norm (population statistics) into the per-channel affine."""
    layers = []
    for i in range(spec.depth):
        if i < spec.depth - 1:
            mu, var = stats[i]
            scale = params.gamma[i] / np.sqrt(var + BN_EPS)
            bias = params.beta[i] - scale * mu
        else:
            scale, bias = params.gamma[i].copy(), params.beta[i].copy()
        layers.append(LayerWeights(params.filters[i].copy(), scale, bias))
    return Network(spec, layers)


def single_thread():
    """BLAS threads per the toolkit's one policy (:func:`verify.threads.blas_threads`;
    default one thread)."""
    from ..threads import blas_threads

    return blas_threads()


def train_glo(images: np.ndarray, *, seed: int = 0, settings: TrainSettings | None = None,
              progress: bool = True, max_steps: int | None = None) -> TrainResult:
    """Train the digits generator by generative latent optimisation (module docstring).

    Parameters
    ----------
    images : ndarray, shape (N, 32, 32), values in [-1, 1]
    seed : int
        Drives the initialisation, the initial codes and the shuffling.
    settings : TrainSettings
    progress : bool
        A tqdm progress bar on stderr.
    max_steps : int, optional
        Stop after this many Adam steps (tests train a short prefix).
    """
    settings = settings or TrainSettings()
    settings.validate()
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1:] != (32, 32):
        raise invalid("images", "an array of shape (N, 32, 32)", images.shape)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise invalid("seed", "an integer >= 0", seed)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    spec = generator_spec()
    n = images.shape[0]
    targets = images.reshape(n, 32, 32, 1)
    params = Params(spec, rng, settings.init_std)
    latents = project(rng.normal(size=(n, spec.latent_dim)))
    opt = Adam(params.tensors(), settings.betas)
    # per-code Adam moments and step counts (a code is updated only in its batches)
    zm, zv, zt = np.zeros_like(latents), np.zeros_like(latents), np.zeros(n)
    b1, b2 = settings.betas
    steps_per_epoch = math.ceil(n / settings.batch)
    total = settings.epochs * steps_per_epoch
    if max_steps is not None:
        total = min(total, int(max_steps))
    history: list[float] = []
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, file=sys.stderr, desc="train-digits", unit="step",
                   dynamic_ncols=True)
    step = 0
    with single_thread():
        for _epoch in range(settings.epochs):
            if step >= total:
                break
            order = rng.permutation(n)
            epoch_loss, epoch_count = 0.0, 0
            for s in range(steps_per_epoch):
                if step >= total:
                    break
                idx = order[s * settings.batch:(s + 1) * settings.batch]
                frac = step / max(1, total - 1)
                decay = settings.final_lr_fraction + (1 - settings.final_lr_fraction) * \
                    0.5 * (1 + math.cos(math.pi * frac))
                net = engine_network(spec, params)
                out, cache = forward_pass(spec, params, net, latents[idx])
                diff = out - targets[idx]
                b = len(idx)
                mse = float(np.mean(diff * diff))
                grads, gz = backward_pass(spec, params, net, cache, diff / b)
                opt.step(params.tensors(), grads, settings.lr * decay)
                # Adam on the codes of this batch, then projection to the sphere
                zt[idx] += 1
                zm[idx] = b1 * zm[idx] + (1 - b1) * gz
                zv[idx] = b2 * zv[idx] + (1 - b2) * gz * gz
                c1 = (1 - b1 ** zt[idx])[:, None]
                c2 = (1 - b2 ** zt[idx])[:, None]
                latents[idx] = project(latents[idx] - settings.lr_latent * decay
                                        * (zm[idx] / c1) / (np.sqrt(zv[idx] / c2) + 1e-8))
                epoch_loss += mse * b
                epoch_count += b
                step += 1
                if bar is not None:
                    bar.update(1)
                    if step % 10 == 0:
                        bar.set_postfix(mse=f"{mse:.4f}")
            history.append(epoch_loss / max(1, epoch_count))
        net = engine_network(spec, params)
        stats = population_stats(spec, params, net, latents)
        folded = fold(spec, params, stats)
        recon = folded.forward(latents)
    if bar is not None:
        bar.close()
    final = float(np.mean((recon - images.reshape(n, -1)) ** 2))
    return TrainResult(folded, latents, history, final, time.perf_counter() - start, settings)


def reconstruction_mse(network: Network, latents: np.ndarray, images: np.ndarray) -> float:
    """Per-pixel mean squared error of ``G(z_j)`` against ``x_j``."""
    out = network.forward(latents)
    return float(np.mean((out - images.reshape(len(images), -1)) ** 2))


