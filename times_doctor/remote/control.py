"""Control requests: another process asks the running scanner to act on its runs.

A client (the cancel/interrupt/pause/resume commands, the dashboard) writes
``req-<id>.json`` atomically into ``OUT/times_doctor_out/scan_runs/requests/``.
The scanner's main loop (RequestInbox.poll) picks it up within ~0.2 s,
checks its owner and content, applies it through the same JobRegistry
methods as the keyboard menu, writes ``resp-<id>.json`` atomically and
deletes the request.  Only the scanner ever signals a live scan's
processes, so its table, CSV and exit code stay right.

A malformed, truncated, foreign or unknown-run request changes nothing and
gets a response whose ``error`` says why.
"""

import binascii
import json
import os
import socket
import time

from times_doctor.remote import sessions
from times_doctor.atomic import write_atomic
from times_doctor.errors import EXIT_NO_SCANNER, EXIT_USAGE, ControlError, ParseError
from times_doctor.job_control import (ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME,
                                      INTERRUPT_NOT_AVAILABLE)
from times_doctor.paths import jobs_of, requests_dir, require_state_file, state_path
from times_doctor.paths import read_state
from times_doctor.states import ACTIVE_STATES, FINAL_STATES, RunStatus

REQUEST_SCHEMA = "times-doctor/control-request"
RESPONSE_SCHEMA = "times-doctor/control-response"
PROTOCOL_VERSION = 1

ACTION_CANCEL = "cancel"
ACTIONS = (ACTION_CANCEL, ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME)


# Requests larger than this are refused unread (a request is a few hundred bytes).
MAX_REQUEST_BYTES = 64 * 1024

_POLL_SECONDS = 0.05

# The state each action leads to, for wait_for_runs().
TARGET_STATES = {
    ACTION_CANCEL: FINAL_STATES,
    ACTION_INTERRUPT: FINAL_STATES,
    ACTION_PAUSE: (RunStatus.PAUSED,) + FINAL_STATES,
    ACTION_RESUME: (RunStatus.RUNNING,) + FINAL_STATES,
}


# -- client side -------------------------------------------------------------------

def send_request(out_dir, action, runs=(), all_runs=False, grace_seconds=None, timeout=10.0):
    """Hand a request to the live scanner of *out_dir* and return its response.

    Args:
        out_dir: the scan's output base (the folder holding times_doctor_out/).
        action: one of ACTIONS.
        runs: run names (or 1-based numbers in profile order).
        all_runs: act on every run instead of *runs*.
        grace_seconds: cancel only: SIGTERM-to-SIGKILL wait (None: the scan's).
        timeout: seconds to wait for the scanner's answer.

    Returns:
        The response: {"id", "ok", "error", "applied", "skipped", ...}.

    Raises:
        ControlError: exit 4 when no live scanner holds *out_dir* (or it
            died or did not answer in time); exit 2 when the request is
            unusable before sending.
    """
    if action not in ACTIONS:
        raise ControlError("unknown action %r: use one of %s" % (action, ", ".join(ACTIONS)),
                           EXIT_USAGE)
    out_dir = os.path.abspath(out_dir)
    _require_live_scanner(out_dir)
    folder = requests_dir(out_dir)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    request_id = "%d-%d-%s" % (os.getpid(), int(time.time() * 1000),
                               binascii.hexlify(os.urandom(4)).decode("ascii"))
    document = {
        "schema": REQUEST_SCHEMA, "schema_version": PROTOCOL_VERSION, "id": request_id,
        "action": action, "runs": [str(name) for name in runs], "all": bool(all_runs),
        "grace_seconds": grace_seconds,
        "client": {"pid": os.getpid(), "uid": getattr(os, "getuid", lambda: None)(),
                   "host": socket.gethostname()},
        "created_at": _iso_now(),
    }
    request_path = os.path.join(folder, "req-%s.json" % request_id)
    response_path = os.path.join(folder, "resp-%s.json" % request_id)
    write_atomic(request_path, json.dumps(document) + "\n", mode=0o600)
    deadline = time.monotonic() + timeout
    while True:
        response = _read_response(response_path)
        if response is not None:
            _unlink_quietly(response_path)
            return response
        if not sessions.scanner_alive(out_dir):
            _unlink_quietly(request_path)
            raise ControlError("the scan at %s ended before answering: see "
                               "`times-doctor status %s`" % (out_dir, out_dir), EXIT_NO_SCANNER)
        if time.monotonic() >= deadline:
            _unlink_quietly(request_path)
            raise ControlError("the scanner of %s did not answer within %g s: is it stuck? "
                               "See `times-doctor status %s`" % (out_dir, timeout, out_dir),
                               EXIT_NO_SCANNER)
        time.sleep(_POLL_SECONDS)


