"""render.py and ansi.py: pure functions, exact strings."""

import io

import pytest

from times_doctor.term import ansi
from times_doctor.term.render import (RunRow, format_elapsed, format_progress, heartbeat_line,
                                      plain_status_line, render_summary, render_table)
from times_doctor.states import LABELS, SUMMARY_ORDER, RunStatus

ROWS = [
    RunRow("cplex/dual", RunStatus.RUNNING, "", "dual simplex", 0.5, 12345, 83.4,
           "obj 1.5e+05 inf 2", 4242),
    RunRow("cplex/barrier_long", RunStatus.COMPLETED, "optimal", "done", 1.0, 987, 3725.0, "",
           None),
    RunRow("gurobi", RunStatus.WAITING, "", "", None, None, None, "", None),
]


def counts(**kw):
    result = dict((state, 0) for state in SUMMARY_ORDER)
    result.update(kw)
    return result


# -- render_table ----------------------------------------------------------


def test_render_table_wide_shows_every_column():
    assert render_table(ROWS, 200) == [
        "Run                 Status     Result   Phase         Progress           Iteration     Time  Details             PID",
        "------------------  ---------  -------  ------------  -----------------  ---------  -------  -----------------  ----",
        "cplex/dual          Running             dual simplex  [#####-----]  50%      12345     1:23  obj 1.5e+05 inf 2  4242",
        "cplex/barrier_long  Completed  optimal  done          [##########] 100%        987  1:02:05",
        "gurobi              Waiting",
    ]


def test_render_table_shrinks_details_first():
    assert render_table(ROWS, 110) == [
        "Run                 Status     Result   Phase         Progress           Iteration     Time  Details       PID",
        "------------------  ---------  -------  ------------  -----------------  ---------  -------  -----------  ----",
        "cplex/dual          Running             dual simplex  [#####-----]  50%      12345     1:23  obj 1.5e+0\u2026  4242",
        "cplex/barrier_long  Completed  optimal  done          [##########] 100%        987  1:02:05",
        "gurobi              Waiting",
    ]


def test_render_table_then_shrinks_run_names_with_an_ellipsis():
    assert render_table(ROWS, 100) == [
        "Run           Status     Result   Phase         Progress           Iteration     Time  Details   PID",
        "------------  ---------  -------  ------------  -----------------  ---------  -------  -------  ----",
        "cplex/dual    Running             dual simplex  [#####-----]  50%      12345     1:23  obj 1.\u2026  4242",
        "cplex/barri\u2026  Completed  optimal  done          [##########] 100%        987  1:02:05",
        "gurobi        Waiting",
    ]


def test_render_table_at_80_drops_the_bar_then_pid_and_details():
    assert render_table(ROWS, 80) == [
        "Run               Status     Result   Phase         Progress  Iteration     Time",
        "----------------  ---------  -------  ------------  --------  ---------  -------",
        "cplex/dual        Running             dual simplex   50%          12345     1:23",
        "cplex/barrier_l\u2026  Completed  optimal  done          100%            987  1:02:05",
        "gurobi            Waiting",
    ]


def test_render_table_at_40_keeps_run_status_progress_time():
    assert render_table(ROWS, 40) == [
        "Run         Status     Progress     Time",
        "----------  ---------  --------  -------",
        "cplex/dual  Running     50%         1:23",
        "cplex/bar\u2026  Completed  100%      1:02:05",
        "gurobi      Waiting",
    ]


def test_render_table_very_narrow_keeps_run_and_status():
    assert render_table(ROWS, 24) == [
        "Run            Status",
        "-------------  ---------",
        "cplex/dual     Running",
        "cplex/barrie\u2026  Completed",
        "gurobi         Waiting",
    ]


def test_render_table_narrower_than_run_and_status_cuts_lines():
    assert render_table(ROWS, 10) == [
        "Run      \u2026",
        "-------- \u2026",
        "cplex/d\u2026 \u2026",
        "cplex/b\u2026 \u2026",
        "gurobi   \u2026",
    ]


