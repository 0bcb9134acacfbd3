"""The compute-node side of a SLURM run: one profile, run by the local runner.

SLURM starts ``python -m times_doctor _slurm-task --array <batch manifest>``
as the batch script (``exec``) of each task of a job array (the manifest
lists the batch's task specs; ``SLURM_ARRAY_TASK_ID`` picks this task's), or
``python -m times_doctor _slurm-task <work_dir>/slurm_task.json`` as a job
step inside an allocation.  This process runs that one profile with runner.run_gams_with_progress(), the code that is proven
locally: GAMS in its own session, the ``waitid`` watch, TERM -> grace ->
KILL, the session sweep and the SIGINT-to-GAMS-only interrupt.  SLURM is
only the transport: the scanner turns its menu and control actions into
signals (launch.slurm.TASK_SIGNALS) that this process turns back into the
same JobRegistry calls the local scanner makes.  Everything the scanner
needs to know (status, progress, result, node, SLURM ids) goes into
``slurm_record.json`` next to the run's log, on the shared file system.

Signals (chosen so that a copy reaching GAMS or the solver, as ``scancel``
of a job step delivers to every process of the step, is harmless or wanted):

- SIGTERM, SIGHUP: cancel with the scan's grace; a second one: no grace.
- SIGUSR1: cancel with no grace (the scanner's abort).
- SIGWINCH (ignored by default by every other process), SIGINT: interrupt.
- Pause is SLURM's own (``scontrol suspend``: SIGSTOP to every process of the
  job); the time this process spends stopped does not count against the
  run's timeout (SuspendWatch).
"""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from times_doctor.proc import procgroup
from times_doctor.atomic import write_atomic
from times_doctor.errors import ParseError, UsageError
from times_doctor.job_control import ACTION_INTERRUPT, RECORD_FIELDS, JobRegistry
from times_doctor.run.runner import RunSpec, run_gams_with_progress
from times_doctor.states import FINAL_STATES

TASK_SPEC_NAME = "slurm_task.json"
RECORD_NAME = "slurm_record.json"
TASK_COMMAND = "_slurm-task"
ARRAY_FLAG = "--array"
# What an array task writes its own output to, in its run's folder, once it
# knows its run (before that, sbatch's --output in the batch folder has it).
TASK_OUTPUT_NAME = "slurm-%s.out"

# How often the task looks for signals and rewrites its record for progress.
TICK_SECONDS = 0.1
RECORD_SECONDS = 1.0

# A gap this long between two ticks of SuspendWatch means the process was stopped.
SUSPEND_GAP_SECONDS = 1.0

# The run's record fields the task reports: all but ``launch``, which is the
# scanner's (where SLURM put the task).  The scanner copies exactly these
# (slurm._SlurmRun._read_record), so a new record field crosses the boundary.
RUN_FIELDS = tuple(field for field in RECORD_FIELDS if field != "launch")

_SPEC_FIELDS = ("name", "solver", "command", "work_dir", "log_path", "lst_path",
                "job_marker", "timeout_seconds", "grace_seconds", "log_seconds")


def write_task_spec(path, spec, job_marker, timeout_seconds, grace_seconds, log_seconds):
    """Write what the task needs to run *spec* (a runner.RunSpec) to *path*."""
    document = {"name": spec.name, "solver": spec.solver, "command": list(spec.command),
                "work_dir": spec.work_dir, "log_path": spec.log_path,
                "lst_path": spec.lst_path, "job_marker": job_marker,
                "timeout_seconds": timeout_seconds, "grace_seconds": grace_seconds,
                "log_seconds": log_seconds}
    write_atomic(path, json.dumps(document, indent=2) + "\n")


def read_task_spec(path):
    """The task spec at *path*; raises ParseError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError) as exc:
        raise ParseError("cannot read the SLURM task spec %s: %s" % (path, exc.strerror or exc))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("the SLURM task spec %s is not valid JSON: %s" % (path, exc))
    missing = [name for name in _SPEC_FIELDS if name not in document]
    if not isinstance(document, dict) or missing:
        raise ParseError("the SLURM task spec %s lacks %s" % (path, ", ".join(missing)))
    return document


def write_manifest(path, spec_paths):
    """The batch manifest of a job array: task index -> that run's task spec."""
    write_atomic(path, json.dumps({"tasks": list(spec_paths)}, indent=2) + "\n")


