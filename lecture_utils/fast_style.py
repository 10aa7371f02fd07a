"""Fast feed-forward style transfer (Johnson, Alahi and Fei-Fei 2016).

Gatys' style transfer optimises every image anew: hundreds of forward and backward passes.
Johnson et al. train a network once per style to do it in one forward pass: the network
`TransformerNet` maps a photo to its stylised version and is trained to minimise the same
perceptual loss (`style.perceptual_loss`: content + style + TV, measured by a fixed loss
network) over many photos. Afterwards stylising costs one forward pass:

    net = load_style_network("cafe_terrace")          # one of shipped_styles(), from data/
    image = stylize(net, load_image("palace"))        # (1, 3, H, W) in [0, 1]

`train` (and `python -m lecture_utils train-style`) trains one; the shipped networks and the
commands that made them are listed in data/fast_style/README.md. Loading never downloads.
"""

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from .activations import get_activations
from .images import DATA_DIR, IMAGE_SUFFIXES, load_image, random_crops, resize_longer_side
from .optimize import IMAGE, LOGITS
from .runs import Step, run_to_end
from .style import default_layers, iterate_style_transfer, loss_features, perceptual_loss, style_targets

FORMAT = "lecture_utils.fast_style/1"
SHIPPED_DIR = DATA_DIR / "fast_style"
# Bundled photos that no shipped network trained on (they trained on the 12 nature photos of
# Debian's mate-backgrounds): the test and the bench score the networks on these.
UNSEEN_PHOTOS = ("palace", "grace_hopper", "daisy", "astronaut")


# --- the network --------------------------------------------------------------------------------

def _conv(cin, cout, kernel, stride=1):
    # Reflection padding (as Johnson et al.'s code): zero padding darkens the borders.
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride))


def _norm_relu(channels):
    return [nn.InstanceNorm2d(channels, affine=True), nn.ReLU()]


