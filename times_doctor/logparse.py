"""Turn the lines of a CPLEX or GUROBI log into a progress snapshot.

The log is what GAMS writes (the solver's own output between GAMS's "---"
lines) or, for GUROBI, the solver's own log file: both work.

Feed lines one at a time (``SolverLogParser.feed``) and ask for a
``LogProgress`` whenever the display redraws. The parser keeps a few numbers
and a bounded, downsampled history, never the lines themselves; it ignores
every line it does not recognise, so binary junk, truncated lines and the
output of other programs cannot make it raise.

Phases: "" (GAMS compiling or generating), "presolve", "dual simplex",
"primal simplex", "simplex" (GUROBI simplex of unknown kind), "barrier",
"crossover", "sifting", "concurrent", "mip", "done".

``progress`` is the fraction of the *current phase* done, or None when the
log gives no honest estimate. It never decreases within a phase:

* barrier: for each of the relative primal-dual gap |p - d| / (1 + |p|), the
  primal infeasibility and the dual infeasibility, the distance already
  travelled on a log10 scale from its first value toward ``tolerance``
  (1e-8, the barrier convergence tolerance of both solvers); the progress is
  the mean of the three, clamped to 0..1.
* crossover: CPLEX and GUROBI run a primal and a dual pass (the order
  varies); each is half of the phase, and within a pass the fraction of the
  variables to fix (CPLEX "PMoves"/"DMoves") or pushes (GUROBI) already done.
* mip: log10(1 / gap) / log10(1 / ``mip_gap_target``): 0 at a 100% gap,
  0.25 at 10%, 0.5 at 1%, 1 at the target (1e-4, the GAMS default optcr).
* simplex, sifting, concurrent, presolve: None. A simplex objective moves
  toward an optimum nobody knows yet; the phase I infeasibility does fall
  toward zero, but an estimate built on it would jump back to "unknown" the
  moment phase II starts, which is worse than no estimate.
* done: 1.0 (the solver stopped, whatever its status).
"""

import collections
import math
import re
from collections import namedtuple
from typing import List, Optional, Tuple

LogProgress = namedtuple("LogProgress", "phase iteration progress details objective")
LogProgress.__doc__ = """One snapshot of a solver log.

phase: one of the phase names in the module docstring.
iteration: last iteration number seen (simplex, barrier or sifting iteration;
    in the MIP phase the node number). None before the first.
progress: fraction 0..1 of the current phase, or None (unknown).
details: short text for the Details column ("obj -2.4711e+03 pinf 7.2e-06",
    "gap 2.07% inc 1.7760e+04").
objective: last primal objective seen (the simplex objective, barrier primal
    objective, MIP incumbent, final objective), or None.
"""

HistoryPoint = Tuple[Optional[int], Optional[float], Optional[float],
                     Optional[float], Optional[float]]

PHASES = ("", "presolve", "dual simplex", "primal simplex", "simplex", "barrier",
          "crossover", "sifting", "concurrent", "mip", "done")

SOLVERS = ("cplex", "gurobi")

DEFAULT_TOLERANCE = 1e-8
DEFAULT_MIP_GAP_TARGET = 1e-4
DEFAULT_HISTORY_SIZE = 500
# Real solver lines are under 200 characters; a longer "line" is junk and
# only its start is looked at, which bounds the regex work per line.
MAX_LINE_CHARS = 1024
# Both solvers print 1e+30 and above for "infinite".
_INFINITE = 1e30

# ---------------------------------------------------------------- patterns
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

# Lines both solvers share (GAMS wraps each solve in them).
# "--- Executing CPLEX (Solvelink=2): ..." starts a solve; "--- Executing after
# solve" is GAMS resuming its own execution and must not reset anything.
_GAMS_EXECUTING = re.compile(r"^--- Executing (?!after )\S")
_SOLVER_STATUS = re.compile(r"^(?:---\s*)?(LP|MIP) status\s*\((-?\d+)\)\s*:\s*(.*?)\.?\s*$")
# GAMS reads the solution once the solver process has ended, whatever it
# printed before (a solver may stop without a status line of its own).
_GAMS_READING_SOLUTION = re.compile(r"^--- Reading solution for model")

# CPLEX
_CPX_START = re.compile(r"^(?:--- Starting Cplex|Version identifier: )")
_CPX_LPMETHOD = re.compile(r"^CPXPARAM_LPMethod\s+(\d+)")
_CPX_CONCURRENT = re.compile(r"concurrent optimization", re.IGNORECASE)
_CPX_PRESOLVE = re.compile(
    r"^(?:Tried aggregator|(?:LP|MIP) Presolve|Presolve time|Aggregator did|"
    r"Reduced (?:LP|MIP) has|No LP presolve|Probing time|Repeating presolve)")
_CPX_REDUCED = re.compile(r"^Reduced (LP|MIP) has (\d+) rows, (\d+) columns")
_CPX_SIMPLEX1 = re.compile(
    r"^Iteration:\s+(\d+)\s+(Dual objective|Objective|Scaled infeas|Infeasibility|"
    r"Scaled dual infeas|Dual infeasibility)\s+=\s+(" + _NUM + r")")
_CPX_SIMPLEX2_HEADER = re.compile(r"^Iteration\s+(Dual Objective|Objective)\s+In Variable")
_CPX_SIMPLEX2_ROW = re.compile(r"^\s*(\d+)\s+(sI\s+)?(" + _NUM + r")\s+\S")
_CPX_BARRIER_PREP = re.compile(
    r"(?:thread[s]? for barrier|lower triangle of A\*A'|Total time for automatic ordering|"
    r"Summary statistics for Cholesky)")
