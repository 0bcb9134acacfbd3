"""The SLURM launcher's vocabulary (slurm_queue.py) and its one poller (slurm_poller.py).

Pure parsers against SLURM's own output (captured from the test cluster:
tests/fixtures/slurm/), and the poller driven on a fake SLURM: what it
submits, how it merges commands, how its interval moves, how a per-user
submit limit is waited out.  The real cluster's tests are in test_slurm.py.
"""

import os
import threading

import pytest

from proc_helpers import wait_until

from times_doctor.launch import slurm_queue
from times_doctor.launch.slurm_poller import ArrayBatch, QueuePoller, result_for
from times_doctor.launch.slurm_queue import TaskInfo

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "slurm")

# sbatch's words when a QOS's MaxSubmitJobsPerUser refuses (the reason line
# is job_reason_string(WAIT_QOS_MAX_SUB_JOB), the second slurm_strerror of
# ESLURM_ACCOUNTING_POLICY); the test cluster's job_submit.lua gives the same.
QOS_SUBMIT_LIMIT = ("sbatch: error: QOSMaxSubmitJobPerUserLimit\n"
                    "sbatch: error: Batch job submission failed: Job violates accounting/QOS "
                    "policy (job submit limit, user's size and/or time limits)")
ASSOC_SUBMIT_LIMIT = ("sbatch: error: AssocMaxSubmitJobLimit\n"
                      "sbatch: error: Batch job submission failed: Job violates accounting/QOS "
                      "policy (job submit limit, user's size and/or time limits)")
# The same error code for a job too big for its QOS: no wait ever lifts it.
QOS_SIZE_LIMIT = ("sbatch: error: QOSMaxCpuPerJobLimit\n"
                  "sbatch: error: Batch job submission failed: Job violates accounting/QOS "
                  "policy (job submit limit, user's size and/or time limits)")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# -- slurm_queue: pure ------------------------------------------------------------------

def test_parse_array_tasks_from_scontrol_with_ended_running_and_pending_tasks():
    tasks = slurm_queue.parse_array_tasks(fixture("scontrol_show_array.txt"))
    assert tasks == {
        "44_0": TaskInfo("COMPLETED", "n1", None, False),
        "44_1": TaskInfo("COMPLETED", "n2", None, False),
        "44_2": TaskInfo("COMPLETED", "n3", None, False),
        "44_3": TaskInfo("RUNNING", "n1", None, False),
        "44_4": TaskInfo("RUNNING", "n2", None, False),
        "44_5": TaskInfo("RUNNING", "n3", None, False),
        "44_6": TaskInfo("PENDING", None, "JobArrayTaskLimit", False)}


def test_parse_array_tasks_reads_whether_the_job_has_its_nodes_to_itself():
    line = fixture("scontrol_show_array.txt").splitlines()[1]
    assert "OverSubscribe=OK" in line
    for word, exclusive in (("OK", False), ("NO", True), ("YES", False), ("USER", False),
                            ("MCS", False), ("SOMETHING", None)):
        tasks = slurm_queue.parse_array_tasks(line.replace("OverSubscribe=OK",
                                                           "OverSubscribe=" + word))
        assert tasks["44_5"].exclusive is exclusive, word
    assert slurm_queue.parse_array_tasks(
        line.replace(" OverSubscribe=OK", ""))["44_5"].exclusive is None


def test_parse_array_tasks_expands_the_pending_record_of_several_tasks():
    tasks = slurm_queue.parse_array_tasks(fixture("scontrol_show_array_pending.txt"))
    assert sorted(tasks) == ["51_%d" % index for index in range(7)]
    assert set(tasks[name] for name in ("51_3", "51_4", "51_5", "51_6")) == set(
        [TaskInfo("PENDING", None, "JobArrayTaskLimit", False)])
    assert [tasks["51_%d" % index].node for index in range(3)] == ["n1", "n2", "n3"]


def test_parse_job_state_from_scontrol_show_job():
    text = ("JobId=7 JobName=td-1-2-dual\n   JobState=TIMEOUT Reason=TimeLimit "
            "Dependency=(null)\n")
    assert slurm_queue.parse_job_state(text) == ("TIMEOUT", "TimeLimit")
    assert slurm_queue.parse_job_state("   JobState=CANCELLED Reason=None x") == (
        "CANCELLED", None)
    assert slurm_queue.parse_job_state("slurm_load_jobs error: Invalid job id") == (None, None)


@pytest.mark.parametrize("text, indexes", [
    ("7", [7]), ("2-4%2", [2, 3, 4]), ("1,3-5", [1, 3, 4, 5]), ("0-9:3", [0, 3, 6, 9]),
    ("0-2,5%1", [0, 1, 2, 5])])
def test_expand_indexes(text, indexes):
    assert slurm_queue.expand_indexes(text) == indexes


def test_array_spec_and_scancel_targets_compress_runs_of_indexes():
    assert slurm_queue.array_spec([5, 0, 1, 2, 3, 7, 8, 9]) == "0-3,5,7-9"
    assert slurm_queue.array_spec([4]) == "4"
    assert slurm_queue.scancel_targets(["7_0", "7_1", "7_2", "7_5", "9_1", "12", "3.4"]) == [
        "12", "3.4", "7_[0-2,5]", "9_1"]


