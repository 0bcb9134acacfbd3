"""What GAMS itself prints about a job, as comparable records: for the stand-in-vs-GAMS tests.

``framing(log_text)`` keeps GAMS's own lines of a log (job start and stop, the
parameter block, compilation, generation with the model's size and range
statistics, the solver link's lines, statuses) and drops the solver engine's
lines; ``listing_fields(lst_text)`` reads the fields of a listing that
times-doctor and a person read.  Both drop dates, elapsed times, timings and
directories, and keep the numbers that are facts of the model.

Every line of a log that starts with ``--- `` or ``*** `` and is not in the
table below becomes an ``("unrecognised", line)`` record, so a framing line
that one side prints and the other does not, or prints in another format,
shows up in a comparison instead of passing unseen.  The patterns are copied
from the GAMS 54.6.1 captures in tests/fixtures, spacing included.

Standard library only, Python 3.6 syntax: every test leg imports this.
"""

import datetime
import os
import random
import re
import shutil
import subprocess
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
FIXTURES_DIR = os.path.join(TESTS_DIR, "fixtures")
FIXTURE_MODELS_DIR = os.path.join(FIXTURES_DIR, "models_for_fixtures")
LICENCE_STOP = datetime.date(2026, 11, 26)  # "Time-limited license stops working on"

# Where the stand-in legitimately differs from GAMS 54.6.1, in one place.  The tests
# assert each entry (that GAMS printed the line and the stand-in did not, or what the
# stand-in printed instead), so an entry cannot hide a difference it does not describe.
#
# Lines of GAMS's modelling object (GMO) and of its CPLEX link about their own memory:
# the stand-in has neither (it hands the solver an MPS file), so it prints none of them.
REAL_ONLY_KINDS = ("gmo_setup", "names_space", "names_hint", "gmo_memory",
                   "dictionary_memory", "link_memory")
# Lines both print, with contents that say who is running: the stand-in must not claim
# GAMS's licensee, copyright or its demo licence for CPLEX.  kind -> (GAMS, stand-in).
IDENTITY_VALUES = {
    "licensee": ("GAMS", "stand-in"),
    "identification": ("GAMS", "stand-in"),
    "solver_licence": ("GAMS", "stand-in"),  # GAMS's: its demo licence's notice
}
# The CPLEX engine under the stand-in is the PyPI build of 22.2.0.0: the same version
# as GAMS's, built on another date, so its "Version identifier" keeps only the version.
#
# `gams` alone (tests/fixtures/gams_expired/noargs.txt): the lines of the real banner
# that name GAMS's vendor and show its licence.  The stand-in is neither and has no
# licence: it prints one line of its own for the vendor's two and for the licence's
# content, and nothing for "Licensed platform", which is part of the licence.
BANNER_VENDOR = ["*** GAMS Development Corporation", "*** support@gams.com, www.gams.com"]
BANNER_STANDIN = ["*** (GAMS stand-in for the times-doctor tests: not GAMS)"]
BANNER_LICENCE_END = "***"  # the licence content runs from "*** License" to this line
BANNER_LICENSED_PLATFORM = "*** Licensed platform                             : Generic platforms"

_STAMP = r"\d\d/\d\d/\d\d \d\d:\d\d:\d\d"
_ELAPSED = r"elapsed \d+:\d\d:\d\d\.\d{3}"
# Any release in the two lines a licensed GAMS of another release prints too; the job's
# "Start" line keeps the release, which the stand-in claims (54.6.1).
_BANNER_TAIL = r"\d+\.\d+\.\d+ \w+ \w{3} \d\d, \d{4} +LEG x86 64bit/Linux"


def _ints(*groups):
    return tuple(int(group.replace(",", "")) for group in groups)


