"""The monitor as a user sees it: tests/monitor_demo.py in a real pty and through a pipe.

The pty half is POSIX only.  Like ptyprocess, every read of the terminal is
guarded by a select() deadline, so a hung child fails the test instead of
hanging it.
"""

import errno
import os
import re
import select
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "monitor_demo.py")
ROWS, COLS = 40, 120
TIMEOUT = 60

ANY_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
SGR = re.compile(rb"\x1b\[[0-9;]*m")
CURSOR_UP = re.compile(rb"\x1b\[\d*A")
ERASE_LINE = b"\x1b[2K"
HIDE, SHOW = b"\x1b[?25l", b"\x1b[?25h"
STATUS_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] (\S+): (\w+)")

needs_pty = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX only")


def demo_env(**overrides):
    """The test's environment without anything that would decide colour or size for the demo."""
    env = dict(os.environ)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM"):
        env.pop(name, None)
    env["TERM"] = "xterm-256color"
    env.update(overrides)
    return env


def run_in_pty(args=(), **env_overrides):
    """Run the demo with a pty as stdin and stdout (stderr a pipe); return (rc, stdout bytes, stderr text)."""
    import fcntl
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    try:
        proc = subprocess.Popen([sys.executable, DEMO] + list(args), stdin=slave, stdout=slave,
                                stderr=subprocess.PIPE, env=demo_env(**env_overrides),
                                start_new_session=True, close_fds=True)
    finally:
        os.close(slave)  # else the master never sees EOF/EIO
    try:
        output = _read_until_closed(master, proc)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, output, err.decode("utf-8", "replace")


def run_in_pipe(args=(), **env_overrides):
    proc = subprocess.Popen([sys.executable, DEMO] + list(args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=demo_env(**env_overrides))
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err.decode("utf-8", "replace")


def _read_until_closed(fd, proc):
    output = b""
    deadline = time.monotonic() + TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("demo still writing after %d s; output tail:\n%r"
                                 % (TIMEOUT, output[-2000:]))
        readable, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if not readable:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:  # Linux: every slave descriptor is closed
                return output
            raise
        if not chunk:  # BSD/macOS: plain EOF
            return output
        output += chunk


def changes_from(stderr_text):
    return [tuple(line.split()[1:3]) for line in stderr_text.splitlines()
            if line.startswith("CHANGE ")]


def visible_lines(output):
    """The text a terminal would show line by line, escapes removed (good enough for widths)."""
    text = ANY_ESCAPE.sub(b"", output).decode("utf-8", "replace")
    return [part for line in text.split("\n") for part in line.split("\r")]


# -- a real terminal ------------------------------------------------------------------


@needs_pty
def test_live_table_redraws_in_place_in_a_real_pty():
    rc, out, err = run_in_pty()
    assert rc == 0, err
    assert "LIVE True" in err  # stderr was a pipe, so the demo logged its changes
    assert len(changes_from(err)) == 11
    assert out.startswith(HIDE)
    assert len(CURSOR_UP.findall(out)) >= 3, out
    assert ERASE_LINE in out
    assert SGR.search(out), "colour expected on a colour terminal"
    # The terminal is handed back: the very last escape shows the cursor.
    assert ANY_ESCAPE.findall(out)[-1] == SHOW
    assert out.endswith(b"\r\n" + SHOW)  # the final table ends its line (onlcr: \n -> \r\n)
    final = ANY_ESCAPE.sub(b"", out.rsplit(b"Run  ", 1)[-1]).decode("utf-8", "replace")
    assert "Completed" in final and "Failed" in final and "Cancelled" in final
    assert "1 completed, 1 failed, 0 timeout, 1 cancelled" in final
    # Nothing wider than the terminal (one column spare), so nothing wrapped.
    assert max(len(line) for line in visible_lines(out)) <= COLS - 1
    # Paused display: the menu's text sits on screen once, the table resumes below it.
    assert out.count(b"(display paused: a menu would be here)") == 1


@needs_pty
def test_cursor_is_restored_when_the_program_crashes_mid_table():
    rc, out, err = run_in_pty(["--crash"])
    assert rc == 1
    assert "RuntimeError: demo crash inside the live display" in err
    assert HIDE in out
    assert ANY_ESCAPE.findall(out)[-1] == SHOW


@needs_pty
def test_no_color_in_a_pty_keeps_redraw_but_drops_sgr():
    rc, out, err = run_in_pty(NO_COLOR="1")
    assert rc == 0, err
    assert CURSOR_UP.search(out) and ERASE_LINE in out
    assert not SGR.search(out)
    assert ANY_ESCAPE.findall(out)[-1] == SHOW


@needs_pty
def test_term_dumb_in_a_pty_gets_plain_lines_without_any_escape():
    rc, out, err = run_in_pty(TERM="dumb")
    assert rc == 0, err
    assert b"\x1b" not in out
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    statuses = [STATUS_LINE.match(line).groups() for line in text.splitlines()
                if STATUS_LINE.match(line)]
    assert statuses == changes_from(err)


# -- a pipe ---------------------------------------------------------------------------


def test_pipe_gets_one_plain_line_per_status_change_and_no_escape():
    rc, out, err = run_in_pipe()
    assert rc == 0, err
    assert "LIVE False" in err
    assert b"\x1b" not in out
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")  # Windows writes "\r\n"
    statuses = [STATUS_LINE.match(line).groups() for line in text.splitlines()
                if STATUS_LINE.match(line)]
    changes = changes_from(err)
    assert len(changes) == 11
    assert statuses == changes
    assert "note: cplex/barrier switched to crossover\n" in text
    assert "(display paused: a menu would be here)\n" in text
    assert re.search(r"\] cplex/dual: completed optimal \d:\d\d\n", text)
    assert re.search(r"\] cplex/barrier: failed \d:\d\d - GAMS return code 3", text)


def test_pipe_with_heartbeat_prints_counts_while_runs_are_unfinished():
    rc, out, err = run_in_pipe(["--heartbeat", "0.3"])
    assert rc == 0, err
    text = out.decode("utf-8", "replace")
    beats = [line for line in text.splitlines()
             if re.match(r"^\[\d\d:\d\d:\d\d\] \d+ \w+, ", line)]
    assert beats, text
    assert all("0 timeout" in line for line in beats)


def test_pipe_with_force_color_has_colour_but_never_cursor_codes():
    rc, out, err = run_in_pipe(FORCE_COLOR="1")
    assert rc == 0, err
    assert SGR.search(out)
    assert [code for code in ANY_ESCAPE.findall(out) if not code.endswith(b"m")] == []
