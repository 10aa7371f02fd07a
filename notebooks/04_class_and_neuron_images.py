# %% [markdown]
# # 04 · Class and neuron images
#
# *Lecture: "finding images that activate certain neurons", I\* = argmax<sub>I</sub> A(I) − R(I);
# class images by gradient ascent (Simonyan, Vedaldi and Zisserman 2013); regularisation
# (Yosinski et al. 2015); feature visualisation (Olah, Mordvintsev and Schubert, "Feature
# Visualization", Distill 2017).*
#
# Until now we asked what the network sees in a photo. Now we turn it around: start from a
# blank image and change the **image** (the network's weights stay fixed) so that one class
# score, or one channel of a layer, grows. The result shows what that unit "wants to see".
#
# Every image in this notebook, and in DeepDream (06), feature inversion (07), texture synthesis
# (08) and style transfer (09), comes out of the same loop, `lecture_utils.optimize.iterate`:
# an **objective** built from the network's activations, random **transforms** of the image at
# each step, a **parameterisation** (what the optimiser actually changes), and an optimiser.

# %%
# %matplotlib inline
import torch
import torch.nn.functional as F
from lecture_utils import load_image, load_model
from lecture_utils.activations import get_activations
from lecture_utils import optimize as opt, plotting
from lecture_utils.images import center_square
from lecture_utils.parameterize import high_frequency_share

model = load_model(device="cpu")
STEPS = 48           # Adam steps for the ablation, channel and diversity images
CLASS_STEPS = 96     # and for the twelve class images (the recipes' default is 128: this fits the time budget)
SIZE = 224           # class images: the network's own input size
SMALL = 128          # channel images and the ablation

# %% [markdown]
# ## Why gradient ascent on pixels makes noise
#
# The gradient of a class score with respect to the pixels is the saliency map of notebook 03:
# it changes sign from one pixel to the next. Its power sits at high spatial frequencies, where
# a photo has almost none:

# %%
grey = torch.full((1, 3, SIZE, SIZE), 0.5, requires_grad=True)
model(grey)[0, model.categories.index("dumbbell")].backward()
photo = center_square(load_image("cat"), SIZE)
print(f"power above half the Nyquist frequency: {float(high_frequency_share(grey.grad)[0]):.0%} "
      f"of the gradient, {float(high_frequency_share(photo)[0]):.0%} of a photo")

# %% [markdown]
# So each step of plain ascent adds mostly fine texture, and after a hundred steps the image is
# a carpet of it. Olah and colleagues change the *variables* instead: the optimiser changes
# the image's **Fourier spectrum**, each frequency scaled by 1/frequency, which is how the
# amplitude of a natural photo falls. A step of the same size now moves coarse shapes as far as
# fine texture. Then they also **decorrelate the colours**: the optimiser's three channels are
# mapped to RGB by the square root of ImageNet's colour covariance, so a step changes
# brightness and hue separately, as photos vary. A sigmoid maps the result into [0, 1].
#
# Below, the same objective, the same random views (pad, jitter, zoom, rotation: Lucid's set),
# Adam, 48 steps and 128 px; only the parameterisation changes. Each panel gives the score on the
# exact image and averaged over 20 random views (shifted by up to 16 px, zoomed by 0.9–1.1,
# rotated by up to 5°), and the share of the image's power at high frequencies.

# %%
PARAMS = {"pixels": "pixels", "fourier": "Fourier, 1/f", "fourier_decorrelated": "Fourier + colour"}
ablation, notes = [[], []], [[], []]
dumbbell = opt.class_probability(model, "dumbbell")
stage4 = opt.channel(model, "stage4", 61)
for name in PARAMS:
    runs = [opt.class_image(model, "dumbbell", steps=STEPS, size=SMALL, parameterization=name),
            opt.channel_image(model, "stage4", 61, steps=STEPS, size=SMALL, parameterization=name)]
    for row, (run, objective, unit) in enumerate(zip(runs, [dumbbell, stage4], ["p", "act"])):
        image = opt.finish(run).image
        exact = opt.view_score(model, image, objective, views=1, shift=0, scale=(1, 1), degrees=0)
        ablation[row].append(image)
        notes[row].append(f"{PARAMS[name]}\n{unit} {exact:.2f} exact, "
                          f"{opt.view_score(model, image, objective):.2f} views\n"
                          f"high freq. {float(high_frequency_share(image)[0]):.0%}")
