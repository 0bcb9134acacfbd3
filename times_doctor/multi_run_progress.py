"""The live table of runs on a terminal, plain lines everywhere else.

Split the way Rich splits live_render.py from live.py: ``LiveRegion`` only
remembers how many lines it drew and returns the text that erases them and
draws new ones; ``MultiRunProgressMonitor`` owns the lifecycle (start/stop,
idempotent), the locks, the refresh thread and restoring the terminal in
``finally``.  What the table looks like is render.py's business.

Two locks, always taken in this order: ``_write_lock`` (the stream, the live
region, the lifecycle flags), then ``_lock`` (run state).  ``_lock`` is only
ever held to copy or change run state, never while writing, so a runner
thread calling update() is not held up by a slow terminal.
"""

import collections
import contextlib
import sys
import threading
import time

from times_doctor import ansi
from times_doctor.render import (RunRow, heartbeat_line, plain_status_line, render_summary,
                                 render_table)
from times_doctor.states import (ACTIVE_STATES, ALL_STATES, FINAL_STATES, SUMMARY_ORDER,
                                 RunStatus)

__all__ = ["RunStatus", "MultiRunProgressMonitor", "LiveRegion"]

# Fields update() accepts: RunRow's, less the name (the key) and the elapsed
# time (the monitor's own clock keeps it).
UPDATABLE_FIELDS = ("status", "result", "phase", "progress", "iteration", "details", "pid")

# Runs in these states have the clock running.
_CLOCK_RUNNING_STATES = (RunStatus.STARTING, RunStatus.RUNNING)


