"""Read a GAMS listing (.lst) file: a run's result, the TIMES source it included; GAMS return codes.

A TIMES listing can be hundreds of megabytes (equation and column listings,
solution reports), so ``parse_lst`` streams it line by line with a bound on
the length of a line and keeps only the handful of values it reports.
"""

import io
import os
import re
from collections import namedtuple
from typing import Dict, Optional, Union

from times_doctor.errors import ParseError

LstResult = namedtuple(
    "LstResult",
    "solver_status model_status objective lp_status iterations solver_time matrix_min matrix_max "
    "rhs_min rhs_max bound_min bound_max direction det_ticks")
# The range fields and det_ticks came later: callers that build a result by
# position with the first eight keep working.
LstResult.__new__.__defaults__ = (None, None, None, None, None, None)
LstResult.__doc__ = """What the last solve in a listing reported; None for anything absent.

solver_status: "1 Normal Completion" (code and text as GAMS prints them).
model_status: "1 Optimal".
objective: float from "**** OBJECTIVE VALUE".
lp_status: the solver's own final status, code and text: "1 optimal" from
    CPLEX's "--- LP status (1): optimal.", "101 integer optimal solution"
    from "--- MIP status (101): ...".
iterations: int from "ITERATION COUNT, LIMIT".
solver_time: float seconds from "RESOURCE USAGE, LIMIT".
matrix_min, matrix_max: floats from the range statistics
    ("Matrix    [min, max] : [ 1.260E-01, 1.000E+00]"); None for "NA".
rhs_min, rhs_max, bound_min, bound_max: the same for the "RHS" and "Bound"
    lines of the range statistics.
direction: "MINIMIZE" or "MAXIMIZE" from the solve summary (which incumbent
    is the better one).
det_ticks: float, CPLEX's deterministic time from the link's
    "--- Cplex Time: 2.87sec (det. 3633.34 ticks)": the same work gives the
    same ticks however loaded the machine is.
"""

MAX_LINE_BYTES = 65536

# The include table: SEQ GLOBAL TYPE PARENT LOCAL INCLVL FILENAME
# (TYPE may be two words: "IF EXIST").
_INCLUDE_ROW_RE = re.compile(
    br"^[ \t]*\d+[ \t]+\d+[ \t]+[A-Za-z][A-Za-z_ \t]*?[ \t]+\d+[ \t]+\d+[ \t]+\d+[ \t]+"
    br"(\S.*?)[ \t\r\n]*$")

# Model status codes that mean the solver proved what it was asked to prove:
# 1 Optimal, 2 Locally Optimal (an NLP solver's optimum), 15 Solved Unique (a
# CNS system solved with a unique solution). Deliberately not included:
# 8 Integer Solution (feasible, but the gap was not closed: a limit or a
# relative gap tolerance stopped the search) and 16 Solved / 17 Solved
# Singular (a CNS solution without the uniqueness or regularity claim).
OPTIMAL_MODEL_STATUS_CODES = frozenset([1, 2, 15])

# GAMS documentation, "GAMS Return Codes" (UG_GAMSReturnCodes, list of error
# codes). Meanings are lower-case so they read well inside a sentence.
GAMS_RC_MEANINGS = {
    0: "normal return",
    1: "solver is to be called, the system should never return this number",
    2: "compilation error",
    3: "execution error",
    4: "system limits were reached",
    5: "file error",
    6: "parameter error",
    7: "licensing error",
    8: "GAMS system error",
    9: "GAMS could not be started",
    10: "out of memory",
    11: "out of disk",
    109: "could not create process/scratch directory",
    110: "too many process/scratch directories",
    112: "could not delete the process/scratch directory",
    113: "could not write the script gamsnext",
    114: "could not write the parameter file",
    115: "could not read environment variable",
    400: "could not spawn the GAMS language compiler (gamscmex)",
    401: "current directory (curdir) does not exist",
    402: "cannot set current directory (curdir)",
    404: "blank in system directory (UNIX only)",
    405: "blank in current directory (UNIX only)",
    406: "blank in scratch extension (scrext)",
    407: "unexpected cmexRC",
    408: "could not find the process directory (procdir)",
    409: "CMEX library not found (experimental)",
    410: "entry point in CMEX library could not be found (experimental)",
    411: "blank in process directory (UNIX only)",
    412: "blank in scratch directory (UNIX only)",
    909: "cannot add path / unknown UNIX environment / cannot set environment variable",
    1000: "driver error: incorrect command line parameters for gams",
    2000: "driver error: internal error: cannot install interrupt handler",
    3000: "driver error: problems getting current directory",
    4000: "driver error: internal error: GAMS compile and execute module not found",
    5000: "driver error: internal error: cannot load option handling library",
}  # type: Dict[int, str]


