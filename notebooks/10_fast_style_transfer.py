# %% [markdown]
# # 10 · Fast feed-forward style transfer
#
# *Lecture: "Perceptual losses for real-time style transfer" (Johnson, Alahi and Fei-Fei 2016).*
#
# Gatys' style transfer (notebook 09) **optimises every image anew**: tens to hundreds of
# forward and backward passes through the loss network for each photo. Johnson et al. instead
# **train a network once per style** to do the same job in one forward pass. The network is
# trained on many photos to minimise exactly the loss Gatys' method minimises for one photo
# (content + style + TV, measured by a fixed, pretrained *loss network*), so it learns an
# *amortised* optimiser: after training, stylising costs a single forward pass.
#
# The networks here were trained by this project's own command on this kind of 2-core CPU in
# 17 to 20 minutes each, with the bundled EfficientNet as the loss network, and ship in
# `data/fast_style/` (0.87 MB each).

# %%
# %matplotlib inline
import time
from lecture_utils import load_image, load_model
from lecture_utils import fast_style as fs
from lecture_utils import style as st
from lecture_utils.images import resize_longer_side
from lecture_utils.plotting import show_images

model = load_model(device="cpu")        # the loss network: the bundled EfficientNet-Lite0
styles = fs.shipped_styles()
networks = {name: fs.load_style_network(name) for name in styles}
for name, net in networks.items():
    s = net.settings
    print(f"{name}: trained {net.steps_trained} steps on {s['photo_count']} photos, {s['size']} px crops, "
          f"batch {s['batch']}; weights content {s['content_weight']:g}, style {s['style_weight']:g}, TV {s['tv_weight']:g}")
print("parameters per network:", sum(p.numel() for p in networks[styles[0]].parameters()))

# %% [markdown]
# ## The network
#
# `TransformerNet` follows Johnson et al.: a 9x9 convolution, two stride-2 convolutions
# (downsampling by 4 makes each residual block see a large part of the image cheaply), five
# **residual blocks**, two **upsamplings by resize-then-convolve** (nearest-neighbour x2, then a
# 3x3 convolution: transposed convolutions overlap unevenly and leave checkerboard artefacts,
# Odena et al. 2016), and a 9x9 convolution back to RGB. **Instance normalisation** (Ulyanov et
# al. 2016) normalises each image's channels on its own, which removes the photo's contrast
# from what the network has to handle and made a large difference to quality in practice.
#
# Two choices differ from the paper, for a network trained in minutes on a CPU: channels 16,
# 32, 64 instead of 32, 64, 128; and the network predicts a *change* to the photo (output =
# sigmoid(logit(photo) + network(photo))), so it starts as the identity and only has to learn
# the stylisation.

# %%
print(networks[styles[0]].decoder)  # the way back up: resize, then convolve

# %% [markdown]
# ### Exercise: instance normalisation
#
# The normalisation inside every block of the network, without its learned scale and shift:
# for each image and each channel on its own, subtract the mean over the positions and divide by
# the square root of the variance (the biased one, as `nn.InstanceNorm2d`) plus `eps`.

# %%
import torch


def instance_norm(x, eps=1e-5):
    """(x - mean) / sqrt(var + eps), mean and variance over the positions (H, W) of each image's
    each channel. x (N, C, H, W); returns the same shape."""
    ### BEGIN SOLUTION
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)
    ### END SOLUTION


# %%
from lecture_utils.exercises import check
check("instance_norm", instance_norm)

# %% [markdown]
# **Question.** Why instance normalisation and not batch normalisation in a style network?

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** Batch norm normalises each channel with statistics of the whole batch, so an
# image's output depends on the other images in it, and at test time on averages from training.
# Instance norm uses each image's own statistics: it removes the photo's own contrast and
# brightness in every layer, which a stylisation should not depend on (Ulyanov et al. 2016), and
# the result is the same for an image alone or in any batch. The learned scale and shift after it
# are where the style lives; conditional instance norm (below) swaps them to switch styles.

# %% [markdown]
# ## One forward pass per photo
#
# Photos the networks never saw in training (they trained on other photos), each stylised by
# both networks: one forward pass each.

# %%
photos = {name: resize_longer_side(load_image(name), 256) for name in ("palace", "grace_hopper", "daisy", "astronaut")}
rows, titles = [], []
for name, photo in photos.items():
    rows += [photo] + [fs.stylize(net, photo) for net in networks.values()]
    titles += [name] + [f"{name} · {style}" for style in networks]
show_images(rows, titles, ncols=1 + len(networks), size=2.6)

# %% tags=["nbval-ignore-output"]
photo = load_image("palace", 512)[..., :512, :512]
net = networks[styles[0]]
fs.stylize(net, photo)  # the first call pays for memory allocation
start = time.perf_counter()
fs.stylize(net, photo)
print(f"512 x 512 px: {time.perf_counter() - start:.2f} s for one forward pass")

