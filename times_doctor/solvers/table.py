"""The solvers times-doctor knows: one row each, holding everything that differs between them.

Profiles, the CLI's ``--solver`` choices, the work directory's option file,
the preflight/``check`` and the log parser all look a solver up here, so
adding one (XPRESS, HiGHS) is a row in ``SOLVER_TABLE`` plus its log
grammar (a ``log.SolverLog`` subclass): nothing else names solvers.
``SolverLogParser(solver)`` gives the parser of a solver's log: feed it lines
and ask for a ``LogProgress`` whenever the display redraws (the phases and
the bounded history are ``log``'s docstring; which lines of a batch get
parsed is ``log_batch``'s).
"""

import collections

from times_doctor.solvers.log import (DEFAULT_HISTORY_SIZE, DEFAULT_MIP_GAP_TARGET,
                                      DEFAULT_TOLERANCE, SolverLog)
from times_doctor.solvers.log_cplex import CplexLogParser
from times_doctor.solvers.log_gurobi import GurobiLogParser

Solver = collections.namedtuple(
    "Solver", "name label option_file threads_keyword display_lines def_file parser "
    "builtin_profiles seed_keyword")
Solver.__doc__ = """One solver as GAMS runs it.

name: the GAMS solver name and ``--solver`` value ("cplex"); also the
    ``scan_runs/<solver>/`` folder and the ``cplex:NAME`` profile qualifier.
label: how messages write it ("CPLEX").
option_file: the file GAMS makes it read with ``optfile=1`` ("cplex.opt").
threads_keyword: the option the thread count is written under ("threads").
display_lines: option lines every profile gets unless it sets those keys
    itself (CPLEX prints an iteration line only every so often unless
    asked; level 2 gives the log parser something to show while a long LP
    runs).
def_file: GAMS's option definition file in its system directory
    ("optcplex.def"), which optdef reads to check option lines.
parser: the ``SolverLog`` subclass that reads its log.
builtin_profiles: OrderedDict of built-in profile name -> option lines, in
    the order ``known_profile_names()`` and error messages list them.
seed_keyword: the option that sets the solver's random seed ("randomseed"),
    which ``--repeat`` varies between trials; checked against GAMS's own
    def files by tests/test_solvers.py.
"""

SOLVER_TABLE = collections.OrderedDict((solver.name, solver) for solver in (
    Solver("cplex", "CPLEX", "cplex.opt", "threads", ("simdisplay 2", "bardisplay 2"),
           "optcplex.def", CplexLogParser, collections.OrderedDict([
               ("dual", ["lpmethod 2"]),
               ("primal", ["lpmethod 1"]),
               ("sift", ["lpmethod 5"]),
               # Crossover is on by default (solutiontype 0: a basic solution).
               ("bar", ["lpmethod 4"]),
               ("bar_nox", ["lpmethod 4", "solutiontype 2"]),
               ("concurrent", ["lpmethod 6"]),
               # Diagnostic profiles: times-doctor diagnose reads what they write
               # (GAMS docs S_CPLEX: datacheck, iis, conflictdisplay, names).
               ("datacheck", ["datacheck 2"]),
               ("conflict", ["iis 1", "conflictdisplay 2", "names yes"]),
           ]), "randomseed"),
    Solver("gurobi", "GUROBI", "gurobi.opt", "Threads", (),
           "optgurobi.def", GurobiLogParser, collections.OrderedDict([
               ("dual", ["Method 1"]),
               ("primal", ["Method 0"]),
               ("bar", ["Method 2"]),
               ("bar_nox", ["Method 2", "Crossover 0"]),
               ("concurrent", ["Method 3"]),
               # GAMS/Gurobi's iis and names (gamspy-gurobi's optgurobi.def);
               # GAMS/Gurobi has no datacheck.
               ("conflict", ["iis 1", "names yes"]),
           ]), "Seed"),
))

# Every solver's name, in table order (the order of ``--solver both`` runs).
NAMES = tuple(SOLVER_TABLE)
# ``--solver`` values: one solver, or "both" (every solver in the table).
BOTH = "both"
CHOICES = NAMES + (BOTH,)
DEFAULT = "cplex"


def get(name):
    # type: (str) -> Solver
    """The table row of solver *name* (exact, lower case).

    Raises:
        ValueError: *name* is not in the table (a programming error: user
            input is checked with a one-line message before it gets here).
    """
    try:
        return SOLVER_TABLE[name]
    except (KeyError, TypeError):
        raise ValueError("unknown solver %r: expected one of %s" % (name, ", ".join(NAMES)))


def check(name):
    # type: (str) -> str
    """*name* if it is a solver of the table, else ValueError (as get())."""
    return get(name).name


def SolverLogParser(solver=DEFAULT, tolerance=DEFAULT_TOLERANCE,  # noqa: N802 (a factory)
                    mip_gap_target=DEFAULT_MIP_GAP_TARGET, history_size=DEFAULT_HISTORY_SIZE):
    # type: (str, float, float, int) -> SolverLog
    """A fresh parser for the log of *solver*.

    Args:
        solver: a name of the solver table ("cplex", "gurobi"; any case).
        tolerance: barrier convergence target for the progress estimate.
        mip_gap_target: relative MIP gap counted as finished (GAMS optcr).
        history_size: most points ``history()`` returns.

    Raises:
        ValueError: an unknown solver, a tolerance or gap target outside
            0..1, or a history_size below 2.
    """
    return get(str(solver).lower()).parser(tolerance, mip_gap_target, history_size)
