# %% [markdown]
# # 09 · Neural style transfer
#
# *Lecture: neural style transfer (Gatys, Ecker and Bethge 2016): content loss, style loss
# (Gram matrices), total variation, L-BFGS; colour preservation; several styles; which network.*
#
# Style transfer looks for an image whose **features** at one deeper layer match a photo's (its
# content) and whose **Gram matrices** at several layers match a painting's (its style, as in
# notebook 08). The optimiser minimises
#
#     content_weight * content loss + style_weight * style loss + tv_weight * total variation
#
# Each loss here is relative (divided by the target's own size: `||F - P||^2 / ||P||^2`, and
# per layer `||G - A||^2 / ||A||^2`), so every term starts near 1 on any network and one set of
# weights serves all of them. The style targets are computed once per style image and layer set
# and reused; the network runs only up to the deepest layer needed.

# %%
# %matplotlib inline
from lecture_utils import load_image, load_model
from lecture_utils import style as st
from lecture_utils.images import resize_longer_side
from lecture_utils.models import is_cached
from lecture_utils.optimize import finish
from lecture_utils.plotting import show_images

model = load_model(device="cpu")        # the bundled EfficientNet-Lite0
palace, cafe, church = load_image("palace"), load_image("cafe_terrace"), load_image("church_auvers")
print("content layer and style layers:", st.default_layers(model))

# %% [markdown]
# ## A first result
#
# The Summer Palace in the style of Van Gogh's *Café Terrace at Night*: 256 px, 40 L-BFGS
# steps from the photo, content weight 1, style weight 20, TV weight 1.

# %%
result = finish(st.style_transfer(model, palace, cafe, size=256, steps=40))
show_images([resize_longer_side(palace, 256), resize_longer_side(cafe, 256), result.image], ["content", "style", "result"], ncols=3, size=3.6)

# %% [markdown]
# ## The weights decide
#
# More style weight: more strokes and the painting's colours, less of the palace. The TV weight
# trades the fine, noisy texture for smooth areas.

# %%
weights = [1.0, 20.0, 400.0]
small = dict(size=112, steps=30)  # quick runs: 112 px, 30 L-BFGS steps
sweep = [finish(st.style_transfer(model, palace, cafe, style_weight=w, **small)).image for w in weights]
smooth = finish(st.style_transfer(model, palace, cafe, tv_weight=100.0, **small)).image
show_images(sweep + [smooth], [f"style weight {w:g}" for w in weights] + ["style 20, TV weight 100"], ncols=4, size=2.6)

# %% [markdown]
# ### Exercise: the content loss
#
# CS231n's form: the content weight times the sum of the squared differences between the
# image's features at the content layer and the content photo's.

# %%
import torch


def content_loss(content_weight, features, target_features):
    """content_weight * sum((features - target_features) ** 2); both (1, C, H, W). A 0-dim tensor."""
    ### BEGIN SOLUTION
    return content_weight * (features - target_features).pow(2).sum()
    ### END SOLUTION


# %%
from lecture_utils.exercises import check
check("content_loss", content_loss)

# %% [markdown]
# ### Exercise: Gatys et al.'s style loss of one layer
#
# Gatys et al. write a layer's style loss with the plain Gram matrices G = F Fᵀ of the image's
# features F and A = S Sᵀ of the painting's S (each flattened to N channels x M = H·W
# positions), and a factor that makes layers of different sizes comparable:
# E = ‖G − A‖² / (4 N² M²). (This project divides by ‖A‖² instead, see above; both keep the
# layers in balance.)

# %%
def style_loss(features, style_features):
    """||G - A||^2 / (4 N^2 M^2) with G = F F^T and A = S S^T (no averaging), both (1, N, H, W)."""
    ### BEGIN SOLUTION
    _, n, h, w = features.shape
    f, s = features.reshape(n, h * w), style_features.reshape(n, h * w)
    g, a = f @ f.T, s @ s.T
    return (g - a).pow(2).sum() / (4 * n ** 2 * (h * w) ** 2)
    ### END SOLUTION


# %%
check("style_loss", style_loss)

# %% [markdown]
# ## Keeping the content's colours; blending two styles; starting from noise
#
# *Colour preservation* (Gatys et al. 2016, "Preserving color in neural artistic style
# transfer"): transfer only luminance. The optimisation sees grey versions of both images (the
# style's brightness matched to the content's mean and spread), and the result takes the
# content's chroma, the I and Q channels of YIQ. The measure `chroma_error` is the mean
# per-pixel distance of (I, Q) to the content's; the tests hold it at or below 0.01.
#
# *Several styles*: a weighted mean of their Gram matrices is the target.
#
# *Initialisation*: from noise the optimiser must build the content as well; from the photo it
# starts with perfect content and adds style. In 30 steps from noise the palace has not
# appeared yet: the style loss falls fast, the content loss slowly.

