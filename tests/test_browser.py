"""Every notebook as a student and as an instructor meet it: JupyterLab, RISE's slideshow and
the Voilà demo page in headless Chromium.

For each notebook in notebooks/: open it in a JupyterLab server that this module starts on a
free localhost port, run all cells from the Run menu, wait for the kernel, and check that no
cell shows an error; then use the notebook's panel (the last widget output): press its Run
button, or else move a slider with the arrow keys, or else pick another entry of a dropdown,
and check that one of the panel's pictures changed. After all of that the kernel's peak
memory must fit what a Binder session can give (PRIVATE_LIMIT_GB says how it is counted).
Then the same notebook, its kernel still running, as RISE's slideshow (`/rise/<path>`) at
1280x720: every slide stepped through and screenshot, none with content outside the slide,
the panel used on its slide, nothing fetched from outside this machine. Screenshots go to
test-artifacts/browser/ (one per notebook) and test-artifacts/slides/ (every slide).

The demo page (notebooks/demo.ipynb, served by Voilà as `make demo` does): no code on the
page, every tab's panel answering to a control, the kernel within the same memory after all
of them (test-artifacts/demo/).

The notebooks run from copies with their stored outputs cleared, so the files in the
repository are never touched and every picture on the page comes from this run. The saved
notebook is read through JupyterLab's contents API once the page shows it saved.

Needs Chromium (Debian's `chromium` package; `make test` installs it when run as root) and
Playwright's Python client pointed at it. Without Chromium the tests are skipped, saying why.
"""

