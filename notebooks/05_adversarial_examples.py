# %% [markdown] slideshow={"slide_type": "slide"}
# # 05 · Adversarial examples
#
# Changes of the pixels, most of them too small to see, that make the bundled EfficientNet-Lite0
# say something else.
# <small>After Szegedy et al. 2014.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Szegedy et al. ("Intriguing properties of neural networks", 2014) found that a change of the
# pixels too small to see can make a network say something else entirely. This notebook shows that
# on the bundled EfficientNet-Lite0 with the attacks of the lecture:
#
# 1. **FGSM** (Goodfellow et al. 2015): one step along the sign of the gradient, the panda-to-gibbon picture;
# 2. **iterative attacks** (projected gradient descent, PGD): success rate against the budget;
# 3. **fooling images**: a photo into a class of your choice, with a change too small to see;
# 4. an **adversarial patch** (Brown et al. 2017): a sticker that turns photos into a toaster;
# 5. a **universal perturbation** (Moosavi-Dezfooli et al. 2017): one change for many photos;
# 6. a panel to try it on your own image.
#
# All images are RGB in [0, 1] and every budget `eps` is in pixel units: `2/255` means no pixel
# value moves by more than two grey levels out of 255. The algorithms live in
# `lecture_utils.adversarial`.

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
from lecture_utils import adversarial as A
from lecture_utils import load_image, load_model, predict
from lecture_utils.datasets import nature_photos
from lecture_utils.images import center_square, random_crops
from lecture_utils.plotting import adversarial_triptych, attack_curves, image_table, perturbation_image, show_images

torch.manual_seed(0)
model = load_model(device="cpu")  # the CPU keeps the stored outputs reproducible
# the 8 photos among the 11 bundled images of notebook 00 (the others: two paintings, a brick wall)
names = ["astronaut", "cat", "cat_and_espresso", "daisy", "espresso", "grace_hopper", "palace", "rocket"]
photos = torch.cat([center_square(load_image(n), 224) for n in names])  # 224 x 224 centre squares
with torch.no_grad():
    sureness, labels = model(photos).softmax(1).max(1)  # the model's own answers: an attack "flips" them
for n, i, p in zip(names, labels.tolist(), sureness.tolist()):
    print(f"{n:16s} {model.categories[i]} ({p:.0%})")
