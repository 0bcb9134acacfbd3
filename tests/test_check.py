"""times-doctor check and the scan's preflight (issue 10).

Pure parts with exact expectations (the licence item with an injected date,
the JSON document), then the command against the GAMS under test, the
stand-in's expired mode, the fake GAMS and small broken set-ups: every ✗.
"""

import datetime
import io
import json
import os
import sys
import time

import pytest

from times_doctor.gams import gamsinfo
from times_doctor.proc import procgroup
from times_doctor.scan import check

from gams_select import WINDOWS_NO_OPTION_READER, solver_report
from scan_helpers import cli_env, run_cli, scan_config, tree_digest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
EXPIRED = cli_env({"TD_STANDIN_LICENCE": "expired"})


def noargs_banner(expired):
    with open(os.path.join(FIXTURES, "gams_expired", "noargs.txt")) as handle:
        text = handle.read()
    if not expired:
        text = text.replace("*** Time-limited license expired\n", "")
    return gamsinfo.parse_banner(text)


# -- the licence item: dates injected, so nothing depends on today --------------------

def test_licence_expired_is_an_error():
    item = check._licence_item(noargs_banner(True), [], datetime.date(2026, 12, 1))
    assert item.status == check.ERROR
    assert item.text == ("GAMS licence stopped working on Nov 26, 2026 "
                         "(/work/main/.venv/lib/python3.11/site-packages/gamspy_base/"
                         "gamslice.txt)")
    assert item.fix == "install a valid licence, or pass one with --gams-arg license=FILE"
    assert item.data["days_left"] == -5 and item.data["expired"] is True
    assert item.data["maintenance_date"] == "2026-06-15"


def test_licence_on_its_last_day_is_expired():
    # "stops working on Nov 26": on that day it no longer works.
    item = check._licence_item(noargs_banner(False), [], datetime.date(2026, 11, 26))
    assert item.status == check.ERROR


def test_licence_under_14_days_is_a_warning():
    item = check._licence_item(noargs_banner(False), [], datetime.date(2026, 11, 13))
    assert item.status == check.WARNING
    assert "stops working on Nov 26, 2026 (13 days left)" in item.text
    assert "(demo licence)" in item.text and "GAMS Demo, for EULA" in item.text
    assert "maintenance date later than Jun 15, 2026" in item.text
    assert item.fix == "renew the licence before Nov 26, 2026"


def test_licence_with_14_days_left_passes():
    item = check._licence_item(noargs_banner(False), [], datetime.date(2026, 11, 12))
    assert item.status == check.OK and "(14 days left)" in item.text


def test_licence_given_on_the_command_line(tmp_path):
    licence = tmp_path / "mylice.txt"
    licence.write_text("My Company, full licence   G123\nsecond line\n")
    item = check._licence_item(noargs_banner(True), ["license=%s" % licence],
                               datetime.date(2026, 12, 1))
    # The banner describes the default licence; the solver check judges this one.
    assert item.status == check.OK
    assert item.data["first_line"] == "My Company, full licence   G123"
    assert item.data["from_gams_arg"] == "license=%s" % licence


# -- rendering -----------------------------------------------------------------------

ITEMS = [check.CheckItem("gams", "gams", check.OK, "GAMS 1", None, {}),
         check.CheckItem("licence", "licence", check.WARNING, "ends soon", "renew it", {}),
         check.CheckItem("solvers", "solver:cplex", check.ERROR, "CPLEX refused", "licence",
                         {"reason": "x"})]


def test_render_unicode_and_ascii():
    assert check.render_lines(ITEMS) == [
        "GAMS", "  \u2713 GAMS 1", "Licence", "  \u26a0 ends soon", "      fix: renew it",
        "Solvers", "  \u2717 CPLEX refused", "      fix: licence", "",
        "1 \u2713, 1 \u26a0, 1 \u2717"]
    assert check.render_lines(ITEMS, unicode_ok=False)[1] == "  ok GAMS 1"
    assert check.render_lines(ITEMS, unicode_ok=False)[6] == "  XX CPLEX refused"


def test_render_colour_like_the_table():
    lines = check.render_lines(ITEMS, color=True)
    assert lines[1] == "  \x1b[1;32m\u2713\x1b[0m GAMS 1"
    assert lines[6] == "  \x1b[1;31m\u2717\x1b[0m CPLEX refused"