plotting.image_table(ablation, row_labels=["dumbbell", "stage4 #61"], titles=notes, size=3.2, fontsize=12)

# %% [markdown]
# In pixel space the picture is a field of coloured grain, and the dumbbell's probability,
# 1.0 on the exact image, falls when the image is moved; in Fourier space the same optimiser
# draws larger patches, in saturated red, green and blue; with decorrelated colour the colours
# look like those of photos. The channel tells the same story.

# %% [markdown]
# ### Exercise: one update step of a class image
#
# The lecture's (and CS231n's) plain version works on the pixels: one step of gradient **ascent**
# on the class score minus an L2 penalty, I* = argmax S_c(I) − λ‖I‖², seen through a random
# jitter. In pixel space the "zero" image is mid-grey, so the penalty is on ‖x − 0.5‖². Roll the
# image by `oy` rows and `ox` columns, take the gradient of the objective, step by
# `lr * g / ||g||` (the step's L2 length is `lr`), roll back, clip to [0, 1]. Return a new image
# and leave the input as it was.

# %%
def class_image_step(model, image, target, lr, l2_reg, ox, oy):
    """One ascent step on score(x) - l2_reg * ||x - 0.5||^2 through a jitter of (oy rows, ox
    columns): x + lr * g / ||g||, rolled back, clipped to [0, 1]. image (1, 3, H, W)."""
    ### BEGIN SOLUTION
    x = torch.roll(image, shifts=(oy, ox), dims=(2, 3)).requires_grad_(True)
    objective = model(x)[0, target] - l2_reg * (x - 0.5).pow(2).sum()
    (grad,) = torch.autograd.grad(objective, x)
    x = x.detach() + lr * grad / grad.norm()
    x = torch.roll(x, shifts=(-oy, -ox), dims=(2, 3))
    return x.clamp(0, 1)
    ### END SOLUTION


# %%
from lecture_utils.exercises import check
check("class_image_step", class_image_step)

# %% [markdown]
# **Question.** Why does a random jitter at every step make the class image look more like an
# image of the class?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** Without it, the ascent can exploit the exact pixel grid: a pattern of single-pixel
# values that lines up with the strides of the layers raises the score and looks like noise to
# us. With a different shift at every step, a change only keeps helping if it works at every
# offset, which high-frequency tricks do not and shapes of the class do. It acts as a prior of
# "the picture should still work when moved a little", as a real photo of the class does.

# %% [markdown]
# ## Class images
#
# The recipe `opt.class_image(model, target)` does all of this by default: Adam on the class
# **logit** (the score before the softmax: maximising the probability would also reward pushing
# the other 999 classes down), in decorrelated Fourier space, through random views. To Lucid's
# views it adds one more: at each step the image is shrunk by a random factor down to half its
# size and enlarged again, so the class cannot rest on the finest pixels alone. These are the
# twelve classes of the lecture's two slides, made four at a time (a batch of twelve 224 px
# images would need more memory than a Binder session has), 96 steps each.

# %%
classes = ["dumbbell", "cup", "dalmatian", "bell pepper", "lemon", "Siberian husky",
           "washer", "computer keyboard", "kit fox", "goose", "ostrich", "limousine"]
class_images = torch.cat([opt.finish(opt.class_image(model, classes[k:k + 4], steps=CLASS_STEPS, size=SIZE)).image
                          for k in range(0, len(classes), 4)])
plotting.show_images(list(class_images.split(1)), titles=classes, ncols=4, size=2.7, fontsize=14)

# %% [markdown]
# Do they really show the class, or only fool this exact pixel grid? Two fair tests: the
# probability averaged over 20 random views, and the probability after shrinking the image to
# half its size and enlarging it again, which removes the finest detail.

# %% tags=["nbval-ignore-output"]
half = F.interpolate(F.interpolate(class_images, scale_factor=0.5, mode="bilinear", antialias=True),
                     size=(SIZE, SIZE), mode="bilinear")
