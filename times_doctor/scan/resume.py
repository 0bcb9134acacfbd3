"""``scan --resume``: what the earlier scan in a folder finished, and what is left to run.

A night-long scan cut short (Ctrl+C option 3, the batch system's SIGTERM, a
reboot, profiles cancelled by hand) should not have to run its completed
profiles again.  This module reads the earlier scan's state file and CSV and
decides, per profile, one of three things:

- kept: it completed (or --cap stopped it, and this scan caps too) and its
  inputs are unchanged.  Its work directory is not touched, its CSV row is
  carried over byte for byte (report.CarriedRow).  A confirmation run
  (--confirm) of the earlier scan is kept the same way, and used if this
  scan confirms that profile again.
- run: it did not complete (failed, timeout, cancelled, interrupted, never
  started), is new, or completed with inputs that changed since (the reason
  is one line per profile).
- not asked for: it was in the earlier scan, not in this one.  Nothing of
  it is run or deleted; its row is saved beside the new report.

"Unchanged" is decided by a fingerprint recorded per run in the state file:
the driver copy as written, the option file, the GAMS command line (its
per-scan paths replaced), the GAMS executable and its version, the TIMES
source and the restart file.  A scan without ``--resume`` records it too,
so that any scan can be resumed.

Options not given again on the command line are taken from the earlier scan
(``options`` in its state file), so the line a scan prints at its end,
``times-doctor scan RUN_DIR --resume``, continues it as it was started.
The hooks into scan/scanner.py are small; everything to decide is here and pure
where it can be (decide(), describe(), the CSV reader).
"""

import calendar
import collections
import csv
import hashlib
import io
import os
import time

from times_doctor import paths
from times_doctor.gams import gamsinfo, rundir
from times_doctor.run import usage
from times_doctor.atomic import read_bytes
from times_doctor.errors import EXIT_USAGE, ParseError, UsageError
from times_doctor.report.csvreport import CarriedRow
from times_doctor.paths import read_state
from times_doctor.states import RunStatus

# ScanConfig fields a resumed scan takes from the earlier scan unless given again.
INHERITED_OPTIONS = ("gams_path", "driver", "times_src", "threads", "parallel", "max_workers",
                     "timeout_seconds", "grace_seconds", "gams_args", "launcher", "launcher_args",
                     "confirm", "repeat", "cap", "race")

# The profile set: taken over as a whole unless --solver, --profiles or --opt-dir is given.
PROFILE_OPTIONS = ("solver", "profiles", "opt_dir")

# Fingerprint components in the order a reason names them, with their words.
FINGERPRINT_LABELS = collections.OrderedDict([
    ("driver_copy", "the driver copy"),
    ("option_file", "its option file"),
    ("command", "the GAMS command line"),
    ("gams", "the GAMS executable or its version"),
    ("times_src", "the TIMES source"),
    ("restart", "the restart file"),
])

PreviousScan = collections.namedtuple(
    "PreviousScan", "out_dir scan_id document jobs report_path records")
PreviousScan.__doc__ = """The earlier scan in an output folder.

jobs: OrderedDict run name -> its job dict from the state file.
records: OrderedDict profile name -> report.CarriedRow (its CSV row, raw text kept).
"""

KeptRun = collections.namedtuple("KeptRun", "name job row")

# The earlier statuses a run can be kept with: it completed, or the scan's
# cap stopped it (it could not beat the best; running it again would not help).
KEPT_STATUSES = (RunStatus.COMPLETED, RunStatus.CAPPED)

ResumeDecision = collections.namedtuple(
    "ResumeDecision", "previous kept to_run reasons dropped optional")
ResumeDecision.__new__.__defaults__ = ((),)
ResumeDecision.__doc__ = """What a resumed scan does with each profile.

kept: OrderedDict name -> KeptRun, in profile order.
to_run: names to run, in profile order.
reasons: name -> one line, for runs that completed before and run again.
dropped: names of the earlier scan that this one does not ask for.
optional: the runs this scan may add later (--confirm's); those in kept are
    used if it does.
"""


# -- the earlier scan ----------------------------------------------------------


