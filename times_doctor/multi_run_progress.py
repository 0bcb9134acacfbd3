"""The live table of runs on a terminal, plain lines everywhere else.

Split the way Rich splits live_render.py from term/live.py: ``live.LiveScreen``
draws the block in place and restores the cursor (shared with `status
--watch`); ``MultiRunProgressMonitor`` owns the lifecycle (start/stop,
idempotent), the locks, the refresh thread and restoring the terminal in
``finally``.  What the table looks like is term/render.py's business.

The runs' state is not kept here: every draw reads snapshots of the scan's
JobRegistry (one record per run, written by the runner), and the registry
calls the monitor after a status change for the plain line.

Two locks, always taken in this order: ``_write_lock`` (the stream, the live
region, the lifecycle flags), then ``_lock`` (the plain lines not yet
written).  ``_lock`` is never held while writing, so a runner thread whose
status change queues a line is not held up by a slow terminal.
"""

import contextlib
import sys
import threading
import time

from times_doctor.term import ansi
from times_doctor.job_control import JobRegistry
from times_doctor.term.live import LiveScreen
from times_doctor.term.render import (heartbeat_line, plain_status_line, render_summary,
                                      render_table, run_row)
from times_doctor.states import (ACTIVE_STATES, ALL_STATES, FINAL_STATES, RunStatus,
                                 count_states)

__all__ = ["RunStatus", "MultiRunProgressMonitor"]

# Fields update() accepts: RunRow's, less the name (the key) and the elapsed
# time (the record's clock keeps it).
UPDATABLE_FIELDS = ("status", "result", "phase", "progress", "iteration", "details", "pid")


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
                 refresh_seconds=0.5, heartbeat_seconds=30.0, width=None, registry=None):
        self._stream = stream if stream is not None else sys.stdout
        self._live = ansi.live_capable(self._stream) if live is None else bool(live)
        self._color = ansi.color_enabled(self._stream) if color is None else bool(color)
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._width = width
        self._ellipsis = "\u2026" if ansi.encoding_can_print(self._stream, "\u2026") else "..."

        if registry is None:
            # A table of its own (tests, the demo): a registry just for it,
            # on the same clock.  register() refuses a duplicate name.
            registry = JobRegistry(monotonic=clock)
            for name in names:
                registry.register(name)
        self._registry = registry
        self._names = frozenset(registry.names())
        self._lock = threading.Lock()  # _pending only
        self._pending = []  # plain lines not yet written, oldest first (under _lock)

        # RLock: pause_display() and message() call helpers that take it again.
        self._write_lock = threading.RLock()
        self._screen = LiveScreen(self._write)
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
        registry.add_listener(self._status_changed, status_only=True)

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
                self._screen.start()
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
                    self._screen.stop()

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
        """Write fields of run *name* (any of UPDATABLE_FIELDS) into its registry record.

        A convenience for a table without a runner (tests, the demo): the
        fields go to the registry first, then a ``status`` goes through the
        registry's checked transition (a status equal to the current one
        changes nothing), so a plain line shows the new fields.

        Raises:
            KeyError: *name* is not a run of this monitor.
            TypeError: a field that is not in UPDATABLE_FIELDS.
            ValueError: a status that is not a states.RunStatus value.
            InvalidTransition: a status the run cannot move to.
        """
        unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
        if unknown:
            raise TypeError("update() got unknown field(s): %s" % ", ".join(unknown))
        if name not in self._names:
            raise KeyError(name)
        status = fields.pop("status", None)
        if status is not None and status not in ALL_STATES:
            raise ValueError("unknown run status %r" % (status,))
        pid = fields.pop("pid", None)
        if pid is not None:
            self._registry.attach_process(name, pid)
        if fields:
            self._registry.update(name, **fields)
        if status is not None and status != self._registry.get(name).status:
            self._registry.set_status(name, status)

    def set_status(self, name, status):
        """Move run *name* to *status* (see update())."""
        self.update(name, status=status)

    def set_pid(self, name, pid):
        self.update(name, pid=pid)

    def rows(self):
        """A snapshot of every run as RunRow, elapsed time as of now."""
        return [row_of(snap) for snap in self._registry.snapshot()]

    def summary_counts(self):
        """OrderedDict state -> number of runs, in states.SUMMARY_ORDER (states.count_states)."""
        return count_states(snap.status for snap in self._registry.snapshot())

    def all_completed(self):
        """True when every run is in a final state (CANCELLED counts)."""
        return self._registry.all_final()

    def _status_changed(self, snap):
        """Registry listener (after its lock is released): one plain line per status change."""
        if self._live:
            return
        with self._lock:
            # The lifecycle flags belong to _write_lock, but taking it here
            # would invert the lock order; a plain read is enough, as a
            # line queued at the very edge of start/stop is harmless.
            if not (self._started and not self._stopped):
                return
            self._pending.append(plain_status_line(row_of(snap), _wall_clock_text(),
                                                   self._color))
        with self._write_lock:
            if self._started and not self._stopped:
                self._flush_plain()

    # -- output --------------------------------------------------------------

    def message(self, text):
        """Print *text* above the live table (which is then redrawn), or as a plain line."""
        with self._write_lock:
            text = ansi.printable(self._stream, text)
            if self._live and self._is_drawing():
                self._screen.write_above(text)
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
                self._screen.suspend()
        try:
            yield self
        finally:
            with self._write_lock:
                self._display_paused -= 1
                if self._is_drawing():
                    if self._live:
                        self._screen.start()
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
        self._screen.draw(self._compose())

    def _compose(self):
        rows = self.rows()
        counts = count_states(row.status for row in rows)
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
        line = heartbeat_line(rows, count_states(row.status for row in rows),
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


def row_of(snap):
    """The table row of one registry record (a job_control.JobSnapshot)."""
    return run_row(snap._asdict())


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
