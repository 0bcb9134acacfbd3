"""gamsinfo: GAMS's banner, licence lines and refusal reasons, from captured real output."""

import datetime
import os

from times_doctor import gamsinfo

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
