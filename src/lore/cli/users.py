"""`lore users create|list|reset-password`: a tenant's users, managed by the operator on the machine, against the
store. Passwords are made here and printed once (never taken on the command line, where shells keep them).

lore users create ada@example.org --role admin --tenant acme
lore users reset-password ada@example.org --tenant acme --json | jq -r .password
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json, settings_for
from lore.cli.tables import show, table
from lore.models import DEFAULT_TENANT, utcnow
from lore.security.principal import operator
from lore.security.scopes import RoleName

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.security.accounts import Accounts
    from lore.security.users import User

app = typer.Typer(help="Create and list a tenant's users, and reset their passwords.", no_args_is_help=True)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The user's tenant.")]


def _accounts(db: Database, data_dir: DataDir) -> Accounts:
    from lore.security.accounts import Accounts
    from lore.security.bootstrap import forget_initial_password

    settings = settings_for(data_dir)
    return Accounts(db.users, db.tenants, settings.auth, forget_initial_password(settings.storage.data_dir))


def _print_password(user: User, password: str | None, as_json: bool) -> None:
    from lore.wire.identity import UserOut

    if as_json:
        print_json({**UserOut.of(user).model_dump(mode="json"), "password": password})
        return
    if password is None:
        console.print(
            f"user {user.email} ({user.role}) of tenant {user.tenant_id}: signs in through single sign-on"
        )
        return
    console.print(f"user {user.email} ({user.role}) of tenant {user.tenant_id}; password, shown once:")
    print(password)


@app.command("create")
def create(
    email: str,
    role: Annotated[RoleName, typer.Option(help="owner, admin, editor or viewer.")] = "viewer",
    tenant: TenantOption = DEFAULT_TENANT,
    sso: Annotated[bool, typer.Option("--sso", help="No password: single sign-on only.")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """A new user with a random password, printed once (`--json`: a user object with `password`)."""
    from lore.security.passwords import random_password

    password = None if sso else random_password()
    with open_store(data_dir, create=True) as db:
        user = _accounts(db, data_dir).create(operator(tenant), email, role, password)
    _print_password(user, password, as_json)


@app.command("list")
def list_users(
    tenant: TenantOption = DEFAULT_TENANT,
    limit: Annotated[int, typer.Option(help="Users per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Cursor from a previous page.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Newest first."""
    from lore.wire.identity import UserOut, UserPage

    with open_store(data_dir) as db:
        page = _accounts(db, data_dir).list_users(tenant, limit, cursor)
    listed = UserPage(items=[UserOut.of(user) for user in page.items], next_cursor=page.next_cursor)
    if as_json:
        print_json(listed.model_dump(mode="json"))
        return
    grid = table("id", "email", "role", "mfa", "sign-in", "state", flexible=("email",))
    for user in listed.items:
        locked = user.locked_until is not None and user.locked_until > utcnow()
        state = "disabled" if user.disabled else ("locked" if locked else "active")
        sign_in = " ".join(
            name for name, on in (("password", user.has_password), ("sso", user.single_sign_on)) if on
        )
        grid.add_row(user.id, user.email, user.role, "on" if user.mfa_enabled else "-", sign_in or "-", state)
    show(grid, console)
    if listed.next_cursor:
        console.print(f"[dim]next page: --cursor {listed.next_cursor}[/dim]")


@app.command("reset-password")
def reset_password(
    email: str, tenant: TenantOption = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """A new random password, printed once; unlocks the account and ends its logins."""
    from lore.security.passwords import random_password

    password = random_password()
    with open_store(data_dir) as db:
        accounts = _accounts(db, data_dir)
        user = accounts.reset_password(operator(tenant), accounts.by_email(tenant, email).id, password)
    _print_password(user, password, as_json)