@pytest.mark.parametrize("width", [1, 2, 5, 17, 33, 47, 61, 79, 99, 119, 150])
def test_render_table_never_exceeds_width(width):
    for color in (False, True):
        for line in render_table(ROWS, width, color=color):
            assert ansi.visible_len(line) <= width, (width, line)


def test_render_table_colour():
    assert render_table(ROWS[:2], 200, color=True) == [
        "\x1b[1mRun                 Status     Result   Phase         Progress           Iteration     Time  Details             PID\x1b[0m",
        "\x1b[2m------------------  ---------  -------  ------------  -----------------  ---------  -------  -----------------  ----\x1b[0m",
        "cplex/dual          \x1b[32mRunning\x1b[0m             dual simplex  [#####-----]  50%      12345     1:23  obj 1.5e+05 inf 2  4242",
        "cplex/barrier_long  \x1b[1;32mCompleted\x1b[0m  optimal  done          [##########] 100%        987  1:02:05",
    ]


def test_render_table_without_colour_has_no_escape():
    assert "\x1b" not in "".join(render_table(ROWS, 120, color=False))


@pytest.mark.parametrize("status,sgr", [
    (RunStatus.WAITING, "\x1b[2m"), (RunStatus.STARTING, "\x1b[33m"),
    (RunStatus.RUNNING, "\x1b[32m"), (RunStatus.COMPLETED, "\x1b[1;32m"),
    (RunStatus.FAILED, "\x1b[1;31m"), (RunStatus.TIMEOUT, "\x1b[31m"),
    (RunStatus.CANCELLED, "\x1b[1;33m"), (RunStatus.CAPPED, "\x1b[35m"),
])
def test_render_table_status_colours(status, sgr):
    row = RunRow("r", status, "", "", None, None, None, "", None)
    line = render_table([row], 80, color=True)[2]
    assert line == "r    %s%s\x1b[0m" % (sgr, LABELS[status])


def test_render_table_ascii_ellipsis():
    assert render_table(ROWS, 24, ellipsis="...")[3] == "cplex/barr...  Completed"


def test_render_table_control_characters_cannot_break_lines():
    row = RunRow("evil\nname", RunStatus.FAILED, "", "", None, None, None,
                 "line1\r\nline2\x1b[31m", None)
    lines = render_table([row], 120)
    # Blank Result, Phase, Progress, Iteration and Time (44 columns with gaps).
    assert lines[2] == "evil name  Failed" + " " * 44 + "line1  line2 [31m"
    assert all("\n" not in line and "\r" not in line for line in lines)


def test_render_table_of_no_rows_is_header_and_separator():
    assert render_table([], 80) == [
        "Run  Status  Result  Phase  Progress  Iteration  Time  Details  PID",
        "---  ------  ------  -----  --------  ---------  ----  -------  ---",
    ]


# -- formatting helpers ----------------------------------------------------


@pytest.mark.parametrize("seconds,text", [
    (None, ""), (0, "0:00"), (59.9, "0:59"), (83.4, "1:23"), (3599, "59:59"),
    (3600, "1:00:00"), (3725, "1:02:05"), (-3, "0:00"),
])
def test_format_elapsed(seconds, text):
    assert format_elapsed(seconds) == text


@pytest.mark.parametrize("progress,text,compact", [
    (None, "", ""), (0.0, "[----------]   0%", "  0%"), (0.5, "[#####-----]  50%", " 50%"),
    (0.999, "[#########-] 99%", " 99%"), (1.0, "[##########] 100%", "100%"),
    (1.7, "[##########] 100%", "100%"), (-1, "[----------]   0%", "  0%"),
    (float("nan"), "", ""),
])
def test_format_progress(progress, text, compact):
    assert format_progress(progress) == text.replace("] 99%", "]  99%")
    assert format_progress(progress, compact=True) == compact


# -- summary and plain lines -------------------------------------------------


