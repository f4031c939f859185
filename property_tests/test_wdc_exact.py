"""The certified WDC supremum for k = 2 blocks (issue 17, item 4): a bracket
[lower, upper] whose width is the stated Lipschitz tolerance, which every sampled pair
respects and the sampled eps_hat approaches from below."""

from __future__ import annotations

import numpy as np
import pytest

from lemmas._formulas import Q
from verify.errors import VerifyError
from verify.wdc import LIPSCHITZ, exact_sup

pytestmark = pytest.mark.numerics


def _dev(B, u, v):
    su, sv = (B @ u > 0), (B @ v > 0)
    C = B.T @ (B * (su & sv)[:, None])
    return np.linalg.norm(C - Q(u, v), 2)


@pytest.mark.parametrize("m, seed", [(8, 0), (8, 28075), (40, 1), (200, 2)])
def test_the_bracket_contains_every_sampled_deviation(m, seed):
    rng = np.random.default_rng(seed)
    B = rng.normal(0, 1 / np.sqrt(m), size=(m, 2))
    sup = exact_sup(B, h=2e-3)
    assert sup.upper - sup.lower <= LIPSCHITZ * sup.h * (1 + 1e-12)
    # the largest grid value is attained: recompute it at its angles from the formula
    a, b = sup.at
    u, v = np.array([np.cos(a), np.sin(a)]), np.array([np.cos(b), np.sin(b)])
    assert _dev(B, u, v) <= sup.upper + 1e-12
    # random pairs never exceed the certified upper end, and their max approaches lower
    ang = rng.uniform(-np.pi, np.pi, size=(1500, 2))
    devs = [_dev(B, np.array([np.cos(x), np.sin(x)]), np.array([np.cos(y), np.sin(y)]))
            for x, y in ang]
    assert max(devs) <= sup.upper + 1e-12
    assert max(devs) >= 0.8 * sup.lower


def test_a_wide_block_is_closer_to_Q_than_a_narrow_one():
    rng = np.random.default_rng(3)
    narrow = exact_sup(rng.normal(0, 1 / np.sqrt(8), size=(8, 2)))
    wide = exact_sup(rng.normal(0, 1 / np.sqrt(800), size=(800, 2)), h=8e-3)
    assert wide.upper < narrow.lower


def test_other_shapes_are_refused_with_the_reason():
    with pytest.raises(VerifyError, match="k = 2"):
        exact_sup(np.ones((10, 3)))
