"""GAMS option definition files (``opt<solver>.def``) and option files judged against them.

Every GAMS system directory holds one definition file per solver link
(``optcplex.def``, ``optgurobi.def``, ...): the option names the link
accepts, their types, ranges or enumerated values, synonyms, deprecated
names, indicator keywords and the end-of-line comment character.  Checking
a profile against the def file of the user's own GAMS catches ``lpmethd 4``
before a scan spends hours on the default algorithm: GAMS's option reader
reports such a line in the solver log, ignores it, and the run goes on.

The def format, as GAMS 54 writes it (one entry per line, ``*`` lines are
comments, indented lines belong to the entry above them)::

    name boolean  REFNUM DEFAULT SHOW GROUP HELP...
    name integer  REFNUM DEFAULT LOWER UPPER SHOW GROUP HELP...   (also double)
    name enumint  REFNUM DEFAULT SHOW GROUP HELP...               (also enumstr)
     VALUE SHOW HELP...                                           (one per allowed value)
    name string   REFNUM DEFAULT SHOW GROUP HELP...
    name strlist  REFNUM SHOW GROUP HELP...
    name immediate KEYWORD SHOW GROUP HELP...
    .name TYPE ...                      (a "dot option": VAR.name VALUE in the file)
    alias synonym name
    keyword indicator
    anything EOLCOMM CHAR               (no such line: no end-of-line comments)
    groupname deprecated
     alias MESSAGE...                   (deprecated names, one per line)
    groupname group NUMBER HELPCONTEXT HELP...

How GAMS reads an option file: the rules below were learned from GAMS's
own option reader (``gams.core.opt`` of gamsapi 54.6.1, the library the
solver links call, with gamspy-base's ``optcplex.def`` and gamspy-gurobi's
``optgurobi.def``); tests/test_optdef_oracle.py holds them to it on
generated lines, every run.

Lines and words
  * The file is read as bytes, line by line (LF ends a line; a CR is just
    a character, but CRs at the end of a line go).  Only the first 1020
    bytes of a line count.
  * ``*`` in column 1 makes the line a comment; blank lines are nothing.
  * Leading spaces and tabs are skipped (nothing else: not a form feed, a
    NUL or a byte-order mark); then an option name must start: a letter,
    then letters, digits, ``_`` and ``/`` (any case).  Anything else
    ("Option keyword expected") makes GAMS ignore the line.
  * After the name: a blank (space, tab), ``=`` or the end of the line.
    Any other character ("Bad separator": ``-``, ``!``, ``:``, ``,``, NUL
    ...) makes GAMS ignore the line.
  * Then blanks, then ``=`` or ``:=`` (and blanks again); a ``:`` alone
    there means "no value".  The rest of the line is the value, cut at the
    end-of-line comment character (if the def file has one: ``!`` for
    CPLEX, none for GUROBI) where it is not inside double quotes; nothing
    but blanks left: "Value expected".  Trailing blanks and control
    characters (not NUL) are dropped, and a NUL ends the value (it is
    converted as a C string).
  * Double quotes: a value that holds any ``"`` must be one quoted string
    (``"..."`` with no ``"`` inside); the blanks inside are dropped.  Single
    quotes are ordinary characters.
  * Names are found in any case, synonyms too (``mipgap`` is ``epgap``).
    An unknown name makes GAMS ignore the line.  A deprecated name is read,
    with a warning.
  * A name set again later: the later line wins (a note, not an error).

Values by type
  * boolean: ``0``, ``1``, ``yes``/``no``, ``on``/``off``, ``true``/``false``,
    ``y``/``n``, ``t``/``f`` in any case.  Nothing else (not ``1.0``, ``01``, ``+1``).
  * integer: ``on``/``off`` (1/0), ``maxint``/``minint`` (any case, no sign),
    hexadecimal ``[+-]0x...``, or a number as for a double that is whole
    and within [-2147483648, 2147483647] (``1.0``, ``1e3``, ``.`` = 0 are
    whole); then the def file's range.
  * enumint: ``on``/``off``, ``maxint``/``minint``, hexadecimal or plain
    digits with a sign (no ``.`` or exponent), within 32 bits; then one of
    the listed values.
  * double: ``[+-]digits[.digits][e|E|d|D[+-]digits]`` where the digits
    before and after the point may both be missing (``.`` and ``-.`` are 0,
    but ``+`` and ``e5`` are not numbers), or ``eps`` (1e-20), ``maxdouble``
    (1e299), ``mindouble`` (-1e299).  Not ``inf``, ``nan`` or hexadecimal; a
    value that overflows (``1e309``) is not a number.  Then the range, where
    the bounds ``mindouble``/``maxdouble`` are -1e299/1e299.
  * Words (``yes``, ``maxint``, ``eps`` ...) are compared whole; numbers are
    converted as C strings (up to a NUL).
  * enumstr: one of the listed values, compared in any case as text
    (``"1"`` but not ``01``).  string, strlist: anything.
  * immediate options take their value as written (no quote or control
    character handling): ``nobounds`` with any value but ``0``, ``no``,
    ``off`` (any case) turns range checks off for the lines after it; a
    ``:`` before the value is a separator.
  * Outside the range: GAMS ignores the line.  After ``nobounds``, a value
    out of range is still ignored (with a warning), an enumint value not in
    the list is kept (a note), and an enumstr value not in the list is
    dropped without a word (the option stays unset or gets an empty text;
    GAMS 54.6.1's reader may even crash on it).
  * ``readfile FILE`` reads FILE from the run's working directory; a file
    that does not open makes GAMS ignore the line.

Dot options and indicators
  * ``VAR.suffix VALUE`` (suffix a ``.name`` of the def file, any case; an
    optional ``('label',...)`` of quoted labels after it, no set names):
    blanks, an optional ``=`` or ``:``, and the value: one word up to a
    blank or a comma (control characters and NUL are part of it), or one
    quoted string (taken as it is inside, and followed by a blank, a comma
    or the end of the line).  The rest of the line is read again as options
    (``x.lazy 1 y.lazy 0``, ``x.lazy 1,y.lazy 0``).
  * ``indic EQU[(i,j)] $ VAR[(i)] VALUE``: identifiers; indices are
    identifiers or quoted labels in ``()`` or ``[]``, none empty, no ``*``,
    and every identifier index of the variable must be one of the
    equation's; an optional ``=``; a boolean word; then the rest of the
    line is read again as options.

A Finding's ``code`` says in one word what GAMS's reader says at length
(KEYWORD: "Option keyword expected", UNKNOWN: "Unknown option", ...), so
a test can hold each message to GAMS's.  Pure functions: no process is run,
and files are read only by ``read_def_file`` (and a ``readfile`` line's
file is only looked for).

Why over 500 lines: the def-file grammar and the option-file rules above
are one oracle-checked reading of GAMS; splitting the reader from the
judge would put the rules the oracle tests in two places.
"""

