"""optdef: GAMS's opt<solver>.def format and option-file findings (pure functions)."""

import os

import pytest

from times_doctor import optdef

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
             "x.lazy 1", "indic c(i)$b(i) 1", "nobounds", "readfile more.opt",
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
    ("usebasis 2", "'usebasis' is a boolean: write 0 or 1, not '2'"),
    ("cuts 9", "'cuts' must be one of -1, 0, yes, not '9'"),
    ("lpmethod", "'lpmethod' needs a value"),
    ("lpmethod 1.5", "'lpmethod' must be an integer, not '1.5'"),
])
def test_bad_values(defs, line, message):
    assert findings(defs, [line]) == [(1, "error", message + " (GAMS ignores the line)")]


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
except Exception:  # noqa: only decides whether the next test can run
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