def test_document_schema_and_exit_code():
    doc = check.document(ITEMS, now=datetime.datetime(2026, 12, 1, 10, 0, 0))
    assert list(doc) == ["schema", "schema_version", "generated_at", "exit_code", "summary",
                         "items"]
    assert (doc["schema"], doc["schema_version"]) == ("times-doctor/check", 1)
    assert doc["generated_at"] == "2026-12-01T10:00:00Z" and doc["exit_code"] == 1
    assert doc["summary"] == {"ok": 1, "warning": 1, "error": 1}
    assert doc["items"][2] == {"section": "solvers", "name": "solver:cplex", "status": "error",
                               "text": "CPLEX refused", "fix": "licence",
                               "data": {"reason": "x"}}
    assert check.exit_code(ITEMS[:2]) == 0  # warnings alone pass


# -- the command against the GAMS under test ------------------------------------------

def check_args(gams, *extra):
    return ["check", "--gams-path", gams, "--threads", "1"] + list(extra)


def test_check_passes_on_a_good_setup(copy_model, gams_path):
    run_dir = copy_model("times_style")
    code, out, err = run_cli(check_args(gams_path, run_dir, "--solver", "both"))
    assert code == 0, (out, err)
    assert "\x1b" not in out  # not a terminal
    for expected in ("CPLEX solved a one-variable LP through GAMS (model status 1 Optimal",
                     "GUROBI solved a one-variable LP through GAMS",
                     "driver %s: its name matches the newest listing, times_demo.lst"
                     % os.path.join(run_dir, "times_demo.run"),
                     "TIMES source %s: the include summary of times_demo.lst names its "
                     "initsys.mod" % os.path.join(run_dir, "times_src"),
                     "every include the driver names is on the include path",
                     "max-workers 1: one at a time (no --parallel)",
                     "process control: "):
        assert expected in out, out
    assert out.splitlines()[-1].endswith("0 \u2717")


def test_check_json(copy_model, gams_path):
    run_dir = copy_model("transport")
    code, out, err = run_cli(check_args(gams_path, run_dir, "--json", "--parallel"))
    assert code == 0, (out, err)
    doc = json.loads(out)
    names = [item["name"] for item in doc["items"]]
    assert names[:3] == ["gams", "licence", "solver:cplex"]
    assert "profile:dual" in names and "machine:workers" in names
    assert doc["exit_code"] == 0 and doc["summary"]["error"] == 0
    workers = [item for item in doc["items"] if item["name"] == "machine:workers"][0]
    assert workers["data"]["why"].startswith("max(1, min(3 profiles, ")
    gams = doc["items"][0]["data"]
    assert set(gams) == set(["path", "release", "version", "release_date", "system_dir"])


def test_check_expired_licence_reports_the_date_and_exits_1(copy_model, standin):
    run_dir = copy_model("transport")
    code, out, err = run_cli(check_args(standin, run_dir), env=EXPIRED)
    assert code == 1, (out, err)
    assert "\u2717 GAMS licence stopped working on Nov 26, 2026 (%s)" % os.path.join(
        os.path.dirname(standin), "gamslice.txt") in out
    assert "fix: install a valid licence, or pass one with --gams-arg license=FILE" in out
    assert "solved a one-variable LP" not in out  # not tried after the licence


def test_check_solver_refused_with_gams_reason(copy_model, tmp_path, standin):
    # A licence passed with --gams-arg: GAMS's banner cannot judge it, the solver
    # check does (the stand-in's expired mode refuses the job with GAMS's line).
    run_dir = copy_model("transport")
    licence = tmp_path / "gamslice.txt"
    licence.write_text("Some licence\n")
    code, out, err = run_cli(check_args(standin, run_dir, "--json",
                                        "--gams-arg", "license=%s" % licence), env=EXPIRED)
    assert code == 1, (out, err)
    doc = json.loads(out)
    solver = [item for item in doc["items"] if item["name"] == "solver:cplex"][0]
    assert solver["status"] == "error"
    assert solver["text"].startswith("CPLEX cannot solve through GAMS: Time-limited license "
                                     "expired ")
    assert solver["data"]["returncode"] == 7
    assert solver["fix"] == ("install a GAMS licence that includes CPLEX, or choose another "
                             "--solver")


def test_check_gams_not_found(tmp_path):
    code, out, err = run_cli(check_args(str(tmp_path / "nogams")))
    assert code == 1, (out, err)
    assert "\u2717 --gams-path %s does not exist" % (tmp_path / "nogams") in out
    assert "fix: give the gams executable, e.g. %s" % procgroup.GAMS_PATH_EXAMPLE in out


