# Two entry points (see README): `make lab` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

FASHION_MNIST := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
HELD_OUT := /usr/share/backgrounds/mate/nature
# the photos of the unit atlas's patches (data/README.md), mate-backgrounds' also the held-out photos
PHOTO_PACKAGES := mate-backgrounds plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 gcompris-qt-data

.PHONY: setup data chromium heldout lab demo test bench bench-gpu notebooks solutions readme slides book clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes. torchattacks (a test-only peer of the adversarial
# module) pins an old requests that clashes with JupyterLab's; it needs only torch: no deps.
# torch-lucent (the feature-visualisation peer) pins kornia<=0.4.1, which needs an old torch; it
# runs on a current kornia (tests/lucent_peer.py), listed in the test extras with its imports.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --upgrade pip
	$(PY) tools/torch_install.py
	$(PY) -m pip install -e '.[test]'
	$(PY) -m pip install --no-deps 'torchattacks>=3.5' 'torch-lucent==0.1.8'
	touch $(STAMP)

# The notebooks' photo collections (notebooks 01 and 02): GCompris's photos of things and
# Fashion-MNIST, both Debian packages (or, for Fashion-MNIST, a folder you name).
GCOMPRIS_RCC := /usr/share/gcompris-qt/rcc/categorization.rcc
DATA_PACKAGES := dataset-fashion-mnist gcompris-qt-data
data:
	@if [ -f $(GCOMPRIS_RCC) ] && { [ -f $(FASHION_MNIST) ] || [ -n "$$LECTURE_UTILS_FASHION_MNIST" ]; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DATA_PACKAGES) \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DATA_PACKAGES); }; \
	else echo "Notebooks 01 and 02 need GCompris's photos and Fashion-MNIST: sudo apt-get install" \
	  "$(DATA_PACKAGES) (or set LECTURE_UTILS_FASHION_MNIST to a folder with its four *-ubyte.gz files)"; fi

# The browser test's Chromium: Debian's package (Playwright's own browser downloads are not used).
# Without it the browser test is skipped and says why.
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }; \
	else echo "The browser test needs Chromium: sudo apt-get install chromium (skipped without it)"; fi

# Photos no one in the project chose: the adversarial tests' held-out set (the 12 nature photos
# of Debian's mate-backgrounds) and the photos of the unit atlas's patches (five wallpaper
# packages and GCompris's photos). Without them those tests are skipped and say why.
heldout:
	@if [ -d $(HELD_OUT) ] && [ -d /usr/share/wallpapers ] && [ -f /var/lib/dpkg/info/lomiri-wallpapers-20.04.list ] && [ -d /usr/share/gcompris-qt/rcc ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(PHOTO_PACKAGES) \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(PHOTO_PACKAGES); }; \
	else echo "The held-out and atlas photos: sudo apt-get install $(PHOTO_PACKAGES) (tests skipped without)"; fi

setup: $(STAMP) data

lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00_start_here.ipynb

# Every notebook's panel in a tab of its own, no code: Voilà serves notebooks/demo.ipynb at
# http://localhost:8866 (each tab's panel is built when the tab is first opened), with the
# settings of notebooks/voila.json (read from the folder Voilà starts in): one kernel kept
# preheated for the next visitor, and a visitor's kernel shut down after 10 idle minutes once
# the page is closed.
demo: setup
	cd notebooks && $(abspath $(VENV))/bin/voila --Voila.ip=127.0.0.1 demo.ipynb

# Every deck as one self-contained HTML file and a PDF in slides/ (git-ignored), from the outputs
# stored in the notebooks (nothing is run): for a lecture hall with no kernel. NB=08 (any prefix
# of the names) for some decks only; the PDFs need Chromium.
slides: setup chromium
	$(PY) tools/slides.py $(NB)

# The course site (Jupyter Book 1, tools/book.py) in book/_build/html: the README as its home
# page, a page per notebook with its stored outputs (nothing is executed), formulas, search,
# Binder/Colab launch buttons and a link to each deck of slides/ (run `make slides` first).
book: setup
	$(PY) tools/book.py

# Unit and widget tests, the notebooks (nbval), and every notebook in JupyterLab in headless
# Chromium (tests/test_browser.py; screenshots in test-artifacts/browser/).
test: setup chromium heldout
	$(PY) -m pytest --nbval --nbval-current-env tests $(wildcard notebooks/*.ipynb)

# Every measure of benchmarks/ (BENCH=notebook picks the rows whose measure contains it).
bench: setup
	$(PY) benchmarks/run.py $(BENCH)

# On a machine with a CUDA GPU: benchmarks/RESULTS-gpu.md.
bench-gpu: setup
	$(PY) benchmarks/gpu.py

# Re-execute the notebooks from their text sources (notebooks/NN_topic.py) and store the
# outputs in the .ipynb files: all of them, or NB=03 (any prefix of the names). These are the
# student versions: the exercises' solutions are stripped.
notebooks: $(STAMP)
	$(PY) tools/notebooks.py build $(NB)

# The instructor versions, solutions included, executed into solutions/ (git-ignored); fails
# unless every exercise's check passes there.
solutions: $(STAMP)
	$(PY) tools/notebooks.py solutions $(NB)

# The README's table of notebooks, its Binder links and its pictures (docs/thumbnails/).
# The README's table, thumbnails and badges, and the repository the notebooks' Colab cells install from.
readme: $(STAMP)
	$(PY) tools/notebook_table.py
	$(PY) tools/notebooks.py relayout

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts slides book/_build
