import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.workspace import load_workspace

runner = CliRunner()


def run(*args, ok=True):
    result = runner.invoke(app, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from celeba_tui.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'textual', 'textual_image', 'sklearn', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "celeba_tui", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "import" in out.stdout


def test_init_import_export_stats_round_trip(tmp_path, image_folder, reference_labels):
    ws = tmp_path / "my ws"
    created = run("init", ws, "--images", image_folder)
    # Works pasted (attack pass 14); on stderr, as every command's Next: (stdout is the output).
    assert f"Next: cd '{ws}' && celeba label" in created.stderr and "Next:" not in created.stdout
    result = run("import", reference_labels / "study-labels-561.csv", "--annotator", "alice", "-w", ws, "--json")
    report = json.loads(result.stdout)[0]
    assert report["format"] == "onehot" and report["images"] == 560 and report["unknown_images"] == 560
    assert len(report["unknown_examples"]) == 3 and report["unknown_examples"] == sorted(report["unknown_examples"])
    stats = json.loads(run("stats", "-w", ws, "--json").stdout)
    assert stats["images"] == 10
    # Every labelled image is outside the image root: counted under not_in_root, not tasks.
    assert stats["not_in_root"]["light"]["classes"] == {"left": 108, "center": 350, "right": 102}
    assert stats["tasks"]["light"] == {
        "labelled": 0,
        "conflicts": 0,
        "unlabelled": 10,
        "classes": {"left": 0, "center": 0, "right": 0},
        "status": {"review": 0, "resolved": 0, "single": 0, "agreed": 0, "model": 0},
    }
    # -t as every command that reads takes it (found by a new-user walkthrough: refused).
    light = json.loads(run("stats", "-t", "light", "-w", ws, "--json").stdout)
    assert list(light["tasks"]) == list(light["not_in_root"]) == ["light"]
    assert light["not_in_root"]["light"] == stats["not_in_root"]["light"]
    assert light["annotators"] == {"alice": {"light": 560}} and light["sources"] == {"import": 560}
    assert stats["annotators"] == {"alice": {"light": 560, "orientation": 560}}
    run("export", "--format", "onehot", "--out", tmp_path / "x.csv", "-w", ws)
    run("export", "--format", "long", "--out", tmp_path / "x_long.csv", "-w", ws)
    run("export", "--format", "parquet", "--out", tmp_path / "x.parquet", "-w", ws)
    long = pd.read_csv(tmp_path / "x_long.csv")
    columns = ["image", "task", "label", "annotator", "source", "confidence", "model", "time"]
    assert list(long.columns) == columns and len(long) == 1120
    parquet = pd.read_parquet(tmp_path / "x.parquet")
    assert list(parquet.columns) == columns and len(parquet) == 1120
    # The CSV's times are the Parquet's, as text (when each was answered, to the microsecond).
    apart = (pd.to_datetime(long["time"], utc=True) - parquet["time"]).abs()
    assert (apart <= pd.Timedelta(microseconds=1)).all()
    # Re-importing our own exports into a fresh workspace gives the same labels.
    ws2 = tmp_path / "ws2"
    run("init", ws2, "--images", image_folder)
    run("import", tmp_path / "x_long.csv", "-w", ws2)
    run("import", tmp_path / "x.parquet", "-w", ws2)
    run("import", tmp_path / "x.csv", "-a", "alice", "-w", ws2)  # -a as in celeba label
    stats2 = json.loads(run("stats", "-w", ws2, "--json").stdout)
    assert stats2["tasks"] == stats["tasks"] and stats2["not_in_root"] == stats["not_in_root"]
    assert stats2["annotators"] == {"alice": {"light": 560, "orientation": 560}}


def test_import_store_keeps_annotator_identity(tmp_path, image_folder):
    for name, label in (("a", "left"), ("b", "right")):
        run("init", tmp_path / name, "--images", image_folder)
        (tmp_path / f"{name}.csv").write_text(f"image,task,label\n000001.jpg,light,{label}\n")
        run("import", tmp_path / f"{name}.csv", "--annotator", name, "-w", tmp_path / name)
    run("init", tmp_path / "main", "--images", image_folder)
    for name in ("a", "b"):
        run("import", tmp_path / name / "labels.sqlite", "-w", tmp_path / "main")
    stats = json.loads(run("stats", "-w", tmp_path / "main", "--json").stdout)
    assert stats["annotators"] == {"a": {"light": 1}, "b": {"light": 1}}
    assert stats["tasks"]["light"]["conflicts"] == 1


@pytest.mark.parametrize("fmt, name", [("long", "backup.csv"), ("parquet", "backup.parquet")])
def test_an_annotators_changed_answer_survives_export_and_import(tmp_path, image_folder, fmt, name):
    # ann imported `right`, then typed `left`: her answer is `left`. Exported beside the
    # older import, a re-import made whichever row came last hers (`right`).
    from celeba_tui.workspace import load_workspace

    run("init", tmp_path / "a", "--images", image_folder)
    (tmp_path / "ann.csv").write_text("image,task,label\n000001.jpg,light,right\n000002.jpg,light,center\n")
    run("import", tmp_path / "ann.csv", "-a", "ann", "-w", tmp_path / "a")
    with load_workspace(tmp_path / "a").open_store() as store:
        store.add_label("000001.jpg", "light", "left", "ann")
    run("export", "--format", fmt, "-o", tmp_path / name, "-w", tmp_path / "a")
    run("init", tmp_path / "b", "--images", image_folder)
    run("import", tmp_path / name, "-w", tmp_path / "b")
    with load_workspace(tmp_path / "b").open_store(readonly=True) as store:
        current = store.current_labels("light")
    assert dict(zip(current["image"], current["label"])) == {"000001.jpg": "left", "000002.jpg": "center"}


def test_a_file_giving_one_annotator_two_answers_is_refused(tmp_path, workspace):
    ambiguous = tmp_path / "old-export.csv"
    ambiguous.write_text(
        "image,task,label,annotator,source\n000001.jpg,light,left,ann,human\n000001.jpg,light,right,ann,import\n"
    )
    result = run("import", ambiguous, "-w", workspace.path, ok=False)
    assert result.exit_code == 2
    assert "000001.jpg has two different light labels in this file (left on line 2, right here)" in result.stderr
    # A reviewer's decision beside their own answer is two voices, not one.
    both = tmp_path / "reviewed.csv"
    both.write_text(
        "image,task,label,annotator,source\n000001.jpg,light,left,ann,human\n000001.jpg,light,right,ann,review\n"
    )
    run("import", both, "-w", workspace.path)


@pytest.mark.parametrize("folder", ["/home/me/celeba/img_align_celeba/", "C:\\data\\celeba\\"])
def test_a_file_of_paths_is_refused_with_the_prefix_to_strip(tmp_path, workspace, folder):
    # Found by the interop walkthrough (helper-45): a file of paths imported "160 new" labels,
    # every one for an image that would never arrive, and none for the workspace's images.
    from reliability.store_files import table_digests

    paths = tmp_path / "paths.csv"
    paths.write_text(f"{folder}000001.jpg,1,0,0,0,1,0\n{folder}000002.jpg,0,1,0,0,0,1\n")
    before = table_digests(workspace.store_path)
    refused = run("import", paths, "-a", "ann", "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and "is a path: image names are relative to the image root" in refused.stderr
    assert "--strip-prefix" in refused.stderr and table_digests(workspace.store_path) == before
    run("import", paths, "-a", "ann", "--strip-prefix", folder, "-w", workspace.path)
    with workspace.open_store() as store:
        assert sorted(store.current_labels("light")["image"]) == ["000001.jpg", "000002.jpg"]
    wrong = run("import", paths, "-a", "ann", "--strip-prefix", "/elsewhere/", "-w", workspace.path, ok=False)
    assert wrong.exit_code == 2 and "no image name starts with --strip-prefix '/elsewhere/'" in wrong.stderr


def test_an_answer_keeps_when_it_was_given_and_an_older_one_never_overrides_it(tmp_path, workspace):
    # Found by the interop walkthrough (helper-45): a file's `time` was read and dropped, so a
    # file of alice's 2020 answers imported after her 2025 ones made the 2020 answers hers.
    newer, older = tmp_path / "new.csv", tmp_path / "old.csv"
    newer.write_text("image,task,label,annotator,time\n000001.jpg,light,right,alice,2025-01-01T00:00:00Z\n")
    older.write_text(
        "image,task,label,annotator,time\n000001.jpg,light,left,alice,2020-01-01T00:00:00Z\n"
        "000002.jpg,light,left,alice,2020-01-01T00:00:00Z\n"
    )
    run("import", newer, "-w", workspace.path)
    result = run("import", older, "-w", workspace.path)
    assert "left out 1 answer of" in result.stderr and "the newer stands" in result.stderr
    with workspace.open_store() as store:
        assert store.current_labels("light").set_index("image")["label"].to_dict() == {
            "000001.jpg": "right",
            "000002.jpg": "left",
        }
    # The time travels: a Parquet export, another store, and back.
    run("export", "--format", "parquet", "-o", tmp_path / "out.parquet", "-w", workspace.path)
    exported = pd.read_parquet(tmp_path / "out.parquet").set_index("image")["time"]
    assert str(exported["000001.jpg"]) == "2025-01-01 00:00:00+00:00"
    other = tmp_path / "other"
    run("init", other, "--images", workspace.image_root)
    run("import", workspace.store_path, "-w", other)
    again = run("import", workspace.store_path, "-w", other)
    assert "(0 new)" in again.stdout
    assert "left out 1 answer" in run("import", older, "-w", other).stderr


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("yesterday", "time 'yesterday' is not a date and time"),
        ("now", "time 'now' is not a date and time"),
        ("2024-1-1", "time '2024-1-1' is not a date and time"),
        ("-1", "time '-1' is not a date and time"),
        ("0001-01-01T00:00Z", "time '0001-01-01T00:00Z' is before 1970"),
        ("2999-01-01T00:00Z", "time '2999-01-01T00:00Z' is in the future"),
        # Found by attack pass 23 (helper-47): a local time read as UTC moved an answer by hours.
        ("2024-05-01T10:00", "time '2024-05-01T10:00' has no time zone: add Z for UTC"),
        ("2024-05-01", "time '2024-05-01' has no time zone"),
    ],
)
def test_a_time_that_is_none_or_to_come_is_refused(tmp_path, workspace, cell, message):
    path = tmp_path / "times.csv"
    path.write_text(f"image,task,label,annotator,time\n000001.jpg,light,left,alice,{cell}\n")
    result = run("import", path, "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and f"times.csv:2: {message}" in result.stderr


def write_long(path: Path, *rows: str) -> Path:
    path.write_text("image,task,label,annotator,source,time\n" + "".join(row + "\n" for row in rows))
    return path


def light_of(workspace, image: str = "000001.jpg") -> str | None:
    with workspace.open_store() as store:
        return store.current_labels("light").set_index("image")["label"].get(image)


def test_an_older_review_never_overrides_a_newer_one(tmp_path, workspace):
    # Found by attack pass 22 (helper-46): the rule held for annotators' answers only.
    newer = write_long(tmp_path / "new.csv", "000001.jpg,light,left,rev,review,2024-06-01T12:00:00Z")
    older = write_long(tmp_path / "old.csv", "000001.jpg,light,right,rev,review,2024-01-01T12:00:00Z")
    run("import", newer, "-w", workspace.path)
    assert "left out 1 answer" in run("import", older, "-w", workspace.path).stderr
    assert light_of(workspace) == "left"


def test_a_newer_answer_is_written_though_the_same_row_was_imported_before(tmp_path, workspace):
    # Found by attack pass 22 (helper-46): alice's newer `left` was "0 new" because her earlier
    # imported `left` was still live, under the `right` she typed since.
    run(
        "import",
        write_long(tmp_path / "a.csv", "000001.jpg,light,left,alice,human,2026-01-01T10:00:00Z"),
        "-w",
        workspace.path,
    )
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "right", "alice", "human")
    assert light_of(workspace) == "right"
    import datetime

    moment = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)).isoformat()
    again = run(
        "import", write_long(tmp_path / "b.csv", f"000001.jpg,light,left,alice,human,{moment}"), "-w", workspace.path
    )
    assert "(1 new)" in again.stdout and light_of(workspace) == "left"


