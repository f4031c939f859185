"""A content-addressed cache of results: the same work, on the same code, is done once.

``verify report``, ``verify check`` and ``verify sweep`` store each result under a
**key** that hashes everything the result depends on, and look it up before computing
it again. This module is the engine; it knows no lemma: callers say what a task is
(:func:`key`) and which of their functions must lie in the hashed sources
(:func:`within_sources`).

The key
-------
:func:`key` is the sha256 of a canonical JSON document holding

* the **task**, as the caller describes it (for a check: the lemma, the preset name
  and the whole configuration dictionary, the seed or streams, the draws, the quick
  flag, the known-bad case);
* the **sources**, :func:`source_hash`: every file under the ``verify`` and ``lemmas``
  package folders, code and package data alike (weight files, findings, READMEs),
  except cache folders (``__pycache__``, ``.pytest_cache``, ...) and compiled files,
  hashed as (relative path, size, bytes) in sorted path order; computed once per
  process;
* the **environment**, :func:`environment`: the Python version and implementation,
  the machine type, the versions of numpy, scipy, pandas, scikit-learn, matplotlib,
  seaborn and Pillow, the BLAS (numpy's build configuration name and version, the
  ``OPENBLAS_CORETYPE`` variable, the core type the BLAS runs on as threadpoolctl
  reports it) and the BLAS thread count in force (:func:`verify.threads.policy_threads`).

A byte changed in any lemma, engine module or data file, any field of a
configuration, a library upgrade or another BLAS gives another key: an entry is never
stale, it is simply never found again. Code outside the hashed folders (a check
registered by your own package, a sweep's ``imports``, a network loaded from your own
weight file) is not in the key, so the callers do not cache such work at all.

Storage
-------
Entry ``K`` of kind ``KIND`` lives in ``FOLDER/KIND/K[:2]/K``: a first line
``verify-cache 1``, a one-line JSON header (the key, the payload's length and sha256)
and the payload, a pickle of the result object. On reading, the header's key, the
length and the sha256 of the payload are checked **before** the payload is unpickled;
an entry that fails any check (truncated, corrupt, another key, an unpickling error) is
treated as absent: the work is done again and the entry replaced, never trusted, never
a crash. The checksum guards against damage, not against an adversary: whoever can
write the folder could write a matching checksum, so the folder must be your own (the
default one is under your home), as for any pickle. Entries are written atomically
(:func:`verify.fsio.write_bytes`: a uniquely named temporary file in the same folder,
fsync, ``os.replace``), so two processes storing the same entry at once leave one
whole entry, and a reader sees a whole entry or none.

Where
-----
:func:`default_folder`: ``$VERIFY_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/verify``,
else ``~/.cache/verify``. ``VERIFY_NO_CACHE=1`` turns the default cache off (the test
suite sets it). The commands take ``--cache DIR`` and ``--no-cache``. On a Dask
cluster the workers store what they compute, each under the key of its own sources and
environment, so ``--cache`` must name a folder the workers share. Clearing the cache is
``rm -r`` of the folder; nothing else refers to it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pickle
import platform
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple

#: The packages whose folders are hashed into every key.
SOURCE_PACKAGES = ("verify", "lemmas")
#: Folders never hashed (caches of tools, compiled code).
SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                       ".hypothesis", ".ipynb_checkpoints"})
SKIP_SUFFIXES = (".pyc", ".pyo")
#: Libraries whose versions enter every key (absent ones as null).
LIBRARIES = ("numpy", "scipy", "pandas", "scikit-learn", "matplotlib", "seaborn", "pillow")
#: Environment variables: the cache folder, and turning the default cache off.
ENV_DIR = "VERIFY_CACHE_DIR"
ENV_OFF = "VERIFY_NO_CACHE"
#: The entry format; a new format gives new keys.
FORMAT = 1
MAGIC = b"verify-cache 1\n"

_source_hashes: dict[tuple[str, ...], str] = {}
_environment: dict[str, Any] = {}
_warned: set[str] = set()


# ------------------------------------------------------------------ the key
@lru_cache(maxsize=None)
def source_roots() -> tuple[Path, ...]:
    """The folders of :data:`SOURCE_PACKAGES` (those that can be found), resolved; found
    once per process."""
    roots = []
    for name in SOURCE_PACKAGES:
        spec = importlib.util.find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec is not None else []:
            roots.append(Path(loc).resolve())
    return tuple(roots)


def tree_files(roots: Iterable[str | os.PathLike]) -> list[tuple[str, Path]]:
    """Every file under ``roots`` except cache folders and compiled files, as
    ``(name, path)`` with ``name`` = ``<root folder name>/<relative posix path>``,
    sorted by name."""
    out = []
    for root in roots:
        root = Path(root)
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            for f in files:
                if f.endswith(SKIP_SUFFIXES):
                    continue
                path = Path(folder) / f
                out.append((f"{root.name}/{path.relative_to(root).as_posix()}", path))
    return sorted(out)


def tree_hash(roots: Iterable[str | os.PathLike]) -> str:
    """sha256 over the files of :func:`tree_files`: each one's name, size and bytes, in
    sorted name order (a renamed, added, removed or changed file changes it)."""
    h = hashlib.sha256()
    for name, path in tree_files(roots):
        data = path.read_bytes()
        h.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def source_hash() -> str:
    """:func:`tree_hash` of :func:`source_roots`, computed once per process."""
    roots = source_roots()
    k = tuple(map(str, roots))
    if k not in _source_hashes:
        _source_hashes[k] = tree_hash(roots)
    return _source_hashes[k]


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _blas() -> dict[str, Any]:
    """numpy's BLAS (build name and version), OPENBLAS_CORETYPE and the runtime core
    type of the BLAS libraries numpy and scipy load (threadpoolctl)."""
    import numpy as np

    out: dict[str, Any] = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["numpy_blas"] = [blas.get("name"), blas.get("version")]
    except Exception:  # noqa: BLE001 - older numpy: recorded as unknown
        out["numpy_blas"] = None
    try:
        import scipy.linalg  # noqa: F401 - loads scipy's BLAS too, so the set is stable
        from threadpoolctl import threadpool_info

        out["runtime"] = sorted({(i.get("internal_api"), i.get("version"),
                                  i.get("architecture")) for i in threadpool_info()
                                 if i.get("user_api") == "blas"}, key=str)
    except Exception:  # noqa: BLE001 - no threadpoolctl: the build name only
        out["runtime"] = None
    return out


def environment() -> dict[str, Any]:
    """What of this process enters every key besides the sources (module docstring);
    all but the thread count computed once per process."""
    if not _environment:
        _environment.update({
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
            "libraries": {name: _version(name) for name in LIBRARIES},
            "blas": _blas()})
    from .threads import policy_threads

    try:
        threads: Any = policy_threads()
    except Exception:  # noqa: BLE001 - a malformed variable is refused elsewhere
        threads = os.environ.get("VERIFY_BLAS_THREADS")
    return {**_environment, "blas_threads": threads}


def _canonical(obj: Any) -> Any:
    """JSON for the values a task description may hold besides JSON's own."""
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not a plain value: {type(obj).__name__}")


