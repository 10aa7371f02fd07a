"""Adversarial attacks against torchattacks: time on the same batch and model.

`rows()` returns rows shaped like those of run.py: (measure, ours, peer, target, ok); run.py
computes the ratio ours/peer and times notebook 05. Run alone: python benchmarks/adversarial.py
"""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_utils import adversarial as A  # noqa: E402
from lecture_utils import bundled_images, load_image, load_model  # noqa: E402
from lecture_utils.images import center_square  # noqa: E402


def attack_rows(repeats=7):
    """FGSM and PGD-10 (no random start) on the 8 bundled photos, ours against torchattacks'."""
    import torchattacks

    from run import interleaved_ms

    model = load_model(device="cpu")
    images = torch.cat([center_square(load_image(n), 224) for n in bundled_images()])
    with torch.no_grad():
        labels = model(images).argmax(1)
    eps, alpha = 2 / 255, 0.5 / 255
    pairs = {
        "FGSM, 8 images": (lambda: A.fgsm(model, images, labels, eps=eps),
                           lambda: torchattacks.FGSM(model, eps=eps)(images, labels)),
        "PGD-10, 8 images": (lambda: A.pgd(model, images, labels, eps=eps, steps=10, lr=alpha, random_start=False),
                             lambda: torchattacks.PGD(model, eps=eps, alpha=alpha, steps=10,
                                                      random_start=False)(images, labels)),
    }
    rows = []
    for name, (ours, theirs) in pairs.items():
        ours_ms, theirs_ms = interleaved_ms(ours, theirs, repeats if name.startswith("FGSM") else 3)
        rows.append((f"{name} vs torchattacks (ms, median)", ours_ms, theirs_ms, "ratio <= 1.00",
                     ours_ms / theirs_ms <= 1.0))
    return rows


def rows():
    """The attacks against torchattacks (run.py times notebook 05 with every other notebook)."""
    return attack_rows()


if __name__ == "__main__":
    for row in rows():
        measure, ours, peer, target, ok = row
        ratio = "" if peer is None else f"{ours / peer:.2f}"
        print(f"{measure}: ours {ours:.3g}, peer {'' if peer is None else f'{peer:.3g}'}, ratio {ratio}, "
              f"target {target}: {'pass' if ok else 'falls short'}")