# (kind, pattern, value of the match).  Order matters only where patterns overlap.
_PATTERNS = [
    ("job_start", r"--- Job (\S+) Start %s (.+)" % _STAMP, lambda m: (m.group(1), m.group(2))),
    ("job_stop", r"--- Job (\S+) Stop %s %s" % (_STAMP, _ELAPSED), lambda m: m.group(1)),
    ("applying", r"--- Applying:", None),
    ("parameters", r"--- GAMS Parameters defined", None),
    ("licensee", r"Licensee: (.+)",
     lambda m: "stand-in" if m.group(1).startswith("GAMS stand-in ") else "GAMS"),
    ("system_information",
     r"System information: \d+ physical cores and \d+ Gb physical memory detected", None),
    ("identification",
     r"GAMS \d+\.\d+\.\d+   Copyright \(C\) 1987-\d{4} GAMS Development\. All rights reserved",
     lambda m: "GAMS"),
    ("identification", r"GAMS stand-in \(tests/gams_standin\): real solvers, no GAMS compiler",
     lambda m: "stand-in"),
    ("compilation", r"--- Starting compilation", None),
    ("execution", r"--- Starting execution: %s" % _ELAPSED, None),
    ("executing_after_solve", r"--- Executing after solve: %s" % _ELAPSED, None),
    ("progress", r"--- \S+\(\d+\) \d+ Mb", None),  # dropped: GAMS's memory use per line
    ("generating", r"--- Generating (\w+) model (\S+)", lambda m: (m.group(1), m.group(2))),
    ("size", r"---   ([\d,]+) rows  ([\d,]+) columns  ([\d,]+) non-zeroes",
     lambda m: _ints(*m.groups())),
    ("discrete", r"---   ([\d,]+) discrete-columns", lambda m: _ints(m.group(1))[0]),
    ("range_header", r"--- Range statistics \(absolute non-zero finite values\)", None),
    ("range", r"--- (RHS|Bound|Matrix) +\[min, max\] : (\[[ \d.E+-]{10},[ \d.E+-]{10}\]|"
              r"\[        NA,        NA\])( - Zero values observed as well)?",
     lambda m: (m.group(1), m.group(2), bool(m.group(3)))),
    ("demo_limit", r"\*\*\* The model exceeds the demo license limits for linear models of "
                   r"more than 2000 rows or columns", None),
    ("executing", r"--- Executing (\w+) \(Solvelink=(\d)\): %s" % _ELAPSED,
     lambda m: (m.group(1), int(m.group(2)))),
    ("solver_banner", r"(?=.{17}\d)(IBM ILOG CPLEX|Gurobi|HiGHS) +" + _BANNER_TAIL,
     lambda m: m.group(1).strip()),
    ("solver_licence", r"\*\*\* This solver runs with a demo license\. No commercial use\.",
     lambda m: "GAMS"),
    ("solver_licence", r"\*\*\* GAMS stand-in \(times-doctor tests\): the real \w+, .+",
     lambda m: "stand-in"),
    ("option_file", r"--- Reading option file '(.+)':", lambda m: os.path.basename(m.group(1))),
    ("setting", r"--- Setting '(\w+)': (.+)", lambda m: (m.group(1), m.group(2))),
    ("gmo_setup", r"--- GMO setup time: [\d.]+s", None),
    ("names_space", r"--- Space for names approximately [\d.]+ Mb", None),
    ("names_hint", r"--- Use option 'names no' to turn use of names off", None),
    ("gmo_memory", r"--- GMO memory [\d.]+ Mb \(peak [\d.]+ Mb\)", None),
    ("dictionary_memory", r"--- Dictionary memory [\d.]+ Mb", None),
    ("link_memory", r"--- Cplex [\d.]+ link memory [\d.]+ Mb \(peak [\d.]+ Mb\)", None),
    ("starting_solver", r"--- Starting (\w+)", lambda m: m.group(1)),
    ("engine_version", r"Version identifier: (\S+) \| \d{4}-\d\d-\d\d \| \w+",
     lambda m: m.group(1)),
    ("solve_status", r"--- (LP|MIP) status \((\d+)\): (.+)\.",
     lambda m: (m.group(1), int(m.group(2)), m.group(3))),
    ("cplex_time", r"--- Cplex Time: [\d.]+sec \(det\. [\d.]+ ticks\)", None),
    ("outcome", r"(Optimal solution found|Proven optimal solution|Model has been proven "
                r"infeasible|Solution returned|No solution returned)", lambda m: m.group(1)),
    ("objective", r"Objective:(?=.{20}$) *(-?\d+\.\d{6})", lambda m: float(m.group(1))),
    ("mip_solution", r"MIP Solution:(?=.{20}    \() *(-?\d+\.\d{6})    \(([\d.e+]+) iterations, "
                     r"\d+ nodes\)", lambda m: float(m.group(1))),
    ("best_possible", r"Best possible:(?=.{19}$) *(-?\d+\.\d{6})", lambda m: float(m.group(1))),
    ("absolute_gap", r"Absolute gap:(?=.{20}$) *(-?\d+\.\d{6})", lambda m: float(m.group(1))),
    ("relative_gap", r"Relative gap:(?=.{20}$) *(-?\d+\.\d{6})", lambda m: float(m.group(1))),
    ("solver_error", r"\*\*\* CPLEX Error (.+)", lambda m: m.group(1)),
    ("reading_solution", r"--- Reading solution for model (\S+)", lambda m: m.group(1)),
    ("no_marginals", r"--- Solver did not provide marginals for model (\S+)",
     lambda m: m.group(1)),
    ("marginals_hint", r"--- To request marginals from the solver set option "
                       r"requestMarginals >= 1", None),
    ("licence_expired", r"\*\*\* Time-limited license expired (\d+) days ago",
     lambda m: int(m.group(1))),
    ("status", r"\*\*\* Status: (.+)", lambda m: m.group(1)),
    ("licence_file", r"\*\*\*         License file: (.+)", lambda m: os.path.basename(m.group(1))),
    ("inspect_listing", r"\*\*\*         Inspect listing file for more information\.", None),
]
_COMPILED = [(kind, re.compile(pattern + r"\Z"), value) for kind, pattern, value in _PATTERNS]
# Blocks whose indented lines belong to the record before them.
_BLOCK_INDENT = {"applying": "    ", "parameters": "    ", "licensee": "          ",
                 "demo_limit": "    "}