class MultiRunProgressMonitor(object):
    """Show every run's state: redrawn in place on a terminal, as plain lines otherwise.

    Args:
        names: run names, in display order.
        stream: where to draw; sys.stdout when None.
        live: True for in-place redraw, False for plain lines; None decides
            by ansi.live_capable(stream) (a terminal and TERM is not "dumb").
        color: SGR colour codes on or off; None decides by
            ansi.color_enabled(stream).  Plain mode never writes cursor or
            erase codes, but an explicit ``color=True`` (or FORCE_COLOR with
            color=None) colours its lines: that is what FORCE_COLOR is for.
        clock: seconds, monotonic; tests pass a fake.
        refresh_seconds: the refresh thread's period; the live table is
            redrawn at most once per period, and only when its text changed.
        heartbeat_seconds: plain mode prints a counts line at most this
            often while runs are unfinished; None or 0 turns it off.
        width: a fixed table width; None re-reads the terminal width (less
            one column, see _compose) on every redraw.
    """

    def __init__(self, names, stream=None, live=None, color=None, clock=time.monotonic,
                 refresh_seconds=0.5, heartbeat_seconds=30.0, width=None):
        self._stream = stream if stream is not None else sys.stdout
        self._live = ansi.live_capable(self._stream) if live is None else bool(live)
        self._color = ansi.color_enabled(self._stream) if color is None else bool(color)
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._width = width
        self._ellipsis = "\u2026" if ansi.encoding_can_print(self._stream, "\u2026") else "..."

        self._lock = threading.Lock()
        self._runs = collections.OrderedDict()
        for name in names:
            if name in self._runs:
                raise ValueError("duplicate run name %r" % (name,))
            self._runs[name] = _RunState(name)
        self._pending = []  # plain lines not yet written, oldest first (under _lock)

        # RLock: pause_display() and message() call helpers that take it again.
        self._write_lock = threading.RLock()
        self._region = LiveRegion()
        self._started = False
        self._stopped = False
        self._display_paused = 0
        self._last_heartbeat = None
        self._done = threading.Event()
        self._thread = None
        # The first error writing to the stream (a closed pipe, a closed
        # file).  Output stops after it rather than failing the runs that
        # report progress; the owner should tell the user on stderr.
        self.write_error = None

    @property
    def live(self):
        """True if the table is redrawn in place."""
        return self._live

    @property
    def color(self):
        return self._color

    # -- lifecycle -----------------------------------------------------------

    def start(self):
        """Draw the table (live) and start the refresh thread; a second call does nothing.

        A stopped monitor stays stopped: start() after stop() does nothing.
        """
        with self._write_lock:
            if self._started:
                return
            self._started = True
            self._last_heartbeat = self._clock()
            if self._live:
                self._write(ansi.hide_cursor())
                self._redraw()
        self._thread = threading.Thread(target=self._refresh_loop,
                                        name="times-doctor-monitor")
        # Daemon: a forgotten stop() must not keep the interpreter alive.
        self._thread.daemon = True
        self._thread.start()

    def stop(self):
        """Stop refreshing, leave the final table on screen, show the cursor.

        Idempotent.  The cursor is shown and the line ended in ``finally``,
        so the terminal is usable even if the last draw fails.
        """
        with self._write_lock:
            if not self._started or self._stopped:
                return
            self._stopped = True
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._write_lock:
            try:
                if self._live:
                    self._redraw()
                else:
                    self._flush_plain()
            finally:
                if self._live:
                    self._write("\n" + ansi.show_cursor())
                    self._region.forget()

    close = stop

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()  # the cursor may already be hidden
            raise
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.stop()
        return False

    # -- run state -----------------------------------------------------------

    def update(self, name, **fields):
        """Change fields of run *name* (any of UPDATABLE_FIELDS); thread-safe.

        A new ``status`` goes through the same clock logic as set_status()
        and, in plain mode, prints one line.

        Raises:
            KeyError: *name* is not a run of this monitor.
            TypeError: a field that is not in UPDATABLE_FIELDS.
            ValueError: a status that is not a states.RunStatus value.
        """
        unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
        if unknown:
            raise TypeError("update() got unknown field(s): %s" % ", ".join(unknown))
        status = fields.get("status")
        if status is not None and status not in ALL_STATES:
            raise ValueError("unknown run status %r" % (status,))
        with self._lock:
            run = self._runs[name]
            now = self._clock()
            changed_status = status is not None and status != run.status
            for key, value in fields.items():
                if key != "status":
                    setattr(run, key, value)
            if changed_status:
                run.set_status(status, now)
                # The lifecycle flags belong to _write_lock, but taking it here
                # would invert the lock order; a plain read is enough, as a
                # line queued at the very edge of start/stop is harmless.
                if not self._live and self._started and not self._stopped:
                    self._pending.append(plain_status_line(
                        run.row(now), _wall_clock_text(), self._color))
        if changed_status and not self._live:
            with self._write_lock:
                if self._started and not self._stopped:
                    self._flush_plain()

    def set_status(self, name, status):
        """Move run *name* to *status*: RUNNING/STARTING start its clock, PAUSED and final states stop it."""
        self.update(name, status=status)

    def set_pid(self, name, pid):
        self.update(name, pid=pid)

    def rows(self):
        """A snapshot of every run as RunRow, elapsed time as of now."""
        with self._lock:
            now = self._clock()
            return [run.row(now) for run in self._runs.values()]

    def summary_counts(self):
        """OrderedDict state -> number of runs, in states.SUMMARY_ORDER.

        STARTING is counted as running: SUMMARY_ORDER has no starting slot
        and the counts must add up to the number of runs.
        """
        with self._lock:
            statuses = [run.status for run in self._runs.values()]
        return _count(statuses)

    def all_completed(self):
        """True when every run is in a final state (CANCELLED counts)."""
        with self._lock:
            return all(run.status in FINAL_STATES for run in self._runs.values())

    # -- output --------------------------------------------------------------

    def message(self, text):
        """Print *text* above the live table (which is then redrawn), or as a plain line."""
        with self._write_lock:
            text = ansi.printable(self._stream, text)
            if self._live and self._is_drawing():
                self._write(self._region.clear() + text + "\n")
                self._redraw()
                return
            if not self._live and self._is_drawing():
                self._flush_plain()  # keep status lines and messages in order
            self._write(text + "\n")

    @contextlib.contextmanager
    def pause_display(self):
        """Clear the table and stop drawing while inside (e.g. for a menu).

        Updates are still recorded; plain lines produced meanwhile are held
        back and written on exit.  On exit the table is drawn from scratch
        below whatever was printed inside: moving the cursor up over the
        menu's text would overwrite it.  Nestable.
        """
        with self._write_lock:
            self._display_paused += 1
            if self._display_paused == 1 and self._live and self._started and not self._stopped:
                self._write(self._region.clear() + ansi.show_cursor())
        try:
            yield self
        finally:
            with self._write_lock:
                self._display_paused -= 1
                if self._is_drawing():
                    if self._live:
                        self._write(ansi.hide_cursor())
                        self._redraw()
                    else:
                        self._flush_plain()

    def refresh(self):
        """One tick of the refresh thread: redraw if the table text changed (live), or write held lines and a due heartbeat (plain).

        Public so tests with a fake clock can drive the monitor without
        waiting on the thread.
        """
        with self._write_lock:
            if not self._is_drawing():
                return
            if self._live:
                self._redraw()
            else:
                self._flush_plain()

    # -- helpers -------------------------------------------------------------

    def _refresh_loop(self):
        while not self._done.wait(self._refresh_seconds):
            self.refresh()

    def _is_drawing(self):
        return self._started and not self._stopped and not self._display_paused

    def _redraw(self):
        """Draw the table if its text differs from what is on screen (caller holds _write_lock).

        Comparing the rendered text covers every reason to redraw at once:
        a field changed, a running clock ticked over a second, the terminal
        was resized.
        """
        lines = self._compose()
        if lines != self._region.lines:
            self._write(self._region.draw(lines))

    def _compose(self):
        with self._lock:
            now = self._clock()
            rows = [run.row(now) for run in self._runs.values()]
        counts = _count([row.status for row in rows])
        # One column short of the terminal: a line that fills the last column
        # wraps at once on some terminals (Windows consoles), which would add
        # a row the cursor-up count does not know about.
        width = self._width or max(1, ansi.terminal_width(self._stream) - 1)
        # Taller than the screen and cursor-up cannot reach the first line:
        # every redraw would leave a copy in the scrollback.
        max_lines = max(4, ansi.terminal_height(self._stream) - 1)
        more = ""
        if len(rows) + 3 > max_lines:
            keep = max_lines - 4  # header, separator, "more" line, summary
            rows, hidden = _rows_worth_showing(rows, keep)
            more = "%s %d more run(s) not shown" % (self._ellipsis, hidden)
        lines = render_table(rows, width, self._color, self._ellipsis)
        if more:
            lines.append(ansi.truncate(more, width, self._ellipsis))
        lines.append(ansi.truncate(render_summary(counts, self._color), width, self._ellipsis))
        return [ansi.printable(self._stream, line) for line in lines]

    def _flush_plain(self):
        """Write held plain lines, then a heartbeat if one is due (caller holds _write_lock)."""
        if self._display_paused:
            return
        with self._lock:
            lines, self._pending = self._pending, []
        for line in lines:
            self._write(ansi.printable(self._stream, line) + "\n")
        self._maybe_heartbeat()

    def _maybe_heartbeat(self):
        if not self._heartbeat_seconds or self._last_heartbeat is None:
            return
        now = self._clock()
        if now - self._last_heartbeat < self._heartbeat_seconds:
            return
        rows = self.rows()
        if all(row.status in FINAL_STATES for row in rows):
            return
        self._last_heartbeat = now
        line = heartbeat_line(rows, _count([row.status for row in rows]),
                              _wall_clock_text(), self._color)
        self._write(ansi.printable(self._stream, line) + "\n")

    def _write(self, text):
        if self.write_error is not None or not text:
            return
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError) as exc:
            # OSError: EPIPE from `| head`, EIO from a closed terminal;
            # ValueError: the stream was closed.  The runs must go on (and be
            # reported in the CSV) even if nobody can watch them.
            self.write_error = exc


