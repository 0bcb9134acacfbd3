"""Write a file so that a reader never sees it half-written.

The content goes to a temporary file in the same folder, is flushed and
fsynced, and then os.replace()d over the target: rename within one folder is
atomic on POSIX and on Windows, so even a scanner SIGKILLed mid-write leaves
either the old complete file or the new one.
"""

import os
import tempfile
import threading


def write_atomic(path, data, mode=0o644):
    """Replace *path* with *data* (bytes or str, str written as UTF-8)."""
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                    suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        # Leave no temporary behind on failure (disk full, interrupt).
        try:
            os.unlink(tmp_path)
        except OSError:
            pass  # already renamed or never created: nothing to clean
        raise


class CoalescingWriter(object):
    """Run *write* for requests from many threads, without queueing them up.

    *write* renders the current state itself (the registry, the results),
    so when a request comes while another thread is writing, that thread
    simply writes once more when done, and the requester goes on at once.
    16 runs ending together then cost two writes instead of 16 fsyncs in a
    row (issue 14: they put 0.1 s between the last process gone and the
    scanner's exit).  Exceptions from *write* reach the thread that wrote.
    """

    def __init__(self, write):
        self._write = write
        self._lock = threading.Lock()  # _dirty and _writing; never held while writing
        self._dirty = False    # a request not yet served by a write that began after it
        self._writing = False  # a thread is in request()'s write loop

    def request(self):
        with self._lock:
            self._dirty = True
            if self._writing:
                return  # the writing thread sees _dirty and writes again
            self._writing = True
        try:
            while True:
                with self._lock:
                    if not self._dirty:
                        self._writing = False
                        return
                    self._dirty = False
                self._write()
        except BaseException:
            with self._lock:
                self._writing = False
            raise