def framing(log_text):
    """The GAMS framing records of a log, in order: a list of (kind, value) tuples.

    ``parameters`` holds the names under "--- GAMS Parameters defined" as a
    tuple, in order; ``applying`` the file's base name; ``demo_limit`` the
    text of its continuation lines; ``range`` (name, text, zero values seen).
    Lines that are the solver engine's are not records; ``progress`` lines
    (GAMS's memory use at a source line) are dropped.
    """
    records = []
    block = None
    for raw in log_text.splitlines():
        line = raw.rstrip()
        if block is not None and line.startswith(_BLOCK_INDENT[block]) and line.strip():
            _extend_block(records, block, line.strip())
            continue
        block = None
        record = _match(line)
        if record is None:
            if line.startswith(("--- ", "*** ")):
                records.append(("unrecognised", line))
            continue
        if record[0] == "progress":
            continue
        records.append(record)
        if record[0] in _BLOCK_INDENT:
            block = record[0]
    return records


def _match(line):
    for kind, pattern, value in _COMPILED:
        match = pattern.match(line)
        if match:
            if kind in ("parameters", "demo_limit"):
                return (kind, ())
            return (kind, value(match) if value else None)
    return None


def _extend_block(records, block, text):
    kind, value = records[-1]
    if block == "parameters":
        records[-1] = (kind, value + (text.split()[0],))
    elif block == "applying":
        records[-1] = (kind, os.path.basename(text))
    elif block == "demo_limit":
        records[-1] = (kind, value + (text,))
    # licensee: the licence's own lines, which say whose licence it is: not compared


def kinds(records):
    return [kind for kind, _ in records]


def comparable(records):
    """*records* without REAL_ONLY_KINDS and with the IDENTITY_VALUES values blanked."""
    return [(kind, None if kind in IDENTITY_VALUES else value)
            for kind, value in records if kind not in REAL_ONLY_KINDS]


def without_numbers(records, keep_ranges=()):
    """*records* with the data-dependent numbers dropped: for a matrix of the same shape
    but other numbers.  ``size``, ``discrete`` and the ``range`` lines named in
    *keep_ranges* are kept; other range lines keep their name and zero flag;
    objective values and gaps are dropped."""
    result = []
    for kind, value in records:
        if kind == "range" and value[0] not in keep_ranges:
            value = (value[0], "[number, number]" if "NA" not in value[1] else value[1],
                     value[2])
        elif kind in ("objective", "mip_solution", "best_possible", "absolute_gap",
                      "relative_gap"):
            value = "number"
        result.append((kind, value))
    return result