import collections
import difflib
import io
import os
import re

from typing import Dict, List, Optional  # noqa: F401  (used in type comments)

from times_doctor.solvers import table as solvers
from times_doctor.errors import ParseError, os_reason

OptionDef = collections.namedtuple("OptionDef", "name kind lower upper values")
OptionDef.__doc__ = """One option of a def file.

name: as written (lower case in GAMS's files); kind: boolean, integer,
double, enumint, enumstr, string, strlist or immediate; lower, upper: the
bound tokens as written ("0", "maxint"), or None; values: the allowed values
of an enumint/enumstr option (strings, quotes removed), else ().
"""

Finding = collections.namedtuple("Finding", "line severity name message code")
Finding.__doc__ = """One problem with one line of an option file.

line: 1-based line number; severity: ERROR (GAMS ignores the line) or
WARNING (a note: GAMS reads the line); name: the option as written;
message: one sentence, without the file and line; code: what kind of
problem, in GAMS's terms (KEYWORD, UNKNOWN, ... below).
"""
Finding.__new__.__defaults__ = ("",)

ERROR = "error"
WARNING = "warning"

# Finding codes: errors (GAMS ignores the line) ...
KEYWORD = "keyword"        # "Option keyword expected"
SEPARATOR = "separator"    # "Bad separator after key"
UNKNOWN = "unknown"        # "Unknown option"
NO_VALUE = "no_value"      # "Value expected for key"
SUFFIX = "suffix"          # "unknown .suffix" / ".suffix expected"
QUOTE = "quote"            # "Bad double-quote in value"
BOOLEAN = "boolean"        # "Boolean value expected"
INTEGER = "integer"        # "Integer expected"
DOUBLE = "double"          # "Double expected"
ENUM = "enum"              # "Unknown value for option"
RANGE = "range"            # "Value ... out of range"
INDICATOR = "indicator"    # the indicator grammar's messages
READFILE = "readfile"      # "Cannot open parameter file"
# ... and notes (GAMS reads the line).
DEPRECATED = "deprecated"
REPEATED = "repeated"
THREADS = "threads"
KEPT_OUTSIDE = "kept_outside"  # nobounds: a value not in the list, passed on

