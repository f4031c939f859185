"""``verify.torch``: PyTorch modules as the toolkit's networks, checked on the spot, and
what is refused (unsupported layers, a forward that disagrees, pickled checkpoints)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from verify import VerifyError

torch = pytest.importorskip("torch")
nn = torch.nn

from verify.torch import TOLERANCE, check_forward, convert, from_module, load_object  # noqa: E402


def _warm(module, shape, seed=0):
    """Running batch-norm statistics as training leaves them, then evaluation mode."""
    torch.manual_seed(seed)
    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(torch.randn((16,) + tuple(shape)))
    return module.eval()


def _torch_out(module, z, shape):
    m = module.double().eval()
    with torch.no_grad():
        return m(torch.tensor(z).reshape((len(z),) + tuple(shape))).reshape(len(z), -1).numpy()


class DCGAN(nn.Module):
    """The DCGAN tutorial's form: the layers in ``self.main``."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(8, 16, 4, 1, 0, bias=False), nn.BatchNorm2d(16), nn.ReLU(True),
            nn.Sequential(nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8),
                          nn.LeakyReLU(0.2)),
            nn.ConvTranspose2d(8, 1, 3, 2, 1, output_padding=1), nn.Tanh())

    def forward(self, x):
        return self.main(x)


def test_dcgan_wrapper_with_batch_norm_and_output_padding():
    module = _warm(DCGAN(), (8, 1, 1))
    conv = convert(module)
    net = conv.network
    assert conv.latent_shape == (8, 1, 1) and conv.max_rel_diff <= TOLERANCE
    assert [(l.kernel, l.stride, l.padding, l.output_padding, l.activation, l.affine)
            for l in net.spec.layers] == [(4, 1, 0, 0, "relu", True),
                                          (4, 2, 1, 0, "leaky_relu", True),
                                          (3, 2, 1, 1, "tanh", True)]
    assert net.spec.sizes == (1, 4, 8, 16)
    # the raw filters are kept (batch norm goes to the per-channel scale)
    assert np.array_equal(net.weights[0].filters, module.main[0].weight.detach().double().numpy())
    z = np.random.default_rng(5).normal(size=(6, 8))
    assert np.abs(net.forward(z) - _torch_out(module, z, (8, 1, 1))).max() < 1e-12


def test_one_dimensional_and_mlp():
    m1 = _warm(nn.Sequential(nn.ConvTranspose1d(4, 8, 5, 3, 1, output_padding=2),
                             nn.BatchNorm1d(8), nn.ReLU(), nn.ConvTranspose1d(8, 2, 4, 2)),
               (4, 3))
    net = from_module(m1, (4, 3))
    assert net.spec.dims == 1 and net.spec.latent_size == 3 and net.spec.sizes == (3, 11, 24)
    mlp = nn.Sequential(nn.Linear(3, 20), nn.ReLU(), nn.Linear(20, 50), nn.Tanh())
    net = from_module(mlp)
    assert net.spec.describe() == "1-D 3x1 -> 20x1 (k1 s1 relu) -> 50x1 (k1 s1 tanh)"


@pytest.mark.parametrize("bias", [True, False])
def test_linear_reshaped_to_a_feature_map(bias):
    """Linear + BatchNorm1d + Unflatten: a transposed conv with kernel = stride = 4 on a
    one-position latent; a per-position bias becomes the first layer's constant input."""
    module = _warm(nn.Sequential(nn.Linear(6, 16 * 4 * 4, bias=bias), nn.BatchNorm1d(256),
                                 nn.ReLU(), nn.Unflatten(1, (16, 4, 4)),
                                 nn.ConvTranspose2d(16, 3, 4, 2, 1), nn.Sigmoid()), (6,))
    net = from_module(module)
    assert net.spec.layers[0].kernel == net.spec.layers[0].stride == 4
    assert net.spec.latent_dim == 6
    z = np.random.default_rng(1).normal(size=(5, 6))
    assert np.abs(net.forward(z) - _torch_out(module, z, (6,))).max() < 1e-12


