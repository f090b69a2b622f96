"""`lore ask QUESTION`: a grounded answer, streamed to the terminal, then the sources it cites; from a running
`lore serve` of the same data dir when one is up (`lore.cli.remote`), else in this process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from lore.cli.collections import check_names, say_if_empty
from lore.cli.common import Collections, DataDir, JsonFlag, check_data_dir, console, print_json, settings_for
from lore.cli.conversations import citation_line
from lore.cli.search import NoServer
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.cli.remote import Server
    from lore.config import Settings
    from lore.conversations import Answering, Question, StoredTurn

Turn = dict[str, Any]  # {"conversation_id", "question", "answer"}, each message a `MessageOut`


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    conversation: Annotated[
        str | None,
        typer.Option(
            "--conversation",
            help="Continue this conversation (its id or a unique prefix); default: a new one.",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="Provider, or a fallback chain like openai,extractive."),
    ] = None,
    collection: Collections = None,
    no_server: NoServer = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a question from the knowledge base, citing the passages it comes from."""
    from lore.cli.remote import local_server

    settings = settings_for(data_dir)
    check_data_dir(settings, create=False)
    body = {"content": question, "stream": True, "provider": provider, "collection": collection or None}
    server = None if no_server else local_server(settings)
    if server is not None:
        with server:
            full_id = _full_id(server, conversation, data_dir)
            turn = _served(server, settings, full_id, body, echo=not as_json)
    else:
        turn = _here(settings, conversation, body, echo=not as_json)
    if as_json:
        print_json(turn)
    else:
        _render_sources(turn)


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# -- through the server -------------------------------------------------------------------------------------


def _full_id(server: Server, given: str | None, data_dir: Path | None) -> str | None:
    """A conversation id as given, or the one its prefix names (looked up in the store)."""
    from lore.cli.common import open_store
    from lore.cli.ids import resolve
    from lore.errors import LoreError

    if given is None:
        return None
    try:
        return str(server.call("GET", f"/v1/conversations/{given}")["id"])
    except LoreError as error:
        if error.code != "not_found":
            raise
    with open_store(data_dir) as db:
        return resolve(db.engine, "conversation", given)


def _served(
    server: Server, settings: Settings, conversation_id: str | None, body: dict[str, Any], *, echo: bool
) -> Turn:
    """The streamed answer; a conversation started here is deleted again if the answer fails."""
    from lore.cli.remote import failure

    check_names([c["name"] for c in server.collections], body["collection"])
    say_if_empty(settings, [c["document_count"] for c in server.collections])
    started = None if conversation_id else str(server.call("POST", "/v1/conversations", json={})["id"])
    target = conversation_id or started
    answer = None
    try:
        for event, data in server.events(f"/v1/conversations/{target}/messages", body):
            if event == "token" and echo:
                _echo(data["text"])
            elif event == "message":
                answer = data
            elif event == "error":
                raise failure(data)
    except BaseException:
        if started is not None:
            server.call("DELETE", f"/v1/conversations/{started}")
        raise
    recent = server.call("GET", f"/v1/conversations/{target}/messages", params={"limit": 2})["items"]
    asked = next(message for message in recent if message["role"] == "user")
    return {"conversation_id": target, "question": asked, "answer": answer}


# -- in this process ----------------------------------------------------------------------------------------


def _here(settings: Settings, conversation_id: str | None, body: dict[str, Any], *, echo: bool) -> Turn:
    from lore.answers import provider_names
    from lore.cli.ids import resolve
    from lore.conversations import Question, open_answering
    from lore.service import Lore
    from lore.wire.conversations import MessageOut

    with Lore.open(settings) as lore:
        infos = lore.list_collections()
        check_names([info.name for info in infos], body["collection"])
        say_if_empty(settings, [info.document_count for info in infos])
        if conversation_id is not None:
            conversation_id = resolve(lore.store.engine, "conversation", conversation_id)
        providers = provider_names(body["provider"]) if body["provider"] else None
        asked = Question(body["content"], body["collection"], providers=providers)
        turn = _answer(open_answering(lore), conversation_id, asked, echo=echo)
    return {
        "conversation_id": turn.conversation_id,
        "question": MessageOut.of(turn.question).model_dump(mode="json"),
        "answer": MessageOut.of(turn.answer).model_dump(mode="json"),
    }


def _answer(
    answering: Answering, conversation_id: str | None, question: Question, *, echo: bool
) -> StoredTurn:
    """Stream the answer (to stdout when `echo`); a conversation started here is removed again if the
    answer fails, so a failed question leaves nothing behind."""
    from lore.answers import TextDelta

    started = None
    if conversation_id is None:
        started = answering.records.create(DEFAULT_TENANT).id
    try:
        prepared = answering.prepare(DEFAULT_TENANT, conversation_id or started or "", question)
        for event in answering.answer(prepared):
            if isinstance(event, TextDelta):
                if echo:
                    _echo(event.text)
            else:
                return event
    except BaseException:
        if started is not None:
            answering.records.delete(DEFAULT_TENANT, started)
        raise
    raise AssertionError("unreachable: an answer stream ends with the stored turn or raises")


# -- the sources ----------------------------------------------------------------------------------------------


def _render_sources(turn: Turn) -> None:
    answer = turn["answer"]
    sys.stdout.write("\n")
    if answer["citations"]:
        console.print()
        console.print(Text("Sources", style="bold"))
    for citation in answer["citations"]:
        console.print(citation_line(citation), soft_wrap=True)
    console.print()
    conversation = turn["conversation_id"]
    hint = f"conversation {conversation}: follow up with --conversation {conversation[:12]}"
    console.print(Text(hint, "dim"), soft_wrap=True)
