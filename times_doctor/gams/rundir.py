"""The run directory: find the driver and TIMES source, set up one work directory per profile.

Each profile runs GAMS with its own work directory as the current directory.
That directory holds only a copy of the driver (with the driver's
``option LP=...;`` statements rewritten to the profile's solver) and the
solver option file.  The run's data files are found through ``idir1=RUN_DIR``
(and the TIMES source through ``idir2=``), never copied or linked: set-up
cost and disk use do not grow with the model's data, and no profile can
write through a link into the original run directory.

Every public function validates its input before it creates anything, and
reports a problem as one line naming it and the fix (``RunDirError``,
``GamsNotFoundError``).

Decisions where the spec left room:

* A relative ``--driver`` is looked up in RUN_DIR first, then in the current
  folder; either way it must resolve (symlinks and ``..`` followed) to a file
  inside RUN_DIR (subfolders allowed).
* Without ``--driver``: the ``.run`` whose stem matches the newest ``.lst``,
  else the largest ``.run``, else the ``.gms`` matching the newest ``.lst``,
  else the largest ``.gms`` (ties: by name).  Extensions in any case.
* A TIMES source folder named in a ``.lst`` that no longer exists is ignored
  (``find_times_src`` returns None) rather than passed to GAMS.
* Besides lp/mip/rmip/qcp/miqcp/rmiqcp, ``option solver=...;`` is rewritten
  too: it sets the solver of every model type, so it would beat the profile.
  ``$if``/``$ifI``/``$ifE`` lines count as code (their statement runs when
  the condition holds); other dollar-control lines are left alone.  Only the
  driver is rewritten, not files it includes.  The lexer that finds those
  statements (and the driver's ``$include`` lines) is ``gams.source``.

Why about 500 lines: every check of the run directory must come before
anything is created, and that order is easiest to verify in one file.
"""

import collections
import io
import os
import shutil
import time

from typing import Callable, List, Optional  # noqa: F401  (used in type comments)

from times_doctor.proc import procgroup
from times_doctor.solvers import table as solvers
from times_doctor.errors import GamsNotFoundError, RunDirError, os_reason, show_value
from times_doctor.gams.source import include_names, replace_solver_values
from times_doctor.gams.lst import initsys_from_lst
from times_doctor.solvers.profiles import check_profile_name
from times_doctor.paths import out_root, runs_root, work_dir

RESTART_FILE_NAME = "_times.g00"

PreparedDir = collections.namedtuple("PreparedDir", "path driver_copy replaced_locked")
PreparedDir.__doc__ = """A ready work directory.

path: the work directory (GAMS's current directory); driver_copy: the
rewritten driver inside it; replaced_locked: None, or a one-line note for
the user when an earlier work directory could not be removed and a fresh
timestamped sibling is used instead.
"""

WorkDirPlan = collections.namedtuple("WorkDirPlan", "path driver_copy option_file")
WorkDirPlan.__doc__ = """Where prepare_work_dir() will put things (computed, nothing created)."""

_MAX_SIBLINGS = 1000


# -- run directory -----------------------------------------------------------


def find_driver(run_dir, driver=None):
    # type: (str, Optional[str]) -> str
    """Absolute path of the GAMS file to run.

    Args:
        run_dir: the run directory.
        driver: ``--driver`` (relative to RUN_DIR, else to the current folder).

    Raises:
        RunDirError: the named driver is missing, not a file or outside
            RUN_DIR, or nothing suitable was found.
    """
    return choose_driver(run_dir, driver)[0]