# %%
kept = finish(st.style_transfer(model, palace, cafe, preserve_colors=True, **small)).image
blend = finish(st.style_transfer(model, palace, [cafe, church], blend=[0.5, 0.5], **small)).image
noise = finish(st.style_transfer(model, palace, cafe, init="noise", **small)).image
print("chroma error, colours kept:", round(st.chroma_error(kept, palace), 3), " not kept:", round(st.chroma_error(sweep[1], palace), 3))
show_images([sweep[1], kept, blend, noise],
            ["colours of the style", "colours of the content", "café + church, 50/50", "started from noise"], ncols=4, size=2.6)

# %% [markdown]
# ### Exercise: colour preservation
#
# The last step of luminance-only transfer: keep the stylised image's luminance (Y of YIQ) and
# put back the content's colours (I and Q). `st.rgb_to_yiq` and `st.yiq_to_rgb` convert
# (N, 3, H, W) images; YIQ mixtures can leave the RGB cube, so clip.

# %%
def preserve_colors(stylized, content):
    """Y of `stylized` with I and Q of `content`, back to RGB and clipped to [0, 1]; both (1, 3, H, W)."""
    ### BEGIN SOLUTION
    y = st.rgb_to_yiq(stylized)[:, :1]
    iq = st.rgb_to_yiq(content)[:, 1:]
    return st.yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 1)
    ### END SOLUTION


# %%
check("preserve_colors", preserve_colors)

# %% [markdown]
# ## Coarse to fine
#
# For larger outputs, run small first, upsample, and refine: the coarse pass places the large
# strokes cheaply, the fine pass adds detail. (Adam, step 0.02 in pixel units, is the other optimiser: simpler and
# more robust than L-BFGS, but each step moves every pixel by about the same amount whatever the
# weights, so it needs more steps, and the weights matter less in a short run.)

# %%
coarse = finish(st.style_transfer(model, palace, cafe, size=256, steps=15, scales=2)).image
show_images([result.image, coarse], ["256 px, 40 steps", "128 px then 256 px, 15 steps each"], ncols=2, size=3.6)

# %% [markdown]
# ## Which network? VGG-19, a residual network with SWAG, random VGG-19
#
# Gatys et al. used VGG-19 trained on ImageNet; residual networks such as the bundled
# EfficientNet are said to stylise worse. Wang, Li and Vasconcelos (CVPR 2021) trace this to
# their *peaky* activations: a few very large values dominate each Gram matrix, so matching it
# copies those few places. Their fix, **SWAG**, matches the Gram matrices of a softmax of each
# layer's activations, which spreads the activation out. They also found that VGG-19 with
# **random** weights still stylises recognisably: much of what the style loss needs is the
# architecture (small convolutions, pooling), not the training.
#
# Below, the same settings (112 px, Adam, 40 steps; Adam because L-BFGS makes slower progress with SWAG) on: VGG-19 with ImageNet weights (only if
# they were fetched with `python -m lecture_utils fetch vgg19`), VGG-19 with random weights,
# and the bundled network with and without SWAG.

# %%
networks = {}
if is_cached("vgg19"):
    networks["VGG-19 (ImageNet)"] = (st.vgg19(weights="imagenet", device="cpu"), False)
networks["VGG-19 (random weights)"] = (st.vgg19(weights="random", device="cpu"), False)
networks["EfficientNet-Lite0"] = (model, False)
networks["EfficientNet-Lite0 + SWAG"] = (model, True)
side_by_side = {name: finish(st.style_transfer(net, palace, cafe, size=112, steps=40, optimizer="adam", swag=swag)).image
                for name, (net, swag) in networks.items()}
show_images(list(side_by_side.values()), list(side_by_side), ncols=4, size=2.6)

# %% [markdown]
# **Question.** Why does a VGG-19 with random weights still stylise?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** The style loss needs statistics of local patterns, not knowledge of objects. Even
# random 3x3 filters respond differently to different colours, edges and textures, and stacking
# them with ReLUs and pooling gives features of ever larger windows; their Gram matrices then
# describe which local patterns occur together, at several scales, which is what a style is.
# What training adds is mostly the content side: features that keep a palace a palace while its
# textures change. That is why the random network takes the palette and the strokes but blurs
# the shapes.

# %% [markdown]
# What to look for: the random VGG-19 takes the painting's palette and a fine, grainy stroke
# texture but blurs the palace: its random filters match colour statistics well and shapes
# poorly. The trained EfficientNet keeps the palace's outlines and makes strokes that follow
# them. With this project's relative losses the plain EfficientNet already stylises; SWAG
# changes which statistics are matched (of the softmax, not of the raw activations) and gives
# a gentler, more photo-like result here. Try other pairs in the panel: the differences depend
# on the images and the weights.

# %% [markdown]
# ## Try it
#
# Pick or upload a content picture and a style picture, choose the network, the weights
# (log sliders), the content layer and style layers, size and iterations, then Run. The
# preview updates while it runs; Stop keeps the last image; a new Run waits for the last one.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import StyleTransferPanel
panel_networks = {"bundled EfficientNet-Lite0": model, "VGG-19, random weights": networks["VGG-19 (random weights)"][0]}
StyleTransferPanel(panel_networks, content="palace", style="cafe_terrace", size=128, steps=60)
