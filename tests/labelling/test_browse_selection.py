"""`celeba browse`'s selection: each filter against a direct query of the store, the filter
language, `--json`, and what the image view reads about one image."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.labelling.browse_filter import BrowseFilter, describe_filter, parse_filter
from celeba_tui.labelling.browsing import Browser
from celeba_tui.labelling.image_history import image_record, relabel_source, settled_how

from store_rows import add_prediction

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]


@pytest.fixture
def labelled(workspace, store):
    """Two annotators, a conflict, a review, an import, model labels and predictions."""
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "light", "left", "bob")  # agreed
    store.add_label(IMAGES[1], "light", "left", "ann")
    store.add_label(IMAGES[1], "light", "right", "bob")  # conflict
    store.add_label(IMAGES[2], "orientation", "right", "ann")
    store.add_label(IMAGES[2], "orientation", "center", "bob")
    store.add_label(IMAGES[2], "orientation", "center", "rev", "review")  # settled disagreement
    store.add_label(IMAGES[3], "light", "center", "old", "import")
    store.add_label(IMAGES[4], "light", "right", "ensemble", "model", confidence=0.95, detail={"rule": "agree"})
    store.add_label(IMAGES[5], "orientation", "left", "ensemble", "model", confidence=0.9)
    add_prediction(store, IMAGES[4], "light", "m1", [0.1, 0.2, 0.7])
    add_prediction(store, IMAGES[4], "light", "m2", [0.1, 0.1, 0.8])  # mean 0.75
    add_prediction(store, IMAGES[6], "light", "m1", [0.5, 0.4, 0.1])  # 0.5
    add_prediction(store, IMAGES[7], "orientation", "m1", [0.3, 0.6, 0.1])  # 0.6
    return store


def selected(store, workspace, wanted: BrowseFilter, me="me") -> list[str]:
    return Browser(store, workspace, me).select(wanted).names()


def test_no_filter_selects_every_present_image_by_name(workspace, labelled):
    assert selected(labelled, workspace, BrowseFilter()) == labelled.image_names()


@pytest.mark.parametrize(
    "wanted, rule",
    [
        (BrowseFilter(label="left"), lambda c, v: set(c[c.label == "left"].image)),
        (
            BrowseFilter(label="left", tasks=("orientation",)),
            lambda c, v: set(c[(c.label == "left") & (c.task == "orientation")].image),
        ),
        (BrowseFilter(label="unlabelled"), lambda c, v: set(IMAGES) - set(c.image) | _partly(c)),
        (BrowseFilter(source="model"), lambda c, v: set(v[v.source == "model"].image)),
        (BrowseFilter(source="import"), lambda c, v: set(v[v.source == "import"].image)),
        (BrowseFilter(annotator="bob"), lambda c, v: set(v[v.annotator == "bob"].image)),
        (BrowseFilter(annotator="bob", source="review"), lambda c, v: set()),
        (BrowseFilter(annotator="rev", source="review"), lambda c, v: {IMAGES[2]}),
        (BrowseFilter(disagreement=True), lambda c, v: _disagreeing(v)),
        (BrowseFilter(words=("0007",)), lambda c, v: {IMAGES[6]}),
        (BrowseFilter(status="review"), lambda c, v: set(c[c.status == "review"].image)),
        (BrowseFilter(status="conflict", tasks=("light",)), lambda c, v: {IMAGES[1]}),
        (BrowseFilter(status="single"), lambda c, v: set(c[(c.status == "agreed") & (c.n_annotators == 1)].image)),
        (BrowseFilter(status="agreed"), lambda c, v: set(c[(c.status == "agreed") & (c.n_annotators > 1)].image)),
    ],
)
def test_each_filter_matches_a_direct_query(workspace, labelled, wanted, rule):
    current, live = labelled.current_labels(), labelled.live_labels()
    assert set(selected(labelled, workspace, wanted)) == rule(current, live)


def _partly(current):
    """Images with a current label for one task only: the other task is unlabelled."""
    per_image = current.groupby("image")["task"].nunique()
    return set(per_image[per_image < 2].index)


def _disagreeing(live):
    people = live[live.source.isin(["human", "import"])]
    spread = people.groupby(["image", "task"])["label"].nunique()
    return set(spread[spread > 1].reset_index()["image"])


def test_a_partial_index_holds_the_first_images_and_their_labels(workspace, labelled):
    from celeba_tui.labelling.selection import browse_rows, load_browse_index

    whole, first = load_browse_index(labelled, workspace.tasks), load_browse_index(labelled, workspace.tasks, first=3)
    assert first.partial and not whole.partial and first.names == IMAGES[:3]
    assert browse_rows(first, range(3)) == browse_rows(whole, range(3))


def test_confidence_filter_and_sort_use_the_ensemble_mean(workspace, labelled):
    assert selected(labelled, workspace, BrowseFilter(confidence_below=0.7)) == [IMAGES[6], IMAGES[7]]
    ordered = selected(labelled, workspace, BrowseFilter(sort="confidence"))
    assert ordered[:3] == [IMAGES[6], IMAGES[7], IMAGES[4]]  # 0.5, 0.6, 0.75; the rest have none
    assert sorted(ordered[3:]) == ordered[3:]


def test_time_sort_puts_the_latest_label_first(workspace, labelled):
    ordered = selected(labelled, workspace, BrowseFilter(sort="time"))
    assert ordered[:2] == [IMAGES[5], IMAGES[4]]


def test_queue_filter_is_the_queue_itself(workspace, labelled):
    from celeba_tui.labelling.queues import QueueOptions, get_queue

    built = get_queue("review").build(labelled, workspace, "me", workspace.tasks, QueueOptions())
    assert selected(labelled, workspace, BrowseFilter(queue="review")) == [item.image for item in built.items]
    unlabelled = get_queue("unlabeled").build(labelled, workspace, "me", workspace.tasks, QueueOptions())
    for spelling in ("unlabelled", "unlabeled"):
        assert selected(labelled, workspace, BrowseFilter(queue=spelling)) == [i.image for i in unlabelled.items]


def test_filter_language_round_trips():
    text = "task:light label:left source:human annotator:bob queue:review conf<0.6 disagreement 0001 sort:time"
    wanted = parse_filter(text + " status:agreed")
    assert wanted == BrowseFilter(("light",), "left", "human", "bob", "review", 0.6, True, ("0001",), "time", "agreed")
    assert parse_filter(describe_filter(wanted)) == wanted
    assert parse_filter("label:unlabeled").label == "unlabelled"
    assert describe_filter(BrowseFilter()) == ""


@pytest.mark.parametrize(
    "text, message",
    [
        ("conf<2", "between 0 and 1"),
        ("sort:size", "sort 'size'"),
        ("source:robot", "source 'robot'"),
        ("label:", "value"),
        # A slip of a key was a name search matching nothing (found by a new-user walkthrough).
        ("labl:left", r"no filter term labl: \(did you mean label:left\?\)"),
        ("anotator:bob", "did you mean annotator:bob"),
        ("c/status:conflicted", r"did you mean status:\?\)"),  # helper-87: not status:conflicted, refused too
    ],
)
def test_filter_language_errors_name_the_term(text, message):
    with pytest.raises(CelebaError, match=message):
        parse_filter(text)


def test_a_colon_far_from_every_key_is_part_of_a_name():
    assert parse_filter("2023:10 img:1 port:9 lab:x").words == ("2023:10", "img:1", "port:9", "lab:x")


@pytest.mark.parametrize(
    "wanted, message",
    [
        (BrowseFilter(tasks=("mood",)), "unknown task 'mood'"),
        (BrowseFilter(label="up"), "no class"),
        (BrowseFilter(annotator="zed"), "no annotator named 'zed'"),
        (BrowseFilter(queue="nope"), "unknown queue 'nope'"),
    ],
)
def test_unknown_names_are_errors(workspace, labelled, wanted, message):
    with pytest.raises(CelebaError, match=message):
        Browser(labelled, workspace, "me").select(wanted)


def test_json_prints_the_selected_rows(workspace, labelled):
    result = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json", "--label", "left", "-t", "light"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["image"] for row in rows] == selected(labelled, workspace, BrowseFilter(("light",), "left"))
    assert rows[0] == {
        "image": IMAGES[0],
        "labels": {"light": "left", "orientation": None},
        "status": {"light": "agreed", "orientation": None},
        "confidence": {"light": None, "orientation": None},  # no prediction
        "annotators": {"light": {"ann": "left", "bob": "left"}, "orientation": {}},
        "reviews": {"light": {}, "orientation": {}},
    }
    conflict = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json", "--name", "000002"])
    assert json.loads(conflict.output)[0]["status"]["light"] == "conflict"
    # One annotator alone (an import) is `single`, as in `celeba stats` (the model-side
    # walkthrough of 2026-12-07: it read "agreed"); the review and the model say so.
    everything = {row["image"]: row["status"] for row in json.loads(
        CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json"]).output
    )}  # fmt: skip
    assert everything[IMAGES[3]]["light"] == "single" and everything[IMAGES[0]]["light"] == "agreed"
    assert everything[IMAGES[2]]["orientation"] == "review" and everything[IMAGES[4]]["light"] == "model"
    # The ensemble's confidence on every row, not only under a confidence filter or sort (a
    # FiftyOne-style script filters on it; the model-side walkthrough of 2026-12-07 found it missing).
    confidences = {row["image"]: row["confidence"] for row in json.loads(
        CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json"]).output
    )}  # fmt: skip
    assert confidences[IMAGES[4]] == {"light": pytest.approx(0.75), "orientation": None}
    assert confidences[IMAGES[7]] == {"light": None, "orientation": pytest.approx(0.6)}


def test_json_says_each_annotators_own_label_and_each_review(workspace, labelled):
    """A script compares people the way FiftyOne keeps one field per annotator: every row
    names each person's live answer, typed or imported, as `export --format jsonl` does, and
    each reviewer's decision apart (a party who settles a conflict still disagreed)."""
    labelled.add_label(IMAGES[1], "light", "center", "ann", "review")  # ann settles her own conflict
    merged = {"image": [IMAGES[3]], "task": ["light"], "label": ["left"], "annotator": ["merge:majority"]}
    labelled.add_labels(pd.DataFrame({**merged, "source": ["review"]}), as_merge=True)  # a policy's, no person's
    rows = {row["image"]: row for row in json.loads(
        CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json"]).output
    )}  # fmt: skip
    assert rows[IMAGES[1]]["annotators"] == {"light": {"ann": "left", "bob": "right"}, "orientation": {}}
    assert rows[IMAGES[1]]["reviews"] == {"light": {"ann": "center"}, "orientation": {}}
    assert rows[IMAGES[2]]["annotators"]["orientation"] == {"ann": "right", "bob": "center"}
    assert rows[IMAGES[2]]["reviews"]["orientation"] == {"rev": "center"}
    assert rows[IMAGES[3]]["annotators"]["light"] == {"old": "center"}
    assert rows[IMAGES[3]]["reviews"]["light"] == {}  # attack pass 31: a lapsed merge read as a review
    nobody = {"light": {}, "orientation": {}}
    assert rows[IMAGES[4]]["annotators"] == rows[IMAGES[9]]["annotators"] == rows[IMAGES[9]]["reviews"] == nobody


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sort", "size"], "sort 'size'"),
        (["--confidence-below", "3"], "between 0 and 1"),
        (["--annotator", "zed", "--json"], "no annotator named 'zed'"),
        (["--status", "resolvd", "--json"], "status 'resolvd': did you mean 'resolved'?"),
        ([], "needs a terminal"),
    ],
)
def test_cli_errors_are_one_line(workspace, args, message):
    result = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_image_record_tells_the_whole_story(workspace, labelled):
    labelled.revoke(labelled.add_label(IMAGES[2], "light", "left", "ann"), "ann")
    labelled.add_check(IMAGES[2], "orientation", "ann", "left", "right")
    record = image_record(labelled, IMAGES[2], workspace.tasks)
    orientation, light = record.tasks["orientation"], record.tasks["light"]
    assert (orientation.label, orientation.status) == ("center", "review")
    assert [e.annotator for e in orientation.live] == ["ann", "bob", "rev"]
    assert [e.state for e in light.history] == ["withdrawn", "undo"]
    assert "a review decision of rev" in settled_how(orientation)
    assert record.checks[0].consistent is False
    auto = image_record(labelled, IMAGES[4], workspace.tasks)
    assert "rule agree" in settled_how(auto.tasks["light"])
    assert [p.model for p in auto.context.predictions["light"]] == ["m1", "m2"]


