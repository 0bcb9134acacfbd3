"""GAMS option definition files (``opt<solver>.def``) and checking option files against them.

Every GAMS system directory holds one definition file per solver link
(``optcplex.def``, ``optgurobi.def``, ...): the option names the link
accepts, their types, defaults, ranges or enumerated values, synonyms and
the end-of-line comment character.  Checking a profile against the def file
of the user's own GAMS catches ``lpmethd 4`` before a scan spends hours on
the default algorithm: GAMS's option reader reports such a line in the
solver log and ignores it, and the run goes on.

The format, as GAMS 54 writes it (one entry per line, ``*`` lines are
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
    anything EOLCOMM CHAR
    groupname deprecated
     alias MESSAGE...                   (deprecated names, one per line)
    groupname group NUMBER HELPCONTEXT HELP...

Bounds may be the words ``minint``, ``maxint``, ``mindouble``, ``maxdouble``.
Only what is needed to judge an option line is kept.  Pure functions: no
process is run, and files are read only by ``read_def_file``.
"""

import collections
import difflib
import io
import os
import re

from typing import Dict, List, Optional  # noqa: F401  (used in type comments)

from times_doctor import solvers
from times_doctor.errors import ParseError, os_reason

OptionDef = collections.namedtuple("OptionDef", "name kind lower upper values")
OptionDef.__doc__ = """One option of a def file.

name: as written (lower case in GAMS's files); kind: boolean, integer,
double, enumint, enumstr, string, strlist or immediate; lower, upper: the
bound tokens as written ("0", "maxint"), or None; values: the allowed values
of an enumint/enumstr option (strings, quotes removed), else ().
"""

Finding = collections.namedtuple("Finding", "line severity name message")
Finding.__doc__ = """One problem with one line of an option file.

line: 1-based line number; severity: ERROR or WARNING; name: the option as
written; message: one sentence, without the file and line.
"""

ERROR = "error"
WARNING = "warning"

# Def files of real solvers are a few hundred kB; this is a safety bound.
MAX_DEF_FILE_BYTES = 8 * 1024 * 1024

# What GAMS's option reader (gamsapi gams.core.opt, checked against it) takes
# for a boolean, in any case: "names yes" is as good as "names 1".
BOOLEAN_WORDS = ("0", "1", "yes", "no", "true", "false", "on", "off", "y", "n", "t", "f")

KINDS = ("boolean", "integer", "double", "enumint", "enumstr", "string", "strlist",
         "immediate")
_NUMBER_WORDS = {"minint": -2147483648, "maxint": 2147483647,
                 "mindouble": float("-inf"), "maxdouble": float("inf")}
_OPTION_LINE_RE = re.compile(r"^([^\s=]+)\s*(?:=\s*|\s+|$)(.*)$")


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
                current[4].append(fields[0].strip('"'))
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