print(f"mean probability of the model's answer: {sureness.mean():.2f}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Fooling a DNN is easy
#
# FGSM: one step of 2/255 per pixel along the sign of the loss's gradient (middle),
# $x + \epsilon\,\text{sign}(\nabla_x J(\theta, x, y))$. Under the photo and the result: the
# model's top 5.
# <small>After Goodfellow, Shlens and Szegedy 2015.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# The fast gradient sign method moves every pixel by exactly `eps` in the direction that raises
# the loss of the current class: `x_adv = clip(x + eps * sign(grad_x loss))`. The lecture's
# figure: a panda (57.7%) plus 0.007 times the gradient's sign (itself classified "nematode")
# gives a "gibbon" (99.3%). Here the photo is the espresso, which the model names with 94%.
# The middle picture is the sign itself, shown as 0.5 + 0.5 x sign: each of a pixel's three
# colour values is either +1 (full) or -1 (off), hence its eight saturated colours; above it,
# the class the model gives it. Under the photo and the result, the model's top 5.

# %% slideshow={"slide_type": "-"}
espresso = photos[names.index("espresso")][None]
sign = A.gradient_sign(model, espresso, labels[names.index("espresso")])
espresso_adv = A.fgsm(model, espresso, labels[names.index("espresso")], eps=2 / 255)  # = photo + 2/255 * sign
_, sign_name, sign_p = predict(model, 0.5 + 0.5 * sign, k=1)[0]
adversarial_triptych(espresso, espresso_adv, predict(model, espresso), predict(model, espresso_adv),
                     titles=("photo", "photo + 2/255 x sign"), change=0.5 + 0.5 * sign,
                     change_title=f"sign of the gradient:\n{sign_name} ({sign_p:.0%})")

# %% [markdown] slideshow={"slide_type": "notes"}
# One step took the espresso's 94% down to 18% and the answer is wrong, but it is not a
# *confident* mistake: the new top class gets a quarter. A confident wrong answer after one
# step, like the lecture's gibbon at 99.3%, does not happen on this network (below, on none of
# the 8 photos at 2 grey levels). One untargeted step spends its budget on *leaving* the class,
# not on arriving anywhere. Below, one step of each size on all 8 photos: how many answers
# change, how sure the model is of its new answers, and which photo's new answer is surest.
# At two grey levels every answer changes and no new answer gets much more than half; only
# steps of 8 and 16 grey levels make one photo's new answer confident (the palace's, 70% and
# 89%), and at those sizes one answer (the espresso's) no longer changes at all.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "notes"}
for eps in (1, 2, 4, 8, 16):
    stepped = torch.cat([A.fgsm(model, photos[i:i + 2], labels[i:i + 2], eps=eps / 255) for i in range(0, 8, 2)])
    classes, p = A.top1(model, stepped)  # two images at a time keep the memory low
    wrong = classes != labels
    surest = int(torch.where(wrong, p, torch.zeros_like(p)).argmax())  # the surest new answer
    kept = [n for n, w in zip(names, wrong.tolist()) if not w]
    print(f"eps {eps:2d}/255: {int(wrong.sum())} of 8 answers change; the new top class gets "
          f"{p[wrong].min():.0%} to {p[wrong].max():.0%} (surest: {names[surest]} -> "
          f"{model.categories[classes[surest]]})" + (f"; unchanged: {', '.join(kept)}" if kept else ""))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A targeted attack: the espresso into a "gibbon"
#
# 20 small gradient steps towards the class "gibbon" (PGD), no pixel more than 2/255 from the
# photo. Middle: the change, magnified.
# <small>After Goodfellow, Shlens and Szegedy 2015 (the gibbon) and Madry et al. 2018 (PGD).</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Goodfellow et al. did not choose "gibbon": their panda step was untargeted, like the one
# above (up the loss of the panda's own label), and GoogLeNet's answer after it happened to be
# a gibbon, with 99.3%. On this network one such step gives no confident answer, so to show the
# lecture's confidence we choose the class ourselves: "gibbon", for the lecture's sake. A
# *targeted* attack steps *down* the loss of the chosen class, and iterating (PGD, next
# section: 20 steps of 0.25/255, each clipped back into the budget) reaches it within the same
# 2 grey levels:

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
GIBBON = model.categories.index("gibbon")
espresso_gibbon = A.pgd(model, espresso, None, eps=2 / 255, steps=20, random_start=False, target=GIBBON)
print(f"gibbon: {predict(model, espresso_gibbon, k=1)[0][2]:.2%}; "
      f"largest change {(espresso_gibbon - espresso).abs().max().item() * 255:.1f}/255")
adversarial_triptych(espresso, espresso_gibbon, predict(model, espresso), predict(model, espresso_gibbon),
                     titles=("photo", "after 20 steps"))

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: FGSM
#
# Write the fast gradient sign method: the gradient of the cross-entropy loss of the true labels
# with respect to the pixels, one step of `eps` along its sign, and a clip to [0, 1]. Work on a
# copy: the check looks at whether `images` is left as it was.

# %% slideshow={"slide_type": "skip"}
import torch.nn.functional as F


def fgsm(model, images, labels, eps):
    """images + eps * sign(d loss / d images), clipped to [0, 1]; images (N, 3, H, W), labels (N,)."""
    ### BEGIN SOLUTION
    x = images.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), labels)
    (grad,) = torch.autograd.grad(loss, x)
    return (images + eps * grad.sign()).clamp(0, 1)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("fgsm", fgsm)

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** No pixel moved by more than 2 grey levels, yet the answer changed. How can so
# small a change matter so much?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Goodfellow et al.'s explanation is linearity. A score is, near the image, roughly
# w · x. Moving every pixel by eps in the direction of sign(w) changes it by eps · Σ|w_i|: eps
# times the sum over all 150,528 pixel values. Each change is invisible, but they all push the
# same way, and the total grows with the number of pixels. Random noise of the same size pushes
# in random directions and mostly cancels.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Iterative attacks: how large must the change be?
#
# Over the 8 photos, against the budget eps: the share of answers changed (left) and the mean
# probability of the original class (right), for random sign noise, FGSM and PGD-3.
# <small>After Madry et al. 2018 (PGD).</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# PGD (Madry et al. 2018) repeats small gradient steps and projects back into the eps-ball after
# each (here `steps=3`, step `alpha = 2.5 * eps / steps`, a random start inside the ball). The
# budgets go down to *below one grey level*: such a change is not even representable in an
# 8-bit image file. The plot counts, over the 8 photos, how many predictions change, and shows
# the model's remaining confidence in the original class. For comparison: random noise of the
# same size (every pixel +-eps at random).
#
# **Read it with care: the model is unsure of most of these photos.** Its answers (printed at
# the top) get 0.37 on average, from 18% for the daisy to 94% for the espresso, and one is
# plainly wrong (the astronaut is a "bobsled"). The attacks flip the model's own answer, right
# or not, and an unsure answer is easy to flip. So above the plot, each photo on its own: the
# smallest budget of the six at which each attack changes its answer.

