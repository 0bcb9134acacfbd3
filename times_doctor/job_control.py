"""Job registry and process-group termination.

The registry is the single source of truth for every run's state, shaped
like ``concurrent.futures.Future``: one lock guards all state, callers get
immutable snapshots, and listeners (the live table, the state file) are
called only after the lock is released, so no I/O ever happens under it.

The worker thread that owns a job does the actual killing when it sees its
cancel event; cancel() and cancel_all() only record the request and set the
events.  That is why cancel_all() of N stubborn jobs takes one grace period,
not N: every worker escalates at the same time.

Why over 500 lines: _terminate_process_group (the last 80 lines) is how a
worker carries out the registry's cancel request, and the module contract
(docs/ARCHITECTURE.md), the runner, bench and the seam tests name it here.
Its next home, if this module grows, is beside the seam in proc/procgroup.py.
"""

import collections
import threading
import time

from times_doctor.proc import procgroup
from times_doctor.errors import InvalidTransition, TimesDoctorError
from times_doctor.states import (ACTIVE_STATES, CANCELLABLE_STATES, FINAL_STATES,
                                 RunStatus, can_transition)

# The fields of a run's record that its writer (the runner) sets with
# JobRegistry.update(), and their values before it does.  Every view (the
# terminal table, the state file, `status`, the dashboard) reads them from
# the record, so adding a per-run field is one line here: it reaches the
# snapshot, update() and the state file's jobs without further change.
RECORD_FIELDS = collections.OrderedDict([
    ("result", ""),       # one word from the listing: "optimal", "infeasible", ...
    ("phase", ""),        # the solver's phase as the solver's log parser names it
    ("progress", None),   # 0..1, or None when the phase has no measure
    ("iteration", None),  # int, or None
    ("details", ""),      # one line: what the log says now, or why the run ended
    # What the run cost, set as it ends (run/usage.py): wall time is the run's
    # clock (elapsed_seconds); None where a figure is unknown.
    ("solver_seconds", None),  # the solver's own time: the listing's RESOURCE USAGE
    ("gams_seconds", None),    # GAMS's share: the run's clock minus solver_seconds
    ("cpu_seconds", None),     # CPU time of the run's whole process tree
    ("det_ticks", None),       # CPLEX's deterministic ticks ("--- Cplex Time: ... ticks)")
    ("work_units", None),      # Gurobi's work units ("... seconds (N work units)")
    ("cpu_share", None),       # 0..1: of the CPU time its threads were ready to use, what they got
    ("load_avg", None),        # the machine's load while it ran (1-minute load average, mean)
    ("cpus", None),            # the CPUs the run could use (its affinity)
    ("contended", None),       # True: it got clearly less CPU than it asked for
    ("stop_reason", ""),       # why the scan stopped it (--cap, --race): "could not beat ..."
    # Where its launcher ran it (launch/table.py): None for a local run, else
    # a dict that JobRegistry.update_launch() merges into: "launcher" (its
    # name in the launcher table), "exclusive" (True: the run had its node to
    # itself; None: not known), "run_seconds" (the run's own clock where it
    # ran: queueing time not counted), and the launcher's own keys (SLURM:
    # job_id, step_id, job_name, mode, node, task_pid).  A pid in it is on
    # another host: nothing here may look it up.
    ("launch", None),
])

# What a listener receives: a frozen copy of one run's record.
# elapsed_seconds: the run's pausable clock as of the copy (None before it started).
JobSnapshot = collections.namedtuple(
    "JobSnapshot",
    "name status pid pgid sid os_start_time work_dir started_at ended_at returncode "
    "cancel_requested pending_action index elapsed_seconds " + " ".join(RECORD_FIELDS))

# Actions a worker performs on request (besides cancel, which has its event).
ACTION_PAUSE = "pause"
ACTION_RESUME = "resume"
ACTION_INTERRUPT = "interrupt"
# How a run's Details begin when an interrupt could not reach GAMS (run/runner.py);
# `times-doctor interrupt` stops waiting for such a run (remote/control.py).
INTERRUPT_NOT_AVAILABLE = "interrupt not available"


