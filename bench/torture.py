"""times-doctor torture suite: `make torture` (SEED=, N=).

Each trial starts a scan of 2-4 profiles of one run type, acts on it at a
random moment, waits for the scan to end and checks the invariants the README
promises: no process of any run left (by session id and by the
TIMES_DOCTOR_JOB marker), one CSV row per profile with the state file's
status, finished rows kept, the state file readable and final, the run
directory untouched, the documented exit code, and (in a pty) a sane
terminal: cursor shown, output ending with the report line.

Randomised but reproducible: trial i of run seed S uses its own seed (printed);
``--trial-seed X`` replays exactly that trial.

Run types: real GAMS MIP tree (market split, solvelink=0: gams -> sh -> sh ->
solver), fake GAMS ignoring SIGTERM, forking grandchildren, a grandchild that
calls setsid(), a 50 MB log of 100 kB lines with invalid UTF-8.
Actions: menu cancel one / cancel all / abort and double Ctrl+C through a real
pty; SIGTERM, SIGHUP to the scanner (no terminal); SIGKILL the scanner then
`times-doctor reap`; external `cancel`, `pause` + `resume`, `interrupt`.

Usage: python bench/torture.py [--seed S] [--trials N] [--trial-seed X]
                               [--json PATH] [--keep DIR] [--gams PATH]
Exit status: 0 when every trial kept every invariant, 1 otherwise, 2 on bad set-up.
"""

import argparse
import collections
import csv
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

from proc_helpers import marked_pids  # noqa: E402 (sys.path above)
from pty_helpers import CTRL_C, PtyProcess  # noqa: E402 (sys.path above)
from gams_select import gams_for_tools  # noqa: E402 (sys.path above)
from scan_helpers import (CSV_COLUMNS, cli_env, session_alive,  # noqa: E402 (sys.path above)
                          tree_digest)

FAKE_GAMS = os.path.join(REPO, "tests", "fakegams", "gams")
MARKET_SPLIT = os.path.join(REPO, "tests", "models", "marketsplit")
PROFILES = ["dual", "primal", "sift", "bar_nox"]
FINAL_STATUSES = ("completed", "failed", "timeout", "cancelled", "interrupted")
LONG_SLEEP = 600.0

# Fake-GAMS directives per run type; {sleep} is the run's length in seconds.
RUN_TYPES = collections.OrderedDict([
    ("gams_mip", None),
    ("ignore_term", ["ignore-term", "sleep {sleep}"]),
    ("grandchildren", ["grandchildren 2 600", "sleep {sleep}"]),
    ("setsid_grandchild", ["setsid-grandchild 600", "sleep {sleep}"]),
    ("huge_log", ["huge-log 50 100", "sleep {sleep}"]),
])

# name -> (terminal: "pty" or "pipe", CLI subcommands it needs besides scan)
ACTIONS = collections.OrderedDict([
    ("menu_cancel_one", ("pty", ())),
    ("menu_cancel_all", ("pty", ())),
    ("menu_abort", ("pty", ())),
    ("double_ctrl_c", ("pty", ())),
    ("sigterm", ("pipe", ())),
    ("sighup", ("pipe", ())),
    ("sigkill_reap", ("pipe", ("reap",))),
    ("ext_cancel", ("pipe", ("cancel",))),
    ("ext_pause_resume", ("pipe", ("pause", "resume", "cancel"))),
    ("ext_interrupt", ("pipe", ("interrupt", "cancel"))),
])

EXIT_BY_SIGNAL_NAME = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}
SHOW_CURSOR = b"\x1b[?25h"
# The last line of a scan that left unfinished rows (scan/scanner.py, paths.resume_hint).
RESUME_HINT = "To run what did not complete: times-doctor scan "
HIDE_CURSOR = b"\x1b[?25l"
# Files bigger than this are dropped from a kept (failed) trial folder.
KEEP_MAX_BYTES = 1024 * 1024


class TrialAbort(Exception):
    """The trial could not go on (a wait timed out); recorded as a failure."""


# -- set-up ---------------------------------------------------------------------

def trial_seed_for(run_seed, index):
    """Each trial's own seed: stable across Pythons (str seeds hash with SHA-512)."""
    return random.Random("times-doctor-torture:%d:%d" % (run_seed, index)).randrange(2 ** 31)


