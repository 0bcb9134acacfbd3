"""Run one GAMS process for one profile: start, watch, stop, report.

The worker thread that calls run_gams_with_progress() owns its job's
process from start to reaping.  It sleeps on the job's cancel event, so a
cancel request wakes it at once (cancel latency is one event wake-up plus
the kill), and in between it polls the leader without reaping it and reads
only the new bytes of the run log.
"""

import collections
import os
import subprocess
import threading
import time

from times_doctor.gams import gamsinfo
from times_doctor.proc import procgroup
from times_doctor.run import usage
from times_doctor.job_control import (ACTION_INTERRUPT, ACTION_PAUSE, ACTION_RESUME,
                                      INTERRUPT_NOT_AVAILABLE, _terminate_process_group)
from times_doctor.errors import ParseError
from times_doctor.solvers.log import MAX_LINE_CHARS
from times_doctor.solvers.table import SolverLogParser
from times_doctor.run.tail import LogTail
from times_doctor.gams.lst import parse_lst
from times_doctor.run.series import SeriesWriter, series_path
from times_doctor.states import RunStatus

RunSpec = collections.namedtuple(
    "RunSpec", "name solver profile work_dir command log_path lst_path env")

RunResult = collections.namedtuple(
    "RunResult", "name status returncode runtime_seconds lst message survivors")

# GAMS's return code for a licensing error (lst.GAMS_RC_MEANINGS).
LICENCE_RC = 7

# How often the log is read for new lines (and the timeout checked) when no
# event (exit, cancel, request) wakes the worker first.
POLL_SECONDS = 0.5

# Details when an interrupt could not be delivered (Windows: GAMS's message
# window was not found); kept in front of the log's details until the run ends.
NO_INTERRUPT_NOTE = "%s (no GAMS message window): the run goes on" % INTERRUPT_NOT_AVAILABLE

# With a LogPoller reading the log, nothing but a timeout needs the worker
# between events (exit, cancel, request); this only bounds the wait in case
# an exit were ever missed.
IDLE_WAIT_SECONDS = 5.0


