"""A TIMES run's listing, log and QA_CHECK.LOG said as what to fix (the findings, no output).

Runs nothing.  For a run folder (a VEDA ``GAMS_Wrk`` case, a RUN_DIR) it
reads the newest listing (``*.lst``), the newest run log (``*run_log*.txt``,
``*.log``) and ``QA_CHECK.LOG``; for a scan (RUN_DIR with a
``times_doctor_out/``, or ``--out DIR``) the same files of every profile's
work directory.  Each file is read once, as a stream, in bounded memory
(lstscan.py, qacheck.py).  The findings of a run come out in the order of
how much they block a result:

    licensing stop > GAMS errors > QA_CHECK fatal errors > the solve's status
    > the conflict refiner's report > a listing that ends early > severe QA
    errors > range statistics > CPLEX datacheck warnings > QA warnings > info

Each finding says what was found (with counts), what to do (``fix``, one
sentence) and carries its facts for ``--json``.  scan/diagnose.py prints them
(``times-doctor diagnose``, text or ``times-doctor/diagnose`` JSON),
report/page.py draws them in scan_report.html, and a scan whose every profile
failed ends with the most blocking one (``headline``, ``scan_end_lines``).

Why over 500 lines: the blocking order above is one decision, made by
comparing every kind of finding against the others; split by file kind,
the order would live in no file.
"""

import collections
import glob
import os

from times_doctor import paths
from times_doctor.gams import rangestats
from times_doctor.errors import EXIT_OK, EXIT_RUN_FAILED, ParseError, UsageError
from times_doctor.gams.lst import status_code
from times_doctor.gams.lstscan import scan_file
from times_doctor.gams.qacheck import SEVERITY_RANKS, condense_qa_check


ERROR, WARNING, INFO = "error", "warning", "info"

# How much a kind of finding blocks a result (higher first).
RANKS = {"licence": 100, "gams_errors": 90, "qa_fatal": 85, "status": 80, "conflict": 78,
         "file": 70, "qa_severe": 50, "ranges": 40, "datacheck": 30, "qa_warning": 20,
         "qa_notice": 10, "solved": 0}

QA_CHECK_NAME = "QA_CHECK.LOG"

Finding = collections.namedtuple("Finding", "rank severity kind title lines fix data")
Finding.__doc__ = """One thing diagnose has to say about a run.

rank: RANKS of its kind (order of the output); severity: ERROR (blocks a
result), WARNING or INFO; kind: a RANKS key; title: one line; lines: the
details under it; fix: one sentence, or None; data: facts for --json.
"""

RunFiles = collections.namedtuple("RunFiles", "name folder listing log qa_check")
RunFiles.__doc__ = """The files diagnose reads for one run (None where absent).

name: "run" for a run folder, the profile's name for a scan's run.
"""

Diagnosis = collections.namedtuple("Diagnosis", "files findings")


# -- what to read --------------------------------------------------------------


def targets(run_dir=None, out=None):
    """[RunFiles] for ``diagnose RUN_DIR`` or ``diagnose --out DIR``.

    RUN_DIR: its own newest listing, log and QA_CHECK.LOG (when it has any),
    then every profile of the scan in it (when there is one); --out DIR:
    the scan's profiles.

    Raises:
        UsageError: not a folder, or nothing to diagnose in it.
    """
    chosen = out or run_dir
    if not chosen:
        raise UsageError("name the run: times-doctor diagnose RUN_DIR (or --out DIR of a scan)")
    folder = os.path.abspath(chosen)
    if not os.path.isdir(folder):
        raise UsageError("%s is not a folder: give the folder of a TIMES run (its .lst and "
                         "QA_CHECK.LOG) or a scan's RUN_DIR / --out folder" % chosen)
    found = []
    if out is None and os.path.basename(folder) != paths.OUT_FOLDER:
        own = run_files("run", folder)
        if own.listing or own.log or own.qa_check:
            found.append(own)
    found.extend(scan_targets(paths.normalise_out_dir(folder)))
    if not found:
        raise UsageError("nothing to diagnose in %s: no .lst, no run log, no %s and no scan "
                         "(times_doctor_out/); give the folder of a TIMES run or a scan's "
                         "--out folder" % (chosen, QA_CHECK_NAME))
    return found


