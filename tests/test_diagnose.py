"""diagnose: QA_CHECK.LOG, listings and the conflict refiner read back, on real material.

Real material: a TIMES-NZ listing and QA_CHECK.LOG files (tests/fixtures/times_real,
MIT), GAMS 54.6.1 listings captured here (tests/fixtures/lst), and short excerpts of real
output quoted in public posts (named where used).  Every count is checked against what
``grep`` (the real program) finds in the same bytes.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from scan_helpers import run_cli
from times_doctor.gams import conflict, lstscan, qacheck, times_vocab
from times_doctor.gams import diagnosis
from times_doctor.gams.tally import BoundedCounter

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, "fixtures", "times_real")
LST = os.path.join(HERE, "fixtures", "lst")
NZ_LISTING = os.path.join(REAL, "kea-v2_1_2.lst")
NZ_QA = [os.path.join(REAL, name) for name in ("QA_CHECK_kea-v2_1_2.LOG",
                                               "QA_CHECK_times-4.8.2.LOG")]

# Quoted on the VEDA/TIMES forum (thread 1437, a QA_CHECK.LOG; thread 783, TIMES 4.3.7's
# QA_CHECK.LOG as Antti-L pasted it): real lines, leading blanks as the forum kept them.
FORUM_QA = """\
******          TIMES -- VERSION 4.3.7           ******
**************   QUALITY ASSURANCE LOG   **************
*** FLO_EMIS with no members of source group in process - ignored
*01 WARNING       -     R=SE           P=FUE-ETH1100-BIO CG=FUEBCP COM=FUECO2-Bc
*** User-provided G_YRFR values are not valid year fractions
*01 WARNING      - TS fractions normalized,  (R.TSL.S)=AL.ANNUAL.ANNUAL
*01 WARNING      - TS fractions normalized,  (R.TSL.S)=AL.SEASON.S
*01 WARNING      - TS fractions normalized,  (R.TSL.S)=AL.SEASON.F
"""

# A GAMS/CPLEX conflict of a TIMES run, quoted on the VEDA/TIMES forum (thread 1519,
# "Issues in Scaling the Model", from the run log and the listing).
FORUM_CONFLICT = """\
Row 'EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200)' infeasible, all entries at implied bounds.
Number of equations in conflict: 1
fixed: EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200) = 0
Number of variables in conflict: 6
lower: VAR_ACT('R0N',2020,2020,'IMPELC',ANNUAL) > 56.89
lower: VAR_ACT('R0N',2021,2021,'IMPELC',ANNUAL) > 57.9283
lower: VAR_ACT('R0N',2025,2025,'IMPELC',ANNUAL) > 62.0816
lower: VAR_ACT('R0N',2030,2030,'IMPELC',ANNUAL) > 67.2733
lower: VAR_ACT('R0N',2035,2035,'IMPELC',ANNUAL) > 72.4649
"""

# A ReEDS run's GAMS/CPLEX conflict, quoted verbatim in a ReEDS write-up (two-space indent).
REEDS_CONFLICT = """\
Row 'eq_growthlimit_absolute(PV,2032)' infeasible, all entries at implied bounds.
Number of equations in conflict: 1
  lower: eq_growthlimit_absolute(PV,2032) > 5.80786e+07
Number of variables in conflict: 8
  lower: INV(upv_4,new15,p29,2032) > 0
"""

# A VEDA/TIMES listing's compilation page with $170 markers, as the original times-doctor
# quotes it from a real run (dlg0/times-doctor, tests/unit/test_lst_extraction.py).
AUD25_LISTING = """\
GAMS 49.6.1  55d34574 May 28, 2025          WEX-WEI x86 64bit/MS Windows - 11/06/25 13:17:19 Page 3
TIMES -- VERSION 4.8.3 -- Restart (v4.8)
C o m p i l a t i o n


