# Two commands work on a fresh machine with Python >= 3.11 and make:
#   make demo   creates .venv, installs sgdsde, runs the default study into sgdsde-report/
#   make test   creates .venv, installs the test extras, runs the whole test suite
#   make docs   creates .venv, installs the docs extra, builds the site into docs/_build/html
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
JOBS   ?= auto

.PHONY: demo test lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/sgdsde demo

# One BLAS thread per test worker: pytest-xdist already runs one worker per core, and
# multi-threaded OpenBLAS on small products oversubscribes the cores (10x slower measured).
test: $(VENV)/.installed-test
	OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check sgdsde tests examples benchmarks

# API reference, theory, validation table and gallery (the examples are not run: their committed
# figures are shown).  tests/test_docs.py builds the same sources with warnings as errors.
docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -b html -q docs docs/_build/html
	@echo "docs/_build/html/index.html"

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/langevin_toy.py

clean:
	rm -rf $(VENV) sgdsde-report .pytest_cache .hypothesis docs/_build docs/generated
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
