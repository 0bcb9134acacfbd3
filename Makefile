# times-doctor: test environments, the test run, a demo scan, the zipapp.
#
#   make venv      .venv (default python3, pytest + gamspy-base: the real GAMS for every leg),
#                  .venv36 (newest CPython 3.6 from pyenv, pip<22, pytest==7.0.1),
#                  .venv-newest (newest CPython 3 from pyenv, pytest)
#   make test      pytest under all three; fails if any leg fails (PYTEST_ARGS="-k foo -x")
#   make demo      a real scan of tests/models/transport into $(DEMO_OUT)
#   make zipapp    dist/times-doctor.pyz (DIST=dir to build elsewhere)
#   make browser   Debian chromium + chromium-driver for the dashboard browser test
#                  (apt-get, only when /usr/bin/chromium or /usr/bin/chromedriver is missing)
#   make bench / bench-quick / clean
#   make torture   randomised cancellation trials with invariant checks (SEED=1, N=30)
#
# pip uses whatever index this machine is configured with (pip.conf, PIP_* variables).

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON      ?= python3
# Interpreters, each looked up once (":="); any of them may be given on the command line.
ifndef PYENV_ROOT
PYENV_ROOT  := $(shell pyenv root 2>/dev/null)
endif
# Newest 3.6.x under pyenv (version sort: 3.6.15 > 3.6.9), else python3.6 on PATH.
ifndef PY36
PY36        := $(or $(shell ls -d $(PYENV_ROOT)/versions/3.6.*/bin/python 2>/dev/null | sort -V | tail -n 1),$(shell command -v python3.6 2>/dev/null))
endif
# Newest released CPython 3 under pyenv (3.13.x here), else the default python3.
ifndef PY_NEWEST
PY_NEWEST   := $(or $(shell ls -d $(PYENV_ROOT)/versions/3.*.*/bin/python 2>/dev/null | grep -E '/versions/3\.[0-9]+\.[0-9]+/bin/python$$' | sort -V | tail -n 1),$(PYTHON))
endif

PYTEST_SPEC      ?= pytest==9.2.0
PYTEST36_SPEC    ?= pytest==7.0.1
GAMSPY_BASE_SPEC ?= gamspy-base==54.6.1

VENV        := .venv
VENV36      := .venv36
VENV_NEWEST := .venv-newest
PY          := $(VENV)/bin/python
DEMO_OUT    ?= /tmp/times-doctor-demo
DIST        ?= dist
PYTEST_ARGS ?=

# The real gams, from gamspy-base in .venv (an already exported TD_TEST_GAMS wins).
GAMS_FROM_VENV = $$($(PY) -c 'import os, gamspy_base; print(os.path.join(gamspy_base.directory, "gams"))')

.PHONY: venv browser test demo zipapp bench bench-quick torture clean

venv: $(VENV)/.stamp $(VENV36)/.stamp $(VENV_NEWEST)/.stamp

$(VENV)/.stamp:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q "$(PYTEST_SPEC)" "$(GAMSPY_BASE_SPEC)"
	$(VENV)/bin/python -c 'import os, gamspy_base; g = os.path.join(gamspy_base.directory, "gams"); assert os.access(g, os.X_OK), g'
	touch $@

# pip 21.3.1 is the last pip for 3.6, pytest 7.0.1 the last pytest; no gamspy-base needed.
$(VENV36)/.stamp:
	@if [ -z "$(PY36)" ] || ! "$(PY36)" -c 'import sys; assert sys.version_info[:2] == (3, 6)' 2>/dev/null; then \
		echo "error: no CPython 3.6 found (looked for $(or $(PYENV_ROOT),<no pyenv>)/versions/3.6.*/bin/python and python3.6 on PATH)." >&2; \
		echo "       The 3.6 leg is required; install one (e.g. 'pyenv install 3.6.15') or set PY36=/path/to/python3.6." >&2; \
		exit 1; \
	fi
	rm -rf $(VENV36)
	"$(PY36)" -m venv $(VENV36)
	$(VENV36)/bin/python -m pip install -q --upgrade "pip<22"
	$(VENV36)/bin/python -m pip install -q "$(PYTEST36_SPEC)"
	touch $@

# gamspy-base is optional here ("-"): every leg uses the gams from .venv.
$(VENV_NEWEST)/.stamp:
	rm -rf $(VENV_NEWEST)
	"$(PY_NEWEST)" -m venv $(VENV_NEWEST)
	$(VENV_NEWEST)/bin/python -m pip install -q --upgrade pip
	$(VENV_NEWEST)/bin/python -m pip install -q "$(PYTEST_SPEC)"
	-$(VENV_NEWEST)/bin/python -m pip install -q "$(GAMSPY_BASE_SPEC)"
	touch $@

# The dashboard's browser test drives Debian's chromium through chromedriver. Installed only
# when missing (needs root, or sudo); a machine that has them never calls apt-get.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing chromium and chromium-driver (dashboard browser test)"; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y chromium chromium-driver; \
	fi

# Each leg runs even when an earlier one failed; the target fails if any did.
test: venv browser
	@gams="$${TD_TEST_GAMS:-$(GAMS_FROM_VENV)}"; failed=""; \
	for venv in $(VENV) $(VENV36) $(VENV_NEWEST); do \
		echo "=== $$venv: $$($$venv/bin/python -c 'import platform; print(platform.python_version())') (gams: $$gams)"; \
		TD_TEST_GAMS="$$gams" $$venv/bin/python -m pytest -q tests $(PYTEST_ARGS) || failed="$$failed $$venv"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED legs:$$failed" >&2; exit 1; fi; \
	echo "all legs passed: $(VENV) $(VENV36) $(VENV_NEWEST)"

demo: venv
	GAMS="$${TD_TEST_GAMS:-$(GAMS_FROM_VENV)}"; \
	$(PY) -m times_doctor scan tests/models/transport --gams-path "$$GAMS" --yes --out "$(DEMO_OUT)"

# A staging copy with only the package, and a top-level __main__.py
# (zipapp -m would discard main()'s return value, the exit code).
zipapp:
	rm -rf build/zipapp
	mkdir -p build/zipapp "$(DIST)"
	cp -R times_doctor build/zipapp/
	find build/zipapp -name __pycache__ -type d -prune -exec rm -rf {} +
	printf 'import sys\nfrom times_doctor.cli import main\nsys.exit(main())\n' > build/zipapp/__main__.py
	$(PYTHON) -m zipapp build/zipapp -o "$(DIST)/times-doctor.pyz" -p "/usr/bin/env python3"
	@echo "built $(DIST)/times-doctor.pyz"

bench: $(VENV)/.stamp
	$(PY) bench/run.py

bench-quick: $(VENV)/.stamp
	$(PY) bench/run.py --quick

# Randomised, seeded cancellation trials (SEED=, N=); see README "Torture suite".
torture: $(VENV)/.stamp
	$(PY) bench/torture.py --seed $(or $(SEED),1) --trials $(or $(N),30)

clean:
	rm -rf $(VENV) $(VENV36) $(VENV_NEWEST) build dist .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
