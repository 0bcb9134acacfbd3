"""Which lines of a batch of new log lines a parser needs to see.

Iteration rows (lines starting with a digit, or ``Iteration:``) are the bulk
of a solver log, and only the newest of them decide what the table shows.
So of a batch, every other line (phase markers, headers, status lines) is
fed to the parser; of the rows, the first few after each marker (the
barrier estimate needs the starting values) and the last ``keep_rows``
before each marker and at the end of the batch, in their order.  The rows
in between cost one cheap prefix test (``feed_lines``), or nothing at all
(``feed_block``: the regex engine skips them in C).

Solver-neutral: the functions take the parser's ``feed`` and know nothing
of any grammar.  ``SolverLog.feed_lines`` / ``feed_block`` are the callers.
"""

import collections
import re

from typing import Callable, List, Optional  # noqa: F401  (used in type comments)

# Rows parsed after each non-row line, and the newest rows before each
# non-row line and at the end of a batch.
ROWS_AFTER_MARKER = 2
DEFAULT_KEEP_ROWS = 4

# feed_block(): a line break NOT followed by a line that surely is an
# iteration row (up to 32 spaces or tabs, then an ASCII digit or
# "Iteration:").  The regex engine finds these in C, so the rows in between
# are never split or decoded in Python; each match is only a candidate and is
# checked with is_row() itself (a row may start with a non-ASCII digit or
# other whitespace).
_CANDIDATE_MARKER = re.compile(b"\n(?![ \t]{0,32}(?:[0-9]|Iteration:))")
# Lines cut shorter than this could lose the prefix that made the regex call
# them rows (43 bytes at most), so feed_block() then takes the line-by-line way.
_SURE_ROW_PREFIX_BYTES = 64


def feed_lines(feed, lines, keep_rows=DEFAULT_KEEP_ROWS):
    # type: (Callable[[str], None], List[str], int) -> None
    """Pass to *feed* the lines of *lines* the display needs (see the module docstring).

    16 runs logging 2,000 lines/s each stay at a small share of one core,
    where parsing every line would take a fifth of it.  The parser's
    history just gets fewer of the skipped points, which it thins out anyway.
    """
    newest_rows = collections.deque(maxlen=keep_rows)
    follow = 0
    for line in lines:
        if is_row(line):
            if follow:
                follow -= 1
                feed(line)
            else:
                newest_rows.append(line)
            continue
        while newest_rows:
            feed(newest_rows.popleft())
        feed(line)
        follow = ROWS_AFTER_MARKER
    while newest_rows:
        feed(newest_rows.popleft())


def feed_block(feed, data, max_line_bytes=None, keep_rows=DEFAULT_KEEP_ROWS):
    # type: (Callable[[str], None], bytes, Optional[int], int) -> None
    """feed_lines() for a block of lines as LogTail.read_block() returns them.

    *data* is UTF-8 bytes, lines separated by ``b"\\n"``; each line is cut
    to *max_line_bytes* and decoded with replacement, so the result is
    exactly that of ``feed_lines(feed, decode_lines(data, max_line_bytes))``.
    But only the lines feed_lines() would parse are ever cut out and
    decoded: the non-row lines, which one regex search finds, and the
    rows next to them and at the end.  A burst of 100,000 rows costs one
    pass of the regex engine instead of 100,000 Python steps.
    """
    limit = max_line_bytes
    if limit is not None and limit < _SURE_ROW_PREFIX_BYTES:
        feed_lines(feed, decode_lines(data, limit), keep_rows)
        return
    size = len(data)

    def line_at(start):
        end = data.find(b"\n", start)
        if end < 0:
            end = size
        stop = end if limit is None else min(end, start + limit)
        return end, data[start:stop].decode("utf-8", "replace")

    def feed_rows(start, stop, follow):
        """Of the rows in data[start:stop], feed the first *follow* and the last keep_rows."""
        position = start
        while follow and position < stop:
            end, line = line_at(position)
            feed(line)
            follow -= 1
            position = end + 1
        if position >= stop or keep_rows <= 0:
            return
        starts = []
        cut = stop - 1  # the "\n" that ends the last row
        while len(starts) < keep_rows:
            before = data.rfind(b"\n", position, cut)
            line_start = before + 1 if before >= 0 else position
            starts.append(line_start)
            if before < 0:
                break
            cut = before
        for line_start in reversed(starts):
            feed(line_at(line_start)[1])

    rows_from = 0  # where the current run of rows began
    follow = 0     # the batch's first rows follow no marker (as in feed_lines)
    line_start = 0
    matches = _CANDIDATE_MARKER.finditer(data)
    while True:
        end, line = line_at(line_start)
        if not is_row(line):
            feed_rows(rows_from, line_start, follow)
            feed(line)
            follow = ROWS_AFTER_MARKER
            rows_from = end + 1
        # The next candidate after this line.
        line_start = -1
        for match in matches:
            if match.start() >= end:
                line_start = match.start() + 1
                break
        if line_start < 0:
            break
    feed_rows(rows_from, size + 1, follow)


def decode_lines(data, max_line_bytes=None):
    # type: (bytes, Optional[int]) -> List[str]
    """The lines of a block (``b"\\n"``-separated), each cut to *max_line_bytes* and decoded."""
    pieces = data.split(b"\n")
    if max_line_bytes is not None and len(data) > max_line_bytes \
            and max(map(len, pieces)) > max_line_bytes:
        pieces = [piece[:max_line_bytes] for piece in pieces]
    # "\n" never occurs inside a UTF-8 sequence, so decoding the joined
    # lines at once splits exactly like decoding each line.
    return b"\n".join(pieces).decode("utf-8", "replace").split("\n")


def is_row(line):
    # type: (str) -> bool
    """An iteration row: starts (after blanks) with a digit or ``Iteration:``."""
    stripped = line.lstrip()
    return stripped[:1].isdigit() or stripped.startswith("Iteration:")
