# %% [markdown]
# # 06 · DeepDream
#
# *Lecture: DeepDream (Mordvintsev, Olah and Tyka, Google Research blog, 2015): "amplify
# existing features". Choose a layer, run the photo forward, set the layer's gradient equal to
# its activation, backpropagate to the image, take a step, repeat.*
#
# Setting the gradient equal to the activation is gradient ascent on ½‖A‖², the layer's squared
# L2 norm: whatever the layer already sees a little of, it is made to see more. The loop is the
# one of notebook 04 with the objective `layer_l2(model, layer)` and four tricks from the
# original code, each shown below by an ablation:
#
# 1. **jitter**: shift the image randomly before each step (and back after);
# 2. **L1-normalised step**: divide the gradient by its mean absolute value, so the step size
#    means the same at every layer and every moment;
# 3. **clipping** the pixels to [0, 1] after each step;
# 4. **octaves**: dream on a small copy first, then carry the added detail up to a larger
#    copy, and so on: patterns grow at several scales.

# %%
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image
from lecture_utils import optimize as opt, plotting
from lecture_utils.activations import get_activations

model = load_model(device="cpu")
SIZE = 256   # shorter side of the photo, in pixels
photo = load_image("palace", size=SIZE)
dream = opt.finish(opt.deepdream(model, photo, "stage4", steps=10, octaves=3))
plotting.show_images([photo, dream.image], titles=["photo", "dreamed at stage4"], ncols=2, size=4.5)

# %% [markdown]
# ## From shallow to deep layers
#
# Shallow layers amplify strokes and colour fringes; middle layers textures and eyes; deep
# layers whole object parts (dog faces, arches, wheels), because that is what their units
# respond to (compare the channel images of notebook 04).

# %%
depths = ["stage2", "stage3", "stage4", "stage5", "stage6"]
dreams = [opt.finish(opt.deepdream(model, photo, layer, steps=10, octaves=3)).image for layer in depths]
plotting.show_images(dreams, titles=depths, ncols=5, size=2.8)


# %% [markdown]
# ## Every octave raises the layer's norm
#
# The run yields one `Step` per update, with the objective measured before the update. At the
# start of each octave we read the layer's mean squared activation, and measure it again on the
# octave's last image:

# %% tags=["nbval-ignore-output"]
def norm_at(image, layer):
    with torch.no_grad():
        return float(get_activations(model, image, [layer])[layer].pow(2).mean())

by_octave = {}
for step in opt.deepdream(model, photo, "stage4", steps=10, octaves=3, jitter_px=0):
    by_octave.setdefault(step.octave, []).append(step)
for octave, steps in by_octave.items():
    size = "x".join(map(str, steps[-1].image.shape[-2:]))
    print(f"octave {octave} ({size} px): {steps[0].losses['l2[stage4]']:.2f} -> {norm_at(steps[-1].image, 'stage4'):.2f}")

# %% [markdown]
# ## Ablations: the same run without each trick
#
# * **No jitter**: the ascent exploits the exact pixel grid and the layers' strides: a regular
#   high-frequency lattice appears instead of shapes.
# * **No L1 normalisation**: a raw gradient step with the same step size barely moves the
#   image, because the gradient's scale (printed below: a few hundredths per pixel, larger
#   the deeper the layer, and changing as the run goes) has nothing to do with the step size
#   we chose. Dividing by its mean absolute value makes the step size mean what it says:
#   "move the average pixel by this much", at every layer and every moment.
# * **No octaves**: all patterns come out at one small scale; octaves let them grow large.

# %%
no_jitter = opt.finish(opt.deepdream(model, photo, "stage4", steps=10, octaves=3, jitter_px=0)).image
no_octaves = opt.finish(opt.deepdream(model, photo, "stage4", steps=30, octaves=1)).image
raw = opt.finish(opt.iterate(model, opt.layer_l2(model, "stage4"), photo, steps=10, lr=0.01,
                             normalize_grad=False, transforms=[opt.jitter(32)], octaves=3)).image
plotting.show_images([dream.image, no_jitter, raw, no_octaves],
                     titles=["all tricks", "no jitter", "raw gradient step", "no octaves (30 steps)"],
                     ncols=4, size=3.2)

# %%
for layer in depths:
    x = photo.clone().requires_grad_(True)
    get_activations(model, x, [layer])[layer].pow(2).mean().backward()
    print(f"{layer}: mean |gradient| per pixel {x.grad.abs().mean():.1e}")

# %% [markdown]
# ## Try it
#
# Pick a photo (or upload one), a layer, the step size, jitter, octaves, the octave scale and
# the iterations per octave, then **Run**. The preview follows the run from the smallest octave
# up; **Stop** keeps the current image.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import DeepDreamPanel
DeepDreamPanel(model)
