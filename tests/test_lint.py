"""The code's hygiene: pyflakes is clean, test modules share through helper modules only,
and every noqa comment says why.

``make lint`` (run first by ``make test``) is what enforces pyflakes; here it runs on the
legs whose interpreter has the Makefile's pinned pyflakes and skips, saying so, on the others
(the 3.6 and newest venvs and the Windows leg have none).  The other two rules need nothing
and run everywhere.
"""

import ast
import io
import os
import re
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(REPO_ROOT, "tests")
LINTED = ("times_doctor", "tests", "bench")

# Spelled in two parts so that this file's own text holds no such comment.
NOQA = re.compile(r"#\s*" + "noqa" + r"\b(?P<rest>.*)$", re.IGNORECASE)
# "<mark>: F401, E402 (why)": one or more codes, then a reason with a word in it.
NOQA_WITH_REASON = re.compile(r"^:\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*\s+\S*[A-Za-z]")


def python_files(*folders):
    for folder in folders:
        for directory, dirs, files in os.walk(os.path.join(REPO_ROOT, folder)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".py"):
                    yield os.path.join(directory, name)


def read(path):
    with io.open(path, encoding="utf-8") as handle:
        return handle.read()


def relative(path):
    return os.path.relpath(path, REPO_ROOT).replace(os.sep, "/")


def pinned_pyflakes():
    """The version the Makefile pins (PYFLAKES_SPEC ?= pyflakes==X)."""
    match = re.search(r"^PYFLAKES_SPEC\s*\?=\s*pyflakes==(\S+)\s*$",
                      read(os.path.join(REPO_ROOT, "Makefile")), re.MULTILINE)
    assert match, "the Makefile has no PYFLAKES_SPEC ?= pyflakes==<version> line"
    return match.group(1)


def test_pyflakes_reports_nothing():
    pinned = pinned_pyflakes()
    try:
        import pyflakes
    except ImportError:
        pytest.skip("pyflakes is not installed in %s (make lint runs the pinned %s in .venv)"
                    % (sys.executable, pinned))
    if pyflakes.__version__ != pinned:
        pytest.skip("pyflakes %s here, the Makefile pins %s (a newer one ignores '# type:' "
                    "comments); make lint runs the pinned one" % (pyflakes.__version__, pinned))
    proc = subprocess.Popen([sys.executable, "-m", "pyflakes"] + list(LINTED), cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=300)
    report = out.decode("utf-8", "replace").strip()
    assert report == "" and proc.returncode == 0, "pyflakes:\n" + report


def imported_modules(tree):
    """(line, module name) of every import in *tree*, at any depth; importlib.import_module
    and __import__ calls with a literal name count too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                yield node.lineno, node.module
            else:  # from . import x
                for alias in node.names:
                    yield node.lineno, alias.name
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                value = literal_string(node.args[0])
                if value is not None:
                    yield node.lineno, value


def literal_string(node):
    if sys.version_info >= (3, 8):
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
            else None
    return node.s if isinstance(node, ast.Str) else None  # before 3.8


def test_imports_of_test_modules_are_found():
    tree = ast.parse("import test_a\nfrom test_b import x\n"
                     "def f():\n    from test_c.sub import y\n    import os, test_d as d\n"
                     "importlib.import_module('test_e')\n__import__('test_f')\n"
                     "from . import test_g\nimport scan_helpers, fakes\n")
    found = sorted(name for _, name in imported_modules(tree)
                   if name.split(".")[0].startswith("test_"))
    assert found == ["test_a", "test_b", "test_c.sub", "test_d", "test_e", "test_f", "test_g"]


def test_no_module_imports_a_test_module():
    """Fakes and shared fixtures live in tests/fakes.py, conftest.py or a *_helpers.py module:
    importing a test module from another runs (or collects) its tests twice and ties the two
    modules' fates together (a POSIX-only module is not even importable on Windows)."""
    offenders = []
    for path in python_files("tests", "bench"):
        for line, name in imported_modules(ast.parse(read(path), path)):
            if name.split(".")[0].startswith("test_"):
                offenders.append("%s:%d imports %s" % (relative(path), line, name))
    assert offenders == [], ("move what is shared to tests/fakes.py, tests/conftest.py or a "
                             "helper module:\n" + "\n".join(offenders))


def noqa_without_reason(text):
    """The lines of *text* whose noqa mark names no code or gives no reason after it."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = NOQA.search(line)
        if match and not NOQA_WITH_REASON.search(match.group("rest")):
            found.append((number, line.strip()))
    return found


def test_the_noqa_rule_itself():
    mark = "#" + " noqa"
    good = ["import x  %s: F401 (used in type comments)" % mark,
            "import y  %s: E402 (sys.path above)" % mark,
            "import z  %s: F401, E402  (re-exported for the CLI)" % mark.upper()]
    bad = ["import x  %s" % mark, "import x  %s: F401" % mark,
           "import x  %s: F401 ()" % mark, "except Exception:  %s: it is fine" % mark,
           "import x  %s:F401" % mark]
    assert noqa_without_reason("\n".join(good)) == []
    assert [number for number, _ in noqa_without_reason("\n".join(bad))] == [1, 2, 3, 4, 5]


def test_every_noqa_says_why():
    missing = []
    for path in python_files(*LINTED):
        for number, line in noqa_without_reason(read(path)):
            missing.append("%s:%d: %s" % (relative(path), number, line))
    assert missing == [], ("each noqa names its code(s) and says why on the same line, e.g. "
                           "'F401 (used in type comments)':\n" + "\n".join(missing))
