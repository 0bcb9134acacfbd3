"""`status --watch` and the dashboard read a Windows scan's state file for 60 s while its
runs change state (the Windows leg, under Wine).

Both readers are Windows processes of their own; the scanner replaces the
state file at least once a second and on every change, which Windows refuses
while a reader has the file open (atomic.py): neither side may fail for it.
"""

import os
import threading
import time

import pytest

if os.name != "nt":
    pytest.skip("Windows only: runs on the Windows leg (make test, tests/wine_leg.py)",
                allow_module_level=True)

from proc_helpers import wait_until  # noqa: E402 (below the skip)
from scan_helpers import (Process, cli_env, jobs_by_name,  # noqa: E402 (below the skip)
                          read_report, run_cli, start_scan)
from wine_helpers import model, running, scan_args  # noqa: E402 (below the skip)

WATCH_SECONDS = 60.0
NAMES = ["dual", "primal", "sift", "bar"]


def test_status_watch_and_dashboard_follow_a_scan_for_60_seconds(tmp_path, gams_exe):
    env = cli_env({"LOCALAPPDATA": str(tmp_path / "appdata")})
    run_dir = model(str(tmp_path / "run"), ["solver 20 600"])
    out = str(tmp_path / "out")
    scan = start_scan(scan_args(run_dir, gams_exe, out, ",".join(NAMES)), env)
    watcher = dashboard = None
    polls = {"ok": 0, "failed": []}
    seen = dict((name, []) for name in NAMES)  # the statuses the dashboard showed, in order
    stop = threading.Event()
    try:
        wait_until(lambda: running(out, NAMES), 120, message="4 running runs", process=scan)
        watcher = Process(["status", "--watch", out], env)
        dashboard = Process(["dashboard", out], env)
        client = dashboard.wait_for_url()

        def poll():
            while not stop.wait(0.2):
                try:
                    code, listing = client.request("GET", "/api/scans")
                except Exception as exc:  # broad on purpose: each failure is kept to assert on
                    polls["failed"].append(repr(exc))
                    continue
                if code != 200 or listing.get("errors"):
                    polls["failed"].append((code, listing.get("errors")))
                    continue
                polls["ok"] += 1
                for job in listing["scans"][0]["jobs"]:
                    if not seen[job["name"]] or seen[job["name"]][-1] != job["status"]:
                        seen[job["name"]].append(job["status"])
        poller = threading.Thread(target=poll)
        poller.daemon = True
        poller.start()

        started = time.monotonic()
        plan = [(5, ["pause", out, "primal"]), (15, ["resume", out, "primal"]),
                (25, ["cancel", out, "sift", "--grace-seconds", "1"]),
                (35, ["interrupt", out, "bar"]), (42, ["pause", out, "dual"]),
                (50, ["resume", out, "dual"]),
                (WATCH_SECONDS, ["cancel", out, "--all", "--grace-seconds", "1"])]
        answers = []
        for at, args in plan:
            wait_until(lambda: time.monotonic() - started >= at, at + 5, interval=0.1,
                       process=scan, message="%d s into the watch" % at)
            answers.append(run_cli(args, env=env, timeout=120))
            if args[0] == "interrupt":
                bar_details = jobs_by_name(out)["bar"]["details"]
        stdout, stderr = scan.communicate(timeout=120)
        assert watcher.wait(60) == 0, watcher.text()
        stop.set()
        poller.join(60)
    finally:
        stop.set()
        for process in (watcher, dashboard):
            if process is not None:
                process.kill()
        if scan.poll() is None:
            scan.kill()
            scan.wait()
    assert scan.returncode == 3, (stdout, stderr)
    assert b"internal error" not in stderr and b"warning: could not" not in stdout, stdout
    assert [code for code, _, _ in answers] == [0, 0, 0, 1, 0, 0, 0], answers
    assert "bar: running (interrupt not available" in answers[3][1]
    # The dashboard answered all along and saw every change.
    assert polls["failed"] == [] and polls["ok"] >= 60, polls
    assert seen["primal"] == ["running", "paused", "running", "cancelled"], seen
    assert seen["dual"] == ["running", "paused", "running", "cancelled"], seen
    assert seen["sift"] == ["running", "cancelled"], seen
    assert seen["bar"] == ["running", "cancelled"], seen
    # status --watch printed a block per change and ended when every run had.
    text = "".join(watcher.out)
    assert text.count("Paused") >= 2, text
    assert text.rstrip().splitlines()[-2].endswith("4 cancelled"), text
    assert watcher.err == [], watcher.text()
    assert [row["status"] for row in read_report(out)[1]] == ["cancelled"] * 4
    assert bar_details.startswith("interrupt not available"), bar_details
