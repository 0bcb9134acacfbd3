"""GAMS's own option-file reader (``gams.core.opt`` from ``gamsapi``) as a test oracle.

The solver links read an option file with GAMS's option library: create a
handle (``optCreateD`` on the system directory that holds the library),
read the solver's def file (``optReadDefinition``), then the option file
(``optReadParameterFile``); every line the reader rejects is named in its
messages (``*** Value Error line 3: Unknown value for option "lpmethod"
saw "9"``, ``*** Error line 1: Unknown option "lpmethd"``).  gamsapi and the
def files (``optcplex.def`` in gamspy-base, ``optgurobi.def`` in
gamspy-gurobi, the same release) need no GAMS licence.

gamsapi has no wheel for CPython 3.6, so the reader runs in a subprocess
under the solver interpreter (``gams_select.standin_python()``, ``.venv``)
and every test leg compares its own optdef with the answers.  A missing
gamsapi there fails the tests that need it: skipping would hide that the
oracle never ran.

Each option file is read with a handle of its own: reusing one handle for
many files crashed the library (SIGSEGV) after some sequences of bad lines
(a fresh handle per file makes it rarer, not impossible: see judge_files).

Run as a script (under the solver interpreter): reads
``{"solver": "cplex", "files": [text, ...]}`` on stdin, each text a file's
bytes decoded as Latin-1, and writes one JSON line ``{"def_file": path}``,
then one line per file ``{"messages": [[text, kind], ...], "defined":
[[name, int, double, str], ...]}``.  Message kinds are the library's
``optMsg*`` codes.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# optMsg* codes of gams.core.opt (optcc.py): the kinds of message the reader writes.
MSG_DEFINE_ERROR = 2
MSG_VALUE_ERROR = 3
MSG_VALUE_WARNING = 4
MSG_DEPRECATED = 5
MSG_FILE_ENTER = 6
MSG_FILE_LEAVE = 7
MSG_TOO_MANY = 8
MSG_USER_ERROR = 9
ERROR_KINDS = (MSG_DEFINE_ERROR, MSG_VALUE_ERROR, MSG_TOO_MANY, MSG_USER_ERROR)

MISSING_MODULE_RC = 3
ORACLE_TIMEOUT_SECONDS = 600


def judge_files(solver, files, python=None):
    """GAMS's reading of each option file in *files* (bytes or Latin-1 text).

    The library crashes now and then (SIGSEGV) after many files in one
    process, even with a fresh handle per file; the reader then starts
    again with the files it has not answered yet.  A file that crashes a
    fresh process on its own gets ``{"crashed": True}``.

    Returns:
        (def_file, results): the def file the reader used (for optdef to read
        the same one) and one dict per file (see the module docstring).

    Raises:
        AssertionError: the oracle could not run (no gamsapi, a failure).
    """
    if python is None:
        from gams_select import standin_python
        python = standin_python()
    texts = [data.decode("latin-1") if isinstance(data, bytes) else data for data in files]
    results = []
    def_file = None
    alone = False  # after a crash, the next file is read in a process of its own
    while len(results) < len(texts):
        batch = texts[len(results):len(results) + 1] if alone else texts[len(results):]
        answered, def_file, crashed = _run_oracle(python, solver, batch)
        results.extend(answered)
        if crashed and not answered:
            if alone:
                results.append({"crashed": True, "messages": [], "defined": []})
            alone = not alone
        else:
            alone = crashed
    return def_file, results


def _run_oracle(python, solver, texts):
    """(results, def_file, crashed) of one reader process over *texts*."""
    request = json.dumps({"solver": solver, "files": texts}).encode("ascii")
    process = subprocess.Popen([python, os.path.abspath(__file__)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output, errors = process.communicate(request, timeout=ORACLE_TIMEOUT_SECONDS)
    if process.returncode == MISSING_MODULE_RC:
        raise AssertionError("GAMS's option reader is not installed in %s (%s): run "
                             "'make venv' (gamsapi, gamspy-gurobi)"
                             % (python, errors.decode("utf-8", "replace").strip()))
    lines = output.decode("ascii").splitlines()
    if process.returncode not in (0, -11) or not lines:
        raise AssertionError("GAMS's option reader failed (rc %s): %s"
                             % (process.returncode, errors.decode("utf-8", "replace")[-2000:]))
    def_file = json.loads(lines[0])["def_file"]
    # A line cut short by the crash is not an answer.
    results = []
    for line in lines[1:]:
        try:
            results.append(json.loads(line))
        except ValueError:
            break
    return results, def_file, process.returncode != 0


def ignored_lines(result, line_count):
    """The line numbers GAMS's reader ignored in one file's *result*.

    Ignored: an error names the line, or a warning about it ends in
    "Option ignored" (after ``nobounds``, a value out of range is a warning
    and still ignored).  A message that names no line (``*** Error Cannot
    open parameter file``, from ``readfile``) is put on the file's only
    line, or on line 0 when there are several.
    """
    rejected = set()
    for text, kind in result["messages"]:
        match = _NUMBERED.match(text)
        if kind == MSG_VALUE_WARNING:
            if match and "Option ignored" in text:
                rejected.add(int(match.group(1)))
            continue
        if kind not in ERROR_KINDS:
            continue
        if match:
            rejected.add(int(match.group(1)))
        else:
            rejected.add(1 if line_count == 1 else 0)
    return rejected


def first_reasons(result):
    """{line number: the text of the first error or "Option ignored" warning on it}."""
    first = {}
    for text, kind in result["messages"]:
        match = _NUMBERED.match(text)
        if match and (kind in ERROR_KINDS or kind == MSG_VALUE_WARNING):
            first.setdefault(int(match.group(1)), text[match.end():].strip())
    return first


_NUMBERED = re.compile(r"^\*\*\* (?:Value Error|Error|Warning) line (\d+):")


# -- the script side (runs under the solver interpreter) ----------------------------


def _def_file(solver):
    if solver == "gurobi":
        import gamspy_gurobi
        return os.path.join(os.path.dirname(gamspy_gurobi.__file__), "optgurobi.def")
    import gamspy_base
    return os.path.join(os.path.dirname(gamspy_base.__file__), "opt%s.def" % solver)


def _read_one(opt, system_dir, def_file, path):
    handle = opt.new_optHandle_tp()
    ok, message = opt.optCreateD(handle, system_dir, 256)
    if not ok:
        raise RuntimeError("optCreateD(%s): %s" % (system_dir, message))
    try:
        if opt.optReadDefinition(handle, def_file) != 0:
            raise RuntimeError("optReadDefinition(%s) failed" % def_file)
        opt.optClearMessages(handle)
        opt.optReadParameterFile(handle, path)
        messages = []
        for number in range(1, opt.optMessageCount(handle) + 1):
            text, kind = opt.optGetMessage(handle, number)
            if kind not in (MSG_FILE_ENTER, MSG_FILE_LEAVE):
                messages.append([text, kind])
        defined = []
        for number in range(1, opt.optCount(handle) + 1):
            if opt.optGetDefinedNr(handle, number)[1]:
                defined.append(list(opt.optGetValuesNr(handle, number)[1:]))
        return {"messages": messages, "defined": defined}
    finally:
        opt.optFree(handle)


def _main():
    try:
        import gamspy_base
        from gams.core import opt
        request = json.load(sys.stdin)
        def_file = _def_file(request["solver"])
    except ImportError as error:
        sys.stderr.write("%s\n" % error)
        return MISSING_MODULE_RC
    system_dir = os.path.dirname(gamspy_base.__file__)
    work = tempfile.mkdtemp(prefix="td-optreader-")
    # One JSON line per answer, flushed, so that a crash loses only the file it was on.
    # ensure_ascii: the reader's texts carry undecodable bytes as lone surrogates.
    sys.stdout.write(json.dumps({"def_file": def_file}) + "\n")
    try:
        path = os.path.join(work, "oracle.opt")
        os.chdir(work)  # a readfile line names files relative to here
        for text in request["files"]:
            with open(path, "wb") as handle:
                handle.write(text.encode("latin-1"))
            answer = _read_one(opt, system_dir, def_file, path)
            sys.stdout.write(json.dumps(answer, ensure_ascii=True) + "\n")
            sys.stdout.flush()
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
