"""What a SLURM scan asks of slurmctld, counted with sdiag (`make bench`, full only).

A real cluster of three emulated nodes (tests/slurm_cluster.py) runs scans
the way a user starts them (`python -m times_doctor scan --launcher slurm`,
the fake GAMS's `sleep` runs), for this tree (200 profiles) and, side by
side, for the one-job-per-profile launcher of git BASELINE (16 profiles):

- run: every profile to its end; RPCs the scan sent per profile and per
  second of the scan (sdiag reset before, read after; slurmd's own
  completion, epilog and registration messages and sdiag's own request left
  out: the scan does not send them);
- cancel: long profiles; submit-to-all-running (scan started -> every node
  runs one of them, from the state file), then `times-doctor cancel --all`
  -> none of the scan's jobs left in squeue (cancel-all-to-queue-empty).

Needs root and Debian's slurm-wlm and munge (`make slurm`); without them the
figures say why they are missing.
"""

import os
import shutil
import subprocess
import sys
import time

from proc_helpers import wait_until  # bench/run.py puts tests/ on sys.path

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FAKE_GAMS = os.path.join(REPO, "tests", "fakegams", "gams")
BASELINE = "b89039a"

# Messages slurmd and the tools send, not the scan.
NOT_THE_SCAN = ("REQUEST_COMPLETE_BATCH_SCRIPT", "MESSAGE_EPILOG_COMPLETE",
                "MESSAGE_NODE_REGISTRATION_STATUS", "REQUEST_STATS_INFO",
                "REQUEST_COMPLETE_PROLOG", "REQUEST_STEP_COMPLETE")
SCAN_SECONDS = 900.0


def bench_slurm_scale(work, package_roots, profiles=200, baseline_profiles=16,
                      run_seconds=0.5):
    """Figures for this tree and the baseline; *package_roots(ref)* as bench/run.py's."""
    from slurm_cluster import SlurmCluster, cannot_run_reason
    reason = cannot_run_reason()
    if reason is not None:
        return {"skipped": reason}
    figures = {"profiles": profiles, "baseline_profiles": baseline_profiles,
               "nodes": "3 emulated nodes of 1 CPU on this machine",
               "left_out": ", ".join(NOT_THE_SCAN)}
    with SlurmCluster() as cluster:
        for label, root in package_roots(BASELINE):
            count = profiles if label == "new" else baseline_profiles
            prefix = "" if label == "new" else label + ": "
            figures.update(_prefixed(prefix, _run_all(work, cluster, root, label, count,
                                                      run_seconds)))
            figures.update(_prefixed(prefix, _cancel_all(work, cluster, root, label, count)))
    figures["goal"] = "<= 1 RPC/s from the scan whatever the profiles; 1 submission per array"
    return figures


def _prefixed(prefix, figures):
    return dict((prefix + key, value) for key, value in figures.items())


def _run_all(work, cluster, root, label, count, run_seconds):
    out, command, env = _scan(work, cluster, root, label + "_run", count,
                              "sleep %s" % run_seconds)
    cluster.reset_rpc_counts()
    started = time.monotonic()
    code = subprocess.call(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env, cwd=os.path.dirname(out),
                           timeout=SCAN_SECONDS)
    wall = time.monotonic() - started
    by_type, _by_user = cluster.rpc_counts()
    rpcs = sum(n for kind, n in by_type.items() if kind not in NOT_THE_SCAN)
    shutil.rmtree(out, ignore_errors=True)
    return {"run: exit code": code, "run: scan seconds": round(wall, 1),
            "run: RPCs from the scan": rpcs,
            "run: RPCs per profile": round(rpcs / float(count), 3),
            "run: RPCs per second": round(rpcs / wall, 3),
            "run: submissions (REQUEST_SUBMIT_BATCH_JOB)": by_type.get(
                "REQUEST_SUBMIT_BATCH_JOB", 0),
            "run: by message type": dict((kind, n) for kind, n in by_type.items()
                                         if kind not in NOT_THE_SCAN)}


def _cancel_all(work, cluster, root, label, count):
    out, command, env = _scan(work, cluster, root, label + "_cancel", count, "sleep 600")
    state_path = os.path.join(out, "times_doctor_out", "scan_runs", "scan_state.json")
    slots = min(count, len(cluster.nodes))
    started = time.monotonic()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, cwd=os.path.dirname(out))
    try:
        wait_until(lambda: _running(state_path) >= slots, 300,
                   message="%s: every node running a profile" % label, process=proc)
        all_running = time.monotonic() - started
        time.sleep(3.0)  # settled: the other profiles queued
        queued = len(cluster.job_ids())
        asked = time.monotonic()
        subprocess.check_call([sys.executable, "-m", "times_doctor", "cancel", out, "--all",
                               "--grace-seconds", "2"], stdout=subprocess.DEVNULL,
                              env=env, cwd=os.path.dirname(out))
        wait_until(lambda: not cluster.job_ids(), 120, interval=0.05,
                   message="%s: the queue empty" % label)
        emptied = time.monotonic() - asked
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        cluster.run(["scancel", "--user", "root"], check=False)
    shutil.rmtree(out, ignore_errors=True)
    return {"cancel: submit to every node running, s": round(all_running, 2),
            "cancel: jobs in the queue when cancelled": queued,
            "cancel: cancel --all to queue empty, s": round(emptied, 2)}


def _running(state_path):
    import json
    try:
        with open(state_path) as handle:
            jobs = json.load(handle)["jobs"]
    except (IOError, OSError, ValueError, KeyError):
        return 0  # not written yet, or caught mid-replace
    return sum(1 for job in jobs if job.get("status") == "running")


def _scan(work, cluster, root, tag, count, directive):
    """(out dir, the scan's argv, its environment) for *count* fake-GAMS profiles."""
    base = os.path.join(work, "slurm_scale_" + tag.replace(" ", "_"))
    run_dir, opt_dir, out = (os.path.join(base, name) for name in ("run", "opts", "out"))
    for folder in (run_dir, opt_dir, out):
        os.makedirs(folder)
    with open(os.path.join(run_dir, "model.gms"), "w") as handle:
        handle.write("* FAKE: %s\n" % directive)
    names = ["p%03d" % index for index in range(count)]
    for name in names:
        with open(os.path.join(opt_dir, name + ".opt"), "w") as handle:
            handle.write("lpmethod 2\n")
    env = cluster.env(os.environ)
    env["PYTHONPATH"] = root
    env["FAKE_GAMS_PYTHON"] = sys.executable
    env["XDG_RUNTIME_DIR"] = base
    command = [sys.executable, "-m", "times_doctor", "scan", run_dir, "--gams-path", FAKE_GAMS,
               "--opt-dir", opt_dir, "--profiles", ",".join(names), "--threads", "1",
               "--parallel", "--launcher", "slurm", "--no-preflight", "--grace-seconds", "2",
               "--out", out, "--yes"]
    return out, command, env
