"""The GAMS stand-in against the real GAMS 54.6.1: the same framing, listing fields, statuses.

Three layers.  The helpers (tests/gams_conformance.py) read the captured real
logs and listings exactly.  The stand-in runs the captured scenarios
(tests/fixtures/models_for_fixtures/capture.sh: same .gms, cplex.opt and
GAMS arguments) and what GAMS prints must come out the same: always, whichever
GAMS the rest of the suite is under.  With a licensed real GAMS, both run the
same jobs side by side.  Where the stand-in legitimately differs, the
difference is listed once, in gams_conformance.py (REAL_ONLY_KINDS,
IDENTITY_VALUES, BANNER_*), and asserted.

What the stand-in cannot reproduce, and so is not compared:
* GAMS's random numbers (``uniform`` under ``option seed``): transport.gms and
  randlp.gms draw their data, so the stand-in's matrices have the captured
  shape and distributions but other numbers, and another optimum;
* the transport captures' solve under CPLEX: their matrix has 1,601 columns,
  and CPLEX Community Edition (the stand-in's CPLEX) refuses more than 1,000
  (error 1016).  Their framing is compared up to "--- Starting Cplex" on the
  captured shape, and as a whole on the same model at 20 x 20 (401 columns);
* a driver's second solve: the stand-in compiles no GAMS, so it executes the
  first solve statement only (two_solves is compared on its first solve).
"""

import datetime
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from gams_conformance import (BANNER_LICENCE_END, BANNER_LICENSED_PLATFORM, BANNER_STANDIN,
                              BANNER_VENDOR, IDENTITY_VALUES, LICENCE_STOP, REAL_ONLY_KINDS,
                              captured,
                              comparable, copy_fixture_model, first_solve, framing, kinds,
                              listing_fields, normalise_expired, read_text, run_job,
                              without_numbers, write_randlp_mps, write_transport_mps)
from gams_select import STANDIN_DIR, process_role
from proc_helpers import format_tree, process_tree, session_pids, wait_until

LINUX = sys.platform.startswith("linux")
EXPIRED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                           "gams_expired")
# Where tests/fixtures/gams_expired was captured (its README): GAMS's system directory
# and the capture script's OUTDIR.
EXPIRED_SYSDIR = "/work/main/.venv/lib/python3.11/site-packages/gamspy_base/"
EXPIRED_WORK = "/tmp/gcap2"

# name (capture), cplex.opt, GAMS arguments, write_transport_mps keywords, range lines
# whose numbers do not depend on the random data.
TRANSPORT_SCENARIOS = [
    ("cplex_infeasible", "lpmethod 2\nthreads 1\n", ["--INFEASIBLE=1"],
     {"infeasible": True}, ("Bound",)),
    ("cplex_barrier_crossover", "lpmethod 4\nthreads 1\n", ["--TIES=1"], {"ties": True},
     ("Bound", "Matrix")),
    ("cplex_barrier_dualcrossover", "lpmethod 4\nthreads 1\nbarcrossalg 2\n", ["--TIES=1"],
     {"ties": True}, ("Bound", "Matrix")),
]
SMALL = 20  # sources and sinks of the transport model CPLEX Community Edition can solve


def assert_conformant(real, standin, relative=1e-6):
    """The stand-in's framing records are the real ones, but for the listed differences."""
    assert "unrecognised" not in kinds(real), [r for r in real if r[0] == "unrecognised"]
    assert "unrecognised" not in kinds(standin), [r for r in standin if r[0] == "unrecognised"]
    assert not set(REAL_ONLY_KINDS) & set(kinds(standin))
    for kind, (real_value, standin_value) in IDENTITY_VALUES.items():
        assert [value for k, value in real if k == kind] == \
            [real_value] * kinds(real).count(kind)
        assert [value for k, value in standin if k == kind] == \
            [standin_value] * kinds(standin).count(kind)
    expected, got = comparable(real), comparable(standin)
    assert_same(expected, got, relative)


def assert_same(expected, got, relative=1e-6):
    """``got == expected``, floats within *relative* (pytest shows the diff on failure)."""
    if len(expected) == len(got):
        got = [(kind, want if _close(want, value, relative) else value)
               for (_, want), (kind, value) in zip(expected, got)]
    assert got == expected