class RunClock(object):
    """A run's elapsed time: runs while STARTING or RUNNING, holds while paused or final.

    The one clock of a run: the timeout, the CSV's runtime and every view's
    Time column read it.  Not thread-safe by itself: the registry drives it
    under its lock.
    """

    def __init__(self, monotonic):
        self._monotonic = monotonic
        self._banked = None      # seconds of earlier stretches; None: never ran
        self._running_since = None

    def run(self):
        if self._running_since is None:
            self._running_since = self._monotonic()
            if self._banked is None:
                self._banked = 0.0

    def hold(self):
        if self._running_since is not None:
            self._banked += self._monotonic() - self._running_since
            self._running_since = None

    def preset(self, seconds):
        """Hold at *seconds* run elsewhere (a run ``scan --resume`` kept; None: no time)."""
        self._running_since = None
        self._banked = seconds

    def elapsed(self):
        """Seconds run so far, or None if the run never started."""
        if self._running_since is None:
            return self._banked
        return self._banked + max(0.0, self._monotonic() - self._running_since)


# States in which a run's clock runs.
_CLOCK_RUNNING_STATES = (RunStatus.STARTING, RunStatus.RUNNING)


class JobHandle(object):
    """Everything known about one run (its record); only the registry touches it.

    Attributes are read and written under the registry's lock; the outside
    world sees JobSnapshot copies.
    """

    def __init__(self, name, index, work_dir=None, monotonic=time.monotonic):
        self.name = name
        self.index = index
        self.work_dir = work_dir
        self.status = RunStatus.WAITING
        self.cancel_event = threading.Event()
        self.cancel_requested = False
        # What a stop request ends the run as: CANCELLED (a user's cancel)
        # or CAPPED (the scan's --cap/--race); the first request decides.
        self.stop_status = RunStatus.CANCELLED
        self.grace_seconds = None
        self.grace_deadline = None  # monotonic; moved earlier by a second request
        self.group = None  # procgroup.GroupRef
        self.pid = None
        self.pgid = None
        self.sid = None
        self.os_start_time = None
        self.started_at = None  # wall clock, for the state file
        self.ended_at = None
        self.returncode = None
        self.pending_action = None
        self.clock = RunClock(monotonic)
        self.fields = dict(RECORD_FIELDS)

    def snapshot(self):
        return JobSnapshot(
            name=self.name, status=self.status, pid=self.pid, pgid=self.pgid, sid=self.sid,
            os_start_time=self.os_start_time, work_dir=self.work_dir,
            started_at=self.started_at, ended_at=self.ended_at, returncode=self.returncode,
            cancel_requested=self.cancel_requested, pending_action=self.pending_action,
            index=self.index, elapsed_seconds=self.clock.elapsed(), **self.fields)


class UnknownJobError(TimesDoctorError):
    """A name that is not a run of this scan."""

    def __init__(self, name, known):
        TimesDoctorError.__init__(
            self, "unknown run %r: choose one of %s" % (name, ", ".join(known)))
        self.name = name


