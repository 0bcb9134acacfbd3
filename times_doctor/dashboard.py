"""The local web dashboard: watch and control scans from a browser.

``times-doctor dashboard [RUN_DIR...]`` (or ``scan --dashboard``) serves one
HTML page (``dashboard.html``, shipped in the package) and a small JSON API
under ``/api/``.  Standard library only: ``http.server`` with a thread per
request.

It reads what the scans publish (their state files, logs and listings) and
acts only through ``control.send_request``: the running scanner applies
every cancel, interrupt, pause and resume, exactly as for the command-line
tools, so its table, CSV and exit code stay right.  Nothing here signals a
process.

Who may do what:
  * bound to 127.0.0.1 unless ``--bind`` says otherwise (then a warning);
  * a random token is required on every request: in the URL the first time
    (``?token=``), then in an HttpOnly, SameSite=Strict cookie; API clients
    may send it in the ``X-Times-Doctor-Token`` header;
  * actions are POST with a JSON body of at most MAX_BODY_BYTES, and need an
    ``Origin`` that matches ``Host`` (or, for non-browser clients, the token
    in the header and no ``Origin``); the Host must be a loopback name when
    bound to loopback (DNS rebinding);
  * scan ids and run names are looked up in the state documents, never
    joined into paths; the only files read are state files, and the logs and
    listings those name inside the scan's own ``times_doctor_out`` folder.
"""

import collections
import hmac
import json
import os
import pkgutil
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
from http import server as http_server
from urllib.parse import parse_qs, unquote, urlsplit

from times_doctor import control, scanfiles, sessions
from times_doctor.errors import ControlError, ParseError, UsageError
from times_doctor.logparse import SolverLogParser
from times_doctor.logtail import LogTail, tail_lines
from times_doctor.state_file import iso_time, read_state
from times_doctor.states import (
    ACTIVE_STATES, ALWAYS_COUNTED, CANCELLABLE_STATES, COLOURS, FINAL_STATES, LABELS,
    SUMMARY_ORDER, count_states)

API_SCHEMA = "times-doctor/dashboard"
API_SCHEMA_VERSION = 1

DEFAULT_BIND = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

TOKEN_HEADER = "X-Times-Doctor-Token"
TOKEN_QUERY = "token"

LOG_TAIL_LINES = 100
LOG_TAIL_MAX_BYTES = 64 * 1024
# An action body is a few dozen bytes; anything near this is not ours.
MAX_BODY_BYTES = 8 * 1024
# A refused body up to this size is read and dropped so the client sees the
# 413 instead of a reset connection; a larger one is not read at all.
_DRAIN_BYTES = 1024 * 1024
# Per poll and run, how much new log the progress parser reads (the rest on
# later polls): one slow poll must not stall the page.
LOG_BYTES_PER_POLL = 1024 * 1024
CHART_MAX_POINTS = 150
POLL_MILLISECONDS = 1000
# Seconds a request may sit idle before its thread gives up on it.
REQUEST_TIMEOUT_SECONDS = 30
# stop() waits this long for requests still being answered.
STOP_DRAIN_SECONDS = 15

# What a page or client may ask for.  "cancel_all" and "abort" both become
# one cancel request for every run: see ACTION_REQUESTS and the README.
RUN_ACTIONS = ("cancel", "interrupt", "pause", "resume")
SCAN_ACTIONS = ("cancel_all", "abort")
ACTIONS = RUN_ACTIONS + SCAN_ACTIONS

# Colour of each ansi style name (states.COLOURS) on a white page.
_CSS_COLOURS = {
    "dim": ("#777777", False),
    "yellow": ("#a66f00", False),
    "green": ("#2e7d32", False),
    "cyan": ("#00838f", False),
    "red": ("#c62828", False),
    "bold": ("#222222", True),
    "bold green": ("#1b5e20", True),
    "bold red": ("#b71c1c", True),
    "bold yellow": ("#9a5b00", True),
    "bold cyan": ("#006064", True),
}

ScanEntry = collections.namedtuple("ScanEntry", "scan_id out_dir out_root state_path document")


