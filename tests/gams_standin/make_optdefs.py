#!/usr/bin/env python3
"""Write the stand-in's option definition files: optcplex.def, optgurobi.def, opthighs.def.

Why: times-doctor checks every option file against ``<GAMS system
dir>/opt<solver>.def`` of the user's GAMS.  The stand-in's system directory
is this folder, so it needs def files of its own.  GAMS's own optcplex.def is
GAMS's file and is not copied here; these are written in the same format
(see times_doctor/optdef.py) and list exactly the options the stand-in's
links accept (solver_links.py), with types and ranges taken from the solvers
themselves:

* CPLEX: the GAMS/CPLEX names of ``CplexLink.PARAMETERS``, each with its
  CPLEX parameter's ``type()``, ``min()``, ``max()``, ``default()``;
  parameters with named ``values`` become ``enumint``;
* Gurobi: every ``GRB.Param`` name, with ``Model.getParamInfo``'s type,
  minimum, maximum and default;
* HiGHS: every option ``Highs.writeOptions`` lists, with its type, range
  and default as HiGHS writes them;
* the options a link handles itself (``LINK_OPTIONS`` of the CPLEX and
  Gurobi links: ``iis``, ``names``), with the type, range and default GAMS's
  own def files give them (gamspy-base 54.6.1).

Run under the solver interpreter (TD_STANDIN_PYTHON, .venv)::

    .venv/bin/python tests/gams_standin/make_optdefs.py           # (re)write
    .venv/bin/python tests/gams_standin/make_optdefs.py --check   # exit 1 if stale
"""

import argparse
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # tests/: generated_files

import generated_files  # noqa: E402 (sys.path above)
import solver_links  # noqa: E402 (sys.path above)

