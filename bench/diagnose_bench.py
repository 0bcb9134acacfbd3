"""``times-doctor diagnose`` on a 300 MB synthetic TIMES listing: time and peak memory (`make bench`).

The listing is generated in the bench's temporary folder (never committed) in the
shapes a large TIMES run writes (tests/fixtures/times_real, tests/fixtures/lst): a
compilation echo of .dd data with ``$170`` markers under 2,000 distinct elements and their
``**** LINE`` locations, profile lines, an equation listing, range statistics, a solve
summary, a conflict refiner's report of 20,000 members and CPLEX datacheck warnings; beside
it a QA_CHECK.LOG of 20,000 events in 50 groups and a run log.  Each trial runs
``python -m times_doctor diagnose --json`` in a fresh process and reads its own peak RSS
(``VmHWM`` on Linux, else ``ru_maxrss``), so the memory figure is the whole command's,
interpreter included, and not the bench process's, which ``ru_maxrss`` carries across fork.
Side by side in the same run: the same interpreter doing nothing but importing the package
(its RSS floor), and Python reading the listing line by line without looking at the lines
(the cost of a pass in Python, which diagnose's one regular expression in C undercuts).
"""

import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# In both measured scripts: the process's own peak RSS, in KiB.
PEAK_KIB = r'''
def peak_kib():
    # VmHWM: this process's own high-water mark.  ru_maxrss is not: Linux
    # starts it at the forking parent's RSS and keeps it across exec, so a
    # bench process that has grown would set every measured command's floor.
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (IOError, OSError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
'''

# Runs in the measured process: the command itself, then its own peak RSS.
MEASURE = r'''
import resource, sys, time
''' + PEAK_KIB + r'''sys.argv = ["times-doctor"] + sys.argv[1:]
started = time.perf_counter()
import io, contextlib
from times_doctor import cli
buffer = io.StringIO()
with contextlib.redirect_stdout(buffer):
    code = cli.main(sys.argv[1:])
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
sys.stderr.write("MEASURE %d %.6f %d %d %.6f\n" % (code, seconds, peak_kib(),
                                                   len(buffer.getvalue()),
                                                   usage.ru_utime + usage.ru_stime))
'''

FLOOR = r'''
import resource, sys
''' + PEAK_KIB + r'''from times_doctor import cli  # noqa: F401 (imported only, for the import's memory)
from times_doctor.scan import diagnose  # noqa: F401 (imported only, for the import's memory)
sys.stderr.write("MEASURE 0 0 %d 0 0\n" % peak_kib())
'''

PYTHON_PASS = r'''
import sys, time
started = time.perf_counter()
lines = 0
with open(sys.argv[1], "rb") as handle:
    for _ in handle:
        lines += 1
sys.stderr.write("MEASURE 0 %.6f 0 %d 0\n" % (time.perf_counter() - started, lines))
'''


def bench_diagnose(work, trials, size_mb):
    run_dir = os.path.join(work, "diagnose-bench")
    os.makedirs(run_dir)
    started = time.perf_counter()
    listing = write_listing(os.path.join(run_dir, "times.lst"), size_mb * 1024 * 1024)
    write_qa_check(os.path.join(run_dir, "QA_CHECK.LOG"), 20000)
    with open(os.path.join(run_dir, "times_run_log.txt"), "w") as handle:
        handle.write("--- Job times.run Start\n*** Status: Normal completion\n"
                     "--- Job times.run Stop 12/01/26 10:00:00 elapsed 0:10:00.000\n")
    generate_seconds = time.perf_counter() - started
    seconds, cpu, peaks, checks = [], [], [], []
    for _ in range(trials):
        code, elapsed, peak, output, cpu_seconds = _measure(MEASURE, ["diagnose", run_dir,
                                                                      "--json"])
        seconds.append(elapsed)
        cpu.append(cpu_seconds)
        peaks.append(peak)
        checks.append((code, output > 0))
    floor_peak = _measure(FLOOR, [])[2]
    pass_seconds = [_measure(PYTHON_PASS, [listing])[1] for _ in range(trials)]
    size = os.path.getsize(listing)
    median = statistics.median(seconds)
    os.remove(listing)
    return {
        "listing_mib": size / (1024.0 * 1024.0),
        "generate_seconds": generate_seconds,
        "diagnose_seconds": _summary(seconds),
        "diagnose_cpu_seconds": _summary(cpu),
        "diagnose_mib_per_second": size / (1024.0 * 1024.0) / median,
        "peak_rss_mib": _summary([peak / 1024.0 for peak in peaks]),
        "import_only_peak_rss_mib": floor_peak / 1024.0,
        "python_line_loop_seconds": _summary(pass_seconds),
        "diagnose_vs_python_line_loop": median / statistics.median(pass_seconds),
        "exit_codes_and_output": sorted(set("%d/%s" % check for check in checks)),
        "target": "bounded memory (peak RSS independent of the listing's size) and a "
                  "300 MB listing in well under a minute",
    }


