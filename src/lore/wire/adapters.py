"""Wire models of query adapters' requests: training (as a job), activation and rollback. The adapters
themselves go out as `TrainedModelOut`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from lore.wire.schemas import MAX_QUERY_CHARS, Input
from lore.wire.trained_models import TrainedModelOut

MAX_PAIRS = 20_000
MAX_PASSAGE_CHARS = 20_000

Query = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]


class PairIn(Input):
    """A query and what answers it: one document, chunk or passage text."""

    query: Query
    document_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    chunk_id: Annotated[int, Field(ge=1)] | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSAGE_CHARS)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> PairIn:
        if sum(value is not None for value in (self.document_id, self.chunk_id, self.text)) != 1:
            raise ValueError("give exactly one of document_id, chunk_id and text")
        return self


class AdapterTrainIn(Input):
    pairs: Annotated[list[PairIn], Field(max_length=MAX_PAIRS)] = Field(
        default_factory=list, description="Labelled pairs to learn from."
    )
    from_events: bool = Field(False, description="Also learn from the tenant's clicks and helpful feedback.")
    activate: bool = Field(False, description="Activate the new version if it helped on held-out queries.")

    @model_validator(mode="after")
    def _something(self) -> AdapterTrainIn:
        if not self.pairs and not self.from_events:
            raise ValueError("give pairs, from_events, or both")
        return self


class AdapterActivateIn(Input):
    version: Annotated[int, Field(ge=1)] | None = Field(None, description="Default: the newest version.")
    force: bool = Field(False, description="Activate it even if it did not help on its held-out queries.")


class AdapterPage(BaseModel):
    items: list[TrainedModelOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class AdapterRollbackOut(BaseModel):
    active: TrainedModelOut | None = Field(description="The version active now; null: no adapter.")
