"""Export a PyTorch generator to safetensors and audit it with ``verify audit``.

Run: ``python verify/examples/export_pytorch.py OUT.safetensors`` (needs PyTorch:
``pip install torch``), then::

    verify audit OUT.safetensors --arch verify/examples/audit_arch.toml

The generator is an ``nn.Sequential`` of ``ConvTranspose2d`` / ``BatchNorm2d`` /
activation modules, the layout ``verify audit`` reads (``verify/weightfiles.py`` docstring):
its ``state_dict()`` is saved as it is, and the audit folds batch norm into each layer.
The batch-norm statistics are set by a few forward passes in training mode, as a
trained generator would have them, then the model is put in evaluation mode.
"""

from __future__ import annotations

import sys

import torch
from safetensors.torch import save_file
from torch import nn


def generator(latent: int = 8) -> nn.Sequential:
    """Latent ``latent`` (1x1) -> 32 ch 4x4 -> 16 ch 8x8 -> 1 ch 16x16 (audit_arch.toml)."""
    return nn.Sequential(
        nn.ConvTranspose2d(latent, 32, 4, 1, 0, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 4, 2, 1),
        nn.Tanh(),
    )


def main(out: str, seed: int = 0) -> None:
    torch.manual_seed(seed)
    model = generator()
    model.train()
    with torch.no_grad():
        for _ in range(4):  # running batch-norm statistics, as training leaves them
            model(torch.randn(64, 8, 1, 1))
    model.eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "generator.safetensors")
