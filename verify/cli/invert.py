"""``verify invert``: recover latent codes from partial measurements (lemmas/README.md, section 9).

One network is drawn from the preset and ``--seed``; every trial has its own ground
truth z* ~ N(0, I), its own mask (for ``random``) and its own start; all trials run as
one batched inversion (:func:`verify.inversion.invert`). A trial that does not converge
is counted as not recovered.
"""

from __future__ import annotations

import math
import sys
import time

from dataclasses import replace

from .. import __version__, budget, work
from ..errors import VerifyError, invalid
from ..inversion import SUCCESS_TOL, SUCCESS_TOL32_MIN, InvertOptions, run_recovery
from ..inversion.memory import chunk_size, trial_bytes
from ..measurements import RATE_KINDS
from ..presets import Config, get_preset
from ._common import add_json, add_max_memory, add_max_time, add_seed, add_threads, \
    add_user_network, apply_threads, print_json, user_network


#: Runs longer than this many trial-iterations show a progress bar even off a TTY.
_LONG = 2_000_000


def _text(value: str) -> str:
    return value


def configure(p) -> None:
    p.add_argument("--preset", metavar="P", default=None,
                   help="a preset name (default paper-fig4)")
    p.add_argument("--config", metavar="FILE.toml", default=None,
                   help="a configuration file (as for verify check --config) instead of a preset")
    p.add_argument("--weights", metavar="FILE", default=None,
                   help="fixed weights (.npz from verify, or .safetensors; with --config its "
                        "[network] table is the architecture) instead of drawing them")
    p.add_argument("--mask", metavar="KIND", default=None,
                   help="sampling pattern: " + ", ".join(RATE_KINDS)
                   + " (default: the preset's)")
    p.add_argument("--rate", metavar="R", type=_text, default=None,
                   help="sampling rate in (0, 1] (default: the preset's)")
    p.add_argument("--trials", metavar="N", type=_text, default="100",
                   help="number of independent trials (default 100)")
    p.add_argument("--noise", metavar="S", type=_text, default="0",
                   help="std of additive Gaussian noise on the observed entries (default 0)")
    p.add_argument("--method", choices=("adam", "gd", "lp"), default="adam",
                   help="solver: adam or gd on J, or lp (Lei et al. 2019: layer-wise linear "
                        "programs, ReLU networks only) (default adam)")
    p.add_argument("--iterations", metavar="N", type=_text, default="1000",
                   help="iteration cap per pass (default 1000)")
    p.add_argument("--lr", metavar="LR", type=_text, default=None,
                   help="step size (default 0.01 for Adam; estimated for GD)")
    p.add_argument("--negation", choices=("restart", "flip", "none"), default="restart",
                   help="negation safeguard: restart from -z_hat and keep the better (the "
                        "paper's script, default), flip when J(-z) < J(z) (Huang et al.), none")
    p.add_argument("--success-tol", metavar="T", type=_text, default=str(SUCCESS_TOL),
                   help=f"success iff ||z_hat - z*|| / ||z*|| <= T (default {SUCCESS_TOL}; "
                        f"with float32 at least {SUCCESS_TOL32_MIN:g})")
    p.add_argument("--dtype", metavar="TYPE", type=_text, default="float64",
                   help="what the descent computes in: float64 (default) or float32 (half "
                        "the memory, faster on large networks; answers to ~1e-5 relative)")
    add_user_network(p, config=False, weights=False)  # --torch FILE.py:OBJECT
    add_max_memory(p)
    add_max_time(p)
    add_threads(p)
    add_seed(p, streams=True)
    add_json(p)


def _number(name: str, text, *, integer=False, allowed: str):
    try:
        value = int(text) if integer else float(text)
    except (TypeError, ValueError):
        raise invalid(name, allowed, text) from None
    if not integer and not math.isfinite(value):
        raise invalid(name, allowed, text)
    return value


def _config(args) -> Config:
    """The preset, or the --config file, with the --weights file's fixed weights.

    With --config the file's [network] table is the architecture the weights are read
    against (a tensor of another shape is refused); with --preset the weights must be
    that preset's architecture; with --weights alone the file's own architecture is
    inverted (named after the file; paper-fig4's mask and rate unless --mask / --rate)."""
    if args.preset is not None and args.config is not None:
        raise VerifyError(f"--config: expected either --preset or --config, got both "
                          f"(--preset {args.preset!r})")
    if args.torch is not None:  # a PyTorch module: paper-fig4's mask unless --mask/--rate
        if args.preset is not None or args.config is not None or args.weights is not None:
            raise VerifyError("--torch: expected one of --preset, --config, --weights, "
                              "--torch")
        user = user_network(args, preset_flag=False)
        return replace(get_preset("paper-fig4"), name=user.config.name, spec=user.config.spec,
                       loader=user.config.loader, description=user.config.description)
    if args.latent_shape is not None or args.condition is not None:
        raise VerifyError("--latent-shape/--condition: options of --torch")
    config = Config.load(args.config) if args.config is not None \
        else get_preset(args.preset or "paper-fig4")
    if args.weights is not None:
        from pathlib import Path

        from ..weightfiles import load_any

        network = load_any(args.weights, args.config)
        if args.preset is not None and network.spec != config.spec:
            raise VerifyError(f"--weights: the file {args.weights!r} holds the network "
                              f"{network.spec.describe()}; preset {args.preset!r} is "
                              f"{config.spec.describe()} (give the file's architecture "
                              f"with --config FILE.toml, or no preset)")
        name = config.name if (args.preset or args.config) else Path(args.weights).stem
        config = replace(config, name=name, spec=network.spec, loader=lambda: network,
                         description=f"fixed weights from {args.weights}")
    return config


