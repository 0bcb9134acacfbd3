"""Bad input, fuzzed: the parsers and the menu against truncated, binary, huge-line and
non-UTF-8 input (stdlib ``random``, fixed seeds, so a failure replays exactly).

The promises checked:
- parse_lst, SolverLogParser, LogTail, read_option_file and parse_selection raise
  nothing but times_doctor.errors.ParseError (read_option_file: ProfileError, the
  UsageError its callers expect, and only for what is no file or over 1 MiB);
- the option check (optdef.check_option_lines) turns any option file content into
  findings, never an exception: odd values, random bytes, NUL, invalid UTF-8, CRLF,
  a 1 MB line, an empty file;
- they never hang: every loop runs under a SIGALRM deadline, so a hang is a failure
  that names the input, not a stuck test run;
- memory stays bounded by a line (or LogTail's per-call cap), not by the input:
  tracemalloc's peak while streaming a 50 MB file stays under a fixed bound;
- the menu, fed random bytes through a real pty, never crashes and cancels exactly
  the runs the typed line selects (the oracle is parse_selection on the same text).
"""

import contextlib
import json
import os
import random
import re
import signal
import sys
import tracemalloc

import pytest

import optdef_lines
from times_doctor.solvers import optdef
from times_doctor.term import menu
from times_doctor.errors import ParseError, ProfileError
from times_doctor.solvers.table import SolverLogParser
from times_doctor.run.tail import LogTail, tail_lines
from times_doctor.gams.lst import parse_lst
from times_doctor.solvers.profiles import read_option_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")

MB = 1024 * 1024
# LogTail opens its file on every read; under Wine each open is a round trip to the
# wineserver (about a millisecond), so the Windows leg runs fewer of the same random
# append cases (all of them run on every Linux leg).
APPEND_CASES = 8 if os.name == "nt" else 60

# Words the parsers look for, so random lines get past their cheap prefix tests.
KEYWORDS = [
    "**** SOLVER STATUS", "**** MODEL STATUS", "**** OBJECTIVE VALUE", "S O L V E      S U M M A R Y",
    "RESOURCE USAGE, LIMIT", "ITERATION COUNT, LIMIT", "--- LP status (1): optimal.",
    "--- MIP status (101):", "Matrix    [min, max] : [", "Iteration:", "Dual objective     =",
    "Primal objective", "Itn", "Primal Obj", "Dual Obj", "Prim Inf", "Upper Inf", "Dual Inf",
    "Inf Ratio", "Barrier", "Crossover", "Sifting", "Elapsed", "Nodes", "Cuts/", "Best Integer",
    "Gap", "--- Executing CPLEX", "--- Executing GUROBI", "--- Reading solution", "*** Status:",
    "Optimize a model with", "Presolve", "Root relaxation", "Explored", "Optimal solution found",
    "Concurrent", "Dual Phase", "Primal Phase", "Total", "Ticks", "Solution", "Incumbent",
    "Starting dual crossover", "Dual push", "Primal push", "Solve interrupted", "Time limit reached",
    "Model is infeasible", "Tried aggregator", "Reduced LP has", "Number of nonzeros",
]
NUMBERS = ["0", "-0", "1", "153.6750", "1.260E-01", "1e309", "-1e309", "nan", "inf", "-inf",
           "NA", "+INF", "1e-400", "99999999999999999999999999", "1.", ".5", "-", "+", "e5",
           "1,000", "12%", "100.00%", "-1.#IND", "0x1p3", "\u0661\u0662", "\u00b2", "1_000"]
JUNK = [b"\xff", b"\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\x1b[2J",
        b"\r", b"\r\n", b"\t", b"\xe2\x82", b"\xef\xbb\xbf", b"\x0c", b"\x85"]


