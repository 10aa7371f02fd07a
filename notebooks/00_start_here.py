# %% [markdown] slideshow={"slide_type": "slide"}
# # 00 · Start here
#
# A companion to the lecture **CNN Visualization**: one notebook per topic, with results to read
# and a panel to try it yourself.

# %% [markdown] slideshow={"slide_type": "notes"}
# This course companion goes with the lecture **CNN Visualization** (Neural Networks for Computer
# Vision; slides adapted from Stanford CS231n). Each notebook takes one topic of the lecture:
# first a short explanation and results you can read without running anything, then a panel of
# controls to try it yourself.
#
# | notebook | topic |
# | --- | --- |
# | [`00_start_here`](00_start_here.ipynb) | the models, the images, preprocessing, CPU/GPU, how the panels work |
# | [`01_filters_and_activations`](01_filters_and_activations.ipynb) | first-layer filters, activation maps of any layer and channel |
# | [`02_feature_space`](02_feature_space.ipynb) | CNN codes, nearest neighbours in pixel and feature space, t-SNE maps, maximally activating patches |
# | [`03_what_the_network_looks_at`](03_what_the_network_looks_at.ipynb) | saliency, SmoothGrad, deconvnet, guided backprop, CAM/Grad-CAM, occlusion, integrated gradients, a sanity check |
# | [`04_class_and_neuron_images`](04_class_and_neuron_images.ipynb) | images that maximise a class or a neuron: gradient ascent with regularisers |
# | [`05_adversarial_examples`](05_adversarial_examples.ipynb) | FGSM, iterative attacks, fooling images, an adversarial patch, a universal perturbation |
# | [`06_deepdream`](06_deepdream.ipynb) | DeepDream: jitter, the normalised step, clipping, octaves |
# | [`07_feature_inversion`](07_feature_inversion.ipynb) | reconstructing a photo from one layer's features |
# | [`08_texture_synthesis`](08_texture_synthesis.ipynb) | Gram matrices and texture synthesis |
# | [`09_style_transfer`](09_style_transfer.ipynb) | Gatys style transfer: content, style and smoothness weights, layers, colour |
# | [`10_fast_style_transfer`](10_fast_style_transfer.ipynb) | feed-forward style transfer: one pass through a trained network |
#
# Every algorithm lives in the small package `lecture_utils`; the notebooks only call it.

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
import lecture_utils
from lecture_utils import load_model, load_image, predict, bundled_images, ImageError
from lecture_utils.images import center_square
from lecture_utils import plotting

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The model
#
# **EfficientNet-Lite0**, trained on ImageNet's 1000 classes: its size, its classes and the layers
# that later notebooks look inside.

# %% [markdown] slideshow={"slide_type": "notes"}
# The default network is **EfficientNet-Lite0**, trained on ImageNet's 1000 classes. Its weights
# come with the course's software, so it works offline, on Binder and in class without downloads.
# It is small (4.7 million parameters) and fast on a laptop CPU.
#
# `load_model()` returns a wrapper whose input is an RGB image with values in [0, 1]; the
# normalisation the network was trained with happens inside. That is why every later notebook
# can clip images to [0, 1], measure adversarial perturbations in pixel units and show images
# without "de-normalising" them.

# %% slideshow={"slide_type": "-"}
model = load_model(device="cpu")
print(model.name, "with", sum(p.numel() for p in model.parameters()) / 1e6, "million parameters")
print(len(model.categories), "classes, for example:", model.categories[:3])
print("layers, shallow to deep:", list(model.layers))

