"""diagnose end to end: the conflict and datacheck profiles run by the GAMS under test, read back.

The GAMS under test is the real one when licensed, else the stand-in, whose conflict
refiner and datacheck are CPLEX's own (tests/gams_standin/README.md).  The infeasible
TIMES-style model (tests/models/times_infeasible) is infeasible because a cumulative import
limit FLO_CUM is below what the minimum imports ACT_BND(LO) need.
"""

import json
import os
import re
import subprocess

import pytest

from gams_select import WINDOWS_NO_OPTION_READER, standin_python
from scan_helpers import read_report, run_cli
from times_doctor.solvers import optdef, table as solvers

pytestmark = pytest.mark.gams


def scan_model(copy_model, model, gams_path, tmp_path, profiles, *extra):
    """Scan a copy of a test model with *profiles*; returns (out folder, stdout)."""
    run_dir = copy_model(model)
    out = str(tmp_path / "out")
    code, stdout, stderr = run_cli(["scan", run_dir, "--gams-path", gams_path, "--profiles",
                                    profiles, "--threads", "1", "--out", out, "--yes"]
                                   + list(extra))
    assert code == 0 and "Traceback" not in stderr, (stdout, stderr)
    return out, stdout


def test_conflict_profile_names_the_times_families_and_the_fix(copy_model, gams_path,
                                                                tmp_path):
    out, stdout = scan_model(copy_model, "times_infeasible", gams_path, tmp_path,
                             "dual,conflict")
    _, rows = read_report(out)
    assert [(row["profile"], row["model_status"]) for row in rows] == [
        ("dual", "4 Infeasible"), ("conflict", "4 Infeasible")]
    # The scan ends with the most blocking finding and the command that says more.
    tail = stdout[stdout.index("No profile reached an optimal model status."):]
    assert "Most blocking (conflict): Solve: infeasible" in tail
    assert "Every finding: times-doctor diagnose --out %s" % out in tail
    fix_line = [line for line in tail.splitlines() if line.startswith("  fix: ")][0]
    assert "ACT_BND(LO)" in fix_line and "FLO_CUM(UP)" in fix_line

    code, text, err = run_cli(["diagnose", "--out", out, "--no-color"])
    assert code == 1 and err == "", err
    conflict_part = text[text.index("conflict ("):]
    assert re.search(r"Conflict refiner: 1 equation and 9 variable bounds in conflict",
                     conflict_part)
    sentences = [line.strip() for line in conflict_part.splitlines()]
    assert ("EQ_CUMFLO cumulative commodity flow limit: 1 equation for region R1, process "
            "IMPELC, commodity ELC, years 2020-2050, must equal 0 (input: FLO_CUM).") in sentences
    assert ("VAR_ACT activity of a process: 8 bounds for region R1, periods 2020, 2030, 2040, "
            "2050, process IMPELC, timeslices DAY, NIGHT, lower bounds 10 (input: ACT_BND).") \
        in sentences
    assert ("VAR_CUMFLO cumulative process flow: 1 bound for region R1, process IMPELC, "
            "commodity ELC, years 2020-2050, upper bound 750 (input: FLO_CUM).") in sentences
    fix = [line for line in sentences if line.startswith("fix: These bounds")]
    assert len(fix) == 1 and fix[0].count(". ") == 0 and fix[0].endswith(".")  # one sentence
    assert "raise FLO_CUM(UP) for region R1, process IMPELC, commodity ELC, years 2020-2050" \
        in fix[0]
    # The dual profile points at the conflict profile of the same scan.
    dual_part = text[:text.index("conflict (")]
    assert "fix: the conflict profile of this scan names what cannot hold together" in dual_part

    code, text, err = run_cli(["diagnose", "--out", out, "--json"])
    document = json.loads(text)
    runs = dict((run["name"], run) for run in document["runs"])
    (report,) = [finding for finding in runs["conflict"]["findings"]
                 if finding["kind"] == "conflict"]
    families = dict((family["family"], family) for family in report["data"]["families"])
    assert sorted(families) == ["EQ_CUMFLO", "VAR_ACT", "VAR_CUMFLO"]
    assert families["VAR_ACT"]["bounds"] == {"lower": {"count": 8, "min": 10.0, "max": 10.0}}
    assert families["VAR_CUMFLO"]["labels"] == [["R1"], ["IMPELC"], ["ELC"], ["2020"],
                                                ["2050"]]
    assert (report["data"]["equations"], report["data"]["variables"]) == (1, 9)

    with open(os.path.join(out, "times_doctor_out", "scan_report.html")) as handle:
        page = handle.read()
    section = page[page.index('<section id="diagnosis">'):]
    section = section[:section.index("</section>")]
    assert '<div class="diagnosis" data-run="conflict"' in section
    assert "EQ_CUMFLO cumulative commodity flow limit" in section
    assert "times-doctor diagnose --out %s" % out in section


