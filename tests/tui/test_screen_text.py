"""Pure text of the TUI: what `?` lists (every binding that says what it does, once, keys
joined by what they do), the task tags under thumbnails, the session counts, model names."""

from textual.binding import Binding

from celeba_tui.tui.keys_help import binding_rows, class_rows, keys_text


def test_bindings_that_do_the_same_share_a_row_and_silent_ones_are_left_out():
    bindings = [
        Binding("left", "move(-1)", "move", show=False),
        Binding("right", "move(1)", "move", show=False),
        Binding("backspace,u", "undo", "undo", key_display="u/⌫"),
        Binding("x", "secret", ""),
        Binding("q", "quit", "quit"),
    ]
    rows = binding_rows(bindings, {"quit": "quit (saved)"})
    assert rows == [("left/right", "move"), ("u/⌫", "undo"), ("q", "quit (saved)")]
    assert keys_text(rows).splitlines()[1] == "  u/⌫         undo"


def test_what_a_key_does_wraps_beside_its_keys():
    # The walkthrough of 2026-12-07: at 60 columns the wrapped words started at the left edge.
    rows = [("u/⌫", "undo your last decision (its answer stands again, the counts follow)"), ("q", "quit")]
    lines = keys_text(rows, 40).splitlines()
    assert lines[0] == "  u/⌫  undo your last decision (its"
    assert all(line.startswith(" " * 7) and line.strip() for line in lines[1:-1]) and len(lines) > 3
    assert lines[-1] == "  q    quit" and max(len(line) for line in lines) <= 40
    assert keys_text(rows, 20).splitlines()[0].endswith("follow)")  # too narrow to wrap: the screen does
    assert keys_text(rows) == keys_text(rows, 200)


def test_class_keys_answer_the_question():
    assert class_rows(("left", "center", "right"))[0] == ("←/a/1", "answer left")


def test_task_tags_are_the_shortest_prefixes_that_tell_tasks_apart():
    from celeba_tui.tui.screens.browse_text import task_tags

    assert task_tags(["light", "orientation"]) == ["l", "o"]
    assert task_tags(["light", "lighting", "orientation"]) == ["light", "lighti", "o"]
    assert task_tags(["mood"]) == ["m"]


def test_thumbnail_captions_show_whole_class_names_where_the_tile_allows():
    from types import SimpleNamespace

    from celeba_tui.labelling.selection import BrowseRow
    from celeba_tui.tui.screens.browse_text import caption

    tasks = [SimpleNamespace(name=name, classes=("left", "center", "right")) for name in ("light", "orientation")]
    row = BrowseRow(
        "000001.jpg", {"light": "center", "orientation": "right"}, {"light": "human", "orientation": "human"}
    )
    labels = {width: caption(row, tasks, width).plain.splitlines()[1].rstrip() for width in (9, 13, 17, 30)}
    # 80 columns give tiles of 13: whole names in the status line's task order, not "l:cen… o:rig…"
    assert labels == {9: "cen… rig…", 13: "center right", 17: "l:center o:right", 30: "l:center       o:right"}
    # A conflict reads whole in its task's place where only the word fits (it read "l:confl…").
    torn = BrowseRow("000002.jpg", {"orientation": "right"}, {"light": "conflict", "orientation": "human"})
    shown = {width: caption(torn, tasks, width).plain.splitlines()[1].rstrip() for width in (17, 30)}
    assert shown == {17: "conflict o:right", 30: "l:conflict     o:right"}


