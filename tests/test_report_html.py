"""The HTML report as a pure function, the best-so-far line, and `times-doctor report`."""

import os
import re
import time

from times_doctor import paths as scanfiles
from times_doctor.report import html_page as report_html, page as report_page
from times_doctor.remote.dashview import state_css
from times_doctor.job_control import JobRegistry
from times_doctor.gams.lst import LstResult
from times_doctor.report.csvreport import LST_KEY, best_so_far, render_csv, summary_lines
from times_doctor.run.series import SeriesWriter, series_path
from times_doctor.scan.state_file import StateFileWriter

from scan_helpers import cli_env, run_cli, scan_config


def row(profile, status, objective="", runtime="", model_status="", rc="0", lst=None,
        iterations=""):
    result = {"profile": profile, "solver": "cplex", "status": status,
              "model_status": model_status, "solver_status": "", "lp_status": "",
              "objective": objective, "runtime_seconds": runtime, "iterations": iterations,
              "gams_rc": rc, "gams_rc_meaning": "normal return" if rc == "0" else "",
              "matrix_min": "", "matrix_max": "", "dir": "", "lst": ""}
    if lst is not None:
        result[LST_KEY] = lst
    return result


def listing(matrix=(0.5, 2.0), direction="MINIMIZE"):
    return LstResult("1 Normal Completion", "1 Optimal", 1.0, "1 optimal", 10, 1.0,
                     matrix[0], matrix[1], 1.0, 100.0, None, None, direction)


ROWS = [
    row("dual", "completed", "10.0", "4.000", "1 Optimal", lst=listing(), iterations="40"),
    row("bar", "completed", "10.5", "2.000", "1 Optimal", lst=listing((1e-6, 1e4))),
    row("mip<x>", "interrupted", "12.0", "8.000", "8 Integer Solution"),
    row("sift", "cancelled", runtime="1.000", rc=""),
]
SERIES = {
    "dual": [{"t": 1.0, "phase": "presolve"}, {"t": 2.0, "phase": "dual simplex",
                                               "objective": 12.0, "dual_obj": 12.0},
             {"t": 3.0, "phase": "done", "objective": 10.0, "dual_obj": 10.0}],
    "bar": [{"t": 0.5, "phase": "barrier", "primal_obj": 20.0, "dual_obj": 1.0,
             "primal_inf": 1.0, "dual_inf": 0.1},
            {"t": 1.5, "phase": "barrier", "primal_obj": 10.5, "dual_obj": 10.5,
             "primal_inf": 1e-9, "dual_inf": 1e-10}],
    "mip<x>": [{"t": 2.0, "phase": "mip", "incumbent": 30.0, "mip_gap": 0.9},
               {"t": 6.0, "phase": "mip", "incumbent": 12.0, "mip_gap": 0.05}],
    "sift": None,
}


def report(rows=ROWS, series=SERIES, **extra):
    document = {"scan": {"model": "model.run", "driver": "/m/model.run", "gams": "/g/gams",
                         "host": "box", "started_at": "2024-05-01T10:00:00Z",
                         "options": {"threads": 1, "profiles": ["dual", "bar"]}},
                "rows": rows, "series": series, "notes": [], "generated_at": "2024-05-01T11:00Z",
                "best_name": "bar", "best_kind": "fastest optimal"}
    document.update(extra)
    return report_html.render(document)


def test_summary_has_a_row_per_run_and_highlights_the_best():
    page = report()
    assert re.findall(r'<tr class="run( best)?" data-run="([^"]+)"', page) == [
        ("", "dual"), (" best", "bar"), ("", "mip&lt;x&gt;"), ("", "sift")]
    assert '<p class="ok" id="best">Fastest optimal: <strong>bar</strong></p>' in page
    assert '<span class="badge" style="background:#006064">Interrupted</span>' in page
    assert '<td data-label="GAMS rc">0 (normal return)</td>' in page
    assert "mip<x>" not in page  # names are escaped


def test_optimal_profiles_that_disagree_are_a_warning():
    page = report()
    # (10.5 - 10) / max(10.5, 10, 1) across the completed profiles, both optimal.
    assert ('<p class="warn" id="spread">Warning: optimal profiles disagree on the objective '
            'by 0.0476 (relative), more than the tolerance 1.00e-06.') in page
    assert report_html.objective_spread(ROWS[:1] + ROWS[2:]) == (None, False)
    agree = [row("a", "completed", "100.0", "1", "1 Optimal"),
             row("b", "completed", "100.00001", "1", "1 Optimal")]
    assert report_html.objective_spread(agree, tolerance=1e-6) == (
        (100.00001 - 100.0) / 100.00001, False)


