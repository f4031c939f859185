"""Kept for lemma modules of other families that still import ``lemmas._formulas``:
the closed forms live in the public :mod:`verify.formulas` (tests import that)."""

from verify.formulas import M, Q, angle, angle_map, angle_map_iterates, hv_surrogate, rho, theta_bar  # noqa: F401