def wait_for_runs(out_dir, names, statuses, timeout, gave_up=lambda job: False):
    """Wait until every run in *names* is in one of *statuses* (from the state file).

    A run for which *gave_up(job)* is true is waited for no longer (an
    interrupt that could not reach its GAMS: the run goes on).

    Returns:
        (reached, jobs): reached is True if all got there before *timeout*;
        jobs maps name -> the job's entry in the last state read.
    """
    path = state_path(out_dir)
    deadline = time.monotonic() + timeout
    jobs = {}

    def reached():
        return all(jobs.get(name, {}).get("status") in statuses for name in names)
    while True:
        try:
            document = read_state(path)
            jobs = dict((job.get("name"), job) for job in jobs_of(document))
        except ParseError:
            pass  # not written yet: look again
        if reached():
            return True, jobs
        waiting = [name for name in names if jobs.get(name, {}).get("status") not in statuses]
        if all(gave_up(jobs.get(name, {})) for name in waiting):
            return False, jobs
        if time.monotonic() >= deadline or not sessions.scanner_alive(out_dir):
            return reached(), jobs
        time.sleep(_POLL_SECONDS * 2)


def interrupt_not_available(job):
    """True once a run's Details say its interrupt could not be delivered (run/runner.py)."""
    return (job.get("details") or "").startswith(INTERRUPT_NOT_AVAILABLE)


def _require_live_scanner(out_dir):
    if sessions.scanner_alive(out_dir):
        return
    path = require_state_file(out_dir, ControlError)
    try:
        document = read_state(path)
    except ParseError:
        document = {}
    if document.get("finished"):
        raise ControlError("the scan at %s has finished (exit %s): nothing to control"
                           % (out_dir, document.get("exit_code")), EXIT_NO_SCANNER)
    raise ControlError("no live scan at %s: its scanner is gone; use `times-doctor reap %s`"
                       % (out_dir, out_dir), EXIT_NO_SCANNER)


def _read_response(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_REQUEST_BYTES)
    except FileNotFoundError:
        return None
    try:
        response = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ControlError("unreadable response %s from the scanner" % path, EXIT_NO_SCANNER)
    if not isinstance(response, dict) or response.get("schema") != RESPONSE_SCHEMA:
        raise ControlError("%s is not a times-doctor control response" % path, EXIT_NO_SCANNER)
    return response


# -- scanner side ------------------------------------------------------------------