def _close(want, value, relative):
    if isinstance(want, float) and isinstance(value, float):
        return abs(value - want) <= relative * max(abs(want), 1e-12)
    return False


def shape_only(records):
    """Framing records with the model's size dropped too: for a smaller matrix."""
    return [(kind, "size" if kind in ("size", "discrete") else value)
            for kind, value in without_numbers(records)]


def until_solver_starts(records):
    return records[:kinds(records).index("starting_solver") + 1]


def solve_fields(fields, keys=("model", "type", "solver", "solver_status", "model_status")):
    return [dict((key, solve.get(key)) for key in keys) for solve in fields["solves"]]


def ranges_without_numbers(fields, keep=()):
    return [[(name, text if name in keep or "NA" in text else "numbers", zero)
             for name, text, zero in page] for page in fields["range_statistics"]]


def report_shape(fields):
    """REPORT SUMMARY as (NONOPT, any INFEASIBLE, UNBOUNDED): the count of infeasible
    rows needs the row activities, which the stand-in does not compute."""
    summary = fields["report_summary"]
    return None if summary is None else (summary[0], summary[1] > 0, summary[2])


def run_standin_capture(standin, tmp_path, name, model, options, args, mps_writer):
    """A capture.sh run of *model* under the stand-in, with the MPS *mps_writer* writes."""
    work = str(tmp_path / name)
    os.makedirs(work)
    copy_fixture_model(model, work)
    counts = mps_writer(os.path.join(work, os.path.splitext(model)[0] + ".mps"))
    rc, log, lst = run_job(standin, work, model, name, options, args)
    return rc, log, lst, counts


# --- the helpers on the real captures -----------------------------------------------------

def test_framing_of_the_infeasible_capture():
    log, _ = captured("cplex_infeasible")
    assert framing(log) == [
        ("job_start", ("transport.gms", "54.6.1 20a39885 LEX-LEG x86 64bit/Linux")),
        ("applying", "gmsprmun.txt"),
        ("parameters", ("Input", "Output", "ScrDir", "SysDir", "LogOption", "LogFile",
                        "AppendLog", "--INFEASIBLE")),
        ("licensee", "GAMS"), ("system_information", None), ("identification", "GAMS"),
        ("compilation", None), ("execution", None), ("generating", ("LP", "transport")),
        ("size", (81, 1601, 4801)), ("range_header", None),
        ("range", ("RHS", "[ 5.196E+01, 1.476E+02]", True)),
        ("range", ("Bound", "[        NA,        NA]", True)),
        ("range", ("Matrix", "[ 1.000E+00, 9.987E+01]", False)),
        ("executing", ("CPLEX", 2)), ("solver_banner", "IBM ILOG CPLEX"),
        ("solver_licence", "GAMS"), ("option_file", "cplex.opt"),
        ("setting", ("lpmethod", "2")), ("setting", ("threads", "1")),
        ("gmo_setup", None), ("names_space", None), ("names_hint", None), ("gmo_memory", None),
        ("dictionary_memory", None), ("link_memory", None), ("starting_solver", "Cplex"),
        ("engine_version", "22.2.0.0"), ("solve_status", ("LP", 3, "infeasible")),
        ("cplex_time", None), ("outcome", "Model has been proven infeasible"),
        ("reading_solution", "transport"), ("status", "Normal completion"),
        ("job_stop", "transport.gms")]


def test_listing_fields_of_the_infeasible_capture():
    _, lst = captured("cplex_infeasible")
    assert listing_fields(lst) == {
        "solves": [{"model": ("transport", "z"), "type": ("LP", "MINIMIZE"),
                    "solver": ("CPLEX", 26), "solver_status": (1, "Normal Completion"),
                    "model_status": (4, "Infeasible"), "objective": 27830.5082,
                    "iteration_count": 111}],
        "range_statistics": [[("RHS", "[ 5.196E+01, 1.476E+02]", True),
                              ("Bound", "[        NA,        NA]", True),
                              ("Matrix", "[ 1.000E+00, 9.987E+01]", False)]],
        "model_statistics": [{"SINGLE EQUATIONS": 81, "SINGLE VARIABLES": 1601,
                              "NON ZERO ELEMENTS": 4801}],
        "includes": [], "report_summary": (0, 18, 0), "file_summary": True, "licensing": []}


