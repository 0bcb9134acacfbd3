"""What a run cost, and whether it got the CPU it asked for: the figures a ranking rests on.

A scan compares profiles by time, and a time taken while runs compete for
the same cores says as much about the competition as about the profile
(parallel runs of the bundled LP took 1.5 to 2.1 times as long as alone,
and two pairs swapped places).  So every run records, besides its wall time
(the run's clock):

- the solver's own time (the listing's RESOURCE USAGE) and GAMS's share
  (wall minus solver: compilation, generation, writing the listing);
- the CPU time of its whole process tree (procgroup: POSIX wait4 plus
  samples of /proc, Windows the Job Object's accounting);
- the solver's deterministic work: CPLEX's ticks (the listing), Gurobi's
  work units (its log), which are the same for the same work whatever the
  machine's load, so two runs that did the same work can be told apart
  from two runs that were merely timed differently;
- contention, measured rather than guessed: of the time the run's threads
  were ready to run, the share they spent on a CPU (Linux schedstat: the
  rest they waited in the run queue), and the machine's load while it ran.
  A share below CONTENDED_BELOW_SHARE marks the run ``contended``.

Why the run-queue wait and not "CPU seconds per thread asked for": a dual
simplex uses one thread whatever ``threads`` says, so a run can use a
seventh of its threads' worth and still have had every CPU it wanted; the
time its threads waited for a CPU is contention and nothing else.  Where a
platform cannot tell that wait (macOS, Windows) a load above the CPUs still
marks a run contended, but nothing can clear it: the verdict is unknown.
"""

import collections
import os
import threading
import time

# How often a run's process tree is sampled (at most: the samples ride on
# the log reads).  The counters are cumulative (a thread's CPU and run-queue
# time since it started), so a sample loses nothing of a thread that is
# still alive at the next one; only a process or thread that ends between
# two samples is counted as of the earlier one (and a run that ends by itself
# is counted in full by wait4).  Every second, 16 runs' /proc walks cost the
# scanner about 1 % of a core (bench monitor_outside); every 5 s, a fifth.
USAGE_SAMPLE_SECONDS = 5.0

# A run whose threads got less than this share of the time they were ready
# to run (waited in the run queue for more than a fifth of it) is contended.
CONTENDED_BELOW_SHARE = 0.8

# The record fields (job_control.RECORD_FIELDS) a run's end sets from here.
FIELDS = ("solver_seconds", "gams_seconds", "cpu_seconds", "det_ticks", "work_units",
          "cpu_share", "load_avg", "cpus", "contended")

UsageFigures = collections.namedtuple("UsageFigures", "cpu_seconds cpu_share load_avg samples")
UsageFigures.__doc__ = """What a UsageSampler saw of one run.

cpu_seconds: CPU of the whole process tree (None: not measured).
cpu_share: 0..1, time on a CPU / time ready to run, over its threads (None:
    the platform cannot tell, or no thread was seen).
load_avg: the machine's mean load over the samples (None: no sample).
samples: how many samples were taken.
"""


class UsageSampler(object):
    """Samples one run's process tree and the machine's load while the run lives.

    ``sample()`` is called from the thread that reads the run's log (a
    worker, or the scan's one LogPoller thread) and at most every
    *interval* seconds does anything; the newest counters of each process
    and thread are kept, so one that ends between two samples still counts
    with what it had used by the last one.
    """

    def __init__(self, groups, ref, monotonic=time.monotonic, interval=USAGE_SAMPLE_SECONDS):
        self._groups = groups
        self._ref = ref
        self._monotonic = monotonic
        self._interval = interval
        self._lock = threading.Lock()
        self._next = None
        self._process_cpu = {}
        self._thread_times = {}
        self._loads = []
        self._samples = 0

    def sample(self, force=False):
        """Read the tree's counters and the load, if *force* or the interval has passed."""
        now = self._monotonic()
        with self._lock:
            if not force and self._next is not None and now < self._next:
                return
            self._next = now + self._interval
        tree = self._groups.tree_usage(self._ref)
        load = self._groups.machine_load()
        with self._lock:
            self._samples += 1
            if tree is not None:
                self._process_cpu.update(tree.process_cpu)
                self._thread_times.update(tree.thread_times)
            if load is not None:
                self._loads.append(load)

    def figures(self, final_cpu_seconds=None):
        """UsageFigures of the run so far; *final_cpu_seconds*: the OS's total at its end.

        The CPU is the larger of the two measures: each can only miss time
        (the OS's total misses descendants their parent never reaped, the
        samples miss what was used after the last one), neither counts any twice.
        """
        with self._lock:
            sampled = sum(self._process_cpu.values()) if self._process_cpu else None
            running = sum(times[0] for times in self._thread_times.values())
            waiting = sum(times[1] for times in self._thread_times.values())
            loads = list(self._loads)
            samples = self._samples
        candidates = [value for value in (sampled, final_cpu_seconds) if value is not None]
        cpu = max(candidates) if candidates else None
        share = running / (running + waiting) if running + waiting > 0 else None
        load = sum(loads) / len(loads) if loads else None
        return UsageFigures(cpu, share, load, samples)


