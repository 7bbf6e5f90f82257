"""`celeba annotators restore`: a withdrawal taken back (the team-day walkthrough of 2026-12-07:
a withdraw of the wrong name was for good, and nothing said who had withdrawn what)."""

import json
import re

from typer.testing import CliRunner

from celeba_tui.cli import app


def run(*args, ok=True):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def live(workspace, annotator=None) -> dict:
    with workspace.open_store() as store:
        frame = store.live_labels(annotators=None if annotator is None else [annotator])
    return {(r.image, r.task, r.annotator): r.label for r in frame.itertuples()}


def test_restore_makes_the_withdrawn_labels_live_again_once(tmp_path, workspace, monkeypatch):
    path = tmp_path / "l.csv"
    path.write_text(
        "image,task,label,annotator,time\n"
        "000001.jpg,light,left,amy,2026-12-01T10:00:00Z\n000002.jpg,orientation,right,amy,2026-12-01T10:01:00Z\n"
        "000001.jpg,light,right,bob,2026-12-01T10:02:00Z\n000003.jpg,orientation,left,bob,\n"
    )
    run("import", path, "-w", workspace.path)
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "center", "bob", "import")  # supersedes his right
    before = live(workspace)
    people = json.loads(run("annotators", "-w", workspace.path, "--json").stdout)
    monkeypatch.setenv("CELEBA_ANNOTATOR", "lead")

    withdrawn = run("annotators", "withdraw", "bob", "--yes", "-w", workspace.path)
    assert "celeba annotators restore bob" in withdrawn.stderr and "Next: celeba label" in withdrawn.stderr
    assert live(workspace, "bob") == {}
    done = json.loads(run("annotators", "restore", "bob", "-w", workspace.path, "--json").stdout)
    assert (done["restored"], done["restored_before"], done["answered_since"]) == (2, 0, 0)
    assert done["withdrawn_by"] == "lead"
    # What was live then is live again (not the superseded `right`), with when it was answered;
    # bob's decisions are counted once, the restored copies not as new ones.
    assert live(workspace) == before
    assert json.loads(run("annotators", "-w", workspace.path, "--json").stdout) == people
    again = run("annotators", "restore", "bob", "-w", workspace.path)
    assert "restored 0 labels of bob" in again.stdout and "(2 restored before)" in again.stdout
    assert re.search(r"withdrawn \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by lead", again.stdout)  # to the second
    assert live(workspace) == before


def test_an_answer_given_since_the_withdrawal_stands(workspace):
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "bob")
        store.add_label("000002.jpg", "light", "left", "bob")
        store.add_label("000002.jpg", "orientation", "left", "bob")
    run("annotators", "withdraw", "bob", "-t", "light", "--yes", "-w", workspace.path)
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "right", "bob")  # answered again since
    result = run("annotators", "restore", "bob", "-t", "light", "-w", workspace.path)
    assert "restored 1 labels of bob" in result.stdout and "1 left as bob answered since" in result.stdout
    assert live(workspace, "bob") == {
        ("000001.jpg", "light", "bob"): "right",
        ("000002.jpg", "light", "bob"): "left",
        ("000002.jpg", "orientation", "bob"): "left",  # never withdrawn
    }


def test_restore_says_what_it_cannot_do(workspace):
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "bob")
    nothing = run("annotators", "restore", "bob", "-w", workspace.path, ok=False)
    assert nothing.exit_code == 2 and nothing.stderr == "error: no withdrawal of the labels of 'bob' to restore\n"
    nobody = run("annotators", "restore", "bobb", "-w", workspace.path, ok=False)
    assert nobody.exit_code == 2 and "no annotator named 'bobb'" in nobody.stderr and "'bob'" in nobody.stderr


