# %% [markdown] slideshow={"slide_type": "slide"}
# # 04 · Class and neuron images
#
# Change the **image**, not the weights, until one class score or one channel of a layer grows:
# what that unit "wants to see".

# %% [markdown] slideshow={"slide_type": "notes"}
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

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
import torch.nn.functional as F
from lecture_utils import load_image, load_model
from lecture_utils.activations import get_activations
from lecture_utils import optimize as opt, plotting
from lecture_utils.images import center_square
from lecture_utils.parameterize import high_frequency_share, saturated_share

model = load_model(device="cpu")
STEPS = 48           # Adam steps for the ablation, channel and diversity images
SIZE = 224           # class images: the network's own input size
SMALL = 128          # channel images and the ablation

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Finding images that activate certain neurons
#
# $I^* = \arg\max_I A(I) - R(I)$: gradient ascent changes the pixels, not the weights. Printed: for
# the dumbbell score at a grey image, how often the gradient's sign flips between neighbouring
# pixels, and its high-frequency power.
# <small>After Simonyan, Vedaldi and Zisserman 2013.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# **Why gradient ascent on pixels makes noise.** Notebook 03's saliency map is made from the gradient
# of a class score with respect to the pixels (the map is its absolute value, the largest over the
# three colours). The gradient itself, signs included, is what plain gradient ascent adds to the
# image at each step. Its sign flips between many neighbouring pixels, and its power sits at high
# spatial frequencies, where a photo has almost none:

# %% slideshow={"slide_type": "-"}
grey = torch.full((1, 3, SIZE, SIZE), 0.5, requires_grad=True)
model(grey)[0, model.categories.index("dumbbell")].backward()
photo = center_square(load_image("cat"), SIZE)
flips = (grey.grad[..., 1:] * grey.grad[..., :-1] < 0).float().mean()
print(f"neighbouring pixels whose gradient has opposite signs: {float(flips):.0%}")
print(f"power above half the Nyquist frequency: {float(high_frequency_share(grey.grad)[0]):.0%} "
      f"of the gradient, {float(high_frequency_share(photo)[0]):.0%} of a photo")

# %% [markdown] slideshow={"slide_type": "notes"}
# So each step of plain ascent adds mostly fine texture (the first picture of each of the next
# two slides shows where 48 such steps lead).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## One objective, four parameterisations: a class
#
# The dumbbell class after 48 Adam steps; only what the optimiser changes differs. Above each:
# the probability on the exact image and over random views, and the high-frequency share.
# <small>After Olah, Mordvintsev and Schubert 2017; MACO: Fel et al. 2023.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Olah and colleagues change the *variables* instead: the optimiser changes the image's **Fourier
# spectrum**, each frequency f scaled by 1/f, which is how the amplitude of a natural photo falls
# (this library uses 1/f<sup>1.3</sup>, a little steeper). A step of the same size now moves
# coarse shapes as far as fine texture. Then they also **decorrelate the colours**: the
# optimiser's three channels are mapped to RGB by the square root of ImageNet's colour covariance,
# so a step changes brightness and hue separately, as photos vary. A sigmoid maps the result into
# [0, 1]. **MACO** (Fel et al. 2023) goes further: it fixes the spectrum's magnitude to the
# average of natural photos (measured on this course's photos) and lets the optimiser change only
# the phases, where shapes and edges are placed.
#
# Below, and on the next slide for a channel, the same objective, the same random views (pad,
# jitter, zoom, rotation: Lucid's set), Adam, 48 steps and 128 px; only the parameterisation
# changes. Each panel gives the score on the exact image and averaged over 20 random views
# (shifted by up to 16 px, zoomed by 0.9–1.1, rotated by up to 5°), and the share of the image's
# power at high frequencies.

# %% slideshow={"slide_type": "-"}
PARAMS = {"pixels": "pixels", "fourier": "Fourier, 1/f", "fourier_decorrelated": "Fourier + colour",
          "maco": "MACO, phase only"}