def usable_cpus():
    """The CPUs this process may run on (its affinity: a SLURM allocation's, say)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def is_contended(cpu_share, load_avg, cpus):
    """True, False, or None (cannot tell): did the run get clearly less CPU than it asked for?

    The share decides where it is measured; otherwise only a load above
    the CPUs (more threads ready to run than CPUs to run them) can say yes.
    """
    if cpu_share is not None:
        return cpu_share < CONTENDED_BELOW_SHARE
    if load_avg is not None and cpus and load_avg > cpus:
        return True
    return None


def timing_fields(wall_seconds, lst, parser, figures, cpus=None):
    """The record fields (FIELDS) of a run that ended, from what it left and what was sampled.

    Args:
        wall_seconds: the run's clock.
        lst: its LstResult, or None.
        parser: its SolverLog (Gurobi's work units, and its solver time when
            there is no listing).
        figures: UsageFigures from its sampler.
        cpus: usable_cpus() (default: asked here).
    """
    solver_seconds = lst.solver_time if lst is not None else None
    if solver_seconds is None:
        solver_seconds = parser.solver_seconds
    gams_seconds = None
    if solver_seconds is not None and wall_seconds is not None:
        gams_seconds = round(max(0.0, wall_seconds - solver_seconds), 3)
    cpus = usable_cpus() if cpus is None else cpus
    return {
        "solver_seconds": solver_seconds,
        "gams_seconds": gams_seconds,
        "cpu_seconds": _rounded(figures.cpu_seconds, 3),
        "det_ticks": lst.det_ticks if lst is not None else None,
        "work_units": parser.work_units,
        "cpu_share": _rounded(figures.cpu_share, 3),
        "load_avg": _rounded(figures.load_avg, 2),
        "cpus": cpus,
        "contended": is_contended(figures.cpu_share, figures.load_avg, cpus),
    }


def describe(fields, wall_seconds):
    """One line for the table's Details: where the time went, what it cost, and contention.

    e.g. "wall 12.3 s = GAMS 4.0 + solver 8.3; CPU 12.1 s; 3633 ticks;
    contended: 48 % of the CPU its threads wanted, load 3.9 on 2 CPUs".
    """
    parts = []
    if wall_seconds is not None:
        text = "wall %s s" % _short(wall_seconds)
        if fields.get("solver_seconds") is not None and fields.get("gams_seconds") is not None:
            text += " = GAMS %s + solver %s" % (_short(fields["gams_seconds"]),
                                                _short(fields["solver_seconds"]))
        parts.append(text)
    if fields.get("cpu_seconds") is not None:
        parts.append("CPU %s s" % _short(fields["cpu_seconds"]))
    if fields.get("det_ticks") is not None:
        parts.append("%s ticks" % _short(fields["det_ticks"]))
    if fields.get("work_units") is not None:
        parts.append("%s work units" % _short(fields["work_units"]))
    verdict = contention_text(fields)
    if verdict:
        parts.append(verdict)
    return "; ".join(parts)


def contention_text(fields):
    """"contended: ...", "not contended (...)" or "" (nothing measured), with the figures.

    *fields*: a run's record fields, or a CSV row (text values) alike.
    """
    share, load, cpus = (_number(fields.get(key)) for key in ("cpu_share", "load_avg", "cpus"))
    figures = []
    if share is not None:
        figures.append("%d %% of the CPU its threads wanted" % int(round(share * 100)))
    if load is not None:
        figures.append("load %s%s" % (_short(load), " on %d CPUs" % cpus if cpus else ""))
    contended = fields.get("contended")
    if contended in (True, "yes"):
        return "contended: " + ", ".join(figures)
    if contended in (False, "no"):
        return "not contended (%s)" % ", ".join(figures)
    return ""


def _number(value):
    """A float from a record's number or a CSV cell; None for blank or junk."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rounded(value, digits):
    return round(value, digits) if value is not None else None


def _short(value):
    """12.3, 0.42, 3633: enough digits to read, no more."""
    value = float(value)
    if abs(value) >= 100:
        return "%d" % round(value)
    return ("%.2f" % value if abs(value) < 10 else "%.1f" % value).rstrip("0").rstrip(".") or "0"