def test_a_withdrawal_overtaken_walks_back_to_the_one_before(workspace):
    # Attack pass 27: `withdraw -t light`, then `withdraw` (all), then two restores: the
    # second said "0 restored (9 restored before)" with the light labels still withdrawn.
    with workspace.open_store() as store:
        for image in ("000001.jpg", "000002.jpg"):
            store.add_label(image, "light", "left", "bob")
            store.add_label(image, "orientation", "right", "bob")
    before = live(workspace)
    run("annotators", "withdraw", "bob", "-t", "light", "--yes", "-w", workspace.path)
    run("annotators", "withdraw", "bob", "--yes", "-w", workspace.path)
    first = json.loads(run("annotators", "restore", "bob", "-w", workspace.path, "--json").stdout)
    assert (first["restored"], first["withdrawn_task"]) == (2, None)  # the orientation labels
    second = run("annotators", "restore", "bob", "-w", workspace.path)
    assert "restored 2 labels of bob" in second.stdout and "(the light labels)" in second.stdout
    assert live(workspace) == before
    third = run("annotators", "restore", "bob", "-w", workspace.path)
    assert "restored 0 labels" in third.stdout and "2 restored before" in third.stdout


def test_automatic_labels_a_later_autolabel_decided_over_are_not_restored(tmp_path, oracles):
    # Attack pass 27: withdraw autolabel, a new run sends 7 images to people, restore brought
    # the older ensemble's labels back on them and emptied the manual queue.
    from celeba_tui.labelling.queues import QUEUES, QueueOptions

    from training_data import make_labelled_workspace

    workspace, _, _ = make_labelled_workspace(tmp_path, n=30, labels_for=9)
    models = [str(oracles["sharp"]), str(oracles["soft"])]
    auto = ["autolabel", "--batch-size", "8", "-w", workspace.path]
    run(*auto, "-m", *models, "--high", "0.9")
    run("annotators", "withdraw", "autolabel", "--yes", "-w", workspace.path)
    later = json.loads(run(*auto, "-m", models[0], "--high", "0.99", "--json").stdout)["tasks"][0]
    done = json.loads(run("annotators", "restore", "autolabel", "-w", workspace.path, "--json").stdout)
    assert done["restored"] == 0 and done["decided_since"] == later["manual_queue"] == 7
    with workspace.open_store() as store:
        manual = QUEUES["manual"].build(store, workspace, "zed", workspace.tasks, QueueOptions())
    assert len(manual.items) == 7


def test_a_command_holding_the_name_is_named_for_what_it_does(workspace):
    # Attack pass 27: a second restore beside a first was told of "a `celeba label` session open".
    from celeba_tui.labelling.session_lock import annotator_session

    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "bob")
    with annotator_session(workspace.path, "bob", doing="restore"):
        refused = run("annotators", "withdraw", "bob", "--yes", "-w", workspace.path, ok=False)
        listed = json.loads(run("annotators", "-w", workspace.path, "--json").stdout)
    assert refused.exit_code == 2 and "has `celeba annotators restore` running on this workspace" in refused.stderr
    assert [r["labelling_since"] for r in listed] == [None]  # a restore is nobody labelling


def test_an_answer_imported_since_stands_as_one_typed_since_does(tmp_path, workspace):
    # Attack pass 28: a typed answer withdrawn, the same person's newer answer imported from a
    # file, then restore: the old typed one came back over it (it looked at one source only).
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "alice")
    run("annotators", "withdraw", "alice", "--yes", "-w", workspace.path)
    path = tmp_path / "later.csv"
    path.write_text("image,task,label,annotator,time\n000001.jpg,light,right,alice,2026-12-07T06:19:00Z\n")
    run("import", path, "-w", workspace.path)
    done = json.loads(run("annotators", "restore", "alice", "-w", workspace.path, "--json").stdout)
    assert (done["restored"], done["answered_since"]) == (0, 1)
    with workspace.open_store() as store:
        assert store.current_labels("light").set_index("image").loc["000001.jpg", "label"] == "right"
    assert live(workspace, "alice") == {("000001.jpg", "light", "alice"): "right"}
