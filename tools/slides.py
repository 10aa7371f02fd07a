"""Static slides for a lecture hall with no kernel (`make slides`): every notebook's deck as one
self-contained HTML file and a PDF.

For each notebooks/NN_topic.ipynb this writes, from the outputs stored in the notebook (nothing
is executed):

- slides/NN_topic.html: the RISE deck as a reveal.js page that needs nothing but a browser.
  nbconvert's slides exporter lays the cells out as RISE does (slide, subslide, fragment, notes,
  skip); the code of every cell is left out (its outputs stay), notes cells become reveal's speaker
  notes (press `S`), skip cells are left out. Everything the page needs is inside the file:
  reveal.js 4.4.0 (its script, its speaker-notes plugin, reveal.css and the "white" theme) and the
  theme's Source Sans Pro fonts, taken from the copy that jupyterlab-rise installs, so the deck
  looks as RISE shows it; JupyterLab's stylesheets from nbconvert's lab template and
  notebooks/rise.css; the figures are data: URIs already. Formulas ($...$, $$...$$) are drawn to
  SVG here, at export time, by matplotlib's mathtext (Computer Modern), so no MathJax is needed
  (mathtext knows most of TeX's math but not environments such as \begin{aligned}: such a
  formula stays as its TeX source, and the tests say so). A panel (its widgets need the running
  kernel) becomes a line saying where to find it. Slides are 1280x720, as the RISE decks, and
  scale to the screen; `S` opens reveal's speaker view, with the notes.
- slides/NN_topic.pdf: the same page printed by headless Chromium (reveal's print-pdf mode,
  through Playwright): one 1280x720 px page per slide, no notes.

    python tools/slides.py [NN ...]    # all decks, or those whose name starts with NN

slides/ is git-ignored. The PDFs need Chromium (Debian's `chromium` package) and Playwright's
Python client (the test extras); without them only the HTML files are written (exit status 1).
"""

import base64
import functools
import html
import io
import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SLIDES = ROOT / "slides"
WIDTH, HEIGHT = 1280, 720  # the RISE decks' size (tests/test_browser.py's projector)
PANEL_NOTE = ("The panel needs the running notebook: <code>make lab</code>, then <code>Alt+R</code> "
              "for these slides with their panels, or <code>make demo</code> for every panel on one page.")
MATH_SIZE = 20  # points: formulas are drawn at this size, then scaled with the text around them
MATH_SCALE = 1.2  # Computer Modern looks smaller than the slides' sans-serif at the same size
DISPLAY_SCALE = 1.5  # a formula on a line of its own: as large as the lecture's


# reveal.js and RISE's stylesheet, as jupyterlab-rise installs them: webpack chunks whose source
# maps hold the original files (the stylesheets wrapped in css-loader modules).
RISE_FILES = ("node_modules/reveal.js/", "packages/application/style/base.css")


@functools.cache
def _rise_sources():
    import jupyterlab_rise
    static = Path(jupyterlab_rise.__file__).parent / "static"
    sources = {}
    for path in sorted(static.glob("*.js.map")):
        raw = path.read_bytes()
        if not any(name.encode() in raw for name in RISE_FILES):
            continue
        source_map = json.loads(raw)
        for name, content in zip(source_map["sources"], source_map.get("sourcesContent") or ()):
            if content and "?" not in name and any(part in name for part in RISE_FILES):
                sources[re.sub(r"^.*?(node_modules|packages)/", "", name)] = content
    return sources, static


def _rise_file(name):
    sources, static = _rise_sources()
    if name not in sources:
        raise FileNotFoundError(f"{name} is not in jupyterlab-rise's files ({static}): is jupyterlab-rise "
                                "0.43 installed (pip install -e .)?")
    return sources[name]


def _css(name):
    """A stylesheet (of reveal.js's dist, or RISE's): the original file, as css-loader's module
    embeds it in its own source map."""
    module = _rise_file(name)
    start = module.rindex('{"version":3')
    embedded, _ = json.JSONDecoder().raw_decode(module, start)
    return embedded["sourcesContent"][0]