def scan_targets(out_dir):
    """[RunFiles] of every profile of the scan in *out_dir* (state file, else the folders)."""
    state_path = paths.state_path(out_dir)
    found = []
    if os.path.exists(state_path):
        try:
            document = paths.load_state(out_dir)
        except (ParseError, UsageError):
            document = {}
        for job in paths.jobs_of(document):
            folder = job.get("work_dir")
            if folder and os.path.isdir(folder):
                found.append(run_files(str(job.get("name", "")), folder,
                                       listing=job.get("lst"), log=job.get("log")))
        if found:
            return found
    root = paths.runs_root(out_dir)
    for folder in sorted(glob.glob(os.path.join(root, "*", "*"))):
        if os.path.isdir(folder):
            found.append(run_files(os.path.basename(folder), folder))
    return found


def run_files(name, folder, listing=None, log=None):
    """The RunFiles of *folder*: given paths that exist, else the newest of each kind."""
    listing = listing if listing and os.path.isfile(listing) else _newest(folder, ("*.lst",))
    log = log if log and os.path.isfile(log) else _newest(
        folder, ("*run_log*.txt", "*.log"), exclude=("qa_check",))
    qa_check = None
    try:
        for entry in os.listdir(folder):
            if entry.lower() == QA_CHECK_NAME.lower():
                qa_check = os.path.join(folder, entry)
    except OSError:
        pass  # an unreadable folder has no files to read: nothing found, said by targets()
    return RunFiles(name, folder, listing, log, qa_check)


# -- the diagnosis ---------------------------------------------------------------


def diagnose(files, context=None):
    """The Diagnosis of one run; never raises for what is in the files.

    *context*: {"run_dir": ..., "out": ...} for the commands the fixes name.
    """
    context = context or {}
    findings = []
    listing = _read(files.listing, scan_file, findings)
    log = _read(files.log, scan_file, findings)
    qa = _read(files.qa_check, condense_qa_check, findings)
    if listing is not None:
        findings.extend(_file_findings(listing, "listing"))
    if log is not None and listing is None:
        findings.extend(_file_findings(log, "log"))
    main = listing if listing is not None else log
    if main is not None:
        findings.extend(_licence(main, log))
        findings.extend(_gams_errors(main) or _gams_stopped(listing, log))
        conflict_source = _with(listing, log, lambda scan: scan.conflict.found)
        findings.extend(_status(listing, log, conflict_source, context))
        if conflict_source is not None:
            findings.append(_conflict(conflict_source.conflict))
        findings.extend(_ranges(main))
        datacheck_source = _with(listing, log, lambda scan: len(scan.datacheck) > 0)
        if datacheck_source is not None:
            findings.append(_datacheck(datacheck_source))
    if qa is not None:
        findings.extend(_qa_findings(qa))
    findings.sort(key=lambda finding: -finding.rank)
    return Diagnosis(files, findings)


def link_conflicts(diagnoses):
    """Point the infeasible runs of a scan at the conflict another profile found.

    *diagnoses*: [Diagnosis]; returns them with the status fix of each
    infeasible run without a conflict of its own replaced.
    """
    owners = [each.files.name for each in diagnoses
              if any(finding.kind == "conflict" for finding in each.findings)]
    if not owners:
        return list(diagnoses)
    linked = []
    for each in diagnoses:
        if each.files.name in owners:
            linked.append(each)
            continue
        findings = []
        for finding in each.findings:
            if finding.kind == "status" and status_code(finding.data.get("model_status")) in \
                    _INFEASIBLE:
                finding = finding._replace(fix="the %s profile of this scan names what cannot "
                                           "hold together: see its conflict refiner's report"
                                           % ", ".join(owners))
            findings.append(finding)
        linked.append(each._replace(findings=findings))
    return linked


def headline(diagnosis):
    """The most blocking finding of a run (None when nothing was found)."""
    return diagnosis.findings[0] if diagnosis.findings else None