with torch.no_grad():
    rescaled = model(half).softmax(dim=1)
for k, c in enumerate(classes):
    print(f"{c:>17}: {opt.view_probability(model, class_images[k:k + 1], c):.2f} over random views, "
          f"{float(rescaled[k, model.categories.index(c)]):.2f} at half resolution")
husky = class_images[classes.index("Siberian husky")][None]
with torch.no_grad():
    top = model(husky).softmax(dim=1)[0].topk(3)
print("the husky image, as it is:", ", ".join(f"{model.categories[i]} {float(p):.2f}" for p, i in zip(*top)))

# %% [markdown]
# Most classes hold up on both tests. The weakest is usually the Siberian husky: ImageNet also
# has "Eskimo dog" and "malamute", dogs that look almost the same, and features that raise the
# husky's logit raise theirs too, so the probability is shared among them, more so from some
# views than others. Maximising the log-probability instead, which does push the look-alikes
# down, gave lower husky probabilities over views when we tried it: the fine difference between
# these breeds is not something a 224 px image reliably carries from every view.

# %% [markdown]
# ## Channel images: what a unit of a layer likes
#
# The same recipe with another objective: the mean activation of one channel of a layer over
# all positions (`opt.channel_image`). Four channels each of a shallow layer (`stage2`, 8×
# downsampled), a middle one (`stage4`, 16×) and a deep one (`stage6`, 32×).

# %%
layers = {"stage2": [0, 5, 11, 20], "stage4": [3, 17, 42, 61], "stage6": [10, 40, 77, 150]}
grid = [list(opt.finish(opt.channel_image(model, layer, channels, steps=STEPS, size=SMALL)).image.split(1))
        for layer, channels in layers.items()]
plotting.image_table(grid, row_labels=list(layers), titles=[[f"#{c}" for c in cs] for cs in layers.values()],
                     size=2.6, fontsize=13)

# %% [markdown]
# The shallow channels like one colour or one oriented edge repeated everywhere; the middle
# ones textures and small motifs; the deep ones parts of things, such as eyes and fur, repeated
# at a larger scale.
#
# ## Diversity: more than one image per channel
#
# One image shows one way to excite a channel. Olah and colleagues optimise a batch of images
# at once and subtract a penalty on how alike they are: the mean cosine similarity of their
# Gram matrices (the feature correlations of notebook 08) at the same layer. The penalty buys
# variety with activation: each panel's title says how far its image still drives the channel.

# %%
DEEP = ("stage6", 77)
rows, titles = [], []
for weight in (0.0, 20.0):
    run = opt.channel_image(model, *DEEP, steps=STEPS, size=SMALL, batch=4, diversity_weight=weight)
    images = opt.finish(run).image
    with torch.no_grad():
        acts = {DEEP[0]: get_activations(model, images, [DEEP[0]])[DEEP[0]]}
    similarity = float(opt.gram_similarity(DEEP[0])(acts)[0])
    rows.append(list(images.split(1)))
    titles.append([f"act {float(a):.1f}" for a in acts[DEEP[0]][:, DEEP[1]].mean(dim=(1, 2))])
    titles[-1][0] += f"\nsimilarity {similarity:.2f}"
plotting.image_table(rows, row_labels=["no penalty", "diversity"], titles=titles, size=2.4, fontsize=12)

# %% [markdown]
# ## Try it
#
# Pick a class (type to search all 1000) or a layer and channel, choose what to optimise
# (pixels, the Fourier spectrum, or the spectrum in decorrelated colours), switch the random
# views off or on, set the step size, size and iterations, and press **Run**. The preview
# updates while it runs; **Stop** keeps the image reached so far. Things to try: pixels with no
# random views (noise that fools the network), a deep layer's channel, a step size of 0.3.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import ClassImagePanel
ClassImagePanel(model)

# %% [markdown]
# ## How this notebook is checked
#
# The tests check the claims above on all twelve classes (at least 0.9 from random views and at
# half resolution) and compare the channel images with Lucent's `render_vis` on the same
# network; nbval re-runs this notebook and compares its printed output.
