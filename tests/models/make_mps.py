#!/usr/bin/env python3
"""Write the MPS file of each test model, from the same data as its GAMS files.

Why: the GAMS demo licence expired, so the tests run a GAMS stand-in
(tests/gams_standin/) that cannot compile GAMS.  For each model it reads the
matrix from ``<driver stem>.mps`` next to the driver and hands it to a real
solver.  This script writes those files.  It reads the models' data (the Set,
Parameter, Scalar and Table statements, with their ``$include`` and
``$batinclude`` arguments) from the models' own files, so an edit of the data
shows up in the MPS file, and it reimplements each model's code (assignments
and equations) in Python.  Every code statement it reimplements is quoted
below; a statement it does not know, or one that has gone missing, is an
error, so the GAMS code and its Python twin cannot drift apart silently.

The matrices are shaped the way GAMS hands them to a solver: the objective
variable is a column (``z``), the objective row holds just that column, and
the equation defining it (``cost.. z =e= ...``) stays a constraint row.  That
is why GAMS reports 6 rows and 7 columns for transport.

marketsplit draws its coefficients with Python's ``random.Random(19980601)``
(``randint(0, 99)``, row by row): GAMS's ``uniformInt`` under ``execseed =
19980601`` cannot be reproduced outside GAMS, so its MPS file is a market split
instance of the same size and kind, not the very instance GAMS generates.

Usage::

    python tests/models/make_mps.py           # (re)write every MPS file
    python tests/models/make_mps.py --check   # exit 1 if a checked-in file differs

Standard library only, CPython 3.6 to 3.13, byte-identical output on each:
rows and columns come in an explicit order, coefficients are computed with
+ - * / only (correctly rounded IEEE arithmetic, unlike the C library's pow(),
so powers are repeated products), and numbers are written with repr(), which
is the same shortest round-tripping form on every Python 3.
"""

import argparse
import math
import os
import random
import re
import sys
import textwrap

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(MODELS_DIR))  # tests/: generated_files

import generated_files  # noqa: E402 (sys.path above)
INF = float("inf")

# The objective (N) row.  GAMS identifiers start with a letter, so this name
# cannot clash with an equation (infeasible, licence_limit and marketsplit all
# have an equation called "obj").
OBJECTIVE_ROW = "_obj"


