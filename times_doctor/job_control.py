"""Job registry and process-group termination.

The registry is the single source of truth for every run's state, shaped
like ``concurrent.futures.Future``: one lock guards all state, callers get
immutable snapshots, and listeners (the live table, the state file) are
called only after the lock is released, so no I/O ever happens under it.

The worker thread that owns a job does the actual killing when it sees its
cancel event; cancel() and cancel_all() only record the request and set the
events.  That is why cancel_all() of N stubborn jobs takes one grace period,
not N: every worker escalates at the same time.
"""

import collections
import threading
import time

from times_doctor import procgroup
from times_doctor.errors import InvalidTransition, TimesDoctorError
from times_doctor.states import (ACTIVE_STATES, CANCELLABLE_STATES, FINAL_STATES,
                                 RunStatus, can_transition)

# What a listener receives: a frozen copy of one job.
JobSnapshot = collections.namedtuple(
    "JobSnapshot",
    "name status pid pgid sid os_start_time work_dir started_at ended_at returncode "
    "cancel_requested pending_action index")

# Actions a worker performs on request (besides cancel, which has its event).
ACTION_PAUSE = "pause"
ACTION_RESUME = "resume"
ACTION_INTERRUPT = "interrupt"


class JobHandle(object):
    """Everything known about one job; only the registry touches it.

    Attributes are read and written under the registry's lock; the outside
    world sees JobSnapshot copies.
    """

    def __init__(self, name, index, work_dir=None):
        self.name = name
        self.index = index
        self.work_dir = work_dir
        self.status = RunStatus.WAITING
        self.cancel_event = threading.Event()
        self.cancel_requested = False
        self.grace_seconds = None
        self.grace_deadline = None  # monotonic; moved earlier by a second request
        self.popen = None
        self.group = None  # procgroup.GroupRef
        self.pid = None
        self.pgid = None
        self.sid = None
        self.os_start_time = None
        self.started_at = None  # wall clock, for the state file
        self.ended_at = None
        self.returncode = None
        self.pending_action = None

    def snapshot(self):
        return JobSnapshot(self.name, self.status, self.pid, self.pgid, self.sid,
                           self.os_start_time, self.work_dir, self.started_at,
                           self.ended_at, self.returncode, self.cancel_requested,
                           self.pending_action, self.index)


class UnknownJobError(TimesDoctorError):
    """A name that is not a run of this scan."""

    def __init__(self, name, known):
        TimesDoctorError.__init__(
            self, "unknown run %r: choose one of %s" % (name, ", ".join(known)))
        self.name = name


class JobRegistry(object):
    """Thread-safe registry of the runs of one scan."""

    def __init__(self, default_grace_seconds=10.0, wall_clock=time.time,
                 monotonic=time.monotonic):
        self._lock = threading.Lock()
        self._jobs = collections.OrderedDict()
        self._listeners = []
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
            handle = JobHandle(name, len(self._jobs), work_dir)
            self._jobs[name] = handle
            return handle.cancel_event

    def add_listener(self, listener):
        """Call ``listener(snapshot)`` after every change, outside the lock."""
        with self._lock:
            self._listeners.append(listener)

    # -- state changes (each notifies after releasing the lock) -------------

    def attach_popen(self, name, popen, group=None):
        """Record the process of a run that has just started."""
        with self._lock:
            handle = self._get(name)
            handle.popen = popen
            handle.group = group
            handle.pid = popen.pid
            if group is not None:
                handle.pgid = group.pgid
                handle.sid = group.sid
                handle.os_start_time = group.start_time
            snap = handle.snapshot()
        self._notify(snap)

    def set_status(self, name, status, returncode=None):
        """Move a run to *status*; raises InvalidTransition for illegal moves."""
        with self._lock:
            handle = self._get(name)
            if not can_transition(handle.status, status):
                raise InvalidTransition(name, handle.status, status)
            self._apply_status(handle, status, returncode)
            snap = handle.snapshot()
        self._notify(snap)
        return snap

    def _apply_status(self, handle, status, returncode):
        now = self._wall_clock()
        if status == RunStatus.STARTING and handle.started_at is None:
            handle.started_at = now
        if status in FINAL_STATES:
            handle.ended_at = now
            handle.returncode = returncode
            handle.popen = None  # the worker has reaped it; drop the reference
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
            self._apply_status(handle, RunStatus.STARTING, None)
            snap = handle.snapshot()
        self._notify(snap)
        return True

    def fail_waiting(self, name):
        """Move a WAITING run straight to FAILED: it will never start.

        For runs whose solver's licence already failed in this scan.  False if
        the run is no longer waiting (cancelled meanwhile): nothing changes.
        """
        with self._lock:
            handle = self._get(name)
            if handle.status != RunStatus.WAITING:
                return False
            self._apply_status(handle, RunStatus.FAILED, None)
            snap = handle.snapshot()
        self._notify(snap)
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
            counted, snap = self._cancel_locked(handle, grace_seconds)
        if snap is not None:
            self._notify(snap)
        return counted

    def cancel_all(self, grace_seconds=None):
        """Request cancellation of every unfinished run at once.

        Returns:
            The names of the runs the request applied to.
        """
        names, snaps = [], []
        with self._lock:
            for handle in self._jobs.values():
                counted, snap = self._cancel_locked(handle, grace_seconds)
                if counted:
                    names.append(handle.name)
                if snap is not None:
                    snaps.append(snap)
        for snap in snaps:
            self._notify(snap)
        return names

    def _cancel_locked(self, handle, grace_seconds):
        if handle.status not in CANCELLABLE_STATES:
            return False, None
        grace = self.default_grace_seconds if grace_seconds is None else grace_seconds
        deadline = self._monotonic() + max(0.0, grace)
        if handle.grace_deadline is None or deadline < handle.grace_deadline:
            handle.grace_deadline = deadline
            handle.grace_seconds = grace
        handle.cancel_requested = True
        if handle.status == RunStatus.WAITING:
            self._apply_status(handle, RunStatus.CANCELLED, None)
        handle.cancel_event.set()
        return True, handle.snapshot()

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

    def get_running_jobs(self):
        """Snapshots of the runs that have (or are about to have) a process."""
        with self._lock:
            return [h.snapshot() for h in self._jobs.values() if h.status in ACTIVE_STATES]

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

    def _notify(self, snap):
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(snap)


def create_process_group_kwargs():
    """Popen keyword arguments that start a job in its own process group."""
    return procgroup.current().popen_kwargs()


def _terminate_process_group(ref, grace_seconds, groups=None, deadline_fn=None,
                             monotonic=time.monotonic, sleep=time.sleep,
                             kill_wait_seconds=5.0):
    """End every process of a job: ask, wait up to the grace, force, verify.

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
            # (a whole process-table scan) in each of 16 workers at once put
            # the last SIGKILL 0.15 s after the grace (issue 14).
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
