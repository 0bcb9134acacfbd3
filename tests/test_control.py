"""Control protocol, lock and session registry: unit tests with a real JobRegistry."""

import json
import os
import stat

import pytest

from fakes import start_next_on_cancel
from times_doctor.remote import control, sessions
from times_doctor.errors import ControlError
from times_doctor.job_control import JobRegistry
from times_doctor.scan.scanner import _resolve_runs
from times_doctor.states import RunStatus

UID = os.getuid() if hasattr(os, "getuid") else None


def registry_with(running=("dual", "primal"), waiting=("sift",)):
    # A clock that stands still: snapshots (which carry each run's elapsed
    # time) compare equal unless a request changed something.
    registry = JobRegistry(monotonic=lambda: 100.0)
    for name in tuple(running) + tuple(waiting):
        registry.register(name)
    for name in running:
        registry.try_start(name)
        registry.set_status(name, RunStatus.RUNNING)
    return registry


def make_inbox(tmp_path, registry):
    return control.RequestInbox(str(tmp_path / "requests"), registry, _resolve_runs, uid=UID)


def request(action="cancel", runs=("dual",), all_runs=False, **extra):
    doc = {"schema": control.REQUEST_SCHEMA, "schema_version": 1, "id": "x",
           "action": action, "runs": list(runs), "all": all_runs, "grace_seconds": None}
    doc.update(extra)
    return json.dumps(doc)


