"""Which profile is best, and what it costs to find out (`make bench`: ranking).

Three models, at least five profiles each: the bundled demo LP (make demo's,
990 x 990), the TIMES-style model, and the market-split MIP in its smaller
``--M=4`` size (five CPLEX strategies, ``mipemphasis`` 0 to 4, each proving
optimality in seconds, where the tests' ``M=5`` takes many minutes).
Side by side, in one run, per model:

1. Agreement.  The winner and the order named by
   - one-at-a-time scans (the reference: the winner most of them name, and the
     order of the profiles' median times over them),
   - oversubscribed parallel scans (every profile at once, one thread each),
   - the same with ``--confirm 2`` (the two best re-run alone afterwards),
   each scan repeated TRIALS times: how often each names the reference
   winner, how often its whole order is the reference order, and the share
   of profile pairs it orders as the reference does.
2. Cost.  The CPU seconds of every process a scan started (the scanner,
   GAMS, its shells and the solvers, including any that outlived its parent:
   this process is their subreaper and reaps them) to name the winner with
   ``--cap 1.5``, against the same parallel scan running every profile to
   the end; and whether the winner is the same.  Goal: at most 50 %, with
   the same winner.

Linux only (the subreaper is prctl's).  Each scan is a ``python -m
times_doctor scan`` as a user runs it, its output discarded; the figures
come from its CSV.
"""

import collections
import csv
import ctypes
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODELS = os.path.join(REPO, "tests", "models")

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
# A scan that has not ended in this long is stopped and its trial reported as such.
SCAN_SECONDS = 1800
# The market-split size: 4 markets, 30 products (marketsplit.gms's --M).
MARKETSPLIT_MARKETS = "4"

MODES = (("one_at_a_time", []), ("parallel", ["--parallel"]),
         ("confirm2", ["--parallel", "--confirm", "2"]),
         ("cap1.5", ["--parallel", "--cap", "1.5"]))


def bench_ranking(work, gams, trials, quick=False):
    """The ranking figures for each model; *quick*: the two quick models (3 MIP strategies)."""
    if not sys.platform.startswith("linux"):
        return {"skipped": "needs Linux (prctl's child subreaper)"}
    figures = {}
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        return {"skipped": "prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" % ctypes.get_errno()}
    try:
        for name, setup in _models(work, quick):
            run_dir, profiles, extra = setup()
            # Flat keys ("demo_lp.parallel_winner_agreement"): run.py's table prints one
            # figure per line.
            for key, value in _bench_model(work, gams, name, run_dir, profiles, extra,
                                           trials).items():
                figures["%s.%s" % (name, key)] = value
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    return figures


def _models(work, quick):
    models = [("times_style", lambda: _times_style()),
              ("marketsplit_mip", lambda: _marketsplit(work, 3 if quick else 5))]
    if not quick:
        models.insert(0, ("demo_lp", lambda: _demo(work)))
    return models


def _demo(work):
    run_dir = os.path.join(work, "ranking_demo")
    shutil.copytree(os.path.join(MODELS, "demo"), run_dir)
    sys.path.insert(0, os.path.join(MODELS, "demo"))
    try:
        import make_demo_mps
        make_demo_mps.write(os.path.join(run_dir, "demo.mps"))
    finally:
        sys.path.pop(0)
    return run_dir, ["primal", "dual", "sift", "bar", "bar_nox"], []


def _times_style():
    run_dir = os.path.join(MODELS, "times_style")
    return (run_dir, ["dual", "primal", "sift", "bar", "bar_nox", "concurrent"],
            ["--times-src", os.path.join(run_dir, "times_src")])


def _marketsplit(work, strategies):
    """marketsplit.gms with --M=4: GAMS generates that size, and so does make_mps.py for
    the stand-in (its MPS beside the copy of the driver)."""
    run_dir = os.path.join(work, "ranking_marketsplit")
    shutil.copytree(os.path.join(MODELS, "marketsplit"), run_dir)
    sys.path.insert(0, MODELS)
    try:
        import make_mps
        spec = [model for model in make_mps.MODELS if model.folder == "marketsplit"][0]
        with open(os.path.join(run_dir, "marketsplit.mps"), "w") as handle:
            handle.write(make_mps.mps_text(spec, {"m": MARKETSPLIT_MARKETS}))
    finally:
        sys.path.pop(0)
    opts = os.path.join(work, "ranking_opts", "cplex")
    os.makedirs(opts)
    names = []
    for emphasis in range(strategies):
        names.append("emph%d" % emphasis)
        with open(os.path.join(opts, names[-1] + ".opt"), "w") as handle:
            handle.write("mipemphasis %d\n" % emphasis)
    return (run_dir, names, ["--opt-dir", os.path.dirname(opts), "--timeout-seconds", "600",
                             "--gams-arg=--M=%s" % MARKETSPLIT_MARKETS])


