"""The static slides (tools/slides.py, `make slides`): one offline HTML file and a PDF per deck.

Without Chromium: formulas are drawn at export time, a notebook is cut down for the static deck
(skip cells, widget state, panels), and a small deck's HTML file holds everything it needs and
no code. With Chromium (skipped without it, as tests/test_browser.py is): notebook 08's deck,
exported into a temporary folder, opened from the disk with every request that leaves the
machine failing the test, stepped through with reveal's API; it has RISE's number of slides,
no code, the speaker notes of the notebook's notes cells, its formulas drawn, and its PDF one
page per slide.
"""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("slide_tools", ROOT / "tools" / "slides.py")
slides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slides)

DECK = ROOT / "notebooks" / "08_texture_synthesis.ipynb"  # short, with formulas, notes and a panel
LOCAL = ("file:", "data:", "blob:", "about:")

try:  # Chromium as the browser test launches it; without Chromium or Playwright, skipped
    from tests.test_browser import browser  # noqa: F401 (a fixture)
except pytest.skip.Exception as missing:
    reason = str(missing)

    @pytest.fixture(scope="module")
    def browser():
        pytest.skip(reason)


def cell(source, slide_type="-", kind="markdown", outputs=()):
    metadata = {"slideshow": {"slide_type": slide_type}}
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(source, metadata=metadata)
    return nbformat.v4.new_code_cell(source, metadata=metadata, outputs=list(outputs))


def stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


