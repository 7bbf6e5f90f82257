"""`celeba export --format imagefolder|hf -o DIR`: the layouts training libraries read,
hard links / symlinks / copies, hostile names, and a DIR that is never written through."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from celeba_tui.formats import export_folder
from celeba_tui.formats.export_folder import MARKER, FileWriter, flat_file_name, source_problem
from celeba_tui.store.registration import register_images
from tests.conftest import make_images
from tests.formats.labelled import export

CLASSES = ("left", "center", "right")


def tree(root: Path) -> dict[str, list[str]]:
    """{'light/left': ['000001.jpg', ...], ...}: each class folder's files."""
    return {
        f"{task.name}/{cls.name}": sorted(p.name for p in cls.iterdir())
        for task in sorted(root.iterdir())
        if task.is_dir()
        for cls in sorted(task.iterdir())
    }


def test_imagefolder_layout_one_folder_per_class_per_task(labelled, tmp_path):
    out = tmp_path / "folders"
    result = export(labelled, "--format", "imagefolder", "-o", out)
    assert tree(out) == {
        "light/center": ["000004.jpg"],
        "light/left": ["000001.jpg", "000005.jpg"],
        "light/right": ["000002.jpg", "000006.jpg"],
        "orientation/center": ["000001.jpg", "000003.jpg"],
        "orientation/left": ["000002.jpg", "000006.jpg"],
        "orientation/right": ["000005.jpg"],
    }
    assert result.stderr.splitlines() == [
        f"wrote 10 files (6 images) to {out}",
        "light: left out 1 image: a conflict waits for review",
        "light: left out 1 image: not in the image root (no file to write)",
        "orientation: left out 1 image: not in the image root (no file to write)",
    ]
    linked = out / "light" / "left" / "000001.jpg"
    assert linked.stat().st_ino == (labelled.image_root / "000001.jpg").stat().st_ino  # a hard link
    marker = json.loads((out / MARKER).read_text())
    assert marker["format"] == "imagefolder" and marker["entries"] == ["light", "orientation"]
    assert marker["tasks"] == {"light": list(CLASSES), "orientation": list(CLASSES)}


def test_imagefolder_reads_with_torchvision(labelled, tmp_path):
    datasets = pytest.importorskip("torchvision.datasets", reason="torchvision is not installed")
    out = tmp_path / "folders"
    export(labelled, "--format", "imagefolder", "-o", out)
    folder = datasets.ImageFolder(str(out / "light"))
    assert folder.classes == sorted(CLASSES)  # torchvision orders classes by name
    assert sorted((Path(p).name, folder.classes[i]) for p, i in folder.samples) == [
        ("000001.jpg", "left"),
        ("000002.jpg", "right"),
        ("000004.jpg", "center"),
        ("000005.jpg", "left"),
        ("000006.jpg", "right"),
    ]


def test_copy_and_task_selection(labelled, tmp_path):
    out = tmp_path / "copies"
    summary = json.loads(
        export(labelled, "--format", "imagefolder", "-o", out, "--copy", "-t", "light", "--json").stdout
    )
    assert summary["files"] == {"copy": 5} and summary["tasks"] == ["light"]
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "light"]
    copied = out / "light" / "left" / "000001.jpg"
    assert copied.read_bytes() == (labelled.image_root / "000001.jpg").read_bytes()
    assert copied.stat().st_ino != (labelled.image_root / "000001.jpg").stat().st_ino


