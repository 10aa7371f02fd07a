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
# scaled to [0, 1] on its own, so grey means zero weight. Even at 3x3 one can see the
# lecture's first family clearly: **colour blobs**, many of them one hue against another; a few
# filters have a dark side against a light side, the seed of the **oriented edges** that
# AlexNet's larger filters show plainly.

# %%
stem_conv = model.get_submodule(model.layers["stem"])[0]
print("first layer:", tuple(stem_conv.weight.shape), "(filters, RGB, height, width)")
plotting.filter_grid(stem_conv.weight, ncols=16, size=0.55)

# %% [markdown]
# The lecture's figure shows AlexNet's 64 filters of 11x11 pixels (Krizhevsky et al. 2012), large
# enough to show Gabor-like edges at many orientations and colour blobs. They appear here when
# AlexNet's weights have been fetched (`python -m lecture_utils fetch alexnet`).

# %% tags=["nbval-ignore-output"]
if is_cached("alexnet"):
    alexnet = load_model("alexnet", device="cpu")
    fig = plotting.filter_grid(alexnet.net.features[0].weight, ncols=16, size=0.7)
else:
    fig = None
    print("AlexNet's weights are not on this machine; fetch them with: python -m lecture_utils fetch alexnet")
fig

# %% [markdown]
# ## Activation maps: shallow, middle, deep
#
# One forward pass of the cat photo, keeping the output of three layers. Each small map is one
# channel, scaled on its own (yellow = strongest); shown are the 16 channels with the largest
# mean activation.

# %%
image = load_image("cat", size=224)
layers = ["stem", "stage4", "head"]
with torch.no_grad():
    acts = get_activations(model, image, layers)
for name, a in acts.items():
    print(f"{name:7s} {a.shape[1]:5d} channels of {a.shape[2]}x{a.shape[3]}")
plotting.show_images([image], titles=["input"], ncols=1, size=2.5)


# %%
def strongest(a, k=16):
    return a[0].mean(dim=(1, 2)).topk(k).indices.tolist()

def grid(name, depth):
    a = acts[name]
    title = f"{name}: {a.shape[2]} x {a.shape[3]}, {depth}"
    return plotting.activation_grid(a, channels=strongest(a), ncols=8, title=title)

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