@contextlib.contextmanager
def deadline(seconds, what):
    """Fail (not hang) when the block takes longer than *seconds* (main thread, POSIX)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(signum, frame):
        raise AssertionError("no answer within %ds: %s (a hang)" % (seconds, what()))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fixture_files(kind):
    folder = os.path.join(FIXTURES, kind)
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))]


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def random_line(rng, max_len=200):
    """A line made of keywords, numbers, spaces and junk bytes (no line end)."""
    parts = []
    for _ in range(rng.randint(0, 12)):
        pick = rng.random()
        if pick < 0.35:
            parts.append(rng.choice(KEYWORDS).encode())
        elif pick < 0.7:
            parts.append(rng.choice(NUMBERS).encode("utf-8"))
        elif pick < 0.85:
            parts.append(b" " * rng.randint(1, 20))
        elif pick < 0.95:
            parts.append(rng.choice(JUNK))
        else:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))))
    return b"".join(parts)[:max_len]


def mutate(rng, data):
    """Truncate, splice, flip bytes, insert junk or a huge line into *data*."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        at = rng.randint(0, len(data)) if data else 0
        if choice < 0.2:
            del data[at:]                                    # truncated
        elif choice < 0.4:
            data[at:at] = random_line(rng) + rng.choice([b"\n", b"\r\n", b"\r", b""])
        elif choice < 0.55 and data:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)   # bit rot
        elif choice < 0.65:
            data[at:at] = rng.choice(JUNK) * rng.randint(1, 50)
        elif choice < 0.75:
            # A huge line: longer than every parser's line bound.
            data[at:at] = rng.choice([b"x", b"\xff", b"1 ", b"**** "]) * rng.randint(70000, 200000)
        elif choice < 0.85 and data:
            start = rng.randrange(len(data))
            data[at:at] = data[start:start + rng.randint(1, 5000)]   # spliced copy
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))
    return bytes(data)


def written(path, inputs, current):
    """Each input written to *path* (and kept in current["input"] for a hang's message)."""
    for data in inputs:
        current["input"] = data
        with open(path, "wb") as handle:
            handle.write(data)
        yield data


def fuzz_inputs(rng, seeds, count):
    """*count* inputs: mutated seed files, pure binary, keyword soup, empty."""
    for index in range(count):
        pick = index % 5
        if pick == 0:
            yield b""
        elif pick == 1:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(1, 4000)))
        elif pick == 2:
            yield b"\n".join(random_line(rng) for _ in range(rng.randint(1, 200)))
        else:
            yield mutate(rng, read_bytes(rng.choice(seeds)))


# -- parse_lst ---------------------------------------------------------------------

def test_parse_lst_fuzz_raises_only_parse_error(tmp_path):
    rng = random.Random(20261124)
    seeds = fixture_files("lst")
    path = str(tmp_path / "fuzz.lst")
    current = {"input": None}
    with deadline(120, lambda: "parse_lst on input %r..." % current["input"][:80]):
        for _ in written(path, fuzz_inputs(rng, seeds, 150), current):
            try:
                result = parse_lst(path)
            except ParseError:
                continue
            for value in (result.objective, result.solver_time, result.matrix_min,
                          result.matrix_max):
                assert value is None or isinstance(value, float)
            assert result.iterations is None or isinstance(result.iterations, int)
            for text in (result.solver_status, result.model_status, result.lp_status):
                assert text is None or isinstance(text, str)


def test_parse_lst_unreadable_paths_raise_parse_error(tmp_path):
    for path in (str(tmp_path / "missing.lst"), str(tmp_path)):
        with pytest.raises(ParseError):
            parse_lst(path)


def test_parse_lst_memory_is_one_line_on_a_50mb_listing(tmp_path):
    path = str(tmp_path / "huge.lst")
    write_big_file(path, 50 * MB, random.Random(7))
    with bounded_memory(2 * MB, "parse_lst of a 50 MB listing"):  # measured: 0.3 MB
        with deadline(120, lambda: "parse_lst of a 50 MB listing"):
            result = parse_lst(path)
    assert result.objective == 153.675  # the last solve summary, after all the junk


# -- SolverLogParser -----------------------------------------------------------------

@pytest.mark.parametrize("solver", ["cplex", "gurobi"])
def test_log_parser_fuzz_never_raises(solver):
    rng = random.Random(1 if solver == "cplex" else 2)
    seeds = fixture_files("logs")
    current = {"line": None}
    with deadline(120, lambda: "SolverLogParser(%s).feed(%r...)" % (solver, current["line"])):
        for data in fuzz_inputs(rng, seeds, 120):
            parser = SolverLogParser(solver)
            lines = re.split(b"\r\n|\r|\n", data)
            if rng.random() < 0.5:
                for raw in lines:
                    current["line"] = raw[:80]
                    # Decoded like LogTail does, and sometimes raw bytes (also accepted).
                    parser.feed(raw if rng.random() < 0.2 else raw.decode("utf-8", "replace"))
            else:
                current["line"] = "feed_lines batch of %d" % len(lines)
                parser.feed_lines([raw.decode("utf-8", "replace") for raw in lines],
                                  keep_rows=rng.randint(0, 40))
            check_snapshot(parser)