def main(argv=None):
    """Write (or with ``--check`` compare) every model's MPS file; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Generate tests/models/*/*.mps for the GAMS stand-in.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a checked-in MPS file differs")
    options = parser.parse_args(argv)
    texts = []
    # Every model first, so that an error writes nothing rather than half the files.
    for spec in MODELS:
        try:
            texts.append((spec.mps_path, mps_text(spec).encode("ascii")))
        except GamsSourceError as error:
            print("make_mps: %s: %s" % (spec.mps_path, error), file=sys.stderr)
            return 2
    return generated_files.write_or_check("make_mps.py", MODELS_DIR, texts, options.check)


def mps_text(spec, defines=None):
    """The MPS file of the model *spec* (a ``ModelSpec``), as text.

    *defines*: GAMS double-dash parameters, as ``gams ... --M=4`` sets them
    ({"m": "4"}: names lower case), for a variant of the model.
    """
    data = read_model(spec, defines)
    program = spec.build(data)
    return program.mps(_header(spec, data, program))


def read_model(spec, defines=None):
    """Read the model's GAMS files: data statements are loaded, code statements checked and run.

    Raises:
        GamsSourceError: a file cannot be read as GAMS data, a code statement
            is not one make_mps.py reimplements, or one it expects is missing.
    """
    data = GamsData()
    folder = os.path.join(MODELS_DIR, spec.folder)
    search_dirs = [os.path.join(folder, name) for name in spec.search_dirs]
    lines = _source_lines(os.path.join(folder, spec.driver), search_dirs, None,
                          dict(defines or {}), data.files)
    uses = [0] * len(spec.statements)
    for statement in _statements(lines):
        if _DATA_KEYWORD.match(statement.text):
            _load_data_statement(data, statement)
            continue
        text = " ".join(statement.text.split())
        for index, code in enumerate(spec.statements):
            match = code.regex.match(text)
            if match:
                uses[index] += 1
                if code.action is not None:
                    code.action(data, *match.groups())
                break
        else:
            raise GamsSourceError("%s: make_mps.py does not reimplement this statement; "
                                  "update it together with the model:\n    %s"
                                  % (statement.where, text))
    for code, count in zip(spec.statements, uses):
        if count == 0 or (count > 1 and not code.repeats):
            raise GamsSourceError("statement expected once, found %d times:\n    %s"
                                  % (count, code.text))
    return data


class GamsSourceError(Exception):
    """A model file says something this reader does not understand (or a model changed)."""


class ModelSpec(object):
    """One test model: its GAMS files, the code make_mps.py reimplements, what GAMS found."""

    def __init__(self, folder, driver, statements, build, result, search_dirs=(".",)):
        self.folder = folder
        self.driver = driver
        self.statements = statements
        self.build = build
        self.result = result  # the real GAMS's outcome, for the header
        self.search_dirs = search_dirs  # like GAMS's idir1, idir2, ... relative to folder
        self.mps_path = folder + "/" + os.path.splitext(driver)[0] + ".mps"


class CodeStatement(object):
    """A GAMS code statement (whitespace-normalised) and the Python that does its work.

    ``action(data, *groups)`` runs when the statement is read; None means the
    model's build function implements it or it does not touch the matrix.
    """

    def __init__(self, text, action=None, pattern=None):
        self.text = " ".join(text.split())
        self.action = action
        # A pattern (regular expression) is for a statement whose text varies,
        # such as demand.dd's, which is $batincluded with a year and a factor.
        self.repeats = pattern is not None
        self.regex = re.compile((pattern or re.escape(self.text)) + r"\Z")


# ---------------------------------------------------------------------------
# The linear program and its MPS file
# ---------------------------------------------------------------------------

class Column(object):
    """A model column: GAMS name, bounds, binary or not."""

    def __init__(self, name, lower, upper, binary):
        self.name = name
        self.lower = lower
        self.upper = upper
        self.binary = binary


class LinearProgram(object):
    """A (mixed-integer) linear program in the shape GAMS hands a solver; minimises a column."""

    def __init__(self, name, objective):
        self.name = name
        self.objective = objective  # the objective variable's column
        self.rows = []  # (name, sense E/L/G, right-hand side), in GAMS order
        self.columns = []
        self._entries = {}  # column name -> [(row position, coefficient)]
        self._row_names = set()

    def add_column(self, name, lower=0.0, upper=INF, binary=False):
        if name in self._entries:
            raise ValueError("column %s added twice" % name)
        self.columns.append(Column(name, lower, upper, binary))
        self._entries[name] = []

    def add_row(self, name, sense, terms, rhs):
        """Add a row from (column, coefficient) terms: repeated columns add up, zeros drop.

        That is what GAMS does when it generates an equation: ``0.97 *
        VAR_TRD(R2,R)`` and ``- VAR_TRD(R,R2)`` for R2 = R become one entry
        -0.03, and a term whose coefficient is 0 is no entry at all.
        """
        if sense not in ("E", "L", "G"):
            raise ValueError("row %s: sense %r" % (name, sense))
        if name in self._row_names:
            raise ValueError("row %s added twice" % name)
        self._row_names.add(name)
        merged, order = {}, []
        for column, coefficient in terms:
            if column not in self._entries:
                raise ValueError("row %s: unknown column %s" % (name, column))
            if column not in merged:
                order.append(column)
                merged[column] = 0.0
            merged[column] += coefficient
        position = len(self.rows)
        self.rows.append((name, sense, rhs + 0.0))
        for column in order:
            if merged[column] != 0.0:
                self._entries[column].append((position, merged[column]))

    def counts(self):
        """(rows, columns, non-zeros, binaries) as GAMS counts them.

        The objective-defining equation is a row; the objective row, holding
        only the objective variable, is not.  A column no equation mentions is
        not passed to the solver, as in GAMS.
        """
        used = [column for column in self.columns if self._entries[column.name]]
        nonzeros = sum(len(self._entries[column.name]) for column in used)
        return (len(self.rows), len(used), nonzeros,
                sum(1 for column in used if column.binary))

    def mps(self, header):
        """Free-format MPS text with the comment lines *header*; minimisation, no OBJSENSE."""
        used = [column for column in self.columns if self._entries[column.name]]
        if not self._entries.get(self.objective):
            raise ValueError("objective column %s is in no row" % self.objective)
        name_width = max(len(column.name) for column in used)
        row_width = max([len(OBJECTIVE_ROW)] + [len(row[0]) for row in self.rows])
        lines = ["* " + line if line else "*" for line in header]
        lines += ["NAME " + self.name, "ROWS", " N  " + OBJECTIVE_ROW]
        lines += [" %s  %s" % (sense, name) for name, sense, _ in self.rows]
        lines.append("COLUMNS")
        entry = "    %-*s  %-*s  %s"
        in_integer_block = False
        for column in used:
            if column.binary != in_integer_block:
                marker = "INTORG" if column.binary else "INTEND"
                lines.append("    MARKER  'MARKER'  '%s'" % marker)
                in_integer_block = column.binary
            if column.name == self.objective:
                lines.append(entry % (name_width, column.name, row_width, OBJECTIVE_ROW, "1"))
            for position, coefficient in self._entries[column.name]:
                lines.append(entry % (name_width, column.name, row_width, self.rows[position][0],
                                      _number(coefficient)))
        if in_integer_block:
            lines.append("    MARKER  'MARKER'  'INTEND'")
        lines.append("RHS")
        lines += ["    RHS  %-*s  %s" % (row_width, name, _number(rhs))
                  for name, _, rhs in self.rows if rhs != 0.0]
        lines.append("BOUNDS")
        for column in used:
            lines += [" %s BND  %s" % (kind, column.name) + (" " + value if value else "")
                      for kind, value in _bound_lines(column)]
        lines.append("ENDATA")
        return "\n".join(lines) + "\n"


def _bound_lines(column):
    """(kind, value) MPS bound entries of a column whose default bounds are [0, inf)."""
    lower, upper = column.lower, column.upper
    if column.binary:
        if (lower, upper) != (0.0, 1.0):
            raise ValueError("binary column %s with bounds [%r, %r]" % (column.name, lower, upper))
        return [("BV", "")]
    if lower == upper:
        return [("FX", _number(lower))]
    bounds = []
    if lower == -INF:
        bounds.append(("FR", "") if upper == INF else ("MI", ""))
    elif lower != 0.0:
        bounds.append(("LO", _number(lower)))
    if upper != INF:
        bounds.append(("UP", _number(upper)))
    return bounds


def _number(value):
    """A coefficient as MPS text: whole numbers without a point, anything else by repr()."""
    if value == math.floor(value) and abs(value) < 1e15:
        return "%d" % value
    return repr(value)


def _header(spec, data, program):
    rows, columns, nonzeros, binaries = program.counts()
    files = []
    for path in data.files:
        name = os.path.relpath(path, MODELS_DIR).replace(os.sep, "/")
        if name not in files:
            files.append(name)
    kind = "MIP" if binaries else "LP"
    binary_text = " (%d binary)" % binaries if binaries else ""
    return [
        "%s: generated by tests/models/make_mps.py; do not edit." % spec.mps_path,
        "The matrix GAMS generates from:",
    ] + ["  " + name for name in files] + [
        "%s, %d rows, %d columns%s, %d non-zeros, counted as GAMS counts them: the"
        % (kind, rows, columns, binary_text, nonzeros),
        "row %s holds only the objective variable %s and is not counted; the equation"
        % (OBJECTIVE_ROW, program.objective),
        "defining %s is.  Minimise %s." % (program.objective, program.objective),
    ] + textwrap.wrap("Expected: %s." % spec.result, 88)


# ---------------------------------------------------------------------------
# Reading GAMS files: dollar control, statements, data statements
# ---------------------------------------------------------------------------

class Statement(object):
    """A GAMS statement (text up to its ';', line ends kept) and where it starts."""

    def __init__(self, text, where):
        self.text = text
        self.where = where


class GamsData(object):
    """Sets, parameters (scalars have key ()) and aliases; symbol names case-insensitive.

    Parameters are sparse as in GAMS: an absent entry is 0 and assigning 0
    removes the entry.
    """

    def __init__(self):
        self.files = []  # every file read, in order (a $batincluded file once per inclusion)
        self.execseed = None
        self._sets = {}  # name -> list of label tuples, or None while declared without data
        self._params = {}  # name -> {label tuple: value}
        self._domains = {}  # name -> list of domain set names, or None (any labels)
        self._aliases = {}  # alias -> set name

    def labels(self, name):
        """The labels of the one-dimensional set *name*, in order (ord() counts from 1)."""
        return [member[0] for member in self.members(name, dimension=1)]

    def members(self, name, dimension=None):
        key = self._resolve(name)
        members = self._sets.get(key)
        if members is None:
            raise GamsSourceError("set %s has no data" % name)
        if dimension is not None and members and len(members[0]) != dimension:
            raise GamsSourceError("set %s is not %d-dimensional" % (name, dimension))
        return members

    def contains(self, name, *labels):
        return tuple(labels) in set(self.members(name))

    def value(self, name, *labels):
        """A parameter's entry (0 when absent, as in GAMS)."""
        key = self._resolve(name)
        if key not in self._params:
            raise GamsSourceError("%s is not a parameter" % name)
        return self._params[key].get(tuple(labels), 0.0)

    def assign(self, name, labels, value):
        key = self._resolve(name)
        if key not in self._params:
            raise GamsSourceError("assignment to undeclared parameter %s" % name)
        self._check_domain(name, [tuple(labels)])
        if value == 0.0:
            self._params[key].pop(tuple(labels), None)
        else:
            self._params[key][tuple(labels)] = value + 0.0

    def assign_set(self, name, members):
        key = self._resolve(name)
        if key not in self._sets:
            raise GamsSourceError("assignment to undeclared set %s" % name)
        self._check_domain(name, members)
        self._sets[key] = list(members)

    def declare_set(self, name, domain, members, where):
        key = name.lower()
        self._declare(key, domain, self._params, where)
        if members is not None:
            if self._sets.get(key) is not None:
                raise GamsSourceError("%s: set %s gets data twice" % (where, name))
            self._check_domain(name, members, where)
            self._sets[key] = members
        else:
            self._sets.setdefault(key, None)

    def declare_parameter(self, name, domain, values, where):
        key = name.lower()
        self._declare(key, domain, self._sets, where)
        if values is not None:
            if self._params.get(key):
                raise GamsSourceError("%s: parameter %s gets data twice" % (where, name))
            self._check_domain(name, list(values), where)
            self._params[key] = dict((labels, value) for labels, value in values.items()
                                     if value != 0.0)
        else:
            self._params.setdefault(key, {})

    def alias(self, name, target):
        self._aliases[name.lower()] = target.lower()

    def _declare(self, key, domain, other_kind, where):
        if key in other_kind:
            raise GamsSourceError("%s: %s declared as a set and as a parameter" % (where, key))
        # A later statement without a domain (base.dd's data for initmty.mod's
        # declarations) keeps the domain declared first.
        if domain is not None or key not in self._domains:
            self._domains[key] = domain

    def _check_domain(self, name, keys, where="assignment"):
        domain = self._domains.get(self._resolve(name))
        for labels in keys:
            if domain is None:
                continue
            if len(labels) != len(domain):
                raise GamsSourceError("%s: %s%r does not match the domain (%s)"
                                      % (where, name, labels, ",".join(domain)))
            for label, set_name in zip(labels, domain):
                if set_name != "*" and (label,) not in set(self.members(set_name)):
                    raise GamsSourceError("%s: %s: %s is not in the set %s"
                                          % (where, name, label, set_name))

    def _resolve(self, name):
        key = name.lower()
        return self._aliases.get(key, key)


