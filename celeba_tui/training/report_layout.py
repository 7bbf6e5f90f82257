"""`celeba report` in a terminal of any width: columns are dropped, never cut.

A run id or a number cut to "0.…" is worse than no column, so the tables are laid out
for the console's width here: every value keeps its full text, headers wrap at spaces,
and when the table is too wide whole columns go, in `DROP_ORDER`. `KEPT` always stays;
a run id wider than what is left of the terminal wraps onto more lines (never cut).
Table 9 drops its loss columns first. `--markdown` and `--json` always have everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from celeba_tui.training.report import ROW_COLUMNS, cells, table9, table9_cells, table9_headers

# Dropped first to last when the "All runs" table is too wide: speed and size before the
# scores; model and task before the scores too, since the run id names them.
DROP_ORDER = (
    "images_per_s",
    "train_seconds",
    "params",
    "epochs",
    "architecture",
    "task",
    "majority_baseline",
    "val_macro_f1",
    "val_loss",
)
KEPT = ("val_acc", "val_balanced_acc", "run_id")
TITLES = dict(ROW_COLUMNS)
LEFT_ALIGNED = ("architecture", "task", "run_id")
DROP_ORDER_TEXT = ", ".join(TITLES[key] for key in DROP_ORDER)


@dataclass(frozen=True)
class Layout:
    """Which columns a table shows, how wide each is, and which were dropped to fit."""

    keys: tuple[str, ...]
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    dropped: tuple[str, ...]  # headers of the columns left out

    @property
    def width(self) -> int:
        return table_width(self.widths)


def table_width(widths) -> int:
    """What a rich table with edges, one space of padding each side and a rule between columns takes."""
    return sum(widths) + 3 * len(widths) + 1


def column_width(header: str, values: list[str], *, wrap_header: bool) -> int:
    """The width that shows every value whole, and the header whole or wrapped at its spaces."""
    header_width = max(len(word) for word in header.split()) if wrap_header else len(header)
    return max([header_width, *(len(value) for value in values)])


def fit_columns(keys: list[str], headers: list[str], body: list[list[str]], width: int, drop_order) -> Layout:
    """The widest layout of `keys` that fits `width`: headers whole, else wrapped, else columns
    dropped in `drop_order`; the last column wraps when even the kept ones do not fit."""
    columns = {key: [row[i] for row in body] for i, key in enumerate(keys)}
    title = dict(zip(keys, headers))
    shown = list(keys)
    droppable = [key for key in drop_order if key in columns]
    while True:
        for wrap_header in (False, True):
            widths = [column_width(title[key], columns[key], wrap_header=wrap_header) for key in shown]
            if table_width(widths) <= width:
                return _layout(shown, title, widths, keys)
        if not droppable:
            break
        shown.remove(droppable.pop(0))
    # Even the kept columns are too wide: the last one (the run id) wraps to what is left.
    others = table_width(widths[:-1]) + 3
    widths[-1] = max(column_width(title[shown[-1]], [], wrap_header=True), width - others)
    return _layout(shown, title, widths, keys)


def _layout(shown: list[str], title: dict, widths: list[int], keys: list[str]) -> Layout:
    dropped = tuple(title[key] for key in keys if key not in shown)
    return Layout(tuple(shown), tuple(title[key] for key in shown), tuple(widths), dropped)


def runs_layout(rows: list[dict], width: int) -> tuple[Layout, list[list[str]]]:
    """The "All runs" table laid out for `width` columns, and its cells."""
    keys = [key for key, _ in ROW_COLUMNS]
    body = [cells(row) for row in rows]
    layout = fit_columns(keys, [TITLES[key] for key in keys], body, width, DROP_ORDER)
    index = [keys.index(key) for key in layout.keys]
    return layout, [[row[i] for i in index] for row in body]


def table9_layout(rows: list[dict], width: int) -> tuple[Layout, list[list[str]]]:
    """Table 9 laid out for `width`: the loss columns go first (last task's first)."""
    tasks, models = table9(rows)
    headers = table9_headers(tasks)
    keys = [f"c{i}" for i in range(len(headers))]
    body = [table9_cells(tasks, entry) for entry in models]
    losses = [key for key, header in reversed(list(zip(keys, headers))) if header.endswith(" loss")]
    accuracies = [key for key, header in reversed(list(zip(keys, headers))) if header.endswith(" acc.")][:-1]
    layout = fit_columns(keys, headers, body, width, losses + accuracies)
    index = [keys.index(key) for key in layout.keys]
    return layout, [[row[i] for i in index] for row in body]


def rich_tables(rows: list[dict], width: int) -> list:
    """Both tables for a terminal `width` columns wide, each followed by a note of what it dropped."""
    from rich.table import Table
    from rich.text import Text

    out: list = []
    for title, (layout, body) in (
        ("Validation per model and task (best run each; the study's Table 9)", table9_layout(rows, width)),
        ("All runs", runs_layout(rows, width)),
    ):
        table = Table(title=title)
        for key, header, column_width_ in zip(layout.keys, layout.headers, layout.widths):
            left = key in LEFT_ALIGNED or header == "model"
            table.add_column(Text(header), width=column_width_, justify="left" if left else "right", overflow="fold")
        for row in body:
            table.add_row(*(Text(cell) for cell in row))
        out.append(table)
        if layout.dropped:
            out.append(
                Text(
                    f"(left out at {width} columns: {', '.join(layout.dropped)}; wider terminal, --markdown or --json)"
                )
            )
    return out
