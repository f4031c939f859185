"""``verify train-digits``: retrain the shipped digits generator from scratch."""

from __future__ import annotations

from pathlib import Path

from ._common import add_seed

NAME = "train-digits"
HELP = "retrains the shipped digits generator from scratch"
DESCRIPTION = (
    "Retrain the digits-dcgan generator on scikit-learn's handwritten digits (resized to "
    "32x32) by generative latent optimisation with the toolkit's own engine, fold its "
    "batch-norm and save it (.npz, atomically). `--seed 0` reproduces the shipped file "
    "(same NumPy/OpenBLAS build). About 100 s of CPU on one core (BLAS limited to one "
    "thread for determinism); longer on a shared machine.")


def configure(p) -> None:
    from ..trained import WEIGHTS_PATH

    p.add_argument("--out", metavar="FILE", default=str(WEIGHTS_PATH),
                   help=f"where to write the weights (default: the shipped file {WEIGHTS_PATH})")
    add_seed(p)


def run(args) -> int:
    from ..datasets import load_digits_images
    from ..errors import invalid
    from ..training import train_glo
    from ..weights import save_network

    out = Path(args.out)
    if out.suffix != ".npz":
        raise invalid("--out", "a file name ending in .npz", str(out))
    if not out.parent.exists():
        raise invalid("--out", "a file in an existing directory", str(out))
    images, _ = load_digits_images(32)
    result = train_glo(images, seed=args.seed, progress=True)
    save_network(result.network, out)
    print(f"trained digits generator (seed {args.seed}): {len(images)} images, "
          f"{result.settings.epochs} epochs, final reconstruction MSE {result.final_mse:.5f} "
          f"per pixel (last epoch, train mode {result.history[-1]:.5f}), "
          f"{result.elapsed_s:.1f} s; saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0
