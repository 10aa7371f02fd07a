"""ROAD against pytorch-grad-cam's: time on the same Grad-CAM map, model and photo.

`rows()` returns rows shaped like those of run.py: (measure, ours, peer, target, ok); run.py
computes the ratio ours/peer. Run alone: python benchmarks/faithfulness.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lecture_utils import attribution as A  # noqa: E402
from lecture_utils import faithfulness as F  # noqa: E402
from lecture_utils import load_image, load_model  # noqa: E402
from lecture_utils.images import center_square  # noqa: E402


def road_rows(repeats=3):
    """ROAD, most relevant first, at the paper's nine fractions: ours (one call, one batch of
    forward passes) against pytorch-grad-cam's ROADMostRelevantFirst (one call per fraction),
    both imputing the same pixels with the same solver's system."""
    from pytorch_grad_cam.metrics.road import ROADMostRelevantFirst
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    from run import interleaved_ms

    model = load_model(device="cpu")
    photo = center_square(load_image("cat"), 224)
    target = int(model(photo).argmax())
    cam = A.grad_cam(model, photo, target)
    scaled = ((cam - cam.min()) / (cam.max() - cam.min())).numpy()

    def theirs():
        for fraction in F.ROAD_FRACTIONS:
            ROADMostRelevantFirst(percentile=round(100 * (1 - fraction)))(
                photo, scaled, [ClassifierOutputSoftmaxTarget(target)], model)

    ours_ms, theirs_ms = interleaved_ms(lambda: F.road(model, photo, target, cam), theirs, repeats)
    return [("ROAD MoRF, 9 fractions, one 224 px photo vs pytorch-grad-cam (ms, median)", ours_ms, theirs_ms,
             "ratio <= 1.00", ours_ms / theirs_ms <= 1.0)]


def rows():
    return road_rows()


if __name__ == "__main__":
    for row in rows():
        measure, ours, peer, target, ok = row
        print(f"{measure}: ours {ours:.3g}, peer {peer:.3g}, ratio {ours / peer:.2f}, target {target}: "
              f"{'pass' if ok else 'falls short'}")
