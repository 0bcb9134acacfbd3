"""The Ctrl+C cancel menu.

The parsing of what the user types is a pure function (parse_selection), so
every odd input has an exact expected answer in a unit test.  The dialogue
(run_cancel_menu) talks through a small io object, which the scan backs with
TerminalIO: the real terminal and a select() loop that notices a second
Ctrl+C at once.
"""

import os
import re

from times_doctor.errors import ParseError
from times_doctor.job_control import ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME
from times_doctor.proc.signals import EXIT_BY_SIGNAL
from times_doctor.states import CANCELLABLE_STATES, RunStatus

MENU_TITLE = "\u2550\u2550\u2550 Cancel Menu \u2550\u2550\u2550"
MENU_TITLE_ASCII = "=== Cancel Menu ==="

OPTIONS = (
    ("1", "Cancel specific runs (enter names/numbers)"),
    ("2", "Cancel all running jobs"),
    ("3", "Abort scan (cancel all and exit)"),
    ("4", "Resume (continue)"),
    ("5", "Interrupt runs (keep best solution)"),
    ("6", "Pause/resume runs"),
)

FOOTER = "Press Ctrl+C again to immediately cancel all and abort"

# What the dialogue decided; the scan's main loop acts on it.
RESUME = "resume"
CANCELLED_SOME = "cancelled-some"
CANCEL_ALL = "cancel-all"
ABORT = "abort"
ACTED = "acted"  # interrupt / pause / resume requests were made

_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
# Guards against "1-999999999" allocating a huge list.
_MAX_RANGE = 10000
# No scan has a billion runs; longer digit strings are typos, not numbers.
_MAX_NUMBER_DIGITS = 9


class SelectionError(ParseError):
    """A token the user typed names no run; nothing is cancelled."""


class MenuInterrupted(Exception):
    """Raised by the io object when a signal arrives while the menu waits."""

    def __init__(self, signal_name="SIGINT"):
        Exception.__init__(self, signal_name)
        self.signal_name = signal_name


def menu_text(unicode_ok=True):
    """The menu exactly as shown, as a list of lines."""
    lines = [MENU_TITLE if unicode_ok else MENU_TITLE_ASCII]
    lines.extend("%s) %s" % option for option in OPTIONS)
    lines.append("")
    lines.append(FOOTER)
    return lines


def parse_selection(text, candidates):
    """Turn '1,3-4' or 'dual, bar_nox' into run names.

    Args:
        text: what the user typed.
        candidates: the selectable run names, numbered from 1 in this order.

    Returns:
        The selected names, in candidate order, without duplicates.

    Raises:
        SelectionError: naming every token that matches no run (so nothing
            is cancelled by a typo).
    """
    chosen = set()
    unknown = []
    lowered = {}
    for name in candidates:
        lowered.setdefault(name.lower(), []).append(name)
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        if token in candidates:
            chosen.add(token)
            continue
        if len(lowered.get(token.lower(), ())) == 1:
            chosen.add(lowered[token.lower()][0])
            continue
        match = _RANGE.match(token)
        if match:
            low, high = _run_number(match.group(1)), _run_number(match.group(2))
            if (low is not None and high is not None and 1 <= low <= high <= len(candidates)
                    and high - low < _MAX_RANGE):
                chosen.update(candidates[low - 1:high])
                continue
        else:
            number = _run_number(token)
            if number is not None and 1 <= number <= len(candidates):
                chosen.add(candidates[number - 1])
                continue
        unknown.append(token)
    if unknown:
        raise SelectionError("no run matches %s: use a number 1-%d or a name listed above"
                             % (", ".join(repr(t) for t in unknown), len(candidates)))
    return [name for name in candidates if name in chosen]


def _run_number(text):
    """*text* as a run number, or None.

    Not str.isdigit(): it accepts superscripts ("\u00b2") that int() refuses; and no
    int() of thousands of digits, which Python 3.11+ refuses (ValueError) too.
    """
    if not text.isdecimal() or len(text) > _MAX_NUMBER_DIGITS:
        return None
    return int(text)


def selectable_runs(snapshots):
    """Runs that option 1 may cancel: running and waiting ones, in scan order."""
    return [snap for snap in snapshots if snap.status in CANCELLABLE_STATES]


def interruptible_runs(snapshots):
    """Runs option 5 may interrupt: started, not being cancelled."""
    return [snap for snap in snapshots
            if snap.status in (RunStatus.STARTING, RunStatus.RUNNING, RunStatus.PAUSED)
            and not snap.cancel_requested]


def pausable_runs(snapshots):
    """Runs option 6 may pause (running) or resume (paused)."""
    return [snap for snap in snapshots
            if snap.status in (RunStatus.RUNNING, RunStatus.PAUSED) and not snap.cancel_requested]