_CPX_BARRIER_HEADER = re.compile(r"^\s*Itn\s+Primal Obj\s+Dual Obj\s+Prim Inf\s+Upper Inf\s+Dual Inf")
_CPX_BARRIER_ROW = re.compile(
    r"^\s*(\d+)\*?\s+(" + _NUM + r")\s+(" + _NUM + r")\s+(" + _NUM + r")\s+(" + _NUM + r")\s+("
    + _NUM + r")(?:\s+(" + _NUM + r"))?\s*$")
_CPX_BARRIER_END = re.compile(r"^Barrier time =")
_CPX_CROSSOVER = re.compile(r"^(Primal|Dual) crossover\.")
_CPX_CROSS_FIXING = re.compile(r"^\s*(Primal|Dual):\s+Fixing (\d+) variables?\.")
_CPX_CROSS_NONE = re.compile(r"^\s*(Primal|Dual):\s+Fixed no variables\.")
_CPX_CROSS_MOVES = re.compile(
    r"^\s*(\d+)\s+(PMoves|DMoves):\s+Infeasibility\s+(" + _NUM + r")\s+Objective\s+(" + _NUM + r")")
_CPX_CROSS_PUSHED = re.compile(r"^\s*(Primal|Dual):\s+Pushed \d+, exchanged \d+\.")
_CPX_SIFTING = re.compile(
    r"^Sifting iteration\s+(\d+)\s+\[\s*\d+\]:\s+(Objective|Scaled infeas|Infeasibility)\s+=\s+("
    + _NUM + r")")
_CPX_SOLVED_BY = re.compile(r"^(Dual simplex|Primal simplex|Barrier|Sifting|Network) solved model\.")
_CPX_MIP_HEADER = re.compile(r"^\s*Node\s+Left\s+Objective\s+IInf\s+Best Integer\s+Best Bound")
_CPX_MIP_ROW = re.compile(r"^\s*(\*)?\s*(\d+)(\+)?\s+(\d+)\s+(.*)$")
_CPX_INCUMBENT = re.compile(r"^Found incumbent of value (" + _NUM + r")")
_CPX_FINAL_OBJ = re.compile(r"^(?:Objective|MIP Solution)\s*:\s+(" + _NUM + r")")
# The iteration count may be printed as "1.05893e+06"; the node count not.
_CPX_FINAL_NODES = re.compile(r"^MIP Solution\s*:.*\(\s*\S+ iterations, (\d+) nodes\)")

# GUROBI
_GRB_START = re.compile(r"^Gurobi Optimizer version")
_GRB_OPTIMIZE = re.compile(r"^Optimize a model with")
# Gurobi echoes each parameter as it is set ("Set parameter Method to value
# 1"), before the "Gurobi Optimizer version" banner of the solve it is for,
# and lists them again after the banner ("Non-default parameters:", then
# "Method  1"; Gurobi 11 and later).
_GRB_SET_PARAMETER = re.compile(r"^Set parameter \w+ to value")
_GRB_PARAMETER = re.compile(r"^(?:Set parameter )?(Method|Crossover)(?: to value)?\s+(-?\d+)\s*$")
_GRB_PRESOLVE = re.compile(r"^(?:Presolve removed|Presolve time|Presolved:|Presolve added)")
_GRB_PRESOLVED = re.compile(r"^Presolved: (\d+) rows, (\d+) columns")
_GRB_SIMPLEX_HEADER = re.compile(r"^\s*Iteration\s+Objective\s+Primal Inf\.\s+Dual Inf\.\s+Time")
_GRB_SIMPLEX_ROW = re.compile(
    r"^\s*(\d+)\s+(" + _NUM + r")\s+(" + _NUM + r")\s+(" + _NUM + r")\s+\d+s\s*$")
_GRB_BARRIER_PREP = re.compile(r"^(?:Ordering time:|Barrier statistics:|Starting barrier)")
_GRB_BARRIER_HEADER = re.compile(r"^\s*Iter\s+Primal\s+Dual\s+Primal\s+Dual\s+Compl\s+Time")
_GRB_BARRIER_ROW = re.compile(
    r"^\s*(\d+)\*?\s+(" + _NUM + r")\s+(" + _NUM + r")\s+(" + _NUM + r")\s+(" + _NUM + r")\s+("
    + _NUM + r")\s+\d+s\s*$")
_GRB_BARRIER_END = re.compile(r"^Barrier (?:solved model|performed)")
# "Barrier solved model in 13 iterations and 0.33 seconds (0.45 work units)",
# "Barrier performed 17 iterations in 0.00 seconds (0.01 work units)".
_GRB_BARRIER_COUNTS = re.compile(
    r"^Barrier (?:solved model in|performed) (\d+) iterations (?:and|in) (" + _NUM + r") seconds")
_GRB_CROSSOVER = re.compile(r"^Crossover log\.\.\.")
_GRB_PUSHES = re.compile(r"^\s*(\d+) (DPushes|PPushes) remaining with (?:DInf|PInf) (" + _NUM + r")")
_GRB_PUSH_DONE = re.compile(r"^\s*Push phase complete")
_GRB_CONCURRENT = re.compile(r"^Concurrent LP optimizer")
_GRB_SOLVED_WITH = re.compile(r"^Solved with (dual simplex|primal simplex|barrier)")
_GRB_SIFTING = re.compile(r"^Starting sifting")
_GRB_SIFT_HEADER = re.compile(r"^\s*Iter\s+Pivots\s+Primal Obj\s+Dual Obj\s+Time")
_GRB_SIFT_ROW = re.compile(r"^\s*(\d+)\s+\d+\s+(\S+)\s+(" + _NUM + r")\s+\d+s\s*$")
# After this line the simplex table resumes, without its header, for the
# clean-up on the full problem.
_GRB_SIFT_DONE = re.compile(r"^Sifting complete")
_GRB_MIP_HEADER = re.compile(r"^\s*Expl\s+Unexpl\s*\|")
_GRB_MIP_ROW = re.compile(r"^\s*([H*])?\s*(\d+)\s+(\d+)\s+(.*\S)\s+(\S+)\s+(\d+)s\s*$")
_GRB_HEURISTIC = re.compile(r"^Found heuristic solution: objective (" + _NUM + r")")
_GRB_EXPLORED = re.compile(r"^Explored (\d+) nodes(?:.*? in (" + _NUM + r") seconds)?")
_GRB_BEST = re.compile(r"^Best objective (" + _NUM + r"|-), best bound (" + _NUM + r"|-), gap (\S+)")
# "Stopped in" comes before the reason ("Time limit reached").
_GRB_SOLVED = re.compile(
    r"^(Solved|Stopped) in (\d+) iterations(?: and (" + _NUM + r") seconds)?")
