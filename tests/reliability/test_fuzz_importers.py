"""Hypothesis-driven input to every importer and the config reader: success or one clear error."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from celeba_tui.errors import CelebaError
from celeba_tui.workspace import parse_config
from reliability.fuzz_inputs import (
    ANNOTATOR_ARG,
    HUGE,
    attempt,
    celeba_txt_files,
    long_files,
    onehot_files,
    parquet_files,
    read_celeba_txt,
)

# A few dozen inputs per importer keep the default run fast; benchmarks/fuzz.py tries 10,000.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(onehot_files(), ANNOTATOR_ARG)
# Found by hand after the fuzz suite missed them: CR-only line ends, a cell over the csv
# module's field limit (bare, which the byte-level reader alone would take, and quoted).
@example(text="000001.jpg,1,0,0,0,1,0\r000002.jpg,1,1,0,0,1,0\r", annotator="fuzz")
@example(text=f"000001.jpg,1,0,0,0,1,0\n{HUGE},1,0,0,0,1,0\n", annotator="fuzz")
@example(text=f'000001.jpg,1,0,0,0,1,0\n"{HUGE}",1,0,0,0,1,0\n', annotator="fuzz")
def test_fuzz_onehot(tmp_path, store, workspace, text, annotator):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    attempt(store, workspace, path, annotator)


@FUZZ
@given(long_files(), ANNOTATOR_ARG)
# Found by this test: a repeated row before a clashing one (the clash check indexed the
# de-duplicated rows with a mask of the file's rows).
@example(
    text="image,task,label\n000001.jpg,light,left\n000001.jpg,light,left\n000001.jpg,light,center\n", annotator="fuzz"
)
# Found by hand after the fuzz suite missed them: CR-only line ends, a cell over the csv
# module's field limit, confidence inf / nan / out of [0, 1], a column named twice.
@example(text="image,task,label\r000001.jpg,light,left\r000002.jpg,light,up\r", annotator="fuzz")
@example(text=f"image,task,label\n{HUGE},light,left\n", annotator="fuzz")
@example(text="image,task,label,confidence\n000001.jpg,light,left,inf\n", annotator="fuzz")
@example(text="image,task,label,confidence\n000001.jpg,light,left,nan\n", annotator="fuzz")
@example(text="image,task,label,confidence\n000001.jpg,light,left,-5\n", annotator="fuzz")
@example(text="image,task,label,confidence\n000001.jpg,light,left,7\n", annotator="fuzz")
@example(text="image,task,label,label\n000001.jpg,light,left,left\n", annotator="fuzz")
def test_fuzz_long(tmp_path, store, workspace, text, annotator):
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    refused = not attempt(store, workspace, path, annotator)
    if any(bad in text for bad in (HUGE, ",inf\n", ",nan\n", ",-5\n", ",7\n", "label,label\n", ",light,up\r")):
        assert refused


@FUZZ
@given(parquet_files(), ANNOTATOR_ARG)
def test_fuzz_parquet(tmp_path, store, workspace, data, annotator):
    path = tmp_path / "f.parquet"
    path.write_bytes(data)
    attempt(store, workspace, path, annotator)


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
    [
        'images = "x"\n[[tasks]]\nname = "light"\nclasses = "left"\n',
        "images = 3\n",
        'version = 99\nimages = "x"\n',
        'images = "x"\n[[tasks]]\nname = "a"\n[[tasks]]\nname = "a"\n',
    ],
)
def test_bad_configs_are_clear(text):
    with pytest.raises(CelebaError, match="celeba.toml"):
        parse_config(text, Path("/tmp/celeba.toml"))


@FUZZ
@given(celeba_txt_files())
def test_fuzz_celeba_txt_readers(tmp_path, text):
    read_celeba_txt(tmp_path / "list_attr_celeba.txt", text)


def test_a_parquet_file_claiming_millions_of_rows_is_refused_from_its_footer(tmp_path, workspace):
    # ~100 KB of dictionary-encoded rows: 5,000,001 labels (gigabytes once read as Python
    # objects). Refused from the row count in the file's footer, before any row is read.
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from celeba_tui.cli import app
    from celeba_tui.formats.label_file import MAX_IMPORT_ROWS
    from reliability.store_files import table_digests

    codes = pa.array(np.zeros(MAX_IMPORT_ROWS + 1, dtype=np.int32))
    column = lambda value: pa.DictionaryArray.from_arrays(codes, pa.array([value]))  # noqa: E731
    table = pa.table({"image": column("000001.jpg"), "task": column("light"), "label": column("left")})
    path = tmp_path / "bomb.parquet"
    pq.write_table(table, path, compression="zstd")
    before = table_digests(workspace.store_path)
    result = CliRunner().invoke(app, ["import", str(path), "-a", "bomb", "-w", str(workspace.path)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {path}: 5,000,001 rows, more than 5,000,000: too big to import\n"
    assert table_digests(workspace.store_path) == before


@pytest.mark.parametrize(
    ("unit", "value", "said"),
    [("s", 2**40, "time of year 36,812 is in the future"), ("us", 2**62, "time of year 148,108 is in the future")],
)
def test_a_parquet_time_past_the_calendar_is_refused_not_wrapped_around(tmp_path, workspace, unit, value, said):
    # Found by attack pass 39 (helper-82): a traceback naming the time, and under it pandas
    # wrapped year 36,812 around to 1972, a time that would have been stored.
    import pyarrow as pa
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from celeba_tui.cli import app
    from reliability.store_files import table_digests

    times = pa.array([value], pa.timestamp(unit, tz="UTC"))
    path = tmp_path / "far.parquet"
    pq.write_table(pa.table({"image": ["000001.jpg"], "task": ["light"], "label": ["left"], "time": times}), path)
    before = table_digests(workspace.store_path)
    result = CliRunner().invoke(app, ["import", str(path), "-a", "far", "-w", str(workspace.path)])
    assert (result.exit_code, result.stderr) == (2, f"error: {path}:1: {said}\n")
    assert table_digests(workspace.store_path) == before


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("image,task,label", "000001.jpg,{long},left"),
        ("image,task,label", "000001.jpg,light,{long}"),
        ("image,task,label,time", "000001.jpg,light,left,{long}"),
        ("image,task,label,confidence", "000001.jpg,light,left,{long}"),
        ("image,task,label,source", "000001.jpg,light,left,{long}"),
        ("image,task,label,{long}", "000001.jpg,light,left,x"),
        ("image,task,label," + ",".join(f"c{i}" for i in range(20_000)), "000001.jpg,light,left" + "," * 20_000),
        ("image,task,label", "{long}.jpg,light,left\n{long}.jpg,light,right"),
    ],
)
def test_an_error_names_a_huge_value_cut_short(tmp_path, workspace, header, row):
    # Found by attack pass 39 (helper-82): error lines of 100-150 kB, a value or every
    # unknown column echoed whole.
    from typer.testing import CliRunner

    from celeba_tui.cli import app

    path = tmp_path / "huge.csv"
    path.write_text(f"{header}\n{row}\n".replace("{long}", "x" * 100_000))
    result = CliRunner().invoke(app, ["import", str(path), "-a", "huge", "-w", str(workspace.path)])
    assert result.exit_code == 2 and result.stderr.startswith("error: "), result.output[:300]
    assert len(result.stderr) < 400 and result.stderr.count("\n") == 1, result.stderr[:500]
