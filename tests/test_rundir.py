"""rundir.py: driver and TIMES-source detection, the driver rewrite, work dirs, the GAMS command."""

import os
import re
import shutil
import stat
import subprocess
import time
import tracemalloc

import pytest

from scan_helpers import tree_digest
from times_doctor.gams import rundir
from times_doctor.proc import procgroup
from times_doctor.errors import GamsNotFoundError, ProfileError, RunDirError
from times_doctor.gams.rundir import (find_driver, find_times_src, gams_command, plan_work_dir,
                                      prepare_work_dir, resolve_gams, restart_file,
                                      rewrite_solver_options, validate_out_dir)

LST_HEADER = b"GAMS 54.6.1  20a39885 Oct 24, 2026          LEX-LEG x86 64bit/Linux - Page 2\n"


def write(path, data=b"", mtime=None):
    path = str(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def error_of(kind, call, *args, **kwargs):
    """Run *call*, expect *kind*, return its one-line message."""
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 2
    return message


def include_summary(*filenames):
    """An .lst fragment in real GAMS format listing *filenames*."""
    rows = [b"     %d        1 INCLUDE        1       1       1  %s\n" % (number, name)
            for number, name in enumerate(filenames, 1)]
    return (b"Include File Summary\n\n\n   SEQ   GLOBAL TYPE      PARENT   LOCAL  INCLVL  "
            b"FILENAME\n\n" + b"".join(rows) + b"\n\nCOMPILATION TIME     =        0.001 SECONDS"
            b"      3 MB  54.6.1 20a39885 LEX-LEG\n")


# -- find_driver -------------------------------------------------------------


def test_driver_run_matching_newest_lst(tmp_path):
    write(tmp_path / "big.run", "x" * 100)
    write(tmp_path / "model.run", "x")
    write(tmp_path / "big.lst", mtime=1000)
    write(tmp_path / "model.lst", mtime=2000)
    assert find_driver(str(tmp_path)) == str(tmp_path / "model.run")


def test_driver_run_matching_lst_in_other_case(tmp_path):
    write(tmp_path / "big.run", "x" * 100)
    write(tmp_path / "Model.RUN", "x")
    write(tmp_path / "model.lst")
    assert find_driver(str(tmp_path)) == str(tmp_path / "Model.RUN")


def test_driver_largest_run_when_no_lst_matches(tmp_path):
    write(tmp_path / "a.run", "x")
    write(tmp_path / "b.run", "xxx")
    write(tmp_path / "c.run", "xxx")
    write(tmp_path / "huge.gms", "x" * 1000)
    write(tmp_path / "other.lst")
    assert find_driver(str(tmp_path)) == str(tmp_path / "b.run")  # size tie: by name


def test_driver_gms_matching_lst_then_largest_gms(tmp_path):
    write(tmp_path / "big.gms", "x" * 100)
    write(tmp_path / "model.gms", "x")
    write(tmp_path / "data.dd", "x" * 1000)
    assert find_driver(str(tmp_path)) == str(tmp_path / "big.gms")
    write(tmp_path / "model.lst")
    assert find_driver(str(tmp_path)) == str(tmp_path / "model.gms")


def test_driver_search_is_not_recursive(tmp_path):
    write(tmp_path / "sub" / "deep.run", "x")
    write(tmp_path / "data.dd", "x")
    before = tree_digest(str(tmp_path))
    assert error_of(RunDirError, find_driver, str(tmp_path)) == (
        "no driver found in RUN_DIR %s: expected a .run or .gms file; name one with --driver"
        % tmp_path)
    assert tree_digest(str(tmp_path)) == before


def test_driver_run_dir_not_a_directory(tmp_path):
    path = write(tmp_path / "x.gms", "x")
    assert error_of(RunDirError, find_driver, path) == (
        "RUN_DIR %s is not a directory: give the folder that holds the model's .run/.gms file"
        % path)


def test_named_driver_relative_to_run_dir(tmp_path, monkeypatch):
    run = tmp_path / "run"
    write(run / "a.run", "x" * 10)
    write(run / "pick.gms", "x")
    write(run / "sub" / "inner.gms", "x")
    monkeypatch.chdir(str(tmp_path))
    assert find_driver(str(run), "pick.gms") == str(run / "pick.gms")
    assert find_driver(str(run), os.path.join("sub", "inner.gms")) == str(run / "sub" /
                                                                         "inner.gms")
    assert find_driver(str(run), str(run / "pick.gms")) == str(run / "pick.gms")
    # Relative to the current folder when RUN_DIR has no such file.
    assert find_driver(str(run), os.path.join("run", "pick.gms")) == str(run / "pick.gms")


def test_named_driver_missing(tmp_path):
    write(tmp_path / "model.gms", "x")
    assert error_of(RunDirError, find_driver, str(tmp_path), "nope.run") == (
        "--driver nope.run is missing: it is not in RUN_DIR %s; give the .run or .gms file "
        "inside the run directory" % tmp_path)


def test_named_driver_is_a_directory(tmp_path):
    (tmp_path / "d.run").mkdir()
    assert error_of(RunDirError, find_driver, str(tmp_path), "d.run") == (
        "--driver d.run is not a file: give the .run or .gms file inside the run directory")


NO_SYMLINKS = pytest.mark.skipif(
    os.name == "nt", reason="symbolic links: Windows needs a privilege to make one, and Wine "
    "makes a Unix link that its Windows side does not resolve the same way")


@pytest.mark.parametrize("how", ["absolute", "dotdot", pytest.param("symlink", marks=NO_SYMLINKS)])
def test_named_driver_outside_run_dir(tmp_path, how):
    run = tmp_path / "run"
    write(run / "model.gms", "x")
    outside = write(tmp_path / "other.gms", "x")
    if how == "absolute":
        driver = outside
    elif how == "dotdot":
        driver = os.path.join("..", "other.gms")
    else:
        os.symlink(outside, str(run / "link.gms"))
        driver = "link.gms"
    assert error_of(RunDirError, find_driver, str(run), driver) == (
        "--driver %s is outside RUN_DIR %s: give a file inside the run directory"
        % (driver, run))


@NO_SYMLINKS
def test_named_driver_symlink_inside_keeps_its_name(tmp_path):
    write(tmp_path / "real.run", "x")
    os.symlink(str(tmp_path / "real.run"), str(tmp_path / "alias.run"))
    assert find_driver(str(tmp_path), "alias.run") == str(tmp_path / "alias.run")


# -- find_times_src, restart_file --------------------------------------------


def test_times_src_given(tmp_path):
    src = tmp_path / "times"
    src.mkdir()
    assert find_times_src(str(tmp_path / "run-not-needed"), str(src)) == str(src)


def test_times_src_given_not_a_directory(tmp_path):
    path = str(tmp_path / "nope")
    assert error_of(RunDirError, find_times_src, str(tmp_path), path) == (
        "--times-src %s is not a directory: give the TIMES source folder (the one holding "
        "initsys.mod)" % path)


def test_times_src_from_newest_lst(tmp_path):
    run = tmp_path / "run"
    old_src, new_src = tmp_path / "old src", tmp_path / "TIMES v4" / "source"
    old_src.mkdir()
    new_src.mkdir(parents=True)
    write(run / "a.lst", LST_HEADER + include_summary(
        b"/x/a.run", str(old_src / "initsys.mod").encode()), mtime=1000)
    write(run / "b.lst", LST_HEADER + include_summary(
        str(run / "b.run").encode(), str(run / "base.dd").encode(),
        str(new_src / "INITSYS.MOD").encode(), str(old_src / "initsys.mod").encode()),
        mtime=2000)
    assert find_times_src(str(run)) == str(new_src)


def test_times_src_real_format_example(tmp_path):
    src = tmp_path / "g2" / "src"
    src.mkdir(parents=True)
    lst = ("Include File Summary\n\n\n"
           "   SEQ   GLOBAL TYPE      PARENT   LOCAL  INCLVL  FILENAME\n\n"
           "     1        1 INPUT          0       0       0  /tmp/g2/work/drv.run\n"
           "     2        1 BATINCLUDE     1       1       1  /tmp/g2/run/data.dd\n"
           "     3        4 INCLUDE        1       2       1  /tmp/g2/run/sub/more.dd\n"
           "     4       11 IF EXIST       1      11       0  %s/initsys.mod\r\n" % src)
    write(tmp_path / "run" / "drv.lst", lst)
    assert find_times_src(str(tmp_path / "run")) == str(src)


def test_times_src_relative_name_is_taken_from_run_dir(tmp_path):
    (tmp_path / "src").mkdir()
    write(tmp_path / "m.lst", include_summary(b"src/initsys.mod"))
    assert find_times_src(str(tmp_path)) == str(tmp_path / "src")


@pytest.mark.parametrize("content", [
    b"",
    LST_HEADER + b"no summary here\n",
    include_summary(b"/x/a.run", b"/x/initsys.mod.bak", b"/x/myinitsys.mod2"),
    # A row after the summary's end is not part of it.
    include_summary(b"/x/a.run") + b"     9        1 INCLUDE        1   1   1  %s\n",
])
def test_times_src_not_found(tmp_path, content):
    if b"%s" in content:
        (tmp_path / "src").mkdir()
        content = content % str(tmp_path / "src" / "initsys.mod").encode()
    write(tmp_path / "m.lst", content)
    assert find_times_src(str(tmp_path)) is None


def test_times_src_without_lst(tmp_path):
    write(tmp_path / "m.run", "x")
    assert find_times_src(str(tmp_path)) is None


def test_times_src_folder_gone(tmp_path):
    write(tmp_path / "m.lst", include_summary(str(tmp_path / "gone" / "initsys.mod").encode()))
    assert find_times_src(str(tmp_path)) is None


def test_times_src_lst_unreadable(tmp_path, monkeypatch):
    write(tmp_path / "m.lst", include_summary(str(tmp_path / "initsys.mod").encode()))
    real_open = rundir.io.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".lst"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(rundir.io, "open", refuse)
    assert find_times_src(str(tmp_path)) is None


def test_times_src_huge_lst_read_with_bounded_memory(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    path = str(tmp_path / "huge.lst")
    with open(path, "wb") as handle:
        # A 20 MB line without a break, then a long line that looks like a
        # row at its end, then many ordinary lines, then the summary.
        chunk = b"y" * (1024 * 1024)
        for _ in range(20):
            handle.write(chunk)
        handle.write(b"\n" + b"z" * 70000 + b"     1        1 INCLUDE        1       1       1  "
                     + str(tmp_path / "initsys.mod").encode() + b"\n")
        handle.write(b"   1  Set i / i1*i3 /;\n" * 200000)
        handle.write(include_summary(str(src / "initsys.mod").encode()))
    tracemalloc.start()
    try:
        found = find_times_src(str(tmp_path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == str(src)
    assert peak < 1024 * 1024, peak


def test_restart_file(tmp_path):
    assert restart_file(str(tmp_path)) is None
    (tmp_path / "_times.g00").mkdir()
    assert restart_file(str(tmp_path)) is None
    os.rmdir(str(tmp_path / "_times.g00"))
    write(tmp_path / "_times.g00", b"\x00")
    assert restart_file(str(tmp_path)) == str(tmp_path / "_times.g00")


# -- rewrite_solver_options --------------------------------------------------


def test_rewrite_sets_the_solver_through_the_gams_source_lexer():
    # The lexer's cases are in test_gams_source.py; this is the checked entry point.
    assert rewrite_solver_options("* option lp=a;\r\nOption LP = conopt;\r\n", "gurobi") \
        == "* option lp=a;\r\nOption LP = gurobi;\r\n"


def test_rewrite_rejects_unknown_solver():
    with pytest.raises(ValueError):
        rewrite_solver_options("option lp=conopt;", "both")


# -- work directories --------------------------------------------------------


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    write(folder / "model.run", b"$batinclude data.dd\r\noption LP=conopt;\r\n")
    write(folder / "data.dd", b"x" * 4096)
    return str(folder)


def prepare(out, run_dir, profile="dual", **kwargs):
    return prepare_work_dir(str(out), "cplex", profile, os.path.join(run_dir, "model.run"),
                            "lpmethod 2\nthreads 1\n", "cplex.opt", **kwargs)


def work_path(out, solver="cplex", profile="dual"):
    return os.path.join(str(out), "times_doctor_out", "scan_runs", solver, profile)


def test_plan_work_dir_creates_nothing(tmp_path, run_dir):
    plan = plan_work_dir(str(tmp_path / "out"), "gurobi", "bar_nox",
                         os.path.join(run_dir, "model.run"), "gurobi.opt")
    path = work_path(tmp_path / "out", "gurobi", "bar_nox")
    assert plan == rundir.WorkDirPlan(path, os.path.join(path, "model.run"),
                                      os.path.join(path, "gurobi.opt"))
    assert not os.path.exists(str(tmp_path / "out"))


def test_prepare_holds_only_the_driver_copy_and_option_file(tmp_path, run_dir):
    before = tree_digest(run_dir)
    prepared = prepare(tmp_path / "out", run_dir)
    path = work_path(tmp_path / "out")
    assert prepared == rundir.PreparedDir(path, os.path.join(path, "model.run"), None)
    assert sorted(os.listdir(path)) == ["cplex.opt", "model.run"]
    assert not any(os.path.islink(os.path.join(path, name)) for name in os.listdir(path))
    with open(prepared.driver_copy, "rb") as handle:
        assert handle.read() == b"$batinclude data.dd\r\noption LP=cplex;\r\n"
    with open(os.path.join(path, "cplex.opt"), "rb") as handle:
        assert handle.read() == b"lpmethod 2\nthreads 1\n"
    assert tree_digest(run_dir) == before


def test_prepare_replaces_a_leftover_directory(tmp_path, run_dir):
    path = work_path(tmp_path / "out")
    write(os.path.join(path, "old", "stale.lst"), "old")
    prepared = prepare(tmp_path / "out", run_dir)
    assert prepared.path == path and prepared.replaced_locked is None
    assert sorted(os.listdir(path)) == ["cplex.opt", "model.run"]


def test_prepare_removes_a_leftover_link_without_following_it(tmp_path, run_dir):
    path = work_path(tmp_path / "out")
    os.makedirs(os.path.dirname(path))
    os.symlink(run_dir, path)
    before = tree_digest(run_dir)
    prepared = prepare(tmp_path / "out", run_dir)
    assert not os.path.islink(path) and prepared.path == path
    assert tree_digest(run_dir) == before


def test_prepare_replaces_a_leftover_file(tmp_path, run_dir):
    write(work_path(tmp_path / "out"), "a file where the folder goes")
    assert prepare(tmp_path / "out", run_dir).replaced_locked is None
    assert os.path.isdir(work_path(tmp_path / "out"))


def locked_remover(path):
    raise PermissionError(13, "Permission denied", os.path.join(path, "held.lst"))


def test_prepare_uses_a_timestamped_sibling_when_removal_fails(tmp_path, run_dir):
    path = work_path(tmp_path / "out")
    write(os.path.join(path, "held.lst"), "in use")
    clock = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    first = prepare(tmp_path / "out", run_dir, remove_tree=locked_remover, clock=lambda: clock)
    assert first.path == path + "-20260304-050607"
    assert first.driver_copy == os.path.join(first.path, "model.run")
    assert sorted(os.listdir(first.path)) == ["cplex.opt", "model.run"]
    assert first.replaced_locked == (
        "could not remove the earlier work directory %s (Permission denied): this run uses %s; "
        "delete the old one once nothing holds its files open" % (path, first.path))
    assert os.listdir(path) == ["held.lst"]
    second = prepare(tmp_path / "out", run_dir, remove_tree=locked_remover, clock=lambda: clock)
    assert second.path == path + "-20260304-050607-1"


def test_prepare_sibling_when_the_folder_comes_back(tmp_path, run_dir):
    path = work_path(tmp_path / "out")
    write(os.path.join(path, "x"), "x")

    def remove_but_straggler_recreates(folder):
        shutil.rmtree(folder)
        os.mkdir(folder)
    prepared = prepare(tmp_path / "out", run_dir, remove_tree=remove_but_straggler_recreates,
                       clock=lambda: 0)
    assert prepared.path == path + time.strftime("-%Y%m%d-%H%M%S", time.localtime(0))
    with pytest.raises(FileExistsError) as exists:  # this OS's words for it
        os.mkdir(path)
    assert exists.value.strerror in prepared.replaced_locked


@pytest.mark.parametrize("profile", ["..", "../dual", "a/b", "a\\b", ".x", ""])
def test_prepare_refuses_unsafe_profile_names_before_creating(tmp_path, run_dir, profile):
    with pytest.raises(ProfileError):
        prepare(tmp_path / "out", run_dir, profile=profile)
    assert not os.path.exists(str(tmp_path / "out"))


def test_prepare_refuses_bad_solver(tmp_path, run_dir):
    with pytest.raises(ValueError):
        prepare_work_dir(str(tmp_path / "out"), "both", "dual",
                         os.path.join(run_dir, "model.run"), "", "cplex.opt")
    assert not os.path.exists(str(tmp_path / "out"))


def test_prepare_unreadable_driver_creates_nothing(tmp_path, run_dir):
    driver = os.path.join(run_dir, "gone.run")
    message = error_of(RunDirError, prepare_work_dir, str(tmp_path / "out"), "cplex", "dual",
                       driver, "", "cplex.opt")
    assert message == ("cannot read driver %s (No such file or directory): make it readable"
                       % driver)
    assert not os.path.exists(str(tmp_path / "out"))


def test_prepare_driver_named_like_the_option_file(tmp_path):
    driver = write(tmp_path / "run" / "cplex.opt", "x")
    assert error_of(RunDirError, prepare_work_dir, str(tmp_path / "out"), "cplex", "dual",
                    driver, "", "cplex.opt") == (
        "driver %s has the same name as the solver option file: rename the driver" % driver)


def test_prepare_cannot_create(tmp_path, run_dir):
    out = tmp_path / "out"
    write(out / "times_doctor_out" / "scan_runs", "a file, not a folder")
    message = error_of(RunDirError, prepare, out, run_dir)
    assert message.startswith("cannot set up work directory %s (" % work_path(out))
    assert message.endswith("): check free space and permissions of --out")


# -- validate_out_dir --------------------------------------------------------


def test_out_dir_existing_and_new(tmp_path):
    validate_out_dir(str(tmp_path))
    validate_out_dir(str(tmp_path / "a" / "b" / "c"))
    assert os.listdir(str(tmp_path)) == []


def test_out_dir_is_a_file(tmp_path):
    path = write(tmp_path / "f")
    assert error_of(RunDirError, validate_out_dir, path) == (
        "--out %s is not a directory: choose a folder you can write to" % path)


def test_out_dir_below_a_file(tmp_path):
    path = write(tmp_path / "f")
    out = os.path.join(path, "sub")
    assert error_of(RunDirError, validate_out_dir, out) == (
        "--out %s is not writable (%s is not a folder): choose a folder you can write to"
        % (out, path))


def test_out_dir_results_folder_is_a_file(tmp_path):
    path = write(tmp_path / "times_doctor_out")
    assert error_of(RunDirError, validate_out_dir, str(tmp_path)) == (
        "--out %s cannot hold the results: %s is not a folder; remove or rename it"
        % (tmp_path, path))


def test_out_dir_not_writable(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(str(locked), stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(str(locked), os.W_OK):
            # Root writes anywhere: the permission answer is simulated instead.
            real_access = os.access
            monkeypatch.setattr(rundir.os, "access", lambda path, mode: (
                False if path == str(locked) else real_access(path, mode)))
        for out in (str(locked), os.path.join(str(locked), "new", "deeper")):
            assert error_of(RunDirError, validate_out_dir, out) == (
                "--out %s is not writable: choose a folder you can write to" % out)
        assert os.listdir(str(locked)) == []
    finally:
        os.chmod(str(locked), stat.S_IRWXU)


def test_out_dir_runs_folder_not_writable(tmp_path, monkeypatch):
    runs = tmp_path / "times_doctor_out" / "scan_runs"
    runs.mkdir(parents=True)
    monkeypatch.setattr(rundir.os, "access", lambda path, mode: path != str(runs))
    assert error_of(RunDirError, validate_out_dir, str(tmp_path)) == (
        "--out %s is not writable: choose a folder you can write to" % tmp_path)


# -- gams_command, resolve_gams ----------------------------------------------


def test_gams_command_without_times_src():
    assert gams_command("/g/gams", "model.run", "/data/run", None, "cplex", "dual", None,
                        None) == [
        "/g/gams", "model.run", "logoption=2", "logfile=dual_run_log.txt", "optfile=1",
        "lp=cplex", "mip=cplex", "rmip=cplex", "idir1=%s" % os.path.abspath("/data/run")]


def test_gams_command_with_times_src_and_restart(tmp_path):
    src = tmp_path / "times src"
    src.mkdir()
    command = gams_command("/g/gams", "m.gms", "/data/my run", str(src), "gurobi", "bar_nox",
                           "bar_nox_run_log.txt", ["solvelink=0", "--X=1"])
    my_run = os.path.abspath("/data/my run")  # Windows: on the current drive
    assert command == ["/g/gams", "m.gms", "logoption=2", "logfile=bar_nox_run_log.txt",
                       "optfile=1", "lp=gurobi", "mip=gurobi", "rmip=gurobi",
                       "idir1=%s" % my_run, "idir2=%s" % src, "solvelink=0", "--X=1"]
    write(src / "_times.g00", b"\x00")
    command = gams_command("/g/gams", "m.gms", "/data/my run", str(src), "gurobi", "bar_nox",
                           "log.txt", [])
    assert command[-3:] == ["idir1=%s" % my_run, "idir2=%s" % src,
                            "r=%s" % (src / "_times.g00")]
    assert command[3] == "logfile=log.txt"


def test_gams_command_refuses_unsafe_names():
    with pytest.raises(ProfileError):
        gams_command("/g/gams", "m.gms", "/r", None, "cplex", "../x", None, None)
    with pytest.raises(ValueError):
        gams_command("/g/gams", "sub/m.gms", "/r", None, "cplex", "dual", None, None)
    with pytest.raises(ValueError):
        gams_command("/g/gams", "m.gms", "/r", None, "cplex", "dual", "../log.txt", None)
    with pytest.raises(ValueError):
        gams_command("/g/gams", "m.gms", "/r", None, "both", "dual", None, None)


def make_executable(path, text="#!/bin/sh\n"):
    write(path, text)
    os.chmod(str(path), stat.S_IRWXU)
    return str(path)


def test_resolve_gams_explicit(tmp_path):
    gams = make_executable(tmp_path / "sys" / "gams")
    assert resolve_gams(gams) == gams
    assert resolve_gams(str(tmp_path / "sys")) == gams  # the GAMS system folder


def test_resolve_gams_on_path(tmp_path, monkeypatch):
    # Windows looks for gams with the extensions of PATHEXT (.exe, .cmd, ...).
    gams = make_executable(tmp_path / "bin" / ("gams.cmd" if os.name == "nt" else "gams"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert resolve_gams(None) == gams


def test_resolve_gams_not_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert error_of(GamsNotFoundError, resolve_gams, None) == (
        "GAMS not found: put gams on PATH or pass --gams-path")


def test_resolve_gams_missing(tmp_path):
    path = str(tmp_path / "gams")
    assert error_of(GamsNotFoundError, resolve_gams, path) == (
        "--gams-path %s does not exist: give the gams executable, e.g. %s"
        % (path, procgroup.GAMS_PATH_EXAMPLE))


def test_resolve_gams_folder_without_gams(tmp_path):
    assert error_of(GamsNotFoundError, resolve_gams, str(tmp_path)) == (
        "--gams-path %s is a folder without a gams executable: give the gams executable itself"
        % tmp_path)


@pytest.mark.skipif(os.name == "nt", reason="Windows has no execute bit")
def test_resolve_gams_not_executable(tmp_path):
    path = write(tmp_path / "gams", "#!/bin/sh\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # no execute bit: refused even for root
    assert error_of(GamsNotFoundError, resolve_gams, path) == (
        "--gams-path %s is not executable: give the gams executable (or make it executable)"
        % path)


# -- the real GAMS -----------------------------------------------------------


def run_gams(command, cwd):
    proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.communicate(timeout=300)[0]
    return proc.returncode, output.decode("utf-8", "replace")


def read_text(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


@pytest.mark.gams
def test_real_gams_runs_the_rewritten_copy_with_idir(gams_path, copy_model, tmp_path):
    # "run dir" with a space: the paths reach GAMS as single argv entries.
    run = copy_model("times_style", dest=tmp_path / "run dir")
    with open(os.path.join(run, "times_demo.run")) as handle:
        driver_text = handle.read()
    assert "option LP=conopt;" in driver_text and "$batinclude base.dd" in driver_text
    before = tree_digest(run)
    out = str(tmp_path / "out")
    validate_out_dir(out)
    driver = find_driver(run)
    # copy_model leaves the listing of an earlier run, which names the TIMES source.
    times_src = find_times_src(run)
    assert times_src == os.path.join(run, "times_src")
    prepared = prepare_work_dir(out, "cplex", "bar_nox", driver,
                                "lpmethod 4\nsolutiontype 2\nthreads 1\n", "cplex.opt")
    command = gams_command(gams_path, os.path.basename(prepared.driver_copy), run, times_src,
                           "cplex", "bar_nox", None, [])
    code, output = run_gams(command, prepared.path)
    assert code == 0, (command, output)
    listing = read_text(os.path.join(prepared.path, "times_demo.lst"))
    assert re.search(r"SOLVER +CPLEX +FROM LINE", listing), listing[-3000:]
    assert "CONOPT" not in listing
    assert re.search(r"\*\*\*\* MODEL STATUS +1 Optimal", listing)
    log = read_text(os.path.join(prepared.path, "bar_nox_run_log.txt"))
    assert "Reading option file" in log and "cplex.opt" in log
    assert tree_digest(run) == before  # nothing copied, linked or written back
    # The listing names initsys.mod from times_src: detection works on real output.
    detect = tmp_path / "detect"
    detect.mkdir()
    shutil.copy(os.path.join(prepared.path, "times_demo.lst"), str(detect))
    assert find_times_src(str(detect)) == times_src


def mps_of_restart_model(a, fromrestart):
    """Free MPS of drv.gms below: min z, obj: z - sum x = fromrestart, c(i): x(i) >= a(i)."""
    names = ["i%d" % (index + 1) for index in range(len(a))]
    lines = ["NAME drv", "ROWS", " N objrow", " E obj"] + [" G c(%s)" % n for n in names]
    lines.append("COLUMNS")
    lines.append(" z objrow 1 obj 1")
    lines.extend(" x(%s) obj -1 c(%s) 1" % (n, n) for n in names)
    lines.append("RHS")
    lines.append(" rhs obj %d" % fromrestart)
    lines.extend(" rhs c(%s) %d" % (n, value) for n, value in zip(names, a))
    lines.extend(["BOUNDS", " FR bnd z", "ENDATA"])
    return "\n".join(lines) + "\n"


@pytest.mark.gams
def test_real_gams_restart_and_batinclude(gams_path, tmp_path):
    src = tmp_path / "times src"
    run = tmp_path / "run"
    write(src / "init.gms", "Set i 'items' / i1*i3 /; Scalar fromrestart / 7 /;\n")
    code, output = run_gams([gams_path, "init.gms", "lo=0", "s=%s" % (src / "_times")],
                            str(src))
    assert code == 0 and os.path.isfile(str(src / "_times.g00")), output
    write(run / "drv.gms",
          "$batinclude data.dd 2\r\nVariable z; Positive Variable x(i);\r\n"
          "Equation obj, c(i);\r\nobj.. z =e= sum(i, x(i)) + fromrestart;\r\n"
          "c(i).. x(i) =g= a(i);\r\nModel m /all/;\r\nOption LP = conopt, reslim = 100;\r\n"
          "solve m using lp minimizing z;\r\n")
    write(run / "data.dd", "Parameter a(i); a(i) = %1 * ord(i);\n")
    # The same LP as a matrix, for the GAMS stand-in (which compiles no GAMS): a(i) =
    # 2 * ord(i) from "$batinclude data.dd 2", fromrestart = 7 in the obj row's RHS.
    write(run / "drv.mps", mps_of_restart_model(a=[2, 4, 6], fromrestart=7))
    before = tree_digest(str(run))
    prepared = prepare_work_dir(str(tmp_path / "out"), "cplex", "dual",
                                find_driver(str(run)), "lpmethod 2\n", "cplex.opt")
    command = gams_command(gams_path, "drv.gms", str(run), str(src), "cplex", "dual", None,
                           None)
    assert command[-1] == "r=%s" % (src / "_times.g00")
    code, output = run_gams(command, prepared.path)
    assert code == 0, output
    listing = read_text(os.path.join(prepared.path, "drv.lst"))
    assert re.search(r"SOLVER +CPLEX +FROM LINE", listing)
    assert re.search(r"OBJECTIVE VALUE +19\.0000", listing)  # 2 * (1 + 2 + 3) + 7
    assert tree_digest(str(run)) == before
