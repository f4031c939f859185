"""A report page in a real browser: its measurements at a window width, and a screenshot
of its first screen (Debian's headless Chromium, ``chromium-headless-shell`` or
``chromium``; nothing is installed here).

    python -m verify.report.screenshot REPORT_DIR OUT.png [--width 1400] [--height 900]

writes the first screen of ``REPORT_DIR/index.html`` as a PNG. :func:`measure` loads a
copy of a page with a small probe script appended (the report itself carries no
script), waits for it to load, and reads back what the probe wrote into the page:
the body's and the document's scroll widths against the window's inner width, and the
images that did not load. The browser runs with its own throwaway profile, no network
services, no sandbox (as root it has none to drop to) and a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Browser executables tried in order (Debian's package names).
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")
#: Seconds a browser run may take before it is stopped.
TIMEOUT_S = 120
PROBE_ID = "verify-browser-probe"
#: Appended to a copy of the page: measures once everything has loaded, then writes the
#: numbers into the page, where ``--dump-dom`` shows them.
PROBE = """<script>
window.addEventListener("load", function () {
  if (OPEN_DETAILS) {  // what a reader sees with every folded section opened
    Array.prototype.forEach.call(document.querySelectorAll("details"),
                                 function (d) { d.open = true; });
  }
  var imgs = Array.prototype.slice.call(document.images);
  var out = {
    inner_width: window.innerWidth,
    body_scroll_width: document.body.scrollWidth,
    body_client_width: document.body.clientWidth,
    document_scroll_width: document.documentElement.scrollWidth,
    images: imgs.length,
    images_not_loaded: imgs.filter(function (i) {
      return !(i.complete && i.naturalWidth > 0); }).map(function (i) {
      return i.alt || i.src.slice(0, 40); })
  };
  var pre = document.createElement("pre");
  pre.id = "%s";
  pre.textContent = JSON.stringify(out);
  pre.style.display = "none";
  document.body.appendChild(pre);
});
</script>""" % PROBE_ID


def find_browser() -> str | None:
    """The path of a headless-capable Chromium, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], width: int, height: int) -> subprocess.CompletedProcess:
    browser = find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium found (tried " + ", ".join(BROWSERS) + "); "
                                "on Debian: apt-get install chromium-headless-shell")
    with tempfile.TemporaryDirectory(prefix="verify-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--window-size={width},{height}", "--virtual-time-budget=10000", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S,
                              stdin=subprocess.DEVNULL)


def measure(page: str | os.PathLike, width: int = 1400, height: int = 900, *,
            open_details: bool = True) -> dict[str, Any]:
    """Load ``page`` (an HTML file) at ``width`` x ``height`` and return the probe's
    measurements: ``inner_width``, ``body_scroll_width``, ``body_client_width``,
    ``document_scroll_width``, ``images`` and ``images_not_loaded`` (alt texts). With
    ``open_details`` every ``<details>`` is opened first (the widest the page gets)."""
    html = Path(page).read_text(encoding="utf-8")
    at = html.rfind("</body>")
    if at < 0:
        raise ValueError(f"{page}: no </body>")
    with tempfile.TemporaryDirectory(prefix="verify-probe-") as tmp:
        probe = Path(tmp) / "probe.html"
        script = PROBE.replace("OPEN_DETAILS", "true" if open_details else "false")
        probe.write_text(html[:at] + script + html[at:], encoding="utf-8")
        done = _run(["--dump-dom", probe.as_uri()], width, height)
    start = done.stdout.find(f'id="{PROBE_ID}"')
    if start < 0:
        raise RuntimeError(f"the browser gave no measurement (exit {done.returncode}): "
                           + (done.stderr.strip().splitlines() or ["no output"])[-1])
    body = done.stdout[done.stdout.index(">", start) + 1:]
    import html as _html

    return json.loads(_html.unescape(body[:body.index("</pre>")]))


def screenshot(page: str | os.PathLike, out: str | os.PathLike, width: int = 1400,
               height: int = 900) -> Path:
    """Write the first screen (``width`` x ``height``) of ``page`` as a PNG to ``out``."""
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _run([f"--screenshot={out}", Path(page).absolute().as_uri()], width, height)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"the browser wrote no screenshot (exit {done.returncode}): "
                           + (done.stderr.strip().splitlines() or ["no output"])[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m verify.report.screenshot",
                                description="A PNG of the first screen of a report's "
                                            "index.html, in headless Chromium.")
    p.add_argument("report", metavar="REPORT_DIR", help="a folder written by verify report")
    p.add_argument("out", metavar="OUT.png", help="the PNG to write")
    p.add_argument("--width", type=int, default=1400, help="window width (default 1400)")
    p.add_argument("--height", type=int, default=900, help="window height (default 900)")
    args = p.parse_args(argv)
    page = Path(args.report) / "index.html"
    if not page.is_file():
        print(f"screenshot: error: {str(page)!r} is not a file", file=sys.stderr)
        return 2
    if not str(args.out).lower().endswith(".png"):
        print(f"screenshot: error: OUT.png: expected a file name ending in .png, got "
              f"{args.out!r}", file=sys.stderr)
        return 2
    try:
        path = screenshot(page, args.out, args.width, args.height)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"screenshot: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
