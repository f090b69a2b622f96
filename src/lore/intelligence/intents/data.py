"""Labelled texts: read from CSV (columns `text` and `label`; `category` or `intent` also name the label),
hashed for the model's record, and split into training and a stratified validation share."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from lore.errors import InvalidInput

LABEL_COLUMNS = ("label", "category", "intent")
MAX_TEXT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Labelled:
    texts: list[str]
    labels: list[str]
    data_hash: str  # sha256 of the CSV's bytes

    def subset(self, rows: np.ndarray) -> Labelled:
        return Labelled([self.texts[i] for i in rows], [self.labels[i] for i in rows], self.data_hash)


def parse_csv(content: bytes) -> Labelled:
    """Rows with a text and a label; `InvalidInput` for a file without those columns or without two labels."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput("the CSV must be UTF-8", details={"position": error.start}) from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    label_column = next((name for name in LABEL_COLUMNS if name in columns), None)
    if "text" not in columns or label_column is None:
        raise InvalidInput("the CSV needs a `text` and a `label` column", details={"columns": columns})
    texts, labels = [], []
    for row in reader:
        sample, label = (row.get("text") or "").strip(), (row.get(label_column) or "").strip()
        if sample and label:
            texts.append(sample[:MAX_TEXT_CHARS])
            labels.append(label)
    if len(set(labels)) < 2:
        raise InvalidInput("training needs at least two labels", details={"labels": sorted(set(labels))})
    return Labelled(texts, labels, hashlib.sha256(content).hexdigest())


def stratified_split(labels: list[str], share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows): `share` of each label's rows, at least one, for labels with two or
    more rows; a label seen once stays in training."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        by_label[label].append(row)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    validation: list[int] = []
    for label in sorted(by_label):
        rows = rng.permutation(by_label[label])
        held = min(len(rows) - 1, max(1, round(share * len(rows)))) if len(rows) > 1 and share > 0 else 0
        validation.extend(rows[:held])
        train.extend(rows[held:])
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(validation), dtype=np.int64)
