"""Agreement between annotators: the study's Table 1, kappa, weighted kappa, alpha (pure).

Inputs are long label tables (image, task, annotator, label) holding the human labels
(sources `human` and `import`) with one label per (image, task, annotator); see
`annotator_labels`. Krippendorff's alpha comes from the `krippendorff` package. Cohen's
kappa is computed from the confusion matrix exactly as scikit-learn's
`cohen_kappa_score` does (tests/test_agreement.py checks they agree, degenerate cases
included): importing scikit-learn pulls in scipy.stats, about 0.8 s of CPU, which
`celeba agreement`'s 2 s budget for 100,000 images cannot afford. The cases where a
statistic is undefined are explicit:

- no shared images: nothing to measure; such pairs are counted (`pairs_apart`, a few named),
  not listed;
- both annotators used one and the same class on every shared image: chance
  agreement is 1, so kappa is 0/0; it is None with a note (agreement is still 100%);
- one annotator used a single class and the other several: kappa is defined and 0
  (observed agreement equals chance agreement), as scikit-learn computes it.

Class order is the task's. Where the classes are in order (`Task.ordered`: celeba.toml's
`scale = "ordinal"`, or without one, classes along the picture's left-right axis: left,
center, right) it is an ordinal scale, so the weighted kappa is linear (left vs right
counts twice left vs center) and Krippendorff's alpha is reported at the ordinal level,
with the nominal level beside it for comparison. Other tasks' classes (no, yes; neutral,
smile, frown) have no order: their weighted kappa and ordinal alpha are None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from itertools import combinations, islice

import numpy as np
import pandas as pd

from celeba_tui.errors import CelebaError
from celeba_tui.vocabulary import ANNOTATOR_SOURCES
from celeba_tui.workspace import Task

# Labels a person gave: typed in the TUI or imported from a file (the store counts them alike).
LABEL_COLUMNS = ["image", "task", "annotator", "label"]
MISSING = -1


def annotator_labels(live: pd.DataFrame) -> pd.DataFrame:
    """Human labels, one per (image, task, annotator): the latest (highest id).

    `live` is `LabelStore.live_labels()` (other sources are dropped) or
    `LabelStore.live_label_codes()`. An annotator has two live labels for an image only
    when they both typed and imported one.
    """
    human = live[live["source"].isin(ANNOTATOR_SOURCES)] if "source" in live else live
    key = ["image", "task", "annotator"]
    if human.duplicated(key).any():
        human = human.sort_values("id").drop_duplicates(key, keep="last")
    return human[LABEL_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class LabelMatrix:
    """One task's labels as class codes: rows are images, columns annotators, -1 = none."""

    task: Task
    images: np.ndarray
    annotators: list[str]
    codes: np.ndarray

    @property
    def labelled(self) -> np.ndarray:
        return self.codes != MISSING

    def class_counts(self) -> np.ndarray:
        """(images, classes): how many annotators gave each class to each image."""
        k = len(self.task.classes)
        rows, cols = np.nonzero(self.labelled)
        flat = rows * k + self.codes[rows, cols]
        return np.bincount(flat, minlength=len(self.images) * k).reshape(len(self.images), k)


def class_codes(labels: pd.Series, classes: tuple[str, ...]) -> np.ndarray:
    """Each label's index in `classes`, -1 for a label that is not one of them."""
    index = pd.Index(list(classes))
    if isinstance(labels.dtype, pd.CategoricalDtype):
        # Categorical (LabelStore.live_label_codes): look up the few categories, not every row.
        lookup = np.append(index.get_indexer(labels.cat.categories), MISSING)
        return lookup[labels.cat.codes.to_numpy()]
    return index.get_indexer(labels)


def label_matrix(labels: pd.DataFrame, task: Task) -> LabelMatrix:
    """Lay out one task's labels as a LabelMatrix; CelebaError for a label not in the task."""
    rows = labels[labels["task"] == task.name]
    label_codes = class_codes(rows["label"], task.classes)
    unknown = label_codes == MISSING
    if unknown.any():
        bad = rows[unknown].iloc[0]
        what = f"label {bad['label']!r}" if pd.notna(bad["label"]) else "a label"
        raise CelebaError(
            f"{bad['annotator']} gave {bad['image']} {what} that is not a class of task "
            f"{task.name!r} ({', '.join(task.classes)})"
        )
    # Categorical inputs (LabelStore.live_label_codes) carry every image and annotator
    # of the store as categories: keep only those with labels here.
    images = pd.Categorical(rows["image"]).remove_unused_categories()
    annotators = pd.Categorical(rows["annotator"]).remove_unused_categories()
    codes = np.full((len(images.categories), len(annotators.categories)), MISSING, dtype=np.int8)
    codes[images.codes, annotators.codes] = label_codes
    return LabelMatrix(
        task,
        np.asarray(images.categories, dtype=object),
        [str(a) for a in annotators.categories],
        codes,
    )


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators on one task: the study's Table 1 columns and the agreement statistics."""

    task: str
    annotator_a: str
    annotator_b: str
    count_a: int
    count_b: int
    overlapping: int
    mismatched: int
    total: int
    percent_agreement: float | None
    kappa: float | None
    weighted_kappa: float | None
    confusion: list[list[int]]
    note: str | None = None

    def to_dict(self) -> dict:
        # Field by field, not dataclasses.asdict's deep copy: a crowd has ~650,000 pairs.
        return {name: getattr(self, name) for name in PAIR_FIELDS}


