# %% [markdown]
# # 03 · What the network looks at
#
# *Lecture: occlusion experiments (Zeiler and Fergus 2014), saliency maps (Simonyan et al. 2014),
# deconvnet and guided backpropagation (Springenberg et al. 2015), CAM (Zhou et al. 2016) and
# Grad-CAM (Selvaraju et al. 2017).*
#
# Each method answers "which pixels matter for this class?" in its own way. They all have the
# same call: `attribution.method(model, image, target)`, and return either a map per pixel or
# an image per colour channel.

# %%
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image, predict
from lecture_utils import attribution as A, plotting

model = load_model(device="cpu")
cat = load_image("cat", size=224)
top = predict(model, cat, k=1)[0]
target = top[0]
print("target:", top[1], f"{top[2]:.0%}")

# %% [markdown]
# ## Saliency: the gradient of the class score
#
# How much would the class score change if one pixel changed a little? That is the gradient
# d score / d pixel; the saliency map is its absolute value, the largest of the three colour
# channels. It is noisy: the gradient is a very local answer. **SmoothGrad** averages the
# saliency of noisy copies of the image, and the structure shows through.

# %%
sal = A.saliency(model, cat, target)
smooth = A.smoothgrad(model, cat, target, samples=16, generator=torch.Generator().manual_seed(0))
plotting.show_images([cat, plotting.heatmap_image(sal[0], "gray"), plotting.heatmap_image(smooth[0], "gray")],
                     ["image", "saliency", "SmoothGrad (16 noisy copies)"], ncols=3, size=3.2)

# %% [markdown]
# ## Deconvnet and guided backpropagation: rules for the ReLU
#
# Both change only how gradients pass back through a ReLU:
#
# - plain backprop passes the gradient where the ReLU's *input* was positive;
# - **deconvnet** passes only *positive gradients*, wherever they are;
# - **guided backprop** does both: positive gradients, where the input was positive.
#
# Keeping only positive evidence at every ReLU removes the cancelling signs that make plain
# gradients noisy, and the result looks like a sharp drawing of the object. This network uses
# ReLU6 (a ReLU capped at 6); we apply the same rule and ignore the cap on the way back, so a
# saturated unit, which is as active as it gets, still passes its evidence. The rule lives in
# hooks that are removed after the call: the model is never changed.

# %%
gb = A.guided_backprop(model, cat, target)
dc = A.deconvnet(model, cat, target)
plain = A.gradient(model, cat, target)
plotting.show_images([plotting.gradient_image(plain), plotting.gradient_image(dc), plotting.gradient_image(gb)],
                     ["plain gradient", "deconvnet", "guided backprop"], ncols=3, size=3.2)

# %% [markdown]
# Guided backprop draws the eyes, nose and whiskers. Deconvnet ignores where units were active,
# so its picture depends little on the class, and the strided convolutions print a checkerboard.
#
# ## CAM and Grad-CAM: which region?
#
# The last feature map (`head`, 7 x 7 positions for a 224 px square) still knows *where*. **CAM**
# weights its channels by the classifier's weights for the class; it needs a classifier that is
# global average pooling plus one linear layer, as here. **Grad-CAM** takes the weights from the
# gradient instead and works at any layer of any network. On an image with two objects each
# class lights up its own:

# %%
pair = load_image("cat_and_espresso", size=224)
print([f"{name} {p:.0%}" for _, name, p in predict(model, pair, k=5)])
maps = [(f"{method.__name__}: {model.categories[c]}", method(model, pair, c))
        for method in (A.cam, A.grad_cam) for c in (285, 967)]
plotting.show_images([plotting.overlay(pair, m[0]) for _, m in maps], [t for t, _ in maps], ncols=2, size=4)

# %% [markdown]
# Grad-CAM at a shallower layer has a finer grid but less class knowledge. **Guided Grad-CAM**
# multiplies guided backprop's sharp drawing by Grad-CAM's region, so only the class's own
# object is drawn:

