"""`lore index rebuild|status`: the vector index is derived from the store and can always be rebuilt."""

from __future__ import annotations

import typer

from lore.cli.common import DataDir, JsonFlag, console, open_lore, print_json
from lore.cli.tables import listing

app = typer.Typer(help="Manage the derived vector index.", no_args_is_help=True)


@app.command("rebuild")
def rebuild(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Drop the vector index and rebuild it from the store."""
    with open_lore(data_dir) as lore:
        total = lore.rebuild_index()
    if as_json:
        print_json({"vectors": total})
    else:
        console.print(f"rebuilt: {total} vectors")


@app.command("status")
def status(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """How far the index is with the store (what `GET /readyz` reports)."""
    with open_lore(data_dir) as lore:
        state = lore.readiness()
    if as_json:
        print_json(state)
    else:
        listing(console, state, indent=0)
