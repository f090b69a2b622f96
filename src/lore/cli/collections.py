"""`lore collections list|show|delete`, and the checks other commands make of the collections they name: an
unknown collection is an error that lists the collections there are, never an empty result."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, console, err_console, open_store, print_json
from lore.cli.tables import show, table, when
from lore.errors import InvalidInput
from lore.models import DEFAULT_TENANT
from lore.names import no_collection

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.config import Settings
    from lore.models import CollectionInfo

app = typer.Typer(help="List, inspect and delete collections.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(help="The collection's name.")]


def check_collections(db: Database, names: Sequence[str] | None) -> list[str] | None:
    """`names` if every one is a collection of the default tenant (None stays None: all of them)."""
    if not names:
        return None
    from lore.backends.store.documents import named_collections

    return [info.name for info in named_collections(db.documents.list_collections(DEFAULT_TENANT), names)]


def check_names(known: Sequence[str], asked: Sequence[str] | None) -> None:
    """Every collection asked for is one of the `known` ones (for a server's answer, or a listing at hand)."""
    for name in asked or ():
        if name not in known:
            raise no_collection(name, known)


def say_if_empty(settings: Settings, counts: Sequence[int]) -> bool:
    """Whether the collections (their document `counts`) hold no document at all; if so, says how to add some."""
    if sum(counts):
        return False
    where = settings.storage.data_dir.resolve()
    err_console.print(
        f"The knowledge base in {where} is empty: add documents with `lore ingest PATH`.", highlight=False
    )
    return True


def document_counts(db: Database) -> list[int]:
    return [info.document_count for info in db.documents.list_collections(DEFAULT_TENANT)]


@app.command("list")
def list_collections(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every collection, with its documents, chunks and embedding model."""
    with open_store(data_dir) as db:
        infos = db.documents.list_collections(DEFAULT_TENANT)
    if as_json:
        from lore.wire.schemas import CollectionList, CollectionOut

        print_json(CollectionList(items=[CollectionOut.of(i) for i in infos]).model_dump(mode="json"))
        return
    if not infos:
        err_console.print("No collections yet: `lore ingest PATH --collection NAME` makes one.")
        return
    grid = table(
        "name", "documents", "chunks", "model", "created", flexible=("model",), right=("documents", "chunks")
    )
    for info in infos:
        grid.add_row(
            info.name, str(info.document_count), str(info.chunk_count), _model(info), when(info.created_at)
        )
    show(grid, console)


@app.command("show")
def show_collection(name: Name, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """One collection: its documents, chunks, embedding model and any re-embedding under way."""
    from lore.backends.store.documents import named_collections
    from lore.wire.schemas import CollectionOut

    with open_store(data_dir) as db:
        (info,) = named_collections(db.documents.list_collections(DEFAULT_TENANT), [name])
    if as_json:
        print_json(CollectionOut.of(info).model_dump(mode="json"))
        return
    console.print(f"[bold]{info.name}[/bold]", highlight=False)
    for label, value in (
        ("documents", str(info.document_count)),
        ("chunks", str(info.chunk_count)),
        ("model", _model(info)),
        ("re-embedding to", info.pending_model_id or "-"),
        ("created", when(info.created_at)),
    ):
        console.print(f"  {label:<16}{value}", highlight=False)


@app.command("delete")
def delete(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete a collection and every document in it, in one transaction (asks first unless --yes)."""
    from lore.backends.store.documents import named_collections
    from lore.security.audit import AuditLog
    from lore.security.principal import operator
    from lore.wire.schemas import CollectionDeleted

    with open_store(data_dir) as db:
        (info,) = named_collections(db.documents.list_collections(DEFAULT_TENANT), [name])
        if not yes:
            _confirm(info)
        deleted = db.documents.delete_collection(DEFAULT_TENANT, name)
        if deleted is None:
            raise no_collection(name, [c.name for c in db.documents.list_collections(DEFAULT_TENANT)])
        summary = {"documents": deleted}
        AuditLog(db.audit).record(
            DEFAULT_TENANT, operator(DEFAULT_TENANT).actor, "collection.deleted", name, summary
        )
    if as_json:
        print_json(CollectionDeleted(name=name, deleted_documents=deleted).model_dump(mode="json"))
    else:
        console.print(f"deleted collection {name} and its {deleted} documents", highlight=False)


def _confirm(info: CollectionInfo) -> None:
    question = f"Delete collection {info.name!r} and its {info.document_count} documents?"
    if not sys.stdin.isatty():
        raise InvalidInput(f"{question} Nobody is there to answer: pass --yes to delete without asking.")
    if not typer.confirm(question, default=False, err=True):
        err_console.print("nothing deleted")
        raise typer.Exit(1)


def _model(info: CollectionInfo) -> str:
    return info.model_id or "default"
