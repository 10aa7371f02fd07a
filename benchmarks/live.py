"""The live explorer's speed (notebook 01, the demo page's "01 Live" tab); run.py calls `rows()`.

Eager PyTorch (`LiveExplorer(..., fast=False)`: Grad-CAM with its backward pass) against the
fast path (the default: one frozen trace per frame, Grad-CAM as CAM from the same pass).

In the kernel: 224 px camera frames (JPEG, as the page sends them; the espresso photo and its
mirror image in turn, so that the layer's grid changes and is sent every frame) through the
panel's own frame handler, top-5 and stage4's 80 maps with the clicked unit's map, then the same
with Grad-CAM of the top class. In Chromium: the page as Voilà serves it, fed by Chromium's fake
camera from a clip of a bundled photo (a still scene: the grid is sent once); the page's own
count of frames answered per second and of the time from a frame's capture to the kernel's
answer (the panel's pictures are set by then; decoding and painting them is not counted), read
every half second for 20 s once the stream runs, then again for 20 s with Grad-CAM ticked.

No peer offers a live camera in a notebook; the rows have targets only: issue 38's for the fast
path (25 frames/s on screen, 15 with Grad-CAM, 120 ms from capture to answer), the earlier ones
for eager (12 frames/s in the kernel, 5 with Grad-CAM, 8 on screen, 300 ms).
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
TARGETS = {  # fast: (kernel, kernel with Grad-CAM, page, page with Grad-CAM, latency ms)
    False: (12, 5, 8, 3, 300),
    True: (25, 15, 25, 15, 120),
}


def jpeg_frame(image):
    buffer = io.BytesIO()
    to_pil(image).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def path_name(fast):
    return "fast path" if fast else "eager"


def kernel_rows(model, fast):
    explorer = LiveExplorer(model, image="cat", layer="stage4", channel=37, fast=fast)
    photo = load_image("espresso", 224)
    frames = [jpeg_frame(photo), jpeg_frame(photo.flip(-1))]
    rows = []
    for grad_cam, target in ((False, TARGETS[fast][0]), (True, TARGETS[fast][1])):
        explorer.grad_cam.value = grad_cam
        for i in range(5):  # warm-up
            explorer.camera.receive(frames[i % 2])
        start = time.perf_counter()
        for i in range(FRAMES):
            explorer.camera.receive(frames[i % 2])
        fps = FRAMES / (time.perf_counter() - start)
        assert explorer.status.text == "" and explorer.predictions[0][1] == "espresso", explorer.status.text
        name = "top-5, stage4's maps and one unit" + (", Grad-CAM of the top class" if grad_cam else "")
        rows.append((f"live explorer, {path_name(fast)}, in the kernel: {name} (frames/s)", fps, None,
                     f">= {target}", fps >= target))
    return rows


def page_rows(fast, seconds=20):
    """The explorer in Voilà and headless Chromium with the fake camera: frames/s and latency,
    then frames/s with Grad-CAM ticked."""
    import tempfile

    import nbformat
    from playwright.sync_api import sync_playwright

    from tests.test_browser import Lab, chromium_path
    from tests.test_browser_camera import EXPLORER, write_y4m

    source = EXPLORER if fast else EXPLORER.replace('layer="stage4")', 'layer="stage4", fast=False)')
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_y4m(folder / "clip.y4m", [load_image("espresso", (240, 320))])
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), folder / "live.ipynb")
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
                plain = read_page(page, seconds)
                page.get_by_role("checkbox", name="Grad-CAM of the top class").check()
                with_cam = read_page(page, seconds)
                browser.close()
        finally:
            server.close()
    name = f"live explorer, {path_name(fast)}, in Chromium, fake camera"
    _, _, page_fps, cam_fps, latency_ms = TARGETS[fast]
    shown, late, cam = statistics.median(plain[0]), statistics.median(plain[1]), statistics.median(with_cam[0])
    return [
        (f"{name}: frames answered per second (median)", shown, None, f">= {page_fps}", shown >= page_fps),
        (f"{name}, Grad-CAM of the top class: frames answered per second (median)", cam, None,
         f">= {cam_fps}", cam >= cam_fps),
        (f"{name}: frame captured to its answer, pictures set (ms, median)", late, None,
         f"<= {latency_ms}", late <= latency_ms),
    ]


def read_page(page, seconds):
    """The page's own frames/s and latency, every half second for `seconds` after 3 s."""
    page.wait_for_timeout(3000)  # past the first frames, or the change
    fps, latency = [], []
    for _ in range(seconds * 2):
        page.wait_for_timeout(500)
        data = page.evaluate("() => ({...document.querySelectorAll('.lu-camera[data-fps]')[0].dataset})")
        fps.append(float(data["fps"]))
        latency.append(float(data["latency"]))
    return fps, latency


def rows():
    model = load_model(device="cpu")
    return [row for fast in (False, True) for row in kernel_rows(model, fast)] + \
        [row for fast in (False, True) for row in page_rows(fast)]


if __name__ == "__main__":
    for row in rows():
        print(row, flush=True)
