"""`celeba annotators` (list, withdraw, rename) and `celeba import --undo`: the way out of a bad import."""

import json
import time

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app


def run(*args, ok=True, input=None):
    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def one_error(result) -> str:
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text, text
    return text


@pytest.fixture
def labelled(tmp_path, workspace):
    """amy and bob label; bob changes his mind once (a superseded label) and labels a bad class import."""
    path = tmp_path / "l.csv"
    path.write_text(
        "image,task,label,annotator\n"
        "000001.jpg,light,left,amy\n000002.jpg,orientation,right,amy\n"
        "000001.jpg,light,right,bob\n000002.jpg,light,center,bob\n000003.jpg,orientation,left,bob\n"
    )
    run("import", path, "-w", workspace.path)
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "center", "bob", "import")  # supersedes his right
    return workspace


def live(workspace) -> dict[str, int]:
    with workspace.open_store() as store:
        return store.live_labels().groupby("annotator").size().to_dict()


def test_list_shows_live_labels_per_task_and_decision_times(labelled):
    rows = json.loads(run("annotators", "-w", labelled.path, "--json").stdout)
    assert [r["name"] for r in rows] == ["amy", "bob"]
    assert rows[1]["live"] == {"light": 2, "orientation": 1} and rows[1]["decisions"] == 4
    assert rows[0]["first"] <= rows[0]["last"] and rows[0]["first"].endswith("+00:00")
    assert json.loads(run("annotators", "list", "-w", labelled.path, "--json").stdout) == rows
    text = run("annotators", "-w", labelled.path).stdout
    assert text.splitlines()[0].split() == [
        "annotator",
        "light",
        "orientation",
        "decisions",
        "today",
        "s/label",
        "first",
        "last",
    ]
    assert text.splitlines()[2].split()[:6] == ["bob", "2", "1", "4", "0", "-"]  # imports: no work today, nor timed
    assert "Labelling now" not in text


def test_first_and_last_are_when_answers_were_given_where_a_file_says(labelled, tmp_path):
    # Found by the interop walkthrough (helper-45): a file's answers of 2020 showed as given today.
    path = tmp_path / "carol.csv"
    path.write_text(
        "image,task,label,annotator,time\n000001.jpg,light,left,carol,2020-01-02T03:04:05Z\n"
        "000002.jpg,light,left,carol,2021-06-01T00:00:00Z\n"
    )
    run("import", path, "-w", labelled.path)
    rows = {r["name"]: r for r in json.loads(run("annotators", "-w", labelled.path, "--json").stdout)}
    assert (rows["carol"]["first"], rows["carol"]["last"]) == ("2020-01-02T03:04:05+00:00", "2021-06-01T00:00:00+00:00")
    assert rows["amy"]["first"] > "2026"  # no time in amy's file: when it was imported


def test_list_says_who_is_labelling_now_newcomers_included(labelled):
    from celeba_tui.labelling.session_lock import annotator_session

    with annotator_session(labelled.path, "bob") as bob, annotator_session(labelled.path, "[red]cy\x1b[2J") as cy:
        cy.announce("000004.jpg")
        bob.declare_share({"queue": "review", "index": 2, "count": 3, "overlap": 0.0})
        rows = json.loads(run("annotators", "-w", labelled.path, "--json").stdout)
        text = run("annotators", "-w", labelled.path).stdout
    assert [(r["name"], r["labelling_since"] is not None) for r in rows] == [
        ("amy", False),
        ("bob", True),
        ("[red]cy\x1b[2J", True),
    ]
    assert rows[2]["live"] == {"light": 0, "orientation": 0} and rows[2]["decisions"] == 0
    assert (rows[1]["labelling_image"], rows[2]["labelling_image"]) == (None, "000004.jpg")
    # Which queue and share each works (the team-day walkthrough: a lead could not tell).
    assert rows[1]["labelling_share"] == {"queue": "review", "index": 2, "count": 3, "overlap": 0.0}
    assert rows[2]["labelling_share"] is None
    lines = text.splitlines()
    now = lines[lines.index("Labelling now:") + 1 :]
    assert now[0].startswith("  bob ") and now[0].endswith(", review 2/3") and " since " in now[0]
    assert now[1].startswith("  [red]cy\\x1b[2J  since ") and now[1].endswith(" on 000004.jpg")
    assert lines[3].startswith("[red]cy\\x1b[2J ") and "\x1b" not in text  # shown escaped, as it is
    after = json.loads(run("annotators", "-w", labelled.path, "--json").stdout)
    assert [r["name"] for r in after] == ["amy", "bob"] and after[1]["labelling_since"] is None


