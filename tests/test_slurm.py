"""The SLURM launcher: pure parts with fakes, then a real cluster of three nodes.

The end-to-end tests run real slurmctld, three slurmd (emulated nodes n1-n3
of one CPU each, all on this machine) and munged (the session fixture
``slurm_cluster`` in conftest.py, started as root in a temporary folder),
the GAMS under test and real solvers.  With ``--threads 1`` three runs solve
at once, one per node, and the rest wait in SLURM's queue.  The poller and
SLURM's texts are tested on their own in test_slurm_poller.py.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from proc_helpers import is_alive, marked_pids, wait_until
from pty_helpers import PtyProcess, open_cancel_menu, python_argv, wait_out_double_interrupt
from scan_helpers import (CSV_COLUMNS, cli_env, jobs_by_name as jobs, read_report, read_state,
                          run_cli, start_scan)

from times_doctor.launch import slurm as launch_slurm, table as launchers
from times_doctor.job_control import RECORD_FIELDS, JobRegistry
from times_doctor.launch.slurm_task import RUN_FIELDS, TASK_COMMAND
from times_doctor.scan.state_file import record_fields
from times_doctor.errors import UsageError
from times_doctor.states import RunStatus

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SLURM runs on Linux")

FOUR = "dual,primal,sift,bar_nox"


# -- pure parts ------------------------------------------------------------------------

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


def test_where_slurm_ran_a_run_is_its_records_one_launch_field():
    registry = JobRegistry()
    registry.register("dual")
    assert registry.get("dual").launch is None  # a local run: nothing
    registry.update_launch("dual", "slurm", job_id="7", mode="batch", node="n1")
    before = registry.get("dual")
    registry.update_launch("dual", "slurm", node="n2", step_id=None)  # None leaves a key as it is
    snap = registry.get("dual")
    assert snap.launch == {"launcher": "slurm", "job_id": "7", "mode": "batch", "node": "n2"}
    assert before.launch["node"] == "n1"  # an earlier snapshot keeps its own dict
    fields = record_fields(snap)
    assert fields["launch"]["job_id"] == "7" and "step_id" not in fields["launch"]
    assert not [field for field in RECORD_FIELDS if field.startswith("slurm_")]


def test_every_record_field_the_task_reports_crosses_the_slurm_boundary():
    """slurm_task.RUN_FIELDS is every record field but ``launch``; the scanner copies them all."""
    assert set(RUN_FIELDS) == set(RECORD_FIELDS) - set(["launch"])
    assert launchers.entry("slurm").task_command == TASK_COMMAND


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
    from times_doctor.launch import slurm_task
    calls = []

    def call(argv, **kwargs):
        calls.append(argv)
        return answer
    assert slurm_task.job_is_exclusive("42", call=call) is exclusive
    assert calls == [["squeue", "-h", "-j", "42", "-o", "%h"]]


def test_job_is_exclusive_without_a_job_or_an_answer_is_unknown():
    from times_doctor.launch import slurm_task

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


def slurm(**keys):
    """A state file job's ``launch`` field, as the SLURM launcher writes it."""
    return dict(keys, launcher="slurm")


def test_reap_jobs_cancels_only_jobs_whose_name_and_user_match():
    me = __import__("pwd").getpwuid(os.getuid()).pw_name
    jobs = [
        {"name": "dual", "launch": slurm(job_id="11", mode="batch")},
        {"name": "primal", "launch": slurm(job_id="12", mode="batch")},  # forged: other name
        {"name": "sift", "launch": slurm(job_id="13", mode="batch")},    # another user's
        {"name": "bar", "launch": slurm(job_id="14", mode="batch")},     # SLURM forgot it
        {"name": "bar_nox", "launch": slurm(job_id="15", mode="step", step_id="2")},
        {"name": "pending_step", "launch": slurm(job_id="15", mode="step", step_id=None)},
        {"name": "local", "pid": 99, "launch": None},
        {"name": "elsewhere", "launch": {"launcher": "pbs", "job_id": "11"}},
    ]
    fake = FakeCommands({"11": ("td-S-dual", me), "12": ("my-own-job", me),
                         "13": ("td-S-sift", "somebody"), "15.2": ("td-S-bar_nox", me)})
    cancelled, untouched = launch_slurm.reap_jobs(jobs, "S", os.getuid(), fake)
    assert cancelled == ["11", "15.2"]
    assert fake.calls == [["scancel", "11"], ["scancel", "15.2"]]
    assert sorted(untouched) == ["primal", "sift"]
    assert "'my-own-job'" in untouched["primal"] and "somebody" in untouched["sift"]


