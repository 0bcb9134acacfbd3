"""A GAMS stand-in for the times-doctor tests: GAMS's part of a job around a real solver process.

Not GAMS, never installed for users (see README.md beside this file for every
behaviour and the observation or captured file it rests on).  It takes the
command line times-doctor builds, reads the driver as gamsfile.py describes
(it compiles no GAMS), takes the model's matrix from ``<driver stem>.mps``
found like an include, and runs a real CPLEX, Gurobi or HiGHS solve in a
child process, with GAMS 54.6.1's framing around the solver's real log and a
listing in GAMS's layout.

Process tree with ``solvelink=0``, as observed from the real GAMS:
``gams -> /bin/sh 225a/gamsnext.sh -> /bin/sh gmsgenus.run -> solver``;
otherwise ``gams -> solver``.  Signals as observed from the real GAMS:
SIGINT is passed to the solver, which stops and hands back its best point;
SIGTERM ends this process alone and leaves the solver running.

Licence: ``TD_STANDIN_LICENCE=expired`` behaves like GAMS 54.6.1 with its
demo licence after Nov 26, 2026 (rc 7, the captured lines); otherwise the
demo limits apply (more than 2000 rows or columns: rc 7, GAMS's message).
"""

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gamsfile  # noqa: E402 (sys.path above)
import scalarlp  # noqa: E402 (sys.path above)
import listing  # noqa: E402 (sys.path above)
import mpsstats  # noqa: E402 (sys.path above)
import solver_links  # noqa: E402 (sys.path above)

SYSDIR = HERE + os.sep
LICENCE_FILE = os.path.join(HERE, "gamslice.txt")
VERSION_TAIL = "54.6.1 20a39885 LEX-LEG x86 64bit/Linux"
DEMO_LIMIT = 2000
LICENCE_STOP = datetime.date(2026, 11, 26)  # "Time-limited license stops working on"
# Solvers with a real library behind them here; any other name ends like a
# solver GAMS cannot run (licensing problem, no solution).
AVAILABLE = ("CPLEX", "GUROBI", "HIGHS")

# Canonical names and the order GAMS 54.6.1 lists them under "GAMS Parameters
# defined" (tests/fixtures/gams_54.6.1_expired/*.txt); the order of names not
# seen there (Restart, SolveLink among the limits) is the stand-in's guess.
PARAMETER_ORDER = [
    ("lp", "LP"), ("mip", "MIP"), ("rmip", "RMIP"), ("input", "Input"), ("output", "Output"),
    ("scrdir", "ScrDir"), ("sysdir", "SysDir"), ("curdir", "CurDir"), ("restart", "Restart"),
    ("save", "Save"),
    ("logoption", "LogOption"), ("logfile", "LogFile"), ("appendlog", "AppendLog"),
    ("idir", "InputDir"), ("optfile", "OptFile"), ("gdx", "GDX"), ("reslim", "ResLim"),
    ("iterlim", "IterLim"), ("optcr", "OptCR"), ("optca", "OptCA"), ("threads", "Threads"),
    ("solvelink", "SolveLink")]
ALIASES = {"lo": "logoption", "lf": "logfile", "o": "output", "cdir": "curdir",
           "r": "restart", "s": "save", "sl": "solvelink", "inputdir": "idir", "i": "input"}
STATUS = {2: "Compilation error(s)", 3: "Execution error(s)",
          6: "Terminated due to parameter errors", 7: "Terminated due to a licensing error"}


class Log(object):
    """GAMS's log: logoption 0 none, 2 the log file, 3 stdout, 4 both; every line flushed."""

    def __init__(self, logoption, logfile):
        self.targets = []
        if logoption in (2, 4) and logfile:
            self.targets.append(open(logfile, "a"))
        if logoption in (3, 4):
            self.targets.append(sys.stdout)

    def line(self, text=""):
        for target in self.targets:
            target.write(text + "\n")
            target.flush()

    def close(self):
        for target in self.targets:
            if target is not sys.stdout:
                target.close()


