"""``times-doctor check`` and the scan's preflight: find in a second what would spoil hours.

An expired licence, a solver GAMS cannot run or a mistyped option shows up
today only inside GAMS's log, after every profile was tried (or ran for
hours with the default algorithm).  The checks here ask GAMS itself:

* GAMS: ``gams`` with no arguments (gamsinfo.run_banner): release, date,
  system directory;
* Licence: the banner's licence lines: file, first line, demo/community,
  the time limit and the maintenance date a release needs;
* Solvers: a one-variable LP solved through GAMS with each solver of the
  chosen profiles (gamsinfo.run_probe): rc 0 and model status 1, else
  GAMS's own reason;
* Profiles: every option line against ``<system dir>/opt<solver>.def``
  of the user's own GAMS (optdef);
* Run directory and Machine (``check`` only): driver, TIMES source,
  restart file, includes; CPUs, memory, workers, output folder, disk,
  process control.

Each check yields ``CheckItem`` rows (``checklist``: the row type and its
renderings); ``check`` prints them as a checklist or a JSON document (``times-doctor/check``, schema version 1, see docs/files.md),
and ``preflight()`` turns the first four sections' errors into one
``PreflightError`` before a scan creates anything.

Why over 500 lines: each check is short, but the checks share one order
(what the checklist shows first, what the preflight refuses first) and one
set of words; the row type and its renderings are already in checklist.py.
"""

import datetime
import io
import json
import os
import shutil
import sys

from times_doctor.gams import gamsinfo, rundir
from times_doctor.proc import procgroup
from times_doctor.solvers import optdef, profiles, table as solvers
from times_doctor.term import ansi
from times_doctor.scan.checklist import (ERROR, OK, SYMBOLS, WARNING, CheckItem, document,
                                         exit_code, render_lines, worst_status)
from times_doctor.errors import GamsNotFoundError, ParseError, RunDirError, UsageError, os_reason

# A time-limited licence this close to its end gets a warning.
LICENCE_WARNING_DAYS = 14
# Less free space than this under the output folder gets a warning.
LOW_DISK_BYTES = 1024 ** 3


class PreflightError(UsageError):
    """The scan's preflight refused, in one line: the first problem and its fix.

    With more than one problem, or a problem in an option file, the line
    says how many more there are and that ``times-doctor check`` lists them.

    Attributes:
        items: the CheckItems (status ERROR) that caused it.
        problems: one line per problem (option-file lines GAMS ignores, and
            every other ERROR item), the first one first.
    """

    def __init__(self, items):
        self.items = items
        self.problems = [line for item in items for line in _problem_lines(item)]
        first = self.problems[0] if self.problems else "the preflight found a problem"
        more = len(self.problems) - 1
        in_options = any(item.data.get("findings") for item in items)
        if more:
            first += " (and %d more problem%s: times-doctor check with the same options " \
                     "lists them)" % (more, "" if more == 1 else "s")
        elif in_options:
            first += " (times-doctor check with the same options lists every finding)"
        UsageError.__init__(self, first)


# The kinds of line preflight() returns besides a refusal: a note (an option
# file line GAMS reads, e.g. one --threads replaces) and a warning.
NOTE = "note"


def preflight(plan, allow_unknown_options=False, today=None):
    """Check GAMS, its licence, the solvers and the option files of a planned scan.

    Runs before the scan creates anything.  Solvers are tried only when GAMS
    and its licence passed: an expired licence is one line, not one per solver.
    Only what would make a run fail, or a line GAMS would ignore, refuses.

    Returns:
        (kind, line) for the user, kind WARNING or NOTE (the scan goes on).

    Raises:
        PreflightError: something would make every run fail or ignore an option.
    """
    items = _gams_side_items(plan.gams, list(plan.profiles),
                             plan.config.gams_args, plan.threads, allow_unknown_options,
                             today, grace_seconds=plan.grace_seconds)
    errors = [item for item in items if item.status == ERROR]
    if errors:
        raise PreflightError(errors)
    # A def file GAMS does not ship is the check command's news, not a
    # warning before every scan.  Notes come from profiles that pass, too.
    return [line for item in items if not item.name.startswith("profiles:")
            for line in _preflight_lines(item)]


