"""The scan: set up work dirs, run profiles, watch, report.

plan.plan_scan() checks every input and creates nothing; Scan.run() does the
work.  Worker threads each own one GAMS process at a time (run/runner.py); the
main thread only waits, reacts to signals and the Ctrl+C menu, and writes
the report, so all terminal I/O and all decisions happen in one place.

Why over 500 lines: those decisions (which runs start, which join later
for --confirm, which --cap stops, what a signal, a menu choice or a request
does, what the report and the exit code say) are read in the order the main
thread takes them, so they stay in one file; everything that is not a
decision lives elsewhere (plan, runner, menu, report, resume, ranking,
capping, best).
"""

import collections
import itertools
import os
import sys
import threading
import time

from times_doctor import paths
from times_doctor.gams import gamsinfo, rundir
from times_doctor.launch import table as launchers
from times_doctor.proc import procgroup
from times_doctor.remote import control, reap, sessions
from times_doctor.report import best, ranking
from times_doctor.scan import resume
from times_doctor.gams import diagnosis
from times_doctor.solvers import profiles
from times_doctor.term import ansi, menu
from times_doctor.atomic import CoalescingWriter, write_atomic
from times_doctor.scan.capping import Capper
from times_doctor.errors import (EXIT_CANCELLED, EXIT_OK, EXIT_RUN_FAILED, ParseError,
                                 UsageError, os_reason)
from times_doctor.job_control import JobRegistry
from times_doctor.gams.lst import model_status_is_optimal
from times_doctor.scan.plan import plan_scan
from times_doctor.multi_run_progress import MultiRunProgressMonitor
from times_doctor.report.csvreport import report_row, summary_lines
# The page through its module, looked up at call time: the main loop's page
# write is a seam tests watch and fail (as is write_report, here).
from times_doctor.report import page as report_page
from times_doctor.report.page import write_report
from times_doctor.run.runner import LICENCE_RC, RunResult, RunSpec
from times_doctor.proc.signals import EXIT_BY_SIGNAL, SignalCatcher
from times_doctor.scan.state_file import StateFileWriter
from times_doctor.paths import iso_time
from times_doctor.states import FINAL_STATES, RunStatus


# Two Ctrl+C within this many seconds abort without a menu.
DOUBLE_INTERRUPT_SECONDS = 1.0

# How long the main loop sleeps between looks when nothing happens.
MAIN_LOOP_SECONDS = 0.2

# How often an abort waiting for the workers looks for a further signal.
WORKER_WAIT_SECONDS = 0.02

# How often the state file is rewritten for its clocks and progress cells
# (status changes rewrite it at once).
STATE_REFRESH_SECONDS = 1.0

# How often, at most, scan_report.html is rewritten while runs end (the CSV is
# rewritten at each end, the page once more at the scan's end).  The page is
# a view: rendering it for every run that ended, in the worker that ran it,
# held that worker back from its next run (200 runs: 142 renders, 2.5 s of
# an 8 s scan), so the main loop renders it, at most this often.
HTML_REFRESH_SECONDS = 5.0

# The scan's last CSV and state file must land (status, reap and --resume read
# them): a write that a reader keeps refusing past atomic.py's retries (Windows)
# is tried this many times more, this many seconds apart, before it is an error.
FINAL_WRITE_TRIES = 10
FINAL_WRITE_PAUSE_SECONDS = 0.5


