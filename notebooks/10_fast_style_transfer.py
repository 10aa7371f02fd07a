# %% [markdown] slideshow={"slide_type": "slide"}
# # 10 · Fast feed-forward style transfer
#
# A network trained once per style stylises a photo in one forward pass.
# <small>After Johnson, Alahi and Fei-Fei 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: "Perceptual losses for real-time style transfer" (Johnson, Alahi and Fei-Fei 2016).*
#
# Gatys' style transfer (notebook 09) **optimises every image anew**: tens to hundreds of
# forward and backward passes through the loss network for each photo. Johnson et al. instead
# **train a network once per style** to do the same job in one forward pass. The network is
# trained on many photos to minimise exactly the loss Gatys' method minimises for one photo
# (content + style + TV, measured by a fixed, pretrained *loss network*), so it learns an
# *amortised* optimiser: after training, stylising costs a single forward pass.
#
# The two networks here are **small demonstration networks** (printed below): trained for 1200
# steps on 12 photos, with the bundled EfficientNet-Lite0 as the loss network, where Johnson et
# al. trained for 40,000 steps on 80,000 photos with VGG-16. Their pictures have streaks and
# blotches of colour that Johnson et al.'s do not; the last figures show what limits them.

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import time
from lecture_utils import load_image, load_model
from lecture_utils import fast_style as fs
from lecture_utils.images import resize_longer_side
from lecture_utils.plotting import image_table, large_beside_small, show_images

model = load_model(device="cpu")        # the loss network: the bundled EfficientNet-Lite0
styles = fs.shipped_styles()
networks = {name: fs.load_style_network(name) for name in styles}
for name, net in networks.items():
    s = net.settings
    print(f"{name}: trained {net.steps_trained} steps on {s['photo_count']} photos, {s['size']} px crops, "
          f"batch {s['batch']}; weights content {s['content_weight']:g}, style {s['style_weight']:g}, TV {s['tv_weight']:g}")
print("parameters per network:", sum(p.numel() for p in networks[styles[0]].parameters()))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The network
#
# Johnson et al.'s layout: a 9x9 convolution, two stride-2 convolutions, five residual blocks,
# two upsamplings by 2, a 9x9 convolution back to RGB. Changed here: the upsampling, the
# normalisation, fewer channels, and the output.
# <small>After Johnson, Alahi and Fei-Fei 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# `TransformerNet` has the layout of Johnson et al.'s network: a 9x9 convolution, two stride-2
# convolutions (downsampling by 4 makes each residual block see a large part of the image
# cheaply), five **residual blocks**, two upsamplings by 2, and a 9x9 convolution back to RGB.
# Four of its choices differ from the paper:
#
# - **Upsampling by resize-then-convolve** (nearest-neighbour x2, then a 3x3 convolution)
#   instead of Johnson et al.'s fractionally strided (transposed) convolutions, which overlap
#   unevenly and can leave checkerboard artefacts: the fix of Odena, Dumoulin and Olah (2016,
#   "Deconvolution and checkerboard artifacts").
# - **Instance normalisation** (Ulyanov, Vedaldi and Lempitsky 2016) instead of Johnson et al.'s
#   batch normalisation: each image's channels are normalised on their own; Ulyanov et al.
#   report markedly better stylisations from this change alone.
# - **Channels 16, 32, 64** instead of 32, 64, 128, for a short training on a CPU.
# - **The output is a change to the photo**: sigmoid(logit(photo) + network(photo)) instead of a
#   scaled tanh of the network's output, so the untrained network returns the photo and
#   training only has to learn the stylisation.
#
# The first two come from later work that improved the pictures; the last two make the network
# small and quick to train. The network's way back up, printed below:

# %% slideshow={"slide_type": "notes"}
print(networks[styles[0]].decoder)  # the way back up: resize, then convolve

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: instance normalisation
#
# The normalisation inside every block of the network, without its learned scale and shift:
# for each image and each channel on its own, subtract the mean over the positions and divide by
# the square root of the variance (the biased one, as `nn.InstanceNorm2d`) plus `eps`.

