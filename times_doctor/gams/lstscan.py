"""One pass over a GAMS listing or log, in bounded memory: what diagnose needs from it.

A TIMES listing can be hundreds of megabytes of source echo, equation
listings and profile lines; the few lines that matter start in a handful of
ways.  The file is read in 1 MiB chunks and one regular expression (run in
C) picks out those lines; Python looks only at them:

* GAMS errors.  A compilation error is a marker line under the echoed source
  line, ``****          $170    $170``, each ``$`` under the end of the
  offending token, followed by ``**** LINE  10808 BATINCLUDE  file.dd`` lines
  (where, innermost first) and ``**** 170  Domain violation for element``
  (the text; older listings put the texts in an ``Error Messages`` section
  instead).  Error 170 is counted per element: the token the ``$`` points at
  (quoted ``'AUD25'`` or bare).  ``**** 2 ERROR(S)   0 WARNING(S)`` gives the
  totals; ``**** Exec Error at line 4: division by zero (0)`` an execution
  error; a log's ``*** Error 170 in FILE`` / ``*** Error at line 4: ...``
  the same without the elements.  Formats: tests/fixtures/lst/compile_error.lst
  and exec_error.lst (GAMS 54.6.1), a TIMES/VEDA listing with $170 markers
  quoted by the original times-doctor (dlg0/times-doctor,
  tests/unit/test_lst_extraction.py) and the GAMS User's Guide ("Compilation
  Errors", "Execution Errors").
* The last solve's statuses, objective and range statistics
  (lst.LstState, fed the same lines).
* The conflict refiner's report (conflict.ConflictReport).
* CPLEX's datacheck warnings, ``CPLEX Warning  1036: Decimal part of
  coefficient for variable 'X' in constraint 'EQ(...)' looks like 47/76 in
  single precision.``, counted by warning number and by the TIMES family of
  the constraint (else the variable) they name.
* Whether the file ended as GAMS ends it (the listing's ``**** FILE
  SUMMARY``, the log's ``--- Job ... Stop``), licensing stops, NUL bytes.
"""

import collections
import io
import re

from times_doctor.gams import times_vocab
from times_doctor.gams.conflict import ConflictReport
from times_doctor.errors import ParseError, os_reason
from times_doctor.gams.lst import LstState
from times_doctor.gams.tally import BoundedCounter

CHUNK_BYTES = 1 << 20
MAX_LINE_CHARS = 4096   # a selected line is cut here (its rest is never needed)
# A line longer than this (a binary file, a listing of one endless line) keeps its
# head only: the memory a line may take is bounded whatever the file holds.
MAX_CARRY_BYTES = 1 << 20

# Led by the line end before the line (not "^" in MULTILINE mode): the engine then
# jumps from line end to line end by a fast search for one byte, twice as fast.
_SELECTED = re.compile(
    rb"\n(\*\*\*[^\n]*"
    rb"|--- [^\n]*"
    rb"|[ \t]*(?:lower|upper|fixed|free|rng|equality|sos|indic)[ \t]*:[^\n]*"
    rb"|[ \t]*Number of [^\n]*"
    rb"|Row '[^\n]*|Bound infeasibility[^\n]*"
    rb"|CPLEX Warning[^\n]*"
    rb"|(?:Matrix|RHS|Bound)[ \t]+\[min[^\n]*"
    rb"|[ \t]+S O L V E[^\n]*|[ \t]+TYPE[ \t][^\n]*"
    rb"|[ \t]+RESOURCE USAGE[^\n]*|[ \t]+ITERATION COUNT[^\n]*"
    rb"|(?:LP|MIP) status[^\n]*"
    rb"|Error Messages[^\n]*"
    rb"|IIS computed[^\n]*)")
_MARKER = re.compile(r"\$(\d+)")
_MARKER_LINE = re.compile(r"^\*{4}\s+\$\d+")
_ERROR_TEXT = re.compile(r"^\*{4}\s(\d{1,4})\s{2}(\S.*?)\s*$")
_LINE_WHERE = re.compile(r"^\*{4} LINE\s+(\d+)\s+\S+\s+(.*?)\s*$")
_TOTALS = re.compile(r"^\*{4}\s+(\d+) ERROR\(S\)\s+(\d+) WARNING\(S\)")
_EXEC_ERROR = re.compile(r"^\*{4} Exec Error at line (\d+):\s*(.*?)\s*$")
_LOG_ERROR = re.compile(r"^\*\*\* Error (\d+) in (.*?)\s*$")
_LOG_EXEC_ERROR = re.compile(r"^\*\*\* Error at line (\d+):\s*(.*?)\s*$")
_ERROR_MESSAGE_ROW = re.compile(r"^\s*(\d{1,4})\s{2,}(\S.*?)\s*$")
_DATACHECK = re.compile(r"^CPLEX Warning\s+(\d+):\s*(.*?)\s*$")
_QUOTED = re.compile(r"'[^']*'")
_ECHO_NUMBER = re.compile(r"^\s*(\d+)\s")
_ELEMENT_CHARS = re.compile(r"[A-Za-z0-9_+\-.]")
# Compilation errors counted per element: 170 "Domain violation for element".
ELEMENT_ERRORS = (170,)