ablation, notes = [[], []], [[], []]
dumbbell = opt.class_probability(model, "dumbbell")
stage4 = opt.channel(model, "stage4", 61)
for name in PARAMS:
    runs = [opt.iterate_class_image(model, "dumbbell", steps=STEPS, size=SMALL, parameterization=name),
            opt.iterate_channel_image(model, "stage4", 61, steps=STEPS, size=SMALL, parameterization=name)]
    for row, (run, objective, unit) in enumerate(zip(runs, [dumbbell, stage4], ["p", "act"])):
        image = opt.finish(run).image
        exact = opt.view_score(model, image, objective, views=1, shift=0, scale=(1, 1), degrees=0)
        ablation[row].append(image)
        notes[row].append(f"{PARAMS[name]}\n{unit} {exact:.2f}, "
                          f"views {opt.view_score(model, image, objective):.2f}\n"
                          f"high freq. {float(high_frequency_share(image)[0]):.0%}")
plotting.image_table([ablation[0]], titles=[notes[0]], size=2.9, fontsize=16)

# %% [markdown] slideshow={"slide_type": "notes"}
# In pixel space the dumbbell is a field of coloured grain: the class recipe's L2 penalty and
# blur hold the grain back, but it still has the most fine power of the four. In Fourier space
# the same optimiser draws larger patches in saturated red, green, blue and magenta. With
# decorrelated colour as well the colours come closer to a photo's and the fine power is the
# lowest of the four. MACO keeps the energy per frequency of a photo whatever the optimiser
# does: its picture is soft, pale and low in contrast, and after 48 steps at this step size it
# is not yet a dumbbell for the network. The scores do not follow the look of the pictures: over
# random views the dumbbell holds up best in Fourier space without decorrelated colour (0.95)
# and, of the three that reach p 1.00 on the exact image, worst with it (0.58).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## One objective, four parameterisations: a channel
#
# `stage4` channel 61 with the same four parameterisations, steps and views. Above each: its mean
# activation on the exact image and over random views, and the high-frequency share.
# <small>After Olah, Mordvintsev and Schubert 2017; MACO: Fel et al. 2023.</small>

# %% slideshow={"slide_type": "-"}
plotting.image_table([ablation[1]], titles=[notes[1]], size=2.9, fontsize=16)

# %% [markdown] slideshow={"slide_type": "notes"}
# In pixel space the channel's picture, too, is a field of coloured grain, with most of its power
# at high frequencies. In Fourier space the optimiser again draws larger patches in saturated
# colours; with decorrelated colour the colours come closer to a photo's, and MACO's picture,
# soft, pale and low in contrast, has the least fine power of the four. The channel is the most
# excited in pixel space and the least with MACO. What the change of variables buys, on this
# network, is a picture with less fine noise; it does not buy a higher score.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: one update step of a class image
#
# The lecture's (and CS231n's) plain version works on the pixels: one step of gradient **ascent**
# on the class score minus an L2 penalty, I* = argmax S_c(I) − λ‖I‖², seen through a random
# jitter. In pixel space the "zero" image is mid-grey, so the penalty is on ‖x − 0.5‖². Roll the
# image by `oy` rows and `ox` columns, take the gradient of the objective, step by
# `lr * g / ||g||` (the step's L2 length is `lr`), roll back, clip to [0, 1]. Return a new image
# and leave the input as it was.

# %% slideshow={"slide_type": "skip"}
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


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("class_image_step", class_image_step)

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Why does a random jitter at every step make the class image look more like an
# image of the class?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Without it, the ascent can exploit the exact pixel grid: a pattern of single-pixel
# values that lines up with the strides of the layers raises the score and looks like noise to
# us. With a different shift at every step, a change only keeps helping if it works at every
# offset, which high-frequency tricks do not and shapes of the class do. It acts as a prior of
# "the picture should still work when moved a little", as a real photo of the class does.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Optimal images for some classes
#
# The twelve classes of the lecture's two slides, each grown from noise by
# `opt.class_image(model, target)`.
# <small>After Simonyan, Vedaldi and Zisserman 2013.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The recipe: 96 Adam steps on the class **logit** (the score before the softmax: maximising the
# probability would also reward pushing the other 999 classes down), in decorrelated Fourier
# space, through random views. To Lucid's views it adds one more: at each step the image is
# shrunk by a random factor down to half its size and enlarged again, so the class cannot rest
# on the finest pixels alone. The logit has no ceiling, so nothing would stop the optimiser from
# pushing colour values towards the ends of the sigmoid, black and white; the recipe therefore
# subtracts the lecture's R(I), an L2 penalty on each value's distance from mid-grey (weight 20),
# and blurs the image lightly (σ = 0.5 px every 8 steps) against isolated dots. Four classes
# are made at a time, in one batch.

