"""Fakes shared by the tests: a clock, a registry listener, a simulated Windows, a scan's files.

Imported on every leg (Windows and CPython 3.6 included): nothing POSIX-only at the top.
"""

import collections
import os

from times_doctor import paths as scanfiles
from times_doctor.job_control import JobRegistry
from times_doctor.paths import read_state
from times_doctor.proc import _winapi
from times_doctor.scan.state_file import StateFileWriter
from times_doctor.states import RunStatus


class FakeClock(object):
    """A monotonic clock that moves only when the test (or a fake sleep) moves it.

    Pass ``clock.monotonic`` or the clock itself (calling it reads it) where code
    takes a time source, and ``clock.sleep`` where it takes a sleeper.
    """

    def __init__(self, start=100.0):
        self.now = start

    def monotonic(self):
        return self.now

    __call__ = monotonic

    def advance(self, seconds):
        self.now += seconds

    sleep = advance  # the code under test "sleeps" by moving the clock on


def start_next_on_cancel(registry, cancelled, next_name):
    """Do what a worker does when *cancelled*'s cancel ends its run: start *next_name*.

    A registry listener, called on the first snapshot of *cancelled* with its
    cancel requested.  Returns the list that receives try_start()'s answer:
    [False] when the same request had cancelled *next_name* first.
    """
    answers = []

    def listener(snap):
        if snap.name == cancelled and snap.cancel_requested and not answers:
            answers.append(registry.try_start(next_name))
    registry.add_listener(listener)
    return answers


# The fake Windows's pids: GAMS (LEADER) -> gamscmex (CHILD) -> solver (SOLVER), started by
# the test's own process (OWN_PID); JOB is where its handle numbers start.
LEADER, CHILD, SOLVER, OWN_PID = 500, 501, 502, 100
JOB = 0x700


class FakeProcess(object):
    def __init__(self, pid, ppid, created, group, breaks):
        self.pid = pid
        self.ppid = ppid
        self.created = created
        self.group = group  # console process group id
        self.breaks = breaks  # exits on CTRL_BREAK
        self.alive = True
        self.suspend_count = 0


class FakeWinApi(object):
    """A small simulated Windows: processes, one kind of job, windows.

    Actions are recorded in order in ``calls``; queries (job_pids,
    process_tree, getpid) are not, so the lists read like what was done.
    """

    def __init__(self, clock=None):
        self.clock = clock
        self.calls = []
        self.call_times = []
        self.processes = collections.OrderedDict()
        self.jobs = {}
        self.handles = {}
        self.next_handle = JOB
        self.fail = {}  # action name -> OSError it raises
        self.job_kills = True
        self.taskkill_rc = 0
        self.taskkill_kills = True
        self.unkillable = set()  # refuse TerminateProcess
        self.windows = {}  # title -> hwnd
        self.copydata_delivered = True
        self.job_cpu = {}  # job handle -> CPU seconds its accounting reports
        self.system = [(0, 0, 0)]  # GetSystemTimes answers, (idle, kernel, user), in turn
        self.cpus = 2

    # -- world set-up ------------------------------------------------------

    def spawn(self, pid, ppid, breaks=True, group=None, created=None):
        parent = self.processes.get(ppid)
        if group is None:
            group = parent.group if parent is not None else pid
        self.processes[pid] = FakeProcess(pid, ppid, created or pid, group, breaks)
        for members in self.jobs.values():
            if ppid in members:
                members.add(pid)  # a child inherits its parent's job

    def alive(self):
        return sorted(p.pid for p in self.processes.values() if p.alive)

    def _record(self, *call):
        self.calls.append(call)
        self.call_times.append(self.clock.now if self.clock is not None else None)
        error = self.fail.get(call[0])
        if error is not None:
            raise error

    def _new_handle(self, target):
        self.next_handle += 1
        self.handles[self.next_handle] = target
        return self.next_handle

    # -- WinApi ------------------------------------------------------------

    def open_process(self, pid):
        self._record("open_process", pid)
        return self._new_handle(pid)

    def create_job(self):
        self._record("create_job")
        handle = self._new_handle("job")
        self.jobs[handle] = set()
        return handle

    def set_kill_on_close(self, job):
        self._record("set_kill_on_close", job)

    def assign(self, job, process):
        self._record("assign", job, process)
        self.jobs[job].add(self.handles[process])

    def process_creation_time(self, pid):
        self._record("process_creation_time", pid)
        return self.processes[pid].created * 10 ** 7

    def terminate_job(self, job, code):
        self._record("terminate_job", job, code)
        if self.job_kills:
            for pid in self.jobs[job]:
                self.processes[pid].alive = False

    def job_pids(self, job):
        return sorted(pid for pid in self.jobs[job] if self.processes[pid].alive)

    def process_tree(self, pid):
        links = [(p.pid, p.ppid) for p in self.processes.values()]
        return _winapi.tree_pids(pid, links, lambda q: self.processes[q].created,
                             lambda q: self.processes[q].alive)

    def send_ctrl_break(self, pid):
        self._record("send_ctrl_break", pid)
        members = [p for p in self.processes.values() if p.alive and p.group == pid]
        if not members:
            raise OSError("The parameter is incorrect")  # what Windows answers
        for process in members:
            if process.breaks and not process.suspend_count:
                process.alive = False

    def run_taskkill(self, pid):
        self._record("run_taskkill", pid)
        if self.taskkill_kills:
            for tree_pid in self.process_tree(pid):
                self.processes[tree_pid].alive = False
        return self.taskkill_rc

    def open_and_terminate(self, pid):
        self._record("open_and_terminate", pid)
        if pid in self.unkillable:
            raise OSError("Access is denied")
        was_alive = self.processes[pid].alive
        self.processes[pid].alive = False
        return was_alive

    def suspend(self, pid):
        self._record("suspend", pid)
        self.processes[pid].suspend_count += 1
        return self.processes[pid].alive

    def resume(self, pid):
        self._record("resume", pid)
        self.processes[pid].suspend_count -= 1
        return self.processes[pid].alive

    def find_window(self, title):
        self._record("find_window", title)
        return self.windows.get(title)

    def send_copydata(self, hwnd, tag, data):
        self._record("send_copydata", hwnd, tag, data)
        return self.copydata_delivered

    def close_handle(self, handle):
        self._record("close_handle", handle)

    def job_cpu_seconds(self, job):
        self._record("job_cpu_seconds", job)
        return self.job_cpu.get(job, 0.0)

    def system_times(self):
        return self.system.pop(0) if len(self.system) > 1 else self.system[0]

    def cpu_count(self):
        return self.cpus

    def getpid(self):
        return OWN_PID


