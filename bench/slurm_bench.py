"""SLURM launcher latencies for `make bench` (issue 13), beside the local launcher's.

A real cluster of three emulated nodes (tests/slurm_cluster.py: munged,
slurmctld, slurmd -N per node as root in a temporary folder) runs the marketsplit MIP under the GAMS under
test, one run at a time, through the same launcher object a scan's worker
uses (launch.local.LocalLauncher, launch.slurm.SlurmLauncher).  Per run:

- submit-to-running: launcher.run() called (the array of one is submitted by
  the launcher's poller) -> the run's record says RUNNING
  (for SLURM: sbatch, scheduling, slurmd, the task starting and writing its
  record, the scanner reading it);
- cancel-to-gone: registry.cancel() -> no process of the run left (GAMS, its
  shells and the solver, found by the run's marker in /proc; for SLURM also
  the task), and for SLURM -> the job gone from squeue;
- interrupt-to-final: request_action(interrupt) -> the record says
  INTERRUPTED (GAMS wrote its listing with the incumbent).

Full `make bench` only: it needs root and Debian's slurm-wlm and munge
(`make slurm`); without them the figures say why they are missing.
"""

import os
import shutil
import threading
import time

from proc_helpers import is_alive, marked_pids  # bench/run.py puts tests/ on sys.path
from times_doctor.launch import slurm as launch_slurm, table as launchers
from times_doctor.proc import procgroup
from times_doctor.job_control import ACTION_INTERRUPT, JobRegistry
from times_doctor.states import RunStatus

# How long one run may take to start or to end before the trial is abandoned.
TRIAL_SECONDS = 120.0


def bench_slurm(work, gams, spec_for, trials, interrupt_trials):
    """The figures for both launchers; *spec_for(work, gams, name)* builds a marketsplit RunSpec."""
    from slurm_cluster import SlurmCluster, cannot_run_reason
    reason = cannot_run_reason()
    if reason is not None:
        return {"skipped": reason}
    figures = {}
    with SlurmCluster() as cluster:
        env = cluster.env(os.environ)
        for name in ("local", "slurm"):
            launcher = launchers.make_launcher(name, "bench", 1, [], env)
            submit, gone, job_gone, interrupt = [], [], [], []
            for trial in range(trials + interrupt_trials):
                action = "cancel" if trial < trials else "interrupt"
                run_name = "%s%d" % (name, trial)
                spec = spec_for(work, gams, run_name)
                marker = "bench/%s" % run_name
                spec = spec._replace(env=dict(env, **{procgroup.JOB_ENV_VAR: marker}))
                result = _trial(launcher, spec, marker, action, cluster)
                submit.append(result["submit_to_running"])
                if action == "cancel":
                    gone.append(result["cancel_to_processes_gone"])
                    if "cancel_to_job_gone" in result:
                        job_gone.append(result["cancel_to_job_gone"])
                else:
                    interrupt.append(result["interrupt_to_final"])
                shutil.rmtree(os.path.join(work, run_name), ignore_errors=True)
            figures["%s_submit_to_running_ms" % name] = _summary(submit)
            figures["%s_cancel_to_processes_gone_ms" % name] = _summary(gone)
            if job_gone:
                figures["%s_cancel_to_job_gone_from_squeue_ms" % name] = _summary(job_gone)
            figures["%s_interrupt_to_final_ms" % name] = _summary(interrupt)
    figures["note"] = ("3-node test cluster on this machine (sched_interval=1), each run an array of one; the scanner "
                       "reads a SLURM run's record every %.1f s" % launch_slurm.POLL_SECONDS)
    return figures


def _trial(launcher, spec, marker, action, cluster):
    """One run: start it, wait for the solver, cancel or interrupt it; the times in ms."""
    registry = JobRegistry(default_grace_seconds=10)
    event = registry.register(spec.name, work_dir=spec.work_dir)
    stamps = {}

    def stamp(snap):
        stamps.setdefault(snap.status, time.perf_counter())

    registry.add_listener(stamp, status_only=True)
    holder = {}
    worker = threading.Thread(target=lambda: holder.setdefault("result", launcher.run(
        spec, event, registry, grace_seconds=10.0)))
    started = time.perf_counter()
    worker.start()
    _wait(lambda: RunStatus.RUNNING in stamps, "the run running")
    figures = {"submit_to_running": (stamps[RunStatus.RUNNING] - started) * 1000.0}
    # gams -> sh -> sh -> solver: the solver itself must be up.
    _wait(lambda: len(marked_pids(marker)) >= 4, "the solver started")
    time.sleep(0.3)
    launch = registry.get(spec.name).launch or {}  # None for a local run
    task_pid, job_id = launch.get("task_pid"), launch.get("job_id")
    requested = time.perf_counter()
    if action == "cancel":
        registry.cancel(spec.name)
        _wait(lambda: not marked_pids(marker) and not (task_pid and is_alive(task_pid)),
              "the run's processes gone",
              interval=0.002)
        figures["cancel_to_processes_gone"] = (time.perf_counter() - requested) * 1000.0
        if job_id is not None:
            _wait(lambda: not cluster.run(["squeue", "-h", "-j", job_id, "-o", "%i"],
                                          check=False).strip(), "the job gone from squeue",
                  interval=0.01)
            figures["cancel_to_job_gone"] = (time.perf_counter() - requested) * 1000.0
    else:
        registry.request_action(spec.name, ACTION_INTERRUPT)
        _wait(lambda: RunStatus.INTERRUPTED in stamps or not worker.is_alive(),
              "the run interrupted")
        if RunStatus.INTERRUPTED not in stamps:
            raise RuntimeError("%s ended %s, not interrupted" % (
                spec.name, registry.get(spec.name).status))
        figures["interrupt_to_final"] = (stamps[RunStatus.INTERRUPTED] - requested) * 1000.0
    worker.join(TRIAL_SECONDS)
    return figures


def _wait(condition, what, interval=0.02):
    deadline = time.monotonic() + TRIAL_SECONDS
    while not condition():
        if time.monotonic() >= deadline:
            raise RuntimeError("bench: timed out waiting for %s" % what)
        time.sleep(interval)


def _summary(values):
    import statistics
    values = sorted(values)
    if not values:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "n": len(values)}
