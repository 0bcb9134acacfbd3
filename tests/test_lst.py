"""parse_lst on real GAMS 54 / CPLEX listings, return-code meanings, and robustness."""

import os
import random
import tracemalloc

import pytest

from times_doctor.errors import ParseError
from times_doctor.gams.lst import (GAMS_RC_MEANINGS, LstResult, gams_rc_meaning,
                                   model_status_is_optimal, parse_lst)

LST = os.path.join(os.path.dirname(__file__), "fixtures", "lst")


def lst(name):
    return parse_lst(os.path.join(LST, name + ".lst"))


def test_dual_simplex_listing():
    assert lst("cplex_dual") == LstResult(
        solver_status="1 Normal Completion", model_status="1 Optimal", objective=-2334.7309,
        lp_status="1 optimal", iterations=3951, solver_time=0.422,
        matrix_min=1.196e-04, matrix_max=1.999, rhs_min=1.756e-02, rhs_max=5000.0,
        bound_min=10.0, bound_max=10.0, direction="MINIMIZE", det_ticks=1148.67)


def test_two_solves_reports_the_last_one():
    # First solve: 153.6750 in 4 iterations; the second (chicago demand 350) is reported.
    assert lst("two_solves") == LstResult(
        solver_status="1 Normal Completion", model_status="1 Optimal", objective=161.325,
        lp_status="1 optimal", iterations=2, solver_time=0.0,
        matrix_min=0.126, matrix_max=1.0, rhs_min=275.0, rhs_max=600.0,  # Bound: NA
        direction="MINIMIZE", det_ticks=0.01)


@pytest.mark.parametrize("name, ticks", [
    ("cplex_barrier_nocrossover", 2004.17), ("cplex_mip_marketsplit", 13320.36),
    ("cplex_sifting", 90.41), ("cplex_licence_limit", None), ("compile_error", None)])
def test_cplex_deterministic_ticks_of_the_last_solve(name, ticks):
    # "--- Cplex Time: 10.57sec (det. 13320.36 ticks)": the same work gives the same ticks.
    assert lst(name).det_ticks == ticks


def test_mip_listing_keeps_mip_status_as_lp_status():
    result = lst("cplex_mip_knapsack")
    assert result.model_status == "1 Optimal"
    assert result.objective == 17799.9
    assert result.direction == "MAXIMIZE"
    assert result.lp_status == "101 integer optimal solution"
    assert result.iterations == 257077
    assert result.solver_time == 4.491
    assert (result.matrix_min, result.matrix_max) == (1.0, 1151.0)


def test_infeasible_listing():
    result = lst("cplex_infeasible")
    assert result.solver_status == "1 Normal Completion"
    assert result.model_status == "4 Infeasible"
    assert result.objective == 27830.5082  # GAMS still prints the last objective
    assert result.lp_status == "3 infeasible"
    assert result.iterations == 111
    assert not model_status_is_optimal(result.model_status)


def test_barrier_sifting_and_crossover_listings():
    assert lst("cplex_barrier").iterations == 13
    assert lst("cplex_barrier_nocrossover").objective == -2334.7308
    assert lst("cplex_sifting").matrix_min == 1.08e-07
    assert lst("cplex_barrier_crossover").objective == 3719.128


def test_licence_error_has_range_statistics_but_no_solve():
    assert lst("cplex_licence_limit") == LstResult(
        None, None, None, None, None, None, 2.65e-05, 2.0, 4.522e-03, 5000.0, 10.0, 10.0)


@pytest.mark.parametrize("name", ["compile_error", "exec_error"])
def test_listing_without_solve_is_all_none(name):
    assert lst(name) == LstResult(None, None, None, None, None, None, None, None)


def test_every_fixture_parses():
    for name in sorted(os.listdir(LST)):
        assert isinstance(parse_lst(os.path.join(LST, name)), LstResult)


def test_missing_file_raises_parse_error_naming_it(tmp_path):
    path = str(tmp_path / "nowhere.lst")
    with pytest.raises(ParseError) as info:
        parse_lst(path)
    assert path in str(info.value)


