"""optdef against GAMS's own option reader (gamsapi's ``gams.core.opt``), on generated lines.

For each solver, at least 5,000 lines over every option of the real def
file (gamspy-base's optcplex.def, gamspy-gurobi's optgurobi.def, 54.6.1) go
through both readers (tests/optdef_lines.py says what is generated): once
with a fixed seed, once with a seed that changes every run and is printed
(``TD_OPTDEF_SEED=N`` replays one).  The answer that must agree for every
line: does GAMS ignore it?  Where it does, GAMS's first reason and ours must
be the same kind of problem (optdef's Finding.code against the message).

The oracle runs under the solver interpreter (optreader_oracle.py), so
every test leg, 3.6 included, compares its own optdef with it.
"""

import os
import random
import re
import time

import pytest

import optdef_lines
import optreader_oracle
from times_doctor.solvers import optdef

FIXED_SEED = 20261203
LINES_PER_SOLVER = 5000
SOLVERS = ("cplex", "gurobi")
SHOWN = 20

# GAMS's message -> optdef's code for the same problem.
GAMS_REASONS = [
    (r"^Option keyword expected", optdef.KEYWORD),
    (r"^Bad separator after key", optdef.SEPARATOR),
    (r"^Unknown option", optdef.UNKNOWN),
    (r"^Value expected for", optdef.NO_VALUE),
    (r"\.suffix|^Element expected for \.option|^Set name not allowed", optdef.SUFFIX),
    (r"^Bad double-quote in value", optdef.QUOTE),
    (r"^Boolean value expected for option", optdef.BOOLEAN),
    (r"^Integer expected", optdef.INTEGER),
    (r"^Double expected", optdef.DOUBLE),
    (r"^Unknown value for option", optdef.ENUM),
    (r"out of range for option", optdef.RANGE),
    (r"^Identifier expected|^\$ expected|^Closing bracket|^Unique element expected|"
     r"^Universe not allowed|not controlled for variable|for equation indicator",
     optdef.INDICATOR),
]


# A quoted dot-option value that does not end before a blank, a comma or the end of
# the line: GAMS says "Value expected for .option" or "Bad double-quote in value"
# depending on the quotes further on the line; optdef gives one message (QUOTE).
SAME_SUBSTANCE = set([(optdef.NO_VALUE, optdef.QUOTE)])


def gams_code(text):
    """optdef's code for GAMS's first message about a line (None: not a reason we know)."""
    for pattern, code in GAMS_REASONS:
        if re.search(pattern, text):
            return code
    return None


def changing_seed():
    configured = os.environ.get("TD_OPTDEF_SEED")
    return int(configured) if configured else int(time.time() * 1000) % 1000000007


@pytest.fixture(scope="module")
def def_files():
    """solver -> the def file GAMS's reader uses (optdef reads the same one)."""
    return dict((solver, optreader_oracle.judge_files(solver, [b"\n"])[0])
                for solver in SOLVERS)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed_kind", ["fixed", "changing"])
def test_generated_lines_agree_with_gams(solver, seed_kind, def_files, capsys):
    seed = FIXED_SEED if seed_kind == "fixed" else changing_seed()
    with capsys.disabled():
        print("\n%s: seed %d (replay: TD_OPTDEF_SEED=%d)" % (solver, seed, seed))
    defs = optdef.read_def_file(def_files[solver])
    files, grouped = optdef_lines.files_for(defs, random.Random(seed), LINES_PER_SOLVER)
    judged, problems, crashed = compare(solver, defs, files, grouped)
    with capsys.disabled():
        print("%s: %d lines judged by both readers, %d disagreements%s"
              % (solver, judged, len(problems), "; GAMS's reader crashed on %r" % crashed
                 if crashed else ""))
    assert judged >= LINES_PER_SOLVER - len(crashed)
    assert not problems, "seed %d: %d disagreements with GAMS's reader:\n%s" % (
        seed, len(problems), "\n".join(problems[:SHOWN]))


def compare(solver, defs, files, grouped):
    """(lines judged, disagreements, lines the oracle crashed on) for these files."""
    _, results = optreader_oracle.judge_files(solver, files)
    judged, problems, crashed = 0, [], []
    retry = []
    for lines, result in zip(grouped, results):
        if result.get("crashed"):
            retry.extend(lines)  # each line again, alone
            continue
        judged += len(lines)
        problems.extend(line_disagreements(solver, defs, lines, result))
    if retry:
        alone = [(line + "\n").encode("utf-8", "surrogateescape") for line in retry]
        _, results = optreader_oracle.judge_files(solver, alone)
        for line, result in zip(retry, results):
            if result.get("crashed"):
                crashed.append(line)
                continue
            judged += 1
            problems.extend(line_disagreements(solver, defs, [line], result))
    return judged, problems, crashed


