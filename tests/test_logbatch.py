"""logbatch.py: which lines of a batch reach the parser, with a recording feed (no grammar)."""

import pytest

from times_doctor.solvers.log_batch import (DEFAULT_KEEP_ROWS, ROWS_AFTER_MARKER, decode_lines,
                                            feed_block, feed_lines, is_row)


def recorded(feed_batch, *args, **kwargs):
    seen = []
    feed_batch(seen.append, *args, **kwargs)
    return seen


def rows(first, last):
    return ["%4d  1.0e+00" % number for number in range(first, last + 1)]


def test_defaults_are_the_documented_ones():
    assert (ROWS_AFTER_MARKER, DEFAULT_KEEP_ROWS) == (2, 4)


@pytest.mark.parametrize("line, expected", [
    ("   12  -1.0e+03", True), ("Iteration:     7   Dual objective = 1.5", True),
    ("\t3 x", True), ("\u00b2 superscript two", True), ("", False), ("   ", False),
    ("Iteration log . . .", False), ("iteration: 3", False), ("--- LP status (1): optimal.", False),
    (" Itn      Primal Obj", False)])
def test_is_row(line, expected):
    assert is_row(line) is expected


def test_feed_lines_keeps_markers_the_rows_after_them_and_the_newest_rows():
    lines = rows(1, 10) + ["header A"] + rows(11, 20) + ["header B"] + rows(21, 22)
    assert recorded(feed_lines, lines) == (
        rows(7, 10) + ["header A"] + rows(11, 12) + rows(17, 20) + ["header B"] + rows(21, 22))


def test_feed_lines_with_keep_rows_zero_feeds_markers_and_rows_after_them():
    lines = rows(1, 5) + ["marker"] + rows(6, 12)
    assert recorded(feed_lines, lines, keep_rows=0) == ["marker"] + rows(6, 7)


@pytest.mark.parametrize("max_line_bytes", [None, 64, 4096, 10])
def test_feed_block_feeds_what_feed_lines_feeds(max_line_bytes):
    lines = rows(1, 10) + ["header A " + "x" * 80] + rows(11, 20) + ["", "header B"] + rows(21, 30)
    data = "\n".join(lines).encode("utf-8")
    assert recorded(feed_block, data, max_line_bytes) == recorded(
        feed_lines, decode_lines(data, max_line_bytes))


def test_decode_lines_cuts_each_line_and_replaces_bad_bytes():
    assert decode_lines(b"abcdef\nxy\n\xff\xfeok", 4) == ["abcd", "xy", "\ufffd\ufffdok"]
    assert decode_lines(b"abcdef\nxy", None) == ["abcdef", "xy"]
    assert decode_lines(b"", 4) == [""]
