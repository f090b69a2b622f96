"""The built-in job kinds. A new kind is a module here with one `@handler` function, imported below."""

from lore.jobs.kinds import backup, index, ingest, intents, reembed

__all__ = ["backup", "index", "ingest", "intents", "reembed"]
