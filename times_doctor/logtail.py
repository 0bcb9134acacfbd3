"""Incremental reading of a log file that another process is still writing.

A GAMS run writes its log (``lo=2``) for minutes or hours and the log of a
large TIMES model reaches tens of megabytes. The tool this project grew from
re-read the whole file on every poll and kept every line; ``LogTail`` reads
only the bytes added since the last call and keeps nothing but one bounded
partial line, so memory does not grow with the size of the log or the length
of its lines.
"""

import os
import re
from typing import List

from times_doctor.errors import ParseError

DEFAULT_MAX_LINE_BYTES = 65536
DEFAULT_MAX_BYTES_PER_CALL = 4 * 1024 * 1024
DEFAULT_CHUNK_BYTES = 65536
DEFAULT_TAIL_MAX_BYTES = 1024 * 1024

# Solvers print progress with bare "\r" as well as "\n"; a Windows build
# writes "\r\n". All three end a line.
_EOL = re.compile(b"\r\n|\r|\n")


class LogTail(object):
    """Return the complete lines added to a file since the previous call.

    Args:
        path: the log file. It may not exist yet (GAMS creates it a moment
            after it starts); ``read_lines`` then returns ``[]``.
        max_line_bytes: longest line kept, in bytes. A longer line is
            truncated to this length (the rest is dropped as it arrives),
            so a runaway line without a newline cannot fill memory.
        max_bytes_per_call: most bytes read by one ``read_lines`` call. When
            a writer dumps 50 MB at once, the caller (a display refresh loop)
            gets the first 4 MiB now and the rest on later calls instead of
            stalling; ``behind`` tells it more is already waiting.
        chunk_bytes: size of each ``read``; the file is never read whole.

    The file is opened and closed again on every call: a replaced log (new
    inode) is noticed, and on Windows the writer can always rename or delete
    it. A file that became shorter than what was already read (truncated or
    rewritten) is read again from its start.
    """

    def __init__(self, path, max_line_bytes=DEFAULT_MAX_LINE_BYTES,
                 max_bytes_per_call=DEFAULT_MAX_BYTES_PER_CALL,
                 chunk_bytes=DEFAULT_CHUNK_BYTES):
        if max_line_bytes < 1 or max_bytes_per_call < 1 or chunk_bytes < 1:
            raise ValueError("LogTail sizes must be positive")
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.max_bytes_per_call = max_bytes_per_call
        self.chunk_bytes = chunk_bytes
        self.offset = 0          # bytes of the file consumed so far
        self.behind = False      # True when the last call stopped at the cap
        self._partial = bytearray()
        self._skip_lf = False    # last chunk ended in "\r": a leading "\n" is its pair
        self._file_id = None     # (st_dev, st_ino) of the file last read
        self._closed = False

    def read_lines(self, final=False):
        # type: (bool) -> List[str]
        """Return the new complete lines, decoded as UTF-8 with replacement.

        Args:
            final: also return the trailing text that has no line end yet
                (use once the writer has exited; while ``behind``, it waits
                for the call that catches up).

        Raises:
            ParseError: the file exists but cannot be read.
        """
        if self._closed:
            return []
        lines = []  # type: List[str]
        try:
            with open(self.path, "rb") as stream:
                self._check_same_file(os.fstat(stream.fileno()))
                stream.seek(self.offset)
                budget = self.max_bytes_per_call
                while budget > 0:
                    data = stream.read(min(self.chunk_bytes, budget))
                    if not data:
                        break
                    self.offset += len(data)
                    budget -= len(data)
                    self._split(data, lines)
                self.behind = budget <= 0 and self.offset < os.fstat(stream.fileno()).st_size
        except FileNotFoundError:
            # Not created yet, or removed between polls: nothing new to show.
            self.behind = False
        except OSError as exc:
            raise ParseError("cannot read log file %s: %s" % (self.path, exc))
        # Only once caught up: while behind, the partial line goes on in bytes
        # not read yet, and flushing it now would split one line in two.
        if final and self._partial and not self.behind:
            lines.append(self._take_partial())
        return lines

    def close(self):
        """Drop the buffered partial line; later calls return ``[]``."""
        self._closed = True
        self._partial = bytearray()

    def _check_same_file(self, stat):
        file_id = (stat.st_dev, stat.st_ino)
        replaced = (self._file_id is not None and stat.st_ino != 0
                    and self._file_id != file_id)
        self._file_id = file_id
        if replaced or stat.st_size < self.offset:
            self.offset = 0
            self._partial = bytearray()
            self._skip_lf = False

    def _split(self, data, lines):
        # type: (bytes, List[str]) -> None
        """Append the complete lines of *data* to *lines*.

        Whole-chunk byte operations (replace, split, one decode) instead of a
        Python step per line: 16 runs logging 2,000 lines/s each must cost
        the scanner almost nothing (see bench "monitor").
        """
        if self._skip_lf and data[:1] == b"\n":
            data = data[1:]
        # A chunk ending in "\r" may be the first half of "\r\n".
        self._skip_lf = data[-1:] == b"\r"
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        last_eol = data.rfind(b"\n")
        if last_eol < 0:
            self._append_partial(data)
            return
        # Only the first line continues the buffered partial line.
        first_eol = data.find(b"\n")
        self._append_partial(data[:first_eol])
        complete = bytes(self._partial) + data[first_eol:last_eol]
        self._partial = bytearray()
        self._append_partial(data[last_eol + 1:])
        pieces = complete.split(b"\n")
        limit = self.max_line_bytes
        if len(complete) > limit and max(map(len, pieces)) > limit:
            pieces = [piece[:limit] for piece in pieces]
        # "\n" never occurs inside a UTF-8 sequence, so decoding the joined
        # lines at once splits exactly like decoding each line.
        lines.extend(b"\n".join(pieces).decode("utf-8", "replace").split("\n"))

    def _append_partial(self, piece):
        # type: (bytes) -> None
        room = self.max_line_bytes - len(self._partial)
        if room > 0:
            self._partial += piece[:room]

    def _take_partial(self):
        # type: () -> str
        text = bytes(self._partial).decode("utf-8", "replace")
        self._partial = bytearray()
        return text


