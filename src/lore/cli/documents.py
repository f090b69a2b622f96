"""`lore documents list|show|delete`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lore.cli.common import DataDir, JsonFlag, console, open_lore, print_json
from lore.wire.schemas import DocumentDetail, DocumentOut, DocumentPage

app = typer.Typer(help="Inspect and remove documents.", no_args_is_help=True)


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
        collections = [collection] if collection else None
        page = lore.list_documents(collections=collections, limit=limit, cursor=cursor)
    if as_json:
        listed = DocumentPage(items=[DocumentOut.of(d) for d in page.items], next_cursor=page.next_cursor)
        print_json(listed.model_dump(mode="json"))
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
        print_json(DocumentDetail.of(document).model_dump(mode="json"))
    else:
        console.print(f"[bold]{document.title}[/bold]  [green]{document.source}[/green]")
        console.print(document.text or "")


@app.command("delete")
def delete(document_id: str, data_dir: DataDir = None) -> None:
    """Remove a document and its chunks."""
    with open_lore(data_dir) as lore:
        lore.delete_document(document_id)
    console.print(f"deleted {document_id}")
