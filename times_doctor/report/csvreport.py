"""scan_report.csv (and beside it scan_report.html) and the summary printed at the end of a scan."""

import csv
import io

from times_doctor.proc import procgroup
from times_doctor.atomic import write_atomic
from times_doctor.gams.lst import gams_rc_meaning
from times_doctor.report.ranking import rank_rows
from times_doctor.states import RunStatus


CSV_COLUMNS = (
    "profile", "solver", "status", "model_status", "solver_status", "lp_status",
    "objective", "runtime_seconds", "iterations", "gams_rc", "gams_rc_meaning",
    "matrix_min", "matrix_max", "dir", "lst",
    # Added later, at the end, so that older scans still resume and report:
    # what each run cost (run/usage.py; runtime_seconds is its wall time) ...
    "solver_seconds", "gams_seconds", "cpu_seconds", "det_ticks", "work_units",
    "cpu_share", "load_avg", "cpus", "contended", "exclusive_node",
    # ... which profile a trial belongs to (--repeat, --confirm) ...
    "trial_of", "trial", "seed", "run_kind",
    # ... and the ranking (ranking.py): recomputed over every row at the end.
    "rank", "rank_basis", "stop_reason",
)

# Columns a scan computes over all its rows; a kept row gets them anew.
DERIVED_COLUMNS = ("rank", "rank_basis")

# A row's LstResult (not written to the CSV).
LST_KEY = "_lst"

# How a run that times-doctor ended says so in gams_rc_meaning: its exit code
# came from ending GAMS (a signal, TerminateProcess), so GAMS's table of
# return codes does not apply (Windows' TerminateProcess leaves 1, which the
# table reads as "solver is to be called").
ENDED_BY = {
    RunStatus.CANCELLED: "cancelled by times-doctor",
    RunStatus.TIMEOUT: "stopped by times-doctor at --timeout-seconds",
    RunStatus.CAPPED: "capped by times-doctor (it could no longer win: --cap/--race)",
}

# Record field -> (CSV column, format) of the figures run/usage.py records.
_TIMING_FORMATS = (("solver_seconds", "%.3f"), ("cpu_seconds", "%.3f"), ("det_ticks", "%.2f"),
                   ("work_units", "%.2f"), ("cpu_share", "%.3f"), ("load_avg", "%.2f"),
                   ("cpus", "%d"))


def report_row(profile, status, runtime_seconds=None, returncode=None, lst=None,
               work_dir="", lst_path="", meaning=None, record=None, trial=None):
    """One CSV row (a dict keyed by CSV_COLUMNS) for a run in a final state.

    *meaning*, when given, replaces the generic meaning of the return code in
    ``gams_rc_meaning``: GAMS's own reason for a licensing error, or why a
    run never started.  A run times-doctor ended says so there instead
    (rc_meaning).  The listing's whole ``LstResult`` rides along under
    ``LST_KEY`` (not a CSV column) for the HTML report and the best-so-far line.
    *record*: the run's record fields (a mapping: job_control.RECORD_FIELDS
    as the registry or the state file has them) for what the run cost;
    *trial*: a mapping with trial_of, trial, seed and kind (a PlannedRun's).
    """
    row = dict((column, "") for column in CSV_COLUMNS)
    row.update(profile=profile.name, solver=profile.solver, status=status,
               dir=work_dir, lst=lst_path)
    if record is not None:
        row.update(timing_cells(record, runtime_seconds))
    if trial is not None:
        row.update(trial_of=trial.get("trial_of") or profile.name,
                   trial=str(trial.get("trial") or 1),
                   seed="" if trial.get("seed") is None else str(trial["seed"]),
                   run_kind=trial.get("kind") or "scan")
    if runtime_seconds is not None:
        row["runtime_seconds"] = "%.3f" % runtime_seconds
    if returncode is not None:
        row["gams_rc"] = str(returncode)
    row["gams_rc_meaning"] = meaning or rc_meaning(status, returncode)
    if lst is not None:
        row[LST_KEY] = lst
        row.update(model_status=lst.model_status or "", solver_status=lst.solver_status or "",
                   lp_status=lst.lp_status or "",
                   objective=_number(lst.objective), iterations=_number(lst.iterations),
                   matrix_min=_number(lst.matrix_min), matrix_max=_number(lst.matrix_max))
    return row


def rc_meaning(status, returncode):
    """gams_rc_meaning: GAMS's meaning of its return code, or how times-doctor ended the run."""
    if status in ENDED_BY:
        if returncode is None:
            return "%s before it started" % ENDED_BY[status]
        return "%s; %s" % (ENDED_BY[status], procgroup.ended_exit_text(returncode))
    if returncode is None:
        return ""
    if status == RunStatus.INTERRUPTED:
        if returncode < 0:
            return "interrupted by times-doctor; %s" % procgroup.ended_exit_text(returncode)
        # GAMS took the interrupt and ended the job itself: its code is its own.
        return "interrupted by times-doctor; then GAMS returned: %s" % gams_rc_meaning(returncode)
    return gams_rc_meaning(returncode)


