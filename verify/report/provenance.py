"""Where the numbers came from: versions, commit, seeds, configurations, machine and
timing, recorded in ``results.json`` and shown at the end of both pages.

Results and figures reused from the result cache (:mod:`verify.cache`) are marked: each
``timing`` row has ``cached`` and ``figures_cached`` (its times are those of the run
that stored the entry), ``cache`` holds the folder and the counts, and the totals
``checks_time_s``, ``checks_cpu_s`` and ``figures_time_s`` count only the work done in
this run."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .. import __version__
from ..results import jsonable
from ..rng import describe_layout
from .checks import peak_rss_mb
from .model import Entry

#: Libraries whose versions go into the provenance.
LIBRARIES = ("numpy", "scipy", "sympy", "pandas", "matplotlib", "seaborn", "hypothesis", "tqdm")


def _git(*args: str) -> str | None:
    root = Path(__file__).resolve().parent.parent.parent
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            mod = sys.modules.get(name)
            out[name] = getattr(mod, "__version__", None)
    return out


def _blas_threads() -> str:
    """The BLAS thread policy every check ran under (verify/threads.py), one line."""
    from ..threads import describe_policy

    return describe_policy()


def cache_record(entries: Sequence[Entry], cache: Any = None) -> dict[str, Any]:
    """The provenance's ``cache``: the folder (None: no cache) and how many check results
    and figure sets were reused from it."""
    drawn = [e for e in entries if e.known_bad is None]
    return {"folder": None if cache is None else str(cache.folder),
            "checks": len(entries), "checks_cached": sum(e.cached for e in entries),
            "figure_sets": len(drawn), "figures_cached": sum(e.figures_cached for e in drawn)}


def provenance(entries: Sequence[Entry], *, seed: int, quick: bool, command: str | None,
               started: float, wall_s: float, jobs: int = 1,
               cache: Any = None) -> dict[str, Any]:
    """Where the numbers came from: versions, commit, seeds, configs, machine, timing;
    ``cache`` is the :class:`verify.cache.Cache` the report used, or None."""
    commit = _git("rev-parse", "HEAD")
    dirty = None
    if commit:
        porcelain = _git("status", "--porcelain", "--untracked-files=no")
        dirty = None if porcelain is None else bool(porcelain)
    configs: dict[str, Any] = {}
    for e in entries:
        cfg = {k: v for k, v in e.result.config.items() if k not in ("check", "quick")}
        configs.setdefault(e.result.preset, cfg)
    timing = sorted(({"lemma": e.result.lemma, "preset": e.result.preset,
                      "elapsed_s": round(e.result.elapsed_s, 4),
                      "cpu_s": round(e.cpu_s, 4), "figures_s": round(e.figures_s, 4),
                      "peak_rss_mb_after": None if e.peak_rss_mb is None
                      else round(e.peak_rss_mb, 1), "cached": bool(e.cached),
                      "figures_cached": bool(e.figures_cached)} for e in entries),
                    key=lambda t: -t["elapsed_s"])
    return jsonable({
        "toolkit": "verify", "version": __version__,
        "git_commit": commit, "git_dirty": dirty,
        "command": command or "verify report",
        "argv": list(sys.argv),
        "seed": int(seed), "quick": bool(quick), "jobs": int(jobs),
        "blas_threads": _blas_threads(),
        "seeds": describe_layout(),
        "started_utc": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_s, 3),
        "checks_time_s": round(sum(e.result.elapsed_s for e in entries if not e.cached), 3),
        "checks_cpu_s": round(sum(e.cpu_s for e in entries if not e.cached), 3),
        "figures_time_s": round(sum(e.figures_s for e in entries if not e.figures_cached), 3),
        "cache": cache_record(entries, cache),
        "peak_rss_mb": peak_rss_mb(),
        "libraries": _library_versions(),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "processor": platform.processor() or None, "cpu_count": os.cpu_count(),
                    "python_implementation": platform.python_implementation()},
        "checks": [{"lemma": e.check.id, "preset": e.result.preset,
                    "statement": e.check.statement, "reference": e.check.reference,
                    "settings": e.result.config.get("check", {})} for e in entries],
        "configs": configs,
        "timing": timing,
    })


def provenance_rows(prov: dict[str, Any]) -> list[list[str]]:
    """The provenance as (item, value) rows of the pages' Provenance table."""
    libs = prov.get("libraries", {})
    mach = prov.get("machine", {})
    commit = prov.get("git_commit") or "not a git checkout"
    if prov.get("git_dirty"):
        commit += " (working tree has uncommitted changes)"
    return [
        ["command", str(prov.get("command"))],
        ["toolkit version", str(prov.get("version"))],
        ["git commit", commit],
        ["seed", str(prov.get("seed"))],
        ["seed derivation", str(prov.get("seeds"))],
        ["quick", "yes" if prov.get("quick") else "no"],
        ["checks at once", str(prov.get("jobs", 1)) if not prov.get("scheduler")
         else f"on Dask ({prov['scheduler']})"],
        ["BLAS threads per check", str(prov.get("blas_threads", "not recorded"))],
        ["started (UTC)", str(prov.get("started_utc"))],
        ["wall time", f"{prov.get('wall_time_s', float('nan')):.1f} s (checks "
                      f"{prov.get('checks_time_s', float('nan')):.1f} s, figures "
                      f"{prov.get('figures_time_s', float('nan')):.1f} s; before writing "
                      "the files)"],
        ["result cache", cache_row(prov.get("cache"))],
        ["peak memory", "–" if prov.get("peak_rss_mb") is None
         else f"{prov['peak_rss_mb']:.0f} MB resident (before writing the files)"],
        ["libraries", ", ".join(f"{k} {v}" for k, v in libs.items())],
        ["machine", f"{mach.get('platform')}, {mach.get('cpu_count')} CPUs"
                    + (f", {mach['processor']}" if mach.get("processor") else "")],
    ] + _network_rows(prov.get("network"))


def _network_rows(net: dict[str, Any] | None) -> list[list[str]]:
    """A user's network (``verify report --weights/--torch/--config``): its file and
    SHA-256, and the one line saying what one fixed network can judge."""
    if not net:
        return []
    rows = [["network", f"{net.get('source')}: {net.get('path')}"
                        + (f" ({net['object']})" if net.get("object") else "")
                        + f", SHA-256 {net.get('sha256')}"]]
    if net.get("judged"):
        rows.append(["judged", str(net["judged"])])
    return rows


def cache_row(record: dict[str, Any] | None) -> str:
    """The Provenance table's "result cache" row."""
    if not record:
        return "not recorded"
    if record.get("folder") is None:
        return "off: every check and figure computed in this run"
    return (f"{record['checks_cached']} of {record['checks']} check results and "
            f"{record['figures_cached']} of {record['figure_sets']} figure sets reused from "
            f"{record['folder']} (keyed by the source code, configuration, seed and "
            "libraries; the timing rows of reused ones give the times of the run that "
            "stored them; the totals above count this run's work only)")


__all__ = ["provenance", "provenance_rows", "cache_record", "cache_row", "LIBRARIES"]
