"""resume.py on its own: the earlier scan's CSV and state, fingerprints, the decision, the words."""

import collections
import io
import json
import os

import pytest

from scan_helpers import scan_config
from times_doctor import paths as scanfiles
from times_doctor.scan import resume
from times_doctor.errors import EXIT_USAGE, UsageError
from times_doctor.job_control import JobRegistry
from times_doctor.multi_run_progress import MultiRunProgressMonitor
from times_doctor.scan.plan import ScanConfig, plan_scan, with_defaults
from times_doctor.report.csvreport import CSV_COLUMNS, CarriedRow, render_csv, report_row
from times_doctor.paths import iso_time
from times_doctor.states import RunStatus

HEADER = ",".join(CSV_COLUMNS) + "\n"
# Rows as an older times-doctor wrote them (its 15 columns) ...
OLD_DUAL = ("dual,cplex,completed,1 Optimal,1 Normal Completion,1 optimal,153.675,0.135,4,0,"
            "normal return,0.126,1.0,/o/scan_runs/cplex/dual,/o/scan_runs/cplex/dual/t.lst\n")
OLD_ODD = ('odd,cplex,cancelled,,,,,,,,"two\nlines, and a ""quote""",,,/o/scan_runs/cplex/odd,\n')
# ... and as report.py writes them now (timing, trial; no rank: none was given).
DUAL = OLD_DUAL[:-1] + ",0.110,0.025,0.140,0.01,,0.970,0.30,2,no,,dual,1,,scan,,,\n"
ODD = OLD_ODD[:-1] + ",,,,,,,,,,,odd,1,,scan,,,\n"


def fingerprint(**changes):
    base = collections.OrderedDict(
        (key, "%s-1" % key) for key in resume.FINGERPRINT_LABELS)
    base.update(changes)
    return base


def previous_scan(tmp_path, jobs, rows):
    """A PreviousScan of state jobs (dicts) and CSV rows (raw text)."""
    report = tmp_path / "scan_report.csv"
    report.write_bytes((HEADER + "".join(rows)).encode("utf-8"))
    records = resume.read_report_records(str(report))
    return resume.PreviousScan(str(tmp_path), "111-222", {"jobs": jobs},
                               collections.OrderedDict((job["name"], job) for job in jobs),
                               str(report), records)


def job(name, status, work_dir, fp=None, **extra):
    record = {"name": name, "status": status, "work_dir": work_dir,
              "fingerprint": fp if fp is not None else fingerprint()}
    record.update(extra)
    return record


# -- the CSV -----------------------------------------------------------------------


def test_read_report_records_keeps_each_rows_exact_text(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + DUAL + ODD).encode("utf-8"))
    records = resume.read_report_records(str(path))
    assert list(records) == ["dual", "odd"]
    assert records["dual"].raw == DUAL
    assert records["odd"].raw == ODD
    assert records["odd"]["gams_rc_meaning"] == 'two\nlines, and a "quote"'
    assert records["dual"]["status"] == "completed"


def test_render_csv_writes_carried_rows_byte_for_byte(tmp_path):
    carried = CarriedRow({"profile": "odd", "status": "cancelled"}, ODD)

    class P(object):
        name, solver = "new", "cplex"

    fresh = report_row(P(), RunStatus.COMPLETED, 1.5)
    text = render_csv([carried, fresh])
    assert text.startswith(HEADER + ODD)
    assert text.endswith("new,cplex,completed,,,,,1.500,,,,,,," + "," * (len(CSV_COLUMNS) - 15)
                         + "\n")


def test_render_csv_gives_an_older_rows_new_columns_empty_and_keeps_the_rest():
    text = render_csv([CarriedRow({}, OLD_ODD, CSV_COLUMNS[:15])])
    assert text == HEADER + OLD_ODD[:-1] + "," * (len(CSV_COLUMNS) - 15) + "\n"


def test_render_csv_writes_the_ranks_this_scan_gave_a_carried_row():
    row = CarriedRow({"profile": "dual"}, DUAL)
    row.update(rank="2", rank_basis="scan: 1 run")
    assert render_csv([row]) == HEADER + DUAL[:-len(",,,\n")] + ",2,scan: 1 run,\n"


def test_carried_row_without_a_line_end_gets_one():
    text = render_csv([CarriedRow({}, DUAL.rstrip("\n"))])
    assert text == HEADER + DUAL


# -- loading the earlier scan ------------------------------------------------------


def test_load_previous_without_a_scan_is_exit_2(tmp_path):
    with pytest.raises(UsageError) as info:
        resume.load_previous(str(tmp_path))
    assert info.value.exit_code == EXIT_USAGE
    assert "nothing to resume in %s" % tmp_path in str(info.value)
    assert "\n" not in str(info.value)


