"""Every command follows the conventions Click/Typer users expect (walks the whole command tree).

Short forms: -t/--task, -o/--out, -w/--workspace; -h as well as --help; metavars that
read as words (DIR, FILE, NAME, N), never a type (<path>, <list[Path]>, PATH, TEXT);
`celeba --version`; -w before the subcommand; CELEBA_WORKSPACE / CELEBA_ANNOTATOR shown
in --help; with --json, errors are JSON.
"""

from __future__ import annotations

import json
import os
import re

import pytest
import typer.main
from typer._click.core import Context
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.cli.app import package_version

runner = CliRunner()

SHORT_FORMS = {"--task": "-t", "--out": "-o", "--workspace": "-w", "--queue": "-q", "--yes": "-y"}
# A metavar is one or more upper-case words (FILE, I/N, L,C,R, PREFIX), optionally repeated (FILE...).
WORD_METAVAR = re.compile(r"[A-Z][A-Z0-9_]*(?:[,:/|-][A-Z0-9_]+)*(?:\.\.\.)?")
# Type names are not words a reader can act on: they say what Python type it is, not what to give.
TYPE_NAMES = {"PATH", "TEXT", "STR", "INT", "INTEGER", "FLOAT", "BOOL", "BOOLEAN", "FILENAME", "DIRECTORY", "LIST"}


def command_tree():
    """(path, command) for the group and every command and subcommand under it."""
    root = typer.main.get_command(app)

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(root, []))


COMMANDS = command_tree()
IDS = [" ".join(["celeba", *path]) for path, _ in COMMANDS]


def takes_value(param) -> bool:
    return not (getattr(param, "is_flag", False) or getattr(param, "count", False))


def metavar_problem(text: str | None) -> str | None:
    if text is None:
        return "no metavar"
    if not WORD_METAVAR.fullmatch(text):
        return f"metavar {text!r} is not an upper-case word"
    if text.rstrip(".") in TYPE_NAMES:
        return f"metavar {text!r} names a type, not what to give"
    return None


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_long_options_have_their_short_form(path, command):
    missing = [
        f"{long} needs {short}"
        for param in command.params
        for long, short in SHORT_FORMS.items()
        if long in param.opts and short not in param.opts
    ]
    assert not missing, "; ".join(missing)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_metavars_read_as_words(path, command):
    ctx = Context(command, info_name=path[-1] if path else "celeba")
    problems = []
    for param in command.params:
        if param.param_type_name == "argument":
            problem = metavar_problem(param.metavar)
        elif takes_value(param) and not param.hidden:
            problem = metavar_problem(param.display_type_rich(ctx))
        else:
            continue
        if problem:
            problems.append(f"{param.opts[0] if param.opts else param.name}: {problem}")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_takes_h_everywhere(path, command, flag):
    result = runner.invoke(app, [*path, flag])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: celeba"), result.output


def test_version_comes_from_the_package_metadata():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"celeba {package_version()}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", package_version())


def test_completion_is_offered_and_no_arguments_still_shows_help():
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.output and "--show-completion" in result.output
    bare = runner.invoke(app, [])
    assert "Usage: celeba" in bare.output and "Commands:" in bare.output


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_workspace_options_read_and_show_the_environment_variable(path, command):
    for param in command.params:
        if "--workspace" in param.opts and path:  # the group's -w is only ever typed
            assert (param.envvar, param.show_envvar) == ("CELEBA_WORKSPACE", True)


def test_environment_variables_are_shown_in_help():
    assert "env var: CELEBA_WORKSPACE" in runner.invoke(app, ["stats", "-h"]).output
    label_help = " ".join(runner.invoke(app, ["label", "-h"]).output.split())
    assert "env var: CELEBA_ANNOTATOR" in label_help


@pytest.fixture
def two_workspaces(tmp_path, image_folder):
    """Two workspaces over the same images: `first` has one labelled image, `second` none."""
    import pandas as pd

    from celeba_tui.workspace import create_workspace

    made = []
    for name in ("first", "second"):
        ws = create_workspace(tmp_path / name, image_folder)
        ws.open_store(create=True).close()
        made.append(ws)
    with made[0].open_store() as store:
        store.add_labels(
            pd.DataFrame(
                [("000001.jpg", "light", "alice", "left", "human")],
                columns=["image", "task", "annotator", "label", "source"],
            )
        )
    return made