def load_previous(out_dir):
    """Read the earlier scan of *out_dir*: its state file and its CSV.

    Raises:
        UsageError (exit 2): no scan there, or its state file is unreadable.
    """
    path = paths.state_path(out_dir)
    if not os.path.exists(path):
        raise UsageError("nothing to resume in %s: no earlier scan there (no %s); run "
                         "`times-doctor scan` without --resume, or give the --out of the "
                         "scan to resume" % (out_dir, os.path.relpath(path, out_dir)),
                         EXIT_USAGE)
    try:
        document = read_state(path)
    except ParseError as exc:
        raise UsageError("cannot resume: %s" % exc, EXIT_USAGE)
    jobs = collections.OrderedDict()
    for job in document.get("jobs", []):
        if isinstance(job, dict) and isinstance(job.get("name"), str):
            jobs[job["name"]] = job
    report_path = paths.report_path(out_dir)
    records = read_report_records(report_path) if os.path.exists(report_path) else \
        collections.OrderedDict()
    return PreviousScan(out_dir, str(document.get("scan_id") or "?"), document, jobs,
                        report_path, records)


def read_report_records(path):
    """OrderedDict profile -> CarriedRow: each CSV row parsed, with its exact text.

    The raw text of a record is the lines the csv reader consumed for it, so
    a field holding a newline (quoted) stays one record.

    Raises:
        UsageError: the file cannot be read or is not UTF-8.
    """
    try:
        text = read_bytes(path).decode("utf-8")
    except (IOError, OSError, UnicodeDecodeError) as exc:
        raise UsageError("cannot resume: cannot read %s (%s)" % (path, exc), EXIT_USAGE)
    consumed = []

    def lines():
        # newline="" as for a file: csv sees the line ends as written.
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    records = collections.OrderedDict()
    reader = csv.reader(lines())
    header = next(reader, None)
    if not header:
        return records
    del consumed[:]
    for cells in reader:
        raw = "".join(consumed)
        del consumed[:]
        fields = dict((column, cells[index] if index < len(cells) else "")
                      for index, column in enumerate(header))
        name = fields.get("profile")
        if name:
            records[name] = CarriedRow(fields, raw, header)
    return records


def inherit_options(config, previous):
    """*config* with the options not given (None) taken from the earlier scan.

    The profile set (solver, profiles, opt_dir) is taken as a whole, and
    only when none of the three was given.
    """
    recorded = previous.document.get("options")
    if not isinstance(recorded, dict):
        recorded = _options_from_jobs(previous)
    changes = {}
    for field in INHERITED_OPTIONS:
        if getattr(config, field) is None and recorded.get(field) is not None:
            changes[field] = recorded[field]
    if all(getattr(config, field) is None for field in PROFILE_OPTIONS):
        for field in PROFILE_OPTIONS:
            changes[field] = recorded.get(field)
    return config._replace(**changes)


def scan_options(plan):
    """The options a scan ran with: in the state file for a later --resume, and in the HTML report's header.

    Resolved values where there are some (the GAMS executable, the driver,
    the TIMES source, the profile names), so that the resumed scan runs the
    same thing even from another folder or after the defaults changed.
    """
    config = plan.config
    options = dict((field, getattr(config, field)) for field in INHERITED_OPTIONS)
    options.update(gams_path=plan.gams, driver=plan.driver, times_src=plan.times_src,
                   gams_args=list(config.gams_args or []), solver=config.solver,
                   launcher=plan.launcher, launcher_args=list(config.launcher_args or []),
                   profiles=[profile.name for profile in plan.profiles],
                   opt_dir=os.path.abspath(config.opt_dir) if config.opt_dir else None)
    return options


def _options_from_jobs(previous):
    """The profile set of a state file that recorded no options (an older times-doctor)."""
    solvers = []
    for job in previous.jobs.values():
        if job.get("solver") not in solvers:
            solvers.append(job.get("solver"))
    solver = "both" if len(solvers) > 1 else (solvers[0] if solvers else None)
    return {"solver": solver, "profiles": list(previous.jobs) or None, "opt_dir": None}


# -- fingerprints --------------------------------------------------------------


def scan_fingerprint(plan):
    """The components every run of *plan* shares: GAMS, TIMES source, restart file."""
    restart = rundir.restart_file(plan.times_src) if plan.times_src else None
    return collections.OrderedDict([
        ("gams", gams_identity(plan.gams)),
        ("times_src", folder_identity(plan.times_src) if plan.times_src else ""),
        ("restart", file_identity(restart) if restart else ""),
    ])


