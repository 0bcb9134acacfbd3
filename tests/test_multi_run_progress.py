"""MultiRunProgressMonitor with a fake stream and a fake clock.

The monitor reads a JobRegistry of its own here; set_status() goes through
the registry's checked transitions, so a run starts (STARTING) before it runs.

refresh_seconds is an hour in most tests, so the refresh thread never fires
and each test drives redraws itself with refresh().
"""

import io
import re
import threading

import pytest

from fakes import FakeClock
from proc_helpers import wait_until
from times_doctor import states
from times_doctor.term.live import LiveRegion
from times_doctor.multi_run_progress import MultiRunProgressMonitor, RunStatus

HOUR = 3600.0
HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"
CURSOR_UP = re.compile("\x1b\\[\\d*A")
ESCAPE = re.compile("\x1b\\[[0-9;?]*[A-Za-z]|\r")
PLAIN_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] ")

HEADER = ("Run  Status   Result  Phase  Progress  Iteration  Time  Details  PID\n"
          "---  -------  ------  -----  --------  ---------  ----  -------  ---\n")


class FakeStream(io.StringIO):
    """A StringIO that says whether it is a terminal."""

    def __init__(self, tty):
        io.StringIO.__init__(self)
        self.tty = tty

    def isatty(self):
        return self.tty

    def take(self):
        """Everything written since the last take()."""
        value = self.getvalue()
        self.seek(0)
        self.truncate()
        return value


class BrokenStream(FakeStream):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture(autouse=True)
def _no_environment_overrides(monkeypatch):
    for name in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)


def make(tty=True, names=("a", "b"), **kw):
    stream = FakeStream(tty)
    clock = FakeClock(1000.0)
    kw.setdefault("refresh_seconds", HOUR)
    kw.setdefault("width", 80)
    kw.setdefault("color", False)
    monitor = MultiRunProgressMonitor(list(names), stream=stream, clock=clock, **kw)
    return monitor, stream, clock


def plain_lines(text):
    return [line for line in text.splitlines() if line]


# -- module surface ------------------------------------------------------------


def test_runstatus_is_re_exported():
    assert RunStatus is states.RunStatus
    assert RunStatus.CANCELLED == "cancelled"


def test_live_defaults_follow_the_stream():
    assert MultiRunProgressMonitor(["a"], stream=FakeStream(True)).live is True
    assert MultiRunProgressMonitor(["a"], stream=FakeStream(False)).live is False
    assert MultiRunProgressMonitor(["a"], stream=FakeStream(True), live=False).live is False


def test_live_default_off_for_a_dumb_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    monitor = MultiRunProgressMonitor(["a"], stream=FakeStream(True))
    assert monitor.live is False
    assert monitor.color is False


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError):
        MultiRunProgressMonitor(["a", "a"], stream=FakeStream(False))


def test_update_refuses_unknown_run_field_and_status():
    monitor, _, _ = make()
    with pytest.raises(KeyError):
        monitor.update("nope", phase="x")
    with pytest.raises(TypeError):
        monitor.update("a", elapsed_seconds=3)
    with pytest.raises(ValueError):
        monitor.set_status("a", "exploded")


# -- live mode -------------------------------------------------------------------


def test_live_start_hides_cursor_and_draws_the_table():
    monitor, stream, _ = make()
    monitor.start()
    assert stream.take() == (HIDE + HEADER + "a    Waiting\nb    Waiting\n"
                             "2 waiting, 0 completed, 0 failed, 0 timeout, 0 cancelled")
    monitor.stop()


def test_live_redraw_moves_up_over_the_previous_table():
    monitor, stream, clock = make()
    monitor.start()
    stream.take()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("a", RunStatus.RUNNING)
    assert stream.take() == ""  # updates never write: only the refresh does
    monitor.refresh()
    # 5 lines on screen: erase the cursor's line, then up-and-erase 4 times.
    assert stream.take() == (
        "\r\x1b[2K" + "\x1b[1A\x1b[2K" * 4
        + "Run  Status   Result  Phase  Progress  Iteration  Time  Details  PID\n"
        + "---  -------  ------  -----  --------  ---------  ----  -------  ---\n"
        + "a    Running                                      0:00\n"
        + "b    Waiting\n"
        + "1 waiting, 1 running, 0 completed, 0 failed, 0 timeout, 0 cancelled")
    monitor.stop()