def test_render_summary_shows_outcomes_always_and_the_rest_when_non_zero():
    assert render_summary(counts(running=2, completed=1, cancelled=1)) == \
        "2 running, 1 completed, 0 failed, 0 timeout, 1 cancelled"
    assert render_summary(counts()) == "0 completed, 0 failed, 0 timeout, 0 cancelled"
    assert render_summary(counts(waiting=3, paused=1, interrupted=1)) == \
        "3 waiting, 1 paused, 0 completed, 0 failed, 0 timeout, 0 cancelled, 1 interrupted"


def test_render_summary_counts_capped_after_completed_only_when_non_zero():
    assert render_summary(counts(completed=1, capped=2)) == \
        "1 completed, 2 capped, 0 failed, 0 timeout, 0 cancelled"
    assert "capped" not in render_summary(counts(completed=3))


def test_plain_status_line_capped_says_why():
    row = RunRow("dual", RunStatus.CAPPED, "", "", None, None, 18.4,
                 "could not beat bar: 1.5 x 12.3 s", None)
    assert plain_status_line(row) == "dual: capped 0:18 - could not beat bar: 1.5 x 12.3 s"


def test_capped_is_final_reachable_from_every_live_state_and_not_a_failure_colour():
    from times_doctor import states
    assert states.is_final(RunStatus.CAPPED) and RunStatus.CAPPED not in states.CANCELLABLE_STATES
    for source in (RunStatus.WAITING,) + states.ACTIVE_STATES:
        assert states.can_transition(source, RunStatus.CAPPED), source
    assert not states.can_transition(RunStatus.CAPPED, RunStatus.RUNNING)
    assert states.web_colour(RunStatus.CAPPED) == ("#7b1fa2", False)


def test_render_summary_colour_only_on_non_zero_counts():
    assert render_summary(counts(running=1, failed=2), color=True) == (
        "\x1b[32m1 running\x1b[0m, 0 completed, \x1b[1;31m2 failed\x1b[0m, 0 timeout, 0 cancelled")


def test_render_summary_keeps_states_outside_summary_order():
    assert render_summary(counts(starting=1)) == \
        "0 completed, 0 failed, 0 timeout, 0 cancelled, 1 starting"


def test_plain_status_line_running_with_pid():
    row = ROWS[0]._replace(details="")
    assert plain_status_line(row, "12:03:04") == "[12:03:04] cplex/dual: running (pid 4242)"


def test_plain_status_line_completed_shows_result_and_time():
    row = RunRow("dual", RunStatus.COMPLETED, "optimal", "done", 1.0, 10, 83.0, "infeas 0", 9)
    assert plain_status_line(row, "12:03:04") == "[12:03:04] dual: completed optimal 1:23"


def test_plain_status_line_failed_shows_why():
    row = RunRow("dual", RunStatus.FAILED, "", "", None, None, 5.0, "GAMS rc 3", None)
    assert plain_status_line(row) == "dual: failed 0:05 - GAMS rc 3"


def test_plain_status_line_colour():
    row = RunRow("dual", RunStatus.TIMEOUT, "", "", None, None, 61.0, "", None)
    assert plain_status_line(row, color=True) == "dual: \x1b[31mtimeout\x1b[0m 1:01"


def test_heartbeat_line_lists_active_runs():
    rows = [ROWS[0], ROWS[1], ROWS[2],
            RunRow("g2", RunStatus.PAUSED, "", "", None, None, 12.0, "", 5)]
    line = heartbeat_line(rows, counts(running=1, paused=1, completed=1, waiting=1), "10:00:00")
    assert line == ("[10:00:00] 1 waiting, 1 running, 1 paused, 1 completed, 0 failed, "
                    "0 timeout, 0 cancelled; cplex/dual 1:23 50%, g2 0:12 paused")


# -- ansi ----------------------------------------------------------------------


class _Stream(io.StringIO):
    def __init__(self, tty, encoding=None):
        io.StringIO.__init__(self)
        self._tty = tty
        self._encoding = encoding

    def isatty(self):
        return self._tty

    @property
    def encoding(self):
        return self._encoding