def test_time_bars_split_by_phase_on_one_scale():
    page = report()
    bars = re.findall(r'<li data-run="([^"]+)">(.*?)</li>', page)
    assert [name for name, _ in bars] == ["dual", "bar", "mip&lt;x&gt;", "sift"]
    dual = dict(bars)["dual"]
    # The longest run (8 s) is the full width: dual's 4 s in four phases.
    assert re.findall(r'data-phase="([^"]*)" style="width:([0-9.]+)%', dual) == [
        ("", "12.500"), ("presolve", "12.500"), ("dual simplex", "12.500"), ("done", "12.500")]
    assert ("GAMS: compile, generate 1 s; presolve 1 s; dual simplex 1 s; "
            "GAMS: after the solve 1 s. Completed at 4 s") in dual
    mip = dict(bars)["mip&lt;x&gt;"]
    assert mip.count('class="seg stopped"') == 2 and "Interrupted at 8 s" in mip
    sift = dict(bars)["sift"]
    assert "no progress series: phases unknown" in sift and "Cancelled at 1 s" in sift
    legend = re.search(r'<ul class="legend" id="phase-legend">(.*?)</ul>', page).group(1)
    assert re.findall(r"</span>([^<]+)</li>", legend) == [
        "GAMS: compile, generate", "presolve", "dual simplex", "barrier",
        "MIP (branch and bound)", "GAMS: after the solve"]


def test_convergence_charts_share_the_time_axis_and_use_log_scales():
    page = report()
    charts = re.findall(r'<figure data-chart="([a-z_]+)">', page)
    assert charts == ["objective", "primal_obj", "dual_obj", "primal_inf", "dual_inf", "compl",
                      "mip_gap", "incumbent"]
    runs = dict((key, re.findall(r'<g data-run="([^"]+)">', body)) for key, body in
                re.findall(r'<figure data-chart="([a-z_]+)">(.*?)</figure>', page))
    assert runs["objective"] == ["dual"]
    assert runs["dual_obj"] == ["dual", "bar"]
    assert runs["compl"] == ["bar"]  # CPLEX: the relative primal-dual gap of its barrier
    assert runs["mip_gap"] == ["mip&lt;x&gt;"]
    infeasibility = dict(re.findall(r'<figure data-chart="([a-z_]+)">(.*?)</figure>', page))[
        "primal_inf"]
    assert re.findall(r">(1e-?\d+)</text>", infeasibility) == [
        "1e-9", "1e-7", "1e-5", "1e-3", "1e-1"]
    # Every chart's time axis ends at the longest run, 8 s.
    assert all(">8</text>" in body for body in re.findall(r"<figure.*?</figure>", page))
    legend = re.search(r'<ul class="legend" id="run-legend">(.*?)</ul>', page).group(1)
    assert re.findall(r"</svg>([^<]+)</li>", legend) == ["dual", "bar", "mip&lt;x&gt;", "sift"]
    assert "No progress series for: sift." in page


def test_numerics_warn_in_plain_language_above_the_usual_range():
    page = report()
    assert page.count('<p class="warn">Warning: the matrix coefficients') == 1
    assert ("Warning: the matrix coefficients span 10 orders of magnitude (ratio 1.00e+10, "
            "above 1.00e+09): solvers lose accuracy") in page
    assert report_html.range_warnings(listing()) == []
    big = listing()._replace(rhs_max=1e12)
    assert report_html.range_warnings(big) == [
        "a right-hand side of 1.00e+12 (above 1.00e+09) looks like a stand-in for infinity "
        "or a unit problem"]


def test_status_badges_have_the_dashboard_colours():
    page = report()
    for status in ("completed", "interrupted", "cancelled"):
        colour = re.search(r"\.st-%s\{color:(#[0-9a-f]{6});" % status, state_css()).group(1)
        assert ('<span class="badge" style="background:%s">%s</span>'
                % (colour, status.capitalize())) in page


def test_the_page_is_self_contained():
    page = report(notes=["no state file"])
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "url(" not in page and "@import" not in page
    assert '<p class="note">Note: no state file</p>' in page
    assert "<dt>Options</dt><dd>profiles: dual, bar; threads: 1</dd>" in page


def test_rendering_24_long_runs_stays_small_and_quick():
    """24 profiles of 8-hour runs: the series are bounded, so is the page."""
    rows, series = [], {}
    for index in range(24):
        name = "p%02d" % index
        rows.append(row(name, "completed", str(100.0 + index), "28800.000", "1 Optimal"))
        writer_points = []
        for step in range(0, 28800 * 2):  # a point per half second
            writer_points.append(step)
        series[name] = [{"t": s * 0.5, "phase": "barrier" if s < 20000 else "crossover",
                         "primal_inf": 1.0 / (1 + s), "objective": 100.0 + index}
                        for s in writer_points[::225]]  # what a 256-point writer keeps
    started = time.process_time()
    page = report(rows=rows, series=series)
    assert len(page) < 3 * 1024 * 1024
    assert page.count('<tr class="run') == 24
    # Not a speed test (bench/ reports the time): a guard against quadratic blow-ups.
    assert time.process_time() - started < 30


