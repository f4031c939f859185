"""Batched masked Gram products B_{+,u}^T B_{+,v} = B^T diag(1[Bu > 0] 1[Bv > 0]) B.

The matrices the weight distribution condition (Lemma Sup.2, H&V's WDC) is about, for
many pairs (u, v) at once: per chunk of pairs ONE matrix product of the sign masks with
the rows' outer products (the Gram matrices are symmetric: only upper triangles are
formed). Engine code: the ``concentration`` check and its benchmark both use it.
"""

from __future__ import annotations

import numpy as np

#: Memory cap (float64 elements) of one chunk of the batched computation.
CHUNK_ELEMS = 1 << 22


def row_outer_products(B: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """R[r] = upper triangle of b_r b_r^T, shape (m, k(k+1)/2), and its index pair."""
    k = B.shape[1]
    iu = np.triu_indices(k)
    # column block i holds b_i * b_{i..k-1}: the row-major upper triangle, as iu
    return np.hstack([B[:, i:i + 1] * B[:, i:] for i in range(k)]), iu


def unpack_upper(tri: np.ndarray, iu, k: int) -> np.ndarray:
    """Symmetric (P, k, k) from upper triangles (P, k(k+1)/2): one gather (np.take)."""
    index = np.empty((k, k), dtype=np.intp)
    index[iu] = np.arange(iu[0].size)
    index[iu[1], iu[0]] = np.arange(iu[0].size)
    return np.take(tri, index.ravel(), axis=1).reshape(-1, k, k)


def masked_gram_chunks(B: np.ndarray, U: np.ndarray, V: np.ndarray, *, R=None):
    """Yield ``(slice, upper triangles)`` of B_{+,u}^T B_{+,v} chunk by chunk of pairs:
    per chunk ONE product ``1[Bu > 0] 1[Bv > 0] (P_c x m) @ R (m x k(k+1)/2)``.
    Streaming keeps memory bounded when P k^2 is large (the benchmark's 10,000 pairs)."""
    B = np.asarray(B, float)
    m, k = B.shape
    R_, _ = row_outer_products(B) if R is None else R
    Bt = np.ascontiguousarray(B.T)
    U, V = np.atleast_2d(U), np.atleast_2d(V)
    step = max(1, CHUNK_ELEMS // max(m, R_.shape[1]))
    for s0 in range(0, U.shape[0], step):  # chunks bound memory; each chunk is one GEMM
        sl = slice(s0, s0 + step)
        mask = ((U[sl] @ Bt) > 0) & ((V[sl] @ Bt) > 0)
        yield sl, mask.astype(np.float64) @ R_


def masked_gram(B: np.ndarray, U: np.ndarray, V: np.ndarray, *, R=None) -> np.ndarray:
    """B_{+,u}^T B_{+,v} = B^T diag(1[Bu > 0] 1[Bv > 0]) B for stacked pairs (Lemma Sup.2).

    One matrix product per chunk of pairs: ``mask (P x m) @ R (m x k(k+1)/2)``
    (the Gram matrices are symmetric, so only the upper triangle is formed).
    Returns (P, k, k).
    """
    B = np.asarray(B, float)
    k = B.shape[1]
    R = row_outer_products(B) if R is None else R
    U = np.atleast_2d(U)
    out = np.empty((U.shape[0], k, k))
    for sl, tri in masked_gram_chunks(B, U, V, R=R):
        out[sl] = unpack_upper(tri, R[1], k)
    return out


__all__ = ["CHUNK_ELEMS", "row_outer_products", "unpack_upper", "masked_gram_chunks", "masked_gram"]
