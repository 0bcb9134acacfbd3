"""`times-doctor status`: a scan's table from its state file, or the list of scans.

Everything here reads files (the state file, the session registry) and
prints; nothing signals anything.  The table is the live table's renderer
fed with rows rebuilt from the state file.
"""

import json
import os
import sys
import time

from times_doctor import paths
from times_doctor.remote import sessions
from times_doctor.term import ansi
from times_doctor.errors import EXIT_OK, ParseError
from times_doctor.term.live import LiveScreen
from times_doctor.term.render import render_summary, render_table, run_row
from times_doctor.paths import read_state
from times_doctor.states import FINAL_STATES

WATCH_SECONDS = 0.5


def status_lines(document, live, width, color=False):
    """The table, the summary and one line on the scanner's state."""
    lines = render_table([run_row(job) for job in paths.jobs_of(document)], width, color)
    lines.append(render_summary(paths.counts_of(document), color))
    lines.append(scanner_line(document, live))
    return lines


def scanner_line(document, live):
    out_dir = document.get("out_dir", "")
    pid = (document.get("scanner") or {}).get("pid")
    if document.get("reaped"):
        return "scan %s: scanner died; reaped at %s" % (document.get("scan_id"),
                                                         document["reaped"].get("at"))
    if document.get("finished"):
        return "scan %s: finished, exit %s%s" % (document.get("scan_id"),
                                                 document.get("exit_code"), _resumed(document))
    if live:
        return "scan %s: running (scanner pid %s)%s" % (document.get("scan_id"), pid,
                                                          _resumed(document))
    return ("scan %s: STALE, scanner pid %s is gone; its runs may still be alive: "
            "`times-doctor reap %s`" % (document.get("scan_id"), pid, out_dir))


def _resumed(document):
    """Kept runs show as completed with "kept" in Details; this names where from."""
    if not document.get("resumed_from"):
        return ""
    kept = [job.get("name") for job in document.get("jobs", []) if job.get("kept")]
    return "; resumed scan %s, kept %d completed run(s)" % (document["resumed_from"], len(kept))


def show_status(out_dir, as_json=False, watch=False, stream=None, no_color=False):
    """Print one scan's status; returns the exit code."""
    stream = stream if stream is not None else sys.stdout
    out_dir = os.path.abspath(out_dir)
    document = paths.load_state(out_dir)
    if as_json:
        stream.write(json.dumps(document, indent=2) + "\n")
        return EXIT_OK
    color = ansi.color_enabled(stream, no_color_flag=no_color)
    if not watch:
        width = ansi.terminal_width(stream) - 1
        for line in status_lines(document, sessions.scanner_alive(out_dir), width, color):
            stream.write(line + "\n")
        return EXIT_OK
    return _watch(out_dir, document, stream, color)


def list_scans(as_json=False, stream=None, environ=None):
    """Print every scan of this user on this host (live or stale)."""
    stream = stream if stream is not None else sys.stdout
    entries = sessions.list_sessions(environ)
    summaries = []
    for entry in entries:
        summary = {"scan_id": entry.get("scan_id"), "pid": entry.get("pid"),
                   "out_dir": entry["out_dir"], "live": entry["live"],
                   "started_at": entry.get("started_at"), "counts": None}
        try:
            document = read_state(paths.state_path(entry["out_dir"]))
            if document.get("scan_id") == entry.get("scan_id"):
                summary["counts"] = dict((k, v) for k, v in paths.counts_of(document).items()
                                         if v)
        except ParseError:
            pass  # the state file went away; the entry still says where
        summaries.append(summary)
    if as_json:
        stream.write(json.dumps(summaries, indent=2) + "\n")
        return EXIT_OK
    if not summaries:
        stream.write("No times-doctor scans of this user on this host (registry: %s).\n"
                     % sessions.sessions_dir(environ))
        return EXIT_OK
    for summary in summaries:
        counts = summary["counts"]
        stream.write("%-5s  pid %-7s  %s  %s  %s\n" % (
            "live" if summary["live"] else "STALE", summary["pid"], summary["started_at"],
            summary["out_dir"],
            render_summary(counts) if counts is not None else "(no state file)"))
    if any(not s["live"] for s in summaries):
        stream.write("Stale scans: their scanner died; `times-doctor reap` ends what is left "
                     "of them.\n")
    return EXIT_OK


def _watch(out_dir, document, stream, color):
    live = ansi.live_capable(stream)
    screen = LiveScreen(_writer(stream))
    last = None
    try:
        if live:
            screen.start()
        while True:
            alive = sessions.scanner_alive(out_dir)
            width = ansi.terminal_width(stream) - 1
            lines = status_lines(document, alive, width, color if live else False)
            if live:
                screen.draw(lines)
            else:
                # Plain: a full block only when a status changed (no clocks ticking).
                key = [(j.get("name"), j.get("status")) for j in paths.jobs_of(document)]
                if key != last:
                    stream.write("\n".join(lines) + "\n\n")
                    stream.flush()
                    last = key
            done = document.get("finished") or all(
                j.get("status") in FINAL_STATES for j in paths.jobs_of(document))
            if done or not alive:
                break
            time.sleep(WATCH_SECONDS)
            try:
                document = paths.load_state(out_dir)
            except ParseError:
                pass  # a partial read cannot happen (atomic writes), but a deleted file can
    except KeyboardInterrupt:
        pass  # Ctrl+C ends the watch, not the scan
    finally:
        screen.stop()  # the cursor comes back whatever ended the watch
    return EXIT_OK


def _writer(stream):
    def write(text):
        stream.write(text)
        stream.flush()
    return write
