"""Run states: the codes, their groups, labels and colours.

This module imports nothing from the package, so every other module (the
registry, the renderer, the report writer, the dashboard) can share one
vocabulary without import cycles.  States are plain strings because they go
straight into ``scan_report.csv`` and ``scan_state.json``.
"""

import collections


class RunStatus(object):
    """The states a single profile run can be in."""

    WAITING = "waiting"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    # Stopped by the scan itself (--cap, --race): it could no longer beat the
    # best completed run.  Not a failure: the scan still answers its question.
    CAPPED = "capped"


ALL_STATES = (
    RunStatus.WAITING, RunStatus.STARTING, RunStatus.RUNNING, RunStatus.PAUSED,
    RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.CANCELLED,
    RunStatus.INTERRUPTED, RunStatus.CAPPED,
)

# A process may exist for these states (or is about to).
ACTIVE_STATES = (RunStatus.STARTING, RunStatus.RUNNING, RunStatus.PAUSED)

# No process exists and none ever will again.
FINAL_STATES = (
    RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.CANCELLED,
    RunStatus.INTERRUPTED, RunStatus.CAPPED,
)

# Not yet final: what "cancel all" acts on.
CANCELLABLE_STATES = (RunStatus.WAITING,) + ACTIVE_STATES

# Allowed transitions: state -> states it may move to.  Anything else is a bug
# in the caller and raises InvalidTransition (see job_control).
TRANSITIONS = {
    # WAITING -> FAILED: a run never started because its solver's licence
    # already failed in this scan (JobRegistry.fail_waiting).  WAITING ->
    # CAPPED: --race ends the runs that never started once one run won.
    RunStatus.WAITING: (RunStatus.STARTING, RunStatus.CANCELLED, RunStatus.FAILED,
                        RunStatus.CAPPED),
    RunStatus.STARTING: (RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED,
                         RunStatus.TIMEOUT, RunStatus.CAPPED),
    RunStatus.RUNNING: (RunStatus.PAUSED, RunStatus.COMPLETED, RunStatus.FAILED,
                        RunStatus.TIMEOUT, RunStatus.CANCELLED, RunStatus.INTERRUPTED,
                        RunStatus.CAPPED),
    RunStatus.PAUSED: (RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED,
                       RunStatus.CANCELLED, RunStatus.INTERRUPTED, RunStatus.CAPPED),
    RunStatus.COMPLETED: (),
    RunStatus.FAILED: (),
    RunStatus.TIMEOUT: (),
    RunStatus.CANCELLED: (),
    RunStatus.INTERRUPTED: (),
    RunStatus.CAPPED: (),
}

LABELS = {
    RunStatus.WAITING: "Waiting",
    RunStatus.STARTING: "Starting",
    RunStatus.RUNNING: "Running",
    RunStatus.PAUSED: "Paused",
    RunStatus.COMPLETED: "Completed",
    RunStatus.FAILED: "Failed",
    RunStatus.TIMEOUT: "Timeout",
    RunStatus.CANCELLED: "Cancelled",
    RunStatus.INTERRUPTED: "Interrupted",
    RunStatus.CAPPED: "Capped",
}

# Style names understood by times_doctor.ansi.style(); one per state.
COLOURS = {
    RunStatus.WAITING: "dim",
    RunStatus.STARTING: "yellow",
    RunStatus.RUNNING: "green",
    RunStatus.PAUSED: "cyan",
    RunStatus.COMPLETED: "bold green",
    RunStatus.FAILED: "bold red",
    RunStatus.TIMEOUT: "red",
    RunStatus.CANCELLED: "bold yellow",
    RunStatus.INTERRUPTED: "bold cyan",
    RunStatus.CAPPED: "magenta",
}

# The same colours on a white web page (the dashboard's text, the HTML report's
# badges): style name -> (CSS colour, bold).  Dark enough for white text too.
WEB_COLOURS = {
    "dim": ("#777777", False),
    "yellow": ("#a66f00", False),
    "green": ("#2e7d32", False),
    "cyan": ("#00838f", False),
    "red": ("#c62828", False),
    "bold": ("#222222", True),
    "bold green": ("#1b5e20", True),
    "bold red": ("#b71c1c", True),
    "bold yellow": ("#9a5b00", True),
    "bold cyan": ("#006064", True),
    "magenta": ("#7b1fa2", False),
}
UNKNOWN_WEB_COLOUR = ("#616161", False)


def web_colour(state):
    """(CSS colour, bold) of *state*: the terminal's colour (COLOURS) on a web page."""
    return WEB_COLOURS.get(COLOURS.get(state), UNKNOWN_WEB_COLOUR)


# Order of the counts in every summary line (terminal, status command, dashboard).
SUMMARY_ORDER = (
    RunStatus.WAITING, RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.COMPLETED,
    RunStatus.CAPPED, RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.CANCELLED,
    RunStatus.INTERRUPTED,
)

# The outcomes every summary shows even at zero (the others only when non-zero).
ALWAYS_COUNTED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.CANCELLED)


def count_states(statuses):
    """OrderedDict state -> number of runs, in SUMMARY_ORDER: every summary's counts.

    STARTING counts as running (SUMMARY_ORDER has no starting slot and the
    counts must add up to the number of runs); a state outside SUMMARY_ORDER
    (a newer writer's) is appended rather than lost.
    """
    counts = collections.OrderedDict((state, 0) for state in SUMMARY_ORDER)
    for status in statuses:
        key = RunStatus.RUNNING if status == RunStatus.STARTING else str(status)
        counts[key] = counts.get(key, 0) + 1
    return counts


def is_final(status):
    """True if *status* can never change again."""
    return status in FINAL_STATES


def can_transition(old, new):
    """True if a run may move from *old* to *new*."""
    return new in TRANSITIONS.get(old, ())
