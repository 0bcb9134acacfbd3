"""The stand-in's listing (.lst), in the layout of the GAMS 54.6.1 listings in tests/fixtures/lst.

Pages and their headers, the SOLVE SUMMARY block with its column widths, the
range and model statistics, the REPORT SUMMARY, FILE SUMMARY, the licensing
error and compilation error endings are taken from those captured listings
(cplex_dual.lst, cplex_mip_marketsplit.lst, cplex_infeasible.lst,
cplex_licence_limit.lst, compile_error.lst) and from the listing a real run
of tests/models/times_style left (times_demo.lst.in: the Include File
Summary).  The solution listing (equation and variable values) is not
written: nothing in times-doctor reads it.
"""

import time

HEADER = "GAMS 54.6.1  20a39885 Oct 24, 2026          LEX-LEG x86 64bit/Linux - %s Page %d"
SYSTEM = "G e n e r a l   A l g e b r a i c   M o d e l i n g   S y s t e m"
USER = ["USER: GAMS stand-in for the times-doctor tests (not GAMS, no GAMS licence)",
        "      real solvers: CPLEX Community Edition, Gurobi restricted licence, HiGHS"]


class Listing(object):
    def __init__(self, path, title=None):
        self.path = path
        self.title = title or SYSTEM
        self.lines = []
        self.page = 0
        self.stamp = time.strftime("%m/%d/%y %H:%M:%S")

    def new_page(self, heading):
        self.page += 1
        self.lines.append(HEADER % (self.stamp, self.page))
        self.lines.append(self.title)
        if heading:
            self.lines.append(heading)
        self.lines.extend(["", ""])

    def compilation(self, program, error=None):
        self.new_page("C o m p i l a t i o n")
        for number, line in enumerate(program.lines, 1):
            self.lines.append("%4d  %s" % (number, line))
        if error is not None:
            self.lines.append("**** $abort: %s" % error.text)
            self.lines.extend(["", "**** 1 ERROR(S)   0 WARNING(S)"])
        if len(program.includes) > 1:
            self.lines.extend(["", ""])
            self.new_page("Include File Summary")
            self.lines.append("   SEQ   GLOBAL TYPE      PARENT   LOCAL  INCLVL  FILENAME")
            self.lines.append("")
            for row in program.includes:
                self.lines.append("%6d %8d %-10s %6d %7d %7d  %s" % (
                    row.seq, row.global_line, row.kind, row.parent, row.local_line,
                    row.level, row.path))
        self.lines.extend(["", ""])
        self.lines.append("COMPILATION TIME     =        0.001 SECONDS      3 MB  54.6.1 "
                          "20a39885 LEX-LEG")

    def statistics(self, solve, stats, range_lines):
        where = "SOLVE %s Using %s From line %d" % (solve.model, solve.model_type, solve.line)
        self.new_page("Range Statistics    " + where)
        self.lines.extend(["RANGE STATISTICS (ABSOLUTE NON-ZERO FINITE VALUES)", ""])
        self.lines.extend(range_lines)
        self.lines.append("")
        self.new_page("Model Statistics    " + where)
        self.lines.extend(["MODEL STATISTICS", ""])
        self.lines.append("BLOCKS OF EQUATIONS   %11s     SINGLE EQUATIONS   %10s"
                          % ("-", "{:,}".format(stats.rows)))
        self.lines.append("BLOCKS OF VARIABLES   %11s     SINGLE VARIABLES   %10s"
                          % ("-", "{:,}".format(stats.columns)))
        self.lines.append("NON ZERO ELEMENTS   %12s" % "{:,}".format(stats.nonzeros))
        if stats.discrete:
            self.lines.append("DISCRETE VARIABLES  %12s" % "{:,}".format(stats.discrete))
        self.lines.extend(["", ""])
        self.lines.append("GENERATION TIME      =        0.001 SECONDS      4 MB  54.6.1 "
                          "20a39885 LEX-LEG")

    def solve_summary(self, solve, solver, result, limits, status_lines):
        where = "SOLVE %s Using %s From line %d" % (solve.model, solve.model_type, solve.line)
        self.new_page("Solution Report     " + where)
        self.lines.append("               S O L V E      S U M M A R Y")
        self.lines.append("")
        self.lines.append("     MODEL   %-19s OBJECTIVE  %s" % (solve.model, solve.objective))
        self.lines.append("     TYPE    %-19s DIRECTION  %s" % (solve.model_type, solve.direction))
        self.lines.append("     SOLVER  %-19s FROM LINE  %d" % (solver, solve.line))
        self.lines.append("")
        self.lines.append("**** SOLVER STATUS     %d %s" % result["solver_status_text"])
        self.lines.append("**** MODEL STATUS      %d %s" % result["model_status_text"])
        if result.get("objective") is not None:
            self.lines.append("**** OBJECTIVE VALUE %22.4f" % result["objective"])
        self.lines.append("")
        self.lines.append(" RESOURCE USAGE, LIMIT%15.3f %13.3f"
                          % (result.get("seconds", 0.0), limits["reslim"]))
        self.lines.append(" ITERATION COUNT, LIMIT%10d %13d"
                          % (result.get("iterations", 0), limits["iterlim"]))
        self.lines.extend(line.rstrip("\n") for line in status_lines)
        self.lines.extend(["", ""])
        infeasible = 1 if result["model_status_text"][0] in (4, 10, 19) else 0
        self.lines.append("**** REPORT SUMMARY :        0     NONOPT")
        self.lines.append("                             %d INFEASIBLE" % infeasible)
        self.lines.append("                             0  UNBOUNDED")

    def licensing_error(self, message_lines, licence_file):
        """The demo-limit ending of cplex_licence_limit.lst; the listing stops there.

        GAMS puts the message before the GENERATION TIME line and writes no
        USER lines and no FILE SUMMARY after it; call write(), not close().
        """
        message = [""] + ["**** " + line if index == 0 else "     " + line.strip()
                          for index, line in enumerate(message_lines)] + [""]
        generation = max(index for index, line in enumerate(self.lines)
                         if line.startswith("GENERATION TIME"))
        self.lines[generation:generation] = message
        self.terminated(licence_file)
        self.lines.extend(["", "**** Current license content:",
                           "     (the GAMS stand-in has no licence content)"])

    def terminated(self, licence_file):
        self.lines.append("**** Terminated due to a licensing error")
        self.lines.append("**** License file: %s" % licence_file)

    def close(self, input_path, seconds=None, errors=False):
        if seconds is not None:
            self.lines.extend(["", ""])
            self.lines.append("EXECUTION TIME       = %12.3f SECONDS      4 MB  54.6.1 "
                              "20a39885 LEX-LEG" % seconds)
        self.lines.extend(["", ""])
        self.lines.extend(USER)
        self.lines.extend(["", "", "**** FILE SUMMARY", ""])
        self.lines.append("Input      %s" % input_path)
        self.lines.append("Output     %s" % self.path)
        if errors:
            self.lines.extend(["", "**** USER ERROR(S) ENCOUNTERED"])
        self.write()

    def write(self):
        with open(self.path, "w") as handle:
            handle.write("\n".join(self.lines) + "\n")
