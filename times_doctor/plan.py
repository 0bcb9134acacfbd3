"""What a scan will do, decided before anything is created: its inputs checked.

plan_scan() validates every option and path and returns a ScanPlan; scan.py
runs it.  The option-value validators live here because every command that
takes those options (scan, check, cancel, reap) checks them the same way.
"""

import collections
import os

from times_doctor import launchers, profiles, resume, rundir, scanfiles, solvers
from times_doctor.errors import UsageError

ScanConfig = collections.namedtuple(
    "ScanConfig",
    "run_dir gams_path driver times_src solver profiles opt_dir threads parallel "
    "max_workers timeout_seconds grace_seconds gams_args out yes no_color debug "
    "allow_unknown_options no_preflight resume launcher slurm_args")
# The newest fields are optional, so callers that build a config by
# position (bench, tests) keep working.
ScanConfig.__new__.__defaults__ = (False, False, False, None, ())

# What an option not given on the command line means (None in a ScanConfig).
# A --resume scan first takes the earlier scan's value (resume.inherit_options).
SCAN_DEFAULTS = (("solver", solvers.DEFAULT), ("threads", "7"), ("parallel", False),
                 ("grace_seconds", "10"), ("gams_args", []), ("slurm_args", []))
# Defaults that come from the environment: (field, variable, fallback).
ENV_DEFAULTS = (("max_workers", "TD_MAX_WORKERS", None),
                ("timeout_seconds", "TD_TIMEOUT_SECONDS", "0"))

PlannedRun = collections.namedtuple(
    "PlannedRun", "profile work_dir log_name option_text")

ScanPlan = collections.namedtuple(
    "ScanPlan", "config run_dir out_dir gams driver times_src runs max_workers "
    "timeout_seconds grace_seconds threads previous launcher")
# previous: the resume.PreviousScan a --resume scan continues (None otherwise);
# launcher: "local" or "slurm" (launchers.py).
ScanPlan.__new__.__defaults__ = (None, "local")


def option_defaults(environ=None):
    """ScanConfig field -> what that option means when it is not given."""
    environ = os.environ if environ is None else environ
    defaults = dict((field, list(value) if isinstance(value, list) else value)
                    for field, value in SCAN_DEFAULTS)
    for field, variable, fallback in ENV_DEFAULTS:
        defaults[field] = environ.get(variable, fallback)
    return defaults


def with_defaults(config, environ=None):
    """*config* with every option left None set to its default."""
    changes = dict((field, value) for field, value in option_defaults(environ).items()
                   if getattr(config, field) is None)
    return config._replace(**changes) if changes else config


def positive_int(value, option, allow_zero=False):
    """Parse an option value that must be a positive integer (or 0 if allowed)."""
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or number < 0 or (number == 0 and not allow_zero):
        kind = "a whole number >= 0" if allow_zero else "a positive whole number"
        raise UsageError("%s must be %s, got %r: e.g. %s %s"
                         % (option, kind, text, option, "0" if allow_zero else "4"))
    return number


def non_negative_float(value, option):
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number >= 0 or number != number:
        raise UsageError("%s must be a number of seconds >= 0, got %r: e.g. %s 10"
                         % (option, text, option))
    return number


def choose_max_workers(parallel, max_workers, run_count, threads, cpu_count=None):
    """(how many runs at once, why): ``--max-workers``, else the default formula.

    Without ``--parallel`` it is always 1.  The default keeps every run's
    threads on a CPU of its own (cpus // threads) and caps at 6.
    """
    if not parallel:
        return 1, "one at a time (no --parallel)"
    if max_workers is not None:
        return max_workers, "--max-workers %d" % max_workers
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    chosen = max(1, min(run_count, cpus // threads, 6))
    return chosen, ("max(1, min(%d profiles, %d cpus // %d threads, 6))"
                    % (run_count, cpus, threads))


def plan_scan(config, cpu_count=None):
    """Validate every input and decide what will run; create nothing.

    Raises:
        UsageError (or a subclass): one line naming the problem and the fix.
    """
    run_dir = os.path.abspath(config.run_dir)
    if not os.path.exists(run_dir):
        raise UsageError("RUN_DIR %s does not exist: give the folder that holds the model's "
                         ".run/.gms file" % config.run_dir)
    if not os.path.isdir(run_dir):
        raise UsageError("RUN_DIR %s is not a directory: give the folder that holds the model, "
                         "and name the file with --driver" % config.run_dir)
    out_dir = os.path.abspath(config.out) if config.out else run_dir
    previous = None
    if config.resume:
        previous = resume.load_previous(out_dir)
        config = resume.inherit_options(config, previous)
    config = with_defaults(config)
    threads = positive_int(config.threads, "--threads")
    max_workers = (positive_int(config.max_workers, "--max-workers")
                   if config.max_workers not in (None, "") else None)
    timeout_seconds = positive_int(config.timeout_seconds or 0, "--timeout-seconds",
                                   allow_zero=True)
    grace_seconds = non_negative_float(config.grace_seconds, "--grace-seconds")
    rundir.validate_out_dir(out_dir)
    gams = rundir.resolve_gams(config.gams_path)
    driver = rundir.find_driver(run_dir, config.driver)
    times_src = rundir.find_times_src(run_dir, config.times_src)
    chosen = profiles.resolve_profiles(config.solver, config.profiles, config.opt_dir)
    runs = []
    for profile in chosen:
        runs.append(PlannedRun(
            profile=profile,
            work_dir=scanfiles.work_dir(out_dir, profile.solver, profile.base_name),
            log_name="%s_run_log.txt" % profile.base_name,
            option_text=profiles.render_option_file(profile, threads)))
    # Launcher (issue 13): SLURM queues what does not fit, so with --parallel
    # every profile is in flight unless --max-workers caps it.
    launcher = launchers.choose_launcher(config.launcher, os.environ)
    if launcher == "slurm":
        if config.parallel and max_workers is None:
            max_workers = len(runs)
    max_workers = choose_max_workers(config.parallel, max_workers, len(runs), threads,
                                     cpu_count)[0]
    return ScanPlan(config, run_dir, out_dir, gams, driver, times_src, runs,
                    max_workers, timeout_seconds, grace_seconds, threads, previous,
                    launcher)
