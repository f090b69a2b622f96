"""`lore conversations list|show|delete`: the conversations `lore ask` and the API keep, read from the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from lore.cli.common import DataDir, JsonFlag, console, err_console, open_store, print_json
from lore.cli.ids import resolve, short
from lore.cli.tables import place, show, table, when
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.backends.store.conversation_records import ConversationRecords
    from lore.models import Message

app = typer.Typer(help="List, read and delete conversations.", no_args_is_help=True)
ConversationId = Annotated[str, typer.Argument(help="A conversation's id, or a unique prefix of it.")]
PAGE = 200  # messages read per page when showing a whole conversation


@app.command("list")
def list_conversations(
    limit: Annotated[int, typer.Option(help="Conversations per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Newest first, with the first characters of each id (enough for `show` and `lore ask --conversation`)."""
    with open_store(data_dir) as db:
        page = db.conversations.list_conversations(DEFAULT_TENANT, limit, cursor)
    if as_json:
        from lore.wire.conversations import ConversationOut, ConversationPage

        items = [ConversationOut.of(c) for c in page.items]
        print_json(ConversationPage(items=items, next_cursor=page.next_cursor).model_dump(mode="json"))
        return
    if not page.items and cursor is None:
        err_console.print('No conversations yet: `lore ask "a question"` starts one.')
        return
    grid = table(
        "id", "title", "messages", "owner", "updated", flexible=("title", "owner"), right=("messages",)
    )
    for c in page.items:
        grid.add_row(short(c.id), c.title or "-", str(c.message_count), c.owner or "-", when(c.updated_at))
    show(grid, console)
    if page.next_cursor:
        console.print(f"[dim]next page: --cursor {page.next_cursor}[/dim]")


@app.command("show")
def show_conversation(
    conversation_id: ConversationId, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Every message, oldest first, each answer with its sources (`--json`: the conversation with its
    `messages`, as the end-user export shapes it)."""
    from lore.wire.conversations import ConversationExport, ConversationOut, MessageOut

    with open_store(data_dir) as db:
        full_id = resolve(db.engine, "conversation", conversation_id)
        conversation = db.conversations.get(DEFAULT_TENANT, full_id)
        messages = _all_messages(db.conversations, full_id)
    if as_json:
        head = ConversationOut.of(conversation).model_dump()
        shown = ConversationExport(**head, messages=[MessageOut.of(m) for m in messages])
        print_json(shown.model_dump(mode="json"))
        return
    console.print(Text(conversation.title or "(untitled)", style="bold"))
    console.print(Text(f"{conversation.id} · {len(messages)} messages", style="dim"))
    for message in messages:
        _render(message)


@app.command("delete")
def delete(conversation_id: ConversationId, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Delete a conversation and its messages."""
    with open_store(data_dir) as db:
        full_id = resolve(db.engine, "conversation", conversation_id)
        db.conversations.delete(DEFAULT_TENANT, full_id)
    if as_json:
        print_json({"id": full_id, "deleted": True})
    else:
        console.print(f"deleted conversation {full_id}", highlight=False)


def _all_messages(records: ConversationRecords, conversation_id: str) -> list[Message]:
    messages: list[Message] = []
    cursor = None
    while True:
        page = records.messages(DEFAULT_TENANT, conversation_id, PAGE, cursor, order="oldest")
        messages.extend(page.items)
        if page.next_cursor is None:
            return messages
        cursor = page.next_cursor


def _render(message: Message) -> None:
    console.print()
    console.print(Text(f"{message.role} · {when(message.created_at)}", style="dim cyan"))
    console.print(Text(message.content))
    for citation in message.citations:
        console.print(Text("  ").append(citation_line(citation)), soft_wrap=True)


def citation_line(citation: dict[str, Any]) -> Text:
    """A source as answers list it: its marker, title, headings and source (a path is never cut across lines)."""
    line = Text.assemble((f"[{citation['marker']}] ", "dim"), (citation["title"], "bold"))
    if citation["heading_path"]:
        line.append(" › " + " › ".join(citation["heading_path"]), style="cyan")
    return line.append(f"  {place(citation['source'])}", style="green")