# Def files of real solvers are a few hundred kB; this is a safety bound.
MAX_DEF_FILE_BYTES = 8 * 1024 * 1024
# GAMS's reader sees no further than this into a line.
MAX_LINE_BYTES = 1020

KINDS = ("boolean", "integer", "double", "enumint", "enumstr", "string", "strlist",
         "immediate")
MAXINT = 2147483647
MININT = -2147483648
MAXDOUBLE = 1e299
EPS = 1e-20
_BOUND_WORDS = {"minint": float(MININT), "maxint": float(MAXINT),
                "mindouble": -MAXDOUBLE, "maxdouble": MAXDOUBLE}
_BOOLEAN_WORDS = {"0": 0, "1": 1, "yes": 1, "no": 0, "on": 1, "off": 0, "true": 1,
                  "false": 0, "y": 1, "n": 0, "t": 1, "f": 0}
_NOBOUNDS_OFF = ("0", "no", "off")
_BLANKS = " \t"
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_/]*")  # an option name may hold a slash
_DOUBLE_RE = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?(?:[eEdD]([+-]?\d+))?$")
_HEX_RE = re.compile(r"^([+-]?)0[xX]([0-9A-Fa-f]+)$")
_DIGITS_RE = re.compile(r"^[+-]?\d+$")
_QUOTED_ENUM_RE = re.compile(r'^\s+"([^"]*)"')


class OptionDefs(object):
    """The contents of one def file, keyed by lower-case names."""

    def __init__(self, path=""):
        self.path = path
        self.options = collections.OrderedDict()  # type: Dict[str, OptionDef]
        self.dot_options = {}                      # type: Dict[str, OptionDef]
        self.synonyms = {}                         # type: Dict[str, str]
        self.deprecated = set()
        self.indicators = set()
        self.eol_comment = None                    # type: Optional[str]

    def resolve(self, name):
        # type: (str) -> Optional[OptionDef]
        """The definition of *name* (any case, synonyms followed), or None."""
        key = name.lower()
        key = self.synonyms.get(key, key)
        return self.options.get(key)

    def closest(self, name):
        # type: (str) -> Optional[str]
        """The known name most like *name* (difflib), for "did you mean"; or None."""
        known = list(self.options) + list(self.synonyms)
        matches = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
        return matches[0] if matches else None


def read_def_file(path):
    # type: (str) -> OptionDefs
    """Parse the def file at *path*.

    Raises:
        ParseError: the file cannot be read or is implausibly large.
    """
    try:
        with io.open(path, "rb") as handle:
            data = handle.read(MAX_DEF_FILE_BYTES + 1)
    except OSError as error:
        raise ParseError("cannot read option definitions %s (%s)" % (path, os_reason(error)))
    if len(data) > MAX_DEF_FILE_BYTES:
        raise ParseError("option definitions %s are larger than 8 MiB: not a def file" % path)
    # Latin-1 never fails; help texts are the only non-ASCII parts.
    return parse_def_text(data.decode("latin-1"), path)


def def_file_path(system_dir, solver):
    # type: (str, str) -> str
    """The solver's def file in the GAMS system directory (``optcplex.def``); any case.

    Raises:
        ValueError: *solver* is not in the solver table.
    """
    return os.path.join(system_dir, solvers.get(solver.lower()).def_file)


