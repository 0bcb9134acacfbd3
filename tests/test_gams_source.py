"""gams_source.py: the option-statement lexer behind the driver rewrite, and $include lines."""

import tracemalloc

import pytest

from times_doctor.gams.source import include_names, replace_solver_values


# -- replace_solver_values ---------------------------------------------------


@pytest.mark.parametrize("before, after", [
    ("option LP=conopt;\n", "option LP=cplex;\n"),
    ("option lp=conopt, reslim=100;\r\n", "option lp=cplex, reslim=100;\r\n"),
    ("Option LP = xpress;\n", "Option LP = cplex;\n"),
    ("OPTION mip=cbc ;", "OPTION mip=cplex ;"),
    ("Options RMIP=conopt, MIP = conopt ;\n", "Options RMIP=cplex, MIP = cplex ;\n"),
    # Several assignments, separated by line breaks, a value on the next line.
    ("options\r\n   lp = conopt\r\n   reslim = 10\r\n   mip =\r\n cbc;\r\n",
     "options\r\n   lp = cplex\r\n   reslim = 10\r\n   mip =\r\n cplex;\r\n"),
    ("option limrow=0, limcol=0,\n  lp=conopt, solprint=off;\n",
     "option limrow=0, limcol=0,\n  lp=cplex, solprint=off;\n"),
    ("option qcp=conopt, miqcp=sbb, rmiqcp=conopt, nlp=conopt, mcp=path;\n",
     "option qcp=cplex, miqcp=cplex, rmiqcp=cplex, nlp=conopt, mcp=path;\n"),
    ("option solver=conopt;\n", "option solver=cplex;\n"),
    ("option lp=%solver%, mip=%1;\n", "option lp=cplex, mip=cplex;\n"),
    ("option decimals = 3, x:2:1:1, lp=conopt;\n", "option decimals = 3, x:2:1:1, lp=cplex;\n"),
    # ';' left out before the next statement (GAMS allows it).
    ("option lp=conopt\nsolve m using lp min z;\n", "option lp=cplex\nsolve m using lp min z;\n"),
    ("loop(i, option lp=conopt;);\nif(c, option lp=conopt) ;\n",
     "loop(i, option lp=cplex;);\nif(c, option lp=cplex) ;\n"),
    ("$if not set x option lp=conopt;\n", "$if not set x option lp=cplex;\n"),
    ("$ifI %s%==A option LP = conopt\nlp = 1;\n", "$ifI %s%==A option LP = cplex\nlp = 1;\n"),
    ("a = 1; option lp = conopt; b = 2;", "a = 1; option lp = cplex; b = 2;"),
    ("option lp=conopt\noption mip=cbc;\n", "option lp=cplex\noption mip=cplex;\n"),
    ("x.l = 1; option\n\n  lp\n  =\n  conopt\n;\n", "x.l = 1; option\n\n  lp\n  =\n  cplex\n;\n"),
])
def test_rewrite_changes_solver_assignments(before, after):
    assert replace_solver_values(before, "cplex") == after


@pytest.mark.parametrize("text", [
    "* option lp=conopt;\n",
    "$ontext\noption lp=conopt;\n$offtext\n",
    "$onText\r\nOption LP = conopt;\r\n$offText\r\n",
    "$onecho > x.gms\noption lp=conopt;\n$offecho\n",
    "$onPut\noption lp=conopt;\n$offPut\n",
    "embeddedCode Python:\noption lp = x\nendEmbeddedCode\n",
    "Set mt 'model types' / lp, mip, rmip /;\nParameter w(mt); w('lp') = 1; w(mt) = 2;\n",
    "display 'option lp=conopt;';\nput \"option lp=conopt;\" /;\n",
    "$set lpsolver conopt\n$call gams x lp=conopt\n$setGlobal X option lp=conopt\n",
    "m.optfile = 1; x.lo = 0; Scalar lpx / 1 /;\n",
    "option limrow = 0;\noption lp : 2;\n",
    "option lp = 'conopt';\n",  # not valid GAMS: a quoted value is left as is
    "m.option lp = conopt;\n",
    "$onInline\nx = 1; /* a comment\noption lp=conopt;\nthat spans lines */ y = 2;\n",
    "",
    "\n\n",
])
def test_rewrite_leaves_other_text_alone(text):
    assert replace_solver_values(text, "gurobi") == text


def test_rewrite_comment_switches():
    text = ("$comment !\n! option lp=conopt;\n* x\noption lp=conopt;\n"
            "$onEolCom\noption reslim=1 !! lp=conopt\n, lp=a;\n"
            "$eolCom //\noption reslim=1 // lp=conopt\n;\n$offEolCom\n"
            "$onInline\noption /* lp=conopt */ mip=b;\n"
            "$inlineCom {{ }}\noption {{ lp=conopt\n mip=conopt }} rmip=c;\n")
    assert replace_solver_values(text, "gurobi") == text.replace(
        "* x\noption lp=conopt", "* x\noption lp=gurobi").replace(
        "lp=a", "lp=gurobi").replace("mip=b", "mip=gurobi").replace("rmip=c", "rmip=gurobi")


def test_rewrite_keeps_other_bytes_identical():
    # Decoded as Latin-1, as prepare_work_dir does: UTF-8 and stray bytes survive, and
    # 0x85 (NEL) / 0xa0 (NBSP) are neither line breaks nor blanks, as for GAMS.
    raw = (b"\xef\xbb\xbf* caf\xc3\xa9\r\nSet s 'Z\xfcrich' / a /;\r\noption LP=conopt;\r\n"
           b"\x85 option mip=conopt;\n* option lp=x;\noption\xa0lp=conopt;\n")
    out = replace_solver_values(raw.decode("latin-1"), "cplex").encode("latin-1")
    assert out == raw.replace(b"LP=conopt", b"LP=cplex").replace(b"mip=conopt", b"mip=cplex")


def test_rewrite_of_a_large_driver_tokenizes_only_what_matters():
    # Megabytes of inline data must not cost a token per number (time, memory).
    data = "   REG1.2020.COAL.DAYNITE   12.345   0.55   17.2   'text'\n" * 100000
    text = "option lp=conopt;\n" + data + "Option\n  LP = x;\n"
    tracemalloc.start()
    try:
        out = replace_solver_values(text, "cplex")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out == "option lp=cplex;\n" + data + "Option\n  LP = cplex;\n"
    assert peak < 4 * len(text), (peak, len(text))


# -- include_names -----------------------------------------------------------


def test_include_names_skips_text_blocks_and_reads_every_quoting():
    lines = ["$include base.dd", "$ontext", "$include hidden.dd", "$offtext",
             "$ batInclude \"with space.dd\" 2", "$INCLUDE 'single.dd'",
             "$include %run%.dd", "* $include comment.dd", "$if exist x $include x.dd",
             "$include", "$offtext", "$onText", "$offText", "$include last"]
    assert list(include_names(lines)) == [
        (1, "base.dd"), (5, "with space.dd"), (6, "single.dd"), (7, "%run%.dd"), (14, "last")]


def test_include_names_of_nothing():
    assert list(include_names([])) == []
    assert list(include_names(["", "option lp=cplex;"])) == []
