"""The loss J(z) = 1/2 ||A (G(z) - y)||^2 and its gradient, batched over trials: three
backends behind one protocol (:class:`Loss`), chosen by :func:`select_loss`.

Every backend takes latents batch-last, ``z`` of shape ``(n0, b)`` (one column per
trial), with measurements ``y`` and mask weights ``w`` of shape ``(n_d, b)`` (``w`` is 1
on observed entries, 0 elsewhere; ``y`` is 0 outside the mask).

:class:`BatchLastLoss` (``"batch-last"``)
    Every feature batch-last, ``(C, *spatial, b)``: the transpose of the engine's flat
    channel-major ``(b, n)``. Then a transposed convolution is ONE matrix product
    ``F^T @ x.reshape(C_in, -1)`` over all positions and trials, followed by one strided
    add per kernel offset whose inner axis (the trials) is contiguous. This is the
    engine's ``Network.forward_with_cache`` / ``vjp`` re-laid out for memory traffic (the
    wall for thin layers): buffers are reused across iterations (``out=``), and each
    activation derivative is written straight into the next adjoint's (zero-bordered)
    input.
:class:`EngineLoss` (``"engine"``)
    The engine's own passes (``Network.forward_with_cache`` / ``vjp``); the tests check
    that it and the batch-last loss give the same J and grad J to rounding.
:class:`~verify.inversion.arcloss.ArcLoss` (``"arcs"``, in ``arcloss.py``)
    For a 2-D latent through a bias-free ReLU network (the paper's Sec. 4.2 / Fig. 4
    setting): exact arc tables. G(z) = P_a z on each of finitely many arcs of the
    circle, so an iteration is a 2 x 2 quadratic form per trial, rebuilt only when a
    trial changes arc. Serves Adam without the per-iteration negation test only.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .. import activations
from ..errors import invalid
from ..network import Network
from . import phases

#: The backends :func:`select_loss` accepts.
BACKENDS = ("auto", "arcs", "batch-last", "engine")
#: The floating-point types recovery computes in (float64 is the default everywhere).
DTYPES = ("float64", "float32")


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as a numpy dtype, if it is float64 or float32 (else refused by ``name``)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES or isinstance(dtype, bool):
        raise invalid(name, "float64 or float32", dtype)
    return dt


@runtime_checkable
class Loss(Protocol):
    """J and grad J for a batch of trials, batch-last.

    ``z`` is ``(n0, b)``; ``y`` (measurements, 0 outside the mask) and ``w`` (mask
    weights, 1 observed / 0 not) are ``(n_d, b)``.
    """

    #: The backend's name (``InversionResult.settings["backend"]``).
    name: str

    def forward(self, z: np.ndarray) -> np.ndarray:
        """G(z), ``(n0, b) -> (n_d, b)``."""
        ...

    def value(self, z: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        """J per column, ``(b,)``."""
        ...

    def value_and_grad(self, z: np.ndarray, y: np.ndarray,
                       w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(J ``(b,)``, grad J ``(n0, b)``) per column. The gradient may be a buffer of
        the loss, valid until its next call."""
        ...