# %% slideshow={"slide_type": "notes"}
eps_values = [0.02 / 255, 0.05 / 255, 0.1 / 255, 0.2 / 255, 0.5 / 255, 2 / 255]
halves = [slice(i, i + 2) for i in range(0, 8, 2)]  # two images at a time keep the memory low
attacks = {
    "random sign noise": lambda eps: (photos + eps * torch.randint(0, 2, photos.shape).mul(2).sub(1)).clamp(0, 1),
    "FGSM": lambda eps: torch.cat([A.fgsm(model, photos[h], labels[h], eps=eps) for h in halves]),
    "PGD-3": lambda eps: torch.cat([A.pgd(model, photos[h], labels[h], eps=eps, steps=3) for h in halves]),
}
success, confidence, flipped = {}, {}, {}
rows = torch.arange(len(photos))
for name, attack in attacks.items():
    success[name], confidence[name], flipped[name] = [], [], []
    for eps in eps_values:
        attacked = attack(eps)
        with torch.no_grad():  # two at a time, like the attacks, to keep the memory low
            p = torch.cat([model(attacked[h]).softmax(1) for h in halves])
        flipped[name].append(p.argmax(1) != labels)
        success[name].append(flipped[name][-1].float().mean().item())
        confidence[name].append(p[rows, labels].mean().item())
for name in attacks:
    print(f"{name:18s}", " ".join(f"{s:4.0%}" for s in success[name]))
print("\nthe smallest budget (of the six) that changes each photo's answer:")
for i, n in enumerate(names):
    first = [next((f"{e * 255:g}/255" for e, f in zip(eps_values, flipped[a]) if f[i]), "none") for a in attacks]
    print(f"{n:16s} ({sureness[i]:.0%} sure): " + ", ".join(f"{a} {f}" for a, f in zip(attacks, first)))

# %% slideshow={"slide_type": "-"}
attack_curves(eps_values, success, confidence)

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the budget of an iterative attack
#
# After every step, PGD moves the image back into the budget: each pixel at most `eps` from the
# original, and still a valid pixel value in [0, 1]. Write that projection.

# %% slideshow={"slide_type": "skip"}
def project(x_adv, x, eps):
    """x_adv with every pixel clipped to [x - eps, x + eps], then to [0, 1]."""
    ### BEGIN SOLUTION
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("project", project)