def test_directory_raises_parse_error(tmp_path):
    with pytest.raises(ParseError) as info:
        parse_lst(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_na_range_and_crlf_lines(tmp_path):
    path = tmp_path / "x.lst"
    path.write_bytes(
        b"Matrix    [min, max] : [        NA,        NA]\r\n"
        b"               S O L V E      S U M M A R Y\r\n"
        b"**** SOLVER STATUS     3 Resource Interrupt\r\n"
        b"**** MODEL STATUS      8 Integer Solution\r\n"
        b"**** OBJECTIVE VALUE               12.5000\r\n")
    result = parse_lst(str(path))
    assert result.solver_status == "3 Resource Interrupt"
    assert result.model_status == "8 Integer Solution"
    assert result.objective == 12.5
    assert (result.matrix_min, result.matrix_max) == (None, None)


def test_later_failed_solve_does_not_inherit_earlier_values(tmp_path):
    with open(os.path.join(LST, "two_solves.lst"), "rb") as stream:
        first = stream.read()
    path = tmp_path / "x.lst"
    path.write_bytes(first + b"               S O L V E      S U M M A R Y\n"
                     b"**** SOLVER STATUS     13 System Failure\n"
                     b"**** MODEL STATUS      14 No Solution Returned\n")
    result = parse_lst(str(path))
    assert result.solver_status == "13 System Failure"
    assert result.model_status == "14 No Solution Returned"
    assert (result.objective, result.lp_status, result.iterations) == (None, None, None)


def test_huge_listing_is_streamed_with_bounded_memory(tmp_path):
    path = tmp_path / "big.lst"
    with open(os.path.join(LST, "cplex_dual.lst"), "rb") as stream:
        summary = stream.read()
    with open(str(path), "wb") as stream:
        stream.write(b"z" * (8 * 1024 * 1024))  # one 8 MB line without a newline...
        stream.write(b"\n")
        row = b"---- VAR x  .  1.0000  +INF  .\n"
        for _ in range(200000):  # ...and 6 MB of solution listing
            stream.write(row)
        stream.write(summary)
    tracemalloc.start()
    try:
        result = parse_lst(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.objective == -2334.7309
    assert peak < 1024 * 1024


def test_fuzz_random_bytes_never_raise(tmp_path):
    rng = random.Random(2024)
    with open(os.path.join(LST, "two_solves.lst"), "rb") as stream:
        real = stream.read().splitlines(True)
    for case in range(40):
        path = tmp_path / ("fuzz%d.lst" % case)
        parts = []
        for _ in range(200):
            choice = rng.random()
            if choice < 0.4:
                line = rng.choice(real)
                parts.append(line[:rng.randint(0, len(line))])  # truncated real line
            elif choice < 0.8:
                parts.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80))))
            else:
                parts.append(rng.choice([b"**** OBJECTIVE VALUE  x1e\n",
                                         b"**** SOLVER STATUS     \n",
                                         b" ITERATION COUNT, LIMIT  99999999999999999999999 1\n",
                                         b"Matrix    [min, max] : [ 1e999, -nan]\n",
                                         b"--- LP status (): .\n"]))
        path.write_bytes(b"".join(parts))
        result = parse_lst(str(path))
        assert isinstance(result, LstResult)
        assert result.objective is None or isinstance(result.objective, float)


@pytest.mark.parametrize("status, expected", [
    ("1 Optimal", True), ("2 Locally Optimal", True), ("15 Solved Unique", True),
    ("8 Integer Solution", False), ("4 Infeasible", False), ("16 Solved", False),
    ("19 Infeasible - No Solution", False), (1, True), (8, False), (None, False),
    ("", False), ("Optimal", False), (True, False),
])
def test_model_status_is_optimal(status, expected):
    assert model_status_is_optimal(status) is expected


def test_model_status_is_optimal_on_real_listings():
    assert model_status_is_optimal(lst("cplex_dual").model_status)
    assert not model_status_is_optimal(lst("cplex_licence_limit").model_status)


@pytest.mark.parametrize("rc, meaning", [
    (0, "normal return"),
    (2, "compilation error"),          # compile_error.gms
    (3, "execution error"),            # exec_error.gms
    (7, "licensing error"),            # randlp over the demo limit
    (10, "out of memory"),
    (400, "could not spawn the GAMS language compiler (gamscmex)"),
    (1000, "driver error: incorrect command line parameters for gams"),
    (-9, "killed by signal 9"),
    (-15, "killed by signal 15"),
    (12345, "unknown return code 12345"),
    (12, "unknown return code 12"),
])
def test_gams_rc_meaning(rc, meaning):
    assert gams_rc_meaning(rc) == meaning


def test_gams_rc_meaning_posix_truncated_codes():
    assert gams_rc_meaning(144) == (
        "could not spawn the GAMS language compiler (gamscmex)"
        " (GAMS code 400 seen as an 8-bit exit status)")
    assert gams_rc_meaning(232).startswith("driver error: incorrect command line")


def test_gams_rc_meanings_cover_the_documented_codes():
    documented = set(range(0, 12)) | {109, 110, 112, 113, 114, 115} | set(range(400, 403)) | \
        set(range(404, 413)) | {909, 1000, 2000, 3000, 4000, 5000}
    assert set(GAMS_RC_MEANINGS) == documented
