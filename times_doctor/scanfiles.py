"""Where a scan keeps its files under its output folder OUT, and reading its state document.

Every path of a scan is joined here and nowhere else, so the scanner, the
control commands, reap, status and the dashboard can never disagree:

    OUT/times_doctor_out/scan.lock
    OUT/times_doctor_out/scan_report.csv
    OUT/times_doctor_out/scan_report.html
    OUT/times_doctor_out/best/<solver>.opt       (best.py: the winner's option file)
    OUT/times_doctor_out/scan_runs/scan_state.json
    OUT/times_doctor_out/scan_runs/requests/
    OUT/times_doctor_out/scan_runs/<solver>/<profile>/
    OUT/times_doctor_out/scan_runs/<solver>/<profile>/progress_series.jsonl (series.py)

OUT is a RUN_DIR or a scan's --out folder; normalise_out_dir() also takes
the times_doctor_out folder itself.  The state document's format (schema,
writer) is state_file.py's; what a reader takes out of it (rows for the
table, the counts, a run by name) is here.
"""

import os

from times_doctor.errors import EXIT_USAGE, UsageError
from times_doctor.render import RunRow
from times_doctor.state_file import read_state
from times_doctor.states import count_states

OUT_FOLDER = "times_doctor_out"
RUNS_FOLDER = "scan_runs"
REPORT_NAME = "scan_report.csv"
HTML_REPORT_NAME = "scan_report.html"
STATE_FILE_NAME = "scan_state.json"
LOCK_NAME = "scan.lock"
BEST_FOLDER = "best"
REQUESTS_FOLDER = "requests"
SLURM_FOLDER = "slurm"


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


def slurm_dir(out_dir):
    """SLURM job arrays' manifests (array-N.json) and sbatch's own output (slurm-A.out)."""
    return os.path.join(runs_root(out_dir), SLURM_FOLDER)


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


def rows_of(document):
    """RunRows for render_table(), one per job: the scanner's record of each run."""
    return [RunRow(name=str(job.get("name", "")), status=job.get("status", ""),
                   result=job.get("result") or "", phase=job.get("phase") or "",
                   progress=job.get("progress"), iteration=job.get("iteration"),
                   elapsed_seconds=job.get("elapsed_seconds"),
                   details=job.get("details") or "", pid=job.get("pid"))
            for job in jobs_of(document)]


def counts_of(document):
    """The summary counts of a state document (states.count_states)."""
    return count_states(job.get("status") for job in jobs_of(document))
