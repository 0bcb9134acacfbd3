"""Pure text rendering of run rows: the table, the summary, the plain lines.

No I/O and no clock here: the monitor passes rows, a width and the colour
decision in and gets strings back, so every layout can be tested with exact
string comparisons.  Lines never wrap: a wrapped line would throw off the
cursor-up count of the live redraw and leave stale rows on screen.
"""

import math
from collections import namedtuple

from times_doctor.term import ansi
from times_doctor.states import (ALWAYS_COUNTED, COLOURS, FINAL_STATES, LABELS, SUMMARY_ORDER,
                                 RunStatus)

RunRow = namedtuple("RunRow", "name status result phase progress iteration elapsed_seconds details pid")


def run_row(record):
    """The row of one run, from its record: the one builder every view uses.

    *record* is a mapping of the run's record fields: a registry snapshot's
    (``JobSnapshot._asdict()``: the live table) or the state file's job (the
    same fields: ``status``, the dashboard, the page's unfinished runs).
    """
    get = record.get
    return RunRow(name=str(get("name") or ""), status=get("status") or "",
                  result=get("result") or "", phase=get("phase") or "",
                  progress=get("progress"), iteration=get("iteration"),
                  elapsed_seconds=get("elapsed_seconds"), details=get("details") or "",
                  pid=get("pid"))

# Column titles, in display order.
COLUMNS = ("Run", "Status", "Result", "Phase", "Progress", "Iteration", "Time", "Details", "PID")

# When even shrunk Details and Run do not fit, columns go in this order:
# roughly right to left, keeping what a user glances at (which run, its state,
# its time) longest.  Run and Status are never dropped; if they alone do not
# fit, each line is cut to the width.
DROP_ORDER = ("PID", "Details", "Iteration", "Phase", "Result", "Progress", "Time")

# Shrinking stops at these widths (a column narrower than its title is noise).
MIN_WIDTHS = {"Details": len("Details"), "Run": 8}

COLUMN_GAP = "  "
BAR_CELLS = 10
_RIGHT_ALIGNED = ("Iteration", "Time", "PID")
# Columns whose content is cut with an ellipsis when the table is shrunk.
_SHRINKABLE = ("Details", "Run")


def render_table(rows, width, color=False, ellipsis="\u2026"):
    """Render *rows* as a header, a separator and one line per row.

    Args:
        rows: RunRow values.
        width: the most visible columns any line may take.
        color: add SGR codes (bold header, dim separator, coloured status).
        ellipsis: what marks a cut cell; "..." for streams that cannot
            encode "\u2026" (see ansi.encoding_can_print).

    Returns:
        A list of lines without newlines, trailing blanks stripped, each at
        most *width* columns wide.  When the natural table is too wide,
        Details shrinks first, then Run names; then columns blank in every
        row go, Progress loses its bar, and columns go in DROP_ORDER;
        nothing ever wraps.
    """
    cells = [_row_cells(row) for row in rows]
    compact_cells = [_row_cells(row, compact_progress=True) for row in rows]
    columns, widths, compact = _layout(cells, compact_cells, width)
    if compact:
        cells = compact_cells
    index = dict((name, i) for i, name in enumerate(COLUMNS))

    header = _join([_pad(name, widths[name], name) for name in columns])
    separator = _join(["-" * widths[name] for name in columns])
    lines = [ansi.style(header, "bold", color), ansi.style(separator, "dim", color)]
    for row, row_cells in zip(rows, cells):
        parts = []
        for name in columns:
            text = ansi.truncate(row_cells[index[name]], widths[name], ellipsis)
            styled = text
            if name == "Status":
                styled = ansi.style(text, _status_style(row.status), color)
            parts.append(_pad(styled, widths[name], name))
        lines.append(_join(parts))
    return [_fit(line, width, ellipsis) for line in lines]


def render_summary(counts, color=False):
    """One line of counts, e.g. "2 running, 1 completed, 0 failed, 0 timeout, 1 cancelled".

    States in SUMMARY_ORDER; waiting, running, paused, capped and interrupted appear
    only when non-zero, the four outcomes always.  Counts for states outside
    SUMMARY_ORDER are appended when non-zero rather than silently lost.
    Non-zero counts take their state's colour.
    """
    parts = []
    order = list(SUMMARY_ORDER) + [s for s in counts if s not in SUMMARY_ORDER]
    for state in order:
        n = counts.get(state, 0)
        if n == 0 and state not in ALWAYS_COUNTED:
            continue
        text = "%d %s" % (n, state)
        if n and state in COLOURS:
            text = ansi.style(text, COLOURS[state], color)
        parts.append(text)
    return ", ".join(parts)


