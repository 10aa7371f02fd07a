# %% [markdown]
# # 02 · Feature space
#
# *Lecture: the last layer as a feature space ("CNN codes"); nearest neighbours in feature space
# against pixel space (Krizhevsky et al. 2012); t-SNE of CNN codes (van der Maaten and Hinton
# 2008); maximally activating patches (Springenberg et al. 2015).*
#
# Average a layer's activation over all positions and you get one number per channel: the
# image's **CNN code** at that layer (1,280 numbers at `head`, the layer the classifier reads).
# Images whose codes are close are images the network finds alike. This notebook compares that
# notion of "alike" with the naive one, distance between the pixels.
#
# **The collection.** With no network we use 600 photos of
# [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist) (Zalando, MIT licence;
# Debian package `dataset-fashion-mnist`, installed by `make setup`): 60 each of 10 kinds of
# clothing, 28 x 28 grey product photos, shown to the network at 160 x 160. The network never
# saw this data set in training. With a network, `python -m lecture_utils fetch imagenette`
# downloads [Imagenette](https://github.com/fastai/imagenette) (10 ImageNet classes, 160 px
# photos, ImageNet's terms: non-commercial research and teaching) and this notebook uses it
# instead.

# %%
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image, plotting
from lecture_utils import embedding as E
from lecture_utils.datasets import load_collection
from lecture_utils.images import center_square

model = load_model(device="cpu")
collection = load_collection(per_class=60)  # Imagenette when fetched, else Fashion-MNIST
print(f"{collection.name}: {len(collection)} photos of {tuple(collection.images.shape[-2:])} px, "
      f"{len(collection.classes)} classes: {', '.join(collection.classes)}")

# %% [markdown]
# ## CNN codes
#
# One pass over the collection gives the codes at four layers, and for each channel where it
# was most active (for the patches below). The codes are cached on disk (in
# `~/.cache/lecture_utils`, or `$LECTURE_UTILS_CACHE`), keyed by the model's weights, the
# layer, the input size and the collection's pixels: the second run of this notebook computes
# none.

# %% tags=["nbval-ignore-output"]
LAYERS = ["stage2", "stage3", "stage4", "head"]
codes = E.collection_codes(model, collection, LAYERS, size=160)
print("computed now:", ", ".join(codes.computed) or "nothing (all from the cache)")

# %% [markdown]
# ## Which space knows the classes?
#
# A simple test: classify every photo by the majority label of its 5 nearest other photos
# (leave-one-out 5-NN). Pixels use Euclidean distance; codes use cosine distance after
# subtracting the collection's mean code (what every photo shares, the black background and
# the grey object, says nothing about the class).

# %%
pixels = E.pixels(collection)
print(f"pixels (Euclidean)        {E.knn_accuracy(pixels, collection.labels, 5, 'euclidean'):.1%}")
for layer in LAYERS:
    raw, centred = codes[layer].mean, E.center(codes[layer].mean)
    print(f"{layer:7} codes (cosine)    {E.knn_accuracy(centred, collection.labels, 5):.1%}"
          f"   (not centred: {E.knn_accuracy(raw, collection.labels, 5):.1%})")

# %% [markdown]
# On Fashion-MNIST the deep codes beat the pixels by about 11 points (84% against 73%; a
# test checks at least 10). Shallow codes do no better than pixels (stage2 and stage3 do
# worse): they count edges and textures, not garments. The margin is modest because these photos are already centred, upright and uniformly lit: the
# pixels of two shirts line up. Photos of the world do not.
#
# ## Nearest neighbours
#
# Each row: a query, then its 6 nearest photos (class and distance above each).

# %%
features = E.center(codes["head"].mean)

def neighbours_figure(query, k=6):
    rows = []
    for title, space, metric in (("pixels\n(Euclidean)", pixels, "euclidean"),
                                 ("head codes\n(cosine)", features, "cosine")):
        idx, dist = E.nearest_neighbors(space, query, k + 1, metric)
        idx, dist = idx[1:], dist[1:]  # the first is the query itself, at distance 0
        captions = [f"{collection.classes[int(collection.labels[i])]}\n{d:.2f}" for i, d in zip(idx.tolist(), dist.tolist())]
        rows.append((title, collection.images[idx], captions))
    return plotting.neighbor_rows(collection.images[query], rows,
                                  title=f"query: {collection.classes[int(collection.labels[query])]}")

