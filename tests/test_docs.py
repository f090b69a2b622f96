"""The docs are kept honest: every setting and every command is documented."""

from pathlib import Path
from typing import Any

import typer.main

from lore.cli.main import app
from lore.config import Settings

ROOT = Path(__file__).parent.parent


def command_paths(group: Any, prefix: str = "lore") -> list[str]:
    """Every leaf command; typer ships its own click, so groups are recognised by their `commands`."""
    paths = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            paths.extend(command_paths(command, f"{prefix} {name}"))
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_every_setting_is_documented_in_the_section_of_its_group() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    sections = {part.split("`", 1)[0]: part for part in text.split("\n## `")[1:]}
    assert list(sections) == list(Settings.groups())
    missing = [
        f"{group}: LORE_{name.upper()}"
        for group, model in Settings.groups().items()
        for name in model.model_fields
        if f"`LORE_{name.upper()}`" not in sections[group]
    ]
    assert missing == []


def test_every_command_is_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    group = typer.main.get_command(app)
    assert len(command_paths(group)) >= 9
    missing = [path for path in command_paths(group) if f"`{path}" not in text]
    assert missing == []
