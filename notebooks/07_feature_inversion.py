# %% [markdown] slideshow={"slide_type": "slide"}
# # 07 · Feature inversion
#
# Given a photo's features at one layer, find an image with the same features: what comes back
# shows what the layer keeps.
# <small>After Mahendran and Vedaldi 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: "Understanding deep image representations by inverting them" (Mahendran and Vedaldi
# 2015): given the features Φ₀ = Φ(x₀) of a photo at one layer, find an image x whose features
# match, starting from noise, by minimising the loss on the next slide.*

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
from lecture_utils import load_model, load_image
from lecture_utils import optimize as opt, plotting
from lecture_utils.images import center_square

model = load_model(device="cpu")
SIZE, STEPS, TV = 160, 1300, 0.5   # photo size (px), steps, TV weight
photo = center_square(load_image("espresso"), SIZE)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Feature Inversion
#
# Starting from noise, find an image x whose features at one layer match the photo's,
# Φ₀ = Φ(x₀); the total variation TV(x), a prior, makes smooth images cost less:
#
# $$x^* = \arg\min_x \; \frac{\|\Phi(x) - \Phi_0\|^2}{\|\Phi_0\|^2} + \lambda \cdot \mathrm{TV}(x),
# \qquad \mathrm{TV}(x) = \sum_{i,j} \left( (x_{i,j+1} - x_{ij})^2 + (x_{i+1,j} - x_{ij})^2 \right)^{\beta/2}.$$
#
# <small>After Mahendran and Vedaldi 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# What comes back shows what the layer **keeps** of the photo: whatever all images with those
# features have in common. The total-variation term TV(x), built from (Δx² + Δy²)^(β/2) at every
# pixel (Δx, Δy: the differences to the right and lower neighbours), is the prior "natural
# images are mostly smooth": a penalty, **added** with weight λ, so that smooth images cost less.
# The formula above, as the lecture's slide (and the exercise below), *sums* it over pixels and
# channels; `lecture_utils` takes the *mean* instead, so that one λ (0.5 here) weighs it the
# same at every image size.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How the image is found
#
# The gradient loop of notebooks 04 and 06, which maximises: feature match minus λ × total
# variation. From faint noise, L1-normalised gradient steps with heavy momentum and a cosine
# schedule.

# %% [markdown] slideshow={"slide_type": "notes"}
# Same loop as notebooks 04 and 06. That loop *maximises* its objective, so the loss above goes
# in with its sign flipped: `feature_match(layer, Φ₀)` (which is minus the feature distance)
# minus λ × `total_variation()`. It starts from faint noise and takes DeepDream's L1-normalised
# gradient steps with heavy **momentum** (each step follows a running sum of the recent
# gradients, not the latest one alone) and a cosine schedule (large steps first, fine ones last).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Feature Inversion: reconstructing from different layers
#
# The photo (left), then one reconstruction per layer, shallow to deep (160 px, 1300 steps, TV
# weight 0.5). Above each: the relative feature error ‖Φ(x) − Φ₀‖ / ‖Φ₀‖ at that layer.
# <small>After Mahendran and Vedaldi 2015; the lecture's figure (VGG-16) is from Johnson, Alahi and Fei-Fei 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# One reconstruction per layer (160 px, 1300 steps), with the same TV weight. Above each: the
# relative feature error ‖Φ(x) − Φ₀‖ / ‖Φ₀‖ at that layer (the square root of the loss's first
# term; 0 would be an exact match). Every layer's error ends small (the printed values under
# the figure): at each layer the image has nearly the photo's features.

# %% tags=["thumbnail"] slideshow={"slide_type": "-"}
layers = ["stem", "stage2", "stage4", "head"]
inverted, errors = {}, {}
for layer in layers:
    inverted[layer] = opt.invert(model, photo, layer, tv_weight=TV, steps=STEPS)
    errors[layer] = opt.relative_error(model, inverted[layer], layer, photo)