def test_withdraw_appends_undo_rows_and_keeps_the_history(labelled):
    with labelled.open_store() as store:
        history_before = len(store.history())
    result = run("annotators", "withdraw", "bob", "--yes", "-w", labelled.path)
    assert "withdrew 3 live labels of bob (history kept)" in result.stdout
    assert live(labelled) == {"amy": 2}  # the superseded label did not come back
    with labelled.open_store() as store:
        history = store.history()
        current = store.current_labels()
    assert len(history) == history_before + 4 and history["label"].isna().sum() == 4
    assert set(current["image"]) == {"000001.jpg", "000002.jpg"}
    assert run("annotators", "withdraw", "bob", "--yes", "-w", labelled.path).stdout.startswith("withdrew 0 ")


def test_withdraw_one_task_and_the_import_undo_alias(labelled):
    run("annotators", "-w", labelled.path, "withdraw", "bob", "--task", "orientation", "--yes")
    assert live(labelled) == {"amy": 2, "bob": 2}
    # Attack pass 41: `-a amy --undo bob` withdrew bob's and then named amy in its hint.
    for extra in (["--annotator", "amy"], ["--strip-prefix", "/data/"], ["--format", "long"]):
        error = one_error(run("import", "--undo", "bob", "--yes", *extra, "-w", labelled.path, ok=False))
        assert f"--undo ANNOTATOR withdraws labels, reading no file: leave out {extra[0]}" in error
    assert live(labelled) == {"amy": 2, "bob": 2}
    result = run("import", "--undo", "bob", "--yes", "-w", labelled.path)
    assert "withdrew 2 live labels of bob" in result.stdout
    assert live(labelled) == {"amy": 2}