def choose_driver(run_dir, driver=None):
    # type: (str, Optional[str]) -> tuple
    """(absolute driver path, why it was chosen); raises as find_driver() does."""
    _check_run_dir(run_dir)
    if driver:
        return _named_driver(run_dir, driver), "named with --driver"
    files = _plain_files(run_dir)
    newest = _newest_lst(run_dir, files)
    newest_stem = os.path.splitext(os.path.basename(newest))[0] if newest else None
    for extension in (".run", ".gms"):
        candidates = [path for path in files if path.lower().endswith(extension)]
        if not candidates:
            continue
        if newest_stem is not None:
            matching = _stem_matches(candidates, newest_stem)
            if matching:
                return os.path.abspath(matching), "its name matches the newest listing, %s" \
                    % os.path.basename(newest)
        chosen = min(candidates, key=lambda path: (-os.path.getsize(path), path))
        why = ("the only %s file" % extension if len(candidates) == 1
               else "the largest of %d %s files" % (len(candidates), extension))
        if extension == ".gms":
            why += " (no .run file)"
        return os.path.abspath(chosen), why
    raise RunDirError("no driver found in RUN_DIR %s: expected a .run or .gms file; name one "
                      "with --driver" % show_value(run_dir))


def choose_times_src(run_dir, times_src=None):
    # type: (str, Optional[str]) -> tuple
    """(TIMES source folder or None, why); raises as find_times_src() does."""
    found = find_times_src(run_dir, times_src)
    if times_src:
        return found, "named with --times-src"
    if found is None:
        return None, "no listing in RUN_DIR names an initsys.mod that still exists: " \
                     "run as a plain GAMS model"
    newest = _newest_lst(run_dir, _plain_files(run_dir))
    return found, "the include summary of %s names its initsys.mod" % os.path.basename(newest)


def missing_includes(driver, search_dirs):
    # type: (str, List[str]) -> tuple
    """Includes the driver names that no folder of *search_dirs* holds.

    Returns ([(line number, name)], number of names not checked because
    they use %variables%).  Only the driver's own ``$include``/``$batinclude``
    lines are read (not the files they include), outside ``$ontext`` blocks;
    a name without extension is also tried with ``.gms``, as GAMS does.
    """
    missing = []
    unchecked = 0
    try:
        with io.open(driver, "rb") as handle:
            lines = handle.read().decode("latin-1").splitlines()
    except OSError as error:
        raise RunDirError("cannot read driver %s (%s): make it readable"
                          % (show_value(driver), os_reason(error)))
    for number, file_name in include_names(lines):
        if "%" in file_name:
            unchecked += 1
            continue
        tries = [file_name] if os.path.splitext(file_name)[1] else [file_name,
                                                                      file_name + ".gms"]
        if os.path.isabs(file_name):
            found = any(os.path.isfile(each) for each in tries)
        else:
            found = any(os.path.isfile(os.path.join(folder, each))
                        for folder in search_dirs for each in tries)
        if not found:
            missing.append((number, file_name))
    return missing, unchecked


def find_times_src(run_dir, times_src=None):
    # type: (str, Optional[str]) -> Optional[str]
    """The TIMES source folder: ``--times-src``, else where the newest .lst found initsys.mod.

    Returns None when there is no .lst, it names no initsys.mod, or that
    folder is gone.  Only the .lst's "Include File Summary" is read, line by
    line with a bounded buffer, stopping there: listings can be gigabytes.

    Raises:
        RunDirError: ``times_src`` is given but is not a directory.
    """
    if times_src:
        if not os.path.isdir(times_src):
            raise RunDirError("--times-src %s is not a directory: give the TIMES source folder "
                              "(the one holding initsys.mod)" % show_value(times_src))
        return os.path.abspath(times_src)
    _check_run_dir(run_dir)
    newest = _newest_lst(run_dir, _plain_files(run_dir))
    if newest is None:
        return None
    try:
        initsys = initsys_from_lst(newest)
    except OSError:
        return None  # detection is a convenience; --times-src is the way to be explicit
    if initsys is None:
        return None
    if not os.path.isabs(initsys):
        initsys = os.path.join(run_dir, initsys)
    folder = os.path.dirname(initsys)
    return os.path.abspath(folder) if os.path.isdir(folder) else None


def restart_file(times_src):
    # type: (str) -> Optional[str]
    """``<times_src>/_times.g00`` if that restart file exists, else None."""
    path = os.path.join(times_src, RESTART_FILE_NAME)
    return os.path.abspath(path) if os.path.isfile(path) else None


