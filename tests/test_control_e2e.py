"""Control from other processes, end to end: real GAMS/CPLEX (market split), real CLI calls.

A non-TTY scan runs in the background; every command is a separate
``python -m times_doctor`` process, as a user in another shell would run it.
"""

import json
import os
import signal
import sys
import time

import pytest

from proc_helpers import wait_until
from scan_helpers import (MARKET_SPLIT_PROFILES as FOUR, cli_env, market_split_args,
                          jobs_by_name as jobs, read_report, read_state, run_cli,
                          session_alive, start_scan)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="/proc session and state checks")


@pytest.fixture
def env(tmp_path):
    runtime = tmp_path / "xdg"
    runtime.mkdir()
    return cli_env({"XDG_RUNTIME_DIR": str(runtime)})


def paused_copy(state):
    """*state* when it shows primal paused, else None."""
    return state if state.get("primal", {}).get("status") == "paused" else None


def moved_on_copy(state, before):
    """*state* once sift's clock has run 1.5 s past its value in *before*, else None."""
    elapsed = state.get("sift", {}).get("elapsed_seconds") or 0
    return state if elapsed > before["sift"]["elapsed_seconds"] + 1.5 else None


def all_started(out, names):
    state = jobs(out)
    return all(state.get(n, {}).get("status") == "running"
               and len(session_alive(state[n]["sid"])) >= 3 for n in names)


def proc_states(sid):
    states = []
    for pid in session_alive(sid):
        with open("/proc/%d/stat" % pid) as handle:
            states.append(handle.read().rsplit(")", 1)[1].split()[0])
    return states


def td(args, env, timeout=180):
    return run_cli(args, timeout=timeout, env=env)


