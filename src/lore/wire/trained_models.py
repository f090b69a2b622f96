"""The wire shape of a trained model's record (intent classifiers, query adapters, recommenders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from lore.backends.store.trained_models import ModelStatus, TrainedModel


class TrainedModelOut(BaseModel):
    id: str
    kind: str
    name: str
    version: int
    status: ModelStatus
    traffic_share: float | None
    embedder: str | None
    data_hash: str
    labels: list[Any]
    metrics: dict[str, Any]
    params: dict[str, Any]
    created_at: datetime
    activated_at: datetime | None

    @classmethod
    def of(cls, model: TrainedModel) -> TrainedModelOut:
        return cls(
            id=model.id,
            kind=model.kind,
            name=model.name,
            version=model.version,
            status=model.status,
            traffic_share=model.traffic_share,
            embedder=model.embedder,
            data_hash=model.data_hash,
            labels=model.labels,
            metrics=model.metrics,
            params=model.params,
            created_at=model.created_at,
            activated_at=model.activated_at,
        )