class _Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels, 3), *_norm_relu(channels),
                                  _conv(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.body(x)


class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network, narrower for a CPU.

    9x9 convolution, two stride-2 convolutions, `blocks` residual blocks, two upsamplings by
    resize-then-convolve (nearest x2, then a 3x3 convolution: transposed convolutions leave
    checkerboard artefacts, Odena et al. 2016), and a 9x9 convolution to RGB; instance
    normalisation throughout (Ulyanov et al. 2016). Johnson et al. use width 32 and 5 blocks.

    One change from the paper: the output is sigmoid(logit(input) + network(input)). The
    network learns the change to the photo rather than the photo itself, which a short CPU
    training reaches much sooner; the result stays in (0, 1).

    Input and output: (N, 3, H, W) in [0, 1], H and W multiples of 4 (`stylize` pads others).
    """

    def __init__(self, width=16, blocks=5):
        super().__init__()
        width = _checks.positive_int(width, "width")
        blocks = _checks.integer(blocks, "blocks", low=0)
        self.config = {"width": width, "blocks": blocks}
        w = width
        self.encoder = nn.Sequential(_conv(3, w, 9), *_norm_relu(w), _conv(w, 2 * w, 3, 2), *_norm_relu(2 * w),
                                     _conv(2 * w, 4 * w, 3, 2), *_norm_relu(4 * w))
        self.residuals = nn.Sequential(*[_Residual(4 * w) for _ in range(blocks)])
        self.decoder = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(4 * w, 2 * w, 3),
                                     *_norm_relu(2 * w), nn.Upsample(scale_factor=2, mode="nearest"),
                                     _conv(2 * w, w, 3), *_norm_relu(w), _conv(w, 3, 9))
        nn.init.zeros_(self.decoder[-1][1].weight)  # starts as the identity: output = input
        nn.init.zeros_(self.decoder[-1][1].bias)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(f"TransformerNet takes (N, 3, H, W) with H and W multiples of 4; got {tuple(x.shape)} "
                             "(stylize pads any size)")
        return torch.sigmoid(torch.logit(x.clamp(1e-3, 1 - 1e-3)) + self.decoder(self.residuals(self.encoder(x))))


# --- using a trained network ---------------------------------------------------------------------

def stylize(net, image, strength=1.0):
    """Stylise a photo in one forward pass.

    Args:
        net: a `TransformerNet` (e.g. from `load_style_network`).
        image: (1, 3, H, W) or (N, 3, H, W) in [0, 1], any size (padded by reflection to a
            multiple of 4 and cropped back).
        strength: in [0, 1]: strength * stylised + (1 - strength) * photo.

    Returns:
        A tensor of the image's shape, on the image's device, in [0, 1].
    """
    image = _checks.images(image, "image")
    strength = _checks.number(strength, "strength", 0, 1)
    h, w = image.shape[-2:]
    if min(h, w) < 16:
        raise ValueError(f"image must be at least 16 x 16 px; got {h} x {w}")
    pad_h, pad_w = -h % 4, -w % 4
    device = next(net.parameters()).device
    x = image.to(device, torch.float32)
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    with torch.no_grad():
        out = net(x)[..., :h, :w]
    out = out.to(image.device)
    return out if strength == 1 else strength * out + (1 - strength) * image


def against_gatys(model, net, content, steps=50):
    """One forward pass of `net` against Gatys' method (`style.iterate_style_transfer` from the
    photo, L-BFGS) with the same loss network, style image and weights (those `net` was trained
    with), at the photo's size; both scored by the same loss (`batch_loss`).

    Returns a dict: "fast" (the network's image) and "fast_loss"; "gatys" (the image after each
    L-BFGS step) and "gatys_losses"; "steps_matched", the first step count whose loss is at
    most the network's (steps + 1 when none is: the network beats all of them); "fast_seconds"
    (the forward pass's wall time) and "gatys_seconds" (the wall time of the L-BFGS run up to
    each step; neither counts the scoring).
    """
    content = _checks.images(content, "content", single=True)
    size, style = max(content.shape[-2:]), load_image(net.settings["style_image"])
    weights = _recorded_weights(net)
    grams, settings = loss_targets(model, style, size, **weights)  # as trained_loss_targets, one load
    start = time.perf_counter()
    fast = stylize(net, content)
    fast_seconds, gatys, gatys_seconds = time.perf_counter() - start, [], []
    start = time.perf_counter()
    for step in iterate_style_transfer(model, content, style, size=size, steps=steps, **weights):
        gatys.append(step.image)
        gatys_seconds.append(time.perf_counter() - start)
    fast_loss = batch_loss(model, fast, content, grams, settings)[0].item()
    gatys_losses = [batch_loss(model, image, content, grams, settings)[0].item() for image in gatys]
    matched = next((i + 1 for i, loss in enumerate(gatys_losses) if loss <= fast_loss), steps + 1)
    return {"fast": fast, "fast_loss": fast_loss, "gatys": gatys, "gatys_losses": gatys_losses,
            "steps_matched": matched, "fast_seconds": fast_seconds, "gatys_seconds": gatys_seconds}


def shipped_styles():
    """Names of the style networks shipped in data/fast_style (load with `load_style_network`)."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.pt"))


def load_style_network(source, device=None):
    """A trained `TransformerNet` in eval mode, from a shipped style name or a file `train` wrote.

    The file's `settings` (how it was trained) are on the returned network as `net.settings`.
    device: None picks CUDA when a CUDA device is visible, as `load_model` does.
    Raises ValueError naming the shipped styles for an unknown name, or what is wrong with a file.
    """
    device = _checks.device(device)
    path = Path(source)
    if not path.suffix:
        if source not in shipped_styles():
            raise ValueError(f"no shipped style network {source!r}; shipped: {', '.join(shipped_styles())} "
                             "(or give the path of a file that train-style wrote)")
        path = SHIPPED_DIR / f"{source}.pt"
    if not path.is_file():
        raise ValueError(f"no style network file at {path}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path} is not a style network file ({error.__class__.__name__}: {error})") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path} is not a style network file (expected format {FORMAT!r})")
    net = TransformerNet(**saved["config"])
    net.load_state_dict({k: v.float() for k, v in saved["net"].items()})
    net.settings = saved["settings"]
    net.steps_trained = saved["step"]
    return net.eval().requires_grad_(False).to(device)


# --- the loss -----------------------------------------------------------------------------------

def loss_targets(model, style, size, content_weight=1.0, style_weight=20.0, tv_weight=1.0, swag=False):
    """What `batch_loss` needs for one style: (Gram targets, the loss's keyword settings).

    The style image is resized so its longer side is `size`, as `style.style_transfer` does
    for an output of that size, so a network trained at `size` and Gatys' optimisation at
    `size` minimise the same loss.
    """
    content_layer, style_layers = default_layers(model)
    grams = style_targets(model, resize_longer_side(style, size), style_layers, swag=swag)
    settings = dict(content_layer=content_layer, content_weight=content_weight, style_weight=style_weight,
                    tv_weight=tv_weight, swag=swag)
    return grams, settings


