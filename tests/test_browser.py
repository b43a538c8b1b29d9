"""The built book in a real browser: Debian's Chromium, headless, driven by Playwright.

One browser opens every page of the table of contents, in reading order, from an HTTP server
on loopback that serves the built site, and refuses every request to another host (the book
must read offline). Each test below checks one thing over all the pages. A screenshot of each
chapter page and of the verification page goes to _build/screenshots/.

CASEBOOK_BROWSER=off skips these tests; CASEBOOK_SITE=_build/site/cpu/_build/html checks a
site built earlier instead of building one (the quick loop while working on the pages).
"""

import functools
import http.server
import os
import re
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from test_book import ROOT, built  # the site test_book.py built: one build per test run

from casebook import book

CHROMIUM = os.environ.get("CASEBOOK_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "_build" / "screenshots"

pytestmark = [
    pytest.mark.notebooks,
    pytest.mark.skipif(os.environ.get("CASEBOOK_BROWSER") == "off", reason="CASEBOOK_BROWSER=off"),
]

# In the page, after MathJax has typeset it: what a reader would see as broken.
INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = [...document.images];
  await Promise.all(images.map((img) => {
    img.loading = "eager";  // lazy images below the fold load too
    return img.complete ? null : new Promise((done) => {
      img.addEventListener("load", done); img.addEventListener("error", done);
      setTimeout(done, 10000);
    });
  }));
  await document.fonts.ready;  // MathJax's web fonts, before the next page aborts them
  const article = document.querySelector("article") || document.body;
  const skip = "pre, code, script, style, mjx-container, .highlight, textarea";
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const text = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) text.push(node.textContent);
  }
  return {
    height: document.documentElement.scrollHeight,
    mathjax: Boolean(window.MathJax && MathJax.version),
    math: document.querySelectorAll(".math").length,
    typeset: [...document.querySelectorAll(".math")]
      .filter((el) => el.querySelector("mjx-container")).length,
    text: text.join(" "),
    images: images.map((img) => ({
      src: img.currentSrc || img.src, width: img.naturalWidth, alt: img.alt,
    })),
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
  };
}"""

# Pixels, at the 1280 x 900 window: about 45 screens. A JPEG cannot be taller than 65,535, so a
# page past that has no screenshot either (Chromium writes an empty file).
TALLEST = 40_000

RAW_MATH = re.compile(r"\$\$|\\\(|\\\[|\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$")


class Server(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test log for failures
        pass


@pytest.fixture(scope="module")
def visited(request):
    """Open every page once; returns {page: what the browser saw}."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `sudo apt-get install chromium` (Debian), or point "
            "CASEBOOK_CHROMIUM at one; CASEBOOK_BROWSER=off skips the browser tests"
        )
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if os.environ.get("CASEBOOK_SITE"):
        html = Path(os.environ["CASEBOOK_SITE"]).resolve()
    else:
        profile, _ = request.getfixturevalue("executed")
        _, html = built(profile)
    handler = functools.partial(Server, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.*"):
        old.unlink()
    seen = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            outside = []
            context.route(
                re.compile(r"^(?!" + re.escape(base) + ")"),
                lambda route: (outside.append(route.request.url), route.abort()),
            )
            page = context.new_page()
            errors, failed = [], []
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
            page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url} {r.status}"))
            for name in book.toc_files(ROOT):
                errors.clear(), failed.clear(), outside.clear()
                start = time.perf_counter()
                page.goto(base + f"{name}.html", wait_until="load")
                found = page.evaluate(INSPECT)
                found["inspected"] = time.perf_counter() - start
                if name.startswith("chapters/") or name == "verification":
                    shot = SCREENSHOTS / f"{name.removeprefix('chapters/').replace('/', '__')}.jpg"
                    page.screenshot(path=shot, full_page=True, type="jpeg", quality=70)
                found.update(
                    errors=list(errors),
                    failed=list(failed),
                    outside=list(outside),
                    seconds=time.perf_counter() - start,
                )
                seen[name] = found
            browser.close()
    finally:
        server.shutdown()
    return {"html": html, "base": base, "pages": seen}


