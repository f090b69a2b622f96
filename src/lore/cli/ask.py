"""`lore ask QUESTION`: a grounded answer, streamed to the terminal, then the sources it cites."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from lore.answers import TextDelta, provider_names
from lore.cli.common import Collections, DataDir, JsonFlag, console, open_lore, print_json
from lore.conversations import Answering, Message, Question, StoredTurn, open_answering
from lore.models import DEFAULT_TENANT
from lore.wire.conversations import MessageOut


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", help="Continue this conversation (its id); default: start a new one."),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="Provider, or a fallback chain like openai,extractive."),
    ] = None,
    collection: Collections = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a question from the knowledge base, citing the passages it comes from."""
    with open_lore(data_dir) as lore:
        answering = open_answering(lore)
        asked = Question(
            question, collection or None, providers=provider_names(provider) if provider else None
        )
        turn = _answer(answering, conversation, asked, echo=not as_json)
    if as_json:
        print_json(
            {
                "conversation_id": turn.conversation_id,
                "question": _message_json(turn.question),
                "answer": _message_json(turn.answer),
            }
        )
    else:
        _render_sources(turn)


def _message_json(message: Message) -> dict[str, Any]:
    return MessageOut.of(message).model_dump(mode="json")


def _answer(
    answering: Answering, conversation_id: str | None, question: Question, *, echo: bool
) -> StoredTurn:
    """Stream the answer (to stdout when `echo`); a conversation started here is removed again if the
    answer fails, so a failed question leaves nothing behind."""
    started = None
    if conversation_id is None:
        started = answering.records.create(DEFAULT_TENANT).id
    try:
        prepared = answering.prepare(DEFAULT_TENANT, conversation_id or started or "", question)
        for event in answering.answer(prepared):
            if isinstance(event, TextDelta):
                if echo:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
            else:
                return event
    except BaseException:
        if started is not None:
            answering.records.delete(DEFAULT_TENANT, started)
        raise
    raise AssertionError("unreachable: an answer stream ends with the stored turn or raises")


def _render_sources(turn: StoredTurn) -> None:
    answer = turn.answer
    sys.stdout.write("\n")
    if answer.citations:
        console.print()
        console.print(Text("Sources", style="bold"))
    for citation in answer.citations:
        console.print(_source_line(citation), soft_wrap=True)  # a path cut across lines cannot be copied
    console.print()
    hint = f"conversation {turn.conversation_id}: follow up with --conversation {turn.conversation_id}"
    console.print(Text(hint, "dim"), soft_wrap=True)


def _source_line(citation: dict[str, Any]) -> Text:
    line = Text.assemble((f"[{citation['marker']}] ", "dim"), (citation["title"], "bold"))
    if citation["heading_path"]:
        line.append(" › " + " › ".join(citation["heading_path"]), style="cyan")
    return line.append(f"  {citation['source']}", style="green")
