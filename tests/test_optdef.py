"""optdef: GAMS's opt<solver>.def format and option-file findings (pure functions)."""

import os

import pytest

from times_doctor.solvers import optdef

# Lines in the layout of GAMS 54.6.1's own optcplex.def (written for this test,
# not copied: the real file is GAMS's).
REAL_FORMAT = """*
* optcplex.def
*

usebasis boolean 0 0 0 1 GMO usebasis
.lazy boolean 0 0 1 7 Lazy constraints activation
cuts enumstr 0 "0" 1 7 default cut generation
 "-1" 1 Do not generate cuts
 "0" 1 Determined automatically
 "yes" 0 Determined automatically. This is a deprecated setting.
feasopt boolean 0 0 1 1 computes a minimum-cost relaxation
 0 Turns Feasible Relaxation off
 1 Turns Feasible Relaxation on
mipstart integer 0 0 0 6 1 7 use mip starting values
 0 do not use the values
nobounds immediate nobounds 0 1 ignores bounds on options
readfile immediate readfile 0 1 read secondary option file
solnpool string 0 "" 1 9 solution pool file name
tuning strlist 0 1 1 invokes parameter tuning tool
epgap double 2009 1.0e-04 0.0 1.0 1 10 relative stopping tolerance
lpmethod enumint 1062 0 1 1 algorithm to be used for LP problems
 0 1 Automatic
 1 1 Primal Simplex
 2 1 Dual Simplex
 4 1 Barrier
threads integer 1067 0 minint maxint 1 1 global default thread count
tilim double 1039 1.0e+75 0.0 1.0e+75 1 1 overrides the GAMS ResLim option
*
* synonym section
*
mipgap synonym epgap
gthreads synonym threads
*
* indicator section
*
indic  indicator
myeolchar EOLCOMM !
*
* deprecated section
*
synon deprecated
 mipgap
*
* Groups
*
general group 1 1 Preprocessing and General Options
*** End of file
"""


HERE_FILE = os.path.abspath(__file__)


@pytest.fixture
def defs():
    return optdef.parse_def_text(REAL_FORMAT, "optcplex.def")


def test_parse_real_format(defs):
    assert defs.options["lpmethod"] == optdef.OptionDef("lpmethod", "enumint", None, None,
                                                        ("0", "1", "2", "4"))
    assert defs.options["epgap"] == optdef.OptionDef("epgap", "double", "0.0", "1.0", ())
    assert defs.options["threads"].lower == "minint"
    assert defs.options["cuts"].values == ("-1", "0", "yes")
    assert defs.options["feasopt"].values == ()  # value texts of a boolean are help only
    assert set(defs.dot_options) == set(["lazy"])
    assert defs.synonyms == {"mipgap": "epgap", "gthreads": "threads"}
    assert defs.deprecated == set(["mipgap"])
    assert defs.indicators == set(["indic"])
    assert defs.eol_comment == "!"
    assert "general" not in defs.options  # groups are not options
    assert defs.resolve("MIPGAP").name == "epgap"


def findings(defs, lines, threads_line="threads 7"):
    return [(item.line, item.severity, item.message)
            for item in optdef.check_option_lines(lines, defs, "CPLEX", threads_line)]


def test_the_issue_example_gives_three_precise_messages(defs):
    assert findings(defs, ["lpmethd 4", "lpmethod 9", "threads two"]) == [
        (1, "error", "unknown CPLEX option 'lpmethd': did you mean 'lpmethod'? (GAMS ignores "
                     "the line)"),
        (2, "error", "'lpmethod' must be one of 0 1 2 4, not 9 (GAMS ignores the line)"),
        (3, "warning", "'threads' must be an integer, not 'two', but the scan replaces this "
                       "line with 'threads 7' (--threads)"),
    ]


