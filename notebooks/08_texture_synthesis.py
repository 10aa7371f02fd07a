# %% [markdown] slideshow={"slide_type": "slide"}
# # 08 · Texture synthesis with Gram matrices
#
# Starting from noise, make an image whose Gram matrices match those of a texture image.
# <small>After Gatys, Ecker and Bethge 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: Gram matrices, neural texture synthesis (Gatys, Ecker and Bethge 2015), "texture = artwork".*

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image
from lecture_utils import style as st
from lecture_utils.images import resize_longer_side
from lecture_utils.plotting import show_images

model = load_model(device="cpu")       # the bundled EfficientNet-Lite0
vgg = st.vgg19(weights="random", device="cpu")   # VGG-19's architecture, random weights (for the panel)
bricks = load_image("bricks")[..., :256, :256]   # a 256 px crop of the grey brick wall
petals = load_image("daisy")[..., 100:356, 200:456]   # a colour texture: the dahlia's petals
church = load_image("church_auvers")
SIZE, STEPS = 192, 100   # every texture here: 192 x 192 px, 100 L-BFGS steps from noise

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Neural Texture Synthesis: Gram Matrix
#
# A layer gives an H x W grid of C-dimensional feature vectors; averaging their outer products
# over all positions gives a C x C matrix: which features occur together.
#
# $$G_{cd} = \frac{1}{HW} \sum_{p} F_{c,p} \, F_{d,p}$$
#
# <small>After Gatys, Ecker and Bethge 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# A layer of a CNN turns an image into an H x W grid of C-dimensional feature vectors. The
# **Gram matrix** takes the outer product of each vector with itself and averages over all
# positions: a C x C matrix that says which features occur *together*, and nothing about
# *where*. With $F_{c,p}$ the value of channel $c$ at position $p$ of the $H \times W$ grid:
#
# $$G_{cd} = \frac{1}{HW} \sum_{p} F_{c,p} \, F_{d,p}.$$
#
# That is what a texture is: the same statistics everywhere, the arrangement free.
# Texture synthesis starts from noise and changes the pixels until the Gram matrices of
# several layers match those of a texture image (the next slides).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The Gram matrix forgets where
#
# The bricks' `stage2` activations, their positions shuffled: the Gram matrix is unchanged (up
# to rounding).

# %% [markdown] slideshow={"slide_type": "notes"}
# Shuffle the positions of a layer's activations: the picture is destroyed, its Gram matrix
# is unchanged (up to rounding).

# %% slideshow={"slide_type": "-"}
with torch.no_grad():
    acts = st.layer_targets(model, resize_longer_side(bricks, 128), ["stage2"])["stage2"]
shuffled = acts.flatten(2)[..., torch.randperm(acts[0, 0].numel(), generator=torch.Generator().manual_seed(0))]
shuffled = shuffled.reshape(acts.shape)
gram, gram_shuffled = st.gram_matrix(acts), st.gram_matrix(shuffled)
print("activations", tuple(acts.shape), "-> Gram", tuple(gram.shape))
print("same Gram after shuffling:", torch.allclose(gram, gram_shuffled, rtol=1e-4, atol=1e-4))

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the Gram matrix
#
# Flatten each image's features to a C x HW matrix F; the Gram matrix is F Fᵀ (C x C: for every
# pair of channels, the sum over positions of their product), divided by the number of positions
# H·W. Keep one matrix per image of the batch.

