"""`celeba annotators restore`: a withdrawal taken back (the team-day walkthrough of 2026-12-07:
a withdraw of the wrong name was for good, and nothing said who had withdrawn what)."""

import json

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