def test_withdraw_asks_first(labelled):
    result = run("annotators", "withdraw", "amy", "-w", labelled.path, ok=False, input="n\n")
    # Asked on stderr, as its answer: stdout is the command's output (found by the CLI review
    # of 2026-12-07: `withdraw --json` wrote the question, then a space, into the JSON).
    assert result.exit_code == 1 and "Withdraw 2 live labels of amy?" in result.stderr
    assert "nothing withdrawn" in result.stderr and result.stdout == ""
    assert live(labelled)["amy"] == 2
    result = run("annotators", "withdraw", "amy", "--json", "-w", labelled.path, ok=False, input="n\n")
    assert result.exit_code == 1 and result.stdout == ""
    result = run("annotators", "withdraw", "amy", "-w", labelled.path, ok=False, input="")  # stdin closed
    assert result.exit_code == 2 and "pass --yes" in result.stderr and "Aborted" not in result.output
    assert live(labelled)["amy"] == 2
    # No stdin at all (`<&-`: Python's sys.stdin is None) is no answer too (attack pass 24: a traceback).
    import os
    import subprocess
    import sys

    closed = subprocess.run(
        [sys.executable, "-m", "celeba_tui", "annotators", "withdraw", "amy", "-w", str(labelled.path)],
        preexec_fn=lambda: os.close(0),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert closed.returncode == 2 and "pass --yes" in closed.stderr and "Traceback" not in closed.stderr
    assert live(labelled)["amy"] == 2
    run("annotators", "withdraw", "amy", "-w", labelled.path, input="y\n")
    assert "amy" not in live(labelled)


def test_withdraw_refuses_what_does_not_exist(labelled):
    assert "no annotator named 'zed'" in one_error(
        run("annotators", "withdraw", "zed", "--yes", "-w", labelled.path, ok=False)
    )
    # A typo gets the name it was likely meant for; `remove` is `withdraw` (click proposed `rename`).
    assert "did you mean 'amy'?" in one_error(run("annotators", "withdraw", "amyy", "-w", labelled.path, ok=False))
    assert "did you mean 'amy'?" in one_error(run("import", "--undo", "aamy", "-w", labelled.path, ok=False))
    assert "did you mean 'amy'?" in one_error(run("annotators", "rename", "amyy", "zoe", "-w", labelled.path, ok=False))
    assert "Did you mean 'withdraw'" in one_error(run("annotators", "remove", "amy", "-w", labelled.path, ok=False))
    assert "unknown task 'mood'" in one_error(
        run("annotators", "withdraw", "bob", "--task", "mood", "--yes", "-w", labelled.path, ok=False)
    )
    assert "without label files" in one_error(run("import", "x.csv", "--undo", "bob", "-w", labelled.path, ok=False))


def test_rename_changes_the_name_not_the_decisions(labelled):
    with labelled.open_store() as store:
        ids_before = store.history()["id"].tolist()
    assert "renamed bob to robert" in run("annotators", "rename", "bob", "robert", "-w", labelled.path).stdout
    with labelled.open_store() as store:
        history = store.history()
        # Labelling on as the new name continues the same annotator.
        store.add_label("000004.jpg", "light", "left", "robert")
    assert history["id"].tolist() == ids_before
    assert set(history["annotator"]) == {"amy", "robert"}
    assert live(labelled) == {"amy": 2, "robert": 4}


def test_a_file_under_a_renamed_annotators_old_name_is_theirs_not_a_new_persons(labelled, tmp_path):
    # Found by attack pass 39 (helper-82): an export made before the rename, imported again,
    # made a second `bob` with robert's answers, and the two outvoted amy in a majority merge.
    before = tmp_path / "before.csv"
    run("export", "--format", "long", "-o", before, "-w", labelled.path)
    run("annotators", "rename", "bob", "robert", "-w", labelled.path)
    done = run("import", before, "-w", labelled.path)
    assert "(0 new)" in done.stdout and "by amy, robert" in done.stdout
    assert "warning: read 'bob' as 'robert'" in done.stderr and "give the file's rows another" in done.stderr
    one = tmp_path / "one.csv"
    one.write_text("image,task,label\n000001.jpg,light,right\n")
    by_option = run("import", one, "-a", "bob", "-w", labelled.path)  # the name from -a: said so
    assert "read 'bob' as 'robert'" in by_option.stderr and "give another --annotator name" in by_option.stderr
    assert live(labelled) == {"amy": 2, "robert": 3}
    assert one_error(run("annotators", "withdraw", "bob", "-y", "-w", labelled.path, ok=False)) == (
        "error: no annotator named 'bob': renamed 'robert' since"
    )
    # One person's two names in one file giving different answers: which is theirs would
    # depend on the row order.
    both = tmp_path / "both.csv"
    both.write_text("image,task,label,annotator\n000009.jpg,light,left,bob\n000009.jpg,light,right,robert\n")
    error = one_error(run("import", both, "-w", labelled.path, ok=False))
    assert "'000009.jpg' has two different light labels by 'robert', named 'bob' in some rows" in error
    both.write_text("image,task,label,annotator\n000009.jpg,light,left,bob\n000009.jpg,light,left,robert\n")
    assert "(1 new)" in run("import", both, "-w", labelled.path).stdout  # one answer under two names (helper-85)
    # Someone called bob again is someone new: their name is nobody's old name any more.
    with labelled.open_store() as store:
        store.add_label("000005.jpg", "light", "left", "bob")
    again = run("import", before, "-w", labelled.path)
    assert "read 'bob'" not in again.stderr and live(labelled) == {"amy": 2, "bob": 4, "robert": 4}
    assert "'bob' is an annotator's name here, and was 'robert''s before a rename" in again.stderr
    # Attack pass 40 (helper-84): nobody else may take robert's old name by a rename (their old
    # files would become that person's), and a name two people had before renames is refused.
    run("annotators", "rename", "bob", "bobby", "-w", labelled.path)
    refused = one_error(run("annotators", "rename", "amy", "bob", "-w", labelled.path, ok=False))
    assert "'bobby' was called so before a rename" in refused
    error = one_error(run("import", before, "-w", labelled.path, ok=False))
    assert "'bob' was the name of 'bobby' and 'robert' before renames" in error


def test_an_import_under_a_name_like_a_known_persons_asks_whether_they_were_meant(labelled, tmp_path):
    # Found by attack pass 39 (helper-82): `-a BOB` beside bob made a second person without a
    # word, where `label` asks and `annotators withdraw` says "did you mean".
    path = tmp_path / "one.csv"
    path.write_text("image,task,label\n000007.jpg,light,left\n")
    done = run("import", path, "-a", "BOB", "-w", labelled.path)
    assert f"warning: {path}: 'BOB' is a new annotator: did you mean 'bob'?" in done.stderr
    assert "`celeba import --undo BOB` takes them back" in done.stderr
    assert json.loads(run("import", path, "-a", "Amy", "-w", labelled.path, "--json").stdout)[0]["look_alikes"] == {
        "Amy": "'Amy' is a new annotator: did you mean 'amy'? (labels go under the name as typed)"
    }
    assert "did you mean" not in run("import", path, "-a", "zed", "-w", labelled.path).stderr
    # helper-85: the mistyped name taken back by `import --undo` is no one to mean.
    run("import", "--undo", "BOB", "--yes", "-w", labelled.path)
    again = run("import", path, "-a", "Bob", "-w", labelled.path)
    assert "'Bob' is a new annotator: did you mean 'bob'? (labels" in again.stderr


@pytest.mark.parametrize(
    "new, message",
    [
        ("amy", "an annotator of that name exists"),
        ("merge:majority", "reserved for merges"),
        ("=1+1", "formula"),
        ("bo\x1bb", "control characters"),
        (" ", "is empty"),
        ("amy ", "starts or ends with spaces"),  # an attack pass: two annotators both shown as "amy"
        ("a" * 100_000, "is 100,000 characters long (at most 100)"),  # attack pass 17: agreement printed 2 MB
        ("merge:prefer:" + "a" * 100, "reserved for merges"),  # attack pass 18: the real reason, not the length
        ("Merge:majority", "reserved for merges"),  # attack pass 34: names that read as a merge's
        ("ｍｅｒｇｅ:x", "reserved for merges"),
        ("merge：majority", "reserved for merges"),
    ],
)
def test_rename_refuses_bad_names(labelled, new, message):
    with labelled.open_store() as store:
        before = store.history()
    error = one_error(run("annotators", "rename", "bob", new, "-w", labelled.path, ok=False))
    assert message in error and len(error) < 300, error[:300]
    with labelled.open_store() as store:
        assert store.history().equals(before)


def test_rename_refuses_a_missing_or_merge_annotator(labelled):
    # Attack pass 39: the same name was refused as if another rename were running.
    assert one_error(run("annotators", "rename", "bob", "bob", "-w", labelled.path, ok=False)) == (
        "error: cannot rename 'bob' to the same name"
    )
    assert "no annotator named 'zed'" in one_error(
        run("annotators", "rename", "zed", "z", "-w", labelled.path, ok=False)
    )
    assert "merge's decisions" in one_error(
        run("annotators", "rename", "merge:majority", "m", "-w", labelled.path, ok=False)
    )
    # Found by attack pass 14: renamed, a person could label under the model labels' new name.
    with labelled.open_store() as store:
        store.add_label("000002.jpg", "light", "left", "autolabel", "model", confidence=0.99)
    assert "it names the automatic labels" in one_error(
        run("annotators", "rename", "autolabel", "newperson", "-w", labelled.path, ok=False)
    )


def test_an_export_with_automatic_labels_imports_into_another_workspace(labelled, tmp_path, image_folder):
    # Found by attack pass 14: the reserved name refused the tool's own export and store.
    with labelled.open_store() as store:
        store.add_label("000002.jpg", "light", "left", "autolabel", "model", confidence=0.99)
    exported = tmp_path / "all.csv"
    run("export", "--format", "long", "-o", exported, "-w", labelled.path)
    other = tmp_path / "other"
    run("init", other, "--images", image_folder)
    run("import", exported, "-w", other)
    run("import", labelled.store_path, "-w", other)
    with open_workspace_store(other) as store:
        rows = store.live_labels(annotators=["autolabel"])
    assert set(rows["source"]) == {"model"}
    # A person's rows under that name are still refused.
    person = tmp_path / "person.csv"
    person.write_text("image,task,label,annotator,source\n000003.jpg,light,left,autolabel,human\n")
    assert "automatic labels are stored under" in one_error(run("import", person, "-w", other, ok=False))


def open_workspace_store(path):
    from celeba_tui.workspace import load_workspace

    return load_workspace(path).open_store()


def test_a_name_from_before_the_rule_can_be_withdrawn_and_renamed(labelled):
    import sqlite3

    # What an import before the name rule let in: a formula as an annotator name.
    conn = sqlite3.connect(labelled.store_path)
    conn.execute("UPDATE annotators SET name = '=evil()' WHERE name = 'bob'")
    conn.commit()
    conn.close()
    assert (
        "withdrew 3 live labels of =evil()"
        in run("annotators", "withdraw", "=evil()", "--yes", "-w", labelled.path).stdout
    )
    run("annotators", "rename", "=evil()", "eve", "-w", labelled.path)
    assert [r["name"] for r in json.loads(run("annotators", "--json", "-w", labelled.path).stdout)] == ["amy", "eve"]
    assert live(labelled) == {"amy": 2}


def test_rename_and_withdraw_wait_for_no_one_but_refuse_under_a_running_session(labelled):
    """An attack pass renamed alice to carol while alice labelled; a second session then
    started as carol and the two overrode each other's answers under one id."""
    from celeba_tui.labelling.session_lock import annotator_session

    with labelled.open_store() as store:
        before = store.history()
    with annotator_session(labelled.path, "bob"):  # bob is labelling
        for args in (("rename", "bob", "robert"), ("rename", "amy", "bob"), ("withdraw", "bob", "--yes")):
            message = one_error(run("annotators", *args, "-w", labelled.path, ok=False))
            assert "'bob' has a `celeba label` session open" in message and "finish it before" in message
    with labelled.open_store() as store:
        assert store.history().equals(before)
    run("annotators", "rename", "bob", "robert", "-w", labelled.path)  # the session ended: allowed


def test_a_long_name_is_quoted_cut_and_closed_with_its_own_quote():
    # Found by attack pass 18: "O'Brien-xxx...' opened with one quote and closed with the other.
    from celeba_tui.annotator_names import shown_name

    assert shown_name("O'Brien-" + "x" * 100) == "\"O'Brien-" + "x" * 47 + '..."'
    assert shown_name("a" * 100) == "'" + "a" * 55 + "...'" and shown_name("amy") == "'amy'"


def test_list_says_how_much_each_did_today_how_fast_and_how_far_each_session_is(labelled):
    # A lead's questions (Label Studio's members page): who did how much today, how long a
    # label takes each, and when those labelling now get through their queues.
    from celeba_tui.cli.annotator_commands import _local_midnight
    from celeba_tui.labelling.presence import Progress
    from celeba_tui.labelling.session_lock import annotator_session

    midnight = _local_midnight()
    with labelled.open_store() as store:
        ids = [
            store.add_label(f"{i:06d}.jpg", task, "left", "cy")
            for i in range(1, 8)
            for task in ("light", "orientation")
        ]
        times = [midnight - 3 * 86400 + 3.0 * k for k in range(4)] + [midnight + 3.0 * k for k in range(10)]
        store._conn.executemany("UPDATE labels SET created = ? WHERE id = ?", list(zip(times, ids)))
        store._conn.commit()
    with annotator_session(labelled.path, "cy") as cy:
        cy.tell_progress(Progress(37, 1403, 74, 6.0, 229.6).as_note())
        rows = {r["name"]: r for r in json.loads(run("annotators", "-w", labelled.path, "--json").stdout)}
        text = run("annotators", "-w", labelled.path).stdout
    assert (rows["cy"]["decisions"], rows["cy"]["today"], rows["cy"]["seconds_per_label"]) == (14, 10, 3.0)
    assert rows["amy"]["seconds_per_label"] is None  # imported, not timed
    assert (rows["amy"]["decisions"], rows["amy"]["today"]) == (2, 0)  # imported today: no work done today
    assert rows["cy"]["labelling_progress"] == {
        "done": 37,
        "total": 1403,
        "labels": 74,
        "per_minute": 6.0,
        "minutes_left": 230,
    }
    assert next(line for line in text.splitlines() if line.startswith("cy ")).split()[3:6] == ["14", "10", "3.0"]
    assert text.splitlines()[-1].endswith(", 37/1,403 done, about 3 h 50 min left")


def test_today_begins_at_midnight_even_on_a_day_the_clocks_change(monkeypatch):
    # The review of 2026-12-07: midnight took now's UTC offset, an hour off on such days.
    import datetime as real

    from celeba_tui.cli import annotator_commands

    class SpringDay(real.date):
        @classmethod
        def today(cls):
            return cls(2026, 3, 29)  # Europe/Berlin: 02:00 -> 03:00

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        monkeypatch.setattr(annotator_commands, "date", SpringDay)
        midnight = real.datetime.fromtimestamp(annotator_commands._local_midnight())
        assert (midnight.date(), midnight.hour, midnight.minute) == (real.date(2026, 3, 29), 0, 0)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_merge_does_no_work_today(labelled):
    # The review of 2026-12-07: a merge's decisions (source review) counted as someone's work today.
    import pandas as pd

    with labelled.open_store() as store:
        merged = {"image": ["000001.jpg"], "task": ["light"], "label": ["left"], "annotator": ["merge:majority"]}
        store.add_labels(pd.DataFrame({**merged, "source": ["review"]}), as_merge=True)
        store.add_label("000002.jpg", "light", "left", "rev", "review")
    rows = {r["name"]: r for r in json.loads(run("annotators", "-w", labelled.path, "--json").stdout)}
    assert (rows["merge:majority"]["decisions"], rows["merge:majority"]["today"]) == (1, 0)
    assert rows["rev"]["today"] == 1


def test_the_list_shows_people_first_and_the_ensemble_and_merges_apart(labelled, tmp_path):
    # The walkthrough of 2026-12-07: `merge:dawid-skene` and `autolabel` were listed among
    # the people, in name order. A name of wide characters keeps the columns.
    from rich.cells import cell_len

    path = tmp_path / "wide.csv"
    path.write_text("image,task,label,annotator\n000001.jpg,light,right,李小龙\n", encoding="utf-8")
    run("import", path, "-w", labelled.path)
    run("merge", "-w", labelled.path, "--policy", "prefer:amy")
    with labelled.open_store() as store:
        store.add_label("000004.jpg", "light", "left", "autolabel", "model", confidence=0.95)
    rows = json.loads(run("annotators", "-w", labelled.path, "--json").stdout)
    assert [(r["name"], r["kind"]) for r in rows] == [
        ("amy", "person"), ("bob", "person"), ("李小龙", "person"), ("autolabel", "ensemble"), ("merge:prefer:amy", "merge"),
    ]  # fmt: skip
    lines = run("annotators", "-w", labelled.path).stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "annotator",
        "amy",
        "bob",
        "李小龙",
        "not",
        "autolabel",
        "merge:prefer:amy",
    ]
    assert lines[4].startswith("not people:")
    table = [line for n, line in enumerate(lines) if n != 4]
    assert len({cell_len(line) for line in table}) == 1, table  # every line as wide, in columns


