"""Figures, drawn from result objects after the checks returned them (never recomputed).

:func:`render_figures` calls a registration's figure functions on a result. The
:class:`FigureRenderer` does that in forked helper processes while the next checks
run, so the figures' cost overlaps with the checks; anything that goes wrong there (no
``fork``, a result that does not pickle, a dead helper) falls back to drawing in this
process, and the figures are the same either way. Helpers are tied to this process
(:func:`init_helper`): they exit when it dies.

With a result cache (:mod:`verify.cache`) the figures of a result that has a cache
entry are cached too, under :func:`figure_key`: the sha256 of the result's entry (its
content) with the sources and the environment. Only a complete set (every figure drawn,
none replaced by a note) is stored.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, Callable, Sequence

from .. import cache as result_cache
from .. import runner
from ..registry import LemmaCheck, get_check
from ..results import CheckResult
from .model import Entry, FigureOut, slug


def figure_draws(result: CheckResult):
    """Per network draw: the headline margin (positive: the statement holds on that draw),
    failing draws in red, with the failure rate's exact interval against the tolerance."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = result.tables["draws"]
    d = result.draw_summary
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    palette = {"holds": "#2a7d2e", "fails": "#c0392b", "uninformative": "#888888",
               "not applicable": "#bbbbbb"}
    sns.stripplot(data=t, x="margin", hue="verdict", palette=palette, ax=ax, jitter=0.25,
                  size=5, hue_order=[v for v in palette if v in set(t["verdict"])])
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_xlabel("headline margin per draw (bound - statistic; > 0 holds)")
    ax.set_title(f"{result.lemma} on {result.preset}: {d['draws_failed']}/"
                 f"{d['draws_tested']} draws fail, rate in [{d['failure_ci_low']:.3f}, "
                 f"{d['failure_ci_high']:.3f}] vs tolerance {d['tolerance']:g}", fontsize=9)
    return fig


#: ASCII notation of the docstrings -> the Unicode a reader expects in a caption.
_MATH = ((r"\|\|", "‖"), (r"\beps_hat\b", "ε̂"), (r"\beps\b", "ε"), (r"\brho_", "ρ_"),
         (r"\brho\b", "ρ"), (r"\btheta_bar\b", "θ̄"), (r"\btheta\b", "θ"),
         (r"\bsigma_", "σ_"), (r"\bsigma\b", "σ"), (r"\bkappa\b", "κ"),
         (r"\btau\b", "τ"), (r"\balpha\b", "α"), (r"\bgamma\b", "γ"), (r"\bpi\b", "π"),
         (r"<=", "≤"), (r">=", "≥"), (r"->", "→"), (r"\+-", "±"),
         (r"\bgrad J\b", "∇J"), (r"\blog10\b", "log₁₀"), (r"\^2\b", "²"))


def math_text(text: str) -> str:
    """``text`` with the docstrings' ASCII math in Unicode (``||z*||`` -> ``‖z*‖``,
    ``rho_d`` -> ``ρ_d``, ``eps_hat`` -> ``ε̂``, ``<=`` -> ``≤``)."""
    import re

    for pattern, repl in _MATH:
        text = re.sub(pattern, repl, text)
    return text


def caption_of(fn: Callable, n: int = 1) -> str:
    """A figure's caption, complete sentences: its ``caption`` attribute, else the first
    paragraph of its docstring (not the first line, which may stop mid-sentence) without
    the notes on where it is drawn from, math in Unicode, ending with a full stop. A
    figure function without either gets its name in words."""
    import re

    text = getattr(fn, "caption", None)
    if not text:
        doc = (getattr(fn, "__doc__", None) or "").strip()
        text = " ".join(doc.split("\n\n")[0].split())
        # notes for programmers, not readers: where it is drawn from, when it is absent
        code = r"``[^`]*``"
        text = re.sub(rf"[;,.]?\s*[Dd]rawn from (?:{code}|[\w ,'\"\[\]])*", "", text)
        text = re.sub(rf"(^|(?<=\. ))None without (?:{code}|[^.])*\.?\s*", "", text)
        text = text.replace("``", "").strip(" ;,")
    if not text:
        name = getattr(fn, "__name__", f"figure {n}").removeprefix("figure_")
        text = f"Figure {n}: {name.replace('_', ' ')}"
    text = math_text(text)
    if "a" <= text[0] <= "z":
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def render_figures(check: LemmaCheck, result: CheckResult) -> list[FigureOut]:
    """Draw the registration's figures from the result (never recomputes), then, for a
    verdict over network draws, :func:`figure_draws`."""
    # a figure function may say which results it draws (``fn.applies(result)``)
    fns = [fn for fn in check.figures
           if getattr(fn, "applies", None) is None or fn.applies(result)]
    if "draws" in result.tables and "failure_rate" in result.draw_summary:
        fns.append(figure_draws)
    if result.error is not None or not fns:
        return []
    from ..plotting import render

    figs = []
    for n, fn in enumerate(fns, start=1):
        png, note = render(fn, result)
        caption = caption_of(fn, n)
        figs.append(FigureOut(f"figures/{slug(result.lemma)}-{slug(result.preset)}-{n}.png",
                              caption, png, note))
    return figs


