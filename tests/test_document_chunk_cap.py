"""`LORE_MAX_DOCUMENT_CHUNKS` bounds the chunks one document may make, on every ingestion path (text, upload,
files), which all parse and chunk in the parsing sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from lore.config import Settings
from lore.errors import DocumentTooLarge
from lore.service import Lore

SECTIONS = "\n\n".join(f"# Part {n}\n\n" + " ".join(f"word{n}x{i}" for i in range(300)) for n in range(6))


def test_a_document_over_the_chunk_cap_is_refused_and_one_under_it_is_kept(
    tmp_path: Path, model_cache: Path
) -> None:
    settings = Settings(
        _env_file=None, data_dir=tmp_path, model_cache_dir=model_cache, parse_workers=1, max_document_chunks=4
    )
    with Lore.open(settings) as lore:
        with pytest.raises(DocumentTooLarge) as refused:
            lore.add_text(title="Long", text=SECTIONS)
        assert refused.value.code == "document_too_large"
        (tmp_path / "long.md").write_text(SECTIONS)
        report = lore.ingest_paths([tmp_path / "long.md"])
        assert [failure.code for failure in report.failures] == ["document_too_large"]
        kept = lore.add_text(title="Short", text="# Part\n\nA short section that fits in one chunk.")
        assert 0 < kept.chunk_count <= 4