def test_best_so_far_names_the_best_incumbent():
    rows = [row("dual", "interrupted", "2.0", "5.0", "8 Integer Solution"),
            row("bar", "timeout", "3.5", "9.0", "8 Integer Solution"),
            row("sift", "cancelled", runtime="1.0")]
    assert summary_lines(rows)[-2:] == ["No profile reached an optimal model status.",
                                        "best so far: dual, interrupted, objective 2.0"]
    maximise = listing(direction="MAXIMIZE")
    for item in rows[:2]:
        item[LST_KEY] = maximise
    assert best_so_far(rows)["profile"] == "bar"
    assert best_so_far(rows[2:]) is None
    assert summary_lines(rows[2:])[-1] == "No profile reached an optimal model status."
    # The LstResult rides along but is no CSV column.
    assert "Normal Completion" not in render_csv(rows)


def test_report_command_renders_an_older_scan_and_names_what_is_missing(tmp_path):
    out_root = tmp_path / "times_doctor_out"
    work = out_root / "scan_runs" / "cplex" / "dual"
    work.mkdir(parents=True)
    rows = [row("dual", "completed", "1.0", "2.000", "1 Optimal"),
            row("bar", "cancelled", runtime="1.000", rc="")]
    rows[0]["dir"] = str(work)
    (out_root / "scan_report.csv").write_text(render_csv(rows))
    code, text, err = run_cli(["report", str(tmp_path)], env=cli_env())
    assert code == 0, err
    page_path = str(out_root / "scan_report.html")
    assert text.splitlines() == [
        "note: no state file (%s): the model, GAMS, host and options are unknown"
        % os.path.join(str(out_root), "scan_runs", "scan_state.json"),
        "note: no progress series (progress_series.jsonl) for dual, bar: a scan made before "
        "this feature, or a run that never started; its phases and convergence are not shown",
        "Report: %s" % page_path]
    with open(page_path) as handle:
        page = handle.read()
    assert page.count('<tr class="run') == 2 and "fastest optimal" in page
    # With a series the run gets its chart; --html writes elsewhere.
    series = SeriesWriter(series_path(str(work)), "dual", "cplex")
    series.add(0.5, "dual simplex", {"objective": 3.0})
    series.add(2.0, "done", {"objective": 1.0}, final=True)
    series.close()
    other = str(tmp_path / "copy.html")
    code, text, err = run_cli(["report", "--out", str(tmp_path), "--html", other], env=cli_env())
    assert code == 0 and text.splitlines()[-1] == "Report: %s" % other, err
    with open(other) as handle:
        assert '<figure data-chart="objective">' in handle.read()


def test_report_command_on_a_folder_without_a_scan(tmp_path):
    code, text, err = run_cli(["report", str(tmp_path)], env=cli_env())
    assert code == 2 and text == ""
    assert err.startswith("times-doctor: error: no scan in %s: neither" % tmp_path)
    assert len(err.splitlines()) == 1


def test_load_report_lists_runs_the_csv_does_not_have_yet(tmp_path):
    document = report_page.load_report(str(tmp_path), rows=[row("dual", "completed", "1.0",
                                                                 "1.0", "1 Optimal")], now=0)
    assert document["generated_at"] == "1970-01-01T00:00:00Z"
    assert [r["profile"] for r in document["rows"]] == ["dual"]
    assert document["best_name"] == "dual" and document["best_kind"] == "fastest optimal"


def test_kept_runs_of_a_resumed_scan_are_marked(tmp_path):
    page = report(kept=["dual"], scan={"model": "m", "resumed_from": "11-22"})
    assert ("<dt>Resumed from</dt><dd>scan 11-22; kept from it (completed there, inputs "
            "unchanged, not run again): dual</dd>") in page
    runs = dict(re.findall(r'<tr class="run[^"]*" data-run="([^"]+)">(.*?)</tr>', page))
    bars = dict(re.findall(r'<li data-run="([^"]+)">(.*?)</li>', page))
    assert [name for name in runs if 'class="tag kept"' in runs[name]] == ["dual"]
    assert [name for name in bars if 'class="tag kept"' in bars[name]] == ["dual"]
    assert "Completed at 4 s in the earlier scan (kept)" in bars["dual"]
    assert "Resumed from" not in report()
    # load_report takes them from the state file's "kept".
    registry = JobRegistry()
    registry.register_finished("dual", "completed", elapsed_seconds=4.0)
    registry.register("bar")
    os.makedirs(scanfiles.runs_root(str(tmp_path)))
    StateFileWriter(scanfiles.state_path(str(tmp_path)), registry,
                    {"scan_id": "33-44", "resumed_from": "11-22"},
                    {"dual": {"kept": True}, "bar": {"kept": False}}).write()
    document = report_page.load_report(str(tmp_path), rows=ROWS[:2], now=0)
    assert document["kept"] == ["dual"] and document["scan"]["resumed_from"] == "11-22"


