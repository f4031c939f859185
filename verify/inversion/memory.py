"""How much memory a recovery needs per trial, and how many trials run at once.

:func:`trial_bytes` estimates, from the spec alone, the bytes one trial holds while it
is inverted: the batch-last loss's buffers (:class:`~verify.inversion.losses.BatchLastLoss`,
counted buffer by buffer as that class allocates them), the measurements, mask weights
and their working copies. The engine's forward pass that measures them (float64) runs
on at most :data:`~verify.inversion.recovery.MEASURE_BLOCK` trials at a time, so it is
a fixed cost (:func:`measure_bytes`), not a per-trial one.
:func:`chunk_size` divides the memory budget (``--max-memory``, :mod:`verify.budget`)
by it, after the fixed costs and what every trial keeps for the whole run (its mask,
its z* and its answer): :func:`~verify.inversion.recover` then measures and inverts
that many trials at a time, with the same answers as in one block. A budget below one
trial's need is refused (exit 2) naming ``--max-memory``.
"""

from __future__ import annotations


from .. import budget
from . import phases
from .losses import check_dtype

#: Copies of the measurements (and of the mask weights) a trial holds in the loop, in
#: the descent's dtype: the batch-last y and w (PAD-wide, used by the descent as they
#: are) and the copies a compaction makes; plus the float64 measurement itself.
MEASUREMENT_COPIES = 4
#: The engine's forward pass that measures: float64 features of a few copies per trial
#: of a block of MEASURE_BLOCK trials (a fixed cost).
ENGINE_COPIES = 3
#: Per trial for the whole run: the boolean mask and a few float64 latent vectors (z*,
#: z_hat, relative error and counters).
KEEP_LATENTS = 6


def workspace_elements(spec) -> tuple[int, int]:
    """(floating-point elements, boolean elements) of the batch-last loss's buffers per
    trial (:class:`~verify.inversion.losses.BatchLastLoss`; shared scratch buffers
    counted once, at their largest)."""
    shared: dict[str, int] = {}
    own = 0

    def scratch(key, n):
        shared[key] = max(shared.get(key, 0), n)

    dims, mask = spec.dims, 0
    for i, layer in enumerate(spec.layers):
        l, s, p = layer.kernel, layer.stride, layer.padding
        cin, cout = spec.channels[i], spec.channels[i + 1]
        din, dout = spec.sizes[i], spec.sizes[i + 1]
        out = cout * dout ** dims
        latent = din == 1 and p == 0
        pl = phases.plan(layer, din, dout, cout, dims)
        if latent:
            own += cout * l ** dims
        elif pl is not None:    # stacked shifts and phases (in "full", "cols"), the output
            scratch("full", pl.shifts ** dims * cin * pl.n ** dims)
            scratch("cols", pl.stride ** dims * cout * pl.n ** dims)
            own += out
        else:
            scratch("cols", cout * l ** dims * din ** dims)
            full = cout * ((din - 1) * s + l) ** dims
            if layer.affine or (p > 0 and layer.activation in ("relu", "tanh", "sigmoid")):
                scratch("full", full)
            else:
                own += full
        if layer.affine:
            own += out
        act = layer.activation
        contiguous = latent or layer.affine or p == 0 or pl is not None
        if act != "identity" and not (act == "relu" and contiguous):
            own += out                           # the activation's own buffer
        if act in ("relu", "leaky_relu"):
            mask = max(mask, out)
        if act in ("tanh", "sigmoid"):
            scratch("d", out)
        scratch("g", cout * (dout + (0 if pl is not None else 2 * p)) ** dims)
        scratch("gx", cin * din ** dims)
    return own + sum(shared.values()) + spec.output_dim, mask   # + the residual "r"


def trial_bytes(spec, dtype="float64") -> int:
    """Bytes one trial holds while it is measured and inverted (module docstring)."""
    size = check_dtype(dtype).itemsize
    floats, bools = workspace_elements(spec)
    # an identity layer after a padding crop makes a fresh contiguous copy per pass
    floats += sum(spec.widths[i + 1] for i, l in enumerate(spec.layers)
                  if l.activation == "identity" and l.padding > 0 and not l.affine)
    n = spec.output_dim
    return size * floats + bools + MEASUREMENT_COPIES * n * size + budget.FLOAT * n


def engine_bytes(spec) -> int:
    """Bytes per trial of the engine's forward pass that measures (float64 features,
    :data:`ENGINE_COPIES` copies), for the trials of one measuring block."""
    return ENGINE_COPIES * budget.FLOAT * sum(spec.widths)


def measure_bytes(spec) -> int:
    """Bytes of the engine's forward pass that measures one full block of trials
    (:data:`~verify.inversion.recovery.MEASURE_BLOCK` trials): a fixed cost."""
    from .recovery import MEASURE_BLOCK

    return engine_bytes(spec) * MEASURE_BLOCK


def kept_bytes(spec) -> int:
    """Bytes every trial keeps for the whole run (its mask, z*, its answer)."""
    return spec.output_dim + KEEP_LATENTS * budget.FLOAT * spec.latent_dim


def chunk_size(spec, trials: int, dtype="float64", limit: int | None = None,
               what: str = "--max-memory", trials_what: str = "--trials") -> int:
    """Trials per block so that a recovery of ``trials`` trials stays within ``limit``
    bytes (default: the budget in force, :func:`verify.budget.budget`), at most
    ``trials``. Refused (VerifyError naming ``what``) when even one trial does not fit,
    or when the trials' kept data (masks, latents) take most of it (naming
    ``trials_what``)."""
    from .recovery import MEASURE_BLOCK

    limit = budget.budget() if limit is None else int(limit)
    params = sum(spec.channels[i] * spec.channels[i + 1] * l.kernel ** spec.dims
                 for i, l in enumerate(spec.layers))
    fixed = budget.FLOAT * 3 * params + trials * kept_bytes(spec)
    per, eng = trial_bytes(spec, dtype), engine_bytes(spec)
    room = limit - fixed
    # a chunk below MEASURE_BLOCK is measured in one block of its own size (the engine's
    # features per trial); from MEASURE_BLOCK on, the measuring block is a fixed cost
    small = room // (per + eng)
    if small < 1:
        need = fixed + per + eng
        kept = trials * kept_bytes(spec)
        hint = (f"{trials:,} trials keep {budget.human(kept)} (masks and latents) and one "
                f"trial needs {budget.human(per + eng)} while it is measured and inverted")
        if kept > per + eng and kept > limit // 2:
            raise budget_error(trials_what, need, limit, hint + "; lower --trials")
        raise budget_error(what, need, limit, hint)
    if small < MEASURE_BLOCK:
        return int(min(trials, small))
    return int(min(trials, (room - MEASURE_BLOCK * eng) // per))


def budget_error(what: str, need: float, limit: int, hint: str):
    from ..errors import VerifyError

    return VerifyError(f"{what}: a budget of {budget.human(limit)} is below what this "
                       f"recovery needs, about {budget.human(need)}; {hint}")


__all__ = ["trial_bytes", "kept_bytes", "engine_bytes", "measure_bytes", "chunk_size", "workspace_elements",
           "MEASUREMENT_COPIES", "ENGINE_COPIES"]