def key(kind: str, task: Mapping[str, Any]) -> str | None:
    """The key of a result of ``kind`` for ``task`` (a mapping of plain values): sha256
    of the canonical JSON of the task, :func:`source_hash` and :func:`environment`.
    None when ``task`` holds a value that has no canonical form (not cached)."""
    doc = {"format": FORMAT, "kind": kind, "task": task, "sources": source_hash(),
           "environment": environment()}
    try:
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=_canonical)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _module_of(obj: Any) -> str | None:
    while hasattr(obj, "func"):  # functools.partial
        obj = obj.func
    obj = getattr(obj, "__func__", obj)  # bound methods
    return getattr(obj, "__module__", None)


def within_sources(objects: Iterable[Any] = (), modules: Iterable[str] = ()) -> bool:
    """True when every object (a function, class or partial; None is skipped) and every
    named module is defined in a file under :func:`source_roots`: code the key covers."""
    roots = source_roots()
    names = [m for m in modules if m] + [_module_of(o) for o in objects if o is not None]
    for name in names:
        mod = sys.modules.get(name) if name else None
        file = getattr(mod, "__file__", None)
        if not file:
            return False
        path = Path(file).resolve()
        if not any(path.is_relative_to(r) for r in roots):
            return False
    return True


# ------------------------------------------------------------------ the store
class Hit(NamedTuple):
    """A stored value and the sha256 of its payload (the entry's content identity)."""

    value: Any
    digest: str


def _warn_once(folder: Path, exc: BaseException) -> None:
    if str(folder) in _warned:
        return
    _warned.add(str(folder))
    print(f"verify: warning: the result cache {folder} cannot be written "
          f"({getattr(exc, 'strerror', None) or exc}); results are not cached",
          file=sys.stderr)


