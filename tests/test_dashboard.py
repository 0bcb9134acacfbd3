"""The web dashboard: pure helpers, the HTTP API and its guards, then real scans.

The API tests at the end drive a real scan (real GAMS, market-split MIP runs)
through the dashboard with urllib; the scan's CSV and exit code must show
what was done.  The browser test is in test_dashboard_browser.py.
"""

import builtins
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from fakes import write_scan
from proc_helpers import wait_until
from scan_helpers import (MARKET_SPLIT_PROFILES as FOUR, POLL_SECONDS, Process, cli_env,
                          market_split_args, read_report, session_alive, wait_status)
from times_doctor import paths as scanfiles
from times_doctor.remote import dashboard, dashview
from times_doctor.remote.dashboard import Dashboard
from times_doctor.remote.dashview import ScanSource, chart_for, summary_counts
from times_doctor.errors import ControlError, UsageError
from times_doctor.run.series import SeriesWriter, read_series, series_path

TOKEN = "test-token-0123456789"


# -- pure helpers ------------------------------------------------------------------


def test_chart_prefers_infeasibility_on_log_scale():
    points = [{"t": 0.5, "phase": "presolve"},
              {"t": 1.0, "phase": "barrier", "primal_obj": 10.0, "dual_obj": -5.0,
               "primal_inf": 1e3, "dual_inf": 1e2},
              {"t": 2.0, "phase": "barrier", "primal_obj": 9.0, "dual_obj": -1.0,
               "primal_inf": 1e-1, "dual_inf": 1e-3},
              {"t": 3.5, "phase": "barrier", "primal_obj": 8.0, "dual_obj": 7.9,
               "primal_inf": 1e-7, "dual_inf": 0.0}]
    chart = chart_for(points)
    assert chart == {
        "kind": "infeasibility", "log": True,
        "series": [{"name": "primal infeasibility",
                    "points": [[1.0, 1e3], [2.0, 1e-1], [3.5, 1e-7]]},
                   {"name": "dual infeasibility", "points": [[1.0, 1e2], [2.0, 1e-3]]}]}


def test_chart_objective_linear_when_values_cross_zero():
    points = [{"t": 1.0, "phase": "dual simplex", "iteration": 10, "dual_obj": -3.0},
              {"t": 2.0, "phase": "dual simplex", "iteration": 20, "dual_obj": 2.0}]
    assert chart_for(points) == {
        "kind": "objective", "log": False,
        "series": [{"name": "dual objective", "points": [[1.0, -3.0], [2.0, 2.0]]}]}


def test_chart_objective_log_when_positive_over_two_decades():
    points = [{"t": 1.0, "phase": "primal simplex", "primal_obj": 1.0, "dual_obj": 5000.0},
              {"t": 2.0, "phase": "primal simplex", "primal_obj": 2.0, "dual_obj": 400.0}]
    chart = chart_for(points)
    assert chart["kind"] == "objective" and chart["log"] is True
    assert [s["name"] for s in chart["series"]] == ["primal objective", "dual objective"]


def test_chart_none_without_two_points_and_skips_infinite_bounds():
    assert chart_for([]) is None
    assert chart_for([{"t": 1.0, "phase": "dual simplex", "primal_obj": 5.0}]) is None
    # Phases without a solver row draw nothing.
    assert chart_for([{"t": 1.0, "phase": "presolve"}, {"t": 2.0, "phase": "done"}]) is None
    # CPLEX prints 1e+75 for an infinite bound.
    assert chart_for([{"t": 1.0, "phase": "mip", "bound": 1e75},
                      {"t": 2.0, "phase": "mip", "incumbent": 3.0, "bound": 1e75}]) is None


def test_chart_draws_only_the_mip_after_the_root_lp():
    # Root LP dual simplex, then the MIP node log: incumbent and bound.
    points = [{"t": 0.4, "phase": "presolve"},
              {"t": 1.0, "phase": "dual simplex", "iteration": 1, "dual_obj": 0.0},
              {"t": 2.0, "phase": "dual simplex", "iteration": 300, "dual_obj": 0.0},
              {"t": 3.0, "phase": "mip", "iteration": 0, "bound": 0.0},
              {"t": 4.0, "phase": "mip", "iteration": 1679, "incumbent": 11.0, "bound": 0.0,
               "mip_gap": 1.0},
              {"t": 6.0, "phase": "done", "iteration": 3879, "objective": 10.0,
               "incumbent": 10.0, "bound": 2.0, "mip_gap": 0.8}]
    assert chart_for(points) == {
        "kind": "objective", "log": False,
        "series": [{"name": "incumbent", "points": [[4.0, 11.0], [6.0, 10.0]]},
                   {"name": "bound", "points": [[3.0, 0.0], [4.0, 0.0], [6.0, 2.0]]}]}


