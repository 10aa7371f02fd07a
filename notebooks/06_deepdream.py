# %% [markdown] slideshow={"slide_type": "slide"}
# # 06 · DeepDream
#
# Take a photo and make a layer of the network see more of what it already sees a little of.
# <small>After Mordvintsev, Olah and Tyka 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: DeepDream (Mordvintsev, Olah and Tyka, Google Research blog, 2015): "amplify
# existing features". Choose a layer, run the photo forward, set the layer's gradient equal to
# its activation, backpropagate to the image, take a step, repeat.*

# %% [markdown] slideshow={"slide_type": "slide"}
# ## DeepDream: Amplify existing features
#
# $$I^* = \arg\max_I \sum_i f_i(I)^2$$
#
# Left: the photo. Right: the same photo after gradient ascent on the squared activations of
# `stage4`, 10 steps at each of three scales.
# <small>After Mordvintsev, Olah and Tyka 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
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

# %% slideshow={"slide_type": "-"}
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image
from lecture_utils import optimize as opt, plotting
from lecture_utils.activations import get_activations
from lecture_utils.deepdream import make_step as slide_step  # the slide's step, for the clipping ablation
from lecture_utils.deepdream import pattern_wavelength

model = load_model(device="cpu")
SIZE = 256   # shorter side of the photo, in pixels
photo = load_image("palace", size=SIZE)
dream = opt.finish(opt.iterate_deepdream(model, photo, "stage4", steps=10))
plotting.show_images([photo, dream.image], titles=["photo", "dreamed at stage4"], ncols=2, size=4.8, fontsize=13,
                     aspect="image")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## DeepDream: from shallow to deep layers
#
# The same run at five depths: fine stripes at stage2, swirls and eye-like rings at stage4,
# animal faces at stage5, the least change at stage6.
# <small>After Mordvintsev, Olah and Tyka 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The same 10 steps at each of three octaves, at five depths. What the figure shows:
#
# * **stage2** (stride 4): a fine, regular grid of coloured stripes over the sky and the trees;
# * **stage3** (stride 8): larger wavy stripes, and the first small rings in the trees;
# * **stage4** (stride 16): swirls and loops in the sky, eye-like rings in the trees;
# * **stage5** (stride 16): the only layer here that draws something you can name: two furry
#   animal faces with eyes and a snout in the trees at the lower right, and eyes in the palace;
# * **stage6** (stride 32, the deepest): the least change of all: faint strokes in the sky, the
#   photo otherwise nearly as it was.
#
# So here something you can name appears at one deep layer (stage5), not at the deepest.

# %% slideshow={"slide_type": "-"}
depths = ["stage2", "stage3", "stage4", "stage5", "stage6"]
dreams = [opt.deepdream(model, photo, layer, steps=10) for layer in depths]
plotting.show_images([photo] + dreams, titles=["photo"] + depths, ncols=3, size=3.3, fontsize=13, aspect="image")

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Why does a deep layer (here stage5) dream up animal faces and eyes in trees
# and buildings?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** DeepDream only amplifies what a layer already responds to a little. ImageNet has
# about 120 dog breeds among its 1000 classes, so many deep units became detectors of dog parts
# (eyes, snouts, fur); any patch that excites them slightly is pushed until it looks like what
# they detect best. A network trained on other data (places, say) dreams of other things.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Every octave raises the layer's norm
#
# The mean squared activation of `stage4`, at the start of each octave and on its last image.

# %% [markdown] slideshow={"slide_type": "notes"}
# The run yields one `Step` per update, with the objective measured before the update. At the
# start of each octave we read the layer's mean squared activation, and measure it again on the
# octave's last image:

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
def norm_at(image, layer):
    with torch.no_grad():
        return float(get_activations(model, image, [layer])[layer].pow(2).mean())

by_octave = {}
for step in opt.iterate_deepdream(model, photo, "stage4", steps=10, jitter_px=0):
    by_octave.setdefault(step.octave, []).append(step)
