# %% [markdown]
# # 01 · First-layer filters and activation maps
#
# *Lecture: "What's going on inside ConvNets?" First layer: visualise the filters; intermediate
# layers: visualise the activations.*
#
# The first layer of a CNN looks at raw pixels, so its weights can be shown as small images.
# Deeper layers see the output of earlier ones, so their weights mean little to the eye; for
# them we look at **activation maps**: what each channel computes for one image.

# %%
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image, get_activations
from lecture_utils.models import is_cached
from lecture_utils import plotting

model = load_model(device="cpu")

# %% [markdown]
# ## First-layer filters
#
# The bundled EfficientNet-Lite0 starts with 32 filters of 3x3 pixels (stride 2). Each filter is
# scaled on its own and symmetrically around zero: mid-grey is a zero weight, a pixel brighter
# than grey in one colour channel is a positive weight on that colour, darker a negative one,
# and the filter's largest weight reaches full brightness (or black). Even at 3x3 one can see the
# lecture's first family clearly: **colour blobs**, many of them one hue against another; a few
# filters have a dark side against a light side, the seed of the **oriented edges** that
# AlexNet's larger filters show plainly.

# %%
stem_conv = model.get_submodule(model.layers["stem"])[0]
print("first layer:", tuple(stem_conv.weight.shape), "(filters, RGB, height, width)")
plotting.filter_grid(stem_conv.weight, ncols=16, size=0.6)

# %% [markdown]
# ### Exercise: scale filters for display
#
# A filter's weights are small signed numbers; an image needs values in [0, 1]. Write the scaling
# `plotting.filter_grid` uses: each filter on its own, symmetrically around zero, so that a zero
# weight is mid-grey (0.5) and the filter's largest |weight| reaches 0 or 1. The cell after it
# checks your function on filters it picks and, if something is off, says what.

# %%
def normalize_filters(weights):
    """Filters (C_out, C_in, k, k) -> the same shape in [0, 1]: 0.5 + 0.5 * w / max|w|, with the
    maximum taken over each filter's own values (all its channels)."""
    ### BEGIN SOLUTION
    scale = weights.abs().amax(dim=(1, 2, 3), keepdim=True)
    return 0.5 + 0.5 * weights / scale
    ### END SOLUTION


# %%
from lecture_utils.exercises import check
check("normalize_filters", normalize_filters)

# %% [markdown]
# The lecture's figure shows the 96 first-layer filters, 11x11 pixels each, of the original
# AlexNet (Krizhevsky et al. 2012), which was split over two GPUs with 48 filters each.
# torchvision's AlexNet, the one this course loads, is the one-GPU version of Krizhevsky (2014)
# and has 64 such filters. Both are large enough to show Gabor-like edges at many orientations
# and colour blobs. torchvision's 64 appear here when AlexNet's weights have been fetched
# (`python -m lecture_utils fetch alexnet`).

# %% tags=["nbval-ignore-output"]
if is_cached("alexnet"):
    alexnet = load_model("alexnet", device="cpu")
    fig = plotting.filter_grid(alexnet.net.features[0].weight, ncols=16, size=0.7)
else:
    fig = None
    print("AlexNet's weights are not on this machine; fetch them with: python -m lecture_utils fetch alexnet")
fig

# %% [markdown]
# **Question.** We look at the first layer's weights as pictures. Why does the same not work for
# the weights of the second layer?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** A first-layer filter is a small patch in the same space as the image (k x k pixels,
# three colour channels): the patch that excites it most, for a given brightness, is the filter
# itself, so the picture says what the unit looks for. A second-layer filter weights the first
# layer's 32 output maps, not colours: there is no picture to draw, and what it responds to
# depends on all the filters below. For deeper units we look at what they do instead: their
# activation maps (below), the photo patches that excite them most (notebook 02), or images
# optimised to excite them (notebook 04).

# %% [markdown]
# ## Activation maps: shallow, middle, deep
#
# One forward pass of the cat photo, keeping the output of three layers. Each map is one
# channel, scaled on its own (yellow = strongest, dark blue = weakest); shown, after the input,
# are the 11 channels with the largest mean activation.