def run_gams_with_progress(spec, cancel_event, job_registry, timeout_seconds=0, grace_seconds=10.0, groups=None,
                           monotonic=time.monotonic, poll_seconds=POLL_SECONDS,
                           log_seconds=None, start_process=subprocess.Popen, sleep=time.sleep,
                           log_poller=None):
    """Run one profile's GAMS job to a final state.

    Args:
        spec: a RunSpec (command, work dir, log and listing paths).
        cancel_event: the event job_registry.register() returned; set on
            cancel and, with a pending action, on pause/resume/interrupt.
        job_registry: the scan's JobRegistry; this function writes the run's
            record: it moves the run through STARTING, RUNNING (PAUSED) and
            a final state, and sets phase, progress, result and details.
        timeout_seconds: 0 for none; paused time does not count (the
            record's clock holds while paused).
        grace_seconds: SIGTERM-to-SIGKILL wait when ending the group.
        log_seconds: how often the log is read for the record (default
            poll_seconds); no faster than something shows the progress.
        groups, start_process, monotonic, sleep: the process-group seam
            (default: this platform's), subprocess.Popen, and the clock the
            log reads and the grace are timed with (a cancel's deadline is
            the registry's, so it must be the registry's clock; the SLURM task's
            leaves out suspended time).  Tests pass
            fakes (tests/test_runner_states.py).
        log_poller: optional run.tail.LogPoller that reads the log instead
            of this worker (one thread for all runs; log_seconds is then
            the poller's); the worker then wakes only for events and the
            timeout, and does the final read itself.

    Returns:
        A RunResult, or None if the run was cancelled before it started.
    """
    groups = groups if groups is not None else procgroup.current()
    log_seconds = poll_seconds if log_seconds is None else log_seconds
    name = spec.name
    if not job_registry.try_start(name):
        return None  # cancelled while it waited: it never starts
    popen, message = _start(spec, groups, start_process)
    if popen is None:
        _update(job_registry, name, details=message)
        job_registry.set_status(name, RunStatus.FAILED)
        return RunResult(name, RunStatus.FAILED, None, 0.0, None, message, [])

    ref = groups.attach(popen, spec.env.get(procgroup.JOB_ENV_VAR))
    job_registry.attach_process(name, popen.pid, ref)
    # CPU and contention (usage.py): sampled with every log read, and once
    # more as the run ends, before its processes are swept.
    sampler = usage.UsageSampler(groups, ref, monotonic)
    sampler.sample(force=True)

    # A helper thread blocks until the leader exits and then wakes the
    # worker through the same event a cancel uses: exits are seen at once,
    # and between events the worker only wakes to read the log.
    watcher = threading.Thread(target=_watch_exit, args=(groups, ref, popen, cancel_event),
                               name="td-exit-%s" % name)
    watcher.daemon = True
    watcher.start()

    ended_by = None  # None (own exit), RunStatus.CANCELLED or RunStatus.TIMEOUT
    interrupted = False
    paused = False
    # The parser reads no further than MAX_LINE_CHARS of a line (4 bytes
    # each at most), so the tail keeps no more of a line that spans reads:
    # 100 kB lines then cost 4 KiB each, not a 64 KiB copy and decode.
    tail = LogTail(spec.log_path, max_line_bytes=MAX_LINE_CHARS * 4)
    parser = SolverLogParser(spec.solver)
    # The report's charts: one downsampled point per log read.
    series = SeriesWriter(series_path(spec.work_dir), name, spec.solver)
    notes = []  # said in Details before the log's own details, until the run ends
    next_log_read = monotonic()
    if log_poller is not None:
        log_poller.add(name, lambda: _read_log(tail, parser, job_registry, name, series, notes,
                                               sampler=sampler))
        next_log_read = float("inf")
        poll_seconds = IDLE_WAIT_SECONDS
    read_error = None
    try:
        if job_registry.is_cancel_requested(name):
            ended_by = RunStatus.CANCELLED
        else:
            job_registry.set_status(name, RunStatus.RUNNING)
        while ended_by is None:
            wait_seconds = poll_seconds
            if timeout_seconds:
                wait_seconds = min(wait_seconds, max(0.0, timeout_seconds - job_registry.elapsed(name)))
            if cancel_event.wait(wait_seconds):
                if job_registry.is_cancel_requested(name):
                    ended_by = RunStatus.CANCELLED
                    break
                action = job_registry.take_action(name)
                if action == ACTION_INTERRUPT:
                    if paused:
                        groups.resume(ref)
                        paused = _set_paused(job_registry, name, False)
                    # Windows answers False when GAMS has no message window
                    # (not started yet, or not GAMS): the run goes on, and its
                    # Details say why for as long as it runs.
                    if groups.interrupt(ref) is False:
                        if NO_INTERRUPT_NOTE not in notes:
                            notes.append(NO_INTERRUPT_NOTE)
                        _update(job_registry, name, details=_details(notes, None))
                    else:
                        interrupted = True
                elif action == ACTION_PAUSE and not paused:
                    groups.pause(ref)
                    paused = _set_paused(job_registry, name, True)
                elif action == ACTION_RESUME and paused:
                    groups.resume(ref)
                    paused = _set_paused(job_registry, name, False)
            if groups.leader_exit_status(ref, popen) is not None:
                break
            if timeout_seconds and job_registry.elapsed(name) > timeout_seconds:
                ended_by = RunStatus.TIMEOUT
                break
            if monotonic() >= next_log_read:
                _read_log(tail, parser, job_registry, name, series, notes, sampler=sampler)
                next_log_read = monotonic() + log_seconds
        sampler.sample(force=True)
        # Whether the leader exited or we are ending it, sweep the group
        # before reaping: the leader's unreaped pid keeps the group id ours.
        survivors = _end_group(ref, groups, job_registry, name, ended_by, grace_seconds,
                               monotonic, sleep)
        returncode = groups.reap(ref, popen)
    finally:
        if popen.returncode is None:
            # An unexpected error escaped the loop: never leave the job behind.
            _terminate_process_group(ref, 0, groups, monotonic=monotonic, sleep=sleep)
            groups.reap(ref, popen)
        groups.close(ref)
        if log_poller is not None:
            read_error = log_poller.remove(name)
        _read_log(tail, parser, job_registry, name, series, notes, final=True)
        tail.close()
        series.close()
    if read_error is not None:
        raise read_error  # a bug in reading the log, as if it had escaped the loop above

    stop_status = job_registry.stop_status(name)
    if job_registry.is_cancel_requested(name) and (ended_by is not None
                                                   or stop_status == RunStatus.CANCELLED):
        # Even if GAMS exited on its own after the request: the user asked.
        # A cap (--cap, --race) that came as the run finished by itself
        # changes nothing: it did finish.
        ended_by = stop_status
    lst, message = _read_listing(spec.lst_path)
    if returncode == LICENCE_RC and ended_by is None:
        # GAMS says why in its log ("Time-limited license expired ...", "The
        # model exceeds the demo license limits ..."): that, not "rc 7", is
        # what the user needs.
        message = licence_message(spec.log_path)
    if ended_by is not None:
        status = ended_by
    elif interrupted:
        status = RunStatus.INTERRUPTED
    elif returncode == 0 and lst is not None:
        status = RunStatus.COMPLETED
    else:
        status = RunStatus.FAILED
    # What the run cost, and whether it got the CPU it asked for.
    wall_seconds = job_registry.elapsed(name)
    timing = usage.timing_fields(wall_seconds, lst, parser, sampler.figures(ref.cpu_seconds))
    if status == RunStatus.CAPPED:
        message = job_registry.get(name).stop_reason
    else:
        timing["stop_reason"] = ""  # a cap that came as the run ended anyway
        if status == RunStatus.COMPLETED:
            message = message or usage.describe(timing, wall_seconds)
    # A paused run goes straight to its final state (states.TRANSITIONS
    # allows it); its clock held at the pause, so the runtime is right.
    # Result first, status second: the plain-mode line printed on the status
    # change then already carries the result word.
    job_registry.update(name, **timing)
    _update(job_registry, name, result=_result_text(lst),
            phase="done" if status == RunStatus.COMPLETED else None,
            progress=1.0 if status == RunStatus.COMPLETED else None,
            details=_details(notes, message) if message else None)
    final = job_registry.set_status(name, status, returncode)
    return RunResult(name, status, returncode, final.elapsed_seconds, lst, message, survivors)


