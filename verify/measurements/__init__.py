"""Measurement operators A and the masks that define them (lemmas/README.md, section 9; Theorem 4).

:mod:`.masks`      the one table of mask kinds, the one sampler, :class:`MaskSpec`.
:mod:`.operators`  the operator family (subsampling, Gaussian, per-trial masks) with
                   observed sets, noise carried by the operator and an adjointness test.
"""

from .masks import (CONFIG_KINDS, HALF, MASK_KINDS, MASK_TABLE, RATE_KINDS, SPATIAL_KINDS,
                    MaskKind, MaskSpec, check_kind, check_rate, count, kinds_for, make_mask,
                    sample_masks)
from .operators import GaussianMeasurement, MaskBatch, Measurement, Subsampling

__all__ = ["MASK_KINDS", "MASK_TABLE", "RATE_KINDS", "CONFIG_KINDS", "SPATIAL_KINDS", "HALF",
           "MaskKind", "MaskSpec", "check_kind", "check_rate", "count", "kinds_for",
           "make_mask", "sample_masks", "Measurement", "Subsampling", "GaussianMeasurement",
           "MaskBatch"]

