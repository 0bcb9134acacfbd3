"""Bad input: one line naming the problem and the fix, exit 2, no traceback, nothing created."""

import os
import stat

import pytest

from scan_helpers import REPO_ROOT, cli_env, run_cli, tree_digest


def check_usage_error(args, expect, watched=(), env=None):
    before = [tree_digest(path) for path in watched]
    code, out, err = run_cli(args, env=env, timeout=60)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Traceback" not in out
    assert expect in lines[0], lines[0]
    assert [tree_digest(path) for path in watched] == before
    return lines[0]


@pytest.fixture
def run_dir(tmp_path, fake_gams_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.gms").write_text("* FAKE: sleep 0\n")
    return folder


def base_args(run_dir, fake_gams_path):
    return ["scan", str(run_dir), "--gams-path", fake_gams_path, "--yes"]


def test_every_subcommand_has_its_handler_in_the_table():
    """cli.COMMANDS is the one dispatch: the parser's subcommands and the table agree."""
    from times_doctor import cli
    parser = cli.build_parser()
    choices = [action for action in parser._actions if action.dest == "command"][0].choices
    assert sorted(choices) == sorted(cli.COMMANDS)
    assert all(callable(handler) for handler in cli.COMMANDS.values())


def test_version_and_help():
    code, out, _ = run_cli(["--version"])
    assert code == 0 and out.startswith("times-doctor ")
    code, out, _ = run_cli(["scan", "--help"])
    assert code == 0
    for text in ("--gams-path", "--timeout-seconds", "examples:", "exit codes:", "143"):
        assert text in out


def test_missing_run_dir(tmp_path, fake_gams_path):
    line = check_usage_error(["scan", str(tmp_path / "nope"), "--gams-path", fake_gams_path],
                             "does not exist", [str(tmp_path)])
    assert "give the folder" in line


def test_run_dir_is_a_file(tmp_path, fake_gams_path):
    target = tmp_path / "f.gms"
    target.write_text("x")
    check_usage_error(["scan", str(target), "--gams-path", fake_gams_path],
                      "is not a directory", [str(tmp_path)])


def test_no_driver_found(tmp_path, fake_gams_path):
    (tmp_path / "data.dd").write_text("x")
    check_usage_error(["scan", str(tmp_path), "--gams-path", fake_gams_path],
                      "no driver found", [str(tmp_path)])


def test_driver_outside_run_dir(tmp_path, run_dir, fake_gams_path):
    outside = tmp_path / "other.gms"
    outside.write_text("x")
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--driver", str(outside)],
                      "outside", [str(tmp_path)])


def test_driver_missing(run_dir, fake_gams_path):
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--driver", "nope.run"],
                      "nope.run", [str(run_dir)])


def test_gams_not_found(run_dir, tmp_path):
    check_usage_error(["scan", str(run_dir), "--gams-path", str(tmp_path / "gams")],
                      "--gams-path", [str(run_dir)])


def test_gams_not_on_path(run_dir):
    env = dict(os.environ, PATH="/nonexistent", PYTHONPATH=REPO_ROOT)
    check_usage_error(["scan", str(run_dir)], "GAMS not found", [str(run_dir)], env=env)


@pytest.mark.skipif(os.name == "nt", reason="execute bits are POSIX")
def test_gams_not_executable(run_dir, tmp_path):
    # Written 0644: no execute bit for anyone, which even root cannot run.
    gams = tmp_path / "gams"
    gams.write_text("#!/bin/sh\n")
    check_usage_error(["scan", str(run_dir), "--gams-path", str(gams)], "executable",
                      [str(run_dir)])


@pytest.mark.skipif(os.name == "nt", reason="Windows has no execute bit (test_windows_scan.py "
                    "gives a text file as GAMS instead)")
def test_gams_without_execute_bit(run_dir, tmp_path):
    gams = tmp_path / "gams"
    gams.write_text("#!/bin/sh\n")
    os.chmod(str(gams), stat.S_IRUSR | stat.S_IWUSR)
    check_usage_error(["scan", str(run_dir), "--gams-path", str(gams)], "executable",
                      [str(run_dir)])


