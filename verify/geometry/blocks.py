"""Block-diagonal forms of sparse matrices (paper Fig. 2; lemmas/README.md, section 1).

The connected components of the bipartite graph of a sparse matrix's non-zeros give its
finest block-diagonal form (:func:`block_diagonal_form`); for a transposed convolution
with stride = kernel and no padding, P W_i Q = I (x) B_i exactly
(:func:`exact_block_identity`). With a subsampling A, A W keeps a row subset of each
block (:func:`kept_rows_per_block`), and A sigma(v) = sigma(A v) entrywise
(:func:`activation_commutes`, on vectors built to sit on kinks: :func:`kink_vectors`).
Used by the ``permutation`` and ``concentration`` checks and by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from verify import activations


@dataclass(frozen=True, eq=False)
class BlockForm:
    """The block-diagonal form ``W[row_perm][:, col_perm]`` of a sparse matrix.

    Attributes
    ----------
    row_perm, col_perm : ndarray of int
        Row and column orders; blocks are contiguous, in order of their smallest
        column index; within a block the original order is kept (stable sort).
        Zero rows and zero columns come last, in no block.
    row_labels, col_labels : ndarray of int
        Block index of each original row / column (-1: a zero row or column).
    row_splits, col_splits : ndarray of int
        Offsets of the blocks in the permuted order (length ``n_blocks + 1``).
    blocks : list of ndarray
        The dense diagonal blocks.
    """

    row_perm: np.ndarray
    col_perm: np.ndarray
    row_labels: np.ndarray
    col_labels: np.ndarray
    row_splits: np.ndarray
    col_splits: np.ndarray
    blocks: list

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def row_sizes(self) -> np.ndarray:
        return np.diff(self.row_splits)

    @property
    def col_sizes(self) -> np.ndarray:
        return np.diff(self.col_splits)


def block_diagonal_form(W) -> BlockForm:
    """Row and column permutations that make any sparse matrix block-diagonal.

    The blocks are the connected components of the bipartite graph whose nodes are the
    rows and the columns of ``W`` and whose edges are its non-zero entries (paper Fig. 2,
    lemmas/README.md, section 1); this is the finest block-diagonal form.

    Parameters
    ----------
    W : scipy.sparse matrix or array, shape (r, c)

    Returns
    -------
    BlockForm
        ``W[form.row_perm][:, form.col_perm]`` is block-diagonal with blocks
        ``form.blocks``.
    """
    W = sp.csr_matrix(W)
    r, c = W.shape
    S = (W != 0).astype(np.int8).tocoo()
    # Bipartite graph on r + c nodes (rows first); an edge per non-zero entry.
    graph = sp.coo_matrix((np.ones(S.nnz, np.int8), (S.row, r + S.col)), shape=(r + c, r + c))
    _, labels = connected_components(graph, directed=False)
    rl, cl = labels[:r], labels[r:]
    row_deg = np.bincount(S.row, minlength=r)
    col_deg = np.bincount(S.col, minlength=c)
    # A component is a block when it holds at least one non-zero; order blocks by their
    # smallest column index (for a conv layer: by input position).
    live = np.unique(cl[col_deg > 0])
    first_col = np.full(labels.max() + 1 if labels.size else 0, np.iinfo(np.int64).max)
    np.minimum.at(first_col, cl, np.arange(c))
    order = live[np.argsort(first_col[live], kind="stable")]
    rank = np.full(first_col.size, -1)
    rank[order] = np.arange(order.size)
    row_labels = np.where(row_deg > 0, rank[rl], -1)
    col_labels = np.where(col_deg > 0, rank[cl], -1)
    big = order.size  # zero rows / columns sort last
    row_perm = np.argsort(np.where(row_labels < 0, big, row_labels), kind="stable")
    col_perm = np.argsort(np.where(col_labels < 0, big, col_labels), kind="stable")
    row_splits = np.concatenate([[0], np.cumsum(np.bincount(row_labels[row_labels >= 0],
                                                           minlength=big))])
    col_splits = np.concatenate([[0], np.cumsum(np.bincount(col_labels[col_labels >= 0],
                                                           minlength=big))])
    P = W[row_perm][:, col_perm].tocsr()
    blocks = [P[row_splits[b]:row_splits[b + 1], col_splits[b]:col_splits[b + 1]].toarray()
              for b in range(big)]
    return BlockForm(row_perm, col_perm, row_labels, col_labels, row_splits, col_splits, blocks)


def permuted(W, form: BlockForm) -> sp.csr_matrix:
    """P W Q: ``W`` with the rows and columns of ``form`` applied."""
    return sp.csr_matrix(W)[form.row_perm][:, form.col_perm].tocsr()


def exact_block_identity(W, B: np.ndarray, n_blocks: int) -> tuple[bool, BlockForm, dict]:
    """Check exactly (==) that P W Q = I_{n_blocks} (x) B for the permutations of
    :func:`block_diagonal_form` (paper Fig. 2(b)).

    Returns ``(holds, form, info)``; ``info`` has the component count, whether every
    block equals B, and the number of entries where P W Q and I (x) B differ.
    """
    form = block_diagonal_form(W)
    same = [blk.shape == B.shape and np.array_equal(blk, B) for blk in form.blocks]
    info = {"components": form.n_blocks, "expected_components": int(n_blocks),
            "blocks_equal_B": int(sum(same)), "zero_rows": int(np.sum(form.row_labels < 0)),
            "zero_cols": int(np.sum(form.col_labels < 0))}
    if form.n_blocks == n_blocks and all(same) and info["zero_rows"] == 0 \
            and info["zero_cols"] == 0:
        K = sp.kron(sp.identity(n_blocks, format="csr"), sp.csr_matrix(B), format="csr")
        diff = permuted(W, form) != K
        info["entries_differing"] = int(diff.nnz)
        holds = diff.nnz == 0
    else:
        info["entries_differing"] = None
        holds = False
    return holds, form, info


def kept_rows_per_block(form: BlockForm, rows_kept: np.ndarray) -> np.ndarray:
    """How many of each block's rows a subsampling A keeps (A W: rows of W; Theorem 4)."""
    keep = np.zeros(form.row_labels.size, bool)
    keep[rows_kept] = True
    lab = form.row_labels[keep]
    return np.bincount(lab[lab >= 0], minlength=form.n_blocks)


def kink_vectors(n: int, rng: np.random.Generator, count: int = 8) -> np.ndarray:
    """Vectors built to sit on activation kinks: exact zeros, signed zeros, the
    smallest subnormals and normals of both signs, and random values (Theorem 4)."""
    tiny = np.finfo(float).tiny
    sub = np.nextafter(0.0, 1.0)
    specials = np.array([0.0, -0.0, sub, -sub, tiny, -tiny, 1.0, -1.0,
                         np.finfo(float).max, -np.finfo(float).max])
    out = rng.choice(specials, size=(count, n))
    mix = rng.random((count, n)) < 0.3
    out[mix] = rng.normal(size=int(mix.sum()))
    return out


def activation_commutes(measurement, name: str, slope: float,
                        v: np.ndarray) -> int:
    """Number of entries where A sigma(v) and sigma(A v) differ (exact comparison)."""
    with np.errstate(over="ignore"):
        left = measurement.forward(activations.apply(name, v, slope))
        right = activations.apply(name, measurement.forward(v), slope)
    return int(np.sum(~((left == right) | (np.isnan(left) & np.isnan(right)))))


__all__ = ["BlockForm", "block_diagonal_form", "permuted", "exact_block_identity",
           "kept_rows_per_block", "kink_vectors", "activation_commutes"]
