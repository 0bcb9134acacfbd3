"""Where a scan keeps its files under its output folder OUT, and reading its state document.

Every path of a scan is joined here and nowhere else, so the scanner, the
control commands, reap, status and the dashboard can never disagree:

    OUT/times_doctor_out/scan.lock
    OUT/times_doctor_out/scan_report.csv
    OUT/times_doctor_out/scan_report.html
    OUT/times_doctor_out/best/<solver>.opt       (report/best.py: the winner's option file)
    OUT/times_doctor_out/scan_runs/scan_state.json
    OUT/times_doctor_out/scan_runs/requests/
    OUT/times_doctor_out/scan_runs/<solver>/<profile>/
    OUT/times_doctor_out/scan_runs/<solver>/<profile>/progress_series.jsonl (run/series.py)

OUT is a RUN_DIR or a scan's --out folder; normalise_out_dir() also takes
the times_doctor_out folder itself.  The state document's schema and its
reader are here (``read_state``, ``load_state``, ``jobs_of``, ``find_job``,
``counts_of``): every process that reads a scan reads it through them; the
writer is scan/state_file.py, the one row builder term/render.run_row.
"""

import json
import os
import time

from times_doctor.atomic import read_bytes
from times_doctor.errors import EXIT_USAGE, ParseError, UsageError
from times_doctor.states import count_states

SCHEMA_NAME = "times-doctor/scan-state"
# 2: a run's launcher facts are one "launch" object (version 1 had eight
# slurm_* keys per job and options.slurm_args); read_state reads both.
SCHEMA_VERSION = 2
# Version 1's per-job keys, and the "launch" keys they became.
_V1_SLURM_KEYS = (("slurm_job_id", "job_id"), ("slurm_step_id", "step_id"),
                  ("slurm_job_name", "job_name"), ("slurm_mode", "mode"),
                  ("slurm_node", "node"), ("slurm_task_pid", "task_pid"),
                  ("slurm_exclusive", "exclusive"), ("slurm_run_seconds", "run_seconds"))


def iso_time(epoch_seconds):
    """UTC ISO-8601 with seconds, or None."""
    if epoch_seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


OUT_FOLDER = "times_doctor_out"
RUNS_FOLDER = "scan_runs"
REPORT_NAME = "scan_report.csv"
HTML_REPORT_NAME = "scan_report.html"
STATE_FILE_NAME = "scan_state.json"
LOCK_NAME = "scan.lock"
BEST_FOLDER = "best"
REQUESTS_FOLDER = "requests"


# -- paths -----------------------------------------------------------------------


def normalise_out_dir(folder):
    """The absolute folder holding ``times_doctor_out/`` for a RUN_DIR, --out or times_doctor_out path."""
    folder = os.path.abspath(folder)
    if os.path.basename(folder) == OUT_FOLDER:
        return os.path.dirname(folder)
    return folder


def out_root(out_dir):
    """OUT/times_doctor_out: everything a scan writes is inside it."""
    return os.path.join(os.path.abspath(out_dir), OUT_FOLDER)


def runs_root(out_dir):
    return os.path.join(out_root(out_dir), RUNS_FOLDER)


def report_path(out_dir):
    return os.path.join(out_root(out_dir), REPORT_NAME)


def html_report_path(out_dir):
    return os.path.join(out_root(out_dir), HTML_REPORT_NAME)


def best_dir(out_dir):
    """OUT/times_doctor_out/best: the best profile's option file of each solver."""
    return os.path.join(out_root(out_dir), BEST_FOLDER)


def lock_path(out_dir):
    return os.path.join(out_root(out_dir), LOCK_NAME)


def state_path(out_dir):
    return os.path.join(runs_root(out_dir), STATE_FILE_NAME)


def requests_dir(out_dir):
    return os.path.join(runs_root(out_dir), REQUESTS_FOLDER)


