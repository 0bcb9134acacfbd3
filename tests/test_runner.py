"""run_gams_with_progress with the fake GAMS: the statuses a run passes through."""

import os
import sys
import threading

import pytest

from proc_helpers import wait_until
from times_doctor import procgroup
from times_doctor.job_control import ACTION_PAUSE, JobRegistry
from times_doctor.runner import RunSpec, run_gams_with_progress
from times_doctor.states import RunStatus

pytestmark = pytest.mark.skipif(os.name == "nt", reason="fake GAMS is a POSIX shell wrapper")


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
    from times_doctor.logtail import LogTail
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
