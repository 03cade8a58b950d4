"""The built site (``make site``) opened in a real browser: headless Chromium via Playwright.

:class:`SiteBrowser` serves the site folder on 127.0.0.1 (a free port) and drives Debian's
``chromium`` (Playwright cannot download a browser of its own here). Every request that would
leave 127.0.0.1 is recorded and aborted, so a check never reaches the network. For each page,
:meth:`SiteBrowser.open` reports the console errors, uncaught exceptions, failed requests and
responses >= 400, requests to other hosts, images that did not load (natural width 0), how many
equations MathJax rendered and which were left as raw TeX, the page's language (``lang``: "ko" on
the Korean section's pages, ``ko/``) and whether its text decoded (UTF-8, no U+FFFD).

``python -m utils.site_check [build/site]`` (``make site CHECK=1``) opens every page, the Korean
section's included, and writes screenshots of the landing page and of the first notebook page
(its top and its first figure), and of the Korean landing page and first Korean notebook page
when the site has them, to ``build/site-screenshots/``;
tests/test_site.py runs the same checks on a small site.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .paths import BUILD_DIR

CHROMIUM_ENV = "KTT_CHROMIUM"
SHOTS = "site-screenshots"

# After the page's own scripts: every image asked to load now, then the ones that failed.
_IMAGES = """async () => {
  const images = [...document.images];
  images.forEach((image) => { image.loading = "eager"; });
  await Promise.all(images.map((image) => image.complete ? null : new Promise((done) => {
    image.addEventListener("load", done); image.addEventListener("error", done);
    setTimeout(done, 10000);
  })));
  return images.filter((image) => !(image.complete && image.naturalWidth > 0))
               .map((image) => image.getAttribute("src"));
}"""

# Sphinx wraps each equation in span.math / div.math; MathJax puts an mjx-container inside.
# Raw "$...$" left in the text of Markdown paragraphs means the parser missed an equation.
_MATH = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const maths = [...document.querySelectorAll("span.math, div.math")];
  const raw = maths.filter((e) => !e.querySelector("mjx-container")).map((e) => e.textContent);
  const prose = [...document.querySelectorAll("article p, article li")]
    .filter((e) => !e.closest(".cell_output, pre, code, .highlight"));
  for (const e of prose) {
    const found = e.textContent.match(/\\$[^$\\s][^$]*\\$/);
    if (found) raw.push(found[0]);
  }
  return {rendered: document.querySelectorAll("mjx-container").length, raw: raw};
}"""

# The page's language and whether its text decoded: a page read in another encoding than the
# one it was written in shows mojibake or U+FFFD (Korean text would).
_TEXT = """() => ({
  lang: document.documentElement.lang || "",
  charset: document.characterSet,
  undecoded: (document.body ? document.body.innerText : "").includes("\\uFFFD"),
})"""
KOREAN = "ko"  # the Korean section's folder (utils/site.py)