def test_strip_prefix_comes_off_before_the_file_is_checked(tmp_path, workspace):
    # Found by attack pass 22 (helper-46): two rows of one image, one with a folder, were both
    # written and the older won.
    path = write_long(
        tmp_path / "two.csv",
        "/data/000001.jpg,light,left,dd,human,2024-06-01T12:00:00Z",
        "000001.jpg,light,right,dd,human,2024-06-01T10:00:00Z",
    )
    refused = run("import", path, "--strip-prefix", "/data/", "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and "two.csv:3: 000001.jpg has two different light labels" in refused.stderr


def test_a_file_imported_again_never_replaces_what_was_typed_since_though_its_clock_ran_ahead(tmp_path, workspace):
    # Found by attack pass 39 (helper-82): a time minutes ahead (within the clocks' slack)
    # made the file's answer newer than one typed after its first import.
    import datetime

    ahead = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    path = write_long(tmp_path / "ahead.csv", f"000001.jpg,light,right,alice,import,{ahead:%Y-%m-%dT%H:%M:%SZ}")
    run("import", path, "-w", workspace.path)
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "center", "alice", "human")
    again = json.loads(run("import", path, "-w", workspace.path, "--json").stdout)[0]
    assert (again["written"], again["older_answers"]) == (0, 1)
    assert light_of(workspace) == "center"
    # Another file's answer with a later time than the typed one is newer: written.
    later = ahead + datetime.timedelta(seconds=1)
    other = write_long(tmp_path / "later.csv", f"000001.jpg,light,left,alice,import,{later:%Y-%m-%dT%H:%M:%SZ}")
    assert json.loads(run("import", other, "-w", workspace.path, "--json").stdout)[0]["written"] == 1
    assert light_of(workspace) == "left"
    # Attack pass 40 (helper-84): a newer answer received before an older one that stands (a
    # withdrawal between) is still the newer one: written.
    newer = write_long(tmp_path / "f1.csv", "000002.jpg,light,left,zed,import,2026-01-01T11:00:00Z")
    older = write_long(tmp_path / "f0.csv", "000002.jpg,light,right,zed,import,2026-01-01T10:00:00Z")
    run("import", newer, "-w", workspace.path)
    run("annotators", "withdraw", "zed", "--yes", "-w", workspace.path)
    run("import", older, "-w", workspace.path)
    assert json.loads(run("import", newer, "-w", workspace.path, "--json").stdout)[0]["written"] == 1
    assert light_of(workspace, "000002.jpg") == "left"


