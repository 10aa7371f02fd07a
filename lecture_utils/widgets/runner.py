"""`Runner`: the one driver of long runs (class images, DeepDream, inversion, texture, style
transfer, and any other method that yields progress steps)."""

import threading

import ipywidgets as w

from .common import VIEW_HEIGHT, Status, image_png, image_view


class Runner:
    """Run and Stop buttons, a progress bar, a live preview and a status line for a long run.

    `make_run()` (set by the panel) builds the run when Run is pressed: an iterator of
    steps, each with `.step`, `.total`, `.losses` (name -> float), `.image` (1, 3, h, w) and
    `.message` (None, or why the run ended early), as `runs.Step` has. Nothing else of a
    step is used; the iterator's `close()` is called at the end if it has one (a generator
    does). Errors of `make_run` (bad settings) show in the status line at once.

    The run goes on in a background thread, so the Stop button is heard while it runs (a
    kernel handles no widget message while a callback runs). Stop keeps the last image, and
    Run does nothing while a run is going. `last` is the last step received; `join()` waits
    for the run to end. `on_end(step)`, if given, is called in the run's thread with the last
    step when a run ends (done, stopped or ended early), for a panel that draws the result.
    """

    def __init__(self, make_run=None, preview_every=5, height=VIEW_HEIGHT, on_end=None):
        self.make_run, self.preview_every, self.height = make_run, preview_every, height
        self.on_end = on_end
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="step 0")
        self.preview = image_view(height)
        self.status = Status()
        self.last = None
        self._thread, self._stop = None, threading.Event()
        self.run_button.on_click(self.status.callback(lambda _: self.start()))
        self.stop_button.on_click(lambda _: self.stop())
        self.widget = w.VBox([w.HBox([self.run_button, self.stop_button, self.progress]),
                              self.preview, self.status.widget])

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def show(self, image):
        """Put an image (1, 3, h, w) in the preview."""
        self.preview.value = image_png(image, self.height)

    def start(self):
        """Build the steps and run them in the background; does nothing while a run is going.
        Called directly, a bad setting raises here; from the Run button it shows in the status."""
        if self.running:
            return
        run = iter(self.make_run())
        self._stop.clear()
        self.last = None
        self.status.info("running…")
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._loop, args=(run,), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self, run):
        close = getattr(run, "close", lambda: None)  # generators have one; a plain iterator may not
        with self.status.reporting():  # this thread has no caller to raise to
            try:
                self._follow(run)
            finally:
                close()  # the run's own clean-up (its hooks) ends before Run is offered again
            if self.on_end is not None and self.last is not None:
                self.on_end(self.last)
        self.run_button.disabled, self.stop_button.disabled = False, True

    def _follow(self, run):
        # Only assigns widget values: printing from a thread would go nowhere useful.
        step = None
        for step in run:
            self.last = step
            self.progress.max, self.progress.value = step.total, step.step
            self.progress.description = f"step {step.step}"
            if step.message or step.step % self.preview_every == 0 or step.step == step.total:
                self.show(step.image)
            if step.message:
                self.status.error(step.message)
                return
            if self._stop.is_set():
                self.show(step.image)
                self.status.info(f"stopped at step {step.step}; the preview is its image")
                return
        if step is None:
            self.status.info("nothing to do")
            return
        self.show(step.image)  # a run that reached its goal early ends between two previews
        self.progress.max = step.step  # and its bar is full: it is done
        self.status.info(_losses_text(step))


def _losses_text(step):
    return f"done, {step.step} steps: " + ", ".join(f"{k} {v:.4g}" for k, v in step.losses.items())
