"""The workspace's labelling guidelines (guidelines.md): the default text written into
every new workspace, and reading the file back for `?` in `celeba label`.

The file is the team's to edit, so it is read as outside input: only a regular file
(a FIFO would block the screen for ever, a link to /dev/zero fill memory), at most
MAX_GUIDELINES_BYTES. Textual lays Markdown out block by block and takes seconds per
few hundred blocks, so a longer file is shown as plain text, never as a frozen screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MAX_GUIDELINES_BYTES = 256 * 1024
MAX_MARKDOWN_LINES = 150  # beyond this the text is shown plain (about 1 s of layout for 150 list items)

_INTRO = """\
# Labelling guidelines

Read these before you start, and again whenever you are unsure. Labels from several
people are only worth merging if everyone applies the same standard.
"""

# The study's own tasks (light, orientation: left, center, right): what the study learnt.
_STUDY = """\
## Left and right are the viewer's

Left and right always mean the left and right **of the picture as you see it**:

- *Light left*: the light comes from the left side of the picture (the left side of the
  face, as you see it, is brighter; shadows fall to the right).
- *Oriented left*: the face turns toward the left side of the picture (you see more of
  the face's right cheek; the nose points to the left edge).

A mirrored picture swaps left and right for both questions and keeps center. The tool
sometimes shows you a mirrored copy of an image you already labelled to check that
you are consistent; answer it like any other image.

## Center

- *Light center*: the light is frontal or from above; both halves of the face are lit
  about equally.
- *Oriented center*: the face looks at the camera; both cheeks are about equally
  visible.

Use center only when you cannot say which side wins. When one side clearly wins,
even slightly, choose that side. (The study this tool comes from found that two groups
disagreed on half of the light labels, mostly because one group used "center" much
more loosely than the other. Agree on this standard before you start.)

## Hard cases (from the study, section 2.2)

- The whole face is lit, but the nose casts a shadow one way and the chin the other:
  judge by the **nose and brow shadows** and by which cheek is brighter.
- The light comes from behind the subject: judge by the brighter rim of the face; if
  no side wins, answer center.
- The face is turned between center and a side, so that both answers seem right: ask
  whether the nose tip is outside the line between the eyes' inner corners; if so,
  choose the side.
- You cannot tell at all (heavy occlusion, a drawing, several faces): press **space**
  to skip rather than guess.
"""

_KEYS = """\
## Keys

Press `p` to cycle contrast / blur / binarized views (display only; the study's
preprocessing operations){light}.
When you cannot tell, press **space** to skip rather than guess.
"""


def unwritten_mark(task_name: str) -> str:
    """The line a new workspace's guidelines hold for a task nobody has written rules for:
    `celeba label` says so (guidelines_note) until it is deleted."""
    return f"<!-- {task_name}: not written yet. Delete this line once the rules below are written. -->"


def default_guidelines(tasks) -> str:
    """Guidelines text for a workspace with these tasks: the study's conventions for its
    own tasks (light and orientation as left, center, right), and a section to write for
    each other task (helper-72: a glasses task got the study's left/right rules)."""
    from celeba_tui.workspace import DEFAULT_TASKS

    study = [t for t in tasks if t in DEFAULT_TASKS]
    parts = [_INTRO]
    if study:
        parts.append(_STUDY)
    for task in tasks:
        if task not in study:
            parts.append(
                f"## {task.name}: {task.prompt}\n\n{unwritten_mark(task.name)}\n\n"
                + "\n".join(
                    f"- *{name}*: what makes an image {name}, and the borderline cases." for name in task.classes
                )
                + "\n"
            )
    parts.append(_KEYS.format(light=". Contrast often makes the light direction obvious" if study else ""))
    lines = ["## Questions and classes in this workspace", ""]
    for task in tasks:
        lines.append(f"- **{task.name}** ({task.prompt}): " + ", ".join(task.classes))
    return "\n".join(parts) + "\n" + "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Guidelines:
    """What `?` shows: `text`, as Markdown or (a long file) as plain text."""

    text: str
    markdown: bool


def unguided_tasks(text: str, tasks) -> list:
    """The tasks `text` never names (as a word, in any case), or whose section is still the
    one a new workspace wrote (its unwritten_mark): a task added to celeba.toml after the
    guidelines were written, or made with `celeba init --task`, that nobody has said how to
    answer. Pure."""
    return [
        t
        for t in tasks
        if unwritten_mark(t.name) in text or not re.search(rf"(?<!\w){re.escape(t.name)}(?!\w)", text, re.IGNORECASE)
    ]


def guidelines_note(path: Path, tasks) -> str | None:
    """What `celeba label` opens with where the guidelines say nothing of a task it asks
    (the walkthrough of 2026-12-07: nothing prompted a lead who added a task to write down
    how to answer it); None where they name every one, or cannot be read (`?` says why)."""
    text = _readable_text(path)
    if text is None:
        return None
    missing = unguided_tasks(text, tasks)
    if not missing:
        return None
    asked = "; ".join(f"{t.name}: {t.prompt!r} ({', '.join(t.classes)})" for t in missing)
    # Attack pass 36: the line is an HTML comment, which `?` does not show.
    marked = [t.name for t in missing if unwritten_mark(t.name) in text]
    lines = " and ".join(f"'<!-- {name}: not written yet ... -->'" for name in marked)
    mark = f", then delete the line {lines}" if marked else ""
    return (
        f"{path.name} says nothing about {asked} yet: write there how to answer it, hard cases too{mark}, "
        "so that everyone labels alike (? shows the guidelines)"
    )


def mentions(path: Path, word: str) -> int:
    """How often the guidelines name `word` (as a word, any case); 0 where they cannot be read."""
    text = _readable_text(path)
    return 0 if text is None else len(re.findall(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE))


def _readable_text(path: Path) -> str | None:
    """The guidelines' text, or None where it cannot be read (`?` says why: read_guidelines)."""
    from celeba_tui.regular_files import FileRefused, read_regular_file

    try:
        return read_regular_file(path, MAX_GUIDELINES_BYTES).decode("utf-8")
    except (OSError, FileRefused, UnicodeDecodeError):
        return None


def read_guidelines(path: Path) -> Guidelines:
    """The guidelines file, or a note saying why it is not shown and where it should be."""
    from celeba_tui.regular_files import FileRefused, read_regular_file

    try:
        text = read_regular_file(path, MAX_GUIDELINES_BYTES).decode("utf-8")
    except (OSError, FileRefused, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Guidelines(f"No guidelines shown: {path}: {reason}. Write your team's rules there.", markdown=False)
    if text.count("\n") > MAX_MARKDOWN_LINES:
        return Guidelines(text, markdown=False)
    return Guidelines(text, markdown=True)