class Scan(object):
    """One scan from set-up to exit code."""

    def __init__(self, plan, stdin=None, stdout=None, stderr=None, environ=None,
                 dashboard=None, run_one=None):
        self.plan = plan
        # A dashboard.Dashboard to start beside the scan (its owner stops it).
        self.dashboard = dashboard
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.environ = dict(os.environ if environ is None else environ)
        self.report_path = paths.report_path(plan.out_dir)
        self.state_path = paths.state_path(plan.out_dir)
        self.scan_id = "%d-%d" % (os.getpid(), int(time.time() * 1000))
        self.registry = JobRegistry(default_grace_seconds=plan.grace_seconds)
        # Where runs execute (launch/table.py): this machine, or a scheduler.
        self.launcher = launchers.make_launcher(plan.launcher, self.scan_id, plan.threads,
                                                plan.config.launcher_args, self.environ,
                                                batch_dir=paths.launch_dir(plan.out_dir,
                                                                               plan.launcher))
        # What a worker calls per run (runner.run_gams_with_progress's
        # signature): the launcher's; tests pass a fake that starts nothing.
        self._run_one = run_one if run_one is not None else self.launcher.run
        self.interactive = _isatty(self.stdin)
        self.color = ansi.color_enabled(self.stdout, no_color_flag=plan.config.no_color,
                                        environ=self.environ)
        self.monitor = None
        self.signals = SignalCatcher()
        self.specs = collections.OrderedDict()
        self.results = {}
        self._results_lock = threading.Lock()
        self._cancel_events = {}
        self._queue = collections.deque()  # runs of the started batches no worker took yet
        self._queue_lock = threading.Lock()
        self._worker_numbers = itertools.count()
        self._worker_errors = []
        self._licence_failed = set()  # solvers whose run ended with GAMS rc 7
        self._abort_signal = None
        self._last_interrupt = None
        self._state_writer = None
        self._lock = sessions.ScanLock(plan.out_dir)
        self._kept = {}  # name -> resume.KeptRun: completed earlier, not run again
        self._fingerprints = {}  # name -> resume.run_fingerprint(), for the state file
        self._planned = {}  # run name -> its plan.PlannedRun (trial, seed, kind)
        self._job_info = {}  # run name -> its static fields in the state file
        # --cap/--race (capping.py): the scan's own runs it may stop.
        self.capper = (Capper(plan.cap, plan.race, self.launcher.run_seconds)
                       if plan.cap is not None else None)
        self._cap_candidates = {}  # run name -> profile, for the capper
        self._cancelled_all = False  # the user cancelled every run: no confirmation phase
        self._session_entry = None
        self.inbox = None
        self._next_state_write = 0.0
        self._html_due = threading.Event()  # a run ended since the page was written
        self._next_html_write = 0.0
        self._warned = set()  # what _warn_once() has said (workers say things too)
        self._warned_lock = threading.Lock()
        # Workers' rewrites of the report as runs end (coalesced: see CoalescingWriter).
        self._partial_report = CoalescingWriter(self._write_partial_report)

    # -- public ------------------------------------------------------------

    def run(self):
        """Run the scan; returns the exit code."""
        if sessions.scanner_alive(self.plan.out_dir):
            # Refuse before asking for confirmation; acquire() below decides.
            self._lock.acquire()
        if self.interactive and _isatty(self.stdout) and not self.plan.config.yes:
            if not self._confirm():
                self._say("Scan not started: nothing was run.")
                return EXIT_CANCELLED
        self._lock.acquire()
        try:
            return self._run_locked()
        finally:
            if self._session_entry is not None:
                sessions.unregister_session(self._session_entry)
            self._lock.release()

    def _run_locked(self):
        self._reap_previous()
        decision = self._decide_resume()
        self._prepare(decision)
        self._session_entry = sessions.register_session(
            self.scan_id, self.plan.out_dir, self.state_path, self.environ)
        self.inbox = control.RequestInbox(
            paths.requests_dir(self.plan.out_dir), self.registry, _resolve_runs,
            uid=getattr(os, "getuid", lambda: None)())
        names = list(self.specs)
        # The registry holds the one record per run: the table and the state
        # file both read it (a waiting run cancelled from the menu never
        # reaches a worker, yet must show as cancelled).
        self.monitor = MultiRunProgressMonitor(names, stream=self.stdout, color=self.color,
                                               registry=self.registry)
        self.registry.add_listener(self._state_writer)
        self._state_writer.write()
        if self.dashboard is not None:
            self.dashboard.serve_scan(self.plan.out_dir, say=self._say)
        # Our handlers stay until the report and the state file are final: a
        # SIGTERM in that last moment must not kill the scanner half-way.
        self.signals.install()
        try:
            self._run_workers(names)
            self._take_late_signals()
            rows = self._report_rows(final=True)
            ranking.annotate(rows, ranking.rank_rows(rows))
            best_files = self._write_best(rows)  # before the page, which names it
            _final_write(lambda: write_report(self.report_path, rows))
            exit_code = self._exit_code(rows)
            _final_write(lambda: self._state_writer.finish(exit_code))
            self._print_summary(rows, best_files)
        finally:
            self.signals.restore()
        if self._worker_errors:
            raise self._worker_errors[0]
        return exit_code

    def _run_workers(self, names):
        workers = []
        try:
            self.monitor.start()
            workers.extend(self._start_batch(
                [name for name in names if name not in self._kept], self.plan.max_workers))
            self._main_loop()
            # --confirm: the best profiles again, one at a time, alone; not after
            # the user cancelled everything (menu option 2, `cancel --all`).
            if self._abort_signal is None and self.plan.confirm and not self._cancelled_all:
                confirming = self._add_confirmation()
                if confirming:
                    workers.extend(self._start_batch(confirming, 1))
                    self._main_loop()
        finally:
            # Whatever happened above, no job may outlive the scan.
            if not self.registry.all_final():
                self.registry.cancel_all()
                self.registry.wait_all_final(self.plan.grace_seconds + 30)
            for worker in workers:
                worker.join(timeout=5)
            self.launcher.close()  # e.g. the local launcher's log poller
            self.monitor.stop()
            self.inbox.close()

    def _start_batch(self, names, max_parallel):
        """Start *names* as one batch, at most *max_parallel* at once; the new worker threads.

        The one way runs start.  The launcher sees the whole batch before any
        worker runs one of them (SLURM: one job array, ``--array=...%M``,
        one submission whatever the number of runs; local: nothing, runs
        start as workers pick them up), and says how many workers follow it.
        A later batch (runs started after these, e.g. re-runs of the best
        profiles) calls this again with its own names and max_parallel.
        """
        with self._queue_lock:
            self._queue.extend(names)
        self.launcher.submit([self.specs[name] for name in names], max_parallel, self.registry,
                             timeout_seconds=self.plan.timeout_seconds,
                             grace_seconds=self.plan.grace_seconds,
                             log_seconds=self._log_seconds())
        workers = []
        for _ in range(self.launcher.followers(len(names), max_parallel) if names else 0):
            worker = threading.Thread(target=self._worker,
                                      name="td-worker-%d" % next(self._worker_numbers))
            worker.daemon = True
            worker.start()
            workers.append(worker)
        return workers

    def _take_late_signals(self):
        """A signal that arrived as the last run finished still sets the exit code.

        Every run is final by now, so there is nothing left to cancel; only a
        Ctrl+C on a terminal (which would open the menu) is moot and ignored.
        """
        event = self.signals.pop()
        while event is not None and self._abort_signal is None:
            name = event[0]
            if not (name == "SIGINT" and self.interactive):
                self._abort_signal = name if name in EXIT_BY_SIGNAL else "SIGTERM"
            event = self.signals.pop()

    # -- set-up ------------------------------------------------------------

    def _confirm(self):
        plan = self.plan
        self._say("About to run %d run(s) of %s with %s (%s):"
                  % (len(plan.runs), os.path.basename(plan.driver), plan.gams,
                     "parallel, %d at once" % plan.max_workers if plan.max_workers > 1
                     else "one at a time"))
        # Names padded like the table's first column, so the arrows line up.
        width = max(len(run.profile.name) for run in plan.runs)
        for run in plan.runs:
            self._say("  %s  -> %s" % (run.profile.name.ljust(width), run.work_dir))
        if plan.previous is not None:
            self._say("(--resume: those that completed in scan %s with unchanged inputs are "
                      "kept, not run)" % plan.previous.scan_id)
        if plan.confirm:
            self._say("then the %d best again, one at a time, alone (--confirm)" % plan.confirm)
        self.stdout.write("Start? [Y/n] ")
        self.stdout.flush()
        answer = self.stdin.readline()
        return answer.strip().lower() in ("", "y", "yes")

    def _reap_previous(self):
        """A scanner that died on this folder may have left runs behind: end them."""
        try:
            result = reap.reap(self.plan.out_dir, grace_seconds=self.plan.grace_seconds,
                               lock=self._lock)
        except ParseError as exc:
            self._say("note: ignoring the previous state file: %s" % exc)
            return
        if result is not None:
            self._say("note: %s" % reap.describe(result))

    def _decide_resume(self):
        """--resume: read the earlier scan (as the reap left it) and say what is kept.

        Returns the resume.ResumeDecision, or None for a scan without --resume.
        """
        self._fingerprints = self._compute_fingerprints()
        if self.plan.previous is None:
            return None
        previous = resume.load_previous(self.plan.out_dir)
        decision = resume.decide(previous, [run.profile.name for run in self.plan.runs],
                                 self._fingerprints, optional=self._confirm_names(),
                                 keep_capped=self.plan.cap is not None)
        saved = resume.saved_report_name(decision)
        if saved is not None:
            with open(previous.report_path, "rb") as handle:
                write_atomic(saved, handle.read())
        for line in resume.describe(decision, saved):
            self._say(line)
        self._kept = decision.kept
        return decision

    def _compute_fingerprints(self):
        """Every run's fingerprint, recorded by every scan so that any can be resumed.

        The confirmation runs --confirm may add are fingerprinted too: a
        resumed scan keeps those that ran alone before with the same inputs.
        """
        shared = resume.scan_fingerprint(self.plan)
        runs = list(self.plan.runs) + [run for extra in self.plan.confirm_runs.values()
                                       for run in extra]
        return dict((run.profile.name, resume.run_fingerprint(self.plan, run, shared))
                    for run in runs)

    def _confirm_names(self):
        return [run.profile.name for extra in self.plan.confirm_runs.values() for run in extra]

    def _prepare(self, decision=None):
        plan = self.plan
        self._add_batch(plan.runs)
        self._state_writer = StateFileWriter(
            self.state_path, self.registry,
            {"scan_id": self.scan_id, "run_dir": plan.run_dir, "out_dir": plan.out_dir,
             "driver": plan.driver, "report": self.report_path,
             "platform": procgroup.platform_name(), "gams": plan.gams,
             "launcher": self.launcher.name,
             "resumed_from": decision.previous.scan_id if decision is not None else None,
             "options": resume.scan_options(plan)}, self._job_info,
            scanner_start_time=_own_start_time())

    def _add_batch(self, runs):
        """Register *runs* (PlannedRuns); the names of those to run (for _start_batch).

        The one place runs join a scan: its profiles and their trials at
        the start, the confirmation runs after the scan's own have ended.
        A run kept from the earlier scan (--resume) is registered finished.
        """
        queued = []
        for run in runs:
            name = run.profile.name
            self._planned[name] = run
            if name in self._kept:
                self._add_kept(run, self._kept[name])
                row = self._kept[name].row
                if self.capper is not None and run.kind == "scan" and ranking.solved(row):
                    self.capper.completed(name, run.trial_of or name,
                                          float(row["runtime_seconds"]))
            else:
                queued.append(self._add_spec(run))
            spec = self.specs[name]
            self._job_info[name] = {
                "solver": spec.solver, "profile": spec.profile.base_name, "log": spec.log_path,
                "lst": spec.lst_path, "kept": name in self._kept,
                "fingerprint": self._fingerprints.get(name),
                "trial_of": run.trial_of or name, "trial": run.trial, "seed": run.seed,
                "kind": run.kind}
            if run.kind == "scan":
                self._cap_candidates[name] = run.trial_of or name
        return queued

    def _add_spec(self, run):
        """Set up one run's work directory and register it, waiting; returns its name."""
        plan = self.plan
        prepared = rundir.prepare_work_dir(
            plan.out_dir, run.profile.solver, run.profile.base_name, plan.driver,
            run.option_text, profiles.option_file_name(run.profile.solver))
        if prepared.replaced_locked:
            self._say("note: %s" % prepared.replaced_locked)
        command = rundir.gams_command(
            plan.gams, os.path.basename(prepared.driver_copy), plan.run_dir, plan.times_src,
            run.profile.solver, run.profile.base_name, run.log_name,
            list(plan.config.gams_args or []))
        env = dict(self.environ)
        env[procgroup.JOB_ENV_VAR] = "%s/%s" % (self.scan_id, run.profile.name)
        stem = os.path.splitext(os.path.basename(plan.driver))[0]
        spec = RunSpec(name=run.profile.name, solver=run.profile.solver,
                       profile=run.profile, work_dir=prepared.path, command=command,
                       log_path=os.path.join(prepared.path, run.log_name),
                       lst_path=os.path.join(prepared.path, stem + ".lst"), env=env)
        self.specs[spec.name] = spec
        self._cancel_events[spec.name] = self.registry.register(spec.name, work_dir=prepared.path)
        return spec.name

    def _add_confirmation(self):
        """--confirm N: register the N best profiles' confirmation runs; the names to start.

        The best on the scan's own runs (ranking.top_by_scan_time); a
        confirmation run kept from the earlier scan (--resume) is used as it
        is, even for a profile no longer among the best: it was timed alone.
        """
        with self._results_lock:
            rows = self._report_rows(final=True)
        chosen = ranking.top_by_scan_time(rows, self.plan.confirm)
        runs = [run for name in chosen for run in self.plan.confirm_runs[name]]
        runs += [run for name, extra in self.plan.confirm_runs.items() if name not in chosen
                 for run in extra if run.profile.name in self._kept]
        queued = self._add_batch(runs)
        if chosen:
            self.monitor.message("confirming the %d best profile(s) alone, one run at a time: "
                                 "%s" % (len(chosen), ", ".join(chosen)))
        self._state_writer.write()
        return queued

    def _add_kept(self, run, kept):
        """A run completed (or capped) in the earlier scan: listed and reported, never started."""
        job = kept.job
        stem = os.path.splitext(os.path.basename(self.plan.driver))[0]
        work_dir = job.get("work_dir")
        spec = RunSpec(name=run.profile.name, solver=run.profile.solver, profile=run.profile,
                       work_dir=work_dir, command=None,
                       log_path=job.get("log") or os.path.join(work_dir, run.log_name),
                       lst_path=job.get("lst") or os.path.join(work_dir, stem + ".lst"),
                       env=None)
        self.specs[spec.name] = spec
        status, elapsed, fields = resume.kept_display(kept)
        self.registry.register_finished(
            spec.name, status, work_dir=work_dir,
            started_at=resume.epoch_from_iso(job.get("started_at")),
            ended_at=resume.epoch_from_iso(job.get("ended_at")),
            returncode=job.get("returncode"), elapsed_seconds=elapsed, **fields)

    # -- workers -----------------------------------------------------------

    def _worker(self):
        while True:
            with self._queue_lock:
                if not self._queue:
                    return
                name = self._queue.popleft()
            spec = self.specs[name]
            if self._skip_for_licence(spec):
                continue
            try:
                result = self._run_one(
                    spec, self._cancel_events[name], self.registry,
                    timeout_seconds=self.plan.timeout_seconds,
                    grace_seconds=self.plan.grace_seconds, log_seconds=self._log_seconds())
            except BaseException as exc:  # recorded and re-raised by the main thread
                self._worker_errors.append(exc)
                self._fail_unexpectedly(name, exc)
                continue
            if result is None:
                continue  # cancelled while waiting: never started
            with self._results_lock:
                self.results[name] = result
                if result.returncode == LICENCE_RC and result.status == RunStatus.FAILED:
                    # The same solver's waiting runs would meet the same refusal.
                    self._licence_failed.add(spec.solver)
            self._note_for_cap(name, result)
            # Keep finished rows on disk as they come: a killed scanner
            # loses nothing that completed.
            self._partial_report.request()

    def _note_for_cap(self, name, result):
        """A scan run that completed solved sets the mark --cap/--race compare the others with."""
        run = self._planned[name]
        lst = result.lst
        if self.capper is not None and run.kind == "scan" and lst is not None \
                and result.status == RunStatus.COMPLETED \
                and model_status_is_optimal(lst.model_status):
            self.capper.completed(name, run.trial_of or name, result.runtime_seconds)
            # Here, before this worker takes its next run: --race must stop
            # the waiting runs before any of them starts.
            self._apply_cap()

    def _apply_cap(self):
        """Stop the runs --cap/--race rule out (the main loop every turn, a worker at a new mark)."""
        if self.capper is None:
            return
        for name in self.capper.apply(self.registry, self._cap_candidates):
            self.monitor.message("%s: capped: %s" % (name, self.registry.get(name).stop_reason))

    def _write_partial_report(self):
        with self._results_lock:
            rows = self._report_rows(final=False)
        try:
            write_report(self.report_path, rows, html=False)
        except (IOError, OSError) as exc:
            # Windows: another program holds the CSV open past the retries
            # (atomic.py).  The runs go on; the next run's end writes it again.
            self._warn_once("csv", "warning: could not write %s: %s (runs go on; it is "
                            "written again as the next run ends)"
                            % (self.report_path, os_reason(exc)))
            return
        self._html_due.set()

    def _write_partial_page(self):
        """The HTML page of the runs ended so far (main loop, at most every HTML_REFRESH_SECONDS)."""
        self._html_due.clear()
        with self._results_lock:
            rows = self._report_rows(final=False)
        try:
            report_page.write_html_beside(self.report_path, rows)
        except (IOError, OSError) as exc:
            # A view only: the runs and the CSV go on; said once, not every 5 s.
            self._warn_once("page", "warning: could not write scan_report.html: %s (the CSV "
                            "is written; `times-doctor report` renders the page later)"
                            % os_reason(exc))

    def _warn_once(self, key, text):
        """Print *text* the first time something goes wrong with *key* (a file), never again."""
        with self._warned_lock:
            if key in self._warned:
                return
            self._warned.add(key)
        self.monitor.message(text)

    def _log_seconds(self):
        """How often a worker reads its log: as often as something shows the progress.

        The live table redraws every 0.5 s (the runner's poll); without a
        terminal only the state file (rewritten every STATE_REFRESH_SECONDS)
        and its readers show it, and each read of a log costs the scanner.
        Ends, cancels and timeouts do not wait for it.
        """
        return None if self.monitor.live else STATE_REFRESH_SECONDS

    def _skip_for_licence(self, spec):
        """End a waiting run as failed, unstarted, when its solver's licence failed already.

        Runs already going are left alone; the other solver's runs go on.
        """
        with self._results_lock:
            if spec.solver not in self._licence_failed:
                return False
        if self.registry.get(spec.name).status != RunStatus.WAITING:
            return False  # its launcher started it with its batch (a SLURM array task): follow it
        message = "not started: %s licence error" % spec.solver
        # The reason only if it is the reason: a run cancelled meanwhile stays
        # cancelled, without a licence note in its row.
        if self.registry.fail_waiting(spec.name, details=message):
            with self._results_lock:
                self.results[spec.name] = RunResult(spec.name, RunStatus.FAILED, None, None,
                                                    None, message, [])
            self._partial_report.request()
        return True

    def _fail_unexpectedly(self, name, exc):
        snap = self.registry.get(name)
        if snap.status not in FINAL_STATES:
            self.registry.set_status(name, RunStatus.FAILED)
        with self._results_lock:
            self.results[name] = RunResult(name, RunStatus.FAILED, None, 0.0, None,
                                           "internal error: %s" % exc, [])

    # -- main loop -----------------------------------------------------------

    def _main_loop(self):
        while not self.registry.all_final():
            self.signals.wait(MAIN_LOOP_SECONDS)
            event = self.signals.pop()
            while event is not None:
                if self._handle_signal(*event):
                    return
                event = self.signals.pop()
            self._handle_requests()
            self._apply_cap()
            now = time.monotonic()
            if now >= self._next_state_write:
                self._next_state_write = now + STATE_REFRESH_SECONDS
                self._write_state()
            if self._html_due.is_set() and now >= self._next_html_write:
                self._next_html_write = now + HTML_REFRESH_SECONDS
                self._write_partial_page()
            self._report_listener_errors()

    def _write_state(self):
        """The state file's once-a-second rewrite; a failure is said once, runs go on."""
        try:
            self._state_writer.write()
        except (IOError, OSError) as exc:
            self._state_file_failed(exc)

    def _report_listener_errors(self):
        """Tell the user what a registry listener (the state file) failed to do.

        The run's change stood (the registry is the truth, and the CSV
        follows it); the next rewrite of the state file catches up.
        """
        for exc in self.registry.take_listener_errors():
            self._state_file_failed(exc)

    def _state_file_failed(self, exc):
        # Windows: a reader held it past the retries (atomic.py); or a full
        # disk.  Ending the scan for a view would end every run with it.
        reason = os_reason(exc) if isinstance(exc, EnvironmentError) else str(exc)
        self._warn_once("state", "warning: could not update %s: %s (runs go on; `status`, "
                        "control commands and the dashboard see its last version until it "
                        "is written again)" % (self.state_path, reason))

    def _handle_requests(self):
        """Apply control requests from other processes (cancel, pause, ...)."""
        for response in self.inbox.poll():
            if not response["ok"]:
                self.monitor.message("control request refused: %s" % response["error"])
                continue
            if response["action"] == control.ACTION_CANCEL and set(
                    response["applied"]) | set(response["skipped"]) >= set(self.registry.names()):
                self._cancelled_all = True
            text = "control request: %s %s" % (response["action"],
                                               ", ".join(response["applied"]) or "nothing")
            if response["skipped"]:
                text += " (skipped: %s)" % ", ".join(
                    "%s: %s" % item for item in sorted(response["skipped"].items()))
            self.monitor.message(text)

    def _handle_signal(self, name, when):
        """React to one signal; returns True when the scan must stop now."""
        if self._abort_signal is not None:
            # A second signal during an abort: skip what is left of the grace.
            self.registry.cancel_all(grace_seconds=0)
            return False
        if name == "SIGINT" and self.interactive:
            last, self._last_interrupt = self._last_interrupt, when
            if last is not None and when - last <= DOUBLE_INTERRUPT_SECONDS:
                return self._abort("SIGINT", grace_seconds=0)
            return self._open_menu()
        return self._abort(name if name in EXIT_BY_SIGNAL else "SIGTERM")

    def _abort(self, signal_name, grace_seconds=None):
        self._abort_signal = signal_name
        cancelled = self.registry.cancel_all(grace_seconds=grace_seconds)
        self.monitor.message("%s: cancelling %d run(s) and stopping the scan"
                             % (signal_name, len(cancelled)))
        self._wait_for_workers()
        return True

    def _wait_for_workers(self):
        """Wait while workers end their jobs; a further signal hurries them."""
        deadline = time.monotonic() + self.plan.grace_seconds + 30
        # Woken by the registry the moment the last run is final (a select()
        # on the signal pipe slept up to 50 ms past it); a further signal is
        # still seen within one short wait.
        while not self.registry.wait_all_final(WORKER_WAIT_SECONDS):
            if self.signals.pop() is not None:
                self.registry.cancel_all(grace_seconds=0)
            if time.monotonic() >= deadline:
                break

    def _open_menu(self):
        # Requests from other processes keep being answered while the menu waits.
        terminal = menu.TerminalIO(self.stdin, self.stdout, self.signals,
                                   on_idle=self._handle_requests)
        unicode_ok = ansi.encoding_can_print(self.stdout, menu.MENU_TITLE)
        with self.monitor.pause_display():
            try:
                outcome = menu.run_cancel_menu(terminal, self.registry, unicode_ok)
            except menu.MenuInterrupted as exc:
                terminal.write("\n%s: cancelling everything.\n" % exc.signal_name)
                return self._abort(exc.signal_name, grace_seconds=0)
        self._last_interrupt = None
        if outcome == menu.CANCEL_ALL:
            self._cancelled_all = True
            self.registry.cancel_all()
        elif outcome == menu.ABORT:
            return self._abort("SIGINT")
        return False

    # -- results -------------------------------------------------------------

    def _report_rows(self, final):
        rows = []
        for name, spec in self.specs.items():
            if name in self._kept:
                rows.append(self._kept[name].row)  # carried over byte for byte
                continue
            result = self.results.get(name)
            snap = self.registry.get(name)
            run = self._planned[name]
            trial = {"trial_of": run.trial_of, "trial": run.trial, "seed": run.seed,
                     "kind": run.kind}
            if result is not None:
                # Without a GAMS return code (GAMS never started, or SLURM
                # ended the job) the run's message is the only explanation.
                meaning = result.message if result.returncode == LICENCE_RC or (
                    result.returncode is None
                    and result.status in (RunStatus.FAILED, RunStatus.TIMEOUT)) else None
                rows.append(report_row(spec.profile, result.status, result.runtime_seconds,
                                       result.returncode, result.lst, spec.work_dir,
                                       spec.lst_path if result.lst is not None else "",
                                       meaning=meaning, record=snap._asdict(), trial=trial))
            elif snap.status in FINAL_STATES or final:
                status = snap.status if snap.status in FINAL_STATES else RunStatus.CANCELLED
                rows.append(report_row(spec.profile, status, None, None, None, spec.work_dir, "",
                                       record=snap._asdict(), trial=trial))
        return rows

    def _exit_code(self, rows):
        if self._abort_signal is not None:
            return EXIT_BY_SIGNAL[self._abort_signal]
        statuses = set(row["status"] for row in rows)
        if statuses & set([RunStatus.FAILED, RunStatus.TIMEOUT]):
            return EXIT_RUN_FAILED
        if statuses & set([RunStatus.CANCELLED, RunStatus.INTERRUPTED]):
            return EXIT_CANCELLED
        return EXIT_OK

    def _write_best(self, rows):
        """best/<solver>.opt for the ranking's best (report/best.py); [(solver, path)], winner first.

        Its failure is said and leaves the report as written: the answer is
        in the CSV and the summary too.
        """
        option_texts = dict((run.trial_of or run.profile.name, run.option_text)
                            for run in self.plan.runs if run.trial == 1)
        try:
            return best.write_best_files(self.plan.out_dir, ranking.rank_rows(rows),
                                         option_texts, self.scan_id, self.plan.driver,
                                         iso_time(time.time()))
        except (IOError, OSError) as exc:
            self._say("warning: could not write %s: %s" % (
                paths.best_dir(self.plan.out_dir), os_reason(exc)))
            return []

    def _print_summary(self, rows, best_files):
        """The table, the ranking, the verdict and the answer, then where the report is.

        The report's line comes last but for the resume hint (scripts and
        the torture suite read it there), so the answer is just above it.
        """
        ranked = ranking.rank_rows(rows)
        self._say("")
        for line in summary_lines(rows, ranked):
            self._say(line)
        lines = ranking.table_lines(ranked)
        if lines and (len(ranked.entries) > 1 or ranked.capped or self.plan.repeat > 1):
            self._say("")
            for line in lines:
                self._say(line)
        trustworthy = "%s --confirm 2" % paths.resume_hint(self.plan.run_dir, self.plan.out_dir)
        for kind, text in ranking.verdict_lines(ranked, trustworthy) if ranked.entries else ():
            self._say(("Warning: " if kind == "warn" else "") + text)
        if best_files:
            solver, path = best_files[0]
            self._say("Best option file: %s" % path)
            self._say("Use it (in %s): %s" % (self.plan.run_dir, best.use_line(
                self.plan.driver, solver, os.path.dirname(path))))
        self._say("Report: %s" % self.report_path)
        for line in diagnosis.scan_end_lines(rows, self.plan.run_dir, self.plan.out_dir):
            self._say(line)
        unfinished = set([RunStatus.FAILED, RunStatus.TIMEOUT, RunStatus.CANCELLED,
                          RunStatus.INTERRUPTED])
        if any(row["status"] in unfinished for row in rows):
            self._say("To run what did not complete: %s"
                      % paths.resume_hint(self.plan.run_dir, self.plan.out_dir))

    def _say(self, text):
        try:
            self.stdout.write(text + "\n")
            self.stdout.flush()
        except (IOError, OSError):
            pass  # the terminal went away (SIGHUP); the report is on disk


