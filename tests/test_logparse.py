"""SolverLogParser on real CPLEX logs (GAMS 54 / CPLEX 22), real GUROBI logs (gurobipy 13), and junk."""

import math
import os
import random
import tracemalloc

import pytest

from times_doctor.solvers.log import PHASES, LogProgress
from times_doctor.solvers.table import SolverLogParser

LOGS = os.path.join(os.path.dirname(__file__), "fixtures", "logs")


def read_lines(name):
    with open(os.path.join(LOGS, name), "rb") as stream:
        return stream.read().decode("utf-8").splitlines()


def solver_for(name):
    return "gurobi" if name.startswith("gurobi") else "cplex"


def run(name, **kwargs):
    """Feed a whole fixture; return the parser and (line, snapshot) after each line."""
    parser = SolverLogParser(solver_for(name), **kwargs)
    trace = []
    for line in read_lines(name):
        parser.feed(line)
        trace.append((line, parser.snapshot()))
    return parser, trace


def phases(trace):
    seen = []
    for _, snap in trace:
        if not seen or seen[-1] != snap.phase:
            seen.append(snap.phase)
    return seen


def before(trace, prefix):
    """The snapshot just before the first line starting with ``prefix``."""
    for index, (line, _) in enumerate(trace):
        if line.startswith(prefix):
            return trace[index - 1][1]
    raise AssertionError("no line starts with %r" % prefix)


def after(trace, text):
    """The snapshot right after the first line containing ``text``."""
    for line, snap in trace:
        if text in line:
            return snap
    raise AssertionError("no line contains %r" % text)


def barrier_fraction(first, row, tolerance=1e-8):
    """The documented estimate, recomputed here from two table rows.

    Each row: (primal obj, dual obj, primal inf, dual inf).
    """
    def measures(values):
        primal, dual, pinf, dinf = values
        return (abs(primal - dual) / (1 + abs(primal)), pinf, dinf)

    fractions = []
    for start, now in zip(measures(first), measures(row)):
        if now <= tolerance:
            fractions.append(1.0)
        else:
            span = math.log10(start) - math.log10(tolerance)
            fractions.append(min(1.0, max(0.0, (math.log10(start) - math.log10(now)) / span)))
    return sum(fractions) / 3


REAL_LOGS = sorted(name for name in os.listdir(LOGS) if name.endswith("_run_log.txt"))
ALL_LOGS = sorted(name for name in os.listdir(LOGS) if name.endswith(".txt"))


# ------------------------------------------------------------------ phases
PHASE_CASES = [
    ("cplex_dual_run_log.txt", ["", "presolve", "dual simplex", "done"]),
    ("cplex_dual_simdisplay2_run_log.txt", ["", "presolve", "dual simplex", "done"]),
    ("cplex_primal_run_log.txt", ["", "presolve", "primal simplex", "done"]),
    ("cplex_primal_simdisplay2_run_log.txt", ["", "presolve", "primal simplex", "done"]),
    ("cplex_barrier_run_log.txt", ["", "presolve", "barrier", "crossover", "done"]),
    ("cplex_barrier_bardisplay2_run_log.txt", ["", "presolve", "barrier", "crossover", "done"]),
    ("cplex_barrier_nocrossover_run_log.txt", ["", "presolve", "barrier", "done"]),
    ("cplex_barrier_crossover_run_log.txt", ["", "presolve", "barrier", "crossover", "done"]),
    ("cplex_barrier_dualcrossover_run_log.txt", ["", "presolve", "barrier", "crossover", "done"]),
    ("cplex_sifting_run_log.txt", ["", "presolve", "sifting", "done"]),
    # Sub-problems solved by barrier (and crossed over) must not show as phases.
    ("cplex_sifting_siftdisplay2_run_log.txt", ["", "presolve", "sifting", "done"]),
    ("cplex_concurrent_run_log.txt", ["", "presolve", "concurrent", "done"]),
    ("cplex_mip_knapsack_run_log.txt", ["", "presolve", "dual simplex", "mip", "done"]),
    ("cplex_mip_marketsplit_run_log.txt", ["", "presolve", "dual simplex", "mip", "done"]),
    ("cplex_infeasible_run_log.txt", ["", "presolve", "dual simplex", "done"]),
    ("cplex_licence_limit_run_log.txt", [""]),
    ("compile_error_run_log.txt", [""]),
    ("exec_error_run_log.txt", [""]),
    ("two_solves_run_log.txt",
     ["", "presolve", "dual simplex", "done", "", "presolve", "primal simplex", "done"]),
    ("gurobi_dual_run_log.txt", ["", "presolve", "dual simplex", "done"]),
    ("gurobi_dual_timelimit_run_log.txt", ["", "presolve", "dual simplex", "done"]),
    ("gurobi_primal_run_log.txt", ["", "presolve", "primal simplex", "done"]),
    ("gurobi_barrier_run_log.txt", ["", "presolve", "barrier", "crossover", "done"]),
    ("gurobi_barrier_nocrossover_run_log.txt", ["", "presolve", "barrier", "done"]),
    ("gurobi_barrier_crossover_run_log.txt", ["", "presolve", "barrier", "crossover", "done"]),
    # Barrier won the race: its crossover shows; dual simplex won: it does not.
    ("gurobi_concurrent_run_log.txt", ["", "presolve", "concurrent", "crossover", "done"]),
    ("gurobi_concurrent_transport_run_log.txt", ["", "presolve", "concurrent", "done"]),
    # GUROBI's dual simplex logs its first row before it decides to sift.
    ("gurobi_sifting_run_log.txt", ["", "presolve", "dual simplex", "sifting", "done"]),
    ("gurobi_infeasible_run_log.txt", ["", "presolve", "dual simplex", "done"]),
    ("gurobi_mip_knapsack_run_log.txt", ["", "presolve", "mip", "done"]),
    ("gurobi_mip_marketsplit_run_log.txt", ["", "presolve", "mip", "done"]),
]