class JobRegistry(object):
    """Thread-safe registry of the runs of one scan: one record per run.

    Listeners are called after every state change (status, process, cancel
    or action request), outside the lock; a listener that raises does not
    undo the change, stop the other listeners or reach the caller (a worker
    must finish its run the same way whether or not the state file could be
    written).  Its error is kept for the owner: take_listener_errors().
    Field updates (update(): phase, progress, ...) notify nobody: the views
    poll snapshots at their own pace.
    """

    def __init__(self, default_grace_seconds=10.0, wall_clock=time.time,
                 monotonic=time.monotonic):
        self._lock = threading.Lock()
        self._jobs = collections.OrderedDict()
        self._listeners = []  # (callable, status_only)
        self._listener_errors = []
        self._changed = threading.Condition(self._lock)
        self.default_grace_seconds = default_grace_seconds
        self._wall_clock = wall_clock
        self._monotonic = monotonic

    # -- set-up -----------------------------------------------------------

    def register(self, name, work_dir=None):
        """Add a run in WAITING state and return its cancel event."""
        with self._lock:
            if name in self._jobs:
                raise ValueError("run %r registered twice" % name)
            handle = JobHandle(name, len(self._jobs), work_dir, self._monotonic)
            self._jobs[name] = handle
            return handle.cancel_event

    def register_finished(self, name, status, work_dir=None, started_at=None, ended_at=None,
                          returncode=None, elapsed_seconds=None, **fields):
        """Add a run that is final already: a completed run ``scan --resume`` keeps.

        No worker ever picks it up; every view lists and counts it like the
        others.  Times and fields (RECORD_FIELDS) are those of the earlier scan.
        """
        if status not in FINAL_STATES:
            raise ValueError("run %r registered as finished with status %r" % (name, status))
        _check_fields("register_finished", fields)
        with self._lock:
            if name in self._jobs:
                raise ValueError("run %r registered twice" % name)
            handle = JobHandle(name, len(self._jobs), work_dir, self._monotonic)
            handle.status = status
            handle.started_at = started_at
            handle.ended_at = ended_at
            handle.returncode = returncode
            handle.clock.preset(elapsed_seconds)
            handle.fields.update(fields)
            self._jobs[name] = handle
            self._changed.notify_all()

    def add_listener(self, listener, status_only=False):
        """Call ``listener(snapshot)`` after every change, outside the lock.

        With *status_only*, only after changes of the run's status (the
        terminal's plain lines: one per status change).
        """
        with self._lock:
            self._listeners.append((listener, status_only))

    def take_listener_errors(self):
        """The exceptions listeners raised since the last call, oldest first."""
        with self._lock:
            errors, self._listener_errors = self._listener_errors, []
            return errors

    # -- state changes (each notifies after releasing the lock) -------------

    def attach_process(self, name, pid, group=None):
        """Record the process (and its procgroup.GroupRef) of a run that has just started."""
        with self._lock:
            handle = self._get(name)
            handle.group = group
            handle.pid = pid
            if group is not None:
                handle.pgid = group.pgid
                handle.sid = group.sid
                handle.os_start_time = group.start_time
            snap = handle.snapshot()
        self._notify(snap)

    def update(self, name, **fields):
        """Set fields of a run's record (RECORD_FIELDS: phase, progress, result, ...).

        Notifies nobody: the views read snapshots when they draw.

        Raises:
            TypeError: a field that is not in RECORD_FIELDS.
        """
        _check_fields("update", fields)
        with self._lock:
            self._get(name).fields.update(fields)

    def update_launch(self, name, launcher, **keys):
        """Merge *keys* into a run's ``launch`` field, set by *launcher* (its table name).

        A new dict each time, under the lock: a snapshot taken earlier keeps
        the dict it had, and two threads of one launcher never lose a key.
        Keys whose value is None are left as they are.
        """
        with self._lock:
            fields = self._get(name).fields
            merged = dict(fields.get("launch") or {})
            merged["launcher"] = launcher
            merged.update((key, value) for key, value in keys.items() if value is not None)
            fields["launch"] = merged

    def set_status(self, name, status, returncode=None):
        """Move a run to *status*; raises InvalidTransition for illegal moves."""
        with self._lock:
            handle = self._get(name)
            self._transition_locked(handle, status, returncode)
            snap = handle.snapshot()
        self._notify(snap, status_changed=True)
        return snap

    def _transition_locked(self, handle, status, returncode=None):
        """The one place a run's status changes: checked, clocked, stamped."""
        if not can_transition(handle.status, status):
            raise InvalidTransition(handle.name, handle.status, status)
        now = self._wall_clock()
        if status == RunStatus.STARTING and handle.started_at is None:
            handle.started_at = now
        if status in _CLOCK_RUNNING_STATES:
            handle.clock.run()
        else:
            handle.clock.hold()
        if status in FINAL_STATES:
            handle.ended_at = now
            handle.returncode = returncode
        handle.status = status
        self._changed.notify_all()

    def try_start(self, name):
        """Move a WAITING run to STARTING; False if it was cancelled first.

        One atomic step, so a cancel that lands while a worker picks the run
        up either stops it from starting or finds it STARTING and ends it.
        """
        with self._lock:
            handle = self._get(name)
            if handle.status != RunStatus.WAITING or handle.cancel_requested:
                return False
            self._transition_locked(handle, RunStatus.STARTING)
            snap = handle.snapshot()
        self._notify(snap, status_changed=True)
        return True

    def fail_waiting(self, name, **fields):
        """Move a WAITING run straight to FAILED: it will never start.

        For runs whose solver's licence already failed in this scan.  *fields*
        (RECORD_FIELDS: the details saying why) are set in the same step, so
        they reach the run only if it fails here, and the listeners' first
        sight of FAILED already carries them.  False if the run is no longer
        waiting (cancelled meanwhile): nothing changes.
        """
        _check_fields("fail_waiting", fields)
        with self._lock:
            handle = self._get(name)
            if handle.status != RunStatus.WAITING:
                return False
            handle.fields.update(fields)
            self._transition_locked(handle, RunStatus.FAILED)
            snap = handle.snapshot()
        self._notify(snap, status_changed=True)
        return True

    def cancel(self, name, grace_seconds=None):
        """Request cancellation of one run.

        A waiting run becomes CANCELLED at once and will never start; an
        active run's worker sees the cancel event and ends the process group.
        A second request with a shorter grace shortens the wait.

        Returns:
            True if the run was not final yet (the request counts).
        """
        with self._lock:
            handle = self._get(name)
            counted, snap, was_waiting = self._cancel_locked(handle, grace_seconds)
        if snap is not None:
            self._notify(snap, status_changed=was_waiting)
        return counted

    def cancel_all(self, grace_seconds=None, names=None):
        """Request cancellation of every unfinished run (or of *names*) in one step.

        One step, not one cancel() per run: a worker whose run ends on the
        first request must not pick up a waiting run that the same request
        cancels next (it would start GAMS for a run the user cancelled).

        Returns:
            The names of the runs the request applied to, in run order.
        """
        chosen = None if names is None else set(names)
        names, changes = [], []
        with self._lock:
            for name in chosen or ():
                self._get(name)  # an unknown name raises before anything changes
            for handle in self._jobs.values():
                if chosen is not None and handle.name not in chosen:
                    continue
                counted, snap, was_waiting = self._cancel_locked(handle, grace_seconds)
                if counted:
                    names.append(handle.name)
                if snap is not None:
                    changes.append((snap, was_waiting))
        for snap, was_waiting in changes:
            self._notify(snap, status_changed=was_waiting)
        return names

    def cap(self, name, reason, grace_seconds=None, waiting_too=False):
        """Stop a run because it can no longer win (--cap, --race): it ends CAPPED.

        A cancel that names another final status: the worker ends the
        process group as for a cancel, and the run's record says why
        (*reason*, in ``stop_reason`` and ``details``).  A waiting run is left
        to start later unless *waiting_too* (--race): then it ends CAPPED
        at once and never starts.

        Returns:
            True if the request applied (the run was not final, not already
            being stopped, and not waiting unless *waiting_too*).
        """
        with self._lock:
            handle = self._get(name)
            if handle.cancel_requested or (handle.status == RunStatus.WAITING
                                           and not waiting_too):
                return False
            if handle.status in CANCELLABLE_STATES:
                handle.fields.update(stop_reason=reason, details=reason)
            counted, snap, was_waiting = self._cancel_locked(handle, grace_seconds,
                                                             RunStatus.CAPPED)
        if snap is not None:
            self._notify(snap, status_changed=was_waiting)
        return counted

    def stop_status(self, name):
        """The final status a stop request ends the run as: CANCELLED, or CAPPED (cap())."""
        with self._lock:
            return self._get(name).stop_status

    def _cancel_locked(self, handle, grace_seconds, stop_status=RunStatus.CANCELLED):
        """(counted, snapshot or None, whether the status changed: a waiting run ends here)."""
        if handle.status not in CANCELLABLE_STATES:
            return False, None, False
        if not handle.cancel_requested:
            handle.stop_status = stop_status
        grace = self.default_grace_seconds if grace_seconds is None else grace_seconds
        deadline = self._monotonic() + max(0.0, grace)
        if handle.grace_deadline is None or deadline < handle.grace_deadline:
            handle.grace_deadline = deadline
            handle.grace_seconds = grace
        handle.cancel_requested = True
        was_waiting = handle.status == RunStatus.WAITING
        if was_waiting:
            self._transition_locked(handle, handle.stop_status)
        handle.cancel_event.set()
        return True, handle.snapshot(), was_waiting

    def request_action(self, name, action):
        """Ask a run's worker to pause, resume or interrupt it.

        Returns:
            True if the run is active and the request was recorded.
        """
        with self._lock:
            handle = self._get(name)
            if handle.status not in ACTIVE_STATES or handle.cancel_requested:
                return False
            handle.pending_action = action
            snap = handle.snapshot()
            event = handle.cancel_event
        # The worker waits on the cancel event; wake it without cancelling.
        # It tells the two apart by cancel_requested.
        event.set()
        self._notify(snap)
        return True

    def take_action(self, name):
        """Worker side: pop the pending action (or None) and re-arm the event."""
        with self._lock:
            handle = self._get(name)
            action = handle.pending_action
            handle.pending_action = None
            if not handle.cancel_requested:
                handle.cancel_event.clear()
            return action

    # -- queries -----------------------------------------------------------

    def is_cancel_requested(self, name):
        with self._lock:
            return self._get(name).cancel_requested

    def grace_deadline(self, name):
        """Monotonic time by which a cancelled run must be gone."""
        with self._lock:
            return self._get(name).grace_deadline

    def elapsed(self, name):
        """The run's clock in seconds (None before it started)."""
        with self._lock:
            return self._get(name).clock.elapsed()

    def group_of(self, name):
        with self._lock:
            return self._get(name).group

    def get(self, name):
        with self._lock:
            return self._get(name).snapshot()

    def names(self):
        with self._lock:
            return list(self._jobs)

    def snapshot(self):
        with self._lock:
            return [handle.snapshot() for handle in self._jobs.values()]

    def all_final(self):
        with self._lock:
            return all(h.status in FINAL_STATES for h in self._jobs.values())

    def wait_all_final(self, timeout):
        """Block until every run is final or *timeout* seconds pass."""
        deadline = self._monotonic() + timeout
        with self._lock:
            while not all(h.status in FINAL_STATES for h in self._jobs.values()):
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _get(self, name):
        try:
            return self._jobs[name]
        except KeyError:
            raise UnknownJobError(name, list(self._jobs))

    def _notify(self, snap, status_changed=False):
        with self._lock:
            listeners = [listener for listener, status_only in self._listeners
                         if status_changed or not status_only]
        for listener in listeners:
            try:
                listener(snap)
            except Exception as exc:  # kept for the owner: see the class docstring
                with self._lock:
                    self._listener_errors.append(exc)


