"""Model statistics of an MPS file, the figures GAMS prints when it generates a model.

GAMS counts the objective-defining equation as a row and the objective
variable as a column; the MPS files under tests/models are written that way
(tests/models/make_mps.py), with the objective N-row holding only the
objective variable, so "rows" here are the non-N rows.  The range statistics
follow the three lines GAMS 54.6.1 logs (tests/fixtures/logs/*_run_log.txt):
absolute non-zero finite values of the right-hand sides, the bounds and the
matrix, each with "- Zero values observed as well" when a zero was seen.
"""

INFINITY = 1e20


class Stats(object):
    def __init__(self):
        self.rows = 0
        self.columns = 0
        self.nonzeros = 0
        self.discrete = 0
        self.rhs = Range()
        self.bounds = Range()
        self.matrix = Range()


class Range(object):
    def __init__(self):
        self.low = None
        self.high = None
        self.zero = False

    def add(self, value):
        value = abs(value)
        if value == 0:
            self.zero = True
        elif value < INFINITY:
            self.low = value if self.low is None else min(self.low, value)
            self.high = value if self.high is None else max(self.high, value)


def read_stats(path):
    """Stats of the free-format MPS file at *path*."""
    stats = Stats()
    section = None
    objective_rows = set()
    row_names = set()
    columns = set()
    integer = False
    rhs_seen = set()
    with open(path) as handle:
        for raw in handle:
            if not raw.strip() or raw.startswith("*"):
                continue
            if not raw[0].isspace():
                section = raw.split()[0].upper()
                continue
            fields = raw.split()
            if section == "ROWS":
                if fields[0].upper() == "N":
                    objective_rows.add(fields[1])
                else:
                    row_names.add(fields[1])
            elif section == "COLUMNS":
                if len(fields) >= 3 and fields[1].strip("'\"").upper() == "MARKER":
                    integer = "INTORG" in fields[2].upper()
                    continue
                column = fields[0]
                if column not in columns:
                    columns.add(column)
                    if integer:
                        stats.discrete += 1
                for row, value in zip(fields[1::2], fields[2::2]):
                    if row in objective_rows:
                        continue  # GAMS's objective is the variable: no matrix entry
                    value = float(value)
                    stats.nonzeros += 1
                    stats.matrix.add(value)
            elif section == "RHS":
                for row, value in zip(fields[1::2] if len(fields) % 2 else fields[0::2],
                                      fields[2::2] if len(fields) % 2 else fields[1::2]):
                    if row in objective_rows:
                        continue
                    rhs_seen.add(row)
                    stats.rhs.add(float(value))
            elif section == "BOUNDS":
                kind = fields[0].upper()
                if kind == "BV":
                    stats.bounds.add(1.0)
                elif kind in ("UP", "LO", "FX") and len(fields) >= 4:
                    stats.bounds.add(float(fields[3]))
    stats.rows = len(row_names)
    stats.columns = len(columns)
    if len(rhs_seen) < len(row_names):
        stats.rhs.zero = True  # a row without an RHS entry has a zero right-hand side
    stats.bounds.zero = True  # the default lower bound of every column is zero
    return stats


def range_lines(stats):
    """The three "--- RHS/Bound/Matrix [min, max]" lines, without the "--- " prefix."""
    return ["%-9s [min, max] : %s" % (name, _range_text(value))
            for name, value in (("RHS", stats.rhs), ("Bound", stats.bounds),
                                ("Matrix", stats.matrix))]


def _range_text(value):
    if value.low is None:
        # GAMS 54.6.1: "[        NA,        NA] - Zero values observed as well" for the
        # bounds of a model whose columns have only default bounds (cplex_infeasible.lst).
        text = "[%10s,%10s]" % ("NA", "NA")
    else:
        text = "[%10.3E,%10.3E]" % (value.low, value.high)
    if value.zero:
        text += " - Zero values observed as well"
    return text
