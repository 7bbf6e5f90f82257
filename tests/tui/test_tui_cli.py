"""`celeba label` arguments: errors name the problem, --count reports the queue."""

from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app

runner = CliRunner()


def label(workspace, *args):
    return runner.invoke(app, ["label", "-w", str(workspace.path), "-a", "ann", *args])


def test_count_reports_the_queue(workspace, store):
    store.add_label("000001.jpg", "light", "left", "ann")
    store.add_label("000001.jpg", "orientation", "left", "ann")
    result = label(workspace, "--count", "--json")
    assert result.exit_code == 0, result.output
    expected = {"queue": "unlabelled", "annotator": "ann", "to_do": 9, "done": 1, "total": 10}
    expected |= {"done_by_you": 1, "done_by_others": 0, "checks_planned": 0}
    assert json.loads(result.output) == expected
    share = json.loads(label(workspace, "--count", "--json", "--assign", "1/2", "--overlap", "0.2").output)
    assert 0 < share["total"] < 10
    review = label(workspace, "--count", "--queue", "review")
    assert review.exit_code == 0 and "review queue for ann: 0 to do" in review.output


def test_count_says_what_others_finished_apart_from_ones_own(workspace, store):
    for task in ("light", "orientation"):
        store.add_label("000001.jpg", task, "left", "ann")
        store.add_label("000002.jpg", task, "left", "bob")
        store.add_label("000003.jpg", task, "left", "bob")
    store.add_label("000004.jpg", "light", "left", "bob")  # half finished: still to do for ann
    result = label(workspace, "--count")
    assert (
        result.output.strip() == "unlabelled queue for ann: 7 to do, 3 / 10 done (1 all yours, 2 with others' answers)"
    )
    for image in ("000005.jpg", "000006.jpg"):
        store.add_label(image, "light", "left", "ann")
        store.add_label(image, "light", "right", "bob")
    store.add_label("000005.jpg", "light", "left", "rev2", source="review")
    counted = json.loads(label(workspace, "--count", "--json", "--queue", "review").output)
    # The JSON counts as the line does: done and total over the whole queue, whose apart.
    assert (counted["to_do"], counted["done"], counted["total"]) == (1, 1, 2)
    assert (counted["done_by_you"], counted["done_by_others"]) == (0, 1)


def test_count_adds_the_checks_the_session_plans(workspace, store):
    from celeba_tui.labelling.queues import QUEUES, QueueOptions
    from celeba_tui.tui.app import LabelConfig, start_session

    for task in ("light", "orientation"):
        store.add_label("000001.jpg", task, "left", "ann")
    result = label(workspace, "--count", "--checks", "0.2")
    # 9 images to do bring 9 x 0.2 / 0.8 = 2.25 -> 2 checks, as the screen's total counts them.
    assert result.output.strip() == (
        "unlabelled queue for ann: 11 to do (2 consistency checks among them), 1 / 12 done"
    )
    session = start_session(store, LabelConfig(workspace, "ann", "unlabelled", checks=0.2), QUEUES["unlabelled"])
    if not session.complete:
        session.adopt(QUEUES["unlabelled"].build(store, workspace, "ann", workspace.tasks, QueueOptions()))
    assert session.shown_progress == (1, 12)
    session.close()
    review = json.loads(label(workspace, "--count", "--json", "--checks", "0.2", "--queue", "review").stdout)
    assert review["checks_planned"] == 0  # reviews of others' conflicts: nothing of one's own to check
    # helper-72: asked for, none came, and nothing said so.
    said = label(workspace, "--count", "--checks", "0.2", "--queue", "review").stderr
    assert "--checks 0.2: no consistency checks in this session: this queue asks for reviews" in said, said
    assert "no consistency checks" not in label(workspace, "--count", "--checks", "0.2").stderr