def test_status_cancel_pause_resume_interrupt_from_other_processes(copy_model, gams_path,
                                                                     tmp_path, env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    scan = start_scan(market_split_args(run_dir, gams_path, out, grace_seconds=5), env)
    try:
        names = FOUR.split(",")
        wait_until(lambda: all_started(out, names), 60, message="4 running runs", process=scan)

        code, text, err = td(["status", out], env)
        assert code == 0, err
        assert "4 running" in text and text.count("Running") == 4, text
        code, text, _ = td(["status"], env)
        assert code == 0 and text.startswith("live") and out in text, text
        code, text, _ = td(["status", "--out", out, "--json"], env)
        document = json.loads(text)
        assert document["schema"] == "times-doctor/scan-state"
        assert [j["status"] for j in document["jobs"]] == ["running"] * 4

        # A garbage request is answered with an error and changes nothing.
        requests = os.path.join(out, "times_doctor_out", "scan_runs", "requests")
        with open(os.path.join(requests, "req-garbage.json"), "w") as handle:
            handle.write('{"schema": "times-doctor/control-req')
        response_path = os.path.join(requests, "resp-garbage.json")
        wait_until(lambda: os.path.exists(response_path), 10, message="garbage answered",
                   process=scan)
        with open(response_path) as handle:
            assert "not valid JSON" in json.load(handle)["error"]
        code, text, err = td(["cancel", out, "nope"], env)
        assert code == 2 and "no run matches 'nope'" in err, (text, err)
        assert [j["status"] for j in jobs(out).values()] == ["running"] * 4

        # cancel one by name: gone within its grace, the others go on.
        started = time.monotonic()
        code, text, err = td(["cancel", out, "dual", "--grace-seconds", "3"], env)
        assert code == 0, (text, err)
        assert "dual: cancelled" in text
        assert time.monotonic() - started < 3 + 5
        state = jobs(out)
        assert session_alive(state["dual"]["sid"]) == []
        assert [state[n]["status"] for n in names[1:]] == ["running"] * 3

        # pause: every process of the run stopped (T), its clock stands still.
        code, text, err = td(["pause", out, "primal"], env)
        assert code == 0 and "primal: paused" in text, (text, err)
        sid = state["primal"]["sid"]
        assert set(proc_states(sid)) == set(["T"]), proc_states(sid)
        # The state file is rewritten every second: wait for a copy that shows
        # the pause, then for the other runs' clocks to move on by a second.
        before = wait_until(lambda: paused_copy(jobs(out)), 10,
                            message="primal paused in the state file", process=scan)
        after = wait_until(lambda: moved_on_copy(jobs(out), before), 10,
                           message="sift's clock moving on", process=scan)
        assert after["primal"]["status"] == "paused"
        assert after["primal"]["elapsed_seconds"] == before["primal"]["elapsed_seconds"]
        assert after["sift"]["elapsed_seconds"] > before["sift"]["elapsed_seconds"] + 1

        code, text, err = td(["resume", out, "primal"], env)
        assert code == 0 and "primal: running" in text, (text, err)
        assert "T" not in proc_states(sid)
        wait_until(lambda: jobs(out)["primal"]["elapsed_seconds"]
                   > after["primal"]["elapsed_seconds"] + 0.5, 10,
                   message="clock running again", process=scan)

        # interrupt: CPLEX stops, GAMS writes its listing with the best point
        # (once CPLEX has one: the MIP details show "inc").
        wait_until(lambda: "inc " in (jobs(out)["sift"].get("details") or ""), 120,
                   message="an incumbent for sift", process=scan)
        code, text, err = td(["interrupt", out, "sift"], env)
        assert code == 0 and "sift: interrupted" in text, (text, err)

        code, text, err = td(["cancel", out, "--all", "--grace-seconds", "2"], env)
        assert code == 0, (text, err)
        assert "sift: skipped (already interrupted)" in text
        stdout, stderr = scan.communicate(timeout=60)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
    # An interrupted or cancelled run makes the scan's exit code 3.
    assert scan.returncode == 3, (stdout, stderr)
    assert b"control request: cancel dual" in stdout
    _, rows = read_report(out)
    by_name = dict((row["profile"], row) for row in rows)
    assert [row["profile"] for row in rows] == names
    assert [by_name[n]["status"] for n in names] == [
        "cancelled", "cancelled", "interrupted", "cancelled"]
    sift = by_name["sift"]
    assert float(sift["objective"]) >= 0 and sift["gams_rc"] == "0"
    assert sift["solver_status"] == "8 User Interrupt"
    with open(sift["lst"], errors="replace") as handle:
        assert "User Interrupt" in handle.read()
    log = os.path.join(sift["dir"], "sift_run_log.txt")
    with open(log, errors="replace") as handle:
        assert "aborted" in handle.read()  # CPLEX: "MIP status (113): aborted."
    for job in jobs(out).values():
        assert session_alive(job["sid"]) == []
    assert read_state(out)["exit_code"] == 3
    code, text, err = td(["status"], env)
    assert "No times-doctor scans" in text  # the entry left with the scan
    code, text, err = td(["cancel", out, "dual"], env)
    assert code == 4 and "has finished" in err


def test_sigkilled_scanner_is_reaped_and_a_new_scan_reaps_first(copy_model, gams_path,
                                                                tmp_path, env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    scan = start_scan(market_split_args(run_dir, gams_path, out, "dual,primal,sift", 5,
                                        ["--max-workers", "2"]), env)
    try:
        wait_until(lambda: all_started(out, ["dual", "primal"]), 60, message="2 running",
                   process=scan)
    finally:
        scan.send_signal(signal.SIGKILL)
        scan.communicate()
    state = jobs(out)
    sids = [state[n]["sid"] for n in ("dual", "primal")]
    assert all(session_alive(sid) for sid in sids)  # orphans, still solving

    code, text, _ = td(["status"], env)
    assert text.startswith("STALE"), text
    code, text, err = td(["status", out], env)
    assert "STALE" in text and "times-doctor reap" in text
    code, text, err = td(["pause", out, "dual"], env)
    assert code == 4 and "times-doctor reap" in err

    code, text, err = td(["reap"], env)  # every stale scan of the user
    assert code == 0 and "marked 3 run(s) cancelled" in text, (text, err)
    for sid in sids:
        assert session_alive(sid) == []
    assert [j["status"] for j in jobs(out).values()] == ["cancelled"] * 3
    _, rows = read_report(out)
    assert [(r["profile"], r["status"]) for r in rows] == [
        ("dual", "cancelled"), ("primal", "cancelled"), ("sift", "cancelled")]
    code, text, _ = td(["status"], env)
    assert "No times-doctor scans" in text

    # Kill a second scanner, then start a third: it reaps first and says so.
    scan = start_scan(market_split_args(run_dir, gams_path, out, "dual", 5), env)
    try:
        wait_until(lambda: all_started(out, ["dual"]), 60, message="running", process=scan)
    finally:
        scan.send_signal(signal.SIGKILL)
        scan.communicate()
    orphan_sid = jobs(out)["dual"]["sid"]
    assert session_alive(orphan_sid)
    code, text, err = td(market_split_args(run_dir, gams_path, out, "dual", 5,
                                           ["--timeout-seconds", "1"]), env)
    assert code == 1, (text, err)  # the new run times out
    assert text.count("reaped the dead scan") == 1, text
    assert session_alive(orphan_sid) == []


def test_second_scan_on_the_same_folder_is_refused(tmp_path, fake_gams_path, env):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 600\n")
    out = str(run_dir)
    args = ["scan", str(run_dir), "--gams-path", fake_gams_path, "--profiles", "dual",
            "--threads", "1", "--yes", "--grace-seconds", "1"]
    first = start_scan(args, env)
    try:
        wait_until(lambda: jobs(out).get("dual", {}).get("status") == "running", 60,
                   message="dual running", process=first)
        code, text, err = td(args, env, timeout=60)
        assert code == 2, (text, err)
        assert err.count("\n") == 1 and "another scan (pid %d) is running" % first.pid in err
        assert jobs(out)["dual"]["status"] == "running"
        code, text, err = td(["cancel", str(run_dir), "1"], env)  # by number
        assert code == 0 and "dual: cancelled" in text, (text, err)
        first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 3