WIDGET = nbformat.v4.new_output("execute_result", data={
    "text/plain": "VBox(children=(...))",
    "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0}})


def tiny_notebook():
    book = nbformat.v4.new_notebook()
    book.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    book.cells = [
        cell("# A title\n\nThe Gram matrix $G^l$ of a layer.", "slide"),
        cell("import secret_module_name_here", "skip", "code"),
        cell("print('first line of printing')", "-", "code",
             [stream("first\n"), stream("a warning\n", "stderr"), stream("second\n")]),
        cell("What to point at.", "notes"),
        cell("## A formula\n\n$$L = \\frac{\\|G - A\\|^2}{\\|A\\|^2}$$\n\nCode `$HOME` stays.", "slide"),
        cell("### Exercise, left out of the slides", "skip"),
        cell("## Below", "subslide"),
        cell("panel_object_of_the_notebook", "-", "code", [WIDGET]),
    ]
    return book


def test_formulas_drawn_at_export_time():
    text = slides.render_math("Inline $F_{c,p}$, `code $x$`, a price \\$5, and\n\n$$\\frac{1}{HW}\n\\sum_p F$$\n")
    assert text.count('src="data:image/svg+xml;base64,') == 2
    assert "`code $x$`" in text and "\\$5" in text
    assert 'alt="F_{c,p}"' in text and '<p class="tex-display">' in text
    assert "tex-source" in slides.tex_to_html(r"\unknowncommand{x}")  # left as TeX, not dropped


def test_static_version_of_a_notebook():
    book = slides.static_version(tiny_notebook())
    assert "widgets" not in book.metadata
    assert [slides.slide_type(c) for c in book.cells] == ["slide", "-", "notes", "slide", "subslide", "-"]
    assert book.cells[1].outputs == [stream("first\nsecond\n")]  # stderr dropped, lines joined
    [panel] = book.cells[-1].outputs
    assert "make lab" in panel.data["text/html"] and "application/vnd.jupyter.widget-view+json" not in panel.data
    assert "$" not in book.cells[3].source.replace("`$HOME`", "")
    assert slides.rise_slide_count(tiny_notebook()) == 3


def test_html_is_self_contained_and_has_no_code(tmp_path):
    path = tmp_path / "tiny.ipynb"
    nbformat.write(tiny_notebook(), path)
    page = slides.export_html(path, tmp_path / "slides").read_text()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?!data:|#)[a-z]+:""", page) == []  # nothing fetched
    assert re.findall(r"@import|<link\b|<script[^>]*\bsrc=", page) == []
    assert "Reveal.initialize" in page and "reveal.js 4." in page and "Source Sans Pro" in page
    assert "width: 1280, height: 720" in page
    assert page.count('<aside class="notes">') == 1 and "What to point at." in page
    for code in ("print('first line of printing')", "secret_module_name_here", "panel_object_of_the_notebook"):
        assert code not in page
    assert "Exercise, left out" not in page and "a warning" not in page
    assert "first\nsecond" in page


# In the page: every slide's text without its speaker notes, and each slide's number of notes.
SLIDE_TEXT = """() => Reveal.getSlides().map(s => { const c = s.cloneNode(true);
    c.querySelectorAll('aside.notes').forEach(n => n.remove()); return c.textContent; })"""
NOTES = "() => Reveal.getSlides().map(s => s.querySelectorAll('aside.notes').length)"
# The formulas drawn on the slide shown (pictures loaded and on screen).
FORMULAS = """() => [...Reveal.getCurrentSlide().querySelectorAll('img.tex')].filter(img =>
    img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0).length"""


def notes_per_slide(book):
    """The number of notes cells on each of RISE's slides."""
    counts = []
    for c in book.cells:
        kind = slides.slide_type(c)
        if kind in ("slide", "subslide") or not counts:
            counts.append(0)
        counts[-1] += kind == "notes"
    return counts


def formula_count(book, kinds):
    """The formulas ($...$, $$...$$) of a notebook's markdown cells of these slide types."""
    return sum(1 for c in book.cells if c.cell_type == "markdown" and slides.slide_type(c) in kinds
               for m in slides.MATH.finditer(c.source) if m["display"] is not None or m["inline"] is not None)


def page_count(pdf):
    try:
        from pypdf import PdfReader
        return len(PdfReader(pdf).pages)
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", Path(pdf).read_bytes()))


@pytest.fixture(scope="module")
def offline(browser):
    """A browser context in which every request that leaves the machine fails (and is listed)."""
    context = browser.new_context(viewport={"width": slides.WIDTH, "height": slides.HEIGHT})
    context.outside = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(LOCAL):
            request_route.continue_()
        else:
            context.outside.append(url)
            request_route.abort()
    context.route("**/*", route)
    context.on("request", lambda request: request.url.startswith(LOCAL) or context.outside.append(request.url))
    yield context
    context.close()


@pytest.fixture(scope="module")
def deck(offline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("slides")
    html = slides.export_html(DECK, folder)
    return html, slides.export_pdf(html, offline)


@pytest.mark.browser
@pytest.mark.slow
def test_deck_offline_as_rise_shows_it(deck, offline):
    html, _ = deck
    book = nbformat.read(DECK, as_version=4)
    page = offline.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(html.as_uri())
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    total = page.evaluate("Reveal.getTotalSlides()")
    seen, drawn = [page.evaluate("Reveal.getSlidePastCount()")], page.evaluate(FORMULAS)
    while not page.evaluate("Reveal.isLastSlide()"):
        page.keyboard.press("Space")  # as the lecturer steps: the next fragment, subslide or slide
        page.wait_for_timeout(50)
        seen.append(page.evaluate("Reveal.getSlidePastCount()"))
        drawn += page.evaluate(FORMULAS)
    assert total == slides.rise_slide_count(book) and seen == list(range(total))
    texts = page.evaluate(SLIDE_TEXT)
    code = {line.strip() for c in book.cells if c.cell_type == "code"
            for line in c.source.splitlines() if len(line.strip()) >= 20}
    assert page.locator(".jp-CodeCell .jp-InputArea, .jp-CodeMirrorEditor, .jp-CodeCell .jp-InputPrompt").count() == 0
    assert [line for line in code if any(line in text for text in texts)] == []
    assert page.evaluate(NOTES) == notes_per_slide(book)
    assert page.evaluate("Reveal.hasPlugin('notes')")  # S opens the speaker view
    assert drawn == formula_count(book, ("slide", "subslide", "fragment", "-")) > 0
    notes_formulas = page.locator("aside.notes img.tex[src^='data:image/svg+xml']").count()
    assert notes_formulas == formula_count(book, ("notes",))
    assert page.locator(".tex-source").count() == 0
    assert "$$" not in "".join(texts)
    assert errors == [] and offline.outside == []
    page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_speaker_view_offline(deck, offline):
    """`S` opens reveal's speaker view (a window of its own) with the notes of the slide shown."""
    html, _ = deck
    book = nbformat.read(DECK, as_version=4)
    first = next(i for i, count in enumerate(notes_per_slide(book)) if count)
    page = offline.new_page()
    page.goto(f"{html.as_uri()}#/{first}")
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    notes = " ".join(page.evaluate("() => Reveal.getCurrentSlide().querySelector('aside.notes').textContent").split())
    with offline.expect_page() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    assert len(notes) > 40
    speaker.wait_for_function("""text => (document.querySelector('.speaker-controls-notes') || {textContent: ''})
        .textContent.replace(/\\s+/g, ' ').includes(text)""", arg=notes[:40], timeout=20_000)
    assert offline.outside == []
    speaker.close()
    page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_pdf_one_page_per_slide(deck, offline):
    _, pdf = deck
    book = nbformat.read(DECK, as_version=4)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert page_count(pdf) == slides.rise_slide_count(book)
    assert offline.outside == []
