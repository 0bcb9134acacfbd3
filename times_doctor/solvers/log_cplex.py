"""CPLEX's log grammar: which lines say what, for the solver-neutral ``SolverLog``.

Reads CPLEX's own output as GAMS writes it into the run's log (GAMS 54,
CPLEX 22; ``tests/fixtures/logs/cplex_*``): the ``simdisplay 1`` and ``2``
simplex lines, the ``bardisplay 2`` barrier table, crossover's PMoves and
DMoves, sifting, the MIP node table.  ``Reduced LP has`` is the presolve's
result; ``CPXPARAM_LPMethod`` says whether a sifting or concurrent sub-log
follows.
"""

import re

from times_doctor.solvers.log import NUMBER as _NUM
from times_doctor.solvers.log import SolverLog, fmt_short, fmt_value, parse_number, parse_percent

_CPX_START = re.compile(r"^(?:--- Starting Cplex|Version identifier: )")
_CPX_LPMETHOD = re.compile(r"^CPXPARAM_LPMethod\s+(\d+)")
_CPX_CONCURRENT = re.compile(r"concurrent optimization", re.IGNORECASE)
_CPX_PRESOLVE = re.compile(
    r"^(?:Tried aggregator|(?:LP|MIP) Presolve|Presolve time|Aggregator did|"
    r"Reduced (?:LP|MIP) has|No LP presolve|Probing time|Repeating presolve)")
_CPX_REDUCED = re.compile(r"^Reduced (?:LP|MIP) has (?P<rows>\d+) rows, (?P<cols>\d+) columns")
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

_CPX_METHODS = {1: "primal simplex", 2: "dual simplex", 3: "network", 4: "barrier",
                5: "sifting", 6: "concurrent"}


class CplexLogParser(SolverLog):
    """CPLEX's log (``simdisplay 2`` / ``bardisplay 2`` tables, as profiles ask for)."""

    solver = "cplex"

    def _reset(self):
        SolverLog._reset(self)
        self._simplex_kind = "dual simplex"   # of the simdisplay 2 table being read

    def _feed_solver(self, line):
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
            self._presolve(_CPX_REDUCED.match(line))
            return
        if self._mip_started and self._mip_row(line):
            return
        if self._table == "barrier":
            match = _CPX_BARRIER_ROW.match(line)
            if match:
                self._barrier_row(
                    int(match.group(1)), parse_number(match.group(2)), parse_number(match.group(3)),
                    _max_known(parse_number(match.group(4)), parse_number(match.group(5))),
                    parse_number(match.group(6)))
                return
        elif self._table == "simplex":
            match = _CPX_SIMPLEX2_ROW.match(line)
            if match:
                self._simplex2_row(match)
                return
        match = _CPX_SOLVED_BY.match(line)
        if match:
            self._solved_by(match.group(1))
            return
        first = line.lstrip()[:1]
        if first == "I":
            if _CPX_BARRIER_HEADER.match(line):
                self._start_barrier_table()
            else:
                self._iteration_lines(line)
        elif first in ("P", "D"):
            self._crossover_lines(line)
        elif first.isdigit():
            self._crossover_moves(line)
        elif first == "S":
            match = _CPX_SIFTING.match(line)
            if match:
                self._sifting_line(match)
        elif first == "N":
            if _CPX_MIP_HEADER.match(line):
                self._start_mip()
        elif first == "B":
            if _CPX_BARRIER_END.match(line):
                self._table = None
        elif first == "F":
            match = _CPX_INCUMBENT.match(line)
            if match:
                self._set_objective(parse_number(match.group(1)))
        elif first in ("M", "O"):
            self._final_line(line)
        if _CPX_BARRIER_PREP.search(line):
            self._barrier_preparation()

    def _iteration_lines(self, line):
        match = _CPX_SIMPLEX1.match(line)
        if match:
            iteration = int(match.group(1))
            kind = match.group(2)
            value = parse_number(match.group(3))
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

    def _simplex2_row(self, match):
        iteration = int(match.group(1))
        phase_one = match.group(2) is not None
        value = parse_number(match.group(3))
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
            self._details = "%sobj %s" % (label, fmt_value(objective))
            if algorithm == "dual simplex":
                self._record((iteration, None, objective, None, None))
            else:
                self._record((iteration, objective, None, None, None))
        elif primal_inf is not None:
            self._details = "%sphase I infeas %s" % (label, fmt_short(primal_inf))
            self._record((iteration, None, None, primal_inf, None))
        elif dual_inf is not None:
            self._details = "%sphase I dual infeas %s" % (label, fmt_short(dual_inf))
            self._record((iteration, None, None, None, dual_inf))

    def _crossover_lines(self, line):
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

    def _crossover_moves(self, line):
        if self._phase != "crossover":
            return
        match = _CPX_CROSS_MOVES.match(line)
        if match:
            name = "primal" if match.group(2) == "PMoves" else "dual"
            self._crossover_remaining(name, int(match.group(1)))
            self._set_objective(parse_number(match.group(4)))

    def _sifting_line(self, match):
        self._mode = "sifting"
        self._set_phase("sifting")
        iteration = int(match.group(1))
        value = parse_number(match.group(3))
        self._iteration = iteration
        if match.group(2) == "Objective":
            self._set_objective(value)
            self._details = "obj %s" % fmt_value(value)
            self._record((iteration, value, None, None, None))
        else:
            self._details = "phase I infeas %s" % fmt_short(value)
            self._record((iteration, None, None, value, None))

    def _mip_row(self, line):
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
            gap = parse_percent(gap_token)
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
            bound = parse_number(tokens.pop())
        incumbent = parse_number(tokens[-1]) if has_incumbent and tokens else None
        self._iteration = node
        self._set_objective(incumbent)
        self._mip_point(node, incumbent, bound, gap)
        return True

    def _final_line(self, line):
        match = _CPX_FINAL_OBJ.match(line)
        if match:
            self._set_objective(parse_number(match.group(1)))
            nodes = _CPX_FINAL_NODES.match(line)
            if nodes:
                self._iteration = int(nodes.group(1))


def _max_known(first, second):
    known = [v for v in (first, second) if v is not None]
    return max(known) if known else None