_DATA_KEYWORD = re.compile(r"\s*(sets?|parameters?|scalars?|tables?|alias)\b", re.I)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEXT = re.compile(r"'[^']*'|\"[^\"]*\"")
_IGNORED_DOLLAR = ("title", "stitle", "onempty", "offempty", "onmulti", "offmulti")


def _source_lines(path, search_dirs, args, defines, files):
    """(file, line number, text) of a GAMS file's lines, includes expanded.

    Comment lines go; dollar control lines are carried out: $include and
    $batinclude (searched in *search_dirs*, like GAMS's idir), $set,
    $setglobal, $eval, and the $if forms the models use.  ``%name%`` and, in a
    $batincluded file, ``%1`` ... are replaced first, as GAMS does.
    """
    files.append(path)
    with open(path, "r", encoding="utf-8") as handle:
        text = handle.read()
    where_file = os.path.relpath(path, MODELS_DIR).replace(os.sep, "/")
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith("*"):
            continue
        line = _substitute(line, args, defines)
        if line.startswith("$"):
            where = "%s:%d" % (where_file, number)
            for included in _dollar(line, where, search_dirs, args, defines, files):
                yield included
        else:
            yield where_file, number, line


def _substitute(line, args, defines):
    def define(match):
        return defines.get(match.group(1).lower(), match.group(0))
    line = re.sub(r"%([A-Za-z_][A-Za-z0-9_.]*)%", define, line)
    if args is not None:
        def argument(match):
            index = int(match.group(1)) - 1
            return args[index] if index < len(args) else ""
        line = re.sub(r"%(\d+)", argument, line)
    return line


_IF = re.compile(r"\$if\s+(not\s+)?(?:set\s+(\S+)|exist\s+(\"[^\"]*\"|\S+)"
                 r"|\"([^\"]*)\"\s*==\s*\"([^\"]*)\")\s+(\$.*)$", re.I)


def _dollar(line, where, search_dirs, args, defines, files):
    words = line[1:].split()
    command = words[0].lower() if words else ""
    if command in _IGNORED_DOLLAR:
        return []
    if command in ("set", "setglobal") and len(words) >= 3:
        defines[words[1].lower()] = " ".join(words[2:])
        return []
    if command == "eval" and len(words) >= 3:
        defines[words[1].lower()] = _evaluate("".join(words[2:]), where)
        return []
    if command in ("include", "batinclude") and len(words) >= 2:
        path = _find_include(words[1].strip("\"'"), search_dirs, where)
        included_args = words[2:] if command == "batinclude" else None
        return _source_lines(path, search_dirs, included_args, defines, files)
    if command == "abort":
        raise GamsSourceError("%s: $abort %s" % (where, " ".join(words[1:])))
    if command == "if":
        match = _IF.match(line)
        if match is None:
            raise GamsSourceError("%s: unsupported $if: %s" % (where, line))
        negate, set_name, exist_path, left, right, then = match.groups()
        if exist_path is not None:
            # Only the guard of times_demo.run, which is about the working
            # directory of a GAMS run; there is no such directory here.
            if not then.lower().startswith("$abort"):
                raise GamsSourceError("%s: unsupported $if exist: %s" % (where, line))
            return []
        if set_name is not None:
            holds = set_name.lower() in defines
        else:
            holds = left == right
        if holds != bool(negate):
            return _dollar(then, where, search_dirs, args, defines, files)
        return []
    raise GamsSourceError("%s: unsupported dollar control line: %s" % (where, line))


def _evaluate(expression, where):
    """The integer value of a $eval expression made of integers, + - * / and parentheses."""
    if not re.match(r"^[0-9+\-*/() ]+$", expression):
        raise GamsSourceError("%s: unsupported $eval expression %r" % (where, expression))
    # Safe: the pattern above admits integer arithmetic and nothing else.
    value = eval(expression, {"__builtins__": {}}, {})
    if value != int(value):
        raise GamsSourceError("%s: $eval %r is not a whole number" % (where, expression))
    return "%d" % value


def _find_include(name, search_dirs, where):
    for folder in search_dirs:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise GamsSourceError("%s: include file %s not found" % (where, name))


def _statements(lines):
    """Statements of the source *lines*, split at each ';' outside quotes."""
    buffer, where, quote = [], None, None
    for file_name, number, line in lines:
        for char in line:
            if quote is not None:
                if char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char == ";":
                if "".join(buffer).strip():
                    yield Statement("".join(buffer), where)
                buffer, where = [], None
                continue
            if where is None and not char.isspace():
                where = "%s:%d" % (file_name, number)
            buffer.append(char)
        if quote is not None:
            raise GamsSourceError("%s:%d: unterminated quote" % (file_name, number))
        buffer.append("\n")
    if "".join(buffer).strip():
        raise GamsSourceError("%s: statement without a closing ';'" % where)


def _load_data_statement(data, statement):
    match = _DATA_KEYWORD.match(statement.text)
    keyword = match.group(1).lower()
    body = statement.text[match.end():]
    where = statement.where
    if keyword == "alias":
        pairs = re.findall(r"\(\s*(\w+)\s*,\s*(\w+)\s*\)", body)
        if not pairs or re.sub(r"\(\s*\w+\s*,\s*\w+\s*\)|[\s,]", "", body):
            raise GamsSourceError("%s: unsupported Alias statement" % where)
        for target, name in pairs:
            data.alias(name, target)
    elif keyword.startswith("table"):
        name, domain, values = _parse_table(body, where)
        data.declare_parameter(name, domain, values, where)
    else:
        for name, domain, entries in _parse_declarations(body, where):
            if keyword.startswith("set"):
                members = None if entries is None else _set_members(entries, where)
                data.declare_set(name, domain, members, where)
            elif keyword.startswith("scalar"):
                if domain is not None:
                    raise GamsSourceError("%s: scalar %s with a domain" % (where, name))
                values = None
                if entries is not None:
                    if len(entries) != 1:
                        raise GamsSourceError("%s: scalar %s needs one value" % (where, name))
                    values = {(): _float(entries[0], where)}
                data.declare_parameter(name, [], values, where)
            else:
                values = None if entries is None else _parameter_values(entries, where)
                data.declare_parameter(name, domain, values, where)


def _parse_declarations(body, where):
    """(name, domain or None, data entries or None) of each symbol in a declaration list.

    Symbols are separated by a comma or a line end; explanatory text must be
    quoted (unquoted text would read as more symbols).
    """
    declarations = []
    position = 0
    while True:
        gap = re.compile(r"[\s,]*").match(body, position)
        if gap.end() == len(body):
            return declarations
        if declarations and "," not in gap.group() and "\n" not in gap.group():
            raise GamsSourceError("%s: unexpected %r (explanatory text must be quoted)"
                                  % (where, body[gap.end():gap.end() + 20]))
        position = gap.end()
        name = _NAME.match(body, position)
        if name is None:
            raise GamsSourceError("%s: expected a symbol name at %r"
                                  % (where, body[position:position + 20]))
        # Each part is optional; "position" stays at the end of the last one
        # found, so the gap check above sees the line end before the next name.
        position = name.end()
        domain = None
        look = _skip_space(body, position)
        if body.startswith("(", look):
            close = body.index(")", look)
            domain = [part.strip() for part in body[look + 1:close].split(",")]
            position = close + 1
        text = _TEXT.match(body, _skip_space(body, position))
        if text:
            position = text.end()
        entries = None
        look = _skip_space(body, position)
        if body.startswith("/", look):
            close = _find_unquoted(body, "/", look + 1)
            if close < 0:
                raise GamsSourceError("%s: data of %s not closed by '/'" % (where, name.group()))
            entries = _split_entries(body[look + 1:close])
            position = close + 1
        declarations.append((name.group(), domain, entries))


