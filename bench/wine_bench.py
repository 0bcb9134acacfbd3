"""The cancel-all of 16 stubborn runs on Windows (the official Windows CPython under Wine),
beside Linux's, for `make bench`.

bench/run.py's ``cancel_all``: 16 runs, each a process that ignores the polite
stop and has two grandchildren that ignore it too, ended together by
``_terminate_process_group`` with a 2 s grace; the figure is the time from the
first terminate to the last process gone.  Here the same runs are Windows
processes that ignore CTRL_BREAK, each in its run's Job Object, ended by the
Windows seam (CTRL_BREAK, then TerminateJobObject, taskkill, TerminateProcess);
this file measures them when tests/wine_leg.py runs it under Wine
(``--windows``), and every process is checked gone through handles of its own.
Linux's figure is measured in the same `make bench` run.

Wine 8.0 delivers no CTRL_BREAK (its wineserver implements CTRL_C only), so
the seam ends the runs at once instead of after the grace: the Windows figure
is the kill's cost, where Linux's includes its 2 s grace.  Without the Windows
leg installed (`make wine`) the figures say so.
"""

import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# One run: ignores CTRL_BREAK, starts two grandchildren that ignore it, says their pids.
STUBBORN = r"""
import signal, subprocess, sys, time
signal.signal(signal.SIGBREAK, signal.SIG_IGN)
child = ("import signal, sys, time; signal.signal(signal.SIGBREAK, signal.SIG_IGN); "
         "sys.stdout.write('up\n'); sys.stdout.flush(); time.sleep(600)")
kids = [subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE) for _ in range(2)]
for kid in kids:
    kid.stdout.readline()
sys.stdout.write(" ".join(str(kid.pid) for kid in kids) + "\n")
sys.stdout.flush()
time.sleep(600)
"""


def bench_wine_cancel_all(trials, linux_cancel_all, runs=16, grace=2.0):
    """The Windows figures under Wine, and *linux_cancel_all(trials)*'s beside them."""
    sys.path.insert(0, os.path.join(REPO, "tests"))
    import wine_leg
    if not os.path.exists(wine_leg.STAMP):
        return {"skipped": "the Windows leg is not installed: run `make wine`"}
    wine_leg.write_pth()
    output = io.BytesIO()
    try:
        code = wine_leg.run_windows_python(
            [os.path.join(HERE, "wine_bench.py"), "--windows", str(runs), str(grace),
             str(trials)], relay=output, timeout=600)
    finally:
        wine_leg.stop_wineserver()
    lines = output.getvalue().decode("utf-8", "replace").splitlines()
    if code != 0 or not lines:
        return {"failed": "rc %s: %s" % (code, " | ".join(lines[-5:]))}
    windows = json.loads(lines[-1])
    linux = linux_cancel_all(trials)
    return {
        "wine": "%s, Windows CPython %s" % (wine_leg.wine_release(), windows["python"]),
        "windows under Wine: cancel all 16 stubborn runs, s": windows["seconds"],
        "linux, same run: cancel all 16 stubborn runs, s":
            linux["cancel_all_16_stubborn_seconds"],
        "windows under Wine: processes left after each trial": windows["left"],
        "windows under Wine: CTRL_BREAK delivered": windows["ctrl_break_delivered"],
        "note": "Wine delivers no CTRL_BREAK: the seam kills at once, Linux waits its %g s "
                "grace" % grace,
    }


def windows_trials(runs, grace, trials):
    """Run under Windows: the trials, as one JSON line on stdout."""
    sys.path.insert(0, REPO)
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from times_doctor.proc import procgroup
    from times_doctor.job_control import create_process_group_kwargs, _terminate_process_group
    from wine_helpers import ProcessWatch
    groups = procgroup.current()
    totals, left, delivered = [], [], []
    for _ in range(trials):
        jobs = []
        watch = ProcessWatch()
        for _ in range(runs):
            popen = subprocess.Popen([sys.executable, "-c", STUBBORN], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, **create_process_group_kwargs())
            # Attached at once, as the runner does: the grandchildren start in the job.
            ref = groups.attach(popen, None)
            kids = [int(pid) for pid in popen.stdout.readline().split()]
            watch.add([popen.pid] + kids)
            jobs.append((popen, ref))
        try:
            groups.win_api.send_ctrl_break(jobs[0][1].pid)
            delivered.append(True)
        except OSError:
            delivered.append(False)
        started = time.perf_counter()
        threads = [threading.Thread(target=_terminate_process_group, args=(ref, grace, groups))
                   for _, ref in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while watch.alive():
            time.sleep(0.005)
        totals.append(time.perf_counter() - started)
        left.append(len(watch.alive()))
        for popen, ref in jobs:
            groups.reap(ref, popen)
            groups.close(ref)
            popen.stdout.close()
        watch.close()
    sys.stdout.write(json.dumps({
        "python": sys.version.split()[0],
        "seconds": {"median": statistics.median(totals), "min": min(totals),
                    "max": max(totals), "n": len(totals)},
        "left": sorted(set(left)), "ctrl_break_delivered": sorted(set(delivered))}) + "\n")
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["--windows"]:
    sys.exit(windows_trials(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