def test_one_annotators_label_reads_single_not_agreed(workspace, labelled):
    alone = image_record(labelled, IMAGES[3], workspace.tasks).tasks["light"]
    both = image_record(labelled, IMAGES[0], workspace.tasks).tasks["light"]
    assert (alone.status, alone.status_shown) == ("agreed", "single")
    assert settled_how(alone).startswith("labelled by old alone")
    assert (both.status_shown, settled_how(both)) == ("agreed", "2 annotators agree (ann: left, bob: left)")


def test_relabel_source_settles_other_peoples_labels(workspace, labelled):
    def source(image, task, me):
        return relabel_source(image_record(labelled, image, workspace.tasks).tasks[task], me)

    assert source(IMAGES[0], "light", "ann") == "review"  # bob labelled it too
    assert source(IMAGES[0], "orientation", "ann") == "human"  # nobody did
    assert source(IMAGES[4], "light", "ann") == "human"  # only the model did
    labelled.add_label(IMAGES[8], "light", "left", "ann")
    assert source(IMAGES[8], "light", "ann") == "human"  # replacing one's own label


def test_a_merge_decision_reads_who_voted_what(workspace, labelled):
    # The walkthrough of 2026-12-07: the image view showed `votes {'you': 'yes', 'bob': 'no'}`.
    from celeba_tui.agreement.apply_merge import run_merge

    run_merge(labelled, workspace.tasks, "prefer:ann")
    how = settled_how(image_record(labelled, IMAGES[1], workspace.tasks).tasks["light"])
    assert how.startswith("settled by `celeba merge` (policy prefer:ann; votes ann: left, bob: right)"), how


