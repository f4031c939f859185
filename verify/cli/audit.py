"""``verify audit WEIGHTS``: the theorems' assumptions, measured on a weight file.

The safetensors naming convention is documented in :mod:`verify.audit`.
"""

from __future__ import annotations

from ._common import add_json, add_max_memory, print_json

DESCRIPTION = (
    "Load a weight file (.npz from verify, or .safetensors holding a PyTorch nn.Sequential "
    "state dict of ConvTranspose2d/BatchNorm2d layers; see `python -c 'import verify.audit; "
    "help(verify.audit)'`) and list which assumptions of Theorems 1 and 4 hold, each with "
    "its measured value. Pickles (.pt/.pth) are refused, never unpickled.")


def configure(p) -> None:
    p.add_argument("weights", metavar="WEIGHTS", help="a .npz or .safetensors weight file")
    p.add_argument("--arch", metavar="FILE.toml",
                   help="the architecture ([network] table); needed for a plain state dict")
    p.add_argument("--rate", type=float, default=0.5,
                   help="sampling rate r for the smallest-block assumption (default 0.5)")
    add_max_memory(p)
    add_json(p)


def run(args) -> int:
    from ..audit import audit, format_table
    from ..weightfiles import load_any
    from ..measurements import check_rate

    check_rate(args.rate, "--rate")
    network = load_any(args.weights, args.arch)
    rows = audit(network, rate=args.rate)
    if args.json:
        print_json([r.to_dict() for r in rows])
    else:
        print(f"{args.weights}: {network.spec.describe()}")
        print(format_table(rows))
        n_hold = sum(r.holds is True for r in rows)
        print(f"{n_hold} of {len(rows)} assumptions hold")
    return 0
