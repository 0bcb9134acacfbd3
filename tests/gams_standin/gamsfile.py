"""What the stand-in reads of a GAMS driver: it compiles no GAMS.

Read, and only this (everything else in the source is echoed to the listing
and otherwise ignored):

* ``$include FILE`` and ``$batinclude FILE ARGS``, followed through the
  include path (the working directory, then ``idir1``, ``idir2``, ...; see
  "Include search" in the GAMS User's Guide, UG_DollarControlOptions), to
  list the files in the Include File Summary and to read their statements;
* ``$if [not] exist FILE $abort TEXT`` with ``%gams.curdir%`` substituted
  (the guard of tests/models/times_style);
* ``option`` statements that choose solvers or set ``reslim``, ``optcr``,
  ``optca``, ``iterlim``, ``threads`` (``option lp=conopt;`` in a driver wins
  over ``lp=cplex`` on the command line, as in GAMS, because it executes
  after the command line is read);
* ``MODEL.optfile = N;``;
* the ``solve`` statement: model, type, direction, objective variable, line;
* ``file H / NAME /;`` with ``put H 'TEXT';``: the literal text is written
  into NAME in the working directory at execution time.

Its comment handling is deliberately independent of times_doctor's own
option lexer (times_doctor/gams_source.py): the stand-in checks that lexer's
output, so it must not share its mistakes.
"""

import os
import re

SOLVER_KINDS = ("lp", "mip", "rmip", "qcp", "miqcp", "rmiqcp", "nlp", "mcp")
_NUMERIC_OPTIONS = ("reslim", "optcr", "optca", "iterlim", "threads")

_INCLUDE = re.compile(r"^\$\s*(bat)?include\s+(\"[^\"]+\"|'[^']+'|\S+)(.*)$", re.I)
_IF_EXIST_ABORT = re.compile(
    r"^\$\s*if\s+(not\s+)?exist\s+(\"[^\"]+\"|'[^']+'|\S+)\s+\$\s*abort\b\s*(.*)$", re.I)
_ONTEXT = re.compile(r"^\$\s*ontext\b", re.I)
_OFFTEXT = re.compile(r"^\$\s*offtext\b", re.I)
_OPTION = re.compile(r"^\s*options?\b(.*)$", re.I | re.S)
_OPTFILE = re.compile(r"^\s*(\w+)\s*\.\s*optfile\s*=\s*(\d+)\s*$", re.I)
_SOLVE = re.compile(r"^\s*solve\s+(\w+)\s+(.*)$", re.I | re.S)
_FILE = re.compile(r"^\s*files?\s+(\w+)(?:\s+'[^']*'|\s+\"[^\"]*\")?\s*/\s*([^/]+?)\s*/\s*$",
                   re.I)
_PUT = re.compile(r"^\s*put\s+(\w+)\s+'([^']*)'\s*$", re.I)


class SourceError(Exception):
    """A compilation error: ``line`` is (file, local line), ``text`` GAMS-like."""

    def __init__(self, path, line, text):
        Exception.__init__(self, text)
        self.path = path
        self.line = line
        self.text = text


class Include(object):
    """One row of the Include File Summary."""

    def __init__(self, seq, global_line, kind, parent, local_line, level, path):
        self.seq = seq
        self.global_line = global_line
        self.kind = kind
        self.parent = parent
        self.local_line = local_line
        self.level = level
        self.path = path


class Solve(object):
    def __init__(self, model, model_type, direction, objective, line):
        self.model = model
        self.model_type = model_type
        self.direction = direction
        self.objective = objective
        self.line = line


class Program(object):
    """The driver as the stand-in sees it."""

    def __init__(self):
        self.lines = []        # expanded source, for the listing's echo
        self.includes = []     # Include rows (the input file is row 1)
        self.statements = []   # (global line, statement text) in source order
        self.title = None

    def solve(self):
        """The first solve statement, or None."""
        for line, text in self.statements:
            match = _SOLVE.match(text)
            if match:
                return _parse_solve(match, line)
        return None

    def settings(self, command_line):
        """Solvers and limits in force at the solve: the command line, then option statements.

        *command_line* maps lower-case keys to values.  Returns a dict with the
        keys of SOLVER_KINDS and _NUMERIC_OPTIONS that are set, plus ``optfile``.
        """
        solve = self.solve()
        settings = {}
        for key in SOLVER_KINDS + _NUMERIC_OPTIONS + ("optfile",):
            if key in command_line:
                settings[key] = command_line[key]
        if "solver" in command_line:
            for kind in SOLVER_KINDS:
                settings[kind] = command_line["solver"]
        for line, text in self.statements:
            if solve is not None and line >= solve.line:
                break
            option = _OPTION.match(text)
            if option:
                for key, value in _option_pairs(option.group(1)):
                    if key == "solver":
                        for kind in SOLVER_KINDS:
                            settings[kind] = value
                    elif key in SOLVER_KINDS or key in _NUMERIC_OPTIONS:
                        settings[key] = value
                continue
            optfile = _OPTFILE.match(text)
            if optfile and solve is not None and optfile.group(1).lower() == solve.model.lower():
                settings["optfile"] = optfile.group(2)
        return settings

    def put_files(self):
        """[(file name, text)] written by ``file``/``put`` pairs, in order."""
        handles = {}
        written = []
        for _, text in self.statements:
            declared = _FILE.match(text)
            if declared:
                handles[declared.group(1).lower()] = declared.group(2)
                continue
            put = _PUT.match(text)
            if put and put.group(1).lower() in handles:
                written.append((handles[put.group(1).lower()], put.group(2)))
        return written


