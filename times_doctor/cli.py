"""Command-line entry point: parse arguments, run a command, map errors to exit codes.

Kept thin on purpose: every command lives in its own module; this file only
knows argparse, environment variables and how to print a TimesDoctorError
as one line.
"""

import argparse
import io
import os
import sys
import traceback

from times_doctor import __version__
from times_doctor.launch import table as launchers
from times_doctor.solvers import table as solvers
from times_doctor.errors import (EXIT_INTERNAL, EXIT_SIGINT, EXIT_USAGE, TimesDoctorError,
                                 UsageError)

PROG = "times-doctor"

EXIT_CODES_HELP = """\
exit codes:
  0    every profile completed (runs stopped by --cap or --race count as done)
  1    at least one profile failed or timed out
  2    bad input or usage (nothing was run)
  3    at least one profile was cancelled or interrupted (the scan ran to its end),
       or the confirmation was declined
  129  aborted by SIGHUP, 130 by Ctrl+C (SIGINT), 143 by SIGTERM
       (partial results are written in every case)
"""

SCAN_EXAMPLES = """\
examples:
  times-doctor scan data/my-run
  times-doctor scan data/my-run --profiles dual,bar_nox --threads 4 --parallel
  times-doctor scan data/my-run --solver both --timeout-seconds 3600 --yes
  times-doctor scan data/my-run --opt-dir my_opts --gams-arg solvelink=0
  times-doctor scan data/my-run --resume     # run only what the last scan did not complete
  times-doctor scan data/my-run --parallel --cap 1.5 --confirm 2   # a ranking you can trust,
                                                  # cheaply: stop hopeless runs, re-run the top 2 alone
  times-doctor scan data/my-run --repeat 3   # each profile 3 times with different solver seeds

environment:
  TD_MAX_WORKERS       default for --max-workers
  TD_TIMEOUT_SECONDS   default for --timeout-seconds
  NO_COLOR, FORCE_COLOR, TERM=dumb   colour control (see docs/usage.md)

While it runs, Ctrl+C opens the cancel menu; Ctrl+C twice aborts.

"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, exit 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, "%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog))


def build_parser(option_defaults=True):
    """The parser; with *option_defaults* False, scan options not given parse as None.

    ``scan --resume`` parses its command line a second time that way, to
    tell the options given again from those it takes from the earlier scan.
    """
    parser = _Parser(prog=PROG, description="Run a GAMS/TIMES model under several solver "
                     "option profiles, watch them side by side, and report which works best.",
                     epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="%s %s" % (PROG, __version__))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    scan = sub.add_parser("scan", help="run one model under several solver profiles",
                          description="Run the model in RUN_DIR under several solver option "
                          "profiles and write times_doctor_out/scan_report.csv.",
                          epilog=SCAN_EXAMPLES + EXIT_CODES_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("run_dir", metavar="RUN_DIR", help="folder holding the model's driver")
    _add_scan_options(scan, option_defaults)
    scan.add_argument("--resume", action="store_true",
                      help="continue the earlier scan in this folder (same --out): run only "
                      "what did not complete; completed profiles whose inputs are unchanged "
                      "are kept; options not given are the earlier scan's")
    check = sub.add_parser("check", help="check GAMS, licence, solvers, option files, run "
                           "directory and machine before a scan",
                           description="A checklist of everything a scan with the same "
                           "options needs: GAMS, its licence, each solver (a one-variable LP "
                           "through GAMS), every option file against GAMS's own option "
                           "definitions, the run directory and the machine.",
                           epilog=CHECK_EXIT_CODES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                       help="folder holding the model's driver (optional)")
    check.add_argument("--json", action="store_true", help="print the checklist as JSON "
                       "(times-doctor/check, see docs/files.md)")
    _add_scan_options(check, option_defaults)
    _add_diagnose_parser(sub)
    _add_dashboard_parser(sub)
    _add_control_parsers(sub)
    return parser


CHECK_EXIT_CODES = """\
exit codes:
  0    every item passed (warnings alone pass)
  1    at least one item failed (each names its fix)
  2    bad input (option values, unknown profiles, a RUN_DIR that is not a folder)
"""


DIAGNOSE_EXIT_CODES = """\
exit codes:
  0    nothing found that blocks a result (warnings alone pass)
  1    some run has a finding that blocks a result (each names its fix)
  2    bad input (not a folder, nothing to diagnose in it)
