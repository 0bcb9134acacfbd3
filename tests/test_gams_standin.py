"""The GAMS stand-in against the promises it makes (tests/gams_standin/README.md).

These always run, whichever GAMS the rest of the suite is under: the stand-in
is part of the repository and its solvers are test dependencies.  Each test
names the real observation the behaviour rests on.
"""

import datetime
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from gams_select import process_role, select_gams, standin_python
from proc_helpers import format_tree, is_alive, process_tree, session_pids, wait_until
from scan_helpers import (cli_env, read_report, read_state, run_cli, session_alive,
                          tree_digest)

LINUX = sys.platform.startswith("linux")
needs_proc = pytest.mark.skipif(not LINUX, reason="reads /proc")

NODE_LINE = re.compile(r"^[\s*]*\d+\+?\s+\d+\s.*%\s*$", re.M)  # a CPLEX node-log row


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def run(command, cwd, env=None):
    proc = subprocess.Popen(command, cwd=str(cwd), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output = proc.communicate(timeout=300)[0].decode("utf-8", "replace")
    return proc.returncode, output


def start_marketsplit(standin, copy_model, tmp_path, *extra):
    """The market-split MIP under CPLEX, solvelink=0, in a session of its own."""
    model = copy_model("marketsplit")
    work = tmp_path / "work"
    work.mkdir()
    (work / "cplex.opt").write_text(u"threads 1\n")
    proc = subprocess.Popen([standin, os.path.join(model, "marketsplit.gms"), "lo=2",
                             "lf=run.log", "optfile=1", "solvelink=0", "mip=cplex"]
                            + list(extra), cwd=str(work), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    return proc, str(work)


def solver_pid(pid):
    tree = process_tree(pid)
    found = [entry["pid"] for entry in tree if process_role(entry["argv"]) == "solver"]
    return found[0] if found else None


def kill_session(sid):
    try:
        os.killpg(sid, signal.SIGKILL)
    except ProcessLookupError:  # already empty
        pass


# -- solver choice: GAMS's precedence ------------------------------------------------------

def test_driver_option_statement_beats_the_command_line(standin, copy_model, tmp_path):
    """``option LP=conopt;`` in the driver wins over ``lp=cplex``: a scanner that forgot
    to rewrite it would run the wrong solver, and the listing would say so."""
    model = copy_model("times_style")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(os.path.join(model, "times_demo.run"), str(work))
    (work / "cplex.opt").write_text(u"lpmethod 4\nthreads 1\n")
    base = [standin, "times_demo.run", "lo=2", "lf=run.log", "lp=cplex", "optfile=1",
            "idir1=" + model, "idir2=" + os.path.join(model, "times_src")]
    rc, output = run(base, work)
    assert rc == 0, output
    lst = read_text(str(work / "times_demo.lst"))
    log = read_text(str(work / "run.log"))
    assert re.search(r"SOLVER +CONOPT +FROM LINE", lst), lst
    assert "Starting Cplex" not in log and "CPXPARAM" not in log
    assert "**** MODEL STATUS      11 Lic Problem - No Solution" in lst

    # The copy times-doctor writes (rundir.rewrite_solver_options) runs CPLEX.
    from times_doctor.gams.rundir import rewrite_solver_options
    driver = work / "times_demo.run"
    driver.write_text(rewrite_solver_options(driver.read_text(), "cplex"))
    os.remove(str(work / "run.log"))
    os.remove(str(work / "base.dd"))  # the first run wrote it; the driver's guard refuses it
    rc, output = run(base, work)
    assert rc == 0, output
    lst = read_text(str(work / "times_demo.lst"))
    assert re.search(r"SOLVER +CPLEX +FROM LINE", lst), lst
    assert "**** MODEL STATUS      1 Optimal" in lst
    assert "--- Setting 'lpmethod': 4" in read_text(str(work / "run.log"))


def test_command_line_solver_without_option_statement(standin, copy_model, tmp_path):
    model = copy_model("transport")
    for solver, banner in (("cplex", "Starting Cplex"), ("gurobi", "Gurobi Optimizer version"),
                           ("highs", "HiGHS")):
        work = tmp_path / solver
        work.mkdir()
        rc, output = run([standin, os.path.join(model, "trnsport.gms"), "lo=2", "lf=run.log",
                          "lp=%s" % solver], work)
        assert rc == 0, output
        lst = read_text(str(work / "trnsport.lst"))
        assert re.search(r"SOLVER +%s +FROM LINE" % solver.upper(), lst), lst
        assert re.search(r"OBJECTIVE VALUE +153\.6750", lst), lst
        assert banner in read_text(str(work / "run.log"))


def test_unknown_option_is_reported_and_ignored(standin, copy_model, tmp_path):
    model = copy_model("transport")
    (tmp_path / "cplex.opt").write_text(u"lpmethd 4\nlpmethod 2\nthreads two\n")
    rc, output = run([standin, os.path.join(model, "trnsport.gms"), "lo=3", "lp=cplex",
                      "optfile=1"], tmp_path)
    assert rc == 0, output
    assert '*** Unknown option "lpmethd", ignored' in output
    assert "--- Setting 'lpmethod': 2" in output
    assert "*** Value for option 'threads' is not a number: two, ignored" in output
    assert "CPXPARAM_LPMethod                                2" in output


# -- signals, as observed from the real GAMS ------------------------------------------------

@needs_proc
def test_sigterm_to_gams_alone_orphans_its_solver(standin, copy_model, tmp_path):
    """What this tool exists to prevent: GAMS dies, its solver goes on."""
    proc, work = start_marketsplit(standin, copy_model, tmp_path)
    log = os.path.join(work, "run.log")
    try:
        assert wait_until(lambda: len(NODE_LINE.findall(read_text(log))) >= 3, 60), \
            read_text(log)[-2000:]
        tree = process_tree(proc.pid)
        assert [process_role(entry["argv"]) for entry in tree] == [
            "gams", "sh", "sh", "solver"], format_tree(tree)
        solver = solver_pid(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=10) == -signal.SIGTERM
        assert is_alive(solver)
        size = os.path.getsize(log)
        assert wait_until(lambda: os.path.getsize(log) > size, 30), "the orphan stopped logging"
        assert solver in session_pids(proc.pid)
    finally:
        kill_session(proc.pid)
    assert wait_until(lambda: session_pids(proc.pid) == [], 10)


@needs_proc
def test_scanner_cancel_leaves_nothing_of_the_same_tree(standin, copy_model, tmp_path):
    """The same tree under times-doctor: SIGTERM to the scanner cancels it, nothing is left."""
    run_dir = copy_model("marketsplit")
    out = str(tmp_path / "out")
    proc = subprocess.Popen([sys.executable, "-m", "times_doctor", "scan", run_dir,
                             "--gams-path", standin, "--profiles", "dual", "--threads", "1",
                             "--gams-arg", "solvelink=0", "--grace-seconds", "2", "--out", out,
                             "--yes"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env())
    log = os.path.join(out, "times_doctor_out", "scan_runs", "cplex", "dual",
                       "dual_run_log.txt")
    try:
        assert wait_until(lambda: len(NODE_LINE.findall(read_text(log))) >= 3, 60)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143
    _, rows = read_report(out)
    assert rows[0]["status"] == "cancelled"
    job = read_state(out)["jobs"][0]
    assert job["sid"] and session_alive(job["sid"]) == []


@needs_proc
def test_sigint_to_gams_reaches_the_solver_which_keeps_its_incumbent(standin, copy_model,
                                                                      tmp_path):
    proc, work = start_marketsplit(standin, copy_model, tmp_path)
    log = os.path.join(work, "run.log")
    try:
        # An incumbent: a node-log row marked '*' (a new integer solution).
        assert wait_until(lambda: re.search(r"^\*\s*\d+\+?\s", read_text(log), re.M)
                          and len(NODE_LINE.findall(read_text(log))) >= 5, 60)
        os.kill(proc.pid, signal.SIGINT)  # to GAMS alone, as times-doctor's interrupt does
        assert proc.wait(timeout=60) == 0
    finally:
        kill_session(proc.pid)
    text = read_text(log)
    lst = read_text(os.path.join(work, "marketsplit.lst"))
    assert "--- MIP status (113): aborted." in text  # CPLEX's own status string
    assert "**** SOLVER STATUS     8 User Interrupt" in lst
    assert "**** MODEL STATUS      8 Integer Solution" in lst
    reported = float(re.search(r"^MIP Solution:\s+(\S+)", text, re.M).group(1))
    listed = float(re.search(r"^\*\*\*\* OBJECTIVE VALUE\s+(\S+)", lst, re.M).group(1))
    assert listed == pytest.approx(reported, abs=1e-4)
    assert "*** Status: Normal completion" in text


# -- licence behaviour -----------------------------------------------------------------------

def test_demo_limit_gives_rc_7_with_gams_text(standin, copy_model, tmp_path):
    model = copy_model("licence_limit")
    rc, output = run([standin, os.path.join(model, "licence_limit.gms"), "lo=3"], tmp_path)
    assert rc == 7, output
    captured = read_text(os.path.join(os.path.dirname(__file__), "fixtures", "logs",
                                      "cplex_licence_limit_run_log.txt"))
    start = captured.index("*** The model exceeds")
    expected = captured[start:captured.index("***         License file")].splitlines()
    assert expected[-1] == "*** Status: Terminated due to a licensing error"
    got = output[output.index("*** The model exceeds"):].splitlines()[:len(expected)]
    assert got == expected
    assert "---   2,101 rows  2,101 columns" in output


def test_expired_licence_gives_rc_7_with_the_lines_gams_prints_today(standin, copy_model,
                                                                     tmp_path):
    model = copy_model("transport")
    env = dict(os.environ, TD_STANDIN_LICENCE="expired")
    rc, output = run([standin, os.path.join(model, "trnsport.gms"), "lo=3"], tmp_path, env)
    assert rc == 7, output
    days = (datetime.date.today() - datetime.date(2026, 11, 26)).days
    assert "*** Time-limited license expired %d days ago" % days in output
    assert "*** Status: Terminated due to a licensing error" in output
    assert "Starting compilation" not in output
    rc, banner = run([standin], tmp_path, env)
    assert rc == 0
    assert "*** Time-limited license stops working on : Nov 26, 2026" in banner


def test_scan_with_an_expired_licence_is_refused_by_its_preflight(standin, copy_model,
                                                                    tmp_path):
    # Issue 10: the preflight reads the licence's end from GAMS's banner and
    # refuses before anything is created (it used to fail every profile with rc 7).
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    before = tree_digest(run_dir)
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", standin, "--profiles",
                                    "dual,bar_nox", "--threads", "1", "--out", out, "--yes"],
                                   env=cli_env({"TD_STANDIN_LICENCE": "expired"}))
    assert code == 2, (stdout, stderr)
    assert stderr.splitlines() == [
        "times-doctor: error: GAMS licence stopped working on Nov 26, 2026 (%s): install a "
        "valid licence, or pass one with --gams-arg license=FILE"
        % os.path.join(os.path.dirname(standin), "gamslice.txt")]
    assert not os.path.exists(out)
    assert tree_digest(run_dir) == before


def test_scan_with_an_expired_licence_without_preflight_starts_one_run(standin, copy_model,
                                                                      tmp_path):
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", standin, "--profiles",
                                    "dual,bar_nox", "--threads", "1", "--out", out, "--yes",
                                    "--no-preflight"],
                                   env=cli_env({"TD_STANDIN_LICENCE": "expired"}))
    assert code == 1, (stdout, stderr)
    _, rows = read_report(out)
    assert [(row["status"], row["gams_rc"]) for row in rows] == [("failed", "7"), ("failed", "")]
    days = (datetime.date.today() - datetime.date(2026, 11, 26)).days
    assert rows[0]["gams_rc_meaning"] == ("licensing error: Time-limited license expired %d "
                                          "days ago" % days)
    assert rows[1]["gams_rc_meaning"] == "not started: cplex licence error"
    assert not os.path.exists(os.path.join(rows[1]["dir"], "bar_nox_run_log.txt"))