PAIR_FIELDS = tuple(f.name for f in fields(PairAgreement))


def confusion_matrix(codes_a: np.ndarray, codes_b: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (a's class, b's class) over shared items; rows are a's classes.

    The one confusion matrix: annotator against annotator here, truth against
    prediction in training's metrics (rows the true classes).
    """
    flat = np.asarray(codes_a, dtype=np.int64) * n_classes + np.asarray(codes_b, dtype=np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def cohen_kappa(confusion: np.ndarray, weights: str | None = None) -> float | None:
    """Cohen's kappa of a confusion matrix (weights None or "linear"); None where undefined.

    1 - sum(w * observed) / sum(w * expected), with expected from the marginals, as
    scikit-learn computes it. Undefined (0/0) when chance disagreement is zero: both
    annotators used the same single class.
    """
    value = cohen_kappas(np.asarray(confusion)[None], weights)[0]
    return None if np.isnan(value) else float(value)


def cohen_kappas(confusions: np.ndarray, weights: str | None = None) -> np.ndarray:
    """`cohen_kappa` of each of a stack of confusion matrices (pairs, k, k) at once; NaN
    where undefined (no shared item, or no chance disagreement)."""
    confusions = np.asarray(confusions, dtype=float)
    n_classes = confusions.shape[-1]
    index = np.arange(n_classes)
    if weights is None:
        w = (index[:, None] != index[None, :]).astype(float)
    elif weights == "linear":
        w = np.abs(index[:, None] - index[None, :]).astype(float)
    else:
        raise ValueError(f"unknown kappa weights {weights!r}")
    total = confusions.sum(axis=(1, 2))
    expected = confusions.sum(axis=2)[:, :, None] * confusions.sum(axis=1)[:, None, :]
    expected /= np.where(total > 0, total, 1.0)[:, None, None]
    chance = (w * expected).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 1.0 - (w * confusions).sum(axis=(1, 2)) / chance
    kappa[(total == 0) | (chance == 0)] = np.nan
    return kappa


def join_is_cheaper(labels_per_image: np.ndarray, annotators: int) -> bool:
    """Whether joining each image's labels with each other (a row per two labels of an
    image) costs less than reading every image once per pair of annotators: a crowd whose
    pairs mostly never meet, yes; a team, or people who all labelled the same images (50 of
    them on 100,000 images would join 250 million rows), no. Pure."""
    joined = int((np.asarray(labels_per_image, dtype=np.int64) ** 2).sum())
    return joined < annotators * (annotators - 1) // 2 * len(labels_per_image)


def pair_confusions(matrix: LabelMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of annotator columns a < b of `matrix` that share an image, as (pairs, 2)
    indexes in order, and their confusion matrices (pairs, k, k; rows: a's labels), at once:
    for a team, column by column; for a crowd, each image's labels joined with each other,
    where the work grows with the pairs that meet on an image, not with every pair of people
    (3,000 people who each labelled a few images took minutes pair by pair)."""
    k = len(matrix.task.classes)
    n = len(matrix.annotators)
    labelled = matrix.labelled
    if not join_is_cheaper(labelled.sum(axis=1), n):
        met, confusions = [], []
        for a, b in combinations(range(n), 2):
            both = labelled[:, a] & labelled[:, b]
            if both.any():
                met.append((a, b))
                confusions.append(confusion_matrix(matrix.codes[both, a], matrix.codes[both, b], k))
        return np.array(met, dtype=np.int64).reshape(-1, 2), np.array(confusions, dtype=np.int64).reshape(-1, k, k)
    image, annotator = np.nonzero(labelled)
    code = matrix.codes[image, annotator].astype(np.int64)
    labels = pd.DataFrame({"image": image, "annotator": annotator.astype(np.int64), "code": code})
    met = labels.merge(labels, on="image", suffixes=("_a", "_b"))
    met = met[met["annotator_a"].to_numpy() < met["annotator_b"].to_numpy()]
    pair_keys = met["annotator_a"].to_numpy() * n + met["annotator_b"].to_numpy()
    found, which = np.unique(pair_keys, return_inverse=True)
    confusions = np.zeros((len(found), k, k), dtype=np.int64)
    np.add.at(confusions, (which, met["code_a"].to_numpy(), met["code_b"].to_numpy()), 1)
    return np.stack(np.divmod(found, n), axis=1), confusions