def test_a_long_export_of_typed_answers_imports_back_as_nothing_new(tmp_path, workspace):
    # Found by attack pass 23 (helper-47): its `human` rows came back as `import` rows, new,
    # and lapsed the merge decisions over them.
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "alice", "human")
        store.add_label("000001.jpg", "light", "right", "bob", "human")
    run("merge", "--policy", "prefer:alice", "-w", workspace.path)
    run("export", "--format", "long", "-o", tmp_path / "all.csv", "-w", workspace.path)
    again = run("import", tmp_path / "all.csv", "-w", workspace.path)
    assert "(0 new)" in again.stdout
    with workspace.open_store() as store:
        assert not store.lapsed_merge_decisions() and light_of(workspace) == "left"


def test_a_file_without_times_never_replaces_what_its_annotator_typed(tmp_path, workspace):
    # Found by helper-77: a one-hot file imported under alice's name replaced seven answers
    # she had typed ("27 new"), and stats then counted both.
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "alice", "human")
        store.add_label("000002.jpg", "light", "left", "alice", "human")
    path = write_long(
        tmp_path / "alice.csv",
        "000001.jpg,light,right,alice,human,",  # differs: left out
        "000002.jpg,light,left,alice,human,",  # repeats: nothing new
        "000003.jpg,light,center,alice,human,",  # new
    )
    done = run("import", path, "-w", workspace.path)
    assert "(1 new)" in done.stdout
    assert "left out 1 answer" in done.stderr and "the stored answer stands" in done.stderr
    assert json.loads(run("import", path, "-w", workspace.path, "--json").stdout)[0]["untimed_against_typed"] == 1
    with workspace.open_store() as store:
        answers = store.live_labels(annotators=["alice"])
    assert sorted(zip(answers["image"], answers["label"])) == [
        ("000001.jpg", "left"),
        ("000002.jpg", "left"),
        ("000003.jpg", "center"),
    ]
    # Attack pass 37: a reviewer's decision neither (the store cannot tell a review typed
    # here from one imported: every untimed review is weighed against the reviewer's own).
    with workspace.open_store() as store:
        store.add_label("000004.jpg", "light", "left", "rev", "review")
    reviews = write_long(
        tmp_path / "rev.csv", "000004.jpg,light,right,rev,review,", "000005.jpg,light,right,rev,review,"
    )
    done = json.loads(run("import", reviews, "-w", workspace.path, "--json").stdout)[0]
    assert (done["written"], done["untimed_against_typed"]) == (1, 1)
    assert light_of(workspace, "000004.jpg") == "left" and light_of(workspace, "000005.jpg") == "right"
    # Weighed against the person's answer now (helper-79): over alice's typed `left` on
    # 000001, a newer import of hers says `center`; an untimed `center` repeats it, and an
    # untimed `right` replaces it as a corrected file replaces the one imported before.
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "center", "alice", "import")
    same = write_long(tmp_path / "same.csv", "000001.jpg,light,center,alice,import,")
    assert "(0 new)" in run("import", same, "-w", workspace.path).stdout
    other = write_long(tmp_path / "other.csv", "000001.jpg,light,right,alice,import,")
    done = json.loads(run("import", other, "-w", workspace.path, "--json").stdout)[0]
    assert (done["written"], done["untimed_against_typed"], done["replaced_imported"]) == (1, 0, 1)
    again = write_long(tmp_path / "again.csv", "000001.jpg,light,left,alice,import,")
    assert (
        "(1 new, 1 replacing the same annotator's earlier imported answer)"
        in run("import", again, "-w", workspace.path).stdout
    )
    # Helper-80: nor over an imported answer whose time is known (the study's file without
    # times undid a dated correction).
    dated = write_long(tmp_path / "dated.csv", "000006.jpg,light,left,alice,import,2026-01-05T10:00:00Z")
    run("import", dated, "-w", workspace.path)
    undated = write_long(tmp_path / "undated.csv", "000006.jpg,light,right,alice,import,")
    done = run("import", undated, "-w", workspace.path)
    assert "(0 new)" in done.stdout and "('000006.jpg' light)" in done.stderr
    assert light_of(workspace, "000006.jpg") == "left"


def test_exports_import_back_as_nothing_new(tmp_path, workspace):
    # Found by attack pass 22 (helper-46): a Parquet export's times made its model rows new
    # (duplicated, without their ensemble's detail) and its own answers "older" by microseconds.
    import json as json_text

    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "alice", "human")
        store.add_labels(
            pd.DataFrame(
                {
                    "image": ["000002.jpg"],
                    "task": ["light"],
                    "label": ["right"],
                    "annotator": ["autolabel"],
                    "source": ["model"],
                    "model": ["ens"],
                    "detail": [json_text.dumps({"ensemble": "e1", "rule": "agree"})],
                }
            )
        )
    run("export", "--format", "parquet", "-o", tmp_path / "all.parquet", "-w", workspace.path)
    again = run("import", tmp_path / "all.parquet", "-w", workspace.path)
    assert "(0 new)" in again.stdout and "older" not in again.stderr


@pytest.mark.parametrize(
    ("first", "second"),
    [("2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00"), ("2024-05-01T10:00:00Z", "")],
    ids=["the same moment", "one without a time"],
)
def test_two_files_that_do_not_tell_which_answer_is_newer_are_refused(tmp_path, workspace, first, second):
    a = write_long(tmp_path / "a.csv", f"000001.jpg,light,left,alice,human,{first}")
    b = write_long(tmp_path / "b.csv", f"000001.jpg,light,right,alice,human,{second}")
    # Found by attack pass 23 (helper-47): a third file repeating the first file's answer
    # hid the clash when it came last.
    c = write_long(tmp_path / "c.csv", "000001.jpg,light,left,alice,human,2024-04-01T10:00:00Z")
    for order in ((a, b), (b, a), (c, b, a), (a, b, c)):
        refused = run("import", *order, "-w", workspace.path, ok=False)
        assert refused.exit_code == 2 and "has two different light labels by 'alice'" in refused.stderr