def test_symlinks_where_hard_links_fail(labelled, tmp_path, monkeypatch):
    def cross_device(src, dst, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(export_folder.os, "link", cross_device)
    out = tmp_path / "links"
    summary = json.loads(export(labelled, "--format", "imagefolder", "-o", out, "--json").stdout)
    assert summary["files"] == {"symlink": 10}
    link = out / "light" / "left" / "000001.jpg"
    assert link.is_symlink() and Path(os.readlink(link)) == (labelled.image_root / "000001.jpg").resolve()


def test_names_with_folders_are_flattened_one_to_one(workspace, tmp_path):
    odd = ["sub/a.jpg", "sub%2Fa.jpg", "deep/er/b.png", ".hidden.jpg", "100%.jpg"]
    make_images(workspace.image_root, odd)
    with workspace.open_store() as store:
        register_images(store, workspace.image_root)
        for name in odd:
            store.add_label(name, "light", "left", "alice")
    out = tmp_path / "flat"
    export(workspace, "--format", "imagefolder", "-o", out, "-t", "light")
    assert tree(out)["light/left"] == sorted(flat_file_name(n) for n in odd)
    assert flat_file_name("sub/a.jpg") == "sub%2Fa.jpg" and flat_file_name("sub%2Fa.jpg") == "sub%252Fa.jpg"
    assert flat_file_name(".hidden.jpg") == "%2Ehidden.jpg" and flat_file_name("100%.jpg") == "100%25.jpg"
    for name in odd:  # every file is the image it names
        assert (out / "light" / "left" / flat_file_name(name)).read_bytes() == (
            workspace.image_root / name
        ).read_bytes()


@pytest.mark.parametrize("name", ["../x.jpg", "/etc/passwd", "a/../../x.jpg", "a//b.jpg", "./a.jpg", "", "a\x00.jpg"])
def test_names_outside_the_image_root_are_refused(name):
    assert source_problem(name) == "name is not a path inside the image root"


def test_hostile_store_names_never_leave_the_folder(workspace, tmp_path):
    """Names a store may hold (from an import) that point outside the root are left out, not followed."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"not yours")
    with workspace.open_store() as store:
        for name in ("../secret.jpg", "../../secret.jpg"):
            store.add_label(name, "light", "left", "alice")
        # Pretend a scan registered them (a store from elsewhere could say anything).
        with store.transaction() as conn:
            conn.execute("UPDATE images SET present = 1")
        store.add_label("000001.jpg", "light", "left", "alice")
    out = tmp_path / "out"
    result = export(workspace, "--format", "imagefolder", "-o", out, "-t", "light")
    assert "light: left out 2 images: name is not a path inside the image root" in result.stderr.splitlines()
    assert tree(out)["light/left"] == ["000001.jpg"]


def test_special_files_and_long_names_are_left_out(workspace, tmp_path):
    long_name = "x" * 130 + "/" + "y" * 130 + ".jpg"  # a valid path, but over 255 bytes flattened
    make_images(workspace.image_root, [long_name])
    os.mkfifo(workspace.image_root / "fifo.jpg")
    with workspace.open_store() as store:
        register_images(store, workspace.image_root)
        store.add_label(long_name, "light", "left", "alice")
        store.add_label("fifo.jpg", "light", "left", "alice")
        with store.transaction() as conn:
            conn.execute("UPDATE images SET present = 1")
    writer = FileWriter(workspace.image_root)
    assert writer.check("fifo.jpg") == "its file is not a regular file"
    assert writer.check(long_name) == "name too long for one file name"
    assert writer.check("missing.jpg") == "file not found in the image root"
    result = export(workspace, "--format", "imagefolder", "-o", tmp_path / "out", "-t", "light")
    assert "light: left out 1 image: its file is not a regular file" in result.stderr
    assert "light: left out 1 image: name too long for one file name" in result.stderr


def test_refuses_a_folder_that_is_not_an_export(labelled, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    result = export(labelled, "--format", "imagefolder", "-o", out, ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: cannot export into {out}: it is not empty and not a celeba export (no {MARKER}); "
        "give a new or empty folder"
    )
    assert (out / "thesis.tex").read_text() == "precious" and sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_replaces_its_own_previous_export_but_not_what_was_added(labelled, tmp_path):
    out = tmp_path / "out"
    (out).mkdir()  # an empty folder is fine
    export(labelled, "--format", "imagefolder", "-o", out)
    export(labelled, "--format", "imagefolder", "-o", out, "-t", "orientation")  # replaced whole
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "orientation"]
    (out / "notes.txt").write_text("mine")
    result = export(labelled, "--format", "hf", "-o", out, ok=False)
    assert "it also holds 'notes.txt', which the export did not write" in result.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folders left behind


def test_files_added_inside_a_previous_exports_folders_are_not_replaced(labelled, tmp_path):
    """An attack pass: notes and a folder of rejects put into `light/` of an export were
    deleted, exit 0, by the next export to the same folder (only the top level was checked)."""
    out = tmp_path / "out"
    export(labelled, "--format", "imagefolder", "-o", out)
    (out / "light" / "NOTES.txt").write_text("mine")
    (out / "light" / "rejected").mkdir()
    (out / "light" / "rejected" / "keep.jpg").write_text("x")
    for form in ("imagefolder", "hf"):
        result = export(labelled, "--format", form, "-o", out, ok=False)
        assert "it also holds 'light/NOTES.txt', which the export did not write" in result.stderr, result.stderr
    assert (out / "light" / "NOTES.txt").read_text() == "mine" and (out / "light" / "rejected" / "keep.jpg").exists()
    (out / "light" / "NOTES.txt").unlink()
    (out / "light" / "rejected" / "keep.jpg").unlink()
    (out / "light" / "rejected").rmdir()
    export(labelled, "--format", "imagefolder", "-o", out)  # as the export left it: replaced
    marker = json.loads((out / MARKER).read_text())
    del marker["paths"]  # as markers were written before the paths were listed
    (out / MARKER).write_text(json.dumps(marker))
    (out / "light" / "notes.txt").write_text("mine")
    result = export(labelled, "--format", "hf", "-o", out, ok=False)
    assert "an older celeba-tui wrote it without listing its files" in result.stderr, result.stderr
    assert (out / "light" / "notes.txt").read_text() == "mine"


def test_never_writes_through_a_symlink(labelled, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    result = export(labelled, "--format", "imagefolder", "-o", link, ok=False)
    assert "it is a symlink" in result.stderr and list(elsewhere.iterdir()) == []
    # A previous export whose task folder was swapped for a link out: replaced, the target untouched.
    out = tmp_path / "out"
    export(labelled, "--format", "imagefolder", "-o", out)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    os.rename(out / "light", tmp_path / "old-light")
    (out / "light").symlink_to(victim, target_is_directory=True)
    export(labelled, "--format", "imagefolder", "-o", out)
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert not (out / "light").is_symlink() and (out / "light" / "left").is_dir()


def test_refuses_a_folder_inside_the_image_root(labelled):
    result = export(labelled, "--format", "imagefolder", "-o", labelled.image_root / "export", ok=False)
    assert result.exit_code == 2 and "inside the image root" in result.stderr
    assert not (labelled.image_root / "export").exists()


def test_refuses_a_folder_that_holds_the_image_root_or_that_a_link_in_it_leads_to(labelled, tmp_path):
    # Found by attack pass 17: an export whose folder held another workspace's image root
    # replaced it whole (every image deleted, exit 0); one into a folder a link inside the
    # image root leads to gave the next scan 61 new images.
    from celeba_tui.workspace import create_workspace

    out = tmp_path / "E"
    export(labelled, "--format", "imagefolder", "--copy", "-o", out)
    images = sorted(p.name for p in (out / "light" / "left").iterdir())
    second = create_workspace(tmp_path / "ws2", out / "light")
    result = export(second, "--format", "imagefolder", "-o", out, ok=False)
    assert result.exit_code == 2, result.output
    assert f"cannot export into {out}: it holds the image root" in result.stderr, result.stderr
    assert sorted(p.name for p in (out / "light" / "left").iterdir()) == images

    linked = tmp_path / "linked"
    linked.mkdir()
    (labelled.image_root / "more").symlink_to(linked, target_is_directory=True)
    result = export(labelled, "--format", "imagefolder", "-o", linked / "exp", ok=False)
    assert result.exit_code == 2 and "it is inside this workspace's image root" in result.stderr, result.stderr
    assert list(linked.iterdir()) == []
    # Found by attack pass 18: a link up the tree (the scan walks the root's siblings) was not followed.
    (labelled.image_root / "up").symlink_to(labelled.image_root.parent, target_is_directory=True)
    from celeba_tui import atomic

    atomic._REACHED.clear()  # walked afresh, as a new process would
    sibling = labelled.image_root.parent / "beside"
    result = export(labelled, "--format", "imagefolder", "-o", sibling, ok=False)
    assert result.exit_code == 2 and "inside this workspace's image root" in result.stderr, result.stderr
    assert not sibling.exists()


def test_a_file_put_into_the_old_export_while_the_new_one_is_built_is_kept(labelled, tmp_path):
    # Found by attack pass 17: notes written into the previous export while the next one
    # ran were deleted with it (the folder was checked only before the build).
    from celeba_tui.errors import CelebaError

    out = tmp_path / "out"
    export(labelled, "--format", "imagefolder", "-o", out)
    before = tree(out)
    destination = export_folder.check_destination(out, labelled.image_root)
    with pytest.raises(CelebaError, match=r"'light/notes.txt' was put into it while this export ran"):
        with export_folder.staged_folder(destination, {"format": "imagefolder"}) as staging:
            (staging / "light").mkdir()
            (out / "light" / "notes.txt").write_text("mine")  # meanwhile, in another terminal
    assert (out / "light" / "notes.txt").read_text() == "mine"
    (out / "light" / "notes.txt").unlink()
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_staging_folders_of_killed_exports_are_removed_by_the_next_export(labelled, tmp_path):
    # Found by attack pass 17: each kill -9 of an export left its hidden staging folder
    # (copies of the images) beside the output for good.
    import subprocess
    import sys
    import time

    from celeba_tui.atomic import STALE_TEMPORARY_S

    out = tmp_path / "out"
    killed = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from celeba_tui.formats.export_folder import check_destination, staged_folder\n"
        "with staged_folder(check_destination(Path(sys.argv[1])), {}) as staging:\n"
        "    (staging / 'copy.jpg').write_bytes(b'half'); os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", killed, str(out)]).returncode == 9
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".out.celeba-export-")]
    assert len(left) == 1
    old = time.time() - STALE_TEMPORARY_S - 60
    os.utime(left[0], (old, old))
    # Found by attack pass 18: a folder of the user's whose name fits the pattern is not the tool's.
    dead_pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    users = tmp_path / f".out.celeba-export-{dead_pid}-december"
    users.mkdir()
    (users / "precious").write_text("x")
    os.utime(users, (old, old))
    export(labelled, "--format", "imagefolder", "-o", out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [users.name]


def test_an_export_interrupted_while_swapping_puts_the_old_one_back(labelled, tmp_path, monkeypatch):
    # Found by attack pass 18: Ctrl-C (or kill -9) between moving the old export aside and
    # putting the new one in place left DIR missing, and the next export deleted the old one.
    import shutil

    out = tmp_path / "out"
    export(labelled, "--format", "imagefolder", "-o", out, "-t", "light")
    before = tree(out)
    real_walk = export_folder._paths_under

    def interrupted_recheck(folder):
        if folder.name == "export":  # the re-check of the old export, moved aside
            raise KeyboardInterrupt
        return real_walk(folder)

    monkeypatch.setattr(export_folder, "_paths_under", interrupted_recheck)
    destination = export_folder.check_destination(out, labelled.image_root)
    with pytest.raises(KeyboardInterrupt):
        with export_folder.staged_folder(destination, {"format": "imagefolder"}) as staging:
            (staging / "light").mkdir()
    assert tree(out) == before and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()

    # kill -9 in the same place: the old export waits in its hidden folder, DIR is missing;
    # the next export puts it back first (so it replaces it as it would have).
    held = tmp_path / ".out.celeba-old-999999999-abcdefgh"  # a process gone
    held.mkdir()
    (held / ".celeba-own-folder").write_bytes(b"")
    shutil.move(out, held / "export")
    (held / "export" / "light" / "notes.txt").write_text("mine")  # put in while that export ran
    result = export(labelled, "--format", "imagefolder", "-o", out, ok=False)
    assert "it also holds 'light/notes.txt'" in result.stderr, result.stderr
    assert (out / "light" / "notes.txt").read_text() == "mine" and not held.exists()


def test_an_interrupted_export_leaves_the_folder_as_it_was(labelled, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export(labelled, "--format", "imagefolder", "-o", out, "-t", "light")
    before = tree(out)
    calls = []

    def fail_on_third(self, name, folder):
        calls.append(name)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_put(self, name, folder)

    real_put = FileWriter.put
    monkeypatch.setattr(FileWriter, "put", fail_on_third)
    result = export(labelled, "--format", "imagefolder", "-o", out, ok=False)
    assert result.exit_code == 2 and "No space left on device" in result.stderr
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------ Hugging Face
def test_hf_layout_and_class_labels(labelled, tmp_path):
    out = tmp_path / "hf"
    result = export(labelled, "--format", "hf", "-o", out)
    assert result.stderr.splitlines() == [
        f"wrote 6 files (6 images) to {out}",
        "left out 1 image: not in the image root (no file to write)",
        # Helper-77: the empty value was not counted, where imagefolder counts the conflict.
        "light: 1 image written with no value: a conflict waits for review",
    ]
    files = sorted(p.name for p in (out / "train").iterdir())
    assert files == [f"00000{i}.jpg" for i in range(1, 7)] + ["metadata.parquet"]
    again = json.loads(export(labelled, "--format", "hf", "-o", out, "--json").stdout)
    assert [item["images"] for item in again["left_out"]] == [1]  # images not written only (attack pass 37)
    assert again["empty_values"] == [{"reason": "a conflict waits for review", "images": 1, "task": "light"}]
    table = pq.read_table(out / "train" / "metadata.parquet")
    rows = {r["image_name"]: r for r in table.to_pylist()}
    assert rows["000004.jpg"] == {
        "file_name": "000004.jpg",
        "image_name": "000004.jpg",
        "light": 1,
        "orientation": None,
    }
    assert rows["000006.jpg"]["light"] == CLASSES.index("right")
    assert rows["000003.jpg"]["light"] is None and rows["000003.jpg"]["orientation"] == 1  # a conflict: no label
    features = json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]
    assert features["light"] == {"names": list(CLASSES), "_type": "ClassLabel"}


def test_hf_loads_with_datasets(labelled, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="the datasets package is not installed (pip install datasets)")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    out = tmp_path / "hf"
    export(labelled, "--format", "hf", "-o", out)
    loaded = datasets.load_dataset("imagefolder", data_dir=str(out), cache_dir=str(tmp_path / "hf-cache"))
    train = loaded["train"]
    assert train.features["light"].names == list(CLASSES)
    by_name = {row["image_name"]: row for row in train}
    assert by_name["000001.jpg"]["light"] == 0 and by_name["000004.jpg"]["orientation"] is None
    assert by_name["000005.jpg"]["image"].size == (178, 218)