def _parse_table(body, where):
    """(name, domain, values) of a Table: each number belongs to the column label above it.

    A number must overlap exactly one column label, as GAMS requires; a blank
    cell is a zero.  Row and column labels may be dotted (``ELC.DAY``).
    """
    lines = body.split("\n")
    head = _parse_declarations(lines[0], where)
    if len(head) != 1 or head[0][2] is not None:
        raise GamsSourceError("%s: unsupported Table heading %r" % (where, lines[0]))
    name, domain, _ = head[0]
    grid = [line.expandtabs(8) for line in lines[1:] if line.strip()]
    if not grid:
        raise GamsSourceError("%s: Table %s without data" % (where, name))
    columns = [(label.start(), label.end(), tuple(label.group().split(".")))
               for label in re.finditer(r"\S+", grid[0])]
    values = {}
    for line in grid[1:]:
        if line.lstrip().startswith("+"):
            raise GamsSourceError("%s: continued Tables (+) are not supported" % where)
        tokens = list(re.finditer(r"\S+", line))
        row = tuple(tokens[0].group().split("."))
        for token in tokens[1:]:
            owners = [label for start, end, label in columns
                      if token.start() < end and start < token.end()]
            if len(owners) != 1:
                raise GamsSourceError("%s: Table %s: %r in row %s is under %d column labels"
                                      % (where, name, token.group(), ".".join(row), len(owners)))
            values[row + owners[0]] = _float(token.group(), where)
    return name, domain, values


def _split_entries(text):
    """Entries of a data list: separated by commas or line ends, except inside ( )."""
    entries, current, depth, quote = [], [], 0, None
    for char in text:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and char in ",\n":
            entries.append("".join(current))
            current = []
            continue
        current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def _set_members(entries, where):
    """Label tuples of set data: ``a 'text'``, ``p1*p40``, ``(a, b).c``."""
    members = []
    for entry in entries:
        labels = _TEXT.split(entry)[0].strip() if _TEXT.search(entry) else entry
        parts = _split_dotted(labels, where)
        combos = [()]
        for part in parts:
            combos = [combo + (label,) for combo in combos for label in part]
        members.extend(combos)
    return members


def _split_dotted(labels, where):
    parts, current, depth = [], [], 0
    for char in labels + ".":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "." and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    expanded = []
    for part in parts:
        if part.startswith("(") and part.endswith(")"):
            items = [item.strip() for item in part[1:-1].split(",")]
        else:
            items = [part]
        labels_of_part = []
        for item in items:
            if not item or re.search(r"\s", item):
                raise GamsSourceError("%s: cannot read set element %r" % (where, labels))
            labels_of_part.extend(_expand_range(item, where))
        expanded.append(labels_of_part)
    return expanded


def _expand_range(item, where):
    """``p1*p3`` -> p1, p2, p3; ``2000*2100`` -> 2000 ... 2100; anything else itself."""
    if "*" not in item:
        return [item]
    match = re.match(r"^([A-Za-z_]*)(\d+)\*([A-Za-z_]*)(\d+)$", item)
    if match is None or match.group(1) != match.group(3):
        raise GamsSourceError("%s: unsupported range %r" % (where, item))
    prefix, first, last = match.group(1), int(match.group(2)), int(match.group(4))
    return ["%s%d" % (prefix, number) for number in range(first, last + 1)]


def _parameter_values(entries, where):
    values = {}
    for entry in entries:
        fields = entry.split()
        if len(fields) != 2 or "(" in fields[0] or "*" in fields[0]:
            raise GamsSourceError("%s: cannot read parameter entry %r" % (where, entry))
        values[tuple(fields[0].split("."))] = _float(fields[1], where)
    return values


def _float(text, where):
    try:
        return float(text)
    except ValueError:
        raise GamsSourceError("%s: %r is not a number" % (where, text))


def _skip_space(text, position):
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _find_unquoted(text, char, start):
    quote = None
    for position in range(start, len(text)):
        current = text[position]
        if quote is not None:
            if current == quote:
                quote = None
        elif current in "'\"":
            quote = current
        elif current == char:
            return position
    return -1


def _name(symbol, *labels):
    """A row or column name as GAMS writes it: ``x(seattle,new-york)``."""
    return "%s(%s)" % (symbol, ",".join(labels)) if labels else symbol


def _power(base, exponent):
    """base ** exponent for a whole exponent >= 0, as a repeated product (see the module doc)."""
    if exponent != int(exponent) or exponent < 0:
        raise GamsSourceError("power %r ** %r: whole exponent >= 0 expected" % (base, exponent))
    result = 1.0
    for _ in range(int(exponent)):
        result *= base
    return result


# ---------------------------------------------------------------------------
# transport/trnsport.gms
# ---------------------------------------------------------------------------

def _transport_cost(data):
    # c(i,j) = f*d(i,j)/1000;
    for plant in data.labels("i"):
        for market in data.labels("j"):
            data.assign("c", (plant, market),
                        data.value("f") * data.value("d", plant, market) / 1000)


def _build_transport(data):
    plants, markets = data.labels("i"), data.labels("j")
    program = LinearProgram("trnsport", objective="z")
    for plant in plants:
        for market in markets:
            program.add_column(_name("x", plant, market))
    program.add_column("z", lower=-INF)
    # cost.. z =e= sum((i,j), c(i,j)*x(i,j));
    program.add_row("cost", "E", [("z", 1.0)] + [
        (_name("x", plant, market), -data.value("c", plant, market))
        for plant in plants for market in markets], 0.0)
    # supply(i).. sum(j, x(i,j)) =l= a(i);
    for plant in plants:
        program.add_row(_name("supply", plant), "L",
                        [(_name("x", plant, market), 1.0) for market in markets],
                        data.value("a", plant))
    # demand(j).. sum(i, x(i,j)) =g= b(j);
    for market in markets:
        program.add_row(_name("demand", market), "G",
                        [(_name("x", plant, market), 1.0) for plant in plants],
                        data.value("b", market))
    return program


TRANSPORT_STATEMENTS = (
    CodeStatement("c(i,j) = f*d(i,j)/1000", _transport_cost),
    CodeStatement("""Variable x(i,j) 'shipment quantities in cases'
                     z 'total transportation costs in thousands of dollars'"""),
    CodeStatement("Positive Variable x"),
    CodeStatement("""Equation cost 'define objective function'
                     supply(i) 'observe supply limit at plant i'
                     demand(j) 'satisfy demand at market j'"""),
    CodeStatement("cost.. z =e= sum((i,j), c(i,j)*x(i,j))"),
    CodeStatement("supply(i).. sum(j, x(i,j)) =l= a(i)"),
    CodeStatement("demand(j).. sum(i, x(i,j)) =g= b(j)"),
    CodeStatement("Model transport / all /"),
    CodeStatement("solve transport using lp minimizing z"),
    CodeStatement("display x.l, x.m"),
)


# ---------------------------------------------------------------------------
# infeasible/infeasible.gms
# ---------------------------------------------------------------------------

def _infeasible_cost(data):
    # c(i,j) = 1 + mod(ord(i) * 7 + ord(j) * 3, 5);
    for ord_i, plant in enumerate(data.labels("i"), 1):
        for ord_j, market in enumerate(data.labels("j"), 1):
            data.assign("c", (plant, market), 1.0 + (ord_i * 7 + ord_j * 3) % 5)


