"""The audit log (admins): the tenant's entries newest first, narrowed by actor, action, target and days, a
page at a time, and the narrowed entries exported as CSV or JSON lines. Both are the API's own handlers
(`lore.api.routes.audit`), so the page lists and exports exactly what `GET /v1/audit` and
`GET /v1/audit/export` would, and an export here is audited like one through the API."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import IdentityDep, KeysDep, LoreDep, TenantDep
from lore.api.routes import audit as api_audit
from lore.api.routes import keys as api_keys
from lore.backends.store.audit_records import AuditFilters
from lore.security.identity import Identity
from lore.security.keys import KeyRing
from lore.security.principal import Principal
from lore.ui.forms import OptionalDate, midnight_utc
from lore.ui.pages.users import all_users
from lore.ui.rendering import is_htmx, render
from lore.ui.routing import page_router
from lore.wire.audit import ExportFormat

router = page_router()
PAGE_SIZE = 50
# The API's filter values, where an empty field is one left out.
Text = Annotated[str, Query(max_length=500, pattern=r"^[^\x00]*$")]
Day = Annotated[OptionalDate, Query()]


class Narrowed:
    """The form's filters: as the page's form and address keep them, and as the API's handlers take them
    (`until` is the last day included)."""

    def __init__(
        self, actor: Text = "", action: Text = "", target: Text = "", since: Day = None, until: Day = None
    ) -> None:
        self.actor, self.action, self.target = actor.strip(), action.strip(), target.strip()
        self.since, self.until = since, until

    @property
    def fields(self) -> dict[str, str]:
        """Each filter's form value ("": none)."""
        days = {"since": self.since, "until": self.until}
        return {"actor": self.actor, "action": self.action, "target": self.target} | {
            name: day.isoformat() if day else "" for name, day in days.items()
        }

    def filters(self) -> AuditFilters:
        since, until = midnight_utc(self.since), midnight_utc(self.until, days_after=1)
        return api_audit.filters(self.actor or None, self.action or None, self.target or None, since, until)

    def query(self, **more: str) -> str:
        """The filters as a query string (empty ones left out), with `more`."""
        return urlencode({name: value for name, value in self.fields.items() if value} | more)


NarrowedDep = Annotated[Narrowed, Depends()]


def names(identity: Identity, keys: KeyRing, principal: Principal) -> dict[str, str]:
    """Who an actor or target such as `user:<id>` or `key:<id>` is: a user's email, a key's name."""
    found = {f"user:{user.id}": user.email for user in all_users(identity, principal)}
    for key in api_keys.list_keys(keys, principal).items:  # a key acts as `key:<id>`, is acted on as `<id>`
        found[f"key:{key.id}"] = found[key.id] = f"key “{key.name}”"
    return found


def summary_text(summary: dict[str, Any]) -> str:
    """A record's summary as `name: value` pairs, values other than text as JSON."""
    shown = (
        f"{name}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)}"
        for name, value in sorted(summary.items())
    )
    return "; ".join(shown)


@router.get("/audit")
def audit_page(
    request: Request,
    lore: LoreDep,
    tenant: TenantDep,
    identity: IdentityDep,
    keys: KeysDep,
    principal: PrincipalDep,
    narrowed: NarrowedDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
) -> Response:
    """A page of entries; an htmx request gets the entries only (a filter, or the next, older page)."""
    page = api_audit.list_audit(lore, tenant, narrowed.filters(), limit, cursor)
    context = {
        "entries": page.items,
        "next_cursor": page.next_cursor,
        "cursor": cursor,
        "limit": limit,
        "fields": narrowed.fields,
        "query": narrowed.query,
        "names": names(identity, keys, principal),
        "summary_text": summary_text,
    }
    return render(request, "audit.html", context, block="entries" if is_htmx(request) else None)


@router.get("/audit/export")
async def export_audit(
    lore: LoreDep,
    tenant: TenantDep,
    audit: AuditDep,
    narrowed: NarrowedDep,
    format: Annotated[ExportFormat, Query()] = "csv",
) -> StreamingResponse:
    """Every entry the filters select, oldest first, as a download (`audit-<tenant>.csv` or `.jsonl`)."""
    return await api_audit.export_audit(lore, tenant, narrowed.filters(), audit, format)
