"""Open a Snakemake HTML report in headless Chromium as a person would, and look at it.

The report is one page run by JavaScript (React): what it shows depends on where one clicks. A copy of
the page gets two small scripts: one, first in <head>, records every script error and console.error;
one, after load, takes the steps a click would (``app.showCategory(...)``, ``app.setView(...)``) and then
writes into <body> attributes the errors seen and the size of every image shown. Chromium renders the
copy, dumps the DOM and takes a screenshot.

An image that is an SVG (every figure of the report) is also parsed by Chromium and laid out in the page,
hidden, at its own size: its text elements, as Chromium reads and measures them with its fonts, come
back in ``View.texts`` (what a reader of the figure sees, which the image element itself does not tell).

Also a command, for the README's screenshots:
    python tests/report_browser.py report.html docs/img
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from descriptor_pipeline.layout import Results

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")

_RECORD_ERRORS = """<script>
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push("error: " + e.message));
window.addEventListener("unhandledrejection", (e) => window.__errors.push("rejection: " + e.reason));
(function () {
  const original = console.error;
  console.error = function (...args) { window.__errors.push("console.error: " + args.join(" ")); original.apply(console, args); };
})();
</script>"""

_AFTER_LOAD = """<script>
function __svgTexts(img) {
  // an SVG image's text elements: [text, x, y, width, height] in the SVG's own pixels, laid out hidden
  if (!img.src.startsWith("data:image/svg+xml")) return null;
  const comma = img.src.indexOf(",");
  const data = img.src.slice(comma + 1);
  const bytes = img.src.slice(0, comma).endsWith(";base64")
    ? Uint8Array.from(atob(data), (c) => c.charCodeAt(0)) : new TextEncoder().encode(decodeURIComponent(data));
  const doc = new DOMParser().parseFromString(new TextDecoder().decode(bytes), "image/svg+xml");
  if (doc.querySelector("parsererror")) return [["parsererror: " + doc.querySelector("parsererror").textContent, 0, 0, 0, 0]];
  const holder = document.createElement("div");
  holder.style.cssText = "position:absolute;left:0;top:0;visibility:hidden";
  const svg = holder.appendChild(document.importNode(doc.documentElement, true));
  document.body.appendChild(holder);
  const origin = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll("text")].map((t) => {
    const r = t.getBoundingClientRect();
    return [t.textContent, r.x - origin.x, r.y - origin.y, r.width, r.height];
  });
  holder.remove();
  return texts;
}
window.addEventListener("load", () => setTimeout(() => {
  try { %s } catch (e) { window.__errors.push("navigation: " + e); }
  setTimeout(() => {
    const shown = [...document.querySelectorAll("img")];
    const images = shown.map((i) => [i.complete, i.naturalWidth, i.naturalHeight]);
    const frames = [...document.querySelectorAll("iframe")].map((f) => f.src.slice(0, 40));
    let texts = [];
    try { texts = shown.map(__svgTexts); } catch (e) { window.__errors.push("svg texts: " + e); }
    document.body.setAttribute("data-errors", JSON.stringify(window.__errors));
    document.body.setAttribute("data-images", JSON.stringify(images));
    document.body.setAttribute("data-frames", JSON.stringify(frames));
    document.body.setAttribute("data-texts", JSON.stringify(texts));
    document.body.setAttribute("data-done", "1");
  }, 1000);
}, 200));
</script>"""


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class View:
    """What Chromium showed: the DOM after the steps, errors, images (complete, width, height), iframes,
    and per image (in the order of ``images``) its SVG text elements as (text, x, y, width, height) in
    the SVG's pixels, or None for an image that is no SVG."""

    dom: str
    errors: list[str]
    images: list[list]
    frames: list[str]
    screenshot: Path | None
    texts: list[list[tuple[str, float, float, float, float]] | None]

    def figure_texts(self) -> list[tuple[str, float, float, float, float]]:
        """The text elements of the one large SVG image shown (the figure, not the logo)."""
        shown = [k for k, (complete, width, _) in enumerate(self.images) if complete and width > 100]
        assert len(shown) == 1, self.images
        texts = self.texts[shown[0]]
        assert texts is not None, "the figure shown is no SVG"
        return [tuple(t) for t in texts]