def tail_lines(path, n, max_bytes=DEFAULT_TAIL_MAX_BYTES):
    # type: (str, int, int) -> List[str]
    """Return the last ``n`` lines of a file, reading at most ``max_bytes``.

    Used for "the last lines of the log" in failure reports. The file is read
    backwards in blocks from its end, so a 50 MB log costs ``max_bytes`` of
    memory at most. When the limit cuts a line, that partial first line is
    left out unless it is all there is.

    Returns ``[]`` when the file does not exist.

    Raises:
        ParseError: the file exists but cannot be read.
    """
    if n <= 0:
        return []
    try:
        with open(path, "rb") as stream:
            data, at_start = _read_tail(stream, n, max_bytes)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ParseError("cannot read log file %s: %s" % (path, exc))
    pieces = _EOL.split(data)
    if pieces and pieces[-1] == b"":
        pieces.pop()  # the file ends with a line end
    if not at_start and len(pieces) > 1:
        pieces.pop(0)  # cut by max_bytes or by the block boundary
    return [p.decode("utf-8", "replace") for p in pieces[-n:]]


def _read_tail(stream, n, max_bytes):
    """Read blocks backwards until ``n`` + 1 line ends or ``max_bytes``."""
    end = stream.seek(0, os.SEEK_END)
    position = end
    blocks = []  # type: List[bytes]
    size = 0
    line_ends = 0
    while position > 0 and size < max_bytes and line_ends <= n:
        step = min(DEFAULT_CHUNK_BYTES, position, max_bytes - size)
        position -= step
        stream.seek(position)
        block = stream.read(step)
        blocks.append(block)
        size += len(block)
        # "\r\n" is one line end, not two.
        line_ends += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
    blocks.reverse()
    return b"".join(blocks), position == 0

