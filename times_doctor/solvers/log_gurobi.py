"""GUROBI's log grammar: which lines say what, for the solver-neutral ``SolverLog``.

Reads the log GUROBI writes through GAMS, or its own LogFile (gurobipy 13;
``tests/fixtures/logs/gurobi_*``, and ``tests/test_gurobi_oracle.py`` checks
every fixture against gurobi-logtools): the parameter echo (``Set parameter
Method to value 1``, and Gurobi 11's "Non-default parameters" list), the
simplex, barrier and sifting tables, the crossover push counts, the MIP
table, and the summary lines with the solver's own run time.
"""

import re
from typing import Optional  # noqa: F401  (used in type comments)

from times_doctor.solvers.log import NUMBER as _NUM
from times_doctor.solvers.log import SolverLog, fmt_short, fmt_value, parse_number, parse_percent

_GRB_START = re.compile(r"^Gurobi Optimizer version")
_GRB_OPTIMIZE = re.compile(r"^Optimize a model with")
# Gurobi echoes each parameter as it is set ("Set parameter Method to value
# 1"), before the "Gurobi Optimizer version" banner of the solve it is for,
# and lists them again after the banner ("Non-default parameters:", then
# "Method  1"; Gurobi 11 and later).
_GRB_SET_PARAMETER = re.compile(r"^Set parameter \w+ to value")
_GRB_PARAMETER = re.compile(r"^(?:Set parameter )?(Method|Crossover)(?: to value)?\s+(-?\d+)\s*$")
_GRB_PRESOLVE = re.compile(r"^(?:Presolve removed|Presolve time|Presolved:|Presolve added)")
_GRB_PRESOLVED = re.compile(r"^Presolved: (?P<rows>\d+) rows, (?P<cols>\d+) columns")
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
# The deterministic work of a summary line: "... 0.37 seconds (0.48 work units)".
_GRB_WORK_UNITS = re.compile(r"\((" + _NUM + r") work units\)\s*$")
_GRB_OPTIMAL_OBJ = re.compile(r"^Optimal objective\s+(" + _NUM + r")")
_GRB_END = re.compile(
    r"^(?:Optimal solution found|Infeasible model|Unbounded model|Infeasible or unbounded model|"
    r"Model is infeasible|Time limit reached|Iteration limit reached|Node limit reached|"
    r"Solve interrupted)")

_GRB_METHODS = {0: "primal simplex", 1: "dual simplex", 2: "barrier", 3: "concurrent",
                4: "concurrent", 5: "concurrent"}


class GurobiLogParser(SolverLog):
    """GUROBI's log, through GAMS or its own LogFile."""

    solver = "gurobi"

    def _reset(self):
        SolverLog._reset(self)
        self._grb_method = None  # type: Optional[str]
        self._grb_barrier_done = False  # "Barrier solved model" seen
        self._grb_crossover_off = False  # Crossover 0: the barrier result is final

    def _feed_solver(self, line):
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
            self._parameter(match.group(1), int(match.group(2)))
            return
        if _GRB_PRESOLVE.match(line):
            self._presolve(_GRB_PRESOLVED.match(line))
            return
        if self._table == "mip":
            match = _GRB_MIP_ROW.match(line)
            if match:
                self._mip_row(match)
                return
        if self._table == "simplex":
            match = _GRB_SIMPLEX_ROW.match(line)
            if match:
                self._simplex_row(match)
                return
        if self._table == "barrier":
            match = _GRB_BARRIER_ROW.match(line)
            if match:
                self._barrier_row(
                    int(match.group(1)), parse_number(match.group(2)), parse_number(match.group(3)),
                    parse_number(match.group(4)), parse_number(match.group(5)),
                    parse_number(match.group(6)))
                return
        if self._table == "sift":
            match = _GRB_SIFT_ROW.match(line)
            if match:
                self._sift_row(match)
                return
        self._other_line(line)

    def _parameter(self, name, value):
        if name == "Crossover":
            self._grb_crossover_off = value == 0
            return
        method = _GRB_METHODS.get(value)
        self._grb_method = method
        if method == "concurrent":
            self._mode = "concurrent"

    def _other_line(self, line):
        if _GRB_SIMPLEX_HEADER.match(line):
            if self._phase == "crossover" or self._accept("simplex") is not None:
                self._table = "simplex"
            return
        if _GRB_BARRIER_HEADER.match(line):
            self._start_barrier_table()
            return
        if _GRB_BARRIER_END.match(line):
            self._table = None
            counts = _GRB_BARRIER_COUNTS.match(line)
            if counts and self._phase != "done" and not self._mip_started:
                self._iteration = int(counts.group(1))
                self._solver_seconds = parse_number(counts.group(2))
                self._work(line)
            if line.startswith("Barrier solved model"):
                self._grb_barrier_done = True
                if self._phase == "barrier":
                    self._advance(1.0)
            return
        if _GRB_BARRIER_PREP.match(line):
            self._barrier_preparation()
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
                self._table = "sift"
            return
        if _GRB_SIFT_DONE.match(line):
            if self._phase == "sifting":
                self._table = "simplex"
            return
        if _GRB_MIP_HEADER.match(line):
            self._start_mip()
            self._table = "mip"
            return
        match = _GRB_HEURISTIC.match(line)
        if match:
            self._set_objective(parse_number(match.group(1)))
            return
        match = _GRB_EXPLORED.match(line)
        if match:
            self._iteration = int(match.group(1))
            self._solver_seconds = parse_number(match.group(2))
            self._work(line)
            self._table = None
            return
        match = _GRB_BEST.match(line)
        if match:
            self._set_objective(parse_number(match.group(1)))
            return
        match = _GRB_SOLVED.match(line)
        if match:
            self._iteration = int(match.group(2))
            self._solver_seconds = parse_number(match.group(3))
            self._work(line)
            # "Stopped in" is followed by the reason, which ends the solve.
            if match.group(1) == "Solved" and not self._mip_started and self._phase != "done":
                self._finish("solved", "solved")
            return
        match = _GRB_OPTIMAL_OBJ.match(line)
        if match:
            self._set_objective(parse_number(match.group(1)))
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

    def _work(self, line):
        """The work units of a summary line; the last one of a solve is its total."""
        match = _GRB_WORK_UNITS.search(line)
        if match:
            self._work_units = parse_number(match.group(1))

    def _simplex_row(self, match):
        iteration = int(match.group(1))
        objective = parse_number(match.group(2))
        primal_inf = parse_number(match.group(3))
        dual_inf = parse_number(match.group(4))
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
            label, fmt_value(objective), fmt_short(primal_inf), fmt_short(dual_inf))

    def _sift_row(self, match):
        iteration = int(match.group(1))
        primal = parse_number(match.group(2))
        dual = parse_number(match.group(3))
        self._set_phase("sifting")
        self._iteration = iteration
        self._set_objective(primal)
        self._record((iteration, primal, dual, None, None))
        self._details = "obj %s dual %s" % (fmt_value(primal), fmt_value(dual))

    def _mip_row(self, match):
        node = int(match.group(2))
        # Columns from the right: Time and It/Node (matched), then Gap,
        # BestBd, Incumbent; "-" marks an empty cell.
        tokens = match.group(4).split()
        if len(tokens) < 3:
            return
        gap_token = tokens.pop()
        bound = parse_number(tokens.pop())
        incumbent = parse_number(tokens.pop())
        gap = parse_percent(gap_token)
        self._iteration = node
        self._set_objective(incumbent)
        self._mip_point(node, incumbent, bound, gap)
