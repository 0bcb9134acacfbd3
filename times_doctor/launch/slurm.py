"""Run a scan's profiles through SLURM: submit, watch, control, reap.

From a login node every batch of runs the scan starts at once is ONE job
array (``sbatch --array=0-N%M``, M = the batch's runs in flight, i.e.
``--max-workers``): one submission RPC whatever the number of profiles, and
one entry in the user's job limits per task as SLURM counts them.  Each
array task runs one profile.  Inside an allocation (``SLURM_JOB_ID`` set)
each run is a job step (``srun --exclusive --ntasks=1``), as the
allocation's resources are the user's already.  Either way the task SLURM
starts is times-doctor itself (slurm_task.py), running the one profile with
the local runner and writing ``slurm_record.json`` into the run's work
directory, which must be on a file system the compute nodes share with the
scanner: that record is how the scanner learns progress and results, at no
cost to slurmctld.

One thread talks to slurmctld for a scan's arrays (``QueuePoller``): it
submits the batches, asks about every task of an array in one RPC
(``scontrol --local -o show job ARRAY``) at an interval that grows while
nothing changes (2 s up to 30 s) and drops back when a run changes or the
user acts, and sends the workers' signals, merged: a cancel of 200 runs is
one ``scancel`` for the pending tasks and one for the running ones.  The
workers (one per run, as for local runs) read its answers and their task's
record.  docs/slurm.md says what this costs the scheduler, in numbers.

The scanner never looks at a SLURM run's processes (no /proc: they are on
another host).  It turns the registry's requests into SLURM commands:

========== ============================================ ==========================
action     array task (sbatch --array)                  job step (srun)
========== ============================================ ==========================
cancel     ``scancel --batch --signal=TERM A_i``        ``scancel --signal=TERM JOB.STEP``
(no grace) ``scancel --batch --signal=USR1 A_i``        ``scancel --signal=USR1 JOB.STEP``
interrupt  ``scancel --batch --signal=28 A_i``          ``scancel --signal=28 JOB.STEP``
pause      ``scontrol suspend A_i``                     ``scancel --signal=STOP JOB.STEP``
resume     ``scontrol resume A_i``                      ``scancel --signal=CONT JOB.STEP``
========== ============================================ ==========================

A task still pending is simply ``scancel``-ed.  A cancelled run whose task is
still there ``BACKSTOP_SECONDS`` after its grace is ``scancel``-ed plainly
(SLURM's KillWait then ends it).  A task that SLURM itself ends (time limit,
node failure, preemption) gets a ``timeout``/``failed`` row with SLURM's
state and reason, from the poller's last look (else ``scontrol``/``sacct``).

A submission SLURM refuses for a per-user submit limit (``MaxSubmitJobs``
of a QOS or an association: sbatch's reason line names it, e.g.
``QOSMaxSubmitJobPerUserLimit``) is not a failed profile: the array is
halved until a part fits, and what does not fit waits, with the reason in
each run's Details, and is submitted again later (10 s, growing to 2 min).

Why over 500 lines: the submission, the per-run follower and the reap
share SLURM's naming (job names, array ids, step ids) and the action table
above; the task, the poller and the commands are already modules of their own.
"""

import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

from times_doctor.proc import procgroup
from times_doctor.errors import ParseError, UsageError
from times_doctor.job_control import ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME
from times_doctor.gams.lst import parse_lst
from times_doctor.run.runner import RunResult
from times_doctor.launch.slurm_poller import ArrayBatch, QueuePoller, result_for
from times_doctor.launch.slurm_queue import (COMMAND_SECONDS, ENDED_STATES, SLURM_ENDED_STATES,
                                             SlurmCommands, array_of, array_spec, ended_by_slurm,
                                             scancel_targets)
from times_doctor.launch.slurm_task import (ARRAY_FLAG, RECORD_NAME, RUN_FIELDS, TASK_COMMAND,
                                            TASK_SPEC_NAME, read_record, write_manifest,
                                            write_task_spec)
from times_doctor.states import RunStatus, can_transition