def test_reap_jobs_cancels_a_dead_scans_array_tasks_in_one_scancel():
    me = __import__("pwd").getpwuid(os.getuid()).pw_name
    jobs = [{"name": "p%d" % index, "launch": slurm(job_id="40_%d" % index, mode="array")}
            for index in range(5)]
    jobs.append({"name": "forged", "launch": slurm(job_id="41_0", mode="array")})
    listed = dict(("40_%d" % index, ("td-S", me)) for index in range(4))  # 40_4 ended
    listed["41_0"] = ("td-other", me)
    fake = FakeCommands(listed)
    cancelled, untouched = launch_slurm.reap_jobs(jobs, "S", os.getuid(), fake)
    assert fake.calls == [["scancel", "40_[0-3]"]]
    assert cancelled == ["40_[0-3]"]
    assert list(untouched) == ["forged"] and "'td-other'" in untouched["forged"]


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
    """{job or array task id: (state, name)} of what squeue still lists (one line per task)."""
    found = {}
    for line in cluster.run(["squeue", "-h", "-r", "-o", "%i|%T|%j"]).splitlines():
        job_id, state, name = line.strip().split("|")
        found[job_id] = (state, name)
    return found


def array_ids(state):
    """The job arrays of a scan's runs, from their task ids (``A_i``)."""
    return sorted(set(job["launch"]["job_id"].split("_")[0] for job in state["jobs"]))


# What differs between two runs of one profile: its times, where it ran, what it cost, how
# contended it was, and so its rank.  Not its deterministic ticks: the same work, the same ticks.
MEASURED = ("runtime_seconds", "dir", "lst", "solver_seconds", "gams_seconds", "cpu_seconds",
            "cpu_share", "load_avg", "cpus", "contended", "exclusive_node", "rank", "rank_basis")


def comparable(rows):
    return [dict((k, v) for k, v in row.items() if k not in MEASURED) for row in rows]