# %%
image = load_image("cat", size=224)
layers = ["stem", "stage4", "head"]
with torch.no_grad():
    acts = get_activations(model, image, layers)
for name, a in acts.items():
    print(f"{name:7s} {a.shape[1]:5d} channels of {a.shape[2]}x{a.shape[3]}")


# %%
def strongest(a, k=11):
    return a[0].mean(dim=(1, 2)).topk(k).indices.tolist()

def grid(name, depth):
    a = acts[name]
    title = f"{name}: {a.shape[2]} x {a.shape[3]}, {depth}"
    return plotting.activation_grid(a, channels=strongest(a), ncols=4, size=2.4, title=title,
                                    image=image, fontsize=14)

grid("stem", "shallow")

# %% [markdown]
# The stem's maps are still images: edges of one orientation, fur texture, the bright eyes,
# colour regions. Each is a filter above, slid over the photo.

# %%
grid("stage4", "middle")

# %%
grid("head", "deep")

# %% [markdown]
# The middle maps look like noise, and that is a property of this network, not of deep layers:
# EfficientNet's stage outputs are *linear bottlenecks* (no ReLU after the last convolution of a
# block, and a running sum of residual connections), so their values are signed and dense.
# AlexNet's and VGG's conv layers end in a ReLU and look sparser at the same depth.
#
# The head ends in a ReLU6 again, and there the lecture's picture returns: the maps are coarse
# (7 x 11; every stride-2 stage halves them, so each position sees a large part of the image)
# and each channel fires on a region of the cat, or not at all:

# %%
head = acts["head"][0]
print(f"head: {(head == 0).float().mean():.0%} of all values are zero; "
      f"{(head.amax(dim=(1, 2)) == 0).float().mean():.0%} of the 1280 channels are silent for this image")

# %% [markdown]
# **Question.** Most head channels are silent for this cat (all zeros). Does a silent channel
# tell the classifier anything?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** Yes: that its pattern is absent. The classifier reads the average of every channel,
# and a zero is a value like any other: a channel that fires for dog snouts or car wheels and
# stays silent here is evidence against those classes. Sparse codes are also easy to read: the
# few channels that do fire say most of what the image holds.

# %% [markdown]
# ### Exercise: one layer's activations, with a hook
#
# `get_activations` uses **forward hooks**: a function registered on a module that PyTorch calls
# with `(module, inputs, output)` every time the module runs. Write the one-layer version: find
# the module (`model.layers` maps a short name to its path), register a hook that keeps its
# output, run the model, and **remove the hook again**, also when the forward pass fails
# (`try` / `finally`). A hook left behind would keep firing in every later call.

# %%
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


# %%
check("layer_output", layer_output)

# %% [markdown]
# ### Exercise: the size of a layer's map
#
# The stem turned the 224-pixel-high photo into maps of 112 rows: its 3x3 convolution moves 2
# pixels at a time over the input padded by 1 pixel on each side. Write the general rule: how
# many positions does a convolution (or a pooling) with this kernel, stride and padding have
# along one axis of `size` pixels? Count how many windows fit.

# %%
def conv_output_size(size, kernel, stride=1, padding=0):
    """The number of positions (an int) along one axis of a convolution's output."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


# %%
check("conv_output_size", conv_output_size)

# %% [markdown]
# A deep channel is a detector that stays silent unless its pattern is there. The average of
# each head channel over positions is what the linear classifier reads.
#
# ## Try it
#
# Pick or upload an image, then move the **layer** and **channel** sliders. The activations of
# every layer are computed once per image, so the sliders answer at once.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import ActivationExplorer
ActivationExplorer(model, image="cat", layer="stage3")

# %% [markdown]
# ## How this notebook is checked
#
# Before it is stored, this notebook is run top to bottom on a CPU; the tests run it again and
# compare every printed output (cells whose results differ between machines are left out), and
# `tests/test_activations.py` tests the functions it calls.