def read_program(input_path, search_dirs, curdir):
    """Read *input_path* and its includes; raise SourceError like a compilation error."""
    program = Program()
    program.includes.append(Include(1, 1, "INPUT", 0, 0, 0, input_path))
    _read_file(program, input_path, [], search_dirs, curdir, 1, 0)
    return program


def find_on_include_path(name, search_dirs):
    """The first existing NAME in *search_dirs* (absolute names as they are), or None."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    for folder in search_dirs:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None


def _read_file(program, path, args, search_dirs, curdir, seq, level):
    with open(path, "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    in_text = False
    statement = []
    statement_line = None
    for local_line, raw in enumerate(text.splitlines(), 1):
        line = _substitute(raw, args, curdir)
        program.lines.append(raw)
        global_line = len(program.lines)
        if in_text:
            in_text = not _OFFTEXT.match(line)
            continue
        if _ONTEXT.match(line):
            in_text = True
            continue
        if line.startswith("*"):
            continue
        if line.startswith("$"):
            _dollar_line(program, path, line, local_line, global_line, search_dirs, curdir,
                         seq, level)
            continue
        # Statements end at ";": collect them with the line they start on.
        for piece in re.split(r"(;)", line):
            if piece == ";":
                if statement:
                    program.statements.append((statement_line, " ".join(statement)))
                statement = []
                statement_line = None
            elif piece.strip():
                if statement_line is None:
                    statement_line = global_line
                statement.append(piece.strip())
    if statement:
        program.statements.append((statement_line, " ".join(statement)))


def _dollar_line(program, path, line, local_line, global_line, search_dirs, curdir, seq, level):
    abort = _IF_EXIST_ABORT.match(line)
    if abort:
        target = _unquote(abort.group(2))
        exists = os.path.exists(target if os.path.isabs(target) else os.path.join(curdir, target))
        if exists != bool(abort.group(1)):
            raise SourceError(path, local_line, abort.group(3).strip())
        return
    if line[1:].strip().lower().startswith("title"):
        program.title = line[1:].strip()[5:].strip()
        return
    include = _INCLUDE.match(line)
    if not include:
        return
    name = _unquote(include.group(2))
    found = find_on_include_path(name, search_dirs)
    if found is None:
        raise SourceError(path, local_line, "Could not open include file %s" % name)
    kind = "BATINCLUDE" if include.group(1) else "INCLUDE"
    child_seq = len(program.includes) + 1
    program.includes.append(Include(child_seq, global_line, kind, seq, local_line, level + 1,
                                    found))
    args = include.group(3).split() if include.group(1) else []
    _read_file(program, found, args, search_dirs, curdir, child_seq, level + 1)


def _substitute(line, args, curdir):
    line = re.sub(r"%gams\.curdir%", lambda _: curdir.rstrip(os.sep) + os.sep, line, flags=re.I)
    for number, value in enumerate(args, 1):
        line = line.replace("%%%d" % number, value)
    return line


def _unquote(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _option_pairs(body):
    """``lp = cplex, reslim=10 threads 2`` -> [(key, value)], keys lower-case."""
    pairs = []
    for match in re.finditer(r"(\w+)\s*=\s*([\w.+-]+)", body):
        pairs.append((match.group(1).lower(), match.group(2)))
    return pairs


def _parse_solve(match, line):
    model = match.group(1)
    rest = match.group(2).split()
    model_type = direction = objective = None
    index = 0
    while index < len(rest):
        word = rest[index].lower()
        if word == "using" and index + 1 < len(rest):
            model_type = rest[index + 1].upper()
            index += 2
        elif word in ("minimizing", "minimize", "min", "maximizing", "maximize", "max") \
                and index + 1 < len(rest):
            direction = "MINIMIZE" if word.startswith("min") else "MAXIMIZE"
            objective = rest[index + 1]
            index += 2
        elif word in ("lp", "mip", "rmip") and model_type is None:
            model_type = word.upper()
            index += 1
        else:
            index += 1
    return Solve(model, model_type or "LP", direction or "MINIMIZE", objective or "z", line)
