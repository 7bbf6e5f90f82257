"""Empty-queue hints and next commands, computed from a real store's state."""

from __future__ import annotations

import pytest

from celeba_tui.labelling.next_steps import NextStep, StoreState, empty_queue_hint, next_steps, read_store_state
from celeba_tui.labelling.queues import QueueOptions, get_queue

from store_rows import add_prediction, autolabel_finished

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]


def hint(store, workspace, queue, annotator="ann", tasks=None):
    tasks = tasks or workspace.tasks
    built = get_queue(queue).build(store, workspace, annotator, tasks, QueueOptions())
    assert built.items == []  # the hint is for an empty queue
    state = read_store_state(store, annotator, tasks, workspace.suspects_path)
    return empty_queue_hint(queue, state, min_labels=3)


def light_only(workspace):
    return workspace.tasks[:1]


@pytest.mark.parametrize("queue", ["manual", "uncertain"])
def test_no_predictions_at_all(store, workspace, queue):
    assert "No predictions to work from yet: `celeba autolabel` has not labelled anything." in hint(
        store, workspace, queue
    )


def test_manual_queue_after_autolabel_labelled_everything(store, workspace):
    for image in IMAGES[:4]:
        add_prediction(store, image, "light", "m", [0.9, 0.05, 0.05])
        store.add_label(image, "light", "left", "ensemble", source="model", confidence=0.9)
    autolabel_finished(store, "light", ["m"])
    text = hint(store, workspace, "manual", tasks=light_only(workspace))
    assert "`celeba autolabel` labelled all 4 predicted answers itself" in text
    assert "has not" not in text


def test_a_manual_queue_of_an_autolabel_that_stopped_before_deciding_is_empty_and_says_why(store, workspace):
    # Found by attack pass 15: killed (or a full disk) after the predictions were stored,
    # the first autolabel sent every unlabelled image to the manual queue.
    from celeba_tui.labelling.queues import QUEUES, QueueOptions

    for image in IMAGES[:4]:
        add_prediction(store, image, "light", "m", [0.9, 0.05, 0.05])
    built = QUEUES["manual"].build(store, workspace, "ann", light_only(workspace), QueueOptions())
    assert built.items == [] and (built.done, built.total) == (0, 0)
    assert "no `celeba autolabel` of these tasks finished deciding" in hint(
        store, workspace, "manual", tasks=light_only(workspace)
    )
    autolabel_finished(store, "light", ["m"])
    built = QUEUES["manual"].build(store, workspace, "ann", light_only(workspace), QueueOptions())
    assert [item.image for item in built.items] == IMAGES[:4]


def test_a_store_auto_labelled_before_runs_recorded_their_ensemble_keeps_its_manual_queue(store, workspace):
    from celeba_tui.labelling.queues import QUEUES, QueueOptions

    for image in IMAGES[:4]:
        add_prediction(store, image, "light", "m", [0.9, 0.05, 0.05])
    store.add_label(IMAGES[0], "light", "left", "autolabel", source="model", confidence=0.9, model="ensemble-1")
    built = QUEUES["manual"].build(store, workspace, "ann", light_only(workspace), QueueOptions())
    assert [item.image for item in built.items] == IMAGES[1:4]


def test_manual_queue_labelled_by_you_and_others(store, workspace):
    for image in IMAGES[:4]:
        add_prediction(store, image, "light", "m", [0.4, 0.3, 0.3])
    store.add_label(IMAGES[0], "light", "left", "ensemble", source="model")
    store.add_label(IMAGES[1], "light", "left", "ann")
    store.add_label(IMAGES[2], "light", "right", "ann")
    store.add_label(IMAGES[3], "light", "center", "bob")
    autolabel_finished(store, "light", ["m"])
    text = hint(store, workspace, "manual", tasks=light_only(workspace))
    assert "of 4 predicted answers, 1 were auto-labelled and 3 labelled by people (2 by you)" in text


def test_unlabelled_everything_labelled_by_you(store, workspace):
    for image in IMAGES:
        store.add_label(image, "light", "left", "ann")
    text = hint(store, workspace, "unlabelled", tasks=light_only(workspace))
    assert "Every image is labelled: 10 answers are yours." in text
    assert "Next: `celeba cycle -t light -p small_resnet`" in text  # 10 agreed labels, more than min_labels


def test_review_without_and_with_overlap(store, workspace):
    assert "no image has labels from two annotators yet" in hint(store, workspace, "review")
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "light", "left", "bob")
    assert "every question two or more annotators answered (1) agrees, was reviewed (0 reviews" in hint(
        store, workspace, "review"
    )


def test_suspects_before_autolabel_with_none_and_all_reviewed(store, workspace):
    assert "`celeba autolabel` has not run yet" in hint(store, workspace, "suspects")
    workspace.suspects_path.parent.mkdir(exist_ok=True)
    workspace.suspects_path.write_text("image,task,human,ensemble,confidence\n")
    assert "contradicts none of the agreed labels" in hint(store, workspace, "suspects")
    workspace.suspects_path.write_text(f"image,task,human,ensemble,confidence\n{IMAGES[0]},light,right,left,0.9\n")
    store.add_label(IMAGES[0], "light", "right", "bob")
    store.add_label(IMAGES[0], "light", "left", "ann", source="review")
    assert "every one the latest `celeba autolabel` found has been reviewed (1 review is yours)" in hint(
        store, workspace, "suspects"
    )


