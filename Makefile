# The README's commands. Each target sets up what it needs itself: a fresh
# machine with Python 3.11+ and make is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

# Quiet TensorFlow's C++ log lines and fix the hash seed. oneDNN off by default:
# on 2 cores the chapters ran faster without it (README, "oneDNN"); the stored
# outputs hold either way (make portability). TF_ENABLE_ONEDNN_OPTS=1 make ... turns it on.
export PATH := $(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS ?= 0
export PYTHONHASHSEED := 0

.PHONY: help install data browser book serve lab test test-unit test-notebooks test-site execute reproduce bench portability lint clean retarget classroom

help:
	@echo "make book   build the static site into _build/html"
	@echo "make retarget  point the chapters' install cells at the site _config.yml's repository url names"
	@echo "make serve  serve the built site on http://localhost:$(PORT)"
	@echo "make test   unit tests, every chapter under strict nbval, site checks"
	@echo "make lab    JupyterLab on your copies of the notebooks, in scratch/"
	@echo "make execute  re-run the notebooks in place (refresh stored outputs)"
	@echo "make reproduce  re-run every recorded training of cnnlab.zoo (RUNS='gap_cnn' for one)"
	@echo "make bench  each chapter's time and peak memory, the explainers' throughput, the explorers' answers"
	@echo "make classroom  a real local JupyterHub with N simulated students (N=6 CHAPTER=01_convolution.ipynb)"
	@echo "make portability  the chapters under strict nbval, oneDNN on and off, 1 and 2 threads"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# MNIST and chapter 8's two small sets into the cache (verified by SHA-256); see
# cnnlab/data.py and cnnlab/other_data.py for the sources.
data: $(STAMP)
	$(BIN)/python -m cnnlab.data
	$(BIN)/python -m cnnlab.other_data

# Headless Chromium for the site test: Debian's package, installed where we
# are root (as CI is); elsewhere the site test says what to install.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found and not root: install it (apt-get install chromium) for the site test."; fi

# The site carries cnnlab's wheel in _static/ (book/_ext/book_location.py builds it).
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is in _build/html: open _build/html/index.html, or run 'make serve'."

# After a change of repository.url in _config.yml (README, "Where the book
# lives"): the WHEEL line of every chapter's install cell, then 'make book'.
retarget: $(STAMP)
	$(BIN)/python book/_ext/book_location.py --write

serve:
	@test -f _build/html/index.html || $(MAKE) book
	@echo "Serving the book on http://localhost:$(PORT) (Ctrl-C stops)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

# JupyterLab on copies of the chapters in scratch/ (git-ignored): the committed
# notebooks are the book's record, and autosave would rewrite them. A chapter is
# copied only when scratch/ lacks it, so a reader's work survives a restart; delete
# scratch/<chapter>.ipynb (or scratch/) and run make lab again for a fresh copy.
# A kernel is shut down once no tab is connected to it and it has been idle for
# LAB_IDLE_S seconds (checked every minute), so a closed tab's kernel (up to 1.5 GB)
# goes at most about 16 minutes after its last cell ran. cull_connected=False spares a
# kernel while a tab is open on it, however long its reader pauses, and a kernel
# running a cell is never culled (cull_busy is off by default).
LAB_IDLE_S ?= 900
lab: $(STAMP) data
	@mkdir -p scratch
	@for nb in $(NOTEBOOKS); do test -e "scratch/$$(basename $$nb)" || cp "$$nb" scratch/; done
	$(BIN)/jupyter lab scratch $$([ "$$(id -u)" = 0 ] && echo --allow-root) \
	  --MappingKernelManager.cull_idle_timeout=$(LAB_IDLE_S) \
	  --MappingKernelManager.cull_interval=60 --MappingKernelManager.cull_connected=False

test: test-unit test-notebooks test-site

test-unit: $(STAMP) data
	$(BIN)/python -m pytest tests -m "not site"

# The record is made and checked with the site's frames (cnnlab.explorers.base:
# static_frames_wanted), also when make runs inside a Jupyter session.
RECORD := CNNLAB_STATIC_FRAMES=1
NBVAL := $(RECORD) $(BIN)/python -m pytest --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout 600 -p no:cacheprovider

test-notebooks: $(STAMP) data
	$(NBVAL)

# The stored outputs must not depend on the machine: run every chapter with
# oneDNN off and on, on 1 and on 2 intra-op threads (about 40 minutes on 2 cores).
portability: $(STAMP) data
	@for onednn in 0 1; do for threads in 1 2; do \
	  echo "== oneDNN $$onednn, $$threads intra-op thread(s)"; \
	  TF_ENABLE_ONEDNN_OPTS=$$onednn TF_NUM_INTRAOP_THREADS=$$threads OMP_NUM_THREADS=$$threads \
	    $(NBVAL) -q || exit 1; done; done

# Each chapter's wall time and the kernel's peak memory against the classroom
# budget (3 minutes, 1.5 GB), and the explainers' throughput against plain
# forward and backward passes. A benchmark, not a test: run it on a quiet machine.
bench: $(STAMP) data
	$(RECORD) $(BIN)/python -m cnnlab.bench

# A lecture's JupyterHub (deploy/jupyterhub_config.py) on localhost with N simulated
# students, each running CHAPTER at once through the hub's API: per-student time and
# peak kernel memory, failures. A benchmark, not a test (about 6 minutes for N=6 on 2
# cores). The proxy comes from npm, installed under deploy/.node; Node.js from Debian where
# we are root and it is missing.
N ?= 6
CHAPTER ?= 01_convolution.ipynb
CLASSROOM_STAMP := $(VENV)/.classroom
CLASSROOM_PROXY := deploy/.node/node_modules/.bin/configurable-http-proxy

$(CLASSROOM_STAMP): $(STAMP)
	$(BIN)/python -m pip install --progress-bar off -e '.[dev,classroom]'
	@touch $(CLASSROOM_STAMP)

$(CLASSROOM_PROXY):
	@if ! command -v npm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's nodejs and npm for configurable-http-proxy..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm not found and not root: install Node.js and npm for the classroom."; exit 1; fi; fi
	@# configurable-http-proxy 5 needs Node.js 20; Debian 12's is 18, which takes version 4.
	@major=$$(node -p 'process.versions.node.split(".")[0]'); \
	version=$$([ "$$major" -ge 20 ] && echo 5 || echo 4); \
	echo "npm install configurable-http-proxy@$$version into deploy/.node (Node.js $$major)"; \
	npm install --prefix deploy/.node --no-audit --no-fund --loglevel=error configurable-http-proxy@$$version

classroom: $(CLASSROOM_STAMP) data $(CLASSROOM_PROXY)
	$(BIN)/python deploy/classroom.py --students $(N) --notebook $(CHAPTER)

test-site: $(STAMP) browser book
	$(BIN)/python -m pytest tests -m site

# Re-run every chapter in place; widget state is not stored (the site uses the
# explorers' own HTML, and stored state would make the site load widget code).
execute: $(STAMP) data
	@for nb in $(NOTEBOOKS); do echo "executing $$nb"; \
	  $(RECORD) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.store_widget_state=False "$$nb" \
	  || exit 1; done

# Re-run every recorded run of cnnlab.zoo from scratch (the reference models,
# the chapters' short trainings and experiments, chapter 7's learning process:
# several hours on two CPU cores), writing cnnlab/weights/. Progress: a bar over all
# epochs, a line per epoch.
# RUNS='gap_cnn' re-runs one of them.
reproduce: $(STAMP) data
	@if [ -n "$(MODELS)" ]; then echo "MODELS is now RUNS: make reproduce RUNS='$(MODELS)'"; exit 2; fi
	$(BIN)/python -m cnnlab.zoo $(RUNS)

lint: $(STAMP)
	$(BIN)/ruff check cnnlab tests book/_ext

clean:
	rm -rf _build
