"""`lore documents list|show|delete`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lore.cli.common import DataDir, JsonFlag, console, open_lore, print_json
from lore.models import Document

app = typer.Typer(help="Inspect and remove documents.", no_args_is_help=True)


def _document_dict(document: Document) -> dict[str, object]:
    return {
        "id": document.id,
        "collection": document.collection,
        "title": document.title,
        "source": document.source,
        "tags": document.tags,
        "metadata": document.metadata,
        "chunk_count": document.chunk_count,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
    }


@app.command("list")
def list_documents(
    collection: Annotated[str | None, typer.Option("--collection", "-c")] = None,
    limit: Annotated[int, typer.Option(help="Documents per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Newest first."""
    with open_lore(data_dir) as lore:
        page = lore.list_documents(collection=collection, limit=limit, cursor=cursor)
    if as_json:
        print_json({"items": [_document_dict(d) for d in page.items], "next_cursor": page.next_cursor})
        return
    table = Table("id", "collection", "title", "chunks", "updated")
    for d in page.items:
        table.add_row(
            d.id, d.collection, d.title, str(d.chunk_count), d.updated_at.isoformat(timespec="seconds")
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"[dim]next page: --cursor {page.next_cursor}[/dim]")


@app.command("show")
def show(document_id: str, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """One document with its text."""
    with open_lore(data_dir) as lore:
        document = lore.get_document(document_id)
    if as_json:
        print_json({**_document_dict(document), "text": document.text})
    else:
        console.print(f"[bold]{document.title}[/bold]  [green]{document.source}[/green]")
        console.print(document.text or "")


@app.command("delete")
def delete(document_id: str, data_dir: DataDir = None) -> None:
    """Remove a document and its chunks."""
    with open_lore(data_dir) as lore:
        lore.delete_document(document_id)
    console.print(f"deleted {document_id}")
