"""Which profile is best, end to end: real GAMS (or the stand-in) around real solvers.

- oversubscribed parallel runs of the bundled demo LP are marked contended,
  and the summary says the ranking rests on them and names the command that
  gives one to trust;
- --confirm 2 re-runs the top two alone, after the scan's own runs, and the
  ranking rests on those runs;
- --cap 1.5 on the market-split MIP with one quick and two hard profiles:
  the hard ones end capped, none of their processes is left, exit 0;
- --repeat 3: each trial's listing echoes its option file, seed included;
- --resume keeps capped and confirmed rows: nothing runs again.
"""

import importlib
import os
import sys

import pytest

from proc_helpers import marked_pids
from scan_helpers import (cli_env, read_report, read_state, recording_gams, run_cli,
                          session_alive, started_profiles, tree_digest)

pytestmark = [
    pytest.mark.gams,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc process checks"),
]

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


def scan_args(run_dir, gams_path, out, profiles, *extra):
    return (["scan", run_dir, "--gams-path", gams_path, "--profiles", profiles, "--threads", "1",
             "--out", out, "--yes"] + list(extra))


def rows_by_profile(out):
    return dict((row["profile"], row) for row in read_report(out)[1])


def listing_of(row):
    with open(row["lst"], errors="replace") as handle:
        return handle.read()


@pytest.fixture
def demo(copy_model):
    """The bundled demo LP (make demo's): its MPS written for the stand-in."""
    run_dir = copy_model("demo")
    sys.path.insert(0, os.path.join(MODELS, "demo"))
    try:
        importlib.import_module("make_demo_mps").write(os.path.join(run_dir, "demo.mps"))
    finally:
        sys.path.pop(0)
    return run_dir


def test_oversubscribed_parallel_runs_are_marked_contended_and_the_summary_says_so(
        demo, gams_path, tmp_path):
    out = str(tmp_path / "out")
    # Four single-threaded runs at once on this machine's CPUs: each gets part of one.
    cpus = os.cpu_count() or 2
    code, stdout, stderr = run_cli(scan_args(
        demo, gams_path, out, "primal,dual,sift,bar", "--parallel", "--max-workers",
        str(max(4, 2 * cpus))))
    assert code == 0, (stdout, stderr)
    rows = rows_by_profile(out)
    for row in rows.values():
        assert row["contended"] == "yes", row
        assert float(row["cpu_share"]) < 0.8 and float(row["cpu_seconds"]) > 0
        assert float(row["solver_seconds"]) > 0 and float(row["det_ticks"]) > 0
        assert float(row["gams_seconds"]) == pytest.approx(
            float(row["runtime_seconds"]) - float(row["solver_seconds"]), abs=0.002)
    assert "This ranking rests on contended runs (" in stdout
    assert "re-run the best alone: times-doctor scan %s --resume --out %s --confirm 2" % (
        demo, out) in stdout
    jobs = dict((job["name"], job) for job in read_state(out)["jobs"])
    assert jobs["dual"]["contended"] is True and "contended: " in jobs["dual"]["details"]
    with open(os.path.join(out, "times_doctor_out", "scan_report.html")) as handle:
        page = handle.read()
    assert "This ranking rests on contended runs" in page and 'id="timing"' in page


def test_confirm_2_re_runs_the_top_two_alone_and_ranks_on_those(copy_model, gams_path,
                                                                tmp_path):
    run_dir, out = copy_model("transport"), str(tmp_path / "out")
    before = tree_digest(run_dir)
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, out, "dual,primal,sift,bar",
                                             "--parallel", "--max-workers", "4",
                                             "--confirm", "2"))
    assert code == 0, (stdout, stderr)
    assert tree_digest(run_dir) == before  # the answer is in times_doctor_out, not RUN_DIR
    _, rows = read_report(out)
    scan_rows = [row for row in rows if row["run_kind"] == "scan"]
    confirm_rows = [row for row in rows if row["run_kind"] == "confirm"]
    # The two best on the scan's own times, each re-run once, best first.
    def by_time(row):  # ties go by name, as the ranking's own order does
        return float(row["runtime_seconds"]), row["trial_of"]
    on_scan = sorted(scan_rows, key=by_time)[:2]
    assert [row["profile"] for row in confirm_rows] == [
        row["profile"] + ".confirm" for row in on_scan]
    # Alone: each started after every scan run and the one before it had ended.
    jobs = dict((job["name"], job) for job in read_state(out)["jobs"])
    scan_end = max(jobs[row["profile"]]["ended_at"] for row in scan_rows)
    first, second = (jobs[row["profile"]] for row in confirm_rows)
    assert scan_end <= first["started_at"] and first["ended_at"] <= second["started_at"]
    # The same work alone as in the scan: the same deterministic ticks.
    by_name = dict((row["profile"], row) for row in rows)
    for row in confirm_rows:
        assert row["det_ticks"] == by_name[row["trial_of"]]["det_ticks"]
    # Ranked on the confirmation runs: their order, and the CSV says so.
    confirmed = sorted(confirm_rows, key=by_time)
    for rank, row in enumerate(confirmed, 1):
        for each in (row, by_name[row["trial_of"]]):
            assert (each["rank"], each["rank_basis"].split(",")[0]) == (
                str(rank), "confirm: 1 run alone")
    assert all(row["rank_basis"].startswith("scan: 1 run") for row in scan_rows
               if row["profile"] not in [r["trial_of"] for r in confirm_rows])
    winner = confirmed[0]["trial_of"]
    assert "Winner: %s, " % winner in stdout
    best = os.path.join(out, "times_doctor_out", "best", "cplex.opt")
    assert "Best option file: %s" % best in stdout
    with open(best) as handle:
        text = handle.read()
    with open(os.path.join(by_name[winner]["dir"], "cplex.opt")) as handle:
        assert text.endswith(handle.read())  # the option file as GAMS read it
    assert text.startswith("* times-doctor: the best CPLEX profile of scan ")


