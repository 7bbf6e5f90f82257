"""Queues: which images an annotator sees, in which order, with which context."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celeba_tui.errors import CelebaError
from celeba_tui.labelling.assignment import Assignment
from celeba_tui.labelling.ensemble import mean_probability_view, parse_probs
from celeba_tui.labelling.next_steps import empty_queue_hint, read_store_state
from celeba_tui.labelling.queues import (
    QUEUES,
    QueueOptions,
    get_queue,
    item_context,
    my_live_labels,
    queue_name,
)

from store_rows import add_prediction, autolabel_finished

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]


def build(store, workspace, name="unlabelled", annotator="ann", **options):
    return QUEUES[name].build(store, workspace, annotator, workspace.tasks, QueueOptions(**options))


def test_unlabeled_is_every_image_in_name_order(store, workspace):
    built = build(store, workspace)
    assert [i.image for i in built.items] == IMAGES
    assert all(i.tasks == ("light", "orientation") for i in built.items)
    assert (built.done, built.total) == (0, 10)


def test_unlabeled_resumes_and_respects_other_annotators(store, workspace):
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "orientation", "center", "ann")
    store.add_label(IMAGES[1], "light", "left", "ann")  # half done: only orientation left
    store.add_label(IMAGES[2], "light", "right", "bob")  # someone else did light
    revoked = store.add_label(IMAGES[3], "light", "left", "ann")
    store.revoke(revoked, "ann")  # undone: to do again
    built = build(store, workspace)
    by_image = {i.image: i.tasks for i in built.items}
    assert IMAGES[0] not in by_image
    assert by_image[IMAGES[1]] == ("orientation",)
    assert by_image[IMAGES[2]] == ("orientation",)
    assert by_image[IMAGES[3]] == ("light", "orientation")
    assert (built.done, built.total) == (1, 10)


def test_model_labels_do_not_count_as_labelled(store, workspace):
    store.add_label(IMAGES[0], "light", "left", "ensemble", source="model", confidence=0.99)
    assert build(store, workspace).items[0].tasks == ("light", "orientation")


def test_shuffle_is_deterministic_and_complete(store, workspace):
    one = [i.image for i in build(store, workspace, shuffle=True, seed=7).items]
    two = [i.image for i in build(store, workspace, shuffle=True, seed=7).items]
    other = [i.image for i in build(store, workspace, shuffle=True, seed=8).items]
    assert one == two and sorted(one) == IMAGES and one != IMAGES and one != other


def test_assignment_overlap_images_want_two_people(store, workspace):
    assignments = [Assignment(i, 2, 0.5) for i in (1, 2)]
    shares = [{i.image for i in build(store, workspace, assignment=a).items} for a in assignments]
    both = shares[0] & shares[1]
    assert shares[0] | shares[1] == set(IMAGES) and both
    image = sorted(both)[0]
    for task in ("light", "orientation"):
        store.add_label(image, task, "left", "ann")
    # ann labelled it; bob (annotator 2) must still see it: overlap images want two people.
    assert image in {i.image for i in build(store, workspace, annotator="bob", assignment=assignments[1]).items}
    only_first = sorted(shares[0] - shares[1])[0]
    for task in ("light", "orientation"):
        store.add_label(only_first, task, "left", "carol")
    assert only_first not in {i.image for i in build(store, workspace, assignment=assignments[0]).items}


def test_review_queue_lists_conflicts_until_reviewed(store, workspace):
    store.add_label(IMAGES[4], "light", "left", "ann")
    store.add_label(IMAGES[4], "light", "right", "bob")
    store.add_label(IMAGES[4], "orientation", "center", "ann")
    store.add_label(IMAGES[4], "orientation", "center", "bob")
    built = build(store, workspace, "review", annotator="rev")
    assert [(i.image, i.tasks) for i in built.items] == [(IMAGES[4], ("light",))]
    context = item_context(store, IMAGES[4], workspace.tasks)
    assert {(a.annotator, a.label) for a in context.answers["light"]} == {("ann", "left"), ("bob", "right")}
    store.add_label(IMAGES[4], "light", "left", "rev", source="review")
    built = build(store, workspace, "review", annotator="rev")
    assert built.items == [] and built.done == 1


def conflict(store, image, task="light"):
    store.add_label(image, task, "left", "ann")
    store.add_label(image, task, "right", "bob")


def test_each_reviewer_walks_the_conflicts_in_an_order_of_their_own(store, workspace):
    # Reviewers without shares start in different places and rarely meet on one conflict;
    # the same reviewer resumes in the same order.
    for image in IMAGES:
        conflict(store, image)
    orders = {who: [i.image for i in build(store, workspace, "review", annotator=who).items] for who in ("r1", "r2")}
    assert sorted(orders["r1"]) == sorted(orders["r2"]) == IMAGES
    assert orders["r1"] != orders["r2"]
    assert [i.image for i in build(store, workspace, "review", annotator="r1").items] == orders["r1"]
    store.add_label(orders["r1"][0], "light", "left", "r2", source="review")
    assert [i.image for i in build(store, workspace, "review", annotator="r1").items] == orders["r1"][1:]


def test_conflicts_a_reviewer_answered_come_after_the_others(store, workspace):
    for image in IMAGES[:6]:
        conflict(store, image)
    for image in IMAGES[6:]:
        store.add_label(image, "light", "left", "ann")
        store.add_label(image, "light", "right", "rev")  # rev is a party to these
    order = [i.image for i in build(store, workspace, "review", annotator="rev").items]
    assert sorted(order[:6]) == IMAGES[:6] and sorted(order[6:]) == IMAGES[6:]


def test_open_tasks_reads_now_what_others_finished_since_the_queue_was_built(store, workspace):
    unlabelled, review = QUEUES["unlabelled"], QUEUES["review"]
    item = build(store, workspace).items[0]
    assert unlabelled.open_tasks(store, workspace, "ann", item, QueueOptions()) == ("light", "orientation")
    store.add_label(item.image, "light", "left", "bob")
    assert unlabelled.open_tasks(store, workspace, "ann", item, QueueOptions()) == ("orientation",)
    conflict(store, item.image, "orientation")
    (review_item,) = build(store, workspace, "review", annotator="rev").items
    assert review.open_tasks(store, workspace, "rev", review_item, QueueOptions()) == ("orientation",)
    store.add_label(item.image, "orientation", "left", "rev2", source="review")
    assert review.open_tasks(store, workspace, "rev", review_item, QueueOptions()) == ()


def test_conflicts_one_answered_come_last_in_a_shuffled_review_too(store, workspace):
    for image in IMAGES[:6]:
        conflict(store, image)
    for image in IMAGES[6:]:
        store.add_label(image, "light", "left", "ann")
        store.add_label(image, "light", "right", "rev")
    order = [i.image for i in build(store, workspace, "review", annotator="rev", shuffle=True, seed=3).items]
    assert sorted(order[:6]) == IMAGES[:6] and sorted(order[6:]) == IMAGES[6:]


def test_suspects_and_manual_checks_follow_their_queues_rules(store, workspace):
    # Found by an attack pass: annotators changing to the ensemble's answer, or autolabel
    # deciding an image, took it out of the rebuilt queue but not out of the open session.
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "light", "left", "bob")
    workspace.suspects_path.parent.mkdir(exist_ok=True)
    workspace.suspects_path.write_text(f"image,task,human,ensemble,confidence\n{IMAGES[0]},light,left,right,0.95\n")
    (item,) = build(store, workspace, "suspects", annotator="rev").items
    assert QUEUES["suspects"].open_tasks(store, workspace, "rev", item, QueueOptions()) == ("light",)
    store.add_label(IMAGES[0], "light", "right", "ann")
    store.add_label(IMAGES[0], "light", "right", "bob")
    assert build(store, workspace, "suspects", annotator="rev").items == []
    assert QUEUES["suspects"].open_tasks(store, workspace, "rev", item, QueueOptions()) == ()
    add_prediction(store, IMAGES[1], "light", "m", [0.6, 0.3, 0.1])
    autolabel_finished(store, "light", ["m"])
    (item,) = build(store, workspace, "manual").items
    assert QUEUES["manual"].open_tasks(store, workspace, "ann", item, QueueOptions()) == ("light",)
    store.add_label(IMAGES[1], "light", "left", "model:m", source="model", confidence=0.99, model="m")
    assert QUEUES["manual"].open_tasks(store, workspace, "ann", item, QueueOptions()) == ()


def test_reviews_by_others_count_what_they_settled_in_ones_share_only(store, workspace):
    for task in ("light", "orientation"):
        store.add_label(IMAGES[0], task, "left", "ann")
        store.add_label(IMAGES[0], task, "right", "bob")
    store.add_label(IMAGES[0], "light", "left", "rev2", source="review")  # one of two settled: still to do
    built = build(store, workspace, "review", annotator="rev1")
    assert (len(built.items), built.done, built.by_others) == (1, 0, 0)
    for image in IMAGES[1:]:
        conflict(store, image)
        store.add_label(image, "light", "left", "rev2", source="review")
    assert build(store, workspace, "review", annotator="rev1").by_others == 9
    shares = [build(store, workspace, "review", annotator="rev1", assignment=Assignment(i, 2)) for i in (1, 2)]
    assert sum(b.by_others for b in shares) == 9 and all(b.by_others < 9 for b in shares)
    assert build(store, workspace, "suspects", annotator="rev1").by_others == 0  # autolabel never ran


def test_open_tasks_keeps_an_overlap_image_open_for_its_second_person(store, workspace):
    assignment = Assignment(1, 2, 1.0)  # every image doubled: each wants two people
    item = build(store, workspace, assignment=assignment).items[0]
    store.add_label(item.image, "light", "left", "bob")
    options = QueueOptions(assignment=assignment)
    assert QUEUES["unlabelled"].open_tasks(store, workspace, "ann", item, options) == ("light", "orientation")
    store.add_label(item.image, "light", "left", "carol")
    assert QUEUES["unlabelled"].open_tasks(store, workspace, "ann", item, options) == ("orientation",)


def test_prediction_queues_are_empty_without_predictions(store, workspace):
    for name in ("manual", "uncertain", "suspects"):
        built = build(store, workspace, name)
        assert built.items == [] and built.done == 0
        state = read_store_state(store, "ann", workspace.tasks, workspace.suspects_path)
        assert "autolabel` has not" in empty_queue_hint(name, state, min_labels=10)


def test_manual_queue_is_predicted_but_undecided(store, workspace):
    for model in ("a", "b"):
        add_prediction(store, IMAGES[0], "light", model, [0.5, 0.3, 0.2])
        add_prediction(store, IMAGES[1], "light", model, [0.9, 0.05, 0.05])
        add_prediction(store, IMAGES[2], "orientation", model, [0.2, 0.3, 0.5])
    store.add_label(IMAGES[1], "light", "left", "ensemble", source="model", confidence=0.9)
    for task in ("light", "orientation"):
        autolabel_finished(store, task, ["a", "b"])
    built = build(store, workspace, "manual")
    assert [(i.image, i.tasks) for i in built.items] == [(IMAGES[0], ("light",)), (IMAGES[2], ("orientation",))]
    store.add_label(IMAGES[0], "light", "left", "ann")
    assert [i.image for i in build(store, workspace, "manual").items] == [IMAGES[2]]


def test_queues_of_predictions_count_as_done_only_what_was_labelled_after_them(store, workspace):
    # Found by a new-user walkthrough: the manual queue read "1,500 / 1,800 done" where
    # autolabel sent 300 back, counting the labels the models had learnt from.
    both = ("light", "orientation")
    for image in IMAGES[3:5]:
        for task in both:
            store.add_label(image, task, "left", "ann")
            store.add_label(image, task, "left", "bob")
    for image in IMAGES[:5]:
        for task in both:
            add_prediction(store, image, task, "a", [0.5, 0.3, 0.2])
    for task in both:
        store.add_label(IMAGES[1], task, "left", "ensemble", source="model", confidence=0.9)
        autolabel_finished(store, task, ["a"])
    for name in ("manual", "uncertain"):
        built = build(store, workspace, name)
        assert (built.done, built.by_others) == (0, 0), name
    assert [i.image for i in build(store, workspace, "manual").items] == [IMAGES[0], IMAGES[2]]
    for task in both:
        store.add_label(IMAGES[0], task, "center", "ann")
        store.add_label(IMAGES[2], task, "center", "bob")
    built = build(store, workspace, "manual")
    assert (built.items, built.done, built.by_others, built.total) == ([], 1, 1, 1)


def test_a_queue_of_predictions_counts_only_what_was_labelled_since_the_latest_autolabel(store, workspace):
    # Found by a new-user walkthrough: autolabel reported 115 images in the manual queue and
    # the queue read "3 / 118 done", counting images labelled between two autolabel runs.
    import time

    for image in IMAGES[:3]:
        add_prediction(store, image, "light", "a", [0.5, 0.3, 0.2])
    autolabel_finished(store, "light", ["a"])
    time.sleep(0.01)
    store.add_label(IMAGES[0], "light", "left", "ann")  # work in the first run's queue
    assert build(store, workspace, "manual").done == 1
    time.sleep(0.01)
    for image in IMAGES[:3]:  # autolabel again (a newer model): its queue begins now
        add_prediction(store, image, "light", "b", [0.5, 0.3, 0.2])
    autolabel_finished(store, "light", ["b"])
    built = build(store, workspace, "manual")
    assert ([i.image for i in built.items], built.done, built.by_others) == ([IMAGES[1], IMAGES[2]], 0, 0)


def test_a_queue_of_predictions_begins_when_autolabel_decides_even_on_predictions_it_reused(store, workspace):
    # Found by attack pass 21: an autolabel that reused every prediction moved no prediction
    # time, so labels given in the earlier run's queue counted as this one's; and an image
    # labelled before any prediction (never in the queue) counted once a second person labelled it.
    import time

    store.add_label(IMAGES[3], "light", "left", "ann")  # the models learnt from it
    for image in IMAGES[:4]:
        add_prediction(store, image, "light", "a", [0.5, 0.3, 0.2])
    autolabel_finished(store, "light", ["a"])
    time.sleep(0.01)
    store.add_label(IMAGES[0], "light", "left", "ann")  # the first run's queue
    time.sleep(0.01)
    autolabel_finished(store, "light", ["a"])  # again, on the same predictions
    time.sleep(0.01)
    store.add_label(IMAGES[3], "light", "left", "me")
    built = build(store, workspace, "manual")
    assert ([i.image for i in built.items], built.done, built.by_others) == ([IMAGES[1], IMAGES[2]], 0, 0)
    store.add_label(IMAGES[1], "light", "right", "me")  # this run's queue: done
    assert build(store, workspace, "manual", annotator="me").done == 1


def test_uncertain_queue_is_most_uncertain_first(store, workspace):
    add_prediction(store, IMAGES[0], "light", "a", [0.9, 0.05, 0.05])
    add_prediction(store, IMAGES[1], "light", "a", [0.4, 0.35, 0.25])
    add_prediction(store, IMAGES[2], "light", "a", [0.6, 0.2, 0.2])
    add_prediction(store, IMAGES[2], "orientation", "a", [0.34, 0.33, 0.33])
    built = build(store, workspace, "uncertain", shuffle=True)  # priority order ignores --shuffle
    assert [i.image for i in built.items] == [IMAGES[2], IMAGES[1], IMAGES[0]]
    assert built.items[0].tasks == ("light", "orientation")


def write_suspects(workspace, rows):
    workspace.suspects_path.parent.mkdir(exist_ok=True)
    pd.DataFrame(rows, columns=["image", "task", "human", "ensemble", "confidence"]).to_csv(
        workspace.suspects_path, index=False
    )


def test_suspects_queue_shows_autolabels_suspects_while_the_agreed_label_stands(store, workspace):
    assert build(store, workspace, "suspects", annotator="rev").items == []  # autolabel has not run
    for image in IMAGES[:3]:
        store.add_label(image, "light", "left", "ann")
    write_suspects(
        workspace,
        [
            (IMAGES[1], "light", "left", "right", 0.93),
            (IMAGES[0], "light", "left", "right", 0.97),
            (IMAGES[2], "light", "left", "center", 0.91),
        ],
    )
    built = build(store, workspace, "suspects", annotator="rev")
    assert [(i.image, i.tasks) for i in built.items] == [
        (IMAGES[0], ("light",)),
        (IMAGES[1], ("light",)),
        (IMAGES[2], ("light",)),
    ]
    assert QUEUES["suspects"].source == "review"
    store.add_label(IMAGES[0], "light", "left", "rev", source="review")  # reviewed: out
    store.add_label(IMAGES[1], "light", "center", "bob")  # no longer agreed: out
    assert [i.image for i in build(store, workspace, "suspects", annotator="rev").items] == [IMAGES[2]]


def test_a_damaged_suspects_file_is_a_one_line_error(store, workspace):
    workspace.suspects_path.parent.mkdir(exist_ok=True)
    workspace.suspects_path.write_text("image,task\nx,light\n")
    with pytest.raises(CelebaError, match="not a suspects file"):
        build(store, workspace, "suspects", annotator="rev")


def test_item_context_suggestion_and_predictions(store, workspace):
    add_prediction(store, IMAGES[0], "light", "m1", [0.7, 0.2, 0.1])
    add_prediction(store, IMAGES[0], "light", "m2", [0.5, 0.4, 0.1])
    context = item_context(store, IMAGES[0], workspace.tasks)
    assert [p.model for p in context.predictions["light"]] == ["m1", "m2"]
    suggestion = context.suggestions["light"]
    assert suggestion.label == "left" and suggestion.confidence == pytest.approx(0.6)
    assert not suggestion.decided
    store.add_label(IMAGES[0], "light", "center", "ensemble", source="model", confidence=0.8)
    decided = item_context(store, IMAGES[0], workspace.tasks).suggestions["light"]
    assert (decided.label, decided.decided) == ("center", True)


def test_ensemble_view_is_mean_probability():
    probs, usable = parse_probs(["[0.6, 0.3, 0.1]", "[0.2, 0.7, 0.1]", "[0.1, 0.1, 0.8]"], 3)
    keys, best, confidence = mean_probability_view(np.array([7, 7, 9]), probs[usable])
    assert keys.tolist() == [7, 9] and best.tolist() == [1, 2]  # 7: center (mean 0.5), 9: right
    assert confidence.tolist() == pytest.approx([0.5, 0.8])


def test_my_live_labels(store, workspace):
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "light", "right", "ann")
    undone = store.add_label(IMAGES[1], "light", "left", "ann")
    store.revoke(undone, "ann")
    store.add_label(IMAGES[2], "light", "left", "bob")
    mine = my_live_labels(store, "ann", ["light"])
    assert mine.to_dict("records") == [{"image": IMAGES[0], "task": "light", "label": "right"}]


def test_unknown_queue_lists_the_known_ones():
    with pytest.raises(CelebaError, match="unlabelled, review, manual, uncertain, suspects"):
        get_queue("nope")


def test_unlabeled_is_an_alias_of_unlabelled():
    assert get_queue("unlabeled") is get_queue("unlabelled") is QUEUES["unlabelled"]
    assert queue_name("unlabeled") == "unlabelled"


def test_first_page_is_the_start_of_the_full_queue(store, workspace):
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "orientation", "left", "bob")
    store.add_label(IMAGES[2], "light", "left", "bob")
    store.add_label(IMAGES[3], "light", "left", "ensemble", source="model")
    queue = QUEUES["unlabelled"]
    full = build(store, workspace).items
    assert queue.first_page(store, workspace, "ann", workspace.tasks, QueueOptions(), 4) == full[:4]
    assert queue.first_page(store, workspace, "ann", workspace.tasks, QueueOptions(), 100) == full
    assert queue.first_page(store, workspace, "ann", workspace.tasks, QueueOptions(shuffle=True), 4) is None
