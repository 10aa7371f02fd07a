"""The course site (tools/book.py, Jupyter Book 1) as a reader meets it, in headless Chromium.

The site is built once per module into a temporary folder, from the notebooks' stored outputs
(nothing runs), with a slide-deck folder holding one stand-in deck (for notebook 03), and
served by a local HTTP server on a free port. Every page is loaded with a listener that records
any request leaving this machine (anything but 127.0.0.1, data: and blob:; such requests are
also aborted, so an offline machine does not wait on them). Checked: no such request on any
page; every <img> has a non-empty alt and has loaded; every formula is typeset by the site's
own MathJax (notebooks 07 to 09 have some); notebook 03's page links to its deck and the link
works, the others (no deck) have none; every notebook page has its Binder and Colab launch
buttons; the site's search (search.html?q=Grad-CAM) finds notebook 03. About 40 s, the build
included (15-20 s).

Needs Chromium (Debian's package; skipped without it, as tests/test_browser.py) and
jupyter-book<2 with sphinx-mathjax-offline (the test extras).
"""

import functools
import http.server
import sys
import threading
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright's Python client is missing: pip install -e '.[test]'")
pytest.importorskip("jupyter_book", reason="Jupyter Book is missing: pip install -e '.[test]'")
pytest.importorskip("sphinx-mathjax-offline", reason="sphinx-mathjax-offline is missing: pip install -e '.[test]'")

from tests.test_browser import browser, free_port  # noqa: E402, F401 (browser: a fixture)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402  (tools/book.py)

NOTEBOOKS = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_DECK = "03_what_the_network_looks_at"
WITH_MATH = ("07_feature_inversion", "08_texture_synthesis", "09_style_transfer")
DECK = "<!DOCTYPE html><html><head><title>stand-in deck</title></head><body><h1>slides</h1></body></html>"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser):
    """The built site, served at http://127.0.0.1:PORT/ (yields (url, html folder))."""
    work = tmp_path_factory.mktemp("book")
    slides = work / "slides"
    slides.mkdir()
    (slides / f"{WITH_DECK}.html").write_text(DECK)
    html = book.build(out=work, slides=slides, quiet=True)
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html
    server.shutdown()
    server.server_close()


def local(url, base):
    return url.startswith((base + "/", "data:", "blob:")) or url == base


@pytest.fixture()
def page(browser, site):
    """A page at 1280x900 whose requests leaving this machine are recorded in page.outside and
    aborted."""
    base, _ = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = []

    def guard(route):
        if local(route.request.url, base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.on("request", lambda request: local(request.url, base) or outside.append(request.url))
    page = context.new_page()
    page.outside = outside
    yield page
    context.close()


# Every formula (Sphinx marks each with the class math) holds MathJax's output.
TYPESET = """() => [...document.querySelectorAll('.math')].every(m => m.querySelector('mjx-container'))"""
IMAGES = """imgs => imgs.map(img => ({src: img.getAttribute('src') || '', alt: (img.getAttribute('alt') || '').trim(),
    loaded: img.complete && img.naturalWidth > 0}))"""


def test_site_pages_offline_with_alt_text(site, page):
    base, html = site
    pages = sorted(path.relative_to(html).as_posix() for path in html.rglob("*.html")
                   if not path.relative_to(html).as_posix().startswith(("_static/", "_sources/")))
    expected = {f"notebooks/{name}.html" for name in NOTEBOOKS} | {"intro.html", "search.html", "index.html",
                                                                    f"slides/{WITH_DECK}.html"}
    assert expected <= set(pages), f"pages missing from the site: {sorted(expected - set(pages))}"
    # index.html only sends the reader on to the home page (intro.html), which is checked below
    page.goto(f"{base}/index.html")
    page.wait_for_url(f"{base}/intro.html")
    pages.remove("index.html")
    problems, images, typeset = [], 0, set()
    for name in pages:
        response = page.goto(f"{base}/{name}", wait_until="load")
        assert response is not None and response.ok, f"{name}: HTTP {response and response.status}"
        page.wait_for_load_state("networkidle")
        for image in page.locator("img").evaluate_all(IMAGES):
            images += 1
            if not image["alt"]:
                problems.append(f"{name}: <img src={image['src'][:80]!r}> has no alt text")
            if not image["loaded"]:
                problems.append(f"{name}: <img src={image['src'][:80]!r}> did not load")
        stem = Path(name).stem
        if name.startswith("notebooks/"):
            launch = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
            for service in ("https://mybinder.org/v2/gh/", "https://colab.research.google.com/github/"):
                if not any(link.startswith(service) and f"notebooks/{stem}.ipynb" in link for link in launch):
                    problems.append(f"{name}: no launch button to {service}")
            decks = page.eval_on_selector_all("a[href*='slides/']", "links => links.map(a => a.href)")
            if stem == WITH_DECK:
                if decks != [f"{base}/slides/{WITH_DECK}.html"]:
                    problems.append(f"{name}: the link to its slide deck is {decks}")
            elif decks:
                problems.append(f"{name}: links to a slide deck that does not exist: {decks}")
        formulas = page.locator(".math").count()
        if formulas:
            try:
                page.wait_for_function(TYPESET, timeout=30_000)
            except playwright_api.TimeoutError:
                problems.append(f"{name}: of {formulas} formulas, MathJax typeset only "
                                f"{page.locator('.math mjx-container').count()}")
            errors = page.locator("mjx-merror").count()
            if errors:
                problems.append(f"{name}: {errors} formulas MathJax could not typeset")
            typeset.add(stem)
    assert not page.outside, "requests that left this machine:\n" + "\n".join(sorted(set(page.outside)))
    assert not problems, "\n".join(problems)
    assert images > 50, f"only {images} pictures on the whole site"
    assert set(WITH_MATH) <= typeset, f"no formulas typeset on {sorted(set(WITH_MATH) - typeset)}"


def test_slide_deck_link_opens_the_deck(site, page):
    base, _ = site
    page.goto(f"{base}/notebooks/{WITH_DECK}.html", wait_until="load")
    page.click("a[href*='slides/']")
    page.wait_for_load_state("load")
    assert page.url == f"{base}/slides/{WITH_DECK}.html"
    assert page.title() == "stand-in deck"
    assert not page.outside


def test_search_finds_grad_cam(site, page):
    base, _ = site
    page.goto(f"{base}/search.html?q=Grad-CAM", wait_until="load")
    page.wait_for_selector("ul.search li a", timeout=60_000)
    found = page.eval_on_selector_all("ul.search li a", "links => links.map(a => a.getAttribute('href'))")
    assert any(link.startswith(f"notebooks/{WITH_DECK}.html") for link in found), found
    assert not page.outside, page.outside
