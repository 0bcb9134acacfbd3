"""The launcher table: where a scan's runs execute, one row per launcher.

Like the solver table (solvers/table.py), this is the one place that names
the launchers.  ``local`` forks each run on this machine (launch/local.py);
``slurm`` hands the runs to SLURM (launch/slurm.py), which starts
times-doctor's task on a compute node to run each with the same local
runner.  Every launcher writes the same run record
(job_control.JobRegistry; its own facts go in the record's one ``launch``
field), so the scanner, its menu, control requests, the state file, reap
and the report do not care which one ran a profile.  Adding a launcher is
its own module and one row here.

A row's callables import their module only when called: a launcher's
module may need what a platform lacks (SLURM's needs ``pwd``), and a scan
that does not use it must not pay for it or fail on it.

The launcher object a row's factory makes speaks this protocol, in the
order a scan uses it (scan/scanner.Scan._start_batch):

- ``submit(specs, max_parallel, registry, timeout_seconds, grace_seconds,
  log_seconds)``: a batch of runs the scan starts at once, before any
  worker runs them.  Local: nothing to do.  SLURM: one job array
  (``--array=...%max_parallel``) for the whole batch.
- ``followers(batch_size, max_parallel)``: how many workers follow the
  batch (local: max_parallel; SLURM arrays: one per task, as SLURM does the
  throttling and a worker only waits for its task).
- ``run(spec, cancel_event, registry, ...)``, in each worker: follow one run
  to a final state (the runner's contract: a RunResult, or None when it was
  cancelled before it started).  A run not submitted in a batch is started here.
- ``run_seconds(snapshot)``: a run's time on the clock a ranking uses.
- ``close()``: after every worker, stop the launcher's threads.
"""

import collections
import importlib

from times_doctor.errors import UsageError

LAUNCHER_ENV_VAR = "TD_LAUNCHER"
DEFAULT = "local"

LauncherEntry = collections.namedtuple(
    "LauncherEntry", "name summary check factory reap reap_label task_command task_main "
    "queues arg_option arg_help")
LauncherEntry.__doc__ = """One launcher.

name: what --launcher and TD_LAUNCHER take, and the ``launcher`` key of a
    run record's ``launch`` field.
summary: a phrase for --help.
check(environ): raises UsageError when the launcher cannot run here.
factory(scan_id, threads, launcher_args, environ, batch_dir): the launcher
    object for one scan (the protocol above); batch_dir is where it may keep
    files of its own (paths.launch_dir).
reap(jobs, scan_id, uid, environ): end what a dead scan left with this
    launcher; jobs are the state file's unfinished entries whose ``launch``
    names it.  Returns (cancelled ids, {run name: why it was left alone}).
    None: the runs are local process groups, which reap ends itself.
reap_label: how reap's summary names what it cancelled ("SLURM job(s)").
task_command, task_main(argv): the hidden subcommand the launcher starts on
    another host, and its entry point (None: none).
queues: True when the launcher queues what does not fit (all of a
    --parallel scan's runs go in flight unless --max-workers caps them).
arg_option, arg_help: the scan option that passes arguments through to the
    launcher (None: none).
"""


def _lazy(module, attribute):
    """A function that imports *module* when called and calls its *attribute*."""
    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)
    call.__name__ = attribute
    return call


LAUNCHER_TABLE = collections.OrderedDict((entry.name, entry) for entry in (
    LauncherEntry(
        name="local", summary="this machine (default)",
        check=_lazy("times_doctor.launch.local", "check"),
        factory=_lazy("times_doctor.launch.local", "make"),
        reap=None, reap_label=None, task_command=None, task_main=None, queues=False,
        arg_option=None, arg_help=None),
    LauncherEntry(
        name="slurm",
        summary="SLURM: one job array per batch of profiles, or one job step per profile "
                "inside an allocation",
        check=_lazy("times_doctor.launch.slurm", "check_commands"),
        factory=_lazy("times_doctor.launch.slurm", "make"),
        reap=_lazy("times_doctor.launch.slurm", "reap"), reap_label="SLURM job(s)",
        task_command="_slurm-task", task_main=_lazy("times_doctor.launch.slurm_task", "main"),
        queues=True, arg_option="--slurm-arg",
        arg_help="extra sbatch/srun argument for every run, e.g. "
                 "--slurm-arg=--partition=long --slurm-arg=--time=04:00:00 (repeatable)"),
))
LAUNCHERS = tuple(LAUNCHER_TABLE)


def entry(name):
    """The table row of launcher *name* (KeyError for a name not in the table)."""
    return LAUNCHER_TABLE[name]


def choose_launcher(value, environ):
    """The launcher name from ``--launcher`` or TD_LAUNCHER (default local).

    Raises:
        UsageError: an unknown name, or a launcher that cannot run here
            (``slurm`` without SLURM's commands on PATH).
    """
    name = (value or environ.get(LAUNCHER_ENV_VAR) or DEFAULT).strip().lower()
    if name not in LAUNCHER_TABLE:
        raise UsageError("--launcher must be one of %s, got %r (env %s)"
                         % ("|".join(LAUNCHERS), name, LAUNCHER_ENV_VAR))
    LAUNCHER_TABLE[name].check(environ)
    return name


def make_launcher(name, scan_id, threads, launcher_args, environ, batch_dir=None):
    """The launcher called *name* for one scan (the table row's factory)."""
    return LAUNCHER_TABLE[name].factory(scan_id, threads, launcher_args, environ,
                                        batch_dir=batch_dir)


def task_entry(command):
    """The row whose hidden task subcommand is *command*, or None."""
    for row in LAUNCHER_TABLE.values():
        if row.task_command is not None and row.task_command == command:
            return row
    return None