def test_checks_say_why_a_task_gets_none():
    from celeba_tui.labelling.flip_checks import no_checks_because
    from celeba_tui.workspace import Task

    yes_no = (Task("glasses", ("yes", "no")), Task("side", ("l", "c", "r")))
    assert "a flip changes no class of glasses, side" in no_checks_because(yes_no, "human")
    assert no_checks_because((Task("light", ("left", "center", "right")), *yes_no), "human") == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--queue", "nope"], "unknown queue 'nope' (queues: "),
        (["--queue", "reveiw"], "unknown queue 'reveiw' (did you mean 'review'? queues: "),
        (["--queue", "unlabeld"], "did you mean 'unlabelled'?"),
        (["--queue", "REVIEW"], "did you mean 'review'?"),  # attack pass 31: no hint for another case
        (["--queue", "x" * 10_000], "unknown queue 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' ("),
        (["--overlap", "0.2"], "--overlap needs --assign"),
        (["--assign", "3/2"], "I must be between 1 and N"),
        (["--checks", "0.8"], "--checks 0.8"),
        (["--renderer", "ascii"], "--renderer 'ascii'"),
        (["--task", "mood"], "unknown task 'mood'"),
        ([], "needs a terminal"),
    ],
)
def test_errors_are_one_line(workspace, args, message):
    result = label(workspace, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_unlabeled_is_accepted_and_reported_as_unlabelled(workspace):
    result = label(workspace, "--count", "--json", "--queue", "unlabeled", "-t", "light")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["queue"] == "unlabelled"


def test_unknown_image_is_one_line_with_near_matches(workspace):
    result = label(workspace, "--image", "00003.jpg")
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "--image 00003.jpg: no such image in the store; did you mean 000003.jpg" in result.output


def test_the_session_ends_with_a_summary_and_the_next_command(workspace, store, monkeypatch):
    from collections import Counter

    from celeba_tui.cli import label_commands
    from celeba_tui.labelling.session_summary import SessionOutcome

    store.add_label("000001.jpg", "light", "left", "ann")
    store.add_label("000001.jpg", "light", "right", "bob")
    runs = []

    def fake_tui(opened_store, run):  # the app itself is driven by Pilot in test_tui_app
        runs.append(run)
        return SessionOutcome(Counter({("light", "left"): 1}))

    monkeypatch.setattr(label_commands, "_run_tui", fake_tui)
    result = label(workspace, "-t", "light", "--queue", "unlabeled")
    assert result.exit_code == 0, result.output
    assert runs[0].queue == "unlabelled" and [t.name for t in runs[0].tasks] == ["light"]
    lines = result.output.splitlines()
    assert lines[:3] == [
        "Session of ann: 1 decision stored.",
        "  light        left 1 · center 0 · right 0",
        "The unlabelled queue: 9 images left, 1 done.",
    ]
    # The commands as this one was typed (-w, -a): run from the same folder, as the same person.
    typed = f"-w {shlex.quote(str(workspace.path))} -a ann"
    # On the same queue, with the options that shaped it (attack pass 25: a hint without
    # `--assign 1/2` or `-t light` opened another queue than the one whose count it gave).
    assert lines[3].startswith(f"Next: celeba label --queue unlabelled {typed} -t light   (")
    review = (
        f"or: celeba label --queue review {typed}   (1 image where annotators disagree: every one holds your "
        "answer, best settled by someone who took no side)"
    )
    assert review in result.output
    shared = label(workspace, "-t", "light", "--assign", "1/2", "--overlap", "0.1", "--shuffle", "--seed", "3")
    assert shared.exit_code == 0, shared.output
    assert (
        f"Next: celeba label --queue unlabelled {typed} -t light --assign 1/2 --overlap 0.1 --shuffle --seed 3   ("
        in (shared.output)
    )
    as_json = json.loads(label(workspace, "-t", "light", "--json").output)
    merge = f"celeba merge --policy dawid-skene -w {shlex.quote(str(workspace.path))}"  # merge takes no -a
    assert as_json["left"] == 9 and as_json["next"][2]["command"] == merge
    # From inside the workspace, as the OS user: no -w, no -a.
    monkeypatch.chdir(workspace.path)
    monkeypatch.setenv("CELEBA_ANNOTATOR", "ann")
    plain = runner.invoke(app, ["label", "-t", "light", "--queue", "unlabeled"])
    assert "Next: celeba label --queue unlabelled -t light   (" in plain.output, plain.output


def test_count_refuses_a_name_with_control_characters(workspace):
    """An attack pass found `--count` echoing `-a` raw: an OSC sequence retitled the terminal."""
    result = runner.invoke(app, ["label", "-w", str(workspace.path), "-a", "a\x1b]0;pwned\x07b", "--count"])
    assert result.exit_code == 2 and "\x1b" not in result.output
    assert result.output.strip() == "error: --annotator: contains control characters"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Ann", "'ann'"),
        ("anne", "'ann'"),
        ("ANN", "'ann'"),
        ("\uff41\uff4e\uff4e", "'ann'"),
        ("bob", None),
        ("ann", None),
    ],
)
def test_a_new_name_like_a_known_one_asks_whether_it_was_meant(workspace, store, typed, meant):
    """The labelling walkthrough of 2026-12-07: `-a Alice` where alice labels quietly made a
    second person, counted in agreement and merges. The name still works as typed."""
    store.add_label("000001.jpg", "light", "left", "ann")
    result = runner.invoke(app, ["label", "-w", str(workspace.path), "-a", typed, "--count"])
    assert result.exit_code == 0 and f"unlabelled queue for {typed}:" in result.stdout
    if meant is None:
        assert result.stderr == ""
    else:
        assert result.stderr.strip() == (
            f"warning: {typed!r} is a new annotator: did you mean {meant}? (labels go under the name as typed)"
        )


