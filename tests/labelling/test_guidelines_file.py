"""Reading guidelines.md for `?`: hostile files are refused at once, long ones shown plain."""

from __future__ import annotations

import os
import time

from celeba_tui.labelling.guidelines import MAX_GUIDELINES_BYTES, MAX_MARKDOWN_LINES, read_guidelines


def test_a_short_file_is_markdown(tmp_path):
    path = tmp_path / "guidelines.md"
    path.write_text("# Rules\n\n- left is the viewer's left\n")
    shown = read_guidelines(path)
    assert shown.markdown and shown.text.startswith("# Rules")


def test_a_long_file_is_plain_text_not_a_frozen_screen(tmp_path):
    path = tmp_path / "guidelines.md"
    path.write_text("".join(f"# heading {i}\n" for i in range(MAX_MARKDOWN_LINES + 1)))
    shown = read_guidelines(path)
    assert not shown.markdown and "heading 150" in shown.text


def test_special_oversized_missing_and_garbled_files_give_a_note_at_once(tmp_path):
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.md"
    zero.symlink_to("/dev/zero")
    big = tmp_path / "big.md"
    big.write_bytes(b"#" * (MAX_GUIDELINES_BYTES + 1))
    latin = tmp_path / "latin.md"
    latin.write_bytes(b"caf\xe9")
    started = time.monotonic()
    notes = {path.name: read_guidelines(path) for path in (fifo, zero, big, latin, tmp_path / "missing.md")}
    assert time.monotonic() - started < 5  # nothing blocked, nothing read without end
    assert all(not note.markdown and note.text.startswith("No guidelines shown: ") for note in notes.values())
    assert "a FIFO" in notes["fifo.md"].text and "a character device" in notes["zero.md"].text
    assert "too large" in notes["big.md"].text and "utf-8" in notes["latin.md"].text
    assert "No such file" in notes["missing.md"].text


def test_a_task_the_guidelines_never_name_is_said_when_labelling_opens(tmp_path):
    # The walkthrough of 2026-12-07: a lead added `glasses`; nothing said its guidelines were missing.
    from celeba_tui.labelling.guidelines import default_guidelines, guidelines_note, unguided_tasks
    from celeba_tui.workspace import DEFAULT_TASKS, Task

    glasses = Task("glasses", ("no", "yes"), "Does the person wear glasses?")
    path = tmp_path / "guidelines.md"
    path.write_text(default_guidelines(DEFAULT_TASKS))
    assert guidelines_note(path, DEFAULT_TASKS) is None  # a new workspace's name every task
    assert unguided_tasks("Glasses: frames count, sunglasses too.", [glasses]) == []  # any case
    assert unguided_tasks("eyeglasses only", [glasses]) == [glasses]  # a word, not part of one
    note = guidelines_note(path, (*DEFAULT_TASKS, glasses))
    assert note.startswith("guidelines.md says nothing about glasses: 'Does the person wear glasses?' (no, yes) yet")
    assert guidelines_note(tmp_path / "missing.md", (glasses,)) is None  # `?` says why it cannot be read


def test_a_new_workspaces_own_tasks_get_a_section_to_write_not_the_studys_rules(tmp_path):
    # helper-72: `glasses` got the study's left/right rules, and nothing said its own were missing.
    from celeba_tui.labelling.guidelines import default_guidelines, guidelines_note, unwritten_mark
    from celeba_tui.workspace import DEFAULT_TASKS, Task

    glasses = Task("glasses", ("no", "yes"))
    text = default_guidelines((glasses,))
    assert "Left and right" not in text and "## glasses: glasses?" in text and "- *yes*: " in text
    path = tmp_path / "guidelines.md"
    path.write_text(text)
    note = guidelines_note(path, (glasses,))
    assert note.startswith("guidelines.md says nothing about glasses") and "<!-- glasses: not written yet" in note
    path.write_text(text.replace(unwritten_mark("glasses") + "\n", ""))  # the lead wrote them
    assert guidelines_note(path, (glasses,)) is None
    hat = Task("hat", ("no", "yes"))
    path.write_text(default_guidelines((glasses, hat)))
    note = guidelines_note(path, (glasses, hat))  # helper-76: only the first task's line was named
    assert "'<!-- glasses: not written yet ... -->' and '<!-- hat: not written yet ... -->'" in note, note
    both = default_guidelines((*DEFAULT_TASKS, glasses))
    assert "Left and right" in both and both.count("not written yet") == 1