def test_confirmation_list_is_aligned_like_the_table(tmp_path, fake_gams_path):
    import io
    from times_doctor.scan.plan import plan_scan
    from times_doctor.scan.scanner import Scan
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 0\n")
    config = scan_config(str(run_dir), fake_gams_path,
                         profiles=["dual", "bar_nox", "concurrent"], grace_seconds="1")
    stdout = io.StringIO()
    scan = Scan(plan_scan(config), stdin=io.StringIO("n\n"), stdout=stdout)
    assert scan._confirm() is False
    runs = os.path.join(str(run_dir), "times_doctor_out", "scan_runs", "cplex")
    assert stdout.getvalue().splitlines()[1:4] == [
        "  dual        -> %s" % os.path.join(runs, "dual"),
        "  bar_nox     -> %s" % os.path.join(runs, "bar_nox"),
        "  concurrent  -> %s" % os.path.join(runs, "concurrent")]


def test_ranking_section_gives_the_order_the_verdict_the_warning_and_the_answer():
    from times_doctor.report import ranking
    rows = [dict(row("dual", "completed", "1.0", "9.000", "1 Optimal"), trial_of="dual",
                 run_kind="confirm", contended="yes", cpu_share="0.4", load_avg="5.0"),
            dict(row("primal", "completed", "1.0", "12.000", "1 Optimal"), trial_of="primal",
                 contended="yes", cpu_share="0.5"),
            dict(row("bar", "capped", runtime="13.500"), trial_of="bar",
                 stop_reason="could not beat dual: 1.5 x 9.00 s")]
    answer = {"trustworthy": "times-doctor scan /r --resume --confirm 2",
              "best_file": "/o/times_doctor_out/best/cplex.opt",
              "use_line": "gams model.run lp=cplex optfile=1 optdir=/o/best"}
    page = report(rows=rows, ranking=ranking.rank_rows(rows), answer=answer, best_name="dual")
    section = page[page.index('<section id="ranking">'):page.index('<section id="time">')]
    assert re.findall(r'<tr data-profile="([^"]+)">', section) == ["dual", "primal", "bar"]
    assert '<td data-label="Timed">confirm: 1 run alone, contended</td>' in section
    assert '<td data-label="Timed">capped: could not beat dual: 1.5 x 9.00 s</td>' in section
    assert '<p class="ok" data-kind="verdict">Winner: dual, 9.00 s wall' in section
    # Alone, yet contended: the machine was busy; the command is named otherwise.
    assert '<p class="warn" data-kind="verdict">Even alone the best runs were contended' \
        not in section  # primal (the runner-up) was timed in the scan, not alone
    assert "re-run the best alone: times-doctor scan /r --resume --confirm 2" in section
    assert ('<p class="ok" id="best-file">Best option file: <code>/o/times_doctor_out/best/'
            'cplex.opt</code>. Use it in the run folder: <code>gams model.run lp=cplex '
            'optfile=1 optdir=/o/best</code></p>') in section
    assert '<tr class="run best" data-run="dual">' in page


def test_timing_section_has_the_figures_of_each_measured_run():
    rows = [dict(row("dual", "completed", "1.0", "9.000", "1 Optimal"), solver_seconds="6.500",
                 gams_seconds="2.500", cpu_seconds="8.800", det_ticks="3633.34", cpu_share="0.45",
                 load_avg="3.90", cpus="2", contended="yes", trial="1"),
            dict(row("grb", "completed", "1.0", "2.000", "1 Optimal"), solver_seconds="1.000",
                 gams_seconds="1.000", cpu_seconds="1.900", work_units="0.48", cpu_share="0.98",
                 contended="no", exclusive_node="yes", trial="2", seed="1"),
            row("sift", "cancelled", runtime="1.000", rc="")]  # nothing measured: no row
    page = report(rows=rows)
    section = page[page.index('<section id="timing">'):page.index('<section id="convergence">')]
    assert re.findall(r'<tr data-run="([^"]+)"', section) == ["dual", "grb"]
    assert '<tr data-run="dual" class="contended">' in section
    cells = re.findall(r'<td data-label="[^"]+">([^<]*)</td>', section)
    assert cells == ["dual", "9.000", "6.500", "2.500", "8.800", "3633.34 ticks", "45 %",
                     "3.90 on 2 CPUs", "yes", "1", "",
                     "grb", "2.000", "1.000", "1.000", "1.900", "0.48 work units", "98 %", "",
                     "no, exclusive node", "2", "1"]
