"""The solver-neutral half of a log parser: phases, progress, a bounded history.

``SolverLog`` is the base class of each solver's grammar (``solvers.log_cplex``,
``solvers.log_gurobi``; ``table.SolverLogParser(solver)`` picks one).  It owns
everything the grammars share: the public API (``feed``, ``feed_lines``,
``feed_block``, ``snapshot``, ``history``), the GAMS lines around every
solve, the phase rules (what a line of an algorithm means inside a MIP tree,
under sifting or under concurrent), and the phase logic both solvers print
alike: presolve, barrier (preparation, table, progress), crossover passes,
the MIP gap.  A grammar only matches its solver's lines and calls these.

The log is what GAMS writes (the solver's own output between GAMS's "---"
lines) or, for GUROBI, the solver's own log file: both work.

Feed lines one at a time (``feed``) and ask for a ``LogProgress`` whenever
the display redraws. The parser keeps a few numbers and a bounded,
downsampled history, never the lines themselves; it ignores every line it
does not recognise, so binary junk, truncated lines and the output of other
programs cannot make it raise.

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

Why about 500 lines: the phase rules are shared by both grammars and read
together; the grammars themselves are in log_cplex.py and log_gurobi.py.
"""

import math
import re
from collections import namedtuple
from typing import List, Optional, Tuple

from times_doctor.solvers import log_batch as logbatch

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

DEFAULT_TOLERANCE = 1e-8
DEFAULT_MIP_GAP_TARGET = 1e-4
DEFAULT_HISTORY_SIZE = 500
# Real solver lines are under 200 characters; a longer "line" is junk and
# only its start is looked at, which bounds the regex work per line.
MAX_LINE_CHARS = 1024
# Both solvers print 1e+30 and above for "infinite".
_INFINITE = 1e30

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"

# Lines every solver's log has (GAMS wraps each solve in them).
# "--- Executing CPLEX (Solvelink=2): ..." starts a solve; "--- Executing after
# solve" is GAMS resuming its own execution and must not reset anything.
_GAMS_EXECUTING = re.compile(r"^--- Executing (?!after )\S")
_SOLVER_STATUS = re.compile(r"^(?:---\s*)?(LP|MIP) status\s*\((-?\d+)\)\s*:\s*(.*?)\.?\s*$")
# GAMS reads the solution once the solver process has ended, whatever it
# printed before (a solver may stop without a status line of its own).
_GAMS_READING_SOLUTION = re.compile(r"^--- Reading solution for model")


