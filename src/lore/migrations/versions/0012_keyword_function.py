"""PostgreSQL keyword ranking in one round trip: the function `chunks_fts_bm25`, which stems a query's words
and returns the BM25 score of every chunk matching any of them.

It carries `SET enable_seqscan = off` in its definition: the planner cannot tell how costly `@@` on a tsvector
is and, while the table is small, would read every row instead of the GIN index's matches; a plain statement
cannot carry the setting, and a transaction's `SET LOCAL` costs a round trip of its own. The statement around
the call applies the search's conditions (`lore.backends.store.pg_keywords.select`).

On SQLite nothing changes: FTS5 ranks in one statement already.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The arithmetic repeats, operation for operation, what the store computed in Python and bound into its
# statement before: idf = ln(1 + (N - n + 0.5) / (n + 0.5)), weight idf * (k1 + 1), per term
# weight * tf / ((tf + k1 * (1 - b)) + k1 * b / mean * terms), summed in the order of the query's words, tf being
# `ts_rank` of the single term with equal weights. Only term indexes are written into the dynamic statement;
# the terms and weights are its parameters.
CREATE = r"""
CREATE FUNCTION chunks_fts_bm25(words text[], k1 float8, b float8, only_ids bigint[] DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, score float8)
LANGUAGE plpgsql STABLE
SET enable_seqscan = off
AS $function$
DECLARE
    lexemes text[];  -- distinct stems as quoted lexemes, in the order of their first word
    queries tsquery[];
    total_chunks bigint;
    total_terms bigint;
    mean_terms float8;
    weights float8[];
    ranks text;
    sum_of_terms text;
BEGIN
    SELECT array_agg('''' || replace(replace(stem, '\', '\\'), '''', '''''') || '''' ORDER BY first)
    INTO lexemes
    FROM (
        SELECT stem, min(ord) AS first
        FROM unnest(words) WITH ORDINALITY AS w (word, ord),
            LATERAL coalesce((ts_lexize('lore_english_stem', word))[1], word) AS stem
        GROUP BY stem
    ) AS stems;
    IF lexemes IS NULL THEN
        RETURN;
    END IF;
    queries := ARRAY(SELECT CAST(lexeme AS tsquery) FROM unnest(lexemes) WITH ORDINALITY AS l (lexeme, ord)
                     ORDER BY ord);

    SELECT greatest(chunks, 1), terms INTO total_chunks, total_terms FROM chunks_fts_stats WHERE id = 1;
    mean_terms := greatest(CAST(total_terms AS float8) / CAST(total_chunks AS float8), float8 '1');
    -- document frequencies: a count of each term's GIN matches, which reads no tsvector
    SELECT array_agg(
        ln(1 + (CAST(total_chunks - matches AS float8) + float8 '0.5') / (CAST(matches AS float8) + float8 '0.5'))
        * (k1 + 1)
        ORDER BY ord)
    INTO weights
    FROM unnest(queries) WITH ORDINALITY AS q (query, ord),
        LATERAL (SELECT count(*) AS matches FROM chunks_fts WHERE body @@ q.query) AS n;

    SELECT string_agg(format('ts_rank(CAST(''{1,1,1,1}'' AS real[]), body, $1[%s], 0) AS r%s', i, i), ', '
                      ORDER BY i),
           string_agg(format(' + ($2[%s] * r%s) / ((r%s + $3) + $4 * term_count)', i, i, i), '' ORDER BY i)
    INTO ranks, sum_of_terms
    FROM generate_series(1, cardinality(queries)) AS i;
    -- setweight(body, 'D'), the weight every position has already, is the tsvector decompressed once per row,
    -- which the ranks share rather than each decompressing the stored value; OFFSET 0 keeps each step apart
    RETURN QUERY EXECUTE
        'SELECT chunk_id, float8 ''0''' || sum_of_terms
        || ' FROM (SELECT chunk_id, term_count, ' || ranks
        || ' FROM (SELECT chunk_id, term_count, setweight(body, ''D'') AS body FROM chunks_fts WHERE body @@ $5'
        || CASE WHEN only_ids IS NULL THEN '' ELSE ' AND chunk_id = ANY ($6)' END
        || ' OFFSET 0) AS matched OFFSET 0) AS ranked'
    USING queries, weights, k1 * (1 - b), k1 * b / mean_terms,
        CAST(array_to_string(lexemes, ' | ') AS tsquery), only_ids;
END
$function$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION chunks_fts_bm25(text[], float8, float8, bigint[])")