def available_subcommands(python):
    """The CLI subcommands this checkout has (control commands arrive with issue 4)."""
    found = set()
    for name in ("reap", "cancel", "pause", "resume", "interrupt"):
        proc = subprocess.Popen([python, "-m", "times_doctor", name, "--help"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=cli_env())
        if proc.wait(timeout=60) == 0:
            found.add(name)
    return found


def action_pool(subcommands):
    """(usable actions, {skipped action: reason})."""
    usable, skipped = [], collections.OrderedDict()
    for name, (_, needs) in ACTIONS.items():
        missing = [cmd for cmd in needs if cmd not in subcommands]
        if missing:
            skipped[name] = "times-doctor has no `%s` subcommand yet" % "`, `".join(missing)
        else:
            usable.append(name)
    return usable, skipped


# -- one trial --------------------------------------------------------------------

class Trial(object):
    """One scan, one action, the invariant checks."""

    def __init__(self, index, seed, context):
        self.index = index
        self.seed = seed
        self.ctx = context
        rng = random.Random(seed)
        self.rng = rng
        # Every draw that shapes the trial happens here, in a fixed order.
        self.run_type = rng.choice(list(RUN_TYPES))
        self.action = rng.choice(context.actions)
        count = rng.randint(2, 4)
        chosen = set(rng.sample(PROFILES, count))
        self.profiles = [name for name in PROFILES if name in chosen]
        self.parallel = rng.random() < 0.6
        self.workers = rng.randint(2, count) if self.parallel else 1
        self.delay = round(rng.uniform(0.5, 4.0), 2)
        self.grace = rng.choice([1, 2])
        early = rng.random() < 0.5
        short = rng.uniform(0.8, 2.0)
        # Sequential fake runs that end by themselves, so rows finish before the
        # action (which comes after the first has ended). The scan may also end by
        # itself around the action: the checks then expect a natural ending.
        if early and not self.parallel and count >= 3 and self.run_type != "gams_mip":
            self.sleep = round(short, 2)
            self.delay = round(max(self.delay, self.sleep + 0.3), 2)
        else:
            self.sleep = LONG_SLEEP
        self.terminal = ACTIONS[self.action][0]
        self.failures = []
        self.notes = []
        self.exit_code = None
        self.expected_exit = None
        self.reap_code = None
        self.finished_before = {}
        self.unfinished_before = []
        self.targets = []          # runs the action named
        self.interrupt_target = None
        self.abort_sent = None     # signal name of an abort the scanner received
        self.proc = None
        self.stdout_path = None
        self.scan_id = None
        self.state = None
        self.started = None

    # -- description --------------------------------------------------------

    def describe(self):
        return ("%s x %s, profiles=%s, %s, delay=%.2fs, grace=%ds%s"
                % (self.run_type, self.action, ",".join(self.profiles),
                   "parallel %d" % self.workers if self.parallel else "sequential",
                   self.delay, self.grace,
                   "" if self.sleep == LONG_SLEEP else ", runs %.2fs" % self.sleep))

    def fail(self, invariant, message):
        self.failures.append("%s: %s" % (invariant, message))

    # -- run ----------------------------------------------------------------

    def run(self):
        self.started = time.monotonic()
        root = tempfile.mkdtemp(prefix="trial-%d-" % self.index, dir=self.ctx.work_root)
        self.root = root
        self.run_dir = os.path.join(root, "run")
        self.out = os.path.join(root, "out")
        try:
            self._make_run_dir()
            digest_before = tree_digest(self.run_dir)
            try:
                self._start()
                self._wait_first_running()
                self._pump(self.delay)
                self._snapshot_before_action()
                getattr(self, "_act_" + self.action)()
                self._wait_scanner_end()
            except TrialAbort as exc:
                self.fail("trial", str(exc))
            except AssertionError as exc:  # a pty expect() that timed out
                self.fail("trial", str(exc).splitlines()[0])
            self._check(digest_before)
        finally:
            self._clean_up()
        self.seconds = time.monotonic() - self.started
        return self

    def _make_run_dir(self):
        if self.run_type == "gams_mip":
            shutil.copytree(MARKET_SPLIT, self.run_dir)
            return
        os.makedirs(self.run_dir)
        with open(os.path.join(self.run_dir, "model.gms"), "w") as handle:
            for directive in RUN_TYPES[self.run_type]:
                handle.write("* FAKE: %s\n" % directive.format(sleep=self.sleep))

    def _scan_args(self):
        gams = self.ctx.gams if self.run_type == "gams_mip" else FAKE_GAMS
        args = ["scan", self.run_dir, "--gams-path", gams, "--profiles", ",".join(self.profiles),
                "--threads", "1", "--grace-seconds", str(self.grace), "--out", self.out, "--yes"]
        if self.parallel:
            args += ["--parallel", "--max-workers", str(self.workers)]
        if self.run_type == "gams_mip":
            args += ["--gams-arg", "solvelink=0"]
        return args

    def _start(self):
        argv = [self.ctx.python, "-m", "times_doctor"] + self._scan_args()
        if self.terminal == "pty":
            self.proc = PtyProcess(argv, env=self.ctx.env(TERM="xterm"))
        else:
            self.stdout_path = os.path.join(self.root, "scanner.out")
            with open(self.stdout_path, "wb") as out:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, env=self.ctx.env())

    # -- waiting ------------------------------------------------------------

    def _alive(self):
        return self.proc.poll() is None

    def _pump(self, seconds):
        """Let *seconds* pass while draining the pty (a full pty blocks the scanner)."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.terminal == "pty":
                self.proc.read_available(min(remaining, 0.1))
            else:
                time.sleep(min(remaining, 0.05))

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TrialAbort("timed out after %.0fs waiting for %s" % (timeout, what))
            self._pump(0.05)

    def _read_state(self):
        try:
            with open(os.path.join(self.out, "times_doctor_out", "scan_runs",
                                   "scan_state.json")) as handle:
                return json.load(handle)
        except (IOError, OSError, ValueError):
            return None

    def _jobs(self):
        state = self._read_state()
        return collections.OrderedDict((job["name"], job) for job in state["jobs"]) if state else {}

    def _wait_first_running(self):
        def running():
            if not self._alive():
                raise TrialAbort("scanner exited (%s) before any run started"
                                 % self.proc.poll())
            return any(job["status"] == "running" for job in self._jobs().values())
        self._wait(running, 90, "a running run")

    def _snapshot_before_action(self):
        jobs = self._jobs()
        state = self._read_state()
        self.scan_id = state["scan_id"] if state else None
        self.finished_before = dict((name, job["status"]) for name, job in jobs.items()
                                    if job["status"] in FINAL_STATUSES)
        self.unfinished_before = [name for name, job in jobs.items()
                                  if job["status"] not in FINAL_STATUSES]

    def _wait_scanner_end(self):
        timeout = self.grace + 60
        deadline = time.monotonic() + timeout
        while self._alive():
            if time.monotonic() > deadline:
                self.fail("exit", "scanner still running %ds after the action" % timeout)
                os.kill(self.proc.pid, signal.SIGKILL)
                break
            self._pump(0.1)
        if self.terminal == "pty":
            self.proc.read_available(0.3)
        self.exit_code = self.proc.poll()
        if self.exit_code is None:
            try:
                self.exit_code = self.proc.wait(timeout=10)
            except Exception as exc:  # the kill above must have worked; say so if not
                self.fail("exit", "scanner did not die after SIGKILL: %s" % exc)

    # -- actions ------------------------------------------------------------

    def _signal(self, signum, abort_name=None):
        """Send *signum* to the scanner if it is alive; remember an abort it gets."""
        if not self._alive():
            self.notes.append("scan ended by itself before %s" % signal.Signals(signum).name)
            return False
        os.kill(self.proc.pid, signum)
        if abort_name is not None and self.abort_sent is None:
            self.abort_sent = abort_name
        return True

    def _open_menu(self):
        """Ctrl+C and wait for the prompt; False when the scan ended by itself."""
        if not self._alive():
            self.notes.append("scan ended by itself before Ctrl+C")
            return False
        mark = len(self.proc.output)
        self.proc.send(CTRL_C)
        try:
            self.proc.expect(br"Choice \[4\]: ", timeout=20, since=mark)
        except AssertionError:
            if not self._alive():
                self.notes.append("scan ended by itself around Ctrl+C")
                return False
            raise
        return True

    def _menu_choice(self, text, abort=False):
        self.proc.send(text)
        if abort:
            self.abort_sent = "SIGINT"

    def _act_menu_cancel_one(self):
        if not self._open_menu():
            return
        mark = len(self.proc.output)
        self.proc.send(b"1\n")
        match = self.proc.expect(br"Runs to cancel[^\r\n]*: |No running or waiting runs left",
                                 timeout=20, since=mark)
        if not match.group(0).startswith(b"Runs"):
            self.notes.append("menu had nothing to cancel")
            return
        listing = self.proc.output[mark:match.start()]
        candidates = [(int(n), name.decode()) for n, name, _ in
                      re.findall(br"  (\d+)\) (\S+)  \[(\w+)\]", listing)]
        if not candidates:
            raise TrialAbort("no runs listed under 'Runs to cancel': %r" % listing[-500:])
        number, name = self.rng.choice(candidates)
        token = name if self.rng.random() < 0.5 else str(number)
        self.targets = [name]
        mark = len(self.proc.output)
        self.proc.send(token.encode() + b"\n")
        self.proc.expect(br"Cancelling: |Already finished: ", timeout=20, since=mark)
        self._wait(lambda: self._jobs()[name]["status"] in FINAL_STATUSES, self.grace + 20,
                   "%s to end after its cancel" % name)
        if self._jobs()[name]["status"] != "cancelled":
            self.fail("cancel", "%s is %s after menu cancel (expected cancelled)"
                      % (name, self._jobs()[name]["status"]))
        self._pump(1.2)  # two Ctrl+C within 1 s would abort
        if self._open_menu():
            self._menu_choice(b"2\n")

    def _act_menu_cancel_all(self):
        if self._open_menu():
            self._menu_choice(b"2\n")

    def _act_menu_abort(self):
        if self._open_menu():
            self._menu_choice(b"3\n", abort=True)

    def _act_double_ctrl_c(self):
        if not self._alive():
            self.notes.append("scan ended by itself before Ctrl+C")
            return
        self.proc.send(CTRL_C)
        self._pump(self.rng.uniform(0.05, 0.6))
        if self._alive():
            self.proc.send(CTRL_C)
            self.abort_sent = "SIGINT"

    def _act_sigterm(self):
        self._signal(signal.SIGTERM, "SIGTERM")

    def _act_sighup(self):
        self._signal(signal.SIGHUP, "SIGHUP")

    def _act_sigkill_reap(self):
        if not self._signal(signal.SIGKILL):
            return
        self.proc.wait(timeout=30)
        code, output = self.ctx.cli(["reap", "--out", self.out, "--grace-seconds",
                                     str(self.grace)], timeout=self.grace + 60)
        self.reap_code = code
        if code != 0:
            self.fail("exit", "reap exited %s (expected 0): %s" % (code, output[-500:]))

    def _control(self, command, names, wait_seconds=None, allow_gone=True):
        """Run `times-doctor COMMAND --out OUT NAMES|--all`; check its exit code."""
        args = [command, "--out", self.out] + (list(names) if names else ["--all"])
        if wait_seconds is not None:
            args += ["--wait-seconds", str(wait_seconds)]
        code, output = self.ctx.cli(args, timeout=(wait_seconds or 30) + 60)
        # 4: no live scanner. Fine only when the scan really ended by itself.
        if code == 4 and allow_gone and not self._alive():
            self.notes.append("`%s` found the scan already ended" % command)
            return code
        if code != 0:
            self.fail("exit", "`times-doctor %s` exited %s (expected 0): %s"
                      % (" ".join(args[:1] + args[3:]), code, " ".join(output.split())[-400:]))
        return code

    def _running_names(self):
        return [name for name, job in self._jobs().items() if job["status"] == "running"]

    def _act_ext_cancel(self):
        unfinished = [name for name, job in self._jobs().items()
                      if job["status"] not in FINAL_STATUSES]
        if not unfinished or self.rng.random() < 0.4:
            self.targets = list(unfinished)
            self._control("cancel", [], wait_seconds=self.grace + 20)
            return
        count = self.rng.randint(1, len(unfinished))
        self.targets = sorted(self.rng.sample(unfinished, count), key=unfinished.index)
        if self._control("cancel", self.targets, wait_seconds=self.grace + 20) == 0:
            for name in self.targets:
                status = self._jobs()[name]["status"]
                if status not in ("cancelled", "completed"):
                    self.fail("cancel", "%s is %s after `cancel` returned" % (name, status))
        if self._alive():
            self._control("cancel", [], wait_seconds=self.grace + 20)

    def _act_ext_pause_resume(self):
        running = self._running_names()
        if running:
            name = self.rng.choice(running)
            self.targets = [name]
            if self._control("pause", [name], wait_seconds=15) == 0:
                job = self._jobs()[name]
                if job["status"] == "paused":
                    self._check_stopped(job)
                elif job["status"] not in FINAL_STATUSES:
                    self.fail("pause", "%s is %s after `pause` returned" % (name, job["status"]))
                self._pump(self.rng.uniform(0.2, 1.0))
                if self._control("resume", [name], wait_seconds=15) == 0:
                    status = self._jobs()[name]["status"]
                    if status not in ("running",) + FINAL_STATUSES:
                        self.fail("pause", "%s is %s after `resume` returned" % (name, status))
        else:
            self.notes.append("no running run to pause")
        if self._alive():
            self._control("cancel", [], wait_seconds=self.grace + 20)

    def _check_stopped(self, job):
        """A paused run's processes are stopped (state T), all of them."""
        deadline = time.monotonic() + 3
        while True:
            states = process_states(session_alive(job["sid"])) if job["sid"] else {}
            running = dict((pid, st) for pid, st in states.items() if st not in ("T", "t"))
            if not running:
                return
            if time.monotonic() > deadline:
                self.fail("pause", "%s is paused but pids %s are not stopped"
                          % (job["name"], sorted(running)))
                return
            self._pump(0.05)

    def _act_ext_interrupt(self):
        running = self._running_names()
        if running:
            name = self.rng.choice(running)
            self.targets = [name]
            self.interrupt_target = name
            if self._control("interrupt", [name], wait_seconds=60) == 0:
                status = self._jobs()[name]["status"]
                if status not in FINAL_STATUSES:
                    self.fail("interrupt", "%s is %s after `interrupt` returned" % (name, status))
        else:
            self.notes.append("no running run to interrupt")
        if self._alive():
            self._control("cancel", [], wait_seconds=self.grace + 20)

    # -- invariants ---------------------------------------------------------

    def _check(self, digest_before):
        state = self._read_state()
        if state is None:
            self.fail("state", "scan_state.json missing or not JSON")
            self._check_processes(None)
            self._check_run_dir(digest_before)
            return
        self.state = state
        self.scan_id = state.get("scan_id") or self.scan_id
        jobs = collections.OrderedDict((job["name"], job) for job in state["jobs"])
        self._check_processes(jobs)
        self._check_state(state, jobs)
        self._check_report(jobs)
        self._check_exit_code(state, jobs)
        self._check_run_dir(digest_before)
        self._check_output()

    def _check_processes(self, jobs):
        leftovers = {}
        for name, job in (jobs or {}).items():
            if job.get("sid"):
                alive = session_alive(job["sid"])
                if alive:
                    leftovers[name] = alive
                    self.fail("processes", "session %d of %s still has pids %s"
                              % (job["sid"], name, alive))
        marked = marker_carriers(self.scan_id) if self.scan_id else []
        if marked:
            self.fail("processes", "pids %s still carry TIMES_DOCTOR_JOB=%s/..."
                      % (marked, self.scan_id))
        self._leftovers = [pid for pids in leftovers.values() for pid in pids] + marked

    def _check_state(self, state, jobs):
        if list(jobs) != self.profiles:
            self.fail("state", "jobs %s, expected %s" % (list(jobs), self.profiles))
        if state.get("finished") is not True:
            self.fail("state", "finished is %r" % state.get("finished"))
        for name, job in jobs.items():
            if job["status"] not in FINAL_STATUSES:
                self.fail("state", "%s left %s" % (name, job["status"]))
        for name, status in self.finished_before.items():
            if jobs.get(name, {}).get("status") != status:
                self.fail("state", "%s was %s before the action, is %s after"
                          % (name, status, jobs.get(name, {}).get("status")))
        if self.action == "sigkill_reap" and self.reap_code is not None:
            if "reaped" not in state:
                self.fail("state", "no 'reaped' record after reap")
        # Every action ends in cancelling what is left (an interrupted run aside),
        # so a run still going at the action ends cancelled, unless it could finish.
        for name in self.unfinished_before:
            status = jobs.get(name, {}).get("status")
            allowed = {"cancelled"}
            if self.sleep != LONG_SLEEP:
                allowed.add("completed")
            if name == self.interrupt_target:
                allowed.update(["interrupted", "completed"])
            if status not in allowed:
                self.fail("state", "%s was running or waiting at the action and ended %s "
                          "(expected %s)" % (name, status, "/".join(sorted(allowed))))

    def _check_report(self, jobs):
        path = os.path.join(self.out, "times_doctor_out", "scan_report.csv")
        try:
            with open(path, newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                columns = reader.fieldnames
        except (IOError, OSError, csv.Error) as exc:
            self.fail("report", "cannot read scan_report.csv: %s" % exc)
            return
        if columns != CSV_COLUMNS:
            self.fail("report", "columns %s" % columns)
        names = [row.get("profile") for row in rows]
        if names != self.profiles:
            self.fail("report", "rows %s, expected one per profile %s" % (names, self.profiles))
        for row in rows:
            job = jobs.get(row.get("profile"))
            if job is not None and row.get("status") != job["status"]:
                self.fail("report", "%s: CSV says %s, state file %s"
                          % (row.get("profile"), row.get("status"), job["status"]))
        by_name = dict((row.get("profile"), row) for row in rows)
        for name, status in self.finished_before.items():
            if by_name.get(name, {}).get("status") != status:
                self.fail("report", "row %s finished %s before the action, CSV has %s"
                          % (name, status, by_name.get(name, {}).get("status")))

    def _check_exit_code(self, state, jobs):
        if self.action == "sigkill_reap" and self.reap_code is not None:
            self.expected_exit = -signal.SIGKILL
            if self.exit_code != -signal.SIGKILL:
                self.fail("exit", "scanner exit %s after SIGKILL" % self.exit_code)
            if state.get("exit_code") is not None:
                self.fail("state", "exit_code %r after reap (expected null)"
                          % state.get("exit_code"))
            return
        if self.abort_sent is not None:
            expected = EXIT_BY_SIGNAL_NAME[self.abort_sent]
        else:
            statuses = set(job["status"] for job in jobs.values())
            if statuses & {"failed", "timeout"}:
                expected = 1
            elif statuses & {"cancelled", "interrupted"}:
                expected = 3
            else:
                expected = 0
        self.expected_exit = expected
        if self.exit_code != expected:
            self.fail("exit", "scanner exited %s, expected %s" % (self.exit_code, expected))
        if state.get("exit_code") != self.exit_code:
            self.fail("state", "exit_code %r in the state file, scanner exited %s"
                      % (state.get("exit_code"), self.exit_code))

    def _check_run_dir(self, digest_before):
        if tree_digest(self.run_dir) != digest_before:
            self.fail("run_dir", "the original run directory changed")

    def _check_output(self):
        if self.action == "sigkill_reap" and self.reap_code is not None:
            return
        if self.terminal == "pty":
            raw = self.proc.output
            hide, show = raw.rfind(HIDE_CURSOR), raw.rfind(SHOW_CURSOR)
            if hide >= 0 and show < hide:
                self.fail("terminal", "cursor left hidden (last escape is hide)")
        else:
            with open(self.stdout_path, "rb") as handle:
                raw = handle.read()
            if b"\x1b" in raw:
                self.fail("terminal", "escape code in plain (non-terminal) output")
        text = raw.decode("utf-8", "replace")
        if "Traceback" in text:
            self.fail("output", "traceback: %s" % text[text.find("Traceback"):][:600])
        lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
        if lines and lines[-1].startswith(RESUME_HINT) and lines[-1].endswith(" --resume" + (
                " --out %s" % self.out if self.out != self.run_dir else "")):
            # A scan with unfinished rows says how to resume it, after the report line.
            lines.pop()
        if not lines or not lines[-1].startswith("Report: "):
            self.fail("terminal", "output does not end with the report line (and the resume "
                      "line): %r" % (lines[-3:] if lines else []))
        # A half-drawn table: a redraw after the report line (it raced the end).
        if "Report: " in text and "\x1b" in text[text.rfind("Report: "):]:
            self.fail("terminal", "escape codes after the report line")

    # -- clean-up ------------------------------------------------------------

    def _clean_up(self):
        """Leave nothing for the next trial, whatever this one did."""
        if self.proc is not None:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                try:
                    self.proc.wait(timeout=10)
                except Exception:  # PtyProcess.wait raises AssertionError
                    pass
            if self.terminal == "pty":
                self.proc.close()
        state = self._read_state()
        pids = list(getattr(self, "_leftovers", []))
        if state:
            for job in state["jobs"]:
                if job.get("sid"):
                    pids += session_alive(job["sid"])
            pids += marker_carriers(state.get("scan_id"))
        for pid in set(pids):
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass  # already gone
        if self.failures and self.ctx.keep_dir:
            target = os.path.join(self.ctx.keep_dir, "trial-%d-seed-%d" % (self.index, self.seed))
            for folder, _, files in os.walk(self.root):
                for name in files:
                    path = os.path.join(folder, name)
                    if os.path.getsize(path) > KEEP_MAX_BYTES:
                        os.remove(path)
            if self.terminal == "pty":
                with open(os.path.join(self.root, "scanner.out"), "wb") as handle:
                    handle.write(self.proc.output)
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(self.root, target)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def summary(self):
        return collections.OrderedDict([
            ("index", self.index), ("seed", self.seed), ("run_type", self.run_type),
            ("action", self.action), ("profiles", self.profiles), ("parallel", self.parallel),
            ("workers", self.workers), ("delay", self.delay), ("grace", self.grace),
            ("run_seconds", None if self.sleep == LONG_SLEEP else self.sleep),
            ("finished_before", sorted(self.finished_before)),
            ("exit_code", self.exit_code), ("expected_exit", self.expected_exit),
            ("reap_code", self.reap_code), ("failures", self.failures), ("notes", self.notes),
            ("seconds", round(self.seconds, 2))])


# -- /proc ------------------------------------------------------------------------

def marker_carriers(scan_id):
    """Live pids whose environment carries TIMES_DOCTOR_JOB=<scan_id>/..."""
    return marked_pids("%s/" % scan_id) if scan_id else []


def process_states(pids):
    states = {}
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid, "rb") as handle:
                raw = handle.read().decode("ascii", "replace")
        except (IOError, OSError):
            continue
        states[pid] = raw[raw.rfind(")") + 2:].split()[0]
    return states


