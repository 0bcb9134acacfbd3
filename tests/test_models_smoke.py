"""The test models against the real GAMS, and the fake GAMS against its own promises.

Fast on purpose (a few seconds): the market-split MIP is only started, watched
until CPLEX logs branch-and-bound nodes, and killed.
"""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from gams_select import process_role
from proc_helpers import format_tree, is_alive, process_tree, read_stat, session_pids, wait_until
from scan_helpers import tree_digest

LINUX = sys.platform.startswith("linux")
needs_proc = pytest.mark.skipif(not LINUX, reason="reads /proc")

TRANSPORT_OBJECTIVE = 153.675
TIMES_STYLE_OBJECTIVE = 82872.208975
OBJECTIVE_RE = re.compile(r"^\*\*\*\* OBJECTIVE VALUE\s+(\S+)", re.M)
MODEL_STATUS_RE = re.compile(r"^\*\*\*\* MODEL STATUS\s+(\d+)", re.M)


def run_gams(gams, driver, work_dir, *args):
    """Run GAMS in *work_dir* with the log in run.log; return (rc, log text, lst text)."""
    command = [gams, driver, "lo=2", "lf=run.log"] + list(args)
    proc = subprocess.Popen(command, cwd=work_dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.communicate(timeout=120)[0]
    log = read_text(os.path.join(work_dir, "run.log"))
    stem = os.path.splitext(os.path.basename(driver))[0]
    lst = read_text(os.path.join(work_dir, stem + ".lst"))
    assert log or output, "GAMS wrote neither a log nor output"
    return proc.returncode, log, lst


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def objective(lst):
    found = OBJECTIVE_RE.findall(lst)
    assert found, "no OBJECTIVE VALUE in listing:\n" + lst[-2000:]
    return float(found[-1])


def kill_session(proc):
    """SIGKILL the whole session led by *proc* and reap the leader."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group is already empty
        pass
    proc.wait(timeout=10)


# --- real GAMS -----------------------------------------------------------------------------

@pytest.mark.gams
def test_transport_solves(gams_path, copy_model, tmp_path):
    model = copy_model("transport")
    rc, log, lst = run_gams(gams_path, os.path.join(model, "trnsport.gms"), str(tmp_path),
                            "lp=cplex")
    assert rc == 0, log
    assert "**** SOLVER STATUS     1 Normal Completion" in lst
    assert "**** MODEL STATUS      1 Optimal" in lst
    assert objective(lst) == pytest.approx(TRANSPORT_OBJECTIVE, rel=1e-9)


def times_style_run(gams_path, model, work_dir, *args):
    """Run the TIMES-style driver the way times-doctor does: a copy, includes via idir."""
    os.makedirs(work_dir)
    shutil.copy(os.path.join(model, "times_demo.run"), work_dir)
    return run_gams(gams_path, "times_demo.run", work_dir, "idir1=" + model,
                    "idir2=" + os.path.join(model, "times_src"), *args)


@pytest.mark.gams
def test_times_style_from_another_directory(gams_path, gams_kind, copy_model, tmp_path):
    model = copy_model("times_style")
    before = tree_digest(model)
    work_dir = str(tmp_path / "work")
    rc, log, lst = times_style_run(gams_path, model, work_dir)
    assert rc == 0, log
    assert "SOLVER  CONOPT" in lst  # the driver's own "option LP=conopt;" line
    if gams_kind == "real":
        assert objective(lst) == pytest.approx(TIMES_STYLE_OBJECTIVE, rel=1e-6)
    else:
        # The stand-in has no CONOPT: the solve ends as one GAMS cannot run,
        # and no other solver stood in for the one the driver chose.
        assert "**** SOLVER STATUS     7 Licensing Problem" in lst
        assert "**** MODEL STATUS      11 Lic Problem - No Solution" in lst
        assert "Starting Cplex" not in log and "OBJECTIVE VALUE" not in lst
    # The Include File Summary names the TIMES source by full path.
    assert os.path.join(model, "times_src", "initsys.mod") in lst
    # The driver wrote its base.dd into the work dir, never into the model.
    assert read_text(os.path.join(work_dir, "base.dd")).strip() == "x"
    assert tree_digest(model) == before


def test_times_style_copy_has_a_previous_listing(copy_model):
    model = copy_model("times_style")
    assert not os.path.exists(os.path.join(model, "times_demo.lst.in"))
    listing = read_text(os.path.join(model, "times_demo.lst"))
    row = os.path.join(model, "times_src", "initsys.mod")
    assert re.search(r"^\s+3\s+13 INCLUDE\s+1\s+13\s+1  %s$" % re.escape(row), listing, re.M)
    assert "@MODEL_DIR@" not in listing


@pytest.mark.gams
def test_times_style_cplex_agrees_with_conopt(gams_path, copy_model, tmp_path):
    model = copy_model("times_style")
    work_dir = str(tmp_path / "work")
    os.makedirs(work_dir)
    with open(os.path.join(model, "times_demo.run")) as handle:
        driver = handle.read()
    assert driver.count("option LP=conopt;") == 1
    with open(os.path.join(work_dir, "times_demo.run"), "w") as handle:
        handle.write(driver.replace("option LP=conopt;", "option LP=cplex;"))
    with open(os.path.join(work_dir, "cplex.opt"), "w") as handle:
        handle.write("lpmethod 4\nthreads 1\n")
    rc, log, lst = run_gams(gams_path, "times_demo.run", work_dir, "idir1=" + model,
                            "idir2=" + os.path.join(model, "times_src"), "optfile=1")
    assert rc == 0, log
    assert "SOLVER  CPLEX" in lst
    assert "Setting 'lpmethod': 4" in log
    assert objective(lst) == pytest.approx(TIMES_STYLE_OBJECTIVE, rel=1e-6)


@pytest.mark.gams
def test_times_style_refuses_to_run_in_its_own_folder(gams_path, copy_model):
    model = copy_model("times_style")
    os.remove(os.path.join(model, "times_demo.lst"))  # the run below writes a new one
    before = tree_digest(model)
    rc, log, lst = run_gams(gams_path, "times_demo.run", model,
                            "idir1=" + os.path.join(model, "times_src"))
    assert rc == 2, log  # compilation error: the $abort guard
    assert "base.dd is in the working directory" in log
    os.remove(os.path.join(model, "run.log"))
    os.remove(os.path.join(model, "times_demo.lst"))
    shutil.rmtree(os.path.join(model, "225a"), ignore_errors=True)
    assert tree_digest(model) == before


@pytest.mark.gams
def test_licence_limit_gives_rc_7(gams_path, copy_model, tmp_path):
    model = copy_model("licence_limit")
    rc, log, _ = run_gams(gams_path, os.path.join(model, "licence_limit.gms"), str(tmp_path))
    assert rc == 7, log
    assert "Terminated due to a licensing error" in log


@pytest.mark.gams
def test_infeasible_lp(gams_path, copy_model, tmp_path):
    model = copy_model("infeasible")
    rc, log, lst = run_gams(gams_path, os.path.join(model, "infeasible.gms"), str(tmp_path))
    assert rc == 0, log
    assert MODEL_STATUS_RE.findall(lst) == ["4"]


@pytest.mark.gams
@needs_proc
def test_marketsplit_runs_under_cplex_and_logs_nodes(gams_path, copy_model, tmp_path):
    model = copy_model("marketsplit")
    work_dir = str(tmp_path)
    with open(os.path.join(work_dir, "cplex.opt"), "w") as handle:
        handle.write("threads 1\n")
    log_path = os.path.join(work_dir, "run.log")
    proc = subprocess.Popen([gams_path, os.path.join(model, "marketsplit.gms"), "lo=2",
                             "lf=run.log", "optfile=1", "solvelink=0"],
                            cwd=work_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        node_line = re.compile(r"^[\s*]*\d+\+?\s+\d+\s.*%\s*$", re.M)  # ends in the gap
        assert wait_until(lambda: len(node_line.findall(read_text(log_path))) >= 3, 30), \
            read_text(log_path)[-3000:]
        tree = process_tree(proc.pid)
        # solvelink=0: gams -> sh -> sh -> a separate solver process, for the real
        # GAMS (gmsgenux.out) and the stand-in (solver.py running CPLEX) alike.
        roles = [process_role(entry["argv"]) for entry in tree]
        assert roles == ["gams", "sh", "sh", "solver"], format_tree(tree)
        assert [entry["depth"] for entry in tree] == [0, 1, 2, 3], format_tree(tree)  # a chain
        assert set(entry["sid"] for entry in tree) == set([proc.pid]), format_tree(tree)
        assert proc.poll() is None
        size = os.path.getsize(log_path)
        assert wait_until(lambda: os.path.getsize(log_path) > size, 15), "the log stopped growing"
    finally:
        kill_session(proc)
    assert wait_until(lambda: session_pids(proc.pid) == [], 10)


# --- fake GAMS -----------------------------------------------------------------------------

def write_driver(folder, *directives):
    path = os.path.join(str(folder), "driver.gms")
    with open(path, "w") as handle:
        handle.write("* a fake model\n")
        for directive in directives:
            handle.write("* FAKE: %s\n" % directive)
    return path


def start_fake(fake_gams_path, folder, *args):
    return subprocess.Popen([fake_gams_path, "driver.gms", "lo=2", "lf=run.log"] + list(args),
                            cwd=str(folder), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def logged_pids(log_path, label):
    return [int(pid) for pid in re.findall(r"^--- fake: %s pid (\d+)$" % label,
                                           read_text(log_path), re.M)]


def test_fake_completes_with_listing_and_log(fake_gams_path, tmp_path):
    write_driver(tmp_path, "sleep 0.1", "objective 42.5")
    proc = start_fake(fake_gams_path, tmp_path, "LP=CPLEX", "-optfile=1")
    assert proc.wait(timeout=30) == 0
    log = read_text(str(tmp_path / "run.log"))
    assert log.startswith("--- Job driver.gms Start ")
    assert "*** Status: Normal completion" in log
    assert re.search(r"^--- Job driver.gms Stop .* elapsed ", log, re.M)
    lst = read_text(str(tmp_path / "driver.lst"))
    assert "**** SOLVER STATUS     1 Normal Completion" in lst
    assert "**** MODEL STATUS      1 Optimal" in lst
    assert objective(lst) == 42.5


def test_fake_options_are_case_insensitive(fake_gams_path, tmp_path):
    write_driver(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.Popen([fake_gams_path, str(tmp_path / "driver.gms"), "LO=2",
                             "LogFile=my.log", "-O=out.lst", "curDir=" + str(work)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    assert proc.wait(timeout=30) == 0
    assert "Normal completion" in read_text(str(work / "my.log"))
    assert "Optimal" in read_text(str(work / "out.lst"))


def test_fake_exit_code_and_no_listing(fake_gams_path, tmp_path):
    write_driver(tmp_path, "exit 7")
    assert start_fake(fake_gams_path, tmp_path).wait(timeout=30) == 7
    assert "*** Status: Terminated due to a licensing error" in read_text(str(tmp_path / "run.log"))
    assert not os.path.exists(str(tmp_path / "driver.lst"))


@needs_proc
def test_fake_ignore_term_with_grandchildren(fake_gams_path, tmp_path):
    write_driver(tmp_path, "ignore-term", "grandchildren 2 60", "sleep 60")
    log_path = str(tmp_path / "run.log")
    proc = start_fake(fake_gams_path, tmp_path)
    try:
        assert wait_until(lambda: len(logged_pids(log_path, "grandchild")) == 2, 20)
        children = logged_pids(log_path, "grandchild")
        everyone = [proc.pid] + children
        assert session_pids(proc.pid) == sorted(everyone), format_tree(process_tree(proc.pid))
        os.killpg(proc.pid, signal.SIGTERM)
        # Nothing may die: give SIGTERM a fair chance to (wrongly) work.
        assert not wait_until(lambda: not all(is_alive(pid) for pid in everyone), 0.5)
    finally:
        kill_session(proc)
    assert wait_until(lambda: session_pids(proc.pid) == [], 10)


def ignores_sigterm(pid):
    """True when /proc/PID/status shows SIGTERM in the ignored-signals mask."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("SigIgn:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except (IOError, OSError):  # gone
        pass
    return False


@needs_proc
def test_fake_ignore_term_holds_before_python_starts(fake_gams_path, tmp_path):
    write_driver(tmp_path, "sleep 60", "ignore-term")  # position does not matter
    log_path = str(tmp_path / "run.log")
    proc = start_fake(fake_gams_path, tmp_path)
    try:
        assert wait_until(lambda: ignores_sigterm(proc.pid), 10)
        # The shell wrapper ignores it before exec'ing Python, which logs nothing yet.
        os.killpg(proc.pid, signal.SIGTERM)
        assert wait_until(lambda: "Starting execution" in read_text(log_path), 20)
        assert proc.poll() is None
    finally:
        kill_session(proc)
    assert proc.returncode == -signal.SIGKILL


@needs_proc
def test_fake_setsid_grandchild_leaves_the_session(fake_gams_path, tmp_path):
    write_driver(tmp_path, "setsid-grandchild 60", "sleep 60")
    log_path = str(tmp_path / "run.log")
    proc = start_fake(fake_gams_path, tmp_path)
    escaped = None
    try:
        escaped = wait_until(lambda: logged_pids(log_path, "setsid grandchild"), 20)[0]
        stat = read_stat(escaped)
        assert stat is not None and stat.sid == escaped != proc.pid
        assert session_pids(proc.pid) == [proc.pid]
        # It ignores SIGTERM too.
        os.kill(escaped, signal.SIGTERM)
        assert not wait_until(lambda: not is_alive(escaped), 0.3)
    finally:
        kill_session(proc)
        if escaped is not None:
            os.kill(escaped, signal.SIGKILL)
    assert wait_until(lambda: not is_alive(escaped), 10)


def test_fake_huge_log_has_long_invalid_utf8_lines(fake_gams_path, tmp_path):
    write_driver(tmp_path, "huge-log 2 64")
    assert start_fake(fake_gams_path, tmp_path).wait(timeout=60) == 0
    with open(str(tmp_path / "run.log"), "rb") as handle:
        data = handle.read()
    assert len(data) >= 2 * 1024 * 1024
    long_lines = [line for line in data.split(b"\n") if len(line) == 64 * 1024 - 1]
    assert len(long_lines) >= 31
    with pytest.raises(UnicodeDecodeError):
        long_lines[0].decode("utf-8")
    assert b"Normal completion" in data


def test_fake_cplex_log_grows_while_running(fake_gams_path, tmp_path):
    write_driver(tmp_path, "cplex-log 40 1.5")
    log_path = str(tmp_path / "run.log")
    iteration = re.compile(r"^Iteration:\s+\d+\s+Dual objective", re.M)
    proc = start_fake(fake_gams_path, tmp_path)
    try:
        first = wait_until(lambda: len(iteration.findall(read_text(log_path))), 20)
        assert first and proc.poll() is None
        assert wait_until(lambda: len(iteration.findall(read_text(log_path))) > first + 5, 5)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            kill_session(proc)
    assert len(iteration.findall(read_text(log_path))) == 60


def test_fake_barrier_log(fake_gams_path, tmp_path):
    write_driver(tmp_path, "cplex-log 1000 0.01 barrier")
    assert start_fake(fake_gams_path, tmp_path).wait(timeout=30) == 0
    log = read_text(str(tmp_path / "run.log"))
    assert " Itn      Primal Obj        Dual Obj" in log
    assert re.search(r"^\s+9\s+-1\.0090000e\+03", log, re.M)