def run_cancel_menu(io, registry, unicode_ok=True):
    """Show the menu, read the choice, act on option 1 directly.

    Args:
        io: object with write(text) and read_line() -> str or None (EOF);
            read_line raises MenuInterrupted on a further Ctrl+C.
        registry: the scan's JobRegistry.

    Returns:
        RESUME, CANCELLED_SOME, CANCEL_ALL, ABORT or ACTED.

    Raises:
        MenuInterrupted: from io, when the user presses Ctrl+C again.
    """
    io.write("\n".join(menu_text(unicode_ok)) + "\n")
    while True:
        io.write("Choice [4]: ")
        line = io.read_line()
        if line is None:
            return RESUME
        choice = line.strip()
        if choice in ("", "4"):
            return RESUME
        if choice == "2":
            return CANCEL_ALL
        if choice == "3":
            return ABORT
        if choice == "1":
            return _cancel_specific(io, registry)
        if choice == "5":
            return _interrupt_specific(io, registry)
        if choice == "6":
            return _pause_or_resume(io, registry)
        io.write("Unknown choice %r: type a number from 1 to 6.\n" % choice[:40])


def _cancel_specific(io, registry):
    selected = _choose(io, lambda: selectable_runs(registry.snapshot()),
                       "Runs to cancel (e.g. 1,3-4 or dual, bar_nox; empty to go back): ",
                       "No running or waiting runs left.\n")
    if not selected:
        return RESUME
    # In one step: one by one, a waiting run could start as the running one ends.
    cancelled = set(registry.cancel_all(names=selected))
    done = [name for name in selected if name in cancelled]
    if done:
        io.write("Cancelling: %s\n" % ", ".join(done))
    gone = [name for name in selected if name not in done]
    if gone:
        io.write("Already finished: %s\n" % ", ".join(gone))
    return CANCELLED_SOME if done else RESUME


def _choose(io, list_runs, prompt, none_left):
    """List the runs *list_runs()* returns, read a selection; returns names, or None to go back.

    The list is taken afresh for every attempt: after a typo, a run that
    ended meanwhile is no longer offered.  With no runs, *none_left* is
    written and None returned.
    """
    while True:
        runs = list_runs()
        if not runs:
            io.write(none_left)
            return None
        names = [snap.name for snap in runs]
        for number, snap in enumerate(runs, 1):
            io.write("  %d) %s  [%s]\n" % (number, snap.name, snap.status))
        io.write(prompt)
        line = io.read_line()
        if line is None or not line.strip():
            return None
        try:
            return parse_selection(line, names)
        except SelectionError as exc:
            io.write("%s\n" % exc)


def _interrupt_specific(io, registry):
    selected = _choose(io, lambda: interruptible_runs(registry.snapshot()),
                       "Runs to interrupt: the solver stops and GAMS reports its best "
                       "point (e.g. 1,3 or dual; empty to go back): ",
                       "No started runs to interrupt.\n")
    if not selected:
        return RESUME
    done = [name for name in selected if registry.request_action(name, ACTION_INTERRUPT)]
    if done:
        io.write("Interrupting: %s\n" % ", ".join(done))
    return ACTED if done else RESUME


def _pause_or_resume(io, registry):
    selected = _choose(io, lambda: pausable_runs(registry.snapshot()),
                       "Runs to pause (running ones) or resume (paused ones) "
                       "(e.g. 1,3 or dual; empty to go back): ", "No running or paused runs.\n")
    if not selected:
        return RESUME
    paused, resumed = [], []
    for name in selected:
        if registry.get(name).status == RunStatus.PAUSED:
            if registry.request_action(name, ACTION_RESUME):
                resumed.append(name)
        elif registry.request_action(name, ACTION_PAUSE):
            paused.append(name)
    if paused:
        io.write("Pausing: %s\n" % ", ".join(paused))
    if resumed:
        io.write("Resuming: %s\n" % ", ".join(resumed))
    return ACTED if paused or resumed else RESUME


class TerminalIO(object):
    """Menu I/O on the real terminal: line reads that a Ctrl+C interrupts."""

    def __init__(self, stdin, stdout, signals, on_idle=None):
        self.stdin = stdin
        self.stdout = stdout
        self.signals = signals
        self.on_idle = on_idle
        self._buffer = b""

    def write(self, text):
        self.stdout.write(text)
        self.stdout.flush()

    def read_line(self):
        fd = self.stdin.fileno()
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line, self._buffer = self._buffer[:newline], self._buffer[newline + 1:]
                return line.decode("utf-8", "replace")
            readable = self.signals.wait(0.5, extra_fds=[fd])
            event = self.signals.pop()
            if event is not None:
                # A second Ctrl+C, or SIGTERM/SIGHUP, while the menu is open.
                name = event[0] if event[0] in EXIT_BY_SIGNAL else "SIGTERM"
                raise MenuInterrupted(name)
            if self.on_idle is not None:
                self.on_idle()
            if fd in readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    return None
                self._buffer += chunk[:4096]
                if len(self._buffer) > 65536:
                    self._buffer = self._buffer[-65536:]
