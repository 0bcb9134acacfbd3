"""Solver option profiles: the built-in ones, ``--opt-dir`` files, option-file text.

A profile is a named list of solver option lines for one solver.  The scan
runs the same model once per profile, each in its own work directory with
the profile's lines written to ``cplex.opt`` / ``gurobi.opt`` (GAMS reads it
because the run gets ``optfile=1``).

Profile base names end up as directory names (``scan_runs/<solver>/<name>``),
so every name that comes from a file name is checked before any path is
built from it: see ``check_profile_name()``.

Decisions where the spec left room:

* Default set: ``dual,sift,bar_nox``, each for the solvers that have it
  (GUROBI has no sifting method, so its default set is ``dual,bar_nox``).
* ``--opt-dir`` without ``--profiles`` runs the default set plus every
  opt-dir profile of the chosen solver(s); with ``--profiles`` the opt-dir
  profiles are only available by name.  An opt-dir profile named like a
  built-in replaces the built-in (and keeps its place in the default set).
* ``--solver both``: every unqualified name expands to ``cplex:NAME`` then
  ``gurobi:NAME`` (pairs stay next to each other in the table), for each
  solver that has the profile; a name neither solver has is an error.
"""

import collections
import io
import os
import re

from typing import Dict, Iterable, List, Optional  # noqa: F401  (used in type comments)

from times_doctor.solvers import table as solvers
from times_doctor.errors import ProfileError, os_reason, show_value

Profile = collections.namedtuple("Profile", "name solver base_name source lines")
Profile.__doc__ = """One solver run's option set.

name: what the user sees (``dual``, or ``cplex:dual`` with ``--solver both``);
solver: "cplex" or "gurobi"; base_name: the profile name without solver
("dual"); source: "builtin" or the absolute path of the .opt file; lines:
the option lines, without line endings.
"""

BUILTIN_SOURCE = "builtin"

DEFAULT_PROFILE_NAMES = ("dual", "sift", "bar_nox")

# An option file holds a handful of settings; anything bigger is the wrong file.
MAX_OPTION_FILE_BYTES = 1024 * 1024

# Profile names become directory names on every platform we support.
MAX_PROFILE_NAME_LENGTH = 64
_PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_WINDOWS_RESERVED_RE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)

_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


def known_profile_names(solver):
    # type: (str) -> List[str]
    """Built-in profile names for *solver* ("cplex", "gurobi" or "both"), in display order."""
    if solver == solvers.BOTH:
        names = []  # type: List[str]
        for each in solvers.NAMES:
            names.extend(name for name in solvers.get(each).builtin_profiles
                         if name not in names)
        return names
    return list(solvers.get(solver).builtin_profiles)


def option_file_name(solver):
    # type: (str) -> str
    """The option file GAMS makes *solver* read with ``optfile=1``."""
    return solvers.get(solver).option_file


def threads_keyword(solver):
    # type: (str) -> str
    """The option name render_option_file() writes the thread count under."""
    return solvers.get(solver).threads_keyword


def check_profile_name(name, origin=None):
    # type: (str, Optional[str]) -> str
    """Return *name* if it is safe as a directory name, else raise ProfileError.

    Refuses ``..``, path separators, leading dots and anything outside
    ``[A-Za-z0-9_.-]`` so no profile can place files outside its work dir.
    *origin* (e.g. the .opt file's path) is named in the message.
    """
    problem = None
    if not isinstance(name, str) or not name:
        problem = "is empty"
    elif len(name) > MAX_PROFILE_NAME_LENGTH:
        problem = "is longer than %d characters" % MAX_PROFILE_NAME_LENGTH
    elif not _is_safe_name(name):
        problem = "must start with a letter or digit and use only letters, digits, _ . -"
    elif _WINDOWS_RESERVED_RE.match(name.split(".")[0]):
        problem = "is a reserved device name on Windows"
    if problem is None:
        return name
    where = " (from %s)" % show_value(origin) if origin else ""
    raise ProfileError("profile name %s%s %s: rename it, e.g. my_profile.opt"
                       % (_quote(name), where, problem))


