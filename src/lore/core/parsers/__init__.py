"""One module per file format; each exposes `parse(data, filename) -> ParsedDocument`, and formats that can
expand far beyond their file size (zip containers, compressed PDF streams) take `limits` too.

`lore.core.parse` chooses the module and turns library failures into Lore's errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from lore.errors import DocumentTooLarge

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Bounds on what one document may expand to while it is parsed, checked before the work is done.

    Each field is the setting of the same name (`LORE_` and the name upper-cased), whose defaults these are;
    time and memory are bounded by the sandbox the parsers run in.
    """

    max_unzipped_bytes: int = 128 * MIB
    max_zip_ratio: float = 200.0
    max_document_pages: int = 2_000
    max_page_points: float = 5_184.0
    max_stream_bytes: int = 16 * MIB


def over_limit(what: str, limits: ParseLimits, setting: str) -> DocumentTooLarge:
    """`DocumentTooLarge` saying what is too large, and naming the limit and the setting that raises it."""
    limit = getattr(limits, setting)
    shown = amount(limit) if setting.endswith("_bytes") else f"{limit:,g}"
    variable = f"LORE_{setting.upper()}"
    return DocumentTooLarge(
        f"{what}; the limit is {shown} ({variable})", details={"limit": limit, "setting": variable}
    )


def amount(size: float) -> str:
    """Bytes as people read them: '128 MiB', '1.5 GiB', '900 bytes'."""
    for unit, scale in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:,.3g} {unit}"
    return f"{size:,.0f} bytes"
