"""The stand-in's solver links: GAMS option file -> real solver parameters -> GAMS statuses.

One class per solver, each with the same three steps: read the option file
the GAMS way, solve with the real library (its log streamed as written), and
map the solver's status to GAMS's solver and model status.  What each line
rests on:

* CPLEX framing (banner, ``--- Reading option file '...':``, ``--- Setting
  'lpmethod': 2``, ``--- Starting Cplex``, ``--- LP status (1): optimal.``,
  ``--- MIP status (101): integer optimal solution.``, ``--- Cplex Time:``,
  ``Optimal solution found`` / ``Objective:``, ``Proven optimal solution`` /
  ``MIP Solution:``, ``Model has been proven infeasible``): the GAMS 54.6.1
  logs in tests/fixtures/logs (cplex_dual, cplex_mip_marketsplit,
  cplex_infeasible).  The CPXPARAM lines the link sets (Advance 0,
  MIP_Display 4, MIP_Pool_Capacity 0, AbsMIPGap = optca, MIPGap = optcr,
  TimeLimit = reslim) are the ones those logs show.
* "MIP status (113): aborted" after an interrupt: CPLEX's own status string
  (CPXgetstatstring), as the real GAMS printed it in test_control_e2e.
* GAMS/Gurobi and GAMS/HiGHS framing was never captured (no licence for
  them in GAMS here): the stand-in reuses the CPLEX link's option-file lines
  with the solver's name, and adds nothing else; the solver's own log is real.
* Statuses: GAMS User's Guide, "Model Status" and "Solver Status" tables;
  interrupt with an incumbent -> 8 User Interrupt / 8 Integer Solution as
  the real GAMS listing showed (test_control_e2e).
* Unknown options, and values the solver rejects (out of range): reported in
  the log and ignored, as GAMS's option reader does; the wording (``***
  Unknown option "NAME", ignored``, ``*** Value ... rejected by Cplex ...,
  ignored``) is the stand-in's (not captured).
* Options the links handle themselves (``LINK_OPTIONS``; GAMS docs S_CPLEX
  and S_GUROBI, and the def files of gamspy-base 54.6.1: ``iis`` enumint
  0-2, ``names`` boolean): ``iis 1`` runs CPLEX's own conflict refiner after
  an infeasible solve (``iis 2``: without a solve first) and writes the
  conflict as GAMS/CPLEX does, in GAMS names, into the log and the listing::

      Number of equations in conflict: 1
        fixed: EQ_CUMFLO(R1,IMPELC,ELC,2020,2050) = 0
      Number of variables in conflict: 9
        lower: VAR_ACT(R1,2020,2020,IMPELC,DAY) > 10
        upper: VAR_CUMFLO(R1,IMPELC,ELC,2020,2050) < 750

  The layout rests on two captures of real GAMS/CPLEX output quoted in
  public write-ups (see README.md: a TIMES run on the VEDA/TIMES forum,
  thread 1519, and a ReEDS run): the two count lines, ``fixed:`` for an
  ``=E=`` row with ``=``, ``lower:`` for a ``=G=`` row and a lower bound
  with ``>``, ``upper:`` for an upper bound with ``<``, numbers as ``%g``
  (5.80786e+07, 57.9283).  ``upper:`` for a ``=L=`` row is the same rule
  (not captured).  With ``names no`` CPLEX gets no names and the rows and
  columns are CPLEX's defaults (``c1``, ``x1``).  Gurobi's ``iis 1`` runs
  Gurobi's computeIIS, whose own log lines (``IIS computed: 1 constraints
  and 9 bounds``) are real; GAMS/Gurobi's rendering of the members was never
  captured, so the stand-in writes none.
* ``datacheck`` is CPLEX's parameter read.datacheck; with 2 (modeling
  assistance) CPLEX itself writes its ``CPLEX Warning  1036: ...`` lines into
  its log as it solves (observed with cplex 22.2 on these models).
"""

import os
import re
import sys
import time

# GAMS's solver and model status texts (GAMS User's Guide, "The Solve Summary").
SOLVER_STATUS = {1: "Normal Completion", 2: "Iteration Interrupt", 3: "Resource Interrupt",
                 4: "Terminated by Solver", 7: "Licensing Problem", 8: "User Interrupt",
                 10: "Solver Failure", 13: "System Failure"}
