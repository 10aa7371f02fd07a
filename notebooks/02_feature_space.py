# %% [markdown] slideshow={"slide_type": "slide"}
# # 02 · Feature space
#
# Photos whose **CNN codes** are close are photos the network finds alike; distance between the
# pixels is the naive comparison.

# %% [markdown] slideshow={"slide_type": "notes"}
# *Lecture: the last layer as a feature space ("CNN codes"); nearest neighbours in feature space
# against pixel space (Krizhevsky et al. 2012); t-SNE of CNN codes (van der Maaten and Hinton
# 2008); maximally activating patches (Zeiler and Fergus 2014).*
#
# Average a layer's activation over all positions and you get one number per channel: the
# image's **CNN code** at that layer (1,280 numbers at `head`, the layer the classifier reads).
# Images whose codes are close are images the network finds alike. This notebook compares that
# notion of "alike" with the naive one, distance between the pixels.
#
# **The collection.** 224 colour photos of things from the educational suite
# [GCompris](https://gcompris.net) (Debian package `gcompris-qt-data`; each photo's licence,
# GPL-3+, CC-BY, CC-BY-SA or public domain, is in the package's `copyright` file), sorted by the
# suite into six kinds: animals, fish, household objects, monuments, renewable-energy sites
# (wind turbines, solar panels, dams) and tools, each centre-cropped to 160 x 160. The network
# never saw these photos in training, and the six kinds are not its classes. Two other
# collections load with `load_collection("fashion_mnist")` (Fashion-MNIST, 28 px grey clothes) or
# `load_collection("imagenette")` (after `python -m lecture_utils fetch imagenette`).

# %% slideshow={"slide_type": "skip"}
# %matplotlib inline
import torch
from lecture_utils import load_model, load_image, plotting
from lecture_utils import embedding as E
from lecture_utils.datasets import load_collection
from lecture_utils.images import center_square

model = load_model(device="cpu")
collection = load_collection()  # GCompris's photos
print(f"{collection.name}: {len(collection)} photos of {tuple(collection.images.shape[-2:])} px, "
      f"{len(collection.classes)} classes: {', '.join(collection.classes)}")

# %% [markdown] slideshow={"slide_type": "notes"}
# **CNN codes.** One pass over the collection gives the codes at four layers, and for each
# channel where it was most active (for the patches below).

# %% slideshow={"slide_type": "skip"}
LAYERS = ["stage2", "stage3", "stage4", "head"]
codes = E.collection_codes(model, collection, LAYERS, size=160, progress=False)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Which space knows the classes?
#
# Each photo classified by the majority kind of its 5 nearest other photos, by pixels (Euclidean
# distance) or by the codes of one layer (cosine distance): the share classified right.

# %% [markdown] slideshow={"slide_type": "notes"}
# A simple test: classify every photo by the majority label of its 5 nearest other photos
# (leave-one-out 5-NN). Pixels use Euclidean distance; codes use cosine distance after
# subtracting the collection's mean code (what every photo shares says nothing about its kind).
# The printout's last line gives the codes' accuracy without that subtraction.

# %% slideshow={"slide_type": "-"}
pixels = E.pixels(collection)
print(f"pixels (Euclidean)    {E.knn_accuracy(pixels, collection.labels, 5, 'euclidean'):.1%}")
centred_row, raw_row = [], []
for layer in LAYERS:
    raw, centred = codes[layer].mean, E.center(codes[layer].mean)
    centred_row.append(f"{layer} {E.knn_accuracy(centred, collection.labels, 5):.1%}")
    raw_row.append(f"{layer} {E.knn_accuracy(raw, collection.labels, 5):.1%}")
print("codes (cosine)       ", ", ".join(centred_row))
print("codes, not centred   ", ", ".join(raw_row))

# %% [markdown] slideshow={"slide_type": "notes"}
# The head codes beat the pixels by 36 points (91% against 55%; six kinds, so guessing gives
# about 17%, and always answering "monument", the largest kind, 31%). The deeper the layer, the
# better its codes: stage2 59%, stage3 66%, stage4 74%, head 91%. Pixels know little here: the
# photos differ in pose, framing, background and light, so two photos of one kind rarely line
# up pixel by pixel.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Nearest neighbors in feature space
#
# A query, then its 6 nearest photos by pixels and by head codes, with their kind and distance.
# <small>After Krizhevsky, Sutskever and Hinton 2012.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# A query, then its 6 nearest photos in each space (kind and distance above each); the title
# counts how many of the 6 are of the query's kind.