import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from lecture_utils.widgets import DemoPage

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SLIDES = ROOT / "test-artifacts" / "slides"
PROJECTOR = {"width": 1280, "height": 720}
# A notebook has 1.5 GB. Counted against it: the kernel's peak resident memory (VmHWM) less
# the pages it maps from files (shared libraries, mostly torch's and the CUDA ones of its PyPI
# build). Those pages take 0.34 GB here once the page cache has settled, but up to 0.6 GB
# right after a fresh install, for the same notebook; they are shared and the kernel can drop
# them, and Binder's CPU-only torch maps fewer. So what the notebook itself holds has 1.15 GB.
# RssFile is read at the end: the imports map nearly all of it (notebook 03: 0.25 GB after its
# first cell, 0.26 GB at the end), so VmHWM - RssFile is the peak of the rest to within that.
PRIVATE_LIMIT_GB = 1.15
RUN_ALL_TIMEOUT_S = 900  # one notebook, top to bottom, on a 2-core CI machine shared with other work
PANEL_TIMEOUT_S = 120  # a Run button may start a long computation; its preview should show sooner
LAB_START_TIMEOUT_S = 120

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright's Python client is missing: pip install -e '.[test]'")


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(folder):
    """JupyterLab user settings for a test run: every cell in the page (no windowing, so all
    outputs can be checked), no news or update pop-ups over the notebook."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class Lab:
    """A JupyterLab server on a free localhost port with a generated token, or (voila=NOTEBOOK) a
    Voilà server of that notebook."""

    def __init__(self, workdir, voila=None):
        self.workdir = workdir
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = workdir / "jupyter"
        write_settings(home / "settings")
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        # The kernel imports the same lecture_utils as these tests.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        if voila is None:
            self.name = "JupyterLab"
            command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                       "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                       f"--ServerApp.root_dir={workdir}", f"--LabApp.user_settings_dir={home / 'settings'}"]
            if os.geteuid() == 0:
                command.append("--allow-root")
        else:
            self.name = "Voilà"
            command = [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={self.port}",
                       "--Voila.port_retries=0", str(voila)]
        self.log_path = workdir / f"{self.name}.log"
        self.log = open(self.log_path, "w")
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)
        deadline = time.monotonic() + LAB_START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                self.close()
                pytest.fail(f"{self.name} exited with code {self.process.returncode}:\n{self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    pytest.fail(f"{self.name} did not answer within {LAB_START_TIMEOUT_S} s:\n"
                                f"{self.log_path.read_text()}")
                time.sleep(0.5)

    def saved_notebook(self, path):
        """The notebook as the server has it, read through the contents API (not from the disk,
        where a save in progress can leave an empty or half-written file)."""
        return nbformat.from_dict(self.api(f"contents/{path}?type=notebook&content=1")["content"])

    def api(self, path, method="GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def session(self, notebook_path):
        for session in self.api("sessions"):
            if session["path"] == notebook_path:
                return session
        raise AssertionError(f"no kernel session for {notebook_path}: {self.api('sessions')}")

    def kernel_memory_gb(self, kernel_id="ipykernel"):
        """The kernel process's peak resident memory (VmHWM) and, of that, what it does not map
        from files (VmHWM - RssFile, as PRIVATE_LIMIT_GB counts it), in GB. Without an id: the
        server's one kernel."""
        import psutil

        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if any(kernel_id in part for part in child.cmdline()):
                    status = Path(f"/proc/{child.pid}/status").read_text()
                    peak, files = (int(status.split(f"{key}:")[1].split()[0]) / 1024**2
                                   for key in ("VmHWM", "RssFile"))
                    return peak, peak - files
            except psutil.NoSuchProcess:
                continue
        raise AssertionError(f"no kernel process with id {kernel_id} under the server")

    def kernel_pids(self):
        """The process ids of the server's kernels."""
        import psutil

        found = set()
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if any("ipykernel" in part for part in child.cmdline()):
                    found.add(child.pid)
            except psutil.NoSuchProcess:
                continue
        return found

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Copies of the notebooks with outputs cleared (the repository's files stay as they are)."""
    folder = tmp_path_factory.mktemp("lab")
    (folder / "notebooks").mkdir()
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        book.metadata.pop("widgets", None)  # stored widget state of the last run
        nbformat.write(book, folder / "notebooks" / path.name)
    shutil.copy(ROOT / "notebooks" / "rise.css", folder / "notebooks")  # the slides' stylesheet
    return folder


@pytest.fixture(scope="module")
def lab(workdir):
    server = Lab(workdir)
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed: `sudo apt-get install chromium` (make test does it when run "
                    "as root); Playwright's own browser downloads are not used")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


# Run in the page: every code cell's prompt ("[ ]:" not run, "[*]:" running or queued, "[3]:" done).
PROMPTS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim())"""
# The panel: the last widget output of the notebook. Its pictures' sources, keyed by position.
PANEL = ".jp-Notebook .jp-OutputArea-output:has(> .jupyter-widgets)"
# A panel's pictures' sources, keyed by position, and each one's aspect ratio on screen over its
# own (1: not stretched).
PICTURES = "imgs => imgs.map(img => img.getAttribute('src') || '')"
ASPECTS = """imgs => imgs.filter(img => img.naturalWidth && img.clientWidth && img.clientHeight)
    .map(img => (img.clientWidth / img.clientHeight) / (img.naturalWidth / img.naturalHeight))"""


def pictures(panel):
    return panel.locator("img").evaluate_all(PICTURES)


def wait_for_pictures(panel, timeout_s):
    """Wait until the panel shows pictures, each with its source."""
    deadline = time.monotonic() + timeout_s
    while not ((shown := pictures(panel)) and all(shown)):
        if time.monotonic() > deadline:
            raise AssertionError(f"the panel shows no pictures within {timeout_s} s: {shown}")
        panel.page.wait_for_timeout(250)


# An exception as a panel's status line shows it ("ValueError: ...").
PANEL_ERROR = re.compile(r"\b\w*(Error|Exception): ")


def run_all(page, lab, path):
    """Run > Run All Cells, wait for the kernel to finish, save, and return the saved notebook.

    JupyterLab renders an exception like any stderr text (warnings included), so the saved file,
    where an exception is an output of type "error", is what tells them apart.
    """
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(f"() => ({PROMPTS})().some(p => p !== '[ ]:')", timeout=60_000)
    # Done when nothing is queued: after an exception the cells below go back to "[ ]:".
    page.wait_for_function(f"() => !({PROMPTS})().includes('[*]:')", timeout=RUN_ALL_TIMEOUT_S * 1000)
    kernel_idle(page)
    prompts = page.evaluate(PROMPTS)
    ran = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts)
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})  # focus for the shortcut
    page.keyboard.press("Control+s")
    # Saved when the tab no longer shows unsaved changes; then read what the server has.
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=120_000)
    deadline = time.monotonic() + 120
    while True:
        book = lab.saved_notebook(path)
        saved = sum(c.get("execution_count") is not None for c in book.cells if c.cell_type == "code")
        if saved == ran:
            return book, prompts
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: the page shows {ran} cells run, the saved notebook {saved}")
        time.sleep(0.5)


def errors_in(book):
    """Every exception output of a notebook, as "cell N: Name: message" lines."""
    found = []
    for number, cell in enumerate(book.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {number}: {output.ename}: {output.evalue}")
    return found


def kernel_idle(page):
    """Wait until the page is connected to an idle kernel (the status bar says so)."""
    page.wait_for_function(
        """() => { const k = document.querySelector('.jp-Notebook-ExecutionIndicator');
                   return k && k.getAttribute('data-status') === 'idle'
                          && [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                                 .some(t => /\\| Idle$/.test(t.textContent.trim())); }""",
        timeout=RUN_ALL_TIMEOUT_S * 1000)


def wait_for_change(panel, before, timeout_s):
    """Whether one of the panel's pictures changed within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = pictures(panel)
        if any(src and src != (before[i] if i < len(before) else None) for i, src in enumerate(now)):
            return True
        panel.page.wait_for_timeout(250)
    return False


def use_panel(panel, sliders=True):
    """Press Run, or move a slider, or pick in a dropdown, until a picture changes (no sliders
    in a slideshow, where the arrow keys change the slide).

    Returns a description of the control that changed a picture, or None.
    """
    before = pictures(panel)
    run = panel.locator("button", has_text=re.compile(r"^\s*Run\b", re.I))
    stop = panel.locator("button", has_text=re.compile(r"^\s*Stop\b", re.I))
    for i in range(run.count()):
        run.nth(i).click(timeout=PANEL_TIMEOUT_S * 1000)  # waits while an earlier run still holds it
        if wait_for_change(panel, before, PANEL_TIMEOUT_S):
            # As a student would: the kernel is free again for what comes next. Checked and clicked
            # in one step in the page: a short run may end (and disable Stop) between two steps.
            if stop.count():
                stop.first.evaluate("button => button.disabled || button.click()")
            return f"Run button {i}"
    handles = panel.locator(".widget-slider .noUi-handle, .jupyter-widget-slider .noUi-handle")
    for i in range(handles.count() if sliders else 0):
        handle = handles.nth(i)
        handle.scroll_into_view_if_needed()
        for key in ("ArrowRight", "ArrowLeft"):  # a slider at its maximum moves only to the left
            value = handle.get_attribute("aria-valuenow")
            handle.focus()
            handle.press(key)
            if handle.get_attribute("aria-valuenow") != value and wait_for_change(panel, before, PANEL_TIMEOUT_S):
                return f"slider {i} ({key})"
            before = pictures(panel)
    dropdowns = panel.locator(".widget-dropdown select")
    for i in range(dropdowns.count()):
        select = dropdowns.nth(i)
        values = select.locator("option").evaluate_all("options => options.map(o => o.value)")
        current = select.input_value()
        others = [v for v in values if v != current]
        if others:
            select.select_option(others[0])
            if wait_for_change(panel, before, PANEL_TIMEOUT_S):
                return f"dropdown {i}"
            before = pictures(panel)
    return None


# The slideshow: which horizontal slide and subslide is shown, and what of it lies outside the
# projector's 1280x720 (every visible text block, picture and widget of the slide, notes excluded).
WHERE = """() => { const slides = [...document.querySelectorAll('.reveal .slides > section')];
    const h = slides.findIndex(s => s.classList.contains('present'));
    const subs = h < 0 ? [] : [...slides[h].querySelectorAll(':scope > section')];
    return [h, subs.findIndex(s => s.classList.contains('present')), slides.length]; }"""
OVERFLOW = """() => { const slide = document.querySelector('.reveal .slides > section.present > section.present')
        || document.querySelector('.reveal .slides > section.present');
    const out = [];
    for (const e of slide.querySelectorAll('img, p, li, h1, h2, h3, h4, pre, table, .jupyter-widgets')) {
        if (e.closest('aside.notes, .reveal-skip')) continue;
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (r.bottom > innerHeight + 2 || r.right > innerWidth + 2 || r.top < -2 || r.left < -2)
            out.push(`${e.tagName.toLowerCase()} at ${Math.round(r.left)},${Math.round(r.top)} to `
                     + `${Math.round(r.right)},${Math.round(r.bottom)}: ${(e.innerText || '').slice(0, 60)}`);
    }
    return out; }"""
# What the slide shown holds, as a student at the back of the room sees it: whether it has a
# title, its words of prose (headings, source lines and formulas not counted), its printed
# lines, whether it shows a panel, and each figure (not a panel's picture) by its position among
# the slide's images, with its scale (drawn width over the PNG's own) and the share of the
# 1280x720 slide its cell's pictures cover (as drawn, object-fit contain; a cell's pictures stand
# in a row, as one figure).
MEASURE = """() => { const slide = document.querySelector('.reveal .slides > section.present > section.present')
        || document.querySelector('.reveal .slides > section.present');
    const shown = e => { if (e.closest('aside.notes, .reveal-skip, .jupyter-widgets')) return false;  // a panel: measured apart
        const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const title = [...slide.querySelectorAll('.jp-RenderedMarkdown :is(h1, h2, h3)')].some(shown);
    let words = 0;
    for (const md of slide.querySelectorAll('.jp-RenderedMarkdown')) {
        if (!shown(md)) continue;
        const copy = md.cloneNode(true);
        copy.querySelectorAll('h1, h2, h3, h4, small, mjx-container, .MathJax, .jp-InternalAnchorLink')
            .forEach(e => e.remove());
        words += (copy.textContent.match(/\\w[\\w'’-]*/g) || []).length;
    }
    const lines = [...slide.querySelectorAll('.jp-RenderedText pre')].filter(shown)
        .reduce((n, pre) => n + pre.innerText.replace(/\\n+$/, '').split('\\n').length, 0);
    const panel = [...slide.querySelectorAll('.jupyter-widgets')].some(e => e.getBoundingClientRect().height > 0);
    const images = [...slide.querySelectorAll('.jp-RenderedImage > img')];
    const figures = [], drawn = new Map();  // the pictures of one cell, drawn in a row, are one figure
    images.forEach((img, index) => { if (!shown(img) || !img.naturalWidth) return;
        const r = img.getBoundingClientRect();
        const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
        const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
        const box = [r.left + (r.width - w) / 2, r.top + (r.height - h) / 2, r.left + (r.width + w) / 2,
                     r.top + (r.height + h) / 2];
        const cell = img.closest('.jp-OutputArea');
        const u = drawn.get(cell) || box;
        drawn.set(cell, [Math.min(u[0], box[0]), Math.min(u[1], box[1]), Math.max(u[2], box[2]), Math.max(u[3], box[3])]);
        figures.push({index, cell, scale}); });
    for (const f of figures) { const u = drawn.get(f.cell);
        f.share = (u[2] - u[0]) * (u[3] - u[1]) / (innerWidth * innerHeight); delete f.cell; }
    return {title, words, lines, panel, figures}; }"""
# The PNG of the slide's image at this position, to read the text size its figure recorded.
IMAGE_SOURCE = """index => { const slide = document.querySelector('.reveal .slides > section.present > section.present')
        || document.querySelector('.reveal .slides > section.present');
    return slide.querySelectorAll('.jp-RenderedImage > img')[index].getAttribute('src'); }"""
FIGURE_SHARE = 0.45  # of the slide, on at least FIGURE_SLIDES of the slides that show a figure
FIGURE_SLIDES = 0.9
TEXT_PX = 16  # a figure's smallest text, drawn on the slide
_spec = importlib.util.spec_from_file_location("notebook_tools", Path(__file__).resolve().parents[1] / "tools" / "notebooks.py")
notebook_tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebook_tools)
WORDS, PRINTED = notebook_tools.WORDS, notebook_tools.PRINTED  # the rules the sources are checked by


