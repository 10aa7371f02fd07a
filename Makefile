# Two entry points (see README): `make lab` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

.PHONY: setup data lab test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test]'
	touch $(STAMP)

# Notebook 02's photo collection: Debian's Fashion-MNIST package (or a folder you name).
data:
	@if [ -f $(FASHION_MNIST) ] || [ -n "$$LECTURE_UTILS_FASHION_MNIST" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; }; \
	else echo "Notebook 02 needs Fashion-MNIST: sudo apt-get install dataset-fashion-mnist, or set" \
	  "LECTURE_UTILS_FASHION_MNIST to a folder with its four *-ubyte.gz files"; fi

setup: $(STAMP) data

lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_start_here.ipynb

test: setup
	$(PY) -m pytest --nbval --nbval-current-env tests $(wildcard notebooks/*.ipynb)

bench: setup
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
