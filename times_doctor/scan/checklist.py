"""The checklist ``times-doctor check`` prints: its items, and the text and JSON renderings.

``check`` runs the checks and yields ``CheckItem`` rows; this module is what
a row is (section, stable name, status, text, fix, data) and how a list of
them is shown: a checklist with a heading per section and the fix under each
problem, or the JSON document (``times-doctor/check``, schema version 1,
see docs/files.md), and the exit code they add up to.
"""

import collections
import datetime

from times_doctor.term import ansi
from times_doctor.errors import EXIT_OK, EXIT_RUN_FAILED

OK = "ok"
WARNING = "warning"
ERROR = "error"
_RANK = {OK: 0, WARNING: 1, ERROR: 2}

SYMBOLS = {OK: "\u2713", WARNING: "\u26a0", ERROR: "\u2717"}
ASCII_SYMBOLS = {OK: "ok", WARNING: "!!", ERROR: "XX"}
# The live table's colours: completed green, waiting-for-you yellow, failed red.
STYLES = {OK: "bold green", WARNING: "bold yellow", ERROR: "bold red"}

SECTIONS = collections.OrderedDict([
    ("gams", "GAMS"), ("licence", "Licence"), ("solvers", "Solvers"),
    ("profiles", "Profiles"), ("run_dir", "Run directory"), ("machine", "Machine")])

SCHEMA = "times-doctor/check"
SCHEMA_VERSION = 1

CheckItem = collections.namedtuple("CheckItem", "section name status text fix data")
CheckItem.__doc__ = """One line of the checklist.

section: a key of SECTIONS; name: a stable id ("licence", "solver:cplex",
"profile:dual", "machine:disk"); status: OK, WARNING or ERROR; text: what
was found; fix: what to do (None for OK); data: facts for --json (a dict).
"""


def exit_code(items):
    """0 when nothing is an error (warnings alone pass), else 1."""
    return EXIT_RUN_FAILED if any(item.status == ERROR for item in items) else EXIT_OK


def render_lines(items, color=False, unicode_ok=True):
    """The checklist as text lines: a heading per section, one line per item, fixes below."""
    symbols = SYMBOLS if unicode_ok else ASCII_SYMBOLS
    lines = []
    for section, title in SECTIONS.items():
        chosen = [item for item in items if item.section == section]
        if not chosen:
            continue
        lines.append(ansi.style(title, "bold", color))
        for item in chosen:
            mark = ansi.style(symbols[item.status], STYLES[item.status], color)
            lines.append("  %s %s" % (mark, item.text))
            for detail in item.data.get("findings_text", ()):
                lines.append("      %s" % detail)
            if item.fix:
                lines.append("      fix: %s" % item.fix)
    counts = collections.Counter(item.status for item in items)
    lines.append("")
    lines.append("%d %s, %d %s, %d %s" % (counts[OK], symbols[OK], counts[WARNING],
                                          symbols[WARNING], counts[ERROR], symbols[ERROR]))
    return lines


def document(items, now=None):
    """The JSON document (``times-doctor/check``, schema version 1; see docs/files.md)."""
    now = now or datetime.datetime.utcnow()
    counts = collections.Counter(item.status for item in items)
    return collections.OrderedDict([
        ("schema", SCHEMA), ("schema_version", SCHEMA_VERSION),
        ("generated_at", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("exit_code", exit_code(items)),
        ("summary", collections.OrderedDict((status, counts[status])
                                            for status in (OK, WARNING, ERROR))),
        ("items", [collections.OrderedDict([
            ("section", item.section), ("name", item.name), ("status", item.status),
            ("text", item.text), ("fix", item.fix),
            # findings_text and "_" keys are for the text renderings only.
            ("data", dict((key, value) for key, value in item.data.items()
                          if key != "findings_text" and not key.startswith("_")))])
            for item in items])])


def worst_status(statuses):
    """The worst of *statuses* (ERROR over WARNING over OK); OK for none."""
    worst = OK
    for status in statuses:
        worst = status if _RANK[status] > _RANK[worst] else worst
    return worst
