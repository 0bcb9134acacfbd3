"""Small fakes shared by the state-logic tests."""


class FakeClock(object):
    """A monotonic clock that moves only when sleep() is called."""

    def __init__(self, start=100.0):
        self.now = start

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