def test_datacheck_profile_groups_cplex_warnings_by_number_and_family(copy_model, gams_path,
                                                                      tmp_path):
    out, _ = scan_model(copy_model, "times_style", gams_path, tmp_path, "datacheck")
    code, text, err = run_cli(["diagnose", "--out", out, "--json"])
    (run,) = json.loads(text)["runs"]
    (finding,) = [item for item in run["findings"] if item["kind"] == "datacheck"]
    warnings = finding["data"]["warnings"]
    assert warnings and all(warning["families"] for warning in warnings)
    log = run["files"]["log"]
    with open(log) as handle:
        logged = [line for line in handle if line.startswith("CPLEX Warning")]
    assert sum(warning["count"] for warning in warnings) == len(logged)
    for warning in warnings:
        assert sum(family["count"] for family in warning["families"]) == warning["count"]
        assert all(family["family"].startswith(("EQ_", "VAR_", "OBJZ"))
                   for family in warning["families"])
    assert "CPXPARAM_Read_DataCheck                          2" in open(log).read()


def test_gurobi_conflict_profile_reports_the_iis(copy_model, gams_path, tmp_path):
    out, _ = scan_model(copy_model, "times_infeasible", gams_path, tmp_path, "conflict",
                        "--solver", "gurobi")
    code, text, err = run_cli(["diagnose", "--out", out, "--json"])
    (run,) = json.loads(text)["runs"]
    (report,) = [item for item in run["findings"] if item["kind"] == "conflict"]
    data = report["data"]
    if data["families"]:  # a GAMS/Gurobi that lists the members the way CPLEX's link does
        assert {"EQ_CUMFLO", "VAR_ACT", "VAR_CUMFLO"} <= set(
            family["family"] for family in data["families"])
    else:
        assert data["gurobi_iis"] == {"constraints": 1, "bounds": 9}


ORACLE = r'''
import json, os, sys
from gams.core import opt
import gamspy_base
import gamspy_gurobi
defs = {"cplex": os.path.join(os.path.dirname(gamspy_base.__file__), "optcplex.def"),
        "gurobi": os.path.join(os.path.dirname(gamspy_gurobi.__file__), "optgurobi.def")}
cases = json.loads(sys.argv[1])
result = []
for solver, text in cases:
    handle = opt.new_optHandle_tp()
    opt.optCreateD(handle, os.path.dirname(gamspy_base.__file__), 255)
    assert opt.optReadDefinition(handle, defs[solver]) == 0
    path = os.path.join(sys.argv[2], "case.opt")
    with open(path, "w") as stream:
        stream.write(text + "\n")
    opt.optReadParameterFile(handle, path)
    # Message levels 6 and 7 say the reading started and ended; the rest are findings.
    errors = [opt.optGetMessage(handle, index)[0]
              for index in range(1, opt.optMessageCount(handle) + 1)
              if opt.optGetMessage(handle, index)[1] not in (6, 7)]
    result.append(errors)
print("RESULT " + json.dumps({"errors": result, "defs": defs}))
'''


@pytest.mark.skipif(os.name == "nt", reason=WINDOWS_NO_OPTION_READER)
def test_diagnostic_profiles_and_boolean_words_agree_with_gams_option_reader(tmp_path):
    """GAMS's own option reader (gamsapi) and optdef judge the same lines the same way."""
    cases = []
    for solver in ("cplex", "gurobi"):
        for name in ("conflict", "datacheck"):
            for line in solvers.get(solver).builtin_profiles.get(name, []):
                cases.append((solver, line))
        for word in ("yes", "No", "TRUE", "off", "y", "F", "1", "0", "2", "-1", "maybe",
                     "1.0", ""):
            cases.append((solver, ("names %s" % word).strip()))
    completed = subprocess.run([standin_python(), "-c", ORACLE, json.dumps(cases),
                                str(tmp_path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and len(lines) == 1, completed.stderr
    oracle = json.loads(lines[0][len("RESULT "):])
    defs = dict((solver, optdef.read_def_file(path)) for solver, path in oracle["defs"].items())
    assert len(oracle["errors"]) == len(cases)
    for (solver, line), errors in zip(cases, oracle["errors"]):
        findings = optdef.check_option_lines([line], defs[solver], solver.upper())
        ours = [finding for finding in findings if finding.severity == optdef.ERROR]
        assert bool(ours) == bool(errors), (solver, line, errors, ours)
        if line.split()[0] != "names":  # the profiles' own lines: accepted by both
            assert not errors and not findings, (solver, line, errors, findings)