def run_fingerprint(plan, run, shared):
    """One run's fingerprint: an OrderedDict of FINGERPRINT_LABELS' keys -> text.

    Args:
        plan: the scan.ScanPlan.
        run: its scan.PlannedRun.
        shared: scan_fingerprint(plan), computed once per scan.
    """
    command = rundir.gams_command(
        plan.gams, os.path.basename(plan.driver), plan.run_dir, plan.times_src,
        run.profile.solver, run.profile.base_name, run.log_name,
        list(plan.config.gams_args or []))
    fingerprint = collections.OrderedDict([
        ("driver_copy", "sha256:" + _sha256(rundir.driver_copy_bytes(plan.driver,
                                                                     run.profile.solver))),
        ("option_file", "sha256:" + _sha256(run.option_text.encode("utf-8",
                                                                     "surrogateescape"))),
        # The executable is the "gams" component.  Nothing else in it differs
        # from one scan to the next (the work directory is its cwd, not an argument).
        ("command", " ".join(command[1:])),
    ])
    fingerprint.update(shared)
    return fingerprint


_gams_versions = {}


def gams_identity(gams_path, grace_seconds=gamsinfo.PROBE_GRACE_SECONDS):
    """Path, content hash and release of a GAMS executable (its banner, read once per process).

    Raises:
        gamsinfo.GamsHungError: GAMS did not answer (its process tree was
            ended): a scan must not start runs of a GAMS that hangs.
    """
    real = os.path.realpath(gams_path)
    identity = file_identity(real)
    try:
        stat = os.stat(real)
        key = (real, stat.st_size, stat.st_mtime)
    except OSError:
        key = (real, None, None)
    if key not in _gams_versions:
        try:
            _, output = gamsinfo.run_banner(gams_path, grace_seconds=grace_seconds)
            release = gamsinfo.parse_banner(output).release
            _gams_versions[key] = "release %s" % (release or "unknown (no banner)")
        except gamsinfo.GamsHungError:
            raise
        except gamsinfo.GamsRunError as exc:
            _gams_versions[key] = "release unknown (%s)" % exc
    return "%s %s" % (identity, _gams_versions[key])