def parse_def_text(text, path=""):
    # type: (str, str) -> OptionDefs
    """Parse def-file text (see the module docstring for the format)."""
    defs = OptionDefs(path)
    entries = []    # [name, kind, lower, upper, values]: values grow with indented lines
    current = None  # what indented lines belong to: an entry, "deprecated" or None
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("*"):
            continue
        fields = raw.split()
        if raw[0] in " \t":
            if current == "deprecated":
                defs.deprecated.add(fields[0].lower())
            elif current is not None and current[1] in ("enumint", "enumstr"):
                quoted = _QUOTED_ENUM_RE.match(raw)
                current[4].append(quoted.group(1) if quoted else fields[0].strip('"'))
            continue
        current = None
        if len(fields) < 2:
            continue
        name, kind = fields[0], fields[1].lower()
        if kind == "synonym" and len(fields) >= 3:
            defs.synonyms[name.lower()] = fields[2].lower()
        elif kind == "indicator":
            defs.indicators.add(name.lower())
        elif fields[1] == "EOLCOMM" and len(fields) >= 3:
            defs.eol_comment = fields[2]
        elif kind == "deprecated":
            current = "deprecated"
        elif kind in KINDS:
            bounds = fields[4:6] if kind in ("integer", "double") and len(fields) >= 6 \
                else [None, None]
            current = [name, kind, bounds[0], bounds[1], []]
            entries.append(current)
    for name, kind, lower, upper, values in entries:
        option = OptionDef(name, kind, lower, upper, tuple(values))
        if name.startswith("."):
            defs.dot_options[name[1:].lower()] = option
        else:
            defs.options[name.lower()] = option
    return defs


def check_option_lines(lines, defs, solver_label, threads_line=None, base_dir=None):
    # type: (List[str], OptionDefs, str, Optional[str], Optional[str]) -> List[Finding]
    """Check the lines of one option file against *defs*, as GAMS's reader would.

    Args:
        lines: the file's lines (profiles.read_option_file), line 1 first;
            undecodable bytes as surrogate escapes, as that reads them.
        defs: the solver's OptionDefs.
        solver_label: "CPLEX", for messages.
        threads_line: the line ``--threads`` puts in place of any ``threads``
            line (e.g. "threads 7"), or None.
        base_dir: where GAMS will look for a relative ``readfile`` (the
            run's folder); None: it is not there (a scan copies nothing
            else into a run's folder).

    Returns:
        Findings in line order: every line GAMS would ignore (ERROR, with
        the first reason), and notes (WARNING): an option set again,
        deprecated names, a ``threads`` line that will be replaced.  Never
        raises for any line content.
    """
    reader = _FileReader(defs, solver_label, threads_line, base_dir)
    for number, line in enumerate(lines, 1):
        reader.read_line(number, line)
    return reader.findings


# -- reading one file ----------------------------------------------------------


class _LineError(Exception):
    """Ends the reading of a line: GAMS ignores it (or the rest of it)."""

    def __init__(self, code, name, message):
        Exception.__init__(self, message)
        self.code = code
        self.name = name
        self.message = message