@pytest.mark.parametrize("name", sorted(
    os.path.basename(path)[:-len("_run_log.txt")] for path in
    os.listdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "logs"))
    if path.startswith(("cplex_", "two_solves"))))
def test_every_framing_line_of_the_cplex_captures_is_known(name):
    """The patterns cover GAMS's lines in every CPLEX capture, and the log's objective is
    the listing's (to its 4 decimals) wherever GAMS printed both."""
    log, lst = captured(name)
    records = framing(log)
    assert [r for r in records if r[0] == "unrecognised"] == []
    objectives = [value for kind, value in records if kind in ("objective", "mip_solution")]
    listed = [solve["objective"] for solve in listing_fields(lst)["solves"]
              if "objective" in solve and solve["model_status"][0] != 4]
    assert listed == pytest.approx(objectives, abs=5e-5)


# --- the stand-in against the captures ----------------------------------------------------

@pytest.mark.parametrize("name,options,args,data,exact_ranges", TRANSPORT_SCENARIOS,
                         ids=[scenario[0] for scenario in TRANSPORT_SCENARIOS])
def test_transport_capture_shape_until_cplex_starts(standin, tmp_path, name, options, args,
                                                    data, exact_ranges):
    rc, log, lst, counts = run_standin_capture(
        standin, tmp_path, name, "transport.gms", options, args,
        lambda path: write_transport_mps(path, **data))
    real_log, real_lst = captured(name)
    real, got = framing(real_log), framing(log)
    assert rc == 0, log
    assert counts == (81, 1601, 4801)
    assert_conformant(until_solver_starts(without_numbers(real, exact_ranges)),
                      until_solver_starts(without_numbers(got, exact_ranges)))
    # CPLEX Community Edition refuses the 1,601 columns: the solve is compared below.
    assert "1016" in dict(got)["solver_error"]
    fields, real_fields = listing_fields(lst), listing_fields(real_lst)
    assert solve_fields(fields, ("model", "type", "solver")) == \
        solve_fields(real_fields, ("model", "type", "solver"))
    assert fields["model_statistics"] == real_fields["model_statistics"]
    assert ranges_without_numbers(fields, exact_ranges) == \
        ranges_without_numbers(real_fields, exact_ranges)


@pytest.mark.parametrize("name,options,args,data,exact_ranges", TRANSPORT_SCENARIOS,
                         ids=[scenario[0] for scenario in TRANSPORT_SCENARIOS])
def test_transport_capture_solve_on_a_smaller_matrix(standin, tmp_path, name, options, args,
                                                     data, exact_ranges):
    rc, log, lst, counts = run_standin_capture(
        standin, tmp_path, name, "transport.gms", options, args,
        lambda path: write_transport_mps(path, SMALL, SMALL, **data))
    real_log, real_lst = captured(name)
    got = framing(log)
    assert rc == 0, log
    assert_conformant(shape_only(framing(real_log)), shape_only(got))
    assert dict(got)["size"] == counts
    fields, real_fields = listing_fields(lst), listing_fields(real_lst)
    assert solve_fields(fields) == solve_fields(real_fields)
    # GAMS lists an objective even for the infeasible point CPLEX hands back.
    assert ["objective" in solve for solve in fields["solves"]] == \
        ["objective" in solve for solve in real_fields["solves"]]
    assert all(solve["iteration_count"] > 0 for solve in fields["solves"])
    assert report_shape(fields) == report_shape(real_fields)
    assert fields["file_summary"] and real_fields["file_summary"]
    assert fields["model_statistics"] == [{"SINGLE EQUATIONS": counts[0],
                                           "SINGLE VARIABLES": counts[1],
                                           "NON ZERO ELEMENTS": counts[2]}]
    logged = [value for kind, value in got if kind == "objective"]
    listed = [solve["objective"] for solve in fields["solves"] if solve["model_status"][0] == 1]
    assert listed == pytest.approx(logged, abs=5e-5)