def run_check(config, today=None, cpu_count=None):
    """Every check for ``times-doctor check``; returns the CheckItems in order.

    Raises:
        UsageError: bad input (option values, unknown profiles, a RUN_DIR
            that is not a folder): the check itself cannot run.
    """
    from times_doctor.scan.plan import (cap_factor, choose_max_workers, non_negative_float,
                                        positive_int)
    threads = positive_int(config.threads, "--threads")
    positive_int(config.repeat or 1, "--repeat")
    positive_int(config.confirm or 0, "--confirm", allow_zero=True)
    if config.cap not in (None, ""):
        cap_factor(config.cap)
    max_workers = (positive_int(config.max_workers, "--max-workers")
                   if config.max_workers not in (None, "") else None)
    grace_seconds = non_negative_float(config.grace_seconds, "--grace-seconds")
    run_dir = None
    if config.run_dir:
        run_dir = os.path.abspath(config.run_dir)
        if not os.path.isdir(run_dir):
            raise UsageError("RUN_DIR %s is not a folder: give the folder that holds the "
                             "model's .run/.gms file" % config.run_dir)
    chosen = profiles.resolve_profiles(config.solver, config.profiles, config.opt_dir)
    try:
        gams = rundir.resolve_gams(config.gams_path)
    except GamsNotFoundError as error:
        gams = None
        # ": " (not ":"): a Windows path has a colon of its own (C:\GAMS).
        missing = CheckItem("gams", "gams", ERROR, str(error).split(": ")[0],
                            _after_colon(str(error)), {"path": config.gams_path})
    items = []
    if gams is None:
        items.append(missing)
    else:
        items.extend(_gams_side_items(gams, chosen, config.gams_args, threads,
                                      config.allow_unknown_options, today, everything=True,
                                      grace_seconds=grace_seconds))
    out_dir = os.path.abspath(config.out) if config.out else run_dir
    if run_dir is not None:
        items.extend(_run_dir_items(run_dir, config.driver, config.times_src))
    workers = choose_max_workers(config.parallel, max_workers, len(chosen), threads, cpu_count)
    items.extend(_machine_items(out_dir, threads, workers, cpu_count))
    return items


def run_check_command(config, as_json=False, stdout=None, environ=None):
    """``times-doctor check``: print the checklist (or JSON); returns the exit code."""
    stdout = stdout or sys.stdout
    items = run_check(config)
    if as_json:
        stdout.write(json.dumps(document(items), indent=2) + "\n")
    else:
        color = ansi.color_enabled(stdout, no_color_flag=config.no_color, environ=environ)
        unicode_ok = ansi.encoding_can_print(stdout, "".join(SYMBOLS.values()))
        for line in render_lines(items, color=color, unicode_ok=unicode_ok):
            stdout.write(line + "\n")
    stdout.flush()
    return exit_code(items)


# -- GAMS, licence, solvers, profiles ------------------------------------------


def _gams_side_items(gams, chosen, gams_args, threads, allow_unknown, today,
                     everything=False, grace_seconds=gamsinfo.PROBE_GRACE_SECONDS):
    """The checks the preflight shares with ``check``.

    With *everything* False (the preflight), only what can go wrong is
    reported in full; with True, solvers are tried even after a licence
    warning and every profile gets a line.  GAMS runs get *grace_seconds*
    between TERM and KILL when they do not answer in time.
    """
    today = today or datetime.date.today()
    try:
        returncode, output = gamsinfo.run_banner(gams, grace_seconds=grace_seconds)
    except gamsinfo.GamsHungError as error:
        return [_hung_item("gams", "gams", error, {"path": gams})]
    except gamsinfo.GamsRunError as error:
        return [CheckItem("gams", "gams", ERROR, "GAMS %s did not run: %s" % (gams, error),
                          "check the installation, or pass another one with --gams-path",
                          {"path": gams})]
    banner = gamsinfo.parse_banner(output)
    items = [_gams_item(gams, banner, returncode, output)]
    if items[0].status == ERROR:
        return items
    licence = _licence_item(banner, gams_args, today)
    items.append(licence)
    solvers = []
    for profile in chosen:
        if profile.solver not in solvers:
            solvers.append(profile.solver)
    if licence.status != ERROR:
        for solver in solvers:
            items.append(_solver_item(gams, solver, gams_args, grace_seconds))
            if items[-1].data.get("hung"):
                break  # the next solver's probe would wait as long again
    items.extend(_profile_items(chosen, banner.system_dir, threads, allow_unknown, everything))
    return items


