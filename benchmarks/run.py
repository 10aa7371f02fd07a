"""`make bench`: measure speed and memory against the targets; print a table, write RESULTS.md.

Each row: the measure, ours, the peer (a naive way of doing the same thing, run here in the
same process), the ratio ours/peer, the target, and whether ours meets it.

What runs, in this order:
- the attribution methods against Captum, and the activation panel's latency (this file);
- every topic module: each file benchmarks/<topic>.py other than this one and gpu.py (a script
  for a CUDA machine, which writes RESULTS-gpu.md) defines `rows()`,
  which returns a list of rows `(measure, ours, peer or None, target text, met)`, e.g.
  `("t-SNE of 500 codes (s)", 7.9, None, "<= 20", True)`; a new module is picked up by its
  file alone;
- every notebook in notebooks/: a fresh kernel runs it top to bottom, timed, and its peak
  resident memory (VmHWM) is read from inside it, in all and less the pages it maps from files
  (as tests/test_browser.py counts it). Targets: NOTEBOOK_SECONDS, else 120 s; 1.5 GB in all,
  1.15 GB not mapped from files.
  Notebooks with a cache (COLD_CACHE) run twice on an empty LECTURE_UTILS_CACHE: cold, then warm.

`python benchmarks/run.py WORD...` (`make bench BENCH=WORD`) runs only the parts whose name
contains a WORD ("attribution", "panel", a topic module's name, a notebook's name) and prints
their rows without writing RESULTS.md.
"""

import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_utils import load_model  # noqa: E402
from lecture_utils.activations import get_activations  # noqa: E402
from lecture_utils.plotting import colorize, png_bytes  # noqa: E402
from lecture_utils.widgets import ActivationExplorer  # noqa: E402

# VmHWM: the kernel's own peak resident memory (ru_maxrss would include the process it was
# started from, which survives exec on Linux); RssFile: the part of it mapped from files.
PEAK_RSS = ("print(*(f'{key} ' + open('/proc/self/status').read().split(f'{key}:')[1].split()[0]"
            " for key in ('VmHWM', 'RssFile')))")
PEAK_GB = 1.5  # a Binder session has about 2 GB
PRIVATE_GB = 1.15  # what tests/test_browser.py allows once the file pages are left out (why: there)
NOTEBOOK_SECONDS = {  # targets from each notebook's own brief; others get DEFAULT_SECONDS
    "00_start_here": 60,
    "01_filters_and_activations": 60,
    "03_what_the_network_looks_at": 90,
}
DEFAULT_SECONDS = 120
QUOTED = "## Figures once quoted in docstrings"  # the part of RESULTS.md a full run keeps
COLD_CACHE = {"02_feature_space": (90, 45)}  # (cold, warm) targets in seconds


