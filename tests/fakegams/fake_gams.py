"""A stand-in for the ``gams`` executable, driven by comments in the model file.

Usage is GAMS-like::

    fake_gams.py DRIVER [key=value | -key=value | --name=value] ...

Keys are case-insensitive; the ones that matter here are ``lo``/``logoption``
(0 none, 2 log file, 3 stdout, 4 both), ``lf``/``logfile``, ``o``/``output``
and ``curdir``/``cd``.  Everything else is echoed in the log and ignored.

The driver's lines of the form ``* FAKE: <directive> [args]`` run in file order:

    sleep SECONDS          sleep, then go on
    ignore-term            ignore SIGTERM (SIGKILL still works); the gams wrapper
                           already ignores it from the start when it finds the driver.
                           Windows: ignore CTRL_BREAK (TerminateProcess still works)
    grandchildren N [S]    start N children that ignore SIGTERM / CTRL_BREAK and sleep
                           S seconds (120)
    setsid-grandchild [S]  POSIX: fork a child that calls os.setsid() and sleeps S seconds
    orphan-grandchild [S]  start a child that starts a sleeper (S seconds) and exits at
                           once: the sleeper's parent is gone, so a walk down the process
                           tree from GAMS no longer finds it (Windows: its job still does)
    breakaway-grandchild [S]  Windows: start a sleeper with CREATE_BREAKAWAY_FROM_JOB and
                           log whether Windows allowed it to leave the run's Job Object
    solver RATE SECONDS [dual|barrier]
                           start a solver process (Windows: gmsgennx.exe beside gams.exe,
                           else this script) that appends CPLEX-style lines to the log
                           file as CPLEX does under GAMS, and wait for it
    message-window [ignore]  Windows: open GAMS's hidden message window
                           (``___GAMSMSGWINDOW___<pid>``) on a thread; "GAMS Message
                           Interrupt" ends the solver and the job with solver status 8
                           (User Interrupt), unless ``ignore``
    huge-log MB LINE_KB    write MB megabytes of log in LINE_KB-kilobyte lines that
                           contain invalid UTF-8
    cplex-log RATE SECONDS [dual|barrier] [burst N] [pad BYTES]
                           write CPLEX-style iteration lines, RATE lines per second;
                           burst N: N lines in one write every N/RATE seconds (a solver
                           with buffered output); pad BYTES: each line BYTES longer
    objective VALUE        the objective written to the listing (default 153.675)
    exit RC                stop here: write the log's error status and exit with RC

``gams`` with no arguments prints a banner in GAMS's layout (release, system
directory, licence; see ``banner()``), as times-doctor's preflight reads it.

A run that is not stopped by ``exit`` writes ``<stem>.lst`` (or ``o=``) with an
optimal solve summary and exits 0.  The log starts with ``--- fake: gams pid N``;
started children log their pids as ``--- fake: grandchild pid N`` / ``--- fake:
setsid grandchild pid N`` / ``--- fake: orphan grandchild pid N`` / ``--- fake:
solver pid N``.

On Windows the same script runs behind ``gams.cmd`` (beside this file), or as
``gams.exe``: a copy of the embeddable ``python.exe`` whose ``gams._pth`` puts
this folder on its path, where ``sitecustomize.py`` hands the command line to
``main()`` (see ``exe_main``).  Those trees, and what in them rests on what, are
described in tests/wine_helpers.py.

Standard library only, CPython 3.6+.
"""

import os
import signal
import subprocess
import sys
import threading
import time

WINDOWS = os.name == "nt"

KEY_ALIASES = {"lo": "logoption", "lf": "logfile", "o": "output", "cd": "curdir"}
# What real GAMS prints as "*** Status:" for some return codes.
STATUS_BY_RC = {2: "Compilation error(s)", 3: "Execution error(s)",
                6: "Terminated due to parameter errors", 7: "Terminated due to a licensing error"}
DEFAULT_OBJECTIVE = 153.675
DEFAULT_CHILD_SECONDS = 120.0
# One run's start time, for the log's "elapsed" fields.
START = time.time()
# Windows: CreateProcess flags (winbase.h).
CREATE_BREAKAWAY_FROM_JOB = 0x01000000
# What GAMS prints for its platform in the banner, the log and the listing.
PLATFORM = "WEX-WEI x86 64bit/MS Windows" if WINDOWS else "LEX-LEG x86 64bit/Linux"
# Set by the message window's thread when GAMS's interrupt message arrives.
INTERRUPTED = threading.Event()