GamsError = collections.namedtuple("GamsError", "code text count where elements")
GamsError.__doc__ = """One kind of GAMS error in a file.

code: GAMS's error number (None for an execution error); text: GAMS's text;
count: occurrences; where: the first one ("line 556722, file.dd line 10808");
elements: [(element, count, first where)] for ELEMENT_ERRORS, most frequent
first (a BoundedCounter's ranking), else [].
"""


class ListingScan(object):
    """What one listing (or log) says; see scan_file()."""

    def __init__(self, path):
        self.path = path
        self.lines = 0
        self.size = 0
        self.nul_offset = None          # byte offset of the first NUL, if any
        self.state = LstState()
        self.conflict = ConflictReport()
        self.error_codes = BoundedCounter(1000)
        self.error_texts = {}
        self.elements = {}               # code -> BoundedCounter of elements
        self.error_totals = None         # (errors, warnings) GAMS counted
        self.exec_errors = BoundedCounter(1000)
        self.datacheck = BoundedCounter(1000)    # (warning number, family) -> count
        self.datacheck_texts = {}                # warning number -> message, names masked
        self.licence = None              # GAMS's licensing message
        self.log_status = None           # "*** Status: ..." of a log
        self.user_errors = False         # the listing's "**** USER ERROR(S) ENCOUNTERED"
        self.file_summary = False        # the listing's "**** FILE SUMMARY" came
        self.job_stop = False            # the log's "--- Job ... Stop" came
        self.has_compilation = False     # "COMPILATION TIME" or an echo: GAMS wrote it
        self._pending = []               # markers waiting for their "**** LINE" location
        self._in_messages = False        # inside an "Error Messages" section

    @property
    def lst(self):
        """The LstResult of the last solve (statuses, objective, ranges)."""
        return self.state.result()

    def errors(self):
        """[GamsError], compilation errors (by code) then execution errors (by text)."""
        found = []
        for code, count in self.error_codes.most_common():
            elements = []
            if code in self.elements:
                counter = self.elements[code]
                elements = [(element, number, counter.first.get(element))
                            for element, number in counter.most_common(10)]
            found.append(GamsError(code, self.error_texts.get(code, ""), count,
                                   self.error_codes.first.get(code), elements))
        for text, count in self.exec_errors.most_common():
            found.append(GamsError(None, text, count, self.exec_errors.first.get(text), []))
        return found

    def datacheck_kinds(self):
        """[(warning number, message, count, [(family, count)])], most frequent first."""
        by_code = collections.OrderedDict()
        for (code, family), count in self.datacheck.most_common():
            by_code.setdefault(code, []).append((family, count))
        kinds = [(code, self.datacheck_texts.get(code, ""), sum(n for _, n in families),
                  families) for code, families in by_code.items()]
        return sorted(kinds, key=lambda kind: (-kind[2], kind[0]))


def scan_file(path):
    """Read a listing or log once and return its ``ListingScan``.

    Raises:
        ParseError: the file cannot be opened or read (the message names it).
    """
    scan = ListingScan(path)
    try:
        with io.open(path, "rb") as stream:
            _scan_stream(scan, stream)
    except (IOError, OSError) as error:
        raise ParseError("cannot read %s: %s" % (path, os_reason(error)))
    return scan


