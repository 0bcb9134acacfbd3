"""Run a scan's profiles through SLURM: submit, watch, control, reap (issue 13).

From a login node each profile is its own batch job (``sbatch --parsable``);
inside an allocation (``SLURM_JOB_ID`` set) each is a job step (``srun
--exclusive --ntasks=1``).  Either way the task SLURM starts is times-doctor
itself (slurm_task.py), running the one profile with the local runner and
writing ``slurm_record.json`` into the run's work directory, which must be
on a file system the compute nodes share with the scanner.

The scanner never looks at a SLURM run's processes (no /proc: they are on
another host).  It reads the record, asks ``squeue`` whether the job still
exists, and turns the registry's requests into SLURM commands:

========== ============================================ ==========================
action     batch job (sbatch)                           job step (srun)
========== ============================================ ==========================
cancel     ``scancel --batch --signal=TERM JOB``        ``scancel --signal=TERM JOB.STEP``
(no grace) ``scancel --batch --signal=USR1 JOB``        ``scancel --signal=USR1 JOB.STEP``
interrupt  ``scancel --batch --signal=28 JOB``          ``scancel --signal=28 JOB.STEP``
pause      ``scontrol suspend JOB``                     ``scancel --signal=STOP JOB.STEP``
resume     ``scontrol resume JOB``                      ``scancel --signal=CONT JOB.STEP``
========== ============================================ ==========================

A job still pending is simply ``scancel``-ed.  A cancelled run whose job is
still there ``BACKSTOP_SECONDS`` after its grace is ``scancel``-ed plainly
(SLURM's KillWait then ends it).  A job that SLURM itself ends (time limit,
node failure, preemption) gets a ``timeout``/``failed`` row with SLURM's
state and reason (``scontrol show job``, else ``sacct``).
"""

import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from times_doctor import procgroup, usage
from times_doctor.errors import UsageError
from times_doctor.job_control import ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME
from times_doctor.errors import ParseError
from times_doctor.lst import parse_lst
from times_doctor.runner import RunResult
from times_doctor.slurm_task import (RECORD_NAME, TASK_COMMAND, TASK_SPEC_NAME, read_record,
                                     write_task_spec)
from times_doctor.states import RunStatus, can_transition

# How often a worker reads its run's record, and asks squeue about its job.
POLL_SECONDS = 0.5
QUEUE_CHECK_SECONDS = 2.0
# After a cancel's grace, how long the task may take before a plain scancel.
BACKSTOP_SECONDS = 15.0
# A job gone from squeue with no final record: how long to wait for the
# record to become visible on the shared file system.
RECORD_SETTLE_SECONDS = 3.0
# Every SLURM command gets this long to answer.
COMMAND_SECONDS = 30

# Signals aimed at the task (slurm_task.py explains each choice).  scancel
# knows no SIGWINCH by name: it goes by number (28 on Linux).
TASK_SIGNALS = {"cancel": "TERM", "cancel_now": "USR1",
                ACTION_INTERRUPT: str(int(getattr(signal, "SIGWINCH", 28)))}

# The job states in which SLURM, not the run, ended the job.
SLURM_ENDED_STATES = ("TIMEOUT", "DEADLINE", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
                      "OUT_OF_MEMORY")

# SLURM job states after which nothing of the job runs any more.
ENDED_STATES = ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED")


def check_commands(environ):
    """UsageError unless the SLURM commands the launcher needs are on PATH."""
    inside = bool(environ.get("SLURM_JOB_ID"))
    needed = ("srun" if inside else "sbatch", "scancel", "squeue", "scontrol")
    path = environ.get("PATH", os.defpath)
    missing = [name for name in needed if shutil.which(name, path=path) is None]
    if missing:
        raise UsageError("--launcher slurm needs %s on PATH: run the scan on a SLURM login "
                         "node (or inside salloc), or use --launcher local"
                         % ", ".join(missing))


def job_name(scan_id, run_name):
    """The SLURM job (or step) name of a run: recognisable later by reap."""
    return "td-%s-%s" % (scan_id, re.sub(r"[^A-Za-z0-9_.:+-]", "_", run_name))


def task_command(spec_path, python=None):
    """The command SLURM runs: this times-doctor, on this interpreter, for one run."""
    return [python or sys.executable, "-m", "times_doctor", TASK_COMMAND, spec_path]


