"""Shared helpers for the scan tests: run the CLI, read its outputs, fingerprint folders,
drive a scan's dashboard through its API."""

import csv
import hashlib
import http.client
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request

from proc_helpers import session_pids, wait_until

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The fake GAMS (tests/fakegams): its sh wrapper, or its .cmd on Windows.
FAKE_GAMS = os.path.join(REPO_ROOT, "tests", "fakegams", "gams.cmd" if os.name == "nt" else "gams")

CSV_COLUMNS = ["profile", "solver", "status", "model_status", "solver_status", "lp_status",
               "objective", "runtime_seconds", "iterations", "gams_rc", "gams_rc_meaning",
               "matrix_min", "matrix_max", "dir", "lst",
               # added at the end (what a run cost, its trial, the ranking)
               "solver_seconds", "gams_seconds", "cpu_seconds", "det_ticks", "work_units",
               "cpu_share", "load_avg", "cpus", "contended", "exclusive_node",
               "trial_of", "trial", "seed", "run_kind", "rank", "rank_basis", "stop_reason"]


MARKET_SPLIT_PROFILES = "dual,primal,sift,bar_nox"



def market_split_args(run_dir, gams_path, out, profiles=MARKET_SPLIT_PROFILES, grace_seconds=3,
                      extra=()):
    """CLI arguments for a parallel scan of the market-split model, the e2e tests' workload.

    One thread per run and solvelink=0, so that each run is a real process tree
    (gams -> sh -> sh -> solver) that the cancel, pause and reap paths must end.
    """
    return (["scan", run_dir, "--gams-path", gams_path, "--profiles", profiles,
             "--threads", "1", "--parallel", "--max-workers", "4", "--gams-arg", "solvelink=0",
             "--grace-seconds", str(grace_seconds), "--out", out, "--yes"] + list(extra))


# What `times-doctor scan RUN_DIR --gams-path GAMS --profiles dual --yes` gives
# the scan, except colour off: tests name only the fields they care about.
SCAN_CONFIG_DEFAULTS = dict(
    driver=None, times_src=None, solver="cplex", profiles=["dual"], opt_dir=None, threads="1",
    parallel=False, max_workers=None, timeout_seconds="0", grace_seconds="10", gams_args=[],
    out=None, yes=True, no_color=True, debug=False, allow_unknown_options=False,
    no_preflight=False)


def scan_config(run_dir, gams_path, **fields):
    """A ScanConfig by keyword, with SCAN_CONFIG_DEFAULTS for the fields not given."""
    from times_doctor.scan.plan import ScanConfig
    values = dict(SCAN_CONFIG_DEFAULTS, **fields)
    return ScanConfig(run_dir=run_dir, gams_path=gams_path, **values)


def cli_env(extra=None, pythonpath=REPO_ROOT):
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath
    if os.name == "nt":
        # A Windows pipe gets the ANSI code page (cp1252), which lacks the checklist's
        # marks: the tests read what a UTF-8 terminal shows (test_windows_scan.py
        # runs without this, as a user's redirect does).
        env["PYTHONIOENCODING"] = "utf-8"
    env.pop("FORCE_COLOR", None)
    env.pop("TD_MAX_WORKERS", None)
    env.pop("TD_TIMEOUT_SECONDS", None)
    if extra:
        env.update(extra)
    return env


