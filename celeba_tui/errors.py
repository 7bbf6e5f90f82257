"""Errors a user can cause: the CLI prints them as one line and exits non-zero."""

from __future__ import annotations


class CelebaError(Exception):
    """A problem with the user's input, files or workspace (not a bug)."""


class WorkspaceError(CelebaError):
    """Missing or invalid workspace, config or image root."""


class StoreError(CelebaError):
    """The label store cannot be opened or used."""


class StoreWriteError(StoreError):
    """The store could not be written (disk full, read-only, I/O error); the change was rolled back.

    `problem` is the short reason ("disk full"), for a screen that says "NOT saved: ...".
    """

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"store {self.path}: {problem}; the change was not saved")


class DecidedMeanwhile(StoreError):
    """A review decision refused because another person decided the same image and task
    after the reviewer's view of it was read: written, it would silently replace theirs.

    `problem` is the short reason for a screen that says "NOT saved: ...".
    """

    def __init__(self, image: str, task: str, annotator: str, label: str | None):
        self.image, self.task, self.annotator, self.label = image, task, annotator, label
        what = f"chose {label} for {image} {task}" if label is not None else f"undid the {task} decision of {image}"
        self.problem = f"{annotator} {what} while you were on it"
        super().__init__(self.problem)


class FormatError(CelebaError):
    """A label file that cannot be read; names the file, the line and the problem."""

    def __init__(self, path: object, problem: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