def package_parent():
    """The folder (or zipapp) times_doctor is imported from: the task's PYTHONPATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(here)


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

    def queue_state(self, job_id):
        """(state, node, reason) of a job in squeue, or None when squeue no longer has it."""
        rc, out, _err = self.call(["squeue", "-h", "-j", str(job_id), "-o", "%T|%N|%r"])
        lines = [line for line in out.splitlines() if line.strip()]
        if rc != 0 or not lines:
            return None
        parts = (lines[0].split("|") + ["", ""])[:3]
        return parts[0], parts[1], parts[2]

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
        """{id: (name, user)} of the given job or step ids squeue still lists."""
        ids = sorted(set(str(job_id).split(".")[0] for job_id in job_ids))
        found = {}
        if not ids:
            return found
        for argv in (["squeue", "-h", "-j", ",".join(ids), "-o", "%i|%j|%u"],
                     ["squeue", "-h", "-s", "-j", ",".join(ids), "-o", "%i|%j|%u"]):
            rc, out, _err = self.call(argv)
            if rc != 0:
                continue
            for line in out.splitlines():
                parts = line.strip().split("|")
                if len(parts) == 3:
                    found[parts[0]] = (parts[1], parts[2])
        return found


class SlurmLauncher(object):
    """Starts each run through SLURM and follows it to a final state."""

    name = "slurm"

    def __init__(self, scan_id, threads, slurm_args, environ, commands=None, python=None,
                 poll_seconds=POLL_SECONDS, queue_check_seconds=QUEUE_CHECK_SECONDS):
        self.scan_id = scan_id
        self.threads = threads
        self.slurm_args = list(slurm_args or [])
        self.environ = dict(environ)
        self.inside_allocation = bool(self.environ.get("SLURM_JOB_ID"))
        self.commands = commands or SlurmCommands(self.environ)
        self.python = python
        self.poll_seconds = poll_seconds
        self.queue_check_seconds = queue_check_seconds

    def close(self):
        """Nothing to stop: each run's log is read by its task on the node."""

    @staticmethod
    def run_seconds(snapshot):
        """A run's time on the ranking's clock: its task's, so pending time never counts."""
        return snapshot.slurm_run_seconds

    def run(self, spec, cancel_event, registry, timeout_seconds=0, grace_seconds=10.0,
            log_seconds=None):
        """Submit one run and follow it to a final state; the local runner's contract.

        Returns:
            A RunResult, or None if the run was cancelled before it started.
        """
        if not registry.try_start(spec.name):
            return None
        run = _SlurmRun(self, spec, cancel_event, registry, grace_seconds)
        marker = spec.env.get(procgroup.JOB_ENV_VAR, "")
        spec_path = os.path.join(spec.work_dir, TASK_SPEC_NAME)
        write_task_spec(spec_path, spec, marker, timeout_seconds, grace_seconds, log_seconds)
        try:
            os.remove(run.record_path)  # a previous scan's record must not be read as ours
        except FileNotFoundError:
            pass
        return run.follow(spec_path)

    def task_env(self, spec):
        """sbatch's/srun's environment (SLURM hands it to the task): the run's, minus its marker.

        The marker (procgroup.JOB_ENV_VAR) is for GAMS and what it starts; the
        task adds it there.  On srun, sbatch or the task itself it would make
        the session sweep at the run's end take them for GAMS's leftovers.
        """
        env = dict(spec.env)
        env.pop(procgroup.JOB_ENV_VAR, None)
        parent = package_parent()
        env["PYTHONPATH"] = parent + (os.pathsep + env["PYTHONPATH"]
                                      if env.get("PYTHONPATH") else "")
        return env