# %% slideshow={"slide_type": "-"}
classes = ["dumbbell", "cup", "dalmatian", "bell pepper", "lemon", "Siberian husky",
           "washer", "computer keyboard", "kit fox", "goose", "ostrich", "limousine"]
class_images = torch.cat([opt.class_image(model, classes[k:k + 4]) for k in range(0, len(classes), 4)])
at_ends, near_ends = saturated_share(class_images), saturated_share(class_images, margin=0.05)
print(f"colour values at 0 or 1: at most {float(at_ends.max()):.1%} (a photo: {float(saturated_share(photo)[0]):.1%}); "
      f"within 0.05 of them: {float(near_ends.min()):.0%} to {float(near_ends.max()):.0%} "
      f"({float(saturated_share(photo, margin=0.05)[0]):.1%})")
plotting.show_images(list(class_images.split(1)), ncols=6, size=2.2, fontsize=15, titles=classes)

# %% [markdown] slideshow={"slide_type": "notes"}
# What to see in each: the **dumbbell**, dark rounded weights at the edges among a mosaic of
# colour; the **cup**, the loop of a handle in the middle and a rim; the **dalmatian**, white
# fur with round black spots at the top and the bottom left; the **bell pepper**, glossy green
# lobes at both sides; the **lemon**, bright yellow dimpled peel at the edges; the **Siberian
# husky**, black-and-white fur around a pale blue eye; the **washer**, a round opening with a
# metal rim; the **computer keyboard**, a tilted grid of small square keys; the **kit fox**, a
# dark eye and nose under a large pointed ear in orange and white fur; the **goose**, a bird's
# head with an orange beak at the top left; the **ostrich**, a dark feathered body on pale sandy
# ground; the **limousine**, white boxy shapes with window panels in the corners. Parts of the
# class, often several times and at several sizes, not one whole object: the objective rewards
# every view of the image that shows the class, wherever it sits.
#
# Do they really show the class, or only fool this exact pixel grid? The first two checks are
# not independent of the optimisation: the probability averaged over 20 random views (shifts,
# zooms by 0.9–1.1, small rotations) and after shrinking the image to half size and enlarging it
# again are close to the very transforms the images were optimised through, so they show that
# the optimisation did its job. The last two use transforms it never saw: the image mirrored
# left to right, and its central 168 × 168 px enlarged to 224 px (a zoom of 1.33).

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "notes"}
half = F.interpolate(F.interpolate(class_images, scale_factor=0.5, mode="bilinear", antialias=True),
                     size=(SIZE, SIZE), mode="bilinear")
zoomed = F.interpolate(class_images[..., 28:-28, 28:-28], size=(SIZE, SIZE), mode="bilinear", antialias=True)
with torch.no_grad():
    tests = [model(x).softmax(dim=1) for x in (half, class_images.flip(-1), zoomed)]
print(f"{'':>17}  random views  half size  mirrored  zoom 1.33")
for k, c in enumerate(classes):
    index = model.categories.index(c)
    print(f"{c:>17}  {opt.view_probability(model, class_images[k:k + 1], c):12.2f}  "
          + "  ".join(f"{float(p[k, index]):{w}.2f}" for p, w in zip(tests, (9, 8, 9))))
husky = class_images[classes.index("Siberian husky")][None]
with torch.no_grad():
    top = model(husky).softmax(dim=1)[0].topk(3)