class _Workspace:
    """Reusable flat buffers: the loop's arrays are a few MB each, and allocating them
    afresh every iteration costs more in page faults than the arithmetic itself."""

    def __init__(self, dtype=np.float64):
        self._bufs: dict = {}
        self.dtype = np.dtype(dtype)

    def get(self, key, shape, dtype=None) -> np.ndarray:
        dtype = self.dtype if dtype is None else dtype
        size = int(np.prod(shape))
        buf = self._bufs.get((key, np.dtype(dtype)))
        if buf is None or buf.size < size:
            buf = np.empty(size, dtype)
            self._bufs[(key, np.dtype(dtype))] = buf
        return buf[:size].reshape(shape)

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffers (what :func:`~verify.inversion.memory` estimates)."""
        return sum(buf.nbytes for buf in self._bufs.values())



class BatchLastLoss:
    """J and grad J with features batch-last ``(C, *spatial, b)`` (see the module docstring)."""

    name = "batch-last"

    def __init__(self, network: Network, dtype=np.float64, phase_path: bool = True):
        spec = network.spec
        self.network, self.spec = network, spec
        self.dtype = check_dtype(dtype)
        self.ws = _Workspace(self.dtype)
        self.F, self.Ft, self.affine = [], [], []
        # the layers that take the phase path (verify.inversion.phases), with W_st, W_st^T;
        # phase_path=False keeps every layer on the column path (the bench's baseline)
        self.plans = [phases.plan(l, spec.sizes[i], spec.sizes[i + 1], spec.channels[i + 1],
                                  spec.dims) if phase_path else None
                      for i, l in enumerate(spec.layers)]
        self.Wst = [None if pl is None else
                    phases.stacked_filters(w.filters, pl, self.dtype)
                    for pl, w in zip(self.plans, network.weights)]
        self.WstT = [None if W is None else np.ascontiguousarray(W.T) for W in self.Wst]
        for i, w in enumerate(network.weights):
            cin = spec.channels[i]
            # (C_in, C_out l^d), columns ordered (c_out, kernel offset): the product
            # F^T x then lands in the output's channel-major order.
            F = np.ascontiguousarray(w.filters.reshape(cin, -1), dtype=self.dtype)
            self.F.append(F)
            self.Ft.append(np.ascontiguousarray(F.T))
            shape = (-1,) + (1,) * (spec.dims + 1)
            # a bias is one per channel, or one per output position (a fixed class of a
            # conditional generator, verify.trained.ClassConditionedNetwork): (C, *spatial)
            # then broadcasts over the batch-last axis as it is
            bshape = shape if w.bias is None or np.size(w.bias) == spec.channels[i + 1] \
                else np.shape(w.bias) + (1,)
            self.affine.append(None if w.scale is None
                               else (w.scale.reshape(shape).astype(self.dtype),
                                     w.bias.reshape(bshape).astype(self.dtype)))
        # Buffers: the column products (forward) and gathered gradients (backward), the
        # gradient buffers, the activation derivatives and a layer's uncropped output are
        # scratch, dead once the layer is done, so one buffer of each serves every layer;
        # only what the backward pass reads (activations, kept pre-activations) is per
        # layer. A layer's uncropped output is scratch when what is kept is a copy: an
        # affine layer (its own buffer), or a padded ReLU / tanh / sigmoid layer (the
        # cropped activation is written to its own buffer).
        self._scratch_full = [l.affine or (l.padding > 0 and l.activation in
                                           ("relu", "tanh", "sigmoid"))
                              for l in spec.layers]

    def _conv(self, i: int, x: np.ndarray) -> np.ndarray:
        """Layer i's transposed convolution, ``(C_in, *S_in, b) -> (C_out, *S_out, b)``.

        The kernel offsets k < s (per axis) tile positions [0, D s) disjointly and are the
        first term of every sum there, so they are written, not added (no zero fill);
        only the tail [D s, (D-1) s + l) is zeroed. Same additions in the same order as
        zero-fill-then-add."""
        spec, layer, ws = self.spec, self.spec.layers[i], self.ws
        l, s, p, dims = layer.kernel, layer.stride, layer.padding, spec.dims
        cout, din, b = spec.channels[i + 1], spec.sizes[i], x.shape[-1]
        pl = self.plans[i]
        if pl is not None:
            return phases.conv(pl, self.Wst[i], x, *self._phase_buffers(i, b),
                               ws.get(("out", i), (cout,) + (pl.dout,) * dims + (b,)))
        x2 = x.reshape(x.shape[0], -1)
        latent = din == 1 and p == 0  # a latent vector: the product is the output
        cols = np.matmul(self.Ft[i], x2, out=ws.get(("out", i) if latent else "cols",
                                                    (self.Ft[i].shape[0], x2.shape[1])))
        if latent:
            return cols.reshape((cout,) + (l,) * dims + (b,))
        cols = cols.reshape((cout,) + (l,) * dims + (din,) * dims + (b,))
        nfull = (din - 1) * s + l
        span = (din - 1) * s + 1
        full = ws.get("full" if self._scratch_full[i] else ("full", i),
                      (cout,) + (nfull,) * dims + (b,))
        tiled = l >= s
        if not tiled:
            full.fill(0.0)
        else:
            e = din * s
            full[:, e:] = 0.0
            if dims == 2:
                full[:, :e, e:] = 0.0
        if dims == 1:
            for k in range(l):
                if tiled and k < s:
                    full[:, k:k + span:s] = cols[:, k]
                else:
                    full[:, k:k + span:s] += cols[:, k]
        else:
            if tiled:
                for ki in range(s):
                    for kj in range(s):
                        full[:, ki:ki + span:s, kj:kj + span:s] = cols[:, ki, kj]
            for ki in range(l):
                for kj in range(l):
                    if not (tiled and ki < s and kj < s):
                        full[:, ki:ki + span:s, kj:kj + span:s] += cols[:, ki, kj]
        if p:
            full = full[(slice(None),) + (slice(p, nfull - p),) * dims]
        return full

    def _phase_buffers(self, i: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """The phase path's scratch: the stacked shifts of the input (forward; x's
        gradient blocks, backward) and the output's phases. They are the column path's
        scratch buffers ("full", "cols") under other shapes: a layer takes one path,
        and both are dead once it is done."""
        pl, dims = self.plans[i], self.spec.dims
        tail = (pl.n,) * dims + (b,)
        return (self.ws.get("full", (pl.shifts ** dims, self.spec.channels[i]) + tail),
                self.ws.get("cols", (pl.stride ** dims, self.spec.channels[i + 1]) + tail))

    def _grad_buffer(self, i: int, shape) -> tuple[np.ndarray, np.ndarray]:
        """(buffer for layer i's output gradient, its interior): with padding p the
        buffer is the zero-bordered ``(C_out, *(S_out + 2p), b)`` that :meth:`_conv_t`
        gathers from, so the gradient is written straight into it (no np.pad)."""
        p, dims = self.spec.layers[i].padding, self.spec.dims
        if not p or self.plans[i] is not None:   # the phase path crops itself
            buf = self.ws.get("g", shape)
            return buf, buf
        n = shape[1] + 2 * p
        buf = self.ws.get("g", (shape[0],) + (n,) * dims + (shape[-1],))
        buf[:, :p] = 0.0
        buf[:, n - p:] = 0.0
        if dims == 2:
            buf[:, p:n - p, :p] = 0.0
            buf[:, p:n - p, n - p:] = 0.0
        return buf, buf[(slice(None),) + (slice(p, n - p),) * dims]

    def _conv_t(self, i: int, g: np.ndarray) -> np.ndarray:
        """Adjoint of :meth:`_conv`; ``g`` is the (zero-bordered, if padded) buffer of
        :meth:`_grad_buffer`."""
        spec, layer, ws = self.spec, self.spec.layers[i], self.ws
        l, s, p, dims = layer.kernel, layer.stride, layer.padding, spec.dims
        cout, din, b = spec.channels[i + 1], spec.sizes[i], g.shape[-1]
        cin = spec.channels[i]
        F = self.F[i]
        pl = self.plans[i]
        if pl is not None:
            stack, ph = self._phase_buffers(i, b)
            return phases.conv_t(pl, self.WstT[i], g, ph, stack,
                                 ws.get("gx", (cin,) + (din,) * dims + (b,)))
        if din == 1 and p == 0:
            out = np.matmul(F, g.reshape(-1, b), out=ws.get("gx", (cin, b)))
            return out.reshape((cin,) + (1,) * dims + (b,))
        span = (din - 1) * s + 1
        gcols = ws.get("cols", (cout,) + (l,) * dims + (din,) * dims + (b,))
        if dims == 1:
            for k in range(l):
                gcols[:, k] = g[:, k:k + span:s]
        else:
            for ki in range(l):
                for kj in range(l):
                    gcols[:, ki, kj] = g[:, ki:ki + span:s, kj:kj + span:s]
        gx = np.matmul(F, gcols.reshape(F.shape[1], -1), out=ws.get("gx", (cin, din**dims * b)))
        return gx.reshape((cin,) + (din,) * dims + (b,))

    def _forward(self, z: np.ndarray, keep: bool):
        """Forward pass; ``pres[i]`` is what the backward pass needs of layer i: the
        ReLU output (its positive set is the pre-activation's), the pre-activation
        (leaky ReLU, identity), or the output (tanh, sigmoid: sigma' from sigma)."""
        spec, ws = self.spec, self.ws
        b = z.shape[-1]
        x = np.ascontiguousarray(z).reshape(spec.shape(0) + (b,))
        pres = []
        for i, layer in enumerate(spec.layers):
            pre = self._conv(i, x)
            if self.affine[i] is not None:
                sc, bi = self.affine[i]
                pre = np.multiply(pre, sc, out=ws.get(("aff", i), pre.shape))
                pre += bi
            act = layer.activation
            if act == "relu" and pre.flags.c_contiguous:
                x = np.maximum(pre, 0.0, out=pre)  # in place
            elif act == "identity":
                x = np.ascontiguousarray(pre)
            else:
                x = ws.get(("x", i), pre.shape)  # contiguous, also for a padding crop
                if act == "relu":
                    np.maximum(pre, 0.0, out=x)
                elif act == "leaky_relu" and 0.0 <= layer.slope <= 1.0:
                    # max(a, slope a) = where(a > 0, a, slope a) for 0 <= slope <= 1
                    np.multiply(pre, layer.slope, out=x)
                    np.maximum(pre, x, out=x)
                elif act == "tanh":
                    np.tanh(pre, out=x)
                else:
                    x[...] = activations.apply(act, pre, layer.slope)
            if keep:
                pres.append(x if act in ("relu", "tanh", "sigmoid") else pre)
        return x.reshape(-1, b), pres

    def forward(self, z: np.ndarray) -> np.ndarray:
        """G(z) for batch-last z ``(n0, b)``; returns ``(n_d, b)`` (a fresh array)."""
        return self._forward(z, keep=False)[0].copy()

    def _residual(self, out, y, w):
        r = np.subtract(out, y, out=self.ws.get("r", out.shape))
        r *= w
        return r, 0.5 * np.einsum("ij,ij->j", r, r)

    def value(self, z, y, w):
        return self._residual(self._forward(z, keep=False)[0], y, w)[1]

    def value_and_grad(self, z, y, w):
        """(J, grad J) for every column; the gradient is a workspace buffer, valid until
        the next call."""
        spec, ws = self.spec, self.ws
        b = z.shape[-1]
        out, pres = self._forward(z, keep=True)
        g, loss = self._residual(out, y, w)
        g = g.reshape(spec.shape(spec.depth) + (b,))
        for i in range(spec.depth - 1, -1, -1):
            layer, pre, act = spec.layers[i], pres[i], spec.layers[i].activation
            buf, dst = self._grad_buffer(i, pre.shape)
            if act == "relu":
                on = np.greater(pre, 0.0, out=ws.get("mask", pre.shape, bool))
                np.multiply(g, on, out=dst)
            elif act == "leaky_relu":
                on = np.greater(pre, 0.0, out=ws.get("mask", pre.shape, bool))
                np.multiply(g, layer.slope, out=dst)   # g * where(a > 0, 1, slope)
                np.copyto(dst, g, where=on)
            elif act == "tanh":                        # 1 - tanh(a)^2 from the output
                d = np.multiply(pre, pre, out=ws.get("d", pre.shape))
                np.subtract(1.0, d, out=d)
                np.multiply(g, d, out=dst)
            elif act == "sigmoid":                     # s (1 - s) from the output
                d = np.subtract(1.0, pre, out=ws.get("d", pre.shape))
                d *= pre
                np.multiply(g, d, out=dst)
            else:                                      # identity
                dst[...] = g
            if self.affine[i] is not None:
                dst *= self.affine[i][0]
            g = self._conv_t(i, buf)
        return loss, g.reshape(-1, b)



class EngineLoss:
    """J and grad J through the engine's ``forward_with_cache`` / ``vjp`` (batch-first)."""

    name = "engine"
    dtype = np.dtype(np.float64)

    def __init__(self, network: Network):
        self.network = network

    def forward(self, z):
        return self.network.forward(z.T).T

    def value(self, z, y, w):
        r = (self.network.forward(z.T).T - y) * w
        return 0.5 * np.einsum("ij,ij->j", r, r)

    def value_and_grad(self, z, y, w):
        cache = self.network.forward_with_cache(z.T)
        r = (cache.output.T - y) * w
        g = self.network.vjp(cache, np.ascontiguousarray(r.T))
        return 0.5 * np.einsum("ij,ij->j", r, r), np.ascontiguousarray(g.T)



def select_loss(network: Network, backend="auto", method: str = "adam",
                negation=None, dtype=np.float64) -> Loss:
    """The loss :func:`~verify.inversion.invert` runs for ``backend``:

    ``"auto"``: the arc tables (:class:`~verify.inversion.arcloss.ArcLoss`) for Adam without the per-iteration
    negation test (``negation != "flip"``) on a 2-D-latent, bias-free ReLU network, else
    :class:`BatchLastLoss`. ``"arcs"`` insists on the arc tables (an error where they do
    not apply), ``"batch-last"`` and ``"engine"`` pick that backend. A :class:`Loss`
    instance is returned as it is (so chunks of one recovery share one loss and its
    tables). ``dtype``: float64 (default) or float32 (``"engine"``: float64 only).
    """
    dtype = check_dtype(dtype)
    if isinstance(backend, Loss):
        if getattr(backend, "dtype", np.dtype(np.float64)) != dtype:
            raise invalid("backend", f"a loss computing in {dtype}", backend.dtype)
        return backend
    if backend in ("auto", "batch-last", "arcs") \
            and any(l.output_padding for l in network.spec.layers):
        # the batch-last and arc paths crop symmetrically: a layer with PyTorch's
        # output_padding runs on the engine's own passes (float64)
        if dtype != np.float64:
            raise invalid("dtype", "float64 for a network with output_padding (it runs "
                          "on the engine's passes)", str(dtype))
        return EngineLoss(network)
    if backend in ("auto", "arcs") and method == "adam" and negation != "flip":
        from .arcloss import ArcLoss

        loss = ArcLoss.build(network, dtype)
        if loss is not None:
            return loss
    if backend in ("auto", "batch-last"):
        return BatchLastLoss(network, dtype)
    if backend == "engine":
        if dtype != np.float64:
            raise invalid("dtype", "float64 with backend 'engine' (the engine computes in "
                          "float64)", str(dtype))
        return EngineLoss(network)
    if backend == "arcs":
        raise invalid("backend", "'arcs' only for Adam without 'flip' on a 2-D-latent, "
                      "bias-free ReLU network", backend)
    raise invalid("backend", "'auto', 'arcs', 'batch-last' or 'engine'", backend)


__all__ = ["Loss", "BatchLastLoss", "EngineLoss", "select_loss", "BACKENDS", "DTYPES",
           "check_dtype"]