def init_helper() -> None:
    """In a forked helper: SIGTERM gets its default action (the CLI's handler, which
    turns it into KeyboardInterrupt, would be caught by a pool's worker loop), and the
    helper is sent SIGTERM when this process dies (:func:`verify.runner.die_with_parent`)."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # not the main thread of this process
        pass
    runner.die_with_parent()


def helper_main(fn: Callable, *args) -> None:
    """Target of a forked helper process: tied to its parent, then ``fn(*args)``."""
    init_helper()
    fn(*args)


def _render_worker(lemma: str, result: CheckResult) -> tuple[list[FigureOut], float]:
    """Figures of one result, drawn in a helper (the registry came with the fork)."""
    t0 = time.perf_counter()
    return render_figures(get_check(lemma), result), time.perf_counter() - t0


def _ready() -> None:
    """A no-op: the first task makes the pool start its helpers now."""


def can_fork_helpers() -> bool:
    """Helpers make sense: ``fork`` exists and there is a second CPU."""
    import multiprocessing

    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


#: The cache's kind of the figure sets.
CACHE_KIND = "figures"


def figure_key(digest: str) -> str | None:
    """The cache key of the figures of the result whose entry has sha256 ``digest``."""
    return result_cache.key(CACHE_KIND, {"result": digest})


class FigureRenderer:
    """Draws figures while the next checks run, in ``workers`` forked helpers.

    The helpers are started at once (before the checks' own workers), so they are
    forked from a process that runs no pool threads yet. ``parallel=None``: helpers
    when :func:`can_fork_helpers`; ``False``: every figure is drawn here in
    :meth:`finish`. ``cache`` (a :class:`verify.cache.Cache` or None): figures of an
    entry with a ``digest`` are taken from it when stored (``figures_cached``; their
    ``figures_s`` is the time the stored drawing took), else drawn and stored.
    """

    def __init__(self, parallel: bool | None, workers: int = 1,
                 cache: result_cache.Cache | None = None):
        import multiprocessing

        if parallel is None:
            parallel = can_fork_helpers()
        self.pool = None
        self.cache = cache
        self.futures: dict[int, Any] = {}
        if parallel:
            from concurrent.futures import ProcessPoolExecutor

            try:
                self.pool = ProcessPoolExecutor(max_workers=max(1, workers),
                                                mp_context=multiprocessing.get_context("fork"),
                                                initializer=init_helper)
                self.pool.submit(_ready).result()
            except Exception:  # noqa: BLE001 - no helper: figures drawn here
                self.close(wait=False)

    def _key(self, entry: Entry) -> str | None:
        if self.cache is None or not entry.digest:
            return None
        return figure_key(entry.digest)

    def _from_cache(self, entry: Entry) -> bool:
        k = self._key(entry)
        found = self.cache.get(CACHE_KIND, k) if k is not None else None
        if found is None:
            return False
        entry.figures, entry.figures_s = found.value
        entry.figures_done = entry.figures_cached = True
        return True

    def _store(self, entry: Entry) -> None:
        k = self._key(entry)
        if k is not None and all(f.png is not None for f in entry.figures):
            self.cache.put(CACHE_KIND, k, (entry.figures, entry.figures_s))

    def submit(self, entry: Entry) -> None:
        if not entry.figures_done and self._from_cache(entry):
            return
        if (self.pool is None or entry.figures_done or entry.result.error is not None
                or not (entry.check.figures or "draws" in entry.result.tables)):
            return
        try:
            self.futures[id(entry)] = self.pool.submit(_render_worker, entry.result.lemma,
                                                       entry.result)
        except Exception:  # noqa: BLE001 - a broken helper: drawn here instead
            pass

    def finish(self, entries: Sequence[Entry]) -> None:
        """Every entry's figures: from its helper, else drawn here."""
        for e in entries:
            if e.figures_done or self._from_cache(e):
                continue
            fut = self.futures.pop(id(e), None)
            if fut is not None:
                try:
                    e.figures, e.figures_s = fut.result()
                    e.figures_done = True
                    self._store(e)
                    continue
                except Exception:  # noqa: BLE001 - drawn here instead, same figures
                    pass
            f0 = time.perf_counter()
            e.figures = render_figures(e.check, e.result)
            e.figures_s = time.perf_counter() - f0
            e.figures_done = True
            self._store(e)

    def close(self, *, wait: bool = True) -> None:
        """Shut the helpers down; ``wait=False`` (an interrupted run) also stops the
        figures they are drawing, so Ctrl-C / SIGTERM return at once."""
        if self.pool is None:
            return
        procs = [] if wait else list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=wait, cancel_futures=True)
        for proc in procs:  # our own helpers, by handle
            if proc.is_alive():
                proc.terminate()
        self.pool = None


__all__ = ["render_figures", "FigureRenderer", "init_helper", "helper_main",
           "can_fork_helpers", "figure_key"]
