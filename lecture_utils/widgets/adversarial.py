"""Adversarial examples on one picture (notebook 05)."""

import html
import threading

import ipywidgets as w

from .. import _checks, adversarial
from ..activations import predict
from ..images import center_square
from ..plotting import figure_png, perturbation_image, prediction_bars
from .common import ImagePicker, Panel, Status, array_png, image_png, image_view
from .runner import Runner


class AdversarialPanel(Panel):
    """Attack a picked or uploaded image (notebook 05): attack, eps, steps, target class.

    Shows the image, the change magnified and the adversarial image, with the top-5 before and
    after. eps is in grey levels (of 255) per pixel; for "PGD (L2)" the budget is the L2 norm
    of a change of eps grey levels on every pixel. An empty target class means untargeted
    (move away from the model's own prediction). The fooling image needs a target and runs
    up to 10 x steps gradient steps: it is made with Run (and can be stopped) instead of at
    every change. Results are cached per setting, so going back to an earlier setting answers
    at once.
    """

    ATTACKS = {"FGSM": "fgsm", "PGD (L-inf)": "pgd", "PGD (L2)": "pgd_l2", "fooling image": "fooling"}

    def __init__(self, model, image="cat", attack="fgsm", eps=2, steps=10, target=""):
        self.model = model
        self.picker = ImagePicker(image)
        self.attack = w.Dropdown(options=list(self.ATTACKS.items()), value=attack, description="attack")
        self.eps = w.IntSlider(value=eps, min=1, max=32, description="eps (/255)", continuous_update=False)
        self.steps = w.IntSlider(value=steps, min=1, max=50, description="steps", continuous_update=False)
        self.target = w.Combobox(options=model.categories, value=target, placeholder="untargeted",
                                 ensure_option=True, description="target class")
        self.views = [image_view(), image_view(), image_view()]
        self.before_view, self.after_view = image_view(150), image_view(150)
        self.info = w.HTML()
        self.status = Status()
        self.runner = Runner(self._fooling_run, on_end=self._fooling_done)
        self.fooling_box = w.VBox()  # holds the Runner while the attack is the fooling image
        self.widget = w.VBox([
            self.picker.widget, w.HBox([self.attack, self.target]), w.HBox([self.eps, self.steps]),
            self.fooling_box, w.HBox(self.views), w.HBox([self.before_view, self.after_view]), self.info,
            self.status.widget,
        ])
        self._cache = {}
        self._lock = threading.RLock()  # the fooling run draws from the Runner's thread
        self.picker.on_change(self.status.callback(self.set_image))
        for control in (self.attack, self.eps, self.steps, self.target):
            control.observe(self.status.callback(self.render), "value")
        self.set_image(self.picker.image)

    def set_image(self, image):
        self._stop_fooling()
        self.image = center_square(image, 224)
        self._cache.clear()
        self.before = predict(self.model, self.image, k=5)
        self.render()

    def _target_index(self):
        # the box holds only class names (ensure_option); empty: untargeted
        return _checks.class_index(self.model, self.target.value, "target class") if self.target.value else None

    def _key(self):
        kind = self.attack.value
        eps = None if kind == "fooling" else self.eps.value / 255  # the fooling image has no budget
        return kind, eps, self.steps.value, self._target_index()

    def _stop_fooling(self):
        """Stop a fooling run that is going (its picture or attack is no longer shown)."""
        if self.runner.running:
            self.runner.stop()
            self.runner.join()

    def _fooling_run(self):
        target = self._target_index()
        if target is None:
            raise ValueError("the fooling image needs a target class: type one in 'target class'")
        self._running = (self._key(), self.image)
        return adversarial.iterate_fooling_image(self.model, self.image, target, max_steps=self.steps.value * 10)

    def _fooling_done(self, step):
        """The Runner's end (in its thread): show the images as far as they got, unless the
        settings changed while it ran; keep them for these settings unless it was stopped."""
        with self._lock:
            key, image = self._running
            if image is not self.image or self._key() != key:
                return
            fooled = step.result.detach().cpu()
            if step.step == step.total or step.losses["reached"] == 1.0:  # ended by itself
                self._cache[key] = fooled
            self.render(adv=fooled)

    def result(self):
        """The adversarial image for the current settings (cached); None for a fooling image
        not made yet (Run makes it)."""
        kind, eps, steps, target = key = self._key()
        if key not in self._cache:
            if kind == "fooling":
                if target is None:
                    raise ValueError("the fooling image needs a target class: type one in 'target class'")
                return None
            label = self.before[0][0]
            if kind == "fgsm":
                out = adversarial.fgsm(self.model, self.image, label, eps=eps, target=target)
            elif kind == "pgd":
                out = adversarial.pgd(self.model, self.image, label, eps=eps, steps=steps, target=target,
                                      random_start=False)
            elif kind == "pgd_l2":  # the budget of a change of eps on every value
                out = adversarial.pgd(self.model, self.image, label, eps=adversarial.l2_budget(eps, self.image),
                                      steps=steps, norm="l2", target=target, random_start=False)
            self._cache[key] = out.detach().cpu()
        return self._cache[key]

    def render(self, change=None, adv=None):
        fooling = self.attack.value == "fooling"
        if not fooling:
            self._stop_fooling()  # not under the lock: the run's end takes it
        with self._lock:
            self._render(fooling, adv)

    def _render(self, fooling, adv):
        # not only hidden: a page shows no empty preview and no Run button of another attack
        self.fooling_box.children = (self.runner.widget,) if fooling else ()
        adv = self.result() if adv is None else adv  # before any drawing: if it fails, the last pictures stay
        self.status.clear()
        if adv is None:
            self.runner.show(self.image)  # the start, until Run
            self.info.value = "the fooling image is not made yet: the pictures above are of the last setting"
            self.status.info(f"press Run to make the fooling image (up to {self.steps.value * 10} steps)")
            return
        self.after = predict(self.model, adv, k=5)
        delta = adv - self.image
        change, scale = perturbation_image(delta)
        self.views[0].value, self.views[2].value = image_png(self.image), image_png(adv)
        self.views[1].value = array_png(change)
        self.before_view.value = figure_png(prediction_bars(self.before, title="before"))
        self.after_view.value = figure_png(prediction_bars(self.after, title="after"))
        self.info.value = (
            f"<b>{html.escape(self.before[0][1])}</b> ({self.before[0][2]:.0%}) &rarr; "
            f"<b>{html.escape(self.after[0][1])}</b> ({self.after[0][2]:.0%}); change: max "
            f"{float(delta.abs().max()) * 255:.1f}/255, L2 {float(delta.norm()):.2f}; "
            f"shown magnified x {scale:.0f}"
        )
