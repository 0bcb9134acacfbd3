"""Which profile is best: the ranking of a scan's rows, whether its lead is real, and the words.

Pure: it reads CSV rows (report.report_row's dicts, or rows read back from a
scan_report.csv) and returns plain data and lines, so the summary a scan
prints, the CSV's rank columns and the HTML page all say the same thing.

- A profile's time is the median of its solved runs' wall times (a run's
  clock: runtime_seconds), over its trials (--repeat).  Solved: completed
  with an optimal model status (lst.model_status_is_optimal: a MIP that
  stopped at a gap tolerance, 8 Integer Solution, is not, as everywhere).
- Profiles re-run alone (--confirm) are ranked on those runs, ahead of the
  others, which keep their times from the scan; the CSV's ``rank_basis``
  says which timing each rank rests on.
- A winner is declared only when its lead over the runner-up is larger than
  the run-to-run spread (the wider range of the two profiles' trials);
  otherwise it is "too close to call", with the figures.  With one run per
  profile the spread is not measured, and the lines say so.
- The ranking is only as good as the runs it rests on: contended runs
  (run/usage.py) are named, with the command that gives a ranking to trust.
"""

import collections

from times_doctor.gams.lst import model_status_is_optimal
from times_doctor.states import RunStatus

# Relative objective difference above which ranked runs "end elsewhere".
OBJECTIVE_TOLERANCE = 1e-6

Entry = collections.namedtuple("Entry", "profile solver basis times median low high rows")
Entry.__doc__ = """One ranked profile.

profile: the profile's name (the rows' trial_of); solver: its solver.
basis: "confirm" (runs alone, --confirm) or "scan".
times: the sorted wall times of the solved runs it is ranked on; median,
low, high: of those.  rows: those runs' rows.
"""

Ranking = collections.namedtuple("Ranking", "entries capped verdict lead spread")
Ranking.__doc__ = """A scan's ranking.

entries: Entry values, best first.  capped: OrderedDict profile -> why it
was stopped, for profiles with no solved run that --cap/--race stopped.
verdict: None (nothing solved), "only" (one profile solved), "unmeasured"
(one run each: no spread to compare the lead with), "winner" (the lead is
larger than the spread) or "too close".  lead, spread: seconds (None when
there is no runner-up, or no spread).
"""

WINNER_VERDICTS = ("only", "unmeasured", "winner")


def solved(row):
    """True for a completed row with an optimal model status and a time."""
    return (row.get("status") == RunStatus.COMPLETED
            and model_status_is_optimal(row.get("model_status"))
            and _float(row.get("runtime_seconds")) is not None)


def profile_of(row):
    """The profile a row is a run of: its trial_of (older rows: its own name)."""
    return row.get("trial_of") or row.get("profile", "")


def rank_rows(rows):
    """The Ranking of *rows* (dicts keyed by report.CSV_COLUMNS)."""
    groups = collections.OrderedDict()
    for row in rows:
        groups.setdefault(profile_of(row), []).append(row)
    entries = []
    capped = collections.OrderedDict()
    for profile, members in groups.items():
        confirmed = [row for row in members if row.get("run_kind") == "confirm" and solved(row)]
        scanned = [row for row in members if row.get("run_kind") != "confirm" and solved(row)]
        used, basis = (confirmed, "confirm") if confirmed else (scanned, "scan")
        if not used:
            stopped = [row for row in members if row.get("status") == RunStatus.CAPPED]
            if stopped:
                capped[profile] = stopped[0].get("stop_reason") or "capped"
            continue
        times = sorted(float(row["runtime_seconds"]) for row in used)
        entries.append(Entry(profile, used[0].get("solver", ""), basis, times, _median(times),
                             times[0], times[-1], used))
    entries.sort(key=lambda entry: (entry.basis != "confirm", entry.median, entry.profile))
    verdict, lead, spread = _verdict(entries)
    return Ranking(entries, capped, verdict, lead, spread)


def best_of(ranking):
    """The Entry the scan names (the winner, or the fastest when too close), or None."""
    return ranking.entries[0] if ranking.entries else None


def top_by_scan_time(rows, count):
    """The names of the *count* best profiles on their scan runs alone: what --confirm re-runs."""
    scan_rows = [row for row in rows if row.get("run_kind") != "confirm"]
    return [entry.profile for entry in rank_rows(scan_rows).entries[:count]]


def annotate(rows, ranking):
    """Set every row's ``rank`` and ``rank_basis`` (empty for unranked profiles)."""
    places = dict((entry.profile, (index + 1, basis_text(entry)))
                  for index, entry in enumerate(ranking.entries))
    for row in rows:
        rank, basis = places.get(profile_of(row), ("", ""))
        row["rank"] = str(rank)
        row["rank_basis"] = basis
    return rows


def basis_text(entry):
    """Which timing a rank rests on: "confirm: median of 3 runs alone", "scan: 1 run, contended"."""
    count = len(entry.times)
    runs = "median of %d runs" % count if count > 1 else "1 run"
    text = "%s: %s%s" % (entry.basis, runs, " alone" if entry.basis == "confirm" else "")
    contended = sum(1 for row in entry.rows if row.get("contended") == "yes")
    if contended:
        text += ", contended" if contended == count else ", %d of %d contended" % (contended,
                                                                                    count)
    return text


def time_text(entry):
    """"4.73 s", or "4.73 s (4.50-5.01)" for several runs."""
    text = "%s s" % seconds_text(entry.median)
    if len(entry.times) > 1:
        text += " (%s-%s)" % (seconds_text(entry.low), seconds_text(entry.high))
    return text