def text_px(source):
    """The height of the smallest text of a figure's PNG (a data: URI), as plotting recorded it
    (plotting.TEXT_PX; None: no text, or not one of plotting's figures)."""
    import base64
    import io

    from PIL import Image

    from lecture_utils import plotting

    if not source or not source.startswith("data:image/png;base64,"):
        return None
    value = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).text.get(plotting.TEXT_PX)
    return None if value in (None, "none") else float(value)


def slide_measure(page):
    """MEASURE of the slide shown, each figure with the height its smallest text is drawn at."""
    measure = page.evaluate(MEASURE)
    for figure in measure["figures"]:
        px = text_px(page.evaluate(IMAGE_SOURCE, figure["index"]))
        figure["text_px"] = None if px is None else px * figure["scale"]
    return measure


def deck_problems(measures):
    """What breaks the slide rules, one line each, from the slide measures of one deck: a slide
    without a title, with more than WORDS words or PRINTED printed lines, a figure whose text
    is drawn smaller than TEXT_PX, and fewer than FIGURE_SLIDES of the figure slides (a figure,
    no panel) whose largest figure covers FIGURE_SHARE of the slide."""
    problems = []
    for name, m in measures.items():
        if not m["title"]:
            problems.append(f"slide {name}: no title")
        if m["words"] > WORDS:
            problems.append(f"slide {name}: {m['words']} words of prose (at most {WORDS})")
        if m["lines"] > PRINTED:
            problems.append(f"slide {name}: {m['lines']} printed lines (at most {PRINTED})")
    return problems + figure_problems(measures)


