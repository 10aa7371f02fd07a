"""The browser's camera as a widget (an anywidget: Python and a short inline ES module).

Two modes:
- "snapshot": a Camera button; it opens a small preview with "Take photo", whose photo (at
  most `PHOTO_SIDE` px on its longer side) goes to the `on_image` callbacks: the image picker
  of every panel offers it beside Upload.
- "stream": Start/Stop; the centre square of each frame, `FRAME_SIDE` px, goes to the
  `on_image` callbacks. The page sends the next frame only when the kernel has answered the
  last one, so when the network is slower than the camera frames are skipped, never queued:
  what the panel shows is at most one frame old. The page shows the frames answered per second
  and the time from a frame's capture to the kernel's answer (the panel's pictures are set
  before it answers; the browser then still decodes and paints them).

No camera, a refused permission or a page that is not a secure context (the browser offers
`getUserMedia` only on https and localhost) shows a one-line message in the widget and in
`error`; the panel around it keeps working with images.
"""

import anywidget
from traitlets import Bool, Int, Unicode

from .._checks import one_of
from ..images import ImageError, load_image

FRAME_SIDE = 224
PHOTO_SIDE = 640

_ESM = r"""
const MESSAGES = {
  insecure: "The camera needs a secure page (https or localhost); this one is not. Images still work.",
  NotAllowedError: "The camera permission was refused. Images still work.",
  NotFoundError: "No camera was found. Images still work.",
  NotReadableError: "The camera is in use by another program. Images still work.",
};

function render({ model, el }) {
  const stream_mode = model.get("mode") === "stream";
  el.classList.add("lu-camera");
  const toggle = button(stream_mode ? "Start camera" : "Camera", "lu-camera-toggle");
  const take = button("Take photo", "lu-camera-take");
  const info = document.createElement("span");
  info.className = "lu-camera-info";
  const video = document.createElement("video");
  video.muted = true; video.playsInline = true;
  video.className = "lu-camera-preview";
  take.hidden = true; video.hidden = true;
  el.append(toggle, take, info, video);
  const canvas = document.createElement("canvas");
  // This view's frames carry its name and a number; an answer counts only for the frame in
  // flight, so a late answer (to a frame sent before Stop, or to another view showing the same
  // widget) never lets a second frame go out: never more than one frame is on its way.
  const view = Math.random().toString(36).slice(2);
  let media = null, starting = false, disposed = false, pending = null, sent = 0, sentAt = 0, answered = [];

  function button(text, name) {
    const b = document.createElement("button");
    b.className = `jupyter-button widget-button ${name}`;
    b.textContent = text;
    return b;
  }
  function say(text) { info.textContent = text; }
  function fail(reason) {
    const text = MESSAGES[reason] || `The camera could not start (${reason}). Images still work.`;
    model.set("error", text); model.set("running", false); model.save_changes();
    say(text); stop();
  }
  async function start() {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return fail("insecure");
    }
    starting = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      if (disposed || !starting) { stream.getTracks().forEach(track => track.stop()); return; }
      media = stream;
      video.srcObject = media;
      await video.play();
    } catch (error) {
      starting = false;
      return fail(error.name || String(error));
    }
    starting = false;
    model.set("error", ""); model.set("running", true); model.save_changes();
    video.hidden = stream_mode; take.hidden = stream_mode;
    toggle.textContent = stream_mode ? "Stop camera" : "Close camera";
    say("");
    if (stream_mode) next();
  }
  function stop() {
    if (media) media.getTracks().forEach(track => track.stop());
    media = null; starting = false; pending = null; answered = [];
    video.hidden = true; take.hidden = true;
    toggle.textContent = stream_mode ? "Start camera" : "Camera";
    if (model.get("running")) { model.set("running", false); model.save_changes(); }
  }
  // The video's frame as JPEG bytes (null if the browser could not encode it): its centre
  // square at `side` px, or the whole frame with the longer side at most `side` px.
  function grab(side, square) {
    const w = video.videoWidth, h = video.videoHeight;
    const s = Math.min(w, h);
    const [sx, sy, sw, sh] = square ? [(w - s) / 2, (h - s) / 2, s, s] : [0, 0, w, h];
    const scale = Math.min(1, side / Math.max(sw, sh));
    canvas.width = Math.round(sw * scale); canvas.height = Math.round(sh * scale);
    canvas.getContext("2d").drawImage(video, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
    return new Promise(resolve => canvas.toBlob(blob => resolve(blob ? blob.arrayBuffer() : null), "image/jpeg", 0.85));
  }
  async function next() {
    if (!media || pending !== null) return;
    if (!video.videoWidth) { requestAnimationFrame(next); return; }
    const id = ++sent;
    pending = id;
    sentAt = performance.now();
    const bytes = await grab(model.get("frame_side"), true);
    if (pending !== id) return;  // stopped meanwhile
    if (!bytes) { pending = null; setTimeout(next, 50); return; }
    model.send({ type: "frame", view, id }, undefined, [bytes]);
  }
  function answer(message) {
    if (message.type !== "done" || message.kind !== "frame" || message.view !== view || message.id !== pending) return;
    const now = performance.now();
    const latency = now - sentAt;
    answered.push(now);
    while (answered.length && now - answered[0] > 2000) answered.shift();
    const fps = answered.length > 1 ? (answered.length - 1) * 1000 / (now - answered[0]) : 0;
    say(`frame ${model.get("frames")} · ${fps.toFixed(1)} frames/s · ${Math.round(latency)} ms`);
    el.dataset.fps = fps.toFixed(2); el.dataset.latency = latency.toFixed(0);
    pending = null;
    next();
  }
  toggle.addEventListener("click", () => (media || starting ? stop() : start()));
  take.addEventListener("click", async () => {
    if (!media || !video.videoWidth) return;
    const bytes = await grab(model.get("photo_side"), false);
    if (bytes) model.send({ type: "photo" }, undefined, [bytes]);
    stop();
  });
  model.on("msg:custom", answer);
  return () => { disposed = true; model.off("msg:custom", answer); stop(); };
}
export default { render };
"""