def check_snapshot(parser):
    snap = parser.snapshot()
    assert isinstance(snap.phase, str) and isinstance(snap.details, str)
    assert snap.iteration is None or isinstance(snap.iteration, int)
    assert snap.progress is None or 0.0 <= snap.progress <= 1.0, snap
    assert snap.objective is None or isinstance(snap.objective, float)
    assert len(parser.history()) <= parser.history_size + 1


def test_log_parser_odd_values_never_raise():
    for solver in ("cplex", "gurobi"):
        parser = SolverLogParser(solver)
        for value in (None, 42, 3.5, b"\xff" * 10, bytearray(b"Iteration: 1"), "\x00" * 5000,
                      "\ud800 lone surrogate", "Iteration: " + "9" * 5000, " " * 100000):
            parser.feed(value)
        check_snapshot(parser)


@pytest.mark.parametrize("solver", ["cplex", "gurobi"])
def test_log_parser_memory_is_bounded_on_a_50mb_log(tmp_path, solver):
    """A 50 MB log streamed through LogTail into the parser: memory of a batch, not the log."""
    path = str(tmp_path / "huge_run_log.txt")
    write_big_log(path, 50 * MB, solver, random.Random(11))
    tail = LogTail(path, max_bytes_per_call=256 * 1024)
    parser = SolverLogParser(solver)
    # measured: 1.7 MB (the 256 kB batches, the parser's bounded history)
    with bounded_memory(4 * MB, "LogTail + SolverLogParser(%s) over 50 MB" % solver):
        with deadline(240, lambda: "parsing a 50 MB %s log" % solver):
            while True:
                lines = tail.read_lines()
                if not lines and not tail.behind:
                    break
                parser.feed_lines(lines)
    check_snapshot(parser)
    assert parser.snapshot().iteration is not None


# -- LogTail ---------------------------------------------------------------------------

def oracle_lines(data, max_line_bytes):
    """What LogTail must return for *data* read in any pieces (append-only, final=True)."""
    pieces = re.split(b"\r\n|\r|\n", data)
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return [piece[:max_line_bytes].decode("utf-8", "replace") for piece in pieces]


def test_logtail_fuzz_appends_match_the_oracle(tmp_path):
    """Append-only growth in random pieces gives exactly the lines of the whole file."""
    rng = random.Random(4242)
    seeds = fixture_files("logs")
    current = {"case": None}
    with deadline(120, lambda: "LogTail case %r" % (current["case"],)):
        for case in range(APPEND_CASES):
            path = str(tmp_path / ("append-%d.log" % case))
            data = next(fuzz_inputs(rng, seeds, 5 - case % 5 if case % 5 else 1))
            data = mutate(rng, data) if rng.random() < 0.5 else data
            max_line = rng.choice([1, 7, 100, 4096, 65536])
            tail = LogTail(path, max_line_bytes=max_line,
                           max_bytes_per_call=rng.choice([1, 13, 1000, 65536, 4 * MB]),
                           chunk_bytes=rng.choice([1, 5, 64, 65536]))
            current["case"] = (case, len(data), max_line)
            got = []
            written = 0
            with open(path, "wb") as handle:
                while written < len(data):
                    step = rng.choice([1, 2, 3, 50, 1000, 100000])
                    handle.write(data[written:written + step])
                    handle.flush()
                    written += step
                    if rng.random() < 0.7:
                        got += drain(tail)
            got += drain(tail, final=True)
            assert got == oracle_lines(data, max_line), current["case"]


def drain(tail, final=False):
    lines = []
    for _ in range(10 ** 6):
        batch = tail.read_lines(final=final and not tail.behind)
        for line in batch:
            assert isinstance(line, str) and "\n" not in line and "\r" not in line
            assert len(line) <= tail.max_line_bytes
        lines += batch
        if not tail.behind:
            if final:
                lines += tail.read_lines(final=True)
            return lines
    raise AssertionError("LogTail never caught up")


