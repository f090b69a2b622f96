"""PostgreSQL's keyword index: `tsvector` rows built from already normalised terms, ranked with BM25.

`chunks_fts` holds one row per chunk: the terms of `rows.keyword_text`, with Latin diacritics removed and reduced
to their English stem by the Snowball dictionary `lore_english_stem` (as SQLite's `porter unicode61
remove_diacritics 2` tokenizer does), as a tsvector literal (each stem a quoted lexeme with its positions: no text
search parser re-splits the terms), and the number of terms. `chunks_fts_stats` keeps the totals BM25 needs
(chunks, terms), updated in the same write transaction.

The score is BM25 (k1 = 1.2, b = 0.75) with the term frequency read through `ts_rank` of the single term: with
equal weights that is sum(1/j², j = 1..tf) / (π²/6), a saturating function of tf (0.61 for one occurrence, 0.76
for two, towards 1), standing in for tf inside the usual BM25 saturation and length normalisation. Document
frequencies and the chunk count are global, as in SQLite's FTS5, so a chunk's score does not depend on filters.

A search is one statement: the function `chunks_fts_bm25` (migration 0012, which holds the arithmetic) stems the
query's words as `Stems` does, reads the totals and each stem's document frequency and scores every chunk
matching any stem, under its own `SET enable_seqscan = off`; the statement around the call joins `chunks` and
applies the search's conditions, whatever they are. A filter therefore narrows what is returned, not what is
scored: every chunk in the database that matches a term is scored, except with `only_ids`, which the function
takes, so that scoring a few chunks reads only those.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR

from lore.backends.store.queries import Condition
from lore.backends.store.schema import chunks

K1, B = 1.2, 0.75
MAX_POSITION = 16383  # tsvector positions stop here
MAX_POSITIONS = 256  # positions kept per lexeme
MAX_LEXEME_BYTES = 2046  # longer words cannot be tsvector lexemes (and are never useful terms)
STEMMER = "lore_english_stem"  # created by migration 0002

fts = sa.table(
    "chunks_fts",
    sa.column("chunk_id", sa.BigInteger()),
    sa.column("body", TSVECTOR()),
    sa.column("term_count", sa.Integer()),
)
stats = sa.table(
    "chunks_fts_stats",
    sa.column("id", sa.Integer()),
    sa.column("chunks", sa.BigInteger()),
    sa.column("terms", sa.BigInteger()),
)


def _latin_without_diacritics() -> dict[int, str]:
    """Latin letters with diacritics -> their base letter: what SQLite's `remove_diacritics` does. Other
    scripts keep their marks (in Thai or Hindi a vowel sign changes the word)."""
    table: dict[int, str] = {}
    for lo, hi in ((0x00C0, 0x024F), (0x1E00, 0x1EFF)):
        for cp in range(lo, hi + 1):
            decomposed = unicodedata.normalize("NFD", chr(cp))
            if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
                table[cp] = decomposed[0]
    return table


_FOLD_LATIN = _latin_without_diacritics()


def lexeme(term: str) -> str:
    """A term as a quoted lexeme of tsvector/tsquery input: never read as operators or weights."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _indexable(term: str) -> bool:
    return len(term.encode()) <= MAX_LEXEME_BYTES


class Stems:
    """term -> stem by the dictionary `STEMMER`, looked up in the database once per distinct term and kept: a
    stem depends only on the term, so every process and replica derives the same lexemes, and a search, which
    stems in the database, the lexemes the index holds."""

    def __init__(self, limit: int = 200_000) -> None:
        self._known: dict[str, str] = {}
        self._limit = limit

    def lookup(self, conn: sa.Connection, terms: Sequence[str]) -> list[str]:
        """The stems of `terms` without Latin diacritics, in order (terms too long to index are dropped)."""
        wanted = _searchable(terms)
        missing = sorted({term for term in wanted if term not in self._known})
        if missing:
            if len(self._known) + len(missing) > self._limit:
                self._known = {}
            rows = conn.execute(
                sa.text(
                    f"SELECT t, coalesce((ts_lexize('{STEMMER}', t))[1], t) "
                    "FROM unnest(CAST(:terms AS text[])) AS t"
                ),
                {"terms": missing},
            )
            self._known.update((term, stem) for term, stem in rows)
        known = self._known
        return [known.get(term, term) for term in wanted]


