"""The SLURM launcher (issue 13): pure parts with fakes, then a real one-node cluster.

The end-to-end tests run real slurmctld/slurmd/munged (the session fixture
``slurm_cluster`` in conftest.py, started as root in a temporary folder), the
GAMS under test and real solvers.  The cluster has this machine's CPUs (2
here), so with ``--threads 1`` two runs solve at once and the rest wait in
SLURM's queue.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from proc_helpers import is_alive, marked_pids, wait_until
from pty_helpers import PtyProcess, open_cancel_menu, python_argv, wait_out_double_interrupt
from scan_helpers import (CSV_COLUMNS, cli_env, jobs_by_name as jobs, read_report, read_state,
                          run_cli, start_scan)

from times_doctor import launch_slurm, launchers
from times_doctor.job_control import JobRegistry
from times_doctor.state_file import record_fields
from times_doctor.errors import UsageError
from times_doctor.states import RunStatus

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SLURM runs on Linux")

FOUR = "dual,primal,sift,bar_nox"


# -- pure parts ------------------------------------------------------------------------

def test_parse_job_state_from_scontrol_show_job():
    text = ("JobId=7 JobName=td-1-2-dual\n   JobState=TIMEOUT Reason=TimeLimit "
            "Dependency=(null)\n")
    assert launch_slurm.parse_job_state(text) == ("TIMEOUT", "TimeLimit")
    assert launch_slurm.parse_job_state("   JobState=CANCELLED Reason=None x") == (
        "CANCELLED", None)
    assert launch_slurm.parse_job_state("slurm_load_jobs error: Invalid job id") == (None, None)


def test_ended_by_slurm_rows():
    assert launch_slurm.ended_by_slurm("TIMEOUT", "TimeLimit") == (
        RunStatus.TIMEOUT, "SLURM ended the job: time limit, TIMEOUT (TimeLimit)")
    assert launch_slurm.ended_by_slurm("NODE_FAIL", None) == (
        RunStatus.FAILED, "SLURM ended the job: NODE_FAIL")
    assert launch_slurm.ended_by_slurm("PREEMPTED", "Preempted") == (
        RunStatus.FAILED, "SLURM ended the job: PREEMPTED (Preempted)")
    status, message = launch_slurm.ended_by_slurm("RUNNING", None)
    assert status == RunStatus.FAILED and "without a result (job state RUNNING)" in message


def test_job_name_carries_scan_id_and_profile():
    assert launch_slurm.job_name("123-456", "bar_nox") == "td-123-456-bar_nox"
    assert launch_slurm.job_name("1-2", "my profile/x") == "td-1-2-my_profile_x"


def test_choose_launcher_flag_env_and_refusal(tmp_path):
    assert launchers.choose_launcher(None, {}) == "local"
    assert launchers.choose_launcher("local", {"TD_LAUNCHER": "slurm"}) == "local"
    with pytest.raises(UsageError) as info:
        launchers.choose_launcher("pbs", {})
    assert str(info.value) == "--launcher must be one of local|slurm, got 'pbs' (env TD_LAUNCHER)"
    # slurm from the environment, refused on a machine without SLURM's commands.
    with pytest.raises(UsageError) as info:
        launchers.choose_launcher(None, {"TD_LAUNCHER": "slurm", "PATH": str(tmp_path)})
    assert "--launcher slurm needs sbatch, scancel, squeue, scontrol on PATH" in str(info.value)


def test_slurm_fields_are_part_of_the_run_record():
    registry = JobRegistry()
    registry.register("dual")
    assert registry.get("dual").slurm_job_id is None
    registry.update("dual", slurm_job_id="7", slurm_mode="batch", slurm_node="n1")
    snap = registry.get("dual")
    assert (snap.slurm_job_id, snap.slurm_mode, snap.slurm_node) == ("7", "batch", "n1")
    fields = record_fields(snap)
    assert fields["slurm_job_id"] == "7" and fields["slurm_step_id"] is None


def test_check_commands_names_what_is_missing(tmp_path):
    with pytest.raises(UsageError) as info:
        launch_slurm.check_commands({"PATH": str(tmp_path)})
    assert "needs sbatch, scancel, squeue, scontrol on PATH" in str(info.value)
    with pytest.raises(UsageError) as info:
        launch_slurm.check_commands({"PATH": str(tmp_path), "SLURM_JOB_ID": "5"})
    assert "needs srun, scancel" in str(info.value)


@pytest.mark.parametrize("answer, exclusive", [
    (b"NO\n", True), (b"OK\n", False), (b"YES\n", False), (b"USER\n", False), (b"\n", None)])
def test_job_is_exclusive_reads_squeues_oversubscribe(answer, exclusive):
    from times_doctor import slurm_task
    calls = []

    def call(argv, **kwargs):
        calls.append(argv)
        return answer
    assert slurm_task.job_is_exclusive("42", call=call) is exclusive
    assert calls == [["squeue", "-h", "-j", "42", "-o", "%h"]]


def test_job_is_exclusive_without_a_job_or_an_answer_is_unknown():
    from times_doctor import slurm_task

    def broken(argv, **kwargs):
        raise OSError("no squeue")
    assert slurm_task.job_is_exclusive(None) is None
    assert slurm_task.job_is_exclusive("42", call=broken) is None


class FakeCommands(object):
    """squeue answers from a table; every other command is recorded and succeeds."""

    def __init__(self, listed):
        self.listed = listed
        self.calls = []

    def jobs_of(self, ids):
        return dict((i, self.listed[i]) for i in ids if i in self.listed)

    def call(self, argv, env=None):
        self.calls.append(argv)
        return 0, "", ""


def test_reap_jobs_cancels_only_jobs_whose_name_and_user_match():
    me = __import__("pwd").getpwuid(os.getuid()).pw_name
    jobs = [
        {"name": "dual", "slurm_job_id": "11", "slurm_mode": "batch"},
        {"name": "primal", "slurm_job_id": "12", "slurm_mode": "batch"},  # forged: other name
        {"name": "sift", "slurm_job_id": "13", "slurm_mode": "batch"},    # another user's
        {"name": "bar", "slurm_job_id": "14", "slurm_mode": "batch"},     # SLURM forgot it
        {"name": "bar_nox", "slurm_job_id": "15", "slurm_mode": "step",
         "slurm_step_id": "2"},
        {"name": "pending_step", "slurm_job_id": "15", "slurm_mode": "step",
         "slurm_step_id": None},
        {"name": "local", "pid": 99},
    ]
    fake = FakeCommands({"11": ("td-S-dual", me), "12": ("my-own-job", me),
                         "13": ("td-S-sift", "somebody"), "15.2": ("td-S-bar_nox", me)})
    cancelled, untouched = launch_slurm.reap_jobs(jobs, "S", os.getuid(), fake)
    assert cancelled == ["11", "15.2"]
    assert fake.calls == [["scancel", "11"], ["scancel", "15.2"]]
    assert sorted(untouched) == ["primal", "sift"]
    assert "'my-own-job'" in untouched["primal"] and "somebody" in untouched["sift"]


# -- a real cluster ------------------------------------------------------------------------

@pytest.fixture
def env(tmp_path, slurm_cluster):
    runtime = tmp_path / "xdg"
    runtime.mkdir()
    return slurm_cluster.env(cli_env({"XDG_RUNTIME_DIR": str(runtime)}))


def scan_args(run_dir, gams, out, profiles=FOUR, extra=()):
    return ["scan", run_dir, "--gams-path", gams, "--profiles", profiles, "--threads", "1",
            "--parallel", "--grace-seconds", "3", "--out", out, "--yes",
            "--launcher", "slurm"] + list(extra)


def wait_for(predicate, proc=None, timeout=90, message="condition"):
    """proc_helpers.wait_until, failing with *message*, or at once if the scanner *proc* exits."""
    return wait_until(predicate, timeout, interval=0.1, message=message, process=proc)


def queue(cluster):
    """{job id: (state, name)} of what squeue still lists."""
    found = {}
    for line in cluster.run(["squeue", "-h", "-o", "%i|%T|%j"]).splitlines():
        job_id, state, name = line.strip().split("|")
        found[job_id] = (state, name)
    return found


# What differs between two runs of one profile: its times, where it ran, what it cost, how
# contended it was, and so its rank.  Not its deterministic ticks: the same work, the same ticks.
MEASURED = ("runtime_seconds", "dir", "lst", "solver_seconds", "gams_seconds", "cpu_seconds",
            "cpu_share", "load_avg", "cpus", "contended", "exclusive_node", "rank", "rank_basis")


def comparable(rows):
    return [dict((k, v) for k, v in row.items() if k not in MEASURED) for row in rows]


@pytest.mark.gams
def test_four_profiles_via_sbatch_and_inside_salloc_match_a_local_scan(
        copy_model, gams_path, tmp_path, env, slurm_cluster):
    run_dir = copy_model("transport")
    profiles = "dual,primal,sift,bar"
    local_out = str(tmp_path / "local")
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, local_out, profiles,
                                             ["--launcher", "local"]), env=env)
    assert code == 0, (stdout, stderr)
    _, local_rows = read_report(local_out)

    # From "a login node": one batch job per profile.
    out = str(tmp_path / "sbatch")
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, out, profiles), env=env)
    assert code == 0, (stdout, stderr)
    columns, rows = read_report(out)
    assert columns == CSV_COLUMNS
    assert comparable(rows) == comparable(local_rows)
    assert [row["status"] for row in rows] == ["completed"] * 4
    state = read_state(out)
    assert state["launcher"] == "slurm" and state["exit_code"] == 0
    for row in rows:
        # Measured by the task on the node, reported in its record: not exclusive here.
        assert float(row["cpu_seconds"]) > 0 and float(row["solver_seconds"]) >= 0
        assert row["exclusive_node"] == "no" and row["det_ticks"]
    for job in state["jobs"]:
        assert job["slurm_mode"] == "batch" and job["slurm_job_id"].isdigit()
        assert job["slurm_exclusive"] is False and job["slurm_run_seconds"] > 0
        assert job["slurm_node"] == slurm_cluster.node
        assert job["slurm_job_name"] == "td-%s-%s" % (state["scan_id"], job["name"])
        assert job["pid"] is None and job["sid"] is None  # nothing local for reap to touch
        with open(os.path.join(job["work_dir"], "slurm_record.json")) as handle:
            assert json.load(handle)["slurm_job_id"] == job["slurm_job_id"]

    # Inside an allocation of 2 CPUs: one job step per profile, 2 at a time.
    out = str(tmp_path / "salloc")
    salloc = subprocess.Popen(
        ["salloc", "--ntasks=2", "--cpus-per-task=1", sys.executable, "-m", "times_doctor"]
        + scan_args(run_dir, gams_path, out, profiles), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout, stderr = salloc.communicate(timeout=300)
    assert salloc.returncode == 0, (stdout, stderr)
    _, rows = read_report(out)
    assert comparable(rows) == comparable(local_rows)
    state = read_state(out)
    job_ids = set(job["slurm_job_id"] for job in state["jobs"])
    assert len(job_ids) == 1  # the allocation's
    assert sorted(job["slurm_step_id"] for job in state["jobs"]) == ["0", "1", "2", "3"]
    assert set(job["slurm_mode"] for job in state["jobs"]) == set(["step"])
    assert slurm_cluster.job_ids() == []


@pytest.mark.gams
def test_cancel_pause_resume_interrupt_through_slurm(copy_model, gams_path, tmp_path, env,
                                                     slurm_cluster):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    names = FOUR.split(",")
    scan = start_scan(scan_args(run_dir, gams_path, out, extra=[
        "--gams-arg", "solvelink=0", "--max-workers", "4"]), env)
    try:
        def statuses():
            state = jobs(out)
            return dict((n, state.get(n, {}).get("status")) for n in names)

        # The cluster has 2 CPUs: two runs solve, the other two wait in
        # SLURM's queue (which two depends on the order the workers submit).
        wait_for(lambda: list(statuses().values()).count("running") == 2, scan,
                 message="two runs running")
        state = jobs(out)
        scan_id = read_state(out)["scan_id"]
        first, second = [n for n in names if state[n]["status"] == "running"]
        waiting = [n for n in names if n not in (first, second)]
        listed = queue(slurm_cluster)
        assert [listed[state[n]["slurm_job_id"]][0] for n in waiting] == ["PENDING"] * 2

        # times-doctor cancel of a running run: its job leaves squeue, nothing of it is left.
        code, text, err = run_cli(["cancel", out, first, "--grace-seconds", "2"], env=env)
        assert code == 0 and "%s: cancelled" % first in text, (text, err)
        first_job = state[first]["slurm_job_id"]
        wait_for(lambda: first_job not in queue(slurm_cluster), scan, 30, "the job gone")
        assert marked_pids("%s/%s" % (scan_id, first)) == []
        assert not is_alive(jobs(out)[first]["slurm_task_pid"])

        # pause: SLURM shows the job suspended, every process of it is stopped.
        code, text, err = run_cli(["pause", out, second], env=env)
        assert code == 0 and "%s: paused" % second in text, (text, err)
        second_job = state[second]["slurm_job_id"]
        assert queue(slurm_cluster)[second_job][0] == "SUSPENDED"
        pids = marked_pids("%s/%s" % (scan_id, second)) + [
            jobs(out)[second]["slurm_task_pid"]]
        assert len(pids) >= 3  # the task, GAMS, the solver
        # slurmstepd sends SIGTSTP, then SIGSTOP two seconds later.
        wait_for(lambda: set(_proc_state(pid) for pid in pids) == set(["T"]), scan, 15,
                 "every process of %s stopped" % second)
        code, text, err = run_cli(["resume", out, second], env=env)
        assert code == 0 and "%s: running" % second in text, (text, err)
        assert queue(slurm_cluster)[second_job][0] == "RUNNING"
        wait_for(lambda: "T" not in set(_proc_state(pid) for pid in pids), scan, 15,
                 "%s's processes going again" % second)

        # interrupt a MIP once CPLEX has an incumbent: row interrupted, with the objective.
        wait_for(lambda: "running" in [statuses()[n] for n in waiting], scan, 60,
                 "a waiting run started on the freed CPU")
        third = [n for n in waiting if statuses()[n] == "running"][0]
        wait_for(lambda: "inc " in (jobs(out)[third].get("details") or ""), scan, 120,
                 "an incumbent for %s" % third)
        code, text, err = run_cli(["interrupt", out, third], env=env)
        assert code == 0 and "%s: interrupted" % third in text, (text, err)

        code, text, err = run_cli(["cancel", out, "--all", "--grace-seconds", "2"], env=env)
        assert code == 0, (text, err)
        stdout, stderr = scan.communicate(timeout=120)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
    assert scan.returncode == 3, (stdout, stderr)
    _, rows = read_report(out)
    by_name = dict((row["profile"], row) for row in rows)
    assert [row["profile"] for row in rows] == names
    expected = dict((n, "cancelled") for n in names)
    expected[third] = "interrupted"
    assert dict((n, by_name[n]["status"]) for n in names) == expected
    interrupted = by_name[third]
    assert float(interrupted["objective"]) >= 0 and interrupted["gams_rc"] == "0"
    assert interrupted["solver_status"] == "8 User Interrupt"
    final = jobs(out)
    listed = queue(slurm_cluster)
    for name in names:
        assert marked_pids("%s/%s" % (scan_id, name)) == [], name
        assert final[name]["slurm_job_id"] not in listed, (name, listed)


@pytest.mark.gams
def test_ctrl_c_menu_cancels_one_run_then_aborts_through_slurm(copy_model, gams_path,
                                                               tmp_path, env, slurm_cluster):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    pty_env = dict(env, TERM="xterm")
    proc = PtyProcess(python_argv(*scan_args(run_dir, gams_path, out, "dual,primal",
                                             ["--gams-arg", "solvelink=0"])), env=pty_env)
    try:
        proc.wait_until(lambda: [j.get("status") for j in jobs(out).values()] == ["running"] * 2,
                        timeout=90, message="both runs running")
        scan_id = read_state(out)["scan_id"]
        state = jobs(out)
        proc.wait_until(lambda: all(len(marked_pids("%s/%s" % (scan_id, n))) >= 2
                                    for n in ("dual", "primal")),
                        timeout=60, message="GAMS and the solvers started on the node")
        mark = len(proc.output)
        first_sent = open_cancel_menu(proc)
        proc.send(b"1\n")
        proc.expect(br"Runs to cancel", since=mark)
        proc.send(b"dual\n")
        proc.expect(br"Cancelling: dual", since=mark)
        dual_job = state["dual"]["slurm_job_id"]
        proc.wait_until(lambda: jobs(out)["dual"]["status"] == "cancelled"
                        and dual_job not in queue(slurm_cluster),
                        timeout=30, message="dual cancelled and its job gone")
        assert marked_pids("%s/%s" % (scan_id, "dual")) == []
        assert not is_alive(state["dual"]["slurm_task_pid"])
        assert jobs(out)["primal"]["status"] == "running"
        assert queue(slurm_cluster)[state["primal"]["slurm_job_id"]][0] == "RUNNING"
        wait_out_double_interrupt(proc, first_sent)  # the next Ctrl+C opens the menu again
        open_cancel_menu(proc)
        proc.send(b"3\n")
        assert proc.wait(timeout=60) == 130
    finally:
        proc.close()
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["cancelled", "cancelled"]
    assert read_state(out)["exit_code"] == 130
    for name in ("dual", "primal"):
        assert marked_pids("%s/%s" % (scan_id, name)) == [], name
        assert not is_alive(jobs(out)[name]["slurm_task_pid"]), name
    assert slurm_cluster.job_ids() == []


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (IOError, OSError):
        return "gone"


@pytest.mark.gams
def test_reap_of_a_sigkilled_scanner_cancels_exactly_its_jobs(copy_model, gams_path, tmp_path,
                                                              env, slurm_cluster):
    # A job of the same user with another name, holding one of the 2 CPUs.
    other = slurm_cluster.run(["sbatch", "--parsable", "--job-name=not-times-doctor",
                               "--cpus-per-task=1", "--output=/dev/null",
                               "--wrap=sleep 300"]).strip()
    try:
        run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
        scan = start_scan(scan_args(run_dir, gams_path, out, "dual,primal",
                                    ["--gams-arg", "solvelink=0"]), env)
        try:
            # One CPU is left: one run solves, the other waits in the queue.
            wait_for(lambda: [j.get("status") for j in jobs(out).values()].count("running") == 1
                     and all(j.get("slurm_job_id") for j in jobs(out).values()), scan,
                     message="one run running, the other submitted")
        finally:
            scan.send_signal(signal.SIGKILL)
            scan.communicate()
        state = jobs(out)
        scan_id = read_state(out)["scan_id"]
        solving = [n for n in ("dual", "primal") if state[n]["status"] == "running"][0]
        ours = [state["dual"]["slurm_job_id"], state["primal"]["slurm_job_id"]]
        listed = queue(slurm_cluster)
        assert sorted(listed[job_id][0] for job_id in ours) == ["PENDING", "RUNNING"]
        assert marked_pids("%s/%s" % (scan_id, solving))  # an orphan, still solving

        code, text, err = run_cli(["reap", out], env=env)
        assert code == 0, (text, err)
        assert "cancelled SLURM job(s) %s, %s" % tuple(sorted(ours)) in text, text
        wait_for(lambda: not set(ours) & set(queue(slurm_cluster)), None, 30,
                 "the scan's jobs gone")
        assert queue(slurm_cluster)[other] == ("RUNNING", "not-times-doctor")
        wait_for(lambda: marked_pids("%s/%s" % (scan_id, solving)) == [], None, 15,
                 "the orphan's processes gone")
        assert [j["status"] for j in jobs(out).values()] == ["cancelled"] * 2
    finally:
        slurm_cluster.run(["scancel", other], check=False)


@pytest.mark.gams
def test_jobs_slurm_ends_time_limit_and_node_failure_get_clear_rows(
        copy_model, gams_path, tmp_path, env, slurm_cluster):
    # SLURM checks time limits every 30 s, in whole minutes: a job whose end
    # time is moved to now is ended within that check (about 30 s: the
    # cost of this test).  A node set DOWN ends its jobs at once.
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    scan = start_scan(scan_args(run_dir, gams_path, out, "dual,primal", [
        "--gams-arg", "solvelink=0", "--slurm-arg=--time=30"]), env)
    node_down = False
    try:
        wait_for(lambda: [j.get("status") for j in jobs(out).values()] == ["running"] * 2, scan,
                 message="both runs running")
        state = jobs(out)
        scan_id = read_state(out)["scan_id"]
        # SLURM refuses an end time not after the job's start ("Invalid time
        # specified") within the second the job started: ask again.
        end_now = ["scontrol", "update", "jobid=%s" % state["dual"]["slurm_job_id"],
                   "EndTime=now"]
        wait_for(lambda: slurm_cluster.run(end_now, check=False, status=True) == 0, scan, 15,
                 "scontrol to accept EndTime=now")
        wait_for(lambda: jobs(out)["dual"]["status"] == "timeout", scan, 90, "dual timed out")
        assert jobs(out)["primal"]["status"] == "running"
        slurm_cluster.run(["scontrol", "update", "nodename=%s" % slurm_cluster.node,
                           "state=down", "reason=td-test-node-failure"])
        node_down = True
        stdout, stderr = scan.communicate(timeout=90)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
        if node_down:
            slurm_cluster.return_node()
    assert scan.returncode == 1, (stdout, stderr)
    _, rows = read_report(out)
    by_name = dict((row["profile"], row) for row in rows)
    assert by_name["dual"]["status"] == "timeout"
    assert by_name["dual"]["gams_rc_meaning"] == (
        "SLURM ended the job: time limit, TIMEOUT (TimeLimit)")
    assert by_name["primal"]["status"] == "failed"
    assert by_name["primal"]["gams_rc_meaning"] == "SLURM ended the job: NODE_FAIL (NodeDown)"
    final = jobs(out)
    assert final["primal"]["details"] == "SLURM ended the job: NODE_FAIL (NodeDown)"
    for name in ("dual", "primal"):
        wait_for(lambda: marked_pids("%s/%s" % (scan_id, name)) == [], None, 30,
                 "no process of %s left" % name)
        assert not is_alive(final[name]["slurm_task_pid"])
    assert slurm_cluster.job_ids() == []


@pytest.mark.gams
def test_cap_through_slurm_stops_the_hard_run_on_its_own_clock(copy_model, gams_path, tmp_path,
                                                              env, slurm_cluster):
    """--cap 1.5 with a quick and a hard MIP profile as batch jobs: the hard one ends capped,
    its job gone and no process of it left on the node; the scan passes."""
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    opts = tmp_path / "opts" / "cplex"
    opts.mkdir(parents=True)
    (opts / "quick.opt").write_text("epint 0.5\n")  # optimal at the root (see test_ranking_e2e)
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, out, "quick,dual", [
        # A bound, in case the cluster's CPUs are taken and quick never starts.
        "--opt-dir", str(tmp_path / "opts"), "--cap", "1.5", "--timeout-seconds", "180"]),
        env=env)
    assert code == 0, (stdout, stderr)
    _, rows = read_report(out)
    rows = dict((row["profile"], row) for row in rows)
    assert (rows["quick"]["status"], rows["dual"]["status"]) == ("completed", "capped")
    assert rows["dual"]["stop_reason"].startswith("could not beat quick: 1.5 x ")
    state = read_state(out)
    assert state["exit_code"] == 0
    assert marked_pids("%s/" % state["scan_id"]) == []
    assert slurm_cluster.job_ids() == []