def timing_cells(record, runtime_seconds=None):
    """The CSV cells of what a run cost, from its record fields (a mapping)."""
    cells = {}
    for field, text in _TIMING_FORMATS:
        value = record.get(field)
        cells[field] = text % value if isinstance(value, (int, float)) and \
            not isinstance(value, bool) else ""
    solver = record.get("solver_seconds")
    wall = runtime_seconds if runtime_seconds is not None else record.get("elapsed_seconds")
    if isinstance(solver, (int, float)) and isinstance(wall, (int, float)):
        # From the CSV's own runtime, so that the two parts add up to it.
        cells["gams_seconds"] = "%.3f" % max(0.0, round(wall, 3) - solver)
    cells["contended"] = _yes_no(record.get("contended"))
    # Known only where a launcher can tell (SLURM: OverSubscribe); local runs: blank.
    cells["exclusive_node"] = _yes_no((record.get("launch") or {}).get("exclusive"))
    cells["stop_reason"] = record.get("stop_reason") or ""
    return cells


class CarriedRow(dict):
    """A row read from an earlier report, written back exactly as it was read.

    ``scan --resume`` keeps completed runs' rows byte for byte: render_csv()
    writes ``raw`` (the record's text, line end included) instead of
    re-rendering the fields, except that the ranking's DERIVED_COLUMNS are
    this scan's and a row of an older times-doctor gets the columns added
    since, empty.  As a dict it reads like any other row.
    *header*: the columns of the file it was read from (None: CSV_COLUMNS).
    """

    def __init__(self, fields, raw, header=None):
        dict.__init__(self, fields)
        self.raw = raw
        self.header = list(header) if header is not None else list(CSV_COLUMNS)


def render_csv(rows):
    """CSV text for *rows* (dicts), header first, in the order given."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if isinstance(row, CarriedRow):
            buffer.write(_carried_text(row))
        else:
            writer.writerow(row)
    return buffer.getvalue()


def _carried_text(row):
    """A kept row's text: its own bytes unless a derived column or a new column differs."""
    raw = row.raw if row.raw.endswith(("\n", "\r")) else row.raw + "\n"
    cells = next(csv.reader(io.StringIO(raw, newline="")), [])
    read = dict(zip(row.header, cells))
    wanted = [str(row.get(column) or "") if column in DERIVED_COLUMNS else read.get(column, "")
              for column in CSV_COLUMNS]
    if list(row.header) == list(CSV_COLUMNS) and wanted == cells:
        return raw
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(wanted)
    return buffer.getvalue()


def write_csv(path, rows):
    """Atomically (re)write scan_report.csv at *path*: a reader never sees half a file."""
    write_atomic(path, render_csv(rows))


def best_so_far(rows):
    """The row holding the best objective of those with one, or None.

    For a scan where nothing reached an optimal status: interrupted, timed
    out or stopped at a limit, some runs still hold an incumbent.  Better
    means lower unless the listing says MAXIMIZE; ties go to the faster run.
    """
    best = None
    best_key = None
    for row in rows:
        objective = _float(row.get("objective"))
        if objective is None:
            continue
        lst = row.get(LST_KEY)
        sign = -1.0 if lst is not None and lst.direction == "MAXIMIZE" else 1.0
        runtime = _float(row.get("runtime_seconds"))
        key = (sign * objective, runtime if runtime is not None else float("inf"))
        if best_key is None or key < best_key:
            best, best_key = row, key
    return best


def summary_lines(rows, ranking=None):
    """The plain-text summary table and the best-profile line (*ranking*: ranking.rank_rows')."""
    header = ("Profile", "Status", "Model status", "Objective", "Time (s)", "GAMS rc")
    table = [header]
    for row in rows:
        table.append((row["profile"], row["status"], row["model_status"], row["objective"],
                      row["runtime_seconds"], row["gams_rc"]))
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
             for line in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    ranking = ranking if ranking is not None else rank_rows(rows)
    best = ranking.entries[0] if ranking.entries else None
    if best is None:
        lines.append("No profile reached an optimal model status.")
        held = best_so_far(rows)
        if held is not None:
            lines.append("best so far: %s, %s, objective %s" % (
                held["profile"], held["status"], held["objective"]))
    else:
        lines.append("Fastest optimal profile: %s (%.3f s)" % (best.profile, best.median))
    return lines


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _yes_no(value):
    return "yes" if value is True else "no" if value is False else ""


def _number(value):
    if value is None:
        return ""
    # repr() keeps every digit of a float (153.675, not 153.7) and handles inf/nan.
    return repr(value) if isinstance(value, float) else str(value)