def test_cplex_community_edition_limit_is_a_licensing_problem(standin, tmp_path):
    """Within GAMS's demo limits (2000) but over CPLEX Community Edition's (1000): CPLEX
    refuses (error 1016) and the listing says so as GAMS says a licensing problem."""
    rows = 1200
    lines = ["NAME wide", "ROWS", " N _obj", " E obj"] + [" G c(%d)" % i for i in range(rows)]
    lines.append("COLUMNS")
    lines.append(" z _obj 1 obj 1")
    lines.extend(" x(%d) obj -1 c(%d) 1" % (i, i) for i in range(rows))
    lines.append("RHS")
    lines.extend(" rhs c(%d) 1" % i for i in range(rows))
    lines.extend(["BOUNDS", " FR bnd z", "ENDATA"])
    (tmp_path / "wide.mps").write_text(u"\n".join(lines) + u"\n")
    (tmp_path / "wide.gms").write_text(u"* 1200 rows: see wide.mps\n"
                                       u"solve wide using lp minimizing z;\n")
    rc, output = run([standin, "wide.gms", "lo=3", "lp=cplex"], tmp_path)
    assert rc == 0, output
    assert "1016" in output
    lst = read_text(str(tmp_path / "wide.lst"))
    assert "**** SOLVER STATUS     7 Licensing Problem" in lst
    assert "**** MODEL STATUS      11 Lic Problem - No Solution" in lst
    rc, output = run([standin, "wide.gms", "lo=3", "lp=highs"], tmp_path)
    assert rc == 0, output
    assert re.search(r"OBJECTIVE VALUE +1200\.0000", read_text(str(tmp_path / "wide.lst")))