def test_two_files_giving_one_annotator_two_answers_are_refused_unless_they_say_when(tmp_path, workspace):
    # Found by the interop walkthrough (helper-45): `import v2.csv v3.csv` made whichever was
    # named last alice's answer, where the same two rows in one file are refused.
    from reliability.store_files import table_digests

    v2, v3 = tmp_path / "v2.csv", tmp_path / "v3.csv"
    v2.write_text("image,task,label,annotator\n000001.jpg,light,left,alice\n")
    v3.write_text("image,task,label,annotator\n000002.jpg,light,left,alice\n000001.jpg,light,right,alice\n")
    before = table_digests(workspace.store_path)
    refused = run("import", v2, v3, "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and table_digests(workspace.store_path) == before
    assert f"{v3}: '000001.jpg' has two different light labels by 'alice': right here, left in {v2}" in refused.stderr
    run("import", v2, v2, "-w", workspace.path)  # the same answer twice is one answer
    v2.write_text("image,task,label,annotator,time\n000003.jpg,light,left,carol,2020-01-01T00:00Z\n")
    v3.write_text("image,task,label,annotator,time\n000003.jpg,light,right,carol,2021-01-01T00:00Z\n")
    run("import", v3, v2, "-w", workspace.path)  # they say when: the newer stands, in any order
    with workspace.open_store() as store:
        assert store.current_labels("light").set_index("image")["label"]["000003.jpg"] == "right"


def test_import_names_the_formats_it_reads_and_init_says_when_a_folder_has_no_images(tmp_path, workspace):
    path = tmp_path / "labels.jsonl"
    path.write_text("{}\n")
    refused = run("import", path, "--format", "json", "-w", workspace.path, ok=False)
    assert (
        refused.exit_code == 2 and "--format 'json': import reads auto, onehot, long, parquet, store" in refused.stderr
    )
    (tmp_path / "empty").mkdir()
    empty = run("init", tmp_path / "ws-empty", "--images", tmp_path / "empty")
    assert "warning: no JPEG or PNG images in" in empty.stderr and "Next:" not in empty.stdout


def test_annotators_rename_answers_in_json(workspace):
    path = workspace.path.parent / "bob.csv"
    path.write_text("000001.jpg,1,0,0,0,1,0\n")
    run("import", path, "-w", workspace.path)
    renamed = run("annotators", "rename", "bob", "rob", "--json", "-w", workspace.path)
    assert json.loads(renamed.stdout) == {"renamed": "bob", "to": "rob"}
    back = run("annotators", "--json", "-w", workspace.path, "rename", "rob", "bob")  # the group's options too
    assert json.loads(back.stdout) == {"renamed": "rob", "to": "bob"}


def test_scan_says_which_images_arrived_and_which_are_gone(tmp_path, workspace):
    # Found by the interop walkthrough (helper-45): a labelled image whose file came was "0 new",
    # and one that vanished went unsaid.
    path = tmp_path / "early.csv"
    path.write_text("image,task,label,annotator\n000011.jpg,light,left,al\n000001.jpg,light,left,al\n")
    run("import", path, "-w", workspace.path)
    (workspace.image_root / "000002.jpg").rename(workspace.image_root / "000011.jpg")
    assert "10 images in" in (text := run("scan", "-w", workspace.path).stdout)
    assert "(0 new, 1 arrived, 1 gone)" in text
    (workspace.image_root / "000011.jpg").rename(workspace.image_root / "000002.jpg")
    result = json.loads(run("scan", "--json", "-w", workspace.path).stdout)
    assert (result["new"], result["arrived"], result["vanished"]) == (0, 1, 1)
    assert run("scan", "-w", workspace.path).stdout.rstrip().endswith("(0 new)")
    # Attack pass 41: an image root that is there but empty (a drive not mounted) was "10 gone".
    away = tmp_path / "away"
    workspace.image_root.rename(away)
    workspace.image_root.mkdir()
    gone = run("scan", "-w", workspace.path)
    assert "(0 new, 10 gone)" in gone.stdout and "warning: every image is gone from" in gone.stderr
    workspace.image_root.rmdir()
    away.rename(workspace.image_root)
    back = run("scan", "-w", workspace.path)
    assert "(0 new, 10 arrived)" in back.stdout and back.stderr == ""


def test_a_store_whose_annotator_typed_over_an_import_gives_their_newest_answer(tmp_path, workspace):
    # Found this session: such a store (alice's imported `left`, then her typed `right`, both
    # live) was a traceback, as was any Parquet file giving one person two answers.
    path = write_long(tmp_path / "a.csv", "000001.jpg,light,left,alice,human,")
    run("import", path, "-w", workspace.path)
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "right", "alice", "human")
    other = tmp_path / "other"
    run("init", other, "--images", workspace.image_root)
    run("import", workspace.store_path, "-w", other)
    assert light_of(load_workspace(other)) == "right"
    twice = tmp_path / "twice.parquet"
    pd.DataFrame(
        {
            "image": ["000001.jpg"] * 2,
            "task": ["light"] * 2,
            "label": ["left", "right"],
            "annotator": ["al"] * 2,
            "model": [None, None],
        }
    ).to_parquet(twice)
    refused = run("import", twice, "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and "000001.jpg has two different light labels in this file" in refused.stderr


def test_names_written_as_paths_and_the_prefix_that_fits():
    from celeba_tui.formats.import_names import PathNames, path_names

    known = {"000001.jpg", "sub/000002.jpg"}
    assert path_names({"/x/000001.jpg"}, known) == PathNames("/x/000001.jpg", "/x/", True)
    # Found by attack pass 23 (helper-47): rooted and drive-relative Windows names, a folder alone.
    assert path_names({"\\000001.jpg"}, known) == PathNames("\\000001.jpg", "\\", True)
    assert path_names({"C:000009.jpg"}, known) == PathNames("C:000009.jpg", "C:", True)
    assert path_names({"/a/b/"}, known) == PathNames("/a/b/", None, True)
    assert path_names({"é:/000009.jpg"}, known) is None  # a folder's name: drive letters are ASCII
    # Absolute whatever else the file holds; no prefix that would leave a name with backslashes.
    assert path_names({"000001.jpg", "C:\\x\\sub\\000002.jpg"}, known) == PathNames(
        "C:\\x\\sub\\000002.jpg", "C:\\x\\sub\\", True
    )
    # Relative: a hint only where no name is the workspace's (labels for images to come look alike).
    assert path_names({"img/000001.jpg"}, known) == PathNames("img/000001.jpg", "img/", False)
    assert path_names({"img/000001.jpg", "000001.jpg"}, known) is None
    assert path_names({"new/000009.jpg"}, known) is None


def test_import_annotator_refuses_to_make_several_annotators_one(tmp_path, image_folder):
    run("init", tmp_path / "main", "--images", image_folder)
    two = tmp_path / "two.csv"
    two.write_text("image,task,label,annotator\n000001.jpg,light,left,a\n000001.jpg,light,right,b\n")
    result = run("import", two, "--annotator", "alice", "-w", tmp_path / "main", ok=False)
    assert result.exit_code == 2 and "holds the labels of 2 annotators ('a', 'b')" in result.stderr
    stats = json.loads(run("stats", "-w", tmp_path / "main", "--json").stdout)
    assert stats["annotators"] == {}
    imported = run("import", two, "-w", tmp_path / "main")  # without --annotator each keeps their own
    stats = json.loads(run("stats", "-w", tmp_path / "main", "--json").stdout)
    assert sorted(stats["annotators"]) == ["a", "b"]
    # Each step names the next one, on stderr: stdout stays the command's output.
    # ... as this one was typed (-w): from the same folder it finds the same workspace.
    assert f"Next: celeba agreement -w {tmp_path / 'main'}   (how far the 2 annotators agree" in imported.stderr
    assert "Next:" not in imported.stdout
    agreed = run("agreement", "-w", tmp_path / "main")
    assert "Next: celeba label --queue review" in agreed.stderr


def test_bad_line_imports_nothing(tmp_path, workspace):
    path = tmp_path / "bad.csv"
    lines = [f"{i:06d}.jpg,1,0,0,0,1,0" for i in range(1, 50)] + ["000050.jpg,1,0,0,0,1"]
    path.write_text("\n".join(lines) + "\n")
    result = run("import", path, "-w", workspace.path, ok=False)
    assert result.exit_code == 2
    assert f"{path}:50: expected 7 columns" in result.output
    assert "Traceback" not in result.output
    stats = json.loads(run("stats", "-w", workspace.path, "--json").stdout)
    assert stats["tasks"]["light"]["labelled"] == 0


def test_a_onehot_file_from_before_a_task_was_added_imports_with_its_tasks_named(tmp_path, workspace):
    # The walkthrough of 2026-12-07: after adding a `glasses` task the study's files no
    # longer imported ("expected 9 columns, found 7"), with no word on why or what to do.
    config = workspace.config_path
    config.write_text(config.read_text() + '[[tasks]]\nname = "glasses"\nclasses = ["no", "yes"]\nquestion = "?"\n')
    path = tmp_path / "ann.csv"
    path.write_text("000001.jpg,1,0,0,0,1,0\n000002.jpg,0,0,1,1,0,0\n")
    for fmt in ("auto", "onehot"):
        refused = run("import", path, "--format", fmt, "-w", workspace.path, ok=False)
        assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1, refused.output
        assert "7 columns are an image name and the one-hot columns of some tasks: import with " in refused.output
        assert refused.output.strip().endswith("`-t light -t orientation`")
    imported = run("import", path, "-t", "light", "-t", "orientation", "-w", workspace.path, "--json")
    assert json.loads(imported.stdout)[0]["per_task"] == {
        "light": {"left": 1, "right": 1},
        "orientation": {"center": 1, "left": 1},
    }
    # Another order of columns is named in that order; other formats keep the tasks named.
    (tmp_path / "bob.csv").write_text("000003.jpg,0,1,0,1,0,0\n")
    run("import", tmp_path / "bob.csv", "-t", "orientation", "-t", "light", "-w", workspace.path)
    live = {(r.image, r.task): r.label for r in csv_rows(run("export", "--format", "long", "-w", workspace.path))}
    assert live[("000003.jpg", "orientation")] == "center" and live[("000003.jpg", "light")] == "left"
    (tmp_path / "long.csv").write_text("image,task,label\n000004.jpg,light,left\n000004.jpg,glasses,yes\n")
    some = run("import", tmp_path / "long.csv", "-t", "glasses", "-a", "cid", "-w", workspace.path)
    assert "glasses: yes 1" in some.stdout and "light" not in some.stdout
    assert "warning: left out 1 label of" in some.stderr and "of tasks not asked for (-t glasses)" in some.stderr
    # Attack pass 33: a file with none of the tasks asked was a traceback; a header naming
    # every task was refused with -t; a full-width file with -t said nothing of why.
    none = run("import", tmp_path / "long.csv", "-t", "orientation", "-a", "dan", "-w", workspace.path, ok=False)
    assert none.exit_code == 2 and "no labels of -t orientation in the file (its tasks: glasses, light)" in none.output
    header = tmp_path / "header.csv"
    run("export", "--format", "onehot", "--header", "-o", header, "-t", "light", "-w", workspace.path)
    light_only = run("import", header, "-t", "light", "-a", "eve", "-w", workspace.path, "--json")
    assert set(json.loads(light_only.stdout)[0]["per_task"]) == {"light"}
    (tmp_path / "full.csv").write_text("000005.jpg,1,0,0,0,1,0,0,1\n")
    full = run("import", tmp_path / "full.csv", "-t", "light", "-a", "fay", "-w", workspace.path, ok=False)
    assert full.output.strip().endswith(
        "9 columns are an image name and the one-hot columns of every task: import it without -t"
    )
    # --undo with -t withdraws that task's labels only (it withdrew every task's).
    run("import", "--undo", "ann", "-t", "light", "-y", "-w", workspace.path)
    live = {(r.image, r.task, r.annotator) for r in csv_rows(run("export", "--format", "long", "-w", workspace.path))}
    assert ("000001.jpg", "light", "ann") not in live and ("000001.jpg", "orientation", "ann") in live


def csv_rows(result):
    import csv
    import io
    from types import SimpleNamespace

    return [SimpleNamespace(**row) for row in csv.DictReader(io.StringIO(result.stdout))]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a label file"),
        (b"just some words\n", "not a recognised label file"),
        (b"", "empty file"),
        # Found by the interop walkthrough (helper-45): what a spreadsheet saves, named.
        (b"image;task;label\n000001.jpg;light;left\n", "separated by semicolons: save it comma-separated"),
        (b"image\ttask\tlabel\n", "separated by tabs"),
        ("image,task,label\n".encode("utf-16"), "UTF-16 text (as Excel saves 'Unicode text')"),
    ],
)
def test_not_a_csv_is_one_clear_line(tmp_path, workspace, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    result = run("import", path, "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_image_root(tmp_path):
    result = run("init", tmp_path / "ws", "--images", tmp_path / "nope", ok=False)
    assert result.exit_code == 2 and "does not exist" in result.output


def test_store_that_is_not_sqlite(tmp_path, workspace):
    workspace.store_path.write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        workspace.store_path.with_name(workspace.store_path.name + suffix).unlink(missing_ok=True)
    result = run("stats", "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and "not a celeba label store" in result.output


def test_config_with_bad_task_and_unknown_task_in_file(tmp_path, workspace):
    config = workspace.config_path
    text = config.read_text()
    config.write_text(text.replace('classes = ["left", "center", "right"]', 'classes = ["left"]', 1))
    result = run("stats", "-w", workspace.path, ok=False)
    assert "it needs 2 to 16" in result.output and str(config) in result.output
    config.write_text(text)
    (tmp_path / "l.csv").write_text("image,task,label\n000001.jpg,mood,happy\n")
    result = run("import", tmp_path / "l.csv", "-w", workspace.path, ok=False)
    assert "unknown task 'mood'" in result.output


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ('"1"', "'version' must be a whole number from 1 to 1, not '1'"),
        ("1.5", "'version' must be a whole number from 1 to 1, not 1.5"),
        ("-7", "'version' must be a whole number from 1 to 1, not -7"),
        ("2", "config version 2 is newer than this celeba-tui understands (1); upgrade celeba-tui"),
    ],
)
def test_a_config_version_that_is_no_version_is_not_called_newer(workspace, version, message):
    # Attack pass 30: "1" and 1.5 read "newer ... upgrade celeba-tui"; -7 was accepted.
    config = workspace.config_path
    config.write_text(f"version = {version}\n" + config.read_text().replace("version = 1\n", ""))
    result = run("stats", "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and message in result.output and str(config) in result.output, result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda text: text.replace("classes", "clases", 1),
            "unknown key 'clases' in task 'light' (did you mean 'classes'? known: name, classes, question, scale)",
        ),
        (
            lambda text: text + 'keys = ["n", "y"]\n',
            "unknown key 'keys' in task 'orientation' (known: name, classes, question, scale)",
        ),
        (lambda text: "verison = 1\n" + text, "unknown key 'verison' (did you mean 'version'? known:"),
        (lambda text: text + '[train]\narchitecture = ["cnn4"]\n', "unknown key 'architecture' in [train] (did"),
        (lambda text: text.replace("question", '"q\\u001b[31m"', 1), "unknown key 'q\\x1b[31m' in task 'light'"),
        (lambda text: text.replace("name", "nmae", 1), "unknown key 'nmae' in task #1 (did you mean 'name'?"),
        (lambda text: "train = 3\n" + text, "'train' must be a [train] table"),
    ],
    ids=[
        "typo-in-a-task",
        "a-key-the-tool-has-not",
        "typo-at-the-top",
        "typo-in-train",
        "escape-in-a-key",
        "typo-of-name",
        "train-not-a-table",
    ],
)
def test_a_config_key_the_tool_does_not_know_is_refused_by_name(workspace, edit, message):
    # The walkthrough of 2026-12-07: `clases` (a typo) left the task with the default
    # classes, and the error then said to withdraw 140 good labels; `keys = [...]` was
    # taken silently and did nothing.
    config = workspace.config_path
    config.write_text(edit(config.read_text()))
    result = run("stats", "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and message in result.output and str(config) in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_import_names_the_images_that_are_not_in_the_image_root(tmp_path, workspace):
    # The labelling walkthrough of 2026-12-07: a typo'd row imported with a count, no name.
    (tmp_path / "l.csv").write_text("image,task,label\n000001.jpg,light,left\n000099.jpg,light,left\n")
    result = run("import", tmp_path / "l.csv", "-a", "ann", "-w", workspace.path)
    assert "1 labelled image of" in result.stderr
    assert "is not in the image root (labels kept): '000099.jpg'\n" in result.stderr


def test_not_a_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    result = run("stats", ok=False)
    assert result.exit_code == 2 and "no celeba workspace" in result.output


def test_workspace_found_from_subfolder(workspace, monkeypatch):
    sub = workspace.path / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    assert json.loads(run("stats", "--json").stdout)["images"] == 10


def test_init_makes_the_store_of_a_config_written_first(tmp_path, image_folder):
    # helper-72: every command said "run `celeba init` first", and init refused the folder.
    folder = tmp_path / "ws"
    folder.mkdir()
    config = 'images = "../images"\n\n[[tasks]]\nname = "glasses"\nclasses = ["no", "yes"]\n'
    (folder / "celeba.toml").write_text(config)
    assert "run `celeba init` first" in run("stats", "-w", folder, ok=False).stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args, message in (
        (["--images", elsewhere], f"names images {image_folder}, not --images {elsewhere}; make them agree"),
        (["--images", image_folder, "--task", "a=b,c"], "already names the tasks; edit it there instead of --task"),
    ):
        refused = run("init", folder, *args, ok=False)
        assert refused.exit_code == 2 and message in refused.stderr, refused.output
        assert sorted(p.name for p in folder.iterdir()) == ["celeba.toml"]
    made = run("init", folder, "--images", image_folder)
    assert "images: 10 in" in made.output and "task glasses: no, yes" in made.output
    assert (folder / "celeba.toml").read_text() == config and "glasses" in (folder / "guidelines.md").read_text()
    assert "10 images" in run("stats", "-w", folder).output
    assert "already a workspace" in run("init", folder, "--images", image_folder, ok=False).stderr


def test_init_adopts_a_config_as_carefully_as_it_makes_one(tmp_path, image_folder):
    # Attack pass 36: a config naming the folder above it as its images was adopted (every
    # scan then took the workspace's figures for images); a link planted beside the store left
    # an empty labels.sqlite that made init say "already a workspace".
    inside = image_folder / "ws"
    inside.mkdir()
    (inside / "celeba.toml").write_text('images = ".."\n')
    refused = run("init", inside, "--images", image_folder, ok=False)
    assert "is inside the image root" in refused.stderr and not (inside / "labels.sqlite").exists()
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "celeba.toml").write_text('images = "../images"\n')
    (folder / "labels.sqlite-shm").symlink_to(tmp_path / "victim")
    (tmp_path / "victim").write_text("x")
    assert run("init", folder, "--images", image_folder, ok=False).exit_code == 2
    assert not (folder / "labels.sqlite").exists() and (tmp_path / "victim").read_text() == "x"
    (folder / "labels.sqlite-shm").unlink()
    assert "Created workspace" in run("init", folder, "--images", image_folder).output