def show_result(path: str) -> str:
    """The steps of clicking result ``path`` (a key of the report's ``results``) in its category."""
    p = json.dumps(path)
    return (
        f"const entry = results[{p}];"
        "const [category, subcategory] = Object.entries(categories).flatMap(([c, subs]) =>"
        f"  Object.entries(subs).filter(([s, paths]) => paths.includes({p})).map(([s]) => [c, s]))[0];"
        "const kind = entry.mime_type.startsWith('image/') ? 'img' : 'html';"
        "app.setView({navbarMode: 'subcategory', category: category, subcategory: subcategory,"
        f"             content: kind, contentPath: entry.data_uri, resultPath: {p}}});"
    )


def _attribute(dom: str, name: str) -> str:
    match = re.search(rf'<body[^>]*\s{name}="([^"]*)"', dom)
    if match is None:
        raise AssertionError(f"the page did not finish its checks ({name} missing): {dom[:500]}")
    return html.unescape(match.group(1))


def open_report(report: Path, steps: str = "", screenshot: Path | None = None, size: str = "1400,1000",
                chromium: str | None = None, timeout: float = 60, attempts: int = 3) -> View:
    """Render ``report`` after ``steps`` (JavaScript); optionally save a PNG screenshot.

    Headless Chromium now and then hangs for good under ``--virtual-time-budget`` on a loaded machine
    (CI saw a render never return in 120 s): a render that has not returned after ``timeout`` seconds
    is killed with its whole process group and tried again in a fresh profile, up to ``attempts`` times.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found (apt-get install chromium)")
    text = report.read_text(encoding="utf-8")
    head = text.index("<head>") + len("<head>")
    body_end = text.rindex("</body>")
    page = text[:head] + _RECORD_ERRORS + text[head:body_end] + _AFTER_LOAD % steps + text[body_end:]
    with tempfile.TemporaryDirectory(prefix="report-view-") as tmp:
        copy = Path(tmp) / "report.html"
        copy.write_text(page, encoding="utf-8")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
        dom = _render(chromium, copy, screenshot, size, Path(tmp), timeout, attempts)
    return View(dom, json.loads(_attribute(dom, "data-errors")), json.loads(_attribute(dom, "data-images")),
                json.loads(_attribute(dom, "data-frames")), screenshot, json.loads(_attribute(dom, "data-texts")))


def _render(chromium: str, page: Path, screenshot: Path | None, size: str, tmp: Path, timeout: float,
            attempts: int) -> str:
    """The DOM Chromium dumps for ``page`` (and the screenshot), retried after a hang."""
    hangs = []
    for attempt in range(attempts):
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--disable-background-networking", "--disable-extensions",
                   "--hide-scrollbars", f"--window-size={size}", "--virtual-time-budget=15000",
                   f"--user-data-dir={tmp}/profile-{attempt}"]
        if screenshot is not None:
            command.append(f"--screenshot={screenshot}")
        command += ["--dump-dom", page.as_uri()]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            hangs.append(f"attempt {attempt + 1} hung for {timeout:.0f} s")
            continue
        if process.returncode != 0:
            raise RuntimeError(f"Chromium exited with {process.returncode} on {page}: {err[-2000:]}")
        return out
    raise RuntimeError(f"Chromium never finished rendering {page}: {'; '.join(hangs)}")


def main(argv: list[str]) -> int:
    """Screenshots of the landing page and of a few figures of ``argv[0]`` into the folder ``argv[1]``."""
    report, out = Path(argv[0]), Path(argv[1])
    run = Results()
    shots = {
        "report-overview.png": show_result(str(run.figure("funnel"))),
        "report-similarity.png": show_result(str(run.figure("similarity", "spearman"))),
        "report-clusters.png": show_result(str(run.figure("largest_clusters", "rdc"))),
    }
    for name, steps in shots.items():
        view = open_report(report, steps, screenshot=out / name, size="1400,900")
        print(f"{out / name}: errors {view.errors}, images {view.images}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
