"""profiles.py: built-in profiles, --profiles parsing, --opt-dir loading, option-file text."""

import os

import pytest

from scan_helpers import tree_digest
from times_doctor.solvers import profiles
from times_doctor.errors import ProfileError, UsageError
from times_doctor.solvers.profiles import (Profile, known_profile_names, option_file_name,
                                           read_option_file, render_option_file, resolve_profiles)

ALL_CPLEX = ["dual", "primal", "sift", "bar", "bar_nox", "concurrent", "datacheck", "conflict"]
ALL_GUROBI = ["dual", "primal", "bar", "bar_nox", "concurrent", "conflict"]


def names_of(chosen):
    return [profile.name for profile in chosen]


def profile_error(call, *args, **kwargs):
    """Run *call*, expect ProfileError, return its one-line message."""
    with pytest.raises(ProfileError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message == caught.value.message
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    return message


def write(path, text, mode="w"):
    path = str(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    # newline="": the bytes given, also on Windows (which would write "\n" as "\r\n").
    with open(path, mode, **({} if "b" in mode else {"newline": ""})) as handle:
        handle.write(text)
    return path


# -- built-ins ---------------------------------------------------------------


@pytest.mark.parametrize("solver, name, lines", [
    ("cplex", "dual", ["lpmethod 2"]),
    ("cplex", "primal", ["lpmethod 1"]),
    ("cplex", "sift", ["lpmethod 5"]),
    ("cplex", "bar", ["lpmethod 4"]),
    ("cplex", "bar_nox", ["lpmethod 4", "solutiontype 2"]),
    ("cplex", "concurrent", ["lpmethod 6"]),
    ("gurobi", "dual", ["Method 1"]),
    ("gurobi", "primal", ["Method 0"]),
    ("gurobi", "bar", ["Method 2"]),
    ("gurobi", "bar_nox", ["Method 2", "Crossover 0"]),
    ("gurobi", "concurrent", ["Method 3"]),
    ("cplex", "datacheck", ["datacheck 2"]),
    ("cplex", "conflict", ["iis 1", "conflictdisplay 2", "names yes"]),
    ("gurobi", "conflict", ["iis 1", "names yes"]),
])
def test_builtin_profile_lines(solver, name, lines):
    assert resolve_profiles(solver, [name]) == [Profile(name, solver, name, "builtin", lines)]


def test_known_profile_names():
    assert known_profile_names("cplex") == ALL_CPLEX
    assert known_profile_names("gurobi") == ALL_GUROBI
    assert known_profile_names("both") == ALL_CPLEX
    with pytest.raises(ValueError):
        known_profile_names("xpress")


def test_option_file_name():
    assert option_file_name("cplex") == "cplex.opt"
    assert option_file_name("gurobi") == "gurobi.opt"
    with pytest.raises(ValueError):
        option_file_name("both")


def test_profile_fields():
    assert Profile._fields == ("name", "solver", "base_name", "source", "lines")


# -- resolve_profiles: names -------------------------------------------------


@pytest.mark.parametrize("names", [None, [], [""], [" , "]])
def test_default_set_cplex(names):
    assert names_of(resolve_profiles("cplex", names)) == ["dual", "sift", "bar_nox"]


def test_default_set_gurobi_has_no_sift():
    chosen = resolve_profiles("gurobi", None)
    assert names_of(chosen) == ["dual", "bar_nox"]
    assert [profile.lines for profile in chosen] == [["Method 1"], ["Method 2", "Crossover 0"]]


def test_default_set_both_pairs_cplex_first():
    chosen = resolve_profiles("both", None)
    assert names_of(chosen) == ["cplex:dual", "gurobi:dual", "cplex:sift", "cplex:bar_nox",
                                "gurobi:bar_nox"]
    assert [(p.solver, p.base_name) for p in chosen][:2] == [("cplex", "dual"),
                                                             ("gurobi", "dual")]


def test_repeated_comma_lists_case_and_duplicates():
    chosen = resolve_profiles("cplex", ["dual,SIFT", "Dual", " bar , primal ", "sift,,"])
    assert names_of(chosen) == ["dual", "sift", "bar", "primal"]
    assert [p.base_name for p in chosen] == ["dual", "sift", "bar", "primal"]


def test_single_string_is_accepted():
    assert names_of(resolve_profiles("cplex", "primal,dual")) == ["primal", "dual"]


def test_both_with_qualified_and_cplex_only_names():
    chosen = resolve_profiles("both", ["gurobi:bar", "sift", "CPLEX:Dual", "bar"])
    assert names_of(chosen) == ["gurobi:bar", "cplex:sift", "cplex:dual", "cplex:bar"]


def test_qualified_name_for_the_chosen_solver():
    chosen = resolve_profiles("gurobi", ["gurobi:dual"])
    assert chosen == [Profile("dual", "gurobi", "dual", "builtin", ["Method 1"])]


def test_lines_are_copies():
    first = resolve_profiles("cplex", ["dual"])[0]
    first.lines.append("threads 99")
    assert resolve_profiles("cplex", ["dual"])[0].lines == ["lpmethod 2"]


# -- resolve_profiles: errors ------------------------------------------------


def test_unknown_profile_lists_the_known_ones():
    message = profile_error(resolve_profiles, "cplex", ["dual,fast"])
    assert message == ("unknown profile 'fast' for cplex: choose from dual, primal, sift, bar, "
                       "bar_nox, concurrent, datacheck, conflict (or put your own in "
                       "DIR/cplex/fast.opt and pass --opt-dir DIR)")


def test_unknown_profile_for_gurobi_lists_gurobi_names():
    message = profile_error(resolve_profiles, "gurobi", ["turbo"])
    assert message.startswith("unknown profile 'turbo' for gurobi: choose from dual, primal, "
                              "bar, bar_nox, concurrent, conflict")


def test_unknown_profile_for_both():
    message = profile_error(resolve_profiles, "both", ["turbo"])
    assert message.startswith("unknown profile 'turbo' for cplex or gurobi: choose from ")


def test_unsafe_unknown_name_is_not_echoed_into_a_path_hint():
    message = profile_error(resolve_profiles, "cplex", ["../x"])
    assert message.startswith("unknown profile '../x' for cplex")
    assert message.endswith("DIR/cplex/NAME.opt and pass --opt-dir DIR)")


def test_control_characters_are_escaped():
    message = profile_error(resolve_profiles, "cplex", ["a\nb"])
    assert "'a\\nb'" in message


def test_cplex_profile_with_solver_gurobi():
    assert profile_error(resolve_profiles, "gurobi", ["sift"]) == (
        "profile 'sift' is a cplex profile but --solver is gurobi: use --solver cplex or "
        "--solver both")


def test_gurobi_qualified_name_with_solver_cplex():
    assert profile_error(resolve_profiles, "cplex", ["gurobi:dual"]) == (
        "profile 'gurobi:dual' is for gurobi but --solver is cplex: use --solver gurobi or "
        "--solver both")


def test_unknown_solver_qualifier():
    assert profile_error(resolve_profiles, "both", ["xpress:dual"]) == (
        "unknown solver 'xpress' in profile 'xpress:dual': write cplex:NAME or gurobi:NAME")


def test_qualified_sift_for_gurobi_is_unknown():
    message = profile_error(resolve_profiles, "both", ["gurobi:sift"])
    assert message.startswith("unknown profile 'sift' for gurobi: choose from dual, primal,")


def test_bad_solver():
    assert profile_error(resolve_profiles, "xpress", None) == (
        "--solver must be cplex, gurobi or both, got xpress: e.g. --solver cplex")


# -- --opt-dir ---------------------------------------------------------------


@pytest.fixture
def opt_dir(tmp_path):
    """cplex/tuned.opt, gurobi/g1.opt, top-level dual.opt (overrides) and extra.opt."""
    root = tmp_path / "opts"
    write(root / "cplex" / "tuned.opt", "* tuned\nlpmethod 4\nbarepcomp 1e-7\n")
    write(root / "gurobi" / "g1.opt", "Method 2\r\nBarConvTol 1e-7\r\n")
    write(root / "dual.opt", "lpmethod 2\nadvind 0\n")
    write(root / "extra.opt", "lpmethod 1")
    write(root / "README.txt", "not a profile")
    return str(root)


def test_opt_dir_without_names_adds_to_the_defaults(opt_dir):
    chosen = resolve_profiles("cplex", None, opt_dir)
    assert names_of(chosen) == ["dual", "sift", "bar_nox", "tuned", "extra"]
    dual, tuned, extra = chosen[0], chosen[3], chosen[4]
    assert dual == Profile("dual", "cplex", "dual", os.path.join(opt_dir, "dual.opt"),
                           ["lpmethod 2", "advind 0"])
    assert tuned == Profile("tuned", "cplex", "tuned",
                            os.path.join(opt_dir, "cplex", "tuned.opt"),
                            ["* tuned", "lpmethod 4", "barepcomp 1e-7"])
    assert extra.lines == ["lpmethod 1"]
    assert chosen[1].source == "builtin"


def test_opt_dir_profiles_by_name_only_when_named(opt_dir):
    chosen = resolve_profiles("cplex", ["TUNED", "primal"], opt_dir)
    assert names_of(chosen) == ["tuned", "primal"]


def test_opt_dir_gurobi(opt_dir):
    chosen = resolve_profiles("gurobi", None, opt_dir)
    assert names_of(chosen) == ["dual", "bar_nox", "g1"]
    assert chosen[2].lines == ["Method 2", "BarConvTol 1e-7"]
    assert chosen[2].source == os.path.join(opt_dir, "gurobi", "g1.opt")


def test_opt_dir_both(opt_dir):
    chosen = resolve_profiles("both", None, opt_dir)
    assert names_of(chosen) == ["cplex:dual", "gurobi:dual", "cplex:sift", "cplex:bar_nox",
                                "gurobi:bar_nox", "cplex:tuned", "cplex:extra", "gurobi:g1"]
    assert chosen[0].source.endswith("dual.opt") and chosen[1].source == "builtin"


def test_opt_dir_override_keeps_the_file_spelling(tmp_path):
    root = tmp_path / "o"
    write(root / "cplex" / "Bar_NoX.opt", "lpmethod 4\nsolutiontype 2\nbarorder 3\n")
    chosen = resolve_profiles("cplex", ["bar_nox"], str(root))
    assert chosen[0].name == chosen[0].base_name == "Bar_NoX"
    assert chosen[0].lines[-1] == "barorder 3"


def test_opt_dir_profile_is_listed_in_unknown_message(opt_dir):
    message = profile_error(resolve_profiles, "cplex", ["nope"], opt_dir)
    assert message == ("unknown profile 'nope' for cplex: choose from dual, primal, sift, bar, "
                       "bar_nox, concurrent, datacheck, conflict, tuned, extra")


def test_opt_dir_gurobi_profile_with_solver_cplex(opt_dir):
    assert profile_error(resolve_profiles, "cplex", ["g1"], opt_dir) == (
        "profile 'g1' is a gurobi profile but --solver is cplex: use --solver gurobi or "
        "--solver both")


def test_opt_dir_missing(tmp_path):
    missing = str(tmp_path / "x")
    assert profile_error(resolve_profiles, "cplex", None, missing) == (
        "--opt-dir %s does not exist: give a folder of .opt files (DIR/cplex/NAME.opt, "
        "DIR/gurobi/NAME.opt or DIR/NAME.opt for CPLEX)" % missing)


def test_opt_dir_is_a_file(tmp_path):
    path = write(tmp_path / "f.opt", "lpmethod 2\n")
    assert profile_error(resolve_profiles, "cplex", None, path).startswith(
        "--opt-dir %s is not a directory: give a folder of .opt files" % path)


def test_opt_dir_empty(tmp_path):
    root = tmp_path / "opts"
    write(root / "README.txt", "x")
    (root / "cplex").mkdir()
    before = tree_digest(str(root))
    assert profile_error(resolve_profiles, "cplex", None, str(root)) == (
        "--opt-dir {0} has no .opt files for cplex: add {1} or {2} (CPLEX)".format(
            root, os.path.join(str(root), "cplex", "NAME.opt"),
            os.path.join(str(root), "NAME.opt")))
    assert tree_digest(str(root)) == before


def test_opt_dir_with_only_cplex_files_for_gurobi(opt_dir):
    message = profile_error(resolve_profiles, "gurobi", None, os.path.join(opt_dir, "cplex"))
    assert message == ("--opt-dir {0} has no .opt files for gurobi: add {1}".format(
        os.path.join(opt_dir, "cplex"), os.path.join(opt_dir, "cplex", "gurobi", "NAME.opt")))


def test_opt_dir_unreadable(opt_dir, monkeypatch):
    # Root reads any folder, so the permission error is simulated at os.listdir.
    real_listdir = os.listdir

    def listdir(path):
        if os.path.abspath(path) == os.path.join(opt_dir, "cplex"):
            raise PermissionError(13, "Permission denied", path)
        return real_listdir(path)
    monkeypatch.setattr(profiles.os, "listdir", listdir)
    assert profile_error(resolve_profiles, "cplex", None, opt_dir) == (
        "cannot read --opt-dir folder %s (Permission denied): make it readable"
        % os.path.join(opt_dir, "cplex"))


UNSAFE = "must start with a letter or digit and use only letters, digits, _ . -"


# Windows opens the device for such a name: no such file can be made there (the check
# guards folders written on other systems, and the scan's own file names).
DEVICE_NAMES = pytest.mark.skipif(os.name == "nt", reason="Windows cannot create a file "
                                  "with a reserved device name")


@pytest.mark.parametrize("file_name, problem", [
    ("..evil.opt", UNSAFE),
    (".hidden.opt", UNSAFE),
    ("a..b.opt", UNSAFE),
    ("sp ace.opt", UNSAFE),
    pytest.param("con.opt", "is a reserved device name on Windows", marks=DEVICE_NAMES),
    pytest.param("Nul.x.opt", "is a reserved device name on Windows", marks=DEVICE_NAMES),
    ("x" * 65 + ".opt", "is longer than 64 characters"),
    (".opt", "is empty"),
])
def test_opt_dir_unsafe_file_names(tmp_path, file_name, problem):
    root = tmp_path / "opts"
    path = write(root / file_name, "lpmethod 2\n")
    before = tree_digest(str(tmp_path))
    assert profile_error(resolve_profiles, "cplex", ["dual"], str(root)) == (
        "profile name '%s' (from %s) %s: rename it, e.g. my_profile.opt"
        % (file_name[:-len(".opt")], path, problem))
    assert tree_digest(str(tmp_path)) == before


def test_check_profile_name_accepts_safe_names():
    for name in ("dual", "bar_nox", "A1.b-c", "9lives", "x" * 64):
        assert profiles.check_profile_name(name) == name


def test_opt_dir_duplicate_definitions(tmp_path):
    root = tmp_path / "opts"
    first = write(root / "cplex" / "dual.opt", "lpmethod 2\n")
    second = write(root / "dual.opt", "lpmethod 2\n")
    assert profile_error(resolve_profiles, "cplex", None, str(root)) == (
        "%s and %s both define cplex profile 'dual': keep one of them" % (first, second))


def test_opt_dir_case_duplicates(tmp_path):
    root = tmp_path / "opts"
    write(root / "cplex" / "Fast.opt", "lpmethod 2\n")
    write(root / "cplex" / "fast.opt", "lpmethod 2\n")
    if len(os.listdir(str(root / "cplex"))) == 1:
        if os.name == "nt":
            pytest.skip("Windows' file systems are case-insensitive: one file, no duplicate")
        pytest.fail("this test needs a case-sensitive file system (tmp_path=%s)" % tmp_path)
    message = profile_error(resolve_profiles, "cplex", None, str(root))
    assert message.endswith("both define cplex profile 'fast': keep one of them")


def test_top_level_gurobi_opt_is_refused(tmp_path):
    root = tmp_path / "opts"
    path = write(root / "gurobi.opt", "Method 2\n")
    assert profile_error(resolve_profiles, "cplex", None, str(root)) == (
        "%s would be read as a CPLEX profile (an .opt file directly in --opt-dir is for CPLEX): "
        "move it to %s" % (path, os.path.join(str(root), "gurobi", "NAME.opt")))


def test_opt_dir_binary_file_is_read_as_gams_reads_it(tmp_path):
    # GAMS reads any bytes: the option check judges each line (a NUL line: ignored).
    root = tmp_path / "opts"
    write(root / "cplex" / "bin.opt", b"lpmethod 2\n\x00\x01", mode="wb")
    chosen = resolve_profiles("cplex", ["bin"], str(root))
    assert chosen[0].lines == ["lpmethod 2", "\x00\x01"]


def test_opt_dir_file_is_checked_only_for_chosen_solvers(opt_dir):
    os.mkdir(os.path.join(opt_dir, "gurobi", "broken.opt"))  # not a file: refused if read
    assert names_of(resolve_profiles("cplex", ["tuned"], opt_dir)) == ["tuned"]


# -- read_option_file --------------------------------------------------------


@pytest.mark.parametrize("data, lines", [
    (b"lpmethod 2\n* c\n\nthreads 4\n", ["lpmethod 2", "* c", "", "threads 4"]),
    (b"lpmethod 2\r\nthreads 4\r\n", ["lpmethod 2", "threads 4"]),
    (b"lpmethod 2\rthreads 4", ["lpmethod 2", "threads 4"]),
    (b"\xef\xbb\xbflpmethod 2\n", ["lpmethod 2"]),
    (b"* caf\xc3\xa9\tx\n", ["* caf\u00e9\tx"]),
    (b"", []),
    (b"\n", [""]),
    (b"a\x1a", ["a\x1a"]),
])
def test_read_option_file(tmp_path, data, lines):
    path = write(tmp_path / "x.opt", data, mode="wb")
    assert read_option_file(path) == lines


def test_read_option_file_size_limit(tmp_path):
    limit = profiles.MAX_OPTION_FILE_BYTES
    assert limit == 1024 * 1024
    ok = write(tmp_path / "ok.opt", b"*" * (limit - 1) + b"\n", mode="wb")
    assert len(read_option_file(ok)) == 1
    big = write(tmp_path / "big.opt", b"*" * (limit + 1), mode="wb")
    assert profile_error(read_option_file, big) == (
        "option file %s is larger than 1 MiB (%d bytes): an option file holds a few solver "
        "settings, check it is the right file" % (big, limit + 1))


def test_read_option_file_not_utf8_keeps_the_bytes(tmp_path):
    # A Latin-1 comment: GAMS reads it, and the run's option file gets the same bytes.
    path = write(tmp_path / "l1.opt", b"* caf\xe9\nlpmethod 2\n", mode="wb")
    lines = read_option_file(path)
    assert lines == ["* caf\udce9", "lpmethod 2"]
    assert "\n".join(lines).encode("utf-8", "surrogateescape") == b"* caf\xe9\nlpmethod 2"


def test_read_option_file_control_bytes(tmp_path):
    path = write(tmp_path / "c.opt", b"lpmethod\x1b[2\n", mode="wb")
    assert read_option_file(path) == ["lpmethod\x1b[2"]


def test_read_option_file_missing(tmp_path):
    path = str(tmp_path / "none.opt")
    assert profile_error(read_option_file, path) == (
        "option file %s does not exist: check the name or the --opt-dir folder" % path)


def test_read_option_file_is_a_directory(tmp_path):
    (tmp_path / "d.opt").mkdir()
    path = str(tmp_path / "d.opt")
    assert profile_error(read_option_file, path) == (
        "option file %s is not a regular file: give a plain-text .opt file" % path)
    # The same check applies to a folder named like a profile inside --opt-dir.
    root = tmp_path / "opts"
    (root / "cplex" / "x.opt").mkdir(parents=True)
    assert "is not a regular file" in profile_error(resolve_profiles, "cplex", None, str(root))


def test_read_option_file_unreadable(tmp_path, monkeypatch):
    # Root reads any file, so the permission error is simulated at the open seam.
    path = write(tmp_path / "locked.opt", "lpmethod 2\n")

    def refuse(name):
        raise PermissionError(13, "Permission denied", name)
    monkeypatch.setattr(profiles, "_open_binary", refuse)
    assert profile_error(read_option_file, path) == (
        "cannot read option file %s (Permission denied): make it readable or remove it" % path)


# -- render_option_file ------------------------------------------------------


def cplex(lines, name="p"):
    return Profile(name, "cplex", name, "builtin", lines)


def gurobi(lines, name="p"):
    return Profile(name, "gurobi", name, "builtin", lines)


def test_render_builtin_cplex_dual():
    dual = resolve_profiles("cplex", ["dual"])[0]
    assert render_option_file(dual, 4) == "lpmethod 2\nthreads 4\nsimdisplay 2\nbardisplay 2\n"


def test_render_builtin_gurobi_bar_nox():
    bar_nox = resolve_profiles("gurobi", ["bar_nox"])[0]
    assert render_option_file(bar_nox, 2) == "Method 2\nCrossover 0\nThreads 2\n"


@pytest.mark.parametrize("line", ["threads 8", "threads=8", "Threads 8", "THREADS\t8",
                                  "  threads = 8", "threads"])
def test_render_replaces_an_existing_threads_line(line):
    text = render_option_file(cplex(["* keep", line, "lpmethod 4"]), 3)
    assert text == "* keep\nthreads 3\nlpmethod 4\nsimdisplay 2\nbardisplay 2\n"


def test_render_gurobi_threads_spelling():
    assert render_option_file(gurobi(["threads=8", "Method 1"]), 1) == "Threads 1\nMethod 1\n"


def test_render_leaves_comments_and_look_alikes():
    text = render_option_file(cplex(["* threads 9", "threadsx 1", "", "lpmethod 1"]), 2)
    assert text == ("* threads 9\nthreadsx 1\n\nlpmethod 1\nthreads 2\nsimdisplay 2\n"
                    "bardisplay 2\n")


def test_render_keeps_display_settings_of_the_profile():
    text = render_option_file(cplex(["SimDisplay 0", "bardisplay=1"]), 1)
    assert text == "SimDisplay 0\nbardisplay=1\nthreads 1\n"


def test_render_every_threads_line_is_set():
    assert render_option_file(gurobi(["Threads 2", "x 1", "threads 3"]), 5) == (
        "Threads 5\nx 1\nThreads 5\n")


def test_render_empty_profile():
    assert render_option_file(cplex([]), 1) == "threads 1\nsimdisplay 2\nbardisplay 2\n"
    assert render_option_file(gurobi([]), 0) == "Threads 0\n"


@pytest.mark.parametrize("threads", [-1, 1.5, "4", None, True])
def test_render_rejects_bad_thread_counts(threads):
    with pytest.raises(ValueError):
        render_option_file(cplex([]), threads)


def test_render_opt_dir_profile_with_crlf(opt_dir):
    g1 = resolve_profiles("gurobi", ["g1"], opt_dir)[0]
    assert render_option_file(g1, 4) == "Method 2\nBarConvTol 1e-7\nThreads 4\n"
