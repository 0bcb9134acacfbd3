"""What a scan will do, decided before anything is created: its inputs checked.

plan_scan() validates every option and path and returns a ScanPlan; scan/scanner.py
runs it.  The option-value validators live here because every command that
takes those options (scan, check, cancel, reap) checks them the same way.
"""

import collections
import os

from times_doctor import paths
from times_doctor.gams import rundir
from times_doctor.launch import table as launchers
from times_doctor.scan import resume
from times_doctor.solvers import profiles, table as solvers
from times_doctor.errors import UsageError

ScanConfig = collections.namedtuple(
    "ScanConfig",
    "run_dir gams_path driver times_src solver profiles opt_dir threads parallel "
    "max_workers timeout_seconds grace_seconds gams_args out yes no_color debug "
    "allow_unknown_options no_preflight resume launcher launcher_args confirm repeat cap race")
# The newest fields are optional, so callers that build a config by
# position (bench, tests) keep working.
ScanConfig.__new__.__defaults__ = (False, False, False, None, (), None, None, None, None)

# What an option not given on the command line means (None in a ScanConfig).
# A --resume scan first takes the earlier scan's value (resume.inherit_options).
SCAN_DEFAULTS = (("solver", solvers.DEFAULT), ("threads", "7"), ("parallel", False),
                 ("grace_seconds", "10"), ("gams_args", []), ("launcher_args", []),
                 ("confirm", "0"), ("repeat", "1"), ("race", False))
# Defaults that come from the environment: (field, variable, fallback).
ENV_DEFAULTS = (("max_workers", "TD_MAX_WORKERS", None),
                ("timeout_seconds", "TD_TIMEOUT_SECONDS", "0"))

PlannedRun = collections.namedtuple(
    "PlannedRun", "profile work_dir log_name option_text trial_of trial seed kind")
PlannedRun.__new__.__defaults__ = (None, 1, None, "scan")
PlannedRun.__doc__ = """One run of a scan: a profile, or one more trial of it.

profile: the run's profiles.Profile; for a trial (--repeat) or a
    confirmation run (--confirm) its name is the profile's plus
    TRIAL_SUFFIX / CONFIRM_SUFFIX, and its lines set the trial's seed.
trial_of: the name of the profile it is a trial of (None: profile.name).
trial: 1..K; seed: the solver's random seed (None for trial 1: its default);
kind: "scan" or "confirm".
"""

ScanPlan = collections.namedtuple(
    "ScanPlan", "config run_dir out_dir gams driver times_src runs max_workers "
    "timeout_seconds grace_seconds threads previous launcher profiles repeat confirm cap "
    "race confirm_runs")
# previous: the resume.PreviousScan a --resume scan continues (None otherwise);
# launcher: a name in launch/table.py's LAUNCHER_TABLE; profiles: the profiles chosen,
# one each (runs holds their trials); repeat: trials per profile; confirm:
# how many of the best to re-run alone; cap: the --cap factor (--race: 1.0)
# or None; confirm_runs: OrderedDict profile name -> its PlannedRuns of kind
# "confirm", one per trial (empty without --confirm).
ScanPlan.__new__.__defaults__ = (None, launchers.DEFAULT, None, 1, 0, None, False,
                                 collections.OrderedDict())

# Names of the extra runs of a profile ("dual" -> "dual.r2", "dual.confirm").
TRIAL_SUFFIX = ".r%d"
CONFIRM_SUFFIX = ".confirm"

RUN_KINDS = ("scan", "confirm")


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


def cap_factor(value, option="--cap"):
    """Parse ``--cap F``: a factor of the best completed time, at least 1."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is None or number != number or number < 1.0 or number == float("inf"):
        raise UsageError("%s must be a factor >= 1 of the best completed time, got %r: e.g. "
                         "%s 1.5 stops a run once it has taken 1.5 times as long" % (
                             option, text, option))
    return number


def planned_runs(profile, out_dir, threads, trials, kind="scan"):
    """The runs of one profile: trial 1 as it is, trials 2..K with seeds 1..K-1.

    Trial 1 keeps the solver's default seed, so a scan without --repeat runs
    (and fingerprints) exactly what it always did.  A confirmation run
    (*kind* "confirm") repeats the same trials under names of its own.
    """
    runs = []
    for trial in range(1, trials + 1):
        seed = trial - 1 if trial > 1 else None
        suffix = (CONFIRM_SUFFIX if kind == "confirm" else "") + (
            TRIAL_SUFFIX % trial if trial > 1 else "")
        run_profile = profiles.trial_profile(profile, suffix, seed) if suffix else profile
        runs.append(PlannedRun(
            profile=run_profile,
            work_dir=paths.work_dir(out_dir, run_profile.solver, run_profile.base_name),
            log_name="%s_run_log.txt" % run_profile.base_name,
            option_text=profiles.render_option_file(run_profile, threads),
            trial_of=profile.name, trial=trial, seed=seed, kind=kind))
    return runs


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
    repeat = positive_int(config.repeat, "--repeat")
    confirm = positive_int(config.confirm, "--confirm", allow_zero=True)
    cap = cap_factor(config.cap) if config.cap not in (None, "") else None
    if config.race:
        if cap is not None:
            raise UsageError("give --cap F or --race, not both: --race stops every other run "
                             "at the first optimal completion, --cap F those that took F "
                             "times as long")
        cap = 1.0
    rundir.validate_out_dir(out_dir)
    gams = rundir.resolve_gams(config.gams_path)
    driver = rundir.find_driver(run_dir, config.driver)
    times_src = rundir.find_times_src(run_dir, config.times_src)
    chosen = profiles.resolve_profiles(config.solver, config.profiles, config.opt_dir)
    runs = []
    confirm_runs = collections.OrderedDict()
    for profile in chosen:
        runs.extend(planned_runs(profile, out_dir, threads, repeat))
        if confirm:
            confirm_runs[profile.name] = planned_runs(profile, out_dir, threads, repeat,
                                                      "confirm")
    _check_run_names(chosen, runs, confirm_runs)
    # A launcher that queues what does not fit (SLURM) has every profile of a
    # --parallel scan in flight unless --max-workers caps it.
    launcher = launchers.choose_launcher(config.launcher, os.environ)
    if launchers.entry(launcher).queues:
        if config.parallel and max_workers is None:
            max_workers = len(runs)
    max_workers = choose_max_workers(config.parallel, max_workers, len(runs), threads,
                                     cpu_count)[0]
    return ScanPlan(config, run_dir, out_dir, gams, driver, times_src, runs,
                    max_workers, timeout_seconds, grace_seconds, threads, previous,
                    launcher, chosen, repeat, confirm, cap, bool(config.race), confirm_runs)


def _check_run_names(chosen, runs, confirm_runs):
    """A profile named like another's trial (``dual.r2``) would share its folder: refuse."""
    owners = {}
    for run in list(runs) + [run for extra in confirm_runs.values() for run in extra]:
        key = (run.profile.solver, run.profile.base_name.lower())
        first = owners.setdefault(key, run)
        if first is run:
            continue
        own, generated = (first, run) if first.trial == 1 and first.kind == "scan" else (
            run, first)
        what = ("confirmation run" if generated.kind == "confirm" else "trial %d"
                % generated.trial)
        raise UsageError("profile %s has the name of the %s of profile %s (--repeat and "
                         "--confirm name them NAME.r2, NAME.confirm): rename %s.opt"
                         % (own.profile.name, what, generated.trial_of,
                            own.profile.base_name))