@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands for gams")
def test_check_gams_prints_no_banner(tmp_path):
    script = tmp_path / "gams"
    script.write_text("#!/bin/sh\necho 'not GAMS'\nexit 3\n")
    script.chmod(0o755)
    code, out, err = run_cli(check_args(str(script)))
    assert code == 1, (out, err)
    assert "\u2717 %s printed no GAMS release banner (rc 3; last line: not GAMS)" % script in out
    assert "fix: check that --gams-path is GAMS's own gams executable" in out


def unknown_options_dir(tmp_path):
    opt_dir = tmp_path / "opts"
    (opt_dir / "cplex").mkdir(parents=True)
    (opt_dir / "cplex" / "mine.opt").write_text("lpmethd 4\nlpmethod 9\nthreads two\n")
    return str(opt_dir)


def test_check_option_files(tmp_path, standin):
    opt_dir = unknown_options_dir(tmp_path)
    mine = os.path.join(opt_dir, "cplex", "mine.opt")
    code, out, err = run_cli(check_args(standin, "--opt-dir", opt_dir,
                                        "--profiles", "dual,mine"))
    assert code == 1, (out, err)
    assert "\u2713 dual: 1 line checked against %s" % os.path.join(
        os.path.dirname(standin), "optcplex.def") in out
    assert "\u2717 mine: 3 lines checked against" in out
    assert "%s:1: unknown CPLEX option 'lpmethd': did you mean 'lpmethod'?" % mine in out
    assert "%s:2: 'lpmethod' must be one of 0 1 2 3 4 5 6, not 9" % mine in out
    # A line --threads replaces is a note, not an error.
    assert "%s:3: note: 'threads' must be an integer, not 'two', but the scan replaces this " \
           "line with 'threads 1' (--threads)" % mine in out
    code, out, err = run_cli(check_args(standin, "--opt-dir", opt_dir, "--profiles",
                                        "mine", "--allow-unknown-options"))
    assert code == 0 and "\u26a0 mine: 3 lines checked" in out, (out, err)


def test_check_def_file_absent_is_said_and_skipped(fake_gams_path):
    code, out, err = run_cli(check_args(fake_gams_path, "--solver", "both"))
    assert code == 0, (out, err)
    assert "\u26a0 CPLEX options not checked (cplex:dual, cplex:sift, cplex:bar_nox): no " \
           "optcplex.def in the GAMS system directory" in out
    assert "\u26a0 GUROBI options not checked (gurobi:dual, gurobi:bar_nox): no " \
           "optgurobi.def" in out


def test_check_run_dir_without_a_driver(tmp_path, fake_gams_path):
    run_dir = tmp_path / "empty"
    run_dir.mkdir()
    code, out, err = run_cli(check_args(fake_gams_path, str(run_dir)))
    assert code == 1, (out, err)
    assert "\u2717 no driver found in RUN_DIR %s" % run_dir in out
    assert "fix: expected a .run or .gms file; name one with --driver" in out


