"""Tiny lemma-like checks with known verdicts, for testing the sweep and explore
machinery independently of the real lemma checks (imported by the tests and, through a
sweep file's ``imports``, by the workers). Like a user's own lemma module they register
into the default registry (after the proof's checks, in registration order): workers
look checks up by name there. They register no ``configs``, so the common property
test does not run them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from verify.registry import register
from verify.results import Criterion, Outcome

#: The known threshold of ``fake-expansion``: it fails exactly when some layer has
#: C_i l^dims / C_{i-1} < THRESHOLD.
THRESHOLD = 3.0


def fake_expansion(instance, *, rng, quick):
    """Fails exactly when min_i C_i l^d / C_{i-1} < 3; the statistic also draws from
    the weights and the check's stream, so equal results mean equal streams."""
    spec = instance.network.spec
    e = min(spec.expansions())
    noise = float(rng.normal()) + float(instance.network.weights[0].filters.ravel()[0])
    return Outcome(headline=Criterion("min expansion", e, THRESHOLD, ">="), n_samples=1,
                   details={"draw": noise, "mask_kept": int(instance.measurement.mask.sum())
                            if hasattr(instance.measurement, "mask") else None})


register("fake-expansion", statement="every layer expands by at least 3 (test fixture)",
         reference="test fixture", presets={"theory-2layer": "pass"},
         check=fake_expansion)


def fake_slow(instance, *, rng, quick):
    time.sleep(float(os.environ.get("FAKE_SLOW_S", "0.05")))
    x = float(rng.normal())
    return Outcome(headline=Criterion("draw", x, np.inf, "<="), n_samples=1, details={"x": x})


register("fake-slow", statement="sleeps a little, then passes (test fixture)",
         reference="test fixture", presets={"theory-2layer": "pass"},
         check=fake_slow)


def fake_crash(instance, *, rng, quick):
    name = instance.config.name
    if name.startswith("boom"):
        os._exit(17)  # a worker that dies: no exception, no result
    if name.startswith("flaky"):
        # one marker per task: its streams' identity ("11/3.4"; the seed outside sweeps)
        ident = str(instance.streams) if instance.streams is not None else str(instance.seed)
        marker = Path(os.environ["FAKE_FLAKY_DIR"]) / ident.replace("/", "_")
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("first attempt fails")
    return Outcome(headline=Criterion("ok", 1.0, 1.0, "=="), n_samples=1)


register("fake-crash", statement="kills its worker on networks named 'boom' (test fixture)",
         reference="test fixture", presets={"theory-2layer": "pass"},
         check=fake_crash)


def _requires_block(config):
    return None if config.spec.is_block else "needs stride = kernel and no padding"


def fake_block(instance, *, rng, quick):
    n = instance.network.spec.output_dim
    return Outcome(headline=Criterion("output dim", float(n), 16.0, "<="), n_samples=1)


register("fake-block",
         statement="outputs of at most 16 entries (test fixture; stride = kernel only)",
         reference="test fixture", presets={"theory-2layer": "fail"},
         requires=_requires_block,
         check=fake_block)


def fake_always(instance, *, rng, quick):
    return Outcome(headline=Criterion("one", 1.0, 1.0, "=="), n_samples=1)


register("fake-always", statement="always holds (test fixture)", reference="test fixture",
         presets={"theory-2layer": "pass"},
         check=fake_always)


def fake_sleeper(instance, *, rng, quick):
    """Writes ``os.getpid()`` into ``$FAKE_PID_DIR`` (so a test can watch the process
    that runs it), then sleeps ``$FAKE_SLOW_S`` seconds."""
    folder = os.environ.get("FAKE_PID_DIR")
    if folder:
        # written under a temporary name and renamed, so a watcher never reads an
        # empty file (the rename is atomic; write_text is not)
        tmp = Path(folder) / f".{os.getpid()}.tmp"
        tmp.write_text(str(os.getpid()))
        os.replace(tmp, Path(folder) / f"{os.getpid()}.pid")
    time.sleep(float(os.environ.get("FAKE_SLOW_S", "0.05")))
    return Outcome(headline=Criterion("one", 1.0, 1.0, "=="), n_samples=1)


register("fake-sleeper", statement="records its process id, then sleeps (test fixture)",
         reference="test fixture", presets={"theory-2layer": "pass"},
         check=fake_sleeper)