# %% [markdown] slideshow={"slide_type": "notes"}
# On these 8 photos, a tenth of a grey level in the gradient's direction changes 7 of the 8
# answers (FGSM and PGD-3 alike), while random noise twenty times larger (2/255) changes one,
# the astronaut's, which was wrong and 30% sure to begin with: the gradient finds the
# directions the network is sensitive to. The one answer the model is sure of, the espresso
# (94%), holds longest: it changes from 0.2/255 with PGD-3 and 0.5/255 with FGSM, where the
# unsure answers change from 0.02 to 0.1/255. Still below one grey level, but a sure answer
# needs several times more than an unsure one. (This model is fragile to random noise too, at
# larger budgets: see section 5.)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Fooling images: a photo into a class of your choice
#
# Gradient ascent on the score of "school bus", stopped once the model is 90% sure: the daisy
# photo becomes a school bus. Middle: the change, magnified.
# <small>After Szegedy et al. 2014.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Gradient *ascent* on the log-probability of a class of your choice, in small steps of fixed L2
# length, stopping as soon as the model is 90% sure: the smallest change this greedy path finds.
# Shown here on one photo, the daisy, which the model names with only 18%, made a school bus.
# Change `TARGET` to any ImageNet class name (`model.categories`), or the photo, to try others.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
TARGET = "school bus"
daisy = photos[names.index("daisy")][None]
fooled = A.fooling_image(model, daisy, TARGET, confidence=0.9)
print(f"largest change: {(fooled - daisy).abs().max().item() * 255:.1f} grey levels, "
      f"mean {(fooled - daisy).abs().mean().item() * 255:.2f}")
adversarial_triptych(daisy, fooled, predict(model, daisy), predict(model, fooled), titles=("image", "fooling image"))

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: a fooling image
#
# CS231n's `make_fooling_image`: gradient ascent on the target's score, each step of L2 length
# `lr` (the gradient divided by its norm), clipped to [0, 1], and stop as soon as the model says
# the target. The check compares the images your loop ends with.

# %% slideshow={"slide_type": "skip"}
def make_fooling_image(model, image, target, lr, max_steps):
    """Steps x + lr * g / ||g|| (g: d score[target] / d x), clipped to [0, 1], until
    model(x).argmax() == target (checked before each step) or max_steps steps. Returns x."""
    ### BEGIN SOLUTION
    x = image.clone()
    for _ in range(max_steps):
        x.requires_grad_(True)
        scores = model(x)
        if scores.argmax(dim=1).item() == target:
            break
        (grad,) = torch.autograd.grad(scores[0, target], x)
        x = (x.detach() + lr * grad / grad.norm()).clamp(0, 1)
    return x.detach()
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("make_fooling_image", make_fooling_image)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Adversarial sticker
#
# A 70 x 70 patch (left), trained to make the model say "toaster", pasted at random places
# and angles on crops of five photos its training never saw. Above each: the model's answer.
# <small>After Brown et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Brown et al. trained a *visible* sticker that turns whatever it is pasted on into a toaster.
# Training uses **expectation over transformation**: each step pastes the patch on a few images at
# random places, scales (0.9-1.1) and rotations (+-20 degrees), and improves it for all of them
# (Adam on the patch's pixels, loss: minus the log-probability of "toaster").
#
# **Which photos.** Of the 11 bundled images (notebook 00), 8 are photos. The patch is trained
# on random crops (with flips) of three of them: the cat, the espresso and their composite. It
# is judged on 40 random crops of the **five other photos** (astronaut, daisy, Grace Hopper,
# palace, rocket), which training never sees. Few photos: read the numbers as a demonstration,
# not a measurement. The patch is 70 x 70 pixels: 9.8% of a 224 x 224 image.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "notes"}
TRAIN, HELD_OUT = ("cat", "espresso", "cat_and_espresso"), ("astronaut", "daisy", "grace_hopper", "palace", "rocket")
training = random_crops([load_image(n, 512) for n in TRAIN], 24, scale=(0.5, 1.0), seed=0)
held_out = random_crops([load_image(n, 512) for n in HELD_OUT], 40, scale=(0.5, 1.0), seed=1)
TOASTER = model.categories.index("toaster")


def answers(images):
    """The model's top class for each image (four at a time: keeps the memory low)."""
    return A.top1(model, images)[0]


log = []
for step in A.iterate_patch(model, training, TOASTER, size=70, steps=300, lr=0.05, batch_size=2,
                            seed=0):
    log.append(step.losses["loss"])
patch = step.result  # the patch with the best success on its step
del training, step  # done with them: frees their memory
print(f"loss: first 10 steps {sum(log[:10]) / 10:.2f}, last 10 steps {sum(log[-10:]) / 10:.2f}")

