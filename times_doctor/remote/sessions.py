"""Who is scanning what: the per-output-dir lock and the per-user session registry.

The lock (``OUT/times_doctor_out/scan.lock``) is an OS file lock, not a pid
file: the kernel drops it when its holder dies, however it dies, so "lock
free" is the one reliable test for "the scanner is gone".  The registry is
a folder of small JSON files, one per scan, readable by the user only; a
scan removes its entry when it ends, so an entry whose lock is free belongs
to a scanner that died (stale).

The platform differences (fcntl.flock / msvcrt.locking, where the registry
lives, the OS calls reap needs) are proc/procgroup.py's: this module never asks
which OS it runs on.
"""

import json
import os
import socket
import time

from times_doctor.proc import procgroup
from times_doctor.atomic import write_atomic
from times_doctor.errors import EXIT_USAGE, ScanLockedError
from times_doctor.paths import lock_path

SESSION_SCHEMA = "times-doctor/session"
SESSION_SCHEMA_VERSION = 1


class ScanLock(object):
    """An exclusive, non-blocking lock on one output directory.

    Args:
        out_dir: the scan's output base (the folder holding times_doctor_out/).
    """

    def __init__(self, out_dir):
        self.out_dir = os.path.abspath(out_dir)
        self.path = lock_path(out_dir)
        self._fd = None

    def acquire(self):
        """Take the lock or raise ScanLockedError (exit 2) naming the holder."""
        if not self.try_acquire():
            raise ScanLockedError(
                "another scan%s is running on %s: wait for it, stop it with "
                "`times-doctor cancel %s --all`, or give another --out"
                % (_holder_text(self.path), self.out_dir, self.out_dir), EXIT_USAGE)
        return self

    def try_acquire(self):
        """True if the lock is now ours, False if another process holds it."""
        if self._fd is not None:
            return True
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not procgroup.lock_fd(fd):
            os.close(fd)
            return False
        self._fd = fd
        # Informational only (for the refusal message): the lock is the truth.
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, ("%d\n" % os.getpid()).encode("ascii"))
        return True

    def release(self):
        """Drop the lock; idempotent.  The file stays (deleting it would race)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            procgroup.unlock_fd(fd)
        finally:
            os.close(fd)

    @property
    def held(self):
        return self._fd is not None


def scanner_alive(out_dir):
    """True if a live process holds the scan lock of *out_dir*.

    Creates nothing: a folder without a lock file has no live scanner.
    """
    path = lock_path(out_dir)
    try:
        # Read-only is enough for flock, and works on a lock file we may not write.
        fd = os.open(path, os.O_RDONLY)
    except (IOError, OSError):
        return False
    try:
        if procgroup.lock_fd(fd):
            procgroup.unlock_fd(fd)
            return False
        return True
    finally:
        os.close(fd)


def lock_holder_pid(out_dir):
    """The pid the lock holder wrote into the lock file, or None."""
    try:
        with open(lock_path(out_dir), "rb") as handle:
            return int(handle.read(32).decode("ascii", "replace").strip() or "x")
    except (IOError, OSError, ValueError):
        return None


def _holder_text(path):
    try:
        with open(path, "rb") as handle:
            return " (pid %d)" % int(handle.read(32).decode("ascii", "replace").strip())
    except (IOError, OSError, ValueError):
        return ""


# -- the session registry ------------------------------------------------------

def sessions_dir(environ=None):
    """The per-user registry folder (not created here)."""
    environ = os.environ if environ is None else environ
    return procgroup.sessions_root(environ)


def register_session(scan_id, out_dir, state_path, environ=None):
    """Add this scan to the registry; returns the entry's path."""
    folder = _ensure_private_dir(sessions_dir(environ))
    path = os.path.join(folder, "%s.json" % _safe_name(scan_id))
    entry = {
        "schema": SESSION_SCHEMA, "schema_version": SESSION_SCHEMA_VERSION,
        "scan_id": scan_id, "pid": os.getpid(), "host": socket.gethostname(),
        "out_dir": os.path.abspath(out_dir), "state": state_path,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_atomic(path, json.dumps(entry, indent=2) + "\n", mode=0o600)
    return path


def unregister_session(path):
    """Remove a registry entry; a missing one is fine (reap got there first)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def list_sessions(environ=None):
    """Registry entries of this host, each with "path" and "live" added.

    Entries written on another host (a home directory shared over NFS) are
    left out: their locks and processes cannot be checked from here.
    """
    folder = sessions_dir(environ)
    try:
        names = sorted(os.listdir(folder))
    except (IOError, OSError):
        return []
    host = socket.gethostname()
    found = []
    for name in names:
        if name.startswith(".") or not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as handle:
                entry = json.loads(handle.read(65536).decode("utf-8"))
        except (IOError, OSError, ValueError, UnicodeDecodeError):
            continue  # a foreign or half-deleted file is not a session
        if not isinstance(entry, dict) or entry.get("schema") != SESSION_SCHEMA:
            continue
        if entry.get("host") != host or not isinstance(entry.get("out_dir"), str):
            continue
        entry["path"] = path
        entry["live"] = scanner_alive(entry["out_dir"])
        found.append(entry)
    return found


def forget_sessions_of(out_dir, environ=None, keep=None):
    """Remove every registry entry for *out_dir* except the path *keep*."""
    target = os.path.abspath(out_dir)
    for entry in list_sessions(environ):
        if entry["out_dir"] == target and entry["path"] != keep:
            unregister_session(entry["path"])


def _safe_name(text):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))


def _ensure_private_dir(folder):
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    # makedirs' mode is filtered by the umask, and the folder may predate us.
    os.chmod(folder, 0o700)
    return folder


def process_api():
    """The OS calls reap.py needs (process table, start times, kill): procgroup.process_api()."""
    return procgroup.process_api()