def _check_fields(method, fields):
    """TypeError for a keyword that is not a field of the record (RECORD_FIELDS)."""
    unknown = sorted(set(fields) - set(RECORD_FIELDS))
    if unknown:
        raise TypeError("%s() got unknown field(s): %s" % (method, ", ".join(unknown)))


def create_process_group_kwargs():
    """Popen keyword arguments that start a job in its own process group."""
    return procgroup.current().popen_kwargs()


def _terminate_process_group(ref, grace_seconds, groups=None, deadline_fn=None,
                             monotonic=time.monotonic, sleep=time.sleep,
                             kill_wait_seconds=5.0):
    """End every process of a job: ask, wait up to the grace, force, verify.

    The underscore is the name the project's original design gave it; it is
    the one way a run's processes end (the runner's workers, GAMS probes).

    Args:
        ref: the job's procgroup.GroupRef (its leader must not be reaped yet,
            or group signals are skipped and only verified pids are killed).
        grace_seconds: how long processes may take to exit after SIGTERM.
        groups: the ProcessGroups seam (default: this platform's).
        deadline_fn: optional callable returning the current monotonic
            deadline (or None); when it answers, it wins over grace_seconds
            and is asked again on every poll, so a second cancel request
            can move it earlier.
        kill_wait_seconds: how long to keep killing after the grace before
            giving up and reporting survivors.

    Returns:
        The pids still alive at the end (an empty list means success).
    """
    groups = groups if groups is not None else procgroup.current()
    start = monotonic()
    deadline = start + max(0.0, grace_seconds)
    groups.terminate(ref)
    interval = 0.002
    alive = groups.survivors(ref)
    while alive:
        deadline = _current_deadline(deadline, deadline_fn)
        now = monotonic()
        if now >= deadline:
            break
        sleep(min(interval, deadline - now))
        interval = min(interval * 2, 0.05)
        if monotonic() >= _current_deadline(deadline, deadline_fn):
            # The grace is over: kill first, look afterwards.  Looking first
            # (a whole process-table scan, in every worker at once) would put
            # the last SIGKILL well after the grace.
            break
        alive = groups.survivors(ref)
    if not alive:
        return []
    kill_deadline = monotonic() + kill_wait_seconds
    while True:
        groups.kill(ref)
        alive = groups.survivors(ref)
        if not alive or monotonic() >= kill_deadline:
            return alive
        sleep(0.01)



def _current_deadline(deadline, deadline_fn):
    """*deadline*, unless deadline_fn (a later cancel request) names another one."""
    if deadline_fn is not None:
        requested = deadline_fn()
        if requested is not None:
            return requested
    return deadline