def test_good_lines_give_nothing(defs):
    lines = ["* a comment", "", "lpmethod 4", "epgap=0.001", "tilim 3600 ! a comment", "usebasis 1", "cuts yes", 'cuts "-1"',
             "x.lazy 1", "indic c(i)$b(i) 1", "nobounds 1", "readfile %s" % HERE_FILE,
             "solnpool pool.gdx", "tuning a b c", "mipstart 3", "tilim 1e+75"]
    result = findings(defs, lines)
    # cuts and tilim are each set twice: warnings, the later line wins.
    assert result == [
        (8, "warning", "'cuts' is set on line 7 and again on line 8: line 8 wins (GAMS reads "
                       "the file top to bottom)"),
        (16, "warning", "'tilim' is set on line 5 and again on line 16: line 16 wins (GAMS "
                        "reads the file top to bottom)"),
    ]


@pytest.mark.parametrize("line, message", [
    ("epgap 2", "'epgap' must be in [0.0, 1.0], not 2"),
    ("epgap -0.1", "'epgap' must be in [0.0, 1.0], not -0.1"),
    ("epgap abc", "'epgap' must be a number, not 'abc'"),
    ("epgap nan", "'epgap' must be a number, not 'nan'"),
    ("mipstart 7", "'mipstart' must be in [0, 6], not 7"),
    ("mipstart 2.5", "'mipstart' must be an integer, not '2.5'"),
    ("usebasis 2", "'usebasis' is a boolean: write 0/1, yes/no, on/off or true/false, not "
                   "'2'"),
    ("usebasis 1.0", "'usebasis' is a boolean: write 0/1, yes/no, on/off or true/false, not "
                     "'1.0'"),
    ("cuts 9", "'cuts' must be one of -1, 0, yes, not '9'"),
    ("lpmethod", "'lpmethod' needs a value"),
    ("lpmethod 1.5", "'lpmethod' must be a whole number (one of 0 1 2 4), not '1.5'"),
    ("lpmethod 1.0", "'lpmethod' must be a whole number (one of 0 1 2 4), not '1.0'"),
    ("lpmethod inf", "'lpmethod' must be a whole number (one of 0 1 2 4), not 'inf'"),
    ("lpmethod maxint", "'lpmethod' must be one of 0 1 2 4, not maxint"),
    ("mipstart inf", "'mipstart' must be an integer, not 'inf'"),
    ("mipstart maxdouble", "'mipstart' must be an integer, not 'maxdouble'"),
    ("mipstart 1e10", "'mipstart' must be an integer, not '1e10'"),
    ("epgap maxint", "'epgap' must be a number, not 'maxint'"),
    ("epgap inf", "'epgap' must be a number, not 'inf'"),
    ("epgap 0x10", "'epgap' must be a number, not '0x10'"),
    ("epgap 1e309", "'epgap' must be a number, not '1e309'"),
    ("tilim maxdouble", "'tilim' must be in [0.0, 1.0e+75], not maxdouble"),
    ("nobounds", "'nobounds' needs a value"),
    ("lpmethod :4", "'lpmethod' needs a value (write lpmethod VALUE or lpmethod=VALUE, not "
                    "':')"),
    ("cuts 'yes'", "'cuts' must be one of -1, 0, yes, not ''yes''"),
    ('cuts "yes', "'cuts': a value with a double quote must be one quoted string, not "
                  '"yes'),
    ("readfile more.opt", "'readfile more.opt': GAMS looks for the file in the run's own "
                          "folder, where the scan copies nothing else: give its absolute "
                          "path"),
])
def test_bad_values(defs, line, message):
    assert findings(defs, [line]) == [(1, "error", message + " (GAMS ignores the line)")]


