"""The exceptions times-doctor raises on purpose.

The CLI turns every TimesDoctorError into one line on stderr and its
``exit_code``; anything else is a bug and shows a traceback only with --debug.
"""

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 3
# cancel/interrupt/pause/resume: no live scanner holds the output directory.
EXIT_NO_SCANNER = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143
EXIT_SIGHUP = 129
EXIT_INTERNAL = 70  # a bug in times-doctor (BSD sysexits EX_SOFTWARE)


def show_value(text):
    """*text* for a one-line message: control characters escaped (repr)."""
    text = str(text)
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        return repr(text)
    return text


def os_reason(error):
    """The short reason of an OSError, e.g. 'Permission denied'."""
    return error.strerror or error.__class__.__name__


class TimesDoctorError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    exit_code = EXIT_USAGE

    def __init__(self, message, exit_code=None):
        Exception.__init__(self, message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self):
        return self.message


class UsageError(TimesDoctorError):
    """Bad command-line input; nothing was run."""


class RunDirError(UsageError):
    """The run directory, driver or output folder is missing or unusable."""


class GamsNotFoundError(UsageError):
    """The GAMS executable cannot be found or run."""


class ProfileError(UsageError):
    """An unknown profile name or an unusable option file."""


class ParseError(TimesDoctorError):
    """Input (a .lst, a log, an option file, a request) could not be read.

    Parsers raise only this (or return partial results); never a raw
    UnicodeDecodeError or IndexError.
    """


class InvalidTransition(TimesDoctorError):
    """A run was asked to move between states that do not connect.

    Raised for programming errors, so the message names both states.
    """

    exit_code = EXIT_INTERNAL

    def __init__(self, name, old, new):
        TimesDoctorError.__init__(
            self, "run %r cannot go from %s to %s" % (name, old, new))
        self.name = name
        self.old = old
        self.new = new


class ScanLockedError(TimesDoctorError):
    """Another scan holds the output directory."""


class ControlError(TimesDoctorError):
    """A control request could not be delivered or was refused."""