556722  'AUD25'.'AUD25' 1
****          $170    $170
**** LINE  10808 BATINCLUDE  D:\\Veda\\file.dd
**** LINE     88 INPUT       D:\\Veda\\file.RUN
**** 170  Domain violation for element
556741  'ACT'.2015.'AUD25' 0.07
****                     $170
**** LINE  10827 BATINCLUDE  D:\\Veda\\file.dd
**** LINE     88 INPUT       D:\\Veda\\file.RUN
**** 170  Domain violation for element
556755  'ADE'.2015.'AUD25' 0.07
****                     $170
**** LINE  10841 BATINCLUDE  D:\\Veda\\file.dd
**** LINE     88 INPUT       D:\\Veda\\file.RUN
**** 170  Domain violation for element
556769  'ACT'.2020.'AUD25' 0.07
****                     $170
**** LINE  10855 BATINCLUDE  D:\\Veda\\file.dd
**** LINE     88 INPUT       D:\\Veda\\file.RUN
**** 170  Domain violation for element
"""


def grep_count(pattern, path, fixed=False):
    """What ``grep -c -E PATTERN FILE`` (or -F) prints: the real grep, not our reader.

    Windows (the Wine leg) has no grep: there a plain loop over the file's lines
    counts the same way, so the check is that diagnose reads the same bytes there.
    """
    grep = shutil.which("grep")
    if grep is None:
        assert os.name == "nt", "grep is needed to check the counts independently"
        return sum(1 for line in _file_lines(path)
                   if (pattern in line if fixed else re.search(pattern, line)))
    result = subprocess.run([grep, "-c", "-F" if fixed else "-E", pattern, path],
                            stdout=subprocess.PIPE, universal_newlines=True)
    assert result.returncode in (0, 1), result
    return int(result.stdout.strip())


def grep_lines(pattern, path):
    """What ``grep -E -o PATTERN FILE`` prints (a line loop on Windows, as grep_count)."""
    grep = shutil.which("grep")
    if grep is None:
        assert os.name == "nt", "grep is needed to check the lines independently"
        return [match.group(0) for line in _file_lines(path)
                for match in re.finditer(pattern, line) if match.group(0)]
    result = subprocess.run([grep, "-E", "-o", pattern, path], stdout=subprocess.PIPE,
                            universal_newlines=True)
    return result.stdout.splitlines()


def _file_lines(path):
    """The file's lines as grep sees them: split at LF only, bytes as Latin-1."""
    with open(path, "rb") as handle:
        data = handle.read()
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return [line.decode("latin-1") for line in lines]


def write(path, text, mode="w"):
    with open(str(path), mode) as handle:
        handle.write(text)
    return str(path)


# -- TIMES names --------------------------------------------------------------------


def test_split_name_reads_quoted_and_bare_labels():
    assert times_vocab.split_name("EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200)") == (
        "EQ_CUMFLO", ["R0N", "IMPELC", "ACT", "2020", "2200"])
    assert times_vocab.split_name("VAR_FLO('a,b',\"c.d\",x)") == ("VAR_FLO", ["a,b", "c.d", "x"])
    assert times_vocab.split_name("OBJZ") == ("OBJZ", [])
    assert times_vocab.split_name("broken(") == ("broken(", [])


def test_times_families_with_and_without_a_sense_letter():
    combal = times_vocab.symbol("EQG_COMBAL(R1,2020,ELC,DAY)")
    assert (combal.kind, combal.sense, combal.family.name) == ("equation", "=G=", "COMBAL")
    assert times_vocab.family_key("EQE_COMBAL(R1,2020,ELC,DAY)") == "EQ_COMBAL"
    assert times_vocab.family_key("EQ_CUMFLO(R,P,C,2020,2050)") == "EQ_CUMFLO"
    assert times_vocab.plain_name("EQL_CAPACT(R1,2020,2020,COAL,DAY)") == (
        "capacity utilisation (activity within available capacity) (EQ_CAPACT)")
    assert times_vocab.symbol("VAR_ACT(R1,2020,2020,P,S)").family.data == "ACT_BND"
    assert times_vocab.family_key("eq_growthlimit_absolute(PV,2032)") == \
        "eq_growthlimit_absolute"
    assert times_vocab.describe_labels(times_vocab.symbol("EQ_CUMFLO(R0N,IMPELC,ACT,2020,2200)")
                                       ) == [("region", "R0N"), ("process", "IMPELC"),
                                             ("commodity", "ACT"), ("year", "2020"),
                                             ("year", "2200")]


# -- QA_CHECK.LOG ---------------------------------------------------------------------


