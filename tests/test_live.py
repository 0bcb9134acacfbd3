"""live.LiveScreen: the in-place block both the scan's table and `status --watch` draw, exact strings."""

from fakes import write_scan
from times_doctor.term import ansi
from times_doctor.term.live import LiveScreen


def screen_and_output():
    out = []
    return LiveScreen(out.append), out


def test_start_hides_the_cursor_once():
    screen, out = screen_and_output()
    screen.start()
    screen.start()
    assert out == [ansi.hide_cursor()]


def test_draw_writes_only_when_the_text_changed():
    screen, out = screen_and_output()
    screen.start()
    assert screen.draw(["a", "b"]) is True
    assert screen.draw(["a", "b"]) is False
    assert screen.draw(["a", "c"]) is True
    assert out == [ansi.hide_cursor(), ansi.clear_lines(0) + "a\nb",
                   ansi.clear_lines(2) + "a\nc"]
    assert screen.lines == ["a", "c"]


def test_write_above_erases_the_block_and_the_next_draw_starts_afresh():
    screen, out = screen_and_output()
    screen.start()
    screen.draw(["a", "b"])
    screen.write_above("note")
    screen.draw(["a", "b"])
    assert out[2:] == [ansi.clear_lines(2) + "note\n", ansi.clear_lines(0) + "a\nb"]


def test_suspend_erases_and_shows_the_cursor_and_start_hides_it_again():
    screen, out = screen_and_output()
    screen.start()
    screen.draw(["a"])
    screen.suspend()
    screen.start()
    screen.draw(["a"])
    assert out[2:] == [ansi.clear_lines(1) + ansi.show_cursor(), ansi.hide_cursor(),
                       ansi.clear_lines(0) + "a"]


def test_stop_ends_the_line_and_shows_the_cursor_once():
    screen, out = screen_and_output()
    with screen:
        screen.draw(["a"])
    screen.stop()
    assert out[-1] == "\n" + ansi.show_cursor()
    assert out.count("\n" + ansi.show_cursor()) == 1
    assert screen.lines is None


def test_stop_after_suspend_still_ends_the_line():
    # The scan stopped while the menu had the screen: the prompt must not
    # be left on the table's last line.
    screen, out = screen_and_output()
    screen.start()
    screen.suspend()
    screen.stop()
    assert out[-1] == "\n" + ansi.show_cursor()


def test_stop_without_start_writes_nothing():
    screen, out = screen_and_output()
    screen.stop()
    assert out == []


def test_stop_restores_the_cursor_when_the_block_raises():
    screen, out = screen_and_output()
    try:
        with screen:
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert out == [ansi.hide_cursor(), "\n" + ansi.show_cursor()]


class _Terminal(object):
    """A terminal-like stream: isatty() True, everything written kept."""

    def __init__(self, tty):
        self.parts = []
        self._tty = tty

    def isatty(self):
        return self._tty

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def text(self):
        return "".join(self.parts)


def test_status_watch_on_a_terminal_draws_in_place_and_restores_the_cursor(tmp_path, monkeypatch):
    from times_doctor.remote import status
    monkeypatch.setenv("TERM", "xterm")
    base = str(tmp_path)
    write_scan(base, finished=True, jobs=[("dual", "completed"), ("sift", "cancelled")])
    stream = _Terminal(tty=True)
    assert status.show_status(base, watch=True, stream=stream, no_color=True) == 0
    text = stream.text()
    assert text.startswith(ansi.hide_cursor() + ansi.clear_lines(0))
    assert text.endswith("\n" + ansi.show_cursor())
    assert "dual" in text and "sift" in text and "finished, exit 0" in text


def test_status_watch_without_a_terminal_prints_plain_blocks(tmp_path):
    from times_doctor.remote import status
    base = str(tmp_path)
    write_scan(base, finished=True, jobs=[("dual", "completed")])
    stream = _Terminal(tty=False)
    assert status.show_status(base, watch=True, stream=stream, no_color=True) == 0
    text = stream.text()
    assert "\x1b[" not in text
    assert text.endswith("finished, exit 0\n\n")