def test_check_missing_includes(tmp_path, fake_gams_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("$include here.inc\n$ontext\n$include gone.inc\n"
                                       "$offtext\n$batinclude missing.dd 1\n"
                                       "$include %gams.curdir%x.inc\n$include sub\n")
    (run_dir / "here.inc").write_text("")
    (run_dir / "sub.gms").write_text("")
    code, out, err = run_cli(check_args(fake_gams_path, str(run_dir)))
    assert code == 1, (out, err)
    assert ("\u2717 includes not found on the include path (%s): missing.dd (line 5) "
            "(1 named with %%variables%%, not checked)" % run_dir) in out
    assert "fix: put them into RUN_DIR, or name the TIMES source with --times-src" in out


def test_check_out_dir_not_a_folder(tmp_path, fake_gams_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 0\n")
    blocker = tmp_path / "afile"
    blocker.write_text("")
    code, out, err = run_cli(check_args(fake_gams_path, str(run_dir), "--out", str(blocker)))
    assert code == 1, (out, err)
    assert "\u2717 --out %s is not a directory" % blocker in out


def test_check_bad_input_exits_2(tmp_path, fake_gams_path):
    for args, expect in ((["--threads", "0"], "--threads must be a positive whole number"),
                         ([str(tmp_path / "nope")], "is not a folder"),
                         (["--profiles", "nosuch"], "unknown profile 'nosuch'")):
        code, out, err = run_cli(["check", "--gams-path", fake_gams_path] + args)
        assert code == 2, (args, out, err)
        assert len(err.strip().splitlines()) == 1 and expect in err, err


def test_process_control_missing_is_an_error(monkeypatch):
    class NoControl(object):
        def control_report(self):
            return False, "sessions, but /proc is not readable"
    monkeypatch.setattr(procgroup, "current", lambda: NoControl())
    item = check._process_control_item()
    assert item.status == check.ERROR
    assert item.text == "process control: sessions, but /proc is not readable"


def test_check_command_in_process_plain_ascii(fake_gams_path):
    stream = io.StringIO()
    config = scan_config(None, fake_gams_path)
    assert check.run_check_command(config, stdout=stream) == 0
    assert "\x1b" not in stream.getvalue()


# -- the scan's preflight ----------------------------------------------------------------

def scan_args(gams, run_dir, out, *extra):
    return ["scan", run_dir, "--gams-path", gams, "--threads", "1", "--out", out,
            "--yes"] + list(extra)


def test_scan_refuses_unknown_options_in_one_line(copy_model, tmp_path, standin):
    run_dir = copy_model("transport")
    opt_dir = unknown_options_dir(tmp_path)
    mine = os.path.join(opt_dir, "cplex", "mine.opt")
    out = str(tmp_path / "out")
    before = tree_digest(run_dir)
    code, stdout, stderr = run_cli(scan_args(standin, run_dir, out, "--opt-dir", opt_dir,
                                             "--profiles", "dual,mine"))
    assert code == 2, (stdout, stderr)
    # The first line GAMS would ignore, how many more, where to see them; the note on
    # the threads line (replaced by --threads) is no error and not counted.
    assert stderr.splitlines() == [
        "times-doctor: error: %s:1: unknown CPLEX option 'lpmethd': did you mean 'lpmethod'? "
        "(GAMS ignores the line): correct it, or pass --allow-unknown-options (and 1 more "
        "problem: times-doctor check with the same options lists them)" % mine]
    assert stdout == "" and not os.path.exists(out) and tree_digest(run_dir) == before


def test_scan_with_allow_unknown_options_runs_and_warns(copy_model, tmp_path, standin):
    run_dir = copy_model("transport")
    opt_dir = unknown_options_dir(tmp_path)
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(standin, run_dir, out, "--opt-dir", opt_dir,
                                             "--profiles", "mine", "--allow-unknown-options"))
    assert code == 0, (stdout, stderr)
    mine = os.path.join(opt_dir, "cplex", "mine.opt")
    assert stderr.splitlines() == [
        "times-doctor: warning: %s:1: unknown CPLEX option 'lpmethd': did you mean "
        "'lpmethod'? (GAMS ignores the line)" % mine,
        "times-doctor: warning: %s:2: 'lpmethod' must be one of 0 1 2 3 4 5 6, not 9 (GAMS "
        "ignores the line)" % mine,
        "times-doctor: note: %s:3: 'threads' must be an integer, not 'two', but the scan "
        "replaces this line with 'threads 1' (--threads)" % mine]
    assert "mine: completed optimal" in stdout


@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell script stands for gams")
def test_scan_refuses_a_gams_without_banner(copy_model, tmp_path):
    script = tmp_path / "gams"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(str(script), run_dir, out))
    assert code == 2, (stdout, stderr)
    assert stderr == ("times-doctor: error: %s printed no GAMS release banner (rc 0; last "
                      "line: no output): check that --gams-path is GAMS's own gams "
                      "executable\n" % script)
    assert not os.path.exists(out)
    # --no-preflight skips it: the scan starts (and its runs fail: no listing).
    code, stdout, stderr = run_cli(scan_args(str(script), run_dir, out, "--no-preflight"))
    assert code == 1 and os.path.exists(out), (stdout, stderr)


def real_gams():
    path = solver_report().get("gamspy_gams")
    if not path or not os.access(path, os.X_OK):
        return None, "no gamspy-base gams in the solver interpreter"
    banner = gamsinfo.parse_banner(gamsinfo.run_banner(path)[1])
    if not banner.time_limit_expired:
        return None, "the real GAMS's licence is not expired (%s)" % banner.time_limit_date
    return path, None


REAL_GAMS, REAL_GAMS_WHY = real_gams()