# %% slideshow={"slide_type": "skip"}
import torch


def instance_norm(x, eps=1e-5):
    """(x - mean) / sqrt(var + eps), mean and variance over the positions (H, W) of each image's
    each channel. x (N, C, H, W); returns the same shape."""
    ### BEGIN SOLUTION
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("instance_norm", instance_norm)

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Why instance normalisation and not batch normalisation in a style network?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Batch norm normalises each channel with statistics of the whole batch, so an
# image's output depends on the other images in it, and at test time on averages from training.
# Instance norm uses each image's own statistics: it removes the photo's own contrast and
# brightness in every layer, which a stylisation should not depend on (Ulyanov et al. 2016), and
# the result is the same for an image alone or in any batch. The learned scale and shift after it
# are where the style lives; conditional instance norm (below) swaps them to switch styles.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Where the networks work best: the palace in the style of the café
#
# The network's one forward pass against Gatys' method with the same loss (L-BFGS from the
# photo): after as many steps as it takes to reach the network's loss, and after 50. Printed:
# the losses and times.
# <small>After Johnson, Alahi and Fei-Fei 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The same loss network, style image and weights as the network was trained with, optimised by
# Gatys' method with L-BFGS from the photo; both pictures are scored by the same loss. Of the
# four photos the networks never saw in training and the two styles (all eight in the next
# section), the café network on the palace is worth the most L-BFGS steps. Below: its picture
# beside Gatys' after as many steps as it takes to reach the network's loss, and after 50.
# Printed: the losses and the time each took here.

# %% tags=["nbval-ignore-output", "thumbnail"] slideshow={"slide_type": "-"}
def multiple_of_4(image):  # the networks' input size; stylize would pad, the training below would not
    return image[..., :image.shape[-2] // 4 * 4, :image.shape[-1] // 4 * 4]


photos = {name: multiple_of_4(resize_longer_side(load_image(name), 256)) for name in fs.UNSEEN_PHOTOS}
fs.stylize(networks["cafe_terrace"], photos["palace"])  # the first call pays for memory allocation
best = fs.against_gatys(model, networks["cafe_terrace"], photos["palace"], steps=50)
worth = best["steps_matched"]
print(f"network, one forward pass: loss {best['fast_loss']:.2f} in {best['fast_seconds']:.2f} s")
print(f"Gatys, {worth} L-BFGS steps:    loss {best['gatys_losses'][worth - 1]:.2f} in {best['gatys_seconds'][worth - 1]:.1f} s")
print(f"Gatys, 50 L-BFGS steps:    loss {best['gatys_losses'][-1]:.2f} in {best['gatys_seconds'][-1]:.1f} s")
image_table([[photos["palace"], resize_longer_side(load_image("cafe_terrace"), 256), best["fast"]],
             [best["gatys"][worth - 1], best["gatys"][-1]]],
            titles=[["photo", "style", "network, one forward pass"], [f"Gatys, {worth} steps (equal loss)", "Gatys, 50 steps"]],
            size=3.6, fontsize=14)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Gatys' loss, step by step
#
# Gatys' loss after each L-BFGS step (log scale); dashed: the network's loss after one forward
# pass. Printed: the time of one forward pass at 512 x 512 px.

# %% slideshow={"slide_type": "-"}
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(8.5, 3.4))
ax.plot(range(1, len(best["gatys_losses"]) + 1), best["gatys_losses"], label="Gatys, L-BFGS")
ax.axhline(best["fast_loss"], color="C1", linestyle="--", label="network, one forward pass")
ax.set_xlabel("L-BFGS steps", fontsize=13)
ax.set_ylabel("perceptual loss", fontsize=13)
ax.set_yscale("log")
ax.legend(fontsize=12)
plt.show()

