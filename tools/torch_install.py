"""Install PyTorch the light way before the rest of the set-up (`make lab`, `make test`).

PyPI's Linux torch wheel pulls in about 3 GB of NVIDIA CUDA libraries, which a machine without
an NVIDIA GPU never uses. On such a machine this installs torch and torchvision from PyTorch's
CPU-only wheel index when that can be reached, and says that it falls back to PyPI's wheels
when it cannot; a machine with an NVIDIA GPU gets PyPI's (CUDA) wheels. TORCH_INDEX=pypi or
TORCH_INDEX=cpu chooses instead of the machine.

    python tools/torch_install.py             # run by the Makefile with the virtual environment's python
    python tools/torch_install.py --dry-run   # print the choice and the pip command only
"""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

CPU_INDEX = os.environ.get("TORCH_CPU_INDEX", "https://download.pytorch.org/whl/cpu")
PACKAGES = ("torch>=2.2", "torchvision>=0.17")  # pyproject.toml's lower bounds


def has_nvidia_gpu():
    """Whether the machine has an NVIDIA GPU (its kernel driver is loaded)."""
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def reachable(url, timeout=10):
    try:
        urllib.request.urlopen(f"{url.rstrip('/')}/torch/", timeout=timeout).close()
        return True
    except OSError:
        return False


def choice(wanted=None, gpu=None, index_reachable=None):
    """(the pip arguments that install torch, a sentence saying which and why). `wanted`:
    "cpu", "pypi" or None (the machine decides); gpu and index_reachable are asked when None."""
    if wanted not in (None, "", "cpu", "pypi"):
        raise SystemExit(f"TORCH_INDEX={wanted!r}: use cpu, pypi, or leave it unset (the machine decides)")
    if wanted == "pypi" or (not wanted and (has_nvidia_gpu() if gpu is None else gpu)):
        why = "as asked (TORCH_INDEX=pypi)" if wanted else "this machine has an NVIDIA GPU"
        return [*PACKAGES], f"torch from PyPI, with CUDA: {why}"
    if index_reachable if index_reachable is not None else reachable(CPU_INDEX):
        return ["--index-url", CPU_INDEX, *PACKAGES], f"CPU-only torch from {CPU_INDEX} (no NVIDIA GPU here; about 3 GB less)"
    if wanted == "cpu":
        raise SystemExit(f"TORCH_INDEX=cpu, but {CPU_INDEX} cannot be reached")
    return [*PACKAGES], (f"{CPU_INDEX} cannot be reached: falling back to PyPI's torch, which brings "
                         "CUDA libraries (about 3 GB) this machine does not use")


def main(argv):
    arguments, sentence = choice(os.environ.get("TORCH_INDEX"))
    print(f"torch_install: {sentence}", flush=True)
    command = [sys.executable, "-m", "pip", "install", *arguments]
    if "--dry-run" in argv:
        print(" ".join(command))
        return 0
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
