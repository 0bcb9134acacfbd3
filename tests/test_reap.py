"""reap: only provably-ours processes die; forged or recycled records touch nothing."""

import csv
import json
import os
import subprocess
import sys

import pytest

from times_doctor import paths as scanfiles
from times_doctor.remote import reap, sessions
from times_doctor.proc._posix import PosixOsApi
from times_doctor.errors import ControlError
from times_doctor.job_control import JobRegistry
from times_doctor.proc.procgroup import GroupRef
from times_doctor.scan.state_file import StateFileWriter
from times_doctor.states import RunStatus

from proc_helpers import wait_until
from scan_helpers import session_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")

API = PosixOsApi()


def start_time(pid):
    return API.process_info(pid).start_time


def alive(pid):
    info = API.process_info(pid)
    return info is not None and not info.is_zombie


def write_state(out, jobs, report_rows=None, finished=False):
    """The state file a scanner that died would leave, written by the real writer."""
    os.makedirs(scanfiles.runs_root(out))
    registry = JobRegistry()
    job_info = {}
    for spec in jobs:
        name = spec["name"]
        registry.register(name, work_dir="/w/" + name)
        job_info[name] = {"solver": "cplex", "lst": ""}
        if spec["status"] == "waiting":
            continue
        registry.try_start(name)
        if spec["pid"] is not None:
            registry.attach_process(name, spec["pid"], GroupRef(
                spec["pid"], pgid=spec["sid"], sid=spec["sid"], start_time=spec["start"]))
        registry.set_status(name, RunStatus.RUNNING)
        if spec["status"] != "running":
            registry.set_status(name, spec["status"], returncode=0)
    report = scanfiles.report_path(out)
    writer = StateFileWriter(scanfiles.state_path(out), registry,
                             {"scan_id": "999-1", "report": report}, job_info)
    if finished:
        writer.finish(None)
    else:
        writer.write()
    if report_rows is not None:
        with open(report, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=reap.CSV_COLUMNS)
            writer.writeheader()
            for row in report_rows:
                writer.writerow(dict((c, row.get(c, "")) for c in reap.CSV_COLUMNS))
    return report


def job(name, pid=None, sid=None, start=None, status="running"):
    """What write_state() makes of one run: its process as the scanner recorded it."""
    return {"name": name, "status": status, "pid": pid, "sid": sid, "start": start}


@pytest.fixture
def sleeper():
    procs = []

    def start(new_session=True, argv=None):
        proc = subprocess.Popen(argv or ["sleep", "600"], start_new_session=new_session)
        procs.append(proc)
        # Until exec has happened: the record must name sleep, not the forked Python.
        assert wait_until(lambda: API.process_info(proc.pid) is not None and (
            argv is not None or open("/proc/%d/cmdline" % proc.pid, "rb").read()[:5] == b"sleep"),
            5), "sleep never started"
        return proc
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def read_rows(report):
    with open(report, newline="") as handle:
        return list(csv.DictReader(handle))


def test_forged_start_time_touches_nothing(tmp_path, sleeper):
    victim = sleeper()
    out = str(tmp_path)
    write_state(out, [job("dual", victim.pid, victim.pid, start_time(victim.pid) + 1)])
    result = reap.reap(out, grace_seconds=0.2)
    assert alive(victim.pid)
    assert result.killed == [] and "another process" in result.untouched["dual"]


def test_pid_that_does_not_lead_the_recorded_session_is_untouched(tmp_path, sleeper):
    victim = sleeper(new_session=False)  # in the test's own session
    assert os.getsid(victim.pid) != victim.pid
    out = str(tmp_path)
    write_state(out, [job("dual", victim.pid, victim.pid, start_time(victim.pid))])
    result = reap.reap(out, grace_seconds=0.2)
    assert alive(victim.pid)
    assert result.killed == [] and "no longer leads" in result.untouched["dual"]


def test_record_without_session_or_start_time_is_untouched(tmp_path, sleeper):
    victim = sleeper()
    out = str(tmp_path)
    write_state(out, [job("dual", victim.pid, None, start_time(victim.pid)),
                      job("primal", victim.pid, victim.pid, None)])
    result = reap.reap(out, grace_seconds=0.2)
    assert alive(victim.pid) and result.killed == []
    assert set(result.untouched) == set(["dual", "primal"])


