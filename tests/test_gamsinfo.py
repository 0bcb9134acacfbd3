"""gamsinfo: GAMS's banner, licence lines and refusal reasons, from captured real output."""

import datetime
import os
import sys
import time

import pytest

from fakes import CHILD, LEADER, OWN_PID, FakeWinApi
from times_doctor.gams import gamsinfo
from times_doctor.errors import UsageError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def read(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def test_banner_of_the_expired_real_gams():
    banner = gamsinfo.parse_banner(read("gams_expired", "noargs.txt"))
    sysdir = "/work/main/.venv/lib/python3.11/site-packages/gamspy_base/"
    assert banner == gamsinfo.Banner(
        release="54.6.1 20a39885 LEX-LEG x86 64bit/Linux", version="54.6.1",
        release_date=datetime.date(2026, 10, 24), system_dir=sysdir,
        licence_file=sysdir + "gamslice.txt",
        licence_lines=("GAMS Demo, for EULA and demo limitations see   G260530+0003Cc-GEN",
                       "https://www.gams.com/latest/docs/UG%5FLicense.html",
                       "ac4c742e-6023-4f8e", "DC0000", "v:2"),
        maintenance_date=datetime.date(2026, 6, 15), time_limit_date=datetime.date(2026, 11, 26),
        time_limit_expired=True, licence_kind="demo")


def test_banner_without_a_time_limit_or_licence():
    banner = gamsinfo.parse_banner("*** GAMS Release     : 49.1.0 abc LEX-LEG x86 64bit/Linux\n"
                                   "*** System Directory : /opt/gams/\n")
    assert banner.version == "49.1.0" and banner.system_dir == "/opt/gams/"
    assert banner.licence_file is None and banner.time_limit_date is None
    assert banner.time_limit_expired is False and banner.licence_kind is None


def test_community_licence_kind():
    banner = gamsinfo.parse_banner("*** License          : /x/gamslice.txt\n"
                                   "*** GAMS Community license for Jane Doe   G2604\n***\n")
    assert banner.licence_kind == "community"
    assert banner.licence_lines == ("GAMS Community license for Jane Doe   G2604",)


def test_not_a_banner():
    banner = gamsinfo.parse_banner("fake gams: no input file given\n")
    assert banner.release is None and banner.system_dir is None


def test_dates():
    assert gamsinfo.parse_date("*** Jun 15, 2026") == datetime.date(2026, 6, 15)
    assert gamsinfo.parse_date("stops working on : Nov 26, 2026") == datetime.date(2026, 11, 26)
    assert gamsinfo.parse_date("Feb 30, 2026") is None
    assert gamsinfo.parse_date("Foo 1, 2026") is None
    assert gamsinfo.format_date(datetime.date(2026, 11, 26)) == "Nov 26, 2026"


def test_refusal_reasons_from_real_logs():
    assert gamsinfo.refusal_reason(read("gams_expired", "job_lo3.txt").splitlines()) == \
        "Time-limited license expired 5 days ago"
    assert gamsinfo.refusal_reason(read("logs", "cplex_licence_limit_run_log.txt")
                                   .splitlines()) == \
        ("The model exceeds the demo license limits for linear models of more than 2000 "
         "rows or columns")
    assert gamsinfo.refusal_reason(["--- Job x Start", "*** Status: Normal completion"]) is None


def test_licence_arguments():
    assert gamsinfo.licence_arguments(["solvelink=0", "license=/a/b.txt", "-License=/c",
                                       "licensee=x", "license"]) == ["license=/a/b.txt",
                                                                     "-License=/c"]


def test_read_log_tail(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("".join("line %d\n" % number for number in range(10000)))
    tail = gamsinfo.read_log_tail(str(path), max_bytes=100)
    assert tail[-1] == "line 9999" and len(tail) < 15
    assert all(line.startswith("line ") for line in tail)  # the cut first line is dropped
    assert gamsinfo.read_log_tail(str(tmp_path / "none")) == []


# -- probes that never hang --------------------------------------------------------

HUNG_GAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakegams", "hung", "gams")
TIMEOUT, GRACE = 1.0, 0.5


def fake_pids(path):
    with open(path) as handle:
        return [int(pid) for line in handle for pid in line.split()]


def hung_gams(tmp_path, monkeypatch, mode):
    """Set the hung fake's mode; returns the file its pids are written to."""
    pids = str(tmp_path / "pids")
    monkeypatch.setenv("FAKE_GAMS_PIDS", pids)
    monkeypatch.setenv("FAKE_GAMS_HANG", mode)
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_probe_from_hung_ends_its_whole_tree_and_says_so(tmp_path, monkeypatch):
    """GAMS waits for a child that holds its output and ignores SIGTERM: TERM, grace, KILL."""
    from proc_helpers import is_alive
    pids = hung_gams(tmp_path, monkeypatch, "wait")
    started = time.monotonic()
    with pytest.raises(gamsinfo.GamsHungError) as caught:
        gamsinfo.run_probe(HUNG_GAMS, "cplex", timeout=TIMEOUT, grace_seconds=GRACE)
    elapsed = time.monotonic() - started
    assert str(caught.value) == "GAMS did not answer within 1 s (its process tree was ended)"
    assert caught.value.survivors == []
    assert TIMEOUT + GRACE - 0.1 <= elapsed <= TIMEOUT + GRACE + 2.0, elapsed
    assert len(fake_pids(pids)) == 2
    assert [pid for pid in fake_pids(pids) if is_alive(pid)] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_banner_from_exited_leader_whose_child_holds_the_output(tmp_path, monkeypatch):
    """GAMS exits, its child keeps the pipe open: the child is ended, the output read."""
    from proc_helpers import is_alive
    pids = hung_gams(tmp_path, monkeypatch, "exit")
    started = time.monotonic()
    returncode, output = gamsinfo.run_banner(HUNG_GAMS, timeout=30.0, grace_seconds=GRACE)
    assert time.monotonic() - started < 2.0 + 1.0  # no wait for the child: it is swept
    assert returncode == 0
    assert "--- fake: hung GAMS pid" in output
    assert [pid for pid in fake_pids(pids) if is_alive(pid)] == []


def test_probe_timeout_from_environment():
    assert gamsinfo.probe_timeout({}) == 60.0
    assert gamsinfo.probe_timeout({"TD_PROBE_TIMEOUT": " 2.5 "}) == 2.5
    for bad in ("0", "-1", "x", "inf", "nan"):
        with pytest.raises(UsageError) as caught:
            gamsinfo.probe_timeout({"TD_PROBE_TIMEOUT": bad})
        assert str(caught.value) == ("TD_PROBE_TIMEOUT=%s is not a number of seconds above 0: "
                                     "set it to e.g. 120, or unset it for 60 s" % bad)


def test_probe_not_started_is_a_run_error(tmp_path):
    with pytest.raises(gamsinfo.GamsRunError) as caught:
        gamsinfo.run_banner(str(tmp_path / "nogams"), timeout=1.0)
    assert not isinstance(caught.value, gamsinfo.GamsHungError)
    assert "could not start" in str(caught.value)


# -- the same on the Windows seam, with fakes ------------------------------------------

class PipedFakePopen(object):
    """A started "gams" for the Windows fakes: its output is a real pipe that stays
    open while any process of the fake Windows still holds it (``holders``)."""

    def __init__(self, api, pid, holders):
        self.api = api
        self.pid = pid
        self.holders = holders
        read_end, self._write_end = os.pipe()
        self.stdout = os.fdopen(read_end, "rb")
        self.returncode = None

    def poll(self):
        if self.returncode is None and not self.api.processes[self.pid].alive:
            self.returncode = 1
        if self._write_end is not None and not any(
                self.api.processes[pid].alive for pid in self.holders):
            os.close(self._write_end)
            self._write_end = None
        return self.returncode

    def wait(self):
        return self.poll()


def windows_hung_gams(leader_exits):
    """A fake Windows with GAMS (LEADER) and a child (CHILD) that ignores CTRL_BREAK."""
    from times_doctor.proc import _windows as win
    api = FakeWinApi()
    api.spawn(OWN_PID, 1, group=1, created=1)
    api.spawn(LEADER, OWN_PID, breaks=False, group=LEADER)
    groups = win.WindowsProcessGroups(api)
    started = {}

    def start_process(command, **kwargs):
        assert kwargs["creationflags"] == 0x200  # CREATE_NEW_PROCESS_GROUP, from the seam
        popen = PipedFakePopen(api, LEADER, holders=(LEADER, CHILD))
        started["popen"] = popen
        return popen

    original_attach = groups.attach

    def attach(popen, marker):
        ref = original_attach(popen, marker)
        api.spawn(CHILD, LEADER, breaks=False)  # joins the job by inheritance
        if leader_exits:
            api.processes[LEADER].alive = False
        return ref

    groups.attach = attach
    # The pipe closes once its holders are gone; the seam polls the leader often.
    return api, groups, start_process, started


@pytest.mark.parametrize("leader_exits", [False, True])
def test_windows_seam_probe_from_hung_ends_the_job(tmp_path, leader_exits):
    api, groups, start_process, started = windows_hung_gams(leader_exits)
    t0 = time.monotonic()
    if leader_exits:
        returncode, output = gamsinfo._run(["gams"], str(tmp_path), TIMEOUT, GRACE, groups,
                                           start_process=start_process)
        assert returncode == 1
    else:
        with pytest.raises(gamsinfo.GamsHungError) as caught:
            gamsinfo._run(["gams"], str(tmp_path), TIMEOUT, GRACE, groups,
                          start_process=start_process)
        assert str(caught.value) == "GAMS did not answer within 1 s (its process tree was " \
                                    "ended)"
        calls = [call[0] for call in api.calls]
        # CTRL_BREAK first (ignored), TerminateJobObject after the grace.
        assert calls.index("send_ctrl_break") < calls.index("terminate_job")
    assert time.monotonic() - t0 <= TIMEOUT + GRACE + 2.0
    assert api.alive() == [OWN_PID]
    started["popen"].poll()
    assert started["popen"]._write_end is None  # nothing holds the output any more
    assert ("close_handle", api.calls[-1][1]) == api.calls[-1]  # the job handle is closed