def test_unknown_profile_lists_known_ones(run_dir, fake_gams_path):
    line = check_usage_error(base_args(run_dir, fake_gams_path) + ["--profiles", "dual,fast"],
                             "fast", [str(run_dir)])
    assert "bar_nox" in line and "sift" in line


def test_empty_opt_dir(run_dir, fake_gams_path, tmp_path):
    empty = tmp_path / "opts"
    empty.mkdir()
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--opt-dir", str(empty)],
                      "opts", [str(run_dir), str(empty)])


def test_opt_dir_missing(run_dir, fake_gams_path, tmp_path):
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--opt-dir", str(tmp_path / "x")],
                      "--opt-dir", [str(run_dir)])


def test_opt_file_name_escaping_the_work_tree(run_dir, fake_gams_path, tmp_path):
    opts = tmp_path / "opts"
    opts.mkdir()
    (opts / "..evil.opt").write_text("lpmethod 2\n")
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--opt-dir", str(opts)],
                      "..evil", [str(run_dir)])


@pytest.mark.parametrize("option, value", [
    ("--threads", "0"), ("--threads", "x"), ("--threads", "-3"), ("--max-workers", "0"),
    ("--max-workers", "2.5"), ("--timeout-seconds", "-1"), ("--timeout-seconds", "ten"),
])
def test_non_positive_integers(run_dir, fake_gams_path, option, value):
    line = check_usage_error(base_args(run_dir, fake_gams_path) + [option, value], option,
                             [str(run_dir)])
    assert repr(value) in line


def test_bad_env_var_is_reported_by_option_name(run_dir, fake_gams_path):
    env = dict(os.environ, TD_MAX_WORKERS="lots", PYTHONPATH=REPO_ROOT)
    check_usage_error(base_args(run_dir, fake_gams_path), "--max-workers", [str(run_dir)],
                      env=env)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="root writes anywhere: permissions cannot make --out unwritable")
def test_out_not_writable(run_dir, fake_gams_path, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(str(locked), stat.S_IRUSR | stat.S_IXUSR)
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--out", str(locked)],
                      "not writable", [str(run_dir)])


def test_out_is_a_file(run_dir, fake_gams_path, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    check_usage_error(base_args(run_dir, fake_gams_path) + ["--out", str(target)], "--out",
                      [str(run_dir)])


def test_unknown_option_is_one_line():
    check_usage_error(["scan", ".", "--bogus"], "--bogus")


def test_unknown_solver_is_one_line():
    check_usage_error(["scan", ".", "--solver", "xpress"], "xpress")


def test_internal_error_is_one_line_without_debug(monkeypatch, capsys):
    """A bug in any command: one line and exit 70, the traceback only with --debug."""
    from times_doctor import cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(cli, "_dispatch", broken)
    assert cli.main(["status", "--json", "."]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: KeyError" in err and "--debug" in err
    with pytest.raises(KeyError):
        cli.main(["scan", ".", "--debug"])


def test_output_the_encoding_cannot_hold_is_escaped_not_an_internal_error(tmp_path,
                                                                         fake_gams_path):
    """A folder name the output's encoding lacks (Chinese into a cp1252 pipe on Windows, or an
    ASCII locale): the scan's lines escape it and the scan's own exit code stands.

    Before: the last line of a finished scan raised UnicodeEncodeError, "internal error",
    exit 70 (found on the Windows leg, where cp1252 is what a pipe gets).
    """
    run_dir = tmp_path / "\u6a21\u578b run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 0\n")
    code, stdout, stderr = run_cli(["scan", str(run_dir), "--gams-path", fake_gams_path,
                                    "--profiles", "dual", "--yes", "--no-preflight"],
                                   env=cli_env({"PYTHONIOENCODING": "ascii"}))
    assert code == 0, (stdout, stderr)
    assert "Report: " in stdout and "\\u6a21\\u578b run" in stdout, stdout
    assert "internal error" not in stderr
