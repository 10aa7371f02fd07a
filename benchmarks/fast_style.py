"""Feed-forward style transfer against Gatys' optimisation at the same size (called by run.py).

Ours: one forward pass of a shipped network on a 512 x 512 photo, after a warm-up, best of 3.
Peer: `style.style_transfer` on the same photo and style at 512 px with the network's loss
weights, 50 L-BFGS steps.

Quality (Johnson et al.'s claim: one forward pass is worth 50-100 L-BFGS steps): on the four
bundled photos no shipped network trained on, at its training size, the perceptual loss of one
forward pass against Gatys' after 50 steps, and how many steps reach the network's loss.
"""

import time

from lecture_utils import fast_style as fs
from lecture_utils import load_image, load_model
from lecture_utils import style as st
from lecture_utils.images import resize_longer_side


def rows():
    name = fs.shipped_styles()[0]
    net = fs.load_style_network(name)
    photo = load_image("palace", 512)[..., :512, :512].contiguous()
    fs.stylize(net, photo)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fs.stylize(net, photo)
        times.append(time.perf_counter() - start)
    ours = min(times)
    model = load_model(device="cpu")
    weights = {k: net.settings[k] for k in ("content_weight", "style_weight", "tv_weight")}
    start = time.perf_counter()
    for _ in st.iterate_style_transfer(model, photo, load_image(net.settings["style_image"]), size=512, steps=50, **weights):
        pass
    gatys = time.perf_counter() - start
    return [
        (f"stylise 512 x 512 px, network '{name}' (s)", ours, None, "<= 0.5", ours <= 0.5),
        ("stylise 512 px vs Gatys 50 L-BFGS steps at 512 px (s)", ours, gatys, ">= 100x faster", gatys >= 100 * ours),
    ] + [row for style in fs.shipped_styles() for row in quality_rows(model, style)]


def quality_rows(model, name):
    net = fs.load_style_network(name)
    runs = [fs.against_gatys(model, net, resize_longer_side(load_image(photo), net.settings["size"]))
            for photo in fs.UNSEEN_PHOTOS]
    fast = sum(run["fast_loss"] for run in runs)
    gatys = sum(run["gatys_losses"][-1] for run in runs)
    matched = sum(run["steps_matched"] for run in runs) / len(runs)
    where = f"network '{name}', 4 unseen photos at {net.settings['size']} px"
    return [
        (f"fast style, {where}: perceptual loss (sum) vs Gatys after 50 L-BFGS steps", fast, gatys,
         "<= 1x", fast <= gatys),
        (f"fast style, {where}: L-BFGS steps of Gatys one forward pass is worth (mean)", matched, None,
         ">= 50", matched >= 50),
    ]


if __name__ == "__main__":
    for row in rows():
        print(row)
