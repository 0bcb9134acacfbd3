"""Signal handling for the scan: handlers that only record, a pipe that wakes.

A signal handler here appends (signal number, time) to a deque and nothing
else: no printing, no locks, no killing.  The scan's main loop, and the menu
while it waits for a line, select() on the wake-up pipe that
signal.set_wakeup_fd() writes to, so they see a signal at once and do all
the I/O themselves.
"""

import collections
import os
import select
import signal
import time

from times_doctor.proc import procgroup

# Exit codes for a scan ended by a signal: 128 + the signal number, the
# shell convention, fixed here so they are the same on every platform.
EXIT_BY_SIGNAL = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}

CATCHABLE = tuple(name for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
                  if hasattr(signal, name))


class SignalCatcher(object):
    """Installs the scan's handlers; restore() puts the old ones back."""

    def __init__(self, monotonic=time.monotonic):
        self._monotonic = monotonic
        self._events = collections.deque(maxlen=64)
        self._previous = {}
        self._wake_read = None
        self._wake_write = None
        self._old_wakeup = None

    def install(self):
        for name in CATCHABLE:
            signum = getattr(signal, name)
            self._previous[signum] = signal.signal(signum, self._handler)
        if procgroup.SIGNAL_WAKEUP_PIPE:
            self._wake_read, self._wake_write = os.pipe()
            os.set_blocking(self._wake_read, False)
            os.set_blocking(self._wake_write, False)
            self._old_wakeup = signal.set_wakeup_fd(self._wake_write)
        return self

    def restore(self):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}
        if self._wake_write is not None:
            signal.set_wakeup_fd(self._old_wakeup if self._old_wakeup is not None else -1)
            os.close(self._wake_read)
            os.close(self._wake_write)
            self._wake_read = self._wake_write = None

    def _handler(self, signum, _frame):
        self._events.append((signum, self._monotonic()))

    def pop(self):
        """The oldest unhandled (signal name, time), or None."""
        try:
            signum, when = self._events.popleft()
        except IndexError:
            return None
        return signal.Signals(signum).name, when

    def wait(self, timeout, extra_fds=()):
        """Sleep up to *timeout* seconds; wake at once on a signal.

        Returns:
            The subset of *extra_fds* that became readable.
        """
        if self._events:
            return []
        fds = list(extra_fds)
        if self._wake_read is not None:
            fds.append(self._wake_read)
        if not fds:
            time.sleep(timeout)
            return []
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            return []
        if self._wake_read in readable:
            try:
                while os.read(self._wake_read, 512):
                    pass
            except BlockingIOError:
                pass  # drained: the pipe is non-blocking on purpose
            readable.remove(self._wake_read)
        return readable
