"""Where a scan keeps its files under its output folder OUT.

One definition, so the scanner, the control commands, reap, status and the
dashboard can never disagree about a path:

    OUT/times_doctor_out/scan.lock
    OUT/times_doctor_out/scan_report.csv
    OUT/times_doctor_out/scan_runs/scan_state.json
    OUT/times_doctor_out/scan_runs/requests/
    OUT/times_doctor_out/scan_runs/<solver>/<profile>/
"""

OUT_FOLDER = "times_doctor_out"
RUNS_FOLDER = "scan_runs"
REPORT_NAME = "scan_report.csv"
STATE_FILE_NAME = "scan_state.json"
LOCK_NAME = "scan.lock"
REQUESTS_FOLDER = "requests"