_GRB_OPTIMAL_OBJ = re.compile(r"^Optimal objective\s+(" + _NUM + r")")
_GRB_END = re.compile(
    r"^(?:Optimal solution found|Infeasible model|Unbounded model|Infeasible or unbounded model|"
    r"Model is infeasible|Time limit reached|Iteration limit reached|Node limit reached|"
    r"Solve interrupted)")

_CPX_METHODS = {1: "primal simplex", 2: "dual simplex", 3: "network", 4: "barrier",
                5: "sifting", 6: "concurrent"}
_GRB_METHODS = {0: "primal simplex", 1: "dual simplex", 2: "barrier", 3: "concurrent",
                4: "concurrent", 5: "concurrent"}


# feed_lines(): rows parsed after each non-row line, and the newest rows
# before each non-row line and at the end of a batch.
ROWS_AFTER_MARKER = 2
DEFAULT_KEEP_ROWS = 4

# feed_block(): a line break NOT followed by a line that surely is an
# iteration row (up to 32 spaces or tabs, then an ASCII digit or
# "Iteration:").  The regex engine finds these in C, so the rows in between
# are never split or decoded in Python; each match is only a candidate and is
# checked with _is_row() itself (a row may start with a non-ASCII digit or
# other whitespace).
_CANDIDATE_MARKER = re.compile(b"\n(?![ \t]{0,32}(?:[0-9]|Iteration:))")
# Lines cut shorter than this could lose the prefix that made the regex call
# them rows (43 bytes at most), so feed_block() then takes the line-by-line way.
_SURE_ROW_PREFIX_BYTES = 64