class SolverLog(object):
    """Follow one GAMS log and report where the solver is; subclassed per solver.

    Args:
        tolerance: barrier convergence target for the progress estimate.
        mip_gap_target: relative MIP gap counted as finished (GAMS optcr).
        history_size: most points ``history()`` returns.

    A new solve in the same log (GAMS "--- Executing ...") starts afresh.
    Not thread-safe: feed and snapshot from one thread (the one tailing the
    log) or guard the parser with a lock.

    A subclass sets ``solver`` (its name in the solver table) and implements
    ``_feed_solver(line)``; it extends ``_reset()`` for state of its own.
    """

    solver = None  # type: Optional[str]

    def __init__(self, tolerance=DEFAULT_TOLERANCE, mip_gap_target=DEFAULT_MIP_GAP_TARGET,
                 history_size=DEFAULT_HISTORY_SIZE):
        if not 0 < tolerance < 1 or not 0 < mip_gap_target < 1:
            raise ValueError("tolerance and mip_gap_target must be between 0 and 1")
        if history_size < 2:
            raise ValueError("history_size must be at least 2")
        self.tolerance = tolerance
        self.mip_gap_target = mip_gap_target
        self.history_size = history_size
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

    def feed_lines(self, lines, keep_rows=logbatch.DEFAULT_KEEP_ROWS):
        # type: (List[str], int) -> None
        """Take a batch of new lines, parsing in full only what the display needs.

        Every marker line and the rows next to markers and at the end of
        the batch: see ``logbatch``.  ``history()`` just gets fewer of the
        skipped points, which it thins out anyway.
        """
        logbatch.feed_lines(self.feed, lines, keep_rows)

    def feed_block(self, data, max_line_bytes=None, keep_rows=logbatch.DEFAULT_KEEP_ROWS):
        # type: (bytes, Optional[int], int) -> None
        """feed_lines() for a block of lines as LogTail.read_block() returns them.

        Exactly ``feed_lines(decode_lines(data, max_line_bytes))``, but the
        rows between markers are never split or decoded: see
        ``logbatch.feed_block``.
        """
        logbatch.feed_block(self.feed, data, max_line_bytes, keep_rows)

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

    def metrics(self):
        # type: () -> dict
        """The numbers of the newest iteration row, by name (run/series.py records them).

        Keys, present only when the row carried them: primal_obj, dual_obj,
        primal_inf, dual_inf, compl (GUROBI's barrier complementarity) for an
        LP row; incumbent, bound, mip_gap (a fraction, the solver's own
        column) for a MIP node row.  Empty before the first row.
        """
        point = self._last_point
        if point is None:
            return {}
        if self._last_kind == "mip":
            names = (None, "incumbent", "bound", None, None)
            values = dict(mip_gap=self._last_extra)
        else:
            names = (None, "primal_obj", "dual_obj", "primal_inf", "dual_inf")
            values = dict(compl=self._last_extra)
        for name, value in zip(names, point):
            if name is not None:
                values[name] = value
        return dict((name, value) for name, value in values.items() if value is not None)

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

    @property
    def work_units(self):
        # type: () -> Optional[float]
        """GUROBI's deterministic work for the current solve, or None.

        The "(0.48 work units)" of the same summary lines as solver_seconds:
        like CPLEX's ticks, the same work whatever the machine's load.
        None for CPLEX (its ticks are in the listing: lst.LstResult.det_ticks).
        """
        return self._work_units

    # ------------------------------------------------------------ state
    def _reset(self):
        """Forget the current solve (a subclass adds its own fields after calling this)."""
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
        self._mip_bound = None   # type: Optional[float]
        self._solver_seconds = None  # type: Optional[float]
        self._work_units = None  # type: Optional[float]
        self._history = []       # type: List[HistoryPoint]
        self._last_point = None  # type: Optional[HistoryPoint]
        self._last_kind = None   # "lp" or "mip": how to read _last_point (metrics())
        self._last_extra = None  # barrier complementarity (lp) or MIP gap (mip) of it
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

    def _feed_solver(self, line):
        """Parse one line of the solver's own output (the grammar of a subclass)."""
        raise NotImplementedError("a SolverLog subclass parses its solver's lines")

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

    def _record(self, point, kind="lp", extra=None):
        # type: (HistoryPoint, str, Optional[float]) -> None
        self._last_point = point
        self._last_kind = kind
        self._last_extra = extra
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

    # ------------------------------------------------------------ phases both solvers print
    def _presolve(self, reduced):
        """A presolve line; *reduced*: the match of its "N rows, M columns" (groups rows, cols)."""
        if not self._algorithm_started and self._phase != "done":
            self._set_phase("presolve")
            if reduced:
                self._details = "%s rows %s cols" % (reduced.group("rows"), reduced.group("cols"))

    def _solved_by(self, algorithm):
        if self._phase != "done":
            self._details = "%s won" % algorithm.lower()

    def _barrier_preparation(self):
        """Ordering and factorizing before the first barrier iteration."""
        if self._accept("barrier") == "barrier" and self._phase != "barrier":
            self._set_phase("barrier")
            self._details = "ordering and factorizing"

    def _start_barrier_table(self):
        """The barrier iteration table's header: its rows follow."""
        phase = self._accept("barrier")
        if phase is None:
            return
        self._set_phase(phase)
        self._table = "barrier"
        self._barrier_start = None
        if phase == "barrier" and self._progress is None:
            self._progress = 0.0

    def _barrier_row(self, iteration, primal, dual, primal_inf, dual_inf, compl=None):
        phase = self._accept("barrier")
        if phase is None:
            return
        self._set_phase(phase)
        self._iteration = iteration
        self._set_objective(primal)
        self._record((iteration, primal, dual, primal_inf, dual_inf), extra=compl)
        gap = None
        if primal is not None and dual is not None:
            gap = abs(primal - dual) / (1.0 + abs(primal))
        measures = (gap, primal_inf, dual_inf)
        if self._barrier_start is None:
            self._barrier_start = measures
        if phase == "barrier":
            self._advance(self._barrier_fraction(measures))
        self._details = "obj %s pinf %s dinf %s" % (
            fmt_value(primal), fmt_short(primal_inf), fmt_short(dual_inf))
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

    def _start_mip(self):
        if self._phase == "done":
            return
        self._mip_started = True
        self._mode = "mip"
        self._set_phase("mip")
        self._table = "mip"

    def _mip_point(self, node, incumbent, bound, gap):
        if bound is not None:
            self._mip_bound = bound
        bound = self._mip_bound
        # Only the solver's own gap column is used: it prints "---" / "-"
        # when the gap is undefined (incumbent 0), and a gap computed here
        # would then be meaningless.
        if gap is not None:
            self._advance(_mip_fraction(gap, self.mip_gap_target))
        self._record((node, self._objective, bound, None, None), "mip", gap)
        parts = []
        if gap is not None:
            parts.append("gap %s" % _fmt_gap(gap))
        if self._objective is not None:
            parts.append("inc %s" % fmt_value(self._objective))
        elif bound is not None:
            parts.append("bound %s" % fmt_value(bound))
        self._details = " ".join(parts) or "node %d" % node


# ---------------------------------------------------------------- helpers
def parse_number(text):
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


def parse_percent(text):
    # type: (str) -> Optional[float]
    """The fraction a percentage stands for ("2.07%" -> 0.0207); None for "-", "---" and junk."""
    if not text.endswith("%"):
        return None
    value = parse_number(text[:-1])
    return None if value is None else value / 100.0


def fmt_value(value):
    # type: (Optional[float]) -> str
    """An objective for the Details column."""
    return "-" if value is None else "%.4e" % value


def fmt_short(value):
    # type: (Optional[float]) -> str
    """An infeasibility for the Details column."""
    return "-" if value is None else "%.1e" % value


def _fmt_gap(gap):
    # type: (float) -> str
    return "%.2f%%" % (gap * 100.0)


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