class _FileReader(object):
    """GAMS's option reader for one file: the state that crosses lines."""

    def __init__(self, defs, solver_label, threads_line, base_dir):
        self.defs = defs
        self.label = solver_label
        self.threads_line = threads_line
        self.base_dir = base_dir
        self.findings = []
        self.nobounds = False
        self.seen = {}  # canonical option name -> line number of its last setting
        self.number = 0

    def read_line(self, number, line):
        self.number = number
        # A CR at the end is the rest of a CRLF line end; any other byte counts.
        text = _gams_bytes(line).rstrip("\r")
        if text.startswith("*"):
            return
        position = _skip(text, 0, _BLANKS)
        try:
            while position < len(text) and not self._comment_at(text, position):
                position = self._statement(text, position)
        except _LineError as error:
            self._add(ERROR, error.name, "%s (GAMS ignores the line)" % error.message,
                      error.code)

    # -- one statement: an option, a dot option or an indicator ----------------

    def _statement(self, text, position):
        """Read one statement at *position*; returns where the next may start."""
        match = _KEY_RE.match(text, position)
        if match is None:
            raise _LineError(KEYWORD, text[position], "expected an option name, saw '%s'"
                             % _shown(text[position:position + 20]))
        raw_name, end = match.group(), match.end()
        name = _shown(raw_name, 40)  # for messages; GAMS truncates nothing but the line
        if end < len(text) and text[end] == ".":
            return self._dot_option(text, name, end + 1)
        if end < len(text) and text[end] not in _BLANKS + "=":
            raise _LineError(SEPARATOR, name, "'%s' must be followed by a blank or '=', not "
                             "'%s'" % (name, _shown(text[end])))
        if raw_name.lower() in self.defs.indicators:
            return self._indicator(text, end)
        option = self.defs.resolve(raw_name)
        if option is None:
            closest = self.defs.closest(raw_name[:100])
            hint = ": did you mean '%s'?" % closest if closest else ""
            raise _LineError(UNKNOWN, name, "unknown %s option '%s'%s"
                             % (self.label, name, hint))
        value = self._value_text(text, end, name, option.kind == "immediate")
        self._option(name, option, value)
        return len(text)

    def _value_text(self, text, end, name, immediate):
        """The value after a name: separator, comment and trailing bytes removed."""
        start = _skip(text, end, _BLANKS)
        if text.startswith(":=", start):
            start = _skip(text, start + 2, _BLANKS)
        elif text.startswith("=", start):
            start = _skip(text, start + 1, _BLANKS)
        elif text.startswith(":", start):
            if not immediate:
                raise _LineError(NO_VALUE, name, "'%s' needs a value (write %s VALUE or "
                                 "%s=VALUE, not ':')" % (name, name, name))
            start = _skip(text, start + 1, _BLANKS)
        value = text[start:_comment_start(text, start, self.defs.eol_comment)]
        if not value.rstrip(_BLANKS):
            raise _LineError(NO_VALUE, name, "'%s' needs a value" % name)
        # Control characters at the end go (not from an immediate option's value).
        return value.rstrip(_BLANKS) if immediate else _rstrip_gams(value)

    def _option(self, name, option, value):
        key = name.lower()
        if self.threads_line is not None and key == "threads":
            try:
                problem = self._value_problem(option, _unquoted(_c_string(value), name), name)
            except _LineError as error:
                problem = error.code, error.message
            replaced = "the scan replaces this line with '%s' (--threads)" % self.threads_line
            self._add(WARNING, name, "%s, but %s" % (problem[1], replaced) if problem
                      else "%s: %s" % (name, replaced), THREADS)
            return
        if key in self.defs.deprecated:
            target = self.defs.synonyms.get(key)
            self._add(WARNING, name, "'%s' is a deprecated name of '%s'" % (name, target)
                      if target else "'%s' is deprecated" % name, DEPRECATED)
        if option.kind != "immediate":
            value = _unquoted(_c_string(value), name)
        problem = self._value_problem(option, value, name)
        if problem is not None:
            code, message = problem
            if code == KEPT_OUTSIDE:
                self._add(WARNING, name, message, code)
            else:
                raise _LineError(code, name, message)
        canonical = option.name.lower()
        if option.kind == "immediate":
            return  # an action (read a file, stop checking ranges), not a setting
        if canonical in self.seen:
            self._add(WARNING, name, "'%s' is set on line %d and again on line %d: line %d "
                      "wins (GAMS reads the file top to bottom)"
                      % (option.name, self.seen[canonical], self.number, self.number),
                      REPEATED)
        self.seen[canonical] = self.number

    def _dot_option(self, text, variable, position):
        """``x.lazy 1`` (or ``x.lazy('a') 1``); returns where the next statement may start."""
        match = _NAME_RE.match(text, position)
        if match is None:
            raise _LineError(SUFFIX, variable, "'%s.' needs an attribute name after the "
                             "dot (e.g. %s.lazy 1)" % (variable, variable))
        suffix = match.group()
        option = self.defs.dot_options.get(suffix.lower())
        shown = "%s.%s" % (variable, _shown(suffix, 40))
        if option is None:
            known = ", ".join("." + each for each in sorted(self.defs.dot_options)) or "none"
            raise _LineError(SUFFIX, shown, "unknown %s dot option '.%s' (known: %s)"
                             % (self.label, _shown(suffix, 40), known))
        position = _skip(text, match.end(), _BLANKS)
        if position < len(text) and text[position] == "(":
            position = _skip(text, _element_list(text, position, shown), _BLANKS)
        if position < len(text) and text[position] in "=:":
            position = _skip(text, position + 1, _BLANKS)
        value, position = self._word(text, position, shown, "'%s' needs a value" % shown)
        problem = self._value_problem(option, value, shown)
        if problem is not None and problem[0] != KEPT_OUTSIDE:
            raise _LineError(problem[0], shown, problem[1])
        return _after_word(text, position)

    def _indicator(self, text, position):
        """``indic EQU(i) $ VAR(i) 1``; returns where the next statement may start."""
        start = _skip(text, position, _BLANKS)
        equation, position, equation_indices = _indexed_name(text, start, None)
        position = _skip(text, position, _BLANKS)
        if position >= len(text) or text[position] != "$":
            raise _LineError(INDICATOR, equation, "indicator: '$' expected after the "
                             "equation '%s' (write indic EQU(i)$VAR(i) 1)" % equation)
        position = _skip(text, position + 1, _BLANKS)
        variable, position, variable_indices = _indexed_name(text, position, equation)
        for index in variable_indices:
            if index.lower() not in [each.lower() for each in equation_indices]:
                raise _LineError(INDICATOR, equation, "indicator: index '%s' of variable "
                                 "'%s' is not an index of equation '%s'"
                                 % (index, variable, equation))
        position = _skip(text, position, _BLANKS)
        if position < len(text) and text[position] == "=":
            position = _skip(text, position + 1, _BLANKS)
        wrong = "indicator of '%s': the value must be 0 or 1 (yes/no, on/off, true/false)" \
            % equation
        try:
            value, position = self._word(text, position, equation, wrong)
        except _LineError as error:
            raise _LineError(INDICATOR, equation, error.message)
        if value.lower() not in _BOOLEAN_WORDS:
            raise _LineError(INDICATOR, equation, "%s, not '%s'" % (wrong, _shown(value)))
        return _after_word(text, position)

    def _word(self, text, position, name, missing):
        """(value, end) of the one-word value of a dot option or an indicator.

        A word ends at a blank or a comma; a quoted one is taken as it is
        inside its quotes, and must be followed by a blank, a comma or the
        end of the line.  Raises NO_VALUE (with *missing*) or QUOTE.
        """
        if position >= len(text) or self._comment_at(text, position):
            raise _LineError(NO_VALUE, name, missing)
        if text[position] == '"':
            close = text.find('"', position + 1)
            if close >= 0 and (close + 1 == len(text) or text[close + 1] in _BLANKS + ","):
                return text[position + 1:close], close + 1
            # GAMS says "Value expected" or "Bad double-quote" here, depending on
            # the quotes further on; either way the value is not taken.
            raise _LineError(QUOTE, name, "%s: a quoted value must end with '\"' before "
                             "a blank, a comma or the end of the line" % missing)
        end = position
        while end < len(text) and text[end] not in _BLANKS + ",":
            end += 1
        value = text[position:end]  # control characters and NUL are part of a word
        if '"' in value:
            raise _LineError(QUOTE, name, "'%s': a value with a double quote must be one "
                             "quoted string, not %s" % (name, _shown(value)))
        return value, end

    # -- values --------------------------------------------------------------

    def _value_problem(self, option, value, name):
        """(code, message) when *value* does not suit *option*, else None."""
        kind = option.kind
        if kind == "boolean":
            if value.lower() in _BOOLEAN_WORDS:
                return None
            return BOOLEAN, "'%s' is a boolean: write 0/1, yes/no, on/off or true/false, " \
                            "not '%s'" % (name, _shown(value))
        if kind in ("integer", "enumint"):
            return self._integer_problem(option, value, name)
        if kind == "double":
            number = parse_double(value)
            if number is None:
                return DOUBLE, "'%s' must be a number, not '%s'" % (name, _shown(value))
            return self._range_problem(option, number, value, name)
        if kind == "enumstr":
            if value.lower() in [each.lower() for each in option.values]:
                return None
            message = "'%s' must be one of %s, not '%s'" % (name, ", ".join(option.values),
                                                           _shown(value))
            if self.nobounds:
                # Seen with GAMS 54.6.1: no message, and the option is left unset
                # or set to an empty text (and the reader crashed now and then).
                message += " ('nobounds' makes GAMS drop it without a word)"
            return ENUM, message
        if kind == "immediate":
            return self._immediate(option, value, name)
        return None  # string, strlist: anything

    def _integer_problem(self, option, value, name):
        strict = option.kind == "enumint"
        number = parse_integer(value, strict=strict)
        if number is None:
            wanted = "a whole number" if strict else "an integer"
            listed = " (one of %s)" % " ".join(option.values) if strict else ""
            return INTEGER, "'%s' must be %s%s, not '%s'" % (name, wanted, listed,
                                                              _shown(value))
        if not strict:
            return self._range_problem(option, number, value, name)
        if any(parse_integer(each, strict=True) == number for each in option.values):
            return None
        message = "'%s' must be one of %s, not %s" % (name, " ".join(option.values),
                                                     _shown(value))
        if self.nobounds:
            return KEPT_OUTSIDE, "%s: GAMS passes it on because of 'nobounds'" % message
        return ENUM, message

    def _range_problem(self, option, number, value, name):
        lower = bound_value(option.lower)
        upper = bound_value(option.upper)
        if (lower is not None and number < lower) or (upper is not None and number > upper):
            return RANGE, "'%s' must be in [%s, %s], not %s" % (
                name, option.lower, option.upper, _shown(value))
        return None

    def _immediate(self, option, value, name):
        if option.name.lower() == "nobounds":
            self.nobounds = value.lower() not in _NOBOUNDS_OFF
        elif option.name.lower() == "readfile":
            return self._readfile_problem(value, name)
        return None

    def _readfile_problem(self, value, name):
        path = _decoded(value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"'
                        else value)
        where = path if os.path.isabs(path) or self.base_dir is None \
            else os.path.join(self.base_dir, path)
        if (os.path.isabs(path) or self.base_dir is not None) and os.path.isfile(where):
            return None
        if not os.path.isabs(path) and self.base_dir is None:
            return READFILE, "'%s %s': GAMS looks for the file in the run's own folder, " \
                             "where the scan copies nothing else: give its absolute path" \
                             % (name, _shown(value))
        return READFILE, "'%s %s': no such file" % (name, _shown(value))

    # -- helpers ---------------------------------------------------------------

    def _comment_at(self, text, position):
        return self.defs.eol_comment is not None and \
            text.startswith(self.defs.eol_comment, position)

    def _add(self, severity, name, message, code):
        self.findings.append(Finding(self.number, severity, _shown(name), message, code))


