"""One module per file format; each exposes `parse(data, filename) -> ParsedDocument`.

`lore.core.parse` chooses the module and turns library failures into Lore's errors.
"""
