"""`celeba rename-class`: a class called by another name in celeba.toml and every stored
row, history kept (helper-72: a class renamed in celeba.toml made every command refuse)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.store.class_rename import renamed_config_text

CONFIG = """# our tasks
images = "../images"

[[tasks]]
name = "expression"  # what the face does
classes = ["neutral", "smile", "frown"]

[[tasks]]
name = "mood"
classes = ['calm', 'frowning']
"""


def test_the_config_is_rewritten_in_that_one_place_only():
    renamed = renamed_config_text(CONFIG, "expression", "frown", "sad")
    assert renamed == CONFIG.replace('"frown"', '"sad"')  # comments, quotes and the other task kept
    assert renamed_config_text(CONFIG, "mood", "calm", "still") == CONFIG.replace("'calm'", "'still'")
    for task, old in (("mood", "frown"), ("expression", "calm"), ("expression", "expression")):
        with pytest.raises(CelebaError, match="by hand"):
            renamed_config_text(CONFIG, task, old, "x")
    # The code review of 2026-12-07: a class another task spells too could never be renamed
    # (the default tasks share left, center, right); a quote in the new name split the class.
    both = CONFIG.replace("'calm', 'frowning'", "'calm', 'smile'")
    assert renamed_config_text(both, "expression", "smile", "happy") == both.replace('"smile"', '"happy"')
    with pytest.raises(CelebaError, match="would not read back as one class"):
        renamed_config_text(CONFIG, "expression", "frown", 'sad", "angry')
    spaced = CONFIG.replace("[[tasks]]", "[[ tasks ]]  # a table").replace('"neutral", ', '\n    "neutral",\n    ')
    assert renamed_config_text(spaced, "expression", "frown", "sad") == spaced.replace('"frown"', '"sad"')


def cli(workspace, *args):
    return CliRunner().invoke(app, [*args, "-w", str(workspace.path)])


@pytest.fixture
def expression(tmp_path, image_folder):
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import Task, create_workspace

    workspace = create_workspace(tmp_path / "ws", image_folder, (Task("expression", ("neutral", "smile", "frown")),))
    with workspace.open_store() as store:
        register_images(store, workspace.image_root)
    rows = "image,task,label,annotator\n000001.jpg,expression,frown,ann\n000002.jpg,expression,smile,ann\n"
    rows += "000001.jpg,expression,frown,bob\n000003.jpg,expression,frown,bob\n"
    (tmp_path / "labels.csv").write_text(rows)
    assert cli(workspace, "import", str(tmp_path / "labels.csv")).exit_code == 0
    with workspace.open_store() as store:
        undo = store.add_label("000004.jpg", "expression", "frown", "ann")
        store.revoke(undo, "ann")
    return workspace


def history(workspace) -> list[tuple]:
    with sqlite3.connect(workspace.store_path) as db:
        return db.execute(
            "SELECT id, image_id, task, annotator_id, source, label, revokes, created FROM labels"
        ).fetchall()


def test_rename_keeps_every_decision_under_the_new_name(expression):
    before = history(expression)
    result = cli(expression, "rename-class", "-t", "expression", "frown", "sad")
    assert result.exit_code == 0, result.output
    assert (
        "renamed expression class 'frown' to 'sad' in" in result.output
        and "4 labels of the store's history" in result.output
    )
    after = history(expression)
    assert [row[:5] + row[6:] for row in after] == [row[:5] + row[6:] for row in before]  # who, when, what order
    assert [row[5] for row in after] == [None if row[5] is None else row[5].replace("frown", "sad") for row in before]
    assert '"sad"' in expression.config_path.read_text()
    long = cli(expression, "export", "--format", "long", "-o", "-").stdout
    assert "frown" not in long and long.count(",sad,") == 3
    stats = json.loads(cli(expression, "stats", "--json").stdout)["tasks"]["expression"]
    assert stats["classes"] == {"neutral": 0, "smile": 1, "sad": 2}
    again = cli(expression, "rename-class", "-t", "expression", "frown", "sad")
    assert again.exit_code == 2 and "nothing to rename: 'frown'" in again.stderr


def test_a_config_renamed_by_hand_first_gets_its_stored_labels_renamed(expression):
    config = expression.config_path
    config.write_text(config.read_text().replace('"frown"', '"sad"'))
    refused = cli(expression, "stats")
    assert (
        refused.exit_code == 2 and "`celeba rename-class -t TASK OLD NEW` renames its stored labels" in refused.stderr
    )
    assert cli(expression, "rename-class", "-t", "expression", "frown", "sad", "--json").exit_code == 0
    assert cli(expression, "stats").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frown", "smile"], "'frown' and 'smile' are both classes of 'expression': renaming would merge them"),
        (["frown", "frown"], "'frown' is already called so"),
        (["grin", "smirk"], "neither 'grin' nor 'smirk' is a class of 'expression'"),
        (["frown", "[b]sad"], "invalid class '[b]sad'"),
        (["frown", "unlabelled"], "the word browse's filters use for images without a label"),
    ],
)
def test_a_rename_that_cannot_be_one_changes_nothing(expression, args, message):
    config, before = expression.config_path.read_text(), history(expression)
    result = cli(expression, "rename-class", "-t", "expression", *args)
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert expression.config_path.read_text() == config and history(expression) == before


def test_the_models_classes_are_renamed_so_their_predictions_still_count(expression):
    with expression.open_store() as store, store.transaction() as conn:
        meta = {"task": "expression", "classes": ["neutral", "smile", "frown"]}
        conn.execute(
            "INSERT INTO models(hash, name, task, metadata, created) VALUES ('h', 'm.onnx', 'expression', ?, 0)",
            (json.dumps(meta),),
        )
    result = cli(expression, "rename-class", "-t", "expression", "frown", "sad", "--json")
    assert json.loads(result.stdout)["rows"]["models"] == 1
    with sqlite3.connect(expression.store_path) as db:
        (metadata,) = db.execute("SELECT metadata FROM models").fetchone()
    assert json.loads(metadata)["classes"] == ["neutral", "smile", "sad"]


def test_a_rename_that_would_merge_stored_classes_is_refused(expression):
    config = expression.config_path
    config.write_text(config.read_text().replace('"frown"', '"sad"'))
    with expression.open_store(check_classes=False) as store:  # a label of the new name already there
        store.add_label("000005.jpg", "expression", "sad", "ann")
    result = cli(expression, "rename-class", "-t", "expression", "frown", "sad")
    assert result.exit_code == 2 and "holds labels 'frown' and 'sad'" in result.stderr
