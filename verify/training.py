"""Training the shipped digits generators (paper Sec. 4.3): GLO and the conditional GAN.

The paper trains its 4-layer MNIST generator as a conditional DCGAN and never released
that code. Two methods are here. :func:`train_gan` (``verify train-digits --method
gan``) follows the paper: a conditional DCGAN trained adversarially in PyTorch (the
``[train]`` extra, imported only inside those functions; see the section "the GAN"
below). :func:`train_glo` (the default, ``--method glo``) trains the same generator
shape with the toolkit's own engine and no second network, by *generative latent
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

from .errors import VerifyError, invalid
from .network import LayerWeights, Network
from .spec import LayerSpec, NetworkSpec

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


class _Params:
    """Trainable tensors: filters, BN gamma/beta (layers 1..3), last affine."""

    def __init__(self, spec: NetworkSpec, rng: np.random.Generator, init_std: float):
        ch = spec.channels
        self.filters = [rng.normal(0.0, init_std, size=(ch[i], ch[i + 1]) + (l.kernel,) * 2)
                        for i, l in enumerate(spec.layers)]
        self.gamma = [np.ones(ch[i + 1]) for i in range(spec.depth)]
        self.beta = [np.zeros(ch[i + 1]) for i in range(spec.depth)]

    def tensors(self) -> list[np.ndarray]:
        return self.filters + self.gamma + self.beta


class _Adam:
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


def _project(z: np.ndarray) -> np.ndarray:
    """Onto the sphere of radius sqrt(k)."""
    k = z.shape[-1]
    return z * (math.sqrt(k) / np.linalg.norm(z, axis=-1, keepdims=True))


def _engine(spec: NetworkSpec, params: _Params) -> Network:
    """The engine network carrying the current filters (affine applied here, not in it)."""
    plain = NetworkSpec(spec.dims, spec.latent_channels,
                        tuple(LayerSpec(l.channels, l.kernel, l.stride, l.padding, "identity")
                              for l in spec.layers), spec.latent_size)
    return Network(plain, [LayerWeights(f) for f in params.filters])


def _forward(spec, params, net, z, stats=None):
    """Train-mode forward (batch statistics) or eval mode with given ``stats``.

    Returns the output (b, H, W, 1) channel-last and a cache for :func:`_backward`.
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


def _backward(spec, params, net, cache, g_out):
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


def _population_stats(spec, params, net, latents, batch=256):
    """Batch-norm population mean and variance per layer over the whole training set
    (layer by layer: layer i's statistics normalise before layer i+1 is measured)."""
    stats = []
    for i in range(spec.depth - 1):
        s1 = s2 = 0.0
        count = 0
        for start in range(0, len(latents), batch):
            _, cache = _forward_upto(spec, params, net, latents[start:start + batch], stats, i)
            s1 = s1 + cache.sum(axis=(0, 1, 2))
            s2 = s2 + (cache * cache).sum(axis=(0, 1, 2))
            count += cache.shape[0] * cache.shape[1] * cache.shape[2]
        mu = s1 / count
        stats.append((mu, s2 / count - mu * mu))
    return stats


def _forward_upto(spec, params, net, z, stats, upto):
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


def fold(spec: NetworkSpec, params: _Params, stats) -> Network:
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


def _single_thread():
    """BLAS threads per the toolkit's one policy (:func:`verify.threads.blas_threads`;
    default one thread)."""
    from .threads import blas_threads

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
    params = _Params(spec, rng, settings.init_std)
    latents = _project(rng.normal(size=(n, spec.latent_dim)))
    opt = _Adam(params.tensors(), settings.betas)
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
    with _single_thread():
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
                net = _engine(spec, params)
                out, cache = _forward(spec, params, net, latents[idx])
                diff = out - targets[idx]
                b = len(idx)
                mse = float(np.mean(diff * diff))
                grads, gz = _backward(spec, params, net, cache, diff / b)
                opt.step(params.tensors(), grads, settings.lr * decay)
                # Adam on the codes of this batch, then projection to the sphere
                zt[idx] += 1
                zm[idx] = b1 * zm[idx] + (1 - b1) * gz
                zv[idx] = b2 * zv[idx] + (1 - b2) * gz * gz
                c1 = (1 - b1 ** zt[idx])[:, None]
                c2 = (1 - b2 ** zt[idx])[:, None]
                latents[idx] = _project(latents[idx] - settings.lr_latent * decay
                                        * (zm[idx] / c1) / (np.sqrt(zv[idx] / c2) + 1e-8))
                epoch_loss += mse * b
                epoch_count += b
                step += 1
                if bar is not None:
                    bar.update(1)
                    if step % 10 == 0:
                        bar.set_postfix(mse=f"{mse:.4f}")
            history.append(epoch_loss / max(1, epoch_count))
        net = _engine(spec, params)
        stats = _population_stats(spec, params, net, latents)
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