def test_load_previous_with_a_broken_state_file_is_exit_2(tmp_path):
    path = scanfiles.state_path(str(tmp_path))
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(UsageError) as info:
        resume.load_previous(str(tmp_path))
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value).startswith("cannot resume: ")


def test_load_previous_reads_jobs_and_rows(tmp_path):
    path = scanfiles.state_path(str(tmp_path))
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        json.dump({"schema": "times-doctor/scan-state", "schema_version": 1, "scan_id": "9-9",
                   "jobs": [{"name": "dual", "status": "completed"}]}, handle)
    with open(os.path.join(str(tmp_path), "times_doctor_out", "scan_report.csv"), "w",
              newline="") as handle:  # as a scan writes it: "\n" on Windows too
        handle.write(HEADER + DUAL)
    previous = resume.load_previous(str(tmp_path))
    assert previous.scan_id == "9-9"
    assert list(previous.jobs) == ["dual"]
    assert previous.records["dual"].raw == DUAL


# -- options -----------------------------------------------------------------------


def config(**fields):
    base = dict((name, None) for name in ScanConfig._fields)
    base.update(run_dir="run", resume=True)
    base.update(fields)
    return ScanConfig(**base)


def test_inherit_options_takes_what_was_not_given_again():
    previous = resume.PreviousScan("o", "1-1", {"options": {
        "gams_path": "/g/gams", "threads": "1", "parallel": True, "gams_args": ["solvelink=0"],
        "solver": "cplex", "profiles": ["dual", "mine"], "opt_dir": "/opts",
        "grace_seconds": "3"}}, {}, "r", {})
    inherited = resume.inherit_options(config(threads="2"), previous)
    assert inherited.threads == "2"  # given again: the new value
    assert inherited.gams_path == "/g/gams"
    assert inherited.parallel is True
    assert inherited.gams_args == ["solvelink=0"]
    assert (inherited.solver, inherited.profiles, inherited.opt_dir) == (
        "cplex", ["dual", "mine"], "/opts")
    assert inherited.grace_seconds == "3"


def test_inherit_options_takes_the_launcher_and_its_arguments():
    # A resumed SLURM scan must not quietly run its profiles on the login node.
    previous = resume.PreviousScan("o", "1-1", {"options": {
        "launcher": "slurm", "launcher_args": ["--partition=long"]}}, {}, "r", {})
    inherited = resume.inherit_options(config(), previous)
    assert (inherited.launcher, inherited.launcher_args) == ("slurm", ["--partition=long"])
    given = resume.inherit_options(config(launcher="local", launcher_args=["--qos=x"]), previous)
    assert (given.launcher, given.launcher_args) == ("local", ["--qos=x"])


def test_the_cli_leaves_launcher_and_its_arguments_unset_when_not_given():
    from times_doctor.cli import build_parser, _scan_config
    for option_defaults in (True, False):
        args = build_parser(option_defaults).parse_args(["scan", "d", "--resume"])
        assert (args.launcher, args.launcher_args) == (None, None)
    filled = with_defaults(_scan_config(build_parser().parse_args(["scan", "d"])), environ={})
    assert filled.launcher_args == []


def test_inherit_options_takes_the_profile_set_only_as_a_whole():
    previous = resume.PreviousScan("o", "1-1", {"options": {
        "solver": "both", "profiles": ["cplex:dual"], "opt_dir": "/opts"}}, {}, "r", {})
    inherited = resume.inherit_options(config(profiles=["sift"]), previous)
    assert (inherited.solver, inherited.profiles, inherited.opt_dir) == (None, ["sift"], None)
    assert with_defaults(inherited, environ={}).solver == "cplex"


def test_inherit_options_from_an_older_state_file_uses_its_jobs():
    jobs = collections.OrderedDict([("dual", {"solver": "cplex"}), ("sift", {"solver": "cplex"})])
    previous = resume.PreviousScan("o", "1-1", {}, jobs, "r", {})
    inherited = resume.inherit_options(config(), previous)
    assert (inherited.solver, inherited.profiles) == ("cplex", ["dual", "sift"])


def test_with_defaults_fills_only_what_is_none():
    filled = with_defaults(config(threads="3"), environ={"TD_TIMEOUT_SECONDS": "60"})
    assert (filled.threads, filled.timeout_seconds, filled.grace_seconds, filled.solver,
            filled.parallel, filled.gams_args, filled.max_workers) == (
        "3", "60", "10", "cplex", False, [], None)


# -- fingerprints --------------------------------------------------------------------


def test_changed_components_in_label_order():
    assert resume.changed_components(fingerprint(), fingerprint()) == []
    assert resume.changed_components(
        fingerprint(), fingerprint(restart="x", option_file="y")) == ["option_file", "restart"]