def _posix_aliases(meanings):
    # type: (Dict[int, str]) -> Dict[int, str]
    """Exit statuses seen on POSIX for the codes above 255.

    A POSIX exit status has 8 bits, so GAMS code 400 reaches the caller as
    144 (400 - 256); GAMS's own gamspy maps 144..156, 160, 184, 208 and 232
    this way.
    """
    aliases = {}
    for code, meaning in sorted(meanings.items()):
        short = code % 256
        if code > 255 and short not in meanings and short not in aliases:
            aliases[short] = "%s (GAMS code %d seen as an 8-bit exit status)" % (meaning, code)
    return aliases


GAMS_RC_POSIX_ALIASES = _posix_aliases(GAMS_RC_MEANINGS)


def parse_lst(path):
    # type: (str) -> LstResult
    """Return the last solve's results from a GAMS listing file.

    The file is read in bounded lines; values of an earlier solve are dropped
    when the next "S O L V E      S U M M A R Y" starts, so a run with two
    solves reports the second. Range statistics belong to the model
    generation before a solve, so the last "Matrix", "RHS" and "Bound" lines are kept.

    Raises:
        ParseError: the file cannot be opened or read (the message names it).
    """
    state = LstState()
    try:
        with open(path, "rb") as stream:
            for raw in bounded_lines(stream, MAX_LINE_BYTES):
                state.feed(raw.decode("utf-8", "replace").rstrip("\r\n"))
    except OSError as exc:
        raise ParseError("cannot read listing file %s: %s" % (path, exc))
    return state.result()


def initsys_from_lst(path):
    # type: (str) -> Optional[str]
    """The FILENAME of the first initsys.mod row of the listing's Include File Summary, or None.

    Reads bounded lines up to the end of that table (listings can be
    gigabytes; the summary comes right after compilation).

    Raises:
        OSError: the file cannot be read.
    """
    in_summary = False
    with io.open(path, "rb") as stream:
        for line in bounded_lines(stream, MAX_LINE_BYTES):
            stripped = line.strip()
            if not in_summary:
                in_summary = stripped == b"Include File Summary"
                continue
            if stripped.startswith(b"COMPILATION TIME"):
                return None
            match = _INCLUDE_ROW_RE.match(line)
            if match:
                filename = os.fsdecode(match.group(1))
                if re.split(r"[\\/]", filename)[-1].lower() == "initsys.mod":
                    return filename
    return None


def model_status_is_optimal(model_status):
    # type: (Union[str, int, None]) -> bool
    """True for the model statuses in ``OPTIMAL_MODEL_STATUS_CODES``.

    Accepts the ``LstResult.model_status`` string ("1 Optimal"), a bare
    code, or None (no solve: False).
    """
    code = status_code(model_status)
    return code is not None and code in OPTIMAL_MODEL_STATUS_CODES


def gams_rc_meaning(rc):
    # type: (Optional[int]) -> str
    """Explain a GAMS process return code in words.

    A negative code is what ``subprocess`` reports for a process killed by
    a signal.
    """
    if rc is None:
        return "no return code (still running)"
    if rc < 0:
        return "killed by signal %d" % -rc
    if rc in GAMS_RC_MEANINGS:
        return GAMS_RC_MEANINGS[rc]
    if rc in GAMS_RC_POSIX_ALIASES:
        return GAMS_RC_POSIX_ALIASES[rc]
    return "unknown return code %d" % rc


_SOLVE_SUMMARY = re.compile(r"^\s*S O L V E\s+S U M M A R Y")
_DIRECTION = re.compile(r"^\s*TYPE\s+\S+\s+DIRECTION\s+(MINIMIZE|MAXIMIZE)\s*$")
_SOLVER_STATUS = re.compile(r"^\*\*\*\* SOLVER STATUS\s+(\d+\s.*?)\s*$")
_MODEL_STATUS = re.compile(r"^\*\*\*\* MODEL STATUS\s+(\d+\s.*?)\s*$")
_OBJECTIVE = re.compile(r"^\*\*\*\* OBJECTIVE VALUE\s+(\S+)")
_RESOURCE = re.compile(r"^\s*RESOURCE USAGE, LIMIT\s+(\S+)")
_ITERATIONS = re.compile(r"^\s*ITERATION COUNT, LIMIT\s+(\d+)")
_SOLVER_LP_STATUS = re.compile(r"^(?:---\s*)?(?:LP|MIP) status\s*\((-?\d+)\)\s*:\s*(.*?)\.?\s*$")
_CPLEX_TIME = re.compile(r"^--- Cplex Time:\s*\S+?sec\s*\(det\.\s*(\S+)\s+ticks\)")
_RANGE = re.compile(
    r"^(?:---\s+)?(Matrix|RHS|Bound)\s+\[min, max\]\s*:\s*\[\s*([^,\]]+?)\s*,\s*([^\]]+?)\s*\]")