def read_option_file(path):
    # type: (str) -> List[str]
    """Read a solver option file as a list of lines (no line endings).

    Accepts LF, CRLF and CR line endings and a UTF-8 byte-order mark.  Any
    other content is read: GAMS reads an option file as bytes, so a Latin-1
    comment, a NUL or a control byte is for the option check to judge line
    by line (optdef), not a reason to refuse the file.  Bytes that are not
    UTF-8 come back as surrogate escapes, so that the run's option file
    (rundir writes it with ``surrogateescape``) holds exactly these bytes.

    Raises:
        ProfileError: the file is missing, unreadable, not a regular file,
            or larger than 1 MiB.
    """
    shown = show_value(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ProfileError("option file %s does not exist: check the name or the --opt-dir "
                           "folder" % shown)
    except OSError as error:
        raise ProfileError("cannot read option file %s (%s): make it readable or remove it"
                           % (shown, os_reason(error)))
    if not os.path.isfile(path):
        raise ProfileError("option file %s is not a regular file: give a plain-text .opt file"
                           % shown)
    if info.st_size > MAX_OPTION_FILE_BYTES:
        raise ProfileError("option file %s is larger than 1 MiB (%d bytes): an option file "
                           "holds a few solver settings, check it is the right file"
                           % (shown, info.st_size))
    try:
        with _open_binary(path) as handle:
            # One byte more than allowed: catches a file that grew since stat().
            data = handle.read(MAX_OPTION_FILE_BYTES + 1)
    except OSError as error:
        raise ProfileError("cannot read option file %s (%s): make it readable or remove it"
                           % (shown, os_reason(error)))
    if len(data) > MAX_OPTION_FILE_BYTES:
        raise ProfileError("option file %s is larger than 1 MiB: an option file holds a few "
                           "solver settings, check it is the right file" % shown)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # GAMS would read the mark as part of the first option name
    lines = _LINE_BREAK_RE.split(data.decode("utf-8", "surrogateescape"))
    if lines and lines[-1] == "":
        lines.pop()  # the final line break ends the last line, it starts none
    return lines


def resolve_profiles(solver, names, opt_dir=None):
    # type: (str, Optional[Iterable[str]], Optional[str]) -> List[Profile]
    """Turn ``--solver``, ``--profiles`` and ``--opt-dir`` into the profiles to run.

    Args:
        solver: "cplex", "gurobi" or "both".
        names: ``--profiles`` values (the option repeats and each value may
            be a comma list); empty or None means the default set.  Matched
            case-insensitively; duplicates are dropped, first one wins.
        opt_dir: folder of extra profiles, ``DIR/<solver>/<name>.opt`` or
            ``DIR/<name>.opt`` (CPLEX).

    Returns:
        Profiles in run order.

    Raises:
        ProfileError: one line naming the problem and the fix.
    """
    if solver not in solvers.CHOICES:
        raise ProfileError("--solver must be %s or %s, got %s: e.g. --solver %s"
                           % (", ".join(solvers.NAMES), solvers.BOTH, show_value(solver),
                              solvers.DEFAULT))
    chosen_solvers = solvers.NAMES if solver == solvers.BOTH else (solver,)
    catalog = _builtin_catalog(chosen_solvers)
    extra = {}  # type: Dict[str, List[str]]
    if opt_dir is not None:
        extra = _load_opt_dir(opt_dir, chosen_solvers, catalog)
    requested = _split_names(names)
    if requested:
        wanted = [_parse_requested(item, solver, chosen_solvers, catalog, opt_dir)
                  for item in requested]
    else:
        wanted = _default_names(chosen_solvers, catalog, extra)
    chosen = []  # type: List[Profile]
    seen = set()
    for qualifier, key in wanted:
        for each in chosen_solvers:
            if qualifier not in (None, each) or key not in catalog[each]:
                continue
            base_name, source, lines = catalog[each][key]
            if (each, key) in seen:
                continue
            seen.add((each, key))
            display = "%s:%s" % (each, base_name) if solver == solvers.BOTH else base_name
            chosen.append(Profile(display, each, base_name, source, list(lines)))
    return chosen


def trial_profile(profile, suffix, seed=None):
    # type: (Profile, str, Optional[int]) -> Profile
    """*profile* run once more under another name: ``dual`` -> ``dual.r2`` (--repeat, --confirm).

    Its name and base name (the work directory) get *suffix*; with a *seed*,
    its lines set the solver's random seed to it (the table's
    ``seed_keyword``), replacing a seed line of the profile's own.
    """
    lines = list(profile.lines)
    if seed is not None:
        keyword = solvers.get(profile.solver).seed_keyword
        lines = [line for line in lines if not _option_key_matches(line, keyword)]
        lines.append("%s %d" % (keyword, seed))
    return Profile(profile.name + suffix, profile.solver, profile.base_name + suffix,
                   profile.source, lines)


def render_option_file(profile, threads):
    # type: (Profile, int) -> str
    """The option-file text for *profile* with the thread count set.

    Every ``threads`` line (any case, ``threads 4`` / ``threads=4``) becomes
    ``threads N`` (CPLEX) / ``Threads N`` (GUROBI); without one it is
    appended.  CPLEX profiles also get ``simdisplay 2`` and ``bardisplay 2``
    unless they set those keys themselves.  Comments and order are kept.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ValueError("threads must be an int >= 0, got %r" % (threads,))
    solver = solvers.get(profile.solver)
    threads_line = "%s %d" % (solver.threads_keyword, threads)
    lines = []
    found_threads = False
    for line in profile.lines:
        if _option_key_matches(line, "threads"):
            lines.append(threads_line)
            found_threads = True
        else:
            lines.append(line)
    if not found_threads:
        lines.append(threads_line)
    for display_line in solver.display_lines:
        key = display_line.split()[0]
        if not any(_option_key_matches(line, key) for line in profile.lines):
            lines.append(display_line)
    return "\n".join(lines) + "\n"


# -- helpers -----------------------------------------------------------------


def _open_binary(path):
    """Open *path* for reading bytes (a seam: tests make it raise PermissionError)."""
    return io.open(path, "rb")


def _option_key_matches(line, key):
    """True if *line* sets option *key* (any case, followed by space, '=' or end)."""
    stripped = line.lstrip()
    if stripped.startswith("*"):
        return False
    if stripped[:len(key)].lower() != key.lower():
        return False
    rest = stripped[len(key):]
    return rest == "" or rest[0] in " \t="


def _builtin_catalog(chosen_solvers):
    """{solver: OrderedDict(lower name -> (base_name, source, lines))} of the built-ins."""
    catalog = {}
    for solver in chosen_solvers:
        catalog[solver] = collections.OrderedDict(
            (name, (name, BUILTIN_SOURCE, list(lines)))
            for name, lines in solvers.get(solver).builtin_profiles.items())
    return catalog


def _split_names(names):
    """Flatten repeated, comma-separated ``--profiles`` values; blanks are dropped."""
    result = []
    if not names:
        return result
    if isinstance(names, str):
        names = [names]
    for value in names:
        for part in str(value).split(","):
            part = part.strip()
            if part:
                result.append(part)
    return result


def _parse_requested(item, solver, chosen_solvers, catalog, opt_dir):
    """Return (qualifier or None, lower name) for one ``--profiles`` item, or raise."""
    qualifier = None
    name = item
    if ":" in item:
        qualifier, name = [part.strip() for part in item.split(":", 1)]
        qualifier = qualifier.lower()
        if qualifier not in solvers.NAMES:
            raise ProfileError("unknown solver %s in profile %s: write %s"
                               % (_quote(qualifier), _quote(item),
                                  " or ".join("%s:NAME" % each for each in solvers.NAMES)))
        if qualifier not in chosen_solvers:
            raise ProfileError("profile %s is for %s but --solver is %s: use --solver %s or "
                               "--solver both" % (_quote(item), qualifier, solver, qualifier))
    key = name.lower()
    candidates = [qualifier] if qualifier else list(chosen_solvers)
    if any(key in catalog[each] for each in candidates):
        return qualifier, key
    for other in solvers.NAMES:
        if other not in chosen_solvers and _other_solver_has(other, key, opt_dir):
            raise ProfileError("profile %s is a %s profile but --solver is %s: use --solver %s "
                               "or --solver both" % (_quote(name), other, solver, other))
    known = []  # type: List[str]
    for each in candidates:
        known.extend(entry[0] for entry in catalog[each].values() if entry[0] not in known)
    hint = ""
    if opt_dir is None:
        hint = " (or put your own in DIR/%s/%s.opt and pass --opt-dir DIR)" % (
            candidates[0], name if _is_safe_name(name) else "NAME")
    raise ProfileError("unknown profile %s for %s: choose from %s%s"
                       % (_quote(name), " or ".join(candidates), ", ".join(known), hint))


def _other_solver_has(solver, key, opt_dir):
    """Whether *solver* (not chosen) would know profile *key*: for a better message."""
    if key in solvers.get(solver).builtin_profiles:
        return True
    if opt_dir is None:
        return False
    try:
        return any(_stem(path).lower() == key for path, _ in _opt_files_for(opt_dir, solver))
    except OSError:
        return False  # only a hint for an error message that is raised anyway


def _default_names(chosen_solvers, catalog, extra):
    """The default set plus every opt-dir profile, as (None, lower name) pairs."""
    keys = list(DEFAULT_PROFILE_NAMES)
    for solver in chosen_solvers:
        keys.extend(key for key in extra.get(solver, []) if key not in keys)
    return [(None, key) for key in keys if any(key in catalog[each] for each in chosen_solvers)]


def _load_opt_dir(opt_dir, chosen_solvers, catalog):
    """Add ``--opt-dir`` profiles of *chosen_solvers* to *catalog*; return {solver: [lower names]}.

    Raises ProfileError for a missing, unreadable or empty folder, unsafe
    file names, two files defining one profile, and unusable file contents.
    Every file is checked before the first one is read.
    """
    shown = show_value(opt_dir)
    layout = "(DIR/cplex/NAME.opt, DIR/gurobi/NAME.opt or DIR/NAME.opt for CPLEX)"
    if not os.path.exists(opt_dir):
        raise ProfileError("--opt-dir %s does not exist: give a folder of .opt files %s"
                           % (shown, layout))
    if not os.path.isdir(opt_dir):
        raise ProfileError("--opt-dir %s is not a directory: give a folder of .opt files %s"
                           % (shown, layout))
    files = collections.OrderedDict()  # solver -> OrderedDict(key -> path)
    for solver in chosen_solvers:
        try:
            found = _opt_files_for(opt_dir, solver)
        except OSError as error:
            raise ProfileError("cannot read --opt-dir folder %s (%s): make it readable"
                               % (show_value(error.filename or opt_dir), os_reason(error)))
        by_key = collections.OrderedDict()
        for path, in_subfolder in found:
            if not in_subfolder and _stem(path).lower() == "gurobi":
                # Easy to take for "the GUROBI option file"; CPLEX would reject its lines.
                raise ProfileError("%s would be read as a CPLEX profile (an .opt file directly "
                                   "in --opt-dir is for CPLEX): move it to %s"
                                   % (show_value(path), show_value(os.path.join(opt_dir, "gurobi",
                                                                      "NAME.opt"))))
            key = check_profile_name(_stem(path), origin=path).lower()
            if key in by_key:
                raise ProfileError("%s and %s both define %s profile %s: keep one of them"
                                   % (show_value(by_key[key]), show_value(path), solver,
                                      _quote(_stem(path))))
            by_key[key] = path
        files[solver] = by_key
    if not any(files.values()):
        places = [os.path.join(shown, each, "NAME.opt") for each in chosen_solvers]
        if "cplex" in chosen_solvers:
            places.append("%s (CPLEX)" % os.path.join(shown, "NAME.opt"))
        raise ProfileError("--opt-dir %s has no .opt files for %s: add %s"
                           % (shown, " or ".join(chosen_solvers), " or ".join(places)))
    added = {}
    for solver, by_key in files.items():
        for key, path in by_key.items():
            catalog[solver][key] = (_stem(path), os.path.abspath(path), read_option_file(path))
        added[solver] = list(by_key)
    return added


def _opt_files_for(opt_dir, solver):
    """[(path, in_subfolder)]: DIR/<solver>/*.opt, then (CPLEX only) DIR/*.opt.

    Sorted by name within each folder.  Raises OSError when a folder cannot
    be listed.
    """
    entries = sorted(os.listdir(opt_dir))
    found = []
    for entry in entries:
        folder = os.path.join(opt_dir, entry)
        if entry.lower() == solver and os.path.isdir(folder):
            found.extend((os.path.join(folder, name), True)
                         for name in sorted(os.listdir(folder)) if _is_opt_name(name))
    if solver == "cplex":
        found.extend((os.path.join(opt_dir, entry), False)
                     for entry in entries if _is_opt_name(entry))
    return found


def _is_opt_name(name):
    return name.lower().endswith(".opt")


def _stem(path):
    return os.path.basename(path)[:-len(".opt")]


def _is_safe_name(name):
    return bool(_PROFILE_NAME_RE.match(name)) and ".." not in name


def _quote(name):
    """A profile name for a message: 'dual', or repr() when it holds control characters."""
    shown = show_value(name)
    return shown if shown.startswith(("'", '"')) else "'%s'" % shown
