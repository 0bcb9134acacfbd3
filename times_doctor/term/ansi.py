"""Terminal escape codes, the colour decision and width-aware text helpers.

Every escape sequence times-doctor writes is in ``ESCAPES`` (and the SGR
parameters of the named styles in ``STYLES``), so a reviewer can see in one
place everything we might send to a terminal, and a test can assert that none
of it reached a pipe.  Nothing here writes to a stream.
"""

import os
import re
import unicodedata

# The one table of escape sequences.  "%d"/"%s" slots are filled by the helpers
# below; callers never spell an escape code themselves.
ESCAPES = {
    "carriage_return": "\r",
    "erase_line": "\x1b[2K",       # CSI 2 K: the whole line, cursor stays put
    "cursor_up": "\x1b[%dA",       # CSI n A
    "hide_cursor": "\x1b[?25l",    # DECTCEM off: no cursor flicker while redrawing
    "show_cursor": "\x1b[?25h",    # DECTCEM on
    "sgr": "\x1b[%sm",             # Select Graphic Rendition with the STYLES params
    "reset": "\x1b[0m",
}

# Style name -> SGR parameters.  The names are the ones states.COLOURS uses.
STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
    "magenta": "35",
    "bold red": "1;31",
    "bold green": "1;32",
    "bold yellow": "1;33",
    "bold cyan": "1;36",
}

# CSI sequences (SGR and cursor movement): what visible_len() must not count.
_CSI_RE = re.compile("\x1b\\[[0-?]*[ -/]*[@-~]")
_SGR_RESET = ESCAPES["reset"]


def style(text, style_name, enabled):
    """Wrap *text* in the SGR codes of *style_name* when *enabled*.

    Raises KeyError for an unknown style name: a typo should fail in tests,
    not silently print plain text.
    """
    params = STYLES[style_name]
    if not enabled or not text:
        return text
    return ESCAPES["sgr"] % params + text + _SGR_RESET


def cursor_up(n):
    """The sequence that moves the cursor up *n* rows ("" for n <= 0)."""
    if n <= 0:
        return ""
    return ESCAPES["cursor_up"] % n


def clear_lines(height):
    """Erase the *height* lines ending at the cursor's line; leave the cursor at column 0 of the first.

    Same shape as Rich's LiveRender.position_cursor(): carriage return, erase
    line, then (cursor up, erase line) per remaining row.  Erasing every row,
    not just moving over it, means a shorter redraw leaves no stale rows.
    """
    if height <= 0:
        return ""
    step = cursor_up(1) + ESCAPES["erase_line"]
    return ESCAPES["carriage_return"] + ESCAPES["erase_line"] + step * (height - 1)


def hide_cursor():
    return ESCAPES["hide_cursor"]


def show_cursor():
    return ESCAPES["show_cursor"]


def color_enabled(stream, no_color_flag=False, environ=None):
    """Decide whether to write SGR colour codes to *stream*.

    In order: ``--no-color``, a non-empty ``NO_COLOR`` (no-color.org: "present
    and not an empty string") and ``TERM=dumb`` turn colour off; a non-empty
    ``FORCE_COLOR`` turns it on even for a pipe (so CI logs that render ANSI
    can have colour); otherwise colour iff *stream* is a terminal.
    """
    if environ is None:
        environ = os.environ
    if no_color_flag:
        return False
    if environ.get("NO_COLOR", ""):
        return False
    if environ.get("TERM", "") == "dumb":
        return False
    if environ.get("FORCE_COLOR", ""):
        return True
    return is_tty(stream)


def live_capable(stream, environ=None):
    """True if *stream* is a terminal that understands cursor movement.

    ``TERM=dumb`` (Emacs shell buffers, some CI runners) is a terminal that
    cannot move the cursor up, so in-place redraw would print garbage there.
    """
    if environ is None:
        environ = os.environ
    return is_tty(stream) and environ.get("TERM", "") != "dumb"


def is_tty(stream):
    """stream.isatty(), False for objects without it or already closed."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except ValueError:  # "I/O operation on closed file"
        return False


def terminal_width(stream, default=100, environ=None):
    """Columns available on *stream*.

    Same precedence as shutil.get_terminal_size(): a valid ``COLUMNS`` wins
    (an explicit user override), then the size of *stream*'s own file
    descriptor (not sys.__stdout__'s: we may be drawing on stderr), then
    *default* for pipes, StringIO and terminals that report 0 columns.
    """
    return _terminal_dimension(stream, "COLUMNS", 0, default, environ)


def terminal_height(stream, default=24, environ=None):
    """Rows available on *stream*; ``LINES``, the descriptor, then *default*."""
    return _terminal_dimension(stream, "LINES", 1, default, environ)


def visible_len(text):
    """Columns *text* takes on a terminal: escape codes count 0, wide CJK 2, combining marks 0."""
    return sum(_char_width(ch) for ch in _CSI_RE.sub("", text))


def truncate(text, width, ellipsis="\u2026"):
    """Cut *text* to at most *width* visible columns, ending in *ellipsis* if cut.

    Escape codes are kept whole (never cut in half) and a reset is appended if
    the cut may have left a style open, so a truncated coloured cell cannot
    colour the rest of the line.
    """
    if width <= 0:
        return ""
    if visible_len(text) <= width:
        return text
    if visible_len(ellipsis) > width:
        ellipsis = ""
    budget = width - visible_len(ellipsis)
    out = []
    used = 0
    saw_escape = False
    pos = 0
    for match in _CSI_RE.finditer(text):
        used = _take(text[pos:match.start()], budget, used, out)
        if used > budget:
            break
        out.append(match.group(0))
        saw_escape = True
        pos = match.end()
    else:
        _take(text[pos:], budget, used, out)
    result = "".join(out) + ellipsis
    if saw_escape:
        result += _SGR_RESET
    return result


def encoding_can_print(stream, text):
    """True if *text* can be written to *stream* without UnicodeEncodeError.

    Python 3.6 under LANG=C gives stdout an ASCII encoding; box-drawing
    characters (the menu's '\u2550') or an ellipsis would crash the scan there.
    A stream without an encoding (io.StringIO) takes any str.
    """
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return True
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:  # an encoding name Python does not know
        return False
    return True


def printable(stream, text):
    """*text* with characters *stream* cannot encode replaced by '?'.

    Solver logs and run names may hold any character; a progress display
    must not be the thing that kills a scan over one.
    """
    if encoding_can_print(stream, text):
        return text
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        return text.encode(encoding, "replace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "replace").decode("ascii")


# -- helpers ---------------------------------------------------------------


def _terminal_dimension(stream, env_name, index, default, environ):
    if environ is None:
        environ = os.environ
    try:
        value = int(environ.get(env_name, ""))
    except ValueError:
        value = 0
    if value > 0:
        return value
    try:
        value = os.get_terminal_size(stream.fileno())[index]
    except (AttributeError, ValueError, OSError):
        # AttributeError: no fileno(); io.UnsupportedOperation (StringIO) is
        # both a ValueError and an OSError; OSError: not a terminal.
        value = 0
    return value if value > 0 else default


def _char_width(ch):
    if unicodedata.combining(ch):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def _take(chunk, budget, used, out):
    """Append characters of *chunk* to *out* while they fit *budget*; return columns used.

    Returns more than *budget* once a character did not fit, which tells the
    caller to stop.
    """
    for ch in chunk:
        w = _char_width(ch)
        if used + w > budget:
            return budget + 1
        out.append(ch)
        used += w
    return used