def write_scan(base, scan_id="111-222", finished=False, jobs=None, log_lines=5):
    """A scan's files as a scanner leaves them: run logs, and the state file from the real writer.

    Each run is driven through a JobRegistry to its status, with pid 4242 and
    a phase, so the document carries every field the scanner writes.
    """
    jobs = jobs or [("dual", RunStatus.RUNNING), ("sift", RunStatus.COMPLETED)]
    registry = JobRegistry()
    job_info = {}
    for name, status in jobs:
        work = scanfiles.work_dir(base, "cplex", name)
        os.makedirs(work, exist_ok=True)
        log = os.path.join(work, "%s_run_log.txt" % name)
        with open(log, "w") as handle:
            for i in range(log_lines):
                handle.write("%s line %d\n" % (name, i))
        registry.register(name, work_dir=work)
        job_info[name] = {"solver": "cplex", "profile": name, "log": log,
                          "lst": os.path.join(work, "model.lst")}
        _drive(registry, name, status)
    writer = StateFileWriter(
        scanfiles.state_path(base), registry,
        {"scan_id": scan_id, "run_dir": base, "out_dir": base,
         "driver": os.path.join(base, "model.gms"), "report": scanfiles.report_path(base),
         "platform": "linux"}, job_info)
    if finished:
        writer.finish(0)
    else:
        writer.write()
    return read_state(scanfiles.state_path(base))


def _drive(registry, name, status):
    """Move a registered run to *status* the way a worker would."""
    if status == RunStatus.WAITING:
        return
    if status == RunStatus.CANCELLED:
        registry.cancel(name)
        return
    registry.try_start(name)
    registry.attach_process(name, 4242)
    if status == RunStatus.STARTING:
        return
    registry.set_status(name, RunStatus.RUNNING)
    registry.update(name, phase="dual simplex", iteration=10)
    if status == RunStatus.PAUSED:
        registry.set_status(name, RunStatus.PAUSED)
    elif status != RunStatus.RUNNING:
        registry.update(name, result="optimal" if status == RunStatus.COMPLETED else "")
        registry.set_status(name, status, returncode=0)