# How often a worker reads its run's record (a local file: no RPC).
POLL_SECONDS = 0.5
# After a cancel's grace, how long the task may take before a plain scancel.
BACKSTOP_SECONDS = 15.0
# How long a task that ended badly may stay COMPLETING before its final
# SLURM state is asked for on its own (see _SlurmRun._slurm_verdict).
VERDICT_SECONDS = 20.0
# A task gone from SLURM with no final record: how long to wait for the
# record to become visible on the shared file system.
RECORD_SETTLE_SECONDS = 3.0
# Signals aimed at the task (slurm_task.py explains each choice).  scancel
# knows no SIGWINCH by name: it goes by number (28 on Linux).
TASK_SIGNALS = {"cancel": "TERM", "cancel_now": "USR1",
                ACTION_INTERRUPT: str(int(getattr(signal, "SIGWINCH", 28)))}

# The launcher's name in the launcher table (launch/table.py) and in each
# run record's ``launch`` field.
NAME = "slurm"

# What the record's launch "mode" says: "array" (a task of a job array), "step"
# (inside an allocation), "batch" (one job per profile: scans before arrays).
MODE_ARRAY, MODE_STEP, MODE_BATCH = "array", "step", "batch"


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


def make(scan_id, threads, launcher_args, environ, batch_dir=None):
    """The launcher for one scan (the launcher table's factory)."""
    return SlurmLauncher(scan_id, threads, launcher_args, environ, batch_dir=batch_dir)


def reap(jobs, scan_id, uid, environ):
    """The launcher table's reap: cancel a dead scan's SLURM jobs (reap_jobs)."""
    return reap_jobs(jobs, scan_id, uid, SlurmCommands(environ))


def job_name(scan_id, run_name):
    """The SLURM step name of a run (and a batch job's, before arrays): reap matches it."""
    return "td-%s-%s" % (scan_id, re.sub(r"[^A-Za-z0-9_.:+-]", "_", run_name))


def array_name(scan_id):
    """The job name of every job array of a scan: reap matches it."""
    return "td-%s" % scan_id


def task_command(spec_path, python=None):
    """The command SLURM runs: this times-doctor, on this interpreter, for one run."""
    return [python or sys.executable, "-m", "times_doctor", TASK_COMMAND, spec_path]


def array_task_command(manifest_path, python=None):
    """The command every task of an array runs (the task's index picks its run)."""
    return [python or sys.executable, "-m", "times_doctor", TASK_COMMAND, ARRAY_FLAG,
            manifest_path]


