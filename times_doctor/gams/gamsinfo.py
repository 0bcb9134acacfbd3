"""What GAMS says about itself: its banner, its licence, and why it refused a job.

``gams`` run with no arguments runs no model and prints its release, release
date, system directory and licence, including a time-limited licence's end
(GAMS 54.6.1, tests/fixtures/gams_expired/noargs.txt)::

    *** GAMS Release     : 54.6.1 20a39885 LEX-LEG x86 64bit/Linux
    *** Release Date     : Oct 24, 2026
    *** To use this release, you must have a valid license file for
    *** this platform with maintenance expiration date later than
    *** Jun 15, 2026
    *** System Directory : /.../gamspy_base/
    *** License          : /.../gamspy_base/gamslice.txt
    *** GAMS Demo, for EULA and demo limitations see   G260530+0003Cc-GEN
    ...
    *** Time-limited license expired
    *** Time-limited license stops working on : Nov 26, 2026

Only those printed lines are read: the licence string itself is GAMS's
business and is never decoded here.  A refused job's own reason is the
``***`` line GAMS logs before ``*** Status:`` (``*** Time-limited license
expired 5 days ago``, ``*** The model exceeds the demo license limits ...``).

``run_banner`` and ``run_probe`` start GAMS in a temporary folder of their
own, because GAMS leaves its scratch folder (``225a/``) in the working
directory; everything else here is a pure function.

The probes are runs too: GAMS starts in a process group (session) of its
own through the same seam as a profile's run (procgroup), its output is
read by a thread that stops at a deadline, and a GAMS that does not answer
in time (a solver waiting for a licence server that never answers, a child
that keeps the output open) has its whole process tree ended: TERM, the
grace, KILL.  ``GamsHungError`` then says so in one line, and nothing of
the probe is left running.
"""

import collections
import datetime
import io
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from times_doctor.proc import procgroup
from times_doctor.errors import ParseError, UsageError, os_reason
from times_doctor.gams.lst import parse_lst

Banner = collections.namedtuple(
    "Banner", "release version release_date system_dir licence_file licence_lines "
    "maintenance_date time_limit_date time_limit_expired licence_kind")
Banner.__doc__ = """What ``gams`` with no arguments printed; None (or ()) for what it did not.

release: "54.6.1 20a39885 LEX-LEG x86 64bit/Linux"; version: "54.6.1";
release_date, maintenance_date, time_limit_date: datetime.date;
system_dir, licence_file: paths as printed; licence_lines: the licence text
lines after "License :" (stripped); time_limit_expired: GAMS printed "Time-
limited license expired"; licence_kind: "demo" or "community" where the
licence text says so, else None.
"""

ProbeResult = collections.namedtuple(
    "ProbeResult", "returncode model_status solver_status reason seconds log_tail")
ProbeResult.__doc__ = """One tiny GAMS job: its rc (None if it could not run), the listing's
model and solver status ("1 Optimal"), GAMS's reason when it refused, wall
seconds, and the last lines of its log."""

# GAMS and its solver link need well under a second for the probe; a GAMS that
# hangs (a licence server that does not answer) must not hang the check.
PROBE_TIMEOUT_SECONDS = 60.0
PROBE_TIMEOUT_ENV_VAR = "TD_PROBE_TIMEOUT"
# TERM to KILL for a probe's process tree, unless the caller has its own
# (--grace-seconds).
PROBE_GRACE_SECONDS = 10.0
# After GAMS exits, how long its output may take to reach its end.
_OUTPUT_DRAIN_SECONDS = 2.0
_MAX_OUTPUT_BYTES = 1024 * 1024
_READ_BYTES = 64 * 1024
_LOG_TAIL_BYTES = 64 * 1024
_probe_numbers = itertools.count(1)

# One variable, one equation: any LP solver licence can solve it.
PROBE_MODEL = """$title times-doctor check: a one-variable LP
Variable z;
Equation e;
e.. z =e= 1;
Model td_check / all /;
solve td_check using lp minimizing z;
"""
PROBE_NAME = "td_check"

