"""scan_report.html from a real scan (the issue 15 acceptance), read in headless Chromium.

Five profiles on the market split MIP: three that stop at their first
incumbent (an absolute gap of 1e9: they complete within a second), one
cancelled and one interrupted once it holds an incumbent.  The page must
have a row and a bar per run, the phase split the logs show, a point in the
convergence charts for every run, nothing fetched from anywhere; and in
Chromium at desktop and phone widths every section must be there with
nothing wider than the window.
"""

import os
import re
import subprocess
import sys

import pytest

from proc_helpers import wait_until
from scan_helpers import read_report, run_cli
from times_doctor.solvers.table import SolverLogParser
from times_doctor.run.series import read_series, series_path

pytestmark = [pytest.mark.gams,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Debian chromium")]

QUICK = ("lp_dual", "lp_primal", "lp_bar")
NAMES = QUICK + ("dual", "sift")
QUICK_OPTIONS = {"lp_dual": "lpmethod 2", "lp_primal": "lpmethod 1", "lp_bar": "lpmethod 4"}


def test_acceptance_scan_page_in_chromium(browser, copy_model, gams_path, tmp_path,
                                          isolated_env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    opt_dir = tmp_path / "opts" / "cplex"
    opt_dir.mkdir(parents=True)
    for name, line in QUICK_OPTIONS.items():
        (opt_dir / (name + ".opt")).write_text("%s\nepagap 1e9\n" % line)
    args = ["scan", run_dir, "--gams-path", gams_path, "--profiles", ",".join(NAMES),
            "--opt-dir", str(tmp_path / "opts"), "--threads", "1", "--parallel",
            "--max-workers", "5", "--gams-arg", "solvelink=0", "--grace-seconds", "3",
            "--out", out, "--yes"]
    scan = subprocess.Popen([sys.executable, "-m", "times_doctor"] + args,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=isolated_env)
    runs = os.path.join(out, "times_doctor_out", "scan_runs", "cplex")
    try:
        def series_of(name):
            try:
                return read_series(series_path(os.path.join(runs, name)))[1]
            except (IOError, OSError):
                return []
        # The MIPs log a while and sift holds an incumbent before it is interrupted.
        wait_until(lambda: len(series_of("dual")) >= 3 and any(
            "incumbent" in p for p in series_of("sift")) and len(series_of("sift")) >= 3,
            180, message="progress series with an incumbent for sift", process=scan)
        code, text, err = run_cli(["interrupt", out, "sift"], env=isolated_env)
        assert code == 0 and "sift: interrupted" in text, (text, err)
        code, text, err = run_cli(["cancel", out, "dual"], env=isolated_env)
        assert code == 0 and "dual: cancelled" in text, (text, err)
        stdout, stderr = scan.communicate(timeout=120)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait()
    stdout = stdout.decode("utf-8", "replace")
    assert scan.returncode == 3, (stdout, stderr)
    _, rows = read_report(out)
    by_name = dict((row["profile"], row) for row in rows)
    assert [by_name[n]["status"] for n in NAMES] == ["completed"] * 3 + ["cancelled",
                                                                         "interrupted"]
    # Nothing optimal: the last lines name the best incumbent instead (just before
    # the Report line; the resume hint follows it, the scan has unfinished rows).
    held = [row for row in rows if row["objective"]]
    best = min(held, key=lambda row: (float(row["objective"]), float(row["runtime_seconds"])))
    tail = stdout.splitlines()[-3:]
    assert tail[0] == "best so far: %s, %s, objective %s" % (
        best["profile"], best["status"], best["objective"]), stdout
    assert tail[1].startswith("Report: ") and "--resume" in tail[2], stdout

    page_path = os.path.join(out, "times_doctor_out", "scan_report.html")
    with open(page_path, encoding="utf-8") as handle:
        page = handle.read()
    assert re.findall(r'<tr class="run(?: best)?" data-run="([^"]+)"', page) == list(NAMES)
    assert re.findall(r'<li data-run="([^"]+)">', page) == list(NAMES)
    assert '<tr class="run best" data-run="%s">' % best["profile"] in page
    # The Diagnosis section: the interrupted run's integer solution, not the cancelled run.
    diagnosed = re.findall(r'<div class="diagnosis" data-run="([^"]+)"', page)
    assert "sift" in diagnosed and "dual" not in diagnosed
    assert not re.search(r"(?:https?|ftp)://|<script|\bsrc=|\bhref=|url\(|@import", page)

    # The phase split: each bar's phases, in order, are phases its log went through.
    bars = dict(re.findall(r'<li data-run="([^"]+)">(.*?)</li>', page))
    # The quick runs may end between two reads of their log (about a second
    # apart): then no solver phase was seen, and the page says so.
    for name in NAMES:
        drawn = [p for p in re.findall(r'data-phase="([^"]*)"', bars[name]) if p]
        assert _subsequence(drawn, _log_phases(os.path.join(runs, name, name + "_run_log.txt"))), (
            name, drawn)
        if name in ("dual", "sift"):
            assert "mip" in drawn and 'class="seg stopped"' in bars[name]
        elif not set(drawn) - set(["done"]):
            assert "no solver phase seen" in bars[name], bars[name]
    # The convergence: the objective chart has a point for every run.
    figures = dict(re.findall(r'<figure data-chart="([a-z_]+)">(.*?)</figure>', page))
    assert re.findall(r'<g data-run="([^"]+)">', figures["objective"]) == list(NAMES)
    assert set(["mip_gap", "incumbent"]) <= set(figures)

    # In Chromium: the page's own expectations at a desktop and a phone width.
    browser.open("file://" + page_path)
    for width, height in ((1400, 900), (390, 844)):
        browser.s("/goog/cdp/execute", "POST", {
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": width < 500}})
        facts = browser.script(PAGE_FACTS)
        assert facts["innerWidth"] == width, facts
        assert facts["rows"] == 5 and facts["bars"] == 5, facts
        assert facts["figures"] == len(figures) and facts["emptyCharts"] == [], facts
        assert facts["sections"] == ["scan", "summary", "diagnosis", "time", "timing",
                                     "convergence",
                                     "numerics"]
        assert facts["scrollWidth"] <= facts["clientWidth"], facts
        assert facts["overflowing"] == [], facts
        assert facts["smallestChartText"] >= 7, facts  # px on screen, at either width
        assert facts["summaryCellDisplay"] == ("flex" if width < 640 else "table-cell")
        shot = str(tmp_path / ("report-%d.png" % width))
        browser.screenshot(shot)
        with open(shot, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("TD_SCREENSHOT_DIR")
    if keep:
        for width in (1400, 390):
            name = "report-%d.png" % width
            with open(str(tmp_path / name), "rb") as src, open(os.path.join(keep, name),
                                                                "wb") as dst:
                dst.write(src.read())


# What the page looks like from inside: counts, and anything wider than the window.
PAGE_FACTS = """
var w = window.innerWidth, over = [];
document.querySelectorAll('body *').forEach(function (el) {
  var r = el.getBoundingClientRect();
  if (r.width > 0 && (r.right > w + 1 || r.left < -1)) {
    over.push(el.tagName + '.' + el.className + ' ' + Math.round(r.left) + '..' +
              Math.round(r.right));
  }
});
var texts = Array.prototype.map.call(document.querySelectorAll('svg.chart text'),
  function (t) { return t.getBoundingClientRect().height; });
var empty = Array.prototype.filter.call(document.querySelectorAll('figure'), function (f) {
  return f.querySelectorAll('g[data-run] circle').length === 0 ||
         f.querySelector('svg').getBoundingClientRect().width < 100; }).map(function (f) {
  return f.getAttribute('data-chart'); });
var cell = document.querySelector('table.summary td');
return {innerWidth: w, clientWidth: document.documentElement.clientWidth,
        scrollWidth: document.documentElement.scrollWidth, overflowing: over.slice(0, 10),
        rows: document.querySelectorAll('table.summary tr.run').length,
        bars: document.querySelectorAll('.bars > li .bar').length,
        figures: document.querySelectorAll('figure[data-chart]').length, emptyCharts: empty,
        sections: Array.prototype.map.call(document.querySelectorAll('section'),
                                           function (s) { return s.id; }),
        smallestChartText: Math.min.apply(null, texts),
        summaryCellDisplay: getComputedStyle(cell).display};
"""


def _log_phases(log_path):
    """The phases a parser fed the whole log line by line passes through, in order."""
    parser = SolverLogParser("cplex")
    phases = []
    with open(log_path, errors="replace") as handle:
        for line in handle:
            parser.feed(line)
            phase = parser.snapshot().phase
            if phase and (not phases or phases[-1] != phase):
                phases.append(phase)
    return phases


def _subsequence(short, long_):
    items = iter(long_)
    return all(any(item == wanted for item in items) for wanted in short)