@pytest.mark.parametrize("name, expected", PHASE_CASES)
def test_phase_sequence(name, expected):
    assert phases(run(name)[1]) == expected


def test_every_fixture_is_listed_in_the_phase_test():
    listed = {name for name, _ in PHASE_CASES}
    assert listed == set(ALL_LOGS)


@pytest.mark.parametrize("name, iteration, objective, details", [
    ("cplex_dual_run_log.txt", 3921, -2334.730852, "optimal"),
    ("cplex_dual_simdisplay2_run_log.txt", 3951, -2334.730852, "optimal"),
    ("cplex_primal_run_log.txt", 6048, -2334.730852, "optimal"),
    ("cplex_primal_simdisplay2_run_log.txt", 6116, -2334.730852, "optimal"),
    ("cplex_barrier_run_log.txt", 13, -2334.730852, "optimal"),
    ("cplex_barrier_nocrossover_run_log.txt", 12, -2334.730849, "optimal"),
    ("cplex_barrier_crossover_run_log.txt", 6, 3719.128037, "optimal"),
    ("cplex_sifting_run_log.txt", 5, -4544.803468, "optimal"),
    ("cplex_concurrent_run_log.txt", 3921, -2334.730852, "optimal"),
    ("cplex_infeasible_run_log.txt", 62, 16803.915181, "infeasible"),
    # MIP: the iteration is the node count; the summary gives the total.
    ("cplex_mip_knapsack_run_log.txt", 69264, 17799.9, "integer optimal solution"),
    ("cplex_mip_marketsplit_run_log.txt", 451924, 2.0, "integer optimal solution"),
    ("two_solves_run_log.txt", 1, 161.325, "optimal"),
    ("gurobi_dual_run_log.txt", 3876, -2661.07877, "optimal"),
    ("gurobi_dual_timelimit_run_log.txt", 2003, -11375.328, "time limit reached"),
    ("gurobi_primal_run_log.txt", 7161, -2661.07877, "optimal"),
    ("gurobi_barrier_run_log.txt", 15, -2661.07877, "optimal"),
    # No crossover: the barrier's iterations and objective are the result.
    ("gurobi_barrier_nocrossover_run_log.txt", 13, -2661.07877, "optimal"),
    ("gurobi_barrier_crossover_run_log.txt", 495, 3508.320473, "optimal"),
    ("gurobi_concurrent_run_log.txt", 15, -2661.07877, "optimal"),
    ("gurobi_concurrent_transport_run_log.txt", 150, 3508.320473, "optimal"),
    ("gurobi_sifting_run_log.txt", 861, -4720.973676, "optimal"),
    # Infeasible: no final objective, so the last one the table showed.
    ("gurobi_infeasible_run_log.txt", 110, 0.0, "infeasible model"),
    ("gurobi_mip_knapsack_run_log.txt", 54422, 18827.2, "optimal"),
    ("gurobi_mip_marketsplit_run_log.txt", 40079, 2.0, "time limit reached"),
])
def test_final_snapshot(name, iteration, objective, details):
    parser, _ = run(name)
    assert parser.snapshot() == LogProgress("done", iteration, 1.0, details, objective)


@pytest.mark.parametrize("name", ALL_LOGS)
def test_progress_in_range_and_monotone_within_each_phase(name):
    previous = None
    for line, snap in run(name)[1]:
        assert snap.phase in PHASES
        if snap.progress is not None:
            assert 0.0 <= snap.progress <= 1.0
        if previous is not None and previous.phase == snap.phase and previous.progress is not None:
            assert snap.progress is not None and snap.progress >= previous.progress, line
        previous = snap


@pytest.mark.parametrize("name", ALL_LOGS)
def test_simplex_sifting_and_concurrent_progress_is_unknown(name):
    for _, snap in run(name)[1]:
        if snap.phase in ("presolve", "dual simplex", "primal simplex", "simplex",
                          "sifting", "concurrent"):
            assert snap.progress is None


# ------------------------------------------------------------------ CPLEX simplex
def test_cplex_dual_phase_one_then_dual_objective():
    _, trace = run("cplex_dual_run_log.txt")
    assert after(trace, "Reduced LP has 1501 rows") == LogProgress(
        "presolve", None, None, "1501 rows 1500 cols", None)
    assert after(trace, "Iteration:     1   Scaled dual infeas") == LogProgress(
        "dual simplex", 1, None, "phase I dual infeas 2.6e+01", None)
    assert after(trace, "Iteration:   281   Dual objective") == LogProgress(
        "dual simplex", 281, None, "obj -4.8861e+03", -4886.084223)
    assert before(trace, "--- LP status") == LogProgress(
        "dual simplex", 3921, None, "obj -2.3348e+03", -2334.810175)


