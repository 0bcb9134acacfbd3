"""The MPS files the GAMS stand-in solves: generated from the models, shaped and solved as by GAMS.

tests/models/make_mps.py writes them from the models' own GAMS files; these
tests pin them to the figures the real GAMS reported before its demo licence
expired (tests/models/README.md).  Solves run under the stand-in's interpreter
(``gams_select.standin_python()``), never in the test process, which imports
no solver package (the 3.6 leg has none).  A missing solver is a setup error
and fails the test: a green run without the solves would prove nothing.
"""

import json
import math
import os
import subprocess
import sys

import pytest

from gams_select import WINDOWS_NO_GAMS, standin_python

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
MAKE_MPS = os.path.join(MODELS_DIR, "make_mps.py")
SOLVE_TIMEOUT_SECONDS = 120  # each solve takes well under a second; this is a hang guard

# model -> (MPS file under tests/models, rows, columns, non-zeros), counted as
# GAMS counts them (the objective-defining equation is a row, the objective
# N-row is not).  GAMS's own figures, except the non-zeros of infeasible
# (12 + 12 + 13) and licence_limit (2100 + 2101), counted from the .gms files,
# and marketsplit's, which depend on the random coefficients.
SHAPES = {
    "transport": ("transport/trnsport.mps", 6, 7, 19),
    "times_style": ("times_style/times_demo.mps", 353, 513, 2113),
    "infeasible": ("infeasible/infeasible.mps", 8, 13, 37),
    "licence_limit": ("licence_limit/licence_limit.mps", 2101, 2101, 4201),
    "marketsplit": ("marketsplit/marketsplit.mps", 6, 51, None),
    # Counted from its own files (never run with the real GAMS: the demo licence
    # had expired): 1 + 48 EQL_CAPACT + 16 EQG_COMBAL + 2 EQ_CUMFLO rows.
    "times_infeasible": ("times_infeasible/times_infeasible.mps", 67, 91, 327),
}

# model -> what the real GAMS found: an optimal objective, or "infeasible".
GAMS_RESULTS = {
    "transport": 153.675,
    "times_style": 82872.208975,
    "infeasible": "infeasible",
    "licence_limit": 2206.05,
}

SOLVERS = ("cplex", "highs")

# Runs under the stand-in's interpreter: argv = solver, MPS path.  Prints one
# line "RESULT {json}" (HiGHS prints a banner on stdout of its own); exit 3
# when the solver package is missing.
SOLVE_SCRIPT = r'''
import json
import sys

solver, path = sys.argv[1], sys.argv[2]


def report(status, objective=None):
    print("RESULT " + json.dumps({"status": status, "objective": objective}))


def solve_cplex():
    import cplex
    from cplex.exceptions import CplexSolverError
    problem = cplex.Cplex()
    for set_stream in (problem.set_results_stream, problem.set_log_stream,
                       problem.set_warning_stream, problem.set_error_stream):
        set_stream(None)
    problem.read(path)
    problem.parameters.threads.set(1)
    try:
        problem.solve()
    except CplexSolverError as error:
        if error.args[2] == 1016:  # Community Edition: more than 1000 rows or columns
            return report("size_limit")
        raise
    codes = problem.solution.status
    status = problem.solution.get_status()
    if status == codes.infeasible_or_unbounded:
        # What GAMS's CPLEX link does too: solve again without presolve to tell which.
        problem.parameters.preprocessing.presolve.set(0)
        problem.solve()
        status = problem.solution.get_status()
    if status == codes.optimal:
        return report("optimal", problem.solution.get_objective_value())
    if status == codes.infeasible:
        return report("infeasible")
    report("cplex status %d %s" % (status, problem.solution.get_status_string()))


def solve_highs():
    import highspy
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    if highs.readModel(path) != highspy.HighsStatus.kOk:
        return report("highs could not read the file")
    highs.run()
    codes = highspy.HighsModelStatus
    status = highs.getModelStatus()
    if status == codes.kUnboundedOrInfeasible:
        highs.setOptionValue("presolve", "off")
        highs.run()
        status = highs.getModelStatus()
    if status == codes.kOptimal:
        return report("optimal", highs.getInfo().objective_function_value)
    if status == codes.kInfeasible:
        return report("infeasible")
    report("highs status " + highs.modelStatusToString(status))


try:
    {"cplex": solve_cplex, "highs": solve_highs}[solver]()
except ImportError as error:
    sys.stderr.write("missing solver package: %s\n" % error)
    sys.exit(3)
'''