# -- numbers, as GAMS reads them -----------------------------------------------


def parse_double(text):
    # type: (str) -> Optional[float]
    """A double option's value (see the module docstring), or None."""
    word = text.lower()
    if word == "eps":
        return EPS
    if word in ("maxdouble", "mindouble"):
        return _BOUND_WORDS[word]
    # The words above are compared whole; a number is converted as a C string.
    match = _DOUBLE_RE.match(_c_string(text))
    if match is None:
        return None
    sign, whole, fraction, exponent = match.groups()
    if not whole and fraction is None:
        return None  # "+", "-", "" and "e5" are not numbers; "." and "-." are 0
    if not whole and not fraction:
        return -0.0 if sign == "-" else 0.0
    mantissa = "%s%s.%s" % (sign, whole or "0", fraction or "0")
    if exponent is not None and len(exponent.lstrip("+-").lstrip("0")) > 6:
        # float() would take a million-digit exponent; GAMS's result is 0 or nothing.
        return None if not exponent.startswith("-") else 0.0
    number = float(mantissa + ("e" + exponent if exponent is not None else ""))
    if number in (float("inf"), float("-inf")):
        return None  # 1e309: GAMS says "Double expected"
    return number


def parse_integer(text, strict=False):
    # type: (str, bool) -> Optional[int]
    """An integer (``strict``: enumint) option's value (module docstring), or None."""
    word = text.lower()
    if word in ("on", "off"):
        return 1 if word == "on" else 0
    if word in ("maxint", "minint"):
        return MAXINT if word == "maxint" else MININT
    match = _HEX_RE.match(_c_string(text))
    if match is not None:
        number = int(match.group(2), 16)
        number = -number if match.group(1) == "-" else number
    elif strict:
        digits = _c_string(text)
        if not _DIGITS_RE.match(digits):
            return None
        number = int(digits.lstrip("+-").lstrip("0")[:12] or "0")
        number = -number if digits.startswith("-") else number
    else:
        value = parse_double(text)
        if value is None or value != int(value):
            return None
        number = int(value)
    return number if MININT <= number <= MAXINT else None


