"""A run's progress over time, kept small, on disk as it goes: the series file.

The HTML report's convergence charts and time-per-phase bars
need how each run got where it is, not only where it is.  The runner hands
every parser snapshot to a ``SeriesWriter``, which appends one JSON line per
point to ``<work_dir>/progress_series.jsonl`` and flushes it, so a killed
scan keeps what it had.

Bounded however long the run: every point is kept until there are
``max_points``; then every other one is dropped (the file is rewritten
atomically, once per halving) and only every second candidate is taken
from then on, and so on.  An 8-hour run read every half second ends with at
most ``max_points`` points, evenly spread.  Points where the phase changed
are always kept (the phase split is exact to one log read) unless there are
more phase changes than half the budget.

File format (UTF-8, one JSON object per line):

    {"schema": "times-doctor/progress-series", "version": 1, "run": "dual", "solver": "cplex"}
    {"t": 0.51, "phase": "presolve"}
    {"t": 0.9, "phase": "dual simplex", "iteration": 40, "objective": 3.5, "dual_obj": 3.5}
    {"t": 1.02, "phase": "barrier", "iteration": 7, "primal_obj": 1.5, "dual_obj": 1.2,
     "primal_inf": 0.003, "dual_inf": 1e-05}
    {"t": 9.8, "phase": "mip", "iteration": 120, "incumbent": 2.0, "bound": 1.0, "mip_gap": 0.5}

``t`` is the run's elapsed seconds (paused time does not count); the other
keys are present only when known (see ``METRICS``).  A reader skips a line
that does not parse (the last one of a scanner killed mid-write).
"""

import json
import math
import os

from times_doctor.atomic import read_bytes, write_atomic

SERIES_NAME = "progress_series.jsonl"
SCHEMA_NAME = "times-doctor/progress-series"
SCHEMA_VERSION = 1
DEFAULT_MAX_POINTS = 256

# What a point may carry besides t and phase: the snapshot's iteration and
# objective (LogProgress) and the row's numbers (SolverLogParser.metrics()).
METRICS = ("iteration", "objective", "primal_obj", "dual_obj", "primal_inf", "dual_inf", "compl",
           "incumbent", "bound", "mip_gap")


def series_path(work_dir):
    """Where a run's series file lives."""
    return os.path.join(work_dir, SERIES_NAME)


class SeriesWriter(object):
    """Append a run's downsampled progress points to its series file.

    Not thread-safe: the one worker thread that reads the run's log owns it.
    A write error (disk full, folder gone) stops the series, not the run:
    ``error`` says why, and the report names the series as incomplete.
    """

    def __init__(self, path, run_name, solver, max_points=DEFAULT_MAX_POINTS):
        if max_points < 4:
            raise ValueError("max_points must be at least 4")
        self.path = path
        self.max_points = max_points
        self.error = None
        self._error_taken = False
        self._header = {"schema": SCHEMA_NAME, "version": SCHEMA_VERSION,
                        "run": run_name, "solver": solver}
        self._points = []        # (point dict, is_phase_change)
        self._stride = 1         # take every stride-th candidate
        self._candidates = 0
        self._last_key = None    # (phase, metrics) of the last candidate
        self._last_phase = None
        self._handle = None
        self._open(truncate=True)

    def add(self, elapsed_seconds, phase, metrics, final=False):
        """Offer one point; kept if it is new and due (or a phase change, or final).

        Args:
            elapsed_seconds: the run's clock.
            phase: the parser's phase ("" while GAMS compiles).
            metrics: dict from SolverLogParser.metrics() plus "iteration" and
                "objective" from its snapshot.
            final: the run's last point: always kept.
        """
        values = dict((key, metrics[key]) for key in METRICS if _finite(metrics.get(key)))
        key = (phase, tuple(sorted(values.items())))
        phase_change = phase != self._last_phase
        if key == self._last_key and not final:
            return  # nothing new in the log since the last point
        self._last_key = key
        self._last_phase = phase
        due = self._candidates % self._stride == 0
        self._candidates += 1
        if not (due or phase_change or final):
            return
        point = {"t": round(float(elapsed_seconds), 3), "phase": phase}
        point.update(values)
        self._points.append((point, phase_change))
        if len(self._points) > self.max_points:
            self._halve()
            self._rewrite()
        else:
            self._append(point)

    def take_error(self):
        """The write error, the first time it is asked for; else None."""
        if self.error is None or self._error_taken:
            return None
        self._error_taken = True
        return self.error

    def close(self):
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError as exc:
                self._fail(exc)
            self._handle = None

    def points(self):
        """The points kept so far (for tests and the dashboard)."""
        return [point for point, _ in self._points]

    # -- internals -------------------------------------------------------

    def _halve(self):
        """Keep phase changes, the newest point and every other of the rest."""
        kept = []
        budget_for_changes = self.max_points // 2
        changes = sum(1 for _, change in self._points if change)
        keep_changes = changes <= budget_for_changes
        last = len(self._points) - 1
        for index, (point, change) in enumerate(self._points):
            if index % 2 == 0 or index == last or (change and keep_changes):
                kept.append((point, change))
        self._points = kept
        self._stride *= 2

    def _open(self, truncate):
        try:
            self._handle = open(self.path, "w" if truncate else "a", encoding="utf-8")
            if truncate:
                self._handle.write(_line(self._header))
                self._handle.flush()
        except OSError as exc:
            self._fail(exc)

    def _append(self, point):
        if self._handle is None:
            return
        try:
            self._handle.write(_line(point))
            self._handle.flush()
        except OSError as exc:
            self._fail(exc)

    def _rewrite(self):
        if self.error is not None:
            return
        self.close()
        text = _line(self._header) + "".join(_line(point) for point, _ in self._points)
        try:
            write_atomic(self.path, text)
        except OSError as exc:
            self._fail(exc)
            return
        self._open(truncate=False)

    def _fail(self, exc):
        if self.error is None:
            self.error = "progress series %s not written: %s" % (
                self.path, getattr(exc, "strerror", None) or exc)
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError:
                pass  # already failing: the first error is the one reported


