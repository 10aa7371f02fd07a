# %% [markdown] slideshow={"slide_type": "slide"}
# # 01 · First-layer filters and activation maps
#
# The first layer's filters drawn as images; for deeper layers, activation maps: what each
# channel computes for one photo.

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: "What's going on inside ConvNets?" First layer: visualise the filters; intermediate
# layers: visualise the activations.*
#
# The first layer of a CNN looks at raw pixels, so its weights can be shown as small images.
# Deeper layers see the output of earlier ones, so their weights mean little to the eye; for
# them we look at **activation maps**: what each channel computes for one image.

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image, get_activations
from lecture_utils.models import is_cached
from lecture_utils import plotting

model = load_model(device="cpu")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the first layers detect
#
# Each square: a `stage2` unit's average of the 100 photo patches (19 x 19 px) that excite it most.
# <small>After Krizhevsky et al. 2012 (AlexNet's filters); spike-triggered averages, Chichilnisky 2001.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The lecture opens with AlexNet's first-layer filters: 11 x 11 pixel weights that look like
# oriented edges at every angle and blobs of colour. This network's first layer has 3 x 3 filters
# (below), too small to draw an edge. So we ask the units two blocks up, at `stage2`, which see
# a 19 x 19 pixel window: for each of its 24 channels, take the 100 windows of the collection's
# photos where the channel fires most (at most 10 from one photo, so that no photo's texture
# dominates), and average them. Neuroscientists map a neuron's receptive field the same way,
# averaging the stimuli that preceded its spikes. What all 100 windows share survives the
# average; what varies between them blurs to grey. Each average is stretched in contrast around
# its own mean colour, as filters are drawn.
#
# What to see: light or dark bars and edges at several angles (diagonal both ways, near
# horizontal), dark spots on a light ground, and plain colours (blue, purple, yellow-green),
# as in AlexNet's filters. These are averages of photo patches, not weights: they show what a
# unit responds to in photos, including the colours common in them.

# %% tags=["thumbnail"] slideshow={"slide_type": "-"}
from lecture_utils import datasets
from lecture_utils.embedding import mean_top_patch

collection = datasets.gcompris(size=224)
photos = (collection.float_images([i]) for i in range(len(collection)))  # one at a time
averages = mean_top_patch(model, photos, "stage2", n=100)
plotting.filter_grid(averages - averages.mean(dim=(1, 2, 3), keepdim=True), ncols=8, size=1.3)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The first layer's own filters
#
# The bundled EfficientNet-Lite0 starts with 32 filters of 3x3 pixels (stride 2), each scaled on
# its own around zero (mid-grey: a zero weight). Nine pixels show colour, hardly an edge.

# %% [markdown] slideshow={"slide_type": "notes"}
# Each filter is scaled on its own and symmetrically around zero: mid-grey is a zero weight, a
# pixel brighter than grey in one colour channel is a positive weight on that colour, darker a
# negative one, and the filter's largest weight reaches full brightness (or black).
#
# A 3x3 filter is nine coloured squares: too few to draw a stripe, or an edge at any angle other
# than along a row, a column or a diagonal. What one can see is mostly **colour**: many filters
# are tinted one hue all over (green, blue, purple, orange), some put one hue against another,
# and a few have a lighter row or corner against a darker one, as much of an **edge** as nine
# pixels can show. The edges at many orientations appear one step later, in the averages above.

# %% slideshow={"slide_type": "-"}
stem_conv = model.get_submodule(model.layers["stem"])[0]
print("first layer:", tuple(stem_conv.weight.shape), "(filters, RGB, height, width)")
plotting.filter_grid(stem_conv.weight, ncols=8, size=0.9)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: scale filters for display
#
# A filter's weights are small signed numbers; an image needs values in [0, 1]. Write the scaling
# `plotting.filter_grid` uses: each filter on its own, symmetrically around zero, so that a zero
# weight is mid-grey (0.5) and the filter's largest |weight| reaches 0 or 1. The cell after it
# checks your function on filters it picks and, if something is off, says what.

# %% slideshow={"slide_type": "skip"}
def normalize_filters(weights):
    """Filters (C_out, C_in, k, k) -> the same shape in [0, 1]: 0.5 + 0.5 * w / max|w|, with the
    maximum taken over each filter's own values (all its channels)."""
    ### BEGIN SOLUTION
    scale = weights.abs().amax(dim=(1, 2, 3), keepdim=True)
    return 0.5 + 0.5 * weights / scale
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("normalize_filters", normalize_filters)

# %% [markdown] slideshow={"slide_type": "notes"}
# The lecture's figure shows the 96 first-layer filters, 11x11 pixels each, of the original
# AlexNet (Krizhevsky et al. 2012), which was split over two GPUs with 48 filters each.
# torchvision's AlexNet, the one this course loads, is the one-GPU version of Krizhevsky (2014)
# and has 64 such filters. Both are large enough to show Gabor-like edges at many orientations
# and colour blobs. torchvision's 64 appear here when AlexNet's weights have been fetched
# (`python -m lecture_utils fetch alexnet`).

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
if is_cached("alexnet"):
    alexnet = load_model("alexnet", device="cpu")
    fig = plotting.filter_grid(alexnet.net.features[0].weight, ncols=16, size=0.7)