def bound_value(token):
    # type: (Optional[str]) -> Optional[float]
    """A def file's bound token as a number (``maxint``, ``mindouble`` ...), or None."""
    if token is None:
        return None
    word = token.strip().lower()
    if word in _BOUND_WORDS:
        return _BOUND_WORDS[word]
    try:
        number = float(word)
    except ValueError:
        return None
    return None if number != number else number


# -- text helpers --------------------------------------------------------------


def _gams_bytes(line):
    """*line* as GAMS reads it: its bytes, one character each, cut at MAX_LINE_BYTES."""
    if isinstance(line, bytes):
        data = line
    else:
        try:
            data = line.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            # A lone surrogate no file can hold (only a caller's string can).
            data = line.encode("utf-8", "replace")
    return data[:MAX_LINE_BYTES].decode("latin-1")


def _decoded(text):
    """Bytes-as-characters back to a str for the file system (UTF-8, else Latin-1)."""
    data = text.encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _shown(text, limit=60):
    """A value for a message: printable ASCII, control and other bytes escaped, cut."""
    data = text.encode("latin-1", "replace") if isinstance(text, str) else text
    shown = data.decode("utf-8", "backslashreplace")
    shown = "".join(char if " " <= char <= "~" else
                    ("\\x%02x" % ord(char) if ord(char) < 256 else "\\u%04x" % ord(char))
                    for char in shown)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def _skip(text, position, characters):
    while position < len(text) and text[position] in characters:
        position += 1
    return position