def deliver(inbox, raw, name="req-1.json"):
    path = os.path.join(inbox.folder, name)
    with open(path, "wb") as handle:
        handle.write(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    responses = inbox.poll()
    assert not os.path.exists(path), "the request must be consumed"
    with open(os.path.join(inbox.folder, "resp-" + name[4:])) as handle:
        assert json.load(handle) == responses[0]
    return responses[0]


def test_cancel_from_running_of_several_runs_is_one_step(tmp_path):
    """cancel --all: the worker whose run ends first finds the waiting run cancelled already."""
    registry = registry_with(running=("dual",), waiting=("primal", "sift"))
    started = start_next_on_cancel(registry, "dual", "primal")
    response = deliver(make_inbox(tmp_path, registry), request(runs=[], all_runs=True))
    assert response["applied"] == ["dual", "primal", "sift"]
    assert started == [False]
    assert registry.get("primal").status == RunStatus.CANCELLED


def test_cancel_from_running_is_applied(tmp_path):
    registry = registry_with()
    response = deliver(make_inbox(tmp_path, registry), request(runs=["dual"]))
    assert response["ok"] and response["applied"] == ["dual"] and response["skipped"] == {}
    assert response["schema"] == control.RESPONSE_SCHEMA and response["id"] == "1"
    assert registry.get("dual").cancel_requested
    assert not registry.get("primal").cancel_requested


def test_cancel_all_skips_final_runs(tmp_path):
    registry = registry_with()
    registry.set_status("primal", RunStatus.COMPLETED, 0)
    response = deliver(make_inbox(tmp_path, registry), request(runs=[], all_runs=True,
                                                               grace_seconds=0))
    assert response["applied"] == ["dual", "sift"]
    assert response["skipped"] == {"primal": "already completed"}
    assert registry.get("sift").status == RunStatus.CANCELLED


def test_pause_from_running_and_from_waiting(tmp_path):
    registry = registry_with()
    response = deliver(make_inbox(tmp_path, registry), request("pause", ["dual", "3"]))
    assert response["applied"] == ["dual"]
    assert response["skipped"] == {"sift": "waiting: not started yet"}
    assert registry.get("dual").pending_action == "pause"


def test_resume_from_running_is_skipped(tmp_path):
    registry = registry_with()
    response = deliver(make_inbox(tmp_path, registry), request("resume", ["DUAL"]))
    assert response["ok"] and response["applied"] == []
    assert response["skipped"] == {"dual": "not paused"}


@pytest.mark.parametrize("raw, error", [
    (b"{not json", "not valid JSON"),
    (request()[:25].encode(), "not valid JSON"),          # truncated
    (b"", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", "not a times-doctor control request"),
    (request(action="explode").encode(), "unknown action 'explode'"),
    (request(runs=["dual", "nope"]).encode(), "no run matches 'nope'"),
    (request(runs=[]).encode(), "name the runs or ask for all"),
    (request(runs=["dual"], all_runs=True).encode(), "not both"),
    (request().replace('["dual"]', '"dual"').encode(), "\"runs\" must be a list"),
    (request(grace_seconds=-1).encode(), "grace_seconds"),
    (request(grace_seconds="5").encode(), "grace_seconds"),
    (request(schema_version=2).encode(), "schema version 2"),
    (b"x" * (control.MAX_REQUEST_BYTES + 10), "larger than"),
])
def test_bad_request_changes_nothing(tmp_path, raw, error):
    registry = registry_with()
    before = registry.snapshot()
    response = deliver(make_inbox(tmp_path, registry), raw)
    assert response["ok"] is False and error in response["error"], response["error"]
    assert response["applied"] == []
    assert registry.snapshot() == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="chown to another uid needs root")
def test_request_of_another_user_is_refused(tmp_path):
    registry = registry_with()
    inbox = make_inbox(tmp_path, registry)
    path = os.path.join(inbox.folder, "req-7.json")
    with open(path, "w") as handle:
        handle.write(request())
    os.chown(path, 4242, 4242)
    response = inbox.poll()[0]
    assert response["ok"] is False and "uid 4242" in response["error"]
    assert not registry.get("dual").cancel_requested


def test_temporaries_and_other_files_are_ignored(tmp_path):
    inbox = make_inbox(tmp_path, registry_with())
    for name in (".req-1.json.abc.tmp", "resp-1.json", "notes.txt"):
        with open(os.path.join(inbox.folder, name), "w") as handle:
            handle.write(request())
    assert inbox.poll() == []


def test_close_answers_waiting_requests(tmp_path):
    registry = registry_with()
    inbox = make_inbox(tmp_path, registry)
    with open(os.path.join(inbox.folder, "req-9.json"), "w") as handle:
        handle.write(request())
    inbox.close()
    with open(os.path.join(inbox.folder, "resp-9.json")) as handle:
        response = json.load(handle)
    assert response["ok"] is False and "ended" in response["error"]
    assert not registry.get("dual").cancel_requested


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_requests_folder_is_private(tmp_path):
    inbox = make_inbox(tmp_path, registry_with())
    assert stat.S_IMODE(os.stat(inbox.folder).st_mode) == 0o700


# -- client side -----------------------------------------------------------------------

def test_send_request_without_a_scan_says_so(tmp_path):
    with pytest.raises(ControlError) as info:
        control.send_request(str(tmp_path), "cancel", ["dual"])
    assert info.value.exit_code == 2 and "no scan at" in str(info.value)


def test_send_request_to_a_dead_scanner_says_reap(tmp_path):
    folder = tmp_path / "times_doctor_out" / "scan_runs"
    folder.mkdir(parents=True)
    (folder / "scan_state.json").write_text(json.dumps(
        {"schema": "times-doctor/scan-state", "schema_version": 1, "finished": False,
         "jobs": []}))
    with pytest.raises(ControlError) as info:
        control.send_request(str(tmp_path), "pause", ["dual"])
    assert info.value.exit_code == 4 and "times-doctor reap" in str(info.value)


def test_send_request_is_answered_by_the_lock_holder(tmp_path):
    """A scanner thread in this process: the client's request goes through the files."""
    import threading
    registry = registry_with()
    lock = sessions.ScanLock(str(tmp_path)).acquire()
    inbox = control.RequestInbox(control.requests_dir(str(tmp_path)), registry, _resolve_runs,
                                 uid=UID)
    stop = threading.Event()

    def scanner():
        while not stop.wait(0.05):
            inbox.poll()
    thread = threading.Thread(target=scanner)
    thread.start()
    try:
        response = control.send_request(str(tmp_path), "interrupt", ["primal"], timeout=5)
    finally:
        stop.set()
        thread.join()
        lock.release()
    assert response["ok"] and response["applied"] == ["primal"]
    assert registry.get("primal").pending_action == "interrupt"
    assert os.listdir(inbox.folder) == []


def test_run_command_rejects_names_and_all_together(tmp_path):
    with pytest.raises(ControlError):
        control.run_command(str(tmp_path), "cancel", ["dual"], all_runs=True)
    with pytest.raises(ControlError):
        control.run_command(str(tmp_path), "cancel", [], all_runs=False)


# -- lock and registry ------------------------------------------------------------------------

def test_lock_is_exclusive_and_dies_with_its_holder(tmp_path):
    first = sessions.ScanLock(str(tmp_path)).acquire()
    assert sessions.scanner_alive(str(tmp_path))
    second = sessions.ScanLock(str(tmp_path))
    assert not second.try_acquire()
    with pytest.raises(Exception) as info:
        second.acquire()
    assert "another scan (pid %d)" % os.getpid() in str(info.value)
    assert info.value.exit_code == 2
    first.release()
    first.release()  # idempotent
    assert not sessions.scanner_alive(str(tmp_path))
    assert second.try_acquire()
    second.release()


def test_scanner_alive_creates_nothing(tmp_path):
    assert not sessions.scanner_alive(str(tmp_path))
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_registry_entries_are_private_and_listed(tmp_path):
    environ = {"XDG_RUNTIME_DIR": str(tmp_path / "run")}
    out = tmp_path / "out"
    out.mkdir()
    lock = sessions.ScanLock(str(out)).acquire()
    entry = sessions.register_session("1-2", str(out), "state.json", environ)
    folder = sessions.sessions_dir(environ)
    assert folder == str(tmp_path / "run" / "times-doctor" / "sessions")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(entry).st_mode) == 0o600
    listed = sessions.list_sessions(environ)
    assert [(e["scan_id"], e["live"]) for e in listed] == [("1-2", True)]
    lock.release()
    assert [e["live"] for e in sessions.list_sessions(environ)] == [False]
    sessions.unregister_session(entry)
    sessions.unregister_session(entry)
    assert sessions.list_sessions(environ) == []


def test_registry_falls_back_to_the_cache_folder():
    if os.name == "nt":
        assert sessions.sessions_dir({"LOCALAPPDATA": r"C:\x"}).endswith("sessions")
    else:
        assert sessions.sessions_dir({"HOME": "/h"}) == "/h/.cache/times-doctor/sessions"