class SolverLogParser(object):
    """Follow one GAMS log and report where the solver is.

    Args:
        solver: "cplex" or "gurobi" (case-insensitive).
        tolerance: barrier convergence target for the progress estimate.
        mip_gap_target: relative MIP gap counted as finished (GAMS optcr).
        history_size: most points ``history()`` returns.

    A new solve in the same log (GAMS "--- Executing ...") starts afresh.
    Not thread-safe: feed and snapshot from one thread (the one tailing the
    log) or guard the parser with a lock.
    """

    def __init__(self, solver="cplex", tolerance=DEFAULT_TOLERANCE,
                 mip_gap_target=DEFAULT_MIP_GAP_TARGET, history_size=DEFAULT_HISTORY_SIZE):
        solver = str(solver).lower()
        if solver not in SOLVERS:
            raise ValueError("unknown solver %r (expected one of %s)" % (solver, ", ".join(SOLVERS)))
        if not 0 < tolerance < 1 or not 0 < mip_gap_target < 1:
            raise ValueError("tolerance and mip_gap_target must be between 0 and 1")
        if history_size < 2:
            raise ValueError("history_size must be at least 2")
        self.solver = solver
        self.tolerance = tolerance
        self.mip_gap_target = mip_gap_target
        self.history_size = history_size
        self._feed_solver = self._feed_cplex if solver == "cplex" else self._feed_gurobi
        self._reset()

    # ------------------------------------------------------------ public API
    def feed(self, line):
        """Take one log line (str, or bytes decoded as UTF-8); never raises."""
        if isinstance(line, (bytes, bytearray)):
            line = bytes(line[:MAX_LINE_CHARS * 4]).decode("utf-8", "replace")
        elif not isinstance(line, str):
            return
        line = line[:MAX_LINE_CHARS].rstrip("\r\n")
        if not line.strip():
            return
        try:
            self._feed_line(line)
        except (ValueError, IndexError, OverflowError, ZeroDivisionError):
            # The patterns only hand well-formed numbers to float()/int(), so
            # this is a last guard: a log line must never stop the monitor.
            return

    def feed_lines(self, lines, keep_rows=DEFAULT_KEEP_ROWS):
        # type: (List[str], int) -> None
        """Take a batch of new lines, parsing in full only what the display needs.

        Iteration rows (lines starting with a digit, or ``Iteration:``) are
        the bulk of a log, and only the newest of them decide what the table
        shows.  So every other line (phase markers, headers, status lines)
        is parsed; of the rows, the first few after each marker (the barrier
        estimate needs the starting values) and the last ``keep_rows`` before
        each marker and at the end of the batch, in their order.  The rows in
        between cost one cheap prefix test: 16 runs logging 2,000 lines/s
        each stay at a small share of one core, where parsing every line
        would take a fifth of it.  ``history()`` just gets fewer of the
        skipped points, which it thins out anyway.
        """
        feed = self.feed
        newest_rows = collections.deque(maxlen=keep_rows)
        follow = 0
        for line in lines:
            if _is_row(line):
                if follow:
                    follow -= 1
                    feed(line)
                else:
                    newest_rows.append(line)
                continue
            while newest_rows:
                feed(newest_rows.popleft())
            feed(line)
            follow = ROWS_AFTER_MARKER
        while newest_rows:
            feed(newest_rows.popleft())

    def feed_block(self, data, max_line_bytes=None, keep_rows=DEFAULT_KEEP_ROWS):
        # type: (bytes, Optional[int], int) -> None
        """feed_lines() for a block of lines as LogTail.read_block() returns them.

        *data* is UTF-8 bytes, lines separated by ``b"\\n"``; each line is cut
        to *max_line_bytes* and decoded with replacement, so the result is
        exactly that of ``feed_lines(decode_lines(data, max_line_bytes))``.
        But only the lines feed_lines() would parse are ever cut out and
        decoded: the non-row lines, which one regex search finds, and the
        rows next to them and at the end.  A burst of 100,000 rows costs one
        pass of the regex engine instead of 100,000 Python steps.
        """
        limit = max_line_bytes
        if limit is not None and limit < _SURE_ROW_PREFIX_BYTES:
            self.feed_lines(decode_lines(data, limit), keep_rows)
            return
        feed = self.feed
        size = len(data)

        def line_at(start):
            end = data.find(b"\n", start)
            if end < 0:
                end = size
            stop = end if limit is None else min(end, start + limit)
            return end, data[start:stop].decode("utf-8", "replace")

        def feed_rows(start, stop, follow):
            """Of the rows in data[start:stop], feed the first *follow* and the last keep_rows."""
            position = start
            while follow and position < stop:
                end, line = line_at(position)
                feed(line)
                follow -= 1
                position = end + 1
            if position >= stop or keep_rows <= 0:
                return
            starts = []
            cut = stop - 1  # the "\n" that ends the last row
            while len(starts) < keep_rows:
                before = data.rfind(b"\n", position, cut)
                line_start = before + 1 if before >= 0 else position
                starts.append(line_start)
                if before < 0:
                    break
                cut = before
            for line_start in reversed(starts):
                feed(line_at(line_start)[1])

        rows_from = 0  # where the current run of rows began
        follow = 0     # the batch's first rows follow no marker (as in feed_lines)
        line_start = 0
        matches = _CANDIDATE_MARKER.finditer(data)
        while True:
            end, line = line_at(line_start)
            if not _is_row(line):
                feed_rows(rows_from, line_start, follow)
                feed(line)
                follow = ROWS_AFTER_MARKER
                rows_from = end + 1
            # The next candidate after this line.
            line_start = -1
            for match in matches:
                if match.start() >= end:
                    line_start = match.start() + 1
                    break
            if line_start < 0:
                break
        feed_rows(rows_from, size + 1, follow)

    def snapshot(self):
        # type: () -> LogProgress
        """The current phase, iteration, progress, details and objective."""
        progress = 1.0 if self._phase == "done" else self._progress
        return LogProgress(self._phase, self._iteration, progress, self._details, self._objective)

    def history(self):
        # type: () -> List[HistoryPoint]
        """Up to ``history_size`` (iteration, primal_obj, dual_obj, primal_inf, dual_inf) points.

        Evenly downsampled over the current solve (every ``2**k``-th point
        once there were more than fit) plus the latest point; None marks a
        value the log line did not carry (a dual simplex line has no primal
        objective).
        """
        points = list(self._history)
        if self._last_point is not None and (not points or points[-1] is not self._last_point):
            points.append(self._last_point)
        return points

    @property
    def solver_seconds(self):
        # type: () -> Optional[float]
        """Run time the solver reported for the current solve, or None.

        From GUROBI's summary lines ("Solved in 15 iterations and 0.38
        seconds", "Explored 54422 nodes (...) in 2.79 seconds", "Barrier
        solved model in 13 iterations and 0.33 seconds" when no crossover
        follows); None for CPLEX.
        """
        return self._solver_seconds

    # ------------------------------------------------------------ state
    def _reset(self):
        self._phase = ""
        self._iteration = None   # type: Optional[int]
        self._progress = None    # type: Optional[float]
        self._details = ""
        self._objective = None   # type: Optional[float]
        self._mode = None        # top-level algorithm: "sifting", "concurrent", ...
        self._algorithm_started = False
        self._mip_started = False
        self._table = None       # which table's rows the next numeric lines belong to
        self._barrier_start = None   # first (gap, pinf, dinf) of the barrier run
        self._cross_passes_done = set()
        self._cross_current = None   # (pass name, total to fix)
        self._cross_fraction = 0.0
        self._simplex_kind = "dual simplex"   # of the simdisplay 2 table being read
        self._mip_bound = None   # type: Optional[float]
        self._grb_method = None  # type: Optional[str]
        self._grb_barrier_done = False  # "Barrier solved model" seen
        self._grb_crossover_off = False  # Crossover 0: the barrier result is final
        self._solver_seconds = None  # type: Optional[float]
        self._history = []       # type: List[HistoryPoint]
        self._last_point = None  # type: Optional[HistoryPoint]
        self._stride = 1
        self._points_seen = 0

    def _feed_line(self, line):
        if _GAMS_EXECUTING.match(line):
            self._reset()
            return
        match = _SOLVER_STATUS.match(line)
        if match:
            self._finish("%s %s" % (match.group(2), match.group(3)), match.group(3))
            return
        if _GAMS_READING_SOLUTION.match(line):
            if self._phase not in ("", "done"):
                self._finish("solver finished", "solver finished")
            return
        self._feed_solver(line)

    def _set_phase(self, phase, progress=None):
        """Enter ``phase``; progress restarts unless the phase continues."""
        if phase != self._phase:
            self._phase = phase
            self._progress = progress
        if phase not in ("", "presolve"):
            self._algorithm_started = True

    def _accept(self, algorithm):
        # type: (str) -> Optional[str]
        """The phase to show for a line of ``algorithm``, or None to ignore it.

        Inside a MIP tree the LP lines are node re-solves; under sifting
        they are the sub-problem solver's; under concurrent they are the one
        log of several racing algorithms the solver chose to show.
        """
        if self._phase == "done" or self._mip_started:
            return None
        if self._mode == "sifting" and algorithm != "sifting":
            return None
        if self._mode == "concurrent" and algorithm not in ("crossover", "mip"):
            return "concurrent"
        return algorithm

    def _advance(self, progress):
        if progress is None:
            return
        progress = min(1.0, max(0.0, progress))
        if self._progress is None or progress > self._progress:
            self._progress = progress

    def _finish(self, status, text):
        self._phase = "done"
        self._table = None
        self._progress = 1.0
        self._details = text.strip() or status

    def _record(self, point):
        # type: (HistoryPoint) -> None
        self._last_point = point
        if self._points_seen % self._stride == 0:
            self._history.append(point)
            if len(self._history) >= self.history_size:
                # Keep every other point and sample half as often from now on.
                self._history = self._history[::2]
                self._stride *= 2
        self._points_seen += 1

    def _set_objective(self, value):
        if value is not None:
            self._objective = value

    # ------------------------------------------------------------ CPLEX
    def _feed_cplex(self, line):
        if _CPX_START.match(line):
            if self._phase == "done":
                self._reset()  # a second solve in a log without GAMS lines
            if not self._algorithm_started:
                self._set_phase("presolve")
            return
        match = _CPX_LPMETHOD.match(line)
        if match:
            method = _CPX_METHODS.get(int(match.group(1)))
            if method in ("sifting", "concurrent"):
                self._mode = method
            return
        if _CPX_CONCURRENT.search(line):
            # Printed before presolve: only remember it; the first line of the
            # shown sub-log switches the phase.
            if self._phase != "done":
                self._mode = "concurrent"
            return
        if _CPX_PRESOLVE.match(line):
            self._cplex_presolve(line)
            return
        if self._mip_started and self._cplex_mip(line):
            return
        if self._table == "barrier":
            match = _CPX_BARRIER_ROW.match(line)
            if match:
                self._cplex_barrier_row(match)
                return
        elif self._table == "simplex":
            match = _CPX_SIMPLEX2_ROW.match(line)
            if match:
                self._cplex_simplex2_row(match)
                return
        match = _CPX_SOLVED_BY.match(line)
        if match:
            self._solved_by(match.group(1))
            return
        first = line.lstrip()[:1]
        if first == "I":
            if _CPX_BARRIER_HEADER.match(line):
                self._cplex_barrier_header()
            else:
                self._cplex_iteration_lines(line)
        elif first in ("P", "D"):
            self._cplex_crossover_lines(line)
        elif first.isdigit():
            self._cplex_crossover_moves(line)
        elif first == "S":
            match = _CPX_SIFTING.match(line)
            if match:
                self._cplex_sifting(match)
        elif first == "N":
            if _CPX_MIP_HEADER.match(line):
                self._start_mip()
        elif first == "B":
            if _CPX_BARRIER_END.match(line):
                self._table = None
        elif first == "F":
            match = _CPX_INCUMBENT.match(line)
            if match:
                self._set_objective(_number(match.group(1)))
        elif first in ("M", "O"):
            self._cplex_final(line)
        if _CPX_BARRIER_PREP.search(line):
            self._cplex_barrier_prep()

    def _cplex_presolve(self, line):
        if not self._algorithm_started and self._phase != "done":
            self._set_phase("presolve")
            match = _CPX_REDUCED.match(line)
            if match:
                self._details = "%s rows %s cols" % (match.group(2), match.group(3))

    def _cplex_iteration_lines(self, line):
        match = _CPX_SIMPLEX1.match(line)
        if match:
            iteration = int(match.group(1))
            kind = match.group(2)
            value = _number(match.group(3))
            if kind == "Dual objective":
                self._simplex_point("dual simplex", iteration, value, None, None)
            elif kind == "Objective":
                self._simplex_point("primal simplex", iteration, value, None, None)
            elif kind in ("Scaled infeas", "Infeasibility"):
                self._simplex_point("primal simplex", iteration, None, value, None)
            else:
                self._simplex_point("dual simplex", iteration, None, None, value)
            return
        match = _CPX_SIMPLEX2_HEADER.match(line)
        if match and self._accept("simplex") is not None:
            self._table = "simplex"
            self._simplex_kind = "dual simplex" if match.group(1).startswith("Dual") else "primal simplex"

    def _cplex_simplex2_row(self, match):
        iteration = int(match.group(1))
        phase_one = match.group(2) is not None
        value = _number(match.group(3))
        kind = self._simplex_kind
        if kind == "dual simplex":
            if phase_one:
                self._simplex_point(kind, iteration, None, None, value)
            else:
                self._simplex_point(kind, iteration, value, None, None)
        elif phase_one:
            self._simplex_point(kind, iteration, None, value, None)
        else:
            self._simplex_point(kind, iteration, value, None, None)

    def _simplex_point(self, algorithm, iteration, objective, primal_inf, dual_inf):
        """Record one simplex line; ``objective`` is the value of the current basis."""
        phase = self._accept(algorithm)
        if phase is None:
            return
        if self._phase == "crossover":
            phase = "crossover"  # the simplex clean-up after crossover belongs to it
        self._set_phase(phase)
        self._iteration = iteration
        label = "" if phase == algorithm else algorithm + " "
        if objective is not None:
            self._set_objective(objective)
            self._details = "%sobj %s" % (label, _fmt(objective))
            if algorithm == "dual simplex":
                self._record((iteration, None, objective, None, None))
            else:
                self._record((iteration, objective, None, None, None))
        elif primal_inf is not None:
            self._details = "%sphase I infeas %s" % (label, _fmt_short(primal_inf))
            self._record((iteration, None, None, primal_inf, None))
        elif dual_inf is not None:
            self._details = "%sphase I dual infeas %s" % (label, _fmt_short(dual_inf))
            self._record((iteration, None, None, None, dual_inf))

    def _cplex_barrier_prep(self):
        phase = self._accept("barrier")
        if phase == "barrier" and self._phase != "barrier":
            self._set_phase("barrier")
            self._details = "ordering and factorizing"

    def _cplex_barrier_header(self):
        phase = self._accept("barrier")
        if phase is None:
            return
        self._set_phase(phase)
        self._table = "barrier"
        self._barrier_start = None
        if phase == "barrier" and self._progress is None:
            self._progress = 0.0

    def _cplex_barrier_row(self, match):
        phase = self._accept("barrier")
        if phase is None:
            return
        iteration = int(match.group(1))
        primal = _number(match.group(2))
        dual = _number(match.group(3))
        primal_inf = _max_known(_number(match.group(4)), _number(match.group(5)))
        dual_inf = _number(match.group(6))
        self._barrier_point(phase, iteration, primal, dual, primal_inf, dual_inf)

    def _barrier_point(self, phase, iteration, primal, dual, primal_inf, dual_inf):
        self._set_phase(phase)
        self._iteration = iteration
        self._set_objective(primal)
        self._record((iteration, primal, dual, primal_inf, dual_inf))
        gap = None
        if primal is not None and dual is not None:
            gap = abs(primal - dual) / (1.0 + abs(primal))
        measures = (gap, primal_inf, dual_inf)
        if self._barrier_start is None:
            self._barrier_start = measures
        if phase == "barrier":
            self._advance(self._barrier_fraction(measures))
        self._details = "obj %s pinf %s dinf %s" % (
            _fmt(primal), _fmt_short(primal_inf), _fmt_short(dual_inf))
        if phase != "barrier":
            self._details = "barrier " + self._details

    def _barrier_fraction(self, measures):
        fractions = []
        for start, now in zip(self._barrier_start, measures):
            if now is None:
                continue
            fractions.append(_log_fraction(start, now, self.tolerance))
        if not fractions:
            return None
        return sum(fractions) / len(fractions)

    def _cplex_crossover_lines(self, line):
        match = _CPX_CROSSOVER.match(line)
        if match:
            self._start_crossover(match.group(1).lower())
            return
        if self._phase != "crossover":
            return
        match = _CPX_CROSS_FIXING.match(line)
        if match:
            self._crossover_pass(match.group(1).lower(), int(match.group(2)))
            return
        match = _CPX_CROSS_NONE.match(line) or _CPX_CROSS_PUSHED.match(line)
        if match:
            self._crossover_pass_done(match.group(1).lower())

    def _cplex_crossover_moves(self, line):
        if self._phase != "crossover":
            return
        match = _CPX_CROSS_MOVES.match(line)
        if match:
            name = "primal" if match.group(2) == "PMoves" else "dual"
            self._crossover_remaining(name, int(match.group(1)))
            self._set_objective(_number(match.group(4)))

    def _start_crossover(self, which):
        if self._accept("crossover") != "crossover":
            return
        self._set_phase("crossover", 0.0)
        self._table = None
        self._cross_passes_done = set()
        self._cross_current = None
        self._cross_fraction = 0.0
        self._details = "%s crossover" % which

    def _crossover_pass(self, name, total):
        self._cross_current = (name, max(total, 1))
        self._cross_fraction = 0.0
        self._details = "%s: %d to fix" % (name, total)
        self._crossover_progress()

    def _crossover_remaining(self, name, remaining):
        if self._cross_current is None or self._cross_current[0] != name:
            # A pass whose "Fixing N" line we missed: its first count is N.
            self._cross_current = (name, max(remaining, 1))
        total = self._cross_current[1]
        self._cross_fraction = 1.0 - min(remaining, total) / float(total)
        self._details = "%s: %d left" % (name, remaining)
        self._crossover_progress()

    def _crossover_pass_done(self, name):
        self._cross_passes_done.add(name)
        if self._cross_current is not None and self._cross_current[0] == name:
            self._cross_current = None
        self._cross_fraction = 0.0
        self._details = "%s pass done" % name
        self._crossover_progress()

    def _crossover_progress(self):
        current = self._cross_fraction if self._cross_current is not None else 0.0
        done = len(self._cross_passes_done & {"primal", "dual"})
        self._advance((done + current) / 2.0)

    def _cplex_sifting(self, match):
        self._mode = "sifting"
        self._set_phase("sifting")
        iteration = int(match.group(1))
        value = _number(match.group(3))
        self._iteration = iteration
        if match.group(2) == "Objective":
            self._set_objective(value)
            self._details = "obj %s" % _fmt(value)
            self._record((iteration, value, None, None, None))
        else:
            self._details = "phase I infeas %s" % _fmt_short(value)
            self._record((iteration, None, None, value, None))

    def _solved_by(self, algorithm):
        if self._phase != "done":
            self._details = "%s won" % algorithm.lower()

    def _start_mip(self):
        if self._phase == "done":
            return
        self._mip_started = True
        self._mode = "mip"
        self._set_phase("mip")
        self._table = "mip"

    def _cplex_mip(self, line):
        """Parse a CPLEX node line; True when the line was one."""
        match = _CPX_MIP_ROW.match(line)
        if not match or self._phase == "done":
            return False
        node = int(match.group(2))
        has_itcnt = match.group(3) is None
        tokens = match.group(5).split()
        gap = None
        if tokens and (tokens[-1].endswith("%") or tokens[-1] == "---"):
            gap_token = tokens.pop()
            gap = _percent(gap_token)
            has_incumbent = True
        else:
            has_incumbent = False  # no incumbent yet: the gap column is blank
        if has_itcnt and tokens and tokens[-1].isdigit():
            tokens.pop()
        bound = None
        if len(tokens) >= 2 and tokens[-2].endswith(":"):
            # A cut count in the bound column: "Cuts: 9", "Impl Bds: 2".
            del tokens[-2:]
            while tokens and tokens[-1][:1].isalpha():
                tokens.pop()
        elif tokens:
            bound = _number(tokens.pop())
        incumbent = _number(tokens[-1]) if has_incumbent and tokens else None
        self._iteration = node
        self._set_objective(incumbent)
        self._mip_point(node, incumbent, bound, gap)
        return True

    def _mip_point(self, node, incumbent, bound, gap):
        if bound is not None:
            self._mip_bound = bound
        bound = self._mip_bound
        # Only the solver's own gap column is used: it prints "---" / "-"
        # when the gap is undefined (incumbent 0), and a gap computed here
        # would then be meaningless.
        if gap is not None:
            self._advance(_mip_fraction(gap, self.mip_gap_target))
        self._record((node, self._objective, bound, None, None))
        parts = []
        if gap is not None:
            parts.append("gap %s" % _fmt_gap(gap))
        if self._objective is not None:
            parts.append("inc %s" % _fmt(self._objective))
        elif bound is not None:
            parts.append("bound %s" % _fmt(bound))
        self._details = " ".join(parts) or "node %d" % node

    def _cplex_final(self, line):
        match = _CPX_FINAL_OBJ.match(line)
        if match:
            self._set_objective(_number(match.group(1)))
            nodes = _CPX_FINAL_NODES.match(line)
            if nodes:
                self._iteration = int(nodes.group(1))

    # ------------------------------------------------------------ GUROBI
    def _feed_gurobi(self, line):
        if _GRB_START.match(line):
            if self._phase == "done":
                self._reset()
            return
        if _GRB_OPTIMIZE.match(line):
            if not self._algorithm_started:
                self._set_phase("presolve")
            return
        if _GRB_SET_PARAMETER.match(line) and self._phase == "done":
            # A finished solve's log followed by the next solve's parameters
            # (one LogFile for several solves): they belong to the new solve.
            self._reset()
        match = _GRB_PARAMETER.match(line)
        if match:
            self._gurobi_parameter(match.group(1), int(match.group(2)))
            return
        if _GRB_PRESOLVE.match(line):
            if not self._algorithm_started and self._phase != "done":
                self._set_phase("presolve")
                match = _GRB_PRESOLVED.match(line)
                if match:
                    self._details = "%s rows %s cols" % (match.group(1), match.group(2))
            return
        if self._table == "grb_mip":
            match = _GRB_MIP_ROW.match(line)
            if match:
                self._gurobi_mip_row(match)
                return
        if self._table == "grb_simplex":
            match = _GRB_SIMPLEX_ROW.match(line)
            if match:
                self._gurobi_simplex_row(match)
                return
        if self._table == "grb_barrier":
            match = _GRB_BARRIER_ROW.match(line)
            if match:
                phase = self._accept("barrier")
                if phase is not None:
                    self._barrier_point(
                        phase, int(match.group(1)), _number(match.group(2)), _number(match.group(3)),
                        _number(match.group(4)), _number(match.group(5)))
                return
        if self._table == "grb_sift":
            match = _GRB_SIFT_ROW.match(line)
            if match:
                self._gurobi_sift_row(match)
                return
        self._gurobi_other(line)

    def _gurobi_parameter(self, name, value):
        if name == "Crossover":
            self._grb_crossover_off = value == 0
            return
        method = _GRB_METHODS.get(value)
        self._grb_method = method
        if method == "concurrent":
            self._mode = "concurrent"

    def _gurobi_other(self, line):
        if _GRB_SIMPLEX_HEADER.match(line):
            if self._phase == "crossover" or self._accept("simplex") is not None:
                self._table = "grb_simplex"
            return
        if _GRB_BARRIER_HEADER.match(line):
            phase = self._accept("barrier")
            if phase is not None:
                self._set_phase(phase)
                self._table = "grb_barrier"
                self._barrier_start = None
                if phase == "barrier" and self._progress is None:
                    self._progress = 0.0
            return
        if _GRB_BARRIER_END.match(line):
            self._table = None
            counts = _GRB_BARRIER_COUNTS.match(line)
            if counts and self._phase != "done" and not self._mip_started:
                self._iteration = int(counts.group(1))
                self._solver_seconds = _number(counts.group(2))
            if line.startswith("Barrier solved model"):
                self._grb_barrier_done = True
                if self._phase == "barrier":
                    self._advance(1.0)
            return
        if _GRB_BARRIER_PREP.match(line):
            if self._accept("barrier") == "barrier" and self._phase != "barrier":
                self._set_phase("barrier")
                self._details = "ordering and factorizing"
            return
        if _GRB_CROSSOVER.match(line):
            self._start_crossover("gurobi")
            self._details = "crossover"
            return
        match = _GRB_PUSHES.match(line)
        if match:
            if self._phase == "crossover":
                name = "dual" if match.group(2) == "DPushes" else "primal"
                remaining = int(match.group(1))
                if self._cross_current is not None and self._cross_current[0] != name:
                    self._crossover_pass_done(self._cross_current[0])
                if remaining == 0:
                    self._crossover_pass_done(name)
                else:
                    self._crossover_remaining(name, remaining)
            return
        if _GRB_PUSH_DONE.match(line):
            if self._phase == "crossover":
                self._crossover_pass_done("primal")
                self._crossover_pass_done("dual")
                self._details = "push phase complete"
            return
        if _GRB_CONCURRENT.match(line):
            self._mode = "concurrent"
            self._set_phase("concurrent")
            return
        match = _GRB_SOLVED_WITH.match(line)
        if match:
            self._solved_by(match.group(1))
            return
        if _GRB_SIFTING.match(line):
            self._mode = "sifting"
            self._set_phase("sifting")
            return
        if _GRB_SIFT_HEADER.match(line):
            if self._mode == "sifting":
                self._table = "grb_sift"
            return
        if _GRB_SIFT_DONE.match(line):
            if self._phase == "sifting":
                self._table = "grb_simplex"
            return
        if _GRB_MIP_HEADER.match(line):
            self._start_mip()
            self._table = "grb_mip"
            return
        match = _GRB_HEURISTIC.match(line)
        if match:
            self._set_objective(_number(match.group(1)))
            return
        match = _GRB_EXPLORED.match(line)
        if match:
            self._iteration = int(match.group(1))
            self._solver_seconds = _number(match.group(2))
            self._table = None
            return
        match = _GRB_BEST.match(line)
        if match:
            self._set_objective(_number(match.group(1)))
            return
        match = _GRB_SOLVED.match(line)
        if match:
            self._iteration = int(match.group(2))
            self._solver_seconds = _number(match.group(3))
            # "Stopped in" is followed by the reason, which ends the solve.
            if match.group(1) == "Solved" and not self._mip_started and self._phase != "done":
                self._finish("solved", "solved")
            return
        match = _GRB_OPTIMAL_OBJ.match(line)
        if match:
            self._set_objective(_number(match.group(1)))
            # After "Barrier solved model" this is the barrier's objective and
            # crossover may still follow; the final one comes after "Solved in".
            # With Crossover 0 nothing follows (no "Solved in" either), except
            # under concurrent ("Warning: Concurrent optimizer requires
            # crossover - forcing it on").
            barrier_result = self._grb_barrier_done and self._phase in ("barrier", "concurrent")
            final_barrier = (barrier_result and self._grb_crossover_off
                             and self._mode != "concurrent")
            if not self._mip_started and (final_barrier or not barrier_result):
                self._finish("optimal", "optimal")
            return
        match = _GRB_END.match(line)
        if match:
            text = match.group(0).lower()
            self._finish(text, "optimal" if text.startswith("optimal") else text)

    def _gurobi_simplex_row(self, match):
        iteration = int(match.group(1))
        objective = _number(match.group(2))
        primal_inf = _number(match.group(3))
        dual_inf = _number(match.group(4))
        algorithm = self._grb_method
        if algorithm not in ("primal simplex", "dual simplex"):
            algorithm = "simplex"
        if self._phase in ("crossover", "sifting"):
            phase = self._phase  # the clean-up simplex after crossover or sifting
        else:
            phase = self._accept(algorithm)
            if phase is None:
                return
        self._set_phase(phase)
        self._iteration = iteration
        self._set_objective(objective)
        self._record((iteration, objective, None, primal_inf, dual_inf))
        label = "" if phase == algorithm else algorithm + " "
        self._details = "%sobj %s pinf %s dinf %s" % (
            label, _fmt(objective), _fmt_short(primal_inf), _fmt_short(dual_inf))

    def _gurobi_sift_row(self, match):
        iteration = int(match.group(1))
        primal = _number(match.group(2))
        dual = _number(match.group(3))
        self._set_phase("sifting")
        self._iteration = iteration
        self._set_objective(primal)
        self._record((iteration, primal, dual, None, None))
        self._details = "obj %s dual %s" % (_fmt(primal), _fmt(dual))

    def _gurobi_mip_row(self, match):
        node = int(match.group(2))
        # Columns from the right: Time and It/Node (matched), then Gap,
        # BestBd, Incumbent; "-" marks an empty cell.
        tokens = match.group(4).split()
        if len(tokens) < 3:
            return
        gap_token = tokens.pop()
        bound = _number(tokens.pop())
        incumbent = _number(tokens.pop())
        gap = _percent(gap_token)
        self._iteration = node
        self._set_objective(incumbent)
        self._mip_point(node, incumbent, bound, gap)


