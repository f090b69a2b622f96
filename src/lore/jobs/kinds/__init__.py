"""The built-in job kinds. A new kind is a module here with one `@handler` function, imported below."""

from lore.jobs.kinds import adapters, backup, index, ingest, intents, recommend, reembed, sync, webhooks

__all__ = ["adapters", "backup", "index", "ingest", "intents", "recommend", "reembed", "sync", "webhooks"]
