"""Which profile is best: ranking.py, capping.py, best.py and the trials plan.py makes."""

import os

import pytest

from fakes import FakeClock
from scan_helpers import scan_config
from times_doctor.report import best, ranking
from times_doctor.scan import capping
from times_doctor.solvers import profiles
from times_doctor.errors import UsageError
from times_doctor.job_control import JobRegistry
from times_doctor.scan.plan import plan_scan
from times_doctor.states import RunStatus

FAKE_GAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakegams", "gams")


def row(name, seconds, status="completed", model="1 Optimal", solver_status="1 Normal Completion",
        trial_of=None, kind="scan", contended="", share="", objective="10.0", solver="cplex",
        **extra):
    values = {"profile": name, "solver": solver, "status": status, "model_status": model,
              "solver_status": solver_status, "runtime_seconds": seconds, "objective": objective,
              "trial_of": trial_of or name.split(".")[0], "run_kind": kind,
              "contended": contended, "cpu_share": share}
    values.update(extra)
    return values


# -- ranking ---------------------------------------------------------------------------

def test_one_run_each_names_the_fastest_but_says_the_spread_was_not_measured():
    ranked = ranking.rank_rows([row("dual", "12.0"), row("primal", "4.5"), row("sift", "9.0")])
    assert [entry.profile for entry in ranked.entries] == ["primal", "sift", "dual"]
    assert (ranked.verdict, ranked.lead, ranked.spread) == ("unmeasured", 4.5, None)
    kind, text = ranking.verdict_lines(ranked)[0]
    assert kind == "ok" and text == (
        "Winner: primal, 4.50 s wall (scan: 1 run); runner-up sift, 9.00 s (scan: 1 run): "
        "lead 4.50 s (50 %); run-to-run spread not measured (one run each: --repeat 3 "
        "measures it).")


def test_repeats_rank_on_the_median_and_declare_a_winner_only_beyond_the_spread():
    rows = [row("dual", "10.0"), row("dual.r2", "11.0"), row("dual.r3", "13.0"),
            row("bar", "15.0"), row("bar.r2", "15.5"), row("bar.r3", "14.0")]
    ranked = ranking.rank_rows(rows)
    best_entry, runner = ranked.entries
    assert (best_entry.profile, best_entry.median, best_entry.low, best_entry.high) == (
        "dual", 11.0, 10.0, 13.0)
    assert (runner.median, ranked.lead, ranked.spread, ranked.verdict) == (15.0, 4.0, 3.0,
                                                                          "winner")
    assert ranking.verdict_lines(ranked)[0][1].endswith(
        "lead 4.00 s (27 %) > run-to-run spread 3.00 s.")
    assert ranking.time_text(best_entry) == "11.0 s (10.0-13.0)"


def test_a_lead_within_the_spread_is_too_close_to_call_with_the_figures():
    rows = [row("dual", "10.0"), row("dual.r2", "12.0"), row("bar", "11.0"),
            row("bar.r2", "11.5")]
    ranked = ranking.rank_rows(rows)
    assert ranked.verdict == "too close"
    kind, text = ranking.verdict_lines(ranked)[0]
    assert kind == "warn" and text.startswith("Too close to call: dual, 11.0 s (10.0-12.0) wall")
    assert "lead 0.250 s (2 %) is within the run-to-run spread 2.00 s" in text


def test_confirmed_profiles_rank_first_on_their_runs_alone():
    rows = [row("dual", "20.0", contended="yes", share="0.5"),
            row("primal", "18.0", contended="yes", share="0.45"),
            row("sift", "30.0", contended="yes", share="0.5"),
            row("dual.confirm", "9.0", kind="confirm", contended="no", share="0.98"),
            row("primal.confirm", "10.0", kind="confirm", contended="no", share="0.97")]
    ranked = ranking.annotate(rows, ranking.rank_rows(rows))
    assert [(entry.profile, entry.basis) for entry in ranking.rank_rows(rows).entries] == [
        ("dual", "confirm"), ("primal", "confirm"), ("sift", "scan")]
    assert [(r["rank"], r["rank_basis"]) for r in ranked] == [
        ("1", "confirm: 1 run alone"), ("2", "confirm: 1 run alone"),
        ("3", "scan: 1 run, contended"), ("1", "confirm: 1 run alone"),
        ("2", "confirm: 1 run alone")]
    # The runs the verdict rests on were not contended: no warning.
    assert [kind for kind, _ in ranking.verdict_lines(ranking.rank_rows(rows))] == ["ok"]


