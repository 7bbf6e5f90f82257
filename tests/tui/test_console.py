"""Tables printed to a pipe or a log file are not squeezed to 80 columns."""

import io

from celeba_tui import console as console_module
from celeba_tui.console import PIPED_WIDTH, output_console


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_piped_output_gets_room_for_wide_tables(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(console_module.sys, "stdout", _Stream(tty=False))
    assert output_console().width == PIPED_WIDTH


def test_columns_wins_over_the_piped_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(console_module.sys, "stderr", _Stream(tty=False))
    assert output_console(stderr=True).width == 100


def test_a_terminal_keeps_its_own_width(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(console_module.sys, "stdout", _Stream(tty=True))
    assert output_console().width != PIPED_WIDTH


def test_printable_shows_control_characters_as_escapes():
    from celeba_tui.console import printable

    assert printable("\x1b]0;pwned\x07bob") == "\\x1b]0;pwned\\x07bob"
    assert printable("two\nlines\ttab\x9b\u202eevil") == "two\\nlines\\ttab\\x9b\\u202eevil"
    assert printable("000313.jpg ünïcode [bold]") == "000313.jpg ünïcode [bold]"
    assert printable(42) == "42"
    assert printable("x\ud800y.jpg") == "x\\ud800y.jpg"  # a lone surrogate: shown, and printable


def test_annotators_shows_a_lock_notes_lone_surrogate_escaped(tmp_path):
    # Found by attack pass 12: `celeba annotators` ended in a UnicodeEncodeError traceback.
    import json
    import time

    from typer.testing import CliRunner

    from celeba_tui.cli import app
    from celeba_tui.workspace import create_workspace

    images = tmp_path / "images"
    images.mkdir()
    workspace = create_workspace(tmp_path / "ws", images)
    workspace.open_store(create=True).close()
    (workspace.path / "locks").mkdir()
    note = {"annotator": "m\ud800", "pid": 1, "host": "elsewhere", "started": time.time() - 60}
    note |= {"image": "x\ud800y.jpg", "shown": time.time()}
    from celeba_tui.labelling.session_lock import lock_path

    lock_path(workspace.path, "m\ud800").write_text(json.dumps(note))  # its own lock file: it counts
    result = CliRunner().invoke(app, ["annotators", "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    assert "m\\ud800" in result.output and "on x\\ud800y.jpg" in result.output


def test_literal_names_are_not_rich_markup():
    import io

    from rich.console import Console

    from celeba_tui.console import literal

    out = io.StringIO()
    Console(file=out, width=80).print(f"by {literal('[bold]x[/bold]')} and {literal('0[/]bad')}")
    assert out.getvalue() == "by [bold]x[/bold] and 0[/]bad\n"