# ---------------------------------------------------------------- helpers
def _number(text):
    # type: (Optional[str]) -> Optional[float]
    """A finite float below the solvers' "infinity" (1e30), else None."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or abs(value) >= _INFINITE:
        return None
    return value


def _percent(text):
    # type: (str) -> Optional[float]
    if not text.endswith("%"):
        return None
    value = _number(text[:-1])
    return None if value is None else value / 100.0


def _max_known(first, second):
    known = [v for v in (first, second) if v is not None]
    return max(known) if known else None


def _log_fraction(start, now, tolerance):
    # type: (Optional[float], float, float) -> float
    """Share of the way from ``start`` down to ``tolerance``, on a log10 scale."""
    if now <= tolerance or start is None or start <= tolerance:
        return 1.0 if now <= tolerance else 0.0
    span = math.log10(start) - math.log10(tolerance)
    return min(1.0, max(0.0, (math.log10(start) - math.log10(now)) / span))


def _mip_fraction(gap, target):
    # type: (float, float) -> float
    if gap <= target:
        return 1.0
    if gap >= 1.0:
        return 0.0
    return math.log10(1.0 / gap) / math.log10(1.0 / target)


def _fmt(value):
    # type: (Optional[float]) -> str
    return "-" if value is None else "%.4e" % value


def _fmt_short(value):
    # type: (Optional[float]) -> str
    return "-" if value is None else "%.1e" % value


def _fmt_gap(gap):
    # type: (float) -> str
    return "%.2f%%" % (gap * 100.0)


def decode_lines(data, max_line_bytes=None):
    # type: (bytes, Optional[int]) -> List[str]
    """The lines of a block (``b"\\n"``-separated), each cut to *max_line_bytes* and decoded."""
    pieces = data.split(b"\n")
    if max_line_bytes is not None and len(data) > max_line_bytes \
            and max(map(len, pieces)) > max_line_bytes:
        pieces = [piece[:max_line_bytes] for piece in pieces]
    # "\n" never occurs inside a UTF-8 sequence, so decoding the joined
    # lines at once splits exactly like decoding each line.
    return b"\n".join(pieces).decode("utf-8", "replace").split("\n")


def _is_row(line):
    # type: (str) -> bool
    """An iteration row: starts (after blanks) with a digit or ``Iteration:``."""
    stripped = line.lstrip()
    return stripped[:1].isdigit() or stripped.startswith("Iteration:")