def main(argv):
    if argv[1:2] == ["--fake-child"]:  # start_child(): [this script, "--fake-child", ...]
        return child_main(argv[2:])
    if argv[:1] == ["--fake-child"]:
        return child_main(argv[1:])
    driver, options = parse_command_line(argv)
    if driver is None:
        return banner()
    curdir = options.get("curdir")
    if curdir:
        os.chdir(curdir)
    driver_path = os.path.abspath(driver)
    stem = os.path.splitext(os.path.basename(driver_path))[0]
    log = Log(int(options.get("logoption", "3")),
              os.path.abspath(options.get("logfile", stem + ".log")))
    lst_path = os.path.abspath(options.get("output", stem + ".lst"))
    try:
        return run(driver_path, options, log, lst_path)
    finally:
        log.close()


def banner():
    """``gams`` alone: a banner in the layout of GAMS 54.6.1's (tests/fixtures/gams_expired/
    noargs.txt), so times-doctor's preflight finds a release, a system directory (this
    folder: no option definition files, so option files go unchecked) and a licence
    without a time limit."""
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    lines = ["--- Job ? Start 01/01/26 00:00:00 0.0.0 fake %s" % PLATFORM, "*** ",
             "*** Fake GAMS for the times-doctor tests: not GAMS", "*** ",
             "*** GAMS Release     : 0.0.0 fake %s" % PLATFORM,
             "*** Release Date     : Jan 01, 2026",
             "*** System Directory : %s" % here, "***",
             "*** License          : %sgamslice.txt" % here,
             "*** Fake GAMS, no licence", "***",
             "*** Status: Normal completion",
             "--- Job ? Stop 01/01/26 00:00:00 elapsed 0:00:00.000"]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def parse_command_line(argv):
    """Return (driver or None, {lower-case key: value})."""
    driver = None
    options = {}
    for arg in argv:
        if "=" in arg:
            key, value = arg.split("=", 1)
            key = key.lower()
            if key.startswith("--"):
                options[key] = value  # a user --name=value, kept as is
                continue
            key = key.lstrip("-/")
            options[KEY_ALIASES.get(key, key)] = value
        elif driver is None:
            driver = arg
    return driver, options


def read_directives(driver_path):
    directives = []
    with open(driver_path, "rb") as handle:
        for raw in handle:
            line = raw.decode("utf-8", "replace").strip()
            if line.upper().startswith("* FAKE:"):
                words = line[len("* FAKE:"):].split()
                if words:
                    directives.append((words[0].lower(), words[1:]))
    return directives