def test_two_solves_first_solve(standin, tmp_path):
    """two_solves.gms's first solve is trnsport: the same data, so every number is compared."""
    def trnsport_matrix(path):
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models",
                                 "transport", "trnsport.mps"), path)
    rc, log, lst, _ = run_standin_capture(standin, tmp_path, "two_solves", "two_solves.gms",
                                          "", [], trnsport_matrix)
    real_log, real_lst = captured("two_solves")
    real, got = framing(real_log), framing(log)
    assert rc == 0, log
    assert kinds(real).count("generating") == 2 and kinds(got).count("generating") == 1
    assert_conformant(first_solve(real), got)
    assert dict(got)["objective"] == pytest.approx(153.675, rel=1e-6)
    fields, real_fields = listing_fields(lst), listing_fields(real_lst)
    keys = ("model", "type", "solver", "solver_status", "model_status", "objective")
    assert solve_fields(fields, keys) == solve_fields(real_fields, keys)[:1]
    assert fields["range_statistics"] == real_fields["range_statistics"][:1]
    assert fields["model_statistics"] == real_fields["model_statistics"][:1]
    assert fields["report_summary"] == real_fields["report_summary"] == (0, 0, 0)
    assert fields["file_summary"] and real_fields["file_summary"]


def test_licence_limit(standin, tmp_path):
    args = ["--NROWS=2500", "--NCOLS=2500", "--DENSITY=0.002"]
    rc, log, lst, counts = run_standin_capture(
        standin, tmp_path, "cplex_licence_limit", "randlp.gms", "lpmethod 2\nthreads 1\n",
        args, lambda path: write_randlp_mps(path, 2502, 2501, 20023))
    real_log, real_lst = captured("cplex_licence_limit")
    assert rc == 7, log
    assert counts == (2502, 2501, 20023)
    assert_conformant(without_numbers(framing(real_log), ("Bound",)),
                      without_numbers(framing(log), ("Bound",)))
    fields, real_fields = listing_fields(lst), listing_fields(real_lst)
    assert ranges_without_numbers(fields, ("Bound",)) == \
        ranges_without_numbers(real_fields, ("Bound",))
    for key in ("solves", "model_statistics", "includes", "report_summary", "file_summary",
                "licensing"):
        assert fields[key] == real_fields[key], key
    assert fields["licensing"] == [
        "The model exceeds the demo license limits for linear models of more than 2000 rows "
        "or columns", "Terminated due to a licensing error", "License file: gamslice.txt",
        "Current license content:"]


# --- the expired licence ------------------------------------------------------------------

def expired_days():
    return (datetime.date.today() - LICENCE_STOP).days


def run_expired(standin, work, args):
    env = dict(os.environ, TD_STANDIN_LICENCE="expired")
    proc = subprocess.Popen([standin] + args, cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output = proc.communicate(timeout=120)[0]
    return proc.returncode, output.decode("utf-8", "replace")


def expired_fixture(name):
    return normalise_expired(read_text(os.path.join(EXPIRED_DIR, name)), EXPIRED_SYSDIR,
                             EXPIRED_WORK)


def normalise_standin(text, work):
    lines = normalise_expired(text, STANDIN_DIR + os.sep, work)
    return [re.sub(r"^(     )\(.*licen[cs]e.*\)$", r"\1LICENCE CONTENT", line)
            for line in lines]


@pytest.fixture
def expired_work(tmp_path):
    work = str(tmp_path / "gcap")
    os.makedirs(work)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models",
                             "transport", "trnsport.gms"), work)
    return work


def test_expired_job_lo3(standin, expired_work):
    rc, output = run_expired(standin, expired_work, ["trnsport.gms", "lo=3"])
    assert rc == 7, output
    assert "*** Time-limited license expired %d days ago" % expired_days() in output
    assert normalise_standin(output, expired_work) == expired_fixture("job_lo3.txt")


