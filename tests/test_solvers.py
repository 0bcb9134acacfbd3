"""solvers.py: the one table of solvers, and the parsers SolverLogParser picks from it."""

import collections
import json
import os
import subprocess

import pytest

from gams_select import WINDOWS_NO_OPTION_READER, standin_python
from times_doctor.solvers import log as solver_log
from times_doctor.solvers import table as solvers
from times_doctor.solvers.log_cplex import CplexLogParser
from times_doctor.solvers.log_gurobi import GurobiLogParser
from times_doctor.solvers.log import SolverLog


def test_the_table_in_order():
    assert solvers.NAMES == ("cplex", "gurobi")
    assert solvers.CHOICES == ("cplex", "gurobi", "both")
    assert solvers.DEFAULT == "cplex"
    cplex, gurobi = solvers.get("cplex"), solvers.get("gurobi")
    assert (cplex.label, cplex.option_file, cplex.threads_keyword, cplex.display_lines,
            cplex.def_file, cplex.parser) == (
        "CPLEX", "cplex.opt", "threads", ("simdisplay 2", "bardisplay 2"), "optcplex.def",
        CplexLogParser)
    assert (gurobi.label, gurobi.option_file, gurobi.threads_keyword, gurobi.display_lines,
            gurobi.def_file, gurobi.parser) == (
        "GUROBI", "gurobi.opt", "Threads", (), "optgurobi.def", GurobiLogParser)
    assert (cplex.seed_keyword, gurobi.seed_keyword) == ("randomseed", "Seed")


# Runs under the solver interpreter (it has gamsapi, gamspy-base, gamspy-gurobi):
# GAMS's own option reader loads each solver's def file and looks the keywords up.
DEF_ORACLE = r"""
import json, os, sys
from gams.core.opt import new_optHandle_tp, optCreateD, optReadDefinition, optFindStr
from gams.core.opt import optGetInfoNr, optDataInteger
import gamspy_base, gamspy_gurobi
folders = {"cplex": gamspy_base.directory, "gurobi": os.path.dirname(gamspy_gurobi.__file__)}
out = {}
for solver, keyword, def_file in json.loads(sys.argv[1]):
    handle = new_optHandle_tp()
    ok, message = optCreateD(handle, gamspy_base.directory, 256)
    path = os.path.join(folders[solver], def_file)
    errors = optReadDefinition(handle, path)
    found = optFindStr(handle, keyword)
    integer = found[0] == 1 and optGetInfoNr(handle, found[1])[4] == optDataInteger
    out[solver] = {"path": path, "read_errors": errors, "found": found[0] == 1,
                   "integer": integer}
print(json.dumps(out))
"""


@pytest.mark.skipif(os.name == "nt", reason=WINDOWS_NO_OPTION_READER)
def test_seed_keywords_are_integer_options_of_gams_own_def_files():
    # --repeat writes "<seed_keyword> N" into trials' option files: GAMS's
    # option reader must know it as an integer option of that solver.
    table = [(name, row.seed_keyword, row.def_file) for name, row in
             solvers.SOLVER_TABLE.items()]
    try:
        out = subprocess.check_output([standin_python(), "-c", DEF_ORACLE, json.dumps(table)],
                                      stderr=subprocess.STDOUT, timeout=120)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail("GAMS's option reader (gamsapi, gamspy-base, gamspy-gurobi) is not usable "
                    "under %s: %s" % (standin_python(), getattr(error, "output", error)))
    answers = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    for name, keyword, _ in table:
        answer = answers[name]
        assert answer["read_errors"] == 0, answer
        assert answer["found"] and answer["integer"], (name, keyword, answer)


def test_every_row_is_consistent():
    for name, solver in solvers.SOLVER_TABLE.items():
        assert solver.name == name == solver.parser.solver
        assert issubclass(solver.parser, SolverLog)
        assert isinstance(solver.builtin_profiles, collections.OrderedDict)
        assert solver.option_file == name + ".opt" and solver.def_file == "opt%s.def" % name


@pytest.mark.parametrize("name", ["both", "CPLEX", "xpress", "", None, ["cplex"]])
def test_get_and_check_refuse_what_is_not_in_the_table(name):
    with pytest.raises(ValueError) as caught:
        solvers.get(name)
    assert str(caught.value) == "unknown solver %r: expected one of cplex, gurobi" % (name,)
    with pytest.raises(ValueError):
        solvers.check(name)


def test_check_returns_the_name():
    assert solvers.check("gurobi") == "gurobi"


@pytest.mark.parametrize("name, parser_class", [
    ("cplex", CplexLogParser), ("Gurobi", GurobiLogParser), ("GUROBI", GurobiLogParser)])
def test_solver_log_parser_is_the_factory_of_the_table(name, parser_class):
    parser = solvers.SolverLogParser(name, tolerance=1e-6, mip_gap_target=1e-3, history_size=9)
    assert type(parser) is parser_class
    assert (parser.tolerance, parser.mip_gap_target, parser.history_size) == (1e-6, 1e-3, 9)
    assert type(solvers.SolverLogParser()) is CplexLogParser


def test_the_base_class_has_no_grammar():
    with pytest.raises(NotImplementedError):
        SolverLog().feed("Iteration:     1   Dual objective     =             1.0")
    parser = SolverLog()
    parser.feed("--- Executing CPLEX: elapsed 0:00:00.010")  # GAMS's own lines: base class
    parser.feed("--- LP status (1): optimal.")
    assert parser.snapshot() == solver_log.LogProgress("done", None, 1.0, "optimal", None)


# -- the modules that read the table ---------------------------------------------------


def test_the_cli_offers_the_table_and_both():
    from times_doctor.cli import build_parser
    parser = build_parser()
    assert parser.parse_args(["scan", "d"]).solver == "cplex"
    for name in solvers.CHOICES:
        assert parser.parse_args(["scan", "d", "--solver", name]).solver == name
        assert parser.parse_args(["check", "--solver", name]).solver == name
    with pytest.raises(SystemExit):
        parser.parse_args(["scan", "d", "--solver", "xpress"])


@pytest.mark.parametrize("name", solvers.NAMES)
def test_profiles_and_optdef_read_the_table(name):
    from times_doctor.solvers import optdef, profiles
    row = solvers.get(name)
    assert profiles.option_file_name(name) == row.option_file
    assert profiles.threads_keyword(name) == row.threads_keyword
    assert profiles.known_profile_names(name) == list(row.builtin_profiles)
    assert optdef.def_file_path("/gams", name.upper()) == os.path.join("/gams", row.def_file)
    profile = profiles.resolve_profiles(name, ["dual"])[0]
    assert profiles.render_option_file(profile, 3).splitlines() == (
        row.builtin_profiles["dual"] + ["%s 3" % row.threads_keyword] + list(row.display_lines))