# -- the driver copy ---------------------------------------------------------


def rewrite_solver_options(text, solver):
    # type: (str, str) -> str
    """*text* with every GAMS ``option`` assignment of an LP/MIP solver set to *solver*.

    Handles ``option``/``options`` in any case, several comma- or
    line-separated assignments, statements spanning lines, and the keys in
    ``gams.source.SOLVER_OPTION_KEYS``.  Comments (``*`` lines, ``$ontext`` blocks, enabled
    end-of-line and in-line comments), quoted strings, echo/put/embedded-code
    blocks and all other text stay byte-identical, line endings included.
    """
    solvers.check(solver)
    return replace_solver_values(text, solver)


def driver_copy_bytes(driver_path, solver):
    # type: (str, str) -> bytes
    """The bytes of *driver_path*'s copy for *solver*, as prepare_work_dir() writes them.

    Raises:
        RunDirError: the driver cannot be read.
    """
    try:
        with io.open(driver_path, "rb") as handle:
            driver_bytes = handle.read()
    except OSError as error:
        raise RunDirError("cannot read driver %s (%s): make it readable"
                          % (show_value(driver_path), os_reason(error)))
    # Latin-1 maps every byte to one character and back, so whatever the
    # driver's encoding, everything but the rewritten words stays byte-identical.
    return rewrite_solver_options(driver_bytes.decode("latin-1"), solver).encode("latin-1")


def plan_work_dir(out_dir, solver, profile_name, driver_path, option_file_name):
    # type: (str, str, str, str, str) -> WorkDirPlan
    """Paths of one profile's work directory; validates names, touches nothing."""
    solvers.check(solver)
    check_profile_name(profile_name)
    driver_name = os.path.basename(driver_path)
    _check_plain_name(option_file_name, "option file name")
    if driver_name.lower() == option_file_name.lower():
        raise RunDirError("driver %s has the same name as the solver option file: rename the "
                          "driver" % show_value(driver_path))
    path = work_dir(out_dir, solver, profile_name)
    return WorkDirPlan(path, os.path.join(path, driver_name), os.path.join(path, option_file_name))


def prepare_work_dir(out_dir, solver, profile_name, driver_path, option_text, option_file_name,
                     remove_tree=None, clock=None):
    # type: (str, str, str, str, str, str, Optional[Callable], Optional[Callable]) -> PreparedDir
    """Create ``OUT/times_doctor_out/scan_runs/<solver>/<profile>/``: driver copy + option file.

    A leftover directory from an earlier scan is removed first.  If that
    fails (files held open or read-only), a fresh sibling
    ``<profile>-YYYYmmdd-HHMMSS[-N]`` is used and ``replaced_locked`` says so.

    Args:
        remove_tree: removes a directory tree (default ``shutil.rmtree``);
            tests pass one that raises PermissionError.
        clock: returns the time in seconds (default ``time.time``), for the
            sibling's timestamp.

    Raises:
        RunDirError: the driver cannot be read or the directory cannot be set up.
    """
    remove_tree = remove_tree or shutil.rmtree
    clock = clock or time.time
    plan = plan_work_dir(out_dir, solver, profile_name, driver_path, option_file_name)
    copy_bytes = driver_copy_bytes(driver_path, solver)
    path = plan.path
    replaced_locked = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        blocked = None
        if os.path.lexists(path):
            try:
                _remove_leftover(path, remove_tree)
            except OSError as error:
                blocked = error
        if blocked is None:
            try:
                os.mkdir(path)
            except FileExistsError as error:
                blocked = error  # something (a straggler process?) recreated it meanwhile
        if blocked is not None:
            sibling = _make_sibling(path, clock)
            replaced_locked = ("could not remove the earlier work directory %s (%s): this run "
                               "uses %s; delete the old one once nothing holds its files open"
                               % (path, os_reason(blocked), sibling))
            path = sibling
        driver_copy = os.path.join(path, os.path.basename(plan.driver_copy))
        with io.open(driver_copy, "wb") as handle:
            handle.write(copy_bytes)
        # surrogateescape: bytes of the user's file that are not UTF-8 go back as they were.
        with io.open(os.path.join(path, option_file_name), "w", encoding="utf-8",
                     errors="surrogateescape", newline="") as handle:
            handle.write(option_text)
    except OSError as error:
        raise RunDirError("cannot set up work directory %s (%s): check free space and "
                          "permissions of --out" % (path, os_reason(error)))
    return PreparedDir(path, driver_copy, replaced_locked)


