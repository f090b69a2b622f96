"""`lore secrets rotate|generate-key`: the keys that encrypt the secrets Lore stores for tenants."""

from __future__ import annotations

from typing import Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json, settings_for

app = typer.Typer(help="Manage the keys that encrypt stored secrets.", no_args_is_help=True)

NewKey = Annotated[
    str | None,
    typer.Option("--new-key", help="The Fernet key to re-encrypt under (default: a new one, printed)."),
]


@app.command("rotate")
def rotate_keys(new_key: NewKey = None, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Re-encrypt every stored secret under a new first key, in one transaction; the old keys still decrypt."""
    from lore.security.audit import AuditLog
    from lore.security.principal import operator
    from lore.security.secrets import SecretBox, generate_key, rotate

    settings = settings_for(data_dir)
    key = new_key or generate_key()
    box = SecretBox.from_settings(settings).with_first(key)  # the key file, if any, is rewritten first
    with open_store(data_dir) as db:
        rotated = rotate(db.secrets, box)
        audit = AuditLog(db.audit)
        for tenant, count in sorted(rotated.items()):
            audit.record(tenant, operator(tenant).actor, "secrets.rotated", summary={"secrets": count})
    shown = key if new_key is None and box.source.key_file is None else None  # only a key nobody knows yet
    if as_json:
        key_file = str(box.source.key_file) if box.source.key_file else None
        print_json(
            {"rotated": sum(rotated.values()), "tenants": dict(rotated), "key_file": key_file, "key": shown}
        )
        return
    console.print(f"re-encrypted {sum(rotated.values())} secrets of {len(rotated)} tenants under the new key")
    if box.source.key_file is not None:
        console.print(f"{box.source.key_file} now starts with it; the old keys follow it")
    else:
        console.print("LORE_SECRET_KEYS must now start with it on every process (keep the old keys after it)")
    if shown is not None:
        typer.echo(f"new key: {shown}")


@app.command("generate-key")
def generate(as_json: JsonFlag = False) -> None:
    """Print a new Fernet key, for LORE_SECRET_KEYS."""
    from lore.security.secrets import generate_key

    key = generate_key()
    if as_json:
        print_json({"key": key})
    else:
        typer.echo(key)