def test_chart_of_a_series_file_as_the_runner_writes_it(tmp_path):
    path = str(tmp_path / "progress_series.jsonl")
    writer = SeriesWriter(path, "barrier", "cplex", max_points=16)
    for i in range(100):
        writer.add(0.5 * i, "barrier", {"iteration": i, "primal_inf": 10.0 ** (3 - 0.1 * i),
                                        "dual_inf": 10.0 ** (2 - 0.1 * i)})
    writer.add(50.0, "done", {"iteration": 99, "primal_inf": 1e-7, "dual_inf": 1e-8},
               final=True)
    writer.close()
    chart = chart_for(read_series(path)[1])
    assert chart["kind"] == "infeasibility" and chart["log"] is True
    primal = chart["series"][0]["points"]
    assert chart["series"][0]["name"] == "primal infeasibility"
    assert primal[0] == [0.0, 1e3] and primal[-1] == [50.0, 1e-7]
    assert 8 <= len(primal) <= 16
    assert [t for t, _ in primal] == sorted(t for t, _ in primal)


def test_chart_downsamples_keeping_first_and_last():
    points = [{"t": float(i), "phase": "primal simplex", "primal_obj": float(i + 1)}
              for i in range(1000)]
    line = chart_for(points, max_points=10)["series"][0]["points"]
    assert len(line) == 10
    assert line[0] == [0.0, 1.0] and line[-1] == [999.0, 1000.0]


def test_summary_counts_like_the_terminal():
    statuses = ["running", "starting", "completed", "paused", "cancelled"]
    assert summary_counts(statuses) == [
        {"state": "running", "count": 2}, {"state": "paused", "count": 1},
        {"state": "completed", "count": 1}, {"state": "failed", "count": 0},
        {"state": "timeout", "count": 0}, {"state": "cancelled", "count": 1}]


def test_capped_runs_are_counted_coloured_and_final_on_the_page():
    assert summary_counts(["completed", "capped", "capped"])[:2] == [
        {"state": "completed", "count": 1}, {"state": "capped", "count": 2}]
    assert ".st-capped{color:#7b1fa2;}" in dashview.state_css()
    config = dashview.page_config()
    assert "capped" in config["final_states"] and "capped" not in config["cancellable_states"]


def test_route_table():
    route = dashboard._route
    assert route("/") == ("page", ())
    assert route("/api/scans") == ("list", ())
    assert route("/api/scans/1-2") == ("scan", ("1-2",))
    assert route("/api/scans/1-2/actions") == ("action", ("1-2",))
    assert route("/api/scans/1-2/runs/cplex%3Adual/log") == ("log", ("1-2", "cplex:dual"))
    # A %2F stays inside its segment; it never makes a path.
    assert route("/api/scans/1-2/runs/..%2F..%2Fetc%2Fpasswd/log") == (
        "log", ("1-2", "../../etc/passwd"))
    for path in ("/api/", "/api/scans/", "/api//scans", "/api/scans/1-2/", "/index.html",
                 "/api/scans/1-2/runs/dual", "/dashboard.html", "/../etc/passwd", ""):
        assert route(path) == (None, None), path


def test_host_name():
    assert dashboard._host_name("127.0.0.1:8080") == "127.0.0.1"
    assert dashboard._host_name("LOCALHOST") == "localhost"
    assert dashboard._host_name("[::1]:80") == "::1"
    assert dashboard._host_name("evil.example:80") == "evil.example"


def test_page_is_filled_in_and_has_no_outside_resources():
    template = dashview._load_page()
    page = dashview.render_page(template, "NONCE1")
    assert "__NONCE__" not in page and "__CONFIG__" not in page and "/*STATE_CSS*/" not in page
    assert page.count('nonce="NONCE1"') == 3
    assert ".st-running{color:#2e7d32;}" in page
    # Offline servers: nothing fetched from elsewhere.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page


# -- the HTTP server on a hand-written scan ----------------------------------------------


class Recorder(object):
    """Stands in for control.send_request."""

    def __init__(self, error=None):
        self.calls = []
        self.error = error

    def __call__(self, out_dir, action, runs=(), all_runs=False, grace_seconds=None,
                 timeout=10.0):
        self.calls.append((out_dir, action, tuple(runs), all_runs))
        if self.error is not None:
            raise self.error
        return {"id": "x", "ok": True, "error": None, "action": action,
                "applied": list(runs) or ["dual"], "skipped": {}}


