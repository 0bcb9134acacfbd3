"""series.py: the bounded per-run progress series, and the parser numbers it records."""

import json
import os

import pytest

from times_doctor.solvers.table import SolverLogParser
from times_doctor.run.series import (SCHEMA_NAME, SeriesWriter, phase_spans, read_series,
                                     series_path)

LOGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "logs")


def writer(tmp_path, max_points=8):
    return SeriesWriter(series_path(str(tmp_path)), "dual", "cplex", max_points=max_points)


def file_points(tmp_path):
    header, points, skipped = read_series(series_path(str(tmp_path)))
    assert header == {"schema": SCHEMA_NAME, "version": 1, "run": "dual", "solver": "cplex"}
    assert skipped == 0
    return points


def test_every_point_is_kept_until_the_budget(tmp_path):
    series = writer(tmp_path)
    for second in range(8):
        series.add(second, "dual simplex", {"iteration": second, "objective": 10.0 - second})
    series.close()
    assert [p["t"] for p in file_points(tmp_path)] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert file_points(tmp_path)[3] == {"t": 3.0, "phase": "dual simplex", "iteration": 3,
                                        "objective": 7.0}


def test_past_the_budget_resolution_halves_and_the_file_follows(tmp_path):
    series = writer(tmp_path)
    for second in range(9):
        series.add(second, "barrier", {"iteration": second})
    # The ninth point overflowed 8: every other one kept (the first is the
    # phase change), the newest always; from now on every second candidate.
    assert [p["t"] for p in series.points()] == [0, 2, 4, 6, 8]
    for second in range(9, 13):
        series.add(second, "barrier", {"iteration": second})
    assert [p["t"] for p in series.points()] == [0, 2, 4, 6, 8, 10, 12]
    series.close()
    assert file_points(tmp_path) == series.points()


def test_a_long_run_stays_bounded_and_keeps_its_phase_changes(tmp_path):
    series = writer(tmp_path, max_points=64)
    phases = ["presolve"] * 10 + ["barrier"] * 50000 + ["crossover"] * 30000 + ["done"]
    for index, phase in enumerate(phases):
        series.add(index * 0.5, phase, {"iteration": index}, final=index == len(phases) - 1)
    series.close()
    points = file_points(tmp_path)
    assert len(points) <= 64
    assert points == series.points()
    starts = [(p["phase"], p["t"]) for p in points
              if p is points[0] or p["phase"] != points[points.index(p) - 1]["phase"]]
    assert starts == [("presolve", 0.0), ("barrier", 5.0), ("crossover", 25005.0),
                      ("done", 40005.0)]
    # Evenly spread: no gap between kept points is more than 4x the mean.
    times = [p["t"] for p in points]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) <= 4 * (times[-1] - times[0]) / len(gaps)


def test_unchanged_points_are_not_repeated_but_the_final_one_is(tmp_path):
    series = writer(tmp_path)
    series.add(1.0, "mip", {"incumbent": 5.0, "mip_gap": 0.5})
    series.add(2.0, "mip", {"incumbent": 5.0, "mip_gap": 0.5})
    series.add(3.0, "mip", {"incumbent": 5.0, "mip_gap": 0.5}, final=True)
    assert [p["t"] for p in series.points()] == [1.0, 3.0]


def test_a_killed_writer_leaves_a_readable_file(tmp_path):
    series = writer(tmp_path)
    series.add(1.0, "presolve", {})
    series.add(2.0, "dual simplex", {"objective": 4.0, "iteration": 7})
    # SIGKILL mid-write: half a line at the end, never closed.
    with open(series_path(str(tmp_path)), "a") as handle:
        handle.write('{"t": 3.0, "pha')
    header, points, skipped = read_series(series_path(str(tmp_path)))
    assert header["run"] == "dual" and skipped == 1
    assert points == [{"t": 1.0, "phase": "presolve"},
                      {"t": 2.0, "phase": "dual simplex", "objective": 4.0, "iteration": 7}]


def test_the_reader_bounds_what_it_returns(tmp_path):
    path = str(tmp_path / "big.jsonl")
    with open(path, "w") as handle:
        for index in range(10000):
            handle.write(json.dumps({"t": index, "phase": "mip", "incumbent": index}) + "\n")
    _, points, _ = read_series(path, max_points=100)
    assert len(points) <= 100 and points[0]["t"] == 0 and points[-1]["t"] == 9999
    # Every length, around each halving: bounded, first and newest point kept.
    for count in range(1, 40):
        with open(path, "w") as handle:
            for index in range(count):
                handle.write(json.dumps({"t": index, "phase": "mip"}) + "\n")
        _, points, _ = read_series(path, max_points=8)
        assert len(points) <= 8 and points[0]["t"] == 0 and points[-1]["t"] == count - 1


def test_a_write_error_stops_the_series_not_the_caller(tmp_path):
    missing = str(tmp_path / "gone" / "progress_series.jsonl")
    series = SeriesWriter(missing, "dual", "cplex")
    series.add(1.0, "presolve", {})
    assert "progress series %s not written" % missing in series.take_error()
    assert series.take_error() is None  # reported once


def test_phase_spans():
    points = [{"t": 0.5, "phase": "presolve"}, {"t": 1.0, "phase": "presolve"},
              {"t": 2.0, "phase": "barrier"}, {"t": 7.0, "phase": "crossover"},
              {"t": 9.0, "phase": "done"}]
    assert phase_spans(points, 9.5) == [("", 0.0, 0.5), ("presolve", 0.5, 2.0),
                                        ("barrier", 2.0, 7.0), ("crossover", 7.0, 9.0),
                                        ("done", 9.0, 9.5)]
    assert phase_spans(points) == phase_spans(points, 9.0)[:-1] + [("crossover", 7.0, 9.0)]


@pytest.mark.parametrize("solver,log,first,last", [
    ("cplex", "cplex_barrier_run_log.txt",
     {"primal_obj": -118.00352, "dual_obj": -9585.3514, "primal_inf": 3340.0, "dual_inf": 2260.0},
     {"primal_obj": -2334.7309, "dual_obj": -2334.7309, "primal_inf": 1.77e-09,
      "dual_inf": 3.24e-11}),
    ("gurobi", "gurobi_barrier_run_log.txt",
     {"primal_obj": -1039.82241, "dual_obj": -21570.234, "primal_inf": 40300.0, "dual_inf": 1.52,
      "compl": 620.0}, None),
    ("cplex", "cplex_mip_marketsplit_run_log.txt", {"dual_obj": 0.0},
     {"incumbent": 2.0, "bound": 0.0, "mip_gap": 1.0}),
])
def test_parser_metrics_name_the_numbers_of_the_newest_row(solver, log, first, last):
    parser = SolverLogParser(solver)
    assert parser.metrics() == {}
    seen = []
    with open(os.path.join(LOGS, log), errors="replace") as handle:
        for line in handle:
            parser.feed(line)
            metrics = parser.metrics()
            if metrics and (not seen or seen[-1] != metrics):
                seen.append(metrics)
    assert seen[0] == first
    if last is not None:
        assert seen[-1] == last