for octave, steps in by_octave.items():
    size = "x".join(map(str, steps[-1].image.shape[-2:]))
    print(f"octave {octave} ({size} px): {steps[0].losses['l2[stage4]']:.2f} -> {norm_at(steps[-1].image, 'stage4'):.2f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Ablations: the same run without each trick
#
# Columns: all tricks, then the run without jitter, without the L1-normalised step (a raw
# gradient step) and without octaves. The lower rows zoom into the sky and the trees (x 4).
# <small>After Mordvintsev, Olah and Tyka 2015 (the tricks of their code).</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# At the size of the whole photo the runs with and without jitter or octaves look much alike,
# so the two lower rows zoom into the sky and the trees (4 times).
#
# * **No jitter**: every step sees the image at the same offset. What changes is the pattern,
#   not its scale: in the trees the eyes and spirals give way to a mottled texture, and in the
#   sky the strokes turn into loose loops, while the typical wavelength measured below the
#   figure stays about the same (4.8 pixels against 4.7 with jitter).
# * **No L1 normalisation**: a raw gradient step with the same step size barely moves the
#   image, because the gradient's scale (printed below, on the photo: a few hundredths per
#   pixel, larger the deeper the layer) has nothing to do with the step size we chose. Dividing by its mean absolute value makes the step size mean what it says:
#   "move the average pixel by this much", at every layer and every moment.
# * **No octaves** (30 steps at full size instead of 10 at each of three sizes): the pattern is
#   finer. In the sky, a dense fine hatching with fewer broad bands; in the trees, more thin
#   lines and fewer eyes. The difference is small to the eye, so it is measured below the
#   figure: the typical wavelength of what each run added to the photo (1 / its mean spatial
#   frequency, `pattern_wavelength`) is 3.3 pixels without octaves against 4.7 with them.

# %% slideshow={"slide_type": "-"}
no_jitter = opt.deepdream(model, photo, "stage4", steps=10, jitter_px=0)
no_octaves = opt.deepdream(model, photo, "stage4", steps=30, octaves=1)
raw = opt.finish(opt.iterate(model, opt.layer_l2(model, "stage4"), photo, steps=10, lr=0.01,
                             normalize_grad=False, transforms=[opt.jitter(32)], octaves=3)).image
runs = [dream.image, no_jitter, raw, no_octaves]
sky, trees = (slice(0, 64), slice(224, 320)), (slice(192, 256), slice(288, 384))  # rows, columns
plotting.image_table([runs, [x[..., sky[0], sky[1]] for x in runs], [x[..., trees[0], trees[1]] for x in runs]],
                     row_labels=["whole", "sky, x 4", "trees, x 4"],
                     col_labels=["all tricks", "no jitter", "raw gradient step", "no octaves"], size=2.3, fontsize=14)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Without octaves, a finer pattern
#
# The typical wavelength of what each run added to the photo (1 / its mean spatial frequency).

# %% slideshow={"slide_type": "-"}
for name, x in [("all tricks", dream.image), ("no jitter", no_jitter), ("no octaves", no_octaves)]:
    print(f"{name:10s}: the added pattern's typical wavelength {pattern_wavelength(x, photo):.1f} px")

# %% slideshow={"slide_type": "notes"}
for layer in depths:
    x = photo.clone().requires_grad_(True)
    get_activations(model, x, [layer])[layer].pow(2).mean().backward()
    print(f"{layer}: mean |gradient| per pixel {x.grad.abs().mean():.1e}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Without clipping
#
# 30 steps of the lecture's `make_step` at one scale, clipping to [0, 1] after every step or
# never. Right: white where a pixel has a value outside [0, 1].
# <small>After Mordvintsev, Olah and Tyka 2015 (the clipping of their code).</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The library's loop always clips, so this ablation uses the slide's own step (`make_step`,
# ported line for line to PyTorch in `lecture_utils.deepdream`; the exercise below asks you to
# write it), which has the slide's `clip` switch: 30 steps at one scale, once clipping to
# [0, 1] after every step and once never.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
clipped = unclipped = photo
for i in range(30):  # the same jitter for both: the same seed
    clipped = slide_step(model, clipped, "stage4", lr=0.01, seed=i)
    unclipped = slide_step(model, unclipped, "stage4", lr=0.01, clip=False, seed=i)
outside = ((unclipped < 0) | (unclipped > 1)).any(1, keepdim=True).float().expand(-1, 3, -1, -1)
print(f"never clipped: values from {unclipped.min():.2f} to {unclipped.max():.2f}; "
      f"{outside[0, 0].mean():.0%} of the pixels have a value outside [0, 1]")
plotting.image_table([[clipped, unclipped.clamp(0, 1), outside],
                      [x[..., sky[0], sky[1]] for x in (clipped, unclipped.clamp(0, 1), outside)]],
                     row_labels=["whole", "sky, x 4"],
                     col_labels=["clipped every step", "never clipped\n(shown clipped)", "white: a value\noutside [0, 1]"],
                     size=3.1, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# What you see is what clipping is for, and also its limit here. After 30 steps the two images
# look alike, because a screen (or a saved file) clips anyway. But a quarter of the unclipped
# pixels, in the bright sky and the dark shadows, hold values no image can have, and the
# network has been dreaming on them: the numbers it amplified are not the picture you see.
# Clipping every step keeps the two the same.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the lecture's `make_step`, in PyTorch
#
# The lecture's slide shows the heart of the original DeepDream code, written for Caffe and NumPy:
#
# ```python
# def make_step(net, step_size=1.5, end='inception_4c/output', jitter=32, clip=True):
#     src = net.blobs['data']                          # the input image
#     dst = net.blobs[end]                             # the layer
#     ox, oy = np.random.randint(-jitter, jitter + 1, 2)
#     src.data[0] = np.roll(np.roll(src.data[0], ox, -1), oy, -2)  # apply jitter shift
#     net.forward(end=end)
#     dst.diff[:] = dst.data                           # the objective: its gradient is the activation
#     net.backward(start=end)
#     g = src.diff[0]
#     src.data[:] += step_size / np.abs(g).mean() * g  # normalised ascent step
#     src.data[0] = np.roll(np.roll(src.data[0], -ox, -1), -oy, -2)  # unshift image
#     if clip:
#         bias = net.transformer.mean['data']          # Caffe's pixels: 0..255 minus the mean
#         src.data[:] = np.clip(src.data, -bias, 255 - bias)
# ```
#
# Port it line by line. Here the image is a tensor in [0, 1] (so clipping is to [0, 1]), the
# jitter offsets are arguments (so the check can repeat them), the layer's activations come from
# a forward hook (removed in a `finally:`, also when the forward pass fails), and
# `acts.backward(acts)` plays `dst.diff[:] = dst.data; net.backward()`.
# Return a new image and leave the input as it was.

# %% slideshow={"slide_type": "skip"}
def make_step(model, image, layer, step_size, ox, oy):
    """One DeepDream step at the layer `layer`: jitter by (ox columns, oy rows), gradient ascent
    on ½‖A‖² with the step L1-normalised, unshift, clip to [0, 1]. image (1, 3, H, W)."""
    ### BEGIN SOLUTION
    module = model.get_submodule(model.layers[layer])
    kept = {}
    handle = module.register_forward_hook(lambda mod, inputs, output: kept.update(acts=output))
    x = torch.roll(image, shifts=(oy, ox), dims=(-2, -1)).requires_grad_(True)  # apply jitter shift
    try:
        model(x)  # net.forward(end=end)
    finally:
        handle.remove()
    acts = kept["acts"]
    acts.backward(acts.detach())  # dst.diff[:] = dst.data; net.backward(start=end)
    g = x.grad
    x = x.detach() + step_size / g.abs().mean() * g  # normalised ascent step
    x = torch.roll(x, shifts=(-oy, -ox), dims=(-2, -1))  # unshift image
    return x.clamp(0, 1)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("make_step", make_step)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Dream on a photo or your own: choose the layer and the tricks' settings, then **Run**.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a photo (or upload one), a layer, the step size, jitter, octaves, the octave scale and
# the iterations per octave, then **Run**. The preview follows the run from the smallest octave
# up; **Stop** keeps the current image.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import DeepDreamPanel
DeepDreamPanel(model)
