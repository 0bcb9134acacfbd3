"""The cancel menu: exact text, selection parsing, the dialogue with a fake io."""

import pytest

from fakes import start_next_on_cancel
from times_doctor.term import menu
from times_doctor.job_control import JobRegistry
from times_doctor.states import RunStatus

RUNS = ["dual", "sift", "bar_nox", "cplex:dual"]


def test_menu_text_is_exactly_the_documented_one():
    assert menu.menu_text() == [
        "\u2550\u2550\u2550 Cancel Menu \u2550\u2550\u2550",
        "1) Cancel specific runs (enter names/numbers)",
        "2) Cancel all running jobs",
        "3) Abort scan (cancel all and exit)",
        "4) Resume (continue)",
        "5) Interrupt runs (keep best solution)",
        "6) Pause/resume runs",
        "",
        "Press Ctrl+C again to immediately cancel all and abort",
    ]


def test_menu_text_ascii_fallback():
    assert menu.menu_text(unicode_ok=False)[0] == "=== Cancel Menu ==="


@pytest.mark.parametrize("text, expected", [
    ("1", ["dual"]),
    ("1,3-4", ["dual", "bar_nox", "cplex:dual"]),
    ("dual, bar_nox", ["dual", "bar_nox"]),
    (" 2 , 2,sift ", ["sift"]),
    ("BAR_NOX", ["bar_nox"]),
    ("4-4", ["cplex:dual"]),
    ("cplex:dual", ["cplex:dual"]),
    ("3 - 4", ["bar_nox", "cplex:dual"]),
    (",,", []),
])
def test_parse_selection(text, expected):
    assert menu.parse_selection(text, RUNS) == expected


@pytest.mark.parametrize("text", ["5", "0", "bar", "1,9", "4-2", "1-99999999999", "-1",
                                  "dual;sift", "\x00\xff", "3-"])
def test_parse_selection_rejects_and_names_the_token(text):
    with pytest.raises(menu.SelectionError) as info:
        menu.parse_selection(text, RUNS)
    assert "no run matches" in str(info.value)


def test_parse_selection_unknown_token_cancels_nothing_else():
    with pytest.raises(menu.SelectionError) as info:
        menu.parse_selection("dual, nope", RUNS)
    assert "'nope'" in str(info.value) and "'dual'" not in str(info.value)


def test_name_that_looks_like_a_range_wins_over_the_range():
    assert menu.parse_selection("1-2", ["1-2", "a", "b"]) == ["1-2"]


class FakeIO(object):
    def __init__(self, lines):
        self.lines = list(lines)
        self.out = []

    def write(self, text):
        self.out.append(text)

    def read_line(self):
        if not self.lines:
            return None
        line = self.lines.pop(0)
        if line is KeyboardInterrupt:
            raise menu.MenuInterrupted("SIGINT")
        return line

    @property
    def text(self):
        return "".join(self.out)


def running_registry():
    registry = JobRegistry()
    for name in ("dual", "sift", "bar_nox"):
        registry.register(name)
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    return registry


@pytest.mark.parametrize("line, outcome", [
    ("", menu.RESUME), ("4", menu.RESUME), ("2", menu.CANCEL_ALL), ("3", menu.ABORT),
    (None, menu.RESUME),
])
def test_menu_choices(line, outcome):
    io = FakeIO([] if line is None else [line])
    assert menu.run_cancel_menu(io, running_registry()) == outcome


def test_option_1_cancels_by_name_and_number_after_a_typo():
    registry = running_registry()
    io = FakeIO(["1", "zzz, 2", "dual, 3"])
    assert menu.run_cancel_menu(io, registry) == menu.CANCELLED_SOME
    assert "no run matches 'zzz'" in io.text
    assert "1) dual  [running]" in io.text and "3) bar_nox  [waiting]" in io.text
    assert registry.get("dual").cancel_requested
    assert registry.get("bar_nox").status == RunStatus.CANCELLED
    assert registry.get("sift").status == RunStatus.WAITING


def test_option_1_cancels_the_selection_in_one_step():
    """A worker whose run ends on the cancel finds the selected waiting run cancelled already."""
    registry = running_registry()
    started = start_next_on_cancel(registry, "dual", "sift")
    assert menu.run_cancel_menu(FakeIO(["1", "dual, sift"]), registry) == menu.CANCELLED_SOME
    assert started == [False]
    assert registry.get("sift").status == RunStatus.CANCELLED