def figure_problems(measures):
    """The figure rules of deck_problems."""
    lines = []
    for name, m in measures.items():
        small = [f["text_px"] for f in m["figures"] if f["text_px"] is not None and f["text_px"] < TEXT_PX]
        if small:
            lines.append(f"slide {name}: figure text drawn {min(small):.1f} px high (at least {TEXT_PX})")
    figure_slides = {name: max(f["share"] for f in m["figures"]) for name, m in measures.items()
                     if m["figures"] and not m["panel"]}
    large = [name for name, share in figure_slides.items() if share >= FIGURE_SHARE]
    if len(large) < FIGURE_SLIDES * len(figure_slides):
        small = ", ".join(f"{name} {share:.0%}" for name, share in figure_slides.items() if share < FIGURE_SHARE)
        lines.append(f"{len(large)} of {len(figure_slides)} figure slides show a figure covering "
                     f"{FIGURE_SHARE:.0%} of the slide (wanted: {FIGURE_SLIDES:.0%}); the others: {small}")
    return lines


# Marks the panel of the slide shown (its last widget output), if it has one.
MARK_PANEL = """() => { const slide = document.querySelector('.reveal .slides > section.present > section.present')
        || document.querySelector('.reveal .slides > section.present');
    const panels = slide.querySelectorAll('.jp-OutputArea-output:has(> .jupyter-widgets)');
    if (!panels.length) return false;
    panels[panels.length - 1].setAttribute('data-panel-slide', '');
    return true; }"""


