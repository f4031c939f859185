"""``verify train-digits``: retrain the shipped digits generator from scratch."""

from __future__ import annotations

from pathlib import Path

from ._common import add_max_memory, add_seed, check_out_file

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
    add_max_memory(p)
    add_seed(p)


def run(args) -> int:
    from .. import budget
    from ..datasets import load_digits_images
    from ..errors import VerifyError
    from ..training import TrainSettings, generator_spec, train_glo
    from ..weights import save_network

    out = check_out_file(args.out, "--out", (".npz",))
    # The generator's passes over a batch, plus the population statistics' batch of 256.
    batch = max(TrainSettings().batch, 256)
    budget.require_network(generator_spec(), batch, "train-digits (the digits generator)")
    images, _ = load_digits_images(32)
    result = train_glo(images, seed=args.seed, progress=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_network(result.network, out)
    except OSError as exc:
        raise VerifyError(f"--out {str(out)!r}: cannot be written ({exc.strerror})") from None
    print(f"trained digits generator (seed {args.seed}): {len(images)} images, "
          f"{result.settings.epochs} epochs, final reconstruction MSE {result.final_mse:.5f} "
          f"per pixel (last epoch, train mode {result.history[-1]:.5f}), "
          f"{result.elapsed_s:.1f} s; saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0