# %%
ggc = [A.guided_grad_cam(model, pair, c) for c in (285, 967)]
shallow = A.grad_cam(model, pair, 285, layer="stage4")
plotting.show_images([plotting.overlay(pair, shallow[0]), plotting.gradient_image(ggc[0]), plotting.gradient_image(ggc[1])],
                     ["Grad-CAM at stage4: Egyptian cat", "guided Grad-CAM: Egyptian cat", "guided Grad-CAM: espresso"],
                     ncols=3, size=3.6)

# %% [markdown]
# ## Occlusion: hide a part, watch the probability
#
# The most direct test needs no gradients: cover a square with grey and see how much the class's
# probability drops (red: hiding this hurts). The window size sets the scale of the answer: small
# windows find small decisive parts (or nothing, when the rest of the object still suffices),
# large ones find the object.

# %%
espresso = load_image("espresso", size=(160, 240))
occ = {w: A.occlusion(model, espresso, 967, window=w, stride=w // 2) for w in (24, 48, 96)}
plotting.show_images([espresso] + [plotting.overlay(espresso, o[0]) for o in occ.values()],
                     ["espresso"] + [f"window {w}, stride {w // 2}" for w in occ], ncols=4, size=2.6)

# %% [markdown]
# ## Integrated gradients
#
# Saliency asks about one point. **Integrated gradients** averages the gradient along the
# straight path from a black image to the photo and multiplies by the change of each pixel, so
# the attributions add up to score(photo) - score(black).

# %%
ig = A.integrated_gradients(model, cat, target, steps=32)
with torch.no_grad():
    gap = model(cat)[0, target] - model(torch.zeros_like(cat))[0, target]
print(f"sum of attributions {ig.sum():.0f}, score gap {gap:.0f}")
plotting.show_images([plotting.heatmap_image(A.as_heatmap(ig)[0], "gray")], ["integrated gradients (32 steps)"], ncols=1, size=3.2)

# %% [markdown]
# With 32 steps the sum is still far from the gap: this network's score changes abruptly along
# the path, so integrated gradients needs many more steps here than the 20-300 its authors
# suggest (the tests check that 128 steps come within 15%).
#
# ## Sanity check: do the maps depend on the model?
#
# Adebayo et al. (2018) asked a simple question: if we destroy the network's weights, from the
# top down, does the explanation change? A method that explains the *model* must change; one that
# mostly shows edges of the *image* will not. Below, each row re-draws the weights of ever more
# layers at random.

# %%
methods = {"saliency": A.saliency, "guided backprop": A.guided_backprop, "Grad-CAM": A.grad_cam}
original = {name: A.as_heatmap(f(model, cat, target))[0] for name, f in methods.items()}
shown = {"classifier", "stage7", "stage5", "stage3", "stem"}
pictures, titles, similarity = [], [], {}
for layer, randomized in A.randomized_copies(model, torch.Generator().manual_seed(0)):
    if layer not in shown:
        continue
    for name, f in methods.items():
        m = A.as_heatmap(f(randomized, cat, target))[0]
        similarity[(layer, name)] = A.rank_correlation(m, original[name])
        pictures.append(plotting.heatmap_image(m, "gray"))
        titles.append(f"{name}, random to {layer}")
for name in methods:
    print(f"{name:16s}", "  ".join(f"{layer}: {round(similarity[(layer, name)], 1) + 0.0:.1f}" for layer in ["classifier", "stage7", "stage5", "stage3", "stem"]))
plotting.show_images(pictures, titles, ncols=3, size=2.6)

# %% [markdown]
# The numbers are rank correlations with the map of the trained network (1: the same ranking
# of pixels). Saliency and Grad-CAM change as soon as the top layers are random. Guided backprop
# keeps drawing the cat's eyes and whiskers long after the network has stopped knowing cats:
# its sharp pictures come mostly from the image and the ReLU rule, not from what the model
# learned. Pretty is not the same as faithful.
#
# ## Try it
#
# Pick or upload an image, choose a method and a class (the top 5, or type any class name), the
# layer for Grad-CAM and the window for occlusion. Results are cached: the opacity slider and
# settings you already tried answer at once; occlusion takes a few seconds on a CPU.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import AttributionPanel
AttributionPanel(model, image="cat_and_espresso", method="grad_cam")