def tsvector_text(words: Sequence[str], stems: Sequence[str]) -> str:
    """The tsvector literal of a chunk's terms (`words`, in order) and their `stems` (of the indexable ones)."""
    positions: dict[str, list[int]] = {}
    indexable = (position for position, word in enumerate(words, start=1) if _indexable(word))
    for position, stem in zip(indexable, stems, strict=True):
        seen = positions.setdefault(stem, [])
        if len(seen) < MAX_POSITIONS and (not seen or seen[-1] < MAX_POSITION):
            seen.append(min(position, MAX_POSITION))
    return " ".join(f"{lexeme(stem)}:{','.join(map(str, seen))}" for stem, seen in positions.items())


def index(conn: sa.Connection, rows: Sequence[tuple[int, str]], stems: Stems) -> None:
    if not rows:
        return
    texts = [(chunk_id, text.split()) for chunk_id, text in rows]
    stems.lookup(conn, [word for _, words in texts for word in words])  # one round trip for the new terms
    values = []
    for chunk_id, words in texts:
        body = tsvector_text(words, stems.lookup(conn, words))
        values.append({"cid": chunk_id, "body_text": body, "count": len(words)})
    insert = sa.insert(fts).values(
        chunk_id=sa.bindparam("cid"),
        body=sa.cast(sa.bindparam("body_text", type_=sa.Text()), TSVECTOR),
        term_count=sa.bindparam("count"),
    )
    conn.execute(insert, values)
    _count(conn, len(values), sum(len(words) for _, words in texts))


def unindex(conn: sa.Connection, chunk_ids: Sequence[int]) -> None:
    deleted = conn.execute(
        sa.delete(fts).where(fts.c.chunk_id.in_(list(chunk_ids))).returning(fts.c.term_count)
    )
    counts = list(deleted.scalars())
    if counts:
        _count(conn, -len(counts), -sum(counts))


def _count(conn: sa.Connection, chunk_delta: int, term_delta: int) -> None:
    conn.execute(
        sa.update(stats)
        .where(stats.c.id == 1)
        .values(chunks=stats.c.chunks + chunk_delta, terms=stats.c.terms + term_delta)
    )


def _float(value: float) -> sa.ColumnElement[float]:
    return sa.literal(value, sa.Float())


def _array(values: Sequence[Any], item: sa.types.TypeEngine[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(sa.literal(values, sa.ARRAY(item)), sa.ARRAY(item))


def _searchable(terms: Sequence[str]) -> list[str]:
    """`terms` without Latin diacritics, those too long to index dropped."""
    return [term.translate(_FOLD_LATIN) for term in terms if _indexable(term)]


def select(
    terms: Sequence[str], conditions: Sequence[Condition], only_ids: Sequence[int] | None = None
) -> sa.Select[Any]:
    """(chunk id, BM25 score) of chunks matching any of the query's `terms` and every condition, best first.

    One statement: `chunks_fts_bm25` (migration 0012) stems the terms, reads the totals and document
    frequencies and scores every chunk matching any stem (only `only_ids`, when given), and the statement around
    it keeps the chunks that meet the conditions, whatever they are. Scores are global, so the conditions can
    come after them; the price is that a filter narrows what is returned, not what is scored."""
    words = _searchable(terms)
    if not words:
        return sa.select(fts.c.chunk_id, _float(0.0).label("score")).where(sa.false())
    arguments = [_array(words, sa.Text()), _float(K1), _float(B)]
    if only_ids is not None:
        arguments.append(_array(list(only_ids), sa.BigInteger()))
    scored = sa.func.chunks_fts_bm25(*arguments).table_valued(
        sa.column("chunk_id", sa.BigInteger()), sa.column("score", sa.Float())
    )
    return (
        sa.select(scored.c.chunk_id, scored.c.score)
        .join_from(scored, chunks, chunks.c.id == scored.c.chunk_id)
        .where(*conditions)
        .order_by(scored.c.score.desc(), scored.c.chunk_id)
    )
