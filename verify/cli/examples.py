"""``verify examples DIR``: copy the shipped example files (``verify/examples/``: the
configurations, the sweep file, the audit architecture and the PyTorch exporter) into
DIR, so that a first run needs no path inside the installed package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import VerifyError

DESCRIPTION = ("Writes each example file into DIR (created if needed) and prints one line "
               "per file written. Refuses (exit 2, nothing written) when DIR cannot be a "
               "folder or one of the files is already there, unless --force.")

#: The suffixes of the example files that are copied (no caches, no packaging files).
SUFFIXES = (".toml", ".py")


def shipped() -> list[tuple[str, bytes]]:
    """The shipped example files, (name, content), sorted by name."""
    folder = resources.files("verify") / "examples"
    return sorted((p.name, p.read_bytes()) for p in folder.iterdir()
                  if p.is_file() and p.name.endswith(SUFFIXES))


def configure(p) -> None:
    p.add_argument("dir", metavar="DIR", help="the folder to copy the examples into")
    p.add_argument("--force", action="store_true",
                   help="overwrite example files already in DIR")


def run(args) -> int:
    from ..fsio import check_writable_dir, write_bytes

    out = check_writable_dir(args.dir, "DIR")
    if out.exists() and not out.is_dir():
        raise VerifyError(f"DIR: {str(out)!r} is a file; expected a folder")
    files = shipped()
    if not args.force:
        there = [name for name, _ in files if (out / name).exists()]
        if there:
            raise VerifyError(f"DIR: {str(out / there[0])!r} already exists"
                              + (f" (and {len(there) - 1} more example files)"
                                 if len(there) > 1 else "")
                              + "; pass --force to overwrite")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            write_bytes(out / name, data)
    except OSError as exc:
        raise VerifyError(f"DIR {str(out)!r}: cannot be written ({exc.strerror or exc})") \
            from None
    for name, _ in files:
        print(out / name)
    return 0