def test_submit_refusal_tells_a_submit_limit_from_other_refusals():
    assert slurm_queue.submit_refusal(QOS_SUBMIT_LIMIT) == ("limit", "QOSMaxSubmitJobPerUserLimit")
    assert slurm_queue.submit_refusal(ASSOC_SUBMIT_LIMIT) == ("limit", "AssocMaxSubmitJobLimit")
    assert slurm_queue.submit_refusal("sbatch: error: QOSGrpSubmitJobsLimit") == (
        "limit", "QOSGrpSubmitJobsLimit")
    assert slurm_queue.submit_refusal(QOS_SIZE_LIMIT)[0] is None
    assert slurm_queue.submit_refusal(
        "sbatch: error: Batch job submission failed: Invalid job array specification") == (
        "too_large", "Invalid job array specification")
    assert slurm_queue.submit_refusal(
        "sbatch: error: Batch job submission failed: Invalid partition name specified")[0] is None


def test_result_for_reads_each_target_from_a_merged_scancel():
    # scancel 22.05 exits 229 (ESLURM_ALREADY_DONE & 0xff) after signalling array tasks.
    assert result_for("22_1", 229, "") == (0, "")
    err = "scancel: error: Kill job error on job id 22_1: Invalid job id specified"
    assert result_for("22_1", 1, err) == (1, err)
    assert result_for("22_2", 1, err) == (0, "")
    assert result_for("22_2", 1, "scancel: error: Invalid job id 22_[1-3]") == (
        1, "scancel: error: Invalid job id 22_[1-3]")
    assert result_for("22_2", 1, "scancel: error: Unable to contact slurm controller") == (
        1, "scancel: error: Unable to contact slurm controller")


# -- the poller on a fake SLURM ---------------------------------------------------------

class FakeSlurm(object):
    """sbatch answers from a script of refusals; scontrol from a table; every call recorded."""

    def __init__(self, refuse=None):
        self.calls = []
        self.refuse = refuse  # callable(argv) -> stderr text or None
        self.tasks = {}       # array id -> {task id: TaskInfo}
        self.next_id = 100
        self.lock = threading.Lock()

    def call(self, argv, env=None):
        with self.lock:
            self.calls.append(list(argv))
            if argv[0] == "sbatch":
                refusal = self.refuse(argv) if self.refuse else None
                if refusal:
                    return 1, "", refusal
                self.next_id += 1
                return 0, "%d\n" % self.next_id, ""
            return 0, "", ""

    def array_tasks(self, array_id):
        with self.lock:
            self.calls.append(["scontrol", "--local", "-o", "show", "job", array_id])
            return dict(self.tasks.get(array_id, {}))

    def named(self, program):
        with self.lock:
            return [call for call in self.calls if call[0] == program]


def make_batch(count, max_parallel):
    def argv(indexes, throttle):
        return ["sbatch", "--array=%s%%%d" % (slurm_queue.array_spec(indexes), throttle)]
    return ArrayBatch(["p%d" % index for index in range(count)], max_parallel, argv, {})


@pytest.fixture
def poller_for():
    made = []

    def make(fake, **kwargs):
        poller = QueuePoller(fake, **kwargs)
        made.append(poller)
        return poller
    yield make
    for poller in made:
        poller.stop()


def test_a_batch_of_200_runs_is_one_sbatch(poller_for):
    fake = FakeSlurm()
    poller = poller_for(fake)
    batch = make_batch(200, 16)
    poller.add_batch(batch)
    wait_until(lambda: all(poller.task_state(task)[0] for task in batch.tasks), 5,
               message="every task submitted")
    assert fake.named("sbatch") == [["sbatch", "--array=0-199%16"]]
    assert [task.job_id for task in batch.tasks[:3]] == ["101_0", "101_1", "101_2"]


def test_a_submit_limit_halves_the_array_and_the_rest_waits_with_the_reason(poller_for):
    accepted = {"max": 50}

    def refuse(argv):
        spec = argv[1][len("--array="):]
        return QOS_SUBMIT_LIMIT if len(slurm_queue.expand_indexes(spec)) > accepted["max"] \
            else None
    fake = FakeSlurm(refuse)
    poller = poller_for(fake)
    batch = make_batch(200, 16)
    poller.add_batch(batch)
    wait_until(lambda: batch.tasks[0].job_id is not None and batch.tasks[199].waiting, 5,
               message="a first part submitted, the rest waiting")
    assert [call[1] for call in fake.named("sbatch")] == [
        "--array=0-199%16", "--array=0-99%16", "--array=0-49%16"]
    assert [poller.task_state(batch.tasks[index])[0] for index in (0, 49)] == ["101_0", "101_49"]
    job_id, failure, waiting = poller.task_state(batch.tasks[50])
    assert job_id is None and failure is None
    assert waiting == ("waiting to be submitted: SLURM refused the job array for a per-user "
                       "limit (QOSMaxSubmitJobPerUserLimit); next try in 10 s")