MODEL_STATUS = {1: "Optimal", 3: "Unbounded", 4: "Infeasible", 6: "Intermediate Infeasible",
                7: "Feasible Solution", 8: "Integer Solution", 10: "Integer Infeasible",
                11: "Lic Problem - No Solution", 13: "Error No Solution",
                14: "No Solution Returned", 19: "Infeasible - No Solution"}

BANNER_TAIL = "54.6.1 20a39885 Oct 24, 2026          LEG x86 64bit/Linux    "


def read_option_file(path):
    """[(line number, name as written, value text)] of a GAMS solver option file."""
    entries = []
    with open(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or raw.startswith("*"):
                continue
            match = re.match(r"^([A-Za-z_][\w.]*)\s*(?:=\s*|\s+)(.*?)\s*$", line)
            if match:
                entries.append((number, match.group(1), match.group(2)))
            else:
                entries.append((number, line, ""))
    return entries


# What GAMS's option reader takes for a boolean (checked with gamsapi's gams.core.opt).
BOOLEAN_WORDS = {"1": 1, "0": 0, "yes": 1, "no": 0, "true": 1, "false": 0, "on": 1,
                 "off": 0, "y": 1, "n": 0, "t": 1, "f": 0}


def number(text):
    value = float(text)
    return int(value) if value == int(value) and "." not in text and "e" not in text.lower() \
        else value


class Link(object):
    """What every link shares: the option-file framing and the result record."""

    name = None           # as GAMS names the solver in its log ("Cplex", "Gurobi", "HiGHS")
    banner = None
    # GAMS link options the link acts on itself (not solver parameters):
    # name -> (kind, lowest, highest, default, help) as in GAMS's def files.
    LINK_OPTIONS = {}

    def __init__(self, control, output):
        self.control = control
        self.output = output
        self.is_mip = control["model_type"] == "MIP"
        self.link_values = dict((name, spec[3]) for name, spec in self.LINK_OPTIONS.items())

    def run(self):
        # The banner is in GAMS's log only; the listing's copy starts at the licence line.
        self.output.write("\n%s\n\n" % self.banner)
        self.output.frame("*** GAMS stand-in (times-doctor tests): the real %s, %s"
                          % (self.name, self.licence_text()))
        self.output.frame("")
        settings = self.option_settings()
        self.output.frame("--- Starting %s" % self.name)
        self.output.frame("")
        return self.solve(settings)

    def option_settings(self):
        """Known (parameter, value) pairs from the option file, unknown ones reported."""
        path = self.control.get("optfile")
        if not path:
            return []
        if not os.path.isfile(path):
            self.output.frame("*** Cannot open option file %s" % path)
            return []
        self.output.frame("--- Reading option file '%s':" % path)
        settings = []
        for _, name, value in read_option_file(path):
            if name.lower() in self.LINK_OPTIONS:
                self.link_option(name.lower(), value)
                continue
            parameter = self.parameter_for(name.lower())
            if parameter is None:
                self.output.frame('*** Unknown option "%s", ignored' % name)
                continue
            try:
                settings.append((parameter, number(value)))
            except ValueError:
                self.output.frame("*** Value for option '%s' is not a number: %s, ignored"
                                  % (name.lower(), value))
                continue
            self.output.frame("--- Setting '%s': %s" % (name.lower(), value))
        self.output.frame("")
        return settings

    def link_option(self, name, value):
        """Take one of LINK_OPTIONS, checked as GAMS's option reader checks it."""
        kind, lowest, highest = self.LINK_OPTIONS[name][:3]
        if kind == "boolean":
            parsed = BOOLEAN_WORDS.get(value.lower())
        else:
            try:
                parsed = int(value)
            except ValueError:
                parsed = None
            if parsed is not None and not lowest <= parsed <= highest:
                parsed = None
        if parsed is None:
            self.output.frame("*** Value for option '%s' is not valid: %s, ignored"
                              % (name, value))
            return
        self.link_values[name] = parsed
        self.output.frame("--- Setting '%s': %s" % (name, value))

    def conflict_lines(self, rows, columns):
        """GAMS/CPLEX's rendering of a conflict (see the module doc).

        rows: [(name, sense "E"/"G"/"L"/"R", rhs)]; columns: [(name, "lower"
        or "upper" or "fixed", value)].
        """
        kinds = {"E": ("fixed", "="), "G": ("lower", ">"), "L": ("upper", "<"),
                 "R": ("rng", "=")}
        lines = ["Number of equations in conflict: %d" % len(rows)]
        for name, sense, rhs in rows:
            kind, operator = kinds[sense]
            lines.append("  %s: %s %s %s" % (kind, name, operator, _g(rhs)))
        lines.append("Number of variables in conflict: %d" % len(columns))
        operators = {"lower": ">", "upper": "<", "fixed": "="}
        for name, kind, value in columns:
            lines.append("  %s: %s %s %s" % (kind, name, operators[kind], _g(value)))
        return lines

    def result(self, solver_status, model_status, objective, iterations, nodes, seconds):
        return {"solver_status": solver_status, "model_status": model_status,
                "objective": objective, "iterations": iterations, "nodes": nodes,
                "seconds": seconds}

    def gams_threads(self):
        return int(float(self.control.get("threads") or 1))


class CplexLink(Link):
    name = "Cplex"
    banner = "IBM ILOG CPLEX   " + BANNER_TAIL

    # GAMS/CPLEX option name -> CPLEX parameter path (GAMS docs S_CPLEX.html).
    PARAMETERS = {
        "lpmethod": "lpmethod", "threads": "threads", "simdisplay": "simplex.display",
        "bardisplay": "barrier.display", "siftdisplay": "sifting.display",
        "solutiontype": "solutiontype", "barcrossalg": "barrier.crossover",
        "mipdisplay": "mip.display", "epgap": "mip.tolerances.mipgap",
        "epagap": "mip.tolerances.absmipgap", "epint": "mip.tolerances.integrality",
        "startalg": "mip.strategy.startalgorithm",
        "subalg": "mip.strategy.subalgorithm", "tilim": "timelimit",
        "itlim": "simplex.limits.iterations", "nodelim": "mip.limits.nodes",
        "epopt": "simplex.tolerances.optimality", "eprhs": "simplex.tolerances.feasibility",
        "barepcomp": "barrier.convergetol", "mipemphasis": "emphasis.mip",
        "parallelmode": "parallel", "randomseed": "randomseed", "preind": "preprocessing.presolve",
        "predual": "preprocessing.dual", "scaind": "read.scale", "advind": "advance",
        "mipinterval": "mip.interval", "barcrossover": "barrier.crossover",
        "conflictdisplay": "conflict.display", "conflictalg": "conflict.algorithm",
        "datacheck": "read.datacheck", "numericalemphasis": "emphasis.numerical",
    }
    LINK_OPTIONS = {
        "iis": ("enumint", 0, 2, 0, "run the conflict refiner also known as IIS finder if "
                "the problem is infeasible"),
        "names": ("boolean", 0, 1, 1, "load GAMS names into Cplex"),
    }

    def licence_text(self):
        import cplex
        return "Community Edition %s (at most 1000 rows and 1000 columns)" % cplex.__version__

    def parameter_for(self, name):
        return self.PARAMETERS.get(name)

    def solve(self, settings):
        import cplex
        problem = cplex.Cplex()
        for stream in (problem.set_results_stream, problem.set_log_stream,
                       problem.set_warning_stream, problem.set_error_stream):
            stream(None)  # reading the MPS prints lines GAMS never shows
        problem.read(self.control["mps"])
        if self.control["model_type"] == "RMIP":
            problem.set_problem_type(problem.problem_type.LP)
        if not self.link_values["names"]:
            self.drop_names(problem)
        for stream in (problem.set_results_stream, problem.set_log_stream,
                       problem.set_warning_stream, problem.set_error_stream):
            stream(self.output)
        if self.control["direction"] == "MAXIMIZE":
            problem.objective.set_sense(problem.objective.sense.maximize)
        parameters = problem.parameters
        parameters.read.datacheck.set(0)  # the Python API's own default, not GAMS's
        parameters.advance.set(0)
        parameters.threads.set(self.gams_threads())
        parameters.mip.display.set(4)
        parameters.mip.pool.capacity.set(0)
        parameters.mip.tolerances.absmipgap.set(float(self.control["optca"]))
        parameters.mip.tolerances.mipgap.set(float(self.control["optcr"]))
        if float(self.control["reslim"]) < 1e10:
            parameters.timelimit.set(float(self.control["reslim"]))
        for path, value in settings:
            target = parameters
            for part in path.split("."):
                target = getattr(target, part)
            try:
                target.set(value)
            except cplex.exceptions.CplexError as error:
                # GAMS's option reader skips a value out of range and goes on.
                self.output.frame("*** Value %s for option '%s' rejected by Cplex (%s), "
                                  "ignored" % (value, path, error))
        started, ticks = time.time(), problem.get_dettime()
        if self.link_values["iis"] == 2:
            # "Conflict analysis without previous solve": the refiner alone.
            return self.conflict_only(problem, started)
        try:
            problem.solve()
        except cplex.exceptions.CplexError as error:
            # Community Edition size limit (error 1016) and the like: GAMS's
            # link reports a licensing problem for a solver that refuses.
            self.output.frame("*** CPLEX Error %s" % error)
            return self.result(7 if "1016" in str(error) else 10,
                               11 if "1016" in str(error) else 13, None, 0, 0,
                               time.time() - started)
        seconds = time.time() - started
        solution = problem.solution
        code = solution.get_status()
        kind = "MIP" if self.is_mip else "LP"
        self.output.frame("")
        self.output.frame("--- %s status (%d): %s." % (kind, code, solution.get_status_string()))
        self.output.frame("--- Cplex Time: %.2fsec (det. %.2f ticks)"
                          % (seconds, problem.get_dettime() - ticks))
        self.output.frame("")
        self.output.frame("")
        has_point = solution.is_primal_feasible() if not self.is_mip else \
            solution.get_solution_type() != solution.type.none
        objective = solution.get_objective_value() if has_point else None
        if code == 3 and solution.get_solution_type() != solution.type.none:
            # GAMS lists the objective of the infeasible point CPLEX hands back
            # (cplex_infeasible.lst: MODEL STATUS 4 Infeasible, OBJECTIVE VALUE 27830.5082).
            objective = solution.get_objective_value()
        iterations = solution.progress.get_num_iterations()
        if not self.is_mip and problem.parameters.lpmethod.get() in (4, 6):
            iterations += solution.progress.get_num_barrier_iterations()
        nodes = solution.progress.get_num_nodes_processed() if self.is_mip else 0
        solver_status, model_status = self.statuses(code, has_point)
        if self.link_values["iis"] == 1 and code in (3, 103):
            self.refine_conflict(problem)
        self.closing_lines(code, objective, iterations, nodes, solution)
        return self.result(solver_status, model_status, objective, iterations, nodes, seconds)

    def drop_names(self, problem):
        """``names no``: GAMS gives CPLEX no names; CPLEX then calls them c1..., x1..."""
        rows, columns = problem.linear_constraints.get_num(), problem.variables.get_num()
        problem.linear_constraints.set_names([(index, "c%d" % (index + 1))
                                              for index in range(rows)])
        problem.variables.set_names([(index, "x%d" % (index + 1)) for index in range(columns)])

    def refine_conflict(self, problem):
        """CPLEX's conflict refiner on every row and bound; its members in GAMS's layout."""
        import cplex
        conflict = problem.conflict
        try:
            conflict.refine(conflict.all_constraints())
        except cplex.exceptions.CplexError as error:
            self.output.frame("*** Conflict refiner failed: %s" % error)
            return
        types = conflict.constraint_type
        rows, lower, upper = [], {}, {}
        for group, status in zip(conflict.get_groups(), conflict.get()):
            if status == conflict.group_status.excluded:
                continue
            for kind, index in group[1]:
                if kind == types.linear:
                    rows.append((problem.linear_constraints.get_names(index),
                                 problem.linear_constraints.get_senses(index),
                                 problem.linear_constraints.get_rhs(index)))
                elif kind == types.lower_bound:
                    lower[index] = problem.variables.get_lower_bounds(index)
                elif kind == types.upper_bound:
                    upper[index] = problem.variables.get_upper_bounds(index)
        columns = []
        for index in sorted(set(lower) | set(upper)):
            name = problem.variables.get_names(index)
            if index in lower and index in upper and lower[index] == upper[index]:
                columns.append((name, "fixed", lower[index]))
                continue
            if index in lower:
                columns.append((name, "lower", lower[index]))
            if index in upper:
                columns.append((name, "upper", upper[index]))
        self.output.frame("")
        for line in self.conflict_lines(rows, columns):
            self.output.frame(line)
        self.output.frame("")

    def conflict_only(self, problem, started):
        """``iis 2``: the refiner runs without a solve; no solution is returned."""
        self.refine_conflict(problem)
        self.output.frame("No solution returned")
        self.output.frame("")
        return self.result(1, 14, None, 0, 0, time.time() - started)

    def statuses(self, code, has_point):
        point = 8 if self.is_mip else 7
        if code in (1, 101):
            return 1, 1
        if code == 102:
            return 1, 8
        if code in (3, 103):
            return 1, 10 if self.is_mip else 4
        if code in (2, 118):
            return 1, 3
        if code in (11, 25, 107, 108):
            return 3, point if has_point else 14
        if code in (10, 104, 105, 106):
            return 2, point if has_point else 14
        if code in (13, 113, 114):
            return 8, point if has_point else 14
        return 13, 13

    def closing_lines(self, code, objective, iterations, nodes, solution):
        frame = self.output.frame
        if code in (3, 103):
            frame("Model has been proven infeasible")
        elif not self.is_mip and objective is not None:
            frame("Optimal solution found" if code == 1 else "Solution returned")
            frame("Objective:%20.6f" % objective)
        elif self.is_mip and objective is not None:
            frame("Proven optimal solution" if code in (101, 102) else "Solution returned")
            # %g: "(1.05893e+06 iterations, 451924 nodes)" (cplex_mip_marketsplit)
            frame("MIP Solution: %19.6f    (%g iterations, %d nodes)"
                  % (objective, iterations, nodes))
            frame("")
            bound = solution.MIP.get_best_objective()
            frame("Best possible: %18.6f" % bound)
            frame("Absolute gap: %19.6f" % abs(objective - bound))
            frame("Relative gap: %19.6f" % solution.MIP.get_mip_relative_gap())
        else:
            frame("No solution returned")
        frame("")


class GurobiLink(Link):
    name = "Gurobi"
    banner = "Gurobi           " + BANNER_TAIL
    LINK_OPTIONS = {
        "iis": ("enumint", 0, 2, 0, "Run the Irreducible Inconsistent Subsystem (IIS) finder "
                "if the problem is infeasible"),
        "names": ("boolean", 0, 1, 1, "Indicator for loading names"),
    }

    def licence_text(self):
        import gurobipy
        return "Gurobi %d.%d.%d, restricted licence (non-production use, at most 2000 rows " \
               "and 2000 columns)" % gurobipy.gurobi.version()

    def parameter_for(self, name):
        import gurobipy
        for candidate in dir(gurobipy.GRB.Param):
            if candidate.lower() == name:
                return candidate
        return None

    def solve(self, settings):
        import gurobipy
        output = self.output
        env = gurobipy.Env(empty=True)
        env.setParam("OutputFlag", 0)  # reading the MPS prints lines GAMS never shows
        try:
            env.start()
        except gurobipy.GurobiError as error:
            # The restricted pip licence stops working on 2027-11-29: a licensing
            # problem for GAMS, as for a solver its licence does not cover.
            output.frame("*** Gurobi licence error: %s" % error)
            return self.result(7, 11, None, 0, 0, 0.0)
        model = gurobipy.read(self.control["mps"], env)
        if self.control["model_type"] == "RMIP":
            model = model.relax()
        if self.control["direction"] == "MAXIMIZE":
            model.ModelSense = -1
        real_stdout = sys.stdout
        sys.stdout = output  # gurobipy prints its log through sys.stdout
        try:
            model.Params.OutputFlag = 1
            model.Params.Threads = self.gams_threads()
            model.Params.MIPGap = float(self.control["optcr"])
            model.Params.MIPGapAbs = float(self.control["optca"])
            if float(self.control["reslim"]) < 1e10:
                model.Params.TimeLimit = float(self.control["reslim"])
            for parameter, value in settings:
                try:
                    model.setParam(parameter, value)
                except gurobipy.GurobiError as error:
                    output.frame("*** Value %s for option '%s' rejected by Gurobi (%s), "
                                 "ignored" % (value, parameter, error))
            started = time.time()
            model.optimize()
            seconds = time.time() - started
        except gurobipy.GurobiError as error:
            # "Model too large for size-limited license" (more than 2000 rows or
            # columns): a licensing problem, as for CPLEX's error 1016.
            output.frame("*** Gurobi Error %s" % error)
            licence = "license" in str(error).lower()
            return self.result(7 if licence else 10, 11 if licence else 13, None, 0, 0, 0.0)
        finally:
            sys.stdout = real_stdout
        has_point = model.SolCount > 0
        objective = model.ObjVal if has_point else None
        iterations = int(model.IterCount + model.BarIterCount)
        nodes = int(model.NodeCount) if self.is_mip else 0
        solver_status, model_status = self.statuses(model.Status, has_point, model)
        if self.link_values["iis"] and model.Status in (gurobipy.GRB.INFEASIBLE,
                                                        gurobipy.GRB.INF_OR_UNBD):
            # Gurobi's own IIS log ("IIS computed: 1 constraints and 9 bounds") is
            # real; GAMS/Gurobi's listing of the members was never captured.
            sys.stdout = output
            try:
                model.computeIIS()
            except gurobipy.GurobiError as error:
                output.frame("*** Gurobi IIS failed: %s" % error)
            finally:
                sys.stdout = real_stdout
        output.frame("")
        return self.result(solver_status, model_status, objective, iterations, nodes, seconds)

    def statuses(self, code, has_point, model):
        import gurobipy
        grb = gurobipy.GRB
        point = 8 if self.is_mip else 7
        if code == grb.OPTIMAL:
            if self.is_mip and model.MIPGap > 0:
                return 1, 8
            return 1, 1
        if code in (grb.INFEASIBLE, grb.INF_OR_UNBD):
            return 1, 10 if self.is_mip else 4
        if code == grb.UNBOUNDED:
            return 1, 3
        if code == grb.TIME_LIMIT:
            return 3, point if has_point else 14
        if code in (grb.ITERATION_LIMIT, grb.NODE_LIMIT):
            return 2, point if has_point else 14
        if code == grb.INTERRUPTED:
            return 8, point if has_point else 14
        return 13, 13


class HighsLink(Link):
    name = "HiGHS"
    banner = "HiGHS            " + BANNER_TAIL

    # GAMS/HiGHS uses HiGHS's own option names.
    def licence_text(self):
        import highspy
        return "HiGHS from highspy %s (MIT licence)" % getattr(highspy, "__version__", "")

    def parameter_for(self, name):
        import highspy
        probe = highspy.Highs()
        status, _ = probe.getOptionValue(name) if hasattr(probe, "getOptionValue") else (1, None)
        return name if status == highspy.HighsStatus.kOk else None

    def solve(self, settings):
        import highspy
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.readModel(self.control["mps"])
        if self.control["model_type"] == "RMIP":
            highs.setOptionValue("solve_relaxation", True)
        highs.setOptionValue("threads", self.gams_threads())
        highs.setOptionValue("mip_rel_gap", float(self.control["optcr"]))
        if float(self.control["reslim"]) < 1e10:
            highs.setOptionValue("time_limit", float(self.control["reslim"]))
        for name, value in settings:
            highs.setOptionValue(name, value)
        self.output.flush()
        # HiGHS writes its log to the C stdout: point that at the log for the solve.
        saved = os.dup(1)
        log_fd = None
        if self.output.targets:
            log_fd = os.open(self.control["logfile"], os.O_WRONLY | os.O_APPEND) \
                if self.control.get("logfile") and self.control["logoption"] in (2, 4) else None
            if log_fd is not None:
                os.dup2(log_fd, 1)
        highs.setOptionValue("output_flag", True)
        started = time.time()
        try:
            highs.run()
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            if log_fd is not None:
                os.close(log_fd)
        seconds = time.time() - started
        status = highs.getModelStatus()
        info = highs.getInfo()
        kind = highspy.HighsModelStatus
        has_point = info.primal_solution_status == 2
        objective = info.objective_function_value if has_point else None
        iterations = int(info.simplex_iteration_count + max(info.ipm_iteration_count, 0))
        if status == kind.kOptimal:
            statuses = (1, 1)
        elif status == kind.kInfeasible:
            statuses = (1, 10 if self.is_mip else 4)
        elif status == kind.kUnbounded:
            statuses = (1, 3)
        elif status == kind.kTimeLimit:
            statuses = (3, (8 if self.is_mip else 7) if has_point else 14)
        elif status == kind.kInterrupt:
            statuses = (8, (8 if self.is_mip else 7) if has_point else 14)
        else:
            statuses = (13, 13)
        self.output.frame("")
        return self.result(statuses[0], statuses[1], objective, iterations, 0, seconds)


def _g(value):
    """A number as GAMS/CPLEX writes it in a conflict: %g (10, 57.9283, 5.80786e+07)."""
    return "%g" % value


LINKS = {"CPLEX": CplexLink, "GUROBI": GurobiLink, "HIGHS": HighsLink}
