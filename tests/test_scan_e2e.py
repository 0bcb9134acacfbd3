"""scan end to end with the real GAMS and CPLEX from gamspy-base."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from scan_helpers import (CSV_COLUMNS, REPO_ROOT, build_zipapp, cli_env, read_report,
                          read_state, run_cli, session_alive, tree_digest)

pytestmark = pytest.mark.gams

ALL_CPLEX = "dual,primal,sift,bar,bar_nox,concurrent"


def assert_all_optimal_same_objective(rows, profiles):
    assert [row["profile"] for row in rows] == profiles
    objectives = []
    for row in rows:
        assert row["status"] == "completed", row
        assert row["model_status"].lower().endswith("optimal"), row
        assert row["gams_rc"] == "0" and row["gams_rc_meaning"]
        assert float(row["runtime_seconds"]) >= 0
        assert os.path.isfile(row["lst"]) and os.path.isdir(row["dir"])
        objectives.append(float(row["objective"]))
    for value in objectives:
        assert value == pytest.approx(objectives[0], rel=1e-6)
    return objectives[0]


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_transport_all_cplex_profiles(copy_model, gams_path, tmp_path, parallel):
    run_dir = copy_model("transport")
    before = tree_digest(run_dir)
    out = str(tmp_path / "out")
    args = ["scan", run_dir, "--gams-path", gams_path, "--profiles", ALL_CPLEX,
            "--threads", "1", "--out", out, "--yes"]
    if parallel:
        args += ["--parallel", "--max-workers", "3"]
    code, stdout, stderr = run_cli(args)
    assert code == 0, (stdout, stderr)
    columns, rows = read_report(out)
    assert columns == CSV_COLUMNS
    objective = assert_all_optimal_same_objective(rows, ALL_CPLEX.split(","))
    assert objective == pytest.approx(153.675, rel=1e-6)
    # With --out elsewhere the run directory is untouched, not even times_doctor_out.
    assert tree_digest(run_dir) == before
    assert "Fastest optimal profile:" in stdout
    assert "\x1b" not in stdout  # not a terminal: plain lines only
    state = read_state(out)
    assert state["finished"] is True and state["exit_code"] == 0
    assert set(job["status"] for job in state["jobs"]) == set(["completed"])


def test_times_style_driver_all_profiles_parallel(copy_model, gams_path, tmp_path):
    # copy_model renders the model's previous-run listing, whose include
    # summary names times_src: --times-src is detected, not given.
    run_dir = copy_model("times_style")
    assert os.path.exists(os.path.join(run_dir, "times_demo.lst"))
    before = tree_digest(run_dir)
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--profiles",
                                    ALL_CPLEX, "--threads", "1", "--parallel", "--yes"])
    assert code == 0, (stdout, stderr)
    columns, rows = read_report(run_dir)
    assert columns == CSV_COLUMNS
    assert_all_optimal_same_objective(rows, ALL_CPLEX.split(","))
    # Only times_doctor_out/ is new: the inputs (incl. the one the driver
    # writes a file named like) are byte-identical.
    after = [entry for entry in tree_digest(run_dir)
             if not entry[0].startswith("times_doctor_out")]
    assert after == before
    for row in rows:
        with open(row["lst"], errors="replace") as handle:
            listing = handle.read()
        assert "CPLEX" in listing  # the driver's option LP=... line lost to the profile


def test_times_style_sequential_with_out(copy_model, gams_path, tmp_path):
    run_dir = copy_model("times_style")
    before = tree_digest(run_dir)
    out = str(tmp_path / "elsewhere")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--profiles",
                                    ALL_CPLEX, "--threads", "1", "--out", out, "--yes",
                                    "--times-src", os.path.join(run_dir, "times_src")])
    assert code == 0, (stdout, stderr)
    assert_all_optimal_same_objective(read_report(out)[1], ALL_CPLEX.split(","))
    assert tree_digest(run_dir) == before


LIMIT_REASON = ("licensing error: The model exceeds the demo license limits for linear "
                "models of more than 2000 rows or columns")


def test_licence_limit_fails_with_rc_7(copy_model, gams_path, tmp_path):
    # Issue 10: the first run fails with rc 7 and GAMS's own reason; the
    # waiting runs of the same solver would meet the same refusal: not started.
    run_dir = copy_model("licence_limit")
    out = str(tmp_path / "out")
    profiles = ["dual", "primal", "sift", "bar_nox"]
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--profiles",
                                    ",".join(profiles), "--threads", "1", "--out", out, "--yes"])
    assert code == 1, (stdout, stderr)
    _, rows = read_report(out)
    assert [row["profile"] for row in rows] == profiles
    assert [row["status"] for row in rows] == ["failed"] * 4
    assert (rows[0]["gams_rc"], rows[0]["gams_rc_meaning"]) == ("7", LIMIT_REASON)
    for row in rows[1:]:
        assert (row["gams_rc"], row["gams_rc_meaning"]) == ("", "not started: cplex licence "
                                                                 "error")
        assert not os.path.exists(os.path.join(row["dir"], "%s_run_log.txt" % row["profile"]))
    assert "dual: failed 0:00 - %s" % LIMIT_REASON in stdout
    assert "sift: failed - not started: cplex licence error" in stdout
    assert "No profile reached an optimal model status." in stdout
    state = read_state(out)
    assert [job["details"] for job in state["jobs"]] == [LIMIT_REASON] + [
        "not started: cplex licence error"] * 3


def test_licence_limit_other_solver_goes_on(copy_model, gams_path, tmp_path):
    if gurobi_usable():
        pytest.skip("Gurobi cannot run here: %s" % gurobi_usable())
    run_dir = copy_model("licence_limit")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--solver", "both",
                                    "--profiles", "dual,bar_nox", "--threads", "1", "--out", out,
                                    "--yes"])
    assert code == 1, (stdout, stderr)
    _, rows = read_report(out)
    summary = [(row["profile"], row["gams_rc"], row["gams_rc_meaning"]) for row in rows]
    # cplex:dual fails first; gurobi:dual still starts (another solver), then each
    # solver's second profile is not started.
    assert summary == [("cplex:dual", "7", LIMIT_REASON), ("gurobi:dual", "7", LIMIT_REASON),
                       ("cplex:bar_nox", "", "not started: cplex licence error"),
                       ("gurobi:bar_nox", "", "not started: gurobi licence error")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc session check")
def test_timeout_ends_the_whole_tree(copy_model, gams_path, tmp_path):
    run_dir = copy_model("marketsplit")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--profiles",
                                    "dual", "--threads", "1", "--timeout-seconds", "4",
                                    "--grace-seconds", "2", "--gams-arg", "solvelink=0",
                                    "--out", out, "--yes"], timeout=120)
    assert code == 1, (stdout, stderr)
    _, rows = read_report(out)
    assert rows[0]["status"] == "timeout"
    assert 4 <= float(rows[0]["runtime_seconds"]) < 20
    job = read_state(out)["jobs"][0]
    assert job["status"] == "timeout" and job["sid"]
    assert session_alive(job["sid"]) == []


def test_leftover_work_dir_is_replaced(copy_model, gams_path, tmp_path):
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    args = ["scan", run_dir, "--gams-path", gams_path, "--profiles", "dual", "--threads", "1",
            "--out", out, "--yes"]
    assert run_cli(args)[0] == 0
    stale = os.path.join(out, "times_doctor_out", "scan_runs", "cplex", "dual", "stale.txt")
    with open(stale, "w") as handle:
        handle.write("old")
    assert run_cli(args)[0] == 0
    assert not os.path.exists(stale)


def test_zipapp_runs_a_real_scan(copy_model, gams_path, tmp_path):
    pyz = build_zipapp(tmp_path / "dist")
    with zipfile.ZipFile(pyz) as archive:
        names = archive.namelist()
    assert "__main__.py" in names and not any(name.startswith("tests/") for name in names)
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    env = cli_env(pythonpath="")
    proc = subprocess.Popen([sys.executable, pyz, "scan", run_dir, "--gams-path", gams_path,
                             "--profiles", "dual,bar_nox", "--threads", "1", "--out", out,
                             "--yes"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=str(tmp_path))
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, (stdout, stderr)
    assert_all_optimal_same_objective(read_report(out)[1], ["dual", "bar_nox"])


def test_vendored_copy_runs_a_real_scan(copy_model, gams_path, tmp_path):
    vendor = tmp_path / "vendor" / "site"
    shutil.copytree(os.path.join(REPO_ROOT, "times_doctor"), str(vendor / "times_doctor"))
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--profiles",
                                    "primal", "--threads", "1", "--out", out, "--yes"],
                                   env=cli_env(pythonpath=str(vendor)), cwd=str(tmp_path))
    assert code == 0, (stdout, stderr)
    assert_all_optimal_same_objective(read_report(out)[1], ["primal"])


# -- GUROBI (through the stand-in, or the real GAMS when licensed for it) ------------------

ALL_GUROBI = "dual,primal,bar,bar_nox,concurrent"


def gurobi_usable():
    """Why the GAMS under test cannot run GUROBI, or None.  Gurobi's restricted pip
    licence (the stand-in's) stops working on 2027-11-29, and a real GAMS's licence may
    not cover GUROBI: like GAMS's expired licence, a reason to say so, not a failure of
    times-doctor."""
    from gams_select import select_gams
    return select_gams().solver_problem("gurobi")


needs_gurobi = pytest.mark.skipif(bool(gurobi_usable()),
                                  reason="Gurobi cannot run here: %s" % gurobi_usable())


@needs_gurobi
def test_transport_all_gurobi_profiles_parallel(copy_model, gams_path, tmp_path):
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--solver",
                                    "gurobi", "--profiles", ALL_GUROBI, "--threads", "1",
                                    "--parallel", "--max-workers", "3", "--out", out, "--yes"])
    assert code == 0, (stdout, stderr)
    columns, rows = read_report(out)
    assert columns == CSV_COLUMNS
    assert [row["solver"] for row in rows] == ["gurobi"] * 5
    objective = assert_all_optimal_same_objective(rows, ALL_GUROBI.split(","))
    assert objective == pytest.approx(153.675, rel=1e-6)
    for row in rows:
        with open(os.path.join(row["dir"], "%s_run_log.txt" % row["profile"])) as handle:
            log = handle.read()
        assert "Gurobi Optimizer version" in log  # Gurobi's own log, not CPLEX's
        assert "CPXPARAM" not in log
        with open(os.path.join(row["dir"], "gurobi.opt")) as handle:
            assert "Threads 1" in handle.read()


@needs_gurobi
def test_times_style_both_solvers(copy_model, gams_path, tmp_path):
    run_dir = copy_model("times_style")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--solver",
                                    "both", "--profiles", "dual,bar_nox", "--threads", "1",
                                    "--parallel", "--out", out, "--yes"])
    assert code == 0, (stdout, stderr)
    _, rows = read_report(out)
    # Every name expands to cplex:NAME then gurobi:NAME (profiles.py).
    assert [(row["profile"], row["solver"], row["status"]) for row in rows] == [
        ("cplex:dual", "cplex", "completed"), ("gurobi:dual", "gurobi", "completed"),
        ("cplex:bar_nox", "cplex", "completed"), ("gurobi:bar_nox", "gurobi", "completed")]
    for row in rows:
        assert row["model_status"].lower().endswith("optimal"), row
        assert float(row["objective"]) == pytest.approx(82872.208975, rel=1e-6)
