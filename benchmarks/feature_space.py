"""Benchmarks of notebook 02 (feature space); run.py calls `rows()`.

Targets: codes for 500 images <= 30 s; t-SNE of 500 codes <= 20 s (this project's CPU).
Each row: (measure, ours, peer (None: no peer), target text, met). The notebook's own time
and memory (cold and warm cache) come from run.py's `run_notebook`, with LECTURE_UTILS_CACHE
pointing at an empty folder for the cold run.
"""

import tempfile
import time

from lecture_utils import load_model
from lecture_utils import embedding as E
from lecture_utils.datasets import fashion_mnist


def rows():
    model = load_model(device="cpu")
    collection = fashion_mnist(per_class=50)  # 500 photos
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        codes = E.collection_codes(model, collection, ["stage2", "stage3", "stage4", "head"], size=160,
                                   folder=folder, progress=False)
        codes_s = time.perf_counter() - start
        start = time.perf_counter()
        again = E.collection_codes(model, collection, ["stage2", "stage3", "stage4", "head"], size=160,
                                   folder=folder, progress=False)
        warm_s = time.perf_counter() - start
    assert again.computed == ()
    start = time.perf_counter()
    E.tsne(E.center(codes["head"].mean), "cosine")
    tsne_s = time.perf_counter() - start
    return [
        ("feature space: codes of 500 images, 4 layers, 160 px (s)", codes_s, None, "<= 30", codes_s <= 30.0),
        ("feature space: the same codes from the cache (s)", warm_s, None, "<= 1", warm_s <= 1.0),
        ("feature space: t-SNE of 500 codes (s)", tsne_s, None, "<= 20", tsne_s <= 20.0),
    ]


if __name__ == "__main__":
    for measure, ours, _, target, met in rows():
        print(f"{measure:60} {ours:8.2f}  target {target:6}  {'met' if met else 'MISSED'}")