@pytest.fixture
def served(tmp_path):
    """A dashboard on a hand-written scan; yields (dashboard, base folder, recorder)."""
    base = str(tmp_path / "scan")
    write_scan(base)
    with open(str(tmp_path / "secret.txt"), "w") as handle:
        handle.write("TOP SECRET\n")
    recorder = Recorder()
    server = Dashboard(ScanSource(out_dirs=[base]), port=0, token=TOKEN, send_request=recorder)
    server.start()
    yield server, base, recorder
    server.stop()


def call(server, method, path, headers=None, body=None, token="header", host=None):
    """One request with http.client (no path normalisation); returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = dict(headers or {})
    if token == "header":
        headers.setdefault(dashboard.TOKEN_HEADER, TOKEN)
    if host is not None:
        headers["Host"] = host
    try:
        conn.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            if "Content-Length" not in headers:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
        else:
            conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def post_action(server, scan_id, document, **kwargs):
    body = json.dumps(document).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    headers.update(kwargs.pop("headers", {}))
    return call(server, "POST", "/api/scans/%s/actions" % scan_id, headers=headers, body=body,
                **kwargs)


def test_binds_loopback_by_default(served):
    server = served[0]
    assert server._server.server_address[0] == "127.0.0.1"
    assert server.url == "http://127.0.0.1:%d/?token=%s" % (server.port, TOKEN)
    assert server.banner() == ["Dashboard: " + server.url]


def test_other_bind_prints_a_warning():
    server = Dashboard(ScanSource(out_dirs=[]), bind="0.0.0.0", port=0)
    try:
        banner = server.banner()
        assert len(banner) == 2 and banner[1].startswith("warning: the dashboard listens on 0.0.0.0")
        assert not server.is_loopback
    finally:
        server.stop()


def test_port_in_use_is_a_usage_error():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        with pytest.raises(UsageError) as info:
            Dashboard(ScanSource(out_dirs=[]), port=holder.getsockname()[1])
        assert "choose another --port" in str(info.value)
    finally:
        holder.close()


def test_token_is_random_and_long():
    first = Dashboard(ScanSource(out_dirs=[]))
    second = Dashboard(ScanSource(out_dirs=[]))
    try:
        assert first.token != second.token and len(first.token) >= 40
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize("path", ["/", "/api/scans", "/api/scans/111-222",
                                  "/api/scans/111-222/runs/dual/log", "/nothing"])
def test_no_token_is_401(served, path):
    status, _, body = call(served[0], "GET", path, token=None)
    assert status == 401
    assert b"line" not in body and b"111-222" not in body


def test_wrong_token_is_401_everywhere(served):
    server = served[0]
    for headers in ({dashboard.TOKEN_HEADER: "nope"},
                    {"Cookie": "%s=nope" % server.cookie_name},
                    {"Cookie": "td_token_1=%s" % TOKEN}):  # another dashboard's cookie name
        status, _, _ = call(server, "GET", "/api/scans", headers=headers, token=None)
        assert status == 401, headers
    assert call(server, "GET", "/?token=nope", token=None)[0] == 401
    status, _, _ = post_action(server, "111-222", {"action": "cancel", "runs": ["dual"]},
                               token=None, headers={"Origin": "http://127.0.0.1:%d" % server.port})
    assert status == 401
    assert served[2].calls == []


def test_token_in_url_moves_to_a_strict_httponly_cookie(served):
    server = served[0]
    status, headers, body = call(server, "GET", "/?token=" + TOKEN, token=None)
    assert status == 200
    assert headers["Set-Cookie"] == "%s=%s; Path=/; HttpOnly; SameSite=Strict" % (
        server.cookie_name, TOKEN)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert ('<script nonce="%s">' % nonce).encode() in body
    assert headers["Referrer-Policy"] == "no-referrer"
    # The cookie alone is enough afterwards.
    cookie = {"Cookie": "other=1; %s=%s" % (server.cookie_name, TOKEN)}
    status, headers, _ = call(server, "GET", "/api/scans", headers=cookie, token=None)
    assert status == 200 and "Set-Cookie" not in headers


def test_list_and_state_documents(served):
    server, base, _ = served
    status, headers, body = call(server, "GET", "/api/scans")
    assert status == 200 and headers["Content-Type"] == "application/json"
    listing = json.loads(body.decode())
    assert listing["schema"] == "times-doctor/dashboard" and listing["schema_version"] == 1
    assert listing["errors"] == []
    [scan] = listing["scans"]
    assert scan["schema"] == "times-doctor/scan-state" and scan["schema_version"] == 2
    assert scan["scan_id"] == "111-222" and [j["name"] for j in scan["jobs"]] == ["dual", "sift"]
    extra = scan["dashboard"]
    assert extra["live"] is False  # nobody holds the scan lock
    assert extra["runs"]["dual"]["label"] == "Running"
    assert extra["runs"]["dual"]["elapsed_seconds"] is not None
    # The cells are the scanner's record of each run, as the state file has it.
    assert (extra["runs"]["dual"]["phase"], extra["runs"]["dual"]["iteration"]) == (
        "dual simplex", 10)
    assert extra["runs"]["sift"]["result"] == "optimal"
    assert extra["runs"]["sift"]["label"] == "Completed"
    status, _, body = call(server, "GET", "/api/scans/111-222")
    assert status == 200 and json.loads(body.decode())["jobs"] == scan["jobs"]


def test_log_tail_is_the_last_100_lines(served, tmp_path):
    server, base, _ = served
    write_scan(base, log_lines=1000)
    status, _, body = call(server, "GET", "/api/scans/111-222/runs/dual/log")
    assert status == 200
    tail = json.loads(body.decode())
    assert tail["lines"] == ["dual line %d" % i for i in range(900, 1000)]
    assert tail["run"] == "dual" and tail["error"] is None


def test_log_tail_bytes_are_capped(served):
    server, base, _ = served
    log = os.path.join(base, "times_doctor_out", "scan_runs", "cplex", "dual", "dual_run_log.txt")
    with open(log, "w") as handle:
        handle.write("x" * (5 * 1024 * 1024) + "\nlast\n")
    status, _, body = call(server, "GET", "/api/scans/111-222/runs/dual/log")
    assert status == 200 and len(body) < 2 * dashview.LOG_TAIL_MAX_BYTES
    assert json.loads(body.decode())["lines"] == ["last"]


def test_log_outside_the_scan_folder_is_never_read(served, tmp_path):
    server, base, _ = served
    path = os.path.join(base, "times_doctor_out", "scan_runs", "scan_state.json")
    with open(path) as handle:
        document = json.load(handle)
    document["jobs"][0]["log"] = str(tmp_path / "secret.txt")
    document["jobs"][1]["log"] = os.path.join(base, "times_doctor_out", "..", "..", "secret.txt")
    with open(path, "w") as handle:
        json.dump(document, handle)
    for run in ("dual", "sift"):
        status, _, body = call(server, "GET", "/api/scans/111-222/runs/%s/log" % run)
        assert status == 200 and b"SECRET" not in body
        assert json.loads(body.decode())["lines"] == []


def files_opened(monkeypatch, action):
    """(paths open() was called with while *action* ran, what it returned)."""
    opened = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    try:
        return opened, action()
    finally:
        monkeypatch.setattr(builtins, "open", real_open)


def write_series(work_dir, points, name="dual"):
    """A progress series as the runner writes it: points of (seconds, phase, metrics)."""
    writer = SeriesWriter(series_path(work_dir), name, "cplex")
    for t, phase, metrics in points:
        writer.add(t, phase, metrics)
    writer.close()


def run_chart(server, run):
    status, _, body = call(server, "GET", "/api/scans/111-222")
    assert status == 200
    return json.loads(body.decode())["dashboard"]["runs"][run]["chart"]


def test_chart_is_read_from_the_run_series_and_follows_it(served, monkeypatch):
    server, base, _ = served
    work = scanfiles.work_dir(base, "cplex", "dual")
    assert run_chart(server, "dual") is None  # no series file yet
    write_series(work, [(0.5, "presolve", {}),
                        (1.0, "dual simplex", {"iteration": 5, "dual_obj": -3.0}),
                        (2.0, "dual simplex", {"iteration": 9, "dual_obj": 1.5})])
    assert run_chart(server, "dual") == {
        "kind": "objective", "log": False,
        "series": [{"name": "dual objective", "points": [[1.0, -3.0], [2.0, 1.5]]}]}
    # The runner appends; the next poll draws the new point.
    with open(series_path(work), "a") as handle:
        handle.write(json.dumps({"t": 3.25, "phase": "dual simplex", "dual_obj": 2.0}) + "\n")
    assert run_chart(server, "dual")["series"][0]["points"] == [[1.0, -3.0], [2.0, 1.5],
                                                                [3.25, 2.0]]
    # The run's log is not what the chart is drawn from, and an unchanged
    # series is not read again.
    with open(os.path.join(work, "dual_run_log.txt"), "a") as handle:
        handle.write("Iteration:   100   Dual objective     =          99.0\n")
    opened, chart = files_opened(monkeypatch, lambda: run_chart(server, "dual"))
    assert chart["series"][0]["points"][-1] == [3.25, 2.0]
    assert [name for name in opened if not name.endswith("scan_state.json")] == []


def test_series_outside_the_scan_folder_is_never_read(served, tmp_path, monkeypatch):
    server, base, _ = served
    outside = str(tmp_path / "elsewhere")
    os.makedirs(outside)
    write_series(outside, [(1.0, "dual simplex", {"dual_obj": -3.0}),
                           (2.0, "dual simplex", {"dual_obj": 1.5})])
    path = scanfiles.state_path(base)
    with open(path) as handle:
        document = json.load(handle)
    document["jobs"][0]["work_dir"] = outside
    document["jobs"][1]["work_dir"] = os.path.join(base, "times_doctor_out", "..", "..",
                                                   "elsewhere")
    with open(path, "w") as handle:
        json.dump(document, handle)
    opened, charts = files_opened(monkeypatch, lambda: [run_chart(server, run)
                                                        for run in ("dual", "sift")])
    assert charts == [None, None]
    assert not any("elsewhere" in name for name in opened), opened


TRAVERSALS = [
    "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/%2e%2e/secret.txt", "//etc/passwd",
    "/api/../../secret.txt", "/api/scans/..%2F..%2Fsecret.txt",
    "/api/scans/111-222/runs/..%2F..%2F..%2F..%2Fsecret.txt/log",
    "/api/scans/111-222/runs/../../../secret.txt/log",
    "/api/scans/111-222/runs/%2Fetc%2Fpasswd/log",
    "/api/scans/..%2F111-222/runs/dual/log", "/api/scans/111-222/runs/dual%00/log",
    "/api/scans/111-222/runs/dual/..%2F..%2Fscan_state.json",
    "/times_doctor_out/scan_runs/scan_state.json", "/dashboard.html", "/api/",
    "/api/scans/", "/api/scans/111-222/runs/", "/api/scans/111-222/runs/dual/",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_404_and_reads_nothing(served, monkeypatch, path):
    server = served[0]
    opened, (status, _, body) = files_opened(monkeypatch, lambda: call(server, "GET", path))
    assert status == 404, path
    assert b"SECRET" not in body and b"root:" not in body and b"line" not in body
    # Looking a scan id up reads state files; nothing else is opened.
    assert all(name.endswith("scan_state.json") for name in opened), opened


def test_unknown_run_in_an_action_is_404_and_sends_nothing(served):
    server, _, recorder = served
    origin = {"Origin": "http://127.0.0.1:%d" % server.port}
    for runs in (["../../secret.txt"], ["dual", "nope"]):
        status, _, _ = post_action(server, "111-222", {"action": "cancel", "runs": runs},
                                   headers=origin)
        assert status == 404
    assert post_action(server, "999", {"action": "cancel_all"}, headers=origin)[0] == 404
    assert recorder.calls == []


def test_actions_go_through_send_request(served):
    server, base, recorder = served
    origin = {"Origin": "http://127.0.0.1:%d" % server.port}
    for action in ("cancel", "interrupt", "pause", "resume"):
        status, _, body = post_action(server, "111-222", {"action": action, "runs": ["dual"]},
                                      headers=origin)
        assert status == 200, body
        assert json.loads(body.decode())["response"]["ok"] is True
    for action in ("cancel_all", "abort"):
        assert post_action(server, "111-222", {"action": action}, headers=origin)[0] == 200
    assert recorder.calls == [
        (base, "cancel", ("dual",), False), (base, "interrupt", ("dual",), False),
        (base, "pause", ("dual",), False), (base, "resume", ("dual",), False),
        (base, "cancel", (), True), (base, "cancel", (), True)]


def test_action_without_origin_needs_the_header_token(served):
    server, _, recorder = served
    # A non-browser client: token header, no Origin.
    assert post_action(server, "111-222", {"action": "cancel", "runs": ["dual"]})[0] == 200
    # The cookie alone (what a browser would send) needs a matching Origin.
    cookie = {"Cookie": "%s=%s" % (server.cookie_name, TOKEN)}
    status, _, _ = post_action(server, "111-222", {"action": "cancel", "runs": ["dual"]},
                               token=None, headers=cookie)
    assert status == 403
    assert len(recorder.calls) == 1


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:1"},
    {"Origin": "https://127.0.0.1"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_wrong_origin_on_post_is_403(served, headers):
    server, _, recorder = served
    headers = dict(headers)
    if "Origin" not in headers:
        headers["Origin"] = "http://127.0.0.1:%d" % server.port
    cookie = "%s=%s" % (server.cookie_name, TOKEN)
    for token in ("header", None):
        extra = dict(headers, Cookie=cookie) if token is None else headers
        status, _, _ = post_action(server, "111-222", {"action": "cancel", "runs": ["dual"]},
                                   headers=extra, token=token)
        assert status == 403
    assert recorder.calls == []


def test_foreign_host_header_is_403(served):
    server = served[0]
    # DNS rebinding: a page of evil.example re-pointed at 127.0.0.1.
    assert call(server, "GET", "/api/scans", host="evil.example:%d" % server.port)[0] == 403
    assert call(server, "GET", "/api/scans", host="localhost:9999")[0] == 200  # an SSH tunnel
    assert call(server, "GET", "/api/scans", host="[::1]:%d" % server.port)[0] == 200


def test_actions_are_post_only(served):
    server, _, recorder = served
    status, headers, _ = call(server, "GET", "/api/scans/111-222/actions")
    assert status == 405 and headers["Allow"] == "POST"
    assert call(server, "POST", "/api/scans", body=b"{}",
                headers={"Content-Type": "application/json"})[0] == 405
    assert call(server, "PUT", "/api/scans/111-222/actions")[0] == 501
    assert recorder.calls == []


def test_oversized_body_is_413(served):
    server, _, recorder = served
    origin = {"Origin": "http://127.0.0.1:%d" % server.port, "Content-Type": "application/json"}
    body = b'{"action": "cancel", "runs": ["dual"], "pad": "' + b"x" * 100000 + b'"}'
    assert call(server, "POST", "/api/scans/111-222/actions", headers=origin, body=body)[0] == 413
    # A huge announced length is refused without reading it.
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(("POST /api/scans/111-222/actions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "%s: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: 10000000000\r\n\r\n" % (dashboard.TOKEN_HEADER, TOKEN))
                     .encode())
        assert sock.recv(100).startswith(b"HTTP/1.0 413")
    finally:
        sock.close()
    assert recorder.calls == []


@pytest.mark.parametrize("body, headers, expected", [
    (b"not json", {}, 400),
    (b"[1]", {}, 400),
    (b'{"action": "explode"}', {}, 400),
    (b'{"action": "cancel"}', {}, 400),
    (b'{"action": "cancel", "runs": "dual"}', {}, 400),
    (b'{"action": "cancel", "runs": ["dual"]}', {"Content-Type": "text/plain"}, 415),
])
def test_bad_action_requests(served, body, headers, expected):
    server, _, recorder = served
    all_headers = {"Origin": "http://127.0.0.1:%d" % server.port,
                   "Content-Type": "application/json"}
    all_headers.update(headers)
    status, _, _ = call(server, "POST", "/api/scans/111-222/actions", headers=all_headers,
                        body=body)
    assert status == expected
    assert recorder.calls == []


def test_action_on_a_finished_scan_is_409(served):
    server, base, recorder = served
    write_scan(base, finished=True)
    assert post_action(server, "111-222", {"action": "cancel_all"})[0] == 409
    assert recorder.calls == []


def test_control_error_is_409_with_its_message(served):
    server, _, recorder = served
    recorder.error = ControlError("no live scan at X: its scanner is gone")
    status, _, body = post_action(server, "111-222", {"action": "cancel", "runs": ["dual"]})
    assert status == 409
    assert "scanner is gone" in json.loads(body.decode())["error"]


def test_registry_mode_lists_sessions(tmp_path):
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    write_scan(first, scan_id="1-1")
    write_scan(second, scan_id="2-2")
    entries = [{"out_dir": first}, {"out_dir": second}, {"out_dir": str(tmp_path / "gone")},
               {"out_dir": first}]
    source = ScanSource(list_sessions=lambda: entries)
    scans, errors = source.scans()
    assert [s.scan_id for s in scans] == ["1-1", "2-2"] and errors == []


def test_named_folder_without_a_scan_is_reported(tmp_path):
    source = ScanSource(out_dirs=[str(tmp_path)])
    assert source.scans() == ([], [{"out_dir": str(tmp_path),
                                    "error": "no scan yet at %s" % tmp_path}])
    # times_doctor_out itself is accepted for its parent.
    assert ScanSource(out_dirs=[str(tmp_path / "times_doctor_out")]).out_dirs == [str(tmp_path)]


# -- against real scans (real GAMS, market-split MIP runs) ------------------------------

def process_states(sid):
    """The one-letter /proc state of every live process of session *sid*."""
    found = []
    for pid in session_alive(sid):
        try:
            with open("/proc/%d/stat" % pid) as handle:
                raw = handle.read()
        except (IOError, OSError):
            continue
        found.append(raw[raw.rfind(")") + 2:].split()[0])
    return found


@pytest.mark.gams
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc process states")
def test_api_controls_a_real_scan(copy_model, gams_path, tmp_path, isolated_env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    scan = Process(market_split_args(run_dir, gams_path, out, extra=["--dashboard"]), isolated_env)
    try:
        client = scan.wait_for_url()
        assert "warning" not in scan.text()
        # list
        listing = wait_until(lambda: client.get("/api/scans")["scans"] and client.get("/api/scans"),
                             60, interval=POLL_SECONDS, message="the scan in the listing")
        [document] = listing["scans"]
        scan_id = document["scan_id"]
        assert document["schema"] == "times-doctor/scan-state" and document["schema_version"] == 2
        assert [job["name"] for job in document["jobs"]] == FOUR.split(",")
        jobs = wait_status(client, scan_id, FOUR.split(","), ["running"])
        # one scan's state: the state document plus the page's extras
        state = client.get("/api/scans/" + scan_id)
        assert state["out_dir"] == out and state["dashboard"]["live"] is True
        assert state["dashboard"]["summary"][0] == {"state": "running", "count": 4}
        # the log tail, bounded
        tail = wait_until(lambda: client.get("/api/scans/%s/runs/dual/log" % scan_id)["lines"],
                          60, interval=POLL_SECONDS, message="log lines of dual")
        assert 0 < len(tail) <= 100
        # each run's progress series (the runner's, in its work dir) becomes its chart
        charted = wait_until(
            lambda: [(name, run["chart"]) for name, run in
                     client.get("/api/scans/" + scan_id)["dashboard"]["runs"].items()
                     if run["chart"]],
            60, interval=POLL_SECONDS, message="a chart")
        for name, chart in charted:
            _, written, _ = read_series(series_path(jobs[name]["work_dir"]))
            times = set(point["t"] for point in written)
            drawn = [t for line in chart["series"] for t, _ in line["points"]]
            assert len(drawn) >= 2 and set(drawn) <= times, (name, chart, written)

        # cancel one by name: it ends, the others go on
        response = client.act(scan_id, "cancel", ["sift"])
        assert response["ok"] and response["applied"] == ["sift"]
        wait_status(client, scan_id, ["sift"], ["cancelled"], timeout=30)
        assert session_alive(jobs["sift"]["sid"]) == []
        assert all(client.jobs(scan_id)[n]["status"] == "running" for n in ("dual", "primal"))

        # pause: the processes stop (state T); resume: they run again
        assert client.act(scan_id, "pause", ["primal"])["applied"] == ["primal"]
        wait_status(client, scan_id, ["primal"], ["paused"], timeout=30)
        sid = jobs["primal"]["sid"]
        wait_until(lambda: process_states(sid) and all(s == "T" for s in process_states(sid)),
                   10, interval=POLL_SECONDS,
                   message=lambda: "stopped processes: %r" % process_states(sid))
        assert client.act(scan_id, "resume", ["primal"])["applied"] == ["primal"]
        wait_status(client, scan_id, ["primal"], ["running"], timeout=30)
        wait_until(lambda: "T" not in process_states(sid), 10, interval=POLL_SECONDS,
                   message="resumed processes")

        # interrupt: the solver stops and GAMS reports the best point.  Wait
        # until CPLEX has an incumbent (the MIP details show "inc"), or on a
        # loaded machine there may be no point to keep yet.
        wait_until(lambda: "inc " in (client.jobs(scan_id)["dual"].get("details") or ""), 120,
                   interval=POLL_SECONDS, message=lambda: "an incumbent: %r"
                   % client.jobs(scan_id)["dual"].get("details"))
        assert client.act(scan_id, "interrupt", ["dual"])["applied"] == ["dual"]
        wait_status(client, scan_id, ["dual"], ["interrupted"], timeout=60)

        # abort: every run left is cancelled by the scanner
        response = client.act(scan_id, "abort")
        assert sorted(response["applied"]) == ["bar_nox", "primal"]
        code = scan.wait(timeout=120)
    finally:
        scan.kill()
    assert code == 3, scan.text()
    _, rows = read_report(out)
    statuses = dict((row["profile"], row["status"]) for row in rows)
    assert statuses == {"dual": "interrupted", "primal": "cancelled", "sift": "cancelled",
                        "bar_nox": "cancelled"}
    assert [row for row in rows if row["profile"] == "dual"][0]["objective"] != ""
    # The dashboard stopped with the scan.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(client.base + "/api/scans", timeout=5)


@pytest.mark.gams
def test_dashboard_command_serves_the_registry_and_named_scans(copy_model, gams_path, tmp_path,
                                                               isolated_env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    scan = Process(market_split_args(run_dir, gams_path, out, profiles="dual,primal"), isolated_env)
    every = named = None
    try:
        every = Process(["dashboard"], isolated_env)
        every_client = every.wait_for_url()
        scans = wait_until(lambda: every_client.get("/api/scans")["scans"], 60,
                           interval=POLL_SECONDS, message="the scan in the registry listing")
        scan_id = scans[0]["scan_id"]
        assert [s["out_dir"] for s in scans] == [out]

        named = Process(["dashboard", out, "--port", "0"], isolated_env)
        named_client = named.wait_for_url()
        assert [s["scan_id"] for s in named_client.get("/api/scans")["scans"]] == [scan_id]
        # Both stop with Ctrl+C (SIGINT), exit 0.
        for process in (every, named):
            process.proc.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0, process.text()
            assert "Dashboard stopped." in process.text()

        # The scan goes on without them; a new dashboard cancels it.
        wait_status(_FileClient(out), scan_id, ["dual", "primal"],
                    ["running"])
        again = Process(["dashboard", os.path.join(out, "times_doctor_out")], isolated_env)
        try:
            client = again.wait_for_url()
            response = client.act(scan_id, "cancel_all")
            assert sorted(response["applied"]) == ["dual", "primal"]
            assert scan.wait(timeout=120) == 3
        finally:
            again.kill()
    finally:
        for process in (scan, every, named):
            if process is not None:
                process.kill()
    _, rows = read_report(out)
    assert set(row["status"] for row in rows) == {"cancelled"}


class _FileClient(object):
    """Reads run states straight from the state file (no dashboard running)."""

    def __init__(self, out):
        self.path = os.path.join(out, "times_doctor_out", "scan_runs", "scan_state.json")

    def jobs(self, _scan_id):
        with open(self.path) as handle:
            return dict((job["name"], job) for job in json.load(handle)["jobs"])


def test_dashboard_command_refuses_a_missing_folder_and_a_bad_port(tmp_path):
    code = subprocess.call([sys.executable, "-m", "times_doctor", "dashboard",
                            str(tmp_path / "nope")], env=cli_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert code == 2
    proc = subprocess.Popen([sys.executable, "-m", "times_doctor", "dashboard", "--port", "x"],
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and b"--port must be a TCP port" in err


def test_dashboard_command_warns_on_another_bind(tmp_path, isolated_env):
    process = Process(["dashboard", "--bind", "0.0.0.0"], isolated_env)
    try:
        wait_until(lambda: "Press Ctrl+C" in process.text(), 60, interval=POLL_SECONDS,
                   message=process.text)
        assert "warning: the dashboard listens on 0.0.0.0" in "".join(process.err)
        stop_with_ctrl_c(process)
    finally:
        process.kill()


def stop_with_ctrl_c(process):
    """Ctrl+C ends the dashboard with exit 0 (POSIX: SIGINT).  A test on Windows cannot
    press Ctrl+C in another process's console (and Wine delivers no console events):
    there the finally's kill ends it."""
    if os.name != "nt":
        process.proc.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_zipapp_serves_the_page(tmp_path, isolated_env):
    """dashboard.html is read with pkgutil, so it is found inside the zipapp too."""
    from scan_helpers import build_zipapp
    env = dict(isolated_env, PYTHONPATH="")
    process = Process(["dashboard"], env,
                      command=[sys.executable, build_zipapp(tmp_path / "dist")])
    try:
        client = process.wait_for_url()
        with urllib.request.urlopen("%s/?token=%s" % (client.base, client.token),
                                    timeout=30) as response:
            page = response.read().decode("utf-8")
        assert "<title>times-doctor dashboard</title>" in page and "__NONCE__" not in page
        stop_with_ctrl_c(process)
    finally:
        process.kill()