@pytest.mark.parametrize("path", NZ_QA)
def test_real_qa_check_counts_are_grep_counts(path):
    summary = qacheck.condense_qa_check(path)
    assert summary.events == grep_count(r"^ *\*[0-9]{2} ", path) == 1
    for severity in ("WARNING", "FATAL ERROR", "SEVERE ERROR", "NOTICE"):
        assert summary.by_severity[severity] == grep_count(
            r"^ *\*[0-9]{2} +%s +-" % severity, path)
    groups = summary.sorted_groups()
    assert len(set(group.group for group in groups)) == grep_count(r"^ *\*\*\* ", path)
    (group,) = groups
    assert (group.group, group.severity, group.count) == (
        "Empty Group in FLO_SUM/FLO_FUNC/FLO_SHAR", "WARNING", 1)
    assert [(key, counter.most_common()) for key, counter in group.fields.items()] == [
        ("R", [("SI", 1)]), ("P", [("REFEOIL00", 1)]), ("CG", [("REFEOIL00_NRGI", 1)])]
    assert summary.regions.most_common() == [("SI", 1)]
    assert summary.unparsed.count == 0
    assert summary.title.startswith("TIMES -- VERSION 4.8.")


def test_forum_qa_lines_split_simple_and_composite_fields(tmp_path):
    path = write(tmp_path / "QA_CHECK.LOG", FORUM_QA)
    summary = qacheck.condense_qa_check(path)
    assert summary.events == grep_count(r"^ *\*[0-9]{2} ", path) == 4
    groups = dict((group.group, group) for group in summary.sorted_groups())
    normalised = groups["User-provided G_YRFR values are not valid year fractions"]
    assert normalised.count == 3 and normalised.message == "TS fractions normalized"
    assert normalised.fields["TSL"].most_common() == [("SEASON", 2), ("ANNUAL", 1)]
    emis = groups["FLO_EMIS with no members of source group in process - ignored"]
    assert list(emis.fields) == ["R", "P", "CG", "COM"]
    assert sorted(summary.regions.most_common()) == [("AL", 3), ("SE", 1)]
    assert summary.processes.most_common() == [("FUE-ETH1100-BIO", 1)]
    assert summary.commodities.most_common() == [("FUECO2-Bc", 1)]


def test_qa_groups_come_fatal_first_and_odd_lines_are_kept_and_counted(tmp_path):
    # Lines in the layout pp_qaput.mod and its callers write (TIMES source, cited in qacheck.py).
    text = "\n".join([
        "              ****** TIMES -- VERSION 4.8.3 -- Runtime (v4.8)  ******",
        "              **************   QUALITY ASSURANCE LOG   **************", "",
        " *** Inconsistent CAP_BND(UP/LO/FX) defined for process capacity",
        " *01 WARNING       - Lower bound set equal to upper bound,   R.T.P= SWNSW.2030.ENPS168",
        " *01 WARNING       - Lower bound set equal to upper bound,   R.T.P= SWNSW.2035.ENPS168",
        " *** Internal Region without Discount Rate",
        " *99 FATAL ERROR   -     R=REG1",
        " *** Inconsistent sum of fixed FLO_SHAREs in Group",
        " *07 SEVERE ERROR  -     R=REG1 P=PRC1 V=2020 CG=GRP SUM=1.05000",
        " *** NCAP_AFX defined for NON-vintaged dispatchable process with ACT_MINLD",
        " *00 NOTICE        -     AFX ignored on PRC_TSL:  R=REG2 P=PRC9",
        " BPME: R=REG1 P=PRC1 V=2020", "garbage \x01 line", ""])
    path = write(tmp_path / "QA_CHECK.LOG", text)
    summary = qacheck.condense_qa_check(path)
    order = [(group.severity, group.count) for group in summary.sorted_groups()]
    assert order == [("FATAL ERROR", 1), ("SEVERE ERROR", 1), ("WARNING", 2), ("NOTICE", 1)]
    assert summary.worst() == ("FATAL ERROR", 5)
    assert summary.unparsed.count == 2
    assert summary.unparsed.items == [" BPME: R=REG1 P=PRC1 V=2020", "garbage \x01 line"]
    assert summary.processes.most_common() == [("ENPS168", 2), ("PRC1", 1), ("PRC9", 1)]
    findings = diagnosis.diagnose(diagnosis.RunFiles("run", str(tmp_path), None, None, path))
    kinds = [(finding.kind, finding.severity) for finding in findings.findings]
    assert kinds == [("qa_fatal", "error"), ("qa_severe", "warning"),
                     ("qa_warning", "info"), ("qa_notice", "info")]
    assert findings.findings[0].lines[-2:] == ["   BPME: R=REG1 P=PRC1 V=2020",
                                               "  garbage \x01 line"]