def package_parent():
    """The folder (or zipapp) times_doctor is imported from: the task's PYTHONPATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(here)


class SlurmLauncher(object):
    """Starts runs through SLURM (arrays, or steps inside an allocation) and follows each."""

    name = "slurm"

    def __init__(self, scan_id, threads, slurm_args, environ, commands=None, python=None,
                 poll_seconds=POLL_SECONDS, batch_dir=None, poller=None):
        """Args:
            batch_dir: where batch manifests and sbatch's own output go (the
                scan's paths.launch_dir); None: beside each batch's first run.
            poller: a QueuePoller (tests pass one with short intervals).
        """
        self.scan_id = scan_id
        self.threads = threads
        self.slurm_args = list(slurm_args or [])
        self.environ = dict(environ)
        self.inside_allocation = bool(self.environ.get("SLURM_JOB_ID"))
        self.commands = commands or SlurmCommands(self.environ)
        self.python = python
        self.poll_seconds = poll_seconds
        self.batch_dir = batch_dir
        self.poller = poller or QueuePoller(self.commands)
        self._lock = threading.Lock()
        self._tasks = {}  # run name -> ArrayTask
        self._batch_count = 0

    # -- the launcher protocol (launch/table.py) --------------------------------------

    def submit(self, specs, max_parallel, registry, timeout_seconds=0, grace_seconds=10.0,
               log_seconds=None):
        """Hand a batch of runs to SLURM as one job array (``--array=...%max_parallel``).

        Every run of the batch moves to STARTING (one cancelled meanwhile is
        left out); the poller thread submits the array.  Inside an allocation
        nothing happens here: each run becomes a job step when a worker runs it.
        """
        if self.inside_allocation:
            return
        started = [spec for spec in specs if registry.try_start(spec.name)]
        if not started:
            return
        spec_paths = [self._write_spec(spec, timeout_seconds, grace_seconds, log_seconds)
                      for spec in started]
        with self._lock:
            self._batch_count += 1
            number = self._batch_count
        folder = self.batch_dir or os.path.dirname(started[0].work_dir)
        os.makedirs(folder, exist_ok=True)
        manifest = os.path.join(folder, "array-%d.json" % number)
        write_manifest(manifest, spec_paths)
        command = array_task_command(manifest, self.python)
        script = "exec " + " ".join(shlex.quote(part) for part in command)

        def argv(indexes, throttle):
            # --no-requeue: SLURM would otherwise requeue a task whose node
            # failed and start the profile again from scratch minutes later,
            # while the table shows it running; the run ends `failed` with
            # SLURM's reason instead.  A --slurm-arg=--requeue comes later and wins.
            return (["sbatch", "--parsable", "--no-requeue",
                     "--array=%s%%%d" % (array_spec(indexes), throttle),
                     "--job-name=%s" % array_name(self.scan_id), "--ntasks=1", "--nodes=1",
                     "--cpus-per-task=%d" % self.threads, "--chdir=%s" % folder,
                     "--open-mode=append", "--output=%s" % os.path.join(folder, "slurm-%A.out")]
                    + self.slurm_args + ["--wrap=%s" % script])

        batch = ArrayBatch([spec.name for spec in started], max_parallel, argv,
                           self.task_env(started[0]))
        with self._lock:
            for task in batch.tasks:
                self._tasks[task.name] = task
        for spec in started:
            registry.update_launch(spec.name, NAME, mode=MODE_ARRAY,
                                   job_name=array_name(self.scan_id))
            registry.update(spec.name, details="SLURM job array being submitted")
        self.poller.add_batch(batch)

    def followers(self, batch_size, max_parallel):
        """How many workers a batch needs: one per array task (each only waits), else max_parallel."""
        if self.inside_allocation:
            return max(1, min(batch_size, max_parallel))
        return batch_size

    @staticmethod
    def run_seconds(snapshot):
        """A run's time on the ranking's clock: its task's, so pending time never counts."""
        return (snapshot.launch or {}).get("run_seconds")

    def run(self, spec, cancel_event, registry, timeout_seconds=0, grace_seconds=10.0,
            log_seconds=None):
        """Follow one run to a final state (a run not in a batch: an array of one); RunResult.

        Returns:
            A RunResult, or None if the run was cancelled before it started.
        """
        if self.inside_allocation:
            if not registry.try_start(spec.name):
                return None
            spec_path = self._write_spec(spec, timeout_seconds, grace_seconds, log_seconds)
            return _SlurmRun(self, spec, cancel_event, registry, grace_seconds).follow(spec_path)
        with self._lock:
            task = self._tasks.get(spec.name)
        if task is None:
            self.submit([spec], 1, registry, timeout_seconds, grace_seconds, log_seconds)
            with self._lock:
                task = self._tasks.get(spec.name)
            if task is None:
                return None  # cancelled before it was submitted
        return _SlurmRun(self, spec, cancel_event, registry, grace_seconds, task).follow()

    def close(self):
        """Stop the poller thread (after every run has ended); idempotent."""
        self.poller.stop()

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

    def _write_spec(self, spec, timeout_seconds, grace_seconds, log_seconds):
        marker = spec.env.get(procgroup.JOB_ENV_VAR, "")
        spec_path = os.path.join(spec.work_dir, TASK_SPEC_NAME)
        write_task_spec(spec_path, spec, marker, timeout_seconds, grace_seconds, log_seconds)
        try:
            # A previous scan's record must not be read as ours.
            os.remove(os.path.join(spec.work_dir, RECORD_NAME))
        except FileNotFoundError:
            pass
        return spec_path