HEADER = """*
* opt%(solver)s.def of the GAMS stand-in (times-doctor tests): not GAMS's file.
* Written by tests/gams_standin/make_optdefs.py from %(source)s:
* the options the stand-in's %(label)s link accepts, in GAMS's def-file format.
*
"""
FOOTER = """*
* Groups
* <group-ident> group <group-number <help-context> <help-text>
*
general group 1 1 Options the stand-in passes to the solver
*** End of file
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the stand-in's opt<solver>.def files.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a checked-in file differs")
    options = parser.parse_args(argv)
    outputs = [(name, text.encode("utf-8")) for name, text in
               (("optcplex.def", cplex_def()), ("optgurobi.def", gurobi_def()),
                ("opthighs.def", highs_def()))]
    return generated_files.write_or_check("make_optdefs.py", HERE, outputs, options.check)


def cplex_def():
    import cplex
    problem = cplex.Cplex()
    lines = []
    for name in sorted(solver_links.CplexLink.PARAMETERS):
        parameter = problem.parameters
        for part in solver_links.CplexLink.PARAMETERS[name].split("."):
            parameter = getattr(parameter, part)
        kind = parameter.type()
        help_text = "CPLEX parameter %s" % solver_links.CplexLink.PARAMETERS[name]
        refnum = getattr(parameter, "_id", 0)
        values = getattr(parameter, "values", None)
        if kind is int and values is not None:
            named = sorted((getattr(values, each), each) for each in dir(values)
                           if not each.startswith("_") and isinstance(getattr(values, each), int))
            lines.append("%s enumint %d %d 1 1 %s" % (name, refnum, parameter.default(),
                                                      help_text))
            lines.extend(" %d 1 %s" % (value, label) for value, label in named)
        elif kind is int:
            lines.append("%s integer %d %d %d %d 1 1 %s" % (
                name, refnum, parameter.default(), parameter.min(), parameter.max(), help_text))
        elif kind is float:
            lines.append("%s double %d %s %s %s 1 1 %s" % (
                name, refnum, _number(parameter.default()), _number(parameter.min()),
                _number(parameter.max()), help_text))
        else:
            lines.append('%s string %d "%s" 1 1 %s' % (name, refnum, parameter.default(),
                                                      help_text))
    lines.extend(_link_option_lines(solver_links.CplexLink))
    return _file("cplex", "CPLEX %s's parameter information" % cplex.__version__, "CPLEX",
                 _sorted_entries(lines))


def gurobi_def():
    import gurobipy
    env = gurobipy.Env(empty=True)
    env.setParam("OutputFlag", 0)
    env.start()
    model = gurobipy.Model(env=env)
    lines = []
    names = sorted((each for each in dir(gurobipy.GRB.Param) if not each.startswith("_")),
                   key=str.lower)
    for name in names:
        _, kind, _, low, high, default = model.getParamInfo(name)
        help_text = "Gurobi parameter %s" % name
        if kind is int:
            lines.append("%s integer 0 %d %d %d 1 1 %s" % (name.lower(), default, low, high,
                                                         help_text))
        elif kind is float:
            lines.append("%s double 0 %s %s %s 1 1 %s" % (name.lower(), _number(default),
                                                        _number(low), _number(high), help_text))
        else:
            lines.append('%s string 0 "%s" 1 1 %s' % (name.lower(), default, help_text))
    model.dispose()
    env.dispose()
    lines.extend(_link_option_lines(solver_links.GurobiLink))
    lines = _sorted_entries(lines)
    return _file("gurobi", "Gurobi %d.%d.%d's Model.getParamInfo" % gurobipy.gurobi.version(),
                 "Gurobi", lines)


def highs_def():
    import highspy
    try:
        from importlib.metadata import version
        label = "HiGHS (highspy %s)" % version("highspy")
    except ImportError:
        label = "HiGHS"
    folder = tempfile.mkdtemp(prefix="td-optdefs-")
    path = os.path.join(folder, "options.txt")
    try:
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.writeOptions(path)
        with open(path) as handle:
            text = handle.read()
    finally:
        if os.path.exists(path):
            os.remove(path)
        os.rmdir(folder)
    lines = []
    described = re.compile(r"^# \[type: (\w+), advanced: \w+, (?:range: ([\[{])(.+?), (.+?)"
                           r"[\]}], )?default: (.+?)\]\n(\w+) = ", re.M)
    for match in described.finditer(text):
        kind, _, low, high, default, name = match.groups()
        help_text = "HiGHS option %s" % name
        if kind == "bool":
            lines.append("%s boolean 0 %d 1 1 %s" % (name, default == "true", help_text))
        elif kind == "integer":
            lines.append("%s integer 0 %s %s %s 1 1 %s" % (name, default, low, high, help_text))
        elif kind == "double":
            lines.append("%s double 0 %s %s %s 1 1 %s" % (name, _word(default), _word(low),
                                                        _word(high), help_text))
        else:
            lines.append('%s string 0 "%s" 1 1 %s' % (name, default.strip('"'), help_text))
    return _file("highs", label + "'s writeOptions", "HiGHS", sorted(lines))


def _link_option_lines(link):
    """Def-file entries of a link's own options (``iis 0 1 2``, ``names`` boolean)."""
    lines = []
    for name in sorted(link.LINK_OPTIONS):
        kind, lowest, highest, default, help_text = link.LINK_OPTIONS[name]
        if kind == "boolean":
            lines.append("%s boolean 0 %d 1 1 %s" % (name, default, help_text))
        else:
            lines.append("%s enumint 0 %d 1 1 %s" % (name, default, help_text))
            lines.extend(" %d 1 %s" % (value, "value %d" % value)
                         for value in range(lowest, highest + 1))
    return lines


def _sorted_entries(lines):
    """Entries (an option line and its indented value lines) sorted by option name."""
    entries = []
    for line in lines:
        if line.startswith(" ") and entries:
            entries[-1].append(line)
        else:
            entries.append([line])
    entries.sort(key=lambda entry: entry[0].split()[0].lower())
    return [line for entry in entries for line in entry]


def _file(solver, source, label, lines):
    return HEADER % {"solver": solver, "source": source, "label": label} + \
        "\n".join(lines) + "\n" + FOOTER


def _number(value):
    if value == float("inf"):
        return "maxdouble"
    if value == float("-inf"):
        return "mindouble"
    return repr(float(value))


def _word(text):
    return {"inf": "maxdouble", "-inf": "mindouble"}.get(text.strip(), text.strip())


if __name__ == "__main__":
    sys.exit(main())
