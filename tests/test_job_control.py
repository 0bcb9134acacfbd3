"""JobRegistry transitions and _terminate_process_group escalation, with fakes."""

import threading

import pytest

from times_doctor.errors import InvalidTransition
from times_doctor.job_control import (ACTION_PAUSE, JobRegistry, UnknownJobError,
                                      _terminate_process_group)
from times_doctor.proc.procgroup import GroupRef
from times_doctor.states import RunStatus

from fakes import FakeClock, start_next_on_cancel


class FakeGroups(object):
    """Records seam calls; processes exit after TERM unless stubborn."""

    def __init__(self, clock, pids=(11, 12), stubborn=False, exit_after=0.0,
                 survive_kill=False):
        self.clock = clock
        self.calls = []
        self.alive = list(pids)
        self.stubborn = stubborn
        self.exit_after = exit_after
        self.survive_kill = survive_kill
        self.term_at = None

    def terminate(self, ref):
        self.calls.append("terminate")
        self.term_at = self.clock.now

    def kill(self, ref):
        self.calls.append("kill")
        if not self.survive_kill:
            self.alive = []

    def survivors(self, ref):
        if (not self.stubborn and self.term_at is not None
                and self.clock.now - self.term_at >= self.exit_after):
            self.alive = []
        return list(self.alive)


def make_registry(*names):
    registry = JobRegistry(default_grace_seconds=10)
    events = dict((name, registry.register(name)) for name in names)
    return registry, events


def test_register_starts_waiting():
    registry, _ = make_registry("dual")
    assert registry.get("dual").status == RunStatus.WAITING


def test_try_start_from_waiting():
    registry, _ = make_registry("dual")
    assert registry.try_start("dual") is True
    assert registry.get("dual").status == RunStatus.STARTING
    assert registry.get("dual").started_at is not None


def test_try_start_from_cancelled_refuses():
    registry, _ = make_registry("dual")
    registry.cancel("dual")
    assert registry.try_start("dual") is False
    assert registry.get("dual").status == RunStatus.CANCELLED


def test_fail_waiting_from_waiting():
    registry, _ = make_registry("dual")
    seen = []
    registry.add_listener(seen.append)
    assert registry.fail_waiting("dual") is True
    snap = registry.get("dual")
    assert snap.status == RunStatus.FAILED and snap.started_at is None
    assert snap.ended_at is not None and snap.returncode is None
    assert [each.status for each in seen] == [RunStatus.FAILED]


def test_fail_waiting_from_waiting_sets_the_reason_with_the_status():
    registry, _ = make_registry("dual")
    seen = []
    registry.add_listener(seen.append, status_only=True)
    assert registry.fail_waiting("dual", details="not started: cplex licence error") is True
    assert [(each.status, each.details) for each in seen] == [
        (RunStatus.FAILED, "not started: cplex licence error")]
    with pytest.raises(TypeError, match="fail_waiting.*colour"):
        registry.fail_waiting("dual", colour="red")


def test_fail_waiting_from_cancelled_changes_nothing():
    registry, _ = make_registry("dual")
    registry.cancel("dual")
    assert registry.fail_waiting("dual", details="not started: cplex licence error") is False
    snap = registry.get("dual")
    assert (snap.status, snap.details) == (RunStatus.CANCELLED, "")


def test_fail_waiting_from_starting_changes_nothing():
    registry, _ = make_registry("dual")
    registry.try_start("dual")
    assert registry.fail_waiting("dual") is False
    assert registry.get("dual").status == RunStatus.STARTING


def test_cancel_from_waiting_is_final_at_once():
    registry, events = make_registry("dual", "sift")
    assert registry.cancel("dual") is True
    assert registry.get("dual").status == RunStatus.CANCELLED
    assert events["dual"].is_set()
    assert registry.get("sift").status == RunStatus.WAITING


def test_cancel_from_running_sets_event_and_keeps_status():
    registry, events = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    assert registry.cancel("dual", grace_seconds=2) is True
    snap = registry.get("dual")
    assert snap.status == RunStatus.RUNNING  # the worker moves it on
    assert snap.cancel_requested is True
    assert events["dual"].is_set()


