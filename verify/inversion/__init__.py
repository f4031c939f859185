"""Recovering latent codes from partial measurements (lemmas/README.md, section 9; paper
Theorem 4).

One concern per module:

:mod:`.losses`      the loss J(z) = 1/2 ||A (G(z) - y)||^2 and its gradient, batched:
                    the :class:`Loss` protocol and its three backends
                    (:class:`BatchLastLoss`, :class:`EngineLoss`, and :class:`ArcLoss`
                    in :mod:`.arcloss`), chosen by :func:`select_loss`.
:mod:`.phases`      wide transposed convolutions as one GEMM over sub-pixel phases (the
                    batch-last loss's path on wide layers).
:mod:`.optimisers`  Adam and gradient descent over a batch (:func:`descend`, with the
                    constants ``ADAM_*`` and ``GD_*``), damped Gauss-Newton
                    (:func:`gauss_newton_direction`, :func:`damped_newton`).
:mod:`.lp`          Lei et al. (NeurIPS 2019): layer-wise linear programming
                    (:func:`invert_lp`), the second solver.
:mod:`.recovery`    :func:`invert`, :func:`recover`, :func:`measure`, :func:`polish`
                    (a few damped Gauss-Newton steps on an answer) and scoring.
:mod:`.experiment`  the one recovery experiment: :class:`InvertOptions` and
                    :func:`run_recovery` (``verify invert``, sweeps and checks use it).
:mod:`.memory`      bytes per trial (:func:`trial_bytes`) and trials per chunk within
                    the memory budget (:func:`chunk_size`).

Masks come from :mod:`verify.measurements` (``sample_masks``, ``kinds_for``,
``RATE_KINDS``): no mask vocabulary lives here.

Every public name is importable from ``verify.inversion`` itself.
"""

from .arcloss import ArcLoss
from .losses import BACKENDS, DTYPES, BatchLastLoss, EngineLoss, Loss, check_dtype, select_loss
from .lp import LP_ZERO, LPResult, invert_lp
from .optimisers import (ADAM_BETA1, ADAM_BETA2, ADAM_EPS, ADAM_LR, CALLBACK_EVERY, COMPACT_EVERY,
                         GD_BACKOFF, GD_LR_SCALE, GD_RISE_TOL, GN_RCOND, NEWTON_ALPHAS, PAD, Method,
                         blas_limit, damped_newton, default_lr, descend, gauss_newton_direction,
                         gd_lr, pinv_apply)
from .recovery import (POLISH_ITERS, POLISH_ROUNDING, SUCCESS_TOL, SUCCESS_TOL32_MIN, TOL, TOL32,
                       InversionResult,
                       Negation, RecoveryStats, invert, measure, polish, recover,
                       relative_errors)
from .experiment import InvertOptions, RecoveryResult, run_recovery
from .memory import chunk_size, trial_bytes

__all__ = [
    # recovery
    "InversionResult", "RecoveryStats", "invert", "recover", "measure",
    "relative_errors", "polish", "SUCCESS_TOL", "TOL", "POLISH_ROUNDING", "POLISH_ITERS",
    "TOL32", "SUCCESS_TOL32_MIN",
    # memory: trials per chunk from the budget
    "chunk_size", "trial_bytes",
    "Method", "Negation",
    # the experiment
    "InvertOptions", "RecoveryResult", "run_recovery",
    # LP
    "LPResult", "LP_ZERO", "invert_lp",
    # losses
    "Loss", "BatchLastLoss", "EngineLoss", "ArcLoss", "select_loss", "BACKENDS", "DTYPES",
    "check_dtype",
    # optimisers
    "ADAM_BETA1", "ADAM_BETA2", "ADAM_EPS", "ADAM_LR", "GD_LR_SCALE", "GD_RISE_TOL",
    "GD_BACKOFF", "COMPACT_EVERY", "CALLBACK_EVERY", "GN_RCOND", "NEWTON_ALPHAS", "PAD",
    "default_lr", "gd_lr", "descend", "blas_limit", "pinv_apply", "gauss_newton_direction",
    "damped_newton",
]