def test_folder_identity_follows_content_not_times(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "initsys.mod").write_text("a")
    first = resume.folder_identity(str(folder))
    os.utime(str(folder / "initsys.mod"), (1, 1))
    assert resume.folder_identity(str(folder)) == first
    (folder / "initsys.mod").write_text("b")
    assert resume.folder_identity(str(folder)) != first
    assert resume.folder_identity(str(tmp_path / "gone")).endswith(" missing")


def test_file_identity(tmp_path):
    path = tmp_path / "_times.g00"
    path.write_bytes(b"restart")
    assert resume.file_identity(str(path)) == (
        "%s sha256:%s" % (os.path.realpath(str(path)), resume._sha256(b"restart")))


def test_run_fingerprint_names_inputs_not_paths_of_this_scan(tmp_path, fake_gams_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_bytes(b"option lp=conopt;\n")
    plans = [plan_scan(scan_config(str(run_dir), fake_gams_path, profiles=["dual,sift"],
                                   threads=threads, out=str(tmp_path / out)))
             for threads, out in (("1", "a"), ("1", "b"), ("2", "a"))]
    shared = resume.scan_fingerprint(plans[0])
    prints = [[resume.run_fingerprint(plan, run, shared) for run in plan.runs]
              for plan in plans]
    assert list(prints[0][0]) == list(resume.FINGERPRINT_LABELS)
    assert prints[0] == prints[1]  # another --out: the same inputs
    assert resume.changed_components(prints[0][0], prints[2][0]) == ["option_file"]
    assert prints[0][0]["driver_copy"] == "sha256:" + resume._sha256(b"option lp=cplex;\n")
    assert prints[0][0]["command"].startswith("model.gms logoption=2 logfile=dual_run_log.txt ")
    assert prints[0][0]["gams"].startswith(os.path.realpath(fake_gams_path) + " sha256:")
    assert " release " in prints[0][0]["gams"]


# -- the decision ----------------------------------------------------------------------


def test_decide_keeps_unchanged_completed_runs_and_runs_the_rest(tmp_path):
    dirs = dict((name, str(tmp_path / name)) for name in ("a", "b", "c", "d", "e", "old"))
    for path in dirs.values():
        os.mkdir(path)
    jobs = [job("a", "completed", dirs["a"]), job("b", "cancelled", dirs["b"]),
            job("c", "completed", dirs["c"]), job("d", "waiting", dirs["d"]),
            job("old", "completed", dirs["old"])]
    rows = [DUAL.replace("dual", name, 1) for name in ("a", "b", "c", "old")]
    rows[1] = rows[1].replace("completed", "cancelled", 1)
    previous = previous_scan(tmp_path, jobs, rows)
    names = ["a", "b", "c", "d", "e"]
    prints = dict((name, fingerprint()) for name in names)
    prints["c"] = fingerprint(option_file="changed", gams="changed")
    decision = resume.decide(previous, names, prints)
    assert list(decision.kept) == ["a"]
    assert decision.kept["a"].row.raw == rows[0]
    assert decision.to_run == ["b", "c", "d", "e"]
    assert decision.reasons == {"c": "c: re-run: its option file and the GAMS executable or "
                                     "its version changed since scan 111-222"}
    assert decision.dropped == ["old"]


@pytest.mark.parametrize("case, reason", [
    ("no row", "its completed row is missing from "),
    ("no fingerprint", "scan 111-222 recorded no fingerprint of its inputs (an older "
                       "times-doctor)"),
    ("no work dir", "its work directory "),
])
def test_decide_reruns_a_completed_run_it_cannot_vouch_for(tmp_path, case, reason):
    work_dir = str(tmp_path / "a")
    if case != "no work dir":
        os.mkdir(work_dir)
    record = job("a", "completed", work_dir, fp={} if case == "no fingerprint" else None)
    if case == "no fingerprint":
        del record["fingerprint"]
    previous = previous_scan(tmp_path, [record],
                             [] if case == "no row" else [DUAL.replace("dual", "a", 1)])
    decision = resume.decide(previous, ["a"], {"a": fingerprint()})
    assert decision.to_run == ["a"] and not decision.kept
    assert decision.reasons["a"].startswith("a: re-run: " + reason)


def test_describe_and_the_saved_report(tmp_path):
    for name in ("a", "c", "old"):
        os.mkdir(str(tmp_path / name))
    jobs = [job("a", "completed", str(tmp_path / "a")), job("b", "timeout", None),
            job("c", "completed", str(tmp_path / "c")), job("old", "completed",
                                                            str(tmp_path / "old"))]
    rows = [DUAL.replace("dual", name, 1) for name in ("a", "c", "old")]
    previous = previous_scan(tmp_path, jobs, rows)
    prints = {"a": fingerprint(), "b": fingerprint(), "c": fingerprint(restart="new"),
              "new": fingerprint()}
    decision = resume.decide(previous, ["a", "b", "c", "new"], prints)
    saved = resume.saved_report_name(decision)
    assert saved == str(tmp_path / "scan_report.111-222.csv")
    assert resume.describe(decision, saved) == [
        "resuming scan 111-222: 1 run(s) kept, 3 to run",
        "kept (completed, inputs unchanged): a",
        "to run: b (timeout), c (changed), new (not in scan 111-222)",
        "c: re-run: the restart file changed since scan 111-222",
        "old: not asked for: not run and not deleted; its results stay in its work directory "
        "%s and its row in %s" % (tmp_path / "old", saved),
    ]


def test_nothing_dropped_or_replaced_saves_no_report(tmp_path):
    os.mkdir(str(tmp_path / "a"))
    previous = previous_scan(tmp_path, [job("a", "completed", str(tmp_path / "a")),
                                        job("b", "cancelled", None)],
                             [DUAL.replace("dual", "a", 1)])
    decision = resume.decide(previous, ["a", "b"], {"a": fingerprint(), "b": fingerprint()})
    assert resume.saved_report_name(decision) is None


# -- what the user sees ----------------------------------------------------------------


def test_kept_display_shows_the_original_time_and_kept(tmp_path):
    kept = resume.KeptRun("a", {"elapsed_seconds": 12.5, "result": "optimal", "iteration": 4},
                          CarriedRow({"runtime_seconds": "12.400"}, ""))
    assert resume.kept_display(kept) == (
        "completed", 12.5, {"result": "optimal", "phase": "done", "progress": 1.0,
                            "iteration": 4, "details": "kept"})
    older = resume.KeptRun("a", {}, CarriedRow({"runtime_seconds": "12.400"}, ""))
    assert resume.kept_display(older)[1] == 12.4


def test_a_kept_run_shows_in_the_table_with_its_time_held():
    clock = [100.0]
    registry = JobRegistry(monotonic=lambda: clock[0])
    status, elapsed, fields = resume.kept_display(resume.KeptRun(
        "a", {"elapsed_seconds": 12.5, "result": "optimal", "iteration": 4},
        CarriedRow({}, "")))
    registry.register_finished("a", status, elapsed_seconds=elapsed, **fields)
    registry.register("b")
    monitor = MultiRunProgressMonitor(["a", "b"], stream=io.StringIO(), live=False,
                                      clock=lambda: clock[0], registry=registry)
    clock[0] += 50
    row = monitor.rows()[0]
    assert (row.status, row.elapsed_seconds, row.result, row.phase, row.progress,
            row.details) == ("completed", 12.5, "optimal", "done", 1.0, "kept")
    assert monitor.rows()[1].status == "waiting"


def test_register_finished_from_nothing():
    registry = JobRegistry()
    registry.register_finished("a", RunStatus.COMPLETED, work_dir="/w", started_at=10.0,
                               ended_at=20.0, returncode=0)
    registry.register("b")
    snap = registry.get("a")
    assert (snap.status, snap.work_dir, snap.started_at, snap.ended_at, snap.returncode,
            snap.index) == ("completed", "/w", 10.0, 20.0, 0, 0)
    assert registry.cancel("a") is False  # final: nothing to cancel
    assert not registry.all_final()
    registry.cancel("b")
    assert registry.all_final()
    with pytest.raises(ValueError):
        registry.register_finished("c", RunStatus.RUNNING)
    with pytest.raises(ValueError):
        registry.register_finished("a", RunStatus.COMPLETED)
    with pytest.raises(TypeError):
        registry.register_finished("d", RunStatus.COMPLETED, colour="red")


def test_epoch_from_iso_inverts_iso_time():
    assert resume.epoch_from_iso(iso_time(1796131003.0)) == 1796131003.0
    assert resume.epoch_from_iso(None) is None
    assert resume.epoch_from_iso("yesterday") is None


@pytest.mark.parametrize("run_dir, out_dir, line", [
    ("/data/run", "/data/run", "times-doctor scan /data/run --resume"),
    ("/data/my run", "/data/my run", 'times-doctor scan "/data/my run" --resume'),
    ("/data/run", "/scratch/o", "times-doctor scan /data/run --resume --out /scratch/o"),
])
def test_resume_hint(run_dir, out_dir, line):
    assert scanfiles.resume_hint(run_dir, out_dir) == line


def test_the_cli_leaves_options_not_given_to_resume():
    from times_doctor.cli import build_parser
    given = build_parser(option_defaults=False).parse_args(
        ["scan", "d", "--resume", "--threads", "2"])
    assert (given.threads, given.solver, given.parallel, given.gams_arg,
            given.timeout_seconds, given.grace_seconds) == ("2", None, None, None, None, None)
    plain = build_parser().parse_args(["scan", "d"])
    assert (plain.threads, plain.parallel, plain.gams_arg, plain.grace_seconds) == (
        "7", False, [], "10")