def _build_infeasible(data):
    plants, markets = data.labels("i"), data.labels("j")
    program = LinearProgram("infeasible", objective="z")
    for plant in plants:
        for market in markets:
            program.add_column(_name("x", plant, market))
    program.add_column("z", lower=-INF)
    # supply(i).. sum(j, x(i,j)) =l= a(i);
    for plant in plants:
        program.add_row(_name("supply", plant), "L",
                        [(_name("x", plant, market), 1.0) for market in markets],
                        data.value("a", plant))
    # demand(j).. sum(i, x(i,j)) =g= b(j);
    for market in markets:
        program.add_row(_name("demand", market), "G",
                        [(_name("x", plant, market), 1.0) for plant in plants],
                        data.value("b", market))
    # obj.. z =e= sum((i,j), c(i,j) * x(i,j));
    program.add_row("obj", "E", [("z", 1.0)] + [
        (_name("x", plant, market), -data.value("c", plant, market))
        for plant in plants for market in markets], 0.0)
    return program


INFEASIBLE_STATEMENTS = (
    CodeStatement("c(i,j) = 1 + mod(ord(i) * 7 + ord(j) * 3, 5)", _infeasible_cost),
    CodeStatement("Positive Variable x(i,j)"),
    CodeStatement("Free Variable z"),
    CodeStatement("Equation supply(i), demand(j), obj"),
    CodeStatement("supply(i).. sum(j, x(i,j)) =l= a(i)"),
    CodeStatement("demand(j).. sum(i, x(i,j)) =g= b(j)"),
    CodeStatement("obj.. z =e= sum((i,j), c(i,j) * x(i,j))"),
    CodeStatement("Model infeasible / all /"),
    CodeStatement("Solve infeasible using LP minimizing z"),
)


# ---------------------------------------------------------------------------
# licence_limit/licence_limit.gms
# ---------------------------------------------------------------------------

def _build_licence_limit(data):
    items = data.labels("k")
    program = LinearProgram("licence_limit", objective="z")
    for item in items:
        program.add_column(_name("x", item))
    program.add_column("z", lower=-INF)
    # floor(k).. x(k) =g= ord(k) / 1000;
    for order, item in enumerate(items, 1):
        program.add_row(_name("floor", item), "G", [(_name("x", item), 1.0)], order / 1000.0)
    # obj.. z =e= sum(k, x(k));
    program.add_row("obj", "E", [("z", 1.0)] + [(_name("x", item), -1.0) for item in items], 0.0)
    return program


LICENCE_LIMIT_STATEMENTS = (
    CodeStatement("Positive Variable x(k)"),
    CodeStatement("Free Variable z"),
    CodeStatement("Equation floor(k) 'x(k) at least ord(k)/1000' obj"),
    CodeStatement("floor(k).. x(k) =g= ord(k) / 1000"),
    CodeStatement("obj.. z =e= sum(k, x(k))"),
    CodeStatement("Model licence_limit / all /"),
    CodeStatement("Solve licence_limit using LP minimizing z"),
)


# ---------------------------------------------------------------------------
# marketsplit/marketsplit.gms
# ---------------------------------------------------------------------------

def _marketsplit_seed(data, seed):
    data.execseed = int(seed)


def _marketsplit_shares(data):
    # a(i,j) = uniformInt(0, 99);  GAMS's generator cannot be reproduced
    # outside GAMS: Python's Mersenne Twister draws them instead, row by row.
    if data.execseed is None:
        raise GamsSourceError("uniformInt before execseed")
    generator = random.Random(data.execseed)
    for market in data.labels("i"):
        for product in data.labels("j"):
            data.assign("a", (market, product), float(generator.randint(0, 99)))


def _marketsplit_targets(data):
    # d(i) = floor(sum(j, a(i,j)) / 2);
    for market in data.labels("i"):
        total = sum(data.value("a", market, product) for product in data.labels("j"))
        data.assign("d", (market,), float(math.floor(total / 2)))


def _build_marketsplit(data):
    markets, products = data.labels("i"), data.labels("j")
    program = LinearProgram("marketsplit", objective="z")
    for product in products:
        program.add_column(_name("x", product), upper=1.0, binary=True)
    for market in markets:
        program.add_column(_name("sp", market))
    for market in markets:
        program.add_column(_name("sm", market))
    program.add_column("z", lower=-INF)
    # split(i).. sum(j, a(i,j) * x(j)) + sp(i) - sm(i) =e= d(i);
    for market in markets:
        terms = [(_name("x", product), data.value("a", market, product)) for product in products]
        terms += [(_name("sp", market), 1.0), (_name("sm", market), -1.0)]
        program.add_row(_name("split", market), "E", terms, data.value("d", market))
    # obj.. z =e= sum(i, sp(i) + sm(i));
    terms = [("z", 1.0)]
    for market in markets:
        terms += [(_name("sp", market), -1.0), (_name("sm", market), -1.0)]
    program.add_row("obj", "E", terms, 0.0)
    return program


MARKETSPLIT_STATEMENTS = (
    CodeStatement("execseed = 19980601", _marketsplit_seed, pattern=r"execseed = (\d+)"),
    CodeStatement("a(i,j) = uniformInt(0, 99)", _marketsplit_shares),
    CodeStatement("d(i) = floor(sum(j, a(i,j)) / 2)", _marketsplit_targets),
    CodeStatement("Binary Variable x(j) 'product j goes to division 1'"),
    CodeStatement("Positive Variable sp(i), sm(i) 'slack above and below the target'"),
    CodeStatement("Free Variable z 'total slack'"),
    CodeStatement("""Equation split(i) 'division 1 gets exactly half of every market, up to slack'
                     obj 'objective'"""),
    CodeStatement("split(i).. sum(j, a(i,j) * x(j)) + sp(i) - sm(i) =e= d(i)"),
    CodeStatement("obj.. z =e= sum(i, sp(i) + sm(i))"),
    CodeStatement("Model marketsplit / all /"),
    CodeStatement("option optcr = 0, reslim = 1200"),
    CodeStatement("Solve marketsplit using MIP minimizing z"),
    CodeStatement("display x.l, z.l"),
)


# ---------------------------------------------------------------------------
# times_style/times_demo.run (base.dd, demand.dd, times_src/*.mod)
# ---------------------------------------------------------------------------

def _times_ncap_cost(data):
    # NCAP_COST(R,P) = NCAP_BASE(P) * (1 + 0.037 * ord(R)) + 0.011 * ord(P);
    for ord_r, region in enumerate(data.labels("R"), 1):
        for ord_p, process in enumerate(data.labels("P"), 1):
            data.assign("NCAP_COST", (region, process),
                        data.value("NCAP_BASE", process) * (1 + 0.037 * ord_r) + 0.011 * ord_p)


def _times_act_cost(data):
    # ACT_COST(R,P) = ACT_BASE(P) * (1 + 0.021 * ord(R)) + 0.003 * ord(P);
    for ord_r, region in enumerate(data.labels("R"), 1):
        for ord_p, process in enumerate(data.labels("P"), 1):
            data.assign("ACT_COST", (region, process),
                        data.value("ACT_BASE", process) * (1 + 0.021 * ord_r) + 0.003 * ord_p)


def _times_resid(data):
    # RESID(R,T,P) = max(0, RESID0(R,P) * (1 - (T.val - 2020) / 40));
    for region in data.labels("R"):
        for year in data.labels("T"):
            for process in data.labels("P"):
                value = data.value("RESID0", region, process) * (1 - (float(year) - 2020) / 40)
                data.assign("RESID", (region, year, process), max(0.0, value))


