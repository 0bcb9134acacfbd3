"""scan --resume end to end: the GAMS under test with real solvers, real signals, a real pty.

Four profiles on the market-split MIP: two end at once (a 0.2 s time
limit), two run until a few seconds' limit, long enough to be cancelled,
short enough to complete when resumed.  A wrapper around GAMS writes down
the work directory of every job it starts, so each test sees exactly which
profiles a scan ran.
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from times_doctor.remote import dashboard
from times_doctor.report import svg as report_svg
from times_doctor.remote.dashboard import Dashboard, ScanSource
from times_doctor.term.render import format_elapsed
from times_doctor.run.series import read_series, series_path

from proc_helpers import wait_until
from pty_helpers import CTRL_C, PtyProcess, python_argv
from scan_helpers import (CSV_COLUMNS, cli_env, market_split_args, read_report, read_state,
                          recording_gams, run_cli, session_alive, started_profiles, tree_digest)

pytestmark = [
    pytest.mark.gams,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty + /proc session check"),
]

QUICK = ("q1", "q2")
MIPS = ("m1", "m2")
PROFILES = QUICK + MIPS
# Long enough to be seen running and cancelled on a loaded machine, short
# enough for a resumed scan to complete them.
MIP_SECONDS = 8


@pytest.fixture
def setup(copy_model, gams_path, tmp_path):
    """(run_dir, out, args of the first scan, wrapper's record of started jobs)."""
    run_dir = copy_model("marketsplit")
    opts = tmp_path / "opts" / "cplex"
    opts.mkdir(parents=True)
    for name in QUICK:
        (opts / (name + ".opt")).write_text("tilim 0.2\n")
    for index, name in enumerate(MIPS):
        (opts / (name + ".opt")).write_text("tilim %d\nmipemphasis %d\n" % (MIP_SECONDS, index))
    wrapper, calls = recording_gams(tmp_path, gams_path)
    out = str(tmp_path / "out")
    args = market_split_args(run_dir, str(wrapper), out, profiles=",".join(PROFILES),
                             extra=["--opt-dir", str(tmp_path / "opts")])
    return run_dir, out, args, calls


started = started_profiles


def statuses(out):
    try:
        return dict((job["name"], job["status"]) for job in read_state(out)["jobs"])
    except (IOError, OSError, ValueError, KeyError):
        return {}


def wait_for(predicate, what, proc=None, timeout=90):
    wait_until(predicate, timeout, interval=0.05, message=what, process=proc)


def quick_done_mips_running(out):
    now = statuses(out)
    return all(now.get(name) == "completed" for name in QUICK) and \
        all(now.get(name) == "running" for name in MIPS)


def start(args):
    return subprocess.Popen([sys.executable, "-m", "times_doctor"] + args,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=cli_env())


def scan_until(args, predicate, what, act):
    """Start a scan, wait until *predicate*, do *act(proc)* to it, and let it end.

    The scanner is killed if anything fails on the way: no scan outlives its test.

    Returns:
        (returncode, stdout as text, stderr as bytes).
    """
    proc = start(args)
    try:
        wait_for(predicate, what, proc)
        act(proc)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stdout.decode(), stderr


def cancel_runs(out, *names):
    """An act for scan_until(): `times-doctor cancel --out OUT NAMES`, which must succeed."""
    def act(proc):
        code, stdout, stderr = run_cli(["cancel", "--out", out] + list(names))
        assert code == 0, (stdout, stderr)
    return act


def resume_args(run_dir, out):
    """What the scan's last line says to run (plus --yes: stdin is no terminal anyway)."""
    return ["scan", run_dir, "--resume", "--out", out]


def report_lines(out):
    with open(os.path.join(out, "times_doctor_out", "scan_report.csv"), "rb") as handle:
        return handle.read().splitlines(True)


def carried_text(line):
    """A kept row's bytes up to its ranking cells, and what follows them.

    A kept row is written back byte for byte except ``rank`` and
    ``rank_basis``, which every scan computes afresh over all its rows
    (report.DERIVED_COLUMNS): the other runs may have changed the ranking.
    """
    cells = next(csv.reader([line.decode("utf-8")]))
    rank = CSV_COLUMNS.index("rank")
    head = ",".join(cells[:rank])
    assert line.decode("utf-8").startswith(head + ",")  # those bytes, unquoted, as written
    return head, cells[rank + 2:]


def work_dir(out, name):
    return os.path.join(out, "times_doctor_out", "scan_runs", "cplex", name)


def assert_no_process_left(out):
    for job in read_state(out)["jobs"]:
        if job.get("sid"):
            assert session_alive(job["sid"]) == [], "%s left processes" % job["name"]


def last_line(stdout):
    return stdout.strip().splitlines()[-1]


def scan_and_cancel_the_mips(args, out):
    """Run the first scan until q1, q2 completed, then cancel m1, m2; returns its stdout."""
    code, stdout, stderr = scan_until(args, lambda: quick_done_mips_running(out),
                                      "q1, q2 completed, m1, m2 running",
                                      cancel_runs(out, *MIPS))
    assert code == 3, (stdout, stderr)
    return stdout


def test_cancel_the_mips_resume_cancel_again_resume_again(setup):
    run_dir, out, args, calls = setup
    stdout = scan_and_cancel_the_mips(args, out)
    assert last_line(stdout) == ("To run what did not complete: times-doctor scan %s --resume "
                                 "--out %s" % (run_dir, out))
    assert sorted(started(calls, out)) == sorted(PROFILES)
    first_scan = read_state(out)["scan_id"]
    q1_seconds = [job for job in read_state(out)["jobs"] if job["name"] == "q1"][0][
        "elapsed_seconds"]
    before = report_lines(out)
    kept_dirs = dict((name, tree_digest(work_dir(out, name))) for name in QUICK)

    # Resume, and cancel m1 once it runs again.
    code, stdout, stderr = scan_until(
        resume_args(run_dir, out), lambda: read_state(out)["scan_id"] != first_scan
        and statuses(out).get("m1") == "running", "m1 running again", cancel_runs(out, "m1"))
    assert code == 3, (stdout, stderr)
    assert sorted(started(calls, out)) == ["m1", "m2"]  # exactly the two MIPs
    assert "resuming scan %s: 2 run(s) kept, 2 to run" % first_scan in stdout
    assert "to run: m1 (cancelled), m2 (cancelled)" in stdout
    assert last_line(stdout).startswith("To run what did not complete: ")
    lines = report_lines(out)
    assert lines[:3] == before[:3]  # header and both quick rows, byte for byte
    _, rows = read_report(out)
    assert [row["profile"] for row in rows] == list(PROFILES)
    assert [row["status"] for row in rows] == ["completed", "completed", "cancelled",
                                               "completed"]
    state = read_state(out)
    assert state["resumed_from"] == first_scan and state["schema_version"] == 2
    jobs = dict((job["name"], job) for job in state["jobs"])
    assert [jobs[name]["kept"] for name in PROFILES] == [True, True, False, False]
    assert all(jobs[name]["details"] == "kept" and jobs[name]["status"] == "completed"
               and jobs[name]["pid"] is None for name in QUICK)
    assert all(isinstance(job["fingerprint"], dict) for job in jobs.values())
    assert_no_process_left(out)

    # Resume again: only m1 is left, and then every row is completed.
    code, stdout, stderr = run_cli(resume_args(run_dir, out))
    assert code == 0, (stdout, stderr)
    assert started(calls, out) == ["m1"]
    assert "kept (completed, inputs unchanged): q1, q2, m2" in stdout
    assert "To run what did not complete" not in stdout
    final = report_lines(out)
    assert final[:3] == before[:3] and final[4] == lines[4]  # m2's row carried over too
    _, rows = read_report(out)
    assert [row["profile"] for row in rows] == list(PROFILES)
    assert [row["status"] for row in rows] == ["completed"] * 4
    for name in QUICK:
        assert tree_digest(work_dir(out, name)) == kept_dirs[name]  # never touched
    # The table shows kept runs completed, with their time and "kept".
    code, text, _ = run_cli(["status", "--out", out])
    assert code == 0
    q1 = [line for line in text.splitlines() if line.startswith("q1 ")][0].split()
    assert q1[1] == "Completed" and q1[-1] == "kept"
    assert q1[-2] == format_elapsed(q1_seconds)  # its original time


def test_resume_after_the_scanner_was_killed(setup):
    run_dir, out, args, calls = setup
    # SIGKILL: no report, no cleanup; the MIPs run on.
    scan_until(args, lambda: quick_done_mips_running(out), "q1, q2 completed, m1, m2 running",
               lambda proc: proc.kill())
    first_scan = read_state(out)["scan_id"]  # as the killed scanner left it
    orphans = [job["sid"] for job in read_state(out)["jobs"] if job["name"] in MIPS]
    assert all(session_alive(sid) for sid in orphans)
    started(calls, out)
    code, stdout, stderr = run_cli(resume_args(run_dir, out))
    assert code == 0, (stdout, stderr)
    assert "note: reaped the dead scan %s" % first_scan in stdout
    assert "to run: m1 (cancelled), m2 (cancelled)" in stdout
    assert sorted(started(calls, out)) == ["m1", "m2"]
    assert all(session_alive(sid) == [] for sid in orphans)
    _, rows = read_report(out)
    assert [(row["profile"], row["status"]) for row in rows] == [
        (name, "completed") for name in PROFILES]


def test_pty_menu_abort_then_resume(setup):
    run_dir, out, args, calls = setup
    proc = PtyProcess(python_argv(*args), env=cli_env({"TERM": "xterm"}))
    try:
        proc.wait_until(lambda: quick_done_mips_running(out), timeout=90,
                        message="q1, q2 completed, m1, m2 running")
        mark = len(proc.output)
        proc.send(CTRL_C)
        proc.expect(br"Cancel Menu", since=mark)
        proc.send(b"3\n")
        proc.expect(br"To run what did not complete: times-doctor scan \S+ --resume", since=mark)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.close()
    started(calls, out)
    proc = PtyProcess(python_argv(*resume_args(run_dir, out)), env=cli_env({"TERM": "xterm"}))
    try:
        # A terminal asks before it starts; Enter says yes.
        proc.expect(br"Start\? \[Y/n\]")
        proc.send(b"\n")
        proc.expect(br"2 run\(s\) kept, 2 to run")
        assert proc.wait(timeout=90) == 0
    finally:
        proc.close()
    assert sorted(started(calls, out)) == ["m1", "m2"]
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["completed"] * 4


def test_sigterm_without_a_terminal_then_resume(setup):
    run_dir, out, args, calls = setup
    code, stdout, stderr = scan_until(args, lambda: quick_done_mips_running(out),
                                      "q1, q2 completed, m1, m2 running",
                                      lambda proc: proc.send_signal(signal.SIGTERM))
    assert code == 143, (stdout, stderr)
    assert last_line(stdout).startswith("To run what did not complete: ")
    started(calls, out)
    code, stdout, stderr = run_cli(resume_args(run_dir, out))
    assert code == 0, (stdout, stderr)
    assert sorted(started(calls, out)) == ["m1", "m2"]
    _, rows = read_report(out)
    assert [row["status"] for row in rows] == ["completed"] * 4


def test_an_edited_option_file_reruns_that_profile_and_says_why(copy_model, gams_path, tmp_path):
    run_dir = copy_model("transport")
    opts = tmp_path / "opts"
    opts.mkdir()
    (opts / "a.opt").write_text("lpmethod 1\n")
    (opts / "b.opt").write_text("lpmethod 2\n")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--opt-dir",
                                    str(opts), "--profiles", "a,b", "--threads", "1",
                                    "--out", out, "--yes"])
    assert code == 0, (stdout, stderr)
    assert "To run what did not complete" not in stdout  # nothing to resume
    first_scan = read_state(out)["scan_id"]
    before = report_lines(out)
    (opts / "b.opt").write_text("lpmethod 4\n")
    code, stdout, stderr = run_cli(resume_args(run_dir, out))
    assert code == 0, (stdout, stderr)
    assert "b: re-run: its option file changed since scan %s" % first_scan in stdout.splitlines()
    assert "kept (completed, inputs unchanged): a" in stdout
    after = report_lines(out)
    assert after[0] == before[0] and carried_text(after[1]) == carried_text(before[1])
    assert after[2] != before[2]
    with open(os.path.join(work_dir(out, "b"), "cplex.opt")) as handle:
        assert "lpmethod 4" in handle.read()
    # The dashboard shows the kept run as completed, marked kept.
    server = Dashboard(ScanSource(out_dirs=[out]), port=0, token="t" * 24)
    server.start()
    try:
        request = urllib.request.Request(
            "http://127.0.0.1:%d/api/scans/%s" % (server.port, read_state(out)["scan_id"]),
            headers={dashboard.TOKEN_HEADER: "t" * 24})
        with urllib.request.urlopen(request, timeout=30) as response:
            view = json.loads(response.read().decode("utf-8"))
    finally:
        server.stop()
    assert view["resumed_from"] == first_scan
    runs = view["dashboard"]["runs"]
    assert (runs["a"]["label"], runs["a"]["details"]) == ("Completed", "kept")
    assert runs["b"]["details"] != "kept"
    # The replaced completed row is not lost.
    with open(os.path.join(out, "times_doctor_out", "scan_report.%s.csv" % first_scan),
              "rb") as handle:
        assert handle.read().splitlines(True) == before