class MpsFile(object):
    """What a free-format MPS file says, read by ``read_mps``."""

    def __init__(self):
        self.objective_row = None
        self.rows = {}  # name -> E/L/G (the N-row excluded)
        self.row_order = []
        self.columns = []  # in file order
        self.integer = set()
        self.coefficients = {}  # (column, row) -> value, objective row included
        self.rhs = {}
        self.bounds = {}  # column -> [(kind, value or None)]
        self.comments = []

    def nonzeros(self):
        """Matrix entries outside the objective row (GAMS's count)."""
        return sum(1 for _, row in self.coefficients if row != self.objective_row)

    def row(self, name):
        """{column: coefficient} of one row."""
        return dict((column, value) for (column, row), value in self.coefficients.items()
                    if row == name)


def read_mps(path):
    """A deliberately small reader: the free MPS that make_mps.py writes, nothing more."""
    mps = MpsFile()
    section = None
    integer_block = False
    with open(path) as handle:
        for line in handle:
            if line.startswith("*"):
                mps.comments.append(line[1:].strip())
                continue
            fields = line.split()
            if not fields:
                continue
            if not line[0].isspace():
                section = fields[0]
                continue
            if section == "ROWS":
                sense, name = fields
                if sense == "N":
                    assert mps.objective_row is None, "two objective rows"
                    mps.objective_row = name
                else:
                    mps.rows[name] = sense
                    mps.row_order.append(name)
            elif section == "COLUMNS":
                if fields[1] == "'MARKER'":
                    integer_block = fields[2] == "'INTORG'"
                    continue
                column, row, value = fields
                if column not in mps.columns[-1:]:
                    assert column not in mps.columns, "column %s split up" % column
                    mps.columns.append(column)
                    if integer_block:
                        mps.integer.add(column)
                assert row == mps.objective_row or row in mps.rows, "unknown row " + row
                mps.coefficients[(column, row)] = float(value)
            elif section == "RHS":
                _, row, value = fields
                mps.rhs[row] = float(value)
            elif section == "BOUNDS":
                kind, _, column = fields[:3]
                value = float(fields[3]) if len(fields) > 3 else None
                mps.bounds.setdefault(column, []).append((kind, value))
    assert section == "ENDATA", "%s does not end with ENDATA" % path
    return mps


def mps_path(model):
    return os.path.join(MODELS_DIR, SHAPES[model][0])