def _gams_item(gams, banner, returncode, output):
    data = {"path": gams, "release": banner.release, "version": banner.version,
            "release_date": _iso(banner.release_date), "system_dir": banner.system_dir}
    if banner.release is None or banner.system_dir is None:
        last = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
        return CheckItem("gams", "gams", ERROR,
                         "%s printed no GAMS release banner (rc %s; last line: %s)"
                         % (gams, returncode, last[0].strip()[:200]),
                         "check that --gams-path is GAMS's own gams executable", data)
    released = " released %s," % gamsinfo.format_date(banner.release_date) \
        if banner.release_date else ""
    return CheckItem("gams", "gams", OK, "GAMS %s,%s %s (system directory %s)"
                     % (banner.release, released, gams, banner.system_dir), None, data)


def _licence_item(banner, gams_args, today):
    override = gamsinfo.licence_arguments(gams_args)
    first = banner.licence_lines[0] if banner.licence_lines else None
    data = {"file": banner.licence_file, "first_line": first, "kind": banner.licence_kind,
            "time_limit": _iso(banner.time_limit_date), "expired": banner.time_limit_expired,
            "days_left": None, "maintenance_date": _iso(banner.maintenance_date),
            "from_gams_arg": None}
    needs = ""
    if banner.maintenance_date:
        needs = "; this release needs a maintenance date later than %s" \
            % gamsinfo.format_date(banner.maintenance_date)
    if override:
        path = override[-1].split("=", 1)[1]
        data.update(file=path, from_gams_arg=override[-1], first_line=_first_line(path),
                    kind=None, time_limit=None, expired=None)
        return CheckItem("licence", "licence", OK,
                         "licence from --gams-arg %s: \"%s\" (GAMS prints the time limit of "
                         "its default licence only: the solver check below uses this one)"
                         % (override[-1], data["first_line"] or "?"), None, data)
    shown = "%s, \"%s\"%s" % (banner.licence_file or "no licence file printed", first or "",
                             " (%s licence)" % banner.licence_kind if banner.licence_kind
                             else "")
    date = banner.time_limit_date
    if date is not None:
        data["days_left"] = (date - today).days
    if banner.time_limit_expired or (date is not None and date <= today):
        when = gamsinfo.format_date(date) if date else "an earlier date"
        data["expired"] = True
        return CheckItem("licence", "licence", ERROR,
                         "GAMS licence stopped working on %s (%s)" % (when, banner.licence_file),
                         "install a valid licence, or pass one with --gams-arg license=FILE",
                         data)
    if date is not None:
        days = data["days_left"]
        text = "%s: time-limited, stops working on %s (%d day%s left)%s" % (
            shown, gamsinfo.format_date(date), days, "" if days == 1 else "s", needs)
        if days < LICENCE_WARNING_DAYS:
            return CheckItem("licence", "licence", WARNING, text,
                             "renew the licence before %s" % gamsinfo.format_date(date), data)
        return CheckItem("licence", "licence", OK, text, None, data)
    if banner.licence_file is None:
        return CheckItem("licence", "licence", WARNING, "GAMS printed no licence file",
                         "run gams with no arguments to see which licence it uses", data)
    return CheckItem("licence", "licence", OK, "%s: no time limit printed%s" % (shown, needs),
                     None, data)


def _hung_item(section, name, error, data):
    """A GAMS run that did not answer: the finding's line, and what to look at."""
    data = dict(data, hung=True, survivors=error.survivors)
    return CheckItem(section, name, ERROR, str(error),
                     "check the licence server or whatever GAMS waits for (run gams by "
                     "hand), or allow it longer with %s=SECONDS"
                     % gamsinfo.PROBE_TIMEOUT_ENV_VAR, data)