# %% slideshow={"slide_type": "-"}
with torch.no_grad():
    stickered = A.apply_patch(held_out, patch, angle=20, seed=2)
    grey = A.apply_patch(held_out, torch.full_like(patch, 0.5), angle=20, seed=2)
hits = (answers(stickered) == TOASTER).float().mean().item()
by_chance = (answers(grey) == TOASTER).float().mean().item()
print(f"held-out crops called 'toaster': with the patch {hits:.0%}, with a grey square at the same places {by_chance:.0%}")
shown = [patch] + [stickered[i][None].clone() for i in range(0, 40, 7)]
titles = ["the patch"] + [predict(model, stickered[i][None], k=1)[0][1] for i in range(0, 40, 7)]
del stickered, grey, held_out  # keep only the pictures shown
show_images(shown, titles, ncols=5, size=2.3, fontsize=14, first_span=2)

# %% [markdown] slideshow={"slide_type": "notes"}
# The lecture also shows a patch against an object detector (Lee and Kolter 2019, "On physical
# adversarial patches for object detection"): a patch in a corner of the picture, on no object
# at all, makes YOLOv3 miss every object in the scene, because a detector's features at every
# place see far around them. That needs a detector's weights, which this course cannot load
# offline, so it stays on the slide.

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** The fooling image above was made for one photo, seen exactly as it is. Why does
# the patch still work on photos it never saw, pasted at other places, sizes and angles?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Because that is what it was trained for: every step of its training pasted it on
# other crops at random places, scales and rotations (expectation over transformation), so only
# changes that work under all of them survived. It also has no budget: it may use any colours in
# its 70 x 70 pixels, enough to draw a strong "toaster" signal that outweighs the rest of the
# photo. A fooling image spends a tiny budget on one exact pixel grid.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Universal attacks
#
# One perturbation of at most 6/255, computed from crops of the 8 bundled photos, added to crops
# of nature photos it never saw. Printed: how many answers it changes, and how many random sign
# noise changes.
# <small>After Moosavi-Dezfooli et al. 2017; the projected-gradient variant, Shafahi et al. 2020.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# One change, the same for every image, that flips the model's answers on photos it was not
# computed from. Moosavi-Dezfooli et al. build it image by image with DeepFool steps; here a
# projected-gradient variant (as in Shafahi et al. 2020): each step takes 4 training crops,
# moves the shared perturbation along the sign of the summed gradient of a margin loss, and
# clips it to +-eps, with eps = 6/255.
#
# **Which photos.** Trained on 48 random crops of all 8 bundled photos. Judged, as in the
# paper, on photos it never saw: 96 random crops of the 12 nature photos of Debian's
# `mate-backgrounds` (flowers, a ladybird, a dune, rain drops, ...: photos no one in this
# project chose). We keep the crops whose top class has a probability of at least 0.3 (an
# unsure answer flips under any change, which would flatter every method alike), and among
# those, the ones the model gets **right**. These photos have no labels, so "right" means: the
# ImageNet class we give the photo by looking at it. The ladybird is a "ladybug"; the three
# flowers of the daisy family (FreshFlower, Garden, YellowFlower) are a "daisy", ImageNet's one
# class for such flowers. The other eight photos (a water drop, a leaf, grass, a dune, rain
# drops, a storm, seeds, wood) get no class, so no answer on them counts as right. (We wrote
# these labels after seeing the model's answers: check them in the figure.) The baseline is
# random sign noise of the same budget.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
EPS = 6 / 255
training_all = random_crops([load_image(n, 512) for n in names], 48, scale=(0.5, 1.0),
                            seed=0)
delta = A.universal_perturbation(model, training_all, eps=EPS, steps=100, batch_size=4,
                                 seed=0)
del training_all  # trained: free its crops before loading the judges

# what each photo shows, as an ImageNet class, where we give it one (the others: none)
SHOWS = {"LadyBird": "ladybug", "FreshFlower": "daisy", "Garden": "daisy", "YellowFlower": "daisy"}
nature = nature_photos()
crops = random_crops([load_image(p, 512) for p in nature], 96, scale=(0.5, 1.0),
                     seed=1)  # crop i is of photo i % 12