def validate_out_dir(out_dir):
    # type: (str) -> None
    """Check ``--out`` exists or can be created, and can be written; create nothing.

    Judged by permissions (``os.access``) on the deepest existing folder of
    OUT/times_doctor_out/scan_runs, or of OUT's ancestors when OUT is new.

    Raises:
        RunDirError: not a folder or not writable.
    """
    shown = show_value(out_dir)
    path = os.path.abspath(out_dir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirError("--out %s is not a directory: choose a folder you can write to" % shown)
    probe = path
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise RunDirError("--out %s is not writable (%s is not a folder): choose a folder you "
                          "can write to" % (shown, show_value(probe)))
    if probe == path:
        for sub in (out_root(path), runs_root(path)):
            if not os.path.lexists(sub):
                break
            if not os.path.isdir(sub):
                raise RunDirError("--out %s cannot hold the results: %s is not a folder; remove "
                                  "or rename it" % (shown, show_value(sub)))
            probe = sub
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RunDirError("--out %s is not writable: choose a folder you can write to" % shown)


# -- GAMS --------------------------------------------------------------------


def gams_command(gams_path, driver_copy_name, run_dir, times_src, solver, profile_name,
                 log_name=None, extra_args=None):
    # type: (str, str, str, Optional[str], str, str, Optional[str], Optional[list]) -> List[str]
    """The argv that runs one profile; to be started with the work directory as cwd.

    GAMS writes ``<driver stem>.lst`` into the current directory, finds the
    option file there (``optfile=1``), and finds ``$include``/``$batinclude``
    files through ``idir1``/``idir2``.
    """
    solvers.check(solver)
    check_profile_name(profile_name)
    _check_plain_name(driver_copy_name, "driver copy name")
    log_name = log_name or "%s_run_log.txt" % profile_name
    _check_plain_name(log_name, "log file name")
    command = [gams_path, driver_copy_name, "logoption=2", "logfile=%s" % log_name, "optfile=1",
               "lp=%s" % solver, "mip=%s" % solver, "rmip=%s" % solver,
               "idir1=%s" % os.path.abspath(run_dir)]
    if times_src:
        command.append("idir2=%s" % os.path.abspath(times_src))
        restart = restart_file(times_src)
        if restart:
            command.append("r=%s" % restart)
    command.extend(extra_args or [])
    return command


def resolve_gams(gams_path=None):
    # type: (Optional[str]) -> str
    """Absolute path of an executable ``gams``: *gams_path*, else the one on PATH.

    *gams_path* may also be the GAMS system folder holding ``gams``.

    Raises:
        GamsNotFoundError: one line naming the problem and the fix.
    """
    if not gams_path:
        found = shutil.which("gams")
        if not found:
            raise GamsNotFoundError("GAMS not found: put gams on PATH or pass --gams-path")
        return os.path.abspath(found)
    shown = show_value(gams_path)
    path = os.path.expanduser(gams_path)
    if os.path.isdir(path):
        inside = [os.path.join(path, name) for name in ("gams", "gams.exe")
                  if os.path.isfile(os.path.join(path, name))]
        if not inside:
            raise GamsNotFoundError("--gams-path %s is a folder without a gams executable: give "
                                    "the gams executable itself" % shown)
        path = inside[0]
    if not os.path.exists(path):
        raise GamsNotFoundError("--gams-path %s does not exist: give the gams executable, "
                                "e.g. %s" % (shown, procgroup.GAMS_PATH_EXAMPLE))
    if not os.path.isfile(path):
        raise GamsNotFoundError("--gams-path %s is not a file: give the gams executable" % shown)
    if not os.access(path, os.X_OK):
        raise GamsNotFoundError("--gams-path %s is not executable: give the gams executable "
                                "(or make it executable)" % shown)
    return os.path.abspath(path)


# -- helpers: run directory --------------------------------------------------


def _check_run_dir(run_dir):
    if not os.path.isdir(run_dir):
        raise RunDirError("RUN_DIR %s is not a directory: give the folder that holds the "
                          "model's .run/.gms file" % show_value(run_dir))


def _named_driver(run_dir, driver):
    if os.path.isabs(driver):
        tries = [driver]
    else:
        tries = [os.path.join(run_dir, driver), driver]
    path = next((each for each in tries if os.path.exists(each)), None)
    if path is None:
        raise RunDirError("--driver %s is missing: it is not in RUN_DIR %s; give the .run or "
                          ".gms file inside the run directory" % (show_value(driver), show_value(run_dir)))
    if not os.path.isfile(path):
        raise RunDirError("--driver %s is not a file: give the .run or .gms file inside the run "
                          "directory" % show_value(driver))
    if not _is_inside(os.path.realpath(path), os.path.realpath(run_dir)):
        # The copy runs with idir1=RUN_DIR: a driver from elsewhere would
        # find the wrong data files, or none.
        raise RunDirError("--driver %s is outside RUN_DIR %s: give a file inside the run "
                          "directory" % (show_value(driver), show_value(run_dir)))
    return os.path.abspath(path)


def _is_inside(path, root):
    path = os.path.normcase(path)
    root = os.path.normcase(root)
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False  # different drives on Windows


def _plain_files(run_dir):
    """Sorted paths of the regular files directly in *run_dir*."""
    try:
        names = sorted(os.listdir(run_dir))
    except OSError as error:
        raise RunDirError("cannot list RUN_DIR %s (%s): make it readable"
                          % (show_value(run_dir), os_reason(error)))
    paths = [os.path.join(run_dir, name) for name in names]
    return [path for path in paths if os.path.isfile(path)]


def _newest_lst(run_dir, files):
    listings = [path for path in files if path.lower().endswith(".lst")]
    if not listings:
        return None
    return max(listings, key=lambda path: (os.path.getmtime(path), path))


def _stem_matches(paths, stem):
    """The path whose stem is *stem*: exact case first, then any case."""
    for fold in (False, True):
        for path in paths:
            candidate = os.path.splitext(os.path.basename(path))[0]
            if candidate == stem or (fold and candidate.lower() == stem.lower()):
                return path
    return None


# -- helpers: work directory -------------------------------------------------


def _remove_leftover(path, remove_tree):
    """Remove an earlier work directory; a link or file there is removed, never followed."""
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        remove_tree(path)


def _make_sibling(path, clock):
    """Create and return ``<path>-YYYYmmdd-HHMMSS[-N]``, the first name not taken."""
    base = "%s-%s" % (path, time.strftime("%Y%m%d-%H%M%S", time.localtime(clock())))
    for number in range(_MAX_SIBLINGS):
        candidate = base if number == 0 else "%s-%d" % (base, number)
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        return candidate
    raise RunDirError("cannot set up work directory %s: %d timestamped alternatives exist "
                      "already; delete old ones under %s" % (path, _MAX_SIBLINGS,
                                                            os.path.dirname(path)))


# -- helpers: misc -----------------------------------------------------------


def _check_plain_name(name, what):
    """A bare file name: no folder part, not '.', '..' or empty."""
    if not name or name in (".", "..") or os.path.basename(name) != name or "/" in name \
            or "\\" in name:
        raise ValueError("%s must be a bare file name, got %r" % (what, name))