def _rstrip_gams(value):
    """GAMS drops the trailing blanks and control characters of a value (not NUL)."""
    end = len(value)
    while end and "\x01" <= value[end - 1] <= " ":
        end -= 1
    return value[:end]


def _comment_start(text, start, eol_comment):
    """Where the end-of-line comment starts (outside double quotes), or len(text)."""
    if not eol_comment:
        return len(text)
    quoted = False
    for position in range(start, len(text)):
        char = text[position]
        if char == '"':
            quoted = not quoted
        elif not quoted and text.startswith(eol_comment, position):
            return position
    return len(text)


def _unquoted(value, name):
    """The value inside its double quotes; raises for a quote anywhere else."""
    if '"' not in value:
        return value
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"' and value.count('"') == 2:
        return value[1:-1].strip(_BLANKS)
    raise _LineError(QUOTE, name, "'%s': a value with a double quote must be one quoted "
                     "string, not %s" % (name, _shown(value)))


def _after_word(text, position):
    """Past the blanks and the one comma that may follow a word."""
    position = _skip(text, position, _BLANKS)
    if position < len(text) and text[position] == ",":
        position = _skip(text, position + 1, _BLANKS)
    return position


def _c_string(value):
    """GAMS converts a value as a C string: a NUL byte ends it."""
    return value.split("\x00", 1)[0]


def _element_list(text, position, name):
    """Past ``('a','b')`` after a dot option: quoted labels only, no set names."""
    while True:
        position = _skip(text, position + 1, _BLANKS)
        char = text[position] if position < len(text) else ""
        if char in ("'", '"') and text.find(char, position + 1) > 0:
            position = _skip(text, text.find(char, position + 1) + 1, _BLANKS)
        elif _NAME_RE.match(text, position):
            raise _LineError(SUFFIX, name, "'%s': give quoted labels in the parentheses, "
                             "not a set name" % name)
        else:
            raise _LineError(SUFFIX, name, "'%s': a quoted label was expected in the "
                             "parentheses" % name)
        char = text[position] if position < len(text) else ""
        if char == ")":
            return position + 1
        if char != ",":
            raise _LineError(SUFFIX, name, "'%s': ')' expected after the labels" % name)


def _indexed_name(text, position, equation):
    """(name, end, identifier indices) of ``name`` or ``name(i,'a')`` in an indicator."""
    match = _NAME_RE.match(text, position)
    if match is None:
        raise _LineError(INDICATOR, equation or "indic", "indicator: an identifier was "
                         "expected, saw '%s'" % _shown(text[position:position + 20]))
    name, position = _shown(match.group(), 40), match.end()
    indices = []
    if position >= len(text) or text[position] not in "([":
        return name, position, indices
    closing = ")" if text[position] == "(" else "]"
    while True:
        position = _skip(text, position + 1, _BLANKS)
        char = text[position] if position < len(text) else ""
        index = _NAME_RE.match(text, position)
        if index is not None:
            indices.append(_shown(index.group(), 40))
            position = index.end()
        elif char in ("'", '"') and text.find(char, position + 1) > 0:
            position = text.find(char, position + 1) + 1
        elif char == "*":
            raise _LineError(INDICATOR, equation or name, "indicator: '*' (every label) is "
                             "not allowed as an index of '%s'" % name)
        else:
            raise _LineError(INDICATOR, equation or name, "indicator: an index of '%s' is "
                             "empty" % name)
        position = _skip(text, position, _BLANKS)
        char = text[position] if position < len(text) else ""
        if char == ",":
            continue
        if char in ")]":
            return name, position + 1, indices
        raise _LineError(INDICATOR, equation or name, "indicator: '%s' expected to close "
                         "the indices of '%s'" % (closing, name))
