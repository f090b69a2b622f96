"""`lore search QUERY`: ranked hits with highlighted snippets; recorded as a `search` event, as the API's are."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.text import Text

from lore.cli.common import Collections, DataDir, JsonFlag, console, open_lore, print_json
from lore.core.retrieve import SearchRequest
from lore.intelligence.events import Asker, new_id, search_event
from lore.models import DEFAULT_TENANT, Hit, SearchMode
from lore.wire.schemas import HitOut, SearchOut

OPERATOR_ASKS = Asker(DEFAULT_TENANT, "operator")


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of hits.")] = 10,
    mode: Annotated[SearchMode, typer.Option("--mode", "-m", help="hybrid, vector or keyword.")] = "hybrid",
    collection: Collections = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Search the knowledge base."""
    search_id = new_id()
    with open_lore(data_dir) as lore:
        start = time.perf_counter()
        hits = lore.search(SearchRequest(DEFAULT_TENANT, query, k, mode, collection or None))
        took_ms = round((time.perf_counter() - start) * 1000, 3)
        first = collection[0] if collection else None
        lore.events.record(search_event(OPERATOR_ASKS, search_id, query, mode, first, hits))
    if as_json:
        ranked = [HitOut.of(hit, rank) for rank, hit in enumerate(hits, start=1)]
        found = SearchOut(search_id=search_id, query=query, mode=mode, took_ms=took_ms, hits=ranked)
        print_json(found.model_dump(mode="json"))
        return
    if not hits:
        console.print("[dim]no results[/dim]")
    for rank, hit in enumerate(hits, 1):
        _render(rank, hit)


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