def run_cli(args, timeout=600, env=None, cwd=None, python=None):
    """Run ``python -m times_doctor ARGS`` with stdin not a terminal."""
    proc = subprocess.Popen([python or sys.executable, "-m", "times_doctor"] + list(args),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env or cli_env(), cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, text_of(out), text_of(err)


def text_of(output):
    """A CLI's output as text: UTF-8 (cli_env), line ends as "\n" (Windows writes "\r\n")."""
    return output.decode("utf-8", "replace").replace("\r\n", "\n")


def read_report(out_dir):
    path = os.path.join(out_dir, "times_doctor_out", "scan_report.csv")
    with open(path, newline="", encoding="utf-8") as handle:  # the CSV is UTF-8 everywhere
        reader = csv.DictReader(handle)
        rows = list(reader)
        return reader.fieldnames, rows


def read_state(out_dir):
    path = os.path.join(out_dir, "times_doctor_out", "scan_runs", "scan_state.json")
    with open(path) as handle:
        return json.load(handle)


def jobs_by_name(out_dir):
    """{run name: its job in the state file}; {} while there is no complete state file yet."""
    try:
        return dict((job["name"], job) for job in read_state(out_dir)["jobs"])
    except (IOError, ValueError, KeyError):
        return {}


def start_scan(args, env, command=None):
    """`python -m times_doctor ARGS` (or *command* ARGS: a zipapp) as a cron job runs it: no
    terminal, output piped."""
    return subprocess.Popen((command or [sys.executable, "-m", "times_doctor"]) + list(args),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def profiles_opt_dir(folder, count):
    """*folder*/cplex/p000.opt ... as --opt-dir for *count* runs: (folder, their names)."""
    names = ["p%03d" % index for index in range(count)]
    os.makedirs(os.path.join(folder, "cplex"))
    for name in names:
        with open(os.path.join(folder, "cplex", name + ".opt"), "w") as handle:
            handle.write("lpmethod 2\n")
    return folder, names


def build_zipapp(dist):
    """dist/times-doctor.pyz as `make zipapp` builds it; the Windows leg, which has no
    make, is handed the one tests/wine_leg.py built (TD_ZIPAPP)."""
    prebuilt = os.environ.get("TD_ZIPAPP")
    if prebuilt:
        return prebuilt
    subprocess.check_call(["make", "-s", "zipapp", "DIST=%s" % dist], cwd=REPO_ROOT)
    return os.path.join(str(dist), "times-doctor.pyz")


def recording_gams(tmp_path, gams_path):
    """(a gams wrapper, the file it notes jobs in): each job it starts writes its work folder.

    A job is a call with arguments; banners and probes run in temporary
    folders, so started_profiles() keeps only the scan's own work folders.
    """
    calls = os.path.join(str(tmp_path), "gams_calls.txt")
    folder = os.path.join(str(tmp_path), "bin")
    os.makedirs(folder)
    wrapper = os.path.join(folder, "gams")
    with open(wrapper, "w") as handle:
        handle.write('#!/bin/sh\n[ $# -gt 0 ] && echo "$PWD" >> "%s"\nexec "%s" "$@"\n'
                     % (calls, gams_path))
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
    return wrapper, calls


def started_profiles(calls, out, solver="cplex"):
    """The runs whose GAMS job recording_gams() saw start, in order; the record is then emptied."""
    if not os.path.exists(calls):
        return []
    with open(calls) as handle:
        dirs = [line.strip() for line in handle if line.strip()]
    os.unlink(calls)
    runs = os.path.join(out, "times_doctor_out", "scan_runs", solver) + os.sep
    return [os.path.basename(path) for path in dirs if path.startswith(runs)]


def tree_digest(root):
    """Names, sizes, modes and content hashes of everything under *root*."""
    entries = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            entries.append((os.path.relpath(path, root), st.st_size, st.st_mode, digest))
    return entries


def session_alive(sid):
    """Live (non-zombie) pids whose session id is *sid* (Linux /proc)."""
    return session_pids(sid)


# -- a CLI subprocess and the dashboard it serves -----------------------------------------

POLL_SECONDS = 0.2  # between two waits' polls: each one is an HTTP request or a /proc scan
URL_LINE = re.compile(r"Dashboard: (http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+))")


class Process(object):
    """A CLI subprocess whose stdout is collected by a thread (waits use deadlines)."""

    def __init__(self, args, env, command=None):
        command = command or [sys.executable, "-m", "times_doctor"]
        self.proc = subprocess.Popen(command + args,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.out = []
        self.err = []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out)),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.err))]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    @staticmethod
    def _pump(stream, lines):
        for raw in iter(stream.readline, b""):
            lines.append(raw.decode("utf-8", "replace"))

    def text(self):
        return "".join(self.out) + "".join(self.err)

    def wait_for_url(self, timeout=60):
        match = wait_until(lambda: URL_LINE.search("".join(self.out)), timeout,
                           interval=POLL_SECONDS,
                           message=lambda: "a dashboard URL in the output:\n" + self.text())
        return Client(int(match.group(2)), match.group(3))

    def wait(self, timeout):
        code = self.proc.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=5)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Client(object):
    """The dashboard API through urllib, as a script would use it."""

    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.base = "http://127.0.0.1:%d" % port

    def request(self, method, path, document=None, token=True):
        data = None if document is None else json.dumps(document).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            from times_doctor.remote.dashboard import TOKEN_HEADER
            request.add_header(TOKEN_HEADER, self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read().decode("utf-8") or "{}")
        except http.client.RemoteDisconnected as exc:
            raise AssertionError("dashboard %s %s: connection dropped without an answer (%s)"
                                 % (method, path, exc))

    def get(self, path):
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body

    def act(self, scan_id, action, runs=None):
        document = {"action": action}
        if runs:
            document["runs"] = runs
        status, body = self.request("POST", "/api/scans/%s/actions" % scan_id, document)
        assert status == 200, (action, runs, status, body)
        return body["response"]

    def jobs(self, scan_id):
        return dict((job["name"], job) for job in self.get("/api/scans/" + scan_id)["jobs"])


def wait_status(client, scan_id, names, statuses, timeout=60):
    def reached():
        jobs = client.jobs(scan_id)
        return all(jobs[name]["status"] in statuses for name in names) and jobs
    return wait_until(reached, timeout, interval=POLL_SECONDS, message=lambda: "%s in %s: %r" % (
        names, statuses, dict((n, j["status"]) for n, j in client.jobs(scan_id).items())))