def spec_of_array_task(manifest_path, environ):
    """The task spec path of this array task (``SLURM_ARRAY_TASK_ID``); ParseError if none."""
    index = environ.get("SLURM_ARRAY_TASK_ID", "")
    if not index.isdigit():
        raise ParseError("%s %s runs as a SLURM array task: SLURM_ARRAY_TASK_ID is %r"
                         % (TASK_COMMAND, ARRAY_FLAG, index))
    try:
        with open(manifest_path, "rb") as handle:
            tasks = json.loads(handle.read().decode("utf-8"))["tasks"]
        return tasks[int(index)]
    except (IOError, OSError) as exc:
        raise ParseError("cannot read the SLURM batch manifest %s: %s"
                         % (manifest_path, exc.strerror or exc))
    except (ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ParseError("the SLURM batch manifest %s has no task %s: %s"
                         % (manifest_path, index, exc))


def slurm_ids(environ):
    """(job id as scancel names it, step id) of this process: ``A_i`` for an array task."""
    array_job, array_task = environ.get("SLURM_ARRAY_JOB_ID"), environ.get("SLURM_ARRAY_TASK_ID")
    if array_job and array_task:
        return "%s_%s" % (array_job, array_task), environ.get("SLURM_STEP_ID")
    return environ.get("SLURM_JOB_ID"), environ.get("SLURM_STEP_ID")


def read_record(path):
    """The task's record, or None when it is missing or half-visible (read again later)."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError, ValueError, UnicodeDecodeError):
        return None


def main(argv, environ=None):
    """``times-doctor _slurm-task [--array MANIFEST | SPEC]``: run one profile; the exit code."""
    environ = os.environ if environ is None else environ
    if len(argv) == 2 and argv[0] == ARRAY_FLAG:
        spec = read_task_spec(spec_of_array_task(argv[1], environ))
        job_id, _step = slurm_ids(environ)
        _redirect_output(os.path.join(spec["work_dir"], TASK_OUTPUT_NAME % job_id))
        return Task(spec).run()
    if len(argv) != 1:
        raise UsageError("usage: times-doctor %s --array <batch manifest> | <work_dir>/%s "
                         "(started by the SLURM launcher, not by hand)"
                         % (TASK_COMMAND, TASK_SPEC_NAME))
    spec = read_task_spec(argv[0])
    return Task(spec).run()


def _redirect_output(path):
    """This task's stdout and stderr into its run's folder (an array has one --output)."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    finally:
        os.close(fd)


class Task(object):
    """One profile on a compute node, from start to its final record."""

    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.record_path = os.path.join(spec["work_dir"], RECORD_NAME)
        # The registry's clock leaves out the time SLURM kept the job
        # suspended: the run's timeout must not count it.
        self.watch = SuspendWatch()
        self.registry = JobRegistry(default_grace_seconds=float(spec["grace_seconds"]),
                                    monotonic=self.watch.monotonic)
        self.cancel_event = self.registry.register(self.name, work_dir=spec["work_dir"])
        self.record = TaskRecord(self.record_path, self.registry, self.name, {
            "node": os.environ.get("SLURMD_NODENAME") or socket.gethostname(),
            "host": socket.gethostname(),
            "task_pid": os.getpid(),
            "slurm_job_id": slurm_ids(os.environ)[0],
            "slurm_step_id": slurm_ids(os.environ)[1],
            # Whether other jobs could share the node: a ranking of runs on
            # nodes of their own is not distorted by anyone else's work.  An
            # array task leaves it to the scanner's poller, whose look at the
            # array says it anyway (OverSubscribe): 200 tasks asking squeue
            # would be 600 requests to slurmctld.  A step asks once.
            "exclusive": None if os.environ.get("SLURM_ARRAY_JOB_ID")
            else job_is_exclusive(os.environ.get("SLURM_JOB_ID")),
        })
        self.registry.add_listener(self.record.on_snapshot)
        self._signals = collections.deque(maxlen=64)
        self._cancels = 0
        self._result = None
        self._error = None

    def run(self):
        env = dict(os.environ)
        env[procgroup.JOB_ENV_VAR] = self.spec["job_marker"]
        run_spec = RunSpec(name=self.name, solver=self.spec["solver"], profile=None,
                           work_dir=self.spec["work_dir"], command=self.spec["command"],
                           log_path=self.spec["log_path"], lst_path=self.spec["lst_path"],
                           env=env)
        previous = self._install_handlers()
        self.watch.start()
        self.record.write()
        worker = threading.Thread(target=self._work, args=(run_spec,), name="td-task")
        worker.daemon = True
        worker.start()
        try:
            next_write = time.monotonic() + RECORD_SECONDS
            while worker.is_alive():
                worker.join(TICK_SECONDS)
                self._apply_signals()
                if time.monotonic() >= next_write:
                    next_write = time.monotonic() + RECORD_SECONDS
                    self.record.write_if_changed()
        finally:
            # A signal now would find no run to act on; the old handlers back.
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.watch.stop()
        self._write_final()
        if self._error is not None:
            raise self._error
        return 0

    def _work(self, run_spec):
        try:
            self._result = run_gams_with_progress(
                run_spec, self.cancel_event, self.registry,
                timeout_seconds=int(self.spec["timeout_seconds"] or 0),
                grace_seconds=float(self.spec["grace_seconds"]),
                monotonic=self.watch.monotonic,
                log_seconds=self.spec.get("log_seconds"))
        except BaseException as exc:  # reported by run() after the final record
            self._error = exc

    def _install_handlers(self):
        previous = {}
        for name in ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGWINCH", "SIGINT"):
            signum = getattr(signal, name)
            previous[signum] = signal.signal(signum, self._handler)
        return previous

    def _handler(self, signum, _frame):
        # Record only: the main loop acts (registry calls take locks).
        self._signals.append(signum)

    def _apply_signals(self):
        while self._signals:
            signum = self._signals.popleft()
            if signum in (signal.SIGTERM, signal.SIGHUP):
                self._cancels += 1
                self.registry.cancel(self.name, grace_seconds=0 if self._cancels > 1 else None)
            elif signum == signal.SIGUSR1:
                self.registry.cancel(self.name, grace_seconds=0)
            else:
                self.registry.request_action(self.name, ACTION_INTERRUPT)

    def _write_final(self):
        snap = self.registry.get(self.name)
        result = self._result
        fields = {"status": snap.status, "final": snap.status in FINAL_STATES,
                  "cancel_requested": snap.cancel_requested}
        if result is not None:
            fields.update({"status": result.status, "final": True,
                           "returncode": result.returncode,
                           "runtime_seconds": (round(result.runtime_seconds, 3)
                                               if result.runtime_seconds is not None else None),
                           "message": result.message, "survivors": list(result.survivors)})
        elif self._error is not None:
            fields.update({"status": "failed", "final": True,
                           "message": "internal error on %s: %s" % (
                               socket.gethostname(), self._error)})
        self.record.finish(**fields)


class TaskRecord(object):
    """slurm_record.json: the task's run record (its registry's) for the scanner to read."""

    def __init__(self, path, registry, name, fixed):
        """Args:
            path: the record file in the run's work directory.
            registry: the task's JobRegistry, which the runner writes.
            name: the run.
            fixed: fields that do not change (node, host, task pid, SLURM ids).
        """
        self.path = path
        self._registry = registry
        self._name = name
        self._fixed = dict(fixed, name=name)
        self._final = None
        self._lock = threading.Lock()  # one write at a time
        self._written = None

    def on_snapshot(self, _snap):
        """A registry listener: status and pid changes are written at once."""
        self.write()

    def finish(self, **fields):
        """Write the final record: the run's result, and ``final`` true."""
        with self._lock:
            self._final = dict(fields)
        self.write()

    def write_if_changed(self):
        """Rewrite the record if the run's fields (progress, phase, ...) moved."""
        self.write(only_if_changed=True)

    def write(self, only_if_changed=False):
        with self._lock:
            document = self._document()
            if only_if_changed and document == self._written:
                return
            self._written = dict(document)
            document["updated_at"] = time.time()
            write_atomic(self.path, json.dumps(document, indent=2) + "\n")

    def _document(self):
        snap = self._registry.get(self._name)
        document = dict(self._fixed)
        document.update((field, getattr(snap, field)) for field in RUN_FIELDS)
        # elapsed_seconds: the run's own clock (suspended time left out), the
        # one --cap compares; the scanner's counts from the submission.
        document.update({"status": snap.status, "final": False, "pid": snap.pid,
                         "cancel_requested": snap.cancel_requested,
                         "elapsed_seconds": snap.elapsed_seconds})
        if self._final is not None:
            document.update(self._final)
        return document


def job_is_exclusive(job_id, call=subprocess.check_output):
    """True if SLURM gave job *job_id* its nodes to itself, False if not, None if unknown.

    squeue's OverSubscribe (``%h``) is "NO" for a job with exclusive node
    access (``--exclusive``, or a partition with OverSubscribe=EXCLUSIVE)
    and "OK", "YES", "USER" or "MCS" otherwise (squeue(1)).
    """
    if not job_id:
        return None
    try:
        out = call(["squeue", "-h", "-j", str(job_id), "-o", "%h"], stderr=subprocess.DEVNULL,
                   timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None  # no squeue on the node, or no answer: a fact we do not have
    answer = out.decode("utf-8", "replace").strip().upper()
    if answer == "NO":
        return True
    return False if answer in ("OK", "YES", "USER", "MCS") else None


class SuspendWatch(object):
    """A monotonic clock that leaves out the time this process was stopped.

    ``scontrol suspend`` stops every process of the job, this one included,
    so nothing can be told beforehand; a ticking thread sees the gap
    afterwards.  SLURM does not count suspended time against a job's time
    limit, and the run's own timeout must not count it either.
    """

    def __init__(self, tick_seconds=TICK_SECONDS, gap_seconds=SUSPEND_GAP_SECONDS):
        self._tick = tick_seconds
        self._gap = gap_seconds
        self._suspended = 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._loop, name="td-suspend-watch")
        self._thread.daemon = True
        self._thread.start()

    def stop(self):
        self._done.set()

    def monotonic(self):
        with self._lock:
            return time.monotonic() - self._suspended

    def _loop(self):
        last = time.monotonic()
        while not self._done.wait(self._tick):
            now = time.monotonic()
            if now - last > self._gap:
                with self._lock:
                    self._suspended += now - last - self._tick
            last = now


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