def test_cplex_primal_phase_one_infeasibility_then_objective():
    _, trace = run("cplex_primal_run_log.txt")
    assert after(trace, "Iteration:     1    Scaled infeas") == LogProgress(
        "primal simplex", 1, None, "phase I infeas 1.4e+04", None)
    assert before(trace, "--- LP status") == LogProgress(
        "primal simplex", 6048, None, "obj -2.3345e+03", -2334.47908)


def test_cplex_simdisplay2_tables_with_sI_rows():
    _, trace = run("cplex_dual_simdisplay2_run_log.txt")
    assert after(trace, "     1 sI           25.967978") == LogProgress(
        "dual simplex", 1, None, "phase I dual infeas 2.6e+01", None)
    assert after(trace, "   281           -4886.084223") == LogProgress(
        "dual simplex", 281, None, "obj -4.8861e+03", -4886.084223)
    _, trace = run("cplex_primal_simdisplay2_run_log.txt")
    assert before(trace, "--- LP status").iteration == 6116
    assert before(trace, "--- LP status").objective == -2334.730854


def test_cplex_infeasible_reports_status_text():
    parser, trace = run("cplex_infeasible_run_log.txt")
    assert after(trace, "--- LP status (3)").details == "infeasible"


# ------------------------------------------------------------------ CPLEX barrier / crossover
def test_cplex_barrier_progress_follows_the_documented_formula():
    _, trace = run("cplex_barrier_nocrossover_run_log.txt")
    assert after(trace, "Parallel mode: none, using 1 thread for barrier") == LogProgress(
        "barrier", None, None, "ordering and factorizing", None)
    first = (-1.1800352e+02, -9.5853514e+03, 3.34e+03, 2.26e+03)
    row9 = (-2.3347184e+03, -2.3347351e+03, 4.56e-03, 3.88e-03)
    row12 = (-2.3347308e+03, -2.3347309e+03, 2.34e-06, 3.23e-07)
    assert after(trace, "   0  -1.1800352e+02").progress == 0.0
    snap9 = after(trace, "   9  -2.3347184e+03")
    assert snap9.progress == pytest.approx(barrier_fraction(first, row9))
    assert snap9.progress == pytest.approx(0.5761, abs=1e-4)
    snap12 = before(trace, "Barrier time =")
    assert snap12 == LogProgress("barrier", 12, pytest.approx(barrier_fraction(first, row12)),
                                 "obj -2.3347e+03 pinf 2.3e-06 dinf 3.2e-07", -2334.7308)
    assert snap12.progress == pytest.approx(0.8659, abs=1e-4)


def test_cplex_barrier_tolerance_is_a_parameter():
    loose = before(run("cplex_barrier_nocrossover_run_log.txt", tolerance=1e-6)[1], "Barrier time =")
    first = (-1.1800352e+02, -9.5853514e+03, 3.34e+03, 2.26e+03)
    row12 = (-2.3347308e+03, -2.3347309e+03, 2.34e-06, 3.23e-07)
    # Against 1e-6 only pinf (2.34e-06) is still short of its target.
    assert loose.progress == pytest.approx(barrier_fraction(first, row12, tolerance=1e-6))
    assert 0.98 < loose.progress < 1.0


def test_cplex_barrier_reaches_one_at_convergence():
    _, trace = run("cplex_barrier_run_log.txt")
    assert before(trace, "Barrier time =").progress == 1.0
    assert before(trace, "Barrier time =").iteration == 13


def test_cplex_primal_crossover_progress():
    _, trace = run("cplex_barrier_crossover_run_log.txt")
    assert after(trace, "Primal crossover.") == LogProgress(
        "crossover", 6, 0.0, "primal crossover", 3719.128)
    assert after(trace, "Primal:  Fixing 492 variables.").progress == 0.0
    snap = after(trace, "      275 PMoves:")
    assert snap.progress == pytest.approx((1 - 275 / 492.0) / 2)
    assert snap.details == "primal: 275 left"
    assert after(trace, "Primal:  Pushed 361, exchanged 131.").progress == 0.5
    assert after(trace, "Dual:  Fixed no variables.").progress == 1.0


def test_cplex_dual_crossover_runs_dual_pass_first():
    _, trace = run("cplex_barrier_dualcrossover_run_log.txt")
    assert after(trace, "Dual crossover.").details == "dual crossover"
    assert after(trace, "Dual:  Fixed no variables.").progress == 0.5
    assert after(trace, "       57 PMoves:").progress == pytest.approx(0.5 + (1 - 57 / 488.0) / 2)
    assert after(trace, "Primal:  Pushed 348").progress == 1.0


def test_cplex_bardisplay2_lines_between_rows_are_ignored():
    _, trace = run("cplex_barrier_bardisplay2_run_log.txt")
    snap = before(trace, "Barrier time =")
    assert (snap.phase, snap.iteration, snap.progress) == ("barrier", 13, 1.0)


# ------------------------------------------------------------------ sifting / concurrent
def test_cplex_sifting_iterations():
    _, trace = run("cplex_sifting_run_log.txt")
    assert after(trace, "Sifting iteration    1") == LogProgress(
        "sifting", 1, None, "phase I infeas 0.0e+00", None)
    assert after(trace, "Sifting iteration    3") == LogProgress(
        "sifting", 3, None, "obj -4.5434e+03", -4543.369171)
    assert before(trace, "--- LP status").iteration == 5


def test_cplex_sifting_ignores_sub_problem_barrier_numbers():
    _, trace = run("cplex_sifting_siftdisplay2_run_log.txt")
    iterations = [snap.iteration for _, snap in trace if snap.phase == "sifting"]
    assert sorted(set(iterations)) == [1, 2, 3, 4, 5]
    assert before(trace, "--- LP status").objective == -4544.803468