class Dashboard(object):
    """The dashboard's HTTP server, bound at construction.

    Args:
        source: a ScanSource (None: serve nothing until serve_scan()).
        bind: address to listen on.
        port: TCP port, 0 for a free one.
        token: the access token (default: a fresh secrets.token_urlsafe()).
        send_request: how actions reach a scanner (control.send_request;
            tests pass a recorder).

    Raises:
        UsageError: the address cannot be bound (port in use, bad address).
    """

    def __init__(self, source=None, bind=DEFAULT_BIND, port=0, token=None,
                 send_request=None):
        self.source = source
        self.bind = bind
        self.token = token or secrets.token_urlsafe(32)
        self.send_request = send_request or control.send_request
        self.page_template = _load_page()
        self.progress = ProgressCache()
        try:
            self._server = _HTTPServer(bind, int(port), self)
        except (OSError, socket.gaierror, OverflowError, ValueError) as exc:
            raise UsageError("cannot serve the dashboard on %s port %s: %s (choose another "
                             "--port, or 0 for a free one)"
                             % (bind, port, getattr(exc, "strerror", None) or exc))
        self.port = self._server.server_address[1]
        self.cookie_name = "td_token_%d" % self.port
        self._thread = None
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def url(self):
        """The address to open, token included."""
        host = self.bind
        if host in ("", "0.0.0.0", "::"):
            host = socket.gethostname()
        if ":" in host:
            host = "[%s]" % host
        return "http://%s:%d/?%s=%s" % (host, self.port, TOKEN_QUERY, self.token)

    @property
    def is_loopback(self):
        return is_loopback_address(self.bind)

    def start(self):
        """Serve from a daemon thread; returns at once (idempotent)."""
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.2},
                                            name="td-dashboard")
            self._thread.daemon = True
            self._thread.start()

    def serve_forever(self):
        """Serve from this thread until stop() or KeyboardInterrupt."""
        self._server.serve_forever(poll_interval=0.2)

    def serve_scan(self, out_dir, say=None):
        """The scan --dashboard hook: serve the scan in *out_dir* and print the URL."""
        self.source = ScanSource(out_dirs=[out_dir])
        self.start()
        if say is not None:
            for line in self.banner():
                say(line)

    def banner(self):
        """Lines to print when the dashboard starts."""
        lines = ["Dashboard: %s" % self.url]
        if not self.is_loopback:
            lines.append(bind_warning(self.bind, self.port))
        return lines

    def stop(self):
        """Stop serving and close the socket (idempotent)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._server.shutdown()
            thread.join(timeout=5)
        self._server.wait_idle(STOP_DRAIN_SECONDS)
        self._server.server_close()

    # -- what the handler asks for ------------------------------------------

    def scans(self):
        """(list of ScanEntry, list of error dicts) for the scans being served."""
        if self.source is None:
            return [], []
        return self.source.scans()

    def find_scan(self, scan_id):
        for entry in self.scans()[0]:
            if entry.scan_id == scan_id:
                return entry
        return None

    def scan_view(self, entry):
        """The state document of *entry* plus its "dashboard" member."""
        return scan_view(entry, self.progress)


def is_loopback_address(address):
    return address in LOOPBACK_NAMES or address.startswith("127.")


def bind_warning(bind, port):
    return ("warning: the dashboard listens on %s port %d, not only on this machine's loopback: "
            "anyone who can reach it and learns the token can cancel your runs, and plain HTTP "
            "is not encrypted. Prefer the default and an SSH tunnel "
            "(ssh -L %d:127.0.0.1:%d HOST)." % (bind, port, port, port))


# -- which scans ---------------------------------------------------------------


class ScanSource(object):
    """The scans to serve: named output folders, or every scan in the session registry.

    Args:
        out_dirs: folders holding ``times_doctor_out/`` (a RUN_DIR or a scan's
            --out); a ``times_doctor_out`` folder itself is accepted too.
            None: list the session registry on every call.
        list_sessions: the registry lister (sessions.list_sessions).
    """

    def __init__(self, out_dirs=None, list_sessions=None):
        self.out_dirs = (None if out_dirs is None
                         else [scanfiles.normalise_out_dir(d) for d in out_dirs])
        self._list_sessions = list_sessions or sessions.list_sessions

    def scans(self):
        errors = []
        if self.out_dirs is not None:
            candidates = [(out_dir, scanfiles.state_path(out_dir), True)
                          for out_dir in self.out_dirs]
        else:
            candidates = []
            for session in self._list_sessions():
                out_dir = os.path.abspath(session["out_dir"])
                candidates.append((out_dir, scanfiles.state_path(out_dir), False))
        found = []
        seen = set()
        for out_dir, path, named in candidates:
            if not os.path.exists(path):
                if named:
                    errors.append({"out_dir": out_dir, "error": "no scan yet at %s" % out_dir})
                continue
            try:
                document = read_state(path)
            except ParseError as exc:
                errors.append({"out_dir": out_dir, "error": str(exc)})
                continue
            scan_id = document.get("scan_id")
            if not isinstance(scan_id, str) or not scan_id or scan_id in seen:
                continue
            seen.add(scan_id)
            found.append(ScanEntry(scan_id, out_dir, scanfiles.out_root_of_state(path), path,
                                   document))
        return found, errors


def check_out_dirs(folders):
    """Raise UsageError for a named folder that does not exist."""
    for folder in folders:
        if not os.path.isdir(folder):
            raise UsageError("%s is not a directory: give a scan's RUN_DIR or its --out folder"
                             % folder)


# -- what the page shows ---------------------------------------------------------


class ProgressCache(object):
    """Per-run log followers: the chart history from the run logs.

    The table's cells (phase, progress, result, time) are the scanner's
    record of each run, read from the state file; only the solver's history
    of objectives and infeasibilities, which the record does not keep, is
    read here.

    Each run's log is read incrementally (LogTail: only new bytes), so a
    poll per second costs what the solver wrote in that second.  Followers
    of scans no longer served are dropped.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._followers = {}

    def history(self, scan_id, job, log_path):
        """The solver's history so far in one run's log (logparse history points)."""
        key = (scan_id, job.get("name"))
        with self._lock:
            follower = self._followers.get(key)
            if follower is None or follower.log_path != log_path:
                follower = _LogFollower(log_path, job.get("solver") or "cplex")
                self._followers[key] = follower
        return follower.refresh()

    def keep_only(self, scan_ids):
        with self._lock:
            for key in [k for k in self._followers if k[0] not in scan_ids]:
                del self._followers[key]