# %% slideshow={"slide_type": "skip"}
def gram_matrix(features):
    """(N, C, H, W) -> (N, C, C): G[n, c, d] = sum over positions p of F[n, c, p] F[n, d, p] / (H W)."""
    ### BEGIN SOLUTION
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("gram_matrix", gram_matrix)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Neural Texture Synthesis
#
# 1. Record the texture's Gram matrices $A^l$ at several layers.
# 2. Start from noise.
# 3. Loss: the distance of the image's Gram matrices $G^l$ to the texture's.
# 4. Change the pixels to lower it (here L-BFGS); repeat.
#
# $$\mathcal{L}(x) = \sum_l w_l \, \frac{\|G^l - A^l\|^2}{\|A^l\|^2}$$
#
# <small>After Gatys, Ecker and Bethge 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The lecture's recipe uses VGG-19 trained on ImageNet; here it runs on the bundled
# EfficientNet-Lite0, and every texture is 192 x 192 px after 100 L-BFGS steps from noise. The
# library divides each layer's term by ‖A‖², the texture's own Gram matrix's squared norm, so
# that the distances in the titles below are relative to it; the lecture's loss scales each layer's term by
# 1/(4N²M²) instead, and the exercise below writes the plain sum of squared differences.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Neural Texture Synthesis: shallow to deeper layers
#
# The dahlia's petals (left), then synthesis from the shallowest layer alone, adding one deeper
# layer at a time (192 px, 100 L-BFGS steps from noise). Above each: how far the run brought the
# Gram distance down.
# <small>After Gatys, Ecker and Bethge 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Shallow layers copy small things, deeper layers larger structures. The lecture's figure:
# synthesise from the shallowest style layer alone, then add one deeper layer at a time (192 px,
# 100 L-BFGS steps from noise, on the bundled network; each run's title says how far it brought
# the Gram distance down). First on a colour texture, the petals of the dahlia.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
sets = st.texture_layer_sets(model)


def layer_set_row(texture_image):
    """The texture, then one synthesis per layer set, and their titles: each run's fall of the Gram distance."""
    results, titles = [], ["texture"]
    for layers in sets:
        run = list(st.iterate_texture(model, texture_image, layers=layers, size=SIZE, steps=STEPS))
        start, end = -run[0].losses["objective"], -run[-1].losses["objective"]
        titles.append(f"up to {layers[-1]}: −{1 - end / start:.1%}\n{start:.3f} -> {end:.4f}")
        results.append(run[-1].image)
    return [resize_longer_side(texture_image, SIZE)] + results, titles


petal_row, titles = layer_set_row(petals)
show_images(petal_row, titles, ncols=5, size=2.5, fontsize=14, first_span=2)

# %% [markdown] slideshow={"slide_type": "notes"}
# The first layer alone (`stem`, stride 2, a 3 x 3 window) gets the petals' pale and deep
# orange, with dark and blue-green specks for the dark background, and nothing else: a speckle.
# Each deeper layer sees a larger window and brings back larger things: rounded, petal-sized
# cells with curved edges by `stage2`, petals with pale rims and shaded hollows by `stage3` and
# `stage4`. A fine grid of coloured pixels stays over every result.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The same on a brick wall
#
# The grey brick wall of the lecture's figure (left), with the same layer sets.
# <small>After Gatys, Ecker and Bethge 2015.</small>

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
show_images(*layer_set_row(bricks), ncols=5, size=2.5, fontsize=14, first_span=2)

# %% [markdown] slideshow={"slide_type": "notes"}
# From `stage2` on the result is made of brick-like pieces: short light mortar lines between
# grey cells that are longer than wide, upright and leaning the way the wall's bricks lean. What
# it never makes is the wall's *columns*: mortar lines that run unbroken from top to bottom,
# with the bricks stacked between them. In every run on the wall the Gram distance in the titles
# (relative to the wall's own Gram matrices: 0.86-1.10 for the starting noise from `stage1` on)
# fell by 95% or more. A Gram matrix records which features occur together, averaged over all places; that
# the bricks line up in long columns across the whole image is a fact about *where* they are,
# which these statistics do not hold.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the texture loss over layers
#
# Texture synthesis minimises, over the chosen layers, the weighted squared distance between the
# image's Gram matrices (your `gram_matrix`) and the texture's. (The library divides each layer's
# term by ‖A‖², the texture's own Gram matrix's squared norm, as well: the distances in the
# titles above are relative to it. Here, the plain form.)