def test_session_stats_take_their_short_form_where_the_panel_is_narrow():
    # Found by a new-user walkthrough: at 60x16 each task's counts wrapped onto two lines
    # and orientation's fell off the screen.
    from types import SimpleNamespace

    from celeba_tui.tui.widgets.session_stats import PanelFigures, stats_text

    tasks = [SimpleNamespace(name=name, classes=("left", "center", "right")) for name in ("light", "orientation")]
    figures = PanelFigures(184, 300, {("light", "left"): 2}, tasks, 2, 3.0)
    wide = stats_text(figures, 60).plain.splitlines()
    assert wide[1:] == ["this session: 2 labels · 3.0/min", "  light        left 2 · center 0 · right 0",
                        "  orientation  left 0 · center 0 · right 0"]  # fmt: skip
    narrow = stats_text(figures, 28).plain.splitlines()
    assert narrow[1:] == ["session: 2 labels · 3.0/min", "light l:2 c:0 r:0", "orientation l:0 c:0 r:0"]
    assert all(len(line) <= 28 for line in narrow)


def test_session_stats_count_one_label_in_the_singular():
    from celeba_tui.tui.widgets.session_stats import PanelFigures, stats_text

    assert "this session: 1 label ·" in stats_text(PanelFigures(1, 10, {}, [], 1, 2.0)).plain
    assert "this session: 1,200 labels ·" in stats_text(PanelFigures(1, 10, {}, [], 1200, 2.0)).plain


def test_session_stats_read_alike_say_changes_and_how_long_the_rest_takes():
    # Found by the label-screen walkthrough of 2026-12-07: at one width light's counts took
    # the long form and orientation's the short one; "99 labels" for 49 images x 2 (one was
    # a change); "0 / 1 images done"; no word on how long the rest would take.
    from types import SimpleNamespace

    from celeba_tui.console import duration_text
    from celeba_tui.labelling.pace import minutes_left
    from celeba_tui.tui.widgets.session_stats import PanelFigures, stats_text

    tasks = [SimpleNamespace(name=name, classes=("left", "center", "right")) for name in ("light", "orientation")]
    counts = {("light", "left"): 140, ("orientation", "center"): 13}
    assert stats_text(PanelFigures(5, 300, counts, tasks, 153, 3.0), 44).plain.splitlines()[2] == (
        "  light        left 140 · center 0 · right 0"
    )
    lines = stats_text(PanelFigures(5, 300, counts, tasks, 153, 3.0), 43).plain.splitlines()  # orientation's fits
    assert lines[2:] == ["light l:140 c:0 r:0", "orientation l:0 c:13 r:0"], lines
    assert stats_text(PanelFigures(0, 1, {}, [], 0, 0.0)).plain.startswith("0 / 1 image done\n")
    changed = stats_text(PanelFigures(49, 300, {}, [], 99, 6.0, changes=1)).plain
    assert "this session: 98 labels, 1 changed · 6.0/min" in changed  # the change is not a label given too
    # helper-87: skips were said only on quitting, and nothing said which answer a key stored.
    told = stats_text(PanelFigures(49, 300, {}, [], 99, 6.0, skipped=2, last=("000021.jpg", "light", "left")), 44)
    lines = ["this session: 99 labels, 2 skipped · 6.0/min", "last: light left · 000021.jpg"]
    assert told.plain.splitlines()[1:3] == lines
    # The rest of the queue at this session's pace: 251 images x 2 questions at 6 a minute.
    assert minutes_left(251, 2, 6.0, 99) == 251 * 2 / 6.0
    assert minutes_left(251, 2, 6.0, 9) is None and minutes_left(None, 2, 6.0, 99) is None
    eta = stats_text(PanelFigures(49, 300, {}, [], 99, 6.0, minutes_left=83.7)).plain.splitlines()
    assert eta[:2] == ["49 / 300 images done", "about 1 h 24 min left at this pace"]
    assert [duration_text(m) for m in (0.4, 14.4, 59.6, 125)] == [
        "under a minute",
        "14 min",
        "1 h 00 min",
        "2 h 05 min",
    ]
    assert "left at this pace" not in stats_text(PanelFigures(300, 300, {}, [], 99, 6.0, minutes_left=0.0)).plain
    # Changes of earlier answers move nothing through the queue: not in its pace (attack pass 25:
    # "about 3 min left" after 2 answers and 9 changes).
    from celeba_tui.labelling.session import SessionStats

    stats = SessionStats(decisions=11, first_at=0.0)
    stats.changes = 9
    assert stats.new_answers == 2 and stats.per_minute(60.0, new_only=True) == 2.0 and stats.per_minute(60.0) == 11.0
    assert minutes_left(59, 1, stats.per_minute(60.0, new_only=True), stats.new_answers) is None
    soon = stats_text(PanelFigures(299, 300, {}, [], 99, 6.0, minutes_left=0.3)).plain.splitlines()[1]
    assert soon == "under a minute left at this pace"  # not "about under a minute" (attack pass 24)


