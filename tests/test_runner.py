"""run_gams_with_progress with the fake GAMS: the statuses a run passes through."""

import os
import sys
import threading

from proc_helpers import wait_until
from times_doctor.proc import procgroup
from times_doctor.job_control import ACTION_PAUSE, JobRegistry
from times_doctor.run.runner import IDLE_WAIT_SECONDS, RunSpec, run_gams_with_progress
from times_doctor.states import RunStatus

def fake_gams_spec(tmp_path, fake_gams_path, name, directive):
    """The RunSpec of run *name*: the fake GAMS in *tmp_path*, its model one FAKE directive."""
    (tmp_path / "model.gms").write_text("* FAKE: %s\n" % directive)
    env = dict(os.environ, FAKE_GAMS_PYTHON=sys.executable)
    env[procgroup.JOB_ENV_VAR] = "test/%s" % name
    log_name = "%s_run_log.txt" % name
    return RunSpec(name, "cplex", None, str(tmp_path),
                   [fake_gams_path, "model.gms", "lo=2", "lf=%s" % log_name],
                   str(tmp_path / log_name), str(tmp_path / "model.lst"), env)


def test_cancel_from_paused_goes_straight_to_cancelled(tmp_path, fake_gams_path):
    spec = fake_gams_spec(tmp_path, fake_gams_path, "dual", "sleep 600")
    registry = JobRegistry(default_grace_seconds=2)
    event = registry.register("dual")
    seen = []
    registry.add_listener(lambda snap: seen.append(snap.status))
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "run", run_gams_with_progress(spec, event, registry)))
    worker.start()
    wait_until(lambda: registry.get("dual").status == RunStatus.RUNNING, 20, message="running")
    assert registry.request_action("dual", ACTION_PAUSE)
    wait_until(lambda: registry.get("dual").status == RunStatus.PAUSED, 20, message="paused")
    registry.cancel("dual")
    worker.join(30)
    assert result["run"].status == RunStatus.CANCELLED
    statuses = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert statuses == [RunStatus.STARTING, RunStatus.RUNNING, RunStatus.PAUSED,
                        RunStatus.CANCELLED]
    assert procgroup.current().survivors(registry.group_of("dual")) == []


def test_log_read_every_log_seconds_and_once_more_at_the_end(tmp_path, fake_gams_path,
                                                             monkeypatch):
    """The log is read as often as log_seconds asks, not every poll, and fully at the end."""
    from times_doctor.run.tail import LogTail
    spec = fake_gams_spec(tmp_path, fake_gams_path, "bar", "cplex-log 200 1.5 barrier")
    reads = []
    real_read_block = LogTail.read_block

    def counting_read_block(self, final=False):
        reads.append(final)
        return real_read_block(self, final)
    monkeypatch.setattr(LogTail, "read_block", counting_read_block)
    registry = JobRegistry(default_grace_seconds=2)
    event = registry.register("bar")
    result = run_gams_with_progress(spec, event, registry, poll_seconds=0.02, log_seconds=10)
    assert result.status == RunStatus.COMPLETED
    # One read when the loop starts, none in the next 10 s, the final one(s) at the end.
    assert reads[0] is False and reads.count(False) == 1 and reads[-1] is True


def test_with_a_log_poller_the_poller_reads_and_the_worker_only_reads_last(tmp_path,
                                                                          fake_gams_path):
    """The poller's thread shows progress while the run goes on; the worker reads the rest."""
    from times_doctor.run.tail import LogPoller
    spec = fake_gams_spec(tmp_path, fake_gams_path, "bar", "cplex-log 400 1.5 barrier")
    registry = JobRegistry(default_grace_seconds=2)
    event = registry.register("bar")
    updates = []  # (thread name, fields) of every write to the run's record
    real_update = registry.update

    def recording_update(name, **fields):
        updates.append((threading.current_thread().name, fields))
        return real_update(name, **fields)
    registry.update = recording_update
    poller = LogPoller(0.1, name="test-logs")
    try:
        result = run_gams_with_progress(spec, event, registry, log_poller=poller)
    finally:
        poller.stop()
    assert result.status == RunStatus.COMPLETED
    progress = [(thread, fields) for thread, fields in updates if "phase" in fields]
    assert any(thread == "test-logs" and fields["phase"] == "barrier"
               for thread, fields in progress)
    # The last rows (599 of 0..599) came from the worker's own final read.
    assert progress[-1][0] != "test-logs"
    assert progress[-1][1]["phase"] == "done" and progress[-1][1]["progress"] == 1.0
    iterations = [fields.get("iteration") for _, fields in progress if fields.get("iteration")]
    assert iterations[-1] == 599 and registry.get("bar").iteration == 599
    assert poller.remove("bar") is None  # the worker removed itself


def test_with_a_log_poller_the_timeout_still_ends_the_run(tmp_path, fake_gams_path):
    """No poll wakes the worker any more: it waits for the timeout itself."""
    from times_doctor.run.tail import LogPoller
    spec = fake_gams_spec(tmp_path, fake_gams_path, "slow", "sleep 600")
    registry = JobRegistry(default_grace_seconds=2)
    event = registry.register("slow")
    poller = LogPoller(0.1)
    try:
        result = run_gams_with_progress(spec, event, registry, timeout_seconds=1.0,
                                        grace_seconds=1.0, log_poller=poller)
    finally:
        poller.stop()
    assert result.status == RunStatus.TIMEOUT
    # Not one idle wait (5 s) late: the wait was cut to the time left.
    assert result.runtime_seconds < IDLE_WAIT_SECONDS


def test_the_local_launcher_reads_every_log_on_one_poller_until_closed(tmp_path, fake_gams_path):
    """Two runs through one LocalLauncher share its poller thread; close() ends it."""
    from times_doctor.launch.local import LocalLauncher
    launcher = LocalLauncher()
    registry = JobRegistry(default_grace_seconds=2)
    pollers = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        spec = fake_gams_spec(folder, fake_gams_path, name, "cplex-log 200 0.5 barrier")
        result = launcher.run(spec, registry.register(name), registry, log_seconds=0.1)
        assert result.status == RunStatus.COMPLETED
        pollers.append(launcher._log_poller)
    assert pollers[0] is not None and pollers[0] is pollers[1]
    launcher.close()
    launcher.close()
    assert launcher._log_poller is None
    assert wait_until(lambda: not any(t.name == "td-logs" for t in threading.enumerate()), 5)