def _bench_model(work, gams, name, run_dir, profiles, extra, trials):
    scans = collections.defaultdict(list)  # mode -> [outcome]
    for trial in range(trials):
        for mode, options in MODES:  # interleaved: each mode meets the same load
            out = os.path.join(work, "ranking_%s_%s_%d" % (name, mode, trial))
            args = (["scan", run_dir, "--gams-path", gams, "--profiles", ",".join(profiles),
                     "--threads", "1", "--out", out, "--yes"] + list(extra) + options)
            if "--parallel" in options:
                args += ["--max-workers", str(len(profiles))]
            scans[mode].append(_measured_scan(args, out))
            shutil.rmtree(out, ignore_errors=True)
    reference = scans["one_at_a_time"]
    winner = _most_common([scan["winner"] for scan in reference])
    order = _median_order(reference, profiles)
    figures = {"profiles": ",".join(profiles), "trials": trials, "reference_winner": winner,
               "reference_order": ",".join(order)}
    for mode, _ in MODES:
        done = scans[mode]
        figures["%s_winner_agreement" % mode] = _share([scan["winner"] == winner
                                                        for scan in done])
        if mode != "cap1.5":  # capped profiles are not ranked: only the winner compares
            figures["%s_order_agreement" % mode] = _share([scan["order"] == order
                                                           for scan in done])
            figures["%s_pair_agreement" % mode] = statistics.mean(
                _pairs_agreeing(scan["order"], order) for scan in done)
        figures["%s_wall_seconds" % mode] = _summary([scan["wall"] for scan in done])
        figures["%s_cpu_seconds" % mode] = _summary([scan["cpu"] for scan in done])
        figures["%s_exit_codes" % mode] = ",".join(sorted(set(str(scan["code"])
                                                              for scan in done)))
    full = statistics.median(scan["cpu"] for scan in scans["parallel"])
    capped = statistics.median(scan["cpu"] for scan in scans["cap1.5"])
    figures["cap_cpu_share_of_full"] = capped / full if full else None
    figures["cap_same_winner_as_full"] = _share([
        cap["winner"] == whole["winner"] for cap, whole in zip(scans["cap1.5"],
                                                               scans["parallel"])])
    figures["target"] = "cap1.5 CPU <= 50 % of every profile to the end, same winner"
    return figures


def _measured_scan(args, out):
    """One scan: its exit code, wall seconds, CPU seconds of every process, winner and order."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-m", "times_doctor"] + args,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    code = _reap_all(proc)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    winner, order = _ranking_of(out)
    return {"code": code, "wall": wall, "cpu": cpu, "winner": winner, "order": order}


def _reap_all(proc):
    """Wait for the scanner and every orphan of its runs (we are their subreaper).

    The scanner is reaped here, not by Popen: os.waitpid(-1) takes whichever
    child ends, and its status is kept on the Popen so nothing waits twice.
    """
    deadline = time.monotonic() + SCAN_SECONDS
    code = None
    stops = [signal.SIGTERM, signal.SIGKILL]  # the scanner cancels its runs on SIGTERM
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break  # no child left: everything the scan started is reaped
        if pid == 0:
            if time.monotonic() > deadline and code is None and stops:
                proc.send_signal(stops.pop(0))
                deadline = time.monotonic() + 60
            time.sleep(0.05)
            continue
        if pid == proc.pid:
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
            proc.returncode = code
    return code


def _ranking_of(out):
    """(winner, [profiles in rank order]) from a scan's CSV; (None, []) without one."""
    path = os.path.join(out, "times_doctor_out", "scan_report.csv")
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (IOError, OSError):
        return None, []
    ranks = {}
    for row in rows:
        if row.get("rank"):
            ranks[row.get("trial_of") or row["profile"]] = int(row["rank"])
    order = sorted(ranks, key=ranks.get)
    return (order[0] if order else None), order


def _median_order(scans, profiles):
    """The profiles by their median rank over *scans* (unranked ones last)."""
    places = collections.defaultdict(list)
    for scan in scans:
        for index, name in enumerate(scan["order"]):
            places[name].append(index)
    return sorted((name for name in profiles if places[name]),
                  key=lambda name: (statistics.median(places[name]), name))


def _pairs_agreeing(order, reference):
    """The share of profile pairs of *reference* that *order* ranks the same way round."""
    where = dict((name, index) for index, name in enumerate(order))
    pairs = [(a, b) for i, a in enumerate(reference) for b in reference[i + 1:]]
    if not pairs:
        return 1.0
    agree = sum(1 for a, b in pairs if a in where and b in where and where[a] < where[b])
    return agree / float(len(pairs))


def _most_common(values):
    counts = collections.Counter(value for value in values if value is not None)
    return counts.most_common(1)[0][0] if counts else None


def _share(flags):
    flags = list(flags)
    return sum(1 for flag in flags if flag) / float(len(flags)) if flags else None


def _summary(values):
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "n": len(values)}