@pytest.mark.gams
def test_four_profiles_as_one_array_and_inside_salloc_match_a_local_scan(
        copy_model, gams_path, tmp_path, env, slurm_cluster):
    run_dir = copy_model("transport")
    profiles = "dual,primal,sift,bar"
    local_out = str(tmp_path / "local")
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, local_out, profiles,
                                             ["--launcher", "local"]), env=env)
    assert code == 0, (stdout, stderr)
    _, local_rows = read_report(local_out)

    # From "a login node": one job array for the four profiles, spread over the nodes.
    out = str(tmp_path / "sbatch")
    slurm_cluster.reset_rpc_counts()
    code, stdout, stderr = run_cli(scan_args(run_dir, gams_path, out, profiles), env=env)
    assert code == 0, (stdout, stderr)
    by_type, _by_user = slurm_cluster.rpc_counts()
    columns, rows = read_report(out)
    assert columns == CSV_COLUMNS
    assert comparable(rows) == comparable(local_rows)
    assert [row["status"] for row in rows] == ["completed"] * 4
    state = read_state(out)
    assert state["launcher"] == "slurm" and state["exit_code"] == 0
    [array] = array_ids(state)
    assert [job["launch"]["job_id"] for job in state["jobs"]] == [
        "%s_%d" % (array, index) for index in range(4)]
    for row in rows:
        # Measured by the task on the node, reported in its record: not exclusive here.
        assert float(row["cpu_seconds"]) > 0 and float(row["solver_seconds"]) >= 0
        assert row["exclusive_node"] == "no" and row["det_ticks"]
    for job in state["jobs"]:
        assert job["launch"]["mode"] == "array"
        assert job["launch"]["job_name"] == "td-%s" % state["scan_id"]
        assert job["launch"]["exclusive"] is False and job["launch"]["run_seconds"] > 0
        assert job["pid"] is None and job["sid"] is None  # nothing local for reap to touch
        with open(os.path.join(job["work_dir"], "slurm_record.json")) as handle:
            assert json.load(handle)["slurm_job_id"] == job["launch"]["job_id"]
        assert os.path.exists(os.path.join(job["work_dir"],
                                           "slurm-%s.out" % job["launch"]["job_id"]))
    # Three one-CPU nodes: the first three tasks start at once, one on each.
    assert set(job["launch"]["node"] for job in state["jobs"]) == set(slurm_cluster.nodes)
    # What the scan asked of slurmctld: one submission, then only looks at
    # its array (one RPC each); the completions are slurmd's.
    assert by_type.get("REQUEST_SUBMIT_BATCH_JOB") == 1, by_type
    assert "REQUEST_JOB_INFO" not in by_type and "REQUEST_PARTITION_INFO" not in by_type
    assert 1 <= by_type.get("REQUEST_JOB_INFO_SINGLE", 0) <= 10, by_type

    # Inside an allocation of two nodes: one job step per profile, on both nodes.
    out = str(tmp_path / "salloc")
    salloc = subprocess.Popen(
        ["salloc", "--nodes=2", "--ntasks=2", "--cpus-per-task=1", sys.executable, "-m",
         "times_doctor"] + scan_args(run_dir, gams_path, out, profiles),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout, stderr = salloc.communicate(timeout=300)
    assert salloc.returncode == 0, (stdout, stderr)
    _, rows = read_report(out)
    assert comparable(rows) == comparable(local_rows)
    state = read_state(out)
    job_ids = set(job["launch"]["job_id"] for job in state["jobs"])
    assert len(job_ids) == 1  # the allocation's
    assert sorted(job["launch"]["step_id"] for job in state["jobs"]) == ["0", "1", "2", "3"]
    assert set(job["launch"]["mode"] for job in state["jobs"]) == set(["step"])
    assert len(set(job["launch"]["node"] for job in state["jobs"])) == 2
    # salloc has returned; SLURM releases a two-node allocation a moment later.
    wait_for(lambda: slurm_cluster.job_ids() == [], None, 30, "the allocation released")


@pytest.mark.gams
def test_cancel_pause_resume_interrupt_through_slurm(copy_model, gams_path, tmp_path, env,
                                                     slurm_cluster):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    names = FOUR.split(",")
    scan = start_scan(scan_args(run_dir, gams_path, out, extra=[
        "--gams-arg", "solvelink=0", "--max-workers", "2"]), env)
    try:
        def statuses():
            state = jobs(out)
            return dict((n, state.get(n, {}).get("status")) for n in names)

        # One array, --array=0-3%2: two runs solve (on two of the three
        # nodes), the other two wait in SLURM's queue for the array's limit.
        wait_for(lambda: list(statuses().values()).count("running") == 2, scan,
                 message="two runs running")
        state = jobs(out)
        scan_id = read_state(out)["scan_id"]
        first, second = [n for n in names if state[n]["status"] == "running"]
        waiting = [n for n in names if n not in (first, second)]
        assert state[first]["launch"]["node"] != state[second]["launch"]["node"]
        listed = queue(slurm_cluster)
        assert [listed[state[n]["launch"]["job_id"]][0] for n in waiting] == ["PENDING"] * 2
        wait_for(lambda: all("pending (JobArrayTaskLimit)" in (jobs(out)[n]["details"] or "")
                             for n in waiting), scan, 30, "the pending reason in Details")

        # times-doctor cancel of a running run: its job leaves squeue, nothing of it is left.
        code, text, err = run_cli(["cancel", out, first, "--grace-seconds", "2"], env=env)
        assert code == 0 and "%s: cancelled" % first in text, (text, err)
        first_job = state[first]["launch"]["job_id"]
        wait_for(lambda: first_job not in queue(slurm_cluster), scan, 30, "the job gone")
        assert marked_pids("%s/%s" % (scan_id, first)) == []
        assert not is_alive(jobs(out)[first]["launch"]["task_pid"])

        # pause: SLURM shows the job suspended, every process of it is stopped.
        code, text, err = run_cli(["pause", out, second], env=env)
        assert code == 0 and "%s: paused" % second in text, (text, err)
        second_job = state[second]["launch"]["job_id"]
        assert queue(slurm_cluster)[second_job][0] == "SUSPENDED"
        pids = marked_pids("%s/%s" % (scan_id, second)) + [
            jobs(out)[second]["launch"]["task_pid"]]
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
        assert final[name]["launch"]["job_id"] not in listed, (name, listed)


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
        dual_job = state["dual"]["launch"]["job_id"]
        proc.wait_until(lambda: jobs(out)["dual"]["status"] == "cancelled"
                        and dual_job not in queue(slurm_cluster),
                        timeout=30, message="dual cancelled and its job gone")
        assert marked_pids("%s/%s" % (scan_id, "dual")) == []
        assert not is_alive(state["dual"]["launch"]["task_pid"])
        assert jobs(out)["primal"]["status"] == "running"
        assert queue(slurm_cluster)[state["primal"]["launch"]["job_id"]][0] == "RUNNING"
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
        assert not is_alive(jobs(out)[name]["launch"]["task_pid"]), name
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
    # A job of the same user with another name, holding two of the 3 nodes.
    other = slurm_cluster.run(["sbatch", "--parsable", "--job-name=not-times-doctor",
                               "--nodes=2", "--ntasks=2", "--cpus-per-task=1",
                               "--output=/dev/null", "--wrap=srun sleep 300"]).strip()
    try:
        wait_for(lambda: queue(slurm_cluster).get(other, ("",))[0] == "RUNNING", None, 30,
                 "the other job running")
        run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
        scan = start_scan(scan_args(run_dir, gams_path, out, "dual,primal",
                                    ["--gams-arg", "solvelink=0"]), env)
        try:
            # One CPU is left: one run solves, the other waits in the queue.
            wait_for(lambda: [j.get("status") for j in jobs(out).values()].count("running") == 1
                     and all((j.get("launch") or {}).get("job_id") for j in jobs(out).values()), scan,
                     message="one run running, the other submitted")
        finally:
            scan.send_signal(signal.SIGKILL)
            scan.communicate()
        state = jobs(out)
        scan_id = read_state(out)["scan_id"]
        solving = [n for n in ("dual", "primal") if state[n]["status"] == "running"][0]
        ours = [state["dual"]["launch"]["job_id"], state["primal"]["launch"]["job_id"]]
        listed = queue(slurm_cluster)
        assert sorted(listed[job_id][0] for job_id in ours) == ["PENDING", "RUNNING"]
        assert marked_pids("%s/%s" % (scan_id, solving))  # an orphan, still solving

        code, text, err = run_cli(["reap", out], env=env)
        assert code == 0, (text, err)
        array = ours[0].split("_")[0]
        assert sorted(ours) == ["%s_0" % array, "%s_1" % array]
        assert "cancelled SLURM job(s) %s_[0-1]" % array in text, text
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
    # cost of this test).  A node set DOWN ends its jobs at once; the runs
    # on the other nodes go on, and nothing is requeued behind the scan's back.
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    names = ["dual", "primal", "sift"]
    scan = start_scan(scan_args(run_dir, gams_path, out, ",".join(names), [
        "--gams-arg", "solvelink=0", "--slurm-arg=--time=30"]), env)
    down = None
    try:
        wait_for(lambda: [j.get("status") for j in jobs(out).values()] == ["running"] * 3, scan,
                 message="three runs running")
        state = jobs(out)
        scan_id = read_state(out)["scan_id"]
        assert sorted(state[n]["launch"]["node"] for n in names) == sorted(slurm_cluster.nodes)
        # SLURM refuses an end time not after the job's start ("Invalid time
        # specified") within the second the job started: ask again.
        end_now = ["scontrol", "update", "jobid=%s" % state["dual"]["launch"]["job_id"],
                   "EndTime=now"]
        wait_for(lambda: slurm_cluster.run(end_now, check=False, status=True) == 0, scan, 15,
                 "scontrol to accept EndTime=now")
        wait_for(lambda: jobs(out)["dual"]["status"] == "timeout", scan, 90, "dual timed out")
        assert jobs(out)["primal"]["status"] == "running"
        down = state["primal"]["launch"]["node"]
        slurm_cluster.run(["scontrol", "update", "nodename=%s" % down, "state=down",
                           "reason=td-test-node-failure"])
        wait_for(lambda: jobs(out)["primal"]["status"] == "failed", scan, 60, "primal failed")
        # sift, on a node that stayed up, goes on as it was.
        after = jobs(out)["sift"]
        assert after["status"] == "running"
        assert (after["launch"]["job_id"], after["launch"]["node"]) == (
            state["sift"]["launch"]["job_id"], state["sift"]["launch"]["node"])
        primal_job = state["primal"]["launch"]["job_id"]
        shown = slurm_cluster.run(["scontrol", "-o", "show", "job", primal_job])
        assert " JobState=NODE_FAIL " in shown and " Restarts=0 " in shown, shown
        assert primal_job not in slurm_cluster.job_ids()  # not pending again: not requeued
        code, text, err = run_cli(["cancel", out, "sift", "--grace-seconds", "2"], env=env)
        assert code == 0, (text, err)
        stdout, stderr = scan.communicate(timeout=90)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
        if down is not None:
            slurm_cluster.return_node(down)
    assert scan.returncode == 1, (stdout, stderr)
    _, rows = read_report(out)
    by_name = dict((row["profile"], row) for row in rows)
    assert by_name["dual"]["status"] == "timeout"
    assert by_name["dual"]["gams_rc_meaning"] == (
        "SLURM ended the job: time limit, TIMEOUT (TimeLimit)")
    assert by_name["primal"]["status"] == "failed"
    assert by_name["primal"]["gams_rc_meaning"] == "SLURM ended the job: NODE_FAIL (NodeDown)"
    assert by_name["sift"]["status"] == "cancelled"
    final = jobs(out)
    assert final["primal"]["details"] == "SLURM ended the job: NODE_FAIL (NodeDown)"
    for name in names:
        wait_for(lambda: marked_pids("%s/%s" % (scan_id, name)) == [], None, 30,
                 "no process of %s left" % name)
        assert not is_alive(final[name]["launch"]["task_pid"])
    assert slurm_cluster.job_ids() == []


@pytest.mark.gams
def test_reap_cancels_the_array_of_a_sigkilled_scanner_with_100_tasks_queued(
        copy_model, gams_path, tmp_path, env, slurm_cluster):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    opt_dir = tmp_path / "opts"
    opt_dir.mkdir()
    names = ["p%03d" % index for index in range(100)]
    for name in names:
        (opt_dir / (name + ".opt")).write_text("lpmethod 2\n")
    scan = start_scan(["scan", run_dir, "--gams-path", gams_path, "--opt-dir", str(opt_dir),
                       "--profiles", ",".join(names), "--threads", "1", "--parallel",
                       "--gams-arg", "solvelink=0", "--grace-seconds", "3", "--out", out,
                       "--yes", "--launcher", "slurm", "--no-preflight"], env)
    try:
        # One task per node solves; the other 97 wait in SLURM's queue.
        wait_for(lambda: [j.get("status") for j in jobs(out).values()].count("running") == 3
                 and all((j.get("launch") or {}).get("job_id") for j in jobs(out).values()), scan, 120,
                 "three runs running, every run submitted")
    finally:
        scan.send_signal(signal.SIGKILL)
        scan.communicate()
    state = read_state(out)
    scan_id = state["scan_id"]
    [array] = array_ids(state)
    listed = queue(slurm_cluster)
    ours = dict((job_id, entry) for job_id, entry in listed.items()
                if job_id.startswith(array + "_"))
    assert len(ours) == 100
    assert sorted(entry[0] for entry in ours.values()).count("PENDING") == 97
    solving = [job["name"] for job in state["jobs"] if job["status"] == "running"]
    assert all(marked_pids("%s/%s" % (scan_id, name)) for name in solving)  # orphans

    code, text, err = run_cli(["reap", out], env=env)
    assert code == 0, (text, err)
    assert "cancelled SLURM job(s) %s_[0-99]" % array in text, text
    wait_for(lambda: not [job_id for job_id in slurm_cluster.job_ids()
                          if job_id.startswith(array + "_")], None, 30, "the array gone")
    for name in solving:
        wait_for(lambda: marked_pids("%s/%s" % (scan_id, name)) == [], None, 30,
                 "the processes of %s gone" % name)
    assert set(j["status"] for j in jobs(out).values()) == set(["cancelled"])


@pytest.mark.gams
def test_a_per_user_submit_limit_is_waited_out_with_the_reason_in_details(
        copy_model, gams_path, tmp_path, env, slurm_cluster):
    run_dir, out = copy_model("transport"), str(tmp_path / "out")
    names = ["dual", "primal", "sift"]
    slurm_cluster.set_submit_limit(0)
    try:
        scan = start_scan(scan_args(run_dir, gams_path, out, ",".join(names)), env)
        try:
            reason = ("waiting to be submitted: SLURM refused the job array for a per-user "
                      "limit (QOSMaxSubmitJobPerUserLimit); next try in 10 s")
            wait_for(lambda: [jobs(out).get(n, {}).get("details") for n in names]
                     == [reason] * 3, scan, 30, "the reason in every run's Details")
            assert [j["status"] for j in jobs(out).values()] == ["starting"] * 3
            # The limit eases to one job at a time: the runs go in, an array of one each.
            slurm_cluster.set_submit_limit(1)
            stdout, stderr = scan.communicate(timeout=120)
        finally:
            if scan.poll() is None:
                scan.kill()
                scan.wait()
    finally:
        slurm_cluster.set_submit_limit(None)
    assert scan.returncode == 0, (stdout, stderr)
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["completed"] * 3
    assert len(array_ids(read_state(out))) == 3


LEGACY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "slurm_legacy")