def test_init_makes_the_tasks_it_is_given(tmp_path, image_folder):
    # helper-72: a new attribute meant init, then editing celeba.toml by hand (and guidelines
    # about light and orientation).
    from celeba_tui.workspace import load_workspace

    args = ["init", tmp_path / "ws", "--images", image_folder, "--task", "glasses=no,yes"]
    made = run(*args, "--task", "expression = neutral, smile ,frown")
    assert "task glasses: no, yes" in made.output and "task expression: neutral, smile, frown" in made.output
    tasks = load_workspace(tmp_path / "ws").tasks
    assert [(t.name, t.classes) for t in tasks] == [
        ("glasses", ("no", "yes")),
        ("expression", ("neutral", "smile", "frown")),
    ]
    assert "not written yet" in (tmp_path / "ws" / "guidelines.md").read_text()
    for spec, message in (
        ("glasses", "--task 'glasses': write NAME=CLASS,CLASS,... (e.g. glasses=no,yes)"),
        ("glasses=yes", "--task: task 'glasses' has 1 class; it needs 2 to 16"),
        ("glasses=no,unlabelled", "the word browse's filters use for images without a label"),
        ("a=,", "--task 'a=,': write NAME=CLASS,CLASS,..."),  # attack pass 36: "a repeated class"
    ):
        refused = run("init", tmp_path / "ws2", "--images", image_folder, "--task", spec, ok=False)
        assert refused.exit_code == 2 and message in refused.stderr, refused.output
        assert not (tmp_path / "ws2").exists()
    # Attack pass 36: task a_b class c and task a class b_c are both one-hot column a_b_c.
    clash = run("init", tmp_path / "ws2", "--images", image_folder, "-t", "a_b=c,d", "-t", "a=b_c,b_d", ok=False)
    assert "task 'a_b' class 'c' and task 'a' class 'b_c' are both one-hot column 'a_b_c'" in clash.stderr