def market_split_with_quick(copy_model, tmp_path):
    """The market-split MIP and an --opt-dir with "quick": optimal (by tolerance) at once."""
    run_dir = copy_model("marketsplit")
    opts = tmp_path / "opts" / "cplex"
    opts.mkdir(parents=True)
    # An integrality tolerance of 0.5 (CPLEX's largest) takes the root LP's
    # point as integral: objective 0 = the bound, "integer optimal solution"
    # (MIP status 101, model status 1 Optimal) within a second, where the
    # other profiles search for many minutes.  A cheat, but an optimal one.
    (opts / "quick.opt").write_text("epint 0.5\n")
    return run_dir, str(tmp_path / "opts")


def test_cap_stops_the_hard_profiles_leaves_no_process_and_passes(copy_model, gams_path,
                                                                  tmp_path):
    run_dir, opts = market_split_with_quick(copy_model, tmp_path)
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(
        run_dir, gams_path, out, "quick,dual,primal", "--opt-dir", opts, "--parallel",
        "--max-workers", "3", "--gams-arg", "solvelink=0", "--cap", "1.5"))
    assert code == 0, (stdout, stderr)
    rows = rows_by_profile(out)
    assert rows["quick"]["status"] == "completed"
    best = float(rows["quick"]["runtime_seconds"])
    for name in ("dual", "primal"):
        assert rows[name]["status"] == "capped", rows[name]
        assert rows[name]["stop_reason"].startswith("could not beat quick: 1.5 x ")
        assert float(rows[name]["runtime_seconds"]) >= 1.5 * best
    state = read_state(out)
    for job in state["jobs"]:
        if job.get("sid"):
            assert session_alive(job["sid"]) == [], job["name"]
    assert marked_pids("%s/" % state["scan_id"]) == []
    assert "dual: capped" in stdout and "To run what did not complete" not in stdout
    assert state["exit_code"] == 0


@pytest.mark.parametrize("solver, keyword", [("cplex", "randomseed"), ("gurobi", "seed")])
def test_repeat_seeds_reach_the_solver(copy_model, gams_path, tmp_path, solver, keyword):
    run_dir, out = copy_model("transport"), str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, out, "dual", "--solver",
                                             solver, "--repeat", "3"))
    assert code == 0, (stdout, stderr)
    rows = rows_by_profile(out)
    assert sorted(rows) == ["dual", "dual.r2", "dual.r3"]
    # The listing echoes each option-file line as the solver link set it.
    assert "--- Setting '%s'" % keyword not in listing_of(rows["dual"])
    for name, seed in (("dual.r2", 1), ("dual.r3", 2)):
        assert rows[name]["seed"] == str(seed)
        assert "--- Setting '%s': %d" % (keyword, seed) in listing_of(rows[name])
    assert "scan: median of 3 runs" in stdout


def test_resume_keeps_capped_and_confirmed_rows(copy_model, gams_path, tmp_path):
    run_dir, opts = market_split_with_quick(copy_model, tmp_path)
    out = str(tmp_path / "out")
    wrapper, calls = recording_gams(tmp_path, gams_path)
    code, stdout, stderr = run_cli(scan_args(
        run_dir, wrapper, out, "quick,dual", "--opt-dir", opts, "--parallel",
        "--max-workers", "2", "--cap", "1.5", "--confirm", "1"))
    assert code == 0, (stdout, stderr)
    first = rows_by_profile(out)
    assert [first[name]["status"] for name in ("quick", "dual", "quick.confirm")] == [
        "completed", "capped", "completed"]
    assert sorted(started_profiles(calls, out)) == ["dual", "quick", "quick.confirm"]
    code, stdout, stderr = run_cli(["scan", run_dir, "--resume", "--out", out],
                                   env=cli_env())
    assert code == 0, (stdout, stderr)
    assert started_profiles(calls, out) == []  # nothing ran again
    assert "kept (capped, inputs unchanged): dual" in stdout
    assert "kept for the confirmation, if it runs the same profiles alone again: " \
        "quick.confirm" in stdout
    rows = rows_by_profile(out)
    for name in ("quick", "dual", "quick.confirm"):
        assert rows[name]["status"] == first[name]["status"]
        assert rows[name]["runtime_seconds"] == first[name]["runtime_seconds"]
    jobs = dict((job["name"], job) for job in read_state(out)["jobs"])
    assert all(jobs[name]["kept"] for name in ("quick", "dual", "quick.confirm"))
    assert rows["quick"]["rank_basis"] == first["quick"]["rank_basis"]