def _solver_item(gams, solver, gams_args, grace_seconds):
    label = solvers.get(solver).label
    name = "solver:%s" % solver
    try:
        probe = gamsinfo.run_probe(gams, solver, gams_args, grace_seconds=grace_seconds)
    except gamsinfo.GamsHungError as error:
        return _hung_item("solvers", name, error, {"solver": solver})
    except gamsinfo.GamsRunError as error:
        return CheckItem("solvers", name, ERROR, "%s: GAMS did not run the test LP: %s"
                         % (label, error), "run gams by hand on a small model", {})
    data = {"returncode": probe.returncode, "model_status": probe.model_status,
            "solver_status": probe.solver_status, "reason": probe.reason,
            "seconds": round(probe.seconds, 3)}
    if probe.returncode == 0 and gamsinfo.status_is(probe.model_status, 1):
        return CheckItem("solvers", name, OK, "%s solved a one-variable LP through GAMS "
                         "(model status %s, %.2f s)" % (label, probe.model_status,
                                                        probe.seconds), None, data)
    from times_doctor.gams.lst import gams_rc_meaning
    reason = probe.reason or "GAMS rc %s (%s)" % (probe.returncode,
                                                 gams_rc_meaning(probe.returncode))
    statuses = ""
    if probe.model_status or probe.solver_status:
        statuses = " (model status %s, solver status %s)" % (probe.model_status or "-",
                                                            probe.solver_status or "-")
    fix = "install a GAMS licence that includes %s, or choose another --solver" % label
    if probe.returncode not in (0, 7):
        fix = "run gams on a small model with lp=%s and read its log" % solver
    return CheckItem("solvers", name, ERROR, "%s cannot solve through GAMS: %s%s"
                     % (label, reason, statuses), fix, data)


def _profile_items(chosen, system_dir, threads, allow_unknown, everything):
    items = []
    defs_by_solver = {}
    for profile in chosen:
        if profile.solver in defs_by_solver:
            continue
        if system_dir is None:
            defs = "GAMS printed no system directory"
            path = None
        else:
            path = optdef.def_file_path(system_dir, profile.solver)
            defs = _load_defs(path)
        defs_by_solver[profile.solver] = defs
        if isinstance(defs, str):
            # One line per solver: say so and skip, as the def file is GAMS's to ship.
            names = [each.name for each in chosen if each.solver == profile.solver]
            items.append(CheckItem(
                "profiles", "profiles:%s" % profile.solver, WARNING,
                "%s options not checked (%s): %s" % (solvers.get(profile.solver).label,
                                                      ", ".join(names), defs),
                None, {"solver": profile.solver, "def_file": path, "profiles": names}))
    for profile in chosen:
        defs = defs_by_solver[profile.solver]
        if isinstance(defs, str):
            continue
        name = "profile:%s" % profile.name
        where = profile.source if profile.source != profiles.BUILTIN_SOURCE \
            else "built-in profile %s" % profile.base_name
        path = defs.path
        data = {"profile": profile.name, "solver": profile.solver, "source": profile.source,
                "def_file": path, "findings": []}
        threads_line = "%s %d" % (profiles.threads_keyword(profile.solver), threads)
        findings = optdef.check_option_lines(profile.lines, defs,
                                             solvers.get(profile.solver).label, threads_line)
        data["notes"] = sum(1 for finding in findings if finding.severity == optdef.WARNING)
        data["findings"] = [{"line": finding.line, "severity": _demoted(finding.severity,
                                                                        allow_unknown),
                             "option": finding.name, "message": finding.message,
                             "code": finding.code,
                             "ignored_by_gams": finding.severity == optdef.ERROR}
                            for finding in findings]
        data["_where"] = where
        data["findings_text"] = ["%s:%d: %s%s" % (where, finding.line, "" if finding.severity
                                                  == optdef.ERROR else "note: ",
                                                  finding.message)
                                 for finding in findings]
        # Notes (a line GAMS reads) are shown, but leave the profile OK.
        worst = worst_status(ERROR if finding["severity"] == optdef.ERROR else WARNING
                             for finding in data["findings"] if finding["ignored_by_gams"])
        if worst == OK and not everything and not data["notes"]:
            continue
        count = len(profile.lines)
        text = "%s: %s checked against %s" % (profile.name, "%d line%s" % (
            count, "" if count == 1 else "s"), path)
        fix = None
        if worst == ERROR:
            fix = ("correct the lines above, or pass --allow-unknown-options to run anyway "
                   "(GAMS ignores each such line and the solver uses its default)")
        items.append(CheckItem("profiles", name, worst, text, fix, data))
    return items