# GAMS command-line parameters that name the licence; passed on to the probe.
LICENCE_PARAMETERS = ("license",)

_MONTHS = dict((name, number) for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1))
_DATE_RE = re.compile(r"([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),\s*(\d{4})")
_FIELD_RE = re.compile(r"^\*\*\*\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$")
# Lines of a refused job that are framing, not the reason.
_NOT_A_REASON = ("*** status:", "license file:", "inspect listing file")


class GamsRunError(Exception):
    """GAMS could not be run at all (not found, not executable, hung)."""


class GamsHungError(GamsRunError):
    """GAMS did not answer in time; its process tree was ended.

    Attributes:
        survivors: pids that outlived even KILL (normally none).
    """

    def __init__(self, message, survivors=()):
        GamsRunError.__init__(self, message)
        self.survivors = list(survivors)


def probe_timeout(environ=None):
    """Seconds a probe may take: TD_PROBE_TIMEOUT, else PROBE_TIMEOUT_SECONDS.

    Raises:
        UsageError: the variable is not a number of seconds above 0.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(PROBE_TIMEOUT_ENV_VAR, "").strip()
    if not text:
        return PROBE_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise UsageError("%s=%s is not a number of seconds above 0: set it to e.g. 120, or "
                         "unset it for %d s" % (PROBE_TIMEOUT_ENV_VAR, text[:40],
                                                 PROBE_TIMEOUT_SECONDS))
    return seconds


def parse_banner(text):
    # type: (str) -> Banner
    """Read what ``gams`` with no arguments printed (see the module docstring)."""
    fields = {}
    licence_lines = []
    in_licence = False
    maintenance = None
    expecting_maintenance = False
    time_limit = None
    expired = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if expecting_maintenance:
            maintenance = parse_date(line)
            expecting_maintenance = maintenance is None and line.startswith("***") \
                and not line.strip("* ")
        if "maintenance expiration date later than" in line:
            maintenance = parse_date(line.split("later than", 1)[1])
            expecting_maintenance = maintenance is None
        if "Time-limited license stops working on" in line:
            time_limit = parse_date(line.split(":", 1)[-1])
        if re.search(r"Time-limited license expired\b", line):
            expired = True
        if in_licence:
            body = line[3:].strip() if line.startswith("***") else ""
            if not body:
                in_licence = False
            else:
                licence_lines.append(body)
                continue
        match = _FIELD_RE.match(line)
        if match:
            key = match.group(1).lower()
            if key not in fields:
                fields[key] = match.group(2)
            if key == "license":
                in_licence = True
    release = fields.get("gams release") or None
    kind = None
    first = licence_lines[0].lower() if licence_lines else ""
    if "community" in first:
        kind = "community"
    elif "demo" in first:
        kind = "demo"
    return Banner(release=release, version=release.split()[0] if release else None,
                  release_date=parse_date(fields.get("release date", "")),
                  system_dir=fields.get("system directory") or None,
                  licence_file=fields.get("license") or None,
                  licence_lines=tuple(licence_lines), maintenance_date=maintenance,
                  time_limit_date=time_limit, time_limit_expired=expired, licence_kind=kind)


def parse_date(text):
    """``Nov 26, 2026`` anywhere in *text* -> datetime.date, else None (locale-independent)."""
    match = _DATE_RE.search(text or "")
    if not match or match.group(1).lower() not in _MONTHS:
        return None
    try:
        return datetime.date(int(match.group(3)), _MONTHS[match.group(1).lower()],
                             int(match.group(2)))
    except ValueError:
        return None


def format_date(date):
    """datetime.date -> ``Nov 26, 2026`` (as GAMS writes it)."""
    # Not strftime("%b"): that follows the locale, GAMS's dates do not.
    return "%s %d, %d" % (_month_name(date.month), date.day, date.year)


def refusal_reason(lines):
    """GAMS's own reason in the lines of a refused job's log, or None.

    The first ``***`` line that mentions the licence, else the first ``***``
    line at all, leaving out the status and "License file" framing.
    """
    candidates = []
    for raw in lines:
        line = raw.strip()
        if not line.startswith("***"):
            continue
        text = line.lstrip("*").strip()
        lowered = line.lower()
        if not text or any(part in lowered for part in _NOT_A_REASON):
            continue
        candidates.append(text)
    for text in candidates:
        if "licen" in text.lower():
            return text
    return candidates[0] if candidates else None


def read_log_tail(path, max_bytes=_LOG_TAIL_BYTES):
    """The last lines of a log (at most *max_bytes*); [] if it cannot be read.

    GAMS writes its reason at the end of the job, so the tail is enough and a
    big log is never read whole.
    """
    try:
        with io.open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read(max_bytes)
    except OSError:
        return []  # no log: the caller reports the return code alone
    lines = data.decode("utf-8", "replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first one is cut
    return lines


def licence_arguments(gams_args):
    """The ``license=FILE`` arguments among *gams_args* (any case, ``-`` prefixes)."""
    chosen = []
    for arg in gams_args or ():
        key = arg.split("=", 1)[0].lstrip("-/").lower()
        if "=" in arg and key in LICENCE_PARAMETERS:
            chosen.append(arg)
    return chosen


def run_banner(gams_path, timeout=None, grace_seconds=PROBE_GRACE_SECONDS, groups=None):
    """Run ``gams`` with no arguments in a temporary folder; return (rc, output text).

    Args:
        timeout: seconds GAMS may take (default: probe_timeout()).
        grace_seconds: TERM to KILL when it takes longer.
        groups: the process-group seam (default: this platform's).

    Raises:
        GamsHungError: it did not finish in time (its process tree was ended).
        GamsRunError: it could not be started.
    """
    work = tempfile.mkdtemp(prefix="td-check-")
    try:
        return _run([gams_path], work, timeout, grace_seconds, groups)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_probe(gams_path, solver, gams_args=(), timeout=None,
              grace_seconds=PROBE_GRACE_SECONDS, groups=None):
    # type: (str, str, tuple, float, float, object) -> ProbeResult
    """Solve the one-variable LP through GAMS with *solver*, in a temporary folder.

    Only the licence arguments of *gams_args* are passed on: the others are
    meant for the user's model (output files, restart files) and could
    write outside the temporary folder.

    Raises:
        GamsHungError: GAMS did not finish in time (its process tree was ended).
        GamsRunError: GAMS could not be started.
    """
    work = tempfile.mkdtemp(prefix="td-check-")
    try:
        with io.open(os.path.join(work, PROBE_NAME + ".gms"), "w", encoding="ascii") as handle:
            handle.write(PROBE_MODEL)
        command = [gams_path, PROBE_NAME + ".gms", "lo=2", "lf=%s.log" % PROBE_NAME,
                   "o=%s.lst" % PROBE_NAME, "lp=%s" % solver, "optfile=0"]
        command.extend(licence_arguments(gams_args))
        started = time.monotonic()
        returncode, output = _run(command, work, timeout, grace_seconds, groups)
        seconds = time.monotonic() - started
        log_tail = read_log_tail(os.path.join(work, PROBE_NAME + ".log"))
        if not log_tail:
            log_tail = output.splitlines()[-50:]
        model_status = solver_status = None
        try:
            listing = parse_lst(os.path.join(work, PROBE_NAME + ".lst"))
            model_status, solver_status = listing.model_status, listing.solver_status
        except ParseError:
            pass  # a refused job may write no listing: the log says why
        reason = None
        if returncode != 0 or not status_is(model_status, 1):
            reason = refusal_reason(log_tail)
        return ProbeResult(returncode, model_status, solver_status, reason, seconds,
                           tuple(log_tail[-20:]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- helpers -----------------------------------------------------------------


def status_is(status, code):
    """True when a listing status ("1 Optimal") has the code *code*."""
    if not status:
        return False
    parts = status.split(None, 1)
    return parts[0].isdigit() and int(parts[0]) == code


def _month_name(month):
    for name, number in _MONTHS.items():
        if number == month:
            return name.capitalize()
    raise ValueError("month %r" % month)


def _run(command, cwd, timeout, grace_seconds, groups, start_process=subprocess.Popen):
    """Run one GAMS probe in its own process group; (rc, output), or raise.

    GAMS's output is read by a thread (at most _MAX_OUTPUT_BYTES kept, the
    rest read and dropped, so GAMS never blocks on a full pipe).  On time,
    or once GAMS has exited, whatever is left of its process tree is ended
    through the seam: a child that still holds the output open would
    otherwise keep the reader, and so the check, waiting forever.
    """
    groups = groups if groups is not None else procgroup.current()
    timeout = probe_timeout() if timeout is None else timeout
    marker = "probe-%d-%d" % (os.getpid(), next(_probe_numbers))
    environ = dict(os.environ)
    # Descendants that leave the probe's session are still found by it (Linux).
    environ[procgroup.JOB_ENV_VAR] = marker
    try:
        popen = start_process(command, cwd=cwd, env=environ, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              close_fds=True, **groups.popen_kwargs())
    except OSError as error:
        raise GamsRunError("could not start %s (%s)" % (command[0], os_reason(error)))
    ref = groups.attach(popen, marker)
    reader = _OutputReader(popen.stdout)
    try:
        deadline = time.monotonic() + timeout
        if not _wait_for_leader(groups, ref, popen, deadline):
            left = _end_tree(groups, ref, popen, grace_seconds)
            raise GamsHungError(hung_message(timeout, left), left)
        if groups.survivors(ref):
            # GAMS is done; what it left behind (holding its output) goes now.
            _end_tree(groups, ref, popen, 0.0)
        returncode = groups.reap(ref, popen)
        reader.wait(_OUTPUT_DRAIN_SECONDS)
        return returncode, reader.text()
    finally:
        groups.close(ref)


def hung_message(timeout, survivors=()):
    """The one line a probe that did not answer becomes."""
    line = "GAMS did not answer within %s s (its process tree was ended)" % (
        "%g" % timeout)
    if survivors:
        line += "; processes %s outlived even SIGKILL" % ", ".join(str(pid) for pid in survivors)
    return line


def _wait_for_leader(groups, ref, popen, deadline):
    """True once the leader has exited (unreaped), False at *deadline*."""
    interval = 0.005
    while groups.leader_exit_status(ref, popen) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval, left))
        interval = min(interval * 2, 0.1)
    return True


def _end_tree(groups, ref, popen, grace_seconds):
    """TERM, grace, KILL for the whole tree, then reap; returns the survivors."""
    from times_doctor.job_control import _terminate_process_group
    survivors = _terminate_process_group(ref, grace_seconds, groups)
    if groups.leader_exit_status(ref, popen) is not None and not ref.leader_reaped:
        groups.reap(ref, popen)
    return survivors


class _OutputReader(object):
    """Reads a probe's output on a thread until its end; bounded in size and in wait."""

    def __init__(self, stream):
        self._stream = stream
        self._chunks = []
        self._kept = 0
        self._done = threading.Event()
        thread = threading.Thread(target=self._read, name="td-probe-output")
        thread.daemon = True  # a pipe held open past every kill must not hold the exit
        thread.start()

    def wait(self, seconds):
        """Wait up to *seconds* for the end of the output; True if it came."""
        return self._done.wait(seconds)

    def text(self):
        return b"".join(self._chunks)[:_MAX_OUTPUT_BYTES].decode("utf-8", "replace")

    def _read(self):
        try:
            while True:
                data = self._stream.read1(_READ_BYTES) if hasattr(self._stream, "read1") \
                    else self._stream.read(_READ_BYTES)
                if not data:
                    break
                if self._kept < _MAX_OUTPUT_BYTES:
                    self._chunks.append(data)
                    self._kept += len(data)
        except (OSError, ValueError):
            pass  # the stream was closed under us: what was read is what there is
        finally:
            self._done.set()
            try:
                self._stream.close()
            except OSError:
                pass  # closing a pipe's read end has nothing to report