def run(driver_path, options, log, lst_path):
    name = os.path.basename(driver_path)
    log.line("--- Job %s Start %s 54.6.1 fake00 %s"
             % (name, time.strftime("%m/%d/%y %H:%M:%S"), PLATFORM))
    log.line("--- fake: gams pid %d" % os.getpid())
    log.line("--- GAMS Parameters defined")
    log.line("    Input %s" % driver_path)
    log.line("    Output %s" % lst_path)
    for key in sorted(options):
        log.line("    %s %s" % (key, options[key]))
    if not os.path.isfile(driver_path):
        log.line("*** SysMsg: No such file or directory")
        log.line("*** Status: Terminated due to parameter errors")
        return 6  # real GAMS: 6 = parameter error
    directives = read_directives(driver_path)
    log.line("--- Starting compilation")
    log.line("--- %s(%d) 3 Mb" % (name, len(directives)))
    log.line("--- Starting execution: elapsed %s" % elapsed())
    objective = DEFAULT_OBJECTIVE
    for directive, args in directives:
        if directive == "sleep":
            INTERRUPTED.wait(float(args[0]))
        elif directive == "ignore-term":
            ignore_term()
        elif directive == "grandchildren":
            seconds = float(args[1]) if len(args) > 1 else DEFAULT_CHILD_SECONDS
            for _ in range(int(args[0])):
                log.line("--- fake: grandchild pid %d" % start_sleeper(seconds))
        elif directive == "setsid-grandchild":
            seconds = float(args[0]) if args else DEFAULT_CHILD_SECONDS
            log.line("--- fake: setsid grandchild pid %d" % fork_sleeper(seconds, setsid=True))
        elif directive == "orphan-grandchild":
            seconds = float(args[0]) if args else DEFAULT_CHILD_SECONDS
            log.line("--- fake: orphan grandchild pid %d" % start_orphan(seconds))
        elif directive == "breakaway-grandchild":
            seconds = float(args[0]) if args else DEFAULT_CHILD_SECONDS
            log.line("--- fake: breakaway grandchild %s" % start_breakaway(seconds))
        elif directive == "solver":
            kind = args[2].lower() if len(args) > 2 else "dual"
            run_solver(log, float(args[0]), float(args[1]), kind)
        elif directive == "message-window":
            open_message_window(log, acts=not (args and args[0].lower() == "ignore"))
        elif directive == "huge-log":
            write_huge_log(log, float(args[0]), float(args[1]))
        elif directive == "cplex-log":
            kind = args[2].lower() if len(args) > 2 else "dual"
            extra = dict(zip(args[3::2], args[4::2]))
            write_cplex_log(log, float(args[0]), float(args[1]), kind,
                            burst=int(extra.get("burst", 1)), pad=int(extra.get("pad", 0)))
        elif directive == "objective":
            objective = float(args[0])
        elif directive == "exit":
            rc = int(args[0])
            if rc != 0:
                log.line("*** Status: %s" % STATUS_BY_RC.get(rc, "Fake exit %d" % rc))
                log_job_stop(log, name)
                return rc
            break
        else:
            log.line("*** fake gams: unknown directive %r" % directive)
            return 2
        if INTERRUPTED.is_set():
            # What GAMS does after an interrupt: the solver hands back its
            # point, GAMS writes the listing (solver status 8) and goes on.
            log.line("--- Reading solution for model fake")
            write_lst(lst_path, name, objective, solver_status="8 User Interrupt",
                      model_status="7 Intermediate Nonoptimal")
            log.line("*** Status: Normal completion")
            log_job_stop(log, name)
            return 0
    log.line("--- Reading solution for model fake")
    write_lst(lst_path, name, objective)
    log.line("*** Status: Normal completion")
    log_job_stop(log, name)
    return 0


class Log(object):
    """GAMS log destinations: lo=0 nothing, 2 the log file, 3 stdout, 4 both."""

    def __init__(self, logoption, path):
        self._file = None
        self.streams = []
        self.path = path if logoption in (2, 4) else None
        if logoption in (2, 4):
            # Append like GAMS with AppendLog 1; unbuffered so tailers see every line.
            self._file = open(path, "ab", buffering=0)
            self.streams.append(self._file)
        if logoption in (3, 4):
            self.streams.append(getattr(sys.stdout, "buffer", sys.stdout))

    def write(self, data):
        for stream in self.streams:
            stream.write(data)
            stream.flush()

    def line(self, text):
        self.write(text.encode("utf-8") + b"\n")

    def close(self):
        if self._file is not None:
            self._file.close()
            self.streams.remove(self._file)
            self._file = None

    def reopen(self):
        if self.path is not None and self._file is None:
            self._file = open(self.path, "ab", buffering=0)
            self.streams.insert(0, self._file)


def log_job_stop(log, name):
    log.line("--- Job %s Stop %s elapsed %s"
             % (name, time.strftime("%m/%d/%y %H:%M:%S"), elapsed()))


def elapsed():
    seconds = time.time() - START
    return "%d:%02d:%06.3f" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)


def fork_sleeper(seconds, setsid):
    """Fork a child that ignores SIGTERM and sleeps; return its pid once it is set up.

    The parent waits for the child's "ready" byte, so a test that reads the pid
    from the log may signal the child at once without racing its set-up.
    """
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid:
        os.close(ready_write)
        os.read(ready_read, 1)
        os.close(ready_read)
        return pid
    try:
        os.close(ready_read)
        if setsid:
            os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Let go of inherited pipes so a parent reading our stdout sees EOF
        # when the fake gams exits, as it would with a detached real solver.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.write(ready_write, b"r")
        os.close(ready_write)
        time.sleep(seconds)
    finally:
        os._exit(0)


def ignore_term():
    """Ignore the polite request to stop: SIGTERM, or CTRL_BREAK on Windows."""
    signal.signal(signal.SIGBREAK if WINDOWS else signal.SIGTERM, signal.SIG_IGN)