def file_identity(path):
    """``<real path> sha256:<content hash>`` (or ``missing``)."""
    real = os.path.realpath(path)
    digest = hashlib.sha256()
    try:
        with open(real, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (IOError, OSError):
        return "%s missing" % real
    return "%s sha256:%s" % (real, digest.hexdigest())


def folder_identity(path):
    """``<real path> sha256:<hash of its files' names and contents>`` (not recursive).

    A TIMES source folder is flat; its files are read, not their times, so
    a copy or a checkout that only touches them changes nothing.
    """
    real = os.path.realpath(path)
    digest = hashlib.sha256()
    try:
        names = sorted(os.listdir(real))
    except OSError:
        return "%s missing" % real
    for name in names:
        full = os.path.join(real, name)
        if not os.path.isfile(full):
            continue
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open(full, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except (IOError, OSError) as exc:
            digest.update(("unreadable %s" % exc).encode("utf-8", "replace"))
        digest.update(b"\0")
    return "%s sha256:%s" % (real, digest.hexdigest())


def changed_components(old, new):
    """Keys of FINGERPRINT_LABELS whose value differs between two fingerprints."""
    return [key for key in FINGERPRINT_LABELS if old.get(key) != new.get(key)]


# -- the decision ----------------------------------------------------------------


def decide(previous, names, fingerprints, optional=(), keep_capped=False):
    """Decide, per run of this scan, kept or run; pure apart from one isdir per kept run.

    Args:
        previous: the PreviousScan.
        names: this scan's run names, in profile order.
        fingerprints: name -> this scan's fingerprint of that run (of the
            *optional* runs too).
        optional: runs this scan may add later (--confirm's): kept when
            they can be, never in to_run, never dropped.
        keep_capped: this scan caps too, so a run capped before stays capped.
    """
    kept = collections.OrderedDict()
    to_run = []
    reasons = {}
    keepable = KEPT_STATUSES if keep_capped else (RunStatus.COMPLETED,)
    for name in list(names) + list(optional):
        job = previous.jobs.get(name)
        if job is None or job.get("status") not in keepable:
            if job is not None and job.get("status") == RunStatus.CAPPED and name in names:
                reasons[name] = "%s: re-run: it was capped in scan %s and this scan does not " \
                                "cap (--cap, --race)" % (name, previous.scan_id)
            if name in names:
                to_run.append(name)
            continue
        reason = _why_not_kept(previous, name, job, fingerprints[name])
        if reason is None:
            kept[name] = KeptRun(name, job, previous.records[name])
        elif name in names:
            reasons[name] = "%s: re-run: %s" % (name, reason)
            to_run.append(name)
    dropped = [name for name in previous.jobs if name not in fingerprints]
    return ResumeDecision(previous, kept, to_run, reasons, dropped, tuple(optional))


def _why_not_kept(previous, name, job, fingerprint):
    row = previous.records.get(name)
    if row is None or row.get("status") != job.get("status"):
        return "its %s row is missing from %s" % (job.get("status"), previous.report_path)
    recorded = job.get("fingerprint")
    if not isinstance(recorded, dict):
        return ("scan %s recorded no fingerprint of its inputs (an older times-doctor)"
                % previous.scan_id)
    changed = changed_components(recorded, fingerprint)
    if changed:
        words = [FINGERPRINT_LABELS[key] for key in changed]
        text = words[0] if len(words) == 1 else "%s and %s" % (", ".join(words[:-1]), words[-1])
        return "%s changed since scan %s" % (text, previous.scan_id)
    work_dir = job.get("work_dir")
    if not work_dir or not os.path.isdir(work_dir):
        return "its work directory %s is gone" % work_dir
    return None


def describe(decision, saved_report=None):
    """The lines a resumed scan prints before it starts."""
    previous = decision.previous
    later = [name for name in decision.kept if name in decision.optional]
    kept = [name for name in decision.kept if name not in decision.optional]
    lines = ["resuming scan %s: %d run(s) kept, %d to run"
             % (previous.scan_id, len(kept), len(decision.to_run))]
    for status in KEPT_STATUSES:
        names = [name for name in kept if decision.kept[name].job.get("status") == status]
        if names:
            lines.append("kept (%s, inputs unchanged): %s" % (status, ", ".join(names)))
    if later:
        lines.append("kept for the confirmation, if it runs the same profiles alone again: "
                     "%s" % ", ".join(later))
    if decision.to_run:
        lines.append("to run: %s" % ", ".join(
            "%s (%s)" % (name, _earlier_status(previous, name)) for name in decision.to_run))
    for name in decision.to_run:
        if name in decision.reasons:
            lines.append(decision.reasons[name])
    for name in decision.dropped:
        job = previous.jobs[name]
        where = "its work directory %s" % job.get("work_dir") if job.get("work_dir") \
            else "nothing on disk"
        if saved_report and name in previous.records:
            where += " and its row in %s" % saved_report
        lines.append("%s: not asked for: not run and not deleted; its results stay in %s"
                     % (name, where))
    return lines


def _earlier_status(previous, name):
    job = previous.jobs.get(name)
    if job is None:
        return "not in scan %s" % previous.scan_id
    status = job.get("status")
    if status == RunStatus.WAITING:
        return "never started"
    if status == RunStatus.COMPLETED:
        return "changed"
    return str(status)


def saved_report_name(decision):
    """Where the earlier report is copied when this scan drops or replaces a completed row, else None.

    The new report lists only this scan's profiles; the copy keeps every
    earlier row, so nothing that completed is lost.
    """
    previous = decision.previous
    completed = lambda name: (previous.records.get(name) is not None and
                              previous.records[name].get("status") == RunStatus.COMPLETED)
    if any(completed(name) for name in decision.dropped) or \
            any(completed(name) for name in decision.reasons):
        return os.path.join(os.path.dirname(previous.report_path),
                            "scan_report.%s.csv" % previous.scan_id)
    return None


# -- what the user sees around it ------------------------------------------------


def kept_display(kept):
    """(status, elapsed_seconds, fields) for the live table's row of a kept run.

    The fields are its record's as the earlier scan left them (what it cost,
    why it was capped), with "kept" in Details.
    """
    job = kept.job
    elapsed = job.get("elapsed_seconds")
    if not isinstance(elapsed, (int, float)):
        try:
            elapsed = float(kept.row.get("runtime_seconds") or "")
        except ValueError:
            elapsed = None
    status = job.get("status") if job.get("status") in KEPT_STATUSES else RunStatus.COMPLETED
    completed = status == RunStatus.COMPLETED
    fields = dict((field, job.get(field)) for field in usage.FIELDS + ("stop_reason",)
                  if job.get(field) is not None)
    fields.update(result=job.get("result") or "",
                  phase=job.get("phase") or ("done" if completed else ""),
                  progress=job.get("progress") if job.get("progress") is not None
                  else (1.0 if completed else None),
                  iteration=job.get("iteration"),
                  details="kept" if completed else "kept: %s" % (job.get("stop_reason")
                                                                 or "capped"))
    return status, elapsed, fields


def epoch_from_iso(text):
    """Seconds since the epoch from state_file.iso_time()'s text, or None."""
    if not isinstance(text, str):
        return None
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def _sha256(data):
    return hashlib.sha256(data).hexdigest()
