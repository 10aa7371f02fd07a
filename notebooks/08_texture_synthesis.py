# %% [markdown]
# # 08 · Texture synthesis with Gram matrices
#
# *Lecture: Gram matrices, neural texture synthesis (Gatys, Ecker and Bethge 2015), "texture = artwork".*
#
# A layer of a CNN turns an image into an H x W grid of C-dimensional feature vectors. The
# **Gram matrix** takes the outer product of each vector with itself and averages over all
# positions: a C x C matrix that says which features occur *together*, and nothing about
# *where*. That is what a texture is: the same statistics everywhere, the arrangement free.
# Texture synthesis starts from noise and changes the pixels until the Gram matrices of
# several layers match those of a texture image.

# %%
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image
from lecture_utils import style as st
from lecture_utils.images import resize_longer_side
from lecture_utils.optimize import finish
from lecture_utils.plotting import show_images

model = load_model(device="cpu")       # the bundled EfficientNet-Lite0
vgg = st.vgg19(weights="random", device="cpu")   # VGG-19's architecture, random weights (for the panel)
bricks = load_image("bricks")[..., :256, :256]   # a 256 px crop: bricks stay large enough at small sizes
church = load_image("church_auvers")

# %% [markdown]
# ## The Gram matrix forgets where
#
# Shuffle the positions of a layer's activations: the picture is destroyed, its Gram matrix
# is unchanged (up to rounding).

# %%
with torch.no_grad():
    acts = st.layer_targets(model, resize_longer_side(bricks, 128), ["stage2"])["stage2"]
shuffled = acts.flatten(2)[..., torch.randperm(acts[0, 0].numel(), generator=torch.Generator().manual_seed(0))]
shuffled = shuffled.reshape(acts.shape)
gram, gram_shuffled = st.gram_matrix(acts), st.gram_matrix(shuffled)
print("activations", tuple(acts.shape), "-> Gram", tuple(gram.shape))
print("same Gram after shuffling:", torch.allclose(gram, gram_shuffled, rtol=1e-4, atol=1e-4))

# %% [markdown]
# ### Exercise: the Gram matrix
#
# Flatten each image's features to a C x HW matrix F; the Gram matrix is F Fᵀ (C x C: for every
# pair of channels, the sum over positions of their product), divided by the number of positions
# H·W. Keep one matrix per image of the batch.

# %%
def gram_matrix(features):
    """(N, C, H, W) -> (N, C, C): G[n, c, d] = sum over positions p of F[n, c, p] F[n, d, p] / (H W)."""
    ### BEGIN SOLUTION
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)
    ### END SOLUTION


# %%
from lecture_utils.exercises import check
check("gram_matrix", gram_matrix)

# %% [markdown]
# ## Shallow layers copy small things, deeper layers larger structures
#
# The lecture's figure: synthesise from the shallowest style layer alone, then add one deeper
# layer at a time. With only the first layer the result has the right colours and local
# contrast but no bricks; each deeper layer sees a larger window of the image and brings
# back larger structures (edges of bricks, then rows of them). Each run: 80 px, 30 L-BFGS
# steps from noise, on the bundled network.

# %%
sets = st.texture_layer_sets(model)
textures = [finish(st.texture(model, bricks, layers=layers, size=80, steps=30)).image for layers in sets]
show_images([resize_longer_side(bricks, 80)] + textures, ["texture"] + ["up to " + s[-1] for s in sets], ncols=6, size=2.2)

# %% [markdown]
# ### Exercise: the texture loss over layers
#
# Texture synthesis minimises, over the chosen layers, the weighted squared distance between the
# image's Gram matrices (your `gram_matrix`) and the texture's. (The library divides each layer's
# term by ‖A‖² as well, so that every layer starts near 1; here, the plain form.)

# %%
def texture_loss(features, target_grams, weights):
    """Sum over layers of weights[layer] * ||gram_matrix(features[layer]) - target_grams[layer]||^2
    (the sum of squared differences). All three are dicts keyed by layer; returns a 0-dim tensor."""
    ### BEGIN SOLUTION
    loss = 0
    for layer, a in target_grams.items():
        loss = loss + weights[layer] * (gram_matrix(features[layer]) - a).pow(2).sum()
    return loss
    ### END SOLUTION


# %%
check("texture_loss", texture_loss)

# %% [markdown]
# ## Texture = artwork
#
# A painting's brush strokes are a texture too. Synthesising from the sky and fields of
# *The Church at Auvers* keeps Van Gogh's colours and strokes and forgets the church: this is
# the "style" half of style transfer (notebook 09).

# %%
painting = finish(st.texture(model, church, size=112, steps=40)).image
show_images([resize_longer_side(church, 112), painting], ["Van Gogh, The Church at Auvers", "its texture"], ncols=2, size=3)

# %% [markdown]
# **Question.** The texture of the painting keeps Van Gogh's strokes and colours but loses the
# church. Why?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** A Gram matrix sums over all positions, so it records which features occur together
# and how strongly, but not where. Strokes and colours are local patterns that occur all over the
# painting: their statistics survive. The church is one arrangement of features at one place:
# any image with the same mix of features, scattered anywhere, has the same Gram matrices. Style
# transfer (notebook 09) adds a content loss, which keeps the places.

# %% [markdown]
# ## Try it
#
# Pick a bundled image or upload your own, choose the network and the deepest layer, and press
# Run. The preview updates while it runs; Stop keeps the last image. SWAG smoothing is
# explained in notebook 09 (it runs with Adam). VGG-19 with random weights is there too: its
# random filters respond weakly, and from noise it needs many more steps (well over 100) than
# the trained network before a texture appears.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import TexturePanel
TexturePanel({"bundled EfficientNet-Lite0": model, "VGG-19, random weights": vgg}, image="bricks", size=96)