def start_sleeper(seconds):
    """A child that ignores SIGTERM / CTRL_BREAK and sleeps; its pid once it is set up."""
    if not WINDOWS:
        return fork_sleeper(seconds, setsid=False)
    return start_child(["sleeper", str(seconds)]).pid


def start_orphan(seconds):
    """The pid of a sleeper whose parent (a child of ours) has already exited."""
    middle = start_child(["orphan", str(seconds)], stdout=subprocess.PIPE)
    pid = int(middle.stdout.readline())
    middle.stdout.close()
    middle.wait()
    return pid


def start_breakaway(seconds):
    """Ask Windows to start a sleeper outside our Job Object: "pid N", or why it refused."""
    try:
        return "pid %d" % start_child(["sleeper", str(seconds)],
                                      creationflags=CREATE_BREAKAWAY_FROM_JOB).pid
    except OSError as exc:
        return "refused: %s" % exc


def start_child(args, stdout=None, creationflags=0, program=None):
    """This script (or *program*) in child mode; returns once the child says it is ready.

    The child writes "ready" on a pipe after setting itself up, so a test that
    reads its pid from the log may act on it at once.
    """
    # This script's path comes first even for an .exe copy (whose sitecustomize
    # runs it from its argv): an argument starting with "-" would be taken by
    # the interpreter as one of its own options.
    command = [program or sys.executable, os.path.abspath(__file__)]
    ready_read, ready_write = os.pipe()
    if WINDOWS:
        import msvcrt
        os.set_inheritable(ready_write, True)
        handle = msvcrt.get_osfhandle(ready_write)
        kwargs = {"startupinfo": subprocess.STARTUPINFO(lpAttributeList={"handle_list": [handle]})}
        ready_arg = str(handle)
    else:
        kwargs = {"pass_fds": (ready_write,)}
        ready_arg = str(ready_write)
    child = subprocess.Popen(command + ["--fake-child", ready_arg] + list(args),
                             stdin=subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, close_fds=True,
                             creationflags=creationflags, **kwargs)
    os.close(ready_write)
    with os.fdopen(ready_read, "rb") as ready:
        if ready.read(1) != b"r":
            raise SystemExit("fake gams: child %s exited before it was ready" % " ".join(args))
    return child


def child_main(argv):
    """``--fake-child READY KIND ARGS``: what start_child() asked for."""
    ready, kind, args = argv[0], argv[1], argv[2:]
    if WINDOWS:
        import msvcrt
        ready_fd = msvcrt.open_osfhandle(int(ready), os.O_WRONLY)
    else:
        ready_fd = int(ready)
    if kind == "orphan":
        grandchild = start_child(["sleeper", args[0]])
        sys.stdout.write("%d\n" % grandchild.pid)
        sys.stdout.flush()
        os.write(ready_fd, b"r")
        return 0  # exits at once: the sleeper's parent is gone
    ignore_term()
    if kind == "sleeper":
        os.write(ready_fd, b"r")
        os.close(ready_fd)
        time.sleep(float(args[0]))
        return 0
    if kind == "solver":
        log_path, rate, seconds, solve_kind = args
        log = Log(2, log_path)
        os.write(ready_fd, b"r")
        os.close(ready_fd)
        try:
            write_cplex_log(log, float(rate), float(seconds), solve_kind)
        finally:
            log.close()
        return 0
    raise SystemExit("fake gams: unknown child kind %r" % kind)


def run_solver(log, rate, seconds, kind):
    """The solver as GAMS runs it with solvelink=0: a process of its own that writes
    the log (Windows: ``gmsgennx.exe`` beside ``gams.exe``, as in a GAMS system
    folder); GAMS waits for it, and on an interrupt ends it."""
    if log.path is None:
        raise SystemExit("fake gams: the solver directive needs logoption 2 or 4")
    log.close()  # the solver writes the log now; GAMS reopens it after
    solver_exe = os.path.join(os.path.dirname(sys.executable), "gmsgennx.exe")
    program = solver_exe if WINDOWS and os.path.isfile(solver_exe) else None
    solver = start_child(["solver", log.path, str(rate), str(seconds), kind], program=program)
    log.reopen()
    log.line("--- fake: solver pid %d" % solver.pid)
    while solver.poll() is None:
        if INTERRUPTED.wait(0.05):
            solver.kill()
            solver.wait()