# -- the one kind of GAMS it compiles: a scalar-only LP (scalarlp.py) -------------------

def test_compiles_the_solver_checks_one_variable_lp(standin, tmp_path):
    from times_doctor.gams import gamsinfo
    (tmp_path / "td_check.gms").write_text(gamsinfo.PROBE_MODEL)
    for solver in ("cplex", "gurobi", "highs"):
        if solver == "gurobi" and select_gams().gurobi_problem():
            continue
        rc, output = run([standin, "td_check.gms", "lo=3", "lp=%s" % solver], tmp_path)
        assert rc == 0, output
        listing = read_text(str(tmp_path / "td_check.lst"))
        assert re.search(r"\*\*\*\* MODEL STATUS\s+1 Optimal", listing), listing
        assert re.search(r"\*\*\*\* OBJECTIVE VALUE\s+1\.0000", listing), listing
    assert sorted(os.listdir(str(tmp_path))) == ["td_check.gms", "td_check.lst"]


def test_compiles_a_scalar_lp_with_bounds(standin, tmp_path):
    (tmp_path / "s.gms").write_text(
        "Variables z, x;\nPositive Variable y;\nEquations cost, cap, floor;\n"
        "cost.. z =e= 2*x + 3 * y - 1;\ncap.. x + y =l= 10;\nfloor.. x + 1 =g= 2 + 0.5*y;\n"
        "x.up = 4;\ny.lo = 1;\nModel s / all /;\nsolve s using lp minimizing z;\n")
    rc, output = run([standin, "s.gms", "lo=3"], tmp_path)
    assert rc == 0, output
    # x >= 1 + 0.5 y, y >= 1: x = 1.5, y = 1, z = 3 + 3 - 1 = 5
    assert "---   3 rows  3 columns" in output
    assert re.search(r"OBJECTIVE VALUE\s+5\.0000", read_text(str(tmp_path / "s.lst")))


def test_a_model_with_sets_is_still_not_compiled(standin, tmp_path):
    (tmp_path / "m.gms").write_text("Set i / a, b /;\nVariable z;\nEquation e;\n"
                                    "e.. z =e= 1;\nModel m / all /;\n"
                                    "solve m using lp minimizing z;\n")
    rc, output = run([standin, "m.gms", "lo=3"], tmp_path)
    assert rc == 3
    assert "the GAMS stand-in compiles no GAMS: no m.mps on the include path" in output


def test_option_definition_files_match_the_solvers(standin):
    # The checked-in opt*.def files say what the installed solvers say (make_optdefs.py).
    rc, output = run([standin_python(), os.path.join(os.path.dirname(standin),
                                                     "make_optdefs.py"), "--check"],
                     os.path.dirname(standin))
    assert rc == 0, output