def pair_agreements(matrix: LabelMatrix) -> list[PairAgreement]:
    """Agreement of every pair of annotators of `matrix` that share an image, in column
    order (`pair_confusions`); the statistics computed for all pairs at once, then read
    as Python numbers (a crowd has ~650,000 pairs: numpy's scalars one by one cost seconds)."""
    pairs, confusions = pair_confusions(matrix)
    counts = matrix.labelled.sum(axis=0).tolist()
    overlapping = confusions.sum(axis=(1, 2)).tolist()
    agreed = np.trace(confusions, axis1=1, axis2=2).tolist()
    kappas = [None if math.isnan(v) else v for v in cohen_kappas(confusions).tolist()]
    if matrix.task.ordered:
        weighted = [None if math.isnan(v) else v for v in cohen_kappas(confusions, "linear").tolist()]
    else:
        weighted = [None] * len(kappas)
    classes, task, names = matrix.task.classes, matrix.task.name, matrix.annotators
    result = []
    for (a, b), shared, same, kappa, weighted_kappa, confusion in zip(
        pairs.tolist(), overlapping, agreed, kappas, weighted, confusions.tolist()
    ):
        note = None
        if kappa is None:
            only = classes[next(i for i, row in enumerate(confusion) if row[i])]
            note = f"kappa undefined: both said only {only!r} on the shared images"
        result.append(
            PairAgreement(
                task=task,
                annotator_a=names[a],
                annotator_b=names[b],
                count_a=counts[a],
                count_b=counts[b],
                overlapping=shared,
                mismatched=shared - same,
                total=counts[a] + counts[b] - shared,
                percent_agreement=100.0 * same / shared,
                kappa=kappa,
                weighted_kappa=weighted_kappa,
                confusion=confusion,
                note=note,
            )
        )
    return result


def krippendorff_alpha(matrix: LabelMatrix, level: str) -> float | None:
    """Krippendorff's alpha over all annotators at `level` (ordinal or nominal); None if undefined."""
    import krippendorff

    counts = matrix.class_counts()
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None  # nothing pairable, or a single class used: expected disagreement is 0
    value = float(
        krippendorff.alpha(
            value_counts=pairable,
            value_domain=list(range(len(matrix.task.classes))),
            level_of_measurement=level,
        )
    )
    return None if np.isnan(value) else value


@dataclass(frozen=True)
class TaskAgreement:
    """All pairs of annotators on one task, and alpha when there are three or more."""

    task: str
    classes: list[str]
    annotators: list[str]
    images: int
    pairs: list[PairAgreement] = field(default_factory=list)  # the pairs that share an image
    alpha_ordinal: float | None = None
    alpha_nominal: float | None = None
    note: str | None = None
    pairs_apart: int = 0  # pairs of annotators that share no image: nothing to measure
    apart_examples: list[str] = field(default_factory=list)  # the first few of them, "a / b"
    ordered: bool = False  # the classes are in order (Task.ordered): weighted kappa and ordinal alpha

    @property
    def comparable(self) -> bool:
        return self.note is None

    def to_dict(self) -> dict:
        return {
            name: [p.to_dict() for p in self.pairs] if name == "pairs" else getattr(self, name) for name in TASK_FIELDS
        }


TASK_FIELDS = tuple(f.name for f in fields(TaskAgreement))


def task_agreement(labels: pd.DataFrame, task: Task) -> TaskAgreement:
    """Pairwise agreement on one task; `note` says why there is nothing to compare."""
    matrix = label_matrix(labels, task)
    base = dict(
        task=task.name,
        classes=list(task.classes),
        annotators=matrix.annotators,
        images=len(matrix.images),
        ordered=task.ordered,
    )
    if not len(matrix.images):
        return TaskAgreement(**base, note="no labels")
    if len(matrix.annotators) < 2:
        return TaskAgreement(**base, note=f"only one annotator ({matrix.annotators[0]})")
    if not (matrix.labelled.sum(axis=1) >= 2).any():
        return TaskAgreement(**base, note="no image was labelled by two annotators")
    pairs = pair_agreements(matrix)
    n = len(matrix.annotators)
    apart = n * (n - 1) // 2 - len(pairs)
    alphas = {}
    if len(matrix.annotators) >= 3:
        levels = ("ordinal", "nominal") if task.ordered else ("nominal",)
        alphas = {f"alpha_{level}": krippendorff_alpha(matrix, level) for level in levels}
    met = {(p.annotator_a, p.annotator_b) for p in pairs} if apart else set()
    examples = list(islice(pairs_apart(matrix.annotators, met), SHOWN_APART)) if apart else []
    return TaskAgreement(**base, pairs=pairs, pairs_apart=apart, apart_examples=examples, **alphas)


SHOWN_APART = 3  # pairs sharing no image named (TaskAgreement.apart_examples)


def pairs_apart(annotators: list[str], met: set[tuple[str, str]]):
    """ "a / b" for each pair of annotators (in order) that is not in `met`, lazily."""
    for a, b in combinations(annotators, 2):
        if (a, b) not in met:
            yield f"{a} / {b}"


def agreement_report(labels: pd.DataFrame, tasks: tuple[Task, ...]) -> list[TaskAgreement]:
    """`task_agreement` for each task, in the workspace's order."""
    return [task_agreement(labels, task) for task in tasks]
