"""Drive a MultiRunProgressMonitor on stdout for about two seconds.

tests/test_monitor_tty.py runs this in a real pseudo-terminal and through a
pipe, then checks the bytes that came out.  Every status change is also
listed on stderr (unless stderr is a terminal) as "CHANGE <name> <status>" so the test can compare stdout
against what actually happened.  Try it by hand: python tests/monitor_demo.py

Options:
    --mode auto|live|plain   auto (default) lets the monitor decide from stdout
    --crash                  raise inside the monitor's `with` block, to check
                             that the terminal is restored anyway
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from times_doctor.multi_run_progress import (MultiRunProgressMonitor,  # noqa: E402 (sys.path above)
                                              RunStatus)

DUAL = "cplex/dual"
BARRIER = "cplex/barrier"
GUROBI = "gurobi/default"
STEP_SECONDS = 0.1


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("auto", "live", "plain"), default="auto")
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--heartbeat", type=float, default=0.5)
    args = parser.parse_args(argv)
    live = {"auto": None, "live": True, "plain": False}[args.mode]
    monitor = MultiRunProgressMonitor([DUAL, BARRIER, GUROBI], live=live,
                                      refresh_seconds=0.1, heartbeat_seconds=args.heartbeat)

    # On a terminal the list would scribble over the live table: only log it
    # when stderr goes somewhere else (the tests' pipe).
    log_changes = not sys.stderr.isatty()

    def status(name, new_status):
        monitor.set_status(name, new_status)
        if log_changes:
            sys.stderr.write("CHANGE %s %s\n" % (name, new_status))
            sys.stderr.flush()

    try:
        with monitor:
            _scenario(monitor, status, args.crash)
    finally:
        if log_changes:
            sys.stderr.write("LIVE %s\nDONE\n" % monitor.live)
    return 0


def _scenario(monitor, status, crash):
    status(DUAL, RunStatus.STARTING)
    monitor.set_pid(DUAL, 4242)
    status(DUAL, RunStatus.RUNNING)
    status(BARRIER, RunStatus.STARTING)
    monitor.set_pid(BARRIER, 4343)
    status(BARRIER, RunStatus.RUNNING)
    for step in range(8):
        monitor.update(DUAL, phase="dual simplex", iteration=1000 * (step + 1),
                       progress=step / 8.0, details="infeas %.2f" % (1.0 / (step + 1)))
        monitor.update(BARRIER, phase="barrier", iteration=step + 1, progress=step / 16.0)
        time.sleep(STEP_SECONDS)
    monitor.message("note: %s switched to crossover" % BARRIER)
    monitor.update(DUAL, result="optimal", phase="done", progress=1.0)
    status(DUAL, RunStatus.COMPLETED)
    status(GUROBI, RunStatus.STARTING)
    monitor.set_pid(GUROBI, 4444)
    status(GUROBI, RunStatus.RUNNING)
    time.sleep(3 * STEP_SECONDS)
    if crash:
        raise RuntimeError("demo crash inside the live display")
    with monitor.pause_display():
        sys.stdout.write("(display paused: a menu would be here)\n")
        sys.stdout.flush()
        status(GUROBI, RunStatus.PAUSED)
        time.sleep(2 * STEP_SECONDS)
        status(GUROBI, RunStatus.RUNNING)
    time.sleep(3 * STEP_SECONDS)
    monitor.update(BARRIER, details="GAMS return code 3: execution error")
    status(BARRIER, RunStatus.FAILED)
    time.sleep(2 * STEP_SECONDS)
    status(GUROBI, RunStatus.CANCELLED)
    time.sleep(2 * STEP_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