else:
    fig = None
    print("AlexNet's weights are not on this machine; fetch them with: python -m lecture_utils fetch alexnet")
fig

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** We look at the first layer's weights as pictures. Why does the same not work for
# the weights of the second layer?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** A first-layer filter is a small patch in the same space as the image (k x k pixels,
# three colour channels). Its response to a patch of the photo is the sum of pixel times weight,
# high where the patch is bright under the filter's positive weights and dark under its
# negative ones: the picture of the filter is the pattern the unit looks for. A second-layer
# filter weights the first layer's 32 output maps, not colours: there is no picture to draw,
# and what it responds to depends on all the filters below. For deeper units we look at what they do instead: their
# activation maps (below), the photo patches that excite them most (notebook 02), or images
# optimised to excite them (notebook 04).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Activation maps: shallow, middle, deep
#
# One forward pass of the cat photo, keeping the output of three layers: their size, and how many
# of their values are negative or zero.

# %% [markdown] slideshow={"slide_type": "notes"}
# The printout says what kind of values each layer holds: the stem and the head end in a ReLU6,
# so none of their values is negative and many are zero.

# %% slideshow={"slide_type": "-"}
image = load_image("cat", size=224)
layers = ["stem", "stage4", "head"]
with torch.no_grad():
    acts = get_activations(model, image, layers)
for name, a in acts.items():
    print(f"{name:7s} {a.shape[1]:5d} channels of {a.shape[2]}x{a.shape[3]}: "
          f"{(a < 0).float().mean():.0%} of the values negative, {(a == 0).float().mean():.0%} zero")


# %% [markdown] slideshow={"slide_type": "slide"}
# ## Activation maps: the stem, shallow
#
# The cat photo and the 11 stem maps that vary most over it, each scaled on its own: dark blue is
# zero, yellow the map's largest value.

# %% [markdown] slideshow={"slide_type": "notes"}
# A layer has too many channels to show them all. We show, beside the input (drawn large), the
# 11 whose map varies most over the photo (the largest standard deviation over positions),
# leaving out the outermost ring of positions, where the zero padding alone makes some channels
# fire. Each map is scaled on its own: dark blue is zero, yellow the map's largest value.

# %% slideshow={"slide_type": "-"}
def most_varied(a, k=11):
    return a[0, :, 1:-1, 1:-1].flatten(1).std(dim=1).topk(k).indices.tolist()

def grid(a, title, **style):
    return plotting.activation_grid(a, channels=most_varied(a), ncols=5, size=2.4, image=image, image_span=2,
                                    fontsize=16, title=f"{title}: {a.shape[2]} x {a.shape[3]}", **style)

grid(acts["stem"], "stem, shallow", scale="zero")

# %% [markdown] slideshow={"slide_type": "notes"}
# Each stem map is one filter above, slid over the photo (then a batch norm and a ReLU6), and it
# is still a picture of the cat. Most of these channels (0, 5, 15, 21, 24, 27, 30) are bright on
# one side of the edges of the fur stripes, the eyes and the nose; channel 7 is brightest in the
# eyes; channel 6 on the nose, the rims of the eyes and the light fur; channel 2 is bright almost
# everywhere but the dark stripes; channel 26 fires on the background at the top left.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Activation maps: stage4's output, middle
#
# The cat photo and the five stage4 output maps that vary most over it: red positive, blue
# negative, white zero.

# %% [markdown] slideshow={"slide_type": "notes"}
# **stage4, middle.** The printout says stage4's output is signed (about half its values are
# negative) and has no zeros. EfficientNet's blocks end in a *linear bottleneck*: a 1x1
# convolution and a batch norm with no ReLU after it, to which a residual connection adds the
# block's input. In a diverging colour map (white zero, red positive, blue negative), even the
# five most varied output maps show little of the cat; the clearest trace is channel 18's red
# patch at the lower left, where the fur is light:

# %% slideshow={"slide_type": "-"}
stage4 = acts["stage4"]
plotting.activation_grid(stage4, channels=most_varied(stage4, 5), ncols=3, size=2.4, image=image,
                         fontsize=14, title="stage4 output (red > 0, blue < 0)", scale="symmetric",
                         cmap="RdBu_r")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Activation maps: inside stage4, middle
#
# The 11 most varied of the 480 maps inside stage4's last block, after its ReLU6; the printout
# counts their zeros.

# %% [markdown] slideshow={"slide_type": "notes"}
# The block's ReLU6s sit inside it: after its 1x1 convolution that widens 80 channels to 480,
# and after its 3x3 depthwise convolution on those 480. We keep the maps after the second one
# with a forward hook on the batch norm before it, and apply the ReLU6 ourselves (the exercise
# below writes such a hook):