# ======================================================================== the GAN
# The paper's recipe (Sec. 4.3): a conditional DCGAN. PyTorch is imported only inside
# these functions (the ``[train]`` extra); nothing else in verify imports it.
#: The conditional generator's class count (digits 0-9, a one-hot input).
N_CLASSES = 10
#: The install command printed when PyTorch is missing.
TORCH_HINT = 'pip install -e ".[train]"'


def gan_spec(latent_dim: int = LATENT_DIM, channels: tuple[int, int, int] = CHANNELS,
             n_classes: int = N_CLASSES) -> NetworkSpec:
    """The conditional generator as the exported file describes it: ``latent_dim`` code
    channels followed by ``n_classes`` one-hot channels, then :func:`generator_spec`'s
    layers (no affine on the last: DCGAN's last transposed convolution has no bias)."""
    return generator_spec(latent_dim + n_classes, channels, affine_last=False)


@dataclass
class GanSettings:
    """Hyper-parameters of :func:`train_gan` (DCGAN's recipe; stored in the file)."""

    epochs: int = 60
    batch: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    init_std: float = 0.02
    d_channels: tuple[int, int, int] = (16, 32, 64)

    def validate(self) -> None:
        for name in ("epochs", "batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise invalid(name, "an integer >= 1", v)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise invalid("lr", "a finite number > 0", self.lr)


@dataclass
class GanResult:
    """The trained torch generator (eval mode), its loss history and timing."""

    generator: object                     # torch.nn.Sequential
    history: list[dict] = field(default_factory=list)   # per epoch: loss_d, loss_g, d_real, d_fake
    elapsed_s: float = 0.0
    steps: int = 0
    settings: GanSettings | None = None


def require_torch():
    """``torch``, or a VerifyError with the install command."""
    try:
        import torch
    except ImportError:
        raise VerifyError("training with --method gan needs PyTorch, which is not installed: "
                          f"{TORCH_HINT}") from None
    return torch


def build_gan(settings: GanSettings | None = None, spec: NetworkSpec | None = None):
    """``(generator, discriminator)`` as ``nn.Sequential``: the generator is exactly
    :func:`gan_spec` (module i of layer j: 3j ConvTranspose2d, 3j+1 BatchNorm2d, 3j+2
    LeakyReLU; the last: ConvTranspose2d, Tanh), the input ``cat(z, one_hot)`` as
    ``(b, 20, 1, 1)``. The discriminator (paper: 4 convolutions, the first three with
    batch norm and leaky ReLU, then a sigmoid, here folded into the loss) sees the image
    with the one-hot class as 10 constant channels."""
    torch = require_torch()
    nn = torch.nn
    settings = settings or GanSettings()
    spec = spec or gan_spec()
    ch = spec.channels
    mods = []
    for i, layer in enumerate(spec.layers):
        mods.append(nn.ConvTranspose2d(ch[i], ch[i + 1], layer.kernel, layer.stride,
                                       layer.padding, bias=False))
        if i < spec.depth - 1:
            mods += [nn.BatchNorm2d(ch[i + 1], eps=BN_EPS), nn.LeakyReLU(SLOPE)]
        else:
            mods.append(nn.Tanh())
    gen = nn.Sequential(*mods)
    d1, d2, d3 = settings.d_channels
    disc = nn.Sequential(
        nn.Conv2d(1 + N_CLASSES, d1, 4, 2, 1, bias=False), nn.BatchNorm2d(d1),
        nn.LeakyReLU(SLOPE),                                          # 16x16
        nn.Conv2d(d1, d2, 4, 2, 1, bias=False), nn.BatchNorm2d(d2), nn.LeakyReLU(SLOPE),  # 8x8
        nn.Conv2d(d2, d3, 4, 2, 1, bias=False), nn.BatchNorm2d(d3), nn.LeakyReLU(SLOPE),  # 4x4
        nn.Conv2d(d3, 1, 4, 1, 0, bias=False), nn.Flatten())          # logit (sigmoid in loss)
    for net in (gen, disc):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, settings.init_std)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, settings.init_std)
                nn.init.zeros_(m.bias)
    return gen, disc