def worst(diagnosis):
    """ERROR, WARNING or INFO: the worst severity of a run's findings (INFO for none)."""
    for severity in (ERROR, WARNING):
        if any(finding.severity == severity for finding in diagnosis.findings):
            return severity
    return INFO


def exit_code(diagnoses):
    """1 when some run has a finding that blocks a result, else 0."""
    return EXIT_RUN_FAILED if any(worst(each) == ERROR for each in diagnoses) else EXIT_OK


def diagnose_command_line(run_dir=None, out=None):
    """The ``times-doctor diagnose ...`` command that reads a scan again."""
    return "times-doctor diagnose %s" % (_quote(run_dir) if run_dir and not out
                                         else "--out %s" % _quote(out or run_dir))


class DiagnosisCache(object):
    """Diagnoses by their files' signatures: a page redrawn every few seconds reads each once.

    Keeps at most *max_entries* (the oldest go first); a file that changed
    (size or modification time) is read again.
    """

    def __init__(self, max_entries=256):
        self.max_entries = max_entries
        self._entries = collections.OrderedDict()

    def get(self, files, context=None):
        key = (files, tuple(_signature(path) for path in files[2:]))
        found = self._entries.get(key)
        if found is None:
            found = diagnose(files, context)
            self._entries[key] = found
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return found


def scan_end_lines(rows, run_dir, out_dir):
    """The lines a scan ends with when no profile reached a usable result, else [].

    *rows*: the scan's CSV rows (``profile``, ``status``, ``model_status``,
    ``dir``, ``lst``).  A scan the user cancelled says nothing here; one whose
    every run failed, timed out or ended without an optimal or feasible
    point names the most blocking finding of its profiles and the command
    that prints them all.
    """
    from times_doctor.states import RunStatus
    if not rows or any(row.get("status") in (RunStatus.CANCELLED, RunStatus.INTERRUPTED)
                       for row in rows):
        return []
    if any(row.get("status") == RunStatus.COMPLETED and
           status_code(row.get("model_status")) in _USABLE for row in rows):
        return []
    context = {"run_dir": run_dir, "out": None if out_dir == run_dir else out_dir}
    diagnoses = []
    for row in rows:
        folder = row.get("dir")
        if folder and os.path.isdir(folder):
            diagnoses.append(diagnose(run_files(row.get("profile", ""), folder,
                                                listing=row.get("lst") or None), context))
    best = None
    for each in link_conflicts(diagnoses):
        found = headline(each)
        # A tie goes to the run with a conflict report: it says what to change.
        key = (found.rank, any(item.kind == "conflict" for item in each.findings)) \
            if found is not None else None
        if found is not None and (best is None or key > best[2]):
            best = (each.files.name, found, key, each)
    if best is None:
        return []
    name, finding, _, chosen = best
    lines = ["Most blocking (%s): %s" % (name, finding.title)]
    report = [item for item in chosen.findings if item.kind == "conflict"]
    if report and finding.kind == "status":
        finding = report[0]
        lines.append("  %s" % finding.title)
    if finding.fix:
        lines.append("  fix: %s" % finding.fix)
    lines.append("Every finding: %s" % diagnose_command_line(
        run_dir, None if out_dir == run_dir else out_dir))
    return lines


# -- findings, one kind each -----------------------------------------------------


def _read(path, reader, findings):
    if not path:
        return None
    try:
        return reader(path)
    except ParseError as error:
        findings.append(Finding(RANKS["file"], WARNING, "file", "%s was not read: %s"
                                % (os.path.basename(path), error), [],
                                "make it readable, or run diagnose where the run's files are",
                                {"path": path, "problem": "unreadable"}))
        return None


