"""gurobi-logtools as an oracle for SolverLogParser on every captured GUROBI log.

gurobi-logtools is Gurobi's own log parser.  It needs pandas and a recent
Python, which the 3.6 test leg does not have, so it runs in a subprocess
under the stand-in interpreter (``gams_select.standin_python()``, the one with
the solver packages) and prints what it read as JSON; the comparison runs
here, under whatever Python runs the tests.  A missing gurobi-logtools fails
these tests: skipping would hide that the oracle never ran.

Compared for each log: final status, iteration count (simplex, else barrier;
nodes for a MIP), the solver's run time and work units, the objective, the presolved size,
the phase sequence, and every table row (barrier, simplex and node log)
against the parser's history.
"""

import json
import os
import subprocess

import pytest

from gams_select import standin_python
from times_doctor.solvers.table import SolverLogParser

LOGS = os.path.join(os.path.dirname(__file__), "fixtures", "logs")
GUROBI_LOGS = sorted(name for name in os.listdir(LOGS)
                     if name.startswith("gurobi_") and name.endswith("_run_log.txt"))
ORACLE_TIMEOUT_SECONDS = 300
MISSING_MODULE_RC = 3

# Runs under the stand-in interpreter: argv[1:] are log paths; prints
# {path: {summary fields, "rootlp": rows, "nodelog": rows, "pretreesols": [...]}}
# with NaN and infinity as null.
ORACLE_SCRIPT = r'''
import json, math, sys
try:
    import gurobi_logtools as glt
except ImportError as error:
    sys.stderr.write("%s\n" % error)
    sys.exit(MISSING_MODULE_RC)

SUMMARY = ("Status", "ObjVal", "IterCount", "BarIterCount", "NodeCount", "Runtime", "Work",
           "PresolveTime", "PresolvedNumConstrs", "PresolvedNumVars", "PushPhaseEndTime",
           "ModelType", "ChangedParams")
ROOTLP = ("Type", "Iteration", "PObj", "DObj", "PRes", "DRes", "Objective", "PInf", "DInf")
NODELOG = ("CurrentNode", "RemainingNodes", "Incumbent", "BestBd", "Gap")


def clean(value):
    if isinstance(value, dict):
        return dict((str(key), clean(item)) for key, item in value.items())
    if value is None:
        return None
    try:
        number = float(value)  # numpy numbers, and numbers read as text ("infinity")
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


def rows(frame, columns):
    return [dict((column, clean(row.get(column))) for column in columns)
            for _, row in frame.iterrows()]


out = {}
for path in sys.argv[1:]:
    result = glt.parse(path)
    summary = result.summary()
    if len(summary) != 1:
        raise SystemExit("%s: %d solves, expected 1" % (path, len(summary)))
    record = dict((column, clean(summary.iloc[0].get(column))) for column in SUMMARY)
    record["rootlp"] = rows(result.progress("rootlp"), ROOTLP)
    record["nodelog"] = rows(result.progress("nodelog"), NODELOG)
    record["pretreesols"] = [clean(row.get("Incumbent"))
                             for _, row in result.progress("pretreesols").iterrows()]
    out[path] = record
json.dump(out, sys.stdout)
'''.replace("MISSING_MODULE_RC", str(MISSING_MODULE_RC))

# gurobi-logtools' Status -> the parser's final details.
STATUS_DETAILS = {"OPTIMAL": "optimal", "INFEASIBLE": "infeasible model",
                  "TIME_LIMIT": "time limit reached"}
SIMPLEX_METHODS = {0: "primal simplex", 1: "dual simplex"}
CONCURRENT_METHODS = (3, 4, 5)
# Phases gurobi-logtools cannot see: it reads the sifting table as simplex rows.
UNSEEN_PHASES = ("sifting",)


