"""times-doctor benchmarks: `make bench` (full) and `make bench-quick`.

Prints a table and writes bench/results.json.  Every figure is a median over
repeated trials with min/max (the machines are noisy); comparisons are
measured side by side in the same run.  Targets are reported, never asserted:
this is not a test.

Usage: python bench/run.py [--quick] [--gams PATH] [--only NAME[,NAME]] [--baseline REF]
"""

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, HERE)

from times_doctor.proc import procgroup  # noqa: E402 (sys.path above)
from times_doctor.job_control import (JobRegistry,  # noqa: E402 (sys.path above)
                                      _terminate_process_group, create_process_group_kwargs)
from times_doctor.run.runner import RunSpec, run_gams_with_progress  # noqa: E402 (sys.path above)
from times_doctor.scan.plan import ScanConfig, plan_scan  # noqa: E402 (sys.path above)
from times_doctor.scan.scanner import Scan  # noqa: E402 (sys.path above)
from gams_select import gams_for_tools  # noqa: E402 (sys.path above)
from ranking_bench import bench_ranking  # noqa: E402 (sys.path above)


def summarise(values):
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "n": len(values)}


def percentile(values, fraction):
    values = sorted(values)
    index = min(len(values) - 1, max(0, int(round(fraction * (len(values) - 1)))))
    return values[index]


def disk_bytes(root):
    """Allocated bytes (st_blocks), not apparent size: sparse files count as what they use."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


# -- 1. setup -----------------------------------------------------------------

def bench_setup(work, trials, gams, baseline_profiles):
    """24 profiles over a run dir with 2 GB of sparse data files."""
    run_dir = os.path.join(work, "setup_run")
    os.makedirs(run_dir)
    for index in range(8):
        with open(os.path.join(run_dir, "data%d.dd" % index), "wb") as handle:
            handle.truncate(256 * 1024 * 1024)  # sparse: 2 GB apparent in total
    with open(os.path.join(run_dir, "model.run"), "w") as handle:
        handle.write("".join("$include data%d.dd\n" % i for i in range(8)))
    opt_dir = os.path.join(work, "opts")
    os.makedirs(opt_dir)
    for index in range(24):
        with open(os.path.join(opt_dir, "p%02d.opt" % index), "w") as handle:
            handle.write("lpmethod %d\n" % (index % 6 + 1))
    names = ",".join("p%02d" % index for index in range(24))
    times, disks = [], []
    for trial in range(trials):
        out = os.path.join(work, "setup_out%d" % trial)
        config = ScanConfig(
            run_dir=run_dir, gams_path=gams, driver=None, times_src=None, solver="cplex",
            profiles=[names], opt_dir=opt_dir, threads="4", parallel=False, max_workers=None,
            timeout_seconds="0", grace_seconds="10", gams_args=[], out=out, yes=True,
            no_color=True, debug=False)
        plan = plan_scan(config)
        started = time.perf_counter()
        scan = Scan(plan, stdout=open(os.devnull, "w"))
        # What Scan.run() does before the workers start: fingerprints (issue
        # 12: every scan records them, resumed or not), then the work dirs.
        scan._prepare(scan._decide_resume())
        times.append(time.perf_counter() - started)
        disks.append(disk_bytes(os.path.join(out, "times_doctor_out")) / 24.0)
        shutil.rmtree(out)
    # Baseline: what the original tool did, a full copy of the run dir per
    # profile.  Copying 24 x 2 GB would take minutes and 48 GB of disk, so a
    # few profiles are copied and the per-profile figures compared.
    base_times, base_disk = [], []
    for index in range(baseline_profiles):
        target = os.path.join(work, "baseline%d" % index)
        started = time.perf_counter()
        shutil.copytree(run_dir, target)
        base_times.append(time.perf_counter() - started)
        base_disk.append(disk_bytes(target))
        shutil.rmtree(target)
    shutil.rmtree(run_dir)
    per_profile = statistics.median(times) / 24.0
    return {
        "setup_24_profiles_seconds": summarise(times),
        "extra_disk_bytes_per_profile": summarise(disks),
        "baseline_copy_seconds_per_profile": summarise(base_times),
        "baseline_copy_disk_bytes_per_profile": summarise(base_disk),
        "speedup_per_profile_vs_copy": statistics.median(base_times) / per_profile,
        "target": "setup < 1 s for 24 profiles, < 1 MB extra disk per profile",
    }


# -- 2. cancel latency (real GAMS) ----------------------------------------------

def market_split_spec(work, gams, name):
    from times_doctor.gams import rundir
    from times_doctor.solvers import profiles
    model_dir = os.path.join(REPO, "tests", "models", "marketsplit")
    driver = rundir.find_driver(model_dir)
    profile = profiles.resolve_profiles("cplex", ["dual"])[0]
    prepared = rundir.prepare_work_dir(os.path.join(work, name), "cplex", "dual", driver,
                                       profiles.render_option_file(profile, 1), "cplex.opt")
    command = rundir.gams_command(gams, os.path.basename(prepared.driver_copy), model_dir, None,
                                  "cplex", "dual", "dual_run_log.txt", ["solvelink=0"])
    env = dict(os.environ)
    env[procgroup.JOB_ENV_VAR] = "bench/%s" % name
    stem = os.path.splitext(os.path.basename(driver))[0]
    return RunSpec(name, "cplex", profile, prepared.path, command,
                   os.path.join(prepared.path, "dual_run_log.txt"),
                   os.path.join(prepared.path, stem + ".lst"), env)


def bench_cancel_latency(work, trials, gams):
    """Request -> last process of the run's session gone, one cooperative GAMS run."""
    groups = procgroup.current()
    latencies = []
    for trial in range(trials):
        registry = JobRegistry(default_grace_seconds=10)
        spec = market_split_spec(work, gams, "lat%d" % trial)
        event = registry.register(spec.name)
        holder = {}
        worker = threading.Thread(target=lambda: holder.setdefault(
            "result", run_gams_with_progress(spec, event, registry)))
        worker.start()
        # Wait for the solver itself (gams -> sh -> sh -> solver) to be up.
        deadline = time.monotonic() + 60
        ref = None
        while time.monotonic() < deadline:
            ref = registry.group_of(spec.name)
            if ref is not None and len(groups.survivors(ref)) >= 4:
                break
            time.sleep(0.02)
        time.sleep(0.3)
        requested = time.perf_counter()
        registry.cancel(spec.name)
        while groups.survivors(ref):
            time.sleep(0.0005)
        latencies.append((time.perf_counter() - requested) * 1000.0)
        worker.join()
        shutil.rmtree(os.path.join(work, "lat%d" % trial), ignore_errors=True)
    return {
        "cancel_latency_ms": summarise(latencies),
        "cancel_latency_p50_ms": percentile(latencies, 0.5),
        "cancel_latency_p99_ms": percentile(latencies, 0.99),
        "target": "p99 < 100 ms",
    }