def require_memory(spec, trials: int, dtype: str = "float64") -> int:
    """Refuse (exit 2) before anything is allocated: the network itself (naming its
    field), then a budget below one trial's need (naming ``--max-memory``) or trials
    whose masks alone fill it (naming ``--trials``). Returns the trials per chunk
    (:func:`verify.inversion.memory.chunk_size`)."""
    budget.require_network(spec)
    return chunk_size(spec, trials, dtype)


def _options(args) -> InvertOptions:
    """The flags as one validated :class:`InvertOptions` (errors name the flag)."""
    def num(name, text, allowed, integer=False):
        return None if text is None else _number(name, text, integer=integer, allowed=allowed)
    return InvertOptions(kind=args.mask,
                         rate=num("--rate", args.rate, "a sampling rate in (0, 1]"),
                         trials=num("--trials", args.trials, "an integer >= 1", True),
                         noise=num("--noise", args.noise, "a finite number >= 0"),
                         method=args.method,
                         iterations=num("--iterations", args.iterations, "an integer >= 1", True),
                         lr=num("--lr", args.lr, "a finite number > 0"), negation=args.negation,
                         success_tol=num("--success-tol", args.success_tol, "a finite number > 0"),
                         dtype=args.dtype, where="--")


def run(args) -> int:
    threads = apply_threads(args)
    config = _config(args)
    options = _options(args)
    pattern = options.pattern(config)
    kind, rate, trials, iterations = pattern.kind, pattern.rate, options.trials, options.iterations
    chunk = require_memory(config.spec, trials, options.dtype) if options.method != "lp" \
        else None
    work.require_invert(config.spec, options)  # trials x iterations over --max-time
    passes = 2 if options.negation == "restart" else 1

    bar = None
    if args.method != "lp" and (sys.stderr.isatty() or trials * iterations * passes >= _LONG):
        from tqdm import tqdm

        bar = tqdm(total=iterations * passes, desc=f"invert {trials} trials", unit="it",
                   file=sys.stderr, leave=False)

    def progress(pass_index, it, running):
        bar.n = pass_index * iterations + it
        bar.set_postfix(running=running, refresh=False)
        bar.refresh()

    start = time.perf_counter()
    try:
        result = run_recovery(config, options, args.seed, chunk=chunk,
                              callback=progress if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    stats = result.stats
    noise, tol = options.noise, options.success_tol
    negation = None if options.negation == "none" else options.negation
    out = stats.to_dict()
    out.update({"elapsed_s": round(elapsed, 4), "seed": result.to_json()["seed"],
                "streams": result.streams.record(), "version": __version__,
                "config": {"preset": config.name, **config.to_dict(),
                           **({"weights_file": args.weights} if args.weights else {}),
                           **({"torch": args.torch} if args.torch else {}),
                           "invert": {"mask": kind, "rate": rate, "trials": trials,
                                      "noise": noise, "method": args.method,
                                      "lr": stats.result.settings["lr"],
                                      "iterations_cap": iterations,
                                      "tol": stats.result.settings["tol"],
                                      "negation": negation, "success_tol": tol,
                                      "dtype": options.dtype,
                                      "chunk": chunk or trials,
                                      "blas_threads": threads,
                                      "bytes_per_trial": trial_bytes(config.spec, options.dtype),
                                      "z_star": "N(0, I) per trial",
                                      "init": "N(0, I) per trial",
                                      "network": "one draw from --seed"}}})
    if args.json:
        print_json(out)
    else:
        print(f"invert [{config.name}] mask {kind} rate {rate:g} noise {noise:g}: recovered "
              f"{stats.recovered}/{stats.trials} = {stats.success_rate:.3f} "
              f"(95% Wilson [{stats.ci_low:.3f}, {stats.ci_high:.3f}]), median rel. error "
              f"{stats.median_rel_error:.3g}, median iterations {out['iterations']:g}, "
              f"{elapsed:.2f} s, seed {args.seed}")
        print(f"  {options.dtype}: success iff ||z_hat - z*|| / ||z*|| <= {tol:g}"
              + (" (float32 answers carry ~1e-5 relative rounding)"
                 if options.dtype == "float32" else "")
              + (f"; {trials:,} trials in chunks of {chunk:,} (--max-memory)"
                 if chunk is not None and chunk < trials else ""))
    return 0