def table_lines(ranking):
    """The ranking as a small text table: rank, profile, time, basis; capped profiles last."""
    if not ranking.entries and not ranking.capped:
        return []
    width = max([len(entry.profile) for entry in ranking.entries]
                + [len(name) for name in ranking.capped])
    times = [time_text(entry) for entry in ranking.entries]
    time_width = max([len(text) for text in times] or [0])
    lines = ["Ranking (wall time of each run; the median where a profile ran more than once):"]
    for index, (entry, text) in enumerate(zip(ranking.entries, times)):
        lines.append("  %2d  %s  %s  %s" % (index + 1, entry.profile.ljust(width),
                                           text.ljust(time_width), basis_text(entry)))
    for name, reason in ranking.capped.items():
        lines.append("   -  %s  capped: %s" % (name.ljust(width), reason))
    return lines


def verdict_lines(ranking, trustworthy_command=None):
    """[(kind, text)]: the verdict, then what it rests on; kind "ok", "warn" or "note".

    *trustworthy_command*: the command line that re-runs the best profiles
    alone (``times-doctor scan RUN_DIR --resume --confirm 2``), named when
    the ranking rests on contended runs.
    """
    entries = ranking.entries
    if not entries:
        return [("note", "No profile reached an optimal model status: nothing to rank.")]
    lines = [_verdict_line(ranking)]
    top = entries[:2]
    contended = [row for entry in top for row in entry.rows if row.get("contended") == "yes"]
    if contended:
        lines.append(("warn", _contention_warning(top, contended, trustworthy_command)))
    elif all(row.get("contended") in (None, "") for entry in top for row in entry.rows):
        lines.append(("note", "Contention was not measured for these runs (this platform "
                              "cannot tell how long a run's threads waited for a CPU): a "
                              "ranking of runs that ran side by side may reflect the "
                              "competition for the CPUs rather than the profiles."))
    objectives = [_float(row.get("objective")) for entry in entries for row in entry.rows]
    objectives = [value for value in objectives if value is not None]
    if objectives and _relative_spread(objectives) > OBJECTIVE_TOLERANCE:
        lines.append(("warn", "The ranked runs end at different objectives (%s to %s): a "
                              "profile that loosens a tolerance (epint, epgap, MIPGap, ...) "
                              "wins by solving less, or the model is numerically delicate "
                              "(see Numerics on the page)." % (
                                  _number(min(objectives)), _number(max(objectives)))))
    return lines


def _verdict_line(ranking):
    best = ranking.entries[0]
    head = "%s, %s wall (%s)" % (best.profile, time_text(best), basis_text(best))
    if ranking.verdict == "only":
        return ("ok", "Winner: %s; no runner-up: no other profile completed optimal." % head)
    runner = ranking.entries[1]
    lead = "lead %s s (%d %%)" % (seconds_text(ranking.lead),
                                 int(round(100.0 * ranking.lead / runner.median))
                                 if runner.median else 0)
    second = "%s, %s (%s)" % (runner.profile, time_text(runner), basis_text(runner))
    if ranking.verdict == "unmeasured":
        return ("ok", "Winner: %s; runner-up %s: %s; run-to-run spread not measured (one run "
                      "each: --repeat 3 measures it)." % (head, second, lead))
    if ranking.verdict == "winner":
        return ("ok", "Winner: %s; runner-up %s: %s > run-to-run spread %s s." % (
            head, second, lead, seconds_text(ranking.spread)))
    return ("warn", "Too close to call: %s and %s: %s is within the run-to-run spread %s s; "
                    "either will do (the option file below is %s's)." % (
                        head, second, lead, seconds_text(ranking.spread), best.profile))


def _contention_warning(top, contended, command):
    shares = [_float(row.get("cpu_share")) for row in contended]
    shares = sorted(int(round(100 * share)) for share in shares if share is not None)
    got = (" got %s %% of the CPU their threads wanted" % (
        "%d" % shares[0] if shares[0] == shares[-1] else "%d-%d" % (shares[0], shares[-1]))
        if shares else " got less CPU than they asked for")
    names = ", ".join(sorted(set(row.get("profile", "") for row in contended)))
    if all(entry.basis == "confirm" for entry in top):
        loads = [_float(row.get("load_avg")) for row in contended]
        loads = [value for value in loads if value is not None]
        busy = (" (load %s)" % _number(max(loads))) if loads else ""
        return ("Even alone the best runs were contended (%s%s): the machine is busy with "
                "other work%s. Confirm when it is quieter, or on a node of your own "
                "(--launcher slurm --slurm-arg=--exclusive)." % (names, got, busy))
    text = "This ranking rests on contended runs (%s%s)." % (names, got)
    if command:
        text += " For a ranking you can trust, re-run the best alone: %s" % command
    return text


def _verdict(entries):
    if not entries:
        return None, None, None
    if len(entries) == 1:
        return "only", None, None
    best, runner = entries[0], entries[1]
    lead = runner.median - best.median
    ranges = [entry.high - entry.low for entry in (best, runner) if len(entry.times) > 1]
    if not ranges:
        return "unmeasured", lead, None
    spread = max(ranges)
    return ("winner" if lead > spread else "too close"), lead, spread


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def _relative_spread(values):
    low, high = min(values), max(values)
    return (high - low) / max(abs(high), abs(low), 1.0)


def seconds_text(value):
    """Seconds as a reader wants them: 0.183, 4.73, 12.3, 1234."""
    value = float(value)
    if abs(value) >= 1000:
        return "%d" % round(value)
    if abs(value) >= 10:
        return "%.1f" % value
    if abs(value) >= 1:
        return "%.2f" % value
    return "%.3f" % value


def _number(value):
    return ("%.6g" % value) if value is not None else ""


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