def present_deck(context, lab, path, name):
    """The notebook's deck as RISE shows it (`/rise/<path>`, the notebook's running kernel):
    step through every slide at 1280x720, screenshot each, collect the slides whose content
    overflows, and on the panel's slide change a control and see a picture change.

    Returns (number of horizontal slides, overflowing slides, the control that changed the
    panel or None, requests that left the machine, formulas rendered, each slide's
    slide_measure by its label: 03, or 03a for a subslide)."""
    page = context.new_page()
    page.set_viewport_size(PROJECTOR)
    outside = []
    local = (lab.url, lab.url.replace("http", "ws", 1), "data:", "blob:")
    page.on("request", lambda request: request.url.startswith(local) or outside.append(request.url))
    try:
        page.goto(f"{lab.url}/rise/{path}?token={lab.token}")
        page.wait_for_selector(".reveal.ready .slides > section", timeout=LAB_START_TIMEOUT_S * 1000)
        page.wait_for_timeout(1000)  # reveal lays the first slide out
        overflowing, control, seen, measures = [], None, set(), {}
        while True:
            h, v, count = page.evaluate(WHERE)
            if (h, v) in seen:
                break
            seen.add((h, v))
            label = f"{h + 1:02d}{'' if v <= 0 else chr(96 + v)}"
            page.screenshot(path=str(SLIDES / f"{name}-{label}.png"))
            overflowing += [f"slide {h + 1}: {line}" for line in page.evaluate(OVERFLOW)]
            measures[label] = slide_measure(page)
            if control is None and page.evaluate(MARK_PANEL):
                panel = page.locator("[data-panel-slide]")
                wait_for_pictures(panel, PANEL_TIMEOUT_S)
                control = use_panel(panel, sliders=False)
                page.screenshot(path=str(SLIDES / f"{name}-{h + 1:02d}-used.png"))
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.keyboard.press("Space")  # the next fragment, subslide or slide
            page.wait_for_timeout(300)
        formulas = page.locator("mjx-container").count()  # MathJax's rendered formulas
        return count, overflowing, control, outside, formulas, measures
    except Exception:
        page.screenshot(path=str(SLIDES / f"{name}-failed.png"))
        raise
    finally:
        page.close()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(notebook, browser, lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name, path = notebook.stem, f"notebooks/{notebook.name}"
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab.url}/lab/tree/{path}?reset&token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=LAB_START_TIMEOUT_S * 1000)
        kernel_idle(page)  # the page is connected to a started kernel
        book, prompts = run_all(page, lab, path)
        errors = errors_in(book)
        assert not errors, f"{name}: cells show exceptions:\n" + "\n".join(errors)
        assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"{name}: not every cell ran: {prompts}"

        panels = page.locator(PANEL)
        assert panels.count() > 0, f"{name}: no widget output (panel) in the notebook"
        panel = panels.last
        panel.scroll_into_view_if_needed()
        wait_for_pictures(panel, PANEL_TIMEOUT_S)
        assert "Error displaying widget" not in panel.inner_text(), f"{name}: the panel did not render"
        control = use_panel(panel)
        kernel_idle(page)
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        assert control is not None, (f"{name}: no Run button, slider or dropdown of the panel changed "
                                     f"a picture within {PANEL_TIMEOUT_S} s")
        aspects = panel.locator("img").evaluate_all(ASPECTS)
        assert all(abs(a - 1) < 0.05 for a in aspects), f"{name}: pictures shown stretched: {aspects}"
        status = PANEL_ERROR.search(panel.inner_text())
        assert status is None, f"{name}: the panel shows an error after {control}: {panel.inner_text()[-500:]}"

        peak, private = lab.kernel_memory_gb(lab.session(path)["kernel"]["id"])
        print(f"{name}: the panel answered to {control}; kernel peak memory {peak:.2f} GB, "
              f"{private:.2f} GB of it not mapped from files")
        assert private <= PRIVATE_LIMIT_GB, (f"{name}: the kernel's peak memory not mapped from files is "
                                             f"{private:.2f} GB > {PRIVATE_LIMIT_GB} GB (peak {peak:.2f} GB)")

        # The same notebook, its kernel still running, as the lecture's slideshow.
        SLIDES.mkdir(parents=True, exist_ok=True)
        slides, overflowing, deck_control, outside, formulas, measures = present_deck(context, lab, path, name)
        print(f"{name}: {slides} slides; the panel's slide answered to {deck_control}")
        (SLIDES / f"{name}-measures.json").write_text(json.dumps(measures, indent=1))
        problems = deck_problems(measures)
        assert not problems, f"{name}: slides a lecturer cannot project:\n" + "\n".join(problems)
        assert 8 <= slides <= 25, f"{name}: the deck has {slides} slides (8 to 25 fit a lecture topic)"
        assert not overflowing, f"{name}: content outside 1280x720:\n" + "\n".join(overflowing)
        assert deck_control is not None, f"{name}: no control of the panel's slide changed a picture"
        assert not outside, f"{name}: the slideshow fetched from outside this machine: {outside}"
        written = sum(cell.source.count("$$") // 2 for cell in book.cells if cell.cell_type == "markdown")
        assert formulas >= written, f"{name}: {written} formulas in the text, {formulas} rendered on the slides"
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{name}-failed.png"))
        raise
    finally:
        context.close()
        for session in lab.api("sessions"):  # free the kernel's memory before the next notebook
            lab.api(f"sessions/{session['id']}", method="DELETE")


DEMO = ROOT / "notebooks" / "demo.ipynb"
DEMO_ARTIFACTS = ROOT / "test-artifacts" / "demo"
FIRST_TAB_TIMEOUT_S = 120  # on 2 busy cores; the test prints the time, `make bench BENCH=lecture` measures tabs alone
# The demo page's tab titles, and the tab shown (ipywidgets' Tab is a Lumino tab panel).
TAB_TITLES = ".widget-tab > .lm-TabBar .lm-TabBar-tab"
# The titles shown cut (their label wider than its box) or reaching past the page's right edge.
CUT_TITLES = """tabs => tabs.filter(t => { const label = t.querySelector('.lm-TabBar-tabLabel') || t;
    return label.scrollWidth > label.clientWidth + 1 || t.getBoundingClientRect().right > innerWidth + 1; })
    .map(t => t.innerText)"""
SHOWN_TAB = ".widget-tab > .widget-tab-contents > .lm-Widget:not(.lm-mod-hidden)"
# The open tab's pictures on a projector: the span from the leftmost left edge to the rightmost
# right edge of its visible pictures (wider than 20 px) over the page's width, and what reaches
# past the page's right edge (a picture or control beyond it, the tab or the page scrolling
# sideways; the page may scroll down, Voilà's own box scrolls to a picture below the fold).
MIN_PICTURE_SPAN = 0.6
PICTURE_SPAN = """panel => { const shown = [...panel.querySelectorAll('img')].map(i => i.getBoundingClientRect())
        .filter(r => r.width > 20 && r.height > 0);
    return shown.length ? (Math.max(...shown.map(r => r.right)) - Math.min(...shown.map(r => r.left))) / innerWidth
                        : 0; }"""
OUTSIDE = """panel => { const out = [...panel.querySelectorAll('img, .jupyter-widgets')].filter(e => {
        const r = e.getBoundingClientRect(); return r.width > 0 && r.right > innerWidth + 1; })
        .map(e => `${e.className || e.tagName} to x=${Math.round(e.getBoundingClientRect().right)}`);
    if (panel.scrollWidth > panel.clientWidth + 1) out.push(`the tab ${panel.scrollWidth} px wide in ${panel.clientWidth}`);
    if (document.documentElement.scrollWidth > innerWidth + 1)
        out.push(`the page ${document.documentElement.scrollWidth} px wide`);
    return out; }"""


def test_demo_page_in_voila(browser, tmp_path):
    """notebooks/demo.ipynb as `make demo` serves it: no code on the page, a tab per notebook,
    each tab's panel built when the tab is opened and answering to a control; at 1280x720 every
    tab title whole, and each tab's pictures, once its panel has answered, spanning at least
    MIN_PICTURE_SPAN of the page's width, none stretched and nothing past the page's right edge;
    after every tab the kernel within Binder's memory."""
    DEMO_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    demo = Lab(tmp_path, voila=DEMO)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(demo.url)
        page.wait_for_selector(SHOWN_TAB, timeout=FIRST_TAB_TIMEOUT_S * 1000)
        wait_for_pictures(page.locator(SHOWN_TAB), FIRST_TAB_TIMEOUT_S)
        print(f"demo page: the first tab's panel shown {time.monotonic() - demo.started:.1f} s after Voilà started")
        code = page.locator(".jp-CodeCell .jp-InputArea:visible, .cm-editor:visible").all_inner_texts()
        assert not [text for text in code if text.strip()] and "DemoPage" not in page.inner_text("body"), code
        titles = page.locator(TAB_TITLES)
        assert titles.count() == len(DemoPage.TOPICS), titles.all_inner_texts()
        page.set_viewport_size(PROJECTOR)
        cut = titles.evaluate_all(CUT_TITLES)
        page.screenshot(path=str(DEMO_ARTIFACTS / "tabs-1280x720.png"))
        assert not cut, f"demo page at 1280x720: tab titles cut or outside the page: {cut}"
        for index in range(titles.count()):
            title = titles.nth(index).inner_text()
            titles.nth(index).click()
            panel = page.locator(SHOWN_TAB)
            wait_for_pictures(panel, PANEL_TIMEOUT_S)
            assert "could not be opened" not in panel.inner_text(), panel.inner_text()
            control = use_panel(panel)
            page.screenshot(path=str(DEMO_ARTIFACTS / f"{index:02d}.png"))
            span, outside = panel.evaluate(PICTURE_SPAN), panel.evaluate(OUTSIDE)
            aspects = panel.locator("img").evaluate_all(ASPECTS)
            print(f"demo page, {title}: the panel answered to {control}; its pictures span {span:.2f} of the width")
            assert control is not None, f"demo page, {title}: no control changed a picture"
            assert span >= MIN_PICTURE_SPAN, (f"demo page, {title}: the pictures span {span:.2f} of the 1280 px "
                                              f"page (at least {MIN_PICTURE_SPAN})")
            assert not outside, f"demo page, {title}: past the page's right edge at 1280x720: {outside}"
            assert all(abs(a - 1) < 0.05 for a in aspects), f"demo page, {title}: pictures shown stretched: {aspects}"
            status = PANEL_ERROR.search(panel.inner_text())
            assert status is None, f"demo page, {title}: the panel shows an error: {panel.inner_text()[-500:]}"
        peak, private = demo.kernel_memory_gb()
        print(f"demo page: kernel peak memory {peak:.2f} GB, {private:.2f} GB of it not mapped from files")
        assert private <= PRIVATE_LIMIT_GB, f"demo page: {private:.2f} GB > {PRIVATE_LIMIT_GB} GB after every tab"
    except Exception:
        page.screenshot(path=str(DEMO_ARTIFACTS / "failed.png"))
        raise
    finally:
        context.close()
        demo.close()


CULL_S = 10  # the idle time after which the test's Voilà shuts a kernel down (make demo's: 10 minutes)


def wait_until(condition, timeout_s, what):
    """Poll `condition` until it holds; fail saying `what` did not happen within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.25)


def test_the_demo_page_preheats_a_kernel_and_lets_go_of_a_closed_pages_one(browser, tmp_path):
    """notebooks/voila.json as `make demo` reads it (from the folder Voilà starts in), the idle
    time cut from 10 minutes to CULL_S seconds: a kernel waits preheated before anyone comes;
    the page opens on it; once the page is closed that kernel is shut down, and a preheated one
    waits for the next visitor."""
    settings = json.loads((ROOT / "notebooks" / "voila.json").read_text())
    assert settings["MappingKernelManager"]["cull_idle_timeout"] == 600  # what the README says
    settings["MappingKernelManager"].update(cull_idle_timeout=CULL_S, cull_interval=1)
    (tmp_path / "voila.json").write_text(json.dumps(settings))
    demo = Lab(tmp_path, voila=DEMO)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        wait_until(lambda: len(demo.kernel_pids()) == 1, FIRST_TAB_TIMEOUT_S, "a preheated kernel")
        [preheated] = demo.kernel_pids()
        page = context.new_page()
        page.goto(demo.url)
        page.wait_for_selector(SHOWN_TAB, timeout=FIRST_TAB_TIMEOUT_S * 1000)
        wait_for_pictures(page.locator(SHOWN_TAB), FIRST_TAB_TIMEOUT_S)
        assert preheated in demo.kernel_pids()
        # the pool fills again for the next visitor
        wait_until(lambda: len(demo.kernel_pids()) == 2, FIRST_TAB_TIMEOUT_S, "a second kernel preheated")
        context.close()
        started = time.monotonic()
        wait_until(lambda: preheated not in demo.kernel_pids(), CULL_S + 30, "the closed page's kernel shut down")
        print(f"demo page: the closed page's kernel shut down {time.monotonic() - started:.0f} s after the page closed")
        assert len(demo.kernel_pids()) == 1, "no kernel left preheated for the next visitor"
    finally:
        context.close()
        demo.close()
