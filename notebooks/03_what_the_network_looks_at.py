# %% [markdown] slideshow={"slide_type": "slide"}
# # 03 · What the network looks at
#
# Which pixels matter for a class? Saliency and SmoothGrad, guided backpropagation, deconvnet,
# occlusion, CAM and Grad-CAM, integrated gradients, and a sanity check.

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: occlusion experiments (Zeiler and Fergus 2014), saliency maps (Simonyan et al. 2014),
# deconvnet (Zeiler and Fergus 2014) and guided backpropagation (Springenberg et al. 2015),
# including guided backprop of inner units beside their image crops, CAM (Zhou et al. 2016) and
# Grad-CAM (Selvaraju et al. 2017); with SmoothGrad (Smilkov et al. 2017) and integrated
# gradients (Sundararajan et al. 2017).*
#
# Each method answers "which pixels matter for this class?" in its own way. They all have the
# same call: `attribution.method(model, image, target)`, and return either a map per pixel or
# an image per colour channel.

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image, predict
from lecture_utils import attribution as A, plotting

model = load_model(device="cpu")
cat = load_image("cat", size=224)
top = predict(model, cat, k=1)[0]
target = top[0]
print("target:", top[1], f"{top[2]:.0%}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Saliency: the gradient of the class score
#
# Right: the cat photo's saliency map, |d score / d pixel|, the largest over RGB. Printed: how
# well it agrees with the map at the photo plus faint noise.
# <small>After Simonyan, Vedaldi and Zisserman 2013.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# How much would the class score change if one pixel changed a little? That is the gradient
# d score / d pixel; the saliency map is its absolute value, the largest of the three colour
# channels.
#
# On this cat the plain saliency map (right, below) is noise: bright and dark pixels side by
# side all over the photo, the eyes no brighter than the background. The gradient is the slope
# of the score at exactly this one image, and in a deep network of ReLUs the gradient itself
# changes wildly as the *input* moves: images that differ by far less than the eye can see have
# very different gradients ("shattered gradients", Balduzzi et al. 2017). The lines printed
# below measure it: add noise of standard deviation 0.003 (less than one grey level of 255) or
# 0.01 to the photo, and the saliency map there ranks the pixels very differently from this one
# (rank correlation 1 would be the same ranking). One gradient is one draw of that jitter.

# %% slideshow={"slide_type": "-"}
sal = A.saliency(model, cat, target)
for eps in (0.003, 0.01):  # SmoothGrad with 1 copy: the saliency map at one nearby image
    near = A.smoothgrad(model, cat, target, samples=1, sigma=eps, seed=1)
    print(f"saliency at the photo + noise of std {eps} ({eps * 255:.1f} grey levels): "
          f"rank correlation with the photo's own map {round(A.rank_correlation(near[0], sal[0]), 1):.1f}")
plotting.heatmap_grid([sal[0]], photo=cat, ncols=2, size=5.2, percentile=99.5, titles=["saliency"], fontsize=16,
                      label="|d score / d pixel|, largest over RGB")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## SmoothGrad: the mean map of noisy copies
#
# The saliency maps of 16 copies of the cat photo with Gaussian noise added, averaged: at two
# noise levels (sigma, in pixel units).
# <small>After Smilkov et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# **SmoothGrad** averages the saliency maps of nearby inputs, copies of the image with Gaussian
# noise added (standard deviation sigma, in pixel units): the jitter averages out and what the
# nearby gradients share remains. The right sigma is large: at 0.1 the map brightens the nose and
# a line running down from the ear at the top right, at 0.25 the eyes stand out.

# %% slideshow={"slide_type": "-"}
noise = {sigma: A.smoothgrad(model, cat, target, samples=16, sigma=sigma, seed=0)
         for sigma in (0.1, 0.25)}
plotting.heatmap_grid([m[0] for m in noise.values()], ncols=2, size=5.2, percentile=99.5, fontsize=16,
                      titles=[f"SmoothGrad, sigma {sigma} (16 copies)" for sigma in noise],
                      label="|d score / d pixel|, largest over RGB")

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: a saliency map in four lines
#
# Write vanilla saliency yourself (CS231n's `compute_saliency_maps`): a copy of the images that
# asks for gradients, the forward pass, each image's own target score, the gradient of their sum
# with respect to the pixels, then |gradient| and the largest of the three colour channels. The
# model takes pixels in [0, 1] and normalises inside: differentiate with respect to the pixels.
# The check runs your function on photos and a small network of its choosing.

# %% slideshow={"slide_type": "skip"}
def saliency_map(model, images, targets):
    """|d score / d pixel|, the largest over the colour channels: (N, H, W) for images
    (N, 3, H, W) and targets (N,), one class index per image. Leaves `images` unchanged."""
    ### BEGIN SOLUTION
    x = images.clone().requires_grad_(True)
    scores = model(x).gather(1, targets[:, None]).sum()
    (grad,) = torch.autograd.grad(scores, x)
    return grad.abs().amax(dim=1)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("saliency", saliency_map)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: SmoothGrad
#
# Average the saliency maps of noisy copies `image + noise[i]` (the noise is given, so the check
# can compare). One map per copy, then their mean: mind that `x.grad` adds up over backward
# passes unless you start from a fresh tensor each time.

# %% slideshow={"slide_type": "skip"}
def smoothgrad(model, image, target, noise):
    """The mean over i of the saliency map (|gradient|, max over channels) at image + noise[i].
    image (1, 3, H, W), target a class index, noise (S, 3, H, W); returns (1, H, W)."""
    ### BEGIN SOLUTION
    total = image.new_zeros(1, *image.shape[2:])
    for sample in noise:
        x = (image + sample).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)
        total += grad.abs().amax(dim=1)
    return total / len(noise)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("smoothgrad", smoothgrad)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Plain gradient and guided backpropagation