def test_cplex_concurrent_shows_the_dual_log_and_the_winner():
    _, trace = run("cplex_concurrent_run_log.txt")
    assert after(trace, "Iteration:   281") == LogProgress(
        "concurrent", 281, None, "dual simplex obj -4.8861e+03", -4886.084223)
    assert after(trace, "Dual simplex solved model.") == LogProgress(
        "concurrent", 3921, None, "dual simplex won", -2334.810175)


# ------------------------------------------------------------------ MIP
def test_cplex_mip_gap_progress_and_incumbent():
    _, trace = run("cplex_mip_knapsack_run_log.txt")
    header = after(trace, "   Node  Left     Objective  IInf")
    assert (header.phase, header.progress) == ("mip", None)
    # Incumbent 0: CPLEX prints "---" for the gap, so no estimate yet.
    undefined = after(trace, "*     0+    0                            0.0000")
    assert undefined == LogProgress("mip", 0, None, "inc 0.0000e+00", 0.0)
    first_gap = after(trace, "*     0+    0                        17455.9000")
    assert first_gap.progress == pytest.approx(math.log10(1 / 0.0449) / 4)
    assert first_gap.details == "gap 4.49% inc 1.7456e+04"
    cuts = after(trace, "    968     0    18209.9291    15    17760.2000   ZeroHalf: 1")
    assert (cuts.iteration, cuts.objective, cuts.details) == (968, 17760.2, "gap 2.07% inc 1.7760e+04")
    last = before(trace, "Cover cuts applied")
    assert last == LogProgress("mip", 61721, pytest.approx(math.log10(1 / 0.003) / 4),
                               "gap 0.30% inc 1.7800e+04", 17799.9)


def test_cplex_mip_multi_word_cut_label_in_bound_column():
    parser = SolverLogParser("cplex")
    parser.feed("   Node  Left     Objective  IInf  Best Integer    Best Bound    ItCnt     Gap")
    parser.feed("    968     0    18209.9291    15    17760.2000   Impl Bds: 2     4247    2.07%")
    assert parser.snapshot() == LogProgress(
        "mip", 968, pytest.approx(math.log10(1 / 0.0207) / 4), "gap 2.07% inc 1.7760e+04", 17760.2)


def test_cplex_mip_root_lp_restart_rows_do_not_leave_mip_phase():
    _, trace = run("cplex_mip_knapsack_run_log.txt")
    restart = after(trace, "    32           18212.063187")
    assert (restart.phase, restart.iteration) == ("mip", 0)


def test_cplex_mip_gap_target_is_a_parameter():
    _, trace = run("cplex_mip_knapsack_run_log.txt", mip_gap_target=1e-2)
    assert before(trace, "Cover cuts applied").progress == 1.0  # 0.30% < 1%


def test_cplex_marketsplit_gap_stays_at_100_percent():
    _, trace = run("cplex_mip_marketsplit_run_log.txt")
    mip = [snap for _, snap in trace if snap.phase == "mip" and snap.progress is not None]
    assert mip and all(snap.progress == 0.0 for snap in mip)
    assert before(trace, "Cover cuts applied") == LogProgress(
        "mip", 430093, 0.0, "gap 100.00% inc 2.0000e+00", 2.0)


# ------------------------------------------------------------------ two solves
def test_second_solve_starts_afresh():
    parser, trace = run("two_solves_run_log.txt")
    assert after(trace, "Objective:          153.675000").objective == 153.675
    assert after(trace, "--- Executing CPLEX (Solvelink=2): elapsed 0:00:00.014") == LogProgress(
        "", None, None, "", None)
    assert parser.history() == [(1, 161.325, None, None, None)]


def test_executing_after_solve_is_not_a_new_solve():
    parser = SolverLogParser("cplex")
    for line in ("--- Starting Cplex", "--- LP status (1): optimal.", "Objective:  5.0",
                 "--- Executing after solve: elapsed 0:00:00.014"):
        parser.feed(line)
    assert parser.snapshot() == LogProgress("done", None, 1.0, "optimal", 5.0)


def test_reading_solution_ends_a_solve_without_status_line():
    parser = SolverLogParser("cplex")
    for line in ("--- Starting Cplex", "Iteration:     1   Dual objective     =    1.5",
                 "--- Reading solution for model m"):
        parser.feed(line)
    assert parser.snapshot() == LogProgress("done", 1, 1.0, "solver finished", 1.5)


# ------------------------------------------------------------------ GUROBI (real logs, gurobipy 13)
def test_gurobi_dual_simplex():
    parser, trace = run("gurobi_dual_run_log.txt")
    assert after(trace, "Presolved: 1500 rows") == LogProgress(
        "presolve", None, None, "1500 rows 1500 cols", None)
    assert after(trace, "       0   -1.1375328e+04") == LogProgress(
        "dual simplex", 0, None, "obj -1.1375e+04 pinf 4.7e+04 dinf 0.0e+00", -11375.328)
    assert after(trace, "Solved in 3876 iterations") == LogProgress(
        "done", 3876, 1.0, "solved", -2661.0788)
    assert parser.solver_seconds == 0.93
    assert parser.history() == [(0, -11375.328, None, 46562.88, 0.0),
                                (3876, -2661.0788, None, 0.0, 0.0)]