def gan_input(torch, z, labels):
    """``cat(z, one_hot(labels))`` as ``(b, latent + 10, 1, 1)`` float32."""
    onehot = torch.nn.functional.one_hot(torch.as_tensor(labels, dtype=torch.long),
                                         N_CLASSES).to(torch.float32)
    z = torch.as_tensor(z, dtype=torch.float32)
    return torch.cat([z, onehot], dim=1)[:, :, None, None]


def train_gan(images: np.ndarray, labels: np.ndarray, *, seed: int = 0,
              settings: GanSettings | None = None, progress: bool = True,
              max_steps: int | None = None) -> GanResult:
    """Train the conditional DCGAN (module section "the GAN") adversarially.

    Non-saturating GAN losses (binary cross-entropy on logits), Adam lr 2e-4,
    betas (0.5, 0.999), batch 64, one discriminator and one generator step per batch,
    z ~ N(0, I_10) with the batch's own classes. Determinism: ``torch.manual_seed(seed)``
    drives the initialisation and the codes, a NumPy generator from the seed the
    shuffling; one intra-op thread and deterministic algorithms while training (same
    machine and torch build: same weights).

    Parameters
    ----------
    images : ndarray (N, 32, 32) in [-1, 1]
    labels : ndarray (N,) of ints in 0..9
    """
    torch = require_torch()
    settings = settings or GanSettings()
    settings.validate()
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (32, 32):
        raise invalid("images", "an array of shape (N, 32, 32)", images.shape)
    if labels.shape != (images.shape[0],) or labels.min() < 0 or labels.max() >= N_CLASSES:
        raise invalid("labels", f"N integers in 0..{N_CLASSES - 1}", labels.shape)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise invalid("seed", "an integer >= 0", seed)
    F = torch.nn.functional
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(int(seed))
        gen_t = torch.Generator().manual_seed(int(seed) + 1)
        rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
        gen, disc = build_gan(settings)
        opt_g = torch.optim.Adam(gen.parameters(), lr=settings.lr, betas=settings.betas)
        opt_d = torch.optim.Adam(disc.parameters(), lr=settings.lr, betas=settings.betas)
        x_all = torch.from_numpy(images[:, None])
        y_all = torch.from_numpy(labels.astype(np.int64))
        eye = torch.eye(N_CLASSES)
        n = len(images)
        steps_per_epoch = n // settings.batch if n >= settings.batch else 1
        total = settings.epochs * steps_per_epoch
        if max_steps is not None:
            total = min(total, int(max_steps))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, file=sys.stderr, desc="train-digits (gan)", unit="step",
                       dynamic_ncols=True)
        history: list[dict] = []
        start = time.perf_counter()
        step = 0
        gen.train()
        disc.train()
        for _epoch in range(settings.epochs):
            if step >= total:
                break
            order = rng.permutation(n)
            acc = {"loss_d": 0.0, "loss_g": 0.0, "d_real": 0.0, "d_fake": 0.0}
            count = 0
            for s in range(steps_per_epoch):
                if step >= total:
                    break
                idx = torch.from_numpy(order[s * settings.batch:(s + 1) * settings.batch])
                x, y = x_all[idx], y_all[idx]
                b = x.shape[0]
                cond = eye[y][:, :, None, None].expand(b, N_CLASSES, 32, 32)
                z = torch.randn(b, LATENT_DIM, generator=gen_t)
                fake = gen(torch.cat([z, eye[y]], dim=1)[:, :, None, None])
                ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
                # discriminator step
                opt_d.zero_grad()
                d_real = disc(torch.cat([x, cond], dim=1))
                d_fake = disc(torch.cat([fake.detach(), cond], dim=1))
                loss_d = F.binary_cross_entropy_with_logits(d_real, ones) + \
                    F.binary_cross_entropy_with_logits(d_fake, zeros)
                loss_d.backward()
                opt_d.step()
                # generator step (non-saturating)
                opt_g.zero_grad()
                loss_g = F.binary_cross_entropy_with_logits(
                    disc(torch.cat([fake, cond], dim=1)), ones)
                loss_g.backward()
                opt_g.step()
                acc["loss_d"] += float(loss_d.detach())
                acc["loss_g"] += float(loss_g.detach())
                acc["d_real"] += float(torch.sigmoid(d_real.detach()).mean())
                acc["d_fake"] += float(torch.sigmoid(d_fake.detach()).mean())
                count += 1
                step += 1
                if bar is not None:
                    bar.update(1)
                    if step % 5 == 0:
                        bar.set_postfix(loss_d=f"{float(loss_d.detach()):.3f}",
                                        loss_g=f"{float(loss_g.detach()):.3f}")
            history.append({k: v / max(1, count) for k, v in acc.items()})
        if bar is not None:
            bar.close()
        gen.eval()
        return GanResult(gen, history, time.perf_counter() - start, step, settings)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


