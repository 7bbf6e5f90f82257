"""`celeba export` to files: one-hot (with and without header), long, JSON Lines; --task,
--source (exactly the stored source names), and the report of what was left out."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from celeba_tui.formats.importing import import_labels
from celeba_tui.workspace import create_workspace
from tests.formats.labelled import export


def onehot_names(text: str) -> list[str]:
    return [line.split(",")[0] for line in text.splitlines()]


def test_onehot_says_what_it_left_out_and_why(labelled):
    result = export(labelled, "--format", "onehot")
    assert onehot_names(result.stdout) == ["000001.jpg", "000002.jpg", "000005.jpg", "000006.jpg", "gone.jpg"]
    assert result.stderr.replace(f" -w {labelled.path}", "").splitlines() == [
        "left out 1 image: a conflict waits for review",
        "left out 1 image: only some tasks labelled (one-hot needs every task)",
        # Attack pass 41: imported back, the ensemble's labels became a person's, unsaid.
        "warning: 1 of the images written carries automatic labels (source model), which the file cannot mark: imported back, "
        "they would be a person's; `--source human,review,merge,import` leaves them out",
        # helper-72: a task added later left most rows out, with no word of the way round it.
        "Next: celeba export --format onehot -t light -o FILE   "
        "(a row per image labelled for that task, whatever the others'; tasks here: light, orientation)",
    ]
    assert "Next:" not in export(labelled, "--format", "onehot", "-t", "light").stderr


def test_json_summary(labelled, tmp_path):
    out = tmp_path / "x.csv"
    summary = json.loads(export(labelled, "--format", "onehot", "-o", out, "--json").stdout)
    assert summary["format"] == "onehot" and summary["rows"] == 5 and summary["images"] == 5
    assert summary["paths"] == [str(out)] and summary["tasks"] == ["light", "orientation"]
    assert summary["sources"] is None
    assert {(item["reason"], item["images"]) for item in summary["left_out"]} == {
        ("a conflict waits for review", 1),
        ("only some tasks labelled (one-hot needs every task)", 1),
    }
    result = export(labelled, "--format", "onehot", "--json", ok=False)
    assert result.exit_code == 2 and "give -o/--out PATH" in result.stderr


@pytest.mark.parametrize(
    "sources, written, left_out",
    [
        # 000002's light is agreed by a human and an import: it is both; its orientation is an import only.
        (
            "human",
            ["000001.jpg", "gone.jpg"],
            {"conflict": 1, "source": 3, "some": 1},
        ),
        ("import", ["000002.jpg"], {"conflict": 1, "source": 5}),
        ("human,import", ["000001.jpg", "000002.jpg", "gone.jpg"], {"conflict": 1, "source": 2, "some": 1}),
        ("review,model", ["000005.jpg"], {"conflict": 1, "source": 5}),
        ("review,import", ["000002.jpg", "000006.jpg"], {"conflict": 1, "source": 4}),
    ],
)
def test_source_means_the_stored_sources(labelled, sources, written, left_out):
    result = export(labelled, "--format", "onehot", "--source", sources)
    assert onehot_names(result.stdout) == written
    reasons = {"a conflict waits for review": "conflict", "only some tasks labelled (one-hot needs every task)": "some"}
    counted = {}
    for line in result.stderr.splitlines():
        if line.startswith("Next: "):
            assert f"-t light --source {sources} -o FILE" in line, line
            continue
        if line.startswith("warning: "):  # automatic labels written
            assert "model" in sources and "1 of the images written carries automatic labels" in line, line
            kept = ",".join(s for s in sources.split(",") if s != "model")  # the sources asked, less model
            assert line.endswith(f"`--source {kept}` leaves them out" if kept else "a person's"), line
            continue
        count, reason = line.removeprefix("left out ").split(" ", 1)
        reason = reason.split(": ", 1)[1]
        counted[reasons.get(reason, "source" if "--source" in reason else reason)] = int(count)
    assert counted == left_out


def test_long_source_and_task_filter_live_labels(labelled):
    long = pd.read_csv(io.StringIO(export(labelled, "--format", "long", "--source", "import").stdout))
    assert set(long["source"]) == {"import"} and len(long) == 4
    long = pd.read_csv(io.StringIO(export(labelled, "--format", "long", "-t", "orientation").stdout))
    assert set(long["task"]) == {"orientation"} and len(long) == 6


def test_long_csv_carries_confidence_model_and_time_and_imports_back_as_nothing_new(labelled, tmp_path):
    """A FiftyOne-style filter on an automatic label's confidence needs it in the CSV, not
    only in Parquet (found by the model-side walkthrough of 2026-12-07)."""
    with labelled.open_store() as store:
        store.add_labels(
            pd.DataFrame(
                [("000004.jpg", "orientation", "left", "autolabel", "model", 0.93, "ensemble-abc")],
                columns=["image", "task", "label", "annotator", "source", "confidence", "model"],
            )
        )
        rows_before = len(store.history())
    out = tmp_path / "long.csv"
    export(labelled, "--format", "long", "-o", out)
    long = pd.read_csv(out)
    assert list(long.columns) == ["image", "task", "label", "annotator", "source", "confidence", "model", "time"]
    auto = long[long["annotator"] == "autolabel"].iloc[0]
    assert (auto["confidence"], auto["model"]) == (0.93, "ensemble-abc")
    assert long["time"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").all()
    with labelled.open_store() as store:
        report = import_labels(store, labelled, out)
        assert report.written == 0 and len(store.history()) == rows_before
    fresh = create_workspace(tmp_path / "fresh", labelled.image_root)
    with fresh.open_store(create=True) as store:  # a person's empty model cell is no model, not ''
        import_labels(store, fresh, out)
        models = store.history().set_index(["annotator", "task", "image"])["model"]
        assert pd.isna(models.loc[("alice", "light", "000001.jpg")])
        assert models.loc[("autolabel", "orientation", "000004.jpg")] == "ensemble-abc"


def test_task_option_one_hot_of_one_task(labelled):
    result = export(labelled, "--format", "onehot", "-t", "orientation", "--header")
    lines = result.stdout.splitlines()
    assert lines[0] == "image,orientation_left,orientation_center,orientation_right"
    assert "000004.jpg" not in result.stdout and "000003.jpg,0,1,0" in lines  # its light conflict is not asked for
    assert (
        result.stderr.startswith("warning: 1 of the images written carries automatic labels")
        and result.stderr.count("\n") == 1
    )
    unknown = export(labelled, "--format", "onehot", "-t", "mood", ok=False)
    assert unknown.exit_code == 2 and "unknown task 'mood'" in unknown.stderr


def test_header_round_trips_through_import(labelled, tmp_path):
    out = tmp_path / "with-header.csv"
    export(labelled, "--format", "onehot", "--header", "-o", out)
    assert out.read_text().splitlines()[0].startswith("image,light_left,light_center,light_right,orientation_left")
    (tmp_path / "images2").mkdir()
    target = create_workspace(tmp_path / "ws2", tmp_path / "images2")
    with target.open_store(create=True) as store:
        report = import_labels(store, target, out, annotator="carol")
        assert report.format == "onehot" and report.images == 5
        labels = store.current_labels()
    assert "image" not in set(labels["image"])


@pytest.mark.parametrize("tasks", [["orientation"], ["orientation", "light"]])
def test_a_header_of_some_tasks_or_another_order_imports_those(labelled, tmp_path, tasks):
    # Found by the interop walkthrough (helper-45): `-t light --header` could not be imported
    # ("expected 7 columns"), though the docs say a file with the header imports too.
    out = tmp_path / "some.csv"
    export(labelled, "--format", "onehot", "--header", *(a for t in tasks for a in ("-t", t)), "-o", out)
    (tmp_path / "images2").mkdir()
    target = create_workspace(tmp_path / "ws2", tmp_path / "images2")
    with target.open_store(create=True) as store:
        import_labels(store, target, out, annotator="carol")
        imported = {task: store.current_labels(task).set_index("image")["label"].to_dict() for task in tasks}
        assert set(store.current_labels()["task"]) == set(tasks)
    with labelled.open_store() as store:
        for task in tasks:
            exported = store.current_labels(task).set_index("image")["label"]
            assert imported[task] and imported[task] == exported[list(imported[task])].to_dict()


def test_a_header_the_tasks_do_not_match_is_named(labelled, tmp_path):
    from celeba_tui.errors import FormatError

    study = tmp_path / "study.csv"
    study.write_text("image,orient_left,orient_center,orient_right\n000001.jpg,1,0,0\n")
    with pytest.raises(FormatError, match=r"study.csv:1: a header the workspace's tasks do not match"):
        with labelled.open_store() as store:
            import_labels(store, labelled, study, fmt="onehot", annotator="carol")
    # helper-82: one task's columns in another order were told to take `-t light`, which
    # then refused the same header; found by content, it is named as the header it is.
    reordered = tmp_path / "reordered.csv"
    reordered.write_text("image,light_right,light_center,light_left\n000001.jpg,0,0,1\n")
    with pytest.raises(FormatError, match=r"do not match: .* each task's classes in the config's order\)$"):
        with labelled.open_store() as store:
            import_labels(store, labelled, reordered, annotator="carol")


def test_default_onehot_stays_headerless(labelled):
    assert export(labelled, "--format", "onehot").stdout.startswith("000001.jpg,1,0,0,0,1,0\n")


def test_jsonl_one_object_per_image(labelled):
    result = export(labelled, "--format", "jsonl")
    records = {r["image"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert list(records) == [f"00000{i}.jpg" for i in range(1, 7)] + ["gone.jpg"]
    assert records["000002.jpg"]["labels"] == {"light": "right", "orientation": "left"}
    assert records["000002.jpg"]["sources"] == {"light": ["human", "import"], "orientation": ["import"]}
    assert records["000002.jpg"]["annotators"]["light"] == {"alice": "right", "bob": "right"}
    # One annotator alone is `single`, as `celeba stats` counts it (the model-side walkthrough
    # of 2026-12-07: filtering the export for "agreed" took unchecked single labels too).
    assert records["000002.jpg"]["status"] == {"light": "agreed", "orientation": "single"}
    assert records["000004.jpg"]["status"]["light"] == "single"
    assert records["000005.jpg"]["status"]["light"] == "model"
    assert records["000003.jpg"]["labels"]["light"] is None
    assert records["000003.jpg"]["status"]["light"] == "conflict"
    assert records["000003.jpg"]["annotators"]["light"] == {"alice": "left", "bob": "right"}
    assert records["000004.jpg"]["labels"] == {"light": "center", "orientation": None}
    assert records["000004.jpg"]["status"]["orientation"] is None
    assert records["000006.jpg"]["status"]["light"] == "review" and records["000006.jpg"]["sources"]["light"] == [
        "review"
    ]
    assert records["gone.jpg"]["present"] is False and records["000001.jpg"]["present"] is True
    assert result.stderr == ""


def test_jsonl_source_filter_leaves_out_and_says_so(labelled):
    result = export(labelled, "--format", "jsonl", "--source", "model")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in records] == ["000005.jpg"]
    assert records[0]["annotators"] == {"light": {}, "orientation": {}}  # model labels are not annotators' answers
    assert result.stderr.strip() == "left out 6 images: the current label is from a source not asked for (--source)"


def test_jsonl_names_stay_on_one_line(tmp_path):
    (tmp_path / "images").mkdir()
    ws = create_workspace(tmp_path / "ws", tmp_path / "images")
    names = ["two\nlines.jpg", "sep\u2028arator.jpg", "nel\x85.jpg", "caf\u00e9.jpg"]
    frame = pd.DataFrame(
        [(n, "light", "left", "alice", "human") for n in names],
        columns=["image", "task", "label", "annotator", "source"],
    )
    with ws.open_store(create=True) as store:
        store.add_labels(frame)
    out = tmp_path / "x.jsonl"
    export(ws, "--format", "jsonl", "-o", out)
    lines = out.read_text(encoding="utf-8").splitlines()  # splits at U+2028 and U+0085 too
    assert sorted(json.loads(line)["image"] for line in lines) == sorted(names)
    assert "caf\u00e9.jpg" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["imagefolder", "hf"])
def test_folder_formats_need_a_folder(labelled, fmt):
    result = export(labelled, "--format", fmt, ok=False)
    assert result.exit_code == 2 and "-o/--out DIR" in result.stderr


def test_unknown_format_and_source(labelled):
    assert "unknown export format 'xml' (one of " in export(labelled, "--format", "xml", ok=False).stderr
    assert "'json' (did you mean 'jsonl'?" in export(labelled, "--format", "json", ok=False).stderr
    assert "unknown source(s) people" in export(labelled, "--source", "people", ok=False).stderr
    # Attack pass 34: `--source ,` kept nothing and exited 0 ("wrote 0 rows").
    assert "--source ',': no source named" in export(labelled, "--source", ",", ok=False).stderr
    # ... and `-o -` wrote a file named `-`: it is stdout, as to most tools.
    assert export(labelled, "--format", "jsonl", "-o", "-").stdout.startswith('{"image":')
    # /dev/stdout is stdout too: into a pipe it names no file (attack pass 39).
    assert export(labelled, "--format", "jsonl", "-o", "/dev/stdout").stdout.startswith('{"image":')
    assert "needs" in export(labelled, "--format", "parquet", "-o", "-", ok=False).stderr


def test_iso_times_read_back_as_the_same_moment():
    from celeba_tui.formats.long import has_zones, iso_times, parse_times

    seconds = pd.Series([1796620000.123456, 0.0, float("nan"), 1796620000.9999996])
    texts = iso_times(seconds)
    assert list(texts) == [
        "2026-12-07T05:06:40.123456Z",
        "1970-01-01T00:00:00.000000Z",
        None,
        "2026-12-07T05:06:41.000000Z",  # rounded to the microsecond
    ]
    back = parse_times(pd.Series(texts, dtype=object))
    assert has_zones(pd.Series(texts[[0, 1, 3]], dtype=object)).all()
    assert abs(back[0] - seconds[0]) < 1e-6 and back[1] == 0.0 and pd.isna(back[2])
    # ISO 8601's comma before the fraction reads as its point (helper-82: refused).
    comma = parse_times(pd.Series(["2026-12-07T05:06:40,5Z", "2026-12-07 05:06:40,25+01:00"], dtype=object))
    assert comma.tolist() == [1796620000.5, 1796620000.25 - 3600]
    # A timestamp whose UTC year is not its own (New Year's Eve west of Greenwich) is read
    # value by value, by position: a repeated index raised (helper-85).
    eve = pd.Timestamp("2024-12-31T23:30-05:00")
    assert parse_times(pd.Series([eve, eve], dtype=object, index=[5, 5])).tolist() == [1735705800.0] * 2


@pytest.mark.parametrize("fmt", ["long", "parquet"])
def test_an_older_export_never_brings_back_automatic_labels_withdrawn_since(labelled, tmp_path, fmt):
    # Found by attack pass 26: an export imported back after a later ensemble withdrew some of
    # its labels brought them all back (and emptied the manual queue), without a word.
    out = tmp_path / f"before.{'csv' if fmt == 'long' else 'parquet'}"
    export(labelled, "--format", fmt, "-o", out)
    with labelled.open_store() as store:
        ids = store.unrevoked_label_ids("ensemble", "light", ["000005.jpg"])
        store.revoke_labels(ids, "ensemble")  # what a later autolabel does to a label it no longer supports
        rows_before = len(store.history())
        report = import_labels(store, labelled, out)
        assert report.older_automatic == 1 and report.written == 0 and len(store.history()) == rows_before
        current = store.current_labels("light").set_index("image")
        assert "000005.jpg" not in current.index
    fresh = create_workspace(tmp_path / "fresh", labelled.image_root)
    with fresh.open_store(create=True) as store:  # a workspace that never decided them takes them
        report = import_labels(store, fresh, out)
        assert report.older_automatic == 0
        assert store.current_labels("light").set_index("image").loc["000005.jpg", "label"] == "left"


@pytest.mark.parametrize("order", [("jan", "mar"), ("mar", "jan")])
def test_an_automatic_label_keeps_the_time_its_file_gives(tmp_path, labelled, order):
    # Found by attack pass 32: an automatic label's `time` was dropped at import, so two
    # ensembles' files imported newest first kept the older label (the newer one was "older"
    # than the import moment), and an export gave it the import's time.
    files = {
        "jan": ("left", "2026-01-01T00:00:00Z"),
        "mar": ("right", "2026-03-01T00:00:00Z"),
    }
    fresh = create_workspace(tmp_path / "fresh", labelled.image_root)
    with fresh.open_store(create=True) as store:
        for name in order:
            label, when = files[name]
            path = tmp_path / f"{name}.csv"
            path.write_text(
                f"image,task,label,annotator,source,model,time\n000004.jpg,light,{label},ens1,model,m,{when}\n"
            )
            import_labels(store, fresh, path)
        assert store.current_labels("light").set_index("image").loc["000004.jpg", "label"] == "right"
    back = pd.read_csv(io.StringIO(export(fresh, "--format", "long").stdout))
    assert back.loc[back["annotator"] == "ens1", "time"].tolist() == ["2026-03-01T00:00:00.000000Z"]
    again = tmp_path / "again.csv"
    back.to_csv(again, index=False)
    with fresh.open_store() as store:
        assert import_labels(store, fresh, again).written == 0  # the round trip is nothing new
