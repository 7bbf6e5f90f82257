"""Workspace: a folder holding the config (image root, tasks), the label store and runs.

Layout of a workspace folder::

    celeba.toml        config: image root and the tasks with their classes
    labels.sqlite      the label store (SQLite, WAL)
    guidelines.md      labelling guidelines shown by the TUI's `?` key
    cache/             decoded-image caches (training)
    runs/              training runs
    splits/            the stored train/validation split per task
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import tomllib

from celeba_tui.console import counted
from celeba_tui.errors import WorkspaceError
from celeba_tui.vocabulary import NO_LABEL_WORDS

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

CONFIG_NAME = "celeba.toml"
STORE_NAME = "labels.sqlite"
GUIDELINES_NAME = "guidelines.md"
ENV_WORKSPACE = "CELEBA_WORKSPACE"
CONFIG_VERSION = 1

DEFAULT_CLASSES = ("left", "center", "right")
# \Z, not $: "$" also matches before a final line feed, and "light\n" is no name.
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
# One letter key each in the labelling screen (celeba_tui/tui/key_map.py, LETTERS).
MAX_CLASSES = 16
# Columns every Hugging Face export has beside one per task (celeba_tui/formats/image_folders.py).
RESERVED_TASK_NAMES = frozenset({"file_name", "image_name"})
MAX_CONFIG_BYTES = 1 << 20
# A task's `scale` in celeba.toml: whether its classes are in order (agreement's measures).
ORDINAL, NOMINAL = "ordinal", "nominal"
SCALES = (ORDINAL, NOMINAL)
_ORPHANS_SHOWN = 5  # orphaned (task, label) pairs, and annotators per pair, named in the error


@dataclass(frozen=True)
class Task:
    """One per-image attribute and its classes, in index order."""

    name: str
    classes: tuple[str, ...]
    question: str = ""
    scale: str = ""  # "ordinal" or "nominal" as celeba.toml declares it; "" leaves it to the names

    def index(self, label: str) -> int:
        return self.classes.index(label)

    @property
    def ordered(self) -> bool:
        """Whether the classes are in order (agreement weighs near misses less: weighted kappa,
        ordinal alpha): as `scale` declares, else where the names lie along the picture's
        left-right axis (`mirror.ordered_scale`: left, center, right)."""
        if self.scale:
            return self.scale == ORDINAL
        from celeba_tui.mirror import ordered_scale

        return ordered_scale(self.classes)

    @property
    def prompt(self) -> str:
        return self.question or f"{self.name}?"


DEFAULT_TASKS = (
    Task("light", DEFAULT_CLASSES, "Where does the light come from?"),
    Task("orientation", DEFAULT_CLASSES, "Where is the face turned?"),
)


def parse_task_spec(text: str) -> Task:
    """A task as `celeba init --task` spells it: NAME=CLASS,CLASS,... (checked by
    validate_tasks with the others). Pure."""
    name, equals, classes = text.partition("=")
    names = tuple(c.strip() for c in classes.split(",")) if classes.strip() else ()
    if not equals or not name.strip() or not names or "" in names:
        raise WorkspaceError(f"--task {text!r}: write NAME=CLASS,CLASS,... (e.g. glasses=no,yes)")
    return Task(name.strip(), names)


def validate_tasks(tasks: tuple[Task, ...], where: str) -> tuple[Task, ...]:
    """Check task and class names; raise WorkspaceError naming the problem and where."""
    if not tasks:
        raise WorkspaceError(f"{where}: no tasks defined")
    seen: set[str] = set()
    for task in tasks:
        if not _NAME_RE.match(task.name):
            raise WorkspaceError(
                f"{where}: invalid task name {task.name!r} (an ASCII letter, then up to 63 ASCII letters, digits, _ or -)"
            )
        if task.name in RESERVED_TASK_NAMES:
            raise WorkspaceError(f"{where}: task name {task.name!r} is reserved (an export column)")
        if task.name in seen:
            raise WorkspaceError(f"{where}: task {task.name!r} defined twice")
        seen.add(task.name)
        if not 2 <= len(task.classes) <= MAX_CLASSES:
            raise WorkspaceError(
                f"{where}: task {task.name!r} has {counted(len(task.classes), 'class', 'classes')}; "
                f"it needs 2 to {MAX_CLASSES}"
            )
        if len(set(task.classes)) != len(task.classes):
            raise WorkspaceError(f"{where}: task {task.name!r} has a repeated class")
        for cls in task.classes:
            if not _NAME_RE.match(cls):
                raise WorkspaceError(
                    f"{where}: task {task.name!r} has invalid class {cls!r} (a class name is an ASCII letter, "
                    "then up to 63 ASCII letters, digits, _ or -)"
                )
    return tasks


def check_new_names(tasks: tuple[Task, ...], where: str) -> None:
    """What names a command writes into a config (`init --task`, `rename-class`) must be beyond validate_tasks:
    no class spelt as the filters' word for no label (helper-72: `--label unlabelled` found the
    images without one), and no two tasks' one-hot columns alike (attack pass 36: task `a_b`
    class `c` and task `a` class `b_c` are both column `a_b_c`, and a round trip moved labels
    from one task to the other). A config that already holds them still opens (attack pass
    36: refusing it locked its labels away); the one-hot formats refuse it."""
    for task in tasks:
        for cls in task.classes:
            if cls.lower() in NO_LABEL_WORDS:
                raise WorkspaceError(
                    f"{where}: task {task.name!r} has class {cls!r}, the word browse's filters use for images "
                    "without a label; name the class otherwise"
                )
    clash = onehot_column_clash(tasks)
    if clash:
        raise WorkspaceError(f"{where}: {clash}; rename one of them")


def onehot_column_clash(tasks: tuple[Task, ...]) -> str:
    """Two (task, class) pairs whose one-hot columns (TASK_CLASS) are spelt alike, in words; "" if none. Pure."""
    seen: dict[str, tuple[str, str]] = {}
    for task in tasks:
        for cls in task.classes:
            column = f"{task.name}_{cls}"
            if column in seen:
                other = seen[column]
                return (
                    f"task {other[0]!r} class {other[1]!r} and task {task.name!r} class {cls!r} "
                    f"are both one-hot column {column!r}"
                )
            seen[column] = (task.name, cls)
    return ""


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace: where it is, where its images are, and its tasks."""

    path: Path
    image_root: Path
    tasks: tuple[Task, ...] = DEFAULT_TASKS
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def store_path(self) -> Path:
        return self.path / STORE_NAME

    @property
    def guidelines_path(self) -> Path:
        return self.path / GUIDELINES_NAME

    @property
    def cache_dir(self) -> Path:
        return self.path / "cache"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def splits_dir(self) -> Path:
        return self.path / "splits"

    @property
    def autolabel_dir(self) -> Path:
        """The latest `celeba autolabel` run's report: skipped images, suspects, figures."""
        return self.path / "autolabel"

    @property
    def suspects_path(self) -> Path:
        """The suspects the latest `celeba autolabel` found (read by the suspects queue)."""
        return self.autolabel_dir / "suspects.csv"

    def own_folder(self, folder: Path) -> Path:
        """One of the workspace's own folders (runs/, splits/, models/, autolabel/, cache/),
        made if missing; a one-line error if a link, a file or a FIFO is in its place."""
        from celeba_tui.atomic import owned_folder

        return owned_folder(folder, self.path)

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    def task(self, name: str) -> Task:
        """The task called `name`; a WorkspaceError listing the known tasks otherwise."""
        for task in self.tasks:
            if task.name == name:
                return task
        from celeba_tui.annotator_names import shown_name
        from celeba_tui.console import did_you_mean

        known = ", ".join(self.task_names)
        meant = did_you_mean(name, self.task_names)
        raise WorkspaceError(f"unknown task {shown_name(name)} in {self.config_path} ({meant}tasks: {known})")

    def select_tasks(self, names: list[str] | None) -> tuple[Task, ...]:
        """The tasks `names` name, each once in the order first named (`-t light -t light`
        is light); every task where none is named."""
        return self.tasks if not names else tuple(self.task(n) for n in dict.fromkeys(names))

    def open_store(self, *, create: bool = False, readonly: bool = False, check_classes: bool = True):
        """The workspace's label store, checked against the config's classes.

        `readonly` for commands that only read: they then work in a workspace nobody
        may write to. Every command that reads labels opens the store here, so this is
        where a config edited after labelling (a class removed or renamed) becomes one
        line naming the orphaned labels, instead of a refusal or a crash deep inside
        agreement, merge or export. `check_classes=False` is for the commands that
        repair exactly that (`celeba annotators`).
        """
        from celeba_tui.store.label_store import LabelStore

        store = LabelStore.open(self.store_path, create=create, readonly=readonly)
        if check_classes:
            try:
                self.check_stored_classes(store)
            except WorkspaceError:
                store.close()
                raise
        return store

    def check_stored_classes(self, store: LabelStore) -> None:
        """WorkspaceError naming every (task, label) in the store that is not a class of its task."""
        classes = {task.name: set(task.classes) for task in self.tasks}
        orphans = [
            (task, label) for task, label in store.label_values() if task in classes and label not in classes[task]
        ]
        if not orphans:
            return
        described = []
        for task, label in orphans[:_ORPHANS_SHOWN]:
            holders = store.label_value_annotators(task, label)
            total = sum(n for _, n in holders)
            names = ", ".join(repr(name) for name, _ in holders[:_ORPHANS_SHOWN])
            more = f" and {len(holders) - _ORPHANS_SHOWN} more" if len(holders) > _ORPHANS_SHOWN else ""
            described.append(f"{task} {label!r}: {total:,} by {names}{more}")
        if len(orphans) > _ORPHANS_SHOWN:
            described.append(f"and {len(orphans) - _ORPHANS_SHOWN} more")
        raise WorkspaceError(
            f"{self.config_path}: stored labels that are not classes of their task ({'; '.join(described)}); "
            f"a class renamed in {CONFIG_NAME}: `celeba rename-class -t TASK OLD NEW` renames its stored labels; "
            f"else restore the class in {CONFIG_NAME}, or withdraw the annotator's labels of that task with "
            "`celeba annotators withdraw NAME --task TASK`"
        )