def _resolve_runs(tokens, names):
    """Run names from a request: exact names, unique case-insensitive names or numbers."""
    chosen = set()
    for token in tokens:
        if token in names:
            chosen.add(token)
        else:
            # One token at a time: a run name may itself contain a comma.
            chosen.update(menu.parse_selection(token, names))
    return [name for name in names if name in chosen]


def _final_write(write):
    for _ in range(FINAL_WRITE_TRIES - 1):
        try:
            return write()
        except PermissionError:
            time.sleep(FINAL_WRITE_PAUSE_SECONDS)  # a reader holds it (Windows): again
    return write()


def _own_start_time():
    info = sessions.process_api().process_info(os.getpid())
    return info.start_time if info is not None else None


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run_scan(config, stdin=None, stdout=None, stderr=None, dashboard=None):
    """Plan, preflight and run a scan; returns the exit code.

    Raises:
        UsageError: bad input; check.PreflightError when the preflight
            (GAMS, licence, solvers, option files) refuses.  Nothing is
            created or started in either case.
    """
    plan = plan_scan(config)
    if not config.no_preflight:
        from times_doctor.scan import check
        for kind, line in check.preflight(plan, config.allow_unknown_options):
            (stderr or sys.stderr).write("times-doctor: %s: %s\n" % (kind, line))
    try:
        # The GAMS banner for resume's fingerprint, read before anything is
        # created (cached: the scan reads it from here), --no-preflight or not.
        resume.gams_identity(plan.gams, plan.grace_seconds)
    except gamsinfo.GamsHungError as error:
        raise UsageError("%s: check the licence server or whatever GAMS waits for (run gams "
                         "by hand), or allow it longer with %s=SECONDS"
                         % (error, gamsinfo.PROBE_TIMEOUT_ENV_VAR))
    return Scan(plan, stdin=stdin, stdout=stdout, stderr=stderr, dashboard=dashboard).run()