def test_gurobi_primal_simplex():
    _, trace = run("gurobi_primal_run_log.txt")
    assert after(trace, "    6028   -2.5739897e+03") == LogProgress(
        "primal simplex", 6028, None, "obj -2.5740e+03 pinf 0.0e+00 dinf 1.0e+04", -2573.9897)


def test_gurobi_simplex_without_method_is_plain_simplex():
    parser = SolverLogParser("gurobi")
    seen = []
    for line in read_lines("gurobi_dual_run_log.txt"):
        if "Method" not in line:  # "Set parameter Method ..." and "Method  1"
            parser.feed(line)
            seen.append(parser.snapshot().phase)
    assert seen[-1] == "done" and "simplex" in seen and "dual simplex" not in seen


def test_gurobi_time_limit_in_simplex():
    parser, trace = run("gurobi_dual_timelimit_run_log.txt")
    # "Stopped in" gives the count; the next line gives the reason.
    assert after(trace, "Stopped in 2003 iterations") == LogProgress(
        "dual simplex", 2003, None, "obj -1.1375e+04 pinf 4.7e+04 dinf 0.0e+00", -11375.328)
    assert after(trace, "Time limit reached") == LogProgress(
        "done", 2003, 1.0, "time limit reached", -11375.328)
    assert parser.solver_seconds == 0.3


def test_gurobi_infeasible():
    parser, trace = run("gurobi_infeasible_run_log.txt")
    assert after(trace, "Solved in 110 iterations").details == "solved"
    assert after(trace, "Infeasible model") == LogProgress(
        "done", 110, 1.0, "infeasible model", 0.0)
    assert parser.solver_seconds == 0.0


def test_gurobi_barrier_progress_and_crossover():
    parser, trace = run("gurobi_barrier_run_log.txt")
    assert after(trace, "Ordering time:") == LogProgress(
        "barrier", None, None, "ordering and factorizing", None)
    first = (-1.03982241e+03, -2.15702340e+04, 4.03e+04, 1.52e+00)
    row7 = (-2.63750311e+03, -2.73064038e+03, 8.41e-04, 2.66e-15)
    assert after(trace, "   0  -1.03982241e+03").progress == 0.0
    snap = after(trace, "   7  -2.63750311e+03")
    assert snap == LogProgress("barrier", 7, pytest.approx(barrier_fraction(first, row7)),
                               "obj -2.6375e+03 pinf 8.4e-04 dinf 2.7e-15", -2637.50311)
    assert snap.progress == pytest.approx(0.6350, abs=1e-4)
    assert after(trace, "  13  -2.66107877e+03").progress == 1.0
    # "Optimal objective" after "Barrier solved model" is not the end: crossover follows.
    assert after(trace, "Optimal objective -2.66107877e+03") == LogProgress(
        "barrier", 13, 1.0, "obj -2.6611e+03 pinf 2.4e-09 dinf 6.8e-14", -2661.07877)
    assert after(trace, "Crossover log...") == LogProgress(
        "crossover", 13, 0.0, "crossover", -2661.07877)
    assert after(trace, "       5 DPushes").progress == 0.0
    assert after(trace, "       0 DPushes").progress == 0.5
    assert after(trace, "       7 PPushes") == LogProgress(
        "crossover", 13, 0.5, "primal: 7 left", -2661.07877)
    assert after(trace, "       0 PPushes").progress == 1.0
    assert after(trace, "      15   -2.6610788e+03") == LogProgress(
        "crossover", 15, 1.0, "simplex obj -2.6611e+03 pinf 0.0e+00 dinf 0.0e+00", -2661.0788)
    assert parser.solver_seconds == 0.37
    history = parser.history()
    assert len(history) == 15  # 14 barrier rows and the simplex row after crossover
    assert history[0] == (0, -1039.82241, -21570.234, 40300.0, 1.52)
    assert history[-1] == (15, -2661.0788, None, 0.0, 0.0)


def test_gurobi_barrier_without_crossover_ends_at_the_barrier_result():
    parser, trace = run("gurobi_barrier_nocrossover_run_log.txt")
    assert before(trace, "Optimal objective") == LogProgress(
        "barrier", 13, 1.0, "obj -2.6611e+03 pinf 2.4e-09 dinf 6.8e-14", -2661.07877)
    # Nothing follows, not even "Solved in": this line is the end.
    assert after(trace, "Optimal objective") == LogProgress(
        "done", 13, 1.0, "optimal", -2661.07877)
    assert parser.solver_seconds == 0.33


def test_gurobi_crossover_off_under_concurrent_still_waits_for_crossover():
    # Lines from a real run with Method 3 and Crossover 0: Gurobi turns
    # crossover back on, so the barrier's objective is not the end.
    lines = []
    for line in read_lines("gurobi_concurrent_run_log.txt"):
        lines.append(line)
        if line == "Set parameter OutputFlag to value 1":
            lines.append("Set parameter Crossover to value 0")
        elif line == "Showing barrier log only...":
            lines.extend(["", "Warning: Concurrent optimizer requires crossover - forcing it on"])
    parser = SolverLogParser("gurobi")
    for line in lines:
        parser.feed(line)
        if line.startswith("Optimal objective -2.66107877e+03"):
            assert parser.snapshot().phase == "concurrent"
    assert parser.snapshot() == LogProgress("done", 15, 1.0, "optimal", -2661.07877)