def launch_dir(out_dir, launcher):
    """A launcher's own files (SLURM: its arrays' manifests and sbatch's output): scan_runs/<launcher>."""
    return os.path.join(runs_root(out_dir), launcher)


def work_dir(out_dir, solver, profile_name):
    """One profile's work directory: OUT/times_doctor_out/scan_runs/<solver>/<profile>."""
    return os.path.join(runs_root(out_dir), solver, profile_name)


def out_root_of_state(path):
    """The times_doctor_out folder a state file lies in."""
    return os.path.dirname(os.path.dirname(path))


# -- the state document ------------------------------------------------------------


def require_state_file(out_dir, error=UsageError):
    """The state file of the scan in *out_dir*; raises *error* (exit 2) when there is none."""
    path = state_path(out_dir)
    if not os.path.exists(path):
        raise error("no scan at %s (no %s): give the scan's RUN_DIR or its --out folder"
                    % (out_dir, os.path.relpath(path, out_dir)), EXIT_USAGE)
    return path


def read_state(path):
    """Parse a state file; raises ParseError with a one-line reason."""
    try:
        raw = read_bytes(path, 16 * 1024 * 1024)
    except (IOError, OSError) as exc:
        raise ParseError("cannot read %s: %s" % (path, exc.strerror or exc))
    try:
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("%s is not valid JSON (%s): it may come from another tool" % (path, exc))
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise ParseError("%s is not a times-doctor state file" % path)
    version = document.get("schema_version")
    if version == 1:
        return upgrade_v1(document)
    if version != SCHEMA_VERSION:
        raise ParseError("%s has schema version %r; this times-doctor reads 1 to %d" % (
            path, version, SCHEMA_VERSION))
    return document


def upgrade_v1(document):
    """A version 1 state document as version 2 (in place; returned).

    A job's slurm_* keys become its ``launch`` object (launcher "slurm"; a
    job without them ran locally: None); options.slurm_args becomes
    options.launcher_args.  Whoever writes the document back writes version 2.
    """
    for job in document.get("jobs") or []:
        if not isinstance(job, dict):
            continue
        launch = dict((new, job.pop(old)) for old, new in _V1_SLURM_KEYS if old in job)
        launch = dict((key, value) for key, value in launch.items() if value is not None)
        job["launch"] = dict(launch, launcher="slurm") if launch else None
    options = document.get("options")
    if isinstance(options, dict) and "slurm_args" in options:
        options["launcher_args"] = options.pop("slurm_args")
    document["schema_version"] = SCHEMA_VERSION
    return document


def load_state(out_dir):
    """The state document of the scan in *out_dir*.

    Raises:
        UsageError: there is no scan there (no state file).
        ParseError: the file is not a readable times-doctor state file.
    """
    return read_state(require_state_file(out_dir))


def jobs_of(document):
    """The job objects of a state document (anything else in the list is skipped)."""
    return [job for job in document.get("jobs") or [] if isinstance(job, dict)]


def find_job(document, name):
    """The job named *name*, or None."""
    for job in jobs_of(document):
        if job.get("name") == name:
            return job
    return None


def counts_of(document):
    """The summary counts of a state document (states.count_states)."""
    return count_states(job.get("status") for job in jobs_of(document))


# -- paths on a command line -------------------------------------------------------

def resume_hint(run_dir, out_dir):
    """The command that continues a scan, for its last line."""
    words = ["times-doctor", "scan", quote_path(run_dir), "--resume"]
    if os.path.abspath(out_dir) != os.path.abspath(run_dir):
        words.extend(["--out", quote_path(out_dir)])
    return " ".join(words)


def quote_path(path):
    """*path* as a command line shows it: as it is, or in double quotes."""
    # Double quotes read the same in sh and cmd for an ordinary path with spaces.
    safe = all(ch.isalnum() or ch in "/\\:._-+@%,=" for ch in path)
    return path if safe else '"%s"' % path