def first_solve(records):
    """Records of a log up to the first solve's end, then the job's end (status, stop).

    For two_solves: the stand-in executes only a driver's first solve statement.
    """
    reading = kinds(records).index("reading_solution")
    status = kinds(records).index("status")
    return records[:reading + 1] + records[status:]


# --- listings -----------------------------------------------------------------------------

_SOLVE_FIELDS = [
    ("model", r"     MODEL   (\S+) +OBJECTIVE  (\S+)", lambda m: (m.group(1), m.group(2))),
    ("type", r"     TYPE    (\S+) +DIRECTION  (\S+)", lambda m: (m.group(1), m.group(2))),
    ("solver", r"     SOLVER  (\S+) +FROM LINE  (\d+)", lambda m: (m.group(1), int(m.group(2)))),
    ("solver_status", r"\*\*\*\* SOLVER STATUS     (\d+) (.+)",
     lambda m: (int(m.group(1)), m.group(2))),
    ("model_status", r"\*\*\*\* MODEL STATUS      (\d+) (.+)",
     lambda m: (int(m.group(1)), m.group(2))),
    ("objective", r"\*\*\*\* OBJECTIVE VALUE +(-?\d+\.\d{4})", lambda m: float(m.group(1))),
    ("iteration_count", r" ITERATION COUNT, LIMIT +(\d+) +\d+", lambda m: int(m.group(1))),
]
_STATISTICS = re.compile(r"(SINGLE EQUATIONS|SINGLE VARIABLES|NON ZERO ELEMENTS|"
                         r"DISCRETE VARIABLES) +([\d,]+)")
_RANGE = re.compile(r"(RHS|Bound|Matrix) +\[min, max\] : (\[.{10},.{10}\])"
                    r"( - Zero values observed as well)?\Z")
_INCLUDE_ROW = re.compile(r" +\d+ +\d+ (\w+) +(\d+) +(\d+) +(\d+)  (.+)\Z")
_LICENSING = re.compile(r"\*\*\*\* (The model exceeds the demo license limits.*|Terminated due "
                        r"to a licensing error|License file: .+|Current license content:)\Z")


def listing_fields(lst_text):
    """The fields of a GAMS listing, with directories and timings dropped.

    Returns a dict: ``solves`` (one dict per SOLVE SUMMARY, keys of
    _SOLVE_FIELDS; ``objective`` and ``iteration_count`` only when present),
    ``range_statistics`` (one list of (name, text, zero seen) per model),
    ``model_statistics`` (one dict per model), ``includes`` (Include File
    Summary rows: type, parent, local line, level, base name), ``report_summary``
    ((NONOPT, INFEASIBLE, UNBOUNDED) counts, or None), ``file_summary`` (bool)
    and ``licensing`` (the licensing error lines, file names as base names).
    """
    fields = {"solves": [], "range_statistics": [], "model_statistics": [], "includes": [],
              "report_summary": None, "file_summary": False, "licensing": []}
    section = None
    report = []
    for raw in lst_text.splitlines():
        line = raw.rstrip()
        if line.startswith("               S O L V E      S U M M A R Y"):
            fields["solves"].append({})
            section = "solve"
        elif line == "RANGE STATISTICS (ABSOLUTE NON-ZERO FINITE VALUES)":
            fields["range_statistics"].append([])
            section = "range"
        elif line == "MODEL STATISTICS":
            fields["model_statistics"].append({})
            section = "model"
        elif line.startswith("   SEQ   GLOBAL TYPE      PARENT   LOCAL  INCLVL  FILENAME"):
            section = "include"
        elif line.startswith("**** REPORT SUMMARY :"):
            section = "report"
            report = [line]
        elif line == "**** FILE SUMMARY":
            fields["file_summary"] = True
        elif _LICENSING.match(line):
            text = _LICENSING.match(line).group(1)
            if text.startswith("License file: "):
                text = "License file: " + os.path.basename(text[len("License file: "):])
            fields["licensing"].append(text)
        elif section == "solve":
            for key, pattern, value in _SOLVE_FIELDS:
                match = re.match(pattern + r"\Z", line)
                if match:
                    fields["solves"][-1][key] = value(match)
        elif section == "range" and _RANGE.match(line):
            match = _RANGE.match(line)
            fields["range_statistics"][-1].append(
                (match.group(1), match.group(2), bool(match.group(3))))
        elif section == "model":
            for name, number in _STATISTICS.findall(line):
                fields["model_statistics"][-1][name] = int(number.replace(",", ""))
        elif section == "include" and _INCLUDE_ROW.match(line):
            match = _INCLUDE_ROW.match(line)
            fields["includes"].append((match.group(1), int(match.group(2)), int(match.group(3)),
                                       int(match.group(4)), os.path.basename(match.group(5))))
        elif section == "report" and line.strip():
            report.append(line)
    if report:
        fields["report_summary"] = _report_counts(report)
    return fields


