"""The one thread that talks to slurmctld for a scan's job arrays.

A scan's workers (one per run) never call SLURM themselves: the
``QueuePoller`` submits each batch of runs as a job array, looks at every
task of an array in one RPC (``scontrol --local -o show job ARRAY``) per
interval, and sends the workers' commands, merging their scancels into one
per signal.  Its interval grows while nothing changes and drops back when a
task changes or the user acts; docs/slurm.md gives the figures.  A
submission refused for a per-user submit limit is halved until a part fits;
what does not fit waits, with the reason for each run's Details, and is
tried again later.
"""

import collections
import re
import threading
import time

from times_doctor.launch.slurm_queue import (COMMAND_SECONDS, array_of, scancel_targets,
                                             submit_refusal)

# The poller's interval between two looks at the queue: from the minimum,
# growing by the factor while nothing changes, back to the minimum when a
# run changes or the user acts.  The maximum stays well inside SLURM's
# MinJobAge (default 300 s), so an ended task is still there to be read.
QUEUE_MIN_SECONDS = 2.0
QUEUE_MAX_SECONDS = 30.0
QUEUE_GROWTH = 1.5
# How long the poller waits for more workers' signals to merge into one command.
COALESCE_SECONDS = 0.05
# A submission refused for a per-user limit is tried again after this long,
# doubling up to the maximum while SLURM keeps refusing.
SUBMIT_RETRY_MIN_SECONDS = 10.0
SUBMIT_RETRY_MAX_SECONDS = 120.0
class ArrayTask(object):
    """One run of a batch: its index in the batch's array and what SLURM made of it.

    The poller writes ``job_id``, ``failure`` and ``waiting`` under its lock;
    the run's worker reads them through ``QueuePoller.task_state``.
    """

    def __init__(self, batch, index, name):
        self.batch = batch
        self.index = index
        self.name = name
        self.job_id = None        # "A_i" once an array holding it was submitted
        self.submitted_at = None  # monotonic
        self.failure = None       # why it can never be submitted
        self.waiting = None       # why it waits to be submitted (a per-user limit)
        self.dropped = False      # cancelled before it was submitted
        self.finished = False     # its worker is done with it


class ArrayBatch(object):
    """Runs a scan starts at once: submitted as one job array (more only if SLURM insists).

    Args:
        names: the runs, in task index order.
        max_parallel: how many may run at once (``%M``) over all its arrays.
        argv: ``argv(indexes, throttle)``, the sbatch command for those tasks.
        env: sbatch's environment.
    """

    def __init__(self, names, max_parallel, argv, env):
        self.tasks = [ArrayTask(self, index, name) for index, name in enumerate(names)]
        self.max_parallel = max_parallel
        self.argv = argv
        self.env = env
        self.parts = []  # [array id, throttle] of each array submitted for it
        self.next_try = 0.0
        self.retry_seconds = SUBMIT_RETRY_MIN_SECONDS
        self.try_size = len(self.tasks)

    def unsubmitted(self):
        return [task for task in self.tasks
                if task.job_id is None and not task.dropped and task.failure is None]

    def in_flight(self, array_id=None):
        """Tasks submitted and not finished (those of *array_id* left out)."""
        return sum(1 for task in self.tasks if task.job_id is not None and not task.finished
                   and array_of(task.job_id) != array_id)


class _Request(object):
    """A worker's command for the poller to send (merged with others where it can)."""

    def __init__(self, head, target):
        self.head = tuple(head)
        self.target = target
        self.done = threading.Event()
        self.result = (124, "the SLURM command was not sent: the scan is ending")