#
# Two photos, each with the gradient of its own class: plain, and by guided backprop. Grey is
# zero; colours are the signed gradient of each colour channel.
# <small>After Springenberg et al. 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Deconvnet and guided backpropagation both change only how gradients pass back through a ReLU:
#
# - plain backprop passes the gradient where the ReLU's *input* was positive;
# - **deconvnet** passes only *positive gradients*, wherever they are;
# - **guided backprop** does both: positive gradients, where the input was positive.
#
# This network uses ReLU6 (a ReLU capped at 6); we apply the same rules and ignore the cap on
# the way back, so a saturated unit, which is as active as it gets, still passes its evidence.
# The rules live in hooks that are removed after the call: the model is never changed.
#
# Below, two photos (cut to the same 224 px square), each with the plain gradient and the guided
# backprop of its own class. Grey is zero; colours are the signed gradient of each colour channel.

# %% slideshow={"slide_type": "-"}
from lecture_utils.images import center_square
from lecture_utils.models import is_cached

photos = torch.cat([center_square(load_image(name), 224) for name in ("cat", "espresso")])
classes = [285, 967]  # Egyptian cat, espresso
columns = {"plain gradient": A.gradient(model, photos, classes),
           "guided backprop": A.guided_backprop(model, photos, classes)}
plotting.image_table([[photos[i:i + 1]] + [plotting.gradient_image(g[i]) for g in columns.values()] for i in range(2)],
                     row_labels=[model.categories[c] for c in classes], col_labels=["photo", *columns], size=3.0,
                     fontsize=15)

# %% [markdown] slideshow={"slide_type": "notes"}
# On the cat the plain gradient is grainy noise spread over the whole square, with no clear
# outline of the eyes or nose. On the espresso it is grainy too, but it lies on the cup and the
# saucer: strongest just inside the rim and on the coffee, and faint on the table around them.
# Guided backprop draws the eyes, nose and whiskers, and the rim, saucer and spoon of the cup.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Deconvolution
#
# Deconvnet of EfficientNet-Lite0 for "Egyptian cat": the same map on the cat and on the espresso
# photo, a fine checkerboard (right: its middle 32 x 32 px, enlarged).
# <small>After Zeiler and Fergus 2014.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Deconvnet fails on this network. Zeiler and Fergus' deconvnet puts the signal back where it
# came from with the **switches** of max-pooling (which position won each pooling window);
# EfficientNet-Lite0 has no max-pooling, it shrinks its maps with stride-2 convolutions, so with
# only the ReLU rule the backward pass never looks at the photo, and the strided convolutions
# run backwards (transposed) leave a checkerboard that is nearly the same for every class. The
# cell below runs it on the cat photo for five classes, and on the espresso photo for one:

# %% slideshow={"slide_type": "-"}
names = ["Egyptian cat", "espresso", "tench", "cliff dwelling", "toilet tissue"]
on_cat = A.deconvnet(model, photos[:1].expand(len(names), -1, -1, -1), names)  # one class per copy
on_espresso = A.deconvnet(model, photos[1:], "Egyptian cat")
corr = torch.corrcoef(on_cat.flatten(1))
print(f"'Egyptian cat' on the two photos: the maps differ by at most {float((on_cat[0] - on_espresso[0]).abs().max()):.1f} "
      f"(their values reach {float(on_cat[0].abs().max()):.0f})")
print(f"on the cat photo, 'Egyptian cat' against 'espresso': correlation {float(corr[0, 1]):.3f}; "
      f"the lowest between two of the five classes: {float(corr.min()):.3f}")