for query in (130, 250, 370):
    display(neighbours_figure(query))

# %% [markdown]
# ## Pixels are fooled by a flip, a shift or a colour change
#
# The network's codes do not care about changes that keep *what* an image shows. Take seven
# bundled photos, make three copies of each (mirrored, shifted by a quarter of the width with
# wrap-around, red and blue swapped and darkened), and ask for each copy: is its nearest
# neighbour among the other 27 images a version of the same photo?

# %%
names = ["cat", "espresso", "daisy", "palace", "rocket", "astronaut", "grace_hopper"]
originals = torch.cat([center_square(load_image(n), 160) for n in names])
variants = E.perturbations(originals)
gallery = torch.cat([originals, *variants.values()])
photo = torch.arange(len(gallery)) % len(names)
kind = ["original"] * len(names) + [k for k in variants for _ in names]
gallery_codes = E.center(E.compute_codes(model, gallery, ["head"])["head"].mean)
spaces = {"pixels": (gallery.flatten(1), "euclidean"), "codes": (gallery_codes, "cosine")}
nearest = {s: [int(E.nearest_neighbors(f, q, 2, m)[0][1]) for q in range(len(gallery))] for s, (f, m) in spaces.items()}
for change in variants:
    queries = [q for q in range(len(gallery)) if kind[q] == change]
    right = {s: sum(photo[nearest[s][q]] == photo[q] for q in queries) for s in spaces}
    print(f"{change:11} same photo found: pixels {right['pixels']}/{len(queries)}, codes {right['codes']}/{len(queries)}")

# %%
fooled = [q for q in range(len(names), len(gallery)) if photo[nearest["pixels"][q]] != photo[q]][:4]
shown, titles = [], []
for q in fooled:
    for label, j in (("query", q), ("pixels' nearest", nearest["pixels"][q]), ("codes' nearest", nearest["codes"][q])):
        shown.append(gallery[j:j + 1])
        titles.append(f"{label}:\n{names[photo[j]]} ({kind[j]})")
plotting.show_images(shown, titles, ncols=3, size=2.2)

# %% [markdown]
# ## t-SNE: the whole collection at a glance
#
# t-SNE places every photo in the plane so that near neighbours stay near (distances between
# far-apart groups mean little). PCA to 50 dimensions first makes it faster and less noisy. The
# frame colour is the class. In pixel space the classes overlap where their silhouettes do;
# in code space they form islands, and the related ones (sandal, sneaker, ankle boot; shirt,
# T-shirt, pullover, coat) lie side by side.

# %%
points_pixels = E.tsne(pixels, "euclidean")
points_codes = E.tsne(features, "cosine")
display(plotting.thumbnail_map(points_pixels, collection.images, collection.labels, collection.classes,
                               title="t-SNE of the pixels"))
display(plotting.thumbnail_map(points_codes, collection.images, collection.labels, collection.classes,
                               title="t-SNE of the head codes"))

# %% [markdown]
# ## Maximally activating patches
#
# A unit (one channel at one position) of a layer sees only a window of the input, its
# **receptive field**, computed exactly from the kernel sizes, strides and paddings of every
# layer before it (this network pads like TensorFlow's "SAME", which depends on the input
# size). For a few channels of a shallow, a middle and a deep layer, each row shows the
# windows of the 8 photos on which the channel fired most, strongest first; grey is the part
# of the window outside the photo. Shallow units fire on edges and corners; deeper ones on
# larger parts (collars, soles, straps). Deep units of this network see the whole 160 px
# image (stage5 onwards), so their "patch" is the whole photo.

# %%
for layer in ("stage2", "stage3", "stage4"):
    rf = E.receptive_field(model, layer, 160)
    found = E.top_patches(model, collection, codes, layer, channels=range(6), n=8)
    display(plotting.patch_grid({c: crops for c, (_, crops) in found.items()},
                                title=f"{layer}: receptive field {rf.size[0]} px, stride {rf.stride[0]} px"))

# %% [markdown]
# ## Try it
#
# Pick a query from the collection (slider) or upload a photo, a layer and k: the panel shows
# the query's neighbours in both spaces. Changing the layer or k uses the cached codes and
# answers at once; an upload costs one forward pass.

# %% tags=["nbval-ignore-output"]
from lecture_utils.widgets import FeatureSpacePanel
FeatureSpacePanel(model, collection, codes, query=250)