@dataclass(frozen=True)
class Cache:
    """The entries under ``folder`` (picklable: only the path travels to workers)."""

    folder: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(os.path.abspath(
            os.path.expanduser(os.fspath(self.folder)))))

    def path(self, kind: str, k: str) -> Path:
        """Where entry ``k`` of ``kind`` lives."""
        return self.folder / kind / k[:2] / k

    def get(self, kind: str, k: str) -> Hit | None:
        """The entry's value, or None when it is absent or fails a check (key, length,
        sha256, unpickling); never raises for a damaged entry."""
        try:
            data = self.path(kind, k).read_bytes()
        except OSError:
            return None
        try:
            if not data.startswith(MAGIC):
                return None
            head_end = data.index(b"\n", len(MAGIC))
            head = json.loads(data[len(MAGIC):head_end])
            payload = data[head_end + 1:]
            if head.get("key") != k or head.get("size") != len(payload):
                return None
            digest = hashlib.sha256(payload).hexdigest()
            if head.get("sha256") != digest:
                return None
            return Hit(pickle.loads(payload), digest)  # only after the checksum matched
        except Exception:  # noqa: BLE001 - any damage: recomputed, never trusted
            return None

    def put(self, kind: str, k: str, value: Any) -> str:
        """Store ``value`` atomically; returns its payload's sha256. A folder that
        cannot be written gives one warning on stderr, and the work goes on uncached."""
        from .fsio import write_bytes

        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.sha256(payload).hexdigest()
        head = json.dumps({"key": k, "kind": kind, "size": len(payload), "sha256": digest,
                           "format": FORMAT}, sort_keys=True).encode()
        path = self.path(kind, k)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._tag()
            write_bytes(path, MAGIC + head + b"\n" + payload)
        except OSError as exc:
            _warn_once(self.folder, exc)
        return digest

    def _tag(self) -> None:
        """``CACHEDIR.TAG`` (backup tools skip the folder), once."""
        tag = self.folder / "CACHEDIR.TAG"
        if not tag.exists():
            from .fsio import write_text

            write_text(tag, "Signature: 8a477f597d28d172789f06886806bc55\n"
                            "# the result cache of verify; rm -r this folder to clear it\n")


def default_folder() -> Path:
    """``$VERIFY_CACHE_DIR``, else ``$XDG_CACHE_HOME/verify``, else ``~/.cache/verify``."""
    env = os.environ.get(ENV_DIR, "").strip()
    if env:
        return Path(os.path.expanduser(env))
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "verify"
    return Path.home() / ".cache" / "verify"


def disabled_by_env() -> bool:
    """``VERIFY_NO_CACHE`` is set to something other than empty or ``0``."""
    return os.environ.get(ENV_OFF, "").strip() not in ("", "0")


def resolve(cache: "Cache | str | os.PathLike | bool | None") -> Cache | None:
    """The cache to use: a :class:`Cache` as is; a folder; True for the default
    (:func:`default_folder`, None when :data:`ENV_OFF` is set); None or False: none."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, Cache):
        return cache
    if cache is True:
        return None if disabled_by_env() else Cache(default_folder())
    return Cache(cache)


# ------------------------------------------------------------------ the job
@dataclass(frozen=True)
class CachedJob:
    """A runner job (:func:`verify.runner.run`) with the cache in front, run in the
    worker: ``key(task)`` (None: not cacheable), a hit gives ``hit(task, value,
    digest)``; otherwise ``job(task)``, stored when ``keep(result)``, and
    ``stored(result, digest)`` is returned. The hooks must be module-level functions
    (picklable)."""

    job: Callable[[Any], Any]
    kind: str
    key: Callable[[Any], str | None]
    cache: Cache
    keep: Callable[[Any], bool] = bool
    hit: Callable[[Any, Any, str], Any] | None = None
    stored: Callable[[Any, str], Any] | None = None

    def lookup(self, task: Any) -> Any:
        """The cached result of ``task`` (through ``hit``), or None."""
        k = self.key(task)
        found = None if k is None else self.cache.get(self.kind, k)
        if found is None:
            return None
        return found.value if self.hit is None else self.hit(task, *found)

    def __call__(self, task: Any) -> Any:
        k = self.key(task)
        if k is None:
            return self.job(task)
        found = self.cache.get(self.kind, k)
        if found is not None:
            return found.value if self.hit is None else self.hit(task, *found)
        result = self.job(task)
        if self.keep(result):
            digest = self.cache.put(self.kind, k, result)
            if self.stored is not None:
                result = self.stored(result, digest)
        return result


__all__ = ["Cache", "CachedJob", "Hit", "key", "source_hash", "source_roots", "tree_files",
           "tree_hash", "environment", "within_sources", "default_folder", "resolve",
           "disabled_by_env", "SOURCE_PACKAGES", "LIBRARIES", "ENV_DIR", "ENV_OFF"]
