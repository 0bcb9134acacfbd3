"""Which GAMS the tests, the benchmarks and the torture suite run against.

The real GAMS whenever a licensed one is at hand (``TD_TEST_GAMS``, else the
``gamspy-base`` package in the solver interpreter), probed once with a
trivial job (rc 0 means licensed); otherwise the GAMS stand-in under
``tests/gams_standin/``, which does GAMS's part of a job around real solver
processes (CPLEX Community Edition, Gurobi's restricted licence, HiGHS) from
the package index.  ``TD_TEST_GAMS=standin`` asks for the stand-in outright.

Standard library only: every test leg (3.6 included) imports this.  The
solvers live in one interpreter that has them installed (``.venv``), which
the stand-in always runs under, whatever Python runs the tests.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN_DIR = os.path.join(REPO_ROOT, "tests", "gams_standin")
STANDIN_GAMS = os.path.join(STANDIN_DIR, "gams")

# The Windows leg (tests/wine_leg.py: the official Windows CPython under Wine 8.0) has
# no GAMS to run: the stand-in's solvers do not run under that Wine (checked with their
# Windows wheels for CPython 3.13), so it runs the fake GAMS trees of tests/fakegams.
WINDOWS_NO_GAMS = ("none on the Windows leg: the GAMS stand-in's real solvers do not run "
                   "under Wine 8.0 (CPLEX 22.2 aborts in its solve on the unimplemented "
                   "propsys.dll.VariantToString, and numpy, which HiGHS needs, on "
                   "ucrtbase.dll.crealf); fake GAMS trees run instead")

# GAMS's own option reader (optreader_oracle.py) is a Linux program here.
WINDOWS_NO_OPTION_READER = (
    "GAMS's own option reader (gamsapi) runs under the Linux .venv, which a Windows process "
    "under Wine cannot start; the Linux legs hold optdef to it, and optdef is the same pure "
    "code on every platform")

PROBE_MODEL = ("Variable z; Equation e; e.. z =e= 1;\n"
               "Model probe / all /;\nsolve probe using lp minimizing z;\n")
# What a solver interpreter reports about itself (run under standin_python()).
_SOLVER_REPORT = r"""
import json, sys
report = {}
try:
    import cplex
    report["cplex"] = cplex.__version__
except Exception as error:  # broad on purpose: the report names whatever went wrong
    report["cplex_error"] = "%s: %s" % (type(error).__name__, error)
try:
    import gurobipy
    report["gurobi"] = "%d.%d.%d" % gurobipy.gurobi.version()
    env = gurobipy.Env(empty=True)
    env.setParam("OutputFlag", 0)
    try:
        env.start()
    except gurobipy.GurobiError as error:
        report["gurobi_licence_error"] = str(error)
except Exception as error:  # as above
    report["gurobi_error"] = "%s: %s" % (type(error).__name__, error)
try:
    import highspy
    try:
        from importlib.metadata import version
        report["highs"] = version("highspy")
    except Exception:  # broad on purpose: metadata is only a nicety
        report["highs"] = "installed"
except Exception as error:  # as above
    report["highs_error"] = "%s: %s" % (type(error).__name__, error)
try:
    import gamspy_base, os
    report["gamspy_gams"] = os.path.join(gamspy_base.directory, "gams")
except Exception:  # broad on purpose: gamspy-base is optional
    pass