class RequestInbox(object):
    """The scanner's end: find requests, check them, apply them, answer.

    Args:
        folder: the requests folder (created 0700).
        registry: the scan's JobRegistry.
        uid: the uid whose requests are accepted (None: no check, Windows).
        resolve: callable(tokens, names) -> names, raising ParseError for a
            token that names no run (menu.parse_selection-like).
    """

    def __init__(self, folder, registry, resolve, uid=None):
        self.folder = folder
        self.registry = registry
        self.resolve = resolve
        self.uid = uid
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        os.chmod(folder, 0o700)

    def poll(self):
        """Handle every waiting request; returns the responses written."""
        try:
            names = sorted(os.listdir(self.folder))
        except (IOError, OSError):
            return []
        answered = []
        for name in names:
            if not (name.startswith("req-") and name.endswith(".json")):
                continue  # temporaries of atomic writes start with "."
            request_id = name[len("req-"):-len(".json")]
            path = os.path.join(self.folder, name)
            response = self._handle(path, request_id)
            write_atomic(os.path.join(self.folder, "resp-%s.json" % _safe_id(request_id)),
                         json.dumps(response) + "\n", mode=0o600)
            _unlink_quietly(path)
            answered.append(response)
        return answered

    def close(self, reason="the scan has ended"):
        """Refuse whatever is still waiting, so no client waits for nothing."""
        try:
            names = sorted(os.listdir(self.folder))
        except (IOError, OSError):
            return
        for name in names:
            if name.startswith("req-") and name.endswith(".json"):
                request_id = name[len("req-"):-len(".json")]
                write_atomic(os.path.join(self.folder, "resp-%s.json" % _safe_id(request_id)),
                             json.dumps(_response(request_id, error=reason)) + "\n", mode=0o600)
                _unlink_quietly(os.path.join(self.folder, name))

    def _handle(self, path, request_id):
        try:
            request = self._read(path)
            runs = self._choose(request)
        except ParseError as exc:
            return _response(request_id, error=str(exc))
        return self._apply(request_id, request, runs)

    def _read(self, path):
        try:
            with open(path, "rb") as handle:
                st = os.fstat(handle.fileno())
                raw = handle.read(MAX_REQUEST_BYTES + 1)
        except (IOError, OSError) as exc:
            raise ParseError("cannot read the request: %s" % (exc.strerror or exc))
        if self.uid is not None and st.st_uid != self.uid:
            raise ParseError("refused: the request belongs to uid %d, this scan to uid %d"
                             % (st.st_uid, self.uid))
        if len(raw) > MAX_REQUEST_BYTES:
            raise ParseError("refused: the request is larger than %d bytes" % MAX_REQUEST_BYTES)
        try:
            request = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError("the request is not valid JSON (%s): nothing was changed" % exc)
        if not isinstance(request, dict) or request.get("schema") != REQUEST_SCHEMA:
            raise ParseError("not a times-doctor control request (schema %r expected)"
                             % REQUEST_SCHEMA)
        if request.get("schema_version") != PROTOCOL_VERSION:
            raise ParseError("request schema version %r; this scanner speaks %d"
                             % (request.get("schema_version"), PROTOCOL_VERSION))
        if request.get("action") not in ACTIONS:
            raise ParseError("unknown action %r: use one of %s"
                             % (request.get("action"), ", ".join(ACTIONS)))
        runs = request.get("runs", [])
        if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
            raise ParseError("\"runs\" must be a list of run names")
        if not isinstance(request.get("all", False), bool):
            raise ParseError("\"all\" must be true or false")
        grace = request.get("grace_seconds")
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, (int, float))
                                  or not grace >= 0):
            raise ParseError("\"grace_seconds\" must be a number >= 0 or null")
        if bool(runs) == bool(request.get("all", False)):
            raise ParseError("name the runs or ask for all of them (not both, not neither)")
        return request

    def _choose(self, request):
        names = self.registry.names()
        if request.get("all"):
            return names
        return self.resolve(request["runs"], names)

    def _apply(self, request_id, request, runs):
        action = request["action"]
        skipped = {}
        for name in runs:
            reason = _refusal(action, self.registry.get(name))
            if reason is not None:
                skipped[name] = reason
        chosen = [name for name in runs if name not in skipped]
        if action == ACTION_CANCEL:
            # All at once (see JobRegistry.cancel_all): cancelled one by one,
            # a waiting run could start after the running one ended.
            done = set(self.registry.cancel_all(request.get("grace_seconds"), names=chosen))
        else:
            done = set(name for name in chosen if self.registry.request_action(name, action))
        for name in chosen:
            if name not in done:
                skipped[name] = "already %s" % self.registry.get(name).status
        applied = [name for name in chosen if name in done]
        return _response(request_id, action=action, applied=applied, skipped=skipped)


