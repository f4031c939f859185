"""Files written whole or not at all, and output paths checked before work starts.

Every file the toolkit writes goes through :func:`atomic_write` (or one of its two
shorthands): the bytes go to a uniquely named temporary file in the target's own
folder, are flushed and fsync'ed, then ``os.replace`` puts them in place, and the
folder is fsync'ed so the rename survives a crash. A reader therefore sees the old
file or the new one, never half of one, and two writers never share a temporary name.

:func:`check_writable_dir` is what every command calls on ``--out`` before it runs
anything: a folder under a regular file, under ``/proc`` or without write permission
is bad input (exit 2), found before the work rather than after it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import VerifyError


def current_umask() -> int:
    """The process umask (read without changing it for longer than one call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on folders
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit put it in place atomically.

    On an exception the temporary file is removed and ``path`` is left as it was.
    ``mode`` is ``"wb"`` or ``"w"`` (text, UTF-8).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 -> what open() would give
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as fh:
        fh.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def check_writable_dir(path: str | Path, flag: str = "--out") -> Path:
    """Refuse (``VerifyError``, exit 2) an output folder that cannot be created or written.

    Nothing is created: the nearest existing ancestor must be a writable folder (not a
    regular file, not a read-only or virtual filesystem such as ``/proc``), and ``path``
    itself, if it exists, must be a writable folder. Returns ``path`` as a ``Path``.
    """
    path = Path(path)
    probe = path.absolute()
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise VerifyError(f"{flag}: {str(path)!r} cannot be a folder: {str(probe)!r} "
                          "is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise VerifyError(f"{flag}: {str(path)!r} cannot be written: no write "
                          f"permission on {str(probe)!r}")
    # Permission bits say nothing of /proc, /sys or a read-only mount: try it.
    try:
        fd, tmp = tempfile.mkstemp(prefix=".verify-probe-", dir=probe)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno in (errno.ENOENT, errno.EACCES, errno.EROFS, errno.EPERM):
            reason = reason.lower()
        raise VerifyError(f"{flag}: {str(path)!r} cannot be written: {reason} "
                          f"(in {str(probe)!r})") from None
    os.close(fd)
    os.unlink(tmp)
    return path


__all__ = ["current_umask", "atomic_write", "write_text", "write_bytes", "check_writable_dir"]