def test_checked_in_mps_files_are_what_make_mps_writes():
    result = subprocess.run([sys.executable, MAKE_MPS, "--check"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("model", sorted(SHAPES))
def test_shape_is_what_gams_generates(model):
    _, rows, columns, nonzeros = SHAPES[model]
    mps = read_mps(mps_path(model))
    assert (len(mps.rows), len(mps.columns)) == (rows, columns)
    if nonzeros is not None:
        assert mps.nonzeros() == nonzeros
    # GAMS's way: the objective row holds just the objective variable.
    objective = mps.row(mps.objective_row)
    assert list(objective.values()) == [1.0]
    (variable,) = objective
    assert mps.bounds[variable] == [("FR", None)]


def test_marketsplit_is_a_market_split_mip():
    mps = read_mps(mps_path("marketsplit"))
    markets = ["r%d" % number for number in range(1, 6)]
    products = ["p%d" % number for number in range(1, 41)]
    assert mps.row_order == ["split(%s)" % market for market in markets] + ["obj"]
    assert set(mps.rows.values()) == {"E"}
    binaries = ["x(%s)" % product for product in products]
    slacks = ["sp(%s)" % market for market in markets] + ["sm(%s)" % market for market in markets]
    assert mps.columns == binaries + slacks + ["z"]
    assert mps.integer == set(binaries)
    assert all(mps.bounds[column] == [("BV", None)] for column in binaries)
    assert not any(column in mps.bounds for column in slacks)  # default [0, inf)
    for market in markets:
        split = mps.row("split(%s)" % market)
        shares = [split.get("x(%s)" % product, 0.0) for product in products]
        assert all(share == int(share) and 0 <= share <= 99 for share in shares)
        assert (split["sp(%s)" % market], split["sm(%s)" % market]) == (1.0, -1.0)
        assert len(split) == sum(1 for share in shares if share) + 2
        assert mps.rhs["split(%s)" % market] == math.floor(sum(shares) / 2)
    expected_obj = dict((column, -1.0) for column in slacks)
    expected_obj["z"] = 1.0
    assert mps.row("obj") == expected_obj
    assert any("random.Random(19980601)" in line for line in mps.comments)


@pytest.mark.skipif(os.name == "nt", reason=WINDOWS_NO_GAMS)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("model", sorted(GAMS_RESULTS))
def test_solves_to_what_gams_found(solver, model):
    result = _solve(solver, mps_path(model))
    expected = GAMS_RESULTS[model]
    if model == "licence_limit" and result["status"] == "size_limit":
        # CPLEX Community Edition refuses more than 1000 rows or columns (error
        # 1016), as the GAMS demo licence refused this model: that is the
        # model's purpose.  A full CPLEX must find the optimum instead.
        assert solver == "cplex"
        return
    if expected == "infeasible":
        assert result["status"] == "infeasible"
    else:
        assert result["status"] == "optimal"
        assert abs(result["objective"] - expected) <= 1e-6 * abs(expected), result


@pytest.mark.skipif(os.name == "nt", reason=WINDOWS_NO_GAMS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_times_infeasible_is_infeasible_by_its_cumulative_limit_alone(solver, tmp_path):
    """Infeasible as it is; optimal once FLO_CUM(UP) of IMPELC in R1 reaches the 800 its
    ACT_BND(LO) needs: the data change of cumlimit.dd is the one cause."""
    path = mps_path("times_infeasible")
    assert _solve(solver, path)["status"] == "infeasible"
    bound = " UP BND  VAR_CUMFLO(R1,IMPELC,ELC,2020,2050) "
    with open(path) as handle:
        text = handle.read()
    assert text.count(bound + "750\n") == 1
    relaxed = tmp_path / "relaxed.mps"
    relaxed.write_text(text.replace(bound + "750\n", bound + "800\n"))
    assert _solve(solver, str(relaxed))["status"] == "optimal"


def _solve(solver, path):
    python = standin_python()
    if not os.path.isfile(python):
        pytest.fail("the stand-in's interpreter %s does not exist: run 'make venv' (it installs "
                    "cplex, gurobipy and highspy), or set TD_STANDIN_PYTHON" % python,
                    pytrace=False)
    try:
        result = subprocess.run([python, "-c", SOLVE_SCRIPT, solver, path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, timeout=SOLVE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail("%s did not solve %s within %d s" % (solver, path, SOLVE_TIMEOUT_SECONDS),
                    pytrace=False)
    if result.returncode == 3:
        pytest.fail("%s under %s: %s a setup error: 'make venv' installs the solvers"
                    % (solver, python, result.stderr.strip()), pytrace=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and len(lines) == 1, (result.returncode, result.stdout,
                                                        result.stderr)
    return json.loads(lines[0][len("RESULT "):])
