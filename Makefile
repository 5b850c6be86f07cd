# The README's two commands: `make demo` and `make test`. Both set up .venv on first use
# and reinstall the package only when its sources changed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-installed
# The package itself, reinstalled when any file it ships changes.
INSTALLED := $(VENV)/.package-installed
SOURCES   := pyproject.toml README.md $(shell find otio_avsync -type f -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)
# What Qt's X11 plugin (the review panel) and A/B playback load on Debian/Ubuntu
# beyond a desktop's usual libraries; Qt aborts without them.
SYSTEM_DEBS := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
               libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libpulse0
SYSTEM    := $(VENV)/.system-libs

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

$(INSTALLED): $(STAMP) $(SOURCES)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation --force-reinstall .
	touch $(INSTALLED)

# Where it can (Debian or Ubuntu, as root), install the system libraries; never fail the build.
$(SYSTEM): $(STAMP)
	@if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then \
	  if dpkg -s $(SYSTEM_DEBS) >/dev/null 2>&1; then :; \
	  elif [ "$$(id -u)" = 0 ]; then \
	    echo "installing the libraries Qt needs: $(SYSTEM_DEBS)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $(SYSTEM_DEBS); } >/dev/null 2>&1 \
	    || echo "warning: could not install $(SYSTEM_DEBS); the review panel may not open" >&2; \
	  else \
	    echo "note: the review panel needs (as root) apt-get install $(SYSTEM_DEBS)" >&2; \
	  fi; \
	fi; touch $(SYSTEM)

install: $(INSTALLED) $(SYSTEM)

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
