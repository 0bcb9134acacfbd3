"""Shared fixtures: the GAMS under test, the fake GAMS, and fresh copies of the test models.

The GAMS under test is the real one whenever a licensed one is at hand, else
the GAMS stand-in driven by real solvers (tests/gams_select.py says how it is
chosen; the pytest header says which ran and why).  A GAMS that cannot run
at all (no licensed real one and a stand-in missing a solver) is a test
FAILURE, never a skip: the tests that need it are the ones that prove
times-doctor works, and a green run without them would be a lie.
``make venv`` installs the solvers (and gamspy-base) into .venv.

The Windows leg (tests/wine_leg.py) runs this suite under the official Windows
CPython under Wine: no GAMS can run there (gams_select.WINDOWS_NO_GAMS), so the
tests that need one skip with that reason, ``fake_gams_path`` is the fake's
``gams.cmd``, and the modules in POSIX_ONLY_MODULES are one skipped item each.
"""

import io
import os
import re
import shutil
import sys

import pytest

from gams_select import STANDIN_GAMS, WINDOWS_NO_OPTION_READER, select_gams
from scan_helpers import FAKE_GAMS, cli_env

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO_ROOT, "tests", "models")
WINDOWS = os.name == "nt"

# What the Windows leg does not run, module by module, and why (printed as the skip
# reason; the module is not even imported: several need fcntl or pty).  Single tests
# that are POSIX-only say so in their own module.
POSIX_ONLY_MODULES = {
    "test_cancel_e2e.py": "POSIX only: drives the Ctrl+C menu through a real pty (Windows "
                          "has no select() on a console; the menu is POSIX-only) around "
                          "the GAMS stand-in",
    "test_resume_e2e.py": "POSIX only: a real pty and the GAMS stand-in's real solvers",
    "test_slurm.py": "POSIX only: SLURM runs on Linux clusters (--launcher slurm is not "
                     "supported on Windows)",
    "test_scan_signals.py": "POSIX only: SIGTERM and SIGHUP to the scanner (Windows has "
                            "neither; the control commands cancel there, tested in "
                            "test_windows_scan.py)",
    "test_procgroup_posix.py": "POSIX only: sessions, killpg and /proc on real processes "
                               "(the Windows seam's real-process tests are "
                               "test_windows_procgroup.py)",
    "test_gurobi_oracle.py": "the oracle gurobi-logtools needs numpy and pandas, and numpy "
                             "aborts under Wine 8.0 (ucrtbase.dll.crealf); the parser "
                             "runs the same code on every platform",
    "test_procgroup_posix_fake.py": "POSIX only: the POSIX seam's logic, in POSIX signals "
                                    "that Windows' signal module does not have",
    "test_optdef_oracle.py": WINDOWS_NO_OPTION_READER,
    "test_torture.py": "runs bench/torture.py with the GAMS stand-in (Linux): "
                       + "see gams_select.WINDOWS_NO_GAMS",
}

# The fake GAMS runs under the interpreter of the test session (so the 3.6
# leg really exercises it on 3.6), unless the caller chose one.  Set here,
# not in a fixture, because CLI subprocesses inherit os.environ.
os.environ.setdefault("FAKE_GAMS_PYTHON", sys.executable)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "gams: runs GAMS: the real one when licensed, else the stand-in")
    config.addinivalue_line(
        "markers", "real_gams_only(reason): means something only against a licensed real "
                   "GAMS; skipped, with that reason, when the stand-in is under test")


def pytest_report_header(config):
    lines = ["GAMS under test: %s" % select_gams().description]
    if WINDOWS:
        from wine_helpers import platform_line
        lines.insert(0, platform_line())
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Again at the end: "-q" hides the header, and a reader of CI output looks here.
    for line in pytest_report_header(config):
        terminalreporter.write_line(line)


