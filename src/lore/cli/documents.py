"""`lore documents list|show|delete`: against the store alone (no model or index is loaded; a vector index
catches up with a deletion from the store's change sequence)."""

from __future__ import annotations

from typing import Annotated

import typer

from lore.cli.collections import check_collections, document_counts, say_if_empty
from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json, settings_for
from lore.cli.ids import resolve, short
from lore.cli.tables import place, show, table, when
from lore.models import DEFAULT_TENANT

app = typer.Typer(help="Inspect and remove documents.", no_args_is_help=True)
DocumentId = Annotated[str, typer.Argument(help="A document's id, or a unique prefix of it.")]


@app.command("list")
def list_documents(
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Only this collection.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Documents per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Newest first, with the first characters of each id (enough for `show` and `delete`)."""
    with open_store(data_dir) as db:
        collections = check_collections(db, [collection] if collection else None)
        page = db.documents.list_documents(DEFAULT_TENANT, collections, limit, cursor)
        counts = document_counts(db)
    empty = not page.items and cursor is None and not as_json and say_if_empty(settings_for(data_dir), counts)
    if as_json:
        from lore.wire.schemas import DocumentOut, DocumentPage

        listed = DocumentPage(items=[DocumentOut.of(d) for d in page.items], next_cursor=page.next_cursor)
        print_json(listed.model_dump(mode="json"))
        return
    if empty:
        return
    grid = table(
        "id",
        "collection",
        "title",
        "source",
        "chunks",
        "updated",
        flexible=("title", "source"),
        right=("chunks",),
        paths=("source",),
    )
    for d in page.items:
        grid.add_row(
            short(d.id), d.collection, d.title, place(d.source), str(d.chunk_count), when(d.updated_at)
        )
    show(grid, console)
    if page.next_cursor:
        console.print(f"[dim]next page: --cursor {page.next_cursor}[/dim]")


@app.command("show")
def show_document(document_id: DocumentId, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """One document with its text."""
    from lore.backends.store.access_records import no_document
    from lore.wire.schemas import DocumentDetail

    with open_store(data_dir) as db:
        full_id = resolve(db.engine, "document", document_id)
        document = db.documents.get_document(DEFAULT_TENANT, full_id, with_text=True)
    if document is None:
        raise no_document(full_id)
    if as_json:
        print_json(DocumentDetail.of(document).model_dump(mode="json"))
        return
    console.print(f"[bold]{document.title}[/bold]  [green]{document.source}[/green]", highlight=False)
    tags = f" · tags {', '.join(document.tags)}" if document.tags else ""
    console.print(
        f"[dim]{document.id} · {document.collection} · {document.chunk_count} chunks · updated "
        f"{when(document.updated_at)}{tags}[/dim]",
        highlight=False,
    )
    console.print()
    console.print(document.text or "", markup=False, highlight=False)


@app.command("delete")
def delete(document_id: DocumentId, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Remove a document and its chunks."""
    from lore.backends.store.access_records import no_document

    with open_store(data_dir) as db:
        full_id = resolve(db.engine, "document", document_id)
        if not db.documents.delete_document(DEFAULT_TENANT, full_id):
            raise no_document(full_id)
    if as_json:
        print_json({"id": full_id, "deleted": True})
    else:
        console.print(f"deleted {full_id}", highlight=False)
