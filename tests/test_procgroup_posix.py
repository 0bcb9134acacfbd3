"""The POSIX seam against real process trees (sys.executable -c ...)."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from times_doctor.proc import procgroup
from times_doctor.job_control import _terminate_process_group, create_process_group_kwargs

from proc_helpers import is_alive, wait_until

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")

# A leader that ignores SIGTERM and forks grandchildren that ignore it too.
# Each writes its pid to stdout so the test knows the whole tree.
TREE = r"""
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
n = int(sys.argv[1]); mode = sys.argv[2]
for i in range(n):
    if os.fork() == 0:
        if mode == "setsid" and i == 0:
            os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.stdout.write("%d\n" % os.getpid()); sys.stdout.flush()
        time.sleep(600)
        os._exit(0)
sys.stdout.write("%d\n" % os.getpid()); sys.stdout.flush()
time.sleep(600)
"""

COOPERATIVE = "import time\nprint('up', flush=True)\ntime.sleep(600)\n"


def start_tree(children, mode="plain", marker="scan-1/dual"):
    env = dict(os.environ)
    env[procgroup.JOB_ENV_VAR] = marker
    popen = subprocess.Popen([sys.executable, "-c", TREE, str(children), mode], env=env,
                             stdout=subprocess.PIPE, **create_process_group_kwargs())
    pids = [int(popen.stdout.readline()) for _ in range(children + 1)]
    ref = procgroup.current().attach(popen, marker)
    return popen, ref, pids


def cleanup(popen, ref):
    groups = procgroup.current()
    for pid in groups.survivors(ref):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    popen.wait()


def test_popen_kwargs_start_a_new_session():
    popen, ref, pids = start_tree(0)
    try:
        assert os.getsid(popen.pid) == popen.pid
        assert os.getpgid(popen.pid) == popen.pid
        assert os.getsid(popen.pid) != os.getsid(0)
        assert ref.sid == popen.pid and ref.start_time is not None
    finally:
        cleanup(popen, ref)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_survivors_lists_the_whole_tree():
    popen, ref, pids = start_tree(3)
    try:
        assert procgroup.current().survivors(ref) == sorted(pids)
    finally:
        cleanup(popen, ref)


def test_terminate_stubborn_tree_is_gone_after_the_grace():
    popen, ref, pids = start_tree(3)
    try:
        left = _terminate_process_group(ref, 0.3, procgroup.current())
        assert left == []
        assert popen.wait(timeout=5) == -signal.SIGKILL
        assert not any(is_alive(pid) for pid in pids)
    finally:
        cleanup(popen, ref)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="environ marker is Linux-only")
def test_setsid_grandchild_is_found_by_marker_and_killed():
    popen, ref, pids = start_tree(2, mode="setsid")
    try:
        # Children report in any order: the escaped one is the one whose
        # session differs (exactly one of them).
        escaped = [pid for pid in pids if os.getsid(pid) != ref.sid]
        assert len(escaped) == 1
        escaped = escaped[0]
        assert escaped in procgroup.current().survivors(ref)
        assert _terminate_process_group(ref, 0.2, procgroup.current()) == []
        assert wait_until(lambda: not is_alive(escaped), 5)
    finally:
        cleanup(popen, ref)


def test_other_marker_is_not_ours():
    popen, ref, pids = start_tree(1, marker="scan-1/dual")
    other, other_ref, other_pids = start_tree(0, marker="scan-1/dual2")
    try:
        assert not set(other_pids) & set(procgroup.current().survivors(ref))
    finally:
        cleanup(popen, ref)
        cleanup(other, other_ref)


def test_leader_exit_is_seen_without_reaping():
    popen = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"],
                             **create_process_group_kwargs())
    groups = procgroup.current()
    ref = groups.attach(popen, None)
    # A one-item list, so that an exit status of 0 would still end the wait.
    assert wait_until(lambda: [status for status in [groups.leader_exit_status(ref, popen)]
                               if status is not None], 10) == [3]
    # Not reaped: the pid still exists (as a zombie), so the group id is ours.
    if sys.platform.startswith("linux"):
        assert os.path.exists("/proc/%d" % popen.pid)
    assert popen.returncode is None
    assert groups.reap(ref, popen) == 3
    assert ref.leader_reaped


def test_terminate_cooperative_process_is_fast():
    popen = subprocess.Popen([sys.executable, "-c", COOPERATIVE], stdout=subprocess.PIPE,
                             **create_process_group_kwargs())
    popen.stdout.readline()
    groups = procgroup.current()
    ref = groups.attach(popen, None)
    assert _terminate_process_group(ref, 10, groups) == []
    # SIGTERM worked: no SIGKILL was needed.
    assert groups.reap(ref, popen) == -signal.SIGTERM


def test_group_signals_are_skipped_after_reaping():
    popen = subprocess.Popen([sys.executable, "-c", "pass"], **create_process_group_kwargs())
    groups = procgroup.current()
    ref = groups.attach(popen, None)
    groups.reap(ref, popen)
    calls = []

    class RecordingApi(type(groups.os_api)):
        def killpg(self, pgid, sig):
            calls.append((pgid, sig))

    guarded = type(groups)(RecordingApi())
    guarded.terminate(ref)
    guarded.kill(ref)
    assert calls == []


def test_cancel_all_of_stubborn_jobs_takes_one_grace_not_n():
    grace = 1.0
    jobs = [start_tree(2, marker="scan-2/job%d" % i) for i in range(6)]
    groups = procgroup.current()
    results = {}

    def end(index, ref):
        results[index] = _terminate_process_group(ref, grace, groups)

    started = time.monotonic()
    threads = [threading.Thread(target=end, args=(i, ref)) for i, (_, ref, _) in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    try:
        assert all(left == [] for left in results.values())
        for popen, ref, pids in jobs:
            assert not any(is_alive(pid) for pid in pids)
        # Sequential escalation would need 6 graces (6 s); in parallel it is one.
        assert elapsed < 3 * grace
    finally:
        for popen, ref, _ in jobs:
            cleanup(popen, ref)


def test_process_table_reads_are_shared_but_never_older_than_the_request():
    """16 threads asking at once share one or two reads, each begun after its caller asked."""
    from times_doctor.proc._posix import _SharedTableReads
    reads = []

    def read_table():
        started = time.monotonic()
        reads.append(started)
        time.sleep(0.02)  # a /proc scan under load
        return [started]
    shared = _SharedTableReads(read_table)
    results = []
    barrier = threading.Barrier(16)

    def ask():
        barrier.wait()
        asked = time.monotonic()
        results.append((asked, shared.read()[0]))
    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16
    assert all(read_started >= asked for asked, read_started in results)
    assert len(reads) < 16


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_tree_usage_and_reap_account_a_real_tree():
    """sh -> python burning CPU: the samples see the grandchild, wait4 the whole tree."""
    groups = procgroup.current()
    burn = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    popen = subprocess.Popen(["sh", "-c", '"$0" -c "$1"; sleep 0.3', sys.executable, burn],
                             **groups.popen_kwargs())
    ref = groups.attach(popen, None)
    seen = {}

    def burning():
        usage = groups.tree_usage(ref)
        seen.update(usage.process_cpu)
        return len(usage.process_cpu) == 2 and max(usage.process_cpu.values()) > 0.1

    wait_until(burning, 30, message="the python grandchild burning CPU")
    assert all(run >= 0 and wait >= 0 for run, wait in groups.tree_usage(ref).thread_times.values())
    wait_until(lambda: groups.leader_exit_status(ref, popen) is not None, 30)
    assert groups.reap(ref, popen) == 0
    # wait4's total includes the grandchild sh reaped: at least its 0.4 s.
    assert ref.cpu_seconds >= 0.4
    assert groups.machine_load() >= 0
