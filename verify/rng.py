"""Randomness: one explicit ``numpy.random.Generator`` per purpose.

:class:`Streams` is the one place that knows how a seed is split. From one
``SeedSequence`` (an integer seed, or a child handed down by a sweep) it gives named,
independent child streams:

=========  =========================  ==========================================
name       SeedSequence child         used for
=========  =========================  ==========================================
weights    ``spawn_key + (0,)``       drawing the network's weights
mask       ``spawn_key + (1,)``       drawing the measurement (a random mask, A)
check      ``spawn_key + (2,)``       the check's or the recovery's own draws
task(i)    ``spawn_key + (3, i)``     the i-th task of a sweep: a Streams of its own
draw(i)    ``spawn_key + (4, i)``     network draw i >= 1 of a check judged over draws
                                      (draw 0 is these streams themselves)
=========  =========================  ==========================================

Children are built directly from ``(entropy, spawn_key)``, which is exactly what
``SeedSequence.spawn`` would hand out, in O(1) for any i. Two lemmas run with the
same seed therefore see the same network and mask; every task of a sweep has its own
tree, identified by its entropy and spawn key (:meth:`Streams.record`), never by a
32-bit integer. Code below the runner only ``spawn``s from the generator it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import invalid

#: Child index of each named stream (the layout; nothing else may know it).
LAYOUT = {"weights": 0, "mask": 1, "check": 2}
#: Child index under which the tasks of a sweep hang.
TASKS = 3
#: Child index under which the network draws of a multi-draw check hang.
DRAWS = 4


def describe_layout() -> str:
    """The seed layout in one line (for provenance: where every number's randomness came from)."""
    named = ", ".join(f"{name} from child ({i},)" for name, i in LAYOUT.items())
    return (f"verify.rng.Streams of SeedSequence(seed): {named}; "
            f"sweep task i from child ({TASKS}, i); network draw i >= 1 of a multi-draw "
            f"check from child ({DRAWS}, i) (draw 0: the seed's own streams)")


def as_generator(rng=None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed, a SeedSequence or None) into a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise invalid("rng", "a numpy Generator, a non-negative int seed or None", rng)


def spawn(seed: int, n: int) -> list[np.random.Generator]:
    """n independent child streams of ``seed`` (``SeedSequence.spawn``)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


@dataclass(frozen=True)
class Streams:
    """Named random streams from one ``SeedSequence`` (module docstring).

    ``Streams(0)`` and ``Streams.of(0)`` are the streams of integer seed 0;
    ``Streams.of(ss)`` takes a ``SeedSequence``; ``Streams.of(streams)`` is itself.
    """

    entropy: int
    spawn_key: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.entropy, bool) or not isinstance(self.entropy, (int, np.integer)) \
                or self.entropy < 0:
            raise invalid("seed", "an integer >= 0", self.entropy)
        object.__setattr__(self, "entropy", int(self.entropy))
        key = tuple(self.spawn_key)
        if any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0
               for k in key):
            raise invalid("seed", "a spawn key of integers >= 0", key)
        object.__setattr__(self, "spawn_key", tuple(int(k) for k in key))

    @classmethod
    def of(cls, seed: "int | np.random.SeedSequence | Streams") -> "Streams":
        if isinstance(seed, Streams):
            return seed
        if isinstance(seed, np.random.SeedSequence):
            if not isinstance(seed.entropy, (int, np.integer)):
                raise invalid("seed", "a SeedSequence with integer entropy", seed.entropy)
            return cls(int(seed.entropy), tuple(seed.spawn_key))
        return cls(seed)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Streams":
        """The inverse of :meth:`record` (entropy may be a decimal string, as JSON keeps it)."""
        try:
            return cls(int(record["entropy"]), tuple(int(k) for k in record.get("spawn_key", ())))
        except (KeyError, TypeError, ValueError):
            raise invalid("seed record", "{'entropy': int, 'spawn_key': [int, ...]}",
                          record) from None

    # ------------------------------------------------------------ the tree
    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)

    def child(self, *key: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key + tuple(key))

    def generator(self, name: str) -> np.random.Generator:
        """A fresh Generator on the named stream (``weights``, ``mask``, ``check``)."""
        if name not in LAYOUT:
            raise invalid("stream", "one of " + ", ".join(LAYOUT), name)
        return np.random.default_rng(self.child(LAYOUT[name]))

    def weights(self, variant: int = 0) -> np.random.Generator:
        """The weights stream; ``variant`` k >= 1 an independent one, child ``(0, k)``
        (:attr:`verify.weights.WeightLaw.stream`)."""
        if variant == 0:
            return self.generator("weights")
        return np.random.default_rng(self.child(LAYOUT["weights"], int(variant)))

    def mask(self) -> np.random.Generator:
        return self.generator("mask")

    def check(self) -> np.random.Generator:
        return self.generator("check")

    def task(self, i: int) -> "Streams":
        """The streams of task ``i`` of a sweep run from these streams."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0:
            raise invalid("task", "an integer >= 0", i)
        return Streams(self.entropy, self.spawn_key + (TASKS, int(i)))

    def draw(self, i: int) -> "Streams":
        """The streams of network draw ``i`` of a check judged over draws: draw 0 is
        these streams themselves, draw i >= 1 the child ``(4, i)``."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0:
            raise invalid("draw", "an integer >= 0", i)
        return self if i == 0 else Streams(self.entropy, self.spawn_key + (DRAWS, int(i)))

    # ------------------------------------------------------------ identity
    @property
    def seed(self) -> int | None:
        """The integer seed (``verify check --seed``) when these are a seed's own streams."""
        return self.entropy if not self.spawn_key else None

    def record(self) -> dict[str, Any]:
        """JSON-ready identity: entropy (as a string: it may exceed 2^53) and spawn key."""
        return {"entropy": str(self.entropy), "spawn_key": list(self.spawn_key)}

    def __str__(self) -> str:
        return str(self.entropy) if not self.spawn_key else \
            f"{self.entropy}/{'.'.join(map(str, self.spawn_key))}"


__all__ = ["as_generator", "spawn", "Streams", "LAYOUT", "TASKS", "describe_layout"]