def find_chromium() -> str | None:
    """Debian's Chromium (``chromium``), or the browser ``$KTT_CHROMIUM`` names."""
    named = os.environ.get(CHROMIUM_ENV, "").strip()
    if named:
        return named if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What one page did in the browser."""

    path: str
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # requests that failed, responses >= 400
    outside: list[str] = field(default_factory=list)  # requests to other hosts (aborted)
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    math_rendered: int = 0
    raw_math: list[str] = field(default_factory=list)
    lang: str = ""  # the page's <html lang>
    # a charset not UTF-8, text with U+FFFD, a Korean page without lang="ko"
    encoding: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [f"console error: {text}" for text in self.console_errors]
        found += [f"failed: {text}" for text in self.failed]
        found += [f"request outside the site: {url}" for url in self.outside]
        found += [f"image did not load: {src}" for src in self.broken_images]
        found += [f"equation not rendered: {tex}" for tex in self.raw_math]
        found += [f"text: {text}" for text in self.encoding]
        return found


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no line per request on the console
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A page the browser leaves before a file has arrived closes its connection: that
        is not an error of the site (anything else is printed as usual)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteBrowser:
    """A built site served on 127.0.0.1 and a headless Chromium page on it (a context manager).

    ``executable`` defaults to :func:`find_chromium`; RuntimeError when there is none.
    """

    def __init__(self, site: Path, *, executable: str | None = None, width: int = 1280):
        self.site = Path(site).resolve()
        if not (self.site / "index.html").is_file():
            raise FileNotFoundError(f"{self.site} holds no built site (no index.html)")
        self.executable = executable or find_chromium()
        if not self.executable:
            raise RuntimeError(
                "no Chromium: install Debian's (apt-get install chromium) or name one in "
                f"${CHROMIUM_ENV}"
            )
        self.width = width
        self._report: PageReport | None = None

    def __enter__(self) -> SiteBrowser:
        from playwright.sync_api import sync_playwright

        handler = functools.partial(_QuietHandler, directory=str(self.site))
        self._server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._server.server_port}/"
        self._playwright = sync_playwright().start()
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses root
        self._browser = self._playwright.chromium.launch(executable_path=self.executable, args=args)
        self.page = self._browser.new_page(viewport={"width": self.width, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self._note("console_errors", f"exception: {exc}"))
        self.page.on(
            "requestfailed",
            lambda request: self._note("failed", f"{request.url} ({request.failure})"),
        )
        self.page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self._note("failed", f"{response.url} (HTTP {response.status})")
            ),
        )
        return self

    def __exit__(self, *exc) -> None:
        self._browser.close()
        self._playwright.stop()
        self._server.shutdown()
        self._server.server_close()

    def _note(self, kind: str, text: str) -> None:
        if self._report is not None:
            getattr(self._report, kind).append(text)

    def _console(self, message) -> None:
        if message.type == "error":
            self._note("console_errors", message.text)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith((self.base, "data:", "blob:")):
            route.continue_()
        else:
            self._note("outside", url)
            route.abort()

    def open(self, path: str) -> PageReport:
        """Loads a page (a path inside the site, e.g. ``notebooks/01_x.html``) and checks it."""
        self._report = report = PageReport(path)
        self.page.goto(self.base + path, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        report.broken_images = self.page.evaluate(_IMAGES)
        report.images = self.page.evaluate("document.images.length")
        math = self.page.evaluate(_MATH)
        report.math_rendered, report.raw_math = math["rendered"], math["raw"]
        text = self.page.evaluate(_TEXT)
        report.lang = text["lang"]
        if text["charset"].upper() != "UTF-8":
            report.encoding.append(f"read as {text['charset']}, not UTF-8")
        if text["undecoded"]:
            report.encoding.append("U+FFFD in the text (bytes that did not decode)")
        if path.startswith(f"{KOREAN}/") and report.lang != KOREAN:  # site/conf.py sets it
            report.encoding.append(f'lang="{report.lang}" on a page of the Korean section')
        self.page.wait_for_load_state("networkidle")  # what the checks asked for
        return report

    def follow(self, selector: str) -> str:
        """Clicks the first link matching ``selector``; returns the page's title after it."""
        with self.page.expect_navigation(wait_until="load"):
            self.page.click(selector)
        return self.page.title()

    def search(self, word: str) -> list[str]:
        """The pages (hrefs) that the site's own search lists for ``word``."""
        self.page.goto(self.base + f"search.html?q={word}", wait_until="load")
        self.page.wait_for_selector("#search-results .search-summary:not(:empty)")
        return self.page.eval_on_selector_all(
            "#search-results ul.search li > a", "links => links.map(a => a.getAttribute('href'))"
        )

    def screenshot(
        self, path: str, target: Path, *, full_page: bool = True, at: str | None = None
    ) -> Path:
        """A PNG of a page, as a reader sees it once MathJax has run; with ``at`` (a CSS
        selector), the screen that shows the first element it matches."""
        self.open(path)
        if at is not None and self.page.locator(at).count():
            self.page.locator(at).first.scroll_into_view_if_needed()
            self.page.mouse.wheel(0, -150)  # the text above it too
            self.page.wait_for_timeout(300)
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.wait_for_timeout(500)  # the theme's transitions (sidebars) to settle
        self.page.screenshot(path=str(target), full_page=full_page, animations="disabled")
        return target


def pages(site: Path) -> list[str]:
    """The site's pages, landing page first (Sphinx's genindex and search included)."""
    site = Path(site)
    found = sorted(
        str(p.relative_to(site)) for p in site.rglob("*.html") if "_static" not in p.parts
    )
    return sorted(found, key=lambda path: (path != "index.html", path))


def korean_pages(site: Path) -> list[str]:
    """The pages of the Korean section (``ko/``), its landing page first."""
    return [path for path in pages(site) if path.startswith(f"{KOREAN}/")]


def check_site(site: Path, shots: Path | None = None) -> list[PageReport]:
    """Opens every page (the Korean section's too); with ``shots``, writes screenshots of the
    landing page and the first notebook page there, and of the Korean ones if any."""
    with SiteBrowser(site) as browser:
        reports = [browser.open(path) for path in pages(site)]
        if shots is not None:
            for prefix, name in (("", ""), (f"{KOREAN}/", f"{KOREAN}-")):
                landing = f"{prefix}index.html"
                if not (Path(site) / landing).is_file():
                    continue
                notebooks = [path for path in pages(site) if path.startswith(f"{prefix}notebooks/")]
                browser.screenshot(landing, Path(shots) / f"{name}landing.png")
                if notebooks:
                    browser.screenshot(
                        notebooks[0], Path(shots) / f"{name}notebook.png", full_page=False
                    )
                    browser.screenshot(
                        notebooks[0],
                        Path(shots) / f"{name}notebook-figure.png",
                        full_page=False,
                        at=".cell_output img",
                    )
    return reports


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=BUILD_DIR / "site")
    parser.add_argument("--shots", type=Path, default=BUILD_DIR / SHOTS, help="screenshots")
    args = parser.parse_args(argv)
    try:
        reports = check_site(args.site, args.shots)
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"site check: {exc}", file=sys.stderr)
        return 1
    bad = 0
    for report in reports:
        for problem in report.problems:
            print(f"{report.path}: {problem}")
        bad += bool(report.problems)
    images = sum(report.images for report in reports)
    maths = sum(report.math_rendered for report in reports)
    korean = sum(report.path.startswith(f"{KOREAN}/") for report in reports)
    print(
        f"site check: {len(reports)} pages ({korean} in the Korean section), {images} images, "
        f"{maths} equations rendered; {bad} page(s) with problems; screenshots in {args.shots}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
