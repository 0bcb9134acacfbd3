"""A headless Chromium driven over plain W3C WebDriver (urllib), for the page tests.

Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs them);
the ``browser`` fixture in conftest.py starts one per test.  Missing, they FAIL
the test rather than skip it: a green run that never opened a page would prove nothing.
"""

import base64
import contextlib
import http.client
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from proc_helpers import wait_until
from scan_helpers import POLL_SECONDS

CHROMIUM = os.environ.get("TD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,900"]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


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


@contextlib.contextmanager
def chromium(tmp_path):
    """A WebDriver session of a fresh headless Chromium; chromedriver's log in *tmp_path*."""
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
        wait_until(ready, 30, interval=POLL_SECONDS, message="chromedriver to listen")
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