# %% [markdown] slideshow={"slide_type": "notes"}
# On this photo one forward pass reaches the loss that Gatys' method reaches only after several
# L-BFGS steps (where the curve crosses the dashed line), in a small fraction of their time
# (printed above), but the two pictures of equal loss look different: Gatys' is still the
# photo, with pale violet strokes over the sky and the trees; the network's is covered in the
# painting's yellow and violet, with vertical streaks through the palace, the sky and the trees
# and a magenta-and-blue streak at the bottom right. Given 50 steps, Gatys' method goes on to a
# much lower loss (the curve above) and the painting's colours without streaks. What each
# costs: the network, one forward pass per photo after a training run per style (1200 steps
# here); Gatys' method, tens of steps per photo and no training. At 512 x 512 px one forward
# pass takes:

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
photo = load_image("palace", 512)[..., :512, :512]
net = networks["cafe_terrace"]
fs.stylize(net, photo)  # the first call pays for memory allocation
start = time.perf_counter()
fs.stylize(net, photo)
print(f"512 x 512 px: {time.perf_counter() - start:.2f} s for one forward pass")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Four photos, two styles
#
# Photos the networks never saw, at 256 px. Above each network's picture: how many L-BFGS steps
# its one forward pass is worth, and its loss.
# <small>After Johnson, Alahi and Fei-Fei 2016.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Johnson et al. report that one forward pass of their networks reaches the loss of 50 to 100
# L-BFGS steps. Above each of ours: the number of steps one forward pass is worth on a photo
# they never saw (15 steps are enough to find it; the palace's café run is the one above), and
# the network's loss.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
runs = {}
for photo, image in photos.items():
    for style, net in networks.items():
        if (photo, style) == ("palace", "cafe_terrace"):
            runs[photo, style] = best
        else:  # the daisy's café run, used again at the end, goes on to 50 steps
            runs[photo, style] = fs.against_gatys(model, net, image, steps=50 if (photo, style) == ("daisy", "cafe_terrace") else 15)


def worth_text(run):
    return str(run["steps_matched"]) if run["steps_matched"] <= len(run["gatys"]) else f">{len(run['gatys'])}"


short = {"cafe_terrace": "café", "church_auvers": "church"}
image_table([list(photos.values())] + [[runs[p, s]["fast"] for p in photos] for s in networks],
            row_labels=["photo"] + [short.get(s, s) for s in networks],
            titles=[[p.replace("_", " ") for p in photos]]
            + [[f"{worth_text(runs[p, s])} steps, loss {runs[p, s]['fast_loss']:.1f}" for p in photos] for s in networks],
            size=2.7, fontsize=16)

# %% [markdown] slideshow={"slide_type": "notes"}
# One forward pass is worth far fewer steps than Johnson et al.'s 50 to 100: most on the palace
# with the café, least on Grace Hopper with the church. The artefacts are not only where the
# photo is flat. Vertical streaks run through the palace, its sky and its trees, through Grace
# Hopper's face and the flag, through the astronaut's hair and face, and through the daisy's
# dark background. The café network puts saturated magenta and blue on
# Grace Hopper's mouth and chin, on the astronaut's suit at the lower left, and in the daisy's
# centre; the church network turns the palace and the daisy's centre almost black and puts a
# blue glow on Grace Hopper's shirt.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Strength
#
# Grace Hopper through the café network, blended with the photo: `strength` 0, 0.33, 0.67 and 1.

# %% [markdown] slideshow={"slide_type": "notes"}
# Blending the result with the photo (`strength`) is the cheapest control there is; Johnson's
# network itself has none (to change the style weight, train again).

# %% slideshow={"slide_type": "-"}
blends = [fs.stylize(networks[styles[0]], photos["grace_hopper"], strength=s) for s in (0.0, 0.33, 0.67, 1.0)]
show_images(blends, [f"strength {s}" for s in (0.0, 0.33, 0.67, 1.0)], ncols=4, size=2.6, fontsize=13)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What limits these networks
#
# Left: the daisy and the shipped café network's picture. Right: that network trained further
# on this photo alone with the same loss (300 Adam steps), and Gatys' 50 steps. Each with its loss.