def line_blocks(stream, chunk_bytes=None, max_carry=None):
    """Blocks of whole lines of a binary stream, about a chunk each; the last one may lack
    its line end.  A line longer than *max_carry* keeps its head only (memory stays bounded
    whatever the file holds)."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    max_carry = max_carry or MAX_CARRY_BYTES
    carry = b""
    while True:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            if carry:
                yield carry
            return
        buffer = carry + chunk
        end = buffer.rfind(b"\n") + 1
        if end == 0:
            carry = buffer[:max_carry]  # no line end yet
            continue
        carry = buffer[end:][:max_carry]
        yield buffer[:end]


def _scan_stream(scan, stream):
    last_line = ""
    for body in line_blocks(stream):
        if scan.nul_offset is None:
            nul = body.find(b"\x00")
            if nul >= 0:
                scan.nul_offset = scan.size + nul
        scan.size += len(body)
        scan.lines += body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
        last_line = _scan_body(scan, body, last_line)


def _scan_body(scan, body, last_line):
    """Feed the selected lines of *body* (whole lines); returns its last line."""
    if scan._in_messages:
        position = _error_messages(scan, body, 0)
        if position is None:
            return _last_line(body)
    if not scan.has_compilation and b"COMPILATION TIME" in body:
        scan.has_compilation = True
    for match in _SELECTED.finditer(b"\n" + body):
        line = _text(match.group(1))
        if _MARKER_LINE.match(line):
            start = match.start(1) - 1  # where the line starts in body
            if start == 0:
                echo = last_line
            else:
                begin = body.rfind(b"\n", 0, start - 1) + 1
                echo = _text(body[begin:start - 1])
            _marker(scan, line, echo)
            continue
        if line.startswith("Error Messages"):
            scan._in_messages = True
            if _error_messages(scan, body, match.end()) is None:
                return _last_line(body)
            continue
        _feed(scan, line)
    return _last_line(body)


def _feed(scan, line):
    if line.startswith("*"):
        if _star_line(scan, line):
            return
    elif line.startswith("CPLEX Warning"):
        _datacheck(scan, line)
        return
    elif line.startswith("--- Job ") and " Stop " in line:
        scan.job_stop = True
    scan.state.feed(line)
    scan.conflict.feed(line)


def _star_line(scan, line):
    """A line that starts with '*'; True when it was one of GAMS's error lines."""
    match = _ERROR_TEXT.match(line)
    if match:
        scan.error_texts.setdefault(int(match.group(1)), match.group(2))
        return True
    match = _LINE_WHERE.match(line)
    if match:
        where = "%s line %s" % (match.group(2), match.group(1))
        for code, first in scan._pending:
            scan.error_codes.first.setdefault(code, first + ", " + where)
            if code in scan.elements:
                for element, where_first in list(scan.elements[code].first.items()):
                    if where_first == first:
                        scan.elements[code].first[element] = first + ", " + where
        scan._pending = []
        return True
    scan._pending = []
    match = _TOTALS.match(line)
    if match:
        scan.error_totals = (int(match.group(1)), int(match.group(2)))
        scan.has_compilation = True
        return True
    match = _EXEC_ERROR.match(line) or _LOG_EXEC_ERROR.match(line)
    if match:
        scan.exec_errors.add(match.group(2), "line %s" % match.group(1))
        return True
    match = _LOG_ERROR.match(line)
    if match:
        scan.error_codes.add(int(match.group(1)), match.group(2))
        return True
    stripped = line.strip("* ").strip()
    if stripped == "FILE SUMMARY":
        scan.file_summary = True
    elif stripped == "USER ERROR(S) ENCOUNTERED":
        scan.user_errors = True
    elif line.startswith("*** Status:"):
        scan.log_status = line[len("*** Status:"):].strip()
        if "licens" in scan.log_status.lower():
            scan.licence = scan.licence or scan.log_status
    elif "license" in line.lower() and ("Terminated" in line or "exceeds" in line
                                        or "expired" in line):
        scan.licence = scan.licence or stripped
    return False


def _marker(scan, line, echo):
    """A ``****   $170`` line under its echoed source line."""
    number = _ECHO_NUMBER.match(echo)
    first = "line %s" % number.group(1) if number else "listing line %d" % scan.lines
    for match in _MARKER.finditer(line):
        code = int(match.group(1))
        scan.error_codes.add(code, first)
        if code in ELEMENT_ERRORS:
            element = _element_at(echo, match.start())
            counter = scan.elements.setdefault(code, BoundedCounter(10000))
            counter.add(element or "(unknown element)", first)
        scan._pending.append((code, first))
    scan.has_compilation = True


def _element_at(echo, column):
    """The token of *echo* that ends at *column* (where GAMS put the ``$``)."""
    if column >= len(echo):
        column = len(echo) - 1
    if column < 0:
        return None
    char = echo[column]
    if char in "'\"":
        opening = echo.rfind(char, 0, column)
        return echo[opening + 1:column] if opening >= 0 else None
    if not _ELEMENT_CHARS.match(char):
        column -= 1  # a marker just after the token
        if column < 0 or not _ELEMENT_CHARS.match(echo[column]):
            return None
        if echo[column] in "'\"":
            return _element_at(echo, column)
    start = column
    while start > 0 and _ELEMENT_CHARS.match(echo[start - 1]) and echo[start - 1] != ".":
        start -= 1
    return echo[start:column + 1] or None


def _error_messages(scan, body, position):
    """Rows of an "Error Messages" section from *position*; None when it runs on."""
    while position < len(body):
        end = body.find(b"\n", position)
        end = len(body) if end < 0 else end
        line = _text(body[position:end])
        position = end + 1
        if not line.strip():
            continue
        match = _ERROR_MESSAGE_ROW.match(line)
        if not match:
            scan._in_messages = False
            return position
        scan.error_texts.setdefault(int(match.group(1)), match.group(2))
    return None


def _datacheck(scan, line):
    match = _DATACHECK.match(line)
    if not match:
        return
    code = int(match.group(1))
    message = match.group(2)
    scan.datacheck_texts.setdefault(code, _QUOTED.sub("'...'", message))
    named = re.search(r"constraint '([^']*)'", message) or re.search(r"variable '([^']*)'",
                                                                      message)
    family = times_vocab.family_key(named.group(1)) if named else "(no name)"
    scan.datacheck.add((code, family))


def _text(raw):
    return raw[:MAX_LINE_CHARS].decode("utf-8", "replace").rstrip("\r")


def _last_line(body):
    begin = body.rfind(b"\n", 0, len(body) - 1) + 1
    return _text(body[begin:].rstrip(b"\n"))