@pytest.fixture(scope="module")
def oracle():
    """gurobi-logtools' reading of every GUROBI fixture, keyed by file name."""
    python = standin_python()
    command = [python, "-c", ORACLE_SCRIPT] + [os.path.join(LOGS, name) for name in GUROBI_LOGS]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True)
    except OSError as error:
        pytest.fail("cannot start %s, the interpreter that should have gurobi-logtools "
                    "(TD_STANDIN_PYTHON or .venv, see gams_select.py): %s" % (python, error))
    try:
        out, err = process.communicate(timeout=ORACLE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("gurobi-logtools under %s took over %d s" % (python, ORACLE_TIMEOUT_SECONDS))
    if process.returncode == MISSING_MODULE_RC:
        pytest.fail("%s cannot import gurobi_logtools (%s); install gurobi-logtools==4.0.1 "
                    "into it, or point TD_STANDIN_PYTHON at an interpreter that has it"
                    % (python, err.strip()))
    if process.returncode != 0:
        pytest.fail("gurobi-logtools under %s exited %d:\n%s" % (python, process.returncode, err))
    return dict((os.path.basename(path), record) for path, record in json.loads(out).items())


def read_lines(name):
    with open(os.path.join(LOGS, name), "rb") as stream:
        return stream.read().decode("utf-8").splitlines()


class Replay(object):
    """One fixture fed line by line: the parser, its phases, and each history point."""

    def __init__(self, name):
        # Large enough that history() keeps every point of these small logs.
        self.parser = SolverLogParser("gurobi", history_size=100000)
        self.phases = []
        self.points = []            # (history point, details right after it)
        self.presolve_details = None
        for line in read_lines(name):
            count = len(self.parser.history())
            self.parser.feed(line)
            snap = self.parser.snapshot()
            if not self.phases or self.phases[-1] != snap.phase:
                self.phases.append(snap.phase)
            history = self.parser.history()
            if len(history) > count:
                self.points.append((history[-1], snap.details))
            if snap.phase == "presolve":
                self.presolve_details = snap.details
        self.final = self.parser.snapshot()


@pytest.fixture(scope="module")
def replays():
    return dict((name, Replay(name)) for name in GUROBI_LOGS)


def test_every_gurobi_fixture_is_read_by_the_oracle(oracle):
    assert GUROBI_LOGS and sorted(oracle) == GUROBI_LOGS


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_final_status(name, oracle, replays):
    status = oracle[name]["Status"]
    assert status in STATUS_DETAILS, "gurobi-logtools status %r has no expected text" % status
    final = replays[name].final
    assert (final.phase, final.progress, final.details) == ("done", 1.0, STATUS_DETAILS[status])


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_iteration_count(name, oracle, replays):
    record = oracle[name]
    if record["ModelType"] == "MIP":
        expected = record["NodeCount"]       # the parser's MIP "iteration" is the node
    elif record["IterCount"] is not None:
        expected = record["IterCount"]
    else:
        expected = record["BarIterCount"]    # barrier without crossover
    assert expected is not None
    assert replays[name].final.iteration == int(expected)


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_run_time(name, oracle, replays):
    assert oracle[name]["Runtime"] is not None
    assert replays[name].parser.solver_seconds == pytest.approx(oracle[name]["Runtime"], abs=1e-9)


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_work_units(name, oracle, replays):
    # Gurobi's deterministic work: the ranking's load-independent figure.
    assert oracle[name]["Work"] is not None
    assert replays[name].parser.work_units == pytest.approx(oracle[name]["Work"], abs=1e-9)


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_objective(name, oracle, replays):
    record = oracle[name]
    expected = record["ObjVal"]
    if expected is None:
        # No final objective (infeasible, time limit in simplex): the parser
        # keeps the last one the iteration tables printed.
        last = record["rootlp"][-1]
        expected = last["Objective"] if last["Type"] == "simplex" else last["PObj"]
    assert replays[name].final.objective == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_presolved_size(name, oracle, replays):
    record = oracle[name]
    assert replays[name].presolve_details == "%d rows %d cols" % (
        record["PresolvedNumConstrs"], record["PresolvedNumVars"])


def expected_phases(record):
    """The phase sequence that gurobi-logtools' frames imply, in the parser's terms.

    The simplex rows after a crossover belong to the crossover phase; under
    concurrent every LP row is "concurrent" and only the crossover shows.
    """
    method = int(record["ChangedParams"].get("Method", -1))
    kinds = [row["Type"] for row in record["rootlp"]]
    phases = [""]
    if record["PresolveTime"] is not None:
        phases.append("presolve")
    if method in CONCURRENT_METHODS:
        phases.append("concurrent")
    elif "barrier" in kinds:
        phases.append("barrier")
    elif kinds:
        phases.append(SIMPLEX_METHODS.get(method, "simplex"))
    if record["PushPhaseEndTime"] is not None:
        phases.append("crossover")
    if record["nodelog"]:
        phases.append("mip")
    if record["Status"] is not None:
        phases.append("done")
    return phases


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_phase_sequence(name, oracle, replays):
    seen = [phase for phase in replays[name].phases if phase not in UNSEEN_PHASES]
    assert seen == expected_phases(oracle[name])


def sifting_row_span(name):
    """(first, count) of the rootlp rows that are really sifting rows, or None.

    gurobi-logtools reads the sifting table ("Iter Pivots Primal Obj Dual Obj
    Time") as simplex rows: Pivots lands in Objective, Primal Obj in PInf and
    Dual Obj in DInf.  Its rows keep the log's order, so the sifting rows are
    those between "Starting sifting" and "Sifting complete".
    """
    before = inside = 0
    where = "before"
    for line in read_lines(name):
        if line.startswith("Starting sifting"):
            where = "inside"
        elif line.startswith("Sifting complete"):
            where = "after"
        elif line.strip()[:1].isdigit() and line.rstrip().endswith("s"):
            if where == "before":
                before += 1
            elif where == "inside":
                inside += 1
    return (before, inside) if inside else None


def expected_points(name, record):
    """History points, in order, from gurobi-logtools' rootlp and nodelog frames."""
    points = []
    span = sifting_row_span(name)
    for index, row in enumerate(record["rootlp"]):
        if span is not None and span[0] <= index < span[0] + span[1]:
            points.append(((row["Iteration"], row["PInf"], row["DInf"], None, None), None))
        elif row["Type"] == "barrier":
            points.append(((row["Iteration"], row["PObj"], row["DObj"], row["PRes"], row["DRes"]),
                           None))
        else:
            points.append(((row["Iteration"], row["Objective"], None, row["PInf"], row["DInf"]),
                           None))
    # The incumbent and bound carry over rows that leave them blank, starting
    # from the heuristic solution found before the tree.
    incumbent = record["pretreesols"][-1] if record["pretreesols"] else None
    bound = None
    for row in record["nodelog"]:
        if row["RemainingNodes"] is None:
            continue  # gurobi-logtools' own row for the "Explored ..." summary
        if row["Incumbent"] is not None:
            incumbent = row["Incumbent"]
        if row["BestBd"] is not None:
            bound = row["BestBd"]
        gap = None if row["Gap"] is None else "gap %.2f%%" % (row["Gap"] * 100.0)
        points.append(((row["CurrentNode"], incumbent, bound, None, None), gap))
    return points


@pytest.mark.parametrize("name", GUROBI_LOGS)
def test_every_table_row(name, oracle, replays):
    expected = expected_points(name, oracle[name])
    got = replays[name].points
    assert len(got) == len(expected), (
        "parser recorded %d table rows, gurobi-logtools read %d" % (len(got), len(expected)))
    for index, ((want, gap), (point, details)) in enumerate(zip(expected, got)):
        assert point[0] == int(want[0]), "row %d: iteration" % index
        for column in range(1, 5):
            if want[column] is None:
                assert point[column] is None, "row %d column %d: %r" % (index, column, point)
            else:
                assert point[column] == pytest.approx(want[column], rel=1e-12), (
                    "row %d column %d: %r, gurobi-logtools %r" % (index, column, point, want))
        if gap is not None:
            assert details.startswith(gap + " "), "row %d: %r, gurobi-logtools %s" % (
                index, details, gap)
