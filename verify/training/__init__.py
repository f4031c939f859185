"""Training the shipped digits generators (paper Sec. 4.3): GLO and the conditional GAN.

The paper trains its 4-layer MNIST generator as a conditional DCGAN and never released
that code. Two methods are here:

* :mod:`verify.training.glo` (``verify train-digits --method glo``, the default) trains
  the generator with the toolkit's own engine and no second network, by generative
  latent optimisation; its docstring gives the architecture, the batch-norm folding and
  what determinism assumes.
* :mod:`verify.training.gan` (``--method gan``) follows the paper: a conditional DCGAN
  trained adversarially in PyTorch (the ``[train]`` extra, imported only inside its
  functions).

:mod:`verify.training.quality` judges whether a trained generator draws digits at all
(the quality note of the trained-recovery report).
"""

from __future__ import annotations

from .gan import (N_CLASSES, TORCH_HINT, GanResult, GanSettings, build_gan,
                  canonical_safetensors, gan_input, gan_spec, gan_state_arrays,
                  require_torch, save_gan, torch_forward, train_gan)
from .glo import (BN_EPS, CHANNELS, LATENT_DIM, SLOPE, Params, TrainResult, TrainSettings,
                  backward_pass, engine_network, fold, forward_pass, generator_spec,
                  population_stats, reconstruction_mse, train_glo)
from .quality import generator_quality, sample_grid_png

__all__ = ["LATENT_DIM", "CHANNELS", "BN_EPS", "SLOPE", "N_CLASSES", "TORCH_HINT",
           "generator_spec", "gan_spec", "TrainSettings", "TrainResult", "GanSettings",
           "GanResult", "train_gan", "save_gan", "build_gan", "gan_input", "torch_forward",
           "generator_quality", "sample_grid_png", "require_torch", "gan_state_arrays",
           "canonical_safetensors", "train_glo", "fold", "reconstruction_mse", "Params",
           "engine_network", "forward_pass", "backward_pass", "population_stats"]
