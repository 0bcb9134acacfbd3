"""Turns a copy of the embeddable python.exe into the fake gams.exe (or its solver).

A copy named ``gams.exe`` (or ``gmsgennx.exe``, GAMS's solver launcher on
Windows) reads ``gams._pth`` beside it, which puts this folder on its path and
enables ``site``; ``site`` imports this module before Python looks at the
command line, so the copy runs fake_gams.py with GAMS's argv and exits with
its return code.  Any other interpreter that imports this module is left alone.
(tests/wine_helpers.py builds such a folder.)
"""

import os
import sys

_NAME = os.path.splitext(os.path.basename(sys.executable))[0].lower()

if _NAME in ("gams", "gmsgennx"):
    import traceback
    try:
        import fake_gams
        _RC = fake_gams.main(list(sys.orig_argv[1:]))
    except SystemExit as exc:
        _RC = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # broad on purpose: reported like an uncaught error, with rc 1
        traceback.print_exc()
        _RC = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Not sys.exit(): an exception out of sitecustomize would only be reported
    # by site, and the interpreter would go on to run the driver as a script.
    os._exit(_RC or 0)