def _file_findings(scan, label):
    name = os.path.basename(scan.path)
    if scan.size == 0:
        return [Finding(RANKS["file"], WARNING, "file", "the %s %s is empty" % (label, name),
                        [], "run the model again: GAMS writes its %s from the start" % label,
                        {"path": scan.path, "problem": "empty"})]
    if scan.nul_offset is not None and not scan.has_compilation and scan.lst.model_status is None:
        return [Finding(RANKS["file"], WARNING, "file", "%s is not a text %s (a NUL byte at "
                        "offset %d)" % (name, label, scan.nul_offset), [],
                        "point diagnose at the folder of a GAMS run; this file is not what "
                        "GAMS writes", {"path": scan.path, "problem": "binary",
                                        "offset": scan.nul_offset})]
    ended = scan.file_summary if label == "listing" else scan.job_stop
    if not ended and not scan.licence:
        return [Finding(RANKS["file"], WARNING, "file", "the %s %s ends before GAMS finished "
                        "(%s)" % (label, name, "no FILE SUMMARY" if label == "listing"
                                  else "no '--- Job ... Stop'"),
                        ["what follows is what GAMS wrote until then (%d lines)" % scan.lines],
                        "the run was stopped (killed, timed out, out of memory) or is still "
                        "running: look at its run log, then run it again",
                        {"path": scan.path, "problem": "truncated", "lines": scan.lines})]
    return []


def _licence(main, log):
    message = main.licence or (log.licence if log is not None else None)
    if not message:
        return []
    return [Finding(RANKS["licence"], ERROR, "licence", "GAMS stopped on a licensing error: %s"
                    % message, [], "install a licence that covers the model's size and solver "
                    "(times-doctor check names the one in use)", {"message": message})]


def _gams_errors(scan):
    errors = scan.errors()
    if not errors:
        return []
    lines = []
    data = []
    for error in errors:
        entry = collections.OrderedDict([("code", error.code), ("text", error.text),
                                         ("count", error.count), ("first", error.where),
                                         ("elements", [])])
        if error.code is None:
            lines.append("execution error, %s time%s, first at %s: %s"
                         % (_n(error.count), "s" if error.count != 1 else "", error.where,
                            error.text))
        elif error.elements:
            for element, count, first in error.elements:
                lines.append("Error %d, '%s' not in domain, %s time%s, first at %s"
                             % (error.code, element, _n(count), "s" if count != 1 else "",
                                first))
                entry["elements"].append(collections.OrderedDict([
                    ("element", element), ("count", count), ("first", first)]))
            rest = error.count - sum(count for _, count, _ in error.elements)
            if rest > 0:
                lines.append("Error %d, %s more time%s for other elements"
                             % (error.code, _n(rest), "s" if rest != 1 else ""))
        else:
            lines.append("Error %d%s, %s time%s, first at %s"
                         % (error.code, " (%s)" % error.text if error.text else "",
                            _n(error.count), "s" if error.count != 1 else "", error.where))
        data.append(entry)
    total = sum(error.count for error in errors)
    codes = [error for error in errors if error.code is not None]
    fix = ("correct the GAMS source or data at the first place named, then run again "
           "(later errors often follow from the first)")
    if any(error.code == 170 for error in codes):
        fix = ("add each element named to the set it must belong to (a region, currency, "
               "commodity or timeslice the base scenario does not declare), or remove it from "
               "the data that uses it, then run again")
    elif codes == [] and errors:
        fix = "correct the data or code that fails at the line named, then run again"
    totals = None
    if scan.error_totals is not None:
        totals = collections.OrderedDict([("errors", scan.error_totals[0]),
                                          ("warnings", scan.error_totals[1])])
        lines.append("GAMS counted %s error(s) and %s warning(s)"
                     % (_n(scan.error_totals[0]), _n(scan.error_totals[1])))
    return [Finding(RANKS["gams_errors"], ERROR, "gams_errors",
                    "GAMS errors: %s in %s" % (_n(total), os.path.basename(scan.path)), lines,
                    fix, {"errors": data, "totals": totals})]


def _gams_stopped(listing, log):
    """GAMS said it stopped on errors, but the lines that say which were not found."""
    status = log.log_status if log is not None else None
    failed = status is not None and "error" in status.lower() and "licens" not in status.lower()
    if not failed and not (listing is not None and listing.user_errors):
        return []
    words = status or "user error(s) encountered"
    return [Finding(RANKS["gams_errors"], ERROR, "gams_errors", "GAMS stopped: %s" % words,
                    ["the listing names no error line times-doctor reads; its last "
                     "'****' lines and the run log say where"],
                    "read the run log's '*** Error' lines and the listing's '****' lines, "
                    "correct the first, then run again",
                    {"errors": [], "totals": None, "status": words})]


