# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-installed

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build; an unpinned torch pulls several GB of CUDA.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet ".[test,lips]"
	# The face mesh's wheel, without the dependencies it declares but does not use (pyproject.toml).
	$(PY) -m pip install --quiet --no-deps "mediapipe==0.10.14"
	touch $(STAMP)

install: $(STAMP)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation --force-reinstall .

demo: install
	$(VENV)/bin/otio-avsync demo --dir avsync-demo

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check otio_avsync tests bench scripts

bench: install
	$(PY) bench/bench_audit.py

clean:
	rm -rf $(VENV) build dist avsync-demo