def _report_counts(lines):
    counts = {}
    for line in lines:
        match = re.search(r"(\d+) +(NONOPT|INFEASIBLE|UNBOUNDED)\b", line)
        if match:
            counts[match.group(2)] = int(match.group(1))
    return tuple(counts.get(name) for name in ("NONOPT", "INFEASIBLE", "UNBOUNDED"))


# --- running a job ------------------------------------------------------------------------

def run_job(gams, work_dir, model, name, options=None, args=(), env_extra=None, timeout=300):
    """Run *model* (a file in *work_dir*) the way capture.sh does; return (rc, log, lst).

    ``gams MODEL lo=2 lf=NAME_run_log.txt o=NAME.lst ARGS``, with cplex.opt
    holding *options* when given.  The stand-in's licence mode comes from
    *env_extra* only, never from the caller's environment.
    """
    if options is not None:
        with open(os.path.join(work_dir, "cplex.opt"), "w") as handle:
            handle.write(options)
    env = dict(os.environ)
    env.pop("TD_STANDIN_LICENCE", None)
    env.update(env_extra or {})
    command = [gams, model, "lo=2", "lf=%s_run_log.txt" % name, "o=%s.lst" % name] + list(args)
    proc = subprocess.Popen(command, cwd=work_dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output = proc.communicate(timeout=timeout)[0].decode("utf-8", "replace")
    log = read_text(os.path.join(work_dir, "%s_run_log.txt" % name))
    assert log, "%s wrote no log; its output:\n%s" % (gams, output)
    return proc.returncode, log, read_text(os.path.join(work_dir, "%s.lst" % name))


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def captured(name):
    """(log, lst) of the real GAMS 54.6.1 capture *name* (tests/fixtures/{logs,lst})."""
    return (read_text(os.path.join(FIXTURES_DIR, "logs", name + "_run_log.txt")),
            read_text(os.path.join(FIXTURES_DIR, "lst", name + ".lst")))


def copy_fixture_model(model, work_dir):
    shutil.copy(os.path.join(FIXTURE_MODELS_DIR, model), work_dir)


# --- matrices for the stand-in --------------------------------------------------------------

def _linear_program_class():
    """make_mps.LinearProgram: the writer of the checked-in MPS files (tests/models)."""
    sys.path.insert(0, os.path.join(TESTS_DIR, "models"))
    try:
        import make_mps
    finally:
        sys.path.pop(0)
    return make_mps.LinearProgram, make_mps.INF


def write_transport_mps(path, sources=40, sinks=40, ties=False, infeasible=False, seed=4242):
    """transport.gms's matrix, with Python's random numbers in place of GAMS's.

    Same statements, distributions and shape as tests/fixtures/models_for_fixtures/
    transport.gms: GAMS's ``uniform`` under ``option seed`` cannot be reproduced,
    so the numbers (and the optimal objective) differ.  Returns (rows, columns,
    non-zeroes) as GAMS counts them.
    """
    linear_program, infinity = _linear_program_class()
    rng = random.Random(seed)
    plants = ["s%d" % number for number in range(1, sources + 1)]
    markets = ["d%d" % number for number in range(1, sinks + 1)]
    supply = dict((plant, rng.uniform(50, 150)) for plant in plants)
    demand = dict((market, rng.uniform(40, 120)) for market in markets)
    ratio = 1.05 if infeasible else 0.95
    total_supply, total_demand = sum(supply.values()), sum(demand.values())
    for market in markets:
        demand[market] = demand[market] * ratio * total_supply / total_demand
    cost = {}
    for plant in plants:
        for market in markets:
            cost[plant, market] = rng.randint(1, 3) if ties else rng.uniform(1, 100)
    lp = linear_program("transport", "z")
    for plant in plants:
        for market in markets:
            lp.add_column("x(%s,%s)" % (plant, market))
    lp.add_column("z", lower=-infinity)
    lp.add_row("obj", "E", [("z", 1.0)] + [("x(%s,%s)" % key, -cost[key]) for key in
                                            sorted(cost)], 0.0)
    for plant in plants:
        lp.add_row("sup(%s)" % plant, "L",
                   [("x(%s,%s)" % (plant, market), 1.0) for market in markets], supply[plant])
    for market in markets:
        lp.add_row("dem(%s)" % market, "G",
                   [("x(%s,%s)" % (plant, market), 1.0) for plant in plants], demand[market])
    _write(path, lp, "transport.gms, Python random numbers (seed %d)" % seed)
    return lp.counts()[:3]


def write_randlp_mps(path, rows, columns, nonzeros, seed=12345):
    """A matrix of randlp.gms's shape with exactly *rows*, *columns* and *nonzeros*.

    randlp.gms: ``row(i) =g= b(i)`` with a random sparse matrix and a diagonal,
    a budget row ``total =l= 5000``, the objective-defining row, half the
    columns bounded by 10.  The numbers are Python's; the counts are the ones
    given (GAMS's, read from a capture).
    """
    linear_program, infinity = _linear_program_class()
    rng = random.Random(seed)
    n_rows, n_cols = rows - 2, columns - 1  # row(i), x(j); besides: obj, total, z
    off_diagonal = nonzeros - (n_cols + 1) - n_cols - n_rows  # obj row, total, diagonal
    entries = dict(((i, i), rng.uniform(0.5, 2)) for i in range(min(n_rows, n_cols)))
    while len(entries) < off_diagonal + min(n_rows, n_cols):
        key = (rng.randrange(n_rows), rng.randrange(n_cols))
        if key not in entries:
            entries[key] = rng.choice((-1, 1)) * rng.uniform(1e-4, 1)
    lp = linear_program("randlp", "z")
    for j in range(n_cols):
        lp.add_column("x(c%d)" % (j + 1), upper=10.0 if rng.random() < 0.5 else infinity)
    lp.add_column("z", lower=-infinity)
    lp.add_row("obj", "E", [("z", 1.0)] + [("x(c%d)" % (j + 1), -rng.uniform(-1, 1) or 0.5)
                                            for j in range(n_cols)], 0.0)
    by_row = {}
    for (i, j), value in sorted(entries.items()):
        by_row.setdefault(i, []).append(("x(c%d)" % (j + 1), value))
    for i in range(n_rows):
        lp.add_row("row(r%d)" % (i + 1), "G", by_row.get(i, []), rng.uniform(0.01, 5))
    lp.add_row("total", "L", [("x(c%d)" % (j + 1), 1.0) for j in range(n_cols)], 5000.0)
    _write(path, lp, "randlp.gms's shape, Python random numbers (seed %d)" % seed)
    return lp.counts()[:3]


def _write(path, lp, what):
    with open(path, "w") as handle:
        handle.write(lp.mps(["%s: written by tests/gams_conformance.py" %
                             os.path.basename(path), "The matrix of " + what]))


# --- the expired licence --------------------------------------------------------------------

def normalise_expired(text, sysdir, work_dir):
    """A log of GAMS (or the stand-in) refusing for its expired licence, made comparable.

    Dates, elapsed times, the system directory, the work directory and "N days
    ago" become placeholders; trailing blanks go (GAMS pads some banner lines).
    """
    lines = []
    for line in text.splitlines():
        line = re.sub(_STAMP, "DATE", line.rstrip())
        line = re.sub(_ELAPSED, "elapsed TIME", line)
        line = line.replace(sysdir, "SYSDIR/")
        line = line.replace(work_dir.rstrip("/") + "/", "WORK/")
        line = re.sub(r"expired \d+ days ago", "expired N days ago", line)
        lines.append(line)
    return lines