before, confidence = A.top1(model, crops)
sure = (confidence >= 0.3).nonzero()[:, 0]
right = torch.tensor([model.categories[before[i]] == SHOWS.get(nature[i % len(nature)].stem) for i in sure.tolist()])
judged = sure[right]  # sure and right
print(f"{len(sure)} of {len(crops)} crops of the nature photos have a top class of at least 0.3; "
      f"{len(judged)} of these are right (their top class gets {confidence[judged].min():.0%} to "
      f"{confidence[judged].max():.0%})")
changed = A.top1(model, (crops[sure] + delta).clamp(0, 1))[0] != before[sure]
noise_changed = [A.top1(model, (crops[sure] + A.sign_noise(crops, EPS, seed=s)).clamp(0, 1))[0]
                 != before[sure] for s in range(4)]
for what, keep in ((f"the {len(judged)} right ones", right), (f"all {len(sure)} sure ones", torch.ones_like(right))):
    noise = [c[keep].float().mean().item() for c in noise_changed]
    print(f"answers changed, {what}: universal perturbation {changed[keep].float().mean():.0%}; random sign "
          f"noise {sum(noise) / 4:.0%} (mean of 4 draws: {', '.join(f'{f:.0%}' for f in noise)})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Universal attacks: one change, many photos
#
# Six crops of the nature photos that the model names right, before and after adding the same
# perturbation, each with the model's answer.
# <small>After Moosavi-Dezfooli et al. 2017.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# Below: six of the sure and right crops (the first two of each photo that has any), before and
# after adding the same perturbation, each with the model's answer and its probability; then
# the perturbation, magnified.

# %% slideshow={"slide_type": "-"}
by_photo = {}
for i in judged.tolist():
    by_photo.setdefault(i % len(nature), []).append(i)
shown = [i for group in by_photo.values() for i in group[:2]][:6]
attacked = (crops[shown] + delta).clamp(0, 1)
classes, p = A.top1(model, attacked)
cells, titles = [], []
for j, i in enumerate(shown):
    cells += [crops[i], attacked[j]]
    titles += [f"{model.categories[before[i]]} ({confidence[i]:.0%})", f"{model.categories[classes[j]]} ({p[j]:.0%})"]
image_table([cells[k:k + 6] for k in (0, 6)], titles=[titles[k:k + 6] for k in (0, 6)],
            col_labels=["photo", "+ perturbation"] * 3, size=2.0, fontsize=13)

# %% [markdown] slideshow={"slide_type": "notes"}
# The four flower crops change (three to "sea anemone", one to "jellyfish") and the two ladybird
# crops hold, each a little surer of "ladybug" than before.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Universal attacks: the perturbation is not noise
#
# The universal perturbation, with oriented strokes, beside random sign noise of the same budget,
# both magnified by the same factor.
# <small>After Moosavi-Dezfooli et al. 2017.</small>

# %% slideshow={"slide_type": "-"}
picture, scale = perturbation_image(delta)
show_images([picture, perturbation_image(A.sign_noise(crops, EPS, seed=0))[0]],
            [f"the universal perturbation (x {scale:.0f})", f"random sign noise (x {scale:.0f})"],
            ncols=2, size=4, fontsize=13)

# %% [markdown] slideshow={"slide_type": "notes"}
# Read both numbers: this small network is fragile to plain noise too. Noise of 6 grey levels
# changes 16% of the sure and right answers (27% of all 31 sure ones, right or not). The
# universal perturbation, one fixed pattern made from other photos, changes 68% of the sure
# and right answers, about four times as many (77% of all sure ones). The pattern is not noise:
# it has oriented strokes of its own, where the noise beside it has none.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Attack one of the photos or your own: choose the attack, the budget, the steps and, if you
# like, a target class.

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a photo or upload your own; choose the attack, the budget `eps` (grey levels of 255), the
# number of steps and, if you like, a target class (type a name; empty means "anything but the
# current answer"). The fooling image needs a target and takes up to `10 x steps` steps, so it
# has its own Run and Stop buttons. Results are cached: going back to an earlier setting
# answers at once.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import AdversarialPanel

del crops, attacked  # the judges' crops: frees their memory
AdversarialPanel(model, image="cat", attack="pgd", eps=2, steps=10)