def test_qa_counters_are_bounded_and_totals_stay_exact():
    counter = BoundedCounter(max_keys=3)
    for index in range(10):
        counter.add("P%d" % index, where="line %d" % index)
    counter.add("P0")
    assert len(counter) == 3 and counter.total == 11 and counter.other == 7
    assert counter.most_common(1) == [("P0", 2)] and counter.truncated
    assert counter.first["P1"] == "line 1" and "P5" not in counter.first


# -- listings ---------------------------------------------------------------------------


def test_real_times_listing_statuses_and_ranges_are_what_grep_finds():
    scan = lstscan.scan_file(NZ_LISTING)
    lst = scan.lst
    (model,) = grep_lines(r"MODEL STATUS +[0-9]+ .*", NZ_LISTING)
    assert "MODEL STATUS      %s" % lst.model_status == model.strip()
    (matrix,) = grep_lines(r"^Matrix +\[min, max\] : \[[^]]*\]", NZ_LISTING)
    low, high = re.findall(r"[0-9.]+E[-+][0-9]+", matrix)
    assert (lst.matrix_min, lst.matrix_max) == (float(low), float(high))
    assert scan.lines == grep_count("", NZ_LISTING)
    assert grep_count(r"^\*{4} +\$[0-9]+", NZ_LISTING) == 0 and scan.errors() == []
    assert scan.file_summary and not scan.conflict.found
    findings = diagnosis.diagnose(diagnosis.run_files("run", REAL, listing=NZ_LISTING))
    ranges = [finding for finding in findings.findings if finding.kind == "ranges"][0]
    assert ranges.severity == "warning" and ranges.title == (
        "Range statistics: matrix and right-hand side out of the usual range")
    assert ranges.lines[:2] == [
        "matrix [1.00e-05, 3.08e+06], ratio 3.08e+11: out of the usual range",
        "right-hand side [2.79e-07, 1.327e+05], ratio 4.75e+11: out of the usual range"]
    assert ("right-hand sides as small as 2.79e-07 are below the solvers' feasibility "
            "tolerance (1.00e-06), so they act as zero: drop them or rescale") in ranges.lines
    solved = [finding for finding in findings.findings if finding.kind == "solved"][0]
    assert solved.data["objective"] == 1213314.6885


def test_captured_compile_errors_are_counted_by_code_as_grep_counts():
    path = os.path.join(LST, "compile_error.lst")
    scan = lstscan.scan_file(path)
    codes = [int(marker[1:]) for marker in grep_lines(r"\$[0-9]+", path)]
    assert [(error.code, error.count) for error in scan.errors()] == sorted(
        (code, codes.count(code)) for code in set(codes))
    assert [(error.code, error.text, error.where) for error in scan.errors()] == [
        (140, "Unknown symbol", "line 4"),
        (257, "Solve statement not checked because of previous errors", "line 6")]
    assert scan.error_totals == (2, 0)
    finding = diagnosis.diagnose(diagnosis.run_files("run", LST, listing=path)).findings[0]
    assert finding.kind == "gams_errors" and finding.severity == "error"
    assert finding.lines == ["Error 140 (Unknown symbol), 1 time, first at line 4",
                             "Error 257 (Solve statement not checked because of previous "
                             "errors), 1 time, first at line 6",
                             "GAMS counted 2 error(s) and 0 warning(s)"]


def test_captured_execution_error():
    path = os.path.join(LST, "exec_error.lst")
    (error,) = lstscan.scan_file(path).errors()
    assert (error.code, error.text, error.count, error.where) == (
        None, "division by zero (0)", grep_count("Exec Error", path, fixed=True), "line 4")