class Job(object):
    def __init__(self, argv):
        self.started = time.time()
        self.input, self.params, self.user_params, self.idirs = parse_command_line(argv)
        self.solver_pid = None
        self.pending_interrupt = False
        self.compiled_mps = None  # the MPS of a scalar-only LP, compiled by scalarlp.py

    def elapsed(self):
        seconds = time.time() - self.started
        return "%d:%02d:%06.3f" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)

    def run(self):
        if self.input is None:
            return no_arguments()
        curdir = os.path.abspath(self.params.get("curdir", os.getcwd()))
        os.chdir(curdir)
        self.curdir = curdir
        name = os.path.basename(self.input)
        self.log = Log(int(self.params.get("logoption", 3)),
                       self.absolute(self.params.get("logfile")))
        try:
            return self.job(name)
        finally:
            self.log.close()
            if self.compiled_mps is not None:
                os.remove(self.compiled_mps)

    def absolute(self, path):
        return os.path.abspath(path) if path else None

    def job(self, name):
        log = self.log
        log.line("--- Job %s Start %s %s" % (name, stamp(), VERSION_TAIL))
        input_path = self.absolute(self.input)
        if not os.path.isfile(input_path) and os.path.isfile(input_path + ".gms"):
            input_path += ".gms"
        if not os.path.isfile(input_path):
            log.line("*** Unable to open input file (RC=2) %s" % self.input)
            log.line("*** SysMsg: No such file or directory")
            return self.stop(name, 6)
        stem = os.path.splitext(os.path.basename(input_path))[0]
        lst_path = self.absolute(self.params.get("output", stem + ".lst"))
        scrdir = os.path.join(self.curdir, "225a") + os.sep
        log.line("--- Applying:")
        log.line("    %sgmsprmun.txt" % SYSDIR)
        log.line("--- GAMS Parameters defined")
        for line in self.parameter_lines(input_path, lst_path, scrdir):
            log.line("    " + line)
        page = listing.Listing(lst_path)
        if os.environ.get("TD_STANDIN_LICENCE", "").lower() == "expired":
            return self.licence_expired(name, page)
        log.line("Licensee: GAMS stand-in for the times-doctor tests (not GAMS; no GAMS licence)")
        log.line("          %s" % LICENCE_FILE)
        log.line("System information: %d physical cores and %d Gb physical memory detected"
                 % (os.cpu_count() or 1, memory_gb()))
        log.line("GAMS stand-in (tests/gams_standin): real solvers, no GAMS compiler")
        restart = self.params.get("restart")
        if restart and not os.path.isfile(self.restart_path(restart)):
            # GAMS refuses a missing restart file before compiling (its wording not captured).
            log.line("*** Could not open restart file %s" % self.restart_path(restart))
            return self.stop(name, 6)
        log.line("--- Starting compilation")
        search = [self.curdir] + self.idirs
        try:
            program = gamsfile.read_program(input_path, search, self.curdir)
        except gamsfile.SourceError as error:
            return self.compilation_error(name, page, input_path, error)
        page.title = program.title or listing.SYSTEM
        log.line("--- %s(%d) 3 Mb" % (name, len(program.lines)))
        log.line("--- Starting execution: elapsed %s" % self.elapsed())
        page.compilation(program)
        solve = program.solve()
        if solve is None:  # nothing to solve: a plain run
            return self.finish(name, page, input_path, program, 0)
        return self.execute(name, page, input_path, program, solve, scrdir, stem, search)

    def parameter_lines(self, input_path, lst_path, scrdir):
        values = dict(self.params)
        values.update(input=input_path, output=lst_path, scrdir=scrdir, sysdir=SYSDIR,
                      appendlog="1")
        if "curdir" in self.params:
            values["curdir"] = self.curdir + os.sep
        if "logfile" in values:
            values["logfile"] = self.absolute(values["logfile"])
        if "gdx" in values:
            values["gdx"] = self.absolute(values["gdx"])
        values["logoption"] = self.params.get("logoption", "3")
        lines = []
        for key, label in PARAMETER_ORDER:
            if key == "idir":
                lines.extend("InputDir%d %s" % (index, path.rstrip(os.sep) + os.sep)
                             for index, path in enumerate(self.idirs, 1))
            elif key == "output" and "output" not in self.params:
                continue  # GAMS lists Output only when it was given
            elif key in values:
                lines.append("%s %s" % (label, values[key]))
        lines.extend("--%s %s" % (key, value) for key, value in self.user_params)
        return lines

    def stop(self, name, rc):
        if rc in STATUS:
            self.log.line("*** Status: %s" % STATUS[rc])
        if rc == 7:
            self.log.line("***         License file: %s" % LICENCE_FILE)
            self.log.line("***         Inspect listing file for more information.")
        self.log.line("--- Job %s Stop %s elapsed %s" % (name, stamp(), self.elapsed()))
        return rc

    def licence_expired(self, name, page):
        days = (datetime.date.today() - LICENCE_STOP).days
        self.log.line("*** Time-limited license expired %d days ago" % days)
        # The whole listing GAMS 54.6.1 writes then (tests/fixtures/gams_expired/job_lo2.lst).
        with open(page.path, "w") as handle:
            handle.write("-  Page 1\n%s\n\n\n" % listing.SYSTEM)
            handle.write("**** Terminated due to a licensing error\n")
            handle.write("**** License file: %s\n\n" % LICENCE_FILE)
            handle.write("**** Current license content:\n")
            handle.write("     (the GAMS stand-in has no licence content)\n")
        return self.stop(name, 7)

    def compilation_error(self, name, page, input_path, error):
        self.log.line("--- %s(%d) 2 Mb 1 Error" % (os.path.basename(error.path), error.line))
        self.log.line("*** Error in %s" % error.path)
        self.log.line("    $abort: %s" % error.text)
        program = gamsfile.Program()
        with open(input_path, "rb") as handle:
            program.lines = handle.read().decode("utf-8", "replace").splitlines()
        page.compilation(program, error)
        page.close(input_path, errors=True)
        return self.stop(name, 2)

    def execute(self, name, page, input_path, program, solve, scrdir, stem, search):
        log = self.log
        settings = program.settings(dict((key, value) for key, value in self.params.items()))
        solver = (settings.get(solve.model_type.lower()) or "cplex").upper()
        # Beside the input file first (the model's own matrix), then like an include.
        mps = gamsfile.find_on_include_path(stem + ".mps",
                                            [os.path.dirname(input_path)] + search)
        if mps is None:
            # The one kind of model it compiles: a scalar-only LP (scalarlp.py).
            text = scalarlp.to_mps(program.statements, solve)
            if text is None:
                log.line("*** Error: the GAMS stand-in compiles no GAMS: no %s.mps on the "
                         "include path (%s)" % (stem, ", ".join(search)))
                page.close(input_path, errors=True)
                return self.stop(name, 3)
            handle, mps = tempfile.mkstemp(prefix="standin-", suffix=".mps")
            with os.fdopen(handle, "w") as stream:
                stream.write(text)
            self.compiled_mps = mps
        stats = mpsstats.read_stats(mps)
        log.line("--- %s(%d) 4 Mb" % (name, solve.line))
        log.line("--- Generating %s model %s" % (solve.model_type, solve.model))
        log.line("--- %s(%d) 4 Mb" % (name, solve.line))
        log.line("---   {:,} rows  {:,} columns  {:,} non-zeroes".format(
            stats.rows, stats.columns, stats.nonzeros))
        if stats.discrete and solve.model_type == "MIP":
            log.line("---   {:,} discrete-columns".format(stats.discrete))
        ranges = mpsstats.range_lines(stats)
        log.line("--- Range statistics (absolute non-zero finite values)")
        for line in ranges:
            log.line("--- " + line)
        page.statistics(solve, stats, ranges)
        if stats.rows > DEMO_LIMIT or stats.columns > DEMO_LIMIT:
            message = ["The model exceeds the demo license limits for linear models of more "
                       "than 2000 rows or columns",
                       "As an academic user, you can submit large models to the NEOS service "
                       "for free (see https://www.gams.com/neos)",
                       "Alternatively, feel free to contact sales@gams.com to discuss your "
                       "options"]
            log.line("*** " + message[0])
            for line in message[1:]:
                log.line("    " + line)
            page.licensing_error(message, LICENCE_FILE)
            page.write()
            return self.stop(name, 7)
        solvelink = str(self.params.get("solvelink", "2"))
        log.line("--- Executing %s (Solvelink=%s): elapsed %s" % (solver, solvelink,
                                                                 self.elapsed()))
        limits = {"reslim": float(settings.get("reslim", 1e10)),
                  "iterlim": int(float(settings.get("iterlim", 2147483647)))}
        if solver not in AVAILABLE:
            log.line("")
            log.line("*** %s is not available in the GAMS stand-in (it has CPLEX, GUROBI and "
                     "HIGHS): no solve" % solver)
            result = {"solver_status": 7, "model_status": 11, "objective": None}
            status_lines = []
        else:
            result, status_lines = self.run_solver(solver, solve, settings, mps, scrdir,
                                                   solvelink, limits)
        result["solver_status_text"] = (result["solver_status"],
                                        solver_links.SOLVER_STATUS[result["solver_status"]])
        result["model_status_text"] = (result["model_status"],
                                       solver_links.MODEL_STATUS[result["model_status"]])
        log.line("--- Reading solution for model %s" % solve.model)
        if solve.model_type == "MIP" and result.get("objective") is not None:
            log.line("--- Solver did not provide marginals for model %s" % solve.model)
            log.line("--- To request marginals from the solver set option requestMarginals >= 1")
        page.solve_summary(solve, solver, result, limits, status_lines)
        return self.finish(name, page, input_path, program, 0)

    def run_solver(self, solver, solve, settings, mps, scrdir, solvelink, limits):
        """Start the solver process, forward SIGINT to it, collect its result."""
        if os.path.isdir(scrdir):
            shutil.rmtree(scrdir)
        os.makedirs(scrdir)
        optfile = int(float(settings.get("optfile", 0)))
        option_path = None
        if optfile:
            option_name = solver.lower() + (".opt" if optfile == 1 else ".op%d" % optfile)
            option_path = os.path.join(self.curdir, option_name)
        control = {
            "solver": solver, "mps": mps, "model_type": solve.model_type,
            "direction": solve.direction, "optfile": option_path,
            "reslim": limits["reslim"], "iterlim": limits["iterlim"],
            "optcr": float(settings.get("optcr", 1e-4)),
            "optca": float(settings.get("optca", 0)), "threads": settings.get("threads", 1),
            "logoption": int(self.params.get("logoption", 3)),
            "logfile": self.absolute(self.params.get("logfile")),
            "status_file": os.path.join(scrdir, "gamsstat.txt"),
            "result_file": os.path.join(scrdir, "result.json"),
            "pid_file": os.path.join(scrdir, "solver.pid")}
        control_path = os.path.join(scrdir, "gamscntr.json")
        with open(control_path, "w") as handle:
            json.dump(control, handle)
        self.pid_file = control["pid_file"]
        if solvelink == "0":
            script = os.path.join(scrdir, "gamsnext.sh")
            with open(script, "w") as handle:
                handle.write('/bin/sh "%s" "%s" "%s"\nrc=$?\nexit $rc\n'
                             % (os.path.join(HERE, "gmsgenus.run"), control_path,
                                sys.executable))
            command = ["/bin/sh", os.path.join("225a", "gamsnext.sh"),
                       os.path.join("225a", "gmsprmun.dat")]
        else:
            command = [sys.executable, os.path.join(HERE, "solver.py"), control_path]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        while process.poll() is None:
            self.forward_interrupt()
            time.sleep(0.02)
        result = {"solver_status": 13, "model_status": 13, "objective": None}
        if os.path.isfile(control["result_file"]):
            with open(control["result_file"]) as handle:
                result = json.load(handle)
        status_lines = []
        if os.path.isfile(control["status_file"]):
            with open(control["status_file"]) as handle:
                status_lines = handle.readlines()
        shutil.rmtree(scrdir, ignore_errors=True)  # keep=0: GAMS removes its scratch folder
        return result, status_lines

    def interrupt(self, signum, frame):
        """SIGINT: GAMS passes it to its solver (and goes on to read what it hands back)."""
        self.pending_interrupt = True
        self.forward_interrupt()

    def forward_interrupt(self):
        if not self.pending_interrupt:
            return
        if self.solver_pid is None:
            try:
                with open(self.pid_file) as handle:
                    self.solver_pid = int(handle.read().strip() or 0) or None
            except (AttributeError, IOError, OSError, ValueError):
                return  # no solver yet: forwarded once it has written its pid
        if self.solver_pid is not None:
            self.pending_interrupt = False
            try:
                os.kill(self.solver_pid, signal.SIGINT)
            except ProcessLookupError:  # it has just ended
                pass

    def restart_path(self, name):
        """A save/restart name as GAMS takes it: ``.g00`` is added when it has no extension."""
        path = self.absolute(name)
        return path if os.path.splitext(path)[1] else path + ".g00"

    def finish(self, name, page, input_path, program, rc):
        for file_name, text in program.put_files():
            with open(os.path.join(self.curdir, file_name), "w") as handle:
                handle.write(text + "\n")
        if self.params.get("save"):
            # A real save file is GAMS's binary work file; the stand-in's only says
            # what it saved, so that r= finds a file where GAMS would.
            with open(self.restart_path(self.params["save"]), "w") as handle:
                handle.write("GAMS stand-in save file of %s (not a GAMS work file)\n"
                             % input_path)
        page.close(input_path, seconds=time.time() - self.started)
        self.log.line("*** Status: Normal completion")
        self.log.line("--- Job %s Stop %s elapsed %s" % (name, stamp(), self.elapsed()))
        return rc