def test_logtail_final_read_while_behind_keeps_a_line_whole(tmp_path):
    """Regression (found by the oracle above): read_lines(final=True) while the per-call
    cap left bytes unread returned the partial line at the cut, splitting one line in
    two; the runner's last drain after GAMS exits loops exactly like this."""
    path = str(tmp_path / "cut.log")
    with open(path, "wb") as handle:
        handle.write(b"first\nsecond line without an end")
    tail = LogTail(path, max_bytes_per_call=10)
    got = []
    while True:
        got += tail.read_lines(final=True)
        if not tail.behind:
            break
    assert got == ["first", "second line without an end"]


def test_logtail_fuzz_truncation_replacement_deletion(tmp_path):
    """Any mix of appends, truncations, replacements and deletions: only ParseError."""
    rng = random.Random(777)
    path = str(tmp_path / "rot.log")
    current = {"op": None}
    with deadline(120, lambda: "LogTail after %r" % (current["op"],)):
        for case in range(30):
            tail = LogTail(path, max_line_bytes=rng.choice([3, 100, 65536]),
                           max_bytes_per_call=rng.choice([10, 4096, 4 * MB]),
                           chunk_bytes=rng.choice([1, 7, 65536]))
            for step in range(40):
                op = rng.choice(["append", "append", "append", "truncate", "replace", "delete",
                                 "dir"])
                current["op"] = (case, step, op)
                if op == "append":
                    with open(path, "ab") as handle:
                        handle.write(random_line(rng, 5000) + rng.choice([b"\n", b"\r", b""]))
                elif op == "truncate" and os.path.isfile(path):
                    with open(path, "r+b") as handle:
                        handle.truncate(rng.randint(0, os.path.getsize(path)))
                elif op == "replace":
                    with open(path + ".new", "wb") as handle:
                        handle.write(random_line(rng) + b"\n")
                    os.replace(path + ".new", path)
                elif op in ("delete", "dir"):
                    if os.path.isdir(path):
                        os.rmdir(path)
                    elif os.path.exists(path):
                        os.remove(path)
                    if op == "dir":
                        os.mkdir(path)  # reading a directory: an OSError -> ParseError
                try:
                    for line in tail.read_lines(final=rng.random() < 0.2):
                        assert isinstance(line, str)
                    assert all(isinstance(line, str) for line in tail_lines(path, rng.randint(0, 5)))
                except ParseError:
                    pass
                if os.path.isdir(path):
                    os.rmdir(path)
            tail.close()
            assert tail.read_lines() == []