# GAMS User's Guide, "The Solve Summary": model status -> (severity, plain words).
_MODEL_STATUS = {
    1: (INFO, "optimal"), 2: (INFO, "locally optimal"),
    3: (ERROR, "unbounded: the objective can fall without limit"),
    4: (ERROR, "infeasible: no point satisfies every equation and bound"),
    5: (ERROR, "locally infeasible"),
    6: (ERROR, "intermediate infeasible: the solver stopped before it found a feasible point"),
    7: (WARNING, "feasible but not proven optimal"),
    8: (WARNING, "an integer solution, not proven optimal"),
    9: (ERROR, "intermediate non-integer: stopped before an integer solution"),
    10: (ERROR, "integer infeasible: no integer point satisfies every equation and bound"),
    11: (ERROR, "no solution: a licensing problem"),
    12: (ERROR, "no solution: an unknown error"), 13: (ERROR, "no solution: an error"),
    14: (ERROR, "no solution returned"), 19: (ERROR, "infeasible, no solution returned"),
}
# GAMS solver status codes that mean a limit or an interruption stopped the solver.
_LIMITS = {2: "the iteration limit (iterlim)", 3: "the time limit (reslim, or --timeout-seconds)",
           8: "an interrupt"}
# Model statuses that say no point satisfies the model.
_INFEASIBLE = (4, 5, 10, 19)
# Model statuses with a point worth having: optimal, locally optimal, feasible, integer.
_USABLE = (1, 2, 7, 8, 15, 16)
# CPLEX LP statuses (CPXgetstat) that mean barrier stopped short of a proven optimum.
_NOT_PROVEN_LP = {5: "optimal with unscaled infeasibilities", 6: "non-optimal (num_best)"}


def _status(listing, log, conflict_source, context):
    """The solve's outcome in plain words, with what to try."""
    lst = listing.lst if listing is not None else None
    model = lst.model_status if lst is not None else None
    solver = lst.solver_status if lst is not None else None
    lp_status = (lst.lp_status if lst is not None and lst.lp_status else
                 (log.lst.lp_status if log is not None else None))
    objective = lst.objective if lst is not None else None
    data = collections.OrderedDict([("model_status", model), ("solver_status", solver),
                                    ("lp_status", lp_status), ("objective", objective)])
    code = status_code(model)
    if code is None:
        return []
    severity, words = _MODEL_STATUS.get(code, (WARNING, "model status %s" % model))
    solver_code = status_code(solver)
    lp_code = status_code(lp_status)
    title = "Solve: %s (MODEL STATUS %s, SOLVER STATUS %s)" % (words, model, solver)
    lines = []
    if objective is not None:
        lines.append("objective %.10g" % objective)
    if lp_status:
        lines.append("solver's own status: %s" % lp_status)
    fix = None
    if code in _INFEASIBLE:
        if conflict_source is not None:
            fix = "see the conflict refiner's report below: it names what cannot hold together"
        else:
            fix = ("run the conflict profile to name the equations and bounds that cannot "
                   "hold together: %s, then %s" % (_scan_command(context, "conflict"),
                                                   _diagnose_again(context)))
    elif code == 3:
        fix = ("look for a flow that lowers the cost without limit: a negative cost or a "
               "revenue (ACT_COST, FLO_COST, FLO_DELIV, a subsidy) on a variable without an "
               "upper bound, then bound or correct it")
    elif code in (6, 9, 14, 13, 12) and solver_code in _LIMITS:
        fix = ("the solver was stopped by %s before it had a solution: raise the limit, or "
               "compare the dual, bar and sift profiles for a faster one" % _LIMITS[solver_code])
    elif code == 7 or lp_code in _NOT_PROVEN_LP:
        why = _NOT_PROVEN_LP.get(lp_code)
        if why:
            lines.append("CPLEX stopped at '%s'" % why)
        fix = ("barrier without crossover often ends here: run the bar profile (crossover "
               "on), or add numericalemphasis 1 (CPLEX) / NumericFocus 2 (Gurobi) to a profile "
               "of your own; a matrix that spans many orders of magnitude (see the range "
               "statistics) is the usual cause")
        severity = WARNING
    elif code == 8:
        if solver_code in _LIMITS:
            fix = ("the MIP search was stopped by %s with a gap still open: raise the limit "
                   "or loosen optcr" % _LIMITS[solver_code])
        else:
            fix = "the solution is within the relative gap optcr; lower optcr for a tighter one"
    elif code in (11,):
        fix = "install a licence that covers the solver and the model's size"
    elif code in (12, 13, 14):
        fix = "read the solver's lines in the run log for why it returned nothing"
    kind = "solved" if severity == INFO else "status"
    return [Finding(RANKS[kind], severity, kind, title, lines, fix, data)]