# %% slideshow={"slide_type": "skip"}
def texture_loss(features, target_grams, weights):
    """Sum over layers of weights[layer] * ||gram_matrix(features[layer]) - target_grams[layer]||^2
    (the sum of squared differences). All three are dicts keyed by layer; returns a 0-dim tensor."""
    ### BEGIN SOLUTION
    loss = 0
    for layer, a in target_grams.items():
        loss = loss + weights[layer] * (gram_matrix(features[layer]) - a).pow(2).sum()
    return loss
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("texture_loss", texture_loss)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Neural Texture Synthesis: Texture = Artwork
#
# Textures of *The Church at Auvers*, from noise at 192 px: the bundled network without a prior,
# with a total-variation penalty of weight 3 and of weight 20, and VGG-19 with random weights.
# <small>After Gatys, Ecker and Bethge 2015; random VGG-19: Wang, Li and Vasconcelos 2021.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# A painting's brush strokes are a texture too. Synthesising from the whole of *The Church at
# Auvers* should keep Van Gogh's palette and brushwork and forget the church: this is the
# "style" half of style transfer (notebook 09). All from noise at 192 px:
#
# * the bundled network as above (100 L-BFGS steps), with no prior;
# * the same with a total-variation penalty (`tv_weight`, as in notebook 07) of weight 3, and of
#   weight 20: it makes neighbouring pixels alike;
# * VGG-19 with random weights (Wang et al. 2021: its architecture alone already stylises;
#   50 L-BFGS steps).

# %% slideshow={"slide_type": "-"}
candidates = {
    "bundled, no TV": st.texture(model, church, size=SIZE, steps=STEPS),
    "bundled, TV weight 3": st.texture(model, church, size=SIZE, steps=STEPS, tv_weight=3.0),
    "bundled, TV weight 20": st.texture(model, church, size=SIZE, steps=STEPS, tv_weight=20.0),
    "VGG-19, random weights": st.texture(vgg, church, size=SIZE, steps=50),
}
show_images([resize_longer_side(church, SIZE)] + list(candidates.values()),
            ["Van Gogh, The Church at Auvers"] + list(candidates), ncols=4, size=2.8, fontsize=15, first_span=2)

# %% [markdown] slideshow={"slide_type": "notes"}
# Without a prior the bundled network has the painting's blue and ochre, but covered in
# rainbow noise at the scale of single pixels. With TV weight 3 that noise is almost gone and
# the result looks like the painting's brushwork: patches of blue, ochre and yellow-green in
# streaky strokes, with a fragment of a window here and there, though lighter than the
# painting's dark sky. With weight 20 the same patches come out pale and soft, the strokes
# blurred. Random VGG-19 has the painting's yellow and dark blue, but only as soft blobs
# without strokes. Notebook 09 compares the networks for style transfer.

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** The texture of the painting keeps Van Gogh's strokes and colours but loses the
# church (at most a window survives, out of place). Why?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** A Gram matrix sums over all positions, so it records which features occur together
# and how strongly, but not where. Strokes and colours are local patterns that occur all over the
# painting: their statistics survive. The church is one arrangement of features at one place:
# any image with the same mix of features, scattered anywhere, has the same Gram matrices. Style
# transfer (notebook 09) adds a content loss, which keeps the places.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a bundled image or upload your own, choose the network and the deepest layer, and press
# Run. The preview updates while it runs; Stop keeps the last image.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a bundled image or upload your own, choose the network and the deepest layer, and press
# Run. The preview updates while it runs; Stop keeps the last image. SWAG smoothing is
# explained in notebook 09 (it runs with Adam). VGG-19 with random weights is there too.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import TexturePanel
TexturePanel({"bundled EfficientNet-Lite0": model, "VGG-19, random weights": vgg}, image="bricks", size=96)
