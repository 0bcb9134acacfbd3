"""LogTail and tail_lines: only new bytes, bounded buffers, every line ending."""

import os
import random
import re
import threading
import time
import tracemalloc

import pytest

from times_doctor.errors import ParseError
from times_doctor.run.tail import LogPoller, LogTail, tail_lines

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "logs")
# LogTail opens its file on every read; under Wine each open is a round trip to the
# wineserver, so the Windows leg runs fewer of the same random trials (all of them
# run on every Linux leg).
BLOCK_TRIALS = 5 if os.name == "nt" else 40


def _append(path, data):
    with open(str(path), "ab") as stream:
        stream.write(data)


def test_read_lines_before_file_exists_returns_empty(tmp_path):
    tail = LogTail(str(tmp_path / "later.log"))
    assert tail.read_lines() == []
    assert tail.offset == 0


def test_read_lines_returns_only_new_complete_lines(tmp_path):
    path = tmp_path / "run.log"
    tail = LogTail(str(path))
    _append(path, b"first\nsec")
    assert tail.read_lines() == ["first"]
    assert tail.read_lines() == []
    _append(path, b"ond\nthird\n")
    assert tail.read_lines() == ["second", "third"]
    assert tail.offset == len(b"first\nsecond\nthird\n")


def test_read_lines_accepts_crlf_and_bare_cr(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"dos\r\nprogress 10%\rprogress 20%\rdone\n\nlast\n")
    assert LogTail(str(path)).read_lines() == [
        "dos", "progress 10%", "progress 20%", "done", "", "last"]


def test_crlf_split_between_calls_is_one_line_end(tmp_path):
    path = tmp_path / "run.log"
    tail = LogTail(str(path))
    _append(path, b"a\r")
    assert tail.read_lines() == ["a"]
    _append(path, b"\nb\n")
    assert tail.read_lines() == ["b"]


def test_crlf_split_between_chunks_is_one_line_end(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"ab\r\ncd\r\n")
    # chunk_bytes=3 puts the "\r" of the first line end at a chunk's end.
    assert LogTail(str(path), chunk_bytes=3).read_lines() == ["ab", "cd"]


def test_over_long_line_is_truncated_not_accumulated(tmp_path):
    path = tmp_path / "run.log"
    tail = LogTail(str(path), max_line_bytes=10, chunk_bytes=7)
    for _ in range(100):
        _append(path, b"x" * 1000)
        assert tail.read_lines() == []
        assert len(tail._partial) <= 10
    _append(path, b"\nnext\n")
    assert tail.read_lines() == ["x" * 10, "next"]


def test_invalid_utf8_is_replaced(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"\xff\xfe ok\n")
    assert LogTail(str(path)).read_lines() == ["\ufffd\ufffd ok"]


def test_read_lines_caps_bytes_per_call_and_reports_behind(tmp_path):
    path = tmp_path / "run.log"
    lines = ["line %04d" % i for i in range(400)]  # 10 bytes each with "\n"
    _append(path, "".join(line + "\n" for line in lines).encode())
    tail = LogTail(str(path), max_bytes_per_call=1000, chunk_bytes=64)
    first = tail.read_lines()
    assert first == lines[:100]
    assert tail.behind is True
    got = list(first)
    calls = 1
    while tail.behind:
        got.extend(tail.read_lines())
        calls += 1
    assert got == lines
    assert calls == 4
    assert tail.read_lines() == []
    assert tail.behind is False


def test_truncated_file_is_read_again_from_start(tmp_path):
    path = tmp_path / "run.log"
    tail = LogTail(str(path))
    _append(path, b"old line one\nold line two\n")
    assert len(tail.read_lines()) == 2
    with open(str(path), "wb") as stream:
        stream.write(b"new\n")
    assert tail.read_lines() == ["new"]


@pytest.mark.skipif(os.name != "posix", reason="replacing an open file needs POSIX rename")
def test_replaced_file_is_read_from_start(tmp_path):
    path = tmp_path / "run.log"
    tail = LogTail(str(path))
    _append(path, b"one\n")
    assert tail.read_lines() == ["one"]
    other = tmp_path / "rotated.log"
    _append(other, b"fresh one\nfresh two\n")  # longer than what was read
    os.replace(str(other), str(path))
    assert tail.read_lines() == ["fresh one", "fresh two"]


def test_final_returns_the_unterminated_last_line(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"a\nno newline")
    tail = LogTail(str(path))
    assert tail.read_lines() == ["a"]
    assert tail.read_lines(final=True) == ["no newline"]
    assert tail.read_lines(final=True) == []


