"""Incremental reading of a log file that another process is still writing.

A GAMS run writes its log (``lo=2``) for minutes or hours and the log of a
large TIMES model reaches tens of megabytes. The tool this project grew from
re-read the whole file on every poll and kept every line; ``LogTail`` reads
only the bytes added since the last call and keeps nothing but one bounded
partial line, so memory does not grow with the size of the log or the length
of its lines.

``LogPoller`` is the one thread that reads every running log of a scan in
turn: a reader thread per run would cost the scanner more in wake-ups and
cold caches than the reading itself.
"""

import os
import re
import threading
from typing import Callable, Dict, List, Optional  # noqa: F401 (type comments)

from times_doctor.errors import ParseError
from times_doctor.solvers.log_batch import decode_lines

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
        self._read(final, lambda pieces: lines.extend(
            decode_lines(b"".join(pieces), self.max_line_bytes)))
        return lines

    def read_block(self, final=False):
        # type: (bool) -> Optional[bytes]
        """The new complete lines as one block of bytes, or None when there are none.

        Lines are separated by ``b"\\n"`` (every line end, "\\r\\n" and
        "\\r" included, becomes one), and not yet cut to ``max_line_bytes``
        or decoded: ``log_batch.decode_lines(block, tail.max_line_bytes)`` is
        what ``read_lines`` returns, and ``SolverLogParser.feed_block`` takes
        the block as it is, so a monitor never splits or decodes the rows it
        does not look at.  Same arguments and errors as ``read_lines``.
        """
        pieces = []  # type: List[object]

        def take(block_pieces):
            if pieces:
                pieces.append(b"\n")
            pieces.extend(block_pieces)
        self._read(final, take)
        if not pieces:
            return None
        # One copy of the bytes read: the chunks' rows go in as memoryviews.
        return b"".join(pieces)

    def _read(self, final, take_block):
        """Read the new bytes; pass each chunk's complete lines to *take_block*.

        *take_block* gets a list of bytes-like pieces (bytes, memoryview)
        whose concatenation is the block, lines separated by ``b"\\n"``.

        In chunks of chunk_bytes, never all at once: a large read allocates
        a fresh buffer each time, and the memory allocator hands such sizes
        back to the OS and takes them again, so every poll would pay a page
        fault per 4 KiB.  64 KiB buffers are reused.
        """
        if self._closed:
            return
        try:
            # Unbuffered: each chunk goes straight into one bytes object.
            with open(self.path, "rb", buffering=0) as stream:
                stat = os.fstat(stream.fileno())
                self._check_same_file(stat)
                stream.seek(self.offset)
                budget = self.max_bytes_per_call
                while budget > 0:
                    wanted = min(self.chunk_bytes, budget)
                    data = stream.read(wanted)
                    if not data:
                        break
                    self.offset += len(data)
                    budget -= len(data)
                    self._split(data, take_block)
                    if len(data) < wanted:
                        break  # the end of the file as it is now: no empty read to find it
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
            take_block([partial])

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
        """Pass the complete lines of *data* to *take_block*, as the pieces of one block.

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
            self._append_partial(data, 0, len(data))
            return
        # Only the first line continues the buffered partial line.  The rest
        # is handed over as a view: the caller's join is its only copy.
        first_eol = data.find(b"\n")
        self._append_partial(data, 0, first_eol)
        first_line = bytes(self._partial)
        self._partial = bytearray()
        take_block([first_line, memoryview(data)[first_eol:last_eol]])
        self._append_partial(data, last_eol + 1, len(data))

    def _append_partial(self, data, start, stop):
        # type: (bytes, int, int) -> None
        """Add data[start:stop] to the partial line, cut to max_line_bytes.

        Only what fits is sliced: a 100 kB line must not be copied whole to
        keep its first 64 KiB.
        """
        room = self.max_line_bytes - len(self._partial)
        if room > 0 and stop > start:
            self._partial += data[start:min(stop, start + room)]


class LogPoller(object):
    """One thread that calls each registered log reader in turn, every *interval_seconds*.

    A worker waking twice a second to read its own log would mean, with
    16 runs, 32 wake-ups a second, each on a cold cache, costing the
    scanner more than the bytes.  So a worker
    registers a reader (a callable that reads its log once and shows what
    it found) and sleeps on its events only; this thread makes one pass
    over all readers per interval.

    ``remove`` returns only once that reader is not running and will not
    run again, so the worker can do its final read itself without racing
    this thread.  A reader's exception stops that reader only, and is handed
    to the worker by ``remove``.

    Args:
        interval_seconds: time between passes (the first pass comes one
            interval after the first ``add``).
        name: the thread's name.
    """

    def __init__(self, interval_seconds, name="td-logs"):
        if interval_seconds <= 0:
            raise ValueError("LogPoller interval must be positive")
        self.interval_seconds = interval_seconds
        self._name = name
        self._lock = threading.Lock()     # _readers, _errors, _thread, _stopped
        self._reading = threading.Lock()  # held while one reader runs; taken before _lock
        self._readers = {}  # type: Dict[str, Callable[[], None]]
        self._errors = {}   # type: Dict[str, BaseException]
        self._done = threading.Event()
        self._thread = None  # type: Optional[threading.Thread]
        self._stopped = False

    def add(self, key, read):
        # type: (str, Callable[[], None]) -> None
        """Call *read()* once per pass from now on (the thread starts with the first add).

        Raises:
            RuntimeError: the poller was stopped (a scan that ended).
        """
        with self._lock:
            if self._stopped:
                raise RuntimeError("LogPoller is stopped")
            self._readers[key] = read
            self._errors.pop(key, None)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name)
                # Daemon: a scan that dies without stop() must still exit.
                self._thread.daemon = True
                self._thread.start()

    def remove(self, key):
        # type: (str) -> Optional[BaseException]
        """Stop calling *key*'s reader; returns the exception that stopped it, if any.

        On return the reader is not running and never runs again.
        """
        with self._reading:
            with self._lock:
                self._readers.pop(key, None)
                return self._errors.pop(key, None)

    def stop(self):
        """End the thread (idempotent); readers still registered are no longer called."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._done.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self):
        while not self._done.wait(self.interval_seconds):
            with self._lock:
                keys = list(self._readers)
            for key in keys:
                if self._done.is_set():
                    return
                with self._reading:
                    with self._lock:
                        read = self._readers.get(key)
                    if read is None:
                        continue  # removed during this pass
                    try:
                        read()
                    except BaseException as exc:  # handed to the worker by remove()
                        with self._lock:
                            self._readers.pop(key, None)
                            self._errors[key] = exc


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