class _LogFollower(object):
    def __init__(self, log_path, solver):
        self.log_path = log_path
        self._lock = threading.Lock()
        self._tail = LogTail(log_path, max_bytes_per_call=LOG_BYTES_PER_POLL)
        try:
            self._parser = SolverLogParser(solver)
        except ValueError:
            self._parser = SolverLogParser("cplex")

    def refresh(self):
        """The history after reading what is new."""
        with self._lock:
            if self.log_path is not None:
                try:
                    for line in self._tail.read_lines():
                        self._parser.feed(line)
                except ParseError:
                    # The chart keeps what it had; why the log cannot be read
                    # is the run's details, which the scanner's record carries.
                    pass
            return self._parser.history()


def scan_view(entry, progress):
    """The state document (unchanged) plus a "dashboard" member the page draws from."""
    document = dict(entry.document)
    jobs = scanfiles.jobs_of(document)
    runs = collections.OrderedDict()
    for job in jobs:
        name = job.get("name")
        if isinstance(name, str):
            runs[name] = run_view(entry, job, progress)
    live = not document.get("finished") and sessions.scanner_alive(entry.out_dir)
    document["dashboard"] = {
        "live": bool(live),
        "summary": summary_counts([job.get("status") for job in jobs]),
        "runs": runs,
    }
    return document


def run_view(entry, job, progress):
    """The columns of one run, as the scanner's record has them, and its chart from the log."""
    status = job.get("status")
    history = progress.history(entry.scan_id, job, served_file(entry, job.get("log")))
    view = collections.OrderedDict()
    view["label"] = LABELS.get(status, str(status))
    view["result"] = job.get("result") or ""
    view["phase"] = job.get("phase") or ""
    view["progress"] = job.get("progress")
    view["iteration"] = job.get("iteration")
    view["details"] = job.get("details") or ""
    view["elapsed_seconds"] = job.get("elapsed_seconds")
    view["chart"] = chart_for(history)
    return view


