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
# The networks here are **small demonstration networks**: trained by this project's own command
# on this kind of 2-core CPU in 17 to 20 minutes each, on 12 photos, with the bundled
# EfficientNet as the loss network (0.87 MB each, in `data/fast_style/`). They show how the
# method works; their pictures have streaks and colour blotches that Johnson et al.'s do not,
# and the end of this notebook shows why.

# %%
# %matplotlib inline
import time
from lecture_utils import load_image, load_model
from lecture_utils import fast_style as fs
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
# Two photos the networks never saw in training, each stylised by both networks: one forward
# pass each. Both take the painting's palette and short strokes, and both leave vertical streaks
# and patches of saturated colour (magenta and blue) where the photo is flat.

# %%
photos = {name: resize_longer_side(load_image(name), 256) for name in ("palace", "grace_hopper")}
rows, titles = [], []
for name, photo in photos.items():
    rows += [photo] + [fs.stylize(net, photo) for net in networks.values()]
    titles += [name] + [f"{name} · {style}" for style in networks]
show_images(rows, titles, ncols=1 + len(networks), size=3.2)

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
# ours, trained for 17 to 20 minutes on a CPU over 12 photos, match far fewer: between 2 and 12
# on four photos they never saw, about 6 on average.

# %%
content, net = photos["palace"], networks[styles[0]]
start = time.perf_counter()
run = fs.against_gatys(model, net, content, steps=50)  # the same loss, weights and style image
seconds = time.perf_counter() - start
fast_loss, gatys_losses, worth = run["fast_loss"], run["gatys_losses"], run["steps_matched"]
print("feed-forward loss <= loss after 3 L-BFGS steps:", fast_loss <= gatys_losses[2])

# %% tags=["nbval-ignore-output"]
import matplotlib.pyplot as plt
print(f"feed-forward: loss {fast_loss:.2f}; Gatys: loss {gatys_losses[worth - 1]:.2f} after {worth} steps, "
      f"{gatys_losses[-1]:.2f} after 50 steps ({seconds:.1f} s for both)")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, len(gatys_losses) + 1), gatys_losses, label="Gatys, L-BFGS")
ax.axhline(fast_loss, color="C1", linestyle="--", label="feed-forward network")
ax.set(xlabel="L-BFGS steps", ylabel="perceptual loss", yscale="log")
ax.legend()
plt.show()
show_images([content, run["fast"], run["gatys"][worth - 1], run["gatys"][-1]],
            ["photo", "feed-forward, one pass", f"Gatys, {worth} steps", "Gatys, 50 steps"],
            ncols=4, size=2.6)

# %% [markdown]
# What to look for: one forward pass does the work of a few to a dozen L-BFGS steps, in a small
# fraction of the time of 50. The network applies what it learned on average over its training
# photos: strokes and colours everywhere, and streaks where the photo is flat; Gatys' method,
# given 50 steps, fits this one photo much more closely.
#
# ## Strength
#
# Blending the result with the photo (`strength`) is the cheapest control there is; Johnson's
# network itself has none (to change the style weight, train again).

# %%
blends = [fs.stylize(networks[styles[0]], photos["grace_hopper"], strength=s) for s in (0.0, 0.33, 0.67, 1.0)]
show_images(blends, [f"strength {s}" for s in (0.0, 0.33, 0.67, 1.0)], ncols=4, size=2.4)

# %% [markdown]
# ## Why the streaks and blotches?
#
# Not for lack of capacity. Below, the café network is trained further on **one photo** (the
# daisy, the unseen photo it does worst on) with the same loss: 300 Adam steps, each one
# forward pass, the loss, and one backward pass, as in training. Within those steps it reaches
# the loss Gatys' method reaches in 50.

# %%
import copy

daisy = resize_longer_side(load_image("daisy"), 256)
daisy = daisy[..., :daisy.shape[-2] // 4 * 4, :daisy.shape[-1] // 4 * 4]  # the network's multiple of 4
net = networks[styles[0]]
grams, settings = fs.trained_loss_targets(model, net, 256)  # the loss the network was trained on
tuned = copy.deepcopy(net).float().train().requires_grad_(True)  # the shipped network stays as it is
adam = torch.optim.Adam(tuned.parameters(), lr=1e-3)
for step in range(300):
    loss = fs.batch_loss(model, tuned(daisy), daisy, grams, settings)[0]
    adam.zero_grad()
    loss.backward()
    adam.step()
tuned.eval().requires_grad_(False)
run = fs.against_gatys(model, net, daisy, steps=50)
tuned_image = fs.stylize(tuned, daisy)
tuned_loss = fs.batch_loss(model, tuned_image, daisy, grams, settings)[0].item()
print("trained on this photo alone, loss <= Gatys' after 50 steps:", tuned_loss <= run["gatys_losses"][-1])

# %% tags=["nbval-ignore-output"]
show_images([daisy, run["fast"], tuned_image, run["gatys"][-1]],
            ["photo", f"shipped network, loss {run['fast_loss']:.1f}", f"trained on this photo, loss {tuned_loss:.1f}",
             f"Gatys, 50 steps, loss {run['gatys_losses'][-1]:.1f}"], ncols=4, size=2.6)

# %% [markdown]
# What to look for: the shipped network covers the daisy's dark background in blue and green
# streaks and puts a dark, magenta hole in the flower. Trained on this photo alone, it reaches
# Gatys' loss, and yet it keeps streaks and a magenta patch where Gatys' image has none. So
# the **loss allows these artefacts**: with this loss network, many images score as well as
# Gatys', some of them full of streaks. Gatys' method starts at the photo and follows the
# gradient from there to one without them; the network, trained from its own start, ends at
# another, and on photos it never trained on its loss is higher still. Training longer (3.3
# times the steps on a GPU), on more photos (73) or with a stronger smoothness term did not
# remove them (`data/fast_style/README.md`); Johnson et al. used VGG-16 as the loss network,
# which this offline project cannot download.

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
# `FOLDER` is any folder of photos (or `imagenette` once fetched); 1200 steps by default, about
# 17 minutes on a 2-core CPU. Progress is printed; the training state is saved every 25 steps,
# and running the same command again resumes. The
# exact commands behind the shipped networks are in `data/fast_style/README.md`.
#
# ## Try it
#
# Pick or upload a picture, choose a style and the strength: each picture and style costs one
# forward pass, and the strength slider only blends.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import FastStylePanel
FastStylePanel(image="palace")

# %% [markdown]
# ## How this notebook is checked
#
# `tests/test_fast_style.py` checks that each shipped network lowers the loss of four photos it
# never saw (the palace, Grace Hopper, the daisy, the astronaut) and beats 3 Gatys steps on their
# sum, that training lowers the loss and resumes exactly after an interruption, and that bad
# settings are refused before any step; `make bench` reports how many Gatys steps one forward
# pass is worth. The stored outputs are those of a
# top-to-bottom run on a CPU, which the checks compare with a fresh run.
