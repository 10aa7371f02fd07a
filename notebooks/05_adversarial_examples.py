# %% [markdown]
# # 05 · Adversarial examples
#
# Szegedy et al. ("Intriguing properties of neural networks", 2014) found that a change of the
# pixels too small to see can make a network say something else entirely. This notebook shows that
# on the bundled EfficientNet-Lite0 with the attacks of the lecture:
#
# 1. **FGSM** (Goodfellow et al. 2015): one step along the sign of the gradient, the panda-to-gibbon picture;
# 2. **iterative attacks** (projected gradient descent, PGD): success rate against the budget;
# 3. **fooling images**: any image into a class of your choice with an invisible change;
# 4. an **adversarial patch** (Brown et al. 2017): a sticker that turns photos into a toaster;
# 5. a **universal perturbation** (Moosavi-Dezfooli et al. 2017): one change for many photos;
# 6. a panel to try it on your own image.
#
# All images are RGB in [0, 1] and every budget `eps` is in pixel units: `2/255` means no pixel
# value moves by more than two grey levels out of 255. The algorithms live in
# `lecture_utils.adversarial`.

# %%
# %matplotlib inline
import torch
from lecture_utils import adversarial as A
from lecture_utils import load_image, load_model, predict
from lecture_utils.images import center_square, random_crops
from lecture_utils.plotting import adversarial_triptych, attack_curves, perturbation_image, show_images

torch.manual_seed(0)
model = load_model(device="cpu")  # the CPU keeps the stored outputs reproducible
names = ["astronaut", "cat", "cat_and_espresso", "daisy", "espresso", "grace_hopper", "palace", "rocket"]
photos = torch.cat([center_square(load_image(n), 224) for n in names])  # the 8 bundled photos, 224 x 224
with torch.no_grad():
    labels = model(photos).argmax(1)  # the model's own answers: an attack "flips" them
print({n: model.categories[i] for n, i in zip(names, labels.tolist())})

# %% [markdown]
# ## 1. FGSM: one step, two grey levels
#
# The fast gradient sign method moves every pixel by exactly `eps` in the direction that raises
# the loss of the current class: `x_adv = clip(x + eps * sign(grad_x loss))`. Below: the photo,
# the change (magnified so that its largest value is black or white), and the result, with the
# model's top-5 before and after.

# %%
cat = photos[names.index("cat")][None]
cat_adv = A.fgsm(model, cat, labels[names.index("cat")], eps=2 / 255)
adversarial_triptych(cat, cat_adv, predict(model, cat), predict(model, cat_adv))

# %% [markdown]
# Goodfellow et al. made a panda a *gibbon* on purpose. A targeted attack steps *down* the
# loss of a chosen class; a few iterative steps (PGD, next section) make it certain:

# %%
cat_gibbon = A.pgd(model, cat, None, eps=2 / 255, steps=10, target=model.categories.index("gibbon"))
adversarial_triptych(cat, cat_gibbon, predict(model, cat), predict(model, cat_gibbon))

# %% [markdown]
# ## 2. Iterative attacks: how large must the change be?
#
# PGD (Madry et al. 2018) repeats small gradient steps and projects back into the eps-ball after
# each (here `steps=3`, step `alpha = 2.5 * eps / steps`, a random start inside the ball). This
# model is so sensitive that the interesting budgets are *below one grey level*: such a change
# is not even representable in an 8-bit image file, yet it changes the answer. The plot
# counts, over the 8 photos, how many predictions change, and shows the model's remaining
# confidence in the original class. For comparison: random noise of the same size (every pixel
# +-eps at random).

# %%
eps_values = [0.02 / 255, 0.05 / 255, 0.1 / 255, 0.2 / 255, 0.5 / 255, 2 / 255]
halves = [slice(i, i + 2) for i in range(0, 8, 2)]  # two images at a time keep the memory low
attacks = {
    "random sign noise": lambda eps: (photos + eps * torch.randint(0, 2, photos.shape).mul(2).sub(1)).clamp(0, 1),
    "FGSM": lambda eps: torch.cat([A.fgsm(model, photos[h], labels[h], eps=eps) for h in halves]),
    "PGD-3": lambda eps: torch.cat([A.pgd(model, photos[h], labels[h], eps=eps, steps=3) for h in halves]),
}
success, confidence = {}, {}
rows = torch.arange(len(photos))
for name, attack in attacks.items():
    success[name], confidence[name] = [], []
    for eps in eps_values:
        attacked = attack(eps)
        with torch.no_grad():  # two at a time, like the attacks, to keep the memory low
            p = torch.cat([model(attacked[h]).softmax(1) for h in halves])
        success[name].append((p.argmax(1) != labels).float().mean().item())
        confidence[name].append(p[rows, labels].mean().item())
for name in attacks:
    print(f"{name:18s}", " ".join(f"{s:4.0%}" for s in success[name]))
attack_curves(eps_values, success, confidence)

# %% [markdown]
# A tenth of a grey level in the right direction does what random noise twenty times larger
# does not: the gradient finds the directions the network is sensitive to. (Random noise does
# change some answers at 2/255: this model is fragile to noise too, see section 5.)
#
# ## 3. Fooling images: any image into any class
#
# Gradient *ascent* on the log-probability of a class of your choice, in small steps of fixed L2
# length, stopping as soon as the model is 90% sure: the smallest change this greedy path finds.
# Change `TARGET` to any ImageNet class name (`model.categories`).

# %% tags=["nbval-ignore-output"]
TARGET = "school bus"
daisy = photos[names.index("daisy")][None]
fooled = A.fooling_image(model, daisy, model.categories.index(TARGET), confidence=0.9)
print(f"largest change: {(fooled - daisy).abs().max().item() * 255:.1f} grey levels, "
      f"mean {(fooled - daisy).abs().mean().item() * 255:.2f}")