@pytest.mark.parametrize("tty,flag,env,expected", [
    (True, False, {}, True),
    (False, False, {}, False),
    (True, True, {}, False),
    (True, False, {"NO_COLOR": "1"}, False),
    (True, False, {"NO_COLOR": ""}, True),  # no-color.org: empty means unset
    (True, False, {"TERM": "dumb"}, False),
    (False, False, {"FORCE_COLOR": "1"}, True),
    (False, False, {"FORCE_COLOR": ""}, False),
    (False, True, {"FORCE_COLOR": "1"}, False),  # --no-color beats FORCE_COLOR
    (False, False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    (True, False, {"TERM": "xterm-256color"}, True),
])
def test_color_enabled(tty, flag, env, expected):
    assert ansi.color_enabled(_Stream(tty), no_color_flag=flag, environ=env) is expected


def test_color_enabled_closed_stream_is_not_a_terminal():
    stream = io.StringIO()
    stream.close()
    assert ansi.color_enabled(stream, environ={}) is False


def test_live_capable_needs_a_terminal_that_is_not_dumb():
    assert ansi.live_capable(_Stream(True), environ={}) is True
    assert ansi.live_capable(_Stream(True), environ={"TERM": "dumb"}) is False
    assert ansi.live_capable(_Stream(False), environ={}) is False


def test_style():
    assert ansi.style("x", "bold green", True) == "\x1b[1;32mx\x1b[0m"
    assert ansi.style("x", "bold green", False) == "x"
    assert ansi.style("", "red", True) == ""
    with pytest.raises(KeyError):
        ansi.style("x", "purple", False)


def test_cursor_and_clear_sequences():
    assert ansi.cursor_up(0) == ""
    assert ansi.cursor_up(3) == "\x1b[3A"
    assert ansi.clear_lines(0) == ""
    assert ansi.clear_lines(1) == "\r\x1b[2K"
    assert ansi.clear_lines(3) == "\r\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K"


def test_terminal_width_and_height():
    assert ansi.terminal_width(io.StringIO(), environ={}) == 100
    assert ansi.terminal_width(io.StringIO(), default=77, environ={}) == 77
    assert ansi.terminal_width(io.StringIO(), environ={"COLUMNS": "55"}) == 55
    assert ansi.terminal_width(io.StringIO(), environ={"COLUMNS": "junk"}) == 100
    assert ansi.terminal_width(object(), environ={}) == 100
    assert ansi.terminal_height(io.StringIO(), environ={"LINES": "7"}) == 7
    assert ansi.terminal_height(io.StringIO(), environ={}) == 24


def test_visible_len_ignores_escapes_and_counts_wide_characters():
    assert ansi.visible_len("\x1b[1;32mabc\x1b[0m") == 3
    assert ansi.visible_len("\u65e5\u672c") == 4
    assert ansi.visible_len("e\u0301") == 1


def test_truncate():
    assert ansi.truncate("abcdef", 6) == "abcdef"
    assert ansi.truncate("abcdef", 4) == "abc\u2026"
    assert ansi.truncate("abcdef", 4, "...") == "a..."
    assert ansi.truncate("abcdef", 2, "...") == "ab"
    assert ansi.truncate("abcdef", 0) == ""
    assert ansi.truncate("\u65e5\u672c\u8a9e", 4) == "\u65e5\u2026"
    # A cut inside a style keeps escapes whole and closes the style.
    assert ansi.truncate("\x1b[31mabcdef\x1b[0m", 4) == "\x1b[31mabc\u2026\x1b[0m"


def test_encoding_can_print_and_printable():
    ascii_stream = _Stream(False, "ascii")
    assert ansi.encoding_can_print(ascii_stream, "abc") is True
    assert ansi.encoding_can_print(ascii_stream, "\u2550") is False
    assert ansi.encoding_can_print(_Stream(False, "utf-8"), "\u2550") is True
    assert ansi.encoding_can_print(io.StringIO(), "\u2550") is True
    assert ansi.encoding_can_print(_Stream(False, "no-such-codec"), "a") is False
    assert ansi.printable(ascii_stream, "a\u2026b") == "a?b"
