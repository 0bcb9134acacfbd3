"""The dashboard page in a real headless Chromium, driven over plain WebDriver (urllib).

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs
them; the ``browser`` fixture, tests/browser_helpers.py).  Missing, they FAIL the
test rather than skip it: a green run that never opened the page would prove nothing.
"""

import os
import shutil
import struct
import sys

import pytest

from proc_helpers import wait_until
from scan_helpers import POLL_SECONDS, Process, market_split_args, wait_status

# The page's own expectations, read in the browser: the header connected, the
# scan's table with its columns and one row per run, a chart and the buttons,
# and no element wider than its box or sticking out of the scan's section
# (except the cells that clip on purpose: Details ends in an ellipsis, logs scroll).
PAGE_LAYOUT = """
var section = document.querySelector('section[data-scan="' + arguments[0] + '"]');
var box = section.getBoundingClientRect();
var clips = function (node) {
  return node.closest('td.c-details, pre.log, .bar') !== null;
};
var overflowing = [];
section.querySelectorAll('*').forEach(function (node) {
  if (clips(node) || node.closest('svg') && node.tagName.toLowerCase() !== 'svg') { return; }
  if (!node.getClientRects().length) { return; }  // not rendered (a closed log row)
  var rect = node.getBoundingClientRect();
  var wider = node.scrollWidth > node.clientWidth + 1 && node.clientWidth > 0;
  var outside = rect.right > box.right + 1 || rect.left < box.left - 1;
  if (wider || outside) {
    overflowing.push(node.tagName + '.' + node.className + ' ' + (node.textContent || '').slice(0, 40));
  }
});
var rows = section.querySelectorAll('tbody tr[data-run]');
return {
  connected: document.getElementById('conn').classList.contains('ok'),
  headers: Array.prototype.map.call(section.querySelectorAll('thead th'),
                                    function (th) { return th.textContent; }),
  rows: Array.prototype.map.call(rows, function (tr) { return tr.getAttribute('data-run'); }),
  cells: Array.prototype.map.call(rows, function (tr) { return tr.children.length; }),
  charts: section.querySelectorAll('svg.chart polyline').length,
  buttons: section.querySelectorAll('tbody button[data-action]').length,
  overflowing: overflowing,
  page_width: document.documentElement.scrollWidth,
  viewport_width: window.innerWidth,
  viewport_height: window.innerHeight,
  pixel_ratio: window.devicePixelRatio
};
"""

pytestmark = [pytest.mark.gams,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Debian chromium")]


def png_size(data):
    """(width, height) from a PNG's IHDR chunk, which the format puts first."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    assert data[12:16] == b"IHDR", data[12:16]
    return struct.unpack(">II", data[16:24])


def test_page_shows_runs_updating_and_cancels_one(browser, copy_model, gams_path, tmp_path,
                                                   isolated_env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    names = ["dual", "primal", "bar_nox"]
    scan = Process(market_split_args(run_dir, gams_path, out, profiles=",".join(names),
                                     extra=["--dashboard"]), isolated_env)
    try:
        client = scan.wait_for_url()
        scan_id = wait_until(lambda: client.get("/api/scans")["scans"], 60,
                             interval=POLL_SECONDS, message="the scan")[0]["scan_id"]
        wait_status(client, scan_id, names, ["running"])
        browser.open("%s/?token=%s" % (client.base, client.token))

        row = 'section[data-scan="%s"] tr[data-run="%%s"]' % scan_id
        wait_until(lambda: all(browser.text(row % n + " .c-status") == "Running" for n in names),
                   30, interval=POLL_SECONDS,
                   message=lambda: "three Running rows: " + str(browser.script(
                       "return document.body.innerText;")))
        # The token left the address bar for the cookie; the page keeps working.
        assert "token" not in browser.script("return location.href;")
        assert browser.script("return document.cookie;") == ""  # HttpOnly
        # It updates itself: the clock of a run moves without a reload.
        marker = browser.script("window.__td_marker = 1; return 1;")
        first = browser.text(row % "dual" + " .c-time")
        wait_until(lambda: browser.text(row % "dual" + " .c-time") != first, 10,
                   interval=POLL_SECONDS, message="the Time cell to change")
        assert browser.script("return window.__td_marker;") == marker
        # A run's chart: its progress series, drawn against the run's seconds.
        chart = wait_until(lambda: browser.script(
            "var svg = document.querySelector('svg.chart');"
            "return svg && [Array.prototype.map.call(svg.querySelectorAll('polyline'),"
            " function (l) { return l.getAttribute('points').split(' ').length; })"
            " .reduce(function (a, b) { return a + b; }, 0),"
            " svg.querySelector('title').textContent];"), 60,
            interval=POLL_SECONDS, message="a chart")
        assert chart[0] >= 2 and " vs seconds: " in chart[1] and " s)" in chart[1], chart
        # The log on demand.
        browser.click(row % "dual" + ' button[data-action="log"]')
        wait_until(lambda: len(browser.text(row % "dual" + " + tr.log-row pre") or "") > 20, 20,
                   interval=POLL_SECONDS, message="log lines under dual")

        # Cancel one run from the page.
        browser.click(row % "primal" + ' button[data-action="cancel"]')
        wait_until(lambda: browser.text(row % "primal" + " .c-status") == "Cancelled", 60,
                   interval=POLL_SECONDS,
                   message=lambda: "primal Cancelled: " + str(browser.text(row % "primal")))
        assert client.jobs(scan_id)["primal"]["status"] == "cancelled"
        assert browser.text(row % "dual" + " .c-status") == "Running"
        assert "applied to primal" in browser.text("#message")
        summary = 'section[data-scan="%s"] .summary' % scan_id
        wait_until(lambda: "1 cancelled" in (browser.text(summary) or ""), 30,
                   interval=POLL_SECONDS,
                   message=lambda: "the summary to count the cancel: %r" % browser.text(summary))
        # What the screenshot must show, asked of the page itself.
        layout = browser.script(PAGE_LAYOUT, scan_id)
        assert layout["connected"], layout
        assert layout["headers"] == ["Run", "Status", "Result", "Phase", "Progress", "Iteration",
                                     "Time", "Details", "PID", "Chart", ""], layout
        assert layout["rows"] == names and layout["cells"] == [11] * len(names), layout
        assert layout["charts"] >= 1 and layout["buttons"] >= 4 * len(names), layout
        assert layout["page_width"] <= layout["viewport_width"], layout  # no sideways scroll
        assert layout["overflowing"] == [], layout["overflowing"]
        shot = str(tmp_path / "dashboard.png")
        browser.screenshot(shot)
        with open(shot, "rb") as handle:
            width, height = png_size(handle.read())
        assert (width, height) == (round(layout["viewport_width"] * layout["pixel_ratio"]),
                                   round(layout["viewport_height"] * layout["pixel_ratio"]))

        client.act(scan_id, "cancel_all")
        assert scan.wait(timeout=120) == 3
    finally:
        scan.kill()
    # Keep the last screenshot where a person can look at it.
    keep = os.environ.get("TD_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, os.path.join(keep, "dashboard.png"))
