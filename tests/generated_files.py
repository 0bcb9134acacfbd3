"""Checked-in files that a script writes: write them, or (``--check``) say which are stale.

Used by tests/models/make_mps.py and tests/gams_standin/make_optdefs.py, whose
tests run them with ``--check`` so a checked-in file never drifts from its source.
Standard library only, CPython 3.6+.
"""

import os


def write_or_check(tool, folder, outputs, check):
    """Write each (path relative to *folder*, bytes) that differs, or with *check* only report.

    Bytes, written in binary mode: "\\n" line ends on every platform, as the
    comparison expects.  Returns the exit code: 1 when *check* found a
    missing or different file, else 0.
    """
    stale = 0
    for relative, wanted in outputs:
        path = os.path.join(folder, relative)
        current = _read_bytes(path)
        if check:
            if current is None:
                print("%s: %s is missing (run %s)" % (tool, relative, tool))
                stale += 1
            elif current != wanted:
                print("%s: %s differs from what %s writes (run it)" % (tool, relative, tool))
                stale += 1
        elif current != wanted:
            with open(path, "wb") as handle:
                handle.write(wanted)
            print("wrote %s" % relative)
        else:
            print("unchanged %s" % relative)
    return 1 if stale else 0


def _read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