class QueuePoller(object):
    """The one thread that talks to slurmctld for a scan's job arrays.

    It submits batches, looks at every watched array in one RPC per array
    and interval, and sends the workers' commands (their scancels merged into
    one per signal).  The interval starts at ``min_seconds``, grows by
    ``growth`` after each look at which nothing changed, up to
    ``max_seconds``, and drops back to the minimum when a task changed or
    the user acted (``nudge``).  Workers read its answers (``look``); they
    never call SLURM themselves.
    """

    def __init__(self, commands, min_seconds=QUEUE_MIN_SECONDS, max_seconds=QUEUE_MAX_SECONDS,
                 growth=QUEUE_GROWTH, monotonic=time.monotonic):
        self.commands = commands
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self.growth = growth
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread = None
        self._batches = []
        self._arrays = collections.OrderedDict()  # array id -> [ArrayTask]
        self._seen = {}        # task id -> TaskInfo, from the last look at its array
        self._polled_at = {}   # array id -> monotonic time of the last answer
        self._exclusive = {}   # array id -> its tasks have their nodes to themselves (or not)
        self._requests = []
        self._split = []  # batches submitted as more than one array
        self._interval = min_seconds
        self._next_poll = 0.0

    # -- the workers' side -------------------------------------------------------

    def add_batch(self, batch):
        """Submit *batch* (on the poller's thread, at once)."""
        with self._lock:
            self._batches.append(batch)
            self._start_locked()
        self._wake.set()

    def task_state(self, task):
        """(job id or None, failure or None, waiting reason or None) of *task*."""
        with self._lock:
            return task.job_id, task.failure, task.waiting

    def drop(self, task):
        """Take a task out of its batch before it is submitted; False if it was submitted."""
        with self._lock:
            if task.job_id is not None:
                return False
            task.dropped = True
            return True

    def finished(self, task):
        """A worker is done with *task*: no more looks at it; its slot may go to a waiting part."""
        with self._lock:
            task.finished = True
        self._wake.set()

    def look(self, task_id):
        """(TaskInfo or None, monotonic time of the answer or None): SLURM's last word on a task.

        None with a time: the last answer did not list the task (SLURM forgot
        it).  None without a time: no answer about its array yet.
        """
        with self._lock:
            return self._seen.get(task_id), self._polled_at.get(array_of(task_id))

    def exclusive(self, task_id):
        """Whether *task_id*'s array has its nodes to itself (OverSubscribe), None if not seen.

        Set when the array is submitted, so any look at the array says it, even
        one before the task started or after it ended.
        """
        with self._lock:
            return self._exclusive.get(array_of(task_id))

    def command(self, argv):
        """Send ``argv`` (its last item the target) through the poller; (rc, error text).

        scancels with the same options that arrive within COALESCE_SECONDS
        are one command (``scancel --batch --signal=TERM A_[1,4,7]``).
        """
        request = _Request(argv[:-1], argv[-1])
        with self._lock:
            if self._done.is_set():
                return request.result
            self._requests.append(request)
            self._start_locked()
        self._wake.set()
        request.done.wait(COMMAND_SECONDS + 5)
        return request.result

    def nudge(self):
        """The user acted (or a run changed): look again soon, at the shortest interval."""
        with self._lock:
            self._interval = self.min_seconds
            self._next_poll = min(self._next_poll, self._monotonic() + COALESCE_SECONDS)
        self._wake.set()

    def stop(self):
        """End the thread (after the workers); idempotent."""
        with self._lock:
            self._done.set()
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join()
        with self._lock:
            requests, self._requests = self._requests, []
        for request in requests:
            request.done.set()

    # -- the thread ----------------------------------------------------------------

    def _start_locked(self):
        if self._thread is None and not self._done.is_set():
            self._thread = threading.Thread(target=self._loop, name="td-slurm-poller")
            self._thread.daemon = True
            self._thread.start()

    def _loop(self):
        while not self._done.is_set():
            self._wake.wait(self._timeout())
            self._wake.clear()
            if self._done.is_set():
                return
            self._send_requests()
            self._submit_due()
            if self._monotonic() >= self._next_poll:
                self._poll()

    def _timeout(self):
        now = self._monotonic()
        with self._lock:
            due = [batch.next_try for batch in self._batches if batch.unsubmitted()]
            if self._arrays:
                due.append(self._next_poll)
        return max(0.0, min(due) - now) if due else None

    def _send_requests(self):
        with self._lock:
            if not self._requests:
                return
        self._done.wait(COALESCE_SECONDS)  # let the other workers of a cancel-all join in
        with self._lock:
            requests, self._requests = self._requests, []
        groups = collections.OrderedDict()
        for request in requests:
            # Only scancel takes several targets; scontrol suspend/resume go one by one.
            key = request.head if request.head[:1] == ("scancel",) else (request.head, request)
            groups.setdefault(key, []).append(request)
        for members in groups.values():
            head = list(members[0].head)
            rc, _out, err = self.commands.call(
                head + scancel_targets([member.target for member in members]))
            for member in members:
                member.result = result_for(member.target, rc, err)
                member.done.set()
        self.nudge()

    def _submit_due(self):
        now = self._monotonic()
        with self._lock:
            due = [batch for batch in self._batches
                   if batch.unsubmitted() and batch.next_try <= now]
        for batch in due:
            self._submit(batch)
        with self._lock:
            self._batches = [batch for batch in self._batches if batch.unsubmitted()]

    def _submit(self, batch):
        """Submit what of *batch* fits: the whole, else halves, until SLURM takes a part."""
        with self._lock:
            pending = batch.unsubmitted()
            slots = batch.max_parallel - batch.in_flight()
        if not pending or slots <= 0:
            return  # a part still runs at --max-workers: a finished task wakes us
        size = max(1, min(len(pending), batch.try_size))
        refused = None
        while True:
            part = pending[:size]
            throttle = min(slots, len(part))
            rc, out, err = self.commands.call(batch.argv([task.index for task in part], throttle),
                                              env=batch.env)
            array_id = out.strip().split(";")[0]
            if rc == 0 and array_id.isdigit():
                self._submitted(batch, part, array_id, throttle, size)
                if refused is not None and size < len(pending):
                    self._refused(batch, pending[size:], "limit", refused, "", split=True)
                return
            kind, reason = submit_refusal(err or out)
            if kind is not None and size > 1:
                refused = reason
                size //= 2
                continue
            self._refused(batch, pending, kind, reason, err or out.strip() or "rc %d" % rc)
            return

    def _submitted(self, batch, part, array_id, throttle, size):
        now = self._monotonic()
        with self._lock:
            for task in part:
                task.job_id = "%s_%d" % (array_id, task.index)
                task.submitted_at = now
                task.waiting = None
            batch.parts.append([array_id, throttle])
            if len(batch.parts) == 2:
                self._split.append(batch)
            # More of the batch (split off for a limit) is tried at once, twice
            # as big, unless the refusal that split it says to wait (_refused).
            batch.try_size = size * 2
            batch.next_try = now
            batch.retry_seconds = SUBMIT_RETRY_MIN_SECONDS
            self._arrays[array_id] = list(part)
            self._interval = self.min_seconds
            self._next_poll = min(self._next_poll or now, now + self.min_seconds)

    def _refused(self, batch, pending, kind, reason, text, split=False):
        """*pending* was refused (*split*: the rest of a batch a part of which fitted)."""
        with self._lock:
            if kind == "limit":
                wait = batch.retry_seconds
                batch.next_try = self._monotonic() + wait
                batch.retry_seconds = min(SUBMIT_RETRY_MAX_SECONDS, wait * 2)
                # Nothing fitted: the next try starts small (one RPC while the
                # limit holds, not a halving cascade) and doubles once it fits.
                batch.try_size = min(batch.try_size, len(pending)) if split else 1
                for task in pending:
                    task.waiting = ("waiting to be submitted: SLURM refused the job array for a "
                                    "per-user limit (%s); next try in %.0f s" % (reason, wait))
                return
            for task in pending:
                task.failure = "sbatch refused the job: %s" % text

    def _poll(self):
        """One look at every watched array (one RPC each); the next interval."""
        with self._lock:
            for array_id, tasks in list(self._arrays.items()):
                if all(task.finished for task in tasks):
                    del self._arrays[array_id]  # every task's worker is done: no more looks
            watched = list(self._arrays.items())
        changed = False
        for array_id, tasks in watched:
            found = self.commands.array_tasks(array_id)
            if found is None:
                continue  # no answer: keep the last one, do not conclude anything
            now = self._monotonic()
            with self._lock:
                for task in tasks:
                    info = found.get(task.job_id)
                    if self._seen.get(task.job_id) != info:
                        changed = True
                    if info is None:
                        self._seen.pop(task.job_id, None)
                    else:
                        self._seen[task.job_id] = info
                for info in found.values():
                    if info.exclusive is not None:  # the same for every task: the array's
                        self._exclusive[array_id] = info.exclusive
                self._polled_at[array_id] = now
        self._raise_throttles()
        with self._lock:
            if changed:
                self._interval = self.min_seconds
            else:
                self._interval = min(self.max_seconds, self._interval * self.growth)
            self._next_poll = self._monotonic() + self._interval

    def _raise_throttles(self):
        """A batch split by a limit: give its newest array the slots older ones freed."""
        with self._lock:
            wanted = []
            for batch in self._split:
                part = batch.parts[-1]
                slots = batch.max_parallel - batch.in_flight(part[0])
                if slots > part[1]:
                    wanted.append((part, slots))
        for part, slots in wanted:
            rc, _out, _err = self.commands.call(
                ["scontrol", "update", "JobId=%s" % part[0], "ArrayTaskThrottle=%d" % slots])
            if rc == 0:
                with self._lock:
                    part[1] = slots


def result_for(target, rc, err):
    """One target's (rc, error text) from a merged scancel's.

    scancel names the job in each error line; its exit code is no guide for
    array tasks (22.05 signals a running task, then reports the second of
    its two RPCs, "already completing", as rc 229).
    """
    lines = [line for line in err.splitlines() if line.strip()]
    array, _, index = target.partition("_")
    mine = [line for line in lines if target in line or (
        index and re.search(r"\b%s_\[" % re.escape(array), line))]
    if mine:
        return 1, "\n".join(mine)
    named = [line for line in lines if re.search(r"\bjob id \S+", line)]
    if lines and not named and rc != 0:
        return rc, "\n".join(lines)  # an error about the command itself: everyone's
    return 0, ""