def _module(name, variable):
    """An ES module of reveal.js's dist whose default export becomes `window.<variable>`, ready to
    sit inside a <script> element: what the HTML parser would read as the element's end or as a
    comment (found only in the code's strings and regular expressions) is escaped."""
    code, count = re.subn(r"\bexport\s+default\b", f"window.{variable} =", _rise_file(name))
    if count != 1:
        raise ValueError(f"{name}: expected one default export, found {count}")
    code = re.sub(r"^//# sourceMappingURL=.*$", "", code, flags=re.M)
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.I)
    return re.sub(r"<(!--|script)", r"\\x3C\1", code, flags=re.I)


def _font_faces():
    """@font-face rules for the white theme's Source Sans Pro, from jupyterlab-rise's woff files
    (their names are hashes: each is read to find its family, weight and style)."""
    from fontTools.ttLib import TTFont
    _, static = _rise_sources()
    rules = []
    for path in sorted(static.glob("*.woff")):
        font = TTFont(path, lazy=True)
        family, style = font["name"].getDebugName(1) or "", font["name"].getDebugName(2) or ""
        if family.startswith("Source Sans Pro"):
            data = base64.b64encode(path.read_bytes()).decode()
            rules.append(f"@font-face {{ font-family: 'Source Sans Pro'; src: url(data:font/woff;base64,{data}) "
                         f"format('woff'); font-weight: {font['OS/2'].usWeightClass}; "
                         f"font-style: {'italic' if 'Italic' in style else 'normal'}; }}")
        font.close()
    return "\n".join(rules)


@functools.cache
def reveal_assets():
    """What every deck inlines: reveal's script and notes plugin, reveal.css, the white theme
    (its @import of the fonts' stylesheet replaced by the fonts themselves) and RISE's own
    stylesheet (whose @imports, JupyterLab's theme and reveal.css, are inlined apart), and
    notebooks/rise.css."""
    theme = re.sub(r"@import url\([^)]*\);", "", _css("reveal.js/dist/theme/white.css"))
    rise = re.sub(r"@import url\([^)]*\);", "", _css("application/style/base.css"))
    # RISE eases its switch between notebook and slides (0.2 s on every property of the slides,
    # their scale included); a deck that is only slides has no such switch.
    rise = re.sub(r"transition-(property|duration|timing-function):[^;]*;", "", rise)
    return {
        "reveal_js": _module("reveal.js/dist/reveal.esm.js", "Reveal"),
        "notes_js": _module("reveal.js/plugin/notes/notes.esm.js", "RevealNotes"),
        "reveal_css": _css("reveal.js/dist/reveal.css"),
        "theme_css": _font_faces() + "\n" + theme + "\n" + rise,
        "rise_css": (NOTEBOOKS / "rise.css").read_text(),
    }


# Formulas. Code spans and fenced blocks are kept as they are; $$...$$ is display math.
MATH = re.compile(r"(?P<fence>^```.*?^```)|(?P<code>`[^`\n]*`)|\$\$(?P<display>.+?)\$\$"
                  r"|(?<![\\$\w])\$(?P<inline>[^$\n]+?)\$(?!\w)", re.S | re.M)