def test_expired_job_lo2_log_and_listing(standin, expired_work):
    rc, output = run_expired(standin, expired_work, [
        "trnsport.gms", "lo=2", "lf=job_lo2.log", "o=job_lo2.lst", "lp=cplex", "optfile=1",
        "solvelink=0"])
    assert rc == 7, output
    log = read_text(os.path.join(expired_work, "job_lo2.log"))
    lst = read_text(os.path.join(expired_work, "job_lo2.lst"))
    assert "*** Time-limited license expired %d days ago" % expired_days() in log
    assert normalise_standin(log, expired_work) == expired_fixture("job_lo2.log")
    expected = [re.sub(r"^(     )\(licence lines removed from this fixture\)$",
                       r"\1LICENCE CONTENT", line) for line in expired_fixture("job_lo2.lst")]
    assert normalise_standin(lst, expired_work) == expected


def test_expired_parameters_block(standin, expired_work):
    os.makedirs(os.path.join(expired_work, "w"))
    rc, output = run_expired(standin, expired_work, [
        os.path.join(expired_work, "trnsport.gms"), "lo=3", "idir1=/tmp/a", "idir2=/tmp/b",
        "curdir=" + os.path.join(expired_work, "w"), "mip=cplex", "rmip=gurobi", "reslim=100",
        "threads=2", "--M=4", "-optfile=1", "o=x.lst", "gdx=out.gdx"])
    assert rc == 7, output
    real = expired_fixture("parameters.txt")
    assert dict(framing("\n".join(real)))["parameters"] == \
        dict(framing(output))["parameters"] == (
            "MIP", "RMIP", "Input", "Output", "ScrDir", "SysDir", "CurDir", "LogOption",
            "AppendLog", "InputDir1", "InputDir2", "OptFile", "GDX", "ResLim", "Threads", "--M")
    assert normalise_standin(output, expired_work) == real


def test_expired_gams_without_arguments(standin, expired_work):
    rc, output = run_expired(standin, expired_work, [])
    assert rc == 0, output
    assert "*** Time-limited license stops working on : Nov 26, 2026" in output.splitlines()
    real = expired_fixture("noargs.txt")
    got = normalise_standin(output, expired_work)
    # The listed differences (BANNER_*), asserted: GAMS's vendor lines, the stand-in's.
    at = real.index(BANNER_VENDOR[0])
    assert real[at:at + len(BANNER_VENDOR)] == BANNER_VENDOR
    assert got[at:at + len(BANNER_STANDIN)] == BANNER_STANDIN
    real[at:at + len(BANNER_VENDOR)] = BANNER_STANDIN
    # The licence content: lines after "*** License" up to "***", and the platform line.
    real.remove(BANNER_LICENSED_PLATFORM)
    for lines in (real, got):
        start = [index for index, line in enumerate(lines)
                 if line.startswith("*** License          : ")][0] + 1
        end = lines.index(BANNER_LICENCE_END, start)
        assert end > start
        lines[start:end] = ["*** LICENCE CONTENT"]
    assert got == real


# --- the stand-in beside a licensed real GAMS ----------------------------------------------

def licensed_alike(real, standin):
    """Both framings without what a licensed GAMS of another release prints differently:
    the release on the job's Start line, and CPLEX's demo-licence notice (a full licence
    prints none, so the stand-in's line standing for it is dropped too)."""
    drop = () if "solver_licence" in kinds(real) else ("solver_licence",)

    def neutral(records):
        return [(kind, (value[0], "RELEASE") if kind == "job_start" else value)
                for kind, value in records if kind not in drop]
    return neutral(real), neutral(standin)


def live_scenarios(copy_model):
    """name -> (driver, work dir, cplex.opt, GAMS arguments, rc) for both GAMS alike."""
    transport = copy_model("transport")
    infeasible = copy_model("infeasible")
    limit = copy_model("licence_limit")
    times = copy_model("times_style")
    return {
        "transport_lp": (os.path.join(transport, "trnsport.gms"), "lpmethod 2\nthreads 1\n",
                         ["lp=cplex", "optfile=1"], 0),
        "infeasible": (os.path.join(infeasible, "infeasible.gms"), "lpmethod 2\nthreads 1\n",
                       ["lp=cplex", "optfile=1"], 0),
        "licence_limit": (os.path.join(limit, "licence_limit.gms"), None, ["lp=cplex"], 7),
        # As times-doctor runs it: a copy of the driver (its solver line rewritten), the
        # rest through idir.
        "times_style": ("times_demo.run", "lpmethod 4\nthreads 1\n",
                        ["optfile=1", "idir1=" + times,
                         "idir2=" + os.path.join(times, "times_src")], 0),
    }, times