def test_a_merges_decisions_are_decided_again_not_restored(labelled):
    # Attack pass 34: restored, a merge's decision was written anew, newer than what people
    # answered since its withdrawal, and overruled them; the withdrawal gave a person's advice.
    run("merge", "--policy", "prefer:amy", "-w", labelled.path)
    withdrawn = run("annotators", "withdraw", "merge:prefer:amy", "--yes", "-w", labelled.path)
    assert "celeba label --queue review" in withdrawn.stderr
    again = "celeba merge --policy prefer:amy -t light -t orientation"
    assert f"(a mistake? `{again}` decides them again)" in withdrawn.stderr
    with labelled.open_store() as store:
        before = store.query("SELECT COUNT(*) FROM labels")[0][0]
    refused = one_error(run("annotators", "restore", "merge:prefer:amy", "-w", labelled.path, ok=False))
    assert "a merge's decisions are not restored" in refused and refused.endswith(f"`{again}`")
    assert "no annotator named 'merge:nosuch'" in one_error(
        run("annotators", "restore", "merge:nosuch", "-w", labelled.path, ok=False)
    )
    with labelled.open_store() as store:
        assert store.query("SELECT COUNT(*) FROM labels")[0][0] == before
    # A person's withdrawal names the policy that decides again, on its tasks (plain
    # `celeba merge` would withdraw every merge decision)...
    run("merge", "--policy", "prefer:amy", "-w", labelled.path)
    person = run("annotators", "withdraw", "bob", "--yes", "-w", labelled.path)
    assert "Next: celeba merge --policy prefer:amy -t light" in person.stderr
    assert "annotators restore bob" in person.stderr
    # ... and none where it would not run: `prefer:amy` once amy's labels are withdrawn.
    run("annotators", "restore", "bob", "-w", labelled.path)
    run("merge", "--policy", "prefer:amy", "-w", labelled.path)
    amy = run("annotators", "withdraw", "amy", "--yes", "-w", labelled.path)
    assert "celeba merge --policy" not in amy.stderr and "annotators restore amy" in amy.stderr


