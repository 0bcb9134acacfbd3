"""Turn the lines of a solver's log into a progress snapshot: the parser for a solver.

``SolverLogParser(solver)`` returns the parser of that solver's log grammar
(the ``parser`` column of ``solvers.SOLVER_TABLE``: ``cplex_log``,
``gurobi_log``), each a ``solverlog.SolverLog``: feed it lines (``feed``,
``feed_lines``, ``feed_block``) and ask for a ``LogProgress`` whenever the
display redraws.  The phases, what ``progress`` means in each, and the
bounded history are ``solverlog``'s docstring; which lines of a batch get
parsed is ``logbatch``'s.

The names callers import from here (``LogProgress``, ``PHASES``,
``decode_lines``, ...) are re-exported so that this module stays the one
entry point of log parsing.
"""

from times_doctor import solvers
from times_doctor.logbatch import DEFAULT_KEEP_ROWS, ROWS_AFTER_MARKER, decode_lines
from times_doctor.solverlog import (DEFAULT_HISTORY_SIZE, DEFAULT_MIP_GAP_TARGET,
                                    DEFAULT_TOLERANCE, MAX_LINE_CHARS, PHASES, HistoryPoint,
                                    LogProgress, SolverLog)

__all__ = ["SolverLogParser", "SolverLog", "LogProgress", "HistoryPoint", "PHASES",
           "decode_lines", "DEFAULT_TOLERANCE", "DEFAULT_MIP_GAP_TARGET",
           "DEFAULT_HISTORY_SIZE", "MAX_LINE_CHARS", "DEFAULT_KEEP_ROWS", "ROWS_AFTER_MARKER"]


def SolverLogParser(solver=solvers.DEFAULT, tolerance=DEFAULT_TOLERANCE,  # noqa: N802 (a factory)
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
    parser_class = solvers.get(str(solver).lower()).parser
    return parser_class(tolerance, mip_gap_target, history_size)