def test_session_stats_say_who_else_labels_now_in_one_line():
    from celeba_tui.tui.widgets.session_stats import PanelFigures, others_line, stats_text

    assert "labelling too" not in stats_text(PanelFigures(1, 10, {}, [], 1, 2.0)).plain
    line = stats_text(PanelFigures(1, 10, {}, [], 1, 2.0, ("bob", "carol"))).plain.splitlines()[-1]
    assert line == "labelling too: bob, carol"
    assert others_line(["bob", "carol", "dave", "erin", "frank", "gina"]) == "bob, carol, dave, erin +2"
    assert others_line(["x" * 60, "bob"]) == "x" * 25 + "… +1"
    assert others_line(["[b]e\x1b[2Jve"]) == "[b]e\\x1b[2Jve"  # as it is, control characters escaped


def test_model_names_keep_what_tells_them_apart():
    from celeba_tui.tui.widgets.image_info import model_label

    first = model_label("orientation-small_resnet-seed0.onnx (flip TTA)", "orientation", 18)
    second = model_label("orientation-small_resnet-20261205-081105.onnx", "orientation", 18)
    assert first == "small_resnet-seed0" and second == "small_resne…081105"
    # A run's name keeps its architecture, cut at its end where it must (a walkthrough read
    # `vgg19…61206-220217` and could not tell the architecture), and the run's time.
    third = model_label("orientation-vgg19_variation-20261206-220217.onnx", "orientation", 18)
    assert third == "vgg19_varia…220217"
    assert model_label("light-cnn4-20261206-220456.onnx", "light", 18) == "cnn4-220456"
    assert model_label("\x1b[31mred.onnx", "light", 18) == "\\x1b[31mred"  # escaped, never read


def test_a_long_image_name_takes_two_lines_of_the_panel_at_most():
    # Found by the label-screen walkthrough of 2026-12-07: a 200-character name took nine
    # lines at 80x24, twice (the image and the `--image` queue), and pushed "your labels" off.
    from types import SimpleNamespace

    from celeba_tui.tui.widgets.image_info import info_text

    name = "a" * 200 + ".jpg"
    tasks = [SimpleNamespace(name="light", classes=("left", "center", "right"))]
    text = info_text(name, "zed", f"image {name}", tasks, {}, None, show_answers=False, width=40).plain
    first, who = text.splitlines()[:2]
    assert len(first) == 79 and first.endswith("aaa.jpg") and "…" in first
    assert len(who) == 40 and who.startswith("zed · image a") and who.endswith(".jpg")
    assert "your labels" in text
    assert info_text("000001.jpg", "zed", "unlabelled", tasks, {}, None, show_answers=False, width=40).plain.startswith(
        "000001.jpg\nannotator zed · queue unlabelled\n"
    )
    # Helper-83: at 60x20 the name went ("annotator… · queue unlabelled"); the words go first.
    narrow = [
        info_text("000001.jpg", "carol", "unlabelled", tasks, {}, None, show_answers=False, width=w) for w in (28, 18)
    ]
    assert [text.plain.splitlines()[1] for text in narrow] == ["carol · queue unlabelled", "carol · unlabelled"]
