"""The local launcher: each profile a process group on this machine (the default).

The runner (run/runner.py) does the work; this only gives the scanner the
launcher protocol (launch/table.py) around it and shares one log-reading
thread among the runs.
"""

import threading

from times_doctor.run.tail import LogPoller
from times_doctor.run.runner import POLL_SECONDS, run_gams_with_progress


def check(environ):
    """Nothing to check: this machine is always there."""


def make(scan_id, threads, launcher_args, environ, batch_dir=None):
    """The launcher for one scan (the arguments are the table's factory signature)."""
    return LocalLauncher()


class LocalLauncher(object):
    """Runs each profile as a local process group (the default).

    Every run's log is read by one ``run.tail.LogPoller`` thread, started
    with the first run and stopped by ``close()``: a worker per run waking
    to read its own log would cost the scanner more than reading the bytes.
    """

    name = "local"

    def __init__(self):
        self._lock = threading.Lock()
        self._log_poller = None

    def submit(self, specs, max_parallel, registry, timeout_seconds=0, grace_seconds=10.0,
               log_seconds=None):
        """Nothing to hand over: each run starts when a worker runs it."""

    def followers(self, batch_size, max_parallel):
        """At most max_parallel runs at once: that many workers."""
        return max(1, min(batch_size, max_parallel))

    def run(self, spec, cancel_event, registry, timeout_seconds=0, grace_seconds=10.0,
            log_seconds=None):
        """run_gams_with_progress(); a RunResult, or None if cancelled before it started."""
        return run_gams_with_progress(spec, cancel_event, registry,
                                      timeout_seconds=timeout_seconds,
                                      grace_seconds=grace_seconds, log_seconds=log_seconds,
                                      log_poller=self._poller(log_seconds))

    @staticmethod
    def run_seconds(snapshot):
        """A run's time on the clock a ranking (and --cap) uses: its own clock."""
        return snapshot.elapsed_seconds

    def close(self):
        """Stop the log poller (after every run has ended); idempotent."""
        with self._lock:
            poller, self._log_poller = self._log_poller, None
        if poller is not None:
            poller.stop()

    def _poller(self, log_seconds):
        with self._lock:
            if self._log_poller is None:
                self._log_poller = LogPoller(log_seconds or POLL_SECONDS)
            return self._log_poller