def test_gurobi_barrier_crossover_with_many_pushes():
    _, trace = run("gurobi_barrier_crossover_run_log.txt")
    assert after(trace, "     481 PPushes") == LogProgress(
        "crossover", 5, 0.5, "primal: 481 left", 3508.32047)
    assert after(trace, "  Push phase complete") == LogProgress(
        "crossover", 5, 1.0, "push phase complete", 3508.32047)


def test_gurobi_concurrent_barrier_wins():
    _, trace = run("gurobi_concurrent_run_log.txt")
    assert after(trace, "Concurrent LP optimizer") == LogProgress(
        "concurrent", None, None, "1500 rows 1500 cols", None)
    snap = after(trace, "   2  -3.44689514e+03")
    assert snap == LogProgress("concurrent", 2, None,
                               "barrier obj -3.4469e+03 pinf 1.5e+04 dinf 7.1e-15", -3446.89514)
    assert after(trace, "Crossover log...").phase == "crossover"
    assert after(trace, "Solved with barrier") == LogProgress(
        "crossover", 14, 1.0, "barrier won", -2661.07877)


def test_gurobi_concurrent_dual_simplex_wins():
    parser, trace = run("gurobi_concurrent_transport_run_log.txt")
    assert after(trace, "Optimal objective 3.50832047e+03").phase == "concurrent"
    assert after(trace, "Crossover changed status") == after(trace, "Optimal objective 3.508320")
    assert after(trace, "Solved with dual simplex") == LogProgress(
        "concurrent", 5, None, "dual simplex won", 3508.32047)
    assert after(trace, "     150    3.5083205e+03") == LogProgress(
        "concurrent", 150, None, "simplex obj 3.5083e+03 pinf 0.0e+00 dinf 0.0e+00", 3508.3205)


def test_gurobi_sifting():
    parser, trace = run("gurobi_sifting_run_log.txt")
    assert after(trace, "Starting sifting").phase == "sifting"
    # Primal objective "infinity": unknown, the last objective stays.
    assert after(trace, "       0          0     infinity") == LogProgress(
        "sifting", 0, None, "obj - dual -3.2548e+04", -32547.527)
    assert after(trace, "       2        573") == LogProgress(
        "sifting", 2, None, "obj -4.7051e+03 dual -1.0682e+04", -4705.1102)
    # After "Sifting complete" the simplex table resumes without its header.
    assert after(trace, "     861   -4.7209737e+03") == LogProgress(
        "sifting", 861, None, "dual simplex obj -4.7210e+03 pinf 0.0e+00 dinf 0.0e+00", -4720.9737)
    assert parser.solver_seconds == 0.02


def test_gurobi_mip_knapsack():
    parser, trace = run("gurobi_mip_knapsack_run_log.txt")
    assert after(trace, "Found heuristic solution") == LogProgress(
        "presolve", None, None, "", 14117.5)
    header = after(trace, " Expl Unexpl |")
    assert (header.phase, header.progress) == ("mip", None)
    assert after(trace, "     0     0 19244.0977    0   10") == LogProgress(
        "mip", 0, pytest.approx(math.log10(1 / 0.363) / 4), "gap 36.30% inc 1.4118e+04", 14117.5)
    assert after(trace, "H    0     0                    17062.6").objective == 17062.6
    heuristic = after(trace, "H  858   544")
    assert (heuristic.iteration, heuristic.objective, heuristic.details) == (
        858, 18791.3, "gap 2.01% inc 1.8791e+04")
    node = after(trace, " 10203  3967 18893.6454")
    assert node == LogProgress("mip", 10203, pytest.approx(math.log10(1 / 0.0114) / 4),
                               "gap 1.14% inc 1.8827e+04", 18827.2)
    assert after(trace, "Explored 54422 nodes").iteration == 54422
    assert after(trace, "Optimal solution found") == LogProgress(
        "done", 54422, 1.0, "optimal", 18827.2)
    assert parser.solver_seconds == 2.93


def test_gurobi_mip_marketsplit_time_limit():
    parser, trace = run("gurobi_mip_marketsplit_run_log.txt")
    mip = [snap for _, snap in trace if snap.phase == "mip" and snap.progress is not None]
    assert mip and all(snap.progress == 0.0 for snap in mip)
    # "*" glued to a five-digit node number.
    star = after(trace, "*11711   143")
    assert (star.iteration, star.objective, star.details) == (11711, 5.0, "gap 100.00% inc 5.0000e+00")
    cutoff = after(trace, " 17436   132 infeasible")
    assert (cutoff.iteration, cutoff.objective, cutoff.details) == (
        17436, 5.0, "gap 100.00% inc 5.0000e+00")
    assert after(trace, "Explored 40079 nodes") == LogProgress(
        "mip", 40079, 0.0, "gap 100.00% inc 2.0000e+00", 2.0)
    assert after(trace, "Time limit reached") == LogProgress(
        "done", 40079, 1.0, "time limit reached", 2.0)
    assert parser.solver_seconds == 2.0


def test_gurobi_second_solve_in_one_log_file_starts_afresh():
    # One LogFile for two solves: the second solve's "Set parameter" lines
    # come before its banner and must not be lost in the reset.
    lines = read_lines("gurobi_dual_run_log.txt") + read_lines("gurobi_barrier_run_log.txt")
    parser = SolverLogParser("gurobi")
    trace = []
    for line in lines:
        parser.feed(line)
        trace.append((line, parser.snapshot()))
    assert phases(trace) == ["", "presolve", "dual simplex", "done",
                             "", "presolve", "barrier", "crossover", "done"]
    assert parser.snapshot() == LogProgress("done", 15, 1.0, "optimal", -2661.07877)
    assert parser.history()[0] == (0, -1039.82241, -21570.234, 40300.0, 1.52)


