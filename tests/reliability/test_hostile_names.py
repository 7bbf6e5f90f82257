"""Names are data, never markup or terminal commands: odd image and annotator names on screen.

An image file may be called `0[/]bad.jpg` or `1x[/bold].jpg`, an imported annotator
`[bold]x[/bold]` or `ESC]0;pwned BEL bob` (an OSC sequence that retitles a terminal).
The labelling app must show such names as they are, and no command may hand a raw
control character to the terminal, nor read a name as rich markup.
"""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app as cli
from celeba_tui.store.registration import register_images
from celeba_tui.tui.app import LabelApp, LabelConfig
from celeba_tui.workspace import create_workspace

from pilot import image_on_screen, wait_for

pytestmark = pytest.mark.reliability

SIZE = (120, 40)
OSC_NAME = "\x1b]0;pwned\x07bob"
IMAGE_NAMES = ["0[/]bad.jpg", "1x[/bold].jpg", "2[red]plain.jpg", f"3{OSC_NAME}.jpg"]
MARKUP_ANNOTATOR = "[bold]x[/bold]"


@pytest.fixture
def markup_workspace(tmp_path):
    from conftest import make_images

    root = tmp_path / "imgs"
    make_images(root, IMAGE_NAMES)
    broken = root / "0[" / "]bad.jpg"  # a truncated JPEG: the pane shows its name and why
    broken.write_bytes(broken.read_bytes()[:300])
    ws = create_workspace(tmp_path / "ws", root)
    with ws.open_store(create=True) as store:
        register_images(store, ws.image_root)
    return ws


def _toasts(app) -> list[str]:
    from textual.widgets._toast import Toast

    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_odd_image_names_are_shown_as_text(markup_workspace):
    with markup_workspace.open_store() as store:
        app = LabelApp(LabelConfig(markup_workspace, "ann", renderer="halfcell"), store)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_for(pilot, lambda: image_on_screen(app), "the unreadable first image")
            message = str(app.screen.query_one("#pane-message").render())
            assert "Cannot show 0[/]bad.jpg" in message
            await pilot.press("a")  # refused (cannot be seen): the notice quotes the problem
            await pilot.press("space")
            await wait_for(
                pilot, lambda: image_on_screen(app) and app.session.current.image == "1x[/bold].jpg", "image 2"
            )
            assert "1x[/bold].jpg" in str(app.screen.query_one("#info").render())
            await pilot.press("a")
            await wait_for(pilot, lambda: app.session.current_task.name == "orientation", "the second question")
            await pilot.press("u")
            await wait_for(pilot, lambda: any("undone" in t for t in _toasts(app)), "the undo notice")
            assert any("for 1x[/bold].jpg" in t for t in _toasts(app))
            await pilot.press("d", "d")
            await wait_for(
                pilot, lambda: image_on_screen(app) and app.session.current.image == "2[red]plain.jpg", "image 3"
            )
            assert "2[red]plain.jpg" in str(app.screen.query_one("#info").render())
            await pilot.press("space", "space")
            await wait_for(
                pilot, lambda: image_on_screen(app) and app.session.current.image == IMAGE_NAMES[3], "image 4"
            )
            info = str(app.screen.query_one("#info").render())
            assert "\x1b" not in info and "3\\x1b]0;pwned\\x07bob.jpg" in info
            await pilot.press("q")
        assert app.return_code == 0
        live = {(r.image, r.task): r.label for r in store.live_labels().itertuples()}
    assert live == {("1x[/bold].jpg", "light"): "right", ("1x[/bold].jpg", "orientation"): "right"}


# ------------------------------------------------------------ printed output
runner = CliRunner()


def _labels_csv(path, annotators) -> None:
    """A long CSV in which every annotator labels the light of the same ten images."""
    rows = ["image,task,label,annotator"]
    for number in range(1, 11):
        for index, annotator in enumerate(annotators):
            label = "right" if index and number % 3 == 0 else "left"
            rows.append(f'{number:06d}.jpg,light,{label},"{annotator}"')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture
def older_store_names(workspace, store):
    """A store written before annotator names were checked: it holds an OSC sequence in one.

    Names already stored stay usable, so every command must still print them safely.
    """
    with sqlite3.connect(workspace.store_path) as conn:
        conn.execute("INSERT INTO annotators(name, created) VALUES (?, 0)", (OSC_NAME,))
    for number in range(1, 11):
        store.add_label(f"{number:06d}.jpg", "light", "left", OSC_NAME)
        store.add_label(f"{number:06d}.jpg", "light", "right" if number % 3 == 0 else "left", MARKUP_ANNOTATOR)
    return workspace


def _cli(workspace, *args):
    return runner.invoke(cli, [*args, "-w", str(workspace.path)])


def _assert_no_control(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output, repr(output)


@pytest.mark.parametrize("command", [["stats"], ["agreement"], ["merge", "--policy", "dawid-skene", "--dry-run"]])
def test_stored_names_print_literally(older_store_names, command):
    result = _cli(older_store_names, *command)
    assert result.exit_code == 0, result.output
    _assert_no_control(result.output)
    assert MARKUP_ANNOTATOR in result.output  # brackets kept: not read as markup
    assert "\\x1b]0;pwned\\x07bob" in result.output  # the escape made visible


def test_import_prints_names_literally(workspace, tmp_path):
    labels = tmp_path / "markup.csv"
    _labels_csv(labels, [MARKUP_ANNOTATOR, "[red]"])
    result = _cli(workspace, "import", str(labels))
    assert result.exit_code == 0, result.output
    summary = result.output.splitlines()[0]
    assert MARKUP_ANNOTATOR in summary and "[red]" in summary and "(20 new)" in summary
    for command in ("stats", "agreement"):
        shown = _cli(workspace, command)
        assert MARKUP_ANNOTATOR in shown.output and "[red]" in shown.output, shown.output


def test_import_of_a_control_character_name_is_a_safe_line(workspace, tmp_path):
    labels = tmp_path / "osc.csv"
    _labels_csv(labels, [OSC_NAME])
    result = _cli(workspace, "import", str(labels))
    _assert_no_control(result.output)


def test_error_lines_show_control_characters_as_escapes(tmp_path):
    missing = tmp_path / f"ws{OSC_NAME}"
    result = runner.invoke(cli, ["stats", "-w", str(missing)])
    assert result.exit_code == 2
    _assert_no_control(result.output)
    assert result.output.count("\n") == 1 and "ws\\x1b]0;pwned\\x07bob" in result.output