def test_a_part_submitted_later_gets_only_the_slots_the_first_left(poller_for):
    fake = FakeSlurm(lambda argv: QOS_SUBMIT_LIMIT if "0-3" in argv[1] else None)
    poller = poller_for(fake)
    batch = make_batch(4, 3)
    poller.add_batch(batch)
    wait_until(lambda: batch.tasks[0].job_id is not None, 5, message="first half submitted")
    assert batch.parts == [["101", 2]]
    batch.next_try = 0.0  # the retry is due now (10 s in real life)
    poller.finished(batch.tasks[0])  # one of the first part ended: 1 in flight, 2 slots free
    wait_until(lambda: batch.tasks[3].job_id is not None, 5, message="second half submitted")
    assert fake.named("sbatch")[-1] == ["sbatch", "--array=2-3%2"]


def test_other_refusals_fail_every_run_of_the_batch(poller_for):
    fake = FakeSlurm(lambda argv: QOS_SIZE_LIMIT)
    poller = poller_for(fake)
    batch = make_batch(3, 3)
    poller.add_batch(batch)
    wait_until(lambda: all(poller.task_state(task)[1] for task in batch.tasks), 5,
               message="every run failed")
    assert len(fake.named("sbatch")) == 1  # no halving for a size limit
    assert poller.task_state(batch.tasks[2])[1] == "sbatch refused the job: " + QOS_SIZE_LIMIT


def test_merged_scancels_one_command_per_signal(poller_for):
    fake = FakeSlurm()
    poller = poller_for(fake)
    results = {}

    def cancel(argv):
        results[argv[-1]] = poller.command(argv)
    threads = [threading.Thread(target=cancel, args=(argv,)) for argv in (
        ["scancel", "--batch", "--signal=TERM", "7_0"], ["scancel", "--batch", "--signal=TERM", "7_1"],
        ["scancel", "--batch", "--signal=TERM", "7_2"], ["scancel", "7_5"], ["scancel", "7_6"],
        ["scontrol", "suspend", "7_3"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(fake.calls) == sorted([["scancel", "--batch", "--signal=TERM", "7_[0-2]"],
                                         ["scancel", "7_[5-6]"], ["scontrol", "suspend", "7_3"]])
    assert set(results.values()) == set([(0, "")])


def test_the_interval_grows_while_nothing_changes_and_drops_when_the_user_acts(poller_for):
    fake = FakeSlurm()
    poller = poller_for(fake, min_seconds=0.05, max_seconds=0.4, growth=2.0)
    batch = make_batch(2, 2)
    poller.add_batch(batch)
    wait_until(lambda: batch.tasks[1].job_id is not None, 5, message="submitted")
    fake.tasks["101"] = {"101_0": TaskInfo("RUNNING", "n1", None),
                         "101_1": TaskInfo("RUNNING", "n2", None)}
    wait_until(lambda: poller._interval >= 0.4, 5, message="the interval at its maximum")
    assert poller.look("101_1")[0] == TaskInfo("RUNNING", "n2", None)
    looks = len(fake.named("scontrol"))
    poller.nudge()
    assert poller._interval == 0.05
    wait_until(lambda: len(fake.named("scontrol")) > looks, 1, message="a look soon after")
    # A task that changes keeps the interval short.
    fake.tasks["101"]["101_0"] = TaskInfo("COMPLETED", "n1", None)
    wait_until(lambda: poller.look("101_0")[0].state == "COMPLETED", 2, message="the end seen")
    assert poller._interval < 0.4


def test_no_look_at_an_array_whose_runs_all_ended(poller_for):
    fake = FakeSlurm()
    poller = poller_for(fake, min_seconds=0.02, max_seconds=0.02)
    batch = make_batch(2, 2)
    poller.add_batch(batch)
    wait_until(lambda: len(fake.named("scontrol")) >= 2, 5, message="looks")
    for task in batch.tasks:
        poller.finished(task)
    wait_until(lambda: not poller._arrays, 5, message="the array forgotten")
    assert poller._timeout() is None  # nothing to look at: it sleeps until woken


def test_whether_an_array_has_its_nodes_to_itself_is_remembered_from_any_look(poller_for):
    """OverSubscribe is the array's, set at submission: a look while every task was
    pending answers for a task that starts and ends between two looks."""
    fake = FakeSlurm()
    poller = poller_for(fake, min_seconds=0.02, max_seconds=0.02)
    batch = make_batch(2, 2)
    poller.add_batch(batch)
    wait_until(lambda: batch.tasks[1].job_id is not None, 5, message="submitted")
    assert poller.exclusive("101_0") is None  # no look yet: not known, not guessed
    fake.tasks["101"] = {"101_0": TaskInfo("PENDING", None, "Priority", True),
                         "101_1": TaskInfo("PENDING", None, "Priority", True)}
    wait_until(lambda: poller.exclusive("101_1") is True, 5, message="the array's answer")
    fake.tasks["101"] = {}  # both ended and SLURM forgot them
    wait_until(lambda: poller.look("101_0") == (None, poller.look("101_0")[1])
               and poller.look("101_0")[1] is not None, 5, message="the tasks forgotten")
    assert poller.exclusive("101_0") is True
