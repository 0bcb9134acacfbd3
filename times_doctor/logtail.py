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
from typing import List, Optional

from times_doctor.errors import ParseError
from times_doctor.logparse import decode_lines

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
        lines = []  # type: List[str]
        # Each chunk's lines are decoded as they come, so at most one chunk
        # is held twice (as bytes and as text), as in read_block's join.
        self._read(final, lambda block: lines.extend(decode_lines(block, self.max_line_bytes)))
        return lines

    def read_block(self, final=False):
        # type: (bool) -> Optional[bytes]
        """The new complete lines as one block of bytes, or None when there are none.

        Lines are separated by ``b"\\n"`` (every line end, "\\r\\n" and
        "\\r" included, becomes one), and not yet cut to ``max_line_bytes``
        or decoded: ``logparse.decode_lines(block, tail.max_line_bytes)`` is
        what ``read_lines`` returns, and ``SolverLogParser.feed_block`` takes
        the block as it is, so a monitor never splits or decodes the rows it
        does not look at.  Same arguments and errors as ``read_lines``.
        """
        blocks = []  # type: List[bytes]
        # What is there is read at once (still within max_bytes_per_call):
        # one read and one copy instead of a 64 KiB chunk loop and a join.
        self._read(final, blocks.append, whole=True)
        if not blocks:
            return None
        return blocks[0] if len(blocks) == 1 else b"\n".join(blocks)

    def _read(self, final, take_block, whole=False):
        """Read the new bytes; pass each chunk's complete lines to *take_block* as bytes.

        *whole*: the first read takes every byte the file holds (up to the
        cap), not chunk_bytes; later reads (the file grew meanwhile) go on
        in chunks.
        """
        if self._closed:
            return
        try:
            # Unbuffered for whole reads: the bytes go straight into one object.
            with open(self.path, "rb", buffering=0 if whole else -1) as stream:
                stat = os.fstat(stream.fileno())
                self._check_same_file(stat)
                stream.seek(self.offset)
                budget = self.max_bytes_per_call
                size = max(self.chunk_bytes, stat.st_size - self.offset) if whole else 0
                while budget > 0:
                    data = stream.read(min(size or self.chunk_bytes, budget))
                    size = 0
                    if not data:
                        break
                    self.offset += len(data)
                    budget -= len(data)
                    self._split(data, take_block)
                self.behind = budget <= 0 and self.offset < os.fstat(stream.fileno()).st_size
        except FileNotFoundError:
            # Not created yet, or removed between polls: nothing new to show.
            self.behind = False
        except OSError as exc:
            raise ParseError("cannot read log file %s: %s" % (self.path, exc))
        # Only once caught up: while behind, the partial line goes on in bytes
        # not read yet, and flushing it now would split one line in two.
        if final and self._partial and not self.behind:
            partial, self._partial = bytes(self._partial), bytearray()
            take_block(partial)

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

    def _split(self, data, take_block):
        """Pass the complete lines of *data* to *take_block*, as one block.

        Whole-chunk byte operations (find, slice) instead of a Python step
        per line: 16 runs logging 2,000 lines/s each must cost the scanner
        almost nothing (see bench "monitor_outside").
        """
        if self._skip_lf and data[:1] == b"\n":
            data = data[1:]
        # A chunk ending in "\r" may be the first half of "\r\n".
        self._skip_lf = data[-1:] == b"\r"
        if b"\r" in data:  # a scan at memchr speed; most logs have none
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        last_eol = data.rfind(b"\n")
        if last_eol < 0:
            self._append_partial(data)
            return
        # Only the first line continues the buffered partial line.
        first_eol = data.find(b"\n")
        self._append_partial(data[:first_eol])
        block = bytes(self._partial) + data[first_eol:last_eol]
        self._partial = bytearray()
        take_block(block)
        self._append_partial(data[last_eol + 1:])

    def _append_partial(self, piece):
        # type: (bytes) -> None
        room = self.max_line_bytes - len(self._partial)
        if room > 0:
            self._partial += piece[:room]


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