@pytest.mark.skipif(REAL_GAMS is None, reason="needs the real, expired GAMS: %s" % REAL_GAMS_WHY)
def test_real_expired_gams_check_and_scan(copy_model, tmp_path):
    run_dir = copy_model("transport")
    code, out, err = run_cli(check_args(REAL_GAMS, run_dir))
    assert code == 1, (out, err)
    assert "\u2717 GAMS licence stopped working on Nov 26, 2026" in out
    out_dir = str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(REAL_GAMS, run_dir, out_dir))
    assert code == 2, (stdout, stderr)
    assert stderr == ("times-doctor: error: GAMS licence stopped working on Nov 26, 2026 (%s): "
                      "install a valid licence, or pass one with --gams-arg license=FILE\n"
                      % os.path.join(os.path.dirname(REAL_GAMS), "gamslice.txt"))
    assert not os.path.exists(out_dir)


# -- a GAMS that never answers ------------------------------------------------------

HUNG_GAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakegams", "hung", "gams")
PROBE_TIMEOUT, PROBE_GRACE = 1.0, 1.0
HUNG_LINE = "GAMS did not answer within 1 s (its process tree was ended)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("command", ["check", "scan", "scan --no-preflight"])
@pytest.mark.parametrize("hang", ["wait", "exit"])
def test_hung_gams_from_every_command_ends_in_time_and_leaves_nothing(
        copy_model, tmp_path, command, hang):
    """A GAMS whose child holds the output and ignores SIGTERM: each probe ends the tree.

    Bound: the probe's timeout + grace + 2 s (start-up of the command included).
    """
    from proc_helpers import is_alive
    run_dir = copy_model("transport")
    out = str(tmp_path / "out")
    pids = str(tmp_path / "pids")
    env = cli_env({"TD_PROBE_TIMEOUT": "%g" % PROBE_TIMEOUT, "FAKE_GAMS_HANG": hang,
                   "FAKE_GAMS_PIDS": pids})
    grace = ["--grace-seconds", "%g" % PROBE_GRACE]
    if command == "check":
        args = check_args(HUNG_GAMS, run_dir, *grace)
    else:
        args = scan_args(HUNG_GAMS, run_dir, out, *(grace + command.split()[1:]))
    started = time.monotonic()
    code, stdout, stderr = run_cli(args, env=env, timeout=60)
    elapsed = time.monotonic() - started
    with open(pids) as handle:
        fake = [int(pid) for line in handle for pid in line.split()]
    assert fake and [pid for pid in fake if is_alive(pid)] == []
    assert "Traceback" not in stderr
    if hang == "exit":
        # GAMS exits at once and its child is swept: no banner, refused for that (without
        # the preflight the run itself fails: no listing), in time either way.
        assert elapsed <= 2.0 + 2.0, elapsed
        if command == "scan --no-preflight":
            assert code == 1 and "dual: failed" in stdout, (stdout, stderr)
        else:
            assert code == (1 if command == "check" else 2), (stdout, stderr)
            assert "printed no GAMS release banner" in stdout + stderr
        return
    assert elapsed <= PROBE_TIMEOUT + PROBE_GRACE + 2.0, elapsed
    if command == "check":
        assert code == 1, (stdout, stderr)
        assert "\u2717 %s" % HUNG_LINE in stdout
        assert "fix: check the licence server or whatever GAMS waits for (run gams by hand), " \
               "or allow it longer with TD_PROBE_TIMEOUT=SECONDS" in stdout
    else:
        assert code == 2, (stdout, stderr)
        assert stderr.splitlines() == [
            "times-doctor: error: %s: check the licence server or whatever GAMS waits for "
            "(run gams by hand), or allow it longer with TD_PROBE_TIMEOUT=SECONDS" % HUNG_LINE]
        assert not os.path.exists(out)


def test_hung_solver_probe_is_one_line_and_the_next_solver_is_not_tried(monkeypatch):
    calls = []

    def hung_probe(gams, solver, gams_args, grace_seconds):
        calls.append((solver, grace_seconds))
        raise gamsinfo.GamsHungError(gamsinfo.hung_message(60.0))

    monkeypatch.setattr(gamsinfo, "run_probe", hung_probe)
    monkeypatch.setattr(gamsinfo, "run_banner",
                        lambda gams, grace_seconds: (0, open(os.path.join(
                            FIXTURES, "gams_expired", "noargs.txt")).read().replace(
                            "*** Time-limited license expired\n", "")))
    from times_doctor.solvers import profiles
    chosen = profiles.resolve_profiles("both", ["dual"], None)
    items = check._gams_side_items("/gams", chosen, [], 1, False, datetime.date(2026, 11, 1),
                                   grace_seconds=3.0)
    solvers = [item for item in items if item.section == "solvers"]
    assert [(item.name, item.status, item.text) for item in solvers] == [
        ("solver:cplex", check.ERROR, "GAMS did not answer within 60 s (its process tree was "
                                      "ended)")]
    assert calls == [("cplex", 3.0)]


