"""Print the settings tables of docs/configuration.md from `Settings`, one per group (paste them over the old ones)."""

from __future__ import annotations

from pydantic_core import PydanticUndefined

from lore.config import Settings


def main() -> None:
    for group, model in Settings.groups().items():
        print(f"## `{group}`\n\n{model.__doc__}\n\n| variable | default | meaning |\n|---|---|---|")
        for name, field in model.model_fields.items():
            default = "(computed)" if field.default is PydanticUndefined else field.default
            print(f"| `LORE_{name.upper()}` | {default} | {field.description} |")
        print()


if __name__ == "__main__":
    main()