def test_live_redraws_only_when_the_text_changes():
    monitor, stream, clock = make()
    monitor.start()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("a", RunStatus.RUNNING)
    monitor.refresh()
    stream.take()
    monitor.refresh()
    clock.advance(0.4)  # the clock text still says 0:00
    monitor.refresh()
    monitor.update("a", phase="")  # same value as before
    monitor.refresh()
    assert stream.take() == ""
    clock.advance(0.7)  # now 0:01
    monitor.refresh()
    out = stream.take()
    assert CURSOR_UP.search(out)
    assert "a    Running                                      0:01" in out
    monitor.stop()


def test_live_many_updates_between_refreshes_give_one_redraw():
    monitor, stream, _ = make()
    monitor.start()
    stream.take()
    for i in range(50):
        monitor.update("a", iteration=i, progress=i / 50.0)
    monitor.refresh()
    out = stream.take()
    assert out.count("Run  Status") == 1
    assert "49" in out
    monitor.stop()


def test_live_stop_leaves_final_table_newline_and_cursor():
    monitor, stream, _ = make()
    monitor.start()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("a", RunStatus.RUNNING)
    monitor.set_status("a", RunStatus.COMPLETED)
    monitor.set_status("b", RunStatus.CANCELLED)
    stream.take()
    monitor.stop()
    out = stream.take()
    assert out.endswith("\n1 completed, 0 failed, 0 timeout, 1 cancelled\n" + SHOW)
    assert "a    Completed" in out and "b    Cancelled" in out
    monitor.stop()  # idempotent
    assert stream.take() == ""


def test_live_stop_restores_cursor_even_if_the_last_draw_fails():
    monitor, stream, _ = make()
    monitor.start()

    def broken():
        raise RuntimeError("render bug")
    monitor._compose = broken
    with pytest.raises(RuntimeError):
        monitor.stop()
    assert stream.getvalue().endswith("\n" + SHOW)


def test_context_manager_restores_cursor_on_error():
    monitor, stream, _ = make()
    with pytest.raises(ZeroDivisionError):
        with monitor:
            1 / 0
    out = stream.getvalue()
    assert out.startswith(HIDE) and out.endswith("\n" + SHOW)


def test_close_is_stop():
    monitor, stream, _ = make()
    monitor.start()
    monitor.close()
    assert stream.getvalue().endswith(SHOW)


def test_start_is_idempotent_and_stopped_stays_stopped():
    monitor, stream, _ = make()
    monitor.start()
    monitor.start()
    assert stream.getvalue().count(HIDE) == 1
    monitor.stop()
    stream.take()
    monitor.start()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("a", RunStatus.RUNNING)
    monitor.refresh()
    assert stream.take() == ""


def test_live_message_clears_prints_and_redraws():
    monitor, stream, _ = make(names=("a",))
    monitor.start()
    stream.take()
    monitor.message("hello")
    assert stream.take() == (
        "\r\x1b[2K" + "\x1b[1A\x1b[2K" * 3 + "hello\n"
        + HEADER + "a    Waiting\n1 waiting, 0 completed, 0 failed, 0 timeout, 0 cancelled")
    monitor.stop()


def test_pause_display_clears_stops_drawing_and_redraws_from_scratch():
    monitor, stream, clock = make(names=("a",))
    monitor.start()
    stream.take()
    with monitor.pause_display():
        assert stream.take() == "\r\x1b[2K" + "\x1b[1A\x1b[2K" * 3 + SHOW
        monitor.set_status("a", RunStatus.STARTING)
        monitor.set_status("a", RunStatus.RUNNING)  # still recorded
        clock.advance(5)
        monitor.refresh()
        stream.write("menu text\n")
        assert stream.take() == "menu text\n"
    out = stream.take()
    # Drawn below the menu: no cursor movement over it.
    assert not CURSOR_UP.search(out)
    assert out == (HIDE + HEADER + "a    Running                                      0:05\n"
                   "1 running, 0 completed, 0 failed, 0 timeout, 0 cancelled")
    monitor.stop()