def test_conditional_generator_with_its_class_fixed():
    module = _warm(nn.Sequential(nn.ConvTranspose2d(5 + 3, 16, 4, 1, 0), nn.BatchNorm2d(16),
                                 nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1), nn.Tanh()),
                   (8, 1, 1))
    net = from_module(module, condition=(3, 1))
    assert net.spec.latent_dim == 5
    z = np.random.default_rng(2).normal(size=(4, 5))
    x = np.concatenate([z, np.tile([0.0, 1.0, 0.0], (4, 1))], axis=1)
    assert np.abs(net.forward(z) - _torch_out(module, x, (8, 1, 1))).max() < 1e-12
    with pytest.raises(VerifyError, match=r"condition \(3, 3\)"):
        from_module(module, condition=(3, 3))


def test_torchscript_module_and_file(tmp_path):
    module = _warm(DCGAN(), (8, 1, 1))
    scripted = torch.jit.script(module)
    path = tmp_path / "g.pt"
    scripted.save(str(path))
    a, b = from_module(module), from_module(load_object(str(path)))
    assert a.spec == b.spec
    assert all(np.array_equal(x.filters, y.filters) for x, y in zip(a.weights, b.weights))


class Doubled(nn.Module):
    """A forward that does more than its module tree shows."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2))

    def forward(self, x):
        return self.main(x) * 2


@pytest.mark.parametrize("module, message", [
    (nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2), nn.Softplus()),
     r"module '1' \(Softplus\) is not supported"),
    (nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2), nn.ReLU(), nn.BatchNorm2d(4)),
     r"module '2' \(BatchNorm2d\) comes after the activation"),
    (nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 3)), r"stride 3 > kernel 2"),
    (nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2, dilation=2)), r"dilation"),
    (nn.Sequential(nn.ConvTranspose2d(4, 4, 2, 2), nn.Conv2d(4, 4, 1)),
     r"module '1' \(Conv2d\) is not supported"),
    (Doubled(), r"module \(Doubled\) forward and the converted network differ by 0\.5 "),
])
def test_refused_naming_the_module_and_its_type(module, message):
    with pytest.raises(VerifyError, match=message):
        from_module(module)


def test_the_check_says_by_how_much():
    module = nn.Sequential(nn.ConvTranspose2d(2, 3, 2, 2), nn.ReLU())
    net = from_module(module)
    assert check_forward(module, net, (2, 1, 1)) <= TOLERANCE
    with torch.no_grad():
        module[0].weight[0, 0, 0, 0] += 1e-3  # the module changes after the conversion
    with pytest.raises(VerifyError, match=r"differ by [0-9.e-]+ .*tolerance 1e-10"):
        check_forward(module, net, (2, 1, 1))
    assert module[0].weight.dtype == torch.float32 and module.training  # not touched


def test_loading_python_files_and_refusing_pickles(tmp_path):
    src = tmp_path / "gen.py"
    src.write_text(textwrap.dedent("""
        from torch import nn
        generator = nn.Sequential(nn.ConvTranspose2d(3, 4, 2, 2), nn.ReLU())
        def build():
            return nn.Sequential(nn.ConvTranspose2d(3, 4, 2, 2), nn.ReLU())
        number = 5
    """))
    assert isinstance(load_object(f"{src}:generator"), nn.Module)
    assert isinstance(load_object(f"{src}:build"), nn.Module)
    for target, message in [(f"{tmp_path / 'nope.py'}:generator", "does not exist"),
                            (f"{src}:missing", r"has no object 'missing' \(modules and "
                                               r"callables it defines: build, generator"),
                            (f"{src}:number", "is int; expected a torch.nn.Module"),
                            (str(src), "expected FILE.py:OBJECT")]:
        with pytest.raises(VerifyError, match=message):
            load_object(target)
    # a torch.save pickle whose unpickling would write a file: refused, never unpickled
    marker = tmp_path / "unpickled"

    class Trap:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name, obj in [("state.pt", nn.Linear(2, 2).state_dict()), ("trap.pth", Trap())]:
        path = tmp_path / name
        torch.save(obj, str(path))
        with pytest.raises(VerifyError, match=r"torch\.save checkpoint .* refusing to unpickle"):
            load_object(str(path))
    assert not marker.exists()
