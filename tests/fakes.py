"""Small fakes shared by the state-logic tests."""


class FakeClock(object):
    """A monotonic clock that moves only when the test (or a fake sleep) moves it.

    Pass ``clock.monotonic`` or the clock itself (calling it reads it) where code
    takes a time source, and ``clock.sleep`` where it takes a sleeper.
    """

    def __init__(self, start=100.0):
        self.now = start

    def monotonic(self):
        return self.now

    __call__ = monotonic

    def advance(self, seconds):
        self.now += seconds

    sleep = advance  # the code under test "sleeps" by moving the clock on