def test_logtail_memory_is_bounded_on_a_50mb_log_of_huge_lines(tmp_path):
    """100 kB lines with invalid UTF-8, and one 10 MB line with no end."""
    path = str(tmp_path / "huge.log")
    unit = b"CPLEX \xff\xfe \xc0 log line "
    line = (unit * (100 * 1024 // len(unit) + 1))[:100 * 1024 - 1] + b"\n"
    with open(path, "wb") as handle:
        for _ in range(40 * MB // len(line)):
            handle.write(line)
        handle.write(b"\xff" * (10 * MB))  # a runaway line without a newline
    size = os.path.getsize(path)
    assert size > 45 * MB
    # Default settings: memory scales with the per-call cap (4 MiB), never with the file.
    # (measured: 1.0 MB and 10.5 MB; a whole-file reader would need 50 MB and more)
    for max_per_call, bound in ((256 * 1024, 3 * MB), (None, 4 * 4 * MB)):
        tail = (LogTail(path) if max_per_call is None
                else LogTail(path, max_bytes_per_call=max_per_call))
        count = 0
        with bounded_memory(bound, "LogTail(max_bytes_per_call=%s) over 50 MB" % max_per_call):
            with deadline(120, lambda: "LogTail over 50 MB"):
                while True:
                    lines = tail.read_lines()
                    count += len(lines)
                    for text in lines:
                        assert len(text) <= tail.max_line_bytes
                    if not lines and not tail.behind:
                        break
                last = tail.read_lines(final=True)
        assert tail.offset == size
        assert count == 40 * MB // len(line)
        assert len(last) == 1 and len(last[0]) == tail.max_line_bytes


# -- read_option_file ----------------------------------------------------------------

def test_read_option_file_fuzz_raises_only_profile_error(tmp_path):
    rng = random.Random(99)
    seeds = [path for path in fixture_files("logs")[:3]]
    opt_seed = str(tmp_path / "seed.opt")
    with open(opt_seed, "wb") as handle:
        handle.write(b"\xef\xbb\xbf* comment\r\nlpmethod 4\rthreads 7\nsolutiontype 2\n"
                     b"barepcomp 1e-8\n")
    seeds.append(opt_seed)
    path = str(tmp_path / "fuzz.opt")
    current = {"input": None}
    with deadline(120, lambda: "read_option_file on %r..." % current["input"][:80]):
        for data in fuzz_inputs(rng, seeds, 200):
            current["input"] = data
            with open(path, "wb") as handle:
                handle.write(data)
            try:
                lines = read_option_file(path)
            except (ProfileError, ParseError):
                continue
            assert all(isinstance(line, str) and "\n" not in line and "\r" not in line
                       for line in lines)


def test_read_option_file_50mb_and_odd_paths(tmp_path):
    big = str(tmp_path / "big.opt")
    write_big_file(big, 50 * MB, random.Random(3))
    with bounded_memory(2 * MB, "read_option_file of 50 MB"):
        with pytest.raises(ProfileError):
            read_option_file(big)
    just_over = str(tmp_path / "just_over.opt")
    with open(just_over, "wb") as handle:
        handle.write(b"threads 1\n" * (MB // 10 + 1))
    with pytest.raises(ProfileError):
        read_option_file(just_over)
    for path in (str(tmp_path / "missing.opt"), str(tmp_path), "/dev/null", "bad\x1bname.opt"):
        try:
            assert read_option_file(path) == []  # /dev/null: not a regular file either
        except ProfileError:
            pass


# -- option files through the option check (optdef, check) -------------------------------

STANDIN_DEFS = os.path.join(HERE, "gams_standin")
ODD_VALUES = optdef_lines.NUMBERS + optdef_lines.BOOLEAN_WORDS + optdef_lines.WORDS + [
    "\x00", "\udce9\udcff", "\ud800", "1" * 5000, "0x" + "f" * 3000, "1e" + "9" * 3000,
    "-" * 2000, '"' * 7, "." * 300, "\u00e9" * 600]


def option_file_inputs(rng, count):
    """Option files: generated lines, odd values, random bytes, NUL, bad UTF-8, CRLF, huge."""
    defs = optdef.read_def_file(os.path.join(STANDIN_DEFS, "optcplex.def"))
    names = list(defs.options)[:60] + ["threads", "lpmethod", "indic", "x.lazy", "nobounds"]
    for index in range(count):
        pick = index % 6
        if pick == 0:
            files, _ = optdef_lines.files_for(defs, rng, 20)
            yield files[0]
        elif pick == 1:
            lines = ["%s%s%s" % (rng.choice(names), rng.choice([" ", "=", "", "\t", ":="]),
                                 rng.choice(ODD_VALUES)) for _ in range(rng.randint(1, 30))]
            # surrogatepass: lone surrogates become the (invalid UTF-8) bytes they stand for.
            yield "\r\n".join(lines).encode("utf-8", "surrogatepass")
        elif pick == 2:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000)))
        elif pick == 3:
            yield b"\n".join(random_line(rng) for _ in range(rng.randint(0, 100)))
        elif pick == 4:
            yield rng.choice([b"", b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff\xfe",
                              b"lpmethod " + b"9" * (MB - 20), b"x" * MB])
        else:
            yield mutate(rng, b"lpmethod 4\nthreads 7\nindic c(i)$b(i) 1\nx.lazy 1\n")


@pytest.mark.parametrize("solver", ["cplex", "gurobi"])
def test_option_check_fuzz_never_raises(tmp_path, solver):
    """Any option file content gets findings, never an exception (read, then checked)."""
    rng = random.Random(1919 if solver == "cplex" else 2020)
    defs = optdef.read_def_file(os.path.join(STANDIN_DEFS, "opt%s.def" % solver))
    path = str(tmp_path / "fuzz.opt")
    current = {"input": None}
    with deadline(240, lambda: "check_option_lines on %r..." % current["input"][:80]):
        for data in written(path, option_file_inputs(rng, 300), current):
            try:
                lines = read_option_file(path)
            except ProfileError:
                assert len(data) > 1024 * 1024, data[:80]
                continue
            findings = optdef.check_option_lines(lines, defs, solver.upper(),
                                                 threads_line="threads 7")
            for finding in findings:
                assert finding.severity in (optdef.ERROR, optdef.WARNING)
                assert 1 <= finding.line <= len(lines)
                assert all(" " <= char <= "~" for char in finding.message), finding
                assert len(finding.message) < 600


def test_option_check_of_odd_paths_is_one_line(tmp_path):
    """A folder where an option file was expected: a one-line ProfileError; a def file
    that is a folder: the check says it and skips that solver."""
    folder = tmp_path / "x.opt"
    folder.mkdir()
    with pytest.raises(ProfileError) as caught:
        read_option_file(str(folder))
    assert "is not a regular file" in str(caught.value)
    (tmp_path / "optcplex.def").mkdir()
    from times_doctor.scan import check
    assert check._load_defs(str(tmp_path / "optcplex.def")) == \
        "no optcplex.def in the GAMS system directory"
    with pytest.raises(optdef.ParseError):
        optdef.read_def_file(str(tmp_path / "optcplex.def"))


# -- parse_selection -------------------------------------------------------------------

NAME_POOL = ["dual", "primal", "sift", "bar", "bar_nox", "concurrent", "cplex:dual",
             "gurobi:dual", "1-2", "3", "Dual", "DUAL", "a,b", " spaced ", "", "\u00e9t\u00e9",
             "\u0661", "x" * 300]
SELECTION_TOKENS = ["1", "2", "3", "4", "0", "-1", "1-3", "2-2", "3-1", "1-", "-", "1--2",
                    "99999999999999999999", "1-99999999999", "9" * 5000, "1-" + "9" * 5000,
                    "\u00b2", "\u0661", "\u0661-\u0662", "\U0001d7cf", "\u2167", "\u00bd",
                    "\uff11", "1\u00a0", "\x00", "\ufffd", "dual", "DUAL", "bar_nox", " ", "\t",
                    "all", "*", "a,b", "1,2", ",,,"]


def random_selection_text(rng, names):
    tokens = []
    for _ in range(rng.randint(0, 6)):
        pick = rng.random()
        if pick < 0.3 and names:
            name = rng.choice(names)
            tokens.append(name.upper() if rng.random() < 0.3 else name)
        elif pick < 0.8:
            tokens.append(rng.choice(SELECTION_TOKENS))
        else:
            tokens.append(random_line(rng, 40).decode("utf-8", "replace"))
    separators = [",", ", ", " ,", ",,", " "]
    return "".join(token + rng.choice(separators) for token in tokens)


def test_parse_selection_fuzz_raises_only_selection_error():
    rng = random.Random(31337)
    current = {"case": None}
    with deadline(60, lambda: "parse_selection%r" % (current["case"],)):
        for _ in range(20000):
            names = rng.sample(NAME_POOL, rng.randint(0, 8))
            text = random_selection_text(rng, names)
            current["case"] = (text[:200], names)
            try:
                chosen = menu.parse_selection(text, names)
            except menu.SelectionError as exc:
                assert isinstance(exc, ParseError)
                assert "no run matches" in str(exc)
                continue
            assert all(name in names for name in chosen)
            assert len(set(chosen)) == len(chosen)
            assert chosen == [name for name in names if name in chosen]


@pytest.mark.parametrize("text", ["\u00b2", "1,\u00b3", "\u2167", "\u00bd",
                                  "9" * 5000, "1-" + "9" * 5000, "9" * 5000 + "-1"])
def test_parse_selection_odd_digits_are_selection_errors(text):
    """Regression: str.isdigit() is true for superscripts ("²") and int() refused them,
    and int() refuses more than 4300 digits on newer Pythons: both were a ValueError,
    which crashed the scanner when typed into the menu (exit 70)."""
    with pytest.raises(menu.SelectionError):
        menu.parse_selection(text, ["dual", "primal", "sift"])


# -- helpers for big files and memory ------------------------------------------------

@contextlib.contextmanager
def bounded_memory(limit_bytes, what):
    """Fail when the block's peak Python allocation (tracemalloc) exceeds *limit_bytes*."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.clear_traces()
    start, _ = tracemalloc.get_traced_memory()
    if hasattr(tracemalloc, "reset_peak"):
        tracemalloc.reset_peak()
    else:
        # Python < 3.9: no reset_peak(); clear_traces() above also reset the peak.
        pass
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    grown = peak - start
    assert grown < limit_bytes, "%s: peak %.1f MB > %.1f MB" % (what, grown / MB, limit_bytes / MB)


def write_big_file(path, size, rng):
    """A listing-like file of *size* bytes: normal lines, 100 kB lines with invalid UTF-8,
    a few multi-MB lines, and a solve summary at the end."""
    unit = b"----   1234 equation listing \xff\xfe\xc0 "
    long_line = (unit * (100 * 1024 // len(unit) + 1))[:100 * 1024 - 1] + b"\n"
    short = b"  row.x(\"r1\")   1.000   +INF   0.000\n" * 200
    huge = b"\xff" * (3 * MB) + b"\n"
    summary = (b"               S O L V E      S U M M A R Y\n"
               b"**** SOLVER STATUS     1 Normal Completion\n"
               b"**** MODEL STATUS      1 Optimal\n"
               b"**** OBJECTIVE VALUE              153.6750\n")
    written = 0
    with open(path, "wb") as handle:
        while written < size - len(summary):
            piece = rng.choice([long_line, short, short, huge if rng.random() < 0.05 else short])
            handle.write(piece)
            written += len(piece)
        handle.write(summary)


def write_big_log(path, size, solver, rng):
    """A solver log of *size* bytes: iteration rows, junk lines, and huge lines."""
    if solver == "cplex":
        header = b"--- Executing CPLEX (Solvelink=2): elapsed 0:00:00.1\n\nIteration log . . .\n"
        row = b"Iteration: %6d   Dual objective     = %20.6f\n"
    else:
        header = (b"--- Executing GUROBI (Solvelink=2): elapsed 0:00:00.1\n"
                  b"Iteration    Objective       Primal Inf.    Dual Inf.      Time\n")
        row = b"%9d   %14.7e   0.000000e+00   1.000000e+00      1s\n"
    junk = (b"\xff\xfe junk \xc0 " * 7000)[:100 * 1024 - 1] + b"\n"
    written = 0
    iteration = 0
    with open(path, "wb") as handle:
        handle.write(header)
        while written < size:
            block = []
            for _ in range(500):
                iteration += 1
                block.append(row % (iteration, 1000.0 + iteration))
            if rng.random() < 0.3:
                block.append(junk)
            chunk = b"".join(block)
            handle.write(chunk)
            written += len(chunk)


# -- the menu through a real pty -------------------------------------------------------

# Bytes the terminal's line discipline acts on instead of passing them to the scanner
# (canonical mode, Linux defaults): INTR ^C, EOF ^D, NL, CR (ICRNL), DISCARD ^O,
# START ^Q / STOP ^S (IXON), REPRINT ^R, KILL ^U, LNEXT ^V, WERASE ^W, SUSP ^Z,
# QUIT ^\, ERASE DEL.  Sending them would make "what the scanner read" differ from
# "what we sent", so the oracle below would need a line-discipline model.
LINE_DISCIPLINE_BYTES = frozenset([0x03, 0x04, 0x0a, 0x0d, 0x0f, 0x11, 0x12, 0x13, 0x15, 0x16,
                                   0x17, 0x1a, 0x1c, 0x7f])
MENU_PROFILES = ["dual", "primal", "sift", "bar", "bar_nox", "concurrent"]


def random_menu_bytes(rng, names, numbers):
    """A line to type at "Runs to cancel": sometimes a valid selection, mostly not."""
    pick = rng.random()
    if pick < 0.3:
        tokens = []
        for _ in range(rng.randint(1, 2)):
            if rng.random() < 0.5 and names:
                name = rng.choice(names)
                tokens.append(name.upper() if rng.random() < 0.3 else name)
            else:
                tokens.append(str(rng.randint(0, numbers + 1)))
        text = rng.choice([",", ", ", " , "]).join(tokens).encode()
    elif pick < 0.65:
        text = random_selection_text(rng, names).encode("utf-8")
    else:
        text = bytes(rng.randrange(256) for _ in range(rng.randint(0, 60)))
    return bytes(byte for byte in text if byte not in LINE_DISCIPLINE_BYTES)[:300]


def random_choice_bytes(rng):
    """A junk answer to "Choice [4]:" that is not a real choice (1, 2, 3, 5, 6)."""
    while True:
        raw = bytes(byte for byte in random_line(rng, 40) if byte not in LINE_DISCIPLINE_BYTES)
        choice = raw.decode("utf-8", "replace").strip()
        if choice not in ("", "1", "2", "3", "4", "5", "6"):
            return raw


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty + /proc")
def test_menu_fed_random_bytes_cancels_only_what_the_line_selects(tmp_path, fake_gams_path):
    from pty_helpers import CTRL_C, PtyProcess, python_argv
    from scan_helpers import cli_env, session_alive

    rng = random.Random(5150)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.gms").write_text("* FAKE: sleep 600\n")
    out = str(tmp_path / "out")
    state_path = os.path.join(out, "times_doctor_out", "scan_runs", "scan_state.json")

    def jobs():
        try:
            with open(state_path) as handle:
                return dict((job["name"], job) for job in json.load(handle)["jobs"])
        except (IOError, ValueError):
            return {}

    proc = PtyProcess(python_argv("scan", str(run_dir), "--gams-path", fake_gams_path,
                                  "--profiles", ",".join(MENU_PROFILES), "--threads", "1",
                                  "--parallel", "--max-workers", "2", "--grace-seconds", "1",
                                  "--out", out, "--yes"),
                      env=cli_env({"TERM": "xterm", "XDG_RUNTIME_DIR": str(tmp_path)}))
    expected_cancelled = set()
    log = []
    try:
        proc.wait_until(lambda: sum(job["status"] == "running" for job in jobs().values()) == 2,
                        timeout=60, message="two running runs")
        for round_index in range(10):
            mark = len(proc.output)
            proc.send(CTRL_C)
            proc.expect(br"Choice \[4\]: ", since=mark, timeout=20)
            if rng.random() < 0.5:
                junk = random_choice_bytes(rng)
                log.append(("choice", junk))
                mark = len(proc.output)
                proc.send(junk + b"\n")
                proc.expect(br"Unknown choice .*\r?\n.*Choice \[4\]: ", since=mark, timeout=20)
            mark = len(proc.output)
            proc.send(b"1\n")
            match = proc.expect(br"Runs to cancel[^\r\n]*: |No running or waiting runs left",
                                since=mark, timeout=20)
            if not match.group(0).startswith(b"Runs"):
                break
            listing = re.findall(br"  (\d+)\) (\S+)  \[(\w+)\]", proc.output[mark:match.start()])
            names = [name.decode() for _, name, _ in listing]
            line = random_menu_bytes(rng, names, len(names))
            text = line.decode("utf-8", "replace")
            try:
                selected = menu.parse_selection(text, names) if text.strip() else []
            except menu.SelectionError:
                selected = None  # the menu says so and asks again
            log.append(("select", names, line, selected))
            mark = len(proc.output)
            proc.send(line + b"\n")
            if selected is None:
                proc.expect(br"no run matches[^\r\n]*\r?\n(.|\n)*Runs to cancel[^\r\n]*: ",
                            since=mark, timeout=20)
                proc.send(b"\n")  # empty: back to the scan
                selected = []
            expected_cancelled.update(selected)
            proc.wait_until(
                lambda: set(name for name, job in jobs().items() if job["cancel_requested"])
                >= expected_cancelled, timeout=20, message="cancel of %s" % sorted(selected))
            proc.read_available(0.3)
            cancelled = set(name for name, job in jobs().items() if job["cancel_requested"])
            assert cancelled == expected_cancelled, (round_index, log[-3:])
            assert proc.poll() is None, "the scanner died: %r" % proc.text[-2000:]
        # End: cancel everything through the menu; the scan finishes its report.
        if proc.poll() is None:
            mark = len(proc.output)
            proc.send(CTRL_C)
            proc.expect(br"Choice \[4\]: ", since=mark, timeout=20)
            proc.send(b"2\n")
        code = proc.wait(timeout=60)
    finally:
        proc.close()
    assert "Traceback" not in proc.text, proc.text[-3000:]
    assert code == 3, proc.text[-2000:]
    final = jobs()
    assert set(final) == set(MENU_PROFILES)
    assert all(job["status"] == "cancelled" for job in final.values())
    for job in final.values():
        if job["sid"]:
            assert session_alive(job["sid"]) == []
    assert expected_cancelled, "no round selected anything: the oracle was never exercised"