def summary_counts(statuses):
    """[{"state", "count"}] in SUMMARY_ORDER, as the terminal's summary line shows them.

    Starting counts as running; waiting, running, paused and interrupted only
    when non-zero; unknown states appended when non-zero.
    """
    return [{"state": state, "count": n} for state, n in count_states(statuses).items()
            if n or state in ALWAYS_COUNTED]


def chart_for(history, max_points=CHART_MAX_POINTS):
    """What to draw for a run's solver history, or None.

    Infeasibilities (barrier, simplex phase I) when at least two points carry
    a positive one, always on a log scale: they fall by orders of magnitude
    and converge toward 0.  Otherwise the primal/dual objective (simplex
    objective, barrier objectives, MIP incumbent and bound), on a log scale
    only when every value is positive and they span two decades or more.

    Only the latest run of rising iteration numbers is drawn: a new phase
    restarts the count (the MIP node log after the root LP's simplex
    iterations, crossover after barrier), and one axis cannot hold both.

    Returns:
        {"kind": "infeasibility"|"objective", "log": bool,
         "series": [{"name", "points": [[iteration, value], ...]}]} with at
        most *max_points* points per series, or None with under two points.
    """
    history = _latest_sequence(history)
    infeasibility = [("primal infeasibility", 3), ("dual infeasibility", 4)]
    objective = [("primal objective", 1), ("dual objective", 2)]
    series = _series(history, infeasibility, positive_only=True)
    if sum(len(points) for _, points in series) >= 2:
        return _chart("infeasibility", True, series, max_points)
    series = _series(history, objective, positive_only=False)
    values = [value for _, points in series for _, value in points]
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    log = low > 0 and high / low >= 100.0
    return _chart("objective", log, series, max_points)


def _latest_sequence(history):
    """The points after the last drop in the iteration number."""
    start = 0
    previous = None
    for index, point in enumerate(history):
        if point[0] is None:
            continue
        if previous is not None and point[0] < previous:
            start = index
        previous = point[0]
    return history[start:]


def _series(history, columns, positive_only):
    found = []
    for name, index in columns:
        points = []
        for point in history:
            iteration, value = point[0], point[index]
            if iteration is None or value is None or value != value or abs(value) >= 1e30:
                continue
            if positive_only and value <= 0:
                continue
            points.append([iteration, value])
        if points:
            found.append((name, points))
    return found


def _chart(kind, log, series, max_points):
    return {"kind": kind, "log": log,
            "series": [{"name": name, "points": _downsample(points, max_points)}
                       for name, points in series]}


def _downsample(points, max_points):
    """At most *max_points*, evenly spaced, always keeping the first and the last."""
    if len(points) <= max_points:
        return points
    step = (len(points) - 1) / float(max_points - 1)
    return [points[int(round(i * step))] for i in range(max_points)]


def served_file(entry, path):
    """*path* if it is a file inside the scan's times_doctor_out folder, else None.

    The state file names its logs and listings; a path that leads anywhere
    else (edited state file, symlink out of the folder) is never opened.
    """
    if not isinstance(path, str) or not path or "\0" in path:
        return None
    root = os.path.realpath(entry.out_root)
    real = os.path.realpath(path)
    if not real.startswith(root + os.sep):
        return None
    if os.path.exists(real) and not os.path.isfile(real):
        return None
    return real


def log_tail(entry, job):
    """The last LOG_TAIL_LINES lines of a run's log (at most LOG_TAIL_MAX_BYTES read)."""
    path = served_file(entry, job.get("log"))
    if path is None:
        return {"scan_id": entry.scan_id, "run": job.get("name"), "lines": [],
                "error": "no log inside the scan's folder"}
    try:
        lines = tail_lines(path, LOG_TAIL_LINES, max_bytes=LOG_TAIL_MAX_BYTES)
        error = None
    except ParseError as exc:
        lines, error = [], str(exc)
    return {"scan_id": entry.scan_id, "run": job.get("name"), "lines": lines, "error": error,
            "max_lines": LOG_TAIL_LINES, "max_bytes": LOG_TAIL_MAX_BYTES}