def _demoted(severity, allow_unknown):
    """--allow-unknown-options: every option-file error becomes a warning."""
    return optdef.WARNING if allow_unknown else severity


def _load_defs(path):
    """OptionDefs, or a sentence saying why there are none (the check is skipped)."""
    if not os.path.isfile(path):
        return "no %s in the GAMS system directory" % os.path.basename(path)
    try:
        return optdef.read_def_file(path)
    except ParseError as error:
        return str(error)


def _preflight_lines(item):
    """(kind, line) of a scan's preflight for an item that does not refuse it."""
    findings = item.data.get("findings")
    if findings:
        # A line GAMS ignores that --allow-unknown-options lets pass is a warning;
        # a line GAMS reads (set again, deprecated, replaced by --threads) a note.
        return [(WARNING if finding["ignored_by_gams"] else NOTE, "%s:%d: %s" % (
            item.data["_where"], finding["line"], finding["message"])) for finding in findings]
    if item.status != WARNING:
        return []
    return [(WARNING, "%s%s" % (item.text, ": %s" % item.fix if item.fix else ""))]


# -- run directory and machine ---------------------------------------------------


def _run_dir_items(run_dir, driver_arg, times_src_arg):
    items = []
    try:
        driver, why = rundir.choose_driver(run_dir, driver_arg)
    except RunDirError as error:
        return [CheckItem("run_dir", "run_dir:driver", ERROR, str(error).split(": ")[0],
                          _after_colon(str(error)), {"run_dir": run_dir})]
    items.append(CheckItem("run_dir", "run_dir:driver", OK, "driver %s: %s" % (driver, why),
                           None, {"driver": driver, "why": why}))
    try:
        times_src, why = rundir.choose_times_src(run_dir, times_src_arg)
    except RunDirError as error:
        items.append(CheckItem("run_dir", "run_dir:times_src", ERROR, str(error).split(": ")[0],
                               _after_colon(str(error)), {}))
        return items
    items.append(CheckItem("run_dir", "run_dir:times_src", OK,
                           "TIMES source %s: %s" % (times_src, why) if times_src
                           else "no TIMES source: %s" % why, None,
                           {"times_src": times_src, "why": why}))
    if times_src is not None:
        restart = rundir.restart_file(times_src)
        items.append(CheckItem(
            "run_dir", "run_dir:restart", OK,
            "%s found: runs restart from it (r=)" % restart if restart else
            "no %s in the TIMES source: each run compiles TIMES itself"
            % rundir.RESTART_FILE_NAME, None, {"restart": restart}))
    search = [run_dir] + ([times_src] if times_src else [])
    missing, unchecked = rundir.missing_includes(driver, search)
    data = {"missing": [{"line": line, "name": name} for line, name in missing],
            "unchecked": unchecked, "include_path": search}
    note = " (%d named with %%variables%%, not checked)" % unchecked if unchecked else ""
    if missing:
        items.append(CheckItem(
            "run_dir", "run_dir:includes", ERROR, "includes not found on the include path "
            "(%s): %s%s" % (", ".join(search), ", ".join("%s (line %d)" % (name, line)
                                                         for line, name in missing), note),
            "put them into RUN_DIR, or name the TIMES source with --times-src", data))
    else:
        items.append(CheckItem("run_dir", "run_dir:includes", OK, "every include the driver "
                               "names is on the include path%s" % note, None, data))
    return items