@pytest.mark.parametrize("line", [
    # Booleans in every spelling GAMS takes, any case.
    "usebasis yes", "usebasis NO", "usebasis on", "usebasis Off", "usebasis true",
    "usebasis F", "usebasis y", "usebasis t", 'usebasis "1"',
    # Integers: on/off, a whole double, Fortran exponents, hexadecimal, maxint.
    "mipstart on", "mipstart 1.0", "mipstart 3e0", "mipstart 0x3", "mipstart .",
    "threads maxint", "threads MININT", "threads 1d3", "threads -0x80000000",
    # enumint: plain digits with a sign, leading zeros, hexadecimal, on/off.
    "lpmethod +4", "lpmethod 04", "lpmethod 0x4", "lpmethod on", "lpmethod -0",
    # Doubles: Fortran exponents, a lone point, eps, the bound words.
    "epgap 1d-6", "epgap 1D-6", "epgap .", "epgap -.", "epgap .e5", "epgap eps",
    "tilim 1e+75", "epgap 1e-400",
    # Separators, blanks, comments, quotes, control characters at the end.
    "epgap=0.1", "epgap = 0.1", "epgap\t0.1", "epgap :=0.1", "epgap 0.1   ",
    "epgap 0.1\t", "epgap 0.1 ! comment", 'epgap " 0.1 "', "epgap 0.1\r",
    "epgap 0.1\x01", "epgap 0.1\x00", "  epgap 0.1", "\tepgap 0.1",
    # Dot options (one word each, several on a line), indicators.
    "x.lazy 1", "x.LAZY yes y.lazy 0", "x.lazy=1,y.lazy 0", "x.lazy('a') 1",
    "indic c(i)$b(i) 1", "INDIC c $ b on", "indic c(i,j)$b(j) 0 lpmethod 4",
    "indic c[i]$b[i] yes",
    # A slash is part of a name (an unknown one here, see below), comments.
    "* lpmethod 9", "!lpmethod 9", "",
])
def test_lines_gams_reads(defs, line):
    assert [item for item in findings(defs, [line]) if item[1] == "error"] == []


@pytest.mark.parametrize("line, code", [
    ("4 lpmethod", optdef.KEYWORD), ("_x 1", optdef.KEYWORD), (" *lpmethod 4", optdef.KEYWORD),
    ("\xef\xbb\xbflpmethod 4", optdef.KEYWORD), ("\x00", optdef.KEYWORD),
    ("lp-method 4", optdef.SEPARATOR), ("lpmethod,4", optdef.SEPARATOR),
    ("lpmethod!4", optdef.SEPARATOR), ("lp/method 4", optdef.UNKNOWN),
    ("lpmethod", optdef.NO_VALUE), ("lpmethod =", optdef.NO_VALUE),
    ("epgap ! 0.1", optdef.NO_VALUE), ("x.lazy", optdef.NO_VALUE),
    ("x.unknown 1", optdef.SUFFIX), ("x. lazy 1", optdef.SUFFIX),
    ("x.lazy(i) 1", optdef.SUFFIX), ('solnpool "a" b', optdef.QUOTE),
    ("x.lazy 2", optdef.BOOLEAN), ("x.lazy 1 2", optdef.KEYWORD),
    ("lpmethod 4 5", optdef.INTEGER), ("lpmethod 4;", optdef.INTEGER),
    ("lpmethod 9", optdef.ENUM), ("epgap 1.5", optdef.RANGE),
    ("indic c$b 2", optdef.INDICATOR), ("indic c(i)$b(j) 1", optdef.INDICATOR),
    ("indic c(*)$b 1", optdef.INDICATOR), ("indic c$b 1 lpmethod 9", optdef.ENUM),
])
def test_lines_gams_ignores_and_why(defs, line, code):
    errors = [item for item in optdef.check_option_lines([line], defs, "CPLEX")
              if item.severity == optdef.ERROR]
    assert [(item.line, item.code) for item in errors] == [(1, code)]
    assert errors[0].message.endswith("(GAMS ignores the line)")


def test_nobounds_changes_how_later_lines_are_read(defs):
    lines = ["lpmethod 9", "nobounds 1", "lpmethod 9", "epgap 2", "cuts 9", "nobounds off",
             "lpmethod 9"]
    assert [(item.line, item.severity, item.code)
            for item in optdef.check_option_lines(lines, defs, "CPLEX")] == [
        (1, "error", optdef.ENUM),
        (3, "warning", optdef.KEPT_OUTSIDE),     # passed on to the solver
        (4, "error", optdef.RANGE),              # still ignored (GAMS: a warning)
        (5, "error", optdef.ENUM),               # dropped without a word
        (7, "error", optdef.ENUM)]


