"""Weight laws and weight files (MATH.md section 1, paper Theorem 1 and Conjecture 3).

Laws
----
``gaussian``    N(0, sigma^2) with sigma^2 = 1/(C_i l^dims) by default: one over the
                rows of the dense block B (Theorem 1's N(0, 1/(C_i l))).
``rademacher``  +-sigma with equal probability (Conjecture 3).
``uniform``     U[-sqrt(3) sigma, sqrt(3) sigma]: zero mean, the same variance.
``uniform01``   U[0, 1]: the paper's Fig. 4(d) counter-example (not zero-mean).
A given ``std`` replaces the default sigma (the paper's Sec. 4.2 uses N(0, 1)).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import VerifyError, invalid
from .network import LayerWeights, Network
from .rng import as_generator
from .spec import NetworkSpec

LAWS = ("gaussian", "rademacher", "uniform", "uniform01")


@dataclass(frozen=True)
class WeightLaw:
    """A distribution for the filter entries; ``std=None`` means 1/sqrt(C_i l^dims)."""

    name: str = "gaussian"
    std: float | None = None

    def __post_init__(self) -> None:
        if self.name not in LAWS:
            raise invalid("weights.law", "one of " + ", ".join(LAWS), self.name)
        if self.std is not None and not (isinstance(self.std, (int, float)) and self.std > 0
                                         and math.isfinite(self.std)):
            raise invalid("weights.std", "a finite number > 0", self.std)

    @property
    def zero_mean(self) -> bool:
        return self.name != "uniform01"

    def layer_std(self, spec: NetworkSpec, i: int) -> float:
        """sigma for layer i: the given std, or 1/sqrt(C_i l^dims)."""
        if self.std is not None:
            return float(self.std)
        layer = spec.layers[i]
        return 1.0 / math.sqrt(layer.channels * layer.kernel**spec.dims)

    def sample(self, shape: tuple[int, ...], std: float, rng: np.random.Generator) -> np.ndarray:
        if self.name == "gaussian":
            return rng.normal(0.0, std, size=shape)
        if self.name == "rademacher":
            return std * (2.0 * rng.integers(0, 2, size=shape) - 1.0)
        if self.name == "uniform":
            a = math.sqrt(3.0) * std
            return rng.uniform(-a, a, size=shape)
        return rng.uniform(0.0, 1.0, size=shape)

    def to_dict(self) -> dict[str, Any]:
        return {"law": self.name} | ({} if self.std is None else {"std": self.std})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "WeightLaw":
        unknown = set(data) - {"law", "std"}
        if unknown:
            raise invalid(f"weights.{sorted(unknown)[0]}", "one of law, std", "unknown key")
        return cls(name=data.get("law", "gaussian"), std=data.get("std"))


def draw_network(spec: NetworkSpec, law: WeightLaw | str = "gaussian", *, rng=None) -> Network:
    """Draw every filter i.i.d. from ``law``; affine layers start at scale 1, bias 0."""
    law = WeightLaw(law) if isinstance(law, str) else law
    rng = as_generator(rng)
    layers = []
    ch = spec.channels
    for i, layer in enumerate(spec.layers):
        shape = (ch[i], ch[i + 1]) + (layer.kernel,) * spec.dims
        f = law.sample(shape, law.layer_std(spec, i), rng)
        if layer.affine:
            layers.append(LayerWeights(f, np.ones(ch[i + 1]), np.zeros(ch[i + 1])))
        else:
            layers.append(LayerWeights(f))
    return Network(spec, layers)


# ----------------------------------------------------------------- .npz files
def save_network(network: Network, path: str | Path) -> None:
    """Save spec (as TOML text) and weights to ``.npz``: keys ``spec``,
    ``layer{i}.weight`` and, for affine layers, ``layer{i}.scale``, ``layer{i}.bias``.
    Written to a temporary file first, then renamed (never half-written)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"spec": np.array(network.spec.to_toml())}
    for i, w in enumerate(network.weights):
        arrays[f"layer{i}.weight"] = w.filters
        if w.scale is not None:
            arrays[f"layer{i}.scale"] = w.scale
            arrays[f"layer{i}.bias"] = w.bias
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    tmp.replace(path)


def load_network(path: str | Path, spec: NetworkSpec | None = None) -> Network:
    """Load a network saved by :func:`save_network` (``allow_pickle=False``).

    ``spec`` overrides the file's own spec; shapes are checked against it and a
    missing tensor, a wrong shape or a non-finite value is refused by name.
    """
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise VerifyError(f"weights file {str(path)!r}: cannot be read as .npz ({exc})") from None
    with data:
        if spec is None:
            if "spec" not in data.files:
                raise VerifyError(f"weights file {str(path)!r}: no 'spec' entry; pass the "
                                  "architecture (--arch FILE.toml)")
            spec = NetworkSpec.from_toml(str(data["spec"]))
        layers = []
        for i, layer in enumerate(spec.layers):
            key = f"layer{i}.weight"
            if key not in data.files:
                shape = (spec.channels[i], spec.channels[i + 1]) + (layer.kernel,) * spec.dims
                raise VerifyError(f"weights file {str(path)!r}: missing tensor {key!r} "
                                  f"(expected shape {shape})")
            scale = data[f"layer{i}.scale"] if f"layer{i}.scale" in data.files else None
            bias = data[f"layer{i}.bias"] if f"layer{i}.bias" in data.files else None
            layers.append(LayerWeights(data[key], scale, bias))
    return Network(spec, layers)


__all__ = ["LAWS", "WeightLaw", "draw_network", "save_network", "load_network"]