def test_top_by_scan_time_ignores_confirmation_runs():
    rows = [row("dual", "20.0"), row("primal", "18.0"), row("sift", "30.0"),
            row("sift.confirm", "1.0", kind="confirm")]
    assert ranking.top_by_scan_time(rows, 2) == ["primal", "dual"]


def test_contended_runs_are_named_with_the_command_for_a_trustworthy_ranking():
    rows = [row("dual", "20.0", contended="yes", share="0.48"),
            row("primal", "18.0", contended="yes", share="0.62")]
    lines = ranking.verdict_lines(ranking.rank_rows(rows), "times-doctor scan r --resume "
                                                          "--confirm 2")
    assert lines[1] == ("warn", "This ranking rests on contended runs (dual, primal got 48-62 % "
                                "of the CPU their threads wanted). For a ranking you can trust, "
                                "re-run the best alone: times-doctor scan r --resume --confirm 2")


def test_contended_runs_alone_blame_the_machine():
    rows = [row("dual.confirm", "9.0", kind="confirm", contended="yes", share="0.4",
                load_avg="5.1"),
            row("primal.confirm", "10.0", kind="confirm", contended="no", share="0.9")]
    warning = ranking.verdict_lines(ranking.rank_rows(rows), "cmd")[1][1]
    assert warning.startswith("Even alone the best runs were contended (dual.confirm got 40 %")
    assert "(load 5.1)" in warning and "--slurm-arg=--exclusive" in warning


def test_unmeasured_contention_is_said():
    lines = ranking.verdict_lines(ranking.rank_rows([row("dual", "2.0"), row("bar", "3.0")]))
    assert lines[1][0] == "note" and lines[1][1].startswith("Contention was not measured")


def test_only_optimal_runs_rank_and_different_objectives_are_flagged():
    rows = [row("loose", "0.2", objective="0.0"),  # epint 0.5: "optimal" at the root
            row("strong", "9.0", objective="3", contended="no"),
            # A MIP stopped at its gap tolerance is not optimal (issue 15's best so far).
            row("gap", "2.0", model="8 Integer Solution"),
            row("late", "1.0", status="interrupted", model="8 Integer Solution",
                solver_status="8 User Interrupt")]
    ranked = ranking.rank_rows(rows)
    assert [entry.profile for entry in ranked.entries] == ["loose", "strong"]
    warning = [text for kind, text in ranking.verdict_lines(ranked) if "objectives" in text]
    assert warning == ["The ranked runs end at different objectives (0 to 3): a profile that "
                       "loosens a tolerance (epint, epgap, MIPGap, ...) wins by solving less, "
                       "or the model is numerically delicate (see Numerics on the page)."]


def test_capped_profiles_are_listed_with_why_and_not_ranked():
    rows = [row("quick", "1.0"),
            row("dual", "1.6", status="capped", model="", stop_reason="could not beat quick: "
                "1.5 x 1.00 s")]
    ranked = ranking.rank_rows(rows)
    assert [entry.profile for entry in ranked.entries] == ["quick"]
    assert ranked.verdict == "only"
    assert ranking.table_lines(ranked) == [
        "Ranking (wall time of each run; the median where a profile ran more than once):",
        "   1  quick  1.00 s  scan: 1 run",
        "   -  dual   capped: could not beat quick: 1.5 x 1.00 s"]


def test_nothing_solved_ranks_nothing():
    ranked = ranking.rank_rows([row("dual", "1.0", status="failed", model="")])
    assert (ranked.entries, ranked.verdict) == ([], None)
    assert ranking.verdict_lines(ranked)[0][0] == "note"


# -- capping ----------------------------------------------------------------------------

def capping_registry(names, clock):
    registry = JobRegistry(monotonic=clock.monotonic)
    for name in names:
        registry.register(name)
    return registry


def start(registry, *names):
    for name in names:
        registry.try_start(name)
        registry.set_status(name, RunStatus.RUNNING)


