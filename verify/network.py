"""Transposed-convolution generators: forward pass, reverse and forward mode,
explicit weight matrices (lemmas/README.md, sections 0 and 1; paper Eq. (2), Fig. 2).

Layout
------
At the boundary every feature is a flat channel-major vector: ``x[c, h, w]`` has index
``(c*H + h)*W + w`` (lemmas/README.md), batched as ``(batch, n_i)``. Inside, features
are kept channel-last, ``(batch, *spatial, C)``, because then a layer is one matrix
product ``x @ F`` with ``F`` of shape ``(C_{i-1}, l^dims * C_i)`` followed, in the
theory case s = l, p = 0, by a pure reshape: the block structure of Fig. 2(b).
The general path (any stride, kernel, padding) scatters the same product's columns
with one strided add per kernel offset: a loop over the l^dims offsets, never over
pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np

from . import activations
from .errors import VerifyError, invalid
from .spec import LayerSpec, NetworkSpec

if TYPE_CHECKING:
    import scipy.sparse as sp

Path_ = Literal["auto", "fast", "general"]


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """Filters ``(C_{i-1}, C_i, l[, l])`` (PyTorch ``ConvTranspose`` layout) and an
    optional per-channel affine ``pre = scale * conv(x) + bias``."""

    filters: np.ndarray
    scale: np.ndarray | None = None
    bias: np.ndarray | None = None


def _real(values, name: str) -> np.ndarray:
    """float64 array of real numbers (float or integer dtype); text, complex, bool and
    object arrays are refused by name rather than cast (or failing) silently."""
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged nested sequences
        raise invalid(name, "an array of real numbers", "a ragged sequence") from None
    if arr.dtype.hasobject or arr.dtype.kind not in "fiu":
        raise invalid(name, "real numbers (a float or integer dtype)", f"dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


@dataclass(frozen=True, eq=False)
class _Cache:
    inputs: list = field(default_factory=list)   # channel-last input of each layer
    lins: list = field(default_factory=list)     # conv output before the affine
    pres: list = field(default_factory=list)     # pre-activations
    output: np.ndarray | None = None             # flat channel-major G(z)


class Network:
    """A generator ``G(z) = sigma_d(W_d ... sigma_1(W_1 z))`` with its weights.

    Parameters
    ----------
    spec : NetworkSpec
    weights : sequence of LayerWeights
        Shapes are checked against the spec; non-finite values are refused.
    """

    def __init__(self, spec: NetworkSpec, weights: Sequence[LayerWeights]):
        if len(weights) != spec.depth:
            raise invalid("weights", f"{spec.depth} layers", len(weights))
        checked = []
        ch = spec.channels
        for i, (layer, w) in enumerate(zip(spec.layers, weights)):
            shape = (ch[i], ch[i + 1]) + (layer.kernel,) * spec.dims
            f = _real(w.filters, f"layer{i}.weight")
            if f.shape != shape:
                raise invalid(f"layer{i}.weight", f"shape {shape}", f.shape)
            if not np.all(np.isfinite(f)):
                raise invalid(f"layer{i}.weight", "finite values", "NaN or infinite entries")
            scale = bias = None
            if layer.affine:
                scale = np.ones(ch[i + 1]) if w.scale is None else _real(w.scale, f"layer{i}.scale")
                bias = np.zeros(ch[i + 1]) if w.bias is None else _real(w.bias, f"layer{i}.bias")
                for name, arr in (("scale", scale), ("bias", bias)):
                    if arr.shape != (ch[i + 1],):
                        raise invalid(f"layer{i}.{name}", f"shape ({ch[i + 1]},)", arr.shape)
                    if not np.all(np.isfinite(arr)):
                        raise invalid(f"layer{i}.{name}", "finite values", "NaN or infinite entries")
            elif w.scale is not None or w.bias is not None:
                raise invalid(f"layers[{i}].affine", "true when a scale or bias is given", False)
            checked.append(LayerWeights(f, scale, bias))
        self.spec = spec
        self.weights = tuple(checked)
        # F_i: (C_{i-1}, l^dims * C_i), columns ordered (kernel offset, output channel).
        self._F = tuple(
            np.ascontiguousarray(np.moveaxis(w.filters, 1, -1).reshape(ch[i], -1))
            for i, w in enumerate(self.weights)
        )

    def __repr__(self) -> str:
        from .results import short  # (lazy: results imports pandas)

        return short(f"{type(self).__name__}({self.spec.describe()}; latent dim "
                     f"{self.spec.latent_dim} -> output dim {self.spec.output_dim})")

    # --------------------------------------------------------------- layouts
    def to_internal(self, x: np.ndarray, i: int) -> np.ndarray:
        """Flat channel-major ``(b, n_i)`` -> channel-last ``(b, *spatial, C_i)``."""
        b = x.shape[0]
        arr = x.reshape((b,) + self.spec.shape(i))
        return np.moveaxis(arr, 1, -1)

    def to_flat(self, x: np.ndarray) -> np.ndarray:
        """Channel-last ``(b, *spatial, C)`` -> flat channel-major ``(b, n)``."""
        b = x.shape[0]
        return np.ascontiguousarray(np.moveaxis(x, -1, 1)).reshape(b, -1)

    def _batch(self, z: np.ndarray, i: int = 0) -> tuple[np.ndarray, bool]:
        z = np.asarray(z, dtype=np.float64)
        single = z.ndim == 1
        if single:
            z = z[None, :]
        if z.ndim != 2 or z.shape[1] != self.spec.widths[i]:
            raise invalid("z" if i == 0 else f"x{i}", f"shape (batch, {self.spec.widths[i]}) "
                          f"or ({self.spec.widths[i]},)", z.shape)
        return z, single

    # ------------------------------------------------------- the linear layer
    def _use_fast(self, layer: LayerSpec, path: Path_) -> bool:
        if path == "fast":
            if not layer.is_block:
                raise VerifyError("path='fast' needs stride = kernel and padding = 0 in every layer")
            return True
        if path == "general":
            return False
        if path != "auto":
            raise invalid("path", "'auto', 'fast' or 'general'", path)
        return layer.is_block

    def conv(self, i: int, x: np.ndarray, path: Path_ = "auto") -> np.ndarray:
        """The transposed convolution of layer i (no affine), channel-last in and out."""
        layer, F = self.spec.layers[i], self._F[i]
        l, s, p, dims = layer.kernel, layer.stride, layer.padding, self.spec.dims
        cout = self.spec.channels[i + 1]
        b, spatial = x.shape[0], x.shape[1:-1]
        # The dense block B applied at every position: one 2-D GEMM (a stacked 3-D
        # matmul would run as many small products).
        cols = (x.reshape(-1, x.shape[-1]) @ F).reshape(x.shape[:-1] + (F.shape[1],))
        if self._use_fast(layer, path):
            if dims == 1:
                return cols.reshape(b, spatial[0] * l, cout)
            H, W = spatial
            cols = cols.reshape(b, H, W, l, l, cout).transpose(0, 1, 3, 2, 4, 5)
            return cols.reshape(b, H * l, W * l, cout)
        op = layer.output_padding
        # the full output, with op more positions per axis at the end (no filter term
        # reaches them: they stay 0, as in PyTorch), then cropped by p on both sides
        full_n = [(d - 1) * s + l + op for d in spatial]
        if dims == 1:
            cols = cols.reshape(b, spatial[0], l, cout)
            full = np.zeros((b, full_n[0], cout))
            span = (spatial[0] - 1) * s + 1
            for k in range(l):
                full[:, k:k + span:s] += cols[:, :, k]
            return full[:, p:full_n[0] - p]
        H, W = spatial
        cols = cols.reshape(b, H, W, l, l, cout)
        full = np.zeros((b, full_n[0], full_n[1], cout))
        sh, sw = (H - 1) * s + 1, (W - 1) * s + 1
        for ki in range(l):
            for kj in range(l):
                full[:, ki:ki + sh:s, kj:kj + sw:s] += cols[:, :, :, ki, kj]
        return full[:, p:full_n[0] - p, p:full_n[1] - p]

    def conv_transpose(self, i: int, g: np.ndarray, path: Path_ = "auto"):
        """Adjoint of :meth:`conv`: returns ``(g_cols, g_x)`` with ``g_cols`` the
        gradient w.r.t. the per-position block output ``x @ F``."""
        layer, F = self.spec.layers[i], self._F[i]
        l, s, p, dims = layer.kernel, layer.stride, layer.padding, self.spec.dims
        b, cout = g.shape[0], g.shape[-1]
        in_size = self.spec.sizes[i]
        if self._use_fast(layer, path):
            if dims == 1:
                gcols = g.reshape(b, in_size, l * cout)
            else:
                gcols = g.reshape(b, in_size, l, in_size, l, cout).transpose(0, 1, 3, 2, 4, 5)
                gcols = gcols.reshape(b, in_size, in_size, l * l * cout)
        else:
            pad = [(0, 0)] + [(p, p)] * dims + [(0, 0)]
            # (the output_padding positions at the end receive no filter term: never read)
            gfull = np.pad(g, pad) if p else g
            span = (in_size - 1) * s + 1
            if dims == 1:
                gcols = np.empty((b, in_size, l, cout))
                for k in range(l):
                    gcols[:, :, k] = gfull[:, k:k + span:s]
                gcols = gcols.reshape(b, in_size, l * cout)
            else:
                gcols = np.empty((b, in_size, in_size, l, l, cout))
                for ki in range(l):
                    for kj in range(l):
                        gcols[:, :, :, ki, kj] = gfull[:, ki:ki + span:s, kj:kj + span:s]
                gcols = gcols.reshape(b, in_size, in_size, l * l * cout)
        gx = (gcols.reshape(-1, gcols.shape[-1]) @ F.T).reshape(gcols.shape[:-1] + (F.shape[0],))
        return gcols, gx

    def _affine(self, i: int, lin: np.ndarray) -> np.ndarray:
        w = self.weights[i]
        return lin if w.scale is None else lin * w.scale + w.bias

    # ---------------------------------------------------------------- passes
    def forward(self, z: np.ndarray, *, path: Path_ = "auto") -> np.ndarray:
        """G(z) for a batch ``(b, n_0)`` (or one code ``(n_0,)``), flat channel-major."""
        z, single = self._batch(z)
        out = self._run(z, path, keep=False).output
        return out[0] if single else out

    __call__ = forward

    def _run(self, z: np.ndarray, path: Path_, keep: bool) -> _Cache:
        cache = _Cache()
        x = self.to_internal(z, 0)
        for i, layer in enumerate(self.spec.layers):
            lin = self.conv(i, x, path)
            pre = self._affine(i, lin)
            if keep:
                cache.inputs.append(x)
                cache.lins.append(lin)
                cache.pres.append(pre)
            x = activations.apply(layer.activation, pre, layer.slope)
        return _Cache(cache.inputs, cache.lins, cache.pres, self.to_flat(x))

    def layer_outputs(self, z: np.ndarray, *, path: Path_ = "auto") -> list[np.ndarray]:
        """Flat pre-activations of every layer, ``[(b, n_1), ..., (b, n_d)]``."""
        z, _ = self._batch(z)
        cache = self._run(z, path, keep=True)
        return [self.to_flat(pre) for pre in cache.pres]

    def forward_with_cache(self, z: np.ndarray, *, path: Path_ = "auto") -> _Cache:
        z, _ = self._batch(z)
        return self._run(z, path, keep=True)

    def vjp(self, cache: _Cache, g_out: np.ndarray, *, path: Path_ = "auto",
            weights: bool = False):
        """Reverse mode: ``J_G(z)^T g`` for each row (and, with ``weights=True``, the
        gradients w.r.t. every layer's filters, scale and bias).

        At a kink (pre-activation exactly 0) the ReLU slope is taken as 0, an element of
        the Clarke subdifferential; use :meth:`jvp` for exact one-sided derivatives.
        """
        g = self.to_internal(np.asarray(g_out, dtype=np.float64), self.spec.depth)
        grads = []
        for i in range(self.spec.depth - 1, -1, -1):
            layer, w = self.spec.layers[i], self.weights[i]
            g = g * activations.derivative(layer.activation, cache.pres[i], layer.slope)
            g_scale = g_bias = None
            if w.scale is not None:
                axes = tuple(range(g.ndim - 1))
                g_scale = (g * cache.lins[i]).sum(axis=axes)
                g_bias = g.sum(axis=axes)
                g = g * w.scale
            gcols, gx = self.conv_transpose(i, g, path)
            if weights:
                x = cache.inputs[i]
                gF = x.reshape(-1, x.shape[-1]).T @ gcols.reshape(-1, gcols.shape[-1])
                shape = (self.spec.channels[i],) + (layer.kernel,) * self.spec.dims + (self.spec.channels[i + 1],)
                grads.append(LayerWeights(np.moveaxis(gF.reshape(shape), -1, 1), g_scale, g_bias))
            g = gx
        gz = self.to_flat(g)
        if weights:
            return gz, tuple(reversed(grads))
        return gz

    def jvp(self, z: np.ndarray, v: np.ndarray, *, path: Path_ = "auto", tie_tol: float = 0.0):
        """Forward mode: ``(G(z), D_v G(z))``, the exact one-sided directional
        derivative ``lim_{t->0+} (G(z + t v) - G(z)) / t`` (lemmas/README.md, section 0).

        A ReLU unit counts as active when its pre-activation is > 0, or is 0 with a
        positive directional derivative (the right-hand limit at a kink). ``tie_tol``
        widens "is 0" to ``|pre| <= tie_tol`` (see :func:`activations.directional`).
        """
        z, single = self._batch(z)
        v, _ = self._batch(np.broadcast_to(np.asarray(v, np.float64), z.shape).copy())
        x, dx = self.to_internal(z, 0), self.to_internal(v, 0)
        for i, layer in enumerate(self.spec.layers):
            w = self.weights[i]
            lin, dlin = self.conv(i, x, path), self.conv(i, dx, path)
            pre = self._affine(i, lin)
            dpre = dlin if w.scale is None else dlin * w.scale
            dx = activations.directional(layer.activation, pre, dpre, layer.slope, tie_tol)
            x = activations.apply(layer.activation, pre, layer.slope)
        out, dout = self.to_flat(x), self.to_flat(dx)
        return (out[0], dout[0]) if single else (out, dout)

    def jacobian(self, z: np.ndarray, *, max_floats: int = 1 << 22, path: Path_ = "auto"):
        """``(G(z), J_G(z))``: the output ``(b, n_d)`` and the Jacobian ``(b, n_d, n_0)``
        of each row of ``z`` ``(b, n_0)`` (one code ``(n_0,)``: ``(n_d,)`` and
        ``(n_d, n_0)``).

        n_0 tangent passes (one per latent coordinate) share each row's activation
        pattern; at a kink the slope is :meth:`vjp`'s (ReLU'(0) = 0), so
        ``J_G(z)^T g`` equals ``vjp`` to rounding. Rows are processed in chunks so that
        no intermediate (rows x n_0, widest layer) array exceeds ``max_floats`` floats;
        the answer itself takes b n_0 n_d. The Jacobian is a transposed view of a
        C-contiguous ``(b, n_0, n_d)`` array (the rows of J_G^T are contiguous).
        """
        z, single = self._batch(z)
        spec = self.spec
        b, n0, nd = z.shape[0], spec.latent_dim, spec.output_dim
        jac, outs = np.empty((b, n0, nd)), np.empty((b, nd))
        chunk = max(1, int(max_floats) // (n0 * max(spec.widths)))
        eye = np.eye(n0)
        for lo in range(0, b, chunk):
            zc = z[lo:lo + chunk]
            bc = zc.shape[0]
            cache = self._run(zc, path, keep=True)
            dx = self.to_internal(np.tile(eye, (bc, 1)), 0)
            for i, layer in enumerate(spec.layers):
                dl = self.conv(i, dx, path)
                if self.weights[i].scale is not None:
                    dl = dl * self.weights[i].scale
                slope = activations.derivative(layer.activation, cache.pres[i], layer.slope)
                dl = dl.reshape((bc, n0) + dl.shape[1:]) * slope[:, None]
                dx = dl.reshape((bc * n0,) + dl.shape[2:])
            jac[lo:lo + bc] = self.to_flat(dx).reshape(bc, n0, nd)
            outs[lo:lo + bc] = cache.output
        jac = jac.transpose(0, 2, 1)
        return (outs[0], jac[0]) if single else (outs, jac)

    # ------------------------------------------------------- explicit matrices
    def layer_matrix(self, i: int) -> "sp.csr_matrix":
        """W_i as an explicit sparse matrix (built once per network and cached).

        See :meth:`_build_layer_matrix`.
        """
        cache = self.__dict__.setdefault("_matrices", {})
        if i not in cache:
            cache[i] = self._build_layer_matrix(i)
        return cache[i]

    def _build_layer_matrix(self, i: int) -> "sp.csr_matrix":
        """W_i as an explicit sparse ``(n_i, n_{i-1})`` matrix, channel-major
        (lemmas/README.md, section 0): ``W[(c', q), (c, p)] = f_{c,c'}[q + pad - p s]`` when the
        offset lies in [0, l) (per axis in 2-D), scaled by the affine scale of c'.
        The bias, if any, is not part of W_i (see :meth:`layer_bias`).
        """
        import scipy.sparse as sp  # only here: the engine's passes never need it

        spec, layer = self.spec, self.spec.layers[i]
        f = self.weights[i].filters
        cin, cout = spec.channels[i], spec.channels[i + 1]
        din, dout = spec.sizes[i], spec.sizes[i + 1]
        l, s, p = layer.kernel, layer.stride, layer.padding
        scale = self.weights[i].scale
        if spec.dims == 1:
            c, co, pp, k = np.meshgrid(np.arange(cin), np.arange(cout), np.arange(din),
                                       np.arange(l), indexing="ij")
            q = pp * s + k - p
            ok = (q >= 0) & (q < dout)
            rows = co * dout + q
            cols = c * din + pp
            vals = f[c, co, k]
        else:
            c, co, ph, pw, kh, kw = np.meshgrid(np.arange(cin), np.arange(cout), np.arange(din),
                                                np.arange(din), np.arange(l), np.arange(l),
                                                indexing="ij")
            qh, qw = ph * s + kh - p, pw * s + kw - p
            ok = (qh >= 0) & (qh < dout) & (qw >= 0) & (qw < dout)
            rows = (co * dout + qh) * dout + qw
            cols = (c * din + ph) * din + pw
            vals = f[c, co, kh, kw]
        if scale is not None:
            vals = vals * scale[co]
        shape = (spec.widths[i + 1], spec.widths[i])
        return sp.csr_matrix((vals[ok], (rows[ok], cols[ok])), shape=shape)

    def layer_bias(self, i: int) -> np.ndarray:
        """The bias of layer i expanded to a flat ``(n_i,)`` vector (zeros if none)."""
        spec = self.spec
        b = self.weights[i].bias
        per = spec.sizes[i + 1] ** spec.dims
        return np.zeros(spec.widths[i + 1]) if b is None else np.repeat(b, per)

    def dense_block(self, i: int) -> np.ndarray:
        """The dense block B of Fig. 2(b): ``B[(c', k), c] = f_{c,c'}[k]``, shape
        ``(C_i l^dims, C_{i-1})`` (rows ordered output channel, then kernel offset)."""
        f = self.weights[i].filters
        cin = f.shape[0]
        return np.moveaxis(f, 0, -1).reshape(-1, cin)

    def explicit_forward(self, z: np.ndarray) -> np.ndarray:
        """G(z) through the explicit matrices: ``sigma(W_i x + b_i)`` per layer."""
        z, single = self._batch(z)
        x = z.T
        for i, layer in enumerate(self.spec.layers):
            pre = self.layer_matrix(i) @ x + self.layer_bias(i)[:, None]
            x = activations.apply(layer.activation, pre, layer.slope)
        return x.T[0] if single else x.T


__all__ = ["LayerWeights", "Network"]