# %% [markdown] slideshow={"slide_type": "notes"}
# Below, the café network is trained further on **one photo**, the daisy (its highest loss of
# the four), with the same loss: 300 Adam steps, each one forward pass, the loss, and one
# backward pass, as in training. The shipped network is left as it is.

# %% slideshow={"slide_type": "-"}
import copy

daisy, net = photos["daisy"], networks["cafe_terrace"]
grams, settings = fs.trained_loss_targets(model, net, 256)  # the loss the network was trained on
tuned = copy.deepcopy(net).float().train().requires_grad_(True)  # the shipped network stays as it is
adam = torch.optim.Adam(tuned.parameters(), lr=1e-3)
for step in range(300):
    loss = fs.batch_loss(model, tuned(daisy), daisy, grams, settings)[0]
    adam.zero_grad()
    loss.backward()
    adam.step()
tuned.eval().requires_grad_(False)
run = runs["daisy", "cafe_terrace"]
tuned_image = fs.stylize(tuned, daisy)
tuned_loss = fs.batch_loss(model, tuned_image, daisy, grams, settings)[0].item()
print("trained on this photo alone, loss <= Gatys' after 50 steps:", tuned_loss <= run["gatys_losses"][-1])

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
large_beside_small([daisy, run["fast"]], [tuned_image, run["gatys"][-1]],
                   ["photo", f"shipped network\nloss {run['fast_loss']:.1f}"],
                   [f"trained on this photo, loss {tuned_loss:.1f}", f"Gatys, 50 steps, loss {run['gatys_losses'][-1]:.1f}"],
                   size=1.8, large_height=3.2, fontsize=16)

# %% [markdown] slideshow={"slide_type": "notes"}
# What to look for: the shipped network covers the daisy's dark background in blue and green
# vertical streaks and puts a magenta and blue hole in the flower's centre. Trained on this
# photo alone, its loss ends no higher than that of Gatys' 50 steps (printed above), and yet its
# picture has bright vertical streaks over the background and the flower, a dark patch at the
# left and a magenta blot in the centre; Gatys' picture has only faint vertical banding in the
# background, and a whole flower. **So this loss tolerates streaks: here a picture full of them
# (large, left) scores no worse than Gatys' (large, right), and minimising the loss on this
# photo did not remove them.** The shipped network's loss on the daisy, a photo it never saw, is
# far higher than both (the titles above). Johnson et al. used VGG-16 as the loss
# network; its weights must be fetched (`python -m lecture_utils fetch vgg16`) and were not
# available where the shipped networks were trained, so these use the bundled EfficientNet.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What it cannot do, and what came next
#
# One network per style, and fixed weights (only blending is left). Later: one network for
# many styles (conditional instance normalisation), and one decoder for any style image (AdaIN).
# <small>Dumoulin, Shlens and Kudlur 2017; Huang and Belongie 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# - **One network per style.** A new style means a new training run (here 1200 steps on
#   batches of four 256 px crops; Johnson et al.'s 40,000 steps on 80,000 COCO photos took
#   hours on a GPU).
# - **Fixed weights.** The balance of content and style is baked in; only blending is left.
#
# Later work lifts the first limit: **conditional instance normalisation** (Dumoulin, Shlens
# and Kudlur 2017) learns one scale and shift per style for every instance-norm layer, so one
# network holds many styles and can mix them; **AdaIN** (Huang and Belongie 2017) takes the
# scale and shift from the style image's own feature statistics: one decoder, trained once on
# many photos and paintings, then serves any style image, with no network trained per style.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick or upload a picture, choose a style and the strength: each picture and style costs one
# forward pass, and the strength slider only blends.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import FastStylePanel
FastStylePanel(image="palace")