def test_resume_without_an_earlier_scan_is_one_line_exit_2(copy_model, gams_path, tmp_path):
    run_dir = copy_model("transport")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--resume",
                                    "--yes"])
    assert code == 2
    assert stdout == ""
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("times-doctor: error: nothing to resume in %s" % run_dir)
    assert not os.path.exists(os.path.join(run_dir, "times_doctor_out"))



def html_page(out):
    with open(os.path.join(out, "times_doctor_out", "scan_report.html"), encoding="utf-8") as f:
        return f.read()


def page_parts(page):
    """What a run shows on the page: summary row, bar segments, charts with its line."""
    rows = dict(re.findall(r'<tr class="run[^"]*" data-run="([^"]+)">(.*?)</tr>', page))
    bars = dict(re.findall(r'<li data-run="([^"]+)">(.*?)</li>', page))
    segments = dict((name, re.findall(r'data-phase="([^"]*)"[^>]*title="([^"]*)"', bar))
                    for name, bar in bars.items())
    charts = {}
    for key, figure in re.findall(r'<figure data-chart="([^"]+)">(.*?)</figure>', page):
        for name in re.findall(r'<g data-run="([^"]+)">', figure):
            charts.setdefault(name, set()).add(key)
    return rows, bars, segments, charts


def charts_in_series(points):
    """The chart keys the report can draw from a run's series points."""
    return set(chart.key for chart in report_svg.CHARTS
               if report_svg.chart_lines(chart, ["run"], {"run": points})[0][1])