# -- the run ----------------------------------------------------------------------

class Context(object):
    def __init__(self, python, gams, actions, work_root, keep_dir):
        self.python = python
        self.gams = gams
        self.actions = actions
        self.work_root = work_root
        self.keep_dir = keep_dir
        # Our own session registry: a SIGKILLed scanner's entry stays out of the user's.
        self.xdg = os.path.join(work_root, "xdg")
        os.makedirs(self.xdg, mode=0o700)

    def env(self, **extra):
        extra = dict(extra)
        extra.update({"XDG_RUNTIME_DIR": self.xdg, "FAKE_GAMS_PYTHON": self.python})
        env = cli_env(extra)
        env.pop("NO_COLOR", None)
        return env

    def cli(self, args, timeout):
        proc = subprocess.Popen([self.python, "-m", "times_doctor"] + list(args),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=self.env())
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            return None, out.decode("utf-8", "replace") + " [timed out]"
        return proc.returncode, out.decode("utf-8", "replace")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    parser.add_argument("--trials", type=int, default=30, help="number of trials (default 30)")
    parser.add_argument("--trial-seed", type=int, action="append", default=[],
                        help="replay only the trial with this seed (repeatable)")
    parser.add_argument("--first-trial", type=int, default=0,
                        help="index of the first trial (a shard of a longer run; default 0)")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="combine the --json files of shards into --json, run nothing")
    parser.add_argument("--commit", help="the commit under test, for the record "
                        "(default: git rev-parse HEAD of this checkout)")
    parser.add_argument("--json", help="write the results here (e.g. bench/torture.json)")
    parser.add_argument("--keep", help="keep failed trials' folders (big files dropped) here")
    parser.add_argument("--gams", help="gams to run (default: the real GAMS when licensed, "
                        "else the stand-in: tests/gams_select.py)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the scanner and the fake GAMS")
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)
    if options.merge:
        if not options.json:
            print("error: --merge needs --json (the combined file)")
            return 2
        return merge_json(options.merge, options.json)
    if not sys.platform.startswith("linux"):
        print("the torture suite checks /proc: Linux only")
        return 2
    try:
        gams, gams_under_test = gams_for_tools(options.gams)
    except SystemExit as error:
        print("error: %s" % error)
        return 2
    if not os.access(gams, os.X_OK):
        print("error: %s is not executable" % gams)
        return 2
    print("GAMS under test: %s" % gams_under_test)
    subcommands = available_subcommands(options.python)
    actions, skipped = action_pool(subcommands)
    for name, reason in skipped.items():
        print("note: action %s left out of the pool: %s" % (name, reason))
    if options.trial_seed:
        plan = [(index, seed) for index, seed in enumerate(options.trial_seed)]
    else:
        plan = [(index, trial_seed_for(options.seed, index))
                for index in range(options.first_trial, options.first_trial + options.trials)]
    work_root = tempfile.mkdtemp(prefix="td-torture-")
    keep_dir = os.path.abspath(options.keep) if options.keep else None
    if keep_dir:
        os.makedirs(keep_dir, exist_ok=True)
    context = Context(options.python, os.path.abspath(gams), actions, work_root, keep_dir)
    context.gams_under_test = gams_under_test
    print("torture: seed %d, %d trials, python %s, gams %s"
          % (options.seed, len(plan), options.python, context.gams))
    started = time.monotonic()
    results = []
    try:
        for index, seed in plan:
            trial = Trial(index, seed, context)
            sys.stdout.write("trial %d/%d seed %d: %s ... " % (index + 1, plan[-1][0] + 1, seed,
                                                                 trial.describe()))
            sys.stdout.flush()
            trial.run()
            results.append(trial)
            verdict = "ok" if not trial.failures else "FAIL"
            print("%s exit %s (%.1fs)%s" % (verdict, trial.exit_code, trial.seconds,
                                             "; " + "; ".join(trial.notes) if trial.notes
                                             else ""))
            for failure in trial.failures:
                print("    %s" % failure)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    wall = time.monotonic() - started
    failed = [trial for trial in results if trial.failures]
    print("")
    print("%d trials, %d failures (%.0f s)" % (len(results), len(failed), wall))
    for trial in failed:
        print("  seed %d (%s): %s" % (trial.seed, trial.describe(), " | ".join(trial.failures)))
        print("    reproduce: python bench/torture.py --trial-seed %d" % trial.seed)
    if options.json:
        write_json(options, results, skipped, wall, context.gams_under_test)
    return 1 if failed else 0