def test_cap_from_running_stops_it_as_capped_with_the_reason():
    registry, events = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    assert registry.cap("dual", "could not beat bar: 1.5 x 12.3 s", grace_seconds=2) is True
    snap = registry.get("dual")
    assert (snap.status, snap.cancel_requested, snap.stop_reason, snap.details) == (
        RunStatus.RUNNING, True, "could not beat bar: 1.5 x 12.3 s",
        "could not beat bar: 1.5 x 12.3 s")
    assert events["dual"].is_set()
    assert registry.stop_status("dual") == RunStatus.CAPPED
    assert registry.grace_deadline("dual") is not None
    # The worker ends the group as for a cancel, then records the stop.
    registry.set_status("dual", RunStatus.CAPPED, returncode=-15)
    assert registry.get("dual").status == RunStatus.CAPPED


def test_cap_from_waiting_leaves_it_its_place():
    registry, events = make_registry("dual")
    assert registry.cap("dual", "could not beat bar") is False
    assert registry.get("dual").status == RunStatus.WAITING
    assert not events["dual"].is_set() and registry.get("dual").stop_reason == ""


def test_cap_from_waiting_with_waiting_too_ends_it_unstarted():
    registry, events = make_registry("dual")
    assert registry.cap("dual", "race: bar finished first", waiting_too=True) is True
    snap = registry.get("dual")
    assert (snap.status, snap.stop_reason, snap.elapsed_seconds) == (
        RunStatus.CAPPED, "race: bar finished first", None)
    assert registry.try_start("dual") is False


def test_cap_from_cancelled_request_keeps_the_users_cancel():
    registry, _ = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    assert registry.cancel("dual") is True
    assert registry.cap("dual", "could not beat bar") is False
    assert registry.stop_status("dual") == RunStatus.CANCELLED
    assert registry.get("dual").stop_reason == ""


def test_cancel_from_capped_request_keeps_the_cap():
    registry, _ = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    registry.cap("dual", "could not beat bar", grace_seconds=10)
    # A cancel-all (the scan's abort) shortens the grace; the run still ends capped.
    assert registry.cancel_all(grace_seconds=0) == ["dual"]
    assert registry.stop_status("dual") == RunStatus.CAPPED


def test_cap_from_completed_is_refused():
    registry, _ = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    registry.set_status("dual", RunStatus.COMPLETED, returncode=0)
    assert registry.cap("dual", "too late") is False
    assert registry.get("dual").stop_reason == ""


def test_cancel_from_completed_is_refused():
    registry, events = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    registry.set_status("dual", RunStatus.COMPLETED, returncode=0)
    assert registry.cancel("dual") is False
    assert not events["dual"].is_set()
    assert registry.get("dual").status == RunStatus.COMPLETED


