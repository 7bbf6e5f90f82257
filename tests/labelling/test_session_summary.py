"""What `celeba label` prints when it ends, from the session's outcome and the store."""

from __future__ import annotations

from collections import Counter

from celeba_tui.labelling.queues import OneImageQueue, QueueOptions, get_queue
from celeba_tui.labelling.session_summary import SessionOutcome, summarize, summary_lines

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]


def summary_of(store, workspace, outcome, queue="unlabelled", annotator="ann"):
    return summarize(
        store, workspace, annotator, get_queue(queue), workspace.tasks, QueueOptions(), outcome, min_labels=3
    )


def test_counts_by_task_and_class_what_is_left_and_the_next_command(store, workspace):
    for image in IMAGES[:4]:
        store.add_label(image, "light", "left", "ann")
        store.add_label(image, "orientation", "center", "ann")
    outcome = SessionOutcome(Counter({("light", "left"): 4, ("orientation", "center"): 4}), checks=1, changes=0)
    lines = summary_lines(summary_of(store, workspace, outcome))
    assert lines == [
        "Session of ann: 8 decisions stored (plus 1 consistency-check answers).",
        "  light        left 4 · center 0 · right 0",
        "  orientation  left 0 · center 4 · right 0",
        "The unlabelled queue: 6 images left, 4 done.",
        "Next: celeba label --queue unlabelled   (6 images left in the unlabelled queue)",
        "  or: celeba cycle -t light -p small_resnet   (4 settled light labels)",
        "  or: celeba cycle -t orientation -p small_resnet   (4 settled orientation labels)",
    ]


def test_conflicts_point_to_the_review_queue_then_to_a_merge_rule(store, workspace):
    for image in IMAGES:
        for task in ("light", "orientation"):
            store.add_label(image, task, "left", "bob")
    store.add_label(IMAGES[0], "light", "right", "ann")
    summary = summary_of(store, workspace, SessionOutcome(Counter({("light", "right"): 1})))
    assert summary.left == 0
    assert [step.command for step in summary.steps[:2]] == [
        "celeba label --queue review",
        "celeba merge --policy dawid-skene",
    ]
    assert summary.as_json()["labels"]["light"] == {"left": 0, "center": 0, "right": 1}
    # helper-87: five "Next:" lines after a session; three are shown, --json has them all.
    many = summary
    assert len(many.steps) > 3 and sum(line.startswith(("Next:", "  or:")) for line in summary_lines(many)) == 3


def test_nothing_decided_and_one_image(store, workspace):
    queue = OneImageQueue(IMAGES[2], get_queue("unlabelled"))
    summary = summarize(store, workspace, "ann", queue, workspace.tasks, QueueOptions(), SessionOutcome(), min_labels=3)
    assert summary.left is None
    assert summary_lines(summary)[0] == "Session of ann: no decisions stored."


def test_images_others_finished_are_said(store, workspace):
    for task in ("light", "orientation"):
        store.add_label(IMAGES[0], task, "left", "ann")
        for image in IMAGES[1:4]:
            store.add_label(image, task, "left", "bob")
    outcome = SessionOutcome(Counter({("light", "left"): 1, ("orientation", "left"): 1}), finished_elsewhere=3)
    summary = summary_of(store, workspace, outcome)
    lines = summary_lines(summary)
    assert "Others finished 3 images of this queue while you worked (not shown to you)." in lines
    assert "The unlabelled queue: 6 images left, 4 done (3 of them with others' answers)." in lines
    assert (summary.as_json()["finished_by_others"], summary.as_json()["done_by_others"]) == (3, 3)
    assert (summary.as_json()["done"], summary.as_json()["done_by_you"]) == (4, 1)  # as --count --json counts


def test_questions_skipped_are_said_with_where_their_images_go(store, workspace):
    lines = summary_lines(summary_of(store, workspace, SessionOutcome(skipped=1)))
    assert lines[:2] == [
        "Session of ann: no decisions stored.",
        "1 question skipped: its image comes at the end of your queue next time.",
    ]
    summary = summary_of(store, workspace, SessionOutcome(skipped=3))
    assert "3 questions skipped: their images come at the end of your queue next time." in summary_lines(summary)
    assert summary.as_json()["skipped"] == 3