def _times_trade_cap(data):
    # TRD_CAP(R,R2)$(not sameas(R,R2)) = 10 + 2 * abs(ord(R) - ord(R2));
    for ord_r, region in enumerate(data.labels("R"), 1):
        for ord_r2, region2 in enumerate(data.labels("R2"), 1):
            if region != region2:
                data.assign("TRD_CAP", (region, region2), 10.0 + 2 * abs(ord_r - ord_r2))


def _times_trade_cost(data):
    # TRD_COST(R,R2)$(not sameas(R,R2)) = 0.05 + 0.013 * ord(R) + 0.007 * ord(R2);
    for ord_r, region in enumerate(data.labels("R"), 1):
        for ord_r2, region2 in enumerate(data.labels("R2"), 1):
            if region != region2:
                data.assign("TRD_COST", (region, region2), 0.05 + 0.013 * ord_r + 0.007 * ord_r2)


def _times_demand(data, year, factor):
    # DEM(R,'%1',C,S) = %2 * DEM0(R,C,S);   (demand.dd, $batincluded per year)
    growth = _float(factor, "demand.dd")
    for region in data.labels("R"):
        for commodity in data.labels("C"):
            for slice_ in data.labels("S"):
                data.assign("DEM", (region, year, commodity, slice_),
                            growth * data.value("DEM0", region, commodity, slice_))


def _times_discount(data):
    # DISC(T) = 1 / (1 + G_DRATE) ** (T.val - smin(T2, T2.val));
    first = min(float(year) for year in data.labels("T2"))
    for year in data.labels("T"):
        data.assign("DISC", (year,),
                    1 / _power(1 + data.value("G_DRATE"), float(year) - first))


def _times_live(data):
    # LIVE(T,T2) = (T2.val <= T.val) and (T.val - T2.val < G_LIFE);
    life = data.value("G_LIFE")
    data.assign_set("LIVE", [(year, built)
                             for year in data.labels("T") for built in data.labels("T2")
                             if float(built) <= float(year) and float(year) - float(built) < life])


def _build_times(data):
    regions, years, processes = data.labels("R"), data.labels("T"), data.labels("P")
    slices = data.labels("S")
    renewables = data.labels("PRC_REN")
    value = data.value

    def ncap(region, year, process):
        return _name("VAR_NCAP", region, year, process)

    def act(region, year, process, slice_):
        return _name("VAR_ACT", region, year, process, slice_)

    def trd(region, region2, year, slice_):
        return _name("VAR_TRD", region, region2, year, slice_)

    def built_alive(year):
        return [built for built in years if data.contains("LIVE", year, built)]

    def produces(process, commodity):
        return data.contains("PRC_OUT", process, commodity)

    program = LinearProgram("times_demo", objective="OBJZ")
    for region in regions:
        for year in years:
            for process in processes:
                program.add_column(ncap(region, year, process))
    for region in regions:
        for year in years:
            for process in processes:
                for slice_ in slices:
                    program.add_column(act(region, year, process, slice_))
    # VAR_TRD.up(R,R2,T,S) = TRD_CAP(R,R2) * S_FRAC(S);  VAR_TRD.fx(R,R,T,S) = 0;
    for region in regions:
        for region2 in regions:
            for year in years:
                for slice_ in slices:
                    upper = value("TRD_CAP", region, region2) * value("S_FRAC", slice_)
                    if region == region2:
                        upper = 0.0
                    program.add_column(trd(region, region2, year, slice_), upper=upper)
    program.add_column("OBJZ", lower=-INF)

    # EQ_OBJ.. OBJZ =e= sum((R,T), DISC(T) * (
    #                sum(P, 10 * NCAP_COST(R,P) * VAR_NCAP(R,T,P))
    #              + sum((P,S), 10 * ACT_COST(R,P) * VAR_ACT(R,T,P,S))
    #              + sum((R2,S), 10 * TRD_COST(R,R2) * VAR_TRD(R,R2,T,S))));
    terms = [("OBJZ", 1.0)]
    for region in regions:
        for year in years:
            discount = value("DISC", year)
            for process in processes:
                terms.append((ncap(region, year, process),
                              -(discount * (10 * value("NCAP_COST", region, process)))))
            for process in processes:
                for slice_ in slices:
                    terms.append((act(region, year, process, slice_),
                                  -(discount * (10 * value("ACT_COST", region, process)))))
            for region2 in regions:
                for slice_ in slices:
                    terms.append((trd(region, region2, year, slice_),
                                  -(discount * (10 * value("TRD_COST", region, region2)))))
    program.add_row("EQ_OBJ", "E", terms, 0.0)

    # EQ_CAPACT(R,T,P,S).. VAR_ACT(R,T,P,S) =l= AF(P,S) * S_FRAC(S)
    #                      * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P)));
    for region in regions:
        for year in years:
            for process in processes:
                for slice_ in slices:
                    share = value("AF", process, slice_) * value("S_FRAC", slice_)
                    terms = [(act(region, year, process, slice_), 1.0)]
                    terms += [(ncap(region, built, process), -share)
                              for built in built_alive(year)]
                    program.add_row(_name("EQ_CAPACT", region, year, process, slice_), "L", terms,
                                    share * value("RESID", region, year, process))

    # EQ_BAL_ELC(R,T,S).. sum(P$PRC_OUT(P,'ELC'), VAR_ACT(R,T,P,S))
    #    - sum(P, ELC_USE(P) * VAR_ACT(R,T,P,S))
    #    + sum(R2, 0.97 * VAR_TRD(R2,R,T,S)) - sum(R2, VAR_TRD(R,R2,T,S))
    #    =g= DEM(R,T,'ELC',S);
    for region in regions:
        for year in years:
            for slice_ in slices:
                terms = [(act(region, year, process, slice_), 1.0)
                         for process in processes if produces(process, "ELC")]
                terms += [(act(region, year, process, slice_), -value("ELC_USE", process))
                          for process in processes]
                terms += [(trd(region2, region, year, slice_), 0.97) for region2 in regions]
                terms += [(trd(region, region2, year, slice_), -1.0) for region2 in regions]
                program.add_row(_name("EQ_BAL_ELC", region, year, slice_), "G", terms,
                                value("DEM", region, year, "ELC", slice_))

    # EQ_BAL_HET(R,T,S).. sum(P$PRC_OUT(P,'HET'), VAR_ACT(R,T,P,S)) =g= DEM(R,T,'HET',S);
    for region in regions:
        for year in years:
            for slice_ in slices:
                terms = [(act(region, year, process, slice_), 1.0)
                         for process in processes if produces(process, "HET")]
                program.add_row(_name("EQ_BAL_HET", region, year, slice_), "G", terms,
                                value("DEM", region, year, "HET", slice_))

    # EQ_PEAK(R,T).. sum(P$PRC_OUT(P,'ELC'), PEAK_CONT(P)
    #                    * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P))))
    #                =g= 1.1 * smax(S, DEM(R,T,'ELC',S) / S_FRAC(S));
    for region in regions:
        for year in years:
            terms, constant = [], 0.0
            for process in processes:
                if produces(process, "ELC"):
                    contribution = value("PEAK_CONT", process)
                    constant += contribution * value("RESID", region, year, process)
                    terms += [(ncap(region, built, process), contribution)
                              for built in built_alive(year)]
            peak = max(value("DEM", region, year, "ELC", slice_) / value("S_FRAC", slice_)
                       for slice_ in slices)
            program.add_row(_name("EQ_PEAK", region, year), "G", terms, 1.1 * peak - constant)

    # EQ_POT(R,P)$PRC_REN(P).. sum(T, VAR_NCAP(R,T,P)) =l= POTENTIAL(R,P);
    for region in regions:
        for process in processes:
            if process in renewables:
                program.add_row(_name("EQ_POT", region, process), "L",
                                [(ncap(region, year, process), 1.0) for year in years],
                                value("POTENTIAL", region, process))

    # EQ_CO2(T).. sum((R,P,S), ACT_EMIS(P) * VAR_ACT(R,T,P,S)) =l= CO2_CAP(T);
    for year in years:
        terms = [(act(region, year, process, slice_), value("ACT_EMIS", process))
                 for region in regions for process in processes for slice_ in slices]
        program.add_row(_name("EQ_CO2", year), "L", terms, value("CO2_CAP", year))
    return program