def test_next_steps_follow_the_store():
    state = StoreState(images=10, conflicts=3, conflict_images=2, settled={"light": 12, "orientation": 1})
    assert next_steps(state, queue="unlabelled", left=5, min_labels=10) == [
        NextStep("celeba label --queue unlabelled", "5 images left in the unlabelled queue"),
        NextStep("celeba label --queue review", "2 images where annotators disagree (3 questions), for a person"),
        NextStep("celeba merge --policy dawid-skene", "or settle them by each annotator's estimated accuracy"),
        NextStep("celeba cycle -t light -p small_resnet", "12 settled light labels"),
    ]
    # A workspace that names light's architectures (celeba.toml, earlier runs): no -p.
    cycled = next_steps(state, queue="review", left=0, min_labels=10, cycle_ready=frozenset({"light"}))
    assert [s.command for s in cycled] == ["celeba label --queue review", "celeba cycle -t light"]
    # Reviewing, with images left: the queue's own line, not the same command twice.
    reviewing = next_steps(state, queue="review", left=2, min_labels=10)
    assert [s.command for s in reviewing] == ["celeba label --queue review", "celeba cycle -t light -p small_resnet"]
    predicted = StoreState(images=10, predicted=4, settled={"light": 12})
    assert [s.command for s in next_steps(predicted, queue="unlabelled", left=0, min_labels=10)] == [
        "celeba label --queue manual"
    ]


def test_an_empty_share_says_it_is_a_share(store, workspace):
    # Found by attack pass 12: with --assign the hint said "Every image is labelled".
    state = read_store_state(store, "ann", workspace.tasks)
    assert "Every image in your share (others' shares may still be open) is labelled" in empty_queue_hint(
        "unlabelled", state, min_labels=3, share=True
    )
    assert "Every image is labelled" in empty_queue_hint("unlabelled", state, min_labels=3)


def test_conflicts_are_counted_in_images_as_the_review_queue_counts_them(store, workspace):
    # Found by the docs audit: quitting the TUI suggested "--queue review (153 conflicts)"
    # while `label --queue review --count` said 126 images (one image, conflicts on two tasks).
    for task in ("light", "orientation"):
        store.add_label(IMAGES[0], task, "left", "ann")
        store.add_label(IMAGES[0], task, "right", "bob")
    store.add_label(IMAGES[1], "light", "left", "ann")
    store.add_label(IMAGES[1], "light", "center", "bob")
    state = read_store_state(store, "ann", workspace.tasks)
    assert (state.conflicts, state.conflict_images) == (3, 2)
    review = get_queue("review").build(store, workspace, "ann", workspace.tasks, QueueOptions())
    assert len(review.items) == state.conflict_images
    steps = next_steps(state, queue="unlabelled", left=0, min_labels=10)
    assert steps[0] == NextStep(
        "celeba label --queue review",
        "2 images where annotators disagree (3 questions): every one holds your answer, best settled by someone who took no side",
    )
    # The walkthrough of 2026-12-07: each party was sent to review their own conflicts.
    neutral = next_steps(read_store_state(store, "zed", workspace.tasks), queue="unlabelled", left=0, min_labels=10)
    assert neutral[0].reason == "2 images where annotators disagree (3 questions), for a person"
    store.add_label(IMAGES[2], "light", "left", "cara")
    store.add_label(IMAGES[2], "light", "right", "dan")
    some = next_steps(read_store_state(store, "ann", workspace.tasks), queue="unlabelled", left=0, min_labels=10)
    assert (
        some[0].reason
        == "3 images where annotators disagree (4 questions), for a person (3 of the questions hold your answer)"
    )


def test_a_step_too_wide_for_the_terminal_keeps_its_command_whole_and_breaks_the_why_between_words():
    # Helper-77: a terminal broke "Next:" lines wherever its edge fell ("es|timated", "labe|ls").
    from celeba_tui.labelling.next_steps import step_lines

    steps = [
        NextStep("celeba train -t light -p small_resnet -w /data/a-rather-long/workspace", "x " * 60 + "estimated"),
        NextStep("celeba stats", "what is labelled"),
    ]
    assert step_lines(steps) == [
        f"Next: {steps[0].command}   ({steps[0].reason})",
        "  or: celeba stats   (what is labelled)",
    ]
    lines = step_lines(steps, 80)
    assert lines[0] == f"Next: {steps[0].command}" and lines[-1] == "  or: celeba stats   (what is labelled)"
    assert all(len(line) <= 80 and line.startswith("      ") for line in lines[1:-1])
    assert " ".join(line.strip() for line in lines[1:-1]) == f"({steps[0].reason})".replace("  ", " ")
    assert lines[-2].endswith("estimated)")


def test_wrapped_breaks_between_words_and_keeps_what_it_cannot_break():
    from celeba_tui.console import cell_width, wrapped

    text = "warning: left out 1 answer of /tmp/a-long-file-name.csv that differs from the same person's answer"
    lines = wrapped(text, 40)
    assert " ".join(line.strip() for line in lines) == text and lines[0].startswith("warning:")
    assert all(line.startswith("  ") for line in lines[1:])
    assert wrapped(text, None) == [text] and wrapped(text, 0) == [text] and wrapped("   ", 2) == ["   "]
    assert wrapped("x" * 50, 10) == ["x" * 50]  # no word is cut
    # Terminal columns, not characters: a CJK character takes two (by characters, the second
    # line was "  answers of 山田太郎 and": 26 columns in 24).
    wide = "warning: left out 3 answers of 山田太郎 and 佐藤花子 from the file"
    lines = wrapped(wide, 24)
    assert lines == ["warning: left out 3", "  answers of 山田太郎", "  and 佐藤花子 from the", "  file"]
    assert all(cell_width(line) <= 24 for line in lines)
    assert wrapped("a  b   c", 5) == ["a  b", "  c"]  # spaces kept between words, not at a break