def read_series(path, max_points=4 * DEFAULT_MAX_POINTS):
    """(header dict or None, points list, skipped line count) of a series file.

    Lines that are not JSON objects are skipped and counted (a scanner
    killed mid-write leaves half a line).  At most *max_points* points are
    returned (evenly thinned): a file written by something else cannot make
    the report unbounded.

    Raises:
        OSError: the file cannot be read (callers say "no series").
    """
    header = None
    points = []
    skipped = 0
    stride = 1   # as in the writer: every stride-th point, halved when too many
    seen = 0
    last = None
    for raw in read_bytes(path).splitlines(True):
        try:
            item = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            skipped += 1
            continue
        if not isinstance(item, dict):
            skipped += 1
        elif item.get("schema") == SCHEMA_NAME:
            header = item
        elif isinstance(item.get("t"), (int, float)):
            last = _clean(item)
            if seen % stride == 0:
                points.append(last)
                if len(points) >= max_points:
                    points = points[::2]
                    stride *= 2
            seen += 1
        else:
            skipped += 1
    if last is not None and points[-1] is not last:
        # The newest point always ends the series; the loop leaves room for
        # it (it halves as soon as max_points is reached).
        points.append(last)
    return header, points, skipped


def phase_spans(points, end_seconds=None):
    """[(phase, start, end)] from a series: where each phase began and ended.

    The time before the first point is GAMS compiling and generating ("").
    The last span ends at *end_seconds* (the run's runtime) when given,
    else at the last point.  Consecutive points of one phase form one span.
    """
    spans = []
    start = 0.0
    phase = ""
    for point in points:
        if point.get("phase", "") != phase:
            if point["t"] > start or spans:
                spans.append((phase, start, point["t"]))
            phase, start = point.get("phase", ""), point["t"]
    end = end_seconds if end_seconds is not None else (points[-1]["t"] if points else 0.0)
    if end > start:
        spans.append((phase, start, end))
    return [span for span in spans if span[2] > span[1]]


def _clean(item):
    point = {"t": float(item["t"]), "phase": str(item.get("phase", ""))}
    for key in METRICS:
        if _finite(item.get(key)):
            point[key] = item[key]
    return point


def _finite(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not math.isinf(value) and not math.isnan(value))


def _line(document):
    return json.dumps(document, sort_keys=False, allow_nan=False) + "\n"