def format_elapsed(seconds):
    """M:SS below an hour, H:MM:SS from then on; "" for None."""
    if seconds is None:
        return ""
    total = int(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%d:%02d:%02d" % (hours, minutes, secs)
    return "%d:%02d" % (minutes, secs)


def format_progress(progress, compact=False):
    """"[#####-----]  50%", or " 50%" when *compact*; "" for None or NaN.

    Rounds down so a run never shows 100% before it is done.
    """
    if progress is None or math.isnan(progress):
        return ""
    fraction = min(1.0, max(0.0, progress))
    percent = "%3d%%" % int(fraction * 100)
    if compact:
        return percent
    filled = int(fraction * BAR_CELLS)
    return "[%s%s] %s" % ("#" * filled, "-" * (BAR_CELLS - filled), percent)


def plain_status_line(row, clock_text=None, color=False):
    """One line for a status change when the stream is not a terminal.

    e.g. "[12:03:04] dual: running (pid 1234)" or
    "[12:03:04] dual: completed optimal 1:23".  The time is shown once a run
    has stopped (paused or final), the pid while a process may exist, the
    details when a run ends badly, where they say why (after a success
    they are only the last progress figures).
    """
    parts = [_clean(row.name) + ":", ansi.style(row.status, _status_style(row.status), color)]
    stopped = row.status in FINAL_STATES or row.status == RunStatus.PAUSED
    if row.result:
        parts.append(_clean(row.result))
    if stopped and row.elapsed_seconds is not None:
        parts.append(format_elapsed(row.elapsed_seconds))
    if row.pid is not None and row.status not in FINAL_STATES and row.status != RunStatus.WAITING:
        parts.append("(pid %d)" % row.pid)
    if row.status in FINAL_STATES and row.status != RunStatus.COMPLETED and row.details:
        parts.append("- " + _clean(row.details))
    return _prefix(clock_text) + " ".join(parts)


def heartbeat_line(rows, counts, clock_text=None, color=False):
    """The periodic plain-mode line: the counts, then each active run's time and progress.

    e.g. "[12:03:34] 2 running, 0 completed, 0 failed, 0 timeout, 0 cancelled;
    dual 1:23 50%, barrier 0:45".  It tells someone reading a CI log that the
    scan is alive between status changes.
    """
    line = _prefix(clock_text) + render_summary(counts, color)
    active = []
    for row in rows:
        if row.status not in (RunStatus.STARTING, RunStatus.RUNNING, RunStatus.PAUSED):
            continue
        bits = [_clean(row.name)]
        if row.elapsed_seconds is not None:
            bits.append(format_elapsed(row.elapsed_seconds))
        progress = format_progress(row.progress, compact=True).strip()
        if progress:
            bits.append(progress)
        if row.status == RunStatus.PAUSED:
            bits.append("paused")
        active.append(" ".join(bits))
    if active:
        line += "; " + ", ".join(active)
    return line


# -- helpers ---------------------------------------------------------------


def _row_cells(row, compact_progress=False):
    """The plain text of each column of *row*, in COLUMNS order."""
    return (
        _clean(row.name),
        LABELS.get(row.status, _clean(str(row.status))),
        _clean(row.result or ""),
        _clean(row.phase or ""),
        format_progress(row.progress, compact_progress),
        "" if row.iteration is None else str(row.iteration),
        format_elapsed(row.elapsed_seconds),
        _clean(row.details or ""),
        "" if row.pid is None else str(row.pid),
    )


def _layout(cells, compact_cells, width):
    """Choose columns and widths so the table fits *width*; see render_table()."""
    columns = list(COLUMNS)
    compact = False
    while True:
        widths = _natural_widths(compact_cells if compact else cells)
        excess = _total(columns, widths) - width
        for name in _SHRINKABLE:
            if excess <= 0:
                break
            if name not in columns:
                continue
            give = min(excess, max(0, widths[name] - MIN_WIDTHS[name]))
            widths[name] -= give
            excess -= give
        if excess <= 0:
            return columns, widths, compact
        victim = _blank_column(columns, cells)
        if victim is None and not compact:
            compact = True
            continue
        if victim is None:
            victim = next((name for name in DROP_ORDER if name in columns), None)
        if victim is None:  # only Run and Status left: lines get cut instead
            return columns, widths, compact
        columns.remove(victim)


def _natural_widths(cells):
    widths = dict((name, len(name)) for name in COLUMNS)
    for row_cells in cells:
        for name, text in zip(COLUMNS, row_cells):
            widths[name] = max(widths[name], ansi.visible_len(text))
    return widths


def _total(columns, widths):
    return sum(widths[name] for name in columns) + len(COLUMN_GAP) * (len(columns) - 1)


def _blank_column(columns, cells):
    """The rightmost droppable column that is blank in every row, or None."""
    for i in range(len(COLUMNS) - 1, -1, -1):
        name = COLUMNS[i]
        if name in columns and name in DROP_ORDER and all(not c[i] for c in cells):
            return name
    return None


def _pad(text, width, column):
    gap = " " * max(0, width - ansi.visible_len(text))
    return gap + text if column in _RIGHT_ALIGNED else text + gap


def _join(parts):
    return COLUMN_GAP.join(parts).rstrip(" ")


def _fit(line, width, ellipsis):
    """The last guard: a line that is still too wide (tiny terminal) is cut."""
    if ansi.visible_len(line) <= width:
        return line
    return ansi.truncate(line, width, ellipsis).rstrip(" ")


def _status_style(status):
    return COLOURS.get(status, "bold")


def _clean(text):
    """Control characters (newlines, tabs, ESC from a solver log) become spaces.

    One stray newline or escape code in a cell would break the line count the
    live redraw depends on, or restyle the user's terminal.
    """
    return "".join(" " if (ord(ch) < 32 or 127 <= ord(ch) < 160) else ch for ch in text).strip()


def _prefix(clock_text):
    return "[%s] " % clock_text if clock_text else ""
