"""A block of lines redrawn in place on a terminal: what the scan's table and `status --watch` share.

Split the way Rich splits ``live_render.py`` from ``live.py``. ``LiveRegion``
writes nothing: it remembers how many lines it drew and returns the text that
erases them and draws new ones. ``LiveScreen`` owns the terminal side of the
lifecycle: the cursor hidden while drawing, a redraw only when the text
changed, and the cursor shown again with the line ended when it stops, in
``finally`` when used as a context manager. Both views get these guarantees
from here instead of each writing them out.

Writing goes through the owner's *write* callable, so the owner keeps its own
locking and its own answer to a broken stream (the scan's monitor stops
drawing but the runs go on).
"""

from times_doctor.term import ansi


class LiveRegion(object):
    """The lines on screen, and the escapes to replace them.

    Modelled on Rich's LiveRender: the cursor is left at the end of the last
    line (no trailing newline), so the lines to erase are the cursor's line
    and the height-1 above it.
    """

    def __init__(self):
        self.height = 0
        self.lines = None  # what is on screen; None when nothing is

    def draw(self, lines):
        """Text that erases the previous lines and draws *lines* in their place."""
        text = ansi.clear_lines(self.height) + "\n".join(lines)
        self.height = len(lines)
        self.lines = list(lines)
        return text

    def clear(self):
        """Text that erases the drawn lines, leaving the cursor where the first one began."""
        text = ansi.clear_lines(self.height)
        self.forget()
        return text

    def forget(self):
        """Nothing of ours is on screen any more (the final block was left behind)."""
        self.height = 0
        self.lines = None


class LiveScreen(object):
    """One live region on one terminal, from the first draw to the restored cursor.

    ``start`` hides the cursor, ``draw`` replaces the block when its text
    changed, ``suspend`` erases it and shows the cursor (for a menu that
    prints below), ``start`` again hides it for the next ``draw`` (drawn from
    scratch: nothing of ours is on screen), and ``stop`` leaves the last
    block on screen, ends its line and shows the cursor. Every method is a
    no-op when it would not change the screen, so owners may call them
    unconditionally on the way out.
    """

    def __init__(self, write):
        self._write = write
        self._region = LiveRegion()
        self._active = False  # between start() and stop()
        self._cursor_hidden = False

    @property
    def lines(self):
        """What is on screen now (None when nothing is)."""
        return self._region.lines

    def start(self):
        self._active = True
        if not self._cursor_hidden:
            self._cursor_hidden = True
            self._write(ansi.hide_cursor())

    def draw(self, lines):
        """Redraw when *lines* differ from what is on screen; True if it wrote."""
        if lines == self._region.lines:
            return False
        self._write(self._region.draw(lines))
        return True

    def write_above(self, text):
        """Erase the block and write *text* (a line) where it was; the next draw goes below it."""
        self._write(self._region.clear() + text + "\n")

    def suspend(self):
        """Erase the block and show the cursor; the next draw starts from scratch."""
        text = self._region.clear()
        if self._cursor_hidden:
            self._cursor_hidden = False
            text += ansi.show_cursor()
        self._write(text)

    def stop(self):
        """Leave the block on screen, end its line, show the cursor (also after a suspend)."""
        if not self._active:
            return
        self._active = self._cursor_hidden = False
        try:
            self._write("\n" + ansi.show_cursor())
        finally:
            self._region.forget()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.stop()
        return False