json.dump(report, sys.stdout)
"""


class Selection(object):
    """The GAMS under test: ``path``, ``kind`` ("real" or "standin") and why."""

    def __init__(self, path, kind, description, solvers):
        # kind "none": no GAMS can run here (the Windows leg); tests that need one skip.
        self.path = path
        self.kind = kind
        self.description = description
        self.solvers = solvers  # the solver interpreter's report (versions, errors)
        self._solver_probes = {}

    @property
    def is_real(self):
        return self.kind == "real"

    def gurobi_problem(self):
        """Why Gurobi cannot run here (licence expired, missing), or None."""
        if "gurobi_error" in self.solvers:
            return "gurobipy is not importable by %s: %s" % (standin_python(),
                                                              self.solvers["gurobi_error"])
        return self.solvers.get("gurobi_licence_error")

    def solver_problem(self, solver):
        """Why the GAMS under test cannot solve with *solver* ("gurobi", ...), or None.

        The stand-in: the solver interpreter's report (Gurobi's pip licence
        ends on 2027-11-29).  A real GAMS: a probe job with ``lp=SOLVER`` (its
        licence may not cover that solver); asked once per solver.
        """
        if not self.is_real:
            return self.gurobi_problem() if solver == "gurobi" else None
        if solver not in self._solver_probes:
            ok, detail = probe_real_gams(self.path, ["lp=%s" % solver])
            self._solver_probes[solver] = None if ok else "%s with lp=%s" % (detail, solver)
        return self._solver_probes[solver]

    def standin_problems(self):
        """What makes the stand-in unusable (a missing solver), as a list of lines."""
        problems = []
        for key in ("cplex", "gurobi", "highs"):
            if key + "_error" in self.solvers:
                problems.append("%s: %s" % (key, self.solvers[key + "_error"]))
        if "error" in self.solvers:
            problems.append(self.solvers["error"])
        return problems


def standin_python():
    """The interpreter that has the solver packages: ``TD_STANDIN_PYTHON``, else ``.venv``."""
    configured = os.environ.get("TD_STANDIN_PYTHON")
    if configured:
        return configured
    return os.path.join(REPO_ROOT, ".venv", "bin", "python")


def solver_report():
    """Versions of CPLEX, Gurobi and HiGHS in the solver interpreter, and any errors."""
    if os.name == "nt":
        return {"error": WINDOWS_NO_GAMS}
    python = standin_python()
    if not os.access(python, os.X_OK):
        return {"error": "no solver interpreter at %s: run 'make venv' (or set "
                         "TD_STANDIN_PYTHON)" % python}
    try:
        output = subprocess.check_output([python, "-c", _SOLVER_REPORT],
                                         stderr=subprocess.STDOUT, timeout=120)
        return json.loads(output.decode("utf-8", "replace").strip().splitlines()[-1])
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, ValueError,
            IndexError) as error:
        return {"error": "the solver interpreter %s failed: %s" % (python, error)}


def probe_real_gams(path, extra_args=()):
    """(True, version) when *path* runs a trivial job with rc 0, else (False, reason).

    With *extra_args* (``lp=gurobi``) the job must also end with model status 1.
    """
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return False, "%s is not an executable file" % path
    work = tempfile.mkdtemp(prefix="td-gams-probe-")
    try:
        with open(os.path.join(work, "probe.gms"), "w") as handle:
            handle.write(PROBE_MODEL)
        banner = _run([path], work)
        job = _run([path, "probe.gms", "lo=3"] + list(extra_args), work)
        listing = ""
        if os.path.isfile(os.path.join(work, "probe.lst")):
            with open(os.path.join(work, "probe.lst"), "rb") as handle:
                listing = handle.read().decode("utf-8", "replace")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    version = _search(r"GAMS Release\s*:\s*(\S+)", banner) or "?"
    if job[0] == 0 and (not extra_args or re.search(r"^\*\*\*\* MODEL STATUS\s+1 ",
                                                    listing, re.M)):
        return True, version
    if job[0] == 0:
        model_status = _search(r"^\*\*\*\* MODEL STATUS\s+(.+?)\s*$", listing) or "none"
        return False, "real GAMS %s: model status %s" % (version, model_status)
    stops = _search(r"Time-limited license stops working on\s*:\s*(.+?)\s*$", banner)
    if stops:
        return False, "real GAMS %s refused: licence stopped working on %s" % (version, stops)
    status = _search(r"^\*\*\* Status: (.+?)\s*$", job[1]) or "no status"
    return False, "real GAMS %s refused: rc %s, %s" % (version, job[0], status)


_SELECTION = []


def select_gams():
    """The Selection for this process (probed once)."""
    if _SELECTION:
        return _SELECTION[0]
    if os.name == "nt":
        _SELECTION.append(Selection(None, "none", WINDOWS_NO_GAMS, {}))
        return _SELECTION[0]
    solvers = solver_report()
    configured = os.environ.get("TD_TEST_GAMS", "")
    refusals = []
    if configured.lower() == "standin":
        refusals.append("TD_TEST_GAMS=standin")
        candidate = None
    else:
        candidate = configured or solvers.get("gamspy_gams")
        if not candidate:
            refusals.append("no real GAMS: TD_TEST_GAMS is not set and gamspy-base is not "
                            "installed in %s" % standin_python())
    if candidate and os.path.abspath(candidate) == STANDIN_GAMS:
        candidate = None
        refusals.append("TD_TEST_GAMS names the stand-in")
    if candidate:
        licensed, detail = probe_real_gams(candidate)
        if licensed:
            selection = Selection(os.path.abspath(candidate), "real",
                                  "real GAMS %s at %s" % (detail, candidate), solvers)
            _SELECTION.append(selection)
            return selection
        refusals.append(detail)
    versions = ", ".join("%s %s" % (label, solvers[key]) for key, label in
                         (("cplex", "CPLEX"), ("gurobi", "Gurobi"), ("highs", "HiGHS"))
                         if key in solvers)
    description = "stand-in (%s); %s" % (versions or "no solvers", "; ".join(refusals))
    selection = Selection(STANDIN_GAMS, "standin", description, solvers)
    _SELECTION.append(selection)
    return selection


def gams_for_tools(explicit=None):
    """(gams path, description) for bench/ and make demo, or raise SystemExit with why not.

    *explicit* (a ``--gams`` option) wins; otherwise the selection above, which
    must be able to run (a stand-in with its solvers, or a licensed real GAMS).
    """
    if explicit:
        return explicit, "--gams %s" % explicit
    selection = select_gams()
    problems = [] if selection.is_real else selection.standin_problems()
    if problems:
        raise SystemExit("no GAMS to run: %s; run `make venv` or pass --gams PATH"
                         % "; ".join(problems))
    return selection.path, selection.description


def _run(command, cwd):
    try:
        proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.communicate(timeout=120)[0]
    except (OSError, subprocess.TimeoutExpired) as error:
        return -1, str(error)
    return proc.returncode, output.decode("utf-8", "replace")


def _search(pattern, text):
    if isinstance(text, tuple):
        text = text[1]
    match = re.search(pattern, text, re.M)
    return match.group(1) if match else None


if __name__ == "__main__":
    chosen = select_gams()
    sys.stdout.write("GAMS under test: %s\n%s\n" % (chosen.description, chosen.path))


def process_role(argv):
    """"gams", "sh", "solver" or "other" for a process of a GAMS job, by its argv.

    The real GAMS 54.6.1 with solvelink=0 runs ``gams``, ``/bin/sh 225a/gamsnext.sh``,
    ``/bin/sh <sysdir>/gmsgenus.run`` and the solver ``<sysdir>/gmsgenux.out``
    (tests/models/README.md); the stand-in runs ``python gams.py``, the same two
    shells and ``python solver.py``.
    """
    if not argv:
        return "other"
    names = [os.path.basename(part) for part in argv[:2]]
    if names[0] == "gams" or (len(names) > 1 and argv[1] == os.path.join(STANDIN_DIR, "gams.py")):
        return "gams"
    if names[0] in ("sh", "dash", "bash"):
        return "sh"
    if names[0] == "gmsgenux.out" or (len(names) > 1 and
                                      argv[1] == os.path.join(STANDIN_DIR, "solver.py")):
        return "solver"
    return "other"