def open_message_window(log, acts):
    """GAMS's hidden message window, served by a thread (Windows only).

    GAMS titles it ``___GAMSMSGWINDOW___<pid>`` and stops the solve on a
    WM_COPYDATA carrying "GAMS Message Interrupt" (what GAMS Studio and the
    Python API send: _procgroup_windows.py cites them).  *acts* False: the
    message is taken and nothing happens, as when GAMS is busy compiling.
    """
    # Beside this script, which the embeddable Python (its ._pth) does not put on the path.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fake_gams_window  # ctypes and user32: Windows only
    ready = threading.Event()
    thread = threading.Thread(target=fake_gams_window.serve,
                              args=(os.getpid(), INTERRUPTED if acts else threading.Event(),
                                    ready, log.line))
    thread.daemon = True
    thread.start()
    ready.wait(30)


def write_huge_log(log, megabytes, line_kilobytes):
    # Invalid UTF-8 (a lone continuation byte, an overlong lead) inside long lines.
    unit = b"CPLEX \xff\xfe \xc0 log line "
    line_bytes = max(1, int(line_kilobytes * 1024))
    line = (unit * (line_bytes // len(unit) + 1))[:line_bytes - 1] + b"\n"
    remaining = int(megabytes * 1024 * 1024)
    while remaining > 0:
        chunk = line if remaining >= len(line) else line[:remaining - 1] + b"\n"
        log.write(chunk)
        remaining -= len(chunk)


def write_cplex_log(log, rate, seconds, kind, burst=1, pad=0):
    log.line("--- Executing CPLEX (Solvelink=2): elapsed %s" % elapsed())
    log.line("")
    log.line("Tried aggregator 1 time.")
    log.line("Reduced LP has 1500 rows, 1500 columns, and 17000 nonzeros.")
    if kind == "barrier":
        log.line("Number of nonzeros in lower triangle of A*A' = 60000")
        log.line(" Itn      Primal Obj        Dual Obj  Prim Inf Upper Inf  Dual Inf Inf Ratio")
    else:
        log.line("")
        log.line("Iteration log . . .")
    count = max(1, int(rate * seconds))
    burst = max(1, burst)
    interval = burst / rate if rate > 0 else 0.0
    padding = b" " * pad
    deadline = time.time()
    batch = []
    for index in range(count):
        if kind == "barrier":
            text = ("%4d  %14.7e  %14.7e  %8.2e  %8.2e  %8.2e  %8.2e"
                    % (index, -1000.0 - index, -9000.0 + index, 1.0 / (index + 1), 0.0,
                       2.0 / (index + 1), 1.0 + index))
        else:
            text = ("Iteration: %5d   Dual objective     = %20.6f"
                    % (index * 50 + 1, 1000.0 + 10.0 * index))
        batch.append(text.encode("utf-8") + padding + b"\n")
        if len(batch) < burst and index + 1 < count:
            continue
        log.write(b"".join(batch))  # one write per burst, as a buffered solver does
        batch = []
        deadline += interval
        pause = deadline - time.time()
        if pause > 0:
            time.sleep(pause)
    log.line("")
    log.line("--- LP status (1): optimal.")
    log.line("--- Cplex Time: %.2fsec (det. 100.00 ticks)" % seconds)


def write_lst(path, name, objective, solver_status="1 Normal Completion",
              model_status="1 Optimal"):
    text = """GAMS 54.6.1  fake00 Nov 24, 2026          %(platform)s
Fake listing of %(name)s


               S O L V E      S U M M A R Y

     MODEL   fake                OBJECTIVE  z
     TYPE    LP                  DIRECTION  MINIMIZE
     SOLVER  CPLEX               FROM LINE  1

**** SOLVER STATUS     %(solver_status)s
**** MODEL STATUS      %(model_status)s
**** OBJECTIVE VALUE%(objective)22.4f

 RESOURCE USAGE, LIMIT          0.001 10000000000.000
 ITERATION COUNT, LIMIT         4    2147483647

**** REPORT SUMMARY :        0     NONOPT
                             0 INFEASIBLE
                             0  UNBOUNDED


EXECUTION TIME       =        0.001 SECONDS      3 MB  54.6.1 fake00 LEX-LEG

USER: fake gams for the times-doctor tests
""" % {"name": name, "objective": objective, "solver_status": solver_status,
       "model_status": model_status, "platform": PLATFORM}
    with open(path, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