def _machine_items(out_dir, threads, workers, cpu_count):
    items = []
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    items.append(CheckItem("machine", "machine:cpus", OK, "%d CPUs (%d usable by this "
                           "process)" % (cpus, usable), None, {"cpus": cpus, "usable": usable}))
    total, available = _memory_bytes()
    if total is None:
        items.append(CheckItem("machine", "machine:memory", OK, "memory: not known on this "
                               "platform", None, {"total_bytes": None, "available_bytes": None}))
    else:
        items.append(CheckItem("machine", "machine:memory", OK, "memory %s%s" % (
            _gib(total), ", %s available" % _gib(available) if available is not None else ""),
            None, {"total_bytes": total, "available_bytes": available}))
    count, why = workers
    status, fix = OK, None
    if count * threads > usable:
        status = WARNING
        fix = ("lower --threads: %d threads is more than the %d CPUs" % (threads, usable)
               if count == 1 else "lower --max-workers or --threads: %d runs x %d threads "
               "is more than the %d CPUs" % (count, threads, usable))
    items.append(CheckItem("machine", "machine:workers", status, "max-workers %d: %s"
                           % (count, why), fix, {"max_workers": count, "why": why,
                                                 "threads": threads}))
    if out_dir is None:
        return items + [_process_control_item()]
    try:
        rundir.validate_out_dir(out_dir)
        items.append(CheckItem("machine", "machine:out_dir", OK, "output folder %s is "
                               "writable" % out_dir, None, {"out_dir": out_dir}))
    except RunDirError as error:
        items.append(CheckItem("machine", "machine:out_dir", ERROR, str(error).split(": ")[0],
                               _after_colon(str(error)), {"out_dir": out_dir}))
    probe = out_dir
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        free = shutil.disk_usage(probe).free
    except OSError as error:
        items.append(CheckItem("machine", "machine:disk", WARNING, "free disk under %s: not "
                               "known (%s)" % (probe, os_reason(error)), None,
                               {"free_bytes": None}))
    else:
        low = free < LOW_DISK_BYTES
        items.append(CheckItem("machine", "machine:disk", WARNING if low else OK,
                               "%s free under %s" % (_gib(free), probe),
                               "free some space: listings and logs of a TIMES model can take "
                               "gigabytes" if low else None, {"free_bytes": free}))
    items.append(_process_control_item())
    return items


def _process_control_item():
    available, text = procgroup.current().control_report()
    return CheckItem("machine", "machine:process_control", OK if available else ERROR,
                     "process control: %s" % text,
                     None if available else "cancelling a scan could leave solver "
                     "processes behind: run on Linux or macOS", {"available": available})


def _memory_bytes():
    """(total, available) bytes: /proc/meminfo, else sysconf; (None, None) if neither."""
    try:
        with io.open("/proc/meminfo", "rb") as handle:
            fields = {}
            for line in handle.read(65536).decode("ascii", "replace").splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
        if "MemTotal" in fields:
            return fields["MemTotal"], fields.get("MemAvailable")
    except OSError:
        pass  # not Linux: sysconf below
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), None
    except (AttributeError, ValueError, OSError):
        return None, None


# -- small helpers ---------------------------------------------------------------


def _problem_lines(item):
    """The problems of a refusing item, one line each (notes are not problems)."""
    findings = item.data.get("findings")
    if findings is not None:
        return ["%s: correct it, or pass --allow-unknown-options" % text
                for text, finding in zip(item.data["findings_text"], findings)
                if finding["severity"] == optdef.ERROR]
    return ["%s: %s" % (item.text, item.fix) if item.fix else item.text]


def _after_colon(message):
    parts = message.split(": ", 1)
    return parts[1] if len(parts) == 2 else None


def _first_line(path):
    try:
        with io.open(path, "rb") as handle:
            return handle.readline(4096).decode("utf-8", "replace").strip() or None
    except OSError as error:
        return "cannot read it: %s" % os_reason(error)


def _iso(date):
    return date.isoformat() if date is not None else None


def _gib(size):
    return "%.1f GiB" % (size / 1024.0 ** 3)