def trained_loss_targets(model, net, size):
    """`loss_targets` for the style image and the weights a trained `net` records in its
    `.settings` (`load_style_network`, `iterate_training`): the loss it was trained on."""
    return loss_targets(model, load_image(net.settings["style_image"]), size,
                        **_recorded_weights(net))


def _recorded_weights(net):
    """The loss's weights a trained network records in its `.settings`."""
    return {k: net.settings[k] for k in ("content_weight", "style_weight", "tv_weight")}


def batch_loss(model, outputs, contents, grams, settings):
    """(total, {term: value}) of `style.perceptual_loss` for a batch of outputs against their
    contents (each term the batch mean; with gradients if `outputs` has them)."""
    layer = settings["content_layer"]
    with torch.no_grad():  # not `style.layer_targets`: every batch is new, a cache would only fill up
        target_features = loss_features(get_activations(model, contents, [layer])[layer], settings["swag"])
    objective = perceptual_loss(target_features, grams, **settings)
    acts = dict(get_activations(model, outputs, [n for n in objective.layers if n not in (IMAGE, LOGITS)]))
    acts[IMAGE] = outputs
    return objective(acts)


# --- training -----------------------------------------------------------------------------------

def load_photos(folder, short_side=384, limit=1000):
    """Image files under `folder` (recursively; at most `limit`, spread evenly over the sorted
    names), each scaled down so its shorter side is at most `short_side` (random crops of these
    are the training batches). They are held in memory: 1000 photos at 384 x 512 take 2.4 GB.
    Unreadable files raise `ImageError`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"no folder of training photos at {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
    files = [files[round(i * len(files) / limit)] for i in range(limit)] if len(files) > limit else files
    photos = []
    for path in files:
        photo = load_image(str(path))
        photos.append(load_image(photo, short_side) if min(photo.shape[-2:]) > short_side else photo)
    return photos


def save_style_network(net, path, settings, step):
    """Write a trained network for `load_style_network`: half-precision weights (about 1 MB)."""
    _checks.save_atomic({"format": FORMAT, "config": net.config, "settings": settings, "step": step,
                         "net": {k: v.detach().to("cpu", torch.float16) for k, v in net.state_dict().items()}}, path)


MAX_LR = 1.0  # Adam's step size: far above any that trains (1e-3 does); larger ones are typos
MAX_SEED = 2 ** 32 - 1  # a step's crops are seeded with seed * 1_000_003 + step, which must stay in int64


def check_training_options(*, size, batch_size, steps, lr, width, blocks, content_weight, style_weight, tv_weight,
                           seed, save_every=25, spell=str):
    """The numeric options of `iterate_training`, checked and converted: a dict of them.

    ValueError naming the first bad one and what it accepts; `spell(name)` is how the message
    spells a name (the command line passes one that says --lr). The command line calls this
    before it loads anything, `iterate_training` before its first step.
    """
    checked = {name: _checks.integer(value, spell(name), low, high) for name, value, low, high in (
        ("size", size, 4, None), ("batch_size", batch_size, 1, None), ("steps", steps, 1, None),
        ("width", width, 1, None), ("blocks", blocks, 0, None), ("seed", seed, 0, MAX_SEED),
        ("save_every", save_every, 1, None))}
    if checked["size"] % 4:
        raise ValueError(f"{spell('size')} must be a multiple of 4; got {size}")
    checked["lr"] = _checks.number(lr, spell("lr"), 0, MAX_LR, open_low=True)
    for name, value in (("content_weight", content_weight), ("style_weight", style_weight), ("tv_weight", tv_weight)):
        checked[name] = _checks.number(value, spell(name), low=0)
    if not checked["content_weight"] and not checked["style_weight"]:
        raise ValueError(f"{spell('content_weight')} and {spell('style_weight')} are both 0: there is nothing "
                         "to learn")
    return checked


def _training_settings(model, style, photos, options):
    """Check the training's arguments; the settings a checkpoint records (and a resume compares)."""
    _checks.images(style, "style image", single=True)
    if not photos:
        raise ValueError("give at least one training photo")
    for photo in photos:
        _checks.images(photo, "each training photo", single=True)
    o = check_training_options(**options)
    # the images enter the record by a digest: the same photos, the same record ("batch": the
    # record's name for batch_size since the first checkpoints)
    return dict(model=model.name, style=_checks.image_key(style)[:16], photos=_checks.image_key(*photos)[:16],
                photo_count=len(photos), size=o["size"], batch=o["batch_size"], lr=o["lr"], width=o["width"],
                blocks=o["blocks"], content_weight=o["content_weight"], style_weight=o["style_weight"],
                tv_weight=o["tv_weight"], seed=o["seed"])