def test_cap_stops_only_the_runs_past_f_times_the_best_and_leaves_waiting_ones():
    clock = FakeClock()
    registry = capping_registry(["quick", "dual", "primal", "sift"], clock)
    start(registry, "quick", "dual", "primal")
    capper = capping.Capper(1.5, False, lambda snap: snap.elapsed_seconds)
    candidates = dict((name, name) for name in registry.names())
    assert capper.apply(registry, candidates) == []  # nothing completed yet
    clock.advance(4.0)
    registry.set_status("quick", RunStatus.COMPLETED, 0)
    capper.completed("quick", "quick", 4.0)
    clock.advance(1.9)  # dual and primal at 5.9 s: not yet 1.5 x 4 s
    assert capper.apply(registry, candidates) == []
    clock.advance(0.2)
    assert capper.apply(registry, candidates) == ["dual", "primal"]
    snap = registry.get("dual")
    assert (snap.cancel_requested, snap.stop_reason) == (True, "could not beat quick: 1.5 x "
                                                               "4.00 s")
    assert registry.get("sift").status == RunStatus.WAITING  # keeps its place
    assert capper.apply(registry, candidates) == []  # asked once


def test_cap_spares_the_best_profiles_own_trials_and_runs_that_are_not_candidates():
    clock = FakeClock()
    registry = capping_registry(["dual", "dual.r2", "bar", "dual.confirm"], clock)
    start(registry, "dual", "dual.r2", "bar", "dual.confirm")
    capper = capping.Capper(1.0, False, lambda snap: snap.elapsed_seconds)
    clock.advance(1.0)
    capper.completed("dual", "dual", 0.5)
    registry.set_status("dual", RunStatus.COMPLETED, 0)
    capped = capper.apply(registry, {"dual": "dual", "dual.r2": "dual", "bar": "bar"})
    assert capped == ["bar"]


def test_a_run_without_a_time_on_the_ranking_clock_is_not_capped():
    clock = FakeClock()
    registry = capping_registry(["a", "slurm"], clock)
    start(registry, "slurm")
    capper = capping.Capper(1.5, False, lambda snap: None)  # a SLURM job still pending
    capper.completed("a", "a", 0.1)
    clock.advance(100)
    assert capper.apply(registry, {"slurm": "slurm"}) == []


def test_race_stops_every_other_run_waiting_ones_too():
    clock = FakeClock()
    registry = capping_registry(["bar", "dual", "sift"], clock)
    start(registry, "bar", "dual")
    capper = capping.Capper(1.0, True, lambda snap: snap.elapsed_seconds)
    clock.advance(3)
    registry.set_status("bar", RunStatus.COMPLETED, 0)
    capper.completed("bar", "bar", 3.0)
    candidates = dict((name, name) for name in registry.names())
    assert capper.apply(registry, candidates) == ["dual", "sift"]
    assert registry.get("sift").status == RunStatus.CAPPED
    assert registry.get("sift").stop_reason == "race: bar finished first, in 3.00 s"


def test_the_mark_only_moves_down():
    capper = capping.Capper(2.0, False, lambda snap: None)
    capper.completed("a", "a", 5.0)
    capper.completed("b", "b", 7.0)
    capper.completed("c", "c", None)
    assert capper.best == (5.0, "a", "a")


# -- best/<solver>.opt ----------------------------------------------------------------

def test_best_files_hold_each_solvers_best_with_a_header_and_replace_stale_ones(tmp_path):
    out = str(tmp_path)
    stale = best.best_option_path(out, "gurobi")
    os.makedirs(os.path.dirname(stale))
    with open(stale, "w") as handle:
        handle.write("Method 2\n")
    rows = [row("cplex:dual", "3.0", trial_of="cplex:dual"),
            row("cplex:bar", "5.0", trial_of="cplex:bar")]
    texts = {"cplex:dual": "lpmethod 2\nthreads 1\n", "cplex:bar": "lpmethod 4\nthreads 1\n"}
    written = best.write_best_files(out, ranking.rank_rows(rows), texts, "12-34",
                                    "/m/model.run", "2026-12-05T10:00:00Z")
    path = best.best_option_path(out, "cplex")
    assert written == [("cplex", path)] and not os.path.exists(stale)
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert lines[0] == ("* times-doctor: the best CPLEX profile of scan 12-34 (model.run, "
                        "2026-12-05T10:00:00Z)")
    assert lines[1] == "* profile cplex:dual: 3.00 s wall (scan: 1 run)"
    assert lines[2].startswith("* Winner: cplex:dual")
    assert lines[3] == ("* use it in the run folder: gams model.run lp=cplex mip=cplex "
                        "rmip=cplex optfile=1 optdir=%s" % os.path.dirname(path))
    assert lines[4:] == ["lpmethod 2", "threads 1"]


def test_use_line_quotes_a_folder_with_spaces():
    assert best.use_line("/a/my model.run", "gurobi", "/o u/best") == (
        'gams "my model.run" lp=gurobi mip=gurobi rmip=gurobi optfile=1 optdir="%s"'
        % os.path.abspath("/o u/best"))  # Z:\o u\best on Windows


