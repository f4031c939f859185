"""verify: numerical, reproducible checks of the invertibility proof for convolutional
generative networks (Ma, Ayaz, Karaman, NeurIPS 2018).

The engine (networks, weight laws, measurements, the loss and its exact derivatives)
lives here; the proof's statements live in the sibling package ``lemmas``.
"""

__version__ = "0.1.0"

from .assertions import assert_holds
from .errors import VerifyError
from .measurements import GaussianMeasurement, MaskBatch, MaskSpec, Subsampling, make_mask
from .network import LayerWeights, Network
from .objective import Objective
from .presets import Config, get_preset, presets
from .spec import LayerSpec, NetworkSpec, block_spec
from .weights import WeightLaw, draw_network, load_network, save_network

__all__ = [
    "__version__", "VerifyError", "LayerSpec", "NetworkSpec", "block_spec", "LayerWeights",
    "Network", "WeightLaw", "draw_network", "save_network", "load_network", "MaskSpec",
    "Subsampling", "GaussianMeasurement", "MaskBatch", "make_mask", "Objective", "Config",
    "get_preset", "presets", "assert_holds",
]