def _resume(checkpoint, net, optimizer, settings, steps):
    """Load the training state saved at `checkpoint` into net and optimizer; the steps it had
    made (0 without a checkpoint). ValueError for a file that is not a checkpoint of these settings."""
    if not checkpoint.is_file():
        return 0
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{checkpoint} is not a training checkpoint ({type(error).__name__}: {error}); "
                         "give another path, or delete it to start again") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "optimizer" not in state:
        raise ValueError(f"{checkpoint} is not a training checkpoint of this version ({FORMAT}); "
                         "give another path, or delete it to start again")
    if state["step"] > steps:
        raise ValueError(f"{checkpoint} is already at step {state['step']}, beyond steps={steps}")
    different = {k: (state["settings"].get(k), v) for k, v in settings.items() if state["settings"].get(k) != v}
    if different:
        raise ValueError(f"{checkpoint} was trained with other settings (saved, now): {different}; "
                         "resume with the same ones or give another checkpoint path")
    net.load_state_dict(state["net"])
    optimizer.load_state_dict(state["optimizer"])
    return state["step"]


def _batch(photos, settings, step, device):
    """The crops of step `step` (0-based): they depend only on the seed and the step, so a
    resumed run sees the batches an uninterrupted one would have seen."""
    generator = torch.Generator().manual_seed(settings["seed"] * 1_000_003 + step)
    order = torch.randperm(len(photos), generator=generator).tolist()
    chosen = [photos[order[i % len(order)]] for i in range(settings["batch"])]
    crops_seed = int(torch.randint(2 ** 62, (), generator=generator))
    return random_crops(chosen, settings["batch"], settings["size"], seed=crops_seed).to(device)


def iterate_training(model, style, photos, checkpoint, *, size=256, batch_size=4, steps=1200, lr=1e-3, width=16,
                     blocks=5, content_weight=1.0, style_weight=20.0, tv_weight=1.0, seed=0, save_every=25):
    """Train a `TransformerNet` for one style image (Johnson et al. 2016), resumably; yields a
    `runs.Step` after every update (`train` runs it to the end).

    Each step takes `batch_size` random square crops of the photos (side 35-100% of a photo's
    shorter side, resized to `size`, mirrored half the time), stylises them and takes one Adam
    step on `style.perceptual_loss` measured by `model` (the loss network), with
    the style image resized so its longer side is `size` (as `style.style_transfer` at that size).

    Args:
        model: the loss network (an `ImageNetModel`, e.g. `load_model()`); the network trains
            on its device.
        style: the style image (1, 3, H, W) in [0, 1]. photos: a list of such photos.
        size: crop side in pixels (a multiple of 4); batch_size: crops per step; steps: Adam steps
            in all; lr: Adam's step size, in (0, 1]. width, blocks: of the `TransformerNet`.
        content_weight, style_weight, tv_weight: the loss's weights (as `style_transfer`).
        seed: an int from 0 to 2**32 - 1; the starting weights and every step's crops depend on it alone.
        checkpoint: path of the training state. It is written atomically every `save_every`
            steps, at the end, and when the run is stopped (no more steps asked for, or a
            KeyboardInterrupt; never in the middle of an update). If it exists, training resumes
            from it, provided the settings are the same (`steps` may grow); a file that is not
            a checkpoint raises ValueError.
        save_every: steps between checkpoints.

    Yields:
        `Step`s: `losses` holds this step's "total" and its terms, `image` the network's
        stylisation of the step's first crop, `result` the network itself (training in place;
        in eval mode, with `.settings` and `.steps_trained`, once the run has ended). A
        checkpoint that already holds all `steps` gives one step with no losses. A loss or
        gradient that becomes NaN or inf ends the run with a step that has a `message`; its
        `image` is the last good step's picture (at the first step, the untrained network's).

    Example:
        >>> for step in iterate_training(model, load_image("cafe_terrace"), photos, "cafe.ckpt", steps=300):
        ...     print(step.step, step.losses["total"])
        >>> net = step.result
    """
    settings = _training_settings(model, style, photos, dict(
        size=size, batch_size=batch_size, steps=steps, lr=lr, width=width, blocks=blocks, content_weight=content_weight,
        style_weight=style_weight, tv_weight=tv_weight, seed=seed, save_every=save_every))
    training = _Training(model, style, photos, checkpoint, settings, steps)
    return training.run(steps, save_every)  # a generator: the checks above raise at the call


