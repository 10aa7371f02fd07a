"""tools/torch_install.py: CPU-only torch where there is no NVIDIA GPU, PyPI's torch as the
fallback (the only branch this machine, without the CPU index, can run for real)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("torch_install", ROOT / "tools" / "torch_install.py")
torch_install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_install)


def test_without_a_gpu_the_cpu_index_when_it_answers():
    arguments, sentence = torch_install.choice(gpu=False, index_reachable=True)
    assert arguments[:2] == ["--index-url", torch_install.CPU_INDEX] and "CPU-only" in sentence


def test_with_a_gpu_pypi_and_cuda():
    arguments, sentence = torch_install.choice(gpu=True, index_reachable=True)
    assert "--index-url" not in arguments and "NVIDIA GPU" in sentence


def test_asked_for_explicitly():
    assert "--index-url" not in torch_install.choice("pypi", gpu=False, index_reachable=True)[0]
    assert "--index-url" in torch_install.choice("cpu", gpu=True, index_reachable=True)[0]
    with pytest.raises(SystemExit, match="cannot be reached"):
        torch_install.choice("cpu", gpu=False, index_reachable=False)
    with pytest.raises(SystemExit, match="use cpu, pypi"):
        torch_install.choice("gpu")


def test_falls_back_to_pypi_when_the_cpu_index_cannot_be_reached():
    """The script as the Makefile runs it, with the CPU index at a port nothing listens on."""
    env = {"PATH": "/usr/bin:/bin", "TORCH_CPU_INDEX": "http://127.0.0.1:9/whl/cpu"}
    done = subprocess.run([sys.executable, ROOT / "tools" / "torch_install.py", "--dry-run"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    said, command = done.stdout.splitlines()
    assert command.split()[1:] == ["-m", "pip", "install", *torch_install.PACKAGES]
    if torch_install.has_nvidia_gpu():
        assert "NVIDIA GPU" in said
    else:
        assert "cannot be reached: falling back to PyPI's torch" in said