class _SlurmRun(object):
    """One run's array task (or job step): watch and control it; owned by one worker thread."""

    def __init__(self, launcher, spec, cancel_event, registry, grace_seconds, task=None):
        self.launcher = launcher
        self.commands = launcher.commands
        self.poller = launcher.poller
        self.spec = spec
        self.name = spec.name
        self.cancel_event = cancel_event
        self.registry = registry
        self.grace_seconds = grace_seconds
        self.task = task  # ArrayTask; None for a job step
        self.record_path = os.path.join(spec.work_dir, RECORD_NAME)
        self.job_id = None
        self.step_id = None
        self.srun = None
        self.running = False
        self.paused = False
        self.dropped = False
        self.cancel_sent = None  # (key, monotonic time of the signal to the task)
        self.backstop_done = False
        self.started_at = time.monotonic()
        self.record = None
        self.record_stamp = None
        self.slurm_end = (None, None)  # SLURM's state and reason, once it says the task ended
        self.waiting = None

    # -- the worker's loop ----------------------------------------------------------

    def follow(self, spec_path=None):
        try:
            if self.task is None:
                message = self._start_step(spec_path)
                if message is not None:
                    return self._fail(message)
            gone_since = None
            while True:
                woken = self.cancel_event.wait(self.launcher.poll_seconds)
                if woken:
                    self._handle_request()
                if self.dropped:
                    self.registry.set_status(self.name, RunStatus.CANCELLED)
                    return RunResult(self.name, RunStatus.CANCELLED, None, 0.0, None, "", [])
                if self.job_id is None:
                    message = self._await_submission()
                    if message is not None:
                        return self._fail(message)
                    continue
                self._read_record()
                if self.record is not None and self.record.get("final"):
                    break
                now = time.monotonic()
                if self._backstop_due(now):
                    self._scancel_plain()
                if self._present():
                    gone_since = None
                    continue
                # Gone from SLURM: give the final record a moment to become visible.
                gone_since = gone_since if gone_since is not None else now
                if now - gone_since >= RECORD_SETTLE_SECONDS:
                    self._read_record()
                    break
            return self._finish()
        finally:
            if self.task is not None:
                self.poller.finished(self.task)

    def _start_step(self, spec_path):
        """Start the job step (inside an allocation); None, or why it could not start."""
        command = task_command(spec_path, self.launcher.python)
        env = self.launcher.task_env(self.spec)
        name = job_name(self.launcher.scan_id, self.name)
        argv = (["srun", "--exclusive", "--job-name=%s" % name, "--ntasks=1", "--nodes=1",
                 "--cpus-per-task=%d" % self.launcher.threads,
                 "--chdir=%s" % self.spec.work_dir,
                 "--output=%s" % os.path.join(self.spec.work_dir, "slurm-step.out")]
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
        self._launch(job_id=self.job_id, job_name=name, mode=MODE_STEP)
        self._update(details="SLURM step of job %s starting" % self.job_id)
        return None

    def _await_submission(self):
        """Take the array task's id once the poller submitted it; None, or why it never will be."""
        job_id, failure, waiting = self.poller.task_state(self.task)
        if failure is not None:
            return failure
        if job_id is None:
            if waiting is not None and waiting != self.waiting:
                self.waiting = waiting
                self._update(details=waiting)
            return None
        self.job_id = job_id
        self.started_at = self.task.submitted_at or self.started_at
        self._launch(job_id=job_id)
        self._update(details="SLURM job %s submitted" % job_id)
        return None

    def _read_record(self):
        try:
            stamp = os.stat(self.record_path)
        except OSError:
            return  # not written yet
        stamp = (stamp.st_mtime_ns, stamp.st_size)
        if stamp == self.record_stamp:
            return  # unchanged since the last read: nothing to parse
        record = read_record(self.record_path)
        if record is None or record.get("name") != self.name:
            return
        self.record_stamp = stamp
        self.record = record
        if record.get("slurm_step_id") not in (None, "") and self.step_id is None:
            self.step_id = str(record["slurm_step_id"])
        node = record.get("node")
        # "exclusive": a step's task asks squeue itself (None for array tasks).
        self._launch(node=node, step_id=self.step_id, task_pid=record.get("task_pid"),
                     run_seconds=record.get("elapsed_seconds"), exclusive=record.get("exclusive"))
        if not self.running and record.get("status") in (RunStatus.RUNNING, RunStatus.PAUSED):
            self.running = True
            if self.registry.get(self.name).status == RunStatus.STARTING:
                self.registry.set_status(self.name, RunStatus.RUNNING)
            self._update(details="SLURM job %s on %s" % (self._target(), node))
        fields = dict((key, record.get(key)) for key in RUN_FIELDS
                      if record.get(key) not in (None, ""))
        if fields:
            self._update(**fields)

    def _present(self):
        """True while SLURM still has the task (or our srun still runs), by the poller's last look."""
        if self.srun is not None:
            return self.srun.poll() is None
        info, polled_at = self.poller.look(self.job_id)
        if polled_at is None or polled_at < self.started_at:
            return True  # no answer about it yet
        if info is None:
            return False  # SLURM no longer lists it
        if info.node:
            self._launch(node=info.node)
        if info.state == "PENDING" and not self.running:
            details = "SLURM job %s pending (%s)" % (self.job_id, info.reason or "queued")
            if details != self.waiting:
                self.waiting = details
                self._update(details=details)
        if info.state in ENDED_STATES:
            self.slurm_end = (info.state, info.reason)
            return False
        return True

    # -- requests ---------------------------------------------------------------------

    def _handle_request(self):
        if self.registry.is_cancel_requested(self.name):
            self._cancel()
            if self.dropped or not self.cancel_event.is_set():
                return
            # The event stays set while a cancel is pending: do not spin on it.
            time.sleep(self.launcher.poll_seconds)
            return
        action = self.registry.take_action(self.name)
        if action is not None and self.task is not None:
            self.poller.nudge()
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
        if self.job_id is None and self.task is not None and self.poller.drop(self.task):
            self.dropped = True  # never submitted: nothing in SLURM to end
            return
        if not self.running:
            # Not started on a node yet: nothing to end gracefully.
            if self.srun is not None:
                self.srun.terminate()
            elif self.job_id is not None:
                self._call(["scancel", str(self.job_id)])
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
        self._call(["scancel", self._target()])

    def _target(self):
        if self.step_id is not None and self.launcher.inside_allocation:
            return "%s.%s" % (self.job_id, self.step_id)
        return str(self.job_id)

    def _call(self, argv):
        """(rc, error text) of a SLURM command: through the poller for array tasks (merged)."""
        if self.task is not None:
            return self.poller.command(argv)
        rc, _out, err = self.commands.call(argv)
        return rc, err

    def _signal_task(self, signal_name):
        if self.launcher.inside_allocation:
            argv = ["scancel", "--signal=%s" % signal_name, self._target()]
        else:
            # --batch: only the batch script's process, which is the task (exec).
            argv = ["scancel", "--batch", "--signal=%s" % signal_name, str(self.job_id)]
        rc, err = self._call(argv)
        if rc != 0:
            self._update(details="%s failed: %s" % (" ".join(argv), err))
        return rc == 0

    def _pause(self, pause):
        if self.launcher.inside_allocation:
            # Suspending the allocation would stop the scanner's own job too.
            argv = ["scancel", "--signal=%s" % ("STOP" if pause else "CONT"), self._target()]
        else:
            argv = ["scontrol", "suspend" if pause else "resume", str(self.job_id)]
        rc, err = self._call(argv)
        if rc != 0 and not self.launcher.inside_allocation:
            # Only operators may suspend on many clusters: stop the job's
            # processes instead (SLURM then does not show it suspended).
            argv = ["scancel", "--full", "--signal=%s" % ("STOP" if pause else "CONT"),
                    str(self.job_id)]
            rc, err = self._call(argv)
        if rc != 0:
            self._update(details="%s failed: %s" % (" ".join(argv), err))
        return rc == 0

    # -- the end -------------------------------------------------------------------

    def _fail(self, message):
        self.registry.set_status(self.name, RunStatus.FAILED)
        self._update(details=message)
        return RunResult(self.name, RunStatus.FAILED, None, 0.0, None, message, [])

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
            state, reason = self._slurm_verdict()
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
            runtime = time.monotonic() - self.started_at
        current = self.registry.get(self.name).status
        if not can_transition(current, status) and can_transition(current, RunStatus.RUNNING):
            # The task got further than the scanner saw (a run that ended
            # between two looks at its record, a timeout while paused).
            self.registry.set_status(self.name, RunStatus.RUNNING)
        if message:
            self._update(details=message)
        if self.poller is not None and self.job_id and self.srun is None:
            # From the poller's looks at the array, not from each task: no request of its own.
            exclusive = self.poller.exclusive(self.job_id)
            if exclusive is not None:
                self._launch(exclusive=exclusive)
        self.registry.set_status(self.name, status, returncode)
        return RunResult(self.name, status, returncode, float(runtime), lst, message,
                         list(record.get("survivors") or []))

    def _slurm_verdict(self):
        """(state, reason) SLURM gives a task that ended without a good result of its own.

        The task's final record often comes first: when SLURM ends a task for
        its time limit, the task's record says "cancelled" while SLURM still
        shows it COMPLETING.  So the poller is asked to look again (one RPC
        per look) until it shows a final state, for up to VERDICT_SECONDS;
        then ``scontrol``/``sacct`` for the task alone.
        """
        if self.task is None:
            return self.commands.end_reason(self.job_id)
        deadline = time.monotonic() + VERDICT_SECONDS
        asked = None
        while self.slurm_end[0] is None:
            info, polled_at = self.poller.look(self.job_id)
            if info is not None and info.state in ENDED_STATES:
                return info.state, info.reason
            if time.monotonic() >= deadline:
                return self.commands.end_reason(self.job_id)
            if polled_at != asked:
                asked = polled_at
                self.poller.nudge()
            time.sleep(self.launcher.poll_seconds)
        return self.slurm_end

    def _update(self, **fields):
        """Write fields of the run's record (job_control.RECORD_FIELDS); None leaves one as it is."""
        fields = dict((key, value) for key, value in fields.items() if value is not None)
        if fields:
            self.registry.update(self.name, **fields)

    def _launch(self, **keys):
        """Merge SLURM's facts about the run into its record's ``launch`` field."""
        self.registry.update_launch(self.name, NAME, **keys)


def reap_jobs(jobs, scan_id, uid, commands):
    """Cancel a dead scan's SLURM jobs; only those whose name and user match the record.

    Array tasks (``A_i``) are ours when squeue lists them under the scan's
    array name and the scanner's user; all of an array's that are ours go
    in one ``scancel A_[i,j,...]``.  Job steps and the one-job-per-profile
    batch jobs of scans from before arrays are matched by their own names.

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
        launch = job.get("launch") or {}
        job_id = launch.get("job_id")
        if launch.get("launcher") != NAME or not job_id:
            continue
        target = str(job_id)
        if launch.get("mode") == MODE_STEP:
            if launch.get("step_id") in (None, ""):
                continue  # the step never started: nothing on a node to end
            target = "%s.%s" % (job_id, launch.get("step_id"))
        wanted[target] = job
    if not wanted:
        return [], {}
    try:
        user = pwd.getpwuid(uid).pw_name if uid is not None else None
    except KeyError:
        user = None
    listed = commands.jobs_of(list(wanted))
    ours, untouched = [], {}
    for target, job in sorted(wanted.items()):
        expected = (array_name(scan_id) if job["launch"].get("mode") == MODE_ARRAY
                    else job_name(scan_id, job.get("name", "")))
        found = listed.get(target)
        if found is None:
            continue  # SLURM no longer has it
        name, job_user = found
        if name != expected or user is None or job_user != user:
            untouched[job.get("name")] = "SLURM job %s is %r of %s, not %r of %s" % (
                target, name, job_user, expected, user)
            continue
        ours.append((target, job.get("name")))
    cancelled = []
    for group in scancel_targets([target for target, _name in ours]):
        rc, _out, err = commands.call(["scancel", group])
        members = [(target, name) for target, name in ours
                   if target == group or ("_" in target
                                          and group.startswith(array_of(target) + "_"))]
        failed = [name for target, name in members if result_for(target, rc, err)[0] != 0]
        if len(failed) < len(members):
            cancelled.append(group)
        for name in failed:
            untouched[name] = "scancel %s failed: %s" % (group, err)
    return cancelled, untouched