adversarial_triptych(daisy, fooled, predict(model, daisy), predict(model, fooled), titles=("image", "fooling image"))

# %% [markdown]
# ## 4. An adversarial patch
#
# Brown et al. trained a *visible* sticker that turns whatever it is pasted on into a toaster.
# Training uses **expectation over transformation**: each step pastes the patch on a few images at
# random places, scales (0.9-1.1) and rotations (+-20 degrees), and improves it for all of them
# (Adam on the patch's pixels, loss: minus the log-probability of "toaster").
#
# **Which photos.** The project bundles only 8 photos. The patch is trained on random crops
# (with flips) of three of them: the cat, the espresso and their composite. It is judged on 40
# random crops of the **five other photos** (astronaut, daisy, Grace Hopper, palace, rocket),
# which training never sees. Few photos: read the numbers as a demonstration, not a measurement.
# The patch is 70 x 70 pixels: 9.8% of a 224 x 224 image.

# %% tags=["nbval-ignore-output"]
TRAIN, HELD_OUT = ("cat", "espresso", "cat_and_espresso"), ("astronaut", "daisy", "grace_hopper", "palace", "rocket")
training = random_crops([load_image(n, 512) for n in TRAIN], 24, scale=(0.5, 1.0), generator=torch.Generator().manual_seed(0))
held_out = random_crops([load_image(n, 512) for n in HELD_OUT], 40, scale=(0.5, 1.0), generator=torch.Generator().manual_seed(1))
TOASTER = model.categories.index("toaster")


def answers(images):
    """The model's top class for each image, eight at a time (keeps the memory low)."""
    with torch.no_grad():
        return torch.cat([model(images[i:i + 8]).argmax(1) for i in range(0, len(images), 8)])


log = []
for step in A.iterate_patch(model, training, TOASTER, size=70, steps=300, lr=0.05, batch_size=2,
                            generator=torch.Generator().manual_seed(0)):
    log.append(step.losses["loss"])
patch = step.result  # the patch with the best success on its step
print(f"loss: first 10 steps {sum(log[:10]) / 10:.2f}, last 10 steps {sum(log[-10:]) / 10:.2f}")

# %%
with torch.no_grad():
    stickered = A.apply_patch(held_out, patch, angle=20, generator=torch.Generator().manual_seed(2))
    grey = A.apply_patch(held_out, torch.full_like(patch, 0.5), angle=20, generator=torch.Generator().manual_seed(2))
hits = (answers(stickered) == TOASTER).float().mean().item()
by_chance = (answers(grey) == TOASTER).float().mean().item()
print(f"held-out crops called 'toaster': with the patch {hits:.0%}, with a grey square at the same places {by_chance:.0%}")
shown = [patch] + [stickered[i][None] for i in range(0, 40, 6)]
titles = ["the patch"] + [predict(model, stickered[i][None], k=1)[0][1] for i in range(0, 40, 6)]
show_images(shown, titles, ncols=4, size=2.2)

# %% [markdown]
# ## 5. A universal perturbation
#
# One change, the same for every image, that flips the model's answers on images it was not
# computed from. Moosavi-Dezfooli et al. build it image by image with DeepFool steps; here a
# projected-gradient variant (as in Shafahi et al. 2020): each step takes a few training crops,
# moves the shared perturbation along the sign of the summed gradient of a margin loss, and
# clips it to +-eps. Same photos as for the patch: trained on crops of three, judged on 40 crops
# of the five others; budget eps = 10/255.

# %%
eps = 10 / 255
delta = A.universal_perturbation(model, training, eps=eps, steps=120, batch_size=2, generator=torch.Generator().manual_seed(0))
noise = eps * torch.randint(0, 2, (1, 3, 224, 224), generator=torch.Generator().manual_seed(3)).mul(2).sub(1)
clean = answers(held_out)
flips = (answers((held_out + delta).clamp(0, 1)) != clean).float().mean().item()
noise_flips = (answers((held_out + noise).clamp(0, 1)) != clean).float().mean().item()
print(f"held-out crops whose answer changes: universal perturbation {flips:.0%}, random sign noise {noise_flips:.0%}")
picture, scale = perturbation_image(delta)
show_images([picture, (held_out[0][None] + delta).clamp(0, 1), (held_out[5][None] + delta).clamp(0, 1)],
            [f"perturbation x {scale:.0f}", predict(model, (held_out[0][None] + delta).clamp(0, 1), k=1)[0][1],
             predict(model, (held_out[5][None] + delta).clamp(0, 1), k=1)[0][1]], ncols=3, size=2.5)

# %% [markdown]
# Read both numbers: this small network is fragile to plain noise too. Random crops, scaled up
# from parts of a photo, are often classified with little confidence, and any change of 10 grey
# levels flips many of them; the universal perturbation flips more, and it is one fixed pattern.
#
# The tests (`tests/test_adversarial.py`) measure the same on photos no one in the project chose:
# 48 crops of the 12 nature photos of Debian's `mate-backgrounds`, with the patch and the
# perturbation trained on crops of all 8 bundled photos. There the patch makes 90% of the crops
# "toaster"; the universal perturbation flips 90%, random sign noise 56-60%.
#
# ## 6. Try it
#
# Pick a photo or upload your own; choose the attack, the budget `eps` (grey levels of 255), the
# number of steps and, if you like, a target class (type a name; empty means "anything but the
# current answer"). The fooling image needs a target; its steps are `10 x steps` at most.
# Results are cached: going back to an earlier setting answers at once.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import AdversarialPanel

AdversarialPanel(model, image="cat", attack="pgd", eps=2, steps=10)