def test_a_name_whose_labels_were_all_taken_back_is_not_offered(workspace, store):
    # helper-85: after `import --undo ANN` (a mistyped name) `label -a Ann` offered ANN too.
    store.add_label("000001.jpg", "light", "left", "ann")
    store.add_label("000002.jpg", "light", "left", "ANN")
    store.withdraw_annotator("ANN")
    result = runner.invoke(app, ["label", "-w", str(workspace.path), "-a", "Ann", "--count"])
    assert result.exit_code == 0, result.output
    assert "did you mean 'ann'? (labels" in result.stderr and "ANN" not in result.stderr
    # Their own name is theirs still: no word.
    assert runner.invoke(app, ["label", "-w", str(workspace.path), "-a", "ANN", "--count"]).stderr == ""


def test_a_name_someone_had_before_a_rename_asks_whether_they_were_meant(workspace, store):
    # Attack pass 40 (helper-84): `label -a bob` after `annotators rename bob robert` made a
    # new bob without a word, where `import -a bob` reads bob as robert.
    store.add_label("000001.jpg", "light", "left", "bob")
    store.rename_annotator("bob", "robert")
    result = runner.invoke(app, ["label", "-w", str(workspace.path), "-a", "bob", "--count"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        "warning: 'bob' was 'robert''s name before a rename: did you mean 'robert'? (labels go under the name as typed)"
    )


def test_the_os_users_name_among_other_people_is_said(workspace, store, monkeypatch):
    """The walkthrough of 2026-12-07: browsing without --as stored reviews under `root`, the
    OS user, among people called ann and bob, without a word."""
    monkeypatch.delenv("CELEBA_ANNOTATOR", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    count = ["label", "-w", str(workspace.path), "--count"]
    assert runner.invoke(app, count).stderr == ""  # nobody else here: the OS user's name is the one
    store.add_label("000001.jpg", "light", "left", "ann")
    store.add_label("000002.jpg", "light", "left", "autolabel", "model", confidence=0.9)  # no person
    result = runner.invoke(app, count)
    assert result.exit_code == 0 and "unlabelled queue for root:" in result.stdout
    assert result.stderr.strip() == (
        "warning: your decisions go under 'root', the OS user's name (no -a given); "
        "people here: 'ann'; -a NAME to be one of them"
    )
    monkeypatch.setenv("CELEBA_ANNOTATOR", "root")  # chosen: nothing to say
    assert runner.invoke(app, count).stderr == ""
    # A name the OS gives that cannot be an annotator's is not blamed on -a (attack pass 33).
    monkeypatch.delenv("CELEBA_ANNOTATOR")
    monkeypatch.setattr("getpass.getuser", lambda: "merge:x")
    refused = runner.invoke(app, count)
    assert refused.exit_code == 2 and refused.output.strip() == (
        "error: the OS user's name 'merge:x' (no --annotator given) starts with 'merge:', which is reserved "
        "for merges: give --annotator NAME"
    )


def test_count_of_an_empty_queue_says_why_and_what_next(workspace, store):
    # The labelling walkthrough of 2026-12-07: "manual queue for root: 0 to do, 0 / 0 done", no reason.
    result = label(workspace, "--count", "--queue", "manual")
    assert result.exit_code == 0 and "manual queue for ann: 0 to do" in result.stdout
    assert result.stderr.startswith("No predictions to work from yet: `celeba autolabel` has not labelled anything.")
    assert label(workspace, "--count").stderr == ""  # images to do: nothing to explain
    # What to run next, as this one was typed (attack pass 31: without -w and -a it ran
    # nowhere from the folder it was typed in).
    store.add_label("000001.jpg", "light", "left", "ann")
    store.add_label("000001.jpg", "light", "right", "bob")
    hint = label(workspace, "--count", "--queue", "manual").stderr
    typed = f"-w {shlex.quote(str(workspace.path))} -a ann"
    assert f"\nNext: celeba label --queue review {typed}   (1 image where annotators disagree" in hint