def write_json(options, results, skipped, wall, gams_under_test):
    def counts(key):
        return collections.OrderedDict(sorted(collections.Counter(
            getattr(trial, key) for trial in results).items()))
    invariants = collections.Counter(failure.split(":", 1)[0]
                                     for trial in results for failure in trial.failures)
    document = collections.OrderedDict([
        ("schema", "times-doctor/torture"), ("seed", options.seed),
        ("trial_seeds", options.trial_seed or None),
        ("first_trial", options.first_trial), ("commit", options.commit or git_commit()),
        ("gams_under_test", gams_under_test),
        ("trials", len(results)),
        ("failures", sum(1 for trial in results if trial.failures)),
        ("failed_invariants", dict(invariants)),
        ("by_run_type", counts("run_type")), ("by_action", counts("action")),
        ("by_exit_code", collections.OrderedDict(
            (str(code), n) for code, n in sorted(collections.Counter(
                trial.exit_code for trial in results).items(), key=lambda item: str(item[0])))),
        ("skipped_actions", skipped),
        ("wall_seconds", round(wall, 1)),
        ("trial_seconds", summarise([trial.seconds for trial in results])),
        ("machine", collections.OrderedDict([
            ("platform", platform.platform()), ("machine", platform.machine()),
            ("cpus", os.cpu_count())])),
        ("python", platform.python_version()),
        ("date", datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("failed_trials", [trial.summary() for trial in results if trial.failures]),
        ("trials_detail", [trial.summary() for trial in results]),
    ])
    with open(options.json, "w") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
    print("wrote %s" % options.json)


def git_commit():
    try:
        proc = subprocess.Popen(["git", "-C", REPO, "rev-parse", "HEAD"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = proc.communicate(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.decode().strip() or None) if proc.returncode == 0 else None


def merge_json(paths, target):
    """One record from shards run side by side (same seed, consecutive trial ranges)."""
    documents = []
    for path in paths:
        with open(path) as handle:
            documents.append(json.load(handle))
    documents.sort(key=lambda doc: doc["first_trial"])
    trials = [trial for doc in documents for trial in doc["trials_detail"]]

    def counts(key):
        return collections.OrderedDict(sorted(collections.Counter(
            trial[key] for trial in trials).items()))
    merged = collections.OrderedDict(documents[0])
    merged.update([
        ("first_trial", documents[0]["first_trial"]),
        ("shards", [collections.OrderedDict([
            ("first_trial", doc["first_trial"]), ("trials", doc["trials"]),
            ("wall_seconds", doc["wall_seconds"]), ("commit", doc.get("commit"))])
            for doc in documents]),
        ("trials", len(trials)),
        ("failures", sum(1 for trial in trials if trial["failures"])),
        ("failed_invariants", dict(collections.Counter(
            failure.split(":", 1)[0] for trial in trials for failure in trial["failures"]))),
        ("by_run_type", counts("run_type")), ("by_action", counts("action")),
        ("by_exit_code", collections.OrderedDict(
            (str(code), n) for code, n in sorted(collections.Counter(
                trial["exit_code"] for trial in trials).items(), key=lambda item: str(item[0])))),
        ("wall_seconds", max(doc["wall_seconds"] for doc in documents)),
        ("trial_seconds", summarise([trial["seconds"] for trial in trials])),
        ("failed_trials", [trial for trial in trials if trial["failures"]]),
        ("trials_detail", trials),
    ])
    with open(target, "w") as handle:
        json.dump(merged, handle, indent=1)
        handle.write("\n")
    print("%d trials, %d failures; wrote %s" % (merged["trials"], merged["failures"], target))
    return 0


def summarise(values):
    if not values:
        return None
    values = sorted(values)
    return {"median": round(values[len(values) // 2], 2), "min": round(values[0], 2),
            "max": round(values[-1], 2)}


if __name__ == "__main__":
    sys.exit(main())
