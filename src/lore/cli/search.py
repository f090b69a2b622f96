"""`lore search QUERY`: ranked hits with highlighted snippets and their relevance, from a running `lore serve`
of the same data dir when one is up (`lore.cli.remote`), else in this process; recorded as a `search` event
either way, as the API's are."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from lore.cli.collections import check_names, say_if_empty
from lore.cli.common import Collections, DataDir, JsonFlag, check_data_dir, console, err_console, print_json
from lore.cli.tables import place
from lore.models import DEFAULT_TENANT, SearchMode

if TYPE_CHECKING:
    from lore.cli.remote import Server
    from lore.config import Settings

NoServer = Annotated[
    bool, typer.Option("--no-server", help="Work in this process even when a local `lore serve` is up.")
]


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of hits.")] = 10,
    mode: Annotated[SearchMode, typer.Option("--mode", "-m", help="hybrid, vector or keyword.")] = "hybrid",
    collection: Collections = None,
    no_server: NoServer = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Search the knowledge base. Each hit shows its relevance from 0 to 1, comparable across searches."""
    from lore.cli.common import settings_for
    from lore.cli.remote import local_server

    settings = settings_for(data_dir)
    check_data_dir(settings, create=False)
    body = {"query": query, "k": k, "mode": mode, "collection": collection or None}
    server = None if no_server else local_server(settings)
    found, counts = _served(server, body) if server else _here(settings, body)
    if as_json:
        print_json(found)
        return
    if not found["hits"] and not say_if_empty(settings, counts):
        err_console.print("no results")
    for rank, hit in enumerate(found["hits"], 1):
        _render(rank, hit)
    via = f" via {server.client.base_url}" if server else ""
    err_console.print(
        f"[dim]{len(found['hits'])} hits in {found['took_ms']:.0f} ms{via}[/dim]", highlight=False
    )


def _served(server: Server, body: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The server's answer, and the document counts of its collections."""
    check_names([c["name"] for c in server.collections], body["collection"])
    with server:
        found = server.call("POST", "/v1/search", json=body)
    return found, [c["document_count"] for c in server.collections]


def _here(settings: Settings, body: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    from lore.core.retrieve import SearchRequest
    from lore.intelligence.events import Asker, new_id, search_event
    from lore.service import Lore
    from lore.wire.schemas import HitOut, SearchOut

    query, mode, collections = body["query"], body["mode"], body["collection"]
    search_id = new_id()
    with Lore.open(settings) as lore:
        infos = lore.list_collections()
        check_names([info.name for info in infos], collections)
        start = time.perf_counter()
        hits = lore.search(SearchRequest(DEFAULT_TENANT, query, body["k"], mode, collections))
        took_ms = round((time.perf_counter() - start) * 1000, 3)
        first = collections[0] if collections else None
        lore.events.record(
            search_event(Asker(DEFAULT_TENANT, "operator"), search_id, query, mode, first, hits)
        )
    ranked = [HitOut.of(hit, rank) for rank, hit in enumerate(hits, start=1)]
    found = SearchOut(search_id=search_id, query=query, mode=mode, took_ms=took_ms, hits=ranked)
    return found.model_dump(mode="json"), [info.document_count for info in infos]


def _render(rank: int, hit: dict[str, Any]) -> None:
    title = Text.assemble((f"{rank:>2}. ", "dim"), (hit["title"], "bold"))
    if hit["heading_path"]:
        title.append(" › " + " › ".join(hit["heading_path"]), style="cyan")
    title.append(f"  {_score(hit)}", style="dim")
    snippet = Text(hit["snippet"])
    for start, end in hit["highlights"]:
        snippet.stylize("bold yellow", start, end)
    console.print(title)
    console.print(Text(f"    {place(hit['source'])}", style="green"))
    console.print(Text("    ").append(snippet))
    console.print()


def _score(hit: dict[str, Any]) -> str:
    """Relevance where it is known; in keyword mode, the BM25 score, which has no absolute scale."""
    if hit["relevance"] is not None:
        return f"relevance {hit['relevance']:.2f}"
    keyword = hit["scores"]["keyword"]
    return f"bm25 {keyword:.2f}" if keyword is not None else f"score {hit['score']:.3f}"
