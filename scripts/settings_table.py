"""Print the settings table of docs/configuration.md from `Settings` (paste it over the old one)."""

from __future__ import annotations

from pydantic_core import PydanticUndefined

from lore.config import Settings


def main() -> None:
    print("| variable | default | meaning |\n|---|---|---|")
    for name, field in Settings.model_fields.items():
        default = "(computed)" if field.default is PydanticUndefined else field.default
        print(f"| `LORE_{name.upper()}` | {default} | {field.description} |")


if __name__ == "__main__":
    main()
