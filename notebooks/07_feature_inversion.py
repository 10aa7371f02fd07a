# %% [markdown]
# # 07 · Feature inversion
#
# *Lecture: "Understanding deep image representations by inverting them" (Mahendran and Vedaldi
# 2015): given the features Φ₀ = Φ(x₀) of a photo at one layer, find an image x whose features
# match, x\* = argmin ‖Φ(x) − Φ₀‖² / ‖Φ₀‖² + λ·TV(x), starting from noise.*
#
# What comes back shows what the layer **keeps** of the photo: whatever all images with those
# features have in common. The total-variation term TV(x) = mean of (Δx² + Δy²)^(β/2) over
# neighbouring pixels is the prior "natural images are mostly smooth"; without it, the many
# images that match a deep layer include high-frequency noise.
#
# Same loop as notebooks 04 and 06: the objective is `feature_match(layer, Φ₀)` minus
# λ × `total_variation()`, optimised from faint noise by DeepDream's L1-normalised gradient step
# with heavy **momentum** (each step follows a running sum of the recent gradients, so it keeps
# moving through the long, flat, noisy stretches of this loss) and a cosine schedule (large steps
# first, fine ones last).

# %%
# %matplotlib inline
from lecture_utils import load_model, load_image
from lecture_utils import optimize as opt, plotting
from lecture_utils.images import center_square

model = load_model(device="cpu")
SIZE, STEPS, TV = 160, 1300, 0.5   # photo size (px), steps, TV weight
photo = center_square(load_image("espresso"), SIZE)

# %% [markdown]
# ## Reconstructions from shallow to deep layers
#
# One reconstruction per layer, with the same TV weight. Under each: the relative feature error
# ‖Φ(x) − Φ₀‖ / ‖Φ₀‖ at that layer, about 1 for the noise we start from. After 1300 steps every
# layer is matched to within about 10%: the image really has (almost) the photo's features there.
# Getting that far takes the right optimiser: Adam, the usual choice, ended at 0.15-0.28 after 300
# steps and still at 0.14 after 1000 (stage4, measured at 128 px), because the loss falls slowly
# in pixel space.

# %%
layers = ["stem", "stage2", "stage4", "head"]
inverted, errors = {}, {}
for layer in layers:
    run, target_features = opt.invert(model, photo, layer, tv_weight=TV, steps=STEPS)
    inverted[layer] = opt.finish(run).image
    errors[layer] = opt.relative_error(model, inverted[layer], layer, target_features)
plotting.show_images([photo, *inverted.values()],
                     titles=["photo"] + [f"{l} (error {errors[l]:.2f})" for l in layers], ncols=5, size=2.8)

# %% tags=["nbval-ignore-output"]
for layer in layers:
    print(f"{layer:>6}: relative feature error {errors[layer]:.3f}")

# %% [markdown]
# **What each layer keeps.** `stem` (stride 2) keeps almost everything: colours, the grain of
# the wood, the exact outline of cup and spoon. `stage2` (stride 8) keeps the layout and the
# colours, with a fine dotted grid laid over them where the exact texture is lost. `stage4`
# (stride 16) keeps cup, saucer and spoon where they were, but the colours start to drift into
# red and green grain. `head` (stride 32, the 1280-channel map just before the classifier) keeps
# little more than the shapes: the rims of cup and saucer, repeated where the layer no longer
# says exactly where they were, in arbitrary rainbow colours. The deeper the layer, the more
# the network has thrown away what does not matter for naming the object: the lecture's figure
# tells the same story.

# %% [markdown]
# **Question.** Why do the colours drift at the deeper layers, while the shapes stay?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** The loss asks only that the features match. Deep features were trained to name
# objects, and a cup is a cup in any colour (training often varies colours on purpose), so the
# deep layers keep little about colour: many differently coloured images have nearly the same
# features there, and the optimiser, starting from noise, ends at one of them. Shapes matter for
# the name, so the features keep them, and the reconstruction must get them right.

# %% [markdown]
# ## Ablation: without the TV prior
#
# The same middle-layer inversion with λ = 0. The features match about as well, but the image
# is covered in high-frequency noise: many images share a layer's features, and without the
# prior the optimiser has no reason to pick a smooth, natural-looking one.

# %% tags=["nbval-ignore-output"]
run, target_features = opt.invert(model, photo, "stage4", tv_weight=0.0, steps=STEPS)
no_tv = opt.finish(run).image
print(f"stage4 without TV: relative feature error {opt.relative_error(model, no_tv, 'stage4', target_features):.3f}")
plotting.show_images([inverted["stage4"], no_tv], titles=[f"TV weight {TV}", "TV weight 0"], size=4)

# %% [markdown]
# ### Exercise: the total-variation regulariser
#
# Mahendran and Vedaldi's prior, as on the slide: for every pixel that has a right and a lower
# neighbour, the squared differences to both, added, raised to the power β/2, and summed over
# pixels, channels and images. Differences run along the last two axes (rows and columns), and
# the result must stay a tensor that gradients can follow.

# %%
def total_variation(image, beta=2.0):
    """Sum of ((x[i, j+1] - x[i, j])^2 + (x[i+1, j] - x[i, j])^2) ** (beta / 2) over the pixels
    with both neighbours, all channels and images. image (N, C, H, W); returns a 0-dim tensor."""
    ### BEGIN SOLUTION
    dx = image[..., :-1, 1:] - image[..., :-1, :-1]
    dy = image[..., 1:, :-1] - image[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).pow(beta / 2).sum()
    ### END SOLUTION


# %%
from lecture_utils.exercises import check
check("total_variation", total_variation)

# %% [markdown]
# ### Exercise: the feature-inversion loss
#
# The loss the reconstructions above minimise: the squared distance between the image's
# features at `layer` and the target features, relative to the target's squared norm, plus
# `tv_weight` times your `total_variation` (β = 2). Take the features with a forward hook and
# keep everything a tensor: the optimiser follows this loss's gradient.

# %%
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


# %%
check("inversion_loss", inversion_loss)

# %% [markdown]
# ## Try it
#
# Pick a photo (or upload one), a layer and the TV weight, then **Run**: the reconstruction
# starts from noise and the preview shows it forming. Try a large TV weight (flat, cartoon-like
# regions) and a tiny one (noise) at a deep layer.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import InversionPanel
InversionPanel(model)

# %% [markdown]
# ## How this notebook is checked
#
# `tests/test_optimize.py` runs three of the four inversions above with the notebook's settings
# and holds their relative feature errors to 0.05 (stem), 0.12 (stage4) and 0.15 (head), and
# `tests/test_exercises.py` checks the two exercises' feedback. The stored outputs are those of
# a top-to-bottom run on a CPU, which the checks compare with a fresh run.