# %% slideshow={"slide_type": "-"}
features = E.center(codes["head"].mean)
kind_of = lambda i: collection.classes[int(collection.labels[i])]

def neighbours_figure(query, k=6):
    rows, same = [], []
    for title, space, metric in (("pixels\n(Euclidean)", pixels, "euclidean"),
                                 ("head codes\n(cosine)", features, "cosine")):
        idx, dist = E.nearest_neighbors(space, query, k + 1, metric)
        idx, dist = idx[1:], dist[1:]  # the first is the query itself, at distance 0
        rows.append((title, collection.images[idx], [f"{kind_of(i)}\n{d:.2f}" for i, d in zip(idx.tolist(), dist.tolist())]))
        same.append(int((collection.labels[idx] == collection.labels[query]).sum()))
    return plotting.neighbor_rows(collection.images[query], rows, size=1.25, fontsize=12,
                                  title=f"query: {kind_of(query)}; of the 6, same kind: pixels {same[0]}, codes {same[1]}")

neighbours_figure(0)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Nearest neighbors in feature space: one query of each kind
#
# The first photo of three of the six kinds (rows), and its 6 nearest photos by head codes; the
# printout counts the same kind among the 6, for all six.
# <small>After Krizhevsky, Sutskever and Hinton 2012.</small>

# %% slideshow={"slide_type": "-"}
queries = [int((collection.labels == c).nonzero()[0]) for c in range(len(collection.classes))]
table, captions = [], []
for q in queries:
    idx = E.nearest_neighbors(features, q, 7, "cosine")[0][1:]
    table.append([collection.float_images([q])] + list(collection.float_images(idx).split(1)))
    captions.append(["query"] + [kind_of(i).split()[0] for i in idx.tolist()])  # "household", not "household object"