class _SlurmRun(object):
    """One run's job (or step): submit, watch, control; owned by one worker thread."""

    def __init__(self, launcher, spec, cancel_event, registry, grace_seconds):
        self.launcher = launcher
        self.commands = launcher.commands
        self.spec = spec
        self.name = spec.name
        self.cancel_event = cancel_event
        self.registry = registry
        self.grace_seconds = grace_seconds
        self.record_path = os.path.join(spec.work_dir, RECORD_NAME)
        self.job_name = job_name(launcher.scan_id, spec.name)
        self.job_id = None
        self.step_id = None
        self.srun = None
        self.running = False
        self.paused = False
        self.cancel_sent = None  # monotonic time of the signal to the task
        self.backstop_done = False
        self.submitted_at = None
        self.record = None

    # -- the worker's loop ----------------------------------------------------------

    def follow(self, spec_path):
        message = self._submit(spec_path)
        if message is not None:
            self.registry.set_status(self.name, RunStatus.FAILED)
            self._update(details=message)
            return RunResult(self.name, RunStatus.FAILED, None, 0.0, None, message, [])
        next_queue_check = 0.0
        gone_since = None
        while True:
            woken = self.cancel_event.wait(self.launcher.poll_seconds)
            if woken:
                self._handle_request()
            self._read_record()
            if self.record is not None and self.record.get("final"):
                break
            now = time.monotonic()
            if self._backstop_due(now):
                self._scancel_plain()
            if now < next_queue_check:
                continue
            next_queue_check = now + self.launcher.queue_check_seconds
            if self._job_present():
                gone_since = None
                continue
            # Gone from SLURM: give the final record a moment to become visible.
            gone_since = gone_since if gone_since is not None else now
            if now - gone_since >= RECORD_SETTLE_SECONDS:
                self._read_record()
                break
        return self._finish()

    def _submit(self, spec_path):
        """Submit the job (or start the step); None, or why it could not be."""
        command = task_command(spec_path, self.launcher.python)
        env = self.launcher.task_env(self.spec)
        resources = ["--job-name=%s" % self.job_name, "--ntasks=1", "--nodes=1",
                     "--cpus-per-task=%d" % self.launcher.threads,
                     "--chdir=%s" % self.spec.work_dir]
        self.submitted_at = time.monotonic()
        if self.launcher.inside_allocation:
            argv = (["srun", "--exclusive"] + resources
                    + ["--output=%s" % os.path.join(self.spec.work_dir, "slurm-step.out")]
                    + self.launcher.slurm_args + command)
            out_path = os.path.join(self.spec.work_dir, "srun_messages.txt")
            try:
                with open(out_path, "wb") as out:
                    # Its own session: the terminal's Ctrl+C must reach the
                    # scanner's menu, not srun (which would cancel the step).
                    self.srun = subprocess.Popen(
                        argv, cwd=self.spec.work_dir, env=env, stdin=subprocess.DEVNULL,
                        stdout=out, stderr=subprocess.STDOUT, close_fds=True,
                        start_new_session=True)
            except OSError as exc:
                return "could not start srun: %s" % (exc.strerror or exc)
            self.job_id = self.launcher.environ.get("SLURM_JOB_ID")
            self._update(slurm_job_id=self.job_id, slurm_job_name=self.job_name,
                         slurm_mode="step",
                         details="SLURM step of job %s starting" % self.job_id)
            return None
        script = "exec " + " ".join(shlex.quote(part) for part in command)
        # --no-requeue: SLURM would otherwise requeue a job whose node failed
        # and start the profile again from scratch minutes later, while the
        # table shows it running; the run ends `failed` with SLURM's reason
        # instead.  A --slurm-arg=--requeue given by the user comes later and wins.
        argv = (["sbatch", "--parsable", "--no-requeue"] + resources
                + ["--output=%s" % os.path.join(self.spec.work_dir, "slurm-%j.out")]
                + self.launcher.slurm_args + ["--wrap=%s" % script])
        rc, out, err = self.commands.call(argv, env=env)
        job_id = out.strip().split(";")[0]
        if rc != 0 or not job_id.isdigit():
            return "sbatch refused the job: %s" % (err or out.strip() or "rc %d" % rc)
        self.job_id = job_id
        self._update(slurm_job_id=job_id, slurm_job_name=self.job_name, slurm_mode="batch",
                     details="SLURM job %s submitted" % job_id)
        return None

    def _read_record(self):
        record = read_record(self.record_path)
        if record is None or record.get("name") != self.name:
            return
        self.record = record
        if record.get("slurm_step_id") not in (None, "") and self.step_id is None:
            self.step_id = str(record["slurm_step_id"])
        node = record.get("node")
        self._update(slurm_node=node, slurm_step_id=self.step_id,
                     slurm_task_pid=record.get("task_pid"),
                     slurm_exclusive=record.get("exclusive"),
                     slurm_run_seconds=record.get("elapsed_seconds"))
        if not self.running and record.get("status") in (RunStatus.RUNNING, RunStatus.PAUSED):
            self.running = True
            if self.registry.get(self.name).status == RunStatus.STARTING:
                self.registry.set_status(self.name, RunStatus.RUNNING)
            self._update(details="SLURM job %s on %s" % (self._target(), node))
        fields = dict((key, record.get(key)) for key in
                      ("result", "phase", "progress", "iteration", "details") + usage.FIELDS
                      if record.get(key) not in (None, ""))
        if fields:
            self._update(**fields)

    def _job_present(self):
        """True while SLURM still has the job (or our srun still runs)."""
        if self.srun is not None:
            return self.srun.poll() is None
        found = self.commands.queue_state(self.job_id)
        if found is None:
            return False
        state, node, reason = found
        if node:
            self._update(slurm_node=node)
        if state == "PENDING" and not self.running:
            self._update(details="SLURM job %s pending (%s)" % (self.job_id, reason or "queued"))
        return state not in ENDED_STATES

    # -- requests ---------------------------------------------------------------------

    def _handle_request(self):
        if self.registry.is_cancel_requested(self.name):
            self._cancel()
            if not self.cancel_event.is_set():
                return
            # The event stays set while a cancel is pending: do not spin on it.
            time.sleep(self.launcher.poll_seconds)
            return
        action = self.registry.take_action(self.name)
        if action == ACTION_PAUSE and not self.paused and self.running:
            if self._pause(True):
                self.paused = True
                self.registry.set_status(self.name, RunStatus.PAUSED)
        elif action == ACTION_RESUME and self.paused:
            if self._pause(False):
                self.paused = False
                self.registry.set_status(self.name, RunStatus.RUNNING)
        elif action == ACTION_INTERRUPT and self.running:
            if self.paused and self._pause(False):
                self.paused = False
                self.registry.set_status(self.name, RunStatus.RUNNING)
            self._signal_task(TASK_SIGNALS[ACTION_INTERRUPT])

    def _cancel(self):
        deadline = self.registry.grace_deadline(self.name)
        now_wanted = deadline is not None and deadline <= time.monotonic() + 0.01
        key = "cancel_now" if now_wanted else "cancel"
        if self.cancel_sent is not None and self.cancel_sent[0] == key:
            return
        if not self.running:
            # Not started on a node yet: nothing to end gracefully.
            if self.srun is not None:
                self.srun.terminate()
            else:
                self.commands.call(["scancel", str(self.job_id)])
            self.cancel_sent = (key, time.monotonic())
            return
        if self.paused and self._pause(False):
            # A stopped task would only see the signal on resume.
            self.paused = False
        self._signal_task(TASK_SIGNALS[key])
        self.cancel_sent = (key, time.monotonic())

    def _backstop_due(self, now):
        if self.cancel_sent is None or self.backstop_done:
            return False
        return now - self.cancel_sent[1] >= self.grace_seconds + BACKSTOP_SECONDS

    def _scancel_plain(self):
        self.backstop_done = True
        self.commands.call(["scancel", self._target()])

    def _target(self):
        if self.step_id is not None and self.launcher.inside_allocation:
            return "%s.%s" % (self.job_id, self.step_id)
        return str(self.job_id)

    def _signal_task(self, signal_name):
        if self.launcher.inside_allocation:
            argv = ["scancel", "--signal=%s" % signal_name, self._target()]
        else:
            # --batch: only the batch script's process, which is the task (exec).
            argv = ["scancel", "--batch", "--signal=%s" % signal_name, str(self.job_id)]
        rc, _out, err = self.commands.call(argv)
        if rc != 0:
            self._update(details="%s failed: %s" % (" ".join(argv), err))
        return rc == 0

    def _pause(self, pause):
        if self.launcher.inside_allocation:
            # Suspending the allocation would stop the scanner's own job too.
            argv = ["scancel", "--signal=%s" % ("STOP" if pause else "CONT"), self._target()]
        else:
            argv = ["scontrol", "suspend" if pause else "resume", str(self.job_id)]
        rc, _out, err = self.commands.call(argv)
        if rc != 0 and not self.launcher.inside_allocation:
            # Only operators may suspend on many clusters: stop the job's
            # processes instead (SLURM then does not show it suspended).
            argv = ["scancel", "--full", "--signal=%s" % ("STOP" if pause else "CONT"),
                    str(self.job_id)]
            rc, _out, err = self.commands.call(argv)
        if rc != 0:
            self._update(details="%s failed: %s" % (" ".join(argv), err))
        return rc == 0

    # -- the end -------------------------------------------------------------------

    def _finish(self):
        if self.srun is not None:
            try:
                self.srun.wait(timeout=COMMAND_SECONDS)
            except subprocess.TimeoutExpired:
                self.srun.kill()
                self.srun.wait()
        record = self.record or {}
        cancelled = self.registry.is_cancel_requested(self.name)
        status = record.get("status") if record.get("final") else None
        message = record.get("message")
        returncode = record.get("returncode")
        if cancelled:
            # A cancel, or the scan's cap (--cap, --race): the task saw a cancel either way.
            status = self.registry.stop_status(self.name)
            if status == RunStatus.CAPPED:
                message = self.registry.get(self.name).stop_reason
        elif status not in (RunStatus.COMPLETED, RunStatus.INTERRUPTED):
            # No final word from the task, or a run that did not end well.
            # If SLURM ended the job (time limit, node failure, ...), that is
            # the story: its signal reaches GAMS too, so the task may well
            # report GAMS killed by SIGTERM as an ordinary failure.
            state, reason = self.commands.end_reason(self.job_id)
            if state in SLURM_ENDED_STATES or status in (None, RunStatus.CANCELLED):
                status, message = ended_by_slurm(state, reason)
                returncode = None
        lst = None
        if os.path.exists(self.spec.lst_path):
            try:
                lst = parse_lst(self.spec.lst_path)
            except ParseError as exc:
                message = message or str(exc)
        elif status not in (RunStatus.CANCELLED,) and not message:
            message = "no listing file written"
        runtime = record.get("runtime_seconds")
        if runtime is None:
            runtime = time.monotonic() - self.submitted_at
        current = self.registry.get(self.name).status
        if not can_transition(current, status) and can_transition(current, RunStatus.RUNNING):
            # The task got further than the scanner saw (a run that ended
            # between two looks at its record, a timeout while paused).
            self.registry.set_status(self.name, RunStatus.RUNNING)
        if message:
            self._update(details=message)
        self.registry.set_status(self.name, status, returncode)
        return RunResult(self.name, status, returncode, float(runtime), lst, message,
                         list(record.get("survivors") or []))

    def _update(self, **fields):
        """Write fields of the run's record (job_control.RECORD_FIELDS); None leaves one as it is."""
        fields = dict((key, value) for key, value in fields.items() if value is not None)
        if fields:
            self.registry.update(self.name, **fields)


