"""Write a file so that a reader never sees it half-written.

The content goes to a temporary file in the same folder, is flushed and
fsynced, and then os.replace()d over the target: rename within one folder is
atomic on POSIX and on Windows, so even a scanner SIGKILLed mid-write leaves
either the old complete file or the new one.

Windows refuses to replace a file while another process has it open (status,
the dashboard, a control command reading the state file; Excel holding the
CSV): os.replace fails with ERROR_ACCESS_DENIED, or ERROR_SHARING_VIOLATION
when something holds the new file; and an open() that comes while the file is
being replaced fails with "Permission denied".  Opening with FILE_SHARE_DELETE
does not help: Wine 8.0 refuses the replace all the same (checked on the
Windows leg), as NTFS does without POSIX rename semantics.  Each side holds
the file for one call, so both are tried again for a short while
(REPLACE_PAUSES): the writer in replace_retrying(), before the refusal
reaches its caller, who decides what it costs (scan/scanner.py: a warning, said
once, while runs go on); times-doctor's readers in read_bytes().
"""

import os
import tempfile
import threading
import time

from times_doctor.proc import procgroup

# Seconds between tries of a refused replace: about 1 s in all, in many short
# tries, so a reader's read (microseconds, or milliseconds under load) fails no
# write even when the reader reads in a tight loop (then each try has even
# odds: 20 of them all refused is one in a million), and a program that keeps
# the file open costs a writer at most this long per write.
REPLACE_PAUSES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03) + (0.05,) * 13 + (0.1, 0.1)


def write_atomic(path, data, mode=0o644):
    """Replace *path* with *data* (bytes or str, str written as UTF-8).

    Raises:
        OSError: as os.replace, once replace_retrying() has given up.
    """
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
        replace_retrying(tmp_path, path)
    except BaseException:
        # Leave no temporary behind on failure (disk full, interrupt).
        try:
            os.unlink(tmp_path)
        except OSError:
            pass  # already renamed or never created: nothing to clean
        raise


def replace_retrying(source, target, replace=os.replace, sleep=time.sleep):
    """os.replace(*source*, *target*), tried again while Windows says a file is held open."""
    _retrying(lambda: replace(source, target), sleep)


def read_bytes(path, limit=-1, sleep=time.sleep):
    """The bytes of *path* (at most *limit*), read at once: what every reader of a file
    that write_atomic() replaces uses, so a replace never fails it (Windows)."""
    def read():
        with open(path, "rb") as handle:
            return handle.read(limit)
    return _retrying(read, sleep)


def _retrying(call, sleep):
    if procgroup.OPEN_FILES_BLOCK_REPLACE:
        for pause in REPLACE_PAUSES:
            try:
                return call()
            except PermissionError:
                sleep(pause)  # the other side's call will be over soon
    return call()


class CoalescingWriter(object):
    """Run *write* for requests from many threads, without queueing them up.

    *write* renders the current state itself (the registry, the results),
    so when a request comes while another thread is writing, that thread
    simply writes once more when done, and the requester goes on at once.
    Many runs ending together then cost two writes instead of one fsync
    each in a row, which would hold the scanner's exit after the last
    process is gone.  Exceptions from *write* reach the thread that wrote.
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
