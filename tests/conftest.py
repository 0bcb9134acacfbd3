"""Shared fixtures: the real GAMS, the fake GAMS, and fresh copies of the test models.

A missing real GAMS is a test FAILURE, never a skip: the tests that need it
are the ones that prove times-doctor works, and a green run without them
would be a lie.  ``make venv`` installs it (PyPI package gamspy-base).
"""

import io
import os
import shutil
import sys

import pytest

from scan_helpers import find_real_gams

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO_ROOT, "tests", "models")
FAKE_GAMS = os.path.join(REPO_ROOT, "tests", "fakegams", "gams")

# The fake GAMS runs under the interpreter of the test session (so the 3.6
# leg really exercises it on 3.6), unless the caller chose one.  Set here,
# not in a fixture, because CLI subprocesses inherit os.environ.
os.environ.setdefault("FAKE_GAMS_PYTHON", sys.executable)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gams: needs the real GAMS (TD_TEST_GAMS or the gamspy-base package)")



@pytest.fixture(scope="session")
def gams_path():
    """Absolute path of the real ``gams`` executable (fails the test when absent)."""
    path, origin = find_real_gams()
    if path is None or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail("real GAMS not found (%s): run 'make venv' and 'make test', or set "
                    "TD_TEST_GAMS to a gams executable" % origin, pytrace=False)
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def fake_gams_path():
    """Absolute path of the fake ``gams`` wrapper (tests/fakegams/gams)."""
    if not os.access(FAKE_GAMS, os.X_OK):
        pytest.fail("%s is not executable (lost its execute bit?)" % FAKE_GAMS, pytrace=False)
    return FAKE_GAMS


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="session")
def models_dir():
    return MODELS_DIR


@pytest.fixture
def copy_model(tmp_path):
    """A factory: ``copy_model(name, dest=None)`` copies tests/models/NAME and returns the copy.

    The copy is ``tmp_path/NAME`` unless *dest* is given (a path that must not
    exist yet).  Each call gives a fresh copy, so a test may change it freely.
    A ``X.lst.in`` in the model becomes ``X.lst`` in the copy, with ``@MODEL_DIR@``
    replaced by the copy's absolute path: the listing a previous GAMS run would
    have left there, whose Include File Summary names the TIMES source by full path.
    """
    def copy(name, dest=None):
        source = os.path.join(MODELS_DIR, name)
        if not os.path.isdir(source):
            raise ValueError("no test model %r in %s (have: %s)"
                             % (name, MODELS_DIR, ", ".join(sorted(os.listdir(MODELS_DIR)))))
        target = os.path.abspath(str(dest) if dest is not None else str(tmp_path / name))
        shutil.copytree(source, target)
        render_listing_templates(target)
        return target
    return copy


def render_listing_templates(model_dir):
    for folder, _, files in os.walk(model_dir):
        for name in files:
            if name.endswith(".lst.in"):
                template = os.path.join(folder, name)
                with io.open(template, encoding="utf-8") as handle:
                    text = handle.read().replace("@MODEL_DIR@", model_dir)
                with io.open(template[:-len(".in")], "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.remove(template)
