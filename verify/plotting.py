"""One figure style for every report figure (seaborn theme, Agg backend).

Lemma modules draw their figures with plain matplotlib / seaborn calls; the report
calls them inside :func:`style`, so every figure shares fonts, palette and grid, and
saves them with :func:`png_bytes` (one dpi, tight bounding box, figure closed after).
Nothing here needs a display: the backend is Agg.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, Callable, Iterator

import matplotlib

matplotlib.use("Agg")  # reports are written headless; no display, no window

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
    """The rcParams of the report style: seaborn ``whitegrid`` + ``paper`` context."""
    rc: dict[str, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper", font_scale=1.15))
    rc.update({
        "axes.prop_cycle": cycler(color=sns.color_palette(PALETTE)),
        "figure.figsize": PANEL_SIZE,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "savefig.bbox": "tight",
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


def _as_figure(obj: Any):
    """A Figure from what a figure function returned (Figure, Axes, FacetGrid)."""
    if isinstance(obj, matplotlib.figure.Figure):
        return obj
    fig = getattr(obj, "figure", None) or getattr(obj, "fig", None)
    if isinstance(fig, matplotlib.figure.Figure):
        return fig
    return None


def png_bytes(fig) -> bytes:
    """Save ``fig`` as PNG (report dpi, tight box) and close it (frees its memory)."""
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
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
            return png_bytes(fig), None
    except Exception as exc:  # noqa: BLE001 - shown in the report, not hidden
        return None, f"figure {getattr(fn, '__name__', fn)!s} failed: {type(exc).__name__}: {exc}"
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)


__all__ = ["DPI", "PANEL_SIZE", "PALETTE", "PNG_SIGNATURE", "rc_params", "style", "png_bytes",
           "render"]