print("the husky image, as it is:", ", ".join(f"{model.categories[i]} {float(p):.2f}" for p, i in zip(*top)))

# %% [markdown] slideshow={"slide_type": "notes"}
# On the two checks the optimisation saw, 11 of the 12 reach 0.99 or more over random views
# and all 12 reach 0.95 or more at half size; the Siberian husky is the lowest on both (0.81
# and 0.95). Mirrored, which the optimisation never saw, the husky gets 0.90 and every other
# class 1.00. A zoom by 1.33, beyond the 0.9–1.1 of the optimisation, splits them: the bell
# pepper, the washer and the ostrich keep 0.99 or more and the kit fox 0.85, while the
# dumbbell, the cup and the limousine fall to 0.06 or less. Those images carry their class at
# the scale they were made at, not in a form that survives a closer look.
#
# As it is, the husky image gives the husky 0.91 and most of the rest to "malamute" and
# "Eskimo dog", dogs that look almost the same: features that raise the husky's logit raise
# theirs too, so the probability is shared among them.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Channel images: what a unit of a layer likes
#
# The same recipe, maximising one channel's mean activation: four channels each of `stage2`
# (shallow), `stage4` (middle) and `stage6` (deep), two columns per layer.
# <small>After Olah, Mordvintsev and Schubert 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The same recipe with another objective: the mean activation of one channel of a layer over
# all positions (`opt.channel_image`). Four channels each of a shallow layer (`stage2`, 4×
# downsampled), a middle one (`stage4`, 16×) and a deep one (`stage6`, 32×).

# %% slideshow={"slide_type": "-"}
layers = {"stage2": [0, 5, 11, 20], "stage4": [3, 17, 42, 61], "stage6": [10, 40, 77, 150]}
grid = {layer: list(opt.channel_image(model, layer, channels, steps=STEPS, size=SMALL).split(1))
        for layer, channels in layers.items()}
shown = [(layer, k) for half in (0, 2) for layer in layers for k in (half, half + 1)]  # a 2 x 2 block per layer
plotting.show_images([grid[layer][k] for layer, k in shown], titles=[f"{layer} #{layers[layer][k]}" for layer, k in shown],
                     ncols=6, size=2.0, fontsize=16)

# %% [markdown] slideshow={"slide_type": "notes"}
# The shallow channels like fine oriented strokes or stripes repeated everywhere, some in one
# dominant colour (#0 blue, #20 pink); the middle ones larger textures and motifs (#3 curved
# scales, #42 faceted shapes, #61 a grid of small motifs). Of the deep ones, only #150 shows a
# part of a thing we can name: eyes, set in fur-like texture, repeated over the image; #40
# draws curved, ridged shapes, and #10 and #77 no object part that we can name.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Diversity: more than one image per channel
#
# Four images of `stage6` channel 150 made at once, without (top) and with (bottom) a penalty on
# how alike they are. Above each: its activation; on the first, the four's similarity.
# <small>After Olah, Mordvintsev and Schubert 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# One image shows one way to excite a channel. Olah and colleagues optimise a batch of images
# at once and subtract a penalty on how alike they are: the mean cosine similarity of their
# Gram matrices (the feature correlations of notebook 08) at the same layer. The penalty buys
# variety with activation: each panel's title says how far its image still drives the channel.

# %% slideshow={"slide_type": "-"}
DEEP = ("stage6", 150)
rows, titles = [], []
for weight in (0.0, 20.0):
    run = opt.iterate_channel_image(model, *DEEP, steps=STEPS, size=SMALL, batch_size=4, diversity_weight=weight)
    images = opt.finish(run).image
    with torch.no_grad():
        acts = {DEEP[0]: get_activations(model, images, [DEEP[0]])[DEEP[0]]}
    similarity = float(opt.gram_similarity(DEEP[0])(acts)[0])
    rows.append(list(images.split(1)))
    titles.append([f"act {float(a):.1f}" for a in acts[DEEP[0]][:, DEEP[1]].mean(dim=(1, 2))])
    titles[-1][0] += f"\nsimilarity {similarity:.2f}"
