"""Readers cannot hurt a scan: another process reads its files in a tight loop throughout.

On Windows a process that holds a file open stops every other from replacing
it, so a reader of scan_state.json (status, the dashboard, a control
command) once ended the scanner with "internal error: PermissionError:
[WinError 5]" (the Windows leg found it).  Here a reader reads the state
file, the CSV and scan_report.html with plain open(), as any program does,
and the state file also through times-doctor's own reader, as fast as it can
while twelve runs start and end.  The scan must end as if nobody read; no
read may see a half-written file; times-doctor's reader never fails.  A
plain open() that comes while Windows replaces the file is refused for that
moment ("Permission denied"): counted, allowed on Windows only.  Runs on
every leg (Linux: nothing is ever refused, and the reads prove atomicity).
"""

import csv
import io
import json
import os
import subprocess
import sys

from scan_helpers import CSV_COLUMNS, cli_env, profiles_opt_dir, read_report, read_state

RUNS = 12

# The reader, in a process of its own; it writes what it saw to RESULT when STOP appears.
READER = r"""
import csv, io, json, os, sys
state, report, page, stop, result, columns = sys.argv[1:7]
from times_doctor.errors import ParseError
from times_doctor.paths import read_state
columns = columns.split(",")
seen = {"state": 0, "csv": 0, "html": 0, "state_read_state": 0}
torn, refused, ours_failed = [], [], []

def check(kind, data):
    if kind == "state":
        document = json.loads(data.decode("utf-8"))
        return document.get("schema") == "times-doctor/scan-state" and data.endswith(b"\n")
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        return (data.endswith(b"\n") and rows[0] == columns
                and all(len(row) == len(columns) for row in rows[1:]))
    return data.lstrip().startswith(b"<!DOCTYPE html>") and data.rstrip().endswith(b"</html>")

while not os.path.exists(stop):
    for kind, path in (("state", state), ("csv", report), ("html", page)):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            continue  # not written yet
        except OSError as exc:
            refused.append("%s: %s" % (kind, exc))
            continue
        seen[kind] += 1
        try:
            whole = check(kind, data)
        except (ValueError, UnicodeDecodeError, IndexError):
            whole = False
        if not whole:
            torn.append((kind, len(data), data[-80:].decode("utf-8", "replace")))
    if os.path.exists(state):
        try:
            read_state(state)
            seen["state_read_state"] += 1
        except ParseError as exc:
            ours_failed.append(str(exc))
with open(result, "w") as handle:
    json.dump({"seen": seen, "torn": torn[:5], "torn_count": len(torn), "refused": refused[:5],
               "refused_count": len(refused), "ours_failed": ours_failed[:5]}, handle)
"""


def test_a_reader_in_a_tight_loop_neither_stops_nor_tears_the_scan(tmp_path, fake_gams_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: cplex-log 200 1.5\n")
    opt_dir, names = profiles_opt_dir(str(tmp_path / "opts"), RUNS)
    out = str(tmp_path / "out")
    files = os.path.join(out, "times_doctor_out")
    state = os.path.join(files, "scan_runs", "scan_state.json")
    stop, result = str(tmp_path / "stop"), str(tmp_path / "reader.json")
    env = cli_env()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, state, os.path.join(files, "scan_report.csv"),
         os.path.join(files, "scan_report.html"), stop, result, ",".join(CSV_COLUMNS)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        scan = subprocess.Popen(
            [sys.executable, "-m", "times_doctor", "scan", str(run_dir), "--gams-path",
             fake_gams_path, "--opt-dir", opt_dir, "--profiles", ",".join(names),
             "--parallel", "--max-workers", "3", "--out", out, "--yes", "--no-preflight"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        stdout, stderr = scan.communicate(timeout=300)
    finally:
        open(stop, "w").close()
        reader_out = reader.communicate(timeout=60)
    assert scan.returncode == 0, (stdout, stderr)
    assert reader.returncode == 0, reader_out
    _, rows = read_report(out)
    assert [(row["profile"], row["status"]) for row in rows] == [
        (name, "completed") for name in names]
    document = read_state(out)
    assert document["finished"] is True and document["exit_code"] == 0
    assert [job["status"] for job in document["jobs"]] == ["completed"] * RUNS
    with open(result) as handle:
        seen = json.load(handle)
    assert seen["torn_count"] == 0, seen
    assert seen["ours_failed"] == [], seen
    if os.name != "nt":
        assert seen["refused_count"] == 0, seen
    # The reader was there throughout: many reads of each file the scan wrote.
    assert seen["seen"]["state"] >= 50 and seen["seen"]["csv"] >= 10, seen
    assert seen["seen"]["state_read_state"] >= 50, seen
    assert seen["seen"]["html"] >= 1, seen
    assert b"internal error" not in stderr
    with io.open(os.path.join(files, "scan_report.csv"), newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == list(CSV_COLUMNS)