def test_close_drops_buffer_and_stops_reading(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"a\npartial")
    tail = LogTail(str(path))
    tail.read_lines()
    tail.close()
    tail.close()  # idempotent
    _append(path, b"\nmore\n")
    assert tail.read_lines() == []
    assert len(tail._partial) == 0


def test_unreadable_path_raises_parse_error_naming_it(tmp_path):
    with pytest.raises(ParseError) as info:
        LogTail(str(tmp_path)).read_lines()  # a directory
    assert str(tmp_path) in str(info.value)


def test_sizes_must_be_positive(tmp_path):
    with pytest.raises(ValueError):
        LogTail(str(tmp_path / "x"), max_line_bytes=0)


def test_real_fixture_read_in_small_steps_matches_whole_read(tmp_path):
    with open(os.path.join(FIXTURES, "cplex_barrier_crossover_run_log.txt"), "rb") as stream:
        data = stream.read()
    path = tmp_path / "run.log"
    tail = LogTail(str(path))
    got = []
    rng = random.Random(7)
    position = 0
    while position < len(data):
        step = rng.randint(1, 300)
        _append(path, data[position:position + step])
        position += step
        got.extend(tail.read_lines())
    assert got == data.decode("utf-8").splitlines()


def test_fuzz_random_bytes_and_line_ends_match_reference(tmp_path):
    rng = random.Random(12345)
    pieces = [b"\n", b"\r", b"\r\n", b"abc", b"\xff", b"\xe2\x82", b"\xac", b"x" * 50, b" "]
    data = b"".join(rng.choice(pieces) for _ in range(20000))
    max_line = 32
    path = tmp_path / "fuzz.log"
    tail = LogTail(str(path), max_line_bytes=max_line, chunk_bytes=13, max_bytes_per_call=97)
    got = []
    position = 0
    while position < len(data):
        step = rng.randint(1, 200)
        _append(path, data[position:position + step])
        position += step
        got.extend(tail.read_lines())
        assert len(tail._partial) <= max_line
    while tail.behind:
        got.extend(tail.read_lines())
    got.extend(tail.read_lines(final=True))
    reference = re.split(b"\r\n|\r|\n", data)
    if reference[-1] == b"":
        reference.pop()
    assert got == [p[:max_line].decode("utf-8", "replace") for p in reference]


def test_memory_stays_bounded_for_a_huge_single_line(tmp_path):
    path = tmp_path / "huge.log"
    block = b"y" * (1024 * 1024)
    with open(str(path), "wb") as stream:
        for _ in range(20):
            stream.write(block)
        stream.write(b"\nend\n")
    tail = LogTail(str(path))
    tracemalloc.start()
    try:
        got = []
        while True:
            got.extend(tail.read_lines())
            if not tail.behind:
                break
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == ["y" * 65536, "end"]
    # 64 KiB chunks, a 64 KiB line and its decoded copy: far below the 20 MB read.
    assert peak < 2 * 1024 * 1024


def test_tail_lines_returns_last_n(tmp_path):
    path = tmp_path / "run.log"
    _append(path, "".join("line %d\n" % i for i in range(1000)).encode())
    assert tail_lines(str(path), 3) == ["line 997", "line 998", "line 999"]
    assert tail_lines(str(path), 0) == []


def test_tail_lines_short_file_and_crlf(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"a\r\nb\r\nc")
    assert tail_lines(str(path), 10) == ["a", "b", "c"]
    assert tail_lines(str(path), 2) == ["b", "c"]


def test_tail_lines_crlf_file_counts_each_line_once(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"".join(b"row %d\r\n" % i for i in range(50)))
    assert tail_lines(str(path), 20) == ["row %d" % i for i in range(30, 50)]


def test_tail_lines_reads_at_most_max_bytes(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"".join(b"%04d" % i + b"z" * 995 + b"\n" for i in range(10)))
    lines = tail_lines(str(path), 100, max_bytes=2500)
    # 2500 bytes reach into the third line from the end: it is cut, so left out.
    assert [line[:4] for line in lines] == ["0008", "0009"]


def test_tail_lines_single_huge_line_returns_its_end(tmp_path):
    path = tmp_path / "run.log"
    _append(path, b"q" * 100000)
    assert tail_lines(str(path), 5, max_bytes=1000) == ["q" * 1000]


def test_tail_lines_missing_file_is_empty(tmp_path):
    assert tail_lines(str(tmp_path / "none.log"), 5) == []


def test_tail_lines_unreadable_raises_parse_error(tmp_path):
    with pytest.raises(ParseError) as info:
        tail_lines(str(tmp_path), 5)
    assert str(tmp_path) in str(info.value)