# %% [markdown] slideshow={"slide_type": "notes"}
# `model.layers` names the places where later notebooks look inside the network: the **stem**
# (the first convolution), the outputs of the seven **stages** (each a few inverted-residual
# blocks), and the **head**, the last feature map (1280 channels) before global average pooling
# and the linear classifier.
#
# The classic networks of the lecture (AlexNet, VGG-16/19, GoogLeNet, SqueezeNet, ResNet-18) load
# the same way once their weights have been downloaded with `python -m lecture_utils fetch NAME`.
# Which ones are on this machine:

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "notes"}
from lecture_utils.models import MODEL_NAMES, is_cached
for name in MODEL_NAMES:
    print(f"{name:18s} {'ready' if is_cached(name) else 'not fetched: python -m lecture_utils fetch ' + name}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## The images
#
# The bundled images, each loaded by its name, as in `load_image("cat")`.

# %% [markdown] slideshow={"slide_type": "notes"}
# A few photos with open licences are bundled (see `data/README.md`): `load_image("cat")` loads
# one by name. `load_image` also takes a path, the bytes of an uploaded file, a PIL image or a
# NumPy array, and always returns a tensor of shape (1, 3, H, W) with values in [0, 1].

# %% slideshow={"slide_type": "-"}
names = bundled_images()
images = [load_image(name, size=160) for name in names]
print(names)
plotting.show_images(images, titles=names, ncols=6, size=2.0, fontsize=14)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Preprocessing
#
# `center_square` scales the shorter side to 224 pixels and cuts out the centre: the view the
# network was trained on.

# %% [markdown] slideshow={"slide_type": "notes"}
# ImageNet classifiers were trained on square crops. The normalisation to the statistics the
# weights expect is part of the model, so nothing else is needed.

# %% slideshow={"slide_type": "-"}
image = load_image("espresso")
square = center_square(image)
print("loaded:", tuple(image.shape), f"values in [{image.min():.2f}, {image.max():.2f}]")
print("network input:", tuple(square.shape))
print("inside the model: (x - mean) / std with mean", model.mean.flatten().tolist(), "std", model.std.flatten().tolist())

# %% [markdown] slideshow={"slide_type": "slide"}
# ## What the network says
#
# `predict(model, image, k)` gives the top-k classes with their probabilities.

# %% tags=["thumbnail"] slideshow={"slide_type": "-"}
shown = ["cat", "espresso", "grace_hopper", "rocket"]
squares = [center_square(load_image(name)) for name in shown]
predictions = [predict(model, s, k=5) for s in squares]
plotting.show_predictions(squares, predictions, ncols=2, size=2.3, fontsize=14)

# %% slideshow={"slide_type": "notes"}
for name, preds in zip(shown, predictions):
    print(f"{name:13s}", ", ".join(f"{label} {p:.0%}" for _, label, p in preds[:2]))

# %% [markdown] slideshow={"slide_type": "notes"}
# The cat is split between three kinds of cat, a sign that ImageNet's fine-grained classes are
# hard even when the network "knows" it sees a cat. The rocket is a *missile* or *projectile*:
# ImageNet has no class "rocket launch".
#
# ## CPU or GPU
#
# Everything runs on a CPU; a GPU makes the iterative methods of later notebooks faster.
# `load_model()` picks CUDA when PyTorch sees a GPU; here we ask for the CPU to give the same
# numbers everywhere.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "skip"}
print("CUDA available:", torch.cuda.is_available())
print("PyTorch", torch.__version__, "using", torch.get_num_threads(), "CPU threads")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Bad input gets a clear message
#
# Every loader says what went wrong and what it accepts:

# %% slideshow={"slide_type": "-"}
for bad in [b"", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "no_such_photo"]:
    try:
        load_image(bad)
    except ImageError as error:
        print("ImageError:", error)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## How the panels work

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a bundled photo or **upload** one of your own; the pictures update when you change a
# control. Try it: upload a photo of something on your desk.

# %% [markdown] slideshow={"slide_type": "notes"}
# Each notebook ends with a panel. An upload may be any PNG, JPEG, WebP, BMP, TIFF or GIF; phone
# photos are turned upright. Iterative methods (later notebooks) have Run and Stop buttons.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import PredictionPanel
PredictionPanel(model, image="cat")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Notebooks 01 to 10 ask you to write the lecture's methods yourself, a few lines each; `check`
# tests your function and answers in one line.

# %% [markdown] slideshow={"slide_type": "notes"}
# Each exercise is a function with its docstring and `# YOUR CODE HERE`. Replace
# `raise NotImplementedError()` with your code and run the cell after it: `check` calls your
# function on inputs it chooses (bundled photos, small networks with fixed weights), compares
# with a reference solution and answers in one line. Until you write something it says "not done
# yet"; when something is wrong it names the likely mistake (a wrong sign, a missing absolute
# value, a forgotten `zero_grad`, an input changed in place, a hook left on the model...). After
# some figures, a **Question** has its answer in the collapsed cell below it: think first, then
# click it open. Here is a check of a first try at an exercise of notebook 05, which keeps each
# pixel within `eps` of the photo but forgets something:

# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check


def project(x_adv, x, eps):
    return torch.clamp(x_adv, x - eps, x + eps)


check("project", project)