def test_a_config_that_already_holds_a_name_new_ones_may_not_still_opens(workspace, tmp_path):
    # Attack pass 36: a class `unlabelled` refused on load locked its labels away; one-hot
    # columns alike moved labels from one task to another in a round trip.
    config = workspace.config_path
    text = config.read_text()
    text = text.replace('name = "light"', 'name = "a_b"', 1).replace('name = "orientation"', 'name = "a"', 1)
    text = text.replace('classes = ["left", "center", "right"]', 'classes = ["c", "d", "unlabelled"]', 1)
    config.write_text(text.replace('classes = ["left", "center", "right"]', 'classes = ["b_c", "b_d", "e"]', 1))
    assert run("stats", "-w", workspace.path).exit_code == 0
    refused = run("export", "-w", workspace.path, "--format", "onehot", "-o", tmp_path / "x.csv", ok=False)
    assert refused.exit_code == 2 and "one-hot cannot tell these tasks apart" in refused.stderr
    (tmp_path / "y.csv").write_text("image,a_b_c,a_b_d,a_b_unlabelled\n000001.jpg,1,0,0\n")
    refused = run("import", "-w", workspace.path, tmp_path / "y.csv", "-a", "bob", ok=False)
    assert refused.exit_code == 2 and "one-hot cannot tell these tasks apart" in refused.stderr
    assert run("export", "-w", workspace.path, "--format", "onehot", "-t", "a", "-o", tmp_path / "a.csv").exit_code == 0