def run_notebook(path, env=None):
    """Wall time of a fresh kernel running the notebook top to bottom, its peak memory (GB)
    and that peak less the pages mapped from files (GB).

    env: extra environment variables for the kernel.
    """
    book = nbformat.read(path, as_version=4)
    book.cells.append(nbformat.v4.new_code_cell(PEAK_RSS))
    saved = dict(os.environ)
    # the kernel imports this checkout's lecture_utils, as this script does
    os.environ.update(env or {}, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), saved.get("PYTHONPATH")])))
    try:
        start = time.perf_counter()
        NotebookClient(book, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    words = "".join(o.get("text", "") for o in book.cells[-1].outputs).split()
    peak, files = (int(words[words.index(key) + 1]) / 1024**2 for key in ("VmHWM", "RssFile"))
    return seconds, peak, peak - files


def memory_rows(label, peak, private):
    return [(f"{label}: peak kernel memory (GB)", peak, None, f"<= {PEAK_GB}", peak <= PEAK_GB),
            (f"{label}: peak kernel memory not mapped from files (GB)", private, None, f"<= {PRIVATE_GB}",
             private <= PRIVATE_GB)]


def median_ms(action, repeats=15):
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def interleaved_ms(first, second, repeats):
    """Medians (ms) of two callables run alternately, so drifts of the machine hit both alike."""
    first(), second()  # warm-up
    times = ([], [])
    for _ in range(repeats):
        for f, out in zip((first, second), times):
            start = time.perf_counter()
            f()
            out.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def panel_latency():
    """Ours: the panel re-renders a cached map. Peer: recompute the forward pass on each change."""
    model = load_model(device="cpu")
    panel = ActivationExplorer(model, image="cat", layer="stage3")
    layers = list(model.layers)

    def ours(i):
        panel.layer.value = layers[i % len(layers)]
        panel.channel.value = i % 16

    def peer(i):
        name = layers[i % len(layers)]
        with torch.no_grad():
            amap = get_activations(model, panel.picker.image, [name])[name][0, i % 16]
        png_bytes(colorize(amap), 224)

    return median_ms(ours), median_ms(peer)


def alexnet_random():
    """AlexNet with random weights behind our wrapper, as load_model would give it."""
    import torchvision

    from lecture_utils.models import IMAGENET_MEAN, IMAGENET_STD, ImageNetModel, _alexnet_layers, imagenet_categories

    torch.manual_seed(0)
    net = torchvision.models.alexnet(weights=None)
    for module in net.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    model = ImageNetModel("alexnet", net, _alexnet_layers(net), imagenet_categories(), IMAGENET_MEAN, IMAGENET_STD)
    return model.eval().requires_grad_(False)


def attribution_vs_captum():
    """Each method against Captum's on the same model, image and target (median of runs)."""
    from captum.attr import (Deconvolution, GuidedBackprop, IntegratedGradients, LayerGradCam,
                             NoiseTunnel, Occlusion, Saliency)

    from lecture_utils import attribution as A
    from lecture_utils import load_image

    model = load_model(device="cpu")
    image = load_image("cat", size=(224, 224))
    head = model.get_submodule(model.layers["head"])
    # Captum's guided backprop and deconvnet see only nn.ReLU; on the bundled ReLU6 model they
    # would time a plain gradient. Compare those two on AlexNet (random weights, ReLUs).
    relu_net = alexnet_random()
    pairs = {
        "saliency": (lambda: A.saliency(model, image, 285),
                     lambda: Saliency(model).attribute(image, target=285)),
        "guided_backprop (AlexNet)": (lambda: A.guided_backprop(relu_net, image, 285),
                                      lambda: GuidedBackprop(relu_net).attribute(image, target=285)),
        "deconvnet (AlexNet)": (lambda: A.deconvnet(relu_net, image, 285),
                                lambda: Deconvolution(relu_net).attribute(image, target=285)),
        "grad_cam": (lambda: A.grad_cam(model, image, 285),
                     lambda: LayerGradCam(model, head).attribute(image.clone().requires_grad_(), target=285)),
        "smoothgrad (16 samples)": (lambda: A.smoothgrad(model, image, 285, samples=16),
                                    lambda: NoiseTunnel(Saliency(model)).attribute(
                                        image, target=285, nt_type="smoothgrad", nt_samples=16, stdevs=0.15)),
        "integrated_gradients (32 steps)": (lambda: A.integrated_gradients(model, image, 285, steps=32),
                                            lambda: IntegratedGradients(model).attribute(image, target=285, n_steps=32)),
        "occlusion (window 32, stride 16)": (lambda: A.occlusion(model, image, 285, window=32, stride=16),
                                             lambda: Occlusion(model).attribute(
                                                 image, target=285, sliding_window_shapes=(3, 32, 32), strides=(3, 16, 16))),
    }
    rows = []
    for name, (ours, theirs) in pairs.items():
        repeats = 5 if name.startswith(("occlusion", "smooth", "integrated")) else 21
        ours_ms, theirs_ms = interleaved_ms(ours, theirs, repeats)
        target = 1 / 1.5 if name.startswith("occlusion") else 1.0
        rows.append((f"{name} vs Captum (ms, median)", ours_ms, theirs_ms, f"ratio <= {target:.2f}",
                     ours_ms / theirs_ms <= target))
    return rows


def notebook_rows(path):
    name = path.stem
    if name in COLD_CACHE:
        cold_target, warm_target = COLD_CACHE[name]
        rows = []
        with tempfile.TemporaryDirectory() as cache:
            for label, target in (("cold cache", cold_target), ("warm cache", warm_target)):
                seconds, *memory = run_notebook(path, {"LECTURE_UTILS_CACHE": cache})
                rows.append((f"notebook {name}, {label}: top to bottom (s)", seconds, None, f"<= {target}",
                             seconds <= target))
                rows += memory_rows(f"notebook {name}, {label}", *memory)
        return rows
    target = NOTEBOOK_SECONDS.get(name, DEFAULT_SECONDS)
    seconds, *memory = run_notebook(path)
    return [(f"notebook {name}: top to bottom (s)", seconds, None, f"<= {target}", seconds <= target),
            *memory_rows(f"notebook {name}", *memory)]


def panel_rows():
    ours_ms, peer_ms = panel_latency()
    return [("layer/channel change in the panel (ms, median)", ours_ms, peer_ms, "<= 100", ours_ms <= 100)]


def topic_rows(module_name):
    """The rows of benchmarks/<module_name>.py's `rows()`."""
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "benchmarks" / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [tuple(row) for row in module.rows()]


def parts():
    """(name, function returning rows) for everything `make bench` measures."""
    found = [("attribution vs Captum", attribution_vs_captum), ("panel latency", panel_rows)]
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.stem not in ("run", "gpu", "__init__"):  # gpu.py: its own script, for a CUDA machine
            found.append((f"topic {path.stem}", lambda name=path.stem: topic_rows(name)))
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        found.append((f"notebook {path.stem}", lambda path=path: notebook_rows(path)))
    return found


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(words=()):
    warnings.filterwarnings("ignore")  # Captum warns about hooks it sets
    chosen = [(name, measure) for name, measure in parts() if not words or any(w in name for w in words)]
    if not chosen:
        sys.exit(f"nothing matches {' '.join(words)}; parts: {', '.join(name for name, _ in parts())}")
    rows = []
    for name, measure in chosen:
        print(f"measuring: {name}", file=sys.stderr, flush=True)
        rows += measure()

    header = "| measure | ours | peer | ours/peer | target | result |\n| --- | --- | --- | --- | --- | --- |\n"
    lines = [
        f"| {m} | {o:.3g} | {'' if p is None else f'{p:.3g}'} | {'' if p is None else f'{o / p:.2f}'} "
        f"| {t} | {'pass' if ok else 'falls short'} |"
        for m, o, p, t, ok in rows
    ]
    machine = (f"{cpu_name()} ({platform.machine()}), {torch.get_num_threads()} CPU threads, Python {platform.python_version()}, "
               f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    peer_note = ("Peers: Captum 0.9 on the same model (the bundled one; AlexNet with random weights where "
                 "named, since Captum's ReLU rules see only nn.ReLU), image (224 x 224) and target, with its defaults except the "
                 "settings named; for the panel, recomputing the forward pass for every slider change (a panel "
                 "without a cache). Occlusion's target: at least 1.5x faster than Captum's.")
    table = header + "\n".join(lines)
    print(table)
    if words:  # a partial run leaves the full results in place
        return 0 if all(r[-1] for r in rows) else 1
    results = ROOT / "benchmarks" / "RESULTS.md"
    # the section of figures once quoted in docstrings is a record, not a measure: keep it
    kept = results.read_text().partition(QUOTED)[1:] if results.is_file() else ("", "")
    results.write_text(f"# Benchmark results\n\nMachine: {machine}\n\n{table}\n\n{peer_note}\n"
                       + (f"\n{kept[0]}{kept[1]}" if kept[0] else ""))
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
