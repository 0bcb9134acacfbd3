"""The launcher seam: where a scan's runs execute.

``local`` forks each run on this machine (runner.py); ``slurm`` hands the
runs to SLURM (launch_slurm.py), which starts times-doctor's task on a
compute node to run each with the same local runner.  Both write the same
run record (job_control.JobRegistry), so the scan's workers, its menu,
control requests, the state file and the report do not care which one ran a
profile.

The protocol, in the order a scan uses it (scan.Scan._start_batch):

- ``submit(specs, max_parallel, registry, timeout_seconds, grace_seconds,
  log_seconds)``: a batch of runs the scan starts at once, before any
  worker runs them.  Local: nothing to do.  SLURM: one job array
  (``--array=...%max_parallel``) for the whole batch.
- ``followers(batch_size, max_parallel)``: how many workers follow the
  batch (local: max_parallel; SLURM arrays: one per task, as SLURM does the
  throttling and a worker only waits for its task).
- ``run(spec, cancel_event, registry, ...)``, in each worker: follow one run
  to a final state (the runner's contract: a RunResult, or None when it was
  cancelled before it started).  A run not submitted in a batch is started here.
- ``close()``: after every worker, stop the launcher's threads.
"""

import threading

from times_doctor.errors import UsageError
from times_doctor.run.tail import LogPoller
from times_doctor.run.runner import POLL_SECONDS, run_gams_with_progress

LAUNCHERS = ("local", "slurm")
LAUNCHER_ENV_VAR = "TD_LAUNCHER"


def choose_launcher(value, environ):
    """The launcher name from ``--launcher`` or TD_LAUNCHER (default local).

    Raises:
        UsageError: an unknown name, or ``slurm`` without SLURM's commands on PATH.
    """
    name = (value or environ.get(LAUNCHER_ENV_VAR) or "local").strip().lower()
    if name not in LAUNCHERS:
        raise UsageError("--launcher must be one of %s, got %r (env %s)"
                         % ("|".join(LAUNCHERS), name, LAUNCHER_ENV_VAR))
    if name == "slurm":
        from times_doctor.launch import slurm as launch_slurm
        launch_slurm.check_commands(environ)
    return name


class LocalLauncher(object):
    """Runs each profile as a local process group (the default).

    Every run's log is read by one ``logtail.LogPoller`` thread, started
    with the first run and stopped by ``close()``: a worker per run waking
    to read its own log cost the scanner more than the bytes (issue 14).
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


def make_launcher(name, scan_id, threads, slurm_args, environ, batch_dir=None):
    """The launcher called *name* ("local" or "slurm") for one scan.

    *batch_dir*: where SLURM's batch manifests and sbatch output go
    (scanfiles.slurm_dir of the scan).
    """
    if name == "slurm":
        from times_doctor.launch import slurm as launch_slurm
        return launch_slurm.SlurmLauncher(scan_id, threads, slurm_args, environ,
                                          batch_dir=batch_dir)
    return LocalLauncher()
