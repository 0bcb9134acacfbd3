"""scan_report.csv rows of runs that times-doctor ended: how they ended, never GAMS's word.

Windows' TerminateProcess (and taskkill /F, TerminateJobObject) leaves exit
code 1, which GAMS's table reads as "solver is to be called, the system
should never return this number"; a cancelled run's row said exactly that
(found on the Windows leg).  The exit code stays in gams_rc; gams_rc_meaning
says who ended the run and what the code is.
"""

import collections

import pytest

from times_doctor.proc import procgroup
from times_doctor.report.csvreport import report_row, rc_meaning
from times_doctor.states import RunStatus

Profile = collections.namedtuple("Profile", "name solver")
DUAL = Profile("dual", "cplex")


@pytest.mark.skipif(procgroup.platform_name() == "windows", reason="POSIX exit codes")
@pytest.mark.parametrize("status, returncode, meaning", [
    (RunStatus.CANCELLED, -15, "cancelled by times-doctor; GAMS was ended by signal 15 (SIGTERM)"),
    (RunStatus.CANCELLED, -9, "cancelled by times-doctor; GAMS was ended by signal 9 (SIGKILL)"),
    (RunStatus.TIMEOUT, -15,
     "stopped by times-doctor at --timeout-seconds; GAMS was ended by signal 15 (SIGTERM)"),
    (RunStatus.CANCELLED, 1,
     "cancelled by times-doctor; GAMS exited with code 1 while being ended: not a result"),
    (RunStatus.INTERRUPTED, -2, "interrupted by times-doctor; GAMS was ended by signal 2 (SIGINT)"),
])
def test_posix_row_of_a_run_times_doctor_ended(status, returncode, meaning):
    row = report_row(DUAL, status, 12.5, returncode)
    assert (row["status"], row["gams_rc"], row["gams_rc_meaning"]) == (
        status, str(returncode), meaning)


@pytest.mark.skipif(procgroup.platform_name() != "windows", reason="Windows exit codes")
@pytest.mark.parametrize("status, returncode, meaning", [
    (RunStatus.CANCELLED, 1,
     "cancelled by times-doctor; exit code 1, which ending its processes leaves "
     "(TerminateJobObject, taskkill /F, TerminateProcess): not a GAMS return code"),
    (RunStatus.TIMEOUT, 1,
     "stopped by times-doctor at --timeout-seconds; exit code 1, which ending its processes "
     "leaves (TerminateJobObject, taskkill /F, TerminateProcess): not a GAMS return code"),
    (RunStatus.CANCELLED, 0xC000013A,
     "cancelled by times-doctor; exit code 0xC000013A: it ended on CTRL_BREAK"),
    (RunStatus.CANCELLED, 3,
     "cancelled by times-doctor; GAMS exited with code 3 while being ended: not a result"),
])
def test_windows_row_of_a_run_times_doctor_ended(status, returncode, meaning):
    row = report_row(DUAL, status, 12.5, returncode)
    assert (row["status"], row["gams_rc"], row["gams_rc_meaning"]) == (
        status, str(returncode), meaning)


def test_a_run_cancelled_before_it_started_says_so():
    row = report_row(DUAL, RunStatus.CANCELLED)
    assert (row["gams_rc"], row["gams_rc_meaning"]) == (
        "", "cancelled by times-doctor before it started")


def test_an_interrupted_run_keeps_the_return_code_gams_gave_after_the_interrupt():
    assert rc_meaning(RunStatus.INTERRUPTED, 0) == (
        "interrupted by times-doctor; then GAMS returned: normal return")


@pytest.mark.parametrize("status", [RunStatus.COMPLETED, RunStatus.FAILED])
def test_a_run_that_ended_by_itself_gets_gams_meaning(status):
    assert rc_meaning(status, 0) == "normal return"
    assert rc_meaning(status, 3) == "execution error"
    assert rc_meaning(status, None) == ""


def test_a_given_reason_wins():
    row = report_row(DUAL, RunStatus.FAILED, 1.0, 7, meaning="licensing error: expired")
    assert row["gams_rc_meaning"] == "licensing error: expired"