@functools.cache
def tex_to_html(tex, display=False):
    """One formula as an <img> of an SVG drawn by matplotlib's mathtext (glyphs as paths: no
    font needed), sized in em so it scales with the text around it; the TeX source as it was if
    mathtext cannot draw it."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser
    source = " ".join(tex.split())  # mathtext draws one line: a formula's line breaks are spaces
    if display:  # fractions as large as on a line of their own
        source = re.sub(r"\\frac(?![a-zA-Z])", r"\\dfrac", source)
    prop = FontProperties(size=MATH_SIZE, math_fontfamily="cm")
    settings = {"svg.fonttype": "path", "svg.hashsalt": "slides"}
    try:
        with rc_context(settings):
            width, height, depth, _, _ = MathTextParser("path").parse(f"${source}$", dpi=72, prop=prop)
            figure = Figure(figsize=(width / 72, height / 72))
            figure.text(0, depth / height, f"${source}$", fontproperties=prop)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", dpi=72, transparent=True, metadata={"Date": None})
    except ValueError:
        delimiter = "$$" if display else "$"
        return f'<span class="tex-source">{html.escape(delimiter + tex + delimiter)}</span>'
    em = (DISPLAY_SCALE if display else MATH_SCALE) / MATH_SIZE
    style = f"width:{width * em:.3f}em;height:{height * em:.3f}em;vertical-align:{-depth * em:.3f}em"
    data = base64.b64encode(buffer.getvalue()).decode()
    alt = html.escape(tex.strip(), quote=True)
    img = f'<img class="tex" alt="{alt}" style="{style}" src="data:image/svg+xml;base64,{data}">'
    return f'<p class="tex-display">{img}</p>' if display else img


def render_math(markdown):
    """A markdown cell's source with each formula replaced by its picture (tex_to_html)."""
    def replace(match):
        if match["display"] is not None:
            return "\n\n" + tex_to_html(match["display"], display=True) + "\n\n"
        if match["inline"] is not None:
            return tex_to_html(match["inline"])
        return match[0]
    return MATH.sub(replace, markdown)


def slide_type(cell):
    return cell.metadata.get("slideshow", {}).get("slide_type", "-")


def rise_slide_count(book):
    """How many slides RISE shows for a notebook: its cells of type slide or subslide."""
    return sum(slide_type(cell) in ("slide", "subslide") for cell in book.cells)


def static_version(book):
    """A copy of a notebook ready for the static deck: formulas drawn, skip cells and stderr
    dropped, consecutive printed lines joined, each panel (widget output) replaced by a line
    saying where to find it, and no widget state (nbconvert would load the widget manager from a
    CDN for it)."""
    book = nbformat.from_dict(book)  # a deep copy
    book.metadata.pop("widgets", None)
    book.cells = [cell for cell in book.cells if slide_type(cell) != "skip"]
    for cell in book.cells:
        if cell.cell_type == "markdown":
            cell.source = render_math(cell.source)
        elif cell.cell_type == "code":
            outputs = []
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    continue
                if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                    output = nbformat.v4.new_output("display_data", data={
                        "text/html": f'<div class="static-panel">{PANEL_NOTE}</div>'})
                if output.output_type == "stream" and outputs and outputs[-1].output_type == "stream":
                    outputs[-1].text += output.text  # one block of printed lines, as JupyterLab shows them
                    continue
                outputs.append(output)
            cell.outputs = outputs
    return book


# The page: nbconvert's reveal template renders the cells (reveal/base.html.j2); this one replaces
# its head and foot, which load jQuery, RequireJS, Mermaid, MathJax and reveal.js from CDNs.
TEMPLATE = """{%- extends 'base.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ resources.metadata.name }}</title>
<style>{{ resources.offline.reveal_css }}</style>
{{ resources.include_css("static/index.css") }}
{{ resources.include_css("static/theme-light.css") }}
<style>{{ resources.offline.theme_css }}</style>
<style>
/* RISE's stylesheet stretches the slides to the window (its decks are 100% wide): these are
   1280x720, scaled to the window by reveal. */
html:not(.print-pdf) body.rise-enabled .reveal .slides { width: {{ resources.offline.width }}px !important; }
.jp-Notebook { padding: 0; }
/* no blank page after the last one */
html.print-pdf .reveal .slides .pdf-page:last-of-type { page-break-after: auto; }
/* printed lines as JupyterLab shows them, not as reveal's framed code blocks */
.reveal .jp-OutputArea pre { margin: 0; padding: 0; background: none; line-height: var(--jp-code-line-height); }
.reveal section img { margin: 0; }
.reveal .tex-display { text-align: center; margin: 0.6em 0; }
.reveal img.tex { display: inline-block; margin: 0; }
.reveal .static-panel { font-size: 20px; padding: 0.8em 1em; border-left: 6px solid #1976d2;
  background: #f0f4f8; }
</style>
<style>{{ resources.offline.rise_css }}</style>
</head>
{%- endblock header -%}

{%- block body_header -%}
<body class="jp-Notebook rise-enabled" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<div class="reveal">
<div class="slides">
{%- endblock body_header -%}

{%- block body_footer -%}
</div>
</div>
<script type="module">{{ resources.offline.reveal_js }}</script>
<script type="module">{{ resources.offline.notes_js }}</script>
<script type="module">
Reveal.initialize({
  width: {{ resources.offline.width }}, height: {{ resources.offline.height }}, margin: 0,
  center: true, transition: "none", controls: true, progress: true, hash: true,
  showNotes: false, pdfSeparateFragments: false, pdfMaxPagesPerSlide: 1,
  plugins: [RevealNotes],
});
Reveal.on("pdf-ready", () => document.documentElement.setAttribute("data-pdf-ready", ""));
</script>
</body>
{%- endblock body_footer -%}

{%- block footer -%}
</html>
{%- endblock footer -%}
"""