class LstState(object):
    """The values seen so far; the fields of the solve being read.

    ``feed(line)`` each line (others than the ones it knows are ignored
    cheaply), then ``result()``; diagnose's listing reader feeds it the
    lines it selects.
    """

    def __init__(self):
        # "Matrix", "RHS", "Bound" -> (min, max) of the last model generated.
        self.ranges = {}
        self._reset_solve()

    def _reset_solve(self):
        self.solver_status = None
        self.model_status = None
        self.objective = None
        self.lp_status = None
        self.iterations = None
        self.solver_time = None
        self.direction = None
        self.det_ticks = None

    def feed(self, line):
        # type: (str) -> None
        # Cheap prefix tests first: nearly every line of a big listing is a
        # source echo, an equation listing or a solution row.
        if line.startswith("**** "):
            self._feed_stars(line)
        elif "S O L V E" in line:
            if _SOLVE_SUMMARY.match(line):
                self._reset_solve()
        elif line.startswith("--- Cplex Time:"):
            match = _CPLEX_TIME.match(line)
            if match:
                self.det_ticks = _to_float(match.group(1))
        elif "status" in line:
            match = _SOLVER_LP_STATUS.match(line)
            if match:
                self.lp_status = "%s %s" % (match.group(1), match.group(2))
        elif "DIRECTION" in line:
            match = _DIRECTION.match(line)
            if match:
                self.direction = match.group(1)
        elif "USAGE, LIMIT" in line:
            match = _RESOURCE.match(line)
            if match:
                self.solver_time = _to_float(match.group(1))
        elif "COUNT, LIMIT" in line:
            match = _ITERATIONS.match(line)
            if match:
                self.iterations = int(match.group(1))
        elif "[min, max]" in line:
            match = _RANGE.match(line)
            if match:
                self.ranges[match.group(1)] = (_to_float(match.group(2)),
                                               _to_float(match.group(3)))

    def _feed_stars(self, line):
        match = _SOLVER_STATUS.match(line)
        if match:
            self.solver_status = _squeeze(match.group(1))
            return
        match = _MODEL_STATUS.match(line)
        if match:
            self.model_status = _squeeze(match.group(1))
            return
        match = _OBJECTIVE.match(line)
        if match:
            self.objective = _to_float(match.group(1))

    def result(self):
        # type: () -> LstResult
        none = (None, None)
        matrix = self.ranges.get("Matrix", none)
        rhs = self.ranges.get("RHS", none)
        bound = self.ranges.get("Bound", none)
        return LstResult(self.solver_status, self.model_status, self.objective,
                         self.lp_status, self.iterations, self.solver_time,
                         matrix[0], matrix[1], rhs[0], rhs[1], bound[0], bound[1],
                         self.direction, self.det_ticks)


def bounded_lines(stream, max_line_bytes):
    """Yield the lines of a binary stream, each cut to ``max_line_bytes``.

    ``readline(limit)`` never returns more than ``limit`` bytes; the rest of
    an over-long line is read and dropped in pieces of the same size.
    """
    while True:
        line = stream.readline(max_line_bytes)
        if not line:
            return
        if not line.endswith(b"\n") and len(line) == max_line_bytes:
            while True:
                rest = stream.readline(max_line_bytes)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line


def _to_float(text):
    # type: (str) -> Optional[float]
    """GAMS numbers ("153.6750", "1.260E-01"); None for NA, INF, garbage."""
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def _squeeze(text):
    # type: (str) -> str
    return " ".join(text.split())


def status_code(status):
    # type: (Union[str, int, None]) -> Optional[int]
    """The number of a status ("4 Infeasible" -> 4; a bare code as it is); None when absent."""
    if status is None or isinstance(status, bool):
        return None
    if isinstance(status, int):
        return status
    match = re.match(r"\s*(\d+)", str(status))
    return int(match.group(1)) if match else None
