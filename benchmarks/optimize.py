"""The image-optimisation loop against hand-written loops of the same runs (called by run.py).

Peers are written the way the CS231n assignment and the original DeepDream notebook do it: a
bare loop with `torch.roll` jitter, a plain ascent step, clipping, on the same model. The ratio
is the cost of our engine's generality (objectives, hooks, transforms, progress); the targets
are absolute seconds from the project's issue.
"""

import statistics
import time

import torch
import torch.nn.functional as F

from lecture_utils import load_image, load_model
from lecture_utils import optimize as opt
from lecture_utils.activations import get_activations


def seconds(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def peer_class_image(model, index, steps=200, size=224, lr=0.02, l2_weight=0.1, jitter_px=8):
    """CS231n-style class visualisation: roll, ascent on the logit minus L2, unroll, clip."""
    x = 0.5 + 0.05 * torch.randn(1, 3, size, size)
    for _ in range(steps):
        dy, dx = (int(v) for v in torch.randint(-jitter_px, jitter_px + 1, (2,)))
        x = torch.roll(x, (dy, dx), (2, 3)).requires_grad_(True)
        score = model(x)[0, index] - l2_weight * (x - 0.5).pow(2).mean()
        score.backward()
        with torch.no_grad():
            x = x + lr * x.grad / x.grad.abs().mean()
            x = torch.roll(x, (-dy, -dx), (2, 3)).clamp(0, 1)
    return x


def peer_deepdream(model, image, layer, steps=10, octaves=3, scale=1.4, lr=0.01, jitter_px=32):
    """The DeepDream notebook's loop: pyramid of octaves, detail carried up, L1-normalised steps."""
    h, w = image.shape[-2:]
    sizes = [(round(h / scale ** k), round(w / scale ** k)) for k in reversed(range(octaves))]
    detail = torch.zeros(1, 3, *sizes[0])
    for size in sizes:
        base = F.interpolate(image, size=size, mode="bilinear", antialias=True)
        x = (base + F.interpolate(detail, size=size, mode="bilinear")).clamp(0, 1)
        for _ in range(steps):
            dy, dx = (int(v) for v in torch.randint(-jitter_px, jitter_px + 1, (2,)))
            x = torch.roll(x, (dy, dx), (2, 3)).requires_grad_(True)
            get_activations(model, x, [layer])[layer].pow(2).mean().backward()
            with torch.no_grad():
                x = torch.roll(x + lr * x.grad / x.grad.abs().mean(), (-dy, -dx), (2, 3)).clamp(0, 1)
        detail = x - base
    return x


def lucent_rows(model, channels=(("stage4", 61), ("stage6", 77)), steps=128, size=224):
    """Channel images against Lucent's render_vis (defaults) on the same model, channel, steps and
    size: time, and the channel's mean activation over random views of the result."""
    try:
        from tests.lucent_peer import lucent_channel_image
    except ImportError:
        return []
    out = []
    for layer, index in channels:
        objective = opt.channel(model, layer, index)
        mine = peer = None

        def ours_run():
            nonlocal mine
            mine = opt.channel_image(model, layer, index, steps=steps, size=size)

        def peer_run():
            nonlocal peer
            peer = lucent_channel_image(model, layer, index, steps=steps, size=size)

        ours, theirs = seconds(ours_run), seconds(peer_run)
        out.append((f"channel image {layer} #{index}, {size} px, {steps} steps vs Lucent (s)", ours, theirs,
                    "ratio <= 1", ours <= theirs))
        score, peer_score = opt.view_score(model, mine, objective), opt.view_score(model, peer, objective)
        out.append((f"channel image {layer} #{index}: activation over random views vs Lucent", score, peer_score,
                    ">= Lucent's", score >= peer_score))
    return out


LECTURE_CLASSES = ["dumbbell", "cup", "dalmatian", "bell pepper", "lemon", "Siberian husky",
                   "washer", "computer keyboard", "kit fox", "goose", "ostrich", "limousine"]
MACO_LR = 0.2  # phase steps, in radians; with MACO_VIEWS the best of those tried (benchmarks/RESULTS.md)
# Lucid's views with zooms of 1-1.5 instead of 0.9-1.1 (MACO's own are crops of a quarter of a
# large image), then the recipe's random resolution
MACO_VIEWS = dict(scale=(1.0, 1.5))


def maco_rows(model, steps=96, size=224):
    """The 12 class images of notebook 04, 4 per batch, made by MACO (`parameterization="maco"`,
    Adam, lr MACO_LR, views zooming in by 1-1.5, no penalty or blur) and by the notebook's recipe
    (`optimize.iterate_class_image` at its defaults, `steps` and `size` aside): time, the
    batches of the two interleaved so that the machine's drifts hit both, and the mean class
    probability over random views (`view_probability`)."""
    views = opt.robust_views() + [opt.random_resolution(0.5)]
    maco_views = opt.robust_views(**MACO_VIEWS) + [opt.random_resolution(0.5)]
    # a step of each first: the first run of a shape sets up its kernels, which takes seconds
    for name, transforms in (("maco", maco_views), ("fourier_decorrelated", views)):
        opt.finish(opt.iterate(model, opt.class_logit(model, LECTURE_CLASSES[:4]), size=size, steps=1,
                               parameterization=name, transforms=transforms, batch_size=4))
    made, spent = {"maco": [], "recipe": []}, {"maco": 0.0, "recipe": 0.0}
    for k in range(0, len(LECTURE_CLASSES), 4):
        logit = opt.class_logit(model, LECTURE_CLASSES[k:k + 4])
        runs = {"maco": lambda: opt.iterate(model, logit, size=size, steps=steps, lr=MACO_LR, optimizer="adam",
                                            parameterization="maco", transforms=maco_views, batch_size=4),
                "recipe": lambda: opt.iterate_class_image(model, LECTURE_CLASSES[k:k + 4], steps=steps, size=size)}
        for name, run in runs.items():
            spent[name] += seconds(lambda: made[name].append(opt.finish(run()).image))
    p = {name: statistics.mean(opt.view_probability(model, image[None], c)
                               for image, c in zip(torch.cat(images), LECTURE_CLASSES))
         for name, images in made.items()}
    label = f"the 12 class images of notebook 04, {size} px, {steps} steps: MACO vs the notebook's recipe"
    return [(f"{label} (s)", spent["maco"], spent["recipe"], "ratio <= 1.2", spent["maco"] <= 1.2 * spent["recipe"]),
            (f"{label}: mean class probability over random views", p["maco"], p["recipe"], ">= the recipe's",
             p["maco"] >= p["recipe"])]


def rows():
    model = load_model(device="cpu")
    photo = load_image("palace", size=384)
    dumbbell = model.categories.index("dumbbell")
    out = []
    same_loop = opt.class_logit(model, "dumbbell") - 0.1 * opt.l2()
    ours = seconds(lambda: opt.finish(opt.iterate(model, same_loop, steps=200, lr=0.02, transforms=[opt.jitter(8)])))
    peer = seconds(lambda: peer_class_image(model, dumbbell))
    out.append(("class image by jittered ascent, 224 px, 200 steps (s)", ours, peer, "ratio <= 1.1", ours <= 1.1 * peer))
    ours = seconds(lambda: opt.finish(opt.iterate_class_image(model, "dumbbell", steps=128, size=224)))
    out.append(("class image recipe (Fourier, decorrelated colour, random views), 224 px, 128 steps (s)",
                ours, None, "<= 20", ours <= 20))
    out += lucent_rows(model)
    ours = seconds(lambda: opt.finish(opt.iterate_deepdream(model, photo, "stage4", steps=10)))
    peer = seconds(lambda: peer_deepdream(model, photo, "stage4"))
    out.append(("DeepDream, 384 px, 3 octaves x 10 steps (s)", ours, peer, "<= 40", ours <= 40))
    out += maco_rows(model)
    return out
