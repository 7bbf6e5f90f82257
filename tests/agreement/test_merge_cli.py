"""`celeba agreement` and `celeba merge` through the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.workspace import create_workspace

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    ws = create_workspace(tmp_path / "ws", root)
    ws.open_store(create=True).close()
    return ws


def add(ws, rows: list[tuple[str, str, str, str]]) -> None:
    """[(image, task, annotator, label)] as human labels."""
    frame = pd.DataFrame(rows, columns=["image", "task", "annotator", "label"]).assign(source="human")
    with ws.open_store() as store:
        store.add_labels(frame)


def invoke(ws, *args: str):
    return runner.invoke(app, [*args, "--workspace", str(ws.path)])


TWO = [
    ("1.jpg", "light", "alice", "left"),
    ("1.jpg", "light", "bob", "left"),
    ("2.jpg", "light", "alice", "center"),
    ("2.jpg", "light", "bob", "right"),
    ("3.jpg", "light", "alice", "right"),
    ("3.jpg", "light", "bob", "right"),
    ("4.jpg", "light", "alice", "center"),
    ("1.jpg", "orientation", "alice", "left"),
    ("1.jpg", "orientation", "bob", "left"),
]


def test_agreement_prints_table_one_and_profiles(workspace):
    add(workspace, TWO)
    result = invoke(workspace, "agreement", "--task", "light")
    assert result.exit_code == 0, result.output
    assert "overlap" in result.output and "mismatch" in result.output and "w.kappa" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("alice"))
    assert row.split()[:9] == ["alice", "bob", "4", "3", "3", "1", "4", "66.7%", "0.50"]
    assert "annotator profiles" in result.output
    assert "orientation" not in result.output


def test_agreement_json(workspace):
    add(workspace, TWO)
    result = invoke(workspace, "agreement", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    light, orientation = data["tasks"]
    (pair,) = light["pairs"]
    assert (pair["count_a"], pair["count_b"], pair["overlapping"], pair["mismatched"], pair["total"]) == (4, 3, 3, 1, 4)
    assert pair["confusion"] == [[1, 0, 0], [0, 0, 1], [0, 0, 1]]
    assert {p["annotator"] for p in light["profiles"]} == {"alice", "bob"}
    # orientation: one shared image, both said left: kappa undefined, stated as such.
    assert orientation["pairs"][0]["kappa"] is None and "undefined" in orientation["pairs"][0]["note"]


def test_agreement_plot_writes_pngs(workspace, tmp_path):
    add(workspace, TWO)
    result = invoke(workspace, "agreement", "--plot", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert files == ["confusion-light-alice-vs-bob.png", "confusion-orientation-alice-vs-bob.png"]
    assert (tmp_path / "plots" / files[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_agreement_plot_never_follows_a_link_planted_in_its_folder(workspace, tmp_path):
    add(workspace, TWO)
    plots, victim = tmp_path / "plots", tmp_path / "victim.txt"
    plots.mkdir()
    victim.write_text("keep me")
    (plots / "confusion-orientation-alice-vs-bob.png").symlink_to(victim)
    result = invoke(workspace, "agreement", "--plot", str(plots))
    assert result.exit_code == 2 and "is not a regular file" in result.output, result.output
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in plots.iterdir()) == ["confusion-orientation-alice-vs-bob.png"]  # none written


def test_agreement_plot_file_names_stay_short_whatever_the_annotators_are_called(workspace, tmp_path):
    long_a, long_b = "a" * 99 + "1", "a" * 99 + "2"  # the same first 99 characters (names hold at most 100)
    add(workspace, [(f"{i}.jpg", "light", who, "left") for i in (1, 2) for who in (long_a, long_b, "bob")])
    result = invoke(workspace, "agreement", "--plot", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert len(files) == 3 and len(set(files)) == 3  # three pairs, three files
    assert all(len(name.encode()) <= 200 for name in files), files


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "light: nothing to compare (no labels)"),
        ([("1.jpg", "light", "alice", "left")], "only one annotator (alice)"),
        (
            [("1.jpg", "light", "alice", "left"), ("2.jpg", "light", "bob", "left")],
            "no image was labelled by two annotators); `celeba label --assign I/N --overlap 0.2`",
        ),
    ],
)
def test_nothing_to_compare_exits_zero_with_a_message(workspace, rows, message):
    add(workspace, rows)
    result = invoke(workspace, "agreement")
    assert result.exit_code == 0, result.output
    assert message in " ".join(result.output.split())  # however the terminal wraps it
    merged = invoke(workspace, "merge", "--policy", "majority")
    assert merged.exit_code == 0, merged.output
    assert "Nothing to merge" in merged.output


def test_merge_writes_once_and_reports(workspace):
    add(workspace, TWO)
    result = invoke(workspace, "merge", "--policy", "prefer:bob")
    assert result.exit_code == 0, result.output
    assert "Wrote 1 merge decision as merge:prefer:bob" in result.output
    again = invoke(workspace, "merge", "--policy", "prefer:bob", "--json")
    data = json.loads(again.output)
    assert (data["written"], data["withdrawn"], data["unchanged"]) == (0, 0, 1)
    light = data["tasks"][0]
    assert (light["compared"], light["agreed"], light["resolved"], light["open"]) == (3, 2, 1, 0)


def test_merge_review_points_to_the_review_queue_and_dry_run_writes_nothing(workspace):
    add(workspace, TWO)
    result = invoke(workspace, "merge", "--dry-run")
    assert result.exit_code == 0, result.output
    # What to run next, on stderr with the workspace typed (the CLI review of 2026-12-07: it
    # was on stdout, without -w, so it did not run from where merge was run).
    hint = f"Next: celeba label --queue review -w {workspace.path}   (1 conflict would wait for a person)"
    assert hint in result.stderr and "Next:" not in result.stdout, result.stderr
    assert "dry run" in result.output
    # The review policy writes nothing of its own: said so, not "wrote 0" (walkthrough of 2026-12-07).
    assert "Nothing to write: agreed labels stand and conflicts wait for a person." in " ".join(result.stdout.split())
    dry = json.loads(invoke(workspace, "merge", "--policy", "prefer:alice", "--dry-run", "--json").output)
    assert dry["dry_run"] and dry["written"] == 1
    with workspace.open_store() as store:
        assert store.live_labels(sources=["review"]).empty


def test_merge_dawid_skene_shows_estimated_accuracy(workspace):
    add(workspace, TWO)
    result = invoke(workspace, "merge", "--policy", "dawid-skene")
    assert result.exit_code == 0, result.output
    assert "Dawid-Skene" in result.output
    lines = result.output.splitlines()
    rows = lines[lines.index(next(line for line in lines if "light: Dawid-Skene" in line)) :]
    assert [line.split()[0] for line in rows if line.startswith(("alice", "bob"))][:2] == ["alice", "bob"]
    # Three shared images cannot show how either annotator errs: the merge says so.
    assert "too little overlap" in result.output and "alice 3, bob 3" in result.output
    # Orientation has no conflict for the estimates to decide: no warning (helper-77).
    assert "orientation: dawid-skene" not in result.output


def test_merge_json_uses_the_tables_headings(workspace):
    add(workspace, TWO)
    table = invoke(workspace, "merge", "--policy", "majority", "--dry-run")
    headings = next(line for line in table.output.splitlines() if line.startswith("task")).split()
    data = json.loads(invoke(workspace, "merge", "--policy", "majority", "--dry-run", "--json").output)
    assert list(data["tasks"][0]) == headings
    assert data["tasks"][0]["open"] == 1
    assert "a tie majority cannot break" in data["notes"][0]


def test_majority_with_two_annotators_says_why_it_decided_nothing(workspace):
    add(workspace, TWO)
    result = invoke(workspace, "merge", "--policy", "majority")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "majority left 1 conflict open: each is two annotators disagreeing" in text
    assert "A third annotator's label, --policy prefer:NAME" in text


def test_merge_errors_exit_non_zero(workspace):
    add(workspace, TWO)
    unknown = invoke(workspace, "merge", "--policy", "prefer:carol")
    assert unknown.exit_code == 2
    assert "no annotator named 'carol'; the annotators are 'alice', 'bob'" in unknown.output
    assert invoke(workspace, "merge", "--policy", "vote").exit_code == 2
    bad_task = invoke(workspace, "agreement", "--task", "mood")
    assert bad_task.exit_code == 2 and "unknown task 'mood'" in bad_task.output


def test_tables_fit_80_columns_without_cutting_a_number_or_a_name(monkeypatch, capsys):
    """A CelebA-sized study (six-digit counts) with long annotator names, printed at 80 columns."""
    from celeba_tui.agreement.apply_merge import MergeRun
    from celeba_tui.agreement.measures import PairAgreement, TaskAgreement
    from celeba_tui.agreement.merge_policies import MergePolicy, MergeResult, TaskMergeSummary
    from celeba_tui.agreement.profiles import AnnotatorProfile
    from celeba_tui.cli.merge_view import print_agreement, print_merge

    monkeypatch.setenv("COLUMNS", "80")
    names = ["annotator-number-one", "annotator-number-two"]
    pair = PairAgreement(
        "orientation", *names, 202_599, 198_765, 194_321, 12_345, 207_043, 93.6, 0.87, 0.91, [[1] * 3] * 3
    )
    task = TaskAgreement("orientation", ["left", "center", "right"], names, 202_599, [pair], 0.9, 0.88, ordered=True)
    profiles = [
        AnnotatorProfile(
            "orientation",
            name,
            202_599,
            {"left": 40_000, "center": 140_000, "right": 22_599},
            "center",
            194_321,
            0.69,
            0.71,
            194_321,
            0.936,
            1_234,
            0.987,
        )
        for name in names
    ]
    print_agreement([task], profiles, [])
    summary = [TaskMergeSummary(t, 202_599, 8_278, 194_321, 181_976, 12_345, 0, 0) for t in ("light", "orientation")]
    estimate = {
        "classes": ["left", "center", "right"],
        "annotators": {n: [[0.9] * 3] * 3 for n in names},
        "support": {n: [50_000.0] * 3 for n in names},
    }
    result = MergeResult(MergePolicy("dawid-skene"), pd.DataFrame(), pd.DataFrame(), summary, {"light": estimate})
    print_merge(MergeRun(result, 12_345, 0, 0, dry_run=False))
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out  # rich's ellipsis: nothing cut
    for number in ("202,599", "198,765", "194,321", "12,345", "207,043", "93.6%", "0.87", "0.91", "181,976", "8,278"):
        assert number in out
    # Names fold across lines where a table is tight (never cut); where there is room they are whole.
    for name in names:
        assert name in out


def test_agreement_proposes_a_merge_only_while_conflicts_are_open(workspace):
    # Found by the UX review: after every conflict was settled it still said "celeba merge".
    add(workspace, TWO)
    hint = "Next: celeba label --queue review -w"
    assert hint in invoke(workspace, "agreement").output
    assert (
        "1 conflict waits for a person; or `celeba merge --policy dawid-skene` settles them"
        in invoke(workspace, "agreement").output
    )
    assert invoke(workspace, "merge", "--policy", "prefer:alice").exit_code == 0
    output = invoke(workspace, "agreement", "-t", "light").output
    assert (
        "celeba merge" not in output and hint not in output and "Next: celeba cycle -t light -p small_resnet" in output
    )


def test_agreement_plot_draws_names_with_dollars_as_they_are(workspace, tmp_path):
    # Found by attack pass 13: matplotlib read "$...$" as a formula: a traceback on this name.
    odd = "a$\\x{$"
    add(workspace, [(f"{i}.jpg", "light", who, "left") for i in (1, 2) for who in (odd, "bob")])
    result = invoke(workspace, "agreement", "--plot", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "plots").iterdir())) == 1


def test_a_narrow_terminal_wraps_headings_between_words(monkeypatch, capsys):
    # Found by the walkthrough of 2026-12-06: at 60 columns the profile table broke words
    # ("annotato" / "r", "consensu" / "s") and the confusion table's title wrapped.
    from celeba_tui.agreement.measures import PairAgreement, TaskAgreement
    from celeba_tui.agreement.profiles import AnnotatorProfile
    from celeba_tui.cli.merge_view import print_agreement

    monkeypatch.setenv("COLUMNS", "60")
    pair = PairAgreement(
        "light", "ann1", "ann2", 36, 36, 12, 6, 60, 50.0, 0.29, 0.49, [[3, 2, 0], [1, 0, 0], [0, 3, 3]]
    )
    task = TaskAgreement("light", ["left", "center", "right"], ["ann1", "ann2"], 60, [pair], 0.29, 0.49, ordered=True)
    profiles = [
        AnnotatorProfile(
            "light", n, 36, {"left": 13, "center": 9, "right": 14}, "center", 12, 0.08, 0.42, 12, 0.5, 0, None
        )
        for n in ("ann1", "ann2")
    ]
    print_agreement([task], profiles, [])
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert any(line.startswith("annotator ") for line in lines) and any("consensus" in line for line in lines)
    assert "light: rows ann1, columns ann2" in [line.strip() for line in lines]


def test_at_40_columns_tables_turn_on_their_side_rather_than_break_names(workspace):
    # Found by the CLI review of 2026-12-07: at 40 columns merge's task column vanished and its
    # title and caption were cut ("Merge with policy review (dr"); agreement split names ("an" / "n1").
    add(workspace, TWO + [("3.jpg", "light", "alice", "left"), ("3.jpg", "light", "bob", "left")])
    runner40 = CliRunner(env={"COLUMNS": "40"})
    merged = runner40.invoke(app, ["merge", "--dry-run", "-w", str(workspace.path)])
    agreed = runner40.invoke(app, ["agreement", "-w", str(workspace.path)])
    for result, names in ((merged, {"light"}), (agreed, {"alice", "bob", "light:"})):
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert max(map(len, lines)) <= 40, result.stdout
        assert names <= {word for line in lines for word in line.split()}, result.stdout
    assert "Merge with policy review (dry run)" in merged.stdout
    assert "open: waits for review" in " ".join(merged.stdout.split())
    assert [line.split() for line in merged.stdout.splitlines() if line.startswith("light ")][-1] == [
        "light",
        "open",
        "1",
    ]


def test_a_task_named_twice_is_that_task_once(workspace):
    # Found by attack pass 21: "ValueError: Categorical categories must be unique".
    add(workspace, TWO)
    once = invoke(workspace, "agreement", "-t", "light", "--json")
    twice = invoke(workspace, "agreement", "-t", "light", "-t", "light", "--json")
    assert twice.exit_code == 0, twice.output
    assert json.loads(twice.stdout) == json.loads(once.stdout)
    merged = invoke(workspace, "merge", "--policy", "majority", "--dry-run", "-t", "light", "-t", "light")
    assert merged.exit_code == 0, merged.output


def test_agreement_tells_pairs_with_no_image_in_common_in_one_line(workspace):
    # The labelling walkthrough of 2026-12-07: six annotators gave fifteen rows, most n/a.
    add(workspace, [*TWO, ("9.jpg", "light", "carol", "left"), ("8.jpg", "light", "dave", "right")])
    out = " ".join(invoke(workspace, "agreement", "-t", "light").stdout.split())
    assert "5 pairs share no image (not in the table): alice / carol, alice / dave, bob / carol, ..." in out
    assert "alice bob 4 3 3 1 4" in out and "carol dave" not in out  # the one pair compared; not the others


def test_a_task_without_a_middle_class_has_no_strictness_column(workspace):
    # The walkthrough of 2026-12-07: a yes/no task's profiles had a "center vs others"
    # column of n/a only.
    config = workspace.config_path
    config.write_text(config.read_text() + '[[tasks]]\nname = "glasses"\nclasses = ["no", "yes"]\nquestion = "?"\n')
    add(
        workspace,
        [
            (f"{i}.jpg", "glasses", who, ["no", "yes"][(i + (who == "bob")) % 2])
            for i in range(6)
            for who in ("alice", "bob")
        ],
    )
    wide = {"COLUMNS": "200"}  # headings on one line each
    result = runner.invoke(app, ["agreement", "-t", "glasses", "-w", str(workspace.path)], env=wide)
    assert result.exit_code == 0, result.output
    assert "glasses: annotator profiles" in result.output and "vs others" not in result.output
    add(workspace, TWO)
    light = runner.invoke(app, ["agreement", "-t", "light", "-w", str(workspace.path)], env=wide)
    assert "center vs others" in light.output


def test_the_review_policy_says_whose_decisions_it_withdrew_and_the_queue_counts_no_merge_as_done(workspace):
    # helper-68: a plain `celeba merge` printed "Wrote 0 merge decision(s) as merge:review;
    # withdrew 97 earlier one(s)", and the review queue counted a merge's decisions as others' reviews.
    add(workspace, TWO)
    assert invoke(workspace, "merge", "--policy", "prefer:bob").exit_code == 0
    count = invoke(workspace, "label", "--count", "-q", "review", "-a", "carol")
    assert count.exit_code == 0 and "with others' answers" not in count.output, count.output
    # helper-87: a bare `celeba merge`, which the hints name, withdrew them without a word first.
    refused = invoke(workspace, "merge")
    assert refused.exit_code == 2 and refused.output.count("\n") == 1, refused.output
    assert (
        "error: 1 decision of merge:prefer:bob stands: a bare `celeba merge` would withdraw them (their "
        "conflicts back to people); `celeba merge --policy review` does so, `celeba merge --policy prefer:bob -t "
        "light` decides again"
    ) in refused.output
    narrowed = invoke(workspace, "merge", "-t", "light")  # helper-88: the review command keeps the -t typed
    assert "`celeba merge --policy review -t light` does so" in narrowed.stderr, narrowed.stderr
    dry = invoke(workspace, "merge", "--dry-run", "--json")  # says what the command would do: refuse
    assert dry.exit_code == 2 and "a bare `celeba merge` would withdraw them" in json.loads(dry.stderr)["error"]
    assert json.loads(invoke(workspace, "merge", "-p", "review", "--dry-run", "--json").stdout)["withdrawn_from"] == {
        "merge:prefer:bob": 1
    }
    result = invoke(workspace, "merge", "--policy", "review")
    assert result.exit_code == 0, result.output
    assert (
        "Withdrew 1 decision of merge:prefer:bob: their conflicts wait for a person again "
        "(celeba merge --policy prefer:bob -t light decides them again)."
    ) in " ".join(result.stdout.split())
    assert json.loads(invoke(workspace, "merge", "--policy", "prefer:bob", "--json").output)["withdrawn_from"] == {}
    data = json.loads(invoke(workspace, "merge", "--policy", "majority", "--json").output)
    assert data["withdrawn_from"] == {"merge:prefer:bob": 1}


def test_a_bare_merge_goes_on_where_a_person_settled_the_merged_image(workspace):
    # helper-89: the refusal counted a merge decision under a person's review, which the
    # review policy leaves alone: a bare merge that would withdraw nothing was refused.
    add(workspace, TWO)
    assert invoke(workspace, "merge", "--policy", "prefer:bob").exit_code == 0
    with workspace.open_store() as store:
        store.add_label("2.jpg", "light", "center", "carol", "review")
    result = invoke(workspace, "merge")
    assert result.exit_code == 0 and "Nothing to write" in result.stdout, result.output


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_min_confidence_is_a_probability(workspace, value):
    result = invoke(workspace, "merge", "--policy", "majority", "--min-confidence", value)
    assert result.exit_code == 2 and "--min-confidence must be between 0 and 1" in result.output


def test_the_command_that_decides_again_is_quoted_and_runs(workspace):
    # Attack pass 34: `prefer:$(id)` was printed as typed (pasted, it ran `id`), and after a
    # rename the printed `prefer:bob` named nobody.
    add(workspace, [(image, task, "$(id) x" if who == "bob" else who, label) for image, task, who, label in TWO])
    assert invoke(workspace, "merge", "--policy", "prefer:$(id) x").exit_code == 0
    said = " ".join(invoke(workspace, "merge", "--policy", "review").stdout.split())
    assert "(celeba merge --policy 'prefer:$(id) x' -t light decides them again)" in said, said
    assert invoke(workspace, "merge", "--policy", "prefer:$(id) x").exit_code == 0
    assert invoke(workspace, "annotators", "rename", "$(id) x", "bob").exit_code == 0
    said = " ".join(invoke(workspace, "merge", "--policy", "review").stdout.split())
    assert "their conflicts wait for a person again." in said and "decides them again" not in said, said


def test_min_confidence_needs_a_policy_that_decides(workspace):
    result = invoke(workspace, "merge", "--min-confidence", "0.9")
    assert result.exit_code == 2 and "--min-confidence needs a policy that decides" in result.output


def test_the_merge_that_decides_again_asks_the_min_confidence_it_was_made_under(workspace):
    # helper-71: after `--min-confidence 0.6`, the command said to decide again left it out, and
    # would have settled every conflict its threshold had left to people.
    three = [("5.jpg", "light", who, label) for who, label in (("alice", "left"), ("bob", "left"), ("carol", "right"))]
    add(workspace, TWO + three)
    assert invoke(workspace, "merge", "--policy", "majority", "--min-confidence", "0.6").exit_code == 0
    said = " ".join(invoke(workspace, "merge", "--policy", "review").stdout.split())
    assert "(celeba merge --policy majority -t light --min-confidence 0.6 decides them again)" in said, said
    # ... and so does the hint of a merge annotator's withdrawal.
    assert invoke(workspace, "merge", "--policy", "majority", "--min-confidence", "0.6").exit_code == 0
    withdrawn = invoke(workspace, "annotators", "withdraw", "merge:majority", "--yes", "-t", "light")
    assert "`celeba merge --policy majority -t light --min-confidence 0.6` decides them again" in withdrawn.stderr
