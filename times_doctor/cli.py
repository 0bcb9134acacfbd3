"""Command-line entry point: parse arguments, run a command, map errors to exit codes.

Kept thin on purpose: every command lives in its own module; this file only
knows argparse, environment variables and how to print a TimesDoctorError
as one line.
"""

import argparse
import os
import sys
import traceback

from times_doctor import __version__
from times_doctor.errors import EXIT_SIGINT, EXIT_USAGE, TimesDoctorError

PROG = "times-doctor"

EXIT_CODES_HELP = """\
exit codes:
  0    every profile completed
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

environment:
  TD_MAX_WORKERS       default for --max-workers
  TD_TIMEOUT_SECONDS   default for --timeout-seconds
  NO_COLOR, FORCE_COLOR, TERM=dumb   colour control (see README)

While it runs, Ctrl+C opens the cancel menu; Ctrl+C twice aborts.

"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, exit 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, "%s: error: %s (see %s --help)\n" % (self.prog, message, self.prog))


def build_parser():
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
    scan.add_argument("--gams-path", metavar="PATH", help="GAMS executable (default: gams on PATH)")
    scan.add_argument("--driver", metavar="FILE", help="driver file inside RUN_DIR "
                      "(default: detected from the newest .lst, else the .run/.gms file)")
    scan.add_argument("--times-src", metavar="DIR", help="TIMES source folder "
                      "(default: detected from the newest .lst)")
    scan.add_argument("--solver", choices=("cplex", "gurobi", "both"), default="cplex")
    scan.add_argument("--profiles", metavar="NAME[,NAME...]", action="append",
                      help="profiles to run (repeatable; default dual,sift,bar_nox)")
    scan.add_argument("--opt-dir", metavar="DIR", help="extra profiles: DIR/<solver>/<name>.opt "
                      "or DIR/<name>.opt (CPLEX)")
    scan.add_argument("--threads", metavar="N", default="7",
                      help="solver threads per profile (default 7)")
    scan.add_argument("--parallel", action="store_true", help="run profiles at the same time")
    scan.add_argument("--max-workers", metavar="N", default=os.environ.get("TD_MAX_WORKERS"),
                      help="profiles at once with --parallel (default: "
                      "max(1, min(profiles, cpus // threads, 6)); env TD_MAX_WORKERS)")
    scan.add_argument("--timeout-seconds", metavar="S",
                      default=os.environ.get("TD_TIMEOUT_SECONDS", "0"),
                      help="end a run after S seconds, 0 = none (env TD_TIMEOUT_SECONDS)")
    scan.add_argument("--grace-seconds", metavar="S", default="10",
                      help="SIGTERM-to-SIGKILL wait when ending a run (default 10)")
    scan.add_argument("--gams-arg", metavar="ARG", action="append", default=[],
                      help="extra argument for every GAMS call (repeatable)")
    scan.add_argument("--out", metavar="DIR", help="where times_doctor_out/ goes (default RUN_DIR)")
    scan.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    scan.add_argument("--no-color", action="store_true", help="no colour codes")
    scan.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def main(argv=None):
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    debug = getattr(args, "debug", False)
    try:
        return _dispatch(args)
    except TimesDoctorError as exc:
        if debug:
            traceback.print_exc()
        sys.stderr.write("%s: error: %s\n" % (PROG, exc))
        return exc.exit_code
    except KeyboardInterrupt:
        # Ctrl+C before the scan's own handlers were installed: nothing ran.
        sys.stderr.write("%s: interrupted\n" % PROG)
        return EXIT_SIGINT


def _dispatch(args):
    if args.command == "scan":
        from times_doctor.scan import ScanConfig, run_scan
        config = ScanConfig(
            run_dir=args.run_dir, gams_path=args.gams_path, driver=args.driver,
            times_src=args.times_src, solver=args.solver, profiles=args.profiles,
            opt_dir=args.opt_dir, threads=args.threads, parallel=args.parallel,
            max_workers=args.max_workers, timeout_seconds=args.timeout_seconds,
            grace_seconds=args.grace_seconds, gams_args=args.gams_arg, out=args.out,
            yes=args.yes, no_color=args.no_color, debug=args.debug)
        try:
            return run_scan(config)
        except TimesDoctorError:
            raise
        except Exception as exc:
            if args.debug:
                raise
            sys.stderr.write("%s: internal error: %s: %s (run again with --debug for a "
                             "traceback and report it)\n" % (PROG, type(exc).__name__, exc))
            return 70
    raise AssertionError("unhandled command %r" % args.command)