def reap_jobs(jobs, scan_id, uid, commands):
    """Cancel a dead scan's SLURM jobs; only those whose name and user match the record.

    Args:
        jobs: the state file's unfinished job entries.
        scan_id: the state file's scan id (part of every job name).
        uid: the state file's scanner uid (the jobs' user must be that user).
        commands: a SlurmCommands.

    Returns:
        (cancelled ids, {run name: why it was left alone}).
    """
    wanted = {}
    for job in jobs:
        job_id = job.get("slurm_job_id")
        if not job_id:
            continue
        target = str(job_id)
        if job.get("slurm_mode") == "step":
            if job.get("slurm_step_id") in (None, ""):
                continue  # the step never started: nothing on a node to end
            target = "%s.%s" % (job_id, job.get("slurm_step_id"))
        wanted[target] = job
    if not wanted:
        return [], {}
    try:
        user = pwd.getpwuid(uid).pw_name if uid is not None else None
    except KeyError:
        user = None
    listed = commands.jobs_of(list(wanted))
    cancelled, untouched = [], {}
    for target, job in sorted(wanted.items()):
        expected = job_name(scan_id, job.get("name", ""))
        found = listed.get(target)
        if found is None:
            continue  # SLURM no longer has it
        name, job_user = found
        if name != expected or user is None or job_user != user:
            untouched[job.get("name")] = "SLURM job %s is %r of %s, not %r of %s" % (
                target, name, job_user, expected, user)
            continue
        rc, _out, err = commands.call(["scancel", target])
        if rc == 0:
            cancelled.append(target)
        else:
            untouched[job.get("name")] = "scancel %s failed: %s" % (target, err)
    return cancelled, untouched