def test_nested_pause_display_redraws_once_at_the_outer_exit():
    monitor, stream, _ = make(names=("a",))
    monitor.start()
    with monitor.pause_display():
        with monitor.pause_display():
            pass
        stream.take()
        monitor.refresh()
        assert stream.take() == ""
    assert "Run  Status" in stream.take()
    monitor.stop()


def test_message_while_paused_is_printed_plainly():
    monitor, stream, _ = make(names=("a",))
    monitor.start()
    with monitor.pause_display():
        stream.take()
        monitor.message("cancelling")
        assert stream.take() == "cancelling\n"
    monitor.stop()


def test_live_width_is_re_read_on_each_redraw(monkeypatch):
    monitor, stream, _ = make(width=None)
    monitor.update("a", details="x" * 200)
    monkeypatch.setenv("COLUMNS", "101")
    monitor.start()
    first = stream.take()[len(HIDE):]
    assert max(len(line) for line in first.split("\n")) == 100
    monkeypatch.setenv("COLUMNS", "61")
    monitor.refresh()
    second = stream.take().split("\n")
    assert max(len(ESCAPE.sub("", line)) for line in second) == 60
    monitor.stop()


def test_live_table_taller_than_the_terminal_is_cropped(monkeypatch):
    monkeypatch.setenv("LINES", "8")
    names = ["run%d" % i for i in range(10)]
    monitor, stream, _ = make(names=names)
    monitor.set_status("run7", RunStatus.STARTING)
    monitor.set_status("run7", RunStatus.RUNNING)
    monitor.start()
    lines = stream.take()[len(HIDE):].split("\n")
    assert len(lines) == 7
    # The running run is kept, the rest fill up in order.
    assert [line.split()[0] for line in lines[2:5]] == ["run0", "run1", "run7"]
    assert lines[5] == "\u2026 7 more run(s) not shown"
    monitor.stop()


def test_live_colour_codes_only_when_enabled():
    monitor, stream, _ = make(color=True)
    monitor.start()
    monitor.stop()
    assert "\x1b[2mWaiting\x1b[0m" in stream.getvalue()


def test_refresh_thread_redraws_by_itself():
    monitor, stream, _ = make(refresh_seconds=0.01)
    with monitor:
        monitor.set_status("a", RunStatus.STARTING)
        monitor.set_status("a", RunStatus.RUNNING)
        wait_until(lambda: "a    Running" in stream.getvalue(), 10, message="a redraw")


def test_live_region_remembers_height():
    region = LiveRegion()
    assert region.draw(["x", "y"]) == "x\ny"
    assert region.draw(["z"]) == "\r\x1b[2K\x1b[1A\x1b[2Kz"
    assert region.clear() == "\r\x1b[2K"
    assert region.lines is None and region.draw(["w"]) == "w"


# -- plain mode -------------------------------------------------------------------


def test_plain_mode_one_line_per_status_change_and_no_escape_codes():
    monitor, stream, clock = make(tty=False, color=None, heartbeat_seconds=None)
    monitor.start()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_pid("a", 321)
    monitor.set_status("a", RunStatus.RUNNING)
    monitor.set_status("a", RunStatus.RUNNING)  # not a change: no line
    monitor.update("a", phase="barrier", progress=0.3)  # not a status: no line
    clock.advance(83)
    monitor.update("a", status=RunStatus.COMPLETED, result="optimal")
    monitor.message("a note")
    with monitor.pause_display():
        monitor.set_status("b", RunStatus.CANCELLED)
    monitor.refresh()
    monitor.stop()
    out = stream.getvalue()
    assert "\x1b" not in out
    lines = plain_lines(out)
    assert [PLAIN_LINE.sub("", line) for line in lines] == [
        "a: starting",
        "a: running (pid 321)",
        "a: completed optimal 1:23",
        "a note",
        "b: cancelled",
    ]
    assert all(PLAIN_LINE.match(line) for line in lines if line != "a note")