# %% slideshow={"slide_type": "-"}
block = model.get_submodule(model.layers["stage4"])  # the stage's last block
inside = {}
keep = lambda module, inputs, output: inside.update(stage4=output.clamp(0, 6))  # the ReLU6
hook = block._bn1.register_forward_hook(keep)
try:
    with torch.no_grad():
        model(image)
finally:
    hook.remove()
print(f"inside stage4: {inside['stage4'].shape[1]} channels, "
      f"{(inside['stage4'] == 0).float().mean():.0%} of the values zero")
grid(inside["stage4"], "inside stage4, after the ReLU6, middle", scale="zero")

# %% [markdown] slideshow={"slide_type": "notes"}
# These maps are sparse, and several mark parts of the photo: channels 66 and 159 fire at
# the two eyes, channel 212 a little above them, channels 200 and 13 on the light fur at the lower left, channels 18 and 224 on the
# blurred background at the right, channel 203 over much of the face. Not all are about the
# photo: channel 365 fires along the border (the padding) and channel 379 in a grid pattern.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Activation maps: the head, deep
#
# The 11 most varied head maps, 7 x 11 positions each; the printout counts the channels that are
# silent for this photo.

# %% slideshow={"slide_type": "-"}
grid(acts["head"], "head, deep", scale="zero")

# %% [markdown] slideshow={"slide_type": "notes"}
# The head ends in a ReLU6 too. Its maps are coarse (7 x 11: every stride-2 layer halves them, so
# each position sees a large part of the image), and each of these channels fires on part of the
# photo and is zero (dark blue) elsewhere: several over the face (1044, 977, 809), some lower,
# around the nose and mouth (1156, 214), channel 1144 in a band at the height of the eyes,
# channels 420 and 1153 along the top. Most head channels do not fire at all:

# %% slideshow={"slide_type": "-"}
head = acts["head"][0]
print(f"head: {(head == 0).float().mean():.0%} of all values are zero; "
      f"{(head.amax(dim=(1, 2)) == 0).float().mean():.0%} of the 1280 channels are silent for this image")

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Most head channels are silent for this cat (all zeros). Does a silent channel
# tell the classifier anything?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Not directly. The classifier reads the average of every channel over positions,
# and each class's score (logit) is a weighted sum of those averages plus a bias: a silent
# channel's average is zero, so it adds nothing to any class's score. What silence does is
# withhold support: a channel that fires for dog snouts would have raised the "dog" scores and
# does not here. The scores for this cat are decided by the channels that fire (and the biases).

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: one layer's activations, with a hook
#
# `get_activations` uses **forward hooks**: a function registered on a module that PyTorch calls
# with `(module, inputs, output)` every time the module runs. Write the one-layer version: find
# the module (`model.layers` maps a short name to its path), register a hook that keeps its
# output, run the model, and **remove the hook again**, also when the forward pass fails
# (`try` / `finally`). A hook left behind would keep firing in every later call.

# %% slideshow={"slide_type": "skip"}
def layer_output(model, images, layer):
    """The output (N, C, h, w) of the layer `layer` (a key of model.layers) for images (N, 3, H, W)."""
    ### BEGIN SOLUTION
    module = model.get_submodule(model.layers[layer])
    kept = {}
    handle = module.register_forward_hook(lambda mod, inputs, output: kept.update(output=output))
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    return kept["output"]
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("layer_output", layer_output)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the size of a layer's map
#
# The stem turned the 224-pixel-high photo into maps of 112 rows: its 3x3 convolution moves 2
# pixels at a time over the input padded by 1 pixel on each side. Write the general rule: how
# many positions does a convolution (or a pooling) with this kernel, stride and padding have
# along one axis of `size` pixels? Count how many windows fit.

# %% slideshow={"slide_type": "skip"}
def conv_output_size(size, kernel, stride=1, padding=0):
    """The number of positions (an int) along one axis of a convolution's output."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("conv_output_size", conv_output_size)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick or upload an image, then move the **layer** and **channel** sliders.

# %% [markdown] slideshow={"slide_type": "notes"}
# The activations of every layer are computed once per image, so the sliders answer at once.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import ActivationExplorer
ActivationExplorer(model, image="cat", layer="stage3")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Live: the network watching a camera
#
# <small>After Yosinski et al. 2015 (the Deep Visualization Toolbox).</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The **live explorer** runs the network on every frame of a camera: press **Start camera**
# (the browser asks for permission), or pick or upload an image. It shows the top-5 classes,
# every activation map of one layer, and one unit, clicked in the grid or typed, large over the
# frame, beside its entry in the **unit atlas**: the image optimised to excite that unit
# (notebook 04) and the nine crops of photos that excite it most. Yosinski et al.'s Deep
# Visualization Toolbox (2015) showed these views for a desktop webcam.
#
# The kernel answers one frame at a time; while it works, the page skips camera frames instead
# of queueing them, so the pictures are never more than a frame behind. Without a camera, or on
# a page that is neither https nor localhost, the panel says so and works on images. Start with
# channel 20 of `stage5`, whose atlas crops are mostly animals, then click through the grid.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import LiveExplorer
LiveExplorer(model, image="cat", layer="stage5", channel=20)
