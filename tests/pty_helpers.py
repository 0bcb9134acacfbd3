"""Drive a real program through a real pseudo-terminal (POSIX only).

Like ptyprocess: the child is a session leader whose controlling terminal is
the pty, so writing the Ctrl+C byte (0x03) to the master makes the kernel
send SIGINT to the terminal's foreground process group, exactly as a user's
keypress does.  Every read is guarded by a select() deadline.
"""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

from proc_helpers import wait_until

CTRL_C = b"\x03"


class PtyProcess(object):
    def __init__(self, argv, env=None, cwd=None, rows=40, cols=160):
        pid, master = pty.fork()
        if pid == 0:  # child: the pty is already our controlling terminal
            try:
                if cwd:
                    os.chdir(cwd)
                os.execve(argv[0], argv, env if env is not None else dict(os.environ))
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = master
        self.output = b""
        self.returncode = None
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def read_available(self, timeout=0.05):
        """Read what the child has written, for at most *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.fd], [], [], remaining)
            if not readable:
                return
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            self.output += chunk

    def expect(self, pattern, timeout=30, since=0):
        """Wait until *pattern* (bytes regex) appears in the output after *since*."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output, since)
            if match:
                return match
            if time.monotonic() > deadline or self.poll() is not None:
                self.read_available(0.2)
                match = regex.search(self.output, since)
                if match:
                    return match
                raise AssertionError("timed out waiting for %r; output tail:\n%s" % (
                    pattern, self.output[-3000:].decode("utf-8", "replace")))
            self.read_available(0.1)

    def wait_until(self, predicate, timeout=60, message="condition"):
        """Keep draining the terminal until predicate() is true."""
        # Reading the terminal for 0.1 s is the wait between polls; it returns None.
        return wait_until(lambda: predicate() or self.read_available(0.1), timeout, interval=0,
                          message=lambda: "%s; output tail:\n%s" % (
                              message, self.output[-3000:].decode("utf-8", "replace")))

    def send(self, data):
        os.write(self.fd, data)

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                                   else -os.WTERMSIG(status))
        return self.returncode

    def wait(self, timeout=60):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("process did not exit; output tail:\n%s"
                                     % self.output[-3000:].decode("utf-8", "replace"))
            self.read_available(0.1)
        self.read_available(0.2)
        return self.returncode

    def close(self):
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)

    @property
    def text(self):
        return self.output.decode("utf-8", "replace")


def python_argv(*args):
    return [sys.executable, "-m", "times_doctor"] + list(args)


def wait_out_double_interrupt(proc, first_sent):
    """Drain the terminal until a Ctrl+C sent now cannot pair with the one sent at *first_sent*.

    The scan treats two Ctrl+C within DOUBLE_INTERRUPT_SECONDS as "abort now";
    the scan saw the first one no earlier than *first_sent* (time.monotonic()),
    hence the margin.
    """
    # Imported here: bench/torture.py uses this module without the package on sys.path.
    from times_doctor.scan.scanner import DOUBLE_INTERRUPT_SECONDS
    remaining = first_sent + DOUBLE_INTERRUPT_SECONDS + 0.5 - time.monotonic()
    if remaining > 0:
        proc.read_available(remaining)


def open_cancel_menu(proc):
    """Ctrl+C, then wait for the menu; returns when the Ctrl+C was sent (time.monotonic())."""
    mark = len(proc.output)
    proc.send(CTRL_C)
    sent = time.monotonic()
    proc.expect(br"Cancel Menu", since=mark)
    return sent
