"""Control from other processes, end to end: real GAMS/CPLEX (market split), real CLI calls.

A non-TTY scan runs in the background; every command is a separate
``python -m times_doctor`` process, as a user in another shell would run it.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from scan_helpers import cli_env, read_report, read_state, run_cli, session_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="/proc session and state checks")

FOUR = "dual,primal,sift,bar_nox"


@pytest.fixture
def env(tmp_path):
    runtime = tmp_path / "xdg"
    runtime.mkdir()
    return cli_env({"XDG_RUNTIME_DIR": str(runtime)})


def start_scan(args, env):
    return subprocess.Popen([sys.executable, "-m", "times_doctor"] + args,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def market_split_args(run_dir, gams, out, profiles=FOUR, extra=()):
    return ["scan", run_dir, "--gams-path", gams, "--profiles", profiles, "--threads", "1",
            "--parallel", "--max-workers", "4", "--gams-arg", "solvelink=0",
            "--grace-seconds", "5", "--out", out, "--yes"] + list(extra)


def jobs(out):
    try:
        return dict((j["name"], j) for j in read_state(out)["jobs"])
    except (IOError, ValueError, KeyError):
        return {}


def wait_for(predicate, proc=None, timeout=60, message="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError("scanner exited (%s) waiting for %s: %r"
                                 % (proc.returncode, message, proc.communicate()))
        assert time.monotonic() < deadline, "timed out waiting for %s" % message
        time.sleep(0.05)


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
    scan = start_scan(market_split_args(run_dir, gams_path, out), env)
    try:
        names = FOUR.split(",")
        wait_for(lambda: all_started(out, names), scan, message="4 running runs")

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
        wait_for(lambda: os.path.exists(response_path), scan, 10, "garbage answered")
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
        time.sleep(1.2)  # the state file's clocks are refreshed every second
        before = jobs(out)
        time.sleep(2.5)
        after = jobs(out)
        assert after["primal"]["status"] == "paused"
        assert after["primal"]["elapsed_seconds"] == before["primal"]["elapsed_seconds"]
        assert after["sift"]["elapsed_seconds"] > before["sift"]["elapsed_seconds"] + 1

        code, text, err = td(["resume", out, "primal"], env)
        assert code == 0 and "primal: running" in text, (text, err)
        assert "T" not in proc_states(sid)
        wait_for(lambda: jobs(out)["primal"]["elapsed_seconds"]
                 > after["primal"]["elapsed_seconds"] + 0.5, scan, 10, "clock running again")

        # interrupt: CPLEX stops, GAMS writes its listing with the best point
        # (once CPLEX has one: the MIP details show "inc").
        wait_for(lambda: "inc " in (jobs(out)["sift"].get("details") or ""), scan, 120,
                 "an incumbent for sift")
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
    scan = start_scan(market_split_args(run_dir, gams_path, out, "dual,primal,sift",
                                        ["--max-workers", "2"]), env)
    try:
        wait_for(lambda: all_started(out, ["dual", "primal"]), scan, message="2 running")
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
    scan = start_scan(market_split_args(run_dir, gams_path, out, "dual"), env)
    try:
        wait_for(lambda: all_started(out, ["dual"]), scan, message="running")
    finally:
        scan.send_signal(signal.SIGKILL)
        scan.communicate()
    orphan_sid = jobs(out)["dual"]["sid"]
    assert session_alive(orphan_sid)
    code, text, err = td(market_split_args(run_dir, gams_path, out, "dual",
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
        wait_for(lambda: jobs(out).get("dual", {}).get("status") == "running", first)
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