def test_solver_seconds_is_none_for_cplex():
    parser, _ = run("cplex_dual_run_log.txt")
    assert parser.solver_seconds is None


# ------------------------------------------------------------------ history
def test_history_points_carry_the_table_columns():
    parser, _ = run("cplex_barrier_nocrossover_run_log.txt")
    history = parser.history()
    assert len(history) == 13
    assert history[0] == (0, -118.00352, -9585.3514, 3340.0, 2260.0)
    assert history[-1] == (12, -2334.7308, -2334.7309, 2.34e-06, 3.23e-07)
    parser, _ = run("cplex_dual_run_log.txt")
    assert parser.history()[0] == (1, None, None, None, 25.967978)
    assert parser.history()[-1] == (3921, None, -2334.810175, None, None)


def test_history_is_downsampled_and_bounded():
    parser, _ = run("cplex_dual_simdisplay2_run_log.txt", history_size=50)
    history = parser.history()
    assert 25 <= len(history) <= 50
    iterations = [point[0] for point in history]
    assert iterations[0] == 1 and iterations[-1] == 3951
    assert iterations == sorted(iterations)


def test_history_bounded_over_a_very_long_run():
    parser = SolverLogParser("cplex", history_size=500)
    parser.feed(" Itn      Primal Obj        Dual Obj  Prim Inf Upper Inf  Dual Inf Inf Ratio")
    for i in range(100000):
        parser.feed("%4d  -1.0e+03  -2.0e+03  %.2e  0.00e+00  1.0e+00  1.00e+00" % (i, 1.0 / (i + 1)))
        assert len(parser._history) < 500
    history = parser.history()
    assert len(history) <= 500
    assert history[-1][0] == 99999
    steps = {b[0] - a[0] for a, b in zip(history, history[1:-1])}
    assert len(steps) == 1  # evenly spaced


# ------------------------------------------------------------------ robustness
def assert_valid(snap):
    assert isinstance(snap, LogProgress)
    assert snap.phase in PHASES
    assert snap.iteration is None or isinstance(snap.iteration, int)
    assert snap.progress is None or 0.0 <= snap.progress <= 1.0
    assert snap.objective is None or (isinstance(snap.objective, float) and math.isfinite(snap.objective))
    assert isinstance(snap.details, str) and len(snap.details) < 200


def test_constructor_rejects_unknown_solver_and_bad_tolerances():
    with pytest.raises(ValueError):
        SolverLogParser("xpress")
    with pytest.raises(ValueError):
        SolverLogParser("cplex", tolerance=0)
    with pytest.raises(ValueError):
        SolverLogParser("cplex", mip_gap_target=2)
    assert SolverLogParser("GUROBI").solver == "gurobi"


@pytest.mark.parametrize("solver", ["cplex", "gurobi"])
def test_fuzz_random_bytes_and_non_strings(solver):
    rng = random.Random(99)
    parser = SolverLogParser(solver)
    for _ in range(3000):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 120)))
        parser.feed(junk)
        parser.feed(junk.decode("latin-1"))
        assert_valid(parser.snapshot())
    for thing in (None, 42, 3.5, object(), [], b"", "", "\x00" * 10):
        parser.feed(thing)
    assert_valid(parser.snapshot())


def _mutations(line, rng):
    tokens = line.split()
    yield line[:rng.randint(0, len(line))]                    # truncated
    yield line[rng.randint(0, len(line)):]                    # headless
    if tokens:
        shuffled = list(tokens)
        rng.shuffle(shuffled)
        yield "   ".join(shuffled)
        bad = [rng.choice(["nan", "inf", "-inf", "1e999", "-", "***", "1e", "0x1f", "%", "---",
                           "99999999999999999999999999", "-0", "\ufffd"]) if rng.random() < 0.5
               else token for token in tokens]
        yield "  ".join(bad)
        yield line.replace("e+", "e+9999")


@pytest.mark.parametrize("name", ALL_LOGS)
def test_fuzz_mutated_real_lines_never_raise(name):
    rng = random.Random(hash(name) & 0xffff)
    parser = SolverLogParser(solver_for(name))
    previous = None
    for line in read_lines(name):
        for mutated in _mutations(line, rng):
            parser.feed(mutated)
            assert_valid(parser.snapshot())
        parser.feed(line)
        snap = parser.snapshot()
        assert_valid(snap)
        previous = snap
    assert previous is not None
    assert len(parser.history()) <= parser.history_size


def test_huge_lines_are_cut_and_cheap():
    parser = SolverLogParser("cplex")
    parser.feed("--- Starting Cplex")
    parser.feed("Iteration:     7   Dual objective     =    12.5" + " 9" * 5000000)
    assert parser.snapshot() == LogProgress("dual simplex", 7, None, "obj 1.2500e+01", 12.5)
    parser.feed(b"x" * (10 * 1024 * 1024))
    parser.feed("Iteration:" + "1" * 100000)
    assert parser.snapshot().iteration == 7