def test_plain_mode_with_forced_colour_has_sgr_but_no_cursor_codes(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monitor, stream, _ = make(tty=False, color=None)
    assert monitor.color is True and monitor.live is False
    with monitor:
        monitor.set_status("a", RunStatus.STARTING)
        with monitor.pause_display():
            pass
    out = stream.getvalue()
    assert "\x1b[33mstarting\x1b[0m" in out
    assert re.findall("\x1b\\[[0-9;?]*[A-Za-z]", out) == ["\x1b[33m", "\x1b[0m"]


def test_plain_mode_no_lines_before_start_or_after_stop():
    monitor, stream, _ = make(tty=False)
    monitor.set_status("a", RunStatus.STARTING)
    monitor.start()
    monitor.stop()
    monitor.set_status("a", RunStatus.RUNNING)
    assert stream.getvalue() == ""


def test_plain_heartbeat_at_most_every_heartbeat_seconds():
    monitor, stream, clock = make(tty=False)
    monitor.start()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("a", RunStatus.RUNNING)
    stream.take()
    clock.advance(29.9)
    monitor.refresh()
    assert stream.take() == ""
    clock.advance(0.1)
    monitor.refresh()
    monitor.refresh()
    beat = plain_lines(stream.take())
    assert len(beat) == 1
    assert PLAIN_LINE.sub("", beat[0]) == (
        "1 waiting, 1 running, 0 completed, 0 failed, 0 timeout, 0 cancelled; a 0:30")
    clock.advance(29)
    monitor.update("a", phase="x")
    monitor.refresh()
    assert stream.take() == ""
    clock.advance(1)
    monitor.set_status("b", RunStatus.STARTING)  # an update can bring the heartbeat too
    lines = [PLAIN_LINE.sub("", line) for line in plain_lines(stream.take())]
    assert lines[0] == "b: starting"
    assert lines[1].startswith("2 running,")
    monitor.stop()


def test_plain_heartbeat_stops_when_everything_is_final_or_disabled():
    monitor, stream, clock = make(tty=False)
    monitor.start()
    monitor.set_status("a", RunStatus.CANCELLED)
    monitor.set_status("b", RunStatus.CANCELLED)
    stream.take()
    clock.advance(100)
    monitor.refresh()
    assert stream.take() == ""
    monitor.stop()
    quiet, stream, clock = make(tty=False, heartbeat_seconds=None)
    quiet.start()
    clock.advance(1000)
    quiet.refresh()
    assert stream.getvalue() == ""
    quiet.stop()


def test_plain_pause_holds_lines_until_exit():
    monitor, stream, clock = make(tty=False)
    monitor.start()
    with monitor.pause_display():
        monitor.set_status("a", RunStatus.STARTING)
        clock.advance(100)  # no heartbeat over a menu either
        monitor.refresh()
        assert stream.getvalue() == ""
    lines = [PLAIN_LINE.sub("", line) for line in plain_lines(stream.getvalue())]
    assert lines[0] == "a: starting"
    monitor.stop()


def test_plain_mode_non_ascii_stream_gets_replacement_characters():
    class AsciiStream(FakeStream):
        encoding = "ascii"
    stream = AsciiStream(False)
    monitor = MultiRunProgressMonitor(["d\u00fcal"], stream=stream, refresh_seconds=HOUR)
    with monitor:
        monitor.set_status("d\u00fcal", RunStatus.STARTING)
    assert "d?al: starting" in stream.getvalue()


def test_live_mode_on_an_ascii_stream_cuts_with_three_dots():
    class AsciiStream(FakeStream):
        encoding = "ascii"
    stream = AsciiStream(True)
    monitor = MultiRunProgressMonitor(["a-rather-long-run-name"], stream=stream, width=30,
                                      color=False, refresh_seconds=HOUR)
    monitor.update("a-rather-long-run-name", details="\u00fcber " * 10)
    with monitor:
        pass
    assert "a-rather-...  Waiting  ?ber..." in stream.getvalue()
    assert "\u2026" not in stream.getvalue()


def test_a_broken_stream_does_not_break_updates():
    stream = BrokenStream(False)
    monitor = MultiRunProgressMonitor(["a"], stream=stream, refresh_seconds=HOUR)
    monitor.start()
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("a", RunStatus.RUNNING)
    monitor.stop()
    assert isinstance(monitor.write_error, BrokenPipeError)
    assert monitor.rows()[0].status == RunStatus.RUNNING


# -- state and clocks ----------------------------------------------------------------


def test_elapsed_starts_on_starting_pauses_and_stops_on_final():
    monitor, _, clock = make()
    assert monitor.rows()[0].elapsed_seconds is None
    monitor.set_status("a", RunStatus.STARTING)
    clock.advance(2)
    monitor.set_status("a", RunStatus.RUNNING)
    clock.advance(3)
    assert monitor.rows()[0].elapsed_seconds == 5
    monitor.set_status("a", RunStatus.PAUSED)
    clock.advance(100)
    assert monitor.rows()[0].elapsed_seconds == 5
    monitor.set_status("a", RunStatus.RUNNING)
    clock.advance(1)
    monitor.set_status("a", RunStatus.TIMEOUT)
    clock.advance(50)
    assert monitor.rows()[0].elapsed_seconds == 6


def test_rows_snapshot_has_every_field():
    monitor, _, _ = make(names=("a",))
    monitor.update("a", status=RunStatus.STARTING, result="", phase="presolve", progress=0.1,
                   iteration=7, details="d", pid=99)
    row = monitor.rows()[0]
    assert row == ("a", "starting", "", "presolve", 0.1, 7, 0.0, "d", 99)


def test_all_completed_counts_cancelled_as_final():
    monitor, _, _ = make(names=("a", "b", "c"))
    assert not monitor.all_completed()
    monitor.set_status("a", RunStatus.CANCELLED)
    monitor.set_status("b", RunStatus.FAILED)
    assert not monitor.all_completed()
    monitor.set_status("c", RunStatus.STARTING)
    monitor.set_status("c", RunStatus.RUNNING)
    assert not monitor.all_completed()
    monitor.set_status("c", RunStatus.COMPLETED)
    assert monitor.all_completed()


def test_summary_counts_in_summary_order_with_starting_as_running():
    monitor, _, _ = make(names=("a", "b", "c", "d"))
    monitor.set_status("a", RunStatus.STARTING)
    monitor.set_status("b", RunStatus.STARTING)
    monitor.set_status("b", RunStatus.RUNNING)
    monitor.set_status("c", RunStatus.CANCELLED)
    counts = monitor.summary_counts()
    assert tuple(counts) == states.SUMMARY_ORDER
    assert counts[RunStatus.RUNNING] == 2
    assert counts[RunStatus.WAITING] == 1
    assert counts[RunStatus.CANCELLED] == 1
    assert sum(counts.values()) == 4


# -- threads ----------------------------------------------------------------------


@pytest.mark.parametrize("tty", [True, False])
def test_many_threads_updating_while_the_refresh_thread_draws(tty):
    names = ["run%d" % i for i in range(6)]
    stream = FakeStream(tty)
    monitor = MultiRunProgressMonitor(names, stream=stream, refresh_seconds=0.001,
                                      heartbeat_seconds=0.001, width=120, color=True)
    errors = []

    def work(name):
        try:
            monitor.set_status(name, RunStatus.STARTING)
            monitor.set_status(name, RunStatus.RUNNING)
            for i in range(300):
                monitor.update(name, iteration=i, progress=i / 300.0, details="step %d" % i)
                if i % 50 == 0:
                    monitor.message("%s at %d" % (name, i))
                    with monitor.pause_display():
                        monitor.rows()
            monitor.set_status(name, RunStatus.COMPLETED)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    with monitor:
        threads = [threading.Thread(target=work, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
            assert not thread.is_alive()
    assert errors == []
    assert monitor.all_completed()
    assert all(row.iteration == 299 for row in monitor.rows())
    out = stream.getvalue()
    if tty:
        assert out.endswith("\n" + SHOW)
        assert "6 completed" in out[-300:]
    else:
        assert not re.search("\x1b\\[[0-9;?]*[ABCDHJKlh]", out)
        completed = [line for line in out.splitlines() if "completed" in line
                     and ": " in line and "running" not in line]
        assert len(completed) == 6
