# %% [markdown] slideshow={"slide_type": "slide"}
# # 09 · Neural style transfer
#
# An image with a photo's content and a painting's style, found by optimising its pixels.
# <small>After Gatys, Ecker and Bethge 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: neural style transfer (Gatys, Ecker and Bethge 2016): content loss, style loss
# (Gram matrices), total variation, L-BFGS; colour preservation; several styles; which network.*

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
from lecture_utils import load_image, load_model
from lecture_utils import style as st
from lecture_utils.images import resize_longer_side
from lecture_utils.models import is_cached
from lecture_utils.optimize import finish
from lecture_utils.plotting import image_table, large_beside_small, show_images

model = load_model(device="cpu")        # the bundled EfficientNet-Lite0
palace, cafe, church = load_image("palace"), load_image("cafe_terrace"), load_image("church_auvers")
SIZE = 256   # every result's longer side, in pixels
print("content layer and style layers:", st.default_layers(model))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Neural Style Transfer: Feature + Gram Reconstruction
#
# Match the photo's features $P$ at one deeper layer (content), the painting's Gram matrices
# $A^l$ at several layers (style), and keep the image smooth (TV):
#
# $$w_c \, \frac{\|F - P\|^2}{\|P\|^2} \; + \; w_s \sum_l \lambda_l \, \frac{\|G^l - A^l\|^2}{\|A^l\|^2}
# \; + \; w_{tv} \, \mathrm{TV}(x)$$
#
# <small>After Gatys, Ecker and Bethge 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Style transfer looks for an image whose **features** at one deeper layer match a photo's (its
# content) and whose **Gram matrices** at several layers match a painting's (its style, as in
# notebook 08). With $F$ and $P$ the image's and the photo's features at the content layer, and
# $G^l$ and $A^l$ the image's and the painting's Gram matrices at style layer $l$, the optimiser
# minimises (`content_weight`, `style_weight` and `tv_weight` in the code)
#
# $$w_c \, \frac{\|F - P\|^2}{\|P\|^2} \; + \; w_s \sum_l \lambda_l \, \frac{\|G^l - A^l\|^2}{\|A^l\|^2}
# \; + \; w_{tv} \, \mathrm{TV}(x).$$
#
# Both losses are relative (divided by the target's own size), so the style layers' terms are of
# the same order whatever their number of channels and positions; the layer weights $\lambda_l$
# are equal and sum to 1. The total variation term $\mathrm{TV}(x)$ is the mean over the pixels
# of the squared differences to the right and lower neighbours.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Neural style transfer: a first result
#
# The Summer Palace (left, top) in the style of Van Gogh's *Café Terrace at Night* (left, bottom):
# 256 px, 40 L-BFGS steps from the photo. Printed: each loss term at the first step and the last.
# <small>After Gatys, Ecker and Bethge 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The Summer Palace in the style of Van Gogh's *Café Terrace at Night*: 256 px, 40 L-BFGS
# steps from the photo, content weight 1, style weight 20, TV weight 1. Printed: each term at
# the first step (the photo itself) and at the last.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
run = list(st.iterate_style_transfer(model, palace, cafe, size=SIZE, steps=40))
content_layer, style_layers = st.default_layers(model)
for when, step in (("step 1 (the photo)", run[0]), (f"step {run[-1].step}", run[-1])):
    per_layer = ", ".join(f"{step.losses[f'style[{layer}]']:.2f}" for layer in style_layers)
    print(f"{when:>19}: content {step.losses[f'content[{content_layer}]']:.2f}; style per layer {per_layer}; "
          f"TV {step.losses['tv2']:.3f}")