"""


def _add_diagnose_parser(sub):
    diagnose = sub.add_parser("diagnose", help="say what blocks a TIMES run, from its listing, "
                              "log and QA_CHECK.LOG (runs nothing)",
                              description="Read the newest listing, run log and QA_CHECK.LOG "
                              "of a TIMES run (RUN_DIR), or of every profile of a scan (a "
                              "RUN_DIR holding times_doctor_out/, or --out DIR), and print "
                              "what blocks a result, most blocking first: GAMS errors, the "
                              "solve's status and what to try, the conflict refiner's report "
                              "in TIMES terms, range statistics, CPLEX datacheck warnings and "
                              "QA_CHECK.LOG condensed.",
                              epilog=DIAGNOSE_EXIT_CODES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    diagnose.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                          help="the run's folder (its .lst, run log, QA_CHECK.LOG; a scan's "
                          "times_doctor_out/ in it is read too)")
    diagnose.add_argument("--out", metavar="DIR", help="a scan's --out folder: its profiles")
    diagnose.add_argument("--json", action="store_true", help="print the findings as JSON "
                          "(times-doctor/diagnose, see docs/files.md)")
    diagnose.add_argument("--no-color", action="store_true", help="no colour codes")
    diagnose.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_scan_options(scan, option_defaults=True):
    """The options of scan; check takes the same ones, to check exactly that scan."""
    scan.add_argument("--gams-path", metavar="PATH", help="GAMS executable (default: gams on PATH)")
    scan.add_argument("--driver", metavar="FILE", help="driver file inside RUN_DIR "
                      "(default: detected from the newest .lst, else the .run/.gms file)")
    scan.add_argument("--times-src", metavar="DIR", help="TIMES source folder "
                      "(default: detected from the newest .lst)")
    scan.add_argument("--solver", choices=solvers.CHOICES,
                      help="default %s" % solvers.DEFAULT)
    scan.add_argument("--profiles", metavar="NAME[,NAME...]", action="append",
                      help="profiles to run (repeatable; default dual,sift,bar_nox)")
    scan.add_argument("--opt-dir", metavar="DIR", help="extra profiles: DIR/<solver>/<name>.opt "
                      "or DIR/<name>.opt (CPLEX)")
    scan.add_argument("--threads", metavar="N",
                      help="solver threads per profile (default 7)")
    scan.add_argument("--parallel", action="store_true", default=None,
                      help="run profiles at the same time")
    scan.add_argument("--max-workers", metavar="N",
                      help="profiles at once with --parallel (default: "
                      "max(1, min(profiles, cpus // threads, 6)); env TD_MAX_WORKERS)")
    scan.add_argument("--timeout-seconds", metavar="S",
                      help="end a run after S seconds, 0 = none (env TD_TIMEOUT_SECONDS)")
    scan.add_argument("--grace-seconds", metavar="S",
                      help="SIGTERM-to-SIGKILL wait when ending a run (default 10)")
    scan.add_argument("--confirm", metavar="N",
                      help="after the scan, re-run the N best profiles one at a time, with "
                      "nothing else of the scan running, and rank them on those times "
                      "(default 0: no confirmation)")
    scan.add_argument("--repeat", metavar="K",
                      help="run each profile K times with different solver random seeds "
                      "(CPLEX randomseed, GUROBI Seed); rank on the median (default 1)")
    scan.add_argument("--cap", metavar="F",
                      help="once a profile has completed optimal, stop every run that has "
                      "taken F times its time (status capped); runs not started yet keep "
                      "their place")
    scan.add_argument("--race", action="store_true", default=None,
                      help="stop every other run at the first optimal completion (status "
                      "capped)")
    scan.add_argument("--gams-arg", metavar="ARG", action="append",
                      help="extra argument for every GAMS call (repeatable)")
    scan.add_argument("--out", metavar="DIR", help="where times_doctor_out/ goes (default RUN_DIR)")
    scan.add_argument("--allow-unknown-options", action="store_true",
                      help="option-file lines GAMS would ignore (unknown names, bad values) "
                      "are warnings, not a refusal")
    scan.add_argument("--no-preflight", action="store_true",
                      help="skip the preflight (GAMS, licence, solvers, option files)")
    scan.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    scan.add_argument("--no-color", action="store_true", help="no colour codes")
    scan.add_argument("--debug", action="store_true", help="show tracebacks")
    # No default here: launchers.choose_launcher reads TD_LAUNCHER when none
    # is given, after a --resume took the earlier scan's launcher.
    scan.add_argument("--launcher", metavar="|".join(launchers.LAUNCHERS),
                      help="where runs execute: %s (env %s)" % (
                          "; ".join("%s: %s" % (row.name, row.summary)
                                    for row in launchers.LAUNCHER_TABLE.values()),
                          launchers.LAUNCHER_ENV_VAR))
    for row in launchers.LAUNCHER_TABLE.values():
        if row.arg_option:
            # Every launcher's pass-through option fills one list: only the
            # chosen launcher's is used.
            scan.add_argument(row.arg_option, metavar="ARG", action="append",
                              dest="launcher_args", help=row.arg_help)
    scan.add_argument("--dashboard", action="store_true",
                      help="serve the web dashboard beside the scan (stops with it)")
    scan.add_argument("--dashboard-port", metavar="N", default="0",
                      help="its port (default: a free one)")
    scan.add_argument("--dashboard-bind", metavar="ADDR", default="127.0.0.1",
                      help="its address (default 127.0.0.1; another one prints a warning)")
    if option_defaults:
        from times_doctor.scan.plan import option_defaults as defaults
        values = defaults()
        values["gams_arg"] = values.pop("gams_args")
        # Left None, as before a launcher's option is known: plan.with_defaults
        # fills it (a --resume scan first takes the earlier scan's).
        values.pop("launcher_args")
        scan.set_defaults(**values)


CONTROL_EXIT_CODES = """\
exit codes:
  0    the scanner applied the request and the runs got there
  1    a run did not reach the requested state within --wait-seconds
  2    bad input: unknown run, malformed request, no scan in that folder
  4    no live scanner holds that folder (finished, or died: see `reap`)
