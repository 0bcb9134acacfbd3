"""atomic.py: the replace (and the read) that Windows refuses while the other side has the file."""

import pytest

from times_doctor import atomic
from times_doctor.proc import procgroup


class Calls(object):
    """A replace or a read that fails with *failures* first, recording its calls and sleeps."""

    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0
        self.sleeps = []

    def __call__(self, *args):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return b"read"

    def sleep(self, seconds):
        self.sleeps.append(seconds)


def held_open():
    # Windows: ERROR_ACCESS_DENIED from the replace, EACCES from an open.
    return PermissionError(13, "Access is denied")


@pytest.fixture
def windows_rules(monkeypatch):
    """What procgroup says on Windows: open files block a replace and the other way round."""
    monkeypatch.setattr(procgroup, "OPEN_FILES_BLOCK_REPLACE", True)


def test_replace_is_tried_again_while_a_reader_holds_the_file(windows_rules):
    replace = Calls([held_open(), held_open()])
    atomic.replace_retrying("new", "state.json", replace=replace, sleep=replace.sleep)
    assert replace.calls == 3
    assert replace.sleeps == list(atomic.REPLACE_PAUSES[:2])


def test_replace_gives_up_after_its_pauses_and_raises_what_windows_said(windows_rules):
    replace = Calls([held_open()] * (len(atomic.REPLACE_PAUSES) + 1))
    with pytest.raises(PermissionError):
        atomic.replace_retrying("new", "state.json", replace=replace, sleep=replace.sleep)
    assert replace.calls == len(atomic.REPLACE_PAUSES) + 1
    assert replace.sleeps == list(atomic.REPLACE_PAUSES)
    assert 0.5 <= sum(atomic.REPLACE_PAUSES) <= 1.5  # bounded: a writer waits this at most
    assert len(atomic.REPLACE_PAUSES) >= 20  # many short tries beat a reader in a tight loop


def test_read_is_tried_again_while_the_file_is_being_replaced(windows_rules, tmp_path,
                                                               monkeypatch):
    path = tmp_path / "scan_state.json"
    path.write_bytes(b"{}\n")
    real_open = open
    refusals = [held_open()]

    def opening(name, mode="r", *args):
        if refusals:
            raise refusals.pop()
        return real_open(name, mode, *args)
    monkeypatch.setattr("builtins.open", opening)
    sleeps = []
    assert atomic.read_bytes(str(path), sleep=sleeps.append) == b"{}\n"
    assert sleeps == [atomic.REPLACE_PAUSES[0]]


def test_on_posix_a_permission_error_is_raised_at_once(monkeypatch):
    monkeypatch.setattr(procgroup, "OPEN_FILES_BLOCK_REPLACE", False)
    replace = Calls([PermissionError(13, "Permission denied")])
    with pytest.raises(PermissionError):
        atomic.replace_retrying("new", "state.json", replace=replace, sleep=replace.sleep)
    assert (replace.calls, replace.sleeps) == (1, [])


def test_other_errors_are_raised_at_once(windows_rules):
    replace = Calls([FileNotFoundError(2, "No such file or directory")])
    with pytest.raises(FileNotFoundError):
        atomic.replace_retrying("new", "state.json", replace=replace, sleep=replace.sleep)
    assert (replace.calls, replace.sleeps) == (1, [])


def test_write_atomic_leaves_no_temporary_when_the_replace_gives_up(tmp_path, monkeypatch):
    target = tmp_path / "scan_report.csv"
    target.write_text("old\n")

    def refused(source, path):
        raise held_open()
    monkeypatch.setattr(atomic, "replace_retrying", refused)
    with pytest.raises(PermissionError):
        atomic.write_atomic(str(target), "new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan_report.csv"]
    assert target.read_text() == "old\n"