def test_page_after_resume_shows_kept_runs_beside_the_rerun_ones(setup):
    run_dir, out, args, calls = setup
    scan_and_cancel_the_mips(args, out)
    assert sorted(started(calls, out)) == sorted(PROFILES)
    first_scan = read_state(out)["scan_id"]
    _, _, first_segments, _ = page_parts(html_page(out))
    kept_series = dict((name, read_series(series_path(work_dir(out, name)))[1])
                       for name in QUICK)

    code, stdout, stderr = run_cli(resume_args(run_dir, out))
    assert code == 0, (stdout, stderr)
    assert sorted(started(calls, out)) == ["m1", "m2"]
    page = html_page(out)
    rows, bars, segments, charts = page_parts(page)
    assert sorted(rows) == sorted(bars) == sorted(PROFILES)
    # Kept runs are marked so, in the table and on their bars; the re-run ones are not.
    for name in PROFILES:
        marked = name in QUICK
        assert ('class="tag kept"' in rows[name]) is marked, (name, rows[name])
        assert ('class="tag kept"' in bars[name]) is marked, (name, bars[name])
        assert ("in the earlier scan (kept)" in bars[name]) is marked, (name, bars[name])
        assert "Completed" in rows[name]
    assert ("<dt>Resumed from</dt><dd>scan %s; kept from it (completed there, inputs unchanged, "
            "not run again): q1, q2</dd>" % first_scan) in page
    # A kept run is drawn from the files its run left: the same phases as before the
    # resume, and a line in every chart its series has points for.
    for name in QUICK:
        assert segments[name] == first_segments[name] and segments[name], name
        assert read_series(series_path(work_dir(out, name)))[1] == kept_series[name]
        assert charts.get(name, set()) == charts_in_series(kept_series[name]), name
        assert charts[name], name  # both logged an incumbent before their time limit
    # The re-run ones ran their MIP again for seconds.
    for name in MIPS:
        assert "mip" in [phase for phase, _ in segments[name]], (name, segments[name])
        points = read_series(series_path(work_dir(out, name)))[1]
        assert {"incumbent", "mip_gap"} <= charts[name] == charts_in_series(points), name
    assert "no progress series" not in page and "listing of" not in page

    # times-doctor report draws the same page from the files alone.
    code, text, err = run_cli(["report", "--out", out])
    assert code == 0, (text, err)
    assert text.splitlines() == ["Report: " + os.path.join(out, "times_doctor_out",
                                                            "scan_report.html")]
    written = re.compile(r"<dt>Page written</dt><dd>[^<]*</dd>")
    assert written.sub("", html_page(out)) == written.sub("", page)