def gan_state_arrays(generator) -> dict[str, np.ndarray]:
    """The generator's ``state_dict()`` as float32/int64 NumPy arrays (what
    ``safetensors.torch.save_file(model.state_dict(), ...)`` writes)."""
    return {k: v.detach().cpu().numpy() for k, v in generator.state_dict().items()}


def save_gan(generator, path, metadata: dict[str, str] | None = None) -> None:
    """Export with ``safetensors.torch.save(generator.state_dict(), metadata)`` (what
    ``save_file`` writes), the header then canonicalised (:func:`canonical_safetensors`),
    the metadata holding the architecture (``verify.spec``), the conditional input
    (``verify.condition``: the last 10 latent channels are a one-hot class) and
    ``bn_eps``, plus whatever the caller adds (training command, seed, data source)."""
    from safetensors.torch import save

    from .fsio import write_bytes

    meta = {"verify.spec": gan_spec().to_toml(),
            "verify.condition": f"onehot:{N_CLASSES}", "bn_eps": repr(BN_EPS)}
    meta.update(metadata or {})
    state = {k: v.detach().contiguous() for k, v in generator.state_dict().items()}
    write_bytes(path, canonical_safetensors(save(state, metadata=meta)))


def canonical_safetensors(data: bytes) -> bytes:
    """The same safetensors file with its JSON header written with sorted keys (padded
    with spaces to 8 bytes, as the format allows): the library writes the metadata in
    hash-map order, which changes between processes, so identical tensors would give
    files with different SHA-256. The tensor bytes are untouched (offsets are relative
    to the end of the header)."""
    import json

    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n:]


def torch_forward(generator, z: np.ndarray, labels) -> np.ndarray:
    """The torch generator's eval-mode output for codes ``z`` (b, 10) and classes, flat
    ``(b, 1024)`` float64 (for comparing with the toolkit's forward)."""
    torch = require_torch()
    generator.eval()
    with torch.no_grad():
        out = generator(gan_input(torch, z, labels))
    return out.reshape(out.shape[0], -1).double().numpy()


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
    with _single_thread():  # BLAS threads oversubscribe a shared machine (13 s vs 0.7 s)
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


__all__ = ["LATENT_DIM", "CHANNELS", "N_CLASSES", "generator_spec", "gan_spec", "TrainSettings",
           "TrainResult", "GanSettings", "GanResult", "train_gan", "save_gan", "build_gan",
           "torch_forward", "generator_quality", "sample_grid_png", "require_torch",
           "gan_state_arrays", "canonical_safetensors", "train_glo", "fold", "reconstruction_mse"]
