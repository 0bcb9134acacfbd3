"""scan_state.json: content, atomic replacement, survival of a SIGKILL mid-write."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from scan_helpers import scan_config
from times_doctor.errors import ParseError
from times_doctor.job_control import JobRegistry
from times_doctor.scan.state_file import StateFileWriter
from times_doctor.paths import SCHEMA_VERSION, read_state
from times_doctor.states import RunStatus


def test_state_follows_the_registry(tmp_path):
    registry = JobRegistry()
    registry.register("dual", work_dir=str(tmp_path / "dual"))
    registry.register("sift")
    path = str(tmp_path / "scan_state.json")
    writer = StateFileWriter(path, registry, {"run_dir": "/r"}, {"dual": {"solver": "cplex"}})
    registry.add_listener(writer)
    registry.try_start("dual")
    registry.cancel("sift")
    doc = read_state(path)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["scanner"]["pid"] == os.getpid()
    assert doc["run_dir"] == "/r" and doc["finished"] is False
    jobs = dict((job["name"], job) for job in doc["jobs"])
    assert jobs["dual"]["status"] == "starting" and jobs["dual"]["solver"] == "cplex"
    assert jobs["dual"]["started_at"].endswith("Z")
    assert jobs["sift"]["status"] == "cancelled"
    writer.finish(3)
    doc = read_state(path)
    assert doc["finished"] is True and doc["exit_code"] == 3
    assert [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")] == []


@pytest.mark.parametrize("content, message", [
    (b"{", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[]", "not a times-doctor state file"),
    (b'{"schema": "times-doctor/scan-state", "schema_version": 99}', "schema version 99"),
])
def test_read_state_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "scan_state.json"
    path.write_bytes(content)
    with pytest.raises(ParseError) as info:
        read_state(str(path))
    assert message in str(info.value)


def test_a_version_1_state_file_is_read_as_version_2():
    """The SLURM fields a version 1 file kept per job become the job's ``launch`` object.

    The file is the one b89039a wrote (tests/fixtures/slurm_legacy/README.md).
    """
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                           "slurm_legacy", "scan_state.json")
    doc = read_state(fixture)
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    first = doc["jobs"][0]
    assert not [key for key in first if key.startswith("slurm_")]
    assert first["launch"] == {"launcher": "slurm", "job_id": "@JOB_dual@",
                               "job_name": "td-30753-1796287095214-dual", "mode": "batch",
                               "node": "n2", "task_pid": 30795}
    assert doc["options"]["launcher_args"] == [] and "slurm_args" not in doc["options"]


def test_a_version_1_local_job_has_no_launch(tmp_path):
    path = tmp_path / "scan_state.json"
    path.write_text(u'{"schema": "times-doctor/scan-state", "schema_version": 1, '
                    u'"jobs": [{"name": "dual", "pid": 5, "slurm_job_id": null}]}')
    doc = read_state(str(path))
    assert doc["jobs"] == [{"name": "dual", "pid": 5, "launch": None}]


WRITER = textwrap.dedent("""
    import sys
    from times_doctor.job_control import JobRegistry
    from times_doctor.scan.state_file import StateFileWriter
    from times_doctor.states import RunStatus
    registry = JobRegistry()
    names = ["run%d" % i for i in range(40)]
    for name in names:
        registry.register(name, work_dir="/w/" + name * 50)
    writer = StateFileWriter(sys.argv[1], registry, {}, {})
    registry.add_listener(writer)
    writer.write()
    print("ready", flush=True)
    while True:
        for name in names:
            registry.try_start(name)
            registry.set_status(name, RunStatus.RUNNING)
        registry.cancel_all()
        for name in names:
            registry.set_status(name, RunStatus.CANCELLED)
        registry = JobRegistry()
        for name in names:
            registry.register(name)
        writer._registry = registry
        registry.add_listener(writer)
""")


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_sigkilled_writer_leaves_a_parseable_file(tmp_path):
    """Kill a process that rewrites the state file in a loop, at random moments."""
    rng = random.Random(20261124)
    path = str(tmp_path / "scan_state.json")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for trial in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path], env=env,
                                stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        doc = read_state(path)
        assert len(doc["jobs"]) == 40, "trial %d" % trial
        json.dumps(doc)


def test_listener_writes_coalesce_and_the_last_state_wins(tmp_path, monkeypatch):
    """16 runs ending at once: fewer writes than changes, and the file ends current."""
    import threading
    from times_doctor.scan import state_file
    writes = []
    real_write_atomic = state_file.write_atomic

    def slow_write_atomic(path, data, mode=0o644):
        writes.append(path)
        time.sleep(0.01)  # an fsync on a loaded disk
        real_write_atomic(path, data, mode)
    monkeypatch.setattr(state_file, "write_atomic", slow_write_atomic)
    registry = JobRegistry()
    names = ["run%d" % index for index in range(16)]
    for name in names:
        registry.register(name)
        registry.try_start(name)
        registry.set_status(name, RunStatus.RUNNING)
    path = str(tmp_path / "scan_state.json")
    writer = StateFileWriter(path, registry, {}, {})
    registry.add_listener(writer)
    go = threading.Event()

    def end(name):
        go.wait()
        registry.set_status(name, RunStatus.CANCELLED)
    threads = [threading.Thread(target=end, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    assert 1 <= len(writes) < len(names)
    statuses = set(job["status"] for job in read_state(path)["jobs"])
    assert statuses == set(["cancelled"])


def test_record_fields_reach_the_state_file(tmp_path):
    registry = JobRegistry()
    registry.register("dual")
    path = str(tmp_path / "scan_state.json")
    writer = StateFileWriter(path, registry, {}, {})
    registry.try_start("dual")
    registry.update("dual", phase="barrier", progress=0.5, iteration=9, details="it 9")
    writer.write()
    job = read_state(path)["jobs"][0]
    assert (job["phase"], job["progress"], job["iteration"], job["details"], job["result"]) == (
        "barrier", 0.5, 9, "it 9", "")
    assert job["elapsed_seconds"] >= 0


def test_unwritable_state_file_in_a_worker_leaves_csv_and_registry_agreeing(
        tmp_path, fake_gams_path, monkeypatch):
    # Every state-file write from a worker thread fails (disk full, say); the
    # main thread's writes succeed.  The run still ends as the registry says,
    # the CSV says the same, and the user is told.
    import io
    import threading
    from scan_helpers import read_report
    from times_doctor.scan import state_file
    from times_doctor.scan.plan import plan_scan
    from times_doctor.scan.scanner import Scan
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 0\n")
    config = scan_config(str(run_dir), fake_gams_path, grace_seconds="1", no_preflight=True)
    real_write = state_file.write_atomic

    def write_atomic(path, text, *args, **kwargs):
        if threading.current_thread().name.startswith("td-worker"):
            raise OSError(28, "No space left on device")
        return real_write(path, text, *args, **kwargs)

    monkeypatch.setattr(state_file, "write_atomic", write_atomic)
    stdout = io.StringIO()
    scan = Scan(plan_scan(config), stdin=io.StringIO(), stdout=stdout)
    assert scan.run() == 0
    _, rows = read_report(str(run_dir))
    assert [(row["profile"], row["status"]) for row in rows] == [("dual", "completed")]
    assert scan.registry.get("dual").status == RunStatus.COMPLETED
    assert read_state(scan.state_path)["jobs"][0]["status"] == RunStatus.COMPLETED
    assert "No space left on device" in stdout.getvalue()
