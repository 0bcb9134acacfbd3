"""``times-doctor diagnose``: print what gams/diagnosis.py found, as text or JSON.

Runs nothing.  The findings, their order and what each reads are
diagnosis.py's; here they are written out: per run its files, each
finding with its lines and its fix (symbols and colours in a terminal), or
one JSON document (``times-doctor/diagnose``, schema version 1, docs/files.md).
"""

import collections
import datetime
import json
import os
import sys

from times_doctor.gams.diagnosis import (ERROR, INFO, QA_CHECK_NAME, WARNING, diagnose, exit_code,
                                         link_conflicts, targets, worst)
from times_doctor.term import ansi

SCHEMA = "times-doctor/diagnose"
SCHEMA_VERSION = 1

SYMBOLS = {ERROR: "\u2717", WARNING: "\u26a0", INFO: "\u00b7"}
ASCII_SYMBOLS = {ERROR: "XX", WARNING: "!!", INFO: "--"}
STYLES = {ERROR: "bold red", WARNING: "bold yellow", INFO: "dim"}


def render_lines(diagnoses, color=False, unicode_ok=True, show_info=True):
    """The diagnoses as text: per run its files, then each finding, its lines and fix."""
    symbols = SYMBOLS if unicode_ok else ASCII_SYMBOLS
    lines = []
    for diagnosis in diagnoses:
        files = diagnosis.files
        lines.append(ansi.style("%s (%s)" % (files.name, files.folder), "bold", color))
        read = [("listing", files.listing), ("log", files.log), (QA_CHECK_NAME, files.qa_check)]
        lines.append("  read: %s" % ", ".join(
            "%s %s" % (label, os.path.basename(path)) for label, path in read if path) or
            "  read: nothing")
        shown = [finding for finding in diagnosis.findings
                 if show_info or finding.severity != INFO]
        if not shown:
            lines.append("  nothing found that blocks a result")
        for finding in shown:
            mark = ansi.style(symbols[finding.severity], STYLES[finding.severity], color)
            lines.append("  %s %s" % (mark, finding.title))
            for detail in finding.lines:
                lines.append("      %s" % detail)
            if finding.fix:
                lines.append("      fix: %s" % finding.fix)
        lines.append("")
    return lines


def document(diagnoses, target, now=None):
    """The JSON document (``times-doctor/diagnose``, schema version 1; see docs/files.md)."""
    now = now or datetime.datetime.utcnow()
    return collections.OrderedDict([
        ("schema", SCHEMA), ("schema_version", SCHEMA_VERSION),
        ("generated_at", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("target", target), ("exit_code", exit_code(diagnoses)),
        ("runs", [collections.OrderedDict([
            ("name", each.files.name), ("folder", each.files.folder),
            ("files", collections.OrderedDict([("listing", each.files.listing),
                                               ("log", each.files.log),
                                               ("qa_check", each.files.qa_check)])),
            ("worst", worst(each)),
            ("findings", [collections.OrderedDict([
                ("kind", finding.kind), ("severity", finding.severity),
                ("rank", finding.rank), ("title", finding.title),
                ("lines", list(finding.lines)), ("fix", finding.fix),
                ("data", finding.data)]) for finding in each.findings])])
            for each in diagnoses])])


def run_diagnose_command(run_dir=None, out=None, as_json=False, no_color=False, stdout=None,
                         environ=None):
    """``times-doctor diagnose``: print the findings (or JSON); returns the exit code."""
    stdout = stdout or sys.stdout
    found = targets(run_dir, out)
    context = {"run_dir": run_dir, "out": out}
    diagnoses = link_conflicts([diagnose(files, context) for files in found])
    if as_json:
        stdout.write(json.dumps(document(diagnoses, os.path.abspath(out or run_dir)),
                                indent=2) + "\n")
    else:
        color = ansi.color_enabled(stdout, no_color_flag=no_color, environ=environ)
        unicode_ok = ansi.encoding_can_print(stdout, "".join(SYMBOLS.values()))
        for line in render_lines(diagnoses, color=color, unicode_ok=unicode_ok):
            stdout.write(line + "\n")
    stdout.flush()
    return exit_code(diagnoses)