def _conflict(conflict):
    declared = conflict.declared
    equations = declared.get("equations")
    variables = declared.get("variables")
    lines = [sentence for _, sentence in conflict.summaries()]
    for name in conflict.presolve:
        lines.append("CPLEX's presolve first named %s" % name)
    if conflict.member_count > len(conflict.members):
        lines.append("%s members in all (the first %s kept verbatim, all counted)"
                     % (_n(conflict.member_count), _n(len(conflict.members))))
    fix = conflict.fix_sentence()
    if conflict.gurobi_iis is not None and not conflict.families:
        rows, bounds = conflict.gurobi_iis
        title = "Gurobi's IIS: %s constraint%s and %s bound%s" % (
            _n(rows), "s" if rows != 1 else "", _n(bounds), "s" if bounds != 1 else "")
        fix = ("this output names no members that times-doctor reads: run the conflict "
               "profile with CPLEX (--solver cplex --profiles conflict) for their names")
    else:
        title = "Conflict refiner: %s equation%s and %s variable bound%s in conflict" % (
            _n(equations or 0), "s" if equations != 1 else "", _n(variables or 0),
            "s" if variables != 1 else "")
    families = []
    for key, tally in conflict.families.items():
        families.append(collections.OrderedDict([
            ("family", key),
            ("plain", tally.symbol.family.plain if tally.symbol.family else None),
            ("kind", "equation" if tally.rows else "variable"),
            ("count", tally.count),
            ("bounds", collections.OrderedDict(
                (kind, collections.OrderedDict([("count", count),
                                                ("min", tally.values.get(kind, (None,))[0]),
                                                ("max", tally.values.get(kind, (None, None))[1])]))
                for kind, count in sorted(tally.kinds.items()))),
            ("labels", [[label for label, _ in counter.most_common()] for counter in
                        tally.labels]),
            ("input", tally.symbol.family.data if tally.symbol.family else None),
            ("examples", [member.name for member in tally.examples])]))
    data = collections.OrderedDict([
        ("equations", equations), ("variables", variables),
        ("members", conflict.member_count), ("families", families),
        ("presolve", list(conflict.presolve)),
        ("gurobi_iis", None if conflict.gurobi_iis is None else collections.OrderedDict(
            [("constraints", conflict.gurobi_iis[0]), ("bounds", conflict.gurobi_iis[1])])),
        ("sentences", lines), ("unnamed", conflict.unnamed())])
    return Finding(RANKS["conflict"], ERROR, "conflict", title, lines, fix, data)