def test_a_line_is_read_as_its_first_1020_bytes(defs):
    assert findings(defs, ["lpmethod" + " " * 1011 + "4"]) == []
    assert findings(defs, ["lpmethod" + " " * 1012 + "4"]) == [
        (1, "error", "'lpmethod' needs a value (GAMS ignores the line)")]
    # UTF-8 text counts in bytes; the cut may fall inside a character.
    assert findings(defs, ["solnpool " + "\u00e9" * 2000]) == []


def test_undecodable_bytes_and_odd_strings_never_raise(defs):
    lines = ["solnpool \udce9\udcff", "lpmethod \udce9", "\ud800 lone", "x\udcff.lazy 1",
             "indic c(\udce9)$b 1", "epgap 1" + "0" * 5000, "threads 1e" + "9" * 5000,
             "threads 0x" + "f" * 5000, "lpmethod " + "9" * 5000]
    result = optdef.check_option_lines(lines, defs, "CPLEX")
    assert [item.line for item in result if item.severity == optdef.ERROR] == \
        [2, 3, 4, 5, 6, 7, 8, 9]
    for item in result:
        assert all(" " <= char <= "~" for char in item.message), item.message
        assert len(item.message) < 400


def test_unknown_without_a_close_match(defs):
    assert findings(defs, ["zzzzqqq 1"]) == [
        (1, "error", "unknown CPLEX option 'zzzzqqq' (GAMS ignores the line)")]


def test_synonyms_deprecated_and_set_twice_across_names(defs):
    assert findings(defs, ["epgap 0.1", "mipgap 0.2"]) == [
        (2, "warning", "'mipgap' is a deprecated name of 'epgap'"),
        (2, "warning", "'epgap' is set on line 1 and again on line 2: line 2 wins (GAMS reads "
                       "the file top to bottom)"),
    ]


def test_threads_line_any_case(defs):
    assert findings(defs, ["Threads 4"], threads_line="threads 1") == [
        (1, "warning", "Threads: the scan replaces this line with 'threads 1' (--threads)")]
    # Without --threads in play a threads line is an ordinary option.
    assert findings(defs, ["threads 4"], threads_line=None) == []


def test_read_def_file_errors(tmp_path):
    with pytest.raises(optdef.ParseError) as error:
        optdef.read_def_file(str(tmp_path / "optnone.def"))
    assert "cannot read option definitions" in str(error.value)


def test_def_file_path():
    assert optdef.def_file_path("/opt/gams/", "CPLEX") == os.path.join("/opt/gams/",
                                                                       "optcplex.def")


REAL_GAMS_DEF = None
try:
    from gams_select import solver_report
    _gams = solver_report().get("gamspy_gams")
    if _gams:
        REAL_GAMS_DEF = os.path.join(os.path.dirname(_gams), "optcplex.def")
except Exception:  # broad on purpose: only decides whether the next test can run
    REAL_GAMS_DEF = None


@pytest.mark.skipif(not (REAL_GAMS_DEF and os.path.isfile(REAL_GAMS_DEF)),
                    reason="no gamspy-base optcplex.def in the solver interpreter")
def test_reads_the_real_optcplex_def():
    defs = optdef.read_def_file(REAL_GAMS_DEF)
    assert len(defs.options) > 200
    assert defs.options["lpmethod"].values == ("0", "1", "2", "3", "4", "5", "6")
    assert defs.options["threads"].kind == "integer"
    assert defs.resolve("mipgap").name == "epgap"
    assert findings(defs, ["lpmethd 4", "lpmethod 9", "threads two"])[0][2].startswith(
        "unknown CPLEX option 'lpmethd': did you mean 'lpmethod'?")


def test_standin_def_files_follow_the_format():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gams_standin")
    cplex = optdef.read_def_file(os.path.join(here, "optcplex.def"))
    assert cplex.options["lpmethod"].values == ("0", "1", "2", "3", "4", "5", "6")
    assert cplex.options["solutiontype"].values == ("0", "1", "2")
    gurobi = optdef.read_def_file(os.path.join(here, "optgurobi.def"))
    assert gurobi.resolve("Method") == optdef.OptionDef("method", "integer", "-1", "6", ())
    highs = optdef.read_def_file(os.path.join(here, "opthighs.def"))
    assert highs.resolve("time_limit").upper == "maxdouble"