# %% [markdown]
# ## How many optimisation steps is one forward pass worth?
#
# The same photo and style, the same loss network and the same weights, optimised by Gatys'
# method with L-BFGS from the photo. Both are scored by the same loss. Johnson et al. report
# that their networks, trained for hours on a GPU over 80,000 photos, match 50 to 100 steps;
# ours, trained for 17 to 20 minutes on a CPU over 12 photos, match far fewer: between 1 and 12
# on the photos below (the tests hold them to 3 on average, on photos they never saw).

# %%
content, style_name = photos["palace"], styles[0]
net = networks[style_name]
weights = {k: net.settings[k] for k in ("content_weight", "style_weight", "tv_weight")}
style_image = load_image(net.settings["style_image"])
grams, settings = fs.loss_targets(model, style_image, 256, **weights)

start = time.perf_counter()
fast = fs.stylize(net, content)
fast_seconds = time.perf_counter() - start
start = time.perf_counter()
gatys_images = [step.image for step in st.style_transfer(model, content, style_image, size=256, steps=50, **weights)]
gatys_seconds = time.perf_counter() - start

fast_loss = fs.batch_loss(model, fast, content, grams, settings)[0].item()
gatys_losses = [fs.batch_loss(model, image, content, grams, settings)[0].item() for image in gatys_images]
print("feed-forward loss <= loss after 3 L-BFGS steps:", fast_loss <= gatys_losses[2])

# %% tags=["nbval-ignore-output"]
import matplotlib.pyplot as plt
worth = next((i + 1 for i, loss in enumerate(gatys_losses) if loss <= fast_loss), len(gatys_losses))
print(f"feed-forward: loss {fast_loss:.2f} in {fast_seconds:.2f} s; Gatys: loss {gatys_losses[worth - 1]:.2f} after "
      f"{worth} steps, {gatys_losses[-1]:.2f} after 50 steps in {gatys_seconds:.1f} s")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, len(gatys_losses) + 1), gatys_losses, label="Gatys, L-BFGS")
ax.axhline(fast_loss, color="C1", linestyle="--", label="feed-forward network")
ax.set(xlabel="L-BFGS steps", ylabel="perceptual loss", yscale="log")
ax.legend()
plt.show()
show_images([content, fast, gatys_images[worth - 1], gatys_images[-1]],
            ["photo", f"feed-forward, {fast_seconds:.2f} s", f"Gatys, {worth} steps", f"Gatys, 50 steps, {gatys_seconds:.0f} s"],
            ncols=4, size=2.6)

# %% [markdown]
# What to look for: one forward pass does the work of a few L-BFGS steps in about a thirtieth
# of the time of 50. The network applies what it learned on average over its training photos:
# strokes and colours everywhere, and streaks where a short training has not yet learned to
# keep the content; Gatys' method, given 50 steps, fits this one photo much more closely.
# Johnson et al. trained 40,000 steps over COCO's 80,000 photos, 30 times more steps on 7,000
# times more photos: `train-style` runs such a training on any folder of photos, on a GPU.
#
# ## Strength
#
# Blending the result with the photo (`strength`) is the cheapest control there is; Johnson's
# network itself has none (to change the style weight, train again).

# %%
blends = [fs.stylize(networks[styles[0]], photos["grace_hopper"], strength=s) for s in (0.0, 0.33, 0.67, 1.0)]
show_images(blends, [f"strength {s}" for s in (0.0, 0.33, 0.67, 1.0)], ncols=4, size=2.4)

# %% [markdown]
# ## What it cannot do, and what came next
#
# - **One network per style.** A new style means a new training run (here 20 minutes on a CPU;
#   hours on a GPU for Johnson's full-size network on 80,000 COCO photos).
# - **Fixed weights.** The balance of content and style is baked in; only blending is left.
# - **Its own stroke size.** The network learned strokes at its training size; a larger input
#   gets relatively smaller strokes.
#
# Later work lifts the first limit: **conditional instance normalisation** (Dumoulin, Shlens
# and Kudlur 2017) learns one scale and shift per style for every instance-norm layer, so one
# network holds many styles and can mix them; **AdaIN** (Huang and Belongie 2017) takes the
# scale and shift from the style image's own feature statistics, so any style works with no
# training at all.
#
# ## Train your own
#
# ```
# python -m lecture_utils train-style cafe_terrace --images FOLDER --out my_style.pt
# ```
#
# `FOLDER` is any folder of photos (or `imagenette` once fetched); 1200 steps by default, about 17 minutes on a 2-core CPU. Progress is printed; the
# training state is saved every 25 steps, and running the same command again resumes. The
# exact commands behind the shipped networks are in `data/fast_style/README.md`.
#
# ## Try it
#
# Pick or upload a picture, choose a style and the strength: each picture and style costs one
# forward pass, and the strength slider only blends.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import FastStylePanel
FastStylePanel(image="palace")
