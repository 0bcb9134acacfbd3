"""The test cluster itself: nothing of it outlives a test run, even one that is killed.

A pytest in a subprocess takes the real ``slurm_cluster`` session fixture
(conftest.py, loaded with ``-p conftest``), holds it, and is sent SIGTERM,
which ends Python without running any fixture's teardown: the cluster's
watchdog must then end every daemon and remove the cluster's folder.
"""

import os
import signal
import subprocess
import sys

import pytest

from proc_helpers import cmdline, wait_until
from slurm_cluster import job_processes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="SLURM runs on Linux")

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)

HOLDING_TEST = '''
import os, time
from proc_helpers import cmdline, wait_until
from slurm_cluster import job_processes

def test_hold(slurm_cluster):
    slurm_cluster.run(["sbatch", "--wrap=sleep 300", "--output=/dev/null"])
    wait_until(lambda: [pid for pid in job_processes(slurm_cluster.conf_path)
                        if cmdline(pid)[:1] == ["sleep"]], 60, message="the job's sleep started")
    with open(os.environ["TD_HOLD_FILE"], "w") as handle:
        handle.write(slurm_cluster.conf_path)
    time.sleep(600)
'''


def processes_naming(text):
    """Pids whose command line mentions *text* (the cluster's conf path or folder)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and text in " ".join(cmdline(int(name)) or []):
            found.append(int(name))
    return found


def test_sigterm_to_pytest_leaves_no_daemon_of_its_cluster(tmp_path, slurm_cluster):
    # slurm_cluster: this machine can run one (else that fixture fails first).
    (tmp_path / "test_hold.py").write_text(HOLDING_TEST)
    hold_file = str(tmp_path / "conf_path")
    env = dict(os.environ, TD_HOLD_FILE=hold_file,
               PYTHONPATH=os.pathsep.join([TESTS_DIR, REPO_ROOT]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_hold.py")],
        cwd=str(tmp_path), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: os.path.exists(hold_file) and os.path.getsize(hold_file), 90,
                   message="the inner pytest's cluster up", process=proc)
        with open(hold_file) as handle:
            conf_path = handle.read()
        root = os.path.dirname(conf_path)
        daemons = processes_naming(conf_path)
        # munged names its own files, not slurm.conf; slurmctld and three slurmd do.
        assert len(daemons) == 4, [cmdline(pid) for pid in daemons]
        # The job's processes: found by the conf path in their environment.
        assert [pid for pid in job_processes(conf_path) if cmdline(pid)[:1] == ["sleep"]]
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGTERM  # died at once: no teardown ran
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    wait_until(lambda: not processes_naming(root), 30,
               message=lambda: "no process of the cluster in %s left: %s" % (
                   root, [cmdline(pid) for pid in processes_naming(root)]))
    assert job_processes(conf_path) == []
    wait_until(lambda: not os.path.exists(root), 10, message="the cluster's folder removed")
