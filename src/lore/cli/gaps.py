"""`lore gaps`: topics of questions the knowledge base served poorly, and `lore gaps promote CONVERSATION
MESSAGE`, which turns a good answer into a restricted draft article. Both act as the operator of a tenant.

lore gaps --since 2025-01-01 --json
lore gaps promote 3f9c... 42 --title "Reset a password"
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, console, open_lore, print_json
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.wire.gaps import GapsOut

app = typer.Typer(
    help="Topics of poorly served questions; promote a good answer to a draft article.",
    invoke_without_command=True,
)
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant to act in.")]


@app.callback()
def gaps(
    context: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="Start (UTC; default: 30 days ago)."),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="End, exclusive (UTC; default: now)."),
    ] = None,
    min_count: Annotated[int, typer.Option(min=1, help="Smallest topic shown.")] = 2,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Most topics shown.")] = 20,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Topics of poorly served questions, most asked first, with their trend, reasons and nearest articles
    (--json: a `GapsOut`, as `GET /v1/analytics/gaps` returns it)."""
    if context.invoked_subcommand is not None:
        return
    from lore.intelligence.gaps import KnowledgeGaps
    from lore.security.principal import operator
    from lore.wire.gaps import GapsOut

    with open_lore(data_dir) as lore:
        report = KnowledgeGaps(lore).report(
            operator(tenant), since=since, until=until, min_count=min_count, limit=limit
        )
    found = GapsOut.of(report)
    if as_json:
        print_json(found.model_dump(mode="json"))
    else:
        _render(found)


def _render(found: GapsOut) -> None:
    """One block per topic: its label, size and trend, then its reasons, other questions and nearest article."""
    span = f"{found.since:%Y-%m-%d} to {found.until:%Y-%m-%d}"
    console.print(f"{found.tenant_id}: {found.questions} poorly served questions, {span}", style="bold")
    if not found.topics:
        console.print("no gaps in this window", style="dim")
    for rank, topic in enumerate(found.topics, 1):
        weeks = " ".join(str(week.count) for week in topic.trend.weeks)
        console.print(f"{rank:>2}. {topic.label}", style="bold", markup=False, highlight=False)
        size = f"{topic.count} questions, {topic.users} askers, {topic.trend.direction} (weekly: {weeks})"
        reasons = ", ".join(f"{name} {n}" for name, n in topic.reasons.model_dump().items() if n)
        lines = [size, f"reasons: {reasons}", *(f"also: {q}" for q in topic.examples[1:3])]
        nearest = topic.articles[0] if topic.articles else None
        lines.append(f"nearest: {nearest.title} ({nearest.similarity:.2f})" if nearest else "nearest: none")
        for line in lines:
            console.print(f"    {line}", markup=False, highlight=False)


@app.command("promote")
def promote(
    conversation: Annotated[str, typer.Argument(help="The conversation's id.")],
    message: Annotated[int, typer.Argument(help="The answer's message id.")],
    title: Annotated[str | None, typer.Option(help="Default: the question.")] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Default: LORE_GAPS_DRAFTS_COLLECTION.")
    ] = None,
    tenant: TenantOption = DEFAULT_TENANT,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Turn an answer into a draft article (tagged draft, restricted to admins until it is opened);
    --json prints the `DocumentOut`."""
    from lore.intelligence.drafts import Promotion
    from lore.intelligence.drafts import promote as promote_answer
    from lore.security.principal import operator
    from lore.wire.schemas import DocumentOut

    with open_lore(data_dir) as lore:
        document = promote_answer(lore, operator(tenant), Promotion(conversation, message, title, collection))
    if as_json:
        print_json(DocumentOut.of(document).model_dump(mode="json"))
    else:
        console.print(f"draft [bold]{document.id}[/bold] in {document.collection}: {document.title}")
