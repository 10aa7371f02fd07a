"""`make bench`: measure speed and memory against the targets; print a table, write RESULTS.md.

Each row: the measure, ours, the peer (a naive way of doing the same thing, run here in the
same process), the ratio ours/peer, the target, and whether ours meets it.
"""

import platform
import statistics
import sys
import time
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

PEAK_RSS = "import resource; print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def run_notebook(path):
    """Wall time of a fresh kernel running the notebook top to bottom, and its peak memory (GB)."""
    book = nbformat.read(path, as_version=4)
    book.cells.append(nbformat.v4.new_code_cell(PEAK_RSS))
    start = time.perf_counter()
    NotebookClient(book, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in book.cells[-1].outputs)
    kb = int(text.split("PEAK_RSS_KB")[1].split()[0])
    return seconds, kb / 1024**2


def median_ms(action, repeats=15):
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


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


def main():
    rows = []
    ours_ms, peer_ms = panel_latency()
    rows.append(("layer/channel change in the panel (ms, median)", ours_ms, peer_ms, 100, ours_ms <= 100))
    for name, target_s in [("00_start_here", 60), ("01_filters_and_activations", 60)]:
        seconds, gb = run_notebook(ROOT / "notebooks" / f"{name}.ipynb")
        rows.append((f"notebook {name}: top to bottom (s)", seconds, None, target_s, seconds <= target_s))
        rows.append((f"notebook {name}: peak kernel memory (GB)", gb, None, 1.5, gb <= 1.5))

    header = "| measure | ours | peer | ours/peer | target | result |\n| --- | --- | --- | --- | --- | --- |\n"
    lines = [
        f"| {m} | {o:.3g} | {'' if p is None else f'{p:.3g}'} | {'' if p is None else f'{o / p:.2f}'} "
        f"| <= {t} | {'pass' if ok else 'falls short'} |"
        for m, o, p, t, ok in rows
    ]
    machine = (f"{platform.machine()}, {torch.get_num_threads()} CPU threads, Python {platform.python_version()}, "
               f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    peer_note = "Peer for the panel: recomputing the forward pass for every slider change (a panel without a cache)."
    table = header + "\n".join(lines)
    print(table)
    (ROOT / "benchmarks" / "RESULTS.md").write_text(
        f"# Benchmark results\n\nMachine: {machine}\n\n{table}\n\n{peer_note}\n"
    )
    return 0 if all(r[-1] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
