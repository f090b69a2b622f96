"""A MovieLens-layout data set (`movies.csv`, `ratings.csv`, optional `tags.csv`, as GroupLens ships them) as
Lore sees it: movies become documents (title, genres, tags), ratings become `rating` events."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lore.core.ingest import CorpusDoc
from lore.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Ratings:
    """Every rating, sorted by time: parallel arrays of user, movie id, stars and Unix time."""

    users: np.ndarray
    movies: np.ndarray
    stars: np.ndarray
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.users)

    def where(self, mask: np.ndarray) -> Ratings:
        return Ratings(self.users[mask], self.movies[mask], self.stars[mask], self.times[mask])


@dataclass(frozen=True, slots=True)
class MovieLens:
    name: str
    movies: dict[str, tuple[str, str]]  # movie id -> (title, genres)
    tags: list[tuple[str, str, int]]  # (movie id, tag, Unix time)
    ratings: Ratings

    def documents(self, before: int) -> Iterator[CorpusDoc]:
        """Each movie as a document; only tags given before `before` (what was known at the cut) are in it."""
        tags: dict[str, list[str]] = defaultdict(list)
        for movie, tag, at in self.tags:
            if at < before and tag not in tags[movie]:
                tags[movie].append(tag)
        for movie, (title, genres) in self.movies.items():
            lines = [title, f"Genres: {', '.join(genres.split('|'))}"]
            if tags[movie]:
                lines.append(f"Tags: {', '.join(tags[movie])}")
            yield CorpusDoc(movie, title, "\n".join(lines))


def load(directory: Path) -> MovieLens:
    files = {name: directory / f"{name}.csv" for name in ("movies", "ratings", "tags")}
    missing = [str(files[name]) for name in ("movies", "ratings") if not files[name].is_file()]
    if missing:
        raise InvalidInput(f"not a MovieLens-layout data set: missing {', '.join(missing)}")
    movies = {row["movieId"]: (row["title"], row["genres"]) for row in _rows(files["movies"])}
    tags = (
        [(row["movieId"], row["tag"], int(row["timestamp"])) for row in _rows(files["tags"])]
        if files["tags"].is_file()
        else []
    )
    rows = [r for r in _rows(files["ratings"]) if r["movieId"] in movies]
    order = np.argsort([int(r["timestamp"]) for r in rows], kind="stable")
    ratings = Ratings(
        np.array([rows[i]["userId"] for i in order], dtype=object),
        np.array([rows[i]["movieId"] for i in order], dtype=object),
        np.array([float(rows[i]["rating"]) for i in order], dtype=np.float64),
        np.array([int(rows[i]["timestamp"]) for i in order], dtype=np.int64),
    )
    if not len(ratings):
        raise InvalidInput("the data set has no ratings of its movies", details={"dir": str(directory)})
    return MovieLens(directory.name, movies, tags, ratings)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)