def line_disagreements(solver, defs, lines, result):
    """One text per line where optdef and GAMS's reader disagree."""
    ignored = optreader_oracle.ignored_lines(result, len(lines))
    reasons = optreader_oracle.first_reasons(result)
    errors = {}
    for finding in optdef.check_option_lines(lines, defs, solver.upper()):
        if finding.severity == optdef.ERROR:
            errors.setdefault(finding.line, finding)
    problems = []
    where = " (line %%d of %r)" % (lines,) if len(lines) > 1 else "%.0s"
    for number, line in enumerate(lines, 1):
        ours = errors.get(number)
        if number in ignored and ours is None:
            problems.append("%r: GAMS ignores it (%s), optdef does not%s"
                            % (line, reasons.get(number, "no line given"), where % number))
        elif ours is not None and number not in ignored:
            if not silently_dropped(solver, ours, lines[:number], defs):
                problems.append("%r: optdef says %r, GAMS reads it%s"
                                % (line, ours.message, where % number))
        elif ours is not None and number in reasons \
                and gams_code(reasons[number]) != ours.code \
                and (gams_code(reasons[number]), ours.code) not in SAME_SUBSTANCE:
            problems.append("%r: GAMS says %r, optdef %r (%s)%s" % (
                line, reasons[number], ours.message, ours.code, where % number))
    return problems


def silently_dropped(solver, finding, lines, defs):
    """True when GAMS said nothing but did not take the value either (see optdef).

    After ``nobounds``, GAMS 54.6.1 drops a value that is not in an enumstr
    option's list without a message: the option is then not set, or set to
    an empty text, or the reader crashes (SIGSEGV: ``nobounds 1`` then
    ``rerun 1e3`` does it every time).  The file up to that line, read
    again, shows which.
    """
    if finding.code != optdef.ENUM or "nobounds" not in finding.message:
        return False
    option = defs.resolve(finding.name)
    if option is None or option.kind != "enumstr":
        return False
    text = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    result = optreader_oracle.judge_files(solver, [text])[1][0]
    if result.get("crashed"):
        return True
    taken = [value for name, _, _, value in result["defined"]
             if name.lower() == option.name.lower()]
    return not taken or taken[-1].lower() not in [each.lower() for each in option.values]


# -- real option files -------------------------------------------------------------

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "optfiles")


def corpus_files():
    """(solver, path) of every real option file (tests/fixtures/optfiles/README.md)."""
    found = []
    for folder, _, names in sorted(os.walk(CORPUS)):
        for name in sorted(names):
            if name.lower().endswith(".opt"):
                solver = "gurobi" if name.lower().startswith("gurobi") else "cplex"
                found.append((solver, os.path.join(folder, name)))
    return found


@pytest.mark.parametrize("solver", SOLVERS)
def test_real_option_files_agree_with_gams(solver, def_files):
    from times_doctor.solvers.profiles import read_option_file
    chosen = [path for each, path in corpus_files() if each == solver]
    assert chosen, "no %s files in %s" % (solver, CORPUS)
    defs = optdef.read_def_file(def_files[solver])
    # GAMS reads the file the scan writes: the lines, "\n" after each.
    grouped = [read_option_file(path) for path in chosen]
    files = [("\n".join(lines) + "\n").encode("utf-8", "surrogateescape") for lines in grouped]
    judged, problems, crashed = compare(solver, defs, files, grouped)
    assert judged == sum(len(lines) for lines in grouped) and not crashed
    assert not problems, "\n".join(problems)


def test_veda_barrier_profiles_are_read_whole_but_one_line(def_files):
    """What GAMS 54.6.1 says of TIMES-NZ's profiles, optdef says: all read, but one line."""
    from times_doctor.solvers.profiles import read_option_file
    defs = optdef.read_def_file(def_files["cplex"])
    errors = {}
    for solver, path in corpus_files():
        if solver == "cplex":
            for finding in optdef.check_option_lines(read_option_file(path), defs, "CPLEX",
                                                     threads_line="threads 7"):
                if finding.severity == optdef.ERROR:
                    errors.setdefault(os.path.basename(path), []).append(
                        (finding.line, finding.code, finding.message))
    assert errors == {"BS121-7.opt": [(11, optdef.UNKNOWN, "unknown CPLEX option "
                                       "'finalfactor': did you mean 'refactor'? (GAMS ignores "
                                       "the line)")]}