def test_the_table_fits_the_terminal_by_showing_days_then_leaving_out_the_first_decision():
    # Helper-77: 91 columns at an 80-column terminal wrapped every date onto a second line.
    from celeba_tui.cli.annotator_commands import _annotator_table

    row = {
        "name": "merge:dawid-skene",
        "kind": "merge",
        "live": {"light": 4, "orientation": 0},
        "decisions": 9,
        "today": 0,
        "seconds_per_label": None,
        "first": 1_796_683_833.0,
        "last": 1_796_684_833.0,
    }
    person = {**row, "name": "alice", "kind": "person", "seconds_per_label": 2.5}
    tasks = ("light", "orientation")
    wide = _annotator_table([person, row], tasks, 200)
    assert wide[0].split()[-2:] == ["first", "last"] and ":" in wide[1].split()[-1]
    widest = {columns: max(map(len, _annotator_table([person, row], tasks, columns))) for columns in (100, 99, 80, 60)}
    assert widest == {100: 100, 99: 88, 80: 76, 60: 76}  # to the minute, by day, without `first`; no narrower
    for columns in (100, 80):
        lines = _annotator_table([person, row], tasks, columns)
        assert lines[2] == "not people: the ensemble's automatic labels, the merges' decisions"
    assert _annotator_table([person, row], tasks, 100)[0].split()[-2:] == ["first", "last"]
    assert _annotator_table([person, row], tasks, 80)[0].split()[-1] == "last"
    assert "first" not in _annotator_table([person, row], tasks, 80)[0]