def test_a_merges_decision_reads_resolved_and_a_persons_review(workspace, labelled, tmp_path):
    # The walkthrough of 2026-12-07: a merge's decision read `status: review` in browse --json
    # and stats counted it with the people's reviews; `celeba merge` calls it resolved.
    from celeba_tui.agreement.apply_merge import run_merge
    from celeba_tui.store.stats import store_stats

    run_merge(labelled, workspace.tasks, "prefer:ann")  # settles IMAGES[1]'s light conflict

    def statuses() -> tuple:
        rows = {r["image"]: r for r in json.loads(CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json"]).output)}  # fmt: skip
        light = image_record(labelled, IMAGES[1], workspace.tasks).tasks["light"]
        counts = store_stats(labelled, workspace)["tasks"]["light"]["status"]
        out = tmp_path / "labels.jsonl"
        out.unlink(missing_ok=True)
        exported = CliRunner().invoke(app, ["export", "-w", str(workspace.path), "--format", "jsonl", "-o", str(out)])  # fmt: skip
        assert exported.exit_code == 0, exported.output
        lines = {r["image"]: r for r in map(json.loads, out.read_text().splitlines())}
        return (
            rows[IMAGES[1]]["status"]["light"], light.status_shown, lines[IMAGES[1]]["status"]["light"],
            counts["resolved"], counts["review"], rows[IMAGES[2]]["status"]["orientation"],
        )  # fmt: skip

    assert statuses() == ("resolved", "resolved", "resolved", 1, 0, "review")
    by_status = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json", "--status", "resolved"])
    assert [row["image"] for row in json.loads(by_status.output)] == [IMAGES[1]]  # helper-71: no status filter
    assert parse_filter("status:resolved task:light").status == "resolved"

    def source(word: str, fmt: str = "jsonl") -> tuple[list[str], list[str]]:
        """Images browse --source `word` selects, and those the export keeps."""
        browsed = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json", "--source", word]).output
        out = tmp_path / f"{word}.{fmt}"
        out.unlink(missing_ok=True)
        args = ["export", "-w", str(workspace.path), "--format", fmt, "--source", word, "-o", str(out)]
        assert CliRunner().invoke(app, args).exit_code == 0
        kept = sorted({line.split(",")[0] for line in out.read_text().splitlines()[1:]}) if fmt == "long" else sorted(
            json.loads(line)["image"] for line in out.read_text().splitlines()
        )  # fmt: skip
        return [row["image"] for row in json.loads(browsed)], kept

    # helper-68: `--source human,import,review`, the README's "people's labels only", took the merge's too.
    assert source("merge") == source("merge", "long") == ([IMAGES[1]], [IMAGES[1]])
    assert source("review") == source("review", "long") == ([IMAGES[2]], [IMAGES[2]])
    assert CliRunner().invoke(app, ["export", "-w", str(workspace.path), "--source", "merges"]).exit_code == 2
    assert store_stats(labelled, workspace)["sources"]["merge"] == 1
    labelled.add_label(IMAGES[1], "light", "right", "rev", "review")  # a person decides it after all
    assert statuses() == ("review", "review", "review", 0, 1, "review")


def test_a_merges_decision_that_lapsed_reads_as_the_people_left_it(workspace, labelled):
    # The code review of 2026-12-07: a person's answer after the merge, or a person's review
    # withdrawn after it, must not leave the image reading `resolved`.
    from celeba_tui.agreement.apply_merge import run_merge
    from celeba_tui.store.stats import store_stats

    def light(image: str) -> tuple:
        row = next(r for r in json.loads(CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json"]).output) if r["image"] == image)  # fmt: skip
        return row["status"]["light"], image_record(labelled, image, workspace.tasks).tasks["light"].status_shown

    run_merge(labelled, workspace.tasks, "prefer:ann")
    assert light(IMAGES[1]) == ("resolved", "resolved")
    labelled.add_label(IMAGES[1], "light", "left", "bob")  # bob comes round to ann's answer: the merge lapsed
    assert light(IMAGES[1]) == ("agreed", "agreed")
    stats = store_stats(labelled, workspace)
    assert stats["tasks"]["light"]["status"]["resolved"] == 0
    # Attack pass 34: the lapsed decision still counted as a live label of the merge's.
    assert "merge" not in stats["sources"] and "merge:prefer:ann" not in stats["annotators"]
    assert stats["lapsed_merge_decisions"] == {"merge:prefer:ann": {"light": 1}}
    printed = CliRunner().invoke(app, ["stats", "-w", str(workspace.path)], env={"COLUMNS": "200"}).output
    assert "1 decision of merge:prefer:ann (light 1) no longer counts" in printed
    assert "celeba merge --policy prefer:ann -t light decides it again" in printed
    out = workspace.path / "long.csv"
    args = ["export", "-w", str(workspace.path), "--format", "long", "--source", "merge", "-o", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0 and out.read_text().splitlines()[1:] == []
    # Attack pass 36: `annotators` and browse's filters still counted and matched it.
    for words in (["--source", "merge"], ["--annotator", "merge:prefer:ann"]):
        browsed = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "--json", "-t", "light", *words])
        assert IMAGES[1] not in [row["image"] for row in json.loads(browsed.stdout)], words
    listed = CliRunner().invoke(app, ["annotators", "-w", str(workspace.path), "--json"]).stdout
    merge = next(row for row in json.loads(listed) if row["name"] == "merge:prefer:ann")
    assert merge["live"].get("light", 0) == 0, merge
    # Helper-77: a person's review settles the image; the lapsed decision under it waits for
    # nothing (the merge named never touches a person's review, and the line stayed for good).
    settled = labelled.add_label(IMAGES[1], "light", "left", "carol", "review")
    assert store_stats(labelled, workspace)["lapsed_merge_decisions"] == {}
    labelled.revoke(settled, "carol")
    run_merge(labelled, workspace.tasks, "prefer:ann")  # nothing left to decide on it
    review = labelled.add_label(IMAGES[1], "light", "center", "rev", "review")
    assert light(IMAGES[1]) == ("review", "review")
    labelled.revoke(review, "rev")  # the person's review withdrawn: the people's labels decide
    assert light(IMAGES[1]) == ("agreed", "agreed")


def test_merge_decisions_of_images_not_in_the_root_are_counted_apart(workspace, labelled):
    from celeba_tui.agreement.apply_merge import run_merge
    from celeba_tui.store.stats import store_stats

    run_merge(labelled, workspace.tasks, "prefer:ann")  # settles IMAGES[1]'s light conflict
    labelled.register_images([name for name in IMAGES if name != IMAGES[1]], complete=True)  # its file gone
    counts = store_stats(labelled, workspace)
    inside, outside = counts["tasks"]["light"]["status"], counts["not_in_root"]["light"]["status"]
    assert (inside["resolved"], outside["resolved"], outside["review"]) == (0, 1, 0)


def test_the_image_view_names_a_merges_rows_and_what_an_undo_withdrew(workspace, labelled):
    # helper-71: a merge's row read `review` (stats and the filter say merge), an undo read
    # "merge:review undid #1929", and a person's review did not say which merge it overruled.
    from celeba_tui.agreement.apply_merge import run_merge
    from celeba_tui.tui.screens.browse_text import record_text

    run_merge(labelled, workspace.tasks, "prefer:ann")  # IMAGES[1] light: ann left, bob right -> left
    record = image_record(labelled, IMAGES[1], workspace.tasks)
    shown = " ".join(record_text(record, workspace.tasks, "lead", "light", {}).plain.split())
    assert "merge:prefer:ann left merge" in shown and "left review" not in shown
    assert (
        settled_how(record.tasks["light"])
        == "settled by `celeba merge` (policy prefer:ann; votes ann: left, bob: right)"
    )
    labelled.add_label(IMAGES[1], "light", "right", "lead", "review")
    how = settled_how(image_record(labelled, IMAGES[1], workspace.tasks).tasks["light"])
    assert how.endswith("(overruling merge:prefer:ann's left)"), how
    labelled.revoke(labelled.add_label(IMAGES[1], "light", "center", "ann"), "ann")
    shown = " ".join(record_text(image_record(labelled, IMAGES[1], workspace.tasks), workspace.tasks, "lead", "light", {}).plain.split())  # fmt: skip
    assert "ann withdrew ann's center of" in shown and "undid #" not in shown
    # In 44 columns a row too long goes on under its annotator, not at the panel's edge.
    narrow = record_text(image_record(labelled, IMAGES[1], workspace.tasks), workspace.tasks, "lead", "light", {}, 44)
    lines = narrow.plain.splitlines()
    at = next(i for i, line in enumerate(lines) if "ann withdrew ann's" in line)
    assert lines[at + 1].startswith(" " * 22) and lines[at + 1].strip(), lines
    assert max(len(line) for line in lines if line.startswith("    20")) <= 44


def test_one_persons_typed_answer_replaced_by_their_newer_import_is_not_theirs_any_more(workspace, labelled):
    # Attack pass 37: `--source human` still matched (browse, and the exports' --source), and
    # `--disagreement` read the person's two answers as two people disagreeing.
    labelled.add_label(IMAGES[8], "light", "left", "cat")
    labelled.add_label(IMAGES[8], "light", "right", "cat", "import")  # newer: cat's answer now
    assert IMAGES[8] in selected(labelled, workspace, BrowseFilter(source="import"))
    assert IMAGES[8] not in selected(labelled, workspace, BrowseFilter(source="human"))
    assert IMAGES[8] not in selected(labelled, workspace, BrowseFilter(disagreement=True))
    out = workspace.path / "human.csv"
    args = ["export", "-w", str(workspace.path), "--format", "onehot", "--header", "--source", "human", "-t", "light"]
    assert CliRunner().invoke(app, [*args, "-o", str(out)]).exit_code == 0
    assert IMAGES[8] not in out.read_text()


def test_a_names_who_browses_as_it_names_who_labels(workspace, labelled):
    # Helper-83: `celeba browse -a lead` was "No such option: -a", where `label -a` names you.
    def queue(*who):
        args = ["browse", "-w", str(workspace.path), "--json", "--queue", "unlabelled", *who]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return [row["image"] for row in json.loads(result.output)]

    assert queue("-a", "ann") == queue("--as", "ann")
    refused = CliRunner().invoke(app, ["browse", "-w", str(workspace.path), "-a", "=x"])
    assert refused.exit_code == 2 and "--as: starts with '='" in refused.stderr
