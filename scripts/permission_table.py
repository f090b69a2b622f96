"""Print docs/security.md's permission matrix from `lore.api.permissions.ROUTE_SCOPES` (paste it over the old)."""

from __future__ import annotations

from lore.api.permissions import matrix

if __name__ == "__main__":
    print(matrix())
