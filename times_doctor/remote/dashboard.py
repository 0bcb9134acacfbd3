"""The local web dashboard: watch and control scans from a browser.

``times-doctor dashboard [RUN_DIR...]`` (or ``scan --dashboard``) serves one
HTML page (``dashboard.html``, shipped in the package) and a small JSON API
under ``/api/``.  Standard library only: ``http.server`` with a thread per
request.

It reads what the scans publish (their state files, logs and progress
series) and acts only through ``control.send_request``: the running scanner
applies every cancel, interrupt, pause and resume, exactly as for the
command-line tools, so its table, CSV and exit code stay right.  Nothing
here signals a process.

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
    progress series of the runs those name inside the scan's own
    ``times_doctor_out`` folder.

Why over 500 lines: the server and every check a request passes (host,
token, origin, body size, the lookups above) stay in one file, so a reader
can see each one against the rules above; what the page shows is
dashview.py's.
"""

import hmac
import json
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
from http import server as http_server
from urllib.parse import parse_qs, unquote, urlsplit

from times_doctor import paths
from times_doctor.remote import control, sessions
from times_doctor.errors import ControlError, UsageError
from times_doctor.paths import iso_time
from times_doctor.remote.dashview import (ChartCache, ScanSource, check_out_dirs, log_tail,
                                          render_page, scan_view, _load_page)

API_SCHEMA = "times-doctor/dashboard"
API_SCHEMA_VERSION = 1

DEFAULT_BIND = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

TOKEN_HEADER = "X-Times-Doctor-Token"
TOKEN_QUERY = "token"

# An action body is a few dozen bytes; anything near this is not ours.
MAX_BODY_BYTES = 8 * 1024
# A refused body up to this size is read and dropped so the client sees the
# 413 instead of a reset connection; a larger one is not read at all.
_DRAIN_BYTES = 1024 * 1024
# Seconds a request may sit idle before its thread gives up on it.
REQUEST_TIMEOUT_SECONDS = 30
# stop() waits this long for requests still being answered.
STOP_DRAIN_SECONDS = 15

# What a page or client may ask for.  "cancel_all" and "abort" both become
# one cancel request for every run: see ACTION_REQUESTS and docs/dashboard.md.
RUN_ACTIONS = ("cancel", "interrupt", "pause", "resume")
SCAN_ACTIONS = ("cancel_all", "abort")
ACTIONS = RUN_ACTIONS + SCAN_ACTIONS



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
        self.charts = ChartCache()
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
        return scan_view(entry, self.charts)


def is_loopback_address(address):
    return address in LOOPBACK_NAMES or address.startswith("127.")


def bind_warning(bind, port):
    return ("warning: the dashboard listens on %s port %d, not only on this machine's loopback: "
            "anyone who can reach it and learns the token can cancel your runs, and plain HTTP "
            "is not encrypted. Prefer the default and an SSH tunnel "
            "(ssh -L %d:127.0.0.1:%d HOST)." % (bind, port, port, port))


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
        dashboard.charts.keep_only(set(entry.scan_id for entry in entries))
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
        job = paths.find_job(entry.document, name)
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