def test_live_leader_whose_record_matches_loses_its_whole_session(tmp_path, sleeper):
    # A leader that ignores SIGTERM with a child in its session.
    leader = sleeper(argv=[sys.executable, "-c",
                           "import signal, subprocess, time\n"
                           "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                           "subprocess.Popen(['sleep', '600'])\n"
                           "time.sleep(600)\n"])
    assert wait_until(lambda: len(session_alive(leader.pid)) >= 2, 10), "the child never started"
    out = str(tmp_path)
    report = write_state(out, [job("dual", leader.pid, leader.pid, start_time(leader.pid)),
                               job("primal", status="completed"),
                               job("sift", status="waiting")],
                         report_rows=[{"profile": "primal", "solver": "cplex",
                                       "status": "completed", "objective": "4.0"}])
    result = reap.reap(out, grace_seconds=0.3)
    leader.wait(timeout=10)
    assert session_alive(leader.pid) == []
    assert leader.pid in result.killed and result.untouched == {}
    assert sorted(result.cancelled) == ["dual", "sift"]
    doc = json.load(open(os.path.join(out, "times_doctor_out", "scan_runs",
                                      "scan_state.json")))
    assert [j["status"] for j in doc["jobs"]] == ["cancelled", "completed", "cancelled"]
    assert doc["finished"] is True and doc["reaped"]["killed_pids"] == result.killed
    rows = read_rows(report)
    assert [(r["profile"], r["status"], r["objective"]) for r in rows] == [
        ("dual", "cancelled", ""), ("primal", "completed", "4.0"), ("sift", "cancelled", "")]
    assert list(rows[0]) == list(reap.CSV_COLUMNS)
    # The page beside the CSV shows the reaped rows too, not the dead scan's last view.
    with open(os.path.join(os.path.dirname(report), "scan_report.html")) as handle:
        page = handle.read()
    assert all(name in page for name in ("dual", "primal", "sift"))
    assert page.count(">Cancelled<") >= 2 and ">Completed<" in page
    # A second reap finds nothing to do.
    assert reap.reap(out) is None


def test_dead_leader_leftovers_in_its_session_are_found(tmp_path, sleeper):
    # The leader starts a child in its session and exits; we reap the leader.
    leader = sleeper(argv=["sh", "-c", "sleep 600 & echo $!"])
    leader.wait(timeout=10)
    leftovers = session_alive(leader.pid)
    assert len(leftovers) == 1
    out = str(tmp_path)
    write_state(out, [job("dual", leader.pid, leader.pid, start_time(leftovers[0]) - 1)])
    result = reap.reap(out, grace_seconds=0.5)
    assert result.killed == leftovers
    assert wait_until(lambda: session_alive(leader.pid) == [], 5), session_alive(leader.pid)


def test_dead_leader_rule_spares_processes_older_than_the_record(tmp_path, sleeper):
    leader = sleeper(argv=["sh", "-c", "sleep 600 & echo $!"])
    leader.wait(timeout=10)
    leftover = session_alive(leader.pid)[0]
    out = str(tmp_path)
    write_state(out, [job("dual", leader.pid, leader.pid, start_time(leftover) + 100)])
    result = reap.reap(out, grace_seconds=0.2)
    assert result.killed == [] and alive(leftover)
    os.kill(leftover, 9)


def test_reap_refuses_a_live_scanner(tmp_path):
    out = str(tmp_path)
    write_state(out, [job("dual")])
    lock = sessions.ScanLock(out).acquire()
    try:
        with pytest.raises(ControlError) as info:
            reap.reap(out)
        assert "is alive" in str(info.value) and info.value.exit_code == 2
    finally:
        lock.release()


def test_reap_without_a_state_file(tmp_path):
    with pytest.raises(ControlError) as info:
        reap.reap(str(tmp_path))
    assert "no scan at" in str(info.value)


def test_finished_scan_has_nothing_to_reap(tmp_path):
    out = str(tmp_path)
    write_state(out, [job("dual", status="completed")], finished=True)
    assert reap.reap(out) is None