class LiveRegion(object):
    """The lines of the live table on screen, and the escapes to replace them.

    Modelled on Rich's LiveRender: it writes nothing itself, only remembers
    the height of the last draw so the next one can move back over it.  The
    cursor is left at the end of the last line (no trailing newline), so the
    lines to erase are the cursor's line and the height-1 above it.
    """

    def __init__(self):
        self.height = 0
        self.lines = None  # what is on screen; None when nothing is

    def draw(self, lines):
        """Text that erases the previous lines and draws *lines* in their place."""
        text = ansi.clear_lines(self.height) + "\n".join(lines)
        self.height = len(lines)
        self.lines = list(lines)
        return text

    def clear(self):
        """Text that erases the drawn lines, leaving the cursor where the first one began."""
        text = ansi.clear_lines(self.height)
        self.forget()
        return text

    def forget(self):
        """Nothing of ours is on screen any more (the final table was left behind)."""
        self.height = 0
        self.lines = None


class _RunState(object):
    """One run's fields plus its clock; only touched under the monitor's _lock."""

    def __init__(self, name):
        self.name = name
        self.status = RunStatus.WAITING
        self.result = ""
        self.phase = ""
        self.progress = None
        self.iteration = None
        self.details = ""
        self.pid = None
        self._accumulated = None  # seconds run before the current stretch; None: never ran
        self._started_at = None   # clock value when the current stretch began

    def set_status(self, status, now):
        if status in _CLOCK_RUNNING_STATES:
            if self._started_at is None:
                self._started_at = now
                if self._accumulated is None:
                    self._accumulated = 0.0
        elif self._started_at is not None:
            # PAUSED, a final state (or WAITING again): bank the stretch.
            self._accumulated += now - self._started_at
            self._started_at = None
        self.status = status

    def elapsed(self, now):
        if self._accumulated is None:
            return None
        if self._started_at is None:
            return self._accumulated
        return self._accumulated + max(0.0, now - self._started_at)

    def row(self, now):
        return RunRow(self.name, self.status, self.result, self.phase, self.progress,
                      self.iteration, self.elapsed(now), self.details, self.pid)


def _count(statuses):
    counts = collections.OrderedDict((state, 0) for state in SUMMARY_ORDER)
    for status in statuses:
        key = RunStatus.RUNNING if status == RunStatus.STARTING else status
        counts[key] = counts.get(key, 0) + 1
    return counts


def _rows_worth_showing(rows, keep):
    """The *keep* rows with most going on (active, then waiting, then done), in their original order."""
    def rank(item):
        index, row = item
        if row.status in ACTIVE_STATES:
            return (0, index)
        if row.status == RunStatus.WAITING:
            return (1, index)
        return (2, index)
    chosen = sorted(sorted(enumerate(rows), key=rank)[:max(0, keep)])
    return [row for _, row in chosen], len(rows) - len(chosen)


def _wall_clock_text():
    """Local time for plain lines: a log reader wants wall time, not seconds since start."""
    return time.strftime("%H:%M:%S")