plotting.image_table(rows, row_labels=["no penalty", "diversity"], titles=titles, size=2.4, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# Without the penalty all four images are eyes set in fur-like texture (similarity 0.82,
# activations 40.8–46.4). With it (similarity 0.14) they differ: a single large shiny shape in
# fur, bands of fur without eyes, a fine grid of strokes, and eyes among pink, feather-like
# strokes. The variety costs activation: 36.8–37.7 for three of them, and 19.9, under half of
# what the images without the penalty reach, for the grid.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The unit atlas: every unit of four layers, made once
#
# All 80 channel images of `stage4`, from the unit atlas (`lecture_utils.atlas`), made once for
# every unit of `stage3` to `stage6`.

# %% [markdown] slideshow={"slide_type": "notes"}
# A channel image takes seconds per unit: too slow to show a whole layer in class. The **unit
# atlas** (`lecture_utils.atlas`, built once by `python -m lecture_utils atlas`) holds one for
# every unit of `stage3` to `stage6`, 424 units, made as above but with 128 steps, and beside
# each the nine crops of photos that excite that unit most: the strongest position's receptive
# field, one crop per photo, found among 2,504 random crops of 313 licensed photos (objects,
# animals, monuments and wallpapers from Debian packages). Here are all 80 channel images of `stage4`.

# %% slideshow={"slide_type": "-"}
from lecture_utils import atlas
plotting.show_images(list(atlas.channel_images("stage4")), ncols=16, size=0.7)

# %% [markdown] slideshow={"slide_type": "notes"}
# Every one of the 80 is a texture or motif repeated over the whole image, as the four hand-picked
# `stage4` channels above were: stripes, scales, grids, dots and waves, each in colours of its own.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Channel images beside their photo crops
#
# Four units' atlas entries: the channel image, then the nine strongest crops, strongest first.
# <small>After Olah, Mordvintsev and Schubert 2017.</small>

# %% slideshow={"slide_type": "-"}
EXAMPLES = [("stage4", 61), ("stage5", 20), ("stage6", 37), ("stage6", 167)]
rows = [[atlas.channel_images(layer)[unit], *atlas.unit_patches(layer, unit)[1]] for layer, unit in EXAMPLES]
plotting.image_table(rows, row_labels=[f"{layer} #{unit}" for layer, unit in EXAMPLES],
                     col_labels=["channel image"] + [f"crop {i + 1}" for i in range(9)], size=1.15, fontsize=13)

# %% [markdown] slideshow={"slide_type": "notes"}
# The crops say in words what the channel images only hint at. `stage4` #61 is a warning: its
# strongest position lies at a corner or the lower edge of every one of its nine crops (the
# grey bands are where its window leaves the crop), so it answers to where the image ends, the
# zero padding around it, more than to the solar panels or the wall. `stage5` #20's are mostly
# animals (a dog, lemurs, a monkey, a horse); `stage6` #37's are all fish, and `stage6`
# #167's buildings (a church, an aqueduct, a palace, minarets, the Colosseum) but for one crab.
# Many units are less clear than these: their nine crops share no object we can name, and 313
# photos are few beside the 1.3 million the network was trained on.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a class, or a layer and channel, choose what to optimise and press **Run**: the preview
# updates while it runs.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a class (type to search all 1000) or a layer and channel, choose what to optimise
# (pixels, the Fourier spectrum, or the spectrum in decorrelated colours), switch the random
# views off or on, set the step size, size and iterations, and press **Run**. The preview
# updates while it runs; **Stop** keeps the image reached so far. Things to try: pixels with no
# random views (compare the result with the pixel images of the ablation above), a deep
# layer's channel, a step size of 0.3.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import ClassImagePanel
ClassImagePanel(model)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Browse the atlas

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a layer and click a channel's image (or type its number): its nine photo crops and
# its activation map on the picked image appear beside the grid.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import AtlasBrowser
AtlasBrowser(model, layer="stage5", channel=20)
