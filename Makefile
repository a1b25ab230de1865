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

.PHONY: help install data browser book serve lab test test-unit test-notebooks test-site execute reproduce bench portability lint clean

help:
	@echo "make book   build the static site into _build/html"
	@echo "make serve  serve the built site on http://localhost:$(PORT)"
	@echo "make test   unit tests, every chapter under strict nbval, site checks"
	@echo "make lab    JupyterLab on the notebooks"
	@echo "make execute  re-run the notebooks in place (refresh stored outputs)"
	@echo "make reproduce  re-run every recorded training of cnnlab.zoo (RUNS='gap_cnn' for one)"
	@echo "make bench  each chapter's time and peak memory, the explainers' throughput"
	@echo "make portability  the chapters under strict nbval, oneDNN on and off, 1 and 2 threads"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# MNIST into the cache (verified by SHA-256); see cnnlab/data.py for the sources.
data: $(STAMP)
	$(BIN)/python -m cnnlab.data

# Headless Chromium for the site test: Debian's package, installed where we
# are root (as CI is); elsewhere the site test says what to install.
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser test..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found and not root: install it (apt-get install chromium) for the site test."; fi

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is in _build/html: open _build/html/index.html, or run 'make serve'."

serve:
	@test -f _build/html/index.html || $(MAKE) book
	@echo "Serving the book on http://localhost:$(PORT) (Ctrl-C stops)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

lab: $(STAMP) data
	$(BIN)/jupyter lab notebooks

test: test-unit test-notebooks test-site

test-unit: $(STAMP) data
	$(BIN)/python -m pytest tests -m "not site"

NBVAL := $(BIN)/python -m pytest --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg \
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
	$(BIN)/python -m cnnlab.bench

test-site: $(STAMP) browser book
	$(BIN)/python -m pytest tests -m site

# Re-run every chapter in place; widget state is not stored (the site uses the
# explorers' own HTML, and stored state would make the site load widget code).
execute: $(STAMP) data
	@for nb in $(NOTEBOOKS); do echo "executing $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.store_widget_state=False "$$nb" \
	  || exit 1; done

# Re-run every recorded run of cnnlab.zoo from scratch (the reference models,
# the chapters' short trainings, chapter 7's learning process: about an hour on
# two CPU cores), writing cnnlab/weights/. Progress: one line per epoch.
# RUNS='gap_cnn' re-runs one of them.
reproduce: $(STAMP) data
	@if [ -n "$(MODELS)" ]; then echo "MODELS is now RUNS: make reproduce RUNS='$(MODELS)'"; exit 2; fi
	$(BIN)/python -m cnnlab.zoo $(RUNS)

lint: $(STAMP)
	$(BIN)/ruff check cnnlab tests book/_ext

clean:
	rm -rf _build