def write_listing(path, size_bytes):
    """A TIMES-shaped listing of about *size_bytes*; returns its path."""
    echo = "".join("%6d  'REG%d'.'PRC%d'.2020.'ANNUAL' %d.5\n" % (line, line % 7, line % 97,
                                                                     line % 13)
                   for line in range(1, 4001))
    profile = "".join("---- %6d Assignment PRC_MARK    0.000     4.516 SECS    294 MB  %d\n"
                      % (line, line) for line in range(2000))
    equations = "".join("      -- %d.5 VAR_FLO(REG%d,2030,2030,PRC%d,COM%d,ANNUAL)\n"
                        % (line % 9, line % 7, line % 97, line % 31) for line in range(3000))
    with open(path, "w") as handle:
        handle.write("GAMS 44.4.0  06604687 Sep 19, 2023          WEX-WEI x86 64bit/MS Windows"
                     " - 12/12/24 13:25:57 Page 1\nTIMES -- VERSION 4.8.3\nC o m p i l a t i o n"
                     "\n\n\n")
        block = 0
        while handle.tell() < size_bytes - 2 * 1024 * 1024:
            handle.write(echo)
            for index in range(20):
                handle.write("%6d  'AUD%d'.'ACT'.2015 0.07\n****         $170\n"
                             "**** LINE  %d BATINCLUDE  D:\\Veda\\base.dd\n"
                             "**** LINE     88 INPUT       D:\\Veda\\times.RUN\n"
                             "**** 170  Domain violation for element\n"
                             % (block * 20 + index, (block * 20 + index) % 2000, index))
            handle.write(profile)
            handle.write(equations)
            block += 1
        handle.write("Range Statistics    SOLVE TIMES Using LP From line 113980\n\n"
                     "RHS       [min, max] : [ 2.794E-07, 1.327E+05] - Zero values observed\n"
                     "Bound     [min, max] : [ 2.857E-06, 1.200E+04] - Zero values observed\n"
                     "Matrix    [min, max] : [ 1.000E-05, 3.077E+06] - Zero values observed\n\n"
                     "               S O L V E      S U M M A R Y\n\n"
                     "     MODEL   TIMES               OBJECTIVE  OBJZ\n"
                     "     TYPE    LP                  DIRECTION  MINIMIZE\n"
                     "     SOLVER  CPLEX               FROM LINE  113980\n\n"
                     "**** SOLVER STATUS     1 Normal Completion\n"
                     "**** MODEL STATUS      4 Infeasible\n\n"
                     "--- LP status (3): infeasible.\n")
        handle.write("Number of equations in conflict: 5000\n")
        handle.write("".join("  fixed: EQ_CUMFLO(REG%d,PRC%d,COM%d,2020,2050) = 0\n"
                             % (index % 7, index, index % 31) for index in range(5000)))
        handle.write("Number of variables in conflict: 15000\n")
        handle.write("".join("  lower: VAR_ACT(REG%d,%d,%d,PRC%d,ANNUAL) > %d.25\n"
                             % (index % 7, 2020 + index % 4 * 10, 2020 + index % 4 * 10,
                                index, index % 50) for index in range(15000)))
        handle.write("".join("CPLEX Warning  1036: Decimal part of coefficient for variable "
                             "'VAR_FLO(REG1,2020,2020,PRC%d,ELC,ANNUAL)' in constraint "
                             "'EQ_ACTFLO(REG1,2020,2020,PRC%d,ANNUAL)' looks like 1/3 in single "
                             "precision.\n" % (index, index) for index in range(2000)))
        handle.write("\n**** REPORT SUMMARY :        0     NONOPT\n\n**** FILE SUMMARY\n\n"
                     "Input      D:\\Veda\\times.RUN\nOutput     D:\\Veda\\times.lst\n")
    return path


def write_qa_check(path, events):
    """A QA_CHECK.LOG of *events* events in 50 groups, in TIMES's layout (pp_qaput.mod)."""
    with open(path, "w") as handle:
        handle.write("              ****** TIMES -- VERSION 4.8.3 -- Runtime (v4.8)  ******\n"
                     "              **************   QUALITY ASSURANCE LOG   **************\n")
        per_group = events // 50
        for group in range(50):
            severity = ("99 FATAL ERROR  ", "07 SEVERE ERROR ", "01 WARNING      ")[group % 3]
            handle.write("\n *** Group %d of synthetic checks\n" % group)
            handle.write("".join(" *%s -     R=REG%d P=PRC%d C=COM%d V=%d\n"
                                 % (severity, index % 7, index % 5000, index % 31,
                                    2020 + index % 4) for index in range(per_group)))


def _measure(script, args):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO
    process = subprocess.run([sys.executable, "-c", script] + list(args),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             universal_newlines=True, env=env, timeout=900)
    line = [each for each in process.stderr.splitlines() if each.startswith("MEASURE ")]
    if not line:
        raise RuntimeError("diagnose bench: no measurement: %s" % process.stderr[-2000:])
    code, seconds, peak, output, cpu = line[-1].split()[1:]
    return int(code), float(seconds), int(peak), int(output), float(cpu)


def _summary(values):
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "n": len(values)}


if __name__ == "__main__":
    import tempfile
    folder = tempfile.mkdtemp(prefix="td-diagnose-bench-")
    try:
        print(json.dumps(bench_diagnose(folder, 1, int(sys.argv[1]) if len(sys.argv) > 1
                                        else 30), indent=2))
    finally:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