@pytest.mark.real_gams_only("compares the stand-in with a licensed real GAMS")
@pytest.mark.parametrize("scenario", ["transport_lp", "infeasible", "licence_limit",
                                      "times_style"])
def test_live_same_job_on_both(gams_path, standin, copy_model, tmp_path, scenario):
    scenarios, times = live_scenarios(copy_model)
    driver, options, args, want_rc = scenarios[scenario]
    results = {}
    for side, gams in (("real", gams_path), ("standin", standin)):
        work = str(tmp_path / side)
        os.makedirs(work)
        if scenario == "times_style":
            with open(os.path.join(times, "times_demo.run")) as handle:
                text = handle.read().replace("option LP=conopt;", "option LP=cplex;")
            with open(os.path.join(work, "times_demo.run"), "w") as handle:
                handle.write(text)
        results[side] = run_job(gams, work, driver, scenario, options, args)
    (real_rc, real_log, real_lst), (rc, log, lst) = results["real"], results["standin"]
    assert real_rc == rc == want_rc, (real_log, log)
    assert_conformant(*licensed_alike(framing(real_log), framing(log)))
    fields, real_fields = listing_fields(lst), listing_fields(real_lst)
    keys = ("model", "type", "solver", "solver_status", "model_status")
    assert solve_fields(fields, keys) == solve_fields(real_fields, keys)
    for solve, real_solve in zip(fields["solves"], real_fields["solves"]):
        assert ("objective" in solve) == ("objective" in real_solve)
        if "objective" in solve:
            assert solve["objective"] == pytest.approx(real_solve["objective"], rel=1e-6)
        assert ("iteration_count" in solve) == ("iteration_count" in real_solve)
    for key in ("range_statistics", "model_statistics", "includes", "file_summary",
                "licensing"):
        assert fields[key] == real_fields[key], key
    assert report_shape(fields) == report_shape(real_fields)


@pytest.mark.real_gams_only("compares the stand-in with a licensed real GAMS")
@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_live_marketsplit_process_tree(gams_path, standin, copy_model, tmp_path):
    """solvelink=0: gams -> sh -> sh -> solver, for both; the framing until CPLEX starts."""
    model = copy_model("marketsplit")
    node_line = re.compile(r"^[\s*]*\d+\+?\s+\d+\s.*%\s*$", re.M)
    prefixes = {}
    for side, gams in (("real", gams_path), ("standin", standin)):
        work = str(tmp_path / side)
        os.makedirs(work)
        with open(os.path.join(work, "cplex.opt"), "w") as handle:
            handle.write("threads 1\n")
        log_path = os.path.join(work, "run.log")
        proc = subprocess.Popen([gams, os.path.join(model, "marketsplit.gms"), "lo=2",
                                 "lf=run.log", "optfile=1", "solvelink=0", "mip=cplex"],
                                cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert wait_until(lambda: len(node_line.findall(read_text(log_path))) >= 3, 60), \
                read_text(log_path)[-3000:]
            tree = process_tree(proc.pid)
            roles = [process_role(entry["argv"]) for entry in tree]
            assert roles == ["gams", "sh", "sh", "solver"], format_tree(tree)
            prefixes[side] = until_solver_starts(framing(read_text(log_path)))
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # the group is already empty
                pass
            proc.wait(timeout=30)
        assert wait_until(lambda: session_pids(proc.pid) == [], 10)
    # Other numbers (GAMS's uniformInt), the same shape and framing.
    assert_conformant(*licensed_alike(without_numbers(prefixes["real"], ("Bound",)),
                                      without_numbers(prefixes["standin"], ("Bound",))))