def test_tail_lines_of_real_log(tmp_path):
    lines = tail_lines(os.path.join(FIXTURES, "cplex_dual_run_log.txt"), 3)
    assert lines[:2] == ["--- Reading solution for model randlp", "*** Status: Normal completion"]
    assert lines[2].startswith("--- Job randlp.gms Stop ")
    assert len(lines) == 3


def test_read_block_holds_the_lines_read_lines_returns(tmp_path):
    """Same appends, two tails: the block, cut and decoded, is what read_lines gives."""
    import random
    from times_doctor.solvers.log_batch import decode_lines
    rng = random.Random(14)
    pieces = [b"row 1\n", b"\r\n", b"\r", b"\n", b"x" * 300, b"\xff\xfe\xc3", b"\xc3\xa9",
              b"Iteration: 5\r\n", b"   12 3.0\n", b""]
    for trial in range(BLOCK_TRIALS):
        path = str(tmp_path / ("log%d.txt" % trial))
        open(path, "wb").close()
        settings = dict(max_line_bytes=rng.choice([1, 64, 100, 65536]),
                        max_bytes_per_call=rng.choice([7, 100, 4096]),
                        chunk_bytes=rng.choice([1, 5, 64, 65536]))
        by_lines, by_block = LogTail(path, **settings), LogTail(path, **settings)
        got_lines, got_block = [], []
        for step in range(30):
            with open(path, "ab") as handle:
                handle.write(b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 20))))
            final = step == 29
            while True:
                got_lines.extend(by_lines.read_lines(final=final))
                block = by_block.read_block(final=final)
                if block is not None:
                    got_block.extend(decode_lines(block, by_block.max_line_bytes))
                assert by_lines.behind == by_block.behind
                if not by_lines.behind:
                    break
        assert got_block == got_lines
        assert by_block.read_block() is None


# -- LogPoller: one thread reads every registered log ------------------------------

def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in %g s" % timeout
        time.sleep(0.005)


def test_poller_calls_every_reader_each_pass_on_one_thread():
    poller = LogPoller(0.01)
    seen = {"a": [], "b": []}
    try:
        poller.add("a", lambda: seen["a"].append(threading.current_thread().name))
        poller.add("b", lambda: seen["b"].append(threading.current_thread().name))
        _wait(lambda: len(seen["a"]) >= 3 and len(seen["b"]) >= 3)
    finally:
        poller.stop()
    assert set(seen["a"]) == set(seen["b"]) == {"td-logs"}


def test_poller_remove_waits_for_a_running_read_and_it_never_runs_again():
    poller = LogPoller(0.01)
    entered, release = threading.Event(), threading.Event()
    calls = []

    def slow_read():
        calls.append("start")
        entered.set()
        release.wait(5)
        calls.append("end")
    poller.add("slow", slow_read)
    try:
        assert entered.wait(5)
        removed = []
        remover = threading.Thread(target=lambda: removed.append(poller.remove("slow")))
        remover.start()
        time.sleep(0.05)
        assert removed == []  # still inside the read
        release.set()
        remover.join(5)
        assert removed == [None] and calls[-1] == "end"
        count = len(calls)
        time.sleep(0.05)  # five more intervals
        assert len(calls) == count
    finally:
        release.set()
        poller.stop()


def test_poller_hands_a_readers_error_to_remove_and_goes_on_with_the_others():
    poller = LogPoller(0.01)
    good = []

    def broken():
        raise KeyError("bug in a reader")
    try:
        poller.add("broken", broken)
        poller.add("good", lambda: good.append(1))
        _wait(lambda: len(good) >= 3)
        error = poller.remove("broken")
        assert isinstance(error, KeyError) and "bug in a reader" in str(error)
        assert poller.remove("broken") is None  # handed over once
    finally:
        poller.stop()


def test_poller_stop_is_idempotent_and_refuses_later_adds():
    poller = LogPoller(0.01)
    poller.stop()  # never started: nothing to join
    with pytest.raises(RuntimeError):
        poller.add("late", lambda: None)
    poller.stop()


def test_poller_feeds_a_growing_log_like_a_worker_would(tmp_path):
    """Through LogTail: every line reaches the reader once, in order."""
    path = tmp_path / "run.log"
    tail = LogTail(str(path))
    got = []
    poller = LogPoller(0.01)
    poller.add("run", lambda: got.extend(tail.read_lines()))
    try:
        for index in range(50):
            _append(path, ("line %d\n" % index).encode())
            time.sleep(0.001)
        _wait(lambda: len(got) == 50)
    finally:
        assert poller.remove("run") is None
        poller.stop()
    assert got == ["line %d" % index for index in range(50)]


def test_poller_interval_must_be_positive():
    with pytest.raises(ValueError):
        LogPoller(0)
