"""The live explorer's speed (notebook 01, the demo page's "01 Live" tab); run.py calls `rows()`.

In the kernel: 224 px camera frames (JPEG, as the page sends them) through the panel's own
frame handler, top-5 and stage4's 80 maps with the clicked unit's map, then the same with
Grad-CAM of the top class. In Chromium: the page as Voilà serves it, fed by Chromium's fake
camera from a clip of a bundled photo; the page's own count of frames answered per second and
of the time from a frame's capture to the kernel's answer (the panel's pictures are set by
then; decoding and painting them is not counted), read every half second for 20 s once the
stream runs.

No peer offers a live camera in a notebook; the rows have targets only: 12 frames/s, 5 with
Grad-CAM, 8 answered per second in the browser, 300 ms from a frame's capture to its answer.
"""

import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_utils import load_image, load_model, to_pil  # noqa: E402
from lecture_utils.widgets import LiveExplorer  # noqa: E402

FRAMES = 100
KERNEL_FPS, GRAD_CAM_FPS, PAGE_FPS, LATENCY_MS = 12, 5, 8, 300


def jpeg_frame(name="espresso"):
    buffer = io.BytesIO()
    to_pil(load_image(name, 224)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def kernel_rows(model):
    explorer = LiveExplorer(model, image="cat", layer="stage4", channel=37)
    frame = jpeg_frame()
    rows = []
    for grad_cam, target in ((False, KERNEL_FPS), (True, GRAD_CAM_FPS)):
        explorer.grad_cam.value = grad_cam
        for _ in range(5):  # warm-up
            explorer.camera.receive(frame)
        start = time.perf_counter()
        for _ in range(FRAMES):
            explorer.camera.receive(frame)
        fps = FRAMES / (time.perf_counter() - start)
        assert explorer.status.text == "" and explorer.predictions[0][1] == "espresso", explorer.status.text
        name = "top-5, stage4's maps and one unit" + (", Grad-CAM of the top class" if grad_cam else "")
        rows.append((f"live explorer, in the kernel: {name} (frames/s)", fps, None, f">= {target}", fps >= target))
    return rows


def page_rows(seconds=20):
    """The explorer in Voilà and headless Chromium with the fake camera: frames/s and latency."""
    import tempfile

    import nbformat
    from playwright.sync_api import sync_playwright

    from tests.test_browser import Lab, chromium_path
    from tests.test_browser_camera import EXPLORER, write_y4m

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_y4m(folder / "clip.y4m", [load_image("espresso", (240, 320))])
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORER)]), folder / "live.ipynb")
        server = Lab(folder, voila=folder / "live.ipynb")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=[
                    "--no-sandbox", "--disable-dev-shm-usage", "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={folder / 'clip.y4m'}"])
                page = browser.new_page(viewport={"width": 1280, "height": 1100})
                page.goto(server.url)
                page.wait_for_selector(".lu-grid img", timeout=120_000)
                page.get_by_role("button", name="Start camera").click()
                page.wait_for_function("() => document.querySelector('.lu-camera[data-fps]')", timeout=120_000)
                page.wait_for_timeout(3000)  # past the first frames
                fps, latency = [], []
                for _ in range(seconds * 2):
                    page.wait_for_timeout(500)
                    data = page.evaluate("() => ({...document.querySelectorAll('.lu-camera[data-fps]')[0].dataset})")
                    fps.append(float(data["fps"]))
                    latency.append(float(data["latency"]))
                browser.close()
        finally:
            server.close()
    shown, late = statistics.median(fps), statistics.median(latency)
    return [
        ("live explorer in Chromium, fake camera: frames answered per second (median)", shown, None,
         f">= {PAGE_FPS}", shown >= PAGE_FPS),
        ("live explorer in Chromium, fake camera: frame captured to its answer, pictures set (ms, median)", late, None,
         f"<= {LATENCY_MS}", late <= LATENCY_MS),
    ]


def rows():
    return kernel_rows(load_model(device="cpu")) + page_rows()


if __name__ == "__main__":
    for row in rows():
        print(row)