@pytest.mark.parametrize(
    "where, message",
    [
        (lambda tmp: Path("/proc/celeba-workspace"), "cannot create a workspace in /proc/celeba-workspace"),
        (lambda tmp: tmp / "a-file", "it is a file, not a folder"),
        (lambda tmp: tmp / "a-file" / "ws", "Not a directory"),
    ],
    ids=["proc", "a-file", "under-a-file"],
)
def test_init_where_no_workspace_can_be_is_one_line(tmp_path, image_folder, where, message):
    (tmp_path / "a-file").write_text("not a folder")
    result = run("init", where(tmp_path), "--images", image_folder, ok=False)
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and message in text, text
    assert (tmp_path / "a-file").read_text() == "not a folder"


def error_text(result) -> str:
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text, text
    return text


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda text: text.replace('name = "light"', 'name = "light\\n"', 1), "invalid task name 'light\\n'"),
        (lambda text: text.replace('name = "light"', 'name = "file_name"', 1), "'file_name' is reserved"),
        (
            lambda text: text.replace(
                'classes = ["left", "center", "right"]',
                "classes = [" + ", ".join(f'"c{i}"' for i in range(17)) + "]",
                1,
            ),
            "has 17 classes; it needs 2 to 16",
        ),
        (
            lambda text: text.replace('classes = ["left", "center", "right"]', 'classes = ["left"]', 1),
            "has 1 class; it needs 2 to 16",
        ),
        (
            lambda text: text.replace('classes = ["left", "center", "right"]', 'classes = ["café", "tea"]', 1),
            "invalid class 'café' (a class name is an ASCII letter, then up to 63 ASCII letters, digits, _ or -)",
        ),
        (
            lambda text: re.sub(r"(?m)^images = .*$", lambda _: 'images = "~nosuchuser-celeba/x"', text),
            "is not a usable path",
        ),
        (lambda text: re.sub(r"(?m)^images = .*$", lambda _: 'images = "a\\u0000b"', text), "is not a usable path"),
        # Attack pass 41: 3,000 lines of RecursionError; "missing 'images'" for a number; a
        # Notepad BOM read as a bad statement; `question = 5` taken as "5".
        (lambda text: text + "x = " + "[" * 500 + "]" * 500 + "\n", "not valid TOML (values nested too deep)"),
        (
            lambda text: re.sub(r"(?m)^images = .*$", "images = 5", text),
            "'images' must be the image root's path as text, not a number",
        ),
        (lambda text: re.sub(r"(?m)^images = .*$", 'images = ""', text), "not empty text"),
        (lambda text: "\ufeff" + text, "starts with a byte-order mark (BOM); save it as UTF-8 without one"),
        (lambda text: re.sub(r"(?m)^question = .*$", "question = 5", text, count=1), "'question' must be text"),
    ],
    ids=[
        "newline-in-name",
        "reserved-name",
        "17-classes",
        "1-class",
        "non-ascii-class",
        "unknown-user",
        "nul",
        "nested-deep",
        "images-number",
        "images-empty",
        "bom",
        "question-number",
    ],
)
def test_hostile_configs_are_one_line(workspace, edit, message):
    config = workspace.config_path
    config.write_text(edit(config.read_text()))
    text = error_text(run("stats", "-w", workspace.path, ok=False))
    assert message in text and str(config) in text, text


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "huge"])
def test_a_config_that_is_no_small_regular_file_is_refused_without_reading_it(workspace, kind):
    config = workspace.config_path
    config.unlink()
    if kind == "fifo":
        os.mkfifo(config)  # reading it would block
    elif kind == "dev-zero":
        config.symlink_to("/dev/zero")  # reading it would never end
    else:
        config.write_text("# " + "x" * (1 << 20) + "\n")
    # A subprocess with a timeout: a hang must fail the test, not freeze the suite.
    done = subprocess.run(
        [sys.executable, "-m", "celeba_tui", "stats", "-w", str(workspace.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = done.stderr.strip()
    assert done.returncode == 2 and text.startswith("error: ") and "\n" not in text, text
    assert str(config) in text and ("not a regular file" in text or "too large" in text), text


def test_init_never_writes_through_links_planted_for_its_own_files(tmp_path, image_folder):
    for name in ("labels.sqlite", "guidelines.md", "celeba.toml"):
        ws = tmp_path / f"ws-{name}"
        ws.mkdir()
        victim = tmp_path / f"victim-{name}"
        (ws / name).symlink_to(victim)
        result = run("init", ws, "--images", image_folder, ok=False)
        assert "symbolic link" in error_text(result) or "already exists" in error_text(result)
        assert not victim.exists()


def test_an_init_that_failed_half_way_can_be_run_again(tmp_path, image_folder):
    # The store cannot be made (a folder in its place): before, celeba.toml was left behind,
    # and then init said "already a workspace" while every other command said "run celeba init".
    ws = tmp_path / "ws"
    (ws / "labels.sqlite").mkdir(parents=True)
    error_text(run("init", ws, "--images", image_folder, ok=False))
    assert not (ws / "celeba.toml").exists()
    (ws / "labels.sqlite").rmdir()
    run("init", ws, "--images", image_folder)
    assert json.loads(run("stats", "--json", "-w", ws).stdout)["images"] == 10


def test_no_output_may_replace_the_workspaces_store_or_config(workspace, tmp_path):
    before = workspace.store_path.read_bytes()
    # Attack pass 43: the guidelines and the last autolabel's suspects (its queue) were replaced.
    suspects = workspace.path / "autolabel" / "suspects.csv"
    suspects.parent.mkdir()
    suspects.write_text("image,task,human,ensemble,confidence\n")
    guidelines = workspace.guidelines_path.read_bytes()
    targets = (workspace.store_path, workspace.config_path, tmp_path / "link-to-store", workspace.guidelines_path)
    for target in (*targets, suspects, workspace.path / "locks" / "x.lock"):
        if target.name == "link-to-store":
            target.symlink_to(workspace.store_path)
        text = error_text(run("export", "--format", "long", "-o", target, "-w", workspace.path, ok=False))
        assert "this workspace's" in text, text
    assert workspace.store_path.read_bytes() == before and workspace.guidelines_path.read_bytes() == guidelines
    assert suspects.read_text() == "image,task,human,ensemble,confidence\n"
    assert json.loads(run("stats", "--json", "-w", workspace.path).stdout)["images"] == 10


def test_label_assign_with_a_huge_n_is_one_line(workspace):
    text = error_text(run("label", "--count", "--assign", "1/99999999999999999999999", "-w", workspace.path, ok=False))
    assert "N must be at most 1,000,000" in text


def test_a_workspace_inside_its_image_root_is_refused(tmp_path, image_folder):
    for where in (image_folder, image_folder / "ws"):
        text = error_text(run("init", where, "--images", image_folder, ok=False))
        assert "is inside the image root" in text, text
    assert not (image_folder / "ws").exists() and not (image_folder / "celeba.toml").exists()


def test_no_image_output_goes_into_the_image_root_or_over_its_input(workspace, tmp_path):
    """An attack pass: `agreement --plot ROOT/plots` wrote PNGs the next scan queued as
    faces to label; `preview x.jpg -o x.jpg` replaced the image it previewed, exit 0."""
    root = workspace.image_root
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "ann")
        store.add_label("000001.jpg", "light", "right", "bob")
    text = error_text(run("agreement", "--plot", root / "plots", "-w", workspace.path, ok=False))
    assert "is inside this workspace's image root" in text, text
    assert not (root / "plots").exists()
    image = root / "000002.jpg"
    before = image.read_bytes()
    text = error_text(run("preview", image, "-o", image, ok=False))
    assert "it is the image being previewed" in text, text
    assert image.read_bytes() == before
    # A label file is no image: it may still go beside the images.
    run("export", "--format", "long", "-o", root / "labels.csv", "-w", workspace.path)
    assert (root / "labels.csv").is_file()


def test_image_outputs_stay_out_of_folders_linked_into_the_image_root(workspace, tmp_path):
    """Left by the sixth attack pass: a folder linked into the image root is scanned for
    faces, so `--plot` there (or a preview PNG) would be queued as faces too; and `preview`
    loaded no workspace, so it could write its PNG straight into the image root."""
    linked = tmp_path / "more-faces"
    (linked / "deeper").mkdir(parents=True)
    (workspace.image_root / "more").symlink_to(linked, target_is_directory=True)
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "ann")
        store.add_label("000001.jpg", "light", "right", "bob")
    text = error_text(run("agreement", "--plot", linked / "deeper" / "plots", "-w", workspace.path, ok=False))
    assert "is inside this workspace's image root" in text, text
    assert not (linked / "deeper" / "plots").exists()
    image = workspace.image_root / "000002.jpg"
    for out in (workspace.image_root / "panels.png", linked / "panels.png"):
        text = error_text(run("-w", workspace.path, "preview", image, "-o", out, ok=False))
        assert "is inside this workspace's image root" in text, text
        assert not out.exists()
    # Outside the image root and its linked folders, both still write.
    run("-w", workspace.path, "preview", image, "-o", tmp_path / "panels.png")
    assert (tmp_path / "panels.png").is_file()


def test_import_lists_classes_in_the_tasks_order_and_a_rerun_suggests_nothing(workspace, tmp_path):
    # Found by a new-user walkthrough: "right 46, left 35, center 34", and "Next: celeba
    # agreement" after an import that added nothing.
    labels = tmp_path / "long.csv"
    rows = [("000001.jpg", "right"), ("000002.jpg", "right"), ("000003.jpg", "left"), ("000004.jpg", "center")]
    pd.DataFrame(
        {"image": [r[0] for r in rows], "task": "light", "label": [r[1] for r in rows], "annotator": "ann"}
    ).to_csv(labels, index=False)
    first = run("import", labels, "-w", workspace.path)
    assert "  light: left 1, center 1, right 2" in first.stdout and "Next:" in first.stderr
    again = run("import", labels, "-w", workspace.path)
    assert "(0 new)" in again.stdout and "Next:" not in again.stderr


def test_a_hint_leaves_out_a_folder_it_could_not_show_as_typed(tmp_path, image_folder):
    # Found by attack pass 21: -w with a line break was shown escaped inside shell quotes,
    # so the pasted hint named another folder.
    ws = tmp_path / "nl\nx"
    run("init", ws, "--images", image_folder)
    labels = tmp_path / "long.csv"
    pd.DataFrame({"image": ["000001.jpg"], "task": "light", "label": "left", "annotator": "ann"}).to_csv(
        labels, index=False
    )
    hint = run("import", labels, "-w", ws).stderr
    assert hint.startswith("Next: celeba stats   (") and "-w" not in hint


@pytest.mark.parametrize("column", ["confidence", "time"])
def test_a_parquet_value_of_bytes_is_one_line(tmp_path, workspace, column):
    # Found by the fuzz suite this session: a confidence of bytes was a UnicodeDecodeError traceback.
    path = tmp_path / "bytes.parquet"
    pd.DataFrame({"image": ["000001.jpg"], "task": ["light"], "label": ["left"], column: [b"\xff"]}).to_parquet(path)
    refused = run("import", path, "-a", "ann", "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and f"bytes.parquet:1: {column} holds bytes, not a value" in refused.stderr


def test_a_jsonl_export_given_to_import_says_which_export_to_import(tmp_path, workspace):
    # Helper-80: "not a recognised label file", nothing on why.
    path = tmp_path / "labels.jsonl"
    path.write_text('{"image": "000001.jpg", "light": "left", "orientation": "center"}\n')
    refused = run("import", path, "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and "it looks like JSON Lines" in refused.stderr
    assert "import the long or Parquet export" in refused.stderr


def test_one_persons_two_answers_told_apart_by_a_model_column_are_refused(tmp_path, workspace):
    # Attack pass 38: both were written and the row order chose which stood.
    path = tmp_path / "two.csv"
    path.write_text(
        "image,task,label,annotator,model\n000001.jpg,light,right,carol,m1\n000001.jpg,light,left,carol,m2\n"
    )
    refused = run("import", path, "-w", workspace.path, ok=False)
    assert refused.exit_code == 2 and "000001.jpg has two different light labels in this file" in refused.stderr
    automatic = tmp_path / "auto.csv"  # two ensembles' automatic labels are two annotators' in effect: kept
    automatic.write_text(
        "image,task,label,annotator,model,source\n000001.jpg,light,right,ens,m1,model\n000001.jpg,light,left,ens,m2,model\n"
    )
    assert "(2 new)" in run("import", automatic, "-w", workspace.path).stdout


def test_a_restored_untimed_import_is_corrected_by_the_file_again(tmp_path, workspace):
    # Attack pass 38: the restore's detail (the answer's time, kept) read as an import's own time.
    first = write_long(tmp_path / "erin.csv", "000001.jpg,light,left,erin,import,")
    run("import", first, "-w", workspace.path)
    run("annotators", "withdraw", "erin", "--yes", "-w", workspace.path)
    run("annotators", "restore", "erin", "-w", workspace.path)
    corrected = write_long(tmp_path / "erin2.csv", "000001.jpg,light,right,erin,import,")
    done = json.loads(run("import", corrected, "-w", workspace.path, "--json").stdout)[0]
    assert (done["written"], done["untimed_against_typed"], done["replaced_imported"]) == (1, 0, 1)


def test_a_store_from_a_machine_whose_clock_ran_ahead_is_refused_saying_so(tmp_path, workspace):
    # Found by attack pass 39 (helper-82): "its time 1.7967e+09 is not a moment since 1970".
    import sqlite3

    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "alice", "human")
    conn = sqlite3.connect(workspace.store_path)
    conn.execute("UPDATE labels SET created = created + 7200")
    conn.commit()
    conn.close()
    other = tmp_path / "other"
    run("init", other, "--images", workspace.image_root)
    refused = run("import", workspace.store_path, "-a", "zed", "-w", other, ok=False)
    assert refused.exit_code == 2
    assert re.search(
        r"label id 1: its time 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ is 2 h 00 min in the future", refused.stderr
    )
