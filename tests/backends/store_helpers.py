"""Helpers of the dialect-specific store tests (SQLite and PostgreSQL): one tiny document writer, a raw SQL
scalar, and an Alembic configuration on the packaged migrations."""

from __future__ import annotations

from importlib import resources

import numpy as np
from alembic.config import Config

from lore.backends.store.database import Database
from lore.models import ChunkDraft, Document, DocumentDraft, content_hash

TENANT, COLLECTION, MODEL = "t", "c", "m"


def write(db: Database, source: str, *texts: str, **metadata: object) -> Document:
    """A document of one chunk per text, each with the same 4-d vector."""
    chunks = [ChunkDraft(i, text, (), len(text.split()), text) for i, text in enumerate(texts)]
    body = "\n".join(texts)
    draft = DocumentDraft(TENANT, COLLECTION, "Title", source, body, content_hash(body), [], dict(metadata))
    vectors = {chunk.content_hash: np.ones(4, np.float32) for chunk in chunks}
    return db.documents.write_document(draft, chunks, vectors, MODEL)


def scalar(db: Database, sql: str) -> object:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("lore.migrations")))
    config.set_main_option("path_separator", "os")
    return config
