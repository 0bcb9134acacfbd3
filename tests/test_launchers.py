"""The launcher table: one row per launcher, and nothing else names one.

A launcher added as one row (here a fake one, put in the table for a test)
is chosen by --launcher, made by the scanner, reaped by ``reap`` and runs
its hidden task through the command line, without a change anywhere else.
"""

import os

import pytest

from times_doctor import cli, paths
from times_doctor.errors import UsageError
from times_doctor.job_control import JobRegistry
from times_doctor.launch import table as launchers
from times_doctor.launch.local import LocalLauncher
from times_doctor.scan.state_file import StateFileWriter

WINDOWS = os.name == "nt"


def test_every_row_is_complete_and_named_once():
    assert launchers.LAUNCHERS == ("local", "slurm")
    for name, row in launchers.LAUNCHER_TABLE.items():
        assert row.name == name and row.summary
        assert callable(row.check) and callable(row.factory)
        assert (row.reap is None) == (row.reap_label is None)
        assert (row.task_command is None) == (row.task_main is None)
        assert (row.arg_option is None) == (row.arg_help is None)
    assert launchers.entry("slurm").queues and not launchers.entry("local").queues


def test_the_local_row_makes_the_local_launcher():
    launcher = launchers.make_launcher("local", "1-1", 1, [], {})
    try:
        assert isinstance(launcher, LocalLauncher) and launcher.name == "local"
    finally:
        launcher.close()


def test_help_lists_the_launchers_of_the_table(capsys):
    with pytest.raises(SystemExit):
        cli.main(["scan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--launcher local|slurm" in text
    assert "local: this machine (default)" in text and "--slurm-arg ARG" in text


class _Fake(object):
    """A launcher of one row: what the table calls, recorded."""

    def __init__(self):
        self.calls = []

    def check(self, environ):
        self.calls.append("check")
        if environ.get("FAKE_REFUSE"):
            raise UsageError("--launcher fake needs FAKE")

    def factory(self, scan_id, threads, launcher_args, environ, batch_dir=None):
        self.calls.append(("factory", scan_id, list(launcher_args), batch_dir))
        return "a fake launcher"

    def reap(self, jobs, scan_id, uid, environ):
        self.calls.append(("reap", [job["name"] for job in jobs], scan_id))
        return ["F1"], {"other": "not ours"}

    def task_main(self, argv):
        self.calls.append(("task", list(argv)))
        return 7


@pytest.fixture
def fake_row(monkeypatch):
    fake = _Fake()
    row = launchers.LauncherEntry(
        name="fake", summary="a test's", check=fake.check, factory=fake.factory,
        reap=fake.reap, reap_label="fake job(s)", task_command="_fake-task",
        task_main=fake.task_main, queues=True, arg_option=None, arg_help=None)
    table = launchers.LAUNCHER_TABLE.copy()
    table["fake"] = row
    monkeypatch.setattr(launchers, "LAUNCHER_TABLE", table)
    monkeypatch.setattr(launchers, "LAUNCHERS", tuple(table))
    return fake


def test_one_row_is_chosen_made_and_runs_its_task(fake_row):
    assert launchers.choose_launcher(None, {"TD_LAUNCHER": "Fake"}) == "fake"
    with pytest.raises(UsageError) as info:
        launchers.choose_launcher("fake", {"FAKE_REFUSE": "1"})
    assert str(info.value) == "--launcher fake needs FAKE"
    assert launchers.make_launcher("fake", "9-9", 2, ["--x"], {}, batch_dir="/b") == \
        "a fake launcher"
    assert cli.main(["_fake-task", "spec.json"]) == 7
    assert fake_row.calls == ["check", "check", ("factory", "9-9", ["--x"], "/b"),
                              ("task", ["spec.json"])]


def test_an_unknown_launcher_names_the_table():
    with pytest.raises(UsageError) as info:
        launchers.choose_launcher("pbs", {})
    assert str(info.value) == "--launcher must be one of local|slurm, got 'pbs' (env TD_LAUNCHER)"


@pytest.mark.skipif(WINDOWS, reason="reap ends a dead scan's POSIX process groups; on Windows "
                    "a run's Job Object ends with its scanner")
def test_reap_hands_a_launchers_runs_to_its_row(fake_row, tmp_path):
    out = str(tmp_path)
    os.makedirs(paths.runs_root(out))
    registry = JobRegistry()
    for name in ("dual", "other", "gone"):
        registry.register(name, work_dir=str(tmp_path / name))
        registry.try_start(name)
    registry.update_launch("dual", "fake", job_id="F1")
    registry.update_launch("other", "fake", job_id="F2")
    registry.update_launch("gone", "retired", job_id="R1")
    StateFileWriter(paths.state_path(out), registry,
                    {"scan_id": "999-1", "report": paths.report_path(out)},
                    dict((name, {"solver": "cplex", "lst": ""})
                         for name in ("dual", "other", "gone"))).write()

    from times_doctor.remote import reap
    result = reap.reap(out, grace_seconds=0)
    assert fake_row.calls == [("reap", ["dual", "other"], "999-1")]
    assert result.launcher_cancelled == [("fake job(s)", ["F1"])]
    assert result.untouched == {"other": "not ours",
                                "gone": "launcher 'retired' is not one this times-doctor knows"}
    text = reap.describe(result)
    assert ", cancelled fake job(s) F1;" in text
    assert paths.read_state(paths.state_path(out))["schema_version"] == 2