def licence_message(log_path):
    """"licensing error: <GAMS's reason from the log>" for a run that ended with rc 7."""
    reason = gamsinfo.refusal_reason(gamsinfo.read_log_tail(log_path))
    return "licensing error: %s" % (reason or "GAMS gave no reason in %s" % log_path)


def _watch_exit(groups, ref, popen, wake):
    groups.wait_leader_exit(ref, popen)
    wake.set()


def _start(spec, groups, start_process):
    stderr_path = os.path.join(spec.work_dir, "gams_stderr.txt")
    try:
        with open(stderr_path, "wb") as stderr:
            popen = start_process(
                spec.command, cwd=spec.work_dir, env=spec.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                close_fds=True, **groups.popen_kwargs())
    except OSError as exc:
        return None, "could not start GAMS: %s" % (exc.strerror or exc)
    return popen, None


def _end_group(ref, groups, job_registry, name, ended_by, grace_seconds, monotonic, sleep):
    if ended_by == RunStatus.CAPPED:
        ended_by = RunStatus.CANCELLED  # the same kind of request, with its own grace
    if ended_by is None:
        # GAMS exited by itself; anything left in its session (a solver
        # that outlived it) is swept with no grace: GAMS is done with it.
        if not groups.survivors(ref):
            return []
        return _terminate_process_group(ref, 0.0, groups, monotonic=monotonic, sleep=sleep)
    if ended_by == RunStatus.CANCELLED:
        # The request carries its own grace, and a second request (double
        # Ctrl+C, a second signal) can move the deadline earlier mid-wait.
        # The registry's deadlines are on *monotonic*'s clock (the SLURM
        # task's leaves out suspended time), so the wait must be too.
        return _terminate_process_group(
            ref, grace_seconds, groups, deadline_fn=lambda: job_registry.grace_deadline(name),
            monotonic=monotonic, sleep=sleep)
    return _terminate_process_group(ref, grace_seconds, groups, monotonic=monotonic, sleep=sleep)


def _set_paused(job_registry, name, paused):
    job_registry.set_status(name, RunStatus.PAUSED if paused else RunStatus.RUNNING)
    return paused


def _read_log(tail, parser, job_registry, name, series, notes, final=False, sampler=None):
    """Feed new log lines to the parser and write its view into the run's record.

    The tail reads at most a few MiB per call so a burst can't stall the
    worker; the last read after GAMS has exited loops until it has caught up
    and also takes a final line without a newline.  The lines go to the
    parser as one block of bytes: it cuts out and decodes only the few it
    parses (splitting every row in Python would be most of the monitor's cost).
    The run's CPU sample rides along (at most once per its interval).
    """
    if sampler is not None:
        sampler.sample()
    fed = False
    while True:
        try:
            block = tail.read_block(final=final)
        except ParseError as exc:
            # An unreadable log costs the progress display, not the run.
            _update(job_registry, name, details=str(exc))
            return
        if block is not None:
            parser.feed_block(block, tail.max_line_bytes)
            fed = True
        if not (final and tail.behind):
            break
    if fed:
        snap = parser.snapshot()
        _update(job_registry, name, phase=snap.phase, progress=snap.progress,
                iteration=snap.iteration, details=_details(notes, snap.details))
    if fed or final:
        _record_series(series, parser, job_registry, name, final)


def _record_series(series, parser, job_registry, name, final):
    """One point of the run's progress series (the last one at the run's end).

    A write error stops the series, not the run; it is shown once in Details.
    """
    snap = parser.snapshot()
    metrics = parser.metrics()
    metrics.update(iteration=snap.iteration, objective=snap.objective)
    series.add(job_registry.elapsed(name), snap.phase, metrics, final=final)
    _update(job_registry, name, details=series.take_error())


def _read_listing(lst_path):
    if not os.path.exists(lst_path):
        return None, "no listing file written"
    try:
        return parse_lst(lst_path), None
    except ParseError as exc:
        return None, str(exc)


def _result_text(lst):
    if lst is None or not lst.model_status:
        return ""
    text = lst.model_status
    # "1 Optimal" -> "optimal": the number is in the CSV, the table wants a word.
    parts = text.split(None, 1)
    return (parts[1] if len(parts) == 2 and parts[0].isdigit() else text).lower()


def _details(notes, details):
    """The runner's notes (an interrupt that could not be delivered), then the log's details."""
    return "; ".join(list(notes) + ([details] if details else [])) or details


def _update(job_registry, name, **fields):
    """Write phase/progress/result/details into the run's record; None leaves a field as it is."""
    fields = dict((k, v) for k, v in fields.items() if v is not None)
    if fields:
        job_registry.update(name, **fields)