result = run[-1]
large_beside_small([resize_longer_side(palace, SIZE), resize_longer_side(cafe, SIZE)], result.image, ["content", "style"],
                   "result", size=2.0, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# At the first step the image is the photo, so the content loss is 0, while every style
# layer's term is well above 0 and the TV term is small. After 40 steps each style term has
# fallen to a small fraction of its first value, and the content loss and the TV term have
# grown: the optimiser gave up some of the photo's features for the painting's statistics.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The weights decide
#
# Top: more style weight (content weight 1). Bottom: more TV weight (style weight 20). Above
# each picture: its content and style loss after 30 L-BFGS steps from the photo.
# <small>After Gatys, Ecker and Bethge 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Top row: the style weight from 0.2 to 20, each ten times the last (content weight 1, TV
# weight 1). Bottom row: the TV weight from 100 to 10000, each ten times the last (style weight
# 20; TV weight 1 is the top row's last picture). Every run: 30 L-BFGS steps from the photo.
# Above each picture: its content loss and style loss (the mean over the style layers) at the
# last step.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "skip"}
quick = dict(size=SIZE, steps=30)


def content_and_style(step):
    return step.losses[f"content[{content_layer}]"], sum(step.losses[f"style[{l}]"] for l in style_layers) / len(style_layers)


style_weights, tv_weights = [0.2, 2.0, 20.0], [100.0, 1000.0, 10000.0]
style_runs = [finish(st.iterate_style_transfer(model, palace, cafe, style_weight=w, **quick)) for w in style_weights]

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
tv_runs = [finish(st.iterate_style_transfer(model, palace, cafe, tv_weight=w, **quick)) for w in tv_weights]
by_style = [step.image for step in style_runs]
image_table([by_style, [step.image for step in tv_runs]], row_labels=["style weight", "TV weight"],
            titles=[[f"{w:g}\ncontent {c:.2f}, style {s:.2f}" for w, (c, s) in zip(weights, map(content_and_style, runs))]
                    for weights, runs in ((style_weights, style_runs), (tv_weights, tv_runs))],
            size=3.6, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# More style weight: at 0.2 the picture is the photo (content loss near 0); at 2 the sky fills
# with pale violet and yellow strokes while the palace and the trees keep most of their own
# colours; at 20 the palace turns violet and the trees and the foreground take the painting's
# yellow and dark violet (the row's highest content loss and lowest style loss). More TV
# weight: at 100 the picture looks much like at 1 (the top row's last); at 1000 the fine
# strokes are gone and the picture is soft; at 10000 it is a blur, and its style loss is
# several times that at 1.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the content loss
#
# CS231n's form: the content weight times the sum of the squared differences between the
# image's features at the content layer and the content photo's.

# %% slideshow={"slide_type": "skip"}
import torch


def content_loss(content_weight, features, target_features):
    """content_weight * sum((features - target_features) ** 2); both (1, C, H, W). A 0-dim tensor."""
    ### BEGIN SOLUTION
    return content_weight * (features - target_features).pow(2).sum()
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("content_loss", content_loss)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: Gatys et al.'s style loss of one layer
#
# Gatys et al. write a layer's style loss with the plain Gram matrices G = F Fᵀ of the image's
# features F and A = S Sᵀ of the painting's S (each flattened to N channels x M = H·W
# positions), and a factor that makes layers of different sizes comparable:
# E = ‖G − A‖² / (4 N² M²). (This project divides by ‖A‖² instead, see above; both keep the
# layers in balance.)

# %% slideshow={"slide_type": "skip"}
def style_loss(features, style_features):
    """||G - A||^2 / (4 N^2 M^2) with G = F F^T and A = S S^T (no averaging), both (1, N, H, W)."""
    ### BEGIN SOLUTION
    _, n, h, w = features.shape
    f, s = features.reshape(n, h * w), style_features.reshape(n, h * w)
    g, a = f @ f.T, s @ s.T
    return (g - a).pow(2).sum() / (4 * n ** 2 * (h * w) ** 2)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("style_loss", style_loss)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Keeping the content's colours; starting from noise
#
# Right: luminance-only transfer keeps the photo's colours. Left: the painting's colours (style
# weight 20, as before) and a run started from noise. Printed: chroma errors; the noise run's
# losses at its first and last step.
# <small>After Gatys et al. 2016, "Preserving color in neural artistic style transfer".</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# *Colour preservation* (Gatys et al. 2016, "Preserving color in neural artistic style
# transfer"): transfer only luminance. The optimisation sees grey versions of both images (the
# style's brightness matched to the content's mean and spread), and the result takes the
# content's chroma, the I and Q channels of YIQ. The measure `chroma_error` is the mean
# per-pixel distance of (I, Q) to the content's (I and Q span about ±0.6).
#
# *Initialisation*: from noise the optimiser must build the content as well; from the photo it
# starts with perfect content and adds style. Printed: the run from noise's content and style
# losses at its first step and at its last.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
default = by_style[style_weights.index(20.0)]
kept = st.style_transfer(model, palace, cafe, preserve_colors=True, **quick)
noise_run = list(st.iterate_style_transfer(model, palace, cafe, init="noise", **quick))
noise = noise_run[-1].image
print("chroma error, colours kept:", round(st.chroma_error(kept, palace), 3), " not kept:", round(st.chroma_error(default, palace), 3))
for step in (noise_run[0], noise_run[-1]):
    print(f"from noise, step {step.step:>2}: content loss {content_and_style(step)[0]:.2f}, style loss {content_and_style(step)[1]:.2f}")
large_beside_small([default, noise], kept, ["colours of the style", "started from noise"], "colours of the content",
                   size=2.0, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# Luminance-only transfer keeps the photo's colours (its chroma error, printed above, is a
# small fraction of the other's) and takes only the painting's strokes, in white and grey in
# the sky. From noise, after 30 steps, the palace has not appeared yet: the style loss fell to a
# small fraction of its first value, the content loss only a little (printed above).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Blending two styles
#
# Left: each style and its result alone. Right: their Gram matrices averaged half and half.

# %% [markdown] slideshow={"slide_type": "notes"}
# *Several styles*: a weighted mean of their Gram matrices is the target.

# %% slideshow={"slide_type": "-"}
church_alone = st.style_transfer(model, palace, church, **quick)
blend = st.style_transfer(model, palace, [cafe, church], blend=[0.5, 0.5], **quick)
large_beside_small([[resize_longer_side(cafe, SIZE), default], [resize_longer_side(church, SIZE), church_alone]], blend,
                   [["Café Terrace", "café alone"], ["Church at Auvers", "church alone"]], "café + church, 50/50",
                   size=2.0, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# The café alone brings its violet and yellow, in the sky and on the palace; the church alone
# its blue and dark green, most of all in the trees and the water. The blend keeps the café's
# violet-and-yellow sky and takes the church's darker greens in the trees.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: colour preservation
#
# The last step of luminance-only transfer: keep the stylised image's luminance (Y of YIQ) and
# put back the content's colours (I and Q). `st.rgb_to_yiq` and `st.yiq_to_rgb` convert
# (N, 3, H, W) images; YIQ mixtures can leave the RGB cube, so clip.

# %% slideshow={"slide_type": "skip"}
def preserve_colors(stylized, content):
    """Y of `stylized` with I and Q of `content`, back to RGB and clipped to [0, 1]; both (1, 3, H, W)."""
    ### BEGIN SOLUTION
    y = st.rgb_to_yiq(stylized)[:, :1]
    iq = st.rgb_to_yiq(content)[:, 1:]
    return st.yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0, 1)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("preserve_colors", preserve_colors)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Coarse to fine
#
# A 256 px result two ways: 40 steps at 128 px then 40 at 256 px (right), or straight at
# 256 px until its loss is as low (left; at most 100 steps). Printed: losses and times.

# %% [markdown] slideshow={"slide_type": "notes"}
# For larger outputs, run small first, upsample, and refine: the coarse pass places the large
# strokes on a quarter of the pixels, the fine pass adds detail.
#
# Below, a 256 px result two ways: 40 steps at 128 px followed by 40 at 256 px; then straight
# at 256 px, run until its loss is as low as the first one's (or for at most 100 steps). Both
# are scored by the same loss at 256 px.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "skip"}
import time


start = time.perf_counter()
coarse_run = list(st.iterate_style_transfer(model, palace, cafe, size=SIZE, steps=40, octaves=2))
coarse, coarse_loss, coarse_seconds = coarse_run[-1].image, -coarse_run[-1].losses["objective"], time.perf_counter() - start

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
start = time.perf_counter()
for step in st.iterate_style_transfer(model, palace, cafe, size=SIZE, steps=100):
    if -step.losses["objective"] <= coarse_loss:  # the loss of the image this step starts from
        break
direct_seconds = time.perf_counter() - start
print(f"coarse to fine (40 + 40 steps): loss {coarse_loss:.3f} in {coarse_seconds:.1f} s")
print(f"direct: loss {-step.losses['objective']:.3f} after {step.step} steps, in {direct_seconds:.1f} s")
show_images([step.image, coarse], [f"256 px, {step.step} steps", "128 px then 256 px, 40 steps each"], ncols=2,
            size=4.2, fontsize=13, aspect="image")

# %% [markdown] slideshow={"slide_type": "notes"}
# At this size coarse to fine does not pay on this network: the direct run reaches the same
# loss in about as many 256 px steps as coarse to fine costs, in less or about the same time
# (printed above; the times vary from run to run). A 128 px step has a quarter of the pixels of
# a 256 px one, so the 40 coarse steps cost about as much as 10 fine ones: about 50 fine steps
# in all. The coarse result's strokes are larger and its palace darker (laid down at half the
# size, then enlarged), and a band of coloured strokes runs along its top edge.


# %% [markdown] slideshow={"slide_type": "slide"}
# ## The style image's scale
#
# `style_scale` resizes the painting to 0.5, 1 or 2 times the output's size. Top: the results,
# a white square marking the region enlarged below.

# %% [markdown] slideshow={"slide_type": "notes"}
# The network sees brush strokes at the size they have in the style image it is given, so the
# style image's size sets the strokes' size. `style_scale` resizes the style image to that many
# times the output's size (at 1, the default, the painting's longer side is the output's). Top
# row: the three results, a white square marking the region shown enlarged in the bottom row.

# %% slideshow={"slide_type": "-"}
scales = [0.5, 1.0, 2.0]
by_scale = [default if k == 1.0 else st.style_transfer(model, palace, cafe, style_scale=k, **quick)
            for k in scales]
top, left, side = 0, 0, 64   # the region enlarged: the sky at the top left
crops = [image[..., top:top + side, left:left + side] for image in by_scale]
marked = [image.clone() for image in by_scale]
for image in marked:
    image[..., top:top + side, [left, left + side - 1]] = 1.0
    image[..., [top, top + side - 1], left:left + side] = 1.0
image_table([marked, crops], row_labels=["result", "region enlarged"], titles=[[f"style scale {k:g}" for k in scales], ["", "", ""]],
            size=3.6, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# In the enlarged sky, the strokes at 0.5 are short, thin wiggles in yellow, magenta and cyan;
# at 1 they are longer bands of white and pale blue; at 2 they are fainter, with less contrast,
# and harder to tell apart.
# The whole picture at 0.5 is also more yellow.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Which network? VGG-19, a residual network with SWAG, random VGG-19
#
# The same settings (256 px, 40 Adam steps). Right: the bundled EfficientNet-Lite0. Left: VGG-19
# with random weights, and EfficientNet-Lite0 with SWAG.
# <small>After Wang, Li and Vasconcelos 2021.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Gatys et al. used VGG-19 trained on ImageNet; residual networks such as the bundled
# EfficientNet are said to stylise worse. Wang, Li and Vasconcelos (CVPR 2021) trace this to
# the residual connections, which make the activations *peaky* (of low entropy): a few very
# large values dominate each Gram matrix, and with it the style loss. Their fix, **SWAG**,
# matches the Gram matrices of a softmax of each layer's activations, which raises their
# entropy. They also report that a VGG with **random** weights still stylises: in their view
# the architecture matters more for style transfer than the learned weights.
#
# On the slide, the same settings (256 px, 40 Adam steps): large, the bundled network without
# SWAG; on the left, VGG-19 with ImageNet weights (only if they were fetched with
# `python -m lecture_utils fetch vgg19`), VGG-19 with random weights, and the bundled network
# with SWAG.

# %% slideshow={"slide_type": "skip"}
networks = {}
if is_cached("vgg19"):
    networks["VGG-19 (ImageNet)"] = (st.vgg19(weights="imagenet", device="cpu"), False)
networks["VGG-19 (random weights)"] = (st.vgg19(weights="random", device="cpu"), False)
networks["EfficientNet-Lite0"] = (model, False)
networks["EfficientNet-Lite0 + SWAG"] = (model, True)
side_by_side = {}
for name, (net, swag) in networks.items():
    side_by_side[name] = st.style_transfer(net, palace, cafe, size=SIZE, steps=40, optimizer="adam", swag=swag)

# %% slideshow={"slide_type": "-"}
others = [name for name in side_by_side if name != "EfficientNet-Lite0"]
large_beside_small([side_by_side[name] for name in others], side_by_side["EfficientNet-Lite0"],
                   [name.replace(" (", "\n(").replace(" + ", "\n+ ") for name in others], "EfficientNet-Lite0",
                   size=4.0 / len(others), fontsize=14)

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Why can a VGG-19 with random weights transfer a painting's colours at all?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** The style loss needs statistics of local patterns, not knowledge of objects. Even
# random 3x3 filters respond differently to different colours, edges and textures, and stacking
# them with ReLUs and pooling gives features of ever larger windows; their Gram matrices then
# describe which local patterns occur together, at several scales, which is what a style is.
# What training adds is mostly the content side: features that keep a palace a palace while its
# textures change.

# %% [markdown] slideshow={"slide_type": "notes"}
# What to look for: here the random VGG-19 only recolours: it lays the painting's yellow and
# dark red over the photo in broad patches and adds a fine grain, but draws no strokes. The
# trained EfficientNet covers the picture with the painting's strokes and its violet and yellow.
# With SWAG the result stays closer to the photo: its own colours, a fine grain in the sky and
# strokes in the trees. Try other pairs in the panel.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick or upload a content picture and a style picture, choose the network, the weights, the
# layers, size and iterations, then Run. The preview updates while it runs.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick or upload a content picture and a style picture, choose the network, the weights
# (log sliders), the content layer and style layers, size and iterations, then Run. The
# preview updates while it runs; Stop keeps the last image; a new Run waits for the last one.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import StyleTransferPanel
panel_networks = {"bundled EfficientNet-Lite0": model, "VGG-19, random weights": networks["VGG-19 (random weights)"][0]}
StyleTransferPanel(panel_networks, content="palace", style="cafe_terrace", size=128, steps=60)