"""

CONTROL_HELP = {
    "cancel": "cancel runs of a running scan (the scanner ends their process groups)",
    "interrupt": "soft-interrupt runs: the solver stops, GAMS reports the best point so far",
    "pause": "pause runs (SIGSTOP to their process groups; their clocks stop)",
    "resume": "resume paused runs",
}


def _add_common(parser):
    parser.add_argument("--out", metavar="DIR", help="the scan's --out folder (instead of RUN_DIR)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_control_parsers(sub):
    status = sub.add_parser("status", help="show a scan's table, or list this user's scans",
                            description="Show the table of the scan in RUN_DIR (or --out DIR) "
                            "from its state file; without either, list every scan of this user "
                            "on this host that is running or stale.")
    status.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    status.add_argument("--json", action="store_true", help="print the state document "
                        "(times-doctor/scan-state, see docs/files.md)")
    status.add_argument("--watch", action="store_true", help="redraw until the scan ends")
    status.add_argument("--no-color", action="store_true", help="no colour codes")
    _add_common(status)
    for action in ("cancel", "interrupt", "pause", "resume"):
        command = sub.add_parser(action, help=CONTROL_HELP[action],
                                 description=CONTROL_HELP[action] + ". Runs are named as in "
                                 "the table (or by number, 1 = first profile).",
                                 usage="%s %s RUN_DIR NAME... | --all [options]" % (PROG, action),
                                 epilog=CONTROL_EXIT_CODES,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument("targets", metavar="RUN_DIR NAME", nargs="*",
                             help="the scan's folder, then run names (with --out: names only)")
        command.add_argument("--all", action="store_true", help="every unfinished run")
        if action == "cancel":
            command.add_argument("--grace-seconds", metavar="S",
                                 help="SIGTERM-to-SIGKILL wait (default: the scan's)")
        command.add_argument("--wait-seconds", metavar="S",
                             help="how long to wait for the runs to get there (0: do not wait)")
        _add_common(command)
    report = sub.add_parser("report", help="re-render scan_report.html from a scan's files",
                            description="Write the HTML report of the scan in RUN_DIR (or "
                            "--out DIR) again from its state file, its CSV and each run's "
                            "progress series; for an older scan, say what is missing and "
                            "render the rest.")
    report.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    report.add_argument("--html", metavar="FILE", help="where to write the page (default: "
                        "times_doctor_out/scan_report.html beside the CSV)")
    _add_common(report)
    reap = sub.add_parser("reap", help="end the runs of a scan whose scanner died",
                          description="Kill every process left by the dead scanner of RUN_DIR "
                          "(or --out DIR) and mark its unfinished runs cancelled; without "
                          "either, do it for every stale scan of this user on this host.")
    reap.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    reap.add_argument("--grace-seconds", metavar="S", default="5",
                      help="SIGTERM-to-SIGKILL wait (default 5)")
    _add_common(reap)


def main(argv=None):
    """Run the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _escape_what_output_cannot_encode()
    task = launchers.task_entry(argv[0]) if argv else None
    if task is not None:
        # Hidden: the task a launcher starts on another host (SLURM's compute node).
        return _run_launcher_task(task, argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    debug = getattr(args, "debug", False)
    try:
        if getattr(args, "resume", False):
            # The same line again, options not given left None (see build_parser).
            args = build_parser(option_defaults=False).parse_args(argv)
        return _dispatch(args)
    except TimesDoctorError as exc:
        if debug:
            traceback.print_exc()
        # A message may hold several problems, one per line (the preflight's).
        for line in str(exc).splitlines() or [""]:
            sys.stderr.write("%s: error: %s\n" % (PROG, line))
        return exc.exit_code
    except KeyboardInterrupt:
        # Ctrl+C before the scan's own handlers were installed: nothing ran.
        sys.stderr.write("%s: interrupted\n" % PROG)
        return EXIT_SIGINT
    except Exception as exc:
        # A bug in times-doctor, in any command: one line unless --debug.
        if debug:
            raise
        sys.stderr.write("%s: internal error: %s: %s (run again with --debug for a "
                         "traceback and report it)\n" % (PROG, type(exc).__name__, exc))
        return EXIT_INTERNAL


def _escape_what_output_cannot_encode():
    """A character the output's encoding lacks is written escaped (\\uXXXX), never an error.

    Output to a pipe or a file is encoded in the locale's code page (Windows:
    cp1252 and the like), which a folder name in Chinese does not fit: the
    scan's last line ended a finished scan with "internal error:
    UnicodeEncodeError" and exit 70.  stderr already escapes; stdout raises
    ("strict", or "surrogateescape" under a C locale, which only takes back
    undecodable bytes).
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if getattr(stream, "errors", None) not in ("strict", "surrogateescape"):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
        elif stream is getattr(sys, "__%s__" % name) and hasattr(stream, "buffer"):
            # Python 3.6 has no reconfigure(): the same buffer, a tolerant wrapper
            # (the original stays referenced by sys.__stdout__, so it never closes it).
            stream.flush()
            setattr(sys, name, io.TextIOWrapper(stream.buffer, stream.encoding,
                                                "backslashreplace",
                                                line_buffering=stream.line_buffering))


def _run_launcher_task(task, argv):
    """One profile on another host; errors as one line on stderr (the job's output)."""
    try:
        return task.task_main(argv)
    except TimesDoctorError as exc:
        sys.stderr.write("%s: error: %s\n" % (PROG, exc))
        return exc.exit_code


def _dispatch(args):
    """Run the handler of the parsed subcommand (COMMANDS)."""
    return COMMANDS[args.command](args)


def _check(args):
    from times_doctor.scan import check
    return check.run_check_command(_scan_config(args), as_json=args.json)


def _scan(args):
    from times_doctor.scan.scanner import run_scan
    config = _scan_config(args)
    web = _scan_dashboard(args)
    try:
        return run_scan(config, dashboard=web)
    finally:
        if web is not None:
            web.stop()


def _diagnose(args):
    from times_doctor.scan import diagnose
    if args.run_dir and args.out:
        raise UsageError("give RUN_DIR or --out, not both")
    return diagnose.run_diagnose_command(args.run_dir, args.out, as_json=args.json,
                                         no_color=args.no_color)


def _dashboard(args):
    from times_doctor.remote import dashboard
    return dashboard.run_dashboard(args.run_dirs, bind=args.bind,
                                   port=_port(args.port, "--port"))


def _status(args):
    from times_doctor.remote import status
    out_dir = _out_dir(args.run_dir, args.out, required=False)
    if out_dir is None:
        return status.list_scans(as_json=args.json)
    return status.show_status(out_dir, as_json=args.json, watch=args.watch,
                              no_color=args.no_color)


def _control(args):
    """cancel, interrupt, pause, resume: one request to a running scan."""
    from times_doctor.remote import control
    from times_doctor.scan.plan import non_negative_float
    targets = list(args.targets)
    out_dir = _out_dir(targets.pop(0) if targets and not args.out else None, args.out,
                       required=True)
    grace = getattr(args, "grace_seconds", None)
    return control.run_command(
        out_dir, args.command, targets, args.all,
        grace_seconds=non_negative_float(grace, "--grace-seconds") if grace else None,
        wait_seconds=(non_negative_float(args.wait_seconds, "--wait-seconds")
                      if args.wait_seconds else None),
        write=_print)


def _report(args):
    from times_doctor.report import page as report_page
    return report_page.run_report_command(
        _out_dir(args.run_dir, args.out, required=True), html_path=args.html, write=_print)


def _reap(args):
    from times_doctor.remote import reap
    from times_doctor.scan.plan import non_negative_float
    grace = non_negative_float(args.grace_seconds, "--grace-seconds")
    out_dir = _out_dir(args.run_dir, args.out, required=False)
    if out_dir is not None:
        result = reap.reap(out_dir, grace_seconds=grace)
        _print(reap.describe(result) if result is not None
               else "nothing to reap in %s: the scan there ended cleanly" % out_dir)
        return 0
    results = reap.reap_stale_sessions(grace_seconds=grace)
    for result in results:
        _print(reap.describe(result))
    if not results:
        _print("no stale scans of this user on this host")
    return 0


# The subcommands and their handlers (each imports what it needs when it
# runs, so `--help` and a typo cost no import of the scanner or the server).
COMMANDS = {
    "scan": _scan, "check": _check, "diagnose": _diagnose, "status": _status,
    "cancel": _control, "interrupt": _control, "pause": _control, "resume": _control,
    "report": _report, "reap": _reap, "dashboard": _dashboard,
}


def _scan_config(args):
    """The ScanConfig of scan/check.

    For ``scan --resume`` the options not given are None: the scan takes
    the earlier scan's values first (resume.inherit_options), then the
    defaults (plan.with_defaults).
    """
    from times_doctor.scan.plan import ScanConfig
    return ScanConfig(
        run_dir=args.run_dir, gams_path=args.gams_path, driver=args.driver,
        times_src=args.times_src, solver=args.solver, profiles=args.profiles,
        opt_dir=args.opt_dir, threads=args.threads, parallel=args.parallel,
        max_workers=args.max_workers, timeout_seconds=args.timeout_seconds,
        grace_seconds=args.grace_seconds, gams_args=args.gams_arg, out=args.out,
        yes=args.yes, no_color=args.no_color, debug=args.debug,
        allow_unknown_options=args.allow_unknown_options, no_preflight=args.no_preflight,
        resume=getattr(args, "resume", False),
        launcher=args.launcher, launcher_args=args.launcher_args, confirm=args.confirm,
        repeat=args.repeat, cap=args.cap, race=args.race)


def _add_dashboard_parser(sub):
    web = sub.add_parser("dashboard", help="serve a local web page to watch and control scans",
                         description="Serve a web page with the table of every scan of this "
                         "user on this host (or of the RUN_DIRs given), with Cancel, Interrupt "
                         "and Pause buttons. Prints the URL to open (it carries a secret "
                         "token). Ctrl+C stops it.")
    web.add_argument("run_dirs", metavar="RUN_DIR", nargs="*",
                     help="scans to show (a RUN_DIR or --out folder); default: all of yours")
    web.add_argument("--port", metavar="N", default="0", help="port (default: a free one)")
    web.add_argument("--bind", metavar="ADDR", default="127.0.0.1",
                     help="address (default 127.0.0.1; another one prints a warning)")
    web.add_argument("--debug", action="store_true", help="show tracebacks")


def _scan_dashboard(args):
    """The dashboard for scan --dashboard, bound before anything runs (or None)."""
    if not args.dashboard:
        return None
    from times_doctor.remote import dashboard
    return dashboard.Dashboard(bind=args.dashboard_bind,
                               port=_port(args.dashboard_port, "--dashboard-port"))


def _port(text, option):
    try:
        port = int(str(text).strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UsageError("%s must be a TCP port 0-65535 (0: a free one), got %r" % (option, text))
    return port


def _out_dir(run_dir, out, required):
    """The scan's output base from RUN_DIR or --out (a times_doctor_out/ path works too)."""
    if run_dir and out:
        raise UsageError("give RUN_DIR or --out, not both")
    chosen = out or run_dir
    if not chosen:
        if required:
            raise UsageError("name the scan: RUN_DIR (or --out DIR), then the runs")
        return None
    path = os.path.abspath(chosen)
    if os.path.basename(path) == "times_doctor_out":
        path = os.path.dirname(path)
    if not os.path.isdir(path):
        raise UsageError("%s is not a folder: give the scan's RUN_DIR or its --out folder"
                         % chosen)
    return path


def _print(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
