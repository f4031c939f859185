"""Resource guards: estimate memory from the spec before allocating, refuse above a budget.

A network whose arrays would need more memory than the machine has must be refused
as bad input (exit 2) within a second, naming the field and the estimate, instead
of allocating until the kernel kills the process. Every command estimates from the
spec alone (layer sizes, batch or trial count, grid size) with the functions here,
then calls :func:`require`.

The budget is process-wide: by default half of the machine's physical memory;
``--max-memory SIZE`` (or the ``VERIFY_MAX_MEMORY`` environment variable, which forked
and Dask workers inherit) changes it. Sizes are written ``4G``, ``512M``, ``1.5GB``,
``800MiB`` or a plain number of bytes.

The estimates are deliberately coarse upper bounds in float64 bytes: weights, plus per
sample every layer's features a few times over (pre-activation, activation, the
derivative kept for the backward pass, one scratch buffer). They decide "would this fit
at all", not how fast it runs.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from typing import Iterator
from .errors import VerifyError

#: Bytes per float64 entry.
FLOAT = 8
#: Per sample, how many copies of each layer's features a forward + backward pass holds.
FEATURE_COPIES = 4
#: Default budget as a share of physical memory.
DEFAULT_SHARE = 0.5

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6,
          "mib": 2**20, "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12,
          "tib": 2**40}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)

_override: int | None = None
#: Depth of :func:`exempt` blocks in force (the project's own registration-time work).
_exempt = 0


def physical_memory() -> int:
    """The machine's physical memory in bytes (a conservative 4 GiB if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4 * 2**30


def parse_size(text: str | int | float, flag: str = "--max-memory") -> int:
    """Parse ``4G``, ``512M``, ``1.5GB``, ``800MiB`` or bytes; VerifyError naming ``flag``."""
    if isinstance(text, bool):
        raise VerifyError(f"{flag}: expected a size such as 4G, 512M or a number of bytes, "
                          f"got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _SIZE.match(str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise VerifyError(f"{flag}: expected a size such as 4G, 512M or a number of "
                              f"bytes, got {text!r}")
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(value) or value < 1:
        raise VerifyError(f"{flag}: expected a positive size, got {text!r}")
    return int(value)


def human(nbytes: float) -> str:
    """``1.2 GB``-style text for a byte count (decimal units); any size, however large."""
    try:
        nbytes = float(nbytes)
    except OverflowError:
        nbytes = math.inf
    if not math.isfinite(nbytes):
        return "more than 1e308 B"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} B"


def set_budget(nbytes: int | str | None) -> None:
    """Set the process-wide budget (``None``: back to the default). Also exported as
    ``VERIFY_MAX_MEMORY`` so that worker processes inherit it."""
    global _override
    if nbytes is None:
        _override = None
        os.environ.pop("VERIFY_MAX_MEMORY", None)
        return
    _override = parse_size(nbytes)
    os.environ["VERIFY_MAX_MEMORY"] = str(_override)


@contextlib.contextmanager
def scoped(nbytes: int | str | None) -> Iterator[None]:
    """Set the budget for a block (``None``: leave it as it is), then restore it, and
    ``VERIFY_MAX_MEMORY`` with it."""
    global _override
    if nbytes is None:
        yield
        return
    saved, saved_env = _override, os.environ.get("VERIFY_MAX_MEMORY")
    set_budget(nbytes)
    try:
        yield
    finally:
        _override = saved
        if saved_env is None:
            os.environ.pop("VERIFY_MAX_MEMORY", None)
        else:
            os.environ["VERIFY_MAX_MEMORY"] = saved_env


@contextlib.contextmanager
def exempt() -> Iterator[None]:
    """Inside the block :func:`require` refuses nothing: for the project's own tiny
    registration-time work (drawing each registered known-bad configuration once when
    the lemma modules are imported), which must not be blamed on a user's
    ``--max-memory`` (the user's own network is checked against it right after)."""
    global _exempt
    _exempt += 1
    try:
        yield
    finally:
        _exempt -= 1


def budget() -> int:
    """The budget in force: ``set_budget``'s, else ``VERIFY_MAX_MEMORY``, else half of RAM."""
    if _override is not None:
        return _override
    env = os.environ.get("VERIFY_MAX_MEMORY")
    if env:
        return parse_size(env, "VERIFY_MAX_MEMORY")
    return int(DEFAULT_SHARE * physical_memory())


def require(nbytes: float, what: str, *, hint: str = "") -> None:
    """Refuse (VerifyError, exit 2) when ``nbytes`` exceeds the budget.

    ``what`` names the input responsible (``"network.layers[3].kernel"``, ``"--trials"``).
    """
    limit = budget()
    if nbytes > limit and not _exempt:
        extra = f"; {hint}" if hint else ""
        amount = human(nbytes)
        amount = amount if amount.startswith("more") else f"about {amount}"
        raise VerifyError(f"{what}: needs {amount} of memory, over the budget "
                          f"of {human(limit)} (--max-memory SIZE to change it){extra}")


# ------------------------------------------------------------------ estimates
def _spec_parts(spec) -> tuple[int, int, list[int]]:
    """(parameter count, per-sample feature count, per-layer parameter counts) from the
    spec's integers alone: Python ints, so no overflow however large the sizes."""
    ch = spec.channels
    per_layer = [ch[i] * ch[i + 1] * l.kernel ** spec.dims for i, l in enumerate(spec.layers)]
    return sum(per_layer), sum(spec.widths), per_layer


def network_bytes(spec, batch: int = 1) -> int:
    """Weights plus ``batch`` samples' features through a forward and backward pass."""
    params, features, _ = _spec_parts(spec)
    return FLOAT * (params + FEATURE_COPIES * batch * features)


def blame(spec) -> str:
    """The spec field most responsible for its size (``network.layers[i].kernel`` when
    one layer's weights dominate, else the widest layer's features)."""
    params, _, per_layer = _spec_parts(spec)
    widths = spec.widths
    i_w = max(range(len(per_layer)), key=per_layer.__getitem__) if per_layer else 0
    i_f = max(range(len(widths)), key=widths.__getitem__)
    if per_layer and per_layer[i_w] >= FEATURE_COPIES * widths[i_f]:
        layer = spec.layers[i_w]
        prev = "network.latent_channels" if i_w == 0 else f"network.layers[{i_w - 1}].channels"
        factors = {f"network.layers[{i_w}].kernel": layer.kernel ** spec.dims,
                   f"network.layers[{i_w}].channels": layer.channels,
                   prev: spec.channels[i_w]}
        return max(factors, key=factors.__getitem__)
    if i_f == 0:
        return "network.latent_channels" if spec.latent_channels >= spec.latent_size \
            else "network.latent_size"
    return f"network.layers[{i_f - 1}] (output {spec.widths[i_f]:,} features)"


def require_network(spec, batch: int = 1, what: str | None = None) -> None:
    """Refuse a spec whose weights and ``batch`` samples' features exceed the budget.
    ``what`` names the input (default: the spec field that dominates)."""
    require(network_bytes(spec, batch), what or blame(spec))


def require_count(count: int, per_item_bytes: float, what: str) -> None:
    """Refuse ``count`` items of ``per_item_bytes`` each above the budget (trials, grid)."""
    try:
        nbytes = float(count) * per_item_bytes
    except OverflowError:  # a count beyond float range (an integer of hundreds of digits)
        nbytes = math.inf
    require(nbytes, what)


__all__ = ["parse_size", "human", "set_budget", "scoped", "exempt", "budget", "require", "network_bytes",
           "require_network", "require_count", "physical_memory", "blame"]
