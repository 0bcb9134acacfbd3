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


def start_next_on_cancel(registry, cancelled, next_name):
    """Do what a worker does when *cancelled*'s cancel ends its run: start *next_name*.

    A registry listener, called on the first snapshot of *cancelled* with its
    cancel requested.  Returns the list that receives try_start()'s answer:
    [False] when the same request had cancelled *next_name* first.
    """
    answers = []

    def listener(snap):
        if snap.name == cancelled and snap.cancel_requested and not answers:
            answers.append(registry.try_start(next_name))
    registry.add_listener(listener)
    return answers
