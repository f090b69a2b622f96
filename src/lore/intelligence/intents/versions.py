"""An intent model's versions: train one from a labelled CSV and store it as the next candidate, and find a
tenant's intent versions by id (another kind's model, or another tenant's, is not found)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lore.backends.store.trained_models import TrainedModel, not_found
from lore.intelligence.intents.data import parse_csv
from lore.intelligence.intents.serving import KIND
from lore.intelligence.intents.training import Progress, TrainingParams, train
from lore.names import check_name

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.config import Settings
    from lore.interfaces import Embedder


def training_params(settings: Settings) -> TrainingParams:
    intelligence = settings.intelligence
    return TrainingParams(
        validation_share=intelligence.intent_validation_share,
        target_precision=intelligence.intent_target_precision,
    )


def train_version(
    store: Database,
    embedder: Embedder,
    settings: Settings,
    tenant_id: str,
    content: bytes,
    name: str,
    *,
    activate: bool = False,
    progress: Progress | None = None,
) -> TrainedModel:
    """Train on `content` (CSV: text,label) with `embedder` and save the next version of `name`;
    `activate` makes it the serving version at once."""
    check_name("model", name)
    data = parse_csv(content)
    trained = train(data, embedder, training_params(settings), progress)
    record = store.trained_models.save(
        tenant_id,
        KIND,
        name,
        trained.model.dumps(),
        data_hash=data.data_hash,
        embedder=embedder.model_id,
        labels=trained.model.labels,
        metrics=trained.metrics,
        params=trained.params,
    )
    if activate:
        record = store.trained_models.activate(tenant_id, record.id)
    return record


def intent_version(store: Database, tenant_id: str, model_id: str) -> TrainedModel:
    """One of the tenant's intent versions; `NotFound` for any other id."""
    record = store.trained_models.get(tenant_id, model_id)
    if record.kind != KIND:
        raise not_found(model_id)
    return record