def annotator_names(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [row["name"] for row in json.loads(result.output)]


def test_workspace_before_the_subcommand(two_workspaces, monkeypatch):
    first, second = two_workspaces
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    assert annotator_names(runner.invoke(app, ["-w", str(first.path), "annotators", "--json"])) == ["alice"]
    assert annotator_names(runner.invoke(app, ["-w", str(first.path), "annotators", "list", "--json"])) == ["alice"]
    # The command's own -w wins over the group's.
    both = runner.invoke(app, ["-w", str(first.path), "annotators", "list", "--json", "-w", str(second.path)])
    assert annotator_names(both) == []


def test_workspace_from_the_environment_yields_to_an_explicit_one(two_workspaces, monkeypatch, tmp_path):
    first, second = two_workspaces
    monkeypatch.setenv("CELEBA_WORKSPACE", str(second.path))
    monkeypatch.chdir(tmp_path)
    assert annotator_names(runner.invoke(app, ["annotators", "--json"])) == []
    assert annotator_names(runner.invoke(app, ["-w", str(first.path), "annotators", "list", "--json"])) == ["alice"]
    assert annotator_names(runner.invoke(app, ["annotators", "list", "--json", "-w", str(first.path)])) == ["alice"]
    # An empty variable means unset, as before: the folder search takes over.
    monkeypatch.setenv("CELEBA_WORKSPACE", "")
    monkeypatch.chdir(first.path)
    assert annotator_names(runner.invoke(app, ["annotators", "--json"])) == ["alice"]


def test_json_errors_are_json(tmp_path, monkeypatch):
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    for args in (["stats", "--json"], ["merge", "--json", "--policy", "majority"], ["annotators", "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "no celeba workspace" in json.loads(result.stderr)["error"]
        assert result.stdout == ""
    usage = runner.invoke(app, ["merge", "--json", "--no-such-option"])
    assert usage.exit_code == 2
    assert json.loads(usage.stderr) == {"error": "No such option: --no-such-option"}
    plain = runner.invoke(app, ["stats"])
    assert plain.exit_code == 2 and plain.stderr.startswith("error: no celeba workspace")
    # `--json` after `--` is an argument, not a request for JSON.
    after_dashes = runner.invoke(app, ["stats", "--", "--json"])
    assert after_dashes.exit_code == 2 and not after_dashes.stderr.startswith("{")


def test_help_lists_every_command_in_the_order_of_the_work():
    from celeba_tui.cli.app import COMMAND_ORDER

    result = CliRunner().invoke(app, ["--help"])
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == list(COMMAND_ORDER)  # a new command gets its place in COMMAND_ORDER


def path_parameters():
    """(command path, what to type, the name the error gives) for every path option and
    argument, and every option naming an annotator, model, image or preprocessing."""
    from celeba_tui.cli.command_line import CommandShape
    from celeba_tui.cli.empty_values import NAME_OPTIONS

    cases = []
    for path, command in command_tree():
        shape = CommandShape.of(command)
        for option in sorted(shape.path_options):
            cases.append((path, [option, ""], option))
        for option in sorted(shape.value_options & NAME_OPTIONS):
            cases.append((path, [option, " "], option))  # blank is as empty as ""
        for position, (name, is_path) in enumerate(shape.arguments):
            if is_path:
                cases.append((path, ["x"] * position + [""], name))
    return cases


@pytest.mark.parametrize(("path", "typed", "named"), path_parameters(), ids=lambda v: " ".join(v) or "''")
def test_an_empty_path_or_name_is_refused_by_name_before_anything_runs(path, typed, named, tmp_path, monkeypatch):
    # `-o "$OUT"` with OUT unset must not become "." (the current folder, maybe a workspace),
    # nor `-a "$ME"` the OS user's name.
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*path, *typed])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {named}: an empty value (an unset shell variable?); give a name\n"
    assert list(tmp_path.iterdir()) == []


def test_empty_values_that_are_not_paths_or_follow_dashes_are_left_to_the_command():
    from celeba_tui.cli.empty_values import empty_value_option

    group = typer.main.get_command(app)
    assert empty_value_option(group, ["export", "-t", "", "-o", "x.csv"]) is None  # a task: "unknown task ''"
    assert empty_value_option(group, ["label", "-a", ""]) == "-a"
    assert empty_value_option(group, ["label", "--annotator=  "]) == "--annotator"
    assert empty_value_option(group, ["export", "-o", " "]) is None  # a file named " " is a name
    assert empty_value_option(group, ["export", "--out=x.csv"]) is None
    assert empty_value_option(group, ["export", "--out="]) == "--out"
    assert empty_value_option(group, ["--workspace", "", "stats"]) == "--workspace"
    assert empty_value_option(group, ["import", "a.csv", "b.csv", ""]) == "FILE"  # any of many
    assert empty_value_option(group, ["init", "--", ""]) == "DIR"
    assert empty_value_option(group, ["export-onnx", ""]) is None  # a run's name: the command says
    assert empty_value_option(group, ["annotators", "rename", "", "b"]) is None
    # One reading of the line for every check (cli/command_line.py): a group's `--` is
    # followed by its command and that command's options; a value missing at the end of
    # the line is click's to report, not an empty one.
    assert empty_value_option(group, ["--", "init", ""]) == "DIR"
    assert empty_value_option(group, ["export", "-o"]) is None


def test_the_command_line_is_read_once_as_click_reads_it():
    from celeba_tui.cli.app import asks_for_json
    from celeba_tui.cli.command_line import read_command_line

    group = typer.main.get_command(app)
    given = [(g.path, g.option, g.value, g.position) for g in read_command_line(group, [
        "-w", "ws", "annotators", "withdraw", "-yt", "light", "ann", "--", "-x",
    ])]  # fmt: skip
    assert given == [
        ("celeba", "-w", "ws", -1),
        ("celeba annotators withdraw", "-y", None, -1),
        ("celeba annotators withdraw", "-t", "light", -1),
        ("celeba annotators withdraw", None, "ann", 0),
        ("celeba annotators withdraw", None, "-x", 1),  # after the command's `--`: an argument
    ]
    assert list(read_command_line(group, ["nosuch", "-o", ""])) == []  # click names the command
    assert asks_for_json(group, ["export", "--json", "-o", "x"])
    assert not asks_for_json(group, ["export", "-o", "--json"])  # a file called --json
    assert not asks_for_json(group, ["init", "--", "--json"])


def test_an_empty_path_with_json_is_a_json_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["export", "--json", "-o", ""])
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"].startswith("-o: an empty value")


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_names_arguments_as_words_not_types_or_braces(path, command):
    # Typer 0.29 wrote `Usage: celeba init [OPTIONS] {DIR}` and `DIR <path>`, `FILE <list[Path]>`.
    text = runner.invoke(app, [*path, "--help"]).output
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: celeba") and "{" not in usage, usage
    assert not re.search(r"<(path|str|int|float|bool|list\[\w+\])>", text, re.IGNORECASE), text


# Commands that do one task's work (train a model, export one run, withdraw one annotator's
# labels of a task, or restore them) take one -t; every command that reads or reports takes several.
ONE_TASK = {"export-onnx", "train", "cycle", "annotators withdraw", "annotators restore", "rename-class"}


def test_commands_that_read_take_several_tasks():
    single = {
        " ".join(path) for path, command in COMMANDS for p in command.params if "--task" in p.opts and not p.multiple
    }
    assert single == ONE_TASK


def test_an_option_that_takes_one_value_given_twice_is_refused_by_name(tmp_path, monkeypatch):
    # Found by the CLI review of 2026-12-07: click keeps the last value without a word, so
    # `train -p cnn4 -p small_resnet` trained small_resnet alone.
    monkeypatch.chdir(tmp_path)
    for args, named in (
        (
            ["train", "-p", "cnn4", "-p", "small_resnet", "-t", "light"],
            "--plugin/-p given 2 times ('cnn4', 'small_resnet')",
        ),
        (["export-onnx", "latest", "-t", "light", "--task=orientation"], "--task/-t given 2 times"),
        (["train", "-pcnn4", "--plugin", "cnn4"], "--plugin/-p given 2 times ('cnn4', 'cnn4')"),
        (
            ["-w", "a", "annotators", "withdraw", "bob", "-t", "light", "-t", "light"],
            "celeba annotators withdraw takes one",
        ),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        assert result.stderr.startswith("error: ") and named in result.stderr, result.stderr
    # Attack pass 24: a value inside a cluster of short flags (`-yt light` is -y, -t light),
    # and a `--` before the command (click still reads the command's options after it).
    for args, named in (
        (["annotators", "withdraw", "bob", "-yt", "light", "-t", "orientation"], "--task/-t given 2 times"),
        (["import", "-ya", "X", "-a", "Y"], "('X', 'Y')"),
        (["--", "export", "-o", "e1.csv", "-o", "e2.csv"], "--out/-o given 2 times"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and named in result.stderr, result.output
    # Help asked for, or no such command: click's answer, not this one.
    assert runner.invoke(app, ["train", "-p", "a", "-p", "b", "-h"]).output.startswith("Usage: celeba train")
    assert "No such command 'stat'" in runner.invoke(app, ["stat", "-w", "a", "-w", "a"]).stderr
    as_json = runner.invoke(app, ["train", "--json", "--epochs", "1", "--epochs", "2"])
    assert json.loads(as_json.stderr)["error"].startswith("--epochs given 2 times")
    # Options that collect values, flags and what follows `--` are left alone.
    for args in (["cycle", "-p", "cnn4", "-p", "small_resnet"], ["stats", "-t", "light", "-t", "orientation"]):
        assert "given 2 times" not in runner.invoke(app, args).output
    assert "given 2 times" not in runner.invoke(app, ["stats", "--json", "--json"]).output
    assert "given 2 times" not in runner.invoke(app, ["import", "--", "-a", "-a"]).output


def test_usage_errors_are_one_line_that_says_where_to_read_more(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args, line in (
        (["train", "--bogus"], "error: No such option: --bogus (see 'celeba train -h')"),
        (["synth", "--count", "3"], "error: Missing option '--out' / '-o' (see 'celeba synth -h')"),
        (["bogus"], "error: No such command 'bogus' (see 'celeba -h')"),
        (["--bogus"], "error: No such option: --bogus (see 'celeba -h')"),  # the group's own (attack pass 24)
        (["-w"], "error: Option '-w' requires an argument"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and result.stderr == line + "\n", result.stderr


def test_a_workspace_given_as_an_argument_is_told_how_to_give_it(workspace, tmp_path, monkeypatch):
    # helper-87: `celeba label WS` said only "Got unexpected extra argument(s) (WS)".
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["stats", str(workspace.path)])
    assert result.exit_code == 2 and result.stderr == (
        f"error: Got unexpected extra argument(s) ({workspace.path}); a workspace is given as -w {workspace.path} "
        "(see 'celeba stats -h')\n"
    )
    other = runner.invoke(app, ["stats", str(tmp_path)])  # a folder that is no workspace: no hint
    assert other.exit_code == 2 and "-w" not in other.stderr
    # helper-88/89: a path with a space, and the config file itself, as -w takes them.
    spaced = workspace.path.rename(tmp_path / "my ws")
    for given in (str(spaced), str(spaced / "celeba.toml")):
        said = runner.invoke(app, ["stats", given]).stderr
        assert f"a workspace is given as -w '{given}'" in said, said


def test_help_is_also_a_command():
    assert runner.invoke(app, ["help", "label"]).output == runner.invoke(app, ["label", "-h"]).output
    withdraw = runner.invoke(app, ["help", "annotators", "withdraw"])
    assert withdraw.output == runner.invoke(app, ["annotators", "withdraw", "-h"]).output
    assert runner.invoke(app, ["help"]).output == runner.invoke(app, ["-h"]).output
    unknown = runner.invoke(app, ["help", "lable"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: No such command 'lable'. Did you mean 'label'")
    assert "help" not in [line.split()[0] for line in runner.invoke(app, ["-h"]).output.splitlines() if line.strip()]


def test_a_workspace_that_is_not_one_says_why_and_where_it_was_named(two_workspaces, monkeypatch, tmp_path):
    first, _ = two_workspaces
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    missing = runner.invoke(app, ["-w", "nope", "stats"])
    assert missing.exit_code == 2 and missing.stderr == "error: nope: no such folder\n"
    monkeypatch.setenv("CELEBA_WORKSPACE", "nope")
    from_env = runner.invoke(app, ["stats"])
    assert from_env.stderr == "error: nope (from $CELEBA_WORKSPACE): no such folder\n"
    monkeypatch.delenv("CELEBA_WORKSPACE")
    (tmp_path / "notes.txt").write_text("x")
    assert "not a folder" in runner.invoke(app, ["-w", "notes.txt", "stats"]).stderr
    # `celeba annotators -w WS` wins over the variable, as `celeba -w WS annotators` does (attack
    # pass 24: the variable's workspace was the one withdrawn from).
    monkeypatch.setenv("CELEBA_WORKSPACE", "notes.txt")
    assert annotator_names(runner.invoke(app, ["annotators", "-w", str(first.path), "list", "--json"])) == ["alice"]
    monkeypatch.delenv("CELEBA_WORKSPACE")
    # The config file itself names its workspace (was "ws/celeba.toml/celeba.toml: ...").
    assert annotator_names(runner.invoke(app, ["annotators", "--json", "-w", str(first.config_path)])) == ["alice"]


def test_ctrl_c_while_the_commands_load_exits_130_without_a_traceback():
    # Found by attack pass 17: Ctrl-C in the first second of any command printed a
    # KeyboardInterrupt traceback from deep inside an import.
    import subprocess
    import sys

    interrupted = (
        "import builtins\n"
        "real_import = builtins.__import__\n"
        "def import_(name, *args, **kwargs):\n"
        "    if name == 'celeba_tui.cli.app' or name.endswith('workspace_commands'):\n"
        "        raise KeyboardInterrupt  # as Ctrl-C lands in the middle of the imports\n"
        "    return real_import(name, *args, **kwargs)\n"
        "builtins.__import__ = import_\n"
        "from celeba_tui.cli import main\n"
    )
    done = subprocess.run([sys.executable, "-c", interrupted], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (130, "")
    # Found by attack pass 18: just after the imports, while typer builds the commands.
    building = (
        "import typer.main\n"
        "def get_command(app):\n"
        "    raise KeyboardInterrupt\n"
        "typer.main.get_command = get_command\n"
        "from celeba_tui.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", building], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (130, "")


@pytest.mark.parametrize("group", [[], ["annotators"]], ids=["celeba", "celeba annotators"])
def test_command_lists_show_whole_summaries(group):
    # Found by the walkthrough of 2026-12-06: `celeba --help` cut every summary mid-phrase
    # ("Import labels: all files or none, and a bad line names...").
    listing = runner.invoke(app, [*group, "--help"]).output.split("Commands:")[1]
    assert "..." not in listing, listing


def test_strict_json_writes_no_number_json_has_not():
    import json

    from celeba_tui.json_text import strict_json

    text = strict_json({"a": float("nan"), "b": [float("inf"), 1.5, (2.0, float("-inf"))], "c": "NaN"})
    assert json.loads(text) == {"a": None, "b": [None, 1.5, [2.0, None]], "c": "NaN"}
    assert strict_json({"a": [1.5, "x"]}) == '{"a": [1.5, "x"]}'  # nothing to replace: as json writes it


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_json_is_indented_for_a_person_and_compact_for_a_pipe(monkeypatch, capsys, terminal):
    import json
    import sys

    from celeba_tui.cli.app import print_json

    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    print_json({"rows": [{"image": "1.jpg", "confidence": float("nan")}]})
    text = capsys.readouterr().out
    assert json.loads(text) == {"rows": [{"image": "1.jpg", "confidence": None}]}
    assert ("\n  " in text) is terminal and text.count("\n") == (8 if terminal else 1)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["stats"], ["stats", "--json"]], ids=["text", "json"])
def test_output_that_cannot_be_written_is_one_line_not_a_traceback(workspace, args):
    # Attack pass 31: `celeba stats --json > /dev/full` (a full disk) printed a traceback, exit 1.
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "celeba_tui", *args, "-w", str(workspace.path)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(repo)},
        )
    assert done.returncode == 2, done.stderr
    expected = "cannot write the output: No space left on device"
    assert done.stderr.strip() == (f'{{"error": "{expected}"}}' if "--json" in args else f"error: {expected}")


def test_a_hint_worded_in_another_thread_carries_the_options_typed(tmp_path):
    # Found by attack pass 31: the TUI words its queue's-end hint in a worker thread, where
    # click's context (thread-local) is missing: its commands came without -w/-a.
    import threading

    from celeba_tui.cli.app import invoked_phrasing

    group = typer.main.get_command(app)
    root = group.make_context("celeba", ["label"], resilient_parsing=True)
    label = group.get_command(root, "label")
    ctx = label.make_context("label", ["-w", str(tmp_path / "my ws"), "-a", "bob", "--queue", "review"], parent=root)
    with ctx:
        phrase = invoked_phrasing(queue="review")
    worded = {}
    thread = threading.Thread(target=lambda: worded.update(hint=phrase("celeba label --queue review")))
    thread.start()
    thread.join()
    assert worded["hint"] == f"celeba label --queue review -w '{tmp_path / 'my ws'}' -a bob"
    assert phrase("celeba stats") == f"celeba stats -w '{tmp_path / 'my ws'}'"


@pytest.mark.parametrize(
    ("args", "meant"),
    [
        (["export", "--format", "csv"], "did you mean 'long'?"),
        (["export", "--format", "JSON"], "did you mean 'jsonl'?"),
        (["stats", "-t", "Lihgt"], "did you mean 'light'?"),
        (["merge", "-p", "majorty"], "did you mean 'majority'?"),
        (["import", "--format", "oneht", "x.csv"], "did you mean 'onehot'?"),
    ],
)
def test_a_mistyped_task_policy_or_format_gets_its_likely_meaning(workspace, args, meant):
    # The walkthrough of 2026-12-07: did-you-mean for commands, queues and names, not these.
    result = CliRunner().invoke(app, [*args, "-w", str(workspace.path)])
    assert result.exit_code == 2 and meant in result.output and len(result.output.strip().splitlines()) == 1
