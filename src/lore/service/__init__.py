"""The service layer: `Lore` and the stateful parts it is built from.

- `ModelDirectory` (embedding_models.py): embedders by model id, which model serves which collection.
- `SearchCache` (search_cache.py): cached results and chunks, keyed by content versions.
- `IndexSync` and `IndexSaver` (index_sync.py): the derived indexes replayed from the store's change feed.
- `Ingestion` (ingestion.py): files, uploads and records written in batches; it owns the parsing sandbox.
"""

from lore.service.lore import Lore

__all__ = ["Lore"]
