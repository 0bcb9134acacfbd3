"""What SLURM says, and the commands that ask it (the SLURM launcher's vocabulary).

Pure parsers and builders of SLURM's texts (``scontrol -o show job`` records,
array index lists, sbatch's refusals, scancel's target lists), and
``SlurmCommands``, the one object through which the launcher, its poller and
``reap`` run a SLURM client command (tests replace it with a recording fake).
Nothing here keeps state.
"""

import collections
import re
import subprocess

from times_doctor.states import RunStatus

# Every SLURM command gets this long to answer.
COMMAND_SECONDS = 30

# The job states in which SLURM, not the run, ended the job.
SLURM_ENDED_STATES = ("TIMEOUT", "DEADLINE", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
                      "OUT_OF_MEMORY")

# SLURM job states after which nothing of the job runs any more.
ENDED_STATES = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED")

# sbatch's reason line for a per-user (or per-account) submit limit: the
# reason names of SLURM's job_reason_string(), e.g. QOSMaxSubmitJobPerUserLimit,
# AssocMaxSubmitJobLimit, QOSGrpSubmitJobsLimit.  "Job violates accounting/QOS
# policy" alone is not enough: size and time limits say the same, and those
# no wait ever lifts.
SUBMIT_LIMIT_REASON = re.compile(r"\b\w*(?:MaxSubmitJob|GrpSubmitJob)\w*\b")
# An array larger than the cluster's MaxArraySize (or MaxJobCount) allows.
ARRAY_TOO_LARGE = "Invalid job array specification"

# SLURM's word on one task of an array (node and reason None when it names none).
# exclusive: True when the job has its nodes to itself (OverSubscribe=NO: --exclusive,
# or a partition with OverSubscribe=EXCLUSIVE), False when others may share them
# (OK, YES, USER, MCS), None when the record does not say (scontrol(1), squeue(1) %h).
TaskInfo = collections.namedtuple("TaskInfo", "state node reason exclusive")
TaskInfo.__new__.__defaults__ = (None,)  # namedtuple(defaults=) is Python 3.7+
_OVERSUBSCRIBE = {"NO": True, "OK": False, "YES": False, "USER": False, "MCS": False}


def parse_job_state(text):
    """(state, reason) from ``scontrol show job`` output, or (None, None)."""
    state = re.search(r"\bJobState=(\S+)", text)
    reason = re.search(r"\bReason=(\S+)", text)
    return (state.group(1) if state else None,
            reason.group(1) if reason and reason.group(1) != "None" else None)


def ended_by_slurm(state, reason):
    """(RunStatus, message) for a run whose task ended without a result of its own."""
    why = "%s%s" % (state or "unknown state", " (%s)" % reason if reason else "")
    if state not in ENDED_STATES:
        # A job step ended while its allocation goes on, or SLURM forgot the job.
        return RunStatus.FAILED, ("the SLURM task ended without a result (job state %s): "
                                  "see slurm-*.out in the run's folder" % why)
    if state in ("TIMEOUT", "DEADLINE"):
        return RunStatus.TIMEOUT, "SLURM ended the job: time limit, %s" % why
    return RunStatus.FAILED, "SLURM ended the job: %s" % why


def submit_refusal(text):
    """Why sbatch refused: ("limit", reason), ("too_large", text) or (None, text)."""
    found = SUBMIT_LIMIT_REASON.search(text)
    if found is not None:
        return "limit", found.group(0)
    if ARRAY_TOO_LARGE in text:
        return "too_large", ARRAY_TOO_LARGE
    return None, text


def array_spec(indexes):
    """``0-3,5,7-9`` for the task indexes given (sorted, no repeats)."""
    parts, start, previous = [], None, None
    for index in sorted(set(indexes)):
        if start is None:
            start = previous = index
        elif index == previous + 1:
            previous = index
        else:
            parts.append(_span(start, previous))
            start = previous = index
    if start is not None:
        parts.append(_span(start, previous))
    return ",".join(parts)


def _span(first, last):
    return str(first) if first == last else "%d-%d" % (first, last)


def expand_indexes(text):
    """Task indexes of an ``ArrayTaskId`` value: ``2-4%2``, ``1,3-5``, ``0-9:2``, ``7``."""
    indexes = []
    for part in text.split("%")[0].split(","):
        part = part.strip()
        if not part:
            continue
        step = 1
        if ":" in part:
            part, step_text = part.split(":", 1)
            step = int(step_text)
        if "-" in part:
            first, last = part.split("-", 1)
            indexes.extend(range(int(first), int(last) + 1, step))
        else:
            indexes.append(int(part))
    return indexes


