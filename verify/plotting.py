"""One figure style for every report figure (seaborn theme, Agg backend).

Lemma modules draw their figures with plain matplotlib / seaborn calls; the report
calls them inside :func:`style`, so every figure shares fonts, palette and grid, and
saves them with :func:`png_bytes` (one dpi, the figure's own size, closed after).
Nothing here needs a display: the backend is Agg.
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys
from typing import Any, Callable, Iterator

import matplotlib

if "matplotlib.pyplot" not in sys.modules:
    # reports are written headless; a session that already chose a backend keeps it
    # (figures are saved to PNG bytes, which works on any backend)
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from cycler import cycler  # noqa: E402

#: Resolution of every saved figure (dots per inch).
DPI = 110
#: Default figure size (inches) for one panel.
PANEL_SIZE = (5.0, 3.6)
#: Seaborn palette shared by every figure (distinguishable under colour-blindness).
PALETTE = "colorblind"
#: PNG file signature (the first eight bytes of every PNG file).
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def rc_params() -> dict[str, Any]:
    """The rcParams of the report style: seaborn ``whitegrid`` + ``paper`` context.

    Built once per process (seaborn's style lookups are not free) and copied out.
    """
    return dict(_rc_params())


@functools.lru_cache(maxsize=1)
def _rc_params() -> dict[str, Any]:
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper", font_scale=1.15))
    rc.update({
        "axes.prop_cycle": cycler(color=sns.color_palette(PALETTE)),
        "figure.figsize": PANEL_SIZE,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        # figures lay themselves out (tight_layout); a tight bounding box at save time
        # would draw every figure twice
        "savefig.bbox": None,
        "savefig.facecolor": "white",
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 8.5,
        "legend.frameon": True,
        "image.cmap": "viridis",
    })
    return rc


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which figures are drawn and saved with the report style.

    The previous rcParams are restored on exit (no global state leaks into the
    caller's own plots).
    """
    with matplotlib.rc_context(rc_params()):
        yield


def prune_minor_ticks(fig) -> int:
    """Remove the minor ticks of log axes that would draw nothing; returns how many axes.

    On a log axis matplotlib makes up to eight minor ticks per decade (each with its
    own line and text artists), laid out and drawn even when the style hides minor tick
    marks and grid lines and the formatter gives them no label (spans of more than
    about one decade). Dropping exactly those changes no pixel and saves a large part
    of the figure's cost. Ticks that draw a mark, a grid line or a label are kept.
    """
    from matplotlib.ticker import NullLocator

    pruned = 0
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "log" or isinstance(axis.get_minor_locator(), NullLocator):
                continue
            tick = axis.get_minor_ticks(1)[0]
            if any(a.get_visible() for a in (tick.tick1line, tick.tick2line, tick.gridline)):
                continue  # a visible minor mark or grid line: keep them
            locs = axis.get_minorticklocs()
            if len(locs) and any(axis.get_minor_formatter().format_ticks(locs)):
                continue  # some minor tick is labelled
            axis.set_minor_locator(NullLocator())
            pruned += 1
    return pruned


def tight_layout(fig) -> None:
    """``fig.tight_layout()`` after :func:`prune_minor_ticks` (the same picture, cheaper).

    Figure functions with log axes call this instead of ``fig.tight_layout()``.
    """
    prune_minor_ticks(fig)
    fig.tight_layout()


def _as_figure(obj: Any):
    """A Figure from what a figure function returned (Figure, Axes, FacetGrid)."""
    if isinstance(obj, matplotlib.figure.Figure):
        return obj
    fig = getattr(obj, "figure", None) or getattr(obj, "fig", None)
    if isinstance(fig, matplotlib.figure.Figure):
        return fig
    return None


def _drop_placeholder_layout(fig) -> None:
    """Forget the do-nothing layout engine ``fig.tight_layout()`` leaves behind.

    ``savefig`` runs a whole extra (non-rasterising) draw before saving whenever a
    figure has a layout engine, even matplotlib's placeholder that does nothing; the
    layout was already applied by ``tight_layout``, so the placeholder is dropped (the
    same picture, one draw fewer). Real engines (tight, constrained) are kept.
    """
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if (isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine)
            and not matplotlib.rcParams["figure.autolayout"]
            and not matplotlib.rcParams["figure.constrained_layout.use"]):
        fig.set_layout_engine(None)  # with both rcParams off: no engine at all


def png_bytes(fig) -> bytes:
    """Save ``fig`` as PNG (report dpi) and close it (frees its memory).

    The figure is saved at its own size: figure functions call ``tight_layout`` (or
    place every artist inside the figure), so a tight bounding box, which costs a
    second full draw, is not recomputed here.
    """
    try:
        _drop_placeholder_layout(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches=None)
        return buf.getvalue()
    finally:
        plt.close(fig)


def render(fn: Callable[[Any], Any], result: Any) -> tuple[bytes | None, str | None]:
    """Call one registered figure function on a result and return ``(png, note)``.

    A function that raises, or returns no figure, gives ``(None, note)`` with the
    reason; every figure opened during the call is closed whatever happens.
    """
    before = set(plt.get_fignums())
    try:
        with style():
            out = fn(result)
            fig = _as_figure(out)
            if fig is None:
                return None, (f"figure {getattr(fn, '__name__', fn)!s} returned "
                              f"{type(out).__name__}, not a matplotlib Figure")
            prune_minor_ticks(fig)
            return png_bytes(fig), None
    except Exception as exc:  # noqa: BLE001 - shown in the report, not hidden
        return None, f"figure {getattr(fn, '__name__', fn)!s} failed: {type(exc).__name__}: {exc}"
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)


__all__ = ["DPI", "PANEL_SIZE", "PALETTE", "PNG_SIGNATURE", "rc_params", "style", "png_bytes",
           "prune_minor_ticks", "tight_layout", "render"]