class _Training:
    """The state of one training run: the network, its optimiser, the loss's targets, the steps
    done and saved. A checkpoint at `checkpoint` is resumed from (`_resume`)."""

    def __init__(self, model, style, photos, checkpoint, settings, steps):
        self.model, self.photos, self.checkpoint, self.settings = model, photos, Path(checkpoint), settings
        with torch.random.fork_rng(devices=[]):  # the starting weights depend on the seed only
            torch.manual_seed(settings["seed"])
            self.net = TransformerNet(settings["width"], settings["blocks"]).to(model.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=settings["lr"])
        self.done = _resume(self.checkpoint, self.net, self.optimizer, settings, steps)
        self.grams, self.loss_settings = loss_targets(model, style, settings["size"], settings["content_weight"],
                                                      settings["style_weight"], settings["tv_weight"])
        self.saved = None  # the step last written, so the end of a run does not write it twice
        self.updating = False  # True while the weights may have moved but `done` does not yet say so

    def picture(self, step):
        """The network's stylisation, as it is now, of the first crop of step `step` (0-based)."""
        with torch.no_grad():
            crop = _batch(self.photos, self.settings, step, self.model.device)[:1]
            return self.net(crop).clamp(0, 1).cpu()

    def save(self):
        _checks.save_atomic({"format": FORMAT, "config": self.net.config, "settings": self.settings,
                             "step": self.done, "net": self.net.state_dict(),
                             "optimizer": self.optimizer.state_dict()}, self.checkpoint)
        self.saved = self.done

    def update(self):
        """One Adam step on one batch; this step's losses and the first crop's stylisation. A loss
        or gradient that is not finite takes no step: (None, the losses) then."""
        contents = _batch(self.photos, self.settings, self.done, self.model.device)
        with torch.enable_grad():  # also when the caller asks for the next step inside no_grad
            outputs = self.net(contents)
            total, losses = batch_loss(self.model, outputs, contents, self.grams, self.loss_settings)
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
        values = {"total": total.item(), **{k: v.item() for k, v in losses.items()}}
        gradients = [p.grad for p in self.net.parameters() if p.grad is not None]
        if not (torch.isfinite(total) and all(torch.isfinite(g).all() for g in gradients)):
            return None, values  # the weights stay those of the last good step
        self.updating = True
        self.optimizer.step()
        self.done += 1
        self.updating = False
        return outputs[:1].detach().clamp(0, 1).cpu(), values

    def run(self, steps, save_every):
        net, last_picture = self.net, None
        net.train()
        try:
            if self.done == steps:  # nothing left to train: show the network as it is
                yield Step(self.done, steps, {}, self.picture(self.done - 1), result=net)
            while self.done < steps:
                picture, values = self.update()
                if picture is None:  # NaN or inf: stop; the checkpoint keeps the last good step
                    # the last good picture; at the first step, the start: the network's (at first
                    # the identity's) picture of this step's crop, so a panel has one to show
                    shown = last_picture if last_picture is not None else self.picture(self.done)
                    yield Step(self.done + 1, steps, values, shown, result=net,
                               message=f"stopped at step {self.done + 1}: the loss or its gradient became NaN or "
                                       f"inf; the network is that of step {self.done} (try a smaller lr)")
                    return
                last_picture = picture
                if self.done % save_every == 0:
                    self.save()
                yield Step(self.done, steps, values, picture, result=net)
        finally:  # the end, a stop (the generator closed) or an interrupt: keep the state
            if not self.updating and self.saved != self.done:  # mid-update the last save stands
                self.save()
            net.eval().requires_grad_(False)
            net.settings, net.steps_trained = self.settings, self.done


def train(model, style, photos, checkpoint, **options):
    """`iterate_training` run to its end: the trained network (eval mode) with `.settings` and
    `.steps_trained`. Same arguments as `iterate_training`."""
    return run_to_end(iterate_training(model, style, photos, checkpoint, **options))