def parse_array_tasks(text):
    """{``A_i``: TaskInfo} from ``scontrol -o show job A`` (one line per job record).

    Pending tasks share one record (``ArrayTaskId=2-4%2``); each started
    task has its own, ended ones too while SLURM keeps them (MinJobAge).
    """
    tasks = {}
    for line in text.splitlines():
        array_job = _field(line, "ArrayJobId")
        indexes = _field(line, "ArrayTaskId")
        if not array_job or not indexes:
            continue
        state = _field(line, "JobState")
        reason = _field(line, "Reason")
        node = _field(line, "NodeList")
        info = TaskInfo(state, node if node not in (None, "", "(null)") else None,
                        reason if reason not in (None, "None", "(null)") else None,
                        _OVERSUBSCRIBE.get((_field(line, "OverSubscribe") or "").upper()))
        try:
            numbers = expand_indexes(indexes)
        except ValueError:
            continue  # not a task id this parser knows: left out, not guessed
        for index in numbers:
            tasks["%s_%d" % (array_job, index)] = info
    return tasks


def _field(line, key):
    found = re.search(r"(?:^|\s)%s=(\S*)" % key, line)
    return found.group(1) if found else None


def array_of(task_id):
    """The array job id of an array task id (``123`` of ``123_4``)."""
    return str(task_id).split("_")[0]


def scancel_targets(task_ids):
    """Task ids grouped for one scancel: ``A_[0-3,7]`` per array (one RPC each).

    Plain job ids and step ids (``J.S``) stay as they are.
    """
    by_array = collections.OrderedDict()
    targets = []
    for task_id in task_ids:
        array, _, index = str(task_id).partition("_")
        if index.isdigit():
            by_array.setdefault(array, []).append(int(index))
        else:
            targets.append(str(task_id))
    for array, indexes in by_array.items():
        if len(indexes) == 1:
            targets.append("%s_%d" % (array, indexes[0]))
        else:
            targets.append("%s_[%s]" % (array, array_spec(indexes)))
    return targets


class SlurmCommands(object):
    """The SLURM client commands, one place (tests replace it with a recording fake)."""

    def __init__(self, environ):
        self.environ = dict(environ)

    def call(self, argv, env=None):
        """(returncode, stdout, stderr) of one command; rc 127 when it cannot start."""
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env or self.environ,
                                    close_fds=True)
        except OSError as exc:
            return 127, "", "could not start %s: %s" % (argv[0], exc.strerror or exc)
        try:
            out, err = proc.communicate(timeout=COMMAND_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return 124, "", "%s did not answer within %d s" % (argv[0], COMMAND_SECONDS)
        return (proc.returncode, out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace").strip())

    def array_tasks(self, array_id):
        """{``A_i``: TaskInfo} of one job array: one RPC; None when SLURM did not answer.

        ``--local``: no federation look-up (one RPC less per call).  An empty
        dict: SLURM no longer knows the array (every task ended long ago).
        """
        rc, out, err = self.call(["scontrol", "--local", "-o", "show", "job", str(array_id)])
        if rc != 0:
            return {} if "Invalid job id" in err else None
        return parse_array_tasks(out)

    def end_reason(self, job_id):
        """(state, reason) of a job that ended: scontrol, else sacct; (None, None) if neither knows."""
        rc, out, _err = self.call(["scontrol", "show", "job", str(job_id)])
        if rc == 0:
            state, reason = parse_job_state(out)
            if state is not None:
                return state, reason
        rc, out, _err = self.call(["sacct", "-n", "-P", "-X", "-j", str(job_id),
                                   "-o", "State,Reason"])
        lines = [line for line in out.splitlines() if line.strip()]
        if rc == 0 and lines:
            parts = (lines[0].split("|") + [""])[:2]
            return parts[0].split()[0], (parts[1] or None)
        return None, None

    def jobs_of(self, job_ids):
        """{id: (name, user)} of the given job, array task or step ids squeue still lists."""
        ids = sorted(set(re.split(r"[._]", str(job_id))[0] for job_id in job_ids))
        found = {}
        if not ids:
            return found
        for argv in (["squeue", "-h", "-r", "-j", ",".join(ids), "-o", "%i|%j|%u"],
                     ["squeue", "-h", "-s", "-j", ",".join(ids), "-o", "%i|%j|%u"]):
            rc, out, _err = self.call(argv)
            if rc != 0:
                continue
            for line in out.splitlines():
                parts = line.strip().split("|")
                if len(parts) == 3:
                    found[parts[0]] = (parts[1], parts[2])
        return found