def page_config():
    """The constants the page's script needs, from states.py (one vocabulary)."""
    return {
        "labels": LABELS,
        "summary_order": list(SUMMARY_ORDER),
        "final_states": list(FINAL_STATES),
        "active_states": list(ACTIVE_STATES),
        "cancellable_states": list(CANCELLABLE_STATES),
        "poll_ms": POLL_MILLISECONDS,
        "log_lines": LOG_TAIL_LINES,
    }


def state_css():
    """One CSS rule per state: the terminal's colour (states.COLOURS) as a web colour."""
    rules = []
    for state in sorted(COLOURS):
        colour, bold = _CSS_COLOURS.get(COLOURS[state], ("#222222", False))
        rules.append(".st-%s{color:%s;%s}" % (state, colour, "font-weight:bold;" if bold else ""))
    return "\n".join(rules)


def render_page(template, nonce):
    """The page with its nonce, state colours and configuration filled in."""
    config = json.dumps(page_config(), sort_keys=True)
    # Inside <script>: "<" escaped so no "</script>" can end it early.
    config = config.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (template.replace("__NONCE__", nonce)
            .replace("/*STATE_CSS*/", state_css())
            .replace("__CONFIG__", config))


def _load_page():
    # pkgutil, not open(): works from the zipapp too.
    data = pkgutil.get_data("times_doctor", "dashboard.html")
    if data is None:
        raise UsageError("dashboard.html is missing from the times_doctor package: reinstall it")
    return data.decode("utf-8")



# -- HTTP ----------------------------------------------------------------------------


class _HTTPServer(socketserver.ThreadingMixIn, http_server.HTTPServer):
    """http.server with a thread per request (ThreadingHTTPServer is 3.7+)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, bind, port, dashboard):
        self.dashboard = dashboard
        # Requests being answered: stop() waits for them, so an action that
        # ends the scan (Cancel all) still gets its answer before the
        # process exits.  (block_on_close does this from 3.7 only.)
        self._in_flight = 0
        self._idle = threading.Condition()
        if ":" in bind:
            self.address_family = socket.AF_INET6
        http_server.HTTPServer.__init__(self, (bind, port), _Handler)

    def process_request_thread(self, request, client_address):
        with self._idle:
            self._in_flight += 1
        try:
            socketserver.ThreadingMixIn.process_request_thread(self, request, client_address)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout):
        """Wait up to *timeout* seconds for the requests being answered."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def server_bind(self):
        # HTTPServer.server_bind() calls getfqdn(), which can stall for
        # seconds on a machine with a slow resolver; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]


class _Refused(Exception):
    """End a request with an HTTP error status."""

    def __init__(self, status, message, headers=()):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.headers = headers


_SEGMENT = re.compile(r"^[^/]+$")


