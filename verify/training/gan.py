"""The conditional DCGAN of the paper's Sec. 4.3, trained in PyTorch (the ``[train]``
extra, imported only inside these functions; nothing else in verify imports it)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import VerifyError, invalid
from ..spec import NetworkSpec
from .glo import BN_EPS, CHANNELS, LATENT_DIM, SLOPE, generator_spec


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

    from ..fsio import write_bytes

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