def _refusal(action, snap):
    """Why *action* does not apply to a run in this state, or None."""
    if snap.status in FINAL_STATES:
        return "already %s" % snap.status
    if action == ACTION_CANCEL:
        return None
    if snap.cancel_requested:
        return "being cancelled"
    if snap.status == RunStatus.WAITING:
        return "waiting: not started yet"
    if action == ACTION_PAUSE and snap.status == RunStatus.PAUSED:
        return "already paused"
    if action == ACTION_RESUME and snap.status != RunStatus.PAUSED:
        return "not paused"
    if snap.status not in ACTIVE_STATES:
        return snap.status
    return None


def _response(request_id, action=None, applied=(), skipped=None, error=None):
    return {
        "schema": RESPONSE_SCHEMA, "schema_version": PROTOCOL_VERSION, "id": request_id,
        "ok": error is None, "error": error, "action": action,
        "applied": list(applied), "skipped": dict(skipped or {}),
        "answered_at": _iso_now(),
    }


def _safe_id(request_id):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in request_id)[:200]


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass  # the other side cleaned up first


def _iso_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- the cancel / interrupt / pause / resume commands ----------------------------------

# How long a command waits for the state file to show the effect, by action
# (cancel: plus its grace).
DEFAULT_WAIT_SECONDS = {ACTION_CANCEL: 30.0, ACTION_INTERRUPT: 120.0, ACTION_PAUSE: 15.0,
                        ACTION_RESUME: 15.0}

PAST_TENSE = {ACTION_CANCEL: "cancelling", ACTION_INTERRUPT: "interrupting",
              ACTION_PAUSE: "pausing", ACTION_RESUME: "resuming"}


def run_command(out_dir, action, runs=(), all_runs=False, grace_seconds=None,
                wait_seconds=None, write=None):
    """The CLI command: send, report what the scanner did, wait for the effect.

    Returns:
        0 when every applied run reached its target state (or nothing was
        left to do), 1 when one did not within the wait.

    Raises:
        ControlError: exit 2 for a refused request (unknown run, bad
            input), exit 4 when no live scanner answers.
    """
    write = write or (lambda text: None)
    if not runs and not all_runs:
        raise ControlError("name the runs to %s, or give --all" % action, EXIT_USAGE)
    if runs and all_runs:
        raise ControlError("give run names or --all, not both", EXIT_USAGE)
    response = send_request(out_dir, action, runs, all_runs, grace_seconds)
    if not response.get("ok"):
        raise ControlError("the scanner refused the request: %s" % response.get("error"),
                           EXIT_USAGE)
    applied = response.get("applied", [])
    for name, reason in sorted(response.get("skipped", {}).items()):
        write("%s: skipped (%s)" % (name, reason))
    if not applied:
        write("nothing to %s" % action)
        return 0
    write("%s: %s" % (PAST_TENSE[action], ", ".join(applied)))
    if wait_seconds is None:
        wait_seconds = DEFAULT_WAIT_SECONDS[action]
        if action == ACTION_CANCEL:
            wait_seconds += grace_seconds if grace_seconds is not None else 10.0
    if wait_seconds <= 0:
        return 0
    gave_up = interrupt_not_available if action == ACTION_INTERRUPT else (lambda job: False)
    reached, jobs = wait_for_runs(out_dir, applied, TARGET_STATES[action], wait_seconds,
                                  gave_up)
    for name in applied:
        job = jobs.get(name, {})
        line = "%s: %s" % (name, job.get("status", "unknown"))
        if job.get("status") not in TARGET_STATES[action] and gave_up(job):
            line += " (%s)" % job["details"].split("; ")[0]
        elif job.get("result"):
            line += " (%s)" % job["result"]
        write(line)
    if not reached:
        if not all(gave_up(jobs.get(name, {})) for name in applied
                   if jobs.get(name, {}).get("status") not in TARGET_STATES[action]):
            write("not all runs got there within %g s: see `times-doctor status %s`"
                  % (wait_seconds, out_dir))
        return 1
    return 0