class _Handler(http_server.BaseHTTPRequestHandler):
    server_version = "times-doctor"
    sys_version = ""
    timeout = REQUEST_TIMEOUT_SECONDS

    # -- entry points ------------------------------------------------------------

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def log_message(self, format, *args):
        # Quiet: request lines carry the token (?token=), and the scan's
        # own output shares this terminal.
        pass

    # -- dispatch ----------------------------------------------------------------------

    def _handle(self, method):
        dashboard = self.server.dashboard
        try:
            parts = urlsplit(self.path)
            self._check_host(dashboard)
            token_source = self._check_token(dashboard, parts.query)
            route, args = _route(parts.path)
            if route is None:
                raise _Refused(404, "not found")
            allowed = "POST" if route == "action" else "GET"
            if method != allowed:
                raise _Refused(405, "use %s" % allowed, headers=(("Allow", allowed),))
            if route == "page":
                self._send_page(dashboard, token_source)
            elif route == "list":
                self._list(dashboard)
            elif route == "scan":
                entry = self._entry(dashboard, args[0])
                self._send_json(200, dashboard.scan_view(entry))
            elif route == "log":
                entry = self._entry(dashboard, args[0])
                self._send_json(200, log_tail(entry, self._job(entry, args[1])))
            else:
                self._check_origin(token_source)
                self._action(dashboard, args[0])
        except _Refused as refusal:
            self._send_json(refusal.status, {"error": refusal.message}, refusal.headers)
        except Exception:
            # A bug: answer rather than drop the connection, then let
            # socketserver print the traceback on the dashboard's stderr.
            self._send_json(500, {"error": "internal error in the dashboard: see its terminal"})
            raise

    def _check_host(self, dashboard):
        host = self.headers.get("Host")
        if not host:
            raise _Refused(400, "no Host header")
        if dashboard.is_loopback and _host_name(host) not in LOOPBACK_NAMES:
            # A page of another site that re-points its name at 127.0.0.1
            # (DNS rebinding) sends its own name here.
            raise _Refused(403, "Host %r is not this machine's loopback" % host)

    def _check_token(self, dashboard, query):
        """Return where the valid token came from: "header", "query" or "cookie"."""
        candidates = [("header", self.headers.get(TOKEN_HEADER))]
        values = parse_qs(query, keep_blank_values=True).get(TOKEN_QUERY)
        if values:
            candidates.append(("query", values[0]))
        candidates.append(("cookie", _cookie(self.headers.get("Cookie"), dashboard.cookie_name)))
        expected = dashboard.token.encode("utf-8")
        for source, value in candidates:
            if value and hmac.compare_digest(value.encode("utf-8", "replace"), expected):
                return source
        raise _Refused(401, "a valid token is required: open the URL times-doctor printed "
                       "(it ends in ?token=...)")

    def _check_origin(self, token_source):
        origin = self.headers.get("Origin")
        fetch_site = self.headers.get("Sec-Fetch-Site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            raise _Refused(403, "cross-site request refused")
        if origin is None:
            # Browsers send Origin with every POST; a client without one must
            # prove itself with the header, which no form or cross-site page
            # can set.
            if token_source != "header":
                raise _Refused(403, "an action needs an Origin header, or the token in %s"
                               % TOKEN_HEADER)
            return
        if origin.lower() != "http://" + self.headers.get("Host", "").lower():
            raise _Refused(403, "Origin %r does not match this dashboard" % origin)

    # -- routes ------------------------------------------------------------------------

    def _send_page(self, dashboard, token_source):
        nonce = secrets.token_urlsafe(16)
        body = render_page(dashboard.page_template, nonce).encode("utf-8")
        headers = [("Content-Security-Policy",
                    "default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; "
                    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                    "frame-ancestors 'none'" % (nonce, nonce))]
        if token_source == "query":
            headers.append(("Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict"
                            % (dashboard.cookie_name, dashboard.token)))
        self._send(200, "text/html; charset=utf-8", body, headers)

    def _list(self, dashboard):
        entries, errors = dashboard.scans()
        dashboard.progress.keep_only(set(entry.scan_id for entry in entries))
        now = time.time()
        self._send_json(200, {
            "schema": API_SCHEMA, "schema_version": API_SCHEMA_VERSION,
            "generated_at": iso_time(now),
            "scans": [dashboard.scan_view(entry) for entry in entries],
            "errors": errors,
        })

    def _action(self, dashboard, scan_id):
        request = self._read_json_body()
        entry = self._entry(dashboard, scan_id)
        action = request.get("action")
        if action not in ACTIONS:
            raise _Refused(400, "action must be one of %s" % ", ".join(ACTIONS))
        runs = request.get("runs", [])
        if action in SCAN_ACTIONS:
            runs = []
        elif not isinstance(runs, list) or not runs or not all(isinstance(r, str) for r in runs):
            raise _Refused(400, "%s needs \"runs\": a list of run names" % action)
        for name in runs:
            self._job(entry, name)
        if entry.document.get("finished"):
            raise _Refused(409, "the scan has finished (exit %s): nothing to control"
                           % entry.document.get("exit_code"))
        try:
            if action in SCAN_ACTIONS:
                response = dashboard.send_request(entry.out_dir, "cancel", all_runs=True)
            else:
                response = dashboard.send_request(entry.out_dir, action, runs=runs)
        except ControlError as exc:
            raise _Refused(409, str(exc))
        self._send_json(200, {"scan_id": entry.scan_id, "action": action, "response": response})

    # -- helpers -------------------------------------------------------------------------

    def _entry(self, dashboard, scan_id):
        entry = dashboard.find_scan(scan_id)
        if entry is None:
            raise _Refused(404, "no such scan")
        return entry

    def _job(self, entry, name):
        job = scanfiles.find_job(entry.document, name)
        if job is None:
            raise _Refused(404, "no such run")
        return job

    def _read_json_body(self):
        if self.headers.get("Transfer-Encoding"):
            raise _Refused(411, "send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise _Refused(411, "send the body with a Content-Length")
        if length < 0:
            raise _Refused(400, "bad Content-Length")
        if length > MAX_BODY_BYTES:
            if length <= _DRAIN_BYTES:
                self._drain(length)
            self.close_connection = True
            raise _Refused(413, "request body over %d bytes" % MAX_BODY_BYTES)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise _Refused(415, "send the body as application/json")
        raw = self.rfile.read(length)
        try:
            request = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "the body is not JSON")
        if not isinstance(request, dict):
            raise _Refused(400, "the body must be a JSON object")
        return request

    def _drain(self, length):
        remaining = length
        try:
            while remaining > 0:
                chunk = self.rfile.read(min(65536, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
        except (OSError, socket.timeout):
            pass  # the client gave up; the 413 below may still reach it

    def _send_json(self, status, document, headers=()):
        body = (json.dumps(document) + "\n").encode("utf-8")
        self._send(status, "application/json", body, headers)

    def _send(self, status, content_type, body, headers=()):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page was closed mid-answer: nobody is left to tell


def _route(path):
    """(route name, arguments) for a URL path, or (None, None).

    Each segment is percent-decoded on its own, so "%2F" stays inside a
    name; the names are only ever compared with names in state documents.
    """
    if path == "/":
        return "page", ()
    if not path.startswith("/api/"):
        return None, None
    raw = path[len("/api/"):].split("/")
    if any(not _SEGMENT.match(segment) for segment in raw):
        return None, None  # "//", a trailing "/": no listings, no empty names
    segments = [unquote(segment) for segment in raw]
    if segments == ["scans"]:
        return "list", ()
    if len(segments) == 2 and segments[0] == "scans":
        return "scan", (segments[1],)
    if len(segments) == 3 and segments[0] == "scans" and segments[2] == "actions":
        return "action", (segments[1],)
    if (len(segments) == 5 and segments[0] == "scans" and segments[2] == "runs"
            and segments[4] == "log"):
        return "log", (segments[1], segments[3])
    return None, None


def _host_name(host):
    """"127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "::1", "localhost" -> "localhost"."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookie(header, name):
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


# -- the command ----------------------------------------------------------------------


def run_dashboard(out_dirs, bind=DEFAULT_BIND, port=0, stdout=None, stderr=None):
    """``times-doctor dashboard``: serve until Ctrl+C; returns the exit code."""
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    if out_dirs:
        check_out_dirs(out_dirs)
    source = ScanSource(out_dirs=out_dirs or None)
    dashboard = Dashboard(source, bind=bind, port=port)
    try:
        what = ("%d folder(s)" % len(out_dirs) if out_dirs
                else "every scan of this user on this host (%s)" % sessions.sessions_dir())
        stdout.write("Serving %s.\n" % what)
        for line in dashboard.banner():
            (stdout if line.startswith("Dashboard:") else stderr).write(line + "\n")
        stdout.write("Press Ctrl+C to stop.\n")
        stdout.flush()
        stderr.flush()
        try:
            dashboard.serve_forever()
        except KeyboardInterrupt:
            stdout.write("Dashboard stopped.\n")
            stdout.flush()
    finally:
        dashboard.stop()
    return 0