@pytest.mark.gams
def test_a_scan_of_the_one_job_per_profile_launcher_is_reaped_and_resumed(
        copy_model, gams_path, tmp_path, env, slurm_cluster):
    # The state file as b89039a wrote it (tests/fixtures/slurm_legacy/README.md),
    # with this test's folders and two jobs submitted the way that launcher did.
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    with open(os.path.join(LEGACY, "scan_state.json")) as handle:
        text = handle.read()
    document = json.loads(text)
    submitted = {}
    for job in document["jobs"]:
        submitted[job["name"]] = slurm_cluster.run([
            "sbatch", "--parsable", "--no-requeue", "--job-name=%s" % job["slurm_job_name"],
            "--ntasks=1", "--nodes=1", "--cpus-per-task=1", "--output=/dev/null",
            "--wrap=sleep 300"]).strip()
    text = text.replace("@OUT_DIR@", out).replace("@RUN_DIR@", run_dir).replace(
        "@GAMS@", gams_path)
    for name, job_id in submitted.items():
        text = text.replace("@JOB_%s@" % name, job_id)
    state_path = os.path.join(out, "times_doctor_out", "scan_runs", "scan_state.json")
    os.makedirs(os.path.dirname(state_path))
    with open(state_path, "w") as handle:
        handle.write(text)

    code, text, err = run_cli(["reap", out], env=env)
    assert code == 0, (text, err)
    assert "cancelled SLURM job(s) %s" % ", ".join(sorted(submitted.values())) in text, text
    wait_for(lambda: not set(submitted.values()) & set(slurm_cluster.job_ids()), None, 30,
             "the old scan's jobs gone")
    assert [j["status"] for j in jobs(out).values()] == ["cancelled"] * 2

    # Resumed with today's launcher: its runs go to SLURM as one array.
    code, text, err = run_cli(["scan", run_dir, "--resume", "--out", out, "--yes",
                               "--timeout-seconds", "3"], env=env)
    assert code == 1, (text, err)  # both MIPs stopped by the 3 s timeout
    state = read_state(out)
    assert state["resumed_from"] == document["scan_id"] and state["launcher"] == "slurm"
    assert [job["status"] for job in state["jobs"]] == ["timeout"] * 2
    assert set(job["launch"]["mode"] for job in state["jobs"]) == set(["array"])
    assert len(array_ids(state)) == 1


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