panels = [plotting.gradient_image(on_cat[0]), plotting.gradient_image(on_cat[0][:, 96:128, 96:128])]
titles = ["EfficientNet-Lite0: deconvnet, Egyptian cat\n(the same on both photos)", "its middle 32 x 32 px,\nenlarged"]
if is_cached("alexnet"):  # the lecture's network, with max-pooling
    alexnet = load_model("alexnet", device="cpu")
    maps = A.deconvnet(alexnet, photos, classes)
    panels += [plotting.gradient_image(m) for m in maps]
    titles += [f"AlexNet: deconvnet,\n{name} photo, its class" for name in ("cat", "espresso")]
    print(f"AlexNet, each photo with its own class: the two maps' correlation {float(torch.corrcoef(maps.flatten(1))[0, 1]):.2f}")
    del alexnet
else:
    print("AlexNet's weights are not available here: the figure shows EfficientNet-Lite0 only.")
plotting.show_images(panels, titles, ncols=2, size=4.2, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# On EfficientNet-Lite0 deconvnet gives one picture, to the last bit, whatever the photo, and
# almost the same for any class (the correlations printed above): a picture of the network
# itself, a fine checkerboard with nothing of the cat in it. AlexNet, like the network Zeiler
# and Fergus visualised, pools with max-pooling, so there the switches carry the photo into the
# backward pass; where AlexNet's weights are available, the cell above draws its deconvnet
# beside this one and prints how much its two photos' maps agree.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Activation maps using patches: occlusion
#
# Grey squares of 24 px hide parts of the espresso photo. Each pixel: the mean drop in
# p(espresso) over the squares that cover it. Red: a drop; blue: a rise.
# <small>After Zeiler and Fergus 2014.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The most direct test needs no gradients: cover a square with grey and see how much the class's
# probability drops (the network gives this photo 91% espresso). Each pixel shows the mean drop
# of the windows that cover it. Red: hiding this part lowers the probability of espresso; blue:
# hiding it raises it; white: no change. Each map has its own colour scale: its colour bar gives
# the values. The window size sets the scale of the answer: below, the 24 px windows find the
# surface of the coffee (the map reaches 0.22). The printout gives the maxima of the maps for
# all three window sizes (the next slide shows the other two).

# %% slideshow={"slide_type": "-"}
espresso = load_image("espresso", size=(160, 240))
occ = {w: A.occlusion(model, espresso, 967, window=w, stride=w // 2) for w in (24, 48, 96)}
in_grey = espresso.mean(1, keepdim=True).expand(-1, 3, -1, -1)  # the photo in grey, under the colours
print(f"p(espresso) = {float(predict(model, espresso, k=1)[0][2]):.2f};",
      ", ".join(f"window {w}: map up to {float(o.max()):.2f}" for w, o in occ.items()))
def occlusion_maps(windows, photo=None):
    return plotting.heatmap_grid([occ[w][0] for w in windows], images=in_grey, photo=photo, ncols=2, size=5.2,
                                 titles=[f"window {w}, stride {w // 2}" for w in windows], cmap="RdBu_r", opacity=0.6,
                                 centered=True, label="drop in the probability of espresso", fontsize=16)

occlusion_maps([24], photo=espresso)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Occlusion with larger squares
#
# The same with grey squares of 48 and 96 px over the espresso photo: red, a drop in
# p(espresso); blue, a rise. Each map has its own colour scale.
# <small>After Zeiler and Fergus 2014.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The 96 px windows find the cup and much around it, most strongly over the top of the cup
# (0.19). The 48 px windows find less (0.13 at most, on the top of the rim, and little on the
# coffee); why is shown after the exercise.

# %% slideshow={"slide_type": "-"}
occlusion_maps([48, 96])

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: occlusion with one window
#
# One square of the occlusion map: paint the square (rows `top` to `top + size`, columns `left`
# to `left + size`) with `fill` on a COPY of the image, and return how much the target's
# probability drops.

# %% slideshow={"slide_type": "skip"}
def occlusion_drop(model, image, target, top, left, size, fill=0.5):
    """p(target | image) - p(target | image with the square painted `fill`), a number."""
    ### BEGIN SOLUTION
    occluded = image.clone()
    occluded[..., top:top + size, left:left + size] = fill
    with torch.no_grad():
        before = model(image).softmax(dim=1)[0, target]
        after = model(occluded).softmax(dim=1)[0, target]
    return before - after
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("occlusion", occlusion_drop)

# %% [markdown] slideshow={"slide_type": "notes"}
# Why do the 48 px windows find so little of the coffee? Below, the drop for three single
# windows: the 24 px window of the grid that hurts most, the 48 px window of the grid that
# covers all of it, and a 48 px window, off the grid, centred on it.

# %% slideshow={"slide_type": "notes"}
def hidden_drop(row, col, size):
    """p(espresso) minus p(espresso) with the square from (row, col) painted grey."""
    hidden = espresso.clone()
    hidden[..., row:row + size, col:col + size] = 0.5
    with torch.no_grad():
        p = model(torch.cat([espresso, hidden])).softmax(1)[:, 967]
    return float(p[0] - p[1])


for row, col, size, where in ((36, 108, 24, "24 px, on the grid"), (24, 96, 48, "48 px, on the grid"),
                              (12, 84, 48, "48 px, centred on the 24 px square")):
    print(f"{where:36s} rows {row}-{row + size}, columns {col}-{col + size}: drop {hidden_drop(row, col, size):.2f}")

# %% [markdown] slideshow={"slide_type": "notes"}
# Hiding more can hurt less: the 48 px window on the grid covers the whole 24 px square, yet
# lowers the probability far less; the same 48 px window moved 12 px up and left, centred on
# the square, lowers it by about as much as the small one. The grey square is itself something
# the network sees, and the drop depends on exactly where it sits. The 48 px grid (a window every
# 24 px) has no window in a position that hurts much, and each pixel averages the 4 windows that
# cover it, so its map stays pale.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Image crops: guided backprop of one inner unit
#
# Two `stage4` channels on Fashion-MNIST: the middle 64 px of the 8 windows that excite each most,
# and under them the guided backprop of that unit (mid-grey is zero).
# <small>After Springenberg et al. 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Springenberg et al. also ran guided backprop from a single unit of an inner layer instead of
# a class score, on the image patches that excite that unit most: the patch shows *where* the
# unit fired, the guided backprop shows *which pixels of the patch* made it fire. Here are
# maximally activating patches (notebook 02) of four `stage4` channels, in Fashion-MNIST's clothes
# (two on this slide, two on the next).
# For each channel: a row of the 8 patches that excite it most, and under it the guided backprop
# of the same unit on the same photo, cut to the same window. A unit of `stage4` sees 147 x 147
# pixels in principle, but most of its guided backprop falls in the middle 64 x 64 (units see
# the centre of their window far more than its edges; the share is printed below), so the
# figure shows that middle square, and grey where the square leaves the photo.
# The collection's photos are grey, so the gradient is summed over the three colour channels
# and drawn in grey too (mid-grey is zero).

# %% slideshow={"slide_type": "-"}
from lecture_utils import embedding as E
from lecture_utils.datasets import load_collection

collection = load_collection("fashion_mnist", per_class=60)  # grey photos of clothes
codes = E.collection_codes(model, collection, ["stage4"], size=160, progress=False)
rf = E.receptive_field(model, "stage4", 160)
grey = collection.name == "Fashion-MNIST"
rows, inside = [], []
for channel, (patches, _) in E.top_patches(model, collection, codes, "stage4", channels=[18, 24, 25, 39], n=8).items():
    found = collection.float_images([p.image for p in patches], 160)
    unit = A.unit_guided_backprop(model, found, "stage4", channel, positions=[p.position for p in patches])
    if grey:
        unit = unit.sum(1, keepdim=True).expand(-1, 3, -1, -1)
    crops = [E.crop_patch(x, rf, *p.position, size=64) for x, p in zip(found, patches)]
    middle = [E.crop_patch(g, rf, *p.position, size=64, fill=0.0) for g, p in zip(unit, patches)]
    inside += [float(m.abs().sum() / g.abs().sum()) for m, g in zip(middle, unit)]
    drawn = [plotting.gradient_image(m) for m in middle]
    rows.append((f"ch {channel}", torch.stack(crops)))
    rows.append(("guided\nbackprop", torch.stack([torch.as_tensor(d).permute(2, 0, 1) for d in drawn])))
print(f"share of |guided backprop| inside the middle 64 x 64: {min(inside):.0%} to {max(inside):.0%} "
      f"over the {len(inside)} patches")
def crop_rows(first, last):  # the rows of channels first..last - 1 (two rows each)
    return plotting.patch_grid(rows[2 * first:2 * last], display=110, fontsize=15,
                               title=f"stage4: the middle 64 px of each {rf.size[0]} px receptive field")

crop_rows(0, 2)

# %% [markdown] slideshow={"slide_type": "notes"}
# On Fashion-MNIST each of these channels has a pattern of its own, and its guided backprop
# draws that pattern in every patch, whatever garment it comes from: channel 18 a bright edge
# curving down to the right (a handle, a shoulder), channel 24 a small spot (a button, a hole).
# The fine checkerboard in the drawings is again the stride-2 convolutions on the way back.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Image crops: guided backprop, two more channels
#
# Two more `stage4` channels: the middle 64 px of the 8 windows that excite each most, and under
# them the unit's guided backprop (mid-grey is zero).
# <small>After Springenberg et al. 2015.</small>

# %% slideshow={"slide_type": "-"}
crop_rows(2, 4)

# %% [markdown] slideshow={"slide_type": "notes"}
# Channel 25 draws the corner where the top edge of a light shape bends down, channel 39 the
# lower end of an upright light bar (a trouser leg, a strap), drawn as a U.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Class activation maps: CAM and Grad-CAM
#
# A cat beside an espresso: CAM and Grad-CAM for each of the two classes, and Grad-CAM at the
# shallower `stage4` (bottom row).
# <small>After Zhou et al. 2016; Grad-CAM: Selvaraju et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The last feature map (`head`, 7 x 7 positions for a 224 px square) still knows *where*. **CAM**
# weights its channels by the classifier's weights for the class; it needs a classifier that is
# global average pooling plus one linear layer, as here. **Grad-CAM** takes the weights from the
# gradient instead and works at any layer of any network. On an image with two objects each
# class lights up its own:

# %% tags=["thumbnail"] slideshow={"slide_type": "-"}
pair = load_image("cat_and_espresso", size=224)
print([f"{name} {p:.0%}" for _, name, p in predict(model, pair, k=5)])
maps, titles = [], []
for name, method in (("CAM", A.cam), ("Grad-CAM", A.grad_cam), ("Grad-CAM at stage4", lambda *a: A.grad_cam(*a, layer="stage4"))):
    for c in (285, 967):
        maps.append(method(model, pair, c)[0])
        titles.append(f"{name}: {model.categories[c]}")
ratio = torch.cat([(maps[i] / maps[i + 2])[maps[i + 2] > 1e-4] for i in (0, 1)])
print(f"CAM / Grad-CAM, wherever Grad-CAM > 0.0001: {float(ratio.min()):.1f} to {float(ratio.max()):.1f}")
plotting.heatmap_grid(maps, images=pair, titles=titles, ncols=2, size=4.4, cmap="jet", opacity=0.5, fontsize=16)

# %% [markdown] slideshow={"slide_type": "notes"}
# Each colour bar gives the map's own values. CAM's and Grad-CAM's maps differ only by a
# constant factor, 154 as printed: the 7 x 22 positions of the `head` map of this wide photo
# (with global average pooling, Grad-CAM's weights are the classifier's divided by their number).
# Grad-CAM at the shallower `stage4` has a finer grid (one value per 16 pixels instead of 32) but
# less class knowledge: its spots lie on both photos for either class (the cat's eye lights up
# for espresso too).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Guided Grad-CAM
#
# Top: the photo, and guided backprop for "espresso". Bottom: guided backprop's drawing
# multiplied by Grad-CAM's map, for each of the two classes.
# <small>After Selvaraju et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Guided backprop for "espresso" (top right) draws the cat's eyes and nose as well as the cup:
# its drawing hardly depends on the class. **Guided Grad-CAM** multiplies it by Grad-CAM's
# region, so the drawing keeps to the class's own object (the cat's eyes and nose; the cup,
# saucer and spoon):

# %% slideshow={"slide_type": "-"}
guided = plotting.gradient_image(A.guided_backprop(model, pair, 967))
ggc = [plotting.gradient_image(A.guided_grad_cam(model, pair, c)) for c in (285, 967)]
plotting.show_images([pair, guided] + ggc, ["photo", "guided backprop: espresso", "guided Grad-CAM: Egyptian cat",
                                            "guided Grad-CAM: espresso"], ncols=2, size=5.8, fontsize=17, aspect="image")

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: Grad-CAM's weights and map
#
# Take the activations A of one layer with a forward hook (and remove it, also when the forward
# pass fails: `try` / `finally`, as in notebook 01's exercise), the gradient of the
# target's score with respect to them, and average that gradient over the positions: one weight
# per channel. The map is the ReLU of the channels' weighted sum. Return it at the layer's own
# resolution; the figures above upsample it to the image.

# %% slideshow={"slide_type": "skip"}
import torch.nn.functional as F


def grad_cam(model, image, target, layer):
    """ReLU(sum_k w_k A_k) with w_k the mean over positions of d score / d A_k, at the layer
    `layer` (a key of model.layers). image (1, 3, H, W); returns (1, h, w)."""
    ### BEGIN SOLUTION
    module = model.get_submodule(model.layers[layer])
    kept = {}
    handle = module.register_forward_hook(lambda mod, inputs, output: kept.update(acts=output))
    try:
        score = model(image.clone().requires_grad_(True))[0, target]
    finally:
        handle.remove()
    acts = kept["acts"]
    (grads,) = torch.autograd.grad(score, acts)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    return F.relu((weights * acts).sum(dim=1)).detach()
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("grad_cam", grad_cam)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Integrated gradients
#
# The cat's class score along the straight path from a black image (alpha 0) to the photo (alpha 1).
# <small>After Sundararajan et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Saliency asks about one point. **Integrated gradients** averages the gradient along the
# straight path from a black image to the photo, alpha x photo for alpha from 0 to 1, and
# multiplies by the change of each pixel, so the attributions add up to score(photo) -
# score(black). The average is a sum over evenly spaced steps (the midpoint rule), and how many
# steps it needs depends on the path. Here is the class score along it:

# %% slideshow={"slide_type": "-"}
alphas = torch.cat([torch.linspace(0, 0.1, 21), torch.linspace(0.15, 1, 18)])
path = A.path_scores(model, cat, target, alphas)[0]
plotting.curves(alphas, {f"score of {top[1]}": path}, xlabel="alpha (the image is alpha x the photo)",
                ylabel="class score (logit)")

# %% [markdown] slideshow={"slide_type": "notes"}
# Almost the whole gap is crossed in the first few percent of the path: between alpha 0.02 and
# 0.04, a photo darkened to 2-4% of its brightness, the score jumps from below 1 to above 6, and
# after 0.1 it hardly moves. The integral lives in that sliver.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Integrated gradients: the map
#
# The cat's attributions with 192 steps, summed over RGB: red raises the class score, blue lowers
# it. Printed: how far the sums with 32 and 192 steps are from the score gap.
# <small>After Sundararajan et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The 32 midpoints of a 32-step rule lie at alpha 0.016, 0.047, 0.078, ...: none falls on the
# jump, and the sum misses the gap by far (the first line printed below). With 192 steps (a
# spacing of 0.005) four fall on it, and the sum comes close:

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
STEPS = 192
gap = float(path[-1] - path[0])
few = A.integrated_gradients(model, cat, target, steps=32)
ig = A.integrated_gradients(model, cat, target, steps=STEPS)
for steps, result in ((32, few), (STEPS, ig)):
    print(f"{steps:3d} steps: sum of attributions {float(result.sum()):.2f}, score gap {gap:.2f} "
          f"({abs(float(result.sum()) - gap) / abs(gap):.0%} apart)")
plotting.heatmap_grid([ig.sum(1)[0]], photo=cat, ncols=2, size=4.4, cmap="RdBu_r", centered=True, percentile=99.5,
                      titles=[f"integrated gradients ({STEPS} steps)"], label="attribution, summed over RGB")

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: integrated gradients' Riemann sum
#
# Approximate the integral along the path from black to the image by the midpoint rule: the
# gradient of the target's score at `steps` points alpha_k * image, alpha_k = (k + 0.5) / steps,
# averaged, times the image (the change from the black baseline).

# %% slideshow={"slide_type": "skip"}
def integrated_gradients(model, image, target, steps):
    """image * mean over k of d score / d x at x = (k + 0.5) / steps * image: (1, 3, H, W)."""
    ### BEGIN SOLUTION
    total = torch.zeros_like(image)
    for k in range(steps):
        x = ((k + 0.5) / steps * image).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)
        total += grad
    return image * total / steps
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("integrated_gradients", integrated_gradients)

# %% [markdown] slideshow={"slide_type": "notes"}
# The attributions now add up, yet the map is hardly easier to read than saliency: red and blue
# pixels (raising and lowering the score) lie side by side all over the fur, and the eyes, which
# SmoothGrad at sigma 0.25 and guided backprop pick out, are nearly white (close to zero).
# Averaging gradients along the path did not smooth them the way SmoothGrad's noise did, and by
# the curve above nearly all of the integral comes from images darkened to 2-10% of the photo's
# brightness, not from the photo we see.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Sanity check: do the maps depend on the model?
#
# A row per method. Columns: the trained network, then copies with the weights re-drawn at random
# from the classifier down to the named layer. Above each map: its rank correlation with the
# trained network's map.
# <small>After Adebayo et al. 2018.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Adebayo et al. (2018) asked a simple question: if we destroy the network's weights, from the
# top down, does the explanation change? A method that explains the *model* must change; one that
# mostly shows edges of the *image* will not. Below, the first column is the trained network;
# each column after it re-draws the weights of ever more layers at random, from the classifier down to
# the named layer. Each map is scaled to its own range; above it, its rank correlation with the
# trained network's map (1: the same ranking of pixels).

# %% slideshow={"slide_type": "-"}
methods = {"saliency": A.saliency, "guided backprop": A.guided_backprop, "Grad-CAM": A.grad_cam}
original = {name: A.as_heatmap(f(model, cat, target))[0] for name, f in methods.items()}
shown = ["classifier", "stage7", "stage5", "stage3", "stem"]
pictures = [[plotting.heatmap_image(m, "gray") for m in original.values()]]
titles, similarity = [[""] * len(methods)], {}
for layer, randomized in A.randomized_copies(model, seed=0):
    if layer not in shown:
        continue
    pictures.append([]), titles.append([])
    for name, f in methods.items():
        m = A.as_heatmap(f(randomized, cat, target))[0]
        similarity[(layer, name)] = A.rank_correlation(m, original[name])
        pictures[-1].append(plotting.heatmap_image(m, "gray"))
        titles[-1].append(f"rank corr. {round(similarity[(layer, name)], 2) + 0.0:.2f}")
for name in methods:
    print(f"{name:16s}", "  ".join(f"{layer}: {round(similarity[(layer, name)], 1) + 0.0:.1f}" for layer in shown))
by_method = lambda rows: [list(column) for column in zip(*rows)]  # a row per method
plotting.image_table(by_method(pictures), row_labels=list(methods), titles=by_method(titles), size=1.5, fontsize=14,
                     col_labels=["trained"] + [f"random down\nto {layer}" for layer in shown])

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Guided backprop's map does not change (rank correlation 1.0) when the classifier
# and `stage7` are re-drawn at random, although the network then no longer knows cats, while
# Grad-CAM's changes at once. Why does guided backprop survive the randomisation of the top
# layers?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Guided backprop keeps only positive gradients, and only where a unit was active, at
# every ReLU on the way back. After a few layers that rule, not the weights above, decides what
# reaches the image: a positive signal that flows back through the units the image itself
# switched on, i.e. a reconstruction of the image's strong edges (Nie, Zhang and Patel 2018 show
# it is largely image recovery). Randomising the top layers changes what the network thinks, but
# the ReLU masks set by the image and the sign rule stay, so the picture stays. Only when the
# random weights reach the layers that set those masks does the picture go. Plain gradients
# keep their signs, which cancel differently for every set of weights: they change, as an
# explanation of the model should.

# %% [markdown] slideshow={"slide_type": "notes"}
# The numbers are rank correlations with the map of the trained network (1: the same ranking
# of pixels). Grad-CAM's falls to -0.4 as soon as the classifier is random. Saliency's falls to
# 0.3, but that says little: its own map at the photo plus noise of 0.01 correlates 0.3 with it
# too (printed at the top of this notebook). Guided backprop's stays at 1.0 with the classifier
# and `stage7` random, and its map still draws the cat's eyes and whiskers; it falls to 0.6 at
# `stage5` (the eyes still drawn, among new edges), to 0.3 at `stage3` (the eyes gone) and to 0
# at the stem. So the layers that decide the class can be destroyed without changing guided
# backprop's picture: it comes from the image and the lower layers' ReLU masks, not from what
# the top of the model learned. Pretty is not the same as faithful.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Is the map faithful? Take its pixels away
#
# p(*espresso*) as the pixels a map ranks first are blurred (left: should fall fast) or restored
# to the blurred photo (right: should rise fast). Dashed: a random order. Bracketed: the areas.
# <small>After Petsiuk, Das and Saenko 2018.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# A map claims that some pixels matter more than others for the class. The **deletion** test
# (Petsiuk, Das and Saenko 2018) takes that claim literally: replace the pixels the map ranks
# first by a blurred copy of the photo, a share at a time, and follow the class probability;
# if the map is right, it falls fast, and the area under the curve (the legend's first number)
# is small. **Insertion** runs the other way: start from the blurred photo and put the pixels
# back, most relevant first; the probability should rise fast (a large second number). Pixels a
# map ranks equal (Grad-CAM's zeros) are taken in a random order; the dashed line takes all of
# them so, the control every map should beat.
#
# On this photo insertion separates the maps clearly: occlusion's and Grad-CAM's curves rise
# fastest (area 0.79), the random order's slowest (0.49). Deletion does not: the curves are not
# even monotone. Occlusion's area is the smallest (0.35), but Grad-CAM's (0.49) is no better than
# the random order's (0.47): its probability drops, then climbs back as more of the cup is
# blurred. Blurring the pixels a map ranks first leaves a blurred cup, and a blurred cup on a
# sharp table still looks like an espresso to this network; blurring scattered pixels everywhere
# (the random order) damages the whole photo's texture at once.

# %% slideshow={"slide_type": "-"}
from lecture_utils import faithfulness

espresso = photos[1:]
tested = {"saliency": "saliency", "occlusion": "occlusion", "Grad-CAM": "grad_cam"}
maps = {label: A.attribute(model, method, espresso, "espresso") for label, method in tested.items()}
maps["random order"] = torch.rand(1, 224, 224, generator=torch.Generator().manual_seed(0))
deleted = {label: faithfulness.deletion(model, espresso, "espresso", m) for label, m in maps.items()}
inserted = {label: faithfulness.insertion(model, espresso, "espresso", m) for label, m in maps.items()}
legend = {label: f"{label} ({float(deleted[label].area[0]):.2f} / {float(inserted[label].area[0]):.2f})" for label in maps}
shipped = faithfulness.load_table()["areas"]["grad_cam"]["espresso"]
print(f"Grad-CAM's areas here: {float(deleted['Grad-CAM'].area[0]):.2f} / {float(inserted['Grad-CAM'].area[0]):.2f}; "
      f"in the table of the next slide: {shipped['deletion']:.2f} / {shipped['insertion']:.2f}")
plotting.curve_panels(deleted["random order"].fractions,
                      {"deletion": {legend[k]: c.probabilities[0] for k, c in deleted.items()},
                       "insertion": {legend[k]: c.probabilities[0] for k, c in inserted.items()}},
                      xlabel="share of the pixels", ylabel="p(espresso)", dashed=[legend["random order"]])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Do the metrics agree?
#
# Each method's areas, averaged over five photos; colour: its rank in the column (green best).
# ROAD fills removed pixels from their neighbours instead of blurring.
# <small>After Petsiuk et al. 2018; Rong et al. 2022.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Computing every method on several photos with every metric takes about five minutes, longer
# than a notebook should: `python -m lecture_utils faithfulness` made this table
# (data/faithfulness.json), with the same functions as above, and the line printed on the slide
# before checks one of its entries here. **ROAD** (Rong et al. 2022, "remove and debias") fills
# each removed pixel from its neighbours (noisy linear imputation), so that the shape of the
# hole gives the class away less than a blurred patch does; it removes 10% to 90% of the pixels,
# most relevant first (MoRF, lower is better) or least relevant first (LeRF, higher is better).
#
# Where the metrics agree: insertion and ROAD MoRF order the methods almost alike (rank
# correlation 0.91, printed). Both put occlusion, CAM and Grad-CAM first (insertion 0.37-0.41,
# ROAD MoRF 0.13) and the plain gradient and saliency near the bottom (0.22; 0.42, worse than
# the random order's 0.39). Where they disagree: deletion ranks the random order *first* (0.18)
# and CAM and Grad-CAM last (0.27), against insertion (-0.48) and ROAD MoRF (-0.30), for the
# reason of the slide before: blurring scattered pixels hurts this network more than blurring
# the object. ROAD's least-relevant-first column agrees with no other much (at most 0.44).
# Tomsett et al. (2020) found the same of such metrics on other networks: they disagree with
# one another, so a claim that one map is "more faithful" must say by which test. Two rows are
# equal, as they should be: gradient and saliency (saliency is the gradient's largest absolute
# value over the colours, which is also how a per-channel map is ranked here), and CAM and
# Grad-CAM (on a network whose head is global average pooling then one linear layer, Grad-CAM at
# the last layer is CAM).

# %% slideshow={"slide_type": "-"}
table = faithfulness.load_table()
methods_in_table = list(table["areas"])
means = [[sum(table["areas"][m][p][k] for p in table["photos"]) / len(table["photos"]) for k in faithfulness.METRICS]
         for m in methods_in_table]
labels, better = zip(*faithfulness.METRICS.values())
# how alike two metrics order the methods: rank correlation of their columns, each signed so that higher is better
score = torch.tensor(means) * torch.tensor([-1.0 if b == "lower" else 1.0 for b in better])
for first in (0, 1):  # two lines: the pairs with deletion, then the others
    pairs = [(first, j) for j in range(first + 1, 4)] + ([(2, 3)] if first else [])
    print("rank correlation of the methods' orders:" if first == 0 else " " * 40, ", ".join(
        f"{labels[i]} ~ {labels[j]} {A.rank_correlation(score[:, i], score[:, j]):.2f}" for i, j in pairs))
plotting.score_table(means, methods_in_table, [f"{label}\n({b} is better)" for label, b in zip(labels, better)], better)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick or upload an image, choose a method and a class (the top 5, or type any class name), the
# layer for Grad-CAM and the window for occlusion. Results are kept: the opacity slider and
# settings you already tried answer at once.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import AttributionPanel
AttributionPanel(model, image="cat_and_espresso", method="grad_cam")