def render_config(image_root: Path, tasks: tuple[Task, ...], config_dir: Path) -> str:
    """The TOML text of a workspace config (written by hand: tomllib only reads)."""
    try:
        root_text = os.path.relpath(image_root, config_dir)
    except ValueError:  # another drive on Windows
        root_text = str(image_root)
    if root_text.startswith(".." + os.sep + ".." + os.sep + ".."):
        root_text = str(image_root)
    lines = [
        "# celeba-tui workspace. Paths are relative to this file.",
        f"version = {CONFIG_VERSION}",
        f"images = {json.dumps(root_text)}",
        "",
    ]
    for task in tasks:
        lines += [
            "[[tasks]]",
            f"name = {json.dumps(task.name)}",
            "classes = [" + ", ".join(json.dumps(c) for c in task.classes) + "]",
            f"question = {json.dumps(task.question)}",
            *([f"scale = {json.dumps(task.scale)}"] if task.scale else []),
            "",
        ]
    return "\n".join(lines)


def parse_config(text: str, config_path: Path) -> Workspace:
    """Build a Workspace from config text; every problem names the file."""
    if text.startswith("\ufeff"):  # Notepad's byte-order mark: TOML has none (attack pass 41)
        raise WorkspaceError(f"{config_path}: starts with a byte-order mark (BOM); save it as UTF-8 without one")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{config_path}: not valid TOML ({exc})") from None
    except RecursionError:  # attack pass 41: 500 nested arrays in 1 kB gave 3,000 lines of traceback
        raise WorkspaceError(f"{config_path}: not valid TOML (values nested too deep)") from None
    version = data.get("version", CONFIG_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise WorkspaceError(
            f"{config_path}: 'version' must be a whole number from 1 to {CONFIG_VERSION}, not {version!r}"
        )
    if version > CONFIG_VERSION:
        raise WorkspaceError(
            f"{config_path}: config version {version!r} is newer than this celeba-tui "
            f"understands ({CONFIG_VERSION}); upgrade celeba-tui"
        )
    refuse_unknown_keys(data, TOP_LEVEL_KEYS, config_path, "")
    if TRAIN_TABLE in data:
        if not isinstance(data[TRAIN_TABLE], dict):
            raise WorkspaceError(f"{config_path}: 'train' must be a [train] table (architectures = [...])")
        refuse_unknown_keys(data[TRAIN_TABLE], TRAIN_KEYS, config_path, "in [train] ")
    images = data.get("images")
    if images is None:
        raise WorkspaceError(f"{config_path}: missing 'images' (the image root)")
    if not isinstance(images, str) or not images:  # attack pass 41: `images = 5` said "missing"
        kind = "empty text" if images == "" else TOML_KINDS.get(type(images), type(images).__name__)
        raise WorkspaceError(f"{config_path}: 'images' must be the image root's path as text, not {kind}")
    raw_tasks = data.get("tasks", None)
    if raw_tasks is None:
        tasks = DEFAULT_TASKS
    else:
        if not isinstance(raw_tasks, list):
            raise WorkspaceError(f"{config_path}: 'tasks' must be a list of [[tasks]] tables")
        from celeba_tui.annotator_names import shown_name

        parsed = []
        for i, raw in enumerate(raw_tasks, 1):
            if not isinstance(raw, dict):
                raise WorkspaceError(f"{config_path}: task #{i} has no name")
            named = isinstance(raw.get("name"), str)
            # First: a task without a name may have it misspelt (`nmae`: did you mean 'name'?).
            refuse_unknown_keys(
                raw, TASK_KEYS, config_path, f"in task {shown_name(raw['name']) if named else f'#{i}'} "
            )
            if not named:
                raise WorkspaceError(f"{config_path}: task #{i} has no name")
            classes = raw.get("classes", list(DEFAULT_CLASSES))
            if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
                raise WorkspaceError(f"{config_path}: task {raw['name']!r}: 'classes' must be a list of names")
            question = raw.get("question", "")
            if not isinstance(question, str):  # attack pass 41: `question = 5` was taken as "5"
                raise WorkspaceError(f"{config_path}: task {raw['name']!r}: 'question' must be text")
            scale = raw.get("scale", "")
            if scale != "" and scale not in SCALES:
                raise WorkspaceError(
                    f"{config_path}: task {raw['name']!r}: 'scale' must be {' or '.join(repr(s) for s in SCALES)} "
                    "(whether its classes are in order), not " + shown_name(str(scale))
                )
            parsed.append(Task(raw["name"], tuple(classes), str(question), scale))
        tasks = tuple(parsed)
    validate_tasks(tasks, str(config_path))
    extra = {k: v for k, v in data.items() if k not in {"version", "images", "tasks"}}
    image_root = resolve_folder(config_path.parent, images, f"{config_path}: 'images'")
    return Workspace(config_path.parent.resolve(), image_root, tasks, extra)


# What celeba.toml may hold: a key that is none of these is a typo (`clases` left the task
# with the default classes, and the store's own labels then read as foreign) or a wish the
# tool does not grant (`keys = ...`); either way the config does not say what it seems to.
TRAIN_TABLE, TRAIN_ARCHITECTURES = "train", "architectures"  # [train] architectures = [...] (`celeba cycle`)
TOP_LEVEL_KEYS = ("version", "images", "tasks", TRAIN_TABLE)
# What a TOML value other than text is, for an error line.
TOML_KINDS = {bool: "true or false", int: "a number", float: "a number", list: "a list", dict: "a table"}
TASK_KEYS = ("name", "classes", "question", "scale")
TRAIN_KEYS = (TRAIN_ARCHITECTURES,)


def refuse_unknown_keys(table: dict, known: tuple[str, ...], config_path: Path, where: str) -> None:
    """A WorkspaceError naming the first key of `table` (`where` in the config) not `known`.
    The keys are the file's text: quoted escaped and cut (`annotator_names.shown_name`)."""
    from celeba_tui.annotator_names import shown_name
    from celeba_tui.console import did_you_mean

    for key in table:
        if key not in known:
            raise WorkspaceError(
                f"{config_path}: unknown key {shown_name(key)} {where}"
                f"({did_you_mean(key, known)}known: {', '.join(known)})"
            )


def resolve_folder(base: Path, given: str | Path, what: str) -> Path:
    """`given` (~ expanded) against `base`, resolved; a WorkspaceError for a path that cannot
    be one (an unknown ~user, a NUL character)."""
    try:
        return (Path(base) / Path(given).expanduser()).resolve()
    except (RuntimeError, ValueError, OSError) as exc:
        raise WorkspaceError(f"{what} {str(given)!r} is not a usable path ({exc})") from None


def names_workspace(given: str | Path) -> bool:
    """Whether `given` is a workspace's folder or its celeba.toml (as `load_workspace` takes it)."""
    try:
        path = Path(given)
        return (path / CONFIG_NAME).is_file() or (path.name == CONFIG_NAME and path.is_file())
    except (OSError, ValueError):
        return False


def load_workspace(path: Path, given_by: str = "") -> Workspace:
    """The workspace in folder `path` (or whose celeba.toml `path` is); `given_by` says
    where the path came from in errors ("$CELEBA_WORKSPACE")."""
    path = Path(path)
    if path.name == CONFIG_NAME and path.is_file():  # `-w ws/celeba.toml`: the file's folder
        path = path.parent
    config_path = path / CONFIG_NAME
    source = f" (from {given_by})" if given_by else ""
    if not path.exists():
        raise WorkspaceError(f"{path}{source}: no such folder")
    if not path.is_dir():
        raise WorkspaceError(f"{path}{source}: not a folder (a workspace is the folder holding {CONFIG_NAME})")
    from celeba_tui.regular_files import FileRefused, read_regular_file

    try:
        # A FIFO or a link to /dev/zero would block or fill memory; a config is small.
        text = read_regular_file(config_path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileRefused as exc:
        raise WorkspaceError(f"{config_path}: {exc}") from None
    except FileNotFoundError:
        raise WorkspaceError(f"{path}{source}: not a celeba workspace (no {CONFIG_NAME}); run `celeba init`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"{config_path}: cannot read config ({exc})") from None
    return protect_own_files(parse_config(text, config_path))


def protect_own_files(workspace: Workspace) -> Workspace:
    """No output of this process may replace the workspace's store (or its SQLite side
    files) or config (`celeba export -o labels.sqlite` would lose every label), nor go
    into its image root."""
    from celeba_tui.atomic import protect, protect_folder

    for suffix in ("", "-wal", "-shm", "-journal"):
        protect(Path(f"{workspace.store_path}{suffix}"), "this workspace's label store")
    protect(workspace.config_path, "this workspace's config")
    protect(workspace.guidelines_path, "this workspace's labelling guidelines")  # attack pass 43
    # An image written there would replace one or be taken for one by the next scan.
    from celeba_tui.images import IMAGE_SUFFIXES

    protect_folder(workspace.image_root, "this workspace's image root (the images to label)", IMAGE_SUFFIXES)
    # The runs' checkpoints, the fixed splits and the caches are the workspace's own: an
    # export named there (`export-onnx -o runs/R/best.pt`) would replace one.
    everything = ("",)
    protect_folder(workspace.runs_dir, "this workspace's training runs", everything)
    protect_folder(workspace.splits_dir, "this workspace's fixed splits", everything)
    protect_folder(workspace.cache_dir, "this workspace's caches", everything)
    # The last autolabel's reports (its suspects queue read back) and the labelling sessions'
    # locks: `export -o autolabel/suspects.csv` emptied the queue (attack pass 43).
    protect_folder(workspace.autolabel_dir, "this workspace's autolabel reports", everything)
    from celeba_tui.labelling.session_lock import LOCK_FOLDER

    protect_folder(workspace.path / LOCK_FOLDER, "this workspace's labelling locks", everything)
    return workspace


def find_workspace(explicit: Path | None = None, start: Path | None = None) -> Workspace:
    """The workspace named explicitly, by $CELEBA_WORKSPACE, or found from `start` upwards."""
    if explicit is not None:
        return load_workspace(Path(explicit))
    env = os.environ.get(ENV_WORKSPACE)
    if env:
        return load_workspace(Path(env), f"${ENV_WORKSPACE}")
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return load_workspace(folder)
    raise WorkspaceError(
        f"no celeba workspace in {here} or its parents; run `celeba init DIR --images ROOT` or pass --workspace"
    )


def check_image_root(image_root: Path) -> None:
    if not image_root.exists():
        raise WorkspaceError(f"image root {image_root} does not exist")
    if not image_root.is_dir():
        raise WorkspaceError(f"image root {image_root} is not a folder")
    if not os.access(image_root, os.R_OK | os.X_OK):
        raise WorkspaceError(f"image root {image_root} is not readable")


def create_workspace(
    path: Path, image_root: Path, tasks: tuple[Task, ...] = DEFAULT_TASKS, *, tasks_given: bool = False
) -> Workspace:
    """Make a new workspace: its store, its guidelines, then its config (refusing to overwrite one).

    A folder holding a celeba.toml but no store (a config written by hand first) is made a
    workspace of that config: its store and guidelines are made for its tasks, whose images
    must be `image_root` (helper-72: every command said "run celeba init", which refused)."""

    path = Path(path)
    image_root = resolve_folder(Path.cwd(), image_root, "--images")
    check_image_root(image_root)
    validate_tasks(tasks, "--task")
    check_new_names(tasks, "--task")
    config_path = path / CONFIG_NAME
    where = resolve_folder(Path.cwd(), path, "workspace")
    if where == image_root or image_root in where.parents:
        # Every scan would take the workspace's own figures and caches for images to label.
        raise WorkspaceError(f"{path} is inside the image root {image_root}; put the workspace beside it")
    if os.path.lexists(config_path):
        if os.path.lexists(path / STORE_NAME):
            raise WorkspaceError(f"{config_path} already exists; this folder is already a workspace")
        return _store_for_config(path, image_root, tasks_given)
    for name in (STORE_NAME, GUIDELINES_NAME):
        # The workspace's own files are never written through a link planted in their place.
        if os.path.islink(path / name):
            raise WorkspaceError(f"{path / name} is a symbolic link; remove it (celeba init makes this file)")
    path.mkdir(parents=True, exist_ok=True)
    text = render_config(image_root, tasks, path.resolve())
    workspace = parse_config(text, config_path)
    # The config last: a folder holds it only once its store exists, so an init that
    # failed or was killed half-way leaves a folder `celeba init` can simply be run on again
    # (it finds no config), never a workspace whose every command says "run celeba init".
    with workspace.open_store(create=True):
        pass
    _write_default_guidelines(workspace)
    write_text_atomic(config_path, text)
    return protect_own_files(workspace)


def _store_for_config(path: Path, image_root: Path, tasks_given: bool) -> Workspace:
    """The store and guidelines of a folder whose celeba.toml was written before them."""

    for name in (CONFIG_NAME, STORE_NAME, GUIDELINES_NAME):  # never read or written through a planted link
        if os.path.islink(path / name):
            raise WorkspaceError(f"{path / name} is a symbolic link; remove it (celeba init makes this file)")
    workspace = load_workspace(path)
    if tasks_given:
        raise WorkspaceError(f"{workspace.config_path} already names the tasks; edit it there instead of --task")
    if workspace.image_root != image_root:
        from celeba_tui.images import detect_layout

        if detect_layout(workspace.image_root).image_root == image_root:  # attack pass 36: "the same path" twice
            raise WorkspaceError(
                f"{workspace.config_path} names images {workspace.image_root}, a CelebA folder: "
                f"write images = {json.dumps(str(image_root))} there (its images folder)"
            )
        raise WorkspaceError(
            f"{workspace.config_path} names images {workspace.image_root}, not --images {image_root}; make them agree"
        )
    try:
        with workspace.open_store(create=True):
            pass
    except BaseException:
        # Made here and failed (a link planted beside it): gone again, so init can be run again
        # (attack pass 36: an empty labels.sqlite left init saying "already a workspace").
        for made in (workspace.store_path, *(Path(f"{workspace.store_path}{s}") for s in ("-wal", "-shm"))):
            if made.is_file() and not made.is_symlink() and (made == workspace.store_path or not made.stat().st_size):
                made.unlink()
        raise
    _write_default_guidelines(workspace)
    return workspace


def _write_default_guidelines(workspace: Workspace) -> None:
    """The guidelines for the workspace's tasks, where it has none: the workspace's own file,
    written though protected once a workspace there was loaded (attack pass 43)."""
    from celeba_tui.atomic import own_rewrite
    from celeba_tui.labelling.guidelines import default_guidelines

    if not os.path.lexists(workspace.guidelines_path):
        with own_rewrite(workspace.guidelines_path):
            write_text_atomic(workspace.guidelines_path, default_guidelines(workspace.tasks))


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file so that readers see the old or the new content, never half."""
    from celeba_tui.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