# -- 3. cancel-all of stubborn runs -----------------------------------------------

STUBBORN = r"""
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
for i in range(2):
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
        os._exit(0)
sys.stdout.write("up\n"); sys.stdout.flush()
time.sleep(600)
"""


def bench_cancel_all(trials, runs=16, grace=2.0):
    groups = procgroup.current()
    totals = []
    for _ in range(trials):
        jobs = []
        for _ in range(runs):
            popen = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE,
                                     **create_process_group_kwargs())
            popen.stdout.readline()
            jobs.append((popen, groups.attach(popen, None)))
        started = time.perf_counter()
        threads = [threading.Thread(target=_terminate_process_group, args=(ref, grace, groups))
                   for _, ref in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while any(groups.survivors(ref) for _, ref in jobs):
            time.sleep(0.005)
        totals.append(time.perf_counter() - started)
        for popen, ref in jobs:
            groups.reap(ref, popen)
            popen.stdout.close()
    return {
        "cancel_all_16_stubborn_seconds": summarise(totals),
        "one_by_one_estimate_seconds": runs * grace,
        "target": "< 2.5 s with grace 2 s",
    }


# -- 4. monitor overhead ----------------------------------------------------------

def _proc_cpu_seconds(pid):
    """utime + stime of *pid* itself (not its children), from /proc."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / float(ticks)


def _proc_rss_kib(pid, key):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _opt_dir(work, count, name):
    folder = os.path.join(work, name)
    os.makedirs(folder)
    for index in range(count):
        with open(os.path.join(folder, "p%03d.opt" % index), "w") as handle:
            handle.write("lpmethod 2\n")
    return folder, ",".join("p%03d" % index for index in range(count))


def _fake_run_dir(work, name, directives):
    folder = os.path.join(work, name)
    os.makedirs(folder)
    with open(os.path.join(folder, "model.gms"), "w") as handle:
        handle.write("".join("* FAKE: %s\n" % line for line in directives))
    return folder


FAKE_GAMS = os.path.join(REPO, "tests", "fakegams", "gams")


def _scan_command(run_dir, opt_dir, names, workers, out):
    return [sys.executable, "-m", "times_doctor", "scan", run_dir, "--gams-path", FAKE_GAMS,
            "--opt-dir", opt_dir, "--profiles", names, "--threads", "1", "--parallel",
            "--max-workers", str(workers), "--out", out, "--yes"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO
    env["FAKE_GAMS_PYTHON"] = sys.executable
    return env


def _baseline_rereader(paths, stop, interval, cpu_out):
    """What the original tool did: re-read and re-parse each whole log every poll."""
    from times_doctor.solvers.table import SolverLogParser
    started = time.thread_time()
    peak_bytes = 0
    while not stop.wait(interval):
        for path in paths:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except IOError:
                continue
            peak_bytes = max(peak_bytes, len(data))
            parser = SolverLogParser("cplex")
            for line in data.decode("utf-8", "replace").splitlines():
                parser.feed(line)
    cpu_out.append(time.thread_time() - started)
    cpu_out.append(peak_bytes)


def bench_monitor(work, seconds, runs=16, rate=2000):
    opt_dir, names = _opt_dir(work, runs, "mon_opts")
    run_dir = _fake_run_dir(work, "mon_run", ["cplex-log %d %d barrier" % (rate, seconds)])
    out = os.path.join(work, "mon_out")
    proc = subprocess.Popen(_scan_command(run_dir, opt_dir, names, runs, out),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env())
    logs = [os.path.join(out, "times_doctor_out", "scan_runs", "cplex", "p%03d" % index,
                         "p%03d_run_log.txt" % index) for index in range(runs)]
    stop = threading.Event()
    baseline = []
    reader = threading.Thread(target=_baseline_rereader, args=(logs, stop, 0.5, baseline))
    time.sleep(3.0)  # start-up: imports, work dirs, 16 process starts
    cpu0, wall0 = _proc_cpu_seconds(proc.pid), time.monotonic()
    rss0 = _proc_rss_kib(proc.pid, "VmRSS")
    reader.start()
    samples = []
    while proc.poll() is None:
        try:
            samples.append((time.monotonic(), _proc_cpu_seconds(proc.pid),
                            _proc_rss_kib(proc.pid, "VmRSS")))
        except (IOError, OSError, IndexError, ValueError):
            break  # exited between poll() and the read
        time.sleep(0.5)
    stop.set()
    reader.join()
    proc.wait()
    # Measure over the steady part only: until the logs stop growing.
    steady = [s for s in samples if s[0] - wall0 <= seconds - 4]
    wall1, cpu1, _ = steady[-1]
    scanner_cpu = cpu1 - cpu0
    wall = wall1 - wall0
    rss_peak = max(s[2] for s in samples)
    log_bytes = sum(os.path.getsize(path) for path in logs if os.path.exists(path))
    share = scanner_cpu / wall
    return {
        "runs": runs, "lines_per_second_per_run": rate, "seconds": seconds,
        "scanner_cpu_share_of_one_core": share,
        "scanner_rss_start_kib": rss0,
        "scanner_rss_peak_kib": rss_peak,
        "scanner_rss_growth_kib": rss_peak - rss0,
        "log_bytes_total": log_bytes,
        "baseline_reread_cpu_share": baseline[0] / (wall + 4),
        "baseline_to_tail_cpu_ratio": (baseline[0] / (wall + 4)) / share if share else None,
        "target": "< 2% of a core and RSS growth < 10 MB",
    }


# -- 4b. monitor and cancel-all measured from outside the scanner ---------------
#
# The figures above come from inside (the bench's own writer, its own
# threads).  These run the scanner as a user does, `python -m times_doctor
# scan`, and measure the whole process from outside: CPU time (utime + stime
# of every thread) from /proc/<pid>/stat over a window after a warm-up, and
# the wall time from a SIGTERM to "the scanner has exited and no process of
# any run is left".  With --baseline REF the same trials also run the
# package as of git REF, interleaved, so old and new are measured side by
# side under the same load.

MONITOR_WRITERS = {
    # name: the fake GAMS directive (16 runs x 2,000 barrier rows/s unless said)
    "steady": "cplex-log 2000 {seconds} barrier",
    "bursty": "cplex-log 2000 {seconds} barrier burst 100",  # 100 rows every 50 ms
    # 100 kB lines (longer than the tail's 64 KiB line limit), 2 a second
    "long_lines": "cplex-log 2 {seconds} barrier pad 100000",
}


def _package_roots(work, baseline):
    """[(label, folder holding times_doctor/)]: this tree, and git *baseline* when given."""
    roots = [("new", REPO)]
    if baseline:
        folder = os.path.join(work, "baseline_src_" + baseline.replace("/", "_"))
        roots.insert(0, ("old %s" % baseline, folder))
        if os.path.isdir(folder):
            return roots  # exported already for another bench of this run
        os.makedirs(folder)
        archive = subprocess.Popen(["git", "-C", REPO, "archive", baseline, "times_doctor"],
                                   stdout=subprocess.PIPE)
        subprocess.check_call(["tar", "-x", "-C", folder], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0:
            raise RuntimeError("git archive %s failed" % baseline)
    return roots


def _outside_env(package_root):
    env = _env()
    env["PYTHONPATH"] = package_root
    return env


def _outside_scan(package_root, run_dir, opt_dir, names, runs, out, grace):
    command = _scan_command(run_dir, opt_dir, names, runs, out) + [
        "--grace-seconds", str(grace), "--no-preflight"]
    # cwd: `python -m` puts the current folder first on sys.path, which
    # would import this tree's package whatever PYTHONPATH says.
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_outside_env(package_root),
                            cwd=os.path.dirname(out), start_new_session=True)


def _proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _proc_run_ns(pid):
    """Nanoseconds on a CPU, summed over the live threads of *pid* (schedstat).

    utime + stime are sampled at the clock tick: a thread that wakes for
    0.3 ms twice a second may be charged 0 or 10 ms, so with 30 such threads
    they swing by a third between trials.  The scheduler's own count is
    exact; both are reported.
    """
    total = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as handle:
                total += int(handle.read().split()[0])
        except (IOError, OSError):
            pass  # the thread ended between the listing and the read
    return total


def _outside_monitor_trial(work, tag, package_root, writer, warmup, window, runs=16):
    """Scanner CPU share of one core over *window* seconds after *warmup*."""
    seconds = warmup + window + 2
    opt_dir, names = _opt_dir(work, runs, "omon_opts_%s" % tag)
    run_dir = _fake_run_dir(work, "omon_run_%s" % tag,
                            [MONITOR_WRITERS[writer].format(seconds=seconds)])
    out = os.path.join(work, "omon_out_%s" % tag)
    proc = _outside_scan(package_root, run_dir, opt_dir, names, runs, out, 0)
    try:
        time.sleep(warmup)
        ticks0, ns0, wall0 = _proc_cpu_ticks(proc.pid), _proc_run_ns(proc.pid), time.monotonic()
        time.sleep(window)
        ticks1, ns1, wall1 = _proc_cpu_ticks(proc.pid), _proc_run_ns(proc.pid), time.monotonic()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    shutil.rmtree(out, ignore_errors=True)
    wall = wall1 - wall0
    return ((ticks1 - ticks0) / float(os.sysconf("SC_CLK_TCK")) / wall,
            (ns1 - ns0) / 1e9 / wall)


def bench_monitor_outside(work, trials, warmup, window, baseline=None):
    roots = _package_roots(work, baseline)
    shares = dict(((label, writer), []) for label, _ in roots for writer in MONITOR_WRITERS)
    for trial in range(trials):
        for writer in MONITOR_WRITERS:
            for index, (label, root) in enumerate(roots):
                tag = "%d_%s_%d" % (trial, writer, index)
                shares[(label, writer)].append(
                    _outside_monitor_trial(work, tag, root, writer, warmup, window))
    figures = {}
    for (label, writer), values in sorted(shares.items(), key=lambda item: item[0][1]):
        figures["%s: %s, %% of a core (utime+stime)" % (label, writer)] = summarise(
            [ticks * 100.0 for ticks, _ in values])
        figures["%s: %s, %% of a core (schedstat)" % (label, writer)] = summarise(
            [exact * 100.0 for _, exact in values])
    figures["window"] = "scanner process CPU (all threads) over %g s after %g s" % (
        window, warmup)
    figures["target"] = "< 1 % of a core for every writer"
    return figures


def _job_processes(sids):
    """Live (non-zombie) pids whose session is one of *sids*."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (IOError, OSError):
            continue
        if fields[0] != "Z" and int(fields[3]) in sids:
            found.append(int(name))
    return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (IOError, OSError):
        return False


def _outside_cancel_trial(work, tag, package_root, runs, grace):
    """SIGTERM to a scanner of *runs* stubborn runs: (to exit, to last process gone)."""
    opt_dir, names = _opt_dir(work, runs, "ocan_opts_%s" % tag)
    run_dir = _fake_run_dir(work, "ocan_run_%s" % tag,
                            ["ignore-term", "grandchildren 2 600", "sleep 600"])
    out = os.path.join(work, "ocan_out_%s" % tag)
    proc = _outside_scan(package_root, run_dir, opt_dir, names, runs, out, grace)
    logs = [os.path.join(out, "times_doctor_out", "scan_runs", "cplex", "p%03d" % index,
                         "p%03d_run_log.txt" % index) for index in range(runs)]
    pids = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = []
        for path in logs:
            try:
                with open(path) as handle:
                    text = handle.read()
            except IOError:
                break
            found = [int(line.split()[-1]) for line in text.splitlines()
                     if line.startswith("--- fake: grandchild pid")]
            if len(found) < 2:
                break
            pids.extend(found)
        else:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("cancel-all bench: the runs did not start")
    sids = set(os.getsid(pid) for pid in pids)
    pids.extend(sids)  # the leaders: each run's session id is its gams pid
    time.sleep(0.5)
    exited = []
    waiter = threading.Thread(target=lambda: (proc.wait(), exited.append(time.perf_counter())))
    waiter.start()
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    remaining = list(pids)
    last_gone = None
    while remaining:
        remaining = [pid for pid in remaining if _alive(pid)]
        if not remaining:
            last_gone = time.perf_counter()
            break
        time.sleep(0.002)
    waiter.join()
    left = _job_processes(sids)
    rc = proc.returncode
    csv_rows = 0
    report = os.path.join(out, "times_doctor_out", "scan_report.csv")
    if os.path.exists(report):
        with open(report) as handle:
            csv_rows = max(0, len(handle.read().splitlines()) - 1)
    with open(os.path.join(out, "times_doctor_out", "scan_runs", "scan_state.json")) as handle:
        state = json.load(handle)
    shutil.rmtree(out, ignore_errors=True)
    return {"to_exit": exited[0] - started, "to_last_gone": last_gone - started,
            "left": len(left), "rc": rc, "csv_rows": csv_rows,
            "state_finished": bool(state.get("finished")),
            "state_cancelled": sum(1 for job in state["jobs"] if job["status"] == "cancelled")}


def bench_cancel_all_outside(work, trials, runs=16, grace=2.0, baseline=None):
    roots = _package_roots(work, baseline)
    figures = {}
    results = dict((label, []) for label, _ in roots)
    for trial in range(trials):
        for index, (label, root) in enumerate(roots):
            results[label].append(_outside_cancel_trial(
                work, "%d_%d" % (trial, index), root, runs, grace))
    for label, trials_out in results.items():
        figures["%s: signal to exit and no survivor, s" % label] = summarise(
            [max(t["to_exit"], t["to_last_gone"]) for t in trials_out])
        figures["%s: signal to last process gone, s" % label] = summarise(
            [t["to_last_gone"] for t in trials_out])
        figures["%s: checks (left, rc, csv rows, state finished, cancelled)" % label] = \
            sorted(set((t["left"], t["rc"], t["csv_rows"], t["state_finished"],
                        t["state_cancelled"]) for t in trials_out))
    figures["target"] = "grace + 0.2 s = %.1f s" % (grace + 0.2)
    return figures


# -- 5. scale --------------------------------------------------------------------

def _pty_capture(argv, env, rows=40, cols=160, cwd=None):
    """Run *argv* in a pty (in *cwd*); return (bytes written to the terminal, wall seconds, rc)."""
    import pty
    import select
    import fcntl
    import struct
    import termios
    started = time.monotonic()
    pid, master = pty.fork()
    if pid == 0:
        if cwd is not None:
            os.chdir(cwd)
        os.execve(argv[0], argv, env)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    total = 0
    while True:
        readable, _, _ = select.select([master], [], [], 1.0)
        if readable:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            total += len(chunk)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return total, time.monotonic() - started, os.WEXITSTATUS(status)


def bench_scale(work, trials, runs=200, workers=16, sleep_seconds=0.5, baseline=None):
    """200 short runs through 16 workers in a pty: the scanner's cost per run over the ideal.

    Medians over *trials* (with --baseline, the old package's trials are
    interleaved with the new one's, as in the *_outside benches).
    """
    run_dir = _fake_run_dir(work, "scale_run", ["sleep %s" % sleep_seconds])
    # The cost of one fake run on its own (interpreter start included), so
    # the ideal below charges the scanner only for what it adds.
    single = []
    for index in range(5):
        out = os.path.join(work, "scale_single%d" % index)
        os.makedirs(out)
        started = time.monotonic()
        subprocess.check_call([FAKE_GAMS, os.path.join(run_dir, "model.gms"), "lo=0"],
                              cwd=out, env=_env())
        single.append(time.monotonic() - started)
    one_run = statistics.median(single)
    opt_dir, names = _opt_dir(work, runs, "scale_opts")
    waves = -(-runs // workers)
    ideal = waves * one_run
    roots = _package_roots(work, baseline)
    measured = dict((label, []) for label, _ in roots)
    for trial in range(trials):
        for index, (label, root) in enumerate(roots):
            env = _outside_env(root)
            env["TERM"] = "xterm"
            out = os.path.join(work, "scale_out_%d_%d" % (trial, index))
            os.makedirs(out)
            # cwd: `python -m` would import the package of the current folder first.
            written, wall, code = _pty_capture(
                _scan_command(run_dir, opt_dir, names, workers, out), env, cwd=out)
            measured[label].append((wall, written, code))
            shutil.rmtree(out, ignore_errors=True)
    figures = {"runs": runs, "max_workers": workers, "trials": trials,
               "one_fake_run_seconds": one_run, "ideal_seconds": ideal}
    for label, values in measured.items():
        prefix = "" if label == "new" else label + ": "
        figures[prefix + "exit_codes"] = sorted(set(code for _, _, code in values))
        figures[prefix + "scan_wall_seconds"] = summarise([wall for wall, _, _ in values])
        figures[prefix + "overhead_ms_per_run"] = summarise(
            [(wall - ideal) * 1000.0 / runs for wall, _, _ in values])
        figures[prefix + "terminal_bytes_per_second"] = summarise(
            [written / wall for wall, written, _ in values])
    figures["target"] = "< 5 ms per run and < 20 kB/s to the terminal"
    return figures


# -- 6. real TIMES-style scan -------------------------------------------------------

def bench_times_style(work, gams, trials):
    model = os.path.join(REPO, "tests", "models", "times_style")
    profiles = "dual,primal,sift,bar,bar_nox,concurrent"
    figures = {}
    for mode in ("sequential", "parallel"):
        walls = []
        for trial in range(trials):
            out = os.path.join(work, "times_%s_%d" % (mode, trial))
            cmd = [sys.executable, "-m", "times_doctor", "scan", model, "--gams-path", gams,
                   "--times-src", os.path.join(model, "times_src"), "--profiles", profiles,
                   "--threads", "1", "--out", out, "--yes"]
            if mode == "parallel":
                cmd += ["--parallel", "--max-workers", str(os.cpu_count() or 2)]
            started = time.monotonic()
            code = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   env=_env())
            walls.append(time.monotonic() - started)
            if code != 0:
                raise RuntimeError("times-style %s scan exited %d" % (mode, code))
        figures["%s_wall_seconds" % mode] = summarise(walls)
    figures["speedup"] = (figures["sequential_wall_seconds"]["median"]
                          / figures["parallel_wall_seconds"]["median"])
    return figures


def bench_preflight(trials, gams):
    """The scan's preflight (GAMS banner, licence, one LP per solver, option files), warm."""
    from times_doctor.scan import check
    model = os.path.join(REPO, "tests", "models", "transport")
    figures = {}
    for solver in ("cplex", "both"):
        config = ScanConfig(
            run_dir=model, gams_path=gams, driver=None, times_src=None, solver=solver,
            profiles=None, opt_dir=None, threads="1", parallel=False, max_workers=None,
            timeout_seconds="0", grace_seconds="10", gams_args=[], out=None, yes=True,
            no_color=True, debug=False)
        plan = plan_scan(config)
        check.preflight(plan)  # warm-up: imports, the solver libraries' first load
        times = []
        for _ in range(trials):
            started = time.perf_counter()
            check.preflight(plan)
            times.append(time.perf_counter() - started)
        figures["%s_seconds" % solver] = summarise(times)
    figures["target"] = "< 1 s on a warm machine"
    return figures


def bench_report_render(work, trials, runs=24, hours=8.0, read_seconds=0.5):
    """scan_report.html for 24 profiles of 8-hour runs: series writing, file sizes, render.

    Each run's series is fed one point per log read (every 0.5 s) for 8 hours
    of barrier then crossover, as the runner does; the page is then loaded
    (state, CSV, series) and rendered as at every CSV rewrite.
    """
    import tracemalloc
    from times_doctor.report import html_page as report_html, page as report_page
    from times_doctor.report.csvreport import render_csv
    from times_doctor.run.series import SeriesWriter, series_path
    out_dir = os.path.join(work, "report-bench")
    out_root = os.path.join(out_dir, "times_doctor_out")
    rows = []
    write_times = []
    steps = int(hours * 3600 / read_seconds)
    for index in range(runs):
        name = "p%02d" % index
        work_dir = os.path.join(out_root, "scan_runs", "cplex", name)
        os.makedirs(work_dir)
        writer = SeriesWriter(series_path(work_dir), name, "cplex")
        started = time.perf_counter()
        for step in range(steps):
            phase = "barrier" if step < steps * 0.7 else "crossover"
            writer.add(step * read_seconds, phase, {
                "iteration": step, "objective": 100.0 + index + 1.0 / (1 + step),
                "primal_obj": 100.0 + 1.0 / (1 + step), "dual_obj": 100.0 - 1.0 / (1 + step),
                "primal_inf": 1.0 / (1 + step), "dual_inf": 0.5 / (1 + step)},
                final=step == steps - 1)
        writer.close()
        write_times.append(time.perf_counter() - started)
        rows.append({"profile": name, "solver": "cplex", "status": "completed",
                     "model_status": "1 Optimal", "objective": repr(100.0 + index),
                     "runtime_seconds": "%.3f" % (hours * 3600), "gams_rc": "0",
                     "dir": work_dir, "lst": ""})
    with open(os.path.join(out_root, "scan_report.csv"), "w") as handle:
        handle.write(render_csv(rows))
    series_bytes = [os.path.getsize(series_path(row["dir"])) for row in rows]
    render_times = []
    for _ in range(trials):
        started = time.perf_counter()
        page = report_html.render(report_page.load_report(out_dir))
        render_times.append(time.perf_counter() - started)
    tracemalloc.start()
    report_html.render(report_page.load_report(out_dir))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"series_write_seconds_per_8h_run": summarise(write_times),
            "series_file_kib": summarise([size / 1024.0 for size in series_bytes]),
            "load_and_render_seconds": summarise(render_times),
            "page_kib": len(page.encode("utf-8")) / 1024.0,
            "render_peak_python_mib": peak / (1024.0 * 1024.0)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gams")
    parser.add_argument("--only")
    parser.add_argument("--baseline", metavar="REF",
                        help="also run the *_outside and scale benches on the package as "
                             "of git REF")
    args = parser.parse_args(argv)
    try:
        gams, gams_under_test = gams_for_tools(args.gams)
    except SystemExit as error:
        sys.stderr.write("bench: %s\n" % error)
        return 2
    sys.stdout.write("GAMS under test: %s\n" % gams_under_test)
    only = set(args.only.split(",")) if args.only else None
    quick = args.quick
    results = {
        "machine": {"host": socket.gethostname(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "quick" if quick else "full",
        "gams_under_test": gams_under_test,
        "figures": {},
    }
    work = tempfile.mkdtemp(prefix="td-bench-")
    try:
        benches = [
            ("setup", lambda: bench_setup(work, 3 if quick else 10, gams, 1 if quick else 2)),
            ("cancel_latency", lambda: bench_cancel_latency(work, 8 if quick else 50, gams)),
            ("cancel_all", lambda: bench_cancel_all(1 if quick else 5)),
            ("monitor", lambda: bench_monitor(work, 30 if quick else 60)),
            ("monitor_outside", lambda: bench_monitor_outside(
                work, 1 if quick else 3, 4.0, 6.0 if quick else 10.0, args.baseline)),
            ("cancel_all_outside", lambda: bench_cancel_all_outside(
                work, 3 if quick else 7, baseline=args.baseline)),
            ("scale", lambda: bench_scale(work, 2 if quick else 5, baseline=args.baseline)),
            ("times_style", lambda: bench_times_style(work, gams, 1 if quick else 3)),
            ("preflight", lambda: bench_preflight(5 if quick else 20, gams)),
            ("report_render", lambda: bench_report_render(work, 3 if quick else 10)),
            ("diagnose", lambda: __import__("diagnose_bench").bench_diagnose(
                work, 1 if quick else 3, 30 if quick else 300)),
            ("wine_cancel_all", lambda: __import__("wine_bench").bench_wine_cancel_all(
                1 if quick else 3, bench_cancel_all)),
            ("ranking", lambda: bench_ranking(work, gams, 1 if quick else 5, quick)),
        ]
        if not quick:
            # Full only: it starts a SLURM cluster (root, slurm-wlm) and adds
            # about 35 s (bench/slurm_bench.py).
            from slurm_bench import bench_slurm
            benches.append(("slurm", lambda: bench_slurm(work, gams, market_split_spec, 10, 5)))
            from slurm_scale_bench import bench_slurm_scale
            benches.append(("slurm_scale", lambda: bench_slurm_scale(
                work, lambda ref: _package_roots(work, args.baseline or ref))))
        for name, bench in benches:
            if only and name not in only:
                continue
            sys.stdout.write("running %s ...\n" % name)
            sys.stdout.flush()
            results["figures"][name] = bench()
            print_table({name: results["figures"][name]})  # a later failure loses nothing
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(results["figures"])
    # Quick figures (CI) never overwrite the recorded full run.
    path = os.path.join(HERE, "results-quick.json" if quick else "results.json")
    if only:
        results = _merged_into_recorded(path, results)
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return 0


def _merged_into_recorded(path, results):
    """*results* of an --only run laid over the recorded run, keeping the other benches' figures.

    A re-run of one bench must not throw away the full run recorded beside
    it; each bench's own date says when its figures were taken.
    """
    try:
        with open(path) as handle:
            recorded = json.load(handle)
    except (IOError, OSError, ValueError):
        return results  # nothing recorded yet (or unreadable): this run is the record
    dates = recorded.setdefault("bench_dates", {})
    for name, figures in results["figures"].items():
        recorded.setdefault("figures", {})[name] = figures
        dates[name] = results["date"]
    return recorded


def print_table(figures):
    sys.stdout.write("\n%-72s %10s %10s %10s\n" % ("figure", "median", "min", "max"))
    for bench, values in figures.items():
        for key, value in values.items():
            label = "%s.%s" % (bench, key)
            if isinstance(value, dict) and "median" in value:
                sys.stdout.write("%-72s %10.4g %10.4g %10.4g\n" % (
                    label, value["median"], value["min"], value["max"]))
            elif isinstance(value, dict):  # a breakdown (slurm_scale's RPCs by type)
                sys.stdout.write("%-72s %s\n" % (label, json.dumps(value, sort_keys=True)))
            elif isinstance(value, float):
                sys.stdout.write("%-72s %10.4g\n" % (label, value))
            else:
                sys.stdout.write("%-72s %s\n" % (label, value))


if __name__ == "__main__":
    sys.exit(main())
