"""The dashboard page in a real headless Chromium, driven over plain WebDriver (urllib).

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs
them).  Missing, they FAIL the test rather than skip it: a green run that
never opened the page would prove nothing.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from test_dashboard import Process, isolated_env, scan_args, wait_status, wait_until  # noqa: F401 (fixture)

CHROMIUM = os.environ.get("TD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,900"]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

pytestmark = [pytest.mark.gams,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Debian chromium")]


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        return sock.getsockname()[1]
    finally:
        sock.close()


class WebDriver(object):
    """The few W3C WebDriver commands the test needs, over HTTP."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, document=None):
        data = None if document is None else json.dumps(document).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read().decode("utf-8"))["value"]
        except urllib.error.HTTPError as exc:
            raise AssertionError("WebDriver %s %s: %s" % (method, path, exc.read()[:500]))
        except http.client.RemoteDisconnected as exc:
            raise AssertionError("WebDriver %s %s: chromedriver dropped the connection (%s)"
                                 % (method, path, exc))

    def start(self, user_data_dir):
        options = {"binary": CHROMIUM, "args": CHROMIUM_FLAGS + ["--user-data-dir=" + user_data_dir]}
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options}}})
        self.session = value["sessionId"]

    def s(self, path, method="GET", document=None):
        return self.call(method, "/session/%s%s" % (self.session, path), document)

    def open(self, url):
        self.s("/url", "POST", {"url": url})

    def script(self, source, *args):
        return self.s("/execute/sync", "POST", {"script": source, "args": list(args)})

    def text(self, css):
        """textContent of the first match, or None."""
        return self.script("var n = document.querySelector(arguments[0]); "
                           "return n ? n.textContent : null;", css)

    def click(self, css):
        element = self.s("/element", "POST", {"using": "css selector", "value": css})[ELEMENT]
        self.s("/element/%s/click" % element, "POST", {})

    def screenshot(self, path):
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(self.s("/screenshot")))

    def quit(self):
        if self.session is not None:
            try:
                self.call("DELETE", "/session/" + self.session)
            except (AssertionError, urllib.error.URLError, OSError):
                pass  # the driver is stopped next anyway


@pytest.fixture
def browser(tmp_path):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail("%s not found: run 'make browser' (apt-get install chromium "
                        "chromium-driver) or set TD_TEST_CHROMIUM/TD_TEST_CHROMEDRIVER" % path,
                        pytrace=False)
    port = free_port()
    log = open(str(tmp_path / "chromedriver.log"), "wb")
    driver_proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port], stdout=log,
                                   stderr=subprocess.STDOUT)
    driver = WebDriver(port)
    try:
        def ready():
            try:
                return driver.call("GET", "/status").get("ready")
            except (urllib.error.URLError, OSError):
                return False
        wait_until(ready, 30, "chromedriver to listen")
        profile = tmp_path / "chromium-profile"
        profile.mkdir()
        driver.start(str(profile))
        yield driver
    finally:
        driver.quit()
        driver_proc.terminate()
        try:
            driver_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
            driver_proc.wait()
        log.close()


def test_page_shows_runs_updating_and_cancels_one(browser, copy_model, gams_path, tmp_path,
                                                   isolated_env):
    run_dir, out = copy_model("marketsplit"), str(tmp_path / "out")
    names = ["dual", "primal", "bar_nox"]
    scan = Process(scan_args(run_dir, gams_path, out, profiles=",".join(names),
                             extra=["--dashboard"]), isolated_env)
    try:
        client = scan.wait_for_url()
        scan_id = wait_until(lambda: client.get("/api/scans")["scans"], 60,
                             "the scan")[0]["scan_id"]
        wait_status(client, scan_id, names, ["running"])
        browser.open("%s/?token=%s" % (client.base, client.token))

        row = 'section[data-scan="%s"] tr[data-run="%%s"]' % scan_id
        wait_until(lambda: all(browser.text(row % n + " .c-status") == "Running" for n in names),
                   30, lambda: "three Running rows: " + str(browser.script(
                       "return document.body.innerText;")))
        # The token left the address bar for the cookie; the page keeps working.
        assert "token" not in browser.script("return location.href;")
        assert browser.script("return document.cookie;") == ""  # HttpOnly
        # It updates itself: the clock of a run moves without a reload.
        marker = browser.script("window.__td_marker = 1; return 1;")
        first = browser.text(row % "dual" + " .c-time")
        wait_until(lambda: browser.text(row % "dual" + " .c-time") != first, 10,
                   "the Time cell to change")
        assert browser.script("return window.__td_marker;") == marker
        wait_until(lambda: browser.script(
            "return document.querySelectorAll('svg.chart polyline').length;"), 60, "a chart")
        # The log on demand.
        browser.click(row % "dual" + ' button[data-action="log"]')
        wait_until(lambda: len(browser.text(row % "dual" + " + tr.log-row pre") or "") > 20, 20,
                   "log lines under dual")

        # Cancel one run from the page.
        browser.click(row % "primal" + ' button[data-action="cancel"]')
        wait_until(lambda: browser.text(row % "primal" + " .c-status") == "Cancelled", 60,
                   lambda: "primal Cancelled: " + str(browser.text(row % "primal")))
        assert client.jobs(scan_id)["primal"]["status"] == "cancelled"
        assert browser.text(row % "dual" + " .c-status") == "Running"
        assert "applied to primal" in browser.text("#message")
        time.sleep(1.5)  # one more poll, so the summary shows the cancel
        shot = str(tmp_path / "dashboard.png")
        browser.screenshot(shot)
        assert os.path.getsize(shot) > 10000

        client.act(scan_id, "cancel_all")
        assert scan.wait(timeout=120) == 3
    finally:
        scan.kill()
    # Keep the last screenshot where a person can look at it.
    keep = os.environ.get("TD_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, os.path.join(keep, "dashboard.png"))