_CSS = """
.lu-camera { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; }
.lu-camera-info { font-size: 13px; color: #333; margin-left: 4px; }
.lu-camera-preview { display: block; height: 160px; flex-basis: 100%; max-width: 100%; object-fit: contain;
                     object-position: left; }
.lu-camera [hidden] { display: none !important; }  /* the buttons' own display would show them */
"""


class Camera(anywidget.AnyWidget):
    """The camera, in "snapshot" or "stream" mode (see the module). `on_image(callback)`
    registers `callback(image)`, called with each photo or frame as a tensor (1, 3, H, W) in
    [0, 1]; `frames` counts the frames answered, `running` says whether the camera is on and
    `error` holds the last message about why it could not start or why an image it sent could
    not be read."""

    _esm = _ESM
    _css = _CSS
    mode = Unicode("stream").tag(sync=True)
    frame_side = Int(FRAME_SIDE).tag(sync=True)
    photo_side = Int(PHOTO_SIDE).tag(sync=True)
    frames = Int(0).tag(sync=True)
    running = Bool(False).tag(sync=True)
    error = Unicode("").tag(sync=True)

    def __init__(self, mode="stream", **kwargs):
        super().__init__(mode=one_of(mode, "mode", ("snapshot", "stream")), **kwargs)
        self._callbacks = []
        self.on_msg(self._on_message)

    def on_image(self, callback):
        self._callbacks.append(callback)

    def receive(self, data):
        """Handle one photo or frame (the bytes of an image file) as if the page had sent it:
        what the page's messages, the tests and the benchmarks call."""
        image = load_image(bytes(data))
        for callback in self._callbacks:
            callback(image)

    def _on_message(self, _, content, buffers):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in ("frame", "photo"):
            return
        try:
            if not buffers:
                raise ImageError("the page sent no image data")
            self.receive(buffers[0])
        except ImageError as error:  # a frame the browser sent damaged: say so, wait for the next
            self.error = f"a camera image could not be read: {error}"
        finally:  # answer even when a callback failed: the page then sends the next frame
            if kind == "frame":
                self.frames += 1
            self.send({"type": "done", "kind": kind, "view": content.get("view"), "id": content.get("id")})