@pytest.mark.parametrize("chunk", [lstscan.CHUNK_BYTES, 7, 64, 200])
def test_domain_violations_are_counted_per_element_across_chunk_boundaries(
        tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(lstscan, "CHUNK_BYTES", chunk)
    path = write(tmp_path / "veda.lst", AUD25_LISTING)
    (error,) = lstscan.scan_file(path).errors()
    assert error.count == grep_count(r"\$170", path) + 1  # one marker line holds two
    assert error.count == len(grep_lines(r"\$170", path)) == 5
    assert error.elements == [("AUD25", 5, r"line 556722, D:\Veda\file.dd line 10808")]
    finding = diagnosis._gams_errors(lstscan.scan_file(path))[0]
    assert finding.lines[0] == (r"Error 170, 'AUD25' not in domain, 5 times, first at line "
                                r"556722, D:\Veda\file.dd line 10808")


def test_element_under_a_marker_quoted_bare_or_just_after():
    assert lstscan._element_at("  12  x('a','bad') = 1;", 16) == "bad"
    assert lstscan._element_at("  12  p(NORTH.2020.XX) 1", 20) == "XX"  # under its end
    assert lstscan._element_at("  12  p(NORTH.2020.XX) 1", 21) == "XX"  # just after it
    assert lstscan._element_at("  12  p(NORTH.2020.XX) 1", 23) == "1"
    assert lstscan._element_at("", 3) is None


def test_conflicts_quoted_from_real_runs_are_read_and_said_by_family():
    report = conflict.ConflictReport()
    for line in FORUM_CONFLICT.splitlines():
        report.feed(line)
    assert report.declared == {"equations": 1, "variables": 6}
    assert report.member_count == 6 and list(report.families) == ["EQ_CUMFLO", "VAR_ACT"]
    assert report.presolve == ["EQ_CUMFLO('R0N','IMPELC',ACT,2020,2200)"]
    cumflo, act = [sentence for _, sentence in report.summaries()]
    assert cumflo == ("EQ_CUMFLO cumulative commodity flow limit: 1 equation for region R0N, "
                      "process IMPELC, commodity ACT, years 2020-2200, must equal 0 "
                      "(input: FLO_CUM).")
    assert act == ("VAR_ACT activity of a process: 5 bounds for region R0N, periods 2020, "
                   "2021, 2025, 2030 (+1 more), process IMPELC, timeslice ANNUAL, lower bounds "
                   "56.89 to 72.4649 (input: ACT_BND).")
    assert "lower ACT_BND(LO) for region R0N" in report.fix_sentence()
    reeds = conflict.ConflictReport()
    for line in REEDS_CONFLICT.splitlines():
        reeds.feed(line)
    assert reeds.member_count == 2
    assert [tally.kinds for tally in reeds.families.values()] == [{"lower": 1}, {"lower": 1}]
    assert reeds.families["eq_growthlimit_absolute"].values["lower"] == (58078600.0, 58078600.0)


def test_a_conflict_without_gams_names_says_to_run_the_conflict_profile():
    report = conflict.ConflictReport()
    for line in ("Number of equations in conflict: 1", "  fixed: c12 = 0",
                 "Number of variables in conflict: 1", "  lower: x7 > 10"):
        report.feed(line)
    assert report.unnamed()
    assert "names yes" in report.fix_sentence()


# -- bad input: findings or a one-line error, never a traceback -------------------------


def test_binary_truncated_and_empty_files_give_findings(tmp_path):
    binary = tmp_path / "binary"
    binary.mkdir()
    write(binary / "run.lst", b"\x7fELF\x02\x01\x00\x00" + os.urandom(5000), mode="wb")
    write(binary / "QA_CHECK.LOG", b"\x00\x01\x02 *01 WARNING - R=\xff\n", mode="wb")
    found = diagnosis.diagnose(diagnosis.run_files("run", str(binary)))
    assert [finding.data.get("problem") for finding in found.findings
            if finding.kind == "file"] == ["binary"]
    assert any(finding.kind.startswith("qa_") for finding in found.findings)

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    with open(NZ_LISTING, "rb") as handle:
        half = handle.read()[:150000]
    write(truncated / "kea.lst", half, mode="wb")
    found = diagnosis.diagnose(diagnosis.run_files("run", str(truncated)))
    (ended,) = [finding for finding in found.findings if finding.kind == "file"]
    assert ended.data["problem"] == "truncated" and "before GAMS finished" in ended.title
    assert ended.data["lines"] == half.count(b"\n") + 1

    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty / "QA_CHECK.LOG", "")
    write(empty / "run.lst", "")
    write(empty / "run_run_log.txt", "")
    found = diagnosis.diagnose(diagnosis.run_files("run", str(empty)))
    titles = [finding.title for finding in found.findings]
    assert "the listing run.lst is empty" in titles
    assert "QA_CHECK.LOG reports nothing (empty)" in titles


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path):
    code, out, err = run_cli(["diagnose", str(tmp_path / "missing")])
    assert code == 2 and out == "" and err.count("\n") == 1 and "not a folder" in err
    code, out, err = run_cli(["diagnose", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "nothing to diagnose in" in err
    code, out, err = run_cli(["diagnose", str(tmp_path), "--out", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "not both" in err


def test_cli_on_a_binary_listing_prints_findings_not_a_traceback(tmp_path):
    write(tmp_path / "model.lst", b"\x00" * 100 + b"\n\xff\xfe" * 1000, mode="wb")
    code, out, err = run_cli(["diagnose", str(tmp_path), "--no-color"])
    assert "Traceback" not in err and err == ""
    assert code == 0 and "model.lst is not a text listing (a NUL byte at offset 0)" in out


def test_cli_json_on_the_real_times_run(tmp_path):
    for name in ("kea-v2_1_2.lst", "QA_CHECK_kea-v2_1_2.LOG"):
        shutil.copy(os.path.join(REAL, name), str(tmp_path / name.replace(
            "QA_CHECK_kea-v2_1_2.LOG", "QA_CHECK.LOG")))
    code, out, err = run_cli(["diagnose", str(tmp_path), "--json"])
    assert code == 0 and err == ""
    document = json.loads(out)
    assert (document["schema"], document["schema_version"], document["exit_code"]) == (
        "times-doctor/diagnose", 1, 0)
    (run,) = document["runs"]
    assert run["name"] == "run" and run["worst"] == "warning"
    assert run["files"]["qa_check"].endswith("QA_CHECK.LOG")
    kinds = [finding["kind"] for finding in run["findings"]]
    assert kinds == ["ranges", "qa_warning", "solved"]
    qa = run["findings"][1]["data"]
    assert qa["events"] == 1 and qa["by_severity"] == {"WARNING": 1}
    assert qa["groups"][0]["fields"]["P"] == [["REFEOIL00", 1]]
    ranges = run["findings"][0]["data"]["rows"]
    assert [row["name"] for row in ranges] == ["matrix", "right-hand side", "bound"]
    assert ranges[0]["ratio"] == pytest.approx(3.077e11)


# -- the page and the scan's last lines -------------------------------------------------


def test_report_section_shows_only_profiles_with_something_to_say():
    from times_doctor.report import diagnosis as report_diagnosis
    Finding = diagnosis.Finding
    blocked = diagnosis.Diagnosis(diagnosis.RunFiles("dual", "/w/dual", None, None, None), [
        Finding(80, "error", "status", "Solve: infeasible <x>", ["detail & more"],
                "run the conflict profile", {})])
    quiet = diagnosis.Diagnosis(diagnosis.RunFiles("bar", "/w/bar", None, None, None), [
        Finding(0, "info", "solved", "Solve: optimal", [], None, {})])
    section = report_diagnosis.render_section(
        {"dual": blocked, "bar": quiet}, "times-doctor diagnose --out /o")
    assert section.startswith('<section id="diagnosis"><h2>Diagnosis</h2>')
    assert ('<div class="diagnosis" data-run="dual" style="overflow-wrap:anywhere"><h3>dual</h3>'
            in section)
    assert 'data-run="bar"' not in section
    assert ('<div class="warn" data-kind="status"><strong>Solve: infeasible &lt;x&gt;</strong> '
            '(blocks a result)') in section
    assert "<li>detail &amp; more</li>" in section and "<p>Fix: run the conflict profile</p>" \
        in section
    assert "<code>times-doctor diagnose --out /o</code>" in section
    assert report_diagnosis.render_section({"bar": quiet}, "x") == ""


def test_scan_end_lines_only_when_no_profile_reached_a_usable_point(tmp_path):
    folder = tmp_path / "dual"
    folder.mkdir()
    shutil.copy(os.path.join(LST, "cplex_infeasible.lst"), str(folder / "model.lst"))
    row = {"profile": "dual", "status": "completed", "model_status": "4 Infeasible",
           "dir": str(folder), "lst": str(folder / "model.lst")}
    lines = diagnosis.scan_end_lines([row], "/runs/model", "/runs/model")
    assert lines[0].startswith("Most blocking (dual): Solve: infeasible")
    assert lines[1] == ("  fix: run the conflict profile to name the equations and bounds that "
                        "cannot hold together: times-doctor scan /runs/model --profiles "
                        "conflict, then times-doctor diagnose /runs/model")
    assert lines[2] == "Every finding: times-doctor diagnose /runs/model"
    assert diagnosis.scan_end_lines([dict(row, status="cancelled")], "/r", "/r") == []
    assert diagnosis.scan_end_lines([row, dict(row, profile="bar", model_status="1 Optimal")],
                                   "/r", "/r") == []