def test_option_1_empty_line_goes_back_without_cancelling():
    registry = running_registry()
    assert menu.run_cancel_menu(FakeIO(["1", ""]), registry) == menu.RESUME
    assert not any(s.cancel_requested for s in registry.snapshot())


def test_unknown_choice_is_asked_again():
    io = FakeIO(["9", "x", "4"])
    assert menu.run_cancel_menu(io, running_registry()) == menu.RESUME
    assert io.text.count("Unknown choice") == 2


def test_second_ctrl_c_propagates():
    with pytest.raises(menu.MenuInterrupted):
        menu.run_cancel_menu(FakeIO(["1", KeyboardInterrupt]), running_registry())


def test_option_5_interrupts_only_started_runs():
    registry = running_registry()
    io = FakeIO(["5", "2"])  # only "dual" is listed: "2" names nothing
    io.lines.append("1")
    assert menu.run_cancel_menu(io, registry) == menu.ACTED
    assert "1) dual  [running]" in io.text and "sift" not in io.text.split("5)")[-1]
    assert "no run matches '2'" in io.text and "Interrupting: dual" in io.text
    assert registry.get("dual").pending_action == "interrupt"
    assert not registry.get("dual").cancel_requested


def test_option_5_with_nothing_started_goes_back():
    registry = JobRegistry()
    registry.register("dual")
    io = FakeIO(["5"])
    assert menu.run_cancel_menu(io, registry) == menu.RESUME
    assert "No started runs to interrupt" in io.text


def test_option_6_pauses_running_and_resumes_paused():
    registry = running_registry()
    registry.try_start("sift")
    registry.set_status("sift", RunStatus.RUNNING)
    registry.set_status("sift", RunStatus.PAUSED)
    io = FakeIO(["6", "dual, sift"])
    assert menu.run_cancel_menu(io, registry) == menu.ACTED
    assert "Pausing: dual" in io.text and "Resuming: sift" in io.text
    assert registry.get("dual").pending_action == "pause"
    assert registry.get("sift").pending_action == "resume"


def test_option_6_empty_line_goes_back():
    registry = running_registry()
    assert menu.run_cancel_menu(FakeIO(["6", ""]), registry) == menu.RESUME
    assert registry.get("dual").pending_action is None


class ChangingIO(FakeIO):
    """FakeIO that runs *change* after the first line is read (a run ends while the user types)."""

    def __init__(self, lines, after_line, change):
        FakeIO.__init__(self, lines)
        self.after_line = after_line
        self.change = change
        self.read = 0

    def read_line(self):
        line = FakeIO.read_line(self)
        self.read += 1
        if self.read == self.after_line:
            self.change()
        return line


@pytest.mark.parametrize("choice, listed_again", [
    ("1", "1-3 or a name listed above\n  1) sift  [running]\n  2) bar_nox  [waiting]\n"
          "Runs to cancel"),
    ("5", "1-2 or a name listed above\n  1) sift  [running]\nRuns to interrupt"),
    ("6", "1-2 or a name listed above\n  1) sift  [running]\nRuns to pause")])
def test_each_selection_lists_the_runs_afresh_after_a_typo(choice, listed_again):
    registry = running_registry()
    registry.try_start("sift")
    registry.set_status("sift", RunStatus.RUNNING)
    io = ChangingIO([choice, "zzz", "sift"], 2,
                    lambda: registry.set_status("dual", RunStatus.COMPLETED, returncode=0))
    assert menu.run_cancel_menu(io, registry) in (menu.CANCELLED_SOME, menu.ACTED)
    first, second = io.text.split("no run matches 'zzz'")
    assert "  1) dual  [running]\n" in first
    assert second.startswith(": use a number " + listed_again)


@pytest.mark.parametrize("choice, none_left", [
    ("1", "No running or waiting runs left."), ("5", "No started runs to interrupt."),
    ("6", "No running or paused runs.")])
def test_selection_goes_back_when_the_last_run_ended_during_a_typo(choice, none_left):
    registry = JobRegistry()
    registry.register("dual")
    registry.try_start("dual")
    registry.set_status("dual", RunStatus.RUNNING)
    io = ChangingIO([choice, "zzz"], 2,
                    lambda: registry.set_status("dual", RunStatus.COMPLETED, returncode=0))
    assert menu.run_cancel_menu(io, registry) == menu.RESUME
    assert io.text.endswith("no run matches 'zzz': use a number 1-1 or a name listed above\n"
                            + none_left + "\n")