# -- the trials a plan makes -------------------------------------------------------------

@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.gms").write_text("* no GAMS runs this\n")
    return str(folder)


def test_repeat_makes_trials_with_seeds_from_the_solver_table(run_dir):
    plan = plan_scan(scan_config(run_dir, FAKE_GAMS, profiles=["dual"], solver="both",
                                 repeat="3", confirm="1"))
    assert [(run.profile.name, run.trial_of, run.trial, run.seed) for run in plan.runs] == [
        ("cplex:dual", "cplex:dual", 1, None), ("cplex:dual.r2", "cplex:dual", 2, 1),
        ("cplex:dual.r3", "cplex:dual", 3, 2), ("gurobi:dual", "gurobi:dual", 1, None),
        ("gurobi:dual.r2", "gurobi:dual", 2, 1), ("gurobi:dual.r3", "gurobi:dual", 3, 2)]
    assert plan.runs[2].option_text.splitlines()[:2] == ["lpmethod 2", "randomseed 2"]
    assert "Seed 1" in plan.runs[4].option_text.splitlines()
    assert plan.runs[0].option_text == profiles.render_option_file(plan.profiles[0], 1)
    assert plan.runs[5].work_dir.endswith(os.path.join("gurobi", "dual.r3"))
    assert [(run.profile.name, run.kind, run.seed) for run in plan.confirm_runs["cplex:dual"]] == [
        ("cplex:dual.confirm", "confirm", None), ("cplex:dual.confirm.r2", "confirm", 1),
        ("cplex:dual.confirm.r3", "confirm", 2)]


def test_a_profiles_own_seed_line_is_replaced_in_later_trials():
    profile = profiles.Profile("p", "cplex", "p", "builtin", ["RandomSeed 7", "lpmethod 1"])
    assert profiles.trial_profile(profile, ".r2", 1).lines == ["lpmethod 1", "randomseed 1"]


def test_a_profile_named_like_a_trial_is_refused(run_dir, tmp_path):
    opts = tmp_path / "opts"
    opts.mkdir()
    (opts / "dual.r2.opt").write_text("lpmethod 1\n")
    with pytest.raises(UsageError) as error:
        plan_scan(scan_config(run_dir, FAKE_GAMS, profiles=["dual", "dual.r2"],
                              opt_dir=str(opts), repeat="2"))
    assert str(error.value) == (
        "profile dual.r2 has the name of the trial 2 of profile dual (--repeat and --confirm "
        "name them NAME.r2, NAME.confirm): rename dual.r2.opt")


@pytest.mark.parametrize("fields, message", [
    ({"repeat": "0"}, "--repeat must be a positive whole number, got '0'"),
    ({"confirm": "-1"}, "--confirm must be a whole number >= 0, got '-1'"),
    ({"cap": "0.5"}, "--cap must be a factor >= 1 of the best completed time, got '0.5'"),
    ({"cap": "nan"}, "--cap must be a factor >= 1"),
    ({"cap": "1.5", "race": True}, "give --cap F or --race, not both"),
])
def test_bad_ranking_options_are_one_line_errors(run_dir, fields, message):
    with pytest.raises(UsageError) as error:
        plan_scan(scan_config(run_dir, FAKE_GAMS, **fields))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_race_is_a_cap_of_one(run_dir):
    plan = plan_scan(scan_config(run_dir, FAKE_GAMS, race=True))
    assert (plan.cap, plan.race) == (1.0, True)


def test_status_shows_a_capped_run_with_why_and_counts_it():
    from times_doctor.remote import status
    document = {"scan_id": "1-2", "finished": True, "exit_code": 0, "jobs": [
        {"name": "quick", "status": "completed", "result": "optimal", "elapsed_seconds": 1.0,
         "details": "wall 1 s = GAMS 0.8 + solver 0.2; CPU 0.9 s"},
        {"name": "dual", "status": "capped", "elapsed_seconds": 1.6,
         "details": "could not beat quick: 1.5 x 1.00 s"}]}
    lines = status.status_lines(document, False, 140)
    assert lines[3].startswith("dual   Capped") and lines[3].endswith(
        "could not beat quick: 1.5 x 1.00 s")
    assert lines[2].endswith("wall 1 s = GAMS 0.8 + solver 0.2; CPU 0.9 s")
    assert lines[-2:] == ["1 completed, 1 capped, 0 failed, 0 timeout, 0 cancelled",
                          "scan 1-2: finished, exit 0"]