print("same kind among the 6:", ", ".join(f"{kind_of(q)} {int((collection.labels[E.nearest_neighbors(features, q, 7, 'cosine')[0][1:]] == collection.labels[q]).sum())}" for q in queries))
plotting.image_table(table[:3], row_labels=[kind_of(q) for q in queries[:3]], titles=captions[:3], size=1.5, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# Of each query's six neighbours by codes, these share its kind: animal 6, fish 6, tool 5,
# monument 5, household object 3, renewable energy 2. Where the kind does not match, the
# neighbour still looks like the query: the baseball's are a volleyball, a blackboard and a cup
# (household objects) but also two fish and a calf.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Nearest neighbors in feature space: three more kinds
#
# The first photo of each of the other three kinds, and its 6 nearest photos by head codes.
# <small>After Krizhevsky, Sutskever and Hinton 2012.</small>

# %% slideshow={"slide_type": "-"}
plotting.image_table(table[3:], row_labels=[kind_of(q) for q in queries[3:]], titles=captions[3:], size=1.5, fontsize=14)

# %% [markdown] slideshow={"slide_type": "notes"}
# Here too a neighbour of another kind looks like the query: the dam's are two more dams and four
# landscapes with water or walls that the suite files as monuments (an aqueduct, the Great
# Wall). The kinds are the suite's folders, not what the network was trained on.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: nearest neighbours by cosine similarity
#
# `E.nearest_neighbors` does this lookup. Write it yourself: the cosine similarity of two codes is
# the dot product of the codes scaled to length 1, so it compares their directions and ignores
# their lengths. Return the indices of the k codes most similar to the query, most similar first.
# (`torch.nn.functional.normalize` and `Tensor.topk` help.)

# %% slideshow={"slide_type": "skip"}
import torch.nn.functional as F


def nearest_neighbors(features, query, k):
    """Indices (k,) of the rows of features (N, D) most similar to query (D,), most similar first."""
    ### BEGIN SOLUTION
    similarity = F.normalize(features, dim=1) @ F.normalize(query, dim=0)
    return similarity.topk(k).indices
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
from lecture_utils.exercises import check
check("nearest_neighbors", nearest_neighbors)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A flip, a shift, a colour change: pixels against codes
#
# Seven bundled photos, three copies of each (mirrored, shifted, recoloured): how often is a
# copy's nearest neighbour among the other 27 images a version of the same photo?

# %% [markdown] slideshow={"slide_type": "notes"}
# Take the seven bundled photos, make three copies of each (mirrored, shifted by a quarter of the
# width with wrap-around, red and blue swapped and darkened), and ask for each copy: is its
# nearest neighbour among the other 27 images a version of the same photo?

# %% slideshow={"slide_type": "-"}
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

# %% [markdown] slideshow={"slide_type": "notes"}
# The codes find a version of the same photo for all 21 copies. The pixels find 6 of the 7
# mirrored copies, but only 4 of 7 shifted and 4 of 7 recoloured ones.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A flip, a shift, a colour change: where the pixels miss
#
# For each kind of change, the first copy whose pixel neighbour is another photo: the copy
# (large), and under it its nearest image by pixels and its nearest by codes.

# %% slideshow={"slide_type": "-"}
misses = [q for q in range(len(names), len(gallery)) if photo[nearest["pixels"][q]] != photo[q]]
fooled = [next(q for q in misses if kind[q] == change) for change in variants if any(kind[q] == change for q in misses)]
shown, titles = [], []
for q in fooled:
    row = (q, nearest["pixels"][q], nearest["codes"][q])
    shown.append([gallery[j:j + 1] for j in row])
    titles.append([f"{names[photo[j]]} ({kind[j]})" for j in row])
plotting.image_table(shown, col_labels=["", "by pixels", "by codes"], titles=titles, size=1.9, fontsize=16,
                     large_first=True)

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Three of the seven shifted photos have another photo as their nearest
# neighbour in pixel space, none in code space. Why?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Pixel distance compares the two images position by position: after a shift most
# positions hold something else, so the distance can grow beyond the distance to another
# photo. The head code averages each channel over all positions, and the channels respond to
# parts (notebook 01 shows head channels firing on a cat's face, nose and eyes) wherever they
# are: a shift moves the parts but keeps which parts are there. The network was
# trained on randomly cropped and mirrored photos, so such changes did not change the answer it
# had to give.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## t-SNE: the whole collection at a glance
#
# Each photo placed in the plane, near neighbours kept near, framed in its kind's colour: the
# pixels, then the head codes.
# <small>After van der Maaten and Hinton 2008, and Karpathy's t-SNE of CNN codes.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# t-SNE places every photo in the plane so that near neighbours stay near (distances between
# far-apart groups mean little). PCA to 50 dimensions first makes it faster and less noisy. The
# frame colour is the class. To put a number on how well each map keeps the classes apart, the
# same 5-NN vote as above runs on the 2-D points.

# %% tags=["nbval-ignore-output", "thumbnail"] slideshow={"slide_type": "-"}
points_pixels = E.tsne(pixels, "euclidean")
points_codes = E.tsne(features, "cosine")
for name, points in (("pixels", points_pixels), ("head codes", points_codes)):
    print(f"5-NN accuracy in the 2-D map of the {name}: {E.knn_accuracy(points, collection.labels, 5, 'euclidean'):.0%}")
for points, name in ((points_pixels, "pixels"), (points_codes, "head codes")):
    display(plotting.thumbnail_map(points, collection.images, collection.labels, collection.classes,
                                   thumb=34, size=7, fontsize=15, title=f"t-SNE of the {name}"))

# %% [markdown] slideshow={"slide_type": "notes"}
# In the map of the head codes each kind is an island or a region of its own: the fish, the
# animals, the monuments, the tools with the household objects beside them, and the wind
# turbines and windmills as a group apart from the other renewable-energy photos (solar panels,
# dams). In the map of the pixels only two things gather: photos on a white background (tools,
# household objects) in one corner, and dark, green or watery photos (fish, many animals) in
# another; the rest mixes. (t-SNE places the islands anew on every run; what stays is which
# photos share one.) The 5-NN vote in
# the 2-D maps, printed above them, says the same.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Features and maximally activating patches
#
# Channels 0 to 3 of stage3 and of stage4, a row each: the windows of the 6 photos on which the
# channel fired most, strongest first; grey lies outside the photo.
# <small>After Zeiler and Fergus 2014.</small>

# %% [markdown] slideshow={"slide_type": "notes"}
# A unit (one channel at one position) of a layer sees only a window of the input, its
# **receptive field**, computed exactly from the kernel sizes, strides and paddings of every
# layer before it (this network pads like TensorFlow's "SAME", which depends on the input
# size). Zeiler and Fergus (2014) cut such windows out of the photos that excite a unit most.
# For the first four channels of two layers, each row shows the windows of the 6 photos on
# which the channel fired most, strongest first; grey is the part of the window outside the
# photo. (Notebook 01 averages such windows for the shallower `stage2`.)
#
# - **stage3** (67 px windows of the 160 px photos): channel 1 fires on a straight edge against
#   blue sky (the slope of a pyramid, a temple's roof, a windmill's sails, a rock face), channel 3
#   on a dark bar or curve on a light ground (a duck's head, a handle, a sail); channels 0 and 2
#   mix several things.
# - **stage4** (147 px windows, most of the photo; grey is outside it): channel 0 fires on stone
#   buildings with a sloping or stepped outline against the sky (a temple, two pyramids, the
#   Colosseum) in four of its six windows; channels 1 to 3 hold no one kind of thing (fur, an
#   arch, a fish; a tape measure, a kangaroo, a windmill).
#
# Deeper units of this network see the whole 160 px image (stage5 onwards), so their "patch" is
# the whole photo. Notebook 03 shows, beside such patches, which of their pixels made the unit
# fire.

# %% slideshow={"slide_type": "-"}
for layer in ("stage3", "stage4"):
    rf = E.receptive_field(model, layer, 160)
    found = E.top_patches(model, collection, codes, layer, channels=range(4), n=6)
    display(plotting.patch_grid({c: crops for c, (_, crops) in found.items()}, display=120, fontsize=16,
                                title=f"{layer}: receptive field {rf.size[0]} px, stride {rf.stride[0]} px"))

# %% [markdown] slideshow={"slide_type": "skip"}
# **Question.** Why do the patches of deeper layers look more like parts of objects?

# %% [markdown] jupyter={"source_hidden": true} slideshow={"slide_type": "skip"}
# **Answer.** Two reasons. A deeper unit sees a larger window (its receptive field grows with
# every layer, and fastest after strided ones), so a whole sole or collar fits in it. And it
# combines the detectors below it: a shallow unit can only say "an edge here", a deeper one "these
# edges in this arrangement", which is what a part is.

# %% [markdown] slideshow={"slide_type": "skip"}
# ### Exercise: the receptive field of a chain of layers
#
# How many input pixels does one unit see, after a chain of convolutions and poolings, each
# given as (kernel, stride)? Walk up the chain: a layer's kernel spans k units of the layer below
# it, which are `jump` input pixels apart (the product of the strides below), so each layer adds
# (k - 1) * jump pixels to the window. Return the window's size and the final jump (the
# stride in input pixels between neighbouring units). Padding moves the window, not its size.

# %% slideshow={"slide_type": "skip"}
def receptive_field(layers):
    """(size, stride) in input pixels of one unit after layers, a list of (kernel, stride)."""
    ### BEGIN SOLUTION
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size, jump
    ### END SOLUTION


# %% slideshow={"slide_type": "skip"}
check("receptive_field", receptive_field)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Try it

# %% [markdown] slideshow={"slide_type": "notes"}
# Pick a query from the collection (slider) or upload a photo, a layer and k: the panel shows
# the query's neighbours in both spaces.

# %% [markdown] slideshow={"slide_type": "notes"}
# Changing the layer or k reuses the codes computed above and answers at once; an upload costs
# one forward pass.

# %% tags=["nbval-ignore-output"] slideshow={"slide_type": "-"}
from lecture_utils.widgets import FeatureSpacePanel
FeatureSpacePanel(model, collection, codes)