def parse_command_line(argv):
    """(input or None, {canonical key: value}, [(user name, value)], [idir paths])."""
    input_path = None
    params = {}
    user_params = []
    idirs = {}
    for arg in argv:
        if "=" not in arg:
            if input_path is None:
                input_path = arg
            continue
        key, value = arg.split("=", 1)
        if key.startswith("--"):
            user_params.append((key[2:], value))
            continue
        key = ALIASES.get(key.lstrip("-/").lower(), key.lstrip("-/").lower())
        if key.startswith("idir") and key[4:].isdigit():
            idirs[int(key[4:])] = os.path.abspath(value)
        elif key == "idir":
            idirs[0] = os.path.abspath(value)
        else:
            params[key] = value
    return input_path, params, user_params, [idirs[k] for k in sorted(idirs)]


def no_arguments():
    """``gams`` alone: the banner GAMS 54.6.1 prints (tests/fixtures/gams_54.6.1_expired)."""
    expired = os.environ.get("TD_STANDIN_LICENCE", "").lower() == "expired"
    lines = ["--- Job ? Start %s %s" % (stamp(), VERSION_TAIL), "*** ",
             "*** GAMS Base Module 54.6.1 20a39885 Oct 24, 2026          LEG x86 64bit/Linux",
             "*** ", "*** (GAMS stand-in for the times-doctor tests: not GAMS)", "*** ",
             "*** GAMS Release     : %s" % VERSION_TAIL,
             "*** Release Date     : Oct 24, 2026",
             "*** To use this release, you must have a valid license file for",
             "*** this platform with maintenance expiration date later than",
             "*** Jun 15, 2026",
             "*** System Directory : %s" % SYSDIR, "***",
             "*** License          : %s" % LICENCE_FILE,
             "*** GAMS stand-in demo limits: at most 2000 rows and 2000 columns", "***"]
    if expired:
        lines += ["*** Time-limited license expired",
                  "*** Time-limited license stops working on : Nov 26, 2026",
                  "*** Note: For solvers, earlier expiration dates may apply."]
    lines += ["*** Status: Normal completion",
              "--- Job ? Stop %s elapsed 0:00:00.001" % stamp()]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def stamp():
    return time.strftime("%m/%d/%y %H:%M:%S")


def memory_gb():
    try:
        with open("/proc/meminfo") as handle:
            return int(handle.readline().split()[1]) // (1024 * 1024)
    except (IOError, OSError, ValueError, IndexError):
        return 0


def main(argv):
    job = Job(argv)
    signal.signal(signal.SIGINT, job.interrupt)
    return job.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