if WINDOWS:
    class PosixOnlyModule(pytest.File):
        """A test module the Windows leg does not import: one item, skipped with its reason."""

        def collect(self):
            yield PosixOnlySkip.from_parent(self, name=self.path.name)

    class PosixOnlySkip(pytest.Item):
        def runtest(self):
            pytest.skip(POSIX_ONLY_MODULES[self.path.name])

        def reportinfo(self):
            return self.path, None, self.name

    @pytest.fixture(scope="session")
    def gams_exe(tmp_path_factory):
        """A fake GAMS system folder with gams.exe, in a path with a space and a non-ASCII
        letter (wine_helpers.exe_gams_dir)."""
        from wine_helpers import exe_gams_dir
        return exe_gams_dir(str(tmp_path_factory.mktemp("gams") / "GAMS 54 Ü"))

    def pytest_pycollect_makemodule(module_path, parent):
        # In place of the module (first result wins), so it is never imported.
        if module_path.name in POSIX_ONLY_MODULES:
            return PosixOnlyModule.from_parent(parent, path=module_path)
        return None


def pytest_collection_modifyitems(config, items):
    selection = select_gams()
    if selection.is_real:
        return
    for item in items:
        marker = item.get_closest_marker("real_gams_only")
        if marker is not None:
            why = marker.args[0] if marker.args else "needs a licensed real GAMS"
            item.add_marker(pytest.mark.skip(
                reason="%s; GAMS under test: %s" % (why, selection.description)))


@pytest.fixture(scope="session")
def gams_selection():
    """The GAMS under test (gams_select.Selection): real when licensed, else the stand-in."""
    selection = select_gams()
    if selection.kind == "none":
        pytest.skip(selection.description)
    problems = [] if selection.is_real else selection.standin_problems()
    if problems:
        pytest.fail("no GAMS to test with: %s; run 'make venv' (it installs cplex, gurobipy "
                    "and highspy into .venv) or set TD_TEST_GAMS to a licensed gams"
                    % "; ".join(problems), pytrace=False)
    return selection


@pytest.fixture(scope="session")
def standin():
    """The GAMS stand-in's path, whichever GAMS is under test; fails (never skips) when
    its solvers are missing: the stand-in's own tests always run."""
    if select_gams().kind == "none":
        pytest.skip(select_gams().description)
    problems = select_gams().standin_problems()
    if problems:
        pytest.fail("the GAMS stand-in cannot run: %s; run 'make venv'" % "; ".join(problems),
                    pytrace=False)
    return STANDIN_GAMS


@pytest.fixture(scope="session")
def gams_path(gams_selection):
    """Absolute path of the ``gams`` under test (the real one or the stand-in)."""
    return gams_selection.path


@pytest.fixture(scope="session")
def gams_kind(gams_selection):
    """"real" or "standin"."""
    return gams_selection.kind


@pytest.fixture(scope="session")
def fake_gams_path():
    """Absolute path of the fake ``gams`` wrapper (tests/fakegams/gams; gams.cmd on Windows)."""
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
        # Not copy2 on Windows: Python 3.12+ copies with CopyFile2 there, which Wine 8.0
        # does not implement (the process aborts).
        shutil.copytree(source, target, copy_function=shutil.copy if WINDOWS else shutil.copy2)
        render_listing_templates(target)
        return target
    return copy


def render_listing_templates(model_dir):
    for folder, _, files in os.walk(model_dir):
        for name in files:
            if name.endswith(".lst.in"):
                template = os.path.join(folder, name)
                with io.open(template, encoding="utf-8") as handle:
                    text = re.sub(r"@MODEL_DIR@(\S*)", lambda match: model_dir + match.group(1)
                                  .replace("/", os.sep), handle.read())
                with io.open(template[:-len(".in")], "w", encoding="utf-8",
                             newline="") as handle:
                    handle.write(text)
                os.remove(template)


@pytest.fixture
def isolated_env(tmp_path):
    """CLI environment with a private session registry."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    return cli_env({"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path / "home")})


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium driven over WebDriver (tests/browser_helpers.py)."""
    from browser_helpers import chromium
    with chromium(tmp_path) as driver:
        yield driver


@pytest.fixture(scope="session")
def slurm_cluster():
    """A real one-node SLURM cluster (munged, slurmctld, slurmd as root; issue 13).

    Started once per session in a temporary folder and stopped at its end.  A
    cluster that cannot start is a test FAILURE with the daemons' log tails,
    never a skip (``make slurm`` installs the Debian packages).
    """
    from slurm_cluster import ClusterError, SlurmCluster
    cluster = SlurmCluster()
    try:
        cluster.start()
    except ClusterError as exc:
        pytest.fail("the test SLURM cluster did not start: %s" % exc, pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()
