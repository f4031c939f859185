"""The output folder of a sweep: its lock (``DIR/.lock``) and its manifest
(``DIR/sweep.json``: the grid, its hash and the stream layout, never the task list).
(Formats: the package docstring, :mod:`verify.sweep`.)"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import VerifyError
from ..fsio import write_text
from ..results import jsonable

if TYPE_CHECKING:
    from .plan import Sweep

MANIFEST = "sweep.json"
LOCK = ".lock"
#: The folder's format: 3 draws task i from ``Streams(base_seed).task(i)`` and records
#: the streams' identity (2 drew from ``SeedSequence(base_seed, spawn_key=(i,))`` with a
#: 32-bit seed; 1 also listed every task in the manifest).
FORMAT = 3
#: How task i's streams are built (stored in the manifest, for a reader of the folder).
STREAMS = "task i: verify.rng.Streams(base_seed).task(i) = SeedSequence(base_seed, spawn_key=(3, i))"
_OLD_FORMATS = {1: "SeedSequence(base_seed, spawn_key=(i,)) and its 32-bit first word",
                2: "SeedSequence(base_seed, spawn_key=(i,)) and its 32-bit first word"}


# ============================================================== the manifest
def write_manifest(out: Path, sweep: "Sweep", source: str | None) -> None:
    """``DIR/sweep.json``, written atomically."""
    manifest = {"format": FORMAT, "version": __version__, "plan_hash": sweep.digest,
                "n_tasks": len(sweep), "streams": STREAMS, "sweep": sweep.spec,
                "source": source}
    write_text(out / MANIFEST, json.dumps(jsonable(manifest), indent=1, allow_nan=False))


def _old_format(path: Path, fmt: int) -> VerifyError:
    return VerifyError(
        f"{path}: format {fmt}, written by an older `verify sweep` whose task i drew from "
        f"{_OLD_FORMATS[fmt]}; this version (format {FORMAT}) draws from "
        "Streams(base_seed).task(i), so resuming would mix two sets of random streams in "
        "one table; finish it with the version that started it, or use another --out folder")


def read_manifest(out: Path, sweep: "Sweep") -> None:
    """Check that ``out``'s manifest is intact and describes this plan (VerifyError)."""
    path = out / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VerifyError(f"--resume: {path} is missing, so the sweep that wrote the "
                          f"records in {out} cannot be checked") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise VerifyError(f"{path}: cannot be read ({reason})") from None
    try:
        m = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VerifyError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(m, dict):
        raise VerifyError(f"{path}: expected a JSON object (the sweep manifest), got "
                          f"{type(m).__name__}")
    if "plan_hash" not in m and "format" not in m and "digest" in m:  # format 1
        raise _old_format(path, 1)
    for key, typ in (("format", int), ("plan_hash", str), ("n_tasks", int), ("sweep", dict)):
        if key not in m:
            raise VerifyError(f"{path}: the manifest lacks the field {key!r}")
        if not isinstance(m[key], typ) or isinstance(m[key], bool):
            raise VerifyError(f"{path}: field {key!r} should be {typ.__name__}, got "
                              f"{m[key]!r}"[:300])
    if m["format"] in _OLD_FORMATS:
        raise _old_format(path, m["format"])
    if m["format"] != FORMAT:
        raise VerifyError(f"{path}: format {m['format']} is not one this version reads "
                          f"({FORMAT})")
    if m["plan_hash"] != sweep.digest or m["n_tasks"] != len(sweep):
        raise VerifyError(f"--resume: {out} holds a different sweep (plan "
                          f"{m['plan_hash'][:12]}, {m['n_tasks']} tasks) than this file (plan "
                          f"{sweep.digest[:12]}, {len(sweep)} tasks); use another --out folder")


# ============================================================== the folder lock
class FolderLock:
    """An exclusive, non-blocking ``flock`` on ``DIR/.lock``, held for a whole run.

    The kernel releases it when the process ends, however it ends. Creating ``DIR``
    (and its missing parents) and the lock file is undone by :meth:`abandon` when the
    run stops on bad input before writing anything else."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.fd: int | None = None
        missing = []
        probe = out.absolute()
        while not probe.exists() and probe.parent != probe:
            missing.append(probe)
            probe = probe.parent
        self.created_dirs = missing  # deepest first
        out.mkdir(parents=True, exist_ok=True)
        path = out / LOCK
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock on this platform: no lock
            self.created_lock = False
            return
        for _ in range(10):
            self.created_lock = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise VerifyError(f"--out: {out} is in use by another `verify sweep` (it "
                                  f"holds {path}); wait for it to finish or choose another "
                                  "folder") from None
            except OSError as exc:  # a filesystem without locks: run unlocked
                import warnings

                warnings.warn(f"{path}: cannot be locked ({exc.strerror}); two sweeps on "
                              "this folder would not be kept apart", stacklevel=3)
                self.fd = fd
                return
            try:  # the file may have been replaced while we waited: lock the one in place
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return
            os.close(fd)
        raise VerifyError(f"--out: {path} keeps being replaced; is another sweep "
                          "starting on this folder?")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def abandon(self) -> None:
        """Undo what acquiring created (the lock file, new folders), then release."""
        if self.created_lock:
            try:
                os.unlink(self.out / LOCK)
            except OSError:
                pass
        self.release()
        for d in self.created_dirs:
            try:
                d.rmdir()
            except OSError:
                break


__all__ = ["MANIFEST", "LOCK", "FORMAT", "STREAMS", "FolderLock", "read_manifest",
           "write_manifest"]