# -- real option files against the real def file ------------------------------------

@pytest.mark.skipif(os.name == "nt", reason=WINDOWS_NO_OPTION_READER)
def test_veda_profiles_scan_without_allow_unknown_options(copy_model, tmp_path, fake_gams_path):
    """TIMES-NZ's Veda barrier profiles against GAMS 54.6.1's own optcplex.def: the scan
    runs them (no --allow-unknown-options), and the one with a line GAMS ignores is refused
    with GAMS's reason.  The GAMS is the fake one, in a folder of its own that holds the
    real def file (the real GAMS's licence has expired)."""
    import shutil
    from optreader_oracle import judge_files
    system_dir = tmp_path / "gams"
    system_dir.mkdir()
    for name in ("gams", "fake_gams.py"):
        shutil.copy(os.path.join(os.path.dirname(fake_gams_path), name), str(system_dir))
    shutil.copy(judge_files("cplex", [b"\n"])[0], str(system_dir / "optcplex.def"))
    veda = os.path.join(FIXTURES, "optfiles", "times-nz")
    opt_dir = tmp_path / "opts"
    opt_dir.mkdir()
    for name in os.listdir(veda):
        if name.startswith(("BA", "BS")):
            shutil.copy(os.path.join(veda, name), str(opt_dir))
    run_dir = copy_model("transport")
    good = "BA120-7,BA121-7,BA124-7,BA220-7,BS124-7,BS224-7_nco"
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(str(system_dir / "gams"), run_dir, out,
                                             "--opt-dir", str(opt_dir), "--profiles", good),
                                   env=cli_env({"FAKE_GAMS_PYTHON": sys.executable}))
    assert code == 0, (stdout, stderr)
    # THREADS=7 is replaced by --threads: a note, not an error.
    assert "error" not in stderr and "times-doctor: note: %s:8: THREADS: the scan replaces " \
        "this line with 'threads 1' (--threads)" % os.path.join(str(opt_dir), "BA120-7.opt") \
        in stderr, stderr
    for name in good.split(","):
        assert "%s: completed" % name in stdout, stdout
    out = str(tmp_path / "out2")
    code, stdout, stderr = run_cli(scan_args(str(system_dir / "gams"), run_dir, out,
                                             "--opt-dir", str(opt_dir), "--profiles",
                                             "BS121-7"),
                                   env=cli_env({"FAKE_GAMS_PYTHON": sys.executable}))
    assert code == 2, (stdout, stderr)
    assert stderr.splitlines()[-1] == (
        "times-doctor: error: %s:11: unknown CPLEX option 'finalfactor': did you mean "
        "'refactor'? (GAMS ignores the line): correct it, or pass --allow-unknown-options "
        "(times-doctor check with the same options lists every finding)"
        % os.path.join(str(opt_dir), "BS121-7.opt"))
    assert not os.path.exists(out)


def test_infinite_and_odd_values_are_error_lines_not_crashes(copy_model, tmp_path, standin):
    """lpmethod inf crashed check and scan (OverflowError, exit 70): now one finding each."""
    opt_dir = tmp_path / "opts"
    (opt_dir / "cplex").mkdir(parents=True)
    mine = opt_dir / "cplex" / "odd.opt"
    mine.write_bytes(b"lpmethod inf\nthreads maxdouble\nepgap 1e309\n* caf\xe9\nlpmethod 4\x00\n")
    code, out, err = run_cli(check_args(standin, "--opt-dir", str(opt_dir),
                                        "--profiles", "odd"))
    assert code == 1 and "Traceback" not in err and "internal error" not in err, (out, err)
    assert "%s:1: 'lpmethod' must be a whole number (one of 0 1 2 3 4 5 6), not 'inf'" \
        % mine in out
    assert "%s:3: 'epgap' must be a number, not '1e309'" % mine in out
    run_dir = copy_model("transport")
    out_dir = str(tmp_path / "out")
    code, stdout, stderr = run_cli(scan_args(standin, run_dir, out_dir, "--opt-dir",
                                             str(opt_dir), "--profiles", "odd"))
    assert code == 2 and not os.path.exists(out_dir), (stdout, stderr)
    assert stderr.startswith("times-doctor: error: %s:1: 'lpmethod' must be a whole number"
                             % mine) and "(and 1 more problem" in stderr, stderr
