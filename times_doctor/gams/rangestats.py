"""GAMS's range statistics judged: which of matrix, right-hand side and bounds is out of range.

GAMS prints, for every model it generates, the smallest and largest absolute
non-zero finite value of the matrix, the right-hand sides and the bounds
(``Matrix    [min, max] : [ 1.000E-05, 3.077E+06]``; lst.LstResult holds them).
Solvers lose accuracy when the matrix coefficients of one model span many
orders of magnitude: Gurobi's "Guidelines for Numerical Issues" (reference
manual, "Recommended ranges for variables and constraints", "Advanced user
scaling") recommend six orders of magnitude or less for the matrix and
right-hand sides and bounds of 1e4 or less.  TIMES models rarely meet those;
what is flagged here is what goes well beyond them: a matrix ratio above
1e9 (the scan report's threshold), any value above 1e9 (an infinity
stand-in or a unit problem), and a right-hand side or bound smaller than the
solvers' default feasibility tolerance, 1e-6 (CPLEX ``eprhs``, Gurobi
``FeasibilityTol``), which the solver cannot tell from zero.  Pure.
"""

import collections
import math

# Matrix coefficient ratio (max / min) beyond which solvers lose accuracy.
MATRIX_RATIO_LIMIT = 1e9
# Any coefficient, right-hand side or bound larger than this looks like an
# "infinity" stand-in or a unit problem.
LARGE_VALUE_LIMIT = 1e9
# CPLEX's eprhs and Gurobi's FeasibilityTol default: a right-hand side or bound
# below it is zero to the solver.
FEASIBILITY_TOLERANCE = 1e-6

RangeRow = collections.namedtuple("RangeRow", "name low high ratio problems")
RangeRow.__doc__ = """One line of the range statistics: name ("matrix", "right-hand side",
"bound"), low/high (None for NA), ratio high/low (None when unknown), problems:
a tuple of sentences, empty when it is within the usual range."""


def range_rows(lst):
    """[RangeRow] for matrix, right-hand side and bounds of a LstResult (empty for None)."""
    if lst is None:
        return []
    rows = []
    for name, low, high in (("matrix", lst.matrix_min, lst.matrix_max),
                            ("right-hand side", lst.rhs_min, lst.rhs_max),
                            ("bound", lst.bound_min, lst.bound_max)):
        ratio = high / low if low and high else None
        problems = []
        if name == "matrix" and ratio is not None and ratio > MATRIX_RATIO_LIMIT:
            problems.append(
                "the matrix coefficients span %s orders of magnitude (ratio %s, above %s): "
                "solvers lose accuracy on such models; rescale the units of the variables or "
                "equations with the largest and smallest coefficients"
                % (fmt(math.log10(ratio), 3), fmt(ratio), fmt(MATRIX_RATIO_LIMIT)))
        if name != "matrix" and low is not None and 0 < low < FEASIBILITY_TOLERANCE:
            problems.append("%ss as small as %s are below the solvers' feasibility tolerance "
                            "(%s), so they act as zero: drop them or rescale"
                            % (name, fmt(low), fmt(FEASIBILITY_TOLERANCE)))
        if high is not None and high > LARGE_VALUE_LIMIT:
            label = "matrix coefficient" if name == "matrix" else name
            problems.append("a %s of %s (above %s) looks like a stand-in for infinity or a "
                            "unit problem" % (label, fmt(high), fmt(LARGE_VALUE_LIMIT)))
        rows.append(RangeRow(name, low, high, ratio, tuple(problems)))
    return rows


def range_warnings(lst):
    """Plain-language warnings for one listing's range statistics (a list of str)."""
    return [problem for row in range_rows(lst) for problem in row.problems]


def fmt(value, digits=4):
    """A short number: 12.3, 0.00123, 1.5e+09."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        return "%.*g" % (digits, value)
    return "%.*e" % (max(digits - 2, 1), value)