def _ranges(scan):
    rows = rangestats.range_rows(scan.lst)
    known = [row for row in rows if row.low is not None or row.high is not None]
    if not known:
        return []
    lines = []
    problems = []
    for row in known:
        text = "%s [%s, %s]%s" % (row.name, _fmt(row.low), _fmt(row.high),
                                  ", ratio %s" % _fmt(row.ratio) if row.ratio else "")
        if row.problems:
            text += ": out of the usual range"
            problems.extend(row.problems)
        lines.append(text)
    lines.extend(problems)
    severity = WARNING if problems else INFO
    data = {"rows": [collections.OrderedDict([
        ("name", row.name), ("min", row.low), ("max", row.high), ("ratio", row.ratio),
        ("problems", list(row.problems))]) for row in rows]}
    title = ("Range statistics: %s out of the usual range" % " and ".join(
        row.name for row in known if row.problems) if problems
        else "Range statistics within the usual limits")
    fix = None
    if problems:
        fix = ("rescale the units of the processes or commodities whose coefficients are "
               "largest or smallest (TIMES: PRC_ACTUNT, PRC_CAPACT, commodity units), and "
               "look for values standing in for infinity")
    return [Finding(RANKS["ranges"] if problems else RANKS["solved"], severity, "ranges",
                    title, lines, fix, data)]


# CPLEX's own warning numbers seen with datacheck 2 (cplex 22.2 on the test models).
_DATACHECK_ADVICE = {
    1036: "write the coefficient with full precision (it looks like a rounded fraction)",
    1043: "a right-hand side this small is below CPLEX's feasibility tolerance: drop it or "
          "rescale",
    1044: "an objective coefficient this small is below CPLEX's optimality tolerance",
    1045: "a coefficient this small is below CPLEX's tolerances: drop it or rescale",
    1048: "the constraint mixes very large and very small coefficients: rescale its units",
}


def _datacheck(scan):
    kinds = scan.datacheck_kinds()
    lines = []
    data = []
    for code, message, count, families in kinds:
        shown = ", ".join("%s %s" % (family, _n(number)) for family, number in families[:6])
        more = len(families) - 6
        lines.append("CPLEX Warning %d, %s time%s: %s" % (code, _n(count),
                                                          "s" if count != 1 else "", message))
        lines.append("  by equation family: %s%s" % (shown, " (+%d more)" % more
                                                     if more > 0 else ""))
        if code in _DATACHECK_ADVICE:
            lines.append("  %s" % _DATACHECK_ADVICE[code])
        data.append(collections.OrderedDict([
            ("code", code), ("message", message), ("count", count),
            ("families", [collections.OrderedDict([("family", family), ("count", number)])
                          for family, number in families])]))
    total = sum(kind[2] for kind in kinds)
    return Finding(RANKS["datacheck"], WARNING, "datacheck",
                   "CPLEX datacheck: %s warning%s of %d kind%s" % (
                       _n(total), "s" if total != 1 else "", len(kinds),
                       "s" if len(kinds) != 1 else ""),
                   lines, "check the data behind the equation families named (precision and "
                   "scale of the coefficients), most frequent first", {"warnings": data})


def _qa_findings(qa):
    """QA_CHECK.LOG condensed: one finding per severity class, fatal first."""
    findings = []
    if qa.lines == 0 or (qa.events == 0 and not qa.unparsed.count):
        return [Finding(RANKS["solved"], INFO, "qa_notice",
                        "%s reports nothing%s" % (QA_CHECK_NAME, " (empty)" if qa.lines == 0
                                                  else ""),
                        [], None, _qa_data(qa, []))]
    classes = ((5, "qa_fatal", ERROR, "fatal error",
                "correct the data named: TIMES stops a run with fatal QA errors"),
               (3, "qa_severe", WARNING, "severe error",
                "correct the data named: the model runs, but these parts of it are not what "
                "the data says"),
               (2, "qa_severe", WARNING, "severe warning",
                "check the data named: TIMES ignored or changed it"),
               (1, "qa_warning", INFO, "warning", "review the data named when convenient"),
               (0, "qa_notice", INFO, "notice", None))
    groups = qa.sorted_groups()
    for low, kind, severity, label, fix in classes:
        high = 5 if low == 5 else (4 if low == 3 else low)
        chosen = [group for group in groups if low <= group.rank <= high]
        if not chosen:
            continue
        count = sum(group.count for group in chosen)
        lines = []
        for group in chosen:
            lines.append("[%s] %s: %s event%s%s" % (
                group.severity, group.group or "(no group line)", _n(group.count),
                "s" if group.count != 1 else "",
                " (%s)" % group.message if group.message else ""))
            fields = ", ".join("%s=%s" % (key, _top(counter, 3))
                               for key, counter in group.fields.items())
            if fields:
                lines.append("    %s" % fields)
        findings.append(Finding(RANKS[kind], severity, kind, "%s: %s %s%s in %d group%s" % (
            QA_CHECK_NAME, _n(count), label, "s" if count != 1 else "", len(chosen),
            "s" if len(chosen) != 1 else ""),
            lines, fix, _qa_data(qa, chosen)))
    top = []
    for label, counter in (("regions", qa.regions), ("processes", qa.processes),
                           ("commodities", qa.commodities)):
        if len(counter):
            top.append("most frequent %s: %s" % (label, _top(counter, 5)))
    if qa.unparsed.count:
        top.append("%s line%s not in QA_CHECK's format, kept:" % (
            _n(qa.unparsed.count), "s" if qa.unparsed.count != 1 else ""))
        top.extend("  %s" % line for line in qa.unparsed.items)
    if findings and top:
        first = findings[0]
        findings[0] = first._replace(lines=first.lines + top)
    elif top:
        findings.append(Finding(RANKS["qa_notice"], INFO, "qa_notice",
                                "%s: no events" % QA_CHECK_NAME, top, None, _qa_data(qa, [])))
    return findings