def check_option_lines(lines, defs, solver_label, threads_line=None):
    # type: (List[str], OptionDefs, str, Optional[str]) -> List[Finding]
    """Check the lines of one option file against *defs*.

    Args:
        lines: the file's lines (profiles.read_option_file), line 1 first.
        defs: the solver's OptionDefs.
        solver_label: "CPLEX", for messages.
        threads_line: the line ``--threads`` puts in place of any ``threads``
            line (e.g. "threads 7"), or None.

    Returns:
        Findings in line order: unknown names (with the closest known one),
        values of the wrong type or out of range (ERROR); an option set more
        than once, deprecated names, a ``threads`` line that will be replaced
        (WARNING).
    """
    findings = []
    seen = {}  # canonical name -> line number of its last setting
    for number, raw in enumerate(lines, 1):
        parsed = _split_option_line(raw, defs.eol_comment)
        if parsed is None:
            continue
        name, value = parsed
        key = name.lower()
        if threads_line is not None and key == "threads":
            option = defs.resolve(name)
            problem = _value_problem(option, value) if option is not None else None
            replaced = "the scan replaces this line with '%s' (--threads)" % threads_line
            findings.append(Finding(number, WARNING, name,
                                    "%s, but %s" % (problem, replaced) if problem
                                    else "%s: %s" % (name, replaced)))
            continue
        if key in defs.indicators or _is_dot_option(key, defs):
            continue
        option = defs.resolve(name)
        if option is None:
            closest = defs.closest(name)
            hint = ": did you mean '%s'?" % closest if closest else ""
            findings.append(Finding(number, ERROR, name, "unknown %s option '%s'%s (GAMS "
                                    "ignores the line)" % (solver_label, name, hint)))
            continue
        if key in defs.deprecated and key in defs.synonyms:
            findings.append(Finding(number, WARNING, name, "'%s' is a deprecated name of '%s'"
                                    % (name, defs.synonyms[key])))
        problem = _value_problem(option, value)
        if problem:
            findings.append(Finding(number, ERROR, name, "%s (GAMS ignores the line)" % problem))
            continue
        canonical = option.name.lower()
        if canonical in seen:
            findings.append(Finding(number, WARNING, name, "'%s' is set on line %d and again "
                                    "on line %d: line %d wins (GAMS reads the file top to "
                                    "bottom)" % (option.name, seen[canonical], number, number)))
        seen[canonical] = number
    return findings


# -- helpers -----------------------------------------------------------------


def _split_option_line(raw, eol_comment):
    """(name, value) of one option-file line, or None for blanks and comments."""
    if raw.startswith("*"):
        return None
    line = raw
    if eol_comment and eol_comment in line:
        line = line[:line.index(eol_comment)]
    line = line.strip()
    if not line:
        return None
    match = _OPTION_LINE_RE.match(line)
    if match is None:
        return None
    return match.group(1), match.group(2).strip()


def _is_dot_option(key, defs):
    """``x.lazy 1``: a variable/equation attribute the def file lists as ``.lazy``."""
    if "." not in key.strip("."):
        return False
    return key.rsplit(".", 1)[1] in defs.dot_options


def _value_problem(option, value):
    """Why *value* is not acceptable for *option*, or None."""
    kind = option.kind
    if kind in ("string", "strlist", "immediate"):
        return None
    if value == "":
        return "'%s' needs a value" % option.name
    if kind == "boolean":
        if value.lower() in BOOLEAN_WORDS:
            return None
        return "'%s' is a boolean: write 0 or 1, not '%s'" % (option.name, value)
    if kind == "enumstr":
        allowed = [each.lower() for each in option.values]
        if value.strip("\"'").lower() in allowed:
            return None
        return "'%s' must be one of %s, not '%s'" % (option.name, ", ".join(option.values),
                                                     value)
    number = _number(value)
    if number is None:
        wanted = "a number" if kind == "double" else "an integer"
        return "'%s' must be %s, not '%s'" % (option.name, wanted, value)
    if kind in ("integer", "enumint") and number != int(number):
        return "'%s' must be an integer, not '%s'" % (option.name, value)
    if kind == "enumint":
        allowed = []
        for each in option.values:
            parsed = _number(each)
            if parsed is not None:
                allowed.append(parsed)
        if allowed and number not in allowed:
            return "'%s' must be one of %s, not %s" % (option.name, " ".join(option.values),
                                                       value)
        return None
    lower = _number(option.lower) if option.lower is not None else None
    upper = _number(option.upper) if option.upper is not None else None
    if (lower is not None and number < lower) or (upper is not None and number > upper):
        return "'%s' must be in [%s, %s], not %s" % (option.name, option.lower, option.upper,
                                                    value)
    return None


def _number(text):
    """A float from an option value or bound token (``maxint`` etc. included), or None."""
    if text is None:
        return None
    word = text.strip().lower()
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[word])
    try:
        number = float(word)
    except ValueError:
        return None
    return None if number != number else number
