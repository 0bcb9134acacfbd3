"""scan_state.json: what a scan is doing, for other processes to read.

Rewritten atomically on every status and pid change (a registry listener),
and left behind with final statuses when the scan ends.  Readers (status,
reap, the dashboard) use paths.read_state(), beside the schema's name
and version (paths.SCHEMA_VERSION), which docs/files.md documents.
"""

import json
import os
import socket
import threading
import time

from times_doctor.atomic import CoalescingWriter, write_atomic
from times_doctor.job_control import RECORD_FIELDS
from times_doctor.paths import SCHEMA_NAME, SCHEMA_VERSION, iso_time

class StateFileWriter(object):
    """Keeps scan_state.json in step with a JobRegistry.

    Writes are serialised by a lock of their own (never the registry's) and
    always render the registry's current snapshot, so the file on disk is
    the latest state even when two workers change state at once.
    """

    def __init__(self, path, registry, scan_info, job_info, scanner_start_time=None):
        """Args:
            path: the state file.
            registry: the scan's JobRegistry: each job is its run's record
                (status, process, phase, progress, result, clock, ...).
            scan_info: dict of scan-level fields (run_dir, out_dir, scan_id, ...).
            job_info: dict name -> dict of static per-job fields (solver, profile, log, lst).
        """
        self.path = path
        self._registry = registry
        self._scan_info = dict(scan_info)
        self._job_info = job_info
        self._lock = threading.Lock()  # one write at a time
        self._coalesced = CoalescingWriter(self.write)
        self._finished = False
        self._exit_code = None
        self._started = time.time()
        self._scanner_start_time = scanner_start_time

    def __call__(self, _snapshot):
        """A registry listener: a status or pid changed (writes coalesce, see CoalescingWriter)."""
        self._coalesced.request()

    def finish(self, exit_code):
        """Record the scan's end and its exit code."""
        with self._lock:
            self._finished = True
            self._exit_code = exit_code
        self.write()

    def write(self):
        with self._lock:
            document = self._document()
            # No indent: json's C encoder only serves indent=None, and the
            # indented Python one cost a fifth of a once-a-second rewrite.
            write_atomic(self.path, json.dumps(document) + "\n")

    def _document(self):
        jobs = []
        for snap in self._registry.snapshot():
            job = {
                "name": snap.name,
                "status": snap.status,
                "pid": snap.pid,
                "pgid": snap.pgid,
                "sid": snap.sid,
                "os_start_time": snap.os_start_time,
                "work_dir": snap.work_dir,
                "started_at": iso_time(snap.started_at),
                "ended_at": iso_time(snap.ended_at),
                "returncode": snap.returncode,
                "cancel_requested": snap.cancel_requested,
            }
            job.update(record_fields(snap))
            job.update(self._job_info.get(snap.name, {}))
            jobs.append(job)
        document = {
            "schema": SCHEMA_NAME,
            "schema_version": SCHEMA_VERSION,
            "scanner": {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "uid": getattr(os, "getuid", lambda: None)(),
                "started_at": iso_time(self._started),
                "os_start_time": self._scanner_start_time,
            },
            "finished": self._finished,
            "exit_code": self._exit_code,
            "updated_at": iso_time(time.time()),
            "jobs": jobs,
        }
        document.update(self._scan_info)
        return document


def record_fields(snap):
    """The record's fields of one run (job_control.RECORD_FIELDS) and its clock, for JSON."""
    fields = dict((name, getattr(snap, name)) for name in RECORD_FIELDS)
    elapsed = snap.elapsed_seconds
    fields["elapsed_seconds"] = round(elapsed, 3) if elapsed is not None else None
    return fields