def test_every_page_opens_without_a_console_error(visited):
    problems = {n: p["errors"] for n, p in visited["pages"].items() if p["errors"]}
    assert not problems, problems


def test_no_page_asks_for_another_host_or_a_missing_file(visited):
    problems = {
        name: page["outside"] + page["failed"]
        for name, page in visited["pages"].items()
        if page["outside"] or page["failed"]
    }
    assert not problems, problems


def test_every_internal_link_reaches_a_page_and_its_anchor(visited):
    html, base = visited["html"], visited["base"]
    ids = {}

    def anchors(path):
        if path not in ids:
            ids[path] = set(re.findall(r'\sid="([^"]+)"', path.read_text(errors="replace")))
        return ids[path]

    broken = []
    for name, page in visited["pages"].items():
        for link in page["links"]:
            if not link.startswith(base):
                continue
            url = urllib.parse.urlsplit(link)
            target = html / urllib.parse.unquote(url.path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{name}: {link}")
            elif url.fragment and target.suffix == ".html":
                if urllib.parse.unquote(url.fragment) not in anchors(target):
                    broken.append(f"{name}: {link} (no such anchor)")
    assert not broken, "\n".join(sorted(set(broken)))


def test_every_image_and_figure_has_pixels(visited):
    empty = [
        f"{name}: {image['src']}"
        for name, page in visited["pages"].items()
        for image in page["images"]
        if image["width"] == 0
    ]
    assert not empty, "\n".join(empty)
    chapters = [p for n, p in visited["pages"].items() if n.startswith("chapters/") and "/0" in n]
    assert sum(len(p["images"]) for p in chapters) > len(chapters)  # figures reached the pages


def test_every_image_says_in_words_what_it_shows(visited):
    """Alt text on every image (a figure cell's ``mystnb.image.alt``); without it a screen
    reader reads out the file name, which is what Sphinx puts in ``alt``."""
    unnamed = [
        f"{name}: {image['src']} (alt {image['alt']!r})"
        for name, page in visited["pages"].items()
        for image in page["images"]
        if len(image["alt"].split()) < 2 or re.search(r"\.(png|jpe?g|svg|gif)$", image["alt"])
    ]
    assert not unnamed, "\n".join(unnamed)


def test_math_is_typeset_by_mathjax_and_no_tex_is_left_raw(visited):
    problems = []
    for name, page in visited["pages"].items():
        if page["math"] and not page["mathjax"]:
            problems.append(f"{name}: {page['math']} formulas and no MathJax")
        elif page["typeset"] < page["math"]:
            problems.append(f"{name}: {page['math'] - page['typeset']} formulas not typeset")
        raw = RAW_MATH.search(page["text"])
        if raw:
            problems.append(f"{name}: raw TeX {page['text'][raw.start() - 40 : raw.end() + 40]!r}")
    assert not problems, "\n".join(problems)
    assert sum(page["typeset"] for page in visited["pages"].values()) > 0


def test_each_chapter_page_has_a_screenshot(visited):
    chapters = [name for name in visited["pages"] if name.startswith("chapters/")]
    shots = sorted(SCREENSHOTS.glob("*.jpg"))
    assert len(shots) == len(chapters) + 1  # and the verification page
    blank = {s.name: s.stat().st_size for s in shots if s.stat().st_size <= 10_000}
    assert not blank, f"empty or nearly empty screenshots (bytes): {blank}"


def test_no_page_is_too_long_to_read(visited):
    """A page a reader scrolls through for more than about 45 screens hides what it says; fold
    its long tables (as the Verification page does the GPU facts) or split it."""
    tall = {n: p["height"] for n, p in visited["pages"].items() if p["height"] > TALLEST}
    assert not tall, f"taller than {TALLEST:,} px: {tall}"


def test_pages_open_quickly(visited):
    for name, page in visited["pages"].items():
        print(f"{name}: {page['inspected']:.1f} s to open, {page['seconds']:.1f} s in all")
    slow = {n: round(p["seconds"], 1) for n, p in visited["pages"].items() if p["seconds"] > 30}
    assert not slow, slow
