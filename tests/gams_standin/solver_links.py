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


def number(text):
    value = float(text)
    return int(value) if value == int(value) and "." not in text and "e" not in text.lower() \
        else value


class Link(object):
    """What every link shares: the option-file framing and the result record."""

    name = None           # as GAMS names the solver in its log ("Cplex", "Gurobi", "HiGHS")
    banner = None

    def __init__(self, control, output):
        self.control = control
        self.output = output
        self.is_mip = control["model_type"] == "MIP"

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
        self.closing_lines(code, objective, iterations, nodes, solution)
        return self.result(solver_status, model_status, objective, iterations, nodes, seconds)

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


LINKS = {"CPLEX": CplexLink, "GUROBI": GurobiLink, "HIGHS": HighsLink}
