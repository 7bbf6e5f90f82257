"""Hypothesis-driven input to every importer and the config reader: success or one clear error."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from celeba_tui.errors import CelebaError
from celeba_tui.formats.importing import import_labels
from celeba_tui.workspace import parse_config

CELL = st.sampled_from(["0", "1", "0.1", "1.1", "2", "", " ", "x", "1.0", "-1", "0,0"])
NAME = st.sampled_from(["000001.jpg", "000002.jpg", "a/b.png", "", " ", "é.jpg", "x,y"])
ONEHOT_LINE = st.tuples(NAME, st.lists(CELL, min_size=5, max_size=8)).map(lambda t: ",".join([t[0], *t[1]]))
LONG_LINE = st.tuples(NAME, st.sampled_from(["light", "orientation", "mood", ""]),
                      st.sampled_from(["left", "center", "right", "up", ""])).map(",".join)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def attempt(store, workspace, path: Path):
    before = len(store.history())
    try:
        import_labels(store, workspace, path, annotator="fuzz")
    except CelebaError as exc:
        assert "\n" not in str(exc)
        assert len(store.history()) == before, "a failed import wrote something"
        return False
    return True


@FUZZ
@given(st.lists(ONEHOT_LINE, min_size=1, max_size=6))
def test_fuzz_onehot(tmp_path, store, workspace, lines):
    path = tmp_path / "f.csv"
    path.write_text("\n".join(lines) + "\n")
    attempt(store, workspace, path)


@FUZZ
@given(st.lists(LONG_LINE, min_size=0, max_size=6))
# Found by this test: a repeated row before a clashing one (the clash check indexed the
# de-duplicated rows with a mask of the file's rows).
@example(lines=["000001.jpg,light,left", "000001.jpg,light,left", "000001.jpg,light,center"])
def test_fuzz_long(tmp_path, store, workspace, lines):
    path = tmp_path / "f.csv"
    path.write_text("\n".join(["image,task,label", *lines]) + "\n")
    attempt(store, workspace, path)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_bytes(tmp_path, store, workspace, data):
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    attempt(store, workspace, path)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_config_reader(text):
    try:
        parse_config(text, Path("/tmp/celeba.toml"))
    except CelebaError as exc:
        assert "celeba.toml" in str(exc)


@pytest.mark.parametrize(
    "text",
    ['images = "x"\n[[tasks]]\nname = "light"\nclasses = "left"\n', 'images = 3\n', 'version = 99\nimages = "x"\n',
     'images = "x"\n[[tasks]]\nname = "a"\n[[tasks]]\nname = "a"\n'],
)
def test_bad_configs_are_clear(text):
    with pytest.raises(CelebaError, match="celeba.toml"):
        parse_config(text, Path("/tmp/celeba.toml"))