def test_set_status_from_completed_raises_naming_both_states():
    registry, _ = make_registry("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    registry.set_status("dual", RunStatus.COMPLETED)
    with pytest.raises(InvalidTransition) as info:
        registry.set_status("dual", RunStatus.RUNNING)
    assert "completed" in str(info.value) and "running" in str(info.value)


def test_set_status_from_waiting_to_running_raises():
    registry, _ = make_registry("dual")
    with pytest.raises(InvalidTransition):
        registry.set_status("dual", RunStatus.RUNNING)


def test_unknown_name_lists_known_ones():
    registry, _ = make_registry("dual", "sift")
    with pytest.raises(UnknownJobError) as info:
        registry.cancel("bar")
    assert "'bar'" in str(info.value) and "dual, sift" in str(info.value)


def test_cancel_all_from_mixed_states():
    registry, events = make_registry("a", "b", "c")
    registry.try_start("a")
    registry.set_status("a", RunStatus.RUNNING)
    registry.try_start("b")
    registry.set_status("b", RunStatus.RUNNING)
    registry.set_status("b", RunStatus.COMPLETED)
    assert registry.cancel_all(grace_seconds=1) == ["a", "c"]
    assert registry.get("c").status == RunStatus.CANCELLED
    assert events["a"].is_set() and not events["b"].is_set()


def test_cancel_all_from_running_with_names_cancels_them_in_one_step():
    """The waiting run is cancelled before anyone hears of the running one's cancel."""
    registry, _ = make_registry("dual", "primal", "sift")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    answers = start_next_on_cancel(registry, "dual", "primal")
    assert registry.cancel_all(names=["primal", "dual"]) == ["dual", "primal"]
    assert answers == [False]
    assert registry.get("primal").status == RunStatus.CANCELLED
    assert registry.get("sift").status == RunStatus.WAITING  # not named


def test_cancel_all_from_waiting_with_an_unknown_name_changes_nothing():
    registry, _ = make_registry("dual", "primal")
    with pytest.raises(UnknownJobError):
        registry.cancel_all(names=["dual", "nosuch"])
    assert [snap.status for snap in registry.snapshot()] == [RunStatus.WAITING] * 2


def test_second_cancel_moves_deadline_earlier_only():
    clock = FakeClock()
    registry = JobRegistry(default_grace_seconds=10, monotonic=clock.monotonic)
    registry.register("a")
    registry.try_start("a")
    registry.cancel("a", grace_seconds=10)
    assert registry.grace_deadline("a") == 110.0
    registry.cancel("a", grace_seconds=30)
    assert registry.grace_deadline("a") == 110.0
    registry.cancel("a", grace_seconds=0)
    assert registry.grace_deadline("a") == 100.0


def test_listeners_run_outside_the_lock():
    registry, _ = make_registry("a")
    seen = []

    def listener(snap):
        # Would deadlock if called while the registry holds its lock.
        seen.append((snap.status, registry.get(snap.name).status))

    registry.add_listener(listener)
    registry.try_start("a")
    registry.cancel("a")
    assert seen == [(RunStatus.STARTING, RunStatus.STARTING),
                    (RunStatus.STARTING, RunStatus.STARTING)]


# -- the record: fields, one pausable clock, listeners ---------------------------


def test_update_writes_record_fields_without_notifying():
    registry, _ = make_registry("a")
    seen = []
    registry.add_listener(seen.append)
    registry.update("a", phase="barrier", progress=0.25, iteration=12, details="d",
                    result="optimal")
    snap = registry.get("a")
    assert (snap.phase, snap.progress, snap.iteration, snap.details, snap.result) == (
        "barrier", 0.25, 12, "d", "optimal")
    assert seen == []  # views poll snapshots; only state changes notify
    with pytest.raises(TypeError):
        registry.update("a", status=RunStatus.RUNNING)  # statuses only via set_status
    with pytest.raises(UnknownJobError):
        registry.update("nope", phase="x")


def test_record_defaults_before_the_runner_writes():
    registry, _ = make_registry("a")
    snap = registry.get("a")
    assert (snap.result, snap.phase, snap.progress, snap.iteration, snap.details,
            snap.elapsed_seconds, snap.pid) == ("", "", None, None, "", None, None)


def test_clock_runs_from_starting_holds_while_paused_and_stops_when_final():
    clock = FakeClock()
    registry = JobRegistry(monotonic=clock.monotonic)
    registry.register("a")
    registry.try_start("a")
    clock.sleep(2)
    registry.set_status("a", RunStatus.RUNNING)
    clock.sleep(3)
    assert registry.elapsed("a") == 5
    registry.set_status("a", RunStatus.PAUSED)
    clock.sleep(100)
    assert registry.get("a").elapsed_seconds == 5
    registry.set_status("a", RunStatus.RUNNING)
    clock.sleep(1)
    assert registry.set_status("a", RunStatus.COMPLETED).elapsed_seconds == 6
    clock.sleep(50)
    assert registry.elapsed("a") == 6


def test_cancel_from_waiting_never_starts_the_clock():
    registry, _ = make_registry("a")
    registry.cancel("a")
    assert registry.get("a").elapsed_seconds is None


def test_status_only_listener_hears_status_changes_only():
    registry, _ = make_registry("a", "b")
    every, status_only = [], []
    registry.add_listener(lambda snap: every.append((snap.name, snap.status)))
    registry.add_listener(lambda snap: status_only.append((snap.name, snap.status)),
                          status_only=True)
    registry.try_start("a")
    registry.attach_process("a", 4242)
    registry.set_status("a", RunStatus.RUNNING)
    registry.request_action("a", ACTION_PAUSE)
    registry.cancel("a")     # active: a request, not a status change
    registry.cancel("b")     # waiting: cancelled at once
    assert status_only == [("a", RunStatus.STARTING), ("a", RunStatus.RUNNING),
                           ("b", RunStatus.CANCELLED)]
    assert len(every) == 6


def test_failing_listener_neither_undoes_the_change_nor_reaches_the_writer():
    # The state file not writable: the worker must still end its run the way
    # the registry says, or the CSV (from the worker's result) and the
    # registry (and so the table and the next state file) would disagree.
    registry, _ = make_registry("a")
    later = []
    failure = OSError(28, "No space left on device")

    def failing(snap):
        raise failure

    registry.add_listener(failing)
    registry.add_listener(later.append)
    registry.try_start("a")
    registry.set_status("a", RunStatus.RUNNING)
    snap = registry.set_status("a", RunStatus.COMPLETED, returncode=0)
    assert snap.status == registry.get("a").status == RunStatus.COMPLETED
    assert [s.status for s in later] == [RunStatus.STARTING, RunStatus.RUNNING,
                                         RunStatus.COMPLETED]
    assert registry.take_listener_errors() == [failure] * 3
    assert registry.take_listener_errors() == []


def test_request_action_from_running_wakes_worker_without_cancel():
    registry, events = make_registry("a")
    registry.try_start("a")
    registry.set_status("a", RunStatus.RUNNING)
    assert registry.request_action("a", ACTION_PAUSE) is True
    assert events["a"].is_set()
    assert registry.take_action("a") == ACTION_PAUSE
    assert not events["a"].is_set()
    assert registry.is_cancel_requested("a") is False


def test_request_action_from_waiting_is_refused():
    registry, events = make_registry("a")
    assert registry.request_action("a", ACTION_PAUSE) is False
    assert not events["a"].is_set()


def test_wait_all_final_wakes_on_change():
    registry, _ = make_registry("a")
    registry.try_start("a")
    registry.set_status("a", RunStatus.RUNNING)
    timer = threading.Timer(0.05, registry.set_status, ("a", RunStatus.CANCELLED))
    timer.start()
    assert registry.wait_all_final(timeout=10) is True
    timer.join()


def test_terminate_cooperative_group_stops_after_term():
    clock = FakeClock()
    groups = FakeGroups(clock, exit_after=0.01)
    left = _terminate_process_group(GroupRef(11), 10, groups, monotonic=clock.monotonic,
                                    sleep=clock.sleep)
    assert left == []
    assert groups.calls == ["terminate"]
    assert clock.now - 100.0 < 0.1


def test_terminate_stubborn_group_kills_after_grace():
    clock = FakeClock()
    groups = FakeGroups(clock, stubborn=True)
    left = _terminate_process_group(GroupRef(11), 2.0, groups, monotonic=clock.monotonic,
                                    sleep=clock.sleep)
    assert left == []
    assert groups.calls == ["terminate", "kill"]
    assert 2.0 <= clock.now - 100.0 < 2.1


def test_terminate_deadline_fn_shortens_grace():
    clock = FakeClock()
    groups = FakeGroups(clock, stubborn=True)
    deadlines = iter([110.0, 110.0, 100.5])

    def deadline_fn():
        return next(deadlines, 100.5)

    _terminate_process_group(GroupRef(11), 10.0, groups, deadline_fn=deadline_fn,
                             monotonic=clock.monotonic, sleep=clock.sleep)
    assert groups.calls == ["terminate", "kill"]
    assert clock.now - 100.0 < 0.6


def test_terminate_reports_unkillable_survivors():
    clock = FakeClock()
    groups = FakeGroups(clock, stubborn=True, survive_kill=True)
    left = _terminate_process_group(GroupRef(11), 1.0, groups, monotonic=clock.monotonic,
                                    sleep=clock.sleep, kill_wait_seconds=0.5)
    assert left == [11, 12]
    assert groups.calls[0] == "terminate" and set(groups.calls[1:]) == set(["kill"])