TIMES_STATEMENTS = (
    # base.dd
    CodeStatement("NCAP_COST(R,P) = NCAP_BASE(P) * (1 + 0.037 * ord(R)) + 0.011 * ord(P)",
                  _times_ncap_cost),
    CodeStatement("ACT_COST(R,P) = ACT_BASE(P) * (1 + 0.021 * ord(R)) + 0.003 * ord(P)",
                  _times_act_cost),
    CodeStatement("RESID(R,T,P) = max(0, RESID0(R,P) * (1 - (T.val - 2020) / 40))", _times_resid),
    CodeStatement("TRD_CAP(R,R2)$(not sameas(R,R2)) = 10 + 2 * abs(ord(R) - ord(R2))",
                  _times_trade_cap),
    CodeStatement("TRD_COST(R,R2)$(not sameas(R,R2)) = 0.05 + 0.013 * ord(R) + 0.007 * ord(R2)",
                  _times_trade_cost),
    # demand.dd, once per "$batinclude demand.dd YEAR GROWTH" of the driver
    CodeStatement("DEM(R,'%1',C,S) = %2 * DEM0(R,C,S)", _times_demand,
                  pattern=r"DEM\(R,'(\d+)',C,S\) = ([0-9.]+) \* DEM0\(R,C,S\)"),
    # times_demo.run (the solver choice and the marker file do not touch the matrix)
    CodeStatement("option LP=conopt"),
    CodeStatement("file f_marker / base.dd /"),
    CodeStatement("put f_marker 'x'"),
    CodeStatement("putclose f_marker"),
    # times_src/eqmain.mod
    CodeStatement("DISC(T) = 1 / (1 + G_DRATE) ** (T.val - smin(T2, T2.val))", _times_discount),
    CodeStatement("LIVE(T,T2) = (T2.val <= T.val) and (T.val - T2.val < G_LIFE)", _times_live),
    CodeStatement("""Positive Variable
                     VAR_NCAP(R,T,P) 'new capacity'
                     VAR_ACT(R,T,P,S) 'activity'
                     VAR_TRD(R,R2,T,S) 'electricity sent from R to R2'"""),
    CodeStatement("Free Variable OBJZ 'discounted system cost'"),
    CodeStatement("VAR_TRD.up(R,R2,T,S) = TRD_CAP(R,R2) * S_FRAC(S)"),
    CodeStatement("VAR_TRD.fx(R,R,T,S) = 0"),
    CodeStatement("""Equation
                     EQ_OBJ 'objective'
                     EQ_CAPACT(R,T,P,S) 'activity within available capacity'
                     EQ_BAL_ELC(R,T,S) 'electricity balance'
                     EQ_BAL_HET(R,T,S) 'heat balance'
                     EQ_PEAK(R,T) 'electricity peak reserve'
                     EQ_POT(R,P) 'renewable potential'
                     EQ_CO2(T) 'CO2 limit'"""),
    CodeStatement("""EQ_OBJ.. OBJZ =e= sum((R,T), DISC(T) * (
                         sum(P, 10 * NCAP_COST(R,P) * VAR_NCAP(R,T,P))
                       + sum((P,S), 10 * ACT_COST(R,P) * VAR_ACT(R,T,P,S))
                       + sum((R2,S), 10 * TRD_COST(R,R2) * VAR_TRD(R,R2,T,S))))"""),
    CodeStatement("""EQ_CAPACT(R,T,P,S)..
                     VAR_ACT(R,T,P,S) =l= AF(P,S) * S_FRAC(S)
                         * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P)))"""),
    CodeStatement("""EQ_BAL_ELC(R,T,S)..
                     sum(P$PRC_OUT(P,'ELC'), VAR_ACT(R,T,P,S))
                   - sum(P, ELC_USE(P) * VAR_ACT(R,T,P,S))
                   + sum(R2, 0.97 * VAR_TRD(R2,R,T,S)) - sum(R2, VAR_TRD(R,R2,T,S))
                     =g= DEM(R,T,'ELC',S)"""),
    CodeStatement("""EQ_BAL_HET(R,T,S)..
                     sum(P$PRC_OUT(P,'HET'), VAR_ACT(R,T,P,S)) =g= DEM(R,T,'HET',S)"""),
    CodeStatement("""EQ_PEAK(R,T)..
                     sum(P$PRC_OUT(P,'ELC'), PEAK_CONT(P)
                         * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P))))
                     =g= 1.1 * smax(S, DEM(R,T,'ELC',S) / S_FRAC(S))"""),
    CodeStatement("EQ_POT(R,P)$PRC_REN(P).. sum(T, VAR_NCAP(R,T,P)) =l= POTENTIAL(R,P)"),
    CodeStatement("EQ_CO2(T).. sum((R,P,S), ACT_EMIS(P) * VAR_ACT(R,T,P,S)) =l= CO2_CAP(T)"),
    CodeStatement("Model TIMES / all /"),
    # times_src/solve.mod: holdFixed = 0 keeps the fixed VAR_TRD(R,R,T,S) as columns
    CodeStatement("TIMES.holdFixed = 0"),
    CodeStatement("Solve TIMES minimizing OBJZ using LP"),
    CodeStatement("REP_CAP(R,T,P) = RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP.l(R,T2,P))"),
    CodeStatement("display OBJZ.l, REP_CAP"),
)


# ---------------------------------------------------------------------------
# times_infeasible/times_infeasible.run (base.dd, cumlimit.dd, eqmain.mod)
# ---------------------------------------------------------------------------

def _times_vintage_is_period(data):
    # VT(V,T) = sameas(V,T);
    data.assign_set("VT", [(year, year) for year in data.labels("T")])