def test_memory_does_not_grow_with_log_length():
    lines = read_lines("cplex_mip_knapsack_run_log.txt")
    parser = SolverLogParser("cplex")
    tracemalloc.start()
    try:
        for line in lines * 50:
            parser.feed(line)
        settled = tracemalloc.get_traced_memory()[0]
        for line in lines * 200:
            parser.feed(line)
        grown = tracemalloc.get_traced_memory()[0] - settled
    finally:
        tracemalloc.stop()
    assert grown < 100 * 1024
    assert len(parser.history()) <= 500


def test_log_written_in_pieces_through_logtail_gives_the_same_result(tmp_path):
    from times_doctor.run.tail import LogTail
    with open(os.path.join(LOGS, "cplex_mip_knapsack_run_log.txt"), "rb") as stream:
        data = stream.read()
    path = tmp_path / "knapsack_run_log.txt"
    tail = LogTail(str(path))
    parser = SolverLogParser("cplex")
    rng = random.Random(5)
    position = 0
    while position < len(data):
        step = rng.randint(1, 2000)
        with open(str(path), "ab") as stream:
            stream.write(data[position:position + step])
        position += step
        for line in tail.read_lines():
            parser.feed(line)
    assert parser.snapshot() == run("cplex_mip_knapsack_run_log.txt")[0].snapshot()


# -- feed_lines: the batch path the runner uses -------------------------------

@pytest.mark.parametrize("name", sorted(n for n in os.listdir(LOGS) if n.endswith(".txt")))
def test_feed_lines_ends_where_feed_ends(name):
    """Skipping middle rows of a batch must not change what the table shows."""
    with open(os.path.join(LOGS, name), "rb") as handle:
        lines = handle.read().decode("utf-8", "replace").splitlines()
    solver = solver_for(name)
    one_by_one = SolverLogParser(solver)
    for line in lines:
        one_by_one.feed(line)
    batched = SolverLogParser(solver)
    for start in range(0, len(lines), 400):
        batched.feed_lines(lines[start:start + 400])
    want, got = one_by_one.snapshot(), batched.snapshot()
    assert (got.phase, got.iteration, got.objective) == (want.phase, want.iteration,
                                                         want.objective)
    if want.progress is None:
        assert got.progress is None
    else:
        assert got.progress == pytest.approx(want.progress, abs=0.05)


def test_feed_lines_skips_middle_rows_but_keeps_markers():
    parser = SolverLogParser("cplex")
    rows = ["Iteration: %5d   Dual objective     =    %d.000000" % (i, i) for i in range(1, 500)]
    lines = ["Iteration log . . ."] + rows + ["--- LP status (1): optimal."]
    parser.feed_lines(lines)
    snap = parser.snapshot()
    assert snap.phase == "done" and snap.iteration == 499
    assert len(parser.history()) < 60


# -- feed_block: the runner's path since issue 14 ------------------------------

def fed_lines(solver, feed_batch, batches):
    """The exact lines a parser's feed() gets from feed_batch over *batches*."""
    parser = SolverLogParser(solver)
    seen = []
    real_feed = parser.feed

    def recording_feed(line):
        seen.append(line)
        real_feed(line)
    parser.feed = recording_feed
    for batch in batches:
        feed_batch(parser, batch)
    return seen, parser.snapshot(), parser.history()


def block_batches(data, rng):
    """*data* cut at random line ends into blocks of b"\\n"-separated lines."""
    lines = data.split(b"\n")
    blocks, start = [], 0
    while start < len(lines):
        size = rng.choice((1, 2, 3, 7, 50, 400, 5000))
        blocks.append(b"\n".join(lines[start:start + size]))
        start += size
    return blocks


def assert_block_same_as_lines(solver, blocks, max_line_bytes):
    from times_doctor.solvers.log_batch import decode_lines
    by_lines = fed_lines(solver, lambda p, b: p.feed_lines(decode_lines(b, max_line_bytes)),
                         blocks)
    by_block = fed_lines(solver, lambda p, b: p.feed_block(b, max_line_bytes), blocks)
    assert by_block == by_lines


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(LOGS) if n.endswith(".txt")))
def test_feed_block_feeds_exactly_what_feed_lines_feeds(name):
    with open(os.path.join(LOGS, name), "rb") as handle:
        data = handle.read().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    rng = random.Random(name)
    for max_line_bytes in (None, 65536, 70):
        assert_block_same_as_lines(solver_for(name), block_batches(data, rng), max_line_bytes)


def test_feed_block_same_as_feed_lines_on_junk():
    """Rows and markers the regex cannot tell apart alone: every candidate is checked."""
    rng = random.Random(14)
    pieces = [b"", b" ", b"\t", b"5 1.0e+00 2.0e+00", b"Iteration: 7  Dual objective = 1.5",
              b" " * 40 + b"3 1.0", b"\xc2\xb2 superscript two is a digit",
              b"\xd9\xa3 arabic-indic three", b"\xc2\x85" + b"9 after NEL", b"\x0b7 after VT",
              b"\xff\xfe junk", b"Iteration log . . .", b"--- LP status (1): optimal.",
              b" Itn      Primal Obj        Dual Obj  Prim Inf Upper Inf  Dual Inf Inf Ratio",
              b"Iteration:", b"iteration: 3", b"x" * 100, b"12" + b"y" * 100]
    for _ in range(300):
        lines = [rng.choice(pieces) for _ in range(rng.randint(1, 60))]
        data = b"\n".join(lines)
        for solver in ("cplex", "gurobi"):
            for max_line_bytes in (None, 1, 3, 64, 70, 4096):
                assert_block_same_as_lines(solver, block_batches(data, rng), max_line_bytes)
