"""``verify audit WEIGHTS``: the theorems' assumptions, measured on a weight file.

The safetensors naming convention is documented in :mod:`verify.audit`.
"""

from __future__ import annotations

from ..errors import VerifyError
from ._common import add_json, add_max_memory, add_user_network, print_json, user_network

DESCRIPTION = (
    "Load a weight file (.npz from verify, or .safetensors holding a PyTorch nn.Sequential "
    "state dict of ConvTranspose2d/BatchNorm2d layers; see `python -c 'import verify.audit; "
    "help(verify.audit)'`) and list which assumptions of Theorems 1 and 4 hold, each with "
    "its measured value. Pickles (.pt/.pth) are refused, never unpickled.")


def configure(p) -> None:
    p.add_argument("weights", metavar="WEIGHTS", nargs="?", default=None,
                   help="a .npz or .safetensors weight file (or --torch instead)")
    p.add_argument("--arch", metavar="FILE.toml",
                   help="the architecture ([network] table); needed for a plain state dict")
    add_user_network(p, config=False, weights=False)  # --torch FILE.py:OBJECT
    p.add_argument("--rate", type=float, default=0.5,
                   help="sampling rate r for the smallest-block assumption (default 0.5)")
    add_max_memory(p)
    add_json(p)


def run(args) -> int:
    from ..audit import audit, format_table
    from ..weightfiles import load_any
    from ..measurements import check_rate

    check_rate(args.rate, "--rate")
    if args.torch is not None:  # a PyTorch module, converted and checked on the spot
        if args.weights is not None or args.arch is not None:
            raise VerifyError("--torch: expected either WEIGHTS [--arch] or --torch, got both")
        network, source = user_network(args).config.loader(), args.torch
    elif args.weights is None:
        raise VerifyError("WEIGHTS: expected a .npz or .safetensors file, or --torch "
                          "FILE.py:OBJECT")
    else:
        if args.latent_shape is not None or args.condition is not None:
            raise VerifyError("--latent-shape/--condition: options of --torch")
        network, source = load_any(args.weights, args.arch), args.weights
    rows = audit(network, rate=args.rate)
    if args.json:
        print_json([r.to_dict() for r in rows])
    else:
        print(f"{source}: {network.spec.describe()}")
        print(format_table(rows))
        n_hold = sum(r.holds is True for r in rows)
        print(f"{n_hold} of {len(rows)} assumptions hold")
    return 0
