"""The three ways to install times-doctor, each from a clean copy of what a clone holds.

- the package folder copied anywhere: ``python -m times_doctor``;
- the zipapp ``make zipapp`` builds: ``python times-doctor.pyz``;
- ``pip install .`` into a fresh virtual environment: the ``times-doctor``
  console script that setup.cfg declares, every subpackage and the
  dashboard's page.

test_scan_e2e.py runs a real scan through the first two; here each is
shown to start from a copy that holds only the files a clone has, outside
the repository, with no PYTHONPATH leading back to it.  ``pip install .``
is run as a user runs it: an isolated build that fetches setuptools
(pyproject.toml's build-system table) from the package index this machine
is configured with, as ``make venv`` does; ``pipx install .`` does the same.
The fresh environment is made by the interpreter ``make venv`` made
(TD_STANDIN_PYTHON, else this one), whose ``venv`` brings pip.
"""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from scan_helpers import REPO_ROOT, build_zipapp

# What a clone holds that an install reads (the tests and the tools are not installed).
CLONE_FILES = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE")
TIMEOUT = 600


def clean_copy(target):
    """The package and its build files, as a clone has them (no caches, no build output)."""
    os.makedirs(target)
    for name in CLONE_FILES:
        shutil.copyfile(os.path.join(REPO_ROOT, name), os.path.join(target, name))
    # copyfile, not copy2: Wine has no CopyFile2 (the Windows leg runs this too).
    shutil.copytree(os.path.join(REPO_ROOT, "times_doctor"), os.path.join(target, "times_doctor"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    copy_function=shutil.copyfile)
    return target


def run(argv, cwd, **kwargs):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(kwargs.pop("env", {}))
    return subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=TIMEOUT, **kwargs)


def version():
    from times_doctor import __version__
    return __version__


def builder_python():
    return os.environ.get("TD_STANDIN_PYTHON") or sys.executable


def test_the_copied_folder_runs_as_python_m_times_doctor(tmp_path):
    vendor = str(tmp_path / "anywhere")
    shutil.copytree(os.path.join(clean_copy(str(tmp_path / "clone")), "times_doctor"),
                    os.path.join(vendor, "times_doctor"), copy_function=shutil.copyfile)
    done = run([sys.executable, "-m", "times_doctor", "--version"], cwd=vendor)
    assert done.returncode == 0, done.stdout
    assert done.stdout.decode().split() == ["times-doctor", version()]
    done = run([sys.executable, "-m", "times_doctor", "scan", "--help"], cwd=vendor)
    assert done.returncode == 0 and b"--launcher" in done.stdout, done.stdout


def test_the_zipapp_holds_every_subpackage_and_runs(tmp_path):
    pyz = build_zipapp(tmp_path / "dist")
    with zipfile.ZipFile(str(pyz)) as archive:
        names = set(archive.namelist())
    packages = sorted(os.path.relpath(folder, REPO_ROOT).replace(os.sep, "/")
                      for folder, _subfolders, files in os.walk(os.path.join(REPO_ROOT,
                                                                             "times_doctor"))
                      if "__init__.py" in files)
    assert [package for package in packages if package + "/__init__.py" not in names] == []
    assert "times_doctor/remote/dashboard.html" in names
    done = run([sys.executable, str(pyz), "--version"], cwd=str(tmp_path))
    assert done.returncode == 0 and done.stdout.decode().split() == ["times-doctor", version()]


@pytest.mark.skipif(os.name == "nt", reason="pip install . is proved on Linux: the Windows "
                    "leg's embeddable CPython has no venv or pip")
def test_pip_install_of_a_clean_copy_gives_the_console_script(tmp_path):
    source = clean_copy(str(tmp_path / "clone"))
    venv = str(tmp_path / "venv")
    done = run([builder_python(), "-m", "venv", venv], cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout
    python = os.path.join(venv, "bin", "python")
    done = run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "."],
               cwd=source)
    assert done.returncode == 0, done.stdout.decode()[-2000:]

    shutil.rmtree(source)  # nothing may lead back to the copy
    script = os.path.join(venv, "bin", "times-doctor")
    done = run([script, "--version"], cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout
    assert done.stdout.decode().split() == ["times-doctor", version()]
    # Every subpackage and the dashboard's page were installed, not only the top level.
    code = ("import pkgutil, times_doctor, times_doctor.remote.dashview as v; "
            "import times_doctor.launch.slurm_task, times_doctor.scan.scanner; "
            "print(times_doctor.__file__); print(len(v._load_page()) > 1000)")
    done = run([python, "-c", code], cwd=str(tmp_path))
    assert done.returncode == 0, done.stdout
    where, page = done.stdout.decode().split()
    assert where.startswith(venv) and page == "True"
