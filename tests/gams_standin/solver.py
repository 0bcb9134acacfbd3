"""The stand-in's solver process: a real CPLEX, Gurobi or HiGHS solve of the model's MPS.

Started by the stand-in ``gams`` through two shells (see gams.py) with one
argument, the control file (JSON) that gams.py wrote into its scratch
directory.  It does the solver link's part of a GAMS job:

* the link's framing lines (``--- Reading option file``, ``--- Setting``,
  ``--- Starting Cplex``, ``--- LP status (1): optimal.``, ...), whose text
  comes from the GAMS 54.6.1 logs in tests/fixtures/logs, go to the log and
  to the status file that gams.py copies into the listing;
* the solver's own log goes to the log only, written by the real solver as
  it runs (each write flushed, so a watcher sees it at once);
* the result (GAMS solver and model status, objective, iterations, time)
  goes to the result file for gams.py's SOLVE SUMMARY.

SIGINT is left to the solver libraries, which turn it into an orderly stop
that keeps the best point (CPLEX: status 113 "aborted"; Gurobi: "Solve
interrupted", status 11): gams.py forwards its own SIGINT here, as GAMS
forwards it to its solver.
"""

import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import solver_links  # noqa: E402 (sys.path above)


class Output(object):
    """Where the log goes: the log file (logoption 2), stdout (3), both (4) or nowhere (0)."""

    def __init__(self, logoption, logfile, status_file):
        self.targets = []
        if logoption in (2, 4) and logfile:
            self.targets.append(io.open(logfile, "a", encoding="utf-8", errors="replace"))
        if logoption in (3, 4):
            self.targets.append(io.open(sys.stdout.fileno(), "w", encoding="utf-8",
                                        errors="replace", closefd=False))
        self.status = io.open(status_file, "w", encoding="utf-8")

    def write(self, text):
        """Solver log text: the log only."""
        for target in self.targets:
            target.write(text)
            target.flush()

    def flush(self):
        for target in self.targets:
            target.flush()

    def frame(self, line=""):
        """A line of the link's own: the log and the listing's status section."""
        self.write(line + "\n")
        self.status.write(line + "\n")
        self.status.flush()

    def close(self):
        for target in self.targets:
            target.close()
        self.status.close()


def main(control_path):
    with open(control_path) as handle:
        control = json.load(handle)
    with open(control["pid_file"], "w") as handle:
        handle.write("%d\n" % os.getpid())
    output = Output(control["logoption"], control.get("logfile"), control["status_file"])
    started = time.time()
    try:
        link = solver_links.LINKS[control["solver"]](control, output)
        result = link.run()
    finally:
        output.close()
    result["seconds"] = result.get("seconds", time.time() - started)
    temporary = control["result_file"] + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(result, handle)
    os.rename(temporary, control["result_file"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