def _qa_data(qa, groups):
    return collections.OrderedDict([
        ("path", qa.path), ("title", qa.title), ("lines", qa.lines), ("events", qa.events),
        ("by_severity", collections.OrderedDict(
            sorted(qa.by_severity.items(), key=lambda item: -SEVERITY_RANKS.get(item[0], 1)))),
        ("groups", [collections.OrderedDict([
            ("group", group.group), ("severity", group.severity), ("level", group.level),
            ("count", group.count), ("message", group.message),
            ("fields", collections.OrderedDict(
                (key, [[value, number] for value, number in counter.most_common(10)])
                for key, counter in group.fields.items())),
            ("examples", list(group.examples.items))]) for group in groups]),
        ("regions", [[value, number] for value, number in qa.regions.most_common(10)]),
        ("processes", [[value, number] for value, number in qa.processes.most_common(10)]),
        ("commodities", [[value, number] for value, number in qa.commodities.most_common(10)]),
        ("unparsed", collections.OrderedDict([("count", qa.unparsed.count),
                                              ("lines", list(qa.unparsed.items))])),
        ("binary_line", qa.binary)])


# -- helpers -----------------------------------------------------------------------


def _with(listing, log, test):
    """The listing when *test* holds for it, else the log when it does, else None."""
    for scan in (listing, log):
        if scan is not None and test(scan):
            return scan
    return None


def _newest(folder, patterns, exclude=()):
    found = []
    for pattern in patterns:
        found.extend(path for path in glob.glob(os.path.join(folder, pattern))
                     if os.path.isfile(path) and not os.path.basename(path).lower().startswith(
                         exclude))
    if not found:
        return None
    return max(found, key=lambda path: (_mtime(path), path))


def _signature(path):
    if not path:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return (path, None)
    return (path, info.st_size, info.st_mtime)


def _mtime(path):
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def _scan_command(context, profile):
    run_dir = context.get("run_dir")
    out = context.get("out")
    return "times-doctor scan %s --profiles %s%s" % (
        _quote(run_dir) if run_dir else "RUN_DIR", profile,
        " --out %s" % _quote(out) if out and out != run_dir else "")


def _diagnose_again(context):
    return diagnose_command_line(context.get("run_dir"), context.get("out"))


def _top(counter, limit):
    ranked = counter.most_common(limit)
    text = ", ".join("%s (%s)" % (value, _n(number)) for value, number in ranked)
    more = len(counter) - len(ranked)
    if more > 0:
        text += " +%s more" % _n(more)
    if counter.truncated:
        text += " (+%s beyond the first %s kept)" % (_n(counter.other), _n(counter.max_keys))
    return text


def _n(number):
    return "{:,}".format(number)


def _fmt(value):
    return rangestats.fmt(value) if value is not None else "NA"


def _quote(path):
    text = str(path)
    return "'%s'" % text if any(char.isspace() for char in text) else text

