"""Write a file so that a reader never sees it half-written.

The content goes to a temporary file in the same folder, is flushed and
fsynced, and then os.replace()d over the target: rename within one folder is
atomic on POSIX and on Windows, so even a scanner SIGKILLed mid-write leaves
either the old complete file or the new one.
"""

import os
import tempfile


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