def export_html(notebook, folder=SLIDES):
    """folder/NN_topic.html: the notebook's deck, self-contained. Returns its path."""
    from jinja2 import DictLoader
    from nbconvert.exporters import SlidesExporter
    notebook, folder = Path(notebook), Path(folder)
    exporter = SlidesExporter(extra_loaders=[DictLoader({"offline-slides.html.j2": TEMPLATE})],
                              template_file="offline-slides.html.j2", exclude_input=True,
                              exclude_input_prompt=True, exclude_output_prompt=True)
    book = static_version(nbformat.read(notebook, as_version=4))
    offline = dict(reveal_assets(), width=WIDTH, height=HEIGHT)
    resources = {"metadata": {"name": notebook.stem, "path": str(notebook.parent)}, "offline": offline}
    body, _ = exporter.from_notebook_node(book, resources=resources)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook.stem}.html"
    path.write_text(body, encoding="utf-8")
    return path


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def export_pdf(html_path, browser, pdf_path=None):
    """The deck printed by Chromium (a Playwright browser or browser context): one WIDTHxHEIGHT
    px page per slide. Returns the PDF's path (default: beside the HTML file)."""
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path) if pdf_path else html_path.with_suffix(".pdf")
    page = browser.new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    try:
        page.goto(html_path.as_uri() + "?print-pdf")
        page.wait_for_selector("html[data-pdf-ready]", state="attached")  # reveal laid the pages out
        page.evaluate("() => document.fonts.ready")
        page.pdf(path=str(pdf_path), width=f"{WIDTH}px", height=f"{HEIGHT}px", print_background=True,
                 prefer_css_page_size=True)
    finally:
        page.close()
    return pdf_path


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=["--no-sandbox", "--disable-dev-shm-usage"])


def main(argv):
    prefixes = argv or [""]
    notebooks = [path for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
                 if any(path.name.startswith(prefix) for prefix in prefixes)]
    if not notebooks:
        print(f"No notebook in {NOTEBOOKS} starts with {' or '.join(prefixes)}")
        return 1
    started = time.monotonic()
    pages = []
    for notebook in notebooks:
        path = export_html(notebook)
        pages.append(path)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB, "
              f"{rise_slide_count(nbformat.read(notebook, as_version=4))} slides)", flush=True)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("No PDFs: Playwright's Python client is missing (pip install -e '.[test]')")
        return 1
    if chromium_path() is None:
        print("No PDFs: Chromium is not installed (sudo apt-get install chromium)")
        return 1
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            for path in pages:
                pdf = export_pdf(path, browser)
                print(f"wrote {pdf.relative_to(ROOT)} ({pdf.stat().st_size / 1e6:.1f} MB)", flush=True)
        finally:
            browser.close()
    print(f"{len(pages)} deck{'s' * (len(pages) > 1)} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
