"""The live explorer with a camera, in headless Chromium: the browser's own `getUserMedia`,
fed by Chromium's fake camera from a clip this test writes (Y4M: a one-line header and raw
YUV 4:2:0 frames, so no video tools are needed), on a Voilà page as the demo page serves it.

- Camera allowed: frames reach the kernel and the page's frame counter rises; the top class
  follows the clip (the espresso, then another class while the clip shows a daisy, then the
  espresso again: the frames are live); after Stop and at once Start the frames go on; a click
  on a map shows that unit and its atlas entry; the kernel's memory grows by at most 50 MB
  over 500 frames.
- Camera refused: the panel says so in one line and still answers to a picked image.

How fast the page shows frames, and how late, is measured by `make bench BENCH=live`, not here.
Screenshots go to test-artifacts/camera/.
"""

import nbformat
import numpy as np
import pytest

from lecture_utils import load_image
from tests.test_browser import ROOT, Lab, chromium_path, wait_for_pictures, wait_until

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python client is missing")

ARTIFACTS = ROOT / "test-artifacts" / "camera"
PHOTO = "espresso"  # the clip shows it for 20 frames, then OTHER_PHOTO for 20, and again
OTHER_PHOTO = "daisy"
FRAMES_FOR_MEMORY = 500
MEMORY_GROWTH_MB = 50
STREAM_TIMEOUT_S = 120  # the first frames, on 2 busy cores
MEMORY_TIMEOUT_S = 900  # 500 frames: about 50 s alone on 2 cores, 1 frame/s beside another browser test
EXPLORER = '''from lecture_utils import load_model
from lecture_utils.widgets import LiveExplorer
LiveExplorer(load_model(), image="cat", layer="stage4")'''


def yuv420(image):
    """One Y4M frame of an image (1, 3, H, W) in [0, 1] (even H and W): BT.601 full-range YUV,
    the colour planes averaged over 2x2 pixels (4:2:0)."""
    rgb = image[0].permute(1, 2, 0).numpy().astype(np.float64) * 255
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape

    def plane(values, subsample):
        if subsample:
            values = values.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return np.clip(values.round(), 0, 255).astype(np.uint8).tobytes()

    return b"FRAME\n" + plane(y, False) + plane(u, True) + plane(v, True)


def write_y4m(path, images, frames=20, fps=15):
    """A Y4M clip showing each image (1, 3, H, W), all of one size, for `frames` frames in turn
    (Chromium's fake camera plays it in a loop)."""
    h, w = images[0].shape[-2:]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for image in images:
            frame = yuv420(image)
            for _ in range(frames):
                out.write(frame)


@pytest.fixture(scope="module")
def page_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("camera")
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORER)])
    nbformat.write(book, folder / "explorer.ipynb")
    server = Lab(folder, voila=folder / "explorer.ipynb")
    yield server
    server.close()


@pytest.fixture(scope="module")
def camera_browser(tmp_path_factory):
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed: `sudo apt-get install chromium`")
    clip = tmp_path_factory.mktemp("clip") / "espresso-daisy.y4m"
    write_y4m(clip, [load_image(PHOTO, (240, 320)), load_image(OTHER_PHOTO, (240, 320))])
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}"])  # no --use-fake-ui-for-media-stream: contexts decide
        yield browser
        browser.close()


def kernel_rss_mb(server):
    import psutil

    for child in psutil.Process(server.process.pid).children(recursive=True):
        if any("ipykernel" in part for part in child.cmdline()):
            return child.memory_info().rss / 1e6
    raise AssertionError("no kernel under the Voilà server")


def open_explorer(browser, server, allow):
    context = browser.new_context(viewport={"width": 1280, "height": 1100},
                                  permissions=["camera"] if allow else [])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.wait_for_selector(".lu-grid img", timeout=STREAM_TIMEOUT_S * 1000)
    wait_for_pictures(page.locator("body"), STREAM_TIMEOUT_S)
    return context, page


def frames_shown(page):
    text = page.locator(".lu-camera-info").last.inner_text()
    return int(text.split()[1]) if text.startswith("frame ") else 0


def top_class(page):
    return page.locator(".lu-bars .lu-bar").first.inner_text().split("\n")[0].strip()


def test_camera_frames_drive_the_explorer_and_a_click_shows_the_units_atlas_entry(camera_browser, page_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page = open_explorer(camera_browser, page_server, allow=True)
    try:
        assert top_class(page) != PHOTO  # the panel starts on the cat
        page.get_by_role("button", name="Start camera").click()
        wait_until(lambda: frames_shown(page) >= 10, STREAM_TIMEOUT_S, "ten frames answered")
        wait_until(lambda: top_class(page).startswith(PHOTO), 30, f"the top class {PHOTO}")
        wait_until(lambda: not top_class(page).startswith(PHOTO), 30, f"another class, for the {OTHER_PHOTO}")
        wait_until(lambda: top_class(page).startswith(PHOTO), 30, f"the top class {PHOTO} again")
        page.get_by_role("button", name="Stop camera").click()
        page.get_by_role("button", name="Start camera").click()  # at once: a frame may still be in flight
        first = frames_shown(page)
        wait_until(lambda: frames_shown(page) >= first + 10, 30, "the frame counter rising after Stop and Start")
        info = page.locator(".lu-camera-info").last.inner_text()
        print(f"camera test: {info}")
        assert "frames/s" in info and "ms" in info

        grid = page.locator(".lu-grid img").first
        box = grid.bounding_box()
        atlas_before = page.locator("img").evaluate_all("imgs => imgs.map(i => i.src)")
        # the tile in row 2, column 6 of stage4's 16-column grid: channel 2 * 16 + 5 = 37
        columns, rows = 16, 5
        grid.click(position={"x": box["width"] * 5.5 / columns, "y": box["height"] * 2.5 / rows})
        wait_until(lambda: "channel 37" in page.inner_text("body"), 30, "channel 37 shown after the click")
        wait_until(lambda: "nine photo crops" in page.inner_text("body"), 30, "the atlas entry")
        assert page.locator("img").evaluate_all("imgs => imgs.map(i => i.src)") != atlas_before
        page.screenshot(path=str(ARTIFACTS / "explorer-camera.png"))

        counted, before = frames_shown(page), kernel_rss_mb(page_server)
        wait_until(lambda: frames_shown(page) >= counted + FRAMES_FOR_MEMORY, MEMORY_TIMEOUT_S,
                   f"{FRAMES_FOR_MEMORY} more frames")
        growth = kernel_rss_mb(page_server) - before
        print(f"camera test: kernel memory {before:.0f} MB, then {growth:+.1f} MB after {FRAMES_FOR_MEMORY} frames")
        assert growth <= MEMORY_GROWTH_MB
        page.get_by_role("button", name="Stop camera").click()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failed-allowed.png"))
        raise
    finally:
        context.close()


def test_a_refused_camera_says_so_and_the_explorer_still_answers_to_images(camera_browser, page_server):
    context, page = open_explorer(camera_browser, page_server, allow=False)
    try:
        page.get_by_role("button", name="Start camera").click()
        wait_until(lambda: "permission was refused" in page.locator(".lu-camera-info").last.inner_text(), 30,
                   "the refusal's message")
        page.locator(".widget-dropdown select").first.select_option(PHOTO)
        wait_until(lambda: top_class(page).startswith(PHOTO), 60, "the picked photo's class")
        page.screenshot(path=str(ARTIFACTS / "explorer-refused.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failed-refused.png"))
        raise
    finally:
        context.close()