def _build_times_infeasible(data):
    regions, years, processes = data.labels("R"), data.labels("T"), data.labels("P")
    slices, commodities = data.labels("S"), data.labels("C")
    with_capacity = data.labels("PRC_CAP")
    value = data.value

    def ncap(region, year, process):
        return _name("VAR_NCAP", region, year, process)

    def act(region, year, process, slice_):
        # VT(V,T) holds only V = T: one vintage per period, named twice as in TIMES.
        return _name("VAR_ACT", region, year, year, process, slice_)

    def cumflo(region, process, commodity, first, last):
        return _name("VAR_CUMFLO", region, process, commodity, first, last)

    def cumulative_limits():
        return [(region, process, commodity, first, last)
                for region in regions for process in processes for commodity in commodities
                for first in years for last in years
                if value("FLO_CUM", region, process, commodity, first, last, "UP")]

    program = LinearProgram("times_infeasible", objective="OBJZ")
    for region in regions:
        for year in years:
            for process in processes:
                program.add_column(ncap(region, year, process))
    # VAR_ACT.lo(R,VT(V,T),P,S) = ACT_BND(R,T,P,S,'LO');
    for region in regions:
        for year in years:
            for process in processes:
                for slice_ in slices:
                    program.add_column(act(region, year, process, slice_),
                                       lower=value("ACT_BND", region, year, process, slice_,
                                                   "LO"))
    # VAR_CUMFLO.up(R,P,C,T,TT)$FLO_CUM(R,P,C,T,TT,'UP') = FLO_CUM(R,P,C,T,TT,'UP');
    for limit in cumulative_limits():
        program.add_column(cumflo(*limit), upper=value("FLO_CUM", *(limit + ("UP",))))
    program.add_column("OBJZ", lower=-INF)

    # EQ_OBJ.. OBJZ =e= sum((R,T), DISC(T) * (
    #              sum(PRC_CAP(P), NCAP_COST(P) * VAR_NCAP(R,T,P))
    #            + sum((VT(V,T),P,S), D(T) * ACT_COST(P) * VAR_ACT(R,V,T,P,S))));
    terms = [("OBJZ", 1.0)]
    for region in regions:
        for year in years:
            discount = value("DISC", year)
            for process in with_capacity:
                terms.append((ncap(region, year, process),
                              -(discount * value("NCAP_COST", process))))
            for process in processes:
                for slice_ in slices:
                    terms.append((act(region, year, process, slice_),
                                  -(discount * (value("D", year) * value("ACT_COST", process)))))
    program.add_row("EQ_OBJ", "E", terms, 0.0)

    # EQL_CAPACT(R,VT(V,T),PRC_CAP(P),S)..
    #    VAR_ACT(R,V,T,P,S) =l= NCAP_AF(P,S) * S_FRAC(S)
    #                           * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P)));
    for region in regions:
        for year in years:
            for process in with_capacity:
                for slice_ in slices:
                    share = value("NCAP_AF", process, slice_) * value("S_FRAC", slice_)
                    terms = [(act(region, year, process, slice_), 1.0)]
                    terms += [(ncap(region, built, process), -share) for built in years
                              if data.contains("LIVE", year, built)]
                    program.add_row(_name("EQL_CAPACT", region, year, year, process, slice_),
                                    "L", terms, share * value("RESID", region, year, process))

    # EQG_COMBAL(R,T,C,S)..
    #    sum((VT(V,T),P), VAR_ACT(R,V,T,P,S)) =g= COM_PROJ(R,T,C) * S_FRAC(S);
    for region in regions:
        for year in years:
            for commodity in commodities:
                for slice_ in slices:
                    program.add_row(_name("EQG_COMBAL", region, year, commodity, slice_), "G",
                                    [(act(region, year, process, slice_), 1.0)
                                     for process in processes],
                                    value("COM_PROJ", region, year, commodity)
                                    * value("S_FRAC", slice_))

    # EQ_CUMFLO(R,P,C,T,TT)$FLO_CUM(R,P,C,T,TT,'UP')..
    #    sum((VT(V,T2),S)$((T2.val >= T.val) and (T2.val <= TT.val)),
    #        D(T2) * VAR_ACT(R,V,T2,P,S))
    #    =e= VAR_CUMFLO(R,P,C,T,TT);
    for limit in cumulative_limits():
        region, process, _, first, last = limit
        terms = [(act(region, year, process, slice_), value("D", year))
                 for year in years if float(first) <= float(year) <= float(last)
                 for slice_ in slices]
        terms.append((cumflo(*limit), -1.0))
        program.add_row(_name("EQ_CUMFLO", *limit), "E", terms, 0.0)
    return program


TIMES_INFEASIBLE_STATEMENTS = (
    # base.dd
    CodeStatement("DISC(T) = 1 / (1 + G_DRATE) ** (T.val - smin(T2, T2.val))", _times_discount),
    CodeStatement("LIVE(T,T2) = (T2.val <= T.val) and (T.val - T2.val < G_LIFE)", _times_live),
    CodeStatement("RESID(R,T,P) = max(0, RESID0(R,P) * (1 - (T.val - 2020) / 40))", _times_resid),
    CodeStatement("VT(V,T) = sameas(V,T)", _times_vintage_is_period),
    # eqmain.mod
    CodeStatement("""Positive Variable
                     VAR_NCAP(R,T,P) 'new capacity of a process'
                     VAR_ACT(R,V,T,P,S) 'overall activity of a process'
                     VAR_CUMFLO(R,P,C,T,TT) 'cumulative process flow'"""),
    CodeStatement("Free Variable OBJZ 'discounted system cost'"),
    CodeStatement("VAR_ACT.lo(R,VT(V,T),P,S) = ACT_BND(R,T,P,S,'LO')"),
    CodeStatement("VAR_CUMFLO.up(R,P,C,T,TT)$FLO_CUM(R,P,C,T,TT,'UP') = "
                  "FLO_CUM(R,P,C,T,TT,'UP')"),
    CodeStatement("""Equation
                     EQ_OBJ 'overall objective function'
                     EQL_CAPACT(R,V,T,P,S) 'capacity utilisation (=L=)'
                     EQG_COMBAL(R,T,C,S) 'commodity balance (=G=)'
                     EQ_CUMFLO(R,P,C,T,TT) 'cumulative commodity flow limit (=E=)'"""),
    CodeStatement("""EQ_OBJ.. OBJZ =e= sum((R,T), DISC(T) * (
                         sum(PRC_CAP(P), NCAP_COST(P) * VAR_NCAP(R,T,P))
                       + sum((VT(V,T),P,S), D(T) * ACT_COST(P) * VAR_ACT(R,V,T,P,S))))"""),
    CodeStatement("""EQL_CAPACT(R,VT(V,T),PRC_CAP(P),S)..
                     VAR_ACT(R,V,T,P,S) =l= NCAP_AF(P,S) * S_FRAC(S)
                         * (RESID(R,T,P) + sum(T2$LIVE(T,T2), VAR_NCAP(R,T2,P)))"""),
    CodeStatement("""EQG_COMBAL(R,T,C,S)..
                     sum((VT(V,T),P), VAR_ACT(R,V,T,P,S)) =g= COM_PROJ(R,T,C) * S_FRAC(S)"""),
    CodeStatement("""EQ_CUMFLO(R,P,C,T,TT)$FLO_CUM(R,P,C,T,TT,'UP')..
                     sum((VT(V,T2),S)$((T2.val >= T.val) and (T2.val <= TT.val)),
                         D(T2) * VAR_ACT(R,V,T2,P,S))
                     =e= VAR_CUMFLO(R,P,C,T,TT)"""),
    # times_infeasible.run
    CodeStatement("Model TIMES / all /"),
    CodeStatement("Solve TIMES minimizing OBJZ using LP"),
)


MODELS = (
    ModelSpec("transport", "trnsport.gms", TRANSPORT_STATEMENTS, _build_transport,
              "optimal, objective 153.675 (the real GAMS)"),
    ModelSpec("times_style", "times_demo.run", TIMES_STATEMENTS, _build_times,
              "optimal, objective 82872.208975 (the real GAMS, every LP algorithm)",
              search_dirs=(".", "times_src")),
    ModelSpec("infeasible", "infeasible.gms", INFEASIBLE_STATEMENTS, _build_infeasible,
              "infeasible (the real GAMS: MODEL STATUS 4 Infeasible)"),
    ModelSpec("times_infeasible", "times_infeasible.run", TIMES_INFEASIBLE_STATEMENTS,
              _build_times_infeasible,
              "infeasible: FLO_CUM(UP) of IMPELC in R1 over 2020-2050 (750) is below the "
              "800 its ACT_BND(LO) needs; CPLEX's conflict refiner names EQ_CUMFLO, the "
              "VAR_CUMFLO upper bound and the VAR_ACT lower bounds (never run with the "
              "real GAMS: its demo licence had expired)"),
    ModelSpec("licence_limit", "licence_limit.gms", LICENCE_LIMIT_STATEMENTS,
              _build_licence_limit,
              "optimal, objective 2206.05 (= 2100*2101/2 * 0.001), where the licence "
              "allows 2,101 rows and columns"),
    ModelSpec("marketsplit", "marketsplit.gms", MARKETSPLIT_STATEMENTS, _build_marketsplit,
              "no proof of optimality for many minutes (CPLEX, threads 1).  Coefficients "
              "from Python's random.Random(19980601).randint(0, 99), row by row, not "
              "GAMS's uniformInt (not reproducible outside GAMS)"),
)


if __name__ == "__main__":
    sys.exit(main())