plotting.show_images([photo, *inverted.values()],
                     titles=["photo"] + [f"{l} (error {errors[l]:.2f})" for l in layers], ncols=4, size=2.8,
                     fontsize=16, first_span=2)

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "notes"}
for layer in layers:
    print(f"{layer:>6}: relative feature error {errors[layer]:.3f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What each layer keeps
#
# - `stem`: colours, the wood's grain, exact outlines
# - `stage2`: layout and colours, under a fine dotted grid
# - `stage4`: cup, saucer and spoon in place; colours drift
# - `head`: curved rims, repeated, out of place, in rainbow colours

# %% [markdown] slideshow={"slide_type": "notes"}
# **What each layer keeps.** `stem` (stride 2) keeps almost everything: colours, the grain of
# the wood, the exact outline of cup and spoon. `stage2` (stride 4) keeps the layout and the
# colours, with a fine dotted grid laid over them where the exact texture is lost. `stage4`
# (stride 16) keeps cup, saucer and spoon where they were, but the colours start to drift into
# red and green grain. `head` (stride 32, the 1280-channel map just before the classifier) keeps
# little more than the shapes: curved rims like those of cup and saucer, repeated and out of
# place, in arbitrary rainbow colours. The deeper the layer, the less of the photo's colour
# and exact layout its features pin down, as in the lecture's figure of VGG-16 reconstructions
# (Johnson, Alahi and Fei-Fei 2016).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Many images share these features
#
# Two `head` inversions of the same photo from two different noise starts (seeds 0 and 1).

# %% slideshow={"slide_type": "-"}
other_start = opt.invert(model, photo, "head", tv_weight=TV, steps=STEPS, seed=1)
other_error = opt.relative_error(model, other_start, "head", photo)
plotting.show_images([photo, inverted["head"], other_start], ncols=3, size=3.6, fontsize=14,
                     titles=["photo", f"head, seed 0 (error {errors['head']:.2f})", f"head, seed 1 (error {other_error:.2f})"])

# %% [markdown] slideshow={"slide_type": "notes"}
# Both reconstructions match the photo's `head` features about equally well (the errors in the
# titles), yet they are two different pictures: the same kind of curved rims, repeated around the
# middle in rainbow colours, but not the same rims, rings or colours. Many images share these
# features: at this depth the network keeps which parts there are, not exactly where they lie
# or what colour they have.

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Why do the colours drift at the deeper layers, while the shapes stay?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** The loss asks only that the features match. Deep features were trained to name
# objects, and a cup is a cup in any colour, so the deep layers keep little about colour: many
# differently coloured images have nearly the same features there (the `head` image above, in
# rainbow colours, has features close to the photo's), and the optimiser, starting from
# noise, ends at one of them. Shapes matter for the name, so the features keep more of them,
# and the reconstruction has to get them (roughly) right.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Ablation: without the TV prior
#
# The same `stage4` inversion with λ = 0.5 (left) and λ = 0 (right). The features match about
# as well (printed), but without the prior the image is covered in pixel-scale colour noise.

# %% [markdown] slideshow={"slide_type": "notes"}
# The same `stage4` inversion with λ = 0 (right), beside the one above with λ = 0.5 (left).
# The features match about as well (the printed errors), but the image is covered in
# pixel-scale colour noise: many images share a layer's features, and without the prior the
# optimiser has no reason to pick a smooth one.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
no_tv = opt.invert(model, photo, "stage4", tv_weight=0.0, steps=STEPS)
print(f"stage4 with TV weight {TV}: relative feature error {errors['stage4']:.3f}")
print(f"stage4 with TV weight 0:   relative feature error {opt.relative_error(model, no_tv, 'stage4', photo):.3f}")
plotting.show_images([inverted["stage4"], no_tv], titles=[f"TV weight {TV}", "TV weight 0"], size=4, fontsize=13)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the total-variation regulariser
#
# Mahendran and Vedaldi's prior, as on the slide: for every pixel that has a right and a lower
# neighbour, the squared differences to both, added, raised to the power β/2, and **summed** over
# pixels, channels and images. Differences run along the last two axes (rows and columns), and
# the result must stay a tensor that gradients can follow. (`lecture_utils.optimize.total_variation`,
# used above, takes the mean of the same terms instead: the sum divided by their number,
# C·(H−1)·(W−1) per image.)

# %% slideshow={"slide_type": "skip"}
def total_variation(image, beta=2.0):
    """Sum of ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2) ** (beta / 2) over the pixels
    with both neighbours, all channels and images. image (N, C, H, W); returns a 0-dim tensor."""
    ### BEGIN SOLUTION
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).pow(beta / 2).sum()
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("total_variation", total_variation)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the feature-inversion loss
#
# The loss of the formula at the top: the squared distance between the image's features at
# `layer` and the target features, relative to the target's squared norm, **plus** `tv_weight`
# times your `total_variation` (β = 2, summed as on the slide; the reconstructions above used the
# library's mean, so their λ = 0.5 is a much weaker weight than 0.5 would be here). Take the
# features with a forward hook (removed in a `finally:`, so that it goes also when the forward
# pass fails) and keep everything a tensor: the optimiser follows this loss's gradient.

# %% slideshow={"slide_type": "skip"}
def inversion_loss(model, image, layer, target_features, tv_weight):
    """||phi(image) - target||^2 / ||target||^2 + tv_weight * total_variation(image), a 0-dim tensor."""
    ### BEGIN SOLUTION
    module = model.get_submodule(model.layers[layer])
    kept = {}
    handle = module.register_forward_hook(lambda mod, inputs, output: kept.update(features=output))
    try:
        model(image)
    finally:
        handle.remove()
    features = kept["features"]
    match = (features - target_features).pow(2).sum() / target_features.pow(2).sum()
    return match + tv_weight * total_variation(image)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("inversion_loss", inversion_loss)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a photo (or upload one), a layer and the TV weight, then **Run**: the preview shows the
# reconstruction forming from noise.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a photo (or upload one), a layer and the TV weight, then **Run**: the reconstruction
# starts from noise and the preview shows it forming. Compare a large TV weight with a tiny one
# at a deep layer.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import InversionPanel
InversionPanel(model)
