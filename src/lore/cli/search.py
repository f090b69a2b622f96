"""`lore search QUERY`: ranked hits with highlighted snippets."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from lore.cli.common import Collections, DataDir, JsonFlag, console, open_lore, print_json
from lore.core.retrieve import SearchRequest
from lore.models import DEFAULT_TENANT, Hit, SearchMode


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of hits.")] = 10,
    mode: Annotated[SearchMode, typer.Option("--mode", "-m", help="hybrid, vector or keyword.")] = "hybrid",
    collection: Collections = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Search the knowledge base."""
    with open_lore(data_dir) as lore:
        hits = lore.search(SearchRequest(DEFAULT_TENANT, query, k, mode, collection or None))
    if as_json:
        print_json({"query": query, "mode": mode, "hits": [hit_dict(hit) for hit in hits]})
        return
    if not hits:
        console.print("[dim]no results[/dim]")
    for rank, hit in enumerate(hits, 1):
        _render(rank, hit)


def hit_dict(hit: Hit) -> dict[str, object]:
    chunk = hit.chunk
    return {
        "chunk_id": chunk.id,
        "document_id": chunk.document_id,
        "collection": chunk.collection,
        "title": chunk.title,
        "source": chunk.source,
        "heading_path": chunk.heading_path,
        "snippet": hit.snippet,
        "highlights": hit.highlights,
        "score": round(hit.score, 6),
        "scores": {"vector": hit.vector_score, "keyword": hit.keyword_score},
    }


def _render(rank: int, hit: Hit) -> None:
    heading = " › ".join(hit.chunk.heading_path)
    title = Text.assemble((f"{rank:>2}. ", "dim"), (hit.chunk.title, "bold"))
    if heading:
        title.append(f" › {heading}", style="cyan")
    title.append(f"  {hit.score:.4f}", style="dim")
    snippet = Text(hit.snippet)
    for start, end in hit.highlights:
        snippet.stylize("bold yellow", start, end)
    console.print(title)
    console.print(Text(f"    {hit.chunk.source}", style="green"))
    console.print(Text("    ").append(snippet))
    console.print()
