# %% [markdown]
# # 04 · Class and neuron images
#
# *Lecture: "finding images that activate certain neurons", I\* = argmax<sub>I</sub> A(I) − R(I);
# class images by gradient ascent (Simonyan, Vedaldi and Zisserman 2013); regularisation by L2,
# blur and jitter (Yosinski et al. 2015).*
#
# Until now we asked what the network sees in a photo. Now we turn it around: start from faint
# noise and change the **pixels** (the network's weights stay fixed) so that one class score,
# or one channel of a layer, grows. The result shows what that unit "wants to see".
#
# Every image in this notebook, and in DeepDream (06), feature inversion (07), texture synthesis
# (08) and style transfer (09), comes out of the same loop, `lecture_utils.optimize.iterate`:
# an **objective** built from the network's activations, **regularisers** subtracted from it,
# random **transforms** of the image at each step, and an optimiser.

# %%
# %matplotlib inline
import torch
from lecture_utils import load_model
from lecture_utils import optimize as opt, plotting

model = load_model(device="cpu")
STEPS, SIZE = 120, 160                  # class images
CHANNEL_STEPS, CHANNEL_SIZE = 60, 96    # channel images
objective = opt.class_logit(model, "dumbbell") - 0.1 * opt.l2()
print(objective)          # objectives compose with +, - and a number

# %% [markdown]
# ## Class images
#
# For each class we maximise its **logit** (the score before the softmax: maximising the
# probability would also reward pushing the other 999 classes down) minus 0.1 × the image's
# squared distance from grey, with Adam, for 120 steps at 160 px. Two tricks make the result
# an image of the class rather than a pattern of noise that happens to fool the network:
#
# * **jitter and small random zooms and rotations**: each step sees the image shifted by up to
#   8 px, zoomed by 0.95–1.05 and turned by up to 5°, so a feature must work at every offset;
# * **a light blur every 4 steps** removes the highest frequencies, which the network notices
#   but we do not.

# %%
classes = ["dumbbell", "cup", "dalmatian", "bell pepper", "lemon", "Siberian husky"]
images = {c: opt.finish(opt.class_image(model, c, steps=STEPS, size=SIZE)).image for c in classes}
plotting.show_images(list(images.values()), titles=classes, ncols=3, size=3)

# %% [markdown]
# Do they really show the class? A fair test looks at each image from 20 random views
# (shifted by up to 16 px, zoomed by 0.9–1.1, rotated by up to 5°) and averages the
# probability the network gives the class:

# %% tags=["nbval-ignore-output"]
for c, image in images.items():
    print(f"{c:>15}: {opt.view_probability(model, image, c):.2f} over 20 random views")

# %% [markdown]
# ### Ablation: the same run without the tricks
#
# Plain gradient ascent on the pixels, no jitter, no blur: the probability on the exact pixel
# grid reaches 1.0 within a few dozen steps, yet the picture is high-frequency noise, and
# shifting it by a few pixels breaks the illusion. The network's decision can be bought with
# changes too small and too fine for us to see, which is exactly what adversarial examples
# (notebook 05) exploit.

# %%
plain = opt.finish(opt.iterate(model, opt.class_logit(model, "dumbbell"), size=SIZE, steps=STEPS,
                               lr=0.01, optimizer="ascent")).image
with torch.no_grad():
    exact = model(plain).softmax(1)[0, model.categories.index("dumbbell")]
print(f"plain ascent: {float(exact):.2f} on the exact grid, "
      f"{opt.view_probability(model, plain, 'dumbbell'):.2f} over random views")
plotting.show_images([plain, images["dumbbell"]], titles=["plain ascent", "jitter + views + blur"], size=3)

# %% [markdown]
# ## Channel images: what a unit of a layer likes
#
# The same loop with another objective: the mean activation of one channel of a layer over all
# positions. A channel of a shallow layer (`stage2`, 24 channels, 8× downsampled) likes a
# colour or an oriented edge repeated everywhere; a middle layer (`stage4`) textures and
# parts; a deep one (`stage6`) object parts at a larger scale, repeated across the image.

# %%
layers = {"stage2": [0, 5, 11, 20], "stage4": [3, 17, 42, 61], "stage6": [10, 40, 77, 150]}
grid, titles, gains = [], [], []
for layer, channels in layers.items():
    for c in channels:
        steps = list(opt.channel_image(model, layer, c, steps=CHANNEL_STEPS, size=CHANNEL_SIZE))
        grid.append(steps[-1].image)
        titles.append(f"{layer} #{c}")
        gains.append((steps[0].losses[f"{layer}[{c}]"], steps[-1].losses[f"{layer}[{c}]"]))
plotting.show_images(grid, titles=titles, ncols=4, size=2.2)

# %% tags=["nbval-ignore-output"]
for title, (first, last) in zip(titles, gains):
    print(f"{title:>11}: mean activation {first:6.2f} -> {last:6.2f}")

# %% [markdown]
# Every channel rises by about 25 to 65 in mean activation. The ratio to the start says less: on the
# faint grey noise we start from, most channels sit near zero or below (a ratio means nothing
# there), while `stage6 #77` already responds at about 10 and ends near 37, only about 3.5x its
# start, though it rises about as much as the others. Even 200 unregularised steps take it only to
# about 70: how far a channel can be driven depends on the channel, not only on the optimiser.

# %% [markdown]
# ## Try it
#
# Pick a class (type to search all 1000) or a layer and channel, set the step size, jitter,
# L2 weight, blur and the number of iterations, and press **Run**. The preview updates while
# it runs; **Stop** keeps the image reached so far. Things to try: jitter 0 (noise again),
# a large L2 weight (grey and faint), a blur of 2 (soft blobs), a deep layer's channel.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import ClassImagePanel
ClassImagePanel(model)